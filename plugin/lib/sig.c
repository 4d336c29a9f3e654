/* sig.c - JWS signatures with OpenSSL 3 EVP (RFC 7518 section 3, RFC 8037 3.1).
 *
 * Both directions first ask mja_key_fits() and then check the key's OpenSSL
 * type and curve again, so that no table mistake elsewhere can let a key
 * verify an algorithm of another family (RFC 8725 2.1, 3.1).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "mja/sig.h"
#include "key_internal.h"

enum family { FAM_HS, FAM_RS, FAM_PS, FAM_ES, FAM_ED };

static enum family family_of(mja_alg alg)
{
	if (alg <= MJA_ALG_HS512)
		return FAM_HS;
	if (alg <= MJA_ALG_RS512)
		return FAM_RS;
	if (alg <= MJA_ALG_PS512)
		return FAM_PS;
	if (alg <= MJA_ALG_ES512)
		return FAM_ES;
	return FAM_ED;
}

/* 0, 1, 2 for the SHA-256/384/512 member of each family */
static int hash_index(mja_alg alg)
{
	return alg == MJA_ALG_EDDSA ? -1 : (int)alg % 3;
}

const EVP_MD *mja_sig__md(mja_alg alg)
{
	switch (hash_index(alg)) {
	case 0: return EVP_sha256();
	case 1: return EVP_sha384();
	case 2: return EVP_sha512();
	default: return NULL;
	}
}

static size_t hash_len(mja_alg alg)
{
	return (size_t)32 + 16 * (size_t)hash_index(alg);
}

/* ECDSA coordinate size in bytes (RFC 7518 3.4: 32, 48, 66). */
static size_t ec_coord_len(mja_alg alg)
{
	return alg == MJA_ALG_ES256 ? 32 : alg == MJA_ALG_ES384 ? 48 : 66;
}

/* The key's OpenSSL type must match the family; for ES the curve too. */
static int key_type_ok(const mja_key *k, mja_alg alg)
{
	switch (family_of(alg)) {
	case FAM_HS:
		return k->kty == MJA_KTY_OCT && k->secret && !k->pkey;
	case FAM_RS:
	case FAM_PS:
		return k->pkey && EVP_PKEY_get_id(k->pkey) == EVP_PKEY_RSA &&
			EVP_PKEY_get_bits(k->pkey) >= MJA_RSA_MIN_BITS;
	case FAM_ES: {
		int bits;

		return k->pkey && EVP_PKEY_get_id(k->pkey) == EVP_PKEY_EC &&
			mja_key__es_alg(k->pkey, &bits) == (int)alg;
	}
	case FAM_ED:
		return k->pkey && EVP_PKEY_get_id(k->pkey) == EVP_PKEY_ED25519;
	}
	return 0;
}

/* ---- HMAC (RFC 7518 3.2) ---- */

/* RFC 2104 2: H(K ^ opad, H(K ^ ipad, text)) from the prepared halves. */
static mja_err hmac(const mja_key *k, mja_alg alg, const unsigned char *in, size_t inlen,
		unsigned char *out, size_t *outlen)
{
	int i = hash_index(alg);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	mja_err e = MJA_OK;

	if (!c)
		return MJA_ERR_NOMEM;
	if (EVP_MD_CTX_copy_ex(c, k->hmac_in[i]) != 1 || EVP_DigestUpdate(c, in, inlen) != 1 ||
	    EVP_DigestFinal_ex(c, out, &n) != 1 || n != hash_len(alg) ||
	    EVP_MD_CTX_copy_ex(c, k->hmac_out[i]) != 1 || EVP_DigestUpdate(c, out, n) != 1 ||
	    EVP_DigestFinal_ex(c, out, &n) != 1 || n != hash_len(alg))
		e = MJA_ERR_INTERNAL;
	EVP_MD_CTX_free(c);
	*outlen = n;
	return e;
}

/* ---- ECDSA R||S <-> DER (RFC 7518 3.4) ---- */

/* One DER INTEGER (X.690 8.3) for the unsigned big-endian v[0..n): leading
 * zero bytes dropped (minimal encoding), a 0x00 prepended when the top bit
 * is set (positive); zero is 02 01 00. n <= 66, so the length fits one
 * byte. Returns the bytes written (at most n + 3). */
static size_t der_uint(const unsigned char *v, size_t n, unsigned char *out)
{
	size_t o = 0;

	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	out[o++] = 0x02;
	out[o++] = (unsigned char)(n + (v[0] >> 7));
	if (v[0] & 0x80)
		out[o++] = 0x00;
	memcpy(out + o, v, n);
	return o + n;
}

/* R||S (clen bytes each) as the DER Ecdsa-Sig-Value OpenSSL verifies (RFC
 * 3279 2.2.3: SEQUENCE { r INTEGER, s INTEGER }), into out (room for
 * ECDSA_DER_MAX). Built by hand: OpenSSL's BIGNUM + ASN.1 encoder costs
 * more than the rest of our token handling. OpenSSL decodes it again and
 * refuses any non-canonical encoding, so a mistake here fails closed. */
