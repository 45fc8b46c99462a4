// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * control.c - the control socket: one JSON request per line in, one JSON
 * response per line out (docs/control-protocol.md).
 *
 * Everything runs on xlbd's event loop and never blocks: sockets are
 * non-blocking, a connection's input is bounded by the request limit, and
 * a connection reads its next request only once the previous response has
 * left (so its output holds at most one response, plus nothing for a
 * stats stream whose client does not read: such samples are skipped).
 * A connection that has not completed a request within the idle timeout
 * is closed; so is one that sends more than the request limit.
 *
 * Mutations never edit the running model: they take cfg_dump() of it,
 * edit that JSON, and parse it again with cfg_parse_json(), so the config
 * file, `apply` and xlbctl's edits are validated by the same code, and a
 * change is applied completely (core_apply) or not at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include "config.h"
#include "control.h"
#include "core.h"
#include "log.h"

#define CTL_READ_CHUNK (64u << 10)
#define CTL_ACCEPT_BACKOFF_MS 100
#define CTL_ERRLEN 1024

struct ctl_conn {
	struct ctl_server *srv;
	struct ctl_conn *prev, *next;
	int fd;
	uint32_t events;	/* current epoll mask */
	char *in;		/* received, not yet handled */
	size_t in_len, in_cap;
	size_t scanned;		/* bytes of in known to hold no newline */
	char *out;		/* response being sent */
	size_t out_off, out_len;
	struct ev_timer *timer; /* idle timeout, or the next stats sample */
	bool closing;		/* close once out has left */
	bool eof;		/* the client shut down its sending side */
	unsigned watch_s;	/* > 0: streaming stats every watch_s seconds */
	bool watch_vip;		/* the stream is about one VIP */
	struct xlb_addr w_addr;
	uint16_t w_port;
	uint8_t w_proto;
};

struct ctl_server {
	struct ev_loop *ev;
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	struct ctl_conn *conns;
	unsigned n_conns;
	unsigned idle_ms;
	unsigned max_clients;
	size_t max_request;
	struct ev_timer *backoff; /* accept paused (out of descriptors) */
};

/* A response being built: result on success, else the error(s). */
struct ctl_reply {
	json_t *result;
	char err[CTL_ERRLEN];
	json_t *errors; /* every message when there are several */
};

static void conn_close(struct ctl_conn *c);
static void conn_update(struct ctl_conn *c);
static void conn_process(struct ctl_conn *c);

