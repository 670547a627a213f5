/*
 * prom.c - GET /metrics (prom.h): the latest value of every series in
 * Prometheus text format 0.0.4.
 *
 * Two passes, sized for 660k series:
 *   1. xs_store_each: each fresh series is looked up by (kind, DS name, unit)
 *      in a small table that classifies it (prom_classify.c: which family,
 *      which part of its DS name is a device), names its family and unit
 *      factor once per distinct DS name, not once per series. Its object is
 *      resolved once (the pool, names and uuids escaped into one label
 *      prefix per object), and its device once per (object, device): the
 *      topology lookups (VIF → network, VBD → VDI and SR, PIF, SR prefix)
 *      and escaping are done there and the label text is shared by every
 *      family of the device. One 16-byte record per sample.
 *   2. a counting sort by family, then per family HELP, TYPE and its lines,
 *      each line copied from the precomputed texts straight into a chunk of
 *      PROM_CHUNK bytes reserved once; the next chunk is made when the reader
 *      has taken this one (struct xs_prom_body), so the body (170 MB at
 *      20,000 VMs) is never whole in memory and pass 2 needs neither the
 *      store nor the topologies.
 * No allocation per sample beyond the growing arrays, no topology lookup per
 * sample. An object's series are usually adjacent in the catalog, which
 * prom_dev exploits (see there); any order gives the same output. Strings the
 * store hands to the catalog callback live in its arena and stay valid for
 * the call (nothing is appended to the store meanwhile); records keep pointers.
 *
 * Invariants of the output: every family has one HELP and one TYPE line and
 * its samples follow them contiguously; names match [a-zA-Z_:][a-zA-Z0-9_:]*
 * (DS names are lower-cased and other characters become '_'); label values
 * are valid UTF-8 (invalid bytes become U+FFFD) with \\, \" and \n escaped;
 * no NaN; no timestamps; no series (name and labels) twice, even from two DS
 * names that differ only where a name cannot (prom_clash).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/json_out.h"
#include "lib/num.h"
#include "lib/xmalloc.h"
#include "query/prom.h"
#include "query/status.h"
#include "query/prom_classify.h"
#include "query/prom_number.h"
#include "query/series_map.h"
#include "query/status.h"
#include "query/xo_stats.h"

#define PROM_ARENA_LIMIT (1u << 30)  /* working text: names, help, object labels */
#define PROM_NONE UINT32_MAX
#define PROM_CHUNK (256u << 10)      /* body bytes made per fill (xs_prom_body_read) */
#define PROM_LINE_ROOM (64u << 10)   /* room past PROM_CHUNK reserved for the line that crosses it */
#define PROM_CHUNK_LIMIT (256u << 20) /* a chunk's hard cap: a few lines past PROM_CHUNK at most */


struct prom_family {
	uint32_t name_off, name_len; /* in text */
	uint32_t help_off, help_len; /* in text */
	uint32_t count, next;        /* samples; fill position during the sort */
	uint8_t kind;                /* of its first series: names the rule's labels */
	bool host_cpu;               /* xapistat_host_cpu_usage_ratio: a host's cpuN */
	bool clash;                  /* two DS names make it for one device: see prom_clash */
};

struct prom_object {
	const char *uuid;            /* the store's string */
	const struct xs_topo *topo;  /* of its pool; NULL when no pool knows it */
	uint32_t labels_off, labels_len; /* pool="..",host=".." .. in text, no braces */
	uint32_t devs;               /* its first device entry (list by next); PROM_NONE: none */
	uint8_t kind;
	bool scattered;              /* its series were not all adjacent: its devices are indexed */
	int64_t fresh_from;          /* its series whose newest sample is older are not exported */
	int64_t fresh_to;            /* nor newer: another host's clock (prom_fresh_from) */
	int host_cpus;               /* a host's host_CPUs count; 0: unknown or not a host */
	uint32_t ncpu, ones;         /* a host's cpuN samples, those of them exactly 1 */
	bool parked;                 /* its cpuN reading 1 are parked CPUs, left out (prom_drop_parked) */
};

/*
 * A device of a rule, whatever the object: vbd "xvda", cpu "0-C3" (the key
 * runs from the device to the end of the C-/P-state, so cpu0-C3 and cpu0-C6
 * differ while cpu0 and CPU0-avg-freq, both "0", share one).
 */
struct prom_devkey {
	const char *ds;              /* the store's DS name of its first series */
	struct prom_class cl;        /* its rule and where the device is in ds */
	uint16_t key_off, key_len;   /* the key in ds */
	uint32_t last_obj, last_dev; /* the entry found last: an object's series come together */
	uint32_t shared;             /* the entry of every object (labels without names); PROM_NONE */
};

/*
 * The labels a rule adds for one device of one object (",vif=\"0\",network=\"..\""),
 * resolved in the topology and escaped once, then shared by every family
 * of that device (a VBD's 14 disk families, a VIF's 4 network ones).
 */
struct prom_dev {
	uint32_t object, devkey;
	uint32_t labels_off, labels_len; /* in text */
	uint32_t next;               /* the object's next device; PROM_NONE: last */
};

/*
 * What a (kind, DS name, unit) turns into: classified, named and converted
 * once, then shared by the same DS of every object (cpu0 of 20,000 VMs).
 */
struct prom_kindds {
	const char *ds, *unit;       /* the store's strings of its first series */
	uint32_t family;
	uint32_t devkey;             /* PROM_NONE: no device (PROM_GENERIC) */
	uint32_t next;               /* the entry of the series that followed last; PROM_NONE */
	uint16_t ds_len;
	uint8_t kind;
	double factor;               /* to base units */
};

struct prom_sample {
	uint32_t family, object;
	uint32_t dev;                /* PROM_NONE: the object's labels only */
	float value;                 /* in base units */
};

/* Open-addressing index: slot = 1 + index, 0 empty. */
struct prom_index {
	uint32_t *slot;
	size_t cap;                  /* power of two */
	size_t n;
};

struct prom_ctx {
	const struct xs_estate *e;
	struct xs_buf *out;
	enum xs_err rc;              /* first error writing out */
	struct xs_buf text;          /* family names, help texts, object and device labels */
	struct prom_family *fam;
	size_t nfam, capfam;
	struct prom_index famix;
	struct prom_object *obj;
	size_t nobj, capobj;
	struct prom_index objix;
	uint32_t last_obj;
	struct prom_devkey *dk;
	size_t ndk, capdk;
	struct prom_index dkix;
	struct prom_dev *dev;
	size_t ndev, capdev;
	struct prom_index devix;
	struct prom_kindds *kds;
	size_t nkds, capkds;
	struct prom_index kdsix;
	struct prom_index fdix;      /* the kindds entries by (family, device key): prom_clash */
	struct prom_index smpix;     /* samples of clashing families by (family, object, device) */
	uint32_t last_kds;           /* the previous series' entry; PROM_NONE */
	struct prom_sample *smp;
	size_t nsmp, capsmp;
	const struct xs_collect_host_status **hosts; /* e->status by uuid, for bsearch: one */
	size_t nhosts;                               /* entry a uuid (prom_hosts_index) */
	unsigned kinds;              /* the filter's XS_PROM_KIND_* (all when none) */
	long pool;                   /* the filter's pool in e->pools; -1: every pool */
	const char *last_unit;       /* cache of prom_unit_of */
	const struct prom_unit *last_pu;
	struct prom_unit unknown;    /* a unit no table entry knows */
	char unknown_suffix[XS_STORE_MAX_UNIT + 2];
};

/*
 * The body being made: the head (self and collector families) and the series
 * lines, made PROM_CHUNK bytes at a time into chunk as the reader asks. After
 * xs_prom_body_start() nothing here points into the store or the estate: the
 * lines come from ctx.text and ctx.smp alone.
 */
struct xs_prom_body {
	struct prom_ctx c;           /* c.out = &chunk */
	struct xs_buf chunk;         /* lines made, chunk.data[off..len) not yet read */
	size_t off;
	uint32_t *order;             /* sample indexes, family by family */
	size_t fam;                  /* the family of the next line */
	uint32_t k;                  /* its next sample */
	bool head;                   /* its HELP and TYPE lines are made */
	size_t pos;                  /* order index of its first sample */
};

