/* cache.c - bounded cache of verified tokens, keyed by SHA-256 of the token. */
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
	mja_token *t;
	json_t *sub;
	mja_err rc;

	/* Claims are time-dependent: check them on every use. */
	rc = mja_claims_check(e->payload, &o->claims, now);
	if (rc != MJA_OK)
		return rc;
	t = calloc(1, sizeof(*t));
	if (!t)
		return MJA_ERR_NOMEM;
	t->alg = e->alg;
	t->header = json_incref(e->header);
	t->payload = json_incref(e->payload);
	sub = json_object_get(t->payload, "sub");
	t->sub = json_is_string(sub) ? json_string_value(sub) : NULL;
	t->has_exp = mja_claims_exp(t->payload, &t->exp);
	*out = t;
	return MJA_OK;
}

/* Without a store: verify, then hash only if the caller wants the hash. */
static mja_err verify_uncached(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out, unsigned char *hash)
{
	mja_err rc = c ? mja_token_verify_ex(ks, o, tok, len, now, &c->memo, out)
		       : mja_token_verify(ks, o, tok, len, now, out);

	if (rc == MJA_OK && hash && !EVP_Digest(tok, len, hash, NULL, EVP_sha256(), NULL)) {
		mja_token_free(*out);
		*out = NULL;
		return MJA_ERR_INTERNAL;
	}
	return rc;
}

mja_err mja_cache_verify(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out)
{
	return mja_cache_verify_hashed(c, ks, o, tok, len, now, out, NULL);
}

mja_err mja_cache_verify_hashed(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out,
		unsigned char hash[32])
{
	unsigned char h[32];
	unsigned int hlen = 0;
	struct entry *set, *victim;
	size_t i, max;
	mja_err rc;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!c || c->nsets == 0)
		return verify_uncached(c, ks, o, tok, len, now, out, hash);
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
			rc = token_from_entry(&set[i], o, now, out);
			if (rc == MJA_OK && hash)
				memcpy(hash, h, sizeof(h));
			return rc;
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
	if (hash)
		memcpy(hash, h, sizeof(h));
	return MJA_OK;
}

/* ---- a check done elsewhere (cache.h, workers.h) ---- */

/* The SHA-256 of tok into h, with the cache's digest context. */
static int hash_token(mja_cache *c, const char *tok, size_t len, unsigned char h[32])
{
	unsigned int hlen = 0;

	return EVP_DigestInit_ex(c->mdctx, c->sha256, NULL) == 1 &&
		EVP_DigestUpdate(c->mdctx, tok, len) == 1 &&
		EVP_DigestFinal_ex(c->mdctx, h, &hlen) == 1 && hlen == 32;
}

/* The set of hash h (as in mja_cache_verify_hashed). */
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

/* Entries are for (ks, o) only: another pair empties the cache. */
static void serve(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o)
{
	if (c->ks != ks || c->opts != o) {
		mja_cache_clear(c);
		c->ks = ks;
		c->opts = o;
	}
}

static size_t max_bytes(const mja_verify_opts *o)
{
	return o->max_token_bytes ? o->max_token_bytes : MJA_DEFAULT_MAX_TOKEN_BYTES;
}

int mja_cache_holds(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len)
{
	unsigned char h[32];

	if (!c || c->nsets == 0 || !ks || !o || !tok || len > max_bytes(o))
		return 0;
	serve(c, ks, o);
	return hash_token(c, tok, len, h) && find(set_of(c, h), h) != NULL;
}

mja_err mja_cache_put(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, const mja_token *t, unsigned char hash[32])
{
	unsigned char h[32];
	struct entry *set, *victim;

	if (!ks || !o || !t || (!tok && len))
		return MJA_ERR_INVAL;
	if (!c || c->nsets == 0) {
		if (hash && !EVP_Digest(tok, len, hash, NULL, EVP_sha256(), NULL))
			return MJA_ERR_INTERNAL;
		return MJA_OK;
	}
	serve(c, ks, o);
	if (!hash_token(c, tok, len, h))
		return MJA_ERR_INTERNAL;
	set = set_of(c, h);
	if (!find(set, h)) {
		/* least recently used way, as in mja_cache_verify_hashed */
		victim = &set[0];
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
		memcpy(victim->hash, h, sizeof(h));
		victim->used = 1;
		victim->last_use = ++c->clock;
		victim->alg = t->alg;
		victim->header = json_incref(t->header);
		victim->payload = json_incref(t->payload);
		c->st.inserts++;
		c->st.used++;
	}
	if (hash)
		memcpy(hash, h, sizeof(h));
	return MJA_OK;
}

void mja_cache_miss(mja_cache *c)
{
	if (c && c->nsets)
		c->st.misses++;
}
