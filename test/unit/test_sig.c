/* test_sig.c - signatures: published RFC vectors, refusals, round trips for
 * all 13 algorithms, and interoperability with the openssl command line.
 *
 * The story of the security tests: a JWS verifier is only as good as its
 * refusals. An HS256 token keyed with an RSA public key's PEM (the classic
 * alg-confusion attack) must find no key; an ES256 token must not verify
 * with a P-384 key; ECDSA signatures must be raw R||S of the exact length
 * (not DER, not padded, not truncated); a PSS signature must use a salt as
 * long as the hash (RFC 7518 3.5), not whatever the signer picked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>

#include "mja/token/alg.h"
#include "mja/token/b64url.h"
#include "mja/token/key.h"
#include "mja/token/sig.h"
#include "tsv.h"

#define KEYS MJA_TEST_VECTORS "/keys/"
#define SIGS MJA_TEST_VECTORS "/sig/"

/* A test vector file (NUL-terminated copy); a missing file fails the test. */
static char *slurp(const char *path, size_t *len)
{
	size_t n = 0;
	char *buf = test_read_file(path, &n);

	if (!buf)
		fail_msg("cannot read %s", path);
	if (len)
		*len = n;
	return buf;
}

/* A compact JWS file: input = before the last '.', sig = decoded after. */
struct jws {
	char *text;
	size_t inlen;
	unsigned char sig[1024];
	size_t siglen;
};

static void jws_load(struct jws *j, const char *name)
{
	char path[512];
	size_t len;
	char *dot;

	snprintf(path, sizeof(path), SIGS "%s", name);
	j->text = slurp(path, &len);
	while (len && (j->text[len - 1] == '\n' || j->text[len - 1] == '\r'))
		j->text[--len] = '\0';
	dot = strrchr(j->text, '.');
	assert_non_null(dot);
	j->inlen = (size_t)(dot - j->text);
	assert_true(mja_b64url_decoded_max(strlen(dot + 1)) <= sizeof(j->sig));
	assert_int_equal(mja_b64url_decode(dot + 1, strlen(dot + 1), j->sig, &j->siglen), MJA_OK);
}

static mja_keyset *load_keyfile(const char *name)
{
	char path[512];
	mja_diag d = { 0 };
	mja_keyset *ks = mja_keyset_new();
	mja_err e;

	assert_non_null(ks);
	snprintf(path, sizeof(path), KEYS "%s", name);
	e = mja_keyset_load_key_file(ks, path, &d);
	if (e != MJA_OK)
		fail_msg("%s: %s", path, d.text);
	return ks;
}

static mja_key *load_private(const char *name)
{
	char path[512];
	mja_diag d = { 0 };
	mja_key *k = NULL;

	snprintf(path, sizeof(path), KEYS "%s", name);
	if (mja_key_load_private_file(path, NULL, &k, &d) != MJA_OK)
		fail_msg("%s: %s", path, d.text);
	return k;
}

static const mja_key *only_key(const mja_keyset *ks, mja_alg alg)
{
	const mja_key *k[4];
	size_t n = 0;

	assert_int_equal(mja_keyset_find(ks, alg, NULL, 0, k, 4, &n), MJA_OK);
	assert_int_equal(n, 1);
	return k[0];
}

static mja_err verify(const mja_key *k, mja_alg alg, const void *in, size_t inlen,
		const unsigned char *sig, size_t siglen)
{
	return mja_sig_verify(k, alg, in, inlen, sig, siglen);
}

/* ---- published vectors ---- */

struct vector {
	const char *jws, *pub, *priv;
	mja_alg alg;
	int deterministic;
};

static const struct vector vectors[] = {
	{ "rfc7515-a1.jws", "rfc7515-a1.jwk", "rfc7515-a1.jwk", MJA_ALG_HS256, 1 },
	{ "rfc7515-a2.jws", "rfc7515-a2.pub.jwk", "rfc7515-a2.jwk", MJA_ALG_RS256, 1 },
	{ "rfc7515-a3.jws", "rfc7515-a3.pub.jwk", "rfc7515-a3.jwk", MJA_ALG_ES256, 0 },
	{ "rfc8037-a4.jws", "rfc8037-a2.pub.jwk", "rfc8037-a1.jwk", MJA_ALG_EDDSA, 1 },
	{ "rfc7520-4.1.jws", "rfc7520-3.4.pub.jwk", "rfc7520-3.4.jwk", MJA_ALG_RS256, 1 },
	{ "rfc7520-4.2.jws", "rfc7520-3.4.pub.jwk", "rfc7520-3.4.jwk", MJA_ALG_PS384, 0 },
	{ "rfc7520-4.3.jws", "rfc7520-3.2.pub.jwk", "rfc7520-3.2.jwk", MJA_ALG_ES512, 0 },
	{ "rfc7520-4.4.jws", "rfc7520-3.5.jwk", "rfc7520-3.5.jwk", MJA_ALG_HS256, 1 },
};

