/* session.h - the life of a token client's session in the broker: every
 * decision the plugin makes about a client after its options are parsed.
 *
 * The broker glue (plugin/glue) turns each Mosquitto event into one call
 * here and carries out what comes back: a decision (its return code) and a
 * list of actions (log a line, set the client's username, kick a client).
 * Nothing here includes a Mosquitto header, reads a clock or logs: the
 * event's facts and the time are parameters, so every rule is unit-tested
 * with a fixed clock (test/unit/test_session.c).
 *
 * Ownership: a mja_session owns its configuration (given to
 * mja_session_new on every path, success or not) and its client registry
 * (clients.h): one entry per client the plugin authenticated, owning that
 * client's principal (auth.h). Other features attach per-client data to the
 * principal. Strings in a mja_session_client are borrowed for the call only.
 * Not thread-safe: the broker calls plugins from its one thread.
 *
 * Clients are the broker's `struct mosquitto *`, an opaque handle never
 * dereferenced. The broker reuses the memory of a freed client for a later
 * connection, and frees an offline durable session with no event at all; so
 * a known handle is never proof that an event belongs to the connection the
 * entry was made for. The rules that follow from it are in "Entry states"
 * and "Re-check" below.
 *
 * Entry states (mja_client_state):
 *  - live: authenticated by a token, connected. On Mosquitto 2.1 an entry is
 *    also "confirmed" once the broker reports the connection complete
 *    (MOSQ_EVT_CONNECT); a CONNECT for a handle whose entry was not made for
 *    this connection drops that entry.
 *  - kicked: the plugin started its disconnect (token expired, re-check or
 *    re-authentication refused) or ended its offline session at a re-check;
 *    it is denied everything and kept until its DISCONNECT or until
 *    MJA_SESSION_GONE_GRACE seconds have passed (an ended offline session:
 *    MJA_SESSION_DURABLE_MAX seconds, its re-checks answered the same way).
 *  - offline: the broker reported DISCONNECT (or, on 2.1, CLIENT_OFFLINE). It
 *    is still asked about its will (one WRITE check, right after the event
 *    or, delayed, up to the session expiry interval later) and, for a
 *    durable session, about messages queued for it (READ). Kept as long as
 *    the broker may act for it: on 2.1 while the broker still holds the
 *    client (mja_session_set_probe); on 2.0, which cannot tell, until its
 *    token's exp + leeway + MJA_SESSION_GONE_GRACE (at least
 *    MJA_SESSION_GONE_GRACE seconds, at most MJA_SESSION_DURABLE_MAX). A
 *    clean session's entry goes at once after its will; a second
 *    DISCONNECT (the broker's session takeover) removes it. A check an
 *    offline client cannot get (SUBSCRIBE, UNSUBSCRIBE, a second WRITE)
 *    shows that the broker freed it and gave its memory to a connection
 *    that logged in without the plugin: the entry is dropped and the check
 *    deferred. (READ checks continue while the broker keeps the client:
 *    queued messages of a durable session; deliveries to a clean session
 *    until it is freed.)
 *  - gone: no entry. The client is not the plugin's: every event for it is
 *    decided from the credentials it carries, or deferred.
 *
 * Re-check (after a reload): Mosquitto re-runs BASIC_AUTH for every client
 * it holds (connected or offline) right after the RELOAD event, in one pass
 * of its main loop, and sends TICK after that pass (2.0: later in the same
 * pass of the loop; 2.1: at the start of the next, before it reads from any
 * socket). mja_session_reload opens a reload window; TICK, an event that
 * cannot be part of the pass (enhanced authentication, CONNECT, a SUBSCRIBE
 * or UNSUBSCRIBE check), or a pause of MJA_SESSION_WINDOW_GAP_MS closes it.
 * Only a BASIC_AUTH inside the window, on an entry not yet re-checked in
 * this window, is a re-check of that entry:
 *  - live: the token (the one sent again, or the stored copy of an
 *    enhanced-auth client) must verify with the current keys and carry the
 *    same sub; else refused, and the client is kicked (will denied).
 *  - offline: its stored credentials are decided afresh; a valid token of
 *    the same sub keeps the entry; anything else ends the session.
 *  - kicked: it may do nothing; its session is ended.
 * "Ends the session" is a refusal on 2.1 (the broker then ends it). On 2.0
 * a refused offline durable session corrupts the broker's expiry list (it
 * puts the session on it twice and crashes later), so on the 2.0 line the
 * re-check is answered with success instead and the session is kicked:
 * denied everything, its will denied; its client re-authenticates when it
 * reconnects. The same holds on 2.0 for a BASIC_AUTH in the window on a
 * handle the plugin has no entry for (an offline session whose entry is
 * gone) when its credentials are a token that fails. This needs the window
 * to close reliably: only once a TICK has been seen; without TICK such a
 * re-check is refused (a new connection is never taken for an offline
 * session).
 * Every other BASIC_AUTH is a new connection: an entry at its handle is
 * dropped first. An enhanced authentication on a handle with an entry is a
 * re-authentication only if the entry is live or kicked, has the same
 * client id and, on 2.1, its connection was complete (CONNECT); else the
 * entry is dropped and it is a new connection.
 *
 * Wills: a will is a write by its client, judged by the plugin's rules
 * however late it fires (never deferred while the entry is kept). It is
 * denied if the token no longer held when the client went, or if it fires
 * later than right after the client went (a will delay) and the token has
 * expired by then. A client disconnected because its token expired gets
 * its will (sent right away) published as for any other loss; a will of a
 * client refused by a re-check or a re-authentication is denied.
 *
 * Log lines: a refusal names the client, its address and the reason
 * (mja_strerror); for a malformed acl claim or a failed claim_match the
 * reason is followed by the library's detail in parentheses (auth.h
 * mja_auth_detail: which rule, which claim; never a value from the token).
 * Every value in a line that comes from a client or from the configuration
 * goes through mja_text_printable (text.h): client id, address and sub
 * here, the claim names of the detail where auth.c writes it.
 *
 * Usernames: a token proves its sub and nothing else. After a token login
 * the broker's username for the client is its sub: kept if the client sent
 * exactly that, else replaced (SET_USERNAME; required when it replaces a
 * claimed username or the token itself, so a client whose name cannot be
 * replaced is refused). The ACL's %u is then the sub as well.
 *
 * Actions are in the order they must be carried out. A kick re-enters the
 * plugin (the broker re-checks subscriptions, sends DISCONNECT and the
 * will's WRITE check from inside the kick): the glue brackets each kick
 * with mja_session_kick_begin / mja_session_kick_end.
 */