static int reply_err(struct ctl_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int reply_err(struct ctl_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- VIP names ---- */

struct vip_key {
	struct xlb_addr addr;
	uint16_t port;
	uint8_t proto;
};

static const char *key_fmt(const struct vip_key *k, char *buf, size_t len)
{
	struct xlb_vip_conf v = { .addr = k->addr, .port = k->port,
				  .proto = k->proto };

	return cfg_vip_fmt(&v, buf, len);
}

/* The VIP named by req[key], or an error that quotes it. */
static int req_vip(json_t *req, const char *key, struct vip_key *k,
		   struct ctl_reply *r)
{
	json_t *j = json_object_get(req, key);

	if (!j)
		return reply_err(r, "%s: required", key);
	if (!json_is_string(j))
		return reply_err(r, "%s: must be a string like "
				    "\"203.0.113.10:80/tcp\"", key);
	if (cfg_vip_parse(json_string_value(j), &k->addr, &k->port,
			  &k->proto))
		return reply_err(r, "vip %s: invalid, expected ADDR:PORT/PROTO "
				    "(203.0.113.10:80/tcp, [2001:db8::10]:443/udp)",
				 json_string_value(j));
	return 0;
}

/* The running VIP named by req["vip"], or "vip X: no such VIP". */
static const struct xlb_vip_conf *req_running_vip(json_t *req,
						  struct vip_key *k,
						  struct ctl_reply *r)
{
	const struct xlb_vip_conf *v;
	char name[XLB_VIPSTRLEN];

	if (req_vip(req, "vip", k, r))
		return NULL;
	v = cfg_find_vip(core_config(), &k->addr, k->port, k->proto);
	if (!v)
		reply_err(r, "vip %s: no such VIP", key_fmt(k, name, sizeof(name)));
	return v;
}

static int req_addr(json_t *req, const char *key, struct xlb_addr *a,
		    struct ctl_reply *r)
{
	json_t *j = json_object_get(req, key);

	if (!j)
		return reply_err(r, "%s: required", key);
	if (!json_is_string(j) || addr_parse(json_string_value(j), a))
		return reply_err(r, "%s %s: not an IPv4 or IPv6 address", key,
				 json_is_string(j) ? json_string_value(j) :
						     "(not a string)");
	return 0;
}

static int req_bool(json_t *req, const char *key, bool *out,
		    struct ctl_reply *r)
{
	json_t *j = json_object_get(req, key);

	*out = false;
	if (!j)
		return 0;
	if (!json_is_boolean(j))
		return reply_err(r, "%s: must be true or false", key);
	*out = json_is_true(j);
	return 0;
}

/* ---- the model as JSON ---- */

/* Does the dumped VIP object o configure VIP k? */
static bool doc_vip_is(json_t *o, const struct vip_key *k)
{
	struct xlb_addr a;
	json_t *port = json_object_get(o, "port");
	const char *proto = json_string_value(json_object_get(o, "protocol"));

	if (addr_parse(json_string_value(json_object_get(o, "address")), &a))
		return false;
	return addr_eq(&a, &k->addr) && json_is_integer(port) &&
	       json_integer_value(port) == k->port && proto &&
	       !strcmp(proto, cfg_proto_name(k->proto));
}

static json_t *doc_vips(json_t *doc)
{
	json_t *vips = json_object_get(doc, "vips");

	if (!json_is_array(vips)) {
		vips = json_array();
		json_object_set_new(doc, "vips", vips);
	}
	return vips;
}

static json_t *doc_find_vip(json_t *doc, const struct vip_key *k, size_t *idx)
{
	json_t *vips = doc_vips(doc), *o;
	size_t i;

	json_array_foreach(vips, i, o) {
		if (doc_vip_is(o, k)) {
			if (idx)
				*idx = i;
			return o;
		}
	}
	return NULL;
}

static json_t *vip_backends(json_t *vip)
{
	json_t *b = json_object_get(vip, "backends");

	if (!json_is_array(b)) {
		b = json_array();
		json_object_set_new(vip, "backends", b);
	}
	return b;
}

static json_t *doc_find_backend(json_t *vip, const struct xlb_addr *a,
				size_t *idx)
{
	json_t *o;
	size_t i;

	json_array_foreach(vip_backends(vip), i, o) {
		struct xlb_addr b;

		if (!addr_parse(json_string_value(json_object_get(o, "address")),
				&b) &&
		    addr_eq(&b, a)) {
			if (idx)
				*idx = i;
			return o;
		}
	}
	return NULL;
}

/* "vip 203.0.113.10:80/tcp" for a VIP object of a document. */
static void doc_vip_name(json_t *o, char *buf, size_t len)
{
	const char *addr = json_string_value(json_object_get(o, "address"));
	const char *proto = json_string_value(json_object_get(o, "protocol"));
	json_t *port = json_object_get(o, "port");
	char tmp[XLB_VIPSTRLEN];
	struct vip_key k;

	if (!addr_parse(addr, &k.addr) && json_is_integer(port) &&
	    json_integer_value(port) > 0 && json_integer_value(port) < 65536 &&
	    proto && (!strcmp(proto, "tcp") || !strcmp(proto, "udp"))) {
		k.port = (uint16_t)json_integer_value(port);
		k.proto = !strcmp(proto, "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
		snprintf(buf, len, "vip %s", key_fmt(&k, tmp, sizeof(tmp)));
		return;
	}
	snprintf(buf, len, "vip %s", addr ? addr : "(no address)");
}

/*
 * Turn a cfg error about the document we built ("vips[3].backends[1].weight:
 * must be 0..65535") into one about the objects the operator named
 * ("vip 203.0.113.10:80/tcp: backend 198.51.100.11: weight 70000: must be
 * 0..65535"): the indexes are ours, not theirs.
 */
static void name_path(json_t *doc, const char *msg, char *out, size_t len)
{
	const char *p = msg, *rest;
	char vname[XLB_VIPSTRLEN + 8], bname[XLB_ADDRSTRLEN + 16] = "";
	char key[64], val[96] = "";
	json_t *vip, *be = NULL, *obj, *v;
	unsigned long i, j;
	char *end;
	size_t n;

	if (strncmp(p, "vips[", 5))
		goto verbatim;
	i = strtoul(p + 5, &end, 10);
	if (*end != ']' || !(vip = json_array_get(doc_vips(doc), i)))
		goto verbatim;
	doc_vip_name(vip, vname, sizeof(vname));
	p = end + 1;
	obj = vip;
	if (!strncmp(p, ".backends[", 10)) {
		j = strtoul(p + 10, &end, 10);
		be = json_array_get(json_object_get(vip, "backends"), j);
		if (*end != ']' || !be)
			goto verbatim;
		snprintf(bname, sizeof(bname), ": backend %s",
			 json_string_value(json_object_get(be, "address")) ?:
				 "(no address)");
		p = end + 1;
		obj = be;
	}
	if (*p == ':') {
		snprintf(out, len, "%s%s%s", vname, bname, p);
		return;
	}
	if (*p != '.')
		goto verbatim;
	p++;
	rest = strchr(p, ':');
	n = strcspn(p, ".[:");
	if (!rest || n >= sizeof(key))
		goto verbatim;
	memcpy(key, p, n);
	key[n] = '\0';
	/* "weight 70000": the value, unless the name already says it */
	v = p[n] == ':' && !(obj == be && !strcmp(key, "address")) ?
		    json_object_get(obj, key) :
		    NULL;
	if (v && (json_is_number(v) || json_is_string(v) || json_is_boolean(v))) {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		if (s && strlen(s) < sizeof(val) - 1)
			snprintf(val, sizeof(val), " %s", s);
		free(s);
	}
	snprintf(out, len, "%s%s: %.*s%s%s", vname, bname, (int)(rest - p), p,
		 val, rest);
	return;
verbatim:
	snprintf(out, len, "%s", msg);
}

static void reply_msgs(struct ctl_reply *r, json_t *doc,
		       const struct cfg_msgs *m, bool translate)
{
	char buf[CTL_ERRLEN];

	r->errors = json_array();
	for (size_t i = 0; i < m->n_err; i++) {
		if (translate)
			name_path(doc, m->err[i], buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%s", m->err[i]);
		json_array_append_new(r->errors, json_string(buf));
		if (i == 0)
			snprintf(r->err, sizeof(r->err), "%s", buf);
	}
	if (!m->n_err)
		snprintf(r->err, sizeof(r->err), "invalid configuration");
	else if (m->n_err > 1) {
		size_t l = strlen(r->err);

		snprintf(r->err + l, sizeof(r->err) - l, " (and %zu more)",
			 m->n_err - 1);
	}
}

static json_t *warnings_json(const struct cfg_msgs *m)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->n_warn; i++)
		json_array_append_new(a, json_string(m->warn[i]));
	return a;
}

/*
 * Validate doc as the next model and apply it.  what names the change in
 * the log.  translate: errors name VIPs and backends instead of paths into
 * a document the client never saw.  The result: {"diff", "warnings"}.
 */
static int commit(json_t *doc, const char *what, bool translate,
		  bool dry_run, struct ctl_reply *r)
{
	struct cfg_msgs m = { 0 };
	struct xlb_config *next;
	json_t *diff;
	char err[CTL_ERRLEN] = "";
	int ret;

	next = cfg_parse_json(doc, &m);
	if (!next) {
		reply_msgs(r, doc, &m, translate);
		cfg_msgs_free(&m);
		log_info("control: %s refused: %s", what, r->err);
		return -1;
	}
	diff = cfg_diff(core_config(), next);
	r->result = json_pack("{s:o, s:o}", "diff", diff ? diff : json_null(),
			      "warnings", warnings_json(&m));
	cfg_msgs_free(&m);
	if (dry_run) {
		cfg_free(next);
		return 0;
	}
	ret = core_apply(next, err, sizeof(err));
	if (ret < 0) {
		cfg_free(next);
		json_decref(r->result);
		r->result = NULL;
		log_info("control: %s refused: %s", what, err);
		return reply_err(r, "%s", err[0] ? err : strerror(-ret));
	}
	log_info("control: %s applied", what);
	return 0;
}

/* Copy the optional keys of req into o (their values checked by cfg). */
static void copy_keys(json_t *o, json_t *req, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(req, *keys);

		if (v)
			json_object_set(o, *keys, v);
	}
}

/* ---- commands ---- */

typedef int (*ctl_fn)(struct ctl_conn *c, json_t *req, struct ctl_reply *r);

static int c_status(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	r->result = core_status();
	return 0;
}

static int c_vip_list(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	r->result = core_vip_list();
	return 0;
}

static int c_vip_show(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	const struct xlb_vip_conf *v;
	struct vip_key k;

	v = req_running_vip(req, &k, r);
	if (!v)
		return -1;
	r->result = core_vip_show(v);
	return 0;
}

static int c_vip_add(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	static const char *const opt[] = { "table_size", "hash", "healthcheck",
					   "backends", NULL };
	char name[XLB_VIPSTRLEN], addr[XLB_ADDRSTRLEN], what[128];
	struct vip_key k;
	json_t *doc, *o;
	int ret;

	if (req_vip(req, "vip", &k, r))
		return -1;
	key_fmt(&k, name, sizeof(name));
	doc = cfg_dump(core_config());
	if (doc_find_vip(doc, &k, NULL)) {
		json_decref(doc);
		return reply_err(r, "vip %s: already exists", name);
	}
	o = json_pack("{s:s, s:i, s:s}", "address",
		      addr_fmt(&k.addr, addr, sizeof(addr)), "port", k.port,
		      "protocol", cfg_proto_name(k.proto));
	copy_keys(o, req, opt);
	json_array_append_new(doc_vips(doc), o);
	snprintf(what, sizeof(what), "vip add %s", name);
	ret = commit(doc, what, true, false, r);
	json_decref(doc);
	return ret;
}

static int c_vip_del(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	char name[XLB_VIPSTRLEN], what[128];
	struct vip_key k;
	json_t *doc;
	size_t idx;
	int ret;

	if (!req_running_vip(req, &k, r))
		return -1;
	key_fmt(&k, name, sizeof(name));
	doc = cfg_dump(core_config());
	if (!doc_find_vip(doc, &k, &idx)) {
		json_decref(doc);
		return reply_err(r, "vip %s: no such VIP", name);
	}
	json_array_remove(doc_vips(doc), idx);
	snprintf(what, sizeof(what), "vip del %s", name);
	ret = commit(doc, what, true, false, r);
	json_decref(doc);
	return ret;
}

static int c_backend_list(struct ctl_conn *c, json_t *req,
			  struct ctl_reply *r)
{
	const struct xlb_vip_conf *v;
	struct vip_key k;
	json_t *show;

	v = req_running_vip(req, &k, r);
	if (!v)
		return -1;
	show = core_vip_show(v);
	r->result = json_incref(json_object_get(show, "backends"));
	json_decref(show);
	if (!r->result)
		r->result = json_array();
	return 0;
}

enum be_op { BE_ADD, BE_DEL, BE_SET };

static int backend_edit(json_t *req, enum be_op op, struct ctl_reply *r)
{
	static const char *const add_opt[] = { "weight", "state", "healthcheck",
					       NULL };
	static const char *const set_opt[] = { "weight", "state", NULL };
	static const char *const opname[] = { "add", "del", "set" };
	char name[XLB_VIPSTRLEN], baddr[XLB_ADDRSTRLEN], what[160];
	struct vip_key k;
	struct xlb_addr a;
	json_t *doc, *vip, *be;
	size_t idx;
	int ret = -1;

	if (!req_running_vip(req, &k, r) ||
	    req_addr(req, "address", &a, r))
		return -1;
	key_fmt(&k, name, sizeof(name));
	addr_fmt(&a, baddr, sizeof(baddr));
	if (op == BE_SET && !json_object_get(req, "weight") &&
	    !json_object_get(req, "state"))
		return reply_err(r, "vip %s: backend %s: nothing to set "
				    "(weight, state)", name, baddr);
	doc = cfg_dump(core_config());
	vip = doc_find_vip(doc, &k, NULL);
	if (!vip) {
		reply_err(r, "vip %s: no such VIP", name);
		goto out;
	}
	be = doc_find_backend(vip, &a, &idx);
	if (op == BE_ADD && be) {
		reply_err(r, "vip %s: backend %s: already exists", name, baddr);
		goto out;
	}
	if (op != BE_ADD && !be) {
		reply_err(r, "vip %s: backend %s: no such backend", name, baddr);
		goto out;
	}
	switch (op) {
	case BE_ADD:
		be = json_pack("{s:s}", "address", baddr);
		copy_keys(be, req, add_opt);
		json_array_append_new(vip_backends(vip), be);
		break;
	case BE_DEL:
		json_array_remove(vip_backends(vip), idx);
		break;
	case BE_SET:
		copy_keys(be, req, set_opt);
		break;
	}
	snprintf(what, sizeof(what), "backend %s %s %s", opname[op], name,
		 baddr);
	ret = commit(doc, what, true, false, r);
out:
	json_decref(doc);
	return ret;
}

static int c_backend_add(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	return backend_edit(req, BE_ADD, r);
}

static int c_backend_del(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	return backend_edit(req, BE_DEL, r);
}

static int c_backend_set(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	return backend_edit(req, BE_SET, r);
}

static int c_backend_replace(struct ctl_conn *c, json_t *req,
			     struct ctl_reply *r)
{
	char name[XLB_VIPSTRLEN], what[128];
	json_t *list = json_object_get(req, "backends"), *doc, *vip;
	struct vip_key k;
	int ret;

	if (!req_running_vip(req, &k, r))
		return -1;
	key_fmt(&k, name, sizeof(name));
	if (!list)
		return reply_err(r, "backends: required");
	if (json_is_object(list))
		list = json_object_get(list, "backends");
	if (!json_is_array(list))
		return reply_err(r, "backends: must be an array of backend "
				    "objects");
	doc = cfg_dump(core_config());
	vip = doc_find_vip(doc, &k, NULL);
	if (!vip) {
		json_decref(doc);
		return reply_err(r, "vip %s: no such VIP", name);
	}
	json_object_set(vip, "backends", list);
	snprintf(what, sizeof(what), "backend replace %s (%zu backends)", name,
		 json_array_size(list));
	ret = commit(doc, what, true, false, r);
	json_decref(doc);
	return ret;
}

static int c_apply(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	json_t *cfg = json_object_get(req, "config");
	char err[CTL_ERRLEN] = "";
	bool dry_run, save;
	int ret;

	if (req_bool(req, "dry_run", &dry_run, r) ||
	    req_bool(req, "save", &save, r))
		return -1;
	if (!cfg)
		return reply_err(r, "config: required");
	if (!json_is_object(cfg))
		return reply_err(r, "config: must be a JSON object");
	if (dry_run && save)
		return reply_err(r, "dry_run and save: choose one");
	if (commit(cfg, dry_run ? "apply --dry-run" : "apply", false, dry_run,
		   r))
		return -1;
	json_object_set_new(r->result, "applied", json_boolean(!dry_run));
	json_object_set_new(r->result, "saved", json_false());
	if (save) {
		ret = core_save_config(err, sizeof(err));
		if (ret < 0) {
			json_decref(r->result);
			r->result = NULL;
			return reply_err(r, "applied, but not saved: %s",
					 err[0] ? err : strerror(-ret));
		}
		json_object_set_new(r->result, "saved", json_true());
	}
	return 0;
}

static int c_config_dump(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	r->result = cfg_dump(core_config());
	return 0;
}

static int c_config_save(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	char err[CTL_ERRLEN] = "";
	int ret = core_save_config(err, sizeof(err));

	if (ret < 0)
		return reply_err(r, "%s", err[0] ? err : strerror(-ret));
	log_info("control: config save");
	r->result = json_pack("{s:b}", "saved", 1);
	return 0;
}

/* The optional "vip" of stats and health: *v NULL for all. */
static int opt_vip(json_t *req, const struct xlb_vip_conf **v,
		   struct vip_key *k, struct ctl_reply *r)
{
	*v = NULL;
	if (!json_object_get(req, "vip") ||
	    json_is_null(json_object_get(req, "vip")))
		return 0;
	*v = req_running_vip(req, k, r);
	return *v ? 0 : -1;
}

static int c_stats(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	const struct xlb_vip_conf *v;
	json_t *w = json_object_get(req, "watch");
	struct vip_key k;

	if (opt_vip(req, &v, &k, r))
		return -1;
	if (w && !json_is_null(w)) {
		if (!json_is_integer(w) || json_integer_value(w) < 1 ||
		    json_integer_value(w) > CTL_MAX_WATCH_S)
			return reply_err(r, "watch: must be 1..%u seconds",
					 CTL_MAX_WATCH_S);
		c->watch_s = (unsigned)json_integer_value(w);
		c->watch_vip = v != NULL;
		if (v) {
			c->w_addr = k.addr;
			c->w_port = k.port;
			c->w_proto = k.proto;
		}
	}
	r->result = core_stats(v);
	return 0;
}

static int c_health(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	const struct xlb_vip_conf *v;
	struct vip_key k;

	if (opt_vip(req, &v, &k, r))
		return -1;
	r->result = core_health(v);
	return 0;
}

static int c_explain(struct ctl_conn *c, json_t *req, struct ctl_reply *r)
{
	const struct xlb_vip_conf *v;
	json_t *cl = json_object_get(req, "client");
	char err[CTL_ERRLEN] = "";
	struct vip_key k;
	struct xlb_addr a;
	int port;

	v = req_running_vip(req, &k, r);
	if (!v)
		return -1;
	if (!cl)
		return reply_err(r, "client: required");
	if (!json_is_string(cl) ||
	    ctl_parse_client(json_string_value(cl), &a, &port))
		return reply_err(r, "client %s: expected ADDR[:PORT] or "
				    "[V6ADDR]:PORT",
				 json_is_string(cl) ? json_string_value(cl) :
						      "(not a string)");
	r->result = core_explain(v, &a, port, err, sizeof(err));
	if (!r->result)
		return reply_err(r, "%s", err[0] ? err : "cannot explain");
	return 0;
}

static const struct ctl_cmd {
	const char *name;
	ctl_fn fn;
	const char *keys[6]; /* allowed besides "cmd" and "id" */
} ctl_cmds[] = {
	{ "status", c_status, { NULL } },
	{ "vip list", c_vip_list, { NULL } },
	{ "vip show", c_vip_show, { "vip" } },
	{ "vip add", c_vip_add,
	  { "vip", "table_size", "hash", "healthcheck", "backends" } },
	{ "vip del", c_vip_del, { "vip" } },
	{ "backend list", c_backend_list, { "vip" } },
	{ "backend add", c_backend_add,
	  { "vip", "address", "weight", "state", "healthcheck" } },
	{ "backend del", c_backend_del, { "vip", "address" } },
	{ "backend set", c_backend_set, { "vip", "address", "weight", "state" } },
	{ "backend replace", c_backend_replace, { "vip", "backends" } },
	{ "apply", c_apply, { "config", "dry_run", "save" } },
	{ "config dump", c_config_dump, { NULL } },
	{ "config save", c_config_save, { NULL } },
	{ "stats", c_stats, { "vip", "watch" } },
	{ "health", c_health, { "vip" } },
	{ "explain", c_explain, { "vip", "client" } },
};

static int check_keys(const struct ctl_cmd *cmd, json_t *req,
		      struct ctl_reply *r)
{
	const char *key;
	json_t *v;

	json_object_foreach(req, key, v) {
		size_t i;

		if (!strcmp(key, "cmd") || !strcmp(key, "id"))
			continue;
		for (i = 0; i < 6 && cmd->keys[i]; i++)
			if (!strcmp(key, cmd->keys[i]))
				break;
		if (i == 6 || !cmd->keys[i])
			return reply_err(r, "%s: unknown key \"%s\"", cmd->name,
					 key);
	}
	return 0;
}

/* Serve one request line; returns the response object. */
static json_t *handle(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_reply r = { 0 };
	const struct ctl_cmd *cmd = NULL;
	json_error_t jerr;
	json_t *req, *resp, *id = NULL;
	const char *name;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		reply_err(&r, "invalid JSON request at column %d: %s",
			  jerr.column, jerr.text);
		goto out;
	}
	id = json_incref(json_object_get(req, "id"));
	if (!json_is_object(req)) {
		reply_err(&r, "a request is a JSON object with a \"cmd\" key");
		goto out;
	}
	name = json_string_value(json_object_get(req, "cmd"));
	if (!name) {
		reply_err(&r, "cmd: required (a string such as \"status\")");
		goto out;
	}
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(name, ctl_cmds[i].name))
			cmd = &ctl_cmds[i];
	if (!cmd) {
		reply_err(&r, "unknown command \"%s\"", name);
		goto out;
	}
	if (check_keys(cmd, req, &r))
		goto out;
	if (cmd->fn(c, req, &r) == 0 && !r.result)
		reply_err(&r, "%s: out of memory", cmd->name);
