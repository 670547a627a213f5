/*
 * cmd_inventory.c - `xapistat inventory --pool URL [--pool URL...] [--user U]
 * [--password-file F] [--json] [--insecure|--ca-file F|--pin SHA256[,SHA256...]]
 * [--timeout S]`: a one-shot listing of pools → hosts (address, live) →
 * resident VMs (power state), halted VMs and SRs. --pin takes a pin list
 * (xapi/tls_pins.h) and may be repeated: every xapi host has its own
 * certificate, and a member's HOST_IS_SLAVE sends us on to the master.
 *
 * Every pool is one struct xs_pool_client with no_events set and one attempt:
 * the command logs in, loads the topology once, prints it, logs out. All
 * pools load at once on one event loop; --timeout bounds the whole run.
 * Templates and snapshots are not VMs here. Exit status: 0 when every pool
 * was listed, 1 when one could not be reached or refused the login (the
 * others are still printed), 2 for a usage error. Passwords never reach
 * stdout or stderr (credentials.h; a password in a --pool URL is masked in
 * argv once read, prefer --password-file or XAPISTAT_PASSWORD).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "lib/buf.h"
#include "lib/evloop.h"
#include "lib/xmalloc.h"
#include "xapi/credentials.h"
#include "xapi/http_client.h"
#include "xapi/pool_client.h"
#include "xapi/tls_pins.h"
#include "xapi/topology.h"

#define INV_MAX_POOLS 64
#define INV_DEFAULT_TIMEOUT 30.0
#define INV_MAX_TIMEOUT 86400.0
#define INV_LOGOUT_SECS 5.0        /* logout wait after listing */
#define INV_OUT_CAP (1u << 30)     /* the listing, bytes */
#define INV_JSON_DEPTH 16

struct inv_pool {
	char url[XS_CRED_URL_MAX];       /* without user-info */
	struct xs_cred cred;
	struct xs_pool_client *pc;
};

struct inv {
	struct inv_pool pools[INV_MAX_POOLS];
	size_t npools;
	const char *user, *password_file;
	struct xs_tls_opts tls;
	bool json;
	double timeout;
	struct xs_evloop *loop;
	bool timed_out;
};

static void inv_usage(FILE *f)
{
	fprintf(f,
		"usage: xapistat inventory --pool URL [--pool URL...] [--user U]\n"
		"                          [--password-file F] [--json]\n"
		"                          [--insecure | --ca-file F | --pin SHA256[,SHA256...]]\n"
		"                          [--timeout S]\n"
		"Logs in to each pool master, loads its topology once and prints\n"
		"pools -> hosts (address, live) -> resident VMs (power state), halted VMs, SRs.\n"
		"  --pool URL          http[s]://[user[:password]@]master[:port]\n"
		"  --user U            user name (default: the URL's, else root)\n"
		"  --password-file F   password = first line of F (else the URL's, else the\n"
		"                      environment variable XAPISTAT_PASSWORD); prefer F or the\n"
		"                      environment: a URL password is visible in process listings\n"
		"  --json              JSON instead of text\n"
		"  --insecure          do not verify the TLS certificate\n"
		"  --ca-file F         verify with the CA bundle F instead of the system CAs\n"
		"  --pin SHA256[,...]  accept only TLS certificates with one of these SHA-256\n"
		"                      fingerprints (AB:CD:...; commas or blanks between them,\n"
		"                      or --pin again): list every host's, each has its own\n"
		"  --timeout S         give up after S seconds (default 30)\n"
		"Exit status: 0 listed, 1 a pool unreachable or login refused, 2 usage error.\n");
}

__attribute__((format(printf, 1, 2))) static int inv_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xapistat inventory: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	inv_usage(stderr);
	return 2;
}

