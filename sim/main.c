/*
 * main.c - the xapi-sim program: parses the flags, builds the simulated
 * estate, makes every host listen on its own loopback address, prints one
 * line per pool once all of them listen, and runs the event loop until
 * SIGINT or SIGTERM.
 *
 * Invariants: all state lives in one struct sim (no globals, not even a
 * signal flag: the signals are blocked and read from a signalfd on the
 * loop, so a signal can never slip in between a check and epoll_wait);
 * everything is freed before exit, in the reverse order of creation.
 *
 * Exit status: 0 after a clean stop, 1 when the simulator cannot start
 * (a port in use, TLS unavailable), 2 for a bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/num.h"
#include "lib/xmalloc.h"
#include "sim.h"
#include "tls_cert.h"

#define SIM_MAIN_MAX_POOLS 1000
#define SIM_MAIN_MAX_HOSTS (254 * 255)        /* every host needs its own address */
#define SIM_MAIN_MAX_VMS_PER_HOST 1000
#define SIM_MAIN_MAX_VMS 2000000              /* over the whole estate */
#define SIM_MAIN_MAX_HISTORY 366              /* days: the 1 d archive's rows */
#define SIM_MAIN_TICK 5.0                     /* seconds between RRD steps */
#define SIM_MAIN_SLICE_STEPS 20000            /* data-source steps per callback (~1-2 ms) */
#define SIM_MAIN_LISTEN_TRIES 8               /* --port 0: retries when the port is taken */
#define SIM_MAIN_SPARE_FDS 256                /* descriptors kept for connections and files */
#define SIM_MAIN_DEFAULT_VERSION "25.6.0"

static const char sim_main_usage[] =
	"usage: xapi-sim --pools P --hosts H --vms-per-host V [--listen 127.0.0.1] [--port N]\n"
	"                [--user U] [--password P] [--seed S] [--history DAYS]\n"
	"                [--xapi-version X.Y.Z] [--tls] [--manual-clock START]\n";

/* The running program: the simulator plus what main owns around it. */
struct sim_main {
	struct sim sim;
	int sigfd;                  /* signalfd of SIGINT and SIGTERM, -1 if none */
	uint64_t tick;              /* RRD step timer, 0 = none */
	uint64_t slice;             /* zero-delay timer of the step in progress, 0 = none */
	struct sim_tls_cert cert;   /* --tls */
};

__attribute__((format(printf, 2, 3))) static int main_bad_flag(const char *flag, const char *fmt,
							       ...)
{
	va_list ap;

	fprintf(stderr, "xapi-sim: %s: ", flag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", sim_main_usage);
	return 2;
}

/* An integer flag value in [min, max]. */
static int main_int(const char *flag, const char *val, int64_t min, int64_t max, int64_t *out)
{
	if (!xs_num_i64_from_slice(val, strlen(val), out) || *out < min || *out > max)
		return main_bad_flag(flag, "'%s' is not an integer from %lld to %lld", val,
				     (long long)min, (long long)max);
	return 0;
}

/* --listen: a 127.x.y.z address; its second octet is the hosts' address base. */
static int main_listen(const char *val, uint8_t *base)
{
	struct in_addr a;
	unsigned char b[4];

	if (inet_pton(AF_INET, val, &a) != 1)
		return main_bad_flag("--listen", "'%s' is not an IPv4 address", val);
	memcpy(b, &a.s_addr, 4);
	if (b[0] != 127)
		return main_bad_flag("--listen",
				     "'%s' is not a loopback address: every host listens on its "
				     "own 127.x.y.z", val);
	*base = b[1];
	return 0;
}

/* What parsing found besides the options. */
struct main_cmdline {
	uint8_t addr_base;
	bool help;
};

/* Setters of the flags: n is the value of an integer flag, checked already. */
static int main_set_pools(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)cl, (void)v;
	o->pools = (int)n;
	return 0;
}

static int main_set_hosts(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)cl, (void)v;
	o->hosts_per_pool = (int)n;
	return 0;
}

