// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * check.c - is this backend host ready to serve a VIP?  One finding per
 * line, each with its fix: decap attached, VIPs on a local interface and in
 * the decap map, ARP behaviour, rp_filter, MTU.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include "decap_tool.h"

struct check_ctx {
	const struct dt_output *out;
	bool ok;
};

static void finding(struct check_ctx *cx, const char *check,
		    const char *ifname, int status, const char *fix,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* status: 1 ok, 0 fail, -1 skipped */
static void finding(struct check_ctx *cx, const char *check,
		    const char *ifname, int status, const char *fix,
		    const char *fmt, ...)
{
	struct dt_finding f = { .check = check, .ifname = ifname };
	va_list ap;

	f.ok = status != 0;
	f.skipped = status < 0;
	va_start(ap, fmt);
	vsnprintf(f.message, sizeof(f.message), fmt, ap);
	va_end(ap);
	snprintf(f.fix, sizeof(f.fix), "%s", fix ? fix : "");
	if (!f.ok)
		cx->ok = false;
	cx->out->finding(&f);
}

static int if_flags(const char *ifname, int *flags, int *mtu)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	else
		*flags = ifr.ifr_flags;
	if (!err && ioctl(s, SIOCGIFMTU, &ifr) < 0)
		err = -errno;
	else if (!err)
		*mtu = ifr.ifr_mtu;
	close(s);
	return err;
}

/* net.ipv4.conf.<dev>.<key>; -1 when unreadable. */
static int sysctl_conf(const char *dev, const char *key)
{
	char path[128];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", dev,
		 key);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The name sysctl(8) takes: a dot in an interface name needs slashes. */
static const char *sysctl_name(const char *dev, const char *key, char *buf,
			       size_t len)
{
	if (strchr(dev, '.'))
		snprintf(buf, len, "net/ipv4/conf/%s/%s", dev, key);
	else
		snprintf(buf, len, "net.ipv4.conf.%s.%s", dev, key);
	return buf;
}

/*
 * arp_ignore, arp_announce and rp_filter: the kernel uses the larger of
 * "all" and the interface's value.  @want_min: the value must be at least
 * this (arp_*); @bad: this exact value fails (rp_filter strict = 1).
 */
static void check_conf(struct check_ctx *cx, const char *ifname,
		       const char *key, int want_min, int bad, int good,
		       const char *why)
{
	int all = sysctl_conf("all", key), dev = sysctl_conf(ifname, key);
	int eff = all > dev ? all : dev;
	char fix[256] = "", n1[80], n2[80];
	bool pass = bad >= 0 ? eff != bad : eff >= want_min;

	if (all < 0 || dev < 0) {
		finding(cx, key, ifname, -1, NULL,
			"cannot read net.ipv4.conf.{all,%s}.%s", ifname, key);
		return;
	}
	if (!pass) {
		if (bad >= 0) /* lower whichever is strict */
			snprintf(fix, sizeof(fix), "sysctl -w %s=%d%s%s=%d",
				 sysctl_name("all", key, n1, sizeof(n1)),
				 all == bad ? good : all,
				 " ", sysctl_name(ifname, key, n2, sizeof(n2)),
				 dev == bad ? good : dev);
		else
			snprintf(fix, sizeof(fix), "sysctl -w %s=%d",
				 sysctl_name("all", key, n1, sizeof(n1)),
				 want_min);
	}
	finding(cx, key, ifname, pass, fix, "%s is %d on %s (all %d, %s %d)%s",
		key, eff, ifname, all, ifname, dev, pass ? "" : why);
}

static const struct dt_addr *host_addr(const struct dt_addrs *host,
				       const struct dt_addr *a)
{
	size_t i;

	for (i = 0; i < host->n; i++)
		if (host->v[i].family == a->family &&
		    !memcmp(host->v[i].bytes, a->bytes, 16))
			return &host->v[i];
	return NULL;
}

