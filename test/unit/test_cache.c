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

/* The cache serves the asymmetric algorithms (cache.h): its tests sign
 * with two ES256 keys, made once. HMAC tokens bypass it (hmac_bypasses). */
enum { SECRET, OTHER };
static mja_key *keys[2];

static const unsigned char HS_SECRET[] = "cache-test-secret-0123456789abcdefghij";

static int make_keys(void **state)
{
	mja_diag d = {0};

	for (int i = 0; i < 2; i++)
		if (mja_key_generate(MJA_KTY_EC, 256, NULL, &keys[i], &d) != MJA_OK)
			return -1;
	return 0;
}

static int free_keys(void **state)
{
	for (int i = 0; i < 2; i++)
		mja_key_free(keys[i]);
	return 0;
}

/* A key set holding the public half of key `which`. */
static void add_public(mja_keyset *ks, int which)
{
	mja_diag d = {0};
	char *pem = NULL;

	assert_int_equal(mja_key_public_pem(keys[which], &pem), MJA_OK);
	assert_int_equal(mja_keyset_add_pem(ks, pem, strlen(pem), "test", &d), MJA_OK);
	free(pem);
}

static mja_keyset *keyset(int which)
{
	mja_keyset *ks = mja_keyset_new();

	assert_non_null(ks);
	add_public(ks, which);
	return ks;
}

static json_t *claims(const char *sub, int64_t exp, const char *aud)
{
	json_t *p = json_pack("{s:s,s:I}", "sub", sub, "exp", (json_int_t)exp);

	if (aud)
		json_object_set_new(p, "aud", json_string(aud));
	return p;
}

static char *mint(int which, const char *sub, int64_t exp, const char *aud)
{
	json_t *p = claims(sub, exp, aud);
	char *tok = NULL;

	assert_int_equal(mja_token_sign(keys[which], MJA_ALG_ES256, NULL, p, &tok), MJA_OK);
	json_decref(p);
	return tok;
}

static char *mint_hs(const char *sub, int64_t exp)
{
	mja_key *k = NULL;
	mja_diag d = {0};
	json_t *p = claims(sub, exp, NULL);
	char *tok = NULL;

	assert_int_equal(mja_key_from_secret(HS_SECRET, strlen((const char *)HS_SECRET), NULL, &k,
			&d), MJA_OK);
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

/* HMAC tokens are verified without the cache (cache.h): checking one costs
 * about what hashing it costs. Every check still runs: a forged or expired
 * HMAC token is refused every time. */
static void hmac_bypasses(void **state)
{
	mja_keyset *hs = mja_keyset_new(), *mixed = mja_keyset_new();
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(16);
	char *tok = mint_hs("dev-1", T0 + 600), *es = mint(SECRET, "dev-2", T0 + 600, NULL);
	char *forged = strdup(tok), sub[64];
	mja_diag d = {0};
	mja_cache_stats st;

	/* another signature: a full-6-bit character (the last one's low bits are fixed) */
	forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(mja_keyset_add_secret(hs, HS_SECRET, strlen((const char *)HS_SECRET), NULL,
			"test", &d), MJA_OK);
	/* HMAC keys only: never stored, never counted */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(verify(c, hs, &o, tok, T0, sub, sizeof(sub)), MJA_OK);
		assert_string_equal(sub, "dev-1");
		assert_int_equal(verify(c, hs, &o, forged, T0, NULL, 0), MJA_ERR_BAD_SIGNATURE);
	}
	assert_int_equal(verify(c, hs, &o, tok, T0 + 600 + 30, NULL, 0), MJA_ERR_EXPIRED);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.hits + st.misses + st.inserts + st.used, 0);

	/* HMAC and EC keys: the EC token is cached; the HMAC token is known by
	 * its header once one such token has verified (the header memo) */
	assert_int_equal(mja_keyset_add_secret(mixed, HS_SECRET, strlen((const char *)HS_SECRET),
			NULL, "test", &d), MJA_OK);
	add_public(mixed, SECRET);
	assert_int_equal(verify(c, mixed, &o, es, T0, NULL, 0), MJA_OK);
	assert_int_equal(verify(c, mixed, &o, es, T0, NULL, 0), MJA_OK);
	assert_int_equal(verify(c, mixed, &o, tok, T0, NULL, 0), MJA_OK);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(verify(c, mixed, &o, tok, T0, sub, sizeof(sub)), MJA_OK);
		assert_string_equal(sub, "dev-1");
		assert_int_equal(verify(c, mixed, &o, forged, T0, NULL, 0), MJA_ERR_BAD_SIGNATURE);
	}
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.used, 2);   /* the EC token, and the first HMAC one */
	free(tok);
	free(es);
	free(forged);
	mja_cache_free(c);
	mja_keyset_free(hs);
	mja_keyset_free(mixed);
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
 * hit, its claims still judged with the caller's time. Before the put,
 * verify_here sends the token elsewhere without counting or checking it. */
