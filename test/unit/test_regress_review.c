/* test_regress_review.c - regressions for defects found in the security
 * review of the token core (each test first failed against the code it
 * guards, then the fix went in).
 *
 * 1. Small-order Ed25519 public keys. A "public key" that is a point of
 *    small order (the identity, points of order 2, 4, 8) or a non-canonical
 *    encoding lets anyone forge signatures without a private key: with the
 *    identity as A, R = identity and S = 0 verifies for every message. The
 *    key loader must refuse such keys (RFC 8032 5.1.7 leaves this to the
 *    application; libsodium refuses them the same way).
 * 2. A secret_file that holds a public key. With the RSA public key's PEM
 *    as an HMAC secret, anyone who has the public key can mint HS256 tokens
 *    (the alg-confusion attack, made by configuration). The secret loader
 *    refuses content that looks like a PEM or JWK key.
 * 3. Fractional exp. A token with exp = T + 0.9 was accepted by the claims
 *    check at T but its principal carried floor(exp) = T, so it was denied
 *    and kicked at the same instant. mja_claims_exp rounds up: for integer
 *    clocks "exp + leeway <= now" and "ceil(exp) + leeway <= now" agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mja/b64url.h"
#include "mja/claims.h"
#include "mja/key.h"

/* The small-order encodings (sign bit clear), and y = p .. as non-canonical. */
static const unsigned char small_order[][32] = {
	{ 0 },                                         /* order 4 */
	{ 1 },                                         /* identity */
	{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89,
	  0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
	  0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },   /* order 8 */
	{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76,
	  0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
	  0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },   /* order 8 */
};

static void fill_p_plus(unsigned char out[32], unsigned char low)
{
	/* p + (low - 0xed): 0x..ed ff..ff 7f little-endian */
	memset(out, 0xff, 32);
	out[0] = low;
	out[31] = 0x7f;
}

static mja_err load_okp(const unsigned char x[32], mja_diag *d)
{
	char b64[64], jwk[160];
	mja_keyset *ks = mja_keyset_new();
	mja_err rc;

	assert_non_null(ks);
	mja_b64url_encode(x, 32, b64);
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", b64);
	rc = mja_keyset_add_jwk_json(ks, jwk, strlen(jwk), "test.jwk", d);
	mja_keyset_free(ks);
	return rc;
}

