// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * reconcile.c - xlbd's core: the running model, its runtime state (VIP
 * ids, backend slots, generations, health-driven tables), reconciliation
 * of a new model into the data plane through maps_, and the queries of
 * core.h.
 *
 * Runtime arrays run parallel to the model: core.vips[i] belongs to
 * core.cfg->vips[i], and rv->bes[k] to that VIP's backends[k].
 *
 * Order of an apply (docs/design.md, "Update protocol"):
 *  1. plan: VIP ids and backend slots for the new model, keeping those of
 *     what stays; fail here (capacity) and nothing has changed;
 *  2. new slots are written (not alive), removed backends lose ALIVE;
 *  3. every changed table is built and switched (batched outer updates,
 *     each one an RCU barrier);
 *  4. VIP entries are added/updated, flags set, removed VIPs deleted;
 *  5. slots and ids no longer used are released (the swaps were the
 *     barrier: no packet still sees them in a table).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core.h"
#include "health.h"
#include "log.h"
#include "maglev.h"
#include "netlink.h"
#include "reconcile.h"
#include "xlb_hash.h"

#define SWAP_BATCH 64

struct rbe {
	uint32_t slot;
	uint32_t gen;
	uint32_t flags;	 /* last written */
	uint32_t nslots; /* slots in the live table */
	bool neigh_done;
};

struct rvip {
	uint32_t vip_id;
	bool live;     /* VIP entry in the map, pointing at a live table */
	bool dirty;    /* table must be rebuilt at the end of the turn */
	bool degraded; /* failed open */
	bool prev_degraded; /* before the table being prepared */
	uint64_t first_deadline; /* pending first table: latest moment */
	uint64_t gone_packets;	 /* counted on backends since removed */
	uint64_t gone_bytes;
	struct rbe *bes;
	size_t n;
};

static struct {
	struct core_params p;
	char ifname[16];
	char *config_path, *bpffs;
	char xdp_mode[16];
	struct xlb_config *cfg;
	struct rvip *vips;
	uint8_t *vip_used;  /* max_vips */
	uint8_t *slot_used; /* max_backends */
	uint32_t *slot_gen; /* max_backends */
	uint32_t *slot_k;   /* scratch: slot -> backend index + 1 */
	uint8_t *slot_keep; /* scratch: slot used by the next model */
	uint32_t *table;    /* scratch, largest table */
	size_t table_cap;
	uint64_t start_ms;
	bool net_dirty;
	bool addr_dirty;
	bool started;
} core;

