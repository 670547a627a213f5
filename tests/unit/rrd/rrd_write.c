/*
 * Tests of the RRD writers (src/rrd/rrd_write.c) and their number formats
 * (src/rrd/rrd_numfmt.c): exact bytes of small documents of each era and
 * variant (SPEC §2.1, §2.2, §2.3, §2.5), equality with printf for every
 * number form, round trips through the auto-detecting readers (XML and
 * JSON), abort, chunking, and the write speed of a 150-VM x 366-row document.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "rrd/rrd_numfmt.h"
#include "rrd/rrd_reader.h"
#include "rrd/rrd_write.h"
#include "test.h"
#include "support/rrd_record.h"
#include "support/xorshift.h"

/* ---- an output collecting into memory ---- */

struct out {
	char *buf;
	size_t len, cap;
	size_t calls, max_piece;
	size_t fail_at; /* > 0: the n-th call fails */
};

static int out_append(void *ctx, const char *p, size_t n)
{
	struct out *o = ctx;

	o->calls++;
	if (o->fail_at && o->calls >= o->fail_at)
		return 1;
	if (n > o->max_piece)
		o->max_piece = n;
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf)
			abort();
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return 0;
}

static int out_discard(void *ctx, const char *p, size_t n)
{
	size_t *total = ctx;

	(void)p;
	*total += n;
	return 0;
}

/* ---- numbers ---- */

struct num_case {
	double v;
	enum xs_rrd_numfmt f;
	const char *want;
};

static void test_num_spec_examples(void)
{
	static const struct num_case cases[] = {
		{ 0.0282, XS_NUMFMT_F4, "0.0282" },
		{ 209715200.0, XS_NUMFMT_F4, "209715200.0000" },
		{ 0.141110003, XS_NUMFMT_G5, "0.14111" },
		{ 16776124.0, XS_NUMFMT_G5, "1.6776e+07" },
		{ 1700000000.326, XS_NUMFMT_G5, "1.7e+09" },
		{ 0.143341526389122, XS_NUMFMT_G15, "0.143341526389122" },
		{ 2.2348638594849e-05, XS_NUMFMT_G15, "2.2348638594849e-05" },
		{ 16776124.0, XS_NUMFMT_G15, "16776124" },
		{ 2147483648.0, XS_NUMFMT_G15, "2147483648" },
		{ 70996.671875, XS_NUMFMT_G15, "70996.671875" },
		{ 1700000000.326, XS_NUMFMT_G15, "1700000000.326" },
		{ 0.0, XS_NUMFMT_F4, "0.0" },
		{ -0.0, XS_NUMFMT_G5, "0.0" },
		{ 0.0, XS_NUMFMT_G15, "0.0" },
		{ NAN, XS_NUMFMT_F4, "NaN" },
		{ -NAN, XS_NUMFMT_G15, "NaN" },
		{ INFINITY, XS_NUMFMT_G5, "Infinity" },
		{ -INFINITY, XS_NUMFMT_F4, "-Infinity" },
		{ 0.03125, XS_NUMFMT_F4, "0.0312" },   /* exact tie: half to even */
		{ 0.09375, XS_NUMFMT_F4, "0.0938" },
		{ -0.00001, XS_NUMFMT_F4, "-0.0000" },
		{ 99999.5, XS_NUMFMT_G5, "1e+05" },
		{ 0.0001, XS_NUMFMT_G5, "0.0001" },
		{ 0.00001, XS_NUMFMT_G5, "1e-05" },
		{ 1e15, XS_NUMFMT_G15, "1e+15" },
		{ 5e-324, XS_NUMFMT_G15, "4.94065645841247e-324" },
		{ 1e300, XS_NUMFMT_G5, "1e+300" },
	};
	char buf[XS_RRD_NUM_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = xs_rrd_num_format(buf, cases[i].v, cases[i].f);

		ok(!strcmp(buf, cases[i].want) && n == strlen(cases[i].want),
		   "%.17g era %d: got '%s' want '%s'", cases[i].v, (int)cases[i].f, buf,
		   cases[i].want);
	}
	ok(xs_rrd_i64_format(buf, INT64_MIN) == 20 && !strcmp(buf, "-9223372036854775808"),
	   "INT64_MIN: %s", buf);
	ok(xs_rrd_i64_format(buf, 0) == 1 && !strcmp(buf, "0"), "zero: %s", buf);
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	return xorshift64(&rnd_state);
}

