// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_health.c - health checks against real servers on loopback, inside a
 * private network namespace (unshare(CLONE_NEWNET): nothing leaves it and
 * it vanishes with the process).
 *
 * Servers: a TCP listener in a forked child (killed and started again), an
 * HTTP server thread whose answer is switched between 200, 503, garbage, a
 * partial status line and silence, a UDP responder thread, and a UDP port
 * nobody listens on.  The real event loop runs with 50 ms intervals; every
 * wait is "run the loop until the state is reached or a deadline passes",
 * and the time it took is checked against what rise/fall/interval allow.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "check.h"
#include "health.h"
#include "log.h"

#define IVL 50	 /* interval_ms */
#define TMO 40	 /* timeout_ms */
#define RISE 2
#define FALL 2
#define SLACK 300 /* ms allowed for a loaded machine */

static struct ev_loop *loop;
static struct ev_timer *deadline, *tick;
static bool (*cur_pred)(void *);
static void *cur_arg;

struct note {
	const struct xlb_backend_conf *be;
	enum hc_health h;
};
static struct note notes[256];
static int n_notes;

/* ---- model ---- */

struct tcfg {
	struct xlb_config cfg;
	struct xlb_vip_conf vip;
	struct xlb_backend_conf be[4];
};

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

static void tcfg_init(struct tcfg *t, const char *vip, uint16_t port,
		      enum xlb_hc_type type)
{
	memset(t, 0, sizeof(*t));
	set_addr(&t->vip.addr, vip);
	t->vip.port = port;
	t->vip.proto = IPPROTO_TCP;
	t->vip.table_size = 65537;
	t->vip.hc = (struct xlb_hc_conf){ .type = type,
					  .interval_ms = IVL,
					  .timeout_ms = TMO,
					  .expect_status = 200,
					  .rise = RISE,
					  .fall = FALL };
	t->vip.backends = t->be;
	t->cfg.vips = &t->vip;
	t->cfg.n_vips = 1;
}

static struct xlb_backend_conf *tcfg_add(struct tcfg *t, const char *addr)
{
	struct xlb_backend_conf *b = &t->be[t->vip.n_backends++];

	set_addr(&b->addr, addr);
	b->weight = 100;
	b->hc = t->vip.hc;
	return b;
}

/* ---- running the loop with deadlines ---- */

static void on_change(void *ctx, const struct xlb_vip_conf *vip,
		      const struct xlb_backend_conf *be, enum hc_health h)
{
	if (n_notes < 256)
		notes[n_notes++] = (struct note){ be, h };
}

static void post_hook(void *arg)
{
	if (cur_pred && cur_pred(cur_arg))
		ev_stop(loop);
}

static void deadline_cb(void *arg)
{
	ev_stop(loop);
}

/* Conditions set by server threads do not wake the loop: look again
 * every few ms while waiting. */
static void tick_cb(void *arg)
{
	ev_timer_arm(tick, ev_now_ms() + 2);
}

/* Run the loop until pred(arg) holds or max_ms pass; *took: elapsed ms. */
static bool run_until(bool (*pred)(void *), void *arg, unsigned max_ms,
		      unsigned *took)
{
	uint64_t t0 = ev_now_ms();
	bool ok;

	cur_pred = pred;
	cur_arg = arg;
	if (!pred || !pred(arg)) {
		ev_timer_arm(deadline, t0 + max_ms);
		ev_timer_arm(tick, t0 + 2);
		ev_run(loop);
		ev_timer_cancel(deadline);
		ev_timer_cancel(tick);
	}
	ok = pred ? pred(arg) : true;
	cur_pred = NULL;
	if (took)
		*took = (unsigned)(ev_now_ms() - t0);
	return ok;
}

static void run_for(unsigned ms)
{
	run_until(NULL, NULL, ms, NULL);
}

struct want {
	struct tcfg *t;
	int i;
	enum hc_health h;
};

