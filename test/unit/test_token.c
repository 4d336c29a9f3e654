/* test_token.c - the acceptance pipeline (docs/design.md, "Token rules"), one crafted
 * token per refusal reason, with a fixed clock.
 *
 * Tokens are built here from raw JSON text and signed with OpenSSL
 * directly (HMAC(), EVP_DigestSign), not with mja_token_sign, so the
 * verifier is not only checked against its own signer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mja/token/b64url.h"
#include "mja/token/key.h"
#include "mja/token/token.h"
#include "readfile.h"

#define NOW INT64_C(1700000000)
#define SECRET "0123456789abcdef0123456789abcdef"   /* 32 bytes: HS256 minimum */
#define SECRET2 "fedcba9876543210fedcba9876543210"
#define GOOD_PAYLOAD "{\"sub\":\"dev1\",\"exp\":1700000600}"

static const char *const no_required[1];

/* ---- building tokens ---- */

static char *b64(const void *p, size_t n)
{
	char *s = malloc(mja_b64url_encoded_len(n) + 1);

	assert_non_null(s);
	mja_b64url_encode(p, n, s);
	return s;
}

static char *join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s.%s.%s", a, b, c);
	return s;
}

/* b64(header).b64(payload).b64(HMAC(secret, signing input)) */
static char *mk_hmac(const char *hdr, const char *pay, const char *secret, const EVP_MD *md)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(pay, strlen(pay)), *in, *s, *tok;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	in = join3(h, p, "");
	in[strlen(in) - 1] = '\0';    /* drop the trailing dot */
	assert_non_null(HMAC(md, secret, (int)strlen(secret), (unsigned char *)in,
			strlen(in), mac, &maclen));
	s = b64(mac, maclen);
	tok = join3(h, p, s);
	free(h);
	free(p);
	free(in);
	free(s);
	return tok;
}

static char *mk(const char *hdr, const char *pay)
{
	return mk_hmac(hdr, pay, SECRET, EVP_sha256());
}

/* ---- verifying ---- */

static mja_verify_opts opts(void)
{
	mja_verify_opts o = { 0 };

	o.claims.leeway = 30;
	o.claims.required = no_required;
	return o;
}

static mja_err verify_with(const mja_keyset *ks, const mja_verify_opts *o, const char *tok,
		int64_t now)
{
	mja_token *t = (mja_token *)1;
	mja_err e = mja_token_verify(ks, o, tok, strlen(tok), now, &t);

	if (e == MJA_OK) {
		assert_non_null(t);
		assert_true(json_is_object(t->header));
		assert_true(json_is_object(t->payload));
	} else {
		assert_null(t);
	}
	mja_token_free(t);
	return e;
}

/* Verify and free tok against a keyset with SECRET (and SECRET2 as kid
 * "k2"), default options. */
static mja_err v_opts(char *tok, const mja_verify_opts *o)
{
	mja_keyset *ks = mja_keyset_new();
	mja_diag d = { 0 };
	mja_err e;

	assert_non_null(ks);
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)SECRET, 32, "k1",
			"test", &d), MJA_OK);
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)SECRET2, 32, "k2",
			"test", &d), MJA_OK);
	e = verify_with(ks, o, tok, NOW);
	mja_keyset_free(ks);
	free(tok);
	return e;
}

static mja_err v(char *tok)
{
	mja_verify_opts o = opts();

	return v_opts(tok, &o);
}

#define HS256 "{\"alg\":\"HS256\"}"

/* ---- step 1: size and shape ---- */

static void test_positive_control(void **state)
{
	mja_keyset *ks = mja_keyset_new();
	mja_verify_opts o = opts();
	mja_diag d = { 0 };
	mja_token *t = NULL;
	char *tok = mk("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", GOOD_PAYLOAD);

	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)SECRET, 32, NULL,
			"test", &d), MJA_OK);
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), NOW, &t), MJA_OK);
	assert_int_equal(t->alg, MJA_ALG_HS256);
	assert_string_equal(t->sub, "dev1");
	assert_int_equal(t->has_exp, 1);
	assert_true(t->exp == 1700000600);
	assert_string_equal(json_string_value(json_object_get(t->header, "typ")), "JWT");
	mja_token_free(t);
	free(tok);
	/* without exp */
	tok = mk(HS256, "{\"sub\":\"x\"}");
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), NOW, &t), MJA_OK);
	assert_int_equal(t->has_exp, 0);
	mja_token_free(t);
	free(tok);
	mja_keyset_free(ks);
}

static void test_too_long(void **state)
{
	mja_verify_opts o = opts();
	char *junk = malloc(MJA_DEFAULT_MAX_TOKEN_BYTES + 2);
	char *tok;
	size_t n;

	/* the cap comes first: even garbage is "too long", not "malformed" */
	memset(junk, '!', MJA_DEFAULT_MAX_TOKEN_BYTES + 1);
	junk[MJA_DEFAULT_MAX_TOKEN_BYTES + 1] = '\0';
	assert_int_equal(v(junk), MJA_ERR_TOO_LONG);
	/* a valid token one byte over a configured cap, and exactly at it */
	tok = mk(HS256, GOOD_PAYLOAD);
	n = strlen(tok);
	o.max_token_bytes = n - 1;
	assert_int_equal(v_opts(strdup(tok), &o), MJA_ERR_TOO_LONG);
	o.max_token_bytes = n;
	assert_int_equal(v_opts(tok, &o), MJA_OK);
	/* a valid token longer than the default cap (padding claim) */
	{
		char *pay = malloc(9000);

		memset(pay, 0, 9000);
		strcpy(pay, "{\"sub\":\"a\",\"pad\":\"");
		memset(pay + strlen(pay), 'x', 7000);
		strcat(pay, "\"}");
		tok = mk(HS256, pay);
		assert_true(strlen(tok) > MJA_DEFAULT_MAX_TOKEN_BYTES);
		assert_int_equal(v(strdup(tok)), MJA_ERR_TOO_LONG);
		o.max_token_bytes = strlen(tok);
		assert_int_equal(v_opts(tok, &o), MJA_OK);   /* heap decode path */
		free(pay);
	}
}

