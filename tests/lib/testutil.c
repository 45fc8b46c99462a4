// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "testutil.h"

void test_require_root_bpf(const char *test_name)
{
	const char *why = NULL;
	int fd;

	if (geteuid() != 0) {
		why = "needs root (CAP_BPF, CAP_NET_ADMIN)";
	} else {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
		if (fd < 0)
			why = "the kernel refused to create a BPF map";
		else
			close(fd);
	}
	if (!why)
		return;
	fprintf(stderr, "\n*** SKIPPED: %s: %s ***\n\n", test_name, why);
	exit(TEST_SKIP_CODE);
}

int test_run_cunit(void)
{
	unsigned fails;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
