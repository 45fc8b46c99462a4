// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_control.c - the control socket server against an in-memory daemon.
 *
 * Every core_* function of user/core.h is stubbed here with a tiny model
 * (cfg_parse / cfg_dump), so the real core (reconcile.c) is not linked.
 * The server runs its event loop in a thread; the tests are its clients:
 * framing, partial and oversized requests, too many clients, idle
 * timeouts, stats streams, clients that vanish mid-response, mutations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <CUnit/Basic.h>
#include "config.h"
#include "control.h"
#include "core.h"
#include "evloop.h"
#include "testutil.h"

/* ---- the stub daemon ---- */

static struct xlb_config *model;
static int n_apply, n_save, save_fails;
static int explain_port;
static struct xlb_addr explain_client;
static json_int_t stats_tick;

static const char *initial_model =
	"{\"interface\": \"eth0\", \"vips\": [{\"address\": \"203.0.113.10\","
	" \"port\": 80, \"protocol\": \"tcp\", \"backends\": ["
	"{\"address\": \"198.51.100.11\"},"
	"{\"address\": \"198.51.100.12\", \"weight\": 50}]}]}";

static void model_reset(const char *text)
{
	struct cfg_msgs m = { 0 };
	struct xlb_config *c = cfg_parse(text, strlen(text), &m);

	if (!c) {
		for (size_t i = 0; i < m.n_err; i++)
			fprintf(stderr, "model: %s\n", m.err[i]);
		abort();
	}
	cfg_msgs_free(&m);
	cfg_free(model);
	model = c;
}

const struct xlb_config *core_config(void)
{
	return model;
}

int core_apply(struct xlb_config *next, char *err, size_t errlen)
{
	struct cfg_msgs m = { 0 };

	if (cfg_check_immutable(model, next, &m)) {
		snprintf(err, errlen, "%s", m.err[0]);
		cfg_msgs_free(&m);
		return -EINVAL;
	}
	cfg_msgs_free(&m);
	cfg_free(model);
	model = next;
	n_apply++;
	return 0;
}

int core_save_config(char *err, size_t errlen)
{
	if (save_fails) {
		snprintf(err, errlen, "/etc/xlb/xlb.json: Read-only file system");
		return -EROFS;
	}
	n_save++;
	return 0;
}

json_t *core_status(void)
{
	return json_pack("{s:s, s:I}", "version", "test", "vips",
			 (json_int_t)model->n_vips);
}

static json_t *vip_name(const struct xlb_vip_conf *v)
{
	char buf[XLB_VIPSTRLEN];

	return json_string(cfg_vip_fmt(v, buf, sizeof(buf)));
}

json_t *core_vip_list(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < model->n_vips; i++)
		json_array_append_new(a, json_pack("{s:o, s:I}", "vip",
						   vip_name(&model->vips[i]),
						   "backends",
						   (json_int_t)model->vips[i]
							   .n_backends));
	return a;
}

json_t *core_vip_show(const struct xlb_vip_conf *v)
{
	json_t *bs = json_array();

	for (size_t i = 0; i < v->n_backends; i++) {
		char a[XLB_ADDRSTRLEN];

		json_array_append_new(
			bs, json_pack("{s:s, s:I, s:s}", "address",
				      addr_fmt(&v->backends[i].addr, a, sizeof(a)),
				      "weight", (json_int_t)v->backends[i].weight,
				      "state",
				      cfg_state_name(v->backends[i].state)));
	}
	return json_pack("{s:o, s:I, s:o}", "vip", vip_name(v), "table_size",
			 (json_int_t)v->table_size, "backends", bs);
}

json_t *core_stats(const struct xlb_vip_conf *v)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return json_pack("{s:I, s:{s:I}, s:[]}", "timestamp_ms",
			 (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
			 "global", "passed", ++stats_tick, "vips");
}

json_t *core_health(const struct xlb_vip_conf *v)
{
	return json_array();
}

json_t *core_explain(const struct xlb_vip_conf *v,
		     const struct xlb_addr *client, int client_port,
		     char *err, size_t errlen)
{
	explain_client = *client;
	explain_port = client_port;
	return json_pack("{s:o, s:i}", "vip", vip_name(v), "port", client_port);
}

