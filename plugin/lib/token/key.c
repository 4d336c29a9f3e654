/* key.c - keys, key sets, key selection, and the verification contexts a
 * key prepares for the algorithms it serves (from alg.h's table).
 *
 * Layering (key_internal.h): JWK parsing is in key_jwk.c, key and secret
 * files and PEM in key_load.c; the tool-only code (private keys, key
 * generation, signing) in key_private.c, key_gen.c and sig_sign.c.
 */
/* OpenSSL's low-level SHA-2 functions (deprecated in 3.0, still exported
 * and documented): the HMAC halves are plain structs copied per MAC, where
 * an EVP_MD_CTX copy allocates and dispatches through the provider. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "mja/token/key.h"
#include "mja/token/key_internal.h"

struct mja_keyset {
	mja_key **v;
	size_t n;
	mja_alg_set algs;   /* union of what the keys fit, kept up to date */
};

/* ---- diagnostics ---- */

mja_err mja_key__fail(mja_diag *d, mja_err e, const char *origin, const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	mja_diag_set(d, "%s: %s", origin ? origin : "memory", reason);
	ERR_clear_error(); /* leave no OpenSSL errors behind for other code */
	return e;
}

/* ---- the algorithm table applied to a key ---- */

const EVP_MD *mja_key__md(mja_alg alg)
{
	const mja_alg_info *ai = mja_alg_info_of(alg);

	return ai && ai->digest_name ? EVP_get_digestbyname(ai->digest_name) : NULL;
}

int mja_key__type_ok(const mja_key *k, mja_alg alg)
{
	const mja_alg_info *ai = mja_alg_info_of(alg);
	int bits;

	if (!k || !ai)
		return 0;
	switch (ai->family) {
	case MJA_FAMILY_HMAC:
		return k->kty == MJA_KTY_OCT && k->secret && !k->pkey;
	case MJA_FAMILY_RSA_PKCS1:
	case MJA_FAMILY_RSA_PSS:
		return k->pkey && EVP_PKEY_get_id(k->pkey) == EVP_PKEY_RSA &&
			EVP_PKEY_get_bits(k->pkey) >= ai->min_bits;
	case MJA_FAMILY_ECDSA:
		return k->pkey && EVP_PKEY_get_id(k->pkey) == EVP_PKEY_EC &&
			mja_key__es_alg(k->pkey, &bits) == (int)alg;
	case MJA_FAMILY_EDDSA:
		return k->pkey && EVP_PKEY_get_id(k->pkey) == EVP_PKEY_ED25519;
	}
	return 0;
}

int mja_key__set_padding(EVP_PKEY_CTX *pc, mja_alg alg)
{
	const mja_alg_info *ai = mja_alg_info_of(alg);

	if (!ai || ai->family != MJA_FAMILY_RSA_PSS)
		return ai != NULL; /* RS: PKCS#1 v1.5 is the default */
	/* RFC 7518 3.5: MGF1 with the same hash, salt length = hash length.
	 * RSA_PSS_SALTLEN_DIGEST on verify requires exactly that length
	 * (RSA_PSS_SALTLEN_AUTO would accept any salt). */
	return EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) > 0 &&
		EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mja_key__md(alg)) > 0;
}

/* Prepared verification contexts (RS, PS, ES).
 *
 * EVP_DigestVerifyInit fetches the signature algorithm and the digest and
 * builds a context for every token: about 8% of an RS256 verification
 * and 3% of an ES256 one (callgrind), all of it our overhead. Instead, for
 * each algorithm a key serves, one context is set up when the key is made
 * (EVP_PKEY_verify_init, the digest, the padding and PSS salt rule); a
 * verification hashes the signing input itself and checks the signature
 * with EVP_PKEY_verify on a duplicate of that context (sig.c). OpenSSL
 * runs the same check either way (EVP_DigestVerify ends in the same
 * provider verify on the digest). */
static void unprepare(mja_key *k)
{
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		EVP_PKEY_CTX_free(k->vctx[a]);
		k->vctx[a] = NULL;
	}
	for (int h = 0; h < MJA_DIGEST__COUNT; h++) {
		EVP_MD_free(k->vmd[h]);
		k->vmd[h] = NULL;
	}
}

