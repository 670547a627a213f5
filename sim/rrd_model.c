/*
 * rrd_model.c - per-object RRDs of xapi-sim (see rrd_model.h).
 *
 * Time rules (all in simulator time, seconds, steps at multiples of 5):
 *  - history: rows in (hist_from, hist_to] are synthesised from the workload
 *    for data sources that existed when the model was made;
 *  - live: each step the object is live is recorded into the 5 s ring and the
 *    consolidations in progress; a coarse row is written when its period ends;
 *  - anything else is unknown (NaN).
 * The coarse consolidations in progress at start are seeded with the part of
 * their period that lies in the history, so the first live rows are whole.
 *
 * Rings grow: an archive's ring holds the rows recorded since its first live
 * row (ring_rows), in ring_cap >= ring_rows slots at (t / period) % ring_cap.
 * A row that needs more slots moves the ring into a larger block (half as
 * large again), placing each held row at its slot for the new capacity;
 * rows older than those held are synthesised or NaN exactly as before, so a
 * value never depends on the capacity.
 *
 * Ring blocks come from a pool of size-classed slabs (ring_pool_*): every
 * data source of an estate grows at the same boundaries, so a growth wave
 * frees whole slabs of the old size, which are unmapped at once. Through
 * malloc the freed small blocks would stay behind as holes between live ones.
 *
 * Advancing goes RRD by RRD (each catches up from its last_update to the
 * pass's target, in heartbeat-sized spans so no step is taken for a gap), in
 * slices of a bounded number of data-source steps; the world does not change
 * during a pass (sync and control requests finish it first), so this is the
 * same as stepping every RRD at each 5 s step.
 */
#include "rrd_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/xmalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define RING_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define RING_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define RING_POISON(p, n) ((void)(p), (void)(n))
#define RING_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

const struct sim_archive sim_rrd_archives[SIM_RRD_ARCHIVES] = {
	{ 1, 120 }, { 12, 120 }, { 720, 168 }, { 17280, 366 },
};

#define MODEL_HALTED_HISTORY_MAX_H 48 /* a VM halted at start stopped up to 2 days before */
#define MODEL_NCLASSES 3              /* classes with RRDs: host, VM, SR */
#define MODEL_NAMES_MIN 256           /* first size of the name table (a power of 2) */
#define RING_SLAB_SIZE ((size_t)1 << 20) /* bytes per slab, and its alignment */
#define RING_SLAB_HDR 64              /* the slab header, before its first block */
#define RING_MAX_CLASSES 64           /* block sizes: ncf (1, 3) x capacities (~14) */

static const enum sim_class model_classes[MODEL_NCLASSES] = { SIM_HOST, SIM_VM, SIM_SR };

struct ring_class;

/* A slab: RING_SLAB_SIZE bytes, aligned to that size, of blocks of one size. */
struct ring_slab {
	struct ring_slab *prev, *next;   /* every slab of its class */
	struct ring_slab *aprev, *anext; /* the slabs of its class with a free block */
	struct ring_class *cls;
	void *free;                      /* freed blocks, linked through their first bytes */
	uint32_t used;                   /* blocks handed out */
	uint32_t bump;                   /* blocks from here on were never handed out */
	uint32_t nblocks;
};
_Static_assert(sizeof(struct ring_slab) <= RING_SLAB_HDR, "slab header fits");

struct ring_class {
	size_t size;                     /* block bytes */
	struct ring_slab *all, *avail;
	struct ring_slab *spare;         /* an empty slab kept mapped until the next trim */
};

struct ring_pool {
	struct ring_class cls[RING_MAX_CLASSES];
	size_t nclasses;
	size_t mapped;                   /* bytes of slabs mapped */
};

struct sim_rrd_model {
	struct sim_world *w;
	int64_t start;       /* first step recorded live */
	int64_t hist_from;   /* history begins after this time */
	int64_t last_step;   /* last step every RRD was advanced to */
	struct sim_rrd *rrds[SIM_NCLASSES]; /* per class (host, VM, SR), by object index */
	size_t nrrds[SIM_NCLASSES];
	int64_t *hist_to[SIM_NCLASSES];     /* end of each object's history */
	size_t bytes;        /* cells held by rings */
	struct ring_pool pool;
	char **names;        /* interned data-source names, open addressing */
	size_t names_cap, names_used;
	bool pass;           /* a pass of advance_some is in progress */
	int64_t pass_to;     /* its target step */
	size_t pass_k, pass_i; /* next RRD: class (model_classes) and index */
};

static int64_t model_period(int a)
{
	return (int64_t)sim_rrd_archives[a].pdp_per_row * SIM_RRD_STEP;
}

/* --- data-source definitions derived from devices --- */

struct ds_def {
	char name[SIM_DS_NAME_LEN];
	const char *type, *units;
	double min, max;
	enum sim_metric metric;
	double scale;
};

struct ds_list {
	struct ds_def *v;
	size_t n, cap;
};

