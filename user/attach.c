// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* attach.c - XDP attachment through a pinned bpf_link. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "log.h"

static void link_path(char *buf, size_t len, const char *bpffs)
{
	snprintf(buf, len, "%s/link", bpffs);
}

unsigned att_prog_id(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	return q.prog_id;
}

const char *att_mode_name(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return "none";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	case XDP_ATTACHED_MULTI:
		return "multi";
	default:
		return "none";
	}
}

int att_link_ifindex(const char *bpffs)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[4096];
	int fd, ret;

	link_path(path, sizeof(path), bpffs);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	ret = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno
						      : (int)info.xdp.ifindex;
	close(fd);
	return ret;
}

/* Does the program with id have the same instructions (tag) as prog_fd?
 * Maps are the same pinned ones either way. */
static int same_code(__u32 id, int prog_fd)
{
	struct bpf_prog_info a = {}, b = {};
	__u32 la = sizeof(a), lb = sizeof(b);
	int fd = bpf_prog_get_fd_by_id(id), same = 0;

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &a, &la) &&
	    !bpf_obj_get_info_by_fd(prog_fd, &b, &lb))
		same = !memcmp(a.tag, b.tag, sizeof(a.tag)) &&
		       a.xlated_prog_len == b.xlated_prog_len;
	close(fd);
	return same;
}

int att_attach(const char *bpffs, int prog_fd, int ifindex,
	       const char *ifname, enum xlb_xdp_mode mode,
	       const char **mode_out, int *replaced, char *err, size_t errlen)
{
	char path[4096];
	unsigned other;
	int fd, ret = -EINVAL;

	*replaced = 0;
	link_path(path, sizeof(path), bpffs);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    (int)info.xdp.ifindex != ifindex) {
			log_seterr(err, errlen,
			       "the pinned data plane in %s is attached to "
			       "ifindex %u, not %s: the interface cannot change "
			       "while xlb runs; run `xlbd --teardown --bpffs %s` "
			       "first", bpffs, info.xdp.ifindex, ifname, bpffs);
			close(fd);
			return -EBUSY;
		}
		/* Same code already running: keep it (nothing to swap). */
		if (same_code(info.prog_id, prog_fd)) {
			close(fd);
			*replaced = 2;
			*mode_out = att_mode_name(ifindex);
			return 0;
		}
		/* Same link, new program: swapped in place, no detach. */
		if (bpf_link_update(fd, prog_fd, NULL)) {
			ret = -errno;
			log_seterr(err, errlen, "replacing the program on %s: %s",
			       ifname, strerror(errno));
			close(fd);
			return ret;
		}
		close(fd);
		*replaced = 1;
		*mode_out = att_mode_name(ifindex);
		return 0;
	}
	other = att_prog_id(ifindex);
	if (other) {
		struct bpf_prog_info pi = {};
		__u32 len = sizeof(pi);
		int pfd = bpf_prog_get_fd_by_id(other);

		if (pfd >= 0) {
			bpf_obj_get_info_by_fd(pfd, &pi, &len);
			close(pfd);
		}
		log_seterr(err, errlen,
		       "another XDP program (id %u, \"%s\") is attached to %s; "
		       "xlbd will not replace it: detach it first (if it is "
		       "xlb's, pinned under another --bpffs, use that one)",
		       other, pi.name, ifname);
		return -EBUSY;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		LIBBPF_OPTS(bpf_link_create_opts, o);
		int native = mode == XLB_XDP_NATIVE ||
			     (mode == XLB_XDP_AUTO && attempt == 0);

		if (attempt == 1 && mode != XLB_XDP_AUTO)
			break;
		o.flags = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &o);
		if (fd >= 0)
			break;
		ret = -errno;
		log_seterr(err, errlen, "attaching XDP (%s mode) to %s: %s",
		       native ? "native" : "generic", ifname, strerror(errno));
	}
	if (fd < 0)
		return ret;
	if (bpf_obj_pin(fd, path)) {
		ret = -errno;
		log_seterr(err, errlen, "pinning the XDP link at %s: %s", path,
		       strerror(errno));
		close(fd); /* the attachment goes with the last reference */
		return ret;
	}
	close(fd);
	*mode_out = att_mode_name(ifindex);
	return 0;
}

int att_detach(const char *bpffs)
{
	char path[4096];
	int fd, ret = 0;

	link_path(path, sizeof(path), bpffs);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (bpf_link_detach(fd))
		ret = -errno;
	close(fd);
	unlink(path);
	return ret;
}
