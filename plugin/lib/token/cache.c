/* cache.c - bounded cache of verified tokens, keyed by SHA-256 of the token
 * (asymmetric algorithms only: see cache.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mja/token/cache.h"
#include "mja/token/claims.h"

#define WAYS 4

struct entry {
	unsigned char hash[32];
	int used;
	uint64_t last_use;      /* LRU clock value */
	mja_alg alg;
	json_t *header;         /* owned reference */
	json_t *payload;        /* owned reference */
};

struct mja_cache {
	struct entry *e;
	size_t nsets;           /* capacity / WAYS */
	uint64_t clock;
	const mja_keyset *ks;   /* what the entries were verified with */
	const mja_verify_opts *opts;
	mja_cache_stats st;
	mja_token_memo memo;    /* parsed headers of verified tokens (token.h) */
	/* SHA-256 fetched once and a digest context reused for every token:
	 * an implicit fetch per call costs as much as hashing the token */
	EVP_MD *sha256;
	EVP_MD_CTX *mdctx;
};

mja_cache *mja_cache_new(size_t capacity)
{
	mja_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->nsets = (capacity + WAYS - 1) / WAYS;
	if (c->nsets) {
		if (c->nsets > SIZE_MAX / WAYS / sizeof(struct entry))
			goto fail;
		c->e = calloc(c->nsets * WAYS, sizeof(struct entry));
		c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		c->mdctx = EVP_MD_CTX_new();
		if (!c->e || !c->sha256 || !c->mdctx)
			goto fail;
	}
	c->st.capacity = c->nsets * WAYS;
	return c;
fail:
	mja_cache_free(c);
	return NULL;
}

static void entry_drop(struct entry *e)
{
	json_decref(e->header);
	json_decref(e->payload);
	memset(e, 0, sizeof(*e));
}

void mja_cache_clear(mja_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; c->e && i < c->nsets * WAYS; i++)
		if (c->e[i].used)
			entry_drop(&c->e[i]);
	mja_token_memo_clear(&c->memo);
	c->st.used = 0;
	c->ks = NULL;
	c->opts = NULL;
}

void mja_cache_free(mja_cache *c)
{
	if (!c)
		return;
	mja_cache_clear(c);
	EVP_MD_CTX_free(c->mdctx);
	EVP_MD_free(c->sha256);
	free(c->e);
	free(c);
}

void mja_cache_get_stats(const mja_cache *c, mja_cache_stats *st)
{
	if (!st)
		return;
	if (!c) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = c->st;
}

/* Build a token from a cached entry, re-checking the claims with `now`. */
static mja_err token_from_entry(const struct entry *e, const mja_verify_opts *o,
		int64_t now, mja_token **out)
{
	mja_claims_found found;
	mja_token *t;
	mja_err rc;

	/* Claims are time-dependent: check them on every use. */
	rc = mja_claims_check_found(e->payload, &o->claims, now, &found);
	if (rc != MJA_OK)
		return rc;
	t = calloc(1, sizeof(*t));
	if (!t)
		return MJA_ERR_NOMEM;
	t->alg = e->alg;
	t->header = json_incref(e->header);
	t->payload = json_incref(e->payload);
	t->sub = json_is_string(found.sub) ? json_string_value(found.sub) : NULL;
	t->has_exp = mja_claims_exp_value(found.exp, &t->exp);
	{
		const json_t *kid = json_object_get(t->header, "kid");

		t->kid = json_is_string(kid) ? json_string_value(kid) : NULL;
	}
	t->jti = found.jti;
	t->iat = found.iat;
	*out = t;
	return MJA_OK;
}

/* HMAC algorithms (RFC 7518 3.2): verifying one costs about what hashing
 * the token for the cache costs, so the cache would only add work. */
#define HMAC_ALGS (MJA_ALG_BIT(MJA_ALG_HS256) | MJA_ALG_BIT(MJA_ALG_HS384) | \
		MJA_ALG_BIT(MJA_ALG_HS512))

/* 1 iff tok is known to be an HMAC token or cannot be anything else: every
 * algorithm the keys and options allow is an HMAC, or its header segment is
 * byte-identical to that of a verified token whose alg is one (the memo).
 * The verifier still decides everything; this only picks the path. */
static int hmac_token(const mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len)
{
	mja_alg_set usable = mja_keyset_algs(ks) & (o->algorithms ? o->algorithms : MJA_ALG_SET_ALL);
	mja_alg alg;

	if (!(usable & ~HMAC_ALGS))
		return 1;
	return mja_token_memo_alg(&c->memo, tok, len, &alg) && (MJA_ALG_BIT(alg) & HMAC_ALGS);
}

mja_err mja_cache_verify(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out)
{
	unsigned char h[32];
	unsigned int hlen = 0;
	struct entry *set, *victim;
	size_t i, max;
	mja_err rc;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!c)
		return mja_token_verify(ks, o, tok, len, now, out);
	if (!ks || !o || (!tok && len))
		return MJA_ERR_INVAL;
	/* The size cap comes before anything, hashing included (docs/design.md,
	 * "Token rules" 1). */
	max = o->max_token_bytes ? o->max_token_bytes : MJA_DEFAULT_MAX_TOKEN_BYTES;
	if (len > max)
		return MJA_ERR_TOO_LONG;

	if (c->ks != ks || c->opts != o) {
		mja_cache_clear(c);
		c->ks = ks;
		c->opts = o;
	}
	/* not stored, not counted: no store, or an HMAC token */
	if (c->nsets == 0 || hmac_token(c, ks, o, tok, len))
		return mja_token_verify_ex(ks, o, tok, len, now, &c->memo, out);
	if (EVP_DigestInit_ex(c->mdctx, c->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(c->mdctx, tok, len) != 1 ||
	    EVP_DigestFinal_ex(c->mdctx, h, &hlen) != 1 || hlen != sizeof(h))
		return MJA_ERR_INTERNAL;

	/* The set index comes from the hash, which an attacker cannot steer
	 * toward collisions without breaking SHA-256. */
	memcpy(&i, h, sizeof(i));
	set = &c->e[(i % c->nsets) * WAYS];
	for (i = 0; i < WAYS; i++) {
		if (set[i].used && CRYPTO_memcmp(set[i].hash, h, sizeof(h)) == 0) {
			c->st.hits++;
			set[i].last_use = ++c->clock;
			return token_from_entry(&set[i], o, now, out);
		}
	}
	c->st.misses++;

	rc = mja_token_verify_ex(ks, o, tok, len, now, &c->memo, out);
	if (rc != MJA_OK)
		return rc;

	victim = &set[0];
	for (i = 0; i < WAYS; i++) {
		if (!set[i].used) {
			victim = &set[i];
			break;
		}
		if (set[i].last_use < victim->last_use)
			victim = &set[i];
	}
	if (victim->used) {
		entry_drop(victim);
		c->st.evictions++;
		c->st.used--;
	}
	memcpy(victim->hash, h, sizeof(h));
	victim->used = 1;
	victim->last_use = ++c->clock;
	victim->alg = (*out)->alg;
	victim->header = json_incref((*out)->header);
	victim->payload = json_incref((*out)->payload);
	c->st.inserts++;
	c->st.used++;
	return MJA_OK;
}
