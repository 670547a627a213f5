/*
 * units.h - the unit of an XAPI data source, from its object kind and name
 * (SPEC §3 tables: xcp-rrdd's `Ds.ds_make ~units`).
 *
 * The units are those the host reports values in, before any conversion
 * (memory_internal_free is KiB, vbd latencies are microseconds, throughput
 * MiB/s): the store keeps what the host served; the query layer converts.
 * Names the tables do not know get "" (unknown), never a guess.
 */
#ifndef XS_COLLECT_UNITS_H
#define XS_COLLECT_UNITS_H

#include <stddef.h>

#include "store/store.h"

/* The unit of data source ds (len bytes) of an object of kind; a static string, "" if unknown. */
const char *xs_collect_unit(enum xs_obj_kind kind, const char *ds, size_t len);

#endif
