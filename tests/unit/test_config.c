// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* test_config.c - the configuration module: parse, validate, dump, diff. */
#define _GNU_SOURCE
#include "addr.h"
#include "config.h"
#include "testutil.h"
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* JSON written with single quotes, for readability: 'x' -> "x". */
static char *J(const char *s)
{
	static char buf[8][8192];
	static int k;
	char *o = buf[k++ & 7];
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf[0]) - 1; i++)
		o[i] = s[i] == '\'' ? '"' : s[i];
	o[i] = '\0';
	return o;
}

static struct cfg_msgs msgs;

static struct xlb_config *parse(const char *text)
{
	cfg_msgs_free(&msgs);
	return cfg_parse(text, strlen(text), &msgs);
}

static void dump_msgs(const char *what)
{
	size_t i;

	for (i = 0; i < msgs.n_err; i++)
		fprintf(stderr, "  %s error: %s\n", what, msgs.err[i]);
	for (i = 0; i < msgs.n_warn; i++)
		fprintf(stderr, "  %s warning: %s\n", what, msgs.warn[i]);
}

static bool has_msg(char **arr, size_t n, const char *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(arr[i], want))
			return true;
	return false;
}

static bool has_err(const char *want)
{
	if (has_msg(msgs.err, msgs.n_err, want))
		return true;
	fprintf(stderr, "\n  expected error: %s\n", want);
	dump_msgs("got");
	return false;
}

static bool has_err_prefix(const char *want)
{
	size_t i;

	for (i = 0; i < msgs.n_err; i++)
		if (!strncmp(msgs.err[i], want, strlen(want)))
			return true;
	fprintf(stderr, "\n  expected error starting: %s\n", want);
	dump_msgs("got");
	return false;
}

static struct xlb_config *parse_ok(const char *text)
{
	struct xlb_config *c = parse(text);

	if (!c) {
		fprintf(stderr, "\n  unexpected failure for %s\n", text);
		dump_msgs("got");
	}
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_EQUAL(msgs.n_err, 0);
	return c;
}

/* The document must fail with exactly this error among its errors. */
static void expect_err(const char *text, const char *want)
{
	struct xlb_config *c = parse(text);

	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err(want));
	cfg_free(c);
}

/* A document with one VIP whose body is given (single-quoted JSON). */
static const char *vip_doc(const char *vip_body)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), "{'interface': 'eth0', 'vips': [{%s}]}",
		 vip_body);
	return J(buf);
}

#define V4 "'address': '203.0.113.10', 'port': 80, 'protocol': 'tcp'"
#define V6 "'address': '2001:db8::10', 'port': 443, 'protocol': 'tcp'"

/* ---- addresses ---- */

static void test_addr(void)
{
	struct xlb_addr a, b;
	char buf[XLB_ADDRSTRLEN];
	int plen;

	CU_ASSERT_EQUAL(addr_parse("203.0.113.10", &a), 0);
	CU_ASSERT_EQUAL(a.family, AF_INET);
	CU_ASSERT_EQUAL(a.bytes[0], 203);
	CU_ASSERT_EQUAL(a.bytes[4], 0);
	CU_ASSERT_STRING_EQUAL(addr_fmt(&a, buf, sizeof(buf)), "203.0.113.10");
	CU_ASSERT_EQUAL(addr_parse("2001:DB8:0::1", &a), 0);
	CU_ASSERT_EQUAL(addr_parse("2001:db8::1", &b), 0);
	CU_ASSERT_TRUE(addr_eq(&a, &b));
	CU_ASSERT_STRING_EQUAL(addr_fmt(&a, buf, sizeof(buf)), "2001:db8::1");
	CU_ASSERT_EQUAL(addr_parse("", &a), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse("1.2.3", &a), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse("1.2.3.4/24", &a), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse("host.example", &a), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse("fe80::1%eth0", &a), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse(" 1.2.3.4", &a), -EINVAL);

	/* IPv4 sorts before IPv6, then by bytes. */
	addr_parse("255.255.255.255", &a);
	addr_parse("::1", &b);
	CU_ASSERT_TRUE(addr_cmp(&a, &b) < 0);
	CU_ASSERT_TRUE(addr_cmp(&b, &a) > 0);
	addr_parse("10.0.0.2", &a);
	addr_parse("10.0.0.10", &b);
	CU_ASSERT_TRUE(addr_cmp(&a, &b) < 0);
	CU_ASSERT_EQUAL(addr_len(&a), 4);
	CU_ASSERT_EQUAL(addr_len(&(struct xlb_addr){.family = AF_INET6}), 16);

	CU_ASSERT_EQUAL(addr_parse_prefix("192.0.2.0/28", &a, &plen), 0);
	CU_ASSERT_EQUAL(plen, 28);
	CU_ASSERT_EQUAL(a.family, AF_INET);
	CU_ASSERT_EQUAL(addr_parse_prefix("192.0.2.1", &a, &plen), 0);
	CU_ASSERT_EQUAL(plen, 32);
	CU_ASSERT_EQUAL(addr_parse_prefix("2001:db8::/64", &a, &plen), 0);
	CU_ASSERT_EQUAL(plen, 64);
	CU_ASSERT_EQUAL(addr_parse_prefix("2001:db8::1", &a, &plen), 0);
	CU_ASSERT_EQUAL(plen, 128);
	CU_ASSERT_EQUAL(addr_parse_prefix("192.0.2.0/33", &a, &plen), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse_prefix("2001:db8::/129", &a, &plen),
			-EINVAL);
	CU_ASSERT_EQUAL(addr_parse_prefix("192.0.2.0/", &a, &plen), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse_prefix("192.0.2.0/2x", &a, &plen), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse_prefix("192.0.2.0/-1", &a, &plen), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse_prefix("/24", &a, &plen), -EINVAL);
	CU_ASSERT_EQUAL(addr_parse_prefix("192.0.2.0/024", &a, &plen), -EINVAL);
}

/* ---- defaults ---- */

static void test_defaults(void)
{
	struct xlb_config *c;
	struct xlb_vip_conf *v;
	struct xlb_backend_conf *b;

	c = parse_ok(
	    vip_doc(V4 ", 'backends': [{'address': '198.51.100.11'}]"));
	if (!c)
		return;
	CU_ASSERT_STRING_EQUAL(c->interface, "eth0");
	CU_ASSERT_EQUAL(c->xdp_mode, XLB_XDP_AUTO);
	CU_ASSERT_FALSE(c->has_src4);
	CU_ASSERT_FALSE(c->has_src6);
	CU_ASSERT_EQUAL(c->conntrack_size, 1048576);
	CU_ASSERT_EQUAL(c->max_vips, 512);
	CU_ASSERT_EQUAL(c->max_backends, 4096);
	CU_ASSERT_EQUAL(c->icmp_rate_limit, 1000);
	CU_ASSERT_EQUAL(c->n_vips, 1);
	v = &c->vips[0];
	CU_ASSERT_EQUAL(v->port, 80);
	CU_ASSERT_EQUAL(v->proto, IPPROTO_TCP);
	CU_ASSERT_EQUAL(v->table_size, 65537);
	CU_ASSERT_EQUAL(v->hash, XLB_HASH_5TUPLE);
	CU_ASSERT_EQUAL(v->hc.type, XLB_HC_NONE);
	CU_ASSERT_EQUAL(v->hc.port, 0);
	CU_ASSERT_STRING_EQUAL(v->hc.path, "/");
	CU_ASSERT_PTR_NULL(v->hc.host);
	CU_ASSERT_EQUAL(v->hc.expect_status, 200);
	CU_ASSERT_PTR_NOT_NULL(v->hc.payload);
	CU_ASSERT_EQUAL(v->hc.payload_len, 0);
	CU_ASSERT_EQUAL(v->hc.interval_ms, 2000);
	CU_ASSERT_EQUAL(v->hc.timeout_ms, 1000);
	CU_ASSERT_EQUAL(v->hc.rise, 2);
	CU_ASSERT_EQUAL(v->hc.fall, 3);
	CU_ASSERT_EQUAL(v->n_backends, 1);
	b = &v->backends[0];
	CU_ASSERT_EQUAL(b->weight, 100);
	CU_ASSERT_EQUAL(b->state, XLB_STATE_ENABLED);
	CU_ASSERT_EQUAL(b->hc_set, 0);
	CU_ASSERT_TRUE(cfg_hc_equal(&b->hc, &v->hc));
	/* one backend, 65537 slots: no balance warning */
	CU_ASSERT_EQUAL(msgs.n_warn, 0);
	cfg_free(c);

	/* No interface, no VIPs: valid (xlbd decides about the interface). */
	c = parse_ok("{}");
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c) {
		CU_ASSERT_STRING_EQUAL(c->interface, "");
		CU_ASSERT_EQUAL(c->n_vips, 0);
	}
	cfg_free(c);
	c = parse_ok(J("{'vips': []}"));
	cfg_free(c);

	/* The SPEC's example parses as written. */
	c = parse_ok(J("{'interface': 'eth0', 'xdp_mode': 'auto',"
		       " 'encap_source': {'ipv4': '192.0.2.1', "
		       "'ipv6': '2001:db8::1'},"
		       " 'conntrack_size': 1048576, 'max_vips': 512,"
		       " 'max_backends': 4096, 'icmp_rate_limit': 1000,"
		       " 'vips': [{'address': '203.0.113.10', 'port': 80,"
		       "  'protocol': 'tcp', 'table_size': 65537,"
		       "  'hash': '5tuple', 'healthcheck': {'type': 'http',"
		       "  'port': 8080, 'path': '/healthz', "
		       "'expect_status': 200,"
		       "  'interval_ms': 2000, 'timeout_ms': 1000, 'rise': 2,"
		       "  'fall': 3}, 'backends': ["
		       "  {'address': '198.51.100.11', 'weight': 100},"
		       "  {'address': '198.51.100.12', 'weight': 50},"
		       "  {'address': '198.51.100.13', 'weight': 100,"
		       "   'state': 'draining'}]}]}"));
	if (c) {
		CU_ASSERT_TRUE(c->has_src4 && c->has_src6);
		CU_ASSERT_EQUAL(c->src4_plen, 32);
		CU_ASSERT_EQUAL(c->src6_plen, 128);
		CU_ASSERT_EQUAL(c->vips[0].hc.type, XLB_HC_HTTP);
		CU_ASSERT_EQUAL(c->vips[0].hc.port, 8080);
		CU_ASSERT_EQUAL(c->vips[0].backends[1].weight, 50);
		CU_ASSERT_EQUAL(c->vips[0].backends[2].state,
				XLB_STATE_DRAINING);
		CU_ASSERT_EQUAL(c->vips[0].backends[2].hc.port, 8080);
	}
	cfg_free(c);
}

