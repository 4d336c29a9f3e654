/* test_session_workers.c - held CONNECTs whose signature check runs on a
 * worker thread (session.h "Held CONNECTs", workers.h), with a fixed
 * clock: the session is driven the way Mosquitto 2.1 drives the plugin
 * (BASIC_AUTH answered "delayed", TICK completing it), the workers' answers
 * waited for with mja_session_wait_workers.
 *
 * Covered: an ES256 CONNECT held and completed (accepted, refused); what
 * stays synchronous (2.0, verify_threads 0, HS256, a cached token, enhanced
 * authentication, the re-check after a reload); a client that goes while
 * its check is pending; a second CONNECT with the same client id; a reload
 * while checks are pending (new keys decide); shutdown with work pending
 * (the asan stage checks for leaks).
 */
#include "plugin_fixture.h"

#include "mja/session/session.h"

struct fake {
	const char *id;
	char *username;
};

static char logbuf[16384];
static int completes, completed_allow;
static char completed_id[64];
static const char *key_path, *key2_path;
static mja_key *priv, *priv2;

static int64_t fake_now = FX_NOW;
static int64_t fake_ms = 1000000;

static void run(mja_actions *acts, struct fake *held)
{
	assert_false(acts->lost);
	for (size_t i = 0; i < acts->n; i++) {
		mja_action *a = &acts->v[i];
		size_t used = strlen(logbuf);

		switch (a->kind) {
		case MJA_ACTION_LOG:
			snprintf(logbuf + used, sizeof(logbuf) - used, "%s\n", a->text);
			break;
		case MJA_ACTION_SET_USERNAME:
			if (held && a->client == held) {
				free(held->username);
				held->username = strdup(a->text);
			}
			break;
		case MJA_ACTION_KICK:
			fail_msg("unexpected kick of %s", a->text);
			break;
		case MJA_ACTION_COMPLETE_AUTH:
			completes++;
			completed_allow = a->allow;
			snprintf(completed_id, sizeof(completed_id), "%s", a->text);
			break;
		}
	}
	mja_actions_free(acts);
}

