/* levels.h - a cursor over the '/'-separated levels of a topic or filter,
 * shared by topic.c and acl.c. Internal; reads only s[0..len).
 *
 * Empty levels are levels: "a//b" gives "a", "", "b"; "/" gives "", "".
 */
#ifndef MJA_LEVELS_H
#define MJA_LEVELS_H

#include <stddef.h>
#include <string.h>

typedef struct mja_level_cursor {
	const char *s;
	size_t len;
	size_t pos;     /* start of the next level; len + 1 once all are out */
} mja_level_cursor;

static inline void mja_levels_init(mja_level_cursor *c, const char *s, size_t len)
{
	c->s = s;
	c->len = len;
	c->pos = 0;
}

static inline int mja_levels_done(const mja_level_cursor *c)
{
	return c->pos > c->len;
}

/* Next level into (*lv, *lvlen); 0 when none is left. */
static inline int mja_levels_next(mja_level_cursor *c, const char **lv, size_t *lvlen)
{
	size_t i;

	if (mja_levels_done(c))
		return 0;
	/* A plain loop: levels are short, a memchr call costs more. */
	for (i = c->pos; i < c->len && c->s[i] != '/'; i++)
		;
	*lv = c->s + c->pos;
	*lvlen = i - c->pos;
	c->pos = i + 1; /* past the '/', or to len + 1 after the last level */
	return 1;
}

static inline int mja_level_is(const char *lv, size_t lvlen, char ch)
{
	return lvlen == 1 && lv[0] == ch;
}

#endif
