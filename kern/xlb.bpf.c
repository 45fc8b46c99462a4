// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xlb.bpf.c - the load balancer's XDP program.
 *
 * For every frame: parse Ethernet (one 802.1Q tag), IPv4/IPv6, TCP/UDP;
 * match (daddr, dport, proto) against the VIP map; pick the backend from
 * the connection table or the VIP's Maglev table; encapsulate (IPIP,
 * ip6ip6, 4in6) and send it toward the backend's cached next hop.
 * Everything that is not VIP traffic passes to the kernel untouched.
 *
 * Helpers that may decide the packet's fate return an XDP action or
 * XLB_CONTINUE.  Layout and update protocol: docs/design.md.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xlb_common.h"
#include "xlb_hash.h"
#include "maps.h"
#include "csum.h"

#define XLB_CONTINUE (-1)
#define AF_INET 2
#define AF_INET6 10
#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define IP_MF 0x2000
#define IP_DF 0x4000
#define IP_OFFSET 0x1fff
#define IPV6_MIN_MTU 1280

/* Quoted bytes in generated too-big messages.  A packet that is too big
 * is at least several hundred bytes long, so these are always present. */
#define ICMP4_QUOTE 64
#define ICMP6_QUOTE 128

/* linux/icmp.h pulls in glibc headers (via linux/if.h): define ours. */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
	} un;
};

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* What the parser learnt about a VIP packet. */
struct pkt {
	__u32 l2len;  /* 14, or 18 with a VLAN tag */
	__u32 l3len;  /* IP packet length (header included) */
	__u8 v6;      /* client packet is IPv6 */
	__u8 tos;     /* DSCP/ECN of the client packet */
	__u8 df;      /* IPv4 DF set (IPv6: always 1) */
	__u8 proto;   /* TCP / UDP (of the flow; ICMP errors: the quoted) */
	__u8 bare_syn;
	__u8 icmp_err; /* an ICMP error forwarded to its flow's backend */
	__u8 hashed;   /* hash is valid */
	__u8 src_hash; /* the VIP hashes the client address only */
	__u32 hash;    /* flow hash, computed when first needed */
	__be16 sport; /* client's port */
	__be16 dport; /* VIP's port */
	__be32 saddr[4]; /* client */
	__be32 daddr[4]; /* VIP */
};

static __always_inline void count(__u32 idx)
{
	__u32 k = 0;
	struct xlb_global_stats *s = bpf_map_lookup_elem(&global_stats, &k);

	if (s && idx < XLB_G__MAX)
		s->cnt[idx]++;
}

static __always_inline int pass(void)
{
	count(XLB_G_PASS);
	return XDP_PASS;
}

static __always_inline int drop(__u32 reason)
{
	count(reason);
	return XDP_DROP;
}

static __always_inline void vip_count_drop(__u32 vip_id)
{
	struct xlb_vip_stats *vs = bpf_map_lookup_elem(&vip_stats, &vip_id);

	if (vs)
		vs->drop_packets++;
}

/* Does this address have at least one VIP? */
static __always_inline int is_vip_addr4(__be32 addr)
{
	struct xlb_vip4_key k = { .addr = addr };

	return bpf_map_lookup_elem(&vip4_map, &k) != NULL;
}

static __always_inline int is_vip_addr6(const __be32 *addr)
{
	struct xlb_vip6_key k = {};

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&vip6_map, &k) != NULL;
}

/* ---- ICMP rate limit: a per-CPU token bucket holding one second ---- */
static __always_inline int icmp_allowed(void)
{
	__u32 k = 0;
	struct xlb_rt_cfg *cfg = bpf_map_lookup_elem(&rt_cfg, &k);
	struct xlb_icmp_bucket *b;
	__u64 now, rate, cap, add, dt;

	if (!cfg)
		return 0;
	rate = cfg->icmp_rate;
	if (!rate)
		return 1;
	b = bpf_map_lookup_elem(&icmp_bucket, &k);
	if (!b)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	cap = rate << 20;
	/* tokens are scaled by 2^20: dt ns earn dt * rate * 2^20 / 1e9,
	 * i.e. (dt >> 10) * rate * 1.0737 (1100 / 1024 is within 0.05 %) */
	dt = now - b->last_ns;
	if (dt > 1000000000ull)
		dt = 1000000000ull;
	add = (dt >> 10) * rate * 1100 / 1024;
	b->last_ns = now;
	b->tokens += add;
	if (b->tokens > cap)
		b->tokens = cap;
	if (b->tokens < (1u << 20)) {
		count(XLB_G_ICMP_RATELIMITED);
		return 0;
	}
	b->tokens -= 1u << 20;
	return 1;
}

