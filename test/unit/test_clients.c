/* test_clients.c - the client registry and its expiry schedule: add,
 * replace, remove twice, NULL ids, DISCONNECT twice (session takeover),
 * gone entries kept for the will (durable ones longer) and swept by
 * deadline, kicked entries without DISCONNECT swept, expiry order, removal
 * from the middle of the heap, and 10,000 clients. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mja/session/clients.h"

/* Fake client pointers: addresses inside this array, never dereferenced. */
static char clients_mem[20000];
#define CL(i) ((const void *)&clients_mem[(i)])

static mja_principal *principal(const char *sub, int has_exp, int64_t exp)
{
	mja_principal *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->sub = strdup(sub);
	assert_non_null(p->sub);
	p->has_exp = has_exp;
	p->exp = exp;
	return p;
}

static void test_put_get_replace_remove(void **state)
{
	mja_clients *r = mja_clients_new();
	const mja_client *c;

	assert_non_null(r);
	assert_null(mja_clients_get(r, CL(1)));
	assert_int_equal(mja_clients_put(r, CL(1), "id1", "user1", 0, principal("s1", 1, 100)), MJA_OK);
	c = mja_clients_get(r, CL(1));
	assert_non_null(c);
	assert_ptr_equal(c->client, CL(1));
	assert_string_equal(c->clientid, "id1");
	assert_string_equal(c->username, "user1");
	assert_string_equal(c->principal->sub, "s1");
	assert_int_equal(c->state, MJA_CLIENT_LIVE);
	assert_int_equal(mja_clients_count(r), 1);
	assert_int_equal(mja_clients_scheduled(r), 1);

	/* replace: new strings and principal, still one entry, rescheduled */
	assert_int_equal(mja_clients_put(r, CL(1), "id1b", NULL, 0, principal("s1", 1, 50)), MJA_OK);
	c = mja_clients_get(r, CL(1));
	assert_string_equal(c->clientid, "id1b");
	assert_null(c->username);
	assert_int_equal(c->principal->exp, 50);
	assert_int_equal(mja_clients_count(r), 1);
	assert_int_equal(mja_clients_scheduled(r), 1);
	assert_null(mja_clients_next_expired(r, 49, 0));
	assert_ptr_equal(mja_clients_next_expired(r, 50, 0), c);

	/* remove twice */
	assert_int_equal(mja_clients_remove(r, CL(1)), 1);
	assert_int_equal(mja_clients_remove(r, CL(1)), 0);
	assert_null(mja_clients_get(r, CL(1)));
	assert_int_equal(mja_clients_count(r), 0);
	assert_int_equal(mja_clients_scheduled(r), 0);
	assert_null(mja_clients_next_expired(r, INT64_MAX, 0));

	/* bad arguments change nothing; put and set_principal take p on every
	 * path (freed on error: the test never frees it; the asan stage fails
	 * on a leak here, or on a double free in the callers) */
	assert_int_equal(mja_clients_put(r, NULL, "a", "b", 0, principal("x", 0, 0)), MJA_ERR_INVAL);
	assert_int_equal(mja_clients_put(NULL, CL(2), "a", "b", 0, principal("x", 0, 0)),
			MJA_ERR_INVAL);
	assert_int_equal(mja_clients_put(r, CL(2), "a", "b", 0, NULL), MJA_ERR_INVAL);
	assert_int_equal(mja_clients_set_principal(r, CL(2), principal("x", 0, 0)), MJA_ERR_INVAL);
	assert_int_equal(mja_clients_set_principal(NULL, CL(2), principal("x", 0, 0)),
			MJA_ERR_INVAL);
	assert_int_equal(mja_clients_count(r), 0);
	mja_clients_free(r);
}

static void test_null_ids_and_no_exp(void **state)
{
	mja_clients *r = mja_clients_new();
	const mja_client *c;

	assert_int_equal(mja_clients_put(r, CL(3), NULL, NULL, 0, principal("s", 0, 0)), MJA_OK);
	c = mja_clients_get(r, CL(3));
	assert_null(c->clientid);
	assert_null(c->username);
	/* no exp: never scheduled */
	assert_int_equal(mja_clients_scheduled(r), 0);
	assert_null(mja_clients_next_expired(r, INT64_MAX, 0));
	/* a refused CONNECT's DISCONNECT: no entry for that pointer */
	assert_int_equal(mja_clients_disconnect(r, CL(4), 10, 10 + 60, 1), 0);
	assert_int_equal(mja_clients_disconnect(r, NULL, 10, 10 + 60, 1), 0);
	assert_int_equal(mja_clients_count(r), 1);
	mja_clients_free(r);   /* frees the remaining entry */
}

