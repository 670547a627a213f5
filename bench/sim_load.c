/*
 * sim_load.c - the issue-3 load client: what a collector polling every host of
 * a large estate asks of xapi-sim, at a steady rate, measured.
 *
 * usage: sim_load -H HOSTSFILE -p PORT [-u USER:PASSWORD] [-P SIMPID]
 *                 [-i PERIOD_S] [-w WARMUP_S] [-d WINDOW_S] [-t TIMEOUT_S]
 *                 [-s SAMPLEFILE]
 *
 * HOSTSFILE has one host a line: "ADDRESS [SESSION_REF]" (IPv4 address;
 * blank lines and lines starting with '#' are skipped). A host with a
 * session ref is asked with ?session_id=REF, the others with HTTP Basic
 * USER:PASSWORD (-u).
 *
 * Every host is asked GET /rrd_updates?start=S&host=true&cf=AVERAGE&interval=5
 * once per PERIOD_S (default 5), the N hosts' requests spread evenly over the
 * period (one every PERIOD_S/N seconds, host after host). S is now - 10 for a
 * host's first request, then the <end> of its previous answer. Single thread,
 * one epoll loop, plain non-blocking sockets, at most one connection per host
 * at a time: HTTP/1.1 keep-alive is used when the server allows it, and a new
 * connection is opened when it answered "Connection: close" (which xapi, and
 * so the simulator, does for every /rrd_updates). Responses are read whole
 * (Content-Length, or until EOF for HTTP/1.0); only the first LOAD_KEEP_FIRST
 * and last LOAD_KEEP_TAIL body bytes are kept, to check the body is an
 * rrd_updates XML document (starts "<?xml", has "<xport><meta>", ends
 * "</xport>") and to read its <end>.
 *
 * When a host's slot comes while its previous request is still in flight,
 * the slot is counted "late" and the request goes out as soon as the previous
 * one ends. A request not finished after TIMEOUT_S (default 30) is dropped and
 * counted. Latency is from the first syscall of a request (connect, or the
 * send on a kept connection) to its last byte.
 *
 * The run is a warm-up of WARMUP_S (default 15), then a window of WINDOW_S
 * (default 60): the requests issued inside the window are counted (those
 * still in flight when it ends are awaited, up to the timeout; nothing new is
 * issued then), and at its two ends the client reads /proc/SIMPID/stat
 * (utime + stime) and its own getrusage(), so CPU fractions are CPU seconds ÷
 * window wall seconds. bytes and mb_per_s are of the window's answers.
 * At the end it prints one line of key=value pairs on stdout:
 *
 *   hosts= period_s= window_s= issued= done= ok= bad_body= errors= timeouts=
 *   late= retries= status_<code>=... bytes= mb_per_s= req_per_s= p50_ms=
 *   p99_ms= max_ms= sim_cpu_s= sim_cpu_frac= sim_rss_kib= sim_hwm_kib=
 *   client_cpu_s= client_cpu_frac= client_hwm_kib=
 *
 * (the sim_ keys only with -P). -s FILE writes the body of the first 200
 * answer of the window to FILE. Exit: 0 when the run completed (whatever the
 * figures), 1 on a system error, 2 on a usage error.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_HOSTS 65536
#define LOAD_ADDR_LEN 64               /* dotted IPv4 and NUL, with room */
#define LOAD_SESSION_LEN 128           /* "OpaqueRef:<uuid>" and NUL, with room */
#define LOAD_LINE_LEN 512              /* one line of the hosts file */
#define LOAD_REQ_LEN 1024              /* one request: line, Host, auth */
#define LOAD_CRED_LEN 256              /* USER:PASSWORD */
#define LOAD_HEAD_MAX (8 * 1024)       /* response status line and headers */
#define LOAD_KEEP_FIRST 512            /* body bytes kept from the start: <end> is in them */
#define LOAD_KEEP_TAIL 16              /* body bytes kept from the end: "</xport>" */
#define LOAD_READ_CHUNK (256 * 1024)   /* bytes per recv */
#define LOAD_BODY_MAX (1ULL << 31)     /* a Content-Length above this is an error */
#define LOAD_SAMPLE_MAX (256u << 20)   /* the saved sample body */
#define LOAD_EVENTS 256                /* epoll events per wait */
#define LOAD_STATUS_MAX 600
#define LOAD_FD_SPARE 64               /* descriptors beyond one per host */
#define LOAD_FIRST_LOOKBACK 10         /* start = now - this, first request of a host */
#define LOAD_SWEEP_S 1.0               /* how often timeouts are looked for */