/* ---- errors, each with its path ---- */

static void test_required(void)
{
	expect_err(vip_doc("'address': '203.0.113.10', 'protocol': 'tcp'"),
		   "vips[0].port: required");
	expect_err(vip_doc("'port': 80, 'protocol': 'tcp'"),
		   "vips[0].address: required");
	expect_err(vip_doc("'address': '203.0.113.10', 'port': 80"),
		   "vips[0].protocol: required");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1'},"
			      " {'weight': 5}]"),
		   "vips[0].backends[1].address: required");
	expect_err(J("{'backends': []}"), "backends: unknown key");
}

static void test_unknown_keys(void)
{
	expect_err(J("{'interface': 'eth0', 'colour': 'red'}"),
		   "colour: unknown key");
	expect_err(vip_doc(V4 ", 'weight': 3"), "vips[0].weight: unknown key");
	expect_err(vip_doc(V4 ", 'healthcheck': {'type': 'tcp', 'intervl': 5}"),
		   "vips[0].healthcheck.intervl: unknown key");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'wieght': 5}]"),
		   "vips[0].backends[0].wieght: unknown key");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'healthcheck': {'prot': 5}}]"),
		   "vips[0].backends[0].healthcheck.prot: unknown key");
	expect_err(J("{'encap_source': {'ipv5': '1.2.3.4'}}"),
		   "encap_source.ipv5: unknown key");
	/* a key that is not printable is shown safely */
	expect_err("{\"a\\nb\": 1}", "a?b: unknown key");
}

static void test_wrong_types(void)
{
	expect_err(J("[]"), "document: must be a JSON object");
	expect_err(J("{'interface': 5}"), "interface: must be a string");
	expect_err(J("{'vips': {}}"), "vips: must be an array");
	expect_err(J("{'vips': null}"), "vips: must be an array");
	expect_err(J("{'vips': [5]}"), "vips[0]: must be an object");
	expect_err(vip_doc(V4 ", 'backends': ['198.51.100.1']"),
		   "vips[0].backends[0]: must be an object");
	expect_err(vip_doc(V4 ", 'backends': {}"),
		   "vips[0].backends: must be an array");
	expect_err(vip_doc("'address': '203.0.113.10', 'port': '80',"
			   " 'protocol': 'tcp'"),
		   "vips[0].port: must be an integer");
	expect_err(vip_doc("'address': 5, 'port': 80, 'protocol': 'tcp'"),
		   "vips[0].address: must be a string");
	expect_err(vip_doc(V4 ", 'healthcheck': 'tcp'"),
		   "vips[0].healthcheck: must be an object");
	expect_err(vip_doc(V4 ", 'healthcheck': {'rise': true}"),
		   "vips[0].healthcheck.rise: must be an integer");
	expect_err(vip_doc(V4 ", 'healthcheck': {'payload': 5}"),
		   "vips[0].healthcheck.payload: must be a string");
	expect_err(J("{'encap_source': '192.0.2.1'}"),
		   "encap_source: must be an object");
	expect_err(J("{'max_vips': '5'}"), "max_vips: must be an integer");
	expect_err(J("{'interface': null}"), "interface: must be a string");
}

static void test_float_ints(void)
{
	expect_err(vip_doc("'address': '203.0.113.10', 'port': 80.0,"
			   " 'protocol': 'tcp'"),
		   "vips[0].port: must be an integer");
	expect_err(vip_doc("'address': '203.0.113.10', 'port': 1.5,"
			   " 'protocol': 'tcp'"),
		   "vips[0].port: must be an integer");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'weight': 1e2}]"),
		   "vips[0].backends[0].weight: must be an integer");
	expect_err(J("{'conntrack_size': 1048576.0}"),
		   "conntrack_size: must be an integer");
}

static void test_enums(void)
{
	expect_err(J("{'xdp_mode': 'offload'}"),
		   "xdp_mode: must be \"auto\", \"native\" or \"generic\"");
	expect_err(vip_doc("'address': '203.0.113.10', 'port': 80,"
			   " 'protocol': 'sctp'"),
		   "vips[0].protocol: must be \"tcp\" or \"udp\"");
	expect_err(vip_doc(V4 ", 'hash': 'random'"),
		   "vips[0].hash: must be \"5tuple\" or \"src_ip\"");
	expect_err(vip_doc(V4 ", 'healthcheck': {'type': 'icmp'}"),
		   "vips[0].healthcheck.type: must be \"none\", \"tcp\", "
		   "\"http\" or \"udp\"");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'state': 'up'}]"),
		   "vips[0].backends[0].state: must be \"enabled\", "
		   "\"draining\" or \"disabled\"");
}

