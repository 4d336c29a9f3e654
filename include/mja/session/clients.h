/* clients.h - the token clients of one plugin instance, and when they expire.
 *
 * Keyed by the broker's client pointer (an opaque const void *, never
 * dereferenced). Each entry owns its principal (auth.h) and copies of the
 * client id and username taken when it was put. Expiring entries sit in a
 * binary min-heap ordered by exp (index back-pointers, so removal from the
 * middle is O(log n)); the tick only looks at the top, never at every
 * client.
 *
 * Entry states (the rules for moving between them are the session
 * module's, session.h; this is storage):
 *  - live: connected and authenticated; scheduled if its principal has exp.
 *  - kicked: its disconnect was started: taken off the schedule, kept until
 *    DISCONNECT or, if none comes, swept at gone_until. will_ok says whether
 *    its will may still be published.
 *  - offline: the broker reported DISCONNECT; kept until gone_until (its
 *    will and queued messages are checked after the event). A second
 *    DISCONNECT (session takeover) removes it; mja_clients_sweep() removes
 *    kicked and offline entries whose gone_until has passed, from a
 *    min-heap (no scan).
 * A refused CONNECT (DISCONNECT with a NULL client id) has no entry: the
 * DISCONNECT is then a no-op.
 *
 * Not thread-safe (the broker is single-threaded).
 */
#ifndef MJA_CLIENTS_H
#define MJA_CLIENTS_H

#include <stddef.h>
#include <stdint.h>
#include "mja/session/auth.h"
#include "mja/util/error.h"

typedef struct mja_clients mja_clients;   /* opaque */

typedef enum mja_client_state {
	MJA_CLIENT_LIVE = 0,
	MJA_CLIENT_KICKED,
	MJA_CLIENT_OFFLINE
} mja_client_state;

/* Read-only view of an entry; all pointers owned by the registry, valid
 * until the entry is replaced or removed (any put/remove/sweep on it). */
typedef struct mja_client {
	const void *client;
	char *clientid;            /* copy, may be NULL */
	char *username;            /* copy, may be NULL */
	char *address;             /* copy, may be NULL (mja_clients_set_address) */
	mja_principal *principal;  /* owned, never NULL */
	mja_client_state state;
	int durable;               /* its session outlives the connection (put) */
	int will_ok;               /* OFFLINE / KICKED: its will may be published */
	int64_t gone_at;           /* when it became OFFLINE */
	int64_t gone_until;        /* OFFLINE / KICKED: swept once this is <= now */
	size_t heap_index;         /* internal: position in its heap or SIZE_MAX */
	/* Marks kept for the session module (session.h), reset by put: */
	int confirmed;             /* the broker reported this connection complete */
	uint64_t rechecked;        /* the reload window it was re-checked in, 0: none */
	int will_seen;             /* its will was checked after it went */
} mja_client;

mja_clients *mja_clients_new(void);          /* NULL on allocation failure */
void mja_clients_free(mja_clients *r);       /* NULL is fine; frees every entry */

/* Add or replace the entry of client. On MJA_OK the registry owns p (a
 * replaced entry's old principal and strings are freed) and the entry is
 * LIVE and (re)scheduled by p->exp (not scheduled without exp). Takes p on
 * every path: on error (MJA_ERR_NOMEM, MJA_ERR_INVAL) p is freed and
 * nothing else changed. clientid / username are copied before (NULL
 * allowed; username may point into p). durable: the client's
 * session survives its disconnect (clean session false). */
mja_err mja_clients_put(mja_clients *r, const void *client, const char *clientid,
		const char *username, int durable, mja_principal *p);

/* Replace only the principal of an existing entry, keeping its state,
 * strings and (for OFFLINE / KICKED) staying off the schedule; a LIVE entry
 * is rescheduled by p->exp. Ownership as mja_clients_put. MJA_ERR_INVAL if
 * there is no entry. */
mja_err mja_clients_set_principal(mja_clients *r, const void *client, mja_principal *p);

/* The entry of client or NULL (borrowed). */
const mja_client *mja_clients_get(const mja_clients *r, const void *client);

/* The same, writable: for the session module's marks (confirmed,
 * rechecked) only; every other field changes through the calls here. */
mja_client *mja_clients_find(mja_clients *r, const void *client);

/* Copy address into the entry of client (NULL clears it). MJA_ERR_INVAL
 * without an entry, MJA_ERR_NOMEM (the old address is then kept). */
mja_err mja_clients_set_address(mja_clients *r, const void *client, const char *address);

/* Remove and free the entry. Returns 1 if there was one, 0 otherwise
 * (calling it twice is fine). */
int mja_clients_remove(mja_clients *r, const void *client);

/* DISCONNECT: a LIVE or KICKED entry becomes OFFLINE at `now` (taken off the
 * schedule), to be swept once until <= now, with will_ok recorded; an OFFLINE
 * entry is removed (second DISCONNECT). If there is no memory to keep it,
 * it is removed (fail closed). An OFFLINE entry's principal loses its token
 * copy (mja_principal_drop_token). Returns 1 if an entry existed. */
int mja_clients_disconnect(mja_clients *r, const void *client, int64_t now,
		int64_t until, int will_ok);

/* Mark a LIVE entry KICKED (taken off the schedule; swept at until if no
 * DISCONNECT comes), recording whether its will may be published. Returns
 * 1 if it was LIVE (if there is no memory to keep it, it is removed). */
int mja_clients_kick(mja_clients *r, const void *client, int64_t until, int will_ok);

/* Remove KICKED and OFFLINE entries with gone_until <= now. Returns how many.
 * Cost: O((removed + 1) * log n): a min-heap by gone_until, no scan. */
size_t mja_clients_sweep(mja_clients *r, int64_t now);

/* The LIVE entry with the smallest exp such that exp + leeway <= now,
 * or NULL; it stays scheduled (call mja_clients_kick or _remove to take it
 * off). Overflow-safe. O(1). */
const mja_client *mja_clients_next_expired(const mja_clients *r, int64_t now,
		int64_t leeway);

/* Call fn for every entry until it returns non-zero; fn must not change
 * the registry. O(n). */
void mja_clients_foreach(const mja_clients *r, int (*fn)(const mja_client *c, void *ctx),
		void *ctx);

/* The i-th KICKED or OFFLINE entry in the sweep heap's storage order
 * (i < mja_clients_gone(r)), or NULL: for a bounded walk over them. */
const mja_client *mja_clients_gone_nth(const mja_clients *r, size_t i);

size_t mja_clients_count(const mja_clients *r);       /* all entries */
size_t mja_clients_scheduled(const mja_clients *r);   /* entries on the schedule */
size_t mja_clients_gone(const mja_clients *r);        /* KICKED and OFFLINE entries */

#endif
