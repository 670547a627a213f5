/*
 * collector.c - per-host RRD collection into the store (see collector.h).
 *
 * Invariants:
 * - A host has at most one request (5 s or backfill) and at most one timer.
 * - Rows are held only for the document in flight and reach the store only
 *   once the document is complete; the store then sees them ascending.
 * - An object's `last` is the newest 5 s time the store holds for any of
 *   its series a legend listed (raised from the store's per-series last time
 *   when a column resolves to a series, then kept in step with our appends),
 *   so the start of every fetch is computed without reading the store.
 * - Legend entries are resolved to series once per host and column, and
 *   again only when the entry at that column changes (a 64-bit hash and the
 *   length of its text are the cache key: 1,000 hosts' legends are 70 MB of
 *   text we need not keep).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "collect/collector.h"
#include "collect/units.h"
#include "lib/xmalloc.h"
#include "rrd/rrd_reader.h"

#define CO_DEFAULT_DELAY 0.1
#define CO_DEFAULT_RETRY 0.3
#define CO_DEFAULT_TIMEOUT 10.0
#define CO_DEFAULT_BACKOFF_MIN 1.0
#define CO_DEFAULT_BACKOFF_MAX 60.0
#define CO_CONNECT_TIMEOUT 5.0
#define CO_SYNC_INTERVAL 1.0
#define CO_ERROR_BODY (64u << 10)  /* error pages kept, bytes */
#define CO_URL_LEN 2048
#define CO_UUID_LEN 64
#define CO_MAX_REFETCH 3           /* restarts of one fetch after a legend check */
#define CO_ARCHIVE_5S 600          /* seconds the host's 5 s archive spans (120 rows) */
#define CO_CLOCK_MARGIN 5          /* seconds of doubt on our estimate of a host's clock */
#define CO_WHOLE_MARGIN 60         /* seconds an absolute whole-archive start stays inside it */
#define CO_NPHASES 4
#define CO_PHASE_CREEP 0.01      /* seconds the row phase is lowered per timely fetch */
#define CO_DEFAULT_BACKFILLS 16  /* hosts fetching a whole archive at once, per kind of slot */
#define CO_KEEP_VALUES 16384     /* floats a host keeps between documents (a few 5 s rows) */
#define CO_SLOT_WAIT 0.5         /* seconds before a host waiting for a backfill slot asks again */
#define CO_PAUSE_WAIT 5.0        /* seconds before a host held back by the store's backlog asks again */
#define CO_SESSION_LEN 128       /* a session ref the collector remembers (the pool client's cap) */
#define CO_HTTP_UNAUTHORIZED 401
#define CO_CLOCK_OFF_WARN 60.0   /* a host clock further off ours than this is said (NTP off) */
#define CO_CLOCK_OFF_CLEAR 30.0  /* ... and its end once back within this */
#define CO_CLOCK_BACK_MIN 10.0   /* seconds the newest stored row may be ahead of the host's
				  * clock (by a measurement newer than the row) before its clock is
				  * said to be set back, and the host late */
/* An archive (whole 5 s, or coarse: a year of days at every VM's data source is tens of MB
 * of text from a busy host) may take this long in all, as long as bytes keep coming: it
 * ends after cfg.timeout without one (the stall timeout). */
#define CO_ARCHIVE_TIMEOUT 600.0
#define CO_DEFAULT_BACKFILL_RETRY 30.0
/* VMs of a host backfilled one at a time (vm_uuid=, SPEC §1.2) when the host's other series
 * are current: a VM started or migrated in is one VM's archives, not the whole host's
 * (tens of MB at 20 VMs). More at once (a host's VMs started together): the whole host. */
#define CO_BF_VMS 4
#define CO_BF_VM_TRIES 2 /* failures in a row of a VM's own backfill before its host's is asked */
#define CO_BACKFILL_RETRY_MAX 1800.0 /* under the 2 h the 1 min archive spans */

enum co_cf { CO_CF_AVG, CO_CF_MIN, CO_CF_MAX, CO_CF_OTHER };

/* What a host's slot lets it fetch (see co_slot_acquire). */
enum co_slot { CO_SLOT_NONE, CO_SLOT_WHOLE, CO_SLOT_COARSE, CO_NSLOTS };

/* The archives a host holds (SPEC §1.5): the fetch of each, and its tier in the store. */
static const struct co_phase {
	int64_t interval;       /* seconds per row */
	int64_t whole;          /* relative start that returns the whole archive */
	enum xs_tier tier;
} co_phases[CO_NPHASES] = {
	{ 5, -(CO_ARCHIVE_5S - 1), XS_TIER_5S },
	{ 60, -(60 * 120 - 1), XS_TIER_1M },
	{ 3600, -(3600 * 168 - 1), XS_TIER_1H },
	{ 86400, -(86400 * 366 - 1), XS_TIER_1D },
};

struct co_obj {
	enum xs_obj_kind kind;
	char uuid[CO_UUID_LEN];
	uint8_t bf_failures;    /* its own backfill's failures in a row (CO_BF_VM_TRIES) */
	int64_t last;           /* newest 5 s time stored, 0 = none */
	int64_t before;         /* last when the current document's legend was read */
	uint64_t mark;          /* serial of the last document that listed it */
};

/* 32 bytes: a host has ~660 columns, a thousand hosts 660k (see co_on_row's trim). */
struct co_col {
	uint64_t key;           /* co_entry_key() of the legend text this column had */
	struct co_obj *obj;
	xs_series_id id;
	uint32_t len;           /* its length (mod 2^32: a mismatch only resolves it again); 0 =
				 * never resolved */
	uint8_t cf;             /* enum co_cf */
	bool valid;             /* a series of a known kind */
};

struct co_pool;

struct co_host {
	struct xs_collector *c;
	struct co_pool *pool;
	char uuid[CO_UUID_LEN];
	char ref[XS_COLLECT_NAME_LEN];
	char name[XS_COLLECT_NAME_LEN];
	char address[XS_COLLECT_NAME_LEN];
	bool live, seen;
	enum xs_collect_state state;
	uint64_t timer, req;
	/* the document in flight */
	int phase;              /* index in co_phases */
	int64_t start;          /* start= sent */
	bool whole;             /* the whole archive was asked for */
	int64_t whole_start;    /* its absolute start=, 0: the relative one (co_phases) */
	int64_t coarse_start;   /* absolute start= of the coarse archive asked again, 0: relative */
	int refetches;
	bool refetch;           /* the legend check asked for another start */
	int64_t refetch_start;  /* 0 = whole archive */
	bool need_backfill;     /* the whole host's coarse archives are wanted */
	struct co_obj *bf_vms[CO_BF_VMS]; /* VMs whose own coarse archives are wanted (first
					   * seen, or back after a gap of their own); a
					   * whole host's backfill drops them (it has theirs) */
	size_t nbf_vms;
	struct co_obj *bf_vm;   /* the VM the coarse archives being fetched are of (NULL: the
				 * whole host's) */
	double backfill_after;  /* loop time before which no coarse archive is asked (one failed) */
	double backfill_wait;   /* the wait after the next failure; 0: none failed since the last
				 * complete backfill */
	enum co_slot slot;      /* the collector's slot it holds, if any */
	char why[96];           /* why we stopped the transfer ("" = the reader's error) */
	double began;
	uint64_t serial;
	struct xs_rrd_reader *reader;
	struct co_col *cols;
	size_t ncols, capcols;  /* columns of this document / cached */
	struct co_obj **objs;   /* distinct objects of the last legend */
	size_t nobjs, capobjs;
	int64_t *times;         /* rows of this document, as they came (newest first) */
	float *vals;            /* nrows x ncols */
	size_t nrows, caprows;
	size_t capvals;         /* floats allocated at vals */
	bool too_large;
	bool skip;              /* a coarse reply of another step: ignore it */
	/* timing */
	int64_t expect;         /* row time the current 5 s fetch should bring, 0 = any */
	int retries;
	double row_phase;       /* seconds after t that the host makes row t (learnt) */
	double asked_at;        /* host time the current 5 s fetch was sent */
	double backoff;
	char session[CO_SESSION_LEN]; /* the session ref the request in flight was sent with */
	bool auth_failed;       /* in BACKOFF because the host refused the session (HTTP 401) */
	bool clock_off_said;    /* the warning that its clock is far off ours is in the log */
	bool clock_back_said;   /* the warning that its clock went back is in the log */
	bool odd_said;          /* the warning of a legend entry not CF:kind:uuid:ds is */
	bool foreign_said;      /* the warning of a host entry of another host's uuid is */
	bool grid_said;         /* the warning of rows off the archive's grid is, until a
				 * reply has none */
	double newest_at;       /* loop time st.newest was last raised */
	/* status */
	struct xs_collect_host_status st;
};

