// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_decap.c - the backend-side decapsulation program (kern/decap.bpf.c)
 * under BPF_PROG_TEST_RUN.
 *
 * Every case is a row of data: how to build the frame, the verdict, the
 * output (untouched, or the inner packet behind a rewritten Ethernet
 * header) and the one counter that must move.  A failure names the case,
 * the field and both values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "testutil.h"
#include "decap.skel.h"
#include "../../kern/decap_common.h"

#define FRAME_MAX 12000

#define VIP4 "203.0.113.10"
#define VIP6 "2001:db8::10"
#define OTHER4 "203.0.113.99"
#define OTHER6 "2001:db8::99"
#define CLIENT4 "192.0.2.77"
#define CLIENT6 "2001:db8:c::77"
#define LB4 "192.0.2.1"
#define LB6 "2001:db8:1::1"
#define BE4 "198.51.100.11"
#define BE6 "2001:db8:2::11"

static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x0a };

enum mangle {
	M_NONE,
	M_OUTER_CSUM,	   /* wrong outer IPv4 checksum */
	M_OUTER_LEN_LONG,  /* outer length 100 bytes beyond the frame */
	M_INNER_LEN_LONG,  /* inner length beyond the outer payload */
	M_INNER_IHL4,	   /* inner IPv4 IHL 4 */
	M_INNER_VERSION,   /* inner version field wrong */
	M_CUT_INNER,	   /* frame ends 10 bytes into the inner header */
	M_OUTER_MF,	   /* outer IPv4 "more fragments" */
	M_V6_FRAG,	   /* outer IPv6 fragment header before the tunnel */
	M_INNER_MF,	   /* inner IPv4 "more fragments" */
	M_PAD,		   /* 20 bytes of Ethernet padding after the packet */
	M_OUTER_IHL4,	   /* outer IPv4 IHL 4 */
	M_V6_ROUTING_SL,   /* routing header with segments left 1 */
};

enum expect { E_UNTOUCHED, E_DECAP, E_DROP };

struct pcase {
	const char *name;
	int vlan;	     /* one 802.1Q tag */
	int outer;	     /* 0 (no tunnel), 4 or 6 */
	int inner;	     /* 4, 6, or 0: an ARP frame */
	const char *dst;     /* inner destination */
	int outer_opts;	     /* IPv4 option words in the outer header */
	int dstopts;	     /* IPv6 destination-options header (8 bytes) */
	uint8_t outer_ecn, inner_ecn;
	int want_ecn;	     /* inner ECN after decapsulation; -1: unchanged */
	int payload;	     /* inner UDP payload bytes */
	enum mangle mangle;
	enum expect expect;
	enum decap_counter counter;
};

static const char *const counter_names[] = {
#define X(idx, name, help) name,
	DECAP_COUNTERS(X)
#undef X
};

