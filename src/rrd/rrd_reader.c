/*
 * rrd_reader.c - recognises an RRD document and drives its reader (see
 * rrd_reader.h).
 *
 * Recognition looks past a UTF-8 byte-order mark, white space, the XML
 * declaration, comments and processing instructions to the root element
 * (<xport> = /rrd_updates, <rrd> = dump), or past '{' to the first key
 * ("meta" or "data" = /rrd_updates; "version", "step", "lastupdate", "ds", "rra" =
 * dump; keys quoted or not). Until then it keeps at most XS_RRD_DETECT_MAX
 * bytes; the first chunk is examined in place when it is long enough (its
 * first XS_RRD_DETECT_MAX bytes: the outcome never depends on the chunking).
 */
#include "rrd/rrd_reader.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

#define DETECT_MAX_KEY 32 /* longest first key / root name worth comparing */

enum detect_status { DETECT_FOUND, DETECT_MORE, DETECT_FAIL };

struct xs_rrd_reader {
	const struct xs_rrd_sink *sink;
	void *ctx;
	const struct xs_rrd_parser_class *cls; /* NULL while detecting */
	void *parser;
	bool failed;
	size_t head_len;                       /* bytes kept while detecting */
	char head[XS_RRD_DETECT_MAX];
	char err[XS_ERR_LEN];
	struct xs_feed feed;
};

static bool detect_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool detect_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':';
}

/* Skips "<?...?>" or "<!--...-->" at p. Returns the end, NULL if incomplete. */
static const char *detect_skip_markup(const char *p, const char *end)
{
	const char *close = p[1] == '?' ? "?>" : "-->";
	const char *q = memmem(p + 2, (size_t)(end - p - 2), close, strlen(close));

	return q ? q + strlen(close) : NULL;
}

static enum detect_status detect_xml(const char *p, const char *end, size_t *at,
				     const struct xs_rrd_parser_class **cls, const char *start)
{
	for (;;) {
		const char *name;

		while (p < end && detect_space(*p))
			p++;
		*at = (size_t)(p - start);
		if (p == end || end - p < 4)
			return DETECT_MORE;
		if (*p != '<')
			return DETECT_FAIL;
		if (p[1] == '?' || (p[1] == '!' && p[2] == '-' && p[3] == '-')) {
			p = detect_skip_markup(p, end);
			if (!p)
				return DETECT_MORE;
			continue;
		}
		name = ++p;
		while (p < end && detect_name_char(*p))
			p++;
		if (p == end)
			return DETECT_MORE;
		if (p - name == 5 && !memcmp(name, "xport", 5))
			*cls = &xs_rrd_xml_updates_class;
		else if (p - name == 3 && !memcmp(name, "rrd", 3))
			*cls = &xs_rrd_xml_dump_class;
		else
			return DETECT_FAIL;
		return DETECT_FOUND;
	}
}

static enum detect_status detect_json(const char *p, const char *end, size_t *at,
				      const struct xs_rrd_parser_class **cls, const char *start)
{
	static const char *const dump_keys[] = { "version", "step", "lastupdate", "ds", "rra" };
	const char *key;
	size_t n;

	p++; /* '{' */
	while (p < end && detect_space(*p))
		p++;
	*at = (size_t)(p - start);
	if (p == end)
		return DETECT_MORE;
	if (*p == '"')
		p++;
	key = p;
	while (p < end && detect_name_char(*p) && *p != ':' && p - key <= DETECT_MAX_KEY)
		p++;
	if (p == end)
		return DETECT_MORE;
	n = (size_t)(p - key);
	if (n == 4 && (!memcmp(key, "meta", 4) || !memcmp(key, "data", 4))) {
		*cls = &xs_rrd_json_updates_class;
		return DETECT_FOUND;
	}
	for (size_t i = 0; i < sizeof(dump_keys) / sizeof(dump_keys[0]); i++) {
		if (n == strlen(dump_keys[i]) && !memcmp(key, dump_keys[i], n)) {
			*cls = &xs_rrd_json_dump_class;
			return DETECT_FOUND;
		}
	}
	return DETECT_FAIL;
}

/* Looks at buf for the document kind. On DETECT_FAIL, *at is where it went wrong. */
static enum detect_status detect(const char *buf, size_t len, size_t *at,
				 const struct xs_rrd_parser_class **cls)
{
	const char *p = buf, *end = buf + len;

	if (len < 3 && len && !memcmp(p, "\xEF\xBB\xBF", len))
		return DETECT_MORE; /* maybe a byte-order mark */
	if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (p < end && detect_space(*p))
		p++;
	*at = (size_t)(p - buf);
	if (p == end)
		return DETECT_MORE;
	if (*p == '<')
		return detect_xml(p, end, at, cls, buf);
	if (*p == '{')
		return detect_json(p, end, at, cls, buf);
	return DETECT_FAIL;
}

