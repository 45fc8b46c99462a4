/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* netlink.h - rtnetlink for xlbd: links, addresses, routes, neighbours, and a
 * monitor of their changes (libmnl; never the `ip` command).
 *
 * Requests share one cached NETLINK_ROUTE socket with a receive timeout, so
 * they are for one thread (xlbd's event loop). Every function returns 0 or a
 * negative errno: the kernel's own error where it sent one, -ETIMEDOUT when
 * it did not answer in time.
 */
#ifndef XLB_NETLINK_H
#define XLB_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include "addr.h"

/* How long a request waits for each reply datagram. */
#define NL_TIMEOUT_MS 2000

struct nl_link_info {
	int ifindex;
	char name[16];		/* IFNAMSIZ, NUL-terminated */
	uint8_t mac[6];		/* zero unless a 6-byte address */
	uint32_t mtu;
	bool up;		/* administratively up (IFF_UP) */
	bool carrier;		/* lower layer up (IFF_LOWER_UP) */
	uint16_t type;		/* ARPHRD_* (ARPHRD_ETHER for NICs and veth) */
};

/* -ENODEV when no such device, -EINVAL for a name that cannot be one. */
int nl_link_by_name(const char *name, struct nl_link_info *out);
int nl_link_by_index(int ifindex, struct nl_link_info *out);

/* First global-scope address the kernel lists for ifindex in family
 * (AF_INET or AF_INET6); addresses whose DAD failed are skipped. -ENOENT if
 * there is none. */
int nl_primary_addr(int ifindex, int family, struct xlb_addr *out);

/* Route lookup like `ip route get DST`: the next hop to resolve (the gateway,
 * which may be of the other family with RTA_VIA, or dst itself when on-link),
 * the output ifindex and the route's MTU (0 when the route sets none: the
 * caller then uses the device MTU). Errors: -ENETUNREACH (no route),
 * -EHOSTUNREACH (unreachable route, or a broadcast/multicast/anycast one),
 * -EACCES (prohibit), -EINVAL (blackhole), -ELOOP (dst is a local address). */
int nl_route_get(const struct xlb_addr *dst, struct xlb_addr *nexthop,
		 int *oif, uint32_t *mtu);

struct nl_neigh_info {
	int ifindex;
	struct xlb_addr dst;
	uint16_t state;		/* NUD_* */
	uint8_t flags;		/* NTF_* */
	uint32_t ext_flags;	/* NTF_EXT_* (NDA_FLAGS_EXT) */
	bool managed;		/* ext_flags has NTF_EXT_MANAGED */
	bool has_mac;
	uint8_t mac[6];
};

/* The kernel's neighbour entry for dst on ifindex; -ENOENT when none. */
int nl_neigh_get(int ifindex, const struct xlb_addr *dst,
		 struct nl_neigh_info *out);

/* Keep the neighbour entry of nexthop on ifindex resolved ahead of time: a
 * managed entry (NTF_EXT_MANAGED in NDA_FLAGS_EXT, kernel >= 5.16), which the
 * kernel keeps resolved and refreshes; on older kernels NTF_USE, which the
 * caller repeats when the entry goes stale or fails (nl_neigh_managed()
 * says which). PERMANENT and NOARP entries are the operator's: left alone.
 * An entry already managed is left as it is. */
int nl_neigh_keep(int ifindex, const struct xlb_addr *nexthop);

/* Kick resolution once (NTF_USE), e.g. after a data-plane neighbour miss.
 * Leaves PERMANENT and NOARP entries alone and keeps the managed and
 * externally-learned flags of the entry it finds. */
int nl_neigh_resolve(int ifindex, const struct xlb_addr *nexthop);

/* 1 when the kernel keeps managed entries, 0 when it does not, -1 until an
 * nl_neigh_keep() has found out. */
int nl_neigh_managed(void);

/* Drop the cached request socket (the next request opens a new one), e.g.
 * after changing network namespace, or at exit. */
void nl_close(void);

/* Monitor: a non-blocking socket subscribed to link, IPv4/IPv6 address,
 * IPv4/IPv6 route and neighbour groups. Notes for the caller: the kernel
 * sends no RTM_DELROUTE for IPv4 routes that go away with their link, so a
 * link event should trigger the same re-lookup as a route event; and an
 * overrun (ENOBUFS: events were lost) is reported as one NL_EV_ROUTE event
 * with `overrun` set, after which the caller resyncs everything. */
struct nl_monitor;

enum nl_event_kind { NL_EV_LINK, NL_EV_ROUTE, NL_EV_NEIGH, NL_EV_ADDR };

struct nl_event {
	enum nl_event_kind kind;
	bool deleted;		/* RTM_DEL* */
	bool overrun;		/* synthetic: events were lost, resync */
	int ifindex;		/* link; neighbour; address; route RTA_OIF */
	bool link_up;		/* link: IFF_UP */
	bool carrier;		/* link: IFF_LOWER_UP */
	uint32_t mtu;		/* link: IFLA_MTU */
	struct xlb_addr addr;	/* neighbour dst, route dst, address */
	uint8_t plen;		/* route dst / address prefix length */
	uint32_t table;		/* route table */
	uint16_t neigh_state;	/* NUD_* */
	bool neigh_managed;	/* neighbour: NTF_EXT_MANAGED */
	bool has_mac;		/* neighbour: NDA_LLADDR of 6 bytes present */
	uint8_t mac[6];
};

typedef void (*nl_event_cb)(void *arg, const struct nl_event *ev);

/* NULL with errno set on failure. */
struct nl_monitor *nl_monitor_open(void);
int nl_monitor_fd(const struct nl_monitor *m);
/* Drain pending messages (call when the fd is readable), calling cb once per
 * event. Returns the number of events reported, or -errno. */
int nl_monitor_process(struct nl_monitor *m, nl_event_cb cb, void *arg);
void nl_monitor_close(struct nl_monitor *m);

#endif
