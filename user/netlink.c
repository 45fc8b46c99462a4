// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* netlink.c - rtnetlink queries and the change monitor, with libmnl.
 *
 * A request is one message on a cached NETLINK_ROUTE socket, answered by the
 * kernel with replies and then an ack (NLM_F_ACK) or NLMSG_DONE (dumps). Any
 * failure other than the kernel's own error (a timeout, a truncated or
 * malformed reply) closes the socket, so a late reply can never be taken for
 * the answer to the next request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <libmnl/libmnl.h>
#include "log.h"
#include "netlink.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define NL_REQ_WORDS 128	/* 512-byte requests: a header, a few attrs */
#define NL_RX_SIZE 32768	/* the kernel fills dump skbs up to 32 KiB */
#define NL_DUMP_TRIES 3		/* restarts of a dump the kernel interrupted */
#define NL_MON_RCVBUF (4 << 20)

static struct mnl_socket *nl_sock;
static unsigned int nl_portid;
static unsigned int nl_seq;
static int nl_managed_ok = -1;	/* kernel keeps managed entries: 1/0/unknown */

struct nl_call {
	mnl_cb_t cb;	/* per data message; NULL for a plain ack */
	void *arg;
	int kerr;	/* the kernel's verdict (<= 0) from NLMSG_ERROR/DONE */
};

void nl_close(void)
{
	if (nl_sock)
		mnl_socket_close(nl_sock);
	nl_sock = NULL;
}

static int nl_sock_get(void)
{
	struct timeval tv = {
		.tv_sec = NL_TIMEOUT_MS / 1000,
		.tv_usec = (NL_TIMEOUT_MS % 1000) * 1000,
	};
	int one = 1, fd, err;

	if (nl_sock)
		return 0;
	nl_sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl_sock)
		return -errno;
	fd = mnl_socket_get_fd(nl_sock);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto err;
	}
	/* Both are optional (kernel >= 4.12 / 4.20): the kernel's reason in
	 * errors, and strict checking of requests rather than silently
	 * ignoring what it does not understand. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	if (mnl_socket_bind(nl_sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err;
	}
	nl_portid = mnl_socket_get_portid(nl_sock);
	if (!nl_seq)
		nl_seq = (unsigned int)time(NULL);
	return 0;
err:
	nl_close();
	return err;
}

/* The kernel's explanation (NLMSGERR_ATTR_MSG) of an error, if it gave one. */
static const char *nl_extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (off >= mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			return mnl_attr_get_str(a);
	}
	return NULL;
}

static int nl_call_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_call *c = data;
	const char *msg;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	c->kerr = e->error > 0 ? -EPROTO : e->error;
	if (e->error && (msg = nl_extack_msg(nlh)))
		log_debug("netlink: %s: %s", strerror(-c->kerr), msg);
	return MNL_CB_STOP;
}

/* End of a dump; since 4.x it carries the dump's error, if any. */
static int nl_call_done(const struct nlmsghdr *nlh, void *data)
{
	struct nl_call *c = data;
	int err = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	c->kerr = err < 0 ? err : 0;
	return MNL_CB_STOP;
}

static int nl_call_data(const struct nlmsghdr *nlh, void *data)
{
	struct nl_call *c = data;

	return c->cb ? c->cb(nlh, c->arg) : MNL_CB_OK;
}

/* Send nlh, feed every reply to cb until the ack or NLMSG_DONE; return the
 * kernel's verdict, or our own error (then the socket is dropped). */