static const struct pcase cases[] = {
	{ "v4in4 to VIP", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V4IN4 },
	{ "v6in6 to VIP", 0, 6, 6, VIP6, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V6IN6 },
	{ "v4in6 to VIP", 0, 6, 4, VIP4, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V4IN6 },
	{ "v4in4 802.1Q", 1, 4, 4, VIP4, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V4IN4 },
	{ "v6in6 802.1Q", 1, 6, 6, VIP6, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V6IN6 },
	{ "v4in6 802.1Q", 1, 6, 4, VIP4, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V4IN6 },
	{ "v4in4 outer options", 0, 4, 4, VIP4, 2, 0, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V4IN4 },
	{ "v6in6 encap-limit dstopts", 0, 6, 6, VIP6, 0, 1, 0, 0, -1, 64,
	  M_NONE, E_DECAP, DECAP_C_DECAP_V6IN6 },
	{ "v4in6 dstopts 802.1Q", 1, 6, 4, VIP4, 0, 1, 0, 0, -1, 64, M_NONE,
	  E_DECAP, DECAP_C_DECAP_V4IN6 },
	{ "v4in4 jumbo multi-buffer", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 8000,
	  M_NONE, E_DECAP, DECAP_C_DECAP_V4IN4 },
	{ "v6in6 jumbo multi-buffer", 0, 6, 6, VIP6, 0, 0, 0, 0, -1, 8000,
	  M_NONE, E_DECAP, DECAP_C_DECAP_V6IN6 },
	{ "v4in4 with Ethernet padding", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 0,
	  M_PAD, E_DECAP, DECAP_C_DECAP_V4IN4 },
	{ "v4in4 inner fragment", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 64,
	  M_INNER_MF, E_DECAP, DECAP_C_DECAP_V4IN4 },
	/* RFC 6040 */
	{ "v4in4 outer CE, inner ECT(0)", 0, 4, 4, VIP4, 0, 0, 3, 2, 3, 64,
	  M_NONE, E_DECAP, DECAP_C_DECAP_V4IN4 },
	{ "v4in4 outer ECT(0), inner ECT(1)", 0, 4, 4, VIP4, 0, 0, 2, 1, -1,
	  64, M_NONE, E_DECAP, DECAP_C_DECAP_V4IN4 },
	{ "v6in6 outer CE, inner ECT(1)", 0, 6, 6, VIP6, 0, 0, 3, 1, 3, 64,
	  M_NONE, E_DECAP, DECAP_C_DECAP_V6IN6 },
	{ "v4in6 outer CE, inner CE", 0, 6, 4, VIP4, 0, 0, 3, 3, -1, 64,
	  M_NONE, E_DECAP, DECAP_C_DECAP_V4IN6 },
	{ "v4in4 outer CE, inner not-ECT", 0, 4, 4, VIP4, 0, 0, 3, 0, -1, 64,
	  M_NONE, E_DROP, DECAP_C_DROP_ECN },
	{ "v6in6 outer CE, inner not-ECT", 0, 6, 6, VIP6, 0, 0, 3, 0, -1, 64,
	  M_NONE, E_DROP, DECAP_C_DROP_ECN },
	/* not for a VIP, not a tunnel */
	{ "v4in4 to other address", 0, 4, 4, OTHER4, 0, 0, 0, 0, -1, 64,
	  M_NONE, E_UNTOUCHED, DECAP_C_PASS_NOT_VIP },
	{ "v6in6 to other address", 0, 6, 6, OTHER6, 0, 0, 0, 0, -1, 64,
	  M_NONE, E_UNTOUCHED, DECAP_C_PASS_NOT_VIP },
	{ "v4in6 to other address", 1, 6, 4, OTHER4, 0, 0, 0, 0, -1, 64,
	  M_NONE, E_UNTOUCHED, DECAP_C_PASS_NOT_VIP },
	{ "v4in4 to other, bad checksum", 0, 4, 4, OTHER4, 0, 0, 0, 0, -1,
	  64, M_OUTER_CSUM, E_UNTOUCHED, DECAP_C_PASS_NOT_VIP },
	{ "plain IPv4 to VIP", 0, 0, 4, VIP4, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_UNTOUCHED, DECAP_C_PASS_NOT_TUNNEL },
	{ "plain IPv6 to VIP", 0, 0, 6, VIP6, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_UNTOUCHED, DECAP_C_PASS_NOT_TUNNEL },
	{ "plain IPv4 802.1Q", 1, 0, 4, VIP4, 0, 0, 0, 0, -1, 64, M_NONE,
	  E_UNTOUCHED, DECAP_C_PASS_NOT_TUNNEL },
	{ "ARP", 0, 0, 0, VIP4, 0, 0, 0, 0, -1, 0, M_NONE, E_UNTOUCHED,
	  DECAP_C_PASS_NOT_TUNNEL },
	{ "v6 routing header, segments left", 0, 6, 6, VIP6, 0, 0, 0, 0, -1,
	  64, M_V6_ROUTING_SL, E_UNTOUCHED, DECAP_C_PASS_NOT_TUNNEL },
	/* the kernel judges what the program cannot read */
	{ "v4in4 cut in inner header", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 64,
	  M_CUT_INNER, E_UNTOUCHED, DECAP_C_PASS_UNPARSED },
	{ "v6in6 cut in inner header", 0, 6, 6, VIP6, 0, 0, 0, 0, -1, 64,
	  M_CUT_INNER, E_UNTOUCHED, DECAP_C_PASS_UNPARSED },
	{ "v4in4 outer fragment", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 64,
	  M_OUTER_MF, E_UNTOUCHED, DECAP_C_PASS_UNPARSED },
	{ "v4in4 outer IHL 4", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 64,
	  M_OUTER_IHL4, E_UNTOUCHED, DECAP_C_PASS_UNPARSED },
	{ "v6in6 outer fragment header", 0, 6, 6, VIP6, 0, 0, 0, 0, -1, 64,
	  M_V6_FRAG, E_UNTOUCHED, DECAP_C_PASS_UNPARSED },
	/* clearly for a VIP but broken: dropped and counted */
	{ "v4in4 bad outer checksum", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 64,
	  M_OUTER_CSUM, E_DROP, DECAP_C_DROP_MALFORMED },
	{ "v4in4 inner IHL 4", 0, 4, 4, VIP4, 0, 0, 0, 0, -1, 64,
	  M_INNER_IHL4, E_DROP, DECAP_C_DROP_MALFORMED },
	{ "v4in6 inner version 6", 0, 6, 4, VIP4, 0, 0, 0, 0, -1, 64,
	  M_INNER_VERSION, E_DROP, DECAP_C_DROP_MALFORMED },
	{ "v6in6 inner version 4", 0, 6, 6, VIP6, 0, 0, 0, 0, -1, 64,
	  M_INNER_VERSION, E_DROP, DECAP_C_DROP_MALFORMED },
	{ "v4in4 outer length beyond frame", 0, 4, 4, VIP4, 0, 0, 0, 0, -1,
	  64, M_OUTER_LEN_LONG, E_DROP, DECAP_C_DROP_TRUNCATED },
	{ "v6in6 outer length beyond frame", 0, 6, 6, VIP6, 0, 0, 0, 0, -1,
	  64, M_OUTER_LEN_LONG, E_DROP, DECAP_C_DROP_TRUNCATED },
	{ "v4in6 outer length beyond frame", 1, 6, 4, VIP4, 0, 0, 0, 0, -1,
	  64, M_OUTER_LEN_LONG, E_DROP, DECAP_C_DROP_TRUNCATED },
	{ "v4in4 inner length beyond outer", 0, 4, 4, VIP4, 0, 0, 0, 0, -1,
	  64, M_INNER_LEN_LONG, E_DROP, DECAP_C_DROP_TRUNCATED },
	{ "v6in6 inner length beyond outer", 0, 6, 6, VIP6, 0, 0, 0, 0, -1,
	  64, M_INNER_LEN_LONG, E_DROP, DECAP_C_DROP_TRUNCATED },
};

