// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * config.c - parse, validate, dump and compare the JSON configuration.
 *
 * The document is walked once: every key is checked against the schema and
 * every error is collected with its JSON path, so an operator fixes all of
 * them in one go.  The model is only built (sorted, defaults filled in) when
 * the whole document is valid.  Memory is bounded by the input: files are
 * capped at CFG_MAX_FILE_SIZE, jansson caps nesting at
 * JSON_PARSER_MAX_DEPTH, arrays beyond max_vips / max_backends are checked
 * element by element without being kept, and at most CFG_MAX_ERRORS messages
 * are stored.
 */
#define _GNU_SOURCE
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_MAX_ERRORS 1000
#define CFG_PAYLOAD_MAX 65507 /* largest UDP payload over IPv4 */
#define CFG_HOST_MAX 255
#define CFG_HTTP_PATH_MAX 2048

#define DEF_TABLE_SIZE 65537
#define DEF_CONNTRACK 1048576
#define DEF_MAX_VIPS 512
#define DEF_MAX_BACKENDS 4096
#define DEF_ICMP_RATE 1000
#define DEF_WEIGHT 100
#define DEF_HC_INTERVAL 2000
#define DEF_HC_TIMEOUT 1000
#define DEF_HC_RISE 2
#define DEF_HC_FALL 3
#define DEF_HC_EXPECT 200

#define TABLE_MIN 7
#define TABLE_MAX 1048573

#define PATHLEN 128

static const char *const xdp_mode_names[] = {"auto", "native", "generic", NULL};
static const char *const hash_names[] = {"5tuple", "src_ip", NULL};
static const char *const state_names[] = {"enabled", "draining", "disabled",
					  NULL};
static const char *const hc_type_names[] = {"none", "tcp", "http", "udp", NULL};
static const char *const proto_names[] = {"tcp", "udp", NULL};

static const char *const root_keys[] = {
    "interface",       "xdp_mode", "encap_source",
    "conntrack_size",  "max_vips", "max_backends",
    "icmp_rate_limit", "vips",	   NULL};
static const char *const encap_keys[] = {"ipv4", "ipv6", NULL};
static const char *const vip_keys[] = {"address",    "port", "protocol",
				       "table_size", "hash", "healthcheck",
				       "backends",   NULL};
static const char *const be_keys[] = {"address", "weight", "state",
				      "healthcheck", NULL};
/* In the order of the CFG_HC_* bits. */
static const char *const hc_keys[] = {
    "type",	     "port",	"path",	       "host",
    "expect_status", "payload", "interval_ms", "timeout_ms",
    "rise",	     "fall",	NULL};

/* ---- messages ---- */

struct pctx {
	struct cfg_msgs *m;
	size_t n_err;	 /* errors found by this parse */
	size_t n_stored; /* of which stored in m */
};

static int msgs_push(char ***arr, size_t *n, char *s)
{
	char **na;
	size_t cap;

	/* Capacity doubles at each power of two: amortised O(1). */
	if (*n == 0 || (*n & (*n - 1)) == 0) {
		cap = *n ? *n * 2 : 4;
		na = realloc(*arr, cap * sizeof(*na));
		if (!na) {
			free(s);
			return -ENOMEM;
		}
		*arr = na;
	}
	(*arr)[(*n)++] = s;
	return 0;
}

void cfg_msgs_free(struct cfg_msgs *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_err; i++)
		free(m->err[i]);
	for (i = 0; i < m->n_warn; i++)
		free(m->warn[i]);
	free(m->err);
	free(m->warn);
	memset(m, 0, sizeof(*m));
}

/* A user-supplied string made printable and short enough for a message. */
static const char *safe_str(const char *s, size_t len, char *buf, size_t sz)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < sz; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (i < len && o >= 3) {
		memcpy(buf + o - 3, "...", 3);
	}
	buf[o] = '\0';
	return buf;
}

static void vmsg(struct pctx *p, bool warn, const char *path, const char *key,
		 const char *fmt, va_list ap)
{
	char kbuf[48], text[512], *s;
	int n;

	if (!p->m)
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	if (key)
		safe_str(key, strlen(key), kbuf, sizeof(kbuf));
	if (key && *path)
		n = asprintf(&s, "%s.%s: %s", path, kbuf, text);
	else if (key)
		n = asprintf(&s, "%s: %s", kbuf, text);
	else if (!path)
		n = asprintf(&s, "%s", text);
	else
		n = asprintf(&s, "%s: %s", *path ? path : "document", text);
	if (n < 0)
		return;
	if (warn)
		msgs_push(&p->m->warn, &p->m->n_warn, s);
	else
		msgs_push(&p->m->err, &p->m->n_err, s);
}

__attribute__((format(printf, 4, 5))) static void
perr(struct pctx *p, const char *path, const char *key, const char *fmt, ...)
{
	va_list ap;

	p->n_err++;
	if (p->n_stored >= CFG_MAX_ERRORS)
		return;
	p->n_stored++;
	va_start(ap, fmt);
	vmsg(p, false, path, key, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void
pwarn(struct pctx *p, const char *path, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (p->m && p->m->n_warn >= CFG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vmsg(p, true, path, key, fmt, ap);
	va_end(ap);
}

static void pctx_finish(struct pctx *p)
{
	char *s;

	if (p->n_err <= p->n_stored || !p->m)
		return;
	if (asprintf(&s, "... and %zu more errors", p->n_err - p->n_stored) >=
	    0)
		msgs_push(&p->m->err, &p->m->n_err, s);
}

/* ---- typed getters: 1 = present and valid, 0 = absent, -1 = error ---- */

static void check_keys(struct pctx *p, json_t *obj, const char *path,
		       const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v)
	{
		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (!allowed[i])
			perr(p, path, key, "unknown key");
	}
}

static int get_int(struct pctx *p, json_t *obj, const char *path,
		   const char *key, long long min, long long max,
		   long long *out)
{
	json_t *v = json_object_get(obj, key);
	long long x;

	if (!v)
		return 0;
	if (!json_is_integer(v)) {
		perr(p, path, key, "must be an integer");
		return -1;
	}
	x = json_integer_value(v);
	if (x < min || x > max) {
		perr(p, path, key, "must be %lld..%lld", min, max);
		return -1;
	}
	*out = x;
	return 1;
}

static int get_u32(struct pctx *p, json_t *obj, const char *path,
		   const char *key, long long min, long long max, uint32_t *out)
{
	long long x;
	int r = get_int(p, obj, path, key, min, max, &x);

	if (r > 0)
		*out = (uint32_t)x;
	return r;
}

/* A string without NUL bytes. */
static int get_cstr(struct pctx *p, json_t *obj, const char *path,
		    const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v)
		return 0;
	if (!json_is_string(v)) {
		perr(p, path, key, "must be a string");
		return -1;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		perr(p, path, key, "must not contain NUL characters");
		return -1;
	}
	*out = s;
	return 1;
}

static int get_enum(struct pctx *p, json_t *obj, const char *path,
		    const char *key, const char *const *names, int *out)
{
	char list[128];
	const char *s;
	size_t i, o = 0;
	int r = get_cstr(p, obj, path, key, &s);

	if (r <= 0)
		return r;
	for (i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 1;
		}
	}
	list[0] = '\0';
	for (i = 0; names[i]; i++)
		o += snprintf(list + o, sizeof(list) - o, "%s\"%s\"",
			      !i	     ? ""
			      : names[i + 1] ? ", "
					     : " or ",
			      names[i]);
	perr(p, path, key, "must be %s", list);
	return -1;
}

