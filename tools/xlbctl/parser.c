// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * parser.c - xlbctl's command line as data.
 *
 * The words are token tables (t_main -> t_vip -> "add"), each leaf a
 * command definition listing its typed arguments (VIP, ADDR, FILE, CLIENT)
 * and options.  Usage lines, `--help` pages and the "what may follow"
 * hints are all generated from these tables, so they cannot drift from
 * what the parser accepts.  Every value is checked here: a bad one is a
 * usage error (exit 2) before anything is sent to xlbd.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "config.h"
#include "control.h"
#include "xlbctl.h"

enum arg_kind { A_VIP, A_ADDR, A_FILE, A_CLIENT, A_NUM, A_PRIME, A_CHOICE,
		A_FLAG };

enum opt_id { O_WEIGHT, O_STATE, O_TABLE_SIZE, O_HASH, O_DRY_RUN, O_SAVE,
	      O_WATCH };

struct opt_def {
	enum opt_id id;
	const char *name;
	enum arg_kind kind;
	const char *metavar;	   /* shown in usage; NULL for a flag */
	long min, max;		   /* A_NUM, A_PRIME */
	const char *const *choices; /* A_CHOICE */
	const char *what;	   /* names the value in errors */
	const char *help;
};

struct arg_def {
	enum arg_kind kind;
	const char *metavar;
	bool optional;
	const char *help;
};

struct cmd_def {
	enum xlbctl_cmd id;
	const char *name;
	const char *summary;
	struct arg_def args[2];
	const struct opt_def *opts[3];
	const char *desc;
};

enum token_type { T_END, T_KEYWORD, T_COMMAND };

struct token {
	enum token_type type;
	const char *word;
	const struct token *next; /* T_KEYWORD: the table that follows */
	const struct cmd_def *cmd; /* T_COMMAND */
	const char *help;	   /* T_KEYWORD */
};

/* ---- options ---- */

static const char *const hash_choices[] = { "5tuple", "src_ip", NULL };
static const char *const state_choices[] = { "enabled", "draining",
					     "disabled", NULL };

static const struct opt_def o_weight = {
	O_WEIGHT, "--weight", A_NUM, "W", 0, 65535, NULL, "backend weight",
	"weight, 0..65535 (0: no new flows); add defaults to 100"
};
static const struct opt_def o_state = {
	O_STATE, "--state", A_CHOICE, "enabled|draining|disabled", 0, 0,
	state_choices, "backend state",
	"enabled: takes traffic; draining: established flows only; "
	"disabled: no traffic"
};
static const struct opt_def o_table_size = {
	O_TABLE_SIZE, "--table-size", A_PRIME, "N", 7, 1048573, NULL,
	"table size", "Maglev table size, a prime in 7..1048573 "
		      "(default 65537; at least 100 x backends is best)"
};
static const struct opt_def o_hash = {
	O_HASH, "--hash", A_CHOICE, "5tuple|src_ip", 0, 0, hash_choices,
	"hash", "what picks the backend: the 5-tuple (default) or the "
		"client address alone (affinity)"
};
static const struct opt_def o_dry_run = {
	O_DRY_RUN, "--dry-run", A_FLAG, NULL, 0, 0, NULL, NULL,
	"print what would change (VIPs, backends, settings); change nothing"
};
static const struct opt_def o_save = {
	O_SAVE, "--save", A_FLAG, NULL, 0, 0, NULL, NULL,
	"after applying, also write the config to xlbd's config file"
};
static const struct opt_def o_watch = {
	O_WATCH, "--watch", A_NUM, "SECONDS", 1, CTL_MAX_WATCH_S, NULL,
	"watch interval", "redraw every SECONDS until interrupted (with "
			  "--json: one JSON object per line per sample)"
};

/* ---- arguments ---- */