/* The flow hash is needed only for a Maglev choice, an IPv6 outer flow
 * label or a prefix encap source: a connection-table hit to an IPv4
 * backend never computes it. */
static __always_inline __u32 pkt_hash(struct pkt *p)
{
	if (p->hashed)
		return p->hash;
	if (p->src_hash)
		p->hash = p->v6 ? xlb_src_hash6(p->saddr)
				: xlb_src_hash4(p->saddr[0]);
	else if (p->v6)
		p->hash = xlb_flow_hash6(p->saddr, p->daddr, p->sport,
					 p->dport, p->proto);
	else
		p->hash = xlb_flow_hash4(p->saddr[0], p->daddr[0], p->sport,
					 p->dport, p->proto);
	p->hashed = 1;
	return p->hash;
}

/* ---- Maglev ---- */
static __always_inline __u32 maglev_pick(__u32 vip_id, __u32 hash)
{
	__u32 k = 0, idx, *m, *s;
	void *tbl = bpf_map_lookup_elem(&maglev_outer, &vip_id);

	if (!tbl)
		return XLB_NO_BACKEND;
	m = bpf_map_lookup_elem(tbl, &k); /* A[0]: the size */
	if (!m)
		return XLB_NO_BACKEND;
	idx = xlb_slot_index(hash, *m) + XLB_MAGLEV_HDR;
	k = idx >> 1;
	s = bpf_map_lookup_elem(tbl, &k);
	return s ? s[idx & 1] : XLB_NO_BACKEND;
}

static __always_inline void vip_count_new(__u32 vip_id, int syn)
{
	struct xlb_vip_stats *vs = bpf_map_lookup_elem(&vip_stats, &vip_id);

	if (!vs)
		return;
	if (syn)
		vs->new_syn++;
	else
		vs->new_nonsyn++;
}

/* A recorded flow may stay on its backend while the slot still belongs
 * to the same backend (generation) and it is alive. */
static __always_inline __u32 atime_now(void)
{
	return (__u32)(bpf_ktime_get_coarse_ns() >> XLB_ATIME_SHIFT);
}

static __always_inline struct xlb_backend *ct_backend(struct xlb_ct_val *v,
						      struct pkt *p, __u32 *now)
{
	struct xlb_backend *be;
	__u32 slot = v->backend;

	be = bpf_map_lookup_elem(&backends, &slot);
	if (!be || be->gen != v->gen || !(be->flags & XLB_BE_F_ALIVE))
		return NULL;
	if (p->proto == IPPROTO_UDP) {
		*now = atime_now();
		if (*now - v->atime > XLB_UDP_IDLE_UNITS)
			return NULL;
		/* refresh at most every second: keeps the line clean */
		if (*now - v->atime > XLB_ATIME_REFRESH_UNITS)
			v->atime = *now;
	}
	p->hash = v->hash;
	p->hashed = 1;
	return be;
}

static __always_inline struct xlb_backend *
table_backend(__u32 vip_id, struct pkt *p, __u32 *slot)
{
	*slot = maglev_pick(vip_id, pkt_hash(p));
	if (*slot == XLB_NO_BACKEND)
		return NULL;
	return bpf_map_lookup_elem(&backends, slot);
}

/*
 * Backend selection.  A bare SYN takes the table's choice, removes any
 * record of its 5-tuple and records nothing (spoofed SYNs never evict
 * established flows); any other packet uses its record, or takes the
 * table's choice and records it.  ct/k are the family's connection table
 * and key: always inlined, so each call site keeps a constant map (the
 * verifier then calls the map's own lookup directly).
 */
static __always_inline struct xlb_backend *
select_flow(struct pkt *p, struct xlb_vip_val *vip, void *ct, void *k,
	    __u32 *slotp)
{
	struct xlb_ct_val *v, nv = {};
	struct xlb_backend *be;
	__u32 now = 0;

	if (p->bare_syn) {
		/* The table's choice first: its memory access does not
		 * depend on the connection-table lookup, so the CPU can
		 * overlap the two cache misses. */
		be = table_backend(vip->vip_id, p, slotp);
		if (bpf_map_lookup_elem(ct, k))
			bpf_map_delete_elem(ct, k);
		if (be && !p->icmp_err)
			vip_count_new(vip->vip_id, 1);
		return be;
	}
	v = bpf_map_lookup_elem(ct, k);
	if (v) {
		be = ct_backend(v, p, &now);
		if (be) {
			*slotp = v->backend;
			return be;
		}
	}
	be = table_backend(vip->vip_id, p, slotp);
	if (!be || p->icmp_err)
		return be;
	nv.backend = *slotp;
	nv.gen = be->gen;
	nv.hash = p->hash; /* computed for the table choice */
	if (p->proto == IPPROTO_UDP)
		nv.atime = now ? now : atime_now();
	bpf_map_update_elem(ct, k, &nv, BPF_ANY);
	vip_count_new(vip->vip_id, 0);
	return be;
}

