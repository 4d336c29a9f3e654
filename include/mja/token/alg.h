/* alg.h - JWS algorithm identifiers (RFC 7518 section 3, RFC 8037 for EdDSA). */
#ifndef MJA_ALG_H
#define MJA_ALG_H

#include <stddef.h>
#include <stdint.h>
#include "mja/util/error.h"

typedef enum mja_alg {
	MJA_ALG_HS256 = 0, MJA_ALG_HS384, MJA_ALG_HS512,
	MJA_ALG_RS256, MJA_ALG_RS384, MJA_ALG_RS512,
	MJA_ALG_PS256, MJA_ALG_PS384, MJA_ALG_PS512,
	MJA_ALG_ES256, MJA_ALG_ES384, MJA_ALG_ES512,
	MJA_ALG_EDDSA,
	MJA_ALG__COUNT
} mja_alg;

/* Key types (RFC 7517 4.1 "kty"). */
typedef enum mja_kty {
	MJA_KTY_OCT = 1,  /* HMAC secret */
	MJA_KTY_RSA,
	MJA_KTY_EC,
	MJA_KTY_OKP       /* Ed25519 */
} mja_kty;

/* Signature families (RFC 7518 3.2 - 3.5, RFC 8037 3.1). */
typedef enum mja_alg_family {
	MJA_FAMILY_HMAC = 0,   /* HS*: HMAC with SHA-2 */
	MJA_FAMILY_RSA_PKCS1,  /* RS*: RSASSA-PKCS1-v1_5 */
	MJA_FAMILY_RSA_PSS,    /* PS*: RSASSA-PSS, MGF1 with the same hash, salt = hash size */
	MJA_FAMILY_ECDSA,      /* ES*: ECDSA, signature R||S */
	MJA_FAMILY_EDDSA       /* EdDSA: pure Ed25519, no pre-hash */
} mja_alg_family;

/* The hash of an algorithm; also the index of per-hash state in a key. */
typedef enum mja_digest {
	MJA_DIGEST_NONE = -1,  /* EdDSA */
	MJA_DIGEST_SHA256 = 0,
	MJA_DIGEST_SHA384,
	MJA_DIGEST_SHA512,
	MJA_DIGEST__COUNT
} mja_digest;

/* RSA modulus bounds: RFC 7518 3.3 (at least 2048) and OpenSSL's limit. */
#define MJA_RSA_MIN_BITS 2048
#define MJA_RSA_MAX_BITS 16384

/* Everything the project knows about one algorithm: the one table that
 * signing, verification, key checks, JWK parsing and key generation read
 * (alg.c). */
typedef struct mja_alg_info {
	const char *name;          /* the JOSE "alg" value, "HS256" ... "EdDSA" */
	mja_alg_family family;
	mja_kty kty;               /* the only key type that may sign or verify it */
	mja_digest digest;         /* MJA_DIGEST_NONE for EdDSA */
	const char *digest_name;   /* OpenSSL's name ("SHA256"); NULL for EdDSA */
	size_t digest_len;         /* 32, 48, 64; 0 for EdDSA */
	/* signature bytes: HMAC the full hash (RFC 7518 3.2), ECDSA 2 * coord_len
	 * (3.4), EdDSA 64 (RFC 8032 5.1.6); 0: the RSA modulus size (3.3, 3.5) */
	size_t sig_len;
	/* key size rules: HMAC a secret of at least min_key_bytes (the hash
	 * size, RFC 7518 3.2); RSA min_bits..max_bits; EC and Ed25519 exactly
	 * min_bits (the curve's field size) */
	size_t min_key_bytes;
	int min_bits, max_bits;
	const char *curve;         /* ES*: JWK "crv" and OpenSSL group ("P-256"); EdDSA "Ed25519" */
	size_t coord_len;          /* ES*: bytes of x, y, d and of R, S (32, 48, 66); EdDSA 32 */
} mja_alg_info;

/* The table row of a, or NULL for an out-of-range value. */
const mja_alg_info *mja_alg_info_of(mja_alg a);

/* The ECDSA algorithm whose curve is named crv[0..len) ("P-256", "P-384",
 * "P-521", exactly), or -1. */
int mja_alg_by_curve(const char *crv, size_t len);

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