static void test_ranges(void)
{
	struct xlb_config *c;

	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1'},"
			      " {'address': '198.51.100.2'},"
			      " {'address': '198.51.100.3', 'weight': 65536}]"),
		   "vips[0].backends[2].weight: must be 0..65535");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'weight': -1}]"),
		   "vips[0].backends[0].weight: must be 0..65535");
	expect_err(vip_doc("'address': '203.0.113.10', 'port': 0,"
			   " 'protocol': 'tcp'"),
		   "vips[0].port: must be 1..65535");
	expect_err(vip_doc("'address': '203.0.113.10', 'port': 65536,"
			   " 'protocol': 'tcp'"),
		   "vips[0].port: must be 1..65535");
	expect_err(J("{'conntrack_size': 1023}"),
		   "conntrack_size: must be 1024..134217728");
	expect_err(J("{'conntrack_size': 134217729}"),
		   "conntrack_size: must be 1024..134217728");
	expect_err(J("{'max_vips': 0}"), "max_vips: must be 1..65536");
	expect_err(J("{'max_vips': 65537}"), "max_vips: must be 1..65536");
	expect_err(J("{'max_backends': 0}"),
		   "max_backends: must be 1..1048576");
	expect_err(J("{'max_backends': 1048577}"),
		   "max_backends: must be 1..1048576");
	expect_err(J("{'icmp_rate_limit': -1}"),
		   "icmp_rate_limit: must be 0..10000000");
	expect_err(J("{'icmp_rate_limit': 10000001}"),
		   "icmp_rate_limit: must be 0..10000000");
	CU_ASSERT_PTR_NULL(parse(J("{'icmp_rate_limit': "
				   "99999999999999999999}")));
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON at line 1, column 40: "
				      "too big integer"));
	expect_err(vip_doc(V4 ", 'healthcheck': {'interval_ms': 9}"),
		   "vips[0].healthcheck.interval_ms: must be 10..3600000");
	expect_err(vip_doc(V4 ", 'healthcheck': {'interval_ms': 3600001}"),
		   "vips[0].healthcheck.interval_ms: must be 10..3600000");
	expect_err(vip_doc(V4 ", 'healthcheck': {'timeout_ms': 0}"),
		   "vips[0].healthcheck.timeout_ms: must be 1..3600000");
	expect_err(vip_doc(V4 ", 'healthcheck': {'rise': 0}"),
		   "vips[0].healthcheck.rise: must be 1..100");
	expect_err(vip_doc(V4 ", 'healthcheck': {'fall': 101}"),
		   "vips[0].healthcheck.fall: must be 1..100");
	expect_err(vip_doc(V4 ", 'healthcheck': {'expect_status': 99}"),
		   "vips[0].healthcheck.expect_status: must be 100..599");
	expect_err(vip_doc(V4 ", 'healthcheck': {'expect_status': 600}"),
		   "vips[0].healthcheck.expect_status: must be 100..599");
	expect_err(vip_doc(V4 ", 'healthcheck': {'port': 65536}"),
		   "vips[0].healthcheck.port: must be 0..65535");
	expect_err(vip_doc(V4 ", 'healthcheck': {'interval_ms': 500,"
			      " 'timeout_ms': 501}"),
		   "vips[0].healthcheck.timeout_ms: must be at most "
		   "interval_ms (500)");
	expect_err(vip_doc(V4 ", 'healthcheck': {'path': 'healthz'}"),
		   "vips[0].healthcheck.path: must start with '/' and be at "
		   "most 2048 visible ASCII characters (no spaces)");
	expect_err(vip_doc(V4 ", 'healthcheck': {'path': '/a b'}"),
		   "vips[0].healthcheck.path: must start with '/' and be at "
		   "most 2048 visible ASCII characters (no spaces)");
	expect_err(vip_doc(V4 ", 'healthcheck': {'host': 'a\\r\\nX: y'}"),
		   "vips[0].healthcheck.host: must be 1..255 visible ASCII "
		   "characters (no spaces), or null");

	/* Edges that are valid. */
	c = parse_ok(vip_doc("'address': '203.0.113.10', 'port': 65535,"
			     " 'protocol': 'udp', 'healthcheck': {"
			     "'interval_ms': 10, 'timeout_ms': 10, 'rise': 100,"
			     " 'fall': 1, 'expect_status': 599, 'port': 0},"
			     " 'backends': [{'address': '198.51.100.1',"
			     " 'weight': 0}, {'address': '198.51.100.2',"
			     " 'weight': 65535}]"));
	if (c) {
		CU_ASSERT_EQUAL(c->vips[0].proto, IPPROTO_UDP);
		CU_ASSERT_EQUAL(c->vips[0].backends[0].weight, 0);
		CU_ASSERT_EQUAL(c->vips[0].backends[1].weight, 65535);
	}
	cfg_free(c);
	c = parse_ok(J("{'conntrack_size': 1024, 'max_vips': 65536, "
		       "'max_backends': 1048576, 'icmp_rate_limit': 0}"));
	cfg_free(c);
	c = parse_ok(J("{'conntrack_size': 134217728, 'max_vips': 1, "
		       "'max_backends': 1, 'icmp_rate_limit': 10000000}"));
	cfg_free(c);

	/* An interval below the default timeout caps the timeout. */
	c = parse_ok(vip_doc(V4 ", 'healthcheck': {'interval_ms': 500}"));
	if (c)
		CU_ASSERT_EQUAL(c->vips[0].hc.timeout_ms, 500);
	cfg_free(c);
}

static void test_addresses(void)
{
	struct xlb_config *c;

	expect_err(vip_doc("'address': 'vip.example', 'port': 80,"
			   " 'protocol': 'tcp'"),
		   "vips[0].address: not an IPv4 or IPv6 address: "
		   "\"vip.example\"");
	expect_err(vip_doc("'address': '203.0.113.10/32', 'port': 80,"
			   " 'protocol': 'tcp'"),
		   "vips[0].address: not an IPv4 or IPv6 address: "
		   "\"203.0.113.10/32\"");
	expect_err(vip_doc("'address': '0.0.0.0', 'port': 80,"
			   " 'protocol': 'tcp'"),
		   "vips[0].address: must be a unicast address, not 0.0.0.0");
	expect_err(vip_doc("'address': '239.1.1.1', 'port': 80,"
			   " 'protocol': 'tcp'"),
		   "vips[0].address: must be a unicast address, not 239.1.1.1");
	expect_err(vip_doc(V6 ", 'backends': [{'address': 'ff02::1'}]"),
		   "vips[0].backends[0].address: must be a unicast address, "
		   "not ff02::1");
	expect_err(vip_doc(V6 ", 'backends': [{'address': '::'}]"),
		   "vips[0].backends[0].address: must be a unicast address, "
		   "not ::");

	/* IPv6 VIP needs IPv6 backends; the error names the backend. */
	expect_err(vip_doc(V6 ", 'backends': [{'address': '2001:db8::1'},"
			      " {'address': '198.51.100.11'}]"),
		   "vips[0].backends[1].address: IPv4 backend 198.51.100.11 "
		   "cannot serve IPv6 VIP [2001:db8::10]:443/tcp (an IPv6 VIP "
		   "needs IPv6 backends)");
	/* IPv4 VIP, IPv6 backend: IPv4-in-IPv6, fine. */
	c = parse_ok(vip_doc(V4 ", 'backends': [{'address': '2001:db8::1'},"
				" {'address': '198.51.100.11'}]"));
	if (c) {
		/* IPv4 sorts first */
		CU_ASSERT_EQUAL(c->vips[0].backends[0].addr.family, AF_INET);
		CU_ASSERT_EQUAL(c->vips[0].backends[1].addr.family, AF_INET6);
	}
	cfg_free(c);
}

static void test_interface(void)
{
	struct xlb_config *c;
	static const char *const bad[] = {
	    "{'interface': ''}",	"{'interface': 'abcdefghijklmnop'}",
	    "{'interface': 'eth/0'}",	"{'interface': 'eth 0'}",
	    "{'interface': 'eth0\\t'}", "{'interface': 'eth0:1'}",
	    "{'interface': '..'}",	"{'interface': 'eth\\n'}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(J(bad[i]), "interface: must be an interface name: "
				      "1..15 bytes, no '/', ':' or whitespace");
	expect_err(J("{'interface': 'eth\\u00000'}"),
		   "interface: must not contain NUL characters");
	c = parse_ok(J("{'interface': 'abcdefghijklmno'}"));
	if (c)
		CU_ASSERT_STRING_EQUAL(c->interface, "abcdefghijklmno");
	cfg_free(c);
	c = parse_ok(J("{'interface': 'enp0s31f6.100'}"));
	cfg_free(c);
}

static void test_encap_source(void)
{
	struct xlb_config *c;
	char buf[XLB_ADDRSTRLEN];

	c = parse_ok(J("{'encap_source': {'ipv4': '192.0.2.0/28',"
		       " 'ipv6': '2001:db8:1::/64'}}"));
	if (c) {
		CU_ASSERT_TRUE(c->has_src4);
		CU_ASSERT_EQUAL(c->src4_plen, 28);
		CU_ASSERT_STRING_EQUAL(addr_fmt(&c->src4, buf, sizeof(buf)),
				       "192.0.2.0");
		CU_ASSERT_TRUE(c->has_src6);
		CU_ASSERT_EQUAL(c->src6_plen, 64);
	}
	cfg_free(c);
	c = parse_ok(J("{'encap_source': {'ipv6': '2001:db8::1'}}"));
	if (c) {
		CU_ASSERT_FALSE(c->has_src4);
		CU_ASSERT_TRUE(c->has_src6);
		CU_ASSERT_EQUAL(c->src6_plen, 128);
	}
	cfg_free(c);
	expect_err(J("{'encap_source': {'ipv4': '2001:db8::1'}}"),
		   "encap_source.ipv4: must be an IPv4 address or prefix, "
		   "not \"2001:db8::1\"");
	expect_err(J("{'encap_source': {'ipv6': '192.0.2.1'}}"),
		   "encap_source.ipv6: must be an IPv6 address or prefix, "
		   "not \"192.0.2.1\"");
	expect_err(J("{'encap_source': {'ipv4': '192.0.2.1/28'}}"),
		   "encap_source.ipv4: host bits set in prefix 192.0.2.1/28 "
		   "(did you mean 192.0.2.0/28?)");
	expect_err(J("{'encap_source': {'ipv4': '0.0.0.0/0'}}"),
		   "encap_source.ipv4: prefix length must be 1..32");
	expect_err(J("{'encap_source': {'ipv4': '192.0.2.0/33'}}"),
		   "encap_source.ipv4: must be an IPv4 address or prefix, "
		   "not \"192.0.2.0/33\"");
	expect_err(J("{'encap_source': {'ipv4': '224.0.0.1'}}"),
		   "encap_source.ipv4: must be a unicast address, not "
		   "224.0.0.1");
}

