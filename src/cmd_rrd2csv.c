/*
 * cmd_rrd2csv.c - `xapistat rrd2csv [--long|--wide|--summary] [FILE|-]`.
 *
 * Reads any RRD document a XAPI host serves (kind and era detected by
 * rrd_reader.c) and writes it as CSV:
 *   --long     "time,series,value", one line per cell, times ascending
 *   --wide     one row per time, one column per series
 *   --summary  "series=S cells=C nan=N sum=X" (streams: memory stays constant)
 * A series is the legend entry for /rrd_updates, "CF:seconds-per-row:ds" for
 * dumps. --long and --wide hold the document's values (8 bytes a cell, at most
 * RRD2CSV_MAX_CELLS) because updates arrive newest first and dumps archive by
 * archive, and the output is ordered by time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "lib/num.h"
#include "lib/xmalloc.h"
#include "rrd/rrd_reader.h"

#define RRD2CSV_CHUNK (1u << 20)          /* bytes read at a time */
#define RRD2CSV_MAX_CELLS (1ull << 28)    /* cells --long/--wide may hold (2 GiB) */
#define RRD2CSV_OUT_BUF (1u << 20)        /* stdout buffer */

enum rrd2csv_mode { RRD2CSV_LONG, RRD2CSV_WIDE, RRD2CSV_SUMMARY };

/* Rows of one time grid: an updates document, or one archive of a dump. */
struct rrd2csv_block {
	size_t first;      /* index of its first series */
	size_t ncols;      /* series in it */
	size_t nrows;
	int64_t *times;    /* nrows, ascending once the block is complete */
	double *values;    /* nrows * ncols, row-major, same order as times */
	size_t cap_rows;
	int64_t period;    /* dumps: seconds per row */
	bool reverse;      /* rows arrived newest first */
};

struct rrd2csv {
	enum rrd2csv_mode mode;
	/* --summary */
	uint64_t series, cells, nan;
	double sum;
	size_t dump_nds;
	/* --long / --wide */
	char *names;        /* series names, NUL-separated */
	size_t names_len, names_cap;
	size_t *name_off;   /* offset of each series' name in names */
	size_t nseries, series_cap;
	char **ds_names;    /* dumps: the data-source names */
	struct rrd2csv_block *blocks;
	size_t nblocks;
	uint64_t held;      /* cells held */
	bool too_large;
	const char *path;   /* the input's name, for warnings */
};

static void rrd2csv_add_name(struct rrd2csv *c, const char *s, size_t n)
{
	if (c->nseries == c->series_cap) {
		c->series_cap = c->series_cap ? c->series_cap * 2 : 64;
		c->name_off = xs_xrealloc(c->name_off, c->series_cap * sizeof(*c->name_off));
	}
	if (c->names_len + n + 1 > c->names_cap) {
		c->names_cap = (c->names_cap + n + 1) * 2;
		c->names = xs_xrealloc(c->names, c->names_cap);
	}
	c->name_off[c->nseries++] = c->names_len;
	memcpy(c->names + c->names_len, s, n);
	c->names_len += n;
	c->names[c->names_len++] = '\0';
}

static struct rrd2csv_block *rrd2csv_new_block(struct rrd2csv *c, size_t first, size_t ncols)
{
	struct rrd2csv_block *b;

	c->blocks = xs_xrealloc(c->blocks, (c->nblocks + 1) * sizeof(*c->blocks));
	b = &c->blocks[c->nblocks++];
	memset(b, 0, sizeof(*b));
	b->first = first;
	b->ncols = ncols;
	return b;
}

static int rrd2csv_add_row(struct rrd2csv *c, struct rrd2csv_block *b, int64_t t,
			   const double *v, size_t n)
{
	if (c->held + n > RRD2CSV_MAX_CELLS) {
		c->too_large = true;
		return 1;
	}
	if (b->nrows == b->cap_rows) {
		b->cap_rows = b->cap_rows ? b->cap_rows * 2 : 128;
		b->times = xs_xrealloc(b->times, b->cap_rows * sizeof(*b->times));
		b->values = xs_xrealloc(b->values, b->cap_rows * (n ? n : 1) * sizeof(*b->values));
	}
	b->times[b->nrows] = t;
	memcpy(b->values + b->nrows * n, v, n * sizeof(*v));
	b->nrows++;
	c->held += n;
	return 0;
}

/* Counts a row for --summary; the sum is kept in document order (so it is the
 * same as any sequential reader's) but in a register, not through memory. */
