/* test_aclclaim.c - topic rules carried in the token (include/mja/topic/aclclaim.h):
 * the compiler (every malformed case, word for word), both formats row by
 * row, placeholders and unusable values, "eq", first match and deny first,
 * qos and retain, subscribe cover with deny overlaps enforced per delivery,
 * '$' topics, and the limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mja/topic/aclclaim.h"

#define R MJA_ACCESS_READ
#define W MJA_ACCESS_WRITE
#define S MJA_ACCESS_SUBSCRIBE
#define U MJA_ACCESS_UNSUBSCRIBE
#define ALLOW MJA_ACLCLAIM_ALLOW
#define DENY MJA_ACLCLAIM_DENY
#define NOMATCH MJA_ACLCLAIM_NOMATCH

static mja_aclclaim *compile(const char *json)
{
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	mja_diag d = { 0 };
	mja_aclclaim *c = NULL;
	mja_err e;

	if (!v)
		fail_msg("test JSON does not parse: %s: %s", json, jerr.text);
	e = mja_aclclaim_compile(v, &c, &d);
	json_decref(v);
	if (e != MJA_OK)
		fail_msg("compile failed: %s", d.text);
	assert_non_null(c);
	return c;
}

/* The diagnostic of a claim that must be refused, in a static buffer. */
static const char *compile_error(const char *json)
{
	static mja_diag d;
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	mja_aclclaim *c = (mja_aclclaim *)&d;   /* must be reset to NULL */
	mja_err e;

	if (!v)
		fail_msg("test JSON does not parse: %s: %s", json, jerr.text);
	mja_diag_clear(&d);
	e = mja_aclclaim_compile(v, &c, &d);
	json_decref(v);
	if (e != MJA_ERR_BAD_ACL_CLAIM)
		fail_msg("claim %s: expected bad acl claim, got %s", json, mja_strerror(e));
	assert_null(c);
	return d.text;
}

static const mja_acl_who dev1 = { "dev1", "client-1", "alice", NULL, 0 };

static int chk_q(const mja_aclclaim *c, const mja_acl_who *w, int access, const char *topic,
		int qos, int retain)
{
	return mja_aclclaim_check(c, w, topic, strlen(topic), access, qos, retain);
}

static int chk(const mja_aclclaim *c, int access, const char *topic)
{
	return chk_q(c, &dev1, access, topic, 0, 0);
}

/* ---------------------------------------------------------------- compiler */