static void num_reference(char *buf, double v, enum xs_rrd_numfmt f)
{
	if (isnan(v))
		snprintf(buf, XS_RRD_NUM_LEN, "NaN");
	else if (isinf(v))
		snprintf(buf, XS_RRD_NUM_LEN, "%s", v > 0 ? "Infinity" : "-Infinity");
	else if (v == 0)
		snprintf(buf, XS_RRD_NUM_LEN, "0.0");
	else if (f == XS_NUMFMT_F4)
		snprintf(buf, XS_RRD_NUM_LEN, "%0.4f", v);
	else if (f == XS_NUMFMT_G5)
		snprintf(buf, XS_RRD_NUM_LEN, "%0.5g", v);
	else
		snprintf(buf, XS_RRD_NUM_LEN, "%0.15g", v);
}

/* The integer conversion equals printf on float32 values, doubles of every
 * exponent, integers and decimal boundaries. */
static void test_num_equals_printf(void)
{
	char got[XS_RRD_NUM_LEN], want[XS_RRD_NUM_LEN];
	int bad = 0;
	long n = 0;

	for (long i = 0; i < 200000; i++) {
		double v;
		uint64_t u = rnd();

		switch (i % 4) {
		case 0: {
			uint32_t u32 = (uint32_t)u;
			float fl;

			memcpy(&fl, &u32, sizeof(fl));
			v = fl;
			break;
		}
		case 1:
			memcpy(&v, &u, sizeof(v));
			break;
		case 2:
			v = (float)((double)(u % 100000000) / (double)(1ull << (rnd() % 40)));
			break;
		default:
			v = (float)(pow(10, (int)(u % 40) - 20) * (1 - (double)(rnd() % 1000) / 1e7));
		}
		for (int f = XS_NUMFMT_F4; f <= XS_NUMFMT_G15; f++) {
			num_reference(want, v, (enum xs_rrd_numfmt)f);
			xs_rrd_num_format(got, v, (enum xs_rrd_numfmt)f);
			n++;
			if (strcmp(got, want) && bad++ < 10)
				ok(0, "%a era %d: got '%s' want '%s'", v, f, got, want);
		}
	}
	ok(bad == 0, "%d of %ld numbers differ from printf", bad, n);
}

/* ---- /rrd_updates ---- */

static const char *const legend2[] = { "AVERAGE:host:h1:cpu0", "AVERAGE:vm:v1:memory" };
static const int64_t times2[] = { 1700000000, 1699999995 };
static double values2[4];

static struct xs_rrd_updates_doc small_updates(void)
{
	struct xs_rrd_updates_doc d = {
		.start = 1699999995, .step = 5, .end = 1700000000,
		.legend = legend2, .columns = 2, .times = times2, .values = values2, .rows = 2,
	};

	/* as xcp-rrdd stores them: float32 */
	values2[0] = (float)0.1411;
	values2[1] = (float)209715200.0;
	values2[2] = NAN;
	values2[3] = (float)16776124.0;
	return d;
}

static char *write_updates(const struct xs_rrd_updates_doc *d, enum xs_rrd_syntax s,
			   enum xs_rrd_numfmt nf, enum xs_err *rc)
{
	struct out o = { 0 };

	*rc = xs_rrd_write_updates(d, s, nf, out_append, &o);
	if (!o.buf)
		o.buf = calloc(1, 1);
	return o.buf;
}

struct doc_case {
	const char *note;
	enum xs_rrd_syntax syntax;
	enum xs_rrd_numfmt nf;
	const char *want;
};

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define XMETA                                                                             \
	"<xport><meta><start>1699999995</start><step>5</step><end>1700000000</end><rows>2" \
	"</rows><columns>2</columns><legend><entry>AVERAGE:host:h1:cpu0</entry><entry>"     \
	"AVERAGE:vm:v1:memory</entry></legend></meta>"
#define JMETA                                                                             \
	"{\"meta\":{\"start\":\"1699999995\",\"step\":\"5\",\"end\":\"1700000000\",\"rows\":\"2\"," \
	"\"columns\":\"2\",\"legend\":[\"AVERAGE:host:h1:cpu0\",\"AVERAGE:vm:v1:memory\"]"