static uint64_t now_ms(void)
{
	return ev_now_ms();
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *vipname(const struct xlb_vip_conf *v)
{
	static char buf[4][XLB_VIPSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return cfg_vip_fmt(v, buf[i], sizeof(buf[i]));
}

static const char *aname(const struct xlb_addr *a)
{
	static char buf[4][XLB_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return addr_fmt(a, buf[i], sizeof(buf[i]));
}

static bool vip_same_key(const struct xlb_vip_conf *a,
			 const struct xlb_vip_conf *b)
{
	return a->port == b->port && a->proto == b->proto &&
	       addr_eq(&a->addr, &b->addr);
}

/* ---- health view ---- */

static enum hc_health be_health(const struct xlb_vip_conf *v,
				const struct xlb_backend_conf *b)
{
	const struct hc_status *st;

	if (b->hc.type == XLB_HC_NONE)
		return HC_UP;
	st = hc_get(v, b);
	return st ? st->health : HC_UNCHECKED;
}

static bool takes_new(const struct xlb_vip_conf *v,
		      const struct xlb_backend_conf *b)
{
	return b->state == XLB_STATE_ENABLED && b->weight > 0 &&
	       be_health(v, b) == HC_UP;
}

static uint32_t be_flags(const struct xlb_vip_conf *v,
			 const struct xlb_backend_conf *b, bool degraded)
{
	enum hc_health h = be_health(v, b);
	uint32_t f = 0;

	if (h == HC_UP)
		f |= XLB_BE_F_HEALTH_UP;
	else if (h == HC_DOWN)
		f |= XLB_BE_F_HEALTH_DOWN;
	/* Recorded flows stay unless the operator disabled the backend or
	 * it is unhealthy (while the VIP fails open, they stay anyway). */
	if (b->state != XLB_STATE_DISABLED && (h == HC_UP || degraded))
		f |= XLB_BE_F_ALIVE;
	return f;
}

/* Build vip's table into core.table; sets degraded and slot counts. */
static int build_table(const struct xlb_vip_conf *v, struct rvip *rv)
{
	struct maglev_backend *mb = calloc(v->n_backends ? v->n_backends : 1,
					   sizeof(*mb));
	size_t n = 0;
	int ret;

	if (!mb)
		return -ENOMEM;
	for (size_t k = 0; k < v->n_backends; k++) {
		if (!takes_new(v, &v->backends[k]))
			continue;
		memcpy(mb[n].key, v->backends[k].addr.bytes, 16);
		mb[n].weight = v->backends[k].weight;
		mb[n].id = rv->bes[k].slot;
		n++;
	}
	rv->degraded = false;
	if (!n) {
		/* Fail open: every enabled backend with weight is down or
		 * unchecked, so use them regardless of health. */
		for (size_t k = 0; k < v->n_backends; k++) {
			const struct xlb_backend_conf *b = &v->backends[k];

			if (b->state != XLB_STATE_ENABLED || !b->weight)
				continue;
			memcpy(mb[n].key, b->addr.bytes, 16);
			mb[n].weight = b->weight;
			mb[n].id = rv->bes[k].slot;
			n++;
		}
		rv->degraded = n > 0;
	}
	ret = maglev_build(mb, n, v->table_size, XLB_NO_BACKEND, core.table);
	free(mb);
	if (ret)
		return ret;
	for (size_t k = 0; k < rv->n; k++) {
		rv->bes[k].nslots = 0;
		core.slot_k[rv->bes[k].slot] = (uint32_t)k + 1;
	}
	for (uint32_t i = 0; i < v->table_size; i++) {
		uint32_t s = core.table[i];

		if (s != XLB_NO_BACKEND && core.slot_k[s])
			rv->bes[core.slot_k[s] - 1].nslots++;
	}
	for (size_t k = 0; k < rv->n; k++)
		core.slot_k[rv->bes[k].slot] = 0;
	return 0;
}

static int ensure_table_cap(const struct xlb_config *c)
{
	size_t need = 7;

	for (size_t i = 0; i < c->n_vips; i++)
		if (c->vips[i].table_size > need)
			need = c->vips[i].table_size;
	if (need <= core.table_cap)
		return 0;
	free(core.table);
	core.table = malloc(need * 4);
	if (!core.table) {
		core.table_cap = 0;
		return -ENOMEM;
	}
	core.table_cap = need;
	return 0;
}

/* A VIP's first table waits until every checked backend has a first
 * result, or until its deadline (the longest timeout) has passed. */
static bool first_table_due(const struct xlb_vip_conf *v,
			    const struct rvip *rv, uint64_t now)
{
	if (rv->live || rv->first_deadline <= now)
		return true;
	for (size_t k = 0; k < v->n_backends; k++) {
		const struct hc_status *st;

		if (v->backends[k].hc.type == XLB_HC_NONE)
			continue;
		st = hc_get(v, &v->backends[k]);
		if (!st || !st->checks_done)
			return false;
	}
	return true;
}

/*
 * Tables of the dirty VIPs whose table is due, created (not yet live) one
 * at a time: a Maglev build into core.table, written at once into a fresh
 * inner map, so xlbd's memory holds one table at a time.
 */
struct prepared {
	uint32_t *ids;
	int *fds;
	bool *built; /* per VIP index */
	size_t n;
};

static void prepared_free(struct prepared *pr)
{
	for (size_t i = 0; i < pr->n; i++)
		close(pr->fds[i]);
	free(pr->ids);
	free(pr->fds);
	free(pr->built);
	memset(pr, 0, sizeof(*pr));
}

static int tables_prepare(const struct xlb_config *c, struct rvip *vips,
			  struct prepared *pr, uint64_t now)
{
	size_t nv = c->n_vips ? c->n_vips : 1;
	int ret = 0;

	memset(pr, 0, sizeof(*pr));
	pr->ids = calloc(nv, sizeof(*pr->ids));
	pr->fds = calloc(nv, sizeof(*pr->fds));
	pr->built = calloc(nv, sizeof(*pr->built));
	if (!pr->ids || !pr->fds || !pr->built) {
		prepared_free(pr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_vips; i++) {
		const struct xlb_vip_conf *v = &c->vips[i];
		struct rvip *rv = &vips[i];
		struct maps_table t;
		int fd;

		if (!rv->dirty || !first_table_due(v, rv, now))
			continue;
		rv->prev_degraded = rv->degraded;
		ret = build_table(v, rv);
		if (ret)
			goto fail;
		t.vip_id = rv->vip_id;
		t.size = v->table_size;
		t.slots = core.table;
		fd = maps_table_prepare(&t);
		if (fd < 0) {
			ret = fd;
			goto fail;
		}
		pr->ids[pr->n] = rv->vip_id;
		pr->fds[pr->n++] = fd;
		pr->built[i] = true;
		continue;
fail:
		log_error("vip %s: building its table: %s", vipname(v),
			  strerror(-ret));
		prepared_free(pr);
		return ret;
	}
	return 0;
}

/* Make the prepared tables live (batched: one grace period per 64), then
 * the flags that depend on them and the entries of VIPs going live. */
static int tables_commit(const struct xlb_config *c, struct rvip *vips,
			 struct prepared *pr)
{
	int ret = maps_tables_commit(core.p.maps, pr->ids, pr->fds, pr->n);

	pr->n = 0; /* the fds are closed */
	if (ret) {
		log_error("switching tables: %s", strerror(-ret));
		prepared_free(pr);
		return ret;
	}
	for (size_t i = 0; i < c->n_vips; i++) {
		const struct xlb_vip_conf *v = &c->vips[i];
		struct rvip *rv = &vips[i];

		if (!pr->built[i])
			continue;
		if (rv->degraded != rv->prev_degraded ||
		    (rv->degraded && !rv->live))
			log_warn("vip %s %s", vipname(v),
				 rv->degraded ? "degraded: no backend is up, "
						"failing open to every enabled "
						"backend"
					      : "recovered: backends up again");
		for (size_t k = 0; k < v->n_backends; k++) {
			uint32_t f = be_flags(v, &v->backends[k], rv->degraded);

			if (f != rv->bes[k].flags) {
				maps_backend_set_flags(core.p.maps,
						       rv->bes[k].slot, f);
				rv->bes[k].flags = f;
			}
		}
		if (!rv->live) {
			ret = maps_vip_put(core.p.maps, &v->addr, v->port,
					   v->proto, rv->vip_id,
					   v->hash == XLB_HASH_SRC_IP
						   ? XLB_VIP_F_HASH_SRC_IP
						   : 0);
			if (ret) {
				log_error("vip %s: adding it to the VIP map: %s",
					  vipname(v), strerror(-ret));
				break;
			}
			rv->live = true;
			log_info("vip %s live: %zu backends, table %u",
				 vipname(v), v->n_backends, v->table_size);
		}
		rv->dirty = false;
	}
	prepared_free(pr);
	return ret;
}

/* Health transitions: rebuild the dirty VIPs of the running model. */
static int rebuild(void)
{
	struct prepared pr;
	int ret = tables_prepare(core.cfg, core.vips, &pr, now_ms());

	return ret ? ret : tables_commit(core.cfg, core.vips, &pr);
}

/* ---- address markers ---- */

static bool addr_has_vip(const struct xlb_config *c, const struct xlb_addr *a)
{
	for (size_t i = 0; i < c->n_vips; i++)
		if (addr_eq(&c->vips[i].addr, a))
			return true;
	return false;
}

static void sync_markers(const struct xlb_config *old,
			 const struct xlb_config *next)
{
	for (size_t i = 0; i < next->n_vips; i++)
		maps_vip_put(core.p.maps, &next->vips[i].addr, 0, 0, 0,
			     XLB_VIP_F_ADDR_ONLY);
	if (!old)
		return;
	for (size_t i = 0; i < old->n_vips; i++)
		if (!addr_has_vip(next, &old->vips[i].addr))
			maps_vip_del(core.p.maps, &old->vips[i].addr, 0, 0);
}

/* ---- runtime settings ---- */

static int apply_rt(const struct xlb_config *c)
{
	struct xlb_addr s4 = { 0 }, s6 = { 0 };
	int p4 = 32, p6 = 128;

	if (c->has_src4) {
		s4 = c->src4;
		p4 = c->src4_plen;
	} else if (nl_primary_addr(core.p.ifindex, AF_INET, &s4)) {
		bool need = false;

		for (size_t i = 0; i < c->n_vips; i++)
			for (size_t k = 0; k < c->vips[i].n_backends; k++)
				if (c->vips[i].backends[k].addr.family == AF_INET)
					need = true;
		if (need)
			log_warn("%s has no IPv4 address and encap_source.ipv4 "
				 "is unset: IPv4 tunnels get source 0.0.0.0",
				 core.ifname);
	}
	if (c->has_src6) {
		s6 = c->src6;
		p6 = c->src6_plen;
	} else {
		nl_primary_addr(core.p.ifindex, AF_INET6, &s6);
	}
	{
		/* say so when the outer source changes (config or address) */
		static struct xlb_addr last4, last6;

		if (!addr_eq(&last4, &s4) && s4.family)
			log_info("outer IPv4 source %s/%d%s", aname(&s4), p4,
				 c->has_src4 ? "" : " (primary address)");
		if (!addr_eq(&last6, &s6) && s6.family)
			log_info("outer IPv6 source %s/%d%s", aname(&s6), p6,
				 c->has_src6 ? "" : " (primary address)");
		last4 = s4;
		last6 = s6;
	}
	return maps_set_rt(core.p.maps, &s4, p4, &s6, p6, c->icmp_rate_limit,
			   (uint32_t)core.p.ifindex);
}

/* ---- neighbours ---- */

/* Keep the next hop of backend be resolved; returns the route MTU toward
 * it when that leaves no room for the tunnel header, else 0. */
static int mtu_oif;	  /* device MTU cache for one keep_all_neighbours() */
static uint32_t mtu_dev;

static uint32_t keep_neighbour(const struct xlb_addr *be)
{
	struct xlb_addr nh;
	uint32_t mtu = 0;
	int oif = 0, ret;

	ret = nl_route_get(be, &nh, &oif, &mtu);
	if (ret) {
		log_warn("backend %s: no route (%s)", aname(be), strerror(-ret));
		return 0;
	}
	if (!mtu && oif == mtu_oif) {
		mtu = mtu_dev;
	} else if (!mtu) {
		struct nl_link_info li;

		if (!nl_link_by_index(oif, &li)) {
			mtu = li.mtu;
			mtu_oif = oif;
			mtu_dev = li.mtu;
		}
	}
	ret = nl_neigh_keep(oif, &nh);
	if (ret && ret != -EEXIST)
		log_debug("backend %s: keeping neighbour %s: %s", aname(be),
			  aname(&nh), strerror(-ret));
	if (mtu && core.p.if_mtu &&
	    mtu < core.p.if_mtu + (be->family == AF_INET6 ? 40 : 20))
		return mtu;
	return 0;
}

static void keep_all_neighbours(bool only_new)
{
	struct xlb_config *c = core.cfg;
	const struct xlb_addr *first = NULL;
	uint32_t first_mtu = 0;
	size_t small = 0;

	mtu_oif = 0; /* device MTUs may have changed since last time */

	for (size_t i = 0; i < c->n_vips; i++)
		for (size_t k = 0; k < c->vips[i].n_backends; k++) {
			struct rbe *r = &core.vips[i].bes[k];
			uint32_t mtu;

			if (only_new && r->neigh_done)
				continue;
			mtu = keep_neighbour(&c->vips[i].backends[k].addr);
			if (mtu && !r->neigh_done && !small++) {
				first = &c->vips[i].backends[k].addr;
				first_mtu = mtu;
			}
			r->neigh_done = true;
		}
	/* One line for all of them: operators read this at start. */
	if (small)
		log_warn("%zu backend%s (e.g. %s) reached through a route MTU "
			 "of %u: no room for the tunnel header of a full "
			 "%u-byte packet from %s, so full-size packets get "
			 "too-big replies; raise the MTU toward the backends "
			 "or clamp the MSS", small, small == 1 ? "" : "s",
			 aname(first), first_mtu, core.p.if_mtu, core.ifname);
}

void core_net_changed(void)
{
	core.net_dirty = true;
}

void core_addr_changed(void)
{
	core.addr_dirty = true;
}

void core_neigh_miss(int family, int ifindex, const void *addr)
{
	struct xlb_addr a = { .family = family };

	memcpy(a.bytes, addr, family == AF_INET6 ? 16 : 4);
	log_info("neighbour miss for %s on ifindex %d: resolving", aname(&a),
		 ifindex);
	nl_neigh_resolve(ifindex, &a);
}

/* ---- allocation ---- */

/* Next-fit over a used/reserved bitmap: allocating n ids costs O(max)
 * in all, not O(n * max). */
static int alloc_id(uint8_t *used, uint32_t max, uint8_t *reserved,
		    uint32_t *hint)
{
	for (uint32_t n = 0; n < max; n++) {
		uint32_t i = (*hint + n) % max;

		if (!used[i] && !(reserved && reserved[i])) {
			*hint = (i + 1) % max;
			return (int)i;
		}
	}
	return -ENOSPC;
}

static struct rvip *find_rvip(const struct xlb_vip_conf *v, size_t *idx)
{
	for (size_t i = 0; core.cfg && i < core.cfg->n_vips; i++)
		if (vip_same_key(&core.cfg->vips[i], v)) {
			if (idx)
				*idx = i;
			return &core.vips[i];
		}
	return NULL;
}

static void free_rvips(struct rvip *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].bes);
	free(v);
}

static bool backends_equal(const struct xlb_backend_conf *a,
			   const struct xlb_backend_conf *b)
{
	return addr_eq(&a->addr, &b->addr) && a->weight == b->weight &&
	       a->state == b->state;
}

static bool table_inputs_equal(const struct xlb_vip_conf *a,
			       const struct xlb_vip_conf *b)
{
	if (a->table_size != b->table_size || a->hash != b->hash ||
	    a->n_backends != b->n_backends)
		return false;
	for (size_t k = 0; k < a->n_backends; k++)
		if (!backends_equal(&a->backends[k], &b->backends[k]) ||
		    !cfg_hc_equal(&a->backends[k].hc, &b->backends[k].hc))
			return false;
	return true;
}

/*
 * The whole apply.  Returns 0 with next installed, or -errno with err set
 * and the running state untouched (capacity and interface checks happen
 * before anything is written).
 */
static int reconcile(struct xlb_config *next, char *err, size_t errlen)
{
	struct xlb_config *old = core.cfg;
	const struct maps_sizes *sz = maps_sizes(core.p.maps);
	struct rvip *nv = calloc(next->n_vips ? next->n_vips : 1, sizeof(*nv));
	uint8_t *vres = calloc(sz->max_vips, 1);
	uint8_t *sres = calloc(sz->max_backends, 1);
	uint64_t now = now_ms();
	uint32_t vip_hint = 0, slot_hint = 0;
	struct prepared pr = { 0 };
	int ret = 0;

	if (!nv || !vres || !sres) {
		ret = -ENOMEM;
		log_seterr(err, errlen, "out of memory");
		goto fail;
	}
	ret = ensure_table_cap(next);
	if (ret) {
		log_seterr(err, errlen, "out of memory");
		goto fail;
	}
	/* 1. plan ids and slots */
	for (size_t i = 0; i < next->n_vips; i++) {
		struct xlb_vip_conf *v = &next->vips[i];
		size_t oi = 0;
		struct rvip *orv = find_rvip(v, &oi);
		const struct xlb_vip_conf *ov = orv ? &old->vips[oi] : NULL;

		nv[i].bes = calloc(v->n_backends ? v->n_backends : 1,
				   sizeof(struct rbe));
		if (!nv[i].bes) {
			ret = -ENOMEM;
			log_seterr(err, errlen, "out of memory");
			goto fail;
		}
		nv[i].n = v->n_backends;
		if (orv) {
			nv[i].vip_id = orv->vip_id;
			nv[i].live = orv->live;
			nv[i].degraded = orv->degraded;
			nv[i].first_deadline = orv->first_deadline;
			nv[i].gone_packets = orv->gone_packets;
			nv[i].gone_bytes = orv->gone_bytes;
			nv[i].dirty = orv->dirty || !table_inputs_equal(ov, v);
		} else {
			int id = alloc_id(core.vip_used, sz->max_vips, vres,
					  &vip_hint);
			uint32_t tmo = 0;

			if (id < 0) {
				ret = -ENOSPC;
				log_seterr(err, errlen,
				       "vip %s: no free VIP id (max_vips %u)",
				       vipname(v), sz->max_vips);
				goto fail;
			}
			vres[id] = 1;
			nv[i].vip_id = (uint32_t)id;
			nv[i].dirty = true;
			for (size_t k = 0; k < v->n_backends; k++)
				if (v->backends[k].hc.type != XLB_HC_NONE &&
				    v->backends[k].hc.timeout_ms > tmo)
					tmo = v->backends[k].hc.timeout_ms;
			nv[i].first_deadline = now + tmo;
		}
		for (size_t k = 0; k < v->n_backends; k++) {
			struct rbe *r = &nv[i].bes[k];
			bool found = false;

			for (size_t ok = 0; orv && ok < orv->n; ok++) {
				if (addr_eq(&ov->backends[ok].addr,
					    &v->backends[k].addr)) {
					*r = orv->bes[ok];
					found = true;
					break;
				}
			}
			if (found)
				continue;
			int s = alloc_id(core.slot_used, sz->max_backends, sres,
					 &slot_hint);

			if (s < 0) {
				ret = -ENOSPC;
				log_seterr(err, errlen,
				       "vip %s: no free backend slot for %s "
				       "(max_backends %u, counting backends "
				       "being removed by this change)",
				       vipname(v), aname(&v->backends[k].addr),
				       sz->max_backends);
				goto fail;
			}
			sres[s] = 1;
			r->slot = (uint32_t)s;
			r->gen = core.slot_gen[s] + 1;
			r->flags = UINT32_MAX; /* force a write */
			r->neigh_done = false;
		}
	}

	ret = hc_sync(next);
	if (ret) {
		log_seterr(err, errlen, "health checks: %s", strerror(-ret));
		goto fail;
	}
	/* Every table that changes is created before anything is written:
	 * running out of memory here leaves the data plane as it was. */
	ret = tables_prepare(next, nv, &pr, now);
	if (ret) {
		log_seterr(err, errlen, "creating tables: %s", strerror(-ret));
		if (old)
			hc_sync(old);
		goto fail;
	}
	/* From here on the data plane changes. */
	/* 2. new slots (not alive yet), removed backends lose ALIVE */
	for (size_t i = 0; i < next->n_vips; i++)
		for (size_t k = 0; k < nv[i].n; k++) {
			struct rbe *r = &nv[i].bes[k];

			if (!sres[r->slot])
				continue;
			maps_backend_stats_reset(core.p.maps, r->slot);
			maps_backend_assign(core.p.maps, r->slot, nv[i].vip_id,
					    &next->vips[i].backends[k].addr,
					    r->gen, 0);
			core.slot_gen[r->slot] = r->gen;
			core.slot_used[r->slot] = 1;
			r->flags = 0;
		}
	for (size_t i = 0; i < next->n_vips; i++)
		if (vres[nv[i].vip_id]) {
			maps_vip_stats_reset(core.p.maps, nv[i].vip_id);
			core.vip_used[nv[i].vip_id] = 1;
		}
	/* slots of backends that go away */
	memset(core.slot_keep, 0, sz->max_backends);
	for (size_t i = 0; i < next->n_vips; i++)
		for (size_t k = 0; k < nv[i].n; k++)
			core.slot_keep[nv[i].bes[k].slot] = 1;
	for (size_t oi = 0; old && oi < old->n_vips; oi++) {
		struct rvip *orv = &core.vips[oi];

		for (size_t ok = 0; ok < orv->n; ok++)
			if (!core.slot_keep[orv->bes[ok].slot])
				maps_backend_set_flags(core.p.maps,
						       orv->bes[ok].slot, 0);
	}

	/* VIPs that go away stop matching first */
	for (size_t oi = 0; old && oi < old->n_vips; oi++) {
		bool kept = false;

		for (size_t i = 0; i < next->n_vips; i++)
			if (vip_same_key(&old->vips[oi], &next->vips[i]))
				kept = true;
		if (kept)
			continue;
		maps_vip_del(core.p.maps, &old->vips[oi].addr,
			     old->vips[oi].port, old->vips[oi].proto);
		log_info("vip %s removed", vipname(&old->vips[oi]));
	}

	/* install the new model, then 3./4. tables, flags, entries */
	{
		struct rvip *ovips = core.vips;
		size_t on = old ? old->n_vips : 0;

		core.cfg = next;
		core.vips = nv;
		nv = NULL;
		/* hash kind changes need a new VIP entry value */
		for (size_t i = 0; i < next->n_vips; i++) {
			size_t oi;
			bool found = false;

			for (oi = 0; old && oi < old->n_vips; oi++)
				if (vip_same_key(&old->vips[oi], &next->vips[i])) {
					found = true;
					break;
				}
			if (found && core.vips[i].live &&
			    old->vips[oi].hash != next->vips[i].hash)
				maps_vip_put(core.p.maps, &next->vips[i].addr,
					     next->vips[i].port,
					     next->vips[i].proto,
					     core.vips[i].vip_id,
					     next->vips[i].hash == XLB_HASH_SRC_IP
						     ? XLB_VIP_F_HASH_SRC_IP
						     : 0);
		}
		ret = tables_commit(next, core.vips, &pr);
		sync_markers(old, next);
		apply_rt(next);

		/* 5. release what is no longer used (the swaps above, or
		 * one explicit barrier, make it safe) */
		bool need_barrier = false;

		for (size_t oi = 0; oi < on; oi++) {
			struct rvip *kept = NULL;

			for (size_t i = 0; i < next->n_vips; i++)
				if (core.vips[i].vip_id == ovips[oi].vip_id)
					kept = &core.vips[i];
			if (!kept) {
				maps_table_del(core.p.maps, ovips[oi].vip_id);
				core.vip_used[ovips[oi].vip_id] = 0;
			}
			for (size_t ok = 0; ok < ovips[oi].n; ok++) {
				uint32_t s = ovips[oi].bes[ok].slot;

				if (!core.slot_keep[s] && kept) {
					/* the VIP's totals keep what its
					 * removed backends carried */
					struct xlb_be_stats bs = { 0 };

					maps_backend_stats(core.p.maps, s, &bs);
					kept->gone_packets += bs.packets;
					kept->gone_bytes += bs.bytes;
				}
				if (!core.slot_keep[s]) {
					need_barrier = true;
					maps_backend_release(core.p.maps, s);
					core.slot_used[s] = 0;
				}
			}
		}
		if (need_barrier)
			maps_barrier(core.p.maps);
		free_rvips(ovips, on);
		cfg_free(old);
	}
	keep_all_neighbours(true);
	free(vres);
	free(sres);
	malloc_trim(0); /* a big apply's parse buffers go back to the system */
	if (ret)
		log_seterr(err, errlen, "data plane update failed: %s",
		       strerror(-ret));
	return ret;
fail:
	free_rvips(nv, next->n_vips);
	free(vres);
	free(sres);
	return ret;
}

/* ---- adoption ---- */

struct adopt_ctx {
	struct xlb_config *cfg;
	struct rvip *nv;
};

static void adopt_vip(void *arg, const struct xlb_addr *a, uint16_t port,
		      uint8_t proto, const struct xlb_vip_val *val)
{
	struct adopt_ctx *ac = arg;

	if (val->flags & XLB_VIP_F_ADDR_ONLY)
		return;
	for (size_t i = 0; i < ac->cfg->n_vips; i++) {
		struct xlb_vip_conf *v = &ac->cfg->vips[i];

		if (v->port == port && v->proto == proto &&
		    addr_eq(&v->addr, a) && val->vip_id < maps_sizes(core.p.maps)->max_vips &&
		    !core.vip_used[val->vip_id]) {
			ac->nv[i].vip_id = val->vip_id;
			ac->nv[i].live = true;
			core.vip_used[val->vip_id] = 1;
			return;
		}
	}
	/* a VIP the config no longer has */
	log_info("adopted vip %s:%u/%s is not in the config: removing it",
		 aname(a), port, cfg_proto_name(proto));
	{
		struct maps *m = core.p.maps;

		maps_vip_del(m, a, port, proto);
		maps_table_del(m, val->vip_id);
	}
}

/*
 * Seed the runtime state from pinned maps: VIP ids by (address, port,
 * proto), backend slots by (vip_id, address) with their generations and
 * health.  Then the normal reconcile keeps them.
 */
static int adopt(struct xlb_config *cfg, char *err, size_t errlen)
{
	const struct maps_sizes *sz = maps_sizes(core.p.maps);
	struct adopt_ctx ac = { .cfg = cfg };
	struct xlb_config *empty;
	struct cfg_msgs msgs = { 0 };
	size_t kept_b = 0;

	ac.nv = calloc(cfg->n_vips ? cfg->n_vips : 1, sizeof(*ac.nv));
	if (!ac.nv)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_vips; i++) {
		ac.nv[i].vip_id = UINT32_MAX;
		ac.nv[i].n = cfg->vips[i].n_backends;
		ac.nv[i].bes = calloc(ac.nv[i].n ? ac.nv[i].n : 1,
				      sizeof(struct rbe));
		if (!ac.nv[i].bes)
			return -ENOMEM;
	}
	maps_vip_foreach(core.p.maps, adopt_vip, &ac);

	/* Backend slots: keep those whose VIP and address are still in
	 * the config; release the others. */
	for (uint32_t s = 0; s < sz->max_backends; s++) {
		struct xlb_backend b;
		struct xlb_addr a = { 0 };
		bool kept = false;

		maps_backend_read(core.p.maps, s, &b);
		core.slot_gen[s] = b.gen;
		if (!(b.flags & XLB_BE_F_USED))
			continue;
		a.family = (b.flags & XLB_BE_F_V6) ? AF_INET6 : AF_INET;
		memcpy(a.bytes, b.addr, a.family == AF_INET6 ? 16 : 4);
		for (size_t i = 0; i < cfg->n_vips && !kept; i++) {
			struct xlb_vip_conf *v = &cfg->vips[i];

			if (ac.nv[i].vip_id != b.vip_id)
				continue;
			for (size_t k = 0; k < v->n_backends; k++) {
				if (!addr_eq(&v->backends[k].addr, &a) ||
				    ac.nv[i].bes[k].gen)
					continue;
				ac.nv[i].bes[k].slot = s;
				ac.nv[i].bes[k].gen = b.gen;
				ac.nv[i].bes[k].flags = b.flags &
					~(XLB_BE_F_USED | XLB_BE_F_V6);
				core.slot_used[s] = 1;
				kept = true;
				kept_b++;
				hc_adopt(v, &v->backends[k],
					 (b.flags & XLB_BE_F_HEALTH_UP) ? HC_UP
					 : (b.flags & XLB_BE_F_HEALTH_DOWN)
						 ? HC_DOWN
						 : HC_UNCHECKED);
				break;
			}
		}
		if (!kept) {
			maps_backend_set_flags(core.p.maps, s, 0);
			maps_barrier(core.p.maps);
			maps_backend_release(core.p.maps, s);
		}
	}
	/* Build the adopted model: only VIPs and backends that exist in
	 * the data plane, so that reconcile() against cfg keeps them. */
	empty = cfg_parse("{}", 2, &msgs);
	cfg_msgs_free(&msgs);
	if (!empty)
		return -ENOMEM;
	{
		json_t *doc = cfg_dump(cfg), *vips = json_object_get(doc, "vips");
		json_t *keep = json_array();
		struct xlb_config *adopted;

		for (size_t i = 0; i < cfg->n_vips; i++) {
			json_t *vj, *bes, *nb;

			if (ac.nv[i].vip_id == UINT32_MAX)
				continue;
			vj = json_deep_copy(json_array_get(vips, i));
			bes = json_object_get(vj, "backends");
			nb = json_array();
			for (size_t k = 0; k < cfg->vips[i].n_backends; k++)
				if (ac.nv[i].bes[k].gen)
					json_array_append(nb, json_array_get(bes, k));
			json_object_set_new(vj, "backends", nb);
			json_array_append_new(keep, vj);
		}
		json_object_set_new(doc, "vips", keep);
		adopted = cfg_parse_json(doc, &msgs);
		json_decref(doc);
		if (!adopted) {
			log_seterr(err, errlen, "adopting pinned state: %s",
			       msgs.n_err ? msgs.err[0] : "invalid");
			cfg_msgs_free(&msgs);
			cfg_free(empty);
			return -EINVAL;
		}
		cfg_msgs_free(&msgs);
		cfg_free(empty);
		/* runtime arrays parallel to the adopted model */
		core.vips = calloc(adopted->n_vips ? adopted->n_vips : 1,
				   sizeof(struct rvip));
		for (size_t i = 0, j = 0; i < cfg->n_vips; i++) {
			struct rvip *rv;

			if (ac.nv[i].vip_id == UINT32_MAX)
				continue;
			rv = &core.vips[j++];
			rv->vip_id = ac.nv[i].vip_id;
			rv->live = true;
			rv->dirty = true; /* same inputs give the same table */
			rv->bes = calloc(cfg->vips[i].n_backends + 1,
					 sizeof(struct rbe));
			for (size_t k = 0; k < cfg->vips[i].n_backends; k++)
				if (ac.nv[i].bes[k].gen)
					rv->bes[rv->n++] = ac.nv[i].bes[k];
		}
		core.cfg = adopted;
		hc_sync(adopted);
	}
	log_info("adopted pinned state: %zu VIPs, %zu backends, connection "
		 "table kept", core.cfg->n_vips, kept_b);
	free_rvips(ac.nv, cfg->n_vips);
	return 0;
}

/* ---- health notifications and the end of each turn ---- */

static void on_health(void *ctx, const struct xlb_vip_conf *vip,
		      const struct xlb_backend_conf *be, enum hc_health h)
{
	struct rvip *rv = find_rvip(vip, NULL);

	(void)be;
	(void)h;
	(void)ctx;
	if (rv)
		rv->dirty = true;
}

static void post_turn(void *arg)
{
	bool any = false;

	(void)arg;
	if (!core.cfg)
		return;
	for (size_t i = 0; i < core.cfg->n_vips; i++)
		if (core.vips[i].dirty)
			any = true;
	if (any)
		rebuild();
	if (core.addr_dirty) {
		/* without encap_source, the outer source is the interface's
		 * primary address: follow it */
		core.addr_dirty = false;
		apply_rt(core.cfg);
	}
	if (core.net_dirty) {
		core.net_dirty = false;
		maps_nh_invalidate(core.p.maps);
		keep_all_neighbours(false);
	}
}

/* A pending first table must be written at its deadline even when no
 * other event wakes the loop. */
static struct ev_timer *tick;
static void on_tick(void *arg)
{
	(void)arg;
	ev_timer_arm(tick, now_ms() + 100);
}

int core_start(const struct core_params *p, struct xlb_config *cfg, char *err,
	       size_t errlen)
{
	const struct maps_sizes *sz = maps_sizes(p->maps);
	int ret;

	core.p = *p;
	snprintf(core.ifname, sizeof(core.ifname), "%s", p->ifname);
	core.p.ifname = core.ifname;
	core.config_path = p->config_path ? strdup(p->config_path) : NULL;
	core.bpffs = p->bpffs ? strdup(p->bpffs) : NULL;
	snprintf(core.xdp_mode, sizeof(core.xdp_mode), "%s", p->xdp_mode);
	core.start_ms = now_ms();
	core.vip_used = calloc(sz->max_vips, 1);
	core.slot_used = calloc(sz->max_backends, 1);
	core.slot_gen = calloc(sz->max_backends, sizeof(uint32_t));
	core.slot_k = calloc(sz->max_backends, sizeof(uint32_t));
	core.slot_keep = calloc(sz->max_backends, 1);
	if (!core.vip_used || !core.slot_used || !core.slot_gen ||
	    !core.slot_k || !core.slot_keep)
		return -ENOMEM;
	ret = hc_init(p->ev, on_health, NULL);
	if (ret) {
		log_seterr(err, errlen, "health checks: %s", strerror(-ret));
		return ret;
	}
	ev_add_post_hook(p->ev, post_turn, NULL);
	tick = ev_timer_new(p->ev, on_tick, NULL);
	ev_timer_arm(tick, now_ms() + 100);
	if (p->adopted) {
		ret = adopt(cfg, err, errlen);
		if (ret)
			return ret;
	}
	ret = reconcile(cfg, err, errlen);
	if (ret)
		return ret;
	core.started = true;
	return 0;
}

bool core_ready(void)
{
	if (!core.started)
		return false;
	for (size_t i = 0; i < core.cfg->n_vips; i++)
		if (!core.vips[i].live)
			return false;
	return true;
}

void core_stop(void)
{
	hc_shutdown();
}

/* ---- core.h: apply and save ---- */

const struct xlb_config *core_config(void)
{
	return core.cfg;
}

int core_apply(struct xlb_config *next, char *err, size_t errlen)
{
	struct cfg_msgs m = { 0 };

	if (core.p.iface_from_cmdline || !next->interface[0]) {
		if (next->interface[0] && strcmp(next->interface, core.ifname))
			log_warn("interface \"%s\" in the document ignored: -i "
				 "%s wins", next->interface, core.ifname);
		snprintf(next->interface, sizeof(next->interface), "%s",
			 core.ifname);
	}
	if (core.p.mode_from_cmdline)
		next->xdp_mode = core.cfg->xdp_mode;
	if (cfg_check_immutable(core.cfg, next, &m)) {
		size_t off = 0;

		for (size_t i = 0; i < m.n_err && off < errlen; i++)
			off += (size_t)snprintf(err + off, errlen - off, "%s%s",
						i ? "; " : "", m.err[i]);
		cfg_msgs_free(&m);
		return -EINVAL;
	}
	cfg_msgs_free(&m);
	return reconcile(next, err, errlen);
}

int core_save_config(char *err, size_t errlen)
{
	int ret;

	if (!core.config_path) {
		log_seterr(err, errlen, "xlbd has no config file to save to");
		return -ENOENT;
	}
	ret = cfg_save_file(core.cfg, core.config_path);
	if (ret)
		log_seterr(err, errlen, "saving %s: %s", core.config_path,
		       strerror(-ret));
	else
		log_info("running config saved to %s", core.config_path);
	return ret;
}

void core_reload(void)
{
	struct cfg_msgs m = { 0 };
	struct xlb_config *next;
	char err[1024];

	log_info("SIGHUP: reloading %s", core.config_path);
	next = cfg_load_file(core.config_path, &m);
	for (size_t i = 0; i < m.n_warn; i++)
		log_warn("%s: %s", core.config_path, m.warn[i]);
	if (!next) {
		for (size_t i = 0; i < m.n_err; i++)
			log_error("%s: %s", core.config_path, m.err[i]);
		log_error("%s has errors, not reloading", core.config_path);
		cfg_msgs_free(&m);
		return;
	}
	cfg_msgs_free(&m);
	if (core_apply(next, err, sizeof(err))) {
		log_error("reload refused: %s", err);
		cfg_free(next);
		return;
	}
	log_info("reloaded %s: %zu VIPs", core.config_path, core.cfg->n_vips);
}

/* ---- core.h: queries ---- */

static json_t *backend_row(const struct xlb_vip_conf *v, size_t k)
{
	const struct xlb_backend_conf *b = &v->backends[k];
	struct rvip *rv = find_rvip(v, NULL);

	return json_pack("{s:s, s:i, s:s, s:s, s:b, s:i}", "address",
			 aname(&b->addr), "weight", (json_int_t)b->weight,
			 "state", cfg_state_name(b->state), "health",
			 hc_health_name(be_health(v, b)), "takes_new_flows",
			 takes_new(v, b), "slots",
			 (json_int_t)(rv ? rv->bes[k].nslots : 0));
}

json_t *core_status(void)
{
	size_t nb = 0, deg = 0;

	for (size_t i = 0; i < core.cfg->n_vips; i++) {
		nb += core.cfg->vips[i].n_backends;
		deg += core.vips[i].degraded;
	}
	return json_pack("{s:s, s:s, s:i, s:s, s:i, s:i, s:i, s:s?, s:s?, "
			 "s:i, s:i, s:i, s:I, s:i, s:i, s:b}",
			 "version", "0.1.0", "interface", core.ifname,
			 "ifindex", (json_int_t)core.p.ifindex, "xdp_mode",
			 core.xdp_mode, "prog_id", (json_int_t)core.p.prog_id,
			 "pid", (json_int_t)getpid(), "uptime_s",
			 (json_int_t)((now_ms() - core.start_ms) / 1000),
			 "config_file", core.config_path, "bpffs", core.bpffs,
			 "vips", (json_int_t)core.cfg->n_vips, "backends",
			 (json_int_t)nb, "degraded_vips", (json_int_t)deg,
			 "conntrack_size", (json_int_t)core.cfg->conntrack_size,
			 "max_vips", (json_int_t)core.cfg->max_vips,
			 "max_backends", (json_int_t)core.cfg->max_backends,
			 "ready", core_ready());
}

json_t *core_vip_list(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < core.cfg->n_vips; i++) {
		const struct xlb_vip_conf *v = &core.cfg->vips[i];
		size_t up = 0;

		for (size_t k = 0; k < v->n_backends; k++)
			up += be_health(v, &v->backends[k]) == HC_UP;
		json_array_append_new(
			a, json_pack("{s:s, s:i, s:s, s:i, s:i, s:b}", "vip",
				     vipname(v), "table_size",
				     (json_int_t)v->table_size, "hash",
				     v->hash == XLB_HASH_SRC_IP ? "src_ip"
								: "5tuple",
				     "backends", (json_int_t)v->n_backends,
				     "up", (json_int_t)up, "degraded",
				     core.vips[i].degraded));
	}
	return a;
}

