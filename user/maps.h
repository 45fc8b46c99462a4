/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * maps.h - the data plane's maps (maps_): the ONLY code that writes them.
 *
 * Everything else in xlbd (config, health, control socket) changes the
 * data plane through this API.  The write order that keeps every instant
 * safe is documented in docs/design.md ("Update protocol"):
 *  - a VIP's table is built in a fresh inner map and made live with one
 *    outer-map update (which returns after an RCU grace period);
 *  - a backend slot is written (address, then generation, then flags)
 *    before any table points at it, and freed only after a swap removed it
 *    from every table (that swap is the barrier);
 *  - recorded flows are protected by the slot's generation and ALIVE flag.
 */
#ifndef XLB_MAPS_H
#define XLB_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include "xlb_common.h"
#include "addr.h"

struct maps;
struct xlb;   /* the skeleton */

struct maps_sizes {
	uint32_t max_vips;
	uint32_t max_backends;
	uint64_t conntrack_size; /* total: split 3/4 IPv4, 1/4 IPv6 */
};

/*
 * Open the data plane.  With bpffs != NULL, maps are pinned there: pinned
 * state is adopted when present (layout version and sizes must match, else
 * -ESTALE with the reason and what to do in err), else created and pinned.
 * bpffs == NULL: private maps (tests).  The program is loaded (not
 * attached).  *adopted tells whether pinned state was found.
 */
int maps_open(struct maps **out, const char *bpffs,
	      const struct maps_sizes *sz, bool *adopted, char *err,
	      size_t errlen);
void maps_close(struct maps *m); /* leaves pins and attachment alone */
int maps_prog_fd(const struct maps *m);
struct xlb *maps_skel(struct maps *m);
const struct maps_sizes *maps_sizes(const struct maps *m);

/* Read what pinned state holds (for --teardown / refusal messages):
 * 0, -ENOENT when nothing is pinned, or -errno. */
int maps_read_pinned_cfg(const char *bpffs, struct xlb_rt_cfg *out);

/* ---- runtime settings ---- */
int maps_set_rt(struct maps *m, const struct xlb_addr *src4, int plen4,
		const struct xlb_addr *src6, int plen6, uint32_t icmp_rate,
		uint32_t ifindex);
/* Invalidate every backend's next-hop cache (route/neighbour change). */
void maps_nh_invalidate(struct maps *m);

/* ---- VIPs ---- */
/* port 0 / proto 0 is the address marker (ICMP, fragments, malformed). */
int maps_vip_put(struct maps *m, const struct xlb_addr *a, uint16_t port,
		 uint8_t proto, uint32_t vip_id, uint32_t flags);
int maps_vip_del(struct maps *m, const struct xlb_addr *a, uint16_t port,
		 uint8_t proto);
/* Iterate the VIP maps (adoption): cb per entry. */
typedef void (*maps_vip_cb)(void *arg, const struct xlb_addr *a, uint16_t port,
			    uint8_t proto, const struct xlb_vip_val *v);
int maps_vip_foreach(struct maps *m, maps_vip_cb cb, void *arg);

/* ---- Maglev tables ---- */
struct maps_table {
	uint32_t vip_id;
	uint32_t size;	      /* M */
	const uint32_t *slots; /* M backend slots or XLB_NO_BACKEND */
};
/* Make n tables live (one batched outer update: one grace period).
 * All-or-nothing: when a table cannot be created nothing is switched. */
int maps_tables_swap(struct maps *m, const struct maps_table *t, size_t n);
/* The same in two steps, so that a caller can create every table before
 * changing anything: prepare returns the new inner map's fd (or -errno);
 * commit switches them, at most 64 per batched update, and closes every
 * fd whatever happens. */
int maps_table_prepare(const struct maps_table *t);
int maps_tables_commit(struct maps *m, const uint32_t *vip_ids,
		       const int *fds, size_t n);
int maps_table_del(struct maps *m, uint32_t vip_id);
/* Slot idx (0-based) of vip_id's live table; XLB_NO_BACKEND if none. */
int maps_table_lookup(struct maps *m, uint32_t vip_id, uint32_t idx,
		      uint32_t *slot, uint32_t *size);
/* Wait until no program can still run with what was replaced before. */
int maps_barrier(struct maps *m);

/* ---- backend slots ---- */
/* Give slot to (vip_id, addr) with generation gen: address first, then
 * gen, then flags (ordered stores through the mmapped array). */
void maps_backend_assign(struct maps *m, uint32_t slot, uint32_t vip_id,
			 const struct xlb_addr *a, uint32_t gen,
			 uint32_t flags);
void maps_backend_set_flags(struct maps *m, uint32_t slot, uint32_t flags);
void maps_backend_read(struct maps *m, uint32_t slot, struct xlb_backend *out);
/* Clear a freed slot (keeps gen, so the next owner gets gen + 1). */
void maps_backend_release(struct maps *m, uint32_t slot);

/* ---- statistics (summed over CPUs) ---- */
int maps_global_stats(struct maps *m, uint64_t out[XLB_G__MAX]);
int maps_vip_stats(struct maps *m, uint32_t vip_id, struct xlb_vip_stats *out);
int maps_backend_stats(struct maps *m, uint32_t slot, struct xlb_be_stats *out);
int maps_vip_stats_reset(struct maps *m, uint32_t vip_id);
int maps_backend_stats_reset(struct maps *m, uint32_t slot);

/* ---- connection table (read only, for explain) ---- */
int maps_ct_lookup4(struct maps *m, const struct xlb_ct4_key *k,
		    struct xlb_ct_val *v);
int maps_ct_lookup6(struct maps *m, const struct xlb_ct6_key *k,
		    struct xlb_ct_val *v);

/* fd of the neighbour-miss ring buffer (for ring_buffer__new). */
int maps_neigh_events_fd(const struct maps *m);

/* Remove every pin under bpffs and the directory. 0 or -errno. */
int maps_unpin_all(const char *bpffs);

#endif
