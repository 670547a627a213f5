/*
 * Tests of the collector's commit of a complete document (co_commit_coarse and
 * co_commit_5s in src/collect/collector.c, reached by including the .c) with no
 * network: a document goes through a host's reader as a transfer would, then is
 * committed to a store in a temporary directory. Checked:
 * - a 1 min archive of two rows and no column (a legend with no entry): nothing
 *   stored, no undefined behaviour; before, h->vals (never allocated, no value
 *   held) + row x 0 was pointer arithmetic on NULL, which clang's UBSan stops
 *   (found by fuzz/collect_updates.c; gcc's does not check it: build this test
 *   with CC=clang to see it fail without the fix);
 * - the same archive with a column: its two points, one step before the rows' t;
 * - legend entries not CF:kind:uuid:ds (SPEC §2.4 says none is): their columns are
 *   skipped, the others' points stored, and one warning names the first of them
 *   (before, one such entry failed the whole reply, every 5 s, for good).
 */
#include <string.h>

#include "collect/collector.c"
#include "support/tmp_dir.h"
#include "test.h"

#define H_UUID "aaaaaaaa-0000-0000-0000-000000000001"

static char t_dir[TMP_DIR_LEN];
static char t_log[4096]; /* the collector's warnings, a line each */

static void on_log(void *arg, enum xs_collect_log level, const char *msg)
{
	size_t n = strlen(t_log);

	(void)arg;
	if (level >= XS_COLLECT_LOG_WARN)
		snprintf(t_log + n, sizeof(t_log) - n, "%s\n", msg);
}

/* The document doc through a 1 min fetch of one host into store s, committed. */
static void commit_doc(struct xs_store *s, struct xs_pool_client *pc, const char *doc)
{
	struct xs_collector_config cfg = { .manual = true, .log = on_log };
	struct xs_collector *c = xs_collector_new(NULL, NULL, s, &cfg);
	struct co_pool pool = { .pc = pc };
	struct co_host *h = xs_xcalloc(1, sizeof(*h));
	enum xs_err rc;

	h->c = c;
	h->pool = &pool;
	snprintf(h->uuid, sizeof(h->uuid), "%s", H_UUID);
	h->phase = 1;
	h->reader = xs_rrd_reader_new(&co_sink, h);
	rc = xs_rrd_reader_push(h->reader, doc, strlen(doc));
	if (rc == XS_OK)
		rc = xs_rrd_reader_finish(h->reader);
	ok(rc == XS_OK, "document read: %s", xs_strerror(rc));
	if (rc == XS_OK)
		co_commit_coarse(h);
	co_host_free(h);
	xs_collector_free(&c);
}

static void test_no_column(void)
{
	struct xs_pool_config pcfg = { .url = "https://master.example.test", .user = "root" };
	struct xs_store_options o = { .dir = t_dir };
	struct xs_store *s = NULL;
	struct xs_pool_client *pc;
	struct xs_point pts[4];
	xs_series_id id;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(t_dir, "commit");
	pc = xs_pool_client_new(NULL, NULL, &pcfg, err);
	fail_unless(pc && xs_store_open(&o, &s, err) == XS_OK, "set-up: %s", err);
	commit_doc(s, pc, "<xport><meta><start>1699999980</start><step>60</step><end>1700000040</end>"
			  "<rows>2</rows><columns>0</columns><legend></legend></meta><data>"
			  "<row><t>1700000040</t></row><row><t>1699999980</t></row></data></xport>");
	commit_doc(s, pc, "<xport><meta><start>1699999980</start><step>60</step><end>1700000040</end>"
			  "<rows>2</rows><columns>1</columns><legend><entry>AVERAGE:host:" H_UUID
			  ":cpu0</entry></legend></meta><data><row><t>1700000040</t><v>0.5</v></row>"
			  "<row><t>1699999980</t><v>0.25</v></row></data></xport>");
	fail_unless(xs_store_find(s, XS_OBJ_HOST, H_UUID, "cpu0", &id), "series cpu0");
	ok(xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, pts, 4) == 2 && pts[0].t == 1699999920 &&
		   pts[0].avg == 0.25f && pts[1].t == 1699999980 && pts[1].avg == 0.5f,
	   "two 1 min points, a step before the rows");
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	xs_pool_client_free(&pc);
	tmp_dir_remove(t_dir);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_odd_legend(void)
{
	struct xs_pool_config pcfg = { .url = "https://master.example.test", .user = "root" };
	struct xs_store_options o = { .dir = t_dir };
	struct xs_store *s = NULL;
	struct xs_pool_client *pc;
	struct xs_point pts[4];
	struct xs_store_stats st;
	xs_series_id id;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(t_dir, "commit");
	t_log[0] = '\0';
	pc = xs_pool_client_new(NULL, NULL, &pcfg, err);
	fail_unless(pc && xs_store_open(&o, &s, err) == XS_OK, "set-up: %s", err);
	commit_doc(s, pc, "<xport><meta><start>1699999980</start><step>60</step><end>1700000040</end>"
			  "<rows>2</rows><columns>4</columns><legend><entry>AVERAGE:host:" H_UUID
			  "</entry><entry>AVERAGE:host:" H_UUID ":cpu0</entry><entry>cpu1</entry>"
			  "<entry>AVERAGE:host:" H_UUID ":memory_free_kib</entry></legend></meta><data>"
			  "<row><t>1700000040</t><v>7</v><v>0.5</v><v>8</v><v>1024</v></row>"
			  "<row><t>1699999980</t><v>7</v><v>0.25</v><v>8</v><v>2048</v></row>"
			  "</data></xport>");
	fail_unless(xs_store_find(s, XS_OBJ_HOST, H_UUID, "cpu0", &id), "series cpu0");
	ok(xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, pts, 4) == 2 && pts[0].avg == 0.25f &&
		   pts[1].avg == 0.5f,
	   "the column before the odd ones stored");
	fail_unless(xs_store_find(s, XS_OBJ_HOST, H_UUID, "memory_free_kib", &id),
		    "series memory_free_kib");
	ok(xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, pts, 4) == 2 && pts[0].avg == 2048.0f &&
		   pts[1].avg == 1024.0f,
	   "the column after them stored, its own values (not shifted)");
	xs_store_stats(s, &st);
	ok(st.series == 2, "no series for the odd entries: %zu series", (size_t)st.series);
	ok(count_of(t_log, "is not CF:kind:uuid:name") == 1 &&
		   strstr(t_log, "legend entry \"AVERAGE:host:" H_UUID "\""),
	   "one warning, naming the first odd entry: %s", t_log);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	xs_pool_client_free(&pc);
	tmp_dir_remove(t_dir);
}

int main(void)
{
	TEST_RUN(test_no_column);
	TEST_RUN(test_odd_legend);
	return test_summary();
}