json_t *core_vip_show(const struct xlb_vip_conf *v)
{
	struct rvip *rv = find_rvip(v, NULL);
	json_t *dump = cfg_dump_vip(v), *bes = json_array();

	for (size_t k = 0; k < v->n_backends; k++)
		json_array_append_new(bes, backend_row(v, k));
	json_t *r = json_pack("{s:s, s:i, s:s, s:b, s:O?, s:o}", "vip",
			      vipname(v), "table_size",
			      (json_int_t)v->table_size, "hash",
			      v->hash == XLB_HASH_SRC_IP ? "src_ip" : "5tuple",
			      "degraded", rv ? rv->degraded : false,
			      "healthcheck", json_object_get(dump, "healthcheck"),
			      "backends", bes);

	json_decref(dump);
	return r;
}

static json_t *vip_stats_json(const struct xlb_vip_conf *v, struct rvip *rv)
{
	struct xlb_vip_stats vs = { 0 };
	uint64_t pk = 0, by = 0;
	json_t *bes = json_array();

	maps_vip_stats(core.p.maps, rv->vip_id, &vs);
	pk = rv->gone_packets;
	by = rv->gone_bytes;
	for (size_t k = 0; k < v->n_backends; k++) {
		struct xlb_be_stats bs = { 0 };

		maps_backend_stats(core.p.maps, rv->bes[k].slot, &bs);
		pk += bs.packets;
		by += bs.bytes;
		json_array_append_new(bes, json_pack("{s:s, s:I, s:I}", "address",
						     aname(&v->backends[k].addr),
						     "packets", (json_int_t)bs.packets,
						     "bytes", (json_int_t)bs.bytes));
	}
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "vip",
			 vipname(v), "packets", (json_int_t)pk, "bytes",
			 (json_int_t)by, "new_flows_syn", (json_int_t)vs.new_syn,
			 "new_flows_nonsyn", (json_int_t)vs.new_nonsyn,
			 "dropped", (json_int_t)vs.drop_packets, "backends",
			 bes);
}