static struct decap *skel;

/* ---- packet building ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (p[i] << 8) | p[i + 1];
	if (len & 1)
		s += p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

static void pton(int af, const char *s, void *out)
{
	if (inet_pton(af, s, out) != 1)
		abort();
}

/* IPv4 header with @opt_words option words (NOPs), valid checksum. */
static size_t put_ipv4(uint8_t *p, const char *src, const char *dst,
		       uint8_t proto, size_t payload, uint8_t tos,
		       int opt_words)
{
	size_t hlen = 20 + 4 * opt_words;

	memset(p, 0, hlen);
	p[0] = 0x40 | (hlen / 4);
	p[1] = tos;
	put16(p + 2, hlen + payload);
	put16(p + 4, 0x1234);
	put16(p + 6, 0x4000); /* DF */
	p[8] = 64;
	p[9] = proto;
	pton(AF_INET, src, p + 12);
	pton(AF_INET, dst, p + 16);
	memset(p + 20, 1, hlen - 20); /* NOP options */
	put16(p + 10, csum(p, hlen));
	return hlen;
}

static size_t put_ipv6(uint8_t *p, const char *src, const char *dst,
		       uint8_t nh, size_t payload, uint8_t ecn)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[1] = ecn << 4 | 0x0a; /* flow label bits too */
	p[2] = 0xbc;
	p[3] = 0xde;
	put16(p + 4, payload);
	p[6] = nh;
	p[7] = 64;
	pton(AF_INET6, src, p + 8);
	pton(AF_INET6, dst, p + 24);
	return 40;
}

