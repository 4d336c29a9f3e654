/* workers.c - signature checks on worker threads (workers.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "mja/session/workers.h"

/* A key snapshot: a key set sharing the caller's keys and a copy of the
 * verifier options. jobs: jobs that hold it (under the pool's lock). */
struct snap {
	uint64_t gen;
	mja_keyset *ks;
	mja_verify_opts opts;
	size_t jobs;
	struct snap *next;
};

enum job_state { JOB_QUEUED = 0, JOB_RUNNING, JOB_DONE };

struct job {
	uint64_t id;
	enum job_state state;
	int cancelled;
	char *tok;
	size_t len;
	int64_t now;
	struct snap *snap;          /* held while queued or running */
	uint64_t gen;               /* its generation */
	mja_err err;
	mja_token *token;
	struct job *next;           /* in the queue or the done list */
};

struct mja_workers {
	pthread_mutex_t mu;
	pthread_cond_t work;         /* a job was queued, or stop */
	pthread_cond_t idle;         /* a job finished */
	int stop;
	unsigned n;
	pthread_t *threads;
	struct job *qhead, *qtail;   /* queued, oldest first */
	struct job **running;        /* per thread: its job, or NULL */
	struct job *dhead, *dtail;   /* done, oldest first */
	size_t pending;              /* submitted, not collected or cancelled */
	size_t busy;                 /* queued + running */
	uint64_t next_id;
	struct snap *snaps;          /* current first; older ones until unused */
	unsigned started;            /* each thread takes its index from it */
};

unsigned mja_workers_default_threads(long cores)
{
	if (cores < 2)
		return 0;
	return cores - 1 > MJA_WORKERS_DEFAULT_MAX ? MJA_WORKERS_DEFAULT_MAX :
		(unsigned)(cores - 1);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->tok) {
		OPENSSL_cleanse(j->tok, j->len);   /* a token: not left in freed memory */
		free(j->tok);
	}
	mja_token_free(j->token);
	free(j);
}

/* Under mu: a job lets go of its snapshot (freed later, on the broker's
 * thread, by drop_unused). */
static void release_snap(struct job *j)
{
	if (j->snap) {
		j->snap->jobs--;
		j->snap = NULL;
	}
}

/* Broker's thread, under mu: free the snapshots no job holds, except the
 * current one. Their key sets are freed here, so key reference counts
 * change on this thread only. */