static mja_err prepare(mja_key *k)
{
	if (!k->pkey)
		return MJA_OK;
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		const mja_alg_info *ai = mja_alg_info_of((mja_alg)a);
		EVP_PKEY_CTX *pc;

		/* HMAC keys have no pkey; Ed25519 is one-shot without a digest */
		if (ai->digest == MJA_DIGEST_NONE || ai->family == MJA_FAMILY_HMAC ||
		    !mja_key__type_ok(k, (mja_alg)a))
			continue;
		if (!k->vmd[ai->digest] &&
		    !(k->vmd[ai->digest] = EVP_MD_fetch(NULL, ai->digest_name, NULL)))
			goto fail;
		pc = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		if (!pc)
			goto fail;
		k->vctx[a] = pc;
		if (EVP_PKEY_verify_init(pc) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(pc, k->vmd[ai->digest]) <= 0 ||
		    !mja_key__set_padding(pc, (mja_alg)a))
			goto fail;
	}
	ERR_clear_error();
	return MJA_OK;
fail:
	unprepare(k);
	ERR_clear_error();
	return MJA_ERR_NOMEM;
}

/* ---- single keys ---- */

mja_key *mja_key__new(mja_kty kty, const char *origin)
{
	mja_key *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->kty = kty;
	k->es_alg = -1;
	k->origin = strdup(origin ? origin : "memory");
	if (!k->origin) {
		free(k);
		return NULL;
	}
	return k;
}

void mja_key_free(mja_key *k)
{
	if (!k)
		return;
	if (k->extra_refs) {
		k->extra_refs--;
		return;
	}
	if (k->secret) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
	if (k->hmac_pad) {
		OPENSSL_cleanse(k->hmac_pad, sizeof(k->hmac_pad[0]) * MJA_DIGEST__COUNT);
		free(k->hmac_pad);
	}
	unprepare(k);
	EVP_PKEY_free(k->pkey);
	free(k->kid);
	free(k->origin);
	free(k);
}

mja_err mja_key__set_kid(mja_key *k, const char *kid, size_t len)
{
	char *c;

	if (!kid)
		return MJA_OK;
	if (memchr(kid, '\0', len))
		return MJA_ERR_INVAL;
	c = malloc(len + 1);
	if (!c)
		return MJA_ERR_NOMEM;
	memcpy(c, kid, len);
	c[len] = '\0';
	free(k->kid);
	k->kid = c;
	k->kid_len = len;
	return MJA_OK;
}

void mja_key__sha2_init(mja_digest d, mja_sha2 *c)
{
	if (d == MJA_DIGEST_SHA256)
		SHA256_Init(&c->s256);
	else if (d == MJA_DIGEST_SHA384)
		SHA384_Init(&c->s512);
	else
		SHA512_Init(&c->s512);
}

void mja_key__sha2_update(mja_digest d, mja_sha2 *c, const void *p, size_t n)
{
	if (d == MJA_DIGEST_SHA256)
		SHA256_Update(&c->s256, p, n);
	else
		SHA512_Update(&c->s512, p, n);   /* SHA384_Update is SHA512_Update */
}

void mja_key__sha2_final(mja_digest d, mja_sha2 *c, unsigned char *md)
{
	if (d == MJA_DIGEST_SHA256)
		SHA256_Final(md, &c->s256);
	else if (d == MJA_DIGEST_SHA384)
		SHA384_Final(md, &c->s512);
	else
		SHA512_Final(md, &c->s512);
}

/* RFC 2104 2: absorb (K' ^ pad) into a fresh state, where K' is the key
 * zero-padded to the block size, or its hash if it is longer. */
static void hmac_half(mja_digest d, size_t bs, const unsigned char *key, size_t len,
		unsigned char pad, mja_sha2 *c)
{
	unsigned char blk[128];
	size_t i;

	memset(blk, 0, sizeof(blk));
	if (len > bs) {
		mja_key__sha2_init(d, c);
		mja_key__sha2_update(d, c, key, len);
		mja_key__sha2_final(d, c, blk);   /* the hash size, < bs */
	} else {
		memcpy(blk, key, len);
	}
	for (i = 0; i < bs; i++)
		blk[i] ^= pad;
	mja_key__sha2_init(d, c);
	mja_key__sha2_update(d, c, blk, bs);
	OPENSSL_cleanse(blk, sizeof(blk));
}