static __always_inline struct xlb_backend *
select4(struct pkt *p, struct xlb_vip_val *vip, __u32 *slotp)
{
	struct xlb_ct4_key k = {
		.saddr = p->saddr[0],
		.daddr = p->daddr[0],
		.sport = p->sport,
		.dport = p->dport,
		.proto = p->proto,
	};

	return select_flow(p, vip, &ct4, &k, slotp);
}

static __always_inline struct xlb_backend *
select6(struct pkt *p, struct xlb_vip_val *vip, __u32 *slotp)
{
	struct xlb_ct6_key k = {
		.sport = p->sport,
		.dport = p->dport,
		.proto = p->proto,
	};

	__builtin_memcpy(k.saddr, p->saddr, 16);
	__builtin_memcpy(k.daddr, p->daddr, 16);
	return select_flow(p, vip, &ct6, &k, slotp);
}

/* ---- next hop ---- */

static __always_inline void neigh_notify(struct xlb_backend *be, __u32 slot,
					 struct bpf_fib_lookup *p)
{
	struct xlb_neigh_event ev = {};
	__u64 now = bpf_ktime_get_coarse_ns();

	if (now - be->nh_notify_ns < XLB_NEIGH_NOTIFY_NS)
		return;
	be->nh_notify_ns = now;
	ev.family = p->family;
	ev.ifindex = p->ifindex;
	ev.backend = slot;
	if (p->family == AF_INET6)
		__builtin_memcpy(ev.addr, p->ipv6_dst, 16);
	else
		ev.addr[0] = p->ipv4_dst;
	bpf_ringbuf_output(&neigh_events, &ev, sizeof(ev), 0);
}

static __always_inline void fib_params(struct bpf_fib_lookup *p,
				       struct xlb_backend *be, __u32 ifindex,
				       __u16 tot_len)
{
	__builtin_memset(p, 0, sizeof(*p));
	p->ifindex = ifindex;
	p->tot_len = tot_len;
	if (be->flags & XLB_BE_F_V6) {
		p->family = AF_INET6;
		__builtin_memcpy(p->ipv6_dst, be->addr, 16);
	} else {
		p->family = AF_INET;
		p->ipv4_dst = be->addr[0];
	}
}

/*
 * Refill a backend's next-hop cache from the FIB.  The first lookup asks
 * for an impossible length so that the kernel reports the path MTU
 * (FRAG_NEEDED carries mtu_result); the second resolves the neighbour.
 * Route and neighbour changes bump rt_cfg.nh_epoch (xlbd listens to
 * netlink), which invalidates every cache at once.
 */
