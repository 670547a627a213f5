/*
 * tests/unit/store/open_block.c - the open blocks of the slow tiers (1 h, 1 d),
 * which the store keeps frozen (payload only, union st_open in store_internal.h): every
 * point appended that way gives the bytes a live encoder would, a block leaves
 * for the sealed list without a copy, backfill blocks are counted, and a carry
 * record brings a frozen block back byte for byte.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "store/store_whole.h"
#include "test.h"

#define T0 1700006400 /* a UTC midnight */

static char test_dir[64];

static struct xs_store *open_store(void)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	snprintf(test_dir, sizeof(test_dir), "/tmp/xs-open-XXXXXX");
	if (!mkdtemp(test_dir))
		abort();
	ok(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	return s;
}

static void close_store(struct xs_store **s)
{
	char err[XS_ERR_LEN] = "", cmd[128];

	ok(xs_store_close(s, err) == XS_OK, "close: %s", err);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", test_dir);
}

/* Whether the frozen block f holds what the live block b would write. */
static bool same_block(const struct st_sealed *f, const struct xs_block *b)
{
	size_t len = xs_block_bytes(b);
	uint8_t *p = xs_xmalloc(len + 1);
	bool same;

	xs_block_payload(b, p);
	same = f && f->t0 == b->t0 && f->tlast == b->tlast && f->n == b->n &&
	       f->flags == xs_block_flags(b) && f->len == len && !memcmp(f->payload, p, len);
	free(p);
	return same;
}

/* The point i of a test sequence: noise, repeats, zeros, -0, NaN, infinities. */
static void point_of(unsigned i, float *v)
{
	static const float odd[] = { 0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e-40f };

	for (unsigned c = 0; c < 3; c++) {
		uint32_t h = (i * 2654435761u) ^ (c * 40503u);

		v[c] = i % 11 == 3 ? odd[(i / 11 + c) % 6] : i % 5 == 1 ? 42.0f : (float)(h % 100003) / 7.0f;
	}
}

/* Appends through the store's frozen path and, side by side, a live encoder, in
 * the tier's windows: regular steps, then gaps (a time stream), across windows. */
static void test_same_bits(void)
{
	static const int tiers[] = { XS_TIER_1H, XS_TIER_1D };
	struct xs_store *s = open_store();
	char err[XS_ERR_LEN] = "";
	xs_series_id id = 0;

	fail_unless(s, "open");
	ok(st_frozen(XS_TIER_1H) && st_frozen(XS_TIER_1D) && !st_frozen(XS_TIER_1M) &&
	   !st_frozen(XS_TIER_5S), "the 1 h and 1 d tiers are the frozen ones");
	fail_unless(xs_store_series(s, XS_OBJ_VM, "00000000-0000-0000-0000-000000000001", "cpu0",
				    "", &id, err) == XS_OK, "series: %s", err);
	for (size_t k = 0; k < sizeof(tiers) / sizeof(tiers[0]); k++) {
		int tier = tiers[k];
		int64_t step = xs_tier_step[tier], w = st_window[tier], t = T0;
		union st_open *slot = &st_act(s, id)->open[tier];
		struct xs_block live = { 0 };
		unsigned bad = 0, seals = 0, moved = 0;

		xs_block_init(&live, step, 3);
		for (unsigned i = 0; i < 200; i++) {
			struct st_sealed *before = slot->frozen;
			size_t npend = s->npend;
			float v[3];

			/* every 7th point skips 1-3 steps (irregular); a few windows are skipped whole */
			t += step * (i % 7 == 6 ? 1 + i % 3 : 1) + (i % 50 == 49 ? w : 0);
			point_of(i, v);
			if (live.n && st_floor(t, w) != st_floor(live.t0, w)) {
				/* the store seals here: the sealed block is the frozen one, moved */
				seals++;
				if (!same_block(before, &live))
					bad++;
				xs_block_init(&live, step, 3);
			}
			st_block_add(s, id, tier, slot, t, v);
			xs_block_put(&live, t, v);
			if (s->npend != npend)
				moved += s->npend == npend + 1 && s->pend[npend].b == before &&
					 s->pend[npend].tier == tier && s->pend[npend].series == id;
			if (!same_block(slot->frozen, &live))
				bad++;
		}
		ok(bad == 0, "tier %d: %u points or seals differ from a live encoder's", tier, bad);
		ok(seals > 3 && moved == seals, "tier %d: %u seals, %u moved without a copy", tier,
		   seals, moved);
		xs_block_cleanup(&live);
	}
	close_store(&s);
}

/* A frozen backfill block counts once in nbf, across its seals and a carry replay,
 * until a checkpoint seals it; a carry record brings the frozen blocks back byte for
 * byte. */
