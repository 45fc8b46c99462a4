/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * check.h - private to the health-check module (health.c, check_*.c).
 *
 * One struct hc_entry per (VIP, backend) pair.  health.c owns the entries,
 * the schedule (one evloop timer per entry, used both for "next check due"
 * and "this check timed out") and the state machine; a check kind only
 * opens its socket, follows its chain of non-blocking callbacks and ends
 * the check through hc_check_done() (a result) or hc_check_skip() (a local
 * problem such as EMFILE, which says nothing about the backend).
 *
 * Check sockets are not registered one by one with the evloop: they live in
 * the module's own epoll set, which is a single descriptor in the evloop.
 * That keeps a check free of allocations (close() drops a socket from the
 * set) and of fd-table lookups.
 *
 * The hc__ functions at the end are for tests and the benchmark only.
 */
#ifndef XLB_CHECK_H
#define XLB_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "health.h"

struct hc_entry;

struct hc_check_ops {
	const char *name;
	/* Open the socket and start the chain; may finish synchronously. */
	void (*start)(struct hc_entry *e);
	/* Readiness of e->fd (EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP). */
	void (*io)(struct hc_entry *e, uint32_t events);
	/* Abandon the check in flight: close the socket, forget partial I/O.
	 * Called for every end of a check (done, timeout, removal). */
	void (*cancel)(struct hc_entry *e);
};

extern const struct hc_check_ops hc_tcp_ops, hc_http_ops, hc_udp_ops;

/* Identity of a pair: what hc_sync() matches old and new models on. */
struct hc_key {
	struct xlb_addr vip;
	struct xlb_addr be;
	uint16_t vport;
	uint8_t proto;
	uint8_t pad;
};

/* The module's own copy of a pair's effective check settings (the model's
 * strings may be freed by the time they are compared on the next sync). */
struct hc_probe {
	enum xlb_hc_type type;
	uint16_t port;	   /* effective: the VIP's when unset */
	int expect_status;
	uint32_t interval_ms, timeout_ms, rise, fall;
	char *path, *host; /* as configured (NULL: unset) */
	char *payload;
	size_t payload_len;
	char *req;	   /* prepared bytes: http request, udp payload */
	size_t req_len;
	/* path, host, payload and req share one allocation: blob */
	void *blob;
};

#define HC_RBUF 128

struct hc_entry {
	struct hc_entry *hnext; /* hash bucket chain */
	struct hc_entry *gnext; /* graveyard */
	struct hc_key key;
	uint64_t hash;
	const struct xlb_vip_conf *vip; /* in the model of the last hc_sync */
	const struct xlb_backend_conf *be;
	struct hc_probe conf;
	struct hc_probe next_conf; /* prepared by hc_sync's first pass */
	bool configured, has_next, dead, running, periodic, in_set;
	unsigned sync_gen;
	const struct hc_check_ops *ops;
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} dst;
	socklen_t dst_len;
	char name[XLB_ADDRSTRLEN + 8]; /* "198.51.100.12:8080" for logs */
	struct ev_timer *timer;
	int fd;
	const char *wait; /* "connect", "response", "reply": timeout text */
	uint32_t phase_ms; /* deterministic offset within the interval */
	uint64_t due_ms;   /* monotonic ms the running/next check is due */
	uint64_t start_us; /* monotonic us the running check started */
	size_t wr_off, rd_len;
	char rbuf[HC_RBUF];
	struct hc_status st;
};

/* Connect e->fd (non-blocking) to e->dst and add it to the module's epoll
 * set for events.  0 when connected at once, -EINPROGRESS, or -errno (no
 * socket left open). */
int hc_sock_connect(struct hc_entry *e, int type, uint32_t events);
int hc_sock_watch(struct hc_entry *e, uint32_t events);
/* Pending socket error (SO_ERROR), 0 if none. */
int hc_sock_error(struct hc_entry *e);
/* Close e->fd; rst: abort the connection (no TIME_WAIT left behind). */
void hc_sock_close(struct hc_entry *e, bool rst);

/* End the running check with a result. */
void hc_check_done(struct hc_entry *e, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* End the running check with an error of connect() or send(): ECONNREFUSED
 * and friends are results; EMFILE, ENOBUFS... are local and only skipped. */
void hc_check_failed(struct hc_entry *e, const char *what, int err);
/* End the running check without a result (a local problem, logged). */
void hc_check_skip(struct hc_entry *e, const char *what, int err);

/* ---- tests and benchmark ---- */

/* Feed one result to a pair's state machine, as a finished check would.
 * -ENOENT when the pair is unknown. */
int hc__record_result(const struct xlb_vip_conf *vip,
		      const struct xlb_backend_conf *be, bool ok,
		      const char *reason);
/* Parse an HTTP status line prefix: 1 done (*code set), 0 need more,
 * -1 not HTTP/1.x.  full: the buffer cannot grow any further. */
int hc__http_status(const char *buf, size_t len, bool full, int *code);
/* Lateness of periodic checks (start time minus due time). */
void hc__lateness_reset(void);
/* Percentile p (0..100) of the lateness since the last reset, in ms;
 * *n gets the number of samples. */
double hc__lateness_ms(double p, uint64_t *n);

#endif