static int setup(void **state)
{
	(void)state;
	fx_setup_dir();
	key_path = fx_write_ec_key("es.pem", &priv);
	key2_path = fx_write_ec_key("es2.pem", &priv2);
	logbuf[0] = '\0';
	completes = completed_allow = 0;
	completed_id[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mja_key_free(priv);
	mja_key_free(priv2);
	fx_cleanup_dir();
	return 0;
}

/* A session over the EC key file (its path given), an HS256 secret too,
 * on the given broker line, with an extra option. */
static mja_session *open_session(const char *keyfile, mja_broker_line line, const char *extra)
{
	fx_opts o = { .n = 0 };
	mja_session *s = NULL;
	mja_actions acts;

	fx_add(&o, "key_file %s", keyfile);
	fx_add(&o, "secret_file %s", fx_write_str("hs.secret", FX_SECRET "\n"));
	fx_add(&o, "leeway 0");
	if (extra)
		fx_add(&o, "%s", extra);
	mja_actions_init(&acts);
	assert_int_equal(mja_session_open(o.o, o.n, fake_ms, &s, &acts), MJA_OK);
	run(&acts, NULL);
	mja_session_set_broker(s, line);
	return s;
}

static char *es_token(const mja_key *k, const char *sub, int64_t ttl)
{
	char json[256];
	json_t *p;
	char *tok = NULL;

	snprintf(json, sizeof(json), "{\"sub\":\"%s\",\"exp\":%lld}", sub,
			(long long)(FX_NOW + ttl));
	p = json_loads(json, 0, NULL);
	assert_int_equal(mja_token_sign(k, MJA_ALG_ES256, NULL, p, &tok), MJA_OK);
	json_decref(p);
	return tok;
}

static mja_decision basic(mja_session *s, struct fake *c, const char *pass, mja_err *why)
{
	mja_session_client f = { .client = c, .clientid = c->id, .username = c->username };
	mja_actions acts;
	mja_err dummy;
	mja_decision r;

	mja_actions_init(&acts);
	r = mja_session_basic_auth(s, &f, NULL, pass, fake_now, fake_ms, &acts, why ? why : &dummy);
	run(&acts, c);
	return r;
}

static int64_t tick(mja_session *s, struct fake *held)
{
	mja_actions acts;
	int64_t next;

	mja_actions_init(&acts);
	next = mja_session_tick(s, fake_now, fake_ms, &acts);
	run(&acts, held);
	return next;
}

/* The workers finish, then one TICK takes their answers in. */
static void settle(mja_session *s, struct fake *held)
{
	mja_session_wait_workers(s);
	tick(s, held);
}

static void es256_held_then_completed(void **state)
{
	mja_session *s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 1");
	struct fake c = { .id = "dev-1" };
	char *tok = es_token(priv, "dev-1", 300);
	const mja_client *e;

	(void)state;
	assert_int_equal(basic(s, &c, tok, NULL), MJA_HOLD);
	assert_int_equal(mja_session_held(s), 1);
	assert_null(mja_session_get(s, &c));
	assert_non_null(strstr(logbuf, "signature checks on 1 worker thread(s)"));
	settle(s, &c);
	assert_int_equal(completes, 1);
	assert_true(completed_allow);
	assert_string_equal(completed_id, "dev-1");
	assert_int_equal(mja_session_held(s), 0);
	e = mja_session_get(s, &c);
	assert_non_null(e);
	assert_string_equal(e->principal->sub, "dev-1");
	assert_string_equal(c.username, "dev-1");
	assert_int_equal(mja_session_stats(s)->connects_accepted, 1);
	{
		mja_cache_stats st;

		mja_cache_get_stats(mja_session_config(s)->cache, &st);
		assert_int_equal(st.misses, 1);   /* the worker's check */
	}
	/* nothing pending: TICK no longer asks to come back soon */
	assert_true(tick(s, NULL) > MJA_SESSION_HOLD_POLL_MS);

	/* the same token again (another connection): in the cache now, so
	 * decided at once */
	{
		struct fake c2 = { .id = "dev-1b" };

		assert_int_equal(basic(s, &c2, tok, NULL), MJA_ALLOW);
		free(c2.username);
	}
	free(tok);
	free(c.username);
	mja_session_free(s);
}

static void bad_signature_refused_on_completion(void **state)
{
	mja_session *s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 2");
	struct fake c = { .id = "dev-1" };
	char *tok = es_token(priv2, "dev-1", 300);   /* a key the broker does not have */

	(void)state;
	assert_int_equal(basic(s, &c, tok, NULL), MJA_HOLD);
	/* while it is pending, TICK asks to come back within the poll time */
	assert_true(tick(s, &c) <= MJA_SESSION_WORK_POLL_MS || completes == 1);
	settle(s, &c);
	assert_int_equal(completes, 1);
	assert_false(completed_allow);
	assert_null(mja_session_get(s, &c));
	assert_non_null(strstr(logbuf, "bad signature"));
	assert_null(strstr(logbuf, tok));
	assert_int_equal(mja_session_stats(s)->connects_accepted, 0);
	/* expired: refused the same way */
	free(tok);
	tok = es_token(priv, "dev-1", -10);
	assert_int_equal(basic(s, &c, tok, NULL), MJA_HOLD);
	settle(s, &c);
	assert_int_equal(completes, 2);
	assert_false(completed_allow);
	assert_non_null(strstr(logbuf, "expired"));
	free(tok);
	mja_session_free(s);
}

/* Everything that is not an asymmetric check on 2.1 with threads is
 * answered at once. */
static void what_stays_synchronous(void **state)
{
	char *es = es_token(priv, "dev-1", 300);
	char *hs = fx_token(FX_SECRET, "{\"sub\":\"dev-1\",\"exp\":1700000300}");
	mja_session *s;
	struct fake c = { .id = "dev-1" };

	(void)state;
	/* 2.0: whatever verify_threads says */
	s = open_session(key_path, MJA_BROKER_2_0, "verify_threads 4");
	assert_int_equal(basic(s, &c, es, NULL), MJA_ALLOW);
	mja_session_free(s);
	/* 2.1 with verify_threads 0 */
	s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 0");
	assert_int_equal(basic(s, &c, es, NULL), MJA_ALLOW);
	assert_null(strstr(logbuf, "worker thread"));
	mja_session_free(s);
	s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 1");
	/* HS256: cheaper here than a round trip to a thread */
	assert_int_equal(basic(s, &c, hs, NULL), MJA_ALLOW);
	/* no client id to complete it by */
	{
		struct fake anon = { .id = "" };

		assert_int_equal(basic(s, &anon, es, NULL), MJA_ALLOW);
		free(anon.username);
	}
	/* not a JWT: deferred at once */
	assert_int_equal(basic(s, &c, "not-a-token", NULL), MJA_DEFER);
	/* three segments and an ES256 header, but not base64url after it: not
	 * a JWT either, deferred at once (never sent to a worker) */
	{
		char *bad = strdup(es);

		*(strchr(bad, '.') + 1) = '!';
		assert_int_equal(basic(s, &c, bad, NULL), MJA_DEFER);
		free(bad);
	}
	/* enhanced authentication (MQTT 5 AUTH) cannot be delayed */
	{
		struct fake e5 = { .id = "dev-5" };
		mja_session_client f = { .client = &e5, .clientid = e5.id };
		char *es5 = es_token(priv, "dev-5", 300);
		mja_actions acts;
		mja_err why;

		mja_actions_init(&acts);
		assert_int_equal(mja_session_ext_auth_start(s, &f, "jwt", es5, strlen(es5),
				fake_now, fake_ms, &acts, &why), MJA_ALLOW);
		run(&acts, &e5);
		free(es5);
		free(e5.username);
	}
	assert_int_equal(mja_session_held(s), 0);
	assert_int_equal(completes, 0);
	mja_session_free(s);
	free(c.username);
	free(es);
	free(hs);
}

/* The re-check after a reload is answered at once, with the new keys. */
static void recheck_is_synchronous(void **state)
{
	mja_session *s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 1");
	struct fake c = { .id = "dev-1" };
	char *tok = es_token(priv, "dev-1", 300);
	mja_actions acts;

	(void)state;
	assert_int_equal(basic(s, &c, tok, NULL), MJA_HOLD);
	settle(s, &c);
	assert_true(completed_allow);
	mja_actions_init(&acts);
	mja_session_reload(s, fake_now, fake_ms, &acts);
	run(&acts, NULL);
	/* the broker's re-check pass: same handle, same credentials */
	assert_int_equal(basic(s, &c, tok, NULL), MJA_ALLOW);
	assert_int_equal(mja_session_held(s), 0);
	free(tok);
	free(c.username);
	mja_session_free(s);
}

/* A client that goes while its check is pending is never answered, and
 * never gets an entry. */
static void client_gone_while_pending(void **state)
{
	mja_session *s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 1");
	struct fake c = { .id = "dev-1" };
	char *tok = es_token(priv, "dev-1", 300);
	mja_actions acts;

	(void)state;
	assert_int_equal(basic(s, &c, tok, NULL), MJA_HOLD);
	mja_actions_init(&acts);
	mja_session_disconnect(s, &c, fake_now, fake_ms, &acts);
	run(&acts, NULL);
	assert_int_equal(mja_session_held(s), 0);
	settle(s, &c);
	assert_int_equal(completes, 0);
	assert_null(mja_session_get(s, &c));
	assert_true(tick(s, NULL) > MJA_SESSION_WORK_POLL_MS);
	free(tok);
	mja_session_free(s);
}

/* A second CONNECT with the same client id (the first connection is gone:
 * the broker refuses a second one while the first is held) replaces the
 * first: only the second is answered, with its own token. */
static void second_connect_same_client_id(void **state)
{
	mja_session *s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 1");
	struct fake first = { .id = "dev-1" }, second = { .id = "dev-1" };
	char *bad = es_token(priv2, "dev-1", 300);
	char *good = es_token(priv, "dev-1", 300);

	(void)state;
	assert_int_equal(basic(s, &first, bad, NULL), MJA_HOLD);
	assert_int_equal(basic(s, &second, good, NULL), MJA_HOLD);
	assert_int_equal(mja_session_held(s), 1);
	settle(s, &second);
	assert_int_equal(completes, 1);
	assert_true(completed_allow);
	assert_null(mja_session_get(s, &first));
	assert_non_null(mja_session_get(s, &second));
	free(bad);
	free(good);
	free(first.username);
	free(second.username);
	mja_session_free(s);
}

static const char *write_public(const char *name, const mja_key *k)
{
	char *pem = NULL;
	const char *path;

	assert_int_equal(mja_key_public_pem(k, &pem), MJA_OK);
	path = fx_write_str(name, pem);
	free(pem);
	return path;
}

/* A reload while checks are pending: the answer comes from the keys in
 * force after it, whichever keys the check began with. Before: the key
 * file holds the first key; after: the second. */
static void reload_while_pending(void **state)
{
	const char *path = write_public("k.pem", priv);
	mja_session *s = open_session(path, MJA_BROKER_2_1, "verify_threads 1");
	struct fake a = { .id = "dev-a" }, b = { .id = "dev-b" };
	char *ta = es_token(priv, "dev-a", 300);    /* good before, bad after */
	char *tb = es_token(priv2, "dev-b", 300);   /* bad before, good after */
	mja_actions acts;

	(void)state;
	assert_int_equal(basic(s, &a, ta, NULL), MJA_HOLD);
	assert_int_equal(basic(s, &b, tb, NULL), MJA_HOLD);
	write_public("k.pem", priv2);
	mja_actions_init(&acts);
	mja_session_reload(s, fake_now, fake_ms, &acts);
	run(&acts, NULL);
	assert_non_null(strstr(logbuf, "reloaded"));
	assert_int_equal(mja_session_held(s), 2);
	/* the answers made with the old keys are not used: checked again */
	for (int i = 0; i < 4 && completes < 2; i++)
		settle(s, NULL);
	assert_int_equal(completes, 2);
	assert_null(mja_session_get(s, &a));
	assert_non_null(mja_session_get(s, &b));
	assert_int_equal(mja_session_stats(s)->connects_accepted, 1);
	free(ta);
	free(tb);
	free(a.username);
	free(b.username);
	mja_session_free(s);
}

/* Shutdown with checks queued and running: no answer, nothing leaks. */
static void shutdown_with_work_pending(void **state)
{
	mja_session *s = open_session(key_path, MJA_BROKER_2_1, "verify_threads 2");
	struct fake c[50];
	char ids[50][16];
	char *tok = es_token(priv, "dev", 300);

	(void)state;
	for (int i = 0; i < 50; i++) {
		snprintf(ids[i], sizeof(ids[i]), "dev-%d", i);
		c[i].id = ids[i];
		c[i].username = NULL;
		assert_int_equal(basic(s, &c[i], tok, NULL), MJA_HOLD);
	}
	assert_int_equal(mja_session_held(s), 50);
	mja_session_free(s);
	assert_int_equal(completes, 0);
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(es256_held_then_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_signature_refused_on_completion, setup, teardown),
		cmocka_unit_test_setup_teardown(what_stays_synchronous, setup, teardown),
		cmocka_unit_test_setup_teardown(recheck_is_synchronous, setup, teardown),
		cmocka_unit_test_setup_teardown(client_gone_while_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(second_connect_same_client_id, setup, teardown),
		cmocka_unit_test_setup_teardown(reload_while_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(shutdown_with_work_pending, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
