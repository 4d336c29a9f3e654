/* jwks.h - verification keys fetched from an identity provider: JWKS URLs
 * (RFC 7517 5) and OpenID Connect Discovery 1.0.
 *
 * One mja_jwks per plugin instance holds the sources (each jwks_url, and the
 * oidc_issuer's discovered jwks_uri), a background thread that fetches them,
 * and, per source, the last key set fetched successfully.
 *
 * Threads. The fetcher thread does the network work and the parsing (with
 * the JWK code of key files, key.h) and leaves its result in the source's
 * mailbox under a mutex; it never touches the key set in use. The broker's
 * thread calls mja_jwks_poll() (on TICK and before each authentication),
 * which takes the results out of the mailboxes, logs, and says whether the
 * key set in use must be rebuilt (config.h: mja_config_jwks_update). Nothing
 * called on the broker's thread waits for the network: the mutex is only
 * held for a few pointer moves, never across a fetch.
 *
 * Fetch rules:
 *  - https:// only; http:// only to a loopback address (127.0.0.0/8, ::1,
 *    localhost). TLS 1.2 or later, the peer's chain and host name verified
 *    against jwks_ca_file or the system's CA store. jwks_ca_file is read
 *    like every file the plugin trusts (file.h: regular file, never blocks,
 *    refused when world-writable), at start and at SIGHUP only; the fetches
 *    use those bytes (libcurl's CAINFO_BLOB), never the path, so a file
 *    swapped for a FIFO cannot block the fetcher thread or the shutdown.
 *  - redirects: at most MJA_JWKS_MAX_REDIRECTS, to https:// only.
 *  - response: status 200, at most MJA_JWKS_MAX_BYTES, connect timeout
 *    MJA_JWKS_CONNECT_TIMEOUT s, whole transfer MJA_JWKS_TOTAL_TIMEOUT s, no
 *    content encoding asked for.
 *  - the body is a JWKS ({"keys":[...]}) of at most MJA_JWKS_MAX_KEYS keys,
 *    public keys only: a private key or an "oct" secret (which would be
 *    public to anyone who can read the URL) refuses the whole response; as
 *    does a key the key-file rules refuse (key.h) and a set in which no key
 *    can verify a signature. `jku`, `x5u` and other URLs in tokens are
 *    never fetched.
 *  - schedule: the next fetch of a source is jwks_refresh seconds after the
 *    last, or sooner as Cache-Control max-age says, not sooner than
 *    MJA_JWKS_MIN_MAX_AGE s; after a failure it is retried after
 *    min(jwks_refresh, MJA_JWKS_RETRY) s.
 *  - a token with an unknown kid asks for one refetch of every source:
 *    single flight, at most one per MJA_JWKS_KID_REFETCH s per source.
 *  - a failure changes nothing: the last good set stays until it is
 *    jwks_max_stale seconds older than its fetch; then its tokens are
 *    refused (MJA_ERR_KEYS_UNAVAILABLE).
 *
 * Logging goes through the caller's callback (the library does not log):
 * the first success of a source, each change of its key set (kids added
 * and removed), failures with URL and reason at most once per
 * MJA_JWKS_LOG_EVERY s per source, and the moment a set goes stale. No token
 * is ever passed to this module.
 */
#ifndef MJA_JWKS_H
#define MJA_JWKS_H

#include <stddef.h>
#include <stdint.h>
#include "mja/util/error.h"
#include "mja/token/key.h"
#include "mja/util/log.h"
#include "mja/session/stats.h"

#define MJA_JWKS_MAX_BYTES ((size_t)1 << 20)
#define MJA_JWKS_CA_FILE_MAX ((size_t)4 << 20)   /* jwks_ca_file (a CA bundle) */
#define MJA_JWKS_MAX_KEYS 100
#define MJA_JWKS_CONNECT_TIMEOUT 5
#define MJA_JWKS_TOTAL_TIMEOUT 10
#define MJA_JWKS_MAX_REDIRECTS 3
#define MJA_JWKS_MIN_MAX_AGE 30
#define MJA_JWKS_KID_REFETCH 30
#define MJA_JWKS_RETRY 30
#define MJA_JWKS_LOG_EVERY 60
#define MJA_JWKS_DEFAULT_REFRESH 300
#define MJA_JWKS_DEFAULT_MAX_STALE 86400
/* jwks_refresh bounds (seconds) */
#define MJA_JWKS_REFRESH_MIN 1
#define MJA_JWKS_REFRESH_MAX 604800

/* Per-source figures for the statistics ($SYS): struct mja_source_stats
 * (stats.h), one per source in configuration order (oidc_issuer's source
 * last). */

/* Log levels and the callback: log.h. */

/* ---- pure helpers (no network, no clock) ---- */

/* 1 iff url may be fetched: "https://HOST..." or "http://" with a loopback
 * host; else 0 and d says why. */
int mja_jwks_url_ok(const char *url, mja_diag *d);

/* max-age of a Cache-Control header value (case-insensitive directive
 * names, RFC 9111 5.2): its seconds; "no-cache" / "no-store" -> 0; none or
 * unparsable -> -1. */
int64_t mja_jwks_cache_max_age(const char *value, size_t len);

/* Seconds until the next fetch after a good one: refresh, or max_age if it
 * is given (>= 0) and shorter, but not less than MJA_JWKS_MIN_MAX_AGE (nor
 * more than refresh). */
int64_t mja_jwks_next_interval(int64_t refresh, int64_t max_age);