static __noinline int nh_refill(struct xdp_md *ctx, struct xlb_backend *be,
				__u32 slot, __u32 epoch)
{
	struct bpf_fib_lookup p;
	__u16 mtu = 0xffff;
	long rc;

	fib_params(&p, be, ctx->ingress_ifindex, 0xffff);
	rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		mtu = p.mtu_result;
	else if (rc != BPF_FIB_LKUP_RET_SUCCESS &&
		 rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return drop(XLB_G_DROP_NO_ROUTE);

	fib_params(&p, be, ctx->ingress_ifindex, 0);
	rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* The kernel has no entry for the next hop (p holds it):
		 * xlbd resolves it ahead of time; tell it now. */
		count(XLB_G_NEIGH_MISS);
		neigh_notify(be, slot, &p);
		return drop(XLB_G_DROP_NEIGH_MISS);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return drop(XLB_G_DROP_NO_ROUTE);
	be->nh_ifindex = p.ifindex;
	__builtin_memcpy(be->nh_dmac, p.dmac, 6);
	__builtin_memcpy(be->nh_smac, p.smac, 6);
	be->nh_mtu = mtu;
	be->nh_epoch = epoch; /* last: the cache is valid from here on */
	return XLB_CONTINUE;
}

/* ---- ICMP generated by xlb ---- */

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/* Echo request to a VIP address: answered in place, back the way it came. */
static __always_inline int icmp4_echo(struct xdp_md *ctx, struct ethhdr *eth,
				      struct iphdr *iph, struct icmphdr *ic)
{
	__be32 a;

	if (!icmp_allowed())
		return drop(XLB_G_DROP_ICMP_RATELIMIT);
	swap_macs(eth);
	a = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = a;
	iph->ttl = 64;
	iph->check = 0;
	iph->check = ipv4_csum(iph);
	ic->type = ICMP_ECHOREPLY;
	ic->checksum = csum_replace16(ic->checksum, bpf_htons(ICMP_ECHO << 8),
				      bpf_htons(ICMP_ECHOREPLY << 8));
	count(XLB_G_ICMP_ECHO);
	return XDP_TX;
}

static __always_inline int icmp6_echo(struct xdp_md *ctx, struct ethhdr *eth,
				      struct ipv6hdr *ip6, struct icmp6hdr *ic)
{
	struct in6_addr a;

	if (!icmp_allowed())
		return drop(XLB_G_DROP_ICMP_RATELIMIT);
	swap_macs(eth);
	a = ip6->saddr;
	ip6->saddr = ip6->daddr;
	ip6->daddr = a;
	ip6->hop_limit = 64;
	ic->icmp6_type = ICMPV6_ECHO_REPLY;
	ic->icmp6_cksum = csum_replace16(ic->icmp6_cksum,
					 bpf_htons(ICMPV6_ECHO_REQUEST << 8),
					 bpf_htons(ICMPV6_ECHO_REPLY << 8));
	count(XLB_G_ICMP_ECHO);
	return XDP_TX;
}

/*
 * Too big after encapsulation: "fragmentation needed" (IPv4, DF set) or
 * "packet too big" (IPv6) from the VIP to the client, quoting the start
 * of the packet, back out the way it came.
 *
 * reply_head() makes room for hl bytes of new headers in front of the
 * client's IP header (which becomes the quote), moves the L2 header (tag
 * included) in front and swaps its MACs; room is what must follow the L2
 * header.  reply_tail() cuts the frame to the reply's length.
 */
static __always_inline int reply_head(struct xdp_md *ctx, __u32 *l2len,
				      __u32 hl, __u32 room)
{
	void *data, *data_end;

	if (!icmp_allowed())
		return drop(XLB_G_DROP_ICMP_RATELIMIT);
	if (bpf_xdp_adjust_head(ctx, -(int)hl))
		return drop(XLB_G_DROP_INTERNAL);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (*l2len == 18) {
		if (data + 18 + room > data_end)
			return drop(XLB_G_DROP_INTERNAL);
		__builtin_memcpy(data, data + hl, 18);
	} else {
		if (data + 14 + room > data_end)
			return drop(XLB_G_DROP_INTERNAL);
		__builtin_memcpy(data, data + hl, 14);
		*l2len = 14;
	}
	swap_macs(data);
	return XLB_CONTINUE;
}

static __always_inline int reply_tail(struct xdp_md *ctx, __u32 want)
{
	int len = bpf_xdp_get_buff_len(ctx);

	if (bpf_xdp_adjust_tail(ctx, (int)want - len))
		return drop(XLB_G_DROP_INTERNAL);
	count(XLB_G_TOO_BIG);
	return XDP_TX;
}

static __noinline int icmp4_too_big(struct xdp_md *ctx, __u32 l2len, __u16 mtu)
{
	const __u32 hl = sizeof(struct iphdr) + sizeof(struct icmphdr);
	void *data, *data_end;
	struct iphdr *iph, *q;
	struct icmphdr *ic;
	int act;

	act = reply_head(ctx, &l2len, hl, hl + ICMP4_QUOTE);
	if (act != XLB_CONTINUE)
		return act;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = data + l2len;
	if ((void *)(iph + 1) + sizeof(*ic) + ICMP4_QUOTE > data_end)
		return drop(XLB_G_DROP_INTERNAL);
	ic = (void *)(iph + 1);
	q = (void *)(ic + 1);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = bpf_htons(hl + ICMP4_QUOTE);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = 64;
	iph->protocol = IPPROTO_ICMP;
	iph->saddr = q->daddr;
	iph->daddr = q->saddr;
	iph->check = 0;
	iph->check = ipv4_csum(iph);
	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->checksum = 0;
	ic->un.frag.__unused = 0;
	ic->un.frag.mtu = bpf_htons(mtu);
	ic->checksum = csum_fold(bpf_csum_diff(NULL, 0, (__be32 *)ic,
					       sizeof(*ic) + ICMP4_QUOTE, 0));
	return reply_tail(ctx, l2len + hl + ICMP4_QUOTE);
}

static __noinline int icmp6_too_big(struct xdp_md *ctx, __u32 l2len, __u32 mtu)
{
	const __u32 hl = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	void *data, *data_end;
	struct ipv6hdr *ip6, *q;
	struct icmp6hdr *ic;
	__u64 sum;
	int act;

	act = reply_head(ctx, &l2len, hl, hl + ICMP6_QUOTE);
	if (act != XLB_CONTINUE)
		return act;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip6 = data + l2len;
	if ((void *)(ip6 + 1) + sizeof(*ic) + ICMP6_QUOTE > data_end)
		return drop(XLB_G_DROP_INTERNAL);
	ic = (void *)(ip6 + 1);
	q = (void *)(ic + 1);
	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(sizeof(*ic) + ICMP6_QUOTE);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 64;
	ip6->saddr = q->daddr;
	ip6->daddr = q->saddr;
	ic->icmp6_type = ICMPV6_PKT_TOOBIG;
	ic->icmp6_code = 0;
	ic->icmp6_cksum = 0;
	ic->icmp6_mtu = bpf_htonl(mtu < IPV6_MIN_MTU ? IPV6_MIN_MTU : mtu);
	/* pseudo-header: addresses, upper-layer length, next header */
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&ip6->saddr, 32, 0);
	sum += bpf_htonl(sizeof(*ic) + ICMP6_QUOTE);
	sum += bpf_htonl(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)ic, sizeof(*ic) + ICMP6_QUOTE,
			    csum_fold(sum) ^ 0xffff);
	ic->icmp6_cksum = csum_fold(sum);
	return reply_tail(ctx, l2len + hl + ICMP6_QUOTE);
}