static int main_set_vms(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)cl, (void)v;
	o->vms_per_host = (int)n;
	return 0;
}

static int main_set_listen(struct sim_options *o, struct main_cmdline *cl, const char *v,
			   int64_t n)
{
	(void)n;
	o->listen = v;
	return main_listen(v, &cl->addr_base);
}

static int main_set_port(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)cl, (void)v;
	o->port = (uint16_t)n;
	return 0;
}

static int main_set_user(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)cl, (void)n;
	if (!v[0])
		return main_bad_flag("--user", "must not be empty");
	o->user = v;
	return 0;
}

static int main_set_password(struct sim_options *o, struct main_cmdline *cl, const char *v,
			     int64_t n)
{
	(void)cl, (void)n;
	o->password = v;
	return 0;
}

static int main_set_seed(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)cl, (void)v;
	o->seed = (uint64_t)n;
	return 0;
}

static int main_set_history(struct sim_options *o, struct main_cmdline *cl, const char *v,
			    int64_t n)
{
	(void)cl, (void)v;
	o->history_days = (int)n;
	return 0;
}

static int main_set_version(struct sim_options *o, struct main_cmdline *cl, const char *v,
			    int64_t n)
{
	(void)cl, (void)n;
	if (strlen(v) >= sizeof(o->version_text) || !sim_xapi_version_parse(v, &o->version))
		return main_bad_flag("--xapi-version",
				     "'%s' is not a version X.Y.Z (e.g. 25.6.0, 1.249.3)", v);
	snprintf(o->version_text, sizeof(o->version_text), "%s", v);
	return 0;
}

static int main_set_clock(struct sim_options *o, struct main_cmdline *cl, const char *v,
			  int64_t n)
{
	double d;

	(void)cl, (void)n;
	if (!xs_num_from_slice(v, strlen(v), &d) || !(d >= 0 && d < 1e11))
		return main_bad_flag("--manual-clock", "'%s' is not a start time in unix seconds",
				     v);
	o->manual_clock = true;
	o->start_time = d;
	return 0;
}

static int main_set_tls(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)cl, (void)v, (void)n;
	o->tls = true;
	return 0;
}

static int main_set_help(struct sim_options *o, struct main_cmdline *cl, const char *v, int64_t n)
{
	(void)o, (void)v, (void)n;
	cl->help = true;
	return 0;
}

typedef int (*main_setter)(struct sim_options *o, struct main_cmdline *cl, const char *val,
			   int64_t n);

/* Every flag: whether it takes a value, the range of an integer one, its setter. */
static const struct main_flag_def {
	const char *name;
	bool value;                /* takes a value */
	bool integer;              /* the value is an integer in [min, max] */
	int64_t min, max;
	main_setter set;
} main_flags[] = {
	{ "--pools", true, true, 1, SIM_MAIN_MAX_POOLS, main_set_pools },
	{ "--hosts", true, true, 1, 254, main_set_hosts },
	{ "--vms-per-host", true, true, 0, SIM_MAIN_MAX_VMS_PER_HOST, main_set_vms },
	{ "--listen", true, false, 0, 0, main_set_listen },
	{ "--port", true, true, 0, 65535, main_set_port },
	{ "--user", true, false, 0, 0, main_set_user },
	{ "--password", true, false, 0, 0, main_set_password },
	{ "--seed", true, true, 0, INT64_MAX, main_set_seed },
	{ "--history", true, true, 0, SIM_MAIN_MAX_HISTORY, main_set_history },
	{ "--xapi-version", true, false, 0, 0, main_set_version },
	{ "--manual-clock", true, false, 0, 0, main_set_clock },
	{ "--tls", false, false, 0, 0, main_set_tls },
	{ "--help", false, false, 0, 0, main_set_help },
	{ "-h", false, false, 0, 0, main_set_help },
};