/* Parses argv into inv; returns 0, or the exit status (2, or 0 for --help) + 1. */
static int inv_parse(struct inv *inv, int argc, char *const *argv)
{
	int tls_modes = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			inv_usage(stdout);
			return 1;
		} else if (!strcmp(a, "--json")) {
			inv->json = true;
		} else if (!strcmp(a, "--insecure")) {
			inv->tls.insecure = true;
			tls_modes++;
		} else if (!has_val && (!strcmp(a, "--pool") || !strcmp(a, "--user") ||
					 !strcmp(a, "--password-file") || !strcmp(a, "--ca-file") ||
					 !strcmp(a, "--pin") || !strcmp(a, "--timeout"))) {
			return 1 + inv_usage_error("%s needs a value", a);
		} else if (!strcmp(a, "--pool")) {
			if (inv->npools == INV_MAX_POOLS)
				return 1 + inv_usage_error("at most 64 pools (%s)", a);
			inv->npools++; /* its URL is resolved (and masked) by inv_resolve() */
			i++;
		} else if (!strcmp(a, "--user")) {
			inv->user = argv[++i];
		} else if (!strcmp(a, "--password-file")) {
			inv->password_file = argv[++i];
		} else if (!strcmp(a, "--ca-file")) {
			char why[XS_ERR_LEN];

			inv->tls.ca_file = argv[++i];
			tls_modes++;
			if (xs_tls_ca_file_check(inv->tls.ca_file, NULL, why))
				return 1 + inv_usage_error("--ca-file %s", why);
		} else if (!strcmp(a, "--pin")) {
			char why[XS_ERR_LEN];

			tls_modes += !inv->tls.pins[0];
			i++;
			if (xs_tls_pins_add(inv->tls.pins, argv[i], strlen(argv[i]), NULL, why))
				return 1 + inv_usage_error("--pin: %s", why);
		} else if (!strcmp(a, "--timeout")) {
			char *end;

			errno = 0;
			inv->timeout = strtod(argv[++i], &end);
			if (errno || end == argv[i] || *end || !(inv->timeout > 0) ||
			    inv->timeout > INV_MAX_TIMEOUT)
				return 1 + inv_usage_error("--timeout: '%s' is not a number of seconds "
							   "above 0, at most 86400",
							   argv[i]);
		} else {
			return 1 + inv_usage_error("unknown argument '%s'", a);
		}
	}
	if (inv->npools == 0)
		return 1 + inv_usage_error("%s is required", "--pool URL");
	if (tls_modes > 1)
		return 1 + inv_usage_error("%s: choose one", "--insecure, --ca-file, --pin");
	return 0;
}

/* Resolves every --pool argument's credentials (masking URL passwords in argv). */
static int inv_resolve(struct inv *inv, int argc, char **argv)
{
	const char *env = getenv(XS_CRED_ENV);
	size_t k = 0;

	for (int i = 1; i < argc && k < inv->npools; i++) {
		struct inv_pool *p;
		char err[XS_ERR_LEN];
		enum xs_err rc;

		if (strcmp(argv[i], "--pool") != 0 || i + 1 >= argc)
			continue;
		p = &inv->pools[k++];
		i++;
		rc = xs_cred_resolve(argv[i], inv->user, inv->password_file, env, p->url,
				     sizeof(p->url), &p->cred, err);
		xs_cred_mask_url(argv[i]);
		if (rc) {
			fprintf(stderr, "xapistat inventory: %s\n", err);
			return rc == XS_ERR_IO ? 1 : 2;
		}
	}
	return 0;
}

/* --- loop control --- */

static bool inv_pool_done(const struct inv_pool *p)
{
	enum xs_pool_state s = xs_pool_client_state(p->pc);

	return s == XS_POOL_FAILED || s == XS_POOL_STOPPED ||
	       (s == XS_POOL_CONNECTED && xs_pool_client_loaded(p->pc));
}

static bool inv_pool_stopped(const struct inv_pool *p)
{
	enum xs_pool_state s = xs_pool_client_state(p->pc);

	return s == XS_POOL_FAILED || s == XS_POOL_STOPPED;
}

