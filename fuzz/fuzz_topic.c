/* fuzz_topic.c - topic and filter matching on split input: "A\0B\0C" gives
 * a filter A, a filter-or-topic B and a topic C (C may contain NUL).
 *
 * Invariants (include/mja/topic/topic.h): overlaps is symmetric; a valid filter
 * covers itself; against a plain topic, covers equals matches; covers
 * implies overlaps; covers is consistent with matching (A covers B and B
 * matches C imply A matches C); a valid topic is a valid filter; matching
 * needs valid input; strip_share stays inside its input.
 */
#include <stdint.h>
#include <string.h>
#include "mja/topic/topic.h"
#include "fuzz_common.h"

static void split(const char *s, size_t size, const char **p, size_t *n, size_t *rest)
{
	const char *z = memchr(s, '\0', size);

	*p = s;
	*n = z ? (size_t)(z - s) : size;
	*rest = z ? (size_t)(z - s) + 1 : size;
}

static void check_strip(const char *f, size_t len)
{
	const char *rest = NULL;
	size_t restlen = (size_t)-1;
	int r = mja_filter_strip_share(f, len, &rest, &restlen);

	FUZZ_ASSERT(r >= -1 && r <= 1);
	if (r == 1) {
		FUZZ_ASSERT(rest > f && restlen >= 1 && rest + restlen == f + len);
		FUZZ_ASSERT(len >= 7 && memcmp(f, "$share/", 7) == 0);
	} else if (r == 0) {
		FUZZ_ASSERT(rest == f && restlen == len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *a, *b, *c;
	size_t alen, blen, clen, used;
	int m, cov;

	split(s, size, &a, &alen, &used);
	split(s + used, size - used, &b, &blen, &used);
	used = (size_t)(b - s) + used;
	c = s + used;
	clen = size - used;

	FUZZ_ASSERT(!mja_topic_valid(b, blen) || mja_filter_valid(b, blen));
	m = mja_topic_matches(a, alen, b, blen);
	cov = mja_filter_covers(a, alen, b, blen);
	FUZZ_ASSERT(!m || (mja_filter_valid(a, alen) && mja_topic_valid(b, blen)));
	FUZZ_ASSERT(mja_filter_overlaps(a, alen, b, blen) == mja_filter_overlaps(b, blen, a, alen));
	FUZZ_ASSERT(!cov || mja_filter_overlaps(a, alen, b, blen));
	if (mja_topic_valid(b, blen)) {
		/* A plain topic as a filter matches only itself. */
		FUZZ_ASSERT(cov == m);
		FUZZ_ASSERT(mja_filter_overlaps(a, alen, b, blen) == m);
	}
	if (mja_filter_valid(a, alen))
		FUZZ_ASSERT(mja_filter_covers(a, alen, a, alen));
	if (cov && mja_topic_matches(b, blen, c, clen))
		FUZZ_ASSERT(mja_topic_matches(a, alen, c, clen));
	if (m && mja_filter_covers(b, blen, c, clen))
		FUZZ_ASSERT(mja_filter_covers(a, alen, c, clen));
	check_strip(a, alen);
	check_strip(s, size);
	return 0;
}