enum load_state {
	LOAD_IDLE,       /* nothing in flight (fd may be a kept connection) */
	LOAD_CONNECTING, /* non-blocking connect in progress */
	LOAD_SENDING,    /* request partly written */
	LOAD_HEAD,       /* reading the status line and headers */
	LOAD_BODY,       /* reading the body */
};

struct load_host {
	struct sockaddr_in sa;          /* where it listens */
	char addr[LOAD_ADDR_LEN];       /* dotted address, for Host: and messages */
	char session[LOAD_SESSION_LEN]; /* session ref, "" for Basic auth */
	int fd;                         /* -1 when no connection is open */
	enum load_state state;
	bool pending;                   /* a slot came while busy: fire on completion */
	bool kept;                      /* fd already served a response (keep-alive) */
	bool sampling;                  /* this response's body goes to the sample file */
	bool counted;                   /* issued inside the window: its outcome is counted */
	int64_t start;                  /* start= of the next request; 0 = now - 10 */
	double t_fire;                  /* monotonic time the request began */
	char req[LOAD_REQ_LEN];
	size_t req_len, req_sent;
	char head[LOAD_HEAD_MAX];
	size_t head_len;
	int status;
	bool close_after;               /* Connection: close, or HTTP/1.0 */
	bool until_eof;                 /* no Content-Length: the body ends at EOF */
	uint64_t body_len, body_got;
	char first[LOAD_KEEP_FIRST];
	size_t first_len;
	char tail[LOAD_KEEP_TAIL];
	size_t tail_len;
};

struct load_opts {
	const char *hosts_file, *cred, *sample_file;
	uint16_t port;
	long sim_pid;                   /* 0 = do not sample a process */
	double period, warmup, window, timeout;
};

struct load_counts {
	uint64_t issued, done, ok, bad_body, errors, timeouts, late, retries, bytes;
	uint64_t status[LOAD_STATUS_MAX];
	double *lat_ms;                 /* latencies of completed requests */
	size_t nlat, lat_cap;
};

struct load_proc {
	double cpu_s;                   /* utime + stime */
	long rss_kib, hwm_kib;
};

struct load {
	struct load_opts o;
	struct load_host *hosts;
	size_t nhosts;
	int ep;
	char auth[LOAD_REQ_LEN / 2];    /* "Authorization: Basic ...\r\n" or "" */
	bool in_window;                 /* requests fired now are counted */
	bool draining;                  /* the window is over: fire nothing new */
	bool want_sample;
	char *sample;
	size_t sample_len, sample_cap;
	struct load_counts c;
	char chunk[LOAD_READ_CHUNK];
};

static double load_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *load_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q) {
		fprintf(stderr, "sim_load: out of memory\n");
		exit(1);
	}
	return q;
}

/* ---- set-up ---------------------------------------------------------- */

static void load_usage(void)
{
	fprintf(stderr, "usage: sim_load -H HOSTSFILE -p PORT [-u USER:PASSWORD] [-P SIMPID]\n"
			"                [-i PERIOD_S] [-w WARMUP_S] [-d WINDOW_S] [-t TIMEOUT_S]\n"
			"                [-s SAMPLEFILE]\n");
	exit(2);
}

static double load_arg_seconds(const char *s, double min)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min) || v > 86400.0)
		load_usage();
	return v;
}

static long load_arg_long(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		load_usage();
	return v;
}

