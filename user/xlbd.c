// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xlbd.c - the daemon: options, start-up (bpffs, lock, config, maps,
 * attach, control socket), the event loop, signals, --check-config and
 * --teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "config.h"
#include "control.h"
#include "evloop.h"
#include "log.h"
#include "maps.h"
#include "netlink.h"
#include "reconcile.h"

#define DEFAULT_SOCKET "/run/xlb/xlbd.sock"
#define DEFAULT_BPFFS "/sys/fs/bpf/xlb"
#define LOCK_DIR "/run/xlb"

static const char usage_text[] =
	"usage: xlbd -c FILE [-i IFNAME] [--xdp-mode auto|native|generic]\n"
	"            [-s SOCKET] [--socket-group GROUP] [--bpffs DIR]\n"
	"            [--log-level debug|info|warn|error]\n"
	"       xlbd --check-config -c FILE\n"
	"       xlbd --teardown [-i IFNAME] [--bpffs DIR]\n"
	"\n"
	"The xlb load balancer daemon: loads and attaches the XDP program on\n"
	"IFNAME, health-checks backends and keeps the BPF maps in step with\n"
	"the config; xlbctl talks to it over SOCKET.\n"
	"\n"
	"  -c, --config FILE        JSON config (see xlb.json(5))\n"
	"  -i, --interface IFNAME   LB interface; wins over \"interface\" in FILE\n"
	"      --xdp-mode MODE      auto (native, else generic), native, generic\n"
	"  -s, --socket PATH        control socket (default " DEFAULT_SOCKET ")\n"
	"      --socket-group GROUP group of the control socket (mode 0660)\n"
	"      --bpffs DIR          pinned state (default " DEFAULT_BPFFS ")\n"
	"      --log-level LEVEL    debug, info (default), warn, error\n"
	"      --check-config       validate FILE, print every error, exit 0/1\n"
	"      --teardown           detach the program and remove pinned state\n"
	"  -h, --help               this text\n"
	"\n"
	"Signals: SIGHUP re-reads FILE; SIGTERM/SIGINT stop xlbd and leave the\n"
	"data plane forwarding (a new xlbd adopts it without losing a packet).\n";

struct opts {
	const char *config, *ifname, *socket, *group, *bpffs;
	enum xlb_xdp_mode mode;
	bool mode_set, check, teardown;
};

static struct ev_loop *ev;
static struct ring_buffer *neigh_rb;
static struct nl_monitor *nlmon;

static int notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, ret;

	if (!path || !*path)
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (path[0] == '@') /* abstract namespace */
		sa.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa, len) < 0
		      ? -errno
		      : 0;
	close(fd);
	return ret;
}

/* /run/xlb/<bpffs with '/' as '_'>.lock, held with flock while running. */
static int lock_path(const char *bpffs, char *buf, size_t len)
{
	char name[256];
	size_t j = 0;

	for (size_t i = 0; bpffs[i] && j < sizeof(name) - 1; i++)
		name[j++] = bpffs[i] == '/' ? '_' : bpffs[i];
	name[j] = 0;
	return snprintf(buf, len, "%s/%s.lock", LOCK_DIR, name);
}

static int take_lock(const char *bpffs, bool probe_only)
{
	char path[512];
	int fd;

	mkdir(LOCK_DIR, 0755);
	lock_path(bpffs, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return e;
	}
	if (probe_only) {
		close(fd);
		return 0;
	}
	return fd; /* held until exit */
}

static int on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Mount /sys/fs/bpf on a freshly booted host; make sure DIR is on bpffs. */
static int prepare_bpffs(const char *dir)
{
	char parent[4096];
	char *slash;

	if (!on_bpffs("/sys/fs/bpf") &&
	    !strncmp(dir, "/sys/fs/bpf/", 12)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			log_error("cannot mount the BPF filesystem at /sys/fs/bpf: %s",
				  strerror(errno));
			return -errno;
		}
		log_info("mounted the BPF filesystem at /sys/fs/bpf");
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	if (!on_bpffs(dir) && !on_bpffs(parent)) {
		log_error("--bpffs %s: not on a BPF filesystem (mount -t bpf "
			  "bpf DIR, or use a directory under /sys/fs/bpf)", dir);
		return -EINVAL;
	}
	return 0;
}

static void warn_mount_ns(void)
{
	char a[64] = "", b[64] = "";

	if (readlink("/proc/self/ns/mnt", a, sizeof(a) - 1) > 0 &&
	    readlink("/proc/1/ns/mnt", b, sizeof(b) - 1) > 0 && strcmp(a, b))
		log_warn("xlbd runs in a private mount namespace (ip netns exec?):"
			 " pins made here vanish with it; start it with nsenter "
			 "--net=/run/netns/NAME instead");
}