static const char *const gnames[] = {
#define XLB_G_NAME(name, str) str,
	XLB_GLOBAL_COUNTERS(XLB_G_NAME)
#undef XLB_G_NAME
};

json_t *core_stats(const struct xlb_vip_conf *v)
{
	uint64_t g[XLB_G__MAX] = { 0 };
	json_t *gj = json_object(), *vips = json_array();

	maps_global_stats(core.p.maps, g);
	for (int i = 0; i < XLB_G__MAX; i++)
		json_object_set_new(gj, gnames[i], json_integer((json_int_t)g[i]));
	for (size_t i = 0; i < core.cfg->n_vips; i++) {
		if (v && !vip_same_key(v, &core.cfg->vips[i]))
			continue;
		json_array_append_new(vips, vip_stats_json(&core.cfg->vips[i],
							   &core.vips[i]));
	}
	return json_pack("{s:I, s:o, s:o}", "timestamp_ms",
			 (json_int_t)wall_ms(), "global", gj, "vips", vips);
}

json_t *core_health(const struct xlb_vip_conf *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < core.cfg->n_vips; i++) {
		const struct xlb_vip_conf *cv = &core.cfg->vips[i];
		json_t *bes = json_array();

		if (v && !vip_same_key(v, cv))
			continue;
		for (size_t k = 0; k < cv->n_backends; k++) {
			const struct xlb_backend_conf *b = &cv->backends[k];
			const struct hc_status *st = hc_get(cv, b);

			json_array_append_new(
				bes,
				json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:f, "
					  "s:I, s:I, s:i, s:i}",
					  "address", aname(&b->addr), "state",
					  cfg_state_name(b->state), "health",
					  hc_health_name(be_health(cv, b)),
					  "check", cfg_hc_type_name(b->hc.type),
					  "port",
					  (json_int_t)(b->hc.port ? b->hc.port
								  : cv->port),
					  "last_result",
					  st ? st->last_result : "",
					  "latency_ms",
					  st ? st->last_latency_us / 1000.0 : 0.0,
					  "last_check_ms",
					  (json_int_t)(st ? st->last_check_ms : 0),
					  "last_change_ms",
					  (json_int_t)(st ? st->last_change_ms : 0),
					  "rise",
					  (json_int_t)(st ? st->rise_cnt : 0),
					  "fall",
					  (json_int_t)(st ? st->fall_cnt : 0)));
		}
		json_array_append_new(a, json_pack("{s:s, s:b, s:o}", "vip",
						   vipname(cv), "degraded",
						   core.vips[i].degraded,
						   "backends", bes));
	}
	return a;
}

