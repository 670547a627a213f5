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
 * a year of history costs no memory and no start-up time.
 *
 * Memory held per data source: for each archive, a ring sized for the rows
 * it recorded live, which starts at SIM_RRD_RING_MIN rows at the archive's
 * first live row and grows by half (rounded up to SIM_RRD_RING_MIN) until it
 * holds the archive's row count: a daily ring takes a year to fill, an
 * hourly one a week. Rings come from size-classed slabs of the model (see
 * rrd_model.c), so the blocks a growth frees go back to the system instead of
 * fragmenting the heap. Data-source names are interned once per model.
 *
 * Advancing: sim_rrd_model_advance_some() does a bounded slice of the work so
 * an event loop can spread a 5 s step over several callbacks; every RRD moves
 * whole (its data sources and last_update together), so a reader between two
 * slices sees each RRD either before or after the step.
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
#define SIM_DS_NAME_LEN 64    /* longest data-source name kept, NUL included */
#define SIM_RRD_RING_MIN 4    /* rows of a ring when first allocated; growth granule */

enum sim_cf { SIM_CF_AVERAGE, SIM_CF_MIN, SIM_CF_MAX, SIM_NCF };

struct sim_archive {
	int pdp_per_row;
	int rows;
};
extern const struct sim_archive sim_rrd_archives[SIM_RRD_ARCHIVES];

/* One data source: its definition and its recorded rows. Cells of ring[a]
 * are CF-major: cf c, row at time t is ring[a][c * ring_cap[a] + (t / period)
 * % ring_cap[a]]; the rows held are the ring_rows[a] periods ending at
 * ring_last[a]. */
struct sim_ds {
	const char *name;           /* interned by the model: valid while it lives */
	const char *type;           /* "GAUGE", "DERIVE", "ABSOLUTE" */
	const char *units;          /* as get_data_sources reports them */
	float min, max;             /* 0, 1 or ±INFINITY: exact in float */
	struct sim_series series;   /* where its values come from */
	int64_t created;            /* first step recorded live */
	float *ring[SIM_RRD_ARCHIVES];           /* live rows, NULL until the first */
	int64_t ring_last[SIM_RRD_ARCHIVES];     /* time of the newest live row */
	uint16_t ring_rows[SIM_RRD_ARCHIVES];    /* live rows held (<= the archive's rows) */
	uint16_t ring_cap[SIM_RRD_ARCHIVES];     /* rows allocated (>= ring_rows) */
	double cdp_sum[SIM_RRD_ARCHIVES - 1];    /* coarse consolidation in progress */
	float cdp_min[SIM_RRD_ARCHIVES - 1], cdp_max[SIM_RRD_ARCHIVES - 1];
	uint16_t cdp_known[SIM_RRD_ARCHIVES - 1]; /* known steps of it (<= 17280) */
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

/* Records every 5 s step up to now for the objects that are live, all at
 * once (finishing a pass sim_rrd_model_advance_some left unfinished). */
void sim_rrd_model_advance(struct sim_rrd_model *m, int64_t now);

/* Does at most about `budget` data-source steps of the work of advancing to
 * now (always at least one RRD, so repeated calls finish), RRD by RRD. A
 * pass goes to the step of now at the time it began; a call after it ends
 * begins the next pass if now has moved on. Returns true when the model is
 * at now's step, false when work remains (call again). */
bool sim_rrd_model_advance_some(struct sim_rrd_model *m, int64_t now, size_t budget);

/* Re-derives data sources after devices, power states or the master changed
 * (finishes a pass in progress first). */
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

/* Bytes held by recorded rows: the cells of every ring allocated (for the
 * benchmark; the slabs they live in are mapped a page at a time). */
size_t sim_rrd_model_bytes(const struct sim_rrd_model *m);

/* Bytes of slabs mapped for rings (cells plus the unused tail of each slab). */
size_t sim_rrd_model_slab_bytes(const struct sim_rrd_model *m);

#endif