static bool health_is(void *arg)
{
	struct want *w = arg;
	const struct hc_status *s = hc_get(&w->t->vip, &w->t->be[w->i]);

	return s && s->health == w->h;
}

static const struct hc_status *st(struct tcfg *t, int i)
{
	const struct hc_status *s = hc_get(&t->vip, &t->be[i]);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* Wait for backend i to reach h within max_ms; report and assert. */
static unsigned expect_health(struct tcfg *t, int i, enum hc_health h,
			      unsigned max_ms, const char *what)
{
	struct want w = { t, i, h };
	unsigned took = 0;
	bool ok = run_until(health_is, &w, max_ms + SLACK, &took);

	if (!ok || took > max_ms + SLACK)
		fprintf(stderr, "  %s: health %s after %u ms, expected %s "
				"within %u ms (last result \"%s\")\n",
			what, hc_health_name(st(t, i)->health), took,
			hc_health_name(h), max_ms, st(t, i)->last_result);
	else
		fprintf(stderr, "  %s: %s after %u ms (bound %u): %s\n", what,
			hc_health_name(h), took, max_ms, st(t, i)->last_result);
	CU_ASSERT_FATAL(ok);
	return took;
}

static void expect_result(struct tcfg *t, int i, const char *want)
{
	const char *got = st(t, i)->last_result;

	if (strcmp(got, want))
		fprintf(stderr, "\n  last_result \"%s\", expected \"%s\"\n", got,
			want);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Bounds: a failure is seen at the next check; after the first round the
 * next check may be up to 2 intervals away (phase), then fall-1 more. */
#define DOWN_BOUND(fall, tmo) (IVL * 2 + ((fall) - 1) * IVL + (tmo))
#define UP_BOUND(rise) (IVL * 2 + ((rise) - 1) * IVL + TMO)

/* ---- servers ---- */

static int listen_on(const char *addr, int port, int type)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	socklen_t len;
	int one = 1, fd;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		return -1;
	}
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		perror("bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

/* A TCP server process: listens, accepts, closes. */
static pid_t tcp_server_start(const char *addr, int port)
{
	int p[2];
	char c = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int l;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		l = listen_on(addr, port, SOCK_STREAM);
		if (l < 0)
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			int fd = accept(l, NULL, NULL);

			if (fd >= 0)
				close(fd);
		}
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'r') {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

static void tcp_server_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

enum http_mode { H_200, H_503, H_GARBAGE, H_PARTIAL, H_HANG };

struct http_srv {
	int lfd, wake[2];
	pthread_t th;
	atomic_int mode;
	atomic_int accepted;
	pthread_mutex_t mu;
	char last_req[1024];
	int hung[32];
	int n_hung;
};

static void http_close_hung(struct http_srv *s)
{
	while (s->n_hung)
		close(s->hung[--s->n_hung]);
}

static void http_serve(struct http_srv *s, int c)
{
	static const char *const answers[] = {
		[H_200] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
			  "Connection: close\r\n\r\nok\n",
		[H_503] = "HTTP/1.1 503 Service Unavailable\r\n"
			  "Content-Length: 0\r\nConnection: close\r\n\r\n",
		[H_GARBAGE] = "SSH-2.0-OpenSSH_9.2p1\r\n",
		[H_PARTIAL] = "HTTP/1.1 20",
	};
	struct timeval tv = { .tv_sec = 2 };
	char req[1024];
	size_t n = 0;
	int mode;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1) {
		ssize_t r = recv(c, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = 0;
	pthread_mutex_lock(&s->mu);
	memcpy(s->last_req, req, n + 1);
	pthread_mutex_unlock(&s->mu);
	mode = atomic_load(&s->mode);
	if (mode == H_HANG) {
		if (s->n_hung == 32)
			http_close_hung(s);
		s->hung[s->n_hung++] = c;
		return;
	}
	http_close_hung(s);
	if (send(c, answers[mode], strlen(answers[mode]), MSG_NOSIGNAL) < 0) {
		/* the checker gave up: fine */
	}
	close(c);
}

static void *http_main(void *arg)
{
	struct http_srv *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->lfd, POLLIN, 0 },
				       { s->wake[0], POLLIN, 0 } };
		int c;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		c = accept(s->lfd, NULL, NULL);
		if (c < 0)
			continue;
		atomic_fetch_add(&s->accepted, 1);
		http_serve(s, c);
	}
	http_close_hung(s);
	return NULL;
}