static void test_published_vectors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		struct jws j;
		mja_keyset *ks = load_keyfile(v->pub);
		const mja_key *k = only_key(ks, v->alg);
		mja_key *priv = load_private(v->priv);
		unsigned char *sig = NULL;
		size_t siglen = 0;

		jws_load(&j, v->jws);
		/* the published signature over the published signing input */
		if (verify(k, v->alg, j.text, j.inlen, j.sig, j.siglen) != MJA_OK)
			fail_msg("%s does not verify", v->jws);
		/* the private key verifies too */
		assert_int_equal(verify(priv, v->alg, j.text, j.inlen, j.sig, j.siglen), MJA_OK);
		/* one changed input byte */
		j.text[0] ^= 1;
		assert_int_equal(verify(k, v->alg, j.text, j.inlen, j.sig, j.siglen),
				MJA_ERR_BAD_SIGNATURE);
		j.text[0] ^= 1;
		/* re-sign: byte-exact where the algorithm is deterministic */
		assert_int_equal(mja_sig_sign(priv, v->alg, (unsigned char *)j.text, j.inlen,
				&sig, &siglen), MJA_OK);
		assert_int_equal(siglen, j.siglen);
		if (v->deterministic)
			assert_memory_equal(sig, j.sig, siglen);
		else
			assert_memory_not_equal(sig, j.sig, siglen);
		assert_int_equal(verify(k, v->alg, j.text, j.inlen, sig, siglen), MJA_OK);
		free(sig);
		mja_key_free(priv);
		mja_keyset_free(ks);
		free(j.text);
	}
}

/* Each bit of each published signature, flipped alone, is refused. */
static void test_published_vectors_every_bit(void **state)
{
	size_t i, bit;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct jws j;
		mja_keyset *ks = load_keyfile(vectors[i].pub);
		const mja_key *k = only_key(ks, vectors[i].alg);

		jws_load(&j, vectors[i].jws);
		for (bit = 0; bit < 8 * j.siglen; bit += 7) {
			j.sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			if (verify(k, vectors[i].alg, j.text, j.inlen, j.sig, j.siglen) !=
			    MJA_ERR_BAD_SIGNATURE)
				fail_msg("%s: bit %zu flipped still verifies", vectors[i].jws, bit);
			j.sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		}
		assert_int_equal(verify(k, vectors[i].alg, j.text, j.inlen, j.sig, j.siglen), MJA_OK);
		mja_keyset_free(ks);
		free(j.text);
	}
}

/* ---- generated keys: every algorithm ---- */

static mja_key *gen[4]; /* oct (512 bits), RSA 2048, and EC/OKP made per test */

