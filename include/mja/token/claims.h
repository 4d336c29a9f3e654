/* claims.h - registered-claim validation (RFC 7519 4.1; docs/design.md,
 * "Token rules" 5-7).
 *
 * Time is always a parameter: `now` is seconds since the epoch, so tests
 * use a fixed clock. These checks run on every use of a token, also when
 * its signature came from the verified-token cache.
 */
#ifndef MJA_CLAIMS_H
#define MJA_CLAIMS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "mja/util/error.h"
#include "mja/util/text.h"  /* mja_sub_valid, the sub rule */

typedef struct mja_claim_rules {
	const char *const *issuers;   size_t n_issuers;    /* 0: iss not checked */
	const char *const *audiences; size_t n_audiences;  /* 0: aud not checked */
	const char *const *required;  size_t n_required;   /* claim names that must be present */
	int64_t leeway;               /* seconds, >= 0 */
	int64_t max_token_age;        /* seconds; 0 = off */
} mja_claim_rules;

/* Checks, in this order (first failure returned):
 *  - exp, nbf, iat: if present, JSON numbers (integer or real, finite)
 *    else MJA_ERR_BAD_PAYLOAD (RFC 7519 4.1.4-4.1.6: NumericDate);
 *  - required claims present              -> MJA_ERR_MISSING_CLAIM
 *  - exp + leeway > now                   -> MJA_ERR_EXPIRED
 *  - nbf - leeway <= now                  -> MJA_ERR_NOT_YET_VALID
 *  - iat - leeway <= now                  -> MJA_ERR_IAT_FUTURE
 *  - iss equals one of issuers            -> MJA_ERR_ISSUER
 *  - aud (string or array of strings) contains one of audiences -> MJA_ERR_AUDIENCE
 *  - max_token_age: iat present and now - iat <= max age + leeway,
 *    and exp - iat <= max age             -> MJA_ERR_TOO_OLD
 *  - sub: a string that passes mja_sub_valid (text.h: 1..256 bytes of
 *    UTF-8, no control character, no '+' or '#')
 *                                         -> MJA_ERR_BAD_SUB
 * Arithmetic is overflow-safe: huge, negative or fractional values compare
 * as the numbers they are. */
mja_err mja_claims_check(const json_t *payload, const mja_claim_rules *r, int64_t now);

/* The registered claims mja_claims_check_found found (borrowed from the
 * payload; NULL where absent), so that its caller need not look them up
 * again. */
typedef struct mja_claims_found {
	const json_t *exp, *sub, *iat, *jti;
} mja_claims_found;

/* mja_claims_check, and on MJA_OK *found filled (found may be NULL). */
mja_err mja_claims_check_found(const json_t *payload, const mja_claim_rules *r, int64_t now,
		mja_claims_found *found);

/* exp as whole seconds (fractions rounded up, toward +inf, clamped to the
 * int64 range). Returns 1 and sets *exp if exp is present and a number,
 * else 0. mja_claims_exp_value: the same of the exp value itself (NULL:
 * absent). */
int mja_claims_exp(const json_t *payload, int64_t *exp);
int mja_claims_exp_value(const json_t *v, int64_t *exp);

/* Roles from the claim at a dotted path ("realm_access.roles") into nested
 * objects: a string gives one role, an array gives its string members (other
 * members are ignored); absent or any other type gives zero roles.
 * *roles is a malloc'd array of malloc'd strings (free with
 * mja_claims_roles_free); *n its length. MJA_ERR_NOMEM on failure. */
mja_err mja_claims_roles(const json_t *payload, const char *path,
		char ***roles, size_t *n);
void mja_claims_roles_free(char **roles, size_t n);

/* out[i] = the member of obj named exactly names[i] (compared with the key's
 * length, so a key with an embedded NUL never matches), or NULL; found in
 * one pass over obj's members instead of one hash lookup per name, which
 * is cheaper for the few members of a JOSE header or claims set. Object
 * keys are unique in jansson, so a name matches at most one member. out
 * is borrowed from obj. Not an object: all NULL. */
void mja_json_pick(const json_t *obj, const char *const *names, size_t n,
		const json_t **out);

#endif
