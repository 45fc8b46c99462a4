/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * decap_tool.h - the modules of xlb-decap: netlink (dt_nl_), the program
 * on an interface (dt_prog_), the host checks (dt_check_) and output
 * through a text/JSON vtable (dt_out_).
 */
#ifndef XLB_DECAP_TOOL_H
#define XLB_DECAP_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include "../../kern/decap_common.h"

/* Exit codes. */
#define DT_EXIT_OK 0
#define DT_EXIT_FAIL 1
#define DT_EXIT_USAGE 2

/* An address: of the host (netlink dump) or a VIP. */
struct dt_addr {
	int family;	   /* AF_INET or AF_INET6 */
	int ifindex;	   /* 0 when not from the host */
	uint8_t scope;	   /* RT_SCOPE_* from the dump */
	uint8_t bytes[16]; /* network order, IPv4 in bytes[0..3] */
};

struct dt_addrs {
	struct dt_addr *v;
	size_t n, cap;
};

int dt_addrs_add(struct dt_addrs *a, const struct dt_addr *x);
bool dt_addrs_has(const struct dt_addrs *a, const struct dt_addr *x);
void dt_addrs_free(struct dt_addrs *a);
const char *dt_addr_fmt(const struct dt_addr *a, char *buf, size_t len);
int dt_addr_parse(const char *s, struct dt_addr *out);

/* Every address of every interface of this network namespace
 * (RTM_GETADDR dump).  0 or a negative errno. */
int dt_nl_addrs(struct dt_addrs *out);

/* What is attached to one interface. */
struct dt_prog {
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t prog_id;  /* ours, 0 when xlb-decap is not attached */
	uint32_t mode;	   /* XDP_FLAGS_DRV_MODE / _SKB_MODE / _HW_MODE */
	uint32_t other_id; /* a program that is not ours, 0 if none */
	char other_name[16];
	int prog_fd;	   /* ours, -1 if none */
	int vip4_fd, vip6_fd, stats_fd, cfg_fd; /* -1 when not found */
};

/* Fill @p for @ifindex: 0, or a negative errno (with a message). */
int dt_prog_find(int ifindex, struct dt_prog *p);
void dt_prog_close(struct dt_prog *p);
const char *dt_mode_name(uint32_t mode);
/* Sum the per-CPU counters into c[DECAP_C__MAX]. */
int dt_prog_counters(const struct dt_prog *p, uint64_t *c);
int dt_prog_vips(const struct dt_prog *p, struct dt_addrs *out);
int dt_prog_cfg(const struct dt_prog *p, struct decap_cfg *cfg);

extern const char *const dt_counter_names[DECAP_C__MAX];
extern const char *const dt_counter_help[DECAP_C__MAX];

/* Output: text for people, JSON (jansson) for machines. */
struct dt_status {
	const struct dt_prog *prog;
	const struct decap_cfg *cfg;
	const struct dt_addrs *vips;
	const uint64_t *counters;
};

struct dt_finding {
	const char *check;     /* "attached", "vip", "arp_ignore", ... */
	const char *ifname;    /* may be NULL */
	bool ok;
	bool skipped;
	char message[256];
	char fix[256];	       /* empty when nothing to do */
};

struct dt_output {
	void (*status)(const struct dt_status *st);
	void (*not_attached)(const char *ifname); /* NULL: none anywhere */
	void (*finding)(const struct dt_finding *f);
	void (*done)(bool ok);
};

extern const struct dt_output dt_out_text, dt_out_json;

/* check: run every finding through @out; returns true when all pass. */
bool dt_check_run(const struct dt_output *out, const char *ifname,
		  const struct dt_addrs *vips);

#endif