struct co_pool {
	struct xs_pool_client *pc;
	struct xs_tls_opts tls;
	struct co_host **hosts;
	size_t nhosts, caphosts;
	uint64_t topo_version;
	bool synced;
	char session[CO_SESSION_LEN]; /* the pool client's session ref at the last sync */
	uint64_t loads;         /* the pool client's loads at the last sync */
	char scheme[8];
	char port[8];           /* "" = the scheme's default */
};

struct xs_collector {
	struct xs_evloop *loop;
	struct xs_http *http;
	struct xs_store *store;
	struct xs_collector_config cfg;
	struct co_pool **pools;
	size_t npools, cappools;
	struct co_obj **objs;   /* open-addressing table by (kind, uuid) */
	size_t objcap, nobjs;
	uint64_t sync_timer;
	uint64_t serial;
	struct xs_collector_stats stats;
	uint32_t rng;
	unsigned slots[CO_NSLOTS]; /* hosts holding a slot of each kind */
	bool paused;            /* fetches held back: the store's backlog (co_paused) */
};

static void co_fetch(struct co_host *h, int phase);
static void co_schedule_next(struct co_host *h);

/* --- small helpers --- */

static double co_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 3, 4))) static void co_log(struct xs_collector *c,
							 enum xs_collect_log level,
							 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->cfg.log(c->cfg.log_arg, level, msg);
}

static double co_jitter(struct xs_collector *c, double d)
{
	c->rng = c->rng * 1103515245u + 12345u;
	return d * (0.8 + 0.4 * (double)(c->rng >> 8) / (double)(1u << 24));
}

/* What the pool client measured of a host's clock (one lookup), and its time now. */
struct co_clock {
	double offset;          /* its clock minus ours, seconds; NAN: not measured */
	double measured_at;     /* loop time of that measurement */
	double now;             /* its clock now: ours plus the offset (0 if none) */
};

static struct co_clock co_clock_of(const struct co_host *h)
{
	struct co_clock k = { .offset = NAN, .measured_at = 0 };

	if (!xs_pool_client_host_offset_at(h->pool->pc, h->uuid, &k.offset, &k.measured_at))
		k.offset = NAN;
	k.now = co_wall() + (isnan(k.offset) ? 0 : k.offset);
	return k;
}

/* The host's clock now: ours plus the offset the pool client measured (0 if none). */
static double co_host_now(const struct co_host *h)
{
	return co_clock_of(h).now;
}

/*
 * An absolute start= for the whole archive of a phase, well inside it: the
 * request may wait in our transfer queue (tens of seconds when a thousand
 * hosts are first contacted) and our estimate of the host's clock has its
 * doubt; while that estimate is not known yet, our own clock with room for
 * minutes of skew (half the 5 s archive). The rows before it come from the
 * next coarser archive; those of a coarse archive's first minutes are lost.
 */
static int64_t co_whole_start(const struct co_host *h, int phase)
{
	int64_t span = -co_phases[phase].whole + 1;
	double off;

	if (!xs_pool_client_host_offset(h->pool->pc, h->uuid, &off))
		return (int64_t)co_wall() - span + CO_ARCHIVE_5S / 2;
	return (int64_t)(co_wall() + off) - span + CO_WHOLE_MARGIN;
}

static bool co_kind_of(struct xs_slice s, enum xs_obj_kind *kind)
{
	static const char *const names[XS_NOBJ_KINDS] = { "host", "vm", "sr" };

	for (int k = 0; k < XS_NOBJ_KINDS; k++)
		if (s.len == strlen(names[k]) && !memcmp(s.ptr, names[k], s.len)) {
			*kind = (enum xs_obj_kind)k;
			return true;
		}
	return false;
}

static enum co_cf co_cf_of(struct xs_slice s)
{
	if (s.len == 7 && !memcmp(s.ptr, "AVERAGE", 7))
		return CO_CF_AVG;
	if (s.len == 3 && !memcmp(s.ptr, "MIN", 3))
		return CO_CF_MIN;
	if (s.len == 3 && !memcmp(s.ptr, "MAX", 3))
		return CO_CF_MAX;
	return CO_CF_OTHER;
}

/* --- objects: (kind, uuid) -> newest stored 5 s time --- */

static uint64_t co_hash(enum xs_obj_kind kind, const char *uuid, size_t len)
{
	uint64_t x = 1469598103934665603ull ^ (uint64_t)kind;

	for (size_t i = 0; i < len; i++)
		x = (x ^ (unsigned char)uuid[i]) * 1099511628211ull;
	return x;
}

static void co_objs_grow(struct xs_collector *c)
{
	size_t cap = c->objcap ? 2 * c->objcap : 256;
	struct co_obj **t = xs_xcalloc(cap, sizeof(*t));

	for (size_t i = 0; i < c->objcap; i++) {
		struct co_obj *o = c->objs[i];
		size_t j;

		if (!o)
			continue;
		j = co_hash(o->kind, o->uuid, strlen(o->uuid)) & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = o;
	}
	free(c->objs);
	c->objs = t;
	c->objcap = cap;
}

/*
 * The object (kind, uuid), created with last = 0 when first met. Its newest
 * stored time is raised from the store's series as legend columns resolve to
 * them (co_col_resolve), not by a scan of the store's series here: that scan
 * is O(series) per object, minutes for 20,000 objects of 650,000 series.
 */
static struct co_obj *co_obj_get(struct xs_collector *c, enum xs_obj_kind kind,
				 const char *uuid, size_t len)
{
	struct co_obj *o;
	size_t j;

	if (len >= CO_UUID_LEN)
		return NULL;
	if (2 * (c->nobjs + 1) > c->objcap)
		co_objs_grow(c);
	j = co_hash(kind, uuid, len) & (c->objcap - 1);
	for (; c->objs[j]; j = (j + 1) & (c->objcap - 1)) {
		o = c->objs[j];
		if (o->kind == kind && strlen(o->uuid) == len && !memcmp(o->uuid, uuid, len))
			return o;
	}
	o = xs_xcalloc(1, sizeof(*o));
	o->kind = kind;
	memcpy(o->uuid, uuid, len);
	c->objs[j] = o;
	c->nobjs++;
	return o;
}

/*
 * Object o of host h wants its coarse archives (first seen, or a gap of its own): a VM
 * alone (h->bf_vms) while the host's other series are current, else the whole host.
 */
static void co_want_backfill(struct co_host *h, struct co_obj *o)
{
	if (h->need_backfill || h->bf_vm == o)
		return;
	if (o->kind != XS_OBJ_VM || h->nbf_vms == CO_BF_VMS) {
		h->need_backfill = true;
		h->nbf_vms = 0;
		return;
	}
	for (size_t i = 0; i < h->nbf_vms; i++)
		if (h->bf_vms[i] == o)
			return;
	h->bf_vms[h->nbf_vms++] = o;
}

/* The host of h's pool that VM o is resident on, by the topology; NULL: none we collect
 * (halted, suspended, unknown, or on a host of another pool). */
static struct co_host *co_vm_host(const struct co_host *h, const struct co_obj *o)
{
	const struct xs_topo_vm *vm =
		xs_topo_vm_by_uuid(xs_pool_client_topo(h->pool->pc), o->uuid);

	for (size_t i = 0; vm && vm->resident_on[0] && i < h->pool->nhosts; i++)
		if (!strcmp(h->pool->hosts[i]->ref, vm->resident_on))
			return h->pool->hosts[i];
	return NULL;
}

/*
 * Whether VM o's own archives are still to be fetched from host h: true while h's last
 * reply listed it (its RRD is there, whatever the topology's events have said so far:
 * they may lag the hosts), else while the topology has it resident on h. One that left
 * (migrated before its turn) has its want handed to the host it is on now, where its RRD
 * went (SPEC §4.3); one halted or gone is dropped: h holds no RRD of it any more and
 * would answer HTTP 500 (No_RRA_Available, SPEC §6).
 */
static bool co_vm_still_here(struct co_host *h, struct co_obj *o)
{
	struct co_host *now;

	if (o->mark == h->serial)
		return true;
	now = co_vm_host(h, o);
	if (now == h)
		return true;
	if (now)
		co_want_backfill(now, o);
	co_log(h->c, XS_COLLECT_LOG_INFO, "host %s: VM %s left it before its backfill: %s", h->name,
	       o->uuid, now ? "asked of the host it is on now" : "dropped (not running)");
	return false;
}

