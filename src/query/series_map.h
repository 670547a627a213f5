/*
 * series_map.h - from XAPI data-source names to Xen Orchestra stats keys, and
 * the few JSON output helpers the query layer shares.
 *
 * XO-STATS.md's tables, as data: each entry says which data source (prefix +
 * device + suffix) feeds which key path ("vifs" / "rx" / device) and by what
 * factor the stored value (the host's unit, collect/units.h) is multiplied
 * (cpu fraction x 100 -> %, KiB x 1024 -> bytes, MiB/s x 2^20 -> bytes/s,
 * microseconds / 1000 -> ms).
 *
 * Discovery lists the object's own series (xs_store_each_of(), an index by
 * object: the cost is that object's series, not the catalog's) and parses
 * each name against the kind's table, so every device the object has is
 * found whatever it is called. What a device may be, per class:
 *   cpuN        N: decimal digits
 *   vif_N_...   N: decimal digits
 *   vbd_<dev>_  any name without '_' (xvda, xvdaa, hda, sdb, nvme0n1)
 *   pif_<dev>_  any name but "aggr" (eth0, bond0, eth0.100, xenbr1)
 *   ..._<sr8>   8 hex digits (the first 8 characters of an SR uuid)
 * and always 1 .. XS_SMAP_DEV_LEN - 1 bytes (a longer one is not shown).
 * Discovery keys a PIF ethN by "N", as XO does; the rest by their names.
 * A name that several rows could parse goes to the row with the longest
 * suffix ("vbd_xvda_iops_read" is iops.r of xvda, not xvds.r of "xvda_iops";
 * the '_' rule for VBDs already excludes the latter). Fixed names ("memory",
 * "pif_aggr_rx") match exactly and before any device row.
 *
 * The JSON helpers write into a struct xs_buf and return its error
 * (XS_ERR_TOO_LARGE past the buffer's limit); they are the one place to switch
 * to lib/json_out once it exists.
 */
#ifndef XS_QUERY_SERIES_MAP_H
#define XS_QUERY_SERIES_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "store/store.h"

#define XS_SMAP_DEV_LEN 40       /* bytes of a device key, NUL included (a host uuid fits) */
#define XS_SMAP_SR_PREFIX 8      /* characters of an SR uuid in per-SR data-source names */
#define XS_SMAP_MAX_LEAVES 65536 /* series one object may have in a reply */

/* What the device part of a data-source name is. */
enum xs_smap_dev {
	XS_SMAP_DEV_NONE,  /* a fixed name ("memory") */
	XS_SMAP_DEV_CPU,   /* cpuN: N */
	XS_SMAP_DEV_VIF,   /* vif_N_...: N */
	XS_SMAP_DEV_VBD,   /* vbd_<dev>_...: xvda, hda, xvdaa, nvme0n1 */
	XS_SMAP_DEV_PIF,   /* pif_<dev>_...: eth0, bond0, eth0.100, xenbr0 */
	XS_SMAP_DEV_SR,    /* ..._<sr8>: the SR uuid's first 8 characters */
};

/* One row of XO-STATS.md: data source prefix + device + suffix -> stats.key[.sub][device]. */
struct xs_smap_spec {
	const char *key;        /* top-level key: "cpus", "memory", "vifs" */
	const char *sub;        /* second level ("rx", "r", "total"), NULL if none */
	const char *prefix;     /* data-source name before the device (or the whole name) */
	const char *suffix;     /* after the device ("" if none) */
	enum xs_smap_dev dev;   /* XS_SMAP_DEV_NONE: the key is a leaf array */
	double scale;           /* stored value x scale = XO's unit */
};

/* The tables, in output order; entries sharing a key are adjacent. NULL (*n = 0) for SRs. */
const struct xs_smap_spec *xs_smap_specs(enum xs_obj_kind kind, size_t *n);

/* One found series and where it goes. */
struct xs_smap_leaf {
	uint16_t spec;                  /* index in the kind's table */
	char dev[XS_SMAP_DEV_LEN];      /* its key in the map: the device ("N" of a PIF ethN);
					 * "" for XS_SMAP_DEV_NONE */
	xs_series_id id;
};

