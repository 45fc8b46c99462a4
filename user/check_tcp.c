// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * check_tcp.c - tcp check: a non-blocking connect() that completes within
 * the timeout.  The connection is then aborted (RST, SO_LINGER 0) so that
 * neither side keeps a TIME_WAIT entry per check.
 */
#include <errno.h>
#include <sys/epoll.h>
#include "check.h"

static void hc_tcp_start(struct hc_entry *e)
{
	int err = hc_sock_connect(e, SOCK_STREAM, EPOLLOUT);

	if (!err)
		hc_check_done(e, true, "ok");
	else if (err != -EINPROGRESS)
		hc_check_failed(e, "connect", err);
}

static void hc_tcp_io(struct hc_entry *e, uint32_t events)
{
	int err;

	/* Writable without error or hang-up: connected (no SO_ERROR call,
	 * one syscall fewer per check). */
	if (events == EPOLLOUT) {
		hc_check_done(e, true, "ok");
		return;
	}
	err = hc_sock_error(e);
	if (err)
		hc_check_failed(e, "connect", err);
	else if (events & (EPOLLERR | EPOLLHUP))
		hc_check_done(e, false, "connect failed");
	else if (events & EPOLLOUT)
		hc_check_done(e, true, "ok");
}

static void hc_tcp_cancel(struct hc_entry *e)
{
	hc_sock_close(e, true);
}

const struct hc_check_ops hc_tcp_ops = {
	.name = "tcp",
	.start = hc_tcp_start,
	.io = hc_tcp_io,
	.cancel = hc_tcp_cancel,
};
