// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xlb-decap - attach the backend-side decapsulation program (kern/decap.bpf.c)
 * to an interface, detach it, show it and check the host.
 *
 * The program is attached with bpf_xdp_attach() (netlink): the attachment
 * holds the program and the program its maps, so nothing is pinned and the
 * attachment outlives this process.  Our program is recognised by its name;
 * its maps by theirs, through the program's map ids.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include "decap.skel.h"
#include "xlb-decap/decap_tool.h"

#define LOG_BUF_SIZE (1 << 20)
#define LOG_TAIL_LINES 12

struct opts {
	const char *ifname;
	struct dt_addrs vips;
	bool json;
	bool verbose;
	uint32_t mode; /* 0 = auto, else XDP_FLAGS_DRV_MODE/_SKB_MODE */
};

/* ---- the command line, as data ---- */

enum { C_ATTACH = 1, C_DETACH = 2, C_STATUS = 4, C_CHECK = 8, C_ALL = 15 };

struct cmd {
	const char *name;
	unsigned int bit;
	bool need_if;	/* IFNAME required (else optional) */
	int (*run)(struct opts *o);
	const char *args, *help;
};

struct opt_def {
	struct option lo;
	unsigned int cmds; /* which commands take it */
	const char *arg, *help;
};

enum { O_VIP = 256, O_JSON, O_MODE };

static const struct opt_def opt_defs[] = {
	{ { "vip", required_argument, NULL, O_VIP }, C_ATTACH | C_CHECK,
	  "ADDR", "a VIP (IPv4 or IPv6; repeat for more). attach: "
		  "decapsulate only for these (default: every local "
		  "address); check: the VIPs to check" },
	{ { "json", no_argument, NULL, O_JSON }, C_STATUS | C_CHECK, NULL,
	  "machine-readable output" },
	{ { "xdp-mode", required_argument, NULL, O_MODE }, C_ATTACH,
	  "auto|native|generic", "attach mode (default auto: native, else "
				 "generic)" },
	{ { "verbose", no_argument, NULL, 'v' }, C_ALL, NULL,
	  "show libbpf's messages" },
	{ { "help", no_argument, NULL, 'h' }, C_ALL, NULL,
	  "this help" },
};
#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

static int cmd_attach(struct opts *o);
static int cmd_detach(struct opts *o);
static int cmd_status(struct opts *o);
static int cmd_check(struct opts *o);

static const struct cmd cmds[] = {
	{ "attach", C_ATTACH, true, cmd_attach, "IFNAME [--vip ADDR]...",
	  "decapsulate tunnels to local VIPs arriving on IFNAME" },
	{ "detach", C_DETACH, true, cmd_detach, "IFNAME",
	  "remove xlb-decap from IFNAME" },
	{ "status", C_STATUS, false, cmd_status, "[IFNAME] [--json]",
	  "what is attached where, and its counters" },
	{ "check", C_CHECK, false, cmd_check,
	  "[IFNAME] [--vip ADDR]... [--json]",
	  "is this host ready to serve a VIP? exit 0 when all pass" },
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage:\n");
	for (i = 0; i < N_CMDS; i++)
		fprintf(f, "  xlb-decap %s %s\n      %s\n", cmds[i].name,
			cmds[i].args, cmds[i].help);
	fprintf(f, "options:\n");
	for (i = 0; i < N_OPTS; i++) {
		char s[64];

		snprintf(s, sizeof(s), "--%s%s%s", opt_defs[i].lo.name,
			 opt_defs[i].arg ? " " : "",
			 opt_defs[i].arg ? opt_defs[i].arg : "");
		fprintf(f, "  %-32s %s\n", s, opt_defs[i].help);
	}
	fprintf(f, "exit status: 0 success, 1 failure (check: a finding "
		   "failed), 2 usage error\n");
}

static void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xlb-decap: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The cause of a failed BPF/netlink call, in words an operator can act on. */
static const char *cause(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		return "no permission (needs root, or CAP_BPF and "
		       "CAP_NET_ADMIN)";
	case ENODEV:
		return "no such interface";
	case EOPNOTSUPP:
		return "the driver does not support this XDP mode";
	case EBUSY:
	case EEXIST:
		return "another XDP program was attached meanwhile";
	}
	return strerror(-err);
}

static int resolve_if(const char *verb, const char *ifname)
{
	int ifindex = if_nametoindex(ifname);

	if (!ifindex)
		err_msg("%s %s: no such interface", verb, ifname);
	return ifindex;
}

/* ---- attach ---- */