static void test_segments(void **state)
{
	char *tok = mk(HS256, GOOD_PAYLOAD);
	char *dot2 = strrchr(tok, '.');
	char buf[512];

	/* two segments */
	assert_int_equal(v(strndup(tok, (size_t)(dot2 - tok))), MJA_ERR_MALFORMED);
	/* four segments */
	snprintf(buf, sizeof(buf), "%s.%s", tok, "AAAA");
	assert_int_equal(v(strdup(buf)), MJA_ERR_MALFORMED);
	snprintf(buf, sizeof(buf), "%s.", tok);
	assert_int_equal(v(strdup(buf)), MJA_ERR_MALFORMED);
	/* one segment, empty, dots only */
	assert_int_equal(v(strdup("eyJhbGciOiJIUzI1NiJ9")), MJA_ERR_MALFORMED);
	assert_int_equal(v(strdup("")), MJA_ERR_MALFORMED);
	assert_int_equal(v(strdup("..")), MJA_ERR_MALFORMED);
	/* empty header segment */
	assert_int_equal(v(strdup(strchr(tok, '.'))), MJA_ERR_MALFORMED);
	/* empty signature segment: an unsecured JWS (RFC 7515 A.5) */
	assert_int_equal(v(strndup(tok, (size_t)(dot2 - tok) + 1)), MJA_ERR_MALFORMED);
	/* explicit length: a valid token followed by junk beyond len verifies */
	{
		mja_keyset *ks = mja_keyset_new();
		mja_verify_opts o = opts();
		mja_token *t = NULL;
		mja_diag d = { 0 };

		snprintf(buf, sizeof(buf), "%s.AAAA", tok);
		mja_keyset_add_secret(ks, (const unsigned char *)SECRET, 32, NULL, "t", &d);
		assert_int_equal(mja_token_verify(ks, &o, buf, strlen(tok), NOW, &t), MJA_OK);
		mja_token_free(t);
		assert_int_equal(mja_token_verify(ks, &o, NULL, 0, NOW, &t), MJA_ERR_MALFORMED);
		assert_int_equal(mja_token_verify(ks, &o, NULL, 5, NOW, &t), MJA_ERR_INVAL);
		assert_null(t);
		/* and len cut before the end of the signature fails */
		for (size_t cut = 1; cut <= 4; cut++) {
			assert_int_not_equal(mja_token_verify(ks, &o, buf, strlen(tok) - cut,
					NOW, &t), MJA_OK);
			assert_null(t);
		}
		mja_keyset_free(ks);
	}
	free(tok);
}

/* Replace segment i of tok (0..2) with seg. */
static char *with_segment(const char *tok, int i, const char *seg)
{
	char *a = strdup(tok), *d1 = strchr(a, '.'), *d2 = strchr(d1 + 1, '.'), *r;

	*d1 = *d2 = '\0';
	r = join3(i == 0 ? seg : a, i == 1 ? seg : d1 + 1, i == 2 ? seg : d2 + 1);
	free(a);
	return r;
}

/* Segment i of tok, malloc'd. */
static char *segment(const char *tok, int i)
{
	const char *p = tok, *e;

	while (i--)
		p = strchr(p, '.') + 1;
	e = strchr(p, '.');
	return e ? strndup(p, (size_t)(e - p)) : strdup(p);
}

static void test_bad_base64url(void **state)
{
	char *tok = mk(HS256, GOOD_PAYLOAD);

	for (int i = 0; i < 3; i++) {
		char *seg = segment(tok, i), *bad;
		size_t n = strlen(seg);
		static const char *const variants[] = { "pad", "plus", "slash", "space", "mod1" };

		for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
			char *s = malloc(n + 8);

			strcpy(s, seg);
			switch (k) {
			case 0: strcat(s, (n % 4) ? "=" : "===="); break;
			case 1: s[1] = '+'; break;
			case 2: s[1] = '/'; break;
			case 3: s[n / 2] = ' '; break;
			case 4: strcat(s, (n % 4 == 0) ? "A" : (n % 4 == 2) ? "AAA" : "AA"); break;
			}
			bad = with_segment(tok, i, s);
			if (k == 4) {
				char *b = segment(bad, i);

				assert_int_equal(strlen(b) % 4, 1);
				free(b);
			}
			assert_int_equal(v(bad), MJA_ERR_MALFORMED);
			free(s);
		}
		free(seg);
	}
	free(tok);
}

static void test_noncanonical_signature(void **state)
{
	/* HS256: 32 bytes -> 43 characters, the last one carries 2 pad bits.
	 * Changing only those bits gives the same bytes to a lax decoder. */
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *tok = mk(HS256, GOOD_PAYLOAD), *bad = strdup(tok);
	size_t n = strlen(bad);
	int val = (int)(strchr(alpha, bad[n - 1]) - alpha);

	assert_int_equal(val & 3, 0);
	bad[n - 1] = alpha[val | 1];
	assert_int_equal(v(bad), MJA_ERR_MALFORMED);
	assert_int_equal(v(tok), MJA_OK);
}

/* ---- step 2: header ---- */