static struct xs_rrd_reader *reader_alloc(const struct xs_rrd_sink *sink, void *ctx)
{
	struct xs_rrd_reader *r = xs_xcalloc(1, sizeof(*r));

	r->sink = sink;
	r->ctx = ctx;
	return r;
}

static void reader_start(struct xs_rrd_reader *r, const struct xs_rrd_parser_class *cls)
{
	r->cls = cls;
	r->parser = cls->create(r->sink, r->ctx);
	xs_feed_init(&r->feed, cls->parse, r->parser);
}

struct xs_rrd_reader *xs_rrd_reader_new(const struct xs_rrd_sink *sink, void *ctx)
{
	return reader_alloc(sink, ctx);
}

struct xs_rrd_reader *xs_rrd_reader_new_for(const struct xs_rrd_parser_class *cls,
					    const struct xs_rrd_sink *sink, void *ctx)
{
	struct xs_rrd_reader *r = reader_alloc(sink, ctx);

	reader_start(r, cls);
	return r;
}

static enum xs_err reader_fail_detect(struct xs_rrd_reader *r, size_t at, bool eof)
{
	r->failed = true;
	if (eof)
		return xs_err_at(r->err, XS_ERR_TRUNCATED, at,
				 "input ended before an RRD document began");
	return xs_err_at(r->err, XS_ERR_PARSE, at,
			 "expected an RRD document: <xport>, <rrd>, or a JSON object "
			 "starting with \"meta\", \"data\" or an RRD field");
}

/* Detection on what is known so far; starts the parser when found. */
static enum xs_err reader_detect(struct xs_rrd_reader *r, const char *data, size_t len,
				 bool eof, bool *started)
{
	const struct xs_rrd_parser_class *cls = NULL;
	size_t at = 0;
	/* the first XS_RRD_DETECT_MAX bytes only, however they came: a first chunk
	 * examined in place must not find a root that a reader given the same bytes
	 * in smaller chunks (kept in head) never sees */
	enum detect_status st = detect(data, len < sizeof(r->head) ? len : sizeof(r->head), &at, &cls);

	*started = false;
	if (st == DETECT_FAIL)
		return reader_fail_detect(r, at, false);
	if (st == DETECT_MORE) {
		if (eof)
			return reader_fail_detect(r, at, true);
		if (len >= sizeof(r->head))
			return reader_fail_detect(r, at, false);
		return XS_OK;
	}
	reader_start(r, cls);
	*started = true;
	return XS_OK;
}

enum xs_err xs_rrd_reader_push(struct xs_rrd_reader *r, const char *data, size_t len)
{
	enum xs_err rc;
	bool started;

	if (r->failed)
		return r->cls ? r->feed.code : XS_ERR_PARSE;
	if (!r->cls) {
		if (r->head_len == 0) {
			/* the first chunk, examined in place */
			rc = reader_detect(r, data, len, false, &started);
			if (rc)
				return rc;
			if (!started) {
				memcpy(r->head, data, len);
				r->head_len = len;
				return XS_OK;
			}
		} else {
			size_t take = sizeof(r->head) - r->head_len;
			size_t old = r->head_len;

			if (take > len)
				take = len;
			memcpy(r->head + r->head_len, data, take);
			r->head_len += take;
			rc = reader_detect(r, r->head, r->head_len, false, &started);
			if (rc)
				return rc;
			if (!started) {
				/* everything fit in head (or head is full and failed above) */
				return XS_OK;
			}
			rc = xs_feed_push(&r->feed, r->head, old);
			if (rc) {
				r->failed = true;
				return rc;
			}
		}
	}
	rc = xs_feed_push(&r->feed, data, len);
	if (rc)
		r->failed = true;
	return rc;
}

enum xs_err xs_rrd_reader_finish(struct xs_rrd_reader *r)
{
	enum xs_err rc;
	bool started = false;

	if (r->failed)
		return r->cls ? r->feed.code : XS_ERR_PARSE;
	if (!r->cls) {
		rc = reader_detect(r, r->head, r->head_len, true, &started);
		if (rc)
			return rc;
		rc = xs_feed_push(&r->feed, r->head, r->head_len);
		if (rc) {
			r->failed = true;
			return rc;
		}
	}
	rc = xs_feed_finish(&r->feed);
	if (rc)
		r->failed = true;
	return rc;
}

const char *xs_rrd_reader_error(const struct xs_rrd_reader *r)
{
	if (r->cls && r->feed.failed)
		return xs_feed_error(&r->feed);
	return r->err;
}

const struct xs_rrd_parser_class *xs_rrd_reader_class(const struct xs_rrd_reader *r)
{
	return r->cls;
}

void xs_rrd_reader_free(struct xs_rrd_reader **rp)
{
	struct xs_rrd_reader *r = rp ? *rp : NULL;

	if (!r)
		return;
	if (r->cls)
		r->cls->destroy(r->parser);
	free(r);
	*rp = NULL;
}
