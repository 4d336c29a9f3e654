/* acl_parse.c - the ACL file (docs/design.md, ACL semantics): parse, compile, index.
 *
 * Syntax, one directive per line (see acl.h):
 *   pattern ACCESS FILTER | sub NAME | sub PREFIX* | role NAME | topic ACCESS FILTER
 * Tokens are separated by white space (mja_text_is_space: '\r' too, so CRLF
 * files load). FILTER is the rest of the line less trailing white space, so it
 * may contain inner spaces as MQTT topics may. NAME is one token.
 * Every malformed line stops the load with "FILE:LINE: reason" and nothing
 * is loaded (all or nothing).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mja/topic/acl_internal.h"
#include "mja/util/file.h"
#include "mja/topic/levels.h"
#include "mja/util/text.h"

/* Longest line accepted, newline excluded. Far above any real rule; keeps
 * a corrupt or binary file from being taken for one huge directive. */
#define ACL_LINE_MAX 8192u
/* Largest file accepted (a million subjects fit in a fraction of this). */
#define ACL_FILE_MAX (256u * 1024u * 1024u)
/* docs/design.md, Token rules 7: a sub is at most 256 bytes, so a longer name never matches. */
#define SUB_MAX 256u

#define NO_SECTION UINT32_MAX

typedef struct parser {
	const char *name;
	size_t line;
	mja_diag *d;
	mja_acl *acl;
	/* rules in file order and the section of each */
	mja_acl_rule *rules;
	uint32_t *rsec;
	size_t nrules, rcap, scap;
	uint32_t nsections;    /* section 0 = patterns */
	uint32_t cur;          /* section that `topic` lines go to */
} parser;

/* s[0..len) for a message: escaped (text.h) and bounded. */
static const char *shown(char *buf, size_t bufsz, const char *s, size_t len)
{
	mja_text_printable(s, len, buf, bufsz);
	return buf;
}

static mja_err fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static mja_err fail(parser *p, const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	mja_diag_set(p->d, "%s:%zu: %s", p->name, p->line, reason);
	return MJA_ERR_ACL_SYNTAX;
}

/* Next blank-separated token of line[*pos..len); 0 if none. */
static int next_token(const char *line, size_t len, size_t *pos, const char **tok, size_t *toklen)
{
	size_t i = *pos, start;

	while (i < len && mja_text_is_space((unsigned char)line[i]))
		i++;
	if (i == len) {
		*pos = i;
		return 0;
	}
	start = i;
	while (i < len && !mja_text_is_space((unsigned char)line[i]))
		i++;
	*tok = line + start;
	*toklen = i - start;
	*pos = i;
	return 1;
}

static int word_is(const char *tok, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(tok, word, len) == 0;
}

static mja_err push_rule(parser *p, const mja_acl_rule *r, uint32_t section)
{
	if (!mja_acl__grow((void **)&p->rules, &p->rcap, p->nrules + 1, sizeof(*p->rules)) ||
			!mja_acl__grow((void **)&p->rsec, &p->scap, p->nrules + 1, sizeof(*p->rsec)))
		return MJA_ERR_NOMEM;
	p->rules[p->nrules] = *r;
	p->rsec[p->nrules++] = section;
	return MJA_OK;
}

/* Compile one level with '%' escapes into *lv. lit is where the level's
 * bytes were copied (in the arena); unescaped literals are packed in place
 * (they only get shorter). */
static mja_err compile_template(parser *p, char *lit, size_t n, mja_acl_level *lv, uint8_t *subst)
{
	mja_acl_part *parts;
	size_t nparts = 0, i = 0, out = 0, run = 0;
	uint8_t used = 0;

	/* At most one part per byte: "%s" is two bytes, a literal run one. */
	parts = mja_arena__alloc(&p->acl->arena, n * sizeof(*parts));
	if (!parts)
		return MJA_ERR_NOMEM;
	while (i < n) {
		uint8_t kind;

		if (lit[i] != '%') {
			lit[out++] = lit[i++];
			run++;
			continue;
		}
		if (i + 1 == n)
			return fail(p, "invalid filter: '%%' at the end of a level (write %%%% for a literal '%%')");
		switch (lit[i + 1]) {
		case '%':
			lit[out++] = '%';
			run++;
			i += 2;
			continue;
		case 's': kind = MJA_PART_SUB; break;
		case 'c': kind = MJA_PART_CID; break;
		case 'u': kind = MJA_PART_USER; break;
		default: {
			char buf[8];

			return fail(p, "invalid filter: unknown escape '%%%s' (%%s %%c %%u %%%% only)",
					shown(buf, sizeof(buf), lit + i + 1, 1));
		}
		}
		if (run) {
			parts[nparts].kind = MJA_PART_LIT;
			parts[nparts].s = lit + out - run;
			parts[nparts++].len = (uint32_t)run;
			run = 0;
		}
		parts[nparts].kind = kind;
		parts[nparts].s = NULL;
		parts[nparts++].len = 0;
		used |= (uint8_t)MJA_SUBST_BIT(kind);
		i += 2;
	}
	if (!used) {
		/* Only "%%": a plain literal after all. */
		lv->kind = MJA_LEVEL_LIT;
		lv->len = (uint32_t)out;
		lv->u.s = lit;
		return MJA_OK;
	}
	if (run) {
		parts[nparts].kind = MJA_PART_LIT;
		parts[nparts].s = lit + out - run;
		parts[nparts++].len = (uint32_t)run;
	}
	lv->kind = MJA_LEVEL_TMPL;
	lv->len = (uint32_t)nparts;
	lv->u.parts = parts;
	*subst |= used;
	return MJA_OK;
}