mja_err mja_key__set_secret(mja_key *k, const unsigned char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > INT_MAX)
		return MJA_ERR_INVAL;
	k->secret = malloc(len);
	if (!k->secret)
		return MJA_ERR_NOMEM;
	memcpy(k->secret, s, len);
	k->secret_len = len;

	/* The keyed halves are made once; each MAC copies them (sig.c),
	 * which spares the key schedule per token. */
	k->hmac_pad = calloc(MJA_DIGEST__COUNT, sizeof(k->hmac_pad[0]));
	if (!k->hmac_pad)
		return MJA_ERR_NOMEM;
	for (i = 0; i < MJA_DIGEST__COUNT; i++) {
		/* RFC 6234 / FIPS 180-4: 64-byte blocks for SHA-256, 128 for SHA-384/512 */
		size_t bs = i == MJA_DIGEST_SHA256 ? 64 : 128;

		hmac_half((mja_digest)i, bs, s, len, 0x36, &k->hmac_pad[i][0]);
		hmac_half((mja_digest)i, bs, s, len, 0x5c, &k->hmac_pad[i][1]);
	}
	return MJA_OK;
}

/* The ES alg of a named curve, or -1 (RFC 7518 3.4: the table's curves). */
int mja_key__es_alg(const EVP_PKEY *pkey, int *bits)
{
	char name[64];
	int nid;

	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
			name, sizeof(name), NULL))
		return -1;
	nid = OBJ_sn2nid(name);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	if (nid == NID_undef)
		return -1;
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		const mja_alg_info *ai = mja_alg_info_of((mja_alg)a);

		if (ai->family == MJA_FAMILY_ECDSA && EC_curve_nist2nid(ai->curve) == nid) {
			*bits = ai->min_bits;
			return a;
		}
	}
	return -1;
}


/* 1 iff the Ed25519 public key is one of the small-order points (the sign
 * bit ignored, as libsodium's ge25519_has_small_order does) or encodes
 * y >= p (non-canonical). Unreadable keys count as weak. */
static int ed25519_weak(EVP_PKEY *pkey)
{
	static const unsigned char blocklist[][32] = {
		{ 0 },   /* 0: order 4 */
		{ 1 },   /* 1: the identity */
		{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89,
		  0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
		  0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },   /* order 8 */
		{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76,
		  0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
		  0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },   /* order 8 */
	};
	unsigned char a[32];
	size_t len = sizeof(a), i;

	if (EVP_PKEY_get_raw_public_key(pkey, a, &len) != 1 || len != sizeof(a))
		return 1;
	a[31] &= 0x7f;  /* the sign of x does not change the order */
	for (i = 0; i < sizeof(blocklist) / sizeof(blocklist[0]); i++)
		if (memcmp(a, blocklist[i], sizeof(a)) == 0)
			return 1;
	/* y >= p - 1 (p = 2^255 - 19): p - 1 has order 2, y >= p is not a
	 * canonical encoding (and p, p + 1 are 0 and 1 again). */
	if (a[31] == 0x7f && a[0] >= 0xec) {
		for (i = 1; i < 31; i++)
			if (a[i] != 0xff)
				return 0;
		return 1;
	}
	return 0;
}

static int rsa_public_ok(const EVP_PKEY *pkey, char *reason, size_t rlen)
{
	BIGNUM *n = NULL, *e = NULL;
	int ok = 0;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
		snprintf(reason, rlen, "RSA key without modulus or exponent");
	else if (!BN_is_odd(n))
		snprintf(reason, rlen, "RSA modulus is even");
	else if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 64 || BN_cmp(e, n) >= 0)
		snprintf(reason, rlen, "bad RSA public exponent");
	else
		ok = 1;
	BN_free(n);
	BN_free(e);
	return ok;
}

