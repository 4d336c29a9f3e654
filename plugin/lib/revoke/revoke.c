/* revoke.c - the revocation list (revoke.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "mja/token/claims.h"
#include "mja/revoke/revoke.h"
#include "mja/util/file.h"
#include "mja/util/text.h"

_Static_assert(MJA_REVOKE_MAX_VALUE == 1024, "the message in value_problem");

enum kind { KIND_JTI = 1, KIND_SUB, KIND_KID };

/* One slot of the open-addressing table: 16 bytes, so that a million
 * entries (two million slots, at most half full) take 32 MiB. The value
 * itself stays where it is in the file's text, which the list keeps (one
 * copy of the values, no allocation per entry). len 0: empty slot. */
#define SLOT_ALL 1u               /* flags: `sub X` without before */
#define NO_BEFORE UINT32_MAX

typedef struct slot {
	uint32_t h32;          /* high half of the hash (low half: the index) */
	uint32_t off;          /* value at text + off */
	uint16_t len;          /* value length, 1..MJA_REVOKE_MAX_VALUE */
	uint8_t kind;
	uint8_t flags;
	uint32_t before;       /* sub before: index into befores, or NO_BEFORE */
} slot;

struct mja_revoke {
	uint64_t seed;
	slot *slots;
	size_t mask;           /* number of slots - 1 (a power of two - 1) */
	size_t count;
	char *text;            /* the file's bytes, owned */
	size_t text_len;
	int text_from_reader;  /* text is released with mja_file_free */
	int64_t *befores;      /* cut-offs of `sub X before T` lines */
	size_t n_befores, cap_befores;
	int has_nul;           /* while parsing: the text holds a NUL byte */
};

/* A 64-bit mixer (the finaliser of MurmurHash3): every input bit affects
 * every output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/* Seeded hash of the kind byte and the value: a list's seed is random, so
 * neither the file nor a token can aim at one chain of the table. */
static uint64_t hash(uint64_t seed, unsigned kind, const char *p, size_t n)
{
	uint64_t h = seed ^ ((uint64_t)kind * UINT64_C(0x9e3779b97f4a7c15)) ^
		((uint64_t)n * UINT64_C(0xc2b2ae3d27d4eb4f));
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, p, 8);
		h = mix(h ^ w) + UINT64_C(0x9e3779b97f4a7c15);
		p += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, p, n);
	return mix(h ^ w ^ ((uint64_t)n << 56));
}

/* The slot holding (kind, value), or the empty slot where it would go. */
static slot *find(const mja_revoke *r, uint64_t h, unsigned kind, const char *p, size_t n)
{
	size_t i = (size_t)h & r->mask;
	uint32_t h32 = (uint32_t)(h >> 32);

	for (;;) {
		slot *s = &r->slots[i];

		if (s->len == 0)
			return s;
		if (s->h32 == h32 && s->len == n && s->kind == kind &&
		    memcmp(r->text + s->off, p, n) == 0)
			return s;
		i = (i + 1) & r->mask;
	}
}

static void printable(const char *s, size_t len, char *buf, size_t size)
{
	mja_text_printable(s, len, buf, size);
}

static int is_blank(char c)
{
	return mja_text_is_blank((unsigned char)c);
}

/* NULL if v[0..n) is an acceptable value, else the reason. */
static const char *value_problem(const char *v, size_t n)
{
	const unsigned char *p = (const unsigned char *)v;

	if (n > MJA_REVOKE_MAX_VALUE)
		return "value longer than 1024 bytes";
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return "control character in value";
	if (!mja_utf8_valid(v, n))
		return "invalid UTF-8 in value";
	return NULL;
}

/* A whole number of seconds, 0..INT64_MAX, digits only. */
static int parse_time(const char *p, size_t n, int64_t *out)
{
	int64_t x = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		if (x > (INT64_MAX - (p[i] - '0')) / 10)
			return 0;
		x = x * 10 + (p[i] - '0');
	}
	*out = x;
	return 1;
}

/* Add (kind, value at text + off); for sub: all, or a cut-off. The table
 * has room (it is sized from the number of lines before parsing). */
static mja_err add(mja_revoke *r, uint64_t h, unsigned kind, const char *v, size_t n,
		int all, int64_t before)
{
	slot *s = find(r, h, kind, v, n);

	if (s->len == 0) {
		s->h32 = (uint32_t)(h >> 32);
		s->off = (uint32_t)(v - r->text);
		s->len = (uint16_t)n;
		s->kind = (uint8_t)kind;
		s->flags = all ? SLOT_ALL : 0;
		s->before = NO_BEFORE;
		r->count++;
	} else if (all) {
		s->flags |= SLOT_ALL;
	}
	if (kind != KIND_SUB || all)
		return MJA_OK;
	if (s->before != NO_BEFORE) {
		if (before > r->befores[s->before])
			r->befores[s->before] = before;   /* the latest cut-off counts */
		return MJA_OK;
	}
	if (r->n_befores == r->cap_befores) {
		size_t cap = r->cap_befores ? 2 * r->cap_befores : 16;
		int64_t *nb = realloc(r->befores, cap * sizeof(*nb));

		if (!nb)
			return MJA_ERR_NOMEM;
		r->befores = nb;
		r->cap_befores = cap;
	}
	r->befores[r->n_befores] = before;
	s->before = (uint32_t)r->n_befores++;
	return MJA_OK;
}