static void ds_add(struct ds_list *l, const char *type, const char *units, double min,
		   double max, enum sim_metric metric, double scale, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static void ds_add(struct ds_list *l, const char *type, const char *units, double min,
		   double max, enum sim_metric metric, double scale, const char *fmt, ...)
{
	struct ds_def *d;
	va_list ap;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xs_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	d = &l->v[l->n++];
	va_start(ap, fmt);
	vsnprintf(d->name, sizeof(d->name), fmt, ap);
	va_end(ap);
	d->type = type;
	d->units = units;
	d->min = min;
	d->max = max;
	d->metric = metric;
	d->scale = scale;
}

#define GIB (1024.0 * 1024 * 1024)

static void ds_vbd(struct ds_list *l, const char *dev)
{
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 200e6, "vbd_%s_read", dev);
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 200e6, "vbd_%s_write", dev);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 4000, "vbd_%s_read_latency", dev);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 4000, "vbd_%s_write_latency", dev);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 4000, "vbd_%s_iops_read", dev);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 4000, "vbd_%s_iops_write",
	       dev);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 8000, "vbd_%s_iops_total",
	       dev);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 200,
	       "vbd_%s_io_throughput_read", dev);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 200,
	       "vbd_%s_io_throughput_write", dev);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 400,
	       "vbd_%s_io_throughput_total", dev);
	ds_add(l, "ABSOLUTE", "s/s", 0, INFINITY, SIM_M_IOWAIT, 2, "vbd_%s_iowait", dev);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 64, "vbd_%s_inflight", dev);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 4000, "vbd_%s_latency", dev);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 64, "vbd_%s_avgqu_sz", dev);
}

static void ds_vm(const struct sim_world *w, const struct sim_vm *vm, struct ds_list *l)
{
	double mem = (double)vm->memory_target;

	for (int c = 0; c < vm->vcpus; c++)
		ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu%d", c);
	ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu_usage");
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_BYTES, mem, "memory");
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_BYTES, mem, "memory_target");
	if (vm->guest_tools)
		ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_MEM_FREE_KIB, mem / 1024 * 0.8,
		       "memory_internal_free");
	for (size_t i = 0; i < vm->nvifs; i++) {
		const struct sim_vif *vif = SIM_GET(w, SIM_VIF, sim_vif, vm->vifs[i]);

		if (!vif || vif->o.deleted)
			continue;
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 12.5e6, "vif_%s_rx", vif->device);
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 12.5e6, "vif_%s_tx", vif->device);
	}
	for (size_t i = 0; i < vm->nvbds; i++) {
		const struct sim_vbd *vbd = SIM_GET(w, SIM_VBD, sim_vbd, vm->vbds[i]);

		if (vbd && !vbd->o.deleted && !vbd->is_cd)
			ds_vbd(l, vbd->device);
	}
}

static void ds_sr_on_host(struct ds_list *l, const char *sr8)
{
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 400e6, "read_%s", sr8);
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 400e6, "write_%s", sr8);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 3000, "read_latency_%s", sr8);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 3000, "write_latency_%s", sr8);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 400,
	       "io_throughput_read_%s", sr8);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 400,
	       "io_throughput_write_%s", sr8);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 800,
	       "io_throughput_total_%s", sr8);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 8000, "iops_read_%s", sr8);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 8000, "iops_write_%s", sr8);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 16000, "iops_total_%s", sr8);
	ds_add(l, "ABSOLUTE", "s/s", 0, INFINITY, SIM_M_IOWAIT, 4, "iowait_%s", sr8);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 128, "inflight_%s", sr8);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 3000, "latency_%s", sr8);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 128, "avgqu_sz_%s", sr8);
}

static void ds_host(const struct sim_world *w, const struct sim_host *h, struct ds_list *l)
{
	const struct sim_pool *pool = SIM_GET(w, SIM_POOL, sim_pool, h->pool);
	double kib = (double)h->memory_total / 1024;

	for (int c = 0; c < h->cpus; c++)
		ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu%d", c);
	ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu_avg");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_LOAD, 2, "loadavg");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_LOAD, 1, "hostload");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 40, "running_vcpus");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 20, "running_domains");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_MEM_TOTAL_KIB, kib, "memory_total_kib");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_MEM_FREE_KIB, kib * 0.6, "memory_free_kib");
	ds_add(l, "GAUGE", "B", -INFINITY, INFINITY, SIM_M_MEM_FREE_KIB, 512e6, "memory_reclaimed");
	ds_add(l, "GAUGE", "B", -INFINITY, INFINITY, SIM_M_MEM_FREE_KIB, 2e9, "memory_reclaimed_max");
	for (size_t i = 0; i < h->npifs; i++) {
		const struct sim_pif *pif = SIM_GET(w, SIM_PIF, sim_pif, h->pifs[i]);

		if (!pif || pif->o.deleted)
			continue;
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 1.25e8, "pif_%s_rx", pif->device);
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 1.25e8, "pif_%s_tx", pif->device);
	}
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 5e8, "pif_aggr_rx");
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 5e8, "pif_aggr_tx");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_KIB, 400000, "xapi_memory_usage_kib");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_KIB, 200000, "xapi_free_memory_kib");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_KIB, 150000, "xapi_live_memory_kib");
	ds_add(l, "DERIVE", "KiB/s", 0, INFINITY, SIM_M_KIB, 5000, "xapi_allocation_kib");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 60, "xapi_open_fds");
	if (pool && pool->master == h->o.index) {
		ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 10, "pool_session_count");
		ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 3, "pool_task_count");
	}
	for (size_t i = 0; i < sim_world_count(w, SIM_PBD); i++) {
		const struct sim_pbd *pbd = SIM_GET(w, SIM_PBD, sim_pbd, (int)i);
		const struct sim_sr *sr;
		char sr8[9];

		if (!pbd || pbd->o.deleted || pbd->host != h->o.index)
			continue;
		sr = SIM_GET(w, SIM_SR, sim_sr, pbd->sr);
		if (!sr || sr->o.deleted)
			continue;
		memcpy(sr8, sr->o.uuid, 8);
		sr8[8] = '\0';
		ds_sr_on_host(l, sr8);
	}
}