/* The last lines of the verifier's log. */
static void print_log_tail(const char *log)
{
	const char *p = log + strlen(log);
	int lines = 0;

	while (p > log && lines <= LOG_TAIL_LINES)
		if (*--p == '\n' && p[1])
			lines++;
	if (*p == '\n')
		p++;
	fprintf(stderr, "%s", p);
	if (p[0] && p[strlen(p) - 1] != '\n')
		fprintf(stderr, "\n");
}

static int fill_maps(struct decap *skel, const struct opts *o, size_t *n4,
		     size_t *n6)
{
	struct dt_addrs local = { 0 };
	const struct dt_addrs *src = &o->vips;
	struct decap_vip_val val = { 0 };
	struct decap_cfg cfg = { 0 };
	uint32_t zero = 0;
	size_t i;
	int err = 0, fd;

	*n4 = *n6 = 0;
	if (!o->vips.n) {
		err = dt_nl_addrs(&local);
		if (err) {
			err_msg("attach %s: cannot list local addresses: %s",
				o->ifname, strerror(-err));
			goto out;
		}
		src = &local;
		cfg.flags |= DECAP_CFG_F_LOCAL;
	}
	for (i = 0; i < src->n; i++) {
		const struct dt_addr *a = &src->v[i];
		bool v4 = a->family == AF_INET;

		fd = bpf_map__fd(v4 ? skel->maps.decap_vip4 :
				      skel->maps.decap_vip6);
		if (bpf_map_update_elem(fd, a->bytes, &val, BPF_ANY)) {
			err = -errno;
			err_msg("attach %s: VIP map: %s%s", o->ifname,
				strerror(errno), errno == E2BIG ?
				" (more addresses of a family than the map "
				"holds)" : "");
			goto out;
		}
		if (v4)
			(*n4)++;
		else
			(*n6)++;
	}
	cfg.attach_realtime = time(NULL);
	fd = bpf_map__fd(skel->maps.decap_cfg);
	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY)) {
		err = -errno;
		err_msg("attach %s: config map: %s", o->ifname,
			strerror(errno));
		goto out;
	}
	/* The program never reads decap_cfg: bind it so that it lives as
	 * long as the program and shows among its maps. */
	err = bpf_prog_bind_map(bpf_program__fd(skel->progs.xlb_decap), fd,
				NULL);
	if (err) {
		err = -errno;
		err_msg("attach %s: binding the config map: %s", o->ifname,
			strerror(errno));
	}
out:
	dt_addrs_free(&local);
	return err;
}

static int cmd_attach(struct opts *o)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);
	struct decap *skel = NULL;
	struct dt_prog old;
	char *log = NULL;
	uint32_t mode;
	size_t n4, n6;
	int ifindex, err, prog_fd, ret = DT_EXIT_FAIL;

	ifindex = resolve_if("attach", o->ifname);
	if (!ifindex)
		return DT_EXIT_FAIL;
	err = dt_prog_find(ifindex, &old);
	if (err) {
		err_msg("attach %s: cannot query its XDP program: %s",
			o->ifname, cause(err));
		return DT_EXIT_FAIL;
	}
	if (old.other_id) {
		err_msg("attach %s: the interface already has another XDP "
			"program, '%s' (id %u): not replacing it; detach it "
			"first", o->ifname, old.other_name, old.other_id);
		goto out;
	}

	skel = decap__open();
	if (!skel) {
		err_msg("attach %s: cannot open the BPF object: %s",
			o->ifname, strerror(errno));
		goto out;
	}
	log = calloc(1, LOG_BUF_SIZE);
	if (log)
		bpf_program__set_log_buf(skel->progs.xlb_decap, log,
					 LOG_BUF_SIZE);
	/* Attaching again keeps the counters: the new program shares the
	 * attached one's statistics map. */
	if (old.stats_fd >= 0 &&
	    bpf_map__reuse_fd(skel->maps.decap_stats, old.stats_fd))
		err_msg("attach %s: counters restart from 0 (cannot reuse "
			"the attached program's)", o->ifname);
	err = decap__load(skel);
	if (err) {
		if (err == -EPERM || err == -EACCES) {
			err_msg("attach %s: cannot load the program: %s",
				o->ifname, cause(-EPERM));
		} else {
			err_msg("attach %s: the kernel rejected the program: "
				"%s; the verifier's last lines:", o->ifname,
				strerror(-err));
			if (log)
				print_log_tail(log);
		}
		goto out;
	}
	if (fill_maps(skel, o, &n4, &n6))
		goto out;
	prog_fd = bpf_program__fd(skel->progs.xlb_decap);

	/* Same mode as the attached program unless told otherwise; two
	 * modes cannot be active at once, so a mode change detaches
	 * first. */
	mode = o->mode ? o->mode : old.prog_id ? old.mode : XDP_FLAGS_DRV_MODE;
	if (old.prog_id && mode == old.mode) {
		aopts.old_prog_fd = old.prog_fd;
		err = bpf_xdp_attach(ifindex, prog_fd,
				     mode | XDP_FLAGS_REPLACE, &aopts);
	} else {
		if (old.prog_id) {
			aopts.old_prog_fd = old.prog_fd;
			err = bpf_xdp_detach(ifindex,
					     old.mode | XDP_FLAGS_REPLACE,
					     &aopts);
			if (err) {
				err_msg("attach %s: cannot detach the %s "
					"program to change mode: %s",
					o->ifname, dt_mode_name(old.mode),
					cause(err));
				goto out;
			}
		}
		err = bpf_xdp_attach(ifindex, prog_fd,
				     mode | XDP_FLAGS_UPDATE_IF_NOEXIST,
				     NULL);
		if (err && !o->mode && mode == XDP_FLAGS_DRV_MODE &&
		    err != -EPERM && err != -EBUSY && err != -EEXIST) {
			if (verbose)
				err_msg("attach %s: native mode: %s; trying "
					"generic", o->ifname, cause(err));
			mode = XDP_FLAGS_SKB_MODE;
			err = bpf_xdp_attach(ifindex, prog_fd,
					     mode | XDP_FLAGS_UPDATE_IF_NOEXIST,
					     NULL);
		}
	}
	if (err) {
		err_msg("attach %s (%s mode): %s", o->ifname,
			dt_mode_name(mode), cause(err));
		goto out;
	}
	printf("%s: xlb-decap %s, %s mode: decapsulating for %s (%zu IPv4, "
	       "%zu IPv6)\n", o->ifname, old.prog_id ? "replaced" : "attached",
	       dt_mode_name(mode), o->vips.n ? "the given VIPs" :
	       "the host's local addresses", n4, n6);
	ret = DT_EXIT_OK;
