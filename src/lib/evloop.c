/*
 * evloop.c - epoll and one-shot timers on CLOCK_MONOTONIC (see evloop.h).
 *
 * File descriptors: one watcher per fd, in an array indexed by the fd. Every
 * registration gets a fresh generation number, stored in the epoll event next
 * to the fd, so an event that was already fetched for a watcher which a
 * callback then removed (or removed and re-added, say after the fd number was
 * reused) is dropped rather than delivered to the wrong owner.
 *
 * Timers: a binary min-heap ordered by (deadline, id); ids grow, so timers due
 * at the same moment fire in the order they were added. Cancelling scans the
 * heap (O(n)), which is fine for the few hundred timers a process holds.
 *
 * Bounded turns (STYLE.md §24): one turn handles at most EVLOOP_MAX_EVENTS fd
 * events and only the timers that existed when the turn began, so a callback
 * that re-arms itself with a zero delay cannot starve the fds.
 *
 * Level-triggered: a callback that does not drain its fd is called again next
 * turn. Hang-up and error are reported as XS_EV_READ (the read then sees EOF
 * or the error), even when only XS_EV_WRITE or nothing is being watched.
 */
#include "lib/evloop.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmalloc.h"

#define EVLOOP_MAX_EVENTS 64     /* fd events handled per turn */
#define EVLOOP_MIN_WATCHERS 64   /* first size of the watcher array */
#define EVLOOP_MIN_TIMERS 16     /* first size of the timer heap */
#define EVLOOP_MAX_WAIT_MS 60000 /* longest single epoll_wait, so stop_flag is seen */

struct evloop_watcher {
	xs_ev_fd_cb cb;   /* NULL = no watcher */
	void *arg;        /* passed back to cb */
	unsigned events;  /* XS_EV_READ | XS_EV_WRITE */
	uint32_t gen;     /* generation of this registration */
	bool unguarded;   /* XS_EV_UNGUARDED: cb enters the guard itself */
};

struct evloop_timer {
	double when;      /* deadline, xs_evloop_now() seconds */
	uint64_t id;      /* > 0, unique, increasing */
	xs_ev_timer_cb cb;
	void *arg;
	bool unguarded;   /* cb enters the guard itself */
};

struct xs_evloop {
	int epfd;
	struct evloop_watcher *w;    /* indexed by fd */
	size_t nw;                   /* size of w */
	uint32_t gen;                /* last generation handed out */
	struct evloop_timer *timers; /* min-heap */
	size_t ntimers, timers_cap;
	uint64_t next_id;            /* id of the next timer */
	bool stopped;                /* xs_evloop_stop() was called */
	xs_ev_guard_fn enter, leave; /* around every callback, or NULL */
	xs_ev_guard_fn idle;         /* before epoll_wait, or NULL */
	void *guard_arg;
};

double xs_evloop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct xs_evloop *xs_evloop_new(void)
{
	struct xs_evloop *loop;
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0)
		return NULL;
	loop = xs_xcalloc(1, sizeof(*loop));
	loop->epfd = fd;
	loop->next_id = 1;
	return loop;
}

void xs_evloop_free(struct xs_evloop **pp)
{
	struct xs_evloop *loop = pp ? *pp : NULL;

	if (!loop)
		return;
	close(loop->epfd);
	free(loop->w);
	free(loop->timers);
	free(loop);
	*pp = NULL;
}

static uint32_t evloop_epoll_events(unsigned events)
{
	uint32_t e = 0;

	if (events & XS_EV_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & XS_EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

static struct evloop_watcher *evloop_watcher_get(struct xs_evloop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nw || !loop->w[fd].cb)
		return NULL;
	return &loop->w[fd];
}

static void evloop_watchers_grow(struct xs_evloop *loop, int fd)
{
	size_t n = loop->nw ? loop->nw : EVLOOP_MIN_WATCHERS;

	while (n <= (size_t)fd)
		n *= 2;
	loop->w = xs_xrealloc(loop->w, n * sizeof(*loop->w));
	memset(loop->w + loop->nw, 0, (n - loop->nw) * sizeof(*loop->w));
	loop->nw = n;
}

static enum xs_err evloop_ctl(struct xs_evloop *loop, int op, int fd, struct evloop_watcher *w)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = evloop_epoll_events(w->events);
	ev.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)fd;
	return epoll_ctl(loop->epfd, op, fd, &ev) ? XS_ERR_IO : XS_OK;
}

