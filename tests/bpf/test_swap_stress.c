// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_swap_stress.c - table swaps under traffic.
 *
 * A worker thread runs the real XDP program (BPF_PROG_TEST_RUN, one frame
 * per call) on ever new flows of two VIPs, IPv4 and IPv6, while the main
 * thread swaps both VIPs' Maglev tables thousands of times between two
 * disjoint backend sets with maps_tables_swap() (one batched outer-map
 * update), as xlbd does.  No packet may see a half-written table: every
 * output must be encapsulated to the backend that the old or the new table
 * gives its flow, never elsewhere, never dropped.  Outputs are decoded and
 * the inner packet compared byte for byte.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>

#include "testutil.h"
#include "dp.h"
#include "pkt.h"
#include "xlb_hash.h"

#define M 65537
#define SWAPS 5000
#define MAX_SECONDS 20.0 /* and at least 1000 swaps */
#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct dp D;
static struct dp_vip v4, v6;
static uint32_t *t4[2], *t6[2]; /* table per backend set */

static const uint32_t set4[2][3] = { { 0, 1, 2 }, { 3, 4, 5 } };
static const uint32_t set6[2][3] = { { 6, 7, 8 }, { 9, 10, 11 } };
static const char *const addrs[] = {
	"198.51.100.11",  "198.51.100.12",  "198.51.100.13",
	"198.51.100.21",  "198.51.100.22",  "198.51.100.23",
	"2001:db8:1::11", "2001:db8:1::12", "2001:db8:1::13",
	"2001:db8:1::21", "2001:db8:1::22", "2001:db8:1::23",
};

