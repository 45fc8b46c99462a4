// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * evloop.c - epoll + one timerfd + a binary heap of timers.
 *
 * Descriptors are registered with a small handler record; timers live in
 * a min-heap keyed by deadline, and the timerfd is armed for the top.
 * 10,000 health-check timers cost O(log n) per re-arm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "evloop.h"

struct ev_handler {
	int fd;
	ev_io_cb cb;
	void *arg;
	struct ev_handler *next; /* in the fd table's bucket chain */
};

struct ev_timer {
	struct ev_loop *ev;
	ev_cb cb;
	void *arg;
	uint64_t deadline;
	size_t heap_idx; /* SIZE_MAX when not armed */
};

struct ev_hook {
	ev_cb cb;
	void *arg;
};

#define EV_FD_BUCKETS 1024

/* The deadline is kept beside the pointer so that sifting compares within
 * the array instead of chasing one timer per level (10,000 timers). */
struct ev_heap_ent {
	uint64_t deadline;
	struct ev_timer *t;
};

struct ev_loop {
	int epfd;
	int tfd;
	int stop;
	int in_timers;	    /* running expired timers: re-arm the fd once after */
	uint64_t tfd_armed; /* deadline the timerfd is set for, 0 = none */
	struct ev_handler *fds[EV_FD_BUCKETS];
	struct ev_heap_ent *heap;
	size_t heap_len, heap_cap;
	struct ev_hook *hooks;
	size_t n_hooks;
	struct ev_handler *dead; /* removed this turn, freed at its end */
};

uint64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct ev_handler **ev_find(struct ev_loop *ev, int fd)
{
	struct ev_handler **p = &ev->fds[(unsigned)fd % EV_FD_BUCKETS];

	while (*p && (*p)->fd != fd)
		p = &(*p)->next;
	return p;
}

struct ev_loop *ev_new(void)
{
	struct ev_loop *ev = calloc(1, sizeof(*ev));
	struct epoll_event e = { .events = EPOLLIN };

	if (!ev)
		return NULL;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ev->epfd < 0 || ev->tfd < 0)
		goto fail;
	e.data.ptr = NULL; /* NULL marks the timerfd */
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->tfd, &e) < 0)
		goto fail;
	return ev;
fail:
	ev_free(ev);
	return NULL;
}

void ev_free(struct ev_loop *ev)
{
	if (!ev)
		return;
	for (int i = 0; i < EV_FD_BUCKETS; i++) {
		while (ev->fds[i]) {
			struct ev_handler *h = ev->fds[i];

			ev->fds[i] = h->next;
			free(h);
		}
	}
	while (ev->dead) {
		struct ev_handler *d = ev->dead;

		ev->dead = d->next;
		free(d);
	}
	if (ev->epfd >= 0)
		close(ev->epfd);
	if (ev->tfd >= 0)
		close(ev->tfd);
	free(ev->heap);
	free(ev->hooks);
	free(ev);
}

int ev_add_fd(struct ev_loop *ev, int fd, uint32_t events, ev_io_cb cb,
	      void *arg)
{
	struct ev_handler *h = calloc(1, sizeof(*h));
	struct epoll_event e = { .events = events };

	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->cb = cb;
	h->arg = arg;
	e.data.ptr = h;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		int err = -errno;

		free(h);
		return err;
	}
	struct ev_handler **p = &ev->fds[(unsigned)fd % EV_FD_BUCKETS];
	h->next = *p;
	*p = h;
	return 0;
}

int ev_mod_fd(struct ev_loop *ev, int fd, uint32_t events)
{
	struct ev_handler *h = *ev_find(ev, fd);
	struct epoll_event e = { .events = events };

	if (!h)
		return -ENOENT;
	e.data.ptr = h;
	return epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
}

int ev_del_fd(struct ev_loop *ev, int fd)
{
	struct ev_handler **p = ev_find(ev, fd), *h = *p;

	if (!h)
		return -ENOENT;
	epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	*p = h->next;
	/* A handler removed during a turn may still be in this turn's event
	 * list: neutralise it instead of freeing it under the loop's feet. */
	h->cb = NULL;
	h->fd = -1;
	h->next = ev->dead;
	ev->dead = h;
	return 0;
}

/* ---- timer heap ---- */

static void heap_swap(struct ev_loop *ev, size_t a, size_t b)
{
	struct ev_heap_ent x = ev->heap[a];

	ev->heap[a] = ev->heap[b];
	ev->heap[b] = x;
	ev->heap[a].t->heap_idx = a;
	ev->heap[b].t->heap_idx = b;
}

static void heap_up(struct ev_loop *ev, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (ev->heap[p].deadline <= ev->heap[i].deadline)
			break;
		heap_swap(ev, p, i);
		i = p;
	}
}

