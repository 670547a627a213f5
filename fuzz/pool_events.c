/*
 * libFuzzer target: what the pool client (src/xapi/pool_client.c) makes of a
 * pool master's replies beyond the topology records themselves: an
 * event.from reply ({events, token}) or an event.next one (an array) applied
 * as one batch (pc_on_events, pc_apply_event), the address of HOST_IS_SLAVE
 * turned into the new master's base URL (pc_url_of), the text of a failure
 * (pc_describe) and host.get_servertime's datetime (pc_parse_datetime). The
 * functions are static: this file includes the .c, which shadows its member
 * of build/fuzz/libxs.a. Nothing is sent: the client is never started and its
 * loop never runs.
 *
 * Input: u8 flags, then an RPC reply body: XML-RPC when bit 0 is set, else
 * JSON-RPC. Bit 1: the legacy event.next form. Bits 2-3: the pool's URL
 * (scheme and port the redirect keeps). A success is applied as an event
 * batch, and read as a datetime when it is a string; a failure is described,
 * and its first parameter is taken as HOST_IS_SLAVE's address.
 *
 * Invariants: a batch either backs off (state BACKOFF, a reason naming the
 * call, the topology unchanged) or keeps the token (event.from), counts one
 * batch and no more events than it holds, and leaves a topology whose every
 * object is found again by its ref; reasons and warnings are NUL-terminated
 * in their arrays. A base URL is made exactly when the address is 1+ bytes
 * of letters, digits and "-._:%" (bracketed or not) and the URL fits; it is
 * the pool's scheme, the address (bracketed when it holds a ':'), the pool's
 * port, and parses back to the same scheme, port and URL. A description fits its buffer. A datetime
 * taken with fields in range is the time gmtime gives back. Any other outcome
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xapi/jsonrpc.h"
#include "xapi/pool_client.c"
#include "xapi/xmlrpc.h"

#define FUZZ_DESC_LEN 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_urls[4] = { "https://master.example.test", "http://192.0.2.1:8080",
					   "https://[fd00::1]:8443", "http://m" };

static struct xs_evloop *fuzz_loop;

static void fuzz_nul(const char *s, size_t cap)
{
	if (strnlen(s, cap) == cap)
		abort();
}

/* Whether address may be a URL's host: 1+ letters, digits, '-', '.', '_', ':', '%', bracketed
 * or not (pool_client.c puts an unbracketed IPv6 address in brackets). */
static bool fuzz_host_ok(const char *a)
{
	static const char set[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-._:%";
	size_t n = strlen(a);

	if (n > 2 && a[0] == '[' && a[n - 1] == ']')
		return strspn(a + 1, set) == n - 2;
	return n > 0 && strspn(a, set) == n;
}

static void fuzz_url_of(const struct xs_pool_client *pc, const char *address)
{
	struct xs_pool_client back;
	char url[XS_RPC_URL_LEN], want[XS_RPC_URL_LEN + 8], err[XS_ERR_LEN];
	size_t n = strlen(address);
	bool v6 = strchr(address, ':') && !(n > 2 && address[0] == '[' && address[n - 1] == ']');
	int len = snprintf(want, sizeof(want), "%s://%s%s%s%s", pc->scheme, v6 ? "[" : "", address,
			   v6 ? "]" : "", pc->port);
	bool fits = len > 0 && (size_t)len < sizeof(url);

	memset(url, 'x', sizeof(url));
	if (pc_url_of(pc, address, url, sizeof(url)) != (fuzz_host_ok(address) && fits))
		abort();
	if (!fits || !fuzz_host_ok(address)) {
		if (url[0])
			abort();
		return;
	}
	memset(&back, 0, sizeof(back));
	if (strcmp(url, want) || pc_parse_url(&back, url, err) != XS_OK ||
	    strcmp(back.scheme, pc->scheme) || strcmp(back.port, pc->port) || strcmp(back.master, url))
		abort();
}

static void fuzz_describe(const struct xs_rpc_reply *r)
{
	struct xs_rpc_result res = { .rc = XS_OK, .reply = *r, .method = "event.from" };
	char out[FUZZ_DESC_LEN];

	memset(out, 'x', sizeof(out));
	pc_describe(&res, out, sizeof(out));
	fuzz_nul(out, sizeof(out));
}

static void fuzz_datetime(const char *s)
{
	double t;
	int y, mo, d, h, mi, sec;
	struct tm tm;
	time_t tt;

	if (!pc_parse_datetime(s, &t))
		return;
	if (sscanf(s, "%4d%2d%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6 &&
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		abort();
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 28 || h > 23 || h < 0 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 59)
		return;
	tt = (time_t)t;
	if ((double)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 ||
	    tm.tm_mday != d || tm.tm_hour != h || tm.tm_min != mi || tm.tm_sec != sec)
		abort();
}

/* Every object of the topology is found again by its ref. */
static void fuzz_topo_ok(const struct xs_topo *t)
{
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++) {
		const struct xs_topo_host *h = xs_topo_host_at(t, i);

		if (!h || xs_topo_host_by_ref(t, h->ref) != h)
			abort();
	}
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_VM); i++) {
		const struct xs_topo_vm *v = xs_topo_vm_at(t, i);

		if (!v || xs_topo_vm_by_ref(t, v->ref) != v)
			abort();
	}
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_SR); i++) {
		const struct xs_topo_sr *s = xs_topo_sr_at(t, i);

		if (!s || xs_topo_sr_by_ref(t, s->ref) != s)
			abort();
	}
}

