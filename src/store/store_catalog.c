/*
 * store_catalog.c - the series catalog (file "series"): series ids, their names in the
 * arena, the (kind, uuid, ds) hash, the list of each object's series, and the
 * public lookups (xs_store_series, xs_store_find, xs_store_each*).
 */
#include "store/store_internal.h"

static uint64_t st_hash(unsigned kind, const char *uuid, const char *ds)
{
	uint64_t h = 0xCBF29CE484222325ull ^ kind;

	for (; *uuid; uuid++)
		h = (h ^ (unsigned char)*uuid) * 0x100000001B3ull;
	h = (h ^ 0xff) * 0x100000001B3ull;
	for (; *ds; ds++)
		h = (h ^ (unsigned char)*ds) * 0x100000001B3ull;
	return h ^ (h >> 29);
}

static uint64_t st_str_hash(const char *str)
{
	return st_hash(0, str, "");
}

/* The slot of strhash holding str, or the empty one where it would go. */
static uint32_t st_str_slot(const struct xs_store *s, const char *str)
{
	uint32_t i = (uint32_t)st_str_hash(str) & (s->strhcap - 1);

	while (s->strhash[i] != UINT32_MAX && strcmp(s->arena + s->strhash[i], str))
		i = (i + 1) & (s->strhcap - 1);
	return i;
}

static void st_str_grow(struct xs_store *s)
{
	uint32_t cap = s->strhcap ? s->strhcap * 2 : 1024;

	free(s->strhash);
	s->strhash = xs_xmalloc(cap * sizeof(*s->strhash));
	memset(s->strhash, 0xff, cap * sizeof(*s->strhash));
	s->strhcap = cap;
	/* the strings are the arena's, one after the other */
	for (uint32_t off = 0; off < s->arena_len; off += (uint32_t)strlen(s->arena + off) + 1)
		s->strhash[st_str_slot(s, s->arena + off)] = off;
}

/* The arena offset of str, added if it is not there yet. Aborts past 4 GiB of
 * distinct names: tens of millions of objects, beyond what series ids and
 * memory allow anyway. */
static uint32_t st_intern(struct xs_store *s, const char *str)
{
	size_t n = strlen(str) + 1;
	uint32_t slot, off;

	if ((s->nstr + 1) * 2 > s->strhcap)
		st_str_grow(s);
	slot = st_str_slot(s, str);
	if (s->strhash[slot] != UINT32_MAX)
		return s->strhash[slot];
	if (n > UINT32_MAX - s->arena_len)
		abort();
	if (s->arena_len + n > s->arena_cap) {
		uint64_t cap = s->arena_cap ? s->arena_cap : 1 << 16;

		while (cap < s->arena_len + n)
			cap *= 2;
		cap = cap > UINT32_MAX ? UINT32_MAX : cap;
		s->arena = xs_xrealloc(s->arena, cap);
		s->arena_cap = (uint32_t)cap;
	}
	off = s->arena_len;
	memcpy(s->arena + off, str, n);
	s->arena_len += (uint32_t)n;
	s->strhash[slot] = off;
	s->nstr++;
	return off;
}

static const char *st_uuid(const struct xs_store *s, const struct st_series *se)
{
	return s->arena + se->uuid_off;
}

static const char *st_ds(const struct xs_store *s, const struct st_series *se)
{
	return s->arena + se->ds_off;
}

static uint64_t st_slot(const struct xs_store *s, unsigned kind, const char *uuid, const char *ds)
{
	uint64_t h = st_hash(kind, uuid, ds), i = h & (s->hcap - 1);
	uint64_t tag = h >> 32;

	for (;; i = (i + 1) & (s->hcap - 1)) {
		uint64_t x = s->hash[i];
		const struct st_series *se;

		if (x == UINT64_MAX)
			return i;
		if (x >> 32 != tag) /* most other series differ here: no name is read */
			continue;
		se = &s->ser[(uint32_t)x];
		if (se->kind == kind && !strcmp(st_uuid(s, se), uuid) && !strcmp(st_ds(s, se), ds))
			return i;
	}
}

