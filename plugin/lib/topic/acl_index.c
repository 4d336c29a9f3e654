/* acl_index.c - the ACL's lookup structures: an arena, a SipHash-keyed
 * open-addressing table for exact subjects and roles, and a radix trie for
 * prefix sections. Lookups cost the length of the name, never the number
 * of names in the file (docs/design.md, "ACL semantics").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mja/topic/acl_internal.h"

/* ------------------------------------------------------------ arena */

struct mja_arena_chunk {
	mja_arena_chunk *next;
	size_t used;
	size_t cap;
	_Alignas(8) unsigned char data[];
};

#define ARENA_CHUNK 65536u

void *mja_arena__alloc(mja_arena *a, size_t n)
{
	mja_arena_chunk *c = a->head;
	size_t need = (n + 7u) & ~(size_t)7u;
	void *p;

	if (need < n)
		return NULL; /* overflow */
	if (!c || c->cap - c->used < need) {
		size_t chunk = a->chunk ? a->chunk : ARENA_CHUNK;
		size_t cap = need > chunk ? need : chunk;

		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	return p;
}

char *mja_arena__strndup(mja_arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = mja_arena__alloc(a, len + 1);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void mja_arena__free(mja_arena *a)
{
	mja_arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ------------------------------------------------------------ SipHash-2-4 */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t load64_le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of m[0..len) under key k. */
static uint64_t siphash24(const uint64_t k[2], const void *m, size_t len)
{
	const unsigned char *p = m;
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k[1] ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56;
	size_t left = len & 7;
	const unsigned char *end = p + len - left;

	for (; p != end; p += 8) {
		uint64_t mi = load64_le(p);

		v3 ^= mi;
		SIPROUND;
		SIPROUND;
		v0 ^= mi;
	}
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------ hash table */

mja_err mja_acl__htab_init(mja_acl_htab *t)
{
	unsigned char *k = (unsigned char *)t->key;
	size_t got = 0;

	memset(t, 0, sizeof(*t));
	while (got < sizeof(t->key)) {
		ssize_t r = getrandom(k + got, sizeof(t->key) - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return MJA_ERR_INTERNAL; /* no key: refuse rather than hash predictably */
		}
		got += (size_t)r;
	}
	return MJA_OK;
}

void mja_acl__htab_free(mja_acl_htab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->used = 0;
}

static uint64_t htab_hash(const mja_acl_htab *t, uint8_t kind, const char *name, size_t len)
{
	/* The kind only moves the probe start; entries compare it anyway. */
	return siphash24(t->key, name, len) ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ULL);
}

static mja_acl_hentry *htab_slot(const mja_acl_htab *t, uint64_t h, uint8_t kind,
		const char *name, size_t len)
{
	size_t mask = t->cap - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		mja_acl_hentry *e = &t->slots[i];

		if (!e->name)
			return e;
		if (e->hash == h && e->kind == kind && e->len == len &&
				memcmp(e->name, name, len) == 0)
			return e;
	}
}

uint32_t mja_acl__htab_find(const mja_acl_htab *t, uint8_t kind, const char *name, size_t len)
{
	const mja_acl_hentry *e;

	if (t->cap == 0 || len > UINT32_MAX)
		return UINT32_MAX;
	e = htab_slot(t, htab_hash(t, kind, name, len), kind, name, len);
	return e->name ? e->section : UINT32_MAX;
}

static mja_err htab_grow(mja_acl_htab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	mja_acl_hentry *old = t->slots, *ns;
	size_t ocap = t->cap;

	if (ncap < t->cap || ncap > SIZE_MAX / sizeof(*ns))
		return MJA_ERR_NOMEM;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return MJA_ERR_NOMEM;
	t->slots = ns;
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].name)
			*htab_slot(t, old[i].hash, old[i].kind, old[i].name, old[i].len) = old[i];
	}
	free(old);
	return MJA_OK;
}

mja_err mja_acl__htab_upsert(mja_acl_htab *t, mja_arena *a, uint8_t kind,
		const char *name, size_t len, uint32_t *section, int *added)
{
	mja_acl_hentry *e;
	uint64_t h;
	mja_err rc;

	*added = 0;
	if (len > UINT32_MAX)
		return MJA_ERR_INVAL;
	/* Keep the load factor at or below 1/2 so probes stay short. */
	if (t->used + 1 > t->cap / 2) {
		rc = htab_grow(t);
		if (rc != MJA_OK)
			return rc;
	}
	h = htab_hash(t, kind, name, len);
	e = htab_slot(t, h, kind, name, len);
	if (e->name) {
		*section = e->section;
		return MJA_OK;
	}
	e->name = mja_arena__strndup(a, name, len);
	if (!e->name)
		return MJA_ERR_NOMEM;
	e->hash = h;
	e->len = (uint32_t)len;
	e->kind = kind;
	e->section = *section;
	t->used++;
	*added = 1;
	return MJA_OK;
}

