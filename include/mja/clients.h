/* clients.h - the token clients of one plugin instance, and when they expire.
 *
 * Keyed by the broker's client pointer (an opaque const void *, never
 * dereferenced). Each entry owns its principal (auth.h) and copies of the
 * client id and username taken when it was put. Expiring entries sit in a
 * binary min-heap ordered by exp (index back-pointers, so removal from the
 * middle is O(log n)); the tick only looks at the top, never at every
 * client (issue 6).
 *
 * Entry states:
 *  - live: connected and authenticated; scheduled if its principal has exp.
 *  - kicked: its disconnect was started (expiry, or a refused re-check /
 *    re-authentication): taken off the schedule, still denied everything by
 *    the ACL, kept until DISCONNECT or, if none comes (the kick of an
 *    offline session fires none), swept at gone_until. will_ok says whether
 *    its will may still be published (an expiry kick: yes, spec 4).
 *  - gone: the broker reported DISCONNECT. Kept until gone_until because
 *    the broker checks the will (ACL WRITE) AFTER the DISCONNECT event, and
 *    an offline durable session is still asked READ checks while messages
 *    are queued for it (the glue picks gone_until: a short grace for
 *    clean sessions, the token's exp + leeway for durable ones). A second
 *    DISCONNECT (session takeover) removes it; mja_clients_sweep() removes
 *    gone entries whose gone_until has passed, from a min-heap (no scan).
 *    The broker frees an expired durable session without a DISCONNECT, so
 *    a gone entry's address may be reused by a new connection: the glue
 *    decides any connect on a gone entry afresh.
 * A refused CONNECT (DISCONNECT with a NULL client id) has no entry: the
 * DISCONNECT is then a no-op.
 *
 * Not thread-safe (the broker is single-threaded).
 */
#ifndef MJA_CLIENTS_H
#define MJA_CLIENTS_H

#include <stddef.h>
#include <stdint.h>
#include "mja/auth.h"
#include "mja/error.h"

typedef struct mja_clients mja_clients;   /* opaque */

typedef enum mja_client_state {
	MJA_CLIENT_LIVE = 0,
	MJA_CLIENT_KICKED,
	MJA_CLIENT_GONE
} mja_client_state;

/* Read-only view of an entry; all pointers owned by the registry, valid
 * until the entry is replaced or removed (any put/remove/sweep on it). */
typedef struct mja_client {
	const void *client;
	char *clientid;            /* copy, may be NULL */
	char *username;            /* copy, may be NULL */
	mja_principal *principal;  /* owned, never NULL */
	mja_client_state state;
	int durable;               /* its session outlives the connection (put) */
	int will_ok;               /* GONE / KICKED: its will may be published */
	int64_t gone_at;           /* when it became GONE */
	int64_t gone_until;        /* GONE: swept once this is <= now */
	size_t heap_index;         /* internal: position in its heap or SIZE_MAX */
} mja_client;

mja_clients *mja_clients_new(void);          /* NULL on allocation failure */
void mja_clients_free(mja_clients *r);       /* NULL is fine; frees every entry */

/* Add or replace the entry of client. On MJA_OK the registry owns p (a
 * replaced entry's old principal and strings are freed) and the entry is
 * LIVE and (re)scheduled by p->exp (not scheduled without exp). On error
 * (MJA_ERR_NOMEM, MJA_ERR_INVAL) nothing changed and the caller still owns
 * p. clientid / username are copied (NULL allowed). durable: the client's
 * session survives its disconnect (clean session false). */
mja_err mja_clients_put(mja_clients *r, const void *client, const char *clientid,
		const char *username, int durable, mja_principal *p);

/* Replace only the principal of an existing entry, keeping its state,
 * strings and (for GONE / KICKED) staying off the schedule; a LIVE entry
 * is rescheduled by p->exp. Ownership as mja_clients_put. MJA_ERR_INVAL if
 * there is no entry. */
mja_err mja_clients_set_principal(mja_clients *r, const void *client, mja_principal *p);

/* The entry of client or NULL (borrowed). */
const mja_client *mja_clients_get(const mja_clients *r, const void *client);

/* Remove and free the entry. Returns 1 if there was one, 0 otherwise
 * (calling it twice is fine). */
int mja_clients_remove(mja_clients *r, const void *client);

/* DISCONNECT: a LIVE or KICKED entry becomes GONE at `now` (taken off the
 * schedule), to be swept once until <= now, with will_ok recorded; a GONE
 * entry is removed (second DISCONNECT). If there is no memory to keep it,
 * it is removed (fail closed). A GONE entry's principal loses its token
 * copy (mja_principal_drop_token). Returns 1 if an entry existed. */
int mja_clients_disconnect(mja_clients *r, const void *client, int64_t now,
		int64_t until, int will_ok);

/* Mark a LIVE entry KICKED (taken off the schedule; swept at until if no
 * DISCONNECT comes), recording whether its will may be published. Returns
 * 1 if it was LIVE (if there is no memory to keep it, it is removed). */
int mja_clients_kick(mja_clients *r, const void *client, int64_t until, int will_ok);

/* Remove KICKED and GONE entries with gone_until <= now. Returns how many.
 * Cost: O((removed + 1) * log n): a min-heap by gone_until, no scan. */
size_t mja_clients_sweep(mja_clients *r, int64_t now);

/* The LIVE entry with the smallest exp such that exp + leeway <= now,
 * or NULL; it stays scheduled (call mja_clients_kick or _remove to take it
 * off). Overflow-safe. O(1). */
const mja_client *mja_clients_next_expired(const mja_clients *r, int64_t now,
		int64_t leeway);

/* The LIVE entries whose principal satisfies pred(principal, ctx), as a
 * malloc'd array of their client handles in *out (caller frees; NULL when
 * *n is 0): a snapshot, so the caller may kick them one by one. One pass
 * over every entry (for a rare event such as a changed revocation list).
 * MJA_ERR_NOMEM: *out NULL, *n 0. */
mja_err mja_clients_select_live(const mja_clients *r,
		int (*pred)(const mja_principal *p, void *ctx), void *ctx,
		const void ***out, size_t *n);

size_t mja_clients_count(const mja_clients *r);       /* all entries */
size_t mja_clients_scheduled(const mja_clients *r);   /* entries on the schedule */
size_t mja_clients_gone(const mja_clients *r);        /* KICKED and GONE entries */

#endif
