/*
 * rrd_docs.h - the RRD documents xapi-sim serves, built from the RRD model:
 * /rrd_updates (rrdtool xport, SPEC §2.1, §2.2, §2.4) and full dumps
 * (/host_rrd, /vm_rrd, /sr_rrd, SPEC §2.5), in the number era and JSON
 * variant of a xapi version (SPEC §2.3).
 *
 * Host time: a host whose clock is skewed by `skew` seconds stamps its RRDs
 * in its own time. Documents are written in host time; the cell of a row at
 * host time T is the model's row at sim_rrd_doc_model_time(T, skew, period),
 * so a skew that is a multiple of the period shifts every time exactly.
 *
 * The builders read the model only; they allocate their scratch arrays with
 * xs_xmalloc (aborts on OOM) and free them before returning.
 */
#ifndef SIM_RRD_DOCS_H
#define SIM_RRD_DOCS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "rrd/rrd_numfmt.h"
#include "rrd/rrd_sink.h"
#include "rrd_model.h"
#include "rrd_query.h"

/* What a xapi version writes (SPEC §2.2, §2.3, §2.5). */
struct sim_rrd_era {
	enum xs_rrd_numfmt nf;            /* f_to_s of the era */
	enum xs_rrd_syntax updates_json;  /* variant A, B or C of /rrd_updates JSON */
	enum xs_rrd_syntax dump_json;     /* XS_RRD_JSON (current keys) or an older one
					   * (old "minimal_hearbeat" form) */
};

/*
 * The era of xapi version v:
 *   v < 23.26.0            %0.4f, variant A, old dump keys  (xapi-rrd <= 1.9.2)
 *   23.26.0 <= v < 24.11.0 %0.5g, variant B, old dump keys  (xapi-rrd 1.10 - 1.12)
 *   24.11.0 <= v < 25.3.0  %0.5g, variant C, current keys
 *   25.3.0 <= v            %0.15g, variant C, current keys
 * The first boundary is approximate (SPEC §2.2 says "~23.25").
 */
void sim_rrd_era_of(struct sim_xapi_version v, struct sim_rrd_era *era);

/* The model's row time behind host row time t of an archive of the given period:
 * floor((t - skew) / period) * period. */
int64_t sim_rrd_doc_model_time(int64_t t, int64_t skew, int64_t period);

/* One RRD of an /rrd_updates answer: legend entries are "CF:<kind>:<uuid>:<ds>". */
struct sim_rrd_part {
	const struct sim_rrd *rrd;
	const char *kind;                 /* "host", "vm", "sr" */
	const char *uuid;
};

/*
 * Writes the /rrd_updates answer for the RRDs parts[0..nparts) (host first,
 * then VMs, then SRs, as the handler orders them) into out (appended), as
 * xapi-rrd's create_multi does: negative start relative to the latest
 * update of the RRDs, the archive chosen on parts[0] (rrd_query.h), RRDs
 * whose best archive differs from it dropped (the homogeneous rule), legend
 * per RRD grouped by CF (AVERAGE, MIN, MAX), the i-th row of each RRD being
 * its i-th newest row. syntax XS_RRD_XML or a JSON variant; nf the era.
 * Returns XS_OK; XS_ERR_ARG where xapi fails (no RRD at all, an RRD without
 * any archive of the CF asked for: No_RRA_Available; variant A with zero
 * rows): answer 500; XS_ERR_TOO_LARGE past out's cap (out is then freed).
 */
enum xs_err sim_rrd_updates_build(const struct sim_rrd_model *m, const struct sim_rrd_part *parts,
				  size_t nparts, const struct sim_rrd_query *q, int64_t skew,
				  enum xs_rrd_syntax syntax, enum xs_rrd_numfmt nf,
				  struct xs_buf *out) __attribute__((warn_unused_result));

/*
 * Writes the full dump of r into out (appended): every data source, every
 * archive in xcp-rrdd's order (AVERAGE, then MIN and MAX where kept, per
 * timescale), rows oldest first ending at the row of lastupdate. syntax
 * XS_RRD_XML, XS_RRD_JSON (current keys) or another JSON syntax (old keys).
 * Returns XS_OK, or XS_ERR_TOO_LARGE past out's cap (out is then freed).
 */
enum xs_err sim_rrd_dump_build(const struct sim_rrd_model *m, const struct sim_rrd *r,
			       int64_t skew, enum xs_rrd_syntax syntax, enum xs_rrd_numfmt nf,
			       struct xs_buf *out) __attribute__((warn_unused_result));

#endif
