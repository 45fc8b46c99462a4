// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * check_udp.c - udp check: a connected UDP socket sends the payload (an
 * empty datagram by default); any datagram back is a success.  On a
 * connected socket the kernel reports an ICMP port unreachable as
 * ECONNREFUSED, so a closed port fails at once instead of at the timeout.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "check.h"

static void hc_udp_start(struct hc_entry *e)
{
	int err = hc_sock_connect(e, SOCK_DGRAM, EPOLLIN);

	if (err) {
		hc_check_failed(e, "connect", err);
		return;
	}
	e->wait = "reply";
	if (send(e->fd, e->conf.req, e->conf.req_len, MSG_NOSIGNAL) < 0) {
		err = errno;
		if (err == ECONNREFUSED)
			hc_check_done(e, false, "port unreachable");
		else
			hc_check_failed(e, "send", err);
	}
}

static void hc_udp_io(struct hc_entry *e, uint32_t events)
{
	char b[1];

	/* Any datagram, even an empty one, is an answer. */
	if (recv(e->fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC) >= 0) {
		hc_check_done(e, true, "ok");
		return;
	}
	switch (errno) {
	case EAGAIN:
	case EINTR:
		return; /* spurious wake-up: keep waiting */
	case ECONNREFUSED:
		hc_check_done(e, false, "port unreachable");
		return;
	default:
		hc_check_failed(e, "recv", errno);
	}
}

static void hc_udp_cancel(struct hc_entry *e)
{
	hc_sock_close(e, false);
}

const struct hc_check_ops hc_udp_ops = {
	.name = "udp",
	.start = hc_udp_start,
	.io = hc_udp_io,
	.cancel = hc_udp_cancel,
};