static int http_start(struct http_srv *s, const char *addr, int port)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = listen_on(addr, port, SOCK_STREAM);
	if (s->lfd < 0 || pipe(s->wake) < 0)
		return -1;
	return pthread_create(&s->th, NULL, http_main, s) ? -1 : 0;
}

static void http_stop(struct http_srv *s)
{
	if (write(s->wake[1], "x", 1) != 1)
		return;
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
}

static void http_last_req(struct http_srv *s, char *buf, size_t len)
{
	pthread_mutex_lock(&s->mu);
	snprintf(buf, len, "%s", s->last_req);
	pthread_mutex_unlock(&s->mu);
}

struct udp_srv {
	int fd, wake[2];
	pthread_t th;
	atomic_int received;
	pthread_mutex_t mu;
	char last[256];
	size_t last_len;
};

static void *udp_main(void *arg)
{
	struct udp_srv *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->fd, POLLIN, 0 },
				       { s->wake[0], POLLIN, 0 } };
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		char buf[256];
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		n = recvfrom(s->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (void *)&from, &fl);
		if (n < 0)
			continue;
		pthread_mutex_lock(&s->mu);
		memcpy(s->last, buf, (size_t)n);
		s->last_len = (size_t)n;
		pthread_mutex_unlock(&s->mu);
		atomic_fetch_add(&s->received, 1);
		sendto(s->fd, "pong", 4, 0, (void *)&from, fl);
	}
	return NULL;
}

static int udp_start(struct udp_srv *s, const char *addr, int port)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->fd = listen_on(addr, port, SOCK_DGRAM);
	if (s->fd < 0 || pipe(s->wake) < 0)
		return -1;
	return pthread_create(&s->th, NULL, udp_main, s) ? -1 : 0;
}

static void udp_stop(struct udp_srv *s)
{
	if (write(s->wake[1], "x", 1) != 1)
		return;
	pthread_join(s->th, NULL);
	close(s->fd);
	close(s->wake[0]);
	close(s->wake[1]);
}

/* ---- tests ---- */

static void start(void)
{
	n_notes = 0;
	CU_ASSERT_EQUAL_FATAL(hc_init(loop, on_change, NULL), 0);
}

static void test_tcp_stop_restart(void)
{
	struct tcfg t;
	unsigned before, took;
	pid_t srv;

	tcfg_init(&t, "203.0.113.10", 8080, XLB_HC_TCP);
	tcfg_add(&t, "192.0.2.1");
	srv = tcp_server_start("192.0.2.1", 8080);
	CU_ASSERT_FATAL(srv > 0);
	start();
	CU_ASSERT_EQUAL_FATAL(hc_sync(&t.cfg), 0);

	/* first check at once, first success up at once */
	took = expect_health(&t, 0, HC_UP, TMO, "tcp first check");
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done, 1);
	CU_ASSERT(took <= TMO + SLACK);
	expect_result(&t, 0, "ok");

	tcp_server_stop(srv);
	before = st(&t, 0)->checks_done;
	expect_health(&t, 0, HC_DOWN, DOWN_BOUND(FALL, 0), "tcp server killed");
	expect_result(&t, 0, "connect refused");
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done - before, FALL);
	/* refused is immediate: the latency is far below the timeout */
	CU_ASSERT(st(&t, 0)->last_latency_us < TMO * 1000);

	srv = tcp_server_start("192.0.2.1", 8080);
	CU_ASSERT_FATAL(srv > 0);
	before = st(&t, 0)->checks_done;
	expect_health(&t, 0, HC_UP, UP_BOUND(RISE), "tcp server restarted");
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done - before, RISE);
	expect_result(&t, 0, "ok");

	/* timeline: up, down, up; one notification each */
	CU_ASSERT_EQUAL(n_notes, 3);
	if (n_notes == 3) {
		CU_ASSERT_EQUAL(notes[0].h, HC_UP);
		CU_ASSERT_EQUAL(notes[1].h, HC_DOWN);
		CU_ASSERT_EQUAL(notes[2].h, HC_UP);
		CU_ASSERT_PTR_EQUAL(notes[2].be, &t.be[0]);
	}

	/* stays up: several intervals without a transition */
	run_for(IVL * 4);
	CU_ASSERT_EQUAL(st(&t, 0)->health, HC_UP);
	CU_ASSERT_EQUAL(n_notes, 3);
	tcp_server_stop(srv);
	hc_shutdown();
}

