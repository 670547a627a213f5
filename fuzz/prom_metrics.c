/*
 * libFuzzer target: GET /metrics (src/query/prom.c, prom_classify.c,
 * prom_number.c) fed hostile names: what a pool's XAPI calls its pool, host,
 * VM, SR, network and VDI, the devices of its VIFs, VBDs and PIFs, the uuid
 * of a VM, and what a host's RRD legend calls its data sources.
 *
 * Input: NUL-separated fields. Fields 0-10 are, in order: the pool's
 * name_label, the host's, the VM's, the SR's, the network's, the VDI's, the
 * VIF, VBD and PIF devices, the configured pool name, and the uuid of a second
 * VM. Every further field is a series: byte 0 picks the object (host, VM, SR,
 * the second VM, a VM no pool knows), byte 1 the unit (the collector's for
 * the name, or one of a table), byte 2 the value, the rest is the DS name.
 * The topology is built from XAPI-like records, the series stored at one time
 * in a fresh store under /dev/shm (or $TMPDIR), and the body made whole
 * (xs_query_metrics) and streamed in pieces (xs_prom_body_read).
 *
 * Invariants: both bodies are the same bytes and are valid Prometheus text
 * exposition 0.0.4 as this file checks it on its own: lines end in '\n';
 * "# HELP name text" (only \\ and \n escapes) then "# TYPE name
 * gauge|counter" once per family, its samples right after it and nowhere
 * else; metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* (no "__" prefix, none twice in a sample); label
 * values valid UTF-8 with only \\, \" and \n escapes; a value is a finite
 * number or +Inf / -Inf (no NaN), with no timestamp; no family twice and no
 * series (name and labels) twice. Any other outcome aborts.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_tmpdir.h"
#include "collect/units.h"
#include "lib/buf.h"
#include "query/prom.h"
#include "xapi/rpc_value.h"
#include "xapi/topology.h"

#define FUZZ_T0 1700006400 /* a multiple of 5 */
#define FUZZ_NOW (FUZZ_T0 + 12.0)
#define FUZZ_NAMES 11
#define FUZZ_MAX_SERIES 64
#define FUZZ_OUT_CAP (64u << 20)
#define FUZZ_LABELS 16

#define H_REF "OpaqueRef:host"
#define H_UUID "aaaaaaaa-0000-0000-0000-000000000001"
#define VM_UUID "22222222-0000-0000-0000-000000000002"
#define GONE_UUID "deadbeef-0000-0000-0000-000000000009"
#define SR_UUID "5e3f2a11-1111-2222-3333-444455556666"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xs_rpc_arena *fuzz_a;

static const char *const fuzz_units[] = {
	"", "(fraction)", "B", "KiB", "B/s", "MiB/s", "\xce\xbcs", "s", "Hz", "W", "requests/s",
	"err/s", "furlongs", "ms", "%", "bytes\"\\\n",
};
#define FUZZ_NUNITS (sizeof(fuzz_units) / sizeof(fuzz_units[0]))

static const float fuzz_values[] = {
	0.0f, 1.0f, -1.5f, 0.25f, 1e30f, -1e-30f, 2.4e9f, 1e-45f, 3.4028235e38f, 123456.789f,
};
#define FUZZ_NVALUES (sizeof(fuzz_values) / sizeof(fuzz_values[0]))

/* ---- the estate ---- */

static struct xs_rpc_value *fuzz_rec(const char *key, ...)
{
	struct xs_rpc_value *st = xs_rpc_struct(fuzz_a);
	va_list ap;

	va_start(ap, key);
	for (; key != NULL; key = va_arg(ap, const char *))
		xs_rpc_struct_cset(fuzz_a, st, key, xs_rpc_cstring(fuzz_a, va_arg(ap, const char *)));
	va_end(ap);
	return st;
}

static void fuzz_put(struct xs_topo *t, enum xs_topo_class c, const char *ref, struct xs_rpc_value *r)
{
	char err[XS_ERR_LEN];

	(void)xs_topo_apply(t, c, ref, r, err); /* a refused record is the estate's business */
}

static struct xs_topo *fuzz_world(char *const *nm)
{
	struct xs_topo *t = xs_topo_new();
	struct xs_rpc_value *host;