/* A fetched JWKS body -> a new key set (all rules above). origin (the URL)
 * names the source in d. */
mja_err mja_jwks_parse(const char *body, size_t len, const char *origin,
		mja_keyset **out, mja_diag *d);

/* An OpenID Connect discovery document: its "issuer" must equal issuer
 * exactly (OpenID Connect Discovery 1.0 4.3) and its "jwks_uri" must pass
 * mja_jwks_url_ok. *jwks_uri is malloc'd. */
mja_err mja_jwks_parse_discovery(const char *body, size_t len, const char *issuer,
		char **jwks_uri, mja_diag *d);

/* The discovery URL of an issuer: issuer without a trailing '/' followed
 * by "/.well-known/openid-configuration" (malloc'd; NULL on no memory). */
char *mja_jwks_discovery_url(const char *issuer);

/* ---- HTTP ---- */

typedef struct mja_http_response {
	char *body;            /* malloc'd, NUL-terminated */
	size_t len;
	int64_t max_age;       /* of the final response, -1 if none */
} mja_http_response;

/* GET url under the rules above; blocking (fetcher thread, the tool).
 * Status other than 200, TLS, timeouts, size: MJA_ERR_FILE with the
 * reason in d. abort_flag (may be NULL) is polled during the transfer: a
 * non-zero value ends it early. */
/* ca_pem/ca_len: the PEM certificates to trust (jwks_ca_file's bytes), or
 * NULL/0 for the system's CA store. */
typedef mja_err (*mja_http_get_fn)(void *ctx, const char *url, const char *ca_pem,
		size_t ca_len, const _Atomic int *abort_flag, mja_http_response *out,
		mja_diag *d);
mja_err mja_jwks_http_get(void *ctx, const char *url, const char *ca_pem, size_t ca_len,
		const _Atomic int *abort_flag, mja_http_response *out, mja_diag *d);
void mja_http_response_free(mja_http_response *r);

/* ---- the fetcher ---- */

typedef struct mja_jwks_opts {
	const char *const *urls;   /* jwks_url values */
	size_t n_urls;
	const char *oidc_issuer;   /* or NULL */
	const char *ca_pem;        /* jwks_ca_file's bytes, or NULL: the system's store */
	size_t ca_len;
	int64_t refresh;           /* jwks_refresh */
	int64_t max_stale;         /* jwks_max_stale */
	mja_http_get_fn get;       /* NULL: mja_jwks_http_get (tests pass a fake) */
	void *get_ctx;
} mja_jwks_opts;

typedef struct mja_jwks mja_jwks;

/* Strings and the CA bytes are copied. No thread yet, no fetch. */
mja_err mja_jwks_new(const mja_jwks_opts *o, mja_jwks **out, mja_diag *d);
/* Broker's thread (SIGHUP): trust ca_pem (copied; NULL: the system's store)
 * from the next fetch on; a fetch running keeps the bytes it started with.
 * On MJA_ERR_NOMEM the previous bytes stay. */
mja_err mja_jwks_set_ca(mja_jwks *j, const char *ca_pem, size_t ca_len);
/* Stops the thread (an ongoing transfer is aborted) and frees. NULL fine. */
void mja_jwks_free(mja_jwks *j);

/* Start the fetcher thread; every source is fetched at once. */
mja_err mja_jwks_start(mja_jwks *j, mja_diag *d);

/* Fetch every source now on the calling thread (the tool; tests), leaving
 * the results in the mailboxes for mja_jwks_poll. Only sources whose
 * refetch was asked for if only_wanted. Blocks for the network: never on
 * the broker's thread. */
void mja_jwks_fetch_now(mja_jwks *j, int only_wanted);

/* Ask for a refetch of every source at once (SIGHUP). */
void mja_jwks_refetch_all(mja_jwks *j);

/* A token named a kid no key has: ask for a refetch of each source whose
 * last such refetch was asked at least MJA_JWKS_KID_REFETCH s before now
 * and that has none pending or running. Returns how many were asked. */
size_t mja_jwks_unknown_kid(mja_jwks *j, int64_t now);

/* 1 iff a refetch asked for (unknown kid, SIGHUP) is still queued or
 * running, or its result has not been taken by mja_jwks_poll yet. For a
 * broker that can hold a CONNECT (Mosquitto 2.1 delayed basic auth): a
 * CONNECT refused for an unknown kid may be held while this is 1 (at most
 * MJA_JWKS_HOLD_MS), then decided again after the next poll. */
int mja_jwks_refetch_pending(const mja_jwks *j);
#define MJA_JWKS_HOLD_MS 5000

/* Broker's thread: take the fetch results, log (log may be NULL), retire
 * sets older than max_stale. Returns 1 iff the union of usable sets
 * changed (rebuild the key set in use with mja_jwks_add_keys). */
int mja_jwks_poll(mja_jwks *j, int64_t now, mja_log_fn log, void *ctx);

/* Add the keys of every usable (fetched, not stale) source to dst,
 * shared (mja_keyset_add_shared). */
mja_err mja_jwks_add_keys(const mja_jwks *j, mja_keyset *dst);

/* 1 iff some source has no usable set (never fetched, or stale). */
int mja_jwks_unavailable(const mja_jwks *j);

/* Fill up to max entries (out may be NULL when max is 0); returns the
 * number of sources. */
size_t mja_jwks_stats(const mja_jwks *j, struct mja_source_stats *out, size_t max);

/* Number of fetch attempts started (all sources), for tests. */
uint64_t mja_jwks_fetch_count(const mja_jwks *j);

#endif