static void test_backfill_and_carry(void)
{
	struct xs_store *s = open_store();
	char err[XS_ERR_LEN] = "";
	xs_series_id id = 0;
	float v[3] = { 1.5f, 1.0f, 2.0f };
	struct st_bytes out = { 0 };
	struct st_sealed *open_copy, *bf_copy;
	struct st_cur c;

	fail_unless(s, "open");
	fail_unless(xs_store_series(s, XS_OBJ_HOST, "00000000-0000-0000-0000-000000000002", "load",
				    "", &id, err) == XS_OK, "series: %s", err);
	for (int64_t t = T0; t <= T0 + 3 * 86400; t += 5)
		xs_store_append(s, id, t, (float)(t % 7), err);
	ok(st_peek(s, id)->open[XS_TIER_1H].frozen && st_peek(s, id)->open[XS_TIER_1D].frozen,
	   "the 1 h and 1 d open blocks are frozen ones");
	ok(s->nbf == 0, "no backfill block yet");
	/* three days back, then the day before T0: the first block is sealed on the way */
	ok(xs_store_backfill(s, id, XS_TIER_1H, T0 - 3 * 86400, v[0], v[1], v[2], err) == XS_OK &&
	   xs_store_backfill(s, id, XS_TIER_1H, T0 - 10800, v[0], v[1], v[2], err) == XS_OK &&
	   xs_store_backfill(s, id, XS_TIER_1H, T0 - 7200, v[0], v[1], v[2], err) == XS_OK,
	   "backfill: %s", err);
	ok(s->npend && s->pend[s->npend - 1].tier == XS_TIER_1H && s->pend[s->npend - 1].b->n == 1 &&
	   s->pend[s->npend - 1].b->t0 == T0 - 3 * 86400, "the first backfill block sealed");
	ok(s->nbf == 1 && st_peek(s, id)->bf[XS_TIER_1H].frozen && st_peek(s, id)->bf[XS_TIER_1H].frozen->n == 2,
	   "one frozen backfill block of two hours, counted once (nbf %llu)", (unsigned long long)s->nbf);

	st_carry(s, id, &out);
	open_copy = xs_xmalloc(sizeof(*open_copy) + st_peek(s, id)->open[XS_TIER_1H].frozen->len + 1);
	memcpy(open_copy, st_peek(s, id)->open[XS_TIER_1H].frozen,
	       sizeof(*open_copy) + st_peek(s, id)->open[XS_TIER_1H].frozen->len);
	bf_copy = xs_xmalloc(sizeof(*bf_copy) + st_peek(s, id)->bf[XS_TIER_1H].frozen->len + 1);
	memcpy(bf_copy, st_peek(s, id)->bf[XS_TIER_1H].frozen,
	       sizeof(*bf_copy) + st_peek(s, id)->bf[XS_TIER_1H].frozen->len);
	/* the frame: u32 len, u32 crc, then 'C' and the record */
	c = (struct st_cur){ out.p + 9, out.len - 9, 0, false };
	ok(st_replay_carry(s, &c) && !c.bad, "carry replayed");
	ok(s->nbf == 1, "still one backfill block after the replay (nbf %llu)", (unsigned long long)s->nbf);
	for (int i = 0; i < 2; i++) {
		const struct st_sealed *a = i ? st_peek(s, id)->bf[XS_TIER_1H].frozen
					      : st_peek(s, id)->open[XS_TIER_1H].frozen;
		const struct st_sealed *b = i ? bf_copy : open_copy;

		ok(a && a->t0 == b->t0 && a->tlast == b->tlast && a->n == b->n && a->flags == b->flags &&
		   a->len == b->len && !memcmp(a->payload, b->payload, a->len),
		   "%s block the same after the carry", i ? "backfill" : "open");
	}
	free(open_copy);
	free(bf_copy);
	free(out.p);

	ok(st_checkpoint(s, err) == XS_OK, "checkpoint: %s", err);
	ok(s->nbf == 0 && !st_peek(s, id)->bf[XS_TIER_1H].frozen, "the checkpoint sealed the backfill block");
	ok(st_peek(s, id)->open[XS_TIER_1H].frozen != NULL, "the live 1 h block stays open");
	{
		struct xs_point pts[8];
		size_t n = xs_store_read(s, id, XS_TIER_1H, T0 - 3 * 86400, T0 - 3601, pts, 8);

		ok(n == 3 && pts[0].t == T0 - 3 * 86400 && pts[1].t == T0 - 10800 && pts[2].t == T0 - 7200 &&
		   pts[2].avg == 1.5f && pts[2].min == 1.0f && pts[2].max == 2.0f,
		   "the backfilled hours read back (%zu)", n);
	}
	close_store(&s);
}

int main(void)
{
	TEST_RUN(test_same_bits);
	TEST_RUN(test_backfill_and_carry);
	return test_summary();
}
