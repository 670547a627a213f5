/*
 * Tests of src/lib/evloop.c: timer order and cancelling, fd watchers, and
 * callbacks that add or remove watchers (their own and others) mid-turn, and
 * the guard around every callback.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/evloop.h"
#include "test.h"

struct trace {
	char log[256]; /* one letter per callback */
	size_t n;
	uint64_t cancel; /* a timer the 'c' callback cancels */
	int fds[4];      /* pipes: read ends at 0 and 2 */
	int count;
};

static void trace_add(struct trace *t, char c)
{
	if (t->n + 1 < sizeof(t->log))
		t->log[t->n++] = c;
	t->log[t->n] = '\0';
}

static void timer_a(struct xs_evloop *loop, void *arg) { (void)loop; trace_add(arg, 'a'); }
static void timer_b(struct xs_evloop *loop, void *arg) { (void)loop; trace_add(arg, 'b'); }
static void timer_c(struct xs_evloop *loop, void *arg)
{
	struct trace *t = arg;

	trace_add(t, 'c');
	xs_evloop_cancel_timer(loop, t->cancel);
}
static void timer_stop(struct xs_evloop *loop, void *arg)
{
	trace_add(arg, '.');
	xs_evloop_stop(loop);
}

static void test_timer_order(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct trace t = { .n = 0 };
	double t0 = xs_evloop_now();
	uint64_t id1, id2;

	fail_unless(loop, "loop");
	xs_evloop_add_timer(loop, 0.03, timer_stop, &t);
	xs_evloop_add_timer(loop, 0.02, timer_b, &t);
	id1 = xs_evloop_add_timer(loop, 0.01, timer_a, &t);
	id2 = xs_evloop_add_timer(loop, 0.01, timer_b, &t);
	xs_evloop_add_timer(loop, 0.0, timer_a, &t);
	ok(id1 > 0 && id2 > id1, "ids are positive and increase");
	ok(xs_evloop_run(loop, NULL) == XS_OK, "run");
	ok(!strcmp(t.log, "aabb."), "deadline order, ties in add order: '%s'", t.log);
	ok(xs_evloop_now() - t0 >= 0.03, "ran no earlier than the last deadline");
	xs_evloop_free(&loop);
	ok(loop == NULL, "free clears the pointer");
	xs_evloop_free(&loop);
}

static void test_timer_cancel(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct trace t = { .n = 0 };
	uint64_t ids[20];

	fail_unless(loop, "loop");
	for (int i = 0; i < 20; i++)
		ids[i] = xs_evloop_add_timer(loop, 0.001 * (20 - i), i % 2 ? timer_a : timer_b, &t);
	for (int i = 0; i < 20; i += 2)
		xs_evloop_cancel_timer(loop, ids[i]); /* every 'b' */
	xs_evloop_cancel_timer(loop, 99999);          /* unknown: ignored */
	t.cancel = xs_evloop_add_timer(loop, 0.03, timer_b, &t);
	xs_evloop_add_timer(loop, 0.025, timer_c, &t); /* cancels the 'b' above */
	xs_evloop_add_timer(loop, 0.04, timer_stop, &t);
	ok(xs_evloop_run(loop, NULL) == XS_OK, "run");
	ok(!strcmp(t.log, "aaaaaaaaaac."), "cancelled timers never fire: '%s'", t.log);
	xs_evloop_free(&loop);
}

/* Re-arms itself with zero delay: the loop must still get to the fds. */
static void timer_spin(struct xs_evloop *loop, void *arg)
{
	struct trace *t = arg;

	if (++t->count == 3 && write(t->fds[1], "x", 1) != 1)
		trace_add(t, '!');
	xs_evloop_add_timer(loop, 0, timer_spin, t);
}

static void fd_read_stop(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	char c;

	if ((events & XS_EV_READ) && read(fd, &c, 1) == 1)
		trace_add(arg, c);
	xs_evloop_del_fd(loop, fd);
	xs_evloop_stop(loop);
}

static void test_no_starvation(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct trace t = { .n = 0 };

	fail_unless(loop && pipe(t.fds) == 0, "loop and pipe");
	xs_evloop_add_timer(loop, 0, timer_spin, &t);
	ok(xs_evloop_add_fd(loop, t.fds[0], XS_EV_READ, fd_read_stop, &t) == XS_OK, "add fd");
	ok(xs_evloop_run(loop, NULL) == XS_OK, "run");
	ok(!strcmp(t.log, "x") && t.count >= 3 && t.count <= 4,
	   "fd served the turn after it became readable (%d timer calls)", t.count);
	close(t.fds[0]);
	close(t.fds[1]);
	xs_evloop_free(&loop);
}

