/*
 * Tests of src/serve/config.c: defaults, a full file, every error with its
 * line (and cfg untouched after it), limits (XS_TLS_PINS_MAX pins in a pool
 * over repeated `pin` keys), --pool URLs and their names, validation, and
 * the format -> load round trip.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serve/config.h"
#include "test.h"
#include "xapi/tls_pins.h"

#define PIN "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
#define PIN2 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
#define PIN2_BARE "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define PIN3 "FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00:FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00"

static const char full[] =
	"# xapistat configuration\n"
	"listen = 0.0.0.0:9090\n"
	"data = /var/lib/xapistat\n"
	"log_level = debug\n"
	"token_file = /etc/xapistat/token        # API bearer token\n"
	"tls_cert = /etc/xapistat/cert.pem\n"
	"tls_key = /etc/xapistat/key.pem\n"
	"web = /usr/share/xapistat/web\n"
	"max_connections = 4096\n"
	"max_connections_per_ip = 4096\n"
	"[retention]\n"
	"5s = 3d\n"
	"1m = 8w\n"
	"1h = 1y\n"
	"1d = 1d12h\n"
	"[pool lab]\n"
	"url = https://10.0.0.1\n"
	"user = root\n"
	"password_file = /etc/xapistat/lab.pw\n"
	"ca_file = /etc/xapistat/lab-ca.pem     ; the lab CA\n"
	"  [ pool \"prod-1\" ]  \r\n"
	"\turl = \"https://prod.example.com:8443/\"\r\n"
	"pin = " PIN ", " PIN2_BARE "   # two hosts\n"
	"pin = " PIN3 "\n"
	"[pool sim]\n"
	"url = 'http://127.0.0.1:8080'\n"
	"user = \"a \\\"quoted\\\" # name\"\n"
	"[pool old]\n"
	"url = https://old\n"
	"insecure = yes\n";

static void test_defaults(void)
{
	struct xs_config c;

	xs_config_defaults(&c);
	ok(strcmp(c.listen_host, "127.0.0.1") == 0 && c.listen_port == 8080, "listen");
	ok(c.data_dir == NULL && c.token_file == NULL && c.npools == 0 && c.source == NULL, "unset");
	ok(c.log_level == XS_LOG_INFO, "log level");
	ok(c.max_connections == 1024 && c.max_connections_per_ip == 128, "connection caps");
	ok(c.retention[XS_CONFIG_TIER_5S] == 2 * 86400, "5s: 2d");
	ok(c.retention[XS_CONFIG_TIER_1M] == 60 * 86400, "1m: 60d");
	ok(c.retention[XS_CONFIG_TIER_1H] == 2LL * 365 * 86400, "1h: 2y");
	ok(c.retention[XS_CONFIG_TIER_1D] == 10LL * 365 * 86400, "1d: 10y");
	ok(xs_config_listen_is_loopback(&c), "loopback by default");
	xs_config_free(&c);
	ok(c.listen_host == NULL && c.pools == NULL, "free zero-fills");
	xs_config_free(&c);
	xs_config_free(NULL);
}

static void check_full(const struct xs_config *c, bool masked_format)
{
	const struct xs_config_pool *p;

	ok(strcmp(c->listen_host, "0.0.0.0") == 0 && c->listen_port == 9090, "listen");
	ok(strcmp(c->data_dir, "/var/lib/xapistat") == 0, "data");
	ok(c->log_level == XS_LOG_DEBUG, "log_level");
	ok(strcmp(c->token_file, "/etc/xapistat/token") == 0, "token_file: [%s]", c->token_file);
	ok(c->tls_cert_file && !strcmp(c->tls_cert_file, "/etc/xapistat/cert.pem") && c->tls_key_file &&
		   !strcmp(c->tls_key_file, "/etc/xapistat/key.pem"),
	   "tls_cert, tls_key");
	ok(c->web_dir && !strcmp(c->web_dir, "/usr/share/xapistat/web"), "web");
	ok(c->max_connections == 4096 && c->max_connections_per_ip == 4096,
	   "max_connections %u, per ip %u", c->max_connections, c->max_connections_per_ip);
	ok(c->retention[0] == 3 * 86400 && c->retention[1] == 56 * 86400 &&
		   c->retention[2] == 365 * 86400 && c->retention[3] == 36 * 3600,
	   "retention");
	fail_unless(c->npools == 4, "4 pools, got %zu", c->npools);
	p = &c->pools[0];
	ok(strcmp(p->name, "lab") == 0 && strcmp(p->url, "https://10.0.0.1") == 0, "lab");
	ok(strcmp(p->user, "root") == 0 && strcmp(p->password_file, "/etc/xapistat/lab.pw") == 0,
	   "lab user");
	ok(strcmp(p->ca_file, "/etc/xapistat/lab-ca.pem") == 0 && !p->pins && !p->insecure, "lab tls");
	p = xs_config_find_pool(c, "prod-1");
	fail_unless(p == &c->pools[1], "prod-1");
	ok(strcmp(p->url, "https://prod.example.com:8443/") == 0, "quoted url, CRLF");
	ok(p->pins && strcmp(p->pins, PIN "," PIN2 "," PIN3) == 0 && !p->ca_file && !p->user,
	   "pins of two lines, canonical: %s", p->pins);
	p = &c->pools[2];
	ok(strcmp(p->url, "http://127.0.0.1:8080") == 0, "single quotes");
	ok(strcmp(p->user, "a \"quoted\" # name") == 0, "escapes: [%s]", p->user);
	p = &c->pools[3];
	ok(strcmp(p->name, "old") == 0 && p->insecure, "insecure");
	if (!masked_format)
		ok(c->pools[0].line == 16 && c->pools[1].line == 21 && c->pools[3].line == 28, "lines");
	ok(xs_config_find_pool(c, "nope") == NULL, "find missing");
}

static void test_full_file_and_round_trip(void)
{
	char path[] = "/tmp/xs_config_test_XXXXXX";
	char err[XS_ERR_LEN] = "";
	struct xs_config c, c2;
	struct xs_buf b;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	fail_unless(fd >= 0, "mkstemp");
	f = fdopen(fd, "w");
	fputs(full, f);
	fclose(f);
	xs_config_defaults(&c);
	ok(xs_config_load_file(&c, path, err) == XS_OK, "load: %s", err);
	ok(c.source && strcmp(c.source, path) == 0, "source");
	check_full(&c, false);
	ok(xs_config_validate(&c, err) == XS_OK, "valid: %s", err);
	unlink(path);

	xs_buf_init(&b, 1 << 20);
	ok(xs_config_format(&c, &b) == XS_OK, "format");
	xs_config_defaults(&c2);
	ok(xs_config_load_string(&c2, b.data, b.len, "formatted", err) == XS_OK, "reload: %s\n%s", err,
	   b.data);
	check_full(&c2, true);
	xs_buf_free(&b);
	xs_config_free(&c2);
	xs_config_free(&c);
}

struct bad_case {
	const char *text;
	const char *err; /* exact message */
	enum xs_err rc;
};

