/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * pkt.h - crafting and decoding test frames.
 *
 * A frame is described by a struct pkt_spec (Ethernet, an optional 802.1Q
 * tag, IPv4 with options or IPv6 with extension headers, then TCP, UDP,
 * ICMP, ICMPv6 or an opaque payload) and built with every length and
 * checksum correct; fields that tests want wrong (IHL, version, length)
 * can be forced.  The decoding side parses frames the program returns and
 * verifies checksums by recomputing them, never by trusting a field.
 */
#ifndef XLB_TEST_PKT_H
#define XLB_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 4096

#define PKT_ETH_P_IP 0x0800
#define PKT_ETH_P_IPV6 0x86dd
#define PKT_ETH_P_8021Q 0x8100
#define PKT_ETH_P_ARP 0x0806

/* IPv4 frag_off bits, host order. */
#define PKT_IP_DF 0x4000
#define PKT_IP_MF 0x2000

#define PKT_IHL_ZERO (-1)

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/* IPv6 extension headers built by pkt_build(). */
struct pkt_ext6 {
	uint8_t type;	   /* IPPROTO_HOPOPTS, _DSTOPTS, _ROUTING, _FRAGMENT */
	uint8_t seg_left;  /* routing: segments left */
	uint16_t frag_off; /* fragment: offset in 8-byte units */
	bool more;	   /* fragment: M flag */
};

struct pkt_spec {
	/* L2; all-zero MACs take the defaults below */
	uint8_t dmac[6], smac[6];
	bool vlan;
	uint16_t vlan_tci;
	uint16_t ethertype; /* 0: from family */

	/* L3 */
	int family;	    /* AF_INET or AF_INET6 */
	const char *saddr;  /* numeric text */
	const char *daddr;
	uint8_t tos;	    /* IPv4 TOS / IPv6 traffic class (DSCP + ECN) */
	uint8_t ttl;	    /* TTL / hop limit; 0: 64 */
	uint32_t flow_label;
	uint16_t frag;	    /* IPv4 DF/MF/offset bits, host order */
	uint16_t ip_id;
	size_t opt_len;	    /* IPv4 option bytes (multiple of 4) */
	int ihl;	    /* IPv4: force the IHL field (0: computed,
			     * PKT_IHL_ZERO: 0) */
	int version;	    /* force the version field (0: 4 or 6) */
	size_t n_ext;
	struct pkt_ext6 ext[4];

	/* L4 */
	uint8_t proto;	    /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or other */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack_seq;
	uint8_t icmp_type, icmp_code;
	uint32_t icmp_rest; /* the 4 bytes after the checksum, host order:
			     * echo id << 16 | seq; frag-needed / PTB MTU */
	const uint8_t *payload; /* L4 payload (e.g. a quoted packet) */
	size_t payload_len;	/* with payload NULL: a byte pattern */
	size_t l3_len;		/* nonzero: pattern-pad to this IP length */
};

/* Default MACs of crafted frames: the router sends to the LB. */
extern const uint8_t pkt_client_mac[6];
extern const uint8_t pkt_lb_mac[6];

/* Build the whole frame / the IP packet only (for quoting in ICMP).
 * Return the length, or 0 when it does not fit or the spec is bad. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap);
size_t pkt_build_ip(const struct pkt_spec *s, uint8_t *buf, size_t cap);

/* Addresses: "text" -> 16 bytes (IPv4 in the first 4); returns the family
 * or 0.  pkt_ntop formats family/bytes into buf (INET6_ADDRSTRLEN). */
int pkt_pton(const char *s, uint8_t out[16]);
const char *pkt_ntop(int family, const void *a, char *buf, size_t len);
const char *pkt_mac_str(const uint8_t *mac, char *buf, size_t len);

/* ---- decoding ---- */
struct pkt_l2 {
	uint8_t dmac[6], smac[6];
	bool vlan;
	uint16_t vlan_tci;
	uint16_t ethertype; /* after the tag */
	size_t l3off;
};

struct pkt_ip {
	int family;
	int version;
	size_t off;	 /* of the IP header in the buffer */
	size_t hlen;	 /* IPv4: IHL * 4; IPv6: 40 */
	size_t len;	 /* total length the header claims */
	uint8_t proto;	 /* IPv4 protocol / IPv6 next header */
	uint8_t tos;	 /* TOS / traffic class */
	uint8_t ttl;	 /* TTL / hop limit */
	uint16_t frag;	 /* IPv4 frag_off, host order */
	uint16_t id;
	uint32_t flow_label;
	uint16_t check;	 /* IPv4 header checksum as found */
	uint8_t saddr[16], daddr[16];
	size_t l4off;	 /* upper layer, after IPv6 extension headers */
	uint8_t l4proto;
};

/* 0, or -1 when the buffer is too short. */
int pkt_parse_l2(const uint8_t *buf, size_t len, struct pkt_l2 *l2);
int pkt_parse_ip(const uint8_t *buf, size_t len, size_t off,
		 struct pkt_ip *ip);

/* ---- checksums ---- */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);
/* Header checksum of the IPv4 header at ip: true when it verifies. */
bool pkt_ipv4_csum_ok(const uint8_t *ip);
/* Recompute the upper-layer checksum (TCP, UDP, ICMP, ICMPv6) of the IP
 * packet at buf + off (len bytes available) and compare: true when it
 * verifies.  *got / *want (optional) receive the stored and computed. */
bool pkt_l4_csum_ok(const uint8_t *buf, size_t len, size_t off,
		    uint16_t *got, uint16_t *want);

/* Offset of the first byte where a and b differ, or -1 if equal. */
long pkt_first_diff(const uint8_t *a, const uint8_t *b, size_t len);

#endif