/* ---- output helpers (the one place text is written) ---- */

static void prom_put(struct prom_ctx *c, const char *s, size_t n)
{
	if (c->rc == XS_OK)
		c->rc = xs_buf_append(c->out, s, n);
}

static void prom_puts(struct prom_ctx *c, const char *s)
{
	prom_put(c, s, strlen(s));
}

/*
 * Appends s[0..n) to b escaped for a label value (help = false: \\ \" \n) or a
 * HELP text (help = true: \\ \n); invalid UTF-8 becomes U+FFFD, one per byte
 * (xs_utf8_len, as the JSON writer does). Runs of plain bytes are appended at
 * once.
 */
static enum xs_err prom_escape(struct xs_buf *b, const char *s, size_t n, bool help)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;
	enum xs_err rc = XS_OK;

	while (i < n && rc == XS_OK) {
		const char *rep = NULL;
		size_t l = 1;

		if (u[i] == '\\')
			rep = "\\\\";
		else if (u[i] == '\n')
			rep = "\\n";
		else if (u[i] == '"' && !help)
			rep = "\\\"";
		else if (u[i] >= 0x80 && (l = xs_utf8_len(u + i, n - i)) == 0)
			rep = "\xef\xbf\xbd";
		if (rep == NULL) {
			i += l;
			continue;
		}
		rc = xs_buf_append(b, s + run, i - run);
		if (rc == XS_OK)
			rc = xs_buf_append_str(b, rep);
		i++;
		run = i;
	}
	if (rc == XS_OK)
		rc = xs_buf_append(b, s + run, n - run);
	return rc;
}

/* Appends ,name="value" (escaped) to out. */
static void prom_label(struct prom_ctx *c, const char *name, const char *v, size_t n)
{
	prom_puts(c, name);
	if (c->rc == XS_OK)
		c->rc = prom_escape(c->out, v, n, false);
	prom_put(c, "\"", 1);
}

/* ---- indexes ---- */

static uint64_t prom_hash(const char *s, size_t n, uint64_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static void prom_index_grow(struct prom_index *ix, uint64_t (*hash)(void *, uint32_t), void *arg)
{
	size_t cap = ix->cap ? ix->cap * 2 : 1024;
	uint32_t *slot = xs_xcalloc(cap, sizeof(*slot));

	for (size_t i = 0; i < ix->cap; i++) {
		size_t j;

		if (!ix->slot[i])
			continue;
		j = (size_t)hash(arg, ix->slot[i] - 1) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = ix->slot[i];
	}
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
}

static uint64_t prom_fam_hash(void *arg, uint32_t i)
{
	const struct prom_ctx *c = arg;

	return prom_hash(c->text.data + c->fam[i].name_off, c->fam[i].name_len, 0);
}

static uint64_t prom_obj_hash(void *arg, uint32_t i)
{
	const struct prom_ctx *c = arg;

	return prom_hash(c->obj[i].uuid, strlen(c->obj[i].uuid), c->obj[i].kind);
}

static void *prom_grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 256;
	return xs_xrealloc(p, *cap * size);
}

/* Appends to the working text; returns the offset of what was added. */
static uint32_t prom_text(struct prom_ctx *c, const char *s, size_t n)
{
	size_t off = c->text.len;

	if (c->rc == XS_OK)
		c->rc = xs_buf_append(&c->text, s, n);
	return (uint32_t)off;
}

static uint64_t prom_kds_key(enum xs_obj_kind kind, const char *ds, size_t n, const char *unit)
{
	return prom_hash(unit, strlen(unit), prom_hash(ds, n, kind));
}

static uint64_t prom_kds_hash(void *arg, uint32_t i)
{
	const struct prom_ctx *c = arg;
	const struct prom_kindds *k = &c->kds[i];

	return prom_kds_key((enum xs_obj_kind)k->kind, k->ds, k->ds_len, k->unit);
}

/*
 * A device key s[0..n) (at most XS_STORE_MAX_DS bytes) as its labels show it, into out
 * (3 * n bytes): bytes that are not UTF-8 as U+FFFD, as prom_escape writes them, so that
 * two keys no label can tell apart ("xvda\xdf", "xvda\xff") are one device. Its length.
 */
static size_t prom_key_canon(const char *s, size_t n, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0;

	while (i < n) {
		size_t l = u[i] < 0x80 ? 1 : xs_utf8_len(u + i, n - i);

		if (l == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
	}
	return o;
}

static uint64_t prom_dk_hash(void *arg, uint32_t i)
{
	const struct prom_ctx *c = arg;
	const struct prom_devkey *k = &c->dk[i];
	char canon[3 * XS_STORE_MAX_DS];

	return prom_hash(canon, prom_key_canon(k->ds + k->key_off, k->key_len, canon), k->cl.rule);
}

static uint64_t prom_dev_key(uint32_t object, uint32_t devkey)
{
	uint64_t h = ((uint64_t)object << 32 | devkey) * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 31);
}

static uint64_t prom_dev_hash(void *arg, uint32_t i)
{
	const struct prom_ctx *c = arg;

	return prom_dev_key(c->dev[i].object, c->dev[i].devkey);
}

static uint64_t prom_fd_key(uint32_t family, uint32_t devkey)
{
	return prom_dev_key(family, devkey) ^ 0x5851f42d4c957f2dull;
}

static uint64_t prom_fd_hash(void *arg, uint32_t i)
{
	const struct prom_ctx *c = arg;

	return prom_fd_key(c->kds[i].family, c->kds[i].devkey);
}

static uint64_t prom_smp_key(const struct prom_sample *s)
{
	return prom_dev_key(s->object, s->dev) ^ prom_dev_key(s->family, PROM_NONE);
}

static uint64_t prom_smp_hash(void *arg, uint32_t i)
{
	const struct prom_ctx *c = arg;

	return prom_smp_key(&c->smp[i]);
}

static const struct prom_unit *prom_unit_of(struct prom_ctx *c, const char *unit)
{
	size_t i, j = 0;

	if (unit == c->last_unit)
		return c->last_pu;
	c->last_unit = unit;
	if ((c->last_pu = prom_unit_known(unit)) != NULL)
		return c->last_pu;
	/* unknown: the sanitised unit as suffix, value as is */
	c->unknown_suffix[j++] = '_';
	for (i = 0; unit[i] && j < sizeof(c->unknown_suffix) - 1; i++) {
		char ch = unit[i];

		c->unknown_suffix[j++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a')
					 : ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) ? ch
					 : '_';
	}
	c->unknown_suffix[j] = '\0';
	c->unknown = (struct prom_unit){ unit, c->unknown_suffix, 1 };
	c->last_unit = NULL; /* its suffix buffer is reused: do not cache */
	return &c->unknown;
}

