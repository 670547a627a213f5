/*
 * serve_check.c - bench/serve_bench.sh's reader of the store `xapistat serve`
 * filled: how many 5 s rows of a time window are missing.
 *
 *   serve_check DIR FROM TO [EVERY]
 *
 * Opens the store in DIR (the daemon must be stopped: the store takes a lock),
 * takes every EVERY-th series of kind host or vm (default 1: all of them; SR
 * series are left out: xapi-sim serves none at 5 s), and reads its 5 s points
 * with FROM <= t <= TO (host time, multiples of 5). Expected: (TO - FROM) / 5 + 1
 * points per series. A row of an object is (object, t); it is missing when any
 * sampled series of the object lacks t. Prints one line of key=value pairs:
 *
 *   series= hosts= vms= expected= present= missing= nan= incomplete_series=
 *   empty_series= objects= rows_expected= rows_missing= incomplete_objects=
 *
 * and, on stderr, up to 10 incomplete series with their first missing time.
 * Exit 0 when it could read the store (whatever it found), 1 otherwise.
 *
 * Built by the script with cc -O2 together with the .c files of src/store and src/lib.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "store/store.h"

#define SC_MAX_REPORTED 10
#define SC_UUID_LEN 128

struct sc_obj {
	char uuid[SC_UUID_LEN];
	enum xs_obj_kind kind;
	uint64_t *missing;       /* one bit per expected slot */
	bool used;
};

struct sc_series {
	xs_series_id id;
	size_t obj;
	char ds[XS_STORE_MAX_DS];
};

struct sc_ctx {
	struct sc_obj *objs;     /* open addressing by (kind, uuid) */
	size_t capobjs, nobjs;
	struct sc_series *ser;
	size_t nser, capser;
	size_t seen;             /* host and vm series met, for EVERY */
	size_t every;
	size_t words;            /* uint64_t per object bitmap */
};

static uint64_t sc_hash(enum xs_obj_kind kind, const char *uuid)
{
	uint64_t x = 1469598103934665603ull ^ (uint64_t)kind;

	for (; *uuid; uuid++)
		x = (x ^ (unsigned char)*uuid) * 1099511628211ull;
	return x;
}

static size_t sc_obj_get(struct sc_ctx *c, enum xs_obj_kind kind, const char *uuid)
{
	size_t j = sc_hash(kind, uuid) & (c->capobjs - 1);

	while (c->objs[j].used) {
		if (c->objs[j].kind == kind && !strcmp(c->objs[j].uuid, uuid))
			return j;
		j = (j + 1) & (c->capobjs - 1);
	}
	c->objs[j].used = true;
	c->objs[j].kind = kind;
	snprintf(c->objs[j].uuid, sizeof(c->objs[j].uuid), "%s", uuid);
	c->objs[j].missing = xs_xcalloc(c->words, sizeof(uint64_t));
	c->nobjs++;
	return j;
}

static void sc_each(void *arg, xs_series_id id, enum xs_obj_kind kind, const char *uuid,
		    const char *ds, const char *unit)
{
	struct sc_ctx *c = arg;
	struct sc_series *s;

	(void)unit;
	if (kind != XS_OBJ_HOST && kind != XS_OBJ_VM)
		return;
	if (c->seen++ % c->every)
		return;
	if (c->nser == c->capser) {
		c->capser = c->capser ? 2 * c->capser : 4096;
		c->ser = xs_xrealloc(c->ser, c->capser * sizeof(*c->ser));
	}
	s = &c->ser[c->nser++];
	s->id = id;
	s->obj = sc_obj_get(c, kind, uuid);
	snprintf(s->ds, sizeof(s->ds), "%s", ds);
}

