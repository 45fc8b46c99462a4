// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * maps.c - the one module that writes the data plane's maps.
 *
 * Open (create or adopt pinned maps, load the program), then small
 * primitives whose ordering docs/design.md explains.  Backend slots and the
 * runtime settings are BPF_F_MMAPABLE arrays written through mmap with
 * ordered stores, so that a reader never sees a slot's new generation with
 * its old flags.  Tables are fresh inner maps made live by one outer-map
 * update each (or one batched update for many).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "maps.h"
#include "xlb.skel.h"

struct maps {
	struct xlb *skel;
	char *bpffs;
	struct maps_sizes sz;
	int ncpus;
	int fd_vip4, fd_vip6, fd_outer, fd_backends, fd_ct4, fd_ct6;
	int fd_rt, fd_gstats, fd_vstats, fd_bstats, fd_neigh;
	int sync_outer, sync_inner; /* private map-in-map: RCU barrier */
	struct xlb_backend *be;	    /* mmapped backends */
	size_t be_len;
	struct xlb_rt_cfg *rt; /* mmapped rt_cfg */
	size_t rt_len;
};

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

static void *mmap_array(int fd, size_t len)
{
	void *p = mmap(NULL, page_round(len), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint64_t ct4_entries(const struct maps_sizes *sz)
{
	return sz->conntrack_size - sz->conntrack_size / 4;
}

int maps_read_pinned_cfg(const char *bpffs, struct xlb_rt_cfg *out)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info), k = 0;
	char path[4096];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/rt_cfg", bpffs);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	ret = bpf_obj_get_info_by_fd(fd, &info, &ilen);
	if (ret) {
		ret = -errno;
		goto out;
	}
	if (info.value_size != sizeof(*out)) {
		ret = -ESTALE; /* another layout */
		goto out;
	}
	ret = bpf_map_lookup_elem(fd, &k, out) ? -errno : 0;
out:
	close(fd);
	return ret;
}

/* Is anything pinned under bpffs? */
static int pinned_any(const char *bpffs)
{
	DIR *d = opendir(bpffs);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			found = 1;
	closedir(d);
	return found;
}

static int check_adoptable(const char *bpffs, const struct maps_sizes *sz,
			   char *err, size_t errlen)
{
	struct xlb_rt_cfg rt;
	int ret = maps_read_pinned_cfg(bpffs, &rt);

	if (ret == -ENOENT) {
		if (!pinned_any(bpffs))
			return 0; /* nothing there: cold start */
		log_seterr(err, errlen,
		       "%s holds pinned objects but no rt_cfg map: not an xlb "
		       "data plane of this version; run `xlbd --teardown "
		       "--bpffs %s`, then start (a cold start)", bpffs, bpffs);
		return -ESTALE;
	}
	if (ret == -ESTALE || (!ret && rt.layout_version != XLB_LAYOUT_VERSION)) {
		log_seterr(err, errlen,
		       "pinned data plane in %s has another map layout "
		       "(version %u, this xlbd: %u); run `xlbd --teardown "
		       "--bpffs %s`, then start (a cold start)", bpffs,
		       ret ? 0 : rt.layout_version, XLB_LAYOUT_VERSION, bpffs);
		return -ESTALE;
	}
	if (ret) {
		log_seterr(err, errlen, "cannot read pinned state in %s: %s", bpffs,
		       strerror(-ret));
		return ret;
	}
	if (rt.conntrack_size != sz->conntrack_size ||
	    rt.max_vips != sz->max_vips || rt.max_backends != sz->max_backends) {
		log_seterr(err, errlen,
		       "pinned data plane in %s was created with conntrack_size "
		       "%llu, max_vips %llu, max_backends %llu; the config asks "
		       "for %llu, %u, %u: maps are sized at load, so run `xlbd "
		       "--teardown --bpffs %s`, then start (a cold start)",
		       bpffs, (unsigned long long)rt.conntrack_size,
		       (unsigned long long)rt.max_vips,
		       (unsigned long long)rt.max_backends,
		       (unsigned long long)sz->conntrack_size, sz->max_vips,
		       sz->max_backends, bpffs);
		return -ESTALE;
	}
	return 1;
}