static void check_vip(struct check_ctx *cx, const struct dt_prog *p,
		      const struct dt_addrs *host, const struct dt_addrs *map,
		      bool local_mode, const struct dt_addr *vip)
{
	char a[INET6_ADDRSTRLEN], on[IF_NAMESIZE] = "?", fix[256];
	const struct dt_addr *h = host_addr(host, vip);
	int flags = 0, mtu = 0, plen = vip->family == AF_INET ? 32 : 128;

	dt_addr_fmt(vip, a, sizeof(a));
	if (!h) {
		snprintf(fix, sizeof(fix), "ip addr add %s/%d dev lo", a,
			 plen);
		finding(cx, "vip", p->ifname, 0, fix,
			"VIP %s is not on any local interface: the stack "
			"would not accept its packets", a);
	} else {
		if_indextoname(h->ifindex, on);
		if_flags(on, &flags, &mtu);
		if (h->ifindex == p->ifindex && !(flags & IFF_LOOPBACK)) {
			snprintf(fix, sizeof(fix),
				 "ip addr del %s/%d dev %s; ip addr add "
				 "%s/%d dev lo", a, plen, on, a, plen);
			finding(cx, "vip", p->ifname, 0, fix,
				"VIP %s is on %s, the receiving interface: the "
				"host answers ARP/ND for it and takes the "
				"LB's traffic", a, on);
		} else {
			finding(cx, "vip", p->ifname, 1, NULL,
				"VIP %s is on %s", a, on);
		}
	}
	if (p->prog_fd < 0)
		return;
	if (dt_addrs_has(map, vip)) {
		finding(cx, "vip_map", p->ifname, 1, NULL,
			"VIP %s is in the decap map of %s", a, p->ifname);
		return;
	}
	if (local_mode)
		snprintf(fix, sizeof(fix),
			 "xlb-decap attach %s (re-reads the local addresses)",
			 p->ifname);
	else
		snprintf(fix, sizeof(fix),
			 "xlb-decap attach %s --vip %s (with the other VIPs)",
			 p->ifname, a);
	finding(cx, "vip_map", p->ifname, 0, fix,
		"VIP %s is not in the decap map of %s%s", a, p->ifname,
		local_mode ? ": added after attach" : "");
}

static void check_mtu(struct check_ctx *cx, const struct dt_prog *p,
		      const struct dt_addrs *host, const struct dt_addrs *vips)
{
	bool over6 = false;
	int flags = 0, mtu = 0, need, ovh;
	char fix[256];
	size_t i;

	/* Tunnels arrive over IPv6 when the interface has a global IPv6
	 * address or a VIP is IPv6 (IPv6-in-IPv6). */
	for (i = 0; i < host->n; i++)
		if (host->v[i].ifindex == p->ifindex &&
		    host->v[i].family == AF_INET6 &&
		    host->v[i].scope == RT_SCOPE_UNIVERSE)
			over6 = true;
	for (i = 0; i < vips->n; i++)
		if (vips->v[i].family == AF_INET6)
			over6 = true;
	ovh = over6 ? 40 : 20;
	need = 1500 + ovh;
	if (if_flags(p->ifname, &flags, &mtu)) {
		finding(cx, "mtu", p->ifname, -1, NULL,
			"cannot read the MTU of %s", p->ifname);
		return;
	}
	if (mtu >= need) {
		finding(cx, "mtu", p->ifname, 1, NULL,
			"MTU of %s is %d: a 1500-byte packet fits in its "
			"tunnel (%d bytes%s)", p->ifname, mtu, need,
			over6 ? ", over IPv6" : "");
		return;
	}
	snprintf(fix, sizeof(fix),
		 "ip link set %s mtu %d (and the path from the LB), or clamp "
		 "the TCP MSS of VIP connections to %d (IPv4) / %d (IPv6)",
		 p->ifname, need, mtu - ovh - 40, mtu - ovh - 60);
	finding(cx, "mtu", p->ifname, 0, fix,
		"MTU of %s is %d, below %d: a full 1500-byte client packet "
		"does not fit in its tunnel%s", p->ifname, mtu, need,
		over6 ? " over IPv6" : "");
}

