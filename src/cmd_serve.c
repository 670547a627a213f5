/*
 * cmd_serve.c - `xapistat serve [-c FILE] [--data DIR] [--pool URL]...
 * [--listen ADDR:PORT] [--log-level L]`: the daemon (issue 5, points 1, 5, 6).
 *
 * One event loop runs the pool clients (xapi/pool_client.h), the collector
 * (collect/collector.h) and the store's housekeeping: xs_store_sync() every
 * second (kill -9 loses at most that), xs_store_expire() at start and every
 * hour. Signals only set flags (the only globals); the loop acts on them:
 *   SIGTERM, SIGINT  stop collecting, log the pools out, sync and close the
 *                    store, exit 0;
 *   SIGHUP           read the configuration file again (all or nothing: an
 *                    error is logged and the running configuration kept) and
 *                    add / remove pool clients to match; --pool flags stay.
 *   SIGUSR1          log the collector's counters now (they are also logged
 *                    every SERVE_STATS_SECS and at stop): one `stats` line of
 *                    key=value pairs, for operators and bench/serve_bench.sh.
 * Startup is all or nothing too: a configuration error ("FILE:LINE: problem"),
 * a pool without a password or a store that does not open is reported and
 * the daemon does not start (exit 1; 2 for a bad command line).
 * Logs go to stderr through lib/log.h; URLs are logged without user-info or
 * query. The HTTP API (serve/api.h) listens on the configured address from
 * the start, before any pool is loaded (its objects fill in as pools load); a
 * reload does not move it (a new listen address needs a restart). It runs on
 * its own thread and loop (serve/api_thread.h): one lock, held by this loop's
 * callbacks and by each API request, keeps them apart; the store (and
 * malloc_trim) let requests in during fsyncs and checkpoint writes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "collect/collector.h"
#include "lib/evloop.h"
#include "lib/log.h"
#include "lib/path.h"
#include "lib/xmalloc.h"
#include "query/status.h"
#include "serve/api.h"
#include "serve/api_thread.h"
#include "serve/config.h"
#include "serve/open_files.h"
#include "store/store.h"
#include "xapi/credentials.h"
#include "xapi/http_client.h"
#include "xapi/pool_client.h"
#include "xapi/tls_pins.h"

#define SERVE_SYNC_SECS 1.0
#define SERVE_SYNC_LOG_SECS 60 /* a sync that keeps failing (a full disk) is logged once a minute */
#define SERVE_EXPIRE_SECS 3600.0
#define SERVE_SIGNAL_SECS 0.2       /* how often SIGHUP and SIGUSR1 are looked for */
#define SERVE_STATS_SECS 60.0       /* period of the `stats` log line */
#define SERVE_LATE_SECS 10.0        /* a host whose lag exceeds this counts as late */
#define SERVE_LOGOUT_SECS 5.0       /* logout wait at exit */
#define SERVE_MAX_FLAG_POOLS XS_CONFIG_POOLS_MAX
#define SERVE_KEY_LEN (4 * XS_CONFIG_VALUE_MAX)
#define SERVE_UUID_LEN 64           /* a pool uuid held (36 characters; a longer one is not held) */

static volatile sig_atomic_t serve_stop_flag;
static volatile sig_atomic_t serve_hup_flag;
static volatile sig_atomic_t serve_usr1_flag;

/*
 * One configured pool section. Sections and pools need not match one to one:
 * two sections may lead to the same pool (two of its hosts' addresses). One
 * section per pool uuid is collected: see serve_admit().
 */
struct serve_pool {
	struct xs_daemon *d;         /* the daemon it belongs to */
	char name[XS_CONFIG_NAME_MAX + 1];
	char url[XS_CRED_URL_MAX];   /* without user-info */
	char *key;                   /* what identifies it across reloads */
	struct xs_cred cred;
	char *ca_file;               /* tls.ca_file: a copy, the config is freed at a reload */
	struct xs_tls_opts tls;
	struct xs_pool_client *pc;
	enum xs_pool_state last_state;
	char uuid[SERVE_UUID_LEN];   /* the pool uuid this section holds, "" none (serve_admit) */
	char dup[XS_POOL_REASON_LEN];/* why it is not collected: another section holds its
				      * pool; "" if it is not a duplicate */
	char dup_of[XS_CONFIG_NAME_MAX + 1]; /* that section, when dup is set */
};

struct xs_daemon {
	struct xs_config cfg;
	char *flag_pools[SERVE_MAX_FLAG_POOLS]; /* --pool URLs (copies), kept for reloads */
	size_t nflag_pools;
	const char *config_file;
	const char *flag_data, *flag_listen, *flag_level, *flag_web, *flag_ca_file, *flag_token_file;
	char flag_pins[XS_TLS_PINS_LEN]; /* --pin fingerprints, a canonical list ("" none) */
	bool flag_insecure;            /* --insecure */
	bool check;                    /* --check: check the configuration, do not start */
	struct xs_evloop *loop;
	struct xs_http *http;
	struct xs_store *store;
	struct xs_collector *co;
	struct serve_pool **pools;   /* collected now */
	size_t npools;
	struct serve_pool **retiring;/* removed by a reload, logging out */
	size_t nretiring;
	uint64_t sync_timer, expire_timer, signal_timer, stats_timer;
	struct xs_collect_host_status *status; /* scratch of serve_stats_log and the API */
	size_t capstatus;
	struct xs_api *api;
	struct xs_api_thread *api_thread; /* the API's thread, loop and lock */
	/* The API's view of the pools (scratch), grown only: a deferred top-N keeps a
	 * pointer to it while, at its yields, the API's thread asks for the view again. */
	struct xs_estate_pool *epools;
	size_t epools_cap;
	double started;                /* wall clock, for uptime */
	char *token;                   /* the API token read from token_file, or NULL */
	struct xs_log_limit sync_log;  /* failed syncs: one line a SERVE_SYNC_LOG_SECS */
	uint64_t open_files_warned;    /* the need last warned of (open_files.h), 0 = none */
	uint64_t sync_failures;        /* failed syncs since start (status, /metrics) */
	char sync_error[XS_ERR_LEN];   /* the last one's error while they fail, "" after a success
					* (with no checkpoint failing) */
};

static void serve_usage(FILE *f)
{
	fprintf(f,
		"usage: xapistat serve [-c FILE] [--data DIR] [--pool URL]... [--listen ADDR:PORT]\n"
		"                      [--pin SHA256[,SHA256...]]... | [--ca-file FILE] | [--insecure]\n"
		"                      [--token-file FILE] [--web DIR]\n"
		"                      [--log-level error|warn|info|debug] [--check]\n"
		"Collects every host of every pool in the background into the store under DIR.\n"
		"  -c FILE             configuration file (docs/CONFIG.md); flags override it\n"
		"  --data DIR          the store's directory\n"
		"  --pool URL          http[s]://[user[:password]@]master[:port] (repeatable); the\n"
		"                      password may also come from XAPISTAT_PASSWORD\n"
		"  --pin FP[,FP...]    accept the --pool pools' hosts by their certificates' SHA-256\n"
		"                      fingerprints (openssl x509 -noout -fingerprint -sha256), one\n"
		"                      per host (stock hosts' certificates are self-signed);\n"
		"                      repeatable\n"
		"  --ca-file FILE      verify them with the CA(s) of this PEM file instead\n"
		"  --insecure          do not verify them at all (a lab network only)\n"
		"  --listen ADDR:PORT  address of the HTTP API (default 127.0.0.1:8080); a\n"
		"                      non-loopback address needs a token file\n"
		"  --token-file FILE   the API's bearer token (token_file, docs/CONFIG.md)\n"
		"  --web DIR           the web UI's files (default: ../share/xapistat/web beside the\n"
		"                      binary, else web/dist of the source tree)\n"
		"  --log-level L       error, warn, info (default) or debug\n"
		"  --check             check the configuration and the files it names (passwords,\n"
		"                      CA files, token, TLS certificate and key, data and web\n"
		"                      directories), print what it would serve, and exit: 0 if\n"
		"                      serve would start with it, 1 with the error\n"
		"Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reads FILE again (pools, password\n"
		"and CA files, the API token, log_level), SIGUSR1 logs the collector's counters\n"
		"(also logged every minute).\n"
		"Exit status: 0 stopped by a signal, 1 could not start (or its store could not be\n"
		"closed cleanly on stop), 2 usage error.\n");
}

