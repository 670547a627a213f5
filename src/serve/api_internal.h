/*
 * api_internal.h - what the files of the HTTP API share: struct xs_api and its
 * parts, the limits, and the functions one file calls in another. api.c has
 * the helpers, the views, the stats routes and start/free; api_top.c the
 * top-N answers and the requests parked for them; api_stream.c the live
 * stream. Not for use outside src/serve/ (and their tests).
 */
#ifndef XS_SERVE_API_INTERNAL_H
#define XS_SERVE_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "lib/buf.h"
#include "query/estate.h"
#include "serve/api.h"
#include "serve/stream_request.h"

#define API_STREAM_TICK 0.5        /* seconds between looks for new rows */
#define API_STREAM_KEEPALIVE 15.0  /* seconds of silence before a comment line */
#define API_STREAM_BACK 600        /* seconds a reconnecting client may catch up */
#define API_STREAM_RETRY_MS 2000   /* reconnection delay suggested to clients */
#define API_STREAM_BUSY_RETRY_MS 5000 /* the same, to a client turned away (too many streams) */
#define API_STREAM_EVENT_ROWS 12   /* 5 s rows of one object in one event, at most (a minute) */
#define API_STREAM_TICK_BYTES (256u * 1024) /* event bytes a stream queues in one tick, about */
#define API_CURSOR_LEN (XS_STREAM_CURSOR_LEN(XS_API_MAX_STREAM_OBJECTS) + XS_STREAM_TAG_LEN)
#define API_UUID_MAX XS_STREAM_UUID_MAX
#define API_KNOWN_LEN 128          /* bytes of a route's parameter list in an error */
#define API_TOP_PARKED_MAX 64      /* top-N requests parked at once; past it, computed by the request */
#define API_TOP_PARK_MAX 1.0       /* seconds a parked top-N request waits for its answer at most */
#define API_TOP_PARK_CHECK 0.25    /* seconds between looks at parked requests' time */

struct api_route {
	struct xs_api *api;
	const char *kind;  /* "vms", "hosts", "srs", "pools" */
};

/* A route's handler, called between the provider's enter and leave. */
struct api_guarded {
	struct xs_api *api;
	xs_http_handler fn;
	void *arg;
};

#define API_ROUTES 9

struct api_sub {
	char uuid[API_UUID_MAX];
	enum xs_obj_kind kind;  /* XS_OBJ_VM or XS_OBJ_HOST */
	bool gone;              /* nobody knows it: told once with `event: gone`, never sent */
	int64_t last;           /* newest 5 s time sent */
	int64_t newest;         /* newest 5 s time stored, as of this tick */
};

struct api_stream {
	struct xs_api *api;
	struct xs_http_stream *hs;
	struct api_sub *subs;
	size_t nsubs;
	uint32_t tag;           /* the objects list's, in every cursor (xs_stream_tag_add) */
	size_t next;            /* the sub served first next tick */
	double last_write;
	double waiting;         /* loop time since an event waits for room and nothing was read; 0 = none */
	size_t wait_pending;    /* the bytes pending then */
	bool cut;               /* cut (a write failed, or it stalled): on_close comes from the loop */
};

/* A top-N question, as asked (kind and metric are short names when valid). */
struct api_top_q {
	char kind[17], metric[17], pool[65];
	long n;
};

/* A top-N question and its answer, reused for XS_API_TOP_TTL seconds, and for up to
 * XS_API_TOP_STALE while the provider's thread computes the next one (api_top). */
struct api_top {
	struct api_top_q q;   /* the question */
	bool used;            /* the slot holds q (with an answer or waiting for one) */
	double at;            /* loop time the answer was stored; 0 = none yet */
	double asked;         /* loop time of the latest request for it */
	bool wanted;          /* a new answer is asked of the provider's defer */
	double wanted_since;  /* loop time it became wanted */
	struct xs_buf body;
};

/* A top-N request parked until the provider's thread has answered its question. */
struct api_top_parked {
	struct xs_http_request *req;
	struct api_top_q q;
	double since;         /* loop time it was parked */
};

struct xs_api {
	struct xs_evloop *loop;
	/* The remembered top-N answers: read by the API's thread, written by it and
	 * by the deferred refresh on the provider's thread, under top_mu. */
	pthread_mutex_t top_mu;
	struct api_top top[XS_API_TOP_CACHE];
	/* top-N requests waiting for the provider's thread (the API's thread only), the
	 * eventfd that thread writes once it stored or forgot an answer, a timer while
	 * any waits */
	struct api_top_parked parked[API_TOP_PARKED_MAX];
	size_t nparked;
	int top_fd;
	uint64_t park_timer;
	struct xs_http_server *srv;
	struct xs_api_provider p;
	int64_t retention[XS_NTIERS];
	struct api_route routes[4];
	struct api_guarded guarded[API_ROUTES];
	size_t nguarded;
	struct api_stream **streams;
	size_t nstreams;
	unsigned metrics_max;     /* /metrics bodies allowed in flight */
	unsigned max_connections; /* the server's cap of open connections, for the self-figures */
	unsigned metrics_sending; /* bodies started and not yet let go of by the server */
	double stream_stall;      /* seconds a stream may wait on a client that reads nothing */
	uint64_t timer;           /* the streams' tick (api_stream.c); 0 while none is open */
	size_t stream_tick_bytes; /* event bytes of one tick over all streams, about */
	double stream_tick_slice; /* seconds a tick holds the lock before letting the owner in */
	size_t tick_next;         /* the stream the next tick starts with */
};

/* ---- api.c ---- */

/* The provider's enter and leave (the collector's lock), when it has them. */
void api_enter(const struct xs_api *a);
void api_leave(const struct xs_api *a);
/* The error reply of a query's rc: XS_ERR_ARG 400, XS_QUERY_NOT_FOUND 404, else 500. */
enum xs_err api_fail(struct xs_http_request *req, enum xs_err rc, const char *err);
/* 400 for any parameter not in allowed (NULL-terminated); true when all are known. */
bool api_params_known(struct xs_http_request *req, const char *const *allowed);
/* The provider's estate view into *e (zeroed first). */
void api_estate(const struct xs_api *a, struct xs_estate *e, bool with_status);
/* 200 with b's memory (taken over), or api_fail() of rc (b freed). */
enum xs_err api_reply_buf(struct xs_http_request *req, const char *type, struct xs_buf *b,
			  enum xs_err rc, const char *err);

/* ---- api_top.c ---- */

/* GET /api/v1/top (registered unguarded: it takes the lock only when it computes). */
enum xs_err api_top(struct xs_http_request *req, void *arg);
/* First of all: the answers' mutex; no eventfd yet. */
void api_top_init(struct xs_api *a);
/* With a provider that defers: the eventfd its thread wakes a->loop with. */
enum xs_err api_top_start(struct xs_api *a, char *err);
/* Once the server is freed (parked requests completed): the timer, the eventfd,
 * the answers, the mutex. Safe after api_top_init() alone. */
void api_top_free(struct xs_api *a);

/* ---- api_stream.c ---- */

/* GET /api/v1/stream (between enter and leave). */
enum xs_err api_stream(struct xs_http_request *req, void *arg);
/* Once the server is freed (every stream's on_close ran): what is left of the streams. */
void api_stream_free(struct xs_api *a);

#endif