static const struct bad_case bad[] = {
	{ "bogus = 1\n", "t.conf:1: unknown key 'bogus'", XS_ERR_PARSE },
	{ "\n\n# c\n[nope]\n", "t.conf:4: unknown section [nope] (expected [retention] or [pool NAME])",
	  XS_ERR_PARSE },
	{ "[pool]\n", "t.conf:1: unknown section [pool] (expected [retention] or [pool NAME])", XS_ERR_PARSE },
	{ "[retention\n", "t.conf:1: section header without ']'", XS_ERR_PARSE },
	{ "[retention] x\n", "t.conf:1: text after the section header", XS_ERR_PARSE },
	{ "[retention]\n5s = 2x\n",
	  "t.conf:2: bad duration '2x' (a number and s, m, h, d, w or y; at most 100y)", XS_ERR_PARSE },
	{ "[retention]\n1m = 0d\n",
	  "t.conf:2: bad duration '0d' (a number and s, m, h, d, w or y; at most 100y)", XS_ERR_PARSE },
	{ "[retention]\n1d = 101y\n",
	  "t.conf:2: bad duration '101y' (a number and s, m, h, d, w or y; at most 100y)", XS_ERR_PARSE },
	{ "[retention]\n1h = 30m\n", "t.conf:2: retention of the 1h tier shorter than 1h", XS_ERR_PARSE },
	{ "[retention]\n2s = 1d\n", "t.conf:2: unknown key '2s' in [retention] (expected 5s, 1m, 1h, 1d)",
	  XS_ERR_PARSE },
	{ "[retention]\n5s = 1d\n5s = 2d\n", "t.conf:3: duplicate key '5s'", XS_ERR_PARSE },
	{ "data = /a\ndata = /b\n", "t.conf:2: duplicate key 'data'", XS_ERR_PARSE },
	{ "[pool a]\nurl = http://x\n[pool a]\nurl = http://y\n",
	  "t.conf:3: duplicate pool name 'a' (first on line 1)", XS_ERR_PARSE },
	{ "[pool a]\nuser = u\n[pool b]\nurl = http://y\n", "t.conf:1: pool 'a' has no url", XS_ERR_PARSE },
	{ "[pool a]\nurl = http://x\n\n[pool b]\n", "t.conf:4: pool 'b' has no url", XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\nca_file = /ca\npin = " PIN "\n",
	  "t.conf:4: pool 'a': conflicting TLS options: ca_file, pin and insecure = true exclude each other",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\ninsecure = true\nca_file = /ca\n",
	  "t.conf:4: pool 'a': conflicting TLS options: ca_file, pin and insecure = true exclude each other",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = http://x\nca_file = /ca\n",
	  "t.conf:1: pool 'a': TLS options (ca_file, pin, insecure) need an https:// url", XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\npin = AB:CD\n",
	  "t.conf:3: pin: 'AB:CD' is not a SHA-256 fingerprint (AB:CD:..., 32 bytes in hex)",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\npin = " PIN "\npin = " PIN2 ",AB:CD\n",
	  "t.conf:4: pin: 'AB:CD' is not a SHA-256 fingerprint (AB:CD:..., 32 bytes in hex)",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\npin = ' , '\n", "t.conf:3: pin: no fingerprint given",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\npin = " PIN "\npin = " PIN2 "\ninsecure = 1\n",
	  "t.conf:5: pool 'a': conflicting TLS options: ca_file, pin and insecure = true exclude each other",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\nuser = a\nuser = b\n", "t.conf:4: duplicate key 'user'",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\ninsecure = maybe\n",
	  "t.conf:3: insecure: expected true or false, got 'maybe'", XS_ERR_PARSE },
	{ "[pool a]\nurl = ftp://root:secret@x/?session_id=S\n",
	  "t.conf:2: url: expected http(s)://HOST[:PORT][/PATH], got 'ftp://x/'", XS_ERR_PARSE },
	/* a password's unencoded '/', '?' or '#': refused without echoing the URL */
	{ "[pool a]\nurl = https://root:se/cret@10.0.0.1\n",
	  "t.conf:2: url: an '@' after the host: a password holding '/', '?' or '#' must write them "
	  "%2F, %3F and %23 (or come from password_file or XAPISTAT_PASSWORD)", XS_ERR_PARSE },
	{ "[pool a]\nurl = https://root:2024/secret@10.0.0.1\n",
	  "t.conf:2: url: an '@' after the host: a password holding '/', '?' or '#' must write them "
	  "%2F, %3F and %23 (or come from password_file or XAPISTAT_PASSWORD)", XS_ERR_PARSE },
	{ "[pool a]\nurl = https://u:secret@/\n",
	  "t.conf:2: url: expected http(s)://HOST[:PORT][/PATH], got 'https:///'", XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x:99999/\n",
	  "t.conf:2: url: expected http(s)://HOST[:PORT][/PATH], got 'https://x:99999/'", XS_ERR_PARSE },
	{ "[pool a]\nurl = http://x\n[pool b]\nurl = http://x\n", "t.conf:4: url already used by pool 'a'",
	  XS_ERR_PARSE },
	/* the same pool written differently: trailing slash, default port, case, user info */
	{ "[pool a]\nurl = http://x:1\n[pool b]\nurl = http://x:1/\n",
	  "t.conf:4: url already used by pool 'a'", XS_ERR_PARSE },
	{ "[pool a]\nurl = https://x\n[pool b]\nurl = HTTPS://root@X:443/\n",
	  "t.conf:4: url already used by pool 'a'", XS_ERR_PARSE },
	{ "[pool a]\nurl = http://x\npassword = hunter2\n",
	  "t.conf:3: passwords are not accepted in the configuration: use password_file", XS_ERR_PARSE },
	{ "[pool a]\nurl = http://x\nlisten = 1.2.3.4:1\n",
	  "t.conf:3: unknown key 'listen' in [pool a] (top-level keys go before the first section)",
	  XS_ERR_PARSE },
	{ "[pool a/b]\n", "t.conf:1: bad pool name 'a/b' (1 to 64 of A-Z a-z 0-9 . _ -)", XS_ERR_PARSE },
	{ "listen = 8080\n", "t.conf:1: listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT (a numeric address), got '8080'", XS_ERR_PARSE },
	{ "listen = ::1:8080\n", "t.conf:1: listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT (a numeric address), got '::1:8080'",
	  XS_ERR_PARSE },
	{ "listen = h:0\n", "t.conf:1: listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT (a numeric address), got 'h:0'", XS_ERR_PARSE },
	{ "log_level = loud\n", "t.conf:1: log_level: expected error, warn, info or debug, got 'loud'",
	  XS_ERR_PARSE },
	{ "max_connections = 0\n",
	  "t.conf:1: max_connections: expected a whole number from 1 to 1000000, got '0'", XS_ERR_PARSE },
	{ "max_connections = 1000001\n",
	  "t.conf:1: max_connections: expected a whole number from 1 to 1000000, got '1000001'",
	  XS_ERR_PARSE },
	{ "max_connections = 99999999999999999999\n",
	  "t.conf:1: max_connections: expected a whole number from 1 to 1000000, got "
	  "'99999999999999999999'",
	  XS_ERR_PARSE },
	{ "max_connections_per_ip = -1\n",
	  "t.conf:1: max_connections_per_ip: expected a whole number from 1 to 1000000, got '-1'",
	  XS_ERR_PARSE },
	{ "max_connections_per_ip = +5\n",
	  "t.conf:1: max_connections_per_ip: expected a whole number from 1 to 1000000, got '+5'",
	  XS_ERR_PARSE },
	{ "max_connections_per_ip = 1k\n",
	  "t.conf:1: max_connections_per_ip: expected a whole number from 1 to 1000000, got '1k'",
	  XS_ERR_PARSE },
	{ "max_connections_per_ip = 1 000\n",
	  "t.conf:1: max_connections_per_ip: expected a whole number from 1 to 1000000, got '1 000'",
	  XS_ERR_PARSE },
	{ "max_connections = 10\nmax_connections = 20\n", "t.conf:2: duplicate key 'max_connections'",
	  XS_ERR_PARSE },
	{ "[pool a]\nurl = http://x\nmax_connections = 10\n",
	  "t.conf:3: unknown key 'max_connections' in [pool a] (top-level keys go before the first "
	  "section)",
	  XS_ERR_PARSE },
	{ "data =\n", "t.conf:1: empty value for 'data'", XS_ERR_PARSE },
	{ "data = # comment only\n", "t.conf:1: empty value for 'data'", XS_ERR_PARSE },
	{ "data = \"/x\n", "t.conf:1: unterminated quoted value", XS_ERR_PARSE },
	{ "data = \"/x\" y\n", "t.conf:1: text after the closing quote", XS_ERR_PARSE },
	{ "just words\n", "t.conf:1: expected KEY = VALUE, [retention] or [pool NAME]", XS_ERR_PARSE },
	{ "= x\n", "t.conf:1: expected KEY = VALUE, [retention] or [pool NAME]", XS_ERR_PARSE },
	{ "data = a\0b\n", "t.conf:1: NUL byte", XS_ERR_PARSE },
	{ "[retention]\n5s = 1d\n[retention]\n1m = 30d\n",
	  "t.conf:3: duplicate section [retention] (first on line 1)", XS_ERR_PARSE },
	{ "\xEF\xBB\xBF" "data = /x\r\n",
	  "t.conf:1: the file starts with a UTF-8 byte order mark (EF BB BF): save it without one",
	  XS_ERR_PARSE },
	{ "data = /x\r[pool a]\rurl = http://h\r\n",
	  "t.conf:1: carriage return without a line feed (lines end with \\n or \\r\\n)",
	  XS_ERR_PARSE },
};