/* " #" inside a level: most likely an end-of-line comment. */
static int has_blank_hash(const char *lv, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (lv[i] == '#' && mja_text_is_space((unsigned char)lv[i - 1]))
			return 1;
	}
	return 0;
}

/* Split a filter into levels once, at load, so checks never re-parse it.
 * Substitutions may be a whole level ("devices/%s/#") or part of one
 * ("devices/%s-data/#"); they may not share a level with a wildcard. */
static mja_err compile_filter(parser *p, const char *f, size_t len, mja_acl_rule *r)
{
	mja_acl_level *levels;
	mja_level_cursor c;
	const char *lv;
	size_t lvlen, n = 1, i = 0;
	char *copy;

	/* MQTT 3.1.1 1.5.3: topic strings are UTF-8 (NUL was refused per line). */
	if (!mja_utf8_valid(f, len))
		return fail(p, "invalid filter: not valid UTF-8");
	for (size_t k = 0; k < len; k++)
		n += f[k] == '/';
	copy = mja_arena__strndup(&p->acl->arena, f, len);
	levels = mja_arena__alloc(&p->acl->arena, n * sizeof(*levels));
	if (!copy || !levels)
		return MJA_ERR_NOMEM;
	r->subst = 0;
	r->dollar = f[0] == '$';
	r->nlevels = (uint32_t)n;
	r->levels = levels;
	mja_levels_init(&c, copy, len);
	while (mja_levels_next(&c, &lv, &lvlen)) {
		mja_acl_level *out = &levels[i++];
		int plus = memchr(lv, '+', lvlen) != NULL;
		int hash = memchr(lv, '#', lvlen) != NULL;
		int pct = memchr(lv, '%', lvlen) != NULL;
		mja_err rc;

		if ((plus || hash) && pct)
			return fail(p, "invalid filter: a substitution cannot share a level with a wildcard");
		/* MQTT 3.1.1 4.7.1.2 and 4.7.1.3. */
		if (plus && lvlen != 1)
			return fail(p, "invalid filter: '+' must be alone in its level");
		if (hash && lvlen != 1)
			return fail(p, "invalid filter: '#' must be alone in its level%s",
					has_blank_hash(lv, lvlen) ?
					" (comments go on their own line)" : "");
		if (hash && !mja_levels_done(&c))
			return fail(p, "invalid filter: '#' must be the last level");
		if (plus || hash) {
			out->kind = plus ? MJA_LEVEL_PLUS : MJA_LEVEL_HASH;
			out->len = 1;
			out->u.s = lv;
			continue;
		}
		if (pct) {
			rc = compile_template(p, (char *)lv, lvlen, out, &r->subst);
			if (rc != MJA_OK)
				return rc;
			continue;
		}
		out->kind = MJA_LEVEL_LIT;
		out->len = (uint32_t)lvlen;
		out->u.s = lv;
	}
	return MJA_OK;
}

