// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* addr.c - IPv4/IPv6 addresses as binary values. */
#include "addr.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int addr_parse(const char *s, struct xlb_addr *out)
{
	struct xlb_addr a;

	if (!s || !*s)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.bytes) != 1)
			return -EINVAL;
		a.family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, a.bytes) != 1)
			return -EINVAL;
		a.family = AF_INET;
	}
	*out = a;
	return 0;
}

int addr_parse_prefix(const char *s, struct xlb_addr *out, int *plen)
{
	char buf[XLB_ADDRSTRLEN];
	const char *slash, *p;
	struct xlb_addr a;
	size_t n;
	int len = 0, max;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash) {
		if (addr_parse(s, &a))
			return -EINVAL;
		*out = a;
		*plen = a.family == AF_INET6 ? 128 : 32;
		return 0;
	}
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (addr_parse(buf, &a))
		return -EINVAL;
	max = a.family == AF_INET6 ? 128 : 32;
	p = slash + 1;
	if (!*p || strlen(p) > 3)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		len = len * 10 + (*p - '0');
	}
	/* No leading zeros ("/028"), as inet_pton refuses them in dotted quads.
	 */
	if (slash[1] == '0' && slash[2])
		return -EINVAL;
	if (len > max)
		return -EINVAL;
	*out = a;
	*plen = len;
	return 0;
}

const char *addr_fmt(const struct xlb_addr *a, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	if (!a || (a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "(none)");
	return buf;
}

int addr_cmp(const struct xlb_addr *a, const struct xlb_addr *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	/* An IPv4 address is its first 4 bytes, whatever follows them. */
	r = memcmp(a->bytes, b->bytes,
		   a->family == AF_INET ? 4 : sizeof(a->bytes));
	return r < 0 ? -1 : r > 0;
}

bool addr_eq(const struct xlb_addr *a, const struct xlb_addr *b)
{
	return addr_cmp(a, b) == 0;
}
