/* clients.c - per-client registry with an expiry schedule (issue 6). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mja/clients.h"

typedef struct entry {
	mja_client pub;            /* first: a const mja_client * is an entry */
	struct entry *hnext;       /* hash chain */
	struct entry *gprev, *gnext; /* FIFO of GONE entries */
} entry;

struct mja_clients {
	entry **buckets;
	size_t nbuckets;           /* power of two */
	size_t count;
	entry **heap;              /* min-heap by principal->exp */
	size_t nheap, capheap;
	entry *gone_head, *gone_tail;
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
	free(r->heap);
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

/* ---- the schedule: a binary min-heap by exp ---- */

static int64_t exp_of(const entry *e)
{
	return e->pub.principal->exp;
}

static void heap_set(mja_clients *r, size_t i, entry *e)
{
	r->heap[i] = e;
	e->pub.heap_index = i;
}

static void sift_up(mja_clients *r, size_t i)
{
	entry *e = r->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (exp_of(r->heap[parent]) <= exp_of(e))
			break;
		heap_set(r, i, r->heap[parent]);
		i = parent;
	}
	heap_set(r, i, e);
}

static void sift_down(mja_clients *r, size_t i)
{
	entry *e = r->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		int64_t best = exp_of(e);

		if (l < r->nheap && exp_of(r->heap[l]) < best) {
			m = l;
			best = exp_of(r->heap[l]);
		}
		if (l + 1 < r->nheap && exp_of(r->heap[l + 1]) < best)
			m = l + 1;
		if (m == i)
			break;
		heap_set(r, i, r->heap[m]);
		i = m;
	}
	heap_set(r, i, e);
}

static void unschedule(mja_clients *r, entry *e)
{
	size_t i = e->pub.heap_index;
	entry *last;

	if (i == NO_INDEX)
		return;
	e->pub.heap_index = NO_INDEX;
	last = r->heap[--r->nheap];
	if (last == e)
		return;
	heap_set(r, i, last);
	if (i > 0 && exp_of(r->heap[(i - 1) / 2]) > exp_of(last))
		sift_up(r, i);
	else
		sift_down(r, i);
}

/* Room for one more heap slot, reserved before anything changes so that
 * scheduling itself cannot fail. */
static mja_err heap_reserve(mja_clients *r)
{
	entry **h;
	size_t cap;

	if (r->nheap < r->capheap)
		return MJA_OK;
	cap = r->capheap ? r->capheap * 2 : 64;
	if (cap > SIZE_MAX / sizeof(*h))
		return MJA_ERR_NOMEM;
	h = realloc(r->heap, cap * sizeof(*h));
	if (!h)
		return MJA_ERR_NOMEM;
	r->heap = h;
	r->capheap = cap;
	return MJA_OK;
}

static void schedule(mja_clients *r, entry *e)
{
	if (!e->pub.principal->has_exp || e->pub.state != MJA_CLIENT_LIVE)
		return;
	r->heap[r->nheap] = e;
	e->pub.heap_index = r->nheap++;
	sift_up(r, e->pub.heap_index);
}

/* ---- the FIFO of gone entries ---- */

static void gone_unlink(mja_clients *r, entry *e)
{
	if (e->pub.state != MJA_CLIENT_GONE)
		return;
	if (e->gprev)
		e->gprev->gnext = e->gnext;
	else
		r->gone_head = e->gnext;
	if (e->gnext)
		e->gnext->gprev = e->gprev;
	else
		r->gone_tail = e->gprev;
	e->gprev = e->gnext = NULL;
}

static void gone_append(mja_clients *r, entry *e)
{
	e->gnext = NULL;
	e->gprev = r->gone_tail;
	if (r->gone_tail)
		r->gone_tail->gnext = e;
	else
		r->gone_head = e;
	r->gone_tail = e;
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
		const char *username, mja_principal *p)
{
	char *id = NULL, *user = NULL;
	entry *e;

	if (!r || !client || !p)
		return MJA_ERR_INVAL;
	if (heap_reserve(r) != MJA_OK || dup_opt(clientid, &id) != MJA_OK ||
	    dup_opt(username, &user) != MJA_OK)
		goto nomem;
	e = find(r, client, NULL);
	if (e) {
		unschedule(r, e);
		gone_unlink(r, e);
		free(e->pub.clientid);
		free(e->pub.username);
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
	e->pub.principal = p;
	e->pub.state = MJA_CLIENT_LIVE;
	e->pub.gone_at = 0;
	e->pub.heap_index = NO_INDEX;
	schedule(r, e);
	return MJA_OK;
nomem:
	free(id);
	free(user);
	return MJA_ERR_NOMEM;
}

mja_err mja_clients_set_principal(mja_clients *r, const void *client, mja_principal *p)
{
	entry *e;

	if (!r || !client || !p)
		return MJA_ERR_INVAL;
	e = find(r, client, NULL);
	if (!e)
		return MJA_ERR_INVAL;
	if (heap_reserve(r) != MJA_OK)
		return MJA_ERR_NOMEM;
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
	gone_unlink(r, e);
	entry_free(e);
	return 1;
}

int mja_clients_disconnect(mja_clients *r, const void *client, int64_t now)
{
	entry *e;

	if (!r || !client)
		return 0;
	e = find(r, client, NULL);
	if (!e)
		return 0;
	if (e->pub.state == MJA_CLIENT_GONE)
		return mja_clients_remove(r, client);
	unschedule(r, e);
	e->pub.state = MJA_CLIENT_GONE;
	e->pub.gone_at = now;
	gone_append(r, e);
	return 1;
}

int mja_clients_kick(mja_clients *r, const void *client)
{
	entry *e;

	if (!r || !client)
		return 0;
	e = find(r, client, NULL);
	if (!e || e->pub.state != MJA_CLIENT_LIVE)
		return 0;
	unschedule(r, e);
	e->pub.state = MJA_CLIENT_KICKED;
	return 1;
}

size_t mja_clients_sweep(mja_clients *r, int64_t now, int64_t grace)
{
	size_t n = 0;

	if (!r)
		return 0;
	if (grace < 0)
		grace = 0;
	/* gone_at + grace <= now, without overflow */
	if (now < INT64_MIN + grace)
		return 0;
	while (r->gone_head && r->gone_head->pub.gone_at <= now - grace) {
		mja_clients_remove(r, r->gone_head->pub.client);
		n++;
	}
	return n;
}

const mja_client *mja_clients_next_expired(const mja_clients *r, int64_t now,
		int64_t leeway)
{
	entry *top;

	if (!r || r->nheap == 0)
		return NULL;
	top = r->heap[0];
	if (leeway < 0)
		leeway = 0;
	/* RFC 7519 4.1.4: expired iff exp + leeway <= now */
	if (now < INT64_MIN + leeway || exp_of(top) > now - leeway)
		return NULL;
	return &top->pub;
}

size_t mja_clients_count(const mja_clients *r)
{
	return r ? r->count : 0;
}

size_t mja_clients_scheduled(const mja_clients *r)
{
	return r ? r->nheap : 0;
}