static void rrd2csv_count(struct rrd2csv *c, const double *v, size_t n)
{
	double sum = c->sum;
	uint64_t nan = c->nan;

	for (size_t i = 0; i < n; i++) {
		nan += isnan(v[i]) != 0;
		sum += isfinite(v[i]) ? v[i] : 0.0;
	}
	c->sum = sum;
	c->nan = nan;
	c->cells += n;
}

/* --- sink callbacks --- */

static int on_column(void *ctx, size_t index, const struct xs_rrd_legend *e)
{
	struct rrd2csv *c = ctx;

	(void)index;
	c->series++;
	if (c->mode != RRD2CSV_SUMMARY)
		rrd2csv_add_name(c, e->entry.ptr, e->entry.len);
	return 0;
}

static int on_meta(void *ctx, const struct xs_rrd_updates_meta *m)
{
	struct rrd2csv *c = ctx;

	if (c->mode != RRD2CSV_SUMMARY)
		rrd2csv_new_block(c, 0, m->legend_len)->reverse = true;
	return 0;
}

static int on_row(void *ctx, int64_t t, const double *v, size_t n)
{
	struct rrd2csv *c = ctx;

	if (c->mode == RRD2CSV_SUMMARY) {
		rrd2csv_count(c, v, n);
		return 0;
	}
	return rrd2csv_add_row(c, &c->blocks[0], t, v, n);
}

/* A dump's lastupdate of the %0.5g era: the values are right, the rows' times are not. */
static int on_dump_header(void *ctx, const struct xs_rrd_dump_header *h)
{
	struct rrd2csv *c = ctx;

	if (h->lastupdate_doubt && c->mode != RRD2CSV_SUMMARY)
		fprintf(stderr,
			"xapistat rrd2csv: %s: warning: lastupdate is given to 1e%d seconds only "
			"(a JSON dump of xapi-rrd's %%0.5g era): the rows' times may be off by as "
			"much; the XML dump's lastupdate is exact\n",
			c->path, h->lastupdate_doubt);
	return 0;
}

static int on_ds(void *ctx, size_t index, const struct xs_rrd_dump_ds *ds)
{
	struct rrd2csv *c = ctx;

	c->dump_nds = index + 1;
	if (c->mode != RRD2CSV_SUMMARY) {
		c->ds_names = xs_xrealloc(c->ds_names, (index + 1) * sizeof(*c->ds_names));
		c->ds_names[index] = xs_xstrndup(ds->name.ptr, ds->name.len);
	}
	return 0;
}

static int on_rra_begin(void *ctx, size_t index, const struct xs_rrd_dump_rra *rra)
{
	struct rrd2csv *c = ctx;
	char name[XS_RRD_MAX_NAME + XS_RRD_MAX_SHORT + 32];
	size_t first = c->nseries;

	(void)index;
	c->series += c->dump_nds;
	if (c->mode == RRD2CSV_SUMMARY)
		return 0;
	for (size_t i = 0; i < c->dump_nds; i++) {
		int n = snprintf(name, sizeof(name), "%.*s:%" PRId64 ":%s", (int)rra->cf.len,
				 rra->cf.ptr, rra->period, c->ds_names[i]);
		rrd2csv_add_name(c, name, (size_t)n < sizeof(name) ? (size_t)n : sizeof(name) - 1);
	}
	rrd2csv_new_block(c, first, c->dump_nds)->period = rra->period;
	return 0;
}

static int on_dump_row(void *ctx, size_t rra, size_t row, const double *v, size_t n)
{
	struct rrd2csv *c = ctx;

	(void)rra;
	if (c->mode == RRD2CSV_SUMMARY) {
		rrd2csv_count(c, v, n);
		return 0;
	}
	return rrd2csv_add_row(c, &c->blocks[c->nblocks - 1], (int64_t)row, v, n);
}

static int on_rra_end(void *ctx, size_t index, const struct xs_rrd_dump_rra *rra)
{
	struct rrd2csv *c = ctx;
	struct rrd2csv_block *b;

	(void)index;
	if (c->mode == RRD2CSV_SUMMARY)
		return 0;
	b = &c->blocks[c->nblocks - 1];
	for (size_t r = 0; r < b->nrows; r++)
		b->times[r] = xs_rrd_dump_row_time(rra, (uint64_t)b->times[r]);
	return 0;
}

