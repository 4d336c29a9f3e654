/* key_internal.h - the inside of mja_key, for the key module's own files
 * and the signature code. Internal headers (*_internal.h) live beside the
 * module headers in include/mja/; only the module's .c files, the signature
 * code and the module's unit tests include them.
 *
 * Layering (no cycles): key.c (keys, key sets, verification contexts, the
 * algorithm table applied to keys) <- key_jwk.c (JWK/JWKS parsing) <-
 * key_load.c (key and secret files, PEM); sig.c (verification) uses key.c;
 * jwks.c (key sets fetched over HTTPS) uses key_jwk.c's parser.
 * Tool-only, in the mja_tool library: key_private.c (private keys),
 * key_gen.c (generation, serialisation), sig_sign.c (signing).
 */
#ifndef MJA_KEY_INTERNAL_H
#define MJA_KEY_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "mja/token/alg.h"
#include "mja/util/error.h"
#include "mja/token/key.h"

/* RFC 7518 3.2: a secret of at least the hash size; 32 for any HS alg. */
#define MJA_SECRET_MIN 32

/* A SHA-256, SHA-384 or SHA-512 state in OpenSSL's low-level form: a plain
 * struct, copied by assignment. HMAC keeps its keyed halves so (key.c). */
typedef union mja_sha2 {
	SHA256_CTX s256;
	SHA512_CTX s512;   /* SHA-384 too */
} mja_sha2;

struct mja_key {
	/* Further owners besides the first (mja_keyset_add_shared): a key
	 * may sit in several key sets; mja_key_free drops one reference.
	 * Only changed on one thread at a time (keys built by the JWKS
	 * fetcher are handed to the broker's thread before they are shared). */
	unsigned extra_refs;
	mja_kty kty;
	int is_private;          /* may sign: private key or secret */
	EVP_PKEY *pkey;          /* RSA, EC, Ed25519 */
	int bits;                /* RSA modulus / EC field size */
	int es_alg;              /* EC: MJA_ALG_ES256/384/512 for its curve; -1 else */
	unsigned char *secret;   /* oct: scrubbed on free */
	size_t secret_len;
	/* oct: per digest (alg.h), the HMAC (RFC 2104) inner and outer hash
	 * states after absorbing K^ipad and K^opad ([d][0], [d][1]); each MAC
	 * starts from copies on its stack (sig.c): no allocation and no
	 * provider dispatch per token. Scrubbed on free; NULL for other keys. */
	mja_sha2 (*hmac_pad)[2];
	/* RSA, EC: per algorithm the key's type serves (RS*, PS*, its ES*), an
	 * EVP_PKEY_CTX set up once for verification (digest, padding, PSS
	 * salt rule); each verification uses a duplicate (sig.c). Set by
	 * mja_key__adopt_pkey, never changed afterwards. vmd: fetched digests
	 * for hashing the signing input, by mja_digest. */
	EVP_PKEY_CTX *vctx[MJA_ALG__COUNT];
	EVP_MD *vmd[MJA_DIGEST__COUNT];
	char *kid;               /* NUL-free, NUL-terminated, or NULL */
	size_t kid_len;
	char *origin;
	/* JWK restrictions (RFC 7517 4.2 - 4.4) */
	int alg_pinned;          /* "alg" present */
	mja_alg_set alg_pin;     /* the alg it names; 0 if not one we know */
	int use_other;           /* "use" present and not "sig" */
	int has_ops;             /* "key_ops" present */
	int ops_verify, ops_sign;
};

/* A growable list of keys used while loading (all-or-nothing). */
struct mja_keylist {
	mja_key **v;
	size_t n, cap;
};

/* Modes of the JWK parser. */
enum { MJA_JWK_PUBLIC = 0, MJA_JWK_PRIVATE = 1 };

/* ---- key.c ---- */

mja_key *mja_key__new(mja_kty kty, const char *origin);
mja_err mja_key__set_kid(mja_key *k, const char *kid, size_t len);
/* Copies the secret and prepares the HMAC contexts. */
mja_err mja_key__set_secret(mja_key *k, const unsigned char *s, size_t len);

/* The SHA-2 hash of digest d (not MJA_DIGEST_NONE) on a mja_sha2 state:
 * start, absorb, finish (md: the digest's size). */
void mja_key__sha2_init(mja_digest d, mja_sha2 *c);
void mja_key__sha2_update(mja_digest d, mja_sha2 *c, const void *p, size_t n);
void mja_key__sha2_final(mja_digest d, mja_sha2 *c, unsigned char *md);
/* Takes ownership of pkey on every path (freed on error too); checks type,
 * size, curve; prepares the verification contexts. reason gets a short
 * reason on MJA_ERR_KEY. */
mja_err mja_key__adopt_pkey(mja_key *k, EVP_PKEY *pkey, char *reason, size_t rlen);
/* A secret key (oct) for a secret of len bytes: refused when empty or
 * shorter than MJA_SECRET_MIN; d gets "<origin>: <reason>". */
mja_err mja_key__secret(const unsigned char *s, size_t len, const char *kid,
		const char *origin, mja_key **out, mja_diag *d);

/* 1 iff k's OpenSSL key (or secret) is of the type alg's table row names:
 * the second, independent check before any signature is touched. */
int mja_key__type_ok(const mja_key *k, mja_alg alg);
/* RSA-PSS padding, MGF1 digest and salt rule for alg (RFC 7518 3.5) on a
 * signing or verification context; nothing for other families. 1 on
 * success. */
int mja_key__set_padding(EVP_PKEY_CTX *pc, mja_alg alg);
/* The digest of alg's table row (NULL for EdDSA). */
const EVP_MD *mja_key__md(mja_alg alg);

/* Append k. Takes k on every path (jansson's _new rule): on failure
 * (MJA_ERR_NOMEM) k is freed, so the caller never frees it by hand. */
mja_err mja_keylist__push(struct mja_keylist *l, mja_key *k);
void mja_keylist__free(struct mja_keylist *l);
/* Move every key of l into ks, or none; l is emptied on every path. */
mja_err mja_keyset__take(mja_keyset *ks, struct mja_keylist *l, const char *origin,
		mja_diag *d);

/* "<origin>: <reason>" into d; returns e. */
mja_err mja_key__fail(mja_diag *d, mja_err e, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* MJA_ALG_ES256/384/512 for an EC key on P-256/384/521, else -1;
 * *bits gets the field size. */
int mja_key__es_alg(const EVP_PKEY *pkey, int *bits);

/* ---- key_jwk.c ---- */

/* Parse a JWK or JWKS (JSON text) into keys appended to out. */
mja_err mja_jwk__parse(const char *buf, size_t len, int mode, const char *origin,
		struct mja_keylist *out, mja_diag *d);

/* ---- key_load.c ---- */

/* Length of a UTF-8 byte order mark at buf (some editors write one). */
size_t mja_key__bom_len(const char *buf, size_t len);
/* First non-blank byte after a BOM is '{': JSON (RFC 8259), else PEM. */
int mja_key__looks_like_json(const char *buf, size_t len);

/* ---- key_private.c (mja_tool) ---- */

/* A private key (is_private) from pkey, taking ownership of pkey on every
 * path, checked like any other; kid may be NULL. */
mja_err mja_key__private(EVP_PKEY *pkey, const char *kid, const char *origin,
		mja_key **out, mja_diag *d);

#endif
