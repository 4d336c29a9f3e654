/* key.h - verification keys, key sets, and private keys for signing.
 *
 * A mja_key is one usable key: an HMAC secret (kty oct) or an OpenSSL
 * EVP_PKEY (RSA, EC P-256/P-384/P-521, Ed25519), with the JWK metadata that
 * restricts it (kid, alg, use, key_ops). A key pins the algorithms it may
 * verify (RFC 8725 3.1; docs/design.md, "Token rules" 3): mja_key_fits()
 * is the only judge.
 *
 * A mja_keyset owns its keys. Loading functions are all-or-nothing: on any
 * error nothing is added to the set and d names the origin (file) and the
 * reason. HMAC secrets are scrubbed (OPENSSL_cleanse) before they are freed.
 * A keyset is immutable once handed to the verifier; reload builds a new one.
 *
 * Diagnostics are "<origin>: <reason>"; for a key inside a JWKS,
 * "<origin>: key N (kid \"K\"): <reason>" with N counted from 1, e.g.
 * "keys/x.jwks: key 2 (kid \"a\"): unsupported curve P-192". Text taken from
 * the file (kid, crv, kty) is escaped (mja_text_printable) and shortened.
 */
#ifndef MJA_KEY_H
#define MJA_KEY_H

#include <stddef.h>
#include <stdint.h>
#include "mja/token/alg.h"
#include "mja/util/error.h"

/* mja_kty: alg.h. */

/* Largest key or secret file read (a JWKS of a few hundred keys fits). */
#define MJA_KEY_FILE_MAX ((size_t)1 << 20)

typedef struct mja_key mja_key;       /* opaque */
typedef struct mja_keyset mja_keyset; /* opaque */

/* ---- key sets (verification) ---- */

mja_keyset *mja_keyset_new(void);                 /* NULL on allocation failure */
void mja_keyset_free(mja_keyset *ks);             /* NULL is fine; scrubs secrets */

/* A key file: PEM "PUBLIC KEY" (RSA/EC/Ed25519), PEM "RSA PUBLIC KEY",
 * PEM X.509 "CERTIFICATE" (its public key), or JSON: a JWK object or a JWKS
 * ({"keys":[...]}); the format is detected from the content. A private
 * key (PEM private key, or a JWK with private members such as "d") given as
 * a key file is refused (MJA_ERR_KEY, "contains private key material"), so
 * that private keys are not spread to brokers by mistake; kty "oct" JWKs
 * are secrets by nature and are accepted. Keys in a JWKS whose kty is
 * unknown are refused (not skipped); a JWK's "use" other than "sig" or
 * key_ops without "verify" makes the key unusable for verification but is
 * not an error; so is an "alg" naming an algorithm we do not implement
 * (e.g. "RSA-OAEP"). RSA keys shorter than 2048 bits are refused (RFC 7518
 * 3.3). Also refused: EC curves other than P-256/384/521, EC points not on
 * the curve or with x/y not of the exact coordinate size, OKP curves other
 * than Ed25519 (X25519/X448 are for key agreement), RSA-PSS-restricted
 * keys, more than one certificate in one PEM file (a chain would let the
 * CA's key sign tokens), oct secrets shorter than 32 bytes, files larger
 * than 1 MiB, an empty JWKS. A PEM file may hold several public keys; all
 * are added. Certificates are only carriers of a key: their validity
 * dates and issuer are not checked. */
mja_err mja_keyset_load_key_file(mja_keyset *ks, const char *path, mja_diag *d);

/* An HMAC secret file: the file's bytes less one trailing "\n" or "\r\n".
 * An empty secret, or one shorter than 32 bytes (RFC 7518 3.2), is refused. */
mja_err mja_keyset_load_secret_file(mja_keyset *ks, const char *path, mja_diag *d);

/* The same from memory; origin names the source in diagnostics. */
mja_err mja_keyset_add_pem(mja_keyset *ks, const char *buf, size_t len,
		const char *origin, mja_diag *d);
mja_err mja_keyset_add_jwk_json(mja_keyset *ks, const char *buf, size_t len,
		const char *origin, mja_diag *d);
/* kid may be NULL. The bytes are copied. */
mja_err mja_keyset_add_secret(mja_keyset *ks, const unsigned char *secret, size_t len,
		const char *kid, const char *origin, mja_diag *d);