/*
 * The backfill that could not be done is wanted again: the whole host's as it was; a VM's
 * own as its own (its next turn finds where it is then: co_vm_still_here), unless it
 * failed (failed) CO_BF_VM_TRIES times in a row: then the host's, which holds that VM's
 * archives while it is there and never fails for a VM missing from it.
 */
static void co_backfill_again(struct co_host *h, bool failed)
{
	struct co_obj *o = h->bf_vm;

	h->bf_vm = NULL;
	if (!o) {
		h->need_backfill = true;
	} else if (failed && ++o->bf_failures >= CO_BF_VM_TRIES) {
		o->bf_failures = 0;
		h->need_backfill = true;
	} else {
		co_want_backfill(h, o);
	}
}

/* --- the legend: columns to series --- */

#define CO_ENTRY_SHOWN 200 /* bytes of a host's legend entry a warning quotes at most */

static int co_entry_shown(const struct xs_rrd_legend *e)
{
	return (int)(e->entry.len > CO_ENTRY_SHOWN ? CO_ENTRY_SHOWN : e->entry.len);
}

/* A 64-bit hash of a legend entry, 8 bytes a step (a multiply-xorshift mix). */
static uint64_t co_entry_key(struct xs_slice s)
{
	const unsigned char *p = (const unsigned char *)s.ptr;
	uint64_t x = 0x9e3779b97f4a7c15ull ^ s.len, w;
	size_t i = 0;

	for (; i + 8 <= s.len; i += 8) {
		memcpy(&w, p + i, 8);
		x = (x ^ w) * 0xff51afd7ed558ccdull;
		x ^= x >> 32;
	}
	w = 0;
	if (i < s.len)
		memcpy(&w, p + i, s.len - i);
	x = (x ^ w) * 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 29);
}

static void co_col_resolve(struct co_host *h, struct co_col *col, const struct xs_rrd_legend *e)
{
	struct xs_collector *c = h->c;
	char uuid[CO_UUID_LEN], ds[XS_STORE_MAX_DS], err[XS_ERR_LEN];
	enum xs_obj_kind kind;

	col->key = co_entry_key(e->entry);
	col->len = (uint32_t)e->entry.len;
	col->valid = false;
	col->obj = NULL;
	col->cf = (uint8_t)co_cf_of(e->cf);
	if (e->odd && !h->odd_said) {
		h->odd_said = true;
		co_log(c, XS_COLLECT_LOG_WARN,
		       "host %s: legend entry \"%.*s\" is not CF:kind:uuid:name: its column is "
		       "skipped, the rest of the reply stored (said once per host)",
		       h->name, co_entry_shown(e), e->entry.ptr);
	}
	if (col->cf == CO_CF_OTHER || !co_kind_of(e->kind, &kind) || e->uuid.len >= sizeof(uuid) ||
	    !e->uuid.len || e->ds.len >= sizeof(ds) || !e->ds.len)
		return;
	memcpy(uuid, e->uuid.ptr, e->uuid.len);
	uuid[e->uuid.len] = '\0';
	if (kind == XS_OBJ_HOST && strcasecmp(uuid, h->uuid)) {
		/* a host serves its own RRD alone (SPEC §1.2, §2.4): another host's
		 * uuid would write into that host's series */
		if (!h->foreign_said)
			co_log(c, XS_COLLECT_LOG_WARN,
			       "host %s: legend entry \"%.*s\" names another host than %s: its "
			       "column is skipped (said once per host)",
			       h->name, co_entry_shown(e), e->entry.ptr, h->uuid);
		h->foreign_said = true;
		return;
	}
	memcpy(ds, e->ds.ptr, e->ds.len);
	ds[e->ds.len] = '\0';
	if (xs_store_series(c->store, kind, uuid, ds, xs_collect_unit(kind, ds, e->ds.len), &col->id,
			    err)) {
		co_log(c, XS_COLLECT_LOG_WARN, "host %s: series %.*s: %s", h->name, (int)e->entry.len,
		       e->entry.ptr, err);
		return;
	}
	col->obj = co_obj_get(c, kind, uuid, e->uuid.len);
	col->valid = col->obj != NULL;
	if (col->valid) {
		int64_t t = xs_store_last(c->store, col->id, XS_TIER_5S);

		if (t > col->obj->last)
			col->obj->last = t;
	}
}

static int co_on_column(void *ctx, size_t index, const struct xs_rrd_legend *e)
{
	struct co_host *h = ctx;
	struct co_col *col;

	if (index >= h->capcols) {
		size_t cap = h->capcols ? 2 * h->capcols : 64;

		while (cap <= index)
			cap *= 2;
		h->cols = xs_xrealloc(h->cols, cap * sizeof(*h->cols));
		memset(h->cols + h->capcols, 0, (cap - h->capcols) * sizeof(*h->cols));
		h->capcols = cap;
	}
	col = &h->cols[index];
	if (!col->len || col->len != e->entry.len || col->key != co_entry_key(e->entry))
		co_col_resolve(h, col, e);
	h->ncols = index + 1;
	return 0;
}

/* Lists the distinct objects of the legend (h->objs) and notes each one's newest time. */
static void co_legend_objects(struct co_host *h)
{
	h->nobjs = 0;
	for (size_t i = 0; i < h->ncols; i++) {
		struct co_obj *o = h->cols[i].valid ? h->cols[i].obj : NULL;

		if (!o || o->mark == h->serial)
			continue;
		o->mark = h->serial;
		o->before = o->last;
		if (h->nobjs == h->capobjs) {
			h->capobjs = h->capobjs ? 2 * h->capobjs : 32;
			h->objs = xs_xrealloc(h->objs, h->capobjs * sizeof(*h->objs));
		}
		h->objs[h->nobjs++] = o;
	}
}

/*
 * The 5 s legend check: every object listed must get its rows from its
 * newest stored time on. Returns whether the fetch must start again
 * (h->refetch_start set: 0 = the whole archive).
 */
static bool co_check_start(struct co_host *h, const struct xs_rrd_updates_meta *m)
{
	int64_t need = INT64_MAX;
	bool fresh = false;

	for (size_t i = 0; i < h->nobjs; i++) {
		if (!h->objs[i]->before) {
			fresh = true;
			co_want_backfill(h, h->objs[i]);
		} else if (h->objs[i]->before + XS_COLLECT_PERIOD < need) {
			need = h->objs[i]->before + XS_COLLECT_PERIOD;
		}
	}
	if (h->whole || h->refetches >= CO_MAX_REFETCH)
		return false;
	if (fresh || (need != INT64_MAX && m->has_end && need < m->end - (CO_ARCHIVE_5S - 5))) {
		h->refetch_start = 0;
		return true;
	}
	if (need < h->start) {
		h->refetch_start = need;
		return true;
	}
	return false;
}

static int co_on_meta(void *ctx, const struct xs_rrd_updates_meta *m)
{
	struct co_host *h = ctx;
	const struct co_phase *p = &co_phases[h->phase];

	co_legend_objects(h);
	if (!m->has_step || m->step != p->interval) {
		/* the host chose another archive: start did not fall in the one asked for.
		 * The 5 s archive is asked again whole; its commit finds the objects with a
		 * gap (co_commit_5s), the backfill then fetches their coarse archives */
		if (h->phase == 0 && !h->whole && h->refetches < CO_MAX_REFETCH) {
			h->refetch = true;
			h->refetch_start = 0;
		} else if (h->phase == 0 && h->whole && !h->whole_start &&
			   h->refetches < CO_MAX_REFETCH) {
			/* a relative start counts from the oldest last update of the host's
			 * RRDs (SPEC §1.2): one that lags (a VM that has just started,
			 * with hours-old rows) pushes it out of the 5 s archive */
			h->whole_start = co_whole_start(h, 0);
			h->refetch = true;
			h->refetch_start = 0;
		} else if (h->phase > 0 && !h->coarse_start) {
			/* the same for a coarse archive: asked again from inside it, once */
			h->coarse_start = co_whole_start(h, h->phase);
			h->refetch = true;
		} else if (h->phase > 0) {
			co_log(h->c, XS_COLLECT_LOG_WARN,
			       "host %s: asked for its %lld s archive from %lld, it answered its %lld s "
			       "one: that archive is not backfilled this time", h->name,
			       (long long)p->interval, (long long)h->coarse_start,
			       m->has_step ? (long long)m->step : 0LL);
		}
		h->skip = h->phase > 0 && !h->refetch;
		if (!h->refetch && !h->skip)
			snprintf(h->why, sizeof(h->why),
				 "asked for the 5 s archive, the host answered its %lld s one",
				 m->has_step ? (long long)m->step : 0LL);
		return 1;
	}
	if (h->phase == 0 && co_check_start(h, m)) {
		h->refetch = true;
		return 1;
	}
	return 0;
}

