/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xlb_common.h - the data plane's map layout, shared by kern/ and user/.
 *
 * Everything here is fixed-width and explicitly padded: the same bytes are
 * read by the XDP program and written by xlbd.  Changing a struct or a map
 * here changes the pinned layout: bump XLB_LAYOUT_VERSION so that a running
 * data plane of the old layout is refused rather than misread.
 * docs/design.md explains every map and the update protocol.
 */
#ifndef XLB_COMMON_H
#define XLB_COMMON_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define XLB_LAYOUT_VERSION 1

/* Sentinel for "no backend" in a Maglev slot or a lookup result. */
#define XLB_NO_BACKEND 0xffffffffu

/* UDP connection-table entries expire after this long without a packet. */
#define XLB_UDP_IDLE_NS (30ull * 1000000000ull)

/* A neighbour miss is reported to xlbd at most this often per backend. */
#define XLB_NEIGH_NOTIFY_NS (100ull * 1000000ull)

/* Outer header overhead of the encapsulations. */
#define XLB_ENCAP4_OVERHEAD 20
#define XLB_ENCAP6_OVERHEAD 40

/* ---- VIP map: (address, port, protocol) -> VIP ---- */

/* An entry with port 0 and proto 0 marks an address that has at least one
 * VIP: it decides ICMP echo, fragments and malformed packets. */
struct xlb_vip4_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct xlb_vip6_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto;
	__u8 pad;
};

#define XLB_VIP_F_HASH_SRC_IP (1u << 0) /* hash the client address only */
#define XLB_VIP_F_ADDR_ONLY (1u << 1)	/* address marker, not a service */

struct xlb_vip_val {
	__u32 vip_id; /* index into maglev_outer and vip_stats */
	__u32 flags;  /* XLB_VIP_F_* */
};

/* ---- Maglev tables: maglev_outer[vip_id] -> inner ARRAY of __u64 ----
 * The inner map holds a __u32 array A, two entries per 8-byte element:
 * A[0] is the table size M; A[1..M] are backend slots (indexes into the
 * backends map) or XLB_NO_BACKEND.  Keeping M inside the inner map makes
 * size and contents one atomic unit: the outer-map update that makes a
 * table live switches both.  Element of A[i]: i / 2, half: i % 2. */
#define XLB_MAGLEV_HDR 1
/* Inner map elements for a table of m slots. */
#define XLB_MAGLEV_ELEMS(m) (((m) + XLB_MAGLEV_HDR + 1) / 2)

/* ---- Backends: ARRAY indexed by backend slot ----
 * A slot belongs to one (VIP, backend) pair.  xlbd writes addr/gen/flags;
 * the data plane writes the next-hop cache (nh_*).  64 bytes, one cache
 * line: a connection-table hit reads exactly this line. */
#define XLB_BE_F_V6 (1u << 0)	     /* addr is IPv6 */
#define XLB_BE_F_ALIVE (1u << 1)     /* recorded flows may stay here */
#define XLB_BE_F_HEALTH_UP (1u << 2) /* health: up (persisted for restarts) */
#define XLB_BE_F_HEALTH_DOWN (1u << 3) /* health: down; neither: unchecked */
#define XLB_BE_F_USED (1u << 4)	       /* slot belongs to a (VIP, backend) */

struct xlb_backend {
	__be32 addr[4]; /* IPv4 in addr[0] */
	__u32 gen;	/* bumped each time the slot is given to a backend */
	__u32 flags;	/* XLB_BE_F_* */
	/* next-hop cache, filled by the data plane from bpf_fib_lookup */
	__u32 nh_epoch;	  /* valid while equal to xlb_rt_cfg.nh_epoch */
	__u32 nh_ifindex; /* egress interface */
	__u8 nh_dmac[6];
	__u16 nh_mtu; /* egress MTU */
	__u8 nh_smac[6];
	__u16 vip_id; /* owner VIP (for adoption after a restart) */
	__u64 nh_notify_ns; /* last neighbour-miss report (throttle) */
	__u64 pad1;
};

/* ---- Connection table: LRU_HASH, one shared by all CPUs per family ---- */
struct xlb_ct4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct xlb_ct6_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct xlb_ct_val {
	__u32 backend; /* backend slot */
	__u32 gen;     /* the slot's generation when recorded */
	__u32 atime;   /* UDP: last packet, coarse ns >> 20 (~1 ms); TCP: 0 */
	__u32 hash;    /* the flow hash: a hit needs no rehash (flow label) */
};

