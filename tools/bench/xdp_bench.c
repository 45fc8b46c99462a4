// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdp_bench.c - ns per packet of xlb's XDP program on this host, warm.
 *
 *   build/bench/xdp_bench [--quick] [--cpu N] [--samples N] [--repeat R]
 *                         [--conntrack N]
 *
 * Needs root.  Everything lives in a network namespace of the process's
 * own (unshare), which vanishes with it: nothing is pinned, nothing on the
 * host's interfaces is touched.
 *
 * Setup: a veth pair, xbench0 (the LB's interface: 192.0.2.1/24,
 * 2001:db8::1/64) and xbench1; routes to the backends (198.51.100.0/24,
 * 2001:db8:1::/64) via a gateway with a PERMANENT neighbour entry, and
 * forwarding on, so that bpf_fib_lookup resolves every backend.  xlb's
 * program is loaded and its maps filled through user/maps.h, as xlbd does
 * (private maps), with Maglev tables from user/maglev.h: VIPs
 * 192.0.2.10:80/tcp, 192.0.2.10:80/udp -> 198.51.100.1-100 (IPIP) and
 * [2001:db8::10]:80/tcp -> 2001:db8:1::1-100 (ip6ip6), M = 65537.  xlb's
 * program is attached to xbench0 (test runs use it as ingress_ifindex),
 * the replay wrapper (kern/bench_replay.bpf.c) to xbench1: attached
 * programs are called directly, unattached ones through a retpoline.
 *
 * Method: BPF_PROG_TEST_RUN does not reset the frame between repetitions,
 * so the wrapper restores an exact input frame from a slot before each
 * repetition and tail-calls the program under test.  One sample is one
 * test run of R repetitions (the kernel's own per-repetition mean).  Every
 * sample of a case is paired with a calibration sample (the wrapper
 * tail-calling `return XDP_PASS`, same slot layout) run just before it;
 * "net" = case - calib.  The floor is the wrapper tail-calling a program
 * that swaps the MACs and returns XDP_TX.  Cases take turns sample by
 * sample (each has slots of its own), so that load elsewhere on the host
 * hits them alike.  The wrapper only acts on frames whose ingress_ifindex
 * is the test runs' (it may see real ones where it is attached), and the
 * links are kept quiet (no IPv6 on xbench1, no link-local on xbench0).
 *
 * Checks: the verdict and the output frame of the last repetition of each
 * sample (outer header, the backend Maglev or the connection table gives,
 * inner bytes unchanged), no wrapper fault, and xlb's own counters over
 * all repetitions of a case (packets per backend, new flows by kind,
 * passes, drops).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_common.h"
#include "xlb_hash.h"
#include "maps.h"
#include "maglev.h"
#include "bench_replay.skel.h"

#define IF_LB "xbench0"
#define IF_PEER "xbench1"
#define MAC_LB "02:00:00:00:00:02"
#define MAC_GW "02:00:00:00:00:01"

#define TABLE_M 65537
#define NBACKENDS 100
#define SLOTS_64K 65536
#define SLOT_BYTES 128
#define OUT_BYTES 256
#define VIP_TCP4 0
#define VIP_UDP4 1
#define VIP_TCP6 2
#define NVIPS 3

/* Must match struct bench_slot in kern/bench_replay.bpf.c. */
struct bench_slot {
	uint32_t len;
	uint32_t pad;
	uint8_t data[SLOT_BYTES];
};

static const uint8_t mac_lb[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t mac_gw[6] = { 2, 0, 0, 0, 0, 1 };

struct flow {
	int v6;
	uint8_t proto;
	uint8_t tcpflags; /* TH_* */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport; /* host order */
};

#define TH_SYN 0x02
#define TH_ACK 0x10

enum kind {
	K_HIT,	 /* recorded flows, primed with SYN + ACK */
	K_SYN,	 /* bare SYNs of new flows: Maglev, nothing recorded */
	K_MISS,	 /* non-SYN packets of new flows: Maglev + insert */
	K_PASS,	 /* not a VIP: XDP_PASS, untouched */
	K_FLOOR, /* the MAC-swap program */
};

struct bcase {
	const char *name;
	enum kind kind;
	int v6;
	uint8_t proto;
	uint32_t flows; /* K_HIT: flows replayed in turn */
	const char *what;
};

/* What a case is measuring with, and what it measured. */
struct cstate {
	uint32_t base, nslots; /* its slots */
	int prog_fd;
	int verdict;
	const char *bad; /* the first failed check */
	double *raw, *cal;
};

static const struct bcase cases[] = {
	{ "floor", K_FLOOR, 0, IPPROTO_TCP, 1, "MAC swap + XDP_TX (no xlb)" },
	{ "tcp4-hit", K_HIT, 0, IPPROTO_TCP, 1, "ACK of one recorded flow" },
	{ "tcp4-hit-64k", K_HIT, 0, IPPROTO_TCP, SLOTS_64K,
	  "ACKs of 65,536 recorded flows in turn" },
	{ "tcp4-new", K_SYN, 0, IPPROTO_TCP, 0, "bare SYN, new flow each" },
	{ "tcp4-ackmiss", K_MISS, 0, IPPROTO_TCP, 0,
	  "ACK of an unknown flow (insert)" },
	{ "udp4-new", K_MISS, 0, IPPROTO_UDP, 0, "UDP, new flow each (insert)" },
	{ "tcp6-hit", K_HIT, 1, IPPROTO_TCP, 1, "ACK of one recorded flow" },
	{ "tcp6-new", K_SYN, 1, IPPROTO_TCP, 0, "bare SYN, new flow each" },
	{ "pass4", K_PASS, 0, IPPROTO_TCP, 1, "TCP to a non-VIP address" },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

struct opts {
	int cpu;
	int samples;
	int warmup;
	uint32_t repeat;
	uint64_t conntrack;
	bool quick;
};

struct bench {
	struct opts o;
	struct maps *m;
	struct bench_replay *skel;
	struct bench_slot *slots; /* mmapped slot map */
	uint32_t nslots_max;
	int wrapper_fd, target_fd;
	int xlb_fd, pass_fd, swap_fd;
	int ifindex;
	uint32_t next_client;
	uint8_t vip4[16], vip6[16], nonvip4[16];
	uint8_t be_addr[NVIPS * NBACKENDS][16]; /* by backend slot */
	uint32_t *table[NVIPS];			/* what was made live */
	struct flow *hitflows;			/* flows of the current K_HIT case */
	struct cstate st[NCASES];
	int fails;
};

static struct bench B;

/* ---- small helpers ---- */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "xdp_bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		die("'%s' failed (%d)", cmd, rc);
}

static void write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(val, f) < 0 || fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
}

static void parse_ip(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) != 1 && inet_pton(AF_INET6, s, out) != 1)
		die("bad address %s", s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Interquartile mean: the mean of the middle half. */
static double iqm(double *v, int n)
{
	int lo = n / 4, hi = n - n / 4;
	double s = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (int i = lo; i < hi; i++)
		s += v[i];
	return s / (hi - lo);
}

/* ---- frames ---- */

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4/IPv6 + TCP/UDP + 16 bytes of payload, valid checksums. */
static uint32_t build_frame(uint8_t *f, const struct flow *fl)
{
	uint32_t l3 = 14, iphl = fl->v6 ? 40 : 20, l4 = l3 + iphl;
	uint32_t l4len = (fl->proto == IPPROTO_TCP ? 20 : 8) + 16;
	uint32_t len = l4 + l4len, sum;
	uint8_t *ip = f + l3, *th = f + l4;

	memset(f, 0, len);
	memcpy(f, mac_lb, 6);
	memcpy(f + 6, mac_gw, 6);
	put16(f + 12, fl->v6 ? 0x86dd : 0x0800);
	if (!fl->v6) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(iphl + l4len));
		put16(ip + 4, 0x1234);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = fl->proto;
		memcpy(ip + 12, fl->saddr, 4);
		memcpy(ip + 16, fl->daddr, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = fl->proto;
		ip[7] = 64;
		memcpy(ip + 8, fl->saddr, 16);
		memcpy(ip + 24, fl->daddr, 16);
	}
	put16(th, fl->sport);
	put16(th + 2, fl->dport);
	if (fl->proto == IPPROTO_TCP) {
		put16(th + 4, 0x0001);			/* seq */
		put16(th + 8, fl->tcpflags & TH_ACK ? 1 : 0); /* ack */
		th[12] = 5 << 4;
		th[13] = fl->tcpflags;
		put16(th + 14, 65535);
	} else {
		put16(th + 4, (uint16_t)l4len);
	}
	memset(th + l4len - 16, 'x', 16);
	/* pseudo-header, then the segment */
	sum = fl->v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);
	sum += fl->proto + l4len;
	sum = csum_add(sum, th, l4len);
	put16(th + (fl->proto == IPPROTO_TCP ? 16 : 6), csum_fold(sum) ?: 0xffff);
	return len;
}

