/*
 * Tests of the /rrd_updates XML reader (src/rrd/xml_updates.c, through
 * rrd_reader.c's detection): documents of each number era, layout variants,
 * semantic errors with their byte offsets, every truncation point, chunk-split
 * invariance and hostile input.
 */
#include <string.h>

#include "rrd/rrd_reader.h"
#include "test.h"
#include "support/rrd_cases.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define META2(rows)                                                                    \
	"<xport><meta><start>1700000000</start><step>5</step><end>1700000005</end><rows>" \
	rows "</rows><columns>2</columns><legend><entry>AVERAGE:host:h1:cpu0</entry>"    \
	"<entry>AVERAGE:vm:v1:memory</entry></legend></meta>"

/* The byte layout of current xapi (Xmlm: one line after the declaration). */
static const char doc_xmlm[] = DECL META2("2")
	"<data><row><t>1700000005</t><v>0.1411</v><v>209715200.0000</v></row>"
	"<row><t>1700000000</t><v>NaN</v><v>1.6776e+07</v></row></data></xport>";

static const char rec_xmlm[] =
	"col 0 AVERAGE|host|h1|cpu0\n"
	"col 1 AVERAGE|vm|v1|memory\n"
	"meta 0 1700000000 5 1700000005 2 2 2\n"
	"row 1700000005 0.1411 209715200\n"
	"row 1700000000 NaN 16776000\n"
	"end updates\n";