/* The inner packet: IP + UDP + @payload bytes. */
static size_t build_inner(const struct pcase *c, uint8_t ecn, uint8_t *p)
{
	size_t ulen = 8 + c->payload, h, i;
	uint8_t *u;

	if (c->inner == 4)
		h = put_ipv4(p, CLIENT4, c->dst, 17, ulen, 0xb8 | ecn, 0);
	else
		h = put_ipv6(p, CLIENT6, c->dst, 17, ulen, ecn);
	u = p + h;
	put16(u, 40000);
	put16(u + 2, 80);
	put16(u + 4, ulen);
	put16(u + 6, 0);
	for (i = 0; i < (size_t)c->payload; i++)
		u[8 + i] = i * 7 + 3;
	if (c->inner == 4 && c->mangle == M_INNER_MF) {
		put16(p + 6, 0x2000);
		put16(p + 10, 0);
		put16(p + 10, csum(p, 20));
	}
	return h + ulen;
}

static size_t put_l2(const struct pcase *c, uint8_t *p, uint16_t type)
{
	memcpy(p, dmac, 6);
	memcpy(p + 6, smac, 6);
	if (!c->vlan) {
		put16(p + 12, type);
		return 14;
	}
	put16(p + 12, 0x8100);
	put16(p + 14, 0x2064); /* priority 1, VLAN 100 */
	put16(p + 16, type);
	return 18;
}

static uint16_t inner_type(const struct pcase *c)
{
	return c->inner == 4 ? 0x0800 : c->inner == 6 ? 0x86dd : 0x0806;
}

/* The input frame. */
static size_t build_frame(const struct pcase *c, uint8_t *f)
{
	uint8_t inner[FRAME_MAX];
	size_t ilen, l2, o = 0, ext = 0;
	uint8_t *ip;

	if (c->inner == 0) { /* ARP request for the VIP */
		l2 = put_l2(c, f, 0x0806);
		memset(f + l2, 0, 28);
		put16(f + l2, 1);
		put16(f + l2 + 2, 0x0800);
		f[l2 + 4] = 6;
		f[l2 + 5] = 4;
		put16(f + l2 + 6, 1);
		pton(AF_INET, c->dst, f + l2 + 24);
		return l2 + 28;
	}
	ilen = build_inner(c, c->inner_ecn, inner);
	if (c->mangle == M_INNER_IHL4) {
		inner[0] = 0x44;
	} else if (c->mangle == M_INNER_VERSION) {
		inner[0] = c->inner == 4 ? 0x65 : 0x40 | (inner[0] & 0xf);
	} else if (c->mangle == M_INNER_LEN_LONG) {
		if (c->inner == 4)
			put16(inner + 2, ilen + 1);
		else
			put16(inner + 4, ilen - 40 + 1);
	}

	if (c->outer == 0) {
		l2 = put_l2(c, f, inner_type(c));
		memcpy(f + l2, inner, ilen);
		return l2 + ilen;
	}
	l2 = put_l2(c, f, c->outer == 4 ? 0x0800 : 0x86dd);
	ip = f + l2;
	if (c->outer == 4) {
		o = put_ipv4(ip, LB4, BE4, 4, ilen, 0xb8 | c->outer_ecn,
			     c->outer_opts);
		if (c->mangle == M_OUTER_MF) {
			put16(ip + 6, 0x2000);
			put16(ip + 10, 0);
			put16(ip + 10, csum(ip, o));
		} else if (c->mangle == M_OUTER_IHL4) {
			ip[0] = 0x44;
			put16(ip + 10, 0);
			put16(ip + 10, csum(ip, o));
		}
		if (c->mangle == M_OUTER_CSUM)
			ip[10] ^= 0x55;
	} else {
		uint8_t tnh = c->inner == 4 ? 4 : 41;

		ext = c->dstopts || c->mangle == M_V6_FRAG ||
		      c->mangle == M_V6_ROUTING_SL ? 8 : 0;
		o = put_ipv6(ip, LB6, BE6, tnh, ext + ilen, c->outer_ecn);
		if (ext) {
			uint8_t *e = ip + 40;

			memset(e, 0, 8);
			e[0] = tnh;
			if (c->mangle == M_V6_FRAG) {
				ip[6] = 44;
				put16(e + 2, 0x0001); /* offset 0, M */
				e[7] = 0x42;
			} else if (c->mangle == M_V6_ROUTING_SL) {
				ip[6] = 43;
				e[1] = 0;
				e[2] = 0;  /* type 0 (deprecated, any will do) */
				e[3] = 1;  /* segments left */
			} else {
				/* Tunnel Encapsulation Limit option (RFC 2473)
				 * + PadN, as Linux's ip6_tunnel sends. */
				ip[6] = 60;
				e[2] = 4;
				e[3] = 1;
				e[4] = 4;
				e[5] = 1;
				e[6] = 0;
			}
			o += 8;
		}
	}
	memcpy(ip + o, inner, ilen);
	if (c->mangle == M_OUTER_LEN_LONG) {
		if (c->outer == 4) {
			put16(ip + 2, o + ilen + 100);
			put16(ip + 10, 0);
			put16(ip + 10, csum(ip, o));
		} else {
			put16(ip + 4, o - 40 + ilen + 100);
		}
	}
	if (c->mangle == M_CUT_INNER)
		return l2 + o + 10;
	if (c->mangle == M_PAD) {
		memset(ip + o + ilen, 0, 20);
		return l2 + o + ilen + 20;
	}
	return l2 + o + ilen;
}

