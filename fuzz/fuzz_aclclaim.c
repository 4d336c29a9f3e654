/* fuzz_aclclaim.c - the acl claim compiler and its decisions:
 * mja_aclclaim_compile() on a JSON value, then mja_aclclaim_check() calls.
 *
 * Input: the claim's JSON text (any JSON value, parsed as the token's
 * payload is: duplicate names refused), optionally followed by "\0\0" and
 * NUL-separated fields: sub, client id, username, then topics to check.
 * Without them a fixed set of identities (including ones whose values are
 * unusable in a topic) and topics is used.
 *
 * Invariants (include/mja/topic/aclclaim.h): compiling is all-or-nothing, a
 * refusal is "bad acl claim" with a diagnostic; decisions are allow, deny
 * or (array format only) no match; UNSUBSCRIBE is allowed; a QoS outside
 * 0-2 is denied; an invalid topic is never published or delivered, an
 * invalid filter never subscribed; and for a plain topic a delivery is
 * allowed if a subscription to exactly that topic is allowed at some QoS,
 * and denied only if that subscription is denied at every QoS.
 */
#define _GNU_SOURCE  /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "mja/topic/aclclaim.h"
#include "mja/topic/topic.h"
#include "fuzz_common.h"

#define MAX_FIELDS 12

static const char *const default_topics[] = {
	"devices/device-1/t", "devices/+/telemetry", "devices/#", "#", "$SYS/broker/load",
	"$share/g/devices/device-1/x", "secrets/a", "a/b", "a/#/b", "", "c/user/x",
	"in/device-1", "$device-1/x", "+/+",
};

static int valid_result(const mja_aclclaim *c, int r)
{
	if (r == MJA_ACLCLAIM_NOMATCH)
		return mja_aclclaim_format(c) == 2;
	return r == MJA_ACLCLAIM_ALLOW || r == MJA_ACLCLAIM_DENY;
}

static void check_topic(const mja_aclclaim *c, const mja_acl_who *who, const char *t, size_t len)
{
	int read = mja_aclclaim_check(c, who, t, len, MJA_ACCESS_READ, 0, 0);
	int sub[3], any_allow = 0, all_deny = 1;

	FUZZ_ASSERT(valid_result(c, read));
	for (int q = 0; q < 3; q++) {
		int w0 = mja_aclclaim_check(c, who, t, len, MJA_ACCESS_WRITE, q, 0);
		int w1 = mja_aclclaim_check(c, who, t, len, MJA_ACCESS_WRITE, q, 1);

		sub[q] = mja_aclclaim_check(c, who, t, len, MJA_ACCESS_SUBSCRIBE, q, 0);
		FUZZ_ASSERT(valid_result(c, w0) && valid_result(c, w1) && valid_result(c, sub[q]));
		if (!mja_topic_valid(t, len))
			FUZZ_ASSERT(w0 == MJA_ACLCLAIM_DENY && w1 == MJA_ACLCLAIM_DENY);
		if (!mja_filter_valid(t, len))
			FUZZ_ASSERT(sub[q] == MJA_ACLCLAIM_DENY);
		any_allow |= sub[q] == MJA_ACLCLAIM_ALLOW;
		all_deny &= sub[q] == MJA_ACLCLAIM_DENY;
	}
	FUZZ_ASSERT(mja_aclclaim_check(c, who, t, len, MJA_ACCESS_UNSUBSCRIBE, 0, 0) ==
			MJA_ACLCLAIM_ALLOW);
	FUZZ_ASSERT(mja_aclclaim_check(c, who, t, len, MJA_ACCESS_WRITE, 3, 0) == MJA_ACLCLAIM_DENY);
	FUZZ_ASSERT(mja_aclclaim_check(c, who, t, len, MJA_ACCESS_SUBSCRIBE, -1, 0) ==
			MJA_ACLCLAIM_DENY);
	if (!mja_topic_valid(t, len)) {
		FUZZ_ASSERT(read == MJA_ACLCLAIM_DENY);
	} else if (!(len >= 6 && memcmp(t, "$share", 6) == 0)) {
		/* ("$share" and "$share/..." are shared-subscription syntax when
		 * subscribed to, refused when malformed) */
		/* a delivery is allowed when a subscription to exactly that
		 * topic is, at some QoS (or when an "eq" allow's literal filter
		 * matches it: what that subscription delivers), denied only when
		 * it is denied at every QoS */
		if (any_allow)
			FUZZ_ASSERT(read == MJA_ACLCLAIM_ALLOW);
		if (read == MJA_ACLCLAIM_DENY)
			FUZZ_ASSERT(all_deny);
		if (read == MJA_ACLCLAIM_NOMATCH)
			FUZZ_ASSERT(!any_allow && !all_deny);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *sep = memmem(s, size, "\0\0", 2);
	size_t jsonlen = sep ? (size_t)(sep - s) : size;
	char *fields = NULL;
	const char *f[MAX_FIELDS];
	size_t nf = 0, i;
	mja_aclclaim *c = (mja_aclclaim *)1;
	mja_diag d = {0};
	json_error_t jerr;
	json_t *v;
	mja_err e;

	v = json_loadb(s, jsonlen, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return 0;
	e = mja_aclclaim_compile(v, &c, &d);
	json_decref(v);
	FUZZ_ASSERT(memchr(d.text, '\0', sizeof(d.text)) != NULL);
	if (e != MJA_OK) {
		FUZZ_ASSERT(e == MJA_ERR_BAD_ACL_CLAIM || e == MJA_ERR_NOMEM);
		FUZZ_ASSERT(c == NULL && d.text[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(c != NULL && d.text[0] == '\0');
	FUZZ_ASSERT(mja_aclclaim_format(c) == 1 || mja_aclclaim_format(c) == 2);
	FUZZ_ASSERT(mja_aclclaim_rule_count(c) <= MJA_ACLCLAIM_MAX_FILTERS);

	if (sep) {
		/* NUL-terminated copies: mja_acl_who strings are C strings. */
		size_t rest = size - jsonlen - 2, off = 0;
		mja_acl_who who = { "device-1", NULL, NULL, NULL, 0 };

		fields = malloc(rest + 1);
		FUZZ_ASSERT(fields != NULL);
		memcpy(fields, sep + 2, rest);
		fields[rest] = '\0';
		while (nf < MAX_FIELDS && off <= rest) {
			f[nf++] = fields + off;
			off += strlen(fields + off) + 1;
		}
		who.sub = nf > 0 ? f[0] : "device-1";
		who.clientid = nf > 1 ? f[1] : NULL;
		who.username = nf > 2 ? f[2] : NULL;
		for (i = 3; i < nf; i++)
			check_topic(c, &who, f[i], strlen(f[i]));
	} else {
		static const mja_acl_who whos[] = {
			{ "device-1", "device-1", "user", NULL, 0 },
			{ "a/#", "+", "#", NULL, 0 },
			{ "sensor-9", NULL, "", NULL, 0 },
			{ "d", "$SYS", "a/b", NULL, 0 },
		};
		for (i = 0; i < sizeof(whos) / sizeof(whos[0]); i++) {
			size_t j;
			for (j = 0; j < sizeof(default_topics) / sizeof(default_topics[0]); j++)
				check_topic(c, &whos[i], default_topics[j], strlen(default_topics[j]));
		}
	}
	free(fields);
	mja_aclclaim_free(c);
	return 0;
}