static const struct xlb_backend_conf *backend_by_slot(size_t vi, uint32_t slot,
						      size_t *kout)
{
	struct rvip *rv = &core.vips[vi];

	for (size_t k = 0; k < rv->n; k++)
		if (rv->bes[k].slot == slot) {
			if (kout)
				*kout = k;
			return &core.cfg->vips[vi].backends[k];
		}
	return NULL;
}

json_t *core_explain(const struct xlb_vip_conf *v,
		     const struct xlb_addr *client, int client_port,
		     char *err, size_t errlen)
{
	size_t vi = 0;
	struct rvip *rv = find_rvip(v, &vi);
	const struct xlb_vip_conf *cv;
	uint32_t hash, idx, tslot = XLB_NO_BACKEND, size = 0;
	struct xlb_ct_val ct;
	bool recorded = false, rec_usable = false;
	struct xlb_addr rec_addr = { 0 };
	const struct xlb_backend_conf *tb, *rb = NULL, *fb;
	char cbuf[XLB_VIPSTRLEN];
	__be16 sp = htons((uint16_t)(client_port < 0 ? 0 : client_port));
	__be16 dp;

	if (!rv) {
		log_seterr(err, errlen, "vip %s: no such VIP", vipname(v));
		return NULL;
	}
	cv = &core.cfg->vips[vi];
	dp = htons(cv->port);
	if (client->family != cv->addr.family) {
		log_seterr(err, errlen, "client %s: not of the VIP's family",
		       aname(client));
		return NULL;
	}
	if (client_port < 0 && cv->hash != XLB_HASH_SRC_IP) {
		log_seterr(err, errlen, "client %s: a port is needed (the VIP "
		       "hashes the 5-tuple)", aname(client));
		return NULL;
	}
	if (cv->hash == XLB_HASH_SRC_IP)
		hash = client->family == AF_INET
			       ? xlb_src_hash4(*(__be32 *)client->bytes)
			       : xlb_src_hash6((const __be32 *)client->bytes);
	else if (client->family == AF_INET)
		hash = xlb_flow_hash4(*(__be32 *)client->bytes,
				      *(__be32 *)cv->addr.bytes, sp, dp,
				      cv->proto);
	else
		hash = xlb_flow_hash6((const __be32 *)client->bytes,
				      (const __be32 *)cv->addr.bytes, sp, dp,
				      cv->proto);
	maps_table_lookup(core.p.maps, rv->vip_id, 0, &tslot, &size);
	idx = size ? xlb_slot_index(hash, size) : 0;
	if (size)
		maps_table_lookup(core.p.maps, rv->vip_id, idx, &tslot, NULL);
	tb = backend_by_slot(vi, tslot, NULL);
	if (client_port >= 0) {
		int r;

		if (client->family == AF_INET) {
			struct xlb_ct4_key k = { .sport = sp, .dport = dp,
						 .proto = cv->proto };

			memcpy(&k.saddr, client->bytes, 4);
			memcpy(&k.daddr, cv->addr.bytes, 4);
			r = maps_ct_lookup4(core.p.maps, &k, &ct);
		} else {
			struct xlb_ct6_key k = { .sport = sp, .dport = dp,
						 .proto = cv->proto };

			memcpy(k.saddr, client->bytes, 16);
			memcpy(k.daddr, cv->addr.bytes, 16);
			r = maps_ct_lookup6(core.p.maps, &k, &ct);
		}
		if (!r) {
			struct xlb_backend b;

			recorded = true;
			maps_backend_read(core.p.maps, ct.backend, &b);
			rb = backend_by_slot(vi, ct.backend, NULL);
			rec_usable = rb && b.gen == ct.gen &&
				     (b.flags & XLB_BE_F_ALIVE);
			/* A removed backend keeps its address in its slot
			 * until the slot is reused (new generation). */
			if (b.gen == ct.gen) {
				rec_addr.family = (b.flags & XLB_BE_F_V6)
							  ? AF_INET6
							  : AF_INET;
				memcpy(rec_addr.bytes, b.addr,
				       rec_addr.family == AF_INET6 ? 16 : 4);
			}
		}
	}
	fb = rec_usable ? rb : tb;
	if (client->family == AF_INET6)
		snprintf(cbuf, sizeof(cbuf), "[%s]:%d", aname(client), client_port);
	else
		snprintf(cbuf, sizeof(cbuf), "%s:%d", aname(client), client_port);
	if (client_port < 0)
		snprintf(cbuf, sizeof(cbuf), "%s", aname(client));
	return json_pack(
		"{s:s, s:s, s:I, s:i, s:s?, s:b, s:s?, s:o, s:s?, s:s, s:s?, "
		"s:s?, s:o, s:b}",
		"vip", vipname(cv), "client", cbuf, "hash", (json_int_t)hash,
		"slot", (json_int_t)idx, "table_backend",
		tb ? aname(&tb->addr) : NULL, "recorded", recorded,
		"recorded_backend", rb ? aname(&rb->addr)
				       : rec_addr.family ? aname(&rec_addr) : NULL,
		"recorded_usable", recorded ? json_boolean(rec_usable) : json_null(),
		"backend", fb ? aname(&fb->addr) : NULL, "reason",
		rec_usable ? "connection table" : "maglev table", "state",
		fb ? cfg_state_name(fb->state) : NULL, "health",
		fb ? hc_health_name(be_health(cv, fb)) : NULL, "weight",
		fb ? json_integer((json_int_t)fb->weight) : json_null(),
		"takes_new_flows", fb ? takes_new(cv, fb) : false);
}