/* `pattern ACCESS FILTER` / `topic ACCESS FILTER`; rest starts after the keyword. */
static mja_err parse_rule(parser *p, const char *kw, const char *line, size_t len,
		size_t pos, uint32_t section)
{
	mja_acl_rule r;
	const char *acc;
	size_t acclen, end = len;
	char buf[48];
	mja_err rc;

	memset(&r, 0, sizeof(r));
	if (!next_token(line, len, &pos, &acc, &acclen))
		return fail(p, "'%s' needs an access word and a filter", kw);
	if (word_is(acc, acclen, "read"))
		r.access = MJA_ACCESS_READ;
	else if (word_is(acc, acclen, "write"))
		r.access = MJA_ACCESS_WRITE;
	else if (word_is(acc, acclen, "readwrite"))
		r.access = MJA_ACCESS_READ | MJA_ACCESS_WRITE;
	else if (word_is(acc, acclen, "deny"))
		r.access = MJA_RULE_DENY;
	else
		return fail(p, "bad access word '%s' (read, write, readwrite or deny)",
				shown(buf, sizeof(buf), acc, acclen));
	while (pos < len && mja_text_is_space((unsigned char)line[pos]))
		pos++;
	while (end > pos && mja_text_is_space((unsigned char)line[end - 1]))
		end--;
	if (pos == end)
		return fail(p, "'%s %.*s' needs a filter", kw, (int)acclen, acc);
	rc = compile_filter(p, line + pos, end - pos, &r);
	if (rc != MJA_OK)
		return rc;
	r.line = p->line > UINT32_MAX ? UINT32_MAX : (uint32_t)p->line;
	return push_rule(p, &r, section);
}

/* `sub NAME`, `sub PREFIX*`, `role NAME`: start (or continue) a section. */
static mja_err parse_section(parser *p, const char *kw, int is_role, const char *line,
		size_t len, size_t pos)
{
	const char *name, *extra;
	size_t nlen, elen;
	uint8_t kind = is_role ? MJA_KEY_ROLE : MJA_KEY_SUB;
	uint32_t section = p->nsections;
	int added;
	char buf[48];
	mja_err rc;

	if (!next_token(line, len, &pos, &name, &nlen))
		return fail(p, "'%s' needs a name", kw);
	if (next_token(line, len, &pos, &extra, &elen))
		return fail(p, "'%s' takes one name; unexpected '%s' after it", kw,
				shown(buf, sizeof(buf), extra, elen));
	if (!mja_utf8_valid(name, nlen))
		return fail(p, "%s name is not valid UTF-8", kw);
	if (is_role && name[nlen - 1] == '*')
		return fail(p, "role names have no prefix form: '*' at the end of a role name");
	if (!is_role) {
		if (name[nlen - 1] == '*') {
			kind = MJA_KEY_PREFIX;
			nlen--; /* only a trailing '*' is special; "sub *" is every sub */
		}
		/* docs/design.md, Token rules 7: a token's sub never holds '+' or '#' and is at most
		 * 256 bytes, so such a section could never apply. */
		if (memchr(name, '+', nlen) || memchr(name, '#', nlen))
			return fail(p, "sub name contains '+' or '#', which no token's sub may contain");
		if (nlen > SUB_MAX)
			return fail(p, "sub name longer than %u bytes, which no token's sub may be", SUB_MAX);
	}
	if (section == NO_SECTION)
		return fail(p, "too many sections");
	rc = mja_acl__htab_upsert(&p->acl->htab, &p->acl->arena, kind, name, nlen, &section, &added);
	if (rc != MJA_OK)
		return rc;
	if (added)
		p->nsections++;
	p->cur = section; /* a repeated section adds to the first one */
	return MJA_OK;
}

static mja_err parse_line(parser *p, const char *line, size_t len)
{
	const char *kw;
	size_t kwlen, pos = 0;
	char buf[48];

	if (memchr(line, '\0', len))
		return fail(p, "NUL byte in line");
	if (!next_token(line, len, &pos, &kw, &kwlen) || kw[0] == '#')
		return MJA_OK; /* blank or comment */
	if (word_is(kw, kwlen, "pattern")) {
		/* A pattern applies to every token client, wherever it stands; it
		 * also closes the current section, so a `topic` line after it
		 * cannot silently land in the section above. */
		p->cur = NO_SECTION;
		return parse_rule(p, "pattern", line, len, pos, 0);
	}
	if (word_is(kw, kwlen, "topic")) {
		if (p->cur == NO_SECTION)
			return fail(p, "'topic' outside a section (put it after 'sub NAME' or 'role NAME')");
		return parse_rule(p, "topic", line, len, pos, p->cur);
	}
	if (word_is(kw, kwlen, "sub"))
		return parse_section(p, "sub", 0, line, len, pos);
	if (word_is(kw, kwlen, "role"))
		return parse_section(p, "role", 1, line, len, pos);
	if (word_is(kw, kwlen, "user"))
		return fail(p, "unknown directive 'user' (this file uses 'sub NAME' for a token's subject)");
	return fail(p, "unknown directive '%s' (pattern, sub, role or topic)",
			shown(buf, sizeof(buf), kw, kwlen));
}