/* The object at key, or NULL (absent: *err = 0; not an object: error). */
static json_t *get_obj(struct pctx *p, json_t *obj, const char *path,
		       const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v && !json_is_object(v)) {
		perr(p, path, key, "must be an object");
		return NULL;
	}
	return v;
}

static bool addr_is_unicast(const struct xlb_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == AF_INET) {
		if (!memcmp(a->bytes, zero, 4))
			return false;
		if (a->bytes[0] >= 224 && a->bytes[0] <= 239)
			return false;
		return !(a->bytes[0] == 255 && a->bytes[1] == 255 &&
			 a->bytes[2] == 255 && a->bytes[3] == 255);
	}
	return memcmp(a->bytes, zero, 16) && a->bytes[0] != 0xff;
}

static int get_addr(struct pctx *p, json_t *obj, const char *path,
		    const char *key, bool required, struct xlb_addr *out)
{
	const char *s;
	char buf[64];
	int r = get_cstr(p, obj, path, key, &s);

	if (r == 0 && required) {
		perr(p, path, key, "required");
		return -1;
	}
	if (r <= 0)
		return r;
	if (addr_parse(s, out)) {
		perr(p, path, key, "not an IPv4 or IPv6 address: \"%s\"",
		     safe_str(s, strlen(s), buf, sizeof(buf)));
		return -1;
	}
	if (!addr_is_unicast(out)) {
		perr(p, path, key, "must be a unicast address, not %s", s);
		return -1;
	}
	return 1;
}

/* ---- validation helpers ---- */

bool cfg_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; d <= n / d; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

static bool ifname_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '/' || ch == ':' || ch <= 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

