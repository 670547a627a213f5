/*
 * Tests of the RRD dump XML reader (src/rrd/xml_dump.c): xapi-rrd's own
 * fixture flip_flop.xml, the field variants of each era, row times (SPEC
 * §2.5), structural errors, truncation and chunk-split invariance.
 */
#include <string.h>

#include "rrd/rrd_reader.h"
#include "test.h"
#include "support/rrd_cases.h"

/* Two data sources, two archives (5 s and 60 s), lastupdate not on a boundary. */
static const char doc_two[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<rrd><version>0003</version><step>5</step><lastupdate>1700000003</lastupdate>"
	"<ds><name>cpu0</name><type>DERIVE</type><minimal_heartbeat>300.0000</minimal_heartbeat>"
	"<min>0.0</min><max>1</max><last_ds>8813.5655</last_ds><value>0.2797</value>"
	"<unknown_sec>0</unknown_sec></ds>"
	"<ds><name>memory_free_kib</name><type>GAUGE</type><minimal_heartbeat>300"
	"</minimal_heartbeat><min>-Infinity</min><max>Infinity</max><last_ds>16776124</last_ds>"
	"<value>1.6776e+07</value><unknown_sec>0</unknown_sec></ds>"
	"<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5</xff></params>"
	"<cdp_prep><ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value>"
	"<value>0.0</value><unknown_datapoints>0</unknown_datapoints></ds><ds><primary_value>0.0"
	"</primary_value><secondary_value>0.0</secondary_value><value>0.0</value>"
	"<unknown_datapoints>0</unknown_datapoints></ds></cdp_prep>"
	"<database><row><v>NaN</v><v>NaN</v></row><row><v>0.5</v><v>16776124</v></row>"
	"<row><v>0.25</v><v>2.2348638594849e-05</v></row></database></rra>"
	"<rra><cf>MAX</cf><pdp_per_row>12</pdp_per_row><params><xff>1.0</xff></params>"
	"<cdp_prep></cdp_prep><database><row><v>1</v><v>2</v></row></database></rra></rrd>";

static const char rec_two[] =
	"header 0003 5 1700000003\n"
	"ds 0 cpu0 DERIVE 300 0 1 8813.5655 0.2797 0\n"
	"ds 1 memory_free_kib GAUGE 300 -Infinity Infinity 16776124 16776000 0\n"
	"rra 0 AVERAGE 1 0.5 5\n"
	"drow 0 0 NaN NaN\n"
	"drow 0 1 0.5 16776124\n"
	"drow 0 2 0.25 2.2348638594849e-05\n"
	"rra_end 0 3 1700000000\n"
	"rra 1 MAX 12 1 60\n"
	"drow 1 0 1 2\n"
	"rra_end 1 1 1699999980\n"
	"end dump\n";

#define HDR "<rrd><version>0003</version><step>5</step><lastupdate>100</lastupdate>"
#define DS1 "<ds><name>x</name><type>GAUGE</type></ds>"
#define RRA1 "<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row>"

static const struct rec_case cases[] = {
	{ "two data sources, two archives", doc_two, rec_two, NULL },
	{ "old key minimal_hearbeat, internal last_updated, unknown fields",
	  HDR "<ds><name>x</name><type>GAUGE</type><minimal_hearbeat>120</minimal_hearbeat>"
	  "<last_updated>99.5</last_updated><future>1</future></ds>" RRA1
	  "<database><row><v>-1.5</v></row></database></rra><extra><a/></extra></rrd>",
	  "header 0003 5 100\nds 0 x GAUGE 120 NaN NaN NaN NaN NaN 99.5\nrra 0 AVERAGE 1 NaN 5\n"
	  "drow 0 0 -1.5\nrra_end 0 1 100\nend dump\n",
	  NULL },
	{ "no archives", HDR DS1 "</rrd>", "header 0003 5 100\nds 0 x GAUGE NaN NaN NaN NaN NaN NaN\nend dump\n",
	  NULL },
	{ "empty database", HDR DS1 RRA1 "<database/></rra></rrd>",
	  "header 0003 5 100\nds 0 x GAUGE NaN NaN NaN NaN NaN NaN\nrra 0 AVERAGE 1 NaN 5\n"
	  "rra_end 0 0 100\nend dump\n",
	  NULL },
	{ "row with too few values",
	  HDR DS1 "<ds><name>y</name></ds>" RRA1 "<database><row><v>1</v></row>", NULL,
	  "row 0 of rra 0 has 1 values, expected 2" },
	{ "row with too many values", HDR DS1 RRA1 "<database><row><v>1</v><v>2</v></row>", NULL,
	  "a row with more values than the 1 data sources" },
	{ "ds after an archive", HDR DS1 RRA1 "<database/></rra>" DS1, NULL,
	  "a ds after the archives started" },
	{ "missing step", "<rrd><lastupdate>100</lastupdate>" DS1, NULL,
	  "byte 33: expected step and lastupdate before the data sources" },
	{ "database before pdp_per_row", HDR DS1 "<rra><cf>AVERAGE</cf><database>", NULL,
	  "expected cf and pdp_per_row before the database" },
	{ "zero pdp_per_row", HDR DS1 "<rra><pdp_per_row>0</pdp_per_row>", NULL,
	  "expected a positive pdp_per_row" },
	{ "ds without a name", HDR "<ds><type>GAUGE</type></ds>", NULL, "ds 0 has no name" },
	{ "bad number in min", HDR "<ds><name>x</name><min>zero</min>", NULL,
	  "expected a number in min" },
	{ "bad step", "<rrd><step>-5</step>", NULL, "expected a step of 1 to" },
	{ "bad lastupdate", "<rrd><lastupdate>NaN</lastupdate>", NULL, "lastupdate out of range" },
	{ "archive closed inside its database", HDR DS1 RRA1 "<database><row><v>1</v></row></rra>",
	  NULL, "expected <row> or </database>, found </rra>" },
	{ "truncated", HDR DS1 RRA1 "<database><row><v>1", NULL, "unexpected end of input" },
	{ "wrong root close", HDR "</rra>", NULL, "found </rra>" },
};

static void test_table(void)
{
	rec_check_table(NULL, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_chunk_split_invariance(void)
{
	rec_check_splits(NULL, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_every_truncation_point(void)
{
	rec_check_truncations(NULL, doc_two);
}

/* xapi-rrd's test fixture: %0.4f numbers, Infinity heartbeat, <last_updated>. */
static void test_flip_flop_fixture(void)
{
	size_t len;
	char *doc = shared_slurp("xapi/samples/library-fixture/flip_flop.xml", &len);
	enum xs_err rc;
	char err[XS_ERR_LEN];
	char *got, *one;

	fail_unless(doc != NULL, "flip_flop.xml not found (XS_SHARED_DIR)");
	got = rec_read(NULL, doc, len, 0, &rc, err);
	fail_unless(got != NULL, "recording");
	ok(rc == XS_OK, "reads: %s", err);
	ok(!strncmp(got, "header 0003 5 100\nds 0 flip_flop DERIVE Infinity 0 Infinity 0 0 0 0\n"
			 "rra 0 AVERAGE 1 0.5 5\ndrow 0 0 NaN\n", 95),
	   "header and first ds");
	ok(strstr(got, "drow 0 80 0\ndrow 0 81 1\ndrow 0 82 -3\n") != NULL, "AVERAGE rows");
	ok(strstr(got, "drow 0 99 19\nrra_end 0 100 100\nrra 1 MIN 1 0.5 5\n") != NULL,
	   "AVERAGE ends at t=100 with 100 rows");
	ok(strstr(got, "drow 2 99 19\nrra_end 2 100 100\nend dump\n") != NULL, "MAX ends");
	one = rec_read(NULL, doc, len, 1, &rc, err);
	ok(rc == XS_OK && !strcmp(one, got), "byte by byte gives the same");
	free(one);
	free(got);
	free(doc);
}

static void test_row_times(void)
{
	struct xs_rrd_dump_rra rra = { .period = 60, .rows = 120, .newest = 1699999980 };

	ok(xs_rrd_dump_row_time(&rra, 119) == 1699999980, "newest row");
	ok(xs_rrd_dump_row_time(&rra, 0) == 1699999980 - 119 * 60, "oldest row");
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_chunk_split_invariance);
	TEST_RUN(test_every_truncation_point);
	TEST_RUN(test_flip_flop_fixture);
	TEST_RUN(test_row_times);
	return test_summary();
}
