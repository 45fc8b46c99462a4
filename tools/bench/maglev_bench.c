// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * maglev_bench.c - Maglev table build time, balance and disruption.
 *
 *   build/bench/maglev_bench [-m M] [-r RUNS] [-t TRIALS]
 *
 * Build time: the median (and min, max) of RUNS builds of one table
 * (default 50) for N = 10, 100, 1000 backends, equal weights and mixed
 * weights (100 and 50 alternating), after a few untimed warm-up builds.
 * Balance: the largest and smallest slot count as a multiple of M/N.
 * Disruption: k of N backends removed (or one added); "changed" is the
 * number of slots whose backend differs, "own" the removed (or added)
 * backends' share; reported as changed/own (what PITFALLS.md tabulates) and
 * the extra (changed - own) as a multiple of own, mean and worst over
 * TRIALS random choices (fixed PRNG seed: the run is reproducible).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "maglev.h"

#define EMPTY UINT32_MAX

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Backend i: IPv4 10.x.y.z (i + 1), zero padded; id i. */
static void make_backends(struct maglev_backend *be, uint32_t n, int mixed)
{
	uint32_t i, a;

	memset(be, 0, n * sizeof(*be));
	for (i = 0; i < n; i++) {
		a = i + 1;
		be[i].key[0] = 10;
		be[i].key[1] = (uint8_t)(a >> 16);
		be[i].key[2] = (uint8_t)(a >> 8);
		be[i].key[3] = (uint8_t)a;
		be[i].weight = mixed && (i & 1) ? 50 : 100;
		be[i].id = i;
	}
}

static int bench_time(uint32_t m, uint32_t n, int mixed, int runs,
		      uint32_t *table)
{
	struct maglev_backend *be = calloc(n, sizeof(*be));
	double *t = calloc(runs, sizeof(*t)), t0;
	int i, err = 0;

	if (!be || !t) {
		err = -ENOMEM;
		goto out;
	}
	make_backends(be, n, mixed);
	for (i = 0; i < 5; i++)
		maglev_build(be, n, m, EMPTY, table);
	for (i = 0; i < runs; i++) {
		t0 = now_us();
		err = maglev_build(be, n, m, EMPTY, table);
		t[i] = now_us() - t0;
		if (err)
			goto out;
	}
	qsort(t, runs, sizeof(*t), cmp_double);
	printf("  N=%-5u %-6s median %7.1f us   min %7.1f   max %7.1f\n", n,
	       mixed ? "mixed" : "equal", t[runs / 2], t[0], t[runs - 1]);
out:
	free(be);
	free(t);
	return err;
}

static int bench_balance(uint32_t m, uint32_t n, uint32_t *table)
{
	struct maglev_backend *be = calloc(n, sizeof(*be));
	uint32_t *cnt = calloc(n, sizeof(*cnt)), i, lo = UINT32_MAX, hi = 0;
	int err = -ENOMEM;

	if (!be || !cnt)
		goto out;
	make_backends(be, n, 0);
	err = maglev_build(be, n, m, EMPTY, table);
	if (err)
		goto out;
	for (i = 0; i < m; i++)
		cnt[table[i]]++;
	for (i = 0; i < n; i++) {
		lo = cnt[i] < lo ? cnt[i] : lo;
		hi = cnt[i] > hi ? cnt[i] : hi;
	}
	printf("  N=%-5u M/N %8.1f   max %6u (%.4f)   min %6u (%.4f)\n", n,
	       (double)m / n, hi, hi * (double)n / m, lo, lo * (double)n / m);
out:
	free(be);
	free(cnt);
	return err;
}