static void load_parse_args(int argc, char **argv, struct load_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->period = 5;
	o->warmup = 15;
	o->window = 60;
	o->timeout = 30;
	while ((ch = getopt(argc, argv, "H:p:u:P:i:w:d:t:s:")) != -1) {
		switch (ch) {
		case 'H': o->hosts_file = optarg; break;
		case 'p': o->port = (uint16_t)load_arg_long(optarg, 1, 65535); break;
		case 'u': o->cred = optarg; break;
		case 'P': o->sim_pid = load_arg_long(optarg, 1, 1L << 30); break;
		case 'i': o->period = load_arg_seconds(optarg, 0.01); break;
		case 'w': o->warmup = load_arg_seconds(optarg, 0); break;
		case 'd': o->window = load_arg_seconds(optarg, 0.01); break;
		case 't': o->timeout = load_arg_seconds(optarg, 0.01); break;
		case 's': o->sample_file = optarg; break;
		default: load_usage();
		}
	}
	if (optind != argc || !o->hosts_file || !o->port)
		load_usage();
	if (o->cred && strlen(o->cred) >= LOAD_CRED_LEN)
		load_usage();
}

/* "Authorization: Basic base64(cred)\r\n" into out. */
static void load_basic_header(const char *cred, char *out, size_t cap)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)cred;
	size_t n = strlen(cred), o;

	o = (size_t)snprintf(out, cap, "Authorization: Basic ");
	for (size_t i = 0; i < n && o + 7 < cap; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		v |= i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0;
		v |= i + 2 < n ? s[i + 2] : 0;
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	snprintf(out + o, cap - o, "\r\n");
}

/* One line "ADDRESS [SESSION]" into h; false for a malformed line. */
static bool load_host_parse(struct load *l, const char *line, struct load_host *h)
{
	char addr[LOAD_ADDR_LEN] = "", session[LOAD_SESSION_LEN] = "";
	int n = sscanf(line, "%63s %127s", addr, session);

	if (n < 1 || inet_pton(AF_INET, addr, &h->sa.sin_addr) != 1)
		return false;
	if (n < 2 && !l->o.cred) {
		fprintf(stderr, "sim_load: host %s has no session and no -u was given\n", addr);
		return false;
	}
	h->sa.sin_family = AF_INET;
	h->sa.sin_port = htons(l->o.port);
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	snprintf(h->session, sizeof(h->session), "%s", session);
	h->fd = -1;
	return true;
}

static void load_read_hosts(struct load *l)
{
	char line[LOAD_LINE_LEN];
	size_t cap = 0, lineno = 0;
	FILE *f = fopen(l->o.hosts_file, "r");

	if (!f) {
		fprintf(stderr, "sim_load: %s: %s\n", l->o.hosts_file, strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");

		lineno++;
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		if (l->nhosts == LOAD_MAX_HOSTS) {
			fprintf(stderr, "sim_load: more than %d hosts\n", LOAD_MAX_HOSTS);
			exit(2);
		}
		if (l->nhosts == cap) {
			cap = cap ? 2 * cap : 64;
			l->hosts = load_xrealloc(l->hosts, cap * sizeof(*l->hosts));
		}
		memset(&l->hosts[l->nhosts], 0, sizeof(l->hosts[0]));
		if (!load_host_parse(l, p, &l->hosts[l->nhosts])) {
			fprintf(stderr, "sim_load: %s:%zu: want ADDRESS [SESSION]\n",
				l->o.hosts_file, lineno);
			exit(2);
		}
		l->nhosts++;
	}
	fclose(f);
	if (!l->nhosts) {
		fprintf(stderr, "sim_load: no hosts in %s\n", l->o.hosts_file);
		exit(2);
	}
}

/* One descriptor per host plus a few: raise the soft limit when it is lower. */
static void load_raise_nofile(size_t nhosts)
{
	struct rlimit r;
	rlim_t want = (rlim_t)nhosts + LOAD_FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur >= want)
		return;
	r.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max >= want ? want : r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur < want)
		fprintf(stderr, "sim_load: warning: only %llu descriptors for %zu hosts\n",
			(unsigned long long)r.rlim_cur, nhosts);
}

/* ---- counting -------------------------------------------------------- */

static void load_count_latency(struct load *l, double ms)
{
	struct load_counts *c = &l->c;

	if (c->nlat == c->lat_cap) {
		c->lat_cap = c->lat_cap ? 2 * c->lat_cap : 4096;
		c->lat_ms = load_xrealloc(c->lat_ms, c->lat_cap * sizeof(*c->lat_ms));
	}
	c->lat_ms[c->nlat++] = ms;
}

