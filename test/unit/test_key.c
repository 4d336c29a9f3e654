/* test_key.c - key files, JWK/JWKS parsing, key selection and pinning,
 * secrets, generation and serialisation.
 *
 * Loading is all-or-nothing and fails closed: every refusal below is first
 * an input that must not produce a usable key, and then the reason that
 * the operator reads in the broker log ("<file>: <reason>").
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

#include <jansson.h>

#include "mja/token/alg.h"
#include "mja/token/key.h"
#include "mja/token/key_internal.h"
#include "mja/util/text.h"
#include "mja/token/sig.h"
#include "tsv.h"

#define KEYS MJA_TEST_VECTORS "/keys/"

/* RFC 7515 A.3 public key (P-256) and RFC 8037 A.2 (Ed25519), inline. */
#define EC_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define EC_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define EC_JWK(extra) "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"" extra "}"
#define ED_JWK(extra) "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"" extra "}"
#define A44 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define A42 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define OCT_K "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"

static mja_err add_json(mja_keyset *ks, const char *json, mja_diag *d)
{
	mja_diag_clear(d);
	return mja_keyset_add_jwk_json(ks, json, strlen(json), "keys/x.jwks", d);
}

static mja_err load(mja_keyset *ks, const char *name, mja_diag *d)
{
	char path[512];

	mja_diag_clear(d);
	snprintf(path, sizeof(path), KEYS "%s", name);
	return mja_keyset_load_key_file(ks, path, d);
}

/* d must hold exactly "<origin>: <reason>" with reason containing want. */
static void assert_diag(const mja_diag *d, const char *origin_suffix, const char *want)
{
	const char *colon = strstr(d->text, ": ");

	if (!colon || !strstr(d->text, want))
		fail_msg("diag \"%s\" lacks \"%s\"", d->text, want);
	if ((size_t)(colon - d->text) < strlen(origin_suffix) ||
	    strncmp(colon - strlen(origin_suffix), origin_suffix, strlen(origin_suffix)) != 0)
		fail_msg("diag \"%s\" does not start with the origin %s", d->text, origin_suffix);
}

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

/* ---- PEM ---- */

static void test_pem_public_formats(void **state)
{
	static const struct { const char *file; mja_kty kty; mja_alg alg; } ok[] = {
		{ "rsa2048.pub.pem", MJA_KTY_RSA, MJA_ALG_PS512 },
		{ "rsa2048.rsapub.pem", MJA_KTY_RSA, MJA_ALG_RS256 },
		{ "rsa2048.crt.pem", MJA_KTY_RSA, MJA_ALG_RS384 },
		{ "ec256.pub.pem", MJA_KTY_EC, MJA_ALG_ES256 },
		{ "ec384.pub.pem", MJA_KTY_EC, MJA_ALG_ES384 },
		{ "ed25519.pub.pem", MJA_KTY_OKP, MJA_ALG_EDDSA },
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		mja_keyset *ks = mja_keyset_new();
		mja_diag d;
		const mja_key *k;

		if (load(ks, ok[i].file, &d) != MJA_OK)
			fail_msg("%s", d.text);
		assert_int_equal(mja_keyset_count(ks), 1);
		k = mja_keyset_get(ks, 0);
		assert_int_equal(mja_key_type(k), ok[i].kty);
		assert_true(mja_key_fits(k, ok[i].alg));
		assert_false(mja_key_fits(k, MJA_ALG_HS256));
		assert_null(mja_key_kid(k));
		assert_non_null(strstr(mja_key_origin(k), ok[i].file));
		mja_keyset_free(ks);
	}
}

/* The three RSA containers hold the same key: same algs, one verifies
 * what the other's private key signed. */
