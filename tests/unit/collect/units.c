/*
 * Tests of src/collect/units.c: every data source of SPEC §3 (VM and host
 * tables) gets the unit xcp-rrdd registers it with, patterns do not swallow
 * one another (vbd_*_read_latency is not vbd_*_read), and the units of the
 * real xcp-rrdd plugin pages of ../shared/xapi/samples (read at run time)
 * agree with the table.
 */
#include <string.h>

#include "collect/units.h"
#include "support/shared_file.h"
#include "test.h"

struct unit_case {
	enum xs_obj_kind kind;
	const char *ds;
	const char *unit;
};

#define V XS_OBJ_VM
#define H XS_OBJ_HOST

static const struct unit_case cases[] = {
	/* SPEC §3.1, VM */
	{ V, "cpu0", "(fraction)" },
	{ V, "cpu15", "(fraction)" },
	{ V, "cpu_usage", "(fraction)" },
	{ V, "runstate_fullrun", "(fraction)" },
	{ V, "runstate_partial_contention", "(fraction)" },
	{ V, "runnable_any", "(fraction)" },
	{ V, "runnable_vcpus", "(fraction)" },
	{ V, "numa_node_nonaffine_vcpus", "(fraction)" },
	{ V, "memory", "B" },
	{ V, "memory_target", "B" },
	{ V, "memory_internal_free", "KiB" },
	{ V, "memory_numa_node_0", "B" },
	{ V, "numa_nodes", "" },
	{ V, "vif_0_rx", "B/s" },
	{ V, "vif_12_tx", "B/s" },
	{ V, "vif_0_rx_errors", "err/s" },
	{ V, "vif_0_tx_errors", "err/s" },
	{ V, "vbd_xvda_read", "B/s" },
	{ V, "vbd_xvda_write", "B/s" },
	{ V, "vbd_xvda_read_latency", "\xce\xbcs" },
	{ V, "vbd_xvda_write_latency", "\xce\xbcs" },
	{ V, "vbd_xvda_latency", "\xce\xbcs" },
	{ V, "vbd_xvda_io_throughput_read", "MiB/s" },
	{ V, "vbd_xvda_io_throughput_write", "MiB/s" },
	{ V, "vbd_xvda_io_throughput_total", "MiB/s" },
	{ V, "vbd_xvda_iops_read", "requests/s" },
	{ V, "vbd_xvda_iops_write", "requests/s" },
	{ V, "vbd_xvda_iops_total", "requests/s" },
	{ V, "vbd_xvda_iowait", "s/s" },
	{ V, "vbd_xvda_inflight", "requests" },
	{ V, "vbd_xvda_avgqu_sz", "requests" },
	/* SPEC §3.2, host */
	{ H, "cpu0", "(fraction)" },
	{ H, "cpu_avg", "(fraction)" },
	{ H, "loadavg", "" },
	{ H, "hostload", "" },
	{ H, "running_vcpus", "" },
	{ H, "running_domains", "" },
	{ H, "memory_total_kib", "KiB" },
	{ H, "memory_free_kib", "KiB" },
	{ H, "memory_reclaimed", "B" },     /* bytes, not KiB (SPEC §6.3) */
	{ H, "memory_reclaimed_max", "B" },
	{ H, "pif_eth0_rx", "B/s" },
	{ H, "pif_bond0_tx", "B/s" },
	{ H, "pif_eth0_rx_errors", "err/s" },
	{ H, "pif_eth0_tx_errors", "err/s" },
	{ H, "pif_aggr_rx", "B/s" },
	{ H, "pif_aggr_tx", "B/s" },
	{ H, "xapi_memory_usage_kib", "KiB" },
	{ H, "xapi_free_memory_kib", "KiB" },
	{ H, "xapi_live_memory_kib", "KiB" },
	{ H, "xapi_allocation_kib", "KiB/s" },
	{ H, "xapi_open_fds", "" },
	{ H, "pool_session_count", "" },
	{ H, "pool_task_count", "" },
	{ H, "pool_session_creation_rate", "/s" },
	{ H, "pool_vgpu_migration_rate", "/s" },
	{ H, "read_3f2a7c1d", "B/s" },
	{ H, "write_3f2a7c1d", "B/s" },
	{ H, "read_latency_3f2a7c1d", "\xce\xbcs" },
	{ H, "write_latency_3f2a7c1d", "\xce\xbcs" },
	{ H, "latency_3f2a7c1d", "\xce\xbcs" },
	{ H, "io_throughput_read_3f2a7c1d", "MiB/s" },
	{ H, "io_throughput_write_3f2a7c1d", "MiB/s" },
	{ H, "io_throughput_total_3f2a7c1d", "MiB/s" },
	{ H, "iops_read_3f2a7c1d", "requests/s" },
	{ H, "iops_write_3f2a7c1d", "requests/s" },
	{ H, "iops_total_3f2a7c1d", "requests/s" },
	{ H, "iowait_3f2a7c1d", "s/s" },
	{ H, "inflight_3f2a7c1d", "requests" },
	{ H, "avgqu_sz_3f2a7c1d", "requests" },
	{ H, "sr_3f2a7c1d-0b5e-4c1a-9d2e-1a2b3c4d5e6f_cache_size", "B" },
	{ H, "sr_3f2a7c1d-0b5e-4c1a-9d2e-1a2b3c4d5e6f_cache_hits", "/s" },
	{ H, "sr_3f2a7c1d-0b5e-4c1a-9d2e-1a2b3c4d5e6f_cache_misses", "/s" },
	{ H, "Tapdisks_in_low_memory_mode", "" },
	{ H, "cpu0-C0", "(fraction)" },
	{ H, "cpu11-C3", "(fraction)" },
	{ H, "cpu3-P2", "(fraction)" },
	{ H, "CPU0-avg-freq", "Hz" },
	{ H, "DCMI-power-reading", "W" },
	/* names nobody lists get no unit, never a guess */
	{ H, "something_new", "" },
	{ V, "memory_total_kib", "B" },     /* a VM has no such DS: the VM "memory*" rule */
	{ V, "pif_eth0_rx", "" },           /* host-only patterns do not apply to VMs */
	{ H, "vbd_xvda_read", "" },
};