static mja_err load_okp_pem(const unsigned char x[32], mja_diag *d)
{
	static const unsigned char prefix[12] = {
		0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
	unsigned char der[44];
	char pem[200];
	mja_keyset *ks = mja_keyset_new();
	mja_err rc;
	int n;

	/* SubjectPublicKeyInfo of an Ed25519 key, PEM armoured by hand (base64
	 * of 44 bytes is 60 characters). */
	memcpy(der, prefix, 12);
	memcpy(der + 12, x, 32);
	{
		static const char tbl[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		char b64[64];
		int i, j = 0;

		for (i = 0; i < 44; i += 3) {
			unsigned v = (unsigned)der[i] << 16 | (i + 1 < 44 ? (unsigned)der[i + 1] << 8 : 0) |
				(i + 2 < 44 ? der[i + 2] : 0);
			b64[j++] = tbl[v >> 18 & 63];
			b64[j++] = tbl[v >> 12 & 63];
			b64[j++] = i + 1 < 44 ? tbl[v >> 6 & 63] : '=';
			b64[j++] = i + 2 < 44 ? tbl[v & 63] : '=';
		}
		b64[j] = '\0';
		n = snprintf(pem, sizeof(pem), "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64);
	}
	assert_true(n > 0);
	assert_non_null(ks);
	rc = mja_keyset_add_pem(ks, pem, (size_t)n, "test.pem", d);
	mja_keyset_free(ks);
	return rc;
}

static void ed25519_small_order_refused(void **state)
{
	size_t i;
	int sign;

	for (i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++) {
		for (sign = 0; sign < 2; sign++) {
			unsigned char x[32];
			mja_diag d = {0};

			memcpy(x, small_order[i], 32);
			if (sign)
				x[31] |= 0x80;
			assert_int_equal(load_okp(x, &d), MJA_ERR_KEY);
			assert_non_null(strstr(d.text, "small-order"));
			mja_diag_clear(&d);
			assert_int_equal(load_okp_pem(x, &d), MJA_ERR_KEY);
			assert_non_null(strstr(d.text, "small-order"));
		}
	}
}

static void ed25519_noncanonical_refused(void **state)
{
	unsigned char x[32];
	unsigned low;

	/* y = p - 1 and y = p, p + 1 (0 and 1 again) are small order; y in
	 * [p, 2^255) is not a canonical encoding at all. */
	for (low = 0xec; low <= 0xff; low++) {
		mja_diag d = {0};

		fill_p_plus(x, (unsigned char)low);
		assert_int_equal(load_okp(x, &d), MJA_ERR_KEY);
	}
}

static void ed25519_real_key_still_loads(void **state)
{
	/* RFC 8037 A.2 public key */
	static const char jwk[] =
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
	mja_keyset *ks = mja_keyset_new();
	mja_diag d = {0};

	assert_int_equal(mja_keyset_add_jwk_json(ks, jwk, strlen(jwk), "rfc8037", &d), MJA_OK);
	assert_int_equal(mja_keyset_count(ks), 1);
	mja_keyset_free(ks);
}

static char *write_temp(const char *content)
{
	char *path = strdup("/tmp/mja-regress-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

static void secret_file_with_public_key_refused(void **state)
{
	static const char *bad[] = {
		"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n",
		"\n  -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4\",\"e\":\"AQAB\"}\n",
		"\xef\xbb\xbf{\"keys\":[]}                                            \n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mja_keyset *ks = mja_keyset_new();
		char *path = write_temp(bad[i]);
		mja_diag d = {0};

		assert_int_equal(mja_keyset_load_secret_file(ks, path, &d), MJA_ERR_KEY);
		assert_non_null(strstr(d.text, "not a secret"));
		assert_int_equal(mja_keyset_count(ks), 0);
		unlink(path);
		free(path);
		mja_keyset_free(ks);
	}
}

static void secret_file_ordinary_still_loads(void **state)
{
	mja_keyset *ks = mja_keyset_new();
	char *path = write_temp("Zm9vYmFyLWJhei1xdXV4LTAxMjM0NTY3ODktYWJjZGVmZ2hpams\n");
	mja_diag d = {0};

	assert_int_equal(mja_keyset_load_secret_file(ks, path, &d), MJA_OK);
	assert_int_equal(mja_keyset_count(ks), 1);
	unlink(path);
	free(path);
	mja_keyset_free(ks);
}

static void fractional_exp_rounds_up(void **state)
{
	json_t *p = json_pack("{s:s,s:f}", "sub", "dev", "exp", 1000.1);
	mja_claim_rules r;
	int64_t exp = 0;

	memset(&r, 0, sizeof(r));
	assert_int_equal(mja_claims_check(p, &r, 1000), MJA_OK);       /* 1000.1 > 1000 */
	assert_true(mja_claims_exp(p, &exp));
	assert_int_equal(exp, 1001);
	/* the two views agree at every integer instant */
	assert_int_equal(mja_claims_check(p, &r, 1001), MJA_ERR_EXPIRED);
	json_decref(p);

	p = json_pack("{s:s,s:f}", "sub", "dev", "exp", -5.5);
	assert_true(mja_claims_exp(p, &exp));
	assert_int_equal(exp, -5);
	json_decref(p);

	p = json_pack("{s:s,s:f}", "sub", "dev", "exp", 1234.0);
	assert_true(mja_claims_exp(p, &exp));
	assert_int_equal(exp, 1234);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ed25519_small_order_refused),
		cmocka_unit_test(ed25519_noncanonical_refused),
		cmocka_unit_test(ed25519_real_key_still_loads),
		cmocka_unit_test(secret_file_with_public_key_refused),
		cmocka_unit_test(secret_file_ordinary_still_loads),
		cmocka_unit_test(fractional_exp_rounds_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
