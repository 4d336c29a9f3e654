/* auth.h - CONNECT, re-authentication and ACL decisions for token clients.
 *
 * Pure functions of (configuration, credentials, now): no Mosquitto header,
 * no clock, no logging. The glue maps the results:
 *   MJA_ALLOW -> MOSQ_ERR_SUCCESS, MJA_DENY -> MOSQ_ERR_AUTH (connect) or
 *   MOSQ_ERR_ACL_DENIED (ACL), MJA_DEFER -> MOSQ_ERR_PLUGIN_DEFER.
 * On MJA_DENY *why holds the reason (mja_strerror() gives the log word);
 * internal failures (out of memory) deny too (fail closed). Nothing from a
 * token is returned before its signature verified (token.h).
 *
 * A principal is what an accepted token leaves behind for the session: its
 * sub, roles, exp, what the revocation list may name later (jti, kid, iat),
 * and, for MQTT 5 enhanced
 * authentication and token_field username only, a copy of the token itself.
 *
 * Why the token copy (docs/design.md, "Re-check after SIGHUP"): after a
 * reload the broker re-runs BASIC_AUTH for every client; basic-auth clients
 * come with their password again, so their token is simply verified again
 * with the new keys, but enhanced-auth clients come with password NULL. To
 * re-check those against the new keys we keep their token bytes in the
 * principal (they are in the broker's memory during the session anyway);
 * the copy is scrubbed (OPENSSL_cleanse) before it is freed and is never
 * logged. Same with token_field username: the session module has the
 * username (the token, which Mosquitto would log) replaced with the sub, so
 * the re-check finds no token there.
 */
#ifndef MJA_AUTH_H
#define MJA_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include "mja/topic/aclclaim.h"
#include "mja/session/config.h"
#include "mja/token/token.h"
#include "mja/util/error.h"

typedef enum mja_decision {
	MJA_DEFER = 0,   /* not ours: leave it to other plugins / password_file */
	MJA_ALLOW,
	MJA_DENY,
	MJA_IGNORE,      /* Mosquitto 2.1 only: as if the plugin were not loaded */
	/* session.h only: the answer comes later (a held CONNECT, 2.1) */
	MJA_HOLD
} mja_decision;

/* Owned by whoever holds it (the client registry, clients.h); every
 * pointer inside is owned by the principal. */
typedef struct mja_principal {
	char *sub;                  /* verified (docs/design.md, "Token rules" 7) */
	char **roles;               /* from roles_claim; may be NULL if n_roles 0 */
	size_t n_roles;
	int has_exp;
	int64_t exp;                /* whole seconds, valid if has_exp */
	/* for the revocation list (revoke.h): a connected client whose token is
	 * revoked later is found by these */
	char *jti;                  /* the jti claim if a string, else NULL */
	char *kid;                  /* the header's kid, else NULL */
	/* 1: jti and kid live in sub's allocation (made so by auth.c, one
	 * allocation per CONNECT instead of three); freed with sub */
	int joined;
	int has_iat;
	int64_t iat;                /* whole seconds (rounded down), valid if has_iat */
	char *token;                /* enhanced auth only, else NULL; scrubbed on free */
	size_t token_len;
	int superuser;              /* superuser_claim is JSON true: every topic */
	mja_aclclaim *acl_claim;    /* acl_claim compiled; NULL if off or absent */
	/* the username the client sent at login, kept only for claim_match's
	 * ${username}: the broker's username becomes the sub, and the re-check
	 * and re-authentication bind the name the CONNECT bound. NULL if none
	 * was sent or no claim_match is configured. */
	char *login_username;
} mja_principal;

void mja_principal_free(mja_principal *p);   /* NULL is fine; scrubs token */
/* Scrub and free the token copy (token NULL, token_len 0 after); NULL is
 * fine. For a session that is over: nothing re-checks it any more. */
void mja_principal_drop_token(mja_principal *p);

/* BASIC_AUTH at CONNECT (docs/design.md, "One CONNECT through the
 * modules"). username / password / clientid as the broker passes them
 * (NUL-terminated, NULL when absent; an empty one is treated as absent).
 * The token is taken from the token_field field.
 *  - no token: non_jwt deny -> MJA_DENY (MJA_ERR_NO_TOKEN); defer -> MJA_DEFER
 *  - not shaped like a JWT: non_jwt deny -> MJA_DENY (MJA_ERR_NOT_JWT);
 *    defer -> MJA_DEFER
 *  - otherwise it is ours: mja_auth_token() decides (allow or deny, never
 *    defer).
 * On MJA_ALLOW *out is a new principal; it keeps a token copy only with
 * token_field username (see above). */
mja_decision mja_auth_connect(const mja_config *cfg, const char *username,
		const char *password, const char *clientid, int64_t now,
		mja_principal **out, mja_err *why);

/* Signature checks on another thread (workers.h; docs/design.md,
 * "Signature checks on worker threads").
 * mja_auth_connect_offer: mja_auth_connect, except for a JWT-shaped token
 * whose steps 1-7 would verify an RS, PS, ES or EdDSA signature here (not
 * an HMAC token, not in the verified-token cache: cache.h
 * mja_cache_verify_here): that one is not checked, MJA_HOLD is returned and
 * nothing else is done (*out NULL, *why MJA_OK). The caller has it checked
 * elsewhere and decides it with mja_auth_connect_verified, or with
 * mja_auth_connect when no worker takes it.
 * mja_auth_connect_verified: mja_auth_connect for a token whose steps 1-7
 * (token.h mja_token_verify_ex) ran elsewhere with the key set in use now
 * (the caller's duty: a result checked with keys since replaced is checked
 * again instead). verify_err is that check's answer and verified its token
 * on MJA_OK (taken, freed on every path). The claims are judged again
 * with now and an accepted token is stored in the cache; every later rule
 * is mja_auth_token's. */
