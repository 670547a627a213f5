/*
 * The collector (src/collect/collector.c) against xapi-sim imitating each
 * xapi era SPEC §1-§2 tells apart (--xapi-version), end to end: first
 * contact with its backfill of every archive, then one 5 s round. The
 * fixture is support/collect_fix.h (one pool of one host and two VMs, 8 days
 * of history, manual clock), one simulator at a time.
 *
 * Per era, the store must hold:
 * - exactly what that simulator serves (same float32): the 5 s archive read
 *   as XML (what the collector asks for) and as the era's JSON (variant A, B
 *   or C, SPEC §2.2), and the 1 min, 1 h and 1 d archives before the 5 s rows.
 *   The documents are asked with absolute starts, right in every era;
 * - the values of a reference simulator (default version, %0.15g: float32
 *   exact) to the precision of the era's number format (SPEC §2.3), with
 *   some values rounded in the %0.4f and %0.5g eras and none in the %0.15g
 *   ones (the format really changes with the version);
 * - no error, and a whole archive asked again only where a negative start= is
 *   a time, not relative to the last update (before xapi-rrd's 2015 change,
 *   SPEC §1.2): there every relative start the collector sends lands before
 *   any archive and the host answers its coarsest one.
 */
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "support/collect_fix.h"
#include "test.h"

#define E_REF_BASE 86   /* address base of the reference simulator */
#define E_ERA_BASE 87   /* address base of the simulator of each era */
#define E_HISTORY "8"   /* days: every row of the 1 h archive has data */
#define E_NTIERS 4
#define E_WHOLE_MARGIN 60 /* CO_WHOLE_MARGIN of src/collect/collector.c */

/* Precision of a number format against a float32 value v: |served - v| <= tolerance. */
enum e_numfmt { E_F4, E_G5, E_G15 };

static const struct e_era {
	const char *version;
	enum e_numfmt nf;
	bool absolute_start;    /* a negative start= is a time (xapi-rrd before 2015-06) */
	const char *why;
} e_eras[] = {
	{ "1.3.0", E_F4, true, "XenServer 6.2: negative start a time, %0.4f, JSON variant A" },
	{ "1.249.3", E_F4, false, "XCP-ng 8.2: negative start relative; json key only" },
	{ "23.17.0", E_F4, false, "the Accept header chooses the format" },
	{ "23.25.0", E_F4, false, "the last %0.4f / variant A version" },
	{ "23.26.0", E_G5, false, "%0.5g, variant B (data inside meta)" },
	{ "24.10.0", E_G5, false, "the last variant B version" },
	{ "24.11.0", E_G5, false, "variant C, still %0.5g" },
	{ "25.2.0", E_G5, false, "the last %0.5g version" },
	{ "25.3.0", E_G15, false, "%0.15g" },
	{ "26.7.0", E_G15, false, "vm_uuid repeated, 'all' a literal uuid" },
};

/* Each archive: its tier, rows per step and whole span (SPEC §1.5). */
static const struct e_tier {
	enum xs_tier tier;
	int64_t step, span;
} e_tiers[E_NTIERS] = {
	{ XS_TIER_5S, 5, 600 },
	{ XS_TIER_1M, 60, 7200 },
	{ XS_TIER_1H, 3600, 604800 },
	{ XS_TIER_1D, 86400, 31622400 },
};

static struct doc e_ref[E_NTIERS]; /* the reference simulator's archives at T_CLOCK */
static char e_host[64];            /* the host's uuid (the same in every simulator) */

/* The archive of tier k as of the fixture's clock, with an absolute start= (every era). */
static bool e_fetch(struct fix *f, int k, bool json, struct doc *d)
{
	char params[256];

	snprintf(params, sizeof(params), "start=%lld&host=true%s&interval=%lld%s",
		 (long long)(f->clock - e_tiers[k].span + 1), k ? "" : "&cf=AVERAGE",
		 (long long)e_tiers[k].step, json ? "&json=true" : "");
	return doc_fetch_as(f, e_host, params, json ? "application/json" : "text/xml", d);
}

/*
 * The rows of tier k compared: from the first one the collector takes (where a
 * negative start is a time, it asks with an absolute start E_WHOLE_MARGIN inside
 * the archive and the rows before come from the next coarser one, as for a VM
 * just started), to the clock for the 5 s rows, or for the coarse rows to the
 * first 5 s row (later ones are the store's roll-ups of the 5 s rows).
 */
static void e_window(const struct e_era *e, int k, int64_t clock, int64_t *from, int64_t *to)
{
	int64_t margin = e->absolute_start ? E_WHOLE_MARGIN : 0;
	int64_t first5 = T_CLOCK - e_tiers[0].span + (margin ? margin : 5);

	*from = T_CLOCK - e_tiers[k].span + margin;
	*to = k ? first5 - 5 - e_tiers[k].step : clock;
}

/* Reads the reference archives from a simulator of the default version. */
static bool e_reference(void)
{
	struct fix f;
	bool good = false;

	t_xapi_version = NULL;
	if (!ok(fix_start(&f, "1", "2", E_REF_BASE, false), "reference fixture"))
		goto out;
	snprintf(e_host, sizeof(e_host), "%s", fix_host(&f, 0)->uuid);
	good = true;
	for (int k = 0; k < E_NTIERS; k++)
		good = ok(e_fetch(&f, k, false, &e_ref[k]), "reference archive %d", k) && good;
out:
	fix_stop(&f);
	return good;
}