/* Between two rows being stored: see xs_collector_config.yield. */
static void co_yield(const struct xs_collector *c)
{
	if (c->cfg.yield)
		c->cfg.yield(c->cfg.yield_arg);
}

static int co_on_row(void *ctx, int64_t t, const double *values, size_t n)
{
	struct co_host *h = ctx;

	if (n != h->ncols) {
		snprintf(h->why, sizeof(h->why), "a row of %zu values, the legend has %zu", n,
			 h->ncols);
		return 1;
	}
	if (!h->nrows && h->ncols && h->capcols - h->ncols > h->ncols / 8) {
		/* the legend is whole: the cache keeps no doubling slack (22 MiB at 1,000 hosts) */
		h->cols = xs_xrealloc(h->cols, h->ncols * sizeof(*h->cols));
		h->capcols = h->ncols;
	}
	if ((h->nrows + 1) * (n ? n : 1) > XS_COLLECT_MAX_VALUES) {
		h->too_large = true;
		return 1;
	}
	if (h->nrows == h->caprows) {
		h->caprows = h->caprows ? 2 * h->caprows : 16;
		h->times = xs_xrealloc(h->times, h->caprows * sizeof(*h->times));
	}
	if ((h->nrows + 1) * n > h->capvals) {
		h->capvals = 2 * (h->nrows + 1) * n;
		h->vals = xs_xrealloc(h->vals, h->capvals * sizeof(*h->vals));
	}
	h->times[h->nrows] = t;
	for (size_t i = 0; i < n; i++)
		h->vals[h->nrows * n + i] = (float)values[i];
	h->nrows++;
	return 0;
}

static const struct xs_rrd_sink co_sink = {
	.updates_column = co_on_column,
	.updates_meta = co_on_meta,
	.updates_row = co_on_row,
};

/* --- committing a complete document --- */

/*
 * What one commit could not store, said in a line or two rather than a line a
 * value: a reply of 600 columns and 120 rows at times off its step's grid (a
 * broken or hostile host: SPEC §2.1 has t fall on CDP boundaries, multiples of
 * the step) would have logged 72,000 store errors, every 5 s.
 */
struct co_refused {
	size_t rows;          /* rows at a time off the grid, skipped */
	int64_t first_t;      /* the first of them */
	uint64_t values;      /* values the store refused */
	char err[XS_ERR_LEN]; /* the first refusal */
};

/* Whether row time t of an archive of interval step is on its grid; counts it if not. */
static bool co_on_grid(struct co_refused *x, int64_t t, int64_t step)
{
	if (t % step == 0)
		return true;
	if (!x->rows++)
		x->first_t = t;
	return false;
}

static void co_refused_value(struct co_refused *x, const char *err)
{
	if (!x->values++)
		snprintf(x->err, sizeof(x->err), "%s", err);
}

static void co_refused_say(struct co_host *h, const struct co_refused *x, int64_t step)
{
	if (x->rows && !h->grid_said) {
		h->grid_said = true;
		co_log(h->c, XS_COLLECT_LOG_WARN,
		       "host %s: %zu rows of its %lld s archive are at times off that step's grid "
		       "(the first at %lld): skipped (said once, until a reply has none)",
		       h->name, x->rows, (long long)step, (long long)x->first_t);
	} else if (!x->rows && h->grid_said) {
		h->grid_said = false;
	}
	if (x->values)
		co_log(h->c, XS_COLLECT_LOG_ERROR,
		       "host %s: the store refused %llu values of its %lld s archive; the first: %s",
		       h->name, (unsigned long long)x->values, (long long)step, x->err);
}

/* 5 s rows, oldest first; then whether a gap needs the coarse archives. */
static void co_commit_5s(struct co_host *h)
{
	struct xs_collector *c = h->c;
	struct co_refused refused = { 0 };
	char err[XS_ERR_LEN];
	uint64_t samples = 0;
	size_t newest_row = h->nrows; /* the newest row on the grid */

	for (size_t r = h->nrows; r-- > 0;) {
		int64_t t = h->times[r];

		if (!co_on_grid(&refused, t, XS_COLLECT_PERIOD))
			continue;
		newest_row = r;
		for (size_t i = 0; i < h->ncols; i++) {
			struct co_col *col = &h->cols[i];

			if (!col->valid || col->cf != CO_CF_AVG)
				continue;
			if (xs_store_append(c->store, col->id, t, h->vals[r * h->ncols + i], err)) {
				co_refused_value(&refused, err);
				continue;
			}
			samples++;
			if (t > col->obj->last)
				col->obj->last = t;
		}
		co_yield(c);
	}
	co_refused_say(h, &refused, XS_COLLECT_PERIOD);
	if (newest_row < h->nrows) {
		int64_t oldest = h->times[h->nrows - 1];

		for (size_t i = 0; i < h->nobjs; i++)
			if (!h->objs[i]->before ||
			    h->objs[i]->before + XS_COLLECT_PERIOD < oldest)
				co_want_backfill(h, h->objs[i]);
		if (h->times[newest_row] > h->st.newest) {
			h->st.newest = h->times[newest_row];
			h->newest_at = xs_evloop_now();
		}
	}
	h->st.rows += h->nrows;
	h->st.samples += samples;
	c->stats.rows += h->nrows;
	c->stats.samples += samples;
}

struct co_group {
	xs_series_id id;
	int col[3];             /* AVERAGE, MIN, MAX column, -1 if absent */
	bool used;
};

/* Coarse rows into the store's tier, oldest first; MIN/MAX default to AVERAGE (VMs). */
static void co_commit_coarse(struct co_host *h)
{
	const struct co_phase *p = &co_phases[h->phase];
	struct co_refused refused = { 0 };
	size_t cap = 16;
	struct co_group *g;
	char err[XS_ERR_LEN];

	if (h->ncols == 0) /* rows of no value (a legend with no entry): h->vals may be NULL */
		return;
	while (cap < 2 * h->ncols)
		cap *= 2;
	g = xs_xcalloc(cap, sizeof(*g));
	for (size_t i = 0; i < h->ncols; i++) {
		size_t j;

		if (!h->cols[i].valid)
			continue;
		j = (h->cols[i].id * 2654435761u) & (cap - 1);
		while (g[j].used && g[j].id != h->cols[i].id)
			j = (j + 1) & (cap - 1);
		if (!g[j].used) {
			g[j] = (struct co_group){ h->cols[i].id, { -1, -1, -1 }, true };
		}
		g[j].col[h->cols[i].cf] = (int)i;
	}
	for (size_t r = h->nrows; r-- > 0;) {
		const float *v = h->vals + r * h->ncols;

		if (!co_on_grid(&refused, h->times[r], p->interval))
			continue;
		for (size_t j = 0; j < cap; j++) {
			float avg, mn, mx;

			if (!g[j].used || g[j].col[CO_CF_AVG] < 0 || isnan(v[g[j].col[CO_CF_AVG]]))
				continue;
			avg = v[g[j].col[CO_CF_AVG]];
			mn = g[j].col[CO_CF_MIN] >= 0 ? v[g[j].col[CO_CF_MIN]] : avg;
			mx = g[j].col[CO_CF_MAX] >= 0 ? v[g[j].col[CO_CF_MAX]] : avg;
			if (xs_store_backfill(h->c->store, g[j].id, p->tier, h->times[r] - p->interval,
					      avg, mn, mx, err))
				co_refused_value(&refused, err);
			else
				h->c->stats.backfill_points++;
		}
		co_yield(h->c);
	}
	co_refused_say(h, &refused, p->interval);
	free(g);
}

/* --- requests --- */

static void co_set_error(struct co_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void co_set_error(struct co_host *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->st.last_error, sizeof(h->st.last_error), fmt, ap);
	va_end(ap);
	h->st.last_error_time = co_wall();
	h->st.errors++;
	h->st.failures++;
	h->c->stats.errors++;
}

static void co_timer_cb(struct xs_evloop *loop, void *arg)
{
	struct co_host *h = arg;

	(void)loop;
	h->timer = 0;
	h->refetches = 0;
	co_fetch(h, 0);
}

