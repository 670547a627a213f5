/*
 * Tests of the RRD dump JSON reader (src/rrd/json_dump.c, through
 * rrd_reader.c's detection): the current layout and the old one (key
 * "minimal_hearbeat", %0.4f numbers, no last_updated), bare or quoted
 * numbers, row times (SPEC §2.5), structural errors with byte offsets, every
 * truncation point and chunk-split invariance.
 */
#include <string.h>

#include "rrd/rrd_reader.h"
#include "test.h"
#include "support/rrd_cases.h"

/* As xapi >= v25.3.0 writes it: every number a string, %.15g, last_updated. */
static const char doc_current[] =
	"{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"1700000003.326\","
	"\"ds\":[{\"name\":\"cpu0\",\"type\":\"DERIVE\",\"minimal_heartbeat\":\"300\",\"min\":\"0.0\","
	"\"max\":\"1\",\"last_ds\":\"8813.5655\",\"value\":\"0.279712\",\"unknown_sec\":\"0\","
	"\"last_updated\":\"1700000003.326\"},"
	"{\"name\":\"memory_free_kib\",\"type\":\"GAUGE\",\"minimal_heartbeat\":\"300\","
	"\"min\":\"-Infinity\",\"max\":\"Infinity\",\"last_ds\":\"16776124\",\"value\":\"16776124\","
	"\"unknown_sec\":\"0\",\"last_updated\":\"1700000003.326\"}],"
	"\"rra\":[{\"cf\":\"AVERAGE\",\"pdp_per_row\":\"1\",\"params\":{\"xff\":\"0.5\"},"
	"\"cdp_prep\":{\"ds\":[{\"primary_value\":\"0.0\",\"secondary_value\":\"0.0\","
	"\"value\":\"0.0\",\"unknown_datapoints\":\"0\"},{\"primary_value\":\"0.0\","
	"\"secondary_value\":\"0.0\",\"value\":\"0.0\",\"unknown_datapoints\":\"0\"}]},"
	"\"database\":[[\"NaN\",\"NaN\"],[\"0.5\",\"16776124\"],[\"0.25\",\"2.2348638594849e-05\"]]},"
	"{\"cf\":\"MAX\",\"pdp_per_row\":\"12\",\"params\":{\"xff\":\"1.0\"},\"cdp_prep\":{\"ds\":[]},"
	"\"database\":[[\"1\",\"2\"]]}]}";

static const char rec_current[] =
	"header 0003 5 1700000003.326\n"
	"ds 0 cpu0 DERIVE 300 0 1 8813.5655 0.279712 0 1700000003.326\n"
	"ds 1 memory_free_kib GAUGE 300 -Infinity Infinity 16776124 16776124 0 1700000003.326\n"
	"rra 0 AVERAGE 1 0.5 5\n"
	"drow 0 0 NaN NaN\n"
	"drow 0 1 0.5 16776124\n"
	"drow 0 2 0.25 2.2348638594849e-05\n"
	"rra_end 0 3 1700000000\n"
	"rra 1 MAX 12 1 60\n"
	"drow 1 0 1 2\n"
	"rra_end 1 1 1699999980\n"
	"end dump\n";

/* As xapi-rrd <= 1.11 wrote it: "minimal_hearbeat", %0.4f, %.2f lastupdate. */
static const char doc_old[] =
	"{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"1700000000.00\","
	"\"ds\":[{\"name\":\"cpu0\",\"type\":\"DERIVE\",\"minimal_hearbeat\":\"300.0000\","
	"\"min\":\"0.0\",\"max\":\"1.0000\",\"last_ds\":\"8813.5655\",\"value\":\"0.2797\","
	"\"unknown_sec\":\"0\"}],"
	"\"rra\":[{\"cf\":\"AVERAGE\",\"pdp_per_row\":\"1\",\"params\":{\"xff\":\"0.5000\"},"
	"\"cdp_prep\":{\"ds\":[{\"primary_value\":\"0.0\"}]},"
	"\"database\":[[\"0.0282\"],[\"209715200.0000\"]]}]}";

static const char rec_old[] =
	"header 0003 5 1700000000\n"
	"ds 0 cpu0 DERIVE 300 0 1 8813.5655 0.2797 0\n"
	"rra 0 AVERAGE 1 0.5 5\n"
	"drow 0 0 0.0282\n"
	"drow 0 1 209715200\n"
	"rra_end 0 2 1700000000\n"
	"end dump\n";

#define HDR "{\"version\":\"0003\",\"step\":5,\"lastupdate\":100,"
#define DS1 "\"ds\":[{\"name\":\"x\",\"type\":\"GAUGE\"}],"
#define RRA1 "\"rra\":[{\"cf\":\"AVERAGE\",\"pdp_per_row\":1,"