/* atime units: 2^20 ns; u32 arithmetic wraps after ~52 days, far beyond
 * the idle timeout. */
#define XLB_ATIME_SHIFT 20
#define XLB_UDP_IDLE_UNITS ((__u32)(XLB_UDP_IDLE_NS >> XLB_ATIME_SHIFT))
#define XLB_ATIME_REFRESH_UNITS ((__u32)(1000000000ull >> XLB_ATIME_SHIFT))

/* ---- Runtime configuration: ARRAY of one, mmapable ---- */
struct xlb_rt_cfg {
	__u32 layout_version; /* XLB_LAYOUT_VERSION of the writer */
	__u32 nh_epoch;	      /* bumped by xlbd on route/neighbour changes */
	__be32 src4;	      /* outer IPv4 source */
	__be32 src4_hostmask; /* bits of src4 taken from the flow hash */
	__be32 src6[4];
	__be32 src6_hostmask[4];
	__u32 icmp_rate; /* ICMP replies per second per CPU; 0 = unlimited */
	__u32 ifindex;	 /* interface the program is attached to */
	__u64 max_vips;	    /* sizes the pinned state was created with */
	__u64 max_backends;
	__u64 conntrack_size;
};

/* ---- Statistics (PERCPU_ARRAY), summed by xlbd ---- */
struct xlb_be_stats {
	__u64 packets;
	__u64 bytes;
};

struct xlb_vip_stats {
	__u64 new_syn;	  /* bare SYNs (table choice, nothing recorded) */
	__u64 new_nonsyn; /* connection-table misses that recorded a flow */
	__u64 drop_packets; /* dropped packets addressed to this VIP */
	__u64 pad;
};

/* Global counters: one PERCPU_ARRAY entry of __u64[XLB_G__MAX]. */
#define XLB_GLOBAL_COUNTERS(X)                                              \
	X(PASS, "passed")                 /* non-VIP traffic, XDP_PASS */  \
	X(ICMP_ECHO, "icmp_echo_replies") /* echo requests answered */     \
	X(TOO_BIG, "too_big_sent")        /* frag-needed / PTB sent */     \
	X(ICMP_ERR_FWD, "icmp_errors_forwarded")                           \
	X(ICMP_RATELIMITED, "icmp_rate_limited")                           \
	X(NEIGH_MISS, "neighbour_misses")                                  \
	X(DROP_FRAGMENT, "drop_fragment")                                  \
	X(DROP_MALFORMED, "drop_malformed")                                \
	X(DROP_IPV4_OPTIONS, "drop_ipv4_options")                          \
	X(DROP_IPV6_ROUTING, "drop_ipv6_routing")                          \
	X(DROP_NO_BACKEND, "drop_no_backend")                              \
	X(DROP_TOO_BIG, "drop_too_big")                                    \
	X(DROP_NO_ROUTE, "drop_no_route")                                  \
	X(DROP_NEIGH_MISS, "drop_neighbour_miss")                          \
	X(DROP_ICMP, "drop_icmp_unhandled")                                \
	X(DROP_ICMP_RATELIMIT, "drop_icmp_rate_limited")                   \
	X(DROP_INTERNAL, "drop_internal")

#define XLB_G_ENUM(name, str) XLB_G_##name,
enum xlb_global_counter { XLB_GLOBAL_COUNTERS(XLB_G_ENUM) XLB_G__MAX };
#undef XLB_G_ENUM

struct xlb_global_stats {
	__u64 cnt[XLB_G__MAX];
};

/* ---- ICMP rate limiter: PERCPU_ARRAY of one token bucket ---- */
struct xlb_icmp_bucket {
	__u64 tokens; /* scaled by 2^20 */
	__u64 last_ns;
};

/* ---- Neighbour-miss events: RINGBUF to xlbd ---- */
struct xlb_neigh_event {
	__u32 family; /* AF_INET / AF_INET6 */
	__u32 ifindex;
	__be32 addr[4]; /* next hop to resolve (gateway or backend) */
	__u32 backend;
	__u32 pad;
};

#endif /* XLB_COMMON_H */
