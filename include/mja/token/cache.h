/* cache.h - a bounded cache of verified tokens (docs/design.md,
 * "Verified-token cache").
 *
 * Reconnect storms with RS/ES tokens would otherwise re-verify the same
 * signature again and again. The cache is keyed by SHA-256 of the whole
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
 * are never cached (a refusal is always recomputed). */
mja_err mja_cache_verify(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out);

/* The same, and on MJA_OK also the SHA-256 of the token in hash[32] (the
 * cache's own key, so a caller that needs the hash does not compute it a
 * second time). hash may be NULL. */
mja_err mja_cache_verify_hashed(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out,
		unsigned char hash[32]);

/* For a check done elsewhere (a worker thread, workers.h). Counts no hit
 * or miss.
 * mja_cache_holds: 1 iff tok is stored for (ks, o): a check through
 * mja_cache_verify would skip its signature. 0 without a store or for a
 * token over max_token_bytes.
 * mja_cache_put: remember t, which mja_token_verify (or _ex) accepted as
 * tok with exactly ks and o (the caller's duty: a result checked with keys
 * since replaced must not be stored), and give the token's SHA-256 in hash
 * (may be NULL), also without a store. */
int mja_cache_holds(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len);
/* Count a miss for a token that mja_cache_holds did not hold and that was
 * checked elsewhere (whatever the check's answer), as mja_cache_verify
 * counts one; nothing without a store. */
void mja_cache_miss(mja_cache *c);
mja_err mja_cache_put(mja_cache *c, const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, const mja_token *t, unsigned char hash[32]);

void mja_cache_get_stats(const mja_cache *c, mja_cache_stats *st);

#endif