/* A client never used before in this run. */
static void new_flow(struct flow *fl, const struct bcase *c, uint8_t flags)
{
	uint32_t n = ++B.next_client;

	memset(fl, 0, sizeof(*fl));
	fl->v6 = c->v6;
	fl->proto = c->proto;
	fl->tcpflags = c->proto == IPPROTO_TCP ? flags : 0;
	fl->sport = (uint16_t)(1024 + n % 60000);
	fl->dport = 80;
	if (c->v6) {
		parse_ip("2001:db8:ff::", fl->saddr);
		fl->saddr[12] = (uint8_t)(n >> 24);
		fl->saddr[13] = (uint8_t)(n >> 16);
		fl->saddr[14] = (uint8_t)(n >> 8);
		fl->saddr[15] = (uint8_t)n;
		memcpy(fl->daddr, B.vip6, 16);
	} else {
		fl->saddr[0] = 10;
		fl->saddr[1] = (uint8_t)(n >> 16);
		fl->saddr[2] = (uint8_t)(n >> 8);
		fl->saddr[3] = (uint8_t)n;
		memcpy(fl->daddr, c->kind == K_PASS ? B.nonvip4 : B.vip4, 4);
	}
}

static void set_slot(uint32_t i, const struct flow *fl)
{
	B.slots[i].len = build_frame(B.slots[i].data, fl);
}

