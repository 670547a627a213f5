/*
 * Tests of src/serve/api.c around the provider's lock: which requests enter
 * it. The API on 127.0.0.1, port 0, on an xs_evloop in this thread, over an
 * empty estate (no pool, no store); each request is made by a client thread
 * with a blocking socket while the loop runs here.
 *   - a top-N answer remembered for XS_API_TOP_TTL is served without the
 *     lock (a hit never waits for the collector); a miss takes it once;
 *   - /metrics takes it once for its first pass and streams the rest;
 *   - a refused parameter never takes it; enter and leave always pair.
 * What the answers hold is tested against xapi-sim in tests/e2e/api_test.py.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "serve/api.h"
#include "test.h"

#define T_RESP_MAX (64 * 1024)
#define T_TIMEOUT_S 10.0

struct t_lock {
	int enters, leaves;
	bool inside, nested;
};

struct t_client {
	uint16_t port;
	const char *target;
	char resp[T_RESP_MAX + 1];
	size_t len;
	atomic_int done;
};

static void t_estate(void *arg, struct xs_estate *e, bool with_status)
{
	(void)arg;
	(void)with_status;
	e->now = (double)time(NULL);
}

static void t_self(void *arg, struct xs_prom_self *st)
{
	(void)arg;
	st->uptime = 1;
}

static void t_enter(void *arg)
{
	struct t_lock *l = arg;

	l->nested |= l->inside;
	l->inside = true;
	l->enters++;
}

static void t_leave(void *arg)
{
	struct t_lock *l = arg;

	l->inside = false;
	l->leaves++;
}

static void *t_thread(void *arg)
{
	struct t_client *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	struct timeval tv = { .tv_sec = 5 };
	char req[512];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 c->target);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
		ssize_t k;

		while (c->len < T_RESP_MAX && (k = recv(fd, c->resp + c->len, T_RESP_MAX - c->len, 0)) > 0)
			c->len += (size_t)k;
	}
	c->resp[c->len] = '\0';
	if (fd >= 0)
		close(fd);
	atomic_store(&c->done, 1);
	return NULL;
}

struct t_wait {
	struct t_client *c;
	double deadline;
};

static void t_poll(struct xs_evloop *loop, void *arg)
{
	struct t_wait *w = arg;

	if (atomic_load(&w->c->done) || xs_evloop_now() > w->deadline) {
		xs_evloop_stop(loop);
		return;
	}
	xs_evloop_add_timer(loop, 0.002, t_poll, w);
}

static void t_stop(struct xs_evloop *loop, void *arg)
{
	(void)arg;
	xs_evloop_stop(loop);
}

/* One GET of target; the reply lands in c; its status, or -1. */
static int t_get(struct xs_evloop *loop, struct xs_api *a, struct t_client *c, const char *target)
{
	struct t_wait w = { c, xs_evloop_now() + T_TIMEOUT_S };
	pthread_t th;
	int status = -1;

	memset(c, 0, sizeof(*c));
	c->port = xs_api_port(a);
	c->target = target;
	pthread_create(&th, NULL, t_thread, c);
	xs_evloop_add_timer(loop, 0, t_poll, &w);
	xs_evloop_run(loop, NULL);
	pthread_join(th, NULL);
	/* a little more: the request's completion, after the client's last byte */
	xs_evloop_add_timer(loop, 0.02, t_stop, NULL);
	xs_evloop_run(loop, NULL);
	if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

static const char *t_body(const struct t_client *c)
{
	const char *p = strstr(c->resp, "\r\n\r\n");

	return p ? p + 4 : "";
}

static void test_lock(void)
{
	static struct t_client c;
	static char first[T_RESP_MAX + 1];
	struct t_lock lock = { 0 };
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_api_provider p = { .estate = t_estate, .self = t_self, .enter = t_enter,
				     .leave = t_leave, .lock_arg = &lock };
	struct xs_evloop *loop = xs_evloop_new();
	struct xs_api *a = NULL;
	char err[XS_ERR_LEN] = "";

	fail_unless(xs_api_start(loop, &cfg, &p, &a, err) == XS_OK, "api starts: %s", err);

	ok(t_get(loop, a, &c, "/api/v1/top?kind=vm&metric=cpu") == 200, "top: %s", c.resp);
	snprintf(first, sizeof(first), "%s", t_body(&c));
	ok(lock.enters == 1, "top, first time: the lock once (%d)", lock.enters);
	ok(t_get(loop, a, &c, "/api/v1/top?kind=vm&metric=cpu") == 200 && !strcmp(t_body(&c), first),
	   "top again: the same answer");
	ok(lock.enters == 1, "top again, within its TTL: not the lock (%d)", lock.enters);
	ok(t_get(loop, a, &c, "/api/v1/top?kind=vm&metric=memory") == 200 && lock.enters == 2,
	   "another top question: the lock (%d)", lock.enters);
	ok(t_get(loop, a, &c, "/api/v1/top?n=0") == 400 && lock.enters == 2,
	   "a refused parameter: 400, not the lock (%d)", lock.enters);

	ok(t_get(loop, a, &c, "/metrics") == 200 && strstr(t_body(&c), "xapistat_uptime_seconds"),
	   "metrics: %.200s", c.resp);
	ok(strstr(c.resp, "text/plain; version=0.0.4; charset=utf-8") != NULL, "metrics content type");
	ok(lock.enters == 3, "metrics: the lock once (%d)", lock.enters);

	ok(lock.enters == lock.leaves && !lock.inside && !lock.nested, "enter and leave pair (%d, %d)",
	   lock.enters, lock.leaves);
	xs_api_free(&a);
	ok(a == NULL, "free clears the pointer");
	xs_evloop_free(&loop);
}

int main(void)
{
	TEST_RUN(test_lock);
	return test_summary();
}
