/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * decap_common.h - what the backend-side decapsulation program (decap.bpf.c)
 * and its tool (xlb-decap) share: map names, keys, values and the counters.
 *
 * Fixed-width types only, nothing from libc or the BPF helpers: both sides
 * include this file.  docs/decap.md explains every counter.
 */
#ifndef XLB_DECAP_COMMON_H
#define XLB_DECAP_COMMON_H

#include <linux/types.h>

/* The program's name as the kernel reports it (bpf_prog_info.name): the
 * tool recognises its own attachment by it. */
#define DECAP_PROG_NAME "xlb_decap"

/* Map names (bpf_map_info.name), found through the program's map ids. */
#define DECAP_MAP_VIP4 "decap_vip4"
#define DECAP_MAP_VIP6 "decap_vip6"
#define DECAP_MAP_STATS "decap_stats"
#define DECAP_MAP_CFG "decap_cfg"

/* Capacity of each VIP map (addresses, not services). */
#define DECAP_MAX_VIPS 4096

/* VIP maps: HASH, key = the inner destination address, value = flags. */
struct decap_vip6_key {
	__be32 addr[4];
};

struct decap_vip_val {
	__u32 flags; /* reserved, 0 */
};

/* decap_cfg[0]: written by xlb-decap at attach, read by xlb-decap status
 * and check (the program never reads it). */
#define DECAP_CFG_F_LOCAL (1u << 0) /* VIPs are the host's local addresses */

struct decap_cfg {
	__u32 flags;	       /* DECAP_CFG_F_* */
	__u32 pad;
	__u64 attach_realtime; /* seconds since the epoch of the last attach */
};

/*
 * Counters: decap_stats is a PERCPU_ARRAY of one entry of
 * __u64[DECAP_C__MAX], summed by the tool.  Every packet is counted exactly
 * once.  X(index, name, meaning)
 */
#define DECAP_COUNTERS(X)                                                    \
	X(DECAP_V4IN4, "decap_v4in4", "IPv4-in-IPv4 decapsulated")           \
	X(DECAP_V6IN6, "decap_v6in6", "IPv6-in-IPv6 decapsulated")           \
	X(DECAP_V4IN6, "decap_v4in6", "IPv4-in-IPv6 decapsulated")           \
	X(PASS_NOT_TUNNEL, "pass_not_tunnel",                                \
	  "not IPv4-in-IPv4/IPv6-in-IPv6/IPv4-in-IPv6, passed")              \
	X(PASS_NOT_VIP, "pass_not_vip",                                      \
	  "tunnel whose inner destination is not a VIP, passed")            \
	X(PASS_UNPARSED, "pass_unparsed",                                    \
	  "tunnel the program cannot read (outer fragment, inner header "   \
	  "cut, unknown extension header), passed to the kernel")           \
	X(DROP_MALFORMED, "drop_malformed",                                  \
	  "tunnel to a VIP with a bad outer checksum or inner header")      \
	X(DROP_TRUNCATED, "drop_truncated",                                  \
	  "tunnel to a VIP shorter than its outer header says")             \
	X(DROP_ECN, "drop_ecn",                                              \
	  "outer ECN CE on a not-ECT inner packet (RFC 6040)")              \
	X(DROP_INTERNAL, "drop_internal",                                    \
	  "bpf_xdp_adjust_head failed")

#define DECAP_X_ENUM(idx, name, help) DECAP_C_##idx,
enum decap_counter { DECAP_COUNTERS(DECAP_X_ENUM) DECAP_C__MAX };
#undef DECAP_X_ENUM

struct decap_stats {
	__u64 c[DECAP_C__MAX];
};

#endif