static void load_count_error(struct load *l, const struct load_host *h, const char *why)
{
	static unsigned reported;

	if (!h->counted)
		return;
	l->c.errors++;
	if (reported++ < 10)
		fprintf(stderr, "sim_load: %s: %s\n", h->addr, why);
}

/* ---- one request ----------------------------------------------------- */

static void load_close(struct load *l, struct load_host *h)
{
	if (h->sampling) { /* the sample is lost with the response: take the next one */
		h->sampling = false;
		l->want_sample = true;
		l->sample_len = 0;
	}
	if (h->fd >= 0) {
		epoll_ctl(l->ep, EPOLL_CTL_DEL, h->fd, NULL);
		close(h->fd);
	}
	h->fd = -1;
	h->kept = false;
	h->state = LOAD_IDLE;
}

static void load_watch(struct load *l, struct load_host *h, uint32_t events, bool add)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(h - l->hosts) };

	if (epoll_ctl(l->ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, h->fd, &ev)) {
		fprintf(stderr, "sim_load: epoll_ctl: %s\n", strerror(errno));
		exit(1);
	}
}

static void load_build_request(struct load *l, struct load_host *h)
{
	int64_t start = h->start;
	int n;

	if (!start)
		start = (int64_t)time(NULL) - LOAD_FIRST_LOOKBACK;
	n = snprintf(h->req, sizeof(h->req),
		     "GET /rrd_updates?start=%lld&host=true&cf=AVERAGE&interval=5%s%s HTTP/1.1\r\n"
		     "Host: %s:%u\r\nAccept: text/xml\r\nUser-Agent: sim_load\r\n%s\r\n",
		     (long long)start, h->session[0] ? "&session_id=" : "", h->session, h->addr,
		     (unsigned)l->o.port, h->session[0] ? "" : l->auth);
	h->req_len = (size_t)n < sizeof(h->req) ? (size_t)n : sizeof(h->req) - 1;
	h->req_sent = 0;
	h->head_len = 0;
	h->status = 0;
	h->close_after = h->until_eof = false;
	h->body_len = h->body_got = 0;
	h->first_len = h->tail_len = 0;
}

static void load_send(struct load *l, struct load_host *h);

/* Starts the request of host h: on its kept connection, else on a new one. */
static void load_fire(struct load *l, struct load_host *h)
{
	h->pending = false;
	h->t_fire = load_mono();
	h->counted = l->in_window && !l->draining;
	if (h->counted)
		l->c.issued++;
	if (h->counted && l->want_sample) {
		h->sampling = true;
		l->want_sample = false;
	}
	load_build_request(l, h);
	if (h->fd >= 0) {
		h->state = LOAD_SENDING;
		load_send(l, h);
		return;
	}
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		load_count_error(l, h, strerror(errno));
		h->state = LOAD_IDLE;
		return;
	}
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (connect(h->fd, (const struct sockaddr *)&h->sa, sizeof(h->sa)) && errno != EINPROGRESS) {
		load_count_error(l, h, strerror(errno));
		close(h->fd);
		h->fd = -1;
		h->state = LOAD_IDLE;
		return;
	}
	h->state = LOAD_CONNECTING;
	load_watch(l, h, EPOLLOUT, true);
}

static void load_send(struct load *l, struct load_host *h)
{
	while (h->req_sent < h->req_len) {
		ssize_t w = send(h->fd, h->req + h->req_sent, h->req_len - h->req_sent,
				 MSG_NOSIGNAL);

		if (w < 0 && errno == EAGAIN) {
			load_watch(l, h, EPOLLOUT, false);
			return;
		}
		if (w < 0) {
			load_count_error(l, h, strerror(errno));
			load_close(l, h);
			return;
		}
		h->req_sent += (size_t)w;
	}
	h->state = LOAD_HEAD;
	load_watch(l, h, EPOLLIN, false);
}

