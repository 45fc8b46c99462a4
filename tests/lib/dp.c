// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dp.c - fixture for packet-level tests of the XDP balancer (see dp.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/CUnit.h>

#include "xlb_hash.h"
#include "maglev.h"
#include "dp.h"

const uint8_t dp_gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
const char *dp_case = "";

/* ---- reporting ---- */

void dp_fail_at(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s: ", dp_case);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "    FAIL %s:%d: %s\n", file, line, msg);
	/* CUnit copies the message */
	CU_assertImplementation(CU_FALSE, (unsigned)line, msg, file, "",
				CU_FALSE);
}

void dp_pass_at(const char *file, int line)
{
	CU_assertImplementation(CU_TRUE, (unsigned)line, "", file, "",
				CU_FALSE);
}

/* ---- namespace ---- */

int dp_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1)
		return -1;
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static int write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fputs(val, f) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

int dp_netns_setup(char *err, size_t errlen)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add " DP_IFNAME " address 02:00:00:00:00:10 type veth "
		"peer name xt1 address 02:00:00:00:00:20",
		"ip link set " DP_IFNAME " up",
		"ip link set xt1 up",
		"ip addr add " DP_LB4 "/24 dev " DP_IFNAME,
		"ip -6 addr add " DP_LB6 "/64 dev " DP_IFNAME " nodad",
		"ip neigh replace 192.0.2.254 lladdr 02:00:00:00:00:01 dev "
		DP_IFNAME " nud permanent",
		"ip -6 neigh replace 2001:db8::fe lladdr 02:00:00:00:00:01 dev "
		DP_IFNAME " nud permanent",
		"ip route add 198.51.100.0/24 via 192.0.2.254 dev " DP_IFNAME,
		"ip route add 198.51.100.128/25 via 192.0.2.254 dev " DP_IFNAME
		" mtu lock 1400",
		"ip route add 198.51.100.64/26 via " DP_NOGW4 " dev " DP_IFNAME,
		"ip -6 route add 2001:db8:1::/64 via 2001:db8::fe dev "
		DP_IFNAME,
		"ip -6 route add 2001:db8:1:0:8000::/65 via 2001:db8::fe dev "
		DP_IFNAME " mtu lock 1400",
		"ip -6 route add 2001:db8:1:0:4000::/66 via 2001:db8::fe dev "
		DP_IFNAME " mtu lock 1300",
		"ip -6 route add 2001:db8:2::/64 via " DP_NOGW6 " dev "
		DP_IFNAME,
	};
	static const char *const sysctls[] = {
		"/proc/sys/net/ipv4/conf/all/forwarding",
		"/proc/sys/net/ipv4/conf/default/forwarding",
		"/proc/sys/net/ipv4/conf/" DP_IFNAME "/forwarding",
		"/proc/sys/net/ipv6/conf/all/forwarding",
		"/proc/sys/net/ipv6/conf/default/forwarding",
		"/proc/sys/net/ipv6/conf/" DP_IFNAME "/forwarding",
	};
	size_t nsysctls = sizeof(sysctls) / sizeof(sysctls[0]);
	int ifindex, rc;

	/* A network namespace of our own: it vanishes with the process, so
	 * nothing is left behind whatever way the test ends. */
	if (unshare(CLONE_NEWNET)) {
		snprintf(err, errlen, "unshare(CLONE_NEWNET): %s",
			 strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		rc = dp_sh("%s", cmds[i]);
		if (rc) {
			snprintf(err, errlen, "`%s` failed (exit %d)", cmds[i],
				 rc);
			return -1;
		}
		/* forwarding after the device exists, before the routes */
		if (i == 5) {
			for (size_t j = 0; j < nsysctls; j++) {
				rc = write_file(sysctls[j], "1");
				if (rc) {
					snprintf(err, errlen, "%s: %s",
						 sysctls[j], strerror(-rc));
					return -1;
				}
			}
		}
	}
	ifindex = (int)if_nametoindex(DP_IFNAME);
	if (!ifindex) {
		snprintf(err, errlen, "if_nametoindex(%s): %s", DP_IFNAME,
			 strerror(errno));
		return -1;
	}
	return ifindex;
}

/* ---- fixture ---- */

static int neigh_cb(void *ctx, void *data, size_t len)
{
	struct dp *d = ctx;

	if (d->nev < DP_MAX_EVENTS && len >= sizeof(struct xlb_neigh_event))
		memcpy(&d->ev[d->nev++], data, sizeof(struct xlb_neigh_event));
	return 0;
}

