/*
 * json_out.h - the one JSON writer of xapistat (STYLE.md §22), writing into a
 * capped struct xs_buf.
 *
 * Usage: init a writer on a buffer, then call begin/end, key and value
 * functions in document order; the writer puts the commas and colons. Every
 * call returns the writer's error, which is sticky: after the first failure
 * (the buffer's cap reached, nesting deeper than XS_JSON_MAX_DEPTH, a value
 * where a key is needed, an end that does not match its begin) every later
 * call does nothing and returns the same error, so a caller may write a whole
 * document and check xs_json_error() once at the end. When the cap is reached
 * the buffer frees itself (see buf.h): nothing half-written is left to send.
 *
 * Several values may follow one another at the top level (no comma between
 * them): a caller writes one document, or a sequence of them separated by its
 * own framing (xs_buf_append between the calls, e.g. "data: ...\n\n").
 *
 * Strings: '"', '\\' and control characters are escaped (\n, \r, \t, \b, \f,
 * others as \u00XX); DEL and non-ASCII are written as they are. The output is
 * always valid UTF-8: each byte of the input that is not part of a well-formed
 * UTF-8 sequence (overlong forms, surrogates and code points past U+10FFFF are
 * not well formed) is replaced by U+FFFD.
 *
 * Numbers: integers exactly; doubles and floats as the shortest text (of the
 * "%.Ng" precisions tried) that reads back to the same value with strtod /
 * strtof; NaN and infinities are written as null. Integers, and the usual
 * doubles and floats, are formatted without snprintf.
 *
 * The struct is exposed so callers can put it on the stack; its fields MUST
 * NOT be touched except through these functions. Not thread-safe: one writer
 * per thread.
 */
#ifndef XS_LIB_JSON_OUT_H
#define XS_LIB_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

#define XS_JSON_MAX_DEPTH 32 /* deepest nesting of objects and arrays */

struct xs_json {
	struct xs_buf *b;     /* output; not owned */
	uint64_t comma;       /* bit d: level d already holds a member */
	uint64_t is_obj;      /* bit d: level d is an object (else array or top) */
	unsigned depth;       /* 0 = top level */
	bool after_key;       /* a key was written; its value comes next */
	enum xs_err err;      /* sticky: first failure */
};

/* Starts a writer appending to b (which keeps its content). Allocates nothing. */
void xs_json_init(struct xs_json *j, struct xs_buf *b);

/* Returns the sticky error: XS_OK, XS_ERR_TOO_LARGE (buffer cap; the buffer was
 * freed), or XS_ERR_ARG (misuse: depth, key/value order, unbalanced end). */
enum xs_err xs_json_error(const struct xs_json *j);

/* True when every object and array begun has been ended and no key is pending. */
bool xs_json_complete(const struct xs_json *j);

enum xs_err xs_json_obj_begin(struct xs_json *j);
enum xs_err xs_json_obj_end(struct xs_json *j);
enum xs_err xs_json_arr_begin(struct xs_json *j);
enum xs_err xs_json_arr_end(struct xs_json *j);

/* Writes a member name (escaped like a string) and the colon; only inside an
 * object, and only where a member may start. */
enum xs_err xs_json_key(struct xs_json *j, const char *key);
enum xs_err xs_json_key_n(struct xs_json *j, const char *key, size_t len);

/* A string value from a NUL-terminated string (NULL writes null), or from
 * len bytes (which may contain NUL: written as \u0000). */
enum xs_err xs_json_str(struct xs_json *j, const char *s);
enum xs_err xs_json_str_n(struct xs_json *j, const char *s, size_t len);

enum xs_err xs_json_int(struct xs_json *j, int64_t v);
enum xs_err xs_json_uint(struct xs_json *j, uint64_t v);
/* NaN and infinities are written as null. */
enum xs_err xs_json_double(struct xs_json *j, double v);
/* For float32 values: the shortest text that strtof reads back as v. */
enum xs_err xs_json_float(struct xs_json *j, float v);
enum xs_err xs_json_bool(struct xs_json *j, bool v);
enum xs_err xs_json_null(struct xs_json *j);

/* A member: key, then the value, in one call (the first error is returned). */
enum xs_err xs_json_field_str(struct xs_json *j, const char *key, const char *s);
enum xs_err xs_json_field_int(struct xs_json *j, const char *key, int64_t v);
enum xs_err xs_json_field_uint(struct xs_json *j, const char *key, uint64_t v);
enum xs_err xs_json_field_double(struct xs_json *j, const char *key, double v);
enum xs_err xs_json_field_bool(struct xs_json *j, const char *key, bool v);

/* Appends len bytes of ready-made JSON as one value. The caller guarantees it
 * is one valid JSON value; it is not checked. */
enum xs_err xs_json_raw(struct xs_json *j, const char *json, size_t len);

/*
 * Formatting without a writer, for other text formats (the Prometheus
 * exposition uses the same number texts). buf must hold XS_JSON_NUM_LEN
 * bytes; returns the length written (not NUL-terminated). NaN and infinities
 * are written as "null" by these too; callers of other formats check first.
 */
#define XS_JSON_NUM_LEN 32
size_t xs_json_fmt_int(char *buf, int64_t v);
size_t xs_json_fmt_uint(char *buf, uint64_t v);
size_t xs_json_fmt_double(char *buf, double v);
size_t xs_json_fmt_float(char *buf, float v);

/*
 * Length of the well-formed UTF-8 sequence at p, at most n bytes: 1 for
 * ASCII, 2..4 for a multi-byte sequence, 0 if the bytes there are not one
 * (n == 0, a stray continuation byte, a sequence cut short by n, an overlong
 * form, a surrogate, a code point past U+10FFFF; Unicode table 3-7). Reads at
 * most n bytes of p. Shared by writers of other text formats that replace
 * invalid bytes with U+FFFD the same way (one U+FFFD per byte not in a
 * sequence) but escape differently.
 */
size_t xs_utf8_len(const unsigned char *p, size_t n);

#endif