/* ---- the data plane, as xlbd sets it up ---- */

static void netns_setup(void)
{
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): %s (root needed)", strerror(errno));
	sh("ip link set lo up");
	sh("ip link add " IF_LB " address " MAC_LB " type veth peer name " IF_PEER
	   " address " MAC_GW);
	/* Quiet links: a frame the kernel sends on its own (ND, MLD, DAD)
	 * would reach xlb's program on xbench0 and count there. */
	write_file("/proc/sys/net/ipv6/conf/" IF_PEER "/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/" IF_LB "/addr_gen_mode", "1");
	write_file("/proc/sys/net/ipv6/conf/" IF_LB "/accept_dad", "0");
	write_file("/proc/sys/net/ipv6/conf/" IF_LB "/accept_ra", "0");
	sh("ip link set " IF_LB " up && ip link set " IF_PEER " up");
	sh("ip addr add 192.0.2.1/24 dev " IF_LB);
	sh("ip -6 addr add 2001:db8::1/64 dev " IF_LB " nodad");
	write_file("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	sh("ip neigh replace 192.0.2.254 lladdr " MAC_GW " dev " IF_LB
	   " nud permanent");
	sh("ip -6 neigh replace 2001:db8::fe lladdr " MAC_GW " dev " IF_LB
	   " nud permanent");
	sh("ip route add 198.51.100.0/24 via 192.0.2.254 dev " IF_LB);
	sh("ip -6 route add 2001:db8:1::/64 via 2001:db8::fe dev " IF_LB);
	B.ifindex = (int)if_nametoindex(IF_LB);
	if (!B.ifindex)
		die("no %s", IF_LB);
}

static void xaddr(struct xlb_addr *a, const uint8_t *bytes, int v6)
{
	memset(a, 0, sizeof(*a));
	a->family = v6 ? AF_INET6 : AF_INET;
	memcpy(a->bytes, bytes, v6 ? 16 : 4);
}

