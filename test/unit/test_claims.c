/* test_claims.c - registered claims with a fixed clock (RFC 7519 4.1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mja/token/claims.h"

#define NOW INT64_C(1700000000)

static const char *const no_required[1];

/* Rules with nothing configured except leeway. */
static mja_claim_rules rules(int64_t leeway)
{
	mja_claim_rules r = { .leeway = leeway, .required = no_required };

	return r;
}

/* Check the payload given as JSON text (printf format) against r. */
static mja_err check(const mja_claim_rules *r, int64_t now, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	json_error_t err;
	json_t *p;
	mja_err e;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	if (!p)
		fail_msg("bad test JSON %s: %s", text, err.text);
	e = mja_claims_check(p, r, now);
	json_decref(p);
	return e;
}

static void test_numeric_date_types(void **state)
{
	mja_claim_rules r = rules(30);
	static const char *const bad[] = {
		"\"1800000000\"", "true", "null", "[1800000000]", "{}",
	};
	static const char *const names[] = { "exp", "nbf", "iat" };

	for (size_t n = 0; n < 3; n++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(check(&r, NOW, "{\"%s\":%s}", names[n], bad[i]),
					MJA_ERR_BAD_PAYLOAD);
	/* integer and real are both NumericDate */
	assert_int_equal(check(&r, NOW, "{\"exp\":1800000000,\"nbf\":1600000000.5,\"iat\":1600000000}"),
			MJA_OK);
	/* the type check comes first: before required claims and before exp */
	{
		static const char *const req[] = { "sub" };

		r.required = req;
		r.n_required = 1;
		assert_int_equal(check(&r, NOW, "{\"exp\":\"x\"}"), MJA_ERR_BAD_PAYLOAD);
	}
	assert_int_equal(check(&r, NOW, "{\"exp\":1,\"iat\":\"x\"}"), MJA_ERR_BAD_PAYLOAD);
}

static void test_required(void **state)
{
	static const char *const req[] = { "exp", "sub", "tenant" };
	mja_claim_rules r = rules(30);

	r.required = req;
	r.n_required = 3;
	assert_int_equal(check(&r, NOW, "{\"exp\":1800000000,\"sub\":\"a\",\"tenant\":null}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"exp\":1800000000,\"sub\":\"a\"}"), MJA_ERR_MISSING_CLAIM);
	assert_int_equal(check(&r, NOW, "{\"sub\":\"a\",\"tenant\":1}"), MJA_ERR_MISSING_CLAIM);
	assert_int_equal(check(&r, NOW, "{}"), MJA_ERR_MISSING_CLAIM);
	/* missing claim is reported before expiry */
	assert_int_equal(check(&r, NOW, "{\"exp\":1}"), MJA_ERR_MISSING_CLAIM);
}

static void test_exp_boundary(void **state)
{
	mja_claim_rules r = rules(30);

	/* RFC 7519 4.1.4: exp + leeway == now is expired ... */
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld}", (long long)(NOW - 30)), MJA_ERR_EXPIRED);
	/* ... one second before that moment is still valid */
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld}", (long long)(NOW - 29)), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld}", (long long)(NOW - 31)), MJA_ERR_EXPIRED);
	/* fractions count */
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld.5}", (long long)(NOW - 30)), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld.5}", (long long)(NOW - 31)), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld.0}", (long long)(NOW - 30)), MJA_ERR_EXPIRED);
	r.leeway = 0;
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld}", (long long)NOW), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld}", (long long)(NOW + 1)), MJA_OK);
}

static void test_exp_extremes(void **state)
{
	mja_claim_rules r = rules(30);

	assert_int_equal(check(&r, NOW, "{\"exp\":1e300}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"exp\":-1e300}"), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, NOW, "{\"exp\":-1}"), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, NOW, "{\"exp\":0}"), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, NOW, "{\"exp\":9223372036854775807}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"exp\":-9223372036854775808}"), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, NOW, "{\"exp\":1.8e19}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"exp\":-1.8e19}"), MJA_ERR_EXPIRED);
	/* a clock at the ends of int64 does not wrap either */
	r.leeway = INT64_MAX;
	assert_int_equal(check(&r, INT64_MIN, "{\"exp\":-9223372036854775808}"), MJA_OK);
	assert_int_equal(check(&r, INT64_MAX, "{\"nbf\":9223372036854775807,\"iat\":1e19}"), MJA_OK);
	assert_int_equal(check(&r, INT64_MAX, "{\"exp\":-9223372036854775808}"), MJA_ERR_EXPIRED);
	r.leeway = 0;
	assert_int_equal(check(&r, INT64_MAX, "{\"exp\":9223372036854775807}"), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, INT64_MIN, "{\"exp\":-9223372036854775808}"), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, INT64_MIN, "{\"nbf\":-9223372036854775807}"), MJA_ERR_NOT_YET_VALID);
}

