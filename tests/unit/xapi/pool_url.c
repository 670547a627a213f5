/*
 * Tests of the address HOST_IS_SLAVE names, as the pool client follows it
 * (pc_url_of and pc_chain_error in src/xapi/pool_client.c, reached by
 * including the .c): an IPv4 address, a name and an IPv6 address (bracketed
 * or not) become the new master's base URL on the pool's scheme and port; an
 * address with '/', '?', '#', '@' or a blank, an empty one and one too long
 * for a URL are not followed (the client backs off and keeps its master).
 * Before, "evil.example.test/x?" made "https://evil.example.test/x?:8443" the
 * master: the port went into the path (found by fuzz/pool_events.c).
 * Nothing is sent: the loop never runs and the calls queued are cancelled.
 */
#include <string.h>

#include "test.h"
#include "xapi/pool_client.c"

#define URL_POOL "https://master.example.test:8443"

static struct xs_evloop *t_loop;
static struct xs_http *t_http;

/* The master after HOST_IS_SLAVE names address, and the state it leaves. */
static void slave_to(const char *address, char *master, size_t cap, enum xs_pool_state *state)
{
	struct xs_pool_config cfg = { .url = URL_POOL, .user = "root", .password = "pw" };
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_result res = { .rc = XS_OK, .method = "session.login_with_password" };
	char err[XS_ERR_LEN];
	struct xs_pool_client *pc = xs_pool_client_new(t_loop, t_http, &cfg, err);

	if (!pc)
		abort();
	res.reply.ok = false;
	res.reply.value = xs_rpc_array(a);
	xs_rpc_array_push(a, res.reply.value, xs_rpc_cstring(a, "HOST_IS_SLAVE"));
	xs_rpc_array_push(a, res.reply.value, xs_rpc_cstring(a, address));
	pc->step = PC_LOGIN;
	pc_chain_error(pc, PC_LOGIN, &res);
	snprintf(master, cap, "%s", xs_pool_client_master_url(pc));
	*state = xs_pool_client_state(pc);
	xs_pool_client_free(&pc);
	xs_rpc_arena_free(&a);
}

static void test_followed(void)
{
	static const struct {
		const char *address, *master;
	} cases[] = {
		{ "192.0.2.2", "https://192.0.2.2:8443" },
		{ "master2.example.test", "https://master2.example.test:8443" },
		{ "fd00::2", "https://[fd00::2]:8443" },
		{ "[fd00::2]", "https://[fd00::2]:8443" },
		{ "fe80::1%eth0", "https://[fe80::1%eth0]:8443" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char master[XS_RPC_URL_LEN];
		enum xs_pool_state st;

		slave_to(cases[i].address, master, sizeof(master), &st);
		ok(!strcmp(master, cases[i].master) && st == XS_POOL_CONNECTING, "%s: master %s, %s",
		   cases[i].address, master, xs_pool_state_name(st));
	}
}

static void test_refused(void)
{
	static char longest[XS_RPC_URL_LEN];
	const char *cases[] = { "evil.example.test/x?", "user@evil.example.test", "a#b", "a b", "[]",
				"[fd00::2", "", longest };

	memset(longest, 'a', sizeof(longest) - 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char master[XS_RPC_URL_LEN];
		enum xs_pool_state st;

		slave_to(cases[i], master, sizeof(master), &st);
		ok(!strcmp(master, URL_POOL) && st == XS_POOL_BACKOFF, "case %zu (%.40s): master %s, %s",
		   i, cases[i], master, xs_pool_state_name(st));
	}
}

int main(void)
{
	char err[XS_ERR_LEN];

	t_loop = xs_evloop_new();
	t_http = xs_http_new(t_loop, err);
	if (!t_http) {
		fprintf(stderr, "http: %s\n", err);
		return 1;
	}
	TEST_RUN(test_followed);
	TEST_RUN(test_refused);
	xs_http_free(&t_http);
	xs_evloop_free(&t_loop);
	return test_summary();
}