static void test_disconnect_twice_and_sweep(void **state)
{
	mja_clients *r = mja_clients_new();
	const mja_client *c;

	assert_int_equal(mja_clients_put(r, CL(1), "a", NULL, 0, principal("a", 1, 100)), MJA_OK);
	assert_int_equal(mja_clients_put(r, CL(2), "b", NULL, 0, principal("b", 1, 100)), MJA_OK);
	assert_int_equal(mja_clients_put(r, CL(3), "c", NULL, 0, principal("c", 1, 100)), MJA_OK);

	/* first DISCONNECT: kept as GONE (its will is checked after), off the
	 * schedule */
	assert_int_equal(mja_clients_disconnect(r, CL(1), 10, 10 + 60, 1), 1);
	c = mja_clients_get(r, CL(1));
	assert_non_null(c);
	assert_int_equal(c->state, MJA_CLIENT_OFFLINE);
	assert_int_equal(c->gone_at, 10);
	assert_int_equal(mja_clients_scheduled(r), 2);
	/* second DISCONNECT (takeover): removed */
	assert_int_equal(mja_clients_disconnect(r, CL(1), 11, 11 + 60, 1), 1);
	assert_null(mja_clients_get(r, CL(1)));
	assert_int_equal(mja_clients_disconnect(r, CL(1), 12, 12 + 60, 1), 0);

	/* sweep removes GONE entries older than the grace, oldest first */
	assert_int_equal(mja_clients_disconnect(r, CL(2), 20, 20 + 60, 1), 1);
	assert_int_equal(mja_clients_disconnect(r, CL(3), 25, 25 + 60, 1), 1);
	assert_int_equal(mja_clients_sweep(r, 79), 0);
	assert_int_equal(mja_clients_sweep(r, 80), 1);
	assert_null(mja_clients_get(r, CL(2)));
	assert_non_null(mja_clients_get(r, CL(3)));
	/* a GONE entry re-put (address reused / reload) leaves the sweep heap */
	assert_int_equal(mja_clients_put(r, CL(3), "c", NULL, 0, principal("c", 1, 200)), MJA_OK);
	assert_int_equal(mja_clients_get(r, CL(3))->state, MJA_CLIENT_LIVE);
	assert_int_equal(mja_clients_sweep(r, 1000), 0);
	assert_non_null(mja_clients_get(r, CL(3)));
	assert_int_equal(mja_clients_scheduled(r), 1);
	/* removing a GONE entry from the middle of the sweep heap keeps it consistent */
	for (int i = 10; i < 15; i++)
		assert_int_equal(mja_clients_put(r, CL(i), "x", NULL, 0, principal("x", 1, 5)), MJA_OK);
	for (int i = 10; i < 15; i++)
		assert_int_equal(mja_clients_disconnect(r, CL(i), 100 + i, 100 + i + 60, 1), 1);
	assert_int_equal(mja_clients_remove(r, CL(12)), 1);
	assert_int_equal(mja_clients_remove(r, CL(10)), 1);
	assert_int_equal(mja_clients_remove(r, CL(14)), 1);
	assert_int_equal(mja_clients_sweep(r, 171), 1);   /* 11 */
	assert_non_null(mja_clients_get(r, CL(13)));
	assert_int_equal(mja_clients_sweep(r, 173), 1);   /* 13 */
	assert_int_equal(mja_clients_count(r), 1);
	/* sweep cannot overflow */
	assert_int_equal(mja_clients_sweep(r, INT64_MIN), 0);
	mja_clients_free(r);
}

/* GONE entries carry their own deadline (a durable session's is its
 * token's exp, later than a clean session's grace): the sweep takes them
 * by deadline, not in disconnect order; a KICKED entry whose DISCONNECT
 * never comes is swept too; will_ok and durable are kept; a GONE entry's
 * token copy is scrubbed. */