#ifndef MJA_SESSION_H
#define MJA_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include "mja/session/auth.h"
#include "mja/session/clients.h"
#include "mja/session/config.h"
#include "mja/util/error.h"
#include "mja/util/log.h"
#include "mja/session/stats.h"

/* Expiry scan period on TICK, milliseconds (about once a second). */
#define MJA_SESSION_TICK_MS 1000
/* No TICK this long after start: the broker sends none, milliseconds. */
#define MJA_SESSION_NO_TICK_MS 3000
/* How long an offline clean session's entry is kept for its will, and a
 * kicked entry for its DISCONNECT, seconds. */
#define MJA_SESSION_GONE_GRACE 60
/* Upper bound on how long an offline durable session's entry is kept
 * (also the bound for a token without exp), seconds. */
#define MJA_SESSION_DURABLE_MAX 86400
/* A reload window also closes when this long passes between two of its
 * events (the broker's re-check pass is one uninterrupted run of its main
 * loop; this only matters where no TICK comes), milliseconds. */
#define MJA_SESSION_WINDOW_GAP_MS 500
/* While CONNECTs are held (see "Held CONNECTs"), the most TICK may wait,
 * milliseconds. */
#define MJA_SESSION_HOLD_POLL_MS 50
/* While a worker's check is pending (workers.h), the most TICK may wait,
 * milliseconds. */
#define MJA_SESSION_WORK_POLL_MS 1
/* On TICK, with checks pending and none ended, the most it waits for the
 * first to end, microseconds (workers.h mja_workers_wait_any). */
