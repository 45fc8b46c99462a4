// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * output.c - status and check results, as aligned text or as JSON
 * (jansson: built as objects, printed once at the end).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "decap_tool.h"

/* Counters are grouped by the prefix of their names. */
static uint64_t group_sum(const uint64_t *c, const char *prefix)
{
	uint64_t s = 0;
	int k;

	for (k = 0; k < DECAP_C__MAX; k++)
		if (!strncmp(dt_counter_names[k], prefix, strlen(prefix)))
			s += c[k];
	return s;
}

/* ---- text ---- */

static void text_group(const uint64_t *c, const char *title,
		       const char *prefix)
{
	size_t pl = strlen(prefix);
	const char *sep = "";
	int k;

	printf("  %-13s %llu (", title,
	       (unsigned long long)group_sum(c, prefix));
	for (k = 0; k < DECAP_C__MAX; k++) {
		if (strncmp(dt_counter_names[k], prefix, pl))
			continue;
		printf("%s%s %llu", sep, dt_counter_names[k] + pl,
		       (unsigned long long)c[k]);
		sep = ", ";
	}
	printf(")\n");
}

static void text_status(const struct dt_status *st)
{
	char when[32] = "?", buf[INET6_ADDRSTRLEN];
	time_t t = st->cfg->attach_realtime;
	struct tm tm;
	size_t i;

	if (t && localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s: xlb-decap attached, %s, program id %u, since %s\n",
	       st->prog->ifname, dt_mode_name(st->prog->mode),
	       st->prog->prog_id, when);
	printf("  %-13s %zu%s", "VIPs:", st->vips->n,
	       st->cfg->flags & DECAP_CFG_F_LOCAL ?
		       " (the host's local addresses at attach)" : "");
	for (i = 0; i < st->vips->n; i++)
		printf("%s%s", i ? " " : ": ",
		       dt_addr_fmt(&st->vips->v[i], buf, sizeof(buf)));
	printf("\n");
	text_group(st->counters, "decapsulated:", "decap_");
	text_group(st->counters, "passed:", "pass_");
	text_group(st->counters, "dropped:", "drop_");
}

static void text_not_attached(const char *ifname)
{
	if (ifname)
		printf("%s: xlb-decap not attached\n", ifname);
	else
		printf("xlb-decap is not attached to any interface\n");
}

static void text_finding(const struct dt_finding *f)
{
	printf("%-4s  %-12s %s%s%s\n",
	       f->skipped ? "skip" : f->ok ? "ok" : "FAIL", f->check,
	       f->message, f->fix[0] ? "; fix: " : "", f->fix);
}

static void text_done(bool ok)
{
}

const struct dt_output dt_out_text = {
	.status = text_status,
	.not_attached = text_not_attached,
	.finding = text_finding,
	.done = text_done,
};

/* ---- JSON ---- */

static json_t *json_doc;

static json_t *json_list(const char *key)
{
	json_t *a;

	if (!json_doc)
		json_doc = json_object();
	a = json_object_get(json_doc, key);
	if (!a) {
		a = json_array();
		json_object_set_new(json_doc, key, a);
	}
	return a;
}

static void json_status(const struct dt_status *st)
{
	json_t *o = json_object(), *vips = json_array(), *c = json_object();
	char buf[INET6_ADDRSTRLEN];
	size_t i;
	int k;

	json_object_set_new(o, "interface", json_string(st->prog->ifname));
	json_object_set_new(o, "ifindex", json_integer(st->prog->ifindex));
	json_object_set_new(o, "attached", json_true());
	json_object_set_new(o, "mode",
			    json_string(dt_mode_name(st->prog->mode)));
	json_object_set_new(o, "prog_id", json_integer(st->prog->prog_id));
	json_object_set_new(o, "attached_at",
			    json_integer(st->cfg->attach_realtime));
	json_object_set_new(o, "vip_source",
			    json_string(st->cfg->flags & DECAP_CFG_F_LOCAL ?
						"local" : "configured"));
	for (i = 0; i < st->vips->n; i++)
		json_array_append_new(vips, json_string(dt_addr_fmt(
				&st->vips->v[i], buf, sizeof(buf))));
	json_object_set_new(o, "vips", vips);
	for (k = 0; k < DECAP_C__MAX; k++)
		json_object_set_new(c, dt_counter_names[k],
				    json_integer(st->counters[k]));
	json_object_set_new(o, "counters", c);
	json_object_set_new(o, "decapsulated",
			    json_integer(group_sum(st->counters, "decap_")));
	json_object_set_new(o, "passed",
			    json_integer(group_sum(st->counters, "pass_")));
	json_object_set_new(o, "dropped",
			    json_integer(group_sum(st->counters, "drop_")));
	json_array_append_new(json_list("interfaces"), o);
}

static void json_not_attached(const char *ifname)
{
	json_t *o;

	json_list("interfaces");
	if (!ifname)
		return;
	o = json_object();
	json_object_set_new(o, "interface", json_string(ifname));
	json_object_set_new(o, "attached", json_false());
	json_array_append_new(json_list("interfaces"), o);
}

static void json_finding(const struct dt_finding *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "check", json_string(f->check));
	json_object_set_new(o, "interface",
			    f->ifname ? json_string(f->ifname) : json_null());
	json_object_set_new(o, "status",
			    json_string(f->skipped ? "skip" :
					f->ok ? "ok" : "fail"));
	json_object_set_new(o, "message", json_string(f->message));
	json_object_set_new(o, "fix",
			    f->fix[0] ? json_string(f->fix) : json_null());
	json_array_append_new(json_list("findings"), o);
}

static void json_done(bool ok)
{
	if (!json_doc)
		json_doc = json_object();
	if (json_object_get(json_doc, "findings"))
		json_object_set_new(json_doc, "ok", json_boolean(ok));
	json_dumpf(json_doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(json_doc);
	json_doc = NULL;
}

const struct dt_output dt_out_json = {
	.status = json_status,
	.not_attached = json_not_attached,
	.finding = json_finding,
	.done = json_done,
};
