/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * config.h - the configuration model (cfg_).
 *
 * A JSON document (SPEC.md "Configuration") is parsed and validated
 * completely into an immutable struct xlb_config; nothing else in xlbd
 * reads JSON configuration.  Every error names its JSON path
 * ("vips[0].backends[2].weight: must be 0..65535").  A model is never
 * modified after cfg_parse*() returns: a change is a new model (edit the
 * JSON from cfg_dump() and parse it again), compared with the running one.
 */
#ifndef XLB_CONFIG_H
#define XLB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "addr.h"

#define CFG_MAX_FILE_SIZE (16u << 20) /* same as a control request */

enum xlb_xdp_mode { XLB_XDP_AUTO, XLB_XDP_NATIVE, XLB_XDP_GENERIC };
enum xlb_hash_kind { XLB_HASH_5TUPLE, XLB_HASH_SRC_IP };
enum xlb_be_state { XLB_STATE_ENABLED, XLB_STATE_DRAINING, XLB_STATE_DISABLED };
enum xlb_hc_type { XLB_HC_NONE, XLB_HC_TCP, XLB_HC_HTTP, XLB_HC_UDP };

/* Bits of struct xlb_hc_conf keys, for "which keys did the backend set". */
enum {
	CFG_HC_TYPE = 1u << 0,
	CFG_HC_PORT = 1u << 1,
	CFG_HC_PATH = 1u << 2,
	CFG_HC_HOST = 1u << 3,
	CFG_HC_EXPECT = 1u << 4,
	CFG_HC_PAYLOAD = 1u << 5,
	CFG_HC_INTERVAL = 1u << 6,
	CFG_HC_TIMEOUT = 1u << 7,
	CFG_HC_RISE = 1u << 8,
	CFG_HC_FALL = 1u << 9,
};

struct xlb_hc_conf {
	enum xlb_hc_type type; /* default none */
	uint16_t port;	       /* 0 in the JSON = absent: the VIP's port */
	char *path;	       /* http; default "/" */
	char *host;	       /* http Host:; NULL = the VIP's address */
	int expect_status;     /* http; default 200 */
	char *payload;	       /* udp; UTF-8 bytes of the JSON string */
	size_t payload_len;
	uint32_t interval_ms; /* default 2000 */
	uint32_t timeout_ms;  /* default 1000, at most interval_ms */
	uint32_t rise;	      /* default 2 */
	uint32_t fall;	      /* default 3 */
};

struct xlb_backend_conf {
	struct xlb_addr addr;
	uint32_t weight;	/* default 100 */
	enum xlb_be_state state; /* default enabled */
	struct xlb_hc_conf hc;	/* effective: the VIP's, overridden */
	uint32_t hc_set;	/* CFG_HC_* keys the backend set itself */
};

struct xlb_vip_conf {
	struct xlb_addr addr;
	uint16_t port;
	uint8_t proto;	     /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t table_size; /* default 65537 */
	enum xlb_hash_kind hash;
	struct xlb_hc_conf hc;
	struct xlb_backend_conf *backends; /* sorted by address */
	size_t n_backends;
};

struct xlb_config {
	char interface[16]; /* "" when absent */
	enum xlb_xdp_mode xdp_mode;
	bool has_src4, has_src6;
	struct xlb_addr src4, src6; /* encap_source */
	int src4_plen, src6_plen;   /* 32 / 128 for a plain address */
	uint64_t conntrack_size;    /* default 1048576 */
	uint32_t max_vips;	    /* default 512 */
	uint32_t max_backends;	    /* default 4096 */
	uint32_t icmp_rate_limit;   /* default 1000 */
	struct xlb_vip_conf *vips;  /* sorted by (address, port, proto) */
	size_t n_vips;
};

/* Messages collected while parsing: every error, not just the first. */
struct cfg_msgs {
	char **err;
	size_t n_err;
	char **warn;
	size_t n_warn;
};
void cfg_msgs_free(struct cfg_msgs *m);

/* Parse and validate.  NULL when the document has errors (in m->err). */
struct xlb_config *cfg_parse(const char *text, size_t len, struct cfg_msgs *m);
struct xlb_config *cfg_parse_json(json_t *doc, struct cfg_msgs *m);
/* Read a file (at most CFG_MAX_FILE_SIZE bytes, else an error) and parse. */
struct xlb_config *cfg_load_file(const char *path, struct cfg_msgs *m);
void cfg_free(struct xlb_config *c);

/* The model as JSON, every value (defaults included): valid cfg_parse input. */
json_t *cfg_dump(const struct xlb_config *c);
json_t *cfg_dump_vip(const struct xlb_vip_conf *v);
json_t *cfg_dump_backend(const struct xlb_vip_conf *v,
			 const struct xlb_backend_conf *b);
/* Write cfg_dump() to path atomically (temp file + rename). 0 or -errno. */
int cfg_save_file(const struct xlb_config *c, const char *path);

/* A backend list alone: a JSON array or {"backends": [...]}. Returns a new
 * JSON array of the backend objects (validated later as part of the VIP
 * they replace), or NULL with the reason in m->err. */
json_t *cfg_parse_backend_list(const char *text, size_t len, struct cfg_msgs *m);

/* Keys that cannot change while xlbd runs: interface, xdp_mode,
 * conntrack_size, max_vips, max_backends.  Adds one error per differing key
 * to m; returns the number found.  (The caller handles -i overriding
 * interface before calling.) */
int cfg_check_immutable(const struct xlb_config *running,
			const struct xlb_config *next, struct cfg_msgs *m);

/* Differences as JSON, for `apply --dry-run`:
 * {"changed": bool, "settings": [{"key","from","to"}...],
 *  "vips_added": ["VIP"...], "vips_removed": ["VIP"...],
 *  "vips_changed": [{"vip": "VIP", "settings": [...],
 *     "backends_added": ["ADDR"...], "backends_removed": [...],
 *     "backends_changed": [{"address","settings":[...]}]}]} */
json_t *cfg_diff(const struct xlb_config *a, const struct xlb_config *b);

/* VIP text "ADDR:PORT/PROTO" ("[v6]:443/tcp"). */
const char *cfg_vip_fmt(const struct xlb_vip_conf *v, char *buf, size_t len);
int cfg_vip_parse(const char *s, struct xlb_addr *addr, uint16_t *port,
		  uint8_t *proto);
struct xlb_vip_conf *cfg_find_vip(const struct xlb_config *c,
				  const struct xlb_addr *addr, uint16_t port,
				  uint8_t proto);
struct xlb_backend_conf *cfg_find_backend(const struct xlb_vip_conf *v,
					  const struct xlb_addr *addr);
/* Do two VIPs / backends configure the same thing (all fields equal)? */
bool cfg_vip_equal(const struct xlb_vip_conf *a, const struct xlb_vip_conf *b);
bool cfg_hc_equal(const struct xlb_hc_conf *a, const struct xlb_hc_conf *b);
bool cfg_backend_equal(const struct xlb_backend_conf *a,
		       const struct xlb_backend_conf *b);

const char *cfg_state_name(enum xlb_be_state s);
const char *cfg_hc_type_name(enum xlb_hc_type t);
const char *cfg_proto_name(uint8_t proto);
bool cfg_is_prime(uint32_t n);

#endif