static void xlb_setup(void)
{
	struct maps_sizes sz = {
		.max_vips = 512,
		.max_backends = 4096,
		.conntrack_size = B.o.conntrack,
	};
	struct maglev_backend mb[NBACKENDS];
	struct maps_table t[NVIPS];
	struct xlb_addr a, s4, s6;
	uint8_t b[16];
	char err[512] = "";
	bool adopted;
	int ret;

	ret = maps_open(&B.m, NULL, &sz, &adopted, err, sizeof(err));
	if (ret)
		die("maps_open: %s (%s)", err, strerror(-ret));
	B.xlb_fd = maps_prog_fd(B.m);

	parse_ip("192.0.2.1", b);
	xaddr(&s4, b, 0);
	parse_ip("2001:db8::1", b);
	xaddr(&s6, b, 1);
	if (maps_set_rt(B.m, &s4, 32, &s6, 128, 0, (uint32_t)B.ifindex))
		die("maps_set_rt failed");

	for (int v = 0; v < NVIPS; v++) {
		int v6 = v == VIP_TCP6;

		xaddr(&a, v6 ? B.vip6 : B.vip4, v6);
		ret = maps_vip_put(B.m, &a, 80,
				   v == VIP_UDP4 ? IPPROTO_UDP : IPPROTO_TCP,
				   (uint32_t)v, 0);
		if (!ret && v != VIP_UDP4)
			ret = maps_vip_put(B.m, &a, 0, 0, (uint32_t)v,
					   XLB_VIP_F_ADDR_ONLY);
		if (ret)
			die("maps_vip_put: %s", strerror(-ret));
		memset(mb, 0, sizeof(mb));
		for (int i = 0; i < NBACKENDS; i++) {
			uint32_t slot = (uint32_t)(v * NBACKENDS + i);

			parse_ip(v6 ? "2001:db8:1::" : "198.51.100.0", b);
			if (v6)
				b[15] = (uint8_t)(i + 1);
			else
				b[3] = (uint8_t)(i + 1);
			memcpy(B.be_addr[slot], b, 16);
			xaddr(&a, b, v6);
			maps_backend_assign(B.m, slot, (uint32_t)v, &a, 1,
					    XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP);
			memcpy(mb[i].key, b, 16);
			mb[i].weight = 100;
			mb[i].id = slot;
		}
		B.table[v] = calloc(TABLE_M, sizeof(uint32_t));
		if (!B.table[v])
			die("out of memory");
		ret = maglev_build(mb, NBACKENDS, TABLE_M, XLB_NO_BACKEND,
				   B.table[v]);
		if (ret)
			die("maglev_build: %s", strerror(-ret));
		t[v].vip_id = (uint32_t)v;
		t[v].size = TABLE_M;
		t[v].slots = B.table[v];
	}
	ret = maps_tables_swap(B.m, t, NVIPS);
	if (ret)
		die("maps_tables_swap: %s", strerror(-ret));
	/* the live tables must hold what maglev_build made */
	for (int v = 0; v < NVIPS; v++) {
		for (uint32_t i = 0; i < TABLE_M; i += 257) {
			uint32_t slot, size;

			if (maps_table_lookup(B.m, (uint32_t)v, i, &slot, &size) ||
			    size != TABLE_M || slot != B.table[v][i]) {
				fprintf(stderr,
					"xdp_bench: VIP %d: live Maglev table "
					"differs from the one built (entry %u: "
					"%u, built %u, size %u)\n",
					v, i, slot, B.table[v][i], size);
				B.fails++;
				break;
			}
		}
	}
	ret = bpf_xdp_attach(B.ifindex, B.xlb_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (ret)
		die("attaching xlb to %s: %s", IF_LB, strerror(-ret));
}

static void harness_setup(void)
{
	size_t len;
	uint32_t k = 0;
	int ret, ifp;

	B.skel = bench_replay__open();
	if (!B.skel)
		die("cannot open bench_replay");
	if (bpf_map__value_size(B.skel->maps.slots) != sizeof(struct bench_slot))
		die("slot layout mismatch");
	/* every case has slots of its own */
	B.nslots_max = 0;
	for (size_t i = 0; i < NCASES; i++) {
		const struct bcase *c = &cases[i];
		struct cstate *st = &B.st[i];

		st->nslots = c->kind == K_HIT ? c->flows :
			     c->kind == K_SYN || c->kind == K_MISS ? B.o.repeat : 1;
		st->base = B.nslots_max;
		st->prog_fd = -1;
		B.nslots_max += st->nslots;
	}
	bpf_map__set_max_entries(B.skel->maps.slots, B.nslots_max);
	ret = bench_replay__load(B.skel);
	if (ret)
		die("loading bench_replay: %s", strerror(-ret));
	len = (size_t)B.nslots_max * sizeof(struct bench_slot);
	B.slots = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(B.skel->maps.slots), 0);
	if (B.slots == MAP_FAILED)
		die("mmap slots: %s", strerror(errno));
	B.wrapper_fd = bpf_program__fd(B.skel->progs.bench_replay);
	B.pass_fd = bpf_program__fd(B.skel->progs.bench_pass);
	B.swap_fd = bpf_program__fd(B.skel->progs.bench_macswap);
	for (size_t i = 0; i < NCASES; i++)
		B.st[i].prog_fd = cases[i].kind == K_FLOOR ? B.swap_fd : B.xlb_fd;
	B.target_fd = bpf_map__fd(B.skel->maps.target);
	B.skel->bss->ifindex = (uint32_t)B.ifindex;
	/* xlb first: a tail-call map takes its owner's program flavour */
	if (bpf_map_update_elem(B.target_fd, &k, &B.xlb_fd, BPF_ANY))
		die("xlb's program is not a tail-call target of the wrapper: %s",
		    strerror(errno));
	ifp = (int)if_nametoindex(IF_PEER);
	ret = bpf_xdp_attach(ifp, B.wrapper_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (ret)
		die("attaching the wrapper to %s: %s", IF_PEER, strerror(-ret));
}

static void set_target(int fd)
{
	uint32_t k = 0;

	if (bpf_map_update_elem(B.target_fd, &k, &fd, BPF_ANY))
		die("prog array update: %s", strerror(errno));
}

/* ---- one test run ---- */

struct result {
	int verdict;
	uint32_t ns;	    /* per repetition (the kernel's mean) */
	uint32_t last_slot; /* slot of the last repetition */
	uint32_t out_len;
	uint8_t out[OUT_BYTES];
};

static const char *fault_name(uint32_t why)
{
	static const char *n[] = { "?", "slot", "frame start out of range",
				   "adjust_head", "adjust_tail", "store_bytes",
				   "tail call" };

	return why < sizeof(n) / sizeof(n[0]) ? n[why] : "?";
}

/* R repetitions over slots base .. base + nslots - 1, from base + start. */
static void run(uint32_t base, uint32_t nslots, uint32_t start,
		uint32_t repeat, struct result *r)
{
	struct xdp_md ctx = { 0 };
	uint32_t first = base + start, faults = B.skel->bss->faults;
	int ret;

	B.skel->bss->slot_base = base;
	B.skel->bss->nslots = nslots;
	B.skel->bss->cursor = start;
	B.skel->bss->armed = 0;
	ctx.data_end = B.slots[first].len;
	ctx.ingress_ifindex = (uint32_t)B.ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = B.slots[first].data,
		    .data_size_in = B.slots[first].len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	ret = bpf_prog_test_run_opts(B.wrapper_fd, &o);
	if (ret)
		die("BPF_PROG_TEST_RUN: %s", strerror(errno));
	if (B.skel->bss->faults != faults)
		die("the wrapper failed %u of %u repetitions (last: %s)",
		    B.skel->bss->faults - faults, repeat,
		    fault_name(B.skel->bss->fault_why));
	r->verdict = (int)o.retval;
	r->ns = o.duration;
	r->out_len = o.data_size_out;
	r->last_slot = base + (start + (repeat - 1) % nslots) % nslots;
}

/* ---- checks ---- */

static const char *verdict_name(int v)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return v >= 0 && v <= 4 ? n[v] : "?";
}