static void test_nbf_iat(void **state)
{
	mja_claim_rules r = rules(30);

	/* RFC 7519 4.1.5: nbf - leeway <= now */
	assert_int_equal(check(&r, NOW, "{\"nbf\":%lld}", (long long)(NOW + 30)), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"nbf\":%lld}", (long long)(NOW + 31)), MJA_ERR_NOT_YET_VALID);
	assert_int_equal(check(&r, NOW, "{\"nbf\":%lld.5}", (long long)(NOW + 30)), MJA_ERR_NOT_YET_VALID);
	assert_int_equal(check(&r, NOW, "{\"nbf\":1e300}"), MJA_ERR_NOT_YET_VALID);
	assert_int_equal(check(&r, NOW, "{\"nbf\":-1e300}"), MJA_OK);
	/* iat - leeway <= now */
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld}", (long long)(NOW + 30)), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld}", (long long)(NOW + 31)), MJA_ERR_IAT_FUTURE);
	assert_int_equal(check(&r, NOW, "{\"iat\":1e300}"), MJA_ERR_IAT_FUTURE);
	assert_int_equal(check(&r, NOW, "{\"iat\":-5}"), MJA_OK);
	/* order: exp before nbf before iat */
	assert_int_equal(check(&r, NOW, "{\"exp\":1,\"nbf\":1e300,\"iat\":1e300}"), MJA_ERR_EXPIRED);
	assert_int_equal(check(&r, NOW, "{\"nbf\":1e300,\"iat\":1e300}"), MJA_ERR_NOT_YET_VALID);
}

static void test_issuer(void **state)
{
	static const char *const iss[] = { "https://a.example", "b" };
	mja_claim_rules r = rules(30);

	assert_int_equal(check(&r, NOW, "{\"iss\":5}"), MJA_OK); /* not configured */
	r.issuers = iss;
	r.n_issuers = 2;
	assert_int_equal(check(&r, NOW, "{\"iss\":\"https://a.example\"}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"iss\":\"b\"}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"iss\":\"https://a.example/\"}"), MJA_ERR_ISSUER);
	assert_int_equal(check(&r, NOW, "{\"iss\":\"B\"}"), MJA_ERR_ISSUER);
	assert_int_equal(check(&r, NOW, "{\"iss\":\"https://a.exampl\"}"), MJA_ERR_ISSUER);
	assert_int_equal(check(&r, NOW, "{\"iss\":[\"b\"]}"), MJA_ERR_ISSUER);
	assert_int_equal(check(&r, NOW, "{}"), MJA_ERR_ISSUER);
	/* time before issuer */
	assert_int_equal(check(&r, NOW, "{\"iss\":\"x\",\"exp\":1}"), MJA_ERR_EXPIRED);
}

static void test_audience(void **state)
{
	static const char *const aud[] = { "mqtt.example.com", "other" };
	mja_claim_rules r = rules(30);

	assert_int_equal(check(&r, NOW, "{\"aud\":{}}"), MJA_OK); /* not configured */
	r.audiences = aud;
	r.n_audiences = 2;
	assert_int_equal(check(&r, NOW, "{\"aud\":\"mqtt.example.com\"}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"aud\":\"other\"}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"aud\":[\"x\",\"other\"]}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"aud\":[1,null,{},\"mqtt.example.com\"]}"), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"aud\":\"x\"}"), MJA_ERR_AUDIENCE);
	assert_int_equal(check(&r, NOW, "{\"aud\":[\"x\",\"y\"]}"), MJA_ERR_AUDIENCE);
	assert_int_equal(check(&r, NOW, "{\"aud\":[]}"), MJA_ERR_AUDIENCE);
	assert_int_equal(check(&r, NOW, "{\"aud\":[[\"other\"]]}"), MJA_ERR_AUDIENCE);
	assert_int_equal(check(&r, NOW, "{\"aud\":{\"other\":1}}"), MJA_ERR_AUDIENCE);
	assert_int_equal(check(&r, NOW, "{\"aud\":5}"), MJA_ERR_AUDIENCE);
	assert_int_equal(check(&r, NOW, "{}"), MJA_ERR_AUDIENCE);
	assert_int_equal(check(&r, NOW, "{\"aud\":\"mqtt.example.co\"}"), MJA_ERR_AUDIENCE);
	/* issuer before audience */
	{
		static const char *const iss[] = { "i" };

		r.issuers = iss;
		r.n_issuers = 1;
		assert_int_equal(check(&r, NOW, "{\"iss\":\"j\",\"aud\":\"x\"}"), MJA_ERR_ISSUER);
	}
}

