/* stats.h - the plugin's counters, and the walk that publishes them.
 *
 * One mja_stats per plugin instance, incremented on the broker's thread
 * (plain uint64_t: no locks, no atomics, an increment costs what an add
 * costs). mja_stats_emit() walks the counters together with figures read
 * from elsewhere at emit time (cache hits and misses, key count, JWKS
 * sources) and calls an emit callback once per non-zero value, with the
 * topic suffix under $SYS/broker/plugin/jwt-auth/ and the value as
 * decimal text. The glue turns each call into a retained publish; tests
 * collect them. No Mosquitto header here.
 *
 * Topics (suffixes):
 *   connects/accepted, connects/deferred, connects/refused/REASON
 *   reauth/accepted, reauth/refused
 *   disconnects/expired, disconnects/revoked
 *   acl/denied/publish, acl/denied/subscribe, acl/denied/receive
 *   cache/hits, cache/misses, keys/count
 *   jwks/N/last-success, jwks/N/failures, jwks/N/keys   (N = 1, 2, ...)
 * REASON is the refusal's log word (mja_strerror) with blanks as '-':
 * connects/refused/bad-signature, connects/refused/revoked, ...
 * A topic appears once its value is non-zero; values are totals since the
 * instance started (the cache's since its last clear by reload).
 */
#ifndef MJA_STATS_H
#define MJA_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "mja/util/error.h"

/* The topic prefix (with stats_per_listener true the glue adds the
 * listener's port and a '/' where the broker tells it: Mosquitto 2.1). */
#define MJA_STATS_PREFIX "$SYS/broker/plugin/jwt-auth/"

/* Per JWKS source, filled by mja_jwks_stats() (jwks.h; one per source, in
 * configuration order, oidc_issuer's source last). */
struct mja_source_stats {
	int64_t last_success;   /* unix time of the last successful fetch, 0: never */
	uint64_t failures;      /* failed fetches since start */
	size_t keys;            /* keys of the set in use from this source (0 when stale) */
};

typedef enum mja_stats_acl {
	MJA_STATS_ACL_PUBLISH = 0,
	MJA_STATS_ACL_SUBSCRIBE,
	MJA_STATS_ACL_RECEIVE,
	MJA_STATS_ACL__COUNT
} mja_stats_acl;

typedef struct mja_stats {
	uint64_t connects_accepted;
	uint64_t connects_deferred;
	uint64_t connects_refused[MJA_ERR__COUNT];   /* by reason */
	uint64_t reauth_accepted;
	uint64_t reauth_refused;
	uint64_t disconnects_expired;
	uint64_t disconnects_revoked;
	uint64_t acl_denied[MJA_STATS_ACL__COUNT];
} mja_stats;

/* Figures that live elsewhere, read when emitting; all optional (zero /
 * NULL: not emitted). Borrowed for the call. */
typedef struct mja_stats_extra {
	uint64_t cache_hits;
	uint64_t cache_misses;
	size_t keys;
	const struct mja_source_stats *sources;
	size_t n_sources;
} mja_stats_extra;

/* Count a refused CONNECT with its reason (out-of-range reasons count as
 * MJA_ERR_INTERNAL: never a write outside the array). */
static inline void mja_stats_refused(mja_stats *s, mja_err why)
{
	if ((unsigned)why >= MJA_ERR__COUNT)
		why = MJA_ERR_INTERNAL;
	s->connects_refused[why]++;
}

/* suffix: NUL-terminated topic suffix, value: decimal text; both valid
 * only during the call. */
typedef void (*mja_stats_emit_fn)(const char *suffix, const char *value, void *arg);

/* Call fn for every non-zero figure, in the order of the list above.
 * extra may be NULL. Returns the number of calls. */
size_t mja_stats_emit(const mja_stats *s, const mja_stats_extra *extra,
		mja_stats_emit_fn fn, void *arg);

/* The topic word of a reason: mja_strerror(why) with blanks as '-'
 * (buf of size bytes, always terminated). */
void mja_stats_reason_word(mja_err why, char *buf, size_t size);

#endif
