/* cache.c - bounded cache of verified tokens, keyed by SHA-256 of the token
 * (asymmetric algorithms only: see cache.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mja/token/b64url.h"
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

/* The algorithms the keys and options allow. */
static mja_alg_set usable_algs(const mja_keyset *ks, const mja_verify_opts *o)
{
	return mja_keyset_algs(ks) & (o->algorithms ? o->algorithms : MJA_ALG_SET_ALL);
}

/* 1 iff tok is known to be an HMAC token or cannot be anything else: every
 * algorithm the keys and options allow is an HMAC, or its header segment is
 * byte-identical to that of a verified token whose alg is one (the memo).
 * The verifier still decides everything; this only picks the path. */
static int hmac_token(const mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len)
{
	mja_alg alg;

	if (!(usable_algs(ks, o) & ~HMAC_ALGS))
		return 1;
	return mja_token_memo_alg(&c->memo, tok, len, &alg) && (MJA_ALG_BIT(alg) & HMAC_ALGS);
}

/* 1 iff the header of tok (not an HMAC token by hmac_token) names an
 * allowed algorithm other than an HMAC: from the memo, else the first
 * segment decoded and parsed. Picks a path only (mja_cache_verify_here):
 * whoever checks the token judges its header again. */
static int asymmetric_token(const mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len)
{
	unsigned char buf[MJA_TOKEN_MEMO_MAX_SEGMENT];
	const char *dot = memchr(tok, '.', len);
	size_t n = 0;
	json_t *h, *a;
	mja_alg alg;
	int known;

	known = mja_token_memo_alg(&c->memo, tok, len, &alg);
	if (!known) {
		if (!dot || mja_b64url_decoded_max((size_t)(dot - tok)) > sizeof(buf) ||
		    mja_b64url_decode(tok, (size_t)(dot - tok), buf, &n) != MJA_OK)
			return 0;
		h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
		a = json_object_get(h, "alg");
		known = json_is_string(a) &&
			mja_alg_from_name(json_string_value(a), json_string_length(a), &alg) == MJA_OK;
		json_decref(h);
	}
	return known && !(MJA_ALG_BIT(alg) & HMAC_ALGS) && (usable_algs(ks, o) & MJA_ALG_BIT(alg));
}

/* Entries are for (ks, o) only: another pair empties the cache. */
static void serve(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o)
{
	if (c->ks != ks || c->opts != o) {
		mja_cache_clear(c);
		c->ks = ks;
		c->opts = o;
	}
}

/* The SHA-256 of tok into h, with the cache's digest context. */
static int hash_token(mja_cache *c, const char *tok, size_t len, unsigned char h[32])
{
	unsigned int hlen = 0;

	return EVP_DigestInit_ex(c->mdctx, c->sha256, NULL) == 1 &&
		EVP_DigestUpdate(c->mdctx, tok, len) == 1 &&
		EVP_DigestFinal_ex(c->mdctx, h, &hlen) == 1 && hlen == 32;
}

/* The set of hash h. Its index comes from the hash, which an attacker
 * cannot steer toward collisions without breaking SHA-256. */
static struct entry *set_of(mja_cache *c, const unsigned char h[32])
{
	size_t i;

	memcpy(&i, h, sizeof(i));
	return &c->e[(i % c->nsets) * WAYS];
}

static struct entry *find(struct entry *set, const unsigned char h[32])
{
	for (size_t i = 0; i < WAYS; i++)
		if (set[i].used && CRYPTO_memcmp(set[i].hash, h, 32) == 0)
			return &set[i];
	return NULL;
}

/* Store t under hash h in its set, the least recently used way evicted. */
static void insert(mja_cache *c, struct entry *set, const unsigned char h[32],
		const mja_token *t)
{
	struct entry *victim = &set[0];

	for (size_t i = 0; i < WAYS; i++) {
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
	memcpy(victim->hash, h, 32);
	victim->used = 1;
	victim->last_use = ++c->clock;
	victim->alg = t->alg;
	victim->header = json_incref(t->header);
	victim->payload = json_incref(t->payload);
	c->st.inserts++;
	c->st.used++;
}

static size_t max_bytes(const mja_verify_opts *o)
{
	return o->max_token_bytes ? o->max_token_bytes : MJA_DEFAULT_MAX_TOKEN_BYTES;
}

/* mja_cache_verify, and mja_cache_verify_here with elsewhere non-NULL. */
static mja_err verify(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out, int *elsewhere)
{
	unsigned char h[32];
	struct entry *set, *hit;
	mja_err rc;

	if (elsewhere)
		*elsewhere = 0;
	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!c)
		return mja_token_verify(ks, o, tok, len, now, out);
	if (!ks || !o || (!tok && len))
		return MJA_ERR_INVAL;
	/* The size cap comes before anything, hashing included (docs/design.md,
	 * "Token rules" 1). */
	if (len > max_bytes(o))
		return MJA_ERR_TOO_LONG;
	serve(c, ks, o);
	/* not stored, not counted, never sent elsewhere: an HMAC token */
	if (hmac_token(c, ks, o, tok, len))
		return mja_token_verify_ex(ks, o, tok, len, now, &c->memo, out);
	if (c->nsets == 0) {   /* no store */
		if (elsewhere && asymmetric_token(c, ks, o, tok, len)) {
			*elsewhere = 1;
			return MJA_OK;
		}
		return mja_token_verify_ex(ks, o, tok, len, now, &c->memo, out);
	}
	if (!hash_token(c, tok, len, h))
		return MJA_ERR_INTERNAL;
	set = set_of(c, h);
	hit = find(set, h);
	if (hit) {
		c->st.hits++;
		hit->last_use = ++c->clock;
		return token_from_entry(hit, o, now, out);
	}
	if (elsewhere && asymmetric_token(c, ks, o, tok, len)) {
		*elsewhere = 1;
		return MJA_OK;
	}
	c->st.misses++;
	rc = mja_token_verify_ex(ks, o, tok, len, now, &c->memo, out);
	if (rc == MJA_OK)
		insert(c, set, h, *out);
	return rc;
}

mja_err mja_cache_verify(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out)
{
	return verify(c, ks, o, tok, len, now, out, NULL);
}

/* ---- a check done elsewhere (cache.h, workers.h) ---- */

mja_err mja_cache_verify_here(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out, int *elsewhere)
{
	int dummy;

	return verify(c, ks, o, tok, len, now, out, elsewhere ? elsewhere : &dummy);
}

mja_err mja_cache_put(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, const mja_token *t)
{
	unsigned char h[32];
	struct entry *set;

	if (!ks || !o || !t || (!tok && len))
		return MJA_ERR_INVAL;
	if (!c || c->nsets == 0 || (MJA_ALG_BIT(t->alg) & HMAC_ALGS) || len > max_bytes(o))
		return MJA_OK;
	serve(c, ks, o);
	if (!hash_token(c, tok, len, h))
		return MJA_ERR_INTERNAL;
	set = set_of(c, h);
	if (!find(set, h))
		insert(c, set, h, t);
	return MJA_OK;
}

void mja_cache_miss(mja_cache *c)
{
	if (c && c->nsets)
		c->st.misses++;
}
