/*
 * test.h - the tiny test harness of xapistat's unit tests.
 *
 * A test program is one tests/unit/<dir>/<name>.c with a main() that calls
 * TEST_RUN(fn) for each test function and returns test_summary(). Checks:
 *   ok(cond, fmt, ...)            records one check, prints "not ok" lines only
 *   fail_unless(cond, fmt, ...)   the same, and returns from the test on failure
 * The program prints "N passed, N failed" (checks) and exits non-zero on any
 * failure. tests/run.sh adds the programs' counts into one closing line.
 * A test may #include the .c under test to reach its static functions.
 * TEST_ONLY=fn in the environment runs only the test function named fn (and
 * fails the program if it has none of that name).
 */
#ifndef XS_TEST_H
#define XS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed;
static int test_failed;
static int test_ran; /* test functions run */
static const char *test_current = "";

__attribute__((format(printf, 4, 5), unused)) static int test_check(int cond, const char *file, int line,
								     const char *fmt, ...);

#include <stdarg.h>
static int test_check(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		test_passed++;
		return 1;
	}
	test_failed++;
	fprintf(stderr, "not ok: %s (%s:%d): ", test_current, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

#define ok(cond, ...) test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define fail_unless(cond, ...)                                   \
	do {                                                     \
		if (!test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)) \
			return;                                  \
	} while (0)

#define TEST_RUN(fn)                                                      \
	do {                                                              \
		const char *test_only = getenv("TEST_ONLY");               \
		if (!test_only || !test_only[0] || !strcmp(test_only, #fn)) { \
			test_current = #fn;                                \
			test_ran++;                                        \
			fn();                                              \
		}                                                          \
	} while (0)

__attribute__((unused)) static int test_summary(void)
{
	const char *only = getenv("TEST_ONLY");

	if (only && only[0] && !test_ran) {
		fprintf(stderr, "not ok: TEST_ONLY=%s names no test function of this program\n", only);
		test_failed++;
	}
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