static void heap_down(struct ev_loop *ev, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < ev->heap_len &&
		    ev->heap[l].deadline < ev->heap[m].deadline)
			m = l;
		if (r < ev->heap_len &&
		    ev->heap[r].deadline < ev->heap[m].deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(ev, i, m);
		i = m;
	}
}

static void heap_remove(struct ev_loop *ev, struct ev_timer *t)
{
	size_t i = t->heap_idx;

	ev->heap_len--;
	if (i != ev->heap_len) {
		ev->heap[i] = ev->heap[ev->heap_len];
		ev->heap[i].t->heap_idx = i;
		heap_down(ev, i);
		heap_up(ev, i);
	}
	t->heap_idx = SIZE_MAX;
}

static void ev_rearm_tfd(struct ev_loop *ev)
{
	struct itimerspec its = { 0 };
	uint64_t d = ev->heap_len ? ev->heap[0].deadline : 0;

	if (ev->in_timers || d == ev->tfd_armed)
		return;
	ev->tfd_armed = d;
	if (d) {
		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(ev->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

struct ev_timer *ev_timer_new(struct ev_loop *ev, ev_cb cb, void *arg)
{
	struct ev_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ev = ev;
	t->cb = cb;
	t->arg = arg;
	t->heap_idx = SIZE_MAX;
	return t;
}

void ev_timer_arm(struct ev_timer *t, uint64_t deadline_ms)
{
	struct ev_loop *ev = t->ev;

	if (!deadline_ms)
		deadline_ms = 1;
	if (t->heap_idx != SIZE_MAX) {
		t->deadline = deadline_ms;
		ev->heap[t->heap_idx].deadline = deadline_ms;
		heap_down(ev, t->heap_idx);
		heap_up(ev, t->heap_idx);
	} else {
		if (ev->heap_len == ev->heap_cap) {
			size_t cap = ev->heap_cap ? ev->heap_cap * 2 : 64;
			struct ev_heap_ent *h =
				realloc(ev->heap, cap * sizeof(*h));

			if (!h)
				abort(); /* cannot keep promises without timers */
			ev->heap = h;
			ev->heap_cap = cap;
		}
		t->deadline = deadline_ms;
		t->heap_idx = ev->heap_len;
		ev->heap[ev->heap_len].deadline = deadline_ms;
		ev->heap[ev->heap_len++].t = t;
		heap_up(ev, t->heap_idx);
	}
	ev_rearm_tfd(ev);
}

void ev_timer_cancel(struct ev_timer *t)
{
	if (!t || t->heap_idx == SIZE_MAX)
		return;
	heap_remove(t->ev, t);
	ev_rearm_tfd(t->ev);
}

int ev_timer_armed(const struct ev_timer *t)
{
	return t && t->heap_idx != SIZE_MAX;
}

void ev_timer_free(struct ev_timer *t)
{
	if (!t)
		return;
	ev_timer_cancel(t);
	free(t);
}

int ev_add_post_hook(struct ev_loop *ev, ev_cb cb, void *arg)
{
	struct ev_hook *h = realloc(ev->hooks, (ev->n_hooks + 1) * sizeof(*h));

	if (!h)
		return -ENOMEM;
	ev->hooks = h;
	h[ev->n_hooks].cb = cb;
	h[ev->n_hooks].arg = arg;
	ev->n_hooks++;
	return 0;
}

static void ev_run_timers(struct ev_loop *ev)
{
	uint64_t now = ev_now_ms(), buf;

	if (read(ev->tfd, &buf, sizeof(buf)) < 0) {
		/* EAGAIN: nothing expired yet, fine */
	}
	ev->tfd_armed = 0;
	/* Callbacks re-arm timers; without in_timers every one of them whose
	 * arm changed the heap top would cost a timerfd_settime() (one per
	 * expired timer: 10,000 a second with 10,000 health checks). */
	ev->in_timers = 1;
	while (ev->heap_len && ev->heap[0].deadline <= now) {
		struct ev_timer *t = ev->heap[0].t;

		heap_remove(ev, t);
		t->cb(t->arg);
	}
	ev->in_timers = 0;
	ev_rearm_tfd(ev);
}

int ev_run(struct ev_loop *ev)
{
	struct epoll_event evs[64];

	ev->stop = 0;
	while (!ev->stop) {
		int n = epoll_wait(ev->epfd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !ev->stop; i++) {
			struct ev_handler *h = evs[i].data.ptr;

			if (!h) {
				ev_run_timers(ev);
				continue;
			}
			if (h->cb) /* NULL: removed earlier this turn */
				h->cb(h->arg, evs[i].events);
		}
		while (ev->dead) {
			struct ev_handler *d = ev->dead;

			ev->dead = d->next;
			free(d);
		}
		for (size_t i = 0; i < ev->n_hooks; i++)
			ev->hooks[i].cb(ev->hooks[i].arg);
	}
	return 0;
}

void ev_stop(struct ev_loop *ev)
{
	ev->stop = 1;
}