static void test_pem_rsa_containers_same_key(void **state)
{
	mja_keyset *ks = mja_keyset_new();
	mja_key *priv = NULL;
	mja_diag d;
	unsigned char *sig = NULL;
	size_t siglen = 0, i;

	assert_int_equal(load(ks, "rsa2048.pub.pem", &d), MJA_OK);
	assert_int_equal(load(ks, "rsa2048.rsapub.pem", &d), MJA_OK);
	assert_int_equal(load(ks, "rsa2048.crt.pem", &d), MJA_OK);
	assert_int_equal(mja_key_load_private_file(KEYS "rsa2048.pem", NULL, &priv, &d), MJA_OK);
	assert_int_equal(mja_sig_sign(priv, MJA_ALG_RS256, (const unsigned char *)"x.y", 3,
			&sig, &siglen), MJA_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(mja_sig_verify(mja_keyset_get(ks, i), MJA_ALG_RS256,
				(const unsigned char *)"x.y", 3, sig, siglen), MJA_OK);
	assert_int_equal(mja_keyset_algs(ks), MJA_ALG_BIT(MJA_ALG_RS256) | MJA_ALG_BIT(MJA_ALG_RS384) |
			MJA_ALG_BIT(MJA_ALG_RS512) | MJA_ALG_BIT(MJA_ALG_PS256) |
			MJA_ALG_BIT(MJA_ALG_PS384) | MJA_ALG_BIT(MJA_ALG_PS512));
	free(sig);
	mja_key_free(priv);
	mja_keyset_free(ks);
}

static void test_pem_refusals(void **state)
{
	static const struct { const char *file, *reason; } bad[] = {
		/* RFC 7518 3.3 */
		{ "rsa1024.pub.pem", "RSA key of 1024 bits is too short" },
		/* key.h: private keys are not spread to brokers */
		{ "rsa2048.pem", "contains private key material" },
		{ "ec256.pem", "contains private key material" },
		{ "ec256.trad.pem", "contains private key material" },
		{ "ed25519.pem", "contains private key material" },
		{ "rfc7515-a2.jwk", "contains private key material" },
		{ "rfc7515-a3.jwk", "contains private key material" },
		{ "rfc8037-a1.jwk", "contains private key material" },
		{ "rfc7520-3.2.jwk", "contains private key material" },
		/* curves */
		{ "secp256k1.pub.pem", "unsupported curve secp256k1" },
		{ "x25519.pub.pem", "key agreement" },
		{ "ed448.pub.pem", "unsupported curve Ed448" },
		/* not a key file */
		{ "README.md", "not a PEM or JWK/JWKS file" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mja_keyset *ks = mja_keyset_new();
		mja_diag d;

		if (load(ks, bad[i].file, &d) != MJA_ERR_KEY)
			fail_msg("%s loaded", bad[i].file);
		assert_diag(&d, bad[i].file, bad[i].reason);
		assert_int_equal(mja_keyset_count(ks), 0);
		mja_keyset_free(ks);
	}
}

static void test_pem_in_memory(void **state)
{
	mja_keyset *ks = mja_keyset_new();
	char *a = slurp(KEYS "ec256.pub.pem", NULL), *b = slurp(KEYS "ed25519.pub.pem", NULL);
	char *two, *chain;
	char *crt = slurp(KEYS "rsa2048.crt.pem", NULL);
	mja_diag d = { 0 };

	/* two public keys in one file: both; EC PARAMETERS blocks are skipped */
	two = malloc(strlen(a) + strlen(b) + 1);
	strcpy(two, a);
	strcat(two, b);
	assert_int_equal(mja_keyset_add_pem(ks, two, strlen(two), "two.pem", &d), MJA_OK);
	assert_int_equal(mja_keyset_count(ks), 2);
	/* a certificate chain would let the CA's key sign tokens: refused */
	chain = malloc(2 * strlen(crt) + 1);
	strcpy(chain, crt);
	strcat(chain, crt);
	assert_int_equal(mja_keyset_add_pem(ks, chain, strlen(chain), "chain.pem", &d), MJA_ERR_KEY);
	assert_diag(&d, "chain.pem", "more than one certificate");
	/* a broken block, garbage, and nothing at all */
	mja_diag_clear(&d);
	a[40] ^= 0x20;
	assert_int_equal(mja_keyset_add_pem(ks, a, strlen(a), "broken.pem", &d), MJA_ERR_KEY);
	assert_diag(&d, "broken.pem", "PEM");
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_add_pem(ks, "hello", 5, "junk.pem", &d), MJA_ERR_KEY);
	assert_diag(&d, "junk.pem", "no PEM public key found");
	assert_int_equal(mja_keyset_count(ks), 2);
	free(a);
	free(b);
	free(two);
	free(chain);
	free(crt);
	mja_keyset_free(ks);
}

static void test_missing_and_empty_files(void **state)
{
	mja_keyset *ks = mja_keyset_new();
	mja_diag d;
	char path[] = "/tmp/mja-key-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(load(ks, "no-such-file.pem", &d), MJA_ERR_FILE);
	assert_diag(&d, "no-such-file.pem", "cannot open");
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_load_key_file(ks, path, &d), MJA_ERR_KEY);
	assert_diag(&d, path, "empty key file");
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_load_secret_file(ks, path, &d), MJA_ERR_KEY);
	assert_diag(&d, path, "empty secret");
	unlink(path);
	assert_int_equal(mja_keyset_count(ks), 0);
	mja_keyset_free(ks);
}

/* ---- JWK / JWKS ---- */