mja_err mja_key__adopt_pkey(mja_key *k, EVP_PKEY *pkey, char *reason, size_t rlen)
{
	int id = EVP_PKEY_get_id(pkey);

	switch (id) {
	case EVP_PKEY_RSA:
		k->kty = MJA_KTY_RSA;
		k->bits = EVP_PKEY_get_bits(pkey);
		/* RFC 7518 3.3: a key of size 2048 bits or larger MUST be used */
		if (k->bits < MJA_RSA_MIN_BITS) {
			snprintf(reason, rlen, "RSA key of %d bits is too short (at least %d, RFC 7518 3.3)",
					k->bits, MJA_RSA_MIN_BITS);
			goto bad;
		}
		if (k->bits > MJA_RSA_MAX_BITS) {
			snprintf(reason, rlen, "RSA key of %d bits is too long (at most %d)",
					k->bits, MJA_RSA_MAX_BITS);
			goto bad;
		}
		if (!rsa_public_ok(pkey, reason, rlen))
			goto bad;
		break;
	case EVP_PKEY_EC: {
		EVP_PKEY_CTX *c;
		int ok;

		k->kty = MJA_KTY_EC;
		k->es_alg = mja_key__es_alg(pkey, &k->bits);
		if (k->es_alg < 0) {
			char name[64] = "unnamed";

			EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
					name, sizeof(name), NULL);
			snprintf(reason, rlen, "unsupported curve %s (P-256, P-384, P-521 only)", name);
			goto bad;
		}
		/* RFC 7518 6.2.1: the point must be on the curve (invalid-curve
		 * attacks); EVP_PKEY_public_check also refuses the infinity. */
		c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		ok = c && EVP_PKEY_public_check(c) == 1;
		EVP_PKEY_CTX_free(c);
		if (!ok) {
			snprintf(reason, rlen, "EC public key is not a valid point on the curve");
			goto bad;
		}
		break;
	}
	case EVP_PKEY_ED25519:
		k->kty = MJA_KTY_OKP;
		k->bits = 256;
		/* A small-order or non-canonical A lets anyone forge signatures
		 * (R = identity, S = 0 verifies for every message with A =
		 * identity); RFC 8032 5.1.7 leaves the check to us. */
		if (ed25519_weak(pkey)) {
			snprintf(reason, rlen, "weak (small-order or non-canonical) Ed25519 public key");
			goto bad;
		}
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(reason, rlen, "RSA-PSS restricted keys are not supported (use a plain RSA key)");
		goto bad;
	case EVP_PKEY_ED448:
		snprintf(reason, rlen, "unsupported curve Ed448 (Ed25519 only)");
		goto bad;
	case EVP_PKEY_X25519:
	case EVP_PKEY_X448:
		snprintf(reason, rlen, "X25519/X448 keys are for key agreement, not signatures");
		goto bad;
	default:
		snprintf(reason, rlen, "unsupported key type %s",
				OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown");
		goto bad;
	}
	k->pkey = pkey;
	/* k owns pkey from here: on failure the caller's mja_key_free frees it */
	if (prepare(k) != MJA_OK) {
		snprintf(reason, rlen, "cannot prepare signature verification (out of memory?)");
		return MJA_ERR_NOMEM;
	}
	return MJA_OK;
bad:
	EVP_PKEY_free(pkey);
	return MJA_ERR_KEY;
}

mja_kty mja_key_type(const mja_key *k)
{
	return k->kty;
}

const char *mja_key_kid(const mja_key *k)
{
	return k->kid;
}

const char *mja_key_origin(const mja_key *k)
{
	return k->origin;
}

int mja_key_fits(const mja_key *k, mja_alg alg)
{
	const mja_alg_info *ai = mja_alg_info_of(alg);

	if (!k || !ai)
		return 0;
	/* RFC 7517 4.4 / RFC 8725 3.1: a key's "alg" pins it */
	if (k->alg_pinned && !(k->alg_pin & MJA_ALG_BIT(alg)))
		return 0;
	/* RFC 7517 4.2: "use" other than "sig" is not for signatures */
	if (k->use_other)
		return 0;
	/* RFC 7517 4.3: key_ops must allow the operation */
	if (k->has_ops && !(k->ops_verify || (k->is_private && k->ops_sign)))
		return 0;
	/* the table: one key type per algorithm and its size rule */
	if (k->kty != ai->kty)
		return 0;
	switch (ai->family) {
	case MJA_FAMILY_HMAC:
		return k->secret && k->secret_len >= ai->min_key_bytes;
	case MJA_FAMILY_RSA_PKCS1:
	case MJA_FAMILY_RSA_PSS:
		return k->pkey && k->bits >= ai->min_bits && k->bits <= ai->max_bits;
	case MJA_FAMILY_ECDSA:
		return k->pkey && k->es_alg == (int)alg;
	case MJA_FAMILY_EDDSA:
		return k->pkey != NULL;
	}
	return 0;
}

/* ---- key lists and sets ---- */

mja_err mja_keylist__push(struct mja_keylist *l, mja_key *k)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		mja_key **v;

		if (cap > SIZE_MAX / sizeof(*v) || !(v = realloc(l->v, cap * sizeof(*v)))) {
			mja_key_free(k); /* taken on every path */
			return MJA_ERR_NOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = k;
	return MJA_OK;
}

void mja_keylist__free(struct mja_keylist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		mja_key_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

mja_keyset *mja_keyset_new(void)
{
	return calloc(1, sizeof(mja_keyset));
}

void mja_keyset_free(mja_keyset *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->n; i++)
		mja_key_free(ks->v[i]);
	free(ks->v);
	free(ks);
}

