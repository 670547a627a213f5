/*
 * units.c - data-source units by pattern (see units.h).
 *
 * One table of (kinds, prefix, suffix, unit), tried in order: the first
 * entry whose prefix and suffix both match wins, so longer, more specific
 * patterns come before the general ones (vbd_*_read_latency before
 * vbd_*_read). A prefix and suffix never overlap in a match.
 */
#include <stdbool.h>
#include <string.h>

#include "collect/units.h"

#define UNITS_HOST (1u << XS_OBJ_HOST)
#define UNITS_VM (1u << XS_OBJ_VM)
#define UNITS_SR (1u << XS_OBJ_SR)


struct units_rule {
	unsigned kinds;
	const char *prefix, *suffix, *unit;
};

static const struct units_rule units_rules[] = {
	/* VM (SPEC §3.1) */
	{ UNITS_VM, "cpu_usage", "", "(fraction)" },
	{ UNITS_VM, "runstate_", "", "(fraction)" },
	{ UNITS_VM, "runnable_", "", "(fraction)" },
	{ UNITS_VM, "numa_node_nonaffine_vcpus", "", "(fraction)" },
	{ UNITS_VM, "memory_internal_free", "", "KiB" },
	{ UNITS_VM, "memory_numa_node_", "", "B" },
	{ UNITS_VM, "numa_nodes", "", "" },
	{ UNITS_VM, "memory", "", "B" }, /* memory, memory_target */
	{ UNITS_VM, "vif_", "_errors", "err/s" },
	{ UNITS_VM, "vif_", "_rx", "B/s" },
	{ UNITS_VM, "vif_", "_tx", "B/s" },
	{ UNITS_VM, "vbd_", "_latency", "μs" }, /* _read_latency, _write_latency, _latency */
	{ UNITS_VM, "vbd_", "_io_throughput_read", "MiB/s" },
	{ UNITS_VM, "vbd_", "_io_throughput_write", "MiB/s" },
	{ UNITS_VM, "vbd_", "_io_throughput_total", "MiB/s" },
	{ UNITS_VM, "vbd_", "_iops_read", "requests/s" },
	{ UNITS_VM, "vbd_", "_iops_write", "requests/s" },
	{ UNITS_VM, "vbd_", "_iops_total", "requests/s" },
	{ UNITS_VM, "vbd_", "_iowait", "s/s" },
	{ UNITS_VM, "vbd_", "_inflight", "requests" },
	{ UNITS_VM, "vbd_", "_avgqu_sz", "requests" },
	{ UNITS_VM, "vbd_", "_read", "B/s" },
	{ UNITS_VM, "vbd_", "_write", "B/s" },
	/* host (SPEC §3.2) */
	{ UNITS_HOST, "cpu_avg", "", "(fraction)" },
	{ UNITS_HOST, "CPU", "-avg-freq", "Hz" },
	{ UNITS_HOST, "loadavg", "", "" },
	{ UNITS_HOST, "hostload", "", "" },
	{ UNITS_HOST, "running_", "", "" },
	{ UNITS_HOST, "memory_total_kib", "", "KiB" },
	{ UNITS_HOST, "memory_free_kib", "", "KiB" },
	{ UNITS_HOST, "memory_reclaimed", "", "B" },
	{ UNITS_HOST, "pif_", "_errors", "err/s" },
	{ UNITS_HOST, "pif_", "_rx", "B/s" },
	{ UNITS_HOST, "pif_", "_tx", "B/s" },
	{ UNITS_HOST, "xapi_allocation_kib", "", "KiB/s" },
	{ UNITS_HOST, "xapi_", "_kib", "KiB" },
	{ UNITS_HOST, "xapi_open_fds", "", "" },
	{ UNITS_HOST, "pool_session_count", "", "" },
	{ UNITS_HOST, "pool_task_count", "", "" },
	{ UNITS_HOST, "pool_", "_rate", "/s" },
	{ UNITS_HOST, "read_latency_", "", "μs" },
	{ UNITS_HOST, "write_latency_", "", "μs" },
	{ UNITS_HOST, "latency_", "", "μs" },
	{ UNITS_HOST, "io_throughput_", "", "MiB/s" },
	{ UNITS_HOST, "iops_", "", "requests/s" },
	{ UNITS_HOST, "iowait_", "", "s/s" },
	{ UNITS_HOST, "inflight_", "", "requests" },
	{ UNITS_HOST, "avgqu_sz_", "", "requests" },
	{ UNITS_HOST, "read_", "", "B/s" },
	{ UNITS_HOST, "write_", "", "B/s" },
	{ UNITS_HOST, "sr_", "_cache_size", "B" },
	{ UNITS_HOST, "sr_", "_cache_hits", "/s" },
	{ UNITS_HOST, "sr_", "_cache_misses", "/s" },
	{ UNITS_HOST, "Tapdisks_in_low_memory_mode", "", "" },
	{ UNITS_HOST, "DCMI-power-reading", "", "W" },
	/* HA, when enabled (xcp-rrdd rrdd_ha_stats.ml: ~units:"s") */
	{ UNITS_HOST, "statefile/", "/latency", "s" },
	{ UNITS_HOST, "network/latency", "", "s" },
	{ UNITS_HOST, "xapi_healthcheck/latency", "", "s" },
	/* SR RRDs (sr:<uuid>:...) */
	{ UNITS_SR, "size", "", "B" },
	{ UNITS_SR, "physical_utilisation", "", "B" },
	{ UNITS_SR, "virtual_allocation", "", "B" },
	/* both: cpuN (vCPU or pCPU) */
	{ UNITS_HOST | UNITS_VM, "cpu", "", "(fraction)" },
};

static bool units_match(const struct units_rule *r, const char *ds, size_t len)
{
	size_t pl = strlen(r->prefix), sl = strlen(r->suffix);

	if (pl + sl > len || memcmp(ds, r->prefix, pl))
		return false;
	return !sl || !memcmp(ds + len - sl, r->suffix, sl);
}

/* cpuN-CK and cpuN-PK (C- and P-state residency) are fractions; "-C" as a suffix would
 * only catch K empty, so the digits are skipped here. */
static bool units_cstate(const char *ds, size_t len)
{
	size_t i = 3;

	if (len < 6 || memcmp(ds, "cpu", 3))
		return false;
	while (i < len && ds[i] >= '0' && ds[i] <= '9')
		i++;
	return i > 3 && i + 2 < len + 1 && ds[i] == '-' && (ds[i + 1] == 'C' || ds[i + 1] == 'P');
}

const char *xs_collect_unit(enum xs_obj_kind kind, const char *ds, size_t len)
{
	unsigned bit = 1u << kind;

	if (kind == XS_OBJ_HOST && units_cstate(ds, len))
		return "(fraction)";
	for (size_t i = 0; i < sizeof(units_rules) / sizeof(units_rules[0]); i++)
		if ((units_rules[i].kinds & bit) && units_match(&units_rules[i], ds, len))
			return units_rules[i].unit;
	return "";
}
