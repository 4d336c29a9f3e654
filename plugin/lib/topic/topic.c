/* topic.c - MQTT topic names and filters (MQTT 3.1.1 4.7, MQTT 5 4.7, 4.8.2).
 *
 * Everything walks (pointer, length) one level at a time; nothing allocates
 * and nothing reads past len. A level is the bytes between two '/' (or an
 * end); "a//b" has three levels, "/" has two empty ones.
 */
#include <string.h>

#include "mja/topic/levels.h"
#include "mja/topic/topic.h"

/* MQTT 3.1.1 1.5.3 / MQTT 5 1.5.4: a UTF-8 string is at most 65535 bytes. */
#define MQTT_STRING_MAX 65535u

int mja_topic_valid(const char *t, size_t len)
{
	/* MQTT 3.1.1 4.7.3: at least one character; 1.5.3: at most 65535
	 * bytes and no U+0000; 4.7.1: wildcards are not allowed in topic names. */
	if (!t || len == 0 || len > MQTT_STRING_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '\0' || t[i] == '+' || t[i] == '#')
			return 0;
	}
	return 1;
}

int mja_filter_valid(const char *f, size_t len)
{
	mja_level_cursor c;
	const char *lv;
	size_t lvlen;

	if (!f || len == 0 || len > MQTT_STRING_MAX || memchr(f, '\0', len))
		return 0;
	mja_levels_init(&c, f, len);
	while (mja_levels_next(&c, &lv, &lvlen)) {
		int plus = memchr(lv, '+', lvlen) != NULL;
		int hash = memchr(lv, '#', lvlen) != NULL;

		/* MQTT 3.1.1 4.7.1.3: '+' occupies an entire level. */
		if (plus && lvlen != 1)
			return 0;
		/* MQTT 3.1.1 4.7.1.2: '#' alone, and the last level. */
		if (hash && (lvlen != 1 || !mja_levels_done(&c)))
			return 0;
	}
	return 1;
}

/* MQTT 3.1.1 4.7.2: a topic starting with '$' is not matched by a filter
 * starting with a wildcard; in practice only filters whose first character
 * is '$' may match it. */
static int dollar_blocked(const char *f, size_t flen, const char *t, size_t tlen)
{
	return tlen > 0 && t[0] == '$' && (flen == 0 || f[0] != '$');
}

int mja_topic_matches(const char *f, size_t flen, const char *t, size_t tlen)
{
	mja_level_cursor fc, tc;
	const char *fl, *tl;
	size_t fll, tll;

	if (!mja_filter_valid(f, flen) || !mja_topic_valid(t, tlen))
		return 0;
	if (dollar_blocked(f, flen, t, tlen))
		return 0;
	mja_levels_init(&fc, f, flen);
	mja_levels_init(&tc, t, tlen);
	while (mja_levels_next(&fc, &fl, &fll)) {
		/* '#' matches the parent level and everything below. */
		if (mja_level_is(fl, fll, '#'))
			return 1;
		if (!mja_levels_next(&tc, &tl, &tll))
			return 0;
		if (mja_level_is(fl, fll, '+'))
			continue;
		if (fll != tll || memcmp(fl, tl, fll) != 0)
			return 0;
	}
	return mja_levels_done(&tc);
}

/* 1 iff the levels left in c are exactly "#". */
static int rest_is_hash(const mja_level_cursor *c)
{
	mja_level_cursor k = *c;
	const char *lv;
	size_t lvlen;

	return mja_levels_next(&k, &lv, &lvlen) && mja_level_is(lv, lvlen, '#') &&
		mja_levels_done(&k);
}