static uint32_t flow_hash(const uint8_t *f, int v6)
{
	const uint8_t *ip = f + 14, *l4 = ip + (v6 ? 40 : 20);
	__be32 s[4], d[4];
	__be16 sp, dp;

	memcpy(&sp, l4, 2);
	memcpy(&dp, l4 + 2, 2);
	if (v6) {
		memcpy(s, ip + 8, 16);
		memcpy(d, ip + 24, 16);
		return xlb_flow_hash6(s, d, sp, dp, ip[6]);
	}
	memcpy(s, ip + 12, 4);
	memcpy(d, ip + 16, 4);
	return xlb_flow_hash4(s[0], d[0], sp, dp, ip[9]);
}

/* The backend slot xlb must pick for this input frame. */
static int expected_backend(const struct bcase *c, const uint8_t *f,
			    uint32_t *slot)
{
	int vip = c->v6 ? VIP_TCP6 : c->proto == IPPROTO_UDP ? VIP_UDP4 : VIP_TCP4;
	uint32_t h = flow_hash(f, c->v6);

	*slot = B.table[vip][xlb_slot_index(h, TABLE_M)];
	if (c->kind != K_HIT)
		return 0;
	/* a recorded flow: the connection table says the same */
	{
		const uint8_t *ip = f + 14, *l4 = ip + (c->v6 ? 40 : 20);
		struct xlb_ct_val v;
		int ret;

		if (c->v6) {
			struct xlb_ct6_key k = { .proto = c->proto };

			memcpy(k.saddr, ip + 8, 16);
			memcpy(k.daddr, ip + 24, 16);
			memcpy(&k.sport, l4, 2);
			memcpy(&k.dport, l4 + 2, 2);
			ret = maps_ct_lookup6(B.m, &k, &v);
		} else {
			struct xlb_ct4_key k = { .proto = c->proto };

			memcpy(&k.saddr, ip + 12, 4);
			memcpy(&k.daddr, ip + 16, 4);
			memcpy(&k.sport, l4, 2);
			memcpy(&k.dport, l4 + 2, 2);
			ret = maps_ct_lookup4(B.m, &k, &v);
		}
		if (ret || v.backend != *slot)
			return -1;
	}
	return 0;
}