/* ---- the server, in a thread ---- */

static struct ev_loop *ev;
static struct ctl_server *srv;
static pthread_t loop_thread;
static int stop_pipe[2];
static char dir[64], sock_path[108];

static void stop_cb(void *arg, uint32_t events)
{
	ev_stop(ev);
}

static void *loop_main(void *arg)
{
	ev_run(ev);
	return NULL;
}

static void server_start(unsigned idle_ms)
{
	char err[256] = "";

	model_reset(initial_model);
	ev = ev_new();
	CU_ASSERT_FATAL(ev != NULL);
	srv = ctl_open(ev, sock_path, NULL, err, sizeof(err));
	if (!srv)
		fprintf(stderr, "ctl_open: %s\n", err);
	CU_ASSERT_FATAL(srv != NULL);
	if (idle_ms)
		ctl_set_timeouts(srv, idle_ms);
	CU_ASSERT_FATAL(pipe2(stop_pipe, O_CLOEXEC) == 0);
	ev_add_fd(ev, stop_pipe[0], EPOLLIN, stop_cb, NULL);
	CU_ASSERT_FATAL(pthread_create(&loop_thread, NULL, loop_main, NULL) == 0);
}

static void server_stop(void)
{
	CU_ASSERT(write(stop_pipe[1], "x", 1) == 1);
	pthread_join(loop_thread, NULL);
	ctl_close(srv);
	srv = NULL;
	ev_free(ev);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
}

/* ---- client helpers ---- */

static uint64_t now_ms(void)
{
	return ev_now_ms();
}

static int cli_connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cli_connect(void)
{
	int fd = cli_connect_to(sock_path);

	CU_ASSERT_FATAL(fd >= 0);
	return fd;
}

static void cli_send(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);

		CU_ASSERT_FATAL(w > 0);
		off += (size_t)w;
	}
}

/* Wait up to timeout_ms for a readable fd: 1 readable, 0 not. */
static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0;
}

/* One response line; NULL on EOF or timeout (*eof tells which). */
static json_t *cli_recv_eof(int fd, int timeout_ms, bool *eof)
{
	static char line[1 << 22];
	size_t n = 0;

	*eof = false;
	for (;;) {
		ssize_t r;

		if (!wait_readable(fd, timeout_ms))
			return NULL;
		r = recv(fd, line + n, 1, 0);
		if (r <= 0) {
			*eof = true;
			return NULL;
		}
		if (line[n] == '\n')
			break;
		if (++n >= sizeof(line) - 1)
			return NULL;
	}
	return json_loadb(line, n, 0, NULL);
}

static json_t *cli_recv(int fd)
{
	bool eof;

	return cli_recv_eof(fd, 5000, &eof);
}

