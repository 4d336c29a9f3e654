/* clients.c - per-client registry with an expiry schedule and a sweep
 * heap for disconnected entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mja/session/clients.h"

typedef struct entry {
	mja_client pub;            /* first: a const mja_client * is an entry */
	struct entry *hnext;       /* hash chain */
} entry;

/* A binary min-heap of entries; the key is exp for the schedule (LIVE)
 * and gone_until for KICKED and GONE entries (key_of). An entry is in at
 * most one of the two, the one its state says (heap_of). */
typedef struct heap {
	entry **a;
	size_t n, cap;
} heap;

struct mja_clients {
	entry **buckets;
	size_t nbuckets;           /* power of two */
	size_t count;
	heap sched;                /* LIVE entries with exp, by exp */
	heap gone;                 /* KICKED and GONE entries, by gone_until */
};

#define NO_INDEX SIZE_MAX

static size_t hash_ptr(const void *p, size_t nbuckets)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	/* Fibonacci hashing; allocator addresses share their low bits */
	x ^= x >> 33;
	x *= 0x9E3779B97F4A7C15ull;
	x ^= x >> 29;
	return (size_t)(x & (nbuckets - 1));
}

mja_clients *mja_clients_new(void)
{
	mja_clients *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->nbuckets = 64;
	r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	if (!r->buckets) {
		free(r);
		return NULL;
	}
	return r;
}

static void entry_free(entry *e)
{
	free(e->pub.clientid);
	free(e->pub.username);
	free(e->pub.address);
	mja_principal_free(e->pub.principal);
	free(e);
}

void mja_clients_free(mja_clients *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbuckets; i++) {
		entry *e = r->buckets[i];

		while (e) {
			entry *next = e->hnext;

			entry_free(e);
			e = next;
		}
	}
	free(r->buckets);
	free(r->sched.a);
	free(r->gone.a);
	free(r);
}