#define ARG_VIP                                                         \
	{ A_VIP, "VIP", false,                                          \
	  "ADDR:PORT/PROTO, e.g. 203.0.113.10:80/tcp or "               \
	  "[2001:db8::10]:443/udp" }
#define ARG_VIP_OPT                                                     \
	{ A_VIP, "VIP", true, "only this VIP (ADDR:PORT/PROTO); "       \
			      "default all" }
#define ARG_ADDR { A_ADDR, "ADDR", false, "the backend's IPv4 or IPv6 address" }

/* ---- commands ---- */

static const struct cmd_def c_status = {
	CMD_STATUS, "status", "daemon status: interface, mode, counts",
	{ { 0 } }, { NULL },
	"Shows the interface and XDP mode, the program id, uptime, the "
	"config file, and how many VIPs and backends are configured."
};
static const struct cmd_def c_vip_list = {
	CMD_VIP_LIST, "vip list", "list VIPs", { { 0 } }, { NULL },
	"One line per VIP: table size, hash, backends, backends up, and "
	"whether the VIP is degraded (failing open)."
};
static const struct cmd_def c_vip_show = {
	CMD_VIP_SHOW, "vip show", "show one VIP and its backends",
	{ ARG_VIP }, { NULL },
	"Shows the VIP's settings and health check, and each backend's "
	"weight, state, health and share of the live table."
};
static const struct cmd_def c_vip_add = {
	CMD_VIP_ADD, "vip add", "add a VIP (no backends yet)",
	{ ARG_VIP }, { &o_table_size, &o_hash },
	"Adds a VIP with no backends; add them with `backend add` or "
	"`backend replace`. The change is kept in memory (see `config save`)."
};
static const struct cmd_def c_vip_del = {
	CMD_VIP_DEL, "vip del", "delete a VIP and its backends",
	{ ARG_VIP }, { NULL },
	"Removes the VIP: its traffic passes to the kernel from then on."
};
static const struct cmd_def c_backend_list = {
	CMD_BACKEND_LIST, "backend list", "list a VIP's backends",
	{ ARG_VIP }, { NULL },
	"Each backend's weight, state (the operator's), health (measured), "
	"whether it takes new flows, and its slots in the live table."
};
static const struct cmd_def c_backend_add = {
	CMD_BACKEND_ADD, "backend add", "add a backend to a VIP",
	{ ARG_VIP, ARG_ADDR }, { &o_weight },
	"Adds a backend. With a health check it starts unchecked and takes "
	"new flows after its first successful check."
};
static const struct cmd_def c_backend_del = {
	CMD_BACKEND_DEL, "backend del", "remove a backend from a VIP",
	{ ARG_VIP, ARG_ADDR }, { NULL },
	"Removes a backend: its flows are re-hashed to the others. To let "
	"flows finish first, set it draining."
};
static const struct cmd_def c_backend_set = {
	CMD_BACKEND_SET, "backend set", "change a backend's weight or state",
	{ ARG_VIP, ARG_ADDR }, { &o_weight, &o_state },
	"Changes the weight and/or state of a backend (at least one)."
};
static const struct cmd_def c_backend_replace = {
	CMD_BACKEND_REPLACE, "backend replace",
	"replace a VIP's whole backend list (JSON)",
	{ ARG_VIP, { A_FILE, "FILE|-", false,
		     "a JSON array of backend objects or {\"backends\": "
		     "[...]}; - reads standard input" } },
	{ NULL },
	"Replaces the VIP's backend list in one atomic change, e.g. "
	"`generate-backends | xlbctl backend replace 203.0.113.10:80/tcp -`."
};
static const struct cmd_def c_apply = {
	CMD_APPLY, "apply", "apply a whole config document",
	{ { A_FILE, "FILE|-", false,
	    "the config (JSON, as xlbd -c reads it); - reads standard "
	    "input" } },
	{ &o_dry_run, &o_save },
	"Validates the whole document, then applies it atomically (all or "
	"nothing), and prints what changed."
};
static const struct cmd_def c_config_dump = {
	CMD_CONFIG_DUMP, "config dump", "print the running config as JSON",
	{ { 0 } }, { NULL },
	"Prints the running config, every default included; the output is "
	"valid input to `apply` and to xlbd -c."
};
static const struct cmd_def c_config_save = {
	CMD_CONFIG_SAVE, "config save",
	"write the running config to xlbd's config file",
	{ { 0 } }, { NULL },
	"Writes the running config to the file xlbd was started with "
	"(atomically, by rename), so SIGHUP and restarts keep the changes."
};
static const struct cmd_def c_stats = {
	CMD_STATS, "stats", "packets, bytes, new flows, drops and rates",
	{ ARG_VIP_OPT }, { &o_watch },
	"Per VIP: packets, bytes, new flows, drops, per-backend split; "
	"global: passed, dropped by reason, ICMP. Rates are per second from "
	"two samples one second apart, or between --watch samples."
};
static const struct cmd_def c_health = {
	CMD_HEALTH, "health", "backend health checks",
	{ ARG_VIP_OPT }, { NULL },
	"Each backend's state and health, its check, last result, latency "
	"and last change; VIPs failing open are marked degraded."
};
static const struct cmd_def c_explain = {
	CMD_EXPLAIN, "explain", "which backend a client's flow goes to, and why",
	{ ARG_VIP, { A_CLIENT, "CLIENT", false,
		     "ADDR:PORT or [V6ADDR]:PORT of the client (the port may "
		     "be left out for src_ip VIPs)" } },
	{ NULL },
	"Answers from the data plane's own table and hash: the recorded "
	"backend if the flow is in the connection table, else the Maglev "
	"table's choice (with its slot), and whether that backend takes new "
	"flows now."
};

