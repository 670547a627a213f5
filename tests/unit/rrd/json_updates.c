/*
 * Tests of the /rrd_updates JSON reader (src/rrd/json_updates.c, through
 * rrd_reader.c's detection): the three eras of SPEC §2.2 with each number
 * format, layout variants, semantic and syntax errors with their byte
 * offsets, every truncation point, chunk-split invariance and hostile input.
 */
#include <string.h>

#include "rrd/rrd_reader.h"
#include "test.h"
#include "support/rrd_cases.h"

/* Variant A, byte for byte as xapi <= ~23.25 writes it (%0.4f numbers). */
static const char doc_legacy[] =
	"{meta: {start:1700000000,step:5,end:1700000005,rows:2,columns:2,"
	"legend:[\"AVERAGE:host:h1:cpu0\",\"AVERAGE:vm:v1:memory\"]},"
	"data:[{t:1700000005,values:[0.1411,209715200.0000]},"
	"{t:1700000000,values:[NaN,-Infinity]}]}";

/* Variant B: strict JSON, data inside meta, %0.5g numbers as strings. */
static const char doc_nested[] =
	"{\"meta\":{\"start\":\"1700000000\",\"step\":\"5\",\"end\":\"1700000005\",\"rows\":\"2\","
	"\"columns\":\"2\",\"legend\":[\"AVERAGE:host:h1:cpu0\",\"AVERAGE:vm:v1:memory\"],"
	"\"data\":[{\"t\":\"1700000005\",\"values\":[\"0.14111\",\"1.6776e+07\"]},"
	"{\"t\":\"1700000000\",\"values\":[\"NaN\",\"Infinity\"]}]}}";

/* Variant C: current strict JSON, %0.15g numbers as strings. */
static const char doc_current[] =
	"{\"meta\":{\"start\":\"1700000000\",\"step\":\"5\",\"end\":\"1700000005\",\"rows\":\"2\","
	"\"columns\":\"2\",\"legend\":[\"AVERAGE:host:h1:cpu0\",\"AVERAGE:vm:v1:memory\"]},"
	"\"data\":[{\"t\":\"1700000005\",\"values\":[\"0.143341526389122\",\"16776124\"]},"
	"{\"t\":\"1700000000\",\"values\":[\"2.2348638594849e-05\",\"0.0\"]}]}";

#define COLS2 "col 0 AVERAGE|host|h1|cpu0\ncol 1 AVERAGE|vm|v1|memory\n"

