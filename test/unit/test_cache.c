/* test_cache.c - the verified-token cache (docs/design.md, "Verified-token cache").
 *
 * The cache may skip signature verification for a token it has seen, so
 * the attacker's questions are: can a refused token become accepted, can an
 * expired token ride on an earlier success, can a token verified under one
 * key set or policy be accepted under another? Each test asks one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mja/token/cache.h"
#include "mja/token/key.h"
#include "mja/token/token.h"

#define T0 ((int64_t)1700000000)

static const unsigned char SECRET[] = "cache-test-secret-0123456789abcdefghij";
static const unsigned char OTHER[] = "another-secret-0123456789abcdefghijklmn";

static mja_keyset *keyset(const unsigned char *s)
{
	mja_keyset *ks = mja_keyset_new();
	mja_diag d = {0};

	assert_non_null(ks);
	assert_int_equal(mja_keyset_add_secret(ks, s, strlen((const char *)s), NULL, "test", &d), MJA_OK);
	return ks;
}

static char *mint(const unsigned char *s, const char *sub, int64_t exp, const char *aud)
{
	mja_key *k = NULL;
	mja_diag d = {0};
	json_t *p = json_pack("{s:s,s:I}", "sub", sub, "exp", (json_int_t)exp);
	char *tok = NULL;

	if (aud)
		json_object_set_new(p, "aud", json_string(aud));
	assert_int_equal(mja_key_from_secret(s, strlen((const char *)s), NULL, &k, &d), MJA_OK);
	assert_int_equal(mja_token_sign(k, MJA_ALG_HS256, NULL, p, &tok), MJA_OK);
	mja_key_free(k);
	json_decref(p);
	return tok;
}

static mja_verify_opts default_opts(void)
{
	mja_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.claims.leeway = 30;
	return o;
}

static mja_err verify(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, int64_t now, char *sub_out, size_t sub_len)
{
	mja_token *t = NULL;
	mja_err rc = mja_cache_verify(c, ks, o, tok, strlen(tok), now, &t);

	if (rc == MJA_OK) {
		assert_non_null(t);
		assert_non_null(t->sub);
		if (sub_out)
			snprintf(sub_out, sub_len, "%s", t->sub);
	} else {
		assert_null(t);
	}
	mja_token_free(t);
	return rc;
}

static void hit_after_miss(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(16);
	char *tok = mint(SECRET, "dev-1", T0 + 600, NULL);
	char sub[64];
	mja_cache_stats st;

	assert_int_equal(verify(c, ks, &o, tok, T0, sub, sizeof(sub)), MJA_OK);
	assert_string_equal(sub, "dev-1");
	assert_int_equal(verify(c, ks, &o, tok, T0 + 1, sub, sizeof(sub)), MJA_OK);
	assert_string_equal(sub, "dev-1");
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.used, 1);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* A cached token must not outlive its exp: the claims are checked on every hit. */
static void expired_after_cached(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(16);
	char *tok = mint(SECRET, "dev-1", T0 + 10, NULL);
	mja_cache_stats st;

	assert_int_equal(verify(c, ks, &o, tok, T0, NULL, 0), MJA_OK);
	/* exp + leeway == now: expired (RFC 7519 4.1.4) */
	assert_int_equal(verify(c, ks, &o, tok, T0 + 10 + 30, NULL, 0), MJA_ERR_EXPIRED);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* A refused token is never stored: asking twice refuses twice. */
static void refused_not_cached(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(16);
	char *forged = mint(OTHER, "dev-1", T0 + 600, NULL);
	mja_cache_stats st;

	assert_int_equal(verify(c, ks, &o, forged, T0, NULL, 0), MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(verify(c, ks, &o, forged, T0, NULL, 0), MJA_ERR_BAD_SIGNATURE);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.inserts, 0);
	assert_int_equal(st.hits, 0);
	free(forged);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* A token verified under one key set is re-verified under another (key
 * rotation): the cache must not vouch for it. */
static void other_keyset_reverifies(void **state)
{
	mja_keyset *ks1 = keyset(SECRET), *ks2 = keyset(OTHER);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(16);
	char *tok = mint(SECRET, "dev-1", T0 + 600, NULL);

	assert_int_equal(verify(c, ks1, &o, tok, T0, NULL, 0), MJA_OK);
	assert_int_equal(verify(c, ks2, &o, tok, T0, NULL, 0), MJA_ERR_BAD_SIGNATURE);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks1);
	mja_keyset_free(ks2);
}

/* New options (e.g. an audience added) are applied to a cached token. */
static void other_opts_reverifies(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o1 = default_opts(), o2 = default_opts();
	static const char *aud[] = { "mqtt.example.com" };
	mja_cache *c = mja_cache_new(16);
	char *tok = mint(SECRET, "dev-1", T0 + 600, "elsewhere.example.com");

	o2.claims.audiences = aud;
	o2.claims.n_audiences = 1;
	assert_int_equal(verify(c, ks, &o1, tok, T0, NULL, 0), MJA_OK);
	assert_int_equal(verify(c, ks, &o2, tok, T0, NULL, 0), MJA_ERR_AUDIENCE);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* The cache is bounded, and every token still gets the right answer. */
static void bounded(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(8);
	mja_cache_stats st;
	char sub[64], want[64];
	int i, round;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < 100; i++) {
			char *tok;

			snprintf(want, sizeof(want), "dev-%d", i);
			tok = mint(SECRET, want, T0 + 600, NULL);
			assert_int_equal(verify(c, ks, &o, tok, T0, sub, sizeof(sub)), MJA_OK);
			assert_string_equal(sub, want);
			free(tok);
		}
	}
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.capacity, 8);
	assert_true(st.used <= 8);
	assert_true(st.evictions >= 100);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