static void test_dup_keys(void)
{
	struct xlb_config *c;

	c = parse(J("{'interface': 'eth0', 'interface': 'eth1'}"));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON at line 1"));
	CU_ASSERT_PTR_NOT_NULL(msgs.n_err ? strstr(msgs.err[0], "duplicate")
					  : NULL);
	c = parse(vip_doc(V4 ", 'port': 81"));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(msgs.n_err ? strstr(msgs.err[0], "duplicate")
					  : NULL);
	c = parse("");
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON"));
	c = parse("{} {}");
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON"));
}

static void test_duplicates(void)
{
	struct xlb_config *c;

	/* Same VIP written two ways: binary comparison. */
	expect_err(
	    J("{'vips': ["
	      "{'address': '2001:db8::10', 'port': 443, 'protocol': 'tcp'},"
	      "{'address': '203.0.113.10', 'port': 80, 'protocol': 'tcp'},"
	      "{'address': '2001:DB8:0::10', 'port': 443, "
	      "'protocol': 'tcp'}]}"),
	    "vips[2]: duplicate of vips[0] ([2001:db8::10]:443/tcp)");
	/* Same address, other port or protocol: distinct VIPs. */
	c = parse_ok(
	    J("{'vips': ["
	      "{'address': '203.0.113.10', 'port': 80, 'protocol': 'udp'},"
	      "{'address': '203.0.113.10', 'port': 80, 'protocol': 'tcp'},"
	      "{'address': '203.0.113.10', 'port': 443, "
	      "'protocol': 'tcp'}]}"));
	cfg_free(c);
	expect_err(vip_doc(V6 ", 'backends': [{'address': '2001:db8::1'},"
			      " {'address': '2001:db8::2'},"
			      " {'address': '2001:DB8:0::1'}]"),
		   "vips[0].backends[2].address: duplicate of "
		   "vips[0].backends[0] (2001:db8::1)");
	/* The same backend in two VIPs is fine. */
	c = parse_ok(
	    J("{'vips': ["
	      "{'address': '203.0.113.10', 'port': 80, 'protocol': 'tcp',"
	      " 'backends': [{'address': '198.51.100.1'}]},"
	      "{'address': '203.0.113.10', 'port': 443, 'protocol': 'tcp',"
	      " 'backends': [{'address': '198.51.100.1'}]}]}"));
	cfg_free(c);
}

static void test_table_size(void)
{
	struct xlb_config *c;
	char body[4096];
	size_t o, i;

	CU_ASSERT_FALSE(cfg_is_prime(0));
	CU_ASSERT_FALSE(cfg_is_prime(1));
	CU_ASSERT_TRUE(cfg_is_prime(2));
	CU_ASSERT_TRUE(cfg_is_prime(7));
	CU_ASSERT_FALSE(cfg_is_prime(9));
	CU_ASSERT_TRUE(cfg_is_prime(65537));
	CU_ASSERT_FALSE(cfg_is_prime(65536));
	CU_ASSERT_TRUE(cfg_is_prime(1048573));
	CU_ASSERT_FALSE(cfg_is_prime(1048575));
	CU_ASSERT_TRUE(cfg_is_prime(4294967291u));
	CU_ASSERT_FALSE(cfg_is_prime(4294967295u));

	expect_err(vip_doc(V4 ", 'table_size': 65536"),
		   "vips[0].table_size: must be a prime 7..1048573 (65536 is "
		   "not a prime; 65537 is)");
	expect_err(vip_doc(V4 ", 'table_size': 5"),
		   "vips[0].table_size: must be a prime 7..1048573");
	expect_err(vip_doc(V4 ", 'table_size': 1048583"),
		   "vips[0].table_size: must be a prime 7..1048573");
	expect_err(vip_doc(V4 ", 'table_size': 65537.0"),
		   "vips[0].table_size: must be an integer");
	c = parse_ok(vip_doc(V4 ", 'table_size': 1048573"));
	cfg_free(c);

	/* At least the number of backends; below 100 x: a warning. */
	o = (size_t)snprintf(body, sizeof(body),
			     V4 ", 'table_size': 7, 'backends': [");
	for (i = 0; i < 8; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
				      "%s{'address': '198.51.100.%zu'}",
				      i ? "," : "", i + 1);
	snprintf(body + o, sizeof(body) - o, "]");
	expect_err(vip_doc(body), "vips[0].table_size: 7 is less than the "
				  "number of backends (8)");
	body[strlen(body) - 1] = '\0';
	body[strrchr(body, '{') - body - 1] = ']';
	body[strrchr(body, '{') - body] = '\0';
	c = parse_ok(vip_doc(body)); /* 7 backends, 7 slots */
	if (c) {
		CU_ASSERT_EQUAL(c->vips[0].n_backends, 7);
		CU_ASSERT_EQUAL(msgs.n_warn, 1);
		CU_ASSERT_TRUE(has_msg(msgs.warn, msgs.n_warn,
				       "vips[0].table_size: 7 is below 100 x 7 "
				       "backends: Maglev may balance unevenly "
				       "(a prime of at least 700 is advised)"));
	}
	cfg_free(c);
}

static void test_limits(void)
{
	expect_err(
	    J("{'max_vips': 2, 'vips': ["
	      "{'address': '203.0.113.1', 'port': 80, 'protocol': 'tcp'},"
	      "{'address': '203.0.113.2', 'port': 80, 'protocol': 'tcp'},"
	      "{'address': '203.0.113.3', 'port': 80, 'protocol': 'tcp'}"
	      "]}"),
	    "vips: 3 VIPs, more than max_vips (2)");
	expect_err(J("{'max_backends': 3, 'vips': ["
		     "{'address': '203.0.113.1', 'port': 80, 'protocol': 'tcp',"
		     " 'backends': [{'address': '198.51.100.1'},"
		     " {'address': '198.51.100.2'}]},"
		     "{'address': '203.0.113.2', 'port': 80, 'protocol': 'tcp',"
		     " 'backends': [{'address': '198.51.100.1'},"
		     " {'address': '198.51.100.2'}]}]}"),
		   "vips: 4 backends in all, more than max_backends (3)");
	/* Over the limits, the elements are still checked. */
	expect_err(
	    J("{'max_vips': 1, 'vips': ["
	      "{'address': '203.0.113.1', 'port': 80, 'protocol': 'tcp'},"
	      "{'address': '203.0.113.2', 'port': 80, 'protocol': 'tcp',"
	      " 'backends': [{'address': 'x'}]}]}"),
	    "vips[1].backends[0].address: not an IPv4 or IPv6 address: "
	    "\"x\"");
	expect_err(J("{'max_backends': 1, 'vips': ["
		     "{'address': '203.0.113.1', 'port': 80, 'protocol': 'tcp',"
		     " 'backends': [{'address': '198.51.100.1'},"
		     " {'address': '198.51.100.2', 'weight': -4}]}]}"),
		   "vips[0].backends[1].weight: must be 0..65535");
}

