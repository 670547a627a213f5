/*
 * rrd_query.h - what an /rrd_updates request asks for, as xcp-rrdd reads it
 * (SPEC §1.2, §1.4): parameters by xapi version, archive choice, the rows and
 * the RRDs included, and whether to answer in JSON.
 *
 * Pure logic over the request's parameters: the HTTP handler feeds it the
 * decoded query and headers, and gets a plan to write.
 */
#ifndef SIM_RRD_QUERY_H
#define SIM_RRD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_QUERY_MAX_UUIDS 64 /* repeated vm_uuid / sr_uuid values kept */
#define SIM_QUERY_UUID_LEN 64
/* The first xapi whose xapi-rrd reads a negative start as relative to the last
 * update (SPEC §1.2: "XR >= 2015-06"). The SPEC names no version: XenServer 6.2
 * reports xapi 1.3, XCP-ng 8.2 1.249; the cut between is approximate, like
 * sim_rrd_era_of's first one. */
#define SIM_RELATIVE_START_MAJOR 1
#define SIM_RELATIVE_START_MINOR 10

/* A xapi version (xen-api tag vX.Y.Z; XCP-ng 8.2 is 1.249.x). */
struct sim_xapi_version {
	int major, minor, patch;
};

/* Parses "25.6.0" or "1.249.3"; false if malformed. */
bool sim_xapi_version_parse(const char *s, struct sim_xapi_version *v);
/* <0, 0, >0 like strcmp. */
int sim_xapi_version_cmp(struct sim_xapi_version a, int major, int minor, int patch);

/* Which objects of a kind the request selects. */
enum sim_select { SIM_SELECT_NONE, SIM_SELECT_ALL, SIM_SELECT_LIST };

struct sim_rrd_query {
	int64_t start;          /* as given; negative = relative to the last update (but see
				 * start_absolute) */
	bool start_absolute;    /* a negative start is a time as well (xapi before 1.10.0) */
	bool has_start;
	int64_t interval;       /* seconds, 0 if absent */
	int cf;                 /* -1 = every CF, else 0 AVERAGE, 1 MIN, 2 MAX, 3 LAST */
	bool host;              /* host=true exactly */
	enum sim_select vms, srs;
	char vm_uuids[SIM_QUERY_MAX_UUIDS][SIM_QUERY_UUID_LEN];
	size_t nvm_uuids;
	char sr_uuids[SIM_QUERY_MAX_UUIDS][SIM_QUERY_UUID_LEN];
	size_t nsr_uuids;
	bool json_key;          /* a "json" key was present (any value) */
	bool json;              /* the answer is JSON (after the Accept header rule) */
};

/* Starts an empty query (no start, every CF, no host, all VMs, no SR). */
void sim_rrd_query_init(struct sim_rrd_query *q);

/*
 * Takes one decoded query parameter as the given xapi version reads it
 * (vm_uuid / sr_uuid: one value with all/none before 26.7.0, repeated literal
 * uuids from 26.7.0; a negative start relative to the last update from
 * SIM_RELATIVE_START_* on, before that a time like any other). Returns false
 * with err (static text) for a value xapi would refuse with 400 (start that
 * is not an int64, ...).
 */
bool sim_rrd_query_param(struct sim_rrd_query *q, struct sim_xapi_version v, const char *key,
			 const char *val, const char **err);

/* Decides JSON or XML from the Accept header (NULL if absent) and the json key,
 * as the given version does. */
void sim_rrd_query_format(struct sim_rrd_query *q, struct sim_xapi_version v,
			  const char *accept);

/* True if a VM / SR uuid is selected. */
bool sim_rrd_query_wants_vm(const struct sim_rrd_query *q, const char *uuid);
bool sim_rrd_query_wants_sr(const struct sim_rrd_query *q, const char *uuid);

/* The archive and rows to answer with. */
struct sim_rrd_plan {
	int archive;            /* index into sim_rrd_archives */
	int64_t step;           /* seconds per row */
	int64_t start_param;    /* start made absolute */
	int64_t meta_start;     /* floor(start/step)*step + step */
	int64_t end;            /* time of the newest row */
	int64_t first;          /* time of the oldest row returned */
	size_t rows;            /* rows returned, newest (end) first */
};

/*
 * Plans the answer for an RRD last updated at last_update (host time) with
 * archives of the given (pdp_per_row, rows), of which has_cf[] tell which keep
 * the CF asked for (all of them when cf is -1). SPEC §1.2 / xapi-rrd's
 * find_best_rras: the first such archive with pdp_per_row >= interval/5 that
 * still covers start, else the coarsest such archive.
 */
void sim_rrd_query_plan(const struct sim_rrd_query *q, int64_t last_update, int base_step,
			const int *pdp_per_row, const int *rows, const bool *has_cf,
			int narchives, struct sim_rrd_plan *plan);

#endif