/* ---- token tables ---- */

static const struct token t_vip[] = {
	{ T_COMMAND, "list", NULL, &c_vip_list },
	{ T_COMMAND, "show", NULL, &c_vip_show },
	{ T_COMMAND, "add", NULL, &c_vip_add },
	{ T_COMMAND, "del", NULL, &c_vip_del },
	{ T_END }
};

static const struct token t_backend[] = {
	{ T_COMMAND, "list", NULL, &c_backend_list },
	{ T_COMMAND, "add", NULL, &c_backend_add },
	{ T_COMMAND, "del", NULL, &c_backend_del },
	{ T_COMMAND, "set", NULL, &c_backend_set },
	{ T_COMMAND, "replace", NULL, &c_backend_replace },
	{ T_END }
};

static const struct token t_config[] = {
	{ T_COMMAND, "dump", NULL, &c_config_dump },
	{ T_COMMAND, "save", NULL, &c_config_save },
	{ T_END }
};

static const struct token t_main[] = {
	{ T_COMMAND, "status", NULL, &c_status },
	{ T_KEYWORD, "vip", t_vip, NULL, "manage VIPs" },
	{ T_KEYWORD, "backend", t_backend, NULL, "manage a VIP's backends" },
	{ T_COMMAND, "apply", NULL, &c_apply },
	{ T_KEYWORD, "config", t_config, NULL, "dump or save the running config" },
	{ T_COMMAND, "stats", NULL, &c_stats },
	{ T_COMMAND, "health", NULL, &c_health },
	{ T_COMMAND, "explain", NULL, &c_explain },
	{ T_END }
};

/* ---- errors and help ---- */

static bool want_json;

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "xlbctl: %s\n", msg);
	if (want_json) {
		json_t *o = json_pack("{s:s}", "error", msg);

		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(o);
	}
}

static void opt_usage(const struct opt_def *o, char *buf, size_t len)
{
	if (o->metavar)
		snprintf(buf, len, "[%s %s]", o->name, o->metavar);
	else
		snprintf(buf, len, "[%s]", o->name);
}