/* Both pipes are readable in the same turn; whichever runs first removes the other. */
static void fd_remove_other(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	struct trace *t = arg;
	char c;

	(void)events;
	if (read(fd, &c, 1) == 1)
		trace_add(t, c);
	xs_evloop_del_fd(loop, fd == t->fds[0] ? t->fds[2] : t->fds[0]);
	xs_evloop_del_fd(loop, fd);
	xs_evloop_add_timer(loop, 0.01, timer_stop, t);
}

static void test_remove_mid_turn(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct trace t = { .n = 0 };

	fail_unless(loop && pipe(t.fds) == 0 && pipe(t.fds + 2) == 0, "loop and pipes");
	ok(write(t.fds[1], "x", 1) == 1 && write(t.fds[3], "y", 1) == 1, "both readable");
	ok(xs_evloop_add_fd(loop, t.fds[0], XS_EV_READ, fd_remove_other, &t) == XS_OK, "add 1");
	ok(xs_evloop_add_fd(loop, t.fds[2], XS_EV_READ, fd_remove_other, &t) == XS_OK, "add 2");
	ok(xs_evloop_add_fd(loop, t.fds[2], XS_EV_READ, fd_remove_other, &t) == XS_ERR_ARG,
	   "one watcher per fd");
	ok(xs_evloop_add_fd(loop, -1, XS_EV_READ, fd_remove_other, &t) == XS_ERR_ARG, "bad fd");
	ok(xs_evloop_mod_fd(loop, 1000, XS_EV_READ) == XS_ERR_ARG, "mod of an unknown fd");
	xs_evloop_del_fd(loop, 1000);
	ok(xs_evloop_run(loop, NULL) == XS_OK, "run");
	ok(t.n == 2 && (!strcmp(t.log, "x.") || !strcmp(t.log, "y.")),
	   "the removed watcher's pending event was dropped: '%s'", t.log);
	for (int i = 0; i < 4; i++)
		close(t.fds[i]);
	xs_evloop_free(&loop);
}

/* Writes once when writable, then switches itself to reading. */
static void fd_write_then_read(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	struct trace *t = arg;
	char c;

	if (events & XS_EV_WRITE) {
		trace_add(t, 'w');
		if (write(fd, "z", 1) != 1 || xs_evloop_mod_fd(loop, fd, XS_EV_READ) != XS_OK)
			trace_add(t, '!');
		return;
	}
	if (read(fd, &c, 1) == 1) {
		trace_add(t, c);
		return;
	}
	trace_add(t, 'E'); /* end of stream */
	xs_evloop_del_fd(loop, fd);
	xs_evloop_stop(loop);
}

/* Echo peer: reads one byte and sends it back, then closes. */
static void fd_echo(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	char c;

	(void)events;
	(void)arg;
	if (read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1) {
		xs_evloop_del_fd(loop, fd);
		close(fd);
	}
}

static int socketpair_ok(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0;
}

static void test_write_mod_hangup(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct trace t = { .n = 0 };
	int sv[2];

	fail_unless(loop && socketpair_ok(sv), "loop and socketpair");
	ok(xs_evloop_add_fd(loop, sv[0], XS_EV_WRITE, fd_write_then_read, &t) == XS_OK, "add");
	ok(xs_evloop_add_fd(loop, sv[1], XS_EV_READ, fd_echo, &t) == XS_OK, "add peer");
	ok(xs_evloop_run(loop, NULL) == XS_OK, "run");
	ok(!strcmp(t.log, "wzE"), "write, mod to read, echo, hang-up: '%s'", t.log);
	close(sv[0]);
	xs_evloop_free(&loop);
}

struct flag {
	volatile int set; /* what a signal handler would write */
};

static void timer_flag(struct xs_evloop *loop, void *arg)
{
	struct flag *f = arg;

	(void)loop;
	f->set = 1;
}

static void test_stop_flag(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct flag f = { 0 };
	struct trace t = { .n = 0 };

	fail_unless(loop, "loop");
	xs_evloop_add_timer(loop, 0.01, timer_flag, &f);
	xs_evloop_add_timer(loop, 5, timer_a, &t);
	ok(xs_evloop_run(loop, &f.set) == XS_OK && f.set == 1, "stop flag ends the run");
	xs_evloop_stop(loop);
	f.set = 0;
	ok(xs_evloop_run(loop, &f.set) == XS_OK, "stop before run returns at once");
	ok(t.n == 0, "the 5 s timer never fired");
	xs_evloop_free(&loop);
}

/* Guard: '[' and ']' around every callback, fd and timer alike; '.' before each wait. */
static void guard_enter(void *arg) { trace_add(arg, '['); }
static void guard_leave(void *arg) { trace_add(arg, ']'); }
static void guard_idle(void *arg) { trace_add(arg, '.'); }

