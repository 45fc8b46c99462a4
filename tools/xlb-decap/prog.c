// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * prog.c - find xlb-decap's program on an interface (bpf_xdp_query and the
 * program's name) and its maps (the program's map ids, by name), and read
 * them.  Nothing is pinned: the attachment holds the program, the program
 * holds its maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include "decap_tool.h"

const char *const dt_counter_names[DECAP_C__MAX] = {
#define X(idx, name, help) [DECAP_C_##idx] = name,
	DECAP_COUNTERS(X)
#undef X
};

const char *const dt_counter_help[DECAP_C__MAX] = {
#define X(idx, name, help) [DECAP_C_##idx] = help,
	DECAP_COUNTERS(X)
#undef X
};

const char *dt_mode_name(uint32_t mode)
{
	switch (mode) {
	case XDP_FLAGS_DRV_MODE:
		return "native";
	case XDP_FLAGS_SKB_MODE:
		return "generic";
	case XDP_FLAGS_HW_MODE:
		return "offload";
	}
	return "none";
}

void dt_prog_close(struct dt_prog *p)
{
	int *fds[] = { &p->prog_fd, &p->vip4_fd, &p->vip6_fd, &p->stats_fd,
		       &p->cfg_fd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Open the program's maps by id and keep those with our names. */
static int find_maps(struct dt_prog *p)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), ids[16], i, n;
	int err;

	err = bpf_obj_get_info_by_fd(p->prog_fd, &info, &len);
	if (err)
		return -errno;
	n = info.nr_map_ids < 16 ? info.nr_map_ids : 16;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(p->prog_fd, &info, &len))
		return -errno;
	for (i = 0; i < n; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]), *slot = NULL;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			if (!strcmp(mi.name, DECAP_MAP_VIP4))
				slot = &p->vip4_fd;
			else if (!strcmp(mi.name, DECAP_MAP_VIP6))
				slot = &p->vip6_fd;
			else if (!strcmp(mi.name, DECAP_MAP_STATS))
				slot = &p->stats_fd;
			else if (!strcmp(mi.name, DECAP_MAP_CFG))
				slot = &p->cfg_fd;
		}
		if (slot && *slot < 0)
			*slot = fd;
		else
			close(fd);
	}
	return 0;
}

/* Is program @id ours?  Returns its fd (>= 0) when it is, -1 when it is
 * not (name copied to @name), or a negative errno below -1. */
static int open_if_ours(uint32_t id, char name[16])
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return errno == EPERM ? -EPERM : -ENOENT;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -EIO;
	}
	snprintf(name, 16, "%s", info.name);
	if (info.type == BPF_PROG_TYPE_XDP &&
	    !strcmp(info.name, DECAP_PROG_NAME))
		return fd;
	close(fd);
	return -1;
}

int dt_prog_find(int ifindex, struct dt_prog *p)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct {
		uint32_t id, mode;
	} att[3];
	int i, fd, err;

	memset(p, 0, sizeof(*p));
	p->ifindex = ifindex;
	p->prog_fd = p->vip4_fd = p->vip6_fd = p->stats_fd = p->cfg_fd = -1;
	if (!if_indextoname(ifindex, p->ifname))
		return -ENODEV;
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	att[0].id = q.drv_prog_id;
	att[0].mode = XDP_FLAGS_DRV_MODE;
	att[1].id = q.skb_prog_id;
	att[1].mode = XDP_FLAGS_SKB_MODE;
	att[2].id = q.hw_prog_id;
	att[2].mode = XDP_FLAGS_HW_MODE;
	for (i = 0; i < 3; i++) {
		char name[16] = "";

		if (!att[i].id)
			continue;
		fd = open_if_ours(att[i].id, name);
		if (fd < -1)
			return fd;
		if (fd >= 0 && !p->prog_id) {
			p->prog_id = att[i].id;
			p->mode = att[i].mode;
			p->prog_fd = fd;
		} else {
			if (fd >= 0)
				close(fd);
			p->other_id = att[i].id;
			snprintf(p->other_name, sizeof(p->other_name), "%s",
				 name);
		}
	}
	if (p->prog_fd >= 0) {
		err = find_maps(p);
		if (err)
			return err;
	}
	return 0;
}

int dt_prog_counters(const struct dt_prog *p, uint64_t *c)
{
	int ncpu = libbpf_num_possible_cpus(), i, k;
	struct decap_stats *v;
	uint32_t zero = 0;

	memset(c, 0, sizeof(*c) * DECAP_C__MAX);
	if (p->stats_fd < 0 || ncpu <= 0)
		return -ENOENT;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(p->stats_fd, &zero, v)) {
		free(v);
		return -errno;
	}
	for (i = 0; i < ncpu; i++)
		for (k = 0; k < DECAP_C__MAX; k++)
			c[k] += v[i].c[k];
	free(v);
	return 0;
}

static int read_keys(int fd, int family, struct dt_addrs *out)
{
	uint8_t key[16], next[16];
	void *prev = NULL;
	size_t len = family == AF_INET ? 4 : 16;
	struct dt_addr a;

	if (fd < 0)
		return 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memset(&a, 0, sizeof(a));
		a.family = family;
		memcpy(a.bytes, next, len);
		if (dt_addrs_add(out, &a))
			return -ENOMEM;
		memcpy(key, next, len);
		prev = key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int dt_prog_vips(const struct dt_prog *p, struct dt_addrs *out)
{
	int err = read_keys(p->vip4_fd, AF_INET, out);

	return err ? err : read_keys(p->vip6_fd, AF_INET6, out);
}

int dt_prog_cfg(const struct dt_prog *p, struct decap_cfg *cfg)
{
	uint32_t zero = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (p->cfg_fd < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(p->cfg_fd, &zero, cfg) ? -errno : 0;
}