static void cmd_synopsis(FILE *f, const struct cmd_def *c)
{
	char buf[128];

	fprintf(f, "%s", c->name);
	for (int i = 0; i < 2 && c->args[i].metavar; i++)
		fprintf(f, c->args[i].optional ? " [%s]" : " %s",
			c->args[i].metavar);
	for (int i = 0; i < 3 && c->opts[i]; i++) {
		opt_usage(c->opts[i], buf, sizeof(buf));
		fprintf(f, " %s", buf);
	}
}

/* Every command under a table, one synopsis line each. */
static void table_synopsis(FILE *f, const struct token *t, bool summary)
{
	for (; t->type != T_END; t++) {
		if (t->type == T_KEYWORD) {
			table_synopsis(f, t->next, summary);
			continue;
		}
		fprintf(f, "  ");
		cmd_synopsis(f, t->cmd);
		fputc('\n', f);
		if (summary)
			fprintf(f, "        %s\n", t->cmd->summary);
	}
}

static void table_words(const struct token *t, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; t->type != T_END && n < len; t++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
				      t->word);
}

static void global_help(void)
{
	printf("usage: xlbctl [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
	       "Manage a running xlbd through its control socket.\n\n"
	       "commands:\n");
	table_synopsis(stdout, t_main, true);
	printf("\nglobal options (anywhere on the line):\n"
	       "  -s, --socket SOCKET  xlbd's control socket (default %s)\n"
	       "  --json               machine-readable JSON output (errors "
	       "too, as {\"error\": ...})\n"
	       "  -h, --help           this help; after a command, that "
	       "command's help\n\n"
	       "VIP is ADDR:PORT/PROTO: 203.0.113.10:80/tcp, "
	       "[2001:db8::10]:443/tcp.\n\n"
	       "exit codes: 0 success; 1 refused by xlbd (or an unreadable or "
	       "invalid JSON file);\n"
	       "            2 usage error; 3 cannot reach xlbd.\n"
	       "See xlbctl(8) and docs/control-protocol.md.\n",
	       CTL_DEFAULT_PATH);
}

static void keyword_help(const struct token *kw)
{
	printf("usage: xlbctl [-s SOCKET] [--json] %s SUBCOMMAND ...\n\n%s:\n",
	       kw->word, kw->help);
	for (const struct token *t = kw->next; t->type != T_END; t++) {
		printf("  ");
		cmd_synopsis(stdout, t->cmd);
		printf("\n        %s\n", t->cmd->summary);
	}
	printf("\n`xlbctl %s SUBCOMMAND --help` for details.\n", kw->word);
}

static void cmd_help(const struct cmd_def *c)
{
	printf("usage: xlbctl [-s SOCKET] [--json] ");
	cmd_synopsis(stdout, c);
	printf("\n\n%s: %s.\n%s\n", c->name, c->summary, c->desc);
	if (c->args[0].metavar) {
		printf("\narguments:\n");
		for (int i = 0; i < 2 && c->args[i].metavar; i++)
			printf("  %-16s %s\n", c->args[i].metavar,
			       c->args[i].help);
	}
	if (c->opts[0]) {
		printf("\noptions:\n");
		for (int i = 0; i < 3 && c->opts[i]; i++) {
			char buf[64];

			snprintf(buf, sizeof(buf), "%s%s%s", c->opts[i]->name,
				 c->opts[i]->metavar ? " " : "",
				 c->opts[i]->metavar ? c->opts[i]->metavar : "");
			if (strlen(buf) > 16)
				printf("  %s\n  %-16s %s\n", buf, "",
				       c->opts[i]->help);
			else
				printf("  %-16s %s\n", buf, c->opts[i]->help);
		}
	}
	printf("\nglobal options: -s SOCKET, --json, --help (see xlbctl "
	       "--help)\n");
}

/* ---- values ---- */

