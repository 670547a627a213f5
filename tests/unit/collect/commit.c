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
 *   (before, one such entry failed the whole reply, every 5 s, for good);
 * - host entries of another host's uuid (a host serves its own RRD alone): skipped
 *   with one warning, so a broken or hostile host cannot write into another host's
 *   series; its own, in capitals, stored;
 * - a VM's own backfill goes on while the host's last reply listed the VM, whatever the
 *   topology (whose events may lag the hosts) says; one that reply did not list and the
 *   topology does not know is dropped, once; a failed one is wanted again as its own
 *   once, then as the host's;
 * - rows at times off their step's grid, in a 5 s and a 1 min reply: skipped with one
 *   warning a host, not one store error a value (72,000 lines for a reply of 600
 *   columns and 120 rows, every 5 s, before); the rows on the grid stored.
 */
#include <string.h>

#include "collect/collector.c"
#include "support/tmp_dir.h"
#include "test.h"

#define H_UUID "aaaaaaaa-0000-0000-0000-000000000001"

static char t_dir[TMP_DIR_LEN];
static char t_log[4096]; /* the collector's lines from INFO up, a line each */

static void on_log(void *arg, enum xs_collect_log level, const char *msg)
{
	size_t n = strlen(t_log);

	(void)arg;
	if (level >= XS_COLLECT_LOG_INFO)
		snprintf(t_log + n, sizeof(t_log) - n, "%s\n", msg);
}

/* The documents docs[0..n) through fetches of phase (0: 5 s, whole archives; 1: 1 min)
 * of one host into store s, each committed. */
static void commit_docs(struct xs_store *s, struct xs_pool_client *pc, int phase,
			const char *const *docs, size_t n)
{
	struct xs_collector_config cfg = { .manual = true, .log = on_log };
	struct xs_collector *c = xs_collector_new(NULL, NULL, s, &cfg);
	struct co_pool pool = { .pc = pc };
	struct co_host *h = xs_xcalloc(1, sizeof(*h));

	h->c = c;
	h->pool = &pool;
	snprintf(h->uuid, sizeof(h->uuid), "%s", H_UUID);
	snprintf(h->name, sizeof(h->name), "h1");
	h->phase = phase;
	h->whole = true;
	for (size_t i = 0; i < n; i++) {
		enum xs_err rc;

		xs_rrd_reader_free(&h->reader);
		h->reader = xs_rrd_reader_new(&co_sink, h);
		h->serial++;
		h->nrows = 0;
		rc = xs_rrd_reader_push(h->reader, docs[i], strlen(docs[i]));
		if (rc == XS_OK)
			rc = xs_rrd_reader_finish(h->reader);
		ok(rc == XS_OK, "document %zu read: %s", i, xs_strerror(rc));
		if (rc == XS_OK && phase)
			co_commit_coarse(h);
		else if (rc == XS_OK)
			co_commit_5s(h);
	}
	co_host_free(h);
	xs_collector_free(&c);
}

static void commit_doc(struct xs_store *s, struct xs_pool_client *pc, const char *doc)
{
	commit_docs(s, pc, 1, &doc, 1);
}

