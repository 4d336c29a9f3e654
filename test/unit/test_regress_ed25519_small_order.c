/* test_regress_ed25519_small_order.c - a small-order Ed25519 "public key"
 * let anyone forge signatures.
 *
 * The bug: the key loader accepted any 32 bytes as an Ed25519 public key.
 * A point of small order (the identity, points of order 2, 4, 8) or a
 * non-canonical encoding lets anyone forge signatures without a private
 * key: with the identity as A, R = identity and S = 0 verifies for every
 * message. RFC 8032 5.1.7 leaves the check to the application; libsodium
 * refuses such keys the same way.
 *
 * The fix: the loader (JWK and PEM alike) refuses small-order and
 * non-canonical keys with a "small-order" diagnostic; a real key (RFC 8037
 * A.2) still loads. Found by a security review of the token core; this test
 * failed against the code before the fix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mja/token/b64url.h"
#include "mja/token/key.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ed25519_small_order_refused),
		cmocka_unit_test(ed25519_noncanonical_refused),
		cmocka_unit_test(ed25519_real_key_still_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