/* The value of header `name` in the response head, or NULL; *len its length. */
static const char *load_header(const struct load_host *h, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = memchr(h->head, '\n', h->head_len), *end = h->head + h->head_len;

	while (p && p + 1 < end) {
		const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));

		if (!eol)
			break;
		if ((size_t)(eol - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
			const char *v = line + nl + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*len = (size_t)(eol - v);
			while (*len && (v[*len - 1] == '\r' || v[*len - 1] == ' '))
				(*len)--;
			return v;
		}
		p = eol;
	}
	return NULL;
}

/* Status, Content-Length and Connection from the head; false if malformed. */
static bool load_parse_head(struct load_host *h)
{
	const char *v;
	size_t n;
	int minor;

	if (sscanf(h->head, "HTTP/1.%d %3d", &minor, &h->status) != 2 || h->status < 100 ||
	    h->status >= LOAD_STATUS_MAX)
		return false;
	h->close_after = minor == 0;
	v = load_header(h, "connection", &n);
	if (v && n == 5 && !strncasecmp(v, "close", 5))
		h->close_after = true;
	if (v && n == 10 && !strncasecmp(v, "keep-alive", 10))
		h->close_after = false;
	v = load_header(h, "content-length", &n);
	if (!v) {
		h->until_eof = true;
		h->close_after = true;
		return true;
	}
	h->body_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || h->body_len > LOAD_BODY_MAX)
			return false;
		h->body_len = h->body_len * 10 + (uint64_t)(v[i] - '0');
	}
	return n > 0 && h->body_len <= LOAD_BODY_MAX;
}

static void load_sample_append(struct load *l, const char *p, size_t n)
{
	if (l->sample_len + n > LOAD_SAMPLE_MAX)
		return;
	if (l->sample_len + n > l->sample_cap) {
		l->sample_cap = 2 * (l->sample_len + n);
		l->sample = load_xrealloc(l->sample, l->sample_cap);
	}
	memcpy(l->sample + l->sample_len, p, n);
	l->sample_len += n;
}

/* Body bytes: keep the first and last few, count the rest. */
static void load_body_bytes(struct load *l, struct load_host *h, const char *p, size_t n)
{
	if (h->until_eof == false && n > h->body_len - h->body_got)
		n = (size_t)(h->body_len - h->body_got); /* a pipelined extra: not ours */
	if (h->first_len < LOAD_KEEP_FIRST) {
		size_t k = LOAD_KEEP_FIRST - h->first_len < n ? LOAD_KEEP_FIRST - h->first_len : n;

		memcpy(h->first + h->first_len, p, k);
		h->first_len += k;
	}
	if (n >= LOAD_KEEP_TAIL) {
		memcpy(h->tail, p + n - LOAD_KEEP_TAIL, LOAD_KEEP_TAIL);
		h->tail_len = LOAD_KEEP_TAIL;
	} else {
		size_t keep = h->tail_len + n > LOAD_KEEP_TAIL ? LOAD_KEEP_TAIL - n : h->tail_len;

		memmove(h->tail, h->tail + h->tail_len - keep, keep);
		memcpy(h->tail + keep, p, n);
		h->tail_len = keep + n;
	}
	if (h->sampling)
		load_sample_append(l, p, n);
	h->body_got += n;
}

/* Whether the kept bytes look like an rrd_updates XML document; *end its <end>. */
static bool load_body_ok(const struct load_host *h, int64_t *end)
{
	static const char close_tag[] = "</xport>";
	const char *e;
	size_t t = h->tail_len, cl = sizeof(close_tag) - 1;
	char *stop;
	long long v;

	while (t && (h->tail[t - 1] == '\n' || h->tail[t - 1] == '\r' || h->tail[t - 1] == ' '))
		t--;
	if (h->first_len < 5 || memcmp(h->first, "<?xml", 5) ||
	    !memmem(h->first, h->first_len, "<xport><meta>", 13) || t < cl ||
	    memcmp(h->tail + t - cl, close_tag, cl))
		return false;
	e = memmem(h->first, h->first_len, "<end>", 5);
	if (!e)
		return false;
	e += 5;
	errno = 0;
	v = strtoll(e, &stop, 10);
	if (errno || stop == e || (size_t)(stop - h->first) >= h->first_len || *stop != '<')
		return false;
	*end = v;
	return true;
}