static void put_then_hit(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(8);
	char *tok = mint(SECRET, "dev-1", T0 + 60, NULL);
	mja_token *t = NULL;
	mja_cache_stats st;
	int elsewhere = -1;

	(void)state;
	assert_int_equal(mja_cache_verify_here(c, ks, &o, tok, strlen(tok), T0, &t, &elsewhere),
			MJA_OK);
	assert_int_equal(elsewhere, 1);
	assert_null(t);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.hits + st.misses + st.inserts, 0);
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), T0, &t), MJA_OK);
	assert_int_equal(mja_cache_put(c, ks, &o, tok, strlen(tok), t), MJA_OK);
	mja_token_free(t);
	t = NULL;
	/* held now: answered here, from the store */
	assert_int_equal(mja_cache_verify_here(c, ks, &o, tok, strlen(tok), T0, &t, &elsewhere),
			MJA_OK);
	assert_int_equal(elsewhere, 0);
	assert_non_null(t);
	assert_string_equal(t->sub, "dev-1");
	mja_token_free(t);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 0);
	assert_int_equal(st.inserts, 1);
	/* the check done elsewhere is counted by its caller */
	mja_cache_miss(c);
	mja_cache_get_stats(c, &st);
	assert_int_equal(st.misses, 1);
	/* expired by now: refused although stored */
	assert_int_equal(verify(c, ks, &o, tok, T0 + 60 + 30, NULL, 0), MJA_ERR_EXPIRED);
	/* another key set: not held any more, sent elsewhere again */
	{
		mja_keyset *other = keyset(OTHER);

		t = NULL;
		assert_int_equal(mja_cache_verify_here(c, other, &o, tok, strlen(tok), T0, &t,
				&elsewhere), MJA_OK);
		assert_int_equal(elsewhere, 1);
		assert_null(t);
		mja_keyset_free(other);
	}
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* Without a store put keeps nothing and an asymmetric token is still sent
 * elsewhere every time; a refused token is never sent elsewhere by itself
 * when its header names no allowed algorithm (refused here at once). */
static void put_without_store(void **state)
{
	mja_keyset *ks = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(0);
	char *tok = mint(SECRET, "dev-1", T0 + 60, NULL);
	mja_token *t = NULL;
	int elsewhere = -1;

	(void)state;
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), T0, &t), MJA_OK);
	assert_int_equal(mja_cache_put(c, ks, &o, tok, strlen(tok), t), MJA_OK);
	mja_token_free(t);
	t = NULL;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mja_cache_verify_here(c, ks, &o, tok, strlen(tok), T0, &t,
				&elsewhere), MJA_OK);
		assert_int_equal(elsewhere, 1);
		assert_null(t);
	}
	/* ES256 not allowed by the options: checked (and refused) here */
	o.algorithms = MJA_ALG_BIT(MJA_ALG_RS256);
	assert_int_equal(mja_cache_verify_here(c, ks, &o, tok, strlen(tok), T0, &t, &elsewhere),
			MJA_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(elsewhere, 0);
	free(tok);
	mja_cache_free(c);
	mja_keyset_free(ks);
}

/* HMAC tokens are never sent elsewhere, whatever the keys (HMAC only, or
 * HMAC and EC), and put stores none. */
static void hmac_never_elsewhere(void **state)
{
	mja_keyset *mixed = keyset(SECRET);
	mja_verify_opts o = default_opts();
	mja_cache *c = mja_cache_new(16);
	char *hs = mint_hs("dev-1", T0 + 600);
	mja_diag d = {0};
	mja_token *t = NULL;
	mja_cache_stats st;
	int elsewhere = -1;

	(void)state;
	assert_int_equal(mja_keyset_add_secret(mixed, HS_SECRET, strlen((const char *)HS_SECRET),
			NULL, "test", &d), MJA_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(mja_cache_verify_here(c, mixed, &o, hs, strlen(hs), T0, &t,
				&elsewhere), MJA_OK);
		assert_int_equal(elsewhere, 0);
		assert_non_null(t);
		if (i == 0) {
			/* put of an HMAC token: nothing stored */
			mja_cache_clear(c);
			assert_int_equal(mja_cache_put(c, mixed, &o, hs, strlen(hs), t), MJA_OK);
			mja_cache_get_stats(c, &st);
			assert_int_equal(st.used, 0);
		}
		mja_token_free(t);
		t = NULL;
	}
	free(hs);
	mja_cache_free(c);
	mja_keyset_free(mixed);
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
		cmocka_unit_test(hmac_bypasses),
		cmocka_unit_test(put_then_hit),
		cmocka_unit_test(put_without_store),
		cmocka_unit_test(hmac_never_elsewhere),
	};
	return cmocka_run_group_tests(tests, make_keys, free_keys);
}