/* The text of a case: its length runs to the last '\n' (cases may hold a NUL). */
static size_t bad_len(const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || text[n - 1] != '\n')
		n += 1 + strlen(text + n + 1); /* one embedded NUL */
	return n;
}

static void test_errors_name_their_line(void)
{
	char err[XS_ERR_LEN];
	struct xs_config c;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum xs_err rc;

		xs_config_defaults(&c);
		free(c.listen_host);
		c.listen_host = strdup("keep.me");
		err[0] = '\0';
		rc = xs_config_load_string(&c, bad[i].text, bad_len(bad[i].text), "t.conf", err);
		ok(rc == bad[i].rc, "case %zu: rc %d", i, (int)rc);
		ok(strcmp(err, bad[i].err) == 0, "case %zu: got [%s]\n   want [%s]", i, err, bad[i].err);
		ok(strcmp(c.listen_host, "keep.me") == 0 && c.npools == 0 && c.source == NULL,
		   "case %zu: cfg untouched", i);
		ok(strstr(err, "secret") == NULL, "case %zu: no secret", i);
		xs_config_free(&c);
	}
}

static void test_limits(void)
{
	char err[XS_ERR_LEN];
	struct xs_config c;
	struct xs_buf b;
	char *big;
	size_t n;

	xs_config_defaults(&c);
	/* value too long */
	big = malloc(XS_CONFIG_VALUE_MAX + 64);
	n = (size_t)snprintf(big, 16, "\n\ndata = ");
	memset(big + n, 'v', XS_CONFIG_VALUE_MAX + 1);
	big[n + XS_CONFIG_VALUE_MAX + 1] = '\n';
	ok(xs_config_load_string(&c, big, n + XS_CONFIG_VALUE_MAX + 2, "t", err) == XS_ERR_TOO_LARGE,
	   "value too long");
	ok(strcmp(err, "t:3: value too long (max 2048 bytes)") == 0, "got [%s]", err);
	/* exactly the cap is fine */
	ok(xs_config_load_string(&c, big, n + XS_CONFIG_VALUE_MAX, "t", err) == XS_OK, "at cap: %s", err);
	ok(c.data_dir && strlen(c.data_dir) == XS_CONFIG_VALUE_MAX, "data at cap");
	/* quoted: 2049 bytes between the quotes are too long, 2048 fit */
	big[n] = '"';
	big[n + XS_CONFIG_VALUE_MAX + 1] = 'v';
	big[n + XS_CONFIG_VALUE_MAX + 2] = '"';
	ok(xs_config_load_string(&c, big, n + XS_CONFIG_VALUE_MAX + 3, "t", err) == XS_ERR_TOO_LARGE &&
		   strcmp(err, "t:3: value too long (max 2048 bytes)") == 0,
	   "quoted value too long: [%s]", err);
	big[n + XS_CONFIG_VALUE_MAX + 1] = '"';
	ok(xs_config_load_string(&c, big, n + XS_CONFIG_VALUE_MAX + 2, "t", err) == XS_OK &&
		   strlen(c.data_dir) == XS_CONFIG_VALUE_MAX,
	   "quoted at cap: %s", err);
	free(big);

	/* line too long */
	big = malloc(XS_CONFIG_LINE_MAX + 8);
	memset(big, ' ', XS_CONFIG_LINE_MAX + 1);
	big[XS_CONFIG_LINE_MAX + 1] = '\n';
	ok(xs_config_load_string(&c, big, XS_CONFIG_LINE_MAX + 2, "t", err) == XS_ERR_TOO_LARGE &&
		   strcmp(err, "t:1: line too long (max 4096 bytes)") == 0,
	   "line too long: [%s]", err);
	ok(xs_config_load_string(&c, big, XS_CONFIG_LINE_MAX, "t", err) == XS_OK, "line at cap");
	free(big);

	/* too many pools */
	xs_buf_init(&b, 1 << 22);
	for (int i = 0; i <= XS_CONFIG_POOLS_MAX; i++) {
		if (xs_buf_printf(&b, "[pool p%d]\nurl = http://h%d\n", i, i) != XS_OK)
			break;
	}
	ok(xs_config_load_string(&c, b.data, b.len, "t", err) == XS_ERR_TOO_LARGE &&
		   strcmp(err, "t:2001: too many pools (max 1000)") == 0,
	   "too many pools: [%s]", err);
	ok(xs_config_load_string(&c, b.data, b.len - strlen("[pool p1000]\nurl = http://h1000\n"), "t",
				 err) == XS_OK &&
		   c.npools == XS_CONFIG_POOLS_MAX,
	   "1000 pools: %s", err);
	xs_buf_free(&b);

	/* file too large */
	big = calloc(XS_CONFIG_FILE_MAX + 1, 1);
	memset(big, '\n', XS_CONFIG_FILE_MAX + 1);
	ok(xs_config_load_string(&c, big, XS_CONFIG_FILE_MAX + 1, "t", err) == XS_ERR_TOO_LARGE &&
		   strcmp(err, "t: file too large (max 1048576 bytes)") == 0,
	   "file too large: [%s]", err);
	free(big);
	ok(c.npools == XS_CONFIG_POOLS_MAX, "untouched by the failures");
	xs_config_free(&c);

	/* unreadable file */
	xs_config_defaults(&c);
	ok(xs_config_load_file(&c, "/nonexistent/xapistat.conf", err) == XS_ERR_IO &&
		   strcmp(err, "/nonexistent/xapistat.conf: cannot open: No such file or directory") == 0,
	   "missing file: [%s]", err);
	xs_config_free(&c);
}