static void test_all_errors(void)
{
	struct xlb_config *c;

	c = parse(J("{'interface': 'a/b', 'xdp_mode': 'x', 'bogus': 1,"
		    " 'vips': [{'address': 'nope', 'port': 0},"
		    " {'address': '203.0.113.1', 'port': 80, 'protocol': 'tcp',"
		    "  'backends': [{'address': '198.51.100.1', 'weight': 1.5},"
		    "  {'address': '198.51.100.1'}]}]}"));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(msgs.n_err, 8);
	CU_ASSERT_TRUE(has_err("bogus: unknown key"));
	CU_ASSERT_TRUE(has_err_prefix("interface: must be an interface name"));
	CU_ASSERT_TRUE(has_err_prefix("xdp_mode: must be"));
	CU_ASSERT_TRUE(has_err_prefix("vips[0].address: not an IPv4"));
	CU_ASSERT_TRUE(has_err("vips[0].port: must be 1..65535"));
	CU_ASSERT_TRUE(has_err("vips[0].protocol: required"));
	CU_ASSERT_TRUE(has_err("vips[1].backends[0].weight: must be an "
			       "integer"));
	CU_ASSERT_TRUE(has_err("vips[1].backends[1].address: duplicate of "
			       "vips[1].backends[0] (198.51.100.1)"));
	if (CU_get_number_of_failures())
		dump_msgs("all_errors");
}

/* Thousands of errors: all counted, a bounded number kept. */
static void test_error_cap(void)
{
	struct xlb_config *c;
	size_t n = 3000, i, o, cap = 64 + n * 32;
	char *doc = malloc(cap);

	o = (size_t)snprintf(doc, cap,
			     "{\"max_backends\": 5000, \"vips\": "
			     "[{\"address\": \"203.0.113.1\", "
			     "\"port\": 80, \"protocol\": \"tcp\", "
			     "\"table_size\": 1048573, "
			     "\"backends\": [");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(doc + o, cap - o, "%s{\"address\": 1}",
				      i ? "," : "");
	snprintf(doc + o, cap - o, "]}]}");
	c = parse(doc);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(msgs.n_err, 1001);
	if (msgs.n_err == 1001)
		CU_ASSERT_STRING_EQUAL(msgs.err[1000],
				       "... and 2000 more errors");
	CU_ASSERT_TRUE(has_err("vips[0].backends[999].address: must be a "
			       "string"));
	free(doc);
}

/* ---- health-check overrides ---- */

static void test_overrides(void)
{
	struct xlb_config *c;
	struct xlb_vip_conf *v;
	struct xlb_backend_conf *b;
	struct xlb_addr a;
	json_t *j;

	c = parse_ok(
	    vip_doc(V4 ", 'healthcheck': {'type': 'http', 'port': 8080,"
		       " 'path': '/healthz', 'host': 'www.example.com',"
		       " 'interval_ms': 1000, 'timeout_ms': 800, 'rise': 3},"
		       " 'backends': ["
		       " {'address': '198.51.100.13', 'healthcheck':"
		       "  {'port': 9090, 'timeout_ms': 500}},"
		       " {'address': '198.51.100.11'},"
		       " {'address': '198.51.100.12', 'healthcheck':"
		       "  {'interval_ms': 100, 'host': null, 'type': 'tcp'}},"
		       " {'address': '198.51.100.14', 'healthcheck': {}}]"));
	if (!c)
		return;
	v = &c->vips[0];
	CU_ASSERT_EQUAL(v->hc.type, XLB_HC_HTTP);
	CU_ASSERT_STRING_EQUAL(v->hc.host, "www.example.com");
	addr_parse("198.51.100.11", &a);
	b = cfg_find_backend(v, &a);
	CU_ASSERT_PTR_EQUAL(b, &v->backends[0]);
	CU_ASSERT_EQUAL(b->hc_set, 0);
	CU_ASSERT_TRUE(cfg_hc_equal(&b->hc, &v->hc));

	b = &v->backends[1]; /* .12 */
	CU_ASSERT_EQUAL(b->hc_set, CFG_HC_INTERVAL | CFG_HC_HOST | CFG_HC_TYPE);
	CU_ASSERT_EQUAL(b->hc.type, XLB_HC_TCP);
	CU_ASSERT_PTR_NULL(b->hc.host);
	CU_ASSERT_EQUAL(b->hc.interval_ms, 100);
	CU_ASSERT_EQUAL(b->hc.timeout_ms, 100); /* capped at its interval */
	CU_ASSERT_EQUAL(b->hc.port, 8080);
	CU_ASSERT_EQUAL(b->hc.rise, 3);

	b = &v->backends[2]; /* .13 */
	CU_ASSERT_EQUAL(b->hc_set, CFG_HC_PORT | CFG_HC_TIMEOUT);
	CU_ASSERT_EQUAL(b->hc.type, XLB_HC_HTTP);
	CU_ASSERT_EQUAL(b->hc.port, 9090);
	CU_ASSERT_EQUAL(b->hc.timeout_ms, 500);
	CU_ASSERT_EQUAL(b->hc.interval_ms, 1000);
	CU_ASSERT_STRING_EQUAL(b->hc.path, "/healthz");
	CU_ASSERT_STRING_EQUAL(b->hc.host, "www.example.com");
	CU_ASSERT_EQUAL(b->hc.rise, 3);
	CU_ASSERT_EQUAL(b->hc.fall, 3);

	b = &v->backends[3]; /* .14 with {} */
	CU_ASSERT_EQUAL(b->hc_set, 0);

	/* The override is dumped with its own keys only. */
	j = cfg_dump_backend(v, &v->backends[2]);
	CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "healthcheck")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(
			    json_object_get(j, "healthcheck"), "port")),
			9090);
	json_decref(j);
	j = cfg_dump_backend(v, &v->backends[0]);
	CU_ASSERT_PTR_NULL(json_object_get(j, "healthcheck"));
	json_decref(j);
	j = cfg_dump_backend(v, &v->backends[1]);
	CU_ASSERT_TRUE(json_is_null(
	    json_object_get(json_object_get(j, "healthcheck"), "host")));
	json_decref(j);
	cfg_free(c);

	/* A backend's timeout is checked against its effective interval. */
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'healthcheck': {'timeout_ms': 2500}}]"),
		   "vips[0].backends[0].healthcheck.timeout_ms: must be at "
		   "most interval_ms (2000)");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'healthcheck': {'fall': 0}}]"),
		   "vips[0].backends[0].healthcheck.fall: must be 1..100");
	expect_err(vip_doc(V4 ", 'backends': [{'address': '198.51.100.1',"
			      " 'healthcheck': []}]"),
		   "vips[0].backends[0].healthcheck: must be an object");
}

static void test_payload(void)
{
	struct xlb_config *c;
	json_t *j;
	char *s;

	/* UTF-8 and a NUL byte; the length is kept. */
	c = parse_ok("{\"vips\": [{\"address\": \"203.0.113.10\", \"port\": 53,"
		     " \"protocol\": \"udp\", \"healthcheck\": {\"type\": "
		     "\"udp\", \"payload\": \"h\\u00e9\\u0000\\u2603x\"}}]}");
	if (!c)
		return;
	CU_ASSERT_EQUAL(c->vips[0].hc.payload_len, 8);
	CU_ASSERT_EQUAL(
	    memcmp(c->vips[0].hc.payload, "h\xc3\xa9\0\xe2\x98\x83x", 8), 0);
	j = cfg_dump(c);
	s = json_dumps(j, JSON_COMPACT);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"payload\":\"h\xc3\xa9\\u0000"
					 "\xe2\x98\x83x\""));
	free(s);
	json_decref(j);
	cfg_free(c);
	expect_err(vip_doc(V4 ", 'healthcheck': {'path': '/\\u0000'}"),
		   "vips[0].healthcheck.path: must not contain NUL characters");
}

/* ---- ordering, lookups ---- */