/* Refused at once; a SYN nobody answers times out. */
static void test_tcp_timeout(void)
{
	struct tcfg t;

	tcfg_init(&t, "203.0.113.10", 8080, XLB_HC_TCP);
	tcfg_add(&t, "192.0.2.1"); /* nothing listens: refused */
	start();
	hc_sync(&t.cfg);
	expect_health(&t, 0, HC_DOWN, TMO, "tcp nothing listening");
	expect_result(&t, 0, "connect refused");
	hc_shutdown();

	/* A SYN that is dropped: a filter-free way is a listener whose
	 * accept queue is full (backlog 0 and never accepting). */
	int l = listen_on("192.0.2.1", 8090, SOCK_STREAM), c1, c2;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(8090) };

	CU_ASSERT_FATAL(l >= 0);
	listen(l, 0);
	inet_pton(AF_INET, "192.0.2.1", &sa.sin_addr);
	/* fill the queue (backlog 0 still takes one) */
	c1 = socket(AF_INET, SOCK_STREAM, 0);
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(c1, (void *)&sa, sizeof(sa));
	connect(c2, (void *)&sa, sizeof(sa));
	tcfg_init(&t, "203.0.113.10", 8090, XLB_HC_TCP);
	tcfg_add(&t, "192.0.2.1");
	start();
	hc_sync(&t.cfg);
	expect_health(&t, 0, HC_DOWN, TMO, "tcp queue full");
	expect_result(&t, 0, "connect timeout after 40 ms");
	CU_ASSERT(st(&t, 0)->last_latency_us >= TMO * 1000);
	hc_shutdown();
	close(c1);
	close(c2);
	close(l);
}

