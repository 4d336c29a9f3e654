/* test_workers.c - signature checks on worker threads (workers.h;
 * docs/design.md, "Signature checks on worker threads").
 *
 * A fixed clock: every job carries T0 (or a time past a token's exp).
 * The attacker's questions: can a job's answer be taken for another job,
 * can a refused token come back accepted, can a check run with keys that
 * were replaced, does anything leak when a client goes, keys change or the
 * pool stops with work queued (the asan and tsan stages run this file).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mja/session/workers.h"
#include "mja/token/key.h"
#include "mja/token/token.h"

#define T0 ((int64_t)1700000000)

struct fx {
	mja_key *priv;          /* ES256 signing key */
	mja_key *other;         /* another ES256 key */
	mja_keyset *ks;         /* priv's public key */
	mja_keyset *ks_other;   /* other's public key */
	mja_verify_opts o;
};

static mja_keyset *public_set(const mja_key *k)
{
	mja_keyset *ks = mja_keyset_new();
	mja_diag d = {0};
	char *jwk = NULL;

	assert_non_null(ks);
	assert_int_equal(mja_key_public_jwk(k, "ES256", &jwk), MJA_OK);
	assert_int_equal(mja_keyset_add_jwk_json(ks, jwk, strlen(jwk), "test", &d), MJA_OK);
	free(jwk);
	return ks;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	mja_diag d = {0};

	assert_non_null(f);
	assert_int_equal(mja_key_generate(MJA_KTY_EC, 256, "k1", &f->priv, &d), MJA_OK);
	assert_int_equal(mja_key_generate(MJA_KTY_EC, 256, "k1", &f->other, &d), MJA_OK);
	f->ks = public_set(f->priv);
	f->ks_other = public_set(f->other);
	f->o.claims.leeway = 30;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	mja_keyset_free(f->ks);
	mja_keyset_free(f->ks_other);
	mja_key_free(f->priv);
	mja_key_free(f->other);
	free(f);
	return 0;
}

static char *mint(const mja_key *k, const char *sub, int64_t exp)
{
	json_t *p = json_pack("{s:s,s:I}", "sub", sub, "exp", (json_int_t)exp);
	char *tok = NULL;

	assert_int_equal(mja_token_sign(k, MJA_ALG_ES256, NULL, p, &tok), MJA_OK);
	json_decref(p);
	return tok;
}

static mja_workers *pool(unsigned n)
{
	mja_workers *w = NULL;
	mja_diag d = {0};

	assert_int_equal(mja_workers_new(n, &w, &d), MJA_OK);
	assert_non_null(w);
	return w;
}

static uint64_t submit(mja_workers *w, const char *tok, int64_t now)
{
	uint64_t id = 0;

	assert_int_equal(mja_workers_submit(w, tok, strlen(tok), now, &id), MJA_OK);
	assert_true(id != 0);
	return id;
}

/* Every result, in a table indexed by job id (ids are 1, 2, ...). */
static size_t collect_all(mja_workers *w, mja_work_result *by_id, size_t max_id)
{
	mja_work_result r[16];
	size_t total = 0, n;

	mja_workers_wait(w);
	while ((n = mja_workers_collect(w, r, 16)) > 0) {
		for (size_t i = 0; i < n; i++) {
			assert_true(r[i].id >= 1 && r[i].id <= max_id);
			assert_int_equal(by_id[r[i].id].id, 0);   /* once each */
			by_id[r[i].id] = r[i];
		}
		total += n;
	}
	return total;
}

static void default_thread_count(void **state)
{
	(void)state;
	assert_int_equal(mja_workers_default_threads(0), 0);
	assert_int_equal(mja_workers_default_threads(1), 0);
	assert_int_equal(mja_workers_default_threads(2), 1);
	assert_int_equal(mja_workers_default_threads(4), 3);
	assert_int_equal(mja_workers_default_threads(5), 4);
	assert_int_equal(mja_workers_default_threads(64), 4);
	assert_int_equal(mja_workers_default_threads(-1), 0);
}

static void bad_thread_counts_refused(void **state)
{
	mja_workers *w = (mja_workers *)1;
	mja_diag d = {0};

	(void)state;
	assert_int_equal(mja_workers_new(0, &w, &d), MJA_ERR_INVAL);
	assert_null(w);
	assert_non_null(strstr(d.text, "verify_threads"));
	assert_int_equal(mja_workers_new(MJA_WORKERS_MAX + 1, &w, &d), MJA_ERR_INVAL);
	assert_null(w);
}