/* What must come out of a decapsulated frame. */
static size_t build_expected(const struct pcase *c, uint8_t *f)
{
	size_t l2 = put_l2(c, f, inner_type(c));
	uint8_t ecn = c->want_ecn >= 0 ? c->want_ecn : c->inner_ecn;
	size_t ilen = build_inner(c, ecn, f + l2);

	if (c->mangle == M_PAD) {
		/* The padding stays: the stack trims it by the IP length. */
		memset(f + l2 + ilen, 0, 20);
		ilen += 20;
	}
	return l2 + ilen;
}

/* ---- field names for failure messages ---- */

static const char *field_name(const struct pcase *c, size_t off, char *buf,
			      size_t len)
{
	size_t l2 = c->vlan ? 18 : 14, r;

	if (off < 6)
		return "destination MAC";
	if (off < 12)
		return "source MAC";
	if (c->vlan && off < 14)
		return "VLAN TPID";
	if (c->vlan && off < 16)
		return "VLAN TCI";
	if (off < l2)
		return "ethertype";
	r = off - l2;
	if (c->inner == 4) {
		static const char *const f4[] = {
			"version/IHL", "TOS", "total length", "total length",
			"id", "id", "fragment", "fragment", "TTL", "protocol",
			"checksum", "checksum" };
		if (r < 12)
			snprintf(buf, len, "inner IPv4 %s", f4[r]);
		else if (r < 16)
			snprintf(buf, len, "inner IPv4 source");
		else if (r < 20)
			snprintf(buf, len, "inner IPv4 destination");
		else
			snprintf(buf, len, "inner byte %zu", r);
	} else {
		if (r < 4)
			snprintf(buf, len, "inner IPv6 version/class/label");
		else if (r < 8)
			snprintf(buf, len, "inner IPv6 length/next/hops");
		else if (r < 24)
			snprintf(buf, len, "inner IPv6 source");
		else if (r < 40)
			snprintf(buf, len, "inner IPv6 destination");
		else
			snprintf(buf, len, "inner byte %zu", r);
	}
	return buf;
}

/* ---- running ---- */

static void read_counters(uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i, k;
	struct decap_stats *v = calloc(ncpu, sizeof(*v));
	uint32_t zero = 0;

	memset(sum, 0, sizeof(uint64_t) * DECAP_C__MAX);
	if (!v || bpf_map_lookup_elem(bpf_map__fd(skel->maps.decap_stats),
				      &zero, v)) {
		CU_FAIL_FATAL("cannot read decap_stats");
		free(v);
		return;
	}
	for (i = 0; i < ncpu; i++)
		for (k = 0; k < DECAP_C__MAX; k++)
			sum[k] += v[i].c[k];
	free(v);
}

static const char *verdict_name(int v)
{
	switch (v) {
	case XDP_PASS: return "XDP_PASS";
	case XDP_DROP: return "XDP_DROP";
	case XDP_TX: return "XDP_TX";
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	}
	return "?";
}