static void test_http_sequence(void)
{
	struct http_srv srv;
	struct tcfg t;
	struct xlb_backend_conf *b;
	char req[1024];

	CU_ASSERT_FATAL(http_start(&srv, "192.0.2.2", 8081) == 0);
	tcfg_init(&t, "203.0.113.10", 80, XLB_HC_HTTP);
	b = tcfg_add(&t, "192.0.2.2");
	b->hc.port = 8081;
	b->hc.path = "/healthz";
	start();
	hc_sync(&t.cfg);

	expect_health(&t, 0, HC_UP, TMO, "http 200");
	expect_result(&t, 0, "ok");
	http_last_req(&srv, req, sizeof(req));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "GET /healthz HTTP/1.1\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "\r\nHost: 203.0.113.10\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "\r\nConnection: close\r\n"));
	CU_ASSERT(strncmp(req, "GET ", 4) == 0);

	atomic_store(&srv.mode, H_503);
	expect_health(&t, 0, HC_DOWN, DOWN_BOUND(FALL, 0), "http 503");
	expect_result(&t, 0, "status 503");

	atomic_store(&srv.mode, H_200);
	expect_health(&t, 0, HC_UP, UP_BOUND(RISE), "http 200 again");

	atomic_store(&srv.mode, H_GARBAGE);
	expect_health(&t, 0, HC_DOWN, DOWN_BOUND(FALL, 0), "http garbage");
	expect_result(&t, 0, "bad response");

	atomic_store(&srv.mode, H_200);
	expect_health(&t, 0, HC_UP, UP_BOUND(RISE), "http 200 again");

	atomic_store(&srv.mode, H_PARTIAL);
	expect_health(&t, 0, HC_DOWN, DOWN_BOUND(FALL, 0), "http partial");
	expect_result(&t, 0, "partial response");

	atomic_store(&srv.mode, H_200);
	expect_health(&t, 0, HC_UP, UP_BOUND(RISE), "http 200 again");

	atomic_store(&srv.mode, H_HANG);
	expect_health(&t, 0, HC_DOWN, DOWN_BOUND(FALL, TMO), "http hangs");
	expect_result(&t, 0, "response timeout after 40 ms");
	CU_ASSERT(st(&t, 0)->last_latency_us >= TMO * 1000);

	CU_ASSERT_EQUAL(n_notes, 8);
	hc_shutdown();
	http_stop(&srv);
}

static void test_http_ipv6_host(void)
{
	struct http_srv srv;
	struct tcfg t;
	struct xlb_backend_conf *b;
	char req[1024];

	CU_ASSERT_FATAL(http_start(&srv, "2001:db8::2", 8081) == 0);
	tcfg_init(&t, "2001:db8::10", 8081, XLB_HC_HTTP);
	b = tcfg_add(&t, "2001:db8::2");
	b->hc.expect_status = 200;
	start();
	hc_sync(&t.cfg);
	expect_health(&t, 0, HC_UP, TMO, "http ipv6");
	http_last_req(&srv, req, sizeof(req));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "GET / HTTP/1.1\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "\r\nHost: [2001:db8::10]\r\n"));

	/* host and expect_status from the settings; a changed probe is
	 * measured afresh */
	b->hc.host = "health.example";
	b->hc.expect_status = 503;
	hc_sync(&t.cfg);
	CU_ASSERT_EQUAL(st(&t, 0)->health, HC_UNCHECKED);
	atomic_store(&srv.mode, H_503);
	expect_health(&t, 0, HC_UP, TMO, "http expect 503");
	http_last_req(&srv, req, sizeof(req));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "\r\nHost: health.example\r\n"));
	hc_shutdown();
	http_stop(&srv);
}

static void test_udp(void)
{
	struct udp_srv srv;
	struct tcfg t;
	char got[256];
	size_t len;

	CU_ASSERT_FATAL(udp_start(&srv, "192.0.2.3", 5353) == 0);
	tcfg_init(&t, "203.0.113.20", 53, XLB_HC_UDP);
	t.vip.proto = IPPROTO_UDP;
	tcfg_add(&t, "192.0.2.3")->hc.port = 5353;
	tcfg_add(&t, "192.0.2.4")->hc.port = 5354; /* closed port */
	t.be[0].hc.payload = "ping\0me";
	t.be[0].hc.payload_len = 7;
	start();
	hc_sync(&t.cfg);

	expect_health(&t, 0, HC_UP, TMO, "udp responder");
	expect_result(&t, 0, "ok");
	pthread_mutex_lock(&srv.mu);
	len = srv.last_len;
	memcpy(got, srv.last, len);
	pthread_mutex_unlock(&srv.mu);
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT(len == 7 && !memcmp(got, "ping\0me", 7));

	/* closed port: ICMP port unreachable, well before the timeout */
	expect_health(&t, 1, HC_DOWN, TMO, "udp closed port");
	expect_result(&t, 1, "port unreachable");
	CU_ASSERT(st(&t, 1)->last_latency_us < TMO * 1000);

	/* stopping the responder closes its port */
	udp_stop(&srv);
	expect_health(&t, 0, HC_DOWN, DOWN_BOUND(FALL, 0), "udp responder gone");
	expect_result(&t, 0, "port unreachable");
	CU_ASSERT(st(&t, 0)->last_latency_us < TMO * 1000);

	CU_ASSERT_FATAL(udp_start(&srv, "192.0.2.3", 5353) == 0);
	expect_health(&t, 0, HC_UP, UP_BOUND(RISE), "udp responder back");
	CU_ASSERT_EQUAL(st(&t, 1)->health, HC_DOWN);
	hc_shutdown();
	udp_stop(&srv);
}