/* Group the rules by section (stable, so file order is kept inside each),
 * and build the prefix trie. */
static mja_err finish(parser *p)
{
	mja_acl *acl = p->acl;
	mja_acl_prefix *pfx = NULL;
	size_t npfx = 0;
	mja_err rc;

	acl->nsections = p->nsections;
	acl->nsubjects = p->nsections - 1;
	acl->nrules = p->nrules;
	acl->sections = calloc(p->nsections, sizeof(*acl->sections));
	acl->rules = calloc(p->nrules ? p->nrules : 1, sizeof(*acl->rules));
	if (!acl->sections || !acl->rules)
		return MJA_ERR_NOMEM;
	for (size_t i = 0; i < p->nrules; i++)
		acl->sections[p->rsec[i]].count++;
	for (size_t s = 1; s < p->nsections; s++)
		acl->sections[s].first = acl->sections[s - 1].first + acl->sections[s - 1].count;
	for (size_t s = 0; s < p->nsections; s++)
		acl->sections[s].count = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		mja_acl_section *sec = &acl->sections[p->rsec[i]];

		acl->rules[sec->first + sec->count++] = p->rules[i];
	}

	for (size_t i = 0; i < acl->htab.cap; i++)
		npfx += acl->htab.slots[i].name && acl->htab.slots[i].kind == MJA_KEY_PREFIX;
	if (npfx) {
		size_t k = 0;

		pfx = calloc(npfx, sizeof(*pfx));
		if (!pfx)
			return MJA_ERR_NOMEM;
		for (size_t i = 0; i < acl->htab.cap; i++) {
			const mja_acl_hentry *e = &acl->htab.slots[i];

			if (e->name && e->kind == MJA_KEY_PREFIX) {
				pfx[k].name = e->name;
				pfx[k].len = e->len;
				pfx[k++].section = e->section;
			}
		}
	}
	rc = mja_acl__trie_build(&acl->trie, pfx, npfx);
	free(pfx);
	return rc;
}

mja_err mja_acl_load_buf(const char *buf, size_t len, const char *name,
		mja_acl **out, mja_diag *d)
{
	parser p;
	size_t pos = 0;
	mja_err rc;

	if (out)
		*out = NULL;
	if (!out || (!buf && len))
		return MJA_ERR_INVAL;
	memset(&p, 0, sizeof(p));
	p.name = name ? name : "<acl>";
	p.d = d;
	p.cur = NO_SECTION;
	p.nsections = 1;
	p.acl = calloc(1, sizeof(*p.acl));
	if (!p.acl)
		return MJA_ERR_NOMEM;
	rc = mja_acl__htab_init(&p.acl->htab);
	while (rc == MJA_OK && pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		p.line++;
		if (llen > ACL_LINE_MAX)
			rc = fail(&p, "line too long (more than %u bytes)", ACL_LINE_MAX);
		else
			rc = parse_line(&p, buf + pos, llen);
		pos += llen + (nl != NULL);
	}
	if (rc == MJA_OK)
		rc = finish(&p);
	free(p.rules);
	free(p.rsec);
	if (rc != MJA_OK) {
		if (rc == MJA_ERR_NOMEM || rc == MJA_ERR_INTERNAL)
			mja_diag_set(d, "%s: %s", p.name, mja_strerror(rc));
		mja_acl_free(p.acl);
		return rc;
	}
	*out = p.acl;
	return MJA_OK;
}

mja_err mja_acl_load_file(const char *path, mja_acl **out, mja_diag *d)
{
	char *buf;
	size_t len;
	mja_err rc;

	if (out)
		*out = NULL;
	if (!path || !out)
		return MJA_ERR_INVAL;
	/* file.h: a regular file only (a FIFO never blocks the broker), not
	 * writable by every user (anyone could grant themselves rights) */
	rc = mja_file_read(path, ACL_FILE_MAX, MJA_FILE_TRUSTED, &buf, &len, d);
	if (rc != MJA_OK)
		return rc;
	rc = mja_acl_load_buf(buf, len, path, out, d);
	mja_file_free(buf, len);
	return rc;
}

void mja_acl_free(mja_acl *acl)
{
	if (!acl)
		return;
	free(acl->rules);
	free(acl->sections);
	mja_acl__htab_free(&acl->htab);
	mja_acl__trie_free(&acl->trie);
	mja_arena__free(&acl->arena);
	free(acl);
}

size_t mja_acl_rule_count(const mja_acl *acl)
{
	return acl ? acl->nrules : 0;
}

size_t mja_acl_subject_count(const mja_acl *acl)
{
	return acl ? acl->nsubjects : 0;
}
