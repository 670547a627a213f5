/*
 * Tests of sim/rrd_query.c: /rrd_updates parameters by xapi version (a
 * negative start relative or a time), the Accept-header rule, and archive
 * choice and rows (SPEC §1.2, §2.1).
 */
#include <string.h>

#include "../../../sim/rrd_query.c"
#include "test.h"

static const int ppr[] = { 1, 12, 720, 17280 };
static const int rows[] = { 120, 120, 168, 366 };

static struct sim_xapi_version ver(const char *s)
{
	struct sim_xapi_version v = { 0, 0, 0 };

	if (!sim_xapi_version_parse(s, &v))
		abort();
	return v;
}

static void test_versions(void)
{
	struct sim_xapi_version v;

	ok(sim_xapi_version_parse("25.6.0", &v) && v.major == 25 && v.minor == 6, "25.6.0");
	ok(sim_xapi_version_parse("1.249.3", &v) && v.major == 1 && v.patch == 3, "1.249.3");
	ok(sim_xapi_version_parse("v24.11", &v) && v.minor == 11 && v.patch == 0, "v24.11");
	ok(!sim_xapi_version_parse("banana", &v), "rejects junk");
	ok(!sim_xapi_version_parse("1.2.3x", &v), "rejects a tail");
	ok(sim_xapi_version_cmp(ver("23.17.0"), 23, 17, 0) == 0, "equal");
	ok(sim_xapi_version_cmp(ver("1.249.3"), 23, 17, 0) < 0, "XCP-ng 8.2 is older");
}

static void test_params(void)
{
	struct sim_rrd_query q;
	const char *err = NULL;

	sim_rrd_query_init(&q);
	ok(sim_rrd_query_param(&q, ver("25.6.0"), "start", "-600", &err) && q.start == -600,
	   "negative start");
	ok(!q.start_absolute, "relative since xapi-rrd's 2015 change");
	ok(sim_rrd_query_param(&q, ver("1.249.3"), "start", "-600", &err) && !q.start_absolute,
	   "relative on XCP-ng 8.2");
	ok(sim_rrd_query_param(&q, ver("1.3.0"), "start", "-600", &err) && q.start_absolute,
	   "a time on XenServer 6.2 (xapi 1.3)");
	ok(!sim_rrd_query_param(&q, ver("25.6.0"), "start", "soon", &err) && err, "bad start");
	sim_rrd_query_param(&q, ver("25.6.0"), "cf", "average", &err);
	ok(q.cf == -1, "cf is case-sensitive: 'average' means every CF");
	sim_rrd_query_param(&q, ver("25.6.0"), "cf", "MAX", &err);
	ok(q.cf == 2, "cf=MAX");
	sim_rrd_query_param(&q, ver("25.6.0"), "host", "1", &err);
	ok(!q.host, "host=1 is not true");
	sim_rrd_query_param(&q, ver("25.6.0"), "host", "true", &err);
	ok(q.host, "host=true");
	ok(q.vms == SIM_SELECT_ALL && q.srs == SIM_SELECT_NONE, "defaults: all VMs, no SR");

	/* before 26.7.0: one value, all / none words */
	sim_rrd_query_param(&q, ver("25.6.0"), "vm_uuid", "none", &err);
	ok(q.vms == SIM_SELECT_NONE, "vm_uuid=none");
	sim_rrd_query_param(&q, ver("25.6.0"), "sr_uuid", "all", &err);
	ok(sim_rrd_query_wants_sr(&q, "x"), "sr_uuid=all");
	sim_rrd_query_param(&q, ver("25.6.0"), "vm_uuid", "a", &err);
	sim_rrd_query_param(&q, ver("25.6.0"), "vm_uuid", "b", &err);
	ok(!sim_rrd_query_wants_vm(&q, "a") && sim_rrd_query_wants_vm(&q, "b"),
	   "old versions keep the last value only");

	/* from 26.7.0: repeated, literal */
	sim_rrd_query_init(&q);
	sim_rrd_query_param(&q, ver("26.7.0"), "vm_uuid", "a", &err);
	sim_rrd_query_param(&q, ver("26.7.0"), "vm_uuid", "b", &err);
	ok(sim_rrd_query_wants_vm(&q, "a") && sim_rrd_query_wants_vm(&q, "b") &&
		   !sim_rrd_query_wants_vm(&q, "c"),
	   "repeated vm_uuid");
	sim_rrd_query_init(&q);
	sim_rrd_query_param(&q, ver("26.7.0"), "sr_uuid", "all", &err);
	ok(!sim_rrd_query_wants_sr(&q, "x") && sim_rrd_query_wants_sr(&q, "all"),
	   "'all' is a literal uuid from 26.7.0");
}