static void test_none(void)
{
	struct tcfg t;
	int fds;

	tcfg_init(&t, "203.0.113.10", 80, XLB_HC_NONE);
	tcfg_add(&t, "192.0.2.99");
	start();
	fds = count_fds();
	hc_sync(&t.cfg);
	CU_ASSERT_EQUAL(st(&t, 0)->health, HC_UP);
	run_for(IVL * 3);
	CU_ASSERT_EQUAL(st(&t, 0)->checks_done, 0);
	CU_ASSERT_EQUAL(count_fds(), fds);
	CU_ASSERT_EQUAL(n_notes, 0);
	hc_shutdown();
}

static int want_accepted;

static bool accepted_n(void *arg)
{
	struct http_srv *s = arg;

	return atomic_load(&s->accepted) >= want_accepted;
}

/* Reconfiguring while checks are in flight: an unchanged pair's check
 * goes on; a removed pair's socket and timer go away cleanly. */
static void test_sync_mid_check(void)
{
	struct http_srv srv;
	struct tcfg t, t2, t3, empty;
	int n1;

	CU_ASSERT_FATAL(http_start(&srv, "192.0.2.2", 8082) == 0);
	atomic_store(&srv.mode, H_HANG);
	tcfg_init(&t, "203.0.113.10", 8082, XLB_HC_HTTP);
	t.vip.hc.interval_ms = 5000;
	t.vip.hc.timeout_ms = 300;
	tcfg_add(&t, "192.0.2.2");
	start();
	hc_sync(&t.cfg);
	want_accepted = 1;
	CU_ASSERT_FATAL(run_until(accepted_n, &srv, 1000, NULL));

	/* Same settings in a new model, mid-check: the check carries on
	 * (no second connection) and its result lands on the new model. */
	t2 = t;
	t2.vip.backends = t2.be;
	t2.cfg.vips = &t2.vip;
	hc_sync(&t2.cfg);
	expect_health(&t2, 0, HC_DOWN, 300, "unchanged pair mid-check");
	expect_result(&t2, 0, "response timeout after 300 ms");
	CU_ASSERT_EQUAL(st(&t2, 0)->checks_done, 1);
	CU_ASSERT_EQUAL(atomic_load(&srv.accepted), 1);
	CU_ASSERT_EQUAL(n_notes, 1);
	CU_ASSERT(n_notes == 1 && notes[0].be == &t2.be[0]);

	/* A new pair (other VIP port) replaces it; its first check runs at
	 * once and hangs; then the pair is removed mid-check. */
	t3 = t2;
	t3.vip.backends = t3.be;
	t3.cfg.vips = &t3.vip;
	t3.vip.port = 8083;
	t3.be[0].hc.port = 8082;
	hc_sync(&t3.cfg);
	CU_ASSERT_PTR_NULL(hc_get(&t2.vip, &t2.be[0]));
	CU_ASSERT_EQUAL(st(&t3, 0)->health, HC_UNCHECKED);
	want_accepted = 2;
	CU_ASSERT_FATAL(run_until(accepted_n, &srv, 1000, NULL));
	n1 = count_fds();
	memset(&empty, 0, sizeof(empty));
	CU_ASSERT_EQUAL(hc_sync(&empty.cfg), 0);
	CU_ASSERT_EQUAL(count_fds(), n1 - 1); /* the check's socket */
	CU_ASSERT_PTR_NULL(hc_get(&t3.vip, &t3.be[0]));
	run_for(500); /* past its timeout: nothing may fire */
	CU_ASSERT_EQUAL(n_notes, 1);
	CU_ASSERT_EQUAL(atomic_load(&srv.accepted), 2);
	hc_shutdown();
	http_stop(&srv);
}