static const struct rec_case cases[] = {
	{ "current: numbers as strings, last_updated", doc_current, rec_current, NULL },
	{ "old: minimal_hearbeat, %0.4f numbers", doc_old, rec_old, NULL },
	{ "bare numbers, white space, unknown members",
	  "{ \"version\" : \"0003\" , \"step\" : 5 , \"lastupdate\" : 100 , \"future\" : [ {} ] ,\n"
	  "  \"ds\" : [ { \"name\" : \"x\" , \"extra\" : null } ] ,\n"
	  "  \"rra\" : [ { \"cf\" : \"AVERAGE\" , \"pdp_per_row\" : 1 ,"
	  " \"database\" : [ [ -1.5 ] , [ NaN ] ] } ] }\n",
	  "header 0003 5 100\nds 0 x  NaN NaN NaN NaN NaN NaN\nrra 0 AVERAGE 1 NaN 5\n"
	  "drow 0 0 -1.5\ndrow 0 1 NaN\nrra_end 0 2 100\nend dump\n",
	  NULL },
	{ "no archives", HDR DS1 "\"rra\":[]}",
	  "header 0003 5 100\nds 0 x GAUGE NaN NaN NaN NaN NaN NaN\nend dump\n", NULL },
	{ "empty database", HDR DS1 RRA1 "\"database\":[]}]}",
	  "header 0003 5 100\nds 0 x GAUGE NaN NaN NaN NaN NaN NaN\nrra 0 AVERAGE 1 NaN 5\n"
	  "rra_end 0 0 100\nend dump\n",
	  NULL },
	{ "row with too few values",
	  HDR "\"ds\":[{\"name\":\"x\"},{\"name\":\"y\"}]," RRA1 "\"database\":[[\"1\"]", NULL,
	  "row 0 of rra 0 has 1 values, expected 2" },
	{ "row with too many values (fast path)", HDR DS1 RRA1 "\"database\":[[\"1\",\"2\"]", NULL,
	  "byte 135: a row with more values than the 1 data sources" },
	{ "row with too many values (general path)", HDR DS1 RRA1 "\"database\":[[1, 2]", NULL,
	  "byte 134: a row with more values than the 1 data sources" },
	{ "missing step", "{\"lastupdate\":100,\"ds\":[{", NULL,
	  "byte 24: expected step and lastupdate before the data sources" },
	{ "database before pdp_per_row", HDR DS1 "\"rra\":[{\"cf\":\"AVERAGE\",\"database\":[", NULL,
	  "expected cf and pdp_per_row before the database" },
	{ "zero pdp_per_row", HDR DS1 "\"rra\":[{\"pdp_per_row\":\"0\"", NULL,
	  "expected a positive pdp_per_row" },
	{ "ds without a name", HDR "\"ds\":[{\"type\":\"GAUGE\"}]", NULL, "ds 0 has no name" },
	{ "bad number in min", HDR "\"ds\":[{\"name\":\"x\",\"min\":\"zero\"", NULL,
	  "expected a number in min" },
	{ "bad number in a row", HDR DS1 RRA1 "\"database\":[[\"1,5\"]", NULL,
	  "byte 131: expected a number in a database row" },
	{ "row not an array", HDR DS1 RRA1 "\"database\":[{}]", NULL,
	  "byte 130: expected a database row array" },
	{ "ds not an array", HDR "\"ds\":{}", NULL, "byte 49: expected the ds array" },
	{ "string where a number goes", HDR DS1 RRA1 "\"database\":[[[1]]]", NULL,
	  "byte 131: expected a number or string in a database row array" },
	{ "content after the root", HDR DS1 "\"rra\":[]} x", NULL,
	  "unexpected data after the end of the document" },
	{ "truncated", HDR DS1 RRA1 "\"database\":[[\"1\"],", NULL, "unexpected end of input" },
	/* SPEC §2.3: the %0.5g era wrote lastupdate "1.7e+09": row times unknown by hours */
	{ "lastupdate of the %0.5g era",
	  "{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"1.7e+09\"," DS1 "\"rra\":[]}",
	  "header 0003 5 1700000000 doubt 5\nds 0 x GAUGE NaN NaN NaN NaN NaN NaN\nend dump\n", NULL },
	{ "lastupdate to 5 digits",
	  "{\"version\":\"0003\",\"step\":5,\"lastupdate\":\"1.6999e+09\"," DS1 "\"rra\":[]}",
	  "header 0003 5 1699900000 doubt 5\nds 0 x GAUGE NaN NaN NaN NaN NaN NaN\nend dump\n", NULL },
	{ "lastupdate as an exponent to the second",
	  "{\"version\":\"0003\",\"step\":5,\"lastupdate\":\"1.700000001e+09\"," DS1 "\"rra\":[]}",
	  "header 0003 5 1700000001\nds 0 x GAUGE NaN NaN NaN NaN NaN NaN\nend dump\n", NULL },
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
	rec_check_truncations(NULL, doc_current);
	rec_check_truncations(NULL, doc_old);
}

/* The JSON and XML readers agree on the same dump. */
static void test_same_as_xml(void)
{
	static const char xml[] =
		"<rrd><version>0003</version><step>5</step><lastupdate>1700000000</lastupdate>"
		"<ds><name>cpu0</name><type>DERIVE</type><minimal_hearbeat>300.0000"
		"</minimal_hearbeat><min>0.0</min><max>1.0000</max><last_ds>8813.5655</last_ds>"
		"<value>0.2797</value><unknown_sec>0</unknown_sec></ds>"
		"<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5000</xff></params>"
		"<cdp_prep><ds><primary_value>0.0</primary_value></ds></cdp_prep>"
		"<database><row><v>0.0282</v></row><row><v>209715200.0000</v></row></database>"
		"</rra></rrd>";
	enum xs_err rc;
	char err[XS_ERR_LEN];
	char *got = rec_read(NULL, xml, strlen(xml), 0, &rc, err);

	ok(rc == XS_OK && !strcmp(got, rec_old), "xml reads as the json: %s\n%s", err, got);
	free(got);
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_chunk_split_invariance);
	TEST_RUN(test_every_truncation_point);
	TEST_RUN(test_same_as_xml);
	return test_summary();
}