static void ds_sr(const struct sim_sr *sr, struct ds_list *l)
{
	(void)sr;
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_BYTES, 2e12, "size");
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_FREE_KIB, 1.2e12, "physical_utilisation");
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 800e6, "read");
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 800e6, "write");
}

/* --- the slab pool of ring blocks --- */

static struct ring_slab *ring_slab_of(const void *block)
{
	return (struct ring_slab *)((uintptr_t)block & ~(uintptr_t)(RING_SLAB_SIZE - 1));
}

static void *ring_block(struct ring_slab *s, uint32_t i)
{
	return (char *)s + RING_SLAB_HDR + (size_t)i * s->cls->size;
}

/* A new slab, aligned to its size: map twice the size, unmap the excess. */
static struct ring_slab *ring_slab_map(struct ring_pool *p, struct ring_class *c)
{
	char *raw = mmap(NULL, 2 * RING_SLAB_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t at;
	struct ring_slab *s;

	if (raw == MAP_FAILED) {
		fprintf(stderr, "xapi-sim: out of memory for RRD rows\n");
		abort();
	}
	at = ((uintptr_t)raw + RING_SLAB_SIZE - 1) & ~(uintptr_t)(RING_SLAB_SIZE - 1);
	if (at > (uintptr_t)raw)
		munmap(raw, at - (uintptr_t)raw);
	munmap((char *)at + RING_SLAB_SIZE, (uintptr_t)raw + RING_SLAB_SIZE - at);
	s = (struct ring_slab *)at;
	memset(s, 0, sizeof(*s));
	s->cls = c;
	s->nblocks = (uint32_t)((RING_SLAB_SIZE - RING_SLAB_HDR) / c->size);
	RING_POISON((char *)s + RING_SLAB_HDR, RING_SLAB_SIZE - RING_SLAB_HDR);
	s->next = c->all;
	if (c->all)
		c->all->prev = s;
	c->all = s;
	s->anext = c->avail;
	if (c->avail)
		c->avail->aprev = s;
	c->avail = s;
	p->mapped += RING_SLAB_SIZE;
	return s;
}

static void ring_avail_unlink(struct ring_class *c, struct ring_slab *s)
{
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		c->avail = s->anext;
	if (s->anext)
		s->anext->aprev = s->aprev;
	s->aprev = s->anext = NULL;
}

static void ring_slab_unmap(struct ring_pool *p, struct ring_slab *s)
{
	struct ring_class *c = s->cls;

	if (c->avail == s || s->aprev || s->anext)
		ring_avail_unlink(c, s);
	if (s->prev)
		s->prev->next = s->next;
	else
		c->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	RING_UNPOISON(s, RING_SLAB_SIZE);
	munmap(s, RING_SLAB_SIZE);
	p->mapped -= RING_SLAB_SIZE;
}

static struct ring_class *ring_class_of(struct ring_pool *p, size_t size)
{
	for (size_t i = 0; i < p->nclasses; i++)
		if (p->cls[i].size == size)
			return &p->cls[i];
	if (p->nclasses == RING_MAX_CLASSES || size > RING_SLAB_SIZE - RING_SLAB_HDR) {
		fprintf(stderr, "xapi-sim: no ring class for %zu bytes\n", size);
		abort();
	}
	p->cls[p->nclasses].size = size;
	return &p->cls[p->nclasses++];
}

/* A block of size bytes (a multiple of 8), uninitialised. Aborts on OOM. */
static void *ring_alloc(struct ring_pool *p, size_t size)
{
	struct ring_class *c = ring_class_of(p, size);
	struct ring_slab *s = c->avail ? c->avail : ring_slab_map(p, c);
	void *b;

	if (s->free) {
		b = s->free;
		RING_UNPOISON(b, size);
		memcpy(&s->free, b, sizeof(s->free));
	} else {
		b = ring_block(s, s->bump++);
		RING_UNPOISON(b, size);
	}
	s->used++;
	if (s == c->spare)
		c->spare = NULL;
	if (!s->free && s->bump == s->nblocks)
		ring_avail_unlink(c, s);
	return b;
}

/* Gives a block back. A slab left empty is kept as its class's spare, or
 * unmapped if the class has one: one data source growing through several
 * sizes in a row would otherwise map and unmap a slab per size. Accepts NULL. */
static void ring_release(struct ring_pool *p, void *b)
{
	struct ring_slab *s;
	bool was_full;

	if (!b)
		return;
	s = ring_slab_of(b);
	was_full = !s->free && s->bump == s->nblocks;
	memcpy(b, &s->free, sizeof(s->free));
	s->free = b;
	RING_POISON(b, s->cls->size);
	if (--s->used == 0 && s->cls->spare) {
		ring_slab_unmap(p, s);
		return;
	}
	if (s->used == 0)
		s->cls->spare = s;
	if (was_full) {
		s->anext = s->cls->avail;
		if (s->cls->avail)
			s->cls->avail->aprev = s;
		s->cls->avail = s;
	}
}

/* Unmaps the spare slabs (at the end of a pass, when a growth wave is over). */
static void ring_pool_trim(struct ring_pool *p)
{
	for (size_t i = 0; i < p->nclasses; i++) {
		if (p->cls[i].spare)
			ring_slab_unmap(p, p->cls[i].spare);
		p->cls[i].spare = NULL;
	}
}

static void ring_pool_cleanup(struct ring_pool *p)
{
	for (size_t i = 0; i < p->nclasses; i++) {
		while (p->cls[i].all)
			ring_slab_unmap(p, p->cls[i].all);
		p->cls[i].spare = NULL;
	}
	p->nclasses = 0;
}

/* --- interned data-source names --- */

static void model_names_put(char **v, size_t cap, char *name)
{
	size_t i = (size_t)sim_hash_str(0, name) & (cap - 1);

	while (v[i])
		i = (i + 1) & (cap - 1);
	v[i] = name;
}

/* The model's copy of name, made on first use; it lives as long as the model. */
static const char *model_intern(struct sim_rrd_model *m, const char *name)
{
	size_t i;

	if (2 * (m->names_used + 1) > m->names_cap) {
		size_t cap = m->names_cap ? 2 * m->names_cap : MODEL_NAMES_MIN;
		char **v = xs_xcalloc(cap, sizeof(*v));

		for (size_t k = 0; k < m->names_cap; k++)
			if (m->names[k])
				model_names_put(v, cap, m->names[k]);
		free(m->names);
		m->names = v;
		m->names_cap = cap;
	}
	i = (size_t)sim_hash_str(0, name) & (m->names_cap - 1);
	while (m->names[i]) {
		if (!strcmp(m->names[i], name))
			return m->names[i];
		i = (i + 1) & (m->names_cap - 1);
	}
	m->names[i] = xs_xstrndup(name, strlen(name));
	m->names_used++;
	return m->names[i];
}

/* --- rings --- */

static size_t ring_slot(int a, int64_t t, unsigned cap)
{
	return (size_t)((t / model_period(a)) % cap);
}

/* Capacity for need rows: from cap (or the minimum) up by halves, in
 * multiples of SIM_RRD_RING_MIN, never above the archive's rows. */
static unsigned ring_grown(int a, unsigned cap, unsigned need)
{
	unsigned rows = (unsigned)sim_rrd_archives[a].rows;
	unsigned c = cap ? cap : SIM_RRD_RING_MIN;

	while (c < need) {
		c += c / 2;
		c = (c + SIM_RRD_RING_MIN - 1) / SIM_RRD_RING_MIN * SIM_RRD_RING_MIN;
	}
	return c < rows ? c : rows;
}

/* Moves d's ring of archive a into cap slots, each held row to its slot for
 * the new capacity; the other slots are unknown. */
static void ring_resize(struct sim_rrd_model *m, struct sim_ds *d, int a, int ncf, unsigned cap)
{
	float *old = d->ring[a];
	unsigned ocap = d->ring_cap[a];
	int64_t p = model_period(a);
	float *cells = ring_alloc(&m->pool, (size_t)ncf * cap * sizeof(float));

	for (size_t i = 0; i < (size_t)ncf * cap; i++)
		cells[i] = NAN;
	for (unsigned k = 0; old && k < d->ring_rows[a]; k++) {
		int64_t t = d->ring_last[a] - (int64_t)k * p;

		for (int c = 0; c < ncf; c++)
			cells[(size_t)c * cap + ring_slot(a, t, cap)] =
				old[(size_t)c * ocap + ring_slot(a, t, ocap)];
	}
	ring_release(&m->pool, old);
	m->bytes += (size_t)ncf * (cap - ocap) * sizeof(float);
	d->ring[a] = cells;
	d->ring_cap[a] = (uint16_t)cap;
}

static void ring_write(struct sim_rrd_model *m, struct sim_ds *d, int a, int ncf,
		       int64_t t, const float *v)
{
	unsigned rows = (unsigned)sim_rrd_archives[a].rows, need, cap;
	int64_t p = model_period(a), gap, from;

	if (!d->ring[a]) {
		d->ring_rows[a] = 0;
		d->ring_last[a] = t - p;
	}
	gap = t > d->ring_last[a] ? (t - d->ring_last[a]) / p : 0;
	need = gap >= rows ? rows : d->ring_rows[a] + (unsigned)gap;
	need = need < rows ? need : rows;
	if (!d->ring[a] || need > d->ring_cap[a])
		ring_resize(m, d, a, ncf, ring_grown(a, d->ring_cap[a], need));
	cap = d->ring_cap[a];
	/* rows skipped since the last one written are unknown: those that share
	 * the window of held rows with t */
	from = d->ring_last[a] + p;
	if (from < t - (int64_t)(need - 1) * p)
		from = t - (int64_t)(need - 1) * p;
	for (int64_t s = from; s < t; s += p)
		for (int c = 0; c < ncf; c++)
			d->ring[a][(size_t)c * cap + ring_slot(a, s, cap)] = NAN;
	for (int c = 0; c < ncf; c++)
		d->ring[a][(size_t)c * cap + ring_slot(a, t, cap)] = v[c];
	if (t > d->ring_last[a]) {
		d->ring_last[a] = t;
		d->ring_rows[a] = (uint16_t)need;
	}
}

/* --- recording steps --- */

static void cdp_reset(struct sim_ds *d, int a)
{
	d->cdp_sum[a - 1] = 0;
	d->cdp_min[a - 1] = INFINITY;
	d->cdp_max[a - 1] = -INFINITY;
	d->cdp_known[a - 1] = 0;
}

/* Ends the consolidation of archive a at t: writes its row (NaN when more
 * than xff of its steps were unknown) and starts the next. */
static void cdp_finish(struct sim_rrd_model *m, const struct sim_rrd *r, struct sim_ds *d, int a,
		       int64_t t)
{
	int ppr = sim_rrd_archives[a].pdp_per_row;
	float row[SIM_NCF];

	if ((double)(ppr - d->cdp_known[a - 1]) / ppr > SIM_RRD_XFF) {
		row[0] = row[1] = row[2] = NAN;
	} else {
		row[SIM_CF_AVERAGE] = (float)(d->cdp_sum[a - 1] / d->cdp_known[a - 1]);
		row[SIM_CF_MIN] = d->cdp_min[a - 1];
		row[SIM_CF_MAX] = d->cdp_max[a - 1];
	}
	ring_write(m, d, a, r->minmax ? SIM_NCF : 1, t, row);
	cdp_reset(d, a);
}

/* Records step t of d: its workload value, or unknown. */
static void ds_step(struct sim_rrd_model *m, const struct sim_rrd *r, struct sim_ds *d, int64_t t,
		    bool known)
{
	float v = known ? (float)sim_workload_value(&d->series, t) : NAN;

	ring_write(m, d, 0, 1, t, &v);
	for (int a = 1; a < SIM_RRD_ARCHIVES; a++) {
		if (known) {
			d->cdp_sum[a - 1] += v;
			d->cdp_known[a - 1]++;
			if (v < d->cdp_min[a - 1])
				d->cdp_min[a - 1] = v;
			if (v > d->cdp_max[a - 1])
				d->cdp_max[a - 1] = v;
		}
		if (t % model_period(a) == 0)
			cdp_finish(m, r, d, a, t);
	}
}

/*
 * The steps strictly between last and t are unknown (a gap beyond the
 * heartbeat), in O(archives): the consolidation in progress ends at its
 * boundary with what it had; whole rows inside the gap become NaN when the
 * next row is written (ring_write); the 5 s rows likewise.
 */
static void ds_skip(struct sim_rrd_model *m, const struct sim_rrd *r, struct sim_ds *d,
		    int64_t last, int64_t t)
{
	for (int a = 1; a < SIM_RRD_ARCHIVES; a++) {
		int64_t p = model_period(a);
		int64_t boundary = (last / p + 1) * p;

		if (boundary < t && d->created <= last)
			cdp_finish(m, r, d, a, boundary);
		if (boundary < t)
			cdp_reset(d, a);
	}
}

/* Seeds the consolidations in progress at the model's start with history. */
static void ds_seed_cdp(const struct sim_rrd_model *m, struct sim_ds *d, int64_t hist_to)
{
	for (int a = 1; a < SIM_RRD_ARCHIVES; a++) {
		int64_t p = model_period(a);
		/* the row step `start` belongs to covers (begin, begin + p] */
		int64_t begin = ((m->start - SIM_RRD_STEP) / p) * p;
		int64_t steps = (m->start - begin) / SIM_RRD_STEP; /* history steps + 1 */
		double avg, min, max;

		cdp_reset(d, a);
		if (steps <= 1 || begin < m->hist_from || m->start - SIM_RRD_STEP > hist_to)
			continue;
		if (a == 1) {
			for (int64_t t = begin + SIM_RRD_STEP; t < m->start; t += SIM_RRD_STEP) {
				float v = (float)sim_workload_value(&d->series, t);

				d->cdp_sum[a - 1] += v;
				d->cdp_known[a - 1]++;
				d->cdp_min[a - 1] = v < d->cdp_min[a - 1] ? v : d->cdp_min[a - 1];
				d->cdp_max[a - 1] = v > d->cdp_max[a - 1] ? v : d->cdp_max[a - 1];
			}
			continue;
		}
		/* the same summary a synthesised row ending at begin + p has */
		sim_workload_summary(&d->series, begin + p, p, &avg, &min, &max);
		d->cdp_known[a - 1] = (uint16_t)(steps - 1);
		d->cdp_sum[a - 1] = avg * (double)(steps - 1);
		d->cdp_min[a - 1] = (float)min;
		d->cdp_max[a - 1] = (float)max;
	}
}

/* --- sync: data sources from devices --- */

static struct sim_rrd *model_slot(struct sim_rrd_model *m, enum sim_class c, int index)
{
	if ((size_t)index >= m->nrrds[c]) {
		size_t n = (size_t)index + 1 + m->nrrds[c];

		m->rrds[c] = xs_xrealloc(m->rrds[c], n * sizeof(*m->rrds[c]));
		m->hist_to[c] = xs_xrealloc(m->hist_to[c], n * sizeof(*m->hist_to[c]));
		memset(m->rrds[c] + m->nrrds[c], 0, (n - m->nrrds[c]) * sizeof(*m->rrds[c]));
		for (size_t i = m->nrrds[c]; i < n; i++)
			m->hist_to[c][i] = INT64_MIN;
		m->nrrds[c] = n;
	}
	return &m->rrds[c][index];
}

static void ds_free_rings(struct sim_rrd_model *m, struct sim_ds *d, bool minmax)
{
	for (int a = 0; a < SIM_RRD_ARCHIVES; a++) {
		if (!d->ring[a])
			continue;
		m->bytes -= (size_t)(a && minmax ? SIM_NCF : 1) * d->ring_cap[a] * sizeof(float);
		ring_release(&m->pool, d->ring[a]);
		d->ring[a] = NULL;
		d->ring_cap[a] = d->ring_rows[a] = 0;
	}
}

/* The data source of r named name (interned: compared by pointer), or NULL;
 * hint is where it was before. */
static struct sim_ds *rrd_ds_find(struct sim_rrd *r, const char *name, size_t hint)
{
	if (hint < r->nds && r->ds[hint].name == name)
		return &r->ds[hint];
	for (size_t i = 0; i < r->nds; i++)
		if (r->ds[i].name == name)
			return &r->ds[i];
	return NULL;
}

static void rrd_apply(struct sim_rrd_model *m, struct sim_rrd *r, const struct sim_obj *o,
		      const struct ds_list *want, bool at_start)
{
	for (size_t i = 0; i < r->nds; i++)
		r->ds[i].seen = false;
	for (size_t k = 0; k < want->n; k++) {
		const struct ds_def *def = &want->v[k];
		const char *name = model_intern(m, def->name);
		struct sim_ds *d = rrd_ds_find(r, name, k);

		if (!d) {
			if (r->nds == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 32;
				r->ds = xs_xrealloc(r->ds, r->cap * sizeof(*r->ds));
			}
			d = &r->ds[r->nds++];
			memset(d, 0, sizeof(*d));
			d->name = name;
			d->created = at_start ? m->start : m->last_step + SIM_RRD_STEP;
			for (int a = 1; a < SIM_RRD_ARCHIVES; a++)
				cdp_reset(d, a);
		}
		d->type = def->type;
		d->units = def->units;
		d->min = (float)def->min;
		d->max = (float)def->max;
		d->series.metric = def->metric;
		d->series.scale = def->scale;
		d->series.max = isinf(def->max) ? 1e300 : def->max;
		d->series.seed = sim_hash_str(sim_hash_str(m->w->seed, o->uuid), def->name);
		d->series.device =
			sim_workload_device(sim_hash_str(m->w->seed, o->uuid), def->name);
		d->seen = true;
		if (at_start)
			ds_seed_cdp(m, d, m->hist_to[o->cls][o->index]);
	}
	for (size_t i = 0; i < r->nds;) {
		if (r->ds[i].seen) {
			i++;
			continue;
		}
		ds_free_rings(m, &r->ds[i], r->minmax);
		memmove(&r->ds[i], &r->ds[i + 1], (r->nds - i - 1) * sizeof(*r->ds));
		r->nds--;
	}
	if (r->cap > r->nds && r->nds) { /* most RRDs never change: no slack */
		r->cap = r->nds;
		r->ds = xs_xrealloc(r->ds, r->cap * sizeof(*r->ds));
	}
}

static bool model_host_live(const struct sim_world *w, int host)
{
	const struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, host);
	const struct sim_host_metrics *hm = h ? SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics,
							 h->metrics)
					      : NULL;

	return h && !h->o.deleted && hm && hm->live;
}