/* Loading a million lines is dominated by cache misses on the table (one
 * random slot per line): entries are hashed as they are parsed, their slot
 * prefetched, and inserted PENDING lines later, in file order. */
#define PENDING 16

typedef struct pending {
	uint64_t h;
	const char *v;
	size_t n;
	unsigned kind;
	int all;
	int64_t before;
} pending;

typedef struct loader {
	pending q[PENDING];
	size_t head, used;
} loader;

static mja_err flush_one(mja_revoke *r, loader *l)
{
	pending *e = &l->q[l->head];

	l->head = (l->head + 1) % PENDING;
	l->used--;
	return add(r, e->h, e->kind, e->v, e->n, e->all, e->before);
}

static mja_err enqueue(mja_revoke *r, loader *l, unsigned kind, const char *v, size_t n,
		int all, int64_t before)
{
	pending *e;
	mja_err err = MJA_OK;

	if (l->used == PENDING)
		err = flush_one(r, l);
	e = &l->q[(l->head + l->used++) % PENDING];
	e->h = hash(r->seed, kind, v, n);
	e->v = v;
	e->n = n;
	e->kind = kind;
	e->all = all;
	e->before = before;
	__builtin_prefetch(&r->slots[(size_t)e->h & r->mask], 1);
	return err;
}

typedef struct word {
	const char *p;
	size_t n;
} word;

/* Split a line into words; a word starting with '#' begins a comment.
 * Stores the first max words in w and returns how many there are. */
static size_t split(const char *p, size_t n, word *w, size_t max)
{
	size_t i = 0, k = 0;

	for (;;) {
		size_t start;

		while (i < n && is_blank(p[i]))
			i++;
		if (i == n || p[i] == '#')
			return k;
		start = i;
		while (i < n && !is_blank(p[i]))
			i++;
		if (k < max) {
			w[k].p = p + start;
			w[k].n = i - start;
		}
		k++;
	}
}

/* "NAME:LINE: pre<arg>post", arg escaped for the log (may be NULL). */
static mja_err line_error(mja_diag *d, const char *name, size_t line, const char *pre,
		const char *arg, size_t arglen, const char *post)
{
	char buf[96];

	if (arg)
		printable(arg, arglen, buf, sizeof(buf));
	mja_diag_set(d, "%s:%zu: %s%s%s", name, line, pre, arg ? buf : "", post ? post : "");
	return MJA_ERR_CONFIG;
}

static mja_err parse_line(mja_revoke *r, loader *l, const char *p, size_t n,
		const char *name, size_t line, mja_diag *d)
{
	word w[5];
	size_t k;
	unsigned kind;
	const char *problem;
	int64_t before = 0;

	if (r->has_nul && memchr(p, '\0', n))
		return line_error(d, name, line, "NUL byte", NULL, 0, NULL);
	if (n && p[n - 1] == '\r')
		n--;
	k = split(p, n, w, 5);
	if (k == 0)
		return MJA_OK;
	if (w[0].n == 3 && memcmp(w[0].p, "jti", 3) == 0)
		kind = KIND_JTI;
	else if (w[0].n == 3 && memcmp(w[0].p, "sub", 3) == 0)
		kind = KIND_SUB;
	else if (w[0].n == 3 && memcmp(w[0].p, "kid", 3) == 0)
		kind = KIND_KID;
	else
		return line_error(d, name, line, "unknown directive '", w[0].p, w[0].n,
				"' (jti, sub or kid)");
	if (k == 1)
		return line_error(d, name, line, "", w[0].p, w[0].n, " needs a value");
	problem = value_problem(w[1].p, w[1].n);
	if (problem)
		return line_error(d, name, line, problem, NULL, 0, NULL);
	/* the sub rule of claims.h: such a sub can never be in a token */
	if (kind == KIND_SUB && !mja_sub_valid(w[1].p, w[1].n))
		return line_error(d, name, line, "bad sub value '", w[1].p, w[1].n, "'");
	if (k > 2) {
		if (kind != KIND_SUB || w[2].n != 6 || memcmp(w[2].p, "before", 6) != 0)
			return line_error(d, name, line, "unexpected '", w[2].p, w[2].n, "'");
		if (k == 3)
			return line_error(d, name, line, "before needs a time", NULL, 0, NULL);
		if (k > 4)
			return line_error(d, name, line, "unexpected '", w[4].p, w[4].n, "'");
		if (!parse_time(w[3].p, w[3].n, &before))
			return line_error(d, name, line, "\"", w[3].p, w[3].n,
					"\" is not a time (whole seconds since 1970)");
	}
	return enqueue(r, l, kind, w[1].p, w[1].n, k == 2, before);
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;
	struct timespec ts;

	if (RAND_bytes((unsigned char *)&s, sizeof(s)) == 1)
		return s;
	/* no entropy source: still differs per process and load */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid());
}