static int set_sizes(struct xlb *s, const struct maps_sizes *sz)
{
	uint64_t c4 = ct4_entries(sz), c6 = sz->conntrack_size / 4;
	int ret = 0;

	if (c6 < 1)
		c6 = 1;
	/* a VIP map holds services plus one marker per address */
	ret |= bpf_map__set_max_entries(s->maps.vip4_map, sz->max_vips * 2);
	ret |= bpf_map__set_max_entries(s->maps.vip6_map, sz->max_vips * 2);
	ret |= bpf_map__set_max_entries(s->maps.maglev_outer, sz->max_vips);
	ret |= bpf_map__set_max_entries(s->maps.vip_stats, sz->max_vips);
	ret |= bpf_map__set_max_entries(s->maps.backends, sz->max_backends);
	ret |= bpf_map__set_max_entries(s->maps.backend_stats, sz->max_backends);
	ret |= bpf_map__set_max_entries(s->maps.ct4, (__u32)c4);
	ret |= bpf_map__set_max_entries(s->maps.ct6, (__u32)c6);
	return ret ? -EINVAL : 0;
}

static int pin_all(struct xlb *s, const char *bpffs)
{
	struct bpf_map *map;
	char path[4096];

	bpf_object__for_each_map(map, s->obj) {
		const char *name = bpf_map__name(map);

		if (name[0] == '.') /* .rodata/.bss: not state */
			continue;
		snprintf(path, sizeof(path), "%s/%s", bpffs, name);
		if (bpf_map__set_pin_path(map, path))
			return -errno ? -errno : -EINVAL;
	}
	return 0;
}

/* libbpf prints the verifier log through this; keep its last lines. */
static char verifier_tail[2048];
static int libbpf_print(enum libbpf_print_level lvl, const char *fmt,
			va_list ap)
{
	char line[1024];
	size_t n, have;

	if (lvl == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	have = strlen(verifier_tail);
	if (have + n >= sizeof(verifier_tail)) {
		size_t drop = have + n - sizeof(verifier_tail) + 1;

		if (drop > have)
			drop = have;
		memmove(verifier_tail, verifier_tail + drop, have - drop + 1);
	}
	strncat(verifier_tail, line, sizeof(verifier_tail) - strlen(verifier_tail) - 1);
	return 0;
}

int maps_open(struct maps **out, const char *bpffs,
	      const struct maps_sizes *sz, bool *adopted, char *err,
	      size_t errlen)
{
	struct maps *m = calloc(1, sizeof(*m));
	int ret, adopt = 0;
	__u32 k0 = 0;

	*out = NULL;
	if (adopted)
		*adopted = false;
	if (!m)
		return -ENOMEM;
	m->sz = *sz;
	m->sync_outer = m->sync_inner = -1;
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus < 1) {
		ret = -EINVAL;
		log_seterr(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	if (bpffs) {
		m->bpffs = strdup(bpffs);
		if (mkdir(bpffs, 0700) && errno != EEXIST) {
			ret = -errno;
			log_seterr(err, errlen, "cannot create %s: %s", bpffs,
			       strerror(errno));
			goto fail;
		}
		adopt = check_adoptable(bpffs, sz, err, errlen);
		if (adopt < 0) {
			ret = adopt;
			goto fail;
		}
	}
	libbpf_set_print(libbpf_print);
	verifier_tail[0] = 0;
	m->skel = xlb__open();
	if (!m->skel) {
		ret = -errno ? -errno : -EINVAL;
		log_seterr(err, errlen, "cannot open the BPF object: %s",
		       strerror(-ret));
		goto fail;
	}
	ret = set_sizes(m->skel, sz);
	if (!ret && bpffs)
		ret = pin_all(m->skel, bpffs);
	if (ret) {
		log_seterr(err, errlen, "cannot size/pin the maps: %s",
		       strerror(-ret));
		goto fail;
	}
	ret = xlb__load(m->skel);
	if (ret) {
		ret = ret < 0 ? ret : -EINVAL;
		if (ret == -EPERM)
			log_seterr(err, errlen,
			       "loading the BPF program: permission denied "
			       "(needs root or CAP_BPF + CAP_NET_ADMIN)");
		else
			log_seterr(err, errlen,
			       "loading the BPF program failed (%s); last "
			       "lines of the log:\n%s", strerror(-ret),
			       verifier_tail);
		goto fail;
	}
	m->fd_vip4 = bpf_map__fd(m->skel->maps.vip4_map);
	m->fd_vip6 = bpf_map__fd(m->skel->maps.vip6_map);
	m->fd_outer = bpf_map__fd(m->skel->maps.maglev_outer);
	m->fd_backends = bpf_map__fd(m->skel->maps.backends);
	m->fd_ct4 = bpf_map__fd(m->skel->maps.ct4);
	m->fd_ct6 = bpf_map__fd(m->skel->maps.ct6);
	m->fd_rt = bpf_map__fd(m->skel->maps.rt_cfg);
	m->fd_gstats = bpf_map__fd(m->skel->maps.global_stats);
	m->fd_vstats = bpf_map__fd(m->skel->maps.vip_stats);
	m->fd_bstats = bpf_map__fd(m->skel->maps.backend_stats);
	m->fd_neigh = bpf_map__fd(m->skel->maps.neigh_events);

	m->be_len = sizeof(struct xlb_backend) * sz->max_backends;
	m->be = mmap_array(m->fd_backends, m->be_len);
	m->rt_len = sizeof(struct xlb_rt_cfg);
	m->rt = mmap_array(m->fd_rt, m->rt_len);
	if (!m->be || !m->rt) {
		ret = -errno;
		log_seterr(err, errlen, "cannot mmap the data plane's arrays: %s",
		       strerror(errno));
		goto fail;
	}
	/* A private map-in-map: updating it waits for an RCU grace period,
	 * i.e. until no program still runs with what was replaced before. */
	m->sync_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_sync_in", 4, 4,
				       1, NULL);
	if (m->sync_inner >= 0) {
		LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = m->sync_inner);
		m->sync_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS,
					       "xlb_sync", 4, 4, 1, &o);
	}
	if (m->sync_outer < 0) {
		ret = -errno;
		log_seterr(err, errlen, "cannot create the barrier map: %s",
		       strerror(errno));
		goto fail;
	}
	if (!adopt) {
		struct xlb_rt_cfg rt = {
			.layout_version = XLB_LAYOUT_VERSION,
			.nh_epoch = 1,
			.icmp_rate = 1000,
			.max_vips = sz->max_vips,
			.max_backends = sz->max_backends,
			.conntrack_size = sz->conntrack_size,
		};

		if (bpf_map_update_elem(m->fd_rt, &k0, &rt, BPF_ANY)) {
			ret = -errno;
			log_seterr(err, errlen, "cannot initialise rt_cfg: %s",
			       strerror(errno));
			goto fail;
		}
	}
	if (adopted)
		*adopted = adopt > 0;
	*out = m;
	return 0;