static bool model_live(const struct sim_world *w, enum sim_class c, int index)
{
	if (c == SIM_HOST)
		return model_host_live(w, index);
	if (c == SIM_VM) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, index);
		return vm && !vm->o.deleted && vm->power == SIM_RUNNING &&
		       model_host_live(w, vm->resident_on);
	}
	for (size_t i = 0; i < sim_world_count(w, SIM_PBD); i++) {
		const struct sim_pbd *pbd = SIM_GET(w, SIM_PBD, sim_pbd, (int)i);
		if (pbd && !pbd->o.deleted && pbd->sr == index && model_host_live(w, pbd->host))
			return true;
	}
	return false;
}

static void model_sync(struct sim_rrd_model *m, bool at_start)
{
	struct ds_list want = { 0 };

	for (size_t k = 0; k < MODEL_NCLASSES; k++) {
		enum sim_class c = model_classes[k];
		for (size_t i = 0; i < sim_world_count(m->w, c); i++) {
			struct sim_obj *o = sim_world_get(m->w, c, (int)i);
			struct sim_rrd *r = model_slot(m, c, (int)i);

			if (!o || o->deleted)
				continue; /* a deleted object keeps its rows until it is gone */
			if (c == SIM_SR && !((struct sim_sr *)(void *)o)->shared)
				continue; /* only shared SRs have SR statistics */
			if (c == SIM_VM && !r->exists && !at_start && !model_live(m->w, c, (int)i))
				continue; /* a VM gets an RRD when it first runs */
			if (!r->exists) {
				r->exists = true;
				r->cls = c;
				r->index = (int)i;
				r->minmax = c == SIM_HOST;
				r->last_update = at_start ? m->start : m->last_step;
			}
			if (at_start) {
				int64_t to = m->start - SIM_RRD_STEP;
				if (c == SIM_VM && !model_live(m->w, c, (int)i))
					to -= 3600 * (int64_t)(1 + sim_hash2(m->w->seed, i) %
									MODEL_HALTED_HISTORY_MAX_H);
				m->hist_to[c][i] = to;
				r->last_update = to;
			}
			want.n = 0;
			if (c == SIM_HOST)
				ds_host(m->w, (struct sim_host *)(void *)o, &want);
			else if (c == SIM_VM)
				ds_vm(m->w, (struct sim_vm *)(void *)o, &want);
			else
				ds_sr((struct sim_sr *)(void *)o, &want);
			rrd_apply(m, r, o, &want, at_start);
		}
	}
	free(want.v);
}

