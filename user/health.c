// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * health.c - the health-check module (hc_): one record per (VIP, backend)
 * pair, its schedule and its state machine.
 *
 * Schedule: one evloop timer per pair.  While idle it is armed for the
 * next check; while a check runs it is armed for the timeout.  The first
 * check of a new pair runs at once; the second one interval + phase later,
 * where phase (0..interval) comes from a hash of the pair, so that after
 * the first round the checks are spread evenly over the interval; from
 * then on every check is due exactly one interval after the previous one
 * was due (no drift).
 *
 * Every check ends in hc_check_done() (a result) or hc_check_skip() (no
 * result); hc_record() is the one place that counts rise/fall, logs a
 * transition once and calls the notify callback.
 *
 * Entries removed by hc_sync() while a callback of this module is on the
 * stack are only unlinked and closed; they are freed at the end of the
 * loop turn (post hook), so no callback ever touches freed memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "log.h"

#define HC_MIN_BUCKETS 1024
#define HC_IO_BATCH 256
#define HC_LATE_RES_US 100		  /* lateness histogram: 0.1 ms */
#define HC_LATE_BUCKETS 50000	  /* up to 5 s, then the last bucket */
#define HC_SKIP_LOG_MS 10000	  /* at most one local-error line per 10 s */

static struct hc_state {
	bool init;
	struct ev_loop *ev;
	struct ev_loop *hooked; /* loop our post hook is registered with */
	hc_notify_cb cb;
	void *ctx;
	int epfd;
	struct hc_entry **tab;
	size_t n_buckets, n_entries;
	unsigned gen;
	int in_cb; /* depth of this module's callbacks on the stack */
	struct hc_entry *graveyard;
	uint64_t last_skip_log;
	unsigned skipped;
} hc = { .epfd = -1 };

static uint32_t hc_late_hist[HC_LATE_BUCKETS];
static uint64_t hc_late_n;

/* ---- small helpers ---- */

static uint64_t hc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t hc_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Address text without depending on addr.c: inet_ntop on the bytes. */
static const char *hc_addr_str(const struct xlb_addr *a, char *buf,
			       size_t len)
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->bytes,
		       buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* "ADDR:PORT" with brackets around IPv6 addresses. */
static void hc_hostport(const struct xlb_addr *a, uint16_t port, char *buf,
			size_t len)
{
	char s[INET6_ADDRSTRLEN];

	hc_addr_str(a, s, sizeof(s));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", s, port);
	else
		snprintf(buf, len, "%s:%u", s, port);
}

static void hc_vip_str(const struct hc_key *k, char *buf, size_t len)
{
	char hp[INET6_ADDRSTRLEN + 8];

	hc_hostport(&k->vip, k->vport, hp, sizeof(hp));
	snprintf(buf, len, "%s/%s", hp,
		 k->proto == IPPROTO_UDP ? "udp" :
		 k->proto == IPPROTO_TCP ? "tcp" : "?");
}

const char *hc_health_name(enum hc_health h)
{
	switch (h) {
	case HC_UNCHECKED:
		return "unchecked";
	case HC_UP:
		return "up";
	case HC_DOWN:
		return "down";
	}
	return "?";
}

static const struct hc_check_ops *hc_ops_of(enum xlb_hc_type t)
{
	switch (t) {
	case XLB_HC_TCP:
		return &hc_tcp_ops;
	case XLB_HC_HTTP:
		return &hc_http_ops;
	case XLB_HC_UDP:
		return &hc_udp_ops;
	case XLB_HC_NONE:
		break;
	}
	return NULL;
}

/* ---- the table of pairs ---- */

static void hc_key_make(struct hc_key *k, const struct xlb_vip_conf *vip,
			const struct xlb_backend_conf *be)
{
	memset(k, 0, sizeof(*k));
	k->vip.family = vip->addr.family;
	memcpy(k->vip.bytes, vip->addr.bytes, addr_len(&vip->addr));
	k->be.family = be->addr.family;
	memcpy(k->be.bytes, be->addr.bytes, addr_len(&be->addr));
	k->vport = vip->port;
	k->proto = vip->proto;
}

