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

/* The topic prefix. A listener level may follow it (mja_stats_topic): the
 * stats_listener name, else with stats_per_listener true the listener's
 * port where the broker tells it (Mosquitto 2.1). */
#define MJA_STATS_PREFIX "$SYS/broker/plugin/jwt-auth/"

/* The longest listener level, in bytes (stats_listener). */
#define MJA_STATS_LEVEL_MAX 64

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

/* Whether p[0..len) may be a listener level: 1 to MJA_STATS_LEVEL_MAX
 * bytes of printable ASCII (0x21..0x7E) other than '/', '+' and '#' (one
 * topic level, no wildcard, nothing a shell or a log line mangles). */
int mja_stats_level_valid(const char *p, size_t len);

/* The full topic of suffix into buf: MJA_STATS_PREFIX, then level and '/'
 * when level is not NULL, then suffix. 0 (buf then unusable) when it does
 * not fit or suffix is NULL, else 1. */
int mja_stats_topic(char *buf, size_t size, const char *level, const char *suffix);

/* When the counters go out (README "Numbers to watch"): every stats_interval
 * seconds of the plugin's monotonic clock, asked on TICK; where the broker
 * sends no TICK (Mosquitto 2.0.11 to 2.0.14 with per_listener_settings
 * true) asked by every other event instead, until a TICK comes. One per
 * instance, on the broker's thread. Asking is a flag test and a compare
 * (it is on the CONNECT path). */
typedef struct mja_stats_clock {
	int64_t last_ms;   /* monotonic ms of the last publish, or of the start */
	int tick_seen;     /* a TICK came: from now on only TICK asks */
} mja_stats_clock;

static inline void mja_stats_clock_start(mja_stats_clock *c, int64_t now_ms)
{
	c->last_ms = now_ms;
	c->tick_seen = 0;
}

/* Whether interval_s seconds (0: never) have passed since the last publish;
 * if so the clock restarts at now_ms and the caller publishes. */
static inline int mja_stats_due(mja_stats_clock *c, int64_t interval_s, int64_t now_ms)
{
	if (interval_s <= 0 || now_ms - c->last_ms < interval_s * 1000)
		return 0;
	c->last_ms = now_ms;
	return 1;
}

/* Asked from TICK. */
static inline int mja_stats_due_tick(mja_stats_clock *c, int64_t interval_s, int64_t now_ms)
{
	c->tick_seen = 1;
	return mja_stats_due(c, interval_s, now_ms);
}

/* Asked from any other event: due only while no TICK has come. */
static inline int mja_stats_due_event(mja_stats_clock *c, int64_t interval_s, int64_t now_ms)
{
	return !c->tick_seen && mja_stats_due(c, interval_s, now_ms);
}

#endif