static void serve_on_signal(int sig)
{
	if (sig == SIGHUP)
		serve_hup_flag = 1;
	else if (sig == SIGUSR1)
		serve_usr1_flag = 1;
	else
		serve_stop_flag = 1;
}

static void serve_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = serve_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* --- command line and configuration --- */

/* Where flag a keeps its value: a field of d, or *pool for --pool (a list); NULL when a
 * takes no value (or is unknown). The one table of the flags that take a value. */
static const char **serve_value_slot(struct xs_daemon *d, const char *a, const char **pool)
{
	if (!strcmp(a, "-c"))
		return &d->config_file;
	if (!strcmp(a, "--data"))
		return &d->flag_data;
	if (!strcmp(a, "--listen"))
		return &d->flag_listen;
	if (!strcmp(a, "--web"))
		return &d->flag_web;
	if (!strcmp(a, "--log-level"))
		return &d->flag_level;
	if (!strcmp(a, "--ca-file"))
		return &d->flag_ca_file;
	if (!strcmp(a, "--token-file"))
		return &d->flag_token_file;
	if (!strcmp(a, "--pool"))
		return pool;
	return NULL;
}

static int serve_args(struct xs_daemon *d, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *pool = NULL;
		const char **slot = serve_value_slot(d, a, &pool);

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			serve_usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--check")) {
			d->check = true;
			continue;
		}
		if (!strcmp(a, "--insecure")) {
			d->flag_insecure = true;
			continue;
		}
		if (!strcmp(a, "--pin") && i + 1 < argc) { /* (without a value: below) */
			char why[XS_ERR_LEN];
			const char *v = argv[++i];

			if (xs_tls_pins_add(d->flag_pins, v, strlen(v), NULL, why)) {
				fprintf(stderr, "xapistat serve: --pin: %s\n", why);
				return 2;
			}
			continue;
		}
		if (!slot || i + 1 == argc) {
			char shown[XS_LOG_URL_LEN];
			bool valued = slot || !strcmp(a, "--pin");

			/* shown as a URL is logged: "--pool=https://root:pw@h" has a password */
			fprintf(stderr, "xapistat serve: %s '%s'\n\n",
				valued ? "missing value after" : "unknown argument",
				strstr(a, "://") ? xs_log_url(shown, sizeof shown, a) : a);
			serve_usage(stderr);
			return 2;
		}
		*slot = argv[++i];
		if (slot != &pool)
			continue;
		if (d->nflag_pools == SERVE_MAX_FLAG_POOLS) {
			fprintf(stderr, "xapistat serve: too many --pool flags\n");
			return 2;
		}
		/* a copy: argv's password is masked once read, reloads need it */
		d->flag_pools[d->nflag_pools++] = xs_xstrndup(pool, strlen(pool));
	}
	return -1;
}

/*
 * The configuration: defaults, the file, then the flags; validated. On error
 * err says why (a file error reads "FILE:LINE: problem"), cfg is freed and
 * *flag_error (may be NULL) tells whether a flag's value was the problem (a
 * usage error, exit status 2).
 */
static enum xs_err serve_load(const struct xs_daemon *d, struct xs_config *cfg, char *err,
			      bool *flag_error)
{
	enum xs_err rc = XS_OK;
	enum xs_log_level level;

	if (flag_error)
		*flag_error = false;
	xs_config_defaults(cfg);
	if (d->config_file) {
		rc = xs_config_load_file(cfg, d->config_file, err);
		if (rc)
			goto out;
	}
	if (flag_error)
		*flag_error = true;
	{
		size_t first = cfg->npools;

		for (size_t i = 0; i < d->nflag_pools; i++) {
			rc = xs_config_add_pool_url(cfg, d->flag_pools[i], err);
			if (rc)
				goto out;
		}
		rc = xs_config_flag_tls(cfg, first, d->flag_ca_file,
					d->flag_pins[0] ? d->flag_pins : NULL, d->flag_insecure, err);
		if (rc)
			goto out;
	}
	if (d->flag_token_file) {
		free(cfg->token_file);
		cfg->token_file = xs_xstrndup(d->flag_token_file, strlen(d->flag_token_file));
		cfg->token_file_line = 0;
	}
	if (d->flag_data) {
		free(cfg->data_dir);
		cfg->data_dir = xs_xstrndup(d->flag_data, strlen(d->flag_data));
	}
	if (d->flag_web) {
		free(cfg->web_dir);
		cfg->web_dir = xs_xstrndup(d->flag_web, strlen(d->flag_web));
	}
	if (d->flag_listen && !xs_config_listen_set(cfg, d->flag_listen)) {
		rc = xs_err_set(err, XS_ERR_ARG,
				"--listen: '%s' is not IPV4:PORT, [IPV6]:PORT or localhost:PORT "
				"(a numeric address)", d->flag_listen);
		goto out;
	}
	if (d->flag_level) {
		if (!xs_log_level_from_name(d->flag_level, &level)) {
			rc = xs_err_set(err, XS_ERR_ARG, "--log-level: '%s' is not error, warn, info or debug",
					d->flag_level);
			goto out;
		}
		cfg->log_level = level;
	}
	if (flag_error)
		*flag_error = false;
	rc = xs_config_validate(cfg, err);
out:
	if (rc)
		xs_config_free(cfg);
	return rc;
}

/* --- pools --- */

static void serve_pool_free(struct serve_pool *p)
{
	if (!p)
		return;
	xs_pool_client_free(&p->pc);
	xs_cred_cleanup(&p->cred);
	free(p->ca_file);
	free(p->key);
	free(p);
}

/* What a reload compares to tell a pool unchanged: its settings and its CA file's content
 * (ca_digest, NULL without one). The password file's content is compared on its own. */
static char *serve_pool_key(const struct xs_config_pool *cp, const unsigned char *ca_digest)
{
	size_t n = strlen(cp->name) + strlen(cp->url) + 64 + 2 * XS_TLS_FILE_DIGEST_LEN;
	const char *parts[] = { cp->user, cp->password_file, cp->ca_file, cp->pins };
	char *k;

	for (size_t i = 0; i < 4; i++)
		n += parts[i] ? strlen(parts[i]) : 0;
	k = xs_xmalloc(n);
	snprintf(k, n, "%s\n%s\n%s\n%s\n%s\n%s\n%d", cp->name, cp->url, cp->user ? cp->user : "",
		 cp->password_file ? cp->password_file : "", cp->ca_file ? cp->ca_file : "",
		 cp->pins ? cp->pins : "", cp->insecure);
	for (size_t i = 0; ca_digest && i < XS_TLS_FILE_DIGEST_LEN; i++)
		snprintf(k + strlen(k), n - strlen(k), "%02x", ca_digest[i]);
	return k;
}

/* Retries now, instead of at their next backoff, the duplicates whose holder no longer
 * holds their pool: those of holder (it has just failed), or with holder NULL (after a
 * reload) those whose holder is gone or holds nothing. */
