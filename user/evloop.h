/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * evloop.h - xlbd's one event loop (ev_): epoll for descriptors, one
 * timerfd armed for the earliest of a heap of timers, and hooks that run
 * at the end of every turn (where dirty VIP tables are rebuilt once).
 * Single-threaded; every callback must not block.
 */
#ifndef XLB_EVLOOP_H
#define XLB_EVLOOP_H

#include <stdint.h>

struct ev_loop;
struct ev_timer;

typedef void (*ev_io_cb)(void *arg, uint32_t events);
typedef void (*ev_cb)(void *arg);

struct ev_loop *ev_new(void);
void ev_free(struct ev_loop *ev);

/* events: EPOLLIN / EPOLLOUT / ... as for epoll. */
int ev_add_fd(struct ev_loop *ev, int fd, uint32_t events, ev_io_cb cb,
	      void *arg);
int ev_mod_fd(struct ev_loop *ev, int fd, uint32_t events);
int ev_del_fd(struct ev_loop *ev, int fd);

/* Monotonic milliseconds (CLOCK_MONOTONIC). */
uint64_t ev_now_ms(void);

struct ev_timer *ev_timer_new(struct ev_loop *ev, ev_cb cb, void *arg);
/* Fire once at the absolute monotonic time deadline_ms (re-arming moves it). */
void ev_timer_arm(struct ev_timer *t, uint64_t deadline_ms);
void ev_timer_cancel(struct ev_timer *t);
int ev_timer_armed(const struct ev_timer *t);
void ev_timer_free(struct ev_timer *t);

/* Run cb at the end of every loop turn (after all ready events). */
int ev_add_post_hook(struct ev_loop *ev, ev_cb cb, void *arg);

/* Run until ev_stop(); returns 0, or -errno on an epoll failure. */
int ev_run(struct ev_loop *ev);
void ev_stop(struct ev_loop *ev);

#endif
