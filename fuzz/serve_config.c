/*
 * libFuzzer target: the configuration file of `xapistat serve`
 * (src/serve/config.c, xs_config_load_string).
 *
 * Invariants: a load that fails reads "fz:LINE: problem" with LINE between 1
 * and the number of lines of the input (or "fz: file too large"), and leaves
 * the configuration untouched. A load that succeeds formats to a text that
 * loads again (unless masking a URL made two pools' URLs equal) and formats
 * to the same text: what xs_config_format() writes is what the parser reads.
 * Any other outcome aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/config.h"

#define FUZZ_OUT_CAP (16u << 20) /* a 64 KiB input formats far below this */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lines of the input as the parser counts them: a last line without '\n' counts. */
static unsigned long fuzz_lines(const uint8_t *data, size_t size)
{
	unsigned long n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size > 0 && data[size - 1] != '\n');
}

static void fuzz_check_error(const char *err, const uint8_t *data, size_t size)
{
	char *end;
	unsigned long line;

	if (strncmp(err, "fz:", 3) != 0)
		abort();
	if (strcmp(err, "fz: file too large (max 1048576 bytes)") == 0)
		return;
	line = strtoul(err + 3, &end, 10);
	if (end == err + 3 || strncmp(end, ": ", 2) != 0 || end[2] == '\0')
		abort();
	if (line < 1 || line > fuzz_lines(data, size))
		abort();
}

/* True when every URL survives masking: then the formatted text must reload. */
static bool fuzz_urls_plain(const struct xs_config *cfg)
{
	char masked[XS_LOG_URL_LEN];

	for (size_t i = 0; i < cfg->npools; i++) {
		if (strcmp(xs_log_url(masked, sizeof masked, cfg->pools[i].url), cfg->pools[i].url) != 0)
			return false;
	}
	return true;
}

static void fuzz_round_trip(const struct xs_config *cfg)
{
	char err[XS_ERR_LEN];
	struct xs_config again;
	struct xs_buf b1, b2;
	enum xs_err rc;

	xs_buf_init(&b1, FUZZ_OUT_CAP);
	xs_buf_init(&b2, FUZZ_OUT_CAP);
	if (xs_config_format(cfg, &b1) != XS_OK)
		abort();
	xs_config_defaults(&again);
	rc = xs_config_load_string(&again, b1.data, b1.len, "formatted", err);
	if (rc != XS_OK) {
		if (fuzz_urls_plain(cfg))
			abort();
		goto out;
	}
	if (again.npools != cfg->npools || xs_config_format(&again, &b2) != XS_OK)
		abort();
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
out:
	xs_config_free(&again);
	xs_buf_free(&b1);
	xs_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[XS_ERR_LEN];
	struct xs_config cfg;
	char *text;

	/* an exact-size copy, not NUL-terminated: ASan sees any read past the end */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	xs_config_defaults(&cfg);
	err[0] = '\0';
	if (xs_config_load_string(&cfg, text, size, "fz", err) != XS_OK) {
		fuzz_check_error(err, data, size);
		if (cfg.source != NULL || cfg.npools != 0 || cfg.listen_port != XS_CONFIG_DEFAULT_LISTEN_PORT)
			abort();
		goto out;
	}
	if (!cfg.source || strcmp(cfg.source, "fz") != 0)
		abort();
	fuzz_round_trip(&cfg);
out:
	xs_config_free(&cfg);
	free(text);
	return 0;
}