/* ---- encapsulation ---- */

static __always_inline __be32 src4_of(struct xlb_rt_cfg *cfg, __u32 hash)
{
	return (cfg->src4 & ~cfg->src4_hostmask) |
	       (bpf_htonl(hash) & cfg->src4_hostmask);
}

/*
 * Make room for the outer header, move the L2 header in front of it and
 * write Ethernet + outer IP.  The client's packet stays byte for byte.
 */
static __always_inline int encap(struct xdp_md *ctx, struct pkt *p,
				 struct xlb_backend *be,
				 struct xlb_rt_cfg *cfg)
{
	int be6 = be->flags & XLB_BE_F_V6;
	int olen = be6 ? (int)sizeof(struct ipv6hdr) : (int)sizeof(struct iphdr);
	void *data, *data_end, *outer;
	struct ethhdr *eth;
	__be16 etype = be6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);

	if (bpf_xdp_adjust_head(ctx, -olen))
		return drop(XLB_G_DROP_INTERNAL);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (p->l2len == 18) {
		struct vlan_hdr *vh;

		if (data + 18 + sizeof(struct ipv6hdr) > data_end)
			return drop(XLB_G_DROP_INTERNAL);
		/* keep the tag: 12 bytes of MACs are rewritten below */
		__builtin_memcpy(data + 12, data + olen + 12, 4);
		vh = data + 14;
		vh->proto = etype;
		outer = data + 18;
	} else {
		if (data + 14 + sizeof(struct ipv6hdr) > data_end)
			return drop(XLB_G_DROP_INTERNAL);
		((struct ethhdr *)data)->h_proto = etype;
		outer = data + 14;
	}
	eth = data;
	__builtin_memcpy(eth->h_dest, be->nh_dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, be->nh_smac, ETH_ALEN);

	if (!be6) {
		struct iphdr *o = outer;

		o->version = 4;
		o->ihl = 5;
		o->tos = p->tos;
		o->tot_len = bpf_htons(p->l3len + sizeof(*o));
		o->id = 0;
		o->frag_off = p->df ? bpf_htons(IP_DF) : 0;
		o->ttl = 64;
		o->protocol = IPPROTO_IPIP;
		o->check = 0;
		o->saddr = cfg->src4_hostmask ? src4_of(cfg, pkt_hash(p))
					      : cfg->src4;
		o->daddr = be->addr[0];
		o->check = ipv4_csum(o);
	} else {
		struct ipv6hdr *o = outer;

		__u32 hash = pkt_hash(p);

		*(__be32 *)o = bpf_htonl(0x60000000 | ((__u32)p->tos << 20) |
					 xlb_flow_label(hash));
		o->payload_len = bpf_htons(p->l3len);
		o->nexthdr = p->v6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
		o->hop_limit = 64;
		__builtin_memcpy(&o->saddr, cfg->src6, 16);
		if (cfg->src6_hostmask[2] | cfg->src6_hostmask[3]) {
			__be32 *s = (__be32 *)&o->saddr;
			__be32 h = bpf_htonl(hash);

			s[2] = (s[2] & ~cfg->src6_hostmask[2]) |
			       (h & cfg->src6_hostmask[2]);
			s[3] = (s[3] & ~cfg->src6_hostmask[3]) |
			       (h & cfg->src6_hostmask[3]);
		}
		__builtin_memcpy(&o->daddr, be->addr, 16);
	}
	return XLB_CONTINUE;
}