out:
	decap__destroy(skel);
	free(log);
	dt_prog_close(&old);
	return ret;
}

/* ---- detach ---- */

static int cmd_detach(struct opts *o)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);
	struct dt_prog p;
	int ifindex, err, ret = DT_EXIT_FAIL;

	ifindex = resolve_if("detach", o->ifname);
	if (!ifindex)
		return DT_EXIT_FAIL;
	err = dt_prog_find(ifindex, &p);
	if (err) {
		err_msg("detach %s: cannot query its XDP program: %s",
			o->ifname, cause(err));
		return DT_EXIT_FAIL;
	}
	if (!p.prog_id) {
		if (p.other_id)
			err_msg("detach %s: the XDP program there is '%s' (id "
				"%u), not xlb-decap: leaving it", o->ifname,
				p.other_name, p.other_id);
		else
			err_msg("detach %s: xlb-decap is not attached: "
				"nothing to do", o->ifname);
		ret = p.other_id ? DT_EXIT_FAIL : DT_EXIT_OK;
		goto out;
	}
	/* Detach exactly the program we found, not one attached since. */
	aopts.old_prog_fd = p.prog_fd;
	err = bpf_xdp_detach(ifindex, p.mode | XDP_FLAGS_REPLACE, &aopts);
	if (err) {
		err_msg("detach %s: %s", o->ifname, cause(err));
		goto out;
	}
	printf("%s: xlb-decap detached (%s mode, program id %u)\n",
	       o->ifname, dt_mode_name(p.mode), p.prog_id);
	ret = DT_EXIT_OK;
out:
	dt_prog_close(&p);
	return ret;
}

/* ---- status ---- */

static int show_one(const struct dt_output *out, struct dt_prog *p)
{
	struct dt_addrs vips = { 0 };
	uint64_t c[DECAP_C__MAX];
	struct decap_cfg cfg;
	struct dt_status st = { .prog = p, .cfg = &cfg, .vips = &vips,
				.counters = c };
	int err;

	err = dt_prog_counters(p, c);
	if (!err)
		err = dt_prog_vips(p, &vips);
	dt_prog_cfg(p, &cfg);
	if (err) {
		err_msg("status %s: cannot read the program's maps: %s",
			p->ifname, cause(err));
		dt_addrs_free(&vips);
		return err;
	}
	out->status(&st);
	dt_addrs_free(&vips);
	return 0;
}