static void test_malformed(void **state)
{
	static const struct {
		const char *claim;
		const char *error;
	} cases[] = {
		/* wrong type of the claim */
		{ "\"pub\"", "neither an object (pub, sub, all) nor an array of rules" },
		{ "null", "neither an object (pub, sub, all) nor an array of rules" },
		{ "true", "neither an object (pub, sub, all) nor an array of rules" },
		{ "3", "neither an object (pub, sub, all) nor an array of rules" },
		/* object format */
		{ "{\"pub\":[\"a\"],\"publish\":[\"b\"]}",
			"the object has a member other than \"pub\", \"sub\" and \"all\"" },
		{ "{\"pub\":\"a/b\"}", "\"pub\" is not an array of topic filters" },
		{ "{\"sub\":{}}", "\"sub\" is not an array of topic filters" },
		{ "{\"all\":[\"a\",1]}", "all[2] is not a string" },
		{ "{\"sub\":[\"a/#/b\"]}", "sub[1]: not a valid topic filter" },
		{ "{\"pub\":[\"\"]}", "pub[1]: not a valid topic filter" },
		{ "{\"pub\":[\"a+\"]}", "pub[1]: not a valid topic filter" },
		{ "{\"pub\":[\"a\\u0000b\"]}", "pub[1] holds a NUL character" },
		{ "{\"pub\":[\"d/${peerhost}\"]}",
			"pub[1]: unknown placeholder (${clientid}, ${username} and ${sub} only)" },
		{ "{\"pub\":[\"d/${clientid\"]}",
			"pub[1]: unknown placeholder (${clientid}, ${username} and ${sub} only)" },
		{ "{\"pub\":[\"eq \"]}", "pub[1]: not a valid topic filter after \"eq \"" },
		{ "{\"pub\":[\"eq a/#/b\"]}", "pub[1]: not a valid topic filter after \"eq \"" },
		/* array format */
		{ "[\"a\"]", "rule 1: not an object" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\"},[]]",
			"rule 2: not an object" },
		{ "[{\"action\":\"all\",\"topic\":\"a\"}]", "rule 1: no \"permission\"" },
		{ "[{\"permission\":\"Allow\",\"action\":\"all\",\"topic\":\"a\"}]",
			"rule 1: \"permission\" is not \"allow\" or \"deny\"" },
		{ "[{\"permission\":true,\"action\":\"all\",\"topic\":\"a\"}]",
			"rule 1: \"permission\" is not \"allow\" or \"deny\"" },
		{ "[{\"permission\":\"allow\",\"topic\":\"a\"}]", "rule 1: no \"action\"" },
		{ "[{\"permission\":\"allow\",\"action\":\"read\",\"topic\":\"a\"}]",
			"rule 1: \"action\" is not \"publish\", \"subscribe\" or \"all\" (or \"pub\", \"sub\")" },
		{ "[{\"permission\":\"allow\",\"action\":[\"pub\"],\"topic\":\"a\"}]",
			"rule 1: \"action\" is not \"publish\", \"subscribe\" or \"all\" (or \"pub\", \"sub\")" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\"}]", "rule 1: no \"topic\" or \"topics\"" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"topics\":[\"b\"]}]",
			"rule 1: both \"topic\" and \"topics\"" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":[\"a\"]}]",
			"rule 1: \"topic\" is not a string" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topics\":\"a\"}]",
			"rule 1: \"topics\" is not an array of topic filters" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topics\":[]}]",
			"rule 1: \"topics\" is an empty list" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topics\":[\"a\",\"b/#/c\"]}]",
			"rule 1: topics[2]: not a valid topic filter" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"#/a\"}]",
			"rule 1: \"topic\": not a valid topic filter" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"qos\":3}]",
			"rule 1: \"qos\" 3 is outside 0-2" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"qos\":-1}]",
			"rule 1: \"qos\" -1 is outside 0-2" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"qos\":[0,7]}]",
			"rule 1: \"qos\"[2] 7 is outside 0-2" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"qos\":1.0}]",
			"rule 1: \"qos\" is not 0, 1, 2 or a list of them" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"qos\":\"1\"}]",
			"rule 1: \"qos\" is not 0, 1, 2 or a list of them" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"qos\":[1,\"2\"]}]",
			"rule 1: \"qos\"[2] is not a whole number" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"qos\":[]}]",
			"rule 1: \"qos\" is an empty list" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"retain\":1}]",
			"rule 1: \"retain\" is not true, false or \"all\"" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"retain\":\"yes\"}]",
			"rule 1: \"retain\" is not true, false or \"all\"" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\",\"who\":\"x\"}]",
			"rule 1: a member other than permission, action, topic, topics, qos, retain" },
		{ "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a/${x}\"}]",
			"rule 1: \"topic\": unknown placeholder (${clientid}, ${username} and ${sub} only)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = compile_error(cases[i].claim);

		if (strcmp(got, cases[i].error) != 0)
			fail_msg("claim %s:\n got  \"%s\"\n want \"%s\"", cases[i].claim, got,
					cases[i].error);
	}
}

/* 1,000 rules or filters are fine, one more is refused. */
static void test_limits(void **state)
{
	static const char rule[] = "{\"permission\":\"allow\",\"action\":\"pub\",\"topic\":\"t/x\"},";
	size_t cap = 1100 * sizeof(rule) + 64, len;
	char *buf = malloc(cap);
	mja_aclclaim *c;

	assert_non_null(buf);
	len = 0;
	buf[len++] = '[';
	for (int i = 0; i < MJA_ACLCLAIM_MAX_RULES; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s", rule);
	buf[len - 1] = ']';
	buf[len] = '\0';
	c = compile(buf);
	assert_int_equal(mja_aclclaim_rule_count(c), MJA_ACLCLAIM_MAX_RULES);
	assert_int_equal(mja_aclclaim_format(c), 2);
	mja_aclclaim_free(c);
	/* 1,001 rules */
	buf[len - 1] = ',';
	len += (size_t)snprintf(buf + len, cap - len, "%s", rule);
	buf[len - 1] = ']';
	buf[len] = '\0';
	assert_string_equal(compile_error(buf), "1001 rules, more than 1000");

	/* 1,001 filters in one rule, and in the object format */
	len = (size_t)snprintf(buf, cap, "[{\"permission\":\"deny\",\"action\":\"all\",\"topics\":[");
	for (int i = 0; i <= MJA_ACLCLAIM_MAX_FILTERS; i++)
		len += (size_t)snprintf(buf + len, cap - len, "\"f/%d\",", i);
	snprintf(buf + len - 1, cap - len + 1, "]}]");
	assert_string_equal(compile_error(buf), "rule 1: more than 1000 topic filters");
	len = (size_t)snprintf(buf, cap, "{\"pub\":[");
	for (int i = 0; i < MJA_ACLCLAIM_MAX_FILTERS; i++)
		len += (size_t)snprintf(buf + len, cap - len, "\"f/%d\",", i);
	snprintf(buf + len - 1, cap - len + 1, "],\"sub\":[\"x\"]}");
	assert_string_equal(compile_error(buf), "more than 1000 topic filters");
	free(buf);
}

static void test_counts(void **state)
{
	mja_aclclaim *c = compile("{\"pub\":[\"a\",\"b\"],\"all\":[\"c\"]}");

	assert_int_equal(mja_aclclaim_format(c), 1);
	assert_int_equal(mja_aclclaim_rule_count(c), 3);
	mja_aclclaim_free(c);
	c = compile("[]");
	assert_int_equal(mja_aclclaim_format(c), 2);
	assert_int_equal(mja_aclclaim_rule_count(c), 0);
	assert_int_equal(chk(c, W, "a"), NOMATCH);
	assert_int_equal(chk(c, U, "a"), ALLOW);
	mja_aclclaim_free(c);
	c = compile("{}");
	assert_int_equal(chk(c, W, "a"), DENY);
	assert_int_equal(chk(c, R, "a"), DENY);
	assert_int_equal(chk(c, S, "a"), DENY);
	assert_int_equal(chk(c, U, "a"), ALLOW);
	mja_aclclaim_free(c);
	assert_int_equal(mja_aclclaim_format(NULL), 0);
	assert_int_equal(mja_aclclaim_rule_count(NULL), 0);
	mja_aclclaim_free(NULL);
}

/* ---------------------------------------------------------------- object format */

static void test_object_format(void **state)
{
	mja_aclclaim *c = compile("{\"pub\":[\"p/#\"],\"sub\":[\"s/+/x\"],\"all\":[\"a/${clientid}/#\"]}");

	/* pub: publish only */
	assert_int_equal(chk(c, W, "p/1"), ALLOW);
	assert_int_equal(chk(c, S, "p/1"), DENY);
	assert_int_equal(chk(c, R, "p/1"), DENY);
	/* sub: subscribe and deliveries only */
	assert_int_equal(chk(c, W, "s/1/x"), DENY);
	assert_int_equal(chk(c, S, "s/1/x"), ALLOW);
	assert_int_equal(chk(c, S, "s/+/x"), ALLOW);
	assert_int_equal(chk(c, S, "s/#"), DENY);        /* not covered */
	assert_int_equal(chk(c, R, "s/1/x"), ALLOW);
	/* all: both */
	assert_int_equal(chk(c, W, "a/client-1/t"), ALLOW);
	assert_int_equal(chk(c, S, "a/client-1/#"), ALLOW);
	assert_int_equal(chk(c, R, "a/client-1/t"), ALLOW);
	assert_int_equal(chk(c, W, "a/client-2/t"), DENY);
	/* nothing matches: deny, never "no match" (the ACL file is not asked) */
	assert_int_equal(chk(c, W, "elsewhere"), DENY);
	assert_int_equal(chk(c, S, "elsewhere/#"), DENY);
	assert_int_equal(chk(c, R, "elsewhere"), DENY);
	assert_int_equal(chk(c, U, "elsewhere"), ALLOW);
	/* the object format has no qos or retain conditions */
	assert_int_equal(chk_q(c, &dev1, W, "p/1", 2, 1), ALLOW);
	assert_int_equal(chk_q(c, &dev1, S, "s/1/x", 2, 0), ALLOW);
	mja_aclclaim_free(c);
}

/* ---------------------------------------------------------------- array format */

static void test_actions_and_aliases(void **state)
{
	static const struct {
		const char *action;
		int pub, sub;
	} rows[] = {
		{ "publish", 1, 0 }, { "pub", 1, 0 },
		{ "subscribe", 0, 1 }, { "sub", 0, 1 },
		{ "all", 1, 1 },
	};
	char json[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (int allow = 0; allow <= 1; allow++) {
			mja_aclclaim *c;
			int yes = allow ? ALLOW : DENY;

			snprintf(json, sizeof(json), "[{\"permission\":\"%s\",\"action\":\"%s\","
					"\"topic\":\"t/#\"}]", allow ? "allow" : "deny", rows[i].action);
			c = compile(json);
			assert_int_equal(chk(c, W, "t/1"), rows[i].pub ? yes : NOMATCH);
			assert_int_equal(chk(c, S, "t/1"), rows[i].sub ? yes : NOMATCH);
			assert_int_equal(chk(c, S, "t/#"), rows[i].sub ? yes : NOMATCH);
			assert_int_equal(chk(c, R, "t/1"), rows[i].sub ? yes : NOMATCH);
			assert_int_equal(chk(c, W, "u/1"), NOMATCH);
			assert_int_equal(chk(c, U, "t/1"), ALLOW);
			mja_aclclaim_free(c);
		}
	}
}

static void test_topic_and_topics(void **state)
{
	mja_aclclaim *c = compile("[{\"permission\":\"allow\",\"action\":\"pub\",\"topic\":\"one\"},"
			"{\"permission\":\"allow\",\"action\":\"pub\",\"topics\":[\"two\",\"three/+\"]}]");

	assert_int_equal(chk(c, W, "one"), ALLOW);
	assert_int_equal(chk(c, W, "two"), ALLOW);
	assert_int_equal(chk(c, W, "three/x"), ALLOW);
	assert_int_equal(chk(c, W, "three"), NOMATCH);
	mja_aclclaim_free(c);
}

/* First match wins: a deny before an allow denies, after it does not. */
static void test_first_match(void **state)
{
	mja_aclclaim *c = compile("["
			"{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"d/secret\"},"
			"{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"d/#\"},"
			"{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"d/late\"}]");

	assert_int_equal(chk(c, W, "d/secret"), DENY);
	assert_int_equal(chk(c, R, "d/secret"), DENY);
	assert_int_equal(chk(c, S, "d/secret"), DENY);
	assert_int_equal(chk(c, W, "d/late"), ALLOW);    /* the allow came first */
	assert_int_equal(chk(c, W, "d/x"), ALLOW);
	assert_int_equal(chk(c, W, "e/x"), NOMATCH);
	/* a deny that only overlaps a subscription does not refuse it; the
	 * delivery of what it covers is denied */
	assert_int_equal(chk(c, S, "d/#"), ALLOW);
	assert_int_equal(chk(c, S, "d/+"), ALLOW);
	assert_int_equal(chk(c, R, "d/other"), ALLOW);
	assert_int_equal(chk(c, R, "d/secret"), DENY);
	/* $share: the rules apply to the filter */
	assert_int_equal(chk(c, S, "$share/g/d/#"), ALLOW);
	assert_int_equal(chk(c, S, "$share/g/d/secret"), DENY);
	assert_int_equal(chk(c, S, "$share//d/#"), DENY);
	mja_aclclaim_free(c);

	/* a deny covering the whole filter refuses the subscription */
	c = compile("[{\"permission\":\"deny\",\"action\":\"sub\",\"topic\":\"d/#\"},"
			"{\"permission\":\"allow\",\"action\":\"sub\",\"topic\":\"#\"}]");
	assert_int_equal(chk(c, S, "d/+/x"), DENY);
	assert_int_equal(chk(c, S, "d/#"), DENY);
	assert_int_equal(chk(c, S, "#"), ALLOW);         /* overlap only */
	assert_int_equal(chk(c, R, "d/x"), DENY);
	assert_int_equal(chk(c, R, "e/x"), ALLOW);
	mja_aclclaim_free(c);

	/* an allow must cover the whole filter */
	c = compile("[{\"permission\":\"allow\",\"action\":\"sub\",\"topic\":\"s/+/data\"}]");
	assert_int_equal(chk(c, S, "s/x/data"), ALLOW);
	assert_int_equal(chk(c, S, "s/+/data"), ALLOW);
	assert_int_equal(chk(c, S, "s/#"), NOMATCH);
	assert_int_equal(chk(c, S, "#"), NOMATCH);
	assert_int_equal(chk(c, S, "s/x/#"), NOMATCH);
	/* malformed filters and topics */
	assert_int_equal(chk(c, S, "s/x+/data"), DENY);
	assert_int_equal(chk(c, W, "s/+/data"), DENY);
	assert_int_equal(chk(c, R, "s/#"), DENY);
	assert_int_equal(chk(c, W, ""), DENY);
	mja_aclclaim_free(c);
}

static void test_qos(void **state)
{
	mja_aclclaim *c = compile("["
			"{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"q/#\",\"qos\":2},"
			"{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"q/#\",\"qos\":[0,1]},"
			"{\"permission\":\"allow\",\"action\":\"pub\",\"topic\":\"one/#\",\"qos\":[1]}]");

	for (int q = 0; q <= 2; q++) {
		assert_int_equal(chk_q(c, &dev1, W, "q/x", q, 0), q == 2 ? DENY : ALLOW);
		assert_int_equal(chk_q(c, &dev1, S, "q/#", q, 0), q == 2 ? DENY : ALLOW);
		assert_int_equal(chk_q(c, &dev1, W, "one/x", q, 0), q == 1 ? ALLOW : NOMATCH);
	}
	/* a QoS outside 0-2 is never allowed */
	assert_int_equal(chk_q(c, &dev1, W, "q/x", 3, 0), DENY);
	assert_int_equal(chk_q(c, &dev1, S, "q/x", -1, 0), DENY);
	/* deliveries: allowed when a subscription at some QoS would be; the
	 * qos [2] deny does not stop what QoS 0 and 1 may receive */
	for (int q = 0; q <= 2; q++)
		assert_int_equal(chk_q(c, &dev1, R, "q/x", q, 0), ALLOW);
	mja_aclclaim_free(c);

	/* deny every QoS in pieces: the delivery is denied */
	c = compile("["
			"{\"permission\":\"deny\",\"action\":\"sub\",\"topic\":\"q/#\",\"qos\":[0,2]},"
			"{\"permission\":\"deny\",\"action\":\"sub\",\"topic\":\"q/x\",\"qos\":1},"
			"{\"permission\":\"allow\",\"action\":\"sub\",\"topic\":\"#\"}]");
	assert_int_equal(chk(c, R, "q/x"), DENY);
	assert_int_equal(chk(c, R, "q/y"), ALLOW);       /* QoS 1 is still open */
	assert_int_equal(chk_q(c, &dev1, S, "q/y", 1, 0), ALLOW);
	assert_int_equal(chk_q(c, &dev1, S, "q/y", 2, 0), DENY);
	mja_aclclaim_free(c);

	/* some QoS denied, the rest unmatched: the ACL file decides */
	c = compile("[{\"permission\":\"deny\",\"action\":\"sub\",\"topic\":\"q/#\",\"qos\":[0]}]");
	assert_int_equal(chk(c, R, "q/x"), NOMATCH);
	assert_int_equal(chk_q(c, &dev1, S, "q/x", 0, 0), DENY);
	assert_int_equal(chk_q(c, &dev1, S, "q/x", 1, 0), NOMATCH);
	mja_aclclaim_free(c);
}

static void test_retain(void **state)
{
	mja_aclclaim *c = compile("["
			"{\"permission\":\"deny\",\"action\":\"pub\",\"topic\":\"r/no\",\"retain\":true},"
			"{\"permission\":\"allow\",\"action\":\"pub\",\"topic\":\"r/only\",\"retain\":true},"
			"{\"permission\":\"allow\",\"action\":\"pub\",\"topic\":\"r/never\",\"retain\":false},"
			"{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"r/#\",\"retain\":\"all\"}]");

	assert_int_equal(chk_q(c, &dev1, W, "r/no", 0, 1), DENY);
	assert_int_equal(chk_q(c, &dev1, W, "r/no", 0, 0), ALLOW);
	assert_int_equal(chk_q(c, &dev1, W, "r/only", 0, 1), ALLOW);
	assert_int_equal(chk_q(c, &dev1, W, "r/only", 0, 0), ALLOW);   /* by the last rule */
	assert_int_equal(chk_q(c, &dev1, W, "r/never", 0, 0), ALLOW);
	assert_int_equal(chk_q(c, &dev1, W, "r/x", 0, 1), ALLOW);
	mja_aclclaim_free(c);

	c = compile("[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"r/#\",\"retain\":false}]");
	assert_int_equal(chk_q(c, &dev1, W, "r/x", 0, 1), NOMATCH);
	assert_int_equal(chk_q(c, &dev1, W, "r/x", 0, 0), ALLOW);
	/* retain restricts publishes only */
	assert_int_equal(chk_q(c, &dev1, S, "r/#", 0, 1), ALLOW);
	assert_int_equal(chk_q(c, &dev1, R, "r/x", 0, 1), ALLOW);
	mja_aclclaim_free(c);
}

/* ---------------------------------------------------------------- placeholders */

static void test_placeholders(void **state)
{
	mja_aclclaim *c = compile("[{\"permission\":\"allow\",\"action\":\"all\",\"topics\":["
			"\"c/${clientid}/#\",\"u/${username}\",\"s/${sub}/+\",\"m/pre-${clientid}-${sub}/x\","
			"\"$${clientid}\"]}]");
	mja_acl_who w = dev1;

	assert_int_equal(chk(c, W, "c/client-1/x"), ALLOW);
	assert_int_equal(chk(c, W, "c/client-2/x"), NOMATCH);
	assert_int_equal(chk(c, W, "u/alice"), ALLOW);
	assert_int_equal(chk(c, W, "u/bob"), NOMATCH);
	assert_int_equal(chk(c, W, "s/dev1/y"), ALLOW);
	assert_int_equal(chk(c, S, "s/dev1/+"), ALLOW);
	assert_int_equal(chk(c, W, "m/pre-client-1-dev1/x"), ALLOW);
	assert_int_equal(chk(c, W, "m/pre-client-1-dev2/x"), NOMATCH);
	/* the placeholder text itself is not a literal */
	assert_int_equal(chk(c, W, "c/${clientid}/x"), NOMATCH);
	/* a literal '$' before a placeholder */
	assert_int_equal(chk(c, W, "$client-1"), ALLOW);

	/* unusable values: the allow filters using them match nothing */
	static const char *const bad[] = { NULL, "", "a/b", "+", "#", "x+y" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w.clientid = bad[i];
		w.username = bad[i];
		assert_int_equal(chk_q(c, &w, W, "c/+/x", 0, 0), DENY);   /* not a topic */
		assert_int_equal(chk_q(c, &w, S, "c/+/#", 0, 0), NOMATCH);
		assert_int_equal(chk_q(c, &w, S, "c/#", 0, 0), NOMATCH);
		assert_int_equal(chk_q(c, &w, W, "c/a/b/x", 0, 0), NOMATCH);
		assert_int_equal(chk_q(c, &w, W, "c//x", 0, 0), NOMATCH);
		assert_int_equal(chk_q(c, &w, W, "u/", 0, 0), NOMATCH);
		assert_int_equal(chk_q(c, &w, W, "m/pre--dev1/x", 0, 0), NOMATCH);
		/* the other placeholders still work */
		assert_int_equal(chk_q(c, &w, W, "s/dev1/y", 0, 0), ALLOW);
	}
	mja_aclclaim_free(c);
}

/* The attacker's case: a client id or username chosen to be unusable must
 * not dodge a deny; the deny then holds for any value at that level. */
static void test_deny_placeholder_fails_closed(void **state)
{
	mja_aclclaim *c = compile("["
			"{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"${clientid}/secret\"},"
			"{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"#\"}]");
	mja_acl_who w = dev1;
	static const char *const bad[] = { NULL, "", "+", "#", "a/b" };

	assert_int_equal(chk(c, R, "client-1/secret"), DENY);
	assert_int_equal(chk(c, R, "other/secret"), ALLOW);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w.clientid = bad[i];
		assert_int_equal(chk_q(c, &w, R, "client-1/secret", 0, 0), DENY);
		assert_int_equal(chk_q(c, &w, W, "anyone/secret", 0, 0), DENY);
		assert_int_equal(chk_q(c, &w, S, "+/secret", 0, 0), DENY);
		assert_int_equal(chk_q(c, &w, R, "anyone/public", 0, 0), ALLOW);
	}
	mja_aclclaim_free(c);
}

/* ---------------------------------------------------------------- eq */

static void test_eq(void **state)
{
	mja_aclclaim *c = compile("["
			"{\"permission\":\"deny\",\"action\":\"sub\",\"topic\":\"eq f/#\"},"
			"{\"permission\":\"allow\",\"action\":\"sub\",\"topic\":\"eq t/+/x\"},"
			"{\"permission\":\"allow\",\"action\":\"pub\",\"topic\":\"eq p/${clientid}\"},"
			"{\"permission\":\"allow\",\"action\":\"sub\",\"topic\":\"f/#\"}]");

	/* subscribe: exactly that filter, wildcards are not wildcards */
	assert_int_equal(chk(c, S, "t/+/x"), ALLOW);
	assert_int_equal(chk(c, S, "t/a/x"), NOMATCH);
	assert_int_equal(chk(c, S, "$share/g/t/+/x"), ALLOW);
	/* a delivery on that subscription is allowed */
	assert_int_equal(chk(c, R, "t/a/x"), ALLOW);
	assert_int_equal(chk(c, R, "t/a/y"), NOMATCH);
	/* no placeholders in eq */
	assert_int_equal(chk(c, W, "p/client-1"), NOMATCH);
	assert_int_equal(chk(c, W, "p/${clientid}"), ALLOW);
	/* a deny eq refuses exactly that subscription, not narrower ones,
	 * and not their deliveries */
	assert_int_equal(chk(c, S, "f/#"), DENY);
	assert_int_equal(chk(c, S, "f/+"), ALLOW);
	assert_int_equal(chk(c, R, "f/a"), ALLOW);
	mja_aclclaim_free(c);
}

/* ---------------------------------------------------------------- $ topics */

static void test_dollar(void **state)
{
	mja_aclclaim *c = compile("{\"all\":[\"#\",\"+/x\",\"${clientid}/#\"]}");
	mja_acl_who w = dev1;

	assert_int_equal(chk(c, R, "$SYS/broker/load"), DENY);
	assert_int_equal(chk(c, S, "$SYS/#"), DENY);
	assert_int_equal(chk(c, W, "$SYS/x"), DENY);
	/* a client id "$SYS" does not turn "${clientid}/#" into "$SYS/#" */
	w.clientid = "$SYS";
	assert_int_equal(chk_q(c, &w, R, "$SYS/broker/load", 0, 0), DENY);
	assert_int_equal(chk_q(c, &w, S, "$SYS/#", 0, 0), DENY);
	mja_aclclaim_free(c);

	c = compile("[{\"permission\":\"allow\",\"action\":\"sub\",\"topic\":\"$SYS/broker/#\"}]");
	assert_int_equal(chk(c, S, "$SYS/broker/+"), ALLOW);
	assert_int_equal(chk(c, R, "$SYS/broker/load"), ALLOW);
	assert_int_equal(chk(c, R, "$SYS/other"), NOMATCH);
	mja_aclclaim_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_object_format),
		cmocka_unit_test(test_actions_and_aliases),
		cmocka_unit_test(test_topic_and_topics),
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_qos),
		cmocka_unit_test(test_retain),
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_deny_placeholder_fails_closed),
		cmocka_unit_test(test_eq),
		cmocka_unit_test(test_dollar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
