/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* csum.h - Internet checksum helpers for the data plane. */
#ifndef XLB_KERN_CSUM_H
#define XLB_KERN_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header (check field must be 0). */
static __always_inline __u16 ipv4_csum(const void *hdr)
{
	const __u16 *p = hdr;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += p[i];
	return csum_fold(sum);
}

/* RFC 1624 incremental update of a 16-bit field. */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif
