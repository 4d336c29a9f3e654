/* cache.h - a bounded cache of verified tokens (docs/design.md,
 * "Verified-token cache").
 *
 * Reconnect storms with RS/ES/EdDSA tokens would otherwise re-verify the
 * same signature again and again. The cache is keyed by SHA-256 of the whole
 * token: the token itself is never stored. An entry holds the verified
 * header and payload (shared jansson references, read-only) and the
 * algorithm. On a hit the signature is not checked again, but the claims
 * are: mja_claims_check() runs on every use with the caller's `now`, so an
 * expired token stays refused.
 *
 * An entry is only valid for the keyset and options it was verified with.
 * The cache remembers the (keyset, opts) pair it serves; passing a different
 * pair empties it first. Callers that rebuild a keyset at the same address
 * (reload) must call mja_cache_clear() as well.
 *
 * The cache also owns a header memo (mja_token_memo, token.h) used on every
 * miss, also with capacity 0: tokens whose header segment is byte-identical
 * to that of a verified token skip parsing it again (all header checks still
 * run). mja_cache_clear() and mja_cache_free() drop it too.
 *
 * Bounded: `capacity` entries in 4-way sets, least recently used evicted.
 * Not thread-safe (the broker is single-threaded).
 */
#ifndef MJA_CACHE_H
#define MJA_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "mja/token/token.h"

typedef struct mja_cache mja_cache;

typedef struct mja_cache_stats {
	uint64_t hits, misses, inserts, evictions;
	size_t capacity, used;
} mja_cache_stats;

/* capacity 0 gives a cache that never stores (every call verifies).
 * Capacity is rounded up to a multiple of 4. NULL on allocation failure. */
mja_cache *mja_cache_new(size_t capacity);
void mja_cache_free(mja_cache *c);          /* NULL is fine */
void mja_cache_clear(mja_cache *c);

/* Like mja_token_verify(), through the cache. c may be NULL (no caching).
 * Only tokens that mja_token_verify() accepted are stored; refused tokens
 * are never cached (a refusal is always recomputed).
 *
 * HMAC tokens (HS256/384/512) are verified without the cache, neither hashed
 * nor stored nor counted as hits or misses: checking an HMAC costs about what
 * hashing the token costs, so the cache pays only for the asymmetric
 * algorithms. A token is taken for an HMAC token when every algorithm the
 * key set and options allow is an HMAC, or when its header segment is
 * byte-identical to that of a verified token whose alg is one (the memo);
 * either way the verifier runs every check. */
mja_err mja_cache_verify(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out);

/* For a caller that has signatures checked elsewhere (a worker thread,
 * workers.h). Neither counts a hit or a miss.
 * mja_cache_verify_here: mja_cache_verify, except for a token whose check
 * would verify an RS, PS, ES or EdDSA signature here (not an HMAC token,
 * not in the store; its header's alg read from the memo, else decoded,
 * which decides a path only): that one is not checked, *elsewhere is 1
 * and MJA_OK is returned with *out NULL. Otherwise *elsewhere is 0 and
 * everything is as mja_cache_verify (a hit, an HMAC token, a refusal).
 * mja_cache_put: remember t, which mja_token_verify (or _ex) accepted as
 * tok with exactly ks and o (the caller's duty: a result checked with keys
 * since replaced must not be stored). Nothing without a store, nothing for
 * an HMAC token (as mja_cache_verify stores none).
 * mja_cache_miss: count the miss of a token that mja_cache_verify_here
 * sent elsewhere, once its check is over (whatever its answer), as
 * mja_cache_verify counts one; nothing without a store. */
mja_err mja_cache_verify_here(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out, int *elsewhere);
mja_err mja_cache_put(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, const mja_token *t);
void mja_cache_miss(mja_cache *c);

void mja_cache_get_stats(const mja_cache *c, mja_cache_stats *st);

#endif
