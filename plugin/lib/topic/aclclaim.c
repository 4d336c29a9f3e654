/* aclclaim.c - topic rules carried in the token (aclclaim.h): compile the
 * claim once, then decide checks by walking the compiled rules.
 *
 * A filter compiles to the ACL file's rule form (acl_internal.h: levels,
 * literal and placeholder parts), so matching, covering and the handling of
 * unusable placeholder values are the ACL file's own code (acl.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mja/topic/aclclaim.h"
#include "mja/topic/acl_internal.h"
#include "mja/token/claims.h"
#include "mja/topic/levels.h"
#include "mja/topic/topic.h"

#define ACT_PUB 1u
#define ACT_SUB 2u
#define QOS_ALL 7u            /* bit q: the rule holds QoS q */

enum { RETAIN_ANY = 0, RETAIN_TRUE, RETAIN_FALSE };

typedef struct claim_filter {
	mja_acl_rule r;       /* levels, subst, dollar; unused for eq */
	const char *eq;       /* "eq FILTER": the literal filter, else NULL */
	size_t eqlen;
} claim_filter;

typedef struct claim_rule {
	uint8_t allow;
	uint8_t actions;      /* ACT_PUB | ACT_SUB */
	uint8_t qos;          /* QOS_ALL bits */
	uint8_t retain;       /* RETAIN_* */
	uint32_t first;       /* filters[first .. first + count) */
	uint32_t count;
} claim_rule;

struct mja_aclclaim {
	int format;           /* 1 object, 2 array */
	claim_rule *rules;
	size_t nrules;
	claim_filter *filters;
	size_t nfilters, fcap;
	mja_arena arena;
};

/* Small claims are common: keep a client's share of memory small. */
#define CLAIM_ARENA_CHUNK 1024u

typedef struct compiler {
	mja_aclclaim *c;
	mja_diag *d;
	char where[48];       /* "rule 3" or "pub", for messages */
} compiler;

