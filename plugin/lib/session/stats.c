/* stats.c - the emit walk over the plugin's counters, their topics and the
 * listener level (stats.h). */
#include <inttypes.h>
#include <stdio.h>

#include "mja/session/stats.h"

typedef struct walk {
	mja_stats_emit_fn fn;
	void *arg;
	size_t calls;
} walk;

static void put(walk *w, const char *suffix, uint64_t v)
{
	char value[24];

	if (v == 0)
		return;   /* a topic appears once non-zero */
	snprintf(value, sizeof(value), "%" PRIu64, v);
	w->fn(suffix, value, w->arg);
	w->calls++;
}

void mja_stats_reason_word(mja_err why, char *buf, size_t size)
{
	const char *s = mja_strerror(why);
	size_t i = 0;

	if (size == 0)
		return;
	for (; s[i] && i + 1 < size; i++)
		buf[i] = s[i] == ' ' ? '-' : s[i];
	buf[i] = '\0';
}

size_t mja_stats_emit(const mja_stats *s, const mja_stats_extra *x,
		mja_stats_emit_fn fn, void *arg)
{
	static const char *const acl[MJA_STATS_ACL__COUNT] = {
		[MJA_STATS_ACL_PUBLISH] = "acl/denied/publish",
		[MJA_STATS_ACL_SUBSCRIBE] = "acl/denied/subscribe",
		[MJA_STATS_ACL_RECEIVE] = "acl/denied/receive",
	};
	walk w = { fn, arg, 0 };
	char topic[128], word[96];

	if (!s || !fn)
		return 0;
	put(&w, "connects/accepted", s->connects_accepted);
	put(&w, "connects/deferred", s->connects_deferred);
	for (int e = 0; e < MJA_ERR__COUNT; e++) {
		if (!s->connects_refused[e])
			continue;
		mja_stats_reason_word((mja_err)e, word, sizeof(word));
		snprintf(topic, sizeof(topic), "connects/refused/%s", word);
		put(&w, topic, s->connects_refused[e]);
	}
	put(&w, "reauth/accepted", s->reauth_accepted);
	put(&w, "reauth/refused", s->reauth_refused);
	put(&w, "disconnects/expired", s->disconnects_expired);
	put(&w, "disconnects/revoked", s->disconnects_revoked);
	for (int a = 0; a < MJA_STATS_ACL__COUNT; a++)
		put(&w, acl[a], s->acl_denied[a]);
	if (!x)
		return w.calls;
	put(&w, "cache/hits", x->cache_hits);
	put(&w, "cache/misses", x->cache_misses);
	put(&w, "keys/count", x->keys);
	for (size_t i = 0; x->sources && i < x->n_sources; i++) {
		const struct mja_source_stats *src = &x->sources[i];

		snprintf(topic, sizeof(topic), "jwks/%zu/last-success", i + 1);
		put(&w, topic, src->last_success > 0 ? (uint64_t)src->last_success : 0);
		snprintf(topic, sizeof(topic), "jwks/%zu/failures", i + 1);
		put(&w, topic, src->failures);
		snprintf(topic, sizeof(topic), "jwks/%zu/keys", i + 1);
		put(&w, topic, src->keys);
	}
	return w.calls;
}

int mja_stats_level_valid(const char *p, size_t len)
{
	if (!p || len == 0 || len > MJA_STATS_LEVEL_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c > 0x7e || c == '/' || c == '+' || c == '#')
			return 0;
	}
	return 1;
}

int mja_stats_topic(char *buf, size_t size, const char *level, const char *suffix)
{
	int n;

	if (!buf || size == 0 || !suffix)
		return 0;
	if (level)
		n = snprintf(buf, size, "%s%s/%s", MJA_STATS_PREFIX, level, suffix);
	else
		n = snprintf(buf, size, "%s%s", MJA_STATS_PREFIX, suffix);
	return n >= 0 && (size_t)n < size;
}