static void load_write_sample(struct load *l)
{
	FILE *f;

	if (!l->o.sample_file)
		return;
	f = fopen(l->o.sample_file, "w");
	if (!f || fwrite(l->sample, 1, l->sample_len, f) != l->sample_len || fclose(f)) {
		fprintf(stderr, "sim_load: cannot write %s\n", l->o.sample_file);
		exit(1);
	}
}

/* The response of h is whole: count it, and go on with a late slot. */
static void load_complete(struct load *l, struct load_host *h)
{
	int64_t end = 0;
	bool body_ok = h->status == 200 && load_body_ok(h, &end);

	if (h->counted) {
		l->c.done++;
		l->c.status[h->status]++;
		l->c.bytes += h->head_len + h->body_got;
		load_count_latency(l, (load_mono() - h->t_fire) * 1e3);
		if (h->status == 200 && body_ok)
			l->c.ok++;
		else if (h->status == 200)
			l->c.bad_body++;
	}
	if (body_ok)
		h->start = end;
	if (h->sampling) {
		h->sampling = false;
		if (body_ok)
			load_write_sample(l);
		else
			l->want_sample = true;
		l->sample_len = 0;
	}
	if (h->close_after) {
		load_close(l, h);
	} else {
		h->state = LOAD_IDLE;
		h->kept = true;
	}
	if (h->pending && !l->draining)
		load_fire(l, h);
}

/* Bytes of the head arrived (in l->chunk[0..n)); the rest is body. */
static void load_head_bytes(struct load *l, struct load_host *h, size_t n)
{
	size_t room = LOAD_HEAD_MAX - 1 - h->head_len, take = n < room ? n : room;
	size_t from = h->head_len > 3 ? h->head_len - 3 : 0;
	const char *sep;

	memcpy(h->head + h->head_len, l->chunk, take);
	h->head_len += take;
	h->head[h->head_len] = '\0';
	sep = memmem(h->head + from, h->head_len - from, "\r\n\r\n", 4);
	if (!sep) {
		if (h->head_len == LOAD_HEAD_MAX - 1) {
			load_count_error(l, h, "response head too long");
			load_close(l, h);
		}
		return;
	}
	/* bytes of the chunk after the blank line are the start of the body */
	take = (size_t)(sep + 4 - h->head) - (h->head_len - take);
	h->head_len = (size_t)(sep + 4 - h->head);
	if (!load_parse_head(h)) {
		load_count_error(l, h, "malformed response head");
		load_close(l, h);
		return;
	}
	h->state = LOAD_BODY;
	load_body_bytes(l, h, l->chunk + take, n - take);
	if (!h->until_eof && h->body_got == h->body_len)
		load_complete(l, h);
}

/* The peer closed: the end of an HTTP/1.0 body, a kept connection the server
 * dropped (retried once on a new one), or an error. */
static void load_eof(struct load *l, struct load_host *h)
{
	if (h->state == LOAD_BODY && h->until_eof) {
		load_complete(l, h);
		return;
	}
	if (h->state == LOAD_HEAD && h->head_len == 0 && h->kept) {
		if (h->counted) {
			l->c.retries++;
			l->c.issued--;
		}
		load_close(l, h);
		load_fire(l, h);
		return;
	}
	load_count_error(l, h, "connection closed before the response ended");
	load_close(l, h);
}

static void load_readable(struct load *l, struct load_host *h)
{
	ssize_t r = recv(h->fd, l->chunk, sizeof(l->chunk), 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0) {
		load_count_error(l, h, strerror(errno));
		load_close(l, h);
		return;
	}
	if (r == 0) {
		load_eof(l, h);
		return;
	}
	if (h->state == LOAD_HEAD) {
		load_head_bytes(l, h, (size_t)r);
		return;
	}
	load_body_bytes(l, h, l->chunk, (size_t)r);
	if (!h->until_eof && h->body_got == h->body_len)
		load_complete(l, h);
}