static void check_iface(struct check_ctx *cx, const char *ifname,
			const struct dt_addrs *host,
			const struct dt_addrs *given)
{
	struct dt_addrs map = { 0 };
	const struct dt_addrs *vips = given;
	struct decap_cfg cfg = { 0 };
	struct dt_prog p;
	char fix[128];
	bool v4 = false, local_mode = false;
	int ifindex = if_nametoindex(ifname), err;
	size_t i;

	if (!ifindex) {
		finding(cx, "interface", ifname, 0, NULL,
			"no interface named %s", ifname);
		return;
	}
	err = dt_prog_find(ifindex, &p);
	if (err) {
		finding(cx, "attached", ifname, 0, NULL,
			"cannot query XDP on %s: %s", ifname, strerror(-err));
		return;
	}
	if (p.prog_fd >= 0) {
		dt_prog_vips(&p, &map);
		dt_prog_cfg(&p, &cfg);
		local_mode = cfg.flags & DECAP_CFG_F_LOCAL;
		finding(cx, "attached", ifname, 1, NULL,
			"xlb-decap attached to %s (%s, program id %u)",
			ifname, dt_mode_name(p.mode), p.prog_id);
	} else if (p.other_id) {
		snprintf(fix, sizeof(fix), "detach '%s' (id %u), then "
			 "xlb-decap attach %s", p.other_name, p.other_id,
			 ifname);
		finding(cx, "attached", ifname, 0, fix,
			"%s has another XDP program, '%s' (id %u), not "
			"xlb-decap", ifname, p.other_name, p.other_id);
	} else {
		snprintf(fix, sizeof(fix), "xlb-decap attach %s", ifname);
		finding(cx, "attached", ifname, 0, fix,
			"xlb-decap is not attached to %s", ifname);
	}

	/* Without --vip: the VIPs the program was given, if any. */
	if (!given->n && !local_mode)
		vips = &map;
	if (!vips->n)
		finding(cx, "vip", ifname, -1, NULL,
			"no VIP to check: %s; give --vip ADDR",
			local_mode ? "decap serves every local address" :
				     "none configured");
	for (i = 0; i < vips->n; i++) {
		check_vip(cx, &p, host, &map, local_mode, &vips->v[i]);
		if (vips->v[i].family == AF_INET)
			v4 = true;
	}

	if (v4 || !vips->n) {
		check_conf(cx, ifname, "arp_ignore", 1, -1, 0,
			   ": the host answers ARP for VIPs on lo");
		check_conf(cx, ifname, "arp_announce", 2, -1, 0,
			   ": the host may use a VIP as ARP source");
		check_conf(cx, ifname, "rp_filter", 0, 1, 2,
			   ": strict reverse-path filtering drops decapsulated "
			   "packets whose client is not routed via this "
			   "interface");
	}
	check_mtu(cx, &p, host, vips);
	dt_addrs_free(&map);
	dt_prog_close(&p);
}

bool dt_check_run(const struct dt_output *out, const char *ifname,
		  const struct dt_addrs *vips)
{
	struct check_ctx cx = { .out = out, .ok = true };
	struct dt_addrs host = { 0 };
	struct if_nameindex *ifs, *i;
	int err, found = 0;

	err = dt_nl_addrs(&host);
	if (err)
		finding(&cx, "addresses", NULL, 0, NULL,
			"cannot list the host's addresses: %s",
			strerror(-err));
	if (ifname) {
		check_iface(&cx, ifname, &host, vips);
		goto out;
	}
	/* No interface named: every interface that has xlb-decap. */
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++) {
		struct dt_prog p;

		if (dt_prog_find(i->if_index, &p) == 0 && p.prog_fd >= 0) {
			check_iface(&cx, i->if_name, &host, vips);
			found++;
		}
		dt_prog_close(&p);
	}
	if (ifs)
		if_freenameindex(ifs);
	if (!found)
		finding(&cx, "attached", NULL, 0,
			"xlb-decap attach IFNAME [--vip ADDR]...",
			"xlb-decap is not attached to any interface");
out:
	dt_addrs_free(&host);
	out->done(cx.ok);
	return cx.ok;
}