static uint64_t st_hash_entry(const struct xs_store *s, uint32_t id)
{
	const struct st_series *se = &s->ser[id];

	return (st_hash(se->kind, st_uuid(s, se), st_ds(s, se)) >> 32 << 32) | id;
}

void st_hash_grow(struct xs_store *s)
{
	uint64_t cap = s->hcap ? s->hcap * 2 : 1024;

	free(s->hash);
	s->hash = xs_xmalloc(cap * sizeof(*s->hash));
	memset(s->hash, 0xff, cap * sizeof(*s->hash));
	s->hcap = cap;
	for (uint32_t id = 0; id < s->nser; id++) {
		const struct st_series *se = &s->ser[id];

		s->hash[st_slot(s, se->kind, st_uuid(s, se), st_ds(s, se))] = st_hash_entry(s, id);
	}
}

/* ---- objects: (kind, uuid) -> its series, newest first ---- */

static uint64_t st_obj_hash(unsigned kind, const char *uuid)
{
	return st_hash(kind, uuid, "");
}

static uint64_t st_obj_slot(const struct xs_store *s, unsigned kind, const char *uuid)
{
	uint64_t i = st_obj_hash(kind, uuid) & (s->ohcap - 1);

	for (;; i = (i + 1) & (s->ohcap - 1)) {
		uint32_t id = s->ohash[i];

		if (id == UINT32_MAX ||
		    (s->ser[id].kind == kind && !strcmp(st_uuid(s, &s->ser[id]), uuid)))
			return i;
	}
}

static void st_obj_link(struct xs_store *s, uint32_t id)
{
	struct st_series *se = &s->ser[id];
	uint64_t slot = st_obj_slot(s, se->kind, st_uuid(s, se));

	if (s->ohash[slot] == UINT32_MAX) {
		se->obj_next = UINT32_MAX;
		s->nobj++;
	} else {
		se->obj_next = s->ohash[slot];
	}
	s->ohash[slot] = id;
}

void st_obj_grow(struct xs_store *s)
{
	uint64_t cap = s->ohcap ? s->ohcap * 2 : 1024;

	free(s->ohash);
	s->ohash = xs_xmalloc(cap * sizeof(*s->ohash));
	memset(s->ohash, 0xff, cap * sizeof(*s->ohash));
	s->ohcap = cap;
	s->nobj = 0;
	for (uint32_t id = 0; id < s->nser; id++)
		st_obj_link(s, id);
}

/* ---- catalog records ------------------------------------------------------------ */

/* Adds series nser (the catalog decides ids: dense, in creation order). */
static uint32_t st_series_add(struct xs_store *s, unsigned kind, const char *uuid, const char *ds,
			      const char *unit)
{
	struct st_series *se;

	if (s->nser == s->capser) {
		s->capser = s->capser ? s->capser * 2 : 256;
		s->ser = xs_xrealloc(s->ser, s->capser * sizeof(*s->ser));
	}
	se = &s->ser[s->nser];
	memset(se, 0, sizeof(*se));
	se->kind = (uint8_t)kind;
	se->seen = s->now_min;
	se->uuid_off = st_intern(s, uuid);
	se->ds_off = st_intern(s, ds);
	se->unit_off = st_intern(s, unit);
	se->last_t = ST_NONE;
	se->act = ST_DORMANT; /* until its first point */
	se->times_saved = true; /* it has none */
	for (int k = 0; k < XS_NTIERS; k++)
		se->tier_last[k] = ST_NONE;
	s->nser++;
	if ((uint64_t)s->nser * 2 > s->hcap)
		st_hash_grow(s);
	else
		s->hash[st_slot(s, kind, uuid, ds)] = st_hash_entry(s, s->nser - 1);
	if ((s->nobj + 1) * 2 > s->ohcap)
		st_obj_grow(s); /* links every series, the new one included */
	else
		st_obj_link(s, s->nser - 1);
	return s->nser - 1;
}