static const struct main_flag_def *main_flag_find(const char *name)
{
	for (size_t i = 0; i < sizeof(main_flags) / sizeof(main_flags[0]); i++)
		if (!strcmp(main_flags[i].name, name))
			return &main_flags[i];
	return NULL;
}

/* Takes flag f with value val (NULL if none was given). 0, or 2 after a message. */
static int main_flag(struct sim_options *o, struct main_cmdline *cl, const char *flag,
		     const char *val)
{
	const struct main_flag_def *f = main_flag_find(flag);
	int64_t n = 0;

	if (!f)
		return main_bad_flag(flag, "unknown flag");
	if (!f->value && val)
		return main_bad_flag(flag, "takes no value");
	if (f->value && !val)
		return main_bad_flag(flag, "needs a value");
	if (f->integer && main_int(flag, val, f->min, f->max, &n))
		return 2;
	return f->set(o, cl, val, n);
}

static void main_defaults(struct sim_options *o)
{
	memset(o, 0, sizeof(*o));
	o->pools = o->hosts_per_pool = o->vms_per_host = -1;
	o->listen = "127.0.0.1";
	o->user = "root";
	o->password = "password";
	o->seed = 1;
	o->history_days = 30;
	snprintf(o->version_text, sizeof(o->version_text), "%s", SIM_MAIN_DEFAULT_VERSION);
	if (!sim_xapi_version_parse(o->version_text, &o->version))
		abort();
}

/* Parses argv into o. 0, or 2 after a message on stderr. */
static int main_parse(int argc, char **argv, struct sim_options *o, struct main_cmdline *cl)
{
	int64_t hosts;

	main_defaults(o);
	memset(cl, 0, sizeof(*cl));
	for (int i = 1; i < argc; i++) {
		char flag[64];
		const char *eq = strchr(argv[i], '=');
		const char *val = NULL;
		int rc;

		const struct main_flag_def *f;

		if (eq && !strncmp(argv[i], "--", 2)) {
			snprintf(flag, sizeof(flag), "%.*s", (int)(eq - argv[i]), argv[i]);
			val = eq + 1;
		} else {
			snprintf(flag, sizeof(flag), "%s", argv[i]);
			f = main_flag_find(flag);
			if (f && f->value && i + 1 < argc)
				val = argv[++i];
		}
		rc = main_flag(o, cl, flag, val);
		if (rc || cl->help)
			return rc;
	}
	if (o->pools < 0)
		return main_bad_flag("--pools", "is required");
	if (o->hosts_per_pool < 0)
		return main_bad_flag("--hosts", "is required");
	if (o->vms_per_host < 0)
		return main_bad_flag("--vms-per-host", "is required");
	hosts = (int64_t)o->pools * o->hosts_per_pool;
	if (hosts > SIM_MAIN_MAX_HOSTS)
		return main_bad_flag("--pools", "%lld hosts in all: at most %d fit on 127.%u.x.y",
				     (long long)hosts, SIM_MAIN_MAX_HOSTS, cl->addr_base);
	if (hosts * o->vms_per_host > SIM_MAIN_MAX_VMS)
		return main_bad_flag("--vms-per-host", "%lld VMs in all: at most %d",
				     (long long)(hosts * o->vms_per_host), SIM_MAIN_MAX_VMS);
	return 0;
}

/* Every host needs a listening socket: raise the descriptor limit to fit. */
static int main_fd_limit(size_t hosts, char *err)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)hosts + SIM_MAIN_SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return xs_err_set(err, XS_ERR_IO, "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < want)
		return xs_err_set(err, XS_ERR_IO,
				  "%zu hosts need %llu file descriptors, the limit is %llu", hosts,
				  (unsigned long long)want, (unsigned long long)rl.rlim_cur);
	return 0;
}