static const struct doc_case updates_cases[] = {
	{ "XML %0.4f", XS_RRD_XML, XS_NUMFMT_F4,
	  DECL XMETA "<data><row><t>1700000000</t><v>0.1411</v><v>209715200.0000</v></row>"
	  "<row><t>1699999995</t><v>NaN</v><v>16776124.0000</v></row></data></xport>" },
	{ "XML %0.5g", XS_RRD_XML, XS_NUMFMT_G5,
	  DECL XMETA "<data><row><t>1700000000</t><v>0.1411</v><v>2.0972e+08</v></row>"
	  "<row><t>1699999995</t><v>NaN</v><v>1.6776e+07</v></row></data></xport>" },
	{ "XML %0.15g", XS_RRD_XML, XS_NUMFMT_G15,
	  DECL XMETA "<data><row><t>1700000000</t><v>0.141100004315376</v><v>209715200</v></row>"
	  "<row><t>1699999995</t><v>NaN</v><v>16776124</v></row></data></xport>" },
	{ "JSON A (legacy, %0.4f)", XS_RRD_JSON_LEGACY, XS_NUMFMT_F4,
	  "{meta: {start:1699999995,step:5,end:1700000000,rows:2,columns:2,legend:["
	  "\"AVERAGE:host:h1:cpu0\",\"AVERAGE:vm:v1:memory\"]},data:[{t:1700000000,values:"
	  "[0.1411,209715200.0000]},{t:1699999995,values:[NaN,16776124.0000]}]}" },
	{ "JSON B (nested, %0.5g)", XS_RRD_JSON_NESTED, XS_NUMFMT_G5,
	  JMETA ",\"data\":[{\"t\":\"1700000000\",\"values\":[\"0.1411\",\"2.0972e+08\"]},"
	  "{\"t\":\"1699999995\",\"values\":[\"NaN\",\"1.6776e+07\"]}]}}" },
	{ "JSON C (current, %0.15g)", XS_RRD_JSON, XS_NUMFMT_G15,
	  JMETA "},\"data\":[{\"t\":\"1700000000\",\"values\":[\"0.141100004315376\","
	  "\"209715200\"]},{\"t\":\"1699999995\",\"values\":[\"NaN\",\"16776124\"]}]}" },
	{ "JSON C with %0.5g", XS_RRD_JSON, XS_NUMFMT_G5,
	  JMETA "},\"data\":[{\"t\":\"1700000000\",\"values\":[\"0.1411\",\"2.0972e+08\"]},"
	  "{\"t\":\"1699999995\",\"values\":[\"NaN\",\"1.6776e+07\"]}]}" },
};

/* What the readers must report for small_updates() in era nf. */
static const char *updates_recording(enum xs_rrd_numfmt nf)
{
	switch (nf) {
	case XS_NUMFMT_F4:
		return "row 1700000000 0.1411 209715200\nrow 1699999995 NaN 16776124\n";
	case XS_NUMFMT_G5:
		return "row 1700000000 0.1411 209720000\nrow 1699999995 NaN 16776000\n";
	default:
		return "row 1700000000 0.141100004315376 209715200\n"
		       "row 1699999995 NaN 16776124\n";
	}
}

static void test_updates_exact_bytes(void)
{
	struct xs_rrd_updates_doc d = small_updates();

	for (size_t i = 0; i < sizeof(updates_cases) / sizeof(updates_cases[0]); i++) {
		const struct doc_case *c = &updates_cases[i];
		enum xs_err rc;
		char *got = write_updates(&d, c->syntax, c->nf, &rc);

		ok(rc == XS_OK, "%s: rc %d", c->note, (int)rc);
		ok(!strcmp(got, c->want), "%s: got\n%s\nwant\n%s", c->note, got, c->want);
		free(got);
	}
}

/* Every variant read back through the auto-detecting reader. */
static void test_updates_round_trip(void)
{
	struct xs_rrd_updates_doc d = small_updates();

	for (size_t i = 0; i < sizeof(updates_cases) / sizeof(updates_cases[0]); i++) {
		const struct doc_case *c = &updates_cases[i];
		enum xs_err rc;
		char err[XS_ERR_LEN], want[1024];
		char *doc = write_updates(&d, c->syntax, c->nf, &rc);
		char *got = rec_read(NULL, doc, strlen(doc), 7, &rc, err);

		snprintf(want, sizeof(want),
			 "col 0 AVERAGE|host|h1|cpu0\ncol 1 AVERAGE|vm|v1|memory\n"
			 "meta %d 1699999995 5 1700000000 2 2 2\n%send updates\n",
			 (int)c->syntax, updates_recording(c->nf));
		ok(rc == XS_OK, "%s: read back: %s", c->note, err);
		ok(got && !strcmp(got, want), "%s: read back\n%s\nwant\n%s", c->note,
		   got ? got : "", want);
		free(got);
		free(doc);
	}
}