static void test_sorting(void)
{
	struct xlb_config *c;
	struct xlb_addr a;
	char buf[XLB_VIPSTRLEN];

	c = parse_ok(
	    J("{'vips': ["
	      "{'address': '2001:db8::10', 'port': 443, 'protocol': 'tcp'},"
	      "{'address': '203.0.113.10', 'port': 80, 'protocol': 'udp'},"
	      "{'address': '203.0.113.10', 'port': 80, 'protocol': 'tcp',"
	      " 'backends': [{'address': '198.51.100.20'},"
	      "  {'address': '198.51.100.3'},"
	      "  {'address': '10.0.0.1'}]},"
	      "{'address': '192.0.2.200', 'port': 8080, 'protocol': 'tcp'}"
	      "]}"));
	if (!c)
		return;
	CU_ASSERT_STRING_EQUAL(cfg_vip_fmt(&c->vips[0], buf, sizeof(buf)),
			       "192.0.2.200:8080/tcp");
	CU_ASSERT_STRING_EQUAL(cfg_vip_fmt(&c->vips[1], buf, sizeof(buf)),
			       "203.0.113.10:80/tcp");
	CU_ASSERT_STRING_EQUAL(cfg_vip_fmt(&c->vips[2], buf, sizeof(buf)),
			       "203.0.113.10:80/udp");
	CU_ASSERT_STRING_EQUAL(cfg_vip_fmt(&c->vips[3], buf, sizeof(buf)),
			       "[2001:db8::10]:443/tcp");
	CU_ASSERT_STRING_EQUAL(
	    addr_fmt(&c->vips[1].backends[0].addr, buf, sizeof(buf)),
	    "10.0.0.1");
	CU_ASSERT_STRING_EQUAL(
	    addr_fmt(&c->vips[1].backends[1].addr, buf, sizeof(buf)),
	    "198.51.100.3");
	CU_ASSERT_STRING_EQUAL(
	    addr_fmt(&c->vips[1].backends[2].addr, buf, sizeof(buf)),
	    "198.51.100.20");

	addr_parse("2001:DB8::10", &a);
	CU_ASSERT_PTR_EQUAL(cfg_find_vip(c, &a, 443, IPPROTO_TCP), &c->vips[3]);
	CU_ASSERT_PTR_NULL(cfg_find_vip(c, &a, 443, IPPROTO_UDP));
	addr_parse("203.0.113.10", &a);
	CU_ASSERT_PTR_EQUAL(cfg_find_vip(c, &a, 80, IPPROTO_UDP), &c->vips[2]);
	CU_ASSERT_PTR_NULL(cfg_find_vip(c, &a, 81, IPPROTO_UDP));
	addr_parse("198.51.100.20", &a);
	CU_ASSERT_PTR_EQUAL(cfg_find_backend(&c->vips[1], &a),
			    &c->vips[1].backends[2]);
	CU_ASSERT_PTR_NULL(cfg_find_backend(&c->vips[0], &a));
	cfg_free(c);
}

/* ---- dump and round trip ---- */

static const char *full_doc(void)
{
	return J("{'interface': 'eth0', 'xdp_mode': 'native',"
		 " 'encap_source': {'ipv4': '192.0.2.0/28',"
		 " 'ipv6': '2001:db8:ff::1'},"
		 " 'conntrack_size': 2097152, 'max_vips': 16,"
		 " 'max_backends': 64, 'icmp_rate_limit': 0,"
		 " 'vips': ["
		 " {'address': '2001:db8::10', 'port': 443, 'protocol': 'tcp',"
		 "  'table_size': 10007, 'hash': 'src_ip',"
		 "  'healthcheck': {'type': 'tcp', 'port': 8443},"
		 "  'backends': [{'address': '2001:db8:1::2', 'weight': 0},"
		 "   {'address': '2001:db8:1::1', 'state': 'disabled',"
		 "    'healthcheck': {'rise': 5, 'fall': 7, 'payload': "
		 "'\\u00e9'}}]},"
		 " {'address': '203.0.113.10', 'port': 53, 'protocol': 'udp',"
		 "  'healthcheck': {'type': 'udp', 'payload': 'ping\\n',"
		 "   'interval_ms': 500},"
		 "  'backends': [{'address': '198.51.100.11', 'weight': 7},"
		 "   {'address': '2001:db8:2::1', 'state': 'draining'}]},"
		 " {'address': '203.0.113.10', 'port': 80, 'protocol': 'tcp',"
		 "  'healthcheck': {'type': 'http', 'path': '/healthz',"
		 "   'host': 'lb.example', 'expect_status': 204},"
		 "  'backends': [{'address': '198.51.100.12',"
		 "    'healthcheck': {'host': null, 'path': '/x'}}]}]}");
}

static char *dump_str(const struct xlb_config *c)
{
	json_t *j = cfg_dump(c);
	char *s = json_dumps(j, JSON_INDENT(2));

	json_decref(j);
	return s;
}

static void round_trip(const char *text)
{
	struct xlb_config *c1, *c2;
	char *s1, *s2;
	json_t *d;
	size_t i;

	c1 = parse_ok(text);
	if (!c1)
		return;
	s1 = dump_str(c1);
	c2 = parse_ok(s1);
	if (!c2) {
		free(s1);
		cfg_free(c1);
		return;
	}
	s2 = dump_str(c2);
	CU_ASSERT_STRING_EQUAL(s1, s2);
	CU_ASSERT_EQUAL(c1->n_vips, c2->n_vips);
	for (i = 0; i < c1->n_vips && i < c2->n_vips; i++)
		CU_ASSERT_TRUE(cfg_vip_equal(&c1->vips[i], &c2->vips[i]));
	d = cfg_diff(c1, c2);
	CU_ASSERT_TRUE(json_is_false(json_object_get(d, "changed")));
	json_decref(d);
	free(s1);
	free(s2);
	cfg_free(c1);
	cfg_free(c2);
}

static void test_dump(void)
{
	struct xlb_config *c;
	json_t *j, *v, *hc;

	c = parse_ok(full_doc());
	if (!c)
		return;
	j = cfg_dump(c);
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(j, "xdp_mode")), "native");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
				   json_object_get(j, "encap_source"), "ipv4")),
			       "192.0.2.0/28");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
				   json_object_get(j, "encap_source"), "ipv6")),
			       "2001:db8:ff::1");
	CU_ASSERT_EQUAL(
	    json_integer_value(json_object_get(j, "icmp_rate_limit")), 0);
	v = json_array_get(json_object_get(j, "vips"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "address")),
			       "203.0.113.10");
	/* every default is printed */
	hc = json_object_get(v, "healthcheck");
	CU_ASSERT_EQUAL(json_object_size(hc), 10);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(hc, "timeout_ms")),
			500);
	CU_ASSERT_TRUE(json_is_null(json_object_get(hc, "host")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "table_size")),
			65537);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "hash")),
			       "5tuple");
	v = json_array_get(json_object_get(v, "backends"), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "weight")), 7);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "state")),
			       "enabled");
	json_decref(j);
	cfg_free(c);

	round_trip(full_doc());
	round_trip("{}");
	round_trip(vip_doc(V6));
}

/* The shipped examples are valid and round-trip. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static char srcdir[4096];

static void test_examples(void)
{
	char path[4200], *text;
	json_t *arr;

	snprintf(path, sizeof(path), "%s/examples/xlb.json", srcdir);
	text = read_all(path);
	CU_ASSERT_PTR_NOT_NULL(text);
	if (text) {
		round_trip(text);
		dump_msgs("examples/xlb.json");
	}
	free(text);
	snprintf(path, sizeof(path), "%s/examples/backends.json", srcdir);
	text = read_all(path);
	CU_ASSERT_PTR_NOT_NULL(text);
	if (text) {
		cfg_msgs_free(&msgs);
		arr = cfg_parse_backend_list(text, strlen(text), &msgs);
		CU_ASSERT_TRUE(json_array_size(arr) >= 2);
		json_decref(arr);
	}
	free(text);
}

/* ---- diff and immutable keys ---- */

static json_t *find_in(json_t *arr, const char *field, const char *val)
{
	json_t *e;
	size_t i;

	json_array_foreach(
	    arr, i,
	    e) if (!strcmp(json_string_value(json_object_get(e, field)) ?: "",
			   val)) return e;
	return NULL;
}

static bool str_in(json_t *arr, const char *val)
{
	json_t *e;
	size_t i;

	json_array_foreach(
	    arr, i, e) if (json_is_string(e) &&
			   !strcmp(json_string_value(e), val)) return true;
	return false;
}