static void test_jwk_refusals(void **state)
{
	static const struct { const char *json, *reason; } bad[] = {
		{ "{\"keys\":[" EC_JWK(",\"kid\":\"ok\"") ",{\"kty\":\"EC\",\"kid\":\"a\",\"crv\":\"P-192\","
			"\"x\":\"AAAA\",\"y\":\"AAAA\"}]}",
			"keys/x.jwks: key 2 (kid \"a\"): unsupported curve P-192" },
		{ "{\"kty\":\"foo\"}", "keys/x.jwks: unsupported kty foo" },
		{ "{\"keys\":[{\"kty\":\"RSA-X\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
			"keys/x.jwks: key 1: unsupported kty RSA-X" },
		{ "{\"crv\":\"P-256\"}", "keys/x.jwks: missing or non-string \"kty\"" },
		{ "{\"kty\":\"EC\",\"kty\":\"EC\"}", "invalid JSON" },          /* duplicate names */
		{ "{\"kty\":\"EC\"", "invalid JSON" },
		{ "[1]", "not a JWK or JWKS object" },
		{ "{\"keys\":{}}", "\"keys\" is not an array" },
		{ "{\"keys\":[]}", "JWKS has no keys" },
		{ "{\"keys\":[1]}", "key 1: not a JSON object" },
		/* RFC 8037: OKP for signatures is Ed25519 here */
		{ "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"}",
			"curve X25519 is for key agreement, not signatures" },
		{ "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" ED_X "\"}", "unsupported curve Ed448" },
		{ "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}", "Ed25519 keys are 32 bytes" },
		/* strict base64url (RFC 7515 2) in each member */
		{ "{\"kty\":\"RSA\",\"n\":\"ab+c\",\"e\":\"AQAB\"}", "bad base64url in \"n\"" },
		{ "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB=\"}", "bad base64url in \"e\"" },
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "=\",\"y\":\"" EC_Y "\"}",
			"bad base64url in \"x\"" },
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"x_FE zRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
			"bad base64url in \"y\"" },
		{ "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp\"}",
			"bad base64url in \"x\"" },   /* non-canonical trailing bits */
		{ "{\"kty\":\"RSA\",\"e\":\"AQAB\"}", "missing member \"n\"" },
		{ "{\"kty\":\"RSA\",\"n\":7,\"e\":\"AQAB\"}", "member \"n\" is not a string" },
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\"}", "missing member \"y\"" },
		/* RFC 7518 6.2.1.2: exact coordinate length (here 31 bytes) */
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A42 "\",\"y\":\"" EC_Y "\"}",
			"coordinates must be 32 bytes" },   /* x of 31 bytes */
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A44 "\",\"y\":\"" A44 "\"}",
			"coordinates must be 32 bytes" },   /* 33 bytes each */
		/* RFC 7518 6.2.1: the point must be on the curve (y changed) */
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5aw\"}",
			"not on curve" },
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
			"\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", "not on curve" },
		{ "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}",
			"unsupported curve secp256k1" },
		/* private material */
		{ EC_JWK(",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\""), "contains private key material" },
		{ ED_JWK(",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\""), "contains private key material" },
		{ "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"p\":\"AQAB\"}", "contains private key material" },
		/* oct: RFC 7518 3.2 */
		{ "{\"kty\":\"oct\",\"k\":\"c2hvcnQ\"}", "secret of 5 bytes is too short" },
		{ "{\"kty\":\"oct\"}", "missing member \"k\"" },
		/* RSA below 2048 bits (RFC 7518 3.3); even modulus; bad exponent */
		{ "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "is too short" },
		/* member types */
		{ EC_JWK(",\"kid\":5"), "\"kid\" is not a string" },
		{ EC_JWK(",\"use\":[\"sig\"]"), "\"use\" is not a string" },
		{ EC_JWK(",\"alg\":1"), "\"alg\" is not a string" },
		{ EC_JWK(",\"key_ops\":\"verify\""), "\"key_ops\" is not an array" },
		{ EC_JWK(",\"key_ops\":[\"verify\",1]"), "\"key_ops\" holds a non-string" },
		{ EC_JWK(",\"key_ops\":[\"verify\",\"verify\"]"), "duplicate value in \"key_ops\"" },
		/* jansson refuses \u0000 (no JSON_ALLOW_NUL): no kid with NUL */
		{ EC_JWK(",\"kid\":\"a\\u0000b\""), "invalid JSON" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mja_keyset *ks = mja_keyset_new();
		mja_diag d;

		assert_int_equal(add_json(ks, EC_JWK(""), &d), MJA_OK);
		if (add_json(ks, bad[i].json, &d) != MJA_ERR_KEY)
			fail_msg("accepted: %s", bad[i].json);
		if (!strstr(d.text, bad[i].reason) || strncmp(d.text, "keys/x.jwks: ", 13) != 0)
			fail_msg("%s\n  gave \"%s\"\n  want \"%s\"", bad[i].json, d.text, bad[i].reason);
		/* all-or-nothing: the set still holds only the first key */
		assert_int_equal(mja_keyset_count(ks), 1);
		mja_keyset_free(ks);
	}
}

static void test_rsa_jwk_checks(void **state)
{
	/* the RFC 7515 A.2 modulus, made even  */
	char *pub = slurp(KEYS "rfc7515-a2.pub.jwk", NULL);
	char *n = strstr(pub, "\"n\": \"");
	mja_keyset *ks = mja_keyset_new();
	mja_diag d;
	char *end, saved;

	assert_non_null(n);
	n += 6;
	end = strchr(n, '"');
	/* last char 'Q' = 010000: low bits of the last byte; 'A' = 0 makes n even */
	saved = end[-1];
	end[-1] = 'A';
	assert_int_equal(add_json(ks, pub, &d), MJA_ERR_KEY);
	assert_diag(&d, "keys/x.jwks", "RSA modulus is even");
	end[-1] = saved;
	/* e = 1 */
	{
		char *e = strstr(pub, "\"AQAB\"");

		assert_non_null(e);
		memcpy(e, "\"AQ==\"", 6);
		assert_int_equal(add_json(ks, pub, &d), MJA_ERR_KEY);
		assert_diag(&d, "keys/x.jwks", "bad base64url in \"e\"");
		memcpy(e, "\"AAE\" ", 6); /* e = 1, with a leading zero byte */
		memmove(e + 5, e + 6, strlen(e + 6) + 1);
		assert_int_equal(add_json(ks, pub, &d), MJA_ERR_KEY);
		assert_diag(&d, "keys/x.jwks", "bad RSA public exponent");
	}
	assert_int_equal(mja_keyset_count(ks), 0);
	free(pub);
	mja_keyset_free(ks);
}