/* The family of name, created (with its HELP) if new. */
static uint32_t prom_family(struct prom_ctx *c, const char *name, size_t len, enum xs_obj_kind kind,
			    const struct prom_class *cl, const char *ds, const char *unit)
{
	uint64_t h = prom_hash(name, len, 0);
	size_t j;
	struct prom_family *f;
	char help[PROM_NAME_MAX + 128];
	int hl;

	if (c->famix.n * 2 >= c->famix.cap)
		prom_index_grow(&c->famix, prom_fam_hash, c);
	for (j = (size_t)h & (c->famix.cap - 1); c->famix.slot[j]; j = (j + 1) & (c->famix.cap - 1)) {
		f = &c->fam[c->famix.slot[j] - 1];
		if (f->name_len == len && !memcmp(c->text.data + f->name_off, name, len))
			return c->famix.slot[j] - 1;
	}
	c->fam = prom_grow(c->fam, &c->capfam, c->nfam, sizeof(*c->fam));
	f = &c->fam[c->nfam];
	memset(f, 0, sizeof(*f));
	f->kind = (uint8_t)kind;
	f->name_off = prom_text(c, name, len);
	f->name_len = (uint32_t)len;
	/* the DS name with its device as a placeholder: "VM data source vif_<dev>_rx" */
	hl = snprintf(help, sizeof(help), "%s data source %.*s%s%.*s%s%s%s, latest 5 s value in base units",
		      kind == XS_OBJ_VM ? "VM" : kind == XS_OBJ_HOST ? "Host" : "SR",
		      cl->dev_len ? (int)cl->dev_off : (int)strlen(ds), ds, cl->dev_len ? "<dev>" : "",
		      cl->dev_len ? (int)strlen(ds + cl->dev_off + cl->dev_len) : 0,
		      cl->dev_len ? ds + cl->dev_off + cl->dev_len : "",
		      *unit ? " (host unit " : "", unit, *unit ? ")" : "");
	if (cl->rule == PROM_HOST_CSTATE) /* cpu<dev>-C3: one family of every state */
		hl = snprintf(help, sizeof(help), "Host data source cpu<dev>-%c<k>, residency ratio",
			      ds[cl->aux_off]);
	f->help_off = (uint32_t)c->text.len;
	if (c->rc == XS_OK)
		c->rc = prom_escape(&c->text, help, hl > 0 ? strlen(help) : 0, true);
	f->help_len = (uint32_t)(c->text.len - f->help_off);
	c->famix.slot[j] = (uint32_t)(++c->nfam);
	c->famix.n++;
	return (uint32_t)(c->nfam - 1);
}

/* ---- objects ---- */

/* What a pool's topology knows of an object: one of them is set. */
struct prom_found {
	const struct xs_topo_host *host;
	const struct xs_topo_vm *vm;
	const struct xs_topo_sr *sr;
};

/* The pool that knows (kind, uuid), its topology and the object in *f; NULL if none. */
static const struct xs_topo *prom_pool_of(const struct xs_estate *e, enum xs_obj_kind kind,
					  const char *uuid, size_t *pool, struct prom_found *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < e->npools; i++) {
		const struct xs_topo *t = e->pools[i].topo;

		if (t == NULL)
			continue;
		if (kind == XS_OBJ_VM)
			f->vm = xs_topo_vm_by_uuid(t, uuid);
		else if (kind == XS_OBJ_HOST)
			f->host = xs_topo_host_by_uuid(t, uuid);
		else
			f->sr = xs_topo_sr_by_uuid(t, uuid);
		if (f->vm != NULL || f->host != NULL || f->sr != NULL) {
			*pool = i;
			return t;
		}
	}
	return NULL;
}

/* Appends name="value" (name carries the comma and the opening quote) to the working text. */
static void prom_text_label_n(struct prom_ctx *c, const char *name, const char *v, size_t n)
{
	prom_text(c, name, strlen(name));
	if (c->rc == XS_OK)
		c->rc = prom_escape(&c->text, v, n, false);
	prom_text(c, "\"", 1);
}

static void prom_text_label(struct prom_ctx *c, const char *name, const char *v)
{
	prom_text_label_n(c, name, v, strlen(v));
}

/* ---- freshness: which series are current ---- */

static int prom_status_cmp(const void *a, const void *b)
{
	const struct xs_collect_host_status *const *x = a, *const *y = b;

	return strcmp((*x)->uuid, (*y)->uuid);
}

/* bsearch: a host uuid against an entry of c->hosts. */
static int prom_status_key_cmp(const void *key, const void *b)
{
	const struct xs_collect_host_status *const *y = b;

	return strcmp(key, (*y)->uuid);
}

/*
 * The collected hosts by uuid (c->hosts, c->nhosts entries), one entry a uuid: a host
 * two pools' collectors list (it moved to the other pool while the first was
 * disconnected, whose topology still has it) is the one fetched last, so its labels
 * are written once and its freshness is its live collector's.
 */
static void prom_hosts_index(struct prom_ctx *c)
{
	size_t n = 0;

	c->hosts = xs_xmalloc((c->e->nstatus ? c->e->nstatus : 1) * sizeof(*c->hosts));
	for (size_t i = 0; i < c->e->nstatus; i++)
		c->hosts[i] = &c->e->status[i];
	qsort(c->hosts, c->e->nstatus, sizeof(*c->hosts), prom_status_cmp);
	for (size_t i = 0; i < c->e->nstatus; i++) {
		if (n > 0 && strcmp(c->hosts[n - 1]->uuid, c->hosts[i]->uuid) == 0) {
			if (c->hosts[i]->last_success > c->hosts[n - 1]->last_success)
				c->hosts[n - 1] = c->hosts[i];
			continue;
		}
		c->hosts[n++] = c->hosts[i];
	}
	c->nhosts = n;
}

/* Whether status entry h is the one of its uuid (prom_hosts_index). */
static bool prom_host_kept(const struct prom_ctx *c, const struct xs_collect_host_status *h)
{
	const struct xs_collect_host_status *const *hit =
		bsearch(h->uuid, c->hosts, c->nhosts, sizeof(*c->hosts), prom_status_key_cmp);

	return hit != NULL && *hit == h;
}

/* Without a host to go by (an SR, an object no topology knows): our clock. */
static int64_t prom_fresh_default(const struct prom_ctx *c)
{
	return (int64_t)ceil(c->e->now) - XS_PROM_STALE_SECONDS;
}

/*
 * The oldest sample time still current for the series a host serves (its own
 * and its resident VMs'), on the host's clock: its newest stored row less
 * XS_PROM_FRESH_GRACE, so a VM that halted, a VIF or VBD removed, stop at once
 * and a host whose clock is behind ours still exports; nothing when the host
 * has not been fetched for XS_PROM_STALE_SECONDS of our clock, or its rows lag
 * its clock by that much (fetches that succeed with no new row: a hung xcp-rrdd
 * behind a working xapi). The default rule when the host is not collected or has
 * no row yet.
 */
static int64_t prom_fresh_from(const struct prom_ctx *c, const char *host_uuid, int64_t *to)
{
	const struct xs_collect_host_status *const *hit;
	double behind;

	*to = INT64_MAX;
	if (!c->e->nstatus)
		return prom_fresh_default(c);
	hit = bsearch(host_uuid, c->hosts, c->nhosts, sizeof(*c->hosts), prom_status_key_cmp);
	if (hit == NULL || (*hit)->newest <= 0 || (*hit)->last_success <= 0)
		return prom_fresh_default(c);
	behind = xs_status_host_behind(*hit, c->e->now); /* not fetched, or its rows lag */
	if (behind > XS_PROM_STALE_SECONDS)
		return INT64_MAX;
	/* a sample past the host's clock now came from another host's clock (a VM migrated
	 * from a host ahead of this one): its series is stuck there, not current */
	*to = (*hit)->newest + (int64_t)behind + XS_PROM_FUTURE_GRACE;
	return (*hit)->newest - XS_PROM_FRESH_GRACE;
}

/* Whether the filter takes objects of kind (a store kind). */
static bool prom_kind_wanted(const struct prom_ctx *c, unsigned kind)
{
	unsigned bit = kind == XS_OBJ_HOST ? XS_PROM_KIND_HOST
		       : kind == XS_OBJ_VM ? XS_PROM_KIND_VM
					   : XS_PROM_KIND_SR;

	return (c->kinds & bit) != 0;
}