/*
 * Finds every series of object (kind, uuid) that the kind's table maps (one
 * xs_store_each_of() walk), and returns them in *leaves (xs_xmalloc'd, sorted
 * by spec then device with xs_smap_dev_cmp()); the caller frees it. Returns
 * how many (0: *leaves = NULL). At most XS_SMAP_MAX_LEAVES: past that, the
 * first in that order are kept.
 */
size_t xs_smap_discover(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
			struct xs_smap_leaf **leaves);

/*
 * Parses data-source name ds against kind's table: returns the row's index
 * and writes the device into dev ("" for a fixed name); -1 when no row maps
 * it. dev: XS_SMAP_DEV_LEN bytes.
 */
int xs_smap_match(enum xs_obj_kind kind, const char *ds, char *dev);

/* Whether ds is prefix + a device of class cls (rules above) + suffix. */
bool xs_smap_is(const char *ds, const char *prefix, enum xs_smap_dev cls, const char *suffix);

/*
 * Whether a host's cpuN series include CPUs that smt=0 parked. Such a host
 * (Xen's smt=0, the usual mitigation) parks its second threads: xcp-rrdd
 * still reports a cpuN for every CPU id, and a parked one reads exactly 1
 * (100 %) in every row (its idle time stands still; host CPUs are 1 - idle),
 * while host_CPUs counts the CPUs in use - Xen Orchestra's issue 4040: 24 CPUs
 * charted for 12 cores, the odd ones at 100 %. ncpu: the host's cpuN series,
 * ones: those of them whose newest value is exactly 1, host_cpus: its
 * host_CPUs count (0: unknown). True when the cpuN outnumber host_CPUs by
 * exactly `ones`: then those are the parked ones, to be left out. Anything less
 * clear (an unknown count, a busy CPU at exactly 1 as well) is false: every cpuN
 * counts.
 */
bool xs_smap_cpus_parked(size_t ncpu, size_t ones, int host_cpus);

/*
 * Natural order of device keys, a total order: names are compared as runs of
 * digits and runs of other bytes, a digit run before another run; digit runs
 * by numeric value, other runs by length then bytes; then fewer runs first,
 * then bytes. So cpu 2 before 10, xvdz before xvdaa, hda before xvda,
 * eth2 before eth10, eth0 before eth0.100 before eth1, sda before nvme0n1.
 */
int xs_smap_dev_cmp(const char *a, const char *b);

/* ---- JSON output (to be replaced by lib/json_out) ------------------------------ */

/* A number as the shortest decimal that reads back as the same float32 (6 to 9
 * significant digits; integers as integers); NaN, infinities and values that
 * overflow float32 -> null. */
enum xs_err xs_qjson_num(struct xs_buf *b, double v) XS_BUF_WARN_UNUSED;
/* Bytes xs_qjson_num_fmt() writes at most: 16 in fact (a sign and 15 digits, the integers
 * below 1e15; "-0.0000100003235"), with room to spare. */
#define XS_QJSON_NUM_MAX 24
/* The same text written to out (room for XS_QJSON_NUM_MAX bytes, no NUL); returns its length.
 * For arrays of numbers: one xs_buf_reserve() for all of them, then xs_buf_commit(). */
size_t xs_qjson_num_fmt(char *out, double v);
/* A JSON string (quotes, escapes of ", \ and control characters; each byte not in a
 * well-formed UTF-8 sequence becomes U+FFFD, as lib/json_out.h does). NULL -> null. */
enum xs_err xs_qjson_str(struct xs_buf *b, const char *s) XS_BUF_WARN_UNUSED;
/* "key": (a string key and its colon). */
enum xs_err xs_qjson_key(struct xs_buf *b, const char *key) XS_BUF_WARN_UNUSED;
/* A signed integer. */
enum xs_err xs_qjson_int(struct xs_buf *b, int64_t v) XS_BUF_WARN_UNUSED;
/* Raw text (punctuation). */
enum xs_err xs_qjson_raw(struct xs_buf *b, const char *s) XS_BUF_WARN_UNUSED;

#endif