/* Add every key of src to dst, shared: both sets hold a reference and
 * each frees its own (a key is scrubbed and freed with its last set).
 * Used to build the key set in use from the key files' set and the sets
 * fetched from JWKS URLs (jwks.h) without copying keys. All or nothing. */
mja_err mja_keyset_add_shared(mja_keyset *dst, const mja_keyset *src);

size_t mja_keyset_count(const mja_keyset *ks);
/* The i-th key (0 <= i < count), borrowed from the set. */
const mja_key *mja_keyset_get(const mja_keyset *ks, size_t i);
/* Union of the algorithms that some key in the set fits. */
mja_alg_set mja_keyset_algs(const mja_keyset *ks);

/* Candidate keys for a token (RFC 7515 4.1.4). With kid (kidlen bytes, not NUL
 * terminated, may contain anything): the keys whose kid equals it exactly;
 * none -> MJA_ERR_UNKNOWN_KID. Several keys may share a kid (during a
 * rotation, or one kid for an RSA and an EC key): all are kept, and all
 * that fit are returned, in load order, to be tried in turn. Without kid (kid == NULL): all keys. Of those,
 * only keys for which mja_key_fits(k, alg) holds are written to out (at most
 * max, borrowed pointers); if none fits -> MJA_ERR_NO_KEY. */
mja_err mja_keyset_find(const mja_keyset *ks, mja_alg alg, const char *kid, size_t kidlen,
		const mja_key **out, size_t max, size_t *n);

/* ---- single keys ---- */

mja_kty mja_key_type(const mja_key *k);
/* The key's kid or NULL (borrowed). */
const char *mja_key_kid(const mja_key *k);
/* Origin (file name or "memory"), borrowed. */
const char *mja_key_origin(const mja_key *k);
/* True iff this key may verify (or sign) alg: key type matches the family
 * (HS: oct; RS/PS: RSA >= 2048 bits; ES256/384/512: EC on P-256/P-384/P-521
 * exactly; EdDSA: Ed25519), the HMAC secret is at least the hash size, and
 * the JWK's alg (if any) equals alg, its use (if any) is "sig", its key_ops
 * (if any) contain "verify" (or "sign" for a private key). Keys of a keyset
 * are never private except oct; keys from mja_key_load_private_file,
 * mja_key_from_private_pem, mja_key_from_secret and mja_key_generate are. */
int mja_key_fits(const mja_key *k, mja_alg alg);

/* ---- private keys (for mosquitto_jwt sign, tests and benchmarks) ----
 * These and key generation below are in the mja_tool library
 * (tools/lib/key_private.c, key_gen.c), never in the plugin. */

/* Load a PEM private key (PKCS#8, traditional RSA/EC; encrypted PEM is
 * refused, never prompted for) or a private JWK (or a JWKS: then the key
 * whose kid is kid, or its only key); the result is owned by the caller.
 * kid may be NULL; it becomes the key's kid if the key has none. */
mja_err mja_key_load_private_file(const char *path, const char *kid, mja_key **out, mja_diag *d);
mja_err mja_key_from_private_pem(const char *buf, size_t len, const char *kid,
		mja_key **out, mja_diag *d);
/* An HMAC secret as a standalone key (copied), for signing. */
mja_err mja_key_from_secret(const unsigned char *secret, size_t len, const char *kid,
		mja_key **out, mja_diag *d);
void mja_key_free(mja_key *k);   /* scrubs secrets; NULL is fine */

/* Generate a key: kty MJA_KTY_OCT (bits = secret size in bits, a multiple
 * of 8 from 256 to 4096), RSA (2048 <= bits <= 16384), EC (bits
 * 256/384/521), OKP (bits ignored: Ed25519). Bad sizes: MJA_ERR_INVAL. */
mja_err mja_key_generate(mja_kty kty, int bits, const char *kid, mja_key **out, mja_diag *d);
/* Serialise: PEM of the private key, PEM of the public key, and a public
 * JWK (JSON object text, with kid and alg if given, "use":"sig"). Output
 * strings are malloc'd and owned by the caller. For oct keys the "PEM"
 * outputs are not available (MJA_ERR_INVAL) and the JWK contains k. The
 * private PEM is PKCS#8, unencrypted. An alg that the key does not fit is
 * MJA_ERR_INVAL. */
mja_err mja_key_private_pem(const mja_key *k, char **out);
mja_err mja_key_public_pem(const mja_key *k, char **out);
mja_err mja_key_public_jwk(const mja_key *k, const char *alg, char **out);

#endif
