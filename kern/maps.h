/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * maps.h - every map of the balancer, who writes it and when.
 * Sizes here are defaults: xlbd sets max_entries from the config before
 * loading (max_vips, max_backends, conntrack_size) and pins every map
 * under --bpffs.  Layout: common/xlb_common.h; design: docs/design.md.
 */
#ifndef XLB_KERN_MAPS_H
#define XLB_KERN_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb_common.h"

/* VIPs by (address, port, proto), plus address markers. xlbd writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct xlb_vip4_key);
	__type(value, struct xlb_vip_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vip4_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct xlb_vip6_key);
	__type(value, struct xlb_vip_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vip6_map SEC(".maps");

/* Template of a VIP's Maglev table: a __u32 array A packed two to an
 * element (array maps space elements 8 bytes apart, so __u32 elements
 * would waste half the memory): A[0] is the size M, A[1..M] the backend
 * slots.  BPF_F_INNER_MAP lets tables of any size share it. */
struct maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32769);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
};

/* vip_id -> that VIP's live table.  xlbd swaps a whole table with one
 * update; the update returns after an RCU grace period, which is also
 * xlbd's barrier before a freed backend slot is reused. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 512);
	__type(key, __u32);
	__array(values, struct maglev_inner);
} maglev_outer SEC(".maps");

/* Backend slots: xlbd writes address/gen/flags (through mmap, ordered
 * stores), the data plane writes the next-hop cache. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct xlb_backend);
	__uint(map_flags, BPF_F_MMAPABLE);
} backends SEC(".maps");

/* Connection tables, one LRU shared by all CPUs per family: a flow keeps
 * its backend whatever CPU RSS hands it to.  The data plane writes; xlbd
 * only reads (explain) and sizes them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1048576);
	__type(key, struct xlb_ct4_key);
	__type(value, struct xlb_ct_val);
} ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xlb_ct6_key);
	__type(value, struct xlb_ct_val);
} ct6 SEC(".maps");

/* Runtime settings (encap source, next-hop epoch, ICMP rate).  xlbd. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_rt_cfg);
	__uint(map_flags, BPF_F_MMAPABLE);
} rt_cfg SEC(".maps");

/* Counters, per CPU; xlbd sums them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_global_stats);
} global_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct xlb_vip_stats);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct xlb_be_stats);
} backend_stats SEC(".maps");

/* ICMP token bucket, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp_bucket);
} icmp_bucket SEC(".maps");

/* Neighbour misses, to xlbd. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} neigh_events SEC(".maps");

#endif
