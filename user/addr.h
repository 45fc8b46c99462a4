/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* addr.h - IPv4/IPv6 addresses as binary values (compare, parse, print). */
#ifndef XLB_ADDR_H
#define XLB_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct xlb_addr {
	int family;	   /* AF_INET or AF_INET6; 0 = unset */
	uint8_t bytes[16]; /* network order; IPv4 in bytes[0..3], rest 0 */
};

#define XLB_ADDRSTRLEN 46
/* "ADDR:PORT/PROTO" with brackets around IPv6: fits in this. */
#define XLB_VIPSTRLEN 64

/* Parse a numeric IPv4 or IPv6 address (no names, no prefix). 0 or -EINVAL. */
int addr_parse(const char *s, struct xlb_addr *out);
/* Parse "ADDR" or "ADDR/LEN"; *plen = 32/128 when no length. 0 or -EINVAL. */
int addr_parse_prefix(const char *s, struct xlb_addr *out, int *plen);
/* Canonical text (inet_ntop); returns buf. */
const char *addr_fmt(const struct xlb_addr *a, char *buf, size_t len);
/* Total order: family first (IPv4 < IPv6), then bytes. */
int addr_cmp(const struct xlb_addr *a, const struct xlb_addr *b);
bool addr_eq(const struct xlb_addr *a, const struct xlb_addr *b);
static inline int addr_len(const struct xlb_addr *a)
{
	return a->family == 10 /* AF_INET6 */ ? 16 : 4;
}

#endif
