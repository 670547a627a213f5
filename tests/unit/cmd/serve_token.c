/*
 * Tests of the API token file reader of `xapistat serve` (serve_read_token in
 * src/cmd_serve.c, reached by including the .c): a table of file contents and
 * the token taken, or the refusal's reason. Among them a file whose first
 * 1023 bytes are a token and newlines and whose rest is a second line: the
 * reader saw only its first 1023 bytes and took the token, ignoring the rest
 * (found by fuzz/serve_token.c); a file longer than that is now refused.
 */
#include <stdio.h>
#include <string.h>

#include "cmd_serve.c"
#include "support/tmp_dir.h"
#include "test.h"

#define TOK_LEN 1200

static char tok_dir[TMP_DIR_LEN];

/* Reads a file of n bytes of text through serve_read_token; err as it says. */
static char *tok_read(const char *text, size_t n, char *err)
{
	char path[TMP_DIR_LEN + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/token", tok_dir);
	f = fopen(path, "w");
	if (!f || fwrite(text, 1, n, f) != n || fclose(f))
		abort();
	err[0] = '\0';
	return serve_read_token(path, err);
}

static void test_table(void)
{
	static const struct {
		const char *text;
		const char *token; /* NULL: refused */
		const char *err;   /* part of the refusal */
	} cases[] = {
		{ "t0ken\n", "t0ken", NULL },
		{ " \t\nt0ken\r\n\n \t", "t0ken", NULL },
		{ "", NULL, "empty" },
		{ "\n \t\r\n", NULL, "empty" },
		{ "abc\ndef\n", NULL, "byte 4 is 0x0a" },
		{ "abc def", NULL, "byte 4 is 0x20" },
		{ "ab\x7f", NULL, "byte 3 is 0x7f" },
		{ "\r\nabc", "abc", NULL }, /* a CRLF blank line first (docs/CONFIG.md: line ends) */
		{ "ab\rc", NULL, "byte 3 is 0x0d" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[XS_ERR_LEN];
		char *t = tok_read(cases[i].text, strlen(cases[i].text), err);

		if (cases[i].token)
			ok(t && !strcmp(t, cases[i].token), "case %zu: token %s (%s)", i, t ? t : "NULL",
			   err);
		else
			ok(!t && strstr(err, cases[i].err), "case %zu: refused: %s", i, err);
		serve_token_free(&t);
	}
}

static void test_long(void)
{
	static char text[TOK_LEN];
	char err[XS_ERR_LEN], *t;

	/* the longest token taken, and one byte more */
	memset(text, 'A', 1021);
	text[1021] = '\n';
	t = tok_read(text, 1022, err);
	ok(t && strlen(t) == 1021, "1021 bytes: taken (%s)", err);
	serve_token_free(&t);
	memset(text, 'A', 1022);
	t = tok_read(text, 1022, err);
	ok(!t && strstr(err, "longer than 1 KiB"), "1022 bytes: refused: %s", err);
	serve_token_free(&t);
	/* a token, newlines past the 1023rd byte, then a second line: not one word */
	memset(text, 'C', 900);
	memset(text + 900, '\n', 200);
	memcpy(text + 1100, "junk\n", 5);
	t = tok_read(text, 1105, err);
	ok(!t && strstr(err, "longer than 1 KiB"), "a second line past 1023 bytes: refused (%s)",
	   t ? "taken" : err);
	serve_token_free(&t);
}

int main(void)
{
	tmp_dir_new(tok_dir, "serve-token");
	TEST_RUN(test_table);
	TEST_RUN(test_long);
	tmp_dir_remove(tok_dir);
	return test_summary();
}