static void test_max_token_age(void **state)
{
	mja_claim_rules r = rules(30);

	r.max_token_age = 3600;
	/* iat required */
	assert_int_equal(check(&r, NOW, "{\"exp\":%lld}", (long long)(NOW + 60)), MJA_ERR_TOO_OLD);
	assert_int_equal(check(&r, NOW, "{}"), MJA_ERR_TOO_OLD);
	/* rule 1: now - iat <= max + leeway */
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld}", (long long)(NOW - 3630)), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld}", (long long)(NOW - 3631)), MJA_ERR_TOO_OLD);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld.5}", (long long)(NOW - 3631)), MJA_ERR_TOO_OLD);
	assert_int_equal(check(&r, NOW, "{\"iat\":-1e300}"), MJA_ERR_TOO_OLD);
	/* rule 2: exp - iat <= max */
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld,\"exp\":%lld}",
			(long long)(NOW - 10), (long long)(NOW - 10 + 3600)), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld,\"exp\":%lld}",
			(long long)(NOW - 10), (long long)(NOW - 10 + 3601)), MJA_ERR_TOO_OLD);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld.0,\"exp\":%lld.5}",
			(long long)(NOW - 10), (long long)(NOW - 10 + 3600)), MJA_ERR_TOO_OLD);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld.5,\"exp\":%lld}",
			(long long)(NOW - 10), (long long)(NOW - 10 + 3600)), MJA_OK);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld,\"exp\":1e300}", (long long)NOW), MJA_ERR_TOO_OLD);
	assert_int_equal(check(&r, NOW, "{\"iat\":%lld,\"exp\":9223372036854775807}", (long long)NOW),
			MJA_ERR_TOO_OLD);
	/* off: an ancient iat and a long life pass */
	r.max_token_age = 0;
	assert_int_equal(check(&r, NOW, "{\"iat\":1,\"exp\":1e300}"), MJA_OK);
}

/* Check a sub given as raw bytes (may be invalid UTF-8 or contain NUL). */
static mja_err check_sub(const char *s, size_t len)
{
	mja_claim_rules r = rules(30);
	json_t *p = json_object();
	mja_err e;

	json_object_set_new(p, "sub", json_stringn_nocheck(s, len));
	e = mja_claims_check(p, &r, NOW);
	json_decref(p);
	assert_int_equal(mja_sub_valid(s, len), e == MJA_OK);
	return e;
}

static void test_sub(void **state)
{
	char big[258];
	mja_claim_rules r = rules(30);

	memset(big, 'a', sizeof(big));
	assert_int_equal(check_sub("device-1", 8), MJA_OK);
	assert_int_equal(check_sub("a/b c", 5), MJA_OK);
	assert_int_equal(check_sub("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e", 9), MJA_OK); /* é € 𝄞 */
	assert_int_equal(check_sub("\xf4\x8f\xbf\xbf", 4), MJA_OK);                    /* U+10FFFF */
	assert_int_equal(check_sub("\xed\x9f\xbf", 3), MJA_OK);                        /* U+D7FF */
	assert_int_equal(check_sub(big, 256), MJA_OK);
	assert_int_equal(check_sub(big, 257), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("", 0), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a+b", 3), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a#", 2), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a\0b", 3), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("\xff", 1), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a\x80", 2), MJA_ERR_BAD_SUB);            /* stray continuation */
	assert_int_equal(check_sub("\xc0\xaf", 2), MJA_ERR_BAD_SUB);         /* overlong '/' */
	assert_int_equal(check_sub("\xc1\xbf", 2), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("\xe0\x80\xaf", 3), MJA_ERR_BAD_SUB);     /* overlong */
	assert_int_equal(check_sub("\xf0\x80\x80\xaf", 4), MJA_ERR_BAD_SUB); /* overlong */
	assert_int_equal(check_sub("\xed\xa0\x80", 3), MJA_ERR_BAD_SUB);     /* U+D800 */
	assert_int_equal(check_sub("\xed\xbf\xbf", 3), MJA_ERR_BAD_SUB);     /* U+DFFF */
	assert_int_equal(check_sub("\xf4\x90\x80\x80", 4), MJA_ERR_BAD_SUB); /* U+110000 */
	assert_int_equal(check_sub("\xf5\x80\x80\x80", 4), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("\xe2\x82", 2), MJA_ERR_BAD_SUB);         /* truncated */
	assert_int_equal(check_sub("\xe2\x82z", 3), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("\xf0\x9d\x84", 3), MJA_ERR_BAD_SUB);
	/* a 256-byte sub whose last character is multibyte is fine; 257 is not */
	memset(big, 'a', sizeof(big));
	memcpy(big + 254, "\xc3\xa9", 2);
	assert_int_equal(check_sub(big, 256), MJA_OK);
	memcpy(big + 255, "\xc3\xa9", 2);
	assert_int_equal(check_sub(big, 257), MJA_ERR_BAD_SUB);
	/* non-string sub; absent sub is the required-claims rule's business */
	assert_int_equal(check(&r, NOW, "{\"sub\":5}"), MJA_ERR_BAD_SUB);
	assert_int_equal(check(&r, NOW, "{\"sub\":[\"a\"]}"), MJA_ERR_BAD_SUB);
	assert_int_equal(check(&r, NOW, "{\"sub\":null}"), MJA_ERR_BAD_SUB);
	assert_int_equal(check(&r, NOW, "{}"), MJA_OK);
	/* sub comes last */
	assert_int_equal(check(&r, NOW, "{\"sub\":\"\",\"exp\":1}"), MJA_ERR_EXPIRED);
	assert_int_equal(mja_sub_valid(NULL, 0), 0);
}