/* XS_TLS_PINS_MAX pins over several lines fit and format back; one more does not. */
static void test_pin_limits(void)
{
	char err[XS_ERR_LEN];
	struct xs_config c, c2;
	struct xs_buf b, f;

	xs_config_defaults(&c);
	xs_config_defaults(&c2);
	xs_buf_init(&b, 1 << 20);
	xs_buf_init(&f, 1 << 20);
	ok(xs_buf_append_str(&b, "[pool a]\nurl = https://x\n") == XS_OK, "head");
	for (int i = 0; i < XS_TLS_PINS_MAX; i++) /* 16 a line */
		ok(xs_buf_printf(&b, "%s%.93s%02X%s", i % 16 ? ", " : "pin = ", PIN, i,
				 i % 16 == 15 ? "\n" : "") == XS_OK,
		   "pin %d", i);
	ok(xs_config_load_string(&c, b.data, b.len, "t", err) == XS_OK && c.npools == 1 &&
		   strlen(c.pools[0].pins) == XS_TLS_PINS_LEN - 1,
	   "%d pins: %s", XS_TLS_PINS_MAX, err);
	ok(xs_config_format(&c, &f) == XS_OK &&
		   xs_config_load_string(&c2, f.data, f.len, "f", err) == XS_OK &&
		   !strcmp(c2.pools[0].pins, c.pools[0].pins),
	   "%d pins: format and load again: %s", XS_TLS_PINS_MAX, err);
	ok(xs_buf_append_str(&b, "pin = " PIN "\n") == XS_OK, "one more");
	ok(xs_config_load_string(&c, b.data, b.len, "t", err) == XS_ERR_TOO_LARGE &&
		   strcmp(err, "t:11: pin: more than 128 fingerprints") == 0,
	   "too many pins: [%s]", err);
	ok(c.npools == 1 && strlen(c.pools[0].pins) == XS_TLS_PINS_LEN - 1, "untouched");
	xs_buf_free(&f);
	xs_buf_free(&b);
	xs_config_free(&c2);
	xs_config_free(&c);
}

