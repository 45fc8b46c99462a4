// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * decap.bpf.c - backend-side decapsulation (xlb-decap).
 *
 * On a backend host, strips the outer header of IPv4-in-IPv4 (protocol 4),
 * IPv6-in-IPv6 (next header 41) and IPv4-in-IPv6 (next header 4) packets
 * whose inner destination is a local VIP, and passes the inner packet to
 * the stack as if it had been received directly: the Ethernet header (and
 * its one optional 802.1Q tag) moves forward over the outer header and its
 * ethertype is set to the inner family.  Everything else passes untouched.
 *
 * What is dropped, what is passed and why: docs/decap.md.  The counters
 * are listed once, in decap_common.h, for this program and the tool.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "decap_common.h"

/* Protocol numbers (linux/in.h would pull in more than we need). */
#define DECAP_PROTO_IPIP 4	/* IPv4 inside: IPv4 protocol / IPv6 next header */
#define DECAP_PROTO_IPV6 41	/* IPv6 inside */
#define DECAP_NH_HOPOPTS 0
#define DECAP_NH_ROUTING 43
#define DECAP_NH_FRAGMENT 44
#define DECAP_NH_DSTOPTS 60

#define DECAP_IP_MF 0x2000
#define DECAP_IP_OFFSET 0x1fff

/* IPv6 extension headers skipped before the tunnel header.  Linux's
 * ip6_tunnel puts one destination-options header (the encapsulation
 * limit) there by default; four is generous. */
#define DECAP_MAX_EXTHDRS 4

#define DECAP_ECN_MASK 3
#define DECAP_ECN_NOT_ECT 0
#define DECAP_ECN_CE 3

/* Returned by helpers that have not decided the packet's fate. */
#define DECAP_CONTINUE (-1)

struct decap_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* Inner IPv4 destinations to decapsulate; xlb-decap fills it at attach
 * (--vip addresses, or the host's local addresses). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DECAP_MAX_VIPS);
	__type(key, __be32);
	__type(value, struct decap_vip_val);
} decap_vip4 SEC(".maps");

/* Inner IPv6 destinations; same writer as decap_vip4. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DECAP_MAX_VIPS);
	__type(key, struct decap_vip6_key);
	__type(value, struct decap_vip_val);
} decap_vip6 SEC(".maps");

/* Per-CPU counters, written here only; xlb-decap status sums them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct decap_stats);
} decap_stats SEC(".maps");

/* How the VIP maps were filled; written by xlb-decap at attach and bound
 * to the program (bpf_prog_bind_map) so that status can find it.  The
 * program never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct decap_cfg);
} decap_cfg SEC(".maps");

/* What the parser learnt about a tunnel packet to a VIP. */
struct decap_pkt {
	__u32 l2len;	   /* Ethernet header, with its VLAN tag: 14 or 18 */
	__u32 outer_len;   /* bytes to strip: outer IP header and extensions */
	__u32 l3_avail;	   /* bytes of the whole frame after the L2 header */
	__be16 inner_eth;  /* ethertype of the inner packet */
	__u32 counter;	   /* DECAP_C_* to count */
};

static __always_inline int verdict(struct decap_pkt *p, __u32 counter,
				   int act)
{
	p->counter = counter;
	return act;
}

/* RFC 1624 incremental update of a checksum for one changed 16-bit word.
 * Ones' complement sums do not depend on byte order. */
