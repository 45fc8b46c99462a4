// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* test_netlink.c - user/netlink.c against the kernel.
 *
 * The process moves itself into a private network namespace first, so
 * nothing here touches the host's interfaces; the namespace vanishes with
 * the process. Topology (documentation addresses only):
 *
 *   [test ns] xlb0 192.0.2.1/24 2001:db8:1::1/64 ---veth--- xlb1 [peer ns]
 *                                             192.0.2.2/24 2001:db8:1::2/64
 *   [test ns] xlb2 <-veth-> xlb3   (address, link and monitor tests)
 *
 * The peer namespace belongs to a child process that only waits; it answers
 * ARP and neighbour solicitations, so managed entries really resolve.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "netlink.h"

#define MAC_XLB0 "02:00:5e:10:00:01"
#define MAC_XLB1 "02:00:5e:10:00:02"
#define MTU_XLB0 1480
#define EVENT_DEADLINE_MS 1000	/* SPEC: changes reach the cache in 1 s */
#define RESOLVE_DEADLINE_MS 5000

static pid_t peer_pid;
static int peer_hold = -1;
static int if_xlb0, if_xlb2, if_xlb3;
static struct nl_monitor *mon;

/* ---- helpers ---- */

static const char *fmt_addr(const struct xlb_addr *a, char *buf, size_t len)
{
	if (!a->family || !inet_ntop(a->family, a->bytes, buf, len))
		snprintf(buf, len, "(family %d)", a->family);
	return buf;
}

static struct xlb_addr A(const char *s)
{
	struct xlb_addr a = { 0 };

	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = AF_INET6;
	return a;
}

static bool addr_same(const struct xlb_addr *a, const struct xlb_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, 16);
}

#define EXPECT_INT(what, got, want)                                          \
	do {                                                                 \
		long g_ = (long)(got), w_ = (long)(want);                    \
		if (g_ != w_)                                                \
			fprintf(stderr, "\n  %s: %ld, expected %ld\n",       \
				(what), g_, w_);                             \
		CU_ASSERT(g_ == w_);                                         \
	} while (0)

#define EXPECT_ERR(what, got, want)                                          \
	do {                                                                 \
		int g_ = (got), w_ = (want);                                 \
		if (g_ != w_)                                                \
			fprintf(stderr,                                      \
				"\n  %s: %d (%s), expected %d (%s)\n",        \
				(what), g_, strerror(-g_), w_,               \
				strerror(-w_));                              \
		CU_ASSERT(g_ == w_);                                         \
	} while (0)

#define EXPECT_ADDR(what, got, want_str)                                     \
	do {                                                                 \
		struct xlb_addr w_ = A(want_str);                            \
		char gb_[64];                                                \
		if (!addr_same(&(got), &w_))                                 \
			fprintf(stderr, "\n  %s: %s, expected %s\n", (what),   \
				fmt_addr(&(got), gb_, sizeof(gb_)),          \
				(want_str));                                 \
		CU_ASSERT(addr_same(&(got), &w_));                           \
	} while (0)

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "\n  command failed (status %d): %s\n", rc,
			cmd);
	return rc;
}

/* First line of a command's output, without the newline. */
static int sh_line(char *out, size_t len, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = 0;
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	if (!fgets(out, len, f))
		out[0] = 0;
	while (fgetc(f) != EOF)
		;
	pclose(f);
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static void mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
	       &b[5]);
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* ---- monitor event log and matching ---- */

#define EV_LOG_MAX 4096

struct ev_log {
	struct nl_event ev[EV_LOG_MAX];
	int n;
	int overruns;
};

static struct ev_log evlog;

static void ev_record(void *arg, const struct nl_event *ev)
{
	struct ev_log *l = arg;

	if (ev->overrun)
		l->overruns++;
	if (l->n < EV_LOG_MAX)
		l->ev[l->n++] = *ev;
}

