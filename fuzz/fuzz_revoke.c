/* fuzz_revoke.c - the revocation file parser and lookups: mja_revoke_parse()
 * on the input, then mja_revoke_check() for values taken from the input.
 *
 * Invariants (include/mja/revoke/revoke.h): parsing is all or nothing, with a
 * diagnostic naming the file and line on failure; a parsed list holds at
 * most one entry a line; every `jti` / `kid` value of a line that parsed is
 * found again (revoked); checks answer MJA_OK or MJA_ERR_REVOKED only.
 */
#define _GNU_SOURCE  /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mja/revoke/revoke.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	mja_revoke *r = NULL;
	mja_diag d = { 0 };
	mja_err e = mja_revoke_parse(buf, size, "fuzz", &r, &d);
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += buf[i] == '\n';
	if (e != MJA_OK) {
		FUZZ_ASSERT(r == NULL);
		FUZZ_ASSERT(e == MJA_ERR_CONFIG || e == MJA_ERR_NOMEM);
		FUZZ_ASSERT(strncmp(d.text, "fuzz:", 5) == 0);
		return 0;
	}
	FUZZ_ASSERT(r != NULL);
	FUZZ_ASSERT(mja_revoke_count(r) <= lines);
	/* each line "jti X" / "kid X" (single blank, no comment) is found */
	for (const char *p = buf, *end = buf + size; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char v[MJA_REVOKE_MAX_VALUE + 1];

		if (n > 4 && n - 4 <= MJA_REVOKE_MAX_VALUE && p[3] == ' ' &&
		    (!memcmp(p, "jti", 3) || !memcmp(p, "kid", 3)) &&
		    !memchr(p + 4, ' ', n - 4) && !memchr(p + 4, '\t', n - 4) &&
		    !memchr(p + 4, '\r', n - 4) && p[4] != '#') {
			mja_revoke_query q = { 0 };

			memcpy(v, p + 4, n - 4);
			v[n - 4] = '\0';
			if (p[0] == 'j')
				q.jti = v;
			else
				q.kid = v;
			FUZZ_ASSERT(mja_revoke_check(r, &q) == MJA_ERR_REVOKED);
		}
		p = nl ? nl + 1 : end;
	}
	/* arbitrary values: only the two answers */
	{
		char v[64];
		size_t n = size < sizeof(v) - 1 ? size : sizeof(v) - 1;
		mja_revoke_query q = { v, v, v, 1, (int64_t)size };

		memcpy(v, buf, n);
		v[n] = '\0';
		e = mja_revoke_check(r, &q);
		FUZZ_ASSERT(e == MJA_OK || e == MJA_ERR_REVOKED);
	}
	mja_revoke_free(r);
	return 0;
}
