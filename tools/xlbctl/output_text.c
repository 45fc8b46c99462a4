// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * output_text.c - xlbctl's human output: aligned tables and key/value
 * blocks, built from the daemon's JSON results (shapes in user/core.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "xlbctl.h"

/* ---- aligned tables ---- */

#define TBL_MAXCOL 12

struct table {
	size_t ncol, nrows, cap;
	char **cells; /* nrows * ncol */
	const char *indent;
};

static void tbl_init(struct table *t, const char *indent, size_t ncol)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->indent = indent;
}

/* Add a row of ncol strings (copied). */
static void tbl_row(struct table *t, ...)
{
	va_list ap;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncol * sizeof(*c));

		if (!c)
			abort();
		t->cells = c;
		t->cap = cap;
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncol; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncol + i] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

static void tbl_print(struct table *t)
{
	size_t w[TBL_MAXCOL] = { 0 };

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncol; c++) {
			size_t l = strlen(t->cells[r * t->ncol + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		size_t last = t->ncol;

		/* no trailing blanks: stop after the last non-empty cell */
		while (last > 1 && !*t->cells[r * t->ncol + last - 1])
			last--;
		fputs(t->indent, stdout);
		for (size_t c = 0; c < last; c++) {
			const char *s = t->cells[r * t->ncol + c];

			if (c + 1 == last)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)w[c], s);
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncol; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* ---- values as text ---- */

#define NBUF 8
/* Small rotating buffers, so a row can format several values. */
static char *buf_next(void)
{
	static char bufs[NBUF][128];
	static int i;

	return bufs[i++ % NBUF];
}

static const char *s_get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	char *b;

	if (!v || json_is_null(v))
		return "-";
	if (json_is_string(v))
		return json_string_value(v);
	b = buf_next();
	if (json_is_integer(v))
		snprintf(b, 128, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(b, 128, "%.1f", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(b, 128, "%s", json_is_true(v) ? "yes" : "no");
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(b, 128, "%s", s ? s : "?");
		free(s);
	}
	return b;
}

static long long i_get(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *fmt_rate(json_t *rate, const char *key)
{
	json_t *v = json_object_get(rate, key);
	char *b = buf_next();

	if (!json_is_number(v))
		return "-";
	snprintf(b, 128, "%.1f", json_number_value(v));
	return b;
}

static const char *fmt_bits(json_t *rate, const char *key)
{
	json_t *v = json_object_get(rate, key);
	static const char *const unit[] = { "bit/s", "kbit/s", "Mbit/s",
					    "Gbit/s", "Tbit/s" };
	double x;
	int u = 0;
	char *b = buf_next();

	if (!json_is_number(v))
		return "-";
	x = json_number_value(v) * 8;
	while (x >= 1000 && u < 4)
		x /= 1000, u++;
	snprintf(b, 128, "%.1f %s", x, unit[u]);
	return b;
}

static const char *fmt_ago(json_t *o, const char *key)
{
	long long ms = i_get(o, key);
	struct timespec ts;
	long long now, d;
	char *b;

	if (ms <= 0)
		return "-";
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	d = (now - ms) / 1000;
	if (d < 0)
		d = 0;
	b = buf_next();
	if (d < 120)
		snprintf(b, 128, "%llds ago", d);
	else if (d < 7200)
		snprintf(b, 128, "%lldm ago", d / 60);
	else if (d < 172800)
		snprintf(b, 128, "%lldh ago", d / 3600);
	else
		snprintf(b, 128, "%lldd ago", d / 86400);
	return b;
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

/* Key/value lines of an object, in its order. */
static void kv_block(json_t *o, const char *indent)
{
	struct table t;
	const char *k;
	json_t *v;

	tbl_init(&t, indent, 2);
	json_object_foreach(o, k, v)
		tbl_row(&t, k, s_get(o, k));
	tbl_print(&t);
}

/* ---- commands ---- */

static void t_status(json_t *r)
{
	kv_block(r, "");
}

static void t_vip_list(json_t *r)
{
	struct table t;
	json_t *v;
	size_t i;

	if (!json_array_size(r)) {
		printf("no VIPs\n");
		return;
	}
	tbl_init(&t, "", 6);
	tbl_row(&t, "VIP", "TABLE", "HASH", "BACKENDS", "UP", "DEGRADED");
	json_array_foreach(r, i, v)
		tbl_row(&t, s_get(v, "vip"), s_get(v, "table_size"),
			s_get(v, "hash"), s_get(v, "backends"), s_get(v, "up"),
			s_get(v, "degraded"));
	tbl_print(&t);
}

static void backend_table(json_t *arr, const char *indent)
{
	struct table t;
	json_t *b;
	size_t i;

	if (!json_array_size(arr)) {
		printf("%sno backends\n", indent);
		return;
	}
	tbl_init(&t, indent, 6);
	tbl_row(&t, "ADDRESS", "WEIGHT", "STATE", "HEALTH", "NEW-FLOWS",
		"SLOTS");
	json_array_foreach(arr, i, b)
		tbl_row(&t, s_get(b, "address"), s_get(b, "weight"),
			s_get(b, "state"), s_get(b, "health"),
			s_get(b, "takes_new_flows"), s_get(b, "slots"));
	tbl_print(&t);
}

static void t_vip_show(json_t *r)
{
	json_t *hc = json_object_get(r, "healthcheck"), *v;
	char line[512] = "";
	struct table t;
	const char *k;
	size_t n = 0;

	json_object_foreach(hc, k, v)
		if (n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      "%s%s=%s", n ? " " : "", k,
					      s_get(hc, k));
	tbl_init(&t, "", 2);
	tbl_row(&t, "vip", s_get(r, "vip"));
	tbl_row(&t, "table_size", s_get(r, "table_size"));
	tbl_row(&t, "hash", s_get(r, "hash"));
	tbl_row(&t, "degraded", s_get(r, "degraded"));
	tbl_row(&t, "healthcheck", n ? line : "-");
	tbl_print(&t);
	printf("\n");
	backend_table(json_object_get(r, "backends"), "");
}

static void t_backend_list(json_t *r)
{
	backend_table(r, "");
}

static void print_diff(json_t *d);

/* A mutation says what it changed, as apply does. */
static void t_done(const struct parse_result *p, json_t *r)
{
	json_t *d = json_object_get(r, "diff");

	print_warnings(r);
	if (d) {
		printf("applied:\n");
		print_diff(d);
	}
}

/* ---- the diff of apply / apply --dry-run ---- */

static void settings(json_t *arr, const char *indent)
{
	json_t *s;
	size_t i;

	json_array_foreach(arr, i, s) {
		char *from = json_dumps(json_object_get(s, "from"),
					JSON_COMPACT | JSON_ENCODE_ANY);
		char *to = json_dumps(json_object_get(s, "to"),
				      JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%s%s: %s -> %s\n", indent, s_get(s, "key"),
		       from ? from : "null", to ? to : "null");
		free(from);
		free(to);
	}
}

static void names(json_t *arr, const char *fmt)
{
	json_t *s;
	size_t i;

	json_array_foreach(arr, i, s)
		printf(fmt, json_string_value(s) ? json_string_value(s) : "?");
}

static void print_diff(json_t *d)
{
	json_t *v, *b;
	size_t i, j;

	if (!json_is_true(json_object_get(d, "changed"))) {
		printf("  no changes\n");
		return;
	}
	settings(json_object_get(d, "settings"), "  ");
	names(json_object_get(d, "vips_added"), "  + vip %s\n");
	names(json_object_get(d, "vips_removed"), "  - vip %s\n");
	json_array_foreach(json_object_get(d, "vips_changed"), i, v) {
		printf("  ~ vip %s\n", s_get(v, "vip"));
		settings(json_object_get(v, "settings"), "      ");
		names(json_object_get(v, "backends_added"),
		      "      + backend %s\n");
		names(json_object_get(v, "backends_removed"),
		      "      - backend %s\n");
		json_array_foreach(json_object_get(v, "backends_changed"), j, b) {
			printf("      ~ backend %s\n", s_get(b, "address"));
			settings(json_object_get(b, "settings"), "          ");
		}
	}
}

static void t_apply(const struct parse_result *p, json_t *r)
{
	print_warnings(r);
	if (p->dry_run)
		printf("dry run, nothing changed; applying would make these "
		       "changes:\n");
	else
		printf("applied:\n");
	print_diff(json_object_get(r, "diff"));
	if (json_is_true(json_object_get(r, "saved")))
		printf("saved to xlbd's config file\n");
}

static void t_config(json_t *r)
{
	json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

/* ---- stats ---- */

static void t_stats(json_t *s, bool first, long watch)
{
	json_t *rates = json_object_get(s, "rates"), *g, *v, *b, *rv, *rb;
	bool tty = isatty(STDOUT_FILENO);
	struct table t;
	const char *k;
	time_t now = time(NULL);
	char when[64];
	size_t i, j;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
	if (watch) {
		if (tty)
			printf("\033[H\033[2J");
		else if (!first)
			printf("\n");
		printf("xlb stats every %lds, %s (Ctrl-C to stop)%s\n\n", watch,
		       when, json_is_object(rates) ? "" :
				 "; rates from the next sample");
	}
	if (json_is_object(rates))
		printf("rates over %.1f s\n\n",
		       (double)i_get(rates, "interval_ms") / 1000);

	g = json_object_get(s, "global");
	tbl_init(&t, "", 3);
	tbl_row(&t, "GLOBAL", "TOTAL", "PER-SEC");
	json_object_foreach(g, k, v)
		tbl_row(&t, k, s_get(g, k),
			fmt_rate(json_object_get(rates, "global"), k));
	tbl_print(&t);

	json_array_foreach(json_object_get(s, "vips"), i, v) {
		unsigned long long total = (unsigned long long)i_get(v, "packets");
		const char *name = json_string_value(json_object_get(v, "vip"));

		rv = find_by(json_object_get(rates, "vips"), "vip", name);
		printf("\nvip %s\n", name ? name : "?");
		tbl_init(&t, "  ", 4);
		tbl_row(&t, "", "TOTAL", "PER-SEC", "");
		tbl_row(&t, "packets", s_get(v, "packets"),
			fmt_rate(rv, "packets_per_s"), "");
		tbl_row(&t, "bytes", s_get(v, "bytes"),
			fmt_rate(rv, "bytes_per_s"), fmt_bits(rv, "bytes_per_s"));
		tbl_row(&t, "new flows (SYN)", s_get(v, "new_flows_syn"),
			fmt_rate(rv, "new_flows_syn_per_s"), "");
		tbl_row(&t, "new flows (other)", s_get(v, "new_flows_nonsyn"),
			fmt_rate(rv, "new_flows_nonsyn_per_s"),
			"conntrack misses without SYN");
		tbl_row(&t, "dropped", s_get(v, "dropped"),
			fmt_rate(rv, "dropped_per_s"), "");
		tbl_print(&t);
		if (!json_array_size(json_object_get(v, "backends")))
			continue;
		printf("\n");
		tbl_init(&t, "  ", 6);
		tbl_row(&t, "BACKEND", "PACKETS", "SHARE", "PKT/S", "BYTES",
			"RATE");
		json_array_foreach(json_object_get(v, "backends"), j, b) {
			char share[32];

			rb = find_by(json_object_get(rv, "backends"), "address",
				     json_string_value(json_object_get(b, "address")));
			if (total)
				snprintf(share, sizeof(share), "%.1f%%",
					 100.0 * (double)i_get(b, "packets") /
						 (double)total);
			else
				snprintf(share, sizeof(share), "-");
			tbl_row(&t, s_get(b, "address"), s_get(b, "packets"),
				share, fmt_rate(rb, "packets_per_s"),
				s_get(b, "bytes"), fmt_bits(rb, "bytes_per_s"));
		}
		tbl_print(&t);
	}
	fflush(stdout);
}

/* ---- health ---- */

static void t_health(json_t *r)
{
	struct table t;
	json_t *v, *b;
	size_t i, j;

	if (!json_array_size(r)) {
		printf("no VIPs\n");
		return;
	}
	json_array_foreach(r, i, v) {
		printf("%svip %s%s\n", i ? "\n" : "", s_get(v, "vip"),
		       json_is_true(json_object_get(v, "degraded")) ?
			       "  DEGRADED (failing open: no enabled backend "
			       "is up)" :
			       "");
		if (!json_array_size(json_object_get(v, "backends"))) {
			printf("  no backends\n");
			continue;
		}
		tbl_init(&t, "  ", 10);
		tbl_row(&t, "ADDRESS", "STATE", "HEALTH", "CHECK", "PORT",
			"LAST-RESULT", "LATENCY-MS", "RISE", "FALL",
			"LAST-CHANGE");
		json_array_foreach(json_object_get(v, "backends"), j, b)
			tbl_row(&t, s_get(b, "address"), s_get(b, "state"),
				s_get(b, "health"), s_get(b, "check"),
				s_get(b, "port"), s_get(b, "last_result"),
				s_get(b, "latency_ms"), s_get(b, "rise"),
				s_get(b, "fall"), fmt_ago(b, "last_change_ms"));
		tbl_print(&t);
	}
}

/* ---- explain ---- */

static void t_explain(json_t *r)
{
	json_t *rec = json_object_get(r, "recorded");
	const char *be = s_get(r, "backend");
	struct table t;
	char slot[96], recorded[160];

	snprintf(slot, sizeof(slot), "%s -> %s", s_get(r, "slot"),
		 s_get(r, "table_backend"));
	if (json_is_true(rec))
		snprintf(recorded, sizeof(recorded), "%s (%s)",
			 s_get(r, "recorded_backend"),
			 json_is_true(json_object_get(r, "recorded_usable")) ?
				 "usable" :
				 "can no longer serve it: disabled, down or "
				 "removed");
	else
		snprintf(recorded, sizeof(recorded),
			 "no (the flow is not in the connection table)");
	tbl_init(&t, "", 2);
	tbl_row(&t, "vip", s_get(r, "vip"));
	tbl_row(&t, "client", s_get(r, "client"));
	tbl_row(&t, "flow hash", s_get(r, "hash"));
	tbl_row(&t, "maglev slot", slot);
	tbl_row(&t, "recorded", recorded);
	tbl_print(&t);
	printf("\n");
	if (json_is_null(json_object_get(r, "backend"))) {
		printf("=> no backend: the VIP has none that can take the "
		       "flow; its packets are dropped\n");
		return;
	}
	printf("=> the flow's next packet goes to %s (from the %s)\n", be,
	       s_get(r, "reason"));
	printf("   %s: state %s, health %s, weight %s; %s\n", be,
	       s_get(r, "state"), s_get(r, "health"), s_get(r, "weight"),
	       json_is_true(json_object_get(r, "takes_new_flows")) ?
		       "takes new flows" :
		       "takes no new flows now");
}

/* ---- errors ---- */

static void t_error(const char *msg, json_t *errors)
{
	json_t *e;
	size_t i;

	if (json_array_size(errors) > 1) {
		json_array_foreach(errors, i, e)
			fprintf(stderr, "xlbctl: %s\n", json_string_value(e));
		return;
	}
	fprintf(stderr, "xlbctl: %s\n", msg);
}

void print_warnings(json_t *result)
{
	json_t *w;
	size_t i;

	json_array_foreach(json_object_get(result, "warnings"), i, w)
		fprintf(stderr, "xlbctl: warning: %s\n", json_string_value(w));
}

const struct output output_text = {
	.status = t_status,
	.vip_list = t_vip_list,
	.vip_show = t_vip_show,
	.backend_list = t_backend_list,
	.done = t_done,
	.apply = t_apply,
	.config = t_config,
	.stats = t_stats,
	.health = t_health,
	.explain = t_explain,
	.error = t_error,
};