static void test_updates_edges(void)
{
	static const char *const odd[] = { "AVERAGE:vm:a&b<c>:\"q\"" };
	struct xs_rrd_updates_doc d = { .start = 10, .step = 5, .end = 5, .legend = odd,
					.columns = 1 };
	enum xs_err rc;
	char *got;

	got = write_updates(&d, XS_RRD_XML, XS_NUMFMT_G15, &rc);
	ok(rc == XS_OK && !strcmp(got, DECL "<xport><meta><start>10</start><step>5</step><end>5"
				  "</end><rows>0</rows><columns>1</columns><legend><entry>"
				  "AVERAGE:vm:a&amp;b&lt;c&gt;:&quot;q&quot;</entry></legend>"
				  "</meta><data/></xport>"),
	   "XML zero rows, escaping: %s", got);
	free(got);
	got = write_updates(&d, XS_RRD_JSON, XS_NUMFMT_G15, &rc);
	ok(rc == XS_OK && !strcmp(got, "{\"meta\":{\"start\":\"10\",\"step\":\"5\",\"end\":\"5\","
				  "\"rows\":\"0\",\"columns\":\"1\",\"legend\":["
				  "\"AVERAGE:vm:a&b<c>:\\\"q\\\"\"]},\"data\":[]}"),
	   "JSON zero rows, escaping: %s", got);
	free(got);
	got = write_updates(&d, XS_RRD_JSON_LEGACY, XS_NUMFMT_F4, &rc);
	ok(rc == XS_ERR_ARG && !*got, "variant A with zero rows fails like xapi: %d", (int)rc);
	free(got);
	d.columns = 0;
	got = write_updates(&d, XS_RRD_XML, XS_NUMFMT_G15, &rc);
	ok(rc == XS_OK && strstr(got, "<columns>0</columns><legend/></meta><data/>"),
	   "XML no legend: %s", got);
	free(got);
	got = write_updates(&d, (enum xs_rrd_syntax)42, XS_NUMFMT_G15, &rc);
	ok(rc == XS_ERR_ARG, "unknown syntax refused");
	free(got);
}

/* ---- dumps ---- */

static const struct xs_rrd_write_ds dump_ds[] = {
	{ .name = "cpu0", .type = "DERIVE", .heartbeat = 300, .min = 0, .max = 1,
	  .last_ds_kind = XS_RRD_LAST_DS_FLOAT, .last_ds = 8813.5655, .value = 0.25,
	  .unknown_sec = 0 },
	{ .name = "memory", .type = "GAUGE", .heartbeat = 300, .min = -INFINITY, .max = INFINITY,
	  .last_ds_kind = XS_RRD_LAST_DS_INT, .last_ds = 16776124, .value = 0,
	  .unknown_sec = 2 },
};
static const double dump_cdp[] = { 0.5, 0 };
static const unsigned dump_unknown[] = { 0, 3 };
static const double dump_data0[] = { NAN, NAN, 0.5, 16776124, 0.25, 2 };
static const double dump_data1[] = { 1, 2 };
static const struct xs_rrd_write_rra dump_rra[] = {
	{ .cf = "AVERAGE", .pdp_per_row = 1, .xff = 0.5, .cdp_value = dump_cdp,
	  .cdp_unknown = dump_unknown, .data = dump_data0, .rows = 3 },
	{ .cf = "MAX", .pdp_per_row = 12, .xff = 1, .data = dump_data1, .rows = 1 },
};
static const struct xs_rrd_dump_doc dump_doc = {
	.step = 5, .lastupdate = 1700000003.326, .ds = dump_ds, .nds = 2, .rra = dump_rra,
	.nrra = 2,
};