#define ECDSA_DER_MAX (3 + 2 * (3 + 66))
static size_t raw_to_der(const unsigned char *sig, size_t clen, unsigned char *out)
{
	unsigned char body[2 * (3 + 66)];
	size_t n = der_uint(sig, clen, body), o = 0;

	n += der_uint(sig + clen, clen, body + n);
	out[o++] = 0x30;
	if (n >= 0x80)
		out[o++] = 0x81;  /* P-521: up to 138 content bytes */
	out[o++] = (unsigned char)n;
	memcpy(out + o, body, n);
	return o + n;
}

static mja_err der_to_raw(const unsigned char *der, size_t derlen, size_t clen,
		unsigned char *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	mja_err e = MJA_OK;

	if (derlen > LONG_MAX)
		return MJA_ERR_INTERNAL;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	if (!es)
		return MJA_ERR_INTERNAL;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)clen) != (int)clen ||
	    BN_bn2binpad(s, out + clen, (int)clen) != (int)clen)
		e = MJA_ERR_INTERNAL;
	ECDSA_SIG_free(es);
	return e;
}

/* ---- EVP set-up shared by sign and verify ---- */

static int set_padding(EVP_PKEY_CTX *pc, mja_alg alg)
{
	if (family_of(alg) != FAM_PS)
		return 1; /* RS: PKCS#1 v1.5 is the default */
	/* RFC 7518 3.5: MGF1 with the same hash, salt length = hash length.
	 * RSA_PSS_SALTLEN_DIGEST on verify requires exactly that length
	 * (RSA_PSS_SALTLEN_AUTO would accept any salt). */
	return EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) > 0 &&
		EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mja_sig__md(alg)) > 0;
}

/* ---- prepared verification contexts (RS, PS, ES) ----
 *
 * EVP_DigestVerifyInit fetches the signature algorithm and the digest and
 * builds a context for every token: about 8% of an RS256 verification
 * and 3% of an ES256 one (callgrind), all of it our overhead. Instead, for each algorithm a key serves, one
 * context is set up at load (EVP_PKEY_verify_init, the digest, the
 * padding and PSS salt rule); a verification hashes the signing input
 * itself and checks the signature with EVP_PKEY_verify on a duplicate of
 * that context. OpenSSL runs the same check either way (EVP_DigestVerify
 * ends in the same provider verify on the digest). */

static const char *const md_names[3] = { "SHA256", "SHA384", "SHA512" };

mja_err mja_sig__prepare(mja_key *k)
{
	if (!k->pkey)
		return MJA_OK;
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		mja_alg alg = (mja_alg)a;
		int h = hash_index(alg);
		EVP_PKEY_CTX *pc;

		if (family_of(alg) == FAM_HS || family_of(alg) == FAM_ED || !key_type_ok(k, alg))
			continue;
		if (!k->vmd[h] && !(k->vmd[h] = EVP_MD_fetch(NULL, md_names[h], NULL)))
			goto fail;
		pc = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		if (!pc)
			goto fail;
		k->vctx[a] = pc;
		if (EVP_PKEY_verify_init(pc) != 1 || EVP_PKEY_CTX_set_signature_md(pc, k->vmd[h]) <= 0 ||
		    !set_padding(pc, alg))
			goto fail;
	}
	ERR_clear_error();
	return MJA_OK;
fail:
	mja_sig__unprepare(k);
	ERR_clear_error();
	return MJA_ERR_NOMEM;
}

void mja_sig__unprepare(mja_key *k)
{
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		EVP_PKEY_CTX_free(k->vctx[a]);
		k->vctx[a] = NULL;
	}
	for (int h = 0; h < 3; h++) {
		EVP_MD_free(k->vmd[h]);
		k->vmd[h] = NULL;
	}
}

/* EVP_PKEY_verify of sig over H(input) with k's prepared context. */
static mja_err verify_prepared(const mja_key *k, mja_alg alg,
		const unsigned char *input, size_t inlen,
		const unsigned char *sig, size_t siglen)
{
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_PKEY_CTX *pc;
	mja_err e;

	if (!k->vctx[alg] || !k->vmd[hash_index(alg)])
		return MJA_ERR_INTERNAL;
	if (EVP_Digest(input, inlen, dgst, &dlen, k->vmd[hash_index(alg)], NULL) != 1 ||
	    dlen != hash_len(alg))
		return MJA_ERR_INTERNAL;
	pc = EVP_PKEY_CTX_dup(k->vctx[alg]);
	if (!pc)
		return MJA_ERR_NOMEM;
	e = EVP_PKEY_verify(pc, sig, siglen, dgst, dlen) == 1 ? MJA_OK : MJA_ERR_BAD_SIGNATURE;
	EVP_PKEY_CTX_free(pc);
	return e;
}