/* The store against what the era's simulator serves: exactly. */
static void e_check_served(struct fix *f, const struct e_era *e)
{
	for (int k = 0; k < E_NTIERS; k++) {
		struct cmp c = { 0, 0, 0 };
		struct doc d;
		int64_t from, to;

		if (!ok(e_fetch(f, k, false, &d), "%s: archive %d", e->version, k))
			continue;
		e_window(e, k, f->clock, &from, &to);
		compare_doc(f, &d, e_tiers[k].tier, from, to, &c);
		doc_free(&d);
		ok(c.compared > 100 && !c.missing && !c.differ,
		   "%s tier %d as served: %zu compared, %zu missing, %zu differ", e->version, k,
		   c.compared, c.missing, c.differ);
	}
}

/* The 5 s archive in the era's JSON variant: the same values as the store. */
static void e_check_json(struct fix *f, const struct e_era *e)
{
	struct cmp c = { 0, 0, 0 };
	struct doc d;
	int64_t from, to;

	if (!ok(e_fetch(f, 0, true, &d), "%s: JSON archive", e->version))
		return;
	e_window(e, 0, f->clock, &from, &to);
	compare_doc(f, &d, XS_TIER_5S, from, to, &c);
	doc_free(&d);
	ok(c.compared > 100 && !c.missing && !c.differ,
	   "%s JSON: %zu compared, %zu missing, %zu differ", e->version, c.compared, c.missing,
	   c.differ);
}

/* Whether a stored value is the reference's printed by the era's format (float32 of it). */
static bool e_near(float got, float want, enum e_numfmt nf)
{
	double err = fabs((double)got - (double)want), mag = fabs((double)want);

	if (isnan(got) || isnan(want) || nf == E_G15)
		return same_float(got, want);
	/* the half unit of the last digit printed, and float32's own rounding of it */
	if (nf == E_F4)
		return err <= 0.5e-4 + 1e-7 * mag;
	return err <= 0.5e-4 * mag + 1e-7 * mag;
}

/* The store against the reference, to the era's precision; counts values not exact. */
static void e_check_reference(struct fix *f, const struct e_era *e)
{
	for (int k = 0; k < E_NTIERS; k++) {
		const struct doc *d = &e_ref[k];
		int64_t shift = k ? d->step : 0, from, to;
		size_t compared = 0, missing = 0, far = 0, inexact = 0;

		e_window(e, k, T_CLOCK, &from, &to);
		for (size_t i = 0; i < d->ncols; i++) {
			char cf[16], uuid[64], ds[256];
			enum xs_obj_kind kind;

			if (!split_entry(d->entry[i], cf, &kind, uuid, ds))
				continue;
			for (size_t r = 0; r < d->nrows; r++) {
				float want = d->v[r * d->ncols + i], got;

				if (d->t[r] < from || d->t[r] > to || (k && isnan(want)))
					continue;
				if (!stored_cf(f, kind, uuid, ds, cf, e_tiers[k].tier, d->t[r] - shift,
					       &got)) {
					missing++;
					continue;
				}
				compared++;
				inexact += !same_float(got, want);
				if (!e_near(got, want, e->nf) && far++ < 3)
					fprintf(stderr, "# %s %s at %lld: stored %.9g, reference %.9g\n",
						e->version, d->entry[i], (long long)d->t[r],
						(double)got, (double)want);
			}
		}
		ok(compared > 100 && !missing && !far,
		   "%s tier %d vs reference: %zu compared, %zu missing, %zu beyond the format", e->version,
		   k, compared, missing, far);
		ok((inexact > 0) == (e->nf != E_G15), "%s tier %d: %zu of %zu rounded by the format",
		   e->version, k, inexact, compared);
	}
}

/* One era: first contact and a 5 s round, then the store checked. */
static void e_run(const struct e_era *e)
{
	struct fix f;
	struct xs_collector_stats st;
	struct xs_collect_host_status hs;

	t_xapi_version = e->version;
	if (!ok(fix_start(&f, "1", "2", E_ERA_BASE, false), "%s: fixture", e->version))
		goto out;
	/* an absolute start asked again counts from the host's clock */
	if (!ok(loop_wait(t_loop, offset_known, &f, 10), "%s: host clock offset", e->version) ||
	    !ok(fix_round(&f), "%s: first round", e->version) ||
	    !ok(fix_advance(&f, 5) && fix_round(&f), "%s: 5 s round", e->version))
		goto out;
	xs_collector_stats(f.co, &st);
	hs = fix_status(&f, e_host);
	ok(st.errors == 0 && !hs.last_error[0] && hs.newest == f.clock,
	   "%s: %llu errors '%s', newest %lld", e->version, (unsigned long long)st.errors,
	   hs.last_error, (long long)hs.newest);
	ok((st.refetches > 0) == e->absolute_start, "%s: %llu archives asked again (%s)",
	   e->version, (unsigned long long)st.refetches, e->why);
	e_check_served(&f, e);
	e_check_json(&f, e);
	e_check_reference(&f, e);
out:
	fix_stop(&f);
	t_xapi_version = NULL;
}

static void test_eras(void)
{
	if (!e_reference())
		return;
	for (size_t i = 0; i < sizeof(e_eras) / sizeof(e_eras[0]); i++)
		e_run(&e_eras[i]);
}

int main(void)
{
	if (!fix_suite_begin("/tmp/xs-eras-XXXXXX"))
		return 1;
	t_history = E_HISTORY;
	TEST_RUN(test_eras);
	for (int k = 0; k < E_NTIERS; k++)
		doc_free(&e_ref[k]);
	fix_suite_end();
	return test_summary();
}