static int parse_num(const char *s, long *out)
{
	char *end;
	long v;

	if (!*s || strlen(s) > 10)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int check_arg(const struct cmd_def *c, const struct arg_def *a,
		     const char *v)
{
	struct xlb_addr addr;
	uint16_t port;
	uint8_t proto;
	int cport;

	switch (a->kind) {
	case A_VIP:
		if (cfg_vip_parse(v, &addr, &port, &proto)) {
			usage_error("vip %s: invalid, expected ADDR:PORT/PROTO "
				    "(203.0.113.10:80/tcp, "
				    "[2001:db8::10]:443/udp)", v);
			return -1;
		}
		return 0;
	case A_ADDR:
		if (addr_parse(v, &addr)) {
			usage_error("backend address %s: not an IPv4 or IPv6 "
				    "address", v);
			return -1;
		}
		return 0;
	case A_CLIENT:
		if (ctl_parse_client(v, &addr, &cport)) {
			usage_error("client %s: expected ADDR:PORT, "
				    "[V6ADDR]:PORT or ADDR", v);
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

static int set_opt(struct parse_result *r, const struct cmd_def *c,
		   const struct opt_def *o, const char *v)
{
	long n = 0;

	switch (o->kind) {
	case A_NUM:
	case A_PRIME:
		if (parse_num(v, &n)) {
			usage_error("%s %s: not a non-negative integer", o->what,
				    v);
			return -1;
		}
		if (o->kind == A_PRIME &&
		    (n < o->min || n > o->max || !cfg_is_prime((uint32_t)n))) {
			usage_error("%s %s: must be a prime in %ld..%ld "
				    "(e.g. 65537)", o->what, v, o->min, o->max);
			return -1;
		}
		if (n < o->min || n > o->max) {
			usage_error("%s %s: must be %ld..%ld", o->what, v,
				    o->min, o->max);
			return -1;
		}
		break;
	case A_CHOICE: {
		const char *const *ch = o->choices;

		while (*ch && strcmp(*ch, v))
			ch++;
		if (!*ch) {
			usage_error("%s %s: must be %s", o->what, v, o->metavar);
			return -1;
		}
		break;
	}
	default:
		break;
	}
	switch (o->id) {
	case O_WEIGHT:
		r->weight = n;
		r->has_weight = true;
		break;
	case O_STATE:
		r->state = v;
		break;
	case O_TABLE_SIZE:
		r->table_size = n;
		r->has_table_size = true;
		break;
	case O_HASH:
		r->hash = v;
		break;
	case O_DRY_RUN:
		r->dry_run = true;
		break;
	case O_SAVE:
		r->save = true;
		break;
	case O_WATCH:
		r->watch = n;
		break;
	}
	return 0;
}

static void set_arg(struct parse_result *r, const struct arg_def *a,
		    const char *v)
{
	switch (a->kind) {
	case A_VIP:
		r->vip = v;
		break;
	case A_ADDR:
		r->addr = v;
		break;
	case A_FILE:
		r->file = v;
		break;
	case A_CLIENT:
		r->client = v;
		break;
	default:
		break;
	}
}

static bool is_option(const char *s)
{
	return s[0] == '-' && s[1] != '\0'; /* "-" alone is stdin */
}

/* ---- the parser ---- */

int parse_args(int argc, char **argv, struct parse_result *r, int *code)
{
	const struct token *table = t_main, *kw = NULL;
	const struct cmd_def *cmd = NULL;
	bool help = false, opts_done = false;
	int nargs = 0;
	char words[160];

	memset(r, 0, sizeof(*r));
	r->socket = CTL_DEFAULT_PATH;
	*code = EXIT_USAGE;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			break;
		else if (!strcmp(argv[i], "--json"))
			want_json = r->json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			help = true; /* help wins: values are not checked */

	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *val = NULL, *eq;
		const struct opt_def *o = NULL;

		if (opts_done || !is_option(a))
			goto word;
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!strcmp(a, "--json"))
			continue;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = true;
			continue;
		}
		eq = strncmp(a, "--", 2) ? NULL : strchr(a, '=');
		if (eq)
			*eq = '\0', val = eq + 1;
		if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
			if (!val && (val = argv[i + 1]) != NULL)
				i++;
			if (!val || !*val) {
				usage_error("%s: needs a socket path", a);
				return -1;
			}
			r->socket = val;
			continue;
		}
		for (int k = 0; cmd && k < 3 && cmd->opts[k]; k++)
			if (!strcmp(a, cmd->opts[k]->name))
				o = cmd->opts[k];
		if (!o) {
			char buf[160] = "", one[64];
			size_t n = 0;

			if (help)
				continue;
			for (int k = 0; cmd && k < 3 && cmd->opts[k]; k++) {
				opt_usage(cmd->opts[k], one, sizeof(one));
				n += (size_t)snprintf(buf + n, sizeof(buf) - n,
						      " %s", one);
			}
			if (cmd)
				usage_error("%s: unknown option %s; %s%s", cmd->name,
					    a, n ? "valid:" : "it takes none",
					    buf);
			else
				usage_error("unknown option %s (global: -s SOCKET, "
					    "--json, --help)", a);
			return -1;
		}
		if (o->kind != A_FLAG) {
			if (!val && i + 1 < argc)
				val = argv[++i];
			if (!val) {
				usage_error("%s: %s needs a value (%s)", cmd->name,
					    o->name, o->metavar);
				return -1;
			}
		} else if (val) {
			usage_error("%s: %s takes no value", cmd->name, o->name);
			return -1;
		}
		if (!help && set_opt(r, cmd, o, val))
			return -1;
		continue;
word:
		if (!cmd) {
			const struct token *t = table;

			while (t->type != T_END && strcmp(t->word, a))
				t++;
			if (t->type == T_END) {
				table_words(table, words, sizeof(words));
				if (kw)
					usage_error("%s: unknown subcommand \"%s\"; "
						    "one of: %s", kw->word, a,
						    words);
				else
					usage_error("unknown command \"%s\"; one "
						    "of: %s", a, words);
				return -1;
			}
			if (t->type == T_KEYWORD) {
				kw = t;
				table = t->next;
			} else {
				cmd = t->cmd;
			}
			continue;
		}
		if (nargs >= 2 || !cmd->args[nargs].metavar) {
			if (help)
				continue;
			usage_error("%s: unexpected argument \"%s\"", cmd->name,
				    a);
			return -1;
		}
		if (!help && check_arg(cmd, &cmd->args[nargs], a))
			return -1;
		set_arg(r, &cmd->args[nargs], a);
		nargs++;
	}

	if (help) {
		if (cmd)
			cmd_help(cmd);
		else if (kw)
			keyword_help(kw);
		else
			global_help();
		*code = EXIT_OK;
		return -1;
	}
	if (!cmd) {
		if (kw) {
			table_words(table, words, sizeof(words));
			usage_error("%s: missing subcommand; one of: %s",
				    kw->word, words);
		} else {
			usage_error("missing command; `xlbctl --help` lists "
				    "them");
		}
		return -1;
	}
	if (nargs < 2 && cmd->args[nargs].metavar &&
	    !cmd->args[nargs].optional) {
		usage_error("%s: missing %s", cmd->name,
			    cmd->args[nargs].metavar);
		fprintf(stderr, "usage: xlbctl ");
		cmd_synopsis(stderr, cmd);
		fputc('\n', stderr);
		return -1;
	}
	if (cmd->id == CMD_BACKEND_SET && !r->has_weight && !r->state) {
		usage_error("backend set: nothing to set; give --weight W "
			    "and/or --state STATE");
		return -1;
	}
	if (r->dry_run && r->save) {
		usage_error("apply: --dry-run and --save exclude each other");
		return -1;
	}
	r->cmd = cmd->id;
	r->name = cmd->name;
	*code = EXIT_OK;
	return 0;
}
