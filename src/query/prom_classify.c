/*
 * prom_classify.c - what a data source becomes in /metrics (prom_classify.h):
 * the tables of DS name patterns (SPEC's names of every xapi era: VBD, VIF,
 * PIF, per-SR, IntelliCache, C-/P-states, HA statefile) and of units.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "query/prom_classify.h"

#define PROM_UUID_LEN 36

static const struct prom_unit prom_units[] = {
	{ "", "", 1 },
	{ "(fraction)", "_ratio", 1 },
	{ "%", "_ratio", 0.01 },
	{ "B", "_bytes", 1 },
	{ "KiB", "_bytes", 1024 },
	{ "MiB", "_bytes", 1048576 },
	{ "B/s", "_bytes_per_second", 1 },
	{ "KiB/s", "_bytes_per_second", 1024 },
	{ "MiB/s", "_bytes_per_second", 1048576 },
	{ "\xce\xbcs", "_seconds", 1e-6 }, /* μs, U+03BC as units.c writes it */
	{ "\xc2\xb5s", "_seconds", 1e-6 }, /* µs, U+00B5 */
	{ "us", "_seconds", 1e-6 },
	{ "ms", "_seconds", 1e-3 },
	{ "s", "_seconds", 1 },
	{ "s/s", "_seconds_per_second", 1 },
	{ "err/s", "_errors_per_second", 1 },
	{ "requests/s", "_requests_per_second", 1 },
	{ "requests", "_requests", 1 },
	{ "/s", "_per_second", 1 },
	{ "Hz", "_hertz", 1 },
	{ "W", "_watts", 1 },
};

struct prom_map {
	const char *from, *to;
};

/* vbd_<dev><suffix>, longest suffixes first (so _read_latency wins over _read). */
static const struct prom_map prom_vbd[] = {
	{ "_io_throughput_write", "disk_io_throughput_write" },
	{ "_io_throughput_total", "disk_io_throughput" },
	{ "_io_throughput_read", "disk_io_throughput_read" },
	{ "_write_latency", "disk_write_latency" },
	{ "_read_latency", "disk_read_latency" },
	{ "_iops_write", "disk_write" },
	{ "_iops_total", "disk" },
	{ "_iops_read", "disk_read" },
	{ "_avgqu_sz", "disk_average_queue" },
	{ "_inflight", "disk_inflight" },
	{ "_latency", "disk_latency" },
	{ "_iowait", "disk_iowait" },
	{ "_write", "disk_write" },
	{ "_read", "disk_read" },
};

/* <name>_<sr8> of a host: the same measurements per SR. */
static const struct prom_map prom_host_sr[] = {
	{ "io_throughput_write", "sr_io_throughput_write" },
	{ "io_throughput_total", "sr_io_throughput" },
	{ "io_throughput_read", "sr_io_throughput_read" },
	{ "write_latency", "sr_write_latency" },
	{ "read_latency", "sr_read_latency" },
	{ "iops_write", "sr_write" },
	{ "iops_total", "sr" },
	{ "iops_read", "sr_read" },
	{ "avgqu_sz", "sr_average_queue" },
	{ "inflight", "sr_inflight" },
	{ "latency", "sr_latency" },
	{ "iowait", "sr_iowait" },
	{ "write", "sr_write" },
	{ "read", "sr_read" },
};

/* vif_/pif_<dev><suffix>; the unit tells bytes from errors. */
static const struct prom_map prom_net[] = {
	{ "_rx_errors", "network_receive" },
	{ "_tx_errors", "network_transmit" },
	{ "_rx", "network_receive" },
	{ "_tx", "network_transmit" },
};

/* sr_<uuid><suffix> of a host (IntelliCache). */
static const struct prom_map prom_sr_cache[] = {
	{ "_cache_size", "sr_cache_size" },
	{ "_cache_hits", "sr_cache_hits" },
	{ "_cache_misses", "sr_cache_misses" },
};

static const char *const prom_kind_name[XS_NOBJ_KINDS] = { "host", "vm", "sr" };