static const struct xs_rrd_sink rrd2csv_sink = {
	.updates_column = on_column,
	.updates_meta = on_meta,
	.updates_row = on_row,
	.dump_header = on_dump_header,
	.dump_ds = on_ds,
	.dump_rra_begin = on_rra_begin,
	.dump_row = on_dump_row,
	.dump_rra_end = on_rra_end,
};

/* --- output --- */

static void rrd2csv_put_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void rrd2csv_put_value(double v)
{
	char b[XS_NUM_FMT_LEN];

	fwrite(b, 1, xs_num_format(b, sizeof(b), v), stdout);
}

/* Row r of block b in ascending time order. */
static size_t rrd2csv_row(const struct rrd2csv_block *b, size_t r)
{
	return b->reverse ? b->nrows - 1 - r : r;
}

/* Finds the smallest next time over all blocks; false when all are done. */
static bool rrd2csv_next_time(const struct rrd2csv *c, const size_t *pos, int64_t *t)
{
	bool any = false;

	for (size_t k = 0; k < c->nblocks; k++) {
		const struct rrd2csv_block *b = &c->blocks[k];

		if (pos[k] < b->nrows) {
			int64_t bt = b->times[rrd2csv_row(b, pos[k])];
			if (!any || bt < *t)
				*t = bt;
			any = true;
		}
	}
	return any;
}

static void rrd2csv_write(const struct rrd2csv *c)
{
	size_t *pos = xs_xcalloc(c->nblocks + 1, sizeof(*pos));
	double *wide = NULL;
	bool *present = NULL;
	int64_t t = 0;

	if (c->mode == RRD2CSV_LONG) {
		fputs("time,series,value\n", stdout);
	} else {
		fputs("time", stdout);
		for (size_t s = 0; s < c->nseries; s++) {
			putchar(',');
			rrd2csv_put_field(c->names + c->name_off[s]);
		}
		putchar('\n');
		wide = xs_xcalloc(c->nseries + 1, sizeof(*wide));
		present = xs_xcalloc(c->nseries + 1, sizeof(*present));
	}
	while (rrd2csv_next_time(c, pos, &t)) {
		if (present)
			memset(present, 0, c->nseries * sizeof(*present));
		for (size_t k = 0; k < c->nblocks; k++) {
			const struct rrd2csv_block *b = &c->blocks[k];
			size_t r;

			if (pos[k] >= b->nrows || b->times[rrd2csv_row(b, pos[k])] != t)
				continue;
			r = rrd2csv_row(b, pos[k]++);
			for (size_t i = 0; i < b->ncols; i++) {
				double v = b->values[r * b->ncols + i];

				if (c->mode == RRD2CSV_LONG) {
					printf("%" PRId64 ",", t);
					rrd2csv_put_field(c->names + c->name_off[b->first + i]);
					putchar(',');
					rrd2csv_put_value(v);
					putchar('\n');
				} else {
					wide[b->first + i] = v;
					present[b->first + i] = true;
				}
			}
		}
		if (c->mode == RRD2CSV_WIDE) {
			printf("%" PRId64, t);
			for (size_t s = 0; s < c->nseries; s++) {
				putchar(',');
				if (present[s])
					rrd2csv_put_value(wide[s]);
			}
			putchar('\n');
		}
	}
	free(wide);
	free(present);
	free(pos);
}

static void rrd2csv_cleanup(struct rrd2csv *c)
{
	for (size_t k = 0; k < c->nblocks; k++) {
		free(c->blocks[k].times);
		free(c->blocks[k].values);
	}
	free(c->blocks);
	for (size_t i = 0; i < c->dump_nds && c->ds_names; i++)
		free(c->ds_names[i]);
	free(c->ds_names);
	free(c->names);
	free(c->name_off);
}

/* --- command line --- */

static void rrd2csv_usage(FILE *f)
{
	fprintf(f, "usage: xapistat rrd2csv [--long|--wide|--summary] [FILE|-]\n"
		   "Reads an RRD document of a XAPI host (/rrd_updates, /host_rrd, /vm_rrd,\n"
		   "/sr_rrd; XML or JSON, any xapi version) and writes CSV to stdout.\n"
		   "  --long     time,series,value; one line per cell, times ascending (default)\n"
		   "  --wide     one row per time, one column per series\n"
		   "  --summary  one line: series=S cells=C nan=N sum=X\n"
		   "FILE defaults to - (standard input).\n");
}

