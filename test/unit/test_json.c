/* test_json.c - a token's JSON objects (json.h): jansson's rules, and the
 * subset parser that reads the usual claims without it.
 *
 * The attacker's question is a parser differential (RFC 8725 3.6): can a
 * text be read one way by the fast path and another by jansson, or be
 * accepted by one and refused by the other? Every vector is run through
 * the loader, the subset parser alone and json_loadb; fuzz/fuzz_json.c asks
 * the same of random inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mja/token/json.h"

enum { REFUSED, JANSSON, FAST };   /* refused; accepted by jansson after a punt; by the fast path */

struct vec {
	const char *text;
	int want;
};

#define LEN(t) (sizeof(t) - 1)

static void check(const char *text, size_t n, int want, int max_depth)
{
	const unsigned char *p = (const unsigned char *)text;
	json_t *all = mja_json_load_object(p, n, max_depth);
	json_t *fast = mja_json__fast_object(p, n, max_depth);
	json_error_t err;
	json_t *ref = json_loadb(text, n, JSON_REJECT_DUPLICATES, &err);

	if ((want == REFUSED) != (all == NULL))
		fail_msg("%s: loader %s", text, all ? "accepted" : "refused");
	if ((want == FAST) != (fast != NULL))
		fail_msg("%s: fast path %s", text, fast ? "accepted" : "punted");
	if (all)
		assert_true(ref && json_equal(all, ref));
	if (fast)
		assert_true(ref && json_equal(fast, ref));
	json_decref(all);
	json_decref(fast);
	json_decref(ref);
}

static void vectors(void **state)
{
	static const struct vec v[] = {
		/* the usual claims: no jansson */
		{ "{\"sub\":\"dev-1\",\"aud\":\"a.example\",\"iat\":1700000000,\"exp\":1700003600}", FAST },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", FAST },
		{ " \t\r\n{ \"a\" : [ 1 , -2 , true , false , null , { } , [ ] ] } \n", FAST },
		{ "{\"roles\":[\"a\",\"b\"],\"acl\":{\"pub\":[\"t/#\"],\"sub\":[]}}", FAST },
		{ "{\"iss\":\"https:\\/\\/id.example\\/\",\"s\":\"\\\"\\\\\\b\\f\\n\\r\\t\"}", FAST },
		{ "{\"sub\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"\xe6\x97\xa5\":\"\x7f\"}", FAST },
		{ "{\"n\":-0,\"m\":999999999999999999,\"k\":-999999999999999999}", FAST },
		{ "{}", FAST },
		/* jansson's after the fast path punts */
		{ "{\"iat\":1.5}", JANSSON },
		{ "{\"exp\":1e300}", JANSSON },
		{ "{\"exp\":9223372036854775807}", JANSSON },
		{ "{\"s\":\"\\u00e9\\ud83d\\ude00\"}", JANSSON },
		/* refused, as jansson refuses */
		{ "{\"sub\":\"me\",\"sub\":\"admin\"}", REFUSED },   /* RFC 7519 4 */
		{ "{\"a\":{\"x\":1,\"x\":2}}", REFUSED },
		{ "{\"exp\":9223372036854775808}", REFUSED },       /* out of int64 */
		{ "{\"exp\":01}", REFUSED },
		{ "{\"exp\":-}", REFUSED },
		{ "{\"exp\":+1}", REFUSED },
		{ "{\"s\":\"\\u0000\"}", REFUSED },                   /* embedded NUL */
		{ "{\"s\":\"\\ud800\"}", REFUSED },                   /* lone surrogate */
		{ "{\"s\":\"\\x\"}", REFUSED },
		{ "{\"s\":\"a\x01\"}", REFUSED },                     /* raw control byte */
		{ "{\"s\":\"\xc3\x28\"}", REFUSED },                  /* invalid UTF-8 */
		{ "{\"s\":\"\xc0\xaf\"}", REFUSED },                  /* overlong */
		{ "{\"s\":\"\xed\xa0\x80\"}", REFUSED },              /* surrogate */
		{ "{\"s\":\"\xf4\x90\x80\x80\"}", REFUSED },          /* above U+10FFFF */
		{ "{\"a\":1} x", REFUSED },                           /* trailing bytes */
		{ "{\"a\":1}{}", REFUSED },
		{ "{\"a\":truex}", REFUSED },
		{ "{\"a\":1,}", REFUSED },
		{ "{\"a\" 1}", REFUSED },
		{ "{a:1}", REFUSED },
		{ "[1]", REFUSED },                                  /* not an object */
		{ "\"s\"", REFUSED },
		{ "", REFUSED },
		{ "{\"a\":\"open", REFUSED },
		{ "{\"a\":[1,2}", REFUSED },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check(v[i].text, strlen(v[i].text), v[i].want, 4);
}

/* Bytes after an embedded NUL are seen: the length, not the NUL, ends the text. */
static void embedded_nul(void **state)
{
	static const char a[] = "{\"a\":1}\0", b[] = "{\"a\":\"x\0y\"}";

	check(a, LEN(a), REFUSED, 4);
	check(b, LEN(b), REFUSED, 4);
}

/* The nesting limit holds on both paths: at the limit accepted, past it
 * refused (also where only jansson could read the text). */
static void depth(void **state)
{
	static const char four[] = "{\"a\":{\"b\":[{\"c\":1}]}}";
	static const char five[] = "{\"a\":{\"b\":[{\"c\":[1]}]}}";
	static const char five_real[] = "{\"a\":{\"b\":[{\"c\":[1.5]}]}}";

	check(four, LEN(four), FAST, 4);
	check(five, LEN(five), REFUSED, 4);
	check(five_real, LEN(five_real), REFUSED, 4);
	check(five, LEN(five), FAST, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vectors),
		cmocka_unit_test(embedded_nul),
		cmocka_unit_test(depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
