// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_health_sm.c - the health-check state machine without sockets.
 *
 * hc_sync() arms the first checks on an event loop that is never run, so
 * no socket is ever opened; results are fed with hc__record_result().
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "check.h"
#include "health.h"
#include "log.h"

#define MAX_BE 8

struct tcfg {
	struct xlb_config cfg;
	struct xlb_vip_conf vip;
	struct xlb_backend_conf be[MAX_BE];
};

struct note {
	const struct xlb_backend_conf *be;
	enum hc_health h;
};

static struct ev_loop *loop;
static struct note notes[64];
static int n_notes;

static void on_change(void *ctx, const struct xlb_vip_conf *vip,
		      const struct xlb_backend_conf *be, enum hc_health h)
{
	CU_ASSERT_PTR_NOT_NULL(vip);
	if (n_notes < 64)
		notes[n_notes++] = (struct note){ be, h };
}

static void set_addr(struct xlb_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->bytes) == 1) {
		a->family = AF_INET;
	} else {
		CU_ASSERT_FATAL(inet_pton(AF_INET6, s, a->bytes) == 1);
		a->family = AF_INET6;
	}
}

static struct xlb_hc_conf tcp_hc(uint32_t rise, uint32_t fall)
{
	return (struct xlb_hc_conf){ .type = XLB_HC_TCP,
				     .interval_ms = 1000,
				     .timeout_ms = 500,
				     .expect_status = 200,
				     .rise = rise,
				     .fall = fall };
}

/* One VIP 203.0.113.10:80/tcp with n backends 198.51.100.11... */
static void tcfg_init(struct tcfg *t, int n, struct xlb_hc_conf hc)
{
	char a[32];

	memset(t, 0, sizeof(*t));
	set_addr(&t->vip.addr, "203.0.113.10");
	t->vip.port = 80;
	t->vip.proto = IPPROTO_TCP;
	t->vip.table_size = 65537;
	t->vip.hc = hc;
	for (int i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", 11 + i);
		set_addr(&t->be[i].addr, a);
		t->be[i].weight = 100;
		t->be[i].hc = hc;
	}
	t->vip.backends = t->be;
	t->vip.n_backends = n;
	t->cfg.vips = &t->vip;
	t->cfg.n_vips = 1;
}

static void start(void)
{
	n_notes = 0;
	CU_ASSERT_EQUAL_FATAL(hc_init(loop, on_change, NULL), 0);
}

static const struct hc_status *st(struct tcfg *t, int i)
{
	const struct hc_status *s = hc_get(&t->vip, &t->be[i]);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void feed(struct tcfg *t, int i, bool ok)
{
	CU_ASSERT_EQUAL(hc__record_result(&t->vip, &t->be[i], ok,
					  ok ? "ok" : "connect refused"),
			0);
}

#define ASSERT_HEALTH(t, i, want)                                            \
	do {                                                                 \
		enum hc_health got_ = st(t, i)->health;                      \
		if (got_ != (want))                                          \
			fprintf(stderr, "\n  backend %d health %s, expected %s\n", \
				i, hc_health_name(got_),                     \
				hc_health_name(want));                       \
		CU_ASSERT_EQUAL(got_, want);                                 \
	} while (0)

static void test_first_success_up_at_once(void)
{
	struct tcfg t;

	tcfg_init(&t, 1, tcp_hc(3, 3));
	start();
	CU_ASSERT_EQUAL(hc_sync(&t.cfg), 0);
	ASSERT_HEALTH(&t, 0, HC_UNCHECKED);
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done, 0);
	feed(&t, 0, true);
	ASSERT_HEALTH(&t, 0, HC_UP);
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done, 1);
	CU_ASSERT_EQUAL(n_notes, 1);
	CU_ASSERT_EQUAL(notes[0].h, HC_UP);
	CU_ASSERT_PTR_EQUAL(notes[0].be, &t.be[0]);
	CU_ASSERT_STRING_EQUAL(st(&t, 0)->last_result, "ok");
	CU_ASSERT(st(&t, 0)->last_change_ms > 0);
	hc_shutdown();
}