static void st_cat_record(struct xs_store *s, uint32_t id, unsigned kind, const char *uuid,
			  const char *ds, const char *unit)
{
	struct st_bytes r = { 0 };

	st_put_u32(&r, id);
	st_put_u8(&r, (uint8_t)kind);
	st_put(&r, uuid, strlen(uuid) + 1);
	st_put(&r, ds, strlen(ds) + 1);
	st_put(&r, unit, strlen(unit) + 1);
	st_frame(&s->catbuf, r.p, r.len);
	free(r.p);
}

static const char *st_get_str(struct st_cur *c, size_t max)
{
	const char *p = (const char *)c->p + c->pos;
	const void *z;

	if (c->bad)
		return NULL;
	z = memchr(p, 0, c->len - c->pos < max ? c->len - c->pos : max);
	if (!z) {
		c->bad = true;
		return NULL;
	}
	c->pos += (size_t)((const char *)z - p) + 1;
	return p;
}

/* One catalog record at rec: a new series (id == nser) or a unit change (id < nser);
 * false if it is neither or does not parse. */
static bool st_cat_apply(struct xs_store *s, struct st_cur *rec)
{
	uint32_t id = st_get_u32(rec);
	unsigned kind = st_get_u8(rec);
	const char *uuid = st_get_str(rec, ST_MAX_UUID);
	const char *ds = st_get_str(rec, XS_STORE_MAX_DS);
	const char *unit = st_get_str(rec, XS_STORE_MAX_UNIT);

	if (rec->bad || kind >= XS_NOBJ_KINDS || id > s->nser)
		return false;
	if (id == s->nser)
		st_series_add(s, kind, uuid, ds, unit);
	else
		s->ser[id].unit_off = st_intern(s, unit);
	return true;
}

/*
 * After a damaged catalog record at buf[from..): the next offset holding a valid
 * record (CRC, and an id the damaged bytes could have held: at most one series per
 * ST_CAT_MIN_RECORD bytes skipped); 0 if none (a torn tail). The ids skipped get
 * placeholder series ("lost-series-ID"), so that no id is handed out again and the
 * log's rows of the lost series go to them, not to a later series.
 */
static size_t st_cat_resync(struct xs_store *s, const uint8_t *buf, size_t len, size_t from)
{
	for (size_t q = from + 1; q + 8 <= len; q++) {
		size_t at = q;
		struct st_cur rec;
		uint32_t id;
		unsigned kind;

		if (st_le32(buf + q) > ST_CAT_MAX_RECORD || !st_unframe(buf, len, &at, &rec))
			continue;
		/* a record st_cat_apply takes, as it reads it: placeholders for one it would
		 * refuse would stay in memory only, the file cut before the damage, and their
		 * ids handed out again after a reopen */
		id = st_get_u32(&rec);
		kind = st_get_u8(&rec);
		(void)st_get_str(&rec, ST_MAX_UUID);
		(void)st_get_str(&rec, XS_STORE_MAX_DS);
		(void)st_get_str(&rec, XS_STORE_MAX_UNIT);
		if (rec.bad || kind >= XS_NOBJ_KINDS || id < s->nser ||
		    id - s->nser > (q - from) / ST_CAT_MIN_RECORD)
			continue;
		while (s->nser < id) {
			char name[32];

			snprintf(name, sizeof(name), "lost-series-%u", s->nser);
			st_series_add(s, XS_OBJ_VM, name, "lost", "");
			s->lost_series++;
		}
		return q;
	}
	return 0;
}

enum xs_err st_cat_load(struct xs_store *s, char *err)
{
	uint8_t *buf;
	size_t len, pos = ST_FILE_HDR, end;
	struct st_cur rec;

