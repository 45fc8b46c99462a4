/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * health.h - backend health checks (hc_): tcp, http, udp, none.
 *
 * Every check is a chain of non-blocking callbacks on xlbd's event loop.
 * The module keeps one record per (VIP, backend) with the measured health;
 * the operator's state (enabled/draining/disabled) lives in the config and
 * is not this module's business.  Every transition is logged once
 * ("198.51.100.12:8080 down: connect timeout after 1000 ms (3/3)") and
 * reported through the notify callback; the daemon marks the VIP dirty and
 * rebuilds its table once at the end of the loop turn.
 */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

#include <stdint.h>
#include "config.h"
#include "evloop.h"

enum hc_health { HC_UNCHECKED, HC_UP, HC_DOWN };

struct hc_status {
	enum hc_health health;
	unsigned checks_done;	 /* results so far (0: no first result yet) */
	unsigned rise_cnt;	 /* consecutive successes while not up */
	unsigned fall_cnt;	 /* consecutive failures while up */
	int last_ok;		 /* last result: 1 success, 0 failure */
	char last_result[128];	 /* "ok", "connect refused", "status 503"... */
	uint32_t last_latency_us; /* of the last completed check */
	uint64_t last_check_ms;	 /* CLOCK_REALTIME ms of the last result */
	uint64_t last_change_ms; /* CLOCK_REALTIME ms of the last transition */
};

typedef void (*hc_notify_cb)(void *ctx, const struct xlb_vip_conf *vip,
			     const struct xlb_backend_conf *be,
			     enum hc_health health);

int hc_init(struct ev_loop *ev, hc_notify_cb cb, void *ctx);
void hc_shutdown(void);

/* Before the first hc_sync() after a hitless restart: the health found in
 * the pinned state.  An adopted DOWN backend needs `rise` successes; an
 * adopted UP one stays up until `fall` failures. */
void hc_adopt(const struct xlb_vip_conf *vip, const struct xlb_backend_conf *be,
	      enum hc_health h);

/* Make the running checks match cfg: start checks for new (VIP, backend)
 * pairs (first check at once, later ones jittered over the interval), stop
 * removed ones, and keep the state of pairs whose check settings are
 * unchanged.  A pair with type none is UP at once.  The pointers in cfg
 * must stay valid until the next hc_sync() (the daemon keeps the running
 * model alive).  0 or -errno. */
int hc_sync(const struct xlb_config *cfg);

/* Status of a pair in the model last given to hc_sync(); NULL if unknown. */
const struct hc_status *hc_get(const struct xlb_vip_conf *vip,
			       const struct xlb_backend_conf *be);

const char *hc_health_name(enum hc_health h);

#endif
