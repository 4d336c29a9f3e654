/* sig.h - JWS signature creation and verification with OpenSSL 3 EVP.
 *
 * The key pins the algorithm: both functions first require
 * mja_key_fits(k, alg) and check the key type again (EVP_PKEY_id) before
 * touching the signature. HMAC is compared in constant time (CRYPTO_memcmp).
 * ECDSA signatures are raw R||S of exactly 2 * coordinate size bytes
 * (64, 96, 132; RFC 7518 3.4) and are converted to DER internally.
 * RSASSA-PSS uses MGF1 with the same hash and a salt exactly as long as the
 * hash (RFC 7518 3.5); other salt lengths are refused on verify. RSA
 * signatures must be exactly the modulus size, HMACs the full hash size,
 * Ed25519 signatures 64 bytes (pure EdDSA, RFC 8037 3.1).
 */
#ifndef MJA_SIG_H
#define MJA_SIG_H

#include <stddef.h>
#include "mja/token/alg.h"
#include "mja/token/key.h"
#include "mja/util/error.h"

/* MJA_OK iff sig is a valid alg signature of input under k.
 * MJA_ERR_BAD_SIGNATURE for a wrong or wrongly sized signature,
 * MJA_ERR_NO_KEY if the key does not fit alg, MJA_ERR_INTERNAL/NOMEM else. */
mja_err mja_sig_verify(const mja_key *k, mja_alg alg,
		const unsigned char *input, size_t inlen,
		const unsigned char *sig, size_t siglen);

/* Sign input (mja_tool library, tools/lib/sig_sign.c: never in the plugin);
 * *sig is malloc'd (caller frees), *siglen its length. ECDSA
 * output is raw R||S. k must be a private key or a secret (a public key:
 * MJA_ERR_INVAL; a key that does not fit alg: MJA_ERR_NO_KEY). */
mja_err mja_sig_sign(const mja_key *k, mja_alg alg,
		const unsigned char *input, size_t inlen,
		unsigned char **sig, size_t *siglen);

#endif