static void test_empty_and_comments(void)
{
	static const char text[] = "; comment\n  # indented comment\n\n"
				   "data = /x#not-a-comment ;a comment # too\n"
				   "token_file = a;b\n";
	char err[XS_ERR_LEN];
	struct xs_config c;

	xs_config_defaults(&c);
	ok(xs_config_load_string(&c, "", 0, "empty", err) == XS_OK && c.npools == 0, "empty file");
	ok(xs_config_load_string(&c, NULL, 0, NULL, err) == XS_OK && strcmp(c.source, "(config)") == 0,
	   "NULL text");
	ok(xs_config_load_string(&c, text, sizeof text - 1, "t", err) == XS_OK, "comments: %s", err);
	ok(strcmp(c.data_dir, "/x#not-a-comment") == 0, "data: [%s]", c.data_dir);
	ok(strcmp(c.token_file, "a;b") == 0, "token: [%s]", c.token_file);
	ok(xs_config_load_string(&c, "data = /no-newline", 18, "t", err) == XS_OK &&
		   strcmp(c.data_dir, "/no-newline") == 0,
	   "last line without newline");
	ok(c.token_file == NULL, "reload starts from the defaults");
	/* a comment needs a blank before it, the '=' is none */
	ok(xs_config_load_string(&c, "data=#x ;y\n", 11, "t", err) == XS_OK &&
		   strcmp(c.data_dir, "#x") == 0,
	   "data=#x is the value #x: [%s] %s", c.data_dir, err);
	xs_config_free(&c);
}