	fuzz_put(t, XS_TOPO_POOL, "OpaqueRef:pool",
		 fuzz_rec("uuid", "0f0f0f0f-0000-0000-0000-000000000000", "name_label", nm[0], "master",
			  H_REF, NULL));
	host = fuzz_rec("uuid", H_UUID, "name_label", nm[1], "address", "192.0.2.1", "metrics",
			"OpaqueRef:hm", NULL);
	xs_rpc_struct_cset(fuzz_a, host, "enabled", xs_rpc_bool(fuzz_a, true));
	fuzz_put(t, XS_TOPO_HOST, H_REF, host);
	fuzz_put(t, XS_TOPO_VM, "OpaqueRef:vm",
		 fuzz_rec("uuid", VM_UUID, "name_label", nm[2], "power_state", "Running", "resident_on",
			  H_REF, NULL));
	fuzz_put(t, XS_TOPO_VM, "OpaqueRef:vm2",
		 fuzz_rec("uuid", nm[10], "name_label", nm[2], "power_state", "Running", "resident_on",
			  H_REF, NULL));
	fuzz_put(t, XS_TOPO_SR, "OpaqueRef:sr",
		 fuzz_rec("uuid", SR_UUID, "name_label", nm[3], "type", "lvm", NULL));
	fuzz_put(t, XS_TOPO_NETWORK, "OpaqueRef:net",
		 fuzz_rec("uuid", "net", "name_label", nm[4], NULL));
	fuzz_put(t, XS_TOPO_VDI, "OpaqueRef:vdi",
		 fuzz_rec("uuid", "vdi", "name_label", nm[5], "SR", "OpaqueRef:sr", NULL));
	fuzz_put(t, XS_TOPO_VIF, "OpaqueRef:vif",
		 fuzz_rec("uuid", "vif", "VM", "OpaqueRef:vm", "network", "OpaqueRef:net", "device",
			  nm[6], NULL));
	fuzz_put(t, XS_TOPO_VBD, "OpaqueRef:vbd",
		 fuzz_rec("uuid", "vbd", "VM", "OpaqueRef:vm", "VDI", "OpaqueRef:vdi", "device", nm[7],
			  NULL));
	fuzz_put(t, XS_TOPO_PIF, "OpaqueRef:pif",
		 fuzz_rec("uuid", "pif", "device", nm[8], "host", H_REF, "network", "OpaqueRef:net",
			  "VLAN", "-1", NULL));
	return t;
}

static void fuzz_series(struct xs_store *s, const char *f, size_t n, const char *uuid2)
{
	static const enum xs_obj_kind kinds[] = { XS_OBJ_HOST, XS_OBJ_VM, XS_OBJ_SR, XS_OBJ_VM,
						  XS_OBJ_VM };
	static const char *const uuids[] = { H_UUID, VM_UUID, SR_UUID, NULL, GONE_UUID };
	unsigned o, u;
	const char *ds = f + 3, *unit;
	char err[XS_ERR_LEN];
	xs_series_id id;

	if (n < 4)
		return;
	o = (unsigned char)f[0] % 5;
	u = (unsigned char)f[1] % (FUZZ_NUNITS + 1);
	unit = u == FUZZ_NUNITS ? xs_collect_unit(kinds[o], ds, n - 3) : fuzz_units[u];
	if (xs_store_series(s, kinds[o], uuids[o] ? uuids[o] : uuid2, ds, unit, &id, err) == XS_OK)
		(void)xs_store_append(s, id, FUZZ_T0, fuzz_values[(unsigned char)f[2] % FUZZ_NVALUES], err);
}

/* ---- the checker ---- */