static void inv_on_change(void *arg, struct xs_pool_client *pc, unsigned what)
{
	struct inv *inv = arg;

	(void)pc;
	if (!(what & XS_POOL_CHANGE_STATE))
		return;
	for (size_t i = 0; i < inv->npools; i++)
		if (inv->pools[i].pc && !inv_pool_done(&inv->pools[i]))
			return;
	xs_evloop_stop(inv->loop);
}

static void inv_on_timeout(struct xs_evloop *loop, void *arg)
{
	struct inv *inv = arg;

	inv->timed_out = true;
	xs_evloop_stop(loop);
}

static void inv_on_stopped(void *arg, struct xs_pool_client *pc, unsigned what)
{
	struct inv *inv = arg;

	(void)pc;
	(void)what;
	for (size_t i = 0; i < inv->npools; i++)
		if (inv->pools[i].pc && !inv_pool_stopped(&inv->pools[i]))
			return;
	xs_evloop_stop(inv->loop);
}

/* --- text output --- */

static const char *inv_power(enum xs_power p)
{
	switch (p) {
	case XS_POWER_HALTED: return "halted";
	case XS_POWER_RUNNING: return "running";
	case XS_POWER_PAUSED: return "paused";
	case XS_POWER_SUSPENDED: return "suspended";
	default: return "unknown";
	}
}

static bool inv_is_vm(const struct xs_topo_vm *vm)
{
	return !vm->is_template && !vm->is_snapshot;
}

/* A VM listed under a host: resident on a host the topology knows. */
static bool inv_resident(const struct xs_topo *t, const struct xs_topo_vm *vm)
{
	return vm->resident_on[0] && xs_topo_host_by_ref(t, vm->resident_on) != NULL;
}

static enum xs_err inv_text_pool(struct xs_buf *b, const struct inv_pool *p)
{
	const struct xs_topo *t = xs_pool_client_topo(p->pc);
	const struct xs_topo_pool *pool = xs_topo_pool(t);
	size_t nhosts = xs_topo_count(t, XS_TOPO_HOST), nvms = 0, nhalted = 0, ndom0 = 0;
	size_t nsrs = xs_topo_count(t, XS_TOPO_SR);
	enum xs_err rc = XS_OK;

	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_VM); i++) {
		const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

		if (!vm || !inv_is_vm(vm))
			continue;
		nvms++;
		ndom0 += vm->is_control_domain;
		nhalted += !inv_resident(t, vm);
	}
	rc = xs_buf_printf(b, "pool %s (%s) at %s: %zu hosts, %zu VMs (%zu control domains, "
			      "%zu not resident), %zu SRs\n",
			   pool && pool->name[0] ? pool->name : xs_pool_client_name(p->pc),
			   pool ? pool->uuid : "?", xs_pool_client_master_url(p->pc), nhosts, nvms,
			   ndom0, nhalted, nsrs);
	for (size_t h = 0; !rc && h < nhosts; h++) {
		const struct xs_topo_host *host = xs_topo_host_at(t, h);

		rc = xs_buf_printf(b, "  host %s (%s) address %s %s%s%s, %d CPUs, %.1f GiB\n",
				   host->name, host->uuid, host->address, host->live ? "live" : "DOWN",
				   host->enabled ? "" : ", disabled",
				   pool && !strcmp(pool->master, host->ref) ? ", master" : "",
				   host->cpus, (double)host->memory_total / (1024.0 * 1024 * 1024));
		for (size_t i = 0; !rc && i < xs_topo_count(t, XS_TOPO_VM); i++) {
			const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

			if (vm && inv_is_vm(vm) && !strcmp(vm->resident_on, host->ref))
				rc = xs_buf_printf(b, "    vm %s (%s) %s%s\n", vm->name, vm->uuid,
						   inv_power(vm->power),
						   vm->is_control_domain ? " [control domain]" : "");
		}
	}
	if (!rc && nhalted)
		rc = xs_buf_printf(b, "  halted VMs:\n");
	for (size_t i = 0; !rc && i < xs_topo_count(t, XS_TOPO_VM); i++) {
		const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

		if (vm && inv_is_vm(vm) && !inv_resident(t, vm))
			rc = xs_buf_printf(b, "    vm %s (%s) %s\n", vm->name, vm->uuid,
					   inv_power(vm->power));
	}
	for (size_t i = 0; !rc && i < nsrs; i++) {
		const struct xs_topo_sr *sr = xs_topo_sr_at(t, i);

		rc = xs_buf_printf(b, "  sr %s (%s) type %s%s\n", sr->name, sr->uuid, sr->type,
				   sr->shared ? " shared" : "");
	}
	return rc;
}