/* RFC 7517 4.2 - 4.4 and RFC 8725 3.1: use, key_ops, alg. */
static void test_jwk_use_key_ops_alg(void **state)
{
	static const struct { const char *json; mja_alg_set algs; } c[] = {
		{ EC_JWK(""), MJA_ALG_BIT(MJA_ALG_ES256) },
		{ EC_JWK(",\"use\":\"sig\""), MJA_ALG_BIT(MJA_ALG_ES256) },
		{ EC_JWK(",\"use\":\"enc\""), 0 },
		{ EC_JWK(",\"use\":\"SIG\""), 0 },
		{ EC_JWK(",\"key_ops\":[\"verify\"]"), MJA_ALG_BIT(MJA_ALG_ES256) },
		{ EC_JWK(",\"key_ops\":[\"sign\",\"verify\",\"x-custom\"]"), MJA_ALG_BIT(MJA_ALG_ES256) },
		{ EC_JWK(",\"key_ops\":[\"sign\"]"), 0 },
		{ EC_JWK(",\"key_ops\":[\"encrypt\",\"wrapKey\"]"), 0 },
		{ EC_JWK(",\"key_ops\":[]"), 0 },
		{ EC_JWK(",\"alg\":\"ES256\""), MJA_ALG_BIT(MJA_ALG_ES256) },
		{ EC_JWK(",\"alg\":\"ES384\""), 0 },     /* pinned to what the key cannot do */
		{ EC_JWK(",\"alg\":\"es256\""), 0 },     /* case-sensitive (RFC 7515 4.1.1) */
		{ EC_JWK(",\"alg\":\"ECDH-ES\""), 0 },   /* unknown alg: unusable, not an error */
		{ EC_JWK(",\"alg\":\"none\""), 0 },
		{ ED_JWK(""), MJA_ALG_BIT(MJA_ALG_EDDSA) },
		{ ED_JWK(",\"alg\":\"EdDSA\",\"use\":\"sig\""), MJA_ALG_BIT(MJA_ALG_EDDSA) },
		{ "{\"kty\":\"oct\",\"k\":\"" OCT_K "\"}",
			MJA_ALG_BIT(MJA_ALG_HS256) | MJA_ALG_BIT(MJA_ALG_HS384) | MJA_ALG_BIT(MJA_ALG_HS512) },
		{ "{\"kty\":\"oct\",\"alg\":\"HS384\",\"k\":\"" OCT_K "\"}", MJA_ALG_BIT(MJA_ALG_HS384) },
		/* 32-byte secret: HS256 only (RFC 7518 3.2: key >= hash size) */
		{ "{\"kty\":\"oct\",\"k\":\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg\"}",
			MJA_ALG_BIT(MJA_ALG_HS256) },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		mja_keyset *ks = mja_keyset_new();
		mja_diag d;
		const mja_key *out[2];
		size_t n = 5;
		int a;

		if (add_json(ks, c[i].json, &d) != MJA_OK)
			fail_msg("%s: %s", c[i].json, d.text);
		if (mja_keyset_algs(ks) != c[i].algs)
			fail_msg("%s: algs %#x, want %#x", c[i].json, mja_keyset_algs(ks), c[i].algs);
		for (a = 0; a < MJA_ALG__COUNT; a++) {
			mja_err want = c[i].algs & MJA_ALG_BIT(a) ? MJA_OK : MJA_ERR_NO_KEY;

			assert_int_equal(!!mja_key_fits(mja_keyset_get(ks, 0), (mja_alg)a),
					want == MJA_OK);
			assert_int_equal(mja_keyset_find(ks, (mja_alg)a, NULL, 0, out, 2, &n), want);
			assert_int_equal(n, want == MJA_OK ? 1 : 0);
		}
		mja_keyset_free(ks);
	}
}

/* RFC 7515 4.1.4: kid selects exactly; duplicates are kept and both tried. */
static void test_kid_selection(void **state)
{
	static const char jwks[] = "{\"keys\":["
		EC_JWK(",\"kid\":\"a\"") ","
		ED_JWK(",\"kid\":\"b\"") ","
		EC_JWK(",\"kid\":\"dup\"") ","
		EC_JWK(",\"kid\":\"dup\"") ","
		EC_JWK("") ","
		ED_JWK(",\"kid\":\"\"") "]}";
	mja_keyset *ks = mja_keyset_new();
	const mja_key *out[8];
	mja_diag d;
	size_t n;

	assert_int_equal(add_json(ks, jwks, &d), MJA_OK);
	assert_int_equal(mja_keyset_count(ks), 6);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "a", 1, out, 8, &n), MJA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(mja_key_kid(out[0]), "a");
	assert_ptr_equal(out[0], mja_keyset_get(ks, 0));
	/* kid a names an EC key: EdDSA finds the kid but no key that fits */
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_EDDSA, "a", 1, out, 8, &n), MJA_ERR_NO_KEY);
	assert_int_equal(n, 0);
	/* exact bytes: prefix, longer, other case, embedded NUL */
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "ab", 1, out, 8, &n), MJA_OK);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "ab", 2, out, 8, &n), MJA_ERR_UNKNOWN_KID);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "A", 1, out, 8, &n), MJA_ERR_UNKNOWN_KID);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "a\0", 2, out, 8, &n), MJA_ERR_UNKNOWN_KID);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "du", 2, out, 8, &n), MJA_ERR_UNKNOWN_KID);
	/* an empty kid is a kid like any other */
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_EDDSA, "", 0, out, 8, &n), MJA_OK);
	assert_int_equal(n, 1);
	assert_ptr_equal(out[0], mja_keyset_get(ks, 5));
	/* duplicate kids: both candidates, in file order */
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "dup", 3, out, 8, &n), MJA_OK);
	assert_int_equal(n, 2);
	assert_ptr_equal(out[0], mja_keyset_get(ks, 2));
	assert_ptr_equal(out[1], mja_keyset_get(ks, 3));
	/* max bounds the output */
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "dup", 3, out, 1, &n), MJA_OK);
	assert_int_equal(n, 1);
	/* without kid: every key that fits, kid or not */
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, NULL, 0, out, 8, &n), MJA_OK);
	assert_int_equal(n, 4);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_EDDSA, NULL, 0, out, 8, &n), MJA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_RS256, NULL, 0, out, 8, &n), MJA_ERR_NO_KEY);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_RS256, "zz", 2, out, 8, &n), MJA_ERR_UNKNOWN_KID);
	mja_keyset_free(ks);
}

/* An identity provider's JWKS mixes encryption and signing keys and
 * carries x5c/x5t: the encryption key loads but never verifies. */