enum xs_err xs_evloop_add_fd(struct xs_evloop *loop, int fd, unsigned events, xs_ev_fd_cb cb,
			     void *arg)
{
	struct evloop_watcher *w;
	enum xs_err rc;

	if (fd < 0 || !cb || evloop_watcher_get(loop, fd))
		return XS_ERR_ARG;
	if ((size_t)fd >= loop->nw)
		evloop_watchers_grow(loop, fd);
	w = &loop->w[fd];
	w->cb = cb;
	w->arg = arg;
	w->unguarded = events & XS_EV_UNGUARDED;
	events &= ~XS_EV_UNGUARDED;
	w->events = events;
	w->gen = ++loop->gen;
	rc = evloop_ctl(loop, EPOLL_CTL_ADD, fd, w);
	if (rc)
		memset(w, 0, sizeof(*w));
	return rc;
}

enum xs_err xs_evloop_mod_fd(struct xs_evloop *loop, int fd, unsigned events)
{
	struct evloop_watcher *w = evloop_watcher_get(loop, fd);

	if (!w)
		return XS_ERR_ARG;
	events &= ~XS_EV_UNGUARDED; /* set once, at add */
	if (w->events == events)
		return XS_OK;
	w->events = events;
	return evloop_ctl(loop, EPOLL_CTL_MOD, fd, w);
}

void xs_evloop_del_fd(struct xs_evloop *loop, int fd)
{
	struct evloop_watcher *w = evloop_watcher_get(loop, fd);
	struct epoll_event ev;

	if (!w)
		return;
	/* Fails harmlessly if the caller already closed fd. */
	memset(&ev, 0, sizeof(ev));
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, &ev);
	memset(w, 0, sizeof(*w));
}

/* Heap order: earlier deadline first, then lower id. */
static bool evloop_timer_before(const struct evloop_timer *a, const struct evloop_timer *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return a->id < b->id;
}

static void evloop_timer_swap(struct evloop_timer *a, struct evloop_timer *b)
{
	struct evloop_timer t = *a;

	*a = *b;
	*b = t;
}

static void evloop_heap_up(struct xs_evloop *loop, size_t i)
{
	struct evloop_timer *h = loop->timers;

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!evloop_timer_before(&h[i], &h[parent]))
			break;
		evloop_timer_swap(&h[i], &h[parent]);
		i = parent;
	}
}

static void evloop_heap_down(struct xs_evloop *loop, size_t i)
{
	struct evloop_timer *h = loop->timers;
	size_t n = loop->ntimers;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && evloop_timer_before(&h[l], &h[m]))
			m = l;
		if (r < n && evloop_timer_before(&h[r], &h[m]))
			m = r;
		if (m == i)
			break;
		evloop_timer_swap(&h[i], &h[m]);
		i = m;
	}
}

/* Removes heap entry i, keeping the heap ordered. */
static void evloop_heap_remove(struct xs_evloop *loop, size_t i)
{
	loop->ntimers--;
	if (i == loop->ntimers)
		return;
	loop->timers[i] = loop->timers[loop->ntimers];
	evloop_heap_down(loop, i);
	evloop_heap_up(loop, i);
}

static uint64_t evloop_add_timer(struct xs_evloop *loop, double after, xs_ev_timer_cb cb,
				 void *arg, bool unguarded)
{
	struct evloop_timer *t;
	uint64_t id = loop->next_id++;

	if (!(after >= 0)) /* also catches NaN */
		after = 0;
	if (loop->ntimers == loop->timers_cap) {
		loop->timers_cap = loop->timers_cap ? loop->timers_cap * 2 : EVLOOP_MIN_TIMERS;
		loop->timers = xs_xrealloc(loop->timers, loop->timers_cap * sizeof(*loop->timers));
	}
	t = &loop->timers[loop->ntimers++];
	t->when = xs_evloop_now() + after;
	t->id = id;
	t->cb = cb;
	t->arg = arg;
	t->unguarded = unguarded;
	evloop_heap_up(loop, loop->ntimers - 1); /* moves *t: id is kept aside */
	return id;
}

uint64_t xs_evloop_add_timer(struct xs_evloop *loop, double after, xs_ev_timer_cb cb, void *arg)
{
	return evloop_add_timer(loop, after, cb, arg, false);
}