static const struct rec_case cases[] = {
	{ "xmlm layout, %0.4f and %.5g numbers", doc_xmlm, rec_xmlm, NULL },
	{ "%.15g numbers, infinities, exponent forms",
	  "<xport><meta><step>5</step><legend><entry>MAX:host:h:cpu_avg</entry></legend></meta>"
	  "<data><row><t>10</t><v>0.143341526389122</v></row><row><t>5</t><v>2.2348638594849e-05"
	  "</v></row><row><t>0</t><v>Infinity</v></row><row><t>-5</t><v>-Infinity</v></row>"
	  "</data></xport>",
	  "col 0 MAX|host|h|cpu_avg\nmeta 0 -1 5 -1 -1 -1 1\nrow 10 0.143341526389122\n"
	  "row 5 2.2348638594849e-05\nrow 0 Infinity\nrow -5 -Infinity\nend updates\n",
	  NULL },
	{ "pretty-printed with comments, BOM, PIs and unknown elements",
	  "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- dump -->\n<xport>\n  <meta>\n"
	  "    <start> 0 </start>\n    <future><x>1</x><y/></future>\n    <legend>\n"
	  "      <entry>AVERAGE:sr:s1:read_latency</entry>\n    </legend>\n  </meta>\n"
	  "  <data>\n    <row>\n      <t>5</t>\n      <v> 12 </v>\n    </row>\n  </data>\n"
	  "</xport>\n<!-- trailer -->\n",
	  "col 0 AVERAGE|sr|s1|read_latency\nmeta 0 0 -1 -1 -1 -1 1\nrow 5 12\nend updates\n",
	  NULL },
	{ "legend split on the first three colons only",
	  "<xport><meta><legend><entry>AVERAGE:host:h:statefile/u:v-w</entry></legend></meta>"
	  "<data/></xport>",
	  "col 0 AVERAGE|host|h|statefile/u:v-w\nmeta 0 -1 -1 -1 -1 -1 1\nend updates\n", NULL },
	{ "entities and CDATA",
	  "<xport><meta><legend><entry>AVERAGE:vm:a&amp;b:c&#x41;</entry></legend></meta>"
	  "<data><row><t>1</t><v><![CDATA[2.5]]></v></row></data></xport>",
	  "col 0 AVERAGE|vm|a&b|cA\nmeta 0 -1 -1 -1 -1 -1 1\nrow 1 2.5\nend updates\n", NULL },
	{ "zero rows", DECL META2("0") "<data></data></xport>",
	  "col 0 AVERAGE|host|h1|cpu0\ncol 1 AVERAGE|vm|v1|memory\n"
	  "meta 0 1700000000 5 1700000005 0 2 2\nend updates\n",
	  NULL },
	{ "no data element at all", "<xport><meta><rows>0</rows></meta></xport>",
	  "meta 0 -1 -1 -1 0 -1 0\nend updates\n", NULL },
	{ "a legend entry not CF:kind:uuid:ds is passed on as odd, the reply read on",
	  "<xport><meta><legend><entry>AVERAGE:host:h</entry><entry>AVERAGE:vm:v:memory</entry>"
	  "</legend></meta><data><row><t>1</t><v>1</v><v>2</v></row></data></xport>",
	  "col 0 odd AVERAGE:host:h\ncol 1 AVERAGE|vm|v|memory\nmeta 0 -1 -1 -1 -1 -1 2\n"
	  "row 1 1 2\nend updates\n", NULL },
	{ "bad number in meta", "<xport><meta><rows>x</rows>", NULL,
	  "byte 19: expected an integer in meta rows" },
	{ "too few values", DECL META2("1") "<data><row><t>1</t><v>1</v></row></data></xport>",
	  NULL, "row 0 has 1 values, the legend 2 entries" },
	{ "too many values",
	  DECL META2("1") "<data><row><t>1</t><v>1</v><v>2</v><v>3</v></row></data></xport>", NULL,
	  "more values than the 2 legend entries" },
	{ "rows not newest first",
	  DECL META2("2") "<data><row><t>1</t><v>1</v><v>2</v></row><row><t>1</t><v>1</v><v>2</v>"
	  "</row></data></xport>",
	  NULL, "row time 1 is not older than the row before (1)" },
	/* a host's time reaches the store's arithmetic: near INT64_MIN it overflowed there */
	{ "row time out of range",
	  DECL META2("1") "<data><row><t>-9223372036854775805</t><v>1</v><v>2</v></row></data></xport>",
	  NULL, "row time out of range" },
	{ "meta end out of range", "<xport><meta><end>9223372036854775805</end>", NULL,
	  "byte 18: meta end out of range" },
	{ "row without time", DECL META2("1") "<data><row><v>1</v><v>2</v></row></data></xport>",
	  NULL, "row 0 has no time" },
	{ "columns disagree with the legend",
	  "<xport><meta><columns>3</columns><legend><entry>A:b:c:d</entry></legend></meta><data>",
	  NULL, "meta columns is 3 but the legend has 1 entries" },
	{ "rows disagree with the data", DECL META2("5") "<data></data></xport>", NULL,
	  "meta rows is 5 but the data has 0 rows" },
	{ "bad value", DECL META2("1") "<data><row><t>1</t><v>1.2.3</v>", NULL,
	  "expected a number in <v>" },
	{ "empty value", DECL META2("1") "<data><row><t>1</t><v></v>", NULL,
	  "expected a number in <v>" },
	{ "legend after data",
	  "<xport><data></data><meta><legend><entry>A:b:c:d</entry></legend></meta></xport>", NULL,
	  "legend entry after the data started" },
	{ "wrong closing tag", "<xport><meta></metas>", NULL,
	  "byte 13: expected a meta field, <legend> or </meta>, found </metas>" },
	{ "element inside a field", "<xport><meta><rows><b>1</b></rows>", NULL,
	  "expected </rows>, found <b>" },
	{ "text where elements go", "<xport>hello<meta>", NULL,
	  "byte 7: expected <meta>, <data> or </xport>, found text" },
	{ "content after the root", "<xport></xport><xport>", NULL,
	  "byte 15: expected the end of input, found <xport>" },
	{ "DOCTYPE refused", "<xport><!DOCTYPE x [<!ENTITY a 'b'>]>", NULL, "unsupported markup" },
	{ "wrong root", "<rrdx></rrdx>", NULL, "byte 0: expected an RRD document" },
	{ "not XML", "hello", NULL, "byte 0: expected an RRD document" },
	{ "empty input", "", NULL, "byte 0: input ended before an RRD document began" },
	{ "truncated", DECL META2("2") "<data><row><t>1</t><v>0.5", NULL,
	  "unexpected end of input" },
	{ "bad entity", "<xport><meta><legend><entry>a&zz;b</entry>", NULL,
	  "byte 28: bad entity in <entry>" },
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

/* Every prefix of a valid document is an error naming a byte, never a crash. */
static void test_every_truncation_point(void)
{
	rec_check_truncations(NULL, doc_xmlm);
}

/* The consumer can stop the reader. */
static void test_sink_abort(void)
{
	struct rec r = { .stop_after = 3 };
	struct xs_rrd_reader *rd = xs_rrd_reader_new(&rec_sink, &r);

	ok(xs_rrd_reader_push(rd, doc_xmlm, sizeof(doc_xmlm) - 1) == XS_ERR_ABORTED, "aborted");
	ok(strstr(xs_rrd_reader_error(rd), "stopped by the consumer") != NULL, "%s",
	   xs_rrd_reader_error(rd));
	ok(xs_rrd_reader_finish(rd) == XS_ERR_ABORTED, "stays failed");
	xs_rrd_reader_free(&rd);
	ok(rd == NULL, "free clears the pointer");
	free(r.buf);
}

static void test_hostile(void)
{
	struct rec r = { 0 };
	struct xs_rrd_reader *rd;
	enum xs_err rc;

	/* a legend entry of 100 KB */
	rd = xs_rrd_reader_new(&rec_sink, &r);
	rc = xs_rrd_reader_push(rd, "<xport><meta><legend><entry>", 28);
	rc = rc ? rc : push_repeated(rd, "A", 100000);
	ok(rc == XS_ERR_TOO_LARGE, "huge entry refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* a number of 10 KB */
	rd = xs_rrd_reader_new(&rec_sink, &r);
	rc = xs_rrd_reader_push(rd, DECL META2("1") "<data><row><t>1</t><v>", 0);
	rc = push_repeated(rd, DECL META2("1") "<data><row><t>1</t><v>", 1);
	rc = rc ? rc : push_repeated(rd, "1", 10000);
	rc = rc ? rc : push_repeated(rd, "</v>", 1);
	ok(rc != XS_OK, "huge number refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* unknown elements nested 100,000 deep */
	rd = xs_rrd_reader_new(&rec_sink, &r);
	rc = push_repeated(rd, "<xport><meta>", 1);
	rc = rc ? rc : push_repeated(rd, "<x>", 100000);
	ok(rc == XS_ERR_TOO_LARGE, "deep nesting refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* more legend entries than XS_RRD_MAX_COLUMNS */
	rd = xs_rrd_reader_new(&rec_sink, NULL);
	{
		static const struct xs_rrd_sink quiet = { 0 };
		xs_rrd_reader_free(&rd);
		rd = xs_rrd_reader_new(&quiet, NULL);
	}
	rc = push_repeated(rd, "<xport><meta><legend>", 1);
	rc = rc ? rc : push_repeated(rd, "<entry>A:b:c:d</entry>", XS_RRD_MAX_COLUMNS + 1);
	ok(rc == XS_ERR_TOO_LARGE, "too many columns refused: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);

	/* a megabyte of white space between elements is fine */
	rd = xs_rrd_reader_new(&rec_sink, &r);
	rc = push_repeated(rd, "<xport>", 1);
	rc = rc ? rc : push_repeated(rd, " ", 1 << 20);
	rc = rc ? rc : push_repeated(rd, "<meta/></xport>", 1);
	rc = rc ? rc : xs_rrd_reader_finish(rd);
	ok(rc == XS_OK, "white space has no cap: %s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);
	free(r.buf);
}

/*
 * Comments before the root, each within the scanner's cap but longer together
 * than detection looks (XS_RRD_DETECT_MAX): the same outcome in one piece as in
 * chunks. In one piece the first chunk's detection looked past the limit, found
 * <xport> and the document was read; in chunks the detection buffer filled first
 * and the document was refused.
 */
static void test_detect_window(void)
{
	static const char tail[] = DECL META2("0") "<data></data></xport>";
	const size_t nc = 3, clen = 1500; /* "<!--" 1500 bytes "-->", three times */
	size_t len = nc * (clen + 7) + sizeof(tail) - 1, o = 0;
	char *doc = malloc(len), *whole, *split, err1[XS_ERR_LEN], err2[XS_ERR_LEN];
	enum xs_err rc1, rc2;

	for (size_t i = 0; i < nc; i++) {
		memcpy(doc + o, "<!--", 4);
		memset(doc + o + 4, 'c', clen);
		memcpy(doc + o + 4 + clen, "-->", 3);
		o += clen + 7;
	}
	memcpy(doc + o, tail, sizeof(tail) - 1);
	whole = rec_read(NULL, doc, len, 0, &rc1, err1);
	split = rec_read(NULL, doc, len, 1000, &rc2, err2);
	ok(rc1 == rc2 && !strcmp(whole, split) && !strcmp(err1, err2),
	   "one piece: %d '%s'; chunks of 1000: %d '%s'", rc1, err1, rc2, err2);
	ok(rc1 == XS_ERR_PARSE && strstr(err1, "expected an RRD document"), "refused: %s", err1);
	free(whole);
	free(split);
	free(doc);
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_chunk_split_invariance);
	TEST_RUN(test_every_truncation_point);
	TEST_RUN(test_sink_abort);
	TEST_RUN(test_hostile);
	TEST_RUN(test_detect_window);
	return test_summary();
}
