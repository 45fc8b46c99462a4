/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* testutil.h - shared helpers for the C tests. */
#ifndef XLB_TESTUTIL_H
#define XLB_TESTUTIL_H

#include <CUnit/Basic.h>

/* Exit code ctest reads as "skipped" (SKIP_RETURN_CODE). */
#define TEST_SKIP_CODE 77

/* Print "SKIPPED: <reason>" loudly and exit 77 unless we are root with BPF.
 * Under CI=true a skip is not allowed on these machines: exit 1 instead. */
void test_require_root_bpf(const char *test_name);

/* Run the registered CUnit suites with the basic runner; returns the exit
 * code (0 when every assertion passed). */
int test_run_cunit(void);

#endif