out:
	if (r.result) {
		resp = json_pack("{s:b, s:o}", "ok", 1, "result", r.result);
	} else {
		resp = json_pack("{s:b, s:s}", "ok", 0, "error", r.err);
		if (r.errors && json_array_size(r.errors) > 1)
			json_object_set(resp, "errors", r.errors);
	}
	json_decref(r.errors);
	if (id)
		json_object_set_new(resp, "id", id);
	json_decref(req);
	return resp;
}

/* ---- connections ---- */

static void conn_send(struct ctl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* The client went away mid-response: forget it. */
			c->closing = true;
			c->out_off = c->out_len;
			break;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
}

/* Queue one response line (out must be empty) and start sending it. */
static void conn_queue(struct ctl_conn *c, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);
	size_t n;

	json_decref(resp);
	if (!s) {
		c->closing = true;
		return;
	}
	/* The line's newline takes the place of the string's NUL. */
	n = strlen(s);
	s[n] = '\n';
	c->out = s;
	c->out_len = n + 1;
	c->out_off = 0;
	conn_send(c);
}

static void conn_arm_idle(struct ctl_conn *c)
{
	ev_timer_arm(c->timer, ev_now_ms() + c->srv->idle_ms);
}

/* Close after telling the client why (best effort). */
static void conn_fail(struct ctl_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conn_fail(struct ctl_conn *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->in_len = c->scanned = 0;
	c->closing = true;
	if (!c->out_len)
		conn_queue(c, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

static void conn_timer(void *arg)
{
	struct ctl_conn *c = arg;
	const struct xlb_vip_conf *v = NULL;
	char name[XLB_VIPSTRLEN];

	if (!c->watch_s) {
		log_debug("control: closing a connection idle for %u ms",
			  c->srv->idle_ms);
		conn_close(c);
		return;
	}
	ev_timer_arm(c->timer, ev_now_ms() + c->watch_s * 1000ull);
	if (c->closing)
		return;
	if (c->watch_vip) {
		struct vip_key k = { c->w_addr, c->w_port, c->w_proto };

		v = cfg_find_vip(core_config(), &k.addr, k.port, k.proto);
		if (!v) {
			conn_fail(c, "vip %s: no such VIP",
				  key_fmt(&k, name, sizeof(name)));
			conn_update(c);
			return;
		}
	}
	/* A client that does not read its stream loses samples, not memory. */
	if (c->out_len)
		return;
	conn_queue(c, json_pack("{s:b, s:o}", "ok", 1, "result", core_stats(v)));
	conn_update(c);
}

/* Handle every complete request in the input, one response at a time. */
static void conn_process(struct ctl_conn *c)
{
	size_t max = c->srv->max_request;

	while (!c->out_len && !c->closing && !c->watch_s) {
		char *nl = memchr(c->in + c->scanned, '\n',
				  c->in_len - c->scanned);
		size_t len, rest;

		if (!nl) {
			c->scanned = c->in_len;
			if (c->in_len > max) {
				conn_fail(c, "request too large: more than %zu "
					     "bytes without a newline", max);
			} else if (c->eof && c->in_len &&
				   strspn(c->in, " \t\r") < c->in_len &&
				   c->in_len < c->in_cap) {
				/* A last request ended by EOF, not newline. */
				c->in[c->in_len++] = '\n';
				continue;
			} else if (c->eof) {
				c->closing = true;
			}
			break;
		}
		len = (size_t)(nl - c->in);
		if (len > max) {
			conn_fail(c, "request too large: %zu bytes, the limit "
				     "is %zu", len, max);
			break;
		}
		if (len && c->in[len - 1] == '\r')
			len--;
		/* Blank lines are allowed between requests (keep-alives). */
		if (strspn(c->in, " \t\r") < len) {
			conn_queue(c, handle(c, c->in, len));
			if (c->watch_s)
				ev_timer_arm(c->timer, ev_now_ms() +
							       c->watch_s * 1000ull);
			else
				conn_arm_idle(c);
		}
		rest = c->in_len - (size_t)(nl + 1 - c->in);
		memmove(c->in, nl + 1, rest);
		c->in_len = rest;
		c->scanned = 0;
	}
	if (c->in_len == 0 && c->in_cap > CTL_READ_CHUNK) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static int conn_read(struct ctl_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < CTL_READ_CHUNK) {
			size_t cap = c->in_cap ? c->in_cap * 2 : CTL_READ_CHUNK;
			char *p;

			if (cap < c->in_len + CTL_READ_CHUNK)
				cap = c->in_len + CTL_READ_CHUNK;
			p = realloc(c->in, cap);
			if (!p)
				return -ENOMEM;
			c->in = p;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len,
			 MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		c->in_len += (size_t)n;
		/* Stop at the first full line or at the limit: the rest waits
		 * in the kernel until this request is answered. */
		if (memchr(c->in + c->in_len - n, '\n', (size_t)n) ||
		    c->in_len > c->srv->max_request)
			return 0;
	}
}

/* Set the epoll mask for what the connection waits for, or close it. */
static void conn_update(struct ctl_conn *c)
{
	uint32_t ev;

	if (c->out_len)
		ev = EPOLLOUT;
	else if (c->closing) {
		conn_close(c);
		return;
	} else if (c->eof)
		ev = 0; /* a half-closed stream: HUP still reported */
	else
		ev = EPOLLIN; /* also while streaming: to see the client go */
	if (ev != c->events && ev_mod_fd(c->srv->ev, c->fd, ev) == 0)
		c->events = ev;
}

static void conn_io(void *arg, uint32_t events)
{
	struct ctl_conn *c = arg;
	int ret;

	if (events & EPOLLOUT) {
		conn_send(c);
		if (!c->out_len)
			conn_process(c); /* requests already buffered */
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->out_len &&
	    !c->closing) {
		if (c->watch_s) {
			/* Streaming: input is ignored, only its end matters.
			 * A half-close (EOF, no HUP) keeps the stream going. */
			char buf[4096];
			ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n == 0 && !(events & (EPOLLHUP | EPOLLERR))) {
				c->eof = true;
			} else if (n == 0 || (n < 0 && errno != EAGAIN &&
					      errno != EINTR)) {
				conn_close(c);
				return;
			}
		} else {
			ret = conn_read(c);
			if (ret == -EPIPE) {
				c->eof = true; /* answer what came, then close */
			} else if (ret < 0) {
				conn_close(c);
				return;
			}
			conn_process(c);
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		if (c->out_len)
			conn_send(c); /* fails: the client is gone */
		else
			c->closing = true;
	}
	conn_update(c);
}

static void conn_close(struct ctl_conn *c)
{
	struct ctl_server *s = c->srv;

	ev_del_fd(s->ev, c->fd);
	close(c->fd);
	ev_timer_free(c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	free(c->in);
	free(c->out);
	free(c);
}

/* The connection beyond the limit: one error line, then closed. */
static void refuse(int fd, const char *msg)
{
	json_t *o = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	char *s = json_dumps(o, JSON_COMPACT);

	if (s) {
		size_t n = strlen(s);

		s[n] = '\n'; /* json_dumps left room only for '\0': reuse it */
		if (send(fd, s, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* best effort: the socket buffer of a new
			 * connection is empty */
		}
		free(s);
	}
	json_decref(o);
	close(fd);
}

static void srv_backoff_done(void *arg)
{
	struct ctl_server *s = arg;

	ev_mod_fd(s->ev, s->fd, EPOLLIN);
}

static void srv_accept(void *arg, uint32_t events)
{
	struct ctl_server *s = arg;

	for (;;) {
		struct ctl_conn *c;
		int fd = accept4(s->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: pause instead of spinning. */
				log_warn("control: accept: %s; pausing %d ms",
					 strerror(errno), CTL_ACCEPT_BACKOFF_MS);
				ev_mod_fd(s->ev, s->fd, 0);
				ev_timer_arm(s->backoff,
					     ev_now_ms() + CTL_ACCEPT_BACKOFF_MS);
			}
			return;
		}
		if (s->n_conns >= s->max_clients) {
			char msg[96];

			snprintf(msg, sizeof(msg),
				 "too many clients (limit %u); try again later",
				 s->max_clients);
			refuse(fd, msg);
			log_warn("control: refused a client: %s", msg);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->events = EPOLLIN;
		c->timer = ev_timer_new(s->ev, conn_timer, c);
		if (!c->timer || ev_add_fd(s->ev, fd, EPOLLIN, conn_io, c) < 0) {
			ev_timer_free(c->timer);
			free(c);
			close(fd);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->n_conns++;
		conn_arm_idle(c);
	}
}

/* ---- the listening socket ---- */

static int mkdir_parents(char *path, char *err, size_t errlen)
{
	char *slash = strrchr(path, '/');
	struct stat st;
	int ret = 0;

	if (!slash || slash == path)
		return 0;
	*slash = '\0';
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: not a directory", path);
			ret = -ENOTDIR;
		}
		goto out;
	}
	ret = mkdir_parents(path, err, errlen);
	if (ret)
		goto out;
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
	}
out:
	*slash = '/';
	return ret;
}

static int lookup_group(const char *group, gid_t *gid, char *err,
			size_t errlen)
{
	struct group *gr;
	char *end;
	unsigned long v;

	gr = getgrnam(group);
	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	v = strtoul(group, &end, 10);
	if (*group && !*end && v < UINT_MAX) {
		*gid = (gid_t)v;
		return 0;
	}
	snprintf(err, errlen, "socket group %s: no such group", group);
	return -ENOENT;
}

/* Something at path: refuse a live socket or a non-socket, drop a stale one. */
static int clear_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket; "
			 "remove it or choose another path with -s",
			 sun->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (ret == 0) {
		snprintf(err, errlen, "%s: another xlbd is serving this "
			 "socket (stop it first, or use another -s)",
			 sun->sun_path);
		return -EADDRINUSE;
	}
	log_info("control: removing stale socket %s", sun->sun_path);
	if (unlink(sun->sun_path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove stale socket: %s",
			 sun->sun_path, strerror(errno));
		return -errno;
	}
	return 0;
}

struct ctl_server *ctl_open(struct ev_loop *ev, const char *path,
			    const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *s = NULL;
	gid_t gid = (gid_t)-1;
	struct stat st;
	char *dir = NULL;
	int fd = -1;

	if (!path || !*path)
		path = CTL_DEFAULT_PATH;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long (at most %zu "
			 "bytes)", path, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if (group && lookup_group(group, &gid, err, errlen))
		return NULL;
	dir = strdup(path);
	if (!dir || mkdir_parents(dir, err, errlen))
		goto fail;
	if (clear_stale(&sun, err, errlen)) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, 0660) < 0 ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) ||
	    stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	if (listen(fd, 128) < 0) {
		snprintf(err, errlen, "%s: listen: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail_unlink;
	s->ev = ev;
	s->fd = fd;
	s->path = strdup(path);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->idle_ms = CTL_IDLE_MS;
	s->max_clients = CTL_MAX_CLIENTS;
	s->max_request = CTL_MAX_REQUEST;
	s->backoff = ev_timer_new(ev, srv_backoff_done, s);
	if (!s->path || !s->backoff ||
	    ev_add_fd(ev, fd, EPOLLIN, srv_accept, s) < 0)
		goto fail_unlink;
	free(dir);
	log_info("control: listening on %s", path);
	return s;
fail_unlink:
	snprintf(err, errlen, "%s: out of memory", path);
	unlink(path);
	if (s) {
		ev_timer_free(s->backoff);
		free(s->path);
		free(s);
	}
fail:
	if (fd >= 0)
		close(fd);
	free(dir);
	return NULL;
}

void ctl_close(struct ctl_server *s)
{
	struct stat st;

	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	ev_del_fd(s->ev, s->fd);
	close(s->fd);
	/* Remove the file only if it is still ours (not a successor's). */
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	ev_timer_free(s->backoff);
	free(s->path);
	free(s);
}

unsigned ctl_clients(const struct ctl_server *s)
{
	return s ? s->n_conns : 0;
}

void ctl_set_timeouts(struct ctl_server *s, unsigned idle_ms)
{
	if (idle_ms)
		s->idle_ms = idle_ms;
}

void ctl_set_limits(struct ctl_server *s, size_t max_request,
		    unsigned max_clients)
{
	if (max_request)
		s->max_request = max_request;
	if (max_clients)
		s->max_clients = max_clients;
}