int dp_open(struct dp *d, int ifindex, uint32_t max_vips,
	    uint32_t max_backends, uint64_t conntrack_size)
{
	struct maps_sizes sz = {
		.max_vips = max_vips,
		.max_backends = max_backends,
		.conntrack_size = conntrack_size,
	};
	char err[2048] = "";
	struct ifreq ifr = {};
	int ret, s;

	memset(d, 0, sizeof(*d));
	d->ifindex = ifindex;
	ret = maps_open(&d->m, NULL, &sz, NULL, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "maps_open: %s (%s)\n", err, strerror(-ret));
		return ret;
	}
	d->prog_fd = maps_prog_fd(d->m);
	d->rb = ring_buffer__new(maps_neigh_events_fd(d->m), neigh_cb, d,
				 NULL);
	if (!d->rb) {
		ret = -errno;
		fprintf(stderr, "ring_buffer__new: %s\n", strerror(errno));
		return ret;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s >= 0 && ifindex) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", DP_IFNAME);
		if (!ioctl(s, SIOCGIFHWADDR, &ifr))
			memcpy(d->if_mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	if (s >= 0)
		close(s);
	return dp_set_rt(d, DP_LB4, 32, DP_LB6, 128, 1000);
}

void dp_close(struct dp *d)
{
	if (d->rb)
		ring_buffer__free(d->rb);
	maps_close(d->m);
	memset(d, 0, sizeof(*d));
}

static int to_addr(const char *s, struct xlb_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = pkt_pton(s, a->bytes);
	return a->family ? 0 : -EINVAL;
}

int dp_set_rt(struct dp *d, const char *src4, int plen4, const char *src6,
	      int plen6, uint32_t icmp_rate)
{
	struct xlb_addr a4, a6;

	if (to_addr(src4, &a4) || to_addr(src6, &a6))
		return -EINVAL;
	memcpy(d->src4, a4.bytes, 16);
	memcpy(d->src6, a6.bytes, 16);
	d->plen4 = plen4;
	d->plen6 = plen6;
	d->icmp_rate = icmp_rate;
	return maps_set_rt(d->m, &a4, plen4, &a6, plen6, icmp_rate,
			   (uint32_t)d->ifindex);
}

void dp_backend(struct dp *d, uint32_t slot, uint32_t vip_id,
		const char *addr, uint32_t flags)
{
	struct xlb_addr a;

	if (slot >= DP_MAX_SLOTS || to_addr(addr, &a)) {
		DP_FAIL("bad backend %s in slot %u", addr, slot);
		return;
	}
	if (!flags)
		flags = XLB_BE_F_ALIVE | XLB_BE_F_HEALTH_UP;
	d->be_addr[slot] = a;
	d->be_gen[slot]++;
	d->be_used[slot] = true;
	maps_backend_assign(d->m, slot, vip_id, &a, d->be_gen[slot], flags);
}

void dp_backend_flags(struct dp *d, uint32_t slot, uint32_t flags)
{
	maps_backend_set_flags(d->m, slot, flags);
}

void dp_backend_release(struct dp *d, uint32_t slot)
{
	maps_backend_release(d->m, slot);
	d->be_used[slot] = false;
}

int dp_vip_add(struct dp *d, struct dp_vip *v, uint32_t id, const char *addr,
	       uint16_t port, uint8_t proto, uint32_t flags)
{
	struct xlb_addr a;
	int ret;

	memset(v, 0, sizeof(*v));
	if (to_addr(addr, &a))
		return -EINVAL;
	v->id = id;
	v->family = a.family;
	memcpy(v->addr, a.bytes, 16);
	v->port = port;
	v->proto = proto;
	v->flags = flags;
	snprintf(v->text, sizeof(v->text), "%s", addr);
	ret = maps_vip_put(d->m, &a, port, proto, id, flags);
	if (!ret) /* the address marker: ICMP, fragments, malformed */
		ret = maps_vip_put(d->m, &a, 0, 0, id, XLB_VIP_F_ADDR_ONLY);
	return ret;
}