/* The object labels: pool, host, host_uuid, vm, vm_uuid / sr, sr_uuid ("" when unknown). */
static void prom_object_labels(struct prom_ctx *c, struct prom_object *o)
{
	const struct xs_topo *t;
	const char *pool = "", *host = "", *host_uuid = "", *name = "";
	struct prom_found f;
	size_t pi = 0;

	t = prom_pool_of(c->e, (enum xs_obj_kind)o->kind, o->uuid, &pi, &f);
	o->topo = t;
	if (t != NULL)
		pool = c->e->pools[pi].name ? c->e->pools[pi].name : "";
	/* an object no topology knows (deleted; new or any before its pool's topology is
	 * loaded) would be exported with empty name labels, then again under its names as
	 * another series: not exported */
	o->fresh_from = t == NULL ? INT64_MAX : prom_fresh_default(c);
	o->fresh_to = INT64_MAX;
	if (f.host != NULL) {
		host = f.host->name;
		o->host_cpus = f.host->cpus;
		o->fresh_from = prom_fresh_from(c, o->uuid, &o->fresh_to);
	} else if (f.vm != NULL) {
		const char *on = f.vm->resident_on;
		const struct xs_topo_host *h = *on ? xs_topo_host_by_ref(t, on) : NULL;

		name = f.vm->name;
		if (h != NULL) {
			host = h->name;
			host_uuid = h->uuid;
		}
		/* halted or suspended: its last values are not current */
		o->fresh_from = f.vm->power == XS_POWER_HALTED || f.vm->power == XS_POWER_SUSPENDED
				? INT64_MAX
				: h != NULL ? prom_fresh_from(c, h->uuid, &o->fresh_to) : prom_fresh_default(c);
	} else if (f.sr != NULL) {
		name = f.sr->name;
	}
	if (!prom_kind_wanted(c, o->kind) || (c->pool >= 0 && (t == NULL || (long)pi != c->pool)))
		o->fresh_from = INT64_MAX; /* not of the scrape's shard: none of its series */
	o->labels_off = (uint32_t)c->text.len;
	prom_text_label(c, "pool=\"", pool);
	if (o->kind == XS_OBJ_HOST) {
		prom_text_label(c, ",host=\"", host);
		prom_text_label(c, ",host_uuid=\"", o->uuid);
	} else if (o->kind == XS_OBJ_VM) {
		prom_text_label(c, ",host=\"", host);
		prom_text_label(c, ",host_uuid=\"", host_uuid);
		prom_text_label(c, ",vm=\"", name);
		prom_text_label(c, ",vm_uuid=\"", o->uuid);
	} else {
		prom_text_label(c, ",sr=\"", name);
		prom_text_label(c, ",sr_uuid=\"", o->uuid);
	}
	o->labels_len = (uint32_t)(c->text.len - o->labels_off);
}

/* Puts device entry i into the index of (object, device key); its slot must be free. */
static void prom_dev_index(struct prom_ctx *c, uint32_t i)
{
	size_t j;

	if (c->devix.n * 2 >= c->devix.cap)
		prom_index_grow(&c->devix, prom_dev_hash, c);
	j = (size_t)prom_dev_key(c->dev[i].object, c->dev[i].devkey) & (c->devix.cap - 1);
	while (c->devix.slot[j])
		j = (j + 1) & (c->devix.cap - 1);
	c->devix.slot[j] = i + 1;
	c->devix.n++;
}

/*
 * o's series resume after another object's: the per-key memory of the last
 * device (prom_dev) may have moved on, so its devices go into the index.
 * Objects whose series are adjacent (the usual catalog) never need it.
 */
static void prom_object_scatter(struct prom_ctx *c, struct prom_object *o)
{
	o->scattered = true;
	for (uint32_t i = o->devs; i != PROM_NONE; i = c->dev[i].next)
		prom_dev_index(c, i);
}

static uint32_t prom_object(struct prom_ctx *c, enum xs_obj_kind kind, const char *uuid)
{
	uint64_t h;
	size_t j;
	struct prom_object *o;

	if (c->last_obj != PROM_NONE && c->obj[c->last_obj].kind == kind &&
	    !strcmp(c->obj[c->last_obj].uuid, uuid))
		return c->last_obj;
	if (c->objix.n * 2 >= c->objix.cap)
		prom_index_grow(&c->objix, prom_obj_hash, c);
	h = prom_hash(uuid, strlen(uuid), kind);
	for (j = (size_t)h & (c->objix.cap - 1); c->objix.slot[j]; j = (j + 1) & (c->objix.cap - 1)) {
		o = &c->obj[c->objix.slot[j] - 1];
		if (o->kind == kind && !strcmp(o->uuid, uuid)) {
			c->last_obj = c->objix.slot[j] - 1;
			if (!o->scattered)
				prom_object_scatter(c, o);
			return c->last_obj;
		}
	}
	c->obj = prom_grow(c->obj, &c->capobj, c->nobj, sizeof(*c->obj));
	o = &c->obj[c->nobj];
	memset(o, 0, sizeof(*o));
	o->uuid = uuid;
	o->kind = (uint8_t)kind;
	o->devs = PROM_NONE;
	prom_object_labels(c, o);
	c->objix.slot[j] = (uint32_t)(++c->nobj);
	c->objix.n++;
	return c->last_obj = (uint32_t)(c->nobj - 1);
}

/* ---- devices ---- */

/* The device key of a classified DS name: found, or made. */
static uint32_t prom_devkey(struct prom_ctx *c, const char *ds, const struct prom_class *cl)
{
	size_t end = cl->aux_len ? (size_t)cl->aux_off + cl->aux_len : (size_t)cl->dev_off + cl->dev_len;
	size_t klen = end - cl->dev_off, j, clen;
	char canon[3 * XS_STORE_MAX_DS], other[3 * XS_STORE_MAX_DS];
	uint64_t h;
	struct prom_devkey *k;

	clen = prom_key_canon(ds + cl->dev_off, klen, canon);
	h = prom_hash(canon, clen, cl->rule);
	if (c->dkix.n * 2 >= c->dkix.cap)
		prom_index_grow(&c->dkix, prom_dk_hash, c);
	for (j = (size_t)h & (c->dkix.cap - 1); c->dkix.slot[j]; j = (j + 1) & (c->dkix.cap - 1)) {
		k = &c->dk[c->dkix.slot[j] - 1];
		if (k->cl.rule == cl->rule &&
		    ((k->key_len == klen && !memcmp(k->ds + k->key_off, ds + cl->dev_off, klen)) ||
		     (prom_key_canon(k->ds + k->key_off, k->key_len, other) == clen &&
		      !memcmp(other, canon, clen))))
			return c->dkix.slot[j] - 1;
	}
	c->dk = prom_grow(c->dk, &c->capdk, c->ndk, sizeof(*c->dk));
	k = &c->dk[c->ndk];
	memset(k, 0, sizeof(*k));
	k->ds = ds;
	k->cl = *cl;
	k->key_off = cl->dev_off;
	k->key_len = (uint16_t)klen;
	k->last_obj = PROM_NONE;
	k->shared = PROM_NONE;
	c->dkix.slot[j] = (uint32_t)(++c->ndk);
	c->dkix.n++;
	return (uint32_t)(c->ndk - 1);
}

/* Whether a rule's labels name nothing but the device (the same for every object). */
static bool prom_rule_shared(enum prom_rule rule)
{
	return rule == PROM_VM_VCPU || rule == PROM_HOST_CPU || rule == PROM_HOST_CSTATE ||
	       rule == PROM_HOST_STATEFILE;
}

/*
 * The rule's labels for device k of object o into d: names looked up in the
 * topology once. o is NULL for a shared rule.
 */