static bool prom_digits_only(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool prom_hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool prom_ends(const char *s, size_t n, const char *suffix, size_t *sl)
{
	*sl = strlen(suffix);
	return n > *sl && !memcmp(s + n - *sl, suffix, *sl);
}

/* <prefix><dev><suffix> with a table of suffixes: the stem and the device, else false. */
static bool prom_device(const char *ds, size_t n, const char *prefix, const struct prom_map *m,
			size_t nm, struct prom_class *cl)
{
	size_t pl = strlen(prefix), sl;

	if (n <= pl || memcmp(ds, prefix, pl))
		return false;
	for (size_t i = 0; i < nm; i++)
		if (prom_ends(ds + pl, n - pl, m[i].from, &sl)) {
			cl->stem = m[i].to;
			cl->dev_off = (uint16_t)pl;
			cl->dev_len = (uint16_t)(n - pl - sl);
			return true;
		}
	return false;
}

static void prom_classify_vm(const char *ds, size_t n, struct prom_class *cl)
{
	if (n > 3 && !memcmp(ds, "cpu", 3) && prom_digits_only(ds + 3, n - 3)) {
		cl->rule = PROM_VM_VCPU;
		cl->stem = "vcpu_usage";
		cl->dev_off = 3;
		cl->dev_len = (uint16_t)(n - 3);
	} else if (prom_device(ds, n, "vif_", prom_net, sizeof(prom_net) / sizeof(prom_net[0]), cl)) {
		cl->rule = PROM_VM_VIF;
	} else if (prom_device(ds, n, "vbd_", prom_vbd, sizeof(prom_vbd) / sizeof(prom_vbd[0]), cl)) {
		cl->rule = PROM_VM_VBD;
	}
}

/* cpuN, cpuN-CK, cpuN-PK, CPUN-avg-freq. */
static bool prom_classify_host_cpu(const char *ds, size_t n, struct prom_class *cl)
{
	size_t i = 3;

	if (n <= 3 || (memcmp(ds, "cpu", 3) && memcmp(ds, "CPU", 3)))
		return false;
	while (i < n && ds[i] >= '0' && ds[i] <= '9')
		i++;
	if (i == 3)
		return false;
	cl->dev_off = 3;
	cl->dev_len = (uint16_t)(i - 3);
	if (ds[0] == 'c' && i == n) {
		cl->rule = PROM_HOST_CPU;
		cl->stem = "cpu_usage";
	} else if (ds[0] == 'c' && i + 2 <= n && ds[i] == '-' && (ds[i + 1] == 'C' || ds[i + 1] == 'P') &&
		   prom_digits_only(ds + i + 2, n - i - 2)) {
		cl->rule = PROM_HOST_CSTATE;
		cl->stem = ds[i + 1] == 'C' ? "cpu_cstate_residency" : "cpu_pstate_residency";
		cl->aux_off = (uint16_t)(i + 1);
		cl->aux_len = (uint16_t)(n - i - 1);
	} else if (ds[0] == 'C' && n - i == 9 && !memcmp(ds + i, "-avg-freq", 9)) {
		cl->rule = PROM_HOST_CPU;
		cl->stem = "cpu_average_frequency";
	} else {
		return false;
	}
	return true;
}

static void prom_classify_host(const char *ds, size_t n, struct prom_class *cl)
{
	size_t np = sizeof(prom_net) / sizeof(prom_net[0]);

	if (prom_classify_host_cpu(ds, n, cl))
		return;
	if (prom_device(ds, n, "pif_", prom_net, np, cl)) {
		if (cl->dev_len == 4 && !memcmp(ds + 4, "aggr", 4)) { /* pif_aggr_rx: sum of PIFs */
			cl->stem = !strcmp(cl->stem, "network_receive") ? "network_aggregate_receive"
									: "network_aggregate_transmit";
			cl->rule = PROM_GENERIC;
			cl->dev_len = 0;
		} else {
			cl->rule = PROM_HOST_PIF;
		}
		return;
	}
	if (n > PROM_SR8 + 1 && ds[n - PROM_SR8 - 1] == '_' && prom_hex_lower(ds + n - PROM_SR8, PROM_SR8)) {
		size_t rl = n - PROM_SR8 - 1;

		for (size_t i = 0; i < sizeof(prom_host_sr) / sizeof(prom_host_sr[0]); i++)
			if (strlen(prom_host_sr[i].from) == rl && !memcmp(ds, prom_host_sr[i].from, rl)) {
				cl->rule = PROM_HOST_SR;
				cl->stem = prom_host_sr[i].to;
				cl->dev_off = (uint16_t)(n - PROM_SR8);
				cl->dev_len = PROM_SR8;
				return;
			}
	}
	if (prom_device(ds, n, "sr_", prom_sr_cache, sizeof(prom_sr_cache) / sizeof(prom_sr_cache[0]),
			cl) && cl->dev_len == PROM_UUID_LEN)
		cl->rule = PROM_HOST_SR;
	else if (n > 18 && !memcmp(ds, "statefile/", 10) && !memcmp(ds + n - 8, "/latency", 8) &&
		 !memchr(ds + 10, '/', n - 18)) { /* HA's statefile, one per pool (SPEC §2.4) */
		cl->rule = PROM_HOST_STATEFILE;
		cl->stem = "ha_statefile_latency";
		cl->dev_off = 10;
		cl->dev_len = (uint16_t)(n - 18);
	} else if (n == 18 && !memcmp(ds, "pool_session_count", n)) /* the master's, SPEC §3.2 */
		cl->stem = "pool_sessions";
	else if (n == 15 && !memcmp(ds, "pool_task_count", n))
		cl->stem = "pool_tasks";
	else
		cl->stem = NULL;
}

void prom_classify(enum xs_obj_kind kind, const char *ds, size_t n, struct prom_class *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->rule = PROM_GENERIC;
	if (n >= XS_STORE_MAX_DS)
		return;
	if (kind == XS_OBJ_VM)
		prom_classify_vm(ds, n, cl);
	else if (kind == XS_OBJ_HOST)
		prom_classify_host(ds, n, cl);
	if (cl->rule == PROM_GENERIC && cl->stem == NULL)
		cl->dev_len = 0;
}

/* "xapistat_<kind>_<stem or sanitised ds><unit suffix>" into name; its length. */
size_t prom_family_name(char *name, enum xs_obj_kind kind, const struct prom_class *cl,
			const char *ds, size_t n, const struct prom_unit *u)
{
	size_t len = (size_t)snprintf(name, PROM_NAME_MAX, "xapistat_%s_", prom_kind_name[kind]), sl;

	if (cl->stem != NULL) {
		sl = strlen(cl->stem);
		memcpy(name + len, cl->stem, sl);
		len += sl;
	} else {
		size_t k;

		/* memory_total_kib in KiB: the unit suffix says bytes already */
		if (u->factor == 1024 && prom_ends(ds, n, "_kib", &sl))
			n -= sl;
		for (k = 0; k < n; k++) {
			char ch = ds[k];

			name[len++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a')
				      : ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) ? ch
				      : '_';
		}
	}
	len += (size_t)snprintf(name + len, PROM_NAME_MAX - len, "%s", u->suffix);
	/* _count, _sum and _bucket end only histograms' and summaries' series (promtool check
	 * metrics): a gauge that would end so gets _value */
	if ((prom_ends(name, len, "_count", &sl) || prom_ends(name, len, "_sum", &sl) ||
	     prom_ends(name, len, "_bucket", &sl)) && len + 7 < PROM_NAME_MAX) {
		memcpy(name + len, "_value", 7);
		len += 6;
	}
	return len;
}

const struct prom_unit *prom_unit_known(const char *unit)
{
	for (size_t i = 0; i < sizeof(prom_units) / sizeof(prom_units[0]); i++)
		if (!strcmp(prom_units[i].unit, unit))
			return &prom_units[i];
	return NULL;
}
