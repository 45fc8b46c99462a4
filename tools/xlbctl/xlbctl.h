/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xlbctl.h - what xlbctl's files share: the parsed command line
 * (parser.c: the grammar as token tables), the output vtable (text in
 * output_text.c, JSON in output_json.c) and the exit codes.
 */
#ifndef XLBCTL_H
#define XLBCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* Exit codes (SPEC.md "xlbctl"). */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,     /* the daemon (or a bad input file) said no */
	EXIT_USAGE = 2,	      /* the command line itself is wrong */
	EXIT_UNREACHABLE = 3, /* no daemon on the socket */
};

enum xlbctl_cmd {
	CMD_NONE,
	CMD_STATUS,
	CMD_VIP_LIST,
	CMD_VIP_SHOW,
	CMD_VIP_ADD,
	CMD_VIP_DEL,
	CMD_BACKEND_LIST,
	CMD_BACKEND_ADD,
	CMD_BACKEND_DEL,
	CMD_BACKEND_SET,
	CMD_BACKEND_REPLACE,
	CMD_APPLY,
	CMD_CONFIG_DUMP,
	CMD_CONFIG_SAVE,
	CMD_STATS,
	CMD_HEALTH,
	CMD_EXPLAIN,
};

/* The command line, parsed and checked (every value in range). */
struct parse_result {
	enum xlbctl_cmd cmd;
	const char *name;    /* "backend set": also the protocol's cmd */
	const char *socket;  /* -s */
	bool json;	     /* --json */
	const char *vip;     /* VIP as typed (valid) */
	const char *addr;    /* backend ADDR (valid) */
	const char *file;    /* FILE or "-" */
	const char *client;  /* explain CLIENT (valid) */
	long weight;
	bool has_weight;
	const char *state;
	long table_size;
	bool has_table_size;
	const char *hash;
	bool dry_run, save;
	long watch;	     /* 0 = no --watch */
};

/* Parse argv.  Returns -1 after printing help (exit 0) or a usage error
 * (exit *code = 2); 0 when res holds a command to run. */
int parse_args(int argc, char **argv, struct parse_result *res, int *code);

/* Output: one implementation per format; --json swaps the pointer. */
struct output {
	void (*status)(json_t *r);
	void (*vip_list)(json_t *r);
	void (*vip_show)(json_t *r);
	void (*backend_list)(json_t *r);
	/* vip add/del, backend add/del/set/replace, config save */
	void (*done)(const struct parse_result *p, json_t *r);
	void (*apply)(const struct parse_result *p, json_t *r);
	void (*config)(json_t *r);
	/* sample with "rates" added (null before there are two samples);
	 * first: the first sample printed by this run; watch: seconds or 0 */
	void (*stats)(json_t *sample, bool first, long watch);
	void (*health)(json_t *r);
	void (*explain)(json_t *r);
	/* errors: every message when the daemon gave several (or NULL) */
	void (*error)(const char *msg, json_t *errors);
};

extern const struct output output_text;
extern const struct output output_json;

/* Warnings of a mutation's result, on stderr in both formats. */
void print_warnings(json_t *result);

#endif