static void load_on_event(struct load *l, struct load_host *h, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	switch (h->state) {
	case LOAD_CONNECTING:
		if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			load_count_error(l, h, strerror(err ? err : errno));
			load_close(l, h);
			return;
		}
		h->state = LOAD_SENDING;
		load_send(l, h);
		return;
	case LOAD_SENDING:
		load_send(l, h);
		return;
	case LOAD_HEAD:
	case LOAD_BODY:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			load_readable(l, h);
		return;
	case LOAD_IDLE:
		/* a kept connection the server closed while idle */
		load_close(l, h);
		return;
	}
}

/* Drops requests in flight for longer than the timeout. */
static void load_sweep(struct load *l, double now)
{
	for (size_t i = 0; i < l->nhosts; i++) {
		struct load_host *h = &l->hosts[i];

		if (h->state == LOAD_IDLE || now - h->t_fire < l->o.timeout)
			continue;
		if (h->counted)
			l->c.timeouts++;
		load_close(l, h);
		if (h->pending && !l->draining)
			load_fire(l, h);
	}
}

/* ---- /proc and the report -------------------------------------------- */

/* utime + stime of pid (s); VmRSS and VmHWM (KiB). False if unreadable. */
static bool load_proc_read(long pid, struct load_proc *p)
{
	char path[64], buf[4096], *s;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and ')': fields follow the last ')' */
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return false;
	p->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	p->rss_kib = p->hwm_kib = -1;
	while (fgets(buf, sizeof(buf), f)) {
		if (!strncmp(buf, "VmRSS:", 6))
			p->rss_kib = strtol(buf + 6, NULL, 10);
		else if (!strncmp(buf, "VmHWM:", 6))
			p->hwm_kib = strtol(buf + 6, NULL, 10);
	}
	fclose(f);
	return true;
}

static double load_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int load_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted latencies. */
static double load_pct(const struct load_counts *c, double pct)
{
	size_t rank;

	if (!c->nlat)
		return NAN;
	rank = (size_t)ceil(pct / 100.0 * (double)c->nlat);
	return c->lat_ms[rank ? rank - 1 : 0];
}

struct load_marks {
	double wall0, wall1, self0, self1;
	struct load_proc sim0, sim1;
	bool sim_ok;
};

