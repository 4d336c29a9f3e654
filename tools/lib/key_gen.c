/* key_gen.c - key generation and serialisation (PEM, public JWK), for
 * `mosquitto_jwt keygen`, the tests and the benchmarks.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "mja/token/b64url.h"
#include "mja/token/key_internal.h"

mja_err mja_key_generate(mja_kty kty, int bits, const char *kid, mja_key **out, mja_diag *d)
{
	const char *origin = "generated";
	EVP_PKEY *pkey = NULL;
	mja_err e;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	switch (kty) {
	case MJA_KTY_OCT: {
		unsigned char s[512];
		size_t n = (size_t)bits / 8;

		/* RFC 7518 3.2: at least 256 bits */
		if (bits < 8 * MJA_SECRET_MIN || bits % 8 || n > sizeof(s))
			return mja_key__fail(d, MJA_ERR_INVAL, origin,
					"secret size must be a multiple of 8 bits, 256 to 4096");
		if (RAND_priv_bytes(s, (int)n) != 1)
			return mja_key__fail(d, MJA_ERR_INTERNAL, origin, "no randomness");
		e = mja_key_from_secret(s, n, kid, out, d);
		OPENSSL_cleanse(s, sizeof(s));
		if (e == MJA_OK) {
			free((*out)->origin);
			(*out)->origin = strdup(origin);
			if (!(*out)->origin) {
				mja_key_free(*out);
				*out = NULL;
				return MJA_ERR_NOMEM;
			}
		}
		return e;
	}
	case MJA_KTY_RSA:
		if (bits < MJA_RSA_MIN_BITS || bits > MJA_RSA_MAX_BITS)
			return mja_key__fail(d, MJA_ERR_INVAL, origin,
					"RSA size must be %d to %d bits (RFC 7518 3.3)",
					MJA_RSA_MIN_BITS, MJA_RSA_MAX_BITS);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case MJA_KTY_EC: {
		const char *group = NULL;

		/* the curve of the table's ES algorithm with that field size */
		for (int a = 0; a < MJA_ALG__COUNT; a++)
			if (mja_alg_info_of((mja_alg)a)->family == MJA_FAMILY_ECDSA &&
			    mja_alg_info_of((mja_alg)a)->min_bits == bits)
				group = mja_alg_info_of((mja_alg)a)->curve;
		if (!group)
			return mja_key__fail(d, MJA_ERR_INVAL, origin, "EC size must be 256, 384 or 521");
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
		break;
	}
	case MJA_KTY_OKP:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		return mja_key__fail(d, MJA_ERR_INVAL, origin, "unknown key type");
	}
	if (!pkey)
		return mja_key__fail(d, MJA_ERR_INTERNAL, origin, "key generation failed");
	return mja_key__private(pkey, kid, origin, out, d);
}

/* BIO contents as a malloc'd NUL-terminated string. */
static mja_err bio_string(BIO *bio, char **out)
{
	char *p;
	long n = BIO_get_mem_data(bio, &p);

	if (n < 0)
		return MJA_ERR_INTERNAL;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return MJA_ERR_NOMEM;
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	return MJA_OK;
}

static mja_err write_pem(const mja_key *k, int private, char **out)
{
	BIO *bio;
	mja_err e;
	int ok;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!k || !k->pkey || (private && !k->is_private))
		return MJA_ERR_INVAL;
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		return MJA_ERR_NOMEM;
	/* PKCS#8 "PRIVATE KEY" / SubjectPublicKeyInfo "PUBLIC KEY" */
	ok = private ? PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL)
		: PEM_write_bio_PUBKEY(bio, k->pkey);
	e = ok ? bio_string(bio, out) : MJA_ERR_INTERNAL;
	BIO_free(bio); /* secure memory BIO: cleared on free */
	ERR_clear_error();
	return e;
}

mja_err mja_key_private_pem(const mja_key *k, char **out)
{
	return write_pem(k, 1, out);
}

