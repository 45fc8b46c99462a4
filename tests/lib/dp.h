/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * dp.h - fixture for packet-level tests of the XDP balancer.
 *
 * The real program is loaded with private maps through user/maps.c (the
 * code xlbd uses), VIPs and backends are written through maps_* and
 * tables built with maglev_build(), and frames are run once each with
 * BPF_PROG_TEST_RUN with ingress_ifindex set, so that bpf_fib_lookup()
 * resolves next hops in the test's own network namespace
 * (dp_netns_setup()).  The checks report every mismatch naming the field
 * and both values, e.g. "outer daddr 198.51.100.11, expected 198.51.100.12".
 */
#ifndef XLB_TEST_DP_H
#define XLB_TEST_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xlb_common.h"
#include "addr.h"
#include "maps.h"
#include "pkt.h"

/*
 * Topology of the private namespace (documentation addresses only):
 *   xt0 (02:00:00:00:00:10) 192.0.2.1/24, 2001:db8::1/64 -- veth -- xt1
 *   gateway 192.0.2.254 / 2001:db8::fe, PERMANENT neighbour 02:00:00:00:00:01
 *   198.51.100.0/24    via 192.0.2.254           (MTU 1500, the device's)
 *   198.51.100.128/25  via 192.0.2.254 mtu lock 1400 (too-big)
 *   198.51.100.64/26   via 192.0.2.253           (no neighbour: misses)
 *   2001:db8:1::/64          via 2001:db8::fe
 *   2001:db8:1:0:8000::/65   via 2001:db8::fe mtu lock 1400
 *   2001:db8:1:0:4000::/66   via 2001:db8::fe mtu lock 1300
 *   2001:db8:2::/64          via 2001:db8::fd    (no neighbour)
 */
#define DP_IFNAME "xt0"
#define DP_LB4 "192.0.2.1"
#define DP_LB6 "2001:db8::1"
#define DP_NOGW4 "192.0.2.253"
#define DP_NOGW6 "2001:db8::fd"
extern const uint8_t dp_gw_mac[6];

#define DP_MAX_SLOTS 256
#define DP_OUT_MAX 8192
#define DP_MAX_EVENTS 64

/* Create a network namespace for this process (unshare) and the topology
 * above in it.  Returns the ifindex of xt0, or -1 with err set. */
int dp_netns_setup(char *err, size_t errlen);
/* Run a shell command (in the test namespace); returns its exit status. */
int dp_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct ring_buffer;

struct dp {
	struct maps *m;
	int prog_fd;
	int ifindex;
	uint8_t if_mac[6];
	/* encapsulation source as configured, to compute expectations */
	uint8_t src4[16], src6[16];
	int plen4, plen6;
	uint32_t icmp_rate;
	/* backend slots as assigned */
	struct xlb_addr be_addr[DP_MAX_SLOTS];
	uint32_t be_gen[DP_MAX_SLOTS];
	bool be_used[DP_MAX_SLOTS];
	/* neighbour-miss events read from the ring buffer */
	struct ring_buffer *rb;
	struct xlb_neigh_event ev[DP_MAX_EVENTS];
	int nev;
};

struct dp_vip {
	uint32_t id;
	int family;
	uint8_t addr[16];
	uint16_t port;
	uint8_t proto;
	uint32_t flags;	 /* XLB_VIP_F_* */
	uint32_t m;	 /* size of the live table; 0: none */
	uint32_t *table; /* the live table as built */
	char text[48];	 /* the address as text */
};

struct dp_out {
	uint32_t act;
	size_t len;
	uint8_t buf[DP_OUT_MAX];
};

/* Open the program with private maps (maps_open(bpffs = NULL)) and set
 * the runtime configuration: source DP_LB4/DP_LB6, icmp_rate 1000. */
int dp_open(struct dp *d, int ifindex, uint32_t max_vips,
	    uint32_t max_backends, uint64_t conntrack_size);
void dp_close(struct dp *d);
/* maps_set_rt(): encapsulation sources (address or prefix), ICMP rate. */
int dp_set_rt(struct dp *d, const char *src4, int plen4, const char *src6,
	      int plen6, uint32_t icmp_rate);

/* Give a backend slot to an address (next generation of the slot);
 * flags 0 means XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP. */
void dp_backend(struct dp *d, uint32_t slot, uint32_t vip_id,
		const char *addr, uint32_t flags);
void dp_backend_flags(struct dp *d, uint32_t slot, uint32_t flags);
void dp_backend_release(struct dp *d, uint32_t slot);

/* Add a VIP (and its address marker) through maps_vip_put(). */
int dp_vip_add(struct dp *d, struct dp_vip *v, uint32_t id, const char *addr,
	       uint16_t port, uint8_t proto, uint32_t flags);