struct sim_rrd_model *sim_rrd_model_new(struct sim_world *w, int64_t now, int history_days)
{
	struct sim_rrd_model *m = xs_xcalloc(1, sizeof(*m));

	m->w = w;
	m->start = (now / SIM_RRD_STEP) * SIM_RRD_STEP + SIM_RRD_STEP;
	m->hist_from = m->start - SIM_RRD_STEP - (int64_t)history_days * 86400;
	m->last_step = m->start - SIM_RRD_STEP;
	model_sync(m, true);
	return m;
}

void sim_rrd_model_sync(struct sim_rrd_model *m)
{
	if (m->pass)
		sim_rrd_model_advance(m, m->pass_to);
	model_sync(m, false);
}

void sim_rrd_model_free(struct sim_rrd_model **mp)
{
	struct sim_rrd_model *m = mp ? *mp : NULL;

	if (!m)
		return;
	for (int c = 0; c < SIM_NCLASSES; c++) {
		for (size_t i = 0; i < m->nrrds[c]; i++)
			free(m->rrds[c][i].ds);
		free(m->rrds[c]);
		free(m->hist_to[c]);
	}
	ring_pool_cleanup(&m->pool); /* every ring at once */
	for (size_t i = 0; i < m->names_cap; i++)
		free(m->names[i]);
	free(m->names);
	free(m);
	*mp = NULL;
}

