// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * output_json.c - xlbctl --json: the daemon's result object, one compact
 * JSON document per line on stdout (a `stats --watch` sample per line);
 * errors as {"error": "..."} on stdout too (and on stderr).
 */
#include <stdio.h>
#include "xlbctl.h"

static void j_print(json_t *r)
{
	json_dumpf(r ? r : json_null(), stdout,
		   JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
}

static void j_done(const struct parse_result *p, json_t *r)
{
	print_warnings(r);
	j_print(r);
}

static void j_stats(json_t *sample, bool first, long watch)
{
	j_print(sample);
}

static void j_error(const char *msg, json_t *errors)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	json_t *e;
	size_t i;

	if (json_array_size(errors) > 1) {
		json_object_set(o, "errors", errors);
		json_array_foreach(errors, i, e)
			fprintf(stderr, "xlbctl: %s\n", json_string_value(e));
	} else {
		fprintf(stderr, "xlbctl: %s\n", msg);
	}
	j_print(o);
	json_decref(o);
}

const struct output output_json = {
	.status = j_print,
	.vip_list = j_print,
	.vip_show = j_print,
	.backend_list = j_print,
	.done = j_done,
	.apply = j_done,
	.config = j_print,
	.stats = j_stats,
	.health = j_print,
	.explain = j_print,
	.error = j_error,
};