static void test_idp_style_jwks(void **state)
{
	json_error_t je;
	json_t *rsa = json_load_file(KEYS "rfc7520-3.4.pub.jwk", 0, &je);
	json_t *ec, *jwks;
	mja_keyset *ks = mja_keyset_new();
	const mja_key *out[4];
	mja_diag d;
	size_t n;
	char *json;

	assert_non_null(rsa);
	json_object_set_new(rsa, "use", json_string("enc"));
	json_object_set_new(rsa, "alg", json_string("RSA-OAEP"));
	json_object_set_new(rsa, "kid", json_string("enc-1"));
	json_object_set_new(rsa, "x5t", json_string("XRpUI7DLiKM34JyQetPZ5-VC4E4"));
	ec = json_loads(EC_JWK(",\"kid\":\"sig-1\",\"use\":\"sig\",\"alg\":\"ES256\",\"x5c\":[\"MIIB\"]"),
			0, &je);
	assert_non_null(ec);
	jwks = json_pack("{s:[o,o]}", "keys", rsa, ec);
	json = json_dumps(jwks, 0);
	if (add_json(ks, json, &d) != MJA_OK)
		fail_msg("%s: %s", json, d.text);
	assert_int_equal(mja_keyset_count(ks), 2);
	assert_int_equal(mja_keyset_algs(ks), MJA_ALG_BIT(MJA_ALG_ES256));
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_RS256, "enc-1", 5, out, 4, &n), MJA_ERR_NO_KEY);
	assert_int_equal(mja_keyset_find(ks, MJA_ALG_ES256, "sig-1", 5, out, 4, &n), MJA_OK);
	assert_int_equal(n, 1);
	free(json);
	json_decref(jwks);
	mja_keyset_free(ks);
}

static void test_rfc_public_jwks_load(void **state)
{
	static const struct { const char *file; const char *kid; mja_alg_set algs; } c[] = {
		{ "rfc7515-a2.pub.jwk", NULL, MJA_ALG_BIT(MJA_ALG_RS256) | MJA_ALG_BIT(MJA_ALG_RS384) |
			MJA_ALG_BIT(MJA_ALG_RS512) | MJA_ALG_BIT(MJA_ALG_PS256) |
			MJA_ALG_BIT(MJA_ALG_PS384) | MJA_ALG_BIT(MJA_ALG_PS512) },
		{ "rfc7515-a3.pub.jwk", NULL, MJA_ALG_BIT(MJA_ALG_ES256) },
		{ "rfc7520-3.2.pub.jwk", "bilbo.baggins@hobbiton.example", MJA_ALG_BIT(MJA_ALG_ES512) },
		{ "rfc8037-a2.pub.jwk", NULL, MJA_ALG_BIT(MJA_ALG_EDDSA) },
		/* kty oct is a secret by nature: accepted in key files */
		{ "rfc7520-3.5.jwk", "018c0ae5-4d9b-471b-bfd6-eef314bc7037", MJA_ALG_BIT(MJA_ALG_HS256) },
		{ "rfc7515-a1.jwk", NULL, MJA_ALG_BIT(MJA_ALG_HS256) | MJA_ALG_BIT(MJA_ALG_HS384) |
			MJA_ALG_BIT(MJA_ALG_HS512) },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		mja_keyset *ks = mja_keyset_new();
		mja_diag d;

		if (load(ks, c[i].file, &d) != MJA_OK)
			fail_msg("%s", d.text);
		assert_int_equal(mja_keyset_algs(ks), c[i].algs);
		if (c[i].kid)
			assert_string_equal(mja_key_kid(mja_keyset_get(ks, 0)), c[i].kid);
		else
			assert_null(mja_key_kid(mja_keyset_get(ks, 0)));
		mja_keyset_free(ks);
	}
}

/* ---- secrets ---- */

static char *write_tmp(const void *b, size_t len)
{
	static char path[32];
	int fd;

	strcpy(path, "/tmp/mja-secret-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
	return path;
}

/* HS256 of "a.b" under a file's secret equals that under the bytes want. */
static void assert_secret_is(mja_keyset *ks, size_t i, const char *want, size_t wantlen)
{
	mja_key *ref = NULL;
	mja_diag d;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	assert_int_equal(mja_key_from_secret((const unsigned char *)want, wantlen, NULL, &ref, &d),
			MJA_OK);
	assert_int_equal(mja_sig_sign(ref, MJA_ALG_HS256, (const unsigned char *)"a.b", 3,
			&sig, &siglen), MJA_OK);
	assert_int_equal(mja_sig_verify(mja_keyset_get(ks, i), MJA_ALG_HS256,
			(const unsigned char *)"a.b", 3, sig, siglen), MJA_OK);
	free(sig);
	mja_key_free(ref);
}

static void test_secret_files(void **state)
{
	static const char s32[] = "0123456789abcdef0123456789abcdef";
	mja_keyset *ks = mja_keyset_new();
	mja_diag d;
	char buf[80], *p;

	/* trailing "\n" and "\r\n" are stripped, once */
	snprintf(buf, sizeof(buf), "%s\n", s32);
	p = write_tmp(buf, strlen(buf));
	assert_int_equal(mja_keyset_load_secret_file(ks, p, &d), MJA_OK);
	unlink(p);
	assert_secret_is(ks, 0, s32, 32);
	assert_true(mja_key_fits(mja_keyset_get(ks, 0), MJA_ALG_HS256));
	assert_false(mja_key_fits(mja_keyset_get(ks, 0), MJA_ALG_HS384));
	assert_false(mja_key_fits(mja_keyset_get(ks, 0), MJA_ALG_RS256));
	assert_string_equal(mja_key_origin(mja_keyset_get(ks, 0)), p);

	snprintf(buf, sizeof(buf), "%s\r\n", s32);
	p = write_tmp(buf, strlen(buf));
	assert_int_equal(mja_keyset_load_secret_file(ks, p, &d), MJA_OK);
	unlink(p);
	assert_secret_is(ks, 1, s32, 32);

	snprintf(buf, sizeof(buf), "%s\n\n", s32);
	p = write_tmp(buf, strlen(buf));
	assert_int_equal(mja_keyset_load_secret_file(ks, p, &d), MJA_OK);
	unlink(p);
	assert_secret_is(ks, 2, buf, 33); /* only one newline removed */

	/* binary secret with NUL bytes and no newline */
	memset(buf, 0, 40);
	buf[39] = 1;
	p = write_tmp(buf, 40);
	assert_int_equal(mja_keyset_load_secret_file(ks, p, &d), MJA_OK);
	unlink(p);
	assert_secret_is(ks, 3, buf, 40);

	/* short: 31 bytes plus newline (RFC 7518 3.2) */
	snprintf(buf, sizeof(buf), "%.31s\n", s32);
	p = write_tmp(buf, strlen(buf));
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_load_secret_file(ks, p, &d), MJA_ERR_KEY);
	assert_diag(&d, p, "secret of 31 bytes is too short");
	unlink(p);
	/* only a newline: empty */
	p = write_tmp("\r\n", 2);
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_load_secret_file(ks, p, &d), MJA_ERR_KEY);
	assert_diag(&d, p, "empty secret");
	unlink(p);
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_load_secret_file(ks, "/nonexistent/secret", &d), MJA_ERR_FILE);
	assert_diag(&d, "/nonexistent/secret", "cannot open");

	assert_int_equal(mja_keyset_count(ks), 4);
	/* in memory, with kid */
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)s32, 32, "k1", "mem", &d),
			MJA_OK);
	assert_string_equal(mja_key_kid(mja_keyset_get(ks, 4)), "k1");
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)s32, 0, NULL, "mem", &d),
			MJA_ERR_KEY);
	mja_keyset_free(ks);
}