static uint64_t hc_key_hash(const struct hc_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	/* finalise (splitmix64) so that low bits are well mixed */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static struct hc_entry *hc_lookup(const struct hc_key *k, uint64_t h)
{
	struct hc_entry *e;

	if (!hc.tab)
		return NULL;
	for (e = hc.tab[h & (hc.n_buckets - 1)]; e; e = e->hnext)
		if (e->hash == h && !memcmp(&e->key, k, sizeof(*k)))
			return e;
	return NULL;
}

/* Make room for want entries at a load of at most 1.  0 or -ENOMEM. */
static int hc_tab_reserve(size_t want)
{
	size_t n = hc.n_buckets ? hc.n_buckets : HC_MIN_BUCKETS;
	struct hc_entry **tab;

	while (n < want)
		n *= 2;
	if (n == hc.n_buckets)
		return 0;
	tab = calloc(n, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < hc.n_buckets; i++) {
		while (hc.tab[i]) {
			struct hc_entry *e = hc.tab[i];

			hc.tab[i] = e->hnext;
			e->hnext = tab[e->hash & (n - 1)];
			tab[e->hash & (n - 1)] = e;
		}
	}
	free(hc.tab);
	hc.tab = tab;
	hc.n_buckets = n;
	return 0;
}

static void hc_tab_insert(struct hc_entry *e)
{
	struct hc_entry **b = &hc.tab[e->hash & (hc.n_buckets - 1)];

	e->hnext = *b;
	*b = e;
	hc.n_entries++;
}

static void hc_tab_unlink(struct hc_entry *e)
{
	struct hc_entry **p = &hc.tab[e->hash & (hc.n_buckets - 1)];

	while (*p && *p != e)
		p = &(*p)->hnext;
	if (*p) {
		*p = e->hnext;
		hc.n_entries--;
	}
	e->hnext = NULL;
}

/* ---- check settings ---- */

static void hc_probe_free(struct hc_probe *p)
{
	free(p->blob);
	memset(p, 0, sizeof(*p));
}

/* Copy the effective settings of a pair and prepare the bytes to send.
 * 0 or -ENOMEM. */
static int hc_probe_make(struct hc_probe *p, const struct xlb_vip_conf *vip,
			 const struct xlb_hc_conf *c)
{
	size_t lpath = c->path ? strlen(c->path) + 1 : 0;
	size_t lhost = c->host ? strlen(c->host) + 1 : 0;
	size_t lpay = c->payload ? c->payload_len : 0;
	char vhost[INET6_ADDRSTRLEN + 2], a[INET6_ADDRSTRLEN];
	const char *host, *path;
	size_t lreq = 0;
	char *q;

	memset(p, 0, sizeof(*p));
	p->type = c->type;
	p->port = c->port ? c->port : vip->port;
	p->expect_status = c->expect_status ? c->expect_status : 200;
	p->interval_ms = c->interval_ms ? c->interval_ms : 2000;
	p->timeout_ms = c->timeout_ms ? c->timeout_ms : 1000;
	if (p->timeout_ms > p->interval_ms)
		p->timeout_ms = p->interval_ms;
	p->rise = c->rise ? c->rise : 2;
	p->fall = c->fall ? c->fall : 3;

	path = c->path && *c->path ? c->path : "/";
	if (c->host && *c->host) {
		host = c->host;
	} else {
		hc_addr_str(&vip->addr, a, sizeof(a));
		snprintf(vhost, sizeof(vhost),
			 vip->addr.family == AF_INET6 ? "[%s]" : "%s", a);
		host = vhost;
	}
	if (c->type == XLB_HC_HTTP)
		lreq = strlen(path) + strlen(host) + 96;
	else if (c->type == XLB_HC_UDP)
		lreq = lpay;

	p->blob = malloc(lpath + lhost + lpay + lreq + 1);
	if (!p->blob)
		return -ENOMEM;
	q = p->blob;
	if (c->path) {
		p->path = memcpy(q, c->path, lpath);
		q += lpath;
	}
	if (c->host) {
		p->host = memcpy(q, c->host, lhost);
		q += lhost;
	}
	if (lpay) {
		p->payload = memcpy(q, c->payload, lpay);
		p->payload_len = lpay;
		q += lpay;
	}
	p->req = q;
	if (c->type == XLB_HC_HTTP) {
		int n = snprintf(q, lreq,
				 "GET %s HTTP/1.1\r\n"
				 "Host: %s\r\n"
				 "User-Agent: xlbd-health\r\n"
				 "Connection: close\r\n"
				 "\r\n",
				 path, host);

		p->req_len = n > 0 ? (size_t)n : 0;
	} else if (c->type == XLB_HC_UDP && lpay) {
		memcpy(q, c->payload, lpay);
		p->req_len = lpay;
	}
	return 0;
}

static bool hc_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

/* Does the probe itself (what is sent where, what counts as success)
 * differ?  Then the pair's health is measured afresh. */
static bool hc_probe_changed(const struct hc_probe *o, const struct hc_probe *n)
{
	if (o->type != n->type || o->port != n->port)
		return true;
	switch (n->type) {
	case XLB_HC_HTTP:
		return o->expect_status != n->expect_status ||
		       !hc_str_eq(o->path, n->path) ||
		       !hc_str_eq(o->host, n->host);
	case XLB_HC_UDP:
		return o->payload_len != n->payload_len ||
		       (n->payload_len &&
			memcmp(o->payload, n->payload, n->payload_len));
	default:
		return false;
	}
}

static bool hc_timing_changed(const struct hc_probe *o,
			      const struct hc_probe *n)
{
	return o->interval_ms != n->interval_ms ||
	       o->timeout_ms != n->timeout_ms || o->rise != n->rise ||
	       o->fall != n->fall;
}

static void hc_set_dst(struct hc_entry *e)
{
	const struct xlb_addr *a = &e->key.be;

	memset(&e->dst, 0, sizeof(e->dst));
	if (a->family == AF_INET6) {
		e->dst.in6.sin6_family = AF_INET6;
		e->dst.in6.sin6_port = htons(e->conf.port);
		memcpy(&e->dst.in6.sin6_addr, a->bytes, 16);
		e->dst_len = sizeof(e->dst.in6);
	} else {
		e->dst.in4.sin_family = AF_INET;
		e->dst.in4.sin_port = htons(e->conf.port);
		memcpy(&e->dst.in4.sin_addr, a->bytes, 4);
		e->dst_len = sizeof(e->dst.in4);
	}
	hc_hostport(a, e->conf.port, e->name, sizeof(e->name));
}

/* ---- sockets ---- */

int hc_sock_connect(struct hc_entry *e, int type, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };
	int fd, rc = 0;

	fd = socket(e->dst.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (connect(fd, &e->dst.sa, e->dst_len) < 0) {
		rc = -errno;
		if (rc != -EINPROGRESS) {
			close(fd);
			return rc;
		}
	}
	if (epoll_ctl(hc.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	e->fd = fd;
	e->in_set = true;
	return rc;
}

int hc_sock_watch(struct hc_entry *e, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };

	return epoll_ctl(hc.epfd, EPOLL_CTL_MOD, e->fd, &ev) < 0 ? -errno : 0;
}

int hc_sock_error(struct hc_entry *e)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

void hc_sock_close(struct hc_entry *e, bool rst)
{
	if (e->fd < 0)
		return;
	if (rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	/* close() also drops the socket from the epoll set: one syscall
	 * fewer than EPOLL_CTL_DEL, and we never dup check sockets. */
	close(e->fd);
	e->fd = -1;
	e->in_set = false;
}

/* ---- the state machine ---- */

static void hc_record(struct hc_entry *e, bool ok, const char *reason,
		      uint32_t latency_us)
{
	struct hc_status *st = &e->st;
	enum hc_health old = st->health;
	char cnt[32] = "first check";

	st->checks_done++;
	st->last_ok = ok;
	snprintf(st->last_result, sizeof(st->last_result), "%s", reason);
	st->last_latency_us = latency_us;
	st->last_check_ms = hc_realtime_ms();

	switch (old) {
	case HC_UNCHECKED:
		/* the first result decides at once: rise/fall count after */
		st->health = ok ? HC_UP : HC_DOWN;
		st->rise_cnt = st->fall_cnt = 0;
		break;
	case HC_UP:
		st->rise_cnt = 0;
		if (ok) {
			st->fall_cnt = 0;
			break;
		}
		if (++st->fall_cnt < e->conf.fall) {
			log_debug("%s check failed: %s (%u/%u)", e->name, reason,
				  st->fall_cnt, e->conf.fall);
			break;
		}
		snprintf(cnt, sizeof(cnt), "%u/%u", st->fall_cnt, e->conf.fall);
		st->health = HC_DOWN;
		st->fall_cnt = 0;
		break;
	case HC_DOWN:
		st->fall_cnt = 0;
		if (!ok) {
			st->rise_cnt = 0;
			break;
		}
		if (++st->rise_cnt < e->conf.rise) {
			log_debug("%s check ok (%u/%u)", e->name, st->rise_cnt,
				  e->conf.rise);
			break;
		}
		snprintf(cnt, sizeof(cnt), "%u/%u", st->rise_cnt, e->conf.rise);
		st->health = HC_UP;
		st->rise_cnt = 0;
		break;
	}
	if (st->health == old)
		return;

	char vip[XLB_VIPSTRLEN];

	st->last_change_ms = st->last_check_ms;
	hc_vip_str(&e->key, vip, sizeof(vip));
	log_info("%s %s: %s (%s) vip %s", e->name, hc_health_name(st->health),
		 reason, cnt, vip);
	if (hc.cb)
		hc.cb(hc.ctx, e->vip, e->be, st->health);
}

/* ---- the schedule ---- */

static void hc_late_add(uint64_t late_us)
{
	uint64_t b = late_us / HC_LATE_RES_US;

	hc_late_hist[b < HC_LATE_BUCKETS ? b : HC_LATE_BUCKETS - 1]++;
	hc_late_n++;
}

void hc__lateness_reset(void)
{
	memset(hc_late_hist, 0, sizeof(hc_late_hist));
	hc_late_n = 0;
}

double hc__lateness_ms(double p, uint64_t *n)
{
	uint64_t want, acc = 0;

	if (n)
		*n = hc_late_n;
	if (!hc_late_n)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)hc_late_n);
	if (want >= hc_late_n)
		want = hc_late_n - 1;
	for (size_t i = 0; i < HC_LATE_BUCKETS; i++) {
		acc += hc_late_hist[i];
		if (acc > want)
			return (double)((i + 1) * HC_LATE_RES_US) / 1000.0;
	}
	return (double)HC_LATE_BUCKETS * HC_LATE_RES_US / 1000.0;
}

static void hc_schedule_next(struct hc_entry *e)
{
	uint64_t now = ev_now_ms();

	if (!e->periodic) {
		/* after the first check: spread over the interval */
		e->periodic = true;
		e->due_ms += e->conf.interval_ms + e->phase_ms;
	} else {
		e->due_ms += e->conf.interval_ms;
	}
	if (e->due_ms < now)
		e->due_ms = now; /* overloaded: run late rather than twice */
	ev_timer_arm(e->timer, e->due_ms);
}

/* Stop whatever the pair is doing (socket and timer). */
static void hc_halt(struct hc_entry *e)
{
	if (e->running) {
		e->ops->cancel(e);
		e->running = false;
	}
	hc_sock_close(e, true);
	ev_timer_cancel(e->timer);
}

static void hc_end(struct hc_entry *e)
{
	e->ops->cancel(e);
	e->running = false;
	e->wr_off = e->rd_len = 0;
}

void hc_check_done(struct hc_entry *e, bool ok, const char *fmt, ...)
{
	char reason[sizeof(e->st.last_result)];
	uint64_t lat;
	va_list ap;

	if (!e->running)
		return;
	hc_end(e);
	lat = hc_now_us() - e->start_us;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	hc_record(e, ok, reason, lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat);
	if (!e->dead)
		hc_schedule_next(e);
}

void hc_check_skip(struct hc_entry *e, const char *what, int err)
{
	uint64_t now = ev_now_ms();

	if (!e->running)
		return;
	hc_end(e);
	hc.skipped++;
	if (!hc.last_skip_log || now - hc.last_skip_log >= HC_SKIP_LOG_MS) {
		log_warn("%s check not run: %s: %s (%u checks skipped)", e->name,
			 what, strerror(err), hc.skipped);
		hc.last_skip_log = now;
		hc.skipped = 0;
	}
	hc_schedule_next(e);
}

void hc_check_failed(struct hc_entry *e, const char *what, int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case ECONNREFUSED:
		/* TCP RST, or ICMP port unreachable on a connected UDP socket */
		hc_check_done(e, false, "%s refused", what);
		break;
	case EHOSTUNREACH:
		hc_check_done(e, false, "%s: host unreachable", what);
		break;
	case ENETUNREACH:
		hc_check_done(e, false, "%s: network unreachable", what);
		break;
	case ECONNRESET:
		hc_check_done(e, false, "%s: connection reset", what);
		break;
	case ETIMEDOUT:
		hc_check_done(e, false, "%s timeout", what);
		break;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
	case EADDRNOTAVAIL: /* no local port left */
	case EAGAIN:
		hc_check_skip(e, what, err);
		break;
	default:
		hc_check_done(e, false, "%s: %s", what, strerror(err));
		break;
	}
}

