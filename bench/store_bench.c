/*
 * store_bench.c - figures of the store (issue 5 targets): ingest samples/s on
 * one core, bytes on disk per 5 s sample with xapi-sim values (all tiers), the
 * time to read one series' day at 5 s, and the time to open 1M series.
 *
 * usage: store_bench DIR [VMS] [HOURS]   (DIR must not exist; removed at the end)
 * Values come from sim/workload.c (compiled in), with the data sources of a
 * VM as sim/rrd_model.c declares them: 2 vCPUs, memory, 1 VIF, 1 VBD.
 * Prints "key value" lines for bench/store_bench.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "workload.h"

#define BENCH_T0 1700006400 /* a UTC midnight */

struct bench_ds {
	const char *name;
	enum sim_metric m;
	double scale, max;
};

static const struct bench_ds bench_vm[] = {
	{ "cpu0", SIM_M_CPU, 1, 1 }, { "cpu1", SIM_M_CPU, 1, 1 }, { "cpu_usage", SIM_M_CPU, 1, 1 },
	{ "memory", SIM_M_MEM_BYTES, 4e9, 1e30 }, { "memory_target", SIM_M_MEM_BYTES, 4e9, 1e30 },
	{ "memory_internal_free", SIM_M_MEM_FREE_KIB, 3.2e6, 1e30 },
	{ "vif_0_rx", SIM_M_NET, 12.5e6, 1e30 }, { "vif_0_tx", SIM_M_NET, 12.5e6, 1e30 },
	{ "vbd_xvda_read", SIM_M_DISK, 200e6, 1e30 }, { "vbd_xvda_write", SIM_M_DISK, 200e6, 1e30 },
	{ "vbd_xvda_read_latency", SIM_M_LATENCY, 4000, 1e30 },
	{ "vbd_xvda_write_latency", SIM_M_LATENCY, 4000, 1e30 },
	{ "vbd_xvda_iops_read", SIM_M_IOPS, 4000, 1e30 }, { "vbd_xvda_iops_write", SIM_M_IOPS, 4000, 1e30 },
	{ "vbd_xvda_iops_total", SIM_M_IOPS, 8000, 1e30 },
	{ "vbd_xvda_io_throughput_read", SIM_M_THROUGHPUT, 200, 1e30 },
	{ "vbd_xvda_io_throughput_write", SIM_M_THROUGHPUT, 200, 1e30 },
	{ "vbd_xvda_io_throughput_total", SIM_M_THROUGHPUT, 400, 1e30 },
	{ "vbd_xvda_iowait", SIM_M_IOWAIT, 2, 1e30 }, { "vbd_xvda_inflight", SIM_M_QUEUE, 64, 1e30 },
	{ "vbd_xvda_latency", SIM_M_LATENCY, 4000, 1e30 }, { "vbd_xvda_avgqu_sz", SIM_M_QUEUE, 64, 1e30 },
};
#define BENCH_NDS (sizeof(bench_vm) / sizeof(bench_vm[0]))

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_die(const char *what, const char *err)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, err);
	exit(1);
}

/* Bytes of the files of dir whose name starts with prefix ("" for all). */
static unsigned long long bench_bytes(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned long long sum = 0;
	char path[512];
	struct stat sb;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!stat(path, &sb))
			sum += (unsigned long long)sb.st_size;
	}
	if (d)
		closedir(d);
	return sum;
}