/* ---- private keys, generation, serialisation ---- */

/* RSA private JWK: with or without the CRT members (RFC 7518 6.3.2), the
 * same key signs RS256 (deterministic) to the same bytes; a d that is not
 * this key's, or an incomplete CRT set, is refused. */
static void test_rsa_private_jwk_forms(void **state)
{
	json_t *full, *bare, *other;
	json_error_t je;
	mja_key *k1 = NULL, *k2 = NULL, *k3 = NULL;
	unsigned char *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;
	mja_diag d;
	char *txt, *p;

	full = json_load_file(KEYS "rfc7515-a2.jwk", 0, &je);
	other = json_load_file(KEYS "rfc7520-3.4.jwk", 0, &je);
	assert_non_null(full);
	assert_non_null(other);
	bare = json_deep_copy(full);
	json_object_del(bare, "p");
	json_object_del(bare, "q");
	json_object_del(bare, "dp");
	json_object_del(bare, "dq");
	json_object_del(bare, "qi");

	assert_int_equal(mja_key_load_private_file(KEYS "rfc7515-a2.jwk", NULL, &k1, &d), MJA_OK);
	txt = json_dumps(bare, 0);
	p = write_tmp(txt, strlen(txt));
	free(txt);
	if (mja_key_load_private_file(p, NULL, &k2, &d) != MJA_OK)
		fail_msg("%s", d.text);
	unlink(p);
	assert_int_equal(mja_sig_sign(k1, MJA_ALG_RS256, (const unsigned char *)"a.b", 3, &s1, &l1), MJA_OK);
	assert_int_equal(mja_sig_sign(k2, MJA_ALG_RS256, (const unsigned char *)"a.b", 3, &s2, &l2), MJA_OK);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);

	/* someone else's d */
	json_object_set(bare, "d", json_object_get(other, "d"));
	txt = json_dumps(bare, 0);
	p = write_tmp(txt, strlen(txt));
	free(txt);
	mja_diag_clear(&d);
	assert_int_equal(mja_key_load_private_file(p, NULL, &k3, &d), MJA_ERR_KEY);
	assert_diag(&d, p, "RSA private key does not match its public key");
	unlink(p);
	/* p without the rest */
	json_object_set(bare, "d", json_object_get(full, "d"));
	json_object_set(bare, "p", json_object_get(full, "p"));
	txt = json_dumps(bare, 0);
	p = write_tmp(txt, strlen(txt));
	free(txt);
	mja_diag_clear(&d);
	assert_int_equal(mja_key_load_private_file(p, NULL, &k3, &d), MJA_ERR_KEY);
	assert_diag(&d, p, "needs all of p, q, dp, dq, qi or none");
	unlink(p);
	assert_null(k3);

	free(s1);
	free(s2);
	mja_key_free(k1);
	mja_key_free(k2);
	json_decref(full);
	json_decref(bare);
	json_decref(other);
}