static void test_first_failure_down_then_rise(void)
{
	struct tcfg t;

	tcfg_init(&t, 1, tcp_hc(2, 3));
	start();
	hc_sync(&t.cfg);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	CU_ASSERT_EQUAL(n_notes, 1);
	CU_ASSERT_STRING_EQUAL(st(&t, 0)->last_result, "connect refused");
	CU_ASSERT_EQUAL(st(&t, 0)->last_ok, 0);
	feed(&t, 0, true);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	CU_ASSERT_EQUAL(st(&t, 0)->rise_cnt, 1);
	feed(&t, 0, true);
	ASSERT_HEALTH(&t, 0, HC_UP);
	CU_ASSERT_EQUAL(st(&t, 0)->rise_cnt, 0);
	CU_ASSERT_EQUAL(n_notes, 2);
	CU_ASSERT_EQUAL(notes[1].h, HC_UP);
	hc_shutdown();
}

static void test_fall_counting(void)
{
	struct tcfg t;

	tcfg_init(&t, 1, tcp_hc(2, 3));
	start();
	hc_sync(&t.cfg);
	feed(&t, 0, true);
	feed(&t, 0, false);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_UP);
	CU_ASSERT_EQUAL(st(&t, 0)->fall_cnt, 2);
	feed(&t, 0, true); /* a success resets the count */
	CU_ASSERT_EQUAL(st(&t, 0)->fall_cnt, 0);
	feed(&t, 0, false);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_UP);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	CU_ASSERT_EQUAL(st(&t, 0)->fall_cnt, 0);
	CU_ASSERT_EQUAL(n_notes, 2); /* up, down: each once */
	feed(&t, 0, false);		 /* down stays down, no new note */
	CU_ASSERT_EQUAL(n_notes, 2);
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done, 8);
	hc_shutdown();
}

static void test_flapping(void)
{
	struct tcfg t;

	tcfg_init(&t, 2, tcp_hc(2, 2));
	start();
	hc_sync(&t.cfg);
	feed(&t, 0, true);  /* 0: up */
	feed(&t, 1, false); /* 1: down */
	n_notes = 0;
	for (int i = 0; i < 20; i++) {
		feed(&t, 0, i & 1);
		feed(&t, 1, !(i & 1));
	}
	ASSERT_HEALTH(&t, 0, HC_UP);
	ASSERT_HEALTH(&t, 1, HC_DOWN);
	CU_ASSERT_EQUAL(n_notes, 0);
	/* two in a row do move it */
	feed(&t, 0, false);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	feed(&t, 1, true);
	feed(&t, 1, true);
	ASSERT_HEALTH(&t, 1, HC_UP);
	CU_ASSERT_EQUAL(n_notes, 2);
	hc_shutdown();
}

static void test_rise_fall_one(void)
{
	struct tcfg t;

	tcfg_init(&t, 1, tcp_hc(1, 1));
	start();
	hc_sync(&t.cfg);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	feed(&t, 0, true);
	ASSERT_HEALTH(&t, 0, HC_UP);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	CU_ASSERT_EQUAL(n_notes, 3);
	hc_shutdown();
}

/* The operator's state is not the health module's business: a draining or
 * disabled backend is checked and moves like any other. */
static void test_draining_disabled_still_counted(void)
{
	struct tcfg t;

	tcfg_init(&t, 2, tcp_hc(2, 2));
	t.be[0].state = XLB_STATE_DRAINING;
	t.be[1].state = XLB_STATE_DISABLED;
	start();
	hc_sync(&t.cfg);
	feed(&t, 0, true);
	feed(&t, 1, true);
	ASSERT_HEALTH(&t, 0, HC_UP);
	ASSERT_HEALTH(&t, 1, HC_UP);
	feed(&t, 0, false);
	feed(&t, 0, false);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	hc_shutdown();
}

static void test_none_is_up(void)
{
	struct tcfg t;

	tcfg_init(&t, 2, (struct xlb_hc_conf){ .type = XLB_HC_NONE });
	start();
	CU_ASSERT_EQUAL(hc_sync(&t.cfg), 0);
	ASSERT_HEALTH(&t, 0, HC_UP);
	ASSERT_HEALTH(&t, 1, HC_UP);
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done, 0);
	CU_ASSERT_EQUAL(n_notes, 0);
	hc_shutdown();
}

