/*
 * rrd_model.h - the RRDs xcp-rrdd would hold for every simulated host, VM and
 * shared SR (SPEC §1.5).
 *
 * Base step 5 s; four archives: 120 × 5 s, 120 × 60 s, 168 × 1 h, 366 × 1 d.
 * Hosts keep AVERAGE, MIN and MAX on the three coarse archives, VMs and SRs
 * AVERAGE only. Cells are float32. Data sources come from each object's
 * devices (cpuN per vCPU, vif_<device>_*, vbd_<device>_*, memory family,
 * pif_<device>_*, SR statistics suffixed with the SR's 8-character prefix on
 * hosts), so a new VIF or VBD adds data sources.
 *
 * Rows the simulator lived through are recorded as xcp-rrdd would: one 5 s
 * value per step from the workload (workload.h), consolidated into the coarse
 * archives with xff 0.5; a step missed for more than the 300 s heartbeat
 * (host down, VM halted) is unknown (NaN). Rows from before the simulator
 * started are synthesised on read (the --history window; NaN before it), so
 * a year of history costs no memory and no start-up time. Memory held per
 * data source: its 5 s ring, and the coarse rings once it lived through a
 * row of them.
 */
#ifndef SIM_RRD_MODEL_H
#define SIM_RRD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workload.h"
#include "world.h"

#define SIM_RRD_STEP 5
#define SIM_RRD_ARCHIVES 4
#define SIM_RRD_HEARTBEAT 300 /* a gap longer than this makes the steps unknown */
#define SIM_RRD_XFF 0.5       /* unknown fraction above which a CDP is NaN */
#define SIM_DS_NAME_LEN 64

enum sim_cf { SIM_CF_AVERAGE, SIM_CF_MIN, SIM_CF_MAX, SIM_NCF };

struct sim_archive {
	int pdp_per_row;
	int rows;
};
extern const struct sim_archive sim_rrd_archives[SIM_RRD_ARCHIVES];

/* One data source: its definition and its recorded rows. */
struct sim_ds {
	char name[SIM_DS_NAME_LEN];
	const char *type;           /* "GAUGE", "DERIVE", "ABSOLUTE" */
	const char *units;          /* as get_data_sources reports them */
	double min, max;
	struct sim_series series;   /* where its values come from */
	int64_t created;            /* first step recorded live */
	float *ring[SIM_RRD_ARCHIVES][SIM_NCF]; /* live rows, NULL until the first */
	int64_t ring_last[SIM_RRD_ARCHIVES];    /* time of the newest live row, per archive */
	int64_t ring_first[SIM_RRD_ARCHIVES];   /* time of the oldest live row ever written */
	double cdp_sum[SIM_RRD_ARCHIVES];       /* consolidation in progress */
	float cdp_min[SIM_RRD_ARCHIVES], cdp_max[SIM_RRD_ARCHIVES];
	int cdp_known[SIM_RRD_ARCHIVES], cdp_steps[SIM_RRD_ARCHIVES];
	bool seen;                  /* still derived from the object's devices (sync) */
};

struct sim_rrd {
	enum sim_class cls;         /* SIM_HOST, SIM_VM or SIM_SR */
	int index;
	bool minmax;                /* MIN and MAX archives too (hosts) */
	bool exists;                /* the object has (had) an RRD */
	int64_t last_update;        /* time of the last step recorded (or synthesised) */
	struct sim_ds *ds;
	size_t nds, cap;
};

struct sim_rrd_model;

/* A model of every RRD of w at time now (a multiple of 5 is not required):
 * history_days of synthesised history before now. Aborts on OOM. */
struct sim_rrd_model *sim_rrd_model_new(struct sim_world *w, int64_t now, int history_days);
void sim_rrd_model_free(struct sim_rrd_model **m);

/* Records every 5 s step up to now for the objects that are live. */
void sim_rrd_model_advance(struct sim_rrd_model *m, int64_t now);

/* Re-derives data sources after devices, power states or the master changed. */
void sim_rrd_model_sync(struct sim_rrd_model *m);

/* The RRD of a host, VM or SR; NULL if it has none (never ran, SR not shared).
 * The pointer is valid until the next sim_rrd_model_sync or _free (a sync
 * that meets new objects moves the RRDs). */
const struct sim_rrd *sim_rrd_model_get(const struct sim_rrd_model *m, enum sim_class cls,
					int index);

/* Whether the archive keeps this consolidation function for r. */
bool sim_rrd_has_cf(const struct sim_rrd *r, int archive, enum sim_cf cf);

/* The cell of data source ds in an archive at row time t (a multiple of the
 * archive's period): recorded, synthesised, or NaN when unknown, including
 * rows the archive no longer holds (more than its row count of periods before
 * the row of r->last_update) and rows after it. */
float sim_rrd_value(const struct sim_rrd_model *m, const struct sim_rrd *r, int archive,
		    enum sim_cf cf, size_t ds, int64_t t);

/* Bytes held by recorded rows (for the benchmark). */
size_t sim_rrd_model_bytes(const struct sim_rrd_model *m);

#endif