static void test_header_not_object(void **state)
{
	static const char *const hdrs[] = {
		"[\"HS256\"]", "\"HS256\"", "1", "null", " ", "{", "{\"alg\":\"HS256\"}x",
		"{\"alg\":\"HS256\",\"alg\":\"HS256\"}",           /* duplicate alg */
		"{\"alg\":\"HS256\",\"alg\":\"none\"}",
		"{\"alg\":\"HS256\",\"x\":[[[[[[[[1]]]]]]]]}",     /* nesting */
		"{\"alg\":\"HS256\",\"typ\":\"J\\u0000WT\"}",       /* NUL */
		"{\"alg\":\"HS256\",\"kid\":\"\\ud800\"}",         /* lone surrogate */
		"{\"alg\":\"HS256\",\"kid\":\"\xff\"}",            /* invalid UTF-8 */
	};

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		assert_int_equal(v(mk(hdrs[i], GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	/* a header over 8 KiB decoded is refused even when the token cap allows it */
	{
		mja_verify_opts o = opts();
		char *hdr = calloc(1, 9000);

		strcpy(hdr, "{\"alg\":\"HS256\",\"x\":\"");
		memset(hdr + strlen(hdr), 'x', 8200);
		strcat(hdr, "\"}");
		o.max_token_bytes = 20000;
		assert_int_equal(v_opts(mk(hdr, GOOD_PAYLOAD), &o), MJA_ERR_BAD_HEADER);
		hdr[8000] = '\0';
		strcat(hdr, "\"}");
		assert_int_equal(v_opts(mk(hdr, GOOD_PAYLOAD), &o), MJA_OK);
		free(hdr);
	}
}

static void test_alg(void **state)
{
	static const char *const nones[] = { "none", "None", "NONE", "nOnE" };
	char hdr[128];

	for (size_t i = 0; i < 4; i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", nones[i]);
		/* with an HMAC signature attached, and with none at all */
		assert_int_equal(v(mk(hdr, GOOD_PAYLOAD)), MJA_ERR_ALG_NOT_ALLOWED);
		{
			char *tok = mk(hdr, GOOD_PAYLOAD);

			*(strrchr(tok, '.') + 1) = '\0';
			assert_int_equal(v(tok), MJA_ERR_MALFORMED);
		}
	}
	assert_int_equal(v(mk("{\"typ\":\"JWT\"}", GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	assert_int_equal(v(mk("{\"alg\":256}", GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	assert_int_equal(v(mk("{\"alg\":null}", GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	assert_int_equal(v(mk("{\"alg\":[\"HS256\"]}", GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	assert_int_equal(v(mk("{\"alg\":\"hs256\"}", GOOD_PAYLOAD)), MJA_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(v(mk("{\"alg\":\"HS256 \"}", GOOD_PAYLOAD)), MJA_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(v(mk("{\"alg\":\"\"}", GOOD_PAYLOAD)), MJA_ERR_ALG_NOT_ALLOWED);
}

static void test_alg_allow_list(void **state)
{
	mja_verify_opts o = opts();

	/* not in the configured list */
	o.algorithms = MJA_ALG_BIT(MJA_ALG_HS384) | MJA_ALG_BIT(MJA_ALG_RS256);
	assert_int_equal(v_opts(mk(HS256, GOOD_PAYLOAD), &o), MJA_ERR_ALG_NOT_ALLOWED);
	o.algorithms = MJA_ALG_BIT(MJA_ALG_HS256);
	assert_int_equal(v_opts(mk(HS256, GOOD_PAYLOAD), &o), MJA_OK);
	/* in the list, but no configured key can do it: the keyset has only
	 * 32-byte secrets, too short for HS512 (RFC 7518 3.2) and useless for RS256 */
	o.algorithms = 0;
	assert_int_equal(v_opts(mk_hmac("{\"alg\":\"HS512\"}", GOOD_PAYLOAD, SECRET, EVP_sha512()),
			&o), MJA_ERR_ALG_NOT_ALLOWED);
	assert_int_equal(v_opts(mk("{\"alg\":\"RS256\"}", GOOD_PAYLOAD), &o),
			MJA_ERR_ALG_NOT_ALLOWED);
	/* the order of checks: alg before crit */
	assert_int_equal(v(mk("{\"alg\":\"none\",\"crit\":[\"x\"]}", GOOD_PAYLOAD)),
			MJA_ERR_ALG_NOT_ALLOWED);
}

static void test_crit(void **state)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
		"{\"alg\":\"HS256\",\"crit\":[]}",
		"{\"alg\":\"HS256\",\"crit\":\"b64\"}",
		"{\"alg\":\"HS256\",\"crit\":null}",
		"{\"crit\":[\"b64\"],\"b64\":false,\"alg\":\"HS256\"}",
	};

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		assert_int_equal(v(mk(hdrs[i], GOOD_PAYLOAD)), MJA_ERR_CRIT);
}

static void test_typ(void **state)
{
	static const char *const ok[] = { "JWT", "jwt", "Jwt", "at+jwt", "at+JWT", "AT+JWT" };
	static const char *const bad[] = {
		"\"JWS\"", "\"application/jwt\"", "\"JWT \"", "\"\"", "1", "null", "[\"JWT\"]",
		"\"at+jw\"", "\"JWTX\"",
	};
	char hdr[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"%s\"}", ok[i]);
		assert_int_equal(v(mk(hdr, GOOD_PAYLOAD)), MJA_OK);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":%s}", bad[i]);
		assert_int_equal(v(mk(hdr, GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	}
}

/* ---- step 3: keys ---- */

static void test_kid(void **state)
{
	char *t2 = mk_hmac("{\"alg\":\"HS256\",\"kid\":\"k2\"}", GOOD_PAYLOAD, SECRET2, EVP_sha256());

	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":\"k1\"}", GOOD_PAYLOAD)), MJA_OK);
	assert_int_equal(v(strdup(t2)), MJA_OK);
	/* kid k2 with k1's secret: kid selects exactly one key */
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":\"k2\"}", GOOD_PAYLOAD)),
			MJA_ERR_BAD_SIGNATURE);
	/* without kid, every key that fits is tried */
	assert_int_equal(v(mk_hmac(HS256, GOOD_PAYLOAD, SECRET2, EVP_sha256())), MJA_OK);
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":\"k3\"}", GOOD_PAYLOAD)),
			MJA_ERR_UNKNOWN_KID);
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":\"K1\"}", GOOD_PAYLOAD)),
			MJA_ERR_UNKNOWN_KID);
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":\"\"}", GOOD_PAYLOAD)),
			MJA_ERR_UNKNOWN_KID);
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":1}", GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":null}", GOOD_PAYLOAD)), MJA_ERR_BAD_HEADER);
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"kid\":[\"k1\"]}", GOOD_PAYLOAD)),
			MJA_ERR_BAD_HEADER);
	free(t2);
}