static void test_adoption(void)
{
	struct tcfg t;

	tcfg_init(&t, 4, tcp_hc(2, 2));
	t.be[3].hc.type = XLB_HC_NONE;
	start();
	hc_adopt(&t.vip, &t.be[0], HC_DOWN);
	hc_adopt(&t.vip, &t.be[1], HC_UP);
	hc_adopt(&t.vip, &t.be[2], HC_UNCHECKED);
	hc_adopt(&t.vip, &t.be[3], HC_DOWN);
	CU_ASSERT_EQUAL(hc_sync(&t.cfg), 0);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	ASSERT_HEALTH(&t, 1, HC_UP);
	ASSERT_HEALTH(&t, 2, HC_UNCHECKED);
	ASSERT_HEALTH(&t, 3, HC_UP); /* no check: up whatever was found */

	/* adopted down: needs rise successes, not just the first */
	feed(&t, 0, true);
	ASSERT_HEALTH(&t, 0, HC_DOWN);
	feed(&t, 0, true);
	ASSERT_HEALTH(&t, 0, HC_UP);
	/* adopted up: stays up until fall failures */
	feed(&t, 1, false);
	ASSERT_HEALTH(&t, 1, HC_UP);
	feed(&t, 1, false);
	ASSERT_HEALTH(&t, 1, HC_DOWN);
	/* unchecked: the first success */
	feed(&t, 2, true);
	ASSERT_HEALTH(&t, 2, HC_UP);
	hc_shutdown();
}

/* Adopted pairs that the model does not have are dropped by the sync. */
static void test_adoption_of_removed(void)
{
	struct tcfg t, gone;

	tcfg_init(&t, 1, tcp_hc(2, 2));
	tcfg_init(&gone, 3, tcp_hc(2, 2));
	start();
	hc_adopt(&gone.vip, &gone.be[2], HC_UP);
	hc_sync(&t.cfg);
	CU_ASSERT_PTR_NULL(hc_get(&gone.vip, &gone.be[2]));
	CU_ASSERT_PTR_NOT_NULL(hc_get(&t.vip, &t.be[0]));
	hc_shutdown();
}