	if (st_read_file(s->dirfd, "series", &buf, &len))
		return st_errno(err, "read", s, "series");
	if (len < ST_FILE_HDR || st_le32(buf) != ST_MAGIC_CAT) {
		if (len >= ST_FILE_HDR) {
			free(buf);
			return xs_err_set(err, XS_ERR_PARSE, "%s/series: not a series catalog", s->dir);
		}
		pos = 0; /* new (or torn while being created): start it over */
	}
	/* records up to the torn tail; a damaged one with valid records after it is
	 * skipped (st_cat_resync), and the file is cut after the last valid record */
	end = pos;
	while (pos && pos < len) {
		size_t at = pos, next;

		if (st_unframe(buf, len, &at, &rec) && st_cat_apply(s, &rec)) {
			pos = end = at;
			continue;
		}
		next = st_cat_resync(s, buf, len, pos);
		if (!next)
			break;
		pos = next;
	}
	pos = end;
	free(buf);
	s->cat_fd = openat(s->dirfd, "series", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->cat_fd < 0)
		return st_errno(err, "open", s, "series");
	if (pos == 0) {
		uint8_t h[ST_FILE_HDR] = { 0 };

		st_w32(h, ST_MAGIC_CAT);
		st_w32(h + 4, 1);
		if (st_write_all(s->cat_fd, h, sizeof(h), 0) || fsync(s->cat_fd))
			return st_errno(err, "write", s, "series");
		pos = ST_FILE_HDR;
	}
	if (ftruncate(s->cat_fd, (off_t)pos) < 0)
		return st_errno(err, "truncate", s, "series");
	s->cat_size = pos;
	return XS_OK;
}

/* ---- the API --------------------------------------------------------------------- */

static bool st_name_ok(const char *s, size_t max)
{
	return s && strnlen(s, max) < max;
}

enum xs_err xs_store_series(struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
			    const char *ds, const char *unit, xs_series_id *id, char *err)
{
	uint64_t slot;
	uint32_t i;

	if ((unsigned)kind >= XS_NOBJ_KINDS || !st_name_ok(uuid, ST_MAX_UUID) ||
	    !st_name_ok(ds, XS_STORE_MAX_DS) || !st_name_ok(unit, XS_STORE_MAX_UNIT))
		return xs_err_set(err, XS_ERR_ARG, "store: bad series key or unit");
	if (s->nser == UINT32_MAX - 1)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "store: too many series");
	slot = st_slot(s, kind, uuid, ds);
	if (s->hash[slot] == UINT64_MAX) {
		i = st_series_add(s, kind, uuid, ds, unit);
		st_cat_record(s, i, kind, uuid, ds, unit);
		*id = i;
		return XS_OK;
	}
	i = (uint32_t)s->hash[slot];
	if (strcmp(s->arena + s->ser[i].unit_off, unit)) {
		s->ser[i].unit_off = st_intern(s, unit);
		st_cat_record(s, i, kind, uuid, ds, unit);
	}
	*id = i;
	return XS_OK;
}

bool xs_store_find(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid, const char *ds,
		   xs_series_id *id)
{
	uint64_t x;

	if ((unsigned)kind >= XS_NOBJ_KINDS || !uuid || !ds)
		return false;
	x = s->hash[st_slot(s, kind, uuid, ds)];
	if (x == UINT64_MAX)
		return false;
	*id = (uint32_t)x;
	return true;
}

void xs_store_each_of(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
		      void (*cb)(void *arg, xs_series_id id, const char *ds, const char *unit),
		      void *arg)
{
	uint32_t i;

	if (!s->ohcap)
		return;
	for (i = s->ohash[st_obj_slot(s, kind, uuid)]; i != UINT32_MAX; i = s->ser[i].obj_next)
		cb(arg, i, st_ds(s, &s->ser[i]), s->arena + s->ser[i].unit_off);
}

void xs_store_each(const struct xs_store *s,
		   void (*cb)(void *arg, xs_series_id id, enum xs_obj_kind kind, const char *uuid,
		   const char *ds, const char *unit),
		   void *arg)
{
	for (uint32_t i = 0; i < s->nser; i++) {
		const struct st_series *se = &s->ser[i];

		cb(arg, i, (enum xs_obj_kind)se->kind, st_uuid(s, se), st_ds(s, se),
		   s->arena + se->unit_off);
	}
}