static void hc_check_start(struct hc_entry *e)
{
	uint64_t now = hc_now_us();

	if (e->periodic)
		hc_late_add(now > e->due_ms * 1000 ? now - e->due_ms * 1000 : 0);
	e->running = true;
	e->start_us = now;
	e->wr_off = e->rd_len = 0;
	e->wait = "connect";
	/* rounded up: a timeout never fires before timeout_ms has passed */
	ev_timer_arm(e->timer, (now + 999) / 1000 + e->conf.timeout_ms);
	e->ops->start(e);
}

static void hc_timer_cb(void *arg)
{
	struct hc_entry *e = arg;

	hc.in_cb++;
	if (e->running)
		hc_check_done(e, false, "%s timeout after %u ms", e->wait,
			      e->conf.timeout_ms);
	else
		hc_check_start(e);
	hc.in_cb--;
}

static void hc_io_cb(void *arg, uint32_t events)
{
	struct epoll_event evs[HC_IO_BATCH];
	int n;

	hc.in_cb++;
	/* Level-triggered both ways: take a few batches, leave the rest to
	 * the next turn so other descriptors are not starved. */
	for (int round = 0; round < 4; round++) {
		n = epoll_wait(hc.epfd, evs, HC_IO_BATCH, 0);
		for (int i = 0; i < n; i++) {
			struct hc_entry *e = evs[i].data.ptr;

			if (e->dead || !e->running || e->fd < 0)
				continue;
			e->ops->io(e, evs[i].events);
		}
		if (n < HC_IO_BATCH)
			break;
	}
	hc.in_cb--;
}