static void test_key_urls_ignored(void **state)
{
	/* A token carrying its own key (jwk), or pointing at one (jku, x5u),
	 * signed with that attacker key: the header key is never used. */
	static const char evil[] = "attacker-secret-attacker-secret-";
	char hdr[512];

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"%s\"}}",
			"YXR0YWNrZXItc2VjcmV0LWF0dGFja2VyLXNlY3JldC0");
	assert_int_equal(v(mk_hmac(hdr, GOOD_PAYLOAD, evil, EVP_sha256())), MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(v(mk_hmac("{\"alg\":\"HS256\",\"jku\":\"https://evil.example/jwks\"}",
			GOOD_PAYLOAD, evil, EVP_sha256())), MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(v(mk_hmac("{\"alg\":\"HS256\",\"x5u\":\"https://evil.example/c.pem\"}",
			GOOD_PAYLOAD, evil, EVP_sha256())), MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(v(mk_hmac("{\"alg\":\"HS256\",\"x5c\":[\"MIIB\"]}",
			GOOD_PAYLOAD, evil, EVP_sha256())), MJA_ERR_BAD_SIGNATURE);
	/* ... and signed with the configured key they change nothing */
	assert_int_equal(v(mk(hdr, GOOD_PAYLOAD)), MJA_OK);
	assert_int_equal(v(mk("{\"alg\":\"HS256\",\"jku\":\"https://evil.example/jwks\","
			"\"x5u\":\"https://evil.example/c.pem\",\"x5c\":[\"MIIB\"]}", GOOD_PAYLOAD)), MJA_OK);
}

/* ---- step 4: signature ---- */

static void test_bad_signature(void **state)
{
	char *tok = mk(HS256, GOOD_PAYLOAD), *bad, *sig;
	unsigned char raw[64];
	size_t n;

	/* flip one bit of the MAC */
	sig = segment(tok, 2);
	assert_int_equal(mja_b64url_decode(sig, strlen(sig), raw, &n), MJA_OK);
	assert_int_equal(n, 32);
	raw[5] ^= 1;
	free(sig);
	sig = b64(raw, 32);
	assert_int_equal(v(with_segment(tok, 2, sig)), MJA_ERR_BAD_SIGNATURE);
	free(sig);
	raw[5] ^= 1;
	/* truncated and extended MAC */
	sig = b64(raw, 31);
	assert_int_equal(v(with_segment(tok, 2, sig)), MJA_ERR_BAD_SIGNATURE);
	free(sig);
	raw[32] = 0;
	sig = b64(raw, 33);
	assert_int_equal(v(with_segment(tok, 2, sig)), MJA_ERR_BAD_SIGNATURE);
	free(sig);
	sig = b64(raw, 1);
	assert_int_equal(v(with_segment(tok, 2, sig)), MJA_ERR_BAD_SIGNATURE);
	free(sig);
	/* wrong secret */
	assert_int_equal(v(mk_hmac(HS256, GOOD_PAYLOAD, "not-the-secret-not-the-secret-!!",
			EVP_sha256())), MJA_ERR_BAD_SIGNATURE);
	/* the signature covers the payload: swap in another payload */
	{
		static const char admin[] = "{\"sub\":\"admin\",\"exp\":1700000600}";
		char *other = b64(admin, strlen(admin));

		bad = with_segment(tok, 1, other);
		assert_int_equal(v(bad), MJA_ERR_BAD_SIGNATURE);
		free(other);
	}
	/* nothing from the payload is looked at before the signature: a bad
	 * signature over an expired or unparsable payload is "bad signature" */
	{
		char *tok2 = mk_hmac(HS256, "{\"exp\":1}", "not-the-secret-not-the-secret-!!",
				EVP_sha256());

		assert_int_equal(v(tok2), MJA_ERR_BAD_SIGNATURE);
		tok2 = mk_hmac(HS256, "not json", "not-the-secret-not-the-secret-!!", EVP_sha256());
		assert_int_equal(v(tok2), MJA_ERR_BAD_SIGNATURE);
	}
	free(tok);
}

/* ---- step 5: payload ---- */

static void test_payload(void **state)
{
	static const char *const bad[] = {
		"{\"sub\":\"a\",\"sub\":\"admin\"}",      /* duplicate sub */
		"{\"exp\":1800000000,\"exp\":1}",
		"[{\"sub\":\"a\"}]", "\"sub\"", "1", "", "not json", "{\"sub\":\"a\"",
		"{\"sub\":\"a\\u0000b\"}",                 /* NUL */
		"{\"sub\":\"\\ud800\"}",                   /* lone surrogate escape */
		"{\"sub\":\"\\udc00x\"}",
		"{\"sub\":\"\xff\"}",                      /* raw invalid UTF-8 */
		"{\"sub\":\"\xc0\xaf\"}",                  /* raw overlong */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(v(mk(HS256, bad[i])), MJA_ERR_BAD_PAYLOAD);
	/* deep nesting in the payload */
	{
		char pay[256] = "{\"a\":";
		size_t n = strlen(pay);

		for (int i = 0; i < 40; i++)
			pay[n++] = '[';
		for (int i = 0; i < 40; i++)
			pay[n++] = ']';
		pay[n++] = '}';
		pay[n] = '\0';
		assert_int_equal(v(mk(HS256, pay)), MJA_ERR_BAD_PAYLOAD);
	}
	/* a valid escaped pair is fine: U+1D11E */
	assert_int_equal(v(mk(HS256, "{\"sub\":\"\\ud834\\udd1e\"}")), MJA_OK);
}

/* ---- steps 6-7: claims, through the pipeline ---- */

static mja_err claims(const char *pay, const mja_verify_opts *o)
{
	return v_opts(mk(HS256, pay), o);
}

static void test_claims_through_pipeline(void **state)
{
	static const char *const iss[] = { "https://issuer.example" };
	static const char *const aud[] = { "mqtt.example.com" };
	static const char *const req[] = { "exp", "sub" };
	mja_verify_opts o = opts();
	char pay[512];

	assert_int_equal(claims("{\"exp\":\"1800000000\"}", &o), MJA_ERR_BAD_PAYLOAD);
	assert_int_equal(claims("{\"nbf\":\"0\"}", &o), MJA_ERR_BAD_PAYLOAD);
	assert_int_equal(claims("{\"iat\":\"0\"}", &o), MJA_ERR_BAD_PAYLOAD);
	/* exp + leeway == now: refused; one second earlier in time: accepted */
	snprintf(pay, sizeof(pay), "{\"exp\":%lld}", (long long)(NOW - 30));
	assert_int_equal(claims(pay, &o), MJA_ERR_EXPIRED);
	snprintf(pay, sizeof(pay), "{\"exp\":%lld}", (long long)(NOW - 29));
	assert_int_equal(claims(pay, &o), MJA_OK);
	assert_int_equal(claims("{\"exp\":1e300}", &o), MJA_OK);
	assert_int_equal(claims("{\"exp\":-1}", &o), MJA_ERR_EXPIRED);
	assert_int_equal(claims("{\"exp\":-1e300}", &o), MJA_ERR_EXPIRED);
	snprintf(pay, sizeof(pay), "{\"nbf\":%lld}", (long long)(NOW + 31));
	assert_int_equal(claims(pay, &o), MJA_ERR_NOT_YET_VALID);
	snprintf(pay, sizeof(pay), "{\"nbf\":%lld}", (long long)(NOW + 30));
	assert_int_equal(claims(pay, &o), MJA_OK);
	snprintf(pay, sizeof(pay), "{\"iat\":%lld}", (long long)(NOW + 31));
	assert_int_equal(claims(pay, &o), MJA_ERR_IAT_FUTURE);

	o.claims.issuers = iss;
	o.claims.n_issuers = 1;
	assert_int_equal(claims("{\"iss\":\"https://evil.example\"}", &o), MJA_ERR_ISSUER);
	assert_int_equal(claims("{}", &o), MJA_ERR_ISSUER);
	assert_int_equal(claims("{\"iss\":\"https://issuer.example\"}", &o), MJA_OK);
	o.claims.n_issuers = 0;

	o.claims.audiences = aud;
	o.claims.n_audiences = 1;
	assert_int_equal(claims("{\"aud\":\"mqtt.example.com\"}", &o), MJA_OK);
	assert_int_equal(claims("{\"aud\":[\"x\",\"mqtt.example.com\"]}", &o), MJA_OK);
	assert_int_equal(claims("{\"aud\":\"other\"}", &o), MJA_ERR_AUDIENCE);
	assert_int_equal(claims("{\"aud\":[\"other\"]}", &o), MJA_ERR_AUDIENCE);
	assert_int_equal(claims("{\"aud\":[]}", &o), MJA_ERR_AUDIENCE);
	assert_int_equal(claims("{}", &o), MJA_ERR_AUDIENCE);
	o.claims.n_audiences = 0;

	o.claims.required = req;
	o.claims.n_required = 2;
	assert_int_equal(claims("{\"sub\":\"a\"}", &o), MJA_ERR_MISSING_CLAIM);
	assert_int_equal(claims("{\"exp\":1800000000}", &o), MJA_ERR_MISSING_CLAIM);
	assert_int_equal(claims("{\"exp\":1800000000,\"sub\":\"a\"}", &o), MJA_OK);
	o.claims.required = no_required;
	o.claims.n_required = 0;

	o.claims.max_token_age = 600;
	snprintf(pay, sizeof(pay), "{\"iat\":%lld,\"exp\":%lld}", (long long)(NOW - 631),
			(long long)(NOW + 10));
	assert_int_equal(claims(pay, &o), MJA_ERR_TOO_OLD);          /* iat too old */
	snprintf(pay, sizeof(pay), "{\"iat\":%lld,\"exp\":%lld}", (long long)(NOW - 10),
			(long long)(NOW + 591));
	assert_int_equal(claims(pay, &o), MJA_ERR_TOO_OLD);          /* lives too long */
	snprintf(pay, sizeof(pay), "{\"iat\":%lld,\"exp\":%lld}", (long long)(NOW - 10),
			(long long)(NOW + 590));
	assert_int_equal(claims(pay, &o), MJA_OK);
	assert_int_equal(claims("{\"exp\":1800000000}", &o), MJA_ERR_TOO_OLD); /* no iat */
	o.claims.max_token_age = 0;

	assert_int_equal(claims("{\"sub\":\"\"}", &o), MJA_ERR_BAD_SUB);
	assert_int_equal(claims("{\"sub\":\"a+b\"}", &o), MJA_ERR_BAD_SUB);
	assert_int_equal(claims("{\"sub\":\"a/#\"}", &o), MJA_ERR_BAD_SUB);
	assert_int_equal(claims("{\"sub\":7}", &o), MJA_ERR_BAD_SUB);
	{
		char big[300];

		memset(big, 'a', 257);
		big[257] = '\0';
		snprintf(pay, sizeof(pay), "{\"sub\":\"%s\"}", big);
		assert_int_equal(claims(pay, &o), MJA_ERR_BAD_SUB);
		big[256] = '\0';
		snprintf(pay, sizeof(pay), "{\"sub\":\"%s\"}", big);
		assert_int_equal(claims(pay, &o), MJA_OK);
	}
}

/* ---- alg confusion (RFC 8725 2.1, 3.1) ---- */

static char *rsa_public_pem(EVP_PKEY *pk)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	n = BIO_get_mem_data(b, &p);
	s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

static char *mk_rs256(const char *hdr, const char *pay, EVP_PKEY *pk)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(pay, strlen(pay)), *in, *s, *tok;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	in = join3(h, p, "");
	in[strlen(in) - 1] = '\0';
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)in, strlen(in)), 1);
	EVP_MD_CTX_free(ctx);
	s = b64(sig, siglen);
	tok = join3(h, p, s);
	free(h);
	free(p);
	free(in);
	free(s);
	return tok;
}