/* Records step t for r, first making the steps it missed unknown (a gap
 * beyond the heartbeat) or recording them (a shorter one). */
static void rrd_record(struct sim_rrd_model *m, struct sim_rrd *r, int64_t t)
{
	int64_t last = r->last_update;
	bool lost = t - last > SIM_RRD_HEARTBEAT;

	for (size_t k = 0; k < r->nds; k++) {
		struct sim_ds *d = &r->ds[k];

		if (d->created > t)
			continue;
		if (lost)
			ds_skip(m, r, d, last, t);
		else
			for (int64_t s = last + SIM_RRD_STEP; s < t; s += SIM_RRD_STEP)
				if (d->created <= s)
					ds_step(m, r, d, s, true);
		ds_step(m, r, d, t, true);
	}
	r->last_update = t;
}

/*
 * Brings live r from the pass's first step `from` to `to`, as recording it at
 * every step in between would: the first step meets whatever gap r had
 * before the pass, the rest are heartbeat-sized spans of steps it lived
 * through. Returns the data-source steps done.
 */
static size_t rrd_catch_up(struct sim_rrd_model *m, struct sim_rrd *r, int64_t from, int64_t to)
{
	size_t steps = 0;

	if (r->last_update < from && from <= to) {
		rrd_record(m, r, from);
		steps++;
	}
	while (r->last_update < to) {
		int64_t t = r->last_update + SIM_RRD_HEARTBEAT;

		t = t < to ? t : to;
		steps += (size_t)((t - r->last_update) / SIM_RRD_STEP);
		rrd_record(m, r, t);
	}
	return steps * (r->nds ? r->nds : 1);
}