static void test_values(void)
{
	int64_t s = -1;
	bool b = false;

	ok(xs_config_parse_duration("5s", 2, &s) && s == 5, "5s");
	ok(xs_config_parse_duration("2m", 2, &s) && s == 120, "2m");
	ok(xs_config_parse_duration("1w", 2, &s) && s == 7 * 86400, "1w");
	ok(xs_config_parse_duration("1y1d", 4, &s) && s == 366 * 86400, "1y1d");
	ok(xs_config_parse_duration("100y", 4, &s) && s == XS_CONFIG_DURATION_MAX, "100y");
	ok(!xs_config_parse_duration("100y1s", 6, &s), "past 100y");
	ok(!xs_config_parse_duration("99999999999999999999999d", 24, &s), "overflow");
	ok(!xs_config_parse_duration("5", 1, &s), "no unit");
	ok(!xs_config_parse_duration("d", 1, &s), "no number");
	ok(!xs_config_parse_duration("", 0, &s), "empty");
	ok(!xs_config_parse_duration("5 s", 3, &s), "space");
	ok(!xs_config_parse_duration("-5s", 3, &s), "negative");
	ok(!xs_config_parse_duration("0s", 2, &s), "zero");
	ok(xs_config_parse_bool("YES", 3, &b) && b, "YES");
	ok(xs_config_parse_bool("0", 1, &b) && !b, "0");
	ok(xs_config_parse_bool("on", 2, &b) && b, "on");
	ok(xs_config_parse_bool("False", 5, &b) && !b, "False");
	ok(!xs_config_parse_bool("truee", 5, &b), "truee");
	ok(!xs_config_parse_bool("", 0, &b), "empty");
}

