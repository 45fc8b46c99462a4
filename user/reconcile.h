/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * reconcile.h - xlbd's core seen from main (xlbd.c): start-up, adoption,
 * the end-of-turn rebuild of dirty VIP tables, neighbour upkeep.
 * The control socket uses core.h only.
 */
#ifndef XLB_RECONCILE_H
#define XLB_RECONCILE_H

#include <stdbool.h>
#include "config.h"
#include "evloop.h"
#include "maps.h"

struct core_params {
	struct ev_loop *ev;
	struct maps *maps;
	const char *config_path;
	const char *bpffs;
	const char *ifname;   /* the interface in use */
	int ifindex;
	bool iface_from_cmdline; /* -i given: wins over the document */
	bool mode_from_cmdline;  /* --xdp-mode given: wins over the document */
	const char *xdp_mode; /* "native" / "generic" */
	unsigned prog_id;
	uint32_t if_mtu;
	bool adopted;	      /* pinned state was found */
};

/* Take ownership of cfg and bring the data plane to it.  With adopted
 * state, VIP ids, backend slots (and so recorded flows) and health are
 * kept.  0 or -errno with err set. */
int core_start(const struct core_params *p, struct xlb_config *cfg, char *err,
	       size_t errlen);
/* True once every VIP has its first table (READY=1 may be sent). */
bool core_ready(void);
/* A route or neighbour changed: invalidate the next-hop caches and keep
 * every backend's neighbour resolved. */
void core_net_changed(void);
/* An address changed: the default encap source may have to follow. */
void core_addr_changed(void);
/* The data plane reported a neighbour miss. */
void core_neigh_miss(int family, int ifindex, const void *addr);
/* Re-read the config file and apply it (SIGHUP). */
void core_reload(void);
void core_stop(void);

#endif