/* What an awaited event must look like; -1 / family 0 mean "any". */
struct ev_want {
	enum nl_event_kind kind;
	int deleted;
	int ifindex;
	struct xlb_addr addr;
	int plen;
	int link_up;
	uint16_t state_mask;
};

static bool ev_matches(const struct nl_event *ev, const struct ev_want *w)
{
	if (ev->kind != w->kind || ev->overrun)
		return false;
	if (w->deleted >= 0 && ev->deleted != (bool)w->deleted)
		return false;
	if (w->ifindex && ev->ifindex != w->ifindex)
		return false;
	if (w->addr.family && !addr_same(&ev->addr, &w->addr))
		return false;
	if (w->plen >= 0 && ev->plen != w->plen)
		return false;
	if (w->link_up >= 0 && ev->link_up != (bool)w->link_up)
		return false;
	if (w->state_mask && !(ev->neigh_state & w->state_mask))
		return false;
	return true;
}

static void ev_mark(void)
{
	struct pollfd p = { .fd = nl_monitor_fd(mon), .events = POLLIN };

	/* Drain what is pending, then forget it. */
	while (poll(&p, 1, 0) > 0)
		nl_monitor_process(mon, ev_record, &evlog);
	evlog.n = 0;
}

/* Wait (poll with a deadline) for an event matching w since ev_mark(). */
static bool ev_wait(const struct ev_want *w, int timeout_ms,
		    struct nl_event *got)
{
	struct pollfd p = { .fd = nl_monitor_fd(mon), .events = POLLIN };
	long deadline = now_ms() + timeout_ms;
	int seen = 0, ret;

