/*
 * rpc_value.c - the value tree of XAPI's RPC, in an arena (see rpc_value.h).
 *
 * The arena is a list of chunks with a bump pointer. Requests larger than a
 * quarter of a chunk get a chunk of their own, so a big string wastes at most
 * the tail of one chunk. Nothing is ever freed before the arena: arrays and
 * structs grow by doubling into fresh arena memory, which keeps the waste
 * under the live size (the sum of a geometric series).
 *
 * Invariants: every pointer handed out is aligned for any scalar type
 * (XS_RPC_ALIGN); every string has a NUL at ptr[len]; items/members of an
 * ARRAY/STRUCT hold n live entries of cap allocated.
 */
#include "xapi/rpc_value.h"

#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "lib/xmalloc.h"

#define XS_RPC_CHUNK 16384      /* bytes of an ordinary arena chunk */
#define XS_RPC_ALIGN alignof(max_align_t)
#define XS_RPC_MIN_ITEMS 4      /* first capacity of an array or struct */

struct xs_rpc_chunk {
	struct xs_rpc_chunk *next; /* older chunks */
	size_t size;               /* bytes of data[] */
	size_t used;               /* bytes of data[] handed out */
	alignas(max_align_t) unsigned char data[];
};

struct xs_rpc_arena {
	struct xs_rpc_chunk *head; /* the chunk we bump-allocate from (may be a big one) */
	size_t bytes;              /* total allocated, headers included */
};

struct xs_rpc_arena *xs_rpc_arena_new(void)
{
	struct xs_rpc_arena *a = xs_xcalloc(1, sizeof(*a));

	return a;
}