mja_err mja_keyset__take(mja_keyset *ks, struct mja_keylist *l, const char *origin, mja_diag *d)
{
	mja_key **v;
	size_t i;
	int a;

	if (l->n > SIZE_MAX / sizeof(*v) - ks->n) {
		mja_keylist__free(l);
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	}
	v = realloc(ks->v, (ks->n + l->n) * sizeof(*v));
	if (!v) {
		mja_keylist__free(l);
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	}
	ks->v = v;
	memcpy(ks->v + ks->n, l->v, l->n * sizeof(*v));
	ks->n += l->n;
	for (i = 0; i < l->n; i++)
		for (a = 0; a < MJA_ALG__COUNT; a++)
			if (mja_key_fits(l->v[i], (mja_alg)a))
				ks->algs |= MJA_ALG_BIT(a);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	return MJA_OK;
}

mja_err mja_keyset_add_shared(mja_keyset *dst, const mja_keyset *src)
{
	mja_key **v;
	size_t i;

	if (!dst)
		return MJA_ERR_INVAL;
	if (!src || src->n == 0)
		return MJA_OK;
	if (src->n > SIZE_MAX / sizeof(*v) - dst->n)
		return MJA_ERR_NOMEM;
	v = realloc(dst->v, (dst->n + src->n) * sizeof(*v));
	if (!v)
		return MJA_ERR_NOMEM;
	dst->v = v;
	for (i = 0; i < src->n; i++) {
		src->v[i]->extra_refs++;
		dst->v[dst->n++] = src->v[i];
	}
	dst->algs |= src->algs;
	return MJA_OK;
}

size_t mja_keyset_count(const mja_keyset *ks)
{
	return ks ? ks->n : 0;
}

const mja_key *mja_keyset_get(const mja_keyset *ks, size_t i)
{
	return ks && i < ks->n ? ks->v[i] : NULL;
}

mja_alg_set mja_keyset_algs(const mja_keyset *ks)
{
	return ks ? ks->algs : 0; /* keys are immutable once in the set */
}

mja_err mja_keyset_find(const mja_keyset *ks, mja_alg alg, const char *kid, size_t kidlen,
		const mja_key **out, size_t max, size_t *n)
{
	size_t i, named = 0, fit = 0;

	if (n)
		*n = 0;
	if (!ks || !n || (max && !out))
		return MJA_ERR_INVAL;
	for (i = 0; i < ks->n; i++) {
		const mja_key *k = ks->v[i];

		/* docs/design.md, Token rules: with kid, exactly the keys of that id (byte-exact) */
		if (kid && !(k->kid && k->kid_len == kidlen && memcmp(k->kid, kid, kidlen) == 0))
			continue;
		named++;
		if (!mja_key_fits(k, alg))
			continue;
		fit++;
		if (*n < max)
			out[(*n)++] = k;
	}
	if (kid && named == 0)
		return MJA_ERR_UNKNOWN_KID;
	if (fit == 0)
		return MJA_ERR_NO_KEY;
	return MJA_OK;
}

/* ---- secrets ---- */

mja_err mja_key__secret(const unsigned char *s, size_t len, const char *kid,
		const char *origin, mja_key **out, mja_diag *d)
{
	mja_key *k;
	mja_err e;

	*out = NULL;
	if (len == 0)
		return mja_key__fail(d, MJA_ERR_KEY, origin, "empty secret");
	/* RFC 7518 3.2: at least 256 bits for HS256 */
	if (len < MJA_SECRET_MIN)
		return mja_key__fail(d, MJA_ERR_KEY, origin,
				"secret of %zu bytes is too short (at least %d bytes, RFC 7518 3.2)",
				len, MJA_SECRET_MIN);
	k = mja_key__new(MJA_KTY_OCT, origin);
	if (!k)
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	e = mja_key__set_secret(k, s, len);
	if (e == MJA_OK && kid)
		e = mja_key__set_kid(k, kid, strlen(kid));
	if (e != MJA_OK) {
		mja_key_free(k);
		return mja_key__fail(d, e, origin, "%s", mja_strerror(e));
	}
	*out = k;
	return MJA_OK;
}

mja_err mja_keyset_add_secret(mja_keyset *ks, const unsigned char *secret, size_t len,
		const char *kid, const char *origin, mja_diag *d)
{
	struct mja_keylist l = { 0 };
	mja_key *k;
	mja_err e;

	if (!ks || (!secret && len))
		return MJA_ERR_INVAL;
	e = mja_key__secret(secret, len, kid, origin, &k, d);
	if (e != MJA_OK)
		return e;
	if (mja_keylist__push(&l, k) != MJA_OK)
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	return mja_keyset__take(ks, &l, origin, d);
}