static void no_keys_no_job(void **state)
{
	mja_workers *w = pool(1);
	uint64_t id = 7;

	(void)state;
	assert_int_equal(mja_workers_keys_gen(w), 0);
	assert_int_equal(mja_workers_submit(w, "a.b.c", 5, T0, &id), MJA_ERR_INVAL);
	assert_int_equal(id, 0);
	assert_int_equal(mja_workers_pending(w), 0);
	mja_workers_free(w);
}

/* Many jobs on several threads: each answer belongs to its own job. */
static void each_result_is_its_jobs(void **state)
{
	struct fx *f = *state;
	enum { N = 40 };
	mja_workers *w = pool(3);
	mja_work_result by_id[N + 1];
	char *tok[N];
	uint64_t id[N];

	memset(by_id, 0, sizeof(by_id));
	assert_int_equal(mja_workers_set_keys(w, f->ks, &f->o), MJA_OK);
	assert_int_equal(mja_workers_keys_gen(w), 1);
	for (int i = 0; i < N; i++) {
		char sub[32];

		snprintf(sub, sizeof(sub), "dev-%d", i);
		/* every third one signed by a key the pool does not have */
		tok[i] = mint(i % 3 == 2 ? f->other : f->priv, sub, T0 + 300);
		id[i] = submit(w, tok[i], T0);
	}
	assert_int_equal(collect_all(w, by_id, N), N);
	assert_int_equal(mja_workers_pending(w), 0);
	for (int i = 0; i < N; i++) {
		mja_work_result *r = &by_id[id[i]];
		char sub[32];

		snprintf(sub, sizeof(sub), "dev-%d", i);
		assert_int_equal(r->keys_gen, 1);
		if (i % 3 == 2) {
			assert_int_equal(r->err, MJA_ERR_BAD_SIGNATURE);
			assert_null(r->token);
		} else {
			assert_int_equal(r->err, MJA_OK);
			assert_non_null(r->token);
			assert_string_equal(r->token->sub, sub);
		}
		mja_work_result_clear(r);
		free(tok[i]);
	}
	mja_workers_free(w);
}

/* The claims are judged with the job's own time. */
static void claims_use_the_jobs_time(void **state)
{
	struct fx *f = *state;
	mja_workers *w = pool(1);
	mja_work_result by_id[3];
	char *tok = mint(f->priv, "dev-1", T0 + 10);
	uint64_t a, b;

	memset(by_id, 0, sizeof(by_id));
	assert_int_equal(mja_workers_set_keys(w, f->ks, &f->o), MJA_OK);
	a = submit(w, tok, T0);
	b = submit(w, tok, T0 + 10 + 30);   /* exp + leeway: expired */
	assert_int_equal(collect_all(w, by_id, 2), 2);
	assert_int_equal(by_id[a].err, MJA_OK);
	assert_int_equal(by_id[b].err, MJA_ERR_EXPIRED);
	assert_null(by_id[b].token);
	mja_work_result_clear(&by_id[a]);
	free(tok);
	mja_workers_free(w);
}

/* Keys replaced while jobs are queued: queued jobs keep the snapshot they
 * were submitted with (never a freed key set), and say which one; jobs
 * submitted after use the new keys. The caller's old key set may be freed
 * at once. */
static void jobs_keep_their_snapshot(void **state)
{
	struct fx *f = *state;
	enum { N = 12 };
	mja_workers *w = pool(2);
	mja_work_result by_id[2 * N + 1];
	mja_keyset *ks = public_set(f->priv);
	char *tok = mint(f->priv, "dev-1", T0 + 300);
	char *tok2 = mint(f->other, "dev-2", T0 + 300);

	memset(by_id, 0, sizeof(by_id));
	assert_int_equal(mja_workers_set_keys(w, ks, &f->o), MJA_OK);
	for (int i = 0; i < N; i++)
		submit(w, tok, T0);
	/* a reload: the new keys are the other key's, the old set is freed */
	assert_int_equal(mja_workers_set_keys(w, f->ks_other, &f->o), MJA_OK);
	mja_keyset_free(ks);
	assert_int_equal(mja_workers_keys_gen(w), 2);
	for (int i = 0; i < N; i++)
		submit(w, i % 2 ? tok : tok2, T0);
	assert_int_equal(collect_all(w, by_id, 2 * N), 2 * N);
	for (int i = 1; i <= N; i++) {
		assert_int_equal(by_id[i].keys_gen, 1);
		assert_int_equal(by_id[i].err, MJA_OK);
		mja_work_result_clear(&by_id[i]);
	}
	for (int i = 0; i < N; i++) {
		mja_work_result *r = &by_id[N + 1 + i];

		assert_int_equal(r->keys_gen, 2);
		assert_int_equal(r->err, i % 2 ? MJA_ERR_BAD_SIGNATURE : MJA_OK);
		mja_work_result_clear(r);
	}
	free(tok);
	free(tok2);
	mja_workers_free(w);
}

