// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_dataplane.c - packet-level tests of the XDP balancer.
 *
 * The real program (kern/xlb.bpf.c) runs under BPF_PROG_TEST_RUN on frames
 * crafted here; its maps are filled through user/maps.c and tables built
 * with user/maglev.c, exactly as xlbd does.  Every output is decoded and
 * checked field by field; checksums are verified by recomputation.  The
 * expected backend of a flow comes from common/xlb_hash.h applied to the
 * table built here.
 *
 * The test runs standalone as root: it moves itself into a network
 * namespace of its own (unshare) and builds the veth/route/neighbour
 * topology that bpf_fib_lookup() resolves against (tests/lib/dp.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "testutil.h"
#include "dp.h"
#include "pkt.h"
#include "xlb_hash.h"
#include "xlb.skel.h"

static struct dp D;
static struct dp_out out;

/* VIPs and the backend slots given to them (see setup()). */
static struct dp_vip v_tcp4, v_udp4, v_tcp6, v_udp6, v_4in6, v_tb4, v_tb6,
	v_tb6c, v_tb46, v_nobe, v_notable, v_nn4, v_nn6, v_ct, v_icmp, v_src;

static const uint32_t s_tcp4[] = { 0, 1, 2, 3 };
static const uint32_t s_udp4[] = { 4, 5 };
static const uint32_t s_tcp6[] = { 6, 7, 8 };
static const uint32_t s_4in6[] = { 9, 10 };
static const uint32_t s_icmp[] = { 22, 23, 24 };
static const uint32_t s_src[] = { 25, 26, 27 };
static const uint32_t s_udp6[] = { 28, 29 };
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SLOT_TB4 11
#define SLOT_TB6 12
#define SLOT_TB6C 13
#define SLOT_NN4 14
#define SLOT_NN6 15
#define SLOT_CT0 16 /* 16..21 belong to v_ct */
#define SLOT_TB46 30

static const char *const clients4[] = {
	"192.0.2.100", "192.0.2.101", "192.0.2.102", "192.0.2.103",
	"192.0.2.104", "192.0.2.105", "192.0.2.106", "192.0.2.107",
};
static const char *const clients6[] = {
	"2001:db8:c::100", "2001:db8:c::101", "2001:db8:c::102",
	"2001:db8:c::103", "2001:db8:c::104", "2001:db8:c::105",
	"2001:db8:c::106", "2001:db8:c::107",
};

/* Every flow gets a fresh client port: the connection table is shared by
 * all cases, so no case sees another's records. */
static uint16_t next_port(void)
{
	static uint16_t p = 20000;

	return p++;
}

static const char *client(const struct dp_vip *v, unsigned int i)
{
	return v->family == AF_INET6 ? clients6[i % N(clients6)] :
				       clients4[i % N(clients4)];
}

/* A packet of a flow from a client to VIP v. */
static struct pkt_spec flow(const struct dp_vip *v, const char *cl,
			    uint16_t sport, uint8_t flags)
{
	struct pkt_spec s = {
		.family = v->family,
		.saddr = cl,
		.daddr = v->text,
		.proto = v->proto,
		.sport = sport,
		.dport = v->port,
		.tcp_flags = v->proto == IPPROTO_TCP ? flags : 0,
		.seq = 1000,
		.ack_seq = 2000,
		.frag = v->family == AF_INET ? PKT_IP_DF : 0,
		.payload_len = 40,
	};

	return s;
}

static size_t build(const struct pkt_spec *s, uint8_t *buf)
{
	size_t n = pkt_build(s, buf, PKT_MAX);

	if (!n)
		DP_FAIL("cannot build the test frame");
	return n;
}

static bool run(const uint8_t *in, size_t n)
{
	int ret;

	if (!n)
		return false;
	ret = dp_run(&D, in, n, &out);
	if (ret)
		DP_FAIL("BPF_PROG_TEST_RUN: %s", strerror(-ret));
	return !ret;
}

/* s is forwarded, encapsulated, to backend slot. */
static bool expect_fwd_to(const struct dp_vip *v, const struct pkt_spec *s,
			  uint32_t slot)
{
	uint8_t in[PKT_MAX];
	size_t n = build(s, in);

	if (!run(in, n))
		return false;
	return dp_check_encap(&D, in, n, &out, slot, dp_flow_hash(v, s));
}

/* s is forwarded to the backend v's live table gives its flow. */
static bool expect_fwd(const struct dp_vip *v, const struct pkt_spec *s)
{
	return expect_fwd_to(v, s, dp_vip_choice(v, dp_flow_hash(v, s)));
}

static bool expect_untouched(const struct pkt_spec *s, uint32_t act)
{
	uint8_t in[PKT_MAX];
	size_t n = build(s, in);

	if (!run(in, n))
		return false;
	return dp_check_untouched(in, n, &out, act);
}

static int ct_get(const struct pkt_spec *s, struct xlb_ct_val *v)
{
	uint8_t sa[16], da[16];

	pkt_pton(s->saddr, sa);
	pkt_pton(s->daddr, da);
	if (s->family == AF_INET6) {
		struct xlb_ct6_key k = { .sport = htons(s->sport),
					 .dport = htons(s->dport),
					 .proto = s->proto };

		memcpy(k.saddr, sa, 16);
		memcpy(k.daddr, da, 16);
		return maps_ct_lookup6(D.m, &k, v);
	}
	struct xlb_ct4_key k = { .sport = htons(s->sport),
				 .dport = htons(s->dport),
				 .proto = s->proto };

	memcpy(&k.saddr, sa, 4);
	memcpy(&k.daddr, da, 4);
	return maps_ct_lookup4(D.m, &k, v);
}

/* The flow's record points at slot with the slot's current generation. */
static bool expect_record(const struct pkt_spec *s, uint32_t slot)
{
	struct xlb_ct_val v;
	char g[96], e[96];

	if (ct_get(s, &v)) {
		DP_FAIL("no connection-table record, expected one on %s",
			dp_slot_str(&D, slot, e, sizeof(e)));
		return false;
	}
	if (v.backend != slot) {
		DP_FAIL("record backend %s, expected %s",
			dp_slot_str(&D, v.backend, g, sizeof(g)),
			dp_slot_str(&D, slot, e, sizeof(e)));
		return false;
	}
	return DP_EXPECT_U("record generation", v.gen, D.be_gen[slot]);
}

static bool expect_no_record(const struct pkt_spec *s)
{
	struct xlb_ct_val v;
	char g[96];
	int ret = ct_get(s, &v);

	return DP_EXPECT(ret == -ENOENT,
			 "connection-table record on %s, expected none",
			 ret ? "(lookup error)" :
			       dp_slot_str(&D, v.backend, g, sizeof(g)));
}

static void vip_stats(const struct dp_vip *v, struct xlb_vip_stats *st)
{
	if (maps_vip_stats(D.m, v->id, st))
		DP_FAIL("maps_vip_stats(%u) failed", v->id);
}

static void expect_vip_delta(const struct dp_vip *v,
			     const struct xlb_vip_stats *before, uint64_t syn,
			     uint64_t nonsyn, uint64_t drops)
{
	struct xlb_vip_stats now;

	vip_stats(v, &now);
	DP_EXPECT_U("vip new_syn delta", now.new_syn - before->new_syn, syn);
	DP_EXPECT_U("vip new_nonsyn delta", now.new_nonsyn - before->new_nonsyn,
		    nonsyn);
	DP_EXPECT_U("vip drop_packets delta",
		    now.drop_packets - before->drop_packets, drops);
}

static void table(struct dp_vip *v, uint32_t m, const uint32_t *slots,
		  size_t n)
{
	int ret = dp_vip_table(&D, v, m, slots, NULL, n);

	if (ret)
		DP_FAIL("dp_vip_table(vip %u): %s", v->id, strerror(-ret));
}

/* ------------------------------------------------------------------ */
/* fixture */

static int setup(int ifindex)
{
	static const struct {
		struct dp_vip *v;
		uint32_t id;
		const char *addr;
		uint16_t port;
		uint8_t proto;
		uint32_t flags;
	} vips[] = {
		{ &v_tcp4, 0, "203.0.113.10", 80, IPPROTO_TCP, 0 },
		{ &v_udp4, 1, "203.0.113.10", 53, IPPROTO_UDP, 0 },
		{ &v_tcp6, 2, "2001:db8:f::10", 443, IPPROTO_TCP, 0 },
		{ &v_udp6, 14, "2001:db8:f::10", 53, IPPROTO_UDP, 0 },
		{ &v_4in6, 3, "203.0.113.20", 80, IPPROTO_TCP, 0 },
		{ &v_tb4, 4, "203.0.113.30", 80, IPPROTO_TCP, 0 },
		{ &v_tb6, 5, "2001:db8:f::30", 80, IPPROTO_TCP, 0 },
		{ &v_tb6c, 6, "2001:db8:f::31", 80, IPPROTO_TCP, 0 },
		{ &v_tb46, 15, "203.0.113.31", 80, IPPROTO_TCP, 0 },
		{ &v_nobe, 7, "203.0.113.40", 80, IPPROTO_TCP, 0 },
		{ &v_notable, 8, "203.0.113.41", 80, IPPROTO_TCP, 0 },
		{ &v_nn4, 9, "203.0.113.50", 80, IPPROTO_TCP, 0 },
		{ &v_nn6, 10, "2001:db8:f::50", 80, IPPROTO_TCP, 0 },
		{ &v_ct, 11, "203.0.113.60", 80, IPPROTO_TCP, 0 },
		{ &v_icmp, 12, "203.0.113.80", 80, IPPROTO_TCP, 0 },
		{ &v_src, 13, "203.0.113.90", 80, IPPROTO_TCP,
		  XLB_VIP_F_HASH_SRC_IP },
	};
	static const struct {
		uint32_t slot, vip;
		const char *addr;
	} bes[] = {
		{ 0, 0, "198.51.100.11" },  { 1, 0, "198.51.100.12" },
		{ 2, 0, "198.51.100.13" },  { 3, 0, "198.51.100.14" },
		{ 4, 1, "198.51.100.21" },  { 5, 1, "198.51.100.22" },
		{ 6, 2, "2001:db8:1::11" }, { 7, 2, "2001:db8:1::12" },
		{ 8, 2, "2001:db8:1::13" }, { 9, 3, "2001:db8:1::21" },
		{ 10, 3, "2001:db8:1::22" },
		{ SLOT_TB4, 4, "198.51.100.140" },
		{ SLOT_TB6, 5, "2001:db8:1:0:8000::1" },
		{ SLOT_TB6C, 6, "2001:db8:1:0:4000::1" },
		{ SLOT_NN4, 9, "198.51.100.70" },
		{ SLOT_NN6, 10, "2001:db8:2::1" },
		{ 16, 11, "198.51.100.31" }, { 17, 11, "198.51.100.32" },
		{ 18, 11, "198.51.100.33" }, { 19, 11, "198.51.100.34" },
		{ 20, 11, "198.51.100.35" }, { 21, 11, "198.51.100.36" },
		{ 22, 12, "198.51.100.41" }, { 23, 12, "198.51.100.42" },
		{ 24, 12, "198.51.100.43" }, { 25, 13, "198.51.100.51" },
		{ 26, 13, "198.51.100.52" }, { 27, 13, "198.51.100.53" },
		{ 28, 14, "2001:db8:1::31" }, { 29, 14, "2001:db8:1::32" },
		{ SLOT_TB46, 15, "2001:db8:1:0:8000::2" },
	};
	uint32_t one;
	int ret;

	ret = dp_open(&D, ifindex, 64, 256, 65536);
	if (ret)
		return ret;
	for (size_t i = 0; i < N(bes); i++)
		dp_backend(&D, bes[i].slot, bes[i].vip, bes[i].addr, 0);
	for (size_t i = 0; i < N(vips); i++) {
		ret = dp_vip_add(&D, vips[i].v, vips[i].id, vips[i].addr,
				 vips[i].port, vips[i].proto, vips[i].flags);
		if (ret) {
			fprintf(stderr, "maps_vip_put %s: %s\n", vips[i].addr,
				strerror(-ret));
			return ret;
		}
	}
	/* a realistic table size for the main VIPs, small ones elsewhere */
	ret = dp_vip_table(&D, &v_tcp4, 65537, s_tcp4, NULL, N(s_tcp4));
	ret = ret ?: dp_vip_table(&D, &v_udp4, 251, s_udp4, NULL, N(s_udp4));
	ret = ret ?: dp_vip_table(&D, &v_tcp6, 65537, s_tcp6, NULL, N(s_tcp6));
	ret = ret ?: dp_vip_table(&D, &v_udp6, 251, s_udp6, NULL, N(s_udp6));
	ret = ret ?: dp_vip_table(&D, &v_4in6, 251, s_4in6, NULL, N(s_4in6));
	ret = ret ?: dp_vip_table(&D, &v_icmp, 251, s_icmp, NULL, N(s_icmp));
	ret = ret ?: dp_vip_table(&D, &v_src, 251, s_src, NULL, N(s_src));
	one = SLOT_TB4;
	ret = ret ?: dp_vip_table(&D, &v_tb4, 7, &one, NULL, 1);
	one = SLOT_TB6;
	ret = ret ?: dp_vip_table(&D, &v_tb6, 7, &one, NULL, 1);
	one = SLOT_TB6C;
	ret = ret ?: dp_vip_table(&D, &v_tb6c, 7, &one, NULL, 1);
	one = SLOT_TB46;
	ret = ret ?: dp_vip_table(&D, &v_tb46, 7, &one, NULL, 1);
	one = SLOT_NN4;
	ret = ret ?: dp_vip_table(&D, &v_nn4, 7, &one, NULL, 1);
	one = SLOT_NN6;
	ret = ret ?: dp_vip_table(&D, &v_nn6, 7, &one, NULL, 1);
	ret = ret ?: dp_vip_table(&D, &v_nobe, 7, NULL, NULL, 0);
	if (ret)
		fprintf(stderr, "building tables: %s\n", strerror(-ret));
	/* v_notable: a VIP whose table was never written */
	return ret;
}

/* ------------------------------------------------------------------ */
/* encapsulation */

static void test_tcp4_ipip(void)
{
	dp_case = "ipv4/tcp to vip";
	for (unsigned int i = 0; i < 32; i++) {
		struct pkt_spec s = flow(&v_tcp4, client(&v_tcp4, i),
					 next_port(), PKT_TCP_ACK);
		struct dp_snap g;

		/* DSCP/ECN and DF must be copied to the outer header */
		s.tos = (uint8_t)(i * 37);
		s.frag = i & 1 ? PKT_IP_DF : 0;
		s.ttl = (uint8_t)(10 + i);
		s.payload_len = i * 13;
		dp_snap(&D, &g);
		if (!expect_fwd(&v_tcp4, &s))
			break;
		dp_expect_global(&D, &g, -1);
	}
}

static void test_encap_source_prefix(void)
{
	uint32_t seen4 = 0, seen6 = 0;

	dp_case = "encap_source prefix";
	if (dp_set_rt(&D, "192.0.2.16", 28, "2001:db8::100", 120, 1000)) {
		DP_FAIL("maps_set_rt failed");
		return;
	}
	for (unsigned int i = 0; i < 32; i++) {
		struct pkt_spec s = flow(&v_tcp4, client(&v_tcp4, i),
					 next_port(), PKT_TCP_ACK);
		struct pkt_spec s6 = flow(&v_tcp6, client(&v_tcp6, i),
					  next_port(), PKT_TCP_ACK);

		if (!expect_fwd(&v_tcp4, &s))
			break;
		seen4 |= 1u << (out.buf[14 + 15] & 0xf);
		if (!expect_fwd(&v_tcp6, &s6))
			break;
		seen6 |= 1u << (out.buf[14 + 8 + 15] & 0x1f);
	}
	/* the host bits really vary with the flow */
	DP_EXPECT(__builtin_popcount(seen4) > 4,
		  "only %d distinct IPv4 outer sources over 32 flows",
		  __builtin_popcount(seen4));
	DP_EXPECT(__builtin_popcount(seen6) > 4,
		  "only %d distinct IPv6 outer sources over 32 flows",
		  __builtin_popcount(seen6));

	dp_case = "encap_source ipv6 /64";
	dp_set_rt(&D, "192.0.2.1", 32, "2001:db8::", 64, 1000);
	for (unsigned int i = 0; i < 8; i++) {
		struct pkt_spec s6 = flow(&v_tcp6, client(&v_tcp6, i),
					  next_port(), PKT_TCP_ACK);
		struct pkt_spec s = flow(&v_4in6, client(&v_4in6, i),
					 next_port(), PKT_TCP_ACK);

		if (!expect_fwd(&v_tcp6, &s6) || !expect_fwd(&v_4in6, &s))
			break;
	}
	dp_set_rt(&D, DP_LB4, 32, DP_LB6, 128, 1000);
}

static void test_ip6ip6(void)
{
	dp_case = "ipv6/tcp to vip";
	for (unsigned int i = 0; i < 32; i++) {
		struct pkt_spec s = flow(&v_tcp6, client(&v_tcp6, i),
					 next_port(), PKT_TCP_ACK);
		struct dp_snap g;

		s.tos = (uint8_t)(i * 37);
		s.flow_label = i * 0x1235;
		s.ttl = (uint8_t)(5 + i);
		s.payload_len = i * 17;
		dp_snap(&D, &g);
		if (!expect_fwd(&v_tcp6, &s))
			break;
		dp_expect_global(&D, &g, -1);
	}
}

static void test_4in6(void)
{
	dp_case = "ipv4 vip, ipv6 backend";
	for (unsigned int i = 0; i < 16; i++) {
		struct pkt_spec s = flow(&v_4in6, client(&v_4in6, i),
					 next_port(), PKT_TCP_ACK);

		s.tos = (uint8_t)(0xb8 | (i & 3));
		s.frag = i & 1 ? PKT_IP_DF : 0;
		if (!expect_fwd(&v_4in6, &s))
			break;
	}
}

static void test_udp(void)
{
	const struct dp_vip *vs[] = { &v_udp4, &v_udp6 };

	for (size_t k = 0; k < N(vs); k++) {
		const struct dp_vip *v = vs[k];

		dp_case = k ? "ipv6/udp flow" : "ipv4/udp flow";
		for (unsigned int i = 0; i < 16; i++) {
			struct pkt_spec s = flow(v, client(v, i),
						 next_port(), 0);
			uint32_t slot = dp_vip_choice(v, dp_flow_hash(v, &s));
			struct xlb_ct_val cv;

			s.payload_len = 20 + i * 50;
			if (!expect_fwd_to(v, &s, slot) ||
			    !expect_record(&s, slot))
				break;
			/* a UDP record carries its last-packet time */
			if (!ct_get(&s, &cv))
				DP_EXPECT(cv.atime != 0, "udp record atime 0");
			if (!expect_fwd_to(v, &s, slot))
				break;
		}
	}
}

/* Frames below 60 bytes arrive padded: the padding rides along after the
 * inner packet, the outer length covers the IP packet only. */
static void test_padded_frame(void)
{
	const struct dp_vip *vs[] = { &v_tcp4, &v_udp4 };

	dp_case = "ethernet-padded minimum frame";
	for (size_t k = 0; k < N(vs); k++) {
		struct pkt_spec s = flow(vs[k], client(vs[k], k), next_port(),
					 PKT_TCP_ACK);
		uint8_t in[PKT_MAX];
		size_t n;

		s.payload_len = 0;
		n = build(&s, in);
		if (!DP_EXPECT(n < 60, "frame of %zu bytes: no padding", n))
			return;
		memset(in + n, 0, 60 - n);
		if (run(in, 60))
			dp_check_encap(&D, in, 60, &out,
				       dp_vip_choice(vs[k],
						     dp_flow_hash(vs[k], &s)),
				       dp_flow_hash(vs[k], &s));
	}
}

static void test_vlan(void)
{
	const struct dp_vip *vs[] = { &v_tcp4, &v_tcp6, &v_4in6 };

	dp_case = "vlan-tagged vip packet";
	for (size_t k = 0; k < N(vs); k++) {
		for (unsigned int i = 0; i < 8; i++) {
			struct pkt_spec s = flow(vs[k], client(vs[k], i),
						 next_port(), PKT_TCP_ACK);

			s.vlan = true;
			s.vlan_tci = (uint16_t)(0x2000 | (100 + i));
			if (!expect_fwd(vs[k], &s))
				return;
		}
	}
}

static void test_src_ip_hash(void)
{
	dp_case = "src_ip hash";
	for (unsigned int i = 0; i < 8; i++) {
		uint32_t slot = XLB_NO_BACKEND;

		for (unsigned int j = 0; j < 4; j++) {
			struct pkt_spec s = flow(&v_src, client(&v_src, i),
						 next_port(), PKT_TCP_ACK);
			uint32_t h = xlb_src_hash4(inet_addr(s.saddr));

			if (slot == XLB_NO_BACKEND)
				slot = dp_vip_choice(&v_src, h);
			if (!DP_EXPECT_U("src_ip hash",
					 dp_flow_hash(&v_src, &s), h) ||
			    !expect_fwd_to(&v_src, &s, slot))
				return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* pass and drop */

static void test_not_vip_pass(void)
{
	struct {
		const char *name;
		struct pkt_spec s;
	} c[] = {
		{ "non-vip address", flow(&v_tcp4, "192.0.2.100", 1234, 0) },
		{ "wrong port", flow(&v_tcp4, "192.0.2.100", 1234, 0) },
		{ "wrong protocol (udp to tcp vip)",
		  flow(&v_tcp4, "192.0.2.100", 1234, 0) },
		{ "wrong protocol (tcp to udp vip)",
		  flow(&v_udp4, "192.0.2.100", 1234, 0) },
		{ "other protocol (gre) to vip address",
		  flow(&v_tcp4, "192.0.2.100", 1234, 0) },
		{ "ipv6 non-vip address",
		  flow(&v_tcp6, "2001:db8:c::1", 1, 0) },
		{ "ipv6 wrong port", flow(&v_tcp6, "2001:db8:c::1", 1, 0) },
		{ "ipv6 wrong protocol", flow(&v_tcp6, "2001:db8:c::1", 1, 0) },
		{ "non-vip fragment", flow(&v_tcp4, "192.0.2.100", 1, 0) },
		{ "non-vip ipv4 options", flow(&v_tcp4, "192.0.2.100", 1, 0) },
		{ "non-vip bad ihl", flow(&v_tcp4, "192.0.2.100", 1, 0) },
		{ "non-vip icmp echo", flow(&v_tcp4, "192.0.2.100", 1, 0) },
		{ "non-vip vlan-tagged", flow(&v_tcp4, "192.0.2.100", 1, 0) },
		{ "ipv6 non-vip fragment",
		  flow(&v_tcp6, "2001:db8:c::1", 1, 0) },
		{ "arp", { .ethertype = PKT_ETH_P_ARP, .payload_len = 28 } },
		{ "ipv6 non-vip icmpv6 echo",
		  flow(&v_tcp6, "2001:db8:c::1", 1, 0) },
	};

	c[0].s.daddr = "203.0.113.99";
	c[1].s.dport = 81;
	c[2].s.proto = IPPROTO_UDP;
	c[3].s.proto = IPPROTO_TCP;
	c[3].s.dport = 53;
	c[4].s.proto = 47;
	c[5].s.daddr = "2001:db8:f::99";
	c[6].s.dport = 444;
	c[7].s.proto = IPPROTO_UDP;
	c[8].s.daddr = "203.0.113.99";
	c[8].s.frag = PKT_IP_MF;
	c[9].s.daddr = "203.0.113.99";
	c[9].s.opt_len = 8;
	c[10].s.daddr = "203.0.113.99";
	c[10].s.ihl = 4;
	c[11].s.daddr = "203.0.113.99";
	c[11].s.proto = IPPROTO_ICMP;
	c[11].s.icmp_type = 8;
	c[12].s.daddr = "203.0.113.99";
	c[12].s.vlan = true;
	c[12].s.vlan_tci = 7;
	c[13].s.daddr = "2001:db8:f::99";
	c[13].s.n_ext = 1;
	c[13].s.ext[0] = (struct pkt_ext6){ .type = IPPROTO_FRAGMENT,
					    .more = true };
	c[15].s.daddr = "2001:db8:f::99";
	c[15].s.proto = IPPROTO_ICMPV6;
	c[15].s.icmp_type = 128;

	for (size_t i = 0; i < N(c); i++) {
		struct dp_snap g;

		dp_case = c[i].name;
		dp_snap(&D, &g);
		expect_untouched(&c[i].s, XDP_PASS);
		dp_expect_global(&D, &g, XLB_G_PASS, 1, -1);
	}
}

/* Cut a frame at every length: before the IP destination address is
 * complete the kernel judges it (pass); after, it is clearly for a VIP,
 * and broken: dropped as malformed.  Either way untouched. */
static void truncate_all(const char *name, const struct pkt_spec *s,
			 bool vip)
{
	uint8_t in[PKT_MAX];
	size_t n = build(s, in);
	struct pkt_l2 l2;
	size_t fixed;
	char cname[160];

	if (!n)
		return;
	pkt_parse_l2(in, n, &l2);
	fixed = l2.l3off + (s->family == AF_INET6 ? 40 : 20);
	/* BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header */
	for (size_t cut = 14; cut < n; cut++) {
		bool pass = !vip || cut < fixed;
		struct dp_snap g;

		snprintf(cname, sizeof(cname), "%s cut at %zu of %zu", name,
			 cut, n);
		dp_case = cname;
		dp_snap(&D, &g);
		if (!run(in, cut))
			return;
		if (!dp_check_untouched(in, cut, &out,
					pass ? XDP_PASS : XDP_DROP))
			return;
		if (!dp_expect_global(&D, &g, pass ? XLB_G_PASS :
						     XLB_G_DROP_MALFORMED,
				      1, -1))
			return;
	}
}

static void test_truncated(void)
{
	struct pkt_spec s;

	s = flow(&v_tcp4, "192.0.2.100", next_port(), PKT_TCP_ACK);
	truncate_all("ipv4/tcp", &s, true);
	s.vlan = true;
	s.vlan_tci = 100;
	truncate_all("vlan ipv4/tcp", &s, true);
	s = flow(&v_udp4, "192.0.2.100", next_port(), 0);
	truncate_all("ipv4/udp", &s, true);
	s = flow(&v_tcp6, "2001:db8:c::1", next_port(), PKT_TCP_ACK);
	truncate_all("ipv6/tcp", &s, true);
	s.vlan = true;
	s.vlan_tci = 100;
	truncate_all("vlan ipv6/tcp", &s, true);
	s = flow(&v_udp6, "2001:db8:c::1", next_port(), 0);
	truncate_all("ipv6/udp", &s, true);
	s = flow(&v_tcp6, "2001:db8:c::1", next_port(), PKT_TCP_ACK);
	s.n_ext = 2;
	s.ext[0].type = IPPROTO_HOPOPTS;
	s.ext[1].type = IPPROTO_DSTOPTS;
	truncate_all("ipv6 hop-by-hop + dstopts/tcp", &s, true);
	s = flow(&v_icmp, "192.0.2.100", 0, 0);
	s.proto = IPPROTO_ICMP;
	s.icmp_type = 8;
	truncate_all("ipv4 icmp echo to vip", &s, true);
	s = flow(&v_tcp6, "2001:db8:c::1", 0, 0);
	s.proto = IPPROTO_ICMPV6;
	s.icmp_type = 128;
	truncate_all("ipv6 icmpv6 echo to vip", &s, true);
	/* not for a VIP: the kernel judges every cut */
	s = flow(&v_tcp4, "192.0.2.100", next_port(), PKT_TCP_ACK);
	s.daddr = "203.0.113.99";
	truncate_all("non-vip ipv4/tcp", &s, false);
	s = flow(&v_tcp6, "2001:db8:c::1", next_port(), PKT_TCP_ACK);
	s.daddr = "2001:db8:f::99";
	truncate_all("non-vip ipv6/tcp", &s, false);
}

static void expect_drop(const char *name, const struct pkt_spec *s, int ctr)
{
	struct dp_snap g;

	dp_case = name;
	dp_snap(&D, &g);
	if (expect_untouched(s, XDP_DROP))
		dp_expect_global(&D, &g, ctr, 1, -1);
}

static void test_malformed(void)
{
	struct pkt_spec s;
	char name[64];

	for (int ihl = 0; ihl < 5; ihl++) {
		s = flow(&v_tcp4, "192.0.2.100", next_port(), PKT_TCP_ACK);
		s.ihl = ihl ? ihl : PKT_IHL_ZERO;
		snprintf(name, sizeof(name), "ihl %d to vip", ihl);
		expect_drop(name, &s, XLB_G_DROP_MALFORMED);
	}
	s = flow(&v_tcp4, "192.0.2.100", next_port(), PKT_TCP_ACK);
	s.version = 5;
	expect_drop("ip version 5 to vip", &s, XLB_G_DROP_MALFORMED);
	s = flow(&v_tcp6, "2001:db8:c::1", next_port(), PKT_TCP_ACK);
	s.version = 7;
	expect_drop("ipv6 version 7 to vip", &s, XLB_G_DROP_MALFORMED);

	/* the IP length says less than the headers need */
	{
		uint8_t in[PKT_MAX];
		size_t n;
		struct dp_snap g;

		s = flow(&v_tcp4, "192.0.2.100", next_port(), PKT_TCP_ACK);
		n = build(&s, in);
		in[14 + 2] = 0;
		in[14 + 3] = 30; /* tot_len 30 < 20 + 20 */
		in[14 + 10] = in[14 + 11] = 0;
		{
			uint16_t c =
				pkt_csum_fold(pkt_csum_add(0, in + 14, 20));

			in[14 + 10] = c >> 8;
			in[14 + 11] = c & 0xff;
		}
		dp_case = "ipv4 tot_len shorter than tcp header";
		dp_snap(&D, &g);
		if (run(in, n) &&
		    dp_check_untouched(in, n, &out, XDP_DROP))
			dp_expect_global(&D, &g, XLB_G_DROP_MALFORMED, 1, -1);
	}

	for (int k = 1; k <= 2; k++) {
		s = flow(&v_tcp4, "192.0.2.100", next_port(), PKT_TCP_ACK);
		s.opt_len = (size_t)k * 4;
		snprintf(name, sizeof(name), "ipv4 options (%d bytes) to vip",
			 k * 4);
		expect_drop(name, &s, XLB_G_DROP_IPV4_OPTIONS);
	}
}

static void test_fragments(void)
{
	struct pkt_spec s;

	s = flow(&v_tcp4, "192.0.2.100", next_port(), PKT_TCP_ACK);
	s.frag = PKT_IP_MF;
	expect_drop("ipv4 first fragment", &s, XLB_G_DROP_FRAGMENT);
	s.frag = PKT_IP_MF | 185;
	expect_drop("ipv4 middle fragment", &s, XLB_G_DROP_FRAGMENT);
	s.frag = 185;
	s.proto = 200; /* no L4 header in a non-first fragment */
	expect_drop("ipv4 last fragment", &s, XLB_G_DROP_FRAGMENT);
	s = flow(&v_udp4, "192.0.2.100", next_port(), 0);
	s.frag = PKT_IP_MF;
	expect_drop("ipv4/udp first fragment", &s, XLB_G_DROP_FRAGMENT);

	s = flow(&v_tcp6, "2001:db8:c::1", next_port(), PKT_TCP_ACK);
	s.n_ext = 1;
	s.ext[0] = (struct pkt_ext6){ .type = IPPROTO_FRAGMENT, .more = true };
	expect_drop("ipv6 first fragment", &s, XLB_G_DROP_FRAGMENT);
	s.ext[0] = (struct pkt_ext6){ .type = IPPROTO_FRAGMENT,
				      .frag_off = 100 };
	expect_drop("ipv6 last fragment", &s, XLB_G_DROP_FRAGMENT);
	s.n_ext = 2;
	s.ext[0] = (struct pkt_ext6){ .type = IPPROTO_HOPOPTS };
	s.ext[1] = (struct pkt_ext6){ .type = IPPROTO_FRAGMENT,
				      .frag_off = 100, .more = true };
	expect_drop("ipv6 fragment after hop-by-hop", &s, XLB_G_DROP_FRAGMENT);
}

static void test_ipv6_ext(void)
{
	static const struct {
		const char *name;
		size_t n;
		struct pkt_ext6 ext[4];
	} ok[] = {
		{ "ipv6 hop-by-hop skipped", 1, { { IPPROTO_HOPOPTS } } },
		{ "ipv6 destination options skipped", 1,
		  { { IPPROTO_DSTOPTS } } },
		{ "ipv6 routing, segments left 0", 1, { { IPPROTO_ROUTING } } },
		{ "ipv6 hop-by-hop + dstopts + routing", 3,
		  { { IPPROTO_HOPOPTS },
		    { IPPROTO_DSTOPTS },
		    { IPPROTO_ROUTING } } },
		/* the longest chain RFC 8200 orders without a fragment */
		{ "ipv6 hop-by-hop + dstopts + routing + dstopts", 4,
		  { { IPPROTO_HOPOPTS },
		    { IPPROTO_DSTOPTS },
		    { IPPROTO_ROUTING },
		    { IPPROTO_DSTOPTS } } },
	};
	struct pkt_spec s;

	for (size_t i = 0; i < N(ok); i++) {
		const struct dp_vip *vs[] = { &v_tcp6, &v_udp6 };

		for (size_t k = 0; k < N(vs); k++) {
			struct dp_snap g;

			s = flow(vs[k], "2001:db8:c::1", next_port(),
				 PKT_TCP_ACK);
			s.n_ext = ok[i].n;
			memcpy(s.ext, ok[i].ext, sizeof(ok[i].ext));
			dp_case = ok[i].name;
			dp_snap(&D, &g);
			if (expect_fwd(vs[k], &s))
				dp_expect_global(&D, &g, -1);
		}
	}
	s = flow(&v_tcp6, "2001:db8:c::1", next_port(), PKT_TCP_ACK);
	s.n_ext = 1;
	s.ext[0] = (struct pkt_ext6){ .type = IPPROTO_ROUTING, .seg_left = 1 };
	expect_drop("ipv6 routing, segments left 1", &s,
		    XLB_G_DROP_IPV6_ROUTING);
	s.n_ext = 2;
	s.ext[0] = (struct pkt_ext6){ .type = IPPROTO_HOPOPTS };
	s.ext[1] = (struct pkt_ext6){ .type = IPPROTO_ROUTING, .seg_left = 3 };
	expect_drop("ipv6 hop-by-hop + routing, segments left 3", &s,
		    XLB_G_DROP_IPV6_ROUTING);
}

static void test_no_backend(void)
{
	const struct dp_vip *vs[] = { &v_nobe, &v_notable };
	const char *names[] = { "vip with an empty table",
				"vip without a table" };

	for (size_t k = 0; k < N(vs); k++) {
		struct pkt_spec s = flow(vs[k], "192.0.2.100", next_port(),
					 PKT_TCP_ACK);
		struct xlb_vip_stats vst;

		vip_stats(vs[k], &vst);
		expect_drop(names[k], &s, XLB_G_DROP_NO_BACKEND);
		s.tcp_flags = PKT_TCP_SYN;
		expect_drop(names[k], &s, XLB_G_DROP_NO_BACKEND);
		/* dropped packets are not new flows: only the drops count */
		expect_vip_delta(vs[k], &vst, 0, 0, 2);
	}
}

/* ------------------------------------------------------------------ */
/* backend selection and the connection table */

static void test_same_flow_same_backend(void)
{
	const struct dp_vip *vs[] = { &v_tcp4, &v_tcp6, &v_udp4 };

	dp_case = "same flow, same backend";
	for (size_t k = 0; k < N(vs); k++) {
		for (unsigned int i = 0; i < 48; i++) {
			struct pkt_spec s = flow(vs[k], client(vs[k], i),
						 next_port(), PKT_TCP_ACK);
			uint32_t slot = dp_vip_choice(vs[k],
						      dp_flow_hash(vs[k], &s));

			for (unsigned int j = 0; j < 4; j++) {
				s.payload_len = j * 100;
				s.seq = 1000 + j * 100;
				if (!expect_fwd_to(vs[k], &s, slot))
					return;
			}
		}
	}
}

/* Find a fresh flow of v's whose choice under table a is slot_a (or any
 * when XLB_NO_BACKEND) and under table b differs from it. */
static struct pkt_spec find_flow(const struct dp_vip *v, const uint32_t *ta,
				 const uint32_t *tb, uint32_t m,
				 uint32_t slot_a)
{
	struct pkt_spec s;

	for (int tries = 0; tries < 10000; tries++) {
		uint32_t h, a, b;

		s = flow(v, client(v, (unsigned)tries), next_port(),
			 PKT_TCP_ACK);
		h = dp_flow_hash(v, &s);
		a = dp_table_choice(ta, m, h);
		b = tb ? dp_table_choice(tb, m, h) : XLB_NO_BACKEND;
		if ((slot_a == XLB_NO_BACKEND || a == slot_a) && a != b)
			return s;
	}
	DP_FAIL("no flow found with the wanted table choices");
	return s;
}

static void test_syn_semantics(void)
{
	const uint32_t set1[] = { 16, 17, 18 }, set2[] = { 19, 20 };
	uint32_t t1[251], t2[251];
	struct xlb_vip_stats vst;
	struct pkt_spec s;
	uint32_t x, y;

	for (uint32_t i = 16; i <= 21; i++)
		dp_backend_flags(&D, i, XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP);
	if (dp_build_table(&D, 251, set1, NULL, 3, t1) ||
	    dp_build_table(&D, 251, set2, NULL, 2, t2)) {
		DP_FAIL("maglev_build failed");
		return;
	}
	table(&v_ct, 251, set1, 3);
	s = find_flow(&v_ct, t1, t2, 251, XLB_NO_BACKEND);
	x = dp_table_choice(t1, 251, dp_flow_hash(&v_ct, &s));
	y = dp_table_choice(t2, 251, dp_flow_hash(&v_ct, &s));

	dp_case = "bare syn";
	s.tcp_flags = PKT_TCP_SYN;
	vip_stats(&v_ct, &vst);
	if (!expect_fwd_to(&v_ct, &s, x))
		return;
	expect_no_record(&s);
	expect_vip_delta(&v_ct, &vst, 1, 0, 0);

	dp_case = "first ack after syn";
	s.tcp_flags = PKT_TCP_ACK;
	vip_stats(&v_ct, &vst);
	expect_fwd_to(&v_ct, &s, x);
	expect_record(&s, x);
	expect_vip_delta(&v_ct, &vst, 0, 1, 0);

	dp_case = "second ack (recorded)";
	vip_stats(&v_ct, &vst);
	expect_fwd_to(&v_ct, &s, x);
	expect_vip_delta(&v_ct, &vst, 0, 0, 0);

	/* New table: the recorded flow stays, a bare SYN takes the table's
	 * choice and removes the record, the next ACK records that. */
	table(&v_ct, 251, set2, 2);
	dp_case = "ack after table change (recorded)";
	expect_fwd_to(&v_ct, &s, x);
	dp_case = "bare syn on a recorded flow";
	s.tcp_flags = PKT_TCP_SYN;
	vip_stats(&v_ct, &vst);
	expect_fwd_to(&v_ct, &s, y);
	expect_no_record(&s);
	expect_vip_delta(&v_ct, &vst, 1, 0, 0);
	dp_case = "ack after the syn removed the record";
	s.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	vip_stats(&v_ct, &vst);
	expect_fwd_to(&v_ct, &s, y);
	expect_record(&s, y);
	expect_vip_delta(&v_ct, &vst, 0, 1, 0);

	dp_case = "syn+ack is not a bare syn";
	s = find_flow(&v_ct, t2, NULL, 251, XLB_NO_BACKEND);
	s.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	vip_stats(&v_ct, &vst);
	expect_fwd(&v_ct, &s);
	expect_record(&s, dp_vip_choice(&v_ct, dp_flow_hash(&v_ct, &s)));
	expect_vip_delta(&v_ct, &vst, 0, 1, 0);

	dp_case = "ipv6 bare syn records nothing";
	s = flow(&v_tcp6, "2001:db8:c::1", next_port(), PKT_TCP_SYN);
	expect_fwd(&v_tcp6, &s);
	expect_no_record(&s);
	s.tcp_flags = PKT_TCP_ACK;
	expect_fwd(&v_tcp6, &s);
	expect_record(&s, dp_vip_choice(&v_tcp6, dp_flow_hash(&v_tcp6, &s)));
	s.tcp_flags = PKT_TCP_SYN;
	expect_fwd(&v_tcp6, &s);
	expect_no_record(&s);
}

#define NFLOWS 24

static void test_table_swap(void)
{
	const uint32_t set1[] = { 16, 17, 18 }, set2[] = { 19, 20 };
	struct pkt_spec old[NFLOWS];
	uint32_t where[NFLOWS];
	uint32_t t1[251];
	int on16 = 0;

	for (uint32_t i = 16; i <= 21; i++)
		dp_backend_flags(&D, i, XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP);
	table(&v_ct, 251, set1, 3);
	memcpy(t1, v_ct.table, sizeof(t1));

	dp_case = "flows recorded on the first table";
	for (int i = 0; i < NFLOWS; i++) {
		old[i] = flow(&v_ct, client(&v_ct, (unsigned)i), next_port(),
			      PKT_TCP_ACK);
		where[i] = dp_table_choice(t1, 251,
					   dp_flow_hash(&v_ct, &old[i]));
		on16 += where[i] == 16;
		if (!expect_fwd_to(&v_ct, &old[i], where[i]))
			return;
	}
	if (!on16) /* make sure slot 16 holds a flow for the down case */
		for (int tries = 0; tries < 1000 && !on16; tries++) {
			old[0] = flow(&v_ct, client(&v_ct, 0), next_port(),
				      PKT_TCP_ACK);
			where[0] = dp_table_choice(
				t1, 251, dp_flow_hash(&v_ct, &old[0]));
			on16 = where[0] == 16;
			if (on16)
				expect_fwd_to(&v_ct, &old[0], 16);
		}

	/* swap: the old backends stay ALIVE but leave the table (draining) */
	table(&v_ct, 251, set2, 2);
	dp_case = "recorded flow after a table swap";
	for (int i = 0; i < NFLOWS; i++)
		if (!expect_fwd_to(&v_ct, &old[i], where[i]))
			return;
	dp_case = "new flow after a table swap";
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = flow(&v_ct, client(&v_ct, (unsigned)i),
					 next_port(),
					 i & 1 ? PKT_TCP_SYN : PKT_TCP_ACK);
		uint32_t slot = dp_vip_choice(&v_ct, dp_flow_hash(&v_ct, &s));

		if (!DP_EXPECT(slot == 19 || slot == 20,
			       "table choice slot %u outside the new set",
			       slot) ||
		    !expect_fwd_to(&v_ct, &s, slot))
			return;
	}

	/* slot 16 goes down: its flows are re-hashed onto the table, the
	 * others stay (slots 17, 18 are still draining) */
	dp_backend_flags(&D, 16, XLB_BE_F_HEALTH_DOWN);
	dp_case = "flow of a backend that is no longer alive";
	for (int i = 0; i < NFLOWS; i++) {
		uint32_t now = where[i];

		if (where[i] == 16)
			now = dp_vip_choice(&v_ct,
					    dp_flow_hash(&v_ct, &old[i]));
		if (!expect_fwd_to(&v_ct, &old[i], now))
			return;
		expect_record(&old[i], now);
		where[i] = now;
	}
	/* back up: the re-hashed flows stay where they went */
	dp_backend_flags(&D, 16, XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP);
	dp_case = "re-hashed flow after its old backend is back";
	for (int i = 0; i < NFLOWS; i++)
		if (!expect_fwd_to(&v_ct, &old[i], where[i]))
			return;

	/* weight 0 / draining / disabled of a backend in the table: only
	 * ALIVE matters to the data plane; disabled = not ALIVE */
	dp_backend_flags(&D, 17, 0);
	dp_backend_flags(&D, 18, 0);
	dp_case = "flows of disabled backends";
	for (int i = 0; i < NFLOWS; i++) {
		uint32_t now = where[i];

		if (now == 17 || now == 18)
			now = dp_vip_choice(&v_ct,
					    dp_flow_hash(&v_ct, &old[i]));
		if (!expect_fwd_to(&v_ct, &old[i], now))
			return;
	}
	dp_backend_flags(&D, 17, XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP);
	dp_backend_flags(&D, 18, XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP);
}

static void test_slot_reuse(void)
{
	const uint32_t set1[] = { 16, 17 }, set2[] = { 17 };
	const uint32_t set3[] = { 16, 17 };
	uint32_t t1[251];
	struct pkt_spec h;

	for (uint32_t i = 16; i <= 21; i++)
		dp_backend_flags(&D, i, XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP);
	table(&v_ct, 251, set1, 2);
	memcpy(t1, v_ct.table, sizeof(t1));
	h = find_flow(&v_ct, t1, NULL, 251, 16);
	dp_case = "flow recorded on a slot";
	if (!expect_fwd_to(&v_ct, &h, 16) || !expect_record(&h, 16))
		return;

	/* the control plane's order: table without the slot (the swap is the
	 * barrier), release, give the slot to another backend (gen + 1) */
	table(&v_ct, 251, set2, 1);
	dp_backend_release(&D, 16);
	dp_backend(&D, 16, 11, "198.51.100.39", 0);
	dp_case = "flow of a reused slot (new generation)";
	if (!expect_fwd_to(&v_ct, &h, 17))
		return;
	expect_record(&h, 17);

	/* the new owner takes new flows once in a table */
	table(&v_ct, 251, set3, 2);
	dp_case = "new owner of a reused slot";
	h = find_flow(&v_ct, v_ct.table, NULL, 251, 16);
	expect_fwd_to(&v_ct, &h, 16);

	/* put the original owner back for later cases */
	dp_backend_release(&D, 16);
	dp_backend(&D, 16, 11, "198.51.100.31", 0);
}

/* The connection table's clock: bpf_ktime_get_coarse_ns() is
 * CLOCK_MONOTONIC_COARSE, kept in units of 2^XLB_ATIME_SHIFT ns. */
static uint32_t coarse_units(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)(((uint64_t)ts.tv_sec * 1000000000ull +
			   (uint64_t)ts.tv_nsec) >> XLB_ATIME_SHIFT);
}

/* A UDP record unused for 30 s no longer holds its flow. */
static void test_udp_idle(void)
{
	struct xlb_ct4_key k = { .proto = IPPROTO_UDP };
	int fd = bpf_map__fd(maps_skel(D.m)->maps.ct4);
	uint32_t t1[251], x, y, other;
	struct xlb_ct_val cv;
	struct pkt_spec s;

	table(&v_udp4, 251, s_udp4, N(s_udp4));
	memcpy(t1, v_udp4.table, sizeof(t1));
	s = find_flow(&v_udp4, t1, NULL, 251, XLB_NO_BACKEND);
	x = dp_table_choice(t1, 251, dp_flow_hash(&v_udp4, &s));
	other = x == s_udp4[0] ? s_udp4[1] : s_udp4[0];
	dp_case = "udp flow recorded";
	if (!expect_fwd_to(&v_udp4, &s, x) || !expect_record(&s, x))
		goto out;
	/* x leaves the table (still alive): the flow stays while fresh */
	table(&v_udp4, 251, &other, 1);
	y = dp_vip_choice(&v_udp4, dp_flow_hash(&v_udp4, &s));
	dp_case = "udp flow, 29 s idle";
	inet_pton(AF_INET, s.saddr, &k.saddr);
	inet_pton(AF_INET, s.daddr, &k.daddr);
	k.sport = htons(s.sport);
	k.dport = htons(s.dport);
	if (ct_get(&s, &cv)) {
		DP_FAIL("no record");
		goto out;
	}
	/* age the record as 29 / 31 s of idle time would (coarse clock,
	 * as bpf_ktime_get_coarse_ns) */
	cv.atime = coarse_units() - (uint32_t)(29000000000ull >>
						XLB_ATIME_SHIFT);
	if (bpf_map_update_elem(fd, &k, &cv, BPF_EXIST)) {
		DP_FAIL("cannot age the record: %s", strerror(errno));
		goto out;
	}
	expect_fwd_to(&v_udp4, &s, x);
	dp_case = "udp flow, 31 s idle";
	cv.atime = coarse_units() - (uint32_t)(31000000000ull >>
						XLB_ATIME_SHIFT);
	if (bpf_map_update_elem(fd, &k, &cv, BPF_EXIST)) {
		DP_FAIL("cannot age the record: %s", strerror(errno));
		goto out;
	}
	expect_fwd_to(&v_udp4, &s, y);
	expect_record(&s, y);
	if (!ct_get(&s, &cv))
		DP_EXPECT(coarse_units() - cv.atime < XLB_ATIME_REFRESH_UNITS,
			  "re-recorded flow's atime %u not refreshed (now %u)",
			  cv.atime, coarse_units());
out:
	table(&v_udp4, 251, s_udp4, N(s_udp4));
}

/* ------------------------------------------------------------------ */
/* ICMP */

static void check_echo_reply(const uint8_t *in, size_t n)
{
	struct pkt_l2 il2, ol2;
	struct pkt_ip iip, oip;
	uint16_t got, want;
	long off;

	if (out.act != XDP_TX) {
		DP_FAIL("verdict %s, expected XDP_TX", dp_act_str(out.act));
		return;
	}
	if (!DP_EXPECT_U("frame length", out.len, n))
		return;
	pkt_parse_l2(in, n, &il2);
	pkt_parse_ip(in, n, il2.l3off, &iip);
	pkt_parse_l2(out.buf, out.len, &ol2);
	dp_expect_mac("dmac", ol2.dmac, il2.smac);
	dp_expect_mac("smac", ol2.smac, il2.dmac);
	DP_EXPECT_X("ethertype", ol2.ethertype, il2.ethertype);
	if (pkt_parse_ip(out.buf, out.len, ol2.l3off, &oip)) {
		DP_FAIL("reply IP header does not parse");
		return;
	}
	DP_EXPECT_U("ip version", oip.version, iip.version);
	DP_EXPECT_U("ip length", oip.len, iip.len);
	DP_EXPECT_U("ttl", oip.ttl, 64);
	DP_EXPECT_U("protocol", oip.l4proto, iip.l4proto);
	dp_expect_addr("saddr", oip.family, oip.saddr, iip.daddr);
	dp_expect_addr("daddr", oip.family, oip.daddr, iip.saddr);
	if (oip.family == AF_INET)
		DP_EXPECT(pkt_ipv4_csum_ok(out.buf + oip.off),
			  "ip checksum 0x%04x does not verify", oip.check);
	DP_EXPECT_U("icmp type", out.buf[oip.l4off],
		    oip.family == AF_INET ? 0 : 129);
	DP_EXPECT_U("icmp code", out.buf[oip.l4off + 1], 0);
	DP_EXPECT(pkt_l4_csum_ok(out.buf, out.len, oip.off, &got, &want),
		  "icmp checksum 0x%04x, expected 0x%04x", got, want);
	off = pkt_first_diff(out.buf + oip.l4off + 4, in + iip.l4off + 4,
			     n - iip.l4off - 4);
	DP_EXPECT(off < 0, "echo id/sequence/data changed at byte %ld", off);
}

static void test_icmp_echo(void)
{
	const struct dp_vip *vs[] = { &v_tcp4, &v_tcp6, &v_nobe };

	for (size_t k = 0; k < N(vs); k++) {
		for (int vlan = 0; vlan < 2; vlan++) {
			struct pkt_spec s = flow(vs[k], client(vs[k], k), 0, 0);
			uint8_t in[PKT_MAX];
			struct dp_snap g;
			size_t n;

			s.proto = vs[k]->family == AF_INET ? IPPROTO_ICMP :
							     IPPROTO_ICMPV6;
			s.icmp_type = vs[k]->family == AF_INET ? 8 : 128;
			s.icmp_rest = 0x4242u << 16 | (uint32_t)(k + 1);
			s.payload_len = 56;
			s.ttl = 57;
			s.vlan = vlan;
			s.vlan_tci = 5;
			dp_case = vs[k]->family == AF_INET ? "icmp echo" :
							     "icmpv6 echo";
			n = build(&s, in);
			dp_snap(&D, &g);
			if (!run(in, n))
				return;
			check_echo_reply(in, n);
			dp_expect_global(&D, &g, XLB_G_ICMP_ECHO, 1, -1);
		}
	}
}

static size_t echo_frame(const struct dp_vip *v, uint8_t *in)
{
	struct pkt_spec s = flow(v, client(v, 1), 0, 0);

	s.proto = v->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	s.icmp_type = v->family == AF_INET ? 8 : 128;
	s.payload_len = 16;
	return build(&s, in);
}

static void echo_expect(const char *name, const uint8_t *in, size_t n,
			bool answered)
{
	struct dp_snap g;

	dp_case = name;
	dp_snap(&D, &g);
	if (!run(in, n))
		return;
	if (answered) {
		check_echo_reply(in, n);
		dp_expect_global(&D, &g, XLB_G_ICMP_ECHO, 1, -1);
	} else {
		dp_check_untouched(in, n, &out, XDP_DROP);
		dp_expect_global(&D, &g, XLB_G_ICMP_RATELIMITED, 1,
				 XLB_G_DROP_ICMP_RATELIMIT, 1, -1);
	}
}

static void test_icmp_rate_limit(void)
{
	uint8_t in4[PKT_MAX], in6[PKT_MAX];
	size_t n4 = echo_frame(&v_tcp4, in4), n6 = echo_frame(&v_tcp6, in6);

	/* one token per second, a bucket of one: this CPU's bucket holds at
	 * most one token when the rate drops to 1 */
	dp_set_rt(&D, DP_LB4, 32, DP_LB6, 128, 1);
	echo_expect("icmp_rate 1: first echo", in4, n4, true);
	echo_expect("icmp_rate 1: second echo", in4, n4, false);
	echo_expect("icmp_rate 1: ipv6 echo, same bucket", in6, n6, false);
	usleep(1100 * 1000);
	echo_expect("icmp_rate 1: ipv6 echo a second later", in6, n6, true);
	echo_expect("icmp_rate 1: ipv6 echo right after", in6, n6, false);
	/* 0 = no limit */
	dp_set_rt(&D, DP_LB4, 32, DP_LB6, 128, 0);
	for (int i = 0; i < 5; i++) {
		echo_expect("icmp_rate 0: no limit", in4, n4, true);
		echo_expect("icmp_rate 0: no limit", in6, n6, true);
	}
	/* back to the default; let the bucket fill for later cases */
	dp_set_rt(&D, DP_LB4, 32, DP_LB6, 128, 1000);
	usleep(1100 * 1000);
}

/* An ICMP error from a router about a packet the backend sent to the
 * client (VIP -> client): it belongs to the flow client -> VIP. */
static struct pkt_spec icmp_error(const struct pkt_spec *fl, uint8_t *quote,
				  size_t *qlen, uint8_t type, uint8_t code,
				  uint32_t rest)
{
	struct pkt_spec q = *fl, e = { 0 };
	size_t n;

	q.saddr = fl->daddr;
	q.daddr = fl->saddr;
	q.sport = fl->dport;
	q.dport = fl->sport;
	q.payload_len = 1200;
	q.tcp_flags = PKT_TCP_ACK;
	n = pkt_build_ip(&q, quote, PKT_MAX);
	/* IPv4: the header and 8 bytes (RFC 792); IPv6: as much as fits */
	*qlen = fl->family == AF_INET ? 28 : (n < 1232 - 48 ? n : 1232 - 48);
	*qlen = *qlen > 200 ? 200 : *qlen;
	e.family = fl->family;
	e.saddr = fl->family == AF_INET ? "192.0.2.200" : "2001:db8::200";
	e.daddr = fl->daddr;
	e.proto = fl->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	e.icmp_type = type;
	e.icmp_code = code;
	e.icmp_rest = rest;
	e.payload = quote;
	e.payload_len = *qlen;
	e.tos = 0xc0;
	return e;
}

static void test_icmp_error(void)
{
	uint8_t quote[PKT_MAX], in[PKT_MAX];
	uint32_t t1[251], x, set2[2];
	struct pkt_spec fl, e;
	struct xlb_vip_stats vst;
	struct dp_snap g;
	size_t qlen, n;
	int j = 0;

	table(&v_icmp, 251, s_icmp, N(s_icmp));
	memcpy(t1, v_icmp.table, sizeof(t1));
	fl = find_flow(&v_icmp, t1, NULL, 251, XLB_NO_BACKEND);
	x = dp_table_choice(t1, 251, dp_flow_hash(&v_icmp, &fl));
	dp_case = "flow before the icmp error";
	if (!expect_fwd_to(&v_icmp, &fl, x))
		return;
	/* the flow's backend leaves the table: the error must still reach
	 * it (the record), not the table's choice */
	for (size_t i = 0; i < N(s_icmp); i++)
		if (s_icmp[i] != x)
			set2[j++] = s_icmp[i];
	table(&v_icmp, 251, set2, 2);

	dp_case = "icmp frag needed about a recorded flow";
	e = icmp_error(&fl, quote, &qlen, 3, 4, 1400);
	n = build(&e, in);
	vip_stats(&v_icmp, &vst);
	dp_snap(&D, &g);
	if (run(in, n) &&
	    dp_check_encap(&D, in, n, &out, x, dp_flow_hash(&v_icmp, &fl)))
		dp_expect_global(&D, &g, XLB_G_ICMP_ERR_FWD, 1, -1);
	expect_vip_delta(&v_icmp, &vst, 0, 0, 0);

	dp_case = "icmp time exceeded about a recorded flow";
	e = icmp_error(&fl, quote, &qlen, 11, 0, 0);
	n = build(&e, in);
	if (run(in, n))
		dp_check_encap(&D, in, n, &out, x, dp_flow_hash(&v_icmp, &fl));

	/* no record: the table's choice, and nothing is recorded */
	dp_case = "icmp error about an unrecorded flow";
	fl = flow(&v_icmp, "192.0.2.103", next_port(), PKT_TCP_ACK);
	e = icmp_error(&fl, quote, &qlen, 3, 4, 1400);
	n = build(&e, in);
	vip_stats(&v_icmp, &vst);
	if (run(in, n))
		dp_check_encap(&D, in, n, &out,
			       dp_vip_choice(&v_icmp,
					     dp_flow_hash(&v_icmp, &fl)),
			       dp_flow_hash(&v_icmp, &fl));
	expect_no_record(&fl);
	expect_vip_delta(&v_icmp, &vst, 0, 0, 0);

	/* IPv6: packet too big about a recorded flow */
	dp_case = "icmpv6 packet too big about a recorded flow";
	fl = flow(&v_tcp6, "2001:db8:c::5", next_port(), PKT_TCP_ACK);
	x = dp_vip_choice(&v_tcp6, dp_flow_hash(&v_tcp6, &fl));
	if (!expect_fwd_to(&v_tcp6, &fl, x))
		return;
	e = icmp_error(&fl, quote, &qlen, 2, 0, 1280);
	n = build(&e, in);
	dp_snap(&D, &g);
	if (run(in, n) &&
	    dp_check_encap(&D, in, n, &out, x, dp_flow_hash(&v_tcp6, &fl)))
		dp_expect_global(&D, &g, XLB_G_ICMP_ERR_FWD, 1, -1);
	dp_case = "icmpv6 destination unreachable about a flow";
	e = icmp_error(&fl, quote, &qlen, 1, 4, 0);
	n = build(&e, in);
	if (run(in, n))
		dp_check_encap(&D, in, n, &out, x, dp_flow_hash(&v_tcp6, &fl));

	dp_case = "icmp port unreachable about a udp flow";
	fl = flow(&v_udp4, "192.0.2.104", next_port(), 0);
	e = icmp_error(&fl, quote, &qlen, 3, 3, 0);
	n = build(&e, in);
	if (run(in, n))
		dp_check_encap(&D, in, n, &out,
			       dp_vip_choice(&v_udp4,
					     dp_flow_hash(&v_udp4, &fl)),
			       dp_flow_hash(&v_udp4, &fl));
}

/* ICMP fragmentation needed / packet too big sent back to the client. */
static void check_too_big(const uint8_t *in, size_t n, uint32_t mtu)
{
	struct pkt_l2 il2, ol2;
	struct pkt_ip iip, oip;
	uint16_t got, want;
	const uint8_t *ic;
	size_t quote;
	bool v6;
	long off;

	pkt_parse_l2(in, n, &il2);
	pkt_parse_ip(in, n, il2.l3off, &iip);
	v6 = iip.family == AF_INET6;
	quote = v6 ? 128 : 64;
	if (out.act != XDP_TX) {
		DP_FAIL("verdict %s, expected XDP_TX", dp_act_str(out.act));
		return;
	}
	if (!DP_EXPECT_U("frame length", out.len,
			 il2.l3off + (v6 ? 40 : 20) + 8 + quote))
		return;
	pkt_parse_l2(out.buf, out.len, &ol2);
	dp_expect_mac("dmac", ol2.dmac, il2.smac);
	dp_expect_mac("smac", ol2.smac, il2.dmac);
	DP_EXPECT_U("vlan tag present", ol2.vlan, il2.vlan);
	DP_EXPECT_X("ethertype", ol2.ethertype, il2.ethertype);
	if (pkt_parse_ip(out.buf, out.len, ol2.l3off, &oip)) {
		DP_FAIL("reply IP header does not parse");
		return;
	}
	DP_EXPECT_U("ip version", oip.version, v6 ? 6 : 4);
	DP_EXPECT_U("ip length", oip.len, (v6 ? 40 : 20) + 8 + quote);
	DP_EXPECT_U("ttl", oip.ttl, 64);
	DP_EXPECT_U("protocol", oip.proto, v6 ? 58 : 1);
	dp_expect_addr("saddr (the vip)", oip.family, oip.saddr, iip.daddr);
	dp_expect_addr("daddr (the client)", oip.family, oip.daddr, iip.saddr);
	if (!v6) {
		DP_EXPECT_U("ihl", oip.hlen, 20);
		DP_EXPECT_X("frag_off MF/offset", oip.frag & 0x3fff, 0);
		DP_EXPECT(pkt_ipv4_csum_ok(out.buf + oip.off),
			  "ip checksum 0x%04x does not verify", oip.check);
	}
	ic = out.buf + oip.l4off;
	DP_EXPECT_U("icmp type", ic[0], v6 ? 2 : 3);
	DP_EXPECT_U("icmp code", ic[1], v6 ? 0 : 4);
	if (v6)
		DP_EXPECT_U("ptb mtu", (uint32_t)ic[4] << 24 | ic[5] << 16 |
					       ic[6] << 8 | ic[7],
			    mtu);
	else
		DP_EXPECT_U("frag-needed mtu (unused 0)",
			    (uint32_t)ic[4] << 24 | ic[5] << 16 | ic[6] << 8 |
				    ic[7],
			    mtu);
	DP_EXPECT(pkt_l4_csum_ok(out.buf, out.len, oip.off, &got, &want),
		  "icmp checksum 0x%04x, expected 0x%04x", got, want);
	off = pkt_first_diff(ic + 8, in + il2.l3off, quote);
	DP_EXPECT(off < 0, "quoted packet differs at byte %ld", off);
}

static void too_big_case(const char *name, const struct dp_vip *v,
			 uint32_t slot, size_t len, bool df, int expect,
			 uint32_t mtu, bool vlan)
{
	struct pkt_spec s = flow(v, client(v, 3), next_port(), PKT_TCP_ACK);
	uint8_t in[PKT_MAX];
	struct dp_snap g;
	size_t n;

	dp_case = name;
	s.l3_len = len;
	s.vlan = vlan;
	s.vlan_tci = 9;
	if (v->family == AF_INET)
		s.frag = df ? PKT_IP_DF : 0;
	n = build(&s, in);
	dp_snap(&D, &g);
	if (!run(in, n))
		return;
	switch (expect) {
	case XLB_G_TOO_BIG:
		check_too_big(in, n, mtu);
		dp_expect_global(&D, &g, XLB_G_TOO_BIG, 1, -1);
		break;
	case XLB_G_DROP_TOO_BIG:
		dp_check_untouched(in, n, &out, XDP_DROP);
		dp_expect_global(&D, &g, XLB_G_DROP_TOO_BIG, 1, -1);
		break;
	default: /* fits: forwarded */
		if (slot == XLB_NO_BACKEND)
			slot = dp_vip_choice(v, dp_flow_hash(v, &s));
		dp_check_encap(&D, in, n, &out, slot, dp_flow_hash(v, &s));
		dp_expect_global(&D, &g, -1);
	}
}

static void test_too_big(void)
{
	/* route MTU 1400, IPIP: 1380 fits, 1381 does not */
	too_big_case("ipv4 1380 bytes, route mtu 1400", &v_tb4, SLOT_TB4, 1380,
		     true, -1, 0, false);
	too_big_case("ipv4 1381 bytes, DF", &v_tb4, SLOT_TB4, 1381, true,
		     XLB_G_TOO_BIG, 1380, false);
	too_big_case("ipv4 1400 bytes, DF, vlan", &v_tb4, SLOT_TB4, 1400, true,
		     XLB_G_TOO_BIG, 1380, true);
	too_big_case("ipv4 1400 bytes, DF clear", &v_tb4, SLOT_TB4, 1400, false,
		     XLB_G_DROP_TOO_BIG, 0, false);
	/* the device MTU (1500) toward the other backends */
	too_big_case("ipv4 1480 bytes, device mtu 1500", &v_tcp4,
		     XLB_NO_BACKEND, 1480, true, -1, 0, false);
	too_big_case("ipv4 1481 bytes, device mtu 1500", &v_tcp4,
		     XLB_NO_BACKEND, 1481, true, XLB_G_TOO_BIG, 1480, false);
	too_big_case("ipv6 1460 bytes, device mtu 1500", &v_tcp6,
		     XLB_NO_BACKEND, 1460, true, -1, 0, false);
	too_big_case("ipv6 1461 bytes, device mtu 1500", &v_tcp6,
		     XLB_NO_BACKEND, 1461, true, XLB_G_TOO_BIG, 1460, false);
	/* IPv4 in IPv6: 40 bytes of overhead */
	too_big_case("4in6 1360 bytes, route mtu 1400", &v_tb46, SLOT_TB46,
		     1360, true, -1, 0, false);
	too_big_case("4in6 1361 bytes, DF", &v_tb46, SLOT_TB46, 1361, true,
		     XLB_G_TOO_BIG, 1360, false);
	too_big_case("4in6 1361 bytes, DF clear", &v_tb46, SLOT_TB46, 1361,
		     false, XLB_G_DROP_TOO_BIG, 0, false);
	/* IPv6 */
	too_big_case("ipv6 1360 bytes, route mtu 1400", &v_tb6, SLOT_TB6, 1360,
		     true, -1, 0, false);
	too_big_case("ipv6 1361 bytes", &v_tb6, SLOT_TB6, 1361, true,
		     XLB_G_TOO_BIG, 1360, false);
	too_big_case("ipv6 1400 bytes, vlan", &v_tb6, SLOT_TB6, 1400, true,
		     XLB_G_TOO_BIG, 1360, true);
	too_big_case("ipv6 1300 bytes, route mtu 1300 (ptb >= 1280)", &v_tb6c,
		     SLOT_TB6C, 1300, true, XLB_G_TOO_BIG, 1280, false);
	/* frames longer than a page arrive in several buffers (xdp.frags):
	 * lengths come from the whole frame, and the reply trims the frags */
	too_big_case("ipv4 3900 bytes, multi-buffer frame, DF", &v_tcp4,
		     XLB_NO_BACKEND, 3900, true, XLB_G_TOO_BIG, 1480, false);
	too_big_case("ipv6 3900 bytes, multi-buffer frame", &v_tcp6,
		     XLB_NO_BACKEND, 3900, true, XLB_G_TOO_BIG, 1460, false);
}

/* ------------------------------------------------------------------ */
/* next hops */

static void neigh_case(const char *name, const struct dp_vip *v,
		       uint32_t slot, const char *gw)
{
	struct pkt_spec s = flow(v, client(v, 4), next_port(), PKT_TCP_ACK);
	static const uint8_t mac2[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	struct xlb_vip_stats vst;
	uint8_t in[PKT_MAX], gwb[16];
	struct dp_snap g;
	int fam = pkt_pton(gw, gwb);
	size_t n;

	dp_case = name;
	dp_neigh_events(&D);
	n = build(&s, in);
	vip_stats(v, &vst);
	dp_snap(&D, &g);
	if (!run(in, n))
		return;
	dp_check_untouched(in, n, &out, XDP_DROP);
	dp_expect_global(&D, &g, XLB_G_NEIGH_MISS, 1, XLB_G_DROP_NEIGH_MISS, 1,
			 -1);
	expect_vip_delta(v, &vst, 0, 1, 1);
	if (DP_EXPECT_U("neighbour events", dp_neigh_events(&D), 1)) {
		struct xlb_neigh_event *e = &D.ev[0];

		DP_EXPECT_U("event family", e->family, fam);
		DP_EXPECT_U("event ifindex", e->ifindex, D.ifindex);
		DP_EXPECT_U("event backend", e->backend, slot);
		dp_expect_addr("event address (the gateway)", fam,
			       (const uint8_t *)e->addr, gwb);
	}
	/* a second miss within 100 ms: counted, not reported again */
	dp_snap(&D, &g);
	if (run(in, n))
		dp_check_untouched(in, n, &out, XDP_DROP);
	dp_expect_global(&D, &g, XLB_G_NEIGH_MISS, 1, XLB_G_DROP_NEIGH_MISS, 1,
			 -1);
	DP_EXPECT_U("neighbour events after a second miss",
		    dp_neigh_events(&D), 0);

	/* xlbd resolved it and bumped the next-hop epoch */
	if (dp_sh("ip %s neigh replace %s lladdr 02:00:00:00:00:02 dev %s "
		  "nud permanent",
		  fam == AF_INET6 ? "-6" : "-4", gw, DP_IFNAME)) {
		DP_FAIL("cannot add the neighbour entry");
		return;
	}
	maps_nh_invalidate(D.m);
	if (run(in, n))
		dp_check_encap_mac(&D, in, n, &out, slot, dp_flow_hash(v, &s),
				   mac2);
	dp_sh("ip %s neigh del %s dev %s", fam == AF_INET6 ? "-6" : "-4", gw,
	      DP_IFNAME);
	maps_nh_invalidate(D.m);
}

static void test_neigh_miss(void)
{
	neigh_case("neighbour miss, ipv4", &v_nn4, SLOT_NN4, DP_NOGW4);
	neigh_case("neighbour miss, ipv6", &v_nn6, SLOT_NN6, DP_NOGW6);
}

/* ------------------------------------------------------------------ */
/* statistics */

static void test_stats(void)
{
	const struct dp_vip *vs[] = { &v_tcp4, &v_udp4, &v_tcp6 };
	struct xlb_be_stats before[DP_MAX_SLOTS], now;
	uint64_t epk[DP_MAX_SLOTS] = { 0 }, eby[DP_MAX_SLOTS] = { 0 };
	struct xlb_vip_stats vb[3], vnb;
	uint64_t esyn[3] = { 0 }, enon[3] = { 0 };
	struct dp_snap g;
	int npass = 0, ndrop = 0;

	dp_case = "statistics";
	for (uint32_t i = 0; i < 16; i++)
		maps_backend_stats(D.m, i, &before[i]);
	for (size_t k = 0; k < N(vs); k++)
		vip_stats(vs[k], &vb[k]);
	vip_stats(&v_nobe, &vnb);
	dp_snap(&D, &g);

	for (unsigned int i = 0; i < 60; i++) {
		size_t k = i % N(vs);
		const struct dp_vip *v = vs[k];
		struct pkt_spec s = flow(v, client(v, i), next_port(),
					 PKT_TCP_SYN);
		uint32_t slot = dp_vip_choice(v, dp_flow_hash(v, &s));
		uint8_t in[PKT_MAX];
		size_t n;

		/* a TCP flow: SYN then two ACKs; UDP: three packets */
		for (int j = 0; j < 3; j++) {
			struct pkt_ip ip;

			s.tcp_flags = j ? PKT_TCP_ACK : PKT_TCP_SYN;
			s.payload_len = (i * 31 + (unsigned)j * 97) % 1200;
			n = build(&s, in);
			if (!run(in, n) ||
			    !dp_check_encap(&D, in, n, &out, slot,
					    dp_flow_hash(v, &s)))
				return;
			pkt_parse_ip(in, n, 14, &ip);
			epk[slot]++;
			eby[slot] += ip.len;
		}
		if (v->proto == IPPROTO_TCP) {
			esyn[k]++;
			enon[k]++;
		} else {
			enon[k]++;
		}
		/* some traffic that is not balanced */
		if (i % 10 == 0) {
			s = flow(v, client(v, i), 1, PKT_TCP_ACK);
			s.dport = 9;
			n = build(&s, in);
			if (run(in, n) && out.act == XDP_PASS)
				npass++;
			s = flow(&v_nobe, client(&v_nobe, i), 2,
				 PKT_TCP_ACK);
			n = build(&s, in);
			if (run(in, n) && out.act == XDP_DROP)
				ndrop++;
		}
	}
	for (uint32_t i = 0; i < 16; i++) {
		char what[64];

		if (maps_backend_stats(D.m, i, &now)) {
			DP_FAIL("maps_backend_stats(%u) failed", i);
			continue;
		}
		snprintf(what, sizeof(what), "backend slot %u packets", i);
		DP_EXPECT_U(what, now.packets - before[i].packets, epk[i]);
		snprintf(what, sizeof(what), "backend slot %u bytes", i);
		DP_EXPECT_U(what, now.bytes - before[i].bytes, eby[i]);
	}
	for (size_t k = 0; k < N(vs); k++)
		expect_vip_delta(vs[k], &vb[k], esyn[k], enon[k], 0);
	expect_vip_delta(&v_nobe, &vnb, 0, 0, (uint64_t)ndrop);
	DP_EXPECT_U("passed packets sent", npass, 6);
	dp_expect_global(&D, &g, XLB_G_PASS, npass, XLB_G_DROP_NO_BACKEND,
			 ndrop, -1);
}

/* ------------------------------------------------------------------ */

int main(void)
{
	char err[512];
	cpu_set_t cpus;
	CU_pSuite su;
	int ifindex;

	test_require_root_bpf("test_dataplane");
	/* one CPU: per-CPU state (ICMP bucket, counters) stays predictable */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	ifindex = dp_netns_setup(err, sizeof(err));
	if (ifindex < 0) {
		fprintf(stderr, "test_dataplane: namespace setup: %s\n", err);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	/* a failure here is reported by CUnit below */
	if (setup(ifindex)) {
		fprintf(stderr, "test_dataplane: fixture setup failed\n");
		CU_cleanup_registry();
		return 1;
	}

	su = CU_add_suite("encapsulation", NULL, NULL);
	CU_add_test(su, "ipv4/tcp -> ipip", test_tcp4_ipip);
	CU_add_test(su, "encap_source prefix", test_encap_source_prefix);
	CU_add_test(su, "ipv6/tcp -> ip6ip6", test_ip6ip6);
	CU_add_test(su, "ipv4 vip, ipv6 backend -> 4in6", test_4in6);
	CU_add_test(su, "udp flows", test_udp);
	CU_add_test(su, "vlan tag kept, XDP_TX", test_vlan);
	CU_add_test(su, "ethernet padding", test_padded_frame);
	CU_add_test(su, "src_ip hash", test_src_ip_hash);

	su = CU_add_suite("pass and drop", NULL, NULL);
	CU_add_test(su, "not vip traffic -> pass untouched", test_not_vip_pass);
	CU_add_test(su, "truncated at every length", test_truncated);
	CU_add_test(su, "malformed, ipv4 options", test_malformed);
	CU_add_test(su, "fragments", test_fragments);
	CU_add_test(su, "ipv6 extension headers", test_ipv6_ext);
	CU_add_test(su, "vip without backend", test_no_backend);

	su = CU_add_suite("backend selection", NULL, NULL);
	CU_add_test(su, "same flow, same backend", test_same_flow_same_backend);
	CU_add_test(su, "syn semantics", test_syn_semantics);
	CU_add_test(su, "table swap, down, draining", test_table_swap);
	CU_add_test(su, "slot reuse with a new generation", test_slot_reuse);
	CU_add_test(su, "udp records expire after 30 s idle", test_udp_idle);

	su = CU_add_suite("icmp and mtu", NULL, NULL);
	CU_add_test(su, "echo replies", test_icmp_echo);
	CU_add_test(su, "icmp rate limit", test_icmp_rate_limit);
	CU_add_test(su, "icmp errors to the flow's backend", test_icmp_error);
	CU_add_test(su, "too big", test_too_big);

	su = CU_add_suite("next hop and statistics", NULL, NULL);
	CU_add_test(su, "neighbour miss", test_neigh_miss);
	CU_add_test(su, "statistics", test_stats);

	return test_run_cunit();
}