static void prom_dev_labels(struct prom_ctx *c, struct prom_dev *d, const struct prom_devkey *k,
			    const struct prom_object *o)
{
	const struct prom_class *cl = &k->cl;
	const struct xs_topo_sr *sr = NULL;
	const char *name;
	char dev[XS_STORE_MAX_DS];

	memcpy(dev, k->ds + cl->dev_off, cl->dev_len);
	dev[cl->dev_len] = '\0';
	d->labels_off = (uint32_t)c->text.len;
	switch (cl->rule) {
	case PROM_GENERIC:
		break;
	case PROM_VM_VCPU:
		prom_text_label(c, ",vcpu=\"", dev);
		break;
	case PROM_VM_VIF:
		prom_text_label(c, ",vif=\"", dev);
		prom_text_label(c, ",network=\"", o->topo ? xs_topo_vif_network(o->topo, o->uuid, dev) : "");
		break;
	case PROM_VM_VBD:
		name = o->topo ? xs_topo_vbd_vdi(o->topo, o->uuid, dev, &sr) : "";
		prom_text_label(c, ",device=\"", dev);
		prom_text_label(c, ",vdi=\"", name);
		prom_text_label(c, ",sr=\"", sr ? sr->name : "");
		prom_text_label(c, ",sr_uuid=\"", sr ? sr->uuid : "");
		break;
	case PROM_HOST_CPU:
		prom_text_label(c, ",cpu=\"", dev);
		break;
	case PROM_HOST_CSTATE:
		prom_text_label(c, ",cpu=\"", dev);
		prom_text_label_n(c, ",state=\"", k->ds + cl->aux_off, cl->aux_len);
		break;
	case PROM_HOST_PIF:
		prom_text_label(c, ",device=\"", dev);
		prom_text_label(c, ",network=\"", o->topo ? xs_topo_pif_network(o->topo, o->uuid, dev) : "");
		break;
	case PROM_HOST_STATEFILE:
		prom_text_label(c, ",vdi_uuid=\"", dev);
		break;
	case PROM_HOST_SR:
		/* an 8-character prefix naming no single SR keeps the prefix as its id */
		if (cl->dev_len == PROM_SR8)
			xs_topo_sr_by_prefix(o->topo, dev, &sr);
		else
			sr = o->topo ? xs_topo_sr_by_uuid(o->topo, dev) : NULL;
		prom_text_label(c, ",sr=\"", sr ? sr->name : "");
		prom_text_label(c, ",sr_uuid=\"", sr ? sr->uuid : dev);
		break;
	}
	d->labels_len = (uint32_t)(c->text.len - d->labels_off);
}

/*
 * The entry of (object, device key), made with its labels the first time.
 * While an object's series come one after another, the device key remembers
 * the entry it gave last, and a key whose memory names another object is new
 * to this one: no index is needed. A scattered object's devices are indexed.
 * Labels naming only the device (vCPU, CPU, C-state) are one entry for all.
 */
static uint32_t prom_dev(struct prom_ctx *c, uint32_t object, uint32_t devkey)
{
	struct prom_devkey *k = &c->dk[devkey];
	struct prom_object *o = &c->obj[object];
	struct prom_dev *d;
	uint32_t i;

	if (k->shared != PROM_NONE)
		return k->shared;
	if (k->last_obj == object)
		return k->last_dev;
	if (prom_rule_shared(k->cl.rule)) {
		c->dev = prom_grow(c->dev, &c->capdev, c->ndev, sizeof(*c->dev));
		i = (uint32_t)c->ndev++;
		d = &c->dev[i];
		d->object = PROM_NONE;
		d->devkey = devkey;
		d->next = PROM_NONE;
		prom_dev_labels(c, d, k, NULL);
		return k->shared = i;
	}
	if (o->scattered && c->devix.cap > 0) {
		size_t j = (size_t)prom_dev_key(object, devkey) & (c->devix.cap - 1);

		for (; c->devix.slot[j]; j = (j + 1) & (c->devix.cap - 1)) {
			d = &c->dev[c->devix.slot[j] - 1];
			if (d->object == object && d->devkey == devkey) {
				k->last_obj = object;
				k->last_dev = c->devix.slot[j] - 1;
				return k->last_dev;
			}
		}
	}
	c->dev = prom_grow(c->dev, &c->capdev, c->ndev, sizeof(*c->dev));
	i = (uint32_t)c->ndev++;
	d = &c->dev[i];
	d->object = object;
	d->devkey = devkey;
	d->next = o->devs;
	o->devs = i;
	prom_dev_labels(c, d, k, o);
	if (o->scattered)
		prom_dev_index(c, i);
	k->last_obj = object;
	k->last_dev = i;
	return i;
}

/* ---- pass 1: the catalog ---- */

/* Whether sample i repeats one kept before it (the same family, object and device);
 * indexed if not. */
static bool prom_smp_seen(struct prom_ctx *c, uint32_t i)
{
	const struct prom_sample *s = &c->smp[i];
	size_t j;

	if (c->smpix.n * 2 >= c->smpix.cap)
		prom_index_grow(&c->smpix, prom_smp_hash, c);
	for (j = (size_t)prom_smp_key(s) & (c->smpix.cap - 1); c->smpix.slot[j];
	     j = (j + 1) & (c->smpix.cap - 1)) {
		const struct prom_sample *o = &c->smp[c->smpix.slot[j] - 1];

		if (o->family == s->family && o->object == s->object && o->dev == s->dev)
			return true;
	}
	c->smpix.slot[j] = i + 1;
	c->smpix.n++;
	return false;
}

/*
 * Two DS names that differ only where a family name cannot ("cpu_usage" and
 * "cpu.usage", "Foo" and "foo") make one family; with the same device key
 * they would make one series twice, with two values, which Prometheus
 * refuses. Entry ki is new: when another entry has its family and device
 * key, the family is marked, its samples so far are indexed, and from now
 * on an object's sample of it is kept once (the first in catalog order).
 * Once per distinct DS name; estates without such names index no sample.
 */
static void prom_clash(struct prom_ctx *c, uint32_t ki)
{
	const struct prom_kindds *k = &c->kds[ki];
	struct prom_family *f = &c->fam[k->family];
	size_t j;

	if (c->fdix.n * 2 >= c->fdix.cap)
		prom_index_grow(&c->fdix, prom_fd_hash, c);
	for (j = (size_t)prom_fd_key(k->family, k->devkey) & (c->fdix.cap - 1); c->fdix.slot[j];
	     j = (j + 1) & (c->fdix.cap - 1)) {
		const struct prom_kindds *o = &c->kds[c->fdix.slot[j] - 1];

		if (o->family != k->family || o->devkey != k->devkey)
			continue;
		if (!f->clash) {
			f->clash = true;
			for (size_t i = 0; i < c->nsmp; i++)
				if (c->smp[i].family == k->family)
					(void)prom_smp_seen(c, (uint32_t)i);
		}
		return;
	}
	c->fdix.slot[j] = ki + 1;
	c->fdix.n++;
}

static bool prom_kindds_is(const struct prom_kindds *k, enum xs_obj_kind kind, const char *ds,
			   size_t n, const char *unit)
{
	return k->kind == kind && k->ds_len == n && !memcmp(k->ds, ds, n) && !strcmp(k->unit, unit);
}

/* The classification, family and factor of (kind, ds, unit): found, or made; its index. */
static uint32_t prom_kindds_find(struct prom_ctx *c, enum xs_obj_kind kind, const char *ds,
				 size_t n, const char *unit)
{
	uint64_t h = prom_kds_key(kind, ds, n, unit);
	const struct prom_unit *u;
	struct prom_kindds *k;
	struct prom_class cl;
	char name[PROM_NAME_MAX];
	size_t j, len;

	if (c->kdsix.n * 2 >= c->kdsix.cap)
		prom_index_grow(&c->kdsix, prom_kds_hash, c);
	for (j = (size_t)h & (c->kdsix.cap - 1); c->kdsix.slot[j]; j = (j + 1) & (c->kdsix.cap - 1))
		if (prom_kindds_is(&c->kds[c->kdsix.slot[j] - 1], kind, ds, n, unit))
			return c->kdsix.slot[j] - 1;
	c->kds = prom_grow(c->kds, &c->capkds, c->nkds, sizeof(*c->kds));
	k = &c->kds[c->nkds];
	memset(k, 0, sizeof(*k));
	k->ds = ds;
	k->unit = unit;
	k->ds_len = (uint16_t)n;
	k->kind = (uint8_t)kind;
	k->next = PROM_NONE;
	prom_classify(kind, ds, n, &cl);
	u = prom_unit_of(c, unit);
	k->factor = u->factor;
	len = prom_family_name(name, kind, &cl, ds, n, u);
	k->family = prom_family(c, name, len, kind, &cl, ds, unit);
	if (cl.rule == PROM_HOST_CPU && cl.stem != NULL && !strcmp(cl.stem, "cpu_usage"))
		c->fam[k->family].host_cpu = true;
	k->devkey = cl.rule == PROM_GENERIC ? PROM_NONE : prom_devkey(c, ds, &cl);
	c->kdsix.slot[j] = (uint32_t)(++c->nkds);
	c->kdsix.n++;
	prom_clash(c, (uint32_t)(c->nkds - 1));
	return (uint32_t)(c->nkds - 1);
}