static mja_err fail(compiler *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static mja_err fail(compiler *k, const char *fmt, ...)
{
	char reason[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (k->where[0])
		mja_diag_set(k->d, "%s: %s", k->where, reason);
	else
		mja_diag_set(k->d, "%s", reason);
	return MJA_ERR_BAD_ACL_CLAIM;
}

/* ---------------------------------------------------------------- filters */

static const struct {
	const char *name;
	uint8_t kind;
} placeholders[] = {
	{ "${clientid}", MJA_PART_CID },
	{ "${username}", MJA_PART_USER },
	{ "${sub}", MJA_PART_SUB },
};

/* The placeholder at s[0..n) (which starts with "${"): its kind, and its
 * length in *len; -1 if it is none of ours. */
static int placeholder_at(const char *s, size_t n, size_t *len)
{
	for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
		size_t pl = strlen(placeholders[i].name);

		if (pl <= n && memcmp(s, placeholders[i].name, pl) == 0) {
			*len = pl;
			return placeholders[i].kind;
		}
	}
	return -1;
}

/* One level with placeholders (lv[0..n), in the arena) into *out. */
static mja_err compile_template(compiler *k, const char *what, const char *lv, size_t n,
		mja_acl_level *out, uint8_t *subst)
{
	mja_acl_part *parts;
	size_t nparts = 0, i = 0, run = 0;

	/* at most one part per byte */
	parts = mja_arena__alloc(&k->c->arena, n * sizeof(*parts));
	if (!parts)
		return MJA_ERR_NOMEM;
	while (i < n) {
		size_t pl;
		int kind;

		if (lv[i] != '$' || i + 1 == n || lv[i + 1] != '{') {
			i++;
			run++;
			continue;
		}
		kind = placeholder_at(lv + i, n - i, &pl);
		if (kind < 0)
			return fail(k, "%s: unknown placeholder (${clientid}, ${username} "
					"and ${sub} only)", what);
		if (run) {
			parts[nparts].kind = MJA_PART_LIT;
			parts[nparts].s = lv + i - run;
			parts[nparts++].len = (uint32_t)run;
			run = 0;
		}
		parts[nparts].kind = (uint8_t)kind;
		parts[nparts].s = NULL;
		parts[nparts++].len = 0;
		*subst |= (uint8_t)MJA_SUBST_BIT(kind);
		i += pl;
	}
	if (run) {
		parts[nparts].kind = MJA_PART_LIT;
		parts[nparts].s = lv + n - run;
		parts[nparts++].len = (uint32_t)run;
	}
	out->kind = MJA_LEVEL_TMPL;
	out->len = (uint32_t)nparts;
	out->u.parts = parts;
	return MJA_OK;
}

/* Every "${" starts a placeholder (an unknown one is an error). */
static int has_placeholder(const char *lv, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (lv[i] == '$' && lv[i + 1] == '{')
			return 1;
	return 0;
}

static mja_err add_filter(compiler *k, const char *what, const json_t *v, claim_rule *rule)
{
	mja_aclclaim *c = k->c;
	claim_filter *f;
	const char *s;
	size_t len, n = 1, i = 0;
	mja_level_cursor cur;
	const char *lv;
	size_t lvlen;
	mja_acl_level *levels;
	char *copy;
	mja_err e;

	if (!json_is_string(v))
		return fail(k, "%s is not a string", what);
	if (c->nfilters >= MJA_ACLCLAIM_MAX_FILTERS)
		return fail(k, "more than %d topic filters", MJA_ACLCLAIM_MAX_FILTERS);
	s = json_string_value(v);
	len = json_string_length(v);
	if (memchr(s, '\0', len))
		return fail(k, "%s holds a NUL character", what);
	if (!mja_acl__grow((void **)&c->filters, &c->fcap, c->nfilters + 1, sizeof(*c->filters)))
		return MJA_ERR_NOMEM;
	f = &c->filters[c->nfilters];
	memset(f, 0, sizeof(*f));
	/* "eq FILTER": that literal filter, wildcards and all */
	if (len >= 3 && memcmp(s, "eq ", 3) == 0) {
		if (!mja_filter_valid(s + 3, len - 3))
			return fail(k, "%s: not a valid topic filter after \"eq \"", what);
		f->eq = mja_arena__strndup(&c->arena, s + 3, len - 3);
		if (!f->eq)
			return MJA_ERR_NOMEM;
		f->eqlen = len - 3;
		c->nfilters++;
		rule->count++;
		return MJA_OK;
	}
	/* Placeholders hold none of '/', '+', '#', so the written filter must
	 * already be a valid one (MQTT 3.1.1 4.7.1). */
	if (!mja_filter_valid(s, len))
		return fail(k, "%s: not a valid topic filter", what);
	for (size_t j = 0; j < len; j++)
		n += s[j] == '/';
	copy = mja_arena__strndup(&c->arena, s, len);
	levels = mja_arena__alloc(&c->arena, n * sizeof(*levels));
	if (!copy || !levels)
		return MJA_ERR_NOMEM;
	f->r.access = rule->allow ? MJA_ACCESS_READ | MJA_ACCESS_WRITE : MJA_RULE_DENY;
	f->r.nlevels = (uint32_t)n;
	f->r.levels = levels;
	/* MQTT 4.7.2: only a filter written with a leading '$' reaches '$'
	 * topics; a leading placeholder is not one */
	f->r.dollar = s[0] == '$' && !(len > 1 && s[1] == '{');
	mja_levels_init(&cur, copy, len);
	while (mja_levels_next(&cur, &lv, &lvlen)) {
		mja_acl_level *out = &levels[i++];

		if (mja_level_is(lv, lvlen, '+') || mja_level_is(lv, lvlen, '#')) {
			out->kind = lv[0] == '+' ? MJA_LEVEL_PLUS : MJA_LEVEL_HASH;
			out->len = 1;
			out->u.s = lv;
			continue;
		}
		if (has_placeholder(lv, lvlen)) {
			e = compile_template(k, what, lv, lvlen, out, &f->r.subst);
			if (e != MJA_OK)
				return e;
			continue;
		}
		out->kind = MJA_LEVEL_LIT;
		out->len = (uint32_t)lvlen;
		out->u.s = lv;
	}
	c->nfilters++;
	rule->count++;
	return MJA_OK;
}

/* A string filter or an array of them, for rule. */
static mja_err add_filters(compiler *k, const char *name, const json_t *v, int array,
		claim_rule *rule)
{
	char what[48];
	size_t i;
	const json_t *m;
	mja_err e;

	rule->first = (uint32_t)k->c->nfilters;
	rule->count = 0;
	if (!array) {
		snprintf(what, sizeof(what), "\"%s\"", name);
		return add_filter(k, what, v, rule);
	}
	if (!json_is_array(v))
		return fail(k, "\"%s\" is not an array of topic filters", name);
	json_array_foreach(v, i, m) {
		snprintf(what, sizeof(what), "%s[%zu]", name, i + 1);
		e = add_filter(k, what, m, rule);
		if (e != MJA_OK)
			return e;
	}
	return MJA_OK;
}

/* ---------------------------------------------------------------- formats */

static int string_is(const json_t *v, const char *word)
{
	size_t n = strlen(word);

	return json_is_string(v) && json_string_length(v) == n &&
		memcmp(json_string_value(v), word, n) == 0;
}

static mja_err compile_object(compiler *k, const json_t *obj)
{
	static const struct {
		const char *name;
		uint8_t actions;
	} lists[] = { { "pub", ACT_PUB }, { "sub", ACT_SUB }, { "all", ACT_PUB | ACT_SUB } };
	const char *const names[] = { "pub", "sub", "all" };
	const json_t *m[3];
	mja_aclclaim *c = k->c;
	size_t known = 0;

	mja_json_pick(obj, names, 3, m);
	for (size_t i = 0; i < 3; i++)
		known += m[i] != NULL;
	if (known != json_object_size(obj))
		return fail(k, "the object has a member other than \"pub\", \"sub\" and \"all\"");
	c->rules = calloc(3, sizeof(*c->rules));
	if (!c->rules)
		return MJA_ERR_NOMEM;
	for (size_t i = 0; i < 3; i++) {
		claim_rule *r = &c->rules[c->nrules];
		mja_err e;

		if (!m[i])
			continue;
		r->allow = 1;
		r->actions = lists[i].actions;
		r->qos = QOS_ALL;
		r->retain = RETAIN_ANY;
		e = add_filters(k, lists[i].name, m[i], 1, r);
		if (e != MJA_OK)
			return e;
		c->nrules++;
	}
	return MJA_OK;
}

static mja_err compile_qos(compiler *k, const json_t *v, uint8_t *mask)
{
	size_t i;
	const json_t *m;

	if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			return fail(k, "\"qos\" is an empty list");
		*mask = 0;
		json_array_foreach(v, i, m) {
			if (!json_is_integer(m))
				return fail(k, "\"qos\"[%zu] is not a whole number", i + 1);
			if (json_integer_value(m) < 0 || json_integer_value(m) > 2)
				return fail(k, "\"qos\"[%zu] %lld is outside 0-2", i + 1,
						(long long)json_integer_value(m));
			*mask |= (uint8_t)(1u << json_integer_value(m));
		}
		return MJA_OK;
	}
	if (!json_is_integer(v))
		return fail(k, "\"qos\" is not 0, 1, 2 or a list of them");
	if (json_integer_value(v) < 0 || json_integer_value(v) > 2)
		return fail(k, "\"qos\" %lld is outside 0-2", (long long)json_integer_value(v));
	*mask = (uint8_t)(1u << json_integer_value(v));
	return MJA_OK;
}