static int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *arg)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = nl_call_error,
		[NLMSG_DONE] = nl_call_done,
	};
	struct nl_call call = { .cb = cb, .arg = arg, .kerr = -EPROTO };
	char buf[NL_RX_SIZE] __attribute__((aligned(8)));
	unsigned int seq;
	int err, ret = MNL_CB_OK;
	ssize_t n;

	err = nl_sock_get();
	if (err)
		return err;
	seq = nlh->nlmsg_seq = ++nl_seq;
	if (mnl_socket_sendto(nl_sock, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto drop;
	}
	do {
		n = mnl_socket_recvfrom(nl_sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				err = -ETIMEDOUT;
			else if (errno == ENOSPC) /* MSG_TRUNC */
				err = -EMSGSIZE;
			else
				err = -errno;
			goto drop;
		}
		errno = 0;
		ret = mnl_cb_run2(buf, n, seq, nl_portid, nl_call_data, &call,
				  ctl, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR) {
			/* EINTR here: the kernel interrupted a dump. */
			err = errno ? -errno : -EPROTO;
			goto drop;
		}
	} while (n < 0 || ret != MNL_CB_STOP);
	return call.kerr;
drop:
	nl_close();
	return err;
}

static struct nlmsghdr *nl_req_init(uint32_t *req, uint16_t type,
				    uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(req, 0, NL_REQ_WORDS * sizeof(*req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

struct nl_tb {
	const struct nlattr **tb;
	unsigned int max;
};

static int nl_tb_cb(const struct nlattr *a, void *data)
{
	struct nl_tb *t = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

/* Index the attributes after a family header of hdrlen bytes. */
static int nl_parse(const struct nlmsghdr *nlh, size_t hdrlen,
		    const struct nlattr **tb, unsigned int max)
{
	struct nl_tb t = { .tb = tb, .max = max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return mnl_attr_parse(nlh, hdrlen, nl_tb_cb, &t);
}

static bool nl_attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32))
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

static int nl_family_len(int family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

static bool nl_attr_addr(const struct nlattr *a, int family,
			 struct xlb_addr *out)
{
	int len = nl_family_len(family);

	if (!a || !len || mnl_attr_get_payload_len(a) != len)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->bytes, mnl_attr_get_payload(a), len);
	return true;
}

/* ---- links ---- */

struct nl_link_req {
	struct nl_link_info *out;
	bool found;
};

static void nl_link_fill(const struct nlmsghdr *nlh,
			 const struct nlattr **tb, struct nl_link_info *out)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->type = ifi->ifi_type;
	out->up = ifi->ifi_flags & IFF_UP;
	out->carrier = ifi->ifi_flags & IFF_LOWER_UP;
	if (tb[IFLA_IFNAME] &&
	    !mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING))
		snprintf(out->name, sizeof(out->name), "%s",
			 mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_ADDRESS] &&
	    mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(out->mac))
		memcpy(out->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]),
		       sizeof(out->mac));
	nl_attr_u32(tb[IFLA_MTU], &out->mtu);
}

static int nl_link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	struct nl_link_req *r = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (nl_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX) < 0)
		return MNL_CB_ERROR;
	nl_link_fill(nlh, tb, r->out);
	r->found = true;
	return MNL_CB_OK;
}

static int nl_link_query(int ifindex, const char *name,
			 struct nl_link_info *out)
{
	uint32_t req[NL_REQ_WORDS];
	struct nl_link_req r = { .out = out };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int err;

	nlh = nl_req_init(req, RTM_GETLINK, NLM_F_ACK);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = nl_talk(nlh, nl_link_cb, &r);
	if (!err && !r.found)
		err = -ENODEV;
	return err;
}

int nl_link_by_name(const char *name, struct nl_link_info *out)
{
	size_t len = name ? strlen(name) : 0;

	if (!len || len >= IFNAMSIZ)
		return -EINVAL;
	return nl_link_query(0, name, out);
}

int nl_link_by_index(int ifindex, struct nl_link_info *out)
{
	if (ifindex <= 0)
		return -EINVAL;
	return nl_link_query(ifindex, NULL, out);
}

/* ---- addresses ---- */

struct nl_addr_req {
	int ifindex;
	int family;
	struct xlb_addr *out;
	bool found;
};