/* The TLS certificate, naming every host's address. */
static int main_tls_cert(struct sim_main *m, char *err)
{
	size_t n = sim_world_count(m->sim.world, SIM_HOST);
	const char **addrs = xs_xcalloc(n ? n : 1, sizeof(*addrs));
	enum xs_err rc;

	for (size_t i = 0; i < n; i++)
		addrs[i] = SIM_GET(m->sim.world, SIM_HOST, sim_host, (int)i)->address;
	rc = sim_tls_cert_generate(&m->cert, addrs, n, err);
	free(addrs);
	if (!rc)
		snprintf(m->sim.tls_fingerprint, sizeof(m->sim.tls_fingerprint), "%s",
			 m->cert.fingerprint);
	return rc ? -1 : 0;
}

static void main_unlisten_all(struct sim *sim)
{
	for (size_t i = 0; i < sim_world_count(sim->world, SIM_HOST); i++)
		sim_http_unlisten(sim->http, (int)i);
}

/* Listens on every host's address, all on one port: --port, or with --port 0
 * the port the kernel gives the first host (retried if another address has
 * it taken). Sets sim->opt.port to the port used. */
static int main_listen_all(struct sim *sim, char *err)
{
	size_t n = sim_world_count(sim->world, SIM_HOST);
	uint16_t asked = sim->opt.port;

	for (int attempt = 0; attempt < (asked ? 1 : SIM_MAIN_LISTEN_TRIES); attempt++) {
		uint16_t port = asked;
		size_t i;

		for (i = 0; i < n; i++) {
			const struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, (int)i);

			if (sim_http_listen(sim->http, (int)i, h->address, port, err))
				break;
			port = sim_http_listen_port(sim->http, (int)i);
		}
		if (i == n) {
			sim->opt.port = port;
			return 0;
		}
		main_unlisten_all(sim);
	}
	return -1;
}

/* One slice of the RRD step: a bounded number of data-source steps, then
 * back to the loop (a zero-delay timer fires after the I/O of the turn). */
static void main_slice(struct xs_evloop *loop, void *arg)
{
	struct sim_main *m = arg;
	double now = sim_clock_now(&m->sim.clock);

	m->slice = 0;
	m->sim.world->now = now;
	if (!sim_rrd_model_advance_some(m->sim.model, (int64_t)now, SIM_MAIN_SLICE_STEPS))
		m->slice = xs_evloop_add_timer(loop, 0, main_slice, m);
}

static void main_tick(struct xs_evloop *loop, void *arg)
{
	struct sim_main *m = arg;

	m->tick = xs_evloop_add_timer(loop, SIM_MAIN_TICK, main_tick, m);
	if (!m->slice)
		main_slice(loop, m);
}

static void main_on_signal(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		fprintf(stderr, "xapi-sim: %s, stopping\n", strsignal((int)si.ssi_signo));
	xs_evloop_stop(loop);
}

/* SIGINT and SIGTERM are blocked and read from a signalfd on the loop. */
static int main_signals(struct sim_main *m, char *err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return xs_err_set(err, XS_ERR_IO, "sigprocmask: %s", strerror(errno));
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->sigfd < 0)
		return xs_err_set(err, XS_ERR_IO, "signalfd: %s", strerror(errno));
	if (xs_evloop_add_fd(m->sim.loop, m->sigfd, XS_EV_READ, main_on_signal, m))
		return xs_err_set(err, XS_ERR_IO, "cannot watch the signalfd");
	return 0;
}

