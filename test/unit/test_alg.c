/* test_alg.c - algorithm names and the allow-list option (RFC 7518 3.1, RFC 8037 3.1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "mja/token/alg.h"

static const char *const names[MJA_ALG__COUNT] = {
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
};

static mja_err parse(const char *s, mja_alg_set *set, mja_diag *d)
{
	mja_diag_clear(d);
	return mja_alg_set_parse(s, strlen(s), set, d);
}

static void test_names_roundtrip(void **state)
{
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		mja_alg got = MJA_ALG__COUNT;

		assert_string_equal(mja_alg_name((mja_alg)a), names[a]);
		assert_int_equal(mja_alg_from_name(names[a], strlen(names[a]), &got), MJA_OK);
		assert_int_equal(got, a);
	}
	assert_string_equal(mja_alg_name(MJA_ALG__COUNT), "?");
	assert_string_equal(mja_alg_name((mja_alg)-1), "?");
}

static void test_from_name_refuses(void **state)
{
	static const char *const bad[] = {
		"none", "None", "NONE", "nOnE", "hs256", "Hs256", "EDDSA", "eddsa",
		"ES256K", "HS", "HS2560", "RS256 ", " RS256", "", "Ed25519",
	};
	mja_alg a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mja_alg_from_name(bad[i], strlen(bad[i]), &a),
				MJA_ERR_ALG_NOT_ALLOWED);
	/* explicit length: an embedded NUL does not shorten the name */
	assert_int_equal(mja_alg_from_name("HS256\0", 6, &a), MJA_ERR_ALG_NOT_ALLOWED);
	/* and a prefix of a longer buffer is looked up by its length */
	assert_int_equal(mja_alg_from_name("RS256xyz", 5, &a), MJA_OK);
	assert_int_equal(a, MJA_ALG_RS256);
}

static void test_set_parse_ok(void **state)
{
	mja_alg_set set;
	mja_diag d;

	assert_int_equal(parse("RS256", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_RS256));
	assert_int_equal(parse("HS256,ES384 EdDSA", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_HS256) | MJA_ALG_BIT(MJA_ALG_ES384) |
			MJA_ALG_BIT(MJA_ALG_EDDSA));
	assert_int_equal(parse("  PS512 , , PS256,,", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_PS512) | MJA_ALG_BIT(MJA_ALG_PS256));
	assert_int_equal(parse("HS256 HS256", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_HS256));
	assert_int_equal(parse("HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 "
			"ES256 ES384 ES512 EdDSA", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_SET_ALL);
	/* explicit length: the tail after len is not read */
	mja_diag_clear(&d);
	assert_int_equal(mja_alg_set_parse("HS256,none", 5, &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_HS256));
}

static void test_set_parse_none(void **state)
{
	static const char *const lists[] = {
		"none", "None", "NONE", "nOnE", "HS256,none", "RS256 NONE ES256",
	};
	mja_alg_set set;
	mja_diag d;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		set = 123;
		assert_int_not_equal(parse(lists[i], &set, &d), MJA_OK);
		assert_int_equal(set, 0);
		assert_non_null(strstr(d.text, "\"none\""));
	}
}

static void test_set_parse_unknown_and_empty(void **state)
{
	mja_alg_set set;
	mja_diag d;

	assert_int_not_equal(parse("HS256,hs384", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "hs384"));
	assert_int_not_equal(parse("RS256;ES256", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "RS256;ES256"));
	assert_int_not_equal(parse("", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "empty"));
	assert_int_not_equal(parse(" , ,", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "empty"));
	assert_int_equal(set, 0);
}

/* The one algorithm table: each row agrees with RFC 7518 / RFC 8037 and
 * with OpenSSL's own figures, and the rows agree with each other. */