static void drop_unused(mja_workers *w)
{
	struct snap **pp;

	if (!w->snaps)
		return;
	pp = &w->snaps->next;
	while (*pp) {
		struct snap *s = *pp;

		if (s->jobs == 0) {
			*pp = s->next;
			mja_keyset_free(s->ks);
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

static void *thread_main(void *arg)
{
	mja_workers *w = arg;
	unsigned self;

	pthread_mutex_lock(&w->mu);
	self = w->started++;
	for (;;) {
		struct job *j;

		while (!w->stop && !w->qhead)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->stop)
			break;
		j = w->qhead;
		w->qhead = j->next;
		if (!w->qhead)
			w->qtail = NULL;
		j->next = NULL;
		j->state = JOB_RUNNING;
		w->running[self] = j;
		pthread_mutex_unlock(&w->mu);

		/* the only work done off the broker's thread (workers.h). No
		 * header memo: a memo's header object would be shared with the
		 * tokens handed to the broker's thread, whose reference counts
		 * jansson reads without atomics */
		j->err = mja_token_verify_ex(j->snap->ks, &j->snap->opts, j->tok, j->len, j->now,
				NULL, &j->token);
		/* the token copy is not needed any more */
		OPENSSL_cleanse(j->tok, j->len);
		free(j->tok);
		j->tok = NULL;

		pthread_mutex_lock(&w->mu);
		w->running[self] = NULL;
		release_snap(j);
		w->busy--;
		if (j->cancelled) {
			job_free(j);   /* jansson counts references atomically */
		} else {
			j->state = JOB_DONE;
			if (w->dtail)
				w->dtail->next = j;
			else
				w->dhead = j;
			w->dtail = j;
		}
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void stop_threads(mja_workers *w, unsigned n)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < n; i++)
		pthread_join(w->threads[i], NULL);
}

static void pool_free(mja_workers *w)
{
	struct job *j, *next;
	struct snap *s, *snext;

	for (j = w->qhead; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (j = w->dhead; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (s = w->snaps; s; s = snext) {
		snext = s->next;
		mja_keyset_free(s->ks);
		free(s);
	}
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->mu);
	free(w->running);
	free(w->threads);
	free(w);
}

mja_err mja_workers_new(unsigned n, mja_workers **out, mja_diag *d)
{
	mja_workers *w;
	unsigned i;
	int rc;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (n < 1 || n > MJA_WORKERS_MAX) {
		mja_diag_set(d, "verify_threads: %u is not 1 to %d", n, MJA_WORKERS_MAX);
		return MJA_ERR_INVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return MJA_ERR_NOMEM;
	w->threads = calloc(n, sizeof(*w->threads));
	w->running = calloc(n, sizeof(*w->running));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	{
		pthread_condattr_t ca;   /* mja_workers_wait_any's timeout */

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->idle, &ca);
		pthread_condattr_destroy(&ca);
	}
	w->next_id = 1;
	if (!w->threads || !w->running) {
		pool_free(w);
		return MJA_ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		rc = pthread_create(&w->threads[i], NULL, thread_main, w);
		if (rc != 0) {
			mja_diag_set(d, "cannot start a verify thread: %s", strerror(rc));
			stop_threads(w, i);
			pool_free(w);
			return MJA_ERR_INTERNAL;
		}
	}
	w->n = n;
	*out = w;
	return MJA_OK;
}

void mja_workers_free(mja_workers *w)
{
	struct job *j, *next;

	if (!w)
		return;
	/* queued jobs are dropped before the threads are told to stop, so none
	 * starts; a running one finishes (one signature check) */
	pthread_mutex_lock(&w->mu);
	for (j = w->qhead; j; j = next) {
		next = j->next;
		release_snap(j);
		job_free(j);
	}
	w->qhead = w->qtail = NULL;
	pthread_mutex_unlock(&w->mu);
	stop_threads(w, w->n);
	pool_free(w);
}

mja_err mja_workers_set_keys(mja_workers *w, const mja_keyset *ks, const mja_verify_opts *o)
{
	struct snap *s;

	if (!w || !ks || !o)
		return MJA_ERR_INVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return MJA_ERR_NOMEM;
	s->ks = mja_keyset_new();
	if (!s->ks || mja_keyset_add_shared(s->ks, ks) != MJA_OK) {
		mja_keyset_free(s->ks);
		free(s);
		return MJA_ERR_NOMEM;
	}
	s->opts = *o;
	pthread_mutex_lock(&w->mu);
	s->gen = w->snaps ? w->snaps->gen + 1 : 1;
	s->next = w->snaps;
	w->snaps = s;
	drop_unused(w);
	pthread_mutex_unlock(&w->mu);
	return MJA_OK;
}

uint64_t mja_workers_keys_gen(const mja_workers *w)
{
	/* snaps is changed on the broker's thread only: the caller's */
	return w && w->snaps ? w->snaps->gen : 0;
}

mja_err mja_workers_submit(mja_workers *w, const char *tok, size_t len, int64_t now,
		uint64_t *id)
{
	struct job *j;

	if (id)
		*id = 0;
	if (!w || !tok || !id)
		return MJA_ERR_INVAL;
	if (!w->snaps)
		return MJA_ERR_INVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return MJA_ERR_NOMEM;
	j->tok = malloc(len ? len : 1);
	if (!j->tok) {
		free(j);
		return MJA_ERR_NOMEM;
	}
	memcpy(j->tok, tok, len);
	j->len = len;
	j->now = now;
	pthread_mutex_lock(&w->mu);
	j->id = w->next_id++;
	j->snap = w->snaps;
	j->snap->jobs++;
	j->gen = j->snap->gen;
	if (w->qtail)
		w->qtail->next = j;
	else
		w->qhead = j;
	w->qtail = j;
	w->pending++;
	w->busy++;
	*id = j->id;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return MJA_OK;
}

/* Under mu: unlink j from the singly linked list head/tail. 1 if found. */
static int unlink_job(struct job **head, struct job **tail, struct job *j)
{
	struct job *prev = NULL;

	for (struct job *c = *head; c; prev = c, c = c->next) {
		if (c != j)
			continue;
		if (prev)
			prev->next = c->next;
		else
			*head = c->next;
		if (*tail == c)
			*tail = prev;
		c->next = NULL;
		return 1;
	}
	return 0;
}

void mja_workers_cancel(mja_workers *w, uint64_t id)
{
	struct job *j;

	if (!w || !id)
		return;
	pthread_mutex_lock(&w->mu);
	for (j = w->qhead; j; j = j->next)
		if (j->id == id) {
			unlink_job(&w->qhead, &w->qtail, j);
			release_snap(j);
			job_free(j);
			w->pending--;
			w->busy--;
			pthread_cond_broadcast(&w->idle);
			goto out;
		}
	for (unsigned i = 0; i < w->n; i++)
		if (w->running[i] && w->running[i]->id == id && !w->running[i]->cancelled) {
			w->running[i]->cancelled = 1;   /* its thread frees it */
			w->pending--;
			goto out;
		}
	for (j = w->dhead; j; j = j->next)
		if (j->id == id) {
			unlink_job(&w->dhead, &w->dtail, j);
			job_free(j);
			w->pending--;
			goto out;
		}
out:
	drop_unused(w);
	pthread_mutex_unlock(&w->mu);
}

size_t mja_workers_collect(mja_workers *w, mja_work_result *out, size_t max)
{
	size_t n = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (n < max && w->dhead) {
		struct job *j = w->dhead;

		w->dhead = j->next;
		if (!w->dhead)
			w->dtail = NULL;
		out[n].id = j->id;
		out[n].keys_gen = j->gen;
		out[n].err = j->err;
		out[n].token = j->token;
		j->token = NULL;
		w->pending--;
		n++;
		job_free(j);
	}
	drop_unused(w);
	pthread_mutex_unlock(&w->mu);
	return n;
}

size_t mja_workers_pending(const mja_workers *w)
{
	size_t n;

	if (!w)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	n = w->pending;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return n;
}

void mja_workers_wait(mja_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

int mja_workers_wait_any(mja_workers *w, long max_us)
{
	struct timespec ts;
	int ready;

	if (!w)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += max_us / 1000000;
	ts.tv_nsec += (max_us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->dhead && w->busy)
		if (pthread_cond_timedwait(&w->idle, &w->mu, &ts) != 0)
			break;
	ready = w->dhead != NULL;
	pthread_mutex_unlock(&w->mu);
	return ready;
}

void mja_work_result_clear(mja_work_result *r)
{
	if (!r)
		return;
	mja_token_free(r->token);
	memset(r, 0, sizeof(*r));
}