#define MJA_SESSION_WORK_WAIT_US 500
/* At most this many CONNECTs held at once; more are refused at once. */
#define MJA_SESSION_MAX_HOLDS 10000

typedef struct mja_session mja_session;   /* opaque */

/* Which Mosquitto line the plugin runs in (the glue finds out at start). */
typedef enum mja_broker_line {
	MJA_BROKER_2_0 = 0,   /* 2.0.x: the default until told otherwise */
	MJA_BROKER_2_1        /* 2.1.x: CLIENT_OFFLINE and CONNECT events */
} mja_broker_line;

/* mja_log_level: log.h */

typedef enum mja_action_kind {
	/* log text at level (the glue adds its "jwt-auth: " prefix) */
	MJA_ACTION_LOG = 0,
	/* set client's username to text. required: if it cannot be done, the
	 * glue calls mja_session_username_failed and returns its decision */
	MJA_ACTION_SET_USERNAME,
	/* disconnect the client whose client id is text, with its will if
	 * with_will; bracketed by mja_session_kick_begin / _end */
	MJA_ACTION_KICK,
	/* 2.1: complete the held BASIC_AUTH of the client whose client id is
	 * text (mosquitto_complete_basic_auth), accepted iff allow. A required
	 * SET_USERNAME for the same client that failed before it makes it a
	 * refusal (mja_session_username_failed) */
	MJA_ACTION_COMPLETE_AUTH
} mja_action_kind;

typedef struct mja_action {
	mja_action_kind kind;
	mja_log_level level;     /* LOG */
	const void *client;      /* SET_USERNAME, KICK */
	int with_will;           /* KICK */
	int required;            /* SET_USERNAME */
	int allow;               /* COMPLETE_AUTH */
	char *text;              /* owned by the list, never NULL */
} mja_action;

/* A list of actions, filled by the session calls, emptied by the caller.
 * If an action could not be recorded (out of memory) lost is set; the
 * session has then already put the client in the safe state (a client
 * that should be kicked is kicked in the registry: denied everything). */
typedef struct mja_actions {
	mja_action *v;
	size_t n, cap;
	int lost;
} mja_actions;

void mja_actions_init(mja_actions *a);
void mja_actions_clear(mja_actions *a);   /* frees the texts; reusable */
void mja_actions_free(mja_actions *a);    /* clear and release the array */

/* The facts about a client the broker gives with an event. All borrowed
 * for the call. username: what the broker holds for the client now. */
typedef struct mja_session_client {
	const void *client;       /* never NULL for a client event */
	const char *clientid;     /* may be NULL (a refused CONNECT) */
	const char *address;      /* may be NULL */
	const char *username;     /* may be NULL */
	int durable;              /* its session outlives the connection */
} mja_session_client;

/* Parse opts (config.h) and make a session. On MJA_OK *out is the
 * session; on error *out is NULL and acts holds the error line. Start
 * lines (warnings, "ready") are added to acts in both cases where they
 * apply. ms: the monotonic clock, milliseconds. */
mja_err mja_session_open(const mja_config_opt *opts, size_t n, int64_t ms,
		mja_session **out, mja_actions *acts);

/* A session over cfg, which it owns from now on, success or not. */
mja_err mja_session_new(mja_config *cfg, int64_t ms, mja_session **out);

void mja_session_free(mja_session *s);    /* NULL is fine */

/* Whether the glue registers the ACL callback: only when the plugin makes
 * topic decisions, mja_config_topic_decisions (acl_file, acl_claim or
 * superuser_claim; without them a registered callback that defers would
 * deny every client that is not the plugin's). */
int mja_session_wants_acl(const mja_session *s);

void mja_session_set_broker(mja_session *s, mja_broker_line line);

/* Where the broker can tell (Mosquitto 2.1: mosquitto_client(id) ==
 * client), alive(client, clientid, ctx) says whether it still holds client
 * under clientid. An offline entry is then kept exactly while it does
 * (checked when the entry is used, and for a few entries per TICK); without
 * it (2.0) an offline entry is kept by time (see "Entry states"). */
void mja_session_set_probe(mja_session *s,
		int (*alive)(const void *client, const char *clientid, void *ctx), void *ctx);