static void test_alg_confusion(void **state)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	char *pem, *rs, *hs;
	mja_keyset *ks = mja_keyset_new();
	mja_verify_opts o = opts();
	mja_diag d = { 0 };

	assert_non_null(pk);
	pem = rsa_public_pem(pk);
	assert_int_equal(mja_keyset_add_pem(ks, pem, strlen(pem), "rsa.pem", &d), MJA_OK);
	/* positive control: a real RS256 token verifies */
	rs = mk_rs256("{\"alg\":\"RS256\"}", GOOD_PAYLOAD, pk);
	assert_int_equal(verify_with(ks, &o, rs, NOW), MJA_OK);
	/* the attack: HS256 keyed with the public key's PEM text */
	hs = mk_hmac(HS256, GOOD_PAYLOAD, pem, EVP_sha256());
	assert_int_equal(verify_with(ks, &o, hs, NOW), MJA_ERR_ALG_NOT_ALLOWED);
	/* even with HS256 explicitly allowed */
	o.algorithms = MJA_ALG_BIT(MJA_ALG_HS256) | MJA_ALG_BIT(MJA_ALG_RS256);
	assert_int_equal(verify_with(ks, &o, hs, NOW), MJA_ERR_ALG_NOT_ALLOWED);
	/* and with an HMAC key configured too, the RSA key is still not an HMAC key */
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)SECRET, 32, NULL,
			"test", &d), MJA_OK);
	assert_int_equal(verify_with(ks, &o, hs, NOW), MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(verify_with(ks, &o, rs, NOW), MJA_OK);
	/* RS256 signature relabelled as PS256 / RS384 */
	{
		char *seg = segment(rs, 2), *h = b64("{\"alg\":\"PS256\"}", 15), *p = segment(rs, 1);
		char *t = join3(h, p, seg);

		assert_int_equal(verify_with(ks, &o, t, NOW), MJA_ERR_ALG_NOT_ALLOWED);
		o.algorithms = 0;
		assert_int_equal(verify_with(ks, &o, t, NOW), MJA_ERR_BAD_SIGNATURE);
		free(t);
		free(h);
		free(seg);
		free(p);
	}
	free(rs);
	free(hs);
	free(pem);
	EVP_PKEY_free(pk);
	mja_keyset_free(ks);
}