static int nl_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1], *a;
	struct nl_addr_req *r = data;
	uint32_t flags;

	if (nlh->nlmsg_type != RTM_NEWADDR || r->found)
		return MNL_CB_OK;
	if (nl_parse(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
		return MNL_CB_ERROR;
	if ((int)ifa->ifa_index != r->ifindex ||
	    ifa->ifa_family != r->family ||
	    ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return MNL_CB_OK;
	if (!nl_attr_u32(tb[IFA_FLAGS], &flags))
		flags = ifa->ifa_flags;
	if (flags & IFA_F_DADFAILED)
		return MNL_CB_OK;
	/* IFA_LOCAL is the local end on point-to-point links (where
	 * IFA_ADDRESS is the peer), and absent otherwise. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (nl_attr_addr(a, r->family, r->out))
		r->found = true;
	return MNL_CB_OK;
}

int nl_primary_addr(int ifindex, int family, struct xlb_addr *out)
{
	struct nl_addr_req r = {
		.ifindex = ifindex, .family = family, .out = out,
	};
	uint32_t req[NL_REQ_WORDS];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int err, tries = 0;

	if (ifindex <= 0 || !nl_family_len(family))
		return -EINVAL;
	do {
		r.found = false;
		nlh = nl_req_init(req, RTM_GETADDR, NLM_F_DUMP);
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = family;
		ifa->ifa_index = ifindex; /* a filter under strict checking */
		err = nl_talk(nlh, nl_addr_cb, &r);
	} while (err == -EINTR && ++tries < NL_DUMP_TRIES);
	if (!err && !r.found)
		err = -ENOENT;
	return err;
}

/* ---- routes ---- */

struct nl_route_req {
	struct xlb_addr nexthop;
	int oif;
	uint32_t mtu;
	int err;
	bool found;
};

static int nl_metrics_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTAX_MTU)
		nl_attr_u32(a, data);
	return MNL_CB_OK;
}

/* RTA_VIA: a gateway of another family (IPv4 routes via IPv6 next hops). */
static bool nl_attr_via(const struct nlattr *a, struct xlb_addr *out)
{
	const struct rtvia *via;
	int len;

	if (!a || mnl_attr_get_payload_len(a) < sizeof(*via))
		return false;
	via = mnl_attr_get_payload(a);
	len = nl_family_len(via->rtvia_family);
	if (!len || mnl_attr_get_payload_len(a) != sizeof(*via) + len)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = via->rtvia_family;
	memcpy(out->bytes, via->rtvia_addr, len);
	return true;
}

/* The errors the kernel gives for routes of these types (fib_props). */
static int nl_route_type_err(unsigned char type)
{
	switch (type) {
	case RTN_UNICAST:
		return 0;
	case RTN_LOCAL:
		return -ELOOP;
	case RTN_BLACKHOLE:
		return -EINVAL;
	case RTN_PROHIBIT:
		return -EACCES;
	case RTN_THROW:
		return -ENETUNREACH;
	default:
		return -EHOSTUNREACH;
	}
}