static void test_table(void **state)
{
	static const struct {
		mja_alg a;
		mja_alg_family f;
		mja_kty kty;
		size_t dlen, siglen;
		const char *curve;
	} want[] = {
		{ MJA_ALG_HS256, MJA_FAMILY_HMAC, MJA_KTY_OCT, 32, 32, NULL },
		{ MJA_ALG_HS384, MJA_FAMILY_HMAC, MJA_KTY_OCT, 48, 48, NULL },
		{ MJA_ALG_HS512, MJA_FAMILY_HMAC, MJA_KTY_OCT, 64, 64, NULL },
		{ MJA_ALG_RS256, MJA_FAMILY_RSA_PKCS1, MJA_KTY_RSA, 32, 0, NULL },
		{ MJA_ALG_RS384, MJA_FAMILY_RSA_PKCS1, MJA_KTY_RSA, 48, 0, NULL },
		{ MJA_ALG_RS512, MJA_FAMILY_RSA_PKCS1, MJA_KTY_RSA, 64, 0, NULL },
		{ MJA_ALG_PS256, MJA_FAMILY_RSA_PSS, MJA_KTY_RSA, 32, 0, NULL },
		{ MJA_ALG_PS384, MJA_FAMILY_RSA_PSS, MJA_KTY_RSA, 48, 0, NULL },
		{ MJA_ALG_PS512, MJA_FAMILY_RSA_PSS, MJA_KTY_RSA, 64, 0, NULL },
		{ MJA_ALG_ES256, MJA_FAMILY_ECDSA, MJA_KTY_EC, 32, 64, "P-256" },
		{ MJA_ALG_ES384, MJA_FAMILY_ECDSA, MJA_KTY_EC, 48, 96, "P-384" },
		{ MJA_ALG_ES512, MJA_FAMILY_ECDSA, MJA_KTY_EC, 64, 132, "P-521" },
		{ MJA_ALG_EDDSA, MJA_FAMILY_EDDSA, MJA_KTY_OKP, 0, 64, "Ed25519" },
	};

	assert_int_equal(sizeof(want) / sizeof(want[0]), MJA_ALG__COUNT);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const mja_alg_info *ai = mja_alg_info_of(want[i].a);

		assert_non_null(ai);
		assert_string_equal(ai->name, mja_alg_name(want[i].a));
		assert_int_equal(ai->family, want[i].f);
		assert_int_equal(ai->kty, want[i].kty);
		assert_int_equal(ai->digest_len, want[i].dlen);
		assert_int_equal(ai->sig_len, want[i].siglen);
		if (want[i].curve)
			assert_string_equal(ai->curve, want[i].curve);
		else
			assert_null(ai->curve);
		if (ai->digest == MJA_DIGEST_NONE) {
			assert_null(ai->digest_name);
		} else {
			const EVP_MD *md = EVP_get_digestbyname(ai->digest_name);

			assert_non_null(md);
			assert_int_equal((size_t)EVP_MD_get_size(md), ai->digest_len);
			assert_int_equal(ai->digest_len, 32 + 16 * (size_t)ai->digest);
		}
		switch (ai->family) {
		case MJA_FAMILY_HMAC:
			/* RFC 7518 3.2: a secret at least as long as the hash */
			assert_int_equal(ai->min_key_bytes, ai->digest_len);
			break;
		case MJA_FAMILY_RSA_PKCS1:
		case MJA_FAMILY_RSA_PSS:
			assert_int_equal(ai->min_bits, 2048);   /* RFC 7518 3.3 */
			assert_true(ai->max_bits >= ai->min_bits);
			break;
		case MJA_FAMILY_ECDSA:
			/* RFC 7518 3.4: R||S of two coordinates of the field size */
			assert_int_equal(ai->coord_len, ((size_t)ai->min_bits + 7) / 8);
			assert_int_equal(ai->sig_len, 2 * ai->coord_len);
			assert_int_equal(mja_alg_by_curve(ai->curve, strlen(ai->curve)), (int)want[i].a);
			break;
		case MJA_FAMILY_EDDSA:
			assert_int_equal(ai->coord_len, 32);       /* RFC 8032 5.1.5 */
			break;
		}
	}
	assert_null(mja_alg_info_of(MJA_ALG__COUNT));
	assert_null(mja_alg_info_of((mja_alg)-1));
	assert_int_equal(mja_alg_by_curve("P-192", 5), -1);
	assert_int_equal(mja_alg_by_curve("Ed25519", 7), -1);   /* not an ECDSA curve */
	assert_int_equal(mja_alg_by_curve("P-25", 4), -1);
	assert_int_equal(mja_alg_by_curve(NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_roundtrip),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_from_name_refuses),
		cmocka_unit_test(test_set_parse_ok),
		cmocka_unit_test(test_set_parse_none),
		cmocka_unit_test(test_set_parse_unknown_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