/*
 * As prom_kindds_find, guessing first the entry that followed the previous
 * series' last time: objects of a kind list their data sources in the same
 * order, so the guess is usually right and costs one comparison, no hash.
 */
static const struct prom_kindds *prom_kindds(struct prom_ctx *c, enum xs_obj_kind kind,
					     const char *ds, size_t n, const char *unit)
{
	uint32_t prev = c->last_kds, i = prev != PROM_NONE ? c->kds[prev].next : PROM_NONE;

	if (i == PROM_NONE || !prom_kindds_is(&c->kds[i], kind, ds, n, unit)) {
		i = prom_kindds_find(c, kind, ds, n, unit);
		if (prev != PROM_NONE)
			c->kds[prev].next = i;
	}
	c->last_kds = i;
	return &c->kds[i];
}

static void prom_collect(void *arg, xs_series_id id, enum xs_obj_kind kind, const char *uuid,
			 const char *ds, const char *unit)
{
	struct prom_ctx *c = arg;
	const struct prom_kindds *k;
	struct prom_sample *s;
	size_t n;
	int64_t t;
	float v;

	uint32_t object = PROM_NONE;

	/* a kind the shard leaves out (?kind=) costs no read; nor does an object of another
	 * pool in a pool's shard (?pool=: the object is found first) */
	if ((unsigned)kind >= XS_NOBJ_KINDS || !prom_kind_wanted(c, kind) || c->rc != XS_OK)
		return;
	if (c->pool >= 0) {
		object = prom_object(c, kind, uuid);
		if (c->obj[object].fresh_from == INT64_MAX)
			return;
	}
	/* a day behind our clock is past any host clock's excuse: no object made for it */
	if (!xs_store_latest(c->e->store, id, &t, &v) || isnan(v) ||
	    (double)t + XS_PROM_STALE_MAX < c->e->now || c->rc != XS_OK)
		return;
	if (object == PROM_NONE)
		object = prom_object(c, kind, uuid);
	if (t < c->obj[object].fresh_from || t > c->obj[object].fresh_to)
		return;
	n = strlen(ds);
	k = prom_kindds(c, kind, ds, n, unit);
	c->smp = prom_grow(c->smp, &c->capsmp, c->nsmp, sizeof(*c->smp));
	s = &c->smp[c->nsmp++];
	s->family = k->family;
	s->object = object;
	s->dev = k->devkey == PROM_NONE ? PROM_NONE : prom_dev(c, s->object, k->devkey);
	s->value = k->factor == 1 ? v : (float)((double)v * k->factor);
	if (c->fam[k->family].clash && prom_smp_seen(c, (uint32_t)(c->nsmp - 1))) {
		c->nsmp--; /* the series again under another DS name: kept once */
		return;
	}
	if (c->fam[k->family].host_cpu) {
		c->obj[object].ncpu++;
		c->obj[object].ones += v == 1.0f;
	}
}

/*
 * Leaves out the cpuN of CPUs smt=0 parked (xs_smap_cpus_parked: a host whose
 * cpuN outnumber its host_CPUs by exactly those reading 1), as the stats and
 * top routes do: they would read 100 % for ever.
 */
static void prom_drop_parked(struct prom_ctx *c)
{
	size_t kept = 0;
	bool any = false;

	for (size_t i = 0; i < c->nobj; i++) {
		struct prom_object *o = &c->obj[i];

		o->parked = o->ncpu && xs_smap_cpus_parked(o->ncpu, o->ones, o->host_cpus);
		any |= o->parked;
	}
	if (!any) /* most estates have no such host: the samples are then not walked */
		return;
	for (size_t i = 0; i < c->nsmp; i++) {
		const struct prom_sample *s = &c->smp[i];

		if (c->fam[s->family].host_cpu && s->value == 1.0f && c->obj[s->object].parked)
			continue;
		c->smp[kept++] = *s;
	}
	c->nsmp = kept;
}

/* ---- pass 2: the lines ---- */

/*
 * name{object labels,device labels} value: straight into the room reserved
 * for the body; through the checked appends when the room is short (near the
 * cap, where the exact XS_ERR_TOO_LARGE comes from).
 */
static void prom_sample_line(struct prom_ctx *c, const struct prom_family *f,
			     const struct prom_sample *s)
{
	const struct prom_object *o = &c->obj[s->object];
	const char *name = c->text.data + f->name_off, *ol = c->text.data + o->labels_off, *dl = "";
	size_t dn = 0, n;
	char num[PROM_NUM_MAX], *p, *p0;

	if (s->dev != PROM_NONE) {
		dl = c->text.data + c->dev[s->dev].labels_off;
		dn = c->dev[s->dev].labels_len;
	}
	if (c->rc == XS_OK &&
	    xs_buf_room(c->out) >= (size_t)f->name_len + o->labels_len + dn + 4 + PROM_NUM_MAX) {
		p = p0 = c->out->data + c->out->len;
		memcpy(p, name, f->name_len);
		p += f->name_len;
		*p++ = '{';
		memcpy(p, ol, o->labels_len);
		p += o->labels_len;
		memcpy(p, dl, dn);
		p += dn;
		*p++ = '}';
		*p++ = ' ';
		p += prom_float(p, s->value);
		*p++ = '\n';
		xs_buf_commit(c->out, (size_t)(p - p0));
		return;
	}
	prom_put(c, name, f->name_len);
	prom_put(c, "{", 1);
	prom_put(c, ol, o->labels_len);
	prom_put(c, dl, dn);
	prom_put(c, "} ", 2);
	n = prom_float(num, s->value);
	num[n++] = '\n';
	prom_put(c, num, n);
}

static void prom_family_head(struct prom_ctx *c, const char *name, size_t len, const char *help,
			     size_t help_len, const char *type)
{
	prom_put(c, "# HELP ", 7);
	prom_put(c, name, len);
	prom_put(c, " ", 1);
	prom_put(c, help, help_len);
	prom_put(c, "\n# TYPE ", 8);
	prom_put(c, name, len);
	prom_put(c, " ", 1);
	prom_puts(c, type);
	prom_put(c, "\n", 1);
}

/*
 * After pass 1: the samples of each family together (a counting sort, catalog
 * order within a family), as indexes into smp.
 */
static void prom_sort(struct prom_ctx *c, uint32_t **orderp)
{
	uint32_t *order;
	size_t i, pos = 0;

	for (i = 0; i < c->nsmp; i++)
		c->fam[c->smp[i].family].count++;
	for (i = 0; i < c->nfam; i++) {
		c->fam[i].next = (uint32_t)pos;
		pos += c->fam[i].count;
	}
	order = xs_xmalloc((c->nsmp ? c->nsmp : 1) * sizeof(*order));
	for (i = 0; i < c->nsmp; i++)
		order[c->fam[c->smp[i].family].next++] = (uint32_t)i;
	*orderp = order;
}

/* ---- the daemon's own figures and per-host collection ---- */

static void prom_self_one(struct prom_ctx *c, const char *name, const char *type, const char *help,
			  double v)
{
	char num[48];
	size_t n;

	prom_family_head(c, name, strlen(name), help, strlen(help), type);
	prom_puts(c, name);
	prom_put(c, " ", 1);
	n = prom_double(num, v);
	num[n++] = '\n';
	prom_put(c, num, n);
}

