// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xlbctl.c - the command-line client of xlbd's control socket.
 *
 * The command line is parsed and checked completely first (parser.c; exit
 * 2), input files are read and checked next (exit 1), then one request
 * per command goes to xlbd as a JSON line (docs/control-protocol.md) and
 * the result is printed through the output vtable (text or --json).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "config.h"
#include "control.h"
#include "xlbctl/xlbctl.h"

#define RESPONSE_TIMEOUT_S 120 /* an apply of 512 x 100 takes ~2 s */

static const struct output *out = &output_text;
static volatile sig_atomic_t interrupted;

struct conn {
	int fd;
	const char *path;
	char *buf; /* received, not yet returned */
	size_t len, cap;
};

static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Report an error in the chosen format; returns code. */
static int fail(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out->error(msg, NULL);
	return code;
}

static void on_signal(int sig)
{
	interrupted = 1;
}

/* ---- the connection ---- */

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *hint = "";

	memset(c, 0, sizeof(*c));
	c->path = path;
	if (strlen(path) >= sizeof(sun.sun_path))
		return fail(EXIT_USAGE, "socket %s: path too long", path);
	strcpy(sun.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(EXIT_UNREACHABLE, "socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 0;
	if (errno == ENOENT || errno == ECONNREFUSED)
		hint = " (is xlbd running? another socket: -s SOCKET)";
	else if (errno == EACCES)
		hint = " (run as root or as a member of the socket's group)";
	fail(EXIT_UNREACHABLE, "cannot reach xlbd at %s: %s%s", path,
	     strerror(errno), hint);
	close(c->fd);
	c->fd = -1;
	return EXIT_UNREACHABLE;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->buf = NULL;
}

static void set_timeout(struct conn *c, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Send one request line.  A failure is not final: xlbd may have answered
 * (e.g. "request too large") before closing, so the caller reads anyway. */
static int conn_send(struct conn *c, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	size_t n, off = 0;

	if (!s)
		return -ENOMEM;
	n = strlen(s);
	s[n] = '\n'; /* the newline takes the NUL's place */
	n++;
	while (off < n) {
		ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR && !interrupted)
				continue;
			free(s);
			return -errno;
		}
		off += (size_t)w;
	}
	free(s);
	return 0;
}

/*
 * Read one response line.  Returns the response, or NULL with the exit
 * code in *code after reporting why (3: the daemon went away or is mute;
 * 0: interrupted by a signal).
 */
static json_t *conn_recv(struct conn *c, int *code)
{
	json_error_t jerr;
	json_t *resp;
	char *nl;
	size_t n;

	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		ssize_t r;

		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *p = realloc(c->buf, cap);

			if (!p) {
				*code = fail(EXIT_REFUSED, "out of memory");
				return NULL;
			}
			c->buf = p;
			c->cap = cap;
		}
		r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r < 0 && errno == EINTR) {
			if (interrupted) {
				*code = EXIT_OK;
				return NULL;
			}
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*code = fail(EXIT_UNREACHABLE,
				     "no answer from xlbd within %d s",
				     RESPONSE_TIMEOUT_S);
			return NULL;
		}
		if (r <= 0) {
			*code = fail(EXIT_UNREACHABLE,
				     "xlbd closed the connection%s%s",
				     r < 0 ? ": " : "",
				     r < 0 ? strerror(errno) : "");
			return NULL;
		}
		c->len += (size_t)r;
	}
	n = (size_t)(nl - c->buf);
	resp = json_loadb(c->buf, n, 0, &jerr);
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	if (!json_is_object(resp)) {
		json_decref(resp);
		*code = fail(EXIT_UNREACHABLE, "xlbd sent an invalid response");
		return NULL;
	}
	return resp;
}

/*
 * Unwrap a response: the result (a new reference) or NULL after reporting
 * the daemon's error (*code 1).
 */
static json_t *unwrap(json_t *resp, int *code)
{
	json_t *res;

	if (json_is_true(json_object_get(resp, "ok"))) {
		res = json_incref(json_object_get(resp, "result"));
		json_decref(resp);
		return res ? res : json_null();
	}
	out->error(json_string_value(json_object_get(resp, "error")) ?:
			   "xlbd refused the request",
		   json_object_get(resp, "errors"));
	json_decref(resp);
	*code = EXIT_REFUSED;
	return NULL;
}

/* One request, one result (NULL with *code set on any failure). */
static json_t *rpc(struct conn *c, json_t *req, int *code)
{
	json_t *resp;
	int err = conn_send(c, req);

	/* Even when sending failed, xlbd may have said why before closing. */
	(void)err;
	resp = conn_recv(c, code);
	if (!resp)
		return NULL;
	return unwrap(resp, code);
}

/* ---- input files ---- */