static int group_setup(void **state)
{
	mja_diag d = { 0 };

	if (mja_key_generate(MJA_KTY_OCT, 512, "hs", &gen[0], &d) != MJA_OK ||
	    mja_key_generate(MJA_KTY_RSA, 2048, "rsa", &gen[1], &d) != MJA_OK ||
	    mja_key_generate(MJA_KTY_OKP, 0, "ed", &gen[2], &d) != MJA_OK) {
		fprintf(stderr, "keygen: %s\n", d.text);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	size_t i;

	for (i = 0; i < 4; i++)
		mja_key_free(gen[i]);
	return 0;
}

static mja_key *key_for(mja_alg alg, mja_key **ec)
{
	mja_diag d = { 0 };

	if (alg <= MJA_ALG_HS512)
		return gen[0];
	if (alg <= MJA_ALG_PS512)
		return gen[1];
	if (alg == MJA_ALG_EDDSA)
		return gen[2];
	assert_int_equal(mja_key_generate(MJA_KTY_EC, alg == MJA_ALG_ES256 ? 256 :
			alg == MJA_ALG_ES384 ? 384 : 521, NULL, ec, &d), MJA_OK);
	return *ec;
}

static const size_t expected_len[MJA_ALG__COUNT] = {
	32, 48, 64, 256, 256, 256, 256, 256, 256, 64, 96, 132, 64
};

static void test_round_trip_all_algorithms(void **state)
{
	static const unsigned char msg[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZXZpY2UtMSJ9";
	int a;

	for (a = 0; a < MJA_ALG__COUNT; a++) {
		mja_key *ec = NULL;
		mja_key *k = key_for((mja_alg)a, &ec);
		unsigned char *sig = NULL;
		size_t siglen = 0, bit;

		if (mja_sig_sign(k, (mja_alg)a, msg, sizeof(msg) - 1, &sig, &siglen) != MJA_OK)
			fail_msg("%s: sign failed", mja_alg_name((mja_alg)a));
		assert_int_equal(siglen, expected_len[a]);
		if (verify(k, (mja_alg)a, msg, sizeof(msg) - 1, sig, siglen) != MJA_OK)
			fail_msg("%s: round trip failed", mja_alg_name((mja_alg)a));
		/* one flipped bit, anywhere: first, middle, last byte */
		for (bit = 0; bit < 8 * siglen; bit += 8 * siglen / 3 + 1) {
			sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			if (verify(k, (mja_alg)a, msg, sizeof(msg) - 1, sig, siglen) !=
			    MJA_ERR_BAD_SIGNATURE)
				fail_msg("%s: flipped bit %zu verifies", mja_alg_name((mja_alg)a), bit);
			sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		}
		sig[siglen - 1] ^= 0x80;
		assert_int_equal(verify(k, (mja_alg)a, msg, sizeof(msg) - 1, sig, siglen),
				MJA_ERR_BAD_SIGNATURE);
		sig[siglen - 1] ^= 0x80;
		/* other input */
		assert_int_equal(verify(k, (mja_alg)a, msg, sizeof(msg) - 2, sig, siglen),
				MJA_ERR_BAD_SIGNATURE);
		/* one byte short and one byte long */
		assert_int_equal(verify(k, (mja_alg)a, msg, sizeof(msg) - 1, sig, siglen - 1),
				MJA_ERR_BAD_SIGNATURE);
		sig = realloc(sig, siglen + 1);
		assert_non_null(sig);
		sig[siglen] = 0;
		assert_int_equal(verify(k, (mja_alg)a, msg, sizeof(msg) - 1, sig, siglen + 1),
				MJA_ERR_BAD_SIGNATURE);
		/* empty */
		assert_int_equal(verify(k, (mja_alg)a, msg, sizeof(msg) - 1, sig, 0),
				MJA_ERR_BAD_SIGNATURE);
		free(sig);
		mja_key_free(ec);
	}
}

/* ECDSA R||S is turned into DER by our own encoder before OpenSSL
 * verifies it. Sign until each shape of INTEGER has been seen (a leading
 * zero byte to drop, a top bit that needs a 0x00 pad, neither) on every
 * curve, and check every signature both ways: ours accepts it, and so does
 * OpenSSL given its own DER (i2d_ECDSA_SIG). */
static void test_ecdsa_der_shapes(void **state)
{
	static const mja_alg algs[] = { MJA_ALG_ES256, MJA_ALG_ES384, MJA_ALG_ES512 };

	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		mja_key *k = NULL;
		mja_key *kk = key_for(algs[a], &k);
		size_t clen = algs[a] == MJA_ALG_ES256 ? 32 : algs[a] == MJA_ALG_ES384 ? 48 : 66;
		int strip = 0, pad = 0, plain = 0, i;
		char *pem = NULL;
		BIO *bio;
		EVP_PKEY *pub;

		assert_ptr_equal(kk, k);
		/* OpenSSL's view of the key, from its PEM export */
		assert_int_equal(mja_key_public_pem(k, &pem), MJA_OK);
		bio = BIO_new_mem_buf(pem, -1);
		assert_non_null(bio);
		pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		assert_non_null(pub);
		BIO_free(bio);
		free(pem);
		for (i = 0; i < 4000 && !(strip && pad && plain && i >= 20); i++) {
			unsigned char msg[16], *sig = NULL, *der = NULL;
			size_t siglen = 0;
			ECDSA_SIG *es;
			EVP_MD_CTX *mc;
			int derlen;

			snprintf((char *)msg, sizeof(msg), "message %06d", i);
			assert_int_equal(mja_sig_sign(k, algs[a], msg, sizeof(msg), &sig, &siglen), MJA_OK);
			assert_int_equal(siglen, 2 * clen);
			for (int h = 0; h < 2; h++) {
				const unsigned char *v = sig + h * clen;
				size_t z = 0;

				while (z < clen - 1 && v[z] == 0)
					z++;
				strip |= z > 0;
				pad |= v[z] >= 0x80;
				plain |= z == 0 && v[0] < 0x80;
			}
			assert_int_equal(verify(k, algs[a], msg, sizeof(msg), sig, siglen), MJA_OK);
			sig[siglen - 1] ^= 1;
			assert_int_equal(verify(k, algs[a], msg, sizeof(msg), sig, siglen),
					MJA_ERR_BAD_SIGNATURE);
			sig[siglen - 1] ^= 1;
			/* OpenSSL's own opinion of the same signature */
			es = ECDSA_SIG_new();
			assert_non_null(es);
			assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)clen, NULL),
					BN_bin2bn(sig + clen, (int)clen, NULL)), 1);
			derlen = i2d_ECDSA_SIG(es, &der);
			assert_true(derlen > 0);
			mc = EVP_MD_CTX_new();
			assert_non_null(mc);
			assert_int_equal(EVP_DigestVerifyInit(mc, NULL, mja_alg_name(algs[a])[2] == '2' ?
					EVP_sha256() : mja_alg_name(algs[a])[2] == '3' ? EVP_sha384() :
					EVP_sha512(), NULL, pub), 1);
			assert_int_equal(EVP_DigestVerify(mc, der, (size_t)derlen, msg, sizeof(msg)), 1);
			EVP_MD_CTX_free(mc);
			OPENSSL_free(der);
			ECDSA_SIG_free(es);
			free(sig);
		}
		if (!strip || !pad || !plain)
			fail_msg("%s: shapes not all seen (strip %d pad %d plain %d)",
				mja_alg_name(algs[a]), strip, pad, plain);
		EVP_PKEY_free(pub);
		mja_key_free(k);
	}
}