/* A validly signed token's sub becomes the broker's username, which
 * Mosquitto writes unescaped into its log ("New client connected ...
 * u'...'"): a newline forges a log line, an ESC sequence drives the
 * terminal reading the log. C0 control bytes and DEL are refused. */
static void test_sub_control_bytes_refused(void **state)
{
	static const char forged[] = "dev1\n1700000000: New client connected as admin\x1b[31m";
	char one[2] = { 'a', 0 };

	assert_int_equal(check_sub(forged, sizeof(forged) - 1), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a\nb", 3), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a\rb", 3), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("\x1b[31m", 5), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a\tb", 3), MJA_ERR_BAD_SUB);
	assert_int_equal(check_sub("a\x7f", 2), MJA_ERR_BAD_SUB);
	for (int c = 0x01; c < 0x20; c++) {
		one[1] = (char)c;
		assert_int_equal(check_sub(one, 2), MJA_ERR_BAD_SUB);
	}
	/* the positive pair: printable ASCII, space and UTF-8 stay valid */
	assert_int_equal(check_sub("a b~!", 5), MJA_OK);
	assert_int_equal(check_sub("\xc2\xa0x", 3), MJA_OK); /* U+00A0 */
}

static void test_claims_exp(void **state)
{
	static const struct { const char *json; int has; int64_t exp; } v[] = {
		{ "{\"exp\":1700000000}", 1, 1700000000 },
		{ "{\"exp\":1.9}", 1, 2 },   /* rounded up: see test_regress_fractional_exp */
		{ "{\"exp\":-1.5}", 1, -1 },
		{ "{\"exp\":-1}", 1, -1 },
		{ "{\"exp\":1e300}", 1, INT64_MAX },
		{ "{\"exp\":-1e300}", 1, INT64_MIN },
		{ "{\"exp\":9.3e18}", 1, INT64_MAX },
		{ "{\"exp\":-9223372036854775808.0}", 1, INT64_MIN },
		{ "{\"exp\":9223372036854775807}", 1, INT64_MAX },
		{ "{\"exp\":\"1\"}", 0, 0 },
		{ "{\"exp\":null}", 0, 0 },
		{ "{}", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		json_t *p = json_loads(v[i].json, 0, NULL);
		int64_t exp = 42;

		assert_non_null(p);
		assert_int_equal(mja_claims_exp(p, &exp), v[i].has);
		if (v[i].has)
			assert_true(exp == v[i].exp);
		json_decref(p);
	}
}

/* Roles at path in the payload text, joined by ',' into out. */
static size_t roles(const char *json, const char *path, char *out, size_t outsz)
{
	json_t *p = json_loads(json, 0, NULL);
	char **r = (char **)1;
	size_t n = 99;

	assert_non_null(p);
	assert_int_equal(mja_claims_roles(p, path, &r, &n), MJA_OK);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strncat(out, ",", outsz - strlen(out) - 1);
		strncat(out, r[i], outsz - strlen(out) - 1);
	}
	if (n == 0)
		assert_null(r);
	mja_claims_roles_free(r, n);
	json_decref(p);
	return n;
}

