/* error.c - reason strings and diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mja/util/error.h"

const char *mja_strerror(mja_err e)
{
	switch (e) {
	case MJA_OK: return "ok";
	case MJA_ERR_NOMEM: return "out of memory";
	case MJA_ERR_INTERNAL: return "internal error";
	case MJA_ERR_INVAL: return "invalid argument";
	case MJA_ERR_TOO_LONG: return "token too long";
	case MJA_ERR_MALFORMED: return "malformed token";
	case MJA_ERR_BAD_HEADER: return "bad header";
	case MJA_ERR_ALG_NOT_ALLOWED: return "algorithm not allowed";
	case MJA_ERR_CRIT: return "crit header not supported";
	case MJA_ERR_UNKNOWN_KID: return "unknown kid";
	case MJA_ERR_NO_KEY: return "no key for algorithm";
	case MJA_ERR_BAD_SIGNATURE: return "bad signature";
	case MJA_ERR_BAD_PAYLOAD: return "bad payload";
	case MJA_ERR_EXPIRED: return "expired";
	case MJA_ERR_NOT_YET_VALID: return "not yet valid";
	case MJA_ERR_IAT_FUTURE: return "issued in the future";
	case MJA_ERR_TOO_OLD: return "token too old";
	case MJA_ERR_ISSUER: return "wrong issuer";
	case MJA_ERR_AUDIENCE: return "wrong audience";
	case MJA_ERR_MISSING_CLAIM: return "missing required claim";
	case MJA_ERR_BAD_SUB: return "bad sub";
	case MJA_ERR_USERNAME_MISMATCH: return "username does not match sub";
	case MJA_ERR_CLIENTID_MISMATCH: return "client id does not match sub";
	case MJA_ERR_NOT_JWT: return "not a JWT";
	case MJA_ERR_NO_TOKEN: return "no token";
	case MJA_ERR_REAUTH_SUB: return "re-authentication with a different sub";
	case MJA_ERR_FILE: return "cannot read file";
	case MJA_ERR_KEY: return "unusable key";
	case MJA_ERR_CONFIG: return "bad configuration";
	case MJA_ERR_ACL_SYNTAX: return "ACL file syntax error";
	case MJA_ERR_KEYS_UNAVAILABLE: return "keys unavailable";
	case MJA_ERR_REVOKED: return "revoked";
	case MJA_ERR_BAD_ACL_CLAIM: return "bad acl claim";
	case MJA_ERR_CLAIM_MISMATCH: return "claim mismatch";
	case MJA_ERR__COUNT: break;
	}
	return "unknown error";
}

void mja_diag_clear(mja_diag *d)
{
	if (d) {
		d->text[0] = '\0';
		d->warning[0] = '\0';
	}
}

void mja_diag_warn(mja_diag *d, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!d)
		return;
	used = strnlen(d->warning, sizeof(d->warning));
	if (used >= sizeof(d->warning) - 1)
		return;
	if (used > 0) {
		snprintf(d->warning + used, sizeof(d->warning) - used, "; ");
		used = strnlen(d->warning, sizeof(d->warning));
	}
	va_start(ap, fmt);
	vsnprintf(d->warning + used, sizeof(d->warning) - used, fmt, ap);
	va_end(ap);
}

void mja_diag_set(mja_diag *d, const char *fmt, ...)
{
	va_list ap;

	if (!d || d->text[0] != '\0')
		return; /* the first error sticks */
	va_start(ap, fmt);
	vsnprintf(d->text, sizeof(d->text), fmt, ap);
	va_end(ap);
	if (d->text[0] == '\0')
		snprintf(d->text, sizeof(d->text), "error");
}