/* A cancelled job (its client went) never comes back, queued or running;
 * the others still do. */
static void cancelled_jobs_never_come_back(void **state)
{
	struct fx *f = *state;
	enum { N = 30 };
	mja_workers *w = pool(2);
	mja_work_result by_id[N + 1];
	char *tok = mint(f->priv, "dev-1", T0 + 300);
	size_t got;

	memset(by_id, 0, sizeof(by_id));
	assert_int_equal(mja_workers_set_keys(w, f->ks, &f->o), MJA_OK);
	for (int i = 0; i < N; i++)
		submit(w, tok, T0);
	for (uint64_t id = 1; id <= N; id += 2)
		mja_workers_cancel(w, id);   /* queued, running or done: all the same */
	mja_workers_cancel(w, 9999);      /* unknown: ignored */
	got = collect_all(w, by_id, N);
	assert_int_equal(got, N / 2);
	for (uint64_t id = 1; id <= N; id++) {
		if (id % 2) {
			assert_int_equal(by_id[id].id, 0);
		} else {
			assert_int_equal(by_id[id].err, MJA_OK);
			mja_work_result_clear(&by_id[id]);
		}
	}
	assert_int_equal(mja_workers_pending(w), 0);
	free(tok);
	mja_workers_free(w);
}

/* Shutdown with work queued, running and done but not collected: clean
 * (the asan stage checks that nothing leaks). */
static void free_with_work_pending(void **state)
{
	struct fx *f = *state;
	mja_workers *w = pool(2);
	char *tok = mint(f->priv, "dev-1", T0 + 300);

	assert_int_equal(mja_workers_set_keys(w, f->ks, &f->o), MJA_OK);
	for (int i = 0; i < 200; i++)
		submit(w, tok, T0);
	assert_true(mja_workers_pending(w) > 0);
	mja_workers_free(w);
	free(tok);
}

/* A token copy: the caller's buffer may change at once after submit. */
static void the_token_is_copied(void **state)
{
	struct fx *f = *state;
	mja_workers *w = pool(1);
	mja_work_result by_id[2];
	char *tok = mint(f->priv, "dev-1", T0 + 300);
	uint64_t id;

	memset(by_id, 0, sizeof(by_id));
	assert_int_equal(mja_workers_set_keys(w, f->ks, &f->o), MJA_OK);
	id = submit(w, tok, T0);
	memset(tok, 'A', strlen(tok));
	assert_int_equal(collect_all(w, by_id, 1), 1);
	assert_int_equal(by_id[id].err, MJA_OK);
	mja_work_result_clear(&by_id[id]);
	free(tok);
	mja_workers_free(w);
}

/* wait_any: returns once a result is ready (1), at once with no work (0). */
static void wait_any_returns_with_a_result(void **state)
{
	struct fx *f = *state;
	mja_workers *w = pool(1);
	mja_work_result r[2];
	char *tok = mint(f->priv, "dev-1", T0 + 300);

	assert_int_equal(mja_workers_wait_any(w, 1000), 0);   /* nothing queued */
	assert_int_equal(mja_workers_set_keys(w, f->ks, &f->o), MJA_OK);
	submit(w, tok, T0);
	/* a generous bound: it returns when the check ends */
	assert_int_equal(mja_workers_wait_any(w, 30 * 1000000L), 1);
	assert_int_equal(mja_workers_collect(w, r, 2), 1);
	assert_int_equal(r[0].err, MJA_OK);
	mja_work_result_clear(&r[0]);
	assert_int_equal(mja_workers_wait_any(w, 1000), 0);
	free(tok);
	mja_workers_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_thread_count),
		cmocka_unit_test(bad_thread_counts_refused),
		cmocka_unit_test(no_keys_no_job),
		cmocka_unit_test(each_result_is_its_jobs),
		cmocka_unit_test(claims_use_the_jobs_time),
		cmocka_unit_test(jobs_keep_their_snapshot),
		cmocka_unit_test(cancelled_jobs_never_come_back),
		cmocka_unit_test(free_with_work_pending),
		cmocka_unit_test(the_token_is_copied),
		cmocka_unit_test(wait_any_returns_with_a_result),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
