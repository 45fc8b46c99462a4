// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pkt.c - crafting and decoding test frames (see pkt.h).
 *
 * Everything is written byte by byte in network order, so the frames do
 * not depend on the host's byte order or on struct layouts of the kernel
 * headers the program under test uses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "pkt.h"

const uint8_t pkt_client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x20 };
const uint8_t pkt_lb_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x10 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int pkt_pton(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!s)
		return 0;
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, out) == 1 ? AF_INET6 : 0;
	return inet_pton(AF_INET, s, out) == 1 ? AF_INET : 0;
}

const char *pkt_ntop(int family, const void *a, char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *pkt_mac_str(const uint8_t *mac, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

/* ---- checksums ---- */

uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool pkt_ipv4_csum_ok(const uint8_t *ip)
{
	size_t hl = (size_t)(ip[0] & 0xf) * 4;

	if (hl < 20)
		hl = 20;
	return pkt_csum_fold(pkt_csum_add(0, ip, hl)) == 0;
}

/* Pseudo-header sum for an upper-layer length and protocol. */
static uint32_t pseudo_sum(int family, const uint8_t *saddr,
			   const uint8_t *daddr, uint32_t len, uint8_t proto)
{
	uint8_t b[8];
	uint32_t sum;
	size_t alen = family == AF_INET6 ? 16 : 4;

	sum = pkt_csum_add(0, saddr, alen);
	sum = pkt_csum_add(sum, daddr, alen);
	put32(b, len);
	put32(b + 4, proto);
	return pkt_csum_add(sum, b, 8);
}

static bool l4_has_pseudo(int family, uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       (family == AF_INET6 && proto == IPPROTO_ICMPV6);
}

static size_t l4_csum_off(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 2;
	default:
		return (size_t)-1;
	}
}

/* Checksum over a segment whose checksum field is taken as zero. */
static uint16_t l4_csum(int family, const uint8_t *saddr, const uint8_t *daddr,
			uint8_t proto, const uint8_t *seg, size_t len)
{
	size_t co = l4_csum_off(proto);
	uint32_t sum = 0;
	uint16_t c;

	if (l4_has_pseudo(family, proto))
		sum = pseudo_sum(family, saddr, daddr, (uint32_t)len, proto);
	sum = pkt_csum_add(sum, seg, co);
	sum = pkt_csum_add(sum, seg + co + 2, len - co - 2);
	c = pkt_csum_fold(sum);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	return c;
}

bool pkt_l4_csum_ok(const uint8_t *buf, size_t len, size_t off,
		    uint16_t *got, uint16_t *want)
{
	struct pkt_ip ip;
	size_t seglen, co;
	uint16_t g, w;

	if (pkt_parse_ip(buf, len, off, &ip))
		return false;
	co = l4_csum_off(ip.l4proto);
	if (co == (size_t)-1 || ip.l4off > off + ip.len ||
	    off + ip.len > len)
		return false;
	seglen = off + ip.len - ip.l4off;
	if (seglen < co + 2)
		return false;
	g = get16(buf + ip.l4off + co);
	w = l4_csum(ip.family, ip.saddr, ip.daddr, ip.l4proto,
		    buf + ip.l4off, seglen);
	if (got)
		*got = g;
	if (want)
		*want = w;
	/* ones' complement: 0x0000 and 0xffff are both zero (not for UDP,
	 * where 0 means "no checksum") */
	if (g == w)
		return true;
	return ip.l4proto != IPPROTO_UDP && (g | w) == 0xffff && (g & w) == 0 &&
	       (g == 0 || w == 0);
}

/* ---- building ---- */

static size_t l4_hdr_len(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

static size_t ext_len(const struct pkt_ext6 *e)
{
	return e->type == IPPROTO_ROUTING ? 24 : 8;
}

size_t pkt_build_ip(const struct pkt_spec *s, uint8_t *buf, size_t cap)
{
	uint8_t sa[16], da[16];
	size_t hlen, exth = 0, l4h, plen, total, i, l4off;
	int v6 = s->family == AF_INET6;
	uint8_t *l4;

	if (pkt_pton(s->saddr, sa) != s->family ||
	    pkt_pton(s->daddr, da) != s->family)
		return 0;
	if (v6) {
		hlen = 40;
		for (i = 0; i < s->n_ext; i++)
			exth += ext_len(&s->ext[i]);
	} else {
		if (s->opt_len % 4 || s->opt_len > 40)
			return 0;
		hlen = 20 + s->opt_len;
	}
	l4h = l4_hdr_len(s->proto);
	plen = s->payload_len;
	if (s->l3_len) {
		if (s->l3_len < hlen + exth + l4h)
			return 0;
		plen = s->l3_len - hlen - exth - l4h;
	}
	total = hlen + exth + l4h + plen;
	if (total > cap || total > 0xffff + (v6 ? 40u : 0u))
		return 0;
	memset(buf, 0, total);

	if (!v6) {
		int ihl = s->ihl < 0 ? 0 : s->ihl ? s->ihl : (int)(hlen / 4);

		buf[0] = (uint8_t)((s->version ? s->version : 4) << 4 |
				   (ihl & 0xf));
		buf[1] = s->tos;
		put16(buf + 2, (uint16_t)total);
		put16(buf + 4, s->ip_id);
		put16(buf + 6, s->frag);
		buf[8] = s->ttl ? s->ttl : 64;
		buf[9] = s->proto;
		memcpy(buf + 12, sa, 4);
		memcpy(buf + 16, da, 4);
		/* options: NOPs, then end of list */
		for (i = 0; i < s->opt_len; i++)
			buf[20 + i] = i + 1 == s->opt_len ? 0 : 1;
		put16(buf + 10, pkt_csum_fold(pkt_csum_add(0, buf, hlen)));
	} else {
		uint8_t first = s->n_ext ? s->ext[0].type : s->proto;

		put32(buf, (uint32_t)(s->version ? s->version : 6) << 28 |
				   (uint32_t)s->tos << 20 |
				   (s->flow_label & 0xfffff));
		put16(buf + 4, (uint16_t)(total - 40));
		buf[6] = first;
		buf[7] = s->ttl ? s->ttl : 64;
		memcpy(buf + 8, sa, 16);
		memcpy(buf + 24, da, 16);
		l4off = 40;
		for (i = 0; i < s->n_ext; i++) {
			const struct pkt_ext6 *e = &s->ext[i];
			uint8_t *x = buf + l4off;

			x[0] = i + 1 < s->n_ext ? s->ext[i + 1].type : s->proto;
			switch (e->type) {
			case IPPROTO_ROUTING:
				x[1] = 2; /* 24 bytes: one address */
				x[2] = 0;
				x[3] = e->seg_left;
				break;
			case IPPROTO_FRAGMENT:
				put16(x + 2, (uint16_t)(e->frag_off << 3 |
							(e->more ? 1 : 0)));
				put32(x + 4, 0x12345678);
				break;
			default: /* hop-by-hop, destination options: PadN */
				x[1] = 0;
				x[2] = 1;
				x[3] = 4;
				break;
			}
			l4off += ext_len(e);
		}
	}
	l4off = hlen + exth;
	l4 = buf + l4off;
	if (s->payload)
		memcpy(l4 + l4h, s->payload, plen < s->payload_len ?
						     plen : s->payload_len);
	else
		for (i = 0; i < plen; i++)
			l4[l4h + i] = (uint8_t)(i * 7 + 1);

	switch (s->proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack_seq);
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 65535);
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(l4h + plen));
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put32(l4 + 4, s->icmp_rest);
		break;
	default:
		return total;
	}
	put16(l4 + l4_csum_off(s->proto),
	      l4_csum(s->family, sa, da, s->proto, l4, l4h + plen));
	return total;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap)
{
	static const uint8_t zero[6];
	size_t l2 = s->vlan ? 18 : 14, n;
	uint16_t et = s->ethertype;

	if (cap < l2)
		return 0;
	memcpy(buf, memcmp(s->dmac, zero, 6) ? s->dmac : pkt_lb_mac, 6);
	memcpy(buf + 6, memcmp(s->smac, zero, 6) ? s->smac : pkt_client_mac,
	       6);
	if (!et)
		et = s->family == AF_INET6 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP;
	if (s->vlan) {
		put16(buf + 12, PKT_ETH_P_8021Q);
		put16(buf + 14, s->vlan_tci);
		put16(buf + 16, et);
	} else {
		put16(buf + 12, et);
	}
	if (!s->family) { /* not IP: payload only */
		n = s->payload_len;
		if (l2 + n > cap)
			return 0;
		for (size_t i = 0; i < n; i++)
			buf[l2 + i] = (uint8_t)(i * 7 + 1);
		return l2 + n;
	}
	n = pkt_build_ip(s, buf + l2, cap - l2);
	return n ? l2 + n : 0;
}

