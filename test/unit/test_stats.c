/* test_stats.c - the counters' emit walk: topic names, reasons with blanks
 * as '-', only non-zero values, JWKS sources numbered from 1; the full
 * topic with a listener level, the listener names stats_listener accepts,
 * and when the counters are due (from TICK, or from the other events where
 * no TICK comes), on a fixed clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mja/session/stats.h"

typedef struct seen {
	char text[4096];
	size_t n;
} seen;

static void collect(const char *suffix, const char *value, void *arg)
{
	seen *s = arg;
	size_t used = strlen(s->text);

	snprintf(s->text + used, sizeof(s->text) - used, "%s=%s\n", suffix, value);
	s->n++;
}

static void test_empty_emits_nothing(void **state)
{
	mja_stats st = { 0 };
	mja_stats_extra x = { 0 };
	struct mja_source_stats src[2] = { { 0 } };
	seen s = { "", 0 };

	assert_int_equal(mja_stats_emit(&st, NULL, collect, &s), 0);
	x.sources = src;
	x.n_sources = 2;
	assert_int_equal(mja_stats_emit(&st, &x, collect, &s), 0);
	assert_string_equal(s.text, "");
	assert_int_equal(mja_stats_emit(NULL, &x, collect, &s), 0);
	assert_int_equal(mja_stats_emit(&st, &x, NULL, &s), 0);
}

static void test_every_topic(void **state)
{
	mja_stats st = { 0 };
	struct mja_source_stats src[2] = { { 1767225600, 3, 4 }, { 0, 2, 0 } };
	mja_stats_extra x = { .cache_hits = 7, .cache_misses = 8, .keys = 5,
		.sources = src, .n_sources = 2 };
	seen s = { "", 0 };

	st.connects_accepted = 12;
	st.connects_deferred = 1;
	mja_stats_refused(&st, MJA_ERR_BAD_SIGNATURE);
	mja_stats_refused(&st, MJA_ERR_BAD_SIGNATURE);
	mja_stats_refused(&st, MJA_ERR_EXPIRED);
	mja_stats_refused(&st, MJA_ERR_REVOKED);
	mja_stats_refused(&st, MJA_ERR_CLIENTID_MISMATCH);
	mja_stats_refused(&st, (mja_err)12345);   /* out of range: internal error */
	st.reauth_accepted = 2;
	st.reauth_refused = 3;
	st.disconnects_expired = 4;
	st.disconnects_revoked = 5;
	st.acl_denied[MJA_STATS_ACL_PUBLISH] = 6;
	st.acl_denied[MJA_STATS_ACL_SUBSCRIBE] = 9;
	st.acl_denied[MJA_STATS_ACL_RECEIVE] = UINT64_MAX;
	assert_int_equal(mja_stats_emit(&st, &x, collect, &s), 21);
	assert_string_equal(s.text,
			"connects/accepted=12\n"
			"connects/deferred=1\n"
			"connects/refused/internal-error=1\n"
			"connects/refused/bad-signature=2\n"
			"connects/refused/expired=1\n"
			"connects/refused/client-id-does-not-match-sub=1\n"
			"connects/refused/revoked=1\n"
			"reauth/accepted=2\n"
			"reauth/refused=3\n"
			"disconnects/expired=4\n"
			"disconnects/revoked=5\n"
			"acl/denied/publish=6\n"
			"acl/denied/subscribe=9\n"
			"acl/denied/receive=18446744073709551615\n"
			"cache/hits=7\n"
			"cache/misses=8\n"
			"keys/count=5\n"
			"jwks/1/last-success=1767225600\n"
			"jwks/1/failures=3\n"
			"jwks/1/keys=4\n"
			"jwks/2/failures=2\n");
}

static void test_reason_words(void **state)
{
	char buf[64];

	mja_stats_reason_word(MJA_ERR_UNKNOWN_KID, buf, sizeof(buf));
	assert_string_equal(buf, "unknown-kid");
	mja_stats_reason_word(MJA_ERR_REVOKED, buf, sizeof(buf));
	assert_string_equal(buf, "revoked");
	mja_stats_reason_word(MJA_ERR_ALG_NOT_ALLOWED, buf, 6);
	assert_string_equal(buf, "algor");
	/* every reason gives a word without blanks, '+', '#' or '/' (a topic
	 * level) */
	for (int e = 0; e < MJA_ERR__COUNT; e++) {
		mja_stats_reason_word((mja_err)e, buf, sizeof(buf));
		assert_true(buf[0] != '\0');
		assert_null(strpbrk(buf, " \t+#/"));
	}
}