/* HTTP request-target / Host value: visible ASCII, no spaces. */
static bool http_token_valid(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* ---- health checks ---- */

static void hc_free_owned(struct xlb_hc_conf *hc, uint32_t owned)
{
	if (owned & CFG_HC_PATH)
		free(hc->path);
	if (owned & CFG_HC_HOST)
		free(hc->host);
	if (owned & CFG_HC_PAYLOAD)
		free(hc->payload);
}

static char *memdup0(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/*
 * The keys present in one "healthcheck" object, into hc (strings owned);
 * *set gets their CFG_HC_* bits.  Keys in error are left unset.
 */
static void hc_parse(struct pctx *p, json_t *o, const char *path,
		     struct xlb_hc_conf *hc, uint32_t *set)
{
	const char *s;
	json_t *v;
	long long x;
	int e;

	*set = 0;
	memset(hc, 0, sizeof(*hc));
	check_keys(p, o, path, hc_keys);
	if (get_enum(p, o, path, "type", hc_type_names, &e) > 0) {
		hc->type = (enum xlb_hc_type)e;
		*set |= CFG_HC_TYPE;
	}
	if (get_int(p, o, path, "port", 0, 65535, &x) > 0) {
		hc->port = (uint16_t)x;
		*set |= CFG_HC_PORT;
	}
	if (get_cstr(p, o, path, "path", &s) > 0) {
		if (s[0] != '/' || strlen(s) > CFG_HTTP_PATH_MAX ||
		    !http_token_valid(s))
			perr(p, path, "path",
			     "must start with '/' and be at most %d visible "
			     "ASCII characters (no spaces)",
			     CFG_HTTP_PATH_MAX);
		else if ((hc->path = strdup(s)))
			*set |= CFG_HC_PATH;
	}
	v = json_object_get(o, "host");
	if (v && json_is_null(v)) {
		*set |= CFG_HC_HOST; /* explicitly the VIP's address */
	} else if (get_cstr(p, o, path, "host", &s) > 0) {
		if (!*s || strlen(s) > CFG_HOST_MAX || !http_token_valid(s))
			perr(p, path, "host",
			     "must be 1..%d visible ASCII characters "
			     "(no spaces), or null",
			     CFG_HOST_MAX);
		else if ((hc->host = strdup(s)))
			*set |= CFG_HC_HOST;
	}
	if (get_int(p, o, path, "expect_status", 100, 599, &x) > 0) {
		hc->expect_status = (int)x;
		*set |= CFG_HC_EXPECT;
	}
	v = json_object_get(o, "payload");
	if (v && !json_is_string(v)) {
		perr(p, path, "payload", "must be a string");
	} else if (v && json_string_length(v) > CFG_PAYLOAD_MAX) {
		perr(p, path, "payload", "must be at most %d bytes",
		     CFG_PAYLOAD_MAX);
	} else if (v) {
		hc->payload_len = json_string_length(v);
		hc->payload = memdup0(json_string_value(v), hc->payload_len);
		if (hc->payload)
			*set |= CFG_HC_PAYLOAD;
	}
	if (get_u32(p, o, path, "interval_ms", 10, 3600000, &hc->interval_ms) >
	    0)
		*set |= CFG_HC_INTERVAL;
	if (get_u32(p, o, path, "timeout_ms", 1, 3600000, &hc->timeout_ms) > 0)
		*set |= CFG_HC_TIMEOUT;
	if (get_u32(p, o, path, "rise", 1, 100, &hc->rise) > 0)
		*set |= CFG_HC_RISE;
	if (get_u32(p, o, path, "fall", 1, 100, &hc->fall) > 0)
		*set |= CFG_HC_FALL;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * Complete a parsed override: keys not set come from base (aliased, not
 * copied: the owner of a string is the level whose hc_set has its bit).
 * A timeout not set at this level is the inherited one, capped at this
 * level's interval: setting only interval_ms never makes a check invalid.
 */
static void hc_merge(struct pctx *p, const char *path, struct xlb_hc_conf *hc,
		     uint32_t set, const struct xlb_hc_conf *base)
{
	if (!(set & CFG_HC_TYPE))
		hc->type = base->type;
	if (!(set & CFG_HC_PORT))
		hc->port = base->port;
	if (!(set & CFG_HC_PATH))
		hc->path = base->path;
	if (!(set & CFG_HC_HOST))
		hc->host = base->host;
	if (!(set & CFG_HC_EXPECT))
		hc->expect_status = base->expect_status;
	if (!(set & CFG_HC_PAYLOAD)) {
		hc->payload = base->payload;
		hc->payload_len = base->payload_len;
	}
	if (!(set & CFG_HC_INTERVAL))
		hc->interval_ms = base->interval_ms;
	if (!(set & CFG_HC_TIMEOUT))
		hc->timeout_ms = min_u32(base->timeout_ms, hc->interval_ms);
	else if (hc->timeout_ms > hc->interval_ms)
		perr(p, path, "timeout_ms", "must be at most interval_ms (%u)",
		     hc->interval_ms);
	if (!(set & CFG_HC_RISE))
		hc->rise = base->rise;
	if (!(set & CFG_HC_FALL))
		hc->fall = base->fall;
}

static const struct xlb_hc_conf hc_defaults = {
    .type = XLB_HC_NONE,
    .port = 0,
    .path = "/",
    .host = NULL,
    .expect_status = DEF_HC_EXPECT,
    .payload = "",
    .payload_len = 0,
    .interval_ms = DEF_HC_INTERVAL,
    .timeout_ms = DEF_HC_TIMEOUT,
    .rise = DEF_HC_RISE,
    .fall = DEF_HC_FALL,
};

/* A VIP's check: the keys given, defaults for the rest (strings owned). */
static int hc_parse_vip(struct pctx *p, json_t *o, const char *path,
			struct xlb_hc_conf *hc)
{
	uint32_t set = 0;

	memset(hc, 0, sizeof(*hc));
	if (o)
		hc_parse(p, o, path, hc, &set);
	hc_merge(p, path, hc, set, &hc_defaults);
	if (!(set & CFG_HC_PATH))
		hc->path = strdup("/");
	if (!(set & CFG_HC_PAYLOAD))
		hc->payload = strdup("");
	if (!hc->path || !hc->payload)
		return -ENOMEM;
	return 0;
}

/* ---- parse ---- */

struct be_tmp {
	size_t idx; /* in the document */
	bool addr_ok;
};

struct vip_tmp {
	size_t idx;
	bool key_ok; /* address, port and protocol valid */
	struct be_tmp *be;
};

static void backend_free(struct xlb_backend_conf *b)
{
	hc_free_owned(&b->hc, b->hc_set);
}

static void vip_free(struct xlb_vip_conf *v)
{
	size_t i;

	for (i = 0; i < v->n_backends; i++)
		backend_free(&v->backends[i]);
	free(v->backends);
	hc_free_owned(&v->hc, CFG_HC_PATH | CFG_HC_HOST | CFG_HC_PAYLOAD);
	memset(v, 0, sizeof(*v));
}

void cfg_free(struct xlb_config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_vips; i++)
		vip_free(&c->vips[i]);
	free(c->vips);
	free(c);
}

static bool backend_parse(struct pctx *p, json_t *o, const char *path,
			  const struct xlb_vip_conf *v,
			  struct xlb_backend_conf *b)
{
	char hpath[PATHLEN + 16];
	json_t *h;
	int e;
	bool addr_ok;

	memset(b, 0, sizeof(*b));
	b->weight = DEF_WEIGHT;
	b->state = XLB_STATE_ENABLED;
	b->hc = v->hc; /* aliases the VIP's strings until overridden */
	if (!json_is_object(o)) {
		perr(p, path, NULL, "must be an object");
		return false;
	}
	check_keys(p, o, path, be_keys);
	addr_ok = get_addr(p, o, path, "address", true, &b->addr) > 0;
	get_u32(p, o, path, "weight", 0, 65535, &b->weight);
	if (get_enum(p, o, path, "state", state_names, &e) > 0)
		b->state = (enum xlb_be_state)e;
	h = get_obj(p, o, path, "healthcheck");
	if (h) {
		snprintf(hpath, sizeof(hpath), "%s.healthcheck", path);
		hc_parse(p, h, hpath, &b->hc, &b->hc_set);
		hc_merge(p, hpath, &b->hc, b->hc_set, &v->hc);
	}
	return addr_ok;
}

static int cmp_backend_tmp(const void *pa, const void *pb, void *arg)
{
	const struct xlb_backend_conf *be = arg;
	const struct be_tmp *a = pa, *b = pb;
	int r = addr_cmp(&be[a->idx].addr, &be[b->idx].addr);

	if (r)
		return r;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Backends of one VIP: duplicates, families and sort order.  Only backends
 * whose address parsed take part.
 */
static int backends_finish(struct pctx *p, const char *vpath,
			   struct xlb_vip_conf *v, struct be_tmp *t, bool v_ok)
{
	struct xlb_backend_conf *sorted;
	struct be_tmp *ord;
	char a1[XLB_ADDRSTRLEN], vs[XLB_VIPSTRLEN], bpath[PATHLEN + 32];
	size_t i, n = 0;

	ord = calloc(v->n_backends ? v->n_backends : 1, sizeof(*ord));
	if (!ord)
		return -ENOMEM;
	for (i = 0; i < v->n_backends; i++) {
		if (!t[i].addr_ok)
			continue;
		if (v_ok && v->addr.family == AF_INET6 &&
		    v->backends[i].addr.family == AF_INET) {
			snprintf(bpath, sizeof(bpath), "%s.backends[%zu]",
				 vpath, i);
			perr(p, bpath, "address",
			     "IPv4 backend %s cannot serve IPv6 VIP %s (an "
			     "IPv6 VIP needs IPv6 backends)",
			     addr_fmt(&v->backends[i].addr, a1, sizeof(a1)),
			     cfg_vip_fmt(v, vs, sizeof(vs)));
		}
		ord[n++].idx = i;
	}
	qsort_r(ord, n, sizeof(*ord), cmp_backend_tmp, v->backends);
	for (i = 1; i < n; i++) {
		const struct xlb_backend_conf *b = &v->backends[ord[i].idx];

		if (!addr_eq(&b->addr, &v->backends[ord[i - 1].idx].addr))
			continue;
		snprintf(bpath, sizeof(bpath), "%s.backends[%zu]", vpath,
			 ord[i].idx);
		perr(p, bpath, "address", "duplicate of %s.backends[%zu] (%s)",
		     vpath, ord[i - 1].idx, addr_fmt(&b->addr, a1, sizeof(a1)));
	}
	if (n != v->n_backends || p->n_err) {
		/* Not kept in order: the model is discarded anyway. */
		free(ord);
		return 0;
	}
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted) {
		free(ord);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		sorted[i] = v->backends[ord[i].idx];
	free(v->backends);
	v->backends = sorted;
	free(ord);
	return 0;
}

/*
 * One VIP.  keep = false: check it, but do not keep its backends (the
 * document is already invalid, e.g. too many of them).
 */
static int vip_parse(struct pctx *p, json_t *o, size_t idx,
		     uint32_t max_backends, size_t *total_be,
		     struct xlb_vip_conf *v, bool *key_ok)
{
	char path[PATHLEN], bpath[PATHLEN + 32], hpath[PATHLEN + 16];
	struct be_tmp *t = NULL;
	struct xlb_backend_conf tmpb;
	json_t *arr, *h, *be;
	long long x;
	size_t i, n = 0;
	bool ok = true, keep;
	int e, err = 0;

	memset(v, 0, sizeof(*v));
	v->table_size = DEF_TABLE_SIZE;
	v->hash = XLB_HASH_5TUPLE;
	snprintf(path, sizeof(path), "vips[%zu]", idx);
	*key_ok = false;
	if (!json_is_object(o)) {
		perr(p, path, NULL, "must be an object");
		return hc_parse_vip(p, NULL, path, &v->hc);
	}
	check_keys(p, o, path, vip_keys);
	if (get_addr(p, o, path, "address", true, &v->addr) <= 0)
		ok = false;
	if (get_int(p, o, path, "port", 1, 65535, &x) > 0)
		v->port = (uint16_t)x;
	else if (!json_object_get(o, "port"))
		perr(p, path, "port", "required"), ok = false;
	else
		ok = false;
	if (get_enum(p, o, path, "protocol", proto_names, &e) > 0)
		v->proto = e ? IPPROTO_UDP : IPPROTO_TCP;
	else if (!json_object_get(o, "protocol"))
		perr(p, path, "protocol", "required"), ok = false;
	else
		ok = false;
	x = json_integer_value(json_object_get(o, "table_size"));
	if (json_is_integer(json_object_get(o, "table_size")) &&
	    x >= TABLE_MIN && x <= TABLE_MAX && !cfg_is_prime((uint32_t)x)) {
		uint32_t q = (uint32_t)x + 1;

		while (!cfg_is_prime(q))
			q++;
		perr(p, path, "table_size",
		     "must be a prime %d..%d (%lld is not a prime; %u is)",
		     TABLE_MIN, TABLE_MAX, x, q);
	} else if (json_object_get(o, "table_size") &&
		   json_is_integer(json_object_get(o, "table_size")) &&
		   (x < TABLE_MIN || x > TABLE_MAX)) {
		perr(p, path, "table_size", "must be a prime %d..%d", TABLE_MIN,
		     TABLE_MAX);
	} else {
		get_u32(p, o, path, "table_size", TABLE_MIN, TABLE_MAX,
			&v->table_size);
	}
	if (get_enum(p, o, path, "hash", hash_names, &e) > 0)
		v->hash = (enum xlb_hash_kind)e;
	snprintf(hpath, sizeof(hpath), "%s.healthcheck", path);
	h = get_obj(p, o, path, "healthcheck");
	err = hc_parse_vip(p, h, hpath, &v->hc);
	if (err)
		return err;
	*key_ok = ok;

	arr = json_object_get(o, "backends");
	if (arr && !json_is_array(arr)) {
		perr(p, path, "backends", "must be an array");
		arr = NULL;
	}
	n = json_array_size(arr);
	*total_be += n;
	/*
	 * Over the limit, every backend is still checked, one at a time, so
	 * a huge array does not become a huge model.
	 */
	keep = *total_be <= max_backends;
	if (keep && n) {
		v->backends = calloc(n, sizeof(*v->backends));
		t = calloc(n, sizeof(*t));
		if (!v->backends || !t) {
			free(t);
			return -ENOMEM;
		}
	}
	json_array_foreach(arr, i, be)
	{
		snprintf(bpath, sizeof(bpath), "%s.backends[%zu]", path, i);
		if (!keep) {
			backend_parse(p, be, bpath, v, &tmpb);
			backend_free(&tmpb);
			continue;
		}
		t[i].idx = i;
		t[i].addr_ok = backend_parse(p, be, bpath, v, &v->backends[i]);
		v->n_backends++;
	}
	if (keep && n > v->table_size)
		perr(p, path, "table_size",
		     "%u is less than the number of backends (%zu)",
		     v->table_size, n);
	else if (keep && n && (uint64_t)v->table_size < 100 * (uint64_t)n)
		pwarn(p, path, "table_size",
		      "%u is below 100 x %zu backends: Maglev may balance "
		      "unevenly (a prime of at least %llu is advised)",
		      v->table_size, n, 100ull * n);
	if (keep)
		err = backends_finish(p, path, v, t, ok);
	free(t);
	return err;
}

static int cmp_vip(const struct xlb_vip_conf *a, const struct xlb_vip_conf *b)
{
	int r = addr_cmp(&a->addr, &b->addr);

	if (r)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return 0;
}

static int cmp_vip_tmp(const void *pa, const void *pb, void *arg)
{
	const struct xlb_vip_conf *vips = arg;
	const struct vip_tmp *a = pa, *b = pb;
	int r = cmp_vip(&vips[a->idx], &vips[b->idx]);

	if (r)
		return r;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void encap_parse(struct pctx *p, json_t *root, struct xlb_config *c)
{
	static const char *const fam_name[2] = {"IPv4", "IPv6"};
	struct xlb_addr a, net;
	json_t *o = get_obj(p, root, "", "encap_source");
	const char *s;
	char buf[64];
	int i, plen, fam, b;

	if (!o)
		return;
	check_keys(p, o, "encap_source", encap_keys);
	for (i = 0; i < 2; i++) {
		fam = i ? AF_INET6 : AF_INET;
		if (get_cstr(p, o, "encap_source", encap_keys[i], &s) <= 0)
			continue;
		if (addr_parse_prefix(s, &a, &plen) || a.family != fam) {
			perr(p, "encap_source", encap_keys[i],
			     "must be an %s address or prefix, not \"%s\"",
			     fam_name[i],
			     safe_str(s, strlen(s), buf, sizeof(buf)));
			continue;
		}
		if (plen == 0) {
			perr(p, "encap_source", encap_keys[i],
			     "prefix length must be 1..%d", i ? 128 : 32);
			continue;
		}
		net = a;
		for (b = plen; b < addr_len(&a) * 8; b++)
			net.bytes[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
		if (!addr_eq(&a, &net)) {
			perr(p, "encap_source", encap_keys[i],
			     "host bits set in prefix %s (did you mean %s/%d?)",
			     s, addr_fmt(&net, buf, sizeof(buf)), plen);
			continue;
		}
		if (plen == addr_len(&a) * 8 && !addr_is_unicast(&a)) {
			perr(p, "encap_source", encap_keys[i],
			     "must be a unicast address, not %s", s);
			continue;
		}
		if (i) {
			c->has_src6 = true, c->src6 = a, c->src6_plen = plen;
		} else {
			c->has_src4 = true, c->src4 = a, c->src4_plen = plen;
		}
	}
}

static struct xlb_config *parse_root(json_t *root, struct pctx *p)
{
	struct xlb_config *c;
	struct vip_tmp *ord = NULL;
	struct xlb_vip_conf *sorted, tmpv;
	char vs[XLB_VIPSTRLEN], path[PATHLEN];
	const char *s;
	json_t *arr, *vo;
	size_t i, n, nb = 0, nkey = 0;
	long long x;
	int e;
	bool keep, key_ok;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->xdp_mode = XLB_XDP_AUTO;
	c->conntrack_size = DEF_CONNTRACK;
	c->max_vips = DEF_MAX_VIPS;
	c->max_backends = DEF_MAX_BACKENDS;
	c->icmp_rate_limit = DEF_ICMP_RATE;
	if (!json_is_object(root)) {
		perr(p, "", NULL, "must be a JSON object");
		goto fail;
	}
	check_keys(p, root, "", root_keys);
	if (get_cstr(p, root, "", "interface", &s) > 0) {
		if (!ifname_valid(s))
			perr(p, "", "interface",
			     "must be an interface name: 1..15 bytes, no '/', "
			     "':' or whitespace");
		else
			strcpy(c->interface, s);
	}
	if (get_enum(p, root, "", "xdp_mode", xdp_mode_names, &e) > 0)
		c->xdp_mode = (enum xlb_xdp_mode)e;
	encap_parse(p, root, c);
	if (get_int(p, root, "", "conntrack_size", 1024, 134217728, &x) > 0)
		c->conntrack_size = (uint64_t)x;
	get_u32(p, root, "", "max_vips", 1, 65536, &c->max_vips);
	get_u32(p, root, "", "max_backends", 1, 1048576, &c->max_backends);
	get_u32(p, root, "", "icmp_rate_limit", 0, 10000000,
		&c->icmp_rate_limit);

	arr = json_object_get(root, "vips");
	if (arr && !json_is_array(arr)) {
		perr(p, "", "vips", "must be an array");
		arr = NULL;
	}
	n = json_array_size(arr);
	if (n > c->max_vips)
		perr(p, "", "vips", "%zu VIPs, more than max_vips (%u)", n,
		     c->max_vips);
	keep = n <= c->max_vips;
	if (keep && n) {
		c->vips = calloc(n, sizeof(*c->vips));
		ord = calloc(n, sizeof(*ord));
		if (!c->vips || !ord)
			goto nomem;
	}
	json_array_foreach(arr, i, vo)
	{
		struct xlb_vip_conf *v = keep ? &c->vips[i] : &tmpv;

		if (vip_parse(p, vo, i, c->max_backends, &nb, v, &key_ok))
			goto nomem;
		if (!keep) {
			vip_free(v);
			continue;
		}
		c->n_vips++;
		if (key_ok)
			ord[nkey++].idx = i;
	}
	if (nb > c->max_backends)
		perr(p, "", "vips",
		     "%zu backends in all, more than max_backends (%u)", nb,
		     c->max_backends);
	if (keep) {
		if (nkey > 1)
			qsort_r(ord, nkey, sizeof(*ord), cmp_vip_tmp, c->vips);
		for (i = 1; i < nkey; i++) {
			if (cmp_vip(&c->vips[ord[i].idx],
				    &c->vips[ord[i - 1].idx]))
				continue;
			snprintf(path, sizeof(path), "vips[%zu]", ord[i].idx);
			perr(p, path, NULL, "duplicate of vips[%zu] (%s)",
			     ord[i - 1].idx,
			     cfg_vip_fmt(&c->vips[ord[i].idx], vs, sizeof(vs)));
		}
	}
	if (p->n_err)
		goto fail;
	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			goto nomem;
		for (i = 0; i < n; i++)
			sorted[i] = c->vips[ord[i].idx];
		free(c->vips);
		c->vips = sorted;
	}
	free(ord);
	return c;
nomem:
	perr(p, "", NULL, "out of memory");
fail:
	free(ord);
	cfg_free(c);
	return NULL;
}

struct xlb_config *cfg_parse_json(json_t *doc, struct cfg_msgs *m)
{
	struct pctx p = {.m = m};
	struct xlb_config *c = parse_root(doc, &p);

	pctx_finish(&p);
	return c;
}

/*
 * The most objects and arrays a valid document can hold: per VIP itself,
 * its healthcheck and its backends; per backend itself and its
 * healthcheck; a few at the top.  A document of 16 MiB of "{}," would
 * otherwise cost jansson well over a gigabyte before any check runs.
 */
#define CFG_MAX_CONTAINERS (65536u * 3 + 1048576u * 2 + 16)

static size_t count_containers(const char *t, size_t len)
{
	bool in_str = false;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (t[i] == '\\')
				i++;
			else if (t[i] == '"')
				in_str = false;
		} else if (t[i] == '"') {
			in_str = true;
		} else if (t[i] == '{' || t[i] == '[') {
			n++;
		}
	}
	return n;
}

static json_t *load_text(const char *text, size_t len, const char *origin,
			 struct pctx *p)
{
	json_error_t jerr;
	json_t *doc;

	/* Text errors carry no JSON path: prefixed by the file, if any. */
	if (!*origin)
		origin = NULL;
	if (len > CFG_MAX_FILE_SIZE) {
		perr(p, origin, NULL,
		     "document is %zu bytes, more than the limit of %u", len,
		     CFG_MAX_FILE_SIZE);
		return NULL;
	}
	if (count_containers(text, len) > CFG_MAX_CONTAINERS) {
		perr(p, origin, NULL,
		     "more than %u objects and arrays: larger than any valid "
		     "configuration",
		     CFG_MAX_CONTAINERS);
		return NULL;
	}
	/*
	 * NUL is allowed in strings so that a UDP payload may carry any
	 * bytes; the other strings are checked for it.  jansson bounds the
	 * nesting depth (JSON_PARSER_MAX_DEPTH).
	 */
	doc = json_loadb(
	    text, len,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
	if (!doc)
		perr(p, origin, NULL, "invalid JSON at line %d, column %d: %s",
		     jerr.line, jerr.column, jerr.text);
	return doc;
}

static struct xlb_config *parse_text(const char *text, size_t len,
				     const char *origin, struct cfg_msgs *m)
{
	struct pctx p = {.m = m};
	struct xlb_config *c = NULL;
	json_t *doc = load_text(text, len, origin, &p);

	if (doc)
		c = parse_root(doc, &p);
	json_decref(doc);
	pctx_finish(&p);
	return c;
}

struct xlb_config *cfg_parse(const char *text, size_t len, struct cfg_msgs *m)
{
	return parse_text(text, len, "", m);
}

/*
 * Read at most CFG_MAX_FILE_SIZE bytes (plus one, to tell); a larger file is
 * refused, even one whose size is not known in advance (a pipe).
 */
static int read_file(const char *path, char **out, size_t *outlen,
		     struct pctx *p)
{
	size_t cap = 65536, len = 0;
	struct stat st;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		perr(p, NULL, NULL, "cannot open: %s", strerror(errno));
		return err;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size > CFG_MAX_FILE_SIZE)
		goto too_big;
	for (;;) {
		if (len == cap || !buf) {
			if (buf)
				cap *= 2;
			if (cap > CFG_MAX_FILE_SIZE + 1)
				cap = CFG_MAX_FILE_SIZE + 1;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				perr(p, NULL, NULL, "out of memory");
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			perr(p, NULL, NULL, "read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CFG_MAX_FILE_SIZE)
			goto too_big;
	}
	*out = buf;
	*outlen = len;
	close(fd);
	return 0;
too_big:
	err = -EFBIG;
	perr(p, NULL, NULL,
	     "file is larger than the limit of %u bytes (%u MiB)",
	     CFG_MAX_FILE_SIZE, CFG_MAX_FILE_SIZE >> 20);
out:
	free(buf);
	close(fd);
	return err;
}

struct xlb_config *cfg_load_file(const char *path, struct cfg_msgs *m)
{
	struct pctx p = {.m = m};
	struct xlb_config *c;
	size_t len = 0;
	char *buf = NULL;

	if (read_file(path, &buf, &len, &p)) {
		pctx_finish(&p);
		return NULL;
	}
	/* Callers name the file: the messages do not repeat it. */
	c = parse_text(buf, len, "", m);
	free(buf);
	return c;
}

/* ---- names ---- */

const char *cfg_state_name(enum xlb_be_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "?";
}

const char *cfg_hc_type_name(enum xlb_hc_type t)
{
	return (unsigned)t < 4 ? hc_type_names[t] : "?";
}

const char *cfg_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP   ? "tcp"
	       : proto == IPPROTO_UDP ? "udp"
				      : "?";
}

const char *cfg_vip_fmt(const struct xlb_vip_conf *v, char *buf, size_t len)
{
	char a[XLB_ADDRSTRLEN];

	addr_fmt(&v->addr, a, sizeof(a));
	if (v->addr.family == AF_INET6)
		snprintf(buf, len, "[%s]:%u/%s", a, v->port,
			 cfg_proto_name(v->proto));
	else
		snprintf(buf, len, "%s:%u/%s", a, v->port,
			 cfg_proto_name(v->proto));
	return buf;
}

int cfg_vip_parse(const char *s, struct xlb_addr *addr, uint16_t *port,
		  uint8_t *proto)
{
	char a[XLB_ADDRSTRLEN];
	const char *end, *pp;
	struct xlb_addr ad;
	unsigned long x = 0;
	size_t n;

	if (!s)
		return -EINVAL;
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - s - 1);
		if (n == 0 || n >= sizeof(a))
			return -EINVAL;
		memcpy(a, s + 1, n);
		a[n] = '\0';
		if (addr_parse(a, &ad) || ad.family != AF_INET6)
			return -EINVAL;
		pp = end + 2;
	} else {
		end = strchr(s, ':');
		if (!end || strchr(end + 1, ':'))
			return -EINVAL;
		n = (size_t)(end - s);
		if (n == 0 || n >= sizeof(a))
			return -EINVAL;
		memcpy(a, s, n);
		a[n] = '\0';
		if (addr_parse(a, &ad) || ad.family != AF_INET)
			return -EINVAL;
		pp = end + 1;
	}
	if (*pp < '1' || *pp > '9')
		return -EINVAL;
	for (n = 0; pp[n] >= '0' && pp[n] <= '9'; n++) {
		x = x * 10 + (unsigned long)(pp[n] - '0');
		if (x > 65535)
			return -EINVAL;
	}
	if (pp[n] != '/')
		return -EINVAL;
	pp += n + 1;
	if (!strcasecmp(pp, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(pp, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	*addr = ad;
	*port = (uint16_t)x;
	return 0;
}

/* ---- lookups and comparisons ---- */

struct xlb_vip_conf *cfg_find_vip(const struct xlb_config *c,
				  const struct xlb_addr *addr, uint16_t port,
				  uint8_t proto)
{
	struct xlb_vip_conf key = {.addr = *addr, .port = port, .proto = proto};
	size_t lo = 0, hi = c ? c->n_vips : 0, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = cmp_vip(&key, &c->vips[mid]);
		if (!r)
			return &c->vips[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct xlb_backend_conf *cfg_find_backend(const struct xlb_vip_conf *v,
					  const struct xlb_addr *addr)
{
	size_t lo = 0, hi = v ? v->n_backends : 0, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = addr_cmp(addr, &v->backends[mid].addr);
		if (!r)
			return &v->backends[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

bool cfg_hc_equal(const struct xlb_hc_conf *a, const struct xlb_hc_conf *b)
{
	return a->type == b->type && a->port == b->port &&
	       str_eq(a->path, b->path) && str_eq(a->host, b->host) &&
	       a->expect_status == b->expect_status &&
	       a->payload_len == b->payload_len &&
	       (!a->payload_len ||
		!memcmp(a->payload, b->payload, a->payload_len)) &&
	       a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->rise == b->rise &&
	       a->fall == b->fall;
}

bool cfg_backend_equal(const struct xlb_backend_conf *a,
		       const struct xlb_backend_conf *b)
{
	return addr_eq(&a->addr, &b->addr) && a->weight == b->weight &&
	       a->state == b->state && a->hc_set == b->hc_set &&
	       cfg_hc_equal(&a->hc, &b->hc);
}

bool cfg_vip_equal(const struct xlb_vip_conf *a, const struct xlb_vip_conf *b)
{
	size_t i;

	if (cmp_vip(a, b) || a->table_size != b->table_size ||
	    a->hash != b->hash || !cfg_hc_equal(&a->hc, &b->hc) ||
	    a->n_backends != b->n_backends)
		return false;
	for (i = 0; i < a->n_backends; i++)
		if (!cfg_backend_equal(&a->backends[i], &b->backends[i]))
			return false;
	return true;
}

/* ---- dump ---- */

static json_t *addr_json(const struct xlb_addr *a)
{
	char buf[XLB_ADDRSTRLEN];

	return json_string(addr_fmt(a, buf, sizeof(buf)));
}

/* The keys of hc whose CFG_HC_* bit is in mask, in a fixed order. */
static json_t *hc_dump(const struct xlb_hc_conf *hc, uint32_t mask)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (mask & CFG_HC_TYPE)
		json_object_set_new(o, "type",
				    json_string(cfg_hc_type_name(hc->type)));
	if (mask & CFG_HC_PORT)
		json_object_set_new(o, "port", json_integer(hc->port));
	if (mask & CFG_HC_PATH)
		json_object_set_new(o, "path",
				    json_string(hc->path ? hc->path : "/"));
	if (mask & CFG_HC_HOST)
		json_object_set_new(
		    o, "host", hc->host ? json_string(hc->host) : json_null());
	if (mask & CFG_HC_EXPECT)
		json_object_set_new(o, "expect_status",
				    json_integer(hc->expect_status));
	if (mask & CFG_HC_PAYLOAD)
		json_object_set_new(o, "payload",
				    json_stringn(hc->payload ? hc->payload : "",
						 hc->payload_len));
	if (mask & CFG_HC_INTERVAL)
		json_object_set_new(o, "interval_ms",
				    json_integer(hc->interval_ms));
	if (mask & CFG_HC_TIMEOUT)
		json_object_set_new(o, "timeout_ms",
				    json_integer(hc->timeout_ms));
	if (mask & CFG_HC_RISE)
		json_object_set_new(o, "rise", json_integer(hc->rise));
	if (mask & CFG_HC_FALL)
		json_object_set_new(o, "fall", json_integer(hc->fall));
	return o;
}

#define CFG_HC_ALL 0x3ffu

static json_t *backend_dump_mask(const struct xlb_backend_conf *b,
				 uint32_t mask)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "address", addr_json(&b->addr));
	json_object_set_new(o, "weight", json_integer(b->weight));
	json_object_set_new(o, "state", json_string(cfg_state_name(b->state)));
	if (mask)
		json_object_set_new(o, "healthcheck", hc_dump(&b->hc, mask));
	return o;
}

json_t *cfg_dump_backend(const struct xlb_vip_conf *v,
			 const struct xlb_backend_conf *b)
{
	return backend_dump_mask(b, b->hc_set);
}

json_t *cfg_dump_vip(const struct xlb_vip_conf *v)
{
	json_t *o = json_object(), *arr = json_array();
	size_t i;

	if (!o || !arr) {
		json_decref(o);
		json_decref(arr);
		return NULL;
	}
	json_object_set_new(o, "address", addr_json(&v->addr));
	json_object_set_new(o, "port", json_integer(v->port));
	json_object_set_new(o, "protocol",
			    json_string(cfg_proto_name(v->proto)));
	json_object_set_new(o, "table_size", json_integer(v->table_size));
	json_object_set_new(o, "hash", json_string(hash_names[v->hash & 1]));
	json_object_set_new(o, "healthcheck", hc_dump(&v->hc, CFG_HC_ALL));
	for (i = 0; i < v->n_backends; i++)
		json_array_append_new(arr,
				      cfg_dump_backend(v, &v->backends[i]));
	json_object_set_new(o, "backends", arr);
	return o;
}

static json_t *prefix_json(const struct xlb_addr *a, int plen)
{
	char buf[XLB_ADDRSTRLEN + 8];
	size_t n;

	addr_fmt(a, buf, sizeof(buf));
	if (plen != addr_len(a) * 8) {
		n = strlen(buf);
		snprintf(buf + n, sizeof(buf) - n, "/%d", plen);
	}
	return json_string(buf);
}

json_t *cfg_dump(const struct xlb_config *c)
{
	json_t *o = json_object(), *src = json_object(), *arr = json_array();
	size_t i;

	if (!o || !src || !arr) {
		json_decref(o);
		json_decref(src);
		json_decref(arr);
		return NULL;
	}
	if (c->interface[0])
		json_object_set_new(o, "interface", json_string(c->interface));
	json_object_set_new(o, "xdp_mode",
			    json_string(xdp_mode_names[c->xdp_mode % 3]));
	if (c->has_src4)
		json_object_set_new(src, "ipv4",
				    prefix_json(&c->src4, c->src4_plen));
	if (c->has_src6)
		json_object_set_new(src, "ipv6",
				    prefix_json(&c->src6, c->src6_plen));
	json_object_set_new(o, "encap_source", src);
	json_object_set_new(o, "conntrack_size",
			    json_integer((json_int_t)c->conntrack_size));
	json_object_set_new(o, "max_vips", json_integer(c->max_vips));
	json_object_set_new(o, "max_backends", json_integer(c->max_backends));
	json_object_set_new(o, "icmp_rate_limit",
			    json_integer(c->icmp_rate_limit));
	for (i = 0; i < c->n_vips; i++)
		json_array_append_new(arr, cfg_dump_vip(&c->vips[i]));
	json_object_set_new(o, "vips", arr);
	return o;
}

static int write_all(int fd, const char *s, size_t len)
{
	ssize_t r;

	while (len) {
		r = write(fd, s, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		s += r;
		len -= (size_t)r;
	}
	return 0;
}

int cfg_save_file(const struct xlb_config *c, const char *path)
{
	char *tmp = NULL, *text = NULL, *dir, *slash;
	json_t *doc;
	int fd = -1, dfd, err;

	doc = cfg_dump(c);
	if (doc)
		text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		err = -ENOMEM;
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out_free;
	}
	if (fchmod(fd, 0644) || (err = write_all(fd, text, strlen(text))) ||
	    (err = write_all(fd, "\n", 1)) || fsync(fd)) {
		if (!err)
			err = -errno;
		goto out_unlink;
	}
	if (close(fd)) {
		fd = -1;
		err = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path)) {
		err = -errno;
		goto out_unlink;
	}
	/* Make the rename itself durable. */
	dir = strdup(path);
	if (dir) {
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		dfd =
		    open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	err = 0;
	goto out_free;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out_free:
	free(tmp);
out:
	free(text);
	return err;
}

/* ---- backend lists ---- */

json_t *cfg_parse_backend_list(const char *text, size_t len, struct cfg_msgs *m)
{
	struct pctx p = {.m = m};
	json_t *doc, *arr = NULL, *be;
	size_t i;

	doc = load_text(text, len, "", &p);
	if (!doc)
		goto out;
	if (json_is_array(doc)) {
		arr = json_incref(doc);
	} else if (json_is_object(doc)) {
		static const char *const keys[] = {"backends", NULL};

		check_keys(&p, doc, "", keys);
		arr = json_object_get(doc, "backends");
		if (!arr)
			perr(&p, "", "backends", "required");
		else if (!json_is_array(arr))
			perr(&p, "", "backends", "must be an array");
		else
			json_incref(arr);
		if (arr && !json_is_array(arr))
			arr = NULL;
	} else {
		perr(&p, "", NULL,
		     "must be an array of backends or {\"backends\": [...]}");
	}
	json_array_foreach(arr, i, be)
	{
		char path[PATHLEN];

		if (json_is_object(be))
			continue;
		snprintf(path, sizeof(path), "backends[%zu]", i);
		perr(&p, path, NULL, "must be an object");
	}
	if (p.n_err) {
		json_decref(arr);
		arr = NULL;
	}
out:
	json_decref(doc);
	pctx_finish(&p);
	return arr;
}

/* ---- reload: immutable keys and differences ---- */

int cfg_check_immutable(const struct xlb_config *running,
			const struct xlb_config *next, struct cfg_msgs *m)
{
	struct pctx p = {.m = m};
	static const char fix[] = "cannot change while xlbd runs (the maps "
				  "are sized at load: stop xlbd, run `xlbd "
				  "--teardown`, then start it, a cold start)";

	if (strcmp(running->interface, next->interface))
		perr(&p, "", "interface",
		     "cannot change while xlbd runs (\"%s\" -> \"%s\")",
		     running->interface, next->interface);
	if (running->xdp_mode != next->xdp_mode)
		perr(&p, "", "xdp_mode",
		     "cannot change while xlbd runs (%s -> %s)",
		     xdp_mode_names[running->xdp_mode % 3],
		     xdp_mode_names[next->xdp_mode % 3]);
	if (running->conntrack_size != next->conntrack_size)
		perr(&p, "", "conntrack_size", "%s: %llu -> %llu", fix,
		     (unsigned long long)running->conntrack_size,
		     (unsigned long long)next->conntrack_size);
	if (running->max_vips != next->max_vips)
		perr(&p, "", "max_vips", "%s: %u -> %u", fix, running->max_vips,
		     next->max_vips);
	if (running->max_backends != next->max_backends)
		perr(&p, "", "max_backends", "%s: %u -> %u", fix,
		     running->max_backends, next->max_backends);
	return (int)p.n_err;
}

static void diff_add(json_t *arr, const char *key, json_t *from, json_t *to)
{
	json_t *o = json_object();

	json_object_set_new(o, "key", json_string(key));
	json_object_set(o, "from", from ? from : json_null());
	json_object_set(o, "to", to ? to : json_null());
	json_array_append_new(arr, o);
}

static bool key_in(const char *k, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (!strcmp(k, *skip))
			return true;
	return false;
}

/*
 * Settings that differ between two dumped objects, "prefix.key" for nested
 * objects; keys in skip (identity, arrays) are left out.
 */
static void diff_obj(json_t *out, const char *prefix, json_t *a, json_t *b,
		     const char *const *skip)
{
	char key[PATHLEN];
	const char *k;
	json_t *va, *vb;

	json_object_foreach(a, k, va)
	{
		if (key_in(k, skip))
			continue;
		vb = json_object_get(b, k);
		snprintf(key, sizeof(key), "%s%s", prefix, k);
		if (json_is_object(va) && (!vb || json_is_object(vb))) {
			char sub[PATHLEN + 2];
			json_t *empty = json_object();

			snprintf(sub, sizeof(sub), "%s.", key);
			diff_obj(out, sub, va, vb ? vb : empty, NULL);
			json_decref(empty);
		} else if (!vb || !json_equal(va, vb)) {
			diff_add(out, key, va, vb);
		}
	}
	json_object_foreach(b, k, vb)
	{
		if (key_in(k, skip) || json_object_get(a, k))
			continue;
		snprintf(key, sizeof(key), "%s%s", prefix, k);
		if (json_is_object(vb)) {
			char sub[PATHLEN + 2];
			json_t *empty = json_object();

			snprintf(sub, sizeof(sub), "%s.", key);
			diff_obj(out, sub, empty, vb, NULL);
			json_decref(empty);
		} else {
			diff_add(out, key, NULL, vb);
		}
	}
}

static json_t *diff_vip(const struct xlb_vip_conf *a,
			const struct xlb_vip_conf *b)
{
	static const char *const vskip[] = {"address", "port", "protocol",
					    "backends", NULL};
	static const char *const bskip[] = {"address", NULL};
	char buf[XLB_VIPSTRLEN];
	json_t *o, *set, *add, *del, *chg, *ja, *jb, *bs;
	size_t i = 0, j = 0;
	uint32_t mask;
	int r;

	o = json_object();
	set = json_array();
	add = json_array();
	del = json_array();
	chg = json_array();
	ja = cfg_dump_vip(a);
	jb = cfg_dump_vip(b);
	json_object_set_new(o, "vip",
			    json_string(cfg_vip_fmt(a, buf, sizeof(buf))));
	diff_obj(set, "", ja, jb, vskip);
	json_decref(ja);
	json_decref(jb);
	while (i < a->n_backends || j < b->n_backends) {
		if (i == a->n_backends)
			r = 1;
		else if (j == b->n_backends)
			r = -1;
		else
			r = addr_cmp(&a->backends[i].addr,
				     &b->backends[j].addr);
		if (r < 0) {
			json_array_append_new(
			    del, addr_json(&a->backends[i++].addr));
			continue;
		}
		if (r > 0) {
			json_array_append_new(
			    add, addr_json(&b->backends[j++].addr));
			continue;
		}
		/*
		 * A backend's own health-check keys, compared by their
		 * effective values: dropping an override that equals the
		 * VIP's value changes nothing.
		 */
		mask = a->backends[i].hc_set | b->backends[j].hc_set;
		ja = backend_dump_mask(&a->backends[i], mask);
		jb = backend_dump_mask(&b->backends[j], mask);
		bs = json_array();
		diff_obj(bs, "", ja, jb, bskip);
		if (json_array_size(bs)) {
			json_t *bo = json_object();

			json_object_set_new(bo, "address",
					    addr_json(&a->backends[i].addr));
			json_object_set_new(bo, "settings", bs);
			json_array_append_new(chg, bo);
		} else {
			json_decref(bs);
		}
		json_decref(ja);
		json_decref(jb);
		i++, j++;
	}
	if (!json_array_size(set) && !json_array_size(add) &&
	    !json_array_size(del) && !json_array_size(chg)) {
		json_decref(set);
		json_decref(add);
		json_decref(del);
		json_decref(chg);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "settings", set);
	json_object_set_new(o, "backends_added", add);
	json_object_set_new(o, "backends_removed", del);
	json_object_set_new(o, "backends_changed", chg);
	return o;
}

json_t *cfg_diff(const struct xlb_config *a, const struct xlb_config *b)
{
	static const char *const skip[] = {"vips", NULL};
	char buf[XLB_VIPSTRLEN];
	json_t *o, *set, *add, *del, *chg, *ja, *jb, *vd;
	size_t i = 0, j = 0;
	int r;

	o = json_object();
	set = json_array();
	add = json_array();
	del = json_array();
	chg = json_array();
	if (!o || !set || !add || !del || !chg)
		goto nomem;
	/* Top-level settings only: the VIPs are compared one by one. */
	{
		struct xlb_config ca = *a, cb = *b;

		ca.n_vips = cb.n_vips = 0;
		ja = cfg_dump(&ca);
		jb = cfg_dump(&cb);
		diff_obj(set, "", ja, jb, skip);
		json_decref(ja);
		json_decref(jb);
	}
	while (i < a->n_vips || j < b->n_vips) {
		if (i == a->n_vips)
			r = 1;
		else if (j == b->n_vips)
			r = -1;
		else
			r = cmp_vip(&a->vips[i], &b->vips[j]);
		if (r < 0) {
			json_array_append_new(
			    del, json_string(cfg_vip_fmt(&a->vips[i++], buf,
							 sizeof(buf))));
		} else if (r > 0) {
			json_array_append_new(
			    add, json_string(cfg_vip_fmt(&b->vips[j++], buf,
							 sizeof(buf))));
		} else {
			vd = diff_vip(&a->vips[i++], &b->vips[j++]);
			if (vd)
				json_array_append_new(chg, vd);
		}
	}
	json_object_set_new(
	    o, "changed",
	    json_boolean(json_array_size(set) || json_array_size(add) ||
			 json_array_size(del) || json_array_size(chg)));
	json_object_set_new(o, "settings", set);
	json_object_set_new(o, "vips_added", add);
	json_object_set_new(o, "vips_removed", del);
	json_object_set_new(o, "vips_changed", chg);
	return o;
nomem:
	json_decref(o);
	json_decref(set);
	json_decref(add);
	json_decref(del);
	json_decref(chg);
	return NULL;
}