static void co_timer_set(struct co_host *h, double after)
{
	if (h->timer)
		xs_evloop_cancel_timer(h->c->loop, h->timer);
	h->timer = 0;
	if (!h->c->cfg.manual)
		h->timer = xs_evloop_add_timer(h->c->loop, after > 0 ? after : 0, co_timer_cb, h);
}

/*
 * Slots: a host's whole 5 s archive is 1 MB of text held as 120 rows until
 * complete, and its coarse archives are 4 MB at 20 VMs filling hundreds of
 * thousands of store points, so only cfg.backfills hosts fetch each kind at
 * once. Without the cap, a start with 1,000 hosts asks the pools for 5 GB at
 * once: requests time out, hosts back off and fall behind, and every host
 * holds a document. The kinds have separate slots, so however slow the
 * store's backfill, a new host's 5 s collection starts within seconds. A host
 * waiting for a whole-archive slot asks again after CO_SLOT_WAIT; one waiting
 * for a coarse slot keeps need_backfill and asks again after each 5 s fetch,
 * which goes on meanwhile. A host holds at most one slot.
 */
static void co_slot_release(struct co_host *h)
{
	if (h->slot == CO_SLOT_NONE)
		return;
	h->c->slots[h->slot]--;
	h->slot = CO_SLOT_NONE;
}

static bool co_slot_acquire(struct co_host *h, enum co_slot kind)
{
	if (h->slot == kind)
		return true;
	co_slot_release(h);
	if (h->c->slots[kind] >= h->c->cfg.backfills)
		return false;
	h->c->slots[kind]++;
	h->slot = kind;
	return true;
}

static void co_backoff(struct co_host *h)
{
	struct xs_collector *c = h->c;

	co_slot_release(h);
	h->backoff = h->backoff > 0 ? 2 * h->backoff : c->cfg.backoff_min;
	if (h->backoff > c->cfg.backoff_max)
		h->backoff = c->cfg.backoff_max;
	h->state = XS_COLLECT_BACKOFF;
	co_timer_set(h, co_jitter(c, h->backoff));
	co_log(c, XS_COLLECT_LOG_WARN, "host %s (%s): %s; retry in %.1f s", h->name,
	       h->pool->pc ? xs_pool_client_name(h->pool->pc) : "", h->st.last_error, h->backoff);
}

/*
 * The next 5 s fetch. A host makes its row t some time after t (xcp-rrdd
 * updates every 5 s at its own phase), so the phase is learnt: a fetch that
 * did not bring the expected row moves it up to when that fetch was sent, a
 * retry that did moves it up to when the retry was sent (so the next fetch
 * goes when this one worked), and every timely fetch brings it down a
 * little, so fetches stay within `retry` seconds of the row's appearance.
 * The creep is slow (CO_PHASE_CREEP per 5 s): at 0.05 s a third of all
 * fetches came too early at 1,000 hosts, each a whole legend parsed for
 * nothing on both sides.
 */
static void co_schedule_next(struct co_host *h)
{
	struct xs_collector *c = h->c;
	double now = co_host_now(h);
	int64_t next;

	co_slot_release(h);
	h->state = XS_COLLECT_IDLE;
	if (h->expect && h->st.newest < h->expect) {
		double late = h->asked_at - (double)h->expect;

		if (late > h->row_phase && late < XS_COLLECT_PERIOD)
			h->row_phase = late;
		if (h->retries < (int)(XS_COLLECT_PERIOD / c->cfg.retry)) {
			h->retries++;
			co_timer_set(h, c->cfg.retry);
			return;
		}
		/* a whole period of retries and the host has not made the row: its clock is not
		 * where the offset puts it (set back since it was measured, every 10 min only),
		 * and every 5 s would be retried so until then */
		xs_pool_client_check_clocks(h->pool->pc);
	} else if (h->expect && !h->retries) {
		h->row_phase = h->row_phase > CO_PHASE_CREEP ? h->row_phase - CO_PHASE_CREEP : 0;
	} else if (h->expect) {
		double worked = h->asked_at - (double)h->expect - c->cfg.delay;

		if (worked > h->row_phase && worked < XS_COLLECT_PERIOD)
			h->row_phase = worked;
	}
	h->retries = 0;
	next = ((int64_t)floor((now - h->row_phase) / XS_COLLECT_PERIOD) + 1) * XS_COLLECT_PERIOD;
	h->expect = next;
	co_timer_set(h, (double)next + h->row_phase - now + c->cfg.delay);
}

static void co_doc_reset(struct co_host *h)
{
	xs_rrd_reader_free(&h->reader);
	if (h->capvals > CO_KEEP_VALUES) {
		/* a whole or coarse archive: 1000 hosts keeping 1 MB each would double our memory */
		free(h->vals);
		free(h->times);
		h->vals = NULL;
		h->times = NULL;
		h->capvals = h->caprows = 0;
	}
	h->why[0] = '\0';
	h->nrows = 0;
	h->ncols = 0;
	h->too_large = false;
	h->refetch = false;
	h->skip = false;
}

/* Seconds the newest row stored from the host is behind (> 0) or ahead of (< 0) the
 * newest it has made when its clock reads host_now (estimated); 0 before its first row. */
static double co_behind(const struct co_host *h, double host_now)
{
	double made = floor((host_now - h->row_phase) / XS_COLLECT_PERIOD) * XS_COLLECT_PERIOD;

	return h->st.newest ? made - (double)h->st.newest : 0;
}

/* The lag of the status: how far behind, 0 when not; -1 before the host's first row. */
static double co_lag_at(const struct co_host *h, double host_now)
{
	return h->st.newest ? fmax(co_behind(h, host_now), 0) : -1;
}

/*
 * Seconds the newest row stored from the host is ahead of its clock k, once that is
 * sure: over CO_CLOCK_BACK_MIN by an offset measured after the row came (before, the
 * offset may be from before its clock was set forward, which looks the same); else 0.
 * *unsure: ahead by an offset older than the row (a measurement is wanted).
 */
static double co_ahead_sure(const struct co_host *h, const struct co_clock *k, bool *unsure)
{
	double ahead = -co_behind(h, k->now);

	*unsure = false;
	if (isnan(k->offset) || ahead <= CO_CLOCK_BACK_MIN)
		return 0; /* no measurement to judge by, or not ahead */
	if (k->measured_at <= h->newest_at) {
		*unsure = true;
		return 0;
	}
	return ahead;
}

/*
 * After each 5 s fetch: says once when the host's clock is far off ours (its rows are
 * stored at its times, so its graphs are shifted against the others'), and once when
 * it was set back behind the newest row stored from it (the rows it makes until it
 * passes that row cannot be stored: their times are taken); each end too. A newest
 * row ahead of the clock by an offset older than the row has the clock measured again
 * first (at most every 30 s).
 */
static void co_check_clock(struct co_host *h)
{
	struct xs_collector *c = h->c;
	struct co_clock k = co_clock_of(h);
	double off = k.offset;
	bool unsure;

	h->st.clock_offset = off;
	h->st.ahead = co_ahead_sure(h, &k, &unsure);
	if (unsure)
		xs_pool_client_check_clocks(h->pool->pc);
	if (!h->clock_off_said && fabs(off) > CO_CLOCK_OFF_WARN) {
		h->clock_off_said = true;
		co_log(c, XS_COLLECT_LOG_WARN,
		       "host %s: its clock is %.0f s %s this machine's (host.get_servertime): its "
		       "rows are stored at its own times, shifted against other hosts'; check NTP "
		       "on the host and here",
		       h->name, fabs(off), off > 0 ? "ahead of" : "behind");
	} else if (h->clock_off_said && fabs(off) < CO_CLOCK_OFF_CLEAR) {
		h->clock_off_said = false;
		co_log(c, XS_COLLECT_LOG_INFO, "host %s: its clock is within %.0f s of this machine's again",
		       h->name, CO_CLOCK_OFF_CLEAR);
	}
	if (!h->clock_back_said && h->st.ahead > 0) {
		time_t newest = (time_t)h->st.newest;
		struct tm tm;
		char at[32] = "?";

		if (gmtime_r(&newest, &tm))
			strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		h->clock_back_said = true;
		co_log(c, XS_COLLECT_LOG_WARN,
		       "host %s: its clock was set back %.0f s behind the newest row stored from it "
		       "(%s, its time): the rows it makes until then are not collected (their times "
		       "are stored already); keep the host's clock on NTP",
		       h->name, h->st.ahead, at);
	} else if (h->clock_back_said && isfinite(off) && co_behind(h, k.now) >= 0) {
		h->clock_back_said = false;
		co_log(c, XS_COLLECT_LOG_INFO,
		       "host %s: its clock has passed the newest row stored from it: collecting again",
		       h->name);
	}
}