/* Read FILE or "-" (at most the request limit); 0 or exit code 1. */
static int read_input(const char *path, char **text, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	const char *name = strcmp(path, "-") ? path : "standard input";
	size_t cap = 65536, n = 0;
	char *buf;

	if (!f)
		return fail(EXIT_REFUSED, "%s: %s", path, strerror(errno));
	buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (n > CFG_MAX_FILE_SIZE)
			break;
		if (r == 0)
			break;
		if (n == cap) {
			char *p = realloc(buf, cap * 2);

			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (!buf || ferror(f) || n > CFG_MAX_FILE_SIZE) {
		int e = errno;

		if (f != stdin)
			fclose(f);
		free(buf);
		if (n > CFG_MAX_FILE_SIZE)
			return fail(EXIT_REFUSED, "%s: larger than %u bytes",
				    name, CFG_MAX_FILE_SIZE);
		return fail(EXIT_REFUSED, "%s: %s", name,
			    buf ? strerror(e) : "out of memory");
	}
	if (f != stdin)
		fclose(f);
	*text = buf;
	*len = n;
	return 0;
}

/* A JSON document from FILE|-, duplicates refused as the daemon would. */
static int read_json(const char *path, json_t **doc)
{
	json_error_t jerr;
	char *text;
	size_t len;
	int ret = read_input(path, &text, &len);

	if (ret)
		return ret;
	*doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!*doc)
		return fail(EXIT_REFUSED, "%s: line %d column %d: %s",
			    strcmp(path, "-") ? path : "standard input",
			    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		return fail(EXIT_REFUSED, "%s: a config is a JSON object",
			    strcmp(path, "-") ? path : "standard input");
	}
	return 0;
}

static int read_backends(const char *path, json_t **list)
{
	struct cfg_msgs m = { 0 };
	char *text;
	size_t len;
	int ret = read_input(path, &text, &len);
	const char *name = strcmp(path, "-") ? path : "standard input";

	if (ret)
		return ret;
	*list = cfg_parse_backend_list(text, len, &m);
	free(text);
	if (!*list) {
		for (size_t i = 0; i + 1 < m.n_err; i++)
			fprintf(stderr, "xlbctl: %s: %s\n", name, m.err[i]);
		ret = fail(EXIT_REFUSED, "%s: %s", name,
			   m.n_err ? m.err[m.n_err - 1] :
				     "not a backend list");
	}
	cfg_msgs_free(&m);
	return ret;
}

/* ---- stats: rates from two samples ---- */

static double per_s(json_t *a, json_t *b, const char *key, double dt)
{
	json_int_t x = json_integer_value(json_object_get(a, key));
	json_int_t y = json_integer_value(json_object_get(b, key));

	return y > x ? (double)(y - x) / dt : 0.0;
}

static json_t *find_by(json_t *arr, const char *key, const char *val)
{
	json_t *o;
	size_t i;

	if (!val)
		return NULL;
	json_array_foreach(arr, i, o) {
		const char *s = json_string_value(json_object_get(o, key));

		if (s && !strcmp(s, val))
			return o;
	}
	return NULL;
}

/* b with "rates" set: per second since sample a (null without a). */
static void add_rates(json_t *a, json_t *b)
{
	static const char *const vkeys[] = { "packets", "bytes",
					     "new_flows_syn",
					     "new_flows_nonsyn", "dropped" };
	json_int_t ms;
	json_t *r, *g, *vips, *v, *va, *bb, *ba;
	const char *k;
	double dt;
	size_t i, j;

	ms = a ? json_integer_value(json_object_get(b, "timestamp_ms")) -
			 json_integer_value(json_object_get(a, "timestamp_ms")) :
		 0;
	if (ms <= 0) {
		json_object_set_new(b, "rates", json_null());
		return;
	}
	dt = (double)ms / 1000.0;
	g = json_object();
	json_object_foreach(json_object_get(b, "global"), k, v)
		json_object_set_new(g, k,
				    json_real(per_s(json_object_get(a, "global"),
						    json_object_get(b, "global"),
						    k, dt)));
	vips = json_array();
	json_array_foreach(json_object_get(b, "vips"), i, v) {
		const char *name = json_string_value(json_object_get(v, "vip"));
		json_t *rv, *rbs;

		va = find_by(json_object_get(a, "vips"), "vip", name);
		if (!va)
			continue;
		rv = json_pack("{s:s}", "vip", name);
		for (size_t n = 0; n < sizeof(vkeys) / sizeof(vkeys[0]); n++) {
			char key[64];

			snprintf(key, sizeof(key), "%s_per_s", vkeys[n]);
			json_object_set_new(rv, key,
					    json_real(per_s(va, v, vkeys[n],
							    dt)));
		}
		json_object_set_new(rv, "new_flows_per_s",
				    json_real(per_s(va, v, "new_flows_syn", dt) +
					      per_s(va, v, "new_flows_nonsyn",
						    dt)));
		rbs = json_array();
		json_array_foreach(json_object_get(v, "backends"), j, bb) {
			const char *addr =
				json_string_value(json_object_get(bb, "address"));

			ba = find_by(json_object_get(va, "backends"), "address",
				     addr);
			if (!ba)
				continue;
			json_array_append_new(
				rbs, json_pack("{s:s, s:f, s:f}", "address",
					       addr, "packets_per_s",
					       per_s(ba, bb, "packets", dt),
					       "bytes_per_s",
					       per_s(ba, bb, "bytes", dt)));
		}
		json_object_set_new(rv, "backends", rbs);
		json_array_append_new(vips, rv);
	}
	r = json_pack("{s:I, s:o, s:o}", "interval_ms", (json_int_t)ms,
		      "global", g, "vips", vips);
	json_object_set_new(b, "rates", r);
}

