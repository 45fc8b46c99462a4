// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * bench_replay.bpf.c - the harness of tools/bench/xdp_bench.
 *
 * BPF_PROG_TEST_RUN with repeat > 1 runs a program again and again on the
 * same buffer without resetting it: after the first encapsulation the
 * program under test would see its own output.  bench_replay runs first in
 * every repetition and puts back an exact input frame: the frame start
 * where it was when the test run began, the length and every byte of a
 * slot, then tail-calls the program under test (slot 0 of `target`).
 *
 * Slots slot_base + 0 .. nslots - 1 are taken in turn (`cursor` wraps at
 * `nslots`), so a repetition may replay one frame again and again (a
 * conntrack hit) or a new frame each time (new flows).  xdp_bench writes
 * the slots through mmap and resets `armed` before each test run.
 * Attached to an interface, the wrapper may also see real frames: it acts
 * only on frames whose ingress_ifindex is that of the test runs.
 *
 * bench_pass (calibration: the harness alone) and bench_macswap (the
 * floor: the cheapest XDP_TX program) are tail-call targets too.  All
 * programs are xdp.frags: a tail call needs caller and callee to agree,
 * and xlb's program is xdp.frags.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define BENCH_SLOT_BYTES 128
#define BENCH_MAX_SHIFT 512 /* how far a target may move the frame start */

/* Must match struct bench_slot in tools/bench/xdp_bench.c. */
struct bench_slot {
	__u32 len;
	__u32 pad;
	__u8 data[BENCH_SLOT_BYTES];
};

/* max_entries is set by xdp_bench before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_slot);
	__uint(map_flags, BPF_F_MMAPABLE);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

__u32 ifindex;     /* test runs' ingress_ifindex; other frames pass */
__u32 slot_base;   /* first slot of the current case */
__u32 nslots;      /* slots in use */
__u32 cursor;      /* slot of the next repetition */
__u32 armed;       /* 0: this is the first repetition of a test run */
__u32 faults;      /* repetitions that could not restore the frame */
__u32 fault_why;   /* FAULT_* of the last one */
__u64 base;        /* frame start at the first repetition, as a number */
volatile __u64 scratch;

enum {
	FAULT_SLOT = 1,	 /* no such slot, or a bad length in it */
	FAULT_SHIFT,	 /* the frame start moved too far */
	FAULT_HEAD,	 /* bpf_xdp_adjust_head failed */
	FAULT_TAIL,	 /* bpf_xdp_adjust_tail failed */
	FAULT_STORE,	 /* bpf_xdp_store_bytes failed */
	FAULT_TAILCALL,	 /* no target, or the tail call failed */
};

static __always_inline int fault(__u32 why)
{
	faults++;
	fault_why = why;
	return XDP_ABORTED;
}

SEC("xdp.frags")
int bench_replay(struct xdp_md *ctx)
{
	struct bench_slot *s;
	__u32 idx = cursor, key = slot_base + cursor, len;
	__s64 delta;
	int cur;

	/* a real frame, not a test run: leave it alone */
	if (ctx->ingress_ifindex != ifindex)
		return XDP_PASS;
	s = bpf_map_lookup_elem(&slots, &key);
	if (!s)
		return fault(FAULT_SLOT);
	idx++;
	cursor = idx >= nslots ? 0 : idx;
	len = s->len;
	if (len < 14 || len > BENCH_SLOT_BYTES)
		return fault(FAULT_SLOT);

	/*
	 * Where the frame starts now.  Storing the packet pointer and
	 * reading it back turns it into a plain number (privileged
	 * programs may do so), comparable across repetitions of one run.
	 */
	scratch = (__u64)(long)ctx->data;
	if (!armed) {
		base = scratch;
		armed = 1;
	}
	delta = (__s64)(base - scratch);
	if (delta) {
		if (delta < -BENCH_MAX_SHIFT || delta > BENCH_MAX_SHIFT)
			return fault(FAULT_SHIFT);
		if (bpf_xdp_adjust_head(ctx, (int)delta))
			return fault(FAULT_HEAD);
	}
	cur = bpf_xdp_get_buff_len(ctx);
	if (cur != (int)len && bpf_xdp_adjust_tail(ctx, (int)len - cur))
		return fault(FAULT_TAIL);
	if (bpf_xdp_store_bytes(ctx, 0, s->data, len))
		return fault(FAULT_STORE);

	bpf_tail_call(ctx, &target, 0);
	return fault(FAULT_TAILCALL);
}

/* Calibration: the harness alone. */
SEC("xdp.frags")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The floor: swap the MAC addresses and send the frame back. */
SEC("xdp.frags")
int bench_macswap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *m = data;
	__u16 a, b, c;

	if (data + 12 > data_end)
		return XDP_DROP;
	a = m[0];
	b = m[1];
	c = m[2];
	m[0] = m[3];
	m[1] = m[4];
	m[2] = m[5];
	m[3] = a;
	m[4] = b;
	m[5] = c;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