static void capacity_zero_never_stores(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(0);
	char *tok = mint(SECRET, "dev-1", T0 + 600, NULL);
	mja_cache_stats st;

	assert_int_equal(verify(c, ks, &o, tok, T0, NULL, 0), MJA_OK);
	assert_int_equal(verify(c, ks, &o, tok, T0, NULL, 0), MJA_OK);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.used, 0);
	assert_int_equal(st.hits, 0);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* The size cap applies before the cache is consulted ("Token rules" 1). */
static void size_cap_first(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(16);
	char *tok = mint(SECRET, "dev-1", T0 + 600, NULL);

	assert_int_equal(verify(c, ks, &o, tok, T0, NULL, 0), MJA_OK);
	o.max_token_bytes = strlen(tok) - 1;
	assert_int_equal(verify(c, ks, &o, tok, T0, NULL, 0), MJA_ERR_TOO_LONG);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* A token checked elsewhere (a worker thread) and put: the next check is a
 * hit, its claims still judged with the caller's time; holds() says so
 * beforehand without counting. */
static void put_then_hit(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(8);
	char *tok = mint(SECRET, "dev-1", T0 + 60, NULL);
	unsigned char h1[32], h2[32];
	mja_token *t = NULL;
	mja_cache_stats st;

	(void)state;
	assert_int_equal(mja_cache_holds(c, ks, &o, tok, strlen(tok)), 0);
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), T0, &t), MJA_OK);
	assert_int_equal(mja_cache_put(c, ks, &o, tok, strlen(tok), t, h1), MJA_OK);
	mja_token_free(t);
	assert_int_equal(mja_cache_holds(c, ks, &o, tok, strlen(tok)), 1);
	t = NULL;
	assert_int_equal(mja_cache_verify_hashed(c, ks, &o, tok, strlen(tok), T0, &t, h2), MJA_OK);
	mja_token_free(t);
	assert_memory_equal(h1, h2, 32);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 0);
	/* the check done elsewhere is counted by its caller */
	mja_cache_miss(c);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.misses, 1);
	/* expired by now: refused although stored */
	assert_int_equal(verify(c, ks, &o, tok, T0 + 60 + 30, NULL, 0), MJA_ERR_EXPIRED);
	/* another key set: not held any more */
	{
		mja_keyset *other = keyset(OTHER);

		assert_int_equal(mja_cache_holds(c, other, &o, tok, strlen(tok)), 0);
		mja_keyset_free(other);
	}
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* Without a store put only hashes; holds() is always 0. */
static void put_without_store_hashes(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(0);
	char *tok = mint(SECRET, "dev-1", T0 + 60, NULL);
	unsigned char h1[32], h2[32];
	mja_token *t = NULL;

	(void)state;
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), T0, &t), MJA_OK);
	assert_int_equal(mja_cache_put(c, ks, &o, tok, strlen(tok), t, h1), MJA_OK);
	assert_int_equal(mja_cache_holds(c, ks, &o, tok, strlen(tok)), 0);
	mja_token_free(t);
	t = NULL;
	assert_int_equal(mja_cache_verify_hashed(c, ks, &o, tok, strlen(tok), T0, &t, h2), MJA_OK);
	mja_token_free(t);
	assert_memory_equal(h1, h2, 32);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hit_after_miss),
		cmocka_unit_test(expired_after_cached),
		cmocka_unit_test(refused_not_cached),
		cmocka_unit_test(other_keyset_reverifies),
		cmocka_unit_test(other_opts_reverifies),
		cmocka_unit_test(bounded),
		cmocka_unit_test(capacity_zero_never_stores),
		cmocka_unit_test(size_cap_first),
		cmocka_unit_test(put_then_hit),
		cmocka_unit_test(put_without_store_hashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