/* Builds the estate and its servers. 0, or -1 with err. */
static int main_start(struct sim_main *m, uint8_t addr_base, char *err)
{
	struct sim *sim = &m->sim;
	struct sim_world_params wp = { 0 };
	char why[XS_ERR_LEN];
	double now;

	sim_clock_init(&sim->clock, sim->opt.manual_clock, sim->opt.start_time);
	now = sim_clock_now(&sim->clock);
	wp.pools = sim->opt.pools;
	wp.hosts_per_pool = sim->opt.hosts_per_pool;
	wp.vms_per_host = sim->opt.vms_per_host;
	wp.seed = sim->opt.seed;
	wp.addr_base = addr_base;
	wp.now = now;
	sim->world = sim_world_new(&wp);
	sim->model = sim_rrd_model_new(sim->world, (int64_t)now, sim->opt.history_days);
	sim->sessions = sim_sessions_new(sim->opt.seed);
	sim->loop = xs_evloop_new();
	if (!sim->loop) {
		xs_err_set(err, XS_ERR_IO, "event loop: %s", strerror(errno));
		return -1;
	}
	if (main_fd_limit(sim_world_count(sim->world, SIM_HOST), err))
		return -1;
	if (sim->opt.tls && main_tls_cert(m, why)) {
		xs_err_set(err, XS_ERR_ARG, "--tls: %s", why);
		return -1;
	}
	sim->http = sim_http_server_new(sim->loop, sim_route, sim,
					sim->opt.tls ? m->cert.cert_pem : NULL,
					sim->opt.tls ? m->cert.key_pem : NULL, why);
	if (!sim->http) {
		xs_err_set(err, XS_ERR_ARG, "%s%s", sim->opt.tls ? "--tls: " : "", why);
		return -1;
	}
	sim->rpc = sim_rpc_new(sim);
	if (main_signals(m, err) || main_listen_all(sim, err))
		return -1;
	if (!sim->opt.manual_clock)
		m->tick = xs_evloop_add_timer(sim->loop, SIM_MAIN_TICK, main_tick, m);
	return 0;
}

/* The ready lines: the TLS fingerprint first, then one line per pool. */
static void main_announce(const struct sim *sim)
{
	const char *scheme = sim->opt.tls ? "https" : "http";

	if (sim->opt.tls)
		printf("tls-fingerprint %s\n", sim->tls_fingerprint);
	for (size_t i = 0; i < sim_world_count(sim->world, SIM_POOL); i++) {
		const struct sim_pool *p = SIM_GET(sim->world, SIM_POOL, sim_pool, (int)i);
		const struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, p->master);

		printf("pool %s %s://%s:%u\n", p->name, scheme, h->address, sim->opt.port);
	}
	fflush(stdout);
	fprintf(stderr, "xapi-sim: %zu pools, %zu hosts, %zu VMs on port %u%s\n",
		sim_world_count(sim->world, SIM_POOL), sim_world_count(sim->world, SIM_HOST),
		sim_world_count(sim->world, SIM_VM), sim->opt.port,
		sim->opt.manual_clock ? ", manual clock" : "");
}

static void main_stop(struct sim_main *m)
{
	struct sim *sim = &m->sim;

	if (m->tick)
		xs_evloop_cancel_timer(sim->loop, m->tick);
	if (m->slice)
		xs_evloop_cancel_timer(sim->loop, m->slice);
	if (m->sigfd >= 0) {
		if (sim->loop)
			xs_evloop_del_fd(sim->loop, m->sigfd);
		close(m->sigfd);
	}
	sim_rpc_free(&sim->rpc);
	sim_http_server_free(&sim->http);
	xs_evloop_free(&sim->loop);
	sim_sessions_free(&sim->sessions);
	sim_rrd_model_free(&sim->model);
	sim_world_free(&sim->world);
	sim_tls_cert_cleanup(&m->cert);
}

int main(int argc, char **argv)
{
	struct sim_main *m = xs_xcalloc(1, sizeof(*m));
	struct main_cmdline cl;
	char err[XS_ERR_LEN] = "";
	int rc = main_parse(argc, argv, &m->sim.opt, &cl);

	m->sigfd = -1;
	if (rc || cl.help) {
		if (cl.help)
			fputs(sim_main_usage, stdout);
		free(m);
		return rc;
	}
	if (main_start(m, cl.addr_base, err)) {
		fprintf(stderr, "xapi-sim: %s\n", err);
		rc = 1;
		goto out;
	}
	main_announce(&m->sim);
	if (xs_evloop_run(m->sim.loop, NULL)) {
		fprintf(stderr, "xapi-sim: event loop failed\n");
		rc = 1;
	}
out:
	main_stop(m);
	free(m);
	return rc;
}