static void test_diff(void)
{
	struct xlb_config *a, *b;
	json_t *d, *s, *vc, *bc;
	char *txt;

	a = parse_ok(full_doc());
	b = parse_ok(
	    J("{'interface': 'eth0', 'xdp_mode': 'native',"
	      " 'encap_source': {'ipv4': '192.0.2.0/28'},"
	      " 'conntrack_size': 2097152, 'max_vips': 16,"
	      " 'max_backends': 64, 'icmp_rate_limit': 500,"
	      " 'vips': ["
	      " {'address': '2001:db8::10', 'port': 443, "
	      "'protocol': 'tcp',"
	      "  'table_size': 10007, 'hash': 'src_ip',"
	      "  'healthcheck': {'type': 'tcp', 'port': 8443},"
	      "  'backends': [{'address': '2001:db8:1::2', 'weight': 0},"
	      "   {'address': '2001:db8:1::1', 'state': 'disabled',"
	      "    'healthcheck': {'rise': 5, 'fall': 7, "
	      "'payload': '\\u00e9'}}]},"
	      " {'address': '203.0.113.10', 'port': 80, 'protocol': 'tcp',"
	      "  'table_size': 65521,"
	      "  'healthcheck': {'type': 'http', 'path': '/ready',"
	      "   'host': 'lb.example', 'expect_status': 204},"
	      "  'backends': [{'address': '198.51.100.12', 'weight': 50,"
	      "    'healthcheck': {'port': 81}},"
	      "   {'address': '198.51.100.13'}]},"
	      " {'address': '203.0.113.11', 'port': 80, "
	      "'protocol': 'tcp'}]}"));
	if (!a || !b)
		goto out;
	d = cfg_diff(a, b);
	txt = json_dumps(d, JSON_INDENT(1));
	CU_ASSERT_TRUE(json_is_true(json_object_get(d, "changed")));
	s = json_object_get(d, "settings");
	CU_ASSERT_EQUAL(json_array_size(s), 2);
	bc = find_in(s, "key", "icmp_rate_limit");
	CU_ASSERT_PTR_NOT_NULL(bc);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(bc, "from")), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(bc, "to")), 500);
	bc = find_in(s, "key", "encap_source.ipv6");
	CU_ASSERT_PTR_NOT_NULL(bc);
	CU_ASSERT_TRUE(json_is_null(json_object_get(bc, "to")));
	CU_ASSERT_TRUE(
	    str_in(json_object_get(d, "vips_added"), "203.0.113.11:80/tcp"));
	CU_ASSERT_TRUE(
	    str_in(json_object_get(d, "vips_removed"), "203.0.113.10:53/udp"));
	vc = json_object_get(d, "vips_changed");
	CU_ASSERT_EQUAL(json_array_size(vc), 1);
	vc = find_in(vc, "vip", "203.0.113.10:80/tcp");
	CU_ASSERT_PTR_NOT_NULL(vc);
	s = json_object_get(vc, "settings");
	CU_ASSERT_EQUAL(json_array_size(s), 2);
	CU_ASSERT_PTR_NOT_NULL(find_in(s, "key", "table_size"));
	bc = find_in(s, "key", "healthcheck.path");
	CU_ASSERT_PTR_NOT_NULL(bc);
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(bc, "from")) ?: "", "/healthz");
	CU_ASSERT_TRUE(
	    str_in(json_object_get(vc, "backends_added"), "198.51.100.13"));
	CU_ASSERT_EQUAL(
	    json_array_size(json_object_get(vc, "backends_removed")), 0);
	bc = find_in(json_object_get(vc, "backends_changed"), "address",
		     "198.51.100.12");
	CU_ASSERT_PTR_NOT_NULL(bc);
	s = json_object_get(bc, "settings");
	/* weight, healthcheck.host/.path removed, healthcheck.port added */
	CU_ASSERT_EQUAL(json_array_size(s), 4);
	CU_ASSERT_PTR_NOT_NULL(find_in(s, "key", "weight"));
	CU_ASSERT_PTR_NOT_NULL(find_in(s, "key", "healthcheck.port"));
	CU_ASSERT_PTR_NOT_NULL(find_in(s, "key", "healthcheck.path"));
	if (CU_get_number_of_failures())
		fprintf(stderr, "%s\n", txt);
	free(txt);
	json_decref(d);

	d = cfg_diff(a, a);
	CU_ASSERT_TRUE(json_is_false(json_object_get(d, "changed")));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "vips_changed")), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "settings")), 0);
	json_decref(d);
out:
	cfg_free(a);
	cfg_free(b);
}

static void test_immutable(void)
{
	struct xlb_config *a, *b;

	a = parse_ok(J("{'interface': 'eth0'}"));
	b = parse_ok(J("{'interface': 'eth1', 'xdp_mode': 'generic',"
		       " 'conntrack_size': 2048, 'max_vips': 1,"
		       " 'max_backends': 2, 'icmp_rate_limit': 5}"));
	if (!a || !b)
		goto out;
	cfg_msgs_free(&msgs);
	CU_ASSERT_EQUAL(cfg_check_immutable(a, a, &msgs), 0);
	CU_ASSERT_EQUAL(msgs.n_err, 0);
	CU_ASSERT_EQUAL(cfg_check_immutable(a, b, &msgs), 5);
	CU_ASSERT_EQUAL(msgs.n_err, 5);
	CU_ASSERT_TRUE(has_err("interface: cannot change while xlbd runs "
			       "(\"eth0\" -> \"eth1\")"));
	CU_ASSERT_TRUE(has_err("xdp_mode: cannot change while xlbd runs "
			       "(auto -> generic)"));
	CU_ASSERT_TRUE(has_err_prefix("conntrack_size: cannot change while "
				      "xlbd runs"));
	CU_ASSERT_TRUE(has_err_prefix("max_vips: cannot change"));
	CU_ASSERT_TRUE(has_err_prefix("max_backends: cannot change"));
out:
	cfg_free(a);
	cfg_free(b);
}

/* ---- backend lists ---- */

static void test_backend_list(void)
{
	json_t *arr;
	const char *t;

	cfg_msgs_free(&msgs);
	t = J("[{'address': '198.51.100.1'}, {'address': '198.51.100.2',"
	      " 'weight': 5}]");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_EQUAL(json_array_size(arr), 2);
	CU_ASSERT_EQUAL(msgs.n_err, 0);
	json_decref(arr);
	t = J("{'backends': [{'address': '198.51.100.1'}]}");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_EQUAL(json_array_size(arr), 1);
	json_decref(arr);
	t = "[]";
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_TRUE(json_is_array(arr));
	CU_ASSERT_EQUAL(json_array_size(arr), 0);
	json_decref(arr);
	CU_ASSERT_EQUAL(msgs.n_err, 0);

	t = J("{'backends': [], 'vip': 'x'}");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_TRUE(has_err("vip: unknown key"));
	cfg_msgs_free(&msgs);
	t = J("{'servers': []}");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_TRUE(has_err("backends: required"));
	cfg_msgs_free(&msgs);
	t = J("{'backends': 5}");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_TRUE(has_err("backends: must be an array"));
	cfg_msgs_free(&msgs);
	t = J("'198.51.100.1'");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_TRUE(has_err("document: must be an array of backends or "
			       "{\"backends\": [...]}"));
	cfg_msgs_free(&msgs);
	t = J("[{'address': '198.51.100.1'}, 7]");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_TRUE(has_err("backends[1]: must be an object"));
	cfg_msgs_free(&msgs);
	t = "[{]";
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON at line 1"));
	cfg_msgs_free(&msgs);
	t = J("[{'address': '198.51.100.1', 'address': '198.51.100.2'}]");
	arr = cfg_parse_backend_list(t, strlen(t), &msgs);
	CU_ASSERT_PTR_NULL(arr);
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON"));
}

/* ---- VIP text ---- */

static void test_vip_text(void)
{
	static const char *const bad[] = {
	    "203.0.113.10:80",
	    "203.0.113.10/tcp",
	    "2001:db8::1:80/tcp",
	    "[203.0.113.10]:80/tcp",
	    ":80/tcp",
	    "203.0.113.10:0/tcp",
	    "203.0.113.10:65536/tcp",
	    "203.0.113.10:080/tcp",
	    "[2001:db8::10]443/tcp",
	    "203.0.113.10:80/sctp",
	    "203.0.113.10:80/",
	    "[2001:db8::10:443/tcp",
	    "[]:443/tcp",
	    "203.0.113.10:+80/tcp",
	    "203.0.113.10:80/tcp ",
	    "",
	    "203.0.113.10: 80/tcp",
	    "vip.example:80/tcp",
	};
	struct xlb_vip_conf v = {0};
	char buf[XLB_VIPSTRLEN];
	size_t i;

	CU_ASSERT_EQUAL(
	    cfg_vip_parse("203.0.113.10:80/tcp", &v.addr, &v.port, &v.proto),
	    0);
	CU_ASSERT_EQUAL(v.port, 80);
	CU_ASSERT_EQUAL(v.proto, IPPROTO_TCP);
	CU_ASSERT_STRING_EQUAL(cfg_vip_fmt(&v, buf, sizeof(buf)),
			       "203.0.113.10:80/tcp");
	CU_ASSERT_EQUAL(
	    cfg_vip_parse("[2001:DB8::10]:443/udp", &v.addr, &v.port, &v.proto),
	    0);
	CU_ASSERT_EQUAL(v.addr.family, AF_INET6);
	CU_ASSERT_EQUAL(v.port, 443);
	CU_ASSERT_EQUAL(v.proto, IPPROTO_UDP);
	CU_ASSERT_STRING_EQUAL(cfg_vip_fmt(&v, buf, sizeof(buf)),
			       "[2001:db8::10]:443/udp");
	CU_ASSERT_EQUAL(
	    cfg_vip_parse("192.0.2.1:65535/tcp", &v.addr, &v.port, &v.proto),
	    0);
	CU_ASSERT_EQUAL(v.port, 65535);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cfg_vip_parse(bad[i], &v.addr, &v.port, &v.proto);

		if (r != -EINVAL)
			fprintf(stderr, "\n  accepted: \"%s\"\n", bad[i]);
		CU_ASSERT_EQUAL(r, -EINVAL);
	}
	CU_ASSERT_STRING_EQUAL(cfg_proto_name(IPPROTO_TCP), "tcp");
	CU_ASSERT_STRING_EQUAL(cfg_proto_name(IPPROTO_UDP), "udp");
	CU_ASSERT_STRING_EQUAL(cfg_state_name(XLB_STATE_DRAINING), "draining");
	CU_ASSERT_STRING_EQUAL(cfg_hc_type_name(XLB_HC_HTTP), "http");
}