static int cmd_stats(struct conn *c, const struct parse_result *p,
		     json_t *req)
{
	struct timespec one = { 1, 0 };
	json_t *a, *b, *resp;
	int code = EXIT_OK;
	bool first = true;

	if (!p->watch) {
		/* Rates from two samples about a second apart. */
		a = rpc(c, req, &code);
		if (!a)
			return code;
		while (nanosleep(&one, &one) < 0 && errno == EINTR &&
		       !interrupted)
			;
		if (interrupted) {
			json_decref(a);
			return EXIT_OK;
		}
		b = rpc(c, req, &code);
		if (!b) {
			json_decref(a);
			return code;
		}
		add_rates(a, b);
		out->stats(b, true, 0);
		json_decref(a);
		json_decref(b);
		return EXIT_OK;
	}

	/* --watch: xlbd pushes a sample every N seconds until we close. */
	json_object_set_new(req, "watch", json_integer(p->watch));
	set_timeout(c, 0);
	conn_send(c, req);
	a = NULL;
	for (;;) {
		resp = conn_recv(c, &code);
		if (!resp)
			break;
		b = unwrap(resp, &code);
		if (!b)
			break;
		add_rates(a, b);
		out->stats(b, first, p->watch);
		first = false;
		json_decref(a);
		a = b;
	}
	json_decref(a);
	return code;
}

/* ---- commands ---- */

static json_t *build_request(const struct parse_result *p, int *code)
{
	json_t *req = json_pack("{s:s}", "cmd", p->name), *doc;

	*code = EXIT_OK;
	if (p->vip)
		json_object_set_new(req, "vip", json_string(p->vip));
	if (p->addr)
		json_object_set_new(req, "address", json_string(p->addr));
	if (p->has_weight)
		json_object_set_new(req, "weight", json_integer(p->weight));
	if (p->state)
		json_object_set_new(req, "state", json_string(p->state));
	if (p->has_table_size)
		json_object_set_new(req, "table_size",
				    json_integer(p->table_size));
	if (p->hash)
		json_object_set_new(req, "hash", json_string(p->hash));
	if (p->client)
		json_object_set_new(req, "client", json_string(p->client));
	switch (p->cmd) {
	case CMD_APPLY:
		*code = read_json(p->file, &doc);
		if (*code)
			break;
		json_object_set_new(req, "config", doc);
		if (p->dry_run)
			json_object_set_new(req, "dry_run", json_true());
		if (p->save)
			json_object_set_new(req, "save", json_true());
		break;
	case CMD_BACKEND_REPLACE:
		*code = read_backends(p->file, &doc);
		if (!*code)
			json_object_set_new(req, "backends", doc);
		break;
	default:
		break;
	}
	if (*code) {
		json_decref(req);
		return NULL;
	}
	return req;
}

static int run(const struct parse_result *p)
{
	struct conn c;
	json_t *req, *res;
	int code;

	req = build_request(p, &code);
	if (!req)
		return code;
	code = conn_open(&c, p->socket);
	if (code) {
		json_decref(req);
		return code;
	}
	set_timeout(&c, RESPONSE_TIMEOUT_S);
	if (p->cmd == CMD_STATS) {
		code = cmd_stats(&c, p, req);
		goto out;
	}
	res = rpc(&c, req, &code);
	if (!res)
		goto out;
	switch (p->cmd) {
	case CMD_STATUS:
		out->status(res);
		break;
	case CMD_VIP_LIST:
		out->vip_list(res);
		break;
	case CMD_VIP_SHOW:
		out->vip_show(res);
		break;
	case CMD_BACKEND_LIST:
		out->backend_list(res);
		break;
	case CMD_APPLY:
		out->apply(p, res);
		break;
	case CMD_CONFIG_DUMP:
		out->config(res);
		break;
	case CMD_HEALTH:
		out->health(res);
		break;
	case CMD_EXPLAIN:
		out->explain(res);
		break;
	default:
		out->done(p, res);
		break;
	}
	json_decref(res);
out:
	json_decref(req);
	conn_close(&c);
	return code;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct parse_result p;
	int code;

	if (parse_args(argc, argv, &p, &code) < 0)
		return code;
	if (p.json)
		out = &output_json;
	/* No SA_RESTART: Ctrl-C ends a --watch (exit 0) or a wait. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	code = run(&p);
	fflush(stdout);
	return code;
}
