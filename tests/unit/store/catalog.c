/*
 * tests/unit/store/catalog.c - the names of the series catalog in memory
 * (xs_store.arena, store_catalog.c): each distinct uuid, data source name and
 * unit is held once, however many series name it:
 *   - 3 VMs of 40 data sources and 2 units take exactly their 45 strings, and
 *     the series of a VM share its uuid, those of a data source its name;
 *   - 3,000 objects (the string table grows several times) keep every name,
 *     found by xs_store_find and given back by xs_store_each;
 *   - a reopen interns the catalog's records the same way (same arena size);
 *   - a unit change keeps the new unit across a reopen, and changing back to
 *     a unit already held adds nothing.
 * The store is included whole (store_whole.h) to look at the arena.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/store_whole.h"

#include "support/tmp_dir.h"
#include "test.h"

static char test_dir[TMP_DIR_LEN];

static struct xs_store *cat_open(void)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	ok(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	return s;
}

static void cat_close(struct xs_store **s)
{
	char err[XS_ERR_LEN] = "";

	ok(xs_store_close(s, err) == XS_OK, "close: %s", err);
}

static xs_series_id cat_series(struct xs_store *s, const char *uuid, const char *ds, const char *unit)
{
	char err[XS_ERR_LEN] = "";
	xs_series_id id = UINT32_MAX;

	if (xs_store_series(s, XS_OBJ_VM, uuid, ds, unit, &id, err) != XS_OK)
		ok(0, "series %s %s: %s", uuid, ds, err);
	return id;
}

static void cat_names(char *uuid, char *ds, int obj, int d)
{
	snprintf(uuid, 40, "%08d-0000-4000-8000-%012d", obj, obj);
	snprintf(ds, 24, "vbd_xvd%c_read_%d", 'a' + d % 26, d);
}

static void test_shared_names(void)
{
	struct xs_store *s;
	char uuid[40], ds[24];
	xs_series_id id[3][40];
	size_t want = 0, bad = 0;
	uint32_t len;

	tmp_dir_new(test_dir, "catalog");
	s = cat_open();
	fail_unless(s, "open");
	for (int v = 0; v < 3; v++)
		for (int d = 0; d < 40; d++) {
			cat_names(uuid, ds, v, d);
			id[v][d] = cat_series(s, uuid, ds, d % 2 ? "B/s" : "(fraction)");
		}
	for (int v = 0; v < 3; v++) {
		cat_names(uuid, ds, v, 0);
		want += strlen(uuid) + 1;
	}
	for (int d = 0; d < 40; d++) {
		cat_names(uuid, ds, 0, d);
		want += strlen(ds) + 1;
	}
	want += sizeof("B/s") + sizeof("(fraction)");
	ok(s->arena_len == want, "120 series: %u bytes of names, the 45 strings' %zu", s->arena_len,
	   want);
	ok(s->nstr == 45, "45 strings held (%u)", s->nstr);
	for (int v = 0; v < 3; v++)
		for (int d = 0; d < 40; d++) {
			bad += s->ser[id[v][d]].uuid_off != s->ser[id[v][0]].uuid_off;
			bad += s->ser[id[v][d]].ds_off != s->ser[id[0][d]].ds_off;
			bad += s->ser[id[v][d]].unit_off != s->ser[id[0][d % 2]].unit_off;
		}
	ok(bad == 0, "a VM's series share its uuid, a data source's its name (%zu apart)", bad);
	len = s->arena_len;
	cat_close(&s);
	s = cat_open();
	fail_unless(s, "reopen");
	ok(s->nser == 120 && s->arena_len == len && s->nstr == 45,
	   "the reopened catalog holds the same strings (%u series, %u bytes, %u strings)", s->nser,
	   s->arena_len, s->nstr);
	cat_close(&s);
	tmp_dir_remove(test_dir);
}

struct cat_seen {
	size_t n, bad;
};

static void cat_each(void *arg, xs_series_id id, enum xs_obj_kind kind, const char *uuid,
		     const char *ds, const char *unit)
{
	struct cat_seen *seen = arg;
	char want_uuid[40], want_ds[24];

	cat_names(want_uuid, want_ds, (int)id / 4, (int)id % 4);
	seen->n++;
	seen->bad += kind != XS_OBJ_VM || strcmp(uuid, want_uuid) || strcmp(ds, want_ds) ||
		     strcmp(unit, "B");
}

/* Series id of object obj and data source d is 4 * obj + d: the names cat_each expects. */
static size_t cat_check_many(const struct xs_store *s, int nobj)
{
	struct cat_seen seen = { 0, 0 };
	char uuid[40], ds[24];
	size_t missed = 0;

	xs_store_each(s, cat_each, &seen);
	for (int o = 0; o < nobj; o++)
		for (int d = 0; d < 4; d++) {
			xs_series_id id = UINT32_MAX;

			cat_names(uuid, ds, o, d);
			missed += !xs_store_find(s, XS_OBJ_VM, uuid, ds, &id) ||
				  id != (xs_series_id)(4 * o + d);
		}
	return seen.n != (size_t)nobj * 4 ? SIZE_MAX : seen.bad + missed;
}