static bool sc_arg_i64(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (!*s || *end || v <= 0)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	struct xs_store_options o = { 0 };
	struct xs_store *st = NULL;
	struct sc_ctx c = { 0 };
	struct xs_point *pts;
	char err[XS_ERR_LEN];
	int64_t from, to, every = 1;
	size_t slots, reported = 0, hosts = 0, vms = 0;
	uint64_t expected = 0, present = 0, nan = 0, incomplete = 0, empty = 0;
	uint64_t rows_missing = 0, bad_objs = 0;

	if (argc < 4 || argc > 5 || !sc_arg_i64(argv[2], &from) || !sc_arg_i64(argv[3], &to) ||
	    (argc == 5 && !sc_arg_i64(argv[4], &every)) || to < from || from % 5 || to % 5) {
		fprintf(stderr, "usage: serve_check DIR FROM TO [EVERY]  (times multiples of 5)\n");
		return 2;
	}
	slots = (size_t)((to - from) / 5 + 1);
	o.dir = argv[1];
	if (xs_store_open(&o, &st, err)) {
		fprintf(stderr, "serve_check: %s\n", err);
		return 1;
	}
	c.every = (size_t)every;
	c.words = (slots + 63) / 64;
	c.capobjs = 1u << 16;
	{
		struct xs_store_stats ss;

		xs_store_stats(st, &ss);
		while (c.capobjs < 2 * ss.series)
			c.capobjs *= 2;
	}
	c.objs = xs_xcalloc(c.capobjs, sizeof(*c.objs));
	xs_store_each(st, sc_each, &c);
	pts = xs_xmalloc((slots + 1) * sizeof(*pts));
	for (size_t i = 0; i < c.nser; i++) {
		struct sc_series *s = &c.ser[i];
		size_t n = xs_store_read(st, s->id, XS_TIER_5S, from, to, pts, slots + 1);
		size_t k = 0;
		int64_t first_missing = 0;

		if (n > slots)
			n = slots; /* cannot happen: points are strictly ascending multiples of 5 */
		expected += slots;
		present += n;
		if (!n)
			empty++;
		for (size_t j = 0; j < n; j++)
			nan += isnan(pts[j].avg);
		if (n == slots)
			continue;
		incomplete++;
		for (size_t slot = 0; slot < slots; slot++) {
			int64_t t = from + 5 * (int64_t)slot;

			while (k < n && pts[k].t < t)
				k++;
			if (k < n && pts[k].t == t)
				continue;
			if (!first_missing)
				first_missing = t;
			c.objs[s->obj].missing[slot / 64] |= 1ull << (slot % 64);
		}
		if (reported++ < SC_MAX_REPORTED)
			fprintf(stderr, "serve_check: %s %s %s: %zu of %zu points, first missing %lld\n",
				c.objs[s->obj].kind == XS_OBJ_HOST ? "host" : "vm", c.objs[s->obj].uuid,
				s->ds, n, slots, (long long)first_missing);
	}
	for (size_t j = 0; j < c.capobjs; j++) {
		uint64_t m = 0;

		if (!c.objs[j].used)
			continue;
		hosts += c.objs[j].kind == XS_OBJ_HOST;
		vms += c.objs[j].kind == XS_OBJ_VM;
		for (size_t w = 0; w < c.words; w++)
			m += (uint64_t)__builtin_popcountll(c.objs[j].missing[w]);
		rows_missing += m;
		bad_objs += m > 0;
		free(c.objs[j].missing);
	}
	printf("series=%zu hosts=%zu vms=%zu expected=%llu present=%llu missing=%llu nan=%llu "
	       "incomplete_series=%llu empty_series=%llu objects=%zu rows_expected=%llu "
	       "rows_missing=%llu incomplete_objects=%llu\n",
	       c.nser, hosts, vms, (unsigned long long)expected, (unsigned long long)present,
	       (unsigned long long)(expected - present), (unsigned long long)nan,
	       (unsigned long long)incomplete, (unsigned long long)empty, c.nobjs,
	       (unsigned long long)(c.nobjs * slots), (unsigned long long)rows_missing,
	       (unsigned long long)bad_objs);
	free(pts);
	free(c.ser);
	free(c.objs);
	if (xs_store_close(&st, err)) {
		fprintf(stderr, "serve_check: close: %s\n", err);
		return 1;
	}
	return 0;
}