/* The claims are found by one pass over the members (mja_json_pick): a
 * name matches only the exact key bytes, as json_object_get would; a key
 * that merely starts with "exp" (embedded NUL, longer, shorter) is some
 * other claim. */
static void test_pick_exact_names(void **state)
{
	static const char *const names[] = { "exp", "sub", "iss" };
	mja_claim_rules r = rules(0);
	const json_t *out[3];
	json_t *p = json_object();

	assert_non_null(p);
	assert_int_equal(json_object_setn_new(p, "exp\0x", 5, json_integer(1)), 0);
	assert_int_equal(json_object_set_new(p, "ex", json_integer(1)), 0);
	assert_int_equal(json_object_set_new(p, "expx", json_integer(1)), 0);
	assert_int_equal(json_object_set_new(p, "sub", json_string("dev1")), 0);
	mja_json_pick(p, names, 3, out);
	assert_null(out[0]);
	assert_ptr_equal(out[1], json_object_get(p, "sub"));
	assert_null(out[2]);
	/* none of the look-alikes is an expiry */
	assert_int_equal(mja_claims_check(p, &r, NOW), MJA_OK);
	assert_int_equal(json_object_set_new(p, "exp", json_integer(NOW - 1)), 0);
	mja_json_pick(p, names, 3, out);
	assert_ptr_equal(out[0], json_object_get(p, "exp"));
	assert_int_equal(mja_claims_check(p, &r, NOW), MJA_ERR_EXPIRED);
	json_decref(p);
	/* not an object: nothing */
	p = json_string("exp");
	out[0] = out[1] = out[2] = (const json_t *)p;
	mja_json_pick(p, names, 3, out);
	assert_null(out[0]);
	assert_null(out[1]);
	assert_null(out[2]);
	json_decref(p);
}

static void test_roles(void **state)
{
	char s[256];

	assert_int_equal(roles("{\"roles\":\"operator\"}", "roles", s, sizeof(s)), 1);
	assert_string_equal(s, "operator");
	assert_int_equal(roles("{\"roles\":[\"a\",1,null,[\"x\"],\"b\"]}", "roles", s, sizeof(s)), 2);
	assert_string_equal(s, "a,b");
	assert_int_equal(roles("{\"realm_access\":{\"roles\":[\"op\",\"dev\"]}}",
			"realm_access.roles", s, sizeof(s)), 2);
	assert_string_equal(s, "op,dev");
	assert_int_equal(roles("{\"a\":{\"b\":{\"c\":\"deep\"}}}", "a.b.c", s, sizeof(s)), 1);
	assert_string_equal(s, "deep");
	/* a dotted name is a path, not a member name */
	assert_int_equal(roles("{\"realm_access.roles\":[\"x\"]}", "realm_access.roles", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"roles\":[]}", "roles", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"roles\":[1,2]}", "roles", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"roles\":5}", "roles", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"roles\":{\"a\":\"b\"}}", "roles", s, sizeof(s)), 0);
	assert_int_equal(roles("{}", "roles", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"a\":[{\"b\":\"x\"}]}", "a.b", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"a\":\"x\"}", "a.b", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"a\":{\"\":{\"b\":\"x\"}}}", "a..b", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"roles\":\"x\"}", "", s, sizeof(s)), 0);
	assert_int_equal(roles("{\"roles\":\"x\"}", NULL, s, sizeof(s)), 0);
	/* "operator\0x" must not become "operator" */
	{
		json_t *p = json_pack("{s:[s%,s]}", "roles", "operator\0x", (size_t)10, "ok");
		char **r;
		size_t n;

		assert_non_null(p);
		assert_int_equal(mja_claims_roles(p, "roles", &r, &n), MJA_OK);
		assert_int_equal(n, 1);
		assert_string_equal(r[0], "ok");
		mja_claims_roles_free(r, n);
		json_decref(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric_date_types),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_exp_boundary),
		cmocka_unit_test(test_exp_extremes),
		cmocka_unit_test(test_nbf_iat),
		cmocka_unit_test(test_issuer),
		cmocka_unit_test(test_audience),
		cmocka_unit_test(test_max_token_age),
		cmocka_unit_test(test_sub),
		cmocka_unit_test(test_sub_control_bytes_refused),
		cmocka_unit_test(test_claims_exp),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_pick_exact_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