static void test_gone_deadlines_and_kicked_sweep(void **state)
{
	mja_clients *r = mja_clients_new();
	mja_principal *p = principal("d", 1, 500);
	const mja_client *c;

	p->token = strdup("a.b.c");
	p->token_len = 5;
	assert_int_equal(mja_clients_put(r, CL(1), "d", NULL, 1, p), MJA_OK);
	assert_int_equal(mja_clients_put(r, CL(2), "n", NULL, 0, principal("n", 1, 500)), MJA_OK);
	assert_int_equal(mja_clients_put(r, CL(3), "k", NULL, 0, principal("k", 1, 5)), MJA_OK);
	c = mja_clients_get(r, CL(1));
	assert_true(c->durable);
	assert_false(mja_clients_get(r, CL(2))->durable);
	/* the durable one goes first but is kept longest */
	assert_int_equal(mja_clients_disconnect(r, CL(1), 10, 500, 1), 1);
	assert_null(c->principal->token);
	assert_int_equal(c->principal->token_len, 0);
	assert_int_equal(mja_clients_disconnect(r, CL(2), 20, 80, 0), 1);
	assert_false(mja_clients_get(r, CL(2))->will_ok);
	assert_true(c->will_ok);
	/* kicked, never disconnected (an offline session) */
	assert_int_equal(mja_clients_kick(r, CL(3), 90, 0), 1);
	assert_int_equal(mja_clients_gone(r), 3);
	assert_int_equal(mja_clients_scheduled(r), 0);
	assert_int_equal(mja_clients_sweep(r, 79), 0);
	assert_int_equal(mja_clients_sweep(r, 80), 1);
	assert_null(mja_clients_get(r, CL(2)));
	assert_int_equal(mja_clients_sweep(r, 90), 1);
	assert_null(mja_clients_get(r, CL(3)));
	assert_int_equal(mja_clients_sweep(r, 499), 0);
	assert_non_null(mja_clients_get(r, CL(1)));
	/* a kicked entry that does get its DISCONNECT takes the new deadline */
	assert_int_equal(mja_clients_put(r, CL(4), "k", NULL, 0, principal("k", 1, 5)), MJA_OK);
	assert_int_equal(mja_clients_kick(r, CL(4), 100, 1), 1);
	assert_int_equal(mja_clients_disconnect(r, CL(4), 95, 700, 0), 1);
	assert_int_equal(mja_clients_get(r, CL(4))->state, MJA_CLIENT_OFFLINE);
	assert_int_equal(mja_clients_sweep(r, 500), 1);
	assert_null(mja_clients_get(r, CL(1)));
	assert_int_equal(mja_clients_sweep(r, 699), 0);
	assert_int_equal(mja_clients_sweep(r, INT64_MAX), 1);
	assert_int_equal(mja_clients_count(r), 0);
	assert_int_equal(mja_clients_gone(r), 0);
	mja_clients_free(r);
}

static void test_kick(void **state)
{
	mja_clients *r = mja_clients_new();

	assert_int_equal(mja_clients_put(r, CL(1), "a", NULL, 0, principal("a", 1, 5)), MJA_OK);
	assert_ptr_equal(mja_clients_next_expired(r, 5, 0)->client, CL(1));
	assert_int_equal(mja_clients_kick(r, CL(1), 100, 1), 1);
	assert_int_equal(mja_clients_get(r, CL(1))->state, MJA_CLIENT_KICKED);
	/* off the schedule: the tick does not see it again */
	assert_null(mja_clients_next_expired(r, 1000, 0));
	assert_int_equal(mja_clients_kick(r, CL(1), 100, 1), 0);
	assert_int_equal(mja_clients_kick(r, CL(2), 100, 1), 0);
	/* then DISCONNECT */
	assert_int_equal(mja_clients_disconnect(r, CL(1), 6, 6 + 60, 1), 1);
	assert_int_equal(mja_clients_get(r, CL(1))->state, MJA_CLIENT_OFFLINE);
	assert_int_equal(mja_clients_kick(r, CL(1), 100, 1), 0);
	mja_clients_free(r);
}

static void test_set_principal(void **state)
{
	mja_clients *r = mja_clients_new();

	assert_int_equal(mja_clients_put(r, CL(1), "a", "u", 0, principal("a", 1, 10)), MJA_OK);
	assert_int_equal(mja_clients_put(r, CL(2), "b", "u", 0, principal("b", 1, 20)), MJA_OK);
	/* re-auth: a later exp moves it down the schedule */
	assert_int_equal(mja_clients_set_principal(r, CL(1), principal("a", 1, 30)), MJA_OK);
	assert_ptr_equal(mja_clients_next_expired(r, 100, 0)->client, CL(2));
	assert_string_equal(mja_clients_get(r, CL(1))->clientid, "a");
	assert_int_equal(mja_clients_get(r, CL(1))->principal->exp, 30);
	/* a GONE entry's new principal stays off the schedule */
	assert_int_equal(mja_clients_disconnect(r, CL(2), 1, 1 + 60, 1), 1);
	assert_int_equal(mja_clients_set_principal(r, CL(2), principal("b", 1, 5)), MJA_OK);
	assert_int_equal(mja_clients_get(r, CL(2))->state, MJA_CLIENT_OFFLINE);
	assert_int_equal(mja_clients_scheduled(r), 1);
	/* no exp after re-auth: off the schedule */
	assert_int_equal(mja_clients_set_principal(r, CL(1), principal("a", 0, 0)), MJA_OK);
	assert_int_equal(mja_clients_scheduled(r), 0);
	mja_clients_free(r);
}

