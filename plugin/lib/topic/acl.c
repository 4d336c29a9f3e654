/* acl.c - topic decisions for token clients (docs/design.md, "ACL semantics").
 *
 * A subject's rules are the pattern rules, its exact `sub` section, every
 * `sub PREFIX*` section whose prefix starts its sub (found by walking the
 * trie along the sub) and the `role` section of each of its roles (hashed).
 * One pass over those rules: a deny rule that applies ends the check with a
 * deny; otherwise any rule granting the access allows. So the cost is the
 * sub's length plus the subject's own rules, not the size of the file.
 */
#include <string.h>

#include "mja/topic/acl_internal.h"
#include "mja/topic/levels.h"
#include "mja/topic/topic.h"

typedef struct check_ctx {
	const mja_acl *acl;
	const char *t;          /* topic (READ, WRITE) or filter, $share stripped (SUBSCRIBE) */
	size_t tlen;
	int cover;              /* SUBSCRIBE: rules must cover t, not match it */
	int tdollar;            /* t starts with '$' */
	uint8_t need;           /* MJA_ACCESS_READ or MJA_ACCESS_WRITE */
	mja_acl_vals vals;
	int allowed;
} check_ctx;

/* docs/design.md, ACL semantics: a substitution value that is empty or holds '/', '+' or '#'
 * could widen or move the rule, so a rule using it matches nothing. */
static void set_value(mja_acl_vals *c, int kind, const char *v)
{
	size_t n;

	if (!v)
		return;
	for (n = 0; v[n]; n++) {
		if (v[n] == '/' || v[n] == '+' || v[n] == '#')
			return;
	}
	if (n == 0)
		return;
	c->val[kind] = v;
	c->vlen[kind] = n;
	c->usable |= (uint8_t)MJA_SUBST_BIT(kind);
}

/* Values are looked at only when a rule needs them: most checks never do. */
void mja_acl__vals_need(mja_acl_vals *c, uint8_t need)
{
	static const int kinds[] = { MJA_PART_SUB, MJA_PART_CID, MJA_PART_USER };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int k = kinds[i];
		const char *v = k == MJA_PART_SUB ? c->who->sub :
			k == MJA_PART_CID ? c->who->clientid : c->who->username;

		if ((need & MJA_SUBST_BIT(k)) && !(c->computed & MJA_SUBST_BIT(k)))
			set_value(c, k, v);
	}
	c->computed |= need;
}

static int level_eq(const mja_acl_vals *c, const mja_acl_level *lv, const char *s, size_t n)
{
	size_t off = 0;

	if (lv->kind == MJA_LEVEL_LIT)
		return lv->len == n && memcmp(lv->u.s, s, n) == 0;
	/* MJA_LEVEL_TMPL: compare part by part, nothing is built. */
	for (uint32_t i = 0; i < lv->len; i++) {
		const mja_acl_part *pt = &lv->u.parts[i];
		const char *ps = pt->kind == MJA_PART_LIT ? pt->s : c->val[pt->kind];
		size_t pl = pt->kind == MJA_PART_LIT ? pt->len : c->vlen[pt->kind];

		if (pl > n - off || memcmp(ps, s + off, pl) != 0)
			return 0;
		off += pl;
	}
	return off == n;
}

/* 1 iff lv is a template with a substitution whose value is unusable.
 * Only deny rules get this far with such values (allow rules are skipped
 * first), and for them the level stands for any value, like '+': the deny
 * can neither be escaped with a client id "+" nor lock out clients that
 * have no username. */
static int level_wild(const mja_acl_vals *c, const mja_acl_level *lv)
{
	if (lv->kind != MJA_LEVEL_TMPL)
		return 0;
	for (uint32_t i = 0; i < lv->len; i++)
		if (lv->u.parts[i].kind != MJA_PART_LIT && !c->val[lv->u.parts[i].kind])
			return 1;
	return 0;
}

/* The rule matches topic t (MQTT 3.1.1 4.7: '+' one level, '#' the parent
 * and everything below), or, with cover, covers filter t: every topic
 * that t matches, the rule matches too. */