mja_err mja_key_public_pem(const mja_key *k, char **out)
{
	return write_pem(k, 0, out);
}

/* Set member name to base64url(p[0..len)). */
static int set_b64(json_t *o, const char *name, const unsigned char *p, size_t len)
{
	char *s = malloc(mja_b64url_encoded_len(len) + 1);
	int ok;

	if (!s)
		return 0;
	mja_b64url_encode(p, len, s);
	ok = json_object_set_new(o, name, json_string(s)) == 0;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return ok;
}

/* Set member name to the big-endian bytes of a BN key parameter, padded
 * to pad bytes (0 = minimal, RFC 7518 6.3.1.1). */
static int set_bn(json_t *o, const char *name, const EVP_PKEY *pkey, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char *buf;
	int n, ok = 0;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		return 0;
	n = pad ? pad : BN_num_bytes(bn);
	if (n == 0)
		n = 1;
	buf = malloc((size_t)n);
	if (buf && BN_bn2binpad(bn, buf, n) == n)
		ok = set_b64(o, name, buf, (size_t)n);
	free(buf);
	BN_free(bn);
	return ok;
}

mja_err mja_key_public_jwk(const mja_key *k, const char *alg, char **out)
{
	json_t *o;
	mja_err e = MJA_OK;
	int ok = 1;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!k)
		return MJA_ERR_INVAL;
	if (alg) {
		mja_alg a;

		/* the alg written must be one this key can actually do */
		if (mja_alg_from_name(alg, strlen(alg), &a) != MJA_OK || !mja_key_fits(k, a))
			return MJA_ERR_INVAL;
	}
	o = json_object();
	if (!o)
		return MJA_ERR_NOMEM;
	switch (k->kty) {
	case MJA_KTY_OCT:
		ok = json_object_set_new(o, "kty", json_string("oct")) == 0 &&
			set_b64(o, "k", k->secret, k->secret_len);
		break;
	case MJA_KTY_RSA:
		ok = json_object_set_new(o, "kty", json_string("RSA")) == 0 &&
			set_bn(o, "n", k->pkey, OSSL_PKEY_PARAM_RSA_N, 0) &&
			set_bn(o, "e", k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
		break;
	case MJA_KTY_EC: {
		/* RFC 7518 6.2.1.2: full-length coordinates */
		int clen = (int)mja_alg_info_of((mja_alg)k->es_alg)->coord_len;

		ok = json_object_set_new(o, "kty", json_string("EC")) == 0 &&
			json_object_set_new(o, "crv", json_string(mja_alg_info_of((mja_alg)k->es_alg)->curve)) == 0 &&
			set_bn(o, "x", k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, clen) &&
			set_bn(o, "y", k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, clen);
		break;
	}
	case MJA_KTY_OKP: {
		unsigned char pub[32];
		size_t plen = sizeof(pub);

		ok = json_object_set_new(o, "kty", json_string("OKP")) == 0 &&
			json_object_set_new(o, "crv",
				json_string(mja_alg_info_of(MJA_ALG_EDDSA)->curve)) == 0 &&
			EVP_PKEY_get_raw_public_key(k->pkey, pub, &plen) && plen == 32 &&
			set_b64(o, "x", pub, plen);
		break;
	}
	}
	if (ok && k->kid)
		ok = json_object_set_new(o, "kid", json_string(k->kid)) == 0;
	if (ok && alg)
		ok = json_object_set_new(o, "alg", json_string(alg)) == 0;
	if (ok)
		ok = json_object_set_new(o, "use", json_string("sig")) == 0;
	if (ok) {
		*out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!*out)
			e = MJA_ERR_NOMEM;
	} else {
		e = MJA_ERR_INTERNAL;
	}
	if (k->kty == MJA_KTY_OCT) {
		json_t *v = json_object_get(o, "k");

		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(o);
	ERR_clear_error();
	return e;
}