/* NULL when the output of the last repetition is right, else why not. */
static const char *check(const struct bcase *c, const struct result *r)
{
	const struct bench_slot *in = &B.slots[r->last_slot];
	const uint8_t *o = r->out;
	uint32_t slot, olen;

	if (!c || c->kind == K_PASS) { /* NULL: calibration */
		if (r->verdict != XDP_PASS)
			return "verdict";
		if (r->out_len != in->len || memcmp(o, in->data, in->len))
			return "frame modified";
		return NULL;
	}
	if (c->kind == K_FLOOR) {
		if (r->verdict != XDP_TX)
			return "verdict";
		if (r->out_len != in->len || memcmp(o, in->data + 6, 6) ||
		    memcmp(o + 6, in->data, 6) ||
		    memcmp(o + 12, in->data + 12, in->len - 12))
			return "frame";
		return NULL;
	}
	if (r->verdict != XDP_TX)
		return "verdict";
	olen = c->v6 ? 40 : 20;
	if (r->out_len != in->len + olen)
		return "length";
	if (memcmp(o, mac_gw, 6) || memcmp(o + 6, mac_lb, 6))
		return "MACs";
	if (memcmp(o + 14 + olen, in->data + 14, in->len - 14))
		return "inner packet";
	if (expected_backend(c, in->data, &slot))
		return "connection table";
	if (c->v6) {
		if (o[12] != 0x86 || o[13] != 0xdd || (o[14] >> 4) != 6 ||
		    o[14 + 6] != IPPROTO_IPV6)
			return "outer header";
		if (memcmp(o + 14 + 24, B.be_addr[slot], 16))
			return "backend";
	} else {
		if (o[12] != 0x08 || o[13] != 0x00 || o[14] != 0x45 ||
		    o[14 + 9] != IPPROTO_IPIP)
			return "outer header";
		if (csum_fold(csum_add(0, o + 14, 20)) != 0)
			return "outer checksum";
		if (memcmp(o + 14 + 16, B.be_addr[slot], 4))
			return "backend";
	}
	return NULL;
}

/* ---- xlb's counters over a case ---- */

struct counters {
	uint64_t be_packets;
	uint64_t new_syn, new_nonsyn;
	uint64_t pass, drops;
};

static void read_counters(struct counters *k)
{
	uint64_t g[XLB_G__MAX];

	memset(k, 0, sizeof(*k));
	for (uint32_t s = 0; s < NVIPS * NBACKENDS; s++) {
		struct xlb_be_stats bs;

		if (!maps_backend_stats(B.m, s, &bs))
			k->be_packets += bs.packets;
	}
	for (uint32_t v = 0; v < NVIPS; v++) {
		struct xlb_vip_stats vs;

		if (!maps_vip_stats(B.m, v, &vs)) {
			k->new_syn += vs.new_syn;
			k->new_nonsyn += vs.new_nonsyn;
		}
	}
	if (!maps_global_stats(B.m, g)) {
		k->pass = g[XLB_G_PASS];
		for (int i = XLB_G_DROP_FRAGMENT; i < XLB_G__MAX; i++)
			k->drops += g[i];
	}
}

/* NULL when xlb counted n repetitions of this case as expected. */
static const char *check_counters(const struct bcase *c,
				  const struct counters *a,
				  const struct counters *b, uint64_t n)
{
	uint64_t fwd = c->kind == K_PASS ? 0 : n;

	if (b->drops != a->drops)
		return "drops counted";
	if (b->be_packets - a->be_packets != fwd)
		return "forwarded count";
	if (b->pass - a->pass != (c->kind == K_PASS ? n : 0))
		return "pass count";
	if (b->new_syn - a->new_syn != (c->kind == K_SYN ? n : 0))
		return "new SYN count";
	if (b->new_nonsyn - a->new_nonsyn != (c->kind == K_MISS ? n : 0))
		return "new flow count";
	return NULL;
}

/* ---- cases ---- */