fail:
	maps_close(m);
	return ret;
}

void maps_close(struct maps *m)
{
	if (!m)
		return;
	if (m->be)
		munmap(m->be, page_round(m->be_len));
	if (m->rt)
		munmap(m->rt, page_round(m->rt_len));
	if (m->sync_outer >= 0)
		close(m->sync_outer);
	if (m->sync_inner >= 0)
		close(m->sync_inner);
	xlb__destroy(m->skel);
	free(m->bpffs);
	free(m);
}

int maps_prog_fd(const struct maps *m)
{
	return bpf_program__fd(m->skel->progs.xlb_balancer);
}

struct xlb *maps_skel(struct maps *m)
{
	return m->skel;
}

const struct maps_sizes *maps_sizes(const struct maps *m)
{
	return &m->sz;
}

int maps_neigh_events_fd(const struct maps *m)
{
	return m->fd_neigh;
}

/* ---- runtime settings ---- */

static void prefix_mask(uint8_t *mask, int bytes, int plen)
{
	/* host bits = the bits after the prefix */
	for (int i = 0; i < bytes; i++) {
		int bits = plen - i * 8;

		if (bits >= 8)
			mask[i] = 0;
		else if (bits <= 0)
			mask[i] = 0xff;
		else
			mask[i] = (uint8_t)(0xff >> bits);
	}
}