/* ---- RFC 7515 A.1 / RFC 7519 3.1 ---- */

static char *read_vector(const char *name)
{
	char path[1024], *buf;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/token/%s", MJA_TEST_VECTORS, name);
	buf = test_read_file(path, &n);
	assert_non_null(buf);
	test_chomp(buf, n);
	return buf;
}

static void test_rfc7515_a1(void **state)
{
	static const char *const req[] = { "exp" };
	char *tok = read_vector("rfc7515-a1.jwt"), *jwk = read_vector("rfc7515-a1.jwk");
	char path[1024];
	mja_keyset *ks = mja_keyset_new(), *ks2 = mja_keyset_new();
	mja_verify_opts o = opts();
	mja_diag d = { 0 };
	mja_token *t = NULL;
	const int64_t exp = 1300819380;

	o.claims.required = req;
	o.claims.n_required = 1;
	assert_int_equal(mja_keyset_add_jwk_json(ks, jwk, strlen(jwk), "rfc7515-a1.jwk", &d), MJA_OK);
	/* the same key through real file loading */
	snprintf(path, sizeof(path), "%s/token/rfc7515-a1.jwk", MJA_TEST_VECTORS);
	assert_int_equal(mja_keyset_load_key_file(ks2, path, &d), MJA_OK);
	/* its exp is in 2011: a clock before it accepts, at exp + leeway refuses */
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), exp - 3600, &t), MJA_OK);
	assert_int_equal(t->alg, MJA_ALG_HS256);
	assert_null(t->sub);
	assert_true(t->has_exp && t->exp == exp);
	assert_true(json_is_true(json_object_get(t->payload, "http://example.com/is_root")));
	mja_token_free(t);
	assert_int_equal(verify_with(ks2, &o, tok, exp - 3600), MJA_OK);
	assert_int_equal(verify_with(ks, &o, tok, exp + 29), MJA_OK);
	assert_int_equal(verify_with(ks, &o, tok, exp + 30), MJA_ERR_EXPIRED);
	assert_int_equal(verify_with(ks, &o, tok, NOW), MJA_ERR_EXPIRED);
	/* the signing input is the original text (with its CRLFs): one byte
	 * of difference in the encoded header breaks it */
	tok[5] = tok[5] == 'A' ? 'B' : 'A';
	assert_int_not_equal(verify_with(ks, &o, tok, exp - 3600), MJA_OK);
	free(tok);
	free(jwk);
	mja_keyset_free(ks);
	mja_keyset_free(ks2);
}