int dp_build_table(struct dp *d, uint32_t m, const uint32_t *slots,
		   const uint32_t *weights, size_t n, uint32_t *table)
{
	struct maglev_backend *be = calloc(n ? n : 1, sizeof(*be));
	int ret;

	if (!be)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		memcpy(be[i].key, d->be_addr[slots[i]].bytes, 16);
		be[i].weight = weights ? weights[i] : 100;
		be[i].id = slots[i];
	}
	ret = maglev_build(be, n, m, XLB_NO_BACKEND, table);
	free(be);
	return ret;
}

int dp_vip_table(struct dp *d, struct dp_vip *v, uint32_t m,
		 const uint32_t *slots, const uint32_t *weights, size_t n)
{
	uint32_t *t = malloc((size_t)m * sizeof(*t));
	struct maps_table mt = { .vip_id = v->id, .size = m };
	int ret;

	if (!t)
		return -ENOMEM;
	ret = dp_build_table(d, m, slots, weights, n, t);
	if (ret) {
		free(t);
		return ret;
	}
	mt.slots = t;
	ret = maps_tables_swap(d->m, &mt, 1);
	if (ret) {
		free(t);
		return ret;
	}
	free(v->table);
	v->table = t;
	v->m = m;
	return 0;
}

uint32_t dp_flow_hash(const struct dp_vip *v, const struct pkt_spec *s)
{
	uint8_t sa[16], da[16];
	__be32 s4, d4, s6[4], d6[4];
	__be16 sp = htons(s->sport), dpt = htons(s->dport);

	pkt_pton(s->saddr, sa);
	pkt_pton(s->daddr, da);
	memcpy(&s4, sa, 4);
	memcpy(&d4, da, 4);
	memcpy(s6, sa, 16);
	memcpy(d6, da, 16);
	if (v->flags & XLB_VIP_F_HASH_SRC_IP)
		return s->family == AF_INET6 ? xlb_src_hash6(s6) :
					       xlb_src_hash4(s4);
	if (s->family == AF_INET6)
		return xlb_flow_hash6(s6, d6, sp, dpt, s->proto);
	return xlb_flow_hash4(s4, d4, sp, dpt, s->proto);
}

uint32_t dp_table_choice(const uint32_t *table, uint32_t m, uint32_t hash)
{
	if (!table || !m)
		return XLB_NO_BACKEND;
	return table[xlb_slot_index(hash, m)];
}

uint32_t dp_vip_choice(const struct dp_vip *v, uint32_t hash)
{
	return dp_table_choice(v->table, v->m, hash);
}

int dp_run(struct dp *d, const uint8_t *in, size_t len, struct dp_out *o)
{
	struct xdp_md ctx = {
		.data_end = (__u32)len,
		.ingress_ifindex = (__u32)d->ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = o->buf,
		    .data_size_out = sizeof(o->buf), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	o->act = 0xffffffffu;
	o->len = 0;
	if (bpf_prog_test_run_opts(d->prog_fd, &t))
		return -errno;
	o->act = t.retval;
	o->len = t.data_size_out;
	return 0;
}

const char *dp_act_str(uint32_t act)
{
	switch (act) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		return "(not run)";
	}
}

int dp_slot_of(struct dp *d, int family, const uint8_t *addr)
{
	size_t alen = family == AF_INET6 ? 16 : 4;

	for (int i = 0; i < DP_MAX_SLOTS; i++)
		if (d->be_used[i] && d->be_addr[i].family == family &&
		    !memcmp(d->be_addr[i].bytes, addr, alen))
			return i;
	return -1;
}

const char *dp_slot_str(struct dp *d, uint32_t slot, char *buf, size_t len)
{
	char a[64];

	if (slot == XLB_NO_BACKEND)
		snprintf(buf, len, "(no backend)");
	else if (slot >= DP_MAX_SLOTS || !d->be_addr[slot].family)
		snprintf(buf, len, "(slot %u)", slot);
	else
		snprintf(buf, len, "%s (slot %u)",
			 pkt_ntop(d->be_addr[slot].family,
				  d->be_addr[slot].bytes, a, sizeof(a)),
			 slot);
	return buf;
}

int dp_out_slot(struct dp *d, const struct dp_out *o)
{
	struct pkt_l2 l2;
	struct pkt_ip ip;

	if (o->act != XDP_TX || pkt_parse_l2(o->buf, o->len, &l2) ||
	    pkt_parse_ip(o->buf, o->len, l2.l3off, &ip))
		return -1;
	return dp_slot_of(d, ip.family, ip.daddr);
}

/* ---- checks ---- */