enum { M_PERMISSION, M_ACTION, M_TOPIC, M_TOPICS, M_QOS, M_RETAIN, M__N };

static mja_err compile_rule(compiler *k, const json_t *obj, claim_rule *r)
{
	static const char *const names[M__N] = {
		"permission", "action", "topic", "topics", "qos", "retain"
	};
	const json_t *m[M__N], *v;
	size_t known = 0;
	mja_err e;

	if (!json_is_object(obj))
		return fail(k, "not an object");
	mja_json_pick(obj, names, M__N, m);
	for (size_t i = 0; i < M__N; i++)
		known += m[i] != NULL;
	if (known != json_object_size(obj))
		return fail(k, "a member other than permission, action, topic, topics, qos, retain");

	v = m[M_PERMISSION];
	if (!v)
		return fail(k, "no \"permission\"");
	if (string_is(v, "allow"))
		r->allow = 1;
	else if (!string_is(v, "deny"))
		return fail(k, "\"permission\" is not \"allow\" or \"deny\"");

	v = m[M_ACTION];
	if (!v)
		return fail(k, "no \"action\"");
	if (string_is(v, "publish") || string_is(v, "pub"))
		r->actions = ACT_PUB;
	else if (string_is(v, "subscribe") || string_is(v, "sub"))
		r->actions = ACT_SUB;
	else if (string_is(v, "all"))
		r->actions = ACT_PUB | ACT_SUB;
	else
		return fail(k, "\"action\" is not \"publish\", \"subscribe\" or \"all\" "
				"(or \"pub\", \"sub\")");

	r->qos = QOS_ALL;
	if (m[M_QOS]) {
		e = compile_qos(k, m[M_QOS], &r->qos);
		if (e != MJA_OK)
			return e;
	}
	v = m[M_RETAIN];
	r->retain = RETAIN_ANY;
	if (json_is_true(v))
		r->retain = RETAIN_TRUE;
	else if (json_is_false(v))
		r->retain = RETAIN_FALSE;
	else if (v && !string_is(v, "all"))
		return fail(k, "\"retain\" is not true, false or \"all\"");

	if (m[M_TOPIC] && m[M_TOPICS])
		return fail(k, "both \"topic\" and \"topics\"");
	if (m[M_TOPIC])
		return add_filters(k, "topic", m[M_TOPIC], 0, r);
	if (!m[M_TOPICS])
		return fail(k, "no \"topic\" or \"topics\"");
	if (json_is_array(m[M_TOPICS]) && json_array_size(m[M_TOPICS]) == 0)
		return fail(k, "\"topics\" is an empty list");
	return add_filters(k, "topics", m[M_TOPICS], 1, r);
}