static atomic_bool stop;
static atomic_ulong sent, bad, on_set[2];
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;
static char msgs[8][256];
static int nmsgs;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&bad, 1);
	pthread_mutex_lock(&msg_lock);
	if (nmsgs < (int)N(msgs)) {
		va_start(ap, fmt);
		vsnprintf(msgs[nmsgs++], sizeof(msgs[0]), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&msg_lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_one(unsigned long i, struct dp_out *o)
{
	bool six = i & 1;
	const struct dp_vip *v = six ? &v6 : &v4;
	uint32_t **t = six ? t6 : t4;
	char cl[64], a[64];
	struct pkt_spec s = {
		.family = v->family,
		.saddr = cl,
		.daddr = v->text,
		.proto = IPPROTO_TCP,
		.sport = (uint16_t)(1024 + (i * 7919) % 60000),
		.dport = v->port,
		/* bare SYNs take the table's choice every time; ACKs are
		 * recorded by whichever table they met first */
		.tcp_flags = i % 3 == 0 ? PKT_TCP_SYN : PKT_TCP_ACK,
		.frag = six ? 0 : PKT_IP_DF,
		.payload_len = 64,
	};
	uint8_t in[PKT_MAX];
	uint32_t h, ca, cb;
	struct pkt_l2 l2;
	struct pkt_ip ip;
	size_t n, olen = six ? 40 : 20;
	int slot, ret;

	if (six)
		snprintf(cl, sizeof(cl), "2001:db8:c::%lx", (i / 2) % 4096);
	else
		snprintf(cl, sizeof(cl), "192.0.2.%lu", 100 + (i / 2) % 100);
	n = pkt_build(&s, in, sizeof(in));
	h = dp_flow_hash(v, &s);
	ca = dp_table_choice(t[0], M, h);
	cb = dp_table_choice(t[1], M, h);
	ret = dp_run(&D, in, n, o);
	atomic_fetch_add(&sent, 1);
	if (ret) {
		note("packet %lu: BPF_PROG_TEST_RUN: %s", i, strerror(-ret));
		return;
	}
	if (o->act != XDP_TX) {
		note("packet %lu (%s:%u): verdict %s, expected XDP_TX", i, cl,
		     s.sport, dp_act_str(o->act));
		return;
	}
	if (o->len != n + olen || pkt_parse_l2(o->buf, o->len, &l2) ||
	    pkt_parse_ip(o->buf, o->len, l2.l3off, &ip)) {
		note("packet %lu: output of %zu bytes does not decode", i,
		     o->len);
		return;
	}
	slot = dp_slot_of(&D, ip.family, ip.daddr);
	if (slot < 0 || ((uint32_t)slot != ca && (uint32_t)slot != cb)) {
		char ea[96], eb[96];

		note("packet %lu (%s:%u): outer daddr %s, expected %s or %s", i,
		     cl, s.sport,
		     pkt_ntop(ip.family, ip.daddr, a, sizeof(a)),
		     dp_slot_str(&D, ca, ea, sizeof(ea)),
		     dp_slot_str(&D, cb, eb, sizeof(eb)));
		return;
	}
	if (memcmp(o->buf + l2.l3off + olen, in + 14, n - 14)) {
		note("packet %lu: inner packet modified", i);
		return;
	}
	atomic_fetch_add(&on_set[(uint32_t)slot == ca ? 0 : 1], 1);
}

static void *worker(void *arg)
{
	static struct dp_out o;
	cpu_set_t cpus;
	unsigned long i = 0;

	(void)arg;
	CPU_ZERO(&cpus);
	CPU_SET(1, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus); /* may fail on 1 CPU */
	while (!atomic_load(&stop))
		check_one(i++, &o);
	return NULL;
}

static int setup(int ifindex)
{
	int ret = dp_open(&D, ifindex, 8, 64, 65536);

	if (ret)
		return ret;
	for (uint32_t i = 0; i < N(addrs); i++)
		dp_backend(&D, i, i < 6 ? 0 : 1, addrs[i], 0);
	ret = dp_vip_add(&D, &v4, 0, "203.0.113.10", 80, IPPROTO_TCP, 0);
	ret = ret ?: dp_vip_add(&D, &v6, 1, "2001:db8:f::10", 80,
				IPPROTO_TCP, 0);
	for (int k = 0; k < 2 && !ret; k++) {
		t4[k] = malloc(M * sizeof(uint32_t));
		t6[k] = malloc(M * sizeof(uint32_t));
		if (!t4[k] || !t6[k])
			return -ENOMEM;
		ret = dp_build_table(&D, M, set4[k], NULL, 3, t4[k]);
		ret = ret ?: dp_build_table(&D, M, set6[k], NULL, 3, t6[k]);
	}
	ret = ret ?: dp_vip_table(&D, &v4, M, set4[0], NULL, 3);
	ret = ret ?: dp_vip_table(&D, &v6, M, set6[0], NULL, 3);
	return ret;
}

/* Swapper threads: each update waits for an RCU grace period (about
 * 10 ms unless rcu_expedited); concurrent updates share grace periods, so
 * several swappers reach thousands of swaps in seconds either way.  Which
 * one lands last does not matter: every table is A or B. */
#define SWAPPERS 4
static atomic_int swaps;
static atomic_int swap_err;
static double t_start;

static void *swapper(void *arg)
{
	int k = (int)(long)arg;

	while (!atomic_load(&swap_err) && now_s() - t_start < MAX_SECONDS &&
	       atomic_fetch_add(&swaps, 1) < SWAPS) {
		struct maps_table mt[2] = {
			{ .vip_id = v4.id, .size = M, .slots = t4[k & 1] },
			{ .vip_id = v6.id, .size = M, .slots = t6[k & 1] },
		};
		int ret = maps_tables_swap(D.m, mt, 2);

		if (ret)
			atomic_store(&swap_err, ret);
		k++;
	}
	return NULL;
}

static void test_swap_under_traffic(void)
{
	pthread_t th, sw[SWAPPERS];
	double el;
	int n, ret;

	dp_case = "table swap under traffic";
	atomic_store(&stop, false);
	if (pthread_create(&th, NULL, worker, NULL)) {
		DP_FAIL("pthread_create failed");
		return;
	}
	while (atomic_load(&sent) < 100)
		sched_yield();
	t_start = now_s();
	for (long i = 0; i < SWAPPERS; i++)
		if (pthread_create(&sw[i], NULL, swapper, (void *)(i + 1))) {
			DP_FAIL("pthread_create failed");
			atomic_store(&swap_err, -EAGAIN);
			for (long j = 0; j < i; j++)
				pthread_join(sw[j], NULL);
			goto out;
		}
	for (int i = 0; i < SWAPPERS; i++)
		pthread_join(sw[i], NULL);
out:
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	el = now_s() - t_start;
	n = atomic_load(&swaps);
	n = n > SWAPS ? SWAPS : n;
	ret = atomic_load(&swap_err);

	DP_EXPECT(!ret, "maps_tables_swap: %s", strerror(-ret));
	printf("\n    %d swaps, %lu packets in %.1f s; %lu on table A's "
	       "choice, %lu on table B's, %lu bad\n",
	       n, atomic_load(&sent), el, atomic_load(&on_set[0]),
	       atomic_load(&on_set[1]), atomic_load(&bad));
	for (int i = 0; i < nmsgs; i++)
		DP_FAIL("%s", msgs[i]);
	DP_EXPECT_U("bad outputs", atomic_load(&bad), 0);
	DP_EXPECT(n >= 1000, "only %d swaps in %.0f s", n, MAX_SECONDS);
	/* both tables really served traffic while being swapped */
	DP_EXPECT(atomic_load(&on_set[0]) > 0 && atomic_load(&on_set[1]) > 0,
		  "packets did not follow the swaps (%lu / %lu)",
		  atomic_load(&on_set[0]), atomic_load(&on_set[1]));
}

int main(void)
{
	char err[512];
	CU_pSuite su;
	int ifindex;

	test_require_root_bpf("test_swap_stress");
	ifindex = dp_netns_setup(err, sizeof(err));
	if (ifindex < 0) {
		fprintf(stderr, "test_swap_stress: namespace setup: %s\n", err);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (setup(ifindex)) {
		fprintf(stderr, "test_swap_stress: fixture setup failed\n");
		CU_cleanup_registry();
		return 1;
	}
	su = CU_add_suite("swap stress", NULL, NULL);
	CU_add_test(su, "table swaps under traffic", test_swap_under_traffic);
	return test_run_cunit();
}
