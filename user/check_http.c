// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * check_http.c - http check: connect, send "GET path HTTP/1.1" with Host
 * and "Connection: close" (prepared once per configuration), read the
 * status line and compare its code with expect_status.  A response that
 * is not HTTP/1.x, ends before its status line is complete, or does not
 * come within the timeout is a failure.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "check.h"

/* "HTTP/1.x NNN" then SP, CR or LF; D stands for a digit. */
static const char hc_http_tmpl[] = "HTTP/1.D DDD";
#define HC_HTTP_PREFIX (sizeof(hc_http_tmpl) - 1)

int hc__http_status(const char *buf, size_t len, bool full, int *code)
{
	size_t i;

	for (i = 0; i < len && i < HC_HTTP_PREFIX; i++) {
		char t = hc_http_tmpl[i], c = buf[i];

		if (t == 'D' ? (c < '0' || c > '9') : c != t)
			return -1;
	}
	if (len > HC_HTTP_PREFIX) {
		char c = buf[HC_HTTP_PREFIX];

		if (c != ' ' && c != '\r' && c != '\n')
			return -1;
	}
	if (len < HC_HTTP_PREFIX + 1 && !full)
		return 0;
	if (len < HC_HTTP_PREFIX)
		return -1;
	/* The whole status line, unless the reason phrase is too long to
	 * keep: the code is known by then. */
	if (!full && !memchr(buf + HC_HTTP_PREFIX, '\n', len - HC_HTTP_PREFIX))
		return 0;
	*code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return 1;
}

static void hc_http_send(struct hc_entry *e)
{
	while (e->wr_off < e->conf.req_len) {
		ssize_t n = send(e->fd, e->conf.req + e->wr_off,
				 e->conf.req_len - e->wr_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return; /* wait for EPOLLOUT again */
			hc_check_failed(e, "send", errno);
			return;
		}
		e->wr_off += (size_t)n;
	}
	e->wait = "response";
	if (hc_sock_watch(e, EPOLLIN))
		hc_check_failed(e, "epoll", errno);
}

static void hc_http_judge(struct hc_entry *e, bool eof)
{
	bool full = e->rd_len == sizeof(e->rbuf);
	int code = 0;
	int r = hc__http_status(e->rbuf, e->rd_len, full, &code);

	if (r < 0) {
		hc_check_done(e, false, "bad response");
	} else if (r > 0) {
		if (code == e->conf.expect_status)
			hc_check_done(e, true, "ok");
		else
			hc_check_done(e, false, "status %d", code);
	} else if (eof) {
		hc_check_done(e, false, e->rd_len ? "partial response" :
						    "empty response");
	}
}

static void hc_http_read(struct hc_entry *e)
{
	for (;;) {
		ssize_t n = recv(e->fd, e->rbuf + e->rd_len,
				 sizeof(e->rbuf) - e->rd_len, 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNRESET && e->rd_len) {
				hc_http_judge(e, true);
				return;
			}
			hc_check_failed(e, "recv", errno);
			return;
		}
		e->rd_len += (size_t)n;
		hc_http_judge(e, n == 0);
		if (!e->running || n == 0)
			return;
	}
}

static void hc_http_start(struct hc_entry *e)
{
	int err = hc_sock_connect(e, SOCK_STREAM, EPOLLOUT);

	if (!err)
		hc_http_send(e);
	else if (err != -EINPROGRESS)
		hc_check_failed(e, "connect", err);
}

static void hc_http_io(struct hc_entry *e, uint32_t events)
{
	if (!strcmp(e->wait, "connect")) {
		int err = events == EPOLLOUT ? 0 : hc_sock_error(e);

		if (err) {
			hc_check_failed(e, "connect", err);
			return;
		}
		if (!(events & EPOLLOUT)) {
			hc_check_done(e, false, "connect failed");
			return;
		}
		e->wait = "request";
	}
	if (e->wr_off < e->conf.req_len) {
		hc_http_send(e);
		return;
	}
	hc_http_read(e);
}

static void hc_http_cancel(struct hc_entry *e)
{
	/* Abort: the rest of the response is of no interest (and closing
	 * with unread data sends a RST anyway). */
	hc_sock_close(e, true);
}

const struct hc_check_ops hc_http_ops = {
	.name = "http",
	.start = hc_http_start,
	.io = hc_http_io,
	.cancel = hc_http_cancel,
};