/* Is the connection closed by the server within timeout_ms? */
static bool cli_closed(int fd, int timeout_ms)
{
	char c;
	ssize_t r;

	if (!wait_readable(fd, timeout_ms))
		return false;
	/* A server closing with our unread bytes in its queue makes AF_UNIX
	 * report ECONNRESET instead of EOF. */
	r = recv(fd, &c, 1, MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

/* Send one request (no newline needed), return the whole response. */
static json_t *rpc(int fd, const char *req)
{
	cli_send(fd, req);
	cli_send(fd, "\n");
	return cli_recv(fd);
}

static bool resp_ok(json_t *r)
{
	if (r && !json_is_true(json_object_get(r, "ok")))
		fprintf(stderr, "unexpected error: %s\n",
			json_string_value(json_object_get(r, "error")));
	return r && json_is_true(json_object_get(r, "ok"));
}

/* The response is an error containing want. */
static bool resp_err(json_t *r, const char *want)
{
	const char *e = json_string_value(json_object_get(r, "error"));

	if (!r || json_is_true(json_object_get(r, "ok")) || !e) {
		fprintf(stderr, "expected an error with \"%s\", got %s\n", want,
			r ? "success" : "nothing");
		return false;
	}
	if (!strstr(e, want)) {
		fprintf(stderr, "error \"%s\", expected it to contain \"%s\"\n",
			e, want);
		return false;
	}
	return true;
}

static const struct xlb_vip_conf *find_vip(const char *s)
{
	struct xlb_addr a;
	uint16_t port;
	uint8_t proto;

	if (cfg_vip_parse(s, &a, &port, &proto))
		return NULL;
	return cfg_find_vip(model, &a, port, proto);
}

static const struct xlb_backend_conf *find_be(const char *vip, const char *addr)
{
	const struct xlb_vip_conf *v = find_vip(vip);
	struct xlb_addr a;

	if (!v || addr_parse(addr, &a))
		return NULL;
	return cfg_find_backend(v, &a);
}

#define VIP "203.0.113.10:80/tcp"

/* ---- tests ---- */

static void test_framing(void)
{
	json_t *r;
	int fd;

	server_start(0);
	fd = cli_connect();
	/* Two requests in one write: two responses, in order, id echoed. */
	cli_send(fd, "{\"cmd\":\"status\"}\n{\"cmd\":\"vip list\",\"id\":7}\n");
	r = cli_recv(fd);
	CU_ASSERT(resp_ok(r));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
				       json_object_get(r, "result"), "version")),
			       "test");
	json_decref(r);
	r = cli_recv(fd);
	CU_ASSERT(resp_ok(r));
	CU_ASSERT(json_integer_value(json_object_get(r, "id")) == 7);
	CU_ASSERT(json_array_size(json_object_get(r, "result")) == 1);
	json_decref(r);

	/* A request in pieces is answered once it is complete. */
	cli_send(fd, "{\"cmd\":");
	usleep(50000);
	CU_ASSERT(!wait_readable(fd, 0));
	cli_send(fd, "\"status\"}");
	usleep(50000);
	CU_ASSERT(!wait_readable(fd, 0));
	cli_send(fd, "\r\n");
	r = cli_recv(fd);
	CU_ASSERT(resp_ok(r));
	json_decref(r);

	/* Blank lines are ignored; bad JSON gets an error, not a hangup. */
	cli_send(fd, "\n  \n");
	r = rpc(fd, "this is not json");
	CU_ASSERT(resp_err(r, "invalid JSON"));
	json_decref(r);
	r = rpc(fd, "[1,2]");
	CU_ASSERT(resp_err(r, "JSON object"));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"frobnicate\"}");
	CU_ASSERT(resp_err(r, "unknown command \"frobnicate\""));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"status\",\"cmd\":\"status\"}");
	CU_ASSERT(resp_err(r, "invalid JSON"));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"vip show\",\"vip\":\"" VIP "\",\"wieght\":1}");
	CU_ASSERT(resp_err(r, "unknown key \"wieght\""));
	json_decref(r);
	r = rpc(fd, "{\"vip\":\"" VIP "\"}");
	CU_ASSERT(resp_err(r, "cmd: required"));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"status\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);

	/* A last request ended by shutdown instead of a newline (what
	 * `printf ... | socat` does) is answered, then the server closes. */
	cli_send(fd, "{\"cmd\":\"status\"}");
	shutdown(fd, SHUT_WR);
	r = cli_recv(fd);
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(cli_closed(fd, 2000));
	close(fd);

	/* A large (1 MiB) valid request is fine. */
	fd = cli_connect();
	{
		size_t n = 1 << 20;
		char *big = malloc(n + 64);

		strcpy(big, "{\"cmd\":\"status\",\"id\":\"");
		memset(big + strlen(big), 'x', n);
		strcpy(big + 22 + n, "\"}");
		r = rpc(fd, big);
		CU_ASSERT(resp_ok(r));
		CU_ASSERT(json_string_length(json_object_get(r, "id")) == n);
		json_decref(r);
		free(big);
	}
	close(fd);
	server_stop();
}