bool dp_check_untouched(const uint8_t *in, size_t len, const struct dp_out *o,
			uint32_t act)
{
	long off;

	if (o->act != act) {
		DP_FAIL("verdict %s, expected %s", dp_act_str(o->act),
			dp_act_str(act));
		return false;
	}
	if (!DP_EXPECT_U("frame length", o->len, len))
		return false;
	off = pkt_first_diff(in, o->buf, len);
	return DP_EXPECT(off < 0,
			 "frame modified at byte %ld: 0x%02x, expected 0x%02x",
			 off, off < 0 ? 0 : o->buf[off], off < 0 ? 0 : in[off]);
}

/* The outer source the program must write for this hash: the configured
 * address with its host bits (after the prefix) taken from the hash,
 * as a big-endian word repeated over the address. */
static void expect_src(const uint8_t *src, int plen, int alen, uint32_t hash,
		       uint8_t *out)
{
	uint8_t hb[4] = { hash >> 24, hash >> 16, hash >> 8, hash };

	for (int i = 0; i < alen; i++) {
		int bits = plen - i * 8;
		uint8_t mask = bits >= 8 ? 0 : bits <= 0 ? 0xff :
						 (uint8_t)(0xff >> bits);

		out[i] = (uint8_t)((src[i] & ~mask) | (hb[i % 4] & mask));
	}
}

bool dp_expect_addr(const char *what, int family, const uint8_t *got,
		       const uint8_t *exp)
{
	char g[64], e[64];
	size_t alen = family == AF_INET6 ? 16 : 4;

	if (!memcmp(got, exp, alen)) {
		dp_pass_at(__FILE__, __LINE__);
		return true;
	}
	DP_FAIL("%s %s, expected %s", what, pkt_ntop(family, got, g, sizeof(g)),
		pkt_ntop(family, exp, e, sizeof(e)));
	return false;
}

bool dp_expect_mac(const char *what, const uint8_t *got,
		      const uint8_t *exp)
{
	char g[32], e[32];

	if (!memcmp(got, exp, 6)) {
		dp_pass_at(__FILE__, __LINE__);
		return true;
	}
	DP_FAIL("%s %s, expected %s", what, pkt_mac_str(got, g, sizeof(g)),
		pkt_mac_str(exp, e, sizeof(e)));
	return false;
}

bool dp_check_encap(struct dp *d, const uint8_t *in, size_t in_len,
		    const struct dp_out *o, uint32_t slot, uint32_t hash)
{
	return dp_check_encap_mac(d, in, in_len, o, slot, hash, NULL);
}