mja_broker_line mja_session_broker(const mja_session *s);

const mja_config *mja_session_config(const mja_session *s);
/* The instance's counters (stats.h), counted by the calls below: CONNECTs
 * accepted, deferred and refused by reason (BASIC_AUTH outside a re-check,
 * EXT_AUTH_START without an entry), re-authentications, expiry and
 * revocation disconnects (a live client kicked, or refused by the re-check
 * as revoked), ACL denials by kind. Borrowed. */
const mja_stats *mja_session_stats(const mja_session *s);
/* Walk the counters together with the figures read at emit time (the
 * cache's hits and misses, the keys in use, and per JWKS source, in
 * configuration order, its last success, failures and keys: jwks.h
 * mja_jwks_stats) and call fn as mja_stats_emit does; on the broker's
 * thread (the JWKS figures are the ones mja_config_jwks_update took in).
 * Returns the number of calls. */
size_t mja_session_stats_emit(const mja_session *s, mja_stats_emit_fn fn, void *arg);
/* The entry of client, or NULL (borrowed, valid until the next call). */
const mja_client *mja_session_get(const mja_session *s, const void *client);
size_t mja_session_count(const mja_session *s);

/* ---- events; now: wall clock, seconds; ms: monotonic, milliseconds ---- */

/* BASIC_AUTH: a CONNECT's username and password (NULL when absent), or the
 * broker's re-check after a reload (see "Re-check"). MJA_ALLOW: accepted
 * (actions may set the username); MJA_DENY: refused, *why says why;
 * MJA_DEFER: not the plugin's; MJA_IGNORE (2.1 with non_jwt ignore only):
 * not the plugin's, as if it were not loaded; MJA_HOLD (Mosquitto 2.1, a
 * new connection only): answered later by a COMPLETE_AUTH action (see
 * "Held CONNECTs").
 *
 * Held CONNECTs. On the 2.1 line a new connection's token whose kid no key
 * has, while the JWKS refetch it asked for (jwks.h, single flight) is still
 * pending, is held (delayed basic authentication) instead of refused: its
 * credentials are kept (at most MJA_JWKS_HOLD_MS) and decided again on the
 * first TICK after the refetch's result was taken in, or when that time is
 * up, which completes it with a COMPLETE_AUTH action. The broker refuses a
 * second CONNECT with the client id of a held one by itself, and sends no
 * event when a held client goes away; so a BASIC_AUTH with a held client
 * id, or at a held handle, means that hold's connection is gone: the hold
 * is dropped without an answer. A re-check, an enhanced authentication and
 * everything on the 2.0 line are answered at once. A reload keeps the holds
 * (their time limit too); mja_session_free drops them.
 *
 * A CONNECT is also held on the 2.1 line, with verify_threads (config.h)
 * not 0, when its token's signature check would run here and is worth a
 * thread (auth.h mja_auth_connect_offer: an asymmetric algorithm, not in
 * the cache): a worker checks it (workers.h) and the first TICK after its
 * answer decides it with every other rule (mja_auth_connect_verified) and
 * completes it. No time limit: every check ends. A hold dropped as above
 * cancels its check. A check made with keys replaced since (a reload, a new
 * JWKS set) is made again with the keys in use; a kid no key has then waits
 * for the JWKS refetch as above. mja_session_free stops the workers
 * (queued checks dropped, running ones finished). */
mja_decision mja_session_basic_auth(mja_session *s, const mja_session_client *c,
		const char *username, const char *password, int64_t now, int64_t ms,
		mja_actions *acts, mja_err *why);

/* The MQTT 5 CONNACK reason for a BASIC_AUTH refused with why, for a
 * broker that passes reason codes from BASIC_AUTH to the client (2.1):
 * 0x88 keys unavailable, 0x8A revoked, 0x86 any other (a bad or expired
 * token). */
int mja_session_connack_reason(mja_err why);

/* EXT_AUTH_START: MQTT 5 enhanced authentication at CONNECT or a
 * re-authentication (AUTH 0x19) of a live entry. method NULL or a method
 * not in auth_methods (config.h): MJA_DEFER. A listed method: allow or
 * deny, never defer. */