static void test_topic_with_and_without_level(void **state)
{
	char buf[192];

	assert_true(mja_stats_topic(buf, sizeof(buf), NULL, "connects/accepted"));
	assert_string_equal(buf, "$SYS/broker/plugin/jwt-auth/connects/accepted");
	assert_true(mja_stats_topic(buf, sizeof(buf), "north", "keys/count"));
	assert_string_equal(buf, "$SYS/broker/plugin/jwt-auth/north/keys/count");
	assert_true(mja_stats_topic(buf, sizeof(buf), "8883", "cache/hits"));
	assert_string_equal(buf, "$SYS/broker/plugin/jwt-auth/8883/cache/hits");
	/* does not fit: nothing published under a cut topic */
	assert_false(mja_stats_topic(buf, 40, "north", "keys/count"));
	assert_false(mja_stats_topic(buf, 0, NULL, "keys/count"));
	assert_false(mja_stats_topic(buf, sizeof(buf), NULL, NULL));
	/* the longest name and the longest suffix fit the glue's buffer */
	{
		char name[MJA_STATS_LEVEL_MAX + 1];

		memset(name, 'n', MJA_STATS_LEVEL_MAX);
		name[MJA_STATS_LEVEL_MAX] = '\0';
		assert_true(mja_stats_topic(buf, sizeof(buf), name,
				"connects/refused/client-id-does-not-match-sub-and-then-some"));
	}
}

static void test_level_names(void **state)
{
	static const char *const good[] = {
		"north", "a", "south-2.plant_B", "8883", "$edge", "(x)~@!",
	};
	static const char *const bad[] = {
		"", "a/b", "a+", "#", "a b", "a\tb", "a\x01", "a\x7f", "caf\xc3\xa9",
		"/", "x\n",
	};
	char longest[MJA_STATS_LEVEL_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(mja_stats_level_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mja_stats_level_valid(bad[i], strlen(bad[i])));
	/* an embedded NUL (never from the broker: fail closed) */
	assert_false(mja_stats_level_valid("a\0b", 3));
	assert_false(mja_stats_level_valid(NULL, 0));
	memset(longest, 'x', sizeof(longest));
	assert_true(mja_stats_level_valid(longest, MJA_STATS_LEVEL_MAX));
	assert_false(mja_stats_level_valid(longest, MJA_STATS_LEVEL_MAX + 1));
}

/* With TICK: every interval from the start, TICK only asks. */
static void test_due_from_tick(void **state)
{
	mja_stats_clock c;

	mja_stats_clock_start(&c, 1000);
	assert_false(mja_stats_due_tick(&c, 10, 1000));
	assert_false(mja_stats_due_tick(&c, 10, 10999));
	assert_true(mja_stats_due_tick(&c, 10, 11000));
	assert_false(mja_stats_due_tick(&c, 10, 11001));
	assert_false(mja_stats_due_tick(&c, 10, 20999));
	assert_true(mja_stats_due_tick(&c, 10, 25000));    /* late: once, not twice */
	assert_false(mja_stats_due_tick(&c, 10, 25100));
	/* once a TICK came, the other events leave it to TICK */
	assert_false(mja_stats_due_event(&c, 10, 90000));
	assert_true(mja_stats_due_tick(&c, 10, 90000));
	/* stats_interval 0: never */
	mja_stats_clock_start(&c, 0);
	assert_false(mja_stats_due_tick(&c, 0, 0));
	assert_false(mja_stats_due_tick(&c, 0, 1000000000));
}

/* Without TICK (2.0.11 to 2.0.14 with per_listener_settings true): the
 * first event once due publishes; nothing comes without an event. */
static void test_due_from_events_without_tick(void **state)
{
	mja_stats_clock c;

	mja_stats_clock_start(&c, 5000);
	assert_false(mja_stats_due_event(&c, 1, 5000));
	assert_false(mja_stats_due_event(&c, 1, 5999));
	assert_true(mja_stats_due_event(&c, 1, 6000));
	assert_false(mja_stats_due_event(&c, 1, 6000));   /* a burst of events: one publish */
	assert_false(mja_stats_due_event(&c, 1, 6999));
	/* an idle minute, then one event: one publish */
	assert_true(mja_stats_due_event(&c, 1, 66000));
	assert_false(mja_stats_due_event(&c, 1, 66500));
	assert_true(mja_stats_due_event(&c, 1, 67000));
	/* stats_interval 0: never */
	mja_stats_clock_start(&c, 0);
	assert_false(mja_stats_due_event(&c, 0, 1000000000));
	/* a clock that went back (never from CLOCK_MONOTONIC): not due */
	mja_stats_clock_start(&c, 5000);
	assert_false(mja_stats_due_event(&c, 1, 0));
	/* the first TICK takes over: events no longer publish */
	mja_stats_clock_start(&c, 0);
	assert_true(mja_stats_due_event(&c, 1, 1000));
	assert_false(mja_stats_due_tick(&c, 1, 1500));
	assert_false(mja_stats_due_event(&c, 1, 3000));
	assert_true(mja_stats_due_tick(&c, 1, 3000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_emits_nothing),
		cmocka_unit_test(test_every_topic),
		cmocka_unit_test(test_reason_words),
		cmocka_unit_test(test_topic_with_and_without_level),
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_due_from_tick),
		cmocka_unit_test(test_due_from_events_without_tick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
