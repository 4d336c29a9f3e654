/* sig_sign.c - JWS signatures (RFC 7518 section 3, RFC 8037 3.1). Only
 * `mosquitto_jwt`, the tests and the benchmarks sign: this file is in the
 * mja_tool library, never in the plugin.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "mja/token/key_internal.h"
#include "mja/token/sig.h"
#include "mja/token/sig_internal.h"

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

mja_err mja_sig_sign(const mja_key *k, mja_alg alg,
		const unsigned char *input, size_t inlen,
		unsigned char **sig, size_t *siglen)
{
	const mja_alg_info *ai;
	EVP_MD_CTX *mc = NULL;
	EVP_PKEY_CTX *pc = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	mja_err e = MJA_OK;

	if (!sig || !siglen)
		return MJA_ERR_INVAL;
	*sig = NULL;
	*siglen = 0;
	ai = mja_alg_info_of(alg);
	if (!k || !ai || !mja_key_fits(k, alg) || !mja_key__type_ok(k, alg))
		return MJA_ERR_NO_KEY;
	if (!k->is_private || (!input && inlen))
		return MJA_ERR_INVAL;

	if (ai->family == MJA_FAMILY_HMAC) {
		buf = malloc(EVP_MAX_MD_SIZE);
		if (!buf)
			return MJA_ERR_NOMEM;
		e = mja_sig__hmac(k, alg, input, inlen, buf, &len);
		goto out;
	}
	mc = EVP_MD_CTX_new();
	if (!mc)
		return MJA_ERR_NOMEM;
	if (EVP_DigestSignInit(mc, &pc, mja_key__md(alg), NULL, k->pkey) != 1 ||
	    !mja_key__set_padding(pc, alg) ||
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
	if (ai->family == MJA_FAMILY_ECDSA) {
		/* DER -> fixed-width R||S (RFC 7518 3.4) */
		size_t clen = ai->coord_len;
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
