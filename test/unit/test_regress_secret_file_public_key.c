/* test_regress_secret_file_public_key.c - a secret_file holding a public
 * key made the alg-confusion attack a matter of configuration.
 *
 * The bug: secret_file took any bytes as the HMAC secret. With an RSA
 * public key's PEM (or a JWK) configured as a secret by mistake, anyone who
 * has the public key can mint HS256 tokens that verify (the HS/RS
 * confusion of RFC 8725 2.1, CVE-2015-9235, made by configuration).
 *
 * The fix: the secret loader refuses a file whose content starts, after a
 * UTF-8 byte order mark and blanks, with a PEM armour line or a JSON object
 * (a JWK or JWKS), with "not a secret"; an ordinary secret still loads. Found by a
 * security review of the token core; this test failed against the code
 * before the fix.
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

#include "mja/token/key.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(secret_file_with_public_key_refused),
		cmocka_unit_test(secret_file_ordinary_still_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