static void test_format(void)
{
	static const struct {
		const char *version, *accept;
		bool json_key, want;
	} cases[] = {
		{ "25.6.0", NULL, false, false },
		{ "25.6.0", NULL, true, true },
		{ "25.6.0", "*/*", false, true },          /* libcurl's default: JSON */
		{ "25.6.0", "text/xml", true, false },      /* Accept wins over json */
		{ "25.6.0", "application/xml", true, true }, /* neither: the json key decides */
		{ "25.6.0", "application/xml", false, false },
		{ "25.6.0", "text/xml;q=0.5, application/json", false, true },
		{ "25.6.0", "application/json;q=0.1, text/xml;q=0.9", false, false },
		{ "23.16.0", "*/*", false, false },         /* before 23.17.0: json key only */
		{ "1.249.3", "application/json", false, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_rrd_query q;

		sim_rrd_query_init(&q);
		q.json_key = cases[i].json_key;
		sim_rrd_query_format(&q, ver(cases[i].version), cases[i].accept);
		ok(q.json == cases[i].want, "%s Accept '%s' json=%d -> %d", cases[i].version,
		   cases[i].accept ? cases[i].accept : "(none)", cases[i].json_key, q.json);
	}
}

static const bool all_cf[] = { true, true, true, true };

static void plan(int64_t start, int64_t interval, int64_t last, struct sim_rrd_plan *p)
{
	struct sim_rrd_query q;

	sim_rrd_query_init(&q);
	q.start = start;
	q.interval = interval;
	sim_rrd_query_plan(&q, last, 5, ppr, rows, all_cf, 4, p);
}

static void test_plan(void)
{
	struct sim_rrd_plan p;
	int64_t last = 1700000003;

	plan(-600, 5, last, &p);
	ok(p.archive == 0 && p.step == 5 && p.end == 1700000000, "5 s archive, end on a step");
	ok(p.start_param == 1699999403 && p.first == 1699999405 && p.rows == 120,
	   "negative start relative to the last update: first %lld rows %zu",
	   (long long)p.first, p.rows);
	plan(1699999995, 5, last, &p);
	ok(p.rows == 2 && p.first == 1699999995 && p.meta_start == 1700000000,
	   "the row at start itself is included; meta.start is one step later");
	plan(1700000001, 5, last, &p);
	ok(p.rows == 0, "start after the last row: zero rows");
	plan(last - 3 * 3600, 5, last, &p);
	ok(p.archive == 2 && p.step == 3600, "5 s asked but 3 h back: first archive covering it");
	plan(last - 86400 * 30, 60, last, &p);
	ok(p.archive == 3, "a month back: the daily archive");
	plan(last - 86400 * 1000, 5, last, &p);
	ok(p.archive == 3 && p.rows == 366, "nothing covers it: the coarsest, all its rows");
	plan(last - 1800, 3600, last, &p);
	ok(p.archive == 2 && p.rows == 1, "interval 3600: hourly rows");
	plan(0, 60, last, &p);
	ok(p.archive == 3, "start=0: coarsest");
	{
		/* before xapi-rrd's 2015 change a negative start is a time: before any archive */
		struct sim_rrd_query q;

		sim_rrd_query_init(&q);
		q.start = -599;
		q.start_absolute = true;
		q.interval = 5;
		sim_rrd_query_plan(&q, last, 5, ppr, rows, all_cf, 4, &p);
		ok(p.archive == 3 && p.rows == 366 && p.start_param == -599,
		   "old xapi, start=-599: the coarsest archive, all its rows");
	}
	{
		/* cf=MIN on a host: the 5 s archive keeps AVERAGE only (SPEC §6.7) */
		static const bool min_cf[] = { false, true, true, true };
		struct sim_rrd_query q;

		sim_rrd_query_init(&q);
		q.start = -300;
		q.interval = 5;
		q.cf = 1;
		sim_rrd_query_plan(&q, last, 5, ppr, rows, min_cf, 4, &p);
		ok(p.archive == 1 && p.step == 60, "cf=MIN interval=5 answers from the 60 s archive");
	}
}

int main(void)
{
	TEST_RUN(test_versions);
	TEST_RUN(test_params);
	TEST_RUN(test_format);
	TEST_RUN(test_plan);
	return test_summary();
}