/* --- JSON output (a small writer: commas and escaping in one place) --- */

struct inv_json {
	struct xs_buf *b;
	bool first[INV_JSON_DEPTH]; /* nothing written yet at this depth */
	int depth;
	enum xs_err rc;
};

static void ij_raw(struct inv_json *j, const char *s)
{
	if (!j->rc)
		j->rc = xs_buf_append_str(j->b, s);
}

static void ij_sep(struct inv_json *j)
{
	if (!j->first[j->depth])
		ij_raw(j, ",");
	j->first[j->depth] = false;
}

static void ij_string(struct inv_json *j, const char *s)
{
	char esc[8];

	ij_raw(j, "\"");
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c && !j->rc; c++) {
		if (*c == '"' || *c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*c;
			esc[2] = '\0';
		} else if (*c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *c);
		} else {
			esc[0] = (char)*c;
			esc[1] = '\0';
		}
		ij_raw(j, esc);
	}
	ij_raw(j, "\"");
}

static void ij_open(struct inv_json *j, const char *key, const char *bracket)
{
	ij_sep(j);
	if (key) {
		ij_string(j, key);
		ij_raw(j, ":");
	}
	ij_raw(j, bracket);
	if (j->depth + 1 < INV_JSON_DEPTH)
		j->first[++j->depth] = true;
}

static void ij_close(struct inv_json *j, const char *bracket)
{
	if (j->depth > 0)
		j->depth--;
	ij_raw(j, bracket);
}

static void ij_str(struct inv_json *j, const char *key, const char *v)
{
	ij_sep(j);
	ij_string(j, key);
	ij_raw(j, ":");
	ij_string(j, v);
}

static void ij_lit(struct inv_json *j, const char *key, const char *literal)
{
	ij_sep(j);
	ij_string(j, key);
	ij_raw(j, ":");
	ij_raw(j, literal);
}

static void ij_u64(struct inv_json *j, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	ij_lit(j, key, num);
}

static void inv_json_vm(struct inv_json *j, const struct xs_topo_vm *vm)
{
	ij_open(j, NULL, "{");
	ij_str(j, "uuid", vm->uuid);
	ij_str(j, "name", vm->name);
	ij_str(j, "power_state", inv_power(vm->power));
	ij_lit(j, "control_domain", vm->is_control_domain ? "true" : "false");
	ij_close(j, "}");
}