/* ---- the other entry points ---- */

static void test_looks_like_jwt(void **state)
{
	static const struct { const char *s; int yes; } v_[] = {
		{ "a.b.c", 1 }, { "eyJh.eyJz.sig-_", 1 }, { "a..", 1 }, { "a.b.", 1 },
		{ ".b.c", 0 }, { "a.b", 0 }, { "a.b.c.d", 0 }, { "", 0 }, { "password", 0 },
		{ "a.b.c=", 0 }, { "a.b c.d", 0 }, { "a+b.c.d", 0 }, { "a.b.c\n", 0 },
	};

	for (size_t i = 0; i < sizeof(v_) / sizeof(v_[0]); i++)
		assert_int_equal(mja_token_looks_like_jwt(v_[i].s, strlen(v_[i].s)), v_[i].yes);
	assert_int_equal(mja_token_looks_like_jwt("a.b.c\0.d", 8), 0);
	assert_int_equal(mja_token_looks_like_jwt("a.b.c.d", 5), 1);
	assert_int_equal(mja_token_looks_like_jwt(NULL, 0), 0);
}

static void test_decode_unverified(void **state)
{
	char *tok = mk_hmac(HS256, GOOD_PAYLOAD, "whatever-whatever-whatever-whatever",
			EVP_sha256());
	json_t *h = (json_t *)1, *p = (json_t *)1;

	assert_int_equal(mja_token_decode_unverified(tok, strlen(tok), &h, &p), MJA_OK);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "HS256");
	assert_string_equal(json_string_value(json_object_get(p, "sub")), "dev1");
	json_decref(h);
	json_decref(p);
	free(tok);
	tok = mk("[1]", GOOD_PAYLOAD);
	assert_int_equal(mja_token_decode_unverified(tok, strlen(tok), &h, &p), MJA_ERR_BAD_HEADER);
	assert_null(h);
	assert_null(p);
	free(tok);
	tok = mk(HS256, "{\"a\":1,\"a\":2}");
	assert_int_equal(mja_token_decode_unverified(tok, strlen(tok), &h, &p), MJA_ERR_BAD_PAYLOAD);
	assert_null(h);
	assert_null(p);
	free(tok);
	assert_int_equal(mja_token_decode_unverified("a.b", 3, &h, &p), MJA_ERR_MALFORMED);
	assert_int_equal(mja_token_decode_unverified("eyJ9=.e30.", 10, &h, &p), MJA_ERR_MALFORMED);
}

static void test_sign_roundtrip(void **state)
{
	mja_key *k = NULL;
	mja_keyset *ks = mja_keyset_new();
	mja_verify_opts o = opts();
	mja_diag d = { 0 };
	json_t *pay = json_pack("{s:s, s:I}", "sub", "dev9", "exp", (json_int_t)(NOW + 60));
	json_t *extra = json_pack("{s:s}", "typ", "at+jwt"), *h = NULL, *p = NULL;
	mja_token *t = NULL;
	char *tok = NULL;

	assert_int_equal(mja_key_from_secret((const unsigned char *)SECRET, 32, "sk", &k, &d), MJA_OK);
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)SECRET, 32, "sk", "t", &d),
			MJA_OK);
	assert_int_equal(mja_token_sign(k, MJA_ALG_HS256, NULL, pay, &tok), MJA_OK);
	assert_int_equal(mja_token_verify(ks, &o, tok, strlen(tok), NOW, &t), MJA_OK);
	assert_string_equal(t->sub, "dev9");
	assert_string_equal(json_string_value(json_object_get(t->header, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(t->header, "kid")), "sk");
	mja_token_free(t);
	/* it equals the token built independently with OpenSSL's HMAC */
	{
		char *ref = mk("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"sk\"}",
				"{\"sub\":\"dev9\",\"exp\":1700000060}");

		assert_string_equal(tok, ref);
		free(ref);
	}
	free(tok);
	assert_int_equal(mja_token_sign(k, MJA_ALG_HS256, extra, pay, &tok), MJA_OK);
	assert_int_equal(mja_token_decode_unverified(tok, strlen(tok), &h, &p), MJA_OK);
	assert_string_equal(json_string_value(json_object_get(h, "typ")), "at+jwt");
	json_decref(h);
	json_decref(p);
	free(tok);
	/* the header may not relabel the algorithm; payload must be an object */
	json_object_set_new(extra, "alg", json_string("none"));
	assert_int_equal(mja_token_sign(k, MJA_ALG_HS256, extra, pay, &tok), MJA_ERR_INVAL);
	assert_null(tok);
	{
		json_t *arr = json_array();

		assert_int_not_equal(mja_token_sign(k, MJA_ALG_HS256, NULL, arr, &tok), MJA_OK);
		json_decref(arr);
	}
	/* the key pins the algorithm when signing too */
	assert_int_not_equal(mja_token_sign(k, MJA_ALG_RS256, NULL, pay, &tok), MJA_OK);
	assert_null(tok);
	json_decref(pay);
	json_decref(extra);
	mja_key_free(k);
	mja_keyset_free(ks);
}

/* ---- header memo (mja_token_verify_ex) ---- */

static mja_keyset *two_secrets(void)
{
	mja_keyset *ks = mja_keyset_new();
	mja_diag d = { 0 };

	assert_non_null(ks);
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)SECRET, 32, "k1",
			"test", &d), MJA_OK);
	assert_int_equal(mja_keyset_add_secret(ks, (const unsigned char *)SECRET2, 32, "k2",
			"test", &d), MJA_OK);
	return ks;
}