bool sim_rrd_model_advance_some(struct sim_rrd_model *m, int64_t now, size_t budget)
{
	int64_t target = (now / SIM_RRD_STEP) * SIM_RRD_STEP;
	size_t work = 0;

	if (!m->pass) {
		if (target <= m->last_step)
			return true;
		m->pass = true;
		m->pass_to = target;
		m->pass_k = m->pass_i = 0;
	}
	while (m->pass_k < MODEL_NCLASSES) {
		enum sim_class c = model_classes[m->pass_k];
		struct sim_rrd *r;
		int i;

		if (m->pass_i >= m->nrrds[c]) {
			m->pass_k++;
			m->pass_i = 0;
			continue;
		}
		if (work && work >= budget)
			return false;
		i = (int)m->pass_i++;
		r = &m->rrds[c][i];
		work++; /* looking at an RRD costs something too */
		if (r->exists && model_live(m->w, c, i))
			work += rrd_catch_up(m, r, m->last_step + SIM_RRD_STEP, m->pass_to);
	}
	m->last_step = m->pass_to;
	m->pass = false;
	ring_pool_trim(&m->pool);
	return target <= m->last_step;
}

void sim_rrd_model_advance(struct sim_rrd_model *m, int64_t now)
{
	while (!sim_rrd_model_advance_some(m, now, SIZE_MAX))
		;
}