uint64_t xs_evloop_add_timer_unguarded(struct xs_evloop *loop, double after, xs_ev_timer_cb cb,
				       void *arg)
{
	return evloop_add_timer(loop, after, cb, arg, true);
}

void xs_evloop_cancel_timer(struct xs_evloop *loop, uint64_t id)
{
	for (size_t i = 0; i < loop->ntimers; i++) {
		if (loop->timers[i].id == id) {
			evloop_heap_remove(loop, i);
			return;
		}
	}
}

void xs_evloop_stop(struct xs_evloop *loop)
{
	loop->stopped = true;
}

/* Milliseconds epoll_wait may sleep: until the first timer, rounded up. */
static int evloop_timeout_ms(const struct xs_evloop *loop)
{
	double ms;

	if (!loop->ntimers)
		return EVLOOP_MAX_WAIT_MS;
	ms = (loop->timers[0].when - xs_evloop_now()) * 1000.0;
	if (ms <= 0)
		return 0;
	if (ms >= EVLOOP_MAX_WAIT_MS)
		return EVLOOP_MAX_WAIT_MS;
	return (int)ms + 1;
}

/* Calls one of the guard's functions, if set. */
static void evloop_guard(struct xs_evloop *loop, xs_ev_guard_fn fn)
{
	if (fn)
		fn(loop->guard_arg);
}

/* Before and after a callback: the guard's enter and leave, or for an unguarded
 * one (which enters the guard itself) idle, letting go of any hold. */
static void evloop_before(struct xs_evloop *loop, bool unguarded)
{
	evloop_guard(loop, unguarded ? loop->idle : loop->enter);
}

static void evloop_after(struct xs_evloop *loop, bool unguarded)
{
	evloop_guard(loop, unguarded ? loop->idle : loop->leave);
}

static void evloop_dispatch(struct xs_evloop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct evloop_watcher *w = evloop_watcher_get(loop, fd);
	unsigned events = 0;

	/* Removed, or re-added, by an earlier callback of this turn. */
	if (!w || w->gen != gen)
		return;
	if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		events |= XS_EV_READ;
	if ((ev->events & EPOLLOUT) && (w->events & XS_EV_WRITE))
		events |= XS_EV_WRITE;
	if (events) {
		bool unguarded = w->unguarded; /* w may be gone after the callback */

		evloop_before(loop, unguarded);
		w->cb(loop, fd, events, w->arg);
		evloop_after(loop, unguarded);
	}
}

/* Fires the timers that are due and older than this turn. */
static void evloop_run_timers(struct xs_evloop *loop, uint64_t id_limit)
{
	double now = xs_evloop_now();

	while (loop->ntimers && !loop->stopped) {
		struct evloop_timer t = loop->timers[0];

		if (t.when > now || t.id >= id_limit)
			break;
		evloop_heap_remove(loop, 0);
		evloop_before(loop, t.unguarded);
		t.cb(loop, t.arg);
		evloop_after(loop, t.unguarded);
	}
}

void xs_evloop_guard_enter(struct xs_evloop *loop)
{
	evloop_guard(loop, loop->enter);
}

void xs_evloop_guard_leave(struct xs_evloop *loop)
{
	evloop_guard(loop, loop->leave);
	evloop_guard(loop, loop->idle);
}

void xs_evloop_set_guard(struct xs_evloop *loop, xs_ev_guard_fn enter, xs_ev_guard_fn leave,
			 xs_ev_guard_fn idle, void *arg)
{
	loop->enter = enter;
	loop->leave = leave;
	loop->idle = idle;
	loop->guard_arg = arg;
}

enum xs_err xs_evloop_run(struct xs_evloop *loop, volatile int *stop_flag)
{
	struct epoll_event evs[EVLOOP_MAX_EVENTS];
	enum xs_err rc = XS_OK;

	while (!loop->stopped && !(stop_flag && *stop_flag)) {
		uint64_t id_limit = loop->next_id;
		int n;

		evloop_guard(loop, loop->idle);
		n = epoll_wait(loop->epfd, evs, EVLOOP_MAX_EVENTS, evloop_timeout_ms(loop));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = XS_ERR_IO;
			break;
		}
		for (int i = 0; i < n && !loop->stopped; i++)
			evloop_dispatch(loop, &evs[i]);
		evloop_run_timers(loop, id_limit);
	}
	loop->stopped = false;
	return rc;
}