/* ------------------------------------------------------------ prefix trie */

static int prefix_cmp(const void *pa, const void *pb)
{
	const mja_acl_prefix *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->name, b->name, n) : 0;

	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

typedef struct trie_builder {
	mja_acl_trie *t;
	size_t ncap, ecap;
} trie_builder;

int mja_acl__grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return 0;
		ncap *= 2;
	}
	if (ncap == *cap)
		return 1;
	if (ncap > SIZE_MAX / size || ncap > UINT32_MAX)
		return 0;
	np = realloc(*p, ncap * size);
	if (!np)
		return 0;
	*p = np;
	*cap = ncap;
	return 1;
}

/* Build the node for sorted prefixes p[lo..hi) that all share their first
 * depth bytes (and no more, across the group, unless it is one prefix).
 * Recursion depth is bounded by the longest prefix (a line). */
static mja_err trie_node(trie_builder *b, const mja_acl_prefix *p, size_t lo, size_t hi,
		size_t depth, uint32_t *out)
{
	mja_acl_trie *t = b->t;
	uint32_t node, first, ngroups = 0;
	size_t i, g;

	if (!mja_acl__grow((void **)&t->nodes, &b->ncap, t->nnodes + 1, sizeof(*t->nodes)))
		return MJA_ERR_NOMEM;
	node = (uint32_t)t->nnodes++;
	t->nodes[node].section = MJA_TRIE_NONE;
	/* Sorted shorter-first: a prefix ending exactly here comes first. */
	if (lo < hi && p[lo].len == depth)
		t->nodes[node].section = p[lo++].section;
	for (i = lo; i < hi; ngroups++) {
		unsigned char c = (unsigned char)p[i].name[depth];

		while (i < hi && (unsigned char)p[i].name[depth] == c)
			i++;
	}
	if (!mja_acl__grow((void **)&t->edges, &b->ecap, t->nedges + ngroups, sizeof(*t->edges)))
		return MJA_ERR_NOMEM;
	first = (uint32_t)t->nedges;
	t->nedges += ngroups;
	t->nodes[node].first_edge = first;
	t->nodes[node].nedges = ngroups;
	for (i = lo, g = 0; i < hi; g++) {
		unsigned char c = (unsigned char)p[i].name[depth];
		size_t j = i, lcp = depth + 1;
		const mja_acl_prefix *a, *z;
		uint32_t child;
		mja_err rc;

		while (j < hi && (unsigned char)p[j].name[depth] == c)
			j++;
		/* In sorted order the group's common prefix is that of its
		 * first and last members. */
		a = &p[i];
		z = &p[j - 1];
		while (lcp < a->len && lcp < z->len && a->name[lcp] == z->name[lcp])
			lcp++;
		rc = trie_node(b, p, i, j, lcp, &child);
		if (rc != MJA_OK)
			return rc;
		t->edges[first + g].label = a->name + depth;
		t->edges[first + g].len = (uint32_t)(lcp - depth);
		t->edges[first + g].child = child;
		i = j;
	}
	*out = node;
	return MJA_OK;
}

mja_err mja_acl__trie_build(mja_acl_trie *t, mja_acl_prefix *p, size_t n)
{
	trie_builder b = { t, 0, 0 };
	uint32_t root;
	mja_err rc;

	memset(t, 0, sizeof(*t));
	if (n == 0)
		return MJA_OK;
	qsort(p, n, sizeof(*p), prefix_cmp);
	rc = trie_node(&b, p, 0, n, 0, &root);
	if (rc != MJA_OK)
		mja_acl__trie_free(t);
	return rc;
}

void mja_acl__trie_free(mja_acl_trie *t)
{
	free(t->nodes);
	free(t->edges);
	memset(t, 0, sizeof(*t));
}

int mja_acl__trie_walk(const mja_acl_trie *t, const char *s, size_t len,
		int (*fn)(uint32_t section, void *arg), void *arg)
{
	const mja_acl_tnode *n;
	size_t pos = 0;
	int r;

	if (t->nnodes == 0)
		return 0;
	n = &t->nodes[0];
	for (;;) {
		const mja_acl_tedge *e = &t->edges[n->first_edge];
		size_t lo = 0, hi = n->nedges;
		unsigned char c;

		if (n->section != MJA_TRIE_NONE && (r = fn(n->section, arg)) != 0)
			return r;
		if (pos == len)
			return 0;
		/* Binary search the edge whose label starts with s[pos]. */
		c = (unsigned char)s[pos];
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			unsigned char m = (unsigned char)e[mid].label[0];

			if (m < c)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n->nedges || (unsigned char)e[lo].label[0] != c)
			return 0;
		e += lo;
		if (e->len > len - pos || memcmp(e->label, s + pos, e->len) != 0)
			return 0;
		pos += e->len;
		n = &t->nodes[e->child];
	}
}