/* Our HMAC (RFC 2104 on prepared digest states) equals OpenSSL's HMAC()
 * for every hash, for keys shorter than, equal to and longer than the
 * block size (64 for SHA-256, 128 for SHA-384/512), and any message. */
static void test_hmac_matches_openssl(void **state)
{
	static const size_t keylens[] = { 32, 48, 63, 64, 65, 127, 128, 129, 300 };
	static const size_t msglens[] = { 0, 1, 55, 56, 64, 200 };
	unsigned char key[300], msg[200];
	size_t i, j;
	int a;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 13 + 1);
	for (i = 0; i < sizeof(keylens) / sizeof(keylens[0]); i++) {
		mja_key *k = NULL;
		mja_diag d = { 0 };

		assert_int_equal(mja_key_from_secret(key, keylens[i], NULL, &k, &d), MJA_OK);
		for (a = MJA_ALG_HS256; a <= MJA_ALG_HS512; a++) {
			const EVP_MD *md = a == MJA_ALG_HS256 ? EVP_sha256() :
				a == MJA_ALG_HS384 ? EVP_sha384() : EVP_sha512();

			if (!mja_key_fits(k, (mja_alg)a))
				continue;
			for (j = 0; j < sizeof(msglens) / sizeof(msglens[0]); j++) {
				unsigned char want[EVP_MAX_MD_SIZE], *got = NULL;
				unsigned int wl = 0;
				size_t gl = 0;

				assert_non_null(HMAC(md, key, (int)keylens[i], msg, msglens[j], want, &wl));
				assert_int_equal(mja_sig_sign(k, (mja_alg)a, msg, msglens[j], &got, &gl),
						MJA_OK);
				assert_int_equal(gl, wl);
				assert_memory_equal(got, want, wl);
				assert_int_equal(verify(k, (mja_alg)a, msg, msglens[j], want, wl), MJA_OK);
				free(got);
			}
		}
		mja_key_free(k);
	}
}

/* A key verifies only its own family (and size): the algorithm is pinned
 * by the key, never by the token (RFC 8725 3.1). */
static void test_key_pins_family(void **state)
{
	static const unsigned char msg[] = "a.b";
	int a, b;

	for (a = 0; a < MJA_ALG__COUNT; a++) {
		mja_key *ec = NULL;
		mja_key *k = key_for((mja_alg)a, &ec);
		unsigned char *sig = NULL;
		size_t siglen = 0;

		assert_int_equal(mja_sig_sign(k, (mja_alg)a, msg, 3, &sig, &siglen), MJA_OK);
		for (b = 0; b < MJA_ALG__COUNT; b++) {
			int same_family = a / 3 == b / 3 || (a <= MJA_ALG_PS512 && a >= MJA_ALG_RS256 &&
					b <= MJA_ALG_PS512 && b >= MJA_ALG_RS256);
			mja_err e = verify(k, (mja_alg)b, msg, 3, sig, siglen);

			if (a == b)
				assert_int_equal(e, MJA_OK);
			else if (!same_family || (a >= MJA_ALG_ES256 && a <= MJA_ALG_ES512))
				/* other family, or an EC key on another curve */
				assert_int_equal(e, MJA_ERR_NO_KEY);
			else
				assert_int_equal(e, MJA_ERR_BAD_SIGNATURE);
			/* signing follows the same rule */
			if (e == MJA_ERR_NO_KEY) {
				unsigned char *s2 = NULL;
				size_t l2 = 0;

				assert_int_equal(mja_sig_sign(k, (mja_alg)b, msg, 3, &s2, &l2),
						MJA_ERR_NO_KEY);
				assert_null(s2);
			}
		}
		free(sig);
		mja_key_free(ec);
	}
}

/* The alg-confusion attack (CVE-2015-9235 class): HMAC keyed with the
 * bytes of the server's RSA public key PEM. */
static void test_alg_confusion_rsa_pem_as_hmac_secret(void **state)
{
	static const unsigned char msg[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9";
	mja_keyset *ks = load_keyfile("rsa2048.pub.pem");
	char *pem;
	size_t pemlen;
	mja_key *attacker = NULL;
	unsigned char *mac = NULL;
	size_t maclen = 0, n = 9;
	const mja_key *cand[2];
	mja_diag d = { 0 };

	pem = slurp(KEYS "rsa2048.pub.pem", &pemlen);
	assert_int_equal(mja_key_from_secret((unsigned char *)pem, pemlen, NULL, &attacker, &d),
			MJA_OK);
	assert_int_equal(mja_sig_sign(attacker, MJA_ALG_HS256, msg, sizeof(msg) - 1, &mac, &maclen),
			MJA_OK);
	/* no key of the set fits HS256 ... */
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_HS256, NULL, 0, cand, 2, &n), MJA_ERR_NO_KEY);
	assert_int_equal(n, 0);
	assert_int_equal(mja_keyset_algs(ks) & (MJA_ALG_BIT(MJA_ALG_HS256) |
			MJA_ALG_BIT(MJA_ALG_HS384) | MJA_ALG_BIT(MJA_ALG_HS512)), 0);
	/* ... and the RSA key itself refuses to act as an HMAC key */
	assert_int_equal(verify(mja_keyset_get(ks, 0), MJA_ALG_HS256, msg, sizeof(msg) - 1,
			mac, maclen), MJA_ERR_NO_KEY);
	free(mac);
	free(pem);
	mja_key_free(attacker);
	mja_keyset_free(ks);
}