static void prom_self(struct prom_ctx *c, const struct xs_prom_self *s)
{
	prom_self_one(c, "xapistat_uptime_seconds", "gauge", "Seconds since the daemon started",
		      s->uptime);
	prom_self_one(c, "xapistat_store_series", "gauge", "Series in the store",
		      (double)s->store_series);
	prom_self_one(c, "xapistat_store_dormant_series", "gauge",
		      "Series in the store that stopped and hold no write state (dormant)",
		      (double)s->store_dormant);
	prom_self_one(c, "xapistat_store_disk_usage_bytes", "gauge",
		      "Bytes the store uses on disk (segments, index, log)", (double)s->store_bytes);
	prom_self_one(c, "xapistat_store_damaged_blocks_total", "counter",
		      "Stored blocks reads dropped since start: checksum wrong or unreadable (damage on disk)",
		      (double)s->store_damaged_blocks_total);
	prom_self_one(c, "xapistat_store_unread_blocks_total", "counter",
		      "Stored blocks reads skipped since start for want of a file descriptor or memory (not damage)",
		      (double)s->store_unread_blocks_total);
	prom_self_one(c, "xapistat_store_sync_failures_total", "counter",
		      "Store syncs that failed since start (a full or read-only disk)",
		      (double)s->store_sync_failures_total);
	prom_self_one(c, "xapistat_store_sync_failing", "gauge",
		      "1 while the store's syncs fail: rows since the last one that succeeded are not on disk",
		      s->store_error[0] ? 1.0 : 0.0);
	prom_self_one(c, "xapistat_store_samples_ingested_total", "counter",
		      "5 s samples ingested since start", (double)s->samples_total);
	prom_self_one(c, "xapistat_collector_fetches_total", "counter",
		      "Host RRD fetches since start", (double)s->fetches_total);
	prom_self_one(c, "xapistat_collector_fetch_errors_total", "counter",
		      "Host RRD fetches that failed since start", (double)s->fetch_errors_total);
	prom_self_one(c, "xapistat_collector_backfills_total", "counter",
		      "Coarse-archive backfill fetches since start", (double)s->backfills_total);
	prom_self_one(c, "xapistat_collector_hosts_collecting", "gauge",
		      "Hosts collected in time", (double)s->hosts_collecting);
	prom_self_one(c, "xapistat_collector_hosts_late", "gauge",
		      "Hosts collected with a lag over 10 s", (double)s->hosts_late);
	prom_self_one(c, "xapistat_collector_hosts_down", "gauge",
		      "Hosts not collected (not live or failing)", (double)s->hosts_down);
	prom_self_one(c, "xapistat_http_requests_total", "counter", "HTTP requests served since start",
		      (double)s->http_requests_total);
	prom_self_one(c, "xapistat_http_held_reply_bytes", "gauge",
		      "Reply bodies waiting for their clients to read them", (double)s->http_held_bytes);
	prom_self_one(c, "xapistat_http_stream_queued_bytes", "gauge",
		      "Live stream events waiting for their clients to read them",
		      (double)s->http_stream_queued_bytes);
	prom_self_one(c, "xapistat_http_connections_open", "gauge",
		      "The API's TCP connections open now, live streams included",
		      (double)s->http_connections_open);
	prom_self_one(c, "xapistat_http_max_connections", "gauge",
		      "The API's cap of open connections (max_connections): one past it is closed",
		      (double)s->http_max_connections);
	prom_self_one(c, "xapistat_http_busy_refusals_total", "counter",
		      "Replies refused with 503 because too many reply bytes waited for clients",
		      (double)s->http_busy_total);
	prom_self_one(c, "xapistat_process_resident_memory_bytes", "gauge",
		      "Resident memory of the daemon", (double)s->resident_bytes);
	prom_self_one(c, "xapistat_process_cpu_seconds_total", "counter",
		      "CPU time of the daemon since start, user and system", s->cpu_seconds);
	prom_self_one(c, "xapistat_process_start_time_seconds", "gauge",
		      "When the daemon started, unix seconds", s->start_time);
	prom_self_one(c, "xapistat_process_open_fds", "gauge",
		      "File descriptors the daemon has open (2 per host and per pool, and the API's)",
		      (double)s->open_fds);
	prom_self_one(c, "xapistat_process_max_fds", "gauge",
		      "The daemon's limit of open file descriptors (RLIMIT_NOFILE)", (double)s->max_fds);
}

enum prom_host_fig { PROM_UP, PROM_LAG, PROM_LAST_SUCCESS, PROM_CLOCK_OFFSET, PROM_AHEAD };

/* The pool and host labels of a collected host. */
struct prom_host_names {
	const char *pool, *host;
	bool in;                     /* of the filter's pool */
};

/*
 * Those of every collected host (e->status) as the host's own series and its
 * VMs' have them (prom_object_labels): from the topology that knows it, so
 * that the collector families join them on pool and host. The status's copy
 * of the name is the uuid when the name is empty and is cut at
 * XS_COLLECT_NAME_LEN - 1 bytes: it is used only for a host no topology knows.
 */
static struct prom_host_names *prom_host_names(const struct prom_ctx *c)
{
	const struct xs_estate *e = c->e;
	struct prom_host_names *n = xs_xmalloc((e->nstatus ? e->nstatus : 1) * sizeof(*n));

	for (size_t i = 0; i < e->nstatus; i++) {
		const struct xs_collect_host_status *h = &e->status[i];
		struct prom_found f;
		size_t pi = 0;

		if (!prom_host_kept(c, h)) { /* listed twice: written once, as the other */
			n[i] = (struct prom_host_names){ "", "", false };
			continue;
		}
		if (prom_pool_of(e, XS_OBJ_HOST, h->uuid, &pi, &f) != NULL && f.host != NULL) {
			n[i].pool = e->pools[pi].name ? e->pools[pi].name : "";
			n[i].host = f.host->name;
			n[i].in = c->pool < 0 || (long)pi == c->pool;
		} else { /* no topology knows it yet: the collector's pool name */
			n[i].pool = h->pool;
			n[i].host = h->name;
			n[i].in = c->pool < 0 || (e->pools[c->pool].name &&
						  !strcmp(h->pool, e->pools[c->pool].name));
		}
	}
	return n;
}

/* Figure fig of host h; NAN when the host has none (no sample). */
static double prom_host_value(const struct prom_ctx *c, const struct xs_collect_host_status *h,
			      enum prom_host_fig fig)
{
	switch (fig) {
	case PROM_UP: return xs_status_host_health(h, c->e->now) != XS_HEALTH_DOWN;
	case PROM_LAG: return h->lag >= 0 ? h->lag : NAN;
	case PROM_LAST_SUCCESS: return h->last_success;
	case PROM_CLOCK_OFFSET: return xs_status_clock_offset(h);
	case PROM_AHEAD: return h->newest > 0 ? (h->ahead > 0 ? h->ahead : 0) : NAN;
	}
	return NAN;
}

static void prom_hosts_family(struct prom_ctx *c, enum prom_host_fig fig,
			      const struct prom_host_names *names_of)
{
	static const char *const names[] = { "xapistat_collector_up", "xapistat_collector_lag_seconds",
					     "xapistat_collector_last_success_timestamp_seconds",
					     "xapistat_collector_clock_offset_seconds",
					     "xapistat_collector_ahead_of_clock_seconds" };
	static const char *const helps[] = {
		"1 when the host is collected (health collecting or late), 0 when down",
		"Seconds the newest stored row is behind the host's newest (absent when unknown)",
		"Unix time of the host's last complete fetch (0: never)",
		"The host's clock minus this machine's, seconds (host.get_servertime; absent until "
		"measured)",
		"Seconds the newest stored row is ahead of the host's clock: it was set back, and its "
		"rows until it passes that row are not collected (0 normally; absent before a row)",
	};
	const struct xs_estate *e = c->e;
	char num[48];
	bool any = false;

	for (size_t i = 0; i < e->nstatus && !any; i++)
		any = names_of[i].in && !isnan(prom_host_value(c, &e->status[i], fig));
	if (!any) /* no family without a sample */
		return;
	prom_family_head(c, names[fig], strlen(names[fig]), helps[fig], strlen(helps[fig]), "gauge");
	for (size_t i = 0; i < e->nstatus && c->rc == XS_OK; i++) {
		const struct xs_collect_host_status *h = &e->status[i];
		double v = prom_host_value(c, h, fig);
		size_t n;

		if (!names_of[i].in || isnan(v))
			continue;
		prom_puts(c, names[fig]);
		prom_label(c, "{pool=\"", names_of[i].pool, strlen(names_of[i].pool));
		prom_label(c, ",host=\"", names_of[i].host, strlen(names_of[i].host));
		prom_label(c, ",host_uuid=\"", h->uuid, strnlen(h->uuid, sizeof(h->uuid)));
		prom_put(c, "} ", 2);
		n = prom_double(num, v);
		num[n++] = '\n';
		prom_put(c, num, n);
	}
}