static int run_case(const struct pcase *c)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX + 256], want[FRAME_MAX];
	uint64_t before[DECAP_C__MAX], after[DECAP_C__MAX];
	size_t in_len = build_frame(c, in), want_len = 0, i;
	int want_verdict = c->expect == E_DROP ? XDP_DROP : XDP_PASS;
	int fails = 0, k, err;
	char buf[64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = in_len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	read_counters(before);
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xlb_decap),
				     &opts);
	if (err) {
		printf("\n  %s: BPF_PROG_TEST_RUN: %s\n", c->name,
		       strerror(errno));
		return 1;
	}
	read_counters(after);

	if ((int)opts.retval != want_verdict) {
		printf("\n  %s: verdict %s, expected %s", c->name,
		       verdict_name(opts.retval), verdict_name(want_verdict));
		fails++;
	}
	for (k = 0; k < DECAP_C__MAX; k++) {
		uint64_t d = after[k] - before[k];
		uint64_t w = k == (int)c->counter;

		if (d != w) {
			printf("\n  %s: counter %s moved by %llu, expected "
			       "%llu", c->name, counter_names[k],
			       (unsigned long long)d, (unsigned long long)w);
			fails++;
		}
	}
	if (c->expect == E_DROP)
		return fails;

	if (c->expect == E_UNTOUCHED) {
		memcpy(want, in, in_len);
		want_len = in_len;
	} else {
		want_len = build_expected(c, want);
	}
	if (opts.data_size_out != want_len) {
		printf("\n  %s: frame length %u, expected %zu", c->name,
		       opts.data_size_out, want_len);
		return fails + 1;
	}
	for (i = 0; i < want_len; i++) {
		if (out[i] == want[i])
			continue;
		printf("\n  %s: %s (byte %zu) 0x%02x, expected 0x%02x",
		       c->name, field_name(c, i, buf, sizeof(buf)), i, out[i],
		       want[i]);
		fails++;
		break;
	}
	/* A rewritten inner IPv4 header must still check out. */
	if (c->expect == E_DECAP && c->inner == 4) {
		size_t l2 = c->vlan ? 18 : 14;

		if (csum(out + l2, 20) != 0) {
			printf("\n  %s: inner IPv4 checksum invalid", c->name);
			fails++;
		}
	}
	return fails;
}

static int fill_vips(void)
{
	struct decap_vip_val v = { 0 };
	struct decap_vip6_key k6;
	uint32_t k4;

	pton(AF_INET, VIP4, &k4);
	pton(AF_INET6, VIP6, &k6);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.decap_vip4), &k4, &v,
				BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.decap_vip6), &k6, &v,
				BPF_ANY))
		return -errno;
	return 0;
}

static void test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int f = run_case(&cases[i]);

		if (f)
			printf("\n");
		CU_ASSERT_EQUAL(f, 0);
	}
}

/* With the VIP maps empty nothing is decapsulated. */
static void test_no_vips(void)
{
	struct pcase c = cases[0];
	uint32_t k4;

	pton(AF_INET, VIP4, &k4);
	CU_ASSERT_EQUAL_FATAL(bpf_map_delete_elem(
		bpf_map__fd(skel->maps.decap_vip4), &k4), 0);
	c.name = "v4in4 after the VIP left the map";
	c.expect = E_UNTOUCHED;
	c.counter = DECAP_C_PASS_NOT_VIP;
	CU_ASSERT_EQUAL(run_case(&c), 0);
	CU_ASSERT_EQUAL(fill_vips(), 0);
	CU_ASSERT_EQUAL(run_case(&cases[0]), 0);
}

/* Every counter has a name and the names are unique. */
static void test_counter_names(void)
{
	int i, j;

	CU_ASSERT_EQUAL(sizeof(counter_names) / sizeof(counter_names[0]),
			DECAP_C__MAX);
	for (i = 0; i < DECAP_C__MAX; i++)
		for (j = i + 1; j < DECAP_C__MAX; j++)
			CU_ASSERT_NOT_EQUAL(strcmp(counter_names[i],
						   counter_names[j]), 0);
}

int main(void)
{
	CU_pSuite s;
	int err;

	test_require_root_bpf("test_decap");
	skel = decap__open_and_load();
	if (!skel) {
		fprintf(stderr, "test_decap: cannot load decap.bpf.o: %s\n",
			strerror(errno));
		return 1;
	}
	err = fill_vips();
	if (err) {
		fprintf(stderr, "test_decap: cannot fill VIP maps: %s\n",
			strerror(-err));
		decap__destroy(skel);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("decap", NULL, NULL);
	CU_add_test(s, "packet cases", test_cases);
	CU_add_test(s, "VIP removed", test_no_vips);
	CU_add_test(s, "counter names", test_counter_names);
	err = test_run_cunit();
	decap__destroy(skel);
	return err;
}