static void test_oversize(void)
{
	size_t total = 20u << 20, sent = 0, chunk = 1 << 16;
	char *buf = malloc(chunk);
	json_t *r = NULL;
	bool eof = false;
	int fd;

	server_start(0);
	fd = cli_connect();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	memset(buf, 'a', chunk);
	/* 20 MB without a newline: an error line, then the server closes. */
	while (sent < total) {
		ssize_t w = send(fd, buf, chunk, MSG_NOSIGNAL);

		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			break;
		if (wait_readable(fd, 10))
			break;
	}
	CU_ASSERT(sent > CTL_MAX_REQUEST);
	fcntl(fd, F_SETFL, 0);
	r = cli_recv_eof(fd, 5000, &eof);
	CU_ASSERT(resp_err(r, "request too large"));
	json_decref(r);
	CU_ASSERT(cli_closed(fd, 5000));
	close(fd);

	/* Others are still served. */
	fd = cli_connect();
	r = rpc(fd, "{\"cmd\":\"status\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	close(fd);
	free(buf);
	server_stop();
}

static void test_too_many_clients(void)
{
	int fds[CTL_MAX_CLIENTS], extra, fd = -1;
	json_t *r;
	bool ok = false;

	server_start(0);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		fds[i] = cli_connect();
	/* The last one answering means all were accepted (FIFO backlog). */
	r = rpc(fds[CTL_MAX_CLIENTS - 1], "{\"cmd\":\"status\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);

	extra = cli_connect();
	r = cli_recv(extra);
	CU_ASSERT(resp_err(r, "too many clients"));
	json_decref(r);
	CU_ASSERT(cli_closed(extra, 2000));
	close(extra);

	/* The first still works; once one leaves, a newcomer is served. */
	r = rpc(fds[0], "{\"cmd\":\"status\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	close(fds[0]);
	for (int tries = 0; tries < 40 && !ok; tries++) {
		usleep(25000);
		fd = cli_connect();
		r = rpc(fd, "{\"cmd\":\"status\"}");
		ok = resp_ok(r);
		json_decref(r);
		if (!ok)
			close(fd);
	}
	CU_ASSERT(ok);
	if (ok)
		close(fd);
	for (int i = 1; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
	server_stop();
}

static void test_idle_timeout(void)
{
	int silent, partial, busy, watch;
	uint64_t t0;
	json_t *r;
	int samples = 0;
	bool eof;

	server_start(300);
	t0 = now_ms();
	silent = cli_connect();
	partial = cli_connect();
	busy = cli_connect();
	watch = cli_connect();
	cli_send(partial, "{\"cmd\":\"sta");

	r = rpc(watch, "{\"cmd\":\"stats\",\"watch\":1}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	samples = 1;

	/* busy: a request every 100 ms keeps it open well past 300 ms. */
	for (int i = 0; i < 8; i++) {
		usleep(100000);
		r = rpc(busy, "{\"cmd\":\"status\"}");
		CU_ASSERT(resp_ok(r));
		json_decref(r);
	}
	CU_ASSERT(cli_closed(silent, 2000));
	CU_ASSERT(cli_closed(partial, 2000));
	CU_ASSERT(now_ms() - t0 >= 290);
	/* busy stays open between requests: idle counts from the last one */
	CU_ASSERT(!cli_closed(busy, 100));
	CU_ASSERT(cli_closed(busy, 2000));

	/* The stream is not idle: samples keep coming past the timeout. */
	while (now_ms() - t0 < 2600) {
		r = cli_recv_eof(watch, 1500, &eof);
		if (!r)
			break;
		CU_ASSERT(resp_ok(r));
		CU_ASSERT(json_is_integer(json_object_get(
			json_object_get(json_object_get(r, "result"), "global"),
			"passed")));
		json_decref(r);
		samples++;
	}
	CU_ASSERT(samples >= 3);
	CU_ASSERT(!eof);
	close(silent);
	close(partial);
	close(busy);
	close(watch);
	server_stop();
}

static void test_vanishing_clients(void)
{
	char cfg[1 << 18];
	size_t n;
	json_t *r;
	int fd;

	server_start(0);
	/* A model whose dump is bigger than a socket buffer. */
	n = (size_t)snprintf(cfg, sizeof(cfg),
			     "{\"interface\":\"eth0\",\"vips\":[{\"address\":"
			     "\"203.0.113.10\",\"port\":80,\"protocol\":\"tcp\","
			     "\"table_size\":1048573,\"backends\":[");
	for (int i = 0; i < 3000; i++)
		n += (size_t)snprintf(cfg + n, sizeof(cfg) - n,
				      "%s{\"address\":\"10.%d.%d.1\"}",
				      i ? "," : "", i / 250, i % 250);
	snprintf(cfg + n, sizeof(cfg) - n, "]}]}");
	model_reset(cfg);

	for (int i = 0; i < 5; i++) {
		fd = cli_connect();
		cli_send(fd, "{\"cmd\":\"config dump\"}\n");
		if (i % 2) {
			char b[100];

			CU_ASSERT(wait_readable(fd, 2000));
			CU_ASSERT(recv(fd, b, sizeof(b), 0) > 0);
		}
		close(fd);
	}
	/* A stream whose client leaves. */
	fd = cli_connect();
	r = rpc(fd, "{\"cmd\":\"stats\",\"watch\":1}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	close(fd);
	usleep(100000);

	fd = cli_connect();
	r = rpc(fd, "{\"cmd\":\"config dump\"}");
	CU_ASSERT(resp_ok(r));
	CU_ASSERT(json_array_size(json_object_get(
			  json_array_get(json_object_get(json_object_get(r, "result"),
							 "vips"),
					 0),
			  "backends")) == 3000);
	json_decref(r);
	close(fd);
	server_stop();
}

static void test_mutations(void)
{
	const struct xlb_backend_conf *b;
	const struct xlb_vip_conf *v;
	json_t *r, *res, *dump;
	char *s, *req;
	int fd, applies;

	server_start(0);
	fd = cli_connect();

	/* vip add with options; a duplicate is refused. */
	r = rpc(fd, "{\"cmd\":\"vip add\",\"vip\":\"203.0.113.20:443/tcp\","
		    "\"table_size\":251,\"hash\":\"src_ip\"}");
	CU_ASSERT(resp_ok(r));
	CU_ASSERT(json_is_object(json_object_get(
		json_object_get(r, "result"), "diff")));
	json_decref(r);
	v = find_vip("203.0.113.20:443/tcp");
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT(v->table_size == 251);
	CU_ASSERT(v->hash == XLB_HASH_SRC_IP);
	CU_ASSERT(model->n_vips == 2);
	r = rpc(fd, "{\"cmd\":\"vip add\",\"vip\":\"203.0.113.20:443/tcp\"}");
	CU_ASSERT(resp_err(r, "vip 203.0.113.20:443/tcp: already exists"));
	json_decref(r);
	/* Invalid values come back naming the VIP, and change nothing. */
	applies = n_apply;
	r = rpc(fd, "{\"cmd\":\"vip add\",\"vip\":\"203.0.113.21:80/tcp\","
		    "\"table_size\":100}");
	CU_ASSERT(resp_err(r, "vip 203.0.113.21:80/tcp: table_size 100"));
	json_decref(r);
	CU_ASSERT(n_apply == applies && model->n_vips == 2);
	r = rpc(fd, "{\"cmd\":\"vip add\",\"vip\":\"203.0.113.21:80\"}");
	CU_ASSERT(resp_err(r, "vip 203.0.113.21:80: invalid"));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"vip show\",\"vip\":\"203.0.113.99:80/tcp\"}");
	CU_ASSERT(resp_err(r, "vip 203.0.113.99:80/tcp: no such VIP"));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"vip show\",\"vip\":\"" VIP "\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);

	/* backends: add, duplicate, bad weight, set, del. */
	r = rpc(fd, "{\"cmd\":\"backend add\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.13\",\"weight\":7}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	b = find_be(VIP, "198.51.100.13");
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(b->weight == 7);
	r = rpc(fd, "{\"cmd\":\"backend add\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.13\"}");
	CU_ASSERT(resp_err(r, "backend 198.51.100.13: already exists"));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"backend set\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.13\",\"weight\":70000}");
	CU_ASSERT(resp_err(r, "vip " VIP ": backend 198.51.100.13: weight "
			      "70000: must be 0..65535"));
	json_decref(r);
	CU_ASSERT(find_be(VIP, "198.51.100.13")->weight == 7);
	r = rpc(fd, "{\"cmd\":\"backend set\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.13\",\"state\":\"draining\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(find_be(VIP, "198.51.100.13")->state == XLB_STATE_DRAINING);
	CU_ASSERT(find_be(VIP, "198.51.100.13")->weight == 7);
	r = rpc(fd, "{\"cmd\":\"backend set\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.13\"}");
	CU_ASSERT(resp_err(r, "nothing to set"));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"backend set\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.99\",\"weight\":1}");
	CU_ASSERT(resp_err(r, "backend 198.51.100.99: no such backend"));
	json_decref(r);
	/* depends on running state: an IPv4 backend for an IPv6 VIP */
	r = rpc(fd, "{\"cmd\":\"vip add\",\"vip\":\"[2001:db8::10]:443/tcp\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"backend add\",\"vip\":\"[2001:DB8:0::10]:443/tcp\","
		    "\"address\":\"198.51.100.5\"}");
	CU_ASSERT(resp_err(r, "vip [2001:db8::10]:443/tcp: backend 198.51.100.5"));
	json_decref(r);
	CU_ASSERT(find_be("[2001:db8::10]:443/tcp", "198.51.100.5") == NULL);
	r = rpc(fd, "{\"cmd\":\"vip del\",\"vip\":\"[2001:db8::10]:443/tcp\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"backend list\",\"vip\":\"" VIP "\"}");
	CU_ASSERT(resp_ok(r));
	CU_ASSERT(json_array_size(json_object_get(r, "result")) == 3);
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"backend del\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.13\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(find_be(VIP, "198.51.100.13") == NULL);
	r = rpc(fd, "{\"cmd\":\"backend del\",\"vip\":\"" VIP "\","
		    "\"address\":\"198.51.100.13\"}");
	CU_ASSERT(resp_err(r, "no such backend"));
	json_decref(r);

	/* replace, both forms */
	r = rpc(fd, "{\"cmd\":\"backend replace\",\"vip\":\"" VIP "\","
		    "\"backends\":[{\"address\":\"198.51.100.21\"},"
		    "{\"address\":\"198.51.100.22\",\"weight\":1}]}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(find_vip(VIP)->n_backends == 2);
	CU_ASSERT(find_be(VIP, "198.51.100.22")->weight == 1);
	r = rpc(fd, "{\"cmd\":\"backend replace\",\"vip\":\"" VIP "\","
		    "\"backends\":{\"backends\":[{\"address\":\"198.51.100.31\"}]}}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(find_vip(VIP)->n_backends == 1);
	r = rpc(fd, "{\"cmd\":\"backend replace\",\"vip\":\"" VIP "\","
		    "\"backends\":[{\"address\":\"198.51.100.31\",\"weight\":-1}]}");
	CU_ASSERT(resp_err(r, "vip " VIP ": backend 198.51.100.31: weight -1"));
	json_decref(r);

	/* vip del */
	r = rpc(fd, "{\"cmd\":\"vip del\",\"vip\":\"203.0.113.20:443/tcp\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(find_vip("203.0.113.20:443/tcp") == NULL);
	r = rpc(fd, "{\"cmd\":\"vip del\",\"vip\":\"203.0.113.20:443/tcp\"}");
	CU_ASSERT(resp_err(r, "no such VIP"));
	json_decref(r);

	/* config dump, and dump -> apply -> dump is identical */
	r = rpc(fd, "{\"cmd\":\"config dump\"}");
	CU_ASSERT(resp_ok(r));
	dump = cfg_dump(model);
	CU_ASSERT(json_equal(json_object_get(r, "result"), dump));
	req = NULL;
	{
		json_t *a = json_pack("{s:s, s:O}", "cmd", "apply", "config",
				      json_object_get(r, "result"));

		req = json_dumps(a, JSON_COMPACT);
		json_decref(a);
	}
	json_decref(r);
	applies = n_apply;
	r = rpc(fd, req);
	free(req);
	CU_ASSERT(resp_ok(r));
	res = json_object_get(r, "result");
	CU_ASSERT(json_is_true(json_object_get(res, "applied")));
	CU_ASSERT(json_is_false(json_object_get(json_object_get(res, "diff"),
						"changed")));
	json_decref(r);
	CU_ASSERT(n_apply == applies + 1);
	r = rpc(fd, "{\"cmd\":\"config dump\"}");
	CU_ASSERT(json_equal(json_object_get(r, "result"), dump));
	json_decref(r);
	json_decref(dump);

	/* apply --dry-run: a diff, no change */
	applies = n_apply;
	r = rpc(fd, "{\"cmd\":\"apply\",\"dry_run\":true,\"config\":"
		    "{\"interface\":\"eth0\",\"vips\":[{\"address\":"
		    "\"203.0.113.30\",\"port\":53,\"protocol\":\"udp\"}]}}");
	CU_ASSERT(resp_ok(r));
	res = json_object_get(r, "result");
	CU_ASSERT(json_is_false(json_object_get(res, "applied")));
	CU_ASSERT(json_is_true(json_object_get(json_object_get(res, "diff"),
					       "changed")));
	s = json_dumps(json_object_get(res, "diff"), JSON_COMPACT);
	CU_ASSERT(s && strstr(s, "203.0.113.30:53/udp") && strstr(s, VIP));
	free(s);
	json_decref(r);
	CU_ASSERT(n_apply == applies && find_vip(VIP) != NULL);

	/* apply: an invalid document names its own paths, changes nothing */
	r = rpc(fd, "{\"cmd\":\"apply\",\"config\":{\"interface\":\"eth0\","
		    "\"vips\":[{\"address\":\"203.0.113.30\",\"port\":0,"
		    "\"protocol\":\"udp\"},{\"address\":\"203.0.113.31\","
		    "\"protocol\":\"udp\"}]}}");
	CU_ASSERT(resp_err(r, "vips[0].port"));
	CU_ASSERT(json_array_size(json_object_get(r, "errors")) >= 2);
	json_decref(r);
	CU_ASSERT(n_apply == applies && find_vip(VIP) != NULL);
	r = rpc(fd, "{\"cmd\":\"apply\",\"config\":[]}");
	CU_ASSERT(resp_err(r, "config: must be a JSON object"));
	json_decref(r);
	/* an immutable key: refused by the core, nothing changed */
	r = rpc(fd, "{\"cmd\":\"apply\",\"config\":{\"interface\":\"eth0\","
		    "\"max_vips\":9}}");
	CU_ASSERT(resp_err(r, "max_vips"));
	json_decref(r);
	CU_ASSERT(n_apply == applies);

	/* apply --save, config save, and a failing save */
	r = rpc(fd, "{\"cmd\":\"apply\",\"save\":true,\"config\":"
		    "{\"interface\":\"eth0\",\"vips\":[{\"address\":"
		    "\"203.0.113.30\",\"port\":53,\"protocol\":\"udp\"}]}}");
	CU_ASSERT(resp_ok(r));
	CU_ASSERT(json_is_true(json_object_get(json_object_get(r, "result"),
					       "saved")));
	json_decref(r);
	CU_ASSERT(n_save == 1 && n_apply == applies + 1);
	CU_ASSERT(find_vip(VIP) == NULL && find_vip("203.0.113.30:53/udp"));
	r = rpc(fd, "{\"cmd\":\"config save\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(n_save == 2);
	save_fails = 1;
	r = rpc(fd, "{\"cmd\":\"config save\"}");
	CU_ASSERT(resp_err(r, "Read-only file system"));
	json_decref(r);
	save_fails = 0;

	/* explain: the client's forms */
	r = rpc(fd, "{\"cmd\":\"explain\",\"vip\":\"203.0.113.30:53/udp\","
		    "\"client\":\"192.0.2.77:40000\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(explain_port == 40000 && explain_client.family == AF_INET);
	r = rpc(fd, "{\"cmd\":\"explain\",\"vip\":\"203.0.113.30:53/udp\","
		    "\"client\":\"[2001:db8::7]:5\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(explain_port == 5 && explain_client.family == AF_INET6);
	r = rpc(fd, "{\"cmd\":\"explain\",\"vip\":\"203.0.113.30:53/udp\","
		    "\"client\":\"192.0.2.77\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	CU_ASSERT(explain_port == -1);
	r = rpc(fd, "{\"cmd\":\"explain\",\"vip\":\"203.0.113.30:53/udp\","
		    "\"client\":\"192.0.2.77:99999\"}");
	CU_ASSERT(resp_err(r, "client 192.0.2.77:99999"));
	json_decref(r);

	/* stats / health with and without a VIP; a bad watch interval */
	r = rpc(fd, "{\"cmd\":\"stats\",\"vip\":\"203.0.113.30:53/udp\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"health\"}");
	CU_ASSERT(resp_ok(r));
	json_decref(r);
	r = rpc(fd, "{\"cmd\":\"stats\",\"watch\":0}");
	CU_ASSERT(resp_err(r, "watch: must be 1.."));
	json_decref(r);
	close(fd);
	server_stop();
}

static void test_client_parse(void)
{
	struct xlb_addr a;
	int port;

	CU_ASSERT(ctl_parse_client("192.0.2.1:80", &a, &port) == 0 && port == 80);
	CU_ASSERT(ctl_parse_client("192.0.2.1", &a, &port) == 0 && port == -1);
	CU_ASSERT(ctl_parse_client("2001:db8::1", &a, &port) == 0 &&
		  port == -1 && a.family == AF_INET6);
	CU_ASSERT(ctl_parse_client("[2001:db8::1]:443", &a, &port) == 0 &&
		  port == 443);
	CU_ASSERT(ctl_parse_client("[2001:db8::1]", &a, &port) == 0 &&
		  port == -1);
	CU_ASSERT(ctl_parse_client("[192.0.2.1]:80", &a, &port) < 0);
	CU_ASSERT(ctl_parse_client("192.0.2.1:", &a, &port) < 0);
	CU_ASSERT(ctl_parse_client("192.0.2.1:65536", &a, &port) < 0);
	CU_ASSERT(ctl_parse_client("192.0.2.1:-1", &a, &port) < 0);
	CU_ASSERT(ctl_parse_client("host:80", &a, &port) < 0);
	CU_ASSERT(ctl_parse_client("", &a, &port) < 0);
}

static void test_socket_file(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *s2;
	char err[256] = "", path[96];
	struct stat st;
	int fd;

	model_reset(initial_model);
	ev = ev_new();
	/* parent directories are created; mode 0660; group as asked */
	snprintf(path, sizeof(path), "%s/a/b/xlbd.sock", dir);
	srv = ctl_open(ev, path, "0", err, sizeof(err));
	CU_ASSERT_FATAL(srv != NULL);
	CU_ASSERT(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CU_ASSERT((st.st_mode & 07777) == 0660);
	CU_ASSERT(st.st_gid == 0);

	/* a live socket is refused, and left alone */
	s2 = ctl_open(ev, path, NULL, err, sizeof(err));
	CU_ASSERT(s2 == NULL);
	CU_ASSERT(strstr(err, "another xlbd") != NULL);
	CU_ASSERT(stat(path, &st) == 0);
	ctl_close(srv);
	CU_ASSERT(stat(path, &st) < 0); /* removed on close */

	/* a stale socket is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CU_ASSERT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(fd);
	CU_ASSERT(stat(path, &st) == 0);
	err[0] = '\0';
	srv = ctl_open(ev, path, NULL, err, sizeof(err));
	CU_ASSERT(srv != NULL);
	ctl_close(srv);

	/* not a socket: refused */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	srv = ctl_open(ev, path, NULL, err, sizeof(err));
	CU_ASSERT(srv == NULL);
	CU_ASSERT(strstr(err, "not a socket") != NULL);
	unlink(path);

	/* an unknown group */
	srv = ctl_open(ev, path, "no-such-group-xlb", err, sizeof(err));
	CU_ASSERT(srv == NULL);
	CU_ASSERT(strstr(err, "no-such-group-xlb") != NULL);
	ev_free(ev);
}

int main(void)
{
	CU_pSuite s;
	int ret;

	snprintf(dir, sizeof(dir), "/tmp/xlb-test-control.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/xlbd.sock", dir);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("control", NULL, NULL);
	CU_add_test(s, "client address parsing", test_client_parse);
	CU_add_test(s, "socket file: mode, group, stale, live", test_socket_file);
	CU_add_test(s, "framing and bad requests", test_framing);
	CU_add_test(s, "mutations through the stub core", test_mutations);
	CU_add_test(s, "oversized request (20 MB)", test_oversize);
	CU_add_test(s, "too many clients", test_too_many_clients);
	CU_add_test(s, "idle timeout and stats stream", test_idle_timeout);
	CU_add_test(s, "clients vanishing mid-response", test_vanishing_clients);
	ret = test_run_cunit();
	cfg_free(model);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			ret = ret ? ret : 1;
	}
	return ret;
}