static void prom_ctx_cleanup(struct prom_ctx *c)
{
	xs_buf_free(&c->text);
	free(c->fam);
	free(c->famix.slot);
	free(c->obj);
	free(c->objix.slot);
	free(c->dk);
	free(c->dkix.slot);
	free(c->dev);
	free(c->devix.slot);
	free(c->kds);
	free(c->kdsix.slot);
	free(c->fdix.slot);
	free(c->smpix.slot);
	free(c->smp);
	free(c->hosts);
}

/* Pass 2, resumable: lines into b->chunk until it holds PROM_CHUNK bytes or the body ends. */
static void prom_fill(struct xs_prom_body *b)
{
	struct prom_ctx *c = &b->c;

	xs_buf_reset(&b->chunk);
	b->off = 0;
	while (b->fam < c->nfam && b->chunk.len < PROM_CHUNK && c->rc == XS_OK) {
		const struct prom_family *f = &c->fam[b->fam];

		if (!b->head)
			prom_family_head(c, c->text.data + f->name_off, f->name_len,
					 c->text.data + f->help_off, f->help_len, "gauge");
		b->head = true;
		while (b->k < f->count && b->chunk.len < PROM_CHUNK && c->rc == XS_OK)
			prom_sample_line(c, f, &c->smp[b->order[b->pos + b->k++]]);
		if (b->k == f->count) {
			b->pos += f->count;
			b->k = 0;
			b->head = false;
			b->fam++;
		}
	}
}

static enum xs_err prom_body_fail(struct xs_prom_body **bp, enum xs_err rc, char *err)
{
	xs_prom_body_free(bp);
	return xs_err_set(err, rc, "/metrics: %s (working text over %u bytes)", xs_strerror(rc),
			  PROM_ARENA_LIMIT);
}

enum xs_err xs_prom_kinds_parse(const char *s, unsigned *kinds, char *err)
{
	static const char *const names[] = { "host", "vm", "sr", "self" };

	*kinds = 0;
	if (!s || !*s)
		return xs_err_set(err, XS_ERR_ARG, "kind: empty (host, vm, sr or self, comma-separated)");
	for (const char *p = s;;) {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < 4 && (strlen(names[i]) != n || strncmp(p, names[i], n)); i++)
			;
		if (i == 4)
			return xs_err_set(err, XS_ERR_ARG,
					  "kind: \"%.*s\" is not host, vm, sr or self (comma-separated)",
					  (int)(n < 64 ? n : 64), p);
		if (*kinds & (1u << i))
			return xs_err_set(err, XS_ERR_ARG, "kind: %s given twice", names[i]);
		*kinds |= 1u << i;
		if (!p[n])
			return XS_OK;
		p += n + 1;
	}
}

enum xs_err xs_prom_filter_pool(const struct xs_estate *e, const struct xs_prom_filter *f,
				long *pool, char *err)
{
	*pool = -1;
	if (!f || !f->pool || !*f->pool)
		return XS_OK;
	for (size_t i = 0; i < e->npools; i++) {
		const struct xs_topo_pool *tp = e->pools[i].topo ? xs_topo_pool(e->pools[i].topo) : NULL;

		if ((e->pools[i].name && !strcmp(e->pools[i].name, f->pool)) ||
		    (tp && tp->uuid && !strcasecmp(tp->uuid, f->pool))) {
			*pool = (long)i;
			return XS_OK;
		}
	}
	return xs_err_set(err, XS_QUERY_NOT_FOUND,
			  "pool: no pool is named \"%.64s\" (a pool section's name, or a pool's uuid)",
			  f->pool);
}

enum xs_err xs_prom_body_start(const struct xs_estate *e, const struct xs_prom_self *self,
			       const struct xs_prom_filter *filter, struct xs_prom_body **out,
			       char *err)
{
	struct xs_prom_body *b;
	struct prom_ctx *c;
	long pool;
	enum xs_err rc;

	*out = NULL;
	rc = xs_prom_filter_pool(e, filter, &pool, err);
	if (rc)
		return rc;
	b = xs_xcalloc(1, sizeof(*b));
	c = &b->c;
	c->kinds = filter && filter->kinds ? filter->kinds : XS_PROM_KIND_ALL;
	c->pool = pool;
	c->e = e;
	c->out = &b->chunk;
	c->last_obj = PROM_NONE;
	c->last_kds = PROM_NONE;
	xs_buf_init(&c->text, PROM_ARENA_LIMIT);
	xs_buf_init(&b->chunk, PROM_CHUNK_LIMIT);
	if (self != NULL && (c->kinds & XS_PROM_KIND_SELF))
		prom_self(c, self);
	prom_hosts_index(c);
	if (e->nstatus > 0 && (c->kinds & XS_PROM_KIND_HOST)) {
		struct prom_host_names *names = prom_host_names(c);

		prom_hosts_family(c, PROM_UP, names);
		prom_hosts_family(c, PROM_LAG, names);
		prom_hosts_family(c, PROM_LAST_SUCCESS, names);
		prom_hosts_family(c, PROM_CLOCK_OFFSET, names);
		prom_hosts_family(c, PROM_AHEAD, names);
		free(names);
	}
	if (e->store != NULL && c->rc == XS_OK)
		xs_store_each(e->store, prom_collect, c);
	if (c->rc != XS_OK)
		return prom_body_fail(&b, c->rc, err);
	prom_drop_parked(c);
	prom_sort(c, &b->order);
	/* room for a chunk and its last line, once: lines then take the direct path */
	if (xs_buf_reserve(&b->chunk, PROM_CHUNK + PROM_LINE_ROOM) != XS_OK)
		return prom_body_fail(&b, XS_ERR_TOO_LARGE, err);
	c->e = NULL; /* not read again: the estate is the caller's only until here */
	*out = b;
	return XS_OK;
}

enum xs_err xs_prom_body_read(struct xs_prom_body *b, char *buf, size_t max, size_t *n)
{
	size_t avail;

	*n = 0;
	if (b->off == b->chunk.len) {
		if (b->fam == b->c.nfam && b->c.rc == XS_OK) {
			xs_buf_reset(&b->chunk);
			b->off = 0;
			return XS_OK; /* the end */
		}
		prom_fill(b);
		if (b->c.rc != XS_OK)
			return b->c.rc;
	}
	avail = b->chunk.len - b->off;
	*n = avail < max ? avail : max;
	memcpy(buf, b->chunk.data + b->off, *n);
	b->off += *n;
	return XS_OK;
}

void xs_prom_body_free(struct xs_prom_body **bp)
{
	struct xs_prom_body *b = bp ? *bp : NULL;

	if (!b)
		return;
	prom_ctx_cleanup(&b->c);
	xs_buf_free(&b->chunk);
	free(b->order);
	free(b);
	*bp = NULL;
}

enum xs_err xs_query_metrics(const struct xs_estate *e, const struct xs_prom_self *self,
			     const struct xs_prom_filter *filter, struct xs_buf *out, char *err)
{
	struct xs_prom_body *b;
	enum xs_err rc = xs_prom_body_start(e, self, filter, &b, err);

	if (rc) {
		xs_buf_free(out);
		return rc;
	}
	/* the head first, then each chunk as it is made */
	for (;;) {
		if (b->off == b->chunk.len) {
			if (b->fam == b->c.nfam)
				break;
			prom_fill(b);
			if (b->c.rc != XS_OK) {
				rc = b->c.rc;
				break;
			}
		}
		rc = xs_buf_append(out, b->chunk.data + b->off, b->chunk.len - b->off);
		if (rc)
			break;
		b->off = b->chunk.len;
	}
	xs_prom_body_free(&b);
	if (rc) {
		xs_buf_free(out);
		return xs_err_set(err, rc, "/metrics: %s (body over %zu bytes)", xs_strerror(rc),
				  out->limit);
	}
	return XS_OK;
}