	for (;;) {
		for (; seen < evlog.n; seen++) {
			if (ev_matches(&evlog.ev[seen], w)) {
				if (got)
					*got = evlog.ev[seen];
				return true;
			}
		}
		ret = poll(&p, 1, deadline - now_ms() > 0 ?
				      (int)(deadline - now_ms()) : 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return false;
		ret = nl_monitor_process(mon, ev_record, &evlog);
		if (ret < 0) {
			fprintf(stderr, "\n  nl_monitor_process: %s\n",
				strerror(-ret));
			return false;
		}
	}
}

#define EXPECT_EVENT(what, want, timeout, got)                               \
	do {                                                                 \
		bool ok_ = ev_wait((want), (timeout), (got));                \
		if (!ok_)                                                    \
			fprintf(stderr, "\n  no %s event within %d ms\n",      \
				(what), (timeout));                          \
		CU_ASSERT_FATAL(ok_);                                        \
	} while (0)

/* ---- topology ---- */

static int peer_start(void)
{
	int ready[2], hold[2];
	char c;

	if (pipe2(ready, O_CLOEXEC) || pipe2(hold, O_CLOEXEC))
		return -errno;
	peer_pid = fork();
	if (peer_pid < 0)
		return -errno;
	if (peer_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		/* Wait for the parent to close its end (or die). */
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	peer_hold = hold[1];
	if (read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -ECHILD;
	}
	close(ready[0]);
	return 0;
}

static void peer_stop(void)
{
	if (peer_hold >= 0)
		close(peer_hold);
	if (peer_pid > 0) {
		kill(peer_pid, SIGKILL);
		waitpid(peer_pid, NULL, 0);
	}
}

static int topology_setup(void)
{
	int err;

	err = peer_start();
	if (err) {
		fprintf(stderr, "peer namespace: %s\n", strerror(-err));
		return -1;
	}
	if (sh("ip link set lo up") ||
	    sh("ip link add xlb0 type veth peer name xlb1") ||
	    sh("ip link set xlb1 netns %d", peer_pid) ||
	    sh("ip link set xlb0 address " MAC_XLB0 " mtu %d up", MTU_XLB0) ||
	    sh("ip addr add 192.0.2.1/24 dev xlb0") ||
	    sh("ip -6 addr add 2001:db8:1::1/64 dev xlb0 nodad") ||
	    sh("nsenter -t %d -n ip link set lo up", peer_pid) ||
	    sh("nsenter -t %d -n ip link set xlb1 address " MAC_XLB1 " up",
	       peer_pid) ||
	    sh("nsenter -t %d -n ip addr add 192.0.2.2/24 dev xlb1",
	       peer_pid) ||
	    sh("nsenter -t %d -n ip -6 addr add 2001:db8:1::2/64 dev xlb1 "
	       "nodad", peer_pid) ||
	    sh("ip route add 198.51.100.0/24 via 192.0.2.254") ||
	    sh("ip route add 198.51.100.128/25 via 192.0.2.254 mtu 1400") ||
	    sh("ip route add 198.51.100.64/26 via inet6 2001:db8:1::fe "
	       "dev xlb0") ||
	    sh("ip route add unreachable 198.51.100.248/29") ||
	    sh("ip -6 route add 2001:db8:2::/64 via 2001:db8:1::fe") ||
	    sh("ip -6 route add 2001:db8:3::/64 via 2001:db8:1::fe mtu 1400") ||
	    sh("ip link add xlb2 type veth peer name xlb3") ||
	    sh("ip link set xlb2 up"))
		return -1;
	if_xlb0 = if_nametoindex("xlb0");
	if_xlb2 = if_nametoindex("xlb2");
	if_xlb3 = if_nametoindex("xlb3");
	if (!if_xlb0 || !if_xlb2 || !if_xlb3)
		return -1;
	mon = nl_monitor_open();
	if (!mon) {
		fprintf(stderr, "nl_monitor_open: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- links ---- */

static void test_link_by_name(void)
{
	struct nl_link_info li;
	uint8_t mac[6];
	int err;

	mac_parse(MAC_XLB0, mac);
	err = nl_link_by_name("xlb0", &li);
	EXPECT_ERR("nl_link_by_name(xlb0)", err, 0);
	if (err)
		return;
	EXPECT_INT("xlb0 ifindex", li.ifindex, if_xlb0);
	CU_ASSERT_STRING_EQUAL(li.name, "xlb0");
	CU_ASSERT(!memcmp(li.mac, mac, 6));
	EXPECT_INT("xlb0 mtu", li.mtu, MTU_XLB0);
	EXPECT_INT("xlb0 up", li.up, true);
	EXPECT_INT("xlb0 carrier", li.carrier, true);
	EXPECT_INT("xlb0 type", li.type, 1 /* ARPHRD_ETHER */);

	/* xlb3 is administratively down. */
	err = nl_link_by_name("xlb3", &li);
	EXPECT_ERR("nl_link_by_name(xlb3)", err, 0);
	EXPECT_INT("xlb3 up", li.up, false);
	EXPECT_INT("xlb3 mtu", li.mtu, 1500);
}

static void test_link_by_index(void)
{
	struct nl_link_info li;
	uint8_t mac[6];
	int err;

	mac_parse(MAC_XLB0, mac);
	err = nl_link_by_index(if_xlb0, &li);
	EXPECT_ERR("nl_link_by_index(xlb0)", err, 0);
	CU_ASSERT_STRING_EQUAL(li.name, "xlb0");
	EXPECT_INT("xlb0 ifindex", li.ifindex, if_xlb0);
	CU_ASSERT(!memcmp(li.mac, mac, 6));
	EXPECT_INT("xlb0 mtu", li.mtu, MTU_XLB0);
	EXPECT_INT("xlb0 up", li.up, true);
}

static void test_link_missing(void)
{
	struct nl_link_info li;

	EXPECT_ERR("nl_link_by_name(xlbnone)", nl_link_by_name("xlbnone", &li),
		   -ENODEV);
	EXPECT_ERR("nl_link_by_index(99999)", nl_link_by_index(99999, &li),
		   -ENODEV);
	EXPECT_ERR("nl_link_by_name(16 chars)",
		   nl_link_by_name("abcdefghijklmnop", &li), -EINVAL);
	EXPECT_ERR("nl_link_by_name(\"\")", nl_link_by_name("", &li),
		   -EINVAL);
}

/* ---- primary addresses ---- */

/* The first global address `ip` lists for dev in family (the oracle). */
static void ip_first_global(const char *fam, const char *dev, char *out,
			    size_t len)
{
	char line[512], addr[128] = "";

	sh_line(line, sizeof(line), "ip %s -o addr show dev %s scope global",
		fam, dev);
	sscanf(line, "%*d: %*s %*s %127s", addr);
	addr[strcspn(addr, "/")] = 0;
	snprintf(out, len, "%s", addr);
}

static void test_primary_addr_v4(void)
{
	struct xlb_addr a;
	char first[128];
	int err;

	EXPECT_ERR("v4 primary of xlb2 (none)",
		   nl_primary_addr(if_xlb2, AF_INET, &a), -ENOENT);
	/* Listed first but link scope: must be skipped. */
	CU_ASSERT_FATAL(!sh("ip addr add 192.0.2.129/32 dev xlb2 scope link"));
	EXPECT_ERR("v4 primary of xlb2 (link scope only)",
		   nl_primary_addr(if_xlb2, AF_INET, &a), -ENOENT);
	CU_ASSERT_FATAL(!sh("ip addr add 192.0.2.130/32 dev xlb2"));
	CU_ASSERT_FATAL(!sh("ip addr add 192.0.2.131/32 dev xlb2"));
	err = nl_primary_addr(if_xlb2, AF_INET, &a);
	EXPECT_ERR("nl_primary_addr(xlb2, v4)", err, 0);
	ip_first_global("-4", "xlb2", first, sizeof(first));
	EXPECT_ADDR("v4 primary of xlb2", a, first);
	EXPECT_ADDR("v4 primary of xlb2", a, "192.0.2.130");

	err = nl_primary_addr(if_xlb0, AF_INET, &a);
	EXPECT_ERR("nl_primary_addr(xlb0, v4)", err, 0);
	EXPECT_ADDR("v4 primary of xlb0", a, "192.0.2.1");
}

static void test_primary_addr_v6(void)
{
	struct xlb_addr a;
	char first[128];
	int err;

	CU_ASSERT_FATAL(!sh("ip -6 addr add fe80::1234/64 dev xlb2 nodad"));
	EXPECT_ERR("v6 primary of xlb2 (link-local only)",
		   nl_primary_addr(if_xlb2, AF_INET6, &a), -ENOENT);
	CU_ASSERT_FATAL(!sh("ip -6 addr add 2001:db8:5::1/64 dev xlb2 nodad"));
	CU_ASSERT_FATAL(!sh("ip -6 addr add 2001:db8:5::2/64 dev xlb2 nodad"));
	err = nl_primary_addr(if_xlb2, AF_INET6, &a);
	EXPECT_ERR("nl_primary_addr(xlb2, v6)", err, 0);
	ip_first_global("-6", "xlb2", first, sizeof(first));
	EXPECT_ADDR("v6 primary of xlb2", a, first);

	err = nl_primary_addr(if_xlb0, AF_INET6, &a);
	EXPECT_ERR("nl_primary_addr(xlb0, v6)", err, 0);
	EXPECT_ADDR("v6 primary of xlb0", a, "2001:db8:1::1");

	EXPECT_ERR("v6 primary of xlb3 (down, none)",
		   nl_primary_addr(if_xlb3, AF_INET6, &a), -ENOENT);
	EXPECT_ERR("bad family", nl_primary_addr(if_xlb0, AF_UNIX, &a),
		   -EINVAL);
}

/* ---- routes ---- */

struct route_case {
	const char *dst;
	int err;
	const char *nexthop;
	uint32_t mtu;
};

static const struct route_case route_cases[] = {
	{ "192.0.2.77", 0, "192.0.2.77", 0 },		/* on-link */
	{ "198.51.100.10", 0, "192.0.2.254", 0 },	/* via gateway */
	{ "198.51.100.200", 0, "192.0.2.254", 1400 },	/* route mtu */
	{ "198.51.100.70", 0, "2001:db8:1::fe", 0 },	/* via inet6 */
	{ "198.51.100.250", -EHOSTUNREACH, NULL, 0 },	/* unreachable */
	{ "192.0.2.1", -ELOOP, NULL, 0 },		/* our own */
	{ "2001:db8:1::77", 0, "2001:db8:1::77", 0 },
	{ "2001:db8:2::5", 0, "2001:db8:1::fe", 0 },
	{ "2001:db8:3::5", 0, "2001:db8:1::fe", 1400 },
	{ "2001:db8:ffff::1", -ENETUNREACH, NULL, 0 },	/* no route */
};

static void test_route_get(void)
{
	for (size_t i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]);
	     i++) {
		const struct route_case *c = &route_cases[i];
		struct xlb_addr dst = A(c->dst), nh = { 0 };
		char what[128];
		uint32_t mtu = 12345;
		int oif = -1, err;

		err = nl_route_get(&dst, &nh, &oif, &mtu);
		snprintf(what, sizeof(what), "route get %s", c->dst);
		EXPECT_ERR(what, err, c->err);
		if (err || c->err)
			continue;
		snprintf(what, sizeof(what), "route get %s: next hop", c->dst);
		EXPECT_ADDR(what, nh, c->nexthop);
		snprintf(what, sizeof(what), "route get %s: oif", c->dst);
		EXPECT_INT(what, oif, if_xlb0);
		snprintf(what, sizeof(what), "route get %s: mtu", c->dst);
		EXPECT_INT(what, mtu, c->mtu);
	}
}

/* ---- neighbours ---- */

static void expect_resolved(const char *dst_str, const char *mac_str)
{
	struct ev_want w = {
		.kind = NL_EV_NEIGH, .deleted = 0, .ifindex = if_xlb0,
		.addr = A(dst_str), .plen = -1, .link_up = -1,
		.state_mask = NUD_REACHABLE,
	};
	struct xlb_addr dst = A(dst_str);
	struct nl_neigh_info n;
	struct nl_event ev;
	char what[128], out[512];
	uint8_t mac[6];
	int err;

	mac_parse(mac_str, mac);
	ev_mark();
	err = nl_neigh_keep(if_xlb0, &dst);
	snprintf(what, sizeof(what), "nl_neigh_keep(%s)", dst_str);
	EXPECT_ERR(what, err, 0);
	EXPECT_INT("nl_neigh_managed()", nl_neigh_managed(), 1);

	err = nl_neigh_get(if_xlb0, &dst, &n);
	EXPECT_ERR("nl_neigh_get", err, 0);
	snprintf(what, sizeof(what), "%s managed", dst_str);
	EXPECT_INT(what, n.managed, true);
	/* The same seen by iproute2. */
	sh_line(out, sizeof(out), "ip -d neigh show %s dev xlb0", dst_str);
	if (!strstr(out, "managed"))
		fprintf(stderr, "\n  ip -d neigh show %s: '%s', expected "
				"'managed'\n", dst_str, out);
	CU_ASSERT(strstr(out, "managed") != NULL);

	/* The kernel resolves it without any traffic from us. */
	snprintf(what, sizeof(what), "%s REACHABLE", dst_str);
	EXPECT_EVENT(what, &w, RESOLVE_DEADLINE_MS, &ev);
	CU_ASSERT(ev.has_mac && !memcmp(ev.mac, mac, 6));
	CU_ASSERT(ev.neigh_managed);
	err = nl_neigh_get(if_xlb0, &dst, &n);
	EXPECT_ERR("nl_neigh_get", err, 0);
	CU_ASSERT(n.has_mac && !memcmp(n.mac, mac, 6));

	/* Keeping it again, or kicking it, leaves it managed. */
	EXPECT_ERR("nl_neigh_keep again", nl_neigh_keep(if_xlb0, &dst), 0);
	EXPECT_ERR("nl_neigh_resolve", nl_neigh_resolve(if_xlb0, &dst), 0);
	err = nl_neigh_get(if_xlb0, &dst, &n);
	EXPECT_ERR("nl_neigh_get", err, 0);
	snprintf(what, sizeof(what), "%s managed after resolve", dst_str);
	EXPECT_INT(what, n.managed, true);
}

static void test_neigh_keep_v4(void)
{
	expect_resolved("192.0.2.2", MAC_XLB1);
}

static void test_neigh_keep_v6(void)
{
	expect_resolved("2001:db8:1::2", MAC_XLB1);
}

/* Entries the operator owns stay exactly as they are. */
static void expect_untouched(const char *dst_str, const char *nud,
			     uint16_t state)
{
	struct xlb_addr dst = A(dst_str);
	struct nl_neigh_info n;
	char what[128];
	uint8_t mac[6];
	int err;

	mac_parse("02:00:5e:10:00:33", mac);
	CU_ASSERT_FATAL(!sh("ip neigh replace %s lladdr 02:00:5e:10:00:33 "
			    "dev xlb0 nud %s", dst_str, nud));
	snprintf(what, sizeof(what), "nl_neigh_keep(%s %s)", dst_str, nud);
	EXPECT_ERR(what, nl_neigh_keep(if_xlb0, &dst), 0);
	snprintf(what, sizeof(what), "nl_neigh_resolve(%s %s)", dst_str, nud);
	EXPECT_ERR(what, nl_neigh_resolve(if_xlb0, &dst), 0);
	err = nl_neigh_get(if_xlb0, &dst, &n);
	EXPECT_ERR("nl_neigh_get", err, 0);
	snprintf(what, sizeof(what), "%s state", dst_str);
	EXPECT_INT(what, n.state, state);
	snprintf(what, sizeof(what), "%s managed", dst_str);
	EXPECT_INT(what, n.managed, false);
	CU_ASSERT(n.has_mac && !memcmp(n.mac, mac, 6));
}

static void test_neigh_operator_entries(void)
{
	expect_untouched("192.0.2.3", "permanent", NUD_PERMANENT);
	expect_untouched("192.0.2.4", "noarp", NUD_NOARP);
	expect_untouched("2001:db8:1::3", "permanent", NUD_PERMANENT);
}

static void test_neigh_existing_and_unanswered(void)
{
	struct xlb_addr stale = A("192.0.2.5"), gw = A("192.0.2.254");
	struct xlb_addr nh, none = A("192.0.2.9"), far = A("198.51.100.10");
	struct nl_neigh_info n;
	uint32_t mtu;
	uint8_t mac[6];
	int oif, err;

	/* A learned (stale) entry becomes managed and keeps its address. */
	mac_parse("02:00:5e:10:00:55", mac);
	CU_ASSERT_FATAL(!sh("ip neigh replace 192.0.2.5 lladdr "
			    "02:00:5e:10:00:55 dev xlb0 nud stale"));
	EXPECT_ERR("nl_neigh_keep(stale)", nl_neigh_keep(if_xlb0, &stale), 0);
	err = nl_neigh_get(if_xlb0, &stale, &n);
	EXPECT_ERR("nl_neigh_get(192.0.2.5)", err, 0);
	EXPECT_INT("192.0.2.5 managed", n.managed, true);
	CU_ASSERT(n.has_mac && !memcmp(n.mac, mac, 6));

	/* The gateway the route names: entry created even with no answer. */
	err = nl_route_get(&far, &nh, &oif, &mtu);
	EXPECT_ERR("route get 198.51.100.10", err, 0);
	EXPECT_ADDR("next hop", nh, "192.0.2.254");
	EXPECT_ERR("nl_neigh_keep(gw)", nl_neigh_keep(oif, &nh), 0);
	err = nl_neigh_get(if_xlb0, &gw, &n);
	EXPECT_ERR("nl_neigh_get(gw)", err, 0);
	EXPECT_INT("gw managed", n.managed, true);
	CU_ASSERT(n.state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NONE));

	/* A one-off kick creates a plain (unmanaged) entry. */
	EXPECT_ERR("nl_neigh_get(192.0.2.9) before",
		   nl_neigh_get(if_xlb0, &none, &n), -ENOENT);
	EXPECT_ERR("nl_neigh_resolve(192.0.2.9)",
		   nl_neigh_resolve(if_xlb0, &none), 0);
	err = nl_neigh_get(if_xlb0, &none, &n);
	EXPECT_ERR("nl_neigh_get(192.0.2.9) after", err, 0);
	EXPECT_INT("192.0.2.9 managed", n.managed, false);
	CU_ASSERT(n.state & (NUD_INCOMPLETE | NUD_FAILED));

	EXPECT_ERR("nl_neigh_keep(bad ifindex)",
		   nl_neigh_keep(99999, &none), -ENODEV);
}

/* ---- monitor ---- */

static void test_monitor_link(void)
{
	struct ev_want w = {
		.kind = NL_EV_LINK, .deleted = 0, .ifindex = if_xlb2,
		.plen = -1, .link_up = 0,
	};

	ev_mark();
	CU_ASSERT_FATAL(!sh("ip link set xlb2 down"));
	EXPECT_EVENT("link xlb2 down", &w, EVENT_DEADLINE_MS, NULL);
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip link set xlb2 up"));
	w.link_up = 1;
	EXPECT_EVENT("link xlb2 up", &w, EVENT_DEADLINE_MS, NULL);
}

static void test_monitor_route(void)
{
	struct ev_want w = {
		.kind = NL_EV_ROUTE, .deleted = 0, .ifindex = if_xlb0,
		.addr = A("198.51.100.16"), .plen = 28, .link_up = -1,
	};

	ev_mark();
	CU_ASSERT_FATAL(!sh("ip route add 198.51.100.16/28 via 192.0.2.254"));
	EXPECT_EVENT("route add 198.51.100.16/28", &w, EVENT_DEADLINE_MS,
		     NULL);
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip route del 198.51.100.16/28"));
	w.deleted = 1;
	EXPECT_EVENT("route del 198.51.100.16/28", &w, EVENT_DEADLINE_MS,
		     NULL);

	w.addr = A("2001:db8:4::");
	w.plen = 64;
	w.deleted = 0;
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip -6 route add 2001:db8:4::/64 via "
			    "2001:db8:1::fe"));
	EXPECT_EVENT("route add 2001:db8:4::/64", &w, EVENT_DEADLINE_MS, NULL);
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip -6 route del 2001:db8:4::/64"));
	w.deleted = 1;
	EXPECT_EVENT("route del 2001:db8:4::/64", &w, EVENT_DEADLINE_MS, NULL);
}