static mja_err compile_array(compiler *k, const json_t *arr)
{
	mja_aclclaim *c = k->c;
	size_t n = json_array_size(arr), i;
	const json_t *m;

	if (n > MJA_ACLCLAIM_MAX_RULES)
		return fail(k, "%zu rules, more than %d", n, MJA_ACLCLAIM_MAX_RULES);
	c->rules = calloc(n ? n : 1, sizeof(*c->rules));
	if (!c->rules)
		return MJA_ERR_NOMEM;
	json_array_foreach(arr, i, m) {
		mja_err e;

		snprintf(k->where, sizeof(k->where), "rule %zu", i + 1);
		e = compile_rule(k, m, &c->rules[i]);
		if (e != MJA_OK)
			return e;
		c->nrules++;
	}
	return MJA_OK;
}

mja_err mja_aclclaim_compile(const json_t *claim, mja_aclclaim **out, mja_diag *d)
{
	compiler k;
	mja_err e;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	memset(&k, 0, sizeof(k));
	k.d = d;
	k.c = calloc(1, sizeof(*k.c));
	if (!k.c)
		return MJA_ERR_NOMEM;
	k.c->arena.chunk = CLAIM_ARENA_CHUNK;
	if (json_is_object(claim)) {
		k.c->format = 1;
		e = compile_object(&k, claim);
	} else if (json_is_array(claim)) {
		k.c->format = 2;
		e = compile_array(&k, claim);
	} else {
		e = fail(&k, "neither an object (pub, sub, all) nor an array of rules");
	}
	if (e != MJA_OK) {
		if (e == MJA_ERR_NOMEM)
			mja_diag_set(d, "%s", mja_strerror(e));
		mja_aclclaim_free(k.c);
		return e;
	}
	*out = k.c;
	return MJA_OK;
}

void mja_aclclaim_free(mja_aclclaim *c)
{
	if (!c)
		return;
	free(c->rules);
	free(c->filters);
	mja_arena__free(&c->arena);
	free(c);
}

int mja_aclclaim_format(const mja_aclclaim *c)
{
	return c ? c->format : 0;
}