static void timer_stop_b(struct xs_evloop *loop, void *arg)
{
	trace_add(arg, 'b');
	xs_evloop_stop(loop);
}

static void fd_read_once(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	char c;

	(void)events;
	if (read(fd, &c, 1) == 1)
		trace_add(arg, 'r');
	xs_evloop_del_fd(loop, fd);
}

static void test_guard(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct trace t = { .n = 0 };
	int sv[2];

	fail_unless(loop && socketpair_ok(sv), "loop and socketpair");
	xs_evloop_set_guard(loop, guard_enter, guard_leave, guard_idle, &t);
	ok(write(sv[1], "x", 1) == 1, "write");
	ok(xs_evloop_add_fd(loop, sv[0], XS_EV_READ, fd_read_once, &t) == XS_OK, "add");
	xs_evloop_add_timer(loop, 0.001, timer_a, &t);
	xs_evloop_add_timer(loop, 0.002, timer_stop_b, &t);
	ok(xs_evloop_run(loop, NULL) == XS_OK, "run");
	{
		/* the callbacks may share turns or not: idle comes first and between turns only */
		char calls[sizeof(t.log)];
		size_t n = 0;

		for (const char *c = t.log; *c; c++)
			if (*c != '.')
				calls[n++] = *c;
		calls[n] = '\0';
		ok(!strcmp(calls, "[r][a][b]"), "every callback inside the guard: '%s'", t.log);
		ok(t.log[0] == '.' && !strstr(t.log, "[.") && !strstr(t.log, ".]"),
		   "idle before the first wait, never inside a callback: '%s'", t.log);
	}
	xs_evloop_set_guard(loop, NULL, NULL, NULL, NULL);
	t.n = 0;
	t.log[0] = '\0';
	xs_evloop_add_timer(loop, 0, timer_stop_b, &t);
	ok(xs_evloop_run(loop, NULL) == XS_OK && !strcmp(t.log, "b"), "guard removed: '%s'", t.log);
	close(sv[0]);
	close(sv[1]);
	xs_evloop_free(&loop);
}

/* XS_EV_UNGUARDED: 'u' runs outside the guard and enters it itself around 'w'. */
static void fd_unguarded(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	char c;

	(void)events;
	if (read(fd, &c, 1) == 1)
		trace_add(arg, 'u');
	xs_evloop_guard_enter(loop);
	trace_add(arg, 'w');
	xs_evloop_guard_leave(loop);
	trace_add(arg, 'x'); /* the callback's own work after it: no hold kept */
	xs_evloop_del_fd(loop, fd);
}

static void timer_unguarded(struct xs_evloop *loop, void *arg)
{
	(void)loop;
	trace_add(arg, 'v');
}

static void test_unguarded(void)
{
	struct xs_evloop *loop = xs_evloop_new();
	struct trace t = { .n = 0 };
	char calls[sizeof(t.log)];
	size_t n = 0;
	int sv[2];

	fail_unless(loop && socketpair_ok(sv), "loop and socketpair");
	xs_evloop_set_guard(loop, guard_enter, guard_leave, guard_idle, &t);
	ok(write(sv[1], "x", 1) == 1, "write");
	ok(xs_evloop_add_fd(loop, sv[0], XS_EV_READ | XS_EV_UNGUARDED, fd_unguarded, &t) == XS_OK,
	   "add");
	ok(xs_evloop_mod_fd(loop, sv[0], XS_EV_READ) == XS_OK, "mod keeps the watcher unguarded");
	xs_evloop_add_timer_unguarded(loop, 0.001, timer_unguarded, &t);
	xs_evloop_add_timer(loop, 0.002, timer_stop_b, &t);
	ok(xs_evloop_run(loop, NULL) == XS_OK, "run");
	for (const char *c = t.log; *c; c++)
		if (*c != '.')
			calls[n++] = *c;
	calls[n] = '\0';
	ok(!strcmp(calls, "u[w]xv[b]"), "no guard around unguarded callbacks: '%s'", t.log);
	ok(strstr(t.log, ".u[w].x") && strstr(t.log, ".v."),
	   "any hold let go before and after them, and after their guarded part: '%s'", t.log);
	xs_evloop_set_guard(loop, NULL, NULL, NULL, NULL);
	close(sv[0]);
	close(sv[1]);
	xs_evloop_free(&loop);
}

int main(void)
{
	TEST_RUN(test_timer_order);
	TEST_RUN(test_timer_cancel);
	TEST_RUN(test_no_starvation);
	TEST_RUN(test_remove_mid_turn);
	TEST_RUN(test_write_mod_hangup);
	TEST_RUN(test_stop_flag);
	TEST_RUN(test_guard);
	TEST_RUN(test_unguarded);
	return test_summary();
}