static const struct rec_case cases[] = {
	{ "variant A: legacy, unquoted keys, bare numbers", doc_legacy,
	  COLS2 "meta 1 1700000000 5 1700000005 2 2 2\n"
	  "row 1700000005 0.1411 209715200\nrow 1700000000 NaN -Infinity\nend updates\n",
	  NULL },
	{ "variant B: data nested in meta", doc_nested,
	  COLS2 "meta 2 1700000000 5 1700000005 2 2 2\n"
	  "row 1700000005 0.14111 16776000\nrow 1700000000 NaN Infinity\nend updates\n",
	  NULL },
	{ "variant C: current", doc_current,
	  COLS2 "meta 3 1700000000 5 1700000005 2 2 2\n"
	  "row 1700000005 0.143341526389122 16776124\nrow 1700000000 2.2348638594849e-05 0\n"
	  "end updates\n",
	  NULL },
	{ "pretty-printed, BOM, t after values, members in any order, unknown members",
	  "\xEF\xBB\xBF {\n  \"meta\" : {\n    \"legend\" : [ \"AVERAGE:sr:s1:read_latency\" ],\n"
	  "    \"step\" : 5, \"extra\": true\n  },\n"
	  "  \"future\": {\"x\": [1, {\"y\": null}], \"z\": \"]}\"},\n"
	  "  \"data\" : [ { \"values\" : [ 12 , \"NaN\" ] , \"t\" : \"5\" } ]\n}\n",
	  NULL, "row 0 has more values than the 1 legend entries" },
	{ "pretty-printed, BOM, t after values, members in any order, unknown members (good)",
	  "\xEF\xBB\xBF {\n  \"meta\" : {\n    \"legend\" : [ \"AVERAGE:sr:s1:read_latency\" ],\n"
	  "    \"step\" : 5, \"extra\": true\n  },\n"
	  "  \"future\": {\"x\": [1, {\"y\": null}], \"z\": \"]}\"},\n"
	  "  \"data\" : [ { \"values\" : [ 12 ] , \"t\" : \"5\" } ]\n}\n",
	  "col 0 AVERAGE|sr|s1|read_latency\nmeta 3 -1 5 -1 -1 -1 1\nrow 5 12\nend updates\n",
	  NULL },
	{ "quoted and bare values mixed, escapes in keys and legend",
	  "{\"meta\":{\"\\u006cegend\":[],\"legend\":[\"AVERAGE:vm:a\\\"b:c\\u00e9\\ud83d\\ude00\"]},"
	  "\"data\":[{\"t\":1,\"values\":[\"-Infinity\"]}]}",
	  "col 0 AVERAGE|vm|a\"b|c\xC3\xA9\xF0\x9F\x98\x80\nmeta 3 -1 -1 -1 -1 -1 1\n"
	  "row 1 -Infinity\nend updates\n",
	  NULL },
	{ "legend split on the first three colons only",
	  "{\"meta\":{\"legend\":[\"AVERAGE:host:h:statefile/u:v-w\"]},\"data\":[]}",
	  "col 0 AVERAGE|host|h|statefile/u:v-w\nmeta 3 -1 -1 -1 -1 -1 1\nend updates\n", NULL },
	{ "zero rows",
	  "{\"meta\":{\"rows\":\"0\",\"columns\":\"0\",\"legend\":[]},\"data\":[]}",
	  "meta 3 -1 -1 -1 0 0 0\nend updates\n", NULL },
	{ "no data member at all, legacy keys", "{meta: {rows:0}}",
	  "meta 1 -1 -1 -1 0 -1 0\nend updates\n", NULL },
	{ "legend entries not CF:kind:uuid:ds are passed on as odd, the reply read on",
	  "{\"meta\":{\"legend\":[\"AVERAGE:host:h\",\"AVERAGE:host:h:\",\"::::\",\"\",\"cpu0\","
	  "\"AVERAGE:host:h:cpu0\"]},\"data\":[{\"t\":1,\"values\":[1,2,3,4,5,6]}]}",
	  "col 0 odd AVERAGE:host:h\ncol 1 odd AVERAGE:host:h:\ncol 2 odd ::::\ncol 3 odd \n"
	  "col 4 odd cpu0\ncol 5 AVERAGE|host|h|cpu0\nmeta 3 -1 -1 -1 -1 -1 6\nrow 1 1 2 3 4 5 6\n"
	  "end updates\n", NULL },
	{ "bad number in meta", "{\"meta\":{\"rows\":\"x\"}}", NULL,
	  "byte 16: expected an integer in meta rows" },
	{ "too few values",
	  "{\"meta\":{\"legend\":[\"A:b:c:d\",\"A:b:c:e\"]},\"data\":[{\"t\":1,\"values\":[1]}]}",
	  NULL, "row 0 has 1 values, the legend 2 entries" },
	{ "too many values (fast path)",
	  "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[\"1\",\"2\",\"3\"]}]}",
	  NULL, "byte 60: row 0 has more values than the 1 legend entries" },
	{ "too many values (general path)",
	  "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[ \"1\" , \"2\" ]}]}",
	  NULL, "byte 63: row 0 has more values than the 1 legend entries" },
	{ "rows not newest first",
	  "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[1]},"
	  "{\"t\":2,\"values\":[1]}]}",
	  NULL, "row time 2 is not older than the row before (1)" },
	{ "row without time", "{\"meta\":{\"legend\":[]},\"data\":[{\"values\":[]}]}", NULL,
	  "row 0 has no time" },
	{ "columns disagree with the legend",
	  "{\"meta\":{\"columns\":3,\"legend\":[\"A:b:c:d\"]},\"data\":[]}", NULL,
	  "meta columns is 3 but the legend has 1 entries" },
	{ "rows disagree with the data", "{\"meta\":{\"rows\":5},\"data\":[]}", NULL,
	  "meta rows is 5 but the data has 0 rows" },
	{ "bad value", "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[\"1.2.3\"]",
	  NULL, "byte 56: expected a number in values" },
	{ "null value", "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[null,",
	  NULL, "byte 56: expected a number in values" },
	{ "legend after data", "{\"data\":[],\"meta\":{\"legend\":[\"A:b:c:d\"]}}", NULL,
	  "legend entry after the data started" },
	{ "two data sections", "{\"meta\":{\"data\":[]},\"data\":[]}", NULL, "a second data section" },
	{ "object where the legend array goes", "{\"meta\":{\"legend\":{}}}", NULL,
	  "byte 18: expected the legend array" },
	{ "array where a meta field goes", "{\"meta\":{\"step\":[5]}}", NULL,
	  "byte 16: expected a number or string as \"step\"" },
	{ "missing colon", "{\"meta\" {}}", NULL,
	  "byte 8: unexpected '{' in the top-level object, expected ':'" },
	{ "trailing comma", "{\"meta\":{\"legend\":[\"A:b:c:d\",]}}", NULL,
	  "byte 29: unexpected ']' in the legend array, expected a value" },
	{ "content after the root", "{\"meta\":{}} {}", NULL,
	  "byte 12: unexpected data after the end of the document" },
	{ "bad character", "{\"meta\":{'rows':1}}", NULL, "byte 9: unexpected character '''" },
	{ "mismatched bracket in a skipped value", "{\"meta\":{\"x\":[1,2}", NULL,
	  "byte 17: unexpected '}', expected ']'" },
	{ "control character in a string", "{\"meta\":{\"legend\":[\"A:b\n:c:d\"]}}", NULL,
	  "byte 23: control character 0x0a inside a string" },
	{ "bad escape", "{\"meta\":{\"legend\":[\"A:b:c:\\x\"]}}", NULL,
	  "byte 19: malformed escape in a string" },
	{ "lone surrogate", "{\"meta\":{\"legend\":[\"A:b:c:\\ud800\"]}}", NULL,
	  "byte 19: malformed escape in a string" },
	{ "truncated in a number", "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[0.5",
	  NULL, "unexpected end of input" },
	{ "truncated in a string", "{\"meta\":{\"legend\":[\"A:b:c", NULL,
	  "byte 19: unterminated string" },
	{ "unknown first key: not recognised", "{\"future\":1,\"meta\":{}}", NULL,
	  "byte 1: expected an RRD document" },
	{ "root is an array", "[{\"meta\":{}}]", NULL, "byte 0: expected an RRD document" },
	{ "empty input", "", NULL, "byte 0: input ended before an RRD document began" },
};

