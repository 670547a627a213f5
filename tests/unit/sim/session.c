/*
 * Tests of sim/session.c: create / check / destroy, refs unique and
 * deterministic per seed, the idle expiry, expire_all, and the table cap
 * (the least recently active session is dropped first), with the index
 * staying consistent through many removals (backward-shift deletion).
 */
#include <string.h>

#include "../../../sim/session.c"
#include "test.h"

#define T0 1700000000.0

static void test_basic(void)
{
	struct sim_sessions *s = sim_sessions_new(1);
	char a[SIM_REF_LEN], b[SIM_REF_LEN];

	sim_session_create(s, 0, "root", "test", T0, a);
	sim_session_create(s, 3, "root", NULL, T0, b);
	ok(strncmp(a, "OpaqueRef:", 10) == 0 && strlen(a) == 46, "ref form: %s", a);
	ok(strcmp(a, b) != 0, "refs differ");
	ok(sim_sessions_count(s) == 2, "two live");
	ok(sim_session_check(s, a, T0 + 1) == 0, "a in pool 0");
	ok(sim_session_check(s, b, T0 + 1) == 3, "b in pool 3");
	ok(sim_session_check(s, "OpaqueRef:nope", T0) == -1, "unknown");
	ok(sim_session_check(s, NULL, T0) == -1, "NULL");
	ok(sim_session_destroy(s, a), "destroy a");
	ok(!sim_session_destroy(s, a), "destroy a twice");
	ok(sim_session_check(s, a, T0) == -1, "a gone");
	ok(sim_session_check(s, b, T0) == 3, "b still there");
	sim_sessions_expire_all(s);
	ok(sim_session_check(s, b, T0) == -1 && sim_sessions_count(s) == 0, "expire_all");
	sim_sessions_free(&s);
	ok(s == NULL, "free sets NULL");
	sim_sessions_free(&s);
}

static void test_deterministic(void)
{
	struct sim_sessions *s1 = sim_sessions_new(7), *s2 = sim_sessions_new(7);
	struct sim_sessions *s3 = sim_sessions_new(8);
	char a[SIM_REF_LEN], b[SIM_REF_LEN], c[SIM_REF_LEN];

	sim_session_create(s1, 0, "u", "o", T0, a);
	sim_session_create(s2, 0, "u", "o", T0, b);
	sim_session_create(s3, 0, "u", "o", T0, c);
	ok(strcmp(a, b) == 0, "same seed, same ref");
	ok(strcmp(a, c) != 0, "other seed, other ref");
	sim_sessions_free(&s1);
	sim_sessions_free(&s2);
	sim_sessions_free(&s3);
}

static void test_expiry(void)
{
	struct sim_sessions *s = sim_sessions_new(2);
	char a[SIM_REF_LEN], b[SIM_REF_LEN];

	sim_session_create(s, 1, "root", "x", T0, a);
	sim_session_create(s, 1, "root", "x", T0, b);
	/* use keeps a alive */
	ok(sim_session_check(s, a, T0 + SIM_SESSION_EXPIRY - 10) == 1, "a used before expiry");
	ok(sim_session_check(s, a, T0 + 2 * SIM_SESSION_EXPIRY - 20) == 1, "a still alive");
	ok(sim_session_check(s, b, T0 + SIM_SESSION_EXPIRY + 1) == -1, "b idle too long");
	ok(sim_sessions_count(s) == 1, "b dropped");
	sim_sessions_free(&s);
}

static void test_cap(void)
{
	struct sim_sessions *s = sim_sessions_new(3);
	static char refs[SIM_SESSIONS_MAX + 10][SIM_REF_LEN];
	bool good = true;

	for (int i = 0; i < SIM_SESSIONS_MAX; i++)
		sim_session_create(s, 0, "u", "o", T0 + i, refs[i]);
	ok(sim_sessions_count(s) == SIM_SESSIONS_MAX, "full");
	/* refresh the first: the second is now the least recently active */
	ok(sim_session_check(s, refs[0], T0 + SIM_SESSIONS_MAX) == 0, "use the first");
	sim_session_create(s, 0, "u", "o", T0 + SIM_SESSIONS_MAX + 1, refs[SIM_SESSIONS_MAX]);
	ok(sim_sessions_count(s) == SIM_SESSIONS_MAX, "still at the cap");
	ok(sim_session_check(s, refs[1], T0 + SIM_SESSIONS_MAX + 2) == -1, "oldest idle dropped");
	ok(sim_session_check(s, refs[0], T0 + SIM_SESSIONS_MAX + 2) == 0, "refreshed one kept");
	/* remove every other one, then all the rest must still be found */
	for (int i = 2; i < SIM_SESSIONS_MAX; i += 2)
		good &= sim_session_destroy(s, refs[i]);
	ok(good, "destroy every other");
	for (int i = 3; i < SIM_SESSIONS_MAX; i += 2)
		good &= sim_session_check(s, refs[i], T0 + SIM_SESSIONS_MAX + 3) == 0;
	ok(good, "the others are still found");
	for (int i = 2; i < SIM_SESSIONS_MAX; i += 2)
		good &= sim_session_check(s, refs[i], T0 + SIM_SESSIONS_MAX + 3) == -1;
	ok(good, "the destroyed are not");
	for (int i = 3; i < SIM_SESSIONS_MAX; i += 2)
		good &= sim_session_destroy(s, refs[i]);
	ok(good && sim_sessions_count(s) == 2, "down to two: %zu", sim_sessions_count(s));
	for (size_t b = 0, n = 0; b <= SESSION_INDEX_CAP; b++) {
		if (b == SESSION_INDEX_CAP) {
			ok(n == 2, "index holds two entries: %zu", n);
			break;
		}
		n += s->index[b] != SESSION_EMPTY;
	}
	sim_sessions_free(&s);
}

int main(void)
{
	TEST_RUN(test_basic);
	TEST_RUN(test_deterministic);
	TEST_RUN(test_expiry);
	TEST_RUN(test_cap);
	return test_summary();
}