static void fuzz_events(struct xs_pool_client *pc, const struct xs_rpc_value *v)
{
	const struct xs_rpc_value *events = pc->legacy ? v : xs_rpc_get(v, "events");
	const char *token = pc->legacy ? NULL : xs_rpc_get_str(v, "token");
	uint64_t before = xs_topo_version(pc->topo);
	size_t n = events && events->type == XS_RPC_ARRAY ? events->u.arr.n : 0;

	pc->step = PC_IDLE; /* as when on_change stopped it: no next event.from is sent */
	pc_on_events(pc, v);
	fuzz_nul(pc->reason, sizeof(pc->reason));
	fuzz_nul(pc->warning, sizeof(pc->warning));
	if (pc->state == XS_POOL_BACKOFF) {
		if (xs_topo_version(pc->topo) != before || pc->stats.event_batches ||
		    strncmp(pc->reason, pc->legacy ? "event.next: " : "event.from: ", 12))
			abort();
		return;
	}
	if (pc->stats.event_batches != 1 || pc->stats.events > n ||
	    (token && strcmp(pc->token, token)) || (!pc->legacy && !token))
		abort();
	fuzz_topo_ok(pc->topo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_pool_config cfg = { .user = "root", .password = "pw" };
	struct xs_pool_client *pc;
	struct xs_rpc_arena *a;
	struct xs_rpc_reply r;
	char err[XS_ERR_LEN];
	enum xs_err rc;

	if (size < 1)
		return 0;
	if (!fuzz_loop)
		fuzz_loop = xs_evloop_new();
	cfg.url = fuzz_urls[(data[0] >> 2) & 3];
	/* the client never sends: no HTTP client behind it */
	pc = xs_pool_client_new(fuzz_loop, NULL, &cfg, err);
	if (!pc)
		abort();
	pc->legacy = data[0] & 2;
	a = xs_rpc_arena_new();
	if (data[0] & 1)
		rc = xs_xmlrpc_decode_reply((const char *)data + 1, size - 1, a, &r, err);
	else
		rc = xs_jsonrpc_decode_reply((const char *)data + 1, size - 1, a, &r, err);
	if (rc == XS_OK && r.ok && r.value) {
		if (r.value->type == XS_RPC_STRING || r.value->type == XS_RPC_DATETIME)
			fuzz_datetime(r.value->u.str.ptr);
		fuzz_events(pc, r.value);
	} else if (rc == XS_OK && !r.ok) {
		const char *p0 = xs_rpc_reply_param(&r, 0);

		fuzz_describe(&r);
		if (p0)
			fuzz_url_of(pc, p0);
	}
	xs_pool_client_free(&pc);
	xs_rpc_arena_free(&a);
	return 0;
}