static void test_wrong_curve(void **state)
{
	static const unsigned char msg[] = "a.b";
	mja_keyset *ks = load_keyfile("ec384.pub.pem");
	const mja_key *k = mja_keyset_get(ks, 0);
	unsigned char sig[64] = { 1 };

	assert_false(mja_key_fits(k, MJA_ALG_ES256));
	assert_true(mja_key_fits(k, MJA_ALG_ES384));
	assert_false(mja_key_fits(k, MJA_ALG_ES512));
	assert_int_equal(verify(k, MJA_ALG_ES256, msg, 3, sig, sizeof(sig)), MJA_ERR_NO_KEY);
	mja_keyset_free(ks);
}

/* RFC 7518 3.4: raw R||S of exactly twice the coordinate size. */
static void test_ecdsa_signature_shapes(void **state)
{
	struct jws j;
	mja_keyset *ks = load_keyfile("rfc7515-a3.pub.jwk");
	const mja_key *k = only_key(ks, MJA_ALG_ES256);
	unsigned char buf[200], *der = NULL;
	ECDSA_SIG *es;
	int derlen;

	jws_load(&j, "rfc7515-a3.jws");
	assert_int_equal(j.siglen, 64);
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, j.sig, 64), MJA_OK);
	/* truncated */
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, j.sig, 63),
			MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, j.sig, 32),
			MJA_ERR_BAD_SIGNATURE);
	/* padded: trailing zero, leading zero on R */
	memcpy(buf, j.sig, 64);
	buf[64] = 0;
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, buf, 65), MJA_ERR_BAD_SIGNATURE);
	buf[0] = 0;
	memcpy(buf + 1, j.sig, 64);
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, buf, 65), MJA_ERR_BAD_SIGNATURE);
	/* the same signature DER-encoded (what OpenSSL itself produces) */
	es = ECDSA_SIG_new();
	assert_non_null(es);
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(j.sig, 32, NULL), BN_bin2bn(j.sig + 32, 32, NULL)), 1);
	derlen = i2d_ECDSA_SIG(es, &der);
	assert_true(derlen > 64 && derlen <= 72);
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, der, (size_t)derlen),
			MJA_ERR_BAD_SIGNATURE);
	/* a DER signature that happens to be 64 bytes long is not R||S either */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, der, (size_t)derlen < 64 ? (size_t)derlen : 64);
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, buf, 64), MJA_ERR_BAD_SIGNATURE);
	/* r = 0 or s = 0 */
	memcpy(buf, j.sig, 64);
	memset(buf, 0, 32);
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, buf, 64), MJA_ERR_BAD_SIGNATURE);
	memcpy(buf, j.sig, 64);
	memset(buf + 32, 0, 32);
	assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, buf, 64), MJA_ERR_BAD_SIGNATURE);
	/* s replaced by n - s (the other valid-looking s) is still refused?
	 * No: ECDSA is malleable and (r, n - s) verifies; JWS does not forbid
	 * it, so neither do we. Checked here so the behaviour is known. */
	{
		BIGNUM *n = BN_new(), *s = BN_bin2bn(j.sig + 32, 32, NULL);
		EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);

		assert_non_null(g);
		assert_int_equal(BN_sub(n, EC_GROUP_get0_order(g), s), 1);
		memcpy(buf, j.sig, 32);
		assert_int_equal(BN_bn2binpad(n, buf + 32, 32), 32);
		assert_int_equal(verify(k, MJA_ALG_ES256, j.text, j.inlen, buf, 64), MJA_OK);
		BN_free(n);
		BN_free(s);
		EC_GROUP_free(g);
	}
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	mja_keyset_free(ks);
	free(j.text);
}

