// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * fuzz_config.c - libFuzzer target for the configuration parser.
 *
 * Every input goes through cfg_parse, the backend-list parser and the VIP
 * text parser.  A document that parses must dump to JSON that parses again
 * to the same dump, and must not differ from itself: a broken round trip
 * aborts, so the fuzzer reports it like a crash.
 */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_round_trip(const struct xlb_config *c)
{
	struct cfg_msgs m = {0};
	struct xlb_config *c2;
	char *s1, *s2;
	json_t *j, *d;

	j = cfg_dump(c);
	s1 = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s1)
		abort();
	c2 = cfg_parse(s1, strlen(s1), &m);
	if (!c2) {
		fprintf(stderr, "dump does not parse: %s\n%s\n",
			m.n_err ? m.err[0] : "?", s1);
		abort();
	}
	j = cfg_dump(c2);
	s2 = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s2 || strcmp(s1, s2)) {
		fprintf(stderr, "round trip differs:\n%s\n%s\n", s1, s2);
		abort();
	}
	d = cfg_diff(c, c2);
	if (!json_is_false(json_object_get(d, "changed")))
		abort();
	json_decref(d);
	if (cfg_check_immutable(c, c2, &m))
		abort();
	free(s1);
	free(s2);
	cfg_free(c2);
	cfg_msgs_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_msgs m = {0};
	struct xlb_config *c;
	struct xlb_addr a;
	uint16_t port;
	uint8_t proto;
	json_t *arr;
	char *s;
	int plen;

	c = cfg_parse((const char *)data, size, &m);
	if (c)
		check_round_trip(c);
	cfg_free(c);
	cfg_msgs_free(&m);

	arr = cfg_parse_backend_list((const char *)data, size, &m);
	json_decref(arr);
	cfg_msgs_free(&m);

	if (size < 256) {
		s = malloc(size + 1);
		memcpy(s, data, size);
		s[size] = '\0';
		cfg_vip_parse(s, &a, &port, &proto);
		addr_parse_prefix(s, &a, &plen);
		free(s);
	}
	return 0;
}