/*
 * The common tail for a VIP packet: backend, next hop, size check,
 * encapsulation, transmit.
 */
static __always_inline int forward(struct xdp_md *ctx, struct pkt *p,
				   struct xlb_vip_val *vip)
{
	struct xlb_backend *be;
	struct xlb_rt_cfg *cfg;
	struct xlb_be_stats *bs;
	__u32 k = 0, slot, olen;
	int act;

	cfg = bpf_map_lookup_elem(&rt_cfg, &k);
	if (!cfg)
		return drop(XLB_G_DROP_INTERNAL);
	p->src_hash = !!(vip->flags & XLB_VIP_F_HASH_SRC_IP);
	be = p->v6 ? select6(p, vip, &slot) : select4(p, vip, &slot);
	if (!be) {
		vip_count_drop(vip->vip_id);
		return drop(XLB_G_DROP_NO_BACKEND);
	}
	if (be->nh_epoch != cfg->nh_epoch || !be->nh_ifindex) {
		act = nh_refill(ctx, be, slot, cfg->nh_epoch);
		if (act != XLB_CONTINUE) {
			vip_count_drop(vip->vip_id);
			return act;
		}
	}
	olen = (be->flags & XLB_BE_F_V6) ? XLB_ENCAP6_OVERHEAD
					  : XLB_ENCAP4_OVERHEAD;
	if (p->l3len + olen > be->nh_mtu) {
		__u32 mtu = be->nh_mtu - olen;

		if (p->icmp_err) /* never answer an error with an error */
			return drop(XLB_G_DROP_TOO_BIG);
		if (p->v6)
			return icmp6_too_big(ctx, p->l2len, mtu);
		if (!p->df)
			return drop(XLB_G_DROP_TOO_BIG);
		return icmp4_too_big(ctx, p->l2len, mtu);
	}
	act = encap(ctx, p, be, cfg);
	if (act != XLB_CONTINUE)
		return act;
	bs = bpf_map_lookup_elem(&backend_stats, &slot);
	if (bs) {
		bs->packets++;
		bs->bytes += p->l3len;
	}
	if (p->icmp_err)
		count(XLB_G_ICMP_ERR_FWD);
	if (p->l2len == 18 || be->nh_ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(be->nh_ifindex, 0);
}

/* Is the IP packet of tot bytes at l3off all there (frags included)? */
static __always_inline int len_ok(struct xdp_md *ctx, void *data,
				  void *data_end, __u32 l3off, __u32 tot)
{
	if (data + l3off + tot <= data_end)
		return 1;
	return l3off + tot <= bpf_xdp_get_buff_len(ctx);
}

/*
 * ICMP error about a VIP flow (the quoted packet went VIP -> client): the
 * flow is the quoted one reversed; forward it to that flow's backend.
 */
static __always_inline int icmp4_error(struct xdp_md *ctx, struct pkt *p,
				       struct iphdr *q, void *data_end)
{
	struct xlb_vip4_key k = {};
	struct xlb_vip_val *vip;
	__be16 *ports = (void *)(q + 1);

	if ((void *)(q + 1) > data_end || q->ihl != 5 ||
	    (void *)(ports + 2) > data_end)
		return drop(XLB_G_DROP_MALFORMED);
	if (q->protocol != IPPROTO_TCP && q->protocol != IPPROTO_UDP)
		return drop(XLB_G_DROP_ICMP);
	k.addr = q->saddr;
	k.port = ports[0];
	k.proto = q->protocol;
	vip = bpf_map_lookup_elem(&vip4_map, &k);
	if (!vip)
		return drop(XLB_G_DROP_ICMP);
	p->saddr[0] = q->daddr;
	p->daddr[0] = q->saddr;
	p->sport = ports[1];
	p->dport = ports[0];
	p->proto = q->protocol;
	p->icmp_err = 1;
	return forward(ctx, p, vip);
}

static __always_inline int icmp6_error(struct xdp_md *ctx, struct pkt *p,
				       struct ipv6hdr *q, void *data_end)
{
	struct xlb_vip6_key k = {};
	struct xlb_vip_val *vip;
	__be16 *ports = (void *)(q + 1);