size_t mja_aclclaim_rule_count(const mja_aclclaim *c)
{
	if (!c)
		return 0;
	return c->format == 1 ? c->nfilters : c->nrules;
}

/* ---------------------------------------------------------------- checks */

typedef struct check {
	const char *t;        /* topic, or the filter with $share stripped */
	size_t tlen;
	int access;
	int tdollar;
	mja_acl_vals vals;
} check;

static int filter_applies(check *k, const claim_filter *f, int allow)
{
	if (f->eq) {
		if (k->access == MJA_ACCESS_READ && allow)
			/* what a subscription to exactly that filter delivers */
			return mja_topic_matches(f->eq, f->eqlen, k->t, k->tlen);
		return f->eqlen == k->tlen && memcmp(f->eq, k->t, k->tlen) == 0;
	}
	/* MQTT 4.7.2: '$' topics only for filters written with '$' */
	if (k->tdollar && !f->r.dollar)
		return 0;
	if (f->r.subst & ~k->vals.computed)
		mja_acl__vals_need(&k->vals, f->r.subst);
	/* aclclaim.h: an allow filter with an unusable value matches nothing;
	 * in a deny filter that level stands for any value */
	if (allow && (f->r.subst & ~k->vals.usable))
		return 0;
	return mja_acl__rule_applies(&k->vals, &f->r, k->t, k->tlen,
			k->access == MJA_ACCESS_SUBSCRIBE);
}

int mja_aclclaim_check(const mja_aclclaim *c, const mja_acl_who *who,
		const char *topic, size_t topiclen, int access, int qos, int retain)
{
	check k;
	uint8_t want, open;

	if (!c || !who || !topic)
		return MJA_ACLCLAIM_DENY;
	memset(&k, 0, sizeof(k));
	k.access = access;
	k.vals.who = who;
	switch (access) {
	case MJA_ACCESS_UNSUBSCRIBE:
		return MJA_ACLCLAIM_ALLOW;
	case MJA_ACCESS_WRITE:
	case MJA_ACCESS_READ:
		if (!mja_topic_valid(topic, topiclen))
			return MJA_ACLCLAIM_DENY;
		k.t = topic;
		k.tlen = topiclen;
		want = access == MJA_ACCESS_WRITE ? ACT_PUB : ACT_SUB;
		break;
	case MJA_ACCESS_SUBSCRIBE:
		/* MQTT 5 4.8.2: the rules apply to the filter of a shared
		 * subscription; a malformed $share filter is refused */
		if (mja_filter_strip_share(topic, topiclen, &k.t, &k.tlen) < 0 ||
				!mja_filter_valid(k.t, k.tlen))
			return MJA_ACLCLAIM_DENY;
		want = ACT_SUB;
		break;
	default:
		return MJA_ACLCLAIM_DENY;
	}
	k.tdollar = k.t[0] == '$';
	/* The QoS values still undecided: the one asked about, or for a
	 * delivery all three (aclclaim.h: the most favourable one wins). */
	if (access == MJA_ACCESS_READ) {
		open = QOS_ALL;
	} else {
		if (qos < 0 || qos > 2)
			return MJA_ACLCLAIM_DENY;
		open = (uint8_t)(1u << qos);
	}
	for (size_t i = 0; i < c->nrules; i++) {
		const claim_rule *r = &c->rules[i];
		uint8_t hit = r->qos & open;
		int applies = 0;

		if (!(r->actions & want) || !hit)
			continue;
		if (access == MJA_ACCESS_WRITE && r->retain != RETAIN_ANY &&
				(r->retain == RETAIN_TRUE) != (retain != 0))
			continue;
		for (uint32_t j = 0; j < r->count && !applies; j++)
			applies = filter_applies(&k, &c->filters[r->first + j], r->allow);
		if (!applies)
			continue;
		if (r->allow)
			return MJA_ACLCLAIM_ALLOW;
		open &= (uint8_t)~hit;
		if (!open)
			return MJA_ACLCLAIM_DENY;
	}
	/* object format: what no list allows is denied, the file not asked */
	return c->format == 1 ? MJA_ACLCLAIM_DENY : MJA_ACLCLAIM_NOMATCH;
}
