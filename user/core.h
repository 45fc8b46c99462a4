/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * core.h - what the control socket (and SIGHUP) may ask of the running
 * daemon.  Implemented in xlbd's core (reconcile.c); the control module
 * never touches maps or the health module directly.
 *
 * Every query returns a new json_t the caller must json_decref().  Shapes
 * (keys always present; counters are JSON integers):
 *
 * core_status():
 *   {"version": "0.1.0", "interface": "eth0", "ifindex": 2,
 *    "xdp_mode": "native"|"generic", "prog_id": 42, "pid": 123,
 *    "uptime_s": 10, "config_file": "/etc/xlb/xlb.json",
 *    "bpffs": "/sys/fs/bpf/xlb", "vips": 3, "backends": 201,
 *    "degraded_vips": 0, "conntrack_size": 1048576, "max_vips": 512,
 *    "max_backends": 4096}
 * backend row (used below):
 *   {"address": "198.51.100.11", "weight": 100,
 *    "state": "enabled"|"draining"|"disabled",
 *    "health": "up"|"down"|"unchecked", "takes_new_flows": true,
 *    "slots": 21845}                       (slots in the live table)
 * core_vip_list():
 *   [{"vip": "203.0.113.10:80/tcp", "table_size": 65537,
 *     "hash": "5tuple", "backends": 3, "up": 3, "degraded": false}]
 * core_vip_show(v):
 *   {"vip": ..., "table_size": ..., "hash": ..., "degraded": false,
 *    "healthcheck": {cfg_dump form}, "backends": [backend row...]}
 * core_stats(v or NULL = all):
 *   {"timestamp_ms": 1700000000000,          (CLOCK_REALTIME)
 *    "global": {"passed": 0, "tx": 0, ... every XLB_GLOBAL_COUNTERS name},
 *    "vips": [{"vip": ..., "packets": 0, "bytes": 0, "new_flows_syn": 0,
 *              "new_flows_nonsyn": 0, "dropped": 0,
 *              "backends": [{"address": ..., "packets": 0, "bytes": 0}]}]}
 * core_health(v or NULL = all):
 *   [{"vip": ..., "degraded": false,
 *     "backends": [{"address": ..., "state": ..., "health": ...,
 *                   "check": "tcp", "port": 80, "last_result": "ok",
 *                   "latency_ms": 0.4, "last_check_ms": ...,
 *                   "last_change_ms": ..., "rise": 0, "fall": 0}]}]
 * core_explain(v, client, port):
 *   {"vip": ..., "client": "192.0.2.77:40000", "hash": 123456,
 *    "slot": 4242, "table_backend": "198.51.100.12",
 *    "recorded": true|false, "recorded_backend": "198.51.100.11"|null,
 *    "recorded_usable": true|false|null,
 *    "backend": "198.51.100.11",  (where the flow's next packet goes; null
 *                                   when the VIP has no backend)
 *    "reason": "connection table" | "maglev table",
 *    "state": ..., "health": ..., "weight": ...,
 *    "takes_new_flows": true}
 */
#ifndef XLB_CORE_H
#define XLB_CORE_H

#include <jansson.h>
#include "config.h"

/* The running model (never NULL once xlbd is up). */
const struct xlb_config *core_config(void);

/* Apply a complete validated model: immutable keys are checked against the
 * running model (an `-i` interface overrides next->interface), then the
 * data plane is changed through reconciliation.  On success the core takes
 * ownership of next and returns 0 only once the data plane has the change;
 * on failure returns -errno with the reason in err, next is still the
 * caller's, and nothing changed.  Warnings go to the log. */
int core_apply(struct xlb_config *next, char *err, size_t errlen);

/* Write the running model to xlbd's config file (atomic rename). */
int core_save_config(char *err, size_t errlen);

json_t *core_status(void);
json_t *core_vip_list(void);
json_t *core_vip_show(const struct xlb_vip_conf *v);
json_t *core_stats(const struct xlb_vip_conf *v);
json_t *core_health(const struct xlb_vip_conf *v);
/* client_port < 0: not given (allowed for src_ip VIPs only). */
json_t *core_explain(const struct xlb_vip_conf *v,
		     const struct xlb_addr *client, int client_port,
		     char *err, size_t errlen);

#endif