/* Stores a complete document; returns the phase to fetch next, or -1 for the next 5 s boundary. */
static int co_done_ok(struct co_host *h, double secs)
{
	struct xs_collector *c = h->c;

	if (h->phase > 0) {
		co_commit_coarse(h);
		if (h->phase + 1 < CO_NPHASES)
			return h->phase + 1;
		if (h->bf_vm)
			h->bf_vm->bf_failures = 0;
		h->bf_vm = NULL;
		h->backfill_wait = 0; /* complete: the next failure waits the shortest again */
		return -1;
	}
	co_commit_5s(h);
	h->st.fetches++;
	h->st.latency = secs;
	h->st.last_success = co_wall();
	h->st.last_error[0] = '\0';
	h->st.failures = 0;
	h->backoff = 0;
	h->st.lag = co_lag_at(h, co_host_now(h));
	co_check_clock(h);
	c->stats.fetches++;
	if ((!h->need_backfill && !h->nbf_vms) || xs_evloop_now() < h->backfill_after ||
	    !co_slot_acquire(h, CO_SLOT_COARSE))
		return -1;
	h->bf_vm = NULL;
	if (h->need_backfill) {
		h->need_backfill = false;
		h->nbf_vms = 0; /* the whole host's archives hold theirs */
		co_log(c, XS_COLLECT_LOG_INFO, "host %s: backfilling from its archives", h->name);
	} else {
		while (h->nbf_vms && !h->bf_vm) {
			struct co_obj *o = h->bf_vms[0];

			memmove(h->bf_vms, h->bf_vms + 1, --h->nbf_vms * sizeof(*h->bf_vms));
			if (co_vm_still_here(h, o))
				h->bf_vm = o;
		}
		if (!h->bf_vm) {
			co_slot_release(h);
			return -1;
		}
		co_log(c, XS_COLLECT_LOG_INFO, "host %s: backfilling VM %s from its archives",
		       h->name, h->bf_vm->uuid);
	}
	h->st.backfills++;
	c->stats.backfills++;
	return 1;
}

/* Why a reply was not stored, into the host's status. */
static void co_done_error(struct co_host *h, const struct xs_http_response *res)
{
	if (res->rc == XS_ERR_ABORTED && h->too_large)
		co_set_error(h, "reply over %u values", XS_COLLECT_MAX_VALUES);
	else if (res->rc == XS_ERR_ABORTED && h->why[0])
		co_set_error(h, "bad RRD reply: %s", h->why);
	else if (res->rc == XS_ERR_ABORTED && h->reader && xs_rrd_reader_error(h->reader)[0])
		co_set_error(h, "bad RRD reply: %s", xs_rrd_reader_error(h->reader));
	else if (res->rc != XS_OK)
		co_set_error(h, "%s", res->error);
	else if (res->status != 200)
		co_set_error(h, "HTTP %ld", res->status);
	else if (h->too_large)
		co_set_error(h, "reply over %u values", XS_COLLECT_MAX_VALUES);
	else
		co_set_error(h, "bad RRD reply: %s", xs_rrd_reader_error(h->reader));
	/* a failed coarse archive: the 5 s rows are stored; the backfill starts over, not
	 * before backfill_after: an archive that fails for good (too large for the
	 * host, a reply we refuse) is not asked again after every 5 s fetch */
	if (h->phase > 0) {
		co_backfill_again(h, true);
		h->backfill_wait = h->backfill_wait > 0 ? 2 * h->backfill_wait
							: h->c->cfg.backfill_retry;
		if (h->backfill_wait > CO_BACKFILL_RETRY_MAX)
			h->backfill_wait = CO_BACKFILL_RETRY_MAX;
		h->backfill_after = xs_evloop_now() + h->backfill_wait;
		co_log(h->c, XS_COLLECT_LOG_INFO, "host %s: backfill asked again in %.0f s", h->name,
		       h->backfill_wait);
	}
}

/*
 * The host refused the session its request was sent with (HTTP 401): tell the
 * pool client, whose event wait would otherwise learn it only after its
 * timeout (it ignores a session it has already replaced, and logs in again at
 * most every 30 s). True when the pool client holds a newer session already
 * (the request began before a re-login): the host is asked again at once.
 */
static bool co_session_renewed(struct co_host *h)
{
	struct xs_pool_client *pc = h->pool->pc;
	const char *now;

	xs_pool_client_session_failed(pc, h->session);
	now = xs_pool_client_session(pc);
	return now[0] && strcmp(now, h->session) != 0;
}

static void co_on_done(void *arg, const struct xs_http_response *res)
{
	struct co_host *h = arg;
	struct xs_collector *c = h->c;
	enum xs_err rc = res->rc;
	int next = -1;

	h->req = 0;
	if (rc == XS_OK && res->status == 200)
		rc = xs_rrd_reader_finish(h->reader);
	co_log(c, XS_COLLECT_LOG_DEBUG, "host %s: %lld s archive%s%s: %s, %zu rows x %zu columns in %.3f s",
	       h->name, (long long)co_phases[h->phase].interval, h->phase && h->bf_vm ? " of VM " : "",
	       h->phase && h->bf_vm ? h->bf_vm->uuid : "", xs_strerror(rc), h->nrows, h->ncols,
	       res->seconds);
	if (rc == XS_ERR_ABORTED && h->refetch) {
		int64_t start = h->refetch_start;

		c->stats.refetches++;
		h->refetches++;
		co_doc_reset(h);
		if (h->phase > 0) {
			co_fetch(h, h->phase); /* from h->coarse_start */
			return;
		}
		h->start = start;
		h->whole = start == 0;
		co_fetch(h, 0);
		return;
	}
	h->coarse_start = 0; /* the next coarse archive is asked relative first */
	if (rc == XS_OK && res->status != 200 && h->phase > 0 && h->bf_vm &&
	    !co_vm_still_here(h, h->bf_vm)) {
		/* its VM left the host while asked for (HTTP 500: SPEC §6): not the host's fault */
		h->bf_vm = NULL;
		co_doc_reset(h);
		co_slot_release(h);
		co_schedule_next(h);
		return;
	}
	if (rc == XS_ERR_ABORTED && h->skip) {
		/* a coarse archive of another step: nothing of it is stored */
		h->nrows = 0;
		rc = XS_OK;
	}
	if (rc == XS_OK && res->status == 200)
		next = co_done_ok(h, res->seconds);
	else
		co_done_error(h, res);
	co_doc_reset(h);
	h->auth_failed = rc == XS_OK && res->status == CO_HTTP_UNAUTHORIZED;
	if (h->auth_failed && co_session_renewed(h)) {
		h->refetches = 0;
		co_fetch(h, 0);
	} else if (rc != XS_OK || res->status != 200) {
		co_backoff(h);
	} else if (next > 0) {
		co_fetch(h, next);
	} else {
		co_schedule_next(h);
	}
}

static int co_on_data(void *arg, const char *data, size_t len)
{
	struct co_host *h = arg;

	return xs_rrd_reader_push(h->reader, data, len) != XS_OK;
}

/* Percent-encodes s into out (cap bytes); false if it does not fit. */
static bool co_urlencode(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || strchr("-_.~:", ch);

		if (n + 4 > cap)
			return false;
		if (plain) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
	return true;
}

/* start= of the 5 s fetch: from the oldest newest-time of the host's objects. */
static void co_plan_5s(struct co_host *h)
{
	struct co_obj *self = co_obj_get(h->c, XS_OBJ_HOST, h->uuid, strlen(h->uuid));
	int64_t need = self && self->last ? self->last + XS_COLLECT_PERIOD : 0;

	for (size_t i = 0; need && i < h->nobjs; i++) {
		if (!h->objs[i]->last)
			need = 0;
		else if (h->objs[i]->last + XS_COLLECT_PERIOD < need)
			need = h->objs[i]->last + XS_COLLECT_PERIOD;
	}
	if (need && (double)need < co_host_now(h) - (CO_ARCHIVE_5S - CO_CLOCK_MARGIN))
		need = 0;
	h->start = need;
	h->whole = need == 0;
	h->whole_start = 0;
	h->coarse_start = 0;
}

/* An archive that could not be asked for: the next fetch plans its start afresh (no
 * absolute start kept for a refetch), and a lost coarse archive restarts the backfill. */