/*
 * A regular file is mapped and given to the reader in one piece: the reader
 * parses in place, so the file is never copied (its pages count in RSS, which
 * the file size bounds). Returns false when the file cannot be mapped (a pipe,
 * an empty file, ...): the caller reads it instead.
 */
static bool rrd2csv_push_mapped(int fd, struct xs_rrd_reader *r, enum xs_err *rc)
{
	struct stat st;
	void *map;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return false;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED)
		return false;
	*rc = xs_rrd_reader_push(r, map, (size_t)st.st_size);
	munmap(map, (size_t)st.st_size);
	return true;
}

/* Reads fd chunk by chunk into the reader (pipes, stdin). Returns 0, or errno of a failed read. */
static int rrd2csv_push_read(int fd, struct xs_rrd_reader *r, enum xs_err *rc)
{
	char *buf = xs_xmalloc(RRD2CSV_CHUNK);
	int error = 0;

	while (*rc == XS_OK) {
		ssize_t n = read(fd, buf, RRD2CSV_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = errno;
			break;
		}
		if (n == 0)
			break;
		*rc = xs_rrd_reader_push(r, buf, (size_t)n);
	}
	free(buf);
	return error;
}

/* Reads fd to the end into the reader; returns 0 or prints the error and returns 1.
 * A named FILE is mapped when it can be; standard input always streams, so its
 * memory stays constant whatever it is redirected from. */
static int rrd2csv_read(int fd, const char *path, bool may_map, struct rrd2csv *c)
{
	struct xs_rrd_reader *r = xs_rrd_reader_new(&rrd2csv_sink, c);
	enum xs_err rc = XS_OK;
	int status = 0;

	c->path = path;
	if (!may_map || !rrd2csv_push_mapped(fd, r, &rc)) {
		int error = rrd2csv_push_read(fd, r, &rc);

		if (error) {
			fprintf(stderr, "xapistat rrd2csv: %s: %s\n", path, strerror(error));
			xs_rrd_reader_free(&r);
			return 1;
		}
	}
	if (!rc)
		rc = xs_rrd_reader_finish(r);
	if (rc) {
		if (c->too_large)
			fprintf(stderr, "xapistat rrd2csv: %s: more than %llu values to hold; "
					"--summary reads any size\n",
				path, RRD2CSV_MAX_CELLS);
		else
			fprintf(stderr, "xapistat rrd2csv: %s: %s\n", path, xs_rrd_reader_error(r));
		status = 1;
	}
	xs_rrd_reader_free(&r);
	return status;
}

static int rrd2csv_run(int argc, char **argv)
{
	static char outbuf[RRD2CSV_OUT_BUF];
	struct rrd2csv c = { .mode = RRD2CSV_LONG };
	const char *path = "-";
	bool have_path = false;
	int fd = 0, status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--long")) {
			c.mode = RRD2CSV_LONG;
		} else if (!strcmp(argv[i], "--wide")) {
			c.mode = RRD2CSV_WIDE;
		} else if (!strcmp(argv[i], "--summary")) {
			c.mode = RRD2CSV_SUMMARY;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			rrd2csv_usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "xapistat rrd2csv: unknown option '%s'\n", argv[i]);
			rrd2csv_usage(stderr);
			return 2;
		} else if (have_path) {
			fprintf(stderr, "xapistat rrd2csv: only one FILE, got '%s' and '%s'\n", path,
				argv[i]);
			return 2;
		} else {
			path = argv[i];
			have_path = true;
		}
	}
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "xapistat rrd2csv: %s: %s\n", path, strerror(errno));
			return 1;
		}
	} else {
		path = "(stdin)";
	}
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	status = rrd2csv_read(fd, path, fd != 0, &c);
	if (fd != 0)
		close(fd);
	if (status == 0) {
		if (c.mode == RRD2CSV_SUMMARY)
			printf("series=%" PRIu64 " cells=%" PRIu64 " nan=%" PRIu64 " sum=%.9e\n",
			       c.series, c.cells, c.nan, c.sum);
		else
			rrd2csv_write(&c);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "xapistat rrd2csv: writing output: %s\n", strerror(errno));
			status = 1;
		}
	}
	rrd2csv_cleanup(&c);
	return status;
}

const struct xs_cmd xs_cmd_rrd2csv = {
	.name = "rrd2csv",
	.summary = "convert an RRD document (/rrd_updates, /host_rrd, ...) to CSV",
	.run = rrd2csv_run,
};