/* Record the n flows of a K_HIT case as established: SYNs, then ACKs. */
static void prime(const struct bcase *c, const struct cstate *st)
{
	struct result r;

	set_target(B.xlb_fd);
	for (uint32_t i = 0; i < st->nslots; i++) {
		new_flow(&B.hitflows[i], c, TH_SYN);
		set_slot(st->base + i, &B.hitflows[i]);
	}
	run(st->base, st->nslots, 0, st->nslots, &r);
	for (uint32_t i = 0; i < st->nslots; i++) {
		B.hitflows[i].tcpflags = TH_ACK;
		set_slot(st->base + i, &B.hitflows[i]);
	}
	run(st->base, st->nslots, 0, st->nslots, &r);
	if (r.verdict != XDP_TX)
		die("%s: priming: verdict %s", c->name, verdict_name(r.verdict));
}

static void prepare(const struct bcase *c, const struct cstate *st)
{
	struct flow fl;

	if (c->kind == K_HIT) {
		prime(c, st);
	} else if (c->kind != K_SYN && c->kind != K_MISS) {
		new_flow(&fl, c, TH_ACK);
		set_slot(st->base, &fl);
	}
}

/*
 * One sample of a case: a calibration test run (the wrapper + XDP_PASS
 * over the same number of slots), then the case.  New-flow cases get new
 * flows in every sample.  K_HIT over many flows: the case and its
 * calibration walk the slots half a lap apart, so that both find their
 * slots equally cold.
 */
static void sample(const struct bcase *c, struct cstate *st, int s)
{
	uint32_t R = B.o.repeat, cstart = 0, kstart = 0;
	uint64_t lap = (uint64_t)(s + B.o.warmup) * R;
	struct counters a, b;
	struct result r;
	const char *bad;

	if (c->kind == K_SYN || c->kind == K_MISS) {
		struct flow fl;

		for (uint32_t i = 0; i < st->nslots; i++) {
			new_flow(&fl, c, c->kind == K_SYN ? TH_SYN : TH_ACK);
			set_slot(st->base + i, &fl);
		}
	}
	if (st->nslots > R) {
		kstart = (uint32_t)(lap % st->nslots);
		cstart = (uint32_t)((lap + st->nslots / 2) % st->nslots);
	}
	set_target(B.pass_fd);
	run(st->base, st->nslots, cstart, R, &r);
	bad = check(NULL, &r);
	if (bad)
		bad = "calibration";
	if (s >= 0)
		st->cal[s] = r.ns;

	set_target(st->prog_fd);
	if (st->prog_fd == B.xlb_fd)
		read_counters(&a);
	run(st->base, st->nslots, kstart, R, &r);
	if (st->prog_fd == B.xlb_fd) {
		read_counters(&b);
		if (!bad)
			bad = check_counters(c, &a, &b, R);
	}
	if (!bad)
		bad = check(c, &r);
	if (bad && !st->bad)
		st->bad = bad;
	st->verdict = r.verdict;
	if (s >= 0)
		st->raw[s] = r.ns;
}

