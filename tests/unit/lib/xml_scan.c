/*
 * Tests of src/lib/xml_scan.c: each token kind, the "incomplete" rule at
 * the buffer end, caps, entities, and refused markup.
 */
#include <string.h>

#include "lib/xml_scan.h"
#include "test.h"

struct tok_case {
	const char *in;
	ptrdiff_t used; /* expected return */
	int kind;       /* expected kind when used > 0 */
	const char *name_or_text;
	const char *note;
};

static void test_token_table(void)
{
	static const struct tok_case cases[] = {
		{ "<xport>", 7, XS_XML_OPEN, "xport", "open" },
		{ "</xport>", 8, XS_XML_CLOSE, "xport", "close" },
		{ "</xport  >", 10, XS_XML_CLOSE, "xport", "close with space" },
		{ "<data/>", 7, XS_XML_EMPTY, "data", "empty" },
		{ "<data />", 8, XS_XML_EMPTY, "data", "empty with space" },
		{ "<a x=\"1>2\" y='/'>", 17, XS_XML_OPEN, "a", "attributes skipped, quotes honoured" },
		{ "0.1411</v>", 6, XS_XML_TEXT, "0.1411", "text up to <" },
		{ "  \n <v>", 4, XS_XML_SPACE, NULL, "white space" },
		{ "<?xml version=\"1.0\"?><a>", 21, XS_XML_SPACE, NULL, "declaration" },
		{ "<!-- c -- d --><a>", 15, XS_XML_SPACE, NULL, "comment" },
		{ "<![CDATA[a<b]]></v>", 15, XS_XML_TEXT, "a<b", "CDATA" },
		{ "<xpo", 0, 0, NULL, "open cut" },
		{ "<", 0, 0, NULL, "lone <" },
		{ "</xport", 0, 0, NULL, "close cut" },
		{ "0.14", 0, 0, NULL, "text cut: may go on" },
		{ "   ", 3, XS_XML_SPACE, NULL, "white space taken as it comes" },
		{ "<!-- c -", 0, 0, NULL, "comment cut" },
		{ "<!-", 0, 0, NULL, "comment opener cut" },
		{ "<![CDA", 0, 0, NULL, "CDATA opener cut" },
		{ "<!DOCTYPE x [<!ENTITY a 'b'>]>", -1, 0, NULL, "DOCTYPE refused" },
		{ "<1a>", -1, 0, NULL, "bad name start" },
		{ "<a\"b>", -1, 0, NULL, "bad name char" },
		{ "</a b>", -1, 0, NULL, "junk in close" },
		{ "<a <b>", -1, 0, NULL, "< inside tag" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tok_case *c = &cases[i];
		struct xs_xml_token t;
		enum xs_err code = XS_OK;
		char err[XS_ERR_LEN] = "";
		ptrdiff_t n = xs_xml_next(c->in, strlen(c->in), false, 0, &t, &code, err);

		if (!ok(n == c->used, "%s: used %td, want %td (%s)", c->note, n, c->used, err))
			continue;
		if (n < 0)
			ok(code != XS_OK && !strncmp(err, "byte 0: ", 8), "%s: %s", c->note, err);
		if (n <= 0)
			continue;
		ok((int)t.kind == c->kind, "%s: kind %d", c->note, (int)t.kind);
		if (c->name_or_text && (t.kind == XS_XML_TEXT))
			ok(t.text_len == strlen(c->name_or_text) &&
				   !memcmp(t.text, c->name_or_text, t.text_len),
			   "%s: text", c->note);
		else if (c->name_or_text)
			ok(xs_xml_name_is(&t, c->name_or_text), "%s: name", c->note);
	}
}

static void test_eof_turns_incomplete_into_errors(void)
{
	static const char *const cut[] = { "<xpo", "<", "</a", "<!-- x", "<![CDATA[x" };
	struct xs_xml_token t;
	enum xs_err code;
	char err[XS_ERR_LEN];

	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		code = XS_OK;
		ok(xs_xml_next(cut[i], strlen(cut[i]), true, 100, &t, &code, err) == -1 &&
			   code == XS_ERR_TRUNCATED && !strncmp(err, "byte 100: ", 10),
		   "'%s' at eof: %s", cut[i], err);
	}
	ok(xs_xml_next("12", 2, true, 0, &t, &code, err) == 2 && t.kind == XS_XML_TEXT,
	   "text at eof is complete");
}

static void test_caps(void)
{
	static char buf[XS_XML_MAX_TEXT * 3];
	struct xs_xml_token t;
	enum xs_err code = XS_OK;
	char err[XS_ERR_LEN];

	memset(buf, 'a', sizeof(buf));
	ok(xs_xml_next(buf, sizeof(buf), false, 0, &t, &code, err) == -1 &&
		   code == XS_ERR_TOO_LARGE,
	   "endless text refused");
	buf[0] = '<';
	ok(xs_xml_next(buf, sizeof(buf), false, 0, &t, &code, err) == -1 &&
		   code == XS_ERR_TOO_LARGE,
	   "endless tag refused");
	memcpy(buf, "<!--", 4);
	ok(xs_xml_next(buf, sizeof(buf), false, 0, &t, &code, err) == -1 &&
		   code == XS_ERR_TOO_LARGE,
	   "endless comment refused");
	memset(buf, ' ', sizeof(buf));
	ok(xs_xml_next(buf, sizeof(buf), false, 0, &t, &code, err) == (ptrdiff_t)sizeof(buf),
	   "white space has no cap");
}

static void test_unescape(void)
{
	char out[64];
	ptrdiff_t n;

	n = xs_xml_unescape("a&amp;b&lt;&gt;&quot;&apos;", 27, out, sizeof(out));
	ok(n == 7 && !memcmp(out, "a&b<>\"'", 7), "named entities");
	n = xs_xml_unescape("&#65;&#x42;&#xe9;&#x1F600;", 26, out, sizeof(out));
	ok(n == 1 + 1 + 2 + 4 && !memcmp(out, "AB\xC3\xA9\xF0\x9F\x98\x80", 8), "references");
	ok(xs_xml_unescape("&bogus;", 7, out, sizeof(out)) < 0, "unknown entity");
	ok(xs_xml_unescape("&amp", 4, out, sizeof(out)) < 0, "no semicolon");
	ok(xs_xml_unescape("&#0;", 4, out, sizeof(out)) < 0, "NUL reference");
	ok(xs_xml_unescape("&#xD800;", 8, out, sizeof(out)) < 0, "surrogate");
	ok(xs_xml_unescape("&#x110000;", 10, out, sizeof(out)) < 0, "beyond Unicode");
	ok(xs_xml_unescape("abcdef", 6, out, 3) < 0, "output cap");
}

int main(void)
{
	TEST_RUN(test_token_table);
	TEST_RUN(test_eof_turns_incomplete_into_errors);
	TEST_RUN(test_caps);
	TEST_RUN(test_unescape);
	return test_summary();
}