static void test_table(void)
{
	rec_check_table(NULL, cases, sizeof(cases) / sizeof(cases[0]));
}

/* The same document split anywhere gives the same result, errors included. */
static void test_chunk_split_invariance(void)
{
	rec_check_splits(NULL, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Every prefix of a valid document of each era is an error naming a byte. */
static void test_every_truncation_point(void)
{
	rec_check_truncations(NULL, doc_legacy);
	rec_check_truncations(NULL, doc_nested);
	rec_check_truncations(NULL, doc_current);
}

/* Read with the class directly (no detection), as the collector will. */
static void test_class_direct(void)
{
	enum xs_err rc;
	char err[XS_ERR_LEN];
	char *got = rec_read(&xs_rrd_json_updates_class, doc_current, strlen(doc_current), 0, &rc,
			     err);

	ok(rc == XS_OK, "read: %s", err);
	ok(strstr(got, "meta 3 1700000000") != NULL, "%s", got);
	free(got);
	got = rec_read(&xs_rrd_json_updates_class, "{\"meta\":", 8, 0, &rc, err);
	ok(rc == XS_ERR_TRUNCATED, "truncated: %s", err);
	ok(!strcmp(err, "byte 8: unexpected end of input, expected a value"), "%s", err);
	free(got);
}

/* The consumer can stop the reader. */
static void test_sink_abort(void)
{
	struct rec r = { .stop_after = 3 };
	struct xs_rrd_reader *rd = xs_rrd_reader_new(&rec_sink, &r);

	ok(xs_rrd_reader_push(rd, doc_current, sizeof(doc_current) - 1) == XS_ERR_ABORTED,
	   "aborted");
	ok(strstr(xs_rrd_reader_error(rd), "stopped by the consumer") != NULL, "%s",
	   xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);
	free(r.buf);
}

static void test_hostile(void)
{
	static const struct xs_rrd_sink quiet = { 0 };
	struct xs_rrd_reader *rd;
	enum xs_err rc;

	/* a legend entry of 100 KB */
	rd = xs_rrd_reader_new(&quiet, NULL);
	rc = push_repeated(rd, "{\"meta\":{\"legend\":[\"", 1);
	rc = rc ? rc : push_repeated(rd, "A", 100000);
	ok(rc == XS_ERR_TOO_LARGE, "huge string refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* a bare number of 10 KB */
	rd = xs_rrd_reader_new(&quiet, NULL);
	rc = push_repeated(rd, "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[", 1);
	rc = rc ? rc : push_repeated(rd, "1", 10000);
	ok(rc == XS_ERR_TOO_LARGE, "huge word refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* a quoted number of 3 KB */
	rd = xs_rrd_reader_new(&quiet, NULL);
	rc = push_repeated(rd, "{\"meta\":{\"legend\":[\"A:b:c:d\"]},\"data\":[{\"t\":1,\"values\":[\"", 1);
	rc = rc ? rc : push_repeated(rd, "1", 3000);
	rc = rc ? rc : push_repeated(rd, "\"]}]}", 1);
	rc = rc ? rc : xs_rrd_reader_finish(rd);
	ok(rc != XS_OK, "huge quoted number refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* unknown arrays nested 100,000 deep */
	rd = xs_rrd_reader_new(&quiet, NULL);
	rc = push_repeated(rd, "{\"meta\":{\"x\":", 1);
	rc = rc ? rc : push_repeated(rd, "[", 100000);
	ok(rc == XS_ERR_TOO_LARGE, "deep nesting refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* more legend entries than XS_RRD_MAX_COLUMNS */
	rd = xs_rrd_reader_new(&quiet, NULL);
	rc = push_repeated(rd, "{\"meta\":{\"legend\":[\"A:b:c:d\"", 1);
	rc = rc ? rc : push_repeated(rd, ",\"A:b:c:d\"", XS_RRD_MAX_COLUMNS + 1);
	ok(rc == XS_ERR_TOO_LARGE, "too many columns refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* a megabyte of white space between tokens is fine */
	rd = xs_rrd_reader_new(&quiet, NULL);
	rc = push_repeated(rd, "{\"meta\":", 1);
	rc = rc ? rc : push_repeated(rd, " ", 1 << 20);
	rc = rc ? rc : push_repeated(rd, "{}}", 1);
	rc = rc ? rc : xs_rrd_reader_finish(rd);
	ok(rc == XS_OK, "white space has no cap: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_chunk_split_invariance);
	TEST_RUN(test_every_truncation_point);
	TEST_RUN(test_class_direct);
	TEST_RUN(test_sink_abort);
	TEST_RUN(test_hostile);
	return test_summary();
}