static void co_backfill_lost(struct co_host *h, int phase)
{
	h->coarse_start = 0;
	h->whole_start = 0;
	h->refetches = 0;
	if (phase > 0)
		co_backfill_again(h, false);
}

/*
 * True while the store holds more not yet on disk than it may (xs_store_backlogged:
 * its syncs or checkpoints fail, a full or read-only disk): nothing is fetched, so
 * its memory stops growing; the hosts keep their archives, and the fetches after it
 * ask from the last stored time, backfilling the gap as after any other. Says so once
 * when the pause starts and once when it ends.
 */
static bool co_paused(struct xs_collector *c)
{
	bool paused = xs_store_backlogged(c->store);

	if (paused != c->paused)
		co_log(c, paused ? XS_COLLECT_LOG_WARN : XS_COLLECT_LOG_INFO,
		       paused ? "collection paused: the store holds %.0f MiB not yet on disk (are its "
				"writes failing? see the store's errors); it resumes, backfilling the gap "
				"from the hosts, once the disk takes them"
			      : "collection resumes: the store's backlog is down to %.0f MiB",
		       (double)xs_store_backlog(c->store) / (1 << 20));
	c->paused = paused;
	return paused;
}

static void co_fetch(struct co_host *h, int phase)
{
	struct xs_collector *c = h->c;
	struct co_pool *p = h->pool;
	const char *session = xs_pool_client_session(p->pc);
	char url[CO_URL_LEN], sess[512], err[XS_ERR_LEN], host[XS_COLLECT_NAME_LEN + 2];
	char subject[3 * CO_UUID_LEN + 16] = "host=true";
	struct xs_http_request req = { 0 };
	int64_t start;

	if (h->req || !h->live || !session[0] || !p->scheme[0]) {
		if (!h->req) {
			co_backfill_lost(h, phase);
			co_slot_release(h);
			h->state = XS_COLLECT_DOWN;
		}
		return;
	}
	if (co_paused(c)) {
		co_backfill_lost(h, phase);
		co_slot_release(h);
		h->state = XS_COLLECT_IDLE;
		co_timer_set(h, co_jitter(c, CO_PAUSE_WAIT));
		return;
	}
	if (h->timer)
		xs_evloop_cancel_timer(c->loop, h->timer);
	h->timer = 0;
	co_doc_reset(h);
	if (phase == 0 && !h->refetches)
		co_plan_5s(h);
	/* a whole 5 s archive is a backfill too: 1 MB of text, 120 rows held until complete */
	if (phase == 0 && !h->whole) {
		co_slot_release(h);
	} else if (phase == 0 && !co_slot_acquire(h, CO_SLOT_WHOLE)) {
		h->state = XS_COLLECT_IDLE;
		co_timer_set(h, co_jitter(c, CO_SLOT_WAIT));
		return;
	}
	h->phase = phase;
	if (phase)
		start = h->coarse_start ? h->coarse_start : co_phases[phase].whole;
	else if (h->whole)
		start = h->whole_start ? h->whole_start : co_phases[0].whole;
	else
		start = h->start;
	snprintf(host, sizeof(host), strchr(h->address, ':') ? "[%s]" : "%s", h->address);
	if (!co_urlencode(sess, sizeof(sess), session))
		sess[0] = '\0';
	snprintf(h->session, sizeof(h->session), "%s", session);
	if (phase && h->bf_vm) { /* one VM's archives: no host=, no sr_uuid= (SPEC §1.2) */
		memcpy(subject, "vm_uuid=", 8);
		if (!co_urlencode(subject + 8, sizeof(subject) - 8, h->bf_vm->uuid))
			subject[8] = '\0';
	}
	snprintf(url, sizeof(url), "%s://%s%s%s/rrd_updates?start=%lld&%s%s&interval=%lld&session_id=%s",
		 p->scheme, host, p->port[0] ? ":" : "", p->port, (long long)start, subject,
		 phase ? "" : "&cf=AVERAGE", (long long)co_phases[phase].interval, sess);
	req.method = "GET";
	req.url = url;
	req.accept = "text/xml";
	req.tls = &p->tls;
	req.connect_timeout = c->cfg.timeout < CO_CONNECT_TIMEOUT ? c->cfg.timeout : CO_CONNECT_TIMEOUT;
	req.timeout = c->cfg.timeout;
	if (phase || h->whole) {
		req.timeout = c->cfg.timeout > CO_ARCHIVE_TIMEOUT ? c->cfg.timeout : CO_ARCHIVE_TIMEOUT;
		req.stall_timeout = c->cfg.timeout;
	}
	req.max_body = CO_ERROR_BODY;
	req.on_data = co_on_data;
	req.on_done = co_on_done;
	req.arg = h;
	h->serial = ++c->serial;
	h->reader = xs_rrd_reader_new(&co_sink, h);
	h->began = xs_evloop_now();
	h->asked_at = co_host_now(h);
	h->req = xs_http_submit(c->http, &req, err);
	if (!h->req) {
		co_doc_reset(h);
		co_backfill_lost(h, phase);
		co_set_error(h, "%s", err);
		co_backoff(h);
		return;
	}
	h->state = phase ? XS_COLLECT_BACKFILL : XS_COLLECT_FETCHING;
}

/* --- hosts of a pool --- */

static void co_host_free(struct co_host *h)
{
	struct xs_collector *c = h->c;

	if (h->req)
		xs_http_cancel(c->http, h->req);
	if (h->timer)
		xs_evloop_cancel_timer(c->loop, h->timer);
	co_slot_release(h);
	xs_rrd_reader_free(&h->reader);
	free(h->cols);
	free(h->objs);
	free(h->times);
	free(h->vals);
	free(h);
}

static struct co_host *co_host_find(struct co_pool *p, const char *uuid)
{
	for (size_t i = 0; i < p->nhosts; i++)
		if (!strcmp(p->hosts[i]->uuid, uuid))
			return p->hosts[i];
	return NULL;
}

static struct co_host *co_host_add(struct xs_collector *c, struct co_pool *p,
				   const struct xs_topo_host *th)
{
	struct co_host *h = xs_xcalloc(1, sizeof(*h));

	h->c = c;
	h->pool = p;
	snprintf(h->uuid, sizeof(h->uuid), "%s", th->uuid);
	h->st.lag = -1;
	h->st.clock_offset = NAN;
	snprintf(h->st.uuid, sizeof(h->st.uuid), "%s", th->uuid);
	snprintf(h->st.pool, sizeof(h->st.pool), "%s", xs_pool_client_name(p->pc));
	h->state = XS_COLLECT_DOWN;
	if (p->nhosts == p->caphosts) {
		p->caphosts = p->caphosts ? 2 * p->caphosts : 8;
		p->hosts = xs_xrealloc(p->hosts, p->caphosts * sizeof(*p->hosts));
	}
	p->hosts[p->nhosts++] = h;
	return h;
}

/* Scheme and port of the master URL: every host of the pool is asked the same way. */
static void co_pool_base(struct co_pool *p)
{
	const char *url = xs_pool_client_master_url(p->pc), *sep = strstr(url, "://");
	const char *hp, *end, *colon = NULL;

	p->scheme[0] = p->port[0] = '\0';
	if (!sep || (size_t)(sep - url) >= sizeof(p->scheme))
		return;
	memcpy(p->scheme, url, (size_t)(sep - url));
	p->scheme[sep - url] = '\0';
	hp = sep + 3;
	end = hp + strcspn(hp, "/?#");
	/* the port follows the last ':' that is not inside an IPv6 literal */
	for (const char *q = hp; q < end; q++)
		if (*q == ':')
			colon = q;
		else if (*q == ']')
			colon = NULL;
	if (colon && (size_t)(end - colon - 1) < sizeof(p->port)) {
		memcpy(p->port, colon + 1, (size_t)(end - colon - 1));
		p->port[end - colon - 1] = '\0';
	}
}

