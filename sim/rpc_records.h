/*
 * rpc_records.h - private to sim/rpc*.c: XAPI records of the simulated
 * objects, and the per-class calls built on them (get_all_records,
 * get_record, get_by_uuid, get_all, get_<field>, get_data_sources).
 *
 * A record is built on demand into the request's arena from the world, as
 * xapi's database would hand it out: int64 fields as decimal strings, refs,
 * OpaqueRef:NULL for none, sets as arrays, maps as structs. Objects are
 * scoped to a pool: another pool's objects answer HANDLE_INVALID.
 */
#ifndef SIM_RPC_RECORDS_H
#define SIM_RPC_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "sim.h"
#include "xapi/rpc_value.h"

#define SIM_RPC_NULL_REF "OpaqueRef:NULL"

struct sim_rpc_index; /* reverse relations (host → resident VMs ...), built lazily */

/* What a call runs against: the request's arena and the caller's pool. */
struct sim_rpc_ctx {
	struct sim *sim;
	struct xs_rpc_arena *a;       /* every value of the reply */
	int pool;                     /* the session's pool */
	struct sim_rpc_index *idx;    /* NULL until a record needs it */
};

/* The datamodel name of a class ("VM", "host", "VM_guest_metrics"). */
const char *sim_rpc_class_api_name(enum sim_class c);
/* A class by datamodel name (exact) or, if nocase, by any case ("vm" for
 * event.from); false if unknown. */
bool sim_rpc_class_lookup(const char *name, size_t len, bool nocase, enum sim_class *c);
/* The pool an object belongs to (deleted objects too), or -1. */
int sim_rpc_obj_pool(const struct sim_world *w, enum sim_class c, int index);

/* The record of one object (live or deleted), in ctx->a. */
struct xs_rpc_value *sim_rpc_record(struct sim_rpc_ctx *ctx, enum sim_class c, int index);

/* Frees ctx->idx (ctx stays usable; the index is rebuilt if needed). */
void sim_rpc_ctx_cleanup(struct sim_rpc_ctx *ctx);

/* Failure of a call: the error array ["CODE", params...] into reply. */
void sim_rpc_fail(struct sim_rpc_ctx *ctx, struct xs_rpc_reply *reply, const char *code,
		  const char *p1, const char *p2, const char *p3);
/* MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected, received]. */
void sim_rpc_fail_count(struct sim_rpc_ctx *ctx, struct xs_rpc_reply *reply, const char *method,
			size_t expected, size_t got);

/*
 * A call on one class ("VM.get_record" → c = SIM_VM, op = "get_record"),
 * with the session already checked and removed from params. Fills reply;
 * returns false if the class offers no such operation (the caller answers
 * MESSAGE_METHOD_UNKNOWN).
 */
bool sim_rpc_class_call(struct sim_rpc_ctx *ctx, enum sim_class c, const char *method,
			const char *op, const struct xs_rpc_value *params, size_t nparams,
			struct xs_rpc_reply *reply);

/* Appends to arr the names of the per-class methods of the given pool. */
void sim_rpc_class_methods(struct sim_rpc_ctx *ctx, struct xs_rpc_value *arr);

/* "20140919T15:47:57Z" for unix seconds t (UTC), into out[SIM_RPC_DATE_LEN]. */
#define SIM_RPC_DATE_LEN 24
void sim_rpc_datetime(double t, char *out);

#endif