static void test_monitor_neigh(void)
{
	struct ev_want w = {
		.kind = NL_EV_NEIGH, .deleted = 0, .ifindex = if_xlb0,
		.addr = A("192.0.2.6"), .plen = -1, .link_up = -1,
		.state_mask = NUD_STALE,
	};
	struct nl_event ev;
	uint8_t mac[6];

	mac_parse("02:00:5e:10:00:66", mac);
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip neigh add 192.0.2.6 lladdr 02:00:5e:10:00:66 "
			    "dev xlb0 nud stale"));
	EXPECT_EVENT("neigh add 192.0.2.6", &w, EVENT_DEADLINE_MS, &ev);
	CU_ASSERT(ev.has_mac && !memcmp(ev.mac, mac, 6));
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip neigh del 192.0.2.6 dev xlb0"));
	w.deleted = 1;
	w.state_mask = 0;
	EXPECT_EVENT("neigh del 192.0.2.6", &w, EVENT_DEADLINE_MS, NULL);

	w.addr = A("2001:db8:1::6");
	w.deleted = 0;
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip neigh add 2001:db8:1::6 lladdr "
			    "02:00:5e:10:00:66 dev xlb0 nud reachable"));
	EXPECT_EVENT("neigh add 2001:db8:1::6", &w, EVENT_DEADLINE_MS, NULL);
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip neigh del 2001:db8:1::6 dev xlb0"));
	w.deleted = 1;
	EXPECT_EVENT("neigh del 2001:db8:1::6", &w, EVENT_DEADLINE_MS, NULL);
}

