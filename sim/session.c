/*
 * session.c - the sessions of xapi-sim (see session.h).
 *
 * Sessions live in a fixed table of SIM_SESSIONS_MAX slots; an open-addressing
 * index (linear probing, power-of-two size, at most half full) maps a ref to
 * its slot. Removal uses backward-shift deletion, so the index never holds
 * tombstones and a lookup stops at the first empty bucket.
 *
 * Invariants: a slot is in the index exactly when it is live; `live` counts
 * them; refs are unique (drawn from a splitmix64 stream seeded by the seed,
 * 122 random bits each).
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

#define SESSION_INDEX_CAP 16384 /* buckets: a power of two, at least 2 * SIM_SESSIONS_MAX */
#define SESSION_NAME_LEN 64     /* user and originator kept for debugging */
#define SESSION_EMPTY (-1)

struct session_slot {
	bool live;
	int pool;
	double last_active;                   /* unix seconds of its last use */
	char ref[SIM_REF_LEN];
	char user[SESSION_NAME_LEN];
	char originator[SESSION_NAME_LEN];
};

struct sim_sessions {
	uint64_t rng;                         /* splitmix64 state for new refs */
	struct session_slot slots[SIM_SESSIONS_MAX];
	int index[SESSION_INDEX_CAP];         /* slot numbers, SESSION_EMPTY for none */
	size_t live;
};

static uint64_t session_rand(struct sim_sessions *s)
{
	uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static size_t session_hash(const char *ref)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *ref; ref++)
		h = (h ^ (unsigned char)*ref) * 1099511628211ull;
	return (size_t)(h & (SESSION_INDEX_CAP - 1));
}

/* The bucket holding ref, or the empty bucket where it would go. */
static size_t session_bucket(const struct sim_sessions *s, const char *ref)
{
	size_t b = session_hash(ref);

	while (s->index[b] != SESSION_EMPTY && strcmp(s->slots[s->index[b]].ref, ref) != 0)
		b = (b + 1) & (SESSION_INDEX_CAP - 1);
	return b;
}

static void session_unindex(struct sim_sessions *s, size_t b)
{
	size_t hole = b, next = b;

	s->index[b] = SESSION_EMPTY;
	for (;;) {
		size_t home;

		next = (next + 1) & (SESSION_INDEX_CAP - 1);
		if (s->index[next] == SESSION_EMPTY)
			return;
		home = session_hash(s->slots[s->index[next]].ref);
		/* move the entry back unless its home lies cyclically in (hole, next] */
		if ((next > hole && (home <= hole || home > next)) ||
		    (next < hole && home <= hole && home > next)) {
			s->index[hole] = s->index[next];
			s->index[next] = SESSION_EMPTY;
			hole = next;
		}
	}
}

static void session_drop(struct sim_sessions *s, int slot)
{
	session_unindex(s, session_bucket(s, s->slots[slot].ref));
	s->slots[slot].live = false;
	s->live--;
}

struct sim_sessions *sim_sessions_new(uint64_t seed)
{
	struct sim_sessions *s = xs_xcalloc(1, sizeof(*s));

	s->rng = seed ^ 0x5E55105E55105E55ull; /* a stream apart from the world's uuids */
	for (size_t i = 0; i < SESSION_INDEX_CAP; i++)
		s->index[i] = SESSION_EMPTY;
	return s;
}

void sim_sessions_free(struct sim_sessions **s)
{
	if (s == NULL || *s == NULL)
		return;
	free(*s);
	*s = NULL;
}

/* A free slot, dropping the least recently active session if the table is full. */
static int session_free_slot(struct sim_sessions *s)
{
	int oldest = 0;

	for (int i = 0; i < SIM_SESSIONS_MAX; i++) {
		if (!s->slots[i].live)
			return i;
		if (s->slots[i].last_active < s->slots[oldest].last_active)
			oldest = i;
	}
	session_drop(s, oldest);
	return oldest;
}

void sim_session_create(struct sim_sessions *s, int pool, const char *user,
			const char *originator, double now, char *ref)
{
	int slot = session_free_slot(s);
	struct session_slot *e = &s->slots[slot];
	size_t b;

	do {
		uint64_t hi = session_rand(s), lo = session_rand(s);

		hi = (hi & ~0xF000ull) | 0x4000ull;
		lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
		snprintf(e->ref, sizeof(e->ref), "OpaqueRef:%08x-%04x-%04x-%04x-%012llx",
			 (unsigned)(hi >> 32), (unsigned)(hi >> 16) & 0xFFFFu,
			 (unsigned)hi & 0xFFFFu, (unsigned)(lo >> 48) & 0xFFFFu,
			 (unsigned long long)(lo & 0xFFFFFFFFFFFFull));
		b = session_bucket(s, e->ref);
	} while (s->index[b] != SESSION_EMPTY); /* a repeat of a live ref: draw again */
	e->live = true;
	e->pool = pool;
	e->last_active = now;
	snprintf(e->user, sizeof(e->user), "%s", user ? user : "");
	snprintf(e->originator, sizeof(e->originator), "%s", originator ? originator : "");
	s->index[b] = slot;
	s->live++;
	memcpy(ref, e->ref, SIM_REF_LEN);
}

int sim_session_check(struct sim_sessions *s, const char *ref, double now)
{
	size_t b;
	int slot;

	if (ref == NULL || strlen(ref) >= SIM_REF_LEN)
		return -1;
	b = session_bucket(s, ref);
	slot = s->index[b];
	if (slot == SESSION_EMPTY)
		return -1;
	if (now - s->slots[slot].last_active > SIM_SESSION_EXPIRY) {
		session_drop(s, slot);
		return -1;
	}
	if (now > s->slots[slot].last_active)
		s->slots[slot].last_active = now;
	return s->slots[slot].pool;
}

bool sim_session_destroy(struct sim_sessions *s, const char *ref)
{
	size_t b;

	if (ref == NULL || strlen(ref) >= SIM_REF_LEN)
		return false;
	b = session_bucket(s, ref);
	if (s->index[b] == SESSION_EMPTY)
		return false;
	session_drop(s, s->index[b]);
	return true;
}

void sim_sessions_expire_all(struct sim_sessions *s)
{
	for (size_t i = 0; i < SESSION_INDEX_CAP; i++)
		s->index[i] = SESSION_EMPTY;
	for (int i = 0; i < SIM_SESSIONS_MAX; i++)
		s->slots[i].live = false;
	s->live = 0;
}

size_t sim_sessions_count(const struct sim_sessions *s)
{
	return s->live;
}