/* A store in a fresh t_dir and a pool client (*pc) to commit into; the log emptied. */
static struct xs_store *commit_start(struct xs_pool_client **pc)
{
	struct xs_pool_config pcfg = { .url = "https://master.example.test", .user = "root" };
	struct xs_store_options o = { .dir = t_dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(t_dir, "commit");
	t_log[0] = '\0';
	*pc = xs_pool_client_new(NULL, NULL, &pcfg, err);
	if (!*pc || xs_store_open(&o, &s, err) != XS_OK) {
		fprintf(stderr, "# set-up: %s\n", err);
		exit(1);
	}
	return s;
}

static void commit_end(struct xs_store **s, struct xs_pool_client **pc)
{
	char err[XS_ERR_LEN] = "";

	ok(xs_store_close(s, err) == XS_OK, "close: %s", err);
	xs_pool_client_free(pc);
	tmp_dir_remove(t_dir);
}

static void test_no_column(void)
{
	struct xs_pool_client *pc;
	struct xs_store *s = commit_start(&pc);
	struct xs_point pts[4];
	xs_series_id id;

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
	commit_end(&s, &pc);
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
	struct xs_pool_client *pc;
	struct xs_store *s = commit_start(&pc);
	struct xs_point pts[4];
	struct xs_store_stats st;
	xs_series_id id;

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
	commit_end(&s, &pc);
}

#define ROW5(t, v) "<row><t>" #t "</t><v>" #v "</v></row>"
#define DOC5(rows)                                                                            \
	"<xport><meta><step>5</step><legend><entry>AVERAGE:host:" H_UUID ":cpu0</entry>"     \
	"</legend></meta><data>" rows "</data></xport>"

static void test_foreign_host(void)
{
	struct xs_pool_client *pc;
	struct xs_store *s = commit_start(&pc);
	struct xs_point pts[4];
	struct xs_store_stats st;
	xs_series_id id;

	commit_doc(s, pc, "<xport><meta><step>60</step><legend>"
			  "<entry>AVERAGE:host:bbbbbbbb-0000-0000-0000-000000000002:cpu0</entry>"
			  "<entry>AVERAGE:host:AAAAAAAA-0000-0000-0000-000000000001:cpu1</entry>"
			  "<entry>AVERAGE:host:bbbbbbbb-0000-0000-0000-000000000002:cpu1</entry>"
			  "<entry>AVERAGE:vm:cccccccc-0000-0000-0000-000000000003:memory</entry>"
			  "</legend></meta><data><row><t>1700000040</t><v>1</v><v>2</v><v>3</v><v>4</v>"
			  "</row></data></xport>");
	ok(!xs_store_find(s, XS_OBJ_HOST, "bbbbbbbb-0000-0000-0000-000000000002", "cpu0", &id),
	   "no series of the other host");
	fail_unless(xs_store_find(s, XS_OBJ_HOST, "AAAAAAAA-0000-0000-0000-000000000001", "cpu1",
				  &id), "its own series, as the host wrote its uuid");
	ok(xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, pts, 4) == 1 && pts[0].avg == 2.0f,
	   "its own column stored");
	fail_unless(xs_store_find(s, XS_OBJ_VM, "cccccccc-0000-0000-0000-000000000003", "memory",
				  &id), "the VM's series");
	xs_store_stats(s, &st);
	ok(st.series == 2, "two series: %zu", (size_t)st.series);
	ok(count_of(t_log, "names another host") == 1 &&
		   strstr(t_log, "bbbbbbbb-0000-0000-0000-000000000002:cpu0\" names another host than "
				 H_UUID),
	   "one warning, naming the first: %s", t_log);
	commit_end(&s, &pc);
}