/* bpf_fib_lookup from XDP refuses to resolve next hops (FWD_DISABLED)
 * unless forwarding is on for the receiving interface. */
static void warn_forwarding(const char *ifname, const struct xlb_config *c)
{
	static const char *const fam[] = { "ipv4", "ipv6" };
	bool used[2] = { false, false };

	for (size_t i = 0; i < c->n_vips; i++)
		for (size_t k = 0; k < c->vips[i].n_backends; k++)
			used[c->vips[i].backends[k].addr.family == AF_INET6] = true;
	for (int i = 0; i < 2; i++) {
		char path[128];
		FILE *f;
		int v = 1;

		if (!used[i]) /* no backend of that family (yet) */
			continue;
		snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/forwarding",
			 fam[i], ifname);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%d", &v) != 1)
			v = 1;
		fclose(f);
		if (!v)
			log_warn("%s forwarding is off on %s: the data plane "
				 "cannot resolve next hops toward %s backends "
				 "(their packets count as drop_no_route); set "
				 "net.%s.conf.%s.forwarding=1", fam[i], ifname,
				 i ? "IPv6" : "IPv4", fam[i], ifname);
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int check_config(const struct opts *o)
{
	struct cfg_msgs m = { 0 };
	struct xlb_config *c = cfg_load_file(o->config, &m);
	size_t nb = 0;

	for (size_t i = 0; i < m.n_err; i++)
		fprintf(stderr, "%s: error: %s\n", o->config, m.err[i]);
	for (size_t i = 0; i < m.n_warn; i++)
		fprintf(stderr, "%s: warning: %s\n", o->config, m.warn[i]);
	if (c && !c->interface[0] && !o->ifname)
		fprintf(stderr, "%s: warning: interface: not set (give it in "
			"the file or with -i)\n", o->config);
	if (!c) {
		fprintf(stderr, "%s: %zu error%s\n", o->config, m.n_err,
			m.n_err == 1 ? "" : "s");
		cfg_msgs_free(&m);
		return 1;
	}
	for (size_t i = 0; i < c->n_vips; i++)
		nb += c->vips[i].n_backends;
	printf("%s: OK: %zu VIPs, %zu backends%s%s\n", o->config, c->n_vips,
	       nb, c->interface[0] ? ", interface " : "", c->interface);
	cfg_msgs_free(&m);
	cfg_free(c);
	return 0;
}

static int teardown(const struct opts *o)
{
	struct xlb_rt_cfg rt;
	int ret, lk, ifindex;
	bool any = false;

	if (access(o->bpffs, F_OK)) {
		fprintf(stderr, "xlbd: nothing to tear down in %s\n", o->bpffs);
		return 0;
	}
	lk = take_lock(o->bpffs, true);
	if (lk == -EBUSY) {
		fprintf(stderr, "xlbd: an xlbd still serves %s: stop it first "
			"(SIGTERM), then tear down\n", o->bpffs);
		return 1;
	}
	ifindex = att_link_ifindex(o->bpffs);
	if (ifindex < 0 && !maps_read_pinned_cfg(o->bpffs, &rt))
		ifindex = (int)rt.ifindex;
	if (o->ifname) {
		struct nl_link_info li;

		if (nl_link_by_name(o->ifname, &li) == 0 && ifindex > 0 &&
		    li.ifindex != ifindex)
			fprintf(stderr, "xlbd: warning: %s is not the interface "
				"the pinned state is attached to (ifindex %d)\n",
				o->ifname, ifindex);
	}
	ret = att_detach(o->bpffs);
	if (ret == 0) {
		any = true;
		fprintf(stderr, "xlbd: detached the XDP program (ifindex %d)\n",
			ifindex);
	} else if (ret != -ENOENT) {
		fprintf(stderr, "xlbd: detaching: %s\n", strerror(-ret));
		return 1;
	}
	ret = maps_unpin_all(o->bpffs);
	if (ret && ret != -ENOENT) {
		fprintf(stderr, "xlbd: removing %s: %s\n", o->bpffs,
			strerror(-ret));
		return 1;
	}
	{
		char lp[512];

		lock_path(o->bpffs, lp, sizeof(lp));
		unlink(lp); /* nothing serves this state any more */
	}
	fprintf(stderr, "xlbd: removed pinned state %s%s\n", o->bpffs,
		any ? "" : " (no program was attached)");
	return 0;
}

/* ---- event sources ---- */

static void on_signal(void *arg, uint32_t events)
{
	int fd = *(int *)arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			core_reload();
		} else {
			log_info("%s: stopping; the data plane keeps forwarding",
				 strsignal((int)si.ssi_signo));
			ev_stop(ev);
		}
	}
}