int maps_set_rt(struct maps *m, const struct xlb_addr *src4, int plen4,
		const struct xlb_addr *src6, int plen6, uint32_t icmp_rate,
		uint32_t ifindex)
{
	struct xlb_rt_cfg *rt = m->rt;
	uint8_t mask4[4] = { 0 }, mask6[16] = { 0 };
	__be32 s4 = 0, s6[4] = { 0 };

	if (src4 && src4->family) {
		memcpy(&s4, src4->bytes, 4);
		prefix_mask(mask4, 4, plen4);
	}
	if (src6 && src6->family) {
		memcpy(s6, src6->bytes, 16);
		prefix_mask(mask6, 16, plen6);
	}
	/* Each field is one aligned store: a packet sees the old or the new
	 * source, and only a mask change mixes the two for one packet. */
	__atomic_store_n(&rt->src4_hostmask, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rt->src4, s4, __ATOMIC_RELEASE);
	__atomic_store_n(&rt->src4_hostmask, *(__be32 *)mask4, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++) {
		__atomic_store_n(&rt->src6_hostmask[i], 0, __ATOMIC_RELEASE);
		__atomic_store_n(&rt->src6[i], s6[i], __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 4; i++) {
		__be32 w;

		memcpy(&w, mask6 + 4 * i, 4);
		__atomic_store_n(&rt->src6_hostmask[i], w, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&rt->icmp_rate, icmp_rate, __ATOMIC_RELEASE);
	__atomic_store_n(&rt->ifindex, ifindex, __ATOMIC_RELEASE);
	return 0;
}

void maps_nh_invalidate(struct maps *m)
{
	uint32_t e = __atomic_load_n(&m->rt->nh_epoch, __ATOMIC_ACQUIRE) + 1;

	if (!e) /* 0 never matches a filled cache: skip it */
		e = 1;
	__atomic_store_n(&m->rt->nh_epoch, e, __ATOMIC_RELEASE);
}

/* ---- VIPs ---- */

int maps_vip_put(struct maps *m, const struct xlb_addr *a, uint16_t port,
		 uint8_t proto, uint32_t vip_id, uint32_t flags)
{
	struct xlb_vip_val v = { .vip_id = vip_id, .flags = flags };
	int ret;

	if (a->family == AF_INET) {
		struct xlb_vip4_key k = { .port = htons(port), .proto = proto };

		memcpy(&k.addr, a->bytes, 4);
		ret = bpf_map_update_elem(m->fd_vip4, &k, &v, BPF_ANY);
	} else {
		struct xlb_vip6_key k = { .port = htons(port), .proto = proto };

		memcpy(k.addr, a->bytes, 16);
		ret = bpf_map_update_elem(m->fd_vip6, &k, &v, BPF_ANY);
	}
	return ret ? -errno : 0;
}

int maps_vip_del(struct maps *m, const struct xlb_addr *a, uint16_t port,
		 uint8_t proto)
{
	int ret;

	if (a->family == AF_INET) {
		struct xlb_vip4_key k = { .port = htons(port), .proto = proto };

		memcpy(&k.addr, a->bytes, 4);
		ret = bpf_map_delete_elem(m->fd_vip4, &k);
	} else {
		struct xlb_vip6_key k = { .port = htons(port), .proto = proto };

		memcpy(k.addr, a->bytes, 16);
		ret = bpf_map_delete_elem(m->fd_vip6, &k);
	}
	return ret && errno != ENOENT ? -errno : 0;
}

int maps_vip_foreach(struct maps *m, maps_vip_cb cb, void *arg)
{
	struct xlb_vip4_key k4, *p4 = NULL;
	struct xlb_vip6_key k6, *p6 = NULL;
	struct xlb_vip_val v;
	struct xlb_addr a;

	while (!bpf_map_get_next_key(m->fd_vip4, p4, &k4)) {
		p4 = &k4;
		if (bpf_map_lookup_elem(m->fd_vip4, &k4, &v))
			continue;
		memset(&a, 0, sizeof(a));
		a.family = AF_INET;
		memcpy(a.bytes, &k4.addr, 4);
		cb(arg, &a, ntohs(k4.port), k4.proto, &v);
	}
	while (!bpf_map_get_next_key(m->fd_vip6, p6, &k6)) {
		p6 = &k6;
		if (bpf_map_lookup_elem(m->fd_vip6, &k6, &v))
			continue;
		memset(&a, 0, sizeof(a));
		a.family = AF_INET6;
		memcpy(a.bytes, k6.addr, 16);
		cb(arg, &a, ntohs(k6.port), k6.proto, &v);
	}
	return 0;
}

/* ---- tables ---- */

static int table_create(const struct maps_table *t)
{
	LIBBPF_OPTS(bpf_map_create_opts, o,
		    .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = (size_t)XLB_MAGLEV_ELEMS(t->size) * 8;
	uint32_t *mem;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_maglev", 4, 8,
			    XLB_MAGLEV_ELEMS(t->size), &o);
	if (fd < 0)
		return -errno;
	mem = mmap_array(fd, len);
	if (!mem) {
		int e = -errno;

		close(fd);
		return e;
	}
	mem[0] = t->size;
	memcpy(mem + XLB_MAGLEV_HDR, t->slots, (size_t)t->size * 4);
	munmap(mem, page_round(len));
	return fd;
}

int maps_table_prepare(const struct maps_table *t)
{
	return table_create(t);
}

#define COMMIT_BATCH 64

int maps_tables_commit(struct maps *m, const uint32_t *vip_ids,
		       const int *fds, size_t n)
{
	int ret = 0;

	for (size_t off = 0; off < n && !ret; off += COMMIT_BATCH) {
		__u32 count = (__u32)(n - off < COMMIT_BATCH ? n - off
							     : COMMIT_BATCH);
		__u32 keys[COMMIT_BATCH], vals[COMMIT_BATCH];
		__u32 want = count;

		for (__u32 i = 0; i < count; i++) {
			keys[i] = vip_ids[off + i];
			vals[i] = (__u32)fds[off + i];
		}
		/* one grace period per batch instead of one per table */
		if (bpf_map_update_batch(m->fd_outer, keys, vals, &count,
					 NULL)) {
			/* kernels without batch support on this map type */
			for (__u32 i = count; i < want; i++) {
				if (bpf_map_update_elem(m->fd_outer, &keys[i],
							&vals[i], BPF_ANY)) {
					ret = -errno;
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	return ret;
}

int maps_tables_swap(struct maps *m, const struct maps_table *t, size_t n)
{
	uint32_t *ids = calloc(n ? n : 1, sizeof(*ids));
	int *fds = calloc(n ? n : 1, sizeof(*fds));
	size_t made = 0;
	int ret = 0;

	if (!ids || !fds) {
		ret = -ENOMEM;
		goto out;
	}
	/* Every table first: a failure here switches nothing. */
	for (; made < n; made++) {
		int fd = table_create(&t[made]);

		if (fd < 0) {
			ret = fd;
			for (size_t i = 0; i < made; i++)
				close(fds[i]);
			goto out;
		}
		ids[made] = t[made].vip_id;
		fds[made] = fd;
	}
	ret = maps_tables_commit(m, ids, fds, n);
out:
	free(ids);
	free(fds);
	return ret;
}

int maps_table_del(struct maps *m, uint32_t vip_id)
{
	if (bpf_map_delete_elem(m->fd_outer, &vip_id) && errno != ENOENT)
		return -errno;
	return 0;
}

int maps_table_lookup(struct maps *m, uint32_t vip_id, uint32_t idx,
		      uint32_t *slot, uint32_t *size)
{
	__u32 id, k0 = 0, a = idx + XLB_MAGLEV_HDR, key = a / 2;
	uint32_t pair[2] = { 0, 0 }, msize;
	int fd, ret = 0;

	*slot = XLB_NO_BACKEND;
	if (size)
		*size = 0;
	if (bpf_map_lookup_elem(m->fd_outer, &vip_id, &id))
		return errno == ENOENT ? 0 : -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &k0, pair)) {
		ret = -errno;
		goto out;
	}
	msize = pair[0];
	if (size)
		*size = msize;
	if (idx < msize) {
		if (bpf_map_lookup_elem(fd, &key, pair))
			ret = -errno;
		else
			*slot = pair[a % 2];
	}
out:
	close(fd);
	return ret;
}

int maps_barrier(struct maps *m)
{
	__u32 k = 0, v = (__u32)m->sync_inner;

	return bpf_map_update_elem(m->sync_outer, &k, &v, BPF_ANY) ? -errno : 0;
}

/* ---- backend slots ---- */

void maps_backend_assign(struct maps *m, uint32_t slot, uint32_t vip_id,
			 const struct xlb_addr *a, uint32_t gen,
			 uint32_t flags)
{
	struct xlb_backend *b = &m->be[slot];

	/* Not alive while it changes hands (it already is not: released). */
	__atomic_store_n(&b->flags, flags & ~XLB_BE_F_ALIVE, __ATOMIC_RELEASE);
	memset(b->addr, 0, sizeof(b->addr));
	memcpy(b->addr, a->bytes, a->family == AF_INET6 ? 16 : 4);
	b->vip_id = (uint16_t)vip_id;
	b->nh_ifindex = 0;
	__atomic_store_n(&b->nh_epoch, 0, __ATOMIC_RELEASE);
	/* generation before the flags that make the slot usable */
	__atomic_store_n(&b->gen, gen, __ATOMIC_RELEASE);
	__atomic_store_n(&b->flags,
			 flags | XLB_BE_F_USED |
				 (a->family == AF_INET6 ? XLB_BE_F_V6 : 0),
			 __ATOMIC_RELEASE);
}

void maps_backend_set_flags(struct maps *m, uint32_t slot, uint32_t flags)
{
	struct xlb_backend *b = &m->be[slot];
	uint32_t keep = __atomic_load_n(&b->flags, __ATOMIC_ACQUIRE) &
			(XLB_BE_F_V6 | XLB_BE_F_USED);

	__atomic_store_n(&b->flags, keep | flags, __ATOMIC_RELEASE);
}

void maps_backend_read(struct maps *m, uint32_t slot, struct xlb_backend *out)
{
	memcpy(out, &m->be[slot], sizeof(*out));
}

void maps_backend_release(struct maps *m, uint32_t slot)
{
	/* Address, generation and family stay: explain can still name the
	 * backend a stale record points to, until the slot is reused. */
	uint32_t f = __atomic_load_n(&m->be[slot].flags, __ATOMIC_ACQUIRE);

	__atomic_store_n(&m->be[slot].flags, f & XLB_BE_F_V6, __ATOMIC_RELEASE);
}

/* ---- statistics ---- */

static int percpu_sum(struct maps *m, int fd, uint32_t key, uint64_t *out,
		      size_t nwords)
{
	size_t stride = (nwords * 8 + 7) / 8 * 8;
	uint64_t *buf = calloc((size_t)m->ncpus, stride);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, buf)) {
		ret = -errno;
		goto out;
	}
	memset(out, 0, nwords * 8);
	for (int c = 0; c < m->ncpus; c++)
		for (size_t w = 0; w < nwords; w++)
			out[w] += buf[c * (stride / 8) + w];
out:
	free(buf);
	return ret;
}

static int percpu_zero(struct maps *m, int fd, uint32_t key, size_t size)
{
	void *buf = calloc((size_t)m->ncpus, (size + 7) / 8 * 8);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = bpf_map_update_elem(fd, &key, buf, BPF_ANY) ? -errno : 0;
	free(buf);
	return ret;
}

int maps_global_stats(struct maps *m, uint64_t out[XLB_G__MAX])
{
	return percpu_sum(m, m->fd_gstats, 0, out, XLB_G__MAX);
}

int maps_vip_stats(struct maps *m, uint32_t vip_id, struct xlb_vip_stats *out)
{
	return percpu_sum(m, m->fd_vstats, vip_id, (uint64_t *)out,
			  sizeof(*out) / 8);
}

int maps_backend_stats(struct maps *m, uint32_t slot, struct xlb_be_stats *out)
{
	return percpu_sum(m, m->fd_bstats, slot, (uint64_t *)out,
			  sizeof(*out) / 8);
}

int maps_vip_stats_reset(struct maps *m, uint32_t vip_id)
{
	return percpu_zero(m, m->fd_vstats, vip_id, sizeof(struct xlb_vip_stats));
}

int maps_backend_stats_reset(struct maps *m, uint32_t slot)
{
	return percpu_zero(m, m->fd_bstats, slot, sizeof(struct xlb_be_stats));
}

/* ---- connection table ---- */

int maps_ct_lookup4(struct maps *m, const struct xlb_ct4_key *k,
		    struct xlb_ct_val *v)
{
	return bpf_map_lookup_elem(m->fd_ct4, k, v) ? -errno : 0;
}

int maps_ct_lookup6(struct maps *m, const struct xlb_ct6_key *k,
		    struct xlb_ct_val *v)
{
	return bpf_map_lookup_elem(m->fd_ct6, k, v) ? -errno : 0;
}

int maps_unpin_all(const char *bpffs)
{
	DIR *d = opendir(bpffs);
	struct dirent *e;
	char path[4096];
	int ret = 0;

	if (!d)
		return errno == ENOENT ? -ENOENT : -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", bpffs, e->d_name);
		if (unlink(path) && !ret)
			ret = -errno;
	}
	closedir(d);
	if (rmdir(bpffs) && !ret)
		ret = -errno;
	return ret;
}