static void test_rsa_and_hmac_lengths(void **state)
{
	struct jws j;
	mja_keyset *ks = load_keyfile("rfc7515-a2.pub.jwk");
	mja_keyset *hs = load_keyfile("rfc7515-a1.jwk");
	const mja_key *k = only_key(ks, MJA_ALG_RS256);
	unsigned char buf[300];

	jws_load(&j, "rfc7515-a2.jws");
	assert_int_equal(j.siglen, 256);
	/* truncated, or with a leading zero byte (same integer) */
	assert_int_equal(verify(k, MJA_ALG_RS256, j.text, j.inlen, j.sig, 255), MJA_ERR_BAD_SIGNATURE);
	buf[0] = 0;
	memcpy(buf + 1, j.sig, 256);
	assert_int_equal(verify(k, MJA_ALG_RS256, j.text, j.inlen, buf, 257), MJA_ERR_BAD_SIGNATURE);
	/* the RS256 signature is not a PS256 one */
	assert_int_equal(verify(k, MJA_ALG_PS256, j.text, j.inlen, j.sig, 256), MJA_ERR_BAD_SIGNATURE);
	free(j.text);

	/* HMAC: a truncated MAC (RFC 7518 3.2 allows no truncation) */
	jws_load(&j, "rfc7515-a1.jws");
	k = only_key(hs, MJA_ALG_HS256);
	assert_int_equal(verify(k, MJA_ALG_HS256, j.text, j.inlen, j.sig, 32), MJA_OK);
	assert_int_equal(verify(k, MJA_ALG_HS256, j.text, j.inlen, j.sig, 16), MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(verify(k, MJA_ALG_HS256, j.text, j.inlen, j.sig, 0), MJA_ERR_BAD_SIGNATURE);
	free(j.text);
	mja_keyset_free(ks);
	mja_keyset_free(hs);
}

static void test_sign_needs_private_key(void **state)
{
	mja_keyset *ks = load_keyfile("rfc7515-a2.pub.jwk");
	unsigned char *sig = (unsigned char *)"x";
	size_t siglen = 7;

	assert_int_equal(mja_sig_sign(mja_keyset_get(ks, 0), MJA_ALG_RS256,
			(const unsigned char *)"a.b", 3, &sig, &siglen), MJA_ERR_INVAL);
	assert_null(sig);
	assert_int_equal(siglen, 0);
	assert_int_equal(mja_sig_verify(NULL, MJA_ALG_RS256, (const unsigned char *)"a", 1,
			(const unsigned char *)"b", 1), MJA_ERR_NO_KEY);
	assert_int_equal(mja_sig_verify(mja_keyset_get(ks, 0), MJA_ALG__COUNT,
			(const unsigned char *)"a", 1, (const unsigned char *)"b", 1), MJA_ERR_NO_KEY);
	mja_keyset_free(ks);
}

/* A JWK "alg" pins the key: RS256 pinned key does not verify PS256. */
static void test_jwk_alg_pin(void **state)
{
	static const char jwk_head[] = "{\"kty\":\"RSA\",\"alg\":\"RS256\",";
	char *pub = slurp(KEYS "rfc7515-a2.pub.jwk", NULL);
	char json[2048];
	mja_keyset *ks = mja_keyset_new();
	mja_key *priv = load_private("rfc7515-a2.jwk");
	unsigned char *sig = NULL;
	size_t siglen = 0;
	mja_diag d = { 0 };
	const char *rest = strstr(pub, "\"n\"");

	assert_non_null(rest);
	snprintf(json, sizeof(json), "%s%s", jwk_head, rest);
	assert_int_equal(mja_keyset_add_jwk_json(ks, json, strlen(json), "pinned", &d), MJA_OK);
	assert_int_equal(mja_sig_sign(priv, MJA_ALG_PS256, (const unsigned char *)"a.b", 3,
			&sig, &siglen), MJA_OK);
	assert_int_equal(verify(mja_keyset_get(ks, 0), MJA_ALG_PS256, "a.b", 3, sig, siglen),
			MJA_ERR_NO_KEY);
	free(sig);
	assert_int_equal(mja_sig_sign(priv, MJA_ALG_RS256, (const unsigned char *)"a.b", 3,
			&sig, &siglen), MJA_OK);
	assert_int_equal(verify(mja_keyset_get(ks, 0), MJA_ALG_RS256, "a.b", 3, sig, siglen), MJA_OK);
	free(sig);
	mja_key_free(priv);
	mja_keyset_free(ks);
	free(pub);
}

/* ---- interoperability with the openssl command line ---- */

static char tmpdir[64];

static void sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static int sh_rc(const char *cmd)
{
	return system(cmd);
}

static int interop_setup(void **state)
{
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mja-sig-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/input", tmpdir);
		f = fopen(p, "wb");
		if (!f)
			return -1;
		fputs("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcGVuc3NsIn0", f);
		fclose(f);
	}
	return 0;
}

static int interop_teardown(void **state)
{
	char cmd[128];

	if (tmpdir[0] && strncmp(tmpdir, "/tmp/mja-sig-", 13) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		return system(cmd) == 0 ? 0 : -1;
	}
	return 0;
}

static unsigned char *read_tmp(const char *name, size_t *len)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return (unsigned char *)slurp(p, len);
}

static void write_tmp(const char *name, const unsigned char *b, size_t len)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
}