const struct sim_rrd *sim_rrd_model_get(const struct sim_rrd_model *m, enum sim_class cls,
					int index)
{
	if (index < 0 || (size_t)index >= m->nrrds[cls] || !m->rrds[cls][index].exists)
		return NULL;
	return &m->rrds[cls][index];
}

bool sim_rrd_has_cf(const struct sim_rrd *r, int archive, enum sim_cf cf)
{
	return cf == SIM_CF_AVERAGE || (r->minmax && archive > 0);
}

/* A history cell, synthesised from the workload. */
static float model_synth(const struct sim_ds *d, int archive, enum sim_cf cf, int64_t t)
{
	int64_t p = model_period(archive);
	double avg = 0, min = INFINITY, max = -INFINITY;

	if (archive == 0)
		return (float)sim_workload_value(&d->series, t);
	if (archive == 1) {
		for (int64_t s = t - p + SIM_RRD_STEP; s <= t; s += SIM_RRD_STEP) {
			float v = (float)sim_workload_value(&d->series, s);
			avg += v;
			min = v < min ? v : min;
			max = v > max ? v : max;
		}
		avg /= (double)sim_rrd_archives[1].pdp_per_row;
	} else {
		sim_workload_summary(&d->series, t, p, &avg, &min, &max);
	}
	return (float)(cf == SIM_CF_AVERAGE ? avg : cf == SIM_CF_MIN ? min : max);
}

float sim_rrd_value(const struct sim_rrd_model *m, const struct sim_rrd *r, int archive,
		    enum sim_cf cf, size_t ds, int64_t t)
{
	const struct sim_ds *d;
	int64_t p = model_period(archive);
	int rows = sim_rrd_archives[archive].rows;
	int64_t hist_to;

	int64_t newest = (r->last_update / p) * p; /* the archive's newest row */

	if (ds >= r->nds || !sim_rrd_has_cf(r, archive, cf) || t % p)
		return NAN;
	if (t > newest || newest - t >= rows * p)
		return NAN; /* not (or no longer) one of the archive's rows */
	d = &r->ds[ds];
	if (d->ring[archive] && t <= d->ring_last[archive] &&
	    d->ring_last[archive] - t < (int64_t)d->ring_rows[archive] * p)
		return d->ring[archive][(size_t)(archive ? cf : 0) * d->ring_cap[archive] +
					ring_slot(archive, t, d->ring_cap[archive])];
	hist_to = m->hist_to[r->cls][r->index];
	if (d->created == m->start && t > m->hist_from + (archive ? p - SIM_RRD_STEP : 0) &&
	    t <= hist_to)
		return model_synth(d, archive, cf, t);
	return NAN;
}

size_t sim_rrd_model_bytes(const struct sim_rrd_model *m)
{
	return m->bytes;
}

size_t sim_rrd_model_slab_bytes(const struct sim_rrd_model *m)
{
	return m->pool.mapped;
}
