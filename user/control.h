/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * control.h - the control socket (ctl_): JSON lines over a Unix stream
 * socket, served by xlbd's event loop.  The protocol is documented in
 * docs/control-protocol.md.  The module reaches the daemon only through
 * core.h: queries are core_* calls, mutations are a new model built from
 * cfg_dump(core_config()), validated by cfg_parse_json() and handed to
 * core_apply().
 */
#ifndef XLB_CONTROL_H
#define XLB_CONTROL_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "evloop.h"

#define CTL_DEFAULT_PATH "/run/xlb/xlbd.sock"
#define CTL_MAX_REQUEST (16u << 20) /* bytes in one request line */
#define CTL_MAX_CLIENTS 256	    /* connections served at once */
#define CTL_IDLE_MS 10000	    /* to complete a request */
#define CTL_MAX_WATCH_S 86400	    /* longest stats watch interval */

struct ctl_server;

/*
 * Listen on path (mode 0660, group `group` by name or number, NULL = the
 * process's own group; parent directory created if missing).  A stale
 * socket file is replaced; a socket that answers (another xlbd) or a path
 * that is not a socket makes it fail.  NULL on failure, reason in err.
 */
struct ctl_server *ctl_open(struct ev_loop *ev, const char *path,
			    const char *group, char *err, size_t errlen);
/* Close every connection, stop listening and remove the socket file (if
 * it is still the one ctl_open created). NULL is fine. */
void ctl_close(struct ctl_server *s);

/* Number of connections being served. */
unsigned ctl_clients(const struct ctl_server *s);

/* Test hooks: the idle timeout (ms) and the limits (0 keeps a value). */
void ctl_set_timeouts(struct ctl_server *s, unsigned idle_ms);
void ctl_set_limits(struct ctl_server *s, size_t max_request,
		    unsigned max_clients);

/*
 * A client as `explain` takes it: "ADDR", "ADDR:PORT", "[V6ADDR]:PORT",
 * "[V6ADDR]" or a bare IPv6 address.  *port = -1 when absent.  Shared by
 * xlbd and xlbctl (which must refuse a bad one itself, exit code 2).
 * 0 or -1.
 */
static inline int ctl_parse_client(const char *s, struct xlb_addr *addr,
				   int *port)
{
	char buf[XLB_ADDRSTRLEN + 2];
	const char *ps = NULL, *colon;
	size_t n;

	if (!s || !*s || strlen(s) >= sizeof(buf) + 6)
		return -1;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || (size_t)(end - s - 1) >= sizeof(buf))
			return -1;
		n = (size_t)(end - s - 1);
		memcpy(buf, s + 1, n);
		buf[n] = '\0';
		if (end[1] == ':')
			ps = end + 2;
		else if (end[1])
			return -1;
		if (addr_parse(buf, addr) || addr->family != 10 /* AF_INET6 */)
			return -1;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(buf))
			return -1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (addr_parse(buf, addr))
			return -1;
		if (colon)
			ps = colon + 1;
	}
	*port = -1;
	if (ps) {
		char *end;
		long v;

		if (*ps < '0' || *ps > '9' || strlen(ps) > 5)
			return -1;
		v = strtol(ps, &end, 10);
		if (*end || v < 0 || v > 65535)
			return -1;
		*port = (int)v;
	}
	return 0;
}

#endif
