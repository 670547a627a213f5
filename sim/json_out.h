/*
 * json_out.h - a small JSON writer for the simulator's control answers.
 *
 * The writer appends to a caller's xs_buf and keeps the comma state per
 * nesting level, so callers never write punctuation. Errors are sticky: after
 * the first failure (buffer cap, nesting deeper than SIM_JSON_MAX_DEPTH) every
 * call does nothing and sim_json_finish() returns the error.
 *
 * Keys are given as NULL inside arrays and at the top level. Strings are
 * escaped as JSON requires (quotes, backslash, control characters); bytes
 * >= 0x80 are copied as they are (the simulator's strings are ASCII/UTF-8).
 */
#ifndef SIM_JSON_OUT_H
#define SIM_JSON_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"

#define SIM_JSON_MAX_DEPTH 16

/* Put it on the stack and start it with sim_json_init(); it holds no memory. */
struct sim_json {
	struct xs_buf *out;                   /* not owned */
	enum xs_err rc;                       /* first error, sticky */
	int depth;                            /* open objects/arrays */
	bool want_comma[SIM_JSON_MAX_DEPTH];  /* a value was written at this level */
	char closer[SIM_JSON_MAX_DEPTH];      /* '}' or ']' for each open level */
};

void sim_json_init(struct sim_json *j, struct xs_buf *out);
/* Opens an object / array, as member `key` (NULL in an array or at the top). */
void sim_json_object(struct sim_json *j, const char *key);
void sim_json_array(struct sim_json *j, const char *key);
/* Closes the innermost object or array. */
void sim_json_end(struct sim_json *j);
/* One member or element; a NULL string is written as null. */
void sim_json_str(struct sim_json *j, const char *key, const char *val);
void sim_json_int(struct sim_json *j, const char *key, int64_t val);
void sim_json_uint(struct sim_json *j, const char *key, uint64_t val);
/* Finite doubles in the shortest round-trip form; NaN and infinities as null. */
void sim_json_double(struct sim_json *j, const char *key, double val);
void sim_json_bool(struct sim_json *j, const char *key, bool val);
void sim_json_null(struct sim_json *j, const char *key);
/* XS_OK, or the first error (XS_ERR_TOO_LARGE, XS_ERR_ARG for unbalanced nesting). */
enum xs_err sim_json_finish(struct sim_json *j);

#endif
