/*
 * rrd_numfmt.h - numbers as xapi prints them in RRD documents (SPEC §2.3,
 * xapi-rrd's f_to_s), byte for byte, without the cost of printf.
 *
 *   era                          normal/subnormal   zero   NaN   +-inf
 *   XS_NUMFMT_F4   (XR <= 1.9.2)  "%0.4f"            "0.0"  NaN   Infinity / -Infinity
 *   XS_NUMFMT_G5   (XR 1.10 ...)  "%0.5g"            "0.0"  NaN   ...
 *   XS_NUMFMT_G15  (>= v25.3.0)   "%0.15g"           "0.0"  NaN   ...
 *
 * Output equals C's printf with the same conversion (locale "C") for every
 * double: values whose exact scaled decimal fits 128-bit integer arithmetic
 * (all float32 values in practice) are converted exactly by integer code;
 * the rest fall back to snprintf.
 */
#ifndef XS_RRD_NUMFMT_H
#define XS_RRD_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

/* Buffer size xs_rrd_num_format() needs: "%0.4f" of -DBL_MAX is 315 bytes. */
#define XS_RRD_NUM_LEN 336
/* Buffer size xs_rrd_i64_format() needs ("-9223372036854775808" and NUL). */
#define XS_RRD_I64_LEN 24

enum xs_rrd_numfmt {
	XS_NUMFMT_F4,  /* "%0.4f": xapi-rrd <= 1.9.2 (xapi <= ~23.25, XCP-ng 8.2) */
	XS_NUMFMT_G5,  /* "%0.5g": xapi-rrd 1.10.0 .. xen-api < v25.3.0 */
	XS_NUMFMT_G15, /* "%0.15g": xen-api >= v25.3.0 */
};

/*
 * Writes v as f_to_s of era f into buf (at least XS_RRD_NUM_LEN bytes),
 * NUL-terminated. Returns the length without the NUL. An unknown f is
 * treated as XS_NUMFMT_G15.
 */
size_t xs_rrd_num_format(char *buf, double v, enum xs_rrd_numfmt f);

/* Writes v in decimal ("%Ld") into buf (XS_RRD_I64_LEN bytes), NUL-terminated.
 * Returns the length without the NUL. */
size_t xs_rrd_i64_format(char *buf, int64_t v);

#endif
