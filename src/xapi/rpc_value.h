/*
 * rpc_value.h - the values of XAPI's RPC (SPEC §4.2), shared by the XML-RPC
 * and JSON-RPC codecs (xmlrpc.h, jsonrpc.h), the xapistat client and xapi-sim.
 *
 * A value tree lives in one struct xs_rpc_arena: every node, string and
 * array is allocated from it and freed all at once with the arena, so a
 * decoded response of 10,000 VM records costs one free. Strings are stored
 * with their length and a terminating NUL. Nothing here is thread-safe; an
 * arena belongs to one request or response.
 *
 * XAPI's types map as: string → STRING (xapi sends int64 fields as strings
 * too), int → INT, float → DOUBLE, bool → BOOL, datetime → DATETIME (text as
 * written, e.g. "20140919T15:47:57Z"), set → ARRAY, map and record → STRUCT
 * (keys are strings, often refs), <nil/> / JSON null → NIL.
 */
#ifndef XS_XAPI_RPC_VALUE_H
#define XS_XAPI_RPC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_RPC_MAX_DEPTH 64 /* nesting of arrays and structs a decoder accepts */

enum xs_rpc_type {
	XS_RPC_NIL, XS_RPC_STRING, XS_RPC_INT, XS_RPC_BOOL, XS_RPC_DOUBLE, XS_RPC_DATETIME,
	XS_RPC_ARRAY, XS_RPC_STRUCT,
};

struct xs_rpc_value;

struct xs_rpc_member {
	const char *key;
	size_t key_len;
	struct xs_rpc_value *value;
};

struct xs_rpc_value {
	enum xs_rpc_type type;
	union {
		struct { const char *ptr; size_t len; } str; /* STRING, DATETIME */
		int64_t i;                                   /* INT */
		bool b;                                      /* BOOL */
		double d;                                    /* DOUBLE */
		struct { struct xs_rpc_value **items; size_t n, cap; } arr;   /* ARRAY */
		struct { struct xs_rpc_member *members; size_t n, cap; } st; /* STRUCT */
	} u;
};

struct xs_rpc_arena;

/* A new, empty arena. Aborts on out-of-memory (as every allocation below). */
struct xs_rpc_arena *xs_rpc_arena_new(void);
/* Frees the arena and every value in it; *a = NULL. Accepts NULL. */
void xs_rpc_arena_free(struct xs_rpc_arena **a);
/* Bytes the arena holds (for caps and benchmarks). */
size_t xs_rpc_arena_bytes(const struct xs_rpc_arena *a);

/* A NUL-terminated copy of s[0..n) in the arena (for method names, keys being built). */
const char *xs_rpc_strndup(struct xs_rpc_arena *a, const char *s, size_t n);

/* Constructors: the value and any text are copied into the arena. */
struct xs_rpc_value *xs_rpc_nil(struct xs_rpc_arena *a);
struct xs_rpc_value *xs_rpc_string(struct xs_rpc_arena *a, const char *s, size_t n);
struct xs_rpc_value *xs_rpc_cstring(struct xs_rpc_arena *a, const char *s);
struct xs_rpc_value *xs_rpc_int(struct xs_rpc_arena *a, int64_t i);
struct xs_rpc_value *xs_rpc_bool(struct xs_rpc_arena *a, bool b);
struct xs_rpc_value *xs_rpc_double(struct xs_rpc_arena *a, double d);
struct xs_rpc_value *xs_rpc_datetime(struct xs_rpc_arena *a, const char *s, size_t n);
struct xs_rpc_value *xs_rpc_array(struct xs_rpc_arena *a);
struct xs_rpc_value *xs_rpc_struct(struct xs_rpc_arena *a);

/* Appends v to an ARRAY. */
void xs_rpc_array_push(struct xs_rpc_arena *a, struct xs_rpc_value *arr, struct xs_rpc_value *v);
/* Adds member key → v to a STRUCT (no check for duplicates: the last one wins in lookups). */
void xs_rpc_struct_set(struct xs_rpc_arena *a, struct xs_rpc_value *st, const char *key,
		       size_t key_len, struct xs_rpc_value *v);
/* Shorthand: a NUL-terminated key. */
void xs_rpc_struct_cset(struct xs_rpc_arena *a, struct xs_rpc_value *st, const char *key,
			struct xs_rpc_value *v);

/* Lookups (NULL when v is NULL, of another type, or has no such member / index). */
const struct xs_rpc_value *xs_rpc_get(const struct xs_rpc_value *st, const char *key);
const struct xs_rpc_value *xs_rpc_at(const struct xs_rpc_value *arr, size_t i);
/* The text of a STRING (or DATETIME) member, or NULL. */
const char *xs_rpc_get_str(const struct xs_rpc_value *st, const char *key);
/* A STRING or INT member as an int64 (xapi sends int64 as strings); false if absent or bad. */
bool xs_rpc_get_i64(const struct xs_rpc_value *st, const char *key, int64_t *out);
/* A BOOL member, or a STRING "true"/"false"; false if absent or bad. */
bool xs_rpc_get_bool(const struct xs_rpc_value *st, const char *key, bool *out);

/* Deep equality (for tests and round trips). */
bool xs_rpc_equal(const struct xs_rpc_value *a, const struct xs_rpc_value *b);

/*
 * One call or one reply, as both codecs see them. A reply is XAPI's envelope
 * already opened: ok with its value, or the error description (an ARRAY of
 * STRINGs, the code first, e.g. ["HOST_IS_SLAVE", "10.0.0.2"]).
 */
struct xs_rpc_call {
	const char *method;          /* NUL-terminated, in the arena */
	struct xs_rpc_value *params; /* ARRAY */
	struct xs_rpc_value *id;     /* JSON-RPC id (NULL for XML-RPC and notifications) */
	int jsonrpc;                 /* 0: XML-RPC; 1 or 2: JSON-RPC version */
};

struct xs_rpc_reply {
	bool ok;
	struct xs_rpc_value *value;  /* ok: the result; else the error ARRAY */
};

/* The error code of a failed reply ("" when it has none), and its i-th parameter (or NULL). */
const char *xs_rpc_reply_code(const struct xs_rpc_reply *r);
const char *xs_rpc_reply_param(const struct xs_rpc_reply *r, size_t i);

#endif