static void test_monitor_addr(void)
{
	struct ev_want w = {
		.kind = NL_EV_ADDR, .deleted = 0, .ifindex = if_xlb2,
		.addr = A("192.0.2.140"), .plen = 32, .link_up = -1,
	};

	ev_mark();
	CU_ASSERT_FATAL(!sh("ip addr add 192.0.2.140/32 dev xlb2"));
	EXPECT_EVENT("addr add 192.0.2.140", &w, EVENT_DEADLINE_MS, NULL);
	ev_mark();
	CU_ASSERT_FATAL(!sh("ip addr del 192.0.2.140/32 dev xlb2"));
	w.deleted = 1;
	EXPECT_EVENT("addr del 192.0.2.140", &w, EVENT_DEADLINE_MS, NULL);
}

/* A receive buffer overrun is reported once, as a resync event. */
static void test_monitor_overrun(void)
{
	struct nl_monitor *m = nl_monitor_open();
	struct ev_log *l = calloc(1, sizeof(*l));
	struct pollfd p;
	int small = 1, n;

	CU_ASSERT_FATAL(m != NULL && l != NULL);
	CU_ASSERT_FATAL(!setsockopt(nl_monitor_fd(m), SOL_SOCKET, SO_RCVBUF,
				    &small, sizeof(small)));
	CU_ASSERT_FATAL(!sh("for i in $(seq 0 199); do echo \"route add "
			    "198.51.100.$i/32 dev xlb0 table 100\"; done | "
			    "ip -batch -"));
	p = (struct pollfd){ .fd = nl_monitor_fd(m), .events = POLLIN };
	CU_ASSERT_FATAL(poll(&p, 1, EVENT_DEADLINE_MS) == 1);
	n = nl_monitor_process(m, ev_record, l);
	CU_ASSERT(n >= 1);
	EXPECT_INT("overrun events", l->overruns, 1);
	CU_ASSERT(l->n >= 1 && l->ev[l->n - 1].overrun &&
		  l->ev[l->n - 1].kind == NL_EV_ROUTE);
	/* Drained: nothing more, and no error. */
	EXPECT_INT("events after drain", nl_monitor_process(m, ev_record, l),
		   0);
	sh("ip route flush table 100");
	nl_monitor_close(m);
	free(l);
}