static void serve_retry_dups(struct xs_daemon *d, const struct serve_pool *holder)
{
	for (size_t i = 0; i < d->npools; i++) {
		struct serve_pool *p = d->pools[i];
		bool retry = p->dup[0] != '\0' && (!holder || !strcmp(p->dup_of, holder->name));

		for (size_t j = 0; retry && !holder && j < d->npools; j++)
			if (d->pools[j] != p && d->pools[j]->uuid[0] &&
			    !strcmp(d->pools[j]->name, p->dup_of))
				retry = false;
		if (retry)
			xs_pool_client_retry(p->pc);
	}
}

/*
 * The rule of pool uuids (the admit of every pool client, pool_client.h): at most
 * one section of d->pools collects a pool. The first whose client loads the pool
 * record holds its uuid (p->uuid), and keeps it while it stays configured and has
 * not failed for good (FAILED: a refused login; a section backing off keeps it:
 * its retries go round the pool's hosts). Another section reaching that pool is
 * refused: its client logs out, forgets the topology and backs off, and this is
 * asked again at each of its retries, so it takes over once the holder is removed
 * by a reload or has failed (both retry it at once: serve_retry_dups). A failed
 * holder overtaken loses its uuid and leaves the collector; its stored data, like
 * every section's, stays in the store. The log says a refusal once.
 */
static bool serve_admit(void *arg, struct xs_pool_client *pc, const char *uuid, char *why)
{
	struct serve_pool *p = arg, *holder = NULL;
	struct xs_daemon *d = p->d;

	(void)pc;
	if (!uuid[0] || strlen(uuid) >= sizeof(p->uuid))
		return true;
	for (size_t i = 0; i < d->npools && !holder; i++)
		if (d->pools[i] != p && !strcmp(d->pools[i]->uuid, uuid) &&
		    xs_pool_client_state(d->pools[i]->pc) != XS_POOL_FAILED)
			holder = d->pools[i];
	if (holder) {
		p->uuid[0] = '\0';
		snprintf(why, XS_POOL_REASON_LEN,
			 "the pool %s is already collected as [pool %s] (same pool, another "
			 "address): not collected twice", uuid, holder->name);
		if (strcmp(p->dup, why))
			xs_log_warn("pool %s: %s", p->name, why);
		snprintf(p->dup, sizeof(p->dup), "%s", why);
		snprintf(p->dup_of, sizeof(p->dup_of), "%s", holder->name);
		return false;
	}
	for (size_t i = 0; i < d->npools; i++) {
		struct serve_pool *q = d->pools[i];

		if (q == p || strcmp(q->uuid, uuid))
			continue;
		/* a failed holder: p collects its pool from now on */
		q->uuid[0] = '\0';
		snprintf(q->dup, sizeof(q->dup),
			 "the pool %s is collected as [pool %s] since this section failed (%s): "
			 "not collected twice", uuid, p->name, xs_pool_client_reason(q->pc));
		snprintf(q->dup_of, sizeof(q->dup_of), "%s", p->name);
		xs_collector_remove_pool(d->co, q->pc);
		xs_log_warn("pool %s: %s", q->name, q->dup);
	}
	if (p->dup[0])
		xs_log_info("pool %s: collecting the pool %s (no longer collected as [pool %s])",
			    p->name, uuid, p->dup_of);
	p->dup[0] = '\0';
	snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
	return true;
}

static void serve_on_change(void *arg, struct xs_pool_client *pc, unsigned what)
{
	struct serve_pool *p = arg;
	enum xs_pool_state s = xs_pool_client_state(pc);
	const char *reason = xs_pool_client_reason(pc);

	if (!(what & XS_POOL_CHANGE_STATE) || s == p->last_state)
		return;
	p->last_state = s;
	if (s == XS_POOL_FAILED && p->uuid[0])
		serve_retry_dups(p->d, p);
	/* a refused duplicate's retries: serve_admit said it once */
	if (p->dup[0] && (s == XS_POOL_CONNECTING ||
			  (s == XS_POOL_BACKOFF && !strncmp(reason, p->dup, strlen(p->dup)))))
		return;
	if (s == XS_POOL_BACKOFF || s == XS_POOL_FAILED)
		xs_log_warn("pool %s: %s: %s", p->name, xs_pool_state_name(s),
			    xs_pool_client_reason(pc));
	else
		xs_log_info("pool %s: %s", p->name, xs_pool_state_name(s));
}

/* A pool client for cp, a pool of cfg, not started; NULL with err (no password,
 * bad URL, unreadable CA file), which names the configuration line when cp
 * comes from a file. */
static struct serve_pool *serve_pool_new(struct xs_daemon *d, const struct xs_config *cfg,
					 const struct xs_config_pool *cp, char *err)
{
	struct serve_pool *p = xs_xcalloc(1, sizeof(*p));
	struct xs_pool_config pcfg = { 0 };
	char why[XS_ERR_LEN], where[XS_ERR_LEN];
	unsigned char ca_digest[XS_TLS_FILE_DIGEST_LEN];

	snprintf(p->name, sizeof(p->name), "%s", cp->name);
	{
		/* the URL's own user-info first, so that its error names the url line and one
		 * from reading the password file that file's line */
		struct xs_cred in_url = { 0 };

		if (xs_cred_split_url(cp->url, p->url, sizeof(p->url), &in_url.user, &in_url.password,
				      why)) {
			xs_config_where(cfg, cp->url_line ? cp->url_line : cp->line, where, sizeof(where));
			xs_err_set(err, XS_ERR_ARG, "%spool %s: %s", where, cp->name, why);
			goto fail;
		}
		xs_cred_cleanup(&in_url);
	}
	if (xs_cred_resolve(cp->url, cp->user, cp->password_file, getenv(XS_CRED_ENV), p->url,
			    sizeof(p->url), &p->cred, why)) {
		xs_config_where(cfg, cp->password_file ? cp->password_file_line : cp->line, where,
				sizeof(where));
		xs_err_set(err, XS_ERR_ARG, "%spool %s: %s", where, cp->name, why);
		goto fail;
	}
	if (!*p->cred.password) /* allowed (xapi accepts it), but rarely meant */
		xs_log_warn("pool %s: the password is empty (from %s)", cp->name,
			    cp->password_file ? cp->password_file : "the URL or " XS_CRED_ENV);
	if (cp->ca_file && xs_tls_ca_file_check(cp->ca_file, ca_digest, why)) {
		xs_config_where(cfg, cp->ca_file_line, where, sizeof(where));
		xs_err_set(err, XS_ERR_ARG, "%spool %s: ca_file %s", where, cp->name, why);
		goto fail;
	}
	/* the pool client and the collector copy tls: ca_file must live as long as p */
	if (cp->ca_file)
		p->ca_file = xs_xstrndup(cp->ca_file, strlen(cp->ca_file));
	p->tls.ca_file = p->ca_file;
	p->tls.insecure = cp->insecure;
	/* canonical and at most XS_TLS_PINS_MAX fingerprints (config.c): it fits */
	if (cp->pins)
		snprintf(p->tls.pins, sizeof(p->tls.pins), "%s", cp->pins);
	pcfg.name = p->name;
	pcfg.url = p->url;
	pcfg.user = p->cred.user;
	pcfg.password = p->cred.password;
	pcfg.tls = p->tls;
	pcfg.on_change = serve_on_change;
	pcfg.admit = serve_admit;
	pcfg.arg = p;
	p->d = d;
	p->last_state = XS_POOL_STOPPED;
	p->pc = xs_pool_client_new(d->loop, d->http, &pcfg, why);
	if (!p->pc) {
		xs_err_set(err, XS_ERR_ARG, "pool %s: %s", cp->name, why);
		goto fail;
	}
	p->key = serve_pool_key(cp, cp->ca_file ? ca_digest : NULL);
	return p;
fail:
	serve_pool_free(p);
	return NULL;
}