static void inv_json_pool(struct inv_json *j, const struct inv_pool *p)
{
	const struct xs_topo *t = xs_pool_client_topo(p->pc);
	const struct xs_topo_pool *pool = xs_topo_pool(t);
	size_t nvms = xs_topo_count(t, XS_TOPO_VM);

	ij_str(j, "name", pool && pool->name[0] ? pool->name : xs_pool_client_name(p->pc));
	ij_str(j, "uuid", pool ? pool->uuid : "");
	ij_open(j, "hosts", "[");
	for (size_t h = 0; h < xs_topo_count(t, XS_TOPO_HOST); h++) {
		const struct xs_topo_host *host = xs_topo_host_at(t, h);

		ij_open(j, NULL, "{");
		ij_str(j, "uuid", host->uuid);
		ij_str(j, "name", host->name);
		ij_str(j, "address", host->address);
		ij_lit(j, "live", host->live ? "true" : "false");
		ij_lit(j, "enabled", host->enabled ? "true" : "false");
		ij_lit(j, "master", pool && !strcmp(pool->master, host->ref) ? "true" : "false");
		ij_u64(j, "cpus", (uint64_t)(host->cpus > 0 ? host->cpus : 0));
		ij_u64(j, "memory_total", host->memory_total);
		ij_open(j, "vms", "[");
		for (size_t i = 0; i < nvms; i++) {
			const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

			if (vm && inv_is_vm(vm) && !strcmp(vm->resident_on, host->ref))
				inv_json_vm(j, vm);
		}
		ij_close(j, "]");
		ij_close(j, "}");
	}
	ij_close(j, "]");
	ij_open(j, "halted_vms", "[");
	for (size_t i = 0; i < nvms; i++) {
		const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

		if (vm && inv_is_vm(vm) && !inv_resident(t, vm))
			inv_json_vm(j, vm);
	}
	ij_close(j, "]");
	ij_open(j, "srs", "[");
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_SR); i++) {
		const struct xs_topo_sr *sr = xs_topo_sr_at(t, i);

		ij_open(j, NULL, "{");
		ij_str(j, "uuid", sr->uuid);
		ij_str(j, "name", sr->name);
		ij_str(j, "type", sr->type);
		ij_lit(j, "shared", sr->shared ? "true" : "false");
		ij_close(j, "}");
	}
	ij_close(j, "]");
}

/* The error line of a pool that was not listed ("" if it was). */
static const char *inv_pool_error(const struct inv *inv, const struct inv_pool *p)
{
	if (xs_pool_client_loaded(p->pc))
		return "";
	if (xs_pool_client_state(p->pc) == XS_POOL_FAILED && xs_pool_client_reason(p->pc)[0])
		return xs_pool_client_reason(p->pc);
	return inv->timed_out ? "timed out" : "not loaded";
}

static enum xs_err inv_print(const struct inv *inv, struct xs_buf *b)
{
	struct inv_json j = { .b = b, .first = { true }, .depth = 0, .rc = XS_OK };
	enum xs_err rc = XS_OK;

	if (!inv->json) {
		for (size_t i = 0; !rc && i < inv->npools; i++)
			if (xs_pool_client_loaded(inv->pools[i].pc))
				rc = inv_text_pool(b, &inv->pools[i]);
		return rc;
	}
	ij_open(&j, NULL, "{");
	ij_open(&j, "pools", "[");
	for (size_t i = 0; i < inv->npools; i++) {
		const struct inv_pool *p = &inv->pools[i];

		ij_open(&j, NULL, "{");
		ij_str(&j, "url", p->url);
		ij_str(&j, "state", xs_pool_client_loaded(p->pc) ? "connected" : "failed");
		if (xs_pool_client_loaded(p->pc))
			inv_json_pool(&j, p);
		else
			ij_str(&j, "error", inv_pool_error(inv, p));
		ij_close(&j, "}");
	}
	ij_close(&j, "]");
	ij_close(&j, "}");
	ij_raw(&j, "\n");
	return j.rc;
}

/* --- run --- */