static entry *find(const mja_clients *r, const void *client, entry ***link)
{
	entry **pp = &r->buckets[hash_ptr(client, r->nbuckets)];

	for (; *pp; pp = &(*pp)->hnext) {
		if ((*pp)->pub.client == client) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

static void grow_buckets(mja_clients *r)
{
	size_t n = r->nbuckets * 2;
	entry **b;

	if (n > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return; /* chains just get longer */
	for (size_t i = 0; i < r->nbuckets; i++) {
		entry *e = r->buckets[i];

		while (e) {
			entry *next = e->hnext;
			size_t h = hash_ptr(e->pub.client, n);

			e->hnext = b[h];
			b[h] = e;
			e = next;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

/* ---- the two heaps ---- */

static int64_t key_of(const entry *e)
{
	return e->pub.state == MJA_CLIENT_LIVE ? e->pub.principal->exp : e->pub.gone_until;
}

static heap *heap_of(mja_clients *r, const entry *e)
{
	return e->pub.state == MJA_CLIENT_LIVE ? &r->sched : &r->gone;
}

static void heap_set(heap *h, size_t i, entry *e)
{
	h->a[i] = e;
	e->pub.heap_index = i;
}

static void sift_up(heap *h, size_t i)
{
	entry *e = h->a[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (key_of(h->a[parent]) <= key_of(e))
			break;
		heap_set(h, i, h->a[parent]);
		i = parent;
	}
	heap_set(h, i, e);
}

static void sift_down(heap *h, size_t i)
{
	entry *e = h->a[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		int64_t best = key_of(e);

		if (l < h->n && key_of(h->a[l]) < best) {
			m = l;
			best = key_of(h->a[l]);
		}
		if (l + 1 < h->n && key_of(h->a[l + 1]) < best)
			m = l + 1;
		if (m == i)
			break;
		heap_set(h, i, h->a[m]);
		i = m;
	}
	heap_set(h, i, e);
}

/* Take e out of the heap its state puts it in (if it is in one). Call it
 * before changing e's state or key. */
static void unschedule(mja_clients *r, entry *e)
{
	heap *h = heap_of(r, e);
	size_t i = e->pub.heap_index;
	entry *last;

	if (i == NO_INDEX)
		return;
	e->pub.heap_index = NO_INDEX;
	last = h->a[--h->n];
	if (last == e)
		return;
	heap_set(h, i, last);
	if (i > 0 && key_of(h->a[(i - 1) / 2]) > key_of(last))
		sift_up(h, i);
	else
		sift_down(h, i);
}

/* Room for one more slot, reserved before anything changes so that
 * scheduling itself cannot fail. */
static mja_err heap_reserve(heap *h)
{
	entry **a;
	size_t cap;

	if (h->n < h->cap)
		return MJA_OK;
	cap = h->cap ? h->cap * 2 : 64;
	if (cap > SIZE_MAX / sizeof(*a))
		return MJA_ERR_NOMEM;
	a = realloc(h->a, cap * sizeof(*a));
	if (!a)
		return MJA_ERR_NOMEM;
	h->a = a;
	h->cap = cap;
	return MJA_OK;
}

static void heap_push(heap *h, entry *e)
{
	h->a[h->n] = e;
	e->pub.heap_index = h->n++;
	sift_up(h, e->pub.heap_index);
}

/* A LIVE entry with exp goes on the expiry schedule, a KICKED or GONE one
 * on the sweep heap. Room was reserved. */
static void schedule(mja_clients *r, entry *e)
{
	if (e->pub.state != MJA_CLIENT_LIVE)
		heap_push(&r->gone, e);
	else if (e->pub.principal->has_exp)
		heap_push(&r->sched, e);
}

/* ---- public operations ---- */

static mja_err dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return MJA_OK;
	*out = strdup(s);
	return *out ? MJA_OK : MJA_ERR_NOMEM;
}

mja_err mja_clients_put(mja_clients *r, const void *client, const char *clientid,
		const char *username, int durable, mja_principal *p)
{
	char *id = NULL, *user = NULL;
	entry *e;

	if (!r || !client || !p) {
		mja_principal_free(p);
		return MJA_ERR_INVAL;
	}
	if (heap_reserve(&r->sched) != MJA_OK || dup_opt(clientid, &id) != MJA_OK ||
	    dup_opt(username, &user) != MJA_OK)
		goto nomem;
	e = find(r, client, NULL);
	if (e) {
		unschedule(r, e);
		free(e->pub.clientid);
		free(e->pub.username);
		free(e->pub.address);
		mja_principal_free(e->pub.principal);
	} else {
		size_t h;

		e = calloc(1, sizeof(*e));
		if (!e)
			goto nomem;
		if (r->count >= r->nbuckets)
			grow_buckets(r);
		h = hash_ptr(client, r->nbuckets);
		e->pub.client = client;
		e->hnext = r->buckets[h];
		r->buckets[h] = e;
		r->count++;
	}
	e->pub.clientid = id;
	e->pub.username = user;
	e->pub.address = NULL;
	e->pub.principal = p;
	e->pub.state = MJA_CLIENT_LIVE;
	e->pub.durable = durable != 0;
	e->pub.will_ok = 0;
	e->pub.gone_at = 0;
	e->pub.gone_until = 0;
	e->pub.heap_index = NO_INDEX;
	e->pub.confirmed = 0;
	e->pub.rechecked = 0;
	e->pub.will_seen = 0;
	schedule(r, e);
	return MJA_OK;
nomem:
	free(id);
	free(user);
	mja_principal_free(p);
	return MJA_ERR_NOMEM;
}

mja_err mja_clients_set_principal(mja_clients *r, const void *client, mja_principal *p)
{
	entry *e;

	if (!r || !client || !p || !(e = find(r, client, NULL))) {
		mja_principal_free(p);
		return MJA_ERR_INVAL;
	}
	if (heap_reserve(&r->sched) != MJA_OK) {
		mja_principal_free(p);
		return MJA_ERR_NOMEM;
	}
	unschedule(r, e);
	mja_principal_free(e->pub.principal);
	e->pub.principal = p;
	schedule(r, e);
	return MJA_OK;
}

const mja_client *mja_clients_get(const mja_clients *r, const void *client)
{
	entry *e;

	if (!r || !client)
		return NULL;
	e = find(r, client, NULL);
	return e ? &e->pub : NULL;
}

mja_client *mja_clients_find(mja_clients *r, const void *client)
{
	entry *e;

	if (!r || !client)
		return NULL;
	e = find(r, client, NULL);
	return e ? &e->pub : NULL;
}

mja_err mja_clients_set_address(mja_clients *r, const void *client, const char *address)
{
	mja_client *c = mja_clients_find(r, client);
	char *copy = NULL;

	if (!c)
		return MJA_ERR_INVAL;
	if (dup_opt(address, &copy) != MJA_OK)
		return MJA_ERR_NOMEM;
	free(c->address);
	c->address = copy;
	return MJA_OK;
}

int mja_clients_remove(mja_clients *r, const void *client)
{
	entry **link = NULL;
	entry *e;

	if (!r || !client)
		return 0;
	e = find(r, client, &link);
	if (!e)
		return 0;
	*link = e->hnext;
	r->count--;
	unschedule(r, e);
	entry_free(e);
	return 1;
}

/* LIVE / KICKED -> KICKED / GONE, onto the sweep heap. If there is no room
 * to keep it, the entry is forgotten: its client is then not ours, which
 * fails closed (its will and offline READ checks are left to others). */
static int set_state(mja_clients *r, entry *e, mja_client_state state, int64_t gone_at,
		int64_t until, int will_ok)
{
	if (heap_reserve(&r->gone) != MJA_OK)
		return mja_clients_remove(r, e->pub.client);
	unschedule(r, e);
	e->pub.state = state;
	e->pub.gone_at = gone_at;
	e->pub.gone_until = until;
	e->pub.will_ok = will_ok != 0;
	/* an offline client is never re-checked with its token (session.h):
	 * its token copy is of no more use */
	if (state == MJA_CLIENT_OFFLINE)
		mja_principal_drop_token(e->pub.principal);
	schedule(r, e);
	return 1;
}

int mja_clients_disconnect(mja_clients *r, const void *client, int64_t now,
		int64_t until, int will_ok)
{
	entry *e;

	if (!r || !client)
		return 0;
	e = find(r, client, NULL);
	if (!e)
		return 0;
	if (e->pub.state == MJA_CLIENT_OFFLINE)
		return mja_clients_remove(r, client);
	return set_state(r, e, MJA_CLIENT_OFFLINE, now, until, will_ok);
}

int mja_clients_kick(mja_clients *r, const void *client, int64_t until, int will_ok)
{
	entry *e;

	if (!r || !client)
		return 0;
	e = find(r, client, NULL);
	if (!e || e->pub.state != MJA_CLIENT_LIVE)
		return 0;
	return set_state(r, e, MJA_CLIENT_KICKED, e->pub.gone_at, until, will_ok);
}

size_t mja_clients_sweep(mja_clients *r, int64_t now)
{
	size_t n = 0;

	if (!r)
		return 0;
	/* the heap's top only: O(removed * log n), never a scan. KICKED
	 * entries whose DISCONNECT never came (an offline session) go too. */
	while (r->gone.n && r->gone.a[0]->pub.gone_until <= now) {
		mja_clients_remove(r, r->gone.a[0]->pub.client);
		n++;
	}
	return n;
}

const mja_client *mja_clients_next_expired(const mja_clients *r, int64_t now,
		int64_t leeway)
{
	entry *top;

	if (!r || r->sched.n == 0)
		return NULL;
	top = r->sched.a[0];
	if (leeway < 0)
		leeway = 0;
	/* RFC 7519 4.1.4: expired iff exp + leeway <= now */
	if (now < INT64_MIN + leeway || key_of(top) > now - leeway)
		return NULL;
	return &top->pub;
}

void mja_clients_foreach(const mja_clients *r, int (*fn)(const mja_client *c, void *ctx),
		void *ctx)
{
	if (!r || !fn)
		return;
	for (size_t i = 0; i < r->nbuckets; i++)
		for (const entry *e = r->buckets[i]; e; e = e->hnext)
			if (fn(&e->pub, ctx))
				return;
}

const mja_client *mja_clients_gone_nth(const mja_clients *r, size_t i)
{
	return r && i < r->gone.n ? &r->gone.a[i]->pub : NULL;
}

size_t mja_clients_count(const mja_clients *r)
{
	return r ? r->count : 0;
}

size_t mja_clients_scheduled(const mja_clients *r)
{
	return r ? r->sched.n : 0;
}

size_t mja_clients_gone(const mja_clients *r)
{
	return r ? r->gone.n : 0;
}
