/*
 * xorshift.h - test support: Marsaglia's xorshift64 (13, 7, 17), the one
 * pseudo-random step the tests share. Each test keeps its own state (a seeded
 * uint64_t), so its sequence, and what it checks, does not depend on other tests.
 * Not for anything but tests: no quality claims beyond "varied and repeatable".
 */
#ifndef XS_TEST_XORSHIFT_H
#define XS_TEST_XORSHIFT_H

#include <stdint.h>

/* Advances *state (never 0) and returns it. */
__attribute__((unused)) static uint64_t xorshift64(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

#endif