/* ---- entries ---- */

static struct hc_entry *hc_entry_new(const struct hc_key *k, uint64_t h)
{
	struct hc_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->timer = ev_timer_new(hc.ev, hc_timer_cb, e);
	if (!e->timer) {
		free(e);
		return NULL;
	}
	e->key = *k;
	e->hash = h;
	e->fd = -1;
	e->st.health = HC_UNCHECKED;
	return e;
}

static void hc_entry_free(struct hc_entry *e)
{
	ev_timer_free(e->timer);
	hc_probe_free(&e->conf);
	hc_probe_free(&e->next_conf);
	free(e);
}

static void hc_bury_all(void)
{
	while (hc.graveyard) {
		struct hc_entry *e = hc.graveyard;

		hc.graveyard = e->gnext;
		hc_entry_free(e);
	}
}

/* Unlink and stop; freed now or, inside a callback, at the turn's end. */
static void hc_entry_remove(struct hc_entry *e)
{
	hc_halt(e);
	hc_tab_unlink(e);
	e->dead = true;
	e->vip = NULL;
	e->be = NULL;
	if (hc.in_cb) {
		e->gnext = hc.graveyard;
		hc.graveyard = e;
	} else {
		hc_entry_free(e);
	}
}

static void hc_post_hook(void *arg)
{
	if (hc.init && !hc.in_cb)
		hc_bury_all();
}

