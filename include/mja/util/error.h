/* error.h - the one error enum of the internal library, and diagnostics.
 *
 * Every library function returns mja_err. MJA_OK is 0. The reason strings
 * returned by mja_strerror() are the words that appear in the broker log
 * ("expired", "bad signature", ...): keep them short, stable and free of
 * any token data. Conversion to MOSQ_ERR_* happens only in plugin/glue.
 */
#ifndef MJA_ERROR_H
#define MJA_ERROR_H

#include <stddef.h>

typedef enum mja_err {
	MJA_OK = 0,
	/* generic */
	MJA_ERR_NOMEM,            /* "out of memory" */
	MJA_ERR_INTERNAL,         /* "internal error" (e.g. OpenSSL failure) */
	MJA_ERR_INVAL,            /* "invalid argument" */
	/* token shape (docs/design.md, "Token rules" 1-2) */
	MJA_ERR_TOO_LONG,         /* "token too long" */
	MJA_ERR_MALFORMED,        /* "malformed token" (segments / base64url) */
	MJA_ERR_BAD_HEADER,       /* "bad header" (not a JSON object, bad typ, bad kid type...) */
	MJA_ERR_ALG_NOT_ALLOWED,  /* "algorithm not allowed" (includes none) */
	MJA_ERR_CRIT,             /* "crit header not supported" */
	/* key selection and signature ("Token rules" 3-4) */
	MJA_ERR_UNKNOWN_KID,      /* "unknown kid" */
	MJA_ERR_NO_KEY,           /* "no key for algorithm" */
	MJA_ERR_BAD_SIGNATURE,    /* "bad signature" */
	/* payload and claims ("Token rules" 5-8) */
	MJA_ERR_BAD_PAYLOAD,      /* "bad payload" (not object, duplicate names, bad claim type) */
	MJA_ERR_EXPIRED,          /* "expired" */
	MJA_ERR_NOT_YET_VALID,    /* "not yet valid" (nbf) */
	MJA_ERR_IAT_FUTURE,       /* "issued in the future" */
	MJA_ERR_TOO_OLD,          /* "token too old" (max_token_age) */
	MJA_ERR_ISSUER,           /* "wrong issuer" */
	MJA_ERR_AUDIENCE,         /* "wrong audience" */
	MJA_ERR_MISSING_CLAIM,    /* "missing required claim" */
	MJA_ERR_BAD_SUB,          /* "bad sub" */
	MJA_ERR_USERNAME_MISMATCH,/* "username does not match sub" */
	MJA_ERR_CLIENTID_MISMATCH,/* "client id does not match sub" */
	MJA_ERR_NOT_JWT,          /* "not a JWT" (non_jwt deny) */
	MJA_ERR_NO_TOKEN,         /* "no token" */
	MJA_ERR_REAUTH_SUB,       /* "re-authentication with a different sub" */
	/* configuration and files */
	MJA_ERR_FILE,             /* "cannot read file" */
	MJA_ERR_KEY,              /* "unusable key" */
	MJA_ERR_CONFIG,           /* "bad configuration" */
	MJA_ERR_ACL_SYNTAX,       /* "ACL file syntax error" */
	/* appended reasons (keep the values above stable) */
	MJA_ERR_REVOKED,          /* "revoked" (revocation_file) */
	/* permissions in the token */
	MJA_ERR_BAD_ACL_CLAIM,    /* "bad acl claim" (acl_claim malformed) */
	MJA_ERR_CLAIM_MISMATCH,   /* "claim mismatch" (claim_match) */
	/* keys from the identity provider */
	MJA_ERR_KEYS_UNAVAILABLE, /* "keys unavailable" (JWKS not fetched, or older than jwks_max_stale; jwks.h) */
	MJA_ERR__COUNT
} mja_err;

/* Short, static, human-readable reason. Never NULL; unknown values give
 * "unknown error". */
const char *mja_strerror(mja_err e);

/* A caller-owned diagnostic buffer (like jansson's json_error_t): functions
 * that load files or options write the file, line and reason here. The first
 * message set sticks; later mja_diag_set() calls on a non-empty diag are
 * ignored. Initialise with mja_diag_clear() or = {0}.
 *
 * warning: things that load but deserve the operator's attention (a secret
 * file every user may read), also on success; each mja_diag_warn() appends,
 * separated by "; ", and what does not fit is cut. The plugin logs it as a
 * warning, the tool prints it. */
typedef struct mja_diag {
	char text[512];
	char warning[512];
} mja_diag;

/* Clears text and warning. */
void mja_diag_clear(mja_diag *d);
/* printf-style; d may be NULL (then nothing happens). */
void mja_diag_set(mja_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* printf-style, appended to d->warning; d may be NULL. */
void mja_diag_warn(mja_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