static __always_inline void csum_replace2(__sum16 *sum, __u16 old, __u16 new)
{
	__u32 s = (__u16)~*sum + (__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = (__sum16)~s;
}

/* The kernel verifies the outer IPv4 checksum on the normal receive path
 * (ip_rcv_core); we take its place, so we verify it too. */
static __always_inline int ipv4_csum_ok(struct iphdr *iph, void *data_end)
{
	__u32 i, words = iph->ihl;
	__u64 sum = 0;

	/* At most 15 words.  The barrier keeps clang from folding the
	 * bounds check into arithmetic on data_end, which the verifier
	 * refuses. */
	for (i = 0; i < 15; i++) {
		__u32 *w = (__u32 *)iph + i;

		if (i >= words)
			break;
		asm volatile("" : "+r"(w));
		if ((void *)(w + 1) > data_end)
			return 0;
		sum += *w;
	}
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/*
 * RFC 6040 decapsulation, as the kernel's ipip/ip6_tunnel do
 * (INET_ECN_decapsulate): a CE mark that a router put on the outer header
 * moves to an ECN-capable inner packet; a CE mark on a packet whose
 * transport is not ECN-capable means congestion it cannot learn about, and
 * the packet is dropped.
 */
static __always_inline int ecn_decap4(struct decap_pkt *p, __u8 outer_ecn,
				      struct iphdr *ih)
{
	__u16 old, *w = (__u16 *)ih;

	if (outer_ecn != DECAP_ECN_CE)
		return DECAP_CONTINUE;
	switch (ih->tos & DECAP_ECN_MASK) {
	case DECAP_ECN_NOT_ECT:
		return verdict(p, DECAP_C_DROP_ECN, XDP_DROP);
	case DECAP_ECN_CE:
		return DECAP_CONTINUE;
	}
	old = *w;
	ih->tos |= DECAP_ECN_CE;
	csum_replace2(&ih->check, old, *w);
	return DECAP_CONTINUE;
}

static __always_inline __u8 ipv6_ecn(struct ipv6hdr *h)
{
	return (h->flow_lbl[0] >> 4) & DECAP_ECN_MASK;
}

static __always_inline int ecn_decap6(struct decap_pkt *p, __u8 outer_ecn,
				      struct ipv6hdr *ih)
{
	if (outer_ecn != DECAP_ECN_CE)
		return DECAP_CONTINUE;
	switch (ipv6_ecn(ih)) {
	case DECAP_ECN_NOT_ECT:
		return verdict(p, DECAP_C_DROP_ECN, XDP_DROP);
	case DECAP_ECN_CE:
		return DECAP_CONTINUE;
	}
	ih->flow_lbl[0] |= DECAP_ECN_CE << 4;
	return DECAP_CONTINUE;
}

/*
 * The inner IPv4 header of a tunnel to a VIP whose payload holds @room
 * bytes.  The caller has checked that its fixed 20 bytes are in the linear
 * data and that its destination is a VIP: a bad packet is dropped.
 * Returns DECAP_CONTINUE when it is sound.
 */
static __always_inline int check_inner4(struct decap_pkt *p, struct iphdr *ih,
					__u32 room, __u8 outer_ecn)
{
	__u32 tot;

	if (ih->version != 4 || ih->ihl < 5)
		return verdict(p, DECAP_C_DROP_MALFORMED, XDP_DROP);
	tot = bpf_ntohs(ih->tot_len);
	if (tot < ih->ihl * 4U)
		return verdict(p, DECAP_C_DROP_MALFORMED, XDP_DROP);
	if (tot > room)
		return verdict(p, DECAP_C_DROP_TRUNCATED, XDP_DROP);
	p->inner_eth = bpf_htons(ETH_P_IP);
	return ecn_decap4(p, outer_ecn, ih);
}

static __always_inline int check_inner6(struct decap_pkt *p,
					struct ipv6hdr *ih, __u32 room,
					__u8 outer_ecn)
{
	if (ih->version != 6)
		return verdict(p, DECAP_C_DROP_MALFORMED, XDP_DROP);
	if (sizeof(*ih) + bpf_ntohs(ih->payload_len) > room)
		return verdict(p, DECAP_C_DROP_TRUNCATED, XDP_DROP);
	p->inner_eth = bpf_htons(ETH_P_IPV6);
	return ecn_decap6(p, outer_ecn, ih);
}

static __always_inline int parse_outer4(struct decap_pkt *p, void *data,
					void *data_end)
{
	struct iphdr *oh = data + p->l2len, *ih;
	__u32 hlen, tot;
	int act;

	if ((void *)(oh + 1) > data_end)
		return verdict(p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
	if (oh->protocol != DECAP_PROTO_IPIP)
		return verdict(p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
	/* Cannot find the inner header, or only the kernel can reassemble
	 * it: the kernel judges. */
	if (oh->ihl < 5 ||
	    (oh->frag_off & bpf_htons(DECAP_IP_MF | DECAP_IP_OFFSET)))
		return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
	hlen = oh->ihl * 4;
	ih = (void *)oh + hlen;
	if ((void *)(ih + 1) > data_end)
		return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
	if (!bpf_map_lookup_elem(&decap_vip4, &ih->daddr))
		return verdict(p, DECAP_C_PASS_NOT_VIP, XDP_PASS);

	/* For a VIP: the outer header must be sound too. */
	tot = bpf_ntohs(oh->tot_len);
	if (oh->version != 4 || !ipv4_csum_ok(oh, data_end) ||
	    tot < hlen + sizeof(*ih))
		return verdict(p, DECAP_C_DROP_MALFORMED, XDP_DROP);
	if (tot > p->l3_avail)
		return verdict(p, DECAP_C_DROP_TRUNCATED, XDP_DROP);
	act = check_inner4(p, ih, tot - hlen, oh->tos & DECAP_ECN_MASK);
	if (act != DECAP_CONTINUE)
		return act;
	p->outer_len = hlen;
	p->counter = DECAP_C_DECAP_V4IN4;
	return DECAP_CONTINUE;
}

/*
 * The outer IPv6 header of a tunnel to a VIP, @off bytes long with its
 * extension headers.  Stores in @room what its payload length leaves for
 * the inner packet and returns DECAP_CONTINUE, or returns a verdict.
 */
static __always_inline int check_outer6(struct decap_pkt *p,
					struct ipv6hdr *oh, __u32 off,
					__u32 inner_min, __u32 *room)
{
	__u32 end = sizeof(*oh) + bpf_ntohs(oh->payload_len);

	/* Payload length 0 is a jumbogram: never a tunnel from xlb. */
	if (oh->version != 6 || end < off + inner_min)
		return verdict(p, DECAP_C_DROP_MALFORMED, XDP_DROP);
	if (end > p->l3_avail)
		return verdict(p, DECAP_C_DROP_TRUNCATED, XDP_DROP);
	*room = end - off;
	return DECAP_CONTINUE;
}

static __always_inline int parse_outer6(struct decap_pkt *p, void *data,
					void *data_end)
{
	struct ipv6hdr *oh = data + p->l2len;
	struct ipv6_opt_hdr *eh;
	__u32 off = sizeof(*oh), room = 0;
	__u8 nh, ecn;
	int i, act;

	if ((void *)(oh + 1) > data_end)
		return verdict(p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
	nh = oh->nexthdr;
	for (i = 0; i < DECAP_MAX_EXTHDRS; i++) {
		if (nh != DECAP_NH_HOPOPTS && nh != DECAP_NH_DSTOPTS &&
		    nh != DECAP_NH_ROUTING && nh != DECAP_NH_FRAGMENT)
			break;
		/* Keep the offset visibly bounded for the verifier. */
		if (off > 1024)
			return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
		eh = (void *)oh + off;
		/* Every extension header is at least 8 bytes long. */
		if ((void *)eh + 8 > data_end)
			return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
		if (nh == DECAP_NH_FRAGMENT) {
			/* A fragmented tunnel packet: only the kernel can
			 * reassemble it. */
			if (eh->nexthdr == DECAP_PROTO_IPIP ||
			    eh->nexthdr == DECAP_PROTO_IPV6)
				return verdict(p, DECAP_C_PASS_UNPARSED,
					       XDP_PASS);
			return verdict(p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
		}
		/* Routing header with segments left: this host is not the
		 * final destination, the kernel forwards it. */
		if (nh == DECAP_NH_ROUTING && ((__u8 *)eh)[3] != 0)
			return verdict(p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
		nh = eh->nexthdr;
		off += (eh->hdrlen + 1) * 8;
	}
	if (nh != DECAP_PROTO_IPIP && nh != DECAP_PROTO_IPV6) {
		if (i == DECAP_MAX_EXTHDRS)
			return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
		return verdict(p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
	}
	if (off > 1024)
		return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
	ecn = ipv6_ecn(oh);

	if (nh == DECAP_PROTO_IPV6) {
		struct ipv6hdr *ih = (void *)oh + off;

		if ((void *)(ih + 1) > data_end)
			return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
		if (!bpf_map_lookup_elem(&decap_vip6, &ih->daddr))
			return verdict(p, DECAP_C_PASS_NOT_VIP, XDP_PASS);
		act = check_outer6(p, oh, off, sizeof(*ih), &room);
		if (act != DECAP_CONTINUE)
			return act;
		act = check_inner6(p, ih, room, ecn);
		if (act != DECAP_CONTINUE)
			return act;
		p->counter = DECAP_C_DECAP_V6IN6;
	} else {
		struct iphdr *ih = (void *)oh + off;

		if ((void *)(ih + 1) > data_end)
			return verdict(p, DECAP_C_PASS_UNPARSED, XDP_PASS);
		if (!bpf_map_lookup_elem(&decap_vip4, &ih->daddr))
			return verdict(p, DECAP_C_PASS_NOT_VIP, XDP_PASS);
		act = check_outer6(p, oh, off, sizeof(*ih), &room);
		if (act != DECAP_CONTINUE)
			return act;
		act = check_inner4(p, ih, room, ecn);
		if (act != DECAP_CONTINUE)
			return act;
		p->counter = DECAP_C_DECAP_V4IN6;
	}
	p->outer_len = off;
	return DECAP_CONTINUE;
}

/*
 * Remove the outer header: save the L2 header, move the start of the frame
 * over the outer header, write the L2 header back in front of the inner
 * packet with the inner family's ethertype.
 */
static __always_inline int strip_outer(struct xdp_md *ctx, struct decap_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 l2[sizeof(struct ethhdr) + sizeof(struct decap_vlan_hdr)];

	/* The parser saw at least 14 + 20 + 20 bytes: 18 are there. */
	if (data + sizeof(l2) > data_end)
		return verdict(p, DECAP_C_DROP_INTERNAL, XDP_DROP);
	__builtin_memcpy(l2, data, sizeof(l2));
	if (bpf_xdp_adjust_head(ctx, (int)p->outer_len))
		return verdict(p, DECAP_C_DROP_INTERNAL, XDP_DROP);

	/* adjust_head invalidates every packet pointer: reload. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(l2) > data_end)
		return verdict(p, DECAP_C_DROP_INTERNAL, XDP_DROP);
	if (p->l2len == sizeof(l2)) {
		__builtin_memcpy(data, l2, sizeof(l2) - 2);
		*(__be16 *)(data + sizeof(l2) - 2) = p->inner_eth;
	} else {
		__builtin_memcpy(data, l2, sizeof(struct ethhdr) - 2);
		*(__be16 *)(data + sizeof(struct ethhdr) - 2) = p->inner_eth;
	}
	return XDP_PASS;
}

static __always_inline void count(__u32 counter)
{
	struct decap_stats *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&decap_stats, &zero);
	if (s && counter < DECAP_C__MAX)
		s->c[counter]++; /* per-CPU: no atomic needed */
}

SEC("xdp.frags")
int xlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct decap_pkt p = {};
	struct ethhdr *eth = data;
	__be16 proto;
	__u64 len;
	int act;

	if ((void *)(eth + 1) > data_end) {
		act = verdict(&p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
		goto out;
	}
	p.l2len = sizeof(*eth);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct decap_vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end) {
			act = verdict(&p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
			goto out;
		}
		proto = vh->proto;
		p.l2len += sizeof(*vh);
	}
	/* Lengths come from the whole frame: with multi-buffer (xdp.frags)
	 * data_end covers only the first buffer. */
	len = bpf_xdp_get_buff_len(ctx);
	p.l3_avail = len > p.l2len ? len - p.l2len : 0;

	if (proto == bpf_htons(ETH_P_IP))
		act = parse_outer4(&p, data, data_end);
	else if (proto == bpf_htons(ETH_P_IPV6))
		act = parse_outer6(&p, data, data_end);
	else
		act = verdict(&p, DECAP_C_PASS_NOT_TUNNEL, XDP_PASS);
	if (act != DECAP_CONTINUE)
		goto out;
	act = strip_outer(ctx, &p);
out:
	count(p.counter);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