static void test_config_change(void)
{
	struct tcfg a, b;
	const struct hc_status *s;

	tcfg_init(&a, 5, tcp_hc(2, 3));
	start();
	CU_ASSERT_EQUAL(hc_sync(&a.cfg), 0);
	for (int i = 0; i < 5; i++)
		feed(&a, i, true);
	feed(&a, 0, false); /* 0: up, fall_cnt 1 */
	feed(&a, 1, false);
	feed(&a, 1, false);
	feed(&a, 1, false); /* 1: down */
	feed(&a, 3, false);
	feed(&a, 3, false);
	feed(&a, 3, false); /* 3: down */

	/* New model, new memory: 0 unchanged (a different weight and state
	 * are not health settings), 1 unchanged, 2 probe changed (port),
	 * 3 timing changed (fall), 4 removed, 5 added. */
	tcfg_init(&b, 6, tcp_hc(2, 3));
	b.be[0].weight = 7;
	b.be[0].state = XLB_STATE_DRAINING;
	b.be[2].hc.port = 8080;
	b.be[3].hc.fall = 5;
	b.be[4] = b.be[5]; /* 198.51.100.16 replaces .15 */
	b.vip.n_backends = 5;
	n_notes = 0;
	CU_ASSERT_EQUAL(hc_sync(&b.cfg), 0);

	s = st(&b, 0);
	CU_ASSERT_EQUAL(s->health, HC_UP);
	CU_ASSERT_EQUAL(s->fall_cnt, 1);
	CU_ASSERT_EQUAL(s->checks_done, 2);
	ASSERT_HEALTH(&b, 1, HC_DOWN);
	s = st(&b, 2);
	CU_ASSERT_EQUAL(s->health, HC_UNCHECKED);
	CU_ASSERT_EQUAL(s->checks_done, 0);
	s = st(&b, 3);
	CU_ASSERT_EQUAL(s->health, HC_DOWN);
	CU_ASSERT_EQUAL(s->checks_done, 4);
	ASSERT_HEALTH(&b, 4, HC_UNCHECKED);
	CU_ASSERT_PTR_NULL(hc_get(&a.vip, &a.be[4]));
	CU_ASSERT_EQUAL(n_notes, 0); /* hc_sync itself notifies nothing */

	/* notifications now carry the new model's pointers */
	feed(&b, 0, false);
	feed(&b, 0, false);
	ASSERT_HEALTH(&b, 0, HC_DOWN);
	CU_ASSERT_EQUAL(n_notes, 1);
	CU_ASSERT_PTR_EQUAL(notes[0].be, &b.be[0]);

	/* the same model again changes nothing */
	CU_ASSERT_EQUAL(hc_sync(&b.cfg), 0);
	ASSERT_HEALTH(&b, 0, HC_DOWN);
	CU_ASSERT_EQUAL(st(&b, 0)->checks_done, 4);

	/* an http path change is a probe change; check type none -> up */
	b.be[1].hc.type = XLB_HC_NONE;
	b.be[3].hc.type = XLB_HC_HTTP;
	b.be[3].hc.path = "/a";
	hc_sync(&b.cfg);
	ASSERT_HEALTH(&b, 1, HC_UP);
	ASSERT_HEALTH(&b, 3, HC_UNCHECKED);
	feed(&b, 3, true);
	b.be[3].hc.path = "/b";
	hc_sync(&b.cfg);
	ASSERT_HEALTH(&b, 3, HC_UNCHECKED);
	b.be[3].hc.interval_ms = 3000; /* timing only: kept */
	feed(&b, 3, true);
	hc_sync(&b.cfg);
	ASSERT_HEALTH(&b, 3, HC_UP);

	/* same backend address in another VIP is another pair */
	b.vip.port = 443;
	hc_sync(&b.cfg);
	ASSERT_HEALTH(&b, 3, HC_UNCHECKED);

	/* empty model: everything stopped */
	b.vip.n_backends = 0;
	CU_ASSERT_EQUAL(hc_sync(&b.cfg), 0);
	CU_ASSERT_PTR_NULL(hc_get(&b.vip, &b.be[0]));
	hc_shutdown();
}

static void test_many_pairs(void)
{
	/* 2000 backends across the hash table's growth */
	static struct xlb_backend_conf be[2000];
	struct xlb_vip_conf vip = { 0 };
	struct xlb_config cfg = { 0 };

	set_addr(&vip.addr, "2001:db8::10");
	vip.port = 443;
	vip.proto = IPPROTO_TCP;
	for (int i = 0; i < 2000; i++) {
		set_addr(&be[i].addr, "2001:db8:1::");
		be[i].addr.bytes[14] = i >> 8;
		be[i].addr.bytes[15] = i & 0xff;
		be[i].hc = tcp_hc(1, 1);
	}
	vip.backends = be;
	vip.n_backends = 2000;
	cfg.vips = &vip;
	cfg.n_vips = 1;
	start();
	CU_ASSERT_EQUAL(hc_sync(&cfg), 0);
	for (int i = 0; i < 2000; i += 2)
		hc__record_result(&vip, &be[i], true, "ok");
	for (int i = 0; i < 2000; i++) {
		const struct hc_status *s = hc_get(&vip, &be[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_EQUAL(s->health, i % 2 ? HC_UNCHECKED : HC_UP);
	}
	hc_shutdown();
}

/* The transition line, exactly. */
static void test_log_line(void)
{
	char path[] = "/tmp/test_health_sm.XXXXXX", buf[4096] = "";
	int fd = mkstemp(path), saved = dup(2);
	struct tcfg t;
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	tcfg_init(&t, 2, tcp_hc(2, 3));
	t.be[1].hc.port = 8080;
	set_addr(&t.be[1].addr, "198.51.100.12");
	start();
	hc_sync(&t.cfg);
	fflush(stderr);
	dup2(fd, 2);
	log_set_level(LOG_LVL_INFO);
	hc__record_result(&t.vip, &t.be[1], true, "ok");
	for (int i = 0; i < 3; i++)
		hc__record_result(&t.vip, &t.be[1], false,
				  "connect timeout after 1000 ms");
	hc__record_result(&t.vip, &t.be[1], true, "ok");
	hc__record_result(&t.vip, &t.be[1], true, "ok");
	fflush(stderr);
	log_set_level(LOG_LVL_WARN);
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
	fclose(f);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "198.51.100.12:8080 up: ok (first "
					   "check) vip 203.0.113.10:80/tcp\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf,
		"198.51.100.12:8080 down: connect timeout after 1000 ms (3/3) "
		"vip 203.0.113.10:80/tcp\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "198.51.100.12:8080 up: ok (2/2) "
					   "vip 203.0.113.10:80/tcp\n"));
	/* three transitions, three lines at info level */
	int lines = 0;
	for (char *p = buf; (p = strstr(p, " vip ")); p++)
		lines++;
	CU_ASSERT_EQUAL(lines, 3);
	if (lines != 3)
		fprintf(stderr, "log was:\n%s", buf);
	hc_shutdown();
}

