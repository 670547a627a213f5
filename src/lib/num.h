/*
 * num.h - bounded, locale-independent number parsing and round-trip formatting.
 *
 * Parsing accepts every number form xapi writes (SPEC §2.3): "%0.4f" ("0.0282",
 * "209715200.0000"), "%.5g" ("1.6776e+07"), "%.15g" ("2.2348638594849e-05"),
 * integers, and the special values NaN, Infinity, -Infinity (case-insensitive;
 * "inf", "nan", "-nan" too). Values are correctly rounded: the same double strtod
 * gives, without calling it for the common cases (Clinger's fast path).
 */
#ifndef XS_LIB_NUM_H
#define XS_LIB_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest number text accepted: "%0.4f" of DBL_MAX is 315 characters. */
#define XS_NUM_MAX_LEN 400

/* Shortest buffer xs_num_format() needs ("-2.2250738585072014e-308" and NUL). */
#define XS_NUM_FMT_LEN 32

/*
 * Parses a number starting at p; never reads at or past end.
 * Returns a pointer just past the number, or NULL when p does not start a valid
 * number (or it is longer than XS_NUM_MAX_LEN). A return value equal to end means
 * the text may go on in input not yet seen: a streaming caller waits for more.
 * The caller checks that what follows the number is a proper delimiter.
 */
const char *xs_num_parse(const char *p, const char *end, double *out);

/*
 * Parses an optionally signed decimal integer that fits int64_t at p..end.
 * Returns a pointer just past it, or NULL (no digits, or overflow). Same
 * end-of-buffer rule as xs_num_parse().
 */
const char *xs_num_parse_i64(const char *p, const char *end, int64_t *out);

/* Parses the whole slice s[0..n) as a number / integer; false if anything is left over. */
bool xs_num_from_slice(const char *s, size_t n, double *out);
bool xs_num_i64_from_slice(const char *s, size_t n, int64_t *out);

/*
 * Writes v into buf (cap >= XS_NUM_FMT_LEN) in the shortest "%.Ng" form that
 * reads back as the same double; "NaN", "Infinity", "-Infinity" for the special
 * values. Returns the length written (without the NUL).
 */
size_t xs_num_format(char *buf, size_t cap, double v);

/* The decimal digits of v into out (at most 20 bytes, no NUL); returns their length. */
size_t xs_num_utoa(uint64_t v, char *out);

/* The powers of ten a double holds exactly, 10^0 .. 10^XS_NUM_POW10_MAX: scaling by
 * one of them is a single rounding. */
#define XS_NUM_POW10_MAX 22
extern const double xs_num_pow10[XS_NUM_POW10_MAX + 1];

#endif
