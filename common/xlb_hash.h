/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xlb_hash.h - the flow hash and the Maglev slot index.
 *
 * The XDP program, xlbd, `xlbctl explain` and the tests must compute these
 * identically, so there is exactly one definition: small static inline
 * functions free of libc and BPF helpers.  The hash is murmur3's 32-bit
 * block function over the header words as they lie in memory, with a fixed
 * seed: two xlb hosts behind ECMP pick the same backend for a flow.  (The
 * words are read in host byte order; every supported host is little
 * endian.)  The slot index is Lemire's multiply-shift reduction, cheaper
 * than a modulo and as uniform for M < 2^32.
 */
#ifndef XLB_HASH_H
#define XLB_HASH_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define XLB_HASH_SEED 0x7862u /* fixed: tables must agree across hosts */

static inline __u32 xlb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline __u32 xlb_hash_step(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51u;
	w = xlb_rotl32(w, 15);
	w *= 0x1b873593u;
	h ^= w;
	h = xlb_rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

static inline __u32 xlb_hash_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* 5-tuple hash of an IPv4 flow; addresses and ports in network order. */
static inline __u32 xlb_flow_hash4(__be32 saddr, __be32 daddr, __be16 sport,
				   __be16 dport, __u8 proto)
{
	__u32 h = XLB_HASH_SEED;

	h = xlb_hash_step(h, (__u32)saddr);
	h = xlb_hash_step(h, (__u32)daddr);
	h = xlb_hash_step(h, ((__u32)sport << 16) | (__u32)dport);
	h = xlb_hash_step(h, proto);
	return xlb_hash_final(h, 13);
}

/* Client-affinity hash (VIP hash "src_ip"): the client address alone. */
static inline __u32 xlb_src_hash4(__be32 saddr)
{
	return xlb_hash_final(xlb_hash_step(XLB_HASH_SEED, (__u32)saddr), 4);
}

static inline __u32 xlb_flow_hash6(const __be32 *saddr, const __be32 *daddr,
				   __be16 sport, __be16 dport, __u8 proto)
{
	__u32 h = XLB_HASH_SEED;

	h = xlb_hash_step(h, (__u32)saddr[0]);
	h = xlb_hash_step(h, (__u32)saddr[1]);
	h = xlb_hash_step(h, (__u32)saddr[2]);
	h = xlb_hash_step(h, (__u32)saddr[3]);
	h = xlb_hash_step(h, (__u32)daddr[0]);
	h = xlb_hash_step(h, (__u32)daddr[1]);
	h = xlb_hash_step(h, (__u32)daddr[2]);
	h = xlb_hash_step(h, (__u32)daddr[3]);
	h = xlb_hash_step(h, ((__u32)sport << 16) | (__u32)dport);
	h = xlb_hash_step(h, proto);
	return xlb_hash_final(h, 37);
}

static inline __u32 xlb_src_hash6(const __be32 *saddr)
{
	__u32 h = XLB_HASH_SEED;

	h = xlb_hash_step(h, (__u32)saddr[0]);
	h = xlb_hash_step(h, (__u32)saddr[1]);
	h = xlb_hash_step(h, (__u32)saddr[2]);
	h = xlb_hash_step(h, (__u32)saddr[3]);
	return xlb_hash_final(h, 16);
}

/* Maglev slot (0..m-1) of a flow hash, for a table of m entries. */
static inline __u32 xlb_slot_index(__u32 hash, __u32 m)
{
	return (__u32)(((__u64)hash * m) >> 32);
}

/* Outer IPv6 flow label from the flow hash: 20 bits, never 0. */
static inline __u32 xlb_flow_label(__u32 hash)
{
	__u32 l = hash & 0xfffffu;

	return l ? l : 1;
}

#endif /* XLB_HASH_H */
