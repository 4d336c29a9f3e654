/* test_b64url.c - strict base64url (RFC 4648 5, RFC 7515 2). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mja/token/b64url.h"

/* Decode a NUL-terminated string; returns the result code, copies the
 * decoded bytes into out (room for 64). */
static mja_err dec(const char *s, unsigned char *out, size_t *outlen)
{
	size_t len = strlen(s);

	assert_true(mja_b64url_decoded_max(len) <= 64);
	return mja_b64url_decode(s, len, out, outlen);
}

static void test_rfc4648_vectors(void **state)
{
	/* RFC 4648 10, with the padding removed (RFC 7515 2). */
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char out[64];
	char enc[64];
	size_t n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t pl = strlen(v[i].plain);

		assert_int_equal(mja_b64url_encoded_len(pl), strlen(v[i].enc));
		mja_b64url_encode((const unsigned char *)v[i].plain, pl, enc);
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(dec(v[i].enc, out, &n), MJA_OK);
		assert_int_equal(n, pl);
		assert_memory_equal(out, v[i].plain, pl);
	}
}

static void test_url_alphabet(void **state)
{
	/* 0xfb 0xef 0xbe is "----" in base64url, "++++" in base64. */
	static const unsigned char bytes[] = { 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe };
	unsigned char out[64];
	char enc[16];
	size_t n;

	mja_b64url_encode(bytes, sizeof(bytes), enc);
	assert_string_equal(enc, "--------");
	mja_b64url_encode((const unsigned char *)"\xff\xff\xff", 3, enc);
	assert_string_equal(enc, "____");
	assert_int_equal(dec("-_-_", out, &n), MJA_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"Zg==",      /* padding */
		"Zg=",       /* padding */
		"Zm9v=",     /* padding after a full group */
		"+/+/",      /* standard alphabet */
		"ab+c",
		"ab/c",
		"Zm9 v",     /* whitespace */
		" Zm9v",
		"Zm9v\n",
		"Zm9v\r\nYg",
		"\tZm9v",
		"Z",         /* len % 4 == 1 */
		"Zm9vY",
		"QR",        /* non-canonical: 'R' leaves low bits set; "QQ" is canonical */
		"Zh",        /* "Zg" canonical */
		"Zm9",       /* non-canonical: "Zm8" is "fo" */
		"AB",
		"AAB",
		"Zm.v",
		"Zm9v!",
		"\xc3\xa9\xc3\xa9",
	};
	unsigned char out[64];
	size_t n = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		assert_int_equal(dec(bad[i], out, &n), MJA_ERR_MALFORMED);
		assert_int_equal(n, 0);
	}
}

static void test_canonical_tail(void **state)
{
	unsigned char out[64];
	size_t n;

	assert_int_equal(dec("QQ", out, &n), MJA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'A');
	assert_int_equal(dec("QUE", out, &n), MJA_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "AA", 2);
	assert_int_equal(dec("QUF", out, &n), MJA_ERR_MALFORMED);
	/* Every 2- and 3-character tail: exactly the canonical ones decode. */
	for (int a = 0; a < 64; a++) {
		static const char alpha[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		char s[3] = { 'A', alpha[a], 0 };

		assert_int_equal(dec(s, out, &n), (a & 15) ? MJA_ERR_MALFORMED : MJA_OK);
		{
			char t[4] = { 'A', 'A', alpha[a], 0 };

			assert_int_equal(dec(t, out, &n), (a & 3) ? MJA_ERR_MALFORMED : MJA_OK);
		}
	}
}

static void test_empty_and_nul(void **state)
{
	unsigned char out[4];
	size_t n = 7;

	assert_int_equal(mja_b64url_decode("", 0, out, &n), MJA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mja_b64url_decode(NULL, 0, NULL, &n), MJA_OK);
	/* an embedded NUL is just a bad character, not an end */
	assert_int_equal(mja_b64url_decode("Zm\0v", 4, out, &n), MJA_ERR_MALFORMED);
	/* the length is explicit: "Zm9vYg" read as 4 characters is "foo" */
	assert_int_equal(mja_b64url_decode("Zm9vYg", 4, out, &n), MJA_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "foo", 3);
}

static void test_roundtrip_all_lengths(void **state)
{
	unsigned char in[300], out[300];
	char enc[420];
	size_t n;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(in); len++) {
		size_t el = mja_b64url_encoded_len(len);

		mja_b64url_encode(in, len, enc);
		assert_int_equal(strlen(enc), el);
		assert_true(mja_b64url_decoded_max(el) >= len);
		assert_int_equal(mja_b64url_decode(enc, el, out, &n), MJA_OK);
		assert_int_equal(n, len);
		assert_memory_equal(out, in, len);
	}
}

static void test_sizes(void **state)
{
	assert_int_equal(mja_b64url_decoded_max(0), 0);
	assert_int_equal(mja_b64url_decoded_max(2), 1);
	assert_int_equal(mja_b64url_decoded_max(3), 2);
	assert_int_equal(mja_b64url_decoded_max(4), 3);
	assert_int_equal(mja_b64url_decoded_max(SIZE_MAX), SIZE_MAX / 4 * 3 + 2);
	assert_int_equal(mja_b64url_encoded_len(1), 2);
	assert_int_equal(mja_b64url_encoded_len(2), 3);
	assert_int_equal(mja_b64url_encoded_len(3), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_url_alphabet),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_canonical_tail),
		cmocka_unit_test(test_empty_and_nul),
		cmocka_unit_test(test_roundtrip_all_lengths),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