void xs_rpc_arena_free(struct xs_rpc_arena **ap)
{
	struct xs_rpc_chunk *c, *next;

	if (ap == NULL || *ap == NULL)
		return;
	for (c = (*ap)->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(*ap);
	*ap = NULL;
}

size_t xs_rpc_arena_bytes(const struct xs_rpc_arena *a)
{
	return a == NULL ? 0 : a->bytes;
}

static struct xs_rpc_chunk *rpc_arena_chunk(struct xs_rpc_arena *a, size_t size)
{
	struct xs_rpc_chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		abort();
	c = xs_xmalloc(sizeof(*c) + size);
	c->size = size;
	c->used = 0;
	a->bytes += sizeof(*c) + size;
	return c;
}

/* n bytes from the arena, aligned; aborts on out-of-memory like xs_xmalloc. */
static void *rpc_arena_alloc(struct xs_rpc_arena *a, size_t n)
{
	struct xs_rpc_chunk *c = a->head;
	size_t need = (n + XS_RPC_ALIGN - 1) & ~(XS_RPC_ALIGN - 1);
	void *p;

	if (need < n)
		abort();
	if (need == 0)
		need = XS_RPC_ALIGN;
	if (c != NULL && c->size - c->used >= need) {
		p = c->data + c->used;
		c->used += need;
		return p;
	}
	if (need > XS_RPC_CHUNK / 4) {
		/* a chunk of its own, linked behind the current one so its tail stays usable */
		struct xs_rpc_chunk *big = rpc_arena_chunk(a, need);

		big->used = need;
		if (c != NULL) {
			big->next = c->next;
			c->next = big;
		} else {
			big->next = NULL;
			a->head = big;
		}
		return big->data;
	}
	c = rpc_arena_chunk(a, XS_RPC_CHUNK);
	c->next = a->head;
	a->head = c;
	c->used = need;
	return c->data;
}

/* A NUL-terminated copy of s[0..n) in the arena. */
static char *rpc_arena_strdup(struct xs_rpc_arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		abort();
	p = rpc_arena_alloc(a, n + 1);
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

const char *xs_rpc_strndup(struct xs_rpc_arena *a, const char *s, size_t n)
{
	return rpc_arena_strdup(a, s, n);
}

static struct xs_rpc_value *rpc_value_new(struct xs_rpc_arena *a, enum xs_rpc_type type)
{
	struct xs_rpc_value *v = rpc_arena_alloc(a, sizeof(*v));

	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

struct xs_rpc_value *xs_rpc_nil(struct xs_rpc_arena *a)
{
	return rpc_value_new(a, XS_RPC_NIL);
}

struct xs_rpc_value *xs_rpc_string(struct xs_rpc_arena *a, const char *s, size_t n)
{
	struct xs_rpc_value *v = rpc_value_new(a, XS_RPC_STRING);

	v->u.str.ptr = rpc_arena_strdup(a, s, n);
	v->u.str.len = n;
	return v;
}

struct xs_rpc_value *xs_rpc_cstring(struct xs_rpc_arena *a, const char *s)
{
	return xs_rpc_string(a, s, strlen(s));
}

struct xs_rpc_value *xs_rpc_int(struct xs_rpc_arena *a, int64_t i)
{
	struct xs_rpc_value *v = rpc_value_new(a, XS_RPC_INT);

	v->u.i = i;
	return v;
}

struct xs_rpc_value *xs_rpc_bool(struct xs_rpc_arena *a, bool b)
{
	struct xs_rpc_value *v = rpc_value_new(a, XS_RPC_BOOL);

	v->u.b = b;
	return v;
}

struct xs_rpc_value *xs_rpc_double(struct xs_rpc_arena *a, double d)
{
	struct xs_rpc_value *v = rpc_value_new(a, XS_RPC_DOUBLE);

	v->u.d = d;
	return v;
}

struct xs_rpc_value *xs_rpc_datetime(struct xs_rpc_arena *a, const char *s, size_t n)
{
	struct xs_rpc_value *v = rpc_value_new(a, XS_RPC_DATETIME);

	v->u.str.ptr = rpc_arena_strdup(a, s, n);
	v->u.str.len = n;
	return v;
}

struct xs_rpc_value *xs_rpc_array(struct xs_rpc_arena *a)
{
	return rpc_value_new(a, XS_RPC_ARRAY);
}

struct xs_rpc_value *xs_rpc_struct(struct xs_rpc_arena *a)
{
	return rpc_value_new(a, XS_RPC_STRUCT);
}

/* Room for one more element of size `elem` in old[0..*cap): a bigger copy when full. */
static void *rpc_grow(struct xs_rpc_arena *a, void *old, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return old;
	ncap = *cap == 0 ? XS_RPC_MIN_ITEMS : *cap * 2;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		abort();
	p = rpc_arena_alloc(a, ncap * elem);
	if (n > 0)
		memcpy(p, old, n * elem);
	*cap = ncap;
	return p;
}

void xs_rpc_array_push(struct xs_rpc_arena *a, struct xs_rpc_value *arr, struct xs_rpc_value *v)
{
	if (arr == NULL || arr->type != XS_RPC_ARRAY)
		abort();
	arr->u.arr.items = rpc_grow(a, arr->u.arr.items, arr->u.arr.n, &arr->u.arr.cap,
				    sizeof(arr->u.arr.items[0]));
	arr->u.arr.items[arr->u.arr.n++] = v;
}

void xs_rpc_struct_set(struct xs_rpc_arena *a, struct xs_rpc_value *st, const char *key,
		       size_t key_len, struct xs_rpc_value *v)
{
	struct xs_rpc_member *m;

	if (st == NULL || st->type != XS_RPC_STRUCT)
		abort();
	st->u.st.members = rpc_grow(a, st->u.st.members, st->u.st.n, &st->u.st.cap,
				    sizeof(st->u.st.members[0]));
	m = &st->u.st.members[st->u.st.n++];
	m->key = rpc_arena_strdup(a, key, key_len);
	m->key_len = key_len;
	m->value = v;
}

void xs_rpc_struct_cset(struct xs_rpc_arena *a, struct xs_rpc_value *st, const char *key,
			struct xs_rpc_value *v)
{
	xs_rpc_struct_set(a, st, key, strlen(key), v);
}

const struct xs_rpc_value *xs_rpc_get(const struct xs_rpc_value *st, const char *key)
{
	size_t i, klen;

	if (st == NULL || st->type != XS_RPC_STRUCT || key == NULL)
		return NULL;
	klen = strlen(key);
	/* from the end: the last duplicate wins */
	for (i = st->u.st.n; i-- > 0;) {
		const struct xs_rpc_member *m = &st->u.st.members[i];

		if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
			return m->value;
	}
	return NULL;
}

const struct xs_rpc_value *xs_rpc_at(const struct xs_rpc_value *arr, size_t i)
{
	if (arr == NULL || arr->type != XS_RPC_ARRAY || i >= arr->u.arr.n)
		return NULL;
	return arr->u.arr.items[i];
}

const char *xs_rpc_get_str(const struct xs_rpc_value *st, const char *key)
{
	const struct xs_rpc_value *v = xs_rpc_get(st, key);

	if (v == NULL || (v->type != XS_RPC_STRING && v->type != XS_RPC_DATETIME))
		return NULL;
	return v->u.str.ptr;
}

bool xs_rpc_get_i64(const struct xs_rpc_value *st, const char *key, int64_t *out)
{
	const struct xs_rpc_value *v = xs_rpc_get(st, key);

	if (v == NULL)
		return false;
	if (v->type == XS_RPC_INT) {
		*out = v->u.i;
		return true;
	}
	if (v->type == XS_RPC_STRING)
		return xs_num_i64_from_slice(v->u.str.ptr, v->u.str.len, out);
	return false;
}

bool xs_rpc_get_bool(const struct xs_rpc_value *st, const char *key, bool *out)
{
	const struct xs_rpc_value *v = xs_rpc_get(st, key);

	if (v == NULL)
		return false;
	if (v->type == XS_RPC_BOOL) {
		*out = v->u.b;
		return true;
	}
	if (v->type == XS_RPC_STRING && strcmp(v->u.str.ptr, "true") == 0) {
		*out = true;
		return true;
	}
	if (v->type == XS_RPC_STRING && strcmp(v->u.str.ptr, "false") == 0) {
		*out = false;
		return true;
	}
	return false;
}

/* Doubles are equal when bit-for-bit the same value: NaN equals NaN, so round trips compare. */
static bool rpc_double_equal(double x, double y)
{
	if (x != x || y != y)
		return x != x && y != y;
	return x == y && (x != 0 || (signbit(x) == signbit(y)));
}

bool xs_rpc_equal(const struct xs_rpc_value *a, const struct xs_rpc_value *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case XS_RPC_NIL:
		return true;
	case XS_RPC_STRING:
	case XS_RPC_DATETIME:
		return a->u.str.len == b->u.str.len &&
		       (a->u.str.len == 0 || memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0);
	case XS_RPC_INT:
		return a->u.i == b->u.i;
	case XS_RPC_BOOL:
		return a->u.b == b->u.b;
	case XS_RPC_DOUBLE:
		return rpc_double_equal(a->u.d, b->u.d);
	case XS_RPC_ARRAY:
		if (a->u.arr.n != b->u.arr.n)
			return false;
		for (i = 0; i < a->u.arr.n; i++)
			if (!xs_rpc_equal(a->u.arr.items[i], b->u.arr.items[i]))
				return false;
		return true;
	case XS_RPC_STRUCT:
		if (a->u.st.n != b->u.st.n)
			return false;
		for (i = 0; i < a->u.st.n; i++) {
			const struct xs_rpc_member *x = &a->u.st.members[i], *y = &b->u.st.members[i];

			if (x->key_len != y->key_len ||
			    (x->key_len > 0 && memcmp(x->key, y->key, x->key_len) != 0) ||
			    !xs_rpc_equal(x->value, y->value))
				return false;
		}
		return true;
	}
	return false;
}

const char *xs_rpc_reply_code(const struct xs_rpc_reply *r)
{
	const struct xs_rpc_value *v;

	if (r == NULL || r->ok)
		return "";
	v = xs_rpc_at(r->value, 0);
	if (v == NULL || v->type != XS_RPC_STRING)
		return "";
	return v->u.str.ptr;
}

const char *xs_rpc_reply_param(const struct xs_rpc_reply *r, size_t i)
{
	const struct xs_rpc_value *v;

	if (r == NULL || r->ok || i == SIZE_MAX)
		return NULL;
	v = xs_rpc_at(r->value, i + 1);
	if (v == NULL || v->type != XS_RPC_STRING)
		return NULL;
	return v->u.str.ptr;
}