static int nl_route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	struct nl_route_req *r = data;
	uint32_t oif = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE || r->found)
		return MNL_CB_OK;
	if (nl_parse(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return MNL_CB_ERROR;
	r->found = true;
	r->err = nl_route_type_err(rtm->rtm_type);
	if (r->err)
		return MNL_CB_OK;
	nl_attr_u32(tb[RTA_OIF], &oif);
	r->oif = oif;
	if (tb[RTA_GATEWAY]) {
		if (!nl_attr_addr(tb[RTA_GATEWAY], rtm->rtm_family,
				  &r->nexthop))
			r->err = -EBADMSG;
	} else if (tb[RTA_VIA]) {
		if (!nl_attr_via(tb[RTA_VIA], &r->nexthop))
			r->err = -EBADMSG;
	}
	if (tb[RTA_METRICS])
		mnl_attr_parse_nested(tb[RTA_METRICS], nl_metrics_cb, &r->mtu);
	return MNL_CB_OK;
}

int nl_route_get(const struct xlb_addr *dst, struct xlb_addr *nexthop,
		 int *oif, uint32_t *mtu)
{
	struct nl_route_req r = { 0 };
	uint32_t req[NL_REQ_WORDS];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err, len;

	len = nl_family_len(dst->family);
	if (!len)
		return -EINVAL;
	r.nexthop = *dst; /* on-link unless the route names a gateway */
	nlh = nl_req_init(req, RTM_GETROUTE, NLM_F_ACK);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = len * 8;
	mnl_attr_put(nlh, RTA_DST, len, dst->bytes);
	err = nl_talk(nlh, nl_route_cb, &r);
	if (err)
		goto out;
	err = r.found ? r.err : -EPROTO;
	if (!err && r.oif <= 0)
		err = -ENETUNREACH;
	if (err)
		goto out;
	*nexthop = r.nexthop;
	*oif = r.oif;
	*mtu = r.mtu;
out:
	return err;
}

/* ---- neighbours ---- */

struct nl_neigh_req {
	struct nl_neigh_info *out;
	bool found;
};

static void nl_neigh_fill(const struct nlmsghdr *nlh,
			  const struct nlattr **tb, struct nl_neigh_info *out)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *ll = tb[NDA_LLADDR];

	memset(out, 0, sizeof(*out));
	out->ifindex = ndm->ndm_ifindex;
	out->state = ndm->ndm_state;
	out->flags = ndm->ndm_flags;
	nl_attr_addr(tb[NDA_DST], ndm->ndm_family, &out->dst);
	nl_attr_u32(tb[NDA_FLAGS_EXT], &out->ext_flags);
	out->managed = out->ext_flags & NTF_EXT_MANAGED;
	if (ll && mnl_attr_get_payload_len(ll) == sizeof(out->mac)) {
		memcpy(out->mac, mnl_attr_get_payload(ll), sizeof(out->mac));
		out->has_mac = true;
	}
}

static int nl_neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NDA_MAX + 1];
	struct nl_neigh_req *r = data;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return MNL_CB_OK;
	if (nl_parse(nlh, sizeof(struct ndmsg), tb, NDA_MAX) < 0)
		return MNL_CB_ERROR;
	nl_neigh_fill(nlh, tb, r->out);
	r->found = true;
	return MNL_CB_OK;
}

static struct nlmsghdr *nl_neigh_msg(uint32_t *req, uint16_t type,
				     uint16_t flags, int ifindex,
				     const struct xlb_addr *dst)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nlh = nl_req_init(req, type, flags);
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = dst->family;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, nl_family_len(dst->family), dst->bytes);
	return nlh;
}

int nl_neigh_get(int ifindex, const struct xlb_addr *dst,
		 struct nl_neigh_info *out)
{
	struct nl_neigh_req r = { .out = out };
	uint32_t req[NL_REQ_WORDS];
	struct nlmsghdr *nlh;
	int err;

	if (ifindex <= 0 || !nl_family_len(dst->family))
		return -EINVAL;
	nlh = nl_neigh_msg(req, RTM_GETNEIGH, NLM_F_ACK, ifindex, dst);
	err = nl_talk(nlh, nl_neigh_cb, &r);
	if (!err && !r.found)
		err = -ENOENT;
	return err;
}

/* Create or update an entry with these flags. An administrative update
 * rewrites the entry's NTF_EXT_LEARNED and managed flags, so callers pass
 * back those they want to keep. The state is NUD_NONE: with NTF_USE or the
 * managed flag the kernel keeps the entry's state and starts resolving. */
static int nl_neigh_send(int ifindex, const struct xlb_addr *dst,
			 uint8_t flags, uint32_t ext_flags)
{
	uint32_t req[NL_REQ_WORDS];
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nlh = nl_neigh_msg(req, RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE,
			   ifindex, dst);
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = flags;
	if (ext_flags)
		mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, ext_flags);
	return nl_talk(nlh, NULL, NULL);
}

/* Look the entry up: 1 when it is the operator's (leave it), 0 with the
 * flags to preserve when it is ours to update or absent, or -errno. */
static int nl_neigh_prepare(int ifindex, const struct xlb_addr *dst,
			    struct nl_neigh_info *cur, uint8_t *keep)
{
	int err;

