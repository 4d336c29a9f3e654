/* key.c - keys, key sets, key selection, PEM and secret loading.
 *
 * JWK parsing is in key_jwk.c, key generation and serialisation in
 * key_gen.c; the struct is in key_internal.h.
 */
#define _GNU_SOURCE /* memmem */
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
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mja/key.h"
#include "key_internal.h"

struct mja_keyset {
	mja_key **v;
	size_t n;
	mja_alg_set algs;   /* union of what the keys fit, kept up to date */
};

/* ---- diagnostics ---- */

void mja_key__printable(const char *s, size_t len, char *out, size_t outsz)
{
	size_t room, keep, i, o = 0;

	if (outsz == 0)
		return;
	room = outsz - 1;
	keep = len <= room ? len : (room >= 3 ? room - 3 : 0);
	for (i = 0; i < keep; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	if (len > room)
		while (o < room)
			out[o++] = '.';
	out[o] = '\0';
}

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
	size_t i;

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
	for (i = 0; i < 3; i++) {
		/* the provider's digest free clears the key-derived state */
		EVP_MD_CTX_free(k->hmac_in[i]);
		EVP_MD_CTX_free(k->hmac_out[i]);
	}
	mja_sig__unprepare(k);
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

/* RFC 2104 2: absorb (K' ^ pad) into a fresh digest context, where K' is
 * the key zero-padded to the block size, or its hash if it is longer. */
static EVP_MD_CTX *hmac_half(const EVP_MD *md, const unsigned char *key, size_t len,
		unsigned char pad)
{
	unsigned char blk[EVP_MAX_MD_SIZE > 128 ? EVP_MAX_MD_SIZE : 128];
	size_t bs = (size_t)EVP_MD_get_block_size(md), i;
	unsigned int hl = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && bs <= sizeof(blk);

	memset(blk, 0, sizeof(blk));
	if (ok && len > bs)
		ok = EVP_Digest(key, len, blk, &hl, md, NULL) == 1;
	else if (ok)
		memcpy(blk, key, len);
	for (i = 0; ok && i < bs; i++)
		blk[i] ^= pad;
	ok = ok && EVP_DigestInit_ex(c, md, NULL) == 1 && EVP_DigestUpdate(c, blk, bs) == 1;
	OPENSSL_cleanse(blk, sizeof(blk));
	if (!ok) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	return c;
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
	 * which spares the key schedule and the fetches per token. */
	for (i = 0; i < 3; i++) {
		const EVP_MD *md = mja_sig__md((mja_alg)(MJA_ALG_HS256 + i));

		k->hmac_in[i] = hmac_half(md, s, len, 0x36);
		k->hmac_out[i] = hmac_half(md, s, len, 0x5c);
		if (!k->hmac_in[i] || !k->hmac_out[i])
			return MJA_ERR_INTERNAL;
	}
	return MJA_OK;
}

/* The ES alg of a named curve, or -1 (RFC 7518 3.4: P-256, P-384, P-521). */
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
	switch (nid) {
	case NID_X9_62_prime256v1: *bits = 256; return MJA_ALG_ES256;
	case NID_secp384r1: *bits = 384; return MJA_ALG_ES384;
	case NID_secp521r1: *bits = 521; return MJA_ALG_ES512;
	default: return -1;
	}
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
	if (mja_sig__prepare(k) != MJA_OK) {
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

static size_t hs_min_len(mja_alg alg)
{
	/* RFC 7518 3.2: a key of the same size as the hash output or larger */
	return alg == MJA_ALG_HS256 ? 32 : alg == MJA_ALG_HS384 ? 48 : 64;
}

int mja_key_fits(const mja_key *k, mja_alg alg)
{
	if (!k || (unsigned)alg >= MJA_ALG__COUNT)
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
	switch (alg) {
	case MJA_ALG_HS256: case MJA_ALG_HS384: case MJA_ALG_HS512:
		return k->kty == MJA_KTY_OCT && k->secret && k->secret_len >= hs_min_len(alg);
	case MJA_ALG_RS256: case MJA_ALG_RS384: case MJA_ALG_RS512:
	case MJA_ALG_PS256: case MJA_ALG_PS384: case MJA_ALG_PS512:
		return k->kty == MJA_KTY_RSA && k->pkey && k->bits >= MJA_RSA_MIN_BITS;
	case MJA_ALG_ES256: case MJA_ALG_ES384: case MJA_ALG_ES512:
		return k->kty == MJA_KTY_EC && k->pkey && k->es_alg == (int)alg;
	case MJA_ALG_EDDSA:
		return k->kty == MJA_KTY_OKP && k->pkey;
	default:
		return 0;
	}
}

/* ---- key lists and sets ---- */

mja_err mja_keylist__push(struct mja_keylist *l, mja_key *k)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		mja_key **v;

		if (cap > SIZE_MAX / sizeof(*v))
			return MJA_ERR_NOMEM;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return MJA_ERR_NOMEM;
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

/* Move every key of l into ks, or none (l is emptied either way). */
static mja_err keyset_take(mja_keyset *ks, struct mja_keylist *l, const char *origin, mja_diag *d)
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

		/* spec 2.3: with kid, exactly the keys of that id (byte-exact) */
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

/* ---- files ---- */

mja_err mja_key__read_file(const char *path, size_t max, char **buf, size_t *len, mja_diag *d)
{
	FILE *f;
	char *b;
	size_t n = 0, cap = 4096;
	int over = 0;

	*buf = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f)
		return mja_key__fail(d, MJA_ERR_FILE, path, "cannot open: %s", strerror(errno));
	b = malloc(cap);
	if (!b) {
		fclose(f);
		return mja_key__fail(d, MJA_ERR_NOMEM, path, "out of memory");
	}
	for (;;) {
		size_t r;

		if (n == cap) {
			char *nb;

			if (cap > max) {
				over = 1;
				break;
			}
			nb = malloc(cap * 2);
			if (!nb) {
				OPENSSL_cleanse(b, n);
				free(b);
				fclose(f);
				return mja_key__fail(d, MJA_ERR_NOMEM, path, "out of memory");
			}
			memcpy(nb, b, n);
			OPENSSL_cleanse(b, n); /* may be a secret */
			free(b);
			b = nb;
			cap *= 2;
		}
		r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (over || n > max || ferror(f)) {
		int rerr = ferror(f) ? errno : 0;

		OPENSSL_cleanse(b, n);
		free(b);
		fclose(f);
		if (rerr)
			return mja_key__fail(d, MJA_ERR_FILE, path, "cannot read: %s", strerror(rerr));
		return mja_key__fail(d, MJA_ERR_FILE, path, "file larger than %zu bytes", max);
	}
	fclose(f);
	*buf = b;
	*len = n;
	return MJA_OK;
}

static void scrub_free(char *b, size_t n)
{
	if (b) {
		OPENSSL_cleanse(b, n);
		free(b);
	}
}

/* ---- secrets ---- */

static mja_err secret_key(const unsigned char *s, size_t len, const char *kid,
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
	e = secret_key(secret, len, kid, origin, &k, d);
	if (e != MJA_OK)
		return e;
	if (mja_keylist__push(&l, k) != MJA_OK) {
		mja_key_free(k);
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	}
	return keyset_take(ks, &l, origin, d);
}

/* 1 iff a secret file's content starts (after a UTF-8 BOM and blanks)
 * with a PEM armour line or a JSON object: a key, not a secret. */
static int looks_like_key(const char *b, size_t len)
{
	size_t i = 0;

	if (len >= 3 && !memcmp(b, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	if (i < len && b[i] == '{')
		return 1;
	return len - i >= 10 && !memcmp(b + i, "-----BEGIN", 10);
}

mja_err mja_keyset_load_secret_file(mja_keyset *ks, const char *path, mja_diag *d)
{
	char *buf;
	size_t len, flen;
	mja_err e;

	if (!ks || !path)
		return MJA_ERR_INVAL;
	e = mja_key__read_file(path, MJA_KEY_FILE_MAX, &buf, &flen, d);
	if (e != MJA_OK)
		return e;
	len = flen;
	/* spec 1 (secret_file): the bytes less one trailing "\n" or "\r\n" */
	if (len >= 2 && buf[len - 2] == '\r' && buf[len - 1] == '\n')
		len -= 2;
	else if (len >= 1 && buf[len - 1] == '\n')
		len -= 1;
	/* A public key given as a secret makes HS tokens forgeable by anyone
	 * who has the public key (RFC 8725 2.1, alg confusion by config). */
	if (looks_like_key(buf, len)) {
		mja_diag_set(d, "%s: looks like a PEM or JWK key, not a secret "
				"(give keys with key_file)", path);
		scrub_free(buf, flen);
		return MJA_ERR_KEY;
	}
	e = mja_keyset_add_secret(ks, (const unsigned char *)buf, len, NULL, path, d);
	scrub_free(buf, flen);
	return e;
}

mja_err mja_key_from_secret(const unsigned char *secret, size_t len, const char *kid,
		mja_key **out, mja_diag *d)
{
	mja_err e;

	if (!out || (!secret && len))
		return MJA_ERR_INVAL;
	e = secret_key(secret, len, kid, "secret", out, d);
	if (e == MJA_OK)
		(*out)->is_private = 1;
	return e;
}

/* ---- PEM ---- */

static int has_private_label(const char *name)
{
	/* "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
	 * "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", ... */
	return strstr(name, "PRIVATE") != NULL;
}

/* One PEM block's DER to a public key. */
static EVP_PKEY *pem_block_pkey(const char *name, const unsigned char *der, long len,
		int *is_cert, char *reason, size_t rlen)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;

	*is_cert = 0;
	if (strcmp(name, "PUBLIC KEY") == 0) {
		pkey = d2i_PUBKEY(NULL, &p, len);
	} else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
		/* PKCS#1 RSAPublicKey (RFC 8017 A.1.1) */
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	} else if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0) {
		X509 *x = d2i_X509(NULL, &p, len);

		*is_cert = 1;
		if (x) {
			pkey = X509_get_pubkey(x);
			X509_free(x);
		}
	} else {
		snprintf(reason, rlen, "unsupported PEM block \"%s\"", name);
		return NULL;
	}
	if (!pkey) {
		snprintf(reason, rlen, "cannot parse PEM block \"%s\"", name);
		return NULL;
	}
	if (p != der + len) {
		EVP_PKEY_free(pkey);
		snprintf(reason, rlen, "trailing data in PEM block \"%s\"", name);
		return NULL;
	}
	return pkey;
}

static mja_err pem_parse_public(const char *buf, size_t len, const char *origin,
		struct mja_keylist *out, mja_diag *d)
{
	BIO *bio;
	int blocks = 0, certs = 0;
	mja_err e = MJA_OK;

	if (len > INT_MAX)
		return mja_key__fail(d, MJA_ERR_KEY, origin, "too large");
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen = 0;
		char reason[200];
		EVP_PKEY *pkey;
		mja_key *k;
		int is_cert;

		if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
			unsigned long err = ERR_peek_last_error();

			if (ERR_GET_LIB(err) == ERR_LIB_PEM &&
			    ERR_GET_REASON(err) == PEM_R_NO_START_LINE && blocks > 0)
				break; /* end of input */
			if (blocks > 0)
				e = mja_key__fail(d, MJA_ERR_KEY, origin, "bad PEM block after block %d", blocks);
			else
				e = mja_key__fail(d, MJA_ERR_KEY, origin, "no PEM public key found");
			break;
		}
		blocks++;
		if (has_private_label(name)) {
			/* key.h: private keys are not spread to brokers */
			e = mja_key__fail(d, MJA_ERR_KEY, origin,
					"contains private key material (PEM \"%s\"); give the public key", name);
		} else if (strcmp(name, "EC PARAMETERS") == 0) {
			/* written by `openssl ecparam`; carries no key */
			blocks--;
		} else if (!(pkey = pem_block_pkey(name, data, dlen, &is_cert, reason, sizeof(reason)))) {
			e = mja_key__fail(d, MJA_ERR_KEY, origin, "%s", reason);
		} else if (is_cert && ++certs > 1) {
			/* a chain would give the CA's key the power to sign tokens */
			EVP_PKEY_free(pkey);
			e = mja_key__fail(d, MJA_ERR_KEY, origin,
					"more than one certificate (give the token signer's certificate only)");
		} else if (!(k = mja_key__new(MJA_KTY_RSA, origin))) {
			EVP_PKEY_free(pkey);
			e = mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
		} else if ((e = mja_key__adopt_pkey(k, pkey, reason, sizeof(reason))) != MJA_OK) {
			mja_key_free(k);
			e = mja_key__fail(d, e, origin, "%s", reason);
		} else if ((e = mja_keylist__push(out, k)) != MJA_OK) {
			mja_key_free(k);
			e = mja_key__fail(d, e, origin, "out of memory");
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (e != MJA_OK)
			break;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (e == MJA_OK && blocks == 0)
		e = mja_key__fail(d, MJA_ERR_KEY, origin, "no public key found");
	return e;
}

mja_err mja_keyset_add_pem(mja_keyset *ks, const char *buf, size_t len,
		const char *origin, mja_diag *d)
{
	struct mja_keylist l = { 0 };
	mja_err e;

	if (!ks || (!buf && len))
		return MJA_ERR_INVAL;
	e = pem_parse_public(buf, len, origin, &l, d);
	if (e != MJA_OK) {
		mja_keylist__free(&l);
		return e;
	}
	return keyset_take(ks, &l, origin, d);
}

mja_err mja_keyset_add_jwk_json(mja_keyset *ks, const char *buf, size_t len,
		const char *origin, mja_diag *d)
{
	struct mja_keylist l = { 0 };
	mja_err e;

	if (!ks || (!buf && len))
		return MJA_ERR_INVAL;
	e = mja_jwk__parse(buf, len, MJA_JWK_PUBLIC, origin, &l, d);
	if (e != MJA_OK) {
		mja_keylist__free(&l);
		return e;
	}
	return keyset_take(ks, &l, origin, d);
}

/* Length of a UTF-8 byte order mark at buf (some editors write one). */
static size_t bom_len(const char *buf, size_t len)
{
	return len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/* First non-blank byte: '{' means JSON (RFC 8259), else PEM. */
static int looks_like_json(const char *buf, size_t len)
{
	size_t i = bom_len(buf, len);

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && buf[i] == '{';
}

static int contains(const char *buf, size_t len, const char *s)
{
	size_t sl = strlen(s);

	return len >= sl && memmem(buf, len, s, sl) != NULL;
}

mja_err mja_keyset_load_key_file(mja_keyset *ks, const char *path, mja_diag *d)
{
	char *buf;
	size_t len;
	mja_err e;

	if (!ks || !path)
		return MJA_ERR_INVAL;
	e = mja_key__read_file(path, MJA_KEY_FILE_MAX, &buf, &len, d);
	if (e != MJA_OK)
		return e;
	if (len == 0)
		e = mja_key__fail(d, MJA_ERR_KEY, path, "empty key file");
	else if (looks_like_json(buf, len))
		e = mja_keyset_add_jwk_json(ks, buf + bom_len(buf, len), len - bom_len(buf, len), path, d);
	else if (contains(buf, len, "-----BEGIN "))
		e = mja_keyset_add_pem(ks, buf, len, path, d);
	else
		e = mja_key__fail(d, MJA_ERR_KEY, path,
				"not a PEM or JWK/JWKS file (DER is not supported)");
	scrub_free(buf, len);
	return e;
}

/* ---- private keys ---- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1; /* never prompt on a terminal; encrypted keys are refused */
}

mja_err mja_key__private(EVP_PKEY *pkey, const char *kid, const char *origin,
		mja_key **out, mja_diag *d)
{
	char reason[200];
	mja_key *k = mja_key__new(MJA_KTY_RSA, origin);
	mja_err e;

	if (!k) {
		EVP_PKEY_free(pkey);
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	}
	k->is_private = 1;
	e = mja_key__adopt_pkey(k, pkey, reason, sizeof(reason));
	if (e == MJA_OK && kid && mja_key__set_kid(k, kid, strlen(kid)) != MJA_OK)
		e = MJA_ERR_NOMEM;
	if (e != MJA_OK) {
		mja_key_free(k);
		return mja_key__fail(d, e, origin, "%s", e == MJA_ERR_KEY ? reason : mja_strerror(e));
	}
	*out = k;
	return MJA_OK;
}

mja_err mja_key_from_private_pem(const char *buf, size_t len, const char *kid,
		mja_key **out, mja_diag *d)
{
	const char *origin = "private key";
	EVP_PKEY *pkey;
	BIO *bio;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!buf || len > INT_MAX)
		return MJA_ERR_INVAL;
	if (contains(buf, len, "ENCRYPTED"))
		return mja_key__fail(d, MJA_ERR_KEY, origin, "encrypted private keys are not supported");
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey)
		return mja_key__fail(d, MJA_ERR_KEY, origin, "no PEM private key found");
	ERR_clear_error();
	return mja_key__private(pkey, kid, origin, out, d);
}