	if ((void *)(ports + 2) > data_end)
		return drop(XLB_G_DROP_MALFORMED);
	if (q->nexthdr != IPPROTO_TCP && q->nexthdr != IPPROTO_UDP)
		return drop(XLB_G_DROP_ICMP);
	__builtin_memcpy(k.addr, &q->saddr, 16);
	k.port = ports[0];
	k.proto = q->nexthdr;
	vip = bpf_map_lookup_elem(&vip6_map, &k);
	if (!vip)
		return drop(XLB_G_DROP_ICMP);
	__builtin_memcpy(p->saddr, &q->daddr, 16);
	__builtin_memcpy(p->daddr, &q->saddr, 16);
	p->sport = ports[1];
	p->dport = ports[0];
	p->proto = q->nexthdr;
	p->icmp_err = 1;
	return forward(ctx, p, vip);
}

/* ---- IPv4 ---- */
static __always_inline int process4(struct xdp_md *ctx, __u32 l2len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + l2len;
	struct xlb_vip4_key key = {};
	struct xlb_vip_val *vip;
	struct pkt p = {};
	__u32 tot;

	if ((void *)(iph + 1) > data_end)
		return pass(); /* too short to tell: the kernel judges it */

	/* Common case first: a well-formed TCP/UDP packet, no options. */
	tot = bpf_ntohs(iph->tot_len);
	if (iph->ihl == 5 && iph->version == 4 &&
	    !(iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)) &&
	    (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP)) {
		__be16 *ports = (void *)(iph + 1);

		if ((void *)(ports + 2) > data_end)
			goto slow;
		key.addr = iph->daddr;
		key.port = ports[1];
		key.proto = iph->protocol;
		vip = bpf_map_lookup_elem(&vip4_map, &key);
		if (!vip)
			return pass();
		if (tot < sizeof(*iph) + 8 || !len_ok(ctx, data, data_end, l2len, tot))
			goto bad;
		if (iph->protocol == IPPROTO_TCP) {
			struct tcphdr *th = (void *)(iph + 1);

			if ((void *)(th + 1) > data_end || th->doff < 5 ||
			    tot < sizeof(*iph) + sizeof(*th))
				goto bad;
			p.bare_syn = th->syn && !th->ack;
		}
		p.l2len = l2len;
		p.l3len = tot;
		p.tos = iph->tos;
		p.df = !!(iph->frag_off & bpf_htons(IP_DF));
		p.proto = iph->protocol;
		p.sport = ports[0];
		p.dport = ports[1];
		p.saddr[0] = iph->saddr;
		p.daddr[0] = iph->daddr;
		return forward(ctx, &p, vip);
	}

slow:
	/* Anything else matters only when the address has a VIP. */
	if (!is_vip_addr4(iph->daddr))
		return pass();
	if (iph->version != 4 || iph->ihl < 5)
		goto bad;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return drop(XLB_G_DROP_FRAGMENT);
	if (iph->ihl > 5)
		return drop(XLB_G_DROP_IPV4_OPTIONS);
	if (iph->protocol == IPPROTO_ICMP) {
		struct icmphdr *ic = (void *)(iph + 1);

		if ((void *)(ic + 1) > data_end ||
		    tot < sizeof(*iph) + sizeof(*ic) ||
		    !len_ok(ctx, data, data_end, l2len, tot))
			goto bad;
		if (ic->type == ICMP_ECHO && ic->code == 0)
			return icmp4_echo(ctx, data, iph, ic);
		if (ic->type == ICMP_DEST_UNREACH || ic->type == ICMP_TIME_EXCEEDED) {
			p.l2len = l2len;
			p.l3len = tot;
			p.tos = iph->tos;
			p.df = !!(iph->frag_off & bpf_htons(IP_DF));
			return icmp4_error(ctx, &p, (void *)(ic + 1), data_end);
		}
		return drop(XLB_G_DROP_ICMP);
	}
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return pass(); /* another protocol to a VIP address: not ours */
bad:
	return drop(XLB_G_DROP_MALFORMED);
}

/* ---- IPv6 ---- */

/* Skip hop-by-hop, routing (segments left 0) and destination options;
 * returns the upper-layer protocol and its offset, or a drop reason as a
 * negative value. */
#define XLB_V6_FRAG (-2)
#define XLB_V6_ROUTING (-3)
#define XLB_V6_BAD (-4)

static __always_inline int skip_ext6(void *data, void *data_end, __u32 *off,
				     __u8 nh)
{
#pragma unroll
	for (int i = 0; i < 5; i++) { /* 4 headers, then L4 */
		__u8 *ext = data + *off;

		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_DSTOPTS:
			break;
		case IPPROTO_ROUTING:
			if ((void *)(ext + 4) > data_end)
				return XLB_V6_BAD;
			if (ext[3]) /* segments left: not the final destination */
				return XLB_V6_ROUTING;
			break;
		case IPPROTO_FRAGMENT:
			return XLB_V6_FRAG;
		default:
			return nh;
		}
		if ((void *)(ext + 2) > data_end)
			return XLB_V6_BAD;
		nh = ext[0];
		*off += ((__u32)ext[1] + 1) * 8;
	}
	return XLB_V6_BAD;
}