static inline int rule_applies(const mja_acl_vals *c, const mja_acl_rule *r,
		const char *t, size_t tlen, int cover)
{
	mja_level_cursor tc;
	const char *tl;
	size_t tll;

	mja_levels_init(&tc, t, tlen);
	for (uint32_t i = 0; i < r->nlevels; i++) {
		const mja_acl_level *lv = &r->levels[i];

		if (lv->kind == MJA_LEVEL_HASH)
			return 1;
		if (!mja_levels_next(&tc, &tl, &tll))
			return 0;
		if (cover && mja_level_is(tl, tll, '#'))
			/* The filter reaches any depth here; the rule does not,
			 * except "+/#" against a first-level "#" (no parent). */
			return i == 0 && lv->kind == MJA_LEVEL_PLUS && r->nlevels == 2 &&
				r->levels[1].kind == MJA_LEVEL_HASH;
		if (lv->kind == MJA_LEVEL_PLUS || level_wild(c, lv))
			continue;
		if (cover && mja_level_is(tl, tll, '+'))
			return 0; /* any value here; the rule wants one */
		if (!level_eq(c, lv, tl, tll))
			return 0;
	}
	return mja_levels_done(&tc);
}

int mja_acl__rule_applies(const mja_acl_vals *v, const mja_acl_rule *r,
		const char *t, size_t tlen, int cover)
{
	return rule_applies(v, r, t, tlen, cover);
}

/* Returns 1 if a deny applies (the check is over), else 0. */
static int eval_section(uint32_t section, void *arg)
{
	check_ctx *c = arg;
	const mja_acl_section *s = &c->acl->sections[section];
	const mja_acl_rule *r = &c->acl->rules[s->first];

	for (size_t i = 0; i < s->count; i++, r++) {
		int deny = r->access & MJA_RULE_DENY;

		if (!deny && (c->allowed || !(r->access & c->need)))
			continue; /* once allowed, only deny rules can change the answer */
		if (r->subst & ~c->vals.computed)
			mja_acl__vals_need(&c->vals, r->subst);
		/* docs/design.md, ACL semantics: an allow rule whose value is unusable matches
		 * nothing. A deny rule fails closed at that level only (see
		 * level_wild), so it cannot be escaped by choosing such a
		 * client id or username. */
		if ((r->subst & ~c->vals.usable) && !deny)
			continue;
		/* MQTT 3.1.1 4.7.2: '$' topics only for rules written with '$'. */
		if (c->tdollar && !r->dollar)
			continue;
		if (!rule_applies(&c->vals, r, c->t, c->tlen, c->cover))
			continue;
		if (deny)
			return 1;
		c->allowed = 1;
	}
	return 0;
}

int mja_acl_check(const mja_acl *acl, const mja_acl_who *who,
		const char *topic, size_t topiclen, int access)
{
	check_ctx c;
	size_t sublen;

	if (!acl || !who || !topic)
		return 0;
	memset(&c, 0, sizeof(c));
	c.acl = acl;
	switch (access) {
	case MJA_ACCESS_UNSUBSCRIBE:
		return 1; /* unsubscribing never widens access */
	case MJA_ACCESS_READ:
	case MJA_ACCESS_WRITE:
		if (!mja_topic_valid(topic, topiclen))
			return 0;
		c.t = topic;
		c.tlen = topiclen;
		c.need = (uint8_t)access;
		break;
	case MJA_ACCESS_SUBSCRIBE:
		/* MQTT 5 4.8.2: the rules apply to the filter of a shared
		 * subscription; a malformed $share filter is refused. */
		if (mja_filter_strip_share(topic, topiclen, &c.t, &c.tlen) < 0 ||
				!mja_filter_valid(c.t, c.tlen))
			return 0;
		c.cover = 1;
		c.need = MJA_ACCESS_READ;
		break;
	default:
		return 0;
	}
	c.tdollar = c.t[0] == '$';
	c.vals.who = who;

	if (eval_section(0, &c))
		return 0;
	if (who->sub) {
		uint32_t s;

		sublen = strlen(who->sub);
		s = mja_acl__htab_find(&acl->htab, MJA_KEY_SUB, who->sub, sublen);
		if (s != UINT32_MAX && eval_section(s, &c))
			return 0;
		if (mja_acl__trie_walk(&acl->trie, who->sub, sublen, eval_section, &c))
			return 0;
	}
	for (size_t i = 0; i < who->n_roles; i++) {
		const char *role = who->roles ? who->roles[i] : NULL;
		uint32_t s;

		if (!role)
			continue;
		s = mja_acl__htab_find(&acl->htab, MJA_KEY_ROLE, role, strlen(role));
		if (s != UINT32_MAX && eval_section(s, &c))
			return 0;
	}
	return c.allowed;
}
