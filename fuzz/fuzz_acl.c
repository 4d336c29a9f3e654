/* fuzz_acl.c - the ACL file parser and decisions: mja_acl_load_buf() on the
 * input, then mja_acl_check() calls.
 *
 * Input: the ACL file, optionally followed by "\0\0" and NUL-separated
 * fields: sub, client id, username, then topics to check. Without them a
 * fixed set of identities (including wildcard-bearing ones) and topics is
 * used.
 *
 * Invariants (include/mja/topic/acl.h; docs/design.md, "ACL semantics"): loading is all-or-nothing with a
 * diagnostic on failure; decisions are 0 or 1; UNSUBSCRIBE is allowed; a
 * topic that is not a valid topic name is never readable or writable; for
 * a plain topic (no wildcards, not $share) SUBSCRIBE and READ agree.
 */
#define _GNU_SOURCE  /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mja/topic/acl.h"
#include "mja/topic/topic.h"
#include "fuzz_common.h"

#define MAX_FIELDS 12

static const char *const default_topics[] = {
	"devices/device-1/t", "devices/+/telemetry", "devices/#", "#", "$SYS/broker/load",
	"$share/g/devices/device-1/x", "secrets/a", "fleet/broadcast/x", "a/#/b", "",
	"clients/+/out", "users/u/in",
};

static const char *const roles[] = { "operator", "viewer" };

static void check_topic(const mja_acl *acl, const mja_acl_who *who, const char *t, size_t len)
{
	int r = mja_acl_check(acl, who, t, len, MJA_ACCESS_READ);
	int w = mja_acl_check(acl, who, t, len, MJA_ACCESS_WRITE);
	int s = mja_acl_check(acl, who, t, len, MJA_ACCESS_SUBSCRIBE);

	FUZZ_ASSERT(r == 0 || r == 1);
	FUZZ_ASSERT(w == 0 || w == 1);
	FUZZ_ASSERT(s == 0 || s == 1);
	FUZZ_ASSERT(mja_acl_check(acl, who, t, len, MJA_ACCESS_UNSUBSCRIBE) == 1);
	if (!mja_topic_valid(t, len))
		FUZZ_ASSERT(r == 0 && w == 0);
	else if (!(len >= 7 && memcmp(t, "$share/", 7) == 0))
		FUZZ_ASSERT(s == r);
	if (!mja_filter_valid(t, len))
		FUZZ_ASSERT(s == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *sep = memmem(s, size, "\0\0", 2);
	size_t acllen = sep ? (size_t)(sep - s) : size;
	char *fields = NULL;
	const char *f[MAX_FIELDS];
	size_t nf = 0, i;
	mja_acl *acl = (mja_acl *)1;
	mja_diag d = {0};
	mja_acl_who who = { "device-1", "device-1", "user", roles, 2 };
	mja_err e;

	e = mja_acl_load_buf(s, acllen, "fuzz.acl", &acl, &d);
	FUZZ_ASSERT(memchr(d.text, '\0', sizeof(d.text)) != NULL);
	if (e != MJA_OK) {
		FUZZ_ASSERT(acl == NULL && d.text[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(acl != NULL);
	(void)mja_acl_rule_count(acl);
	(void)mja_acl_subject_count(acl);

	if (sep) {
		/* NUL-terminated copies: mja_acl_who strings are C strings. */
		size_t rest = size - acllen - 2, off = 0;

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
			check_topic(acl, &who, f[i], strlen(f[i]));
	} else {
		static const mja_acl_who whos[] = {
			{ "device-1", "device-1", "user", roles, 2 },
			{ "a/#", "+", "#", NULL, 0 },
			{ "sensor-9", NULL, NULL, roles + 1, 1 },
		};
		for (i = 0; i < sizeof(whos) / sizeof(whos[0]); i++) {
			size_t j;
			for (j = 0; j < sizeof(default_topics) / sizeof(default_topics[0]); j++)
				check_topic(acl, &whos[i], default_topics[j], strlen(default_topics[j]));
		}
	}
	free(fields);
	mja_acl_free(acl);
	return 0;
}