	*keep = 0;
	err = nl_neigh_get(ifindex, dst, cur);
	if (err == -ENOENT) {
		memset(cur, 0, sizeof(*cur));
		return 0;
	}
	if (err)
		return err;
	if (cur->state & (NUD_PERMANENT | NUD_NOARP))
		return 1;
	*keep = cur->flags & (NTF_EXT_LEARNED | NTF_ROUTER);
	return 0;
}

int nl_neigh_keep(int ifindex, const struct xlb_addr *nexthop)
{
	struct nl_neigh_info cur;
	uint8_t keep;
	int err;

	err = nl_neigh_prepare(ifindex, nexthop, &cur, &keep);
	if (err)
		return err < 0 ? err : 0;
	if (cur.managed)
		return 0; /* the kernel already keeps it */
	if (nl_managed_ok) {
		err = nl_neigh_send(ifindex, nexthop, keep,
				    cur.ext_flags | NTF_EXT_MANAGED);
		if (err)
			goto out;
		if (nl_managed_ok < 0) {
			/* Kernels before 5.16 ignore NDA_FLAGS_EXT: read the
			 * entry back to learn whether the flag took. */
			err = nl_neigh_get(ifindex, nexthop, &cur);
			if (err)
				goto out;
			nl_managed_ok = cur.managed;
			if (!nl_managed_ok)
				log_info("netlink: kernel without managed "
					 "neighbour entries: using NTF_USE");
		}
		if (nl_managed_ok)
			goto out;
	}
	err = nl_neigh_send(ifindex, nexthop, keep | NTF_USE, cur.ext_flags);
out:
	return err;
}

int nl_neigh_resolve(int ifindex, const struct xlb_addr *nexthop)
{
	struct nl_neigh_info cur;
	uint8_t keep;
	int err;

	err = nl_neigh_prepare(ifindex, nexthop, &cur, &keep);
	if (err)
		return err < 0 ? err : 0;
	return nl_neigh_send(ifindex, nexthop, keep | NTF_USE, cur.ext_flags);
}

int nl_neigh_managed(void)
{
	return nl_managed_ok;
}

/* ---- monitor ---- */

struct nl_monitor {
	struct mnl_socket *sock;
	nl_event_cb cb;
	void *arg;
	int count;
};

struct nl_monitor *nl_monitor_open(void)
{
	unsigned int groups = RTMGRP_LINK | RTMGRP_NEIGH |
			      RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			      RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	int rcvbuf = NL_MON_RCVBUF, fd, err;
	struct nl_monitor *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->sock) {
		err = errno;
		goto err;
	}
	/* Room for bursts (a link going down flushes its routes and
	 * neighbours at once); FORCE needs CAP_NET_ADMIN, else best effort. */
	fd = mnl_socket_get_fd(m->sock);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_bind(m->sock, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		goto err;
	}
	return m;
err:
	nl_monitor_close(m);
	errno = err;
	return NULL;
}

int nl_monitor_fd(const struct nl_monitor *m)
{
	return mnl_socket_get_fd(m->sock);
}

void nl_monitor_close(struct nl_monitor *m)
{
	if (!m)
		return;
	if (m->sock)
		mnl_socket_close(m->sock);
	free(m);
}

static void nl_mon_emit(struct nl_monitor *m, const struct nl_event *ev)
{
	m->cb(m->arg, ev);
	m->count++;
}

static void nl_mon_link(struct nl_monitor *m, const struct nlmsghdr *nlh,
			const struct nlattr **tb)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nl_event ev = { .kind = NL_EV_LINK };

	/* AF_BRIDGE messages describe bridge ports, not the device. */
	if (ifi->ifi_family != AF_UNSPEC)
		return;
	ev.deleted = nlh->nlmsg_type == RTM_DELLINK;
	ev.ifindex = ifi->ifi_index;
	ev.link_up = ifi->ifi_flags & IFF_UP;
	ev.carrier = ifi->ifi_flags & IFF_LOWER_UP;
	nl_attr_u32(tb[IFLA_MTU], &ev.mtu);
	nl_mon_emit(m, &ev);
}

