/* acl_internal.h - the loaded ACL's data structures, shared by acl_parse.c
 * (builds them), acl_index.c (hash table, prefix trie, arena) and acl.c
 * (decisions). Not part of the library's contract: only acl.h is.
 *
 * Everything a loaded mja_acl points to lives in its arena or in arrays it
 * owns; mja_acl_free releases them all at once.
 */
#ifndef MJA_ACL_INTERNAL_H
#define MJA_ACL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "mja/topic/acl.h"

/* ---- arena: many small, never individually freed allocations ---- */
typedef struct mja_arena_chunk mja_arena_chunk;
typedef struct mja_arena {
	mja_arena_chunk *head;
	size_t chunk;          /* bytes per chunk; 0 = 64 KiB (a loaded file) */
} mja_arena;

/* 8-byte aligned storage for n bytes, or NULL. */
void *mja_arena__alloc(mja_arena *a, size_t n);
/* A copy of s[0..len) followed by a NUL, or NULL. */
char *mja_arena__strndup(mja_arena *a, const char *s, size_t len);
void mja_arena__free(mja_arena *a);

/* Make room for need elements of size bytes in the realloc'd array *p of
 * *cap elements (doubling; at most UINT32_MAX). 0 if out of memory. */
int mja_acl__grow(void **p, size_t *cap, size_t need, size_t size);

/* ---- rules ---- */
enum {
	MJA_PART_LIT,    /* literal bytes */
	MJA_PART_SUB,    /* %s */
	MJA_PART_CID,    /* %c */
	MJA_PART_USER,   /* %u */
	MJA_PART__N
};
#define MJA_SUBST_BIT(kind) (1u << (kind)) /* for MJA_PART_SUB..USER */

typedef struct mja_acl_part {
	uint8_t kind;
	uint32_t len;          /* MJA_PART_LIT only */
	const char *s;         /* MJA_PART_LIT only */
} mja_acl_part;

enum {
	MJA_LEVEL_LIT,   /* compare bytes s[0..len) */
	MJA_LEVEL_PLUS,  /* '+' */
	MJA_LEVEL_HASH,  /* '#', always the last level */
	MJA_LEVEL_TMPL   /* parts[0..len) concatenated after substitution */
};

typedef struct mja_acl_level {
	uint8_t kind;
	uint32_t len;          /* bytes (LIT) or number of parts (TMPL) */
	union {
		const char *s;
		const mja_acl_part *parts;
	} u;
} mja_acl_level;

#define MJA_RULE_DENY 0x80u  /* access bit for deny rules */

typedef struct mja_acl_rule {
	uint8_t access;        /* MJA_ACCESS_READ | MJA_ACCESS_WRITE, or MJA_RULE_DENY */
	uint8_t subst;         /* MJA_SUBST_BIT()s of the substitutions used */
	uint8_t dollar;        /* written filter starts with '$' (MQTT 4.7.2) */
	uint32_t nlevels;
	uint32_t line;         /* line in the file, for logs and tests */
	const mja_acl_level *levels;
} mja_acl_rule;

/* A section: rules[first .. first + count) of the acl's rule array.
 * Section 0 holds the pattern rules. */
typedef struct mja_acl_section {
	size_t first;
	size_t count;
} mja_acl_section;

/* ---- index: exact subjects, roles and prefixes hashed; prefixes also in a trie ---- */
enum {
	MJA_KEY_SUB = 1,     /* sub NAME */
	MJA_KEY_PREFIX = 2,  /* sub PREFIX* (hashed only while loading, to merge) */
	MJA_KEY_ROLE = 3     /* role NAME */
};

typedef struct mja_acl_hentry {
	uint64_t hash;
	const char *name;      /* arena; NULL = empty slot */
	uint32_t len;
	uint8_t kind;
	uint32_t section;
} mja_acl_hentry;

/* Open addressing with linear probing; capacity a power of two, at most
 * half full. SipHash-2-4 with a key drawn from getrandom() per load, so
 * nobody can pick names that collide. */