static int inv_start(struct inv *inv, struct xs_http *http)
{
	for (size_t i = 0; i < inv->npools; i++) {
		struct inv_pool *p = &inv->pools[i];
		struct xs_pool_config cfg = { 0 };
		char err[XS_ERR_LEN];

		cfg.url = p->url;
		cfg.user = p->cred.user;
		cfg.password = p->cred.password;
		cfg.tls = inv->tls;
		cfg.call_timeout = inv->timeout;
		cfg.max_attempts = 1;
		cfg.no_events = true;
		cfg.on_change = inv_on_change;
		cfg.arg = inv;
		p->pc = xs_pool_client_new(inv->loop, http, &cfg, err);
		xs_cred_cleanup(&p->cred); /* the client holds its own copy */
		if (p->pc == NULL) {
			fprintf(stderr, "xapistat inventory: %s: %s\n", p->url, err);
			return 2;
		}
	}
	for (size_t i = 0; i < inv->npools; i++)
		xs_pool_client_start(inv->pools[i].pc);
	return 0;
}

/* Logs every pool out, waiting at most INV_LOGOUT_SECS. */
static void inv_stop(struct inv *inv)
{
	uint64_t timer;
	bool all = true;

	for (size_t i = 0; i < inv->npools; i++) {
		if (inv->pools[i].pc) {
			xs_pool_client_set_on_change(inv->pools[i].pc, inv_on_stopped, inv);
			xs_pool_client_stop(inv->pools[i].pc);
			all = all && inv_pool_stopped(&inv->pools[i]);
		}
	}
	if (all)
		return;
	timer = xs_evloop_add_timer(inv->loop, INV_LOGOUT_SECS, inv_on_timeout, inv);
	xs_evloop_run(inv->loop, NULL);
	xs_evloop_cancel_timer(inv->loop, timer);
}

static int inv_report(struct inv *inv)
{
	struct xs_buf out;
	int status = 0;

	xs_buf_init(&out, INV_OUT_CAP);
	for (size_t i = 0; i < inv->npools; i++) {
		const struct inv_pool *p = &inv->pools[i];

		if (!xs_pool_client_loaded(p->pc)) {
			fprintf(stderr, "xapistat inventory: %s: %s\n", p->url, inv_pool_error(inv, p));
			status = 1;
		}
	}
	if (inv_print(inv, &out) != XS_OK) {
		fprintf(stderr, "xapistat inventory: the listing is larger than %u bytes\n",
			INV_OUT_CAP);
		status = 1;
	} else if (out.len && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout))) {
		fprintf(stderr, "xapistat inventory: writing output: %s\n", strerror(errno));
		status = 1;
	}
	xs_buf_free(&out);
	return status;
}

static int inventory_run(int argc, char **argv)
{
	struct inv *inv = xs_xcalloc(1, sizeof(*inv));
	struct xs_http *http = NULL;
	char err[XS_ERR_LEN];
	uint64_t timer;
	int status;

	inv->timeout = INV_DEFAULT_TIMEOUT;
	status = inv_parse(inv, argc, argv);
	if (status) {
		status--;
		goto out;
	}
	status = inv_resolve(inv, argc, argv);
	if (status)
		goto out;
	inv->loop = xs_evloop_new();
	http = inv->loop ? xs_http_new(inv->loop, err) : NULL;
	if (http == NULL) {
		fprintf(stderr, "xapistat inventory: cannot start: %s\n",
			inv->loop ? err : strerror(errno));
		status = 1;
		goto out;
	}
	status = inv_start(inv, http);
	if (status)
		goto out;
	timer = xs_evloop_add_timer(inv->loop, inv->timeout, inv_on_timeout, inv);
	xs_evloop_run(inv->loop, NULL);
	xs_evloop_cancel_timer(inv->loop, timer);
	status = inv_report(inv);
	inv_stop(inv);
out:
	for (size_t i = 0; i < inv->npools; i++) {
		xs_pool_client_free(&inv->pools[i].pc);
		xs_cred_cleanup(&inv->pools[i].cred);
	}
	xs_http_free(&http);
	xs_evloop_free(&inv->loop);
	free(inv);
	return status;
}

const struct xs_cmd xs_cmd_inventory = {
	.name = "inventory",
	.summary = "list the pools, hosts, VMs and SRs a XAPI pool master reports",
	.run = inventory_run,
};