static void nl_mon_route(struct nl_monitor *m, const struct nlmsghdr *nlh,
			 const struct nlattr **tb)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nl_event ev = { .kind = NL_EV_ROUTE };
	uint32_t v;

	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return;
	ev.deleted = nlh->nlmsg_type == RTM_DELROUTE;
	ev.plen = rtm->rtm_dst_len;
	ev.table = rtm->rtm_table;
	if (nl_attr_u32(tb[RTA_TABLE], &v))
		ev.table = v;
	if (nl_attr_u32(tb[RTA_OIF], &v))
		ev.ifindex = v;
	if (!nl_attr_addr(tb[RTA_DST], rtm->rtm_family, &ev.addr))
		ev.addr.family = rtm->rtm_family; /* default route */
	nl_mon_emit(m, &ev);
}

static void nl_mon_neigh(struct nl_monitor *m, const struct nlmsghdr *nlh,
			 const struct nlattr **tb)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct nl_event ev = { .kind = NL_EV_NEIGH };
	struct nl_neigh_info n;

	/* AF_BRIDGE: forwarding database entries, not neighbours. */
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return;
	nl_neigh_fill(nlh, tb, &n);
	ev.deleted = nlh->nlmsg_type == RTM_DELNEIGH;
	ev.ifindex = n.ifindex;
	ev.addr = n.dst;
	ev.neigh_state = n.state;
	ev.neigh_managed = n.managed;
	ev.has_mac = n.has_mac;
	memcpy(ev.mac, n.mac, sizeof(ev.mac));
	nl_mon_emit(m, &ev);
}

static void nl_mon_addr(struct nl_monitor *m, const struct nlmsghdr *nlh,
			const struct nlattr **tb)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nl_event ev = { .kind = NL_EV_ADDR };
	const struct nlattr *a;

	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return;
	ev.deleted = nlh->nlmsg_type == RTM_DELADDR;
	ev.ifindex = ifa->ifa_index;
	ev.plen = ifa->ifa_prefixlen;
	nl_attr_addr(a, ifa->ifa_family, &ev.addr);
	nl_mon_emit(m, &ev);
}

static int nl_mon_cb(const struct nlmsghdr *nlh, void *data)
{
	/* Sized for the largest of the families handled here. */
	const struct nlattr *tb[IFLA_MAX + RTA_MAX + NDA_MAX + IFA_MAX + 4];
	struct nl_monitor *m = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (nl_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX) < 0)
			break;
		nl_mon_link(m, nlh, tb);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		if (nl_parse(nlh, sizeof(struct rtmsg), tb, RTA_MAX) < 0)
			break;
		nl_mon_route(m, nlh, tb);
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (nl_parse(nlh, sizeof(struct ndmsg), tb, NDA_MAX) < 0)
			break;
		nl_mon_neigh(m, nlh, tb);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (nl_parse(nlh, sizeof(struct ifaddrmsg), tb, IFA_MAX) < 0)
			break;
		nl_mon_addr(m, nlh, tb);
		break;
	}
	/* A malformed notification is skipped, not fatal to the rest. */
	return MNL_CB_OK;
}

int nl_monitor_process(struct nl_monitor *m, nl_event_cb cb, void *arg)
{
	char buf[NL_RX_SIZE] __attribute__((aligned(8)));
	struct nl_event lost = { .kind = NL_EV_ROUTE, .overrun = true };
	bool overrun = false;
	ssize_t n;
	int err = 0;

	m->cb = cb;
	m->arg = arg;
	m->count = 0;
	for (;;) {
		n = mnl_socket_recvfrom(m->sock, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* ENOBUFS: the kernel dropped notifications for
			 * us; ENOSPC: one did not fit. Either way events
			 * were lost: tell the caller once, keep reading. */
			if (errno == ENOBUFS || errno == ENOSPC) {
				overrun = true;
				continue;
			}
			err = -errno;
			goto out;
		}
		if (mnl_cb_run(buf, n, 0, 0, nl_mon_cb, m) == MNL_CB_ERROR)
			log_debug("netlink monitor: bad message: %s",
				  strerror(errno));
	}
out:
	if (overrun)
		nl_mon_emit(m, &lost);
	return err ? err : m->count;
}