static void test_listen(void)
{
	char err[XS_ERR_LEN];
	struct xs_config c;

	xs_config_defaults(&c);
	ok(xs_config_load_string(&c, "listen = [::1]:443", 18, "t", err) == XS_OK &&
		   strcmp(c.listen_host, "::1") == 0 && c.listen_port == 443,
	   "[::1]:443");
	ok(xs_config_listen_is_loopback(&c), "::1 is loopback");
	ok(xs_config_load_string(&c, "listen = 127.3.4.5:1", 20, "t", err) == XS_OK &&
		   xs_config_listen_is_loopback(&c),
	   "127/8");
	ok(xs_config_load_string(&c, "listen = LocalHost:65535", 24, "t", err) == XS_OK &&
		   c.listen_port == 65535 && xs_config_listen_is_loopback(&c),
	   "localhost");
	ok(xs_config_load_string(&c, "listen = [::ffff:127.0.0.1]:1", 29, "t", err) == XS_OK &&
		   xs_config_listen_is_loopback(&c),
	   "v4-mapped loopback");
	ok(xs_config_load_string(&c, "listen = [::]:80", 16, "t", err) == XS_OK &&
		   !xs_config_listen_is_loopback(&c),
	   "[::] is not");
	ok(xs_config_load_string(&c, "listen = 10.1.2.3:80", 20, "t", err) == XS_OK &&
		   !xs_config_listen_is_loopback(&c),
	   "10/8 is not");
	/* a name the HTTP server cannot bind is refused at its line, not when serve starts */
	ok(xs_config_load_string(&c, "listen = example.com:80", 23, "t", err) == XS_ERR_PARSE &&
		   strstr(err, "t:1: listen: expected") && strstr(err, "'example.com:80'"),
	   "a name: %s", err);
	ok(xs_config_load_string(&c, "listen = 127.1:80", 17, "t", err) == XS_ERR_PARSE,
	   "127.1 (not what inet_pton reads): %s", err);
	ok(xs_config_load_string(&c, "listen = [fe80::1%eth0]:80", 26, "t", err) == XS_ERR_PARSE,
	   "a scoped IPv6 address: %s", err);
	ok(!xs_config_listen_set(&c, "myhost:8080") && xs_config_listen_set(&c, "LOCALHOST:8080"),
	   "--listen: a name refused, localhost taken");
	xs_config_free(&c);
}

static void test_pool_urls(void)
{
	char err[XS_ERR_LEN];
	struct xs_config c;

	xs_config_defaults(&c);
	ok(xs_config_add_pool_url(&c, "https://root:secret@10.0.0.1/", err) == XS_OK, "add 1: %s", err);
	ok(xs_config_add_pool_url(&c, "https://10.0.0.1:8443", err) == XS_OK, "add 2: %s", err);
	ok(xs_config_add_pool_url(&c, "http://[fe80::1%eth0]:80", err) == XS_OK, "add 3: %s", err);
	ok(xs_config_add_pool_url(&c, "HTTPS://Pool.Example.com", err) == XS_OK, "add 4: %s", err);
	ok(xs_config_add_pool_url(&c, "https://10.0.0.1:9443", err) == XS_OK, "add 5: %s", err);
	fail_unless(c.npools == 5, "5 pools");
	ok(strcmp(c.pools[0].name, "10.0.0.1") == 0, "name 1: %s", c.pools[0].name);
	ok(strcmp(c.pools[0].url, "https://root:secret@10.0.0.1/") == 0, "url kept as given");
	ok(strcmp(c.pools[1].name, "10.0.0.1-2") == 0, "name 2: %s", c.pools[1].name);
	ok(strcmp(c.pools[2].name, "fe80--1-eth0") == 0, "name 3: %s", c.pools[2].name);
	ok(strcmp(c.pools[3].name, "Pool.Example.com") == 0, "name 4: %s", c.pools[3].name);
	ok(strcmp(c.pools[4].name, "10.0.0.1-3") == 0, "name 5: %s", c.pools[4].name);
	ok(c.pools[0].line == 0 && !c.pools[0].user && !c.pools[0].insecure, "flag pools");

	ok(xs_config_add_pool_url(&c, "https://root:secret@10.0.0.1/", err) == XS_ERR_ARG &&
		   strcmp(err, "--pool https://10.0.0.1/: pool given twice") == 0,
	   "twice: [%s]", err);
	ok(xs_config_add_pool_url(&c, "10.0.0.9", err) == XS_ERR_ARG &&
		   strcmp(err, "--pool 10.0.0.9: expected http(s)://HOST[:PORT][/PATH]") == 0,
	   "no scheme: [%s]", err);
	ok(xs_config_add_pool_url(&c, "https://u:secret@", err) == XS_ERR_ARG && !strstr(err, "secret"),
	   "no host, no secret: [%s]", err);
	ok(xs_config_add_pool_url(&c, "https://a b", err) == XS_ERR_ARG, "space");
	ok(xs_config_add_pool_url(&c, "https://root:se/cret@10.0.0.1", err) == XS_ERR_ARG &&
		   !strstr(err, "se/cret") && !strstr(err, "cret") &&
		   strstr(err, "--pool https://10.0.0.1: an '@' after the host"),
	   "a '/' in the password: refused, not echoed: [%s]", err);
	ok(xs_config_add_pool_url(&c, "https://root:pa#secret@10.0.0.1", err) == XS_ERR_ARG &&
		   !strstr(err, "pa#") && !strstr(err, "secret"),
	   "a '#' in the password: refused, not echoed: [%s]", err);
	ok(xs_config_add_pool_url(&c, "https://root:2024/Spring@10.0.0.1", err) == XS_ERR_ARG &&
		   !strstr(err, "Spring"),
	   "one that would parse as host root, port 2024: refused: [%s]", err);
	ok(c.npools == 5, "unchanged on error");
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "no data directory: give --data DIR or 'data = DIR' in the configuration") ==
			   0,
	   "validate data: [%s]", err);
	xs_config_free(&c);
}

