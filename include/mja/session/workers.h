/* workers.h - signature checks on worker threads (option verify_threads;
 * docs/design.md, "Signature checks on worker threads").
 *
 * On Mosquitto 2.1 a CONNECT whose token names an asymmetric algorithm and
 * misses the verified-token cache is held (delayed basic authentication,
 * session.h "Held CONNECTs"); its token goes to this pool, a worker runs
 * the pure verification pipeline (token.h mja_token_verify_ex: shape,
 * header, key, signature, payload, claims) and the result comes back to the
 * broker's thread, which decides the CONNECT there with every other rule
 * (auth.h mja_auth_connect_verified) on the next TICK.
 *
 * What runs where:
 *  - broker's thread: every call below. The session, the client registry,
 *    the cache, the JWKS state, the revocation list and mja_auth_detail are
 *    only ever touched there.
 *  - worker threads: mja_token_verify_ex on a copy of the token, with the
 *    key snapshot the job was given and no header memo. Nothing else. That
 *    call reads the keys (shared OpenSSL objects: each check duplicates the
 *    key's prepared context, EVP_PKEY_CTX_dup, and works on the copy) and
 *    makes new jansson values that no other thread holds; the token is
 *    handed over under the pool's lock and the worker keeps no reference
 *    (jansson reads a value's reference count without atomics, so no value
 *    is ever shared between two threads at once: hence no memo, whose
 *    header objects the tokens would share). mja_auth_detail is
 *    thread-local and not used by it.
 *
 * Ownership:
 *  - the pool owns its threads, its queue and every job in it; a job owns
 *    a copy of the token (scrubbed before it is freed) and, once done, its
 *    result until mja_workers_collect hands the result over.
 *  - keys: the pool never reads the caller's key set. mja_workers_set_keys
 *    takes a snapshot (a key set sharing the caller's keys, key.h
 *    mja_keyset_add_shared, and a copy of the verifier options) and numbers
 *    it (its generation). A job holds the snapshot current when it was
 *    submitted; a snapshot is freed on the broker's thread (in set_keys,
 *    collect or free) once no job holds it, so the keys' reference counts
 *    are only ever changed on the broker's thread. A result says which
 *    generation it was checked with: the caller re-submits (or decides at
 *    once) a job whose keys changed since (a reload, a new JWKS set).
 *    The verifier options' claim rules point into the caller's
 *    configuration, which must outlive the pool.
 *  - a collected result (mja_work_result) is the caller's: its token is
 *    freed with mja_work_result_clear.
 *
 * No clock is read for a decision: each job carries the caller's `now` for
 * the claims (mja_workers_wait_any has a timeout, nothing more). Shutdown (mja_workers_free): queued jobs are dropped, running
 * ones finish, the threads are joined, every job, result and snapshot is
 * freed.
 */
#ifndef MJA_WORKERS_H
#define MJA_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "mja/token/key.h"
#include "mja/token/token.h"
#include "mja/util/error.h"

/* At most this many threads (the option's limit). */
#define MJA_WORKERS_MAX 64
/* The default verify_threads: the cores less one, at most this many. */
#define MJA_WORKERS_DEFAULT_MAX 4

typedef struct mja_workers mja_workers;   /* opaque */

typedef struct mja_work_result {
	uint64_t id;          /* mja_workers_submit's */
	uint64_t keys_gen;    /* the key snapshot it was checked with */
	mja_err err;          /* mja_token_verify_ex's answer */
	mja_token *token;     /* on MJA_OK: the verified token, the receiver's */
} mja_work_result;

/* The default thread count for a machine with `cores` cores: cores - 1,
 * at most MJA_WORKERS_DEFAULT_MAX, 0 for a single core (or an unknown
 * count, cores < 1). */
unsigned mja_workers_default_threads(long cores);

/* Start n threads (1..MJA_WORKERS_MAX). On error *out is NULL and d says
 * why (no thread is left running). */
mja_err mja_workers_new(unsigned n, mja_workers **out, mja_diag *d);

/* Stop and free (see above). NULL is fine. */
void mja_workers_free(mja_workers *w);

/* Take a snapshot of ks and o for the jobs submitted from now on; returns
 * MJA_OK or MJA_ERR_NOMEM (then the previous snapshot stays current). */
mja_err mja_workers_set_keys(mja_workers *w, const mja_keyset *ks, const mja_verify_opts *o);

/* The generation of the current snapshot (0: none yet; set_keys makes
 * 1, 2, ...). */
uint64_t mja_workers_keys_gen(const mja_workers *w);

/* Queue tok[0..len) (copied) for a check at `now` (wall clock, seconds)
 * with the current snapshot. *id: its number (never 0). MJA_ERR_INVAL
 * without a snapshot, MJA_ERR_NOMEM. */
mja_err mja_workers_submit(mja_workers *w, const char *tok, size_t len, int64_t now,
		uint64_t *id);

/* Forget job id (its client went): a queued job is dropped, a running
 * one's result is thrown away when it ends. Unknown ids are ignored. */
void mja_workers_cancel(mja_workers *w, uint64_t id);

/* Hand over up to max finished results, oldest first; returns how many.
 * Frees snapshots no job holds any more. */
size_t mja_workers_collect(mja_workers *w, mja_work_result *out, size_t max);

/* Jobs submitted and not yet collected or cancelled. */
size_t mja_workers_pending(const mja_workers *w);

/* Block until every job submitted so far has finished (collectable or
 * thrown away). For tests and benchmarks; never on the broker's thread. */
void mja_workers_wait(mja_workers *w);

/* Block until a result is ready to collect, no job is queued or running,
 * or max_us microseconds have passed; 1 if a result is ready. The broker's
 * thread uses it on TICK when checks are pending and none has ended, so
 * that it completes them on this pass (a broker built with websockets
 * wakes at most every 100 ms otherwise, docs/design.md). Only this call
 * reads a clock (the monotonic one, for its timeout). */
int mja_workers_wait_any(mja_workers *w, long max_us);

void mja_work_result_clear(mja_work_result *r);   /* frees the token */

#endif