static const struct doc_case dump_cases[] = {
	{ "dump XML %0.4f", XS_RRD_XML, XS_NUMFMT_F4,
	  DECL "<rrd><version>0003</version><step>5</step><lastupdate>1700000003</lastupdate>"
	  "<ds><name>cpu0</name><type>DERIVE</type><minimal_heartbeat>300.0000</minimal_heartbeat>"
	  "<min>0.0</min><max>1.0000</max><last_ds>8813.5655</last_ds><value>0.2500</value>"
	  "<unknown_sec>0</unknown_sec></ds><ds><name>memory</name><type>GAUGE</type>"
	  "<minimal_heartbeat>300.0000</minimal_heartbeat><min>-Infinity</min><max>Infinity</max>"
	  "<last_ds>16776124</last_ds><value>0.0</value><unknown_sec>2</unknown_sec></ds>"
	  "<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5000</xff></params>"
	  "<cdp_prep><ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value>"
	  "<value>0.5000</value><unknown_datapoints>0</unknown_datapoints></ds><ds><primary_value>"
	  "0.0</primary_value><secondary_value>0.0</secondary_value><value>0.0</value>"
	  "<unknown_datapoints>3</unknown_datapoints></ds></cdp_prep><database><row><v>NaN</v>"
	  "<v>NaN</v></row><row><v>0.5000</v><v>16776124.0000</v></row><row><v>0.2500</v>"
	  "<v>2.0000</v></row></database></rra><rra><cf>MAX</cf><pdp_per_row>12</pdp_per_row>"
	  "<params><xff>1.0000</xff></params><cdp_prep><ds><primary_value>0.0</primary_value>"
	  "<secondary_value>0.0</secondary_value><value>0.0</value><unknown_datapoints>0"
	  "</unknown_datapoints></ds><ds><primary_value>0.0</primary_value><secondary_value>0.0"
	  "</secondary_value><value>0.0</value><unknown_datapoints>0</unknown_datapoints></ds>"
	  "</cdp_prep><database><row><v>1.0000</v><v>2.0000</v></row></database></rra></rrd>" },
	{ "dump JSON current %0.15g", XS_RRD_JSON, XS_NUMFMT_G15,
	  "{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"1700000003.326\",\"ds\":["
	  "{\"name\":\"cpu0\",\"type\":\"DERIVE\",\"minimal_heartbeat\":\"300\",\"min\":\"0.0\","
	  "\"max\":\"1\",\"last_ds\":\"8813.5655\",\"value\":\"0.25\",\"unknown_sec\":\"0.0\"},"
	  "{\"name\":\"memory\",\"type\":\"GAUGE\",\"minimal_heartbeat\":\"300\",\"min\":"
	  "\"-Infinity\",\"max\":\"Infinity\",\"last_ds\":\"16776124\",\"value\":\"0.0\","
	  "\"unknown_sec\":\"2\"}],\"rra\":[{\"cf\":\"AVERAGE\",\"pdp_per_row\":\"1\",\"params\":"
	  "{\"xff\":\"0.5\"},\"cdp_prep\":{\"ds\":[{\"primary_value\":\"0.0\",\"secondary_value\":"
	  "\"0.0\",\"value\":\"0.5\",\"unknown_datapoints\":\"0\"},{\"primary_value\":\"0.0\","
	  "\"secondary_value\":\"0.0\",\"value\":\"0.0\",\"unknown_datapoints\":\"3\"}]},"
	  "\"database\":[[\"NaN\",\"NaN\"],[\"0.5\",\"16776124\"],[\"0.25\",\"2\"]]},{\"cf\":"
	  "\"MAX\",\"pdp_per_row\":\"12\",\"params\":{\"xff\":\"1\"},\"cdp_prep\":{\"ds\":["
	  "{\"primary_value\":\"0.0\",\"secondary_value\":\"0.0\",\"value\":\"0.0\","
	  "\"unknown_datapoints\":\"0\"},{\"primary_value\":\"0.0\",\"secondary_value\":\"0.0\","
	  "\"value\":\"0.0\",\"unknown_datapoints\":\"0\"}]},\"database\":[[\"1\",\"2\"]]}]}" },
	{ "dump JSON old (minimal_hearbeat) %0.4f", XS_RRD_JSON_LEGACY, XS_NUMFMT_F4,
	  "{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"1700000003.3260\",\"ds\":["
	  "{\"name\":\"cpu0\",\"type\":\"DERIVE\",\"minimal_hearbeat\":\"300.0000\",\"min\":"
	  "\"0.0\",\"max\":\"1.0000\",\"last_ds\":\"8813.5655\",\"value\":\"0.2500\","
	  "\"unknown_sec\":\"0\"},{\"name\":\"memory\",\"type\":\"GAUGE\",\"minimal_hearbeat\":"
	  "\"300.0000\",\"min\":\"-Infinity\",\"max\":\"Infinity\",\"last_ds\":\"16776124\","
	  "\"value\":\"0.0\",\"unknown_sec\":\"2\"}],\"rra\":[{\"cf\":\"AVERAGE\",\"pdp_per_row\":"
	  "\"1\",\"params\":{\"xff\":\"0.5000\"},\"cdp_prep\":{\"ds\":[{\"primary_value\":"
	  "\"0.00\",\"secondary_value\":\"0.00\",\"value\":\"0.5000\",\"unknown_datapoints\":"
	  "\"0.00\"},{\"primary_value\":\"0.00\",\"secondary_value\":\"0.00\",\"value\":\"0.0\","
	  "\"unknown_datapoints\":\"3.00\"}]},\"database\":[[\"NaN\",\"NaN\"],[\"0.5000\","
	  "\"16776124.0000\"],[\"0.2500\",\"2.0000\"]]},{\"cf\":\"MAX\",\"pdp_per_row\":\"12\","
	  "\"params\":{\"xff\":\"1.0000\"},\"cdp_prep\":{\"ds\":[{\"primary_value\":\"0.00\","
	  "\"secondary_value\":\"0.00\",\"value\":\"0.0\",\"unknown_datapoints\":\"0.00\"},"
	  "{\"primary_value\":\"0.00\",\"secondary_value\":\"0.00\",\"value\":\"0.0\","
	  "\"unknown_datapoints\":\"0.00\"}]},\"database\":[[\"1.0000\",\"2.0000\"]]}]}" },
};