static void test_vm_residency(void)
{
	struct xs_pool_client *pc;
	struct xs_store *s = commit_start(&pc);
	struct xs_collector_config cfg = { .manual = true, .log = on_log };
	struct xs_collector *c = xs_collector_new(NULL, NULL, s, &cfg);
	struct co_host *h = xs_xcalloc(1, sizeof(*h));
	struct co_host *hosts[1] = { h };
	struct co_pool pool = { .pc = pc, .hosts = hosts, .nhosts = 1 };
	struct co_obj *vm = co_obj_get(c, XS_OBJ_VM, "cccccccc-0000-0000-0000-000000000003", 36);

	h->c = c;
	h->pool = &pool;
	snprintf(h->name, sizeof(h->name), "h1");
	h->serial = 7;
	vm->mark = 7; /* listed by the host's last reply; the (empty) topology knows nothing */
	ok(co_vm_still_here(h, vm) && !t_log[0], "listed by its host: still here, nothing said");
	h->serial = 8;
	ok(!co_vm_still_here(h, vm) && strstr(t_log, "left it before its backfill: dropped"),
	   "not listed, unknown to the topology: dropped: %s", t_log);
	/* a failure of its own backfill: its own again, then the host's */
	h->bf_vm = vm;
	co_backfill_again(h, true);
	ok(!h->bf_vm && h->nbf_vms == 1 && h->bf_vms[0] == vm && !h->need_backfill,
	   "first failure: its own backfill wanted again");
	h->nbf_vms = 0;
	h->bf_vm = vm;
	co_backfill_again(h, true);
	ok(!h->bf_vm && h->nbf_vms == 0 && h->need_backfill && vm->bf_failures == 0,
	   "second failure in a row: the host's");
	h->need_backfill = false;
	h->bf_vm = vm;
	co_backfill_again(h, false);
	ok(h->nbf_vms == 1 && !h->need_backfill && vm->bf_failures == 0,
	   "not sent (the host down, the store paused): its own again, no failure counted");
	free(h);
	xs_collector_free(&c);
	commit_end(&s, &pc);
}

static void test_off_grid(void)
{
	struct xs_pool_client *pc;
	struct xs_store *s = commit_start(&pc);
	struct xs_point pts[8];
	xs_series_id id;
	const char *five[] = {
		DOC5(ROW5(1700000012, 9) ROW5(1700000010, 0.5) ROW5(1700000007, 9)
		     ROW5(1700000005, 0.25)),
		DOC5(ROW5(1700000022, 9) ROW5(1700000017, 9)),
		DOC5(ROW5(1700000020, 0.75) ROW5(1700000015, 1)),
		DOC5(ROW5(1700000026, 9)),
	};

	commit_docs(s, pc, 0, five, 4);
	fail_unless(xs_store_find(s, XS_OBJ_HOST, H_UUID, "cpu0", &id), "series cpu0");
	ok(xs_store_read(s, id, XS_TIER_5S, 0, INT64_MAX, pts, 8) == 4 &&
		   pts[0].t == 1700000005 && pts[0].avg == 0.25f && pts[1].t == 1700000010 &&
		   pts[1].avg == 0.5f && pts[2].t == 1700000015 && pts[3].avg == 0.75f,
	   "the 5 s rows on the grid stored, the others skipped");
	ok(count_of(t_log, "off that step's grid") == 2 &&
		   strstr(t_log, "h1: 2 rows of its 5 s archive are at times off that step's grid "
				 "(the first at 1700000007)"),
	   "one warning for the first two replies, again after one on the grid: %s", t_log);
	ok(!strstr(t_log, "refused"), "no store error: %s", t_log);
	t_log[0] = '\0';
	commit_doc(s, pc, "<xport><meta><step>60</step><legend><entry>AVERAGE:host:" H_UUID
			  ":cpu1</entry></legend></meta><data><row><t>1700000101</t><v>9</v></row>"
			  "<row><t>1700000040</t><v>0.5</v></row></data></xport>");
	fail_unless(xs_store_find(s, XS_OBJ_HOST, H_UUID, "cpu1", &id), "series cpu1");
	ok(xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, pts, 8) == 1 && pts[0].t == 1699999980 &&
		   pts[0].avg == 0.5f,
	   "the 1 min row on the grid stored, a step before its t");
	ok(count_of(t_log, "off that step's grid") == 1 && strstr(t_log, "its 60 s archive") &&
		   !strstr(t_log, "refused"),
	   "one warning for the 1 min reply: %s", t_log);
	commit_end(&s, &pc);
}

int main(void)
{
	TEST_RUN(test_no_column);
	TEST_RUN(test_odd_legend);
	TEST_RUN(test_foreign_host);
	TEST_RUN(test_off_grid);
	TEST_RUN(test_vm_residency);
	return test_summary();
}