static void test_pool_url_after_file(void)
{
	static const char text[] = "[pool 10.0.0.1]\nurl = https://other\n";
	char err[XS_ERR_LEN];
	struct xs_config c;

	xs_config_defaults(&c);
	ok(xs_config_load_string(&c, text, sizeof text - 1, "t", err) == XS_OK, "load");
	ok(xs_config_add_pool_url(&c, "https://10.0.0.1", err) == XS_OK, "add");
	ok(c.npools == 2 && strcmp(c.pools[1].name, "10.0.0.1-2") == 0, "name taken by the file");
	ok(xs_config_add_pool_url(&c, "https://other", err) == XS_ERR_ARG, "url of the file");
	xs_config_free(&c);
}

static void test_validate(void)
{
	char err[XS_ERR_LEN];
	struct xs_config c;

	xs_config_defaults(&c);
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "no pool configured: give --pool URL or a [pool NAME] section") == 0,
	   "no pool: [%s]", err);
	ok(xs_config_add_pool_url(&c, "https://h", err) == XS_OK, "add");
	ok(xs_config_validate(&c, err) == XS_ERR_ARG && strncmp(err, "no data directory", 17) == 0,
	   "no data: [%s]", err);
	c.data_dir = strdup("/d");
	ok(xs_config_validate(&c, err) == XS_OK, "valid: %s", err);
	c.tls_cert_file = strdup("/c.pem");
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "tls_cert without tls_key: HTTPS for the API needs both 'tls_cert' and "
			       "'tls_key'") == 0,
	   "cert without key: [%s]", err);
	c.tls_key_file = strdup("/k.pem");
	ok(xs_config_validate(&c, err) == XS_OK, "cert and key: %s", err);
	free(c.listen_host);
	c.listen_host = strdup("0.0.0.0");
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "listen address 0.0.0.0 is not loopback: an API token is required "
			       "('token_file = FILE', or --token-file FILE)") == 0,
	   "token needed: [%s]", err);
	c.token_file = strdup("/t");
	ok(xs_config_validate(&c, err) == XS_OK, "with token: %s", err);
	c.max_connections_per_ip = 1025;
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "max_connections_per_ip (1025) is more than max_connections (1024): "
			       "lower it, or raise max_connections") == 0,
	   "per ip over the whole: [%s]", err);
	c.max_connections_per_ip = 1024;
	ok(xs_config_validate(&c, err) == XS_OK, "per ip = the whole: %s", err);
	c.max_connections = 0;
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "max_connections out of range (1 to 1000000)") == 0,
	   "no connections: [%s]", err);
	c.max_connections = 2000;
	c.max_connections_per_ip = 0;
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "max_connections_per_ip out of range (1 to 2000)") == 0,
	   "per ip 0: [%s]", err);
	c.max_connections_per_ip = 1;
	c.retention[XS_CONFIG_TIER_1D] = 10;
	ok(xs_config_validate(&c, err) == XS_ERR_ARG &&
		   strcmp(err, "retention of the 1d tier out of range") == 0,
	   "retention: [%s]", err);
	xs_config_free(&c);
	ok(xs_config_validate(&c, err) == XS_ERR_ARG, "zero-filled");
}

static void test_format_masks_urls(void)
{
	char err[XS_ERR_LEN];
	struct xs_config c;
	struct xs_buf b;

	xs_config_defaults(&c);
	ok(xs_config_add_pool_url(&c, "https://root:secret@h/x?session_id=S", err) == XS_OK, "add");
	xs_buf_init(&b, 1 << 16);
	ok(xs_config_format(&c, &b) == XS_OK, "format");
	ok(b.data && !strstr(b.data, "secret") && !strstr(b.data, "session_id"), "masked: %s", b.data);
	ok(b.data && strstr(b.data, "url = \"https://h/x\"\n"), "url: %s", b.data);
	ok(b.data && strstr(b.data, "listen = \"127.0.0.1:8080\"\n") && strstr(b.data, "5s = 2d\n") &&
		   strstr(b.data, "1h = 2y\n") && strstr(b.data, "1m = 60d\n"),
	   "defaults: %s", b.data);
	xs_buf_free(&b);
	xs_config_free(&c);
}

int main(void)
{
	TEST_RUN(test_defaults);
	TEST_RUN(test_full_file_and_round_trip);
	TEST_RUN(test_errors_name_their_line);
	TEST_RUN(test_limits);
	TEST_RUN(test_pin_limits);
	TEST_RUN(test_empty_and_comments);
	TEST_RUN(test_values);
	TEST_RUN(test_listen);
	TEST_RUN(test_pool_urls);
	TEST_RUN(test_pool_url_after_file);
	TEST_RUN(test_validate);
	TEST_RUN(test_format_masks_urls);
	return test_summary();
}