static char *write_dump(const struct xs_rrd_dump_doc *d, enum xs_rrd_syntax s,
			enum xs_rrd_numfmt nf, enum xs_err *rc)
{
	struct out o = { 0 };

	*rc = xs_rrd_write_dump(d, s, nf, out_append, &o);
	if (!o.buf)
		o.buf = calloc(1, 1);
	return o.buf;
}

static void test_dump_exact_bytes(void)
{
	for (size_t i = 0; i < sizeof(dump_cases) / sizeof(dump_cases[0]); i++) {
		const struct doc_case *c = &dump_cases[i];
		enum xs_err rc;
		char *got = write_dump(&dump_doc, c->syntax, c->nf, &rc);

		ok(rc == XS_OK, "%s: rc %d", c->note, (int)rc);
		ok(!strcmp(got, c->want), "%s: got\n%s\nwant\n%s", c->note, got, c->want);
		free(got);
	}
}

static void test_dump_round_trip(void)
{
	static const char *const want[] = {
		"header 0003 5 1700000003\n"
		"ds 0 cpu0 DERIVE 300 0 1 8813.5655 0.25 0\n"
		"ds 1 memory GAUGE 300 -Infinity Infinity 16776124 0 2\n"
		"rra 0 AVERAGE 1 0.5 5\ndrow 0 0 NaN NaN\ndrow 0 1 0.5 16776124\n"
		"drow 0 2 0.25 2\nrra_end 0 3 1700000000\n"
		"rra 1 MAX 12 1 60\ndrow 1 0 1 2\nrra_end 1 1 1699999980\nend dump\n",
		"header 0003 5 1700000003.326\n"
		"ds 0 cpu0 DERIVE 300 0 1 8813.5655 0.25 0\n"
		"ds 1 memory GAUGE 300 -Infinity Infinity 16776124 0 2\n"
		"rra 0 AVERAGE 1 0.5 5\ndrow 0 0 NaN NaN\ndrow 0 1 0.5 16776124\n"
		"drow 0 2 0.25 2\nrra_end 0 3 1700000000\n"
		"rra 1 MAX 12 1 60\ndrow 1 0 1 2\nrra_end 1 1 1699999980\nend dump\n",
		"header 0003 5 1700000003.326\n"
		"ds 0 cpu0 DERIVE 300 0 1 8813.5655 0.25 0\n"
		"ds 1 memory GAUGE 300 -Infinity Infinity 16776124 0 2\n"
		"rra 0 AVERAGE 1 0.5 5\ndrow 0 0 NaN NaN\ndrow 0 1 0.5 16776124\n"
		"drow 0 2 0.25 2\nrra_end 0 3 1700000000\n"
		"rra 1 MAX 12 1 60\ndrow 1 0 1 2\nrra_end 1 1 1699999980\nend dump\n",
	};

	for (size_t i = 0; i < sizeof(dump_cases) / sizeof(dump_cases[0]); i++) {
		const struct doc_case *c = &dump_cases[i];
		enum xs_err rc;
		char err[XS_ERR_LEN];
		char *doc = write_dump(&dump_doc, c->syntax, c->nf, &rc);
		char *got = rec_read(NULL, doc, strlen(doc), 5, &rc, err);

		ok(rc == XS_OK, "%s: read back: %s", c->note, err);
		ok(got && !strcmp(got, want[i]), "%s: read back\n%s\nwant\n%s", c->note,
		   got ? got : "", want[i]);
		free(got);
		free(doc);
	}
}