static void on_nl_event(void *arg, const struct nl_event *e)
{
	(void)arg;
	if (e->kind == NL_EV_LINK && !e->deleted) {
		static int last_up = -1;
		int up = e->link_up && e->carrier;

		if (up != last_up)
			log_info("link ifindex %d %s (mtu %u)", e->ifindex,
				 up ? "up" : "down", e->mtu);
		last_up = up;
	}
	if (e->kind == NL_EV_ROUTE || e->kind == NL_EV_NEIGH ||
	    e->kind == NL_EV_LINK)
		core_net_changed();
	if (e->kind == NL_EV_ADDR)
		core_addr_changed();
}

static void on_nl(void *arg, uint32_t events)
{
	(void)events;
	nl_monitor_process(arg, on_nl_event, NULL);
}

static int on_neigh_event(void *ctx, void *data, size_t len)
{
	const struct xlb_neigh_event *e = data;

	(void)ctx;
	if (len >= sizeof(*e))
		core_neigh_miss((int)e->family, (int)e->ifindex, e->addr);
	return 0;
}

static void on_ringbuf(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	ring_buffer__consume(neigh_rb);
}

static bool ready_sent;
static void ready_hook(void *arg)
{
	(void)arg;
	if (ready_sent || !core_ready())
		return;
	ready_sent = true;
	notify_ready();
	log_info("ready: every VIP has its table");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_MODE = 256, O_GROUP, O_BPFFS, O_LOG, O_CHECK, O_TEARDOWN };
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ "xdp-mode", required_argument, NULL, O_MODE },
		{ "socket-group", required_argument, NULL, O_GROUP },
		{ "bpffs", required_argument, NULL, O_BPFFS },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "check-config", no_argument, NULL, O_CHECK },
		{ "teardown", no_argument, NULL, O_TEARDOWN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	enum log_level lvl;
	int c;

	o->socket = DEFAULT_SOCKET;
	o->bpffs = DEFAULT_BPFFS;
	while ((c = getopt_long(argc, argv, "c:i:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			if (!*optarg || strlen(optarg) > 15 || strchr(optarg, '/')) {
				fprintf(stderr, "xlbd: -i %s: not a valid "
					"interface name\n", optarg);
				return 2;
			}
			o->ifname = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case O_MODE:
			o->mode_set = true;
			if (!strcmp(optarg, "auto"))
				o->mode = XLB_XDP_AUTO;
			else if (!strcmp(optarg, "native"))
				o->mode = XLB_XDP_NATIVE;
			else if (!strcmp(optarg, "generic"))
				o->mode = XLB_XDP_GENERIC;
			else {
				fprintf(stderr, "xlbd: --xdp-mode %s: must be "
					"auto, native or generic\n", optarg);
				return 2;
			}
			break;
		case O_GROUP:
			o->group = optarg;
			break;
		case O_BPFFS:
			o->bpffs = optarg;
			break;
		case O_LOG:
			if (log_parse_level(optarg, &lvl)) {
				fprintf(stderr, "xlbd: --log-level %s: must be "
					"debug, info, warn or error\n", optarg);
				return 2;
			}
			log_set_level(lvl);
			break;
		case O_CHECK:
			o->check = true;
			break;
		case O_TEARDOWN:
			o->teardown = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xlbd: unexpected argument \"%s\"\n%s",
			argv[optind], usage_text);
		return 2;
	}
	if (!o->teardown && !o->config) {
		fprintf(stderr, "xlbd: -c FILE is required\n%s", usage_text);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct cfg_msgs m = { 0 };
	struct xlb_config *cfg = NULL;
	struct maps *maps = NULL;
	struct ctl_server *ctl = NULL;
	struct nl_link_info li;
	struct maps_sizes sz;
	struct core_params cp = { 0 };
	const char *mode_name = "none";
	char err[4096];
	bool adopted = false;
	int ret, lockfd = -1, sfd = -1, replaced = 0, rc = 1;
	sigset_t mask;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret;
	if (o.check)
		return check_config(&o);
	if (o.teardown)
		return teardown(&o);

	raise_nofile();
	warn_mount_ns();
	cfg = cfg_load_file(o.config, &m);
	for (size_t i = 0; i < m.n_warn; i++)
		log_warn("%s: %s", o.config, m.warn[i]);
	if (!cfg) {
		for (size_t i = 0; i < m.n_err; i++)
			log_error("%s: %s", o.config, m.err[i]);
		log_error("%s has errors: not starting", o.config);
		goto out;
	}
	if (o.ifname) {
		if (cfg->interface[0] && strcmp(cfg->interface, o.ifname))
			log_warn("interface \"%s\" in %s ignored: -i %s wins",
				 cfg->interface, o.config, o.ifname);
		snprintf(cfg->interface, sizeof(cfg->interface), "%s", o.ifname);
	}
	if (!cfg->interface[0]) {
		log_error("%s: interface: required (in the file or with -i)",
			  o.config);
		goto out;
	}
	if (o.mode_set)
		cfg->xdp_mode = o.mode;
	ret = nl_link_by_name(cfg->interface, &li);
	if (ret) {
		log_error("interface %s: %s", cfg->interface,
			  ret == -ENODEV ? "no such interface" : strerror(-ret));
		goto out;
	}
	warn_forwarding(li.name, cfg);
	if (prepare_bpffs(o.bpffs))
		goto out;
	lockfd = take_lock(o.bpffs, false);
	if (lockfd == -EBUSY) {
		log_error("another xlbd already serves %s", o.bpffs);
		goto out;
	}
	if (lockfd < 0)
		log_warn("cannot take the lock in %s: %s", LOCK_DIR,
			 strerror(-lockfd));

	sz.max_vips = cfg->max_vips;
	sz.max_backends = cfg->max_backends;
	sz.conntrack_size = cfg->conntrack_size;
	ret = maps_open(&maps, o.bpffs, &sz, &adopted, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		goto out;
	}
	ret = att_attach(o.bpffs, maps_prog_fd(maps), li.ifindex, li.name,
			 cfg->xdp_mode, &mode_name, &replaced, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		if (!adopted)
			maps_unpin_all(o.bpffs); /* nothing else used them */
		goto out;
	}
	log_info("%s XDP program on %s (ifindex %d, %s mode, mtu %u)%s",
		 replaced == 2 ? "kept the running (identical)"
		 : replaced ? "replaced the" : "attached the", li.name,
		 li.ifindex, mode_name, li.mtu,
		 adopted ? ", adopting pinned state" : "");

	ev = ev_new();
	if (!ev) {
		log_error("cannot create the event loop: %s", strerror(errno));
		goto out;
	}
	cp.ev = ev;
	cp.maps = maps;
	cp.config_path = o.config;
	cp.bpffs = o.bpffs;
	cp.ifname = li.name;
	cp.ifindex = li.ifindex;
	cp.iface_from_cmdline = o.ifname != NULL;
	cp.mode_from_cmdline = o.mode_set;
	cp.xdp_mode = mode_name;
	cp.prog_id = att_prog_id(li.ifindex);
	cp.if_mtu = li.mtu;
	cp.adopted = adopted;
	ret = core_start(&cp, cfg, err, sizeof(err));
	cfg = NULL; /* owned by the core now (freed by it on failure too) */
	if (ret) {
		log_error("applying %s: %s", o.config, err);
		goto out;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || ev_add_fd(ev, sfd, EPOLLIN, on_signal, &sfd)) {
		log_error("signals: %s", strerror(errno));
		goto out;
	}
	nlmon = nl_monitor_open();
	if (!nlmon || ev_add_fd(ev, nl_monitor_fd(nlmon), EPOLLIN, on_nl, nlmon))
		log_warn("netlink monitor: %s: route and neighbour changes "
			 "will not reach the next-hop cache", strerror(errno));
	neigh_rb = ring_buffer__new(maps_neigh_events_fd(maps), on_neigh_event,
				    NULL, NULL);
	if (!neigh_rb || ev_add_fd(ev, ring_buffer__epoll_fd(neigh_rb), EPOLLIN,
				   on_ringbuf, NULL))
		log_warn("neighbour-miss ring buffer: %s", strerror(errno));

	ctl = ctl_open(ev, o.socket, o.group, err, sizeof(err));
	if (!ctl) {
		log_error("control socket %s: %s", o.socket, err);
		goto out;
	}
	ev_add_post_hook(ev, ready_hook, NULL);
	ready_hook(NULL);
	log_info("serving %s on %s", o.socket, li.name);
	ret = ev_run(ev);
	rc = ret ? 1 : 0;
out:
	ctl_close(ctl);
	core_stop();
	if (neigh_rb)
		ring_buffer__free(neigh_rb);
	if (nlmon)
		nl_monitor_close(nlmon);
	maps_close(maps);
	cfg_free(cfg);
	cfg_msgs_free(&m);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
