/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * attach.h - attaching the balancer to the LB interface (att_).
 * The attachment is an XDP bpf_link pinned under --bpffs: it outlives
 * xlbd, and a new xlbd swaps its program in place with bpf_link_update()
 * (no detach, no link flap).  Only --teardown detaches.
 */
#ifndef XLB_ATTACH_H
#define XLB_ATTACH_H

#include <stddef.h>
#include "config.h"

/* Attach prog_fd to ifindex, or replace the program of the pinned link.
 * *mode_out: "native" or "generic"; *replaced: 1 an existing link was
 * updated, 2 it already runs the same code (left alone).  0 or -errno
 * with the reason in err. */
int att_attach(const char *bpffs, int prog_fd, int ifindex,
	       const char *ifname, enum xlb_xdp_mode mode,
	       const char **mode_out, int *replaced, char *err, size_t errlen);
/* Detach the pinned link (if any). 0, -ENOENT if none, or -errno. */
int att_detach(const char *bpffs);
/* ifindex of the pinned link, or -errno. */
int att_link_ifindex(const char *bpffs);
/* "native", "generic" or "none" for what is attached to ifindex now. */
const char *att_mode_name(int ifindex);
/* id of the program attached to ifindex (0: none). */
unsigned att_prog_id(int ifindex);

#endif