static int cmd_status(struct opts *o)
{
	const struct dt_output *out = o->json ? &dt_out_json : &dt_out_text;
	struct if_nameindex *ifs, *i;
	struct dt_prog p;
	int ret = DT_EXIT_OK, found = 0, err, ifindex;

	if (o->ifname) {
		ifindex = resolve_if("status", o->ifname);
		if (!ifindex)
			return DT_EXIT_FAIL;
		err = dt_prog_find(ifindex, &p);
		if (err) {
			err_msg("status %s: %s", o->ifname, cause(err));
			return DT_EXIT_FAIL;
		}
		if (p.prog_id)
			ret = show_one(out, &p) ? DT_EXIT_FAIL : DT_EXIT_OK;
		else {
			out->not_attached(o->ifname);
			ret = DT_EXIT_FAIL;
		}
		dt_prog_close(&p);
		out->done(ret == DT_EXIT_OK);
		return ret;
	}
	ifs = if_nameindex();
	if (!ifs) {
		err_msg("status: cannot list interfaces: %s", strerror(errno));
		return DT_EXIT_FAIL;
	}
	for (i = ifs; i->if_index; i++) {
		err = dt_prog_find(i->if_index, &p);
		if (err == -EPERM) {
			err_msg("status: %s", cause(err));
			ret = DT_EXIT_FAIL;
			break;
		}
		if (!err && p.prog_id) {
			found++;
			if (show_one(out, &p))
				ret = DT_EXIT_FAIL;
		}
		dt_prog_close(&p);
	}
	if_freenameindex(ifs);
	if (!found && ret == DT_EXIT_OK)
		out->not_attached(NULL);
	out->done(ret == DT_EXIT_OK);
	return ret;
}

/* ---- check ---- */

static int cmd_check(struct opts *o)
{
	const struct dt_output *out = o->json ? &dt_out_json : &dt_out_text;

	return dt_check_run(out, o->ifname, &o->vips) ? DT_EXIT_OK :
							DT_EXIT_FAIL;
}

/* ---- main ---- */

static int parse(int argc, char **argv, const struct cmd *c, struct opts *o)
{
	struct option lo[N_OPTS + 1];
	struct dt_addr a;
	size_t i;
	int ch;

	for (i = 0; i < N_OPTS; i++)
		lo[i] = opt_defs[i].lo;
	memset(&lo[N_OPTS], 0, sizeof(lo[0]));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		for (i = 0; i < N_OPTS; i++)
			if (opt_defs[i].lo.val == ch)
				break;
		if (ch == '?' || i == N_OPTS) {
			usage(stderr);
			return -1;
		}
		if (!(opt_defs[i].cmds & c->bit)) {
			err_msg("%s: --%s does not apply to this command",
				c->name, opt_defs[i].lo.name);
			return -1;
		}
		switch (ch) {
		case 'h':
			usage(stdout);
			exit(DT_EXIT_OK);
		case 'v':
			o->verbose = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_VIP:
			if (dt_addr_parse(optarg, &a)) {
				err_msg("%s: --vip %s: not an IPv4 or IPv6 "
					"address", c->name, optarg);
				return -1;
			}
			if (!dt_addrs_has(&o->vips, &a) &&
			    dt_addrs_add(&o->vips, &a))
				return -1;
			break;
		case O_MODE:
			if (!strcmp(optarg, "auto"))
				o->mode = 0;
			else if (!strcmp(optarg, "native"))
				o->mode = XDP_FLAGS_DRV_MODE;
			else if (!strcmp(optarg, "generic"))
				o->mode = XDP_FLAGS_SKB_MODE;
			else {
				err_msg("%s: --xdp-mode %s: must be auto, "
					"native or generic", c->name, optarg);
				return -1;
			}
			break;
		}
	}
	if (optind < argc)
		o->ifname = argv[optind++];
	if (optind < argc) {
		err_msg("%s: unexpected argument '%s'", c->name, argv[optind]);
		return -1;
	}
	if (c->need_if && !o->ifname) {
		err_msg("%s: IFNAME is required: xlb-decap %s %s", c->name,
			c->name, c->args);
		return -1;
	}
	if (o->ifname && (strlen(o->ifname) >= IF_NAMESIZE ||
			  !o->ifname[0])) {
		err_msg("%s: '%s' is not a valid interface name", c->name,
			o->ifname);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	const struct cmd *c = NULL;
	size_t i;
	int ret;

	if (argc < 2) {
		usage(stderr);
		return DT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return DT_EXIT_OK;
	}
	for (i = 0; i < N_CMDS; i++)
		if (!strcmp(argv[1], cmds[i].name))
			c = &cmds[i];
	if (!c) {
		err_msg("unknown command '%s'; one of: attach, detach, status, "
			"check", argv[1]);
		return DT_EXIT_USAGE;
	}
	if (parse(argc - 1, argv + 1, c, &o)) {
		dt_addrs_free(&o.vips);
		return DT_EXIT_USAGE;
	}
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	ret = c->run(&o);
	dt_addrs_free(&o.vips);
	return ret;
}