bool dp_check_encap_mac(struct dp *d, const uint8_t *in, size_t in_len,
			const struct dp_out *o, uint32_t slot, uint32_t hash,
			const uint8_t *dmac)
{
	const struct xlb_addr *be;
	struct pkt_l2 il2, ol2;
	struct pkt_ip iip, oip;
	uint8_t esrc[16];
	size_t olen, inner_len;
	bool ok = true;
	long off;
	int fam;

	if (slot >= DP_MAX_SLOTS || !d->be_addr[slot].family) {
		DP_FAIL("expected backend slot %u is not assigned", slot);
		return false;
	}
	be = &d->be_addr[slot];
	fam = be->family;
	olen = fam == AF_INET6 ? 40 : 20;
	if (o->act != XDP_TX) {
		DP_FAIL("verdict %s, expected XDP_TX", dp_act_str(o->act));
		return false;
	}
	if (pkt_parse_l2(in, in_len, &il2) ||
	    pkt_parse_ip(in, in_len, il2.l3off, &iip)) {
		DP_FAIL("input frame does not parse");
		return false;
	}
	if (!DP_EXPECT_U("frame length", o->len, in_len + olen))
		return false;
	pkt_parse_l2(o->buf, o->len, &ol2);
	ok &= dp_expect_mac("dmac", ol2.dmac, dmac ? dmac : dp_gw_mac);
	ok &= dp_expect_mac("smac", ol2.smac, d->if_mac);
	ok &= DP_EXPECT_U("vlan tag present", ol2.vlan, il2.vlan);
	if (il2.vlan)
		ok &= DP_EXPECT_X("vlan tci", ol2.vlan_tci, il2.vlan_tci);
	ok &= DP_EXPECT_X("ethertype", ol2.ethertype,
			  fam == AF_INET6 ? PKT_ETH_P_IPV6 : PKT_ETH_P_IP);
	if (pkt_parse_ip(o->buf, o->len, ol2.l3off, &oip)) {
		DP_FAIL("outer IP header does not parse");
		return false;
	}
	inner_len = in_len - il2.l3off;
	ok &= DP_EXPECT_U("outer version", oip.version,
			  fam == AF_INET6 ? 6 : 4);
	if (fam == AF_INET) {
		ok &= DP_EXPECT_U("outer ihl", oip.hlen / 4, 5);
		ok &= DP_EXPECT_U("outer tot_len", oip.len, iip.len + 20);
		ok &= DP_EXPECT_U("outer ttl", oip.ttl, 64);
		ok &= DP_EXPECT_U("outer protocol", oip.proto,
				  iip.family == AF_INET6 ? 41 : 4);
		ok &= DP_EXPECT_X("outer tos", oip.tos, iip.tos);
		/* IPv4 in IPv4 only: DF copied from the client's header */
		ok &= DP_EXPECT_X("outer DF", oip.frag & PKT_IP_DF,
				  iip.frag & PKT_IP_DF);
		ok &= DP_EXPECT_X("outer MF/offset", oip.frag & 0x3fff, 0);
		ok &= DP_EXPECT(pkt_ipv4_csum_ok(o->buf + oip.off),
				"outer checksum 0x%04x does not verify",
				oip.check);
		expect_src(d->src4, d->plen4, 4, hash, esrc);
	} else {
		ok &= DP_EXPECT_U("outer payload_len", oip.len - 40, iip.len);
		ok &= DP_EXPECT_U("outer hop limit", oip.ttl, 64);
		ok &= DP_EXPECT_U("outer next header", oip.proto,
				  iip.family == AF_INET6 ? 41 : 4);
		ok &= DP_EXPECT_X("outer traffic class", oip.tos, iip.tos);
		ok &= DP_EXPECT_X("outer flow label", oip.flow_label,
				  xlb_flow_label(hash));
		ok &= DP_EXPECT(oip.flow_label != 0, "outer flow label is 0");
		expect_src(d->src6, d->plen6, 16, hash, esrc);
	}
	ok &= dp_expect_addr("outer saddr", fam, oip.saddr, esrc);
	if (!dp_expect_addr("outer daddr", fam, oip.daddr, be->bytes)) {
		char b[96];
		int got = dp_slot_of(d, fam, oip.daddr);

		if (got >= 0)
			fprintf(stderr, "      (went to %s)\n",
				dp_slot_str(d, (uint32_t)got, b, sizeof(b)));
		ok = false;
	}
	off = pkt_first_diff(o->buf + ol2.l3off + olen, in + il2.l3off,
			     inner_len);
	ok &= DP_EXPECT(off < 0, "inner packet modified at byte %ld", off);
	return ok;
}

/* ---- statistics ---- */

static const char *const counter_names[] = {
#define XLB_G_NAME(name, str) str,
	XLB_GLOBAL_COUNTERS(XLB_G_NAME)
#undef XLB_G_NAME
};

const char *dp_counter_name(int idx)
{
	if (idx < 0 || idx >= XLB_G__MAX)
		return "?";
	return counter_names[idx];
}

void dp_snap(struct dp *d, struct dp_snap *s)
{
	if (maps_global_stats(d->m, s->g))
		DP_FAIL("maps_global_stats failed");
}

bool dp_expect_global(struct dp *d, const struct dp_snap *s, ...)
{
	long long exp[XLB_G__MAX] = { 0 };
	struct dp_snap now;
	bool ok = true;
	va_list ap;
	int idx;

	va_start(ap, s);
	while ((idx = va_arg(ap, int)) >= 0) {
		int delta = va_arg(ap, int);

		if (idx < XLB_G__MAX)
			exp[idx] += delta;
	}
	va_end(ap);
	dp_snap(d, &now);
	for (int i = 0; i < XLB_G__MAX; i++) {
		long long got = (long long)(now.g[i] - s->g[i]);

		if (got != exp[i]) {
			DP_FAIL("counter %s +%lld, expected +%lld",
				counter_names[i], got, exp[i]);
			ok = false;
		}
	}
	if (ok)
		dp_pass_at(__FILE__, __LINE__);
	return ok;
}

int dp_neigh_events(struct dp *d)
{
	d->nev = 0;
	ring_buffer__consume(d->rb);
	return d->nev;
}