static void test_private_key_loading(void **state)
{
	mja_key *k = NULL;
	mja_diag d;
	char *pub;

	/* a JWKS of private keys: pick by kid */
	{
		char *a = slurp(KEYS "rfc7520-3.2.jwk", NULL), *b = slurp(KEYS "rfc7520-3.5.jwk", NULL);
		char json[4096], *p;

		snprintf(json, sizeof(json), "{\"keys\":[%s,%s]}", a, b);
		p = write_tmp(json, strlen(json));
		mja_diag_clear(&d);
		assert_int_equal(mja_key_load_private_file(p, NULL, &k, &d), MJA_ERR_KEY);
		assert_diag(&d, p, "2 keys: give the kid");
		assert_int_equal(mja_key_load_private_file(p, "018c0ae5-4d9b-471b-bfd6-eef314bc7037",
				&k, &d), MJA_OK);
		assert_int_equal(mja_key_type(k), MJA_KTY_OCT);
		mja_key_free(k);
		mja_diag_clear(&d);
		assert_int_equal(mja_key_load_private_file(p, "nope", &k, &d), MJA_ERR_KEY);
		assert_diag(&d, p, "no key with that kid");
		assert_null(k);
		unlink(p);
		free(a);
		free(b);
	}
	/* a public key is not a private key */
	mja_diag_clear(&d);
	assert_int_equal(mja_key_load_private_file(KEYS "rfc7515-a3.pub.jwk", NULL, &k, &d),
			MJA_ERR_KEY);
	assert_diag(&d, "rfc7515-a3.pub.jwk", "not a private key");
	mja_diag_clear(&d);
	assert_int_equal(mja_key_load_private_file(KEYS "ec256.pub.pem", NULL, &k, &d), MJA_ERR_KEY);
	assert_diag(&d, "ec256.pub.pem", "no PEM private key found");
	/* traditional "EC PRIVATE KEY" with "EC PARAMETERS" */
	assert_int_equal(mja_key_load_private_file(KEYS "ec256.trad.pem", "t", &k, &d), MJA_OK);
	assert_true(mja_key_fits(k, MJA_ALG_ES256));
	assert_string_equal(mja_key_kid(k), "t");
	mja_key_free(k);
	/* a private EC JWK whose d does not belong to x, y */
	{
		static const char bad[] = EC_JWK(",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"");
		char *p = write_tmp(bad, strlen(bad));

		mja_diag_clear(&d);
		assert_int_equal(mja_key_load_private_file(p, NULL, &k, &d), MJA_ERR_KEY);
		assert_diag(&d, p, "does not match");
		unlink(p);
	}
	{
		static const char bad[] = ED_JWK(",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"");
		char *p = write_tmp(bad, strlen(bad));

		mja_diag_clear(&d);
		assert_int_equal(mja_key_load_private_file(p, NULL, &k, &d), MJA_ERR_KEY);
		assert_diag(&d, p, "does not match");
		unlink(p);
	}
	/* encrypted PEM is refused without prompting */
	pub = slurp(KEYS "ec256.pem", NULL);
	{
		static const char enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n"
			"-----END ENCRYPTED PRIVATE KEY-----\n";

		mja_diag_clear(&d);
		assert_int_equal(mja_key_from_private_pem(enc, sizeof(enc) - 1, NULL, &k, &d), MJA_ERR_KEY);
		assert_non_null(strstr(d.text, "encrypted private keys are not supported"));
	}
	free(pub);
}

static void test_generate_and_public_jwk(void **state)
{
	static const struct { mja_kty kty; int bits; const char *alg; mja_alg a; } g[] = {
		{ MJA_KTY_OCT, 256, "HS256", MJA_ALG_HS256 },
		{ MJA_KTY_OCT, 512, NULL, MJA_ALG_HS512 },
		{ MJA_KTY_RSA, 2048, "PS256", MJA_ALG_PS256 },
		{ MJA_KTY_EC, 256, "ES256", MJA_ALG_ES256 },
		{ MJA_KTY_EC, 384, NULL, MJA_ALG_ES384 },
		{ MJA_KTY_EC, 521, "ES512", MJA_ALG_ES512 },
		{ MJA_KTY_OKP, 0, "EdDSA", MJA_ALG_EDDSA },
	};
	size_t i;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		mja_key *k = NULL;
		mja_keyset *ks = mja_keyset_new();
		mja_diag d = { 0 };
		char *jwk = NULL, *pem = NULL;
		unsigned char *sig = NULL;
		size_t siglen = 0;
		int a;

		assert_int_equal(mja_key_generate(g[i].kty, g[i].bits, "gen-1", &k, &d), MJA_OK);
		assert_int_equal(mja_key_type(k), g[i].kty);
		assert_string_equal(mja_key_kid(k), "gen-1");
		assert_int_equal(mja_key_public_jwk(k, g[i].alg, &jwk), MJA_OK);
		assert_non_null(strstr(jwk, "\"use\":\"sig\""));
		assert_non_null(strstr(jwk, "\"kid\":\"gen-1\""));
		assert_null(strstr(jwk, "\"d\""));
		if (g[i].alg) {
			char want[32];

			snprintf(want, sizeof(want), "\"alg\":\"%s\"", g[i].alg);
			assert_non_null(strstr(jwk, want));
		}
		/* the JWK loads back and verifies the generated key's signature */
		if (add_json(ks, jwk, &d) != MJA_OK)
			fail_msg("%s: %s", jwk, d.text);
		assert_int_equal(mja_sig_sign(k, g[i].a, (const unsigned char *)"a.b", 3, &sig, &siglen),
				MJA_OK);
		assert_int_equal(mja_sig_verify(mja_keyset_get(ks, 0), g[i].a,
				(const unsigned char *)"a.b", 3, sig, siglen), MJA_OK);
		/* an alg the key cannot do is not written */
		for (a = 0; a < MJA_ALG__COUNT; a++) {
			char *x = NULL;

			if (!mja_key_fits(k, (mja_alg)a)) {
				assert_int_equal(mja_key_public_jwk(k, mja_alg_name((mja_alg)a), &x),
						MJA_ERR_INVAL);
				assert_null(x);
			}
		}
		assert_int_equal(mja_key_public_jwk(k, "none", &pem), MJA_ERR_INVAL);
		if (g[i].kty == MJA_KTY_OCT) {
			assert_int_equal(mja_key_private_pem(k, &pem), MJA_ERR_INVAL);
			assert_int_equal(mja_key_public_pem(k, &pem), MJA_ERR_INVAL);
			assert_null(pem);
		}
		free(sig);
		free(jwk);
		mja_keyset_free(ks);
		mja_key_free(k);
	}
}

static void test_generate_refusals(void **state)
{
	mja_key *k = (mja_key *)1;
	mja_diag d = { 0 };

	assert_int_equal(mja_key_generate(MJA_KTY_RSA, 1024, NULL, &k, &d), MJA_ERR_INVAL);
	assert_null(k);
	assert_non_null(strstr(d.text, "RFC 7518 3.3"));
	assert_int_equal(mja_key_generate(MJA_KTY_EC, 255, NULL, &k, &d), MJA_ERR_INVAL);
	assert_int_equal(mja_key_generate(MJA_KTY_OCT, 128, NULL, &k, &d), MJA_ERR_INVAL);
	assert_int_equal(mja_key_generate(MJA_KTY_OCT, 260, NULL, &k, &d), MJA_ERR_INVAL);
	assert_int_equal(mja_key_generate((mja_kty)99, 256, NULL, &k, &d), MJA_ERR_INVAL);
	assert_null(k);
	/* secrets shorter than 32 bytes cannot be made into keys either */
	assert_int_equal(mja_key_from_secret((const unsigned char *)"short", 5, NULL, &k, &d),
			MJA_ERR_KEY);
	assert_null(k);
}

/* Text from the file in a diagnostic is escaped and bounded. */
static void test_diag_sanitised(void **state)
{
	char json[2048], kid[600];
	mja_keyset *ks = mja_keyset_new();
	mja_diag d;

	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	kid[3] = '\t';
	snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"%s\\n\\\"x\",\"crv\":\"P-1\\u00e9\"}]}",
			kid + 4);
	memcpy(json + strlen("{\"keys\":[{\"kty\":\"EC\",\"kid\":\""), "ab\\t", 4);
	assert_int_equal(add_json(ks, json, &d), MJA_ERR_KEY);
	assert_true(strlen(d.text) < sizeof(d.text));
	assert_non_null(strstr(d.text, "keys/x.jwks: key 1 (kid \"ab\\x09kkk"));
	assert_non_null(strstr(d.text, "...\"): unsupported curve P-1\xc3\xa9"));
	/* no control byte, valid UTF-8 (text.h's escaping) */
	for (size_t i = 0; d.text[i]; i++)
		assert_true((unsigned char)d.text[i] >= 0x20 && d.text[i] != 0x7f);
	assert_true(mja_utf8_valid(d.text, strlen(d.text)));
	mja_keyset_free(ks);
}