int main(int argc, char **argv)
{
	struct xs_store_options o = { 0 };
	struct xs_store *s;
	char err[XS_ERR_LEN], uuid[64], cmd[600];
	int vms = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 100;
	int hours = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 24;
	size_t nser, rows, total = 0;
	struct sim_series *ss;
	xs_series_id *ids;
	float *row;
	double t_app = 0, t0, best = 1e9, sum_read = 0;
	struct xs_point *pts;
	int nread = 0;

	if (argc < 2 || vms <= 0 || hours <= 0) {
		fprintf(stderr, "usage: store_bench DIR [VMS] [HOURS]\n");
		return 2;
	}
	o.dir = argv[1];
	nser = (size_t)vms * BENCH_NDS;
	rows = (size_t)hours * 720;
	ss = calloc(nser, sizeof(*ss));
	ids = calloc(nser, sizeof(*ids));
	row = calloc(nser, sizeof(*row));
	pts = calloc(17280 * 2, sizeof(*pts));
	if (xs_store_open(&o, &s, err))
		bench_die("open", err);
	for (size_t i = 0; i < nser; i++) {
		const struct bench_ds *d = &bench_vm[i % BENCH_NDS];

		snprintf(uuid, sizeof(uuid), "%08zx-0000-4000-8000-%012zx", i / BENCH_NDS, i / BENCH_NDS);
		ss[i] = (struct sim_series){ d->m, sim_hash_str(sim_hash_str(7, uuid), d->name), d->scale,
					     d->max };
		if (xs_store_series(s, XS_OBJ_VM, uuid, d->name, "x", &ids[i], err))
			bench_die("series", err);
	}
	for (size_t r = 0; r < rows; r++) {
		int64_t t = BENCH_T0 + 5 * (int64_t)r;

		for (size_t i = 0; i < nser; i++)
			row[i] = (float)sim_workload_value(&ss[i], t);
		t0 = bench_now();
		for (size_t i = 0; i < nser; i++)
			xs_store_append(s, ids[i], t, row[i], err);
		if (r % 12 == 11 && xs_store_sync(s, err)) /* once a minute of host time */
			bench_die("sync", err);
		t_app += bench_now() - t0;
		total += nser;
	}
	t0 = bench_now();
	if (xs_store_close(&s, err))
		bench_die("close", err);
	printf("series %zu\nsamples %zu\n", nser, total);
	printf("ingest_s %.3f\ningest_per_s %.0f\nclose_s %.3f\n", t_app, (double)total / t_app,
	       bench_now() - t0);
	printf("bytes_total %llu\nbytes_5s %llu\nbytes_1m %llu\nbytes_1h %llu\nbytes_1d %llu\n"
	       "bytes_wal %llu\nbytes_series %llu\n",
	       bench_bytes(o.dir, ""), bench_bytes(o.dir, "5s-"), bench_bytes(o.dir, "1m-"),
	       bench_bytes(o.dir, "1h-"), bench_bytes(o.dir, "1d-"), bench_bytes(o.dir, "wal"),
	       bench_bytes(o.dir, "series"));
	printf("bytes_per_sample %.3f\n", (double)bench_bytes(o.dir, "") / (double)total);

	t0 = bench_now();
	if (xs_store_open(&o, &s, err))
		bench_die("reopen", err);
	printf("reopen_s %.3f\n", bench_now() - t0);
	for (size_t i = 0; i < nser; i += nser / 50 + 1) { /* a cold read per series, 50 series */
		double a = bench_now(), b;
		size_t n = xs_store_read(s, ids[i], XS_TIER_5S, BENCH_T0, BENCH_T0 + 86399, pts, 17280 * 2);

		b = bench_now() - a;
		if (n != (rows < 17280 ? rows : 17280))
			bench_die("read", "wrong number of points");
		sum_read += b;
		best = b < best ? b : best;
		nread++;
	}
	printf("read_day_points %zu\nread_day_ms_mean %.3f\nread_day_ms_best %.3f\n",
	       rows < 17280 ? rows : (size_t)17280, 1e3 * sum_read / nread, 1e3 * best);
	if (xs_store_close(&s, err))
		bench_die("close", err);

	/* 1M series: build the catalog, then time the open */
	snprintf(cmd, sizeof(cmd), "%s-1m", o.dir);
	o.dir = cmd;
	if (xs_store_open(&o, &s, err))
		bench_die("open 1M", err);
	for (int i = 0; i < 1000000; i++) {
		xs_series_id id;

		snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", i / 25, i / 25);
		if (xs_store_series(s, XS_OBJ_VM, uuid, bench_vm[i % 25 % BENCH_NDS].name, "B/s", &id,
				    err))
			bench_die("series 1M", err);
	}
	if (xs_store_close(&s, err))
		bench_die("close 1M", err);
	t0 = bench_now();
	if (xs_store_open(&o, &s, err))
		bench_die("reopen 1M", err);
	printf("open_1m_series_s %.3f\n", bench_now() - t0);
	printf("catalog_1m_bytes %llu\n", bench_bytes(o.dir, "series"));
	xs_store_close(&s, err);
	free(ss);
	free(ids);
	free(row);
	free(pts);
	return 0;
}