static void test_dump_edges(void)
{
	struct xs_rrd_write_ds ds = { .name = "x", .type = "GAUGE", .heartbeat = 300,
				      .last_ds_kind = XS_RRD_LAST_DS_UNKNOWN,
				      .has_last_updated = true, .last_updated = 99.5 };
	struct xs_rrd_write_rra rra = { .cf = "AVERAGE", .pdp_per_row = 1, .xff = 0.5 };
	struct xs_rrd_dump_doc d = { .step = 5, .lastupdate = 100, .ds = &ds, .nds = 1,
				     .rra = &rra, .nrra = 1 };
	enum xs_err rc;
	char *got;

	got = write_dump(&d, XS_RRD_XML, XS_NUMFMT_G15, &rc);
	ok(rc == XS_OK && strstr(got, "<last_ds>0.0</last_ds>") &&
		   strstr(got, "<unknown_sec>0</unknown_sec><last_updated>99.5</last_updated></ds>") &&
		   strstr(got, "<database/></rra></rrd>"),
	   "internal XML, unknown last_ds, empty database: %s", got);
	free(got);
	got = write_dump(&d, XS_RRD_JSON_LEGACY, XS_NUMFMT_F4, &rc);
	ok(rc == XS_OK && strstr(got, "\"last_ds\":\"0.00\"") && !strstr(got, "last_updated") &&
		   strstr(got, "\"database\":[]}"),
	   "old JSON: unknown last_ds, no last_updated: %s", got);
	free(got);
	got = write_dump(&d, XS_RRD_JSON, XS_NUMFMT_G15, &rc);
	ok(rc == XS_OK && strstr(got, "\"unknown_sec\":\"0.0\",\"last_updated\":\"99.5\"}"),
	   "current JSON last_updated: %s", got);
	free(got);
	d.nds = 0;
	got = write_dump(&d, XS_RRD_XML, XS_NUMFMT_G15, &rc);
	ok(rc == XS_OK && strstr(got, "<cdp_prep/><database/>"), "no data source: %s", got);
	free(got);
}

/* ---- a big document: chunking, abort, speed ---- */

#define BIG_VMS 150
#define BIG_DS_PER_VM 20
#define BIG_COLS (BIG_VMS * BIG_DS_PER_VM)
#define BIG_ROWS 366

struct big {
	char names[BIG_COLS][80];
	const char *legend[BIG_COLS];
	int64_t times[BIG_ROWS];
	double *values;
	struct xs_rrd_updates_doc doc;
};

static struct big *big_new(void)
{
	struct big *b = calloc(1, sizeof(*b));

	b->values = malloc(sizeof(double) * BIG_COLS * BIG_ROWS);
	if (!b->values)
		abort();
	for (int c = 0; c < BIG_COLS; c++) {
		snprintf(b->names[c], sizeof(b->names[c]),
			 "AVERAGE:vm:6f1c3a2e-0b7d-4c55-9a1e-%012d:ds%d", c / BIG_DS_PER_VM,
			 c % BIG_DS_PER_VM);
		b->legend[c] = b->names[c];
	}
	for (int r = 0; r < BIG_ROWS; r++)
		b->times[r] = 1700000000 - (int64_t)r * 86400;
	for (size_t i = 0; i < (size_t)BIG_COLS * BIG_ROWS; i++) {
		uint64_t u = rnd();

		/* a mix like real hosts: fractions (cpu), bytes (memory), NaN gaps */
		if (u % 50 == 0)
			b->values[i] = NAN;
		else if (u % 3 == 0)
			b->values[i] = (float)((double)(u >> 20 & 0xffffffff) * 16.0);
		else
			b->values[i] = (float)((double)(u >> 11) / 9007199254740992.0);
	}
	b->doc = (struct xs_rrd_updates_doc){ .start = b->times[BIG_ROWS - 1], .step = 86400,
					      .end = b->times[0], .legend = b->legend,
					      .columns = BIG_COLS, .times = b->times,
					      .values = b->values, .rows = BIG_ROWS };
	return b;
}