mja_err mja_sig_verify(const mja_key *k, mja_alg alg,
		const unsigned char *input, size_t inlen,
		const unsigned char *sig, size_t siglen)
{
	unsigned char der[ECDSA_DER_MAX];
	EVP_MD_CTX *mc;
	mja_err e;

	if (!k || (unsigned)alg >= MJA_ALG__COUNT)
		return MJA_ERR_NO_KEY;
	/* spec 2.2, RFC 8725 3.1: the key pins the algorithm */
	if (!mja_key_fits(k, alg) || !key_type_ok(k, alg))
		return MJA_ERR_NO_KEY;
	if ((!input && inlen) || (!sig && siglen))
		return MJA_ERR_INVAL;

	switch (family_of(alg)) {
	case FAM_HS: {
		unsigned char mac[EVP_MAX_MD_SIZE];
		size_t maclen = 0;

		if (siglen != hash_len(alg))
			return MJA_ERR_BAD_SIGNATURE; /* RFC 7518 3.2: the full MAC */
		e = hmac(k, alg, input, inlen, mac, &maclen);
		if (e == MJA_OK && CRYPTO_memcmp(mac, sig, siglen) != 0)
			e = MJA_ERR_BAD_SIGNATURE; /* constant time (RFC 7515 10.1) */
		OPENSSL_cleanse(mac, sizeof(mac));
		return e;
	}
	case FAM_RS:
	case FAM_PS:
		/* RFC 8017 8.1.2 / 8.2.2: signature length = modulus length */
		if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
			return MJA_ERR_BAD_SIGNATURE;
		e = verify_prepared(k, alg, input, inlen, sig, siglen);
		break;
	case FAM_ES:
		/* RFC 7518 3.4: exactly R||S, each the coordinate size; DER or
		 * any other length is refused */
		if (siglen != 2 * ec_coord_len(alg))
			return MJA_ERR_BAD_SIGNATURE;
		e = verify_prepared(k, alg, input, inlen, der,
				raw_to_der(sig, ec_coord_len(alg), der));
		break;
	case FAM_ED:
		/* RFC 8032 5.1.7: 64 bytes */
		if (siglen != 64)
			return MJA_ERR_BAD_SIGNATURE;
		mc = EVP_MD_CTX_new();
		if (!mc)
			return MJA_ERR_NOMEM;
		/* no digest (RFC 8037 3.1, pure Ed25519): one-shot only */
		if (EVP_DigestVerifyInit(mc, NULL, NULL, NULL, k->pkey) != 1)
			e = MJA_ERR_INTERNAL;
		else if (EVP_DigestVerify(mc, sig, siglen, input, inlen) != 1)
			e = MJA_ERR_BAD_SIGNATURE;
		else
			e = MJA_OK;
		EVP_MD_CTX_free(mc);
		break;
	default:
		e = MJA_ERR_NO_KEY;
	}
	ERR_clear_error();
	return e;
}

mja_err mja_sig_sign(const mja_key *k, mja_alg alg,
		const unsigned char *input, size_t inlen,
		unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX *mc = NULL;
	EVP_PKEY_CTX *pc = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	mja_err e = MJA_OK;

	if (!sig || !siglen)
		return MJA_ERR_INVAL;
	*sig = NULL;
	*siglen = 0;
	if (!k || (unsigned)alg >= MJA_ALG__COUNT || !mja_key_fits(k, alg) || !key_type_ok(k, alg))
		return MJA_ERR_NO_KEY;
	if (!k->is_private || (!input && inlen))
		return MJA_ERR_INVAL;

	if (family_of(alg) == FAM_HS) {
		buf = malloc(EVP_MAX_MD_SIZE);
		if (!buf)
			return MJA_ERR_NOMEM;
		e = hmac(k, alg, input, inlen, buf, &len);
		goto out;
	}
	mc = EVP_MD_CTX_new();
	if (!mc)
		return MJA_ERR_NOMEM;
	if (EVP_DigestSignInit(mc, &pc, mja_sig__md(alg), NULL, k->pkey) != 1 ||
	    !set_padding(pc, alg) ||
	    EVP_DigestSign(mc, NULL, &len, input, inlen) != 1) {
		e = MJA_ERR_INTERNAL;
		goto out;
	}
	buf = malloc(len);
	if (!buf) {
		e = MJA_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestSign(mc, buf, &len, input, inlen) != 1) {
		e = MJA_ERR_INTERNAL;
		goto out;
	}
	if (family_of(alg) == FAM_ES) {
		/* DER -> fixed-width R||S (RFC 7518 3.4) */
		size_t clen = ec_coord_len(alg);
		unsigned char *raw = malloc(2 * clen);

		if (!raw) {
			e = MJA_ERR_NOMEM;
			goto out;
		}
		e = der_to_raw(buf, len, clen, raw);
		free(buf);
		buf = raw;
		len = 2 * clen;
	}
out:
	EVP_MD_CTX_free(mc);
	ERR_clear_error();
	if (e != MJA_OK) {
		free(buf);
		return e;
	}
	*sig = buf;
	*siglen = len;
	return MJA_OK;
}