static void load_report(struct load *l, const struct load_marks *m)
{
	struct load_counts *c = &l->c;
	double wall = m->wall1 - m->wall0, self = m->self1 - m->self0;
	struct rusage ru;

	qsort(c->lat_ms, c->nlat, sizeof(*c->lat_ms), load_cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("hosts=%zu period_s=%g window_s=%.3f issued=%llu done=%llu ok=%llu bad_body=%llu "
	       "errors=%llu timeouts=%llu late=%llu retries=%llu",
	       l->nhosts, l->o.period, wall, (unsigned long long)c->issued,
	       (unsigned long long)c->done, (unsigned long long)c->ok,
	       (unsigned long long)c->bad_body, (unsigned long long)c->errors,
	       (unsigned long long)c->timeouts, (unsigned long long)c->late,
	       (unsigned long long)c->retries);
	for (int s = 0; s < LOAD_STATUS_MAX; s++)
		if (c->status[s])
			printf(" status_%d=%llu", s, (unsigned long long)c->status[s]);
	printf(" bytes=%llu mb_per_s=%.3f req_per_s=%.2f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f",
	       (unsigned long long)c->bytes, (double)c->bytes / 1e6 / wall,
	       (double)c->done / wall, load_pct(c, 50), load_pct(c, 99),
	       c->nlat ? c->lat_ms[c->nlat - 1] : NAN);
	if (m->sim_ok)
		printf(" sim_cpu_s=%.3f sim_cpu_frac=%.4f sim_rss_kib=%ld sim_hwm_kib=%ld",
		       m->sim1.cpu_s - m->sim0.cpu_s, (m->sim1.cpu_s - m->sim0.cpu_s) / wall,
		       m->sim1.rss_kib, m->sim1.hwm_kib);
	printf(" client_cpu_s=%.3f client_cpu_frac=%.4f client_hwm_kib=%ld\n", self, self / wall,
	       ru.ru_maxrss);
}

/* ---- the loop -------------------------------------------------------- */

static void load_mark(struct load *l, struct load_proc *sim, double *wall, double *self,
		      bool *sim_ok)
{
	*wall = load_mono();
	*self = load_self_cpu();
	if (l->o.sim_pid && !load_proc_read(l->o.sim_pid, sim)) {
		fprintf(stderr, "sim_load: cannot read /proc/%ld (did the simulator exit?)\n",
			l->o.sim_pid);
		*sim_ok = false;
	}
}

/* Whether a request of the window is still in flight. */
static bool load_busy(const struct load *l)
{
	for (size_t i = 0; i < l->nhosts; i++)
		if (l->hosts[i].state != LOAD_IDLE && l->hosts[i].counted)
			return true;
	return false;
}

/* Fires the slots that are due (none once draining). */
static void load_fire_due(struct load *l, double t0, double gap, uint64_t *k, double now)
{
	for (double due = t0 + (double)*k * gap; due <= now && !l->draining;
	     due = t0 + (double)++*k * gap) {
		struct load_host *h = &l->hosts[*k % l->nhosts];

		if (h->state == LOAD_IDLE) {
			load_fire(l, h);
		} else {
			h->pending = true;
			l->c.late += l->in_window;
		}
	}
}

/*
 * Warm-up, window, then drain: the marks are taken at the window's two ends;
 * after the window nothing new is fired, and the requests of the window still
 * in flight are awaited (up to the timeout) so that each one is counted.
 */
static void load_run(struct load *l, struct load_marks *m)
{
	double gap = l->o.period / (double)l->nhosts, t0 = load_mono();
	double w0 = t0 + l->o.warmup, w1 = w0 + l->o.window, next_sweep = t0 + LOAD_SWEEP_S;
	struct epoll_event ev[LOAD_EVENTS];
	uint64_t k = 0;

	m->sim_ok = l->o.sim_pid != 0;
	for (;;) {
		double now = load_mono(), wake;
		int n, ms;

		if (!l->in_window && now >= w0) {
			load_mark(l, &m->sim0, &m->wall0, &m->self0, &m->sim_ok);
			l->in_window = true;
			l->want_sample = l->o.sample_file != NULL;
		}
		if (!l->draining && now >= w1) {
			load_mark(l, &m->sim1, &m->wall1, &m->self1, &m->sim_ok);
			l->draining = true;
		}
		if (l->draining && (!load_busy(l) || now >= w1 + l->o.timeout + LOAD_SWEEP_S))
			break;
		load_fire_due(l, t0, gap, &k, now);
		if (now >= next_sweep) {
			load_sweep(l, now);
			next_sweep = now + LOAD_SWEEP_S;
		}
		wake = l->draining ? next_sweep : t0 + (double)k * gap;
		wake = next_sweep < wake ? next_sweep : wake;
		wake = !l->in_window && w0 < wake ? w0 : wake;
		wake = !l->draining && w1 < wake ? w1 : wake;
		ms = (int)ceil((wake - load_mono()) * 1e3);
		n = epoll_wait(l->ep, ev, LOAD_EVENTS, ms > 0 ? ms : 0);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "sim_load: epoll_wait: %s\n", strerror(errno));
			exit(1);
		}
		for (int i = 0; i < n; i++)
			load_on_event(l, &l->hosts[ev[i].data.u64], ev[i].events);
	}
}

int main(int argc, char **argv)
{
	static struct load l;
	struct load_marks m;

	memset(&m, 0, sizeof(m));
	load_parse_args(argc, argv, &l.o);
	if (l.o.cred)
		load_basic_header(l.o.cred, l.auth, sizeof(l.auth));
	load_read_hosts(&l);
	load_raise_nofile(l.nhosts);
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep < 0) {
		fprintf(stderr, "sim_load: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	load_run(&l, &m);
	load_report(&l, &m);
	if (l.o.sample_file && l.want_sample)
		fprintf(stderr, "sim_load: no valid 200 body in the window: %s not written\n",
			l.o.sample_file);
	for (size_t i = 0; i < l.nhosts; i++)
		load_close(&l, &l.hosts[i]);
	close(l.ep);
	free(l.c.lat_ms);
	free(l.sample);
	free(l.hosts);
	return 0;
}
