// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * swap_bench - how long does making a VIP's new table live take?
 *
 * Through the daemon's own maps module (maps_tables_swap): build the inner
 * map (mmap + memcpy of 65,537 slots) and switch it with one outer-map
 * update, which returns after an RCU grace period.  Measured for one table
 * and for a batch of 64, with normal and expedited RCU
 * (/sys/kernel/rcu_expedited, restored afterwards).
 * Usage: swap_bench [--runs N]   (root)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "maps.h"
#include "maglev.h"

#define M 65537
#define BATCH 64

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int set_rcu(const char *v)
{
	FILE *f = fopen("/sys/kernel/rcu_expedited", "w");

	if (!f)
		return -errno;
	fputs(v, f);
	return fclose(f) ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct maps_sizes sz = { .max_vips = BATCH, .max_backends = 128,
				 .conntrack_size = 4096 };
	struct maglev_backend be[100];
	struct maps_table t[BATCH];
	static uint32_t slots[M];
	char err[2048], orig[8] = "";
	struct maps *m;
	bool adopted;
	int runs = 30;
	FILE *f;

	if (argc == 3 && !strcmp(argv[1], "--runs"))
		runs = atoi(argv[2]);
	if (runs < 1 || runs > 10000) {
		fprintf(stderr, "usage: swap_bench [--runs N]\n");
		return 2;
	}
	if (maps_open(&m, NULL, &sz, &adopted, err, sizeof(err))) {
		fprintf(stderr, "swap_bench: %s\n", err);
		return 1;
	}
	memset(be, 0, sizeof(be));
	for (int i = 0; i < 100; i++) {
		be[i].key[0] = 198;
		be[i].key[1] = 51;
		be[i].key[2] = 100;
		be[i].key[3] = (uint8_t)(i + 1);
		be[i].weight = 100;
		be[i].id = (uint32_t)i;
	}
	maglev_build(be, 100, M, XLB_NO_BACKEND, slots);
	for (int i = 0; i < BATCH; i++) {
		t[i].vip_id = (uint32_t)i;
		t[i].size = M;
		t[i].slots = slots;
	}
	f = fopen("/sys/kernel/rcu_expedited", "r");
	if (f) {
		if (!fgets(orig, sizeof(orig), f))
			orig[0] = 0;
		fclose(f);
	}
	printf("swap_bench: table %d slots, %d runs per figure (median, p90)\n",
	       M, runs);
	for (int exp = 0; exp < 2; exp++) {
		if (set_rcu(exp ? "1" : "0"))
			printf("(cannot set rcu_expedited: figures use the "
			       "current setting)\n");
		for (int n = 1; n <= BATCH; n += BATCH - 1) {
			double *d = calloc((size_t)runs, sizeof(*d));

			for (int r = 0; r < runs; r++) {
				double t0 = now_ms();

				if (maps_tables_swap(m, t, (size_t)n)) {
					fprintf(stderr, "swap failed\n");
					return 1;
				}
				d[r] = now_ms() - t0;
			}
			qsort(d, (size_t)runs, sizeof(*d), cmp_d);
			printf("rcu_expedited=%d  %2d table%s per swap: %7.2f ms "
			       "(p90 %.2f), %.2f ms per table\n",
			       exp, n, n > 1 ? "s" : " ", d[runs / 2],
			       d[runs * 9 / 10], d[runs / 2] / n);
			free(d);
		}
	}
	if (orig[0])
		set_rcu(orig);
	maps_close(m);
	return 0;
}