static void serve_pool_start(struct xs_daemon *d, struct serve_pool *p)
{
	char u[XS_LOG_URL_LEN];

	xs_log_info("pool %s: collecting %s", p->name, xs_log_url(u, sizeof(u), p->url));
	xs_pool_client_start(p->pc);
	xs_collector_add_pool(d->co, p->pc, &p->tls);
}

/* Frees ps[0..n) and ps (pools never started). */
static void serve_pools_free(struct serve_pool **ps, size_t n)
{
	for (size_t j = 0; j < n; j++)
		serve_pool_free(ps[j]);
	free(ps);
}

/* Builds a pool client for every pool of cfg into *out (all or none). */
static enum xs_err serve_pools_new(struct xs_daemon *d, const struct xs_config *cfg,
				   struct serve_pool ***out, char *err)
{
	struct serve_pool **ps = xs_xcalloc(cfg->npools + 1, sizeof(*ps));

	for (size_t i = 0; i < cfg->npools; i++) {
		ps[i] = serve_pool_new(d, cfg, &cfg->pools[i], err);
		if (!ps[i]) {
			serve_pools_free(ps, i);
			return XS_ERR_ARG;
		}
	}
	*out = ps;
	return XS_OK;
}

static void serve_retire(struct xs_daemon *d, struct serve_pool *p)
{
	xs_log_info("pool %s: no longer configured, stopping", p->name);
	xs_collector_remove_pool(d->co, p->pc);
	xs_pool_client_stop(p->pc);
	d->retiring = xs_xrealloc(d->retiring, (d->nretiring + 1) * sizeof(*d->retiring));
	d->retiring[d->nretiring++] = p;
}

static void serve_reap(struct xs_daemon *d)
{
	for (size_t i = 0; i < d->nretiring;) {
		if (xs_pool_client_state(d->retiring[i]->pc) != XS_POOL_STOPPED) {
			i++;
			continue;
		}
		serve_pool_free(d->retiring[i]);
		d->retiring[i] = d->retiring[--d->nretiring];
	}
}

/* Whether the running pool old goes on as fresh: the same configuration, the same
 * credentials (a password file's content may have changed) and not given up (a
 * refused login is final for a pool client: a reload is how it is tried again). */
static bool serve_pool_same(const struct serve_pool *fresh, const struct serve_pool *old)
{
	return !strcmp(fresh->key, old->key) && !strcmp(fresh->cred.user, old->cred.user) &&
	       !strcmp(fresh->cred.password, old->cred.password) &&
	       xs_pool_client_state(old->pc) != XS_POOL_FAILED;
}

/* The token in file (surrounding white space removed); NULL with err if unreadable, empty,
 * longer than buf holds (the whole file: what lies past it could be a second line) or not
 * one word of visible ASCII. */
