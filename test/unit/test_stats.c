/* test_stats.c - the counters' emit walk: topic names, reasons with blanks
 * as '-', only non-zero values, JWKS sources numbered from 1. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_emits_nothing),
		cmocka_unit_test(test_every_topic),
		cmocka_unit_test(test_reason_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