/* ---- files ---- */

static char tmpdir[] = "/tmp/test_config.XXXXXX";

static void test_files(void)
{
	struct xlb_config *c, *c2;
	char path[256], *s1, *s2;
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, n = 0;
	mode_t old;

	/* A file one byte over the limit: refused without reading it all. */
	snprintf(path, sizeof(path), "%s/big.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_TRUE(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, CFG_MAX_FILE_SIZE + 1), 0);
	close(fd);
	cfg_msgs_free(&msgs);
	c = cfg_load_file(path, &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(msgs.n_err, 1);
	CU_ASSERT_PTR_NOT_NULL(msgs.n_err ? strstr(msgs.err[0], "larger than")
					  : NULL);
	unlink(path);
	/* The same through a pipe-like file (no size known up front). */
	cfg_msgs_free(&msgs);
	c = cfg_load_file("/dev/zero", &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err("file is larger than the limit of "
			       "16777216 bytes (16 MiB)"));
	/* And as text. */
	s1 = malloc(CFG_MAX_FILE_SIZE + 2);
	memset(s1, ' ', CFG_MAX_FILE_SIZE + 1);
	memcpy(s1, "{}", 2);
	cfg_msgs_free(&msgs);
	c = cfg_parse(s1, CFG_MAX_FILE_SIZE + 1, &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err("document is 16777217 bytes, more "
			       "than the limit of 16777216"));
	c = cfg_parse(s1, CFG_MAX_FILE_SIZE, &msgs);
	CU_ASSERT_PTR_NOT_NULL(c);
	cfg_free(c);
	free(s1);

	cfg_msgs_free(&msgs);
	snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
	c = cfg_load_file(path, &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(msgs.n_err, 1);
	CU_ASSERT_PTR_NOT_NULL(
	    msgs.n_err ? strstr(msgs.err[0], "cannot open: No such file")
		       : NULL);

	/* JSON errors from a file carry no file name (callers add it). */
	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_EQUAL(write(fd, "{\n  \"vips\": [,]\n}\n", 18), 18);
	close(fd);
	cfg_msgs_free(&msgs);
	c = cfg_load_file(path, &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON at line 2, column 12: "));
	unlink(path);

	/* Save: atomic, mode 0644 whatever the umask, loads back the same. */
	c = parse_ok(full_doc());
	if (!c)
		return;
	snprintf(path, sizeof(path), "%s/xlb.json", tmpdir);
	old = umask(077);
	CU_ASSERT_EQUAL(cfg_save_file(c, path), 0);
	CU_ASSERT_EQUAL(cfg_save_file(c, path), 0); /* over an existing one */
	umask(old);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	cfg_msgs_free(&msgs);
	c2 = cfg_load_file(path, &msgs);
	CU_ASSERT_PTR_NOT_NULL(c2);
	if (c2) {
		s1 = dump_str(c);
		s2 = dump_str(c2);
		CU_ASSERT_STRING_EQUAL(s1, s2);
		free(s1);
		free(s2);
	}
	d = opendir(tmpdir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	CU_ASSERT_EQUAL(n, 1); /* no temporary file left behind */
	CU_ASSERT_EQUAL(cfg_save_file(c, "/nonexistent-dir/xlb.json"), -ENOENT);
	unlink(path);
	cfg_free(c);
	cfg_free(c2);
}

/* ---- hostile input ---- */

static void test_deep_nesting(void)
{
	size_t n = 1000000, i;
	char *s = malloc(2 * n + 64);
	struct xlb_config *c;

	for (i = 0; i < n; i++)
		s[i] = '[';
	for (i = 0; i < n; i++)
		s[n + i] = ']';
	c = cfg_parse(s, 2 * n, &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err_prefix("invalid JSON"));

	/* Deep, but within jansson's limit, under an unknown key. */
	n = 2000;
	i = (size_t)sprintf(s, "{\"x\": ");
	memset(s + i, '[', n);
	memset(s + i + n, ']', n);
	strcpy(s + i + 2 * n, "}");
	cfg_msgs_free(&msgs);
	c = cfg_parse(s, strlen(s), &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(has_err("x: unknown key"));
	free(s);

	/* Binary garbage. */
	cfg_msgs_free(&msgs);
	c = cfg_parse("\xff\xfe{\x00}", 5, &msgs);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(msgs.n_err, 1);
	c = cfg_parse(J("{'vips': [{'address': '\xc3\x28'}]}"), 26, &msgs);
	CU_ASSERT_PTR_NULL(c);
}

/* Inputs the fuzzer found (tests/fuzz), kept as regressions. */
static const char *const fuzz_cases[] = {
    /* qsort_r(NULL, 0, ...) on a document without VIPs (UBSan) */
    "{}",
    "{\"vips\":[]}",
    NULL,
};

static void test_fuzz_regressions(void)
{
	struct xlb_config *c;
	size_t i;

	for (i = 0; fuzz_cases[i]; i++) {
		cfg_msgs_free(&msgs);
		c = cfg_parse(fuzz_cases[i], strlen(fuzz_cases[i]), &msgs);
		if (c) {
			json_t *j = cfg_dump(c);

			json_decref(j);
		}
		cfg_free(c);
	}
	CU_PASS("no crash");
}

static int suite_init(void)
{
	const char *f = __FILE__, *p = strstr(f, "tests/unit/");

	if (!mkdtemp(tmpdir))
		return -1;
	if (p && f[0] == '/')
		snprintf(srcdir, sizeof(srcdir), "%.*s", (int)(p - f - 1), f);
	else
		snprintf(srcdir, sizeof(srcdir), "%s",
			 getenv("XLB_SRCDIR") ?: ".");
	return 0;
}

static int suite_clean(void)
{
	cfg_msgs_free(&msgs);
	rmdir(tmpdir);
	return 0;
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
	    {"addr", test_addr},
	    {"defaults", test_defaults},
	    {"required keys", test_required},
	    {"unknown keys", test_unknown_keys},
	    {"wrong types", test_wrong_types},
	    {"float integers", test_float_ints},
	    {"enums", test_enums},
	    {"ranges", test_ranges},
	    {"addresses and families", test_addresses},
	    {"interface names", test_interface},
	    {"encap_source", test_encap_source},
	    {"duplicate keys, bad JSON", test_dup_keys},
	    {"duplicate VIPs and backends", test_duplicates},
	    {"table_size", test_table_size},
	    {"max_vips / max_backends", test_limits},
	    {"all errors collected", test_all_errors},
	    {"error cap", test_error_cap},
	    {"healthcheck overrides", test_overrides},
	    {"udp payload bytes", test_payload},
	    {"sorting and lookups", test_sorting},
	    {"dump and round trip", test_dump},
	    {"examples", test_examples},
	    {"diff", test_diff},
	    {"immutable keys", test_immutable},
	    {"backend lists", test_backend_list},
	    {"VIP text", test_vip_text},
	    {"files", test_files},
	    {"deep nesting and garbage", test_deep_nesting},
	    {"fuzz regressions", test_fuzz_regressions},
	};
	CU_pSuite s;
	size_t i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("config", suite_init, suite_clean);
	for (i = 0; s && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	return test_run_cunit();
}