static char *serve_read_token(const char *file, char *err)
{
	char buf[1024];
	FILE *f = fopen(file, "r");
	size_t n, a = 0;
	bool more;

	if (!f) {
		xs_err_set(err, XS_ERR_IO, "token_file %s: %s", file, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	more = n == sizeof(buf) - 1 && getc(f) != EOF;
	if (ferror(f)) { /* a directory (EISDIR), an I/O error: not an "empty" file */
		xs_err_set(err, XS_ERR_IO, "token_file %s: %s", file, strerror(errno));
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	while (a < n && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\n' || buf[a] == '\r'))
		a++;
	if (more || a == n || n - a >= sizeof(buf) - 2) {
		xs_err_set(err, XS_ERR_ARG, "token_file %s: %s", file,
			   a == n && !more ? "empty" : "longer than 1 KiB");
		return NULL;
	}
	/* a blank, a second line or a control byte: no client could send it in a header */
	for (size_t i = a; i < n; i++)
		if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f) {
			xs_err_set(err, XS_ERR_ARG,
				   "token_file %s: byte %zu is 0x%02x (a token is one word of visible ASCII)",
				   file, i - a + 1, (unsigned char)buf[i]);
			return NULL;
		}
	return xs_xstrndup(buf + a, n - a);
}

/* "s" for a count other than 1: "1 pool", "2 pools". */
static const char *serve_plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static bool serve_str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The settings a reload cannot change, each named in a warning when it differs. */
static void serve_reload_warn(const struct xs_config *o, const struct xs_config *n)
{
	bool retention = false;

	if (strcmp(n->data_dir, o->data_dir))
		xs_log_warn("reload: data changes only at restart");
	if (strcmp(n->listen_host, o->listen_host) || n->listen_port != o->listen_port)
		xs_log_warn("reload: listen changes only at restart");
	if (!serve_str_same(n->tls_cert_file, o->tls_cert_file) ||
	    !serve_str_same(n->tls_key_file, o->tls_key_file))
		xs_log_warn("reload: tls_cert / tls_key change only at restart");
	if (!serve_str_same(n->web_dir, o->web_dir))
		xs_log_warn("reload: web changes only at restart");
	if (n->max_connections != o->max_connections ||
	    n->max_connections_per_ip != o->max_connections_per_ip)
		xs_log_warn("reload: max_connections / max_connections_per_ip change only at restart");
	for (int t = 0; t < XS_CONFIG_TIERS; t++)
		retention = retention || n->retention[t] != o->retention[t];
	if (retention)
		xs_log_warn("reload: [retention] changes only at restart");
}

static void serve_swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

/* What only a restart changes keeps, in the new configuration n, the value that runs (from
 * o, which gets n's and is freed after): the configuration says what runs, so the next
 * reload warns again of a change still not in effect. */
static void serve_reload_keep_running(struct xs_config *n, struct xs_config *o)
{
	serve_swap_str(&n->data_dir, &o->data_dir);
	serve_swap_str(&n->listen_host, &o->listen_host);
	n->listen_port = o->listen_port;
	serve_swap_str(&n->tls_cert_file, &o->tls_cert_file);
	serve_swap_str(&n->tls_key_file, &o->tls_key_file);
	serve_swap_str(&n->web_dir, &o->web_dir);
	n->max_connections = o->max_connections;
	n->max_connections_per_ip = o->max_connections_per_ip;
	memcpy(n->retention, o->retention, sizeof(n->retention));
}

/* The API token of cfg into *token (NULL: no token_file); false with err naming the line. */
static bool serve_reload_token(const struct xs_config *cfg, char **token, char *err)
{
	char why[XS_ERR_LEN], where[XS_ERR_LEN];

	*token = NULL;
	if (!cfg->token_file)
		return true;
	*token = serve_read_token(cfg->token_file, why);
	if (*token)
		return true;
	xs_err_set(err, XS_ERR_ARG, "%s%s",
		   xs_config_where(cfg, cfg->token_file_line, where, sizeof(where)), why);
	return false;
}

static void serve_token_free(char **token)
{
	if (*token) {
		memset(*token, 0, strlen(*token));
		free(*token);
		*token = NULL;
	}
}

/*
 * SIGHUP: the new pool list replaces the old (unchanged pools keep running), the API
 * token is read again and used from now on; the log level too. All or nothing: a
 * configuration, password, CA or token file that cannot be read keeps the old one.
 * What only a restart changes is named in a warning (serve_reload_warn).
 */
static void serve_reload(struct xs_daemon *d)
{
	struct xs_config ncfg;
	struct serve_pool **fresh = NULL;
	size_t kept = 0, added = 0, removed = 0;
	char err[XS_ERR_LEN];
	char *token = NULL;

	if (serve_load(d, &ncfg, err, NULL)) {
		xs_log_error("reload: %s (configuration kept)", err);
		return;
	}
	if (!serve_reload_token(&ncfg, &token, err) || serve_pools_new(d, &ncfg, &fresh, err)) {
		xs_log_error("reload: %s (configuration kept)", err);
		serve_token_free(&token);
		xs_config_free(&ncfg);
		return;
	}
	if (d->api && xs_api_set_token(d->api, token, err)) {
		xs_log_error("reload: %s (configuration kept)", err);
		serve_pools_free(fresh, ncfg.npools);
		serve_token_free(&token);
		xs_config_free(&ncfg);
		return;
	}
	serve_token_free(&d->token);
	d->token = token;
	serve_reload_warn(&d->cfg, &ncfg);
	serve_reload_keep_running(&ncfg, &d->cfg);
	for (size_t i = 0; i < d->npools; i++) {
		bool stays = false;

		for (size_t j = 0; j < ncfg.npools && !stays; j++) {
			if (fresh[j] && serve_pool_same(fresh[j], d->pools[i])) {
				serve_pool_free(fresh[j]);
				fresh[j] = d->pools[i];
				stays = true;
				kept++;
			}
		}
		if (!stays) {
			serve_retire(d, d->pools[i]);
			removed++;
		}
	}
	for (size_t j = 0; j < ncfg.npools; j++) {
		bool old = false;

		for (size_t i = 0; i < d->npools; i++)
			old = old || fresh[j] == d->pools[i];
		if (!old) {
			serve_pool_start(d, fresh[j]);
			added++;
		}
	}
	free(d->pools);
	d->pools = fresh;
	d->npools = ncfg.npools;
	serve_retry_dups(d, NULL); /* a holder removed: its duplicates take over now */
	xs_log_set_level(ncfg.log_level);
	xs_config_free(&d->cfg);
	d->cfg = ncfg;
	xs_log_info("reload: %zu pool%s (%zu kept, %zu added, %zu removed)", d->npools,
		    serve_plural(d->npools), kept, added, removed);
}

/* --- housekeeping --- */

/* Warns when the estate needs more descriptors than the limit allows (open_files.h):
 * once, and again only when it grows past the need last warned of. */
static void serve_check_open_files(struct xs_daemon *d)
{
	struct xs_collector_stats cs;
	uint64_t need, limit;

	xs_collector_stats(d->co, &cs);
	need = xs_open_files_needed(cs.hosts, d->npools, d->cfg.max_connections);
	if (need <= d->open_files_warned)
		return;
	limit = xs_open_files_limit();
	if (need <= limit)
		return;
	d->open_files_warned = need;
	xs_log_warn("open files: %zu host%s (%zu pool%s) and up to %u API connections need about "
		    "%llu descriptors, but the limit (RLIMIT_NOFILE) is %llu: connections past it "
		    "fail (\"Couldn't connect to server\"); raise it (LimitNOFILE= in the systemd "
		    "unit, ulimit -n)",
		    cs.hosts, serve_plural(cs.hosts), d->npools, serve_plural(d->npools),
		    d->cfg.max_connections, (unsigned long long)need,
		    (unsigned long long)limit);
}

static void serve_sync_cb(struct xs_evloop *loop, void *arg)
{
	struct xs_daemon *d = arg;
	char err[XS_ERR_LEN];

	if (xs_store_sync(d->store, err)) { /* a full disk: once a minute, with the count */
		xs_log_every(&d->sync_log, SERVE_SYNC_LOG_SECS, XS_LOG_ERROR, "store: sync: %s", err);
		d->sync_failures++;
		snprintf(d->sync_error, sizeof(d->sync_error), "%s", err);
	} else if (d->sync_error[0] && !xs_store_checkpoint_failures(d->store)) {
		/* not while a checkpoint that failed waits for its next try: the syncs between
		 * its tries succeed, the failure is not over */
		xs_log_info("store: syncs succeed again (%llu failed since start)",
			    (unsigned long long)d->sync_failures);
		d->sync_error[0] = '\0';
	}
	serve_reap(d);
	serve_check_open_files(d);
	d->sync_timer = xs_evloop_add_timer(loop, SERVE_SYNC_SECS, serve_sync_cb, d);
}

static void serve_expire(struct xs_daemon *d)
{
	char err[XS_ERR_LEN];

	if (xs_store_expire(d->store, (int64_t)time(NULL), err))
		xs_log_error("store: expire: %s", err);
}

static void serve_expire_cb(struct xs_evloop *loop, void *arg)
{
	struct xs_daemon *d = arg;

	serve_expire(d);
	d->expire_timer = xs_evloop_add_timer(loop, SERVE_EXPIRE_SECS, serve_expire_cb, d);
}

/* The collector's host status into d->status; returns how many. */
static size_t serve_status(struct xs_daemon *d)
{
	size_t n = xs_collector_status(d->co, d->status, d->capstatus);

	if (n > d->capstatus) {
		d->capstatus = n + 64;
		d->status = xs_xrealloc(d->status, d->capstatus * sizeof(*d->status));
		n = xs_collector_status(d->co, d->status, d->capstatus);
	}
	return n;
}

/* This process's CPU time so far, user and system, in seconds. */
static double serve_cpu_seconds(void)
{
	struct timespec cpu;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	return (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
}

/*
 * One `stats` line: the collector's counters since start, the hosts busy and
 * late, the lag over hosts (max and mean of those with a row stored), the
 * store's series and samples, our CPU seconds so far, the heap the
 * collector holds, and the API lock's figures (requests that took it, those
 * that waited 1 and 5 ms or more, the longest wait and this loop's longest
 * hold since the previous line). why: timer, signal (SIGUSR1) or stop. (Not glibc's
 * mallinfo2: it walks every free chunk, about a second at 1.5 GB of heap.)
 */
static void serve_stats_log(struct xs_daemon *d, const char *why)
{
	struct xs_collector_stats cs;
	struct xs_store_stats ss;
	struct xs_api_thread_stats ls = { 0 };
	size_t n, known = 0, late = 0, backoff = 0;
	double lag_max = 0, lag_sum = 0;

	if (!d->co)
		return;
	xs_collector_stats(d->co, &cs);
	xs_store_stats(d->store, &ss);
	n = serve_status(d);
	for (size_t i = 0; i < n; i++) {
		double lag = d->status[i].lag;

		backoff += d->status[i].state == XS_COLLECT_BACKOFF;
		if (lag < 0)
			continue;
		known++;
		lag_sum += lag;
		lag_max = lag > lag_max ? lag : lag_max;
		late += lag > SERVE_LATE_SECS;
	}
	if (d->api_thread)
		xs_api_thread_stats(d->api_thread, &ls, 1);
	xs_log_info("stats: why=%s hosts=%zu busy=%zu backoff=%zu late=%zu backfilling=%zu "
		    "backfill_waiting=%zu lag_max=%.1f lag_mean=%.2f "
		    "fetches=%llu rows=%llu samples=%llu errors=%llu refetches=%llu backfills=%llu "
		    "backfill_points=%llu series=%llu store_samples=%llu duplicates=%llu retired=%llu dormant=%llu cpu_s=%.2f "
		    "collector_mib=%.1f api_locks=%llu api_waits_1ms=%llu api_waits_5ms=%llu "
		    "api_wait_max_ms=%.1f loop_hold_max_ms=%.1f defer_wait_max_ms=%.1f index_reads=%llu "
		    "index_cached=%llu",
		    why, cs.hosts, cs.busy, backoff, late, cs.backfilling, cs.backfill_waiting, lag_max, known ? lag_sum / (double)known : 0.0,
		    (unsigned long long)cs.fetches, (unsigned long long)cs.rows,
		    (unsigned long long)cs.samples, (unsigned long long)cs.errors,
		    (unsigned long long)cs.refetches, (unsigned long long)cs.backfills,
		    (unsigned long long)cs.backfill_points, (unsigned long long)ss.series,
		    (unsigned long long)ss.samples, (unsigned long long)ss.duplicates,
		    (unsigned long long)ss.retired, (unsigned long long)ss.dormant,
		    serve_cpu_seconds(),
		    (double)cs.bytes / (1 << 20), ls.api_entries, ls.api_waits_1ms, ls.api_waits_5ms,
		    ls.api_wait_max_ms, ls.owner_hold_max_ms, ls.defer_wait_max_ms,
		    (unsigned long long)ss.index_reads,
		    (unsigned long long)ss.index_cached);
}

static void serve_stats_cb(struct xs_evloop *loop, void *arg)
{
	struct xs_daemon *d = arg;

	serve_stats_log(d, "timer");
	/* give the pages of freed blocks (checkpoint waves) back to the system; it
	 * changes nothing the API reads, so the API may run meanwhile */
	xs_api_thread_io_begin(d->api_thread);
	malloc_trim(0);
	xs_api_thread_io_end(d->api_thread);
	d->stats_timer = xs_evloop_add_timer(loop, SERVE_STATS_SECS, serve_stats_cb, d);
}

static void serve_signal_cb(struct xs_evloop *loop, void *arg)
{
	struct xs_daemon *d = arg;

	if (serve_usr1_flag) {
		serve_usr1_flag = 0;
		serve_stats_log(d, "signal");
	}

	if (serve_hup_flag) {
		serve_hup_flag = 0;
		if (d->config_file)
			serve_reload(d);
		else
			xs_log_warn("SIGHUP: no configuration file (-c) to reload");
	}
	d->signal_timer = xs_evloop_add_timer(loop, SERVE_SIGNAL_SECS, serve_signal_cb, d);
}

static void serve_collect_log(void *arg, enum xs_collect_log level, const char *msg)
{
	static const enum xs_log_level map[] = { XS_LOG_DEBUG, XS_LOG_INFO, XS_LOG_WARN,
						  XS_LOG_ERROR };

	(void)arg;
	xs_log(map[level], "%s", msg);
}

static bool serve_all_stopped(const struct xs_daemon *d)
{
	for (size_t i = 0; i < d->npools; i++)
		if (xs_pool_client_state(d->pools[i]->pc) != XS_POOL_STOPPED)
			return false;
	return d->nretiring == 0;
}

static void serve_logout_tick(struct xs_evloop *loop, void *arg)
{
	struct xs_daemon *d = arg;

	serve_reap(d);
	if (serve_all_stopped(d))
		xs_evloop_stop(loop);
	else
		xs_evloop_add_timer(loop, 0.05, serve_logout_tick, d);
}

static void serve_logout_end(struct xs_evloop *loop, void *arg)
{
	(void)arg;
	xs_evloop_stop(loop);
}

/* Stops collecting, logs every pool out (bounded wait), closes the store. */
static int serve_shutdown(struct xs_daemon *d)
{
	char err[XS_ERR_LEN];
	int status = 0;

	xs_log_info("stopping");
	serve_stats_log(d, "stop");
	xs_api_thread_stop(d->api_thread);
	xs_api_free(&d->api);
	xs_collector_free(&d->co);
	for (size_t i = 0; i < d->npools; i++)
		xs_pool_client_stop(d->pools[i]->pc);
	xs_evloop_cancel_timer(d->loop, d->sync_timer);
	xs_evloop_cancel_timer(d->loop, d->expire_timer);
	xs_evloop_cancel_timer(d->loop, d->signal_timer);
	xs_evloop_cancel_timer(d->loop, d->stats_timer);
	{
		uint64_t end = xs_evloop_add_timer(d->loop, SERVE_LOGOUT_SECS, serve_logout_end, d);
		uint64_t tick = xs_evloop_add_timer(d->loop, 0, serve_logout_tick, d);

		xs_evloop_run(d->loop, NULL);
		xs_evloop_cancel_timer(d->loop, end);
		xs_evloop_cancel_timer(d->loop, tick);
	}
	if (xs_store_close(&d->store, err)) {
		xs_log_error("store: close: %s: the rows since the last sync that succeeded are not "
			     "on disk (the next start backfills what the hosts still hold)", err);
		status = 1;
	}
	xs_log_info("stopped");
	return status;
}

static void serve_free(struct xs_daemon *d)
{
	for (size_t i = 0; i < d->npools; i++)
		serve_pool_free(d->pools[i]);
	free(d->pools);
	for (size_t i = 0; i < d->nretiring; i++)
		serve_pool_free(d->retiring[i]);
	free(d->retiring);
	xs_api_thread_stop(d->api_thread);
	xs_api_free(&d->api);
	xs_collector_free(&d->co);
	if (d->store) { /* a start that failed after opening it (serve_shutdown closes it otherwise) */
		char err[XS_ERR_LEN];

		if (xs_store_close(&d->store, err)) /* its io hooks use the API thread: freed below */
			xs_log_error("store: close: %s", err);
	}
	xs_api_thread_free(&d->api_thread);
	free(d->status);
	free(d->epools);
	serve_token_free(&d->token);
	xs_http_free(&d->http);
	xs_evloop_free(&d->loop);
	xs_config_free(&d->cfg);
	for (size_t i = 0; i < d->nflag_pools; i++) {
		memset(d->flag_pools[i], 0, strlen(d->flag_pools[i]));
		free(d->flag_pools[i]);
	}
}

/* --- the HTTP API's view of the daemon --- */

static double serve_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void serve_api_estate(void *arg, struct xs_estate *e, bool with_status)
{
	struct xs_daemon *d = arg;

	if (d->npools + 1 > d->epools_cap) {
		d->epools_cap = d->npools + 1;
		d->epools = xs_xrealloc(d->epools, d->epools_cap * sizeof(*d->epools));
	}
	for (size_t i = 0; i < d->npools; i++) {
		const struct serve_pool *p = d->pools[i];
		enum xs_pool_state s = xs_pool_client_state(p->pc);

		d->epools[i].name = p->name;
		/* NULL until the first load (estate.h): a pool never reached is not "connected";
		 * a duplicate's pool is shown once, by the section that holds it */
		d->epools[i].topo = xs_pool_client_loaded(p->pc) && !p->dup[0]
					    ? xs_pool_client_topo(p->pc)
					    : NULL;
		d->epools[i].duplicate = p->dup[0] != '\0';
		d->epools[i].error = p->dup[0] ? p->dup
				     : s == XS_POOL_BACKOFF || s == XS_POOL_FAILED
					     ? xs_pool_client_reason(p->pc)
					     : NULL;
	}
	e->store = d->store;
	e->pools = d->epools;
	e->npools = d->npools;
	e->nstatus = with_status ? serve_status(d) : 0;
	e->status = with_status ? d->status : NULL;
	e->now = serve_wall();
}

static uint64_t serve_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	/* statm counts pages: 4 KiB here, 16 or 64 KiB on some arm64 and ppc64 kernels */
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void serve_api_self(void *arg, struct xs_prom_self *st)
{
	struct xs_daemon *d = arg;
	struct xs_store_stats ss;
	struct xs_collector_stats cs;
	double now = serve_wall();
	size_t n = serve_status(d);

	xs_store_stats(d->store, &ss);
	xs_collector_stats(d->co, &cs);
	st->uptime = now - d->started;
	st->store_series = ss.series;
	st->store_dormant = ss.dormant;
	st->store_bytes = ss.bytes_on_disk;
	st->store_damaged_blocks_total = ss.damaged_blocks;
	st->store_unread_blocks_total = ss.unread_blocks;
	st->store_sync_failures_total = d->sync_failures;
	snprintf(st->store_error, sizeof(st->store_error), "%s", d->sync_error);
	st->samples_total = ss.samples;
	st->fetches_total = cs.fetches;
	st->fetch_errors_total = cs.errors;
	st->backfills_total = cs.backfills;
	for (size_t i = 0; i < n; i++)
		switch (xs_status_host_health(&d->status[i], now)) {
		case XS_HEALTH_COLLECTING:
			st->hosts_collecting++;
			break;
		case XS_HEALTH_LATE:
			st->hosts_late++;
			break;
		case XS_HEALTH_DOWN:
			st->hosts_down++;
			break;
		}
	st->resident_bytes = serve_rss_bytes();
	st->cpu_seconds = serve_cpu_seconds();
	st->start_time = d->started;
	st->open_fds = xs_open_files_count();
	st->max_fds = xs_open_files_limit();
	if (st->max_fds == UINT64_MAX) /* unlimited or unknown: 0, as /metrics documents */
		st->max_fds = 0;
}

/* The web UI's default directory, beside the binary: PREFIX/share/xapistat/web
 * of an installed one (PREFIX/bin/xapistat, `make install`), else web/dist of
 * the tree it was built in (build/xapistat); NULL if neither exists. */
static const char *serve_default_web(char *buf, size_t n)
{
	static const char *const beside[] = { "/share/xapistat/web", "/web/dist" };
	ssize_t len = readlink("/proc/self/exe", buf, n - 32);
	char *slash;
	struct stat stt;

	if (len <= 0)
		return NULL;
	buf[len] = '\0';
	for (int up = 0; up < 2; up++) { /* the binary's name, then its directory */
		slash = strrchr(buf, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
	}
	for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
		snprintf(slash, n - (size_t)(slash - buf), "%s", beside[i]);
		if (stat(buf, &stt) == 0 && S_ISDIR(stt.st_mode))
			return buf;
	}
	return NULL;
}

static int serve_api_start(struct xs_daemon *d)
{
	struct xs_api_config ac;
	struct xs_api_provider p = { .estate = serve_api_estate, .self = serve_api_self, .arg = d,
				     .enter = xs_api_thread_enter, .leave = xs_api_thread_leave,
				     .lock_arg = d->api_thread, .defer = xs_api_thread_defer,
				     .yield = xs_api_thread_yield };
	char err[XS_ERR_LEN], web[4096];

	memset(&ac, 0, sizeof(ac));
	if (d->cfg.token_file) {
		d->token = serve_read_token(d->cfg.token_file, err);
		if (!d->token) {
			xs_log_error("%s%s", xs_config_where(&d->cfg, d->cfg.token_file_line, web,
							     sizeof(web)), err);
			return 1;
		}
	}
	ac.http.host = d->cfg.listen_host;
	ac.http.port = d->cfg.listen_port;
	ac.http.token = d->token;
	ac.http.tls_cert_file = d->cfg.tls_cert_file;
	ac.http.tls_key_file = d->cfg.tls_key_file;
	ac.http.max_connections = d->cfg.max_connections;
	ac.http.max_per_ip = d->cfg.max_connections_per_ip;
	ac.http.static_dir = d->cfg.web_dir ? d->cfg.web_dir : serve_default_web(web, sizeof(web));
	for (int t = 0; t < XS_NTIERS && t < XS_CONFIG_TIERS; t++)
		ac.retention[t] = d->cfg.retention[t];
	if (xs_api_start(xs_api_thread_loop(d->api_thread), &ac, &p, &d->api, err)) {
		xs_log_error("api %s:%u: %s", d->cfg.listen_host, (unsigned)d->cfg.listen_port, err);
		return 1;
	}
	xs_log_info("api: http%s://%s%s%s:%u/%s%s", d->cfg.tls_cert_file ? "s" : "",
		    strchr(d->cfg.listen_host, ':') ? "[" : "", d->cfg.listen_host,
		    strchr(d->cfg.listen_host, ':') ? "]" : "", (unsigned)xs_api_port(d->api),
		    ac.http.static_dir ? "" : " (no web UI files: ", ac.http.static_dir ? "" : "API only)");
	return 0;
}

/* Opens the store and starts everything; 0, or 1 with the reason logged. */
static int serve_start(struct xs_daemon *d)
{
	struct xs_store_options so = { 0 };
	struct xs_collector_config ccfg = { 0 };
	struct xs_open_files of;
	char err[XS_ERR_LEN];

	xs_open_files_raise(&of);
	if (of.error)
		xs_log_warn("open files: cannot raise the limit (RLIMIT_NOFILE) from %llu: %s",
			    (unsigned long long)of.before, strerror(of.error));
	else if (of.after != of.before)
		xs_log_info("open files: limit (RLIMIT_NOFILE) raised from %llu to %llu",
			    (unsigned long long)of.before, (unsigned long long)of.after);
	/* big transient buffers (checkpoints, documents) straight from mmap, so that
	 * their pages go back to the system when freed: glibc would otherwise raise
	 * its mmap threshold after the first one and keep them in the heap */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* no fastbins: their freed small chunks (a checkpoint frees ~100k written blocks)
	 * wait until an allocation of 1 KiB or more consolidates them all at once, which
	 * took 40 ms on this loop's thread with the API's lock held; without them each
	 * free coalesces at once, mostly in the checkpoint's io region (lock let go). In
	 * the 20,000-VM bench the API's holds over 10 ms halved (the peak RSS did not move
	 * beyond its run-to-run spread). */
	mallopt(M_MXFAST, 0);
	d->loop = xs_evloop_new();
	if (!d->loop) {
		xs_log_error("cannot start the event loop");
		return 1;
	}
	d->http = xs_http_new(d->loop, err);
	if (!d->http) { /* err says why: libcurl missing (and the package to install), ... */
		xs_log_error("%s", err);
		return 1;
	}
	if (serve_pools_new(d, &d->cfg, &d->pools, err)) {
		xs_log_error("%s", err);
		return 1;
	}
	d->npools = d->cfg.npools;
	d->api_thread = xs_api_thread_new(d->loop, err);
	if (!d->api_thread) {
		xs_log_error("%s", err);
		return 1;
	}
	so.dir = d->cfg.data_dir;
	so.io_begin = xs_api_thread_io_begin;
	so.io_end = xs_api_thread_io_end;
	so.yield = xs_api_thread_yield;
	so.io_arg = d->api_thread;
	for (int t = 0; t < XS_NTIERS && t < XS_CONFIG_TIERS; t++)
		so.retention[t] = d->cfg.retention[t];
	if (xs_store_open(&so, &d->store, err)) {
		xs_log_error("store %s: %s", d->cfg.data_dir, err);
		return 1;
	}
	{
		struct xs_store_stats ss;

		xs_store_stats(d->store, &ss);
		if (ss.wal_dropped_bytes && !ss.wal_dropped_errno)
			xs_log_warn("store %s: %llu bytes at the end of the write-ahead log did not "
				    "replay (the last unsynced rows of a crash, or damage): kept in "
				    "%s/wal.dropped",
				    d->cfg.data_dir, (unsigned long long)ss.wal_dropped_bytes,
				    d->cfg.data_dir);
		else if (ss.wal_dropped_bytes)
			xs_log_warn("store %s: %llu bytes at the end of the write-ahead log did not "
				    "replay (the last unsynced rows of a crash, or damage), and could "
				    "not be kept in %s/wal.dropped (%s): they are lost",
				    d->cfg.data_dir, (unsigned long long)ss.wal_dropped_bytes,
				    d->cfg.data_dir, strerror(ss.wal_dropped_errno));
		if (ss.dormant_damaged)
			xs_log_warn("store %s: dormant file damaged: %llu records skipped (those "
				    "stopped series open with an older record's last times, or none; "
				    "their points stay readable)",
				    d->cfg.data_dir, (unsigned long long)ss.dormant_damaged);
		if (ss.dormant_lost)
			xs_log_warn("store %s: dormant file missing beside the write-ahead log: the "
				    "series stopped before the last checkpoint open without their last "
				    "times (their points stay readable)",
				    d->cfg.data_dir);
		if (ss.lost_series)
			xs_log_warn("store %s: series catalog damaged: %llu series lost their names "
				    "(kept as lost-series-ID; the rest is intact)",
				    d->cfg.data_dir, (unsigned long long)ss.lost_series);
	}
	ccfg.log = serve_collect_log;
	ccfg.yield = xs_api_thread_yield;
	ccfg.yield_arg = d->api_thread;
	d->co = xs_collector_new(d->loop, d->http, d->store, &ccfg);
	d->started = serve_wall();
	if (serve_api_start(d))
		return 1;
	serve_expire(d);
	for (size_t i = 0; i < d->npools; i++)
		serve_pool_start(d, d->pools[i]);
	d->sync_timer = xs_evloop_add_timer(d->loop, SERVE_SYNC_SECS, serve_sync_cb, d);
	d->expire_timer = xs_evloop_add_timer(d->loop, SERVE_EXPIRE_SECS, serve_expire_cb, d);
	d->signal_timer = xs_evloop_add_timer(d->loop, SERVE_SIGNAL_SECS, serve_signal_cb, d);
	d->stats_timer = xs_evloop_add_timer(d->loop, SERVE_STATS_SECS, serve_stats_cb, d);
	/* last: from here on, the API thread reads while this loop's callbacks write */
	if (xs_api_thread_start(d->api_thread, err)) {
		xs_log_error("%s", err);
		return 1;
	}
	xs_log_info("serving %zu pool%s, store %s", d->npools, serve_plural(d->npools),
		    d->cfg.data_dir);
	return 0;
}

/* A directory the daemon would use: absent is fine when it may be made (data),
 * else it must be a directory it can use (`need`: access(2) mode). */
static bool serve_check_dir(const char *what, const char *dir, int need, bool may_make)
{
	struct stat stt;

	if (stat(dir, &stt) < 0) {
		if (errno == ENOENT && may_make) { /* made at start: its parent must allow it */
			char parent[4096];
			size_t n = xs_path_parent_len(dir); /* as mkdir(2) and st_fsync_parent */

			snprintf(parent, sizeof(parent), "%s", dir);
			if (n && n < sizeof(parent))
				parent[n] = '\0';
			else
				snprintf(parent, sizeof(parent), ".");
			if (stat(parent, &stt) == 0 && S_ISDIR(stt.st_mode) && access(parent, W_OK | X_OK) == 0)
				return true;
			xs_log_error("%s %s: cannot be made: %s: %s", what, dir, parent,
				     errno ? strerror(errno) : "not a directory");
			return false;
		}
		xs_log_error("%s %s: %s", what, dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(stt.st_mode)) {
		xs_log_error("%s %s: not a directory", what, dir);
		return false;
	}
	if (access(dir, need) < 0) {
		xs_log_error("%s %s: %s", what, dir, strerror(errno));
		return false;
	}
	return true;
}

/*
 * --check: what serve_start would refuse, without starting: the configuration
 * (already loaded), every pool's password and CA file (the same code as at
 * start), the token file, the TLS certificate and key, the data and web
 * directories. Nothing connects, binds or opens the store (a store in use by
 * the running daemon is fine). Prints one line of what it would serve.
 */
static int serve_check(struct xs_daemon *d)
{
	struct xs_http_server_config hc = { 0 };
	char err[XS_ERR_LEN], where[XS_ERR_LEN], web[4096];
	const char *web_dir = d->cfg.web_dir ? d->cfg.web_dir : serve_default_web(web, sizeof(web));
	struct serve_pool **pools = NULL;
	char *token = NULL;
	int rc = 1;

	d->loop = xs_evloop_new();
	if (!d->loop) {
		xs_log_error("cannot start the event loop");
		return 1;
	}
	d->http = xs_http_new(d->loop, err);
	if (!d->http || serve_pools_new(d, &d->cfg, &pools, err)) {
		xs_log_error("%s", err);
		return 1;
	}
	serve_pools_free(pools, d->cfg.npools);
	if (d->cfg.token_file) {
		token = serve_read_token(d->cfg.token_file, err);
		if (!token) {
			xs_log_error("%s%s", xs_config_where(&d->cfg, d->cfg.token_file_line, where,
							     sizeof(where)), err);
			return 1;
		}
	}
	hc.tls_cert_file = d->cfg.tls_cert_file;
	hc.tls_key_file = d->cfg.tls_key_file;
	if (xs_http_server_check_tls(&hc, err)) {
		xs_log_error("api %s:%u: %s", d->cfg.listen_host, (unsigned)d->cfg.listen_port, err);
		goto out;
	}
	if (!serve_check_dir("data", d->cfg.data_dir, R_OK | W_OK | X_OK, true) ||
	    (d->cfg.web_dir && !serve_check_dir("web", d->cfg.web_dir, R_OK | X_OK, false)))
		goto out;
	printf("xapistat serve: configuration OK: %zu pool%s, store %s, API http%s://%s%s%s:%u/%s%s\n",
	       d->cfg.npools, d->cfg.npools == 1 ? "" : "s", d->cfg.data_dir,
	       d->cfg.tls_cert_file ? "s" : "", strchr(d->cfg.listen_host, ':') ? "[" : "",
	       d->cfg.listen_host, strchr(d->cfg.listen_host, ':') ? "]" : "",
	       (unsigned)d->cfg.listen_port, token ? " (token)" : "",
	       web_dir ? "" : ", no web UI files");
	rc = 0;
out:
	serve_token_free(&token);
	return rc;
}

static int serve_run(int argc, char **argv)
{
	struct xs_daemon d;
	char err[XS_ERR_LEN];
	bool flag_error = false;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = serve_args(&d, argc, argv);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (serve_load(&d, &d.cfg, err, &flag_error)) {
		/* a flag's value is a usage error, on the terminal that typed it; anything else
		 * (the file) is logged like every other line, so journald gets its priority */
		if (flag_error)
			fprintf(stderr, "xapistat serve: %s\n", err);
		else
			xs_log_error("%s", err);
		rc = flag_error ? 2 : 1;
		goto out;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			xs_cred_mask_url(argv[++i]);
	xs_log_set_level(d.cfg.log_level);
	if (d.check) {
		rc = serve_check(&d);
		goto out;
	}
	serve_signals();
	rc = serve_start(&d);
	if (!rc) {
		xs_evloop_run(d.loop, &serve_stop_flag);
		rc = serve_shutdown(&d);
	}
out:
	serve_free(&d);
	return rc;
}

const struct xs_cmd xs_cmd_serve = {
	.name = "serve",
	.summary = "collect every pool into the store, in the background",
	.run = serve_run,
};