/* openssl signs, we verify; we sign, openssl verifies. */
static void interop_one(const char *priv, const char *pub, mja_alg alg, const char *sign_cmd,
		const char *verify_cmd)
{
	mja_keyset *ks = load_keyfile(pub);
	mja_key *mine = load_private(priv);
	const mja_key *k = only_key(ks, alg);
	unsigned char *in, *sig, *ours = NULL;
	size_t inlen, siglen, ourlen = 0;

	in = read_tmp("input", &inlen);
	sh("cp %s%s %s/priv.pem && cp %s%s %s/pub.pem", KEYS, priv, tmpdir, KEYS, pub, tmpdir);
	sh("cd %s && %s", tmpdir, sign_cmd);
	sig = read_tmp("sig.bin", &siglen);
	if (verify(k, alg, in, inlen, sig, siglen) != MJA_OK)
		fail_msg("%s: openssl's signature does not verify", mja_alg_name(alg));
	sig[siglen / 2] ^= 4;
	assert_int_equal(verify(k, alg, in, inlen, sig, siglen), MJA_ERR_BAD_SIGNATURE);

	assert_int_equal(mja_sig_sign(mine, alg, in, inlen, &ours, &ourlen), MJA_OK);
	write_tmp("ours.bin", ours, ourlen);
	sh("cd %s && %s", tmpdir, verify_cmd);
	free(ours);
	free(sig);
	free(in);
	mja_key_free(mine);
	mja_keyset_free(ks);
}

static void test_openssl_rs256(void **state)
{
	interop_one("rsa2048.pem", "rsa2048.pub.pem", MJA_ALG_RS256,
		"openssl dgst -sha256 -sign priv.pem -out sig.bin input",
		"openssl dgst -sha256 -verify pub.pem -signature ours.bin input >/dev/null");
}

static void test_openssl_ps256(void **state)
{
	interop_one("rsa2048.pem", "rsa2048.pub.pem", MJA_ALG_PS256,
		"openssl dgst -sha256 -sign priv.pem -sigopt rsa_padding_mode:pss "
		"-sigopt rsa_pss_saltlen:digest -out sig.bin input",
		"openssl dgst -sha256 -verify pub.pem -sigopt rsa_padding_mode:pss "
		"-sigopt rsa_pss_saltlen:digest -signature ours.bin input >/dev/null");
}

static void test_openssl_eddsa(void **state)
{
	interop_one("ed25519.pem", "ed25519.pub.pem", MJA_ALG_EDDSA,
		"openssl pkeyutl -sign -rawin -inkey priv.pem -out sig.bin -in input",
		"openssl pkeyutl -verify -rawin -pubin -inkey pub.pem -sigfile ours.bin "
		"-in input >/dev/null");
}

/* RFC 7518 3.5: the salt is as long as the hash. OpenSSL would accept any
 * salt with RSA_PSS_SALTLEN_AUTO; we must not. */
static void test_openssl_pss_salt_length_enforced(void **state)
{
	static const char *const bad[] = {
		"-sigopt rsa_pss_saltlen:0",
		"-sigopt rsa_pss_saltlen:20",
		"-sigopt rsa_pss_saltlen:max",
		"-sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha1",
	};
	mja_keyset *ks = load_keyfile("rsa2048.pub.pem");
	const mja_key *k = only_key(ks, MJA_ALG_PS256);
	unsigned char *in, *sig;
	size_t inlen, siglen, i;

	in = read_tmp("input", &inlen);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sh("openssl dgst -sha256 -sign %srsa2048.pem -sigopt rsa_padding_mode:pss %s "
			"-out %s/sig.bin %s/input", KEYS, bad[i], tmpdir, tmpdir);
		sig = read_tmp("sig.bin", &siglen);
		assert_int_equal(siglen, 256);
		if (verify(k, MJA_ALG_PS256, in, inlen, sig, siglen) != MJA_ERR_BAD_SIGNATURE)
			fail_msg("PSS signature with %s accepted", bad[i]);
		free(sig);
	}
	free(in);
	mja_keyset_free(ks);
}

/* OpenSSL's ECDSA output is DER: refused as is, accepted once converted
 * to R||S; and our R||S converted to DER verifies under openssl. */
static void test_openssl_es256(void **state)
{
	mja_keyset *ks = load_keyfile("ec256.pub.pem");
	mja_key *mine = load_private("ec256.pem");
	const mja_key *k = only_key(ks, MJA_ALG_ES256);
	unsigned char *in, *der, raw[64], *ours = NULL, *der2 = NULL;
	const unsigned char *p;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	size_t inlen, derlen, ourlen = 0;
	int der2len;

	in = read_tmp("input", &inlen);
	sh("openssl dgst -sha256 -sign %sec256.pem -out %s/sig.bin %s/input", KEYS, tmpdir, tmpdir);
	der = read_tmp("sig.bin", &derlen);
	assert_int_equal(verify(k, MJA_ALG_ES256, in, inlen, der, derlen), MJA_ERR_BAD_SIGNATURE);
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
	assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
	ECDSA_SIG_free(es);
	assert_int_equal(verify(k, MJA_ALG_ES256, in, inlen, raw, 64), MJA_OK);

	assert_int_equal(mja_sig_sign(mine, MJA_ALG_ES256, in, inlen, &ours, &ourlen), MJA_OK);
	assert_int_equal(ourlen, 64);
	es = ECDSA_SIG_new();
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(ours, 32, NULL), BN_bin2bn(ours + 32, 32, NULL)), 1);
	der2len = i2d_ECDSA_SIG(es, &der2);
	assert_true(der2len > 0);
	write_tmp("ours.bin", der2, (size_t)der2len);
	sh("openssl dgst -sha256 -verify %sec256.pub.pem -signature %s/ours.bin %s/input >/dev/null",
			KEYS, tmpdir, tmpdir);
	/* and openssl refuses our raw form, as it should */
	write_tmp("ours.bin", ours, ourlen);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -verify %sec256.pub.pem "
			"-signature %s/ours.bin %s/input >/dev/null 2>&1", KEYS, tmpdir, tmpdir);
		assert_int_not_equal(sh_rc(cmd), 0);
	}
	ECDSA_SIG_free(es);
	OPENSSL_free(der2);
	free(ours);
	free(der);
	free(in);
	mja_key_free(mine);
	mja_keyset_free(ks);
}