/* Parse text[0..len), which the list takes over: malloc'd, or from
 * mja_file_read (from_reader). */
static mja_err parse_owned(char *text, size_t len, int from_reader, const char *name,
		mja_revoke **out, mja_diag *d)
{
	mja_revoke *r;
	size_t lines = 1, slots = 16, line = 0;
	const char *p, *end = text + len;
	loader l = { .head = 0 };
	mja_err e = MJA_OK;

	if (!name)
		name = "(revocation list)";
	r = calloc(1, sizeof(*r));
	if (!r) {
		if (from_reader)
			mja_file_free(text, len);
		else
			free(text);
		return MJA_ERR_NOMEM;
	}
	r->text = text;
	r->text_len = len;
	r->text_from_reader = from_reader;
	/* the offsets are 32-bit */
	if (len >= UINT32_MAX) {
		mja_diag_set(d, "%s: file too large", name);
		e = MJA_ERR_CONFIG;
		goto out;
	}
	r->has_nul = memchr(text, '\0', len) != NULL;
	for (const char *q = text; (q = memchr(q, '\n', (size_t)(end - q))); q++)
		lines++;
	/* at most one entry a line; at most half full */
	while (slots < 2 * lines)
		slots *= 2;
	r->seed = random_seed();
	r->slots = calloc(slots, sizeof(slot));
	if (!r->slots) {
		e = MJA_ERR_NOMEM;
		mja_diag_set(d, "%s: %s", name, mja_strerror(e));
		goto out;
	}
	r->mask = slots - 1;
	for (p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		line++;
		e = parse_line(r, &l, p, (size_t)(eol - p), name, line, d);
		if (e != MJA_OK)
			goto out;
		p = nl ? nl + 1 : end;
	}
	while (l.used)
		if ((e = flush_one(r, &l)) != MJA_OK)
			goto out;
	*out = r;
	return MJA_OK;
out:
	if (e == MJA_ERR_NOMEM)
		mja_diag_set(d, "%s: %s", name, mja_strerror(e));
	mja_revoke_free(r);
	return e;
}

mja_err mja_revoke_parse(const char *buf, size_t len, const char *name,
		mja_revoke **out, mja_diag *d)
{
	char *copy;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!buf && len)
		return MJA_ERR_INVAL;
	copy = malloc(len ? len : 1);
	if (!copy)
		return MJA_ERR_NOMEM;
	if (len)
		memcpy(copy, buf, len);
	return parse_owned(copy, len, 0, name, out, d);
}

mja_err mja_revoke_load_file(const char *path, mja_revoke **out, mja_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	mja_err e;

	if (!out || !path)
		return MJA_ERR_INVAL;
	*out = NULL;
	/* anyone who can write the file can un-revoke a token */
	e = mja_file_read(path, MJA_REVOKE_MAX_FILE, MJA_FILE_TRUSTED, &buf, &len, d);
	if (e != MJA_OK)
		return e;
	/* the list keeps the text: its values are not copied again */
	return parse_owned(buf, len, 1, path, out, d);
}

void mja_revoke_free(mja_revoke *r)
{
	if (!r)
		return;
	free(r->slots);
	if (r->text_from_reader)
		mja_file_free(r->text, r->text_len);
	else
		free(r->text);
	free(r->befores);
	free(r);
}

size_t mja_revoke_count(const mja_revoke *r)
{
	return r ? r->count : 0;
}

static const slot *lookup(const mja_revoke *r, unsigned kind, const char *v)
{
	size_t n = strlen(v);
	const slot *s;

	if (n == 0 || n > MJA_REVOKE_MAX_VALUE)
		return NULL;   /* no line can hold it */
	s = find(r, hash(r->seed, kind, v, n), kind, v, n);
	return s->len ? s : NULL;
}

mja_err mja_revoke_check(const mja_revoke *r, const mja_revoke_query *q)
{
	const slot *s;

	if (!r || !q || r->count == 0)
		return MJA_OK;
	if (q->jti && lookup(r, KIND_JTI, q->jti))
		return MJA_ERR_REVOKED;
	if (q->kid && lookup(r, KIND_KID, q->kid))
		return MJA_ERR_REVOKED;
	if (q->sub && (s = lookup(r, KIND_SUB, q->sub))) {
		/* a token without iat cannot show it is newer (revoke.h) */
		if ((s->flags & SLOT_ALL) || s->before == NO_BEFORE || !q->has_iat ||
		    q->iat < r->befores[s->before])
			return MJA_ERR_REVOKED;
	}
	return MJA_OK;
}

void mja_revoke_stamp_get(const char *path, mja_revoke_stamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (!path || stat(path, &sb) != 0)
		return;
	st->exists = 1;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	st->ctime_ns = (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
}

int mja_revoke_stamp_equal(const mja_revoke_stamp *a, const mja_revoke_stamp *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
		a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}