static void test_expiry_order_and_leeway(void **state)
{
	static const int64_t exps[] = { 50, 10, 40, 30, 20, 60, 10 };
	mja_clients *r = mja_clients_new();
	const mja_client *c;
	int64_t last = INT64_MIN;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(exps) / sizeof(exps[0]); i++)
		assert_int_equal(mja_clients_put(r, CL(i), "x", NULL, 0, principal("x", 1, exps[i])),
				MJA_OK);
	/* leeway: exp + leeway <= now */
	assert_null(mja_clients_next_expired(r, 14, 5));
	assert_non_null(mja_clients_next_expired(r, 15, 5));
	/* remove from the middle: the 40 and one 10 */
	assert_int_equal(mja_clients_remove(r, CL(2)), 1);
	assert_int_equal(mja_clients_remove(r, CL(6)), 1);
	while ((c = mja_clients_next_expired(r, 55, 0))) {
		assert_true(c->principal->exp >= last);
		assert_true(c->principal->exp <= 55);
		last = c->principal->exp;
		assert_int_equal(mja_clients_kick(r, c->client, 100, 1), 1);
		n++;
	}
	assert_int_equal(n, 4);   /* 10 20 30 50 */
	assert_int_equal(last, 50);
	assert_int_equal(mja_clients_scheduled(r), 1);   /* 60 */
	/* extreme values do not overflow */
	assert_null(mja_clients_next_expired(r, INT64_MIN, 10));
	assert_null(mja_clients_next_expired(r, 59, 0));
	assert_int_equal(mja_clients_put(r, CL(100), "y", NULL, 0, principal("y", 1, INT64_MAX)),
			MJA_OK);
	assert_int_equal(mja_clients_put(r, CL(101), "z", NULL, 0, principal("z", 1, INT64_MIN)),
			MJA_OK);
	assert_ptr_equal(mja_clients_next_expired(r, INT64_MIN + 5, 5)->client, CL(101));
	mja_clients_free(r);
}

/* 10,000 clients with pseudo-random exps; every third removed or
 * disconnected from the middle; the rest come out in exp order. */
static void test_many_clients(void **state)
{
	enum { N = 10000 };
	mja_clients *r = mja_clients_new();
	static int64_t exp_of[N];
	static int alive[N];
	uint32_t x = 12345;
	const mja_client *c;
	int64_t last = INT64_MIN;
	size_t expect = 0, n = 0;

	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		exp_of[i] = 1000 + (x >> 8) % 5000;
		assert_int_equal(mja_clients_put(r, CL(i), "id", "u", 0, principal("s", 1, exp_of[i])),
				MJA_OK);
		alive[i] = 1;
	}
	assert_int_equal(mja_clients_count(r), N);
	assert_int_equal(mja_clients_scheduled(r), N);
	for (int i = 0; i < N; i += 3) {
		if (i % 2)
			assert_int_equal(mja_clients_remove(r, CL(i)), 1);
		else
			assert_int_equal(mja_clients_disconnect(r, CL(i), 0, 0 + 60, 1), 1);
		alive[i] = 0;
	}
	/* every lookup finds its own entry */
	for (int i = 0; i < N; i++) {
		c = mja_clients_get(r, CL(i));
		if (i % 3 == 0 && i % 2) {
			assert_null(c);
			continue;
		}
		assert_non_null(c);
		assert_ptr_equal(c->client, CL(i));
		assert_int_equal(c->principal->exp, exp_of[i]);
	}
	for (int i = 0; i < N; i++)
		expect += alive[i] && exp_of[i] <= 4000;
	while ((c = mja_clients_next_expired(r, 4000, 0))) {
		assert_true(c->principal->exp >= last);
		last = c->principal->exp;
		assert_true(alive[(const char *)c->client - clients_mem]);
		assert_int_equal(mja_clients_kick(r, c->client, 100, 1), 1);
		n++;
	}
	assert_int_equal(n, expect);
	/* the rest are all later than 4000 */
	c = mja_clients_next_expired(r, INT64_MAX, 0);
	assert_non_null(c);
	assert_true(c->principal->exp > 4000);
	mja_clients_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace_remove),
		cmocka_unit_test(test_null_ids_and_no_exp),
		cmocka_unit_test(test_disconnect_twice_and_sweep),
		cmocka_unit_test(test_gone_deadlines_and_kicked_sweep),
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_set_principal),
		cmocka_unit_test(test_expiry_order_and_leeway),
		cmocka_unit_test(test_many_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