mja_decision mja_session_ext_auth_start(mja_session *s, const mja_session_client *c,
		const char *method, const void *data, size_t len, int64_t now, int64_t ms,
		mja_actions *acts, mja_err *why);

/* EXT_AUTH_CONTINUE: the method is one step, so a continuation from a
 * client of the plugin is refused; anyone else's is deferred. */
mja_decision mja_session_ext_auth_continue(mja_session *s, const mja_session_client *c,
		int64_t now, int64_t ms, mja_actions *acts, mja_err *why);

/* MOSQ_EVT_CONNECT (2.1): the connection of c is complete. Confirms an
 * entry made by this connection's authentication; drops any other entry at
 * that handle (it belonged to an earlier connection). */
void mja_session_connected(mja_session *s, const mja_session_client *c,
		int64_t now, int64_t ms, mja_actions *acts);

/* ACL_CHECK (access is MJA_ACCESS_*). qos and retain: the event's (the
 * message's QoS and retain flag, or a subscription's requested QoS); the
 * token's own rules (acl_claim, aclclaim.h) restrict by them. MJA_DEFER:
 * not the plugin's client; MJA_DENY must reach the broker as exactly "ACL
 * denied". */
mja_decision mja_session_acl(mja_session *s, const mja_session_client *c,
		const char *topic, int access, int qos, int retain, int64_t now, int64_t ms,
		mja_actions *acts);

/* DISCONNECT, and on 2.1 CLIENT_OFFLINE (the same for the plugin). */
void mja_session_disconnect(mja_session *s, const void *client, int64_t now,
		int64_t ms, mja_actions *acts);

/* TICK. Closes a reload window, sweeps entries whose time is up, reads
 * revocation_file again if it changed and kicks the live clients it now
 * revokes (their wills denied), and kicks expired clients (at most once
 * per MJA_SESSION_TICK_MS). Returns the milliseconds until its next scan,
 * from 1 to MJA_SESSION_TICK_MS: 2.1's next_ms (its main loop sleeps until
 * its next timer), so a deadline is acted on within about a second; 0 (as
 * soon as the broker can: the glue asks for its shortest wake-up) while
 * worker checks are pending and this TICK took answers in (see "Held
 * CONNECTs"). */
int64_t mja_session_tick(mja_session *s, int64_t now, int64_t ms, mja_actions *acts);

/* How many CONNECTs are held (then TICK returns at most
 * MJA_SESSION_HOLD_POLL_MS, or MJA_SESSION_WORK_POLL_MS while a worker's
 * check is pending: the glue sets 2.1's next_ms from it). */
size_t mja_session_held(const mja_session *s);

/* Block until the signature checks given to worker threads so far have
 * finished (their answers are taken in on the next TICK). For tests and
 * benchmarks only: never on the broker's thread. */
void mja_session_wait_workers(mja_session *s);

/* RELOAD: read revocation_file again (a bad file keeps the old list), then
 * the key, secret and ACL files (all or nothing), and open the reload
 * window: the re-check that follows refuses revoked tokens. */
void mja_session_reload(mja_session *s, int64_t now, int64_t ms, mja_actions *acts);

/* Kick every live client whose principal satisfies pred (e.g. "is now
 * revoked"): marked kicked with its will denied, as for a token that no
 * longer holds; one KICK action each, with a log line naming reason.
 * Returns how many. Cost: one pass over the entries. */
size_t mja_session_kick_if(mja_session *s, int (*pred)(const mja_principal *p, void *ctx),
		void *ctx, mja_err reason, int64_t now, int64_t ms, mja_actions *acts);

/* Around carrying out a KICK action (the broker re-enters the plugin). */
void mja_session_kick_begin(mja_session *s, const void *client);
void mja_session_kick_end(mja_session *s);

/* A required SET_USERNAME action failed: the client is forgotten and
 * refused (MJA_DENY, *why out of memory); a non-required one only logs. */
mja_decision mja_session_username_failed(mja_session *s, const mja_session_client *c,
		int required, mja_actions *acts, mja_err *why);

#endif