struct http_case {
	const char *in;
	bool full;
	int want; /* return */
	int code;
};

static void test_http_status_parse(void)
{
	static const struct http_case c[] = {
		{ "HTTP/1.1 200 OK\r\n", false, 1, 200 },
		{ "HTTP/1.0 503 Service Unavailable\r\nX: y\r\n", false, 1, 503 },
		{ "HTTP/1.1 204\r\n", false, 1, 204 },
		{ "HTTP/1.1 200 OK", false, 0, 0 }, /* line not finished */
		{ "HTTP/1.1 200 OK", true, 1, 200 }, /* buffer full */
		{ "HTTP/1.1 20", false, 0, 0 },
		{ "HTT", false, 0, 0 },
		{ "", false, 0, 0 },
		{ "garbage\r\n", false, -1, 0 },
		{ "HTTP/2 200\r\n", false, -1, 0 },
		{ "HTTP/1.1 2x0 OK\r\n", false, -1, 0 },
		{ "HTTP/1.1 2000 OK\r\n", false, -1, 0 },
		{ "HTTP/1.1 200OK\r\n", false, -1, 0 },
		{ "http/1.1 200 OK\r\n", false, -1, 0 },
		{ "HTTP/1.1\r\n", false, -1, 0 },
		{ "\x16\x03\x01", false, -1, 0 }, /* TLS */
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int code = 0;
		int r = hc__http_status(c[i].in, strlen(c[i].in), c[i].full,
					&code);

		if (r != c[i].want || (r == 1 && code != c[i].code))
			fprintf(stderr, "\n  \"%s\": returned %d code %d, "
					"expected %d code %d\n",
				c[i].in, r, code, c[i].want, c[i].code);
		CU_ASSERT_EQUAL(r, c[i].want);
		if (r == 1)
			CU_ASSERT_EQUAL(code, c[i].code);
	}
}

int main(void)
{
	CU_pSuite s;

	log_set_level(LOG_LVL_WARN); /* test_log_line raises it */
	loop = ev_new();
	if (!loop || CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("health_state_machine", NULL, NULL);
	CU_add_test(s, "first success up at once", test_first_success_up_at_once);
	CU_add_test(s, "first failure down, then rise",
		    test_first_failure_down_then_rise);
	CU_add_test(s, "fall counting", test_fall_counting);
	CU_add_test(s, "flapping", test_flapping);
	CU_add_test(s, "rise/fall 1", test_rise_fall_one);
	CU_add_test(s, "draining/disabled still checked",
		    test_draining_disabled_still_counted);
	CU_add_test(s, "type none is up", test_none_is_up);
	CU_add_test(s, "adoption", test_adoption);
	CU_add_test(s, "adoption of removed pair", test_adoption_of_removed);
	CU_add_test(s, "config change", test_config_change);
	CU_add_test(s, "2000 pairs", test_many_pairs);
	CU_add_test(s, "transition log line", test_log_line);
	s = CU_add_suite("health_http_parse", NULL, NULL);
	CU_add_test(s, "status line", test_http_status_parse);
	return test_run_cunit();
}