static __always_inline int process6(struct xdp_md *ctx, __u32 l2len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + l2len;
	struct xlb_vip6_key key = {};
	struct xlb_vip_val *vip;
	struct pkt p = {};
	__u32 off, tot;
	int nh;

	if ((void *)(ip6 + 1) > data_end)
		return pass();
	tot = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	off = l2len + sizeof(*ip6);
	nh = ip6->nexthdr;
	if (nh == IPPROTO_TCP || nh == IPPROTO_UDP) {
		__be16 *ports = data + off;

		if ((void *)(ports + 2) > data_end)
			goto slow;
		__builtin_memcpy(key.addr, &ip6->daddr, 16);
		key.port = ports[1];
		key.proto = nh;
		vip = bpf_map_lookup_elem(&vip6_map, &key);
		if (!vip)
			return pass();
		if (ip6->version != 6 || !len_ok(ctx, data, data_end, l2len, tot))
			goto bad;
		if (nh == IPPROTO_TCP) {
			struct tcphdr *th = (void *)ports;

			if ((void *)(th + 1) > data_end || th->doff < 5 ||
			    tot < sizeof(*ip6) + sizeof(*th))
				goto bad;
			p.bare_syn = th->syn && !th->ack;
		} else if (tot < sizeof(*ip6) + 8) {
			goto bad;
		}
		goto fwd;
	}
slow:
	if (!is_vip_addr6((__be32 *)&ip6->daddr))
		return pass();
	if (ip6->version != 6)
		goto bad;
	nh = skip_ext6(data, data_end, &off, nh);
	if (nh == XLB_V6_FRAG)
		return drop(XLB_G_DROP_FRAGMENT);
	if (nh == XLB_V6_ROUTING)
		return drop(XLB_G_DROP_IPV6_ROUTING);
	if (nh < 0 || off > 0xffff || !len_ok(ctx, data, data_end, l2len, tot))
		goto bad;
	if (nh == IPPROTO_ICMPV6) {
		struct icmp6hdr *ic = data + off;

		if ((void *)(ic + 1) > data_end)
			goto bad;
		if (ic->icmp6_type == ICMPV6_ECHO_REQUEST && ic->icmp6_code == 0)
			return icmp6_echo(ctx, data, ip6, ic);
		if (ic->icmp6_type == ICMPV6_DEST_UNREACH ||
		    ic->icmp6_type == ICMPV6_PKT_TOOBIG ||
		    ic->icmp6_type == ICMPV6_TIME_EXCEED) {
			p.l2len = l2len;
			p.l3len = tot;
			p.v6 = 1;
			p.df = 1;
			p.tos = (bpf_ntohl(*(__be32 *)ip6) >> 20) & 0xff;
			return icmp6_error(ctx, &p, (void *)(ic + 1), data_end);
		}
		if (ic->icmp6_type >= 128) /* other informational: not for us */
			return drop(XLB_G_DROP_ICMP);
		return drop(XLB_G_DROP_ICMP);
	}
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP)
		return pass();
	{
		__be16 *ports = data + off;

		if ((void *)(ports + 2) > data_end)
			goto bad;
		__builtin_memcpy(key.addr, &ip6->daddr, 16);
		key.port = ports[1];
		key.proto = nh;
		vip = bpf_map_lookup_elem(&vip6_map, &key);
		if (!vip)
			return pass();
		if (nh == IPPROTO_TCP) {
			struct tcphdr *th = (void *)ports;

			if ((void *)(th + 1) > data_end || th->doff < 5)
				goto bad;
			p.bare_syn = th->syn && !th->ack;
		}
	}
fwd:
	{
		__be16 *ports = data + off;

		if ((void *)(ports + 2) > data_end)
			goto bad;
		p.sport = ports[0];
		p.dport = ports[1];
	}
	p.l2len = l2len;
	p.l3len = tot;
	p.v6 = 1;
	p.df = 1;
	p.tos = (bpf_ntohl(*(__be32 *)ip6) >> 20) & 0xff;
	p.proto = nh;
	__builtin_memcpy(p.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p.daddr, &ip6->daddr, 16);
	return forward(ctx, &p, vip);
bad:
	return drop(XLB_G_DROP_MALFORMED);
}

SEC("xdp.frags")
int xlb_balancer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__be16 proto;
	__u32 l2len = sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return pass();
	proto = eth->h_proto;
	if (proto == ETH_P_8021Q_BE) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return pass();
		proto = vh->proto;
		l2len += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_IP))
		return process4(ctx, l2len);
	if (proto == bpf_htons(ETH_P_IPV6))
		return process6(ctx, l2len);
	return pass();
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