/* Build the VIP's Maglev table (m entries) over backend slots (weights
 * NULL: 100 each) with maglev_build() and make it live with
 * maps_tables_swap().  n = 0 gives a table without backends. */
int dp_vip_table(struct dp *d, struct dp_vip *v, uint32_t m,
		 const uint32_t *slots, const uint32_t *weights, size_t n);
/* Build only (no swap), into v->table; for tests that swap themselves. */
int dp_build_table(struct dp *d, uint32_t m, const uint32_t *slots,
		   const uint32_t *weights, size_t n, uint32_t *table);

/* The flow hash the program computes for this packet of v's, and the
 * backend slot v's live table gives for it (common/xlb_hash.h). */
uint32_t dp_flow_hash(const struct dp_vip *v, const struct pkt_spec *s);
uint32_t dp_vip_choice(const struct dp_vip *v, uint32_t hash);
uint32_t dp_table_choice(const uint32_t *table, uint32_t m, uint32_t hash);

/* One BPF_PROG_TEST_RUN (repeat 1, ingress_ifindex set). 0 or -errno. */
int dp_run(struct dp *d, const uint8_t *in, size_t len, struct dp_out *o);
const char *dp_act_str(uint32_t act);

/* Slot whose address is addr (family/bytes), or -1. */
int dp_slot_of(struct dp *d, int family, const uint8_t *addr);
/* "198.51.100.11 (slot 3)" */
const char *dp_slot_str(struct dp *d, uint32_t slot, char *buf, size_t len);
/* Backend an encapsulated output goes to (its outer daddr), or -1. */
int dp_out_slot(struct dp *d, const struct dp_out *o);

/* ---- checks: each failure is reported to CUnit with the case name,
 * the field and both values; they return true when all matched ---- */
extern const char *dp_case;
void dp_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dp_pass_at(const char *file, int line);
#define DP_FAIL(...) dp_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define DP_EXPECT_U(what, got, exp)                                           \
	({                                                                    \
		unsigned long long g_ = (got), e_ = (exp);                    \
		if (g_ != e_)                                                 \
			DP_FAIL("%s %llu, expected %llu", (what), g_, e_);    \
		else                                                          \
			dp_pass_at(__FILE__, __LINE__);                       \
		g_ == e_;                                                     \
	})
#define DP_EXPECT_X(what, got, exp)                                           \
	({                                                                    \
		unsigned long long g_ = (got), e_ = (exp);                    \
		if (g_ != e_)                                                 \
			DP_FAIL("%s 0x%llx, expected 0x%llx", (what), g_, e_);\
		else                                                          \
			dp_pass_at(__FILE__, __LINE__);                       \
		g_ == e_;                                                     \
	})
#define DP_EXPECT(cond, ...)                                                  \
	({                                                                    \
		bool c_ = (cond);                                             \
		if (!c_)                                                      \
			DP_FAIL(__VA_ARGS__);                                 \
		else                                                          \
			dp_pass_at(__FILE__, __LINE__);                       \
		c_;                                                           \
	})

bool dp_expect_addr(const char *what, int family, const uint8_t *got,
		    const uint8_t *exp);
bool dp_expect_mac(const char *what, const uint8_t *got, const uint8_t *exp);

/* The verdict is act and the frame came back byte for byte unchanged. */
bool dp_check_untouched(const uint8_t *in, size_t len, const struct dp_out *o,
			uint32_t act);
/* The frame went out (XDP_TX) encapsulated toward backend slot: MACs
 * (dmac NULL: the gateway's), VLAN tag kept, every outer header field,
 * outer source from the configured source and the flow hash, inner packet
 * byte for byte the client's. */
bool dp_check_encap(struct dp *d, const uint8_t *in, size_t in_len,
		    const struct dp_out *o, uint32_t slot, uint32_t hash);
bool dp_check_encap_mac(struct dp *d, const uint8_t *in, size_t in_len,
			const struct dp_out *o, uint32_t slot, uint32_t hash,
			const uint8_t *dmac);

/* ---- statistics ---- */
struct dp_snap {
	uint64_t g[XLB_G__MAX];
};
void dp_snap(struct dp *d, struct dp_snap *s);
/* Every global counter moved by exactly the listed (counter, delta)
 * pairs since s (ended by -1); all others did not move. */
bool dp_expect_global(struct dp *d, const struct dp_snap *s, ...);
const char *dp_counter_name(int idx);

/* Read the neighbour-miss ring buffer: events since the last call. */
int dp_neigh_events(struct dp *d);

#endif