int main(void)
{
	CU_pSuite s;
	int rc;

	test_require_root_bpf("test_netlink");
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	if (topology_setup()) {
		fprintf(stderr, "FAIL: test_netlink: topology setup failed\n");
		peer_stop();
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("netlink", NULL, NULL);
	CU_add_test(s, "link by name", test_link_by_name);
	CU_add_test(s, "link by index", test_link_by_index);
	CU_add_test(s, "link missing", test_link_missing);
	CU_add_test(s, "primary address v4", test_primary_addr_v4);
	CU_add_test(s, "primary address v6", test_primary_addr_v6);
	CU_add_test(s, "route get", test_route_get);
	CU_add_test(s, "neigh keep v4 (managed, resolves)",
		    test_neigh_keep_v4);
	CU_add_test(s, "neigh keep v6 (managed, resolves)",
		    test_neigh_keep_v6);
	CU_add_test(s, "neigh operator entries untouched",
		    test_neigh_operator_entries);
	CU_add_test(s, "neigh existing, unanswered, resolve",
		    test_neigh_existing_and_unanswered);
	CU_add_test(s, "monitor link", test_monitor_link);
	CU_add_test(s, "monitor route", test_monitor_route);
	CU_add_test(s, "monitor neighbour", test_monitor_neigh);
	CU_add_test(s, "monitor address", test_monitor_addr);
	CU_add_test(s, "monitor overrun", test_monitor_overrun);
	rc = test_run_cunit();
	nl_monitor_close(mon);
	nl_close();
	peer_stop();
	return rc;
}