static bool fuzz_name_ok(const char *s, size_t n, bool colon)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool first = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (colon && c == ':');

		if (!first && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* Bytes of the valid UTF-8 sequence at s (at most n), 0 if none (overlong, surrogate, > U+10FFFF). */
static size_t fuzz_utf8(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Valid UTF-8 whose backslashes start \\ or \n (or \" when quote): the end of it, or NULL.
 * In a label value (quote) the text ends at an unescaped '"'; in HELP at the end. */
static const char *fuzz_text(const char *p, const char *end, bool quote)
{
	while (p < end) {
		size_t l;

		if (quote && *p == '"')
			return p;
		if (*p == '\\') {
			if (p + 1 >= end || !(p[1] == '\\' || p[1] == 'n' || (quote && p[1] == '"')))
				return NULL;
			p += 2;
			continue;
		}
		l = fuzz_utf8((const unsigned char *)p, (size_t)(end - p));
		if (l == 0)
			return NULL;
		p += l;
	}
	return quote ? NULL : p;
}

static bool fuzz_value_ok(const char *p, const char *end)
{
	char num[64], *e;
	size_t n = (size_t)(end - p);
	double v;

	if ((n == 4 && (!memcmp(p, "+Inf", 4) || !memcmp(p, "-Inf", 4))))
		return true;
	if (n == 0 || n >= sizeof(num) || memchr(p, 'n', n) || memchr(p, 'N', n) ||
	    memchr(p, 'i', n) || memchr(p, 'I', n) || memchr(p, 'x', n) || memchr(p, 'X', n))
		return false;
	memcpy(num, p, n);
	num[n] = '\0';
	errno = 0;
	v = strtod(num, &e);
	return e == num + n && isfinite(v);
}

/* A sample line (no '\n'): name{labels} value; [*key, *keylen) = name{labels}. */
static bool fuzz_sample_ok(const char *p, const char *end, const char *family, size_t flen)
{
	const char *q = p, *names[FUZZ_LABELS];
	size_t lens[FUZZ_LABELS], nl = 0;

	while (q < end && *q != '{' && *q != ' ')
		q++;
	if ((size_t)(q - p) != flen || memcmp(p, family, flen) || q == end)
		return false;
	if (*q == '{') {
		q++;
		while (q < end && *q != '}') {
			const char *ln = q;

			while (q < end && *q != '=')
				q++;
			if (q == end || !fuzz_name_ok(ln, (size_t)(q - ln), false) ||
			    (q - ln >= 2 && ln[0] == '_' && ln[1] == '_') || nl == FUZZ_LABELS)
				return false;
			for (size_t i = 0; i < nl; i++)
				if (lens[i] == (size_t)(q - ln) && !memcmp(names[i], ln, lens[i]))
					return false;
			names[nl] = ln;
			lens[nl++] = (size_t)(q - ln);
			if (q + 1 >= end || q[1] != '"')
				return false;
			q = fuzz_text(q + 2, end, true);
			if (q == NULL)
				return false;
			q++;
			if (q < end && *q == ',')
				q++;
			else if (q < end && *q != '}')
				return false;
		}
		if (q == end || q[-1] == ',' || q[-1] == '{')
			return false;
		q++;
	}
	if (q == end || *q != ' ')
		return false;
	return fuzz_value_ok(q + 1, end);
}

struct fuzz_key {
	const char *p;
	size_t n;
};

static int fuzz_key_cmp(const void *a, const void *b)
{
	const struct fuzz_key *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Checks the whole body; aborts on the first fault. */
static void fuzz_check(const char *body, size_t len)
{
	const char *p = body, *end = body + len, *fam = NULL, *help_name = NULL;
	size_t flen = 0, help_len = 0, nkeys = 0, capkeys = 64, nfams = 0, capfams = 64;
	struct fuzz_key *keys = malloc(capkeys * sizeof(*keys)), *fams = malloc(capfams * sizeof(*fams));

	if (!keys || !fams || (len && body[len - 1] != '\n') || memchr(body, '\0', len))
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;

		if (!strncmp(p, "# HELP ", 7)) {
			sp = memchr(p + 7, ' ', (size_t)(nl - p - 7));
			if (!sp || !fuzz_name_ok(p + 7, (size_t)(sp - p - 7), true) ||
			    fuzz_text(sp + 1, nl, false) != nl)
				abort();
			help_name = p + 7;
			help_len = (size_t)(sp - help_name);
			fam = NULL;
		} else if (!strncmp(p, "# TYPE ", 7)) {
			sp = memchr(p + 7, ' ', (size_t)(nl - p - 7));
			if (!sp || !help_name || (size_t)(sp - p - 7) != help_len ||
			    memcmp(p + 7, help_name, help_len) ||
			    !((nl - sp - 1 == 5 && !memcmp(sp + 1, "gauge", 5)) ||
			      (nl - sp - 1 == 7 && !memcmp(sp + 1, "counter", 7))))
				abort();
			fam = help_name;
			flen = help_len;
			help_name = NULL;
			if (nfams == capfams && !(fams = realloc(fams, (capfams *= 2) * sizeof(*fams))))
				abort();
			fams[nfams++] = (struct fuzz_key){ fam, flen };
		} else {
			const char *v;

			if (!fam || !fuzz_sample_ok(p, nl, fam, flen))
				abort();
			v = nl;
			while (v[-1] != ' ')
				v--;
			if (nkeys == capkeys && !(keys = realloc(keys, (capkeys *= 2) * sizeof(*keys))))
				abort();
			keys[nkeys++] = (struct fuzz_key){ p, (size_t)(v - 1 - p) };
		}
		p = nl + 1;
	}
	if (help_name)
		abort();
	qsort(keys, nkeys, sizeof(*keys), fuzz_key_cmp);
	for (size_t i = 1; i < nkeys; i++)
		if (!fuzz_key_cmp(&keys[i - 1], &keys[i]))
			abort();
	qsort(fams, nfams, sizeof(*fams), fuzz_key_cmp);
	for (size_t i = 1; i < nfams; i++)
		if (!fuzz_key_cmp(&fams[i - 1], &fams[i]))
			abort();
	free(keys);
	free(fams);
}

/* The body streamed in pieces of at most max bytes is the whole body. */
static void fuzz_stream(const struct xs_estate *e, const struct xs_prom_self *self,
			const struct xs_buf *whole, size_t max)
{
	struct xs_prom_body *b = NULL;
	char err[XS_ERR_LEN], *buf = malloc(max);
	size_t off = 0, n;

	if (!buf || xs_prom_body_start(e, self, NULL, &b, err) != XS_OK)
		abort();
	do {
		if (xs_prom_body_read(b, buf, max, &n) != XS_OK || n > max || off + n > whole->len ||
		    memcmp(whole->data + off, buf, n))
			abort();
		off += n;
	} while (n);
	if (off != whole->len)
		abort();
	xs_prom_body_free(&b);
	free(buf);
}

static void fuzz_metrics(struct xs_store *s, char *const *nm, size_t max)
{
	struct xs_topo *t = fuzz_world(nm);
	struct xs_estate_pool pool = { .name = nm[9], .topo = t };
	struct xs_collect_host_status st = { .state = XS_COLLECT_IDLE, .last_success = FUZZ_NOW - 2,
					     .lag = 1.5, .latency = 0.02, .newest = FUZZ_T0 };
	struct xs_prom_self self = { .uptime = 12.5, .store_series = 3, .samples_total = 1u << 31 };
	struct xs_estate e = { .store = s, .pools = &pool, .npools = 1, .status = &st, .nstatus = 1,
			       .now = FUZZ_NOW };
	struct xs_buf out;
	char err[XS_ERR_LEN];

	snprintf(st.pool, sizeof(st.pool), "%s", nm[9]);
	snprintf(st.uuid, sizeof(st.uuid), "%s", H_UUID);
	snprintf(st.name, sizeof(st.name), "%s", nm[1]);
	xs_buf_init(&out, FUZZ_OUT_CAP);
	if (xs_query_metrics(&e, &self, NULL, &out, err) != XS_OK)
		abort();
	fuzz_check(out.data ? out.data : "", out.len);
	fuzz_stream(&e, &self, &out, max);
	xs_buf_free(&out);
	/* shards (GET /metrics?pool=&kind=): each a valid body; kinds from a hostile text */
	for (unsigned k = 1; k <= XS_PROM_KIND_ALL; k <<= 1) {
		struct xs_prom_filter f = { nm[9], k };

		xs_buf_init(&out, FUZZ_OUT_CAP);
		if (xs_query_metrics(&e, &self, &f, &out, err) != XS_OK)
			abort();
		fuzz_check(out.data ? out.data : "", out.len);
		xs_buf_free(&out);
	}
	{
		unsigned kinds = 0;

		if (xs_prom_kinds_parse(nm[2], &kinds, err) == XS_OK && (!kinds || kinds > XS_PROM_KIND_ALL))
			abort();
	}
	xs_topo_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *nm[FUZZ_NAMES], *p, *end, err[XS_ERR_LEN] = "";
	struct xs_store_options o = { .dir = fuzz_dir };
	struct xs_store *s = NULL;
	size_t nseries = 0;

	fuzz_tmpdir_make("prom");
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	end = text + size;
	p = text;
	for (size_t i = 0; i < FUZZ_NAMES; i++) {
		nm[i] = p;
		p += strlen(p);
		p += p < end; /* past the NUL that ends the field, not past the input */
	}
	fuzz_a = xs_rpc_arena_new();
	if (xs_store_open(&o, &s, err) != XS_OK)
		abort();
	while (p < end && nseries++ < FUZZ_MAX_SERIES) {
		size_t n = strlen(p);

		fuzz_series(s, p, n, nm[10]);
		p += n + 1;
	}
	fuzz_metrics(s, nm, 1 + (size ? data[size - 1] : 0) * 97u);
	if (xs_store_close(&s, err) != XS_OK)
		abort();
	fuzz_tmpdir_empty();
	xs_rpc_arena_free(&fuzz_a);
	free(text);
	return 0;
}
