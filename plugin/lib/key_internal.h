/* key_internal.h - the inside of mja_key, shared by key.c, key_jwk.c,
 * key_gen.c and sig.c only. Nothing outside plugin/lib includes this.
 */
#ifndef MJA_KEY_INTERNAL_H
#define MJA_KEY_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <openssl/evp.h>

#include "mja/alg.h"
#include "mja/error.h"
#include "mja/key.h"

/* Largest key or secret file read (a JWKS of a few hundred keys fits). */
#define MJA_KEY_FILE_MAX ((size_t)1 << 20)
/* RFC 7518 3.2: a secret of at least the hash size; 32 for any HS alg. */
#define MJA_SECRET_MIN 32
/* RSA bounds: RFC 7518 3.3 (>= 2048) and OpenSSL's verify limit. */
#define MJA_RSA_MIN_BITS 2048
#define MJA_RSA_MAX_BITS 16384

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
	/* oct: HMAC-SHA256/384/512 (RFC 2104) inner and outer digest states
	 * after absorbing K^ipad and K^opad; each use copies them */
	EVP_MD_CTX *hmac_in[3], *hmac_out[3];
	/* RSA, EC: per algorithm the key's type serves (RS*, PS*, its ES*), an
	 * EVP_PKEY_CTX set up once for verification (digest, padding, PSS
	 * salt rule); each verification uses a duplicate (sig.c). Set by
	 * mja_key__adopt_pkey, never changed afterwards. vmd: fetched
	 * SHA-256/384/512 for hashing the signing input. */
	EVP_PKEY_CTX *vctx[MJA_ALG__COUNT];
	EVP_MD *vmd[3];
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

mja_key *mja_key__new(mja_kty kty, const char *origin);
mja_err mja_key__set_kid(mja_key *k, const char *kid, size_t len);
/* Copies the secret and prepares the HMAC contexts. */
mja_err mja_key__set_secret(mja_key *k, const unsigned char *s, size_t len);
/* Takes ownership of pkey (freed on error too); checks type, size, curve.
 * reason buffer gets a short reason on MJA_ERR_KEY. */
mja_err mja_key__adopt_pkey(mja_key *k, EVP_PKEY *pkey, char *reason, size_t rlen);

/* A private key (is_private) from pkey (owned, freed on error), checked
 * like any other; kid may be NULL. */
mja_err mja_key__private(EVP_PKEY *pkey, const char *kid, const char *origin,
		mja_key **out, mja_diag *d);

mja_err mja_keylist__push(struct mja_keylist *l, mja_key *k);
void mja_keylist__free(struct mja_keylist *l);

/* Parse a JWK or JWKS (JSON text) into keys appended to out. */
mja_err mja_jwk__parse(const char *buf, size_t len, int mode, const char *origin,
		struct mja_keylist *out, mja_diag *d);

/* "<origin>: <reason>" into d; returns e. */
mja_err mja_key__fail(mja_diag *d, mja_err e, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Copy s[0..len) into out (size outsz) for a log line: printable ASCII
 * only, others and '"' '\\' become '?', truncated with "...". */
void mja_key__printable(const char *s, size_t len, char *out, size_t outsz);

/* MJA_ALG_ES256/384/512 for an EC key on P-256/384/521, else -1;
 * *bits gets the field size. */
int mja_key__es_alg(const EVP_PKEY *pkey, int *bits);

/* Read a whole file (at most max bytes) into a malloc'd buffer. */
mja_err mja_key__read_file(const char *path, size_t max, char **buf, size_t *len,
		mja_diag *d);

/* Digest of an algorithm (NULL for EdDSA). */
const EVP_MD *mja_sig__md(mja_alg alg);

/* Fill k->vctx / k->vmd for the algorithms k->pkey's type serves (called by
 * mja_key__adopt_pkey once k->pkey is set); MJA_ERR_NOMEM/INTERNAL on
 * failure. mja_sig__unprepare frees them (mja_key_free). */
mja_err mja_sig__prepare(mja_key *k);
void mja_sig__unprepare(mja_key *k);

#endif