static void big_free(struct big *b)
{
	free(b->values);
	free(b);
}

static void test_big_chunks_and_round_trip(struct big *b)
{
	static const enum xs_rrd_syntax syn[] = { XS_RRD_XML, XS_RRD_JSON_LEGACY,
						  XS_RRD_JSON_NESTED, XS_RRD_JSON };

	for (size_t i = 0; i < sizeof(syn) / sizeof(syn[0]); i++) {
		struct out o = { 0 };
		enum xs_err rc = xs_rrd_write_updates(&b->doc, syn[i], XS_NUMFMT_G15, out_append,
						      &o);
		char err[XS_ERR_LEN];
		char *rec;
		size_t rows = 0;

		ok(rc == XS_OK && o.max_piece <= XS_RRD_WRITE_CHUNK && o.calls >= o.len / XS_RRD_WRITE_CHUNK,
		   "syntax %d: rc %d, %zu bytes in %zu pieces of <= %zu", (int)syn[i], (int)rc, o.len,
		   o.calls, o.max_piece);
		rec = rec_read(NULL, o.buf, o.len, 65536, &rc, err);
		ok(rc == XS_OK, "syntax %d read back: %s", (int)syn[i], err);
		for (const char *p = rec; p && (p = strstr(p, "\nrow ")); p++)
			rows++;
		ok(rows == BIG_ROWS, "syntax %d: %zu rows read back", (int)syn[i], rows);
		free(rec);
		free(o.buf);
	}
}

static void test_big_abort(struct big *b)
{
	struct out o = { .fail_at = 3 };
	enum xs_err rc = xs_rrd_write_updates(&b->doc, XS_RRD_XML, XS_NUMFMT_F4, out_append, &o);

	ok(rc == XS_ERR_ABORTED && o.calls == 3, "abort: rc %d after %zu calls", (int)rc, o.calls);
	free(o.buf);
	o = (struct out){ .fail_at = 1 };
	rc = xs_rrd_write_dump(&dump_doc, XS_RRD_JSON, XS_NUMFMT_F4, out_append, &o);
	ok(rc == XS_ERR_ABORTED && o.calls == 1, "dump abort: rc %d", (int)rc);
	free(o.buf);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reports MB/s (informational: this build runs under ASan). */
static void test_big_speed(struct big *b)
{
	static const struct {
		enum xs_rrd_syntax s;
		enum xs_rrd_numfmt nf;
		const char *name;
	} runs[] = {
		{ XS_RRD_XML, XS_NUMFMT_F4, "XML %0.4f" },
		{ XS_RRD_XML, XS_NUMFMT_G5, "XML %0.5g" },
		{ XS_RRD_XML, XS_NUMFMT_G15, "XML %0.15g" },
		{ XS_RRD_JSON, XS_NUMFMT_G15, "JSON C %0.15g" },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		size_t total = 0;
		int reps = 0;
		double t0 = now_s(), dt;
		enum xs_err rc = XS_OK;

		do {
			rc |= xs_rrd_write_updates(&b->doc, runs[i].s, runs[i].nf, out_discard, &total);
			reps++;
			dt = now_s() - t0;
		} while (dt < 0.3);
		ok(rc == XS_OK, "speed run %s", runs[i].name);
		printf("# %s: %d VMs x %d rows (%d columns): %.1f MB per document, %.0f MB/s, "
		       "%.1f ms per document\n",
		       runs[i].name, BIG_VMS, BIG_ROWS, BIG_COLS, (double)total / reps / 1e6,
		       (double)total / dt / 1e6, dt / reps * 1e3);
	}
}

static void test_big(void)
{
	struct big *b = big_new();

	test_big_chunks_and_round_trip(b);
	test_big_abort(b);
	test_big_speed(b);
	big_free(b);
}

int main(void)
{
	TEST_RUN(test_num_spec_examples);
	TEST_RUN(test_num_equals_printf);
	TEST_RUN(test_updates_exact_bytes);
	TEST_RUN(test_updates_round_trip);
	TEST_RUN(test_updates_edges);
	TEST_RUN(test_dump_exact_bytes);
	TEST_RUN(test_dump_round_trip);
	TEST_RUN(test_dump_edges);
	TEST_RUN(test_big);
	return test_summary();
}