static void hc_status_reset(struct hc_entry *e, enum hc_health h)
{
	memset(&e->st, 0, sizeof(e->st));
	e->st.health = h;
}

/* Settings of a pair are new or changed: take next_conf and (re)start. */
static void hc_entry_apply(struct hc_entry *e)
{
	bool fresh = !e->configured;
	bool probe = fresh || hc_probe_changed(&e->conf, &e->next_conf);
	bool timing = !fresh && hc_timing_changed(&e->conf, &e->next_conf);

	if (!probe && !timing) {
		/* Equal in all we compare: keep everything running. */
		hc_probe_free(&e->next_conf);
		e->has_next = false;
		return;
	}
	if (probe)
		hc_halt(e);
	hc_probe_free(&e->conf);
	e->conf = e->next_conf;
	memset(&e->next_conf, 0, sizeof(e->next_conf));
	e->has_next = false;
	e->configured = true;
	e->ops = hc_ops_of(e->conf.type);
	e->phase_ms = (uint32_t)(e->hash >> 32) % e->conf.interval_ms;
	hc_set_dst(e);

	if (!probe) {
		/* Only interval/timeout/rise/fall: health and counters stay
		 * (a counter already past a lowered threshold acts on the next
		 * result); an idle pair moves to the new cadence. */
		if (!e->running && e->periodic) {
			e->due_ms = ev_now_ms() + e->phase_ms;
			ev_timer_arm(e->timer, e->due_ms);
		}
		return;
	}
	if (!e->ops) {
		/* type none: up at once, never checked */
		hc_status_reset(e, HC_UP);
		snprintf(e->st.last_result, sizeof(e->st.last_result),
			 "no check");
		return;
	}
	/* New check: a new pair keeps an adopted health; a changed probe
	 * is measured afresh from unchecked. */
	if (!fresh)
		hc_status_reset(e, HC_UNCHECKED);
	e->periodic = false;
	e->due_ms = ev_now_ms();
	ev_timer_arm(e->timer, e->due_ms);
}