/* Many pairs, one failing server: only its pairs go down. */
static void test_many(void)
{
	static struct xlb_backend_conf be[200];
	struct xlb_vip_conf vip = { 0 };
	struct xlb_config cfg = { 0 };
	pid_t srv = tcp_server_start("0.0.0.0", 9000);
	int up = 0, down = 0;

	CU_ASSERT_FATAL(srv > 0);
	system("ip addr add 198.18.0.1/24 dev lo");
	set_addr(&vip.addr, "203.0.113.30");
	vip.port = 9000;
	vip.proto = IPPROTO_TCP;
	for (int i = 0; i < 200; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.0.%d", i + 1);
		set_addr(&be[i].addr, a);
		be[i].hc = (struct xlb_hc_conf){ .type = XLB_HC_TCP,
						 .interval_ms = IVL,
						 .timeout_ms = TMO,
						 .rise = 1,
						 .fall = 1 };
		if (i % 10 == 9)
			be[i].hc.port = 9001; /* nobody there */
	}
	vip.backends = be;
	vip.n_backends = 200;
	cfg.vips = &vip;
	cfg.n_vips = 1;
	log_set_level(LOG_LVL_WARN);
	start();
	hc_sync(&cfg);
	run_for(IVL * 3);
	log_set_level(LOG_LVL_INFO);
	for (int i = 0; i < 200; i++) {
		const struct hc_status *s = hc_get(&vip, &be[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		if (s->health == HC_UP && i % 10 != 9)
			up++;
		if (s->health == HC_DOWN && i % 10 == 9)
			down++;
		CU_ASSERT(s->checks_done >= 2);
	}
	CU_ASSERT_EQUAL(up, 180);
	CU_ASSERT_EQUAL(down, 20);
	hc_shutdown();
	tcp_server_stop(srv);
}

int main(void)
{
	CU_pSuite s;

	test_require_root_bpf("test_health");
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	if (system("ip link set lo up") ||
	    system("ip addr add 192.0.2.1/32 dev lo") ||
	    system("ip addr add 192.0.2.2/32 dev lo") ||
	    system("ip addr add 192.0.2.3/32 dev lo") ||
	    system("ip addr add 192.0.2.4/32 dev lo") ||
	    system("ip -6 addr add 2001:db8::2/128 dev lo nodad")) {
		fprintf(stderr, "cannot set up addresses in the namespace\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LVL_INFO);
	loop = ev_new();
	deadline = loop ? ev_timer_new(loop, deadline_cb, NULL) : NULL;
	tick = loop ? ev_timer_new(loop, tick_cb, NULL) : NULL;
	if (!deadline || !tick || ev_add_post_hook(loop, post_hook, NULL) ||
	    CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("health_net", NULL, NULL);
	CU_add_test(s, "tcp listener stopped and restarted",
		    test_tcp_stop_restart);
	CU_add_test(s, "tcp refused and timeout", test_tcp_timeout);
	CU_add_test(s, "http 200/503/garbage/partial/hang", test_http_sequence);
	CU_add_test(s, "http ipv6 host header", test_http_ipv6_host);
	CU_add_test(s, "udp responder and closed port", test_udp);
	CU_add_test(s, "type none", test_none);
	CU_add_test(s, "sync mid-check", test_sync_mid_check);
	CU_add_test(s, "200 pairs", test_many);
	return test_run_cunit();
}
