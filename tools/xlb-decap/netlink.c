// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * netlink.c - the host's addresses through an RTM_GETADDR dump (libmnl),
 * and small helpers on address lists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include "decap_tool.h"

int dt_addrs_add(struct dt_addrs *a, const struct dt_addr *x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct dt_addr *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = *x;
	return 0;
}

bool dt_addrs_has(const struct dt_addrs *a, const struct dt_addr *x)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->v[i].family == x->family &&
		    !memcmp(a->v[i].bytes, x->bytes, 16))
			return true;
	return false;
}

void dt_addrs_free(struct dt_addrs *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

const char *dt_addr_fmt(const struct dt_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->bytes, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

int dt_addr_parse(const char *s, struct dt_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->bytes) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	if ((type == IFA_ADDRESS || type == IFA_LOCAL) &&
	    mnl_attr_validate(attr, MNL_TYPE_BINARY) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	const struct nlattr *at;
	struct dt_addr a = { 0 };
	size_t len;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	/* IPv4: IFA_LOCAL is the address (IFA_ADDRESS is the peer on a
	 * point-to-point link); IPv6 has only IFA_ADDRESS. */
	at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!at)
		return MNL_CB_OK;
	len = ifa->ifa_family == AF_INET ? 4 : 16;
	if (mnl_attr_get_payload_len(at) < len)
		return MNL_CB_OK;
	a.family = ifa->ifa_family;
	a.ifindex = ifa->ifa_index;
	a.scope = ifa->ifa_scope;
	memcpy(a.bytes, mnl_attr_get_payload(at), len);
	return dt_addrs_add(data, &a) ? MNL_CB_ERROR : MNL_CB_OK;
}

int dt_nl_addrs(struct dt_addrs *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned int seq = time(NULL), portid;
	int ret, err = 0;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0) {
			err = -errno;
			break;
		}
		ret = mnl_cb_run(buf, ret, seq, portid, addr_cb, out);
		if (ret < 0) {
			err = errno ? -errno : -EIO;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return err;
}