mja_decision mja_auth_connect_offer(const mja_config *cfg, const char *username,
		const char *password, const char *clientid, int64_t now,
		mja_principal **out, mja_err *why);
mja_decision mja_auth_connect_verified(const mja_config *cfg, const char *username,
		const char *password, const char *clientid, int64_t now, mja_err verify_err,
		mja_token *verified, mja_principal **out, mja_err *why);

/* Verify tok[0..len) and build a principal: mja_cache_verify (the token
 * pipeline, docs/design.md "Token rules" 1-7); a token without sub is
 * refused (MJA_ERR_MISSING_CLAIM: the sub is the identity); a token that the
 * revocation list names is refused (MJA_ERR_REVOKED); username_match sub (only
 * with token_field password): a non-NULL, non-empty username must equal sub;
 * clientid_match sub: clientid must equal sub; each claim_match:
 * the claim must be a string equal to its template with ${clientid} and
 * ${username} (the username sent; none with token_field username) replaced, a template needing an
 * absent or empty value never matches (MJA_ERR_CLAIM_MISMATCH); roles from
 * roles_claim; superuser from superuser_claim (JSON true only); the
 * acl_claim compiled (aclclaim.h), a malformed one refused
 * (MJA_ERR_BAD_ACL_CLAIM). keep_token: store a copy of the token in the
 * principal (enhanced auth). Returns MJA_ALLOW or MJA_DENY. An empty token
 * is MJA_ERR_NO_TOKEN. */
mja_decision mja_auth_token(const mja_config *cfg, const char *tok, size_t len,
		const char *username, const char *clientid, int64_t now, int keep_token,
		mja_principal **out, mja_err *why);

/* MQTT 5 re-authentication (docs/design.md, "Re-authentication"): like
 * mja_auth_token() (token kept), then the new sub must equal old->sub,
 * else MJA_DENY with MJA_ERR_REAUTH_SUB. On MJA_ALLOW the caller replaces old with *out.
 * The username bindings (username_match, claim_match's ${username}) are
 * judged by the name sent at login (old->login_username), as at CONNECT:
 * by now the broker's username is the sub. username is the broker's
 * current one and is not used. */
mja_decision mja_auth_reauth(const mja_config *cfg, const mja_principal *old,
		const char *tok, size_t len, const char *username, const char *clientid,
		int64_t now, mja_principal **out, mja_err *why);

/* The broker's BASIC_AUTH re-check of a client we already accepted (after
 * SIGHUP, docs/design.md "Re-check after SIGHUP"): the token is the
 * principal's stored copy if it has one (enhanced auth), else the one in
 * the token_field field (basic auth); it must verify with the current keys
 * and carry the same sub. No token at all -> MJA_DENY (MJA_ERR_NO_TOKEN).
 * Never MJA_DEFER: the client is ours. The new principal keeps a token copy
 * iff old had one. username serves only to find a token_field username
 * token; the username bindings are judged as in mja_auth_reauth. */
mja_decision mja_auth_recheck(const mja_config *cfg, const mja_principal *old,
		const char *username, const char *password, const char *clientid,
		int64_t now, mja_principal **out, mja_err *why);

/* The detail of the last refusal by mja_auth_connect / _token / _reauth /
 * _recheck on this thread, for the log line after the reason: which rule of
 * the acl claim is malformed and how, which claim_match failed. "" when
 * there is none; valid until the next of those calls on this thread (like
 * errno). It names claims and rules, never a value from the token; the
 * claim names (option values) in it are escaped with mja_text_printable
 * (text.h), so it is printable as it stands. */
const char *mja_auth_detail(void);

/* MJA_ERR_REVOKED if the revocation list now in force names the
 * principal's token (by its jti, sub, iat or kid), else MJA_OK (also for
 * cfg or p NULL, or without revocation_file). For connected clients after
 * the list changed. */
mja_err mja_auth_revoked(const mja_config *cfg, const mja_principal *p);

/* True iff the principal's token has expired: exp + leeway <= now
 * (RFC 7519 4.1.4), overflow-safe. A token without exp never expires. */
int mja_auth_expired(const mja_config *cfg, const mja_principal *p, int64_t now);

/* One ACL check for a token client (docs/design.md, "ACL semantics" and
 * "Permissions in the token"). No topic decisions
 * configured (mja_config_topic_decisions) -> MJA_DEFER.
 * Unless ignore_expiry, an expired principal is denied everything
 * (*why = MJA_ERR_EXPIRED; the caller disconnects it). Else, in order: a
 * superuser is allowed everything, $SYS included; the acl claim decides
 * (aclclaim.h), and where its array format matches no rule, or the token
 * has no such claim, the ACL file decides (mja_acl_check); without an ACL
 * file that is a deny. MJA_ALLOW or MJA_DENY (*why = MJA_OK: a plain rule
 * denial). qos and retain are the broker's for the check (the message's,
 * or the requested QoS of a subscription); only the acl claim uses them.
 * clientid / username (for a token client, its sub: session.h "Usernames")
 * may be NULL. ignore_expiry is for the will of a client that is already gone
 * (its will was accepted while the token was valid). */
mja_decision mja_auth_acl(const mja_config *cfg, const mja_principal *p,
		const char *clientid, const char *username,
		const char *topic, size_t topiclen, int access, int qos, int retain,
		int64_t now, int ignore_expiry, mja_err *why);

#endif
