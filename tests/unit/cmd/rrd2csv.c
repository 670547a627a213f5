/*
 * Tests of `xapistat rrd2csv` as a user runs it (the ASan build of the
 * program): the three output modes on an /rrd_updates document and a dump,
 * stdin, CSV quoting, and the errors and exit codes.
 */
#include <string.h>

#include "test.h"
#include "support/run_cmd.h"

static const char updates[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xport><meta><start>1699999995</start>"
	"<step>5</step><end>1700000000</end><rows>2</rows><columns>2</columns><legend>"
	"<entry>AVERAGE:host:h1:cpu0</entry><entry>AVERAGE:vm:v1:odd,name</entry></legend>"
	"</meta><data><row><t>1700000000</t><v>0.1411</v><v>NaN</v></row><row><t>1699999995</t>"
	"<v>0.143341526389122</v><v>1.6776e+07</v></row></data></xport>";

static const char dump[] =
	"<rrd><version>0003</version><step>5</step><lastupdate>125</lastupdate>"
	"<ds><name>cpu0</name></ds><rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row>"
	"<database><row><v>1</v></row><row><v>2</v></row><row><v>3</v></row></database></rra>"
	"<rra><cf>MAX</cf><pdp_per_row>12</pdp_per_row><database><row><v>Infinity</v></row>"
	"<row><v>5</v></row></database></rra></rrd>";

static int rrd2csv(const char *mode, const char *file, const char *in, char **out, char **err)
{
	const char *argv[5];
	int n = 0;

	argv[n++] = run_cmd_bin("xapistat");
	argv[n++] = "rrd2csv";
	if (mode)
		argv[n++] = mode;
	if (file)
		argv[n++] = file;
	argv[n] = NULL;
	return run_cmd(argv, in, in ? strlen(in) : 0, out, err);
}

static void expect(const char *mode, const char *file, const char *in, int want_rc,
		   const char *want_out, const char *want_err)
{
	char *out, *err;
	int rc = rrd2csv(mode, file, in, &out, &err);

	ok(rc == want_rc, "%s: exit %d, want %d (%s)", mode ? mode : "default", rc, want_rc, err);
	if (want_out)
		ok(!strcmp(out, want_out), "%s: stdout\n%s", mode ? mode : "default", out);
	if (want_err)
		ok(strstr(err, want_err) != NULL, "%s: stderr '%s'", mode ? mode : "default", err);
	free(out);
	free(err);
}

static void test_updates_long_is_ascending(void)
{
	const char *f = run_cmd_file("u.xml", updates, strlen(updates));
	static const char want[] = "time,series,value\n"
				   "1699999995,AVERAGE:host:h1:cpu0,0.143341526389122\n"
				   "1699999995,\"AVERAGE:vm:v1:odd,name\",16776000\n"
				   "1700000000,AVERAGE:host:h1:cpu0,0.1411\n"
				   "1700000000,\"AVERAGE:vm:v1:odd,name\",NaN\n";

	expect("--long", f, NULL, 0, want, NULL);
	expect(NULL, f, NULL, 0, want, NULL);
	expect(NULL, "-", updates, 0, want, NULL);
	expect(NULL, NULL, updates, 0, want, NULL);
}

static void test_updates_wide_and_summary(void)
{
	const char *f = run_cmd_file("u.xml", updates, strlen(updates));

	expect("--wide", f, NULL, 0,
	       "time,AVERAGE:host:h1:cpu0,\"AVERAGE:vm:v1:odd,name\"\n"
	       "1699999995,0.143341526389122,16776000\n1700000000,0.1411,NaN\n",
	       NULL);
	expect("--summary", f, NULL, 0, "series=2 cells=4 nan=1 sum=1.677600028e+07\n", NULL);
}

/* Dump rows get their times from lastupdate; archives are merged by time. */
static void test_dump(void)
{
	const char *f = run_cmd_file("d.xml", dump, strlen(dump));

	expect("--long", f, NULL, 0,
	       "time,series,value\n60,MAX:60:cpu0,Infinity\n115,AVERAGE:5:cpu0,1\n"
	       "120,AVERAGE:5:cpu0,2\n120,MAX:60:cpu0,5\n125,AVERAGE:5:cpu0,3\n",
	       NULL);
	expect("--wide", f, NULL, 0,
	       "time,AVERAGE:5:cpu0,MAX:60:cpu0\n60,,Infinity\n115,1,\n120,2,5\n125,3,\n", NULL);
	expect("--summary", f, NULL, 0, "series=2 cells=5 nan=0 sum=1.100000000e+01\n", NULL);
}

/* SPEC §2.3: the %0.5g era's JSON dump says lastupdate "1.7e+09": read, with a warning. */
static void test_dump_coarse_lastupdate(void)
{
	static const char doc[] = "{\"version\":\"0003\",\"step\":\"5\",\"lastupdate\":\"1.7e+09\","
				  "\"ds\":[{\"name\":\"cpu0\"}],\"rra\":[{\"cf\":\"AVERAGE\","
				  "\"pdp_per_row\":\"1\",\"database\":[[\"0.5\"]]}]}";
	const char *f = run_cmd_file("g5.json", doc, strlen(doc));
	char *out, *err;

	expect("--long", f, NULL, 0, "time,series,value\n1700000000,AVERAGE:5:cpu0,0.5\n",
	       "g5.json: warning: lastupdate is given to 1e5 seconds only");
	ok(rrd2csv("--summary", f, NULL, &out, &err) == 0 && !strstr(err, "warning"),
	   "--summary has no times to doubt: no warning (%s)", err);
	free(out);
	free(err);
}

static void test_errors(void)
{
	const char *bad = run_cmd_file("bad.xml", "<xport><meta><rows>x</rows>", 27);

	expect("--summary", bad, NULL, 1, "", "bad.xml: byte 19: expected an integer in meta rows");
	expect("--long", "-", "{\"meta\": 5", 1, "", "(stdin): byte ");
	expect("--summary", "/nonexistent/file.xml", NULL, 1, "", "No such file or directory");
	expect("--bogus", NULL, "", 2, "", "unknown option '--bogus'");
	expect("--summary", "-", "", 1, "", "input ended before an RRD document began");
	expect("--help", NULL, NULL, 0, NULL, NULL);
}

int main(void)
{
	TEST_RUN(test_updates_long_is_ascending);
	TEST_RUN(test_updates_wide_and_summary);
	TEST_RUN(test_dump);
	TEST_RUN(test_dump_coarse_lastupdate);
	TEST_RUN(test_errors);
	run_cmd_cleanup();
	return test_summary();
}