/* A private JWK, or the one key of a JWKS (chosen by kid if given). */
static mja_err private_jwk(const char *buf, size_t len, const char *kid, const char *origin,
		mja_key **out, mja_diag *d)
{
	struct mja_keylist l = { 0 };
	mja_key *pick = NULL;
	size_t i, matches = 0;
	mja_err e;

	e = mja_jwk__parse(buf, len, MJA_JWK_PRIVATE, origin, &l, d);
	if (e != MJA_OK) {
		mja_keylist__free(&l);
		return e;
	}
	for (i = 0; i < l.n; i++) {
		if (kid && !(l.v[i]->kid && strcmp(l.v[i]->kid, kid) == 0))
			continue;
		matches++;
		pick = l.v[i];
	}
	if (matches != 1) {
		mja_keylist__free(&l);
		if (matches == 0 && kid)
			return mja_key__fail(d, MJA_ERR_KEY, origin, "no key with that kid");
		return mja_key__fail(d, MJA_ERR_KEY, origin,
				"%zu keys: give the kid of the one to use", matches);
	}
	for (i = 0; i < l.n; i++)
		if (l.v[i] != pick)
			mja_key_free(l.v[i]);
	free(l.v);
	/* a JWK without kid takes the one given */
	if (kid && !pick->kid && mja_key__set_kid(pick, kid, strlen(kid)) != MJA_OK) {
		mja_key_free(pick);
		return mja_key__fail(d, MJA_ERR_NOMEM, origin, "out of memory");
	}
	*out = pick;
	return MJA_OK;
}

mja_err mja_key_load_private_file(const char *path, const char *kid, mja_key **out, mja_diag *d)
{
	char *buf;
	size_t len;
	mja_err e;

	if (!out || !path)
		return MJA_ERR_INVAL;
	*out = NULL;
	e = mja_key__read_file(path, MJA_KEY_FILE_MAX, &buf, &len, d);
	if (e != MJA_OK)
		return e;
	if (looks_like_json(buf, len)) {
		e = private_jwk(buf + bom_len(buf, len), len - bom_len(buf, len), kid, path, out, d);
	} else {
		mja_diag tmp = { { 0 } };

		e = mja_key_from_private_pem(buf, len, kid, out, &tmp);
		if (e != MJA_OK) {
			/* re-label "private key: why" as "<path>: why" */
			const char *why = strchr(tmp.text, ':');

			mja_key__fail(d, e, path, "%s", why ? why + 2 : tmp.text);
		} else {
			char *o = strdup(path);

			if (!o) {
				mja_key_free(*out);
				*out = NULL;
				e = mja_key__fail(d, MJA_ERR_NOMEM, path, "out of memory");
			} else {
				free((*out)->origin);
				(*out)->origin = o;
			}
		}
	}
	scrub_free(buf, len);
	return e;
}