static void test_bom_and_directory(void **state)
{
	static const char bom[] = "\xef\xbb\xbf\r\n" ED_JWK("");
	mja_keyset *ks = mja_keyset_new();
	mja_diag d;
	char *p = write_tmp(bom, sizeof(bom) - 1);

	mja_diag_clear(&d);
	if (mja_keyset_load_key_file(ks, p, &d) != MJA_OK)
		fail_msg("%s", d.text);
	unlink(p);
	assert_int_equal(mja_keyset_count(ks), 1);
	mja_diag_clear(&d);
	assert_int_equal(mja_keyset_load_key_file(ks, "/tmp", &d), MJA_ERR_FILE);
	assert_diag(&d, "/tmp", "not a regular file (a directory)");
	assert_int_equal(mja_keyset_count(ks), 1);
	mja_keyset_free(ks);
}

/* mja_keylist__push takes the key on every path (jansson's _new rule):
 * when the list cannot grow, the key is freed, not left to the caller.
 * A list that claims to be full at the largest size makes the push fail
 * without allocating; the AddressSanitizer build's leak check (and
 * valgrind) sees a key that was not freed. */
static void test_keylist_push_takes_key_on_failure(void **state)
{
	struct mja_keylist l = { 0 };
	mja_key *k = NULL;

	assert_int_equal(mja_key_from_secret((const unsigned char *)"0123456789abcdef0123456789abcdef",
			32, "kid-1", &k, NULL), MJA_OK);
	l.n = l.cap = SIZE_MAX / sizeof(mja_key *) / 2 + 1;
	assert_int_equal(mja_keylist__push(&l, k), MJA_ERR_NOMEM);
	assert_null(l.v);
	l.n = l.cap = 0;
	/* the success pair: the list owns the key, freed with the list */
	assert_int_equal(mja_key_from_secret((const unsigned char *)"0123456789abcdef0123456789abcdef",
			32, NULL, &k, NULL), MJA_OK);
	assert_int_equal(mja_keylist__push(&l, k), MJA_OK);
	assert_int_equal(l.n, 1);
	assert_ptr_equal(l.v[0], k);
	mja_keylist__free(&l);
	assert_int_equal(l.n, 0);
}

static void test_null_safety(void **state)
{
	mja_keyset_free(NULL);
	mja_key_free(NULL);
	assert_int_equal(mja_keyset_count(NULL), 0);
	assert_null(mja_keyset_get(NULL, 0));
	assert_int_equal(mja_keyset_algs(NULL), 0);
	assert_false(mja_key_fits(NULL, MJA_ALG_HS256));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_public_formats),
		cmocka_unit_test(test_pem_rsa_containers_same_key),
		cmocka_unit_test(test_pem_refusals),
		cmocka_unit_test(test_pem_in_memory),
		cmocka_unit_test(test_missing_and_empty_files),
		cmocka_unit_test(test_jwk_refusals),
		cmocka_unit_test(test_rsa_jwk_checks),
		cmocka_unit_test(test_jwk_use_key_ops_alg),
		cmocka_unit_test(test_kid_selection),
		cmocka_unit_test(test_idp_style_jwks),
		cmocka_unit_test(test_rfc_public_jwks_load),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_private_key_loading),
		cmocka_unit_test(test_generate_and_public_jwk),
		cmocka_unit_test(test_generate_refusals),
		cmocka_unit_test(test_rsa_private_jwk_forms),
		cmocka_unit_test(test_diag_sanitised),
		cmocka_unit_test(test_bom_and_directory),
		cmocka_unit_test(test_keylist_push_takes_key_on_failure),
		cmocka_unit_test(test_null_safety),
	};

	return cmocka_run_group_tests_name("key", tests, NULL, NULL);
}
