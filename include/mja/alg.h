/* alg.h - JWS algorithm identifiers (RFC 7518 section 3, RFC 8037 for EdDSA). */
#ifndef MJA_ALG_H
#define MJA_ALG_H

#include <stddef.h>
#include <stdint.h>
#include "mja/error.h"

typedef enum mja_alg {
	MJA_ALG_HS256 = 0, MJA_ALG_HS384, MJA_ALG_HS512,
	MJA_ALG_RS256, MJA_ALG_RS384, MJA_ALG_RS512,
	MJA_ALG_PS256, MJA_ALG_PS384, MJA_ALG_PS512,
	MJA_ALG_ES256, MJA_ALG_ES384, MJA_ALG_ES512,
	MJA_ALG_EDDSA,
	MJA_ALG__COUNT
} mja_alg;

/* A set of algorithms: bit (1u << alg). */
typedef uint32_t mja_alg_set;
#define MJA_ALG_BIT(a) ((mja_alg_set)1u << (a))
#define MJA_ALG_SET_ALL ((mja_alg_set)((1u << MJA_ALG__COUNT) - 1u))

/* Case-sensitive lookup (RFC 7515 4.1.1: alg values are case-sensitive).
 * "none" and anything unknown give MJA_ERR_ALG_NOT_ALLOWED. */
mja_err mja_alg_from_name(const char *name, size_t len, mja_alg *out);

/* Canonical name ("HS256", ..., "EdDSA"); "?" for out-of-range values. */
const char *mja_alg_name(mja_alg a);

/* Parse an allow-list option value: names separated by commas and/or
 * spaces. "none" (any case), unknown names and an empty list are errors
 * written to d. */
mja_err mja_alg_set_parse(const char *list, size_t len, mja_alg_set *out, mja_diag *d);

#endif