/* ---- decoding ---- */

int pkt_parse_l2(const uint8_t *buf, size_t len, struct pkt_l2 *l2)
{
	memset(l2, 0, sizeof(*l2));
	if (len < 14)
		return -1;
	memcpy(l2->dmac, buf, 6);
	memcpy(l2->smac, buf + 6, 6);
	l2->ethertype = get16(buf + 12);
	l2->l3off = 14;
	if (l2->ethertype == PKT_ETH_P_8021Q) {
		if (len < 18)
			return -1;
		l2->vlan = true;
		l2->vlan_tci = get16(buf + 14);
		l2->ethertype = get16(buf + 16);
		l2->l3off = 18;
	}
	return 0;
}

int pkt_parse_ip(const uint8_t *buf, size_t len, size_t off,
		 struct pkt_ip *ip)
{
	const uint8_t *p = buf + off;
	size_t avail = len > off ? len - off : 0;

	memset(ip, 0, sizeof(*ip));
	ip->off = off;
	if (avail < 1)
		return -1;
	ip->version = p[0] >> 4;
	if (ip->version == 4) {
		if (avail < 20)
			return -1;
		ip->family = AF_INET;
		ip->hlen = (size_t)(p[0] & 0xf) * 4;
		ip->tos = p[1];
		ip->len = get16(p + 2);
		ip->id = get16(p + 4);
		ip->frag = get16(p + 6);
		ip->ttl = p[8];
		ip->proto = p[9];
		ip->check = get16(p + 10);
		memcpy(ip->saddr, p + 12, 4);
		memcpy(ip->daddr, p + 16, 4);
		ip->l4off = off + (ip->hlen < 20 ? 20 : ip->hlen);
		ip->l4proto = ip->proto;
		return 0;
	}
	if (ip->version != 6 || avail < 40)
		return -1;
	ip->family = AF_INET6;
	ip->hlen = 40;
	ip->tos = (uint8_t)(get32(p) >> 20);
	ip->flow_label = get32(p) & 0xfffff;
	ip->len = (size_t)get16(p + 4) + 40;
	ip->proto = p[6];
	ip->ttl = p[7];
	memcpy(ip->saddr, p + 8, 16);
	memcpy(ip->daddr, p + 24, 16);
	ip->l4off = off + 40;
	ip->l4proto = ip->proto;
	for (int i = 0; i < 8; i++) {
		const uint8_t *x = buf + ip->l4off;
		uint8_t t = ip->l4proto;

		if (t != IPPROTO_HOPOPTS && t != IPPROTO_DSTOPTS &&
		    t != IPPROTO_ROUTING && t != IPPROTO_FRAGMENT)
			break;
		if (ip->l4off + 8 > len)
			return -1;
		ip->l4proto = x[0];
		ip->l4off += t == IPPROTO_FRAGMENT ? 8 : ((size_t)x[1] + 1) * 8;
	}
	return 0;
}

long pkt_first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}
