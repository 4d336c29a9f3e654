/* sig.c - JWS signature verification with OpenSSL 3 EVP (RFC 7518
 * section 3, RFC 8037 3.1). Signing is in sig_sign.c (the mja_tool library).
 *
 * Every algorithm fact (family, digest, signature length, curve) comes from
 * alg.h's table. Verification first asks mja_key_fits() and then checks the
 * key's OpenSSL type and curve again (mja_key__type_ok), so that no table
 * mistake elsewhere can let a key verify an algorithm of another family
 * (RFC 8725 2.1, 3.1).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "mja/token/key_internal.h"
#include "mja/token/sig.h"
#include "mja/token/sig_internal.h"

/* ---- HMAC (RFC 7518 3.2) ---- */

mja_err mja_sig__hmac(const mja_key *k, mja_alg alg, const unsigned char *in, size_t inlen,
		unsigned char *out, size_t *outlen)
{
	const mja_alg_info *ai = mja_alg_info_of(alg);
	mja_sha2 c;

	*outlen = 0;
	if (!ai || ai->family != MJA_FAMILY_HMAC || !k->hmac_pad || ai->digest < 0 ||
	    ai->digest >= MJA_DIGEST__COUNT)
		return MJA_ERR_INTERNAL;
	/* RFC 2104 2: H(K ^ opad, H(K ^ ipad, text)) from the prepared halves */
	c = k->hmac_pad[ai->digest][0];
	mja_key__sha2_update(ai->digest, &c, in, inlen);
	mja_key__sha2_final(ai->digest, &c, out);
	c = k->hmac_pad[ai->digest][1];
	mja_key__sha2_update(ai->digest, &c, out, ai->digest_len);
	mja_key__sha2_final(ai->digest, &c, out);
	/* the copies hold key-derived state (the Final calls clear only
	 * the data block) */
	OPENSSL_cleanse(&c, sizeof(c));
	*outlen = ai->digest_len;
	return MJA_OK;
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

/* EVP_PKEY_verify of sig over H(input) with k's prepared context (key.c). */
static mja_err verify_prepared(const mja_key *k, mja_alg alg,
		const unsigned char *input, size_t inlen,
		const unsigned char *sig, size_t siglen)
{
	const mja_alg_info *ai = mja_alg_info_of(alg);
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_PKEY_CTX *pc;
	mja_err e;

	if (ai->digest == MJA_DIGEST_NONE || !k->vctx[alg] || !k->vmd[ai->digest])
		return MJA_ERR_INTERNAL;
	if (EVP_Digest(input, inlen, dgst, &dlen, k->vmd[ai->digest], NULL) != 1 ||
	    dlen != ai->digest_len)
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
	const mja_alg_info *ai = mja_alg_info_of(alg);
	unsigned char der[ECDSA_DER_MAX];
	EVP_MD_CTX *mc;
	mja_err e;

	if (!k || !ai)
		return MJA_ERR_NO_KEY;
	/* RFC 8725 3.1 (docs/design.md, Token rules): the key pins the algorithm */
	if (!mja_key_fits(k, alg) || !mja_key__type_ok(k, alg))
		return MJA_ERR_NO_KEY;
	if ((!input && inlen) || (!sig && siglen))
		return MJA_ERR_INVAL;

	switch (ai->family) {
	case MJA_FAMILY_HMAC: {
		unsigned char mac[EVP_MAX_MD_SIZE];
		size_t maclen = 0;

		if (siglen != ai->sig_len)
			return MJA_ERR_BAD_SIGNATURE; /* RFC 7518 3.2: the full MAC */
		e = mja_sig__hmac(k, alg, input, inlen, mac, &maclen);
		if (e == MJA_OK && CRYPTO_memcmp(mac, sig, siglen) != 0)
			e = MJA_ERR_BAD_SIGNATURE; /* constant time (RFC 7515 10.1) */
		OPENSSL_cleanse(mac, sizeof(mac));
		return e;
	}
	case MJA_FAMILY_RSA_PKCS1:
	case MJA_FAMILY_RSA_PSS:
		/* RFC 8017 8.1.2 / 8.2.2: signature length = modulus length */
		if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
			return MJA_ERR_BAD_SIGNATURE;
		e = verify_prepared(k, alg, input, inlen, sig, siglen);
		break;
	case MJA_FAMILY_ECDSA:
		/* RFC 7518 3.4: exactly R||S, each the coordinate size; DER or
		 * any other length is refused */
		if (siglen != ai->sig_len)
			return MJA_ERR_BAD_SIGNATURE;
		e = verify_prepared(k, alg, input, inlen, der,
				raw_to_der(sig, ai->coord_len, der));
		break;
	case MJA_FAMILY_EDDSA:
		/* RFC 8032 5.1.7: 64 bytes */
		if (siglen != ai->sig_len)
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
