/* token.h - compact JWS / JWT verification (RFC 7515, 7519, 8725;
 * docs/design.md, "Token rules").
 *
 * mja_token_verify() is the whole acceptance pipeline, in the order of the
 * token rules:
 *  1. len <= max_token_bytes (before anything else); three segments;
 *     strict base64url of each.
 *  2. header: JSON object (duplicate names refused); alg a string in the
 *     allow-list (the allow-list is intersected with what the keys can do);
 *     crit present -> refuse; typ, if present, "JWT" or "at+jwt"
 *     (case-insensitive); kid, if present, a string; jku/x5u/jwk/x5c ignored.
 *  3. keys: mja_keyset_find(alg, kid).
 *  4. signature over "b64(header).b64(payload)" with each candidate key;
 *     any success passes.
 *  5. payload: JSON object without duplicate names.
 *  6-7. mja_claims_check().
 * Nothing from the header or payload is returned or logged before the
 * signature verifies (step 4): on failure only the error code comes back.
 * Username / client-id binding (step 8) is the caller's (auth module).
 */
#ifndef MJA_TOKEN_H
#define MJA_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "mja/token/alg.h"
#include "mja/token/key.h"
#include "mja/token/claims.h"
#include "mja/util/error.h"

#define MJA_DEFAULT_MAX_TOKEN_BYTES 8192
#define MJA_DEFAULT_LEEWAY 30

typedef struct mja_verify_opts {
	mja_alg_set algorithms;      /* allow-list; 0 means every algorithm */
	size_t max_token_bytes;      /* 0 means MJA_DEFAULT_MAX_TOKEN_BYTES */
	mja_claim_rules claims;
} mja_verify_opts;

/* A verified token. Owned by the caller; free with mja_token_free(). */
typedef struct mja_token {
	mja_alg alg;
	json_t *header;     /* owned reference */
	json_t *payload;    /* owned reference */
	const char *sub;    /* borrowed from payload */
	int has_exp;
	int64_t exp;        /* whole seconds, valid if has_exp */
	/* what the revocation list may name (auth.h), borrowed from header and
	 * payload, NULL where absent: the header's kid (a string), the jti and
	 * iat members (any JSON type) */
	const char *kid;
	const json_t *jti, *iat;
} mja_token;

/* Verify tok[0..len) (not necessarily NUL-terminated). On MJA_OK *out is a
 * new token; on error *out is NULL and the return value is the reason.
 * The token's header and payload are to be treated as read-only (with
 * mja_token_verify_ex or the cache they are shared with other tokens). */
mja_err mja_token_verify(const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token **out);

/* A memo of parsed JOSE headers, so that a stream of tokens from one issuer
 * (same alg, typ, kid: byte-identical header segments) parses its header
 * once. Keyed by the exact base64url header segment; holds the parsed
 * header object only. It skips the base64url decoding and JSON parsing of
 * a header segment it has seen, nothing else: every header check (alg
 * allow-list and key fit, crit, typ, kid) runs on every token. Only the
 * headers of tokens that passed every check are remembered, so unverified
 * input never enters it.
 * Owned by the caller (e.g. the verified-token cache); zero-initialise it
 * (or mja_token_memo_init), release with mja_token_memo_clear. Not
 * thread-safe: one memo per thread. */
#define MJA_TOKEN_MEMO_SLOTS 4
#define MJA_TOKEN_MEMO_MAX_SEGMENT 256  /* longer header segments: not memoized */

typedef struct mja_token_memo {
	struct {
		size_t len;                     /* 0: slot empty */
		char seg[MJA_TOKEN_MEMO_MAX_SEGMENT];
		json_t *header;                 /* owned reference, read-only */
		const json_t *pick[4];          /* its alg, crit, typ, kid (borrowed) */
	} slot[MJA_TOKEN_MEMO_SLOTS];
	unsigned next;                          /* round-robin victim */
} mja_token_memo;

void mja_token_memo_init(mja_token_memo *m);
void mja_token_memo_clear(mja_token_memo *m);  /* drops every slot; NULL is fine */

/* 1 with *alg set iff the header segment of tok[0..len) (up to its first
 * dot) is byte-identical to a memoized one whose alg names an algorithm; 0
 * otherwise (m NULL, no dot, not memoized). Says which path a token takes,
 * never whether it is accepted: the verifier checks the header again. */
int mja_token_memo_alg(const mja_token_memo *m, const char *tok, size_t len, mja_alg *alg);

/* mja_token_verify with a header memo; memo may be NULL (then exactly
 * mja_token_verify). Same checks, same results. */
mja_err mja_token_verify_ex(const mja_keyset *ks, const mja_verify_opts *o,
		const char *tok, size_t len, int64_t now, mja_token_memo *memo,
		mja_token **out);

void mja_token_free(mja_token *t);

/* True iff s[0..len) is shaped like a JWT: three non-empty-header segments of
 * base64url characters separated by two dots (option non_jwt). Cheap; does
 * not decode. */
int mja_token_looks_like_jwt(const char *s, size_t len);

/* Decode header and payload WITHOUT verifying anything (mosquitto_jwt
 * inspect). Both outputs are new references owned by the caller. */
mja_err mja_token_decode_unverified(const char *tok, size_t len,
		json_t **header, json_t **payload);

/* (mja_tool library, tools/lib/token_sign.c: never in the plugin.)
 * Build and sign a compact JWS: header {"alg":..,"typ":"JWT"} plus "kid" if
 * the key has one, plus members of header_extra (may be NULL); payload is
 * serialised compactly. *out is malloc'd, NUL-terminated, caller frees. */
mja_err mja_token_sign(const mja_key *k, mja_alg alg, const json_t *header_extra,
		const json_t *payload, char **out);

#endif