/* ---- main ---- */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: xdp_bench [--quick] [--cpu N] [--samples N] [--repeat R]\n"
		"                 [--conntrack N]\n"
		"ns per packet of xlb's XDP program, warm (frames replayed by a\n"
		"wrapper program, BPF_PROG_TEST_RUN), net of the harness. Root.\n"
		"  --quick        11 samples of 512 repetitions (smoke test)\n"
		"  --cpu N        CPU to run on (default: the last)\n"
		"  --samples N    test runs per case (default 101)\n"
		"  --repeat R     repetitions per test run (default 2048)\n"
		"  --conntrack N  connection table size (default 2097152)\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "samples", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "conntrack", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int ch, samples = 0, repeat = 0;

	B.o.cpu = -1;
	B.o.conntrack = 2097152;
	while ((ch = getopt_long(argc, argv, "qc:s:r:n:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'q':
			B.o.quick = true;
			break;
		case 'c':
			B.o.cpu = atoi(optarg);
			break;
		case 's':
			samples = atoi(optarg);
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'n':
			B.o.conntrack = strtoull(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	B.o.samples = samples ? samples : B.o.quick ? 11 : 101;
	B.o.repeat = (uint32_t)(repeat ? repeat : B.o.quick ? 512 : 2048);
	B.o.warmup = B.o.quick ? 1 : 3;
	if (B.o.samples < 4 || B.o.samples > 100000 || B.o.repeat < 1 ||
	    B.o.repeat > 1u << 20 || B.o.conntrack < 1024)
		die("--samples 4..100000, --repeat 1..1048576, --conntrack >= 1024");
}

static void pin_cpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (B.o.cpu < 0)
		B.o.cpu = (int)(n > 0 ? n - 1 : 0);
	CPU_ZERO(&set);
	CPU_SET(B.o.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("cannot run on CPU %d: %s", B.o.cpu, strerror(errno));
}

struct figures {
	double raw_med, raw_iqm, cal_med, cal_iqm;
};

static void figures(const struct cstate *st, struct figures *f)
{
	f->raw_med = median(st->raw, B.o.samples);
	f->raw_iqm = iqm(st->raw, B.o.samples);
	f->cal_med = median(st->cal, B.o.samples);
	f->cal_iqm = iqm(st->cal, B.o.samples);
}

static void print_row(const struct bcase *c, const struct cstate *st,
		      const struct figures *f, double floor_iqm)
{
	double net_med = f->raw_med - f->cal_med;
	double net_iqm = f->raw_iqm - f->cal_iqm;

	printf("%-13s %-8s %-5s %7.1f %7.1f %7.1f %7.1f %7.1f",
	       c->name, verdict_name(st->verdict), st->bad ? "FAIL" : "ok",
	       f->raw_med, f->raw_iqm, f->cal_iqm, net_med, net_iqm);
	if (floor_iqm > 0 && net_iqm > 0.5)
		printf(" %6.2f", 1e3 / net_iqm);
	else
		printf(" %6s", "-");
	if (floor_iqm > 0)
		printf(" %6.2f", f->raw_iqm / floor_iqm);
	else
		printf(" %6s", "-");
	printf("  %s%s%s\n", c->what, st->bad ? ": " : "",
	       st->bad ? st->bad : "");
}

int main(int argc, char **argv)
{
	struct figures fl, f;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		die("needs root (network namespace, BPF)");
	pin_cpu();
	B.hitflows = calloc(SLOTS_64K, sizeof(struct flow));
	if (!B.hitflows)
		die("out of memory");
	for (size_t i = 0; i < NCASES; i++) {
		B.st[i].raw = calloc(B.o.samples, sizeof(double));
		B.st[i].cal = calloc(B.o.samples, sizeof(double));
		if (!B.st[i].raw || !B.st[i].cal)
			die("out of memory");
	}
	parse_ip("192.0.2.10", B.vip4);
	parse_ip("2001:db8::10", B.vip6);
	parse_ip("192.0.2.20", B.nonvip4);

	netns_setup();
	xlb_setup();
	harness_setup();

	printf("xdp_bench: xlb's XDP program, warm: frames replayed by a wrapper, "
	       "BPF_PROG_TEST_RUN\n"
	       "%d samples x %u repetitions per case (cases interleaved), CPU %d, "
	       "%d backends per VIP,\nM = %d, connection table %llu\n"
	       "ns per packet; calib = the wrapper alone (same slots), "
	       "net = case - calib;\n"
	       "Mpps = 1e3 / net iqm (one core, program only); "
	       "xfloor = raw iqm / floor raw iqm\n\n",
	       B.o.samples, B.o.repeat, B.o.cpu, NBACKENDS, TABLE_M,
	       (unsigned long long)B.o.conntrack);

	for (size_t i = 0; i < NCASES; i++)
		prepare(&cases[i], &B.st[i]);
	/* round robin: a burst of load elsewhere hits every case alike */
	for (int s = -B.o.warmup; s < B.o.samples; s++)
		for (size_t i = 0; i < NCASES; i++)
			sample(&cases[i], &B.st[i], s);

	printf("%-13s %-8s %-5s %7s %7s %7s %7s %7s %6s %6s\n", "case",
	       "verdict", "check", "raw med", "raw iqm", "calib", "net med",
	       "net iqm", "Mpps", "xfloor");
	figures(&B.st[0], &fl); /* cases[0] is the floor */
	for (size_t i = 0; i < NCASES; i++) {
		figures(&B.st[i], &f);
		print_row(&cases[i], &B.st[i], &f, i ? fl.raw_iqm : 0);
		if (B.st[i].bad)
			B.fails++;
	}
	printf("\ncalib is the wrapper (restore the frame) + tail call + "
	       "return XDP_PASS; floor net = %.1f ns\n",
	       fl.raw_iqm - fl.cal_iqm);
	if (B.fails) {
		printf("xdp_bench: FAILED: %d check(s)\n", B.fails);
		return 1;
	}
	printf("every output checked ok (last repetition of each sample; "
	       "xlb's counters over every repetition)\n");
	return 0;
}