/* k of n removed (k > 0) or one added (k == 0), over trials choices. */
static int bench_disruption(uint32_t m, uint32_t n, uint32_t k, int trials,
			    uint32_t *table)
{
	struct maglev_backend *be = calloc(n + 1, sizeof(*be));
	struct maglev_backend *sub = calloc(n + 1, sizeof(*sub));
	uint32_t *after = calloc(m, sizeof(*after));
	char *gone = calloc(n + 1, 1);
	double sum_ratio = 0, worst = 0, ratio;
	uint32_t i, j, s, own, changed, nsub;
	int t, err = -ENOMEM;

	if (!be || !sub || !after || !gone)
		goto out;
	make_backends(be, n + 1, 0);
	for (t = 0; t < trials; t++) {
		memset(gone, 0, n + 1);
		if (k) {
			for (j = 0; j < k;) {
				i = rng() % n;
				if (!gone[i]) {
					gone[i] = 1;
					j++;
				}
			}
		} else {
			/* a fresh address (11.x.y.z) joins the n */
			i = rng() % n;
			memcpy(be[n].key, be[i].key, sizeof(be[i].key));
			be[n].key[0] = 11;
			gone[n] = 1;
		}
		if (k) {
			for (i = 0, nsub = 0; i < n; i++)
				if (!gone[i])
					sub[nsub++] = be[i];
			err = maglev_build(be, n, m, EMPTY, table);
			if (!err)
				err = maglev_build(sub, nsub, m, EMPTY, after);
		} else {
			err = maglev_build(be, n, m, EMPTY, table);
			if (!err)
				err = maglev_build(be, n + 1, m, EMPTY, after);
		}
		if (err)
			goto out;
		own = changed = 0;
		for (s = 0; s < m; s++) {
			if (table[s] != after[s])
				changed++;
			if (k ? gone[table[s]] : gone[after[s]])
				own++;
		}
		ratio = (double)changed / own;
		sum_ratio += ratio;
		worst = ratio > worst ? ratio : worst;
	}
	if (k)
		printf("  %4u of %-5u removed", k, n);
	else
		printf("  1 added to %-5u   ", n);
	printf("  changed/own %.3f (extra %.3f), worst %.3f (extra %.3f)\n",
	       sum_ratio / trials, sum_ratio / trials - 1, worst, worst - 1);
	err = 0;
out:
	free(be);
	free(sub);
	free(after);
	free(gone);
	return err;
}

int main(int argc, char **argv)
{
	static const uint32_t ns[] = { 10, 100, 1000 };
	uint32_t m = 65537, *table, i;
	int runs = 50, trials = 20, opt, err = 0;

	while ((opt = getopt(argc, argv, "m:r:t:")) != -1) {
		switch (opt) {
		case 'm':
			m = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 't':
			trials = atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-m M] [-r RUNS] [-t TRIALS]\n",
				argv[0]);
			return 2;
		}
	}
	if (!maglev_is_prime(m) || m < 1001 || runs < 1 || trials < 1) {
		fprintf(stderr, "maglev_bench: M must be a prime > 1000, "
				"RUNS and TRIALS > 0\n");
		return 2;
	}
	table = calloc(m, sizeof(*table));
	if (!table)
		return 1;

	printf("maglev_bench: M = %u, %d runs, %d trials\n", m, runs, trials);
	printf("build time (median of %d):\n", runs);
	for (i = 0; i < 3 && !err; i++)
		err = bench_time(m, ns[i], 0, runs, table);
	for (i = 0; i < 3 && !err; i++)
		err = bench_time(m, ns[i], 1, runs, table);
	printf("balance (equal weights; slots as a multiple of M/N):\n");
	for (i = 0; i < 3 && !err; i++)
		err = bench_balance(m, ns[i], table);
	printf("disruption (mean and worst of %d trials):\n", trials);
	if (!err)
		err = bench_disruption(m, 100, 1, trials, table);
	if (!err)
		err = bench_disruption(m, 100, 5, trials, table);
	if (!err)
		err = bench_disruption(m, 1000, 1, trials, table);
	if (!err)
		err = bench_disruption(m, 1000, 10, trials, table);
	if (!err)
		err = bench_disruption(m, 100, 0, trials, table);
	if (!err)
		err = bench_disruption(m, 1000, 0, trials, table);
	free(table);
	if (err) {
		fprintf(stderr, "maglev_bench: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