static void co_pool_sync(struct xs_collector *c, struct co_pool *p)
{
	const struct xs_topo *t = xs_pool_client_topo(p->pc);
	uint64_t version = xs_topo_version(t);
	const char *session = xs_pool_client_session(p->pc);
	struct xs_pool_stats ps;
	bool renewed;

	co_pool_base(p);
	if (!p->synced || version != p->topo_version) {
		for (size_t i = 0; i < p->nhosts; i++)
			p->hosts[i]->seen = false;
		for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++) {
			const struct xs_topo_host *th = xs_topo_host_at(t, i);
			struct co_host *h = th ? co_host_find(p, th->uuid) : NULL;

			if (!th)
				continue;
			if (!h)
				h = co_host_add(c, p, th);
			else if (h->live != th->live)
				/* an admin reading the log sees the outage, not only a gap */
				co_log(c, th->live ? XS_COLLECT_LOG_INFO : XS_COLLECT_LOG_WARN,
				       th->live ? "host %s (%s): live again: collecting, the gap backfilled"
						: "host %s (%s): not live (xapi's host_metrics.live is false): "
						  "not collected until it is",
				       th->name[0] ? th->name : th->uuid, xs_pool_client_name(p->pc));
			h->seen = true;
			h->live = th->live;
			snprintf(h->ref, sizeof(h->ref), "%s", th->ref);
			snprintf(h->name, sizeof(h->name), "%s", th->name[0] ? th->name : th->uuid);
			snprintf(h->st.name, sizeof(h->st.name), "%s", h->name);
			snprintf(h->address, sizeof(h->address), "%s", th->address);
		}
		for (size_t i = 0; i < p->nhosts;) {
			if (p->hosts[i]->seen) {
				i++;
				continue;
			}
			co_host_free(p->hosts[i]);
			p->hosts[i] = p->hosts[--p->nhosts];
		}
		p->topo_version = version;
		p->synced = xs_pool_client_loaded(p->pc);
	}
	/* a new session, or the pool loaded again: what refused the old one may take it */
	xs_pool_client_stats(p->pc, &ps);
	renewed = (session[0] && strcmp(session, p->session) != 0) || ps.loads != p->loads;
	snprintf(p->session, sizeof(p->session), "%s", session);
	p->loads = ps.loads;
	/* a host that was waiting (down, no session; backing off after a 401 when the session
	 * is new) starts at once; a dead one stops. Other backoffs run their course. */
	for (size_t i = 0; i < p->nhosts; i++) {
		struct co_host *h = p->hosts[i];

		if (!h->live && !h->req && h->state != XS_COLLECT_DOWN) {
			if (h->timer)
				xs_evloop_cancel_timer(c->loop, h->timer);
			h->timer = 0;
			h->state = XS_COLLECT_DOWN;
		} else if (h->live && !c->cfg.manual &&
			   (h->state == XS_COLLECT_DOWN ||
			    (renewed && h->state == XS_COLLECT_BACKOFF && h->auth_failed))) {
			h->refetches = 0;
			co_fetch(h, 0);
		}
	}
}

void xs_collector_sync(struct xs_collector *c)
{
	for (size_t i = 0; i < c->npools; i++)
		co_pool_sync(c, c->pools[i]);
}

static void co_sync_cb(struct xs_evloop *loop, void *arg)
{
	struct xs_collector *c = arg;

	xs_collector_sync(c);
	c->sync_timer = xs_evloop_add_timer(loop, CO_SYNC_INTERVAL, co_sync_cb, c);
}

/* --- the public interface --- */

struct xs_collector *xs_collector_new(struct xs_evloop *loop, struct xs_http *http,
				      struct xs_store *store, const struct xs_collector_config *cfg)
{
	struct xs_collector *c = xs_xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->http = http;
	c->store = store;
	if (cfg)
		c->cfg = *cfg;
	if (c->cfg.delay <= 0)
		c->cfg.delay = CO_DEFAULT_DELAY;
	if (c->cfg.retry <= 0)
		c->cfg.retry = CO_DEFAULT_RETRY;
	if (c->cfg.timeout <= 0)
		c->cfg.timeout = CO_DEFAULT_TIMEOUT;
	if (c->cfg.backoff_min <= 0)
		c->cfg.backoff_min = CO_DEFAULT_BACKOFF_MIN;
	if (!c->cfg.backfills)
		c->cfg.backfills = CO_DEFAULT_BACKFILLS;
	if (!(c->cfg.backfill_retry > 0))
		c->cfg.backfill_retry = CO_DEFAULT_BACKFILL_RETRY;
	if (c->cfg.backoff_max < c->cfg.backoff_min)
		c->cfg.backoff_max = c->cfg.backoff_min > CO_DEFAULT_BACKOFF_MAX
					     ? c->cfg.backoff_min
					     : CO_DEFAULT_BACKOFF_MAX;
	c->rng = (uint32_t)time(NULL);
	if (!c->cfg.manual)
		c->sync_timer = xs_evloop_add_timer(loop, CO_SYNC_INTERVAL, co_sync_cb, c);
	return c;
}

static void co_pool_free(struct co_pool *p)
{
	for (size_t i = 0; i < p->nhosts; i++)
		co_host_free(p->hosts[i]);
	free(p->hosts);
	free(p);
}

void xs_collector_free(struct xs_collector **cp)
{
	struct xs_collector *c = cp ? *cp : NULL;

	if (!c)
		return;
	if (c->sync_timer)
		xs_evloop_cancel_timer(c->loop, c->sync_timer);
	for (size_t i = 0; i < c->npools; i++)
		co_pool_free(c->pools[i]);
	free(c->pools);
	for (size_t i = 0; i < c->objcap; i++)
		free(c->objs[i]);
	free(c->objs);
	free(c);
	*cp = NULL;
}

void xs_collector_add_pool(struct xs_collector *c, struct xs_pool_client *pc,
			   const struct xs_tls_opts *tls)
{
	struct co_pool *p;

	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i]->pc == pc)
			return;
	p = xs_xcalloc(1, sizeof(*p));
	p->pc = pc;
	if (tls)
		p->tls = *tls;
	if (c->npools == c->cappools) {
		c->cappools = c->cappools ? 2 * c->cappools : 4;
		c->pools = xs_xrealloc(c->pools, c->cappools * sizeof(*c->pools));
	}
	c->pools[c->npools++] = p;
}

void xs_collector_remove_pool(struct xs_collector *c, struct xs_pool_client *pc)
{
	for (size_t i = 0; i < c->npools; i++) {
		if (c->pools[i]->pc != pc)
			continue;
		co_pool_free(c->pools[i]);
		c->pools[i] = c->pools[--c->npools];
		return;
	}
}

void xs_collector_poll(struct xs_collector *c)
{
	for (size_t i = 0; i < c->npools; i++) {
		struct co_pool *p = c->pools[i];

		for (size_t j = 0; j < p->nhosts; j++) {
			struct co_host *h = p->hosts[j];

			if (!h->req) {
				h->refetches = 0;
				h->expect = 0;
				co_fetch(h, 0);
			}
		}
	}
}

bool xs_collector_idle(const struct xs_collector *c)
{
	for (size_t i = 0; i < c->npools; i++)
		for (size_t j = 0; j < c->pools[i]->nhosts; j++)
			if (c->pools[i]->hosts[j]->req)
				return false;
	return true;
}

size_t xs_collector_status(const struct xs_collector *c, struct xs_collect_host_status *out,
			   size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npools; i++)
		for (size_t j = 0; j < c->pools[i]->nhosts; j++, n++) {
			const struct co_host *h = c->pools[i]->hosts[j];
			bool unsure;

			if (n < cap) {
				struct co_clock k = co_clock_of(h);

				out[n] = h->st;
				out[n].state = h->state;
				out[n].lag = co_lag_at(h, k.now);
				out[n].row_phase = h->row_phase;
				out[n].clock_offset = k.offset;
				out[n].ahead = co_ahead_sure(h, &k, &unsure);
			}
		}
	return n;
}

void xs_collector_stats(const struct xs_collector *c, struct xs_collector_stats *out)
{
	*out = c->stats;
	out->hosts = 0;
	out->busy = 0;
	out->backfilling = 0;
	out->backfill_waiting = 0;
	out->bytes = sizeof(*c) + c->objcap * sizeof(*c->objs) + c->nobjs * sizeof(struct co_obj);
	for (size_t i = 0; i < c->npools; i++)
		for (size_t j = 0; j < c->pools[i]->nhosts; j++) {
			const struct co_host *h = c->pools[i]->hosts[j];

			out->hosts++;
			out->busy += h->req != 0;
			out->backfilling += h->slot == CO_SLOT_COARSE;
			out->backfill_waiting += (h->need_backfill || h->nbf_vms) &&
						 h->slot != CO_SLOT_COARSE;
			out->bytes += sizeof(*h) + h->capcols * sizeof(*h->cols) +
				      h->capobjs * sizeof(*h->objs) + h->caprows * sizeof(*h->times) +
				      h->capvals * sizeof(*h->vals);
		}
}

const char *xs_collect_state_name(enum xs_collect_state s)
{
	static const char *const names[] = { "idle", "fetching", "backfill", "backoff", "down" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