/* Keys generated here and serialised to PEM are usable by openssl. */
static void test_generated_keys_pem_interop(void **state)
{
	static const struct { mja_kty kty; int bits; mja_alg alg; const char *sign; } g[] = {
		{ MJA_KTY_EC, 384, MJA_ALG_ES384, NULL },
		{ MJA_KTY_OKP, 0, MJA_ALG_EDDSA,
			"openssl pkeyutl -sign -rawin -inkey gen.pem -out sig.bin -in input" },
		{ MJA_KTY_RSA, 2048, MJA_ALG_RS512,
			"openssl dgst -sha512 -sign gen.pem -out sig.bin input" },
	};
	size_t i;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		mja_key *k = NULL;
		mja_keyset *ks = mja_keyset_new();
		char *priv = NULL, *pub = NULL;
		mja_diag d = { 0 };
		unsigned char *in, *sig;
		size_t inlen, siglen;

		assert_int_equal(mja_key_generate(g[i].kty, g[i].bits, NULL, &k, &d), MJA_OK);
		assert_int_equal(mja_key_private_pem(k, &priv), MJA_OK);
		assert_int_equal(mja_key_public_pem(k, &pub), MJA_OK);
		assert_non_null(strstr(priv, "-----BEGIN PRIVATE KEY-----"));
		assert_non_null(strstr(pub, "-----BEGIN PUBLIC KEY-----"));
		assert_int_equal(mja_keyset_add_pem(ks, pub, strlen(pub), "gen", &d), MJA_OK);
		write_tmp("gen.pem", (unsigned char *)priv, strlen(priv));
		if (g[i].sign) {
			in = read_tmp("input", &inlen);
			sh("cd %s && %s", tmpdir, g[i].sign);
			sig = read_tmp("sig.bin", &siglen);
			assert_int_equal(verify(mja_keyset_get(ks, 0), g[i].alg, in, inlen, sig, siglen),
					MJA_OK);
			free(sig);
			free(in);
		}
		/* the PEM loads back as a private key that signs for the public one */
		{
			mja_key *back = NULL;
			unsigned char *s = NULL;
			size_t sl = 0;

			assert_int_equal(mja_key_from_private_pem(priv, strlen(priv), "x", &back, &d), MJA_OK);
			assert_string_equal(mja_key_kid(back), "x");
			assert_int_equal(mja_sig_sign(back, g[i].alg, (const unsigned char *)"q", 1, &s, &sl),
					MJA_OK);
			assert_int_equal(verify(mja_keyset_get(ks, 0), g[i].alg, "q", 1, s, sl), MJA_OK);
			free(s);
			mja_key_free(back);
		}
		free(priv);
		free(pub);
		mja_keyset_free(ks);
		mja_key_free(k);
	}
}

int main(void)
{
	const struct CMUnitTest vectors_and_refusals[] = {
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test(test_published_vectors_every_bit),
		cmocka_unit_test(test_round_trip_all_algorithms),
		cmocka_unit_test(test_hmac_matches_openssl),
		cmocka_unit_test(test_key_pins_family),
		cmocka_unit_test(test_alg_confusion_rsa_pem_as_hmac_secret),
		cmocka_unit_test(test_wrong_curve),
		cmocka_unit_test(test_ecdsa_signature_shapes),
		cmocka_unit_test(test_ecdsa_der_shapes),
		cmocka_unit_test(test_rsa_and_hmac_lengths),
		cmocka_unit_test(test_sign_needs_private_key),
		cmocka_unit_test(test_jwk_alg_pin),
	};
	const struct CMUnitTest interop[] = {
		cmocka_unit_test(test_openssl_rs256),
		cmocka_unit_test(test_openssl_ps256),
		cmocka_unit_test(test_openssl_eddsa),
		cmocka_unit_test(test_openssl_es256),
		cmocka_unit_test(test_openssl_pss_salt_length_enforced),
		cmocka_unit_test(test_generated_keys_pem_interop),
	};
	int rc = cmocka_run_group_tests_name("sig", vectors_and_refusals, group_setup, group_teardown);

	return rc | cmocka_run_group_tests_name("sig_openssl_interop", interop, interop_setup,
			interop_teardown);
}