/* ---- API ---- */

int hc_init(struct ev_loop *ev, hc_notify_cb cb, void *ctx)
{
	int err;

	if (hc.init)
		hc_shutdown();
	hc.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (hc.epfd < 0)
		return -errno;
	err = ev_add_fd(ev, hc.epfd, EPOLLIN, hc_io_cb, NULL);
	if (err)
		goto fail;
	if (hc.hooked != ev) {
		err = ev_add_post_hook(ev, hc_post_hook, NULL);
		if (err) {
			ev_del_fd(ev, hc.epfd);
			goto fail;
		}
		hc.hooked = ev;
	}
	err = hc_tab_reserve(HC_MIN_BUCKETS);
	if (err) {
		ev_del_fd(ev, hc.epfd);
		goto fail;
	}
	hc.ev = ev;
	hc.cb = cb;
	hc.ctx = ctx;
	hc.init = true;
	return 0;
fail:
	close(hc.epfd);
	hc.epfd = -1;
	return err;
}

void hc_shutdown(void)
{
	if (!hc.init)
		return;
	for (size_t i = 0; i < hc.n_buckets; i++) {
		while (hc.tab[i]) {
			struct hc_entry *e = hc.tab[i];

			hc.tab[i] = e->hnext;
			hc_halt(e);
			hc_entry_free(e);
		}
	}
	hc_bury_all();
	free(hc.tab);
	hc.tab = NULL;
	hc.n_buckets = hc.n_entries = 0;
	ev_del_fd(hc.ev, hc.epfd);
	close(hc.epfd);
	hc.epfd = -1;
	hc.init = false;
	hc.cb = NULL;
	hc.ev = NULL;
}

void hc_adopt(const struct xlb_vip_conf *vip, const struct xlb_backend_conf *be,
	      enum hc_health h)
{
	struct hc_entry *e;
	struct hc_key k;
	uint64_t hash;

	if (!hc.init || be->hc.type == XLB_HC_NONE)
		return;
	hc_key_make(&k, vip, be);
	hash = hc_key_hash(&k);
	e = hc_lookup(&k, hash);
	if (!e) {
		if (hc_tab_reserve(hc.n_entries + 1))
			return;
		e = hc_entry_new(&k, hash);
		if (!e)
			return;
		hc_tab_insert(e);
		e->sync_gen = hc.gen; /* kept only if the next sync has it */
	}
	e->vip = vip;
	e->be = be;
	hc_status_reset(e, h);
}

/* Two passes, so that a failure changes nothing: the first allocates what
 * is new (entries, settings copies), the second cannot fail. */