typedef struct mja_acl_htab {
	mja_acl_hentry *slots;
	size_t cap;            /* 0 or a power of two */
	size_t used;
	uint64_t key[2];
} mja_acl_htab;

mja_err mja_acl__htab_init(mja_acl_htab *t);
void mja_acl__htab_free(mja_acl_htab *t);
/* Section of (kind, name) or UINT32_MAX. */
uint32_t mja_acl__htab_find(const mja_acl_htab *t, uint8_t kind,
		const char *name, size_t len);
/* Find (kind, name); if absent insert it with section *section (name is
 * copied into the arena). Sets *section to the stored value and *added. */
mja_err mja_acl__htab_upsert(mja_acl_htab *t, mja_arena *a, uint8_t kind,
		const char *name, size_t len, uint32_t *section, int *added);

#define MJA_TRIE_NONE UINT32_MAX

typedef struct mja_acl_tnode {
	uint32_t section;      /* MJA_TRIE_NONE if no prefix ends here */
	uint32_t first_edge;
	uint32_t nedges;       /* edges sorted by their label's first byte */
} mja_acl_tnode;

typedef struct mja_acl_tedge {
	const char *label;     /* arena, non-empty */
	uint32_t len;
	uint32_t child;
} mja_acl_tedge;

/* A compressed (radix) trie of the prefix sections; node 0 is the root. */
typedef struct mja_acl_trie {
	mja_acl_tnode *nodes;
	size_t nnodes;
	mja_acl_tedge *edges;
	size_t nedges;
} mja_acl_trie;

typedef struct mja_acl_prefix {
	const char *name;      /* arena */
	size_t len;
	uint32_t section;
} mja_acl_prefix;

/* Build from n prefixes (sorted in place); n may be 0 (empty trie). */
mja_err mja_acl__trie_build(mja_acl_trie *t, mja_acl_prefix *p, size_t n);
void mja_acl__trie_free(mja_acl_trie *t);
/* Calls fn(section, arg) for every prefix of s[0..len), shortest first;
 * stops and returns the first non-zero value fn returns, else 0. */
int mja_acl__trie_walk(const mja_acl_trie *t, const char *s, size_t len,
		int (*fn)(uint32_t section, void *arg), void *arg);

/* ---- matching one rule (acl.c); the acl claim (aclclaim.c) uses it too ---- */

/* The substitution values of one check, looked at only when a rule needs
 * them (most checks never do). Zero-initialise, then set who. */
typedef struct mja_acl_vals {
	const mja_acl_who *who;
	uint8_t computed;      /* MJA_SUBST_BIT()s of the values looked at so far */
	uint8_t usable;        /* ... and of those that are usable */
	const char *val[MJA_PART__N];
	size_t vlen[MJA_PART__N];
} mja_acl_vals;

/* Look at the values of the MJA_SUBST_BIT()s in need. A value that is
 * NULL, empty, or holds '/', '+' or '#' is not usable (acl.h). */
void mja_acl__vals_need(mja_acl_vals *v, uint8_t need);

/* 1 iff rule r matches topic t[0..tlen), or with cover, covers filter t
 * (every topic t matches, r matches too). The caller has made r's values
 * known (mja_acl__vals_need) and skipped allow rules whose values are not
 * usable; in what is left (deny rules) a level holding an unusable value
 * stands for any value, like '+'. The '$' rule (MQTT 4.7.2: r->dollar) is
 * the caller's too. */
int mja_acl__rule_applies(const mja_acl_vals *v, const mja_acl_rule *r,
		const char *t, size_t tlen, int cover);

struct mja_acl {
	mja_acl_rule *rules;
	size_t nrules;
	mja_acl_section *sections;
	size_t nsections;
	size_t nsubjects;      /* sub + role sections */
	mja_acl_htab htab;     /* MJA_KEY_SUB and MJA_KEY_ROLE used at check time */
	mja_acl_trie trie;
	mja_arena arena;
};

#endif