/* Verify tok with the memo and without: the verdict must be the same. */
static mja_err vmemo(const mja_keyset *ks, const mja_verify_opts *o, const char *tok,
		mja_token_memo *m)
{
	mja_token *t = (mja_token *)1;
	mja_err e = mja_token_verify_ex(ks, o, tok, strlen(tok), NOW, m, &t);

	assert_int_equal(e, verify_with(ks, o, tok, NOW));
	if (e == MJA_OK)
		assert_true(json_is_object(t->header));
	else
		assert_null(t);
	mja_token_free(t);
	return e;
}

static int memo_has(const mja_token_memo *m, const char *tok)
{
	size_t n = (size_t)(strchr(tok, '.') - tok);

	for (int i = 0; i < MJA_TOKEN_MEMO_SLOTS; i++)
		if (m->slot[i].len == n && memcmp(m->slot[i].seg, tok, n) == 0)
			return 1;
	return 0;
}

/* An attacker reusing a remembered header segment must get exactly the
 * verdict he gets without the memo: it skips parsing, never a check. */
static void test_header_memo(void **state)
{
	const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	mja_keyset *ks = two_secrets();
	mja_verify_opts o = opts();
	mja_token_memo m;
	mja_token *t = NULL;
	char *good = mk(hdr, GOOD_PAYLOAD), *tok;

	mja_token_memo_init(&m);
	assert_int_equal(vmemo(ks, &o, good, &m), MJA_OK);
	assert_true(memo_has(&m, good));
	/* a hit gives the remembered object itself */
	assert_int_equal(mja_token_verify_ex(ks, &o, good, strlen(good), NOW, &m, &t), MJA_OK);
	assert_ptr_equal(t->header, m.slot[0].header);
	mja_token_free(t);

	/* same header segment, every later check still decides */
	tok = mk_hmac(hdr, GOOD_PAYLOAD, "another-secret-another-secret-32", EVP_sha256());
	assert_int_equal(vmemo(ks, &o, tok, &m), MJA_ERR_BAD_SIGNATURE);
	free(tok);
	tok = mk(hdr, "{\"sub\":\"dev1\",\"exp\":1699990000}");
	assert_int_equal(vmemo(ks, &o, tok, &m), MJA_ERR_EXPIRED);
	free(tok);
	tok = mk(hdr, "{\"sub\":\"dev1\",\"sub\":\"admin\"}");
	assert_int_equal(vmemo(ks, &o, tok, &m), MJA_ERR_BAD_PAYLOAD);
	free(tok);
	/* header checks run on the remembered object: allow-list ... */
	o.algorithms = MJA_ALG_BIT(MJA_ALG_HS384);
	assert_int_equal(vmemo(ks, &o, good, &m), MJA_ERR_ALG_NOT_ALLOWED);
	o = opts();
	/* ... and what the keys can do (a keyset without secrets) */
	{
		mja_keyset *empty = mja_keyset_new();

		assert_int_equal(vmemo(empty, &o, good, &m), MJA_ERR_ALG_NOT_ALLOWED);
		mja_keyset_free(empty);
	}
	/* refused tokens are never remembered, even with a good header */
	tok = mk("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", GOOD_PAYLOAD);
	assert_int_equal(vmemo(ks, &o, tok, &m), MJA_ERR_CRIT);
	assert_false(memo_has(&m, tok));
	free(tok);
	tok = mk_hmac("{\"alg\":\"HS256\",\"kid\":\"k2\"}", GOOD_PAYLOAD, SECRET, EVP_sha256());
	assert_int_equal(vmemo(ks, &o, tok, &m), MJA_ERR_BAD_SIGNATURE);
	assert_false(memo_has(&m, tok));
	free(tok);
	tok = mk("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "{\"exp\":1}");
	assert_int_equal(vmemo(ks, &o, tok, &m), MJA_ERR_EXPIRED);
	assert_false(memo_has(&m, tok));
	free(tok);

	/* more headers than slots: bounded, all still verify */
	{
		static const char *const hdrs[] = {
			"{\"alg\":\"HS256\"}", "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
			"{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "{\"typ\":\"jwt\",\"alg\":\"HS256\"}",
			"{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
		};

		for (int r = 0; r < 2; r++)
			for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
				tok = mk(hdrs[i], GOOD_PAYLOAD);
				assert_int_equal(vmemo(ks, &o, tok, &m), MJA_OK);
				assert_true(memo_has(&m, tok));
				free(tok);
			}
	}
	/* a header segment longer than the memo's limit is verified, not kept */
	{
		char big[MJA_TOKEN_MEMO_MAX_SEGMENT + 64];

		snprintf(big, sizeof(big), "{\"alg\":\"HS256\",\"x\":\"%0*d\"}",
				MJA_TOKEN_MEMO_MAX_SEGMENT, 7);
		tok = mk(big, GOOD_PAYLOAD);
		assert_int_equal(vmemo(ks, &o, tok, &m), MJA_OK);
		assert_false(memo_has(&m, tok));
		free(tok);
	}
	mja_token_memo_clear(&m);
	for (int i = 0; i < MJA_TOKEN_MEMO_SLOTS; i++) {
		assert_int_equal(m.slot[i].len, 0);
		assert_null(m.slot[i].header);
	}
	mja_token_memo_clear(NULL);
	free(good);
	mja_keyset_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive_control),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_bad_base64url),
		cmocka_unit_test(test_noncanonical_signature),
		cmocka_unit_test(test_header_not_object),
		cmocka_unit_test(test_alg),
		cmocka_unit_test(test_alg_allow_list),
		cmocka_unit_test(test_crit),
		cmocka_unit_test(test_typ),
		cmocka_unit_test(test_kid),
		cmocka_unit_test(test_key_urls_ignored),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_payload),
		cmocka_unit_test(test_claims_through_pipeline),
		cmocka_unit_test(test_alg_confusion),
		cmocka_unit_test(test_rfc7515_a1),
		cmocka_unit_test(test_looks_like_jwt),
		cmocka_unit_test(test_decode_unverified),
		cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_header_memo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