int mja_filter_covers(const char *rule, size_t rlen, const char *sub, size_t slen)
{
	mja_level_cursor rc, sc;
	const char *rl, *sl;
	size_t rll, sll;
	int first = 1;

	if (!mja_filter_valid(rule, rlen) || !mja_filter_valid(sub, slen))
		return 0;
	/* A filter starting with '$' can match topics starting with '$';
	 * only a rule starting with '$' matches those (4.7.2). A filter that
	 * starts with a wildcard matches no '$' topic, so needs nothing. */
	if (sub[0] == '$' && rule[0] != '$')
		return 0;
	mja_levels_init(&rc, rule, rlen);
	mja_levels_init(&sc, sub, slen);
	while (mja_levels_next(&rc, &rl, &rll)) {
		if (mja_level_is(rl, rll, '#'))
			return 1;
		if (!mja_levels_next(&sc, &sl, &sll))
			return 0; /* sub's last level is matched; rule wants more */
		/* A first-level "#" matches no parent (a topic has at least one
		 * level), so "+/#" covers it as "#" does. */
		if (mja_level_is(sl, sll, '#'))
			return first && mja_level_is(rl, rll, '+') && rest_is_hash(&rc);
		first = 0;
		if (mja_level_is(rl, rll, '+'))
			continue;
		if (mja_level_is(sl, sll, '+'))
			return 0; /* sub has any value; rule wants one */
		if (rll != sll || memcmp(rl, sl, rll) != 0)
			return 0;
	}
	return mja_levels_done(&sc);
}

int mja_filter_overlaps(const char *a, size_t alen, const char *b, size_t blen)
{
	mja_level_cursor ac, bc;
	const char *al = NULL, *bl = NULL;
	size_t all = 0, bll = 0;
	int first = 1;

	if (!mja_filter_valid(a, alen) || !mja_filter_valid(b, blen))
		return 0;
	mja_levels_init(&ac, a, alen);
	mja_levels_init(&bc, b, blen);
	for (;; first = 0) {
		int ha = mja_levels_next(&ac, &al, &all);
		int hb = mja_levels_next(&bc, &bl, &bll);
		int wa, wb;

		if (!ha && !hb)
			return 1;
		/* One filter ended: the other still matches that topic only if
		 * its next level is '#' (which matches the parent). */
		if (!ha)
			return mja_level_is(bl, bll, '#');
		if (!hb)
			return mja_level_is(al, all, '#');
		wa = mja_level_is(al, all, '+') || mja_level_is(al, all, '#');
		wb = mja_level_is(bl, bll, '+') || mja_level_is(bl, bll, '#');
		/* 4.7.2: a wildcard first level never matches a '$' level. */
		if (first && ((wa && !wb && bll > 0 && bl[0] == '$') ||
				(wb && !wa && all > 0 && al[0] == '$')))
			return 0;
		if (mja_level_is(al, all, '#') || mja_level_is(bl, bll, '#'))
			return 1;
		if (wa || wb)
			continue;
		if (all != bll || memcmp(al, bl, all) != 0)
			return 0;
	}
}

int mja_filter_strip_share(const char *f, size_t len, const char **rest, size_t *restlen)
{
	static const char share[] = "$share/";
	const size_t sl = sizeof(share) - 1;
	const char *group, *slash;
	size_t glen;

	if (rest)
		*rest = f;
	if (restlen)
		*restlen = len;
	if (!f || !rest || !restlen)
		return -1;
	/* "$share" alone or "$share/...": MQTT 5 4.8.2 shared subscription. */
	if (len == sl - 1 && memcmp(f, share, sl - 1) == 0)
		return -1;
	if (len < sl || memcmp(f, share, sl) != 0)
		return 0;
	group = f + sl;
	slash = memchr(group, '/', len - sl);
	if (!slash)
		return -1; /* no filter part */
	glen = (size_t)(slash - group);
	/* MQTT 5 4.8.2: ShareName is at least one character and contains no
	 * '/', '+' or '#'. */
	if (glen == 0 || memchr(group, '+', glen) || memchr(group, '#', glen))
		return -1;
	if (slash + 1 == f + len)
		return -1; /* empty filter */
	*rest = slash + 1;
	*restlen = len - sl - glen - 1;
	return 1;
}