static void test_many_objects(void)
{
	struct xs_store *s;
	char uuid[40], ds[24];
	size_t bad;

	tmp_dir_new(test_dir, "catalog");
	s = cat_open();
	fail_unless(s, "open");
	for (int o = 0; o < 3000; o++)
		for (int d = 0; d < 4; d++) {
			cat_names(uuid, ds, o, d);
			cat_series(s, uuid, ds, "B");
		}
	ok(s->nstr == 3000 + 4 + 1, "3,005 strings (%u)", s->nstr);
	ok(s->strhcap >= 2 * s->nstr, "the string table grew with them (%u slots)", s->strhcap);
	bad = cat_check_many(s, 3000);
	ok(bad == 0, "every series keeps its names and is found (%zu wrong)", bad);
	cat_close(&s);
	s = cat_open();
	fail_unless(s, "reopen");
	bad = cat_check_many(s, 3000);
	ok(bad == 0, "and after a reopen (%zu wrong)", bad);
	cat_close(&s);
	tmp_dir_remove(test_dir);
}

struct cat_unit {
	xs_series_id id;
	const char *unit;
};

static void cat_unit_of(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct cat_unit *u = arg;

	(void)ds;
	if (id == u->id)
		u->unit = unit;
}

static void test_unit_change(void)
{
	struct xs_store *s;
	struct cat_unit u = { 0, NULL };
	xs_series_id a, b;
	uint32_t len;

	tmp_dir_new(test_dir, "catalog");
	s = cat_open();
	fail_unless(s, "open");
	a = cat_series(s, "vm-a", "memory", "KiB");
	b = cat_series(s, "vm-b", "memory", "KiB");
	ok(cat_series(s, "vm-a", "memory", "B") == a, "a unit change keeps the series");
	len = s->arena_len;
	ok(cat_series(s, "vm-b", "memory", "B") == b, "b too");
	ok(s->arena_len == len, "a unit already held adds no byte (%u, was %u)", s->arena_len, len);
	ok(s->ser[a].unit_off == s->ser[b].unit_off, "both series name the one \"B\"");
	cat_series(s, "vm-a", "memory", "KiB");
	ok(s->arena_len == len, "nor does changing back (%u)", s->arena_len);
	cat_close(&s);
	s = cat_open();
	fail_unless(s, "reopen");
	u.id = a;
	xs_store_each_of(s, XS_OBJ_VM, "vm-a", cat_unit_of, &u);
	ok(u.unit && !strcmp(u.unit, "KiB"), "a's last unit after a reopen: %s", u.unit ? u.unit : "none");
	u.id = b;
	u.unit = NULL;
	xs_store_each_of(s, XS_OBJ_VM, "vm-b", cat_unit_of, &u);
	ok(u.unit && !strcmp(u.unit, "B"), "b's: %s", u.unit ? u.unit : "none");
	cat_close(&s);
	tmp_dir_remove(test_dir);
}

/* Sets the kind byte of the catalog record at off to 7 (no kind) and its CRC right:
 * a record that passes its CRC but does not parse. */
static void cat_spoil(uint8_t *buf, size_t off)
{
	buf[off + 8 + 4] = 7;
	st_w32(buf + off + 4, xs_crc32c(0, buf + off + 8, st_le32(buf + off)));
}

/*
 * Damage that ends the catalog: record 1 does not parse, and record 2 after it,
 * CRC and all, does not either. That is a torn tail: the file is cut after
 * record 0 and no placeholder is made (one made only in memory, for the record
 * after the damage, was gone at the next open, and its id handed out twice). A
 * series made then keeps its id and its name across a reopen.
 */
static void test_damaged_tail(void)
{
	char path[TMP_DIR_LEN + 16];
	xs_series_id id, again;
	struct xs_store *s;
	uint8_t buf[4096];
	size_t len, r1, r2;
	FILE *f;

	tmp_dir_new(test_dir, "catalog");
	s = cat_open();
	fail_unless(s != NULL, "open");
	cat_series(s, "u0", "cpu0", "%");
	cat_series(s, "u1", "cpu1", "%");
	cat_series(s, "u2", "cpu2", "%");
	cat_close(&s);
	snprintf(path, sizeof(path), "%s/series", test_dir);
	f = fopen(path, "r+b");
	fail_unless(f != NULL, "open %s", path);
	len = fread(buf, 1, sizeof(buf), f);
	r1 = ST_FILE_HDR + 8 + st_le32(buf + ST_FILE_HDR);
	r2 = r1 + 8 + st_le32(buf + r1);
	fail_unless(r2 < len, "three records (%zu bytes)", len);
	cat_spoil(buf, r1);
	cat_spoil(buf, r2);
	rewind(f);
	fail_unless(fwrite(buf, 1, len, f) == len, "write %s", path);
	fclose(f);
	s = cat_open();
	fail_unless(s != NULL, "open after the damage");
	ok(s->nser == 1 && s->lost_series == 0, "a torn tail: %u series, %u lost (1, 0)", s->nser,
	   (unsigned)s->lost_series);
	id = cat_series(s, "u3", "cpu3", "%");
	cat_close(&s);
	s = cat_open();
	fail_unless(s != NULL, "reopen");
	ok(xs_store_find(s, XS_OBJ_VM, "u3", "cpu3", &again) && again == id,
	   "the series made after it keeps id %u and its name (%u series)", id, s->nser);
	ok(s->nser == id + 1, "no id given twice: %u series", s->nser);
	cat_close(&s);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	TEST_RUN(test_shared_names);
	TEST_RUN(test_many_objects);
	TEST_RUN(test_unit_change);
	TEST_RUN(test_damaged_tail);
	return test_summary();
}