int hc_sync(const struct xlb_config *cfg)
{
	struct hc_entry *fresh = NULL, *e;
	size_t n_new = 0;
	int err = -ENOMEM;

	if (!hc.init)
		return -EINVAL;
	if (!hc.in_cb)
		hc_bury_all();

	for (size_t i = 0; i < cfg->n_vips; i++) {
		const struct xlb_vip_conf *v = &cfg->vips[i];

		for (size_t j = 0; j < v->n_backends; j++) {
			const struct xlb_backend_conf *b = &v->backends[j];
			struct hc_probe p;
			struct hc_key k;
			uint64_t h;

			/* No check, no record: such a backend is simply up
			 * (the daemon asks hc_get only for checked ones), and
			 * 50,000 unchecked backends cost no memory here. */
			if (b->hc.type == XLB_HC_NONE)
				continue;
			hc_key_make(&k, v, b);
			h = hc_key_hash(&k);
			if (hc_probe_make(&p, v, &b->hc))
				goto undo;
			e = hc_lookup(&k, h);
			if (!e) {
				e = hc_entry_new(&k, h);
				if (!e) {
					hc_probe_free(&p);
					goto undo;
				}
				e->gnext = fresh; /* pending list */
				fresh = e;
				n_new++;
			}
			hc_probe_free(&e->next_conf);
			e->next_conf = p;
			e->has_next = true;
		}
	}
	if (hc_tab_reserve(hc.n_entries + n_new))
		goto undo;

	/* Pass 2: commit. */
	hc.gen++;
	while (fresh) {
		e = fresh;
		fresh = e->gnext;
		e->gnext = NULL;
		if (hc_lookup(&e->key, e->hash)) {
			hc_entry_free(e); /* duplicate pair in cfg */
			continue;
		}
		hc_tab_insert(e);
	}
	for (size_t i = 0; i < cfg->n_vips; i++) {
		const struct xlb_vip_conf *v = &cfg->vips[i];

		for (size_t j = 0; j < v->n_backends; j++) {
			const struct xlb_backend_conf *b = &v->backends[j];
			struct hc_key k;
			uint64_t h;

			hc_key_make(&k, v, b);
			h = hc_key_hash(&k);
			e = hc_lookup(&k, h);
			if (!e || e->sync_gen == hc.gen)
				continue; /* cannot happen / duplicate */
			e->sync_gen = hc.gen;
			e->vip = v;
			e->be = b;
			if (e->has_next)
				hc_entry_apply(e);
		}
	}
	/* Sweep pairs the model no longer has. */
	for (size_t i = 0; i < hc.n_buckets; i++) {
		struct hc_entry *nx;

		for (e = hc.tab[i]; e; e = nx) {
			nx = e->hnext;
			if (e->sync_gen != hc.gen)
				hc_entry_remove(e);
		}
	}
	return 0;

undo:
	while (fresh) {
		e = fresh;
		fresh = e->gnext;
		hc_entry_free(e);
	}
	for (size_t i = 0; i < hc.n_buckets; i++) {
		for (e = hc.tab[i]; e; e = e->hnext) {
			if (e->has_next) {
				hc_probe_free(&e->next_conf);
				e->has_next = false;
			}
		}
	}
	log_error("hc_sync: %s", strerror(-err));
	return err;
}

const struct hc_status *hc_get(const struct xlb_vip_conf *vip,
			       const struct xlb_backend_conf *be)
{
	struct hc_entry *e;
	struct hc_key k;

	static const struct hc_status none_up = {
		.health = HC_UP, .last_ok = 1,
		.last_result = "no check",
	};

	if (!hc.init)
		return NULL;
	if (be->hc.type == XLB_HC_NONE) /* no record is kept: always up */
		return &none_up;
	hc_key_make(&k, vip, be);
	e = hc_lookup(&k, hc_key_hash(&k));
	return e && e->configured ? &e->st : NULL;
}

int hc__record_result(const struct xlb_vip_conf *vip,
		      const struct xlb_backend_conf *be, bool ok,
		      const char *reason)
{
	struct hc_entry *e;
	struct hc_key k;

	if (!hc.init)
		return -ENOENT;
	hc_key_make(&k, vip, be);
	e = hc_lookup(&k, hc_key_hash(&k));
	if (!e || !e->configured)
		return -ENOENT;
	hc.in_cb++;
	hc_record(e, ok, reason ? reason : (ok ? "ok" : "failed"), 0);
	hc.in_cb--;
	return 0;
}