static void test_spec_tables(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct unit_case *c = &cases[i];
		const char *got = xs_collect_unit(c->kind, c->ds, strlen(c->ds));

		ok(!strcmp(got, c->unit), "%s %s: '%s', want '%s'",
		   c->kind == XS_OBJ_VM ? "vm" : "host", c->ds, got, c->unit);
	}
}

/* The name is not NUL-terminated where units.c looks: only len bytes count. */
static void test_length_bounded(void)
{
	const char *s = "vbd_xvda_read_latency";

	ok(!strcmp(xs_collect_unit(XS_OBJ_VM, s, strlen("vbd_xvda_read")), "B/s"),
	   "vbd_xvda_read cut from a longer buffer");
	ok(!strcmp(xs_collect_unit(XS_OBJ_VM, "memory_internal_free", 6), "B"),
	   "memory cut from memory_internal_free");
}

/*
 * The JSON metadata of a real plugin page ("name":{..."units":"U"...}): each
 * data source's unit as xcp-rrdd registered it must be ours, except the
 * counts xapi names in words ("sessions", "tasks"), which are unitless here.
 * Returns how many data sources were compared.
 */
static unsigned check_page(const char *file)
{
	char rel[256];
	size_t len, at;
	char *page;
	unsigned n = 0;
	const char *p;

	snprintf(rel, sizeof(rel), "xapi/samples/real-rrdd-plugin-shm/%s", file);
	page = shared_slurp(rel, &len);
	if (page == NULL)
		return 0;
	/* the binary header may hold NULs: find the JSON after it */
	for (at = 0; at + 13 < len && memcmp(page + at, "\"datasources\"", 13); at++)
		;
	p = at + 13 < len ? page + at : page + len;
	while ((p = strstr(p, "\":{\"description\"")) != NULL) {
		const char *name_end = p, *name = p, *u, *ue, *obj_end;
		const void *te;
		char unit[64];
		const char *want, *got;

		while (name > page && name[-1] != '"')
			name--;
		u = strstr(p, "\"units\":\"");
		if (u == NULL)
			break;
		u += 9;
		ue = strchr(u, '"');
		if (ue == NULL || (size_t)(ue - u) >= sizeof(unit))
			break;
		memcpy(unit, u, (size_t)(ue - u));
		unit[ue - u] = '\0';
		/* a DERIVE of an amount is stored per second (SPEC §3: xapi_allocation_kib is
		 * registered "KiB", its values are KiB/s) */
		obj_end = strchr(p + 2, '}');
		te = obj_end ? memmem(p, (size_t)(obj_end - p), "\"type\":\"derive\"", 15) : NULL;
		if (te != NULL && (!strcmp(unit, "KiB") || !strcmp(unit, "B")))
			snprintf(unit + strlen(unit), sizeof(unit) - strlen(unit), "/s");
		want = !strcmp(unit, "sessions") || !strcmp(unit, "tasks") ||
				       !strcmp(unit, "file descriptors")
			       ? ""
			       : unit;
		got = xs_collect_unit(XS_OBJ_HOST, name, (size_t)(name_end - name));
		/* pool_total_session_count is a DERIVE of sessions: a rate we do not name */
		if (strncmp(name, "pool_total_session_count", (size_t)(name_end - name)))
			ok(!strcmp(got, want), "%s: %.*s is '%s', the host says '%s'", file,
			   (int)(name_end - name), name, got, unit);
		n++;
		p = ue;
	}
	free(page);
	return n;
}

static void test_real_plugin_pages(void)
{
	static const char *const files[] = { "xapi-stats", "xcp-rrdd-mem_host",
					     "xcp-rrdd-squeezed", "xcp-rrdd-xenpm" };
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		n += check_page(files[i]);
	ok(n >= 20, "data sources compared with the real plugin pages: %u (XS_SHARED_DIR?)", n);
}

int main(void)
{
	TEST_RUN(test_spec_tables);
	TEST_RUN(test_length_bounded);
	TEST_RUN(test_real_plugin_pages);
	return test_summary();
}
