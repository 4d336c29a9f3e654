/* test_session.c - the session module (session.h) with a fixed clock,
 * driven the way Mosquitto drives the plugin: the helpers below turn each
 * call's actions into what the broker would do (a log, a username set on
 * the fake client, a kick that re-enters the session: a subscription
 * re-check, DISCONNECT, then the will's WRITE check).
 *
 * Covered: decisions and log lines that never contain the token, the
 * expiry kick (on TICK and on an ACL check), session takeover, enhanced
 * authentication and re-authentication, reload that keeps the old set and
 * the re-check after it, offline durable sessions, token_field username,
 * wills of expired or refused clients, the missing-TICK warning, two
 * independent instances, and permissions in the token (acl_claim with the
 * broker's QoS and retain, superuser_claim, the refusal detail of a
 * malformed claim or a failed claim_match in the log line). */
#include "plugin_fixture.h"

#include "mja/topic/acl.h"
#include "mja/session/session.h"

/* ---- the fake broker ---- */

struct fake {
	const char *id;
	const char *address;
	char *username;           /* the broker's copy (set by SET_USERNAME) */
	const char *will_topic;   /* checked (WRITE) after DISCONNECT when kicked */
	int durable;              /* clean session false */
};

/* The usernames the fake broker gave its clients (SET_USERNAME): a test's
 * fake clients live on its stack, so whatever is still handed out when it
 * ends is freed by teardown. */
static char *handed[512];
static size_t n_handed;

static char *handed_out(char *p)
{
	assert_non_null(p);
	assert_true(n_handed < sizeof(handed) / sizeof(handed[0]));
	handed[n_handed++] = p;
	return p;
}

/* Free a fake client's username (its own or one handed out) and forget it. */
static void drop_username(struct fake *c)
{
	for (size_t i = 0; i < n_handed; i++) {
		if (handed[i] == c->username) {
			handed[i] = handed[--n_handed];
			break;
		}
	}
	free(c->username);
	c->username = NULL;
}

static char logbuf[16384];
static struct fake *known[8];   /* clients the fake can kick by id */
static int kicks, kick_will, will_result, resub_result;
static int fail_set_username;
static mja_session *kick_s;

static int64_t fake_now = FX_NOW;
static int64_t fake_ms = 1000000;

static void log_line(const char *text)
{
	size_t used = strlen(logbuf);

	snprintf(logbuf + used, sizeof(logbuf) - used, "jwt-auth: %s\n", text);
}

static mja_session_client facts(struct fake *c)
{
	mja_session_client f = { .client = c, .clientid = c->id, .address = c->address,
		.username = c->username, .durable = c->durable };

	return f;
}

static void run(mja_session *s, struct fake *c, mja_actions *acts, mja_decision *r);

/* An ACL check with the message's (or the requested) QoS and retain flag. */
static mja_decision acl_qr(mja_session *s, struct fake *c, const char *topic, int access,
		int qos, int retain)
{
	mja_session_client f = { .client = c };
	mja_actions acts;
	mja_decision r;

	mja_actions_init(&acts);
	r = mja_session_acl(s, &f, topic, access, qos, retain, fake_now, fake_ms, &acts);
	run(s, NULL, &acts, NULL);
	return r;
}

static mja_decision acl(mja_session *s, struct fake *c, const char *topic, int access)
{
	return acl_qr(s, c, topic, access, 0, 0);
}

static void disconnect(mja_session *s, struct fake *c)
{
	mja_actions acts;

	mja_actions_init(&acts);
	mja_session_disconnect(s, c, fake_now, fake_ms, &acts);
	run(s, NULL, &acts, NULL);
}

/* As Debian's 2.0.11: re-check a subscription, disconnect, then send the
 * will (WRITE check after the DISCONNECT event). */
static void kick_by_id(mja_session *s, const char *clientid, int with_will)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct fake *c = known[i];

		if (!c || !c->id || strcmp(c->id, clientid) != 0)
			continue;
		kicks++;
		kick_will = with_will;
		resub_result = acl(s, c, "devices/dev1/#", MJA_ACCESS_SUBSCRIBE);
		disconnect(s, c);
		if (with_will && c->will_topic)
			will_result = acl(s, c, c->will_topic, MJA_ACCESS_WRITE);
		return;
	}
}

static void run(mja_session *s, struct fake *c, mja_actions *acts, mja_decision *r)
{
	assert_false(acts->lost);
	for (size_t i = 0; i < acts->n; i++) {
		mja_action *a = &acts->v[i];

		assert_non_null(a->text);
		switch (a->kind) {
		case MJA_ACTION_LOG:
			log_line(a->text);
			break;
		case MJA_ACTION_SET_USERNAME:
			assert_ptr_equal(a->client, c);
			if (fail_set_username) {
				mja_session_client f = facts(c);
				mja_actions more;
				mja_err why;

				mja_actions_init(&more);
				*r = mja_session_username_failed(s, &f, a->required, &more, &why);
				run(s, NULL, &more, NULL);
				if (a->required)
					goto out;
				break;
			}
			drop_username(c);
			c->username = handed_out(strdup(a->text));
			break;
		case MJA_ACTION_KICK:
			mja_session_kick_begin(s, a->client);
			kick_by_id(kick_s ? kick_s : s, a->text, a->with_will);
			mja_session_kick_end(s);
			break;
		case MJA_ACTION_COMPLETE_AUTH:
			fail_msg("COMPLETE_AUTH without a held CONNECT");
			break;
		}
	}
out:
	mja_actions_free(acts);
}

static const char *secret_path, *acl_path;

/* What the fake broker saw; the clock back at its start. */
static void reset_fake(void)
{
	logbuf[0] = '\0';
	memset(known, 0, sizeof(known));
	kicks = kick_will = 0;
	will_result = resub_result = -100;
	fail_set_username = 0;
	kick_s = NULL;
	fake_now = FX_NOW;
	fake_ms = 1000000;
}

static int setup(void **state)
{
	fx_setup_dir();
	secret_path = fx_write_str("hs.secret", FX_SECRET "\n");
	acl_path = fx_write_str("acl.conf", "pattern readwrite devices/%s/#\n");
	reset_fake();
	return 0;
}

static int teardown(void **state)
{
	while (n_handed)
		free(handed[--n_handed]);
	fx_cleanup_dir();
	return 0;
}

/* A session with the secret, the ACL (unless no_acl), leeway 0 and an
 * extra "key value" option; its start lines go to the log. */
static mja_session *open_session(int no_acl, const char *extra)
{
	fx_opts o = { .n = 0 };
	mja_session *s = NULL;
	mja_actions acts;

	fx_add(&o, "secret_file %s", secret_path);
	if (!no_acl)
		fx_add(&o, "acl_file %s", acl_path);
	fx_add(&o, "leeway 0");
	if (extra)
		fx_add(&o, "%s", extra);
	mja_actions_init(&acts);
	assert_int_equal(mja_session_open(o.o, o.n, fake_ms, &s, &acts), MJA_OK);
	assert_non_null(s);
	run(s, NULL, &acts, NULL);
	return s;
}

static mja_decision basic(mja_session *s, struct fake *c, const char *user, const char *pass)
{
	mja_session_client f = facts(c);
	mja_actions acts;
	mja_decision r;
	mja_err why;

	mja_actions_init(&acts);
	r = mja_session_basic_auth(s, &f, user, pass, fake_now, fake_ms, &acts, &why);
	assert_true(r == MJA_DENY ? why != MJA_OK : why == MJA_OK);
	assert_true(r != MJA_IGNORE || mja_session_broker(s) == MJA_BROKER_2_1);
	run(s, c, &acts, &r);
	return r;
}

static mja_decision ext(mja_session *s, struct fake *c, const char *method, const char *tok)
{
	mja_session_client f = facts(c);
	mja_actions acts;
	mja_decision r;
	mja_err why;

	mja_actions_init(&acts);
	r = mja_session_ext_auth_start(s, &f, method, tok, tok ? strlen(tok) : 0, fake_now,
			fake_ms, &acts, &why);
	run(s, c, &acts, &r);
	return r;
}

static mja_decision ext_continue(mja_session *s, struct fake *c)
{
	mja_session_client f = facts(c);
	mja_actions acts;
	mja_decision r;
	mja_err why;

	mja_actions_init(&acts);
	r = mja_session_ext_auth_continue(s, &f, fake_now, fake_ms, &acts, &why);
	run(s, c, &acts, &r);
	return r;
}

static int64_t tick(mja_session *s)
{
	mja_actions acts;
	int64_t next;

	mja_actions_init(&acts);
	next = mja_session_tick(s, fake_now, fake_ms, &acts);
	run(s, NULL, &acts, NULL);
	return next;
}

static void reload(mja_session *s)
{
	mja_actions acts;

	mja_actions_init(&acts);
	mja_session_reload(s, fake_now, fake_ms, &acts);
	run(s, NULL, &acts, NULL);
}

static void connected(mja_session *s, struct fake *c)
{
	mja_session_client f = facts(c);
	mja_actions acts;

	mja_actions_init(&acts);
	mja_session_connected(s, &f, fake_now, fake_ms, &acts);
	run(s, NULL, &acts, NULL);
}

static char *tok_for(const char *secret, const char *sub, int64_t ttl)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"sub\":\"%s\",\"exp\":%lld}", sub,
			(long long)(fake_now + ttl));
	return fx_token(secret, json);
}

/* The log never holds the token or its signature. */
static void assert_log_clean(const char *tok)
{
	const char *sig = strrchr(tok, '.') + 1;

	assert_null(strstr(logbuf, tok));
	assert_null(strstr(logbuf, sig));
}

/* ---- tests ---- */

static void test_bad_options(void **state)
{
	fx_opts bad = { .n = 0 }, none = { .n = 0 };
	mja_session *s = (mja_session *)0x1;
	mja_actions acts;

	fx_add(&bad, "secret_file %s", secret_path);
	fx_add(&bad, "leway 3");
	fx_add(&none, "leeway 3");
	mja_actions_init(&acts);
	assert_int_not_equal(mja_session_open(bad.o, bad.n, fake_ms, &s, &acts), MJA_OK);
	assert_null(s);
	run(NULL, NULL, &acts, NULL);
	assert_non_null(strstr(logbuf, "jwt-auth: configuration error: option leway: unknown option"));
	mja_actions_init(&acts);
	assert_int_not_equal(mja_session_open(none.o, none.n, fake_ms, &s, &acts), MJA_OK);
	run(NULL, NULL, &acts, NULL);
	assert_non_null(strstr(logbuf, "key_file"));
	assert_null(s);
	/* a session takes its configuration on every path */
	assert_int_equal(mja_session_new(NULL, 0, &s), MJA_ERR_INVAL);
	assert_null(s);
}

static void test_acl_callback_and_start_lines(void **state)
{
	mja_session *s = open_session(1, NULL);

	/* without acl_file no ACL callback, and a warning */
	assert_false(mja_session_wants_acl(s));
	assert_non_null(strstr(logbuf, "jwt-auth: no acl_file"));
	/* and that expiry then depends on TICK (none with per_listener_settings) */
	assert_non_null(strstr(logbuf, "disconnected only on the broker's TICK, which "
			"Mosquitto 2.0.11 to 2.0.14 never send with per_listener_settings true"));
	assert_non_null(strstr(logbuf, "jwt-auth: ready: 1 key(s)\n"));
	mja_session_free(s);

	logbuf[0] = '\0';
	s = open_session(0, NULL);
	assert_true(mja_session_wants_acl(s));
	assert_null(strstr(logbuf, "no acl_file"));
	assert_non_null(strstr(logbuf, "jwt-auth: ready: 1 key(s), ACL loaded"));
	mja_session_free(s);
}

static void test_basic_auth_codes_and_log(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "cid-1", .address = "192.0.2.7" };
	char *good = tok_for(FX_SECRET, "dev1", 60);
	char *forged = tok_for(FX_SECRET2, "dev1", 60);

	assert_int_equal(basic(s, &c, "u", forged), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: refused client cid-1 from 192.0.2.7: bad signature"));
	assert_log_clean(forged);
	assert_null(mja_session_get(s, &c));
	/* the refused CONNECT's DISCONNECT (client id NULL) is harmless */
	c.id = NULL;
	disconnect(s, &c);
	c.id = "cid-1";

	assert_int_equal(basic(s, &c, "u", "hunter2"), MJA_DEFER);
	assert_int_equal(basic(s, &c, NULL, NULL), MJA_DEFER);
	/* a client that is not ours is left to others for ACL too */
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DEFER);

	assert_int_equal(basic(s, &c, "u", good), MJA_ALLOW);
	assert_non_null(mja_session_get(s, &c));
	assert_string_equal(c.username, "dev1");   /* a claimed name becomes the sub */
	assert_log_clean(good);
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(acl(s, &c, "devices/dev2/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(acl(s, &c, "devices/dev2/#", MJA_ACCESS_SUBSCRIBE), MJA_DENY);
	mja_session_free(s);
	drop_username(&c);
	free(good);
	free(forged);
}

/* The "accepted" line is a debug line: without log_debug true it is not
 * built at all (no log action reaches the broker); with it, it is, and a
 * value other than true or false is a configuration error. */
static void test_debug_lines_only_with_log_debug(void **state)
{
	struct fake c = { .id = "cid-1", .address = "192.0.2.7" };
	char *good = tok_for(FX_SECRET, "dev1", 60);
	const char *extra[] = { NULL, "log_debug false", "log_debug true" };
	fx_opts bad = { .n = 0 };
	mja_session *s;
	mja_actions acts;

	for (size_t i = 0; i < 3; i++) {
		s = open_session(0, extra[i]);
		logbuf[0] = '\0';
		assert_int_equal(basic(s, &c, "u", good), MJA_ALLOW);
		if (i < 2)
			assert_string_equal(logbuf, "");
		else
			assert_string_equal(logbuf,
					"jwt-auth: accepted client cid-1 from 192.0.2.7: sub dev1\n");
		mja_session_free(s);
		drop_username(&c);
	}
	fx_add(&bad, "secret_file %s", secret_path);
	fx_add(&bad, "log_debug yes");
	s = (mja_session *)0x1;
	mja_actions_init(&acts);
	assert_int_not_equal(mja_session_open(bad.o, bad.n, fake_ms, &s, &acts), MJA_OK);
	assert_null(s);
	run(NULL, NULL, &acts, NULL);
	assert_non_null(strstr(logbuf, "jwt-auth: configuration error: option log_debug:"));
	free(good);
}

/* MQTT 5 password without username: given the sub as username, so the
 * broker's SIGHUP re-check does not drop it as anonymous. */
static void test_username_given_to_usernameless(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "c", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 60);

	assert_int_equal(basic(s, &c, NULL, tok), MJA_ALLOW);
	assert_non_null(c.username);
	assert_string_equal(c.username, "dev1");
	/* %u is the sub */
	assert_string_equal(mja_session_get(s, &c)->username, "dev1");
	mja_session_free(s);
	drop_username(&c);

	/* if the broker cannot set it, the client is still accepted, with a
	 * warning (it will not survive a reload) */
	reset_fake();
	c.username = NULL;
	s = open_session(0, NULL);
	fail_set_username = 1;
	assert_int_equal(basic(s, &c, NULL, tok), MJA_ALLOW);
	assert_null(c.username);
	assert_non_null(strstr(logbuf, "cannot set username for client c from a"));
	assert_non_null(mja_session_get(s, &c));
	mja_session_free(s);
	free(tok);
}

static void test_expiry_on_tick_kicks_with_will(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "dev1", .address = "a", .will_topic = "devices/dev1/will" };
	struct fake other = { .id = "dev2", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 10);
	char *tok2 = tok_for(FX_SECRET, "dev2", 100);

	known[0] = &c;
	known[1] = &other;
	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s, &other, "u", tok2), MJA_ALLOW);
	fake_now += 9;
	fake_ms += 5000;
	tick(s);
	assert_int_equal(kicks, 0);
	/* exp reached, but the tick is rate-limited to once a second */
	fake_now += 1;
	fake_ms += 500;
	tick(s);
	assert_int_equal(kicks, 0);
	fake_ms += 500;
	tick(s);
	assert_int_equal(kicks, 1);
	assert_true(kick_will);
	/* inside the kick: the subscription re-check is judged by the rules
	 * alone (a durable session keeps its subscriptions; deliveries stay
	 * denied while the token is expired), the DISCONNECT is taken, and the
	 * will is allowed by the rules despite expiry */
	assert_int_equal(resub_result, MJA_ALLOW);
	assert_int_equal(will_result, MJA_ALLOW);
	/* a clean session: after its will the broker is done with it */
	assert_null(mja_session_get(s, &c));
	assert_non_null(strstr(logbuf, "jwt-auth: disconnecting client dev1 from a: expired"));
	/* the other client is untouched and the kick is not repeated */
	fake_ms += 1000;
	tick(s);
	assert_int_equal(kicks, 1);
	assert_int_equal(acl(s, &other, "devices/dev2/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	/* a will to a topic the rules deny stays denied */
	{
		struct fake z = { .id = "dev1z", .address = "a", .will_topic = "devices/dev2/x" };
		char *tz = tok_for(FX_SECRET, "dev1", 1);

		known[2] = &z;
		assert_int_equal(basic(s, &z, "u", tz), MJA_ALLOW);
		fake_now += 1;
		fake_ms += 1000;
		tick(s);
		assert_int_equal(kicks, 2);
		assert_int_equal(will_result, MJA_DENY);
		assert_null(mja_session_get(s, &z));
		drop_username(&z);
		free(tz);
	}
	mja_session_free(s);
	free(tok);
	free(tok2);
}

/* per_listener_settings: no TICK; the first ACL check after expiry denies
 * and kicks. */
static void test_expiry_on_acl_check(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "dev1", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 10);

	known[0] = &c;
	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	fake_now += 9;
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	fake_now += 1;
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(kicks, 1);
	assert_int_equal(resub_result, MJA_ALLOW);
	/* after the kick: a delivery still queued for it is denied (expired);
	 * a SUBSCRIBE cannot come from it any more: on its memory it is another
	 * connection's (the entry is dropped, the check left to others) */
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_READ), MJA_DENY);
	assert_int_equal(acl(s, &c, "devices/dev1/#", MJA_ACCESS_SUBSCRIBE), MJA_DEFER);
	assert_null(mja_session_get(s, &c));
	mja_session_free(s);
	free(tok);

	/* disconnect_on_expiry false: denied, never kicked */
	reset_fake();
	s = open_session(0, "disconnect_on_expiry false");
	tok = tok_for(FX_SECRET, "dev1", 10);
	known[0] = &c;
	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	fake_now += 10;
	fake_ms += 2000;
	tick(s);
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(kicks, 0);
	mja_session_free(s);
	free(tok);
}

static void test_takeover_disconnect_twice(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake old = { .id = "dev1", .address = "a" }, fresh = { .id = "dev1", .address = "b" };
	char *tok = tok_for(FX_SECRET, "dev1", 100);

	assert_int_equal(basic(s, &old, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s, &fresh, "u", tok), MJA_ALLOW);
	disconnect(s, &old);
	disconnect(s, &old);
	assert_null(mja_session_get(s, &old));
	assert_int_equal(mja_session_get(s, &fresh)->state, MJA_CLIENT_LIVE);
	assert_int_equal(acl(s, &fresh, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	mja_session_free(s);
	free(tok);
}

static void test_enhanced_auth_and_reauth(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "dev1", .address = "a" };
	char *first = tok_for(FX_SECRET, "dev1", 10);
	char *fresh = tok_for(FX_SECRET, "dev1", 3600);
	char *other = tok_for(FX_SECRET, "dev2", 3600);
	char *forged = tok_for(FX_SECRET2, "dev1", 3600);

	assert_int_equal(ext(s, &c, "SCRAM-SHA-1", first), MJA_DEFER);
	assert_int_equal(ext(s, &c, NULL, first), MJA_DEFER);
	assert_int_equal(ext_continue(s, &c), MJA_DEFER);
	/* method jwt: ours, so a non-JWT is refused, not deferred */
	assert_int_equal(ext(s, &c, "jwt", "hunter2"), MJA_DENY);
	assert_int_equal(ext(s, &c, "jwt", NULL), MJA_DENY);
	assert_int_equal(ext(s, &c, "jwt", forged), MJA_DENY);
	assert_int_equal(ext(s, &c, "jwt", first), MJA_ALLOW);
	assert_string_equal(c.username, "dev1");
	assert_int_equal(mja_session_get(s, &c)->principal->exp, fake_now + 10);
	/* a continuation from our client is refused */
	assert_int_equal(ext_continue(s, &c), MJA_DENY);

	/* re-auth (EXT_AUTH_START again) with the same sub: the new exp
	 * replaces the old one */
	known[0] = &c;
	assert_int_equal(ext(s, &c, "jwt", fresh), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &c)->principal->exp, fake_now + 3600);
	fake_now += 20;
	fake_ms += 2000;
	tick(s);
	assert_int_equal(kicks, 0);   /* rescheduled */
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	/* another sub: refused, and the session may do nothing more */
	assert_int_equal(ext(s, &c, "jwt", other), MJA_DENY);
	assert_non_null(strstr(logbuf, "re-authentication with a different sub"));
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_log_clean(other);
	assert_log_clean(fresh);
	mja_session_free(s);
	drop_username(&c);
	free(first);
	free(fresh);
	free(other);
	free(forged);
}

/* SIGHUP: broken files keep the old set; a rotation refuses the old tokens
 * at the broker's BASIC_AUTH re-check, for basic clients (password again)
 * and enhanced ones (password NULL). */
static void test_reload_and_recheck(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake b = { .id = "b", .address = "a" }, e = { .id = "e", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 100);
	char *tok2 = tok_for(FX_SECRET2, "dev1", 100);
	const mja_config_files *before = mja_session_config(s)->files;

	assert_int_equal(basic(s, &b, "u", tok), MJA_ALLOW);
	assert_int_equal(ext(s, &e, "jwt", tok), MJA_ALLOW);

	fx_write_str("acl.conf", "pattern readwrite devices/%s/#\nbroken line\n");
	reload(s);
	assert_ptr_equal(mja_session_config(s)->files, before);
	assert_non_null(strstr(logbuf, "jwt-auth: reload failed, the previous keys and ACL stay in force"));
	assert_int_equal(basic(s, &b, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s, &e, e.username, NULL), MJA_ALLOW);
	tick(s);

	/* rotate the secret */
	fx_write_str("acl.conf", "pattern readwrite devices/%s/#\n");
	fx_write_str("hs.secret", FX_SECRET2);
	reload(s);
	assert_non_null(strstr(logbuf, "jwt-auth: reloaded: 1 key(s), ACL"));
	assert_ptr_not_equal(mja_session_config(s)->files, before);
	assert_int_equal(basic(s, &b, "u", tok), MJA_DENY);
	assert_int_equal(basic(s, &e, e.username, NULL), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: re-check refused client e from a: bad signature"));
	/* until the broker disconnects them they may do nothing */
	assert_int_equal(acl(s, &b, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DENY);
	tick(s);
	/* new tokens with the new secret work */
	{
		struct fake n = { .id = "n", .address = "a" };

		assert_int_equal(basic(s, &n, "u", tok2), MJA_ALLOW);
		assert_int_equal(acl(s, &n, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	}
	mja_session_free(s);
	drop_username(&e);
	free(tok);
	free(tok2);
}

/* After SIGHUP a BASIC_AUTH on a disconnected (offline) client's handle
 * is a new connection reusing the freed `struct mosquitto`, never the
 * re-check of the old one: it must not log in with the old client's
 * stored token, and a valid token of another sub must not be refused as
 * "a different sub". */
static void test_gone_address_decided_afresh(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "alice-dev", .address = "a" };
	char *alice = tok_for(FX_SECRET, "alice", 300);
	char *bob = tok_for(FX_SECRET, "bob", 300);
	const mja_client *e;

	/* enhanced-auth alice, SIGHUP, alice goes; mallory gets her address */
	assert_int_equal(ext(s, &c, "jwt", alice), MJA_ALLOW);
	reload(s);
	tick(s);
	disconnect(s, &c);
	c.id = "mallory";
	assert_int_equal(basic(s, &c, "x", "not-a-jwt"), MJA_DEFER);
	assert_null(mja_session_get(s, &c));
	assert_int_equal(acl(s, &c, "devices/alice/cmd", MJA_ACCESS_WRITE), MJA_DEFER);
	/* the same with no credentials at all, and a second later */
	assert_int_equal(ext(s, &c, "jwt", alice), MJA_ALLOW);
	reload(s);
	tick(s);
	disconnect(s, &c);
	fake_now += 1;
	assert_int_equal(basic(s, &c, NULL, NULL), MJA_DEFER);
	assert_null(mja_session_get(s, &c));

	/* password alice, SIGHUP, alice goes; bob (valid) gets her address */
	drop_username(&c);
	c.username = NULL;
	c.id = "alice-dev";
	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	reload(s);
	tick(s);
	disconnect(s, &c);
	c.id = "bob-dev";
	assert_int_equal(basic(s, &c, "x", bob), MJA_ALLOW);
	e = mja_session_get(s, &c);
	assert_non_null(e);
	assert_string_equal(e->principal->sub, "bob");
	assert_int_equal(e->state, MJA_CLIENT_LIVE);
	assert_null(strstr(logbuf, "different sub"));
	assert_int_equal(acl(s, &c, "devices/bob/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(acl(s, &c, "devices/alice/x", MJA_ACCESS_WRITE), MJA_DENY);
	/* a live client's BASIC_AUTH in a reload's re-check pass is the
	 * re-check: another sub is refused and the session may do nothing more */
	reload(s);
	assert_int_equal(basic(s, &c, "x", alice), MJA_DENY);
	assert_non_null(strstr(logbuf, "re-check refused client bob-dev from a: "
			"re-authentication with a different sub"));
	assert_int_equal(acl(s, &c, "devices/bob/x", MJA_ACCESS_WRITE), MJA_DENY);
	/* ... and a kicked one's next re-check is refused (2.1), or answered
	 * with success while it stays denied everything (2.0, where refusing
	 * an offline session crashes the broker) */
	tick(s);
	reload(s);
	mja_session_set_broker(s, MJA_BROKER_2_1);
	assert_int_equal(basic(s, &c, "x", bob), MJA_DENY);
	tick(s);
	reload(s);
	mja_session_set_broker(s, MJA_BROKER_2_0);
	assert_int_equal(basic(s, &c, "x", bob), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &c)->state, MJA_CLIENT_KICKED);
	assert_int_equal(acl(s, &c, "devices/bob/x", MJA_ACCESS_READ), MJA_DENY);
	mja_session_free(s);
	drop_username(&c);
	free(alice);
	free(bob);
}

/* The SIGHUP re-check of offline durable sessions: decided afresh from
 * the stored password, and the session keeps its entry while its token
 * holds; an enhanced-auth one has none: refused on 2.1, ended without a
 * refusal on 2.0 (a refused offline session corrupts 2.0's expiry list). */
static void test_reload_offline_durable(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake b = { .id = "b", .address = "a", .durable = 1 };
	struct fake e = { .id = "e", .address = "a", .durable = 1 };
	char *tok = tok_for(FX_SECRET, "dev1", 300);

	mja_session_set_broker(s, MJA_BROKER_2_1);
	assert_int_equal(basic(s, &b, "u", tok), MJA_ALLOW);
	assert_int_equal(ext(s, &e, "jwt", tok), MJA_ALLOW);
	disconnect(s, &b);
	disconnect(s, &e);
	reload(s);
	assert_int_equal(basic(s, &b, "u", tok), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &b)->principal->exp, fake_now + 300);
	assert_int_equal(mja_session_get(s, &b)->state, MJA_CLIENT_OFFLINE);
	assert_int_equal(basic(s, &e, e.username, NULL), MJA_DENY);
	assert_non_null(strstr(logbuf, "re-check refused client e from a: no token"));
	assert_null(mja_session_get(s, &e));
	tick(s);
	assert_int_equal(acl(s, &b, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_ALLOW);
	/* an offline session is not kicked at exp; its entry goes a grace
	 * later (a delayed will after exp is denied, not left to others) */
	fake_now += 300;
	fake_ms += 2000;
	tick(s);
	assert_non_null(mja_session_get(s, &b));
	assert_int_equal(acl(s, &b, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_DENY);
	fake_now += MJA_SESSION_GONE_GRACE;
	fake_ms += 2000;
	tick(s);
	assert_null(mja_session_get(s, &b));
	assert_int_equal(kicks, 0);
	mja_session_free(s);

	/* 2.0 */
	reset_fake();
	s = open_session(0, NULL);
	tick(s);
	assert_int_equal(basic(s, &b, "u", tok), MJA_ALLOW);
	assert_int_equal(ext(s, &e, "jwt", tok), MJA_ALLOW);
	disconnect(s, &b);
	disconnect(s, &e);
	reload(s);
	assert_int_equal(basic(s, &b, "u", tok), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &b)->state, MJA_CLIENT_OFFLINE);
	assert_int_equal(basic(s, &e, e.username, NULL), MJA_ALLOW);
	assert_non_null(strstr(logbuf, "re-check ended the offline session of client e "
			"from a: no token"));
	assert_int_equal(mja_session_get(s, &e)->state, MJA_CLIENT_KICKED);
	tick(s);
	assert_int_equal(acl(s, &e, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_DENY);
	assert_int_equal(acl(s, &e, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(acl(s, &b, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_ALLOW);
	/* its client reconnects (a new `struct mosquitto` takes the session
	 * over): authenticated afresh */
	{
		struct fake e2 = { .id = "e", .address = "a", .durable = 1 };

		assert_int_equal(ext(s, &e2, "jwt", tok), MJA_ALLOW);
		assert_int_equal(mja_session_get(s, &e2)->state, MJA_CLIENT_LIVE);
		assert_int_equal(acl(s, &e2, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_ALLOW);
		drop_username(&e2);
	}
	mja_session_free(s);
	drop_username(&e);
	free(tok);
}

/* Mosquitto 2.0: a durable client's token expires, the plugin disconnects
 * it, SIGHUP comes. The re-check of its offline session must not be
 * refused (the broker would put it on its expiry list twice and crash
 * later): it is answered with success and the session stays denied
 * everything, whether the plugin still has its entry or not. On 2.1 it is
 * refused. Without any TICK the end of the re-check pass is not known:
 * refused (a new connection must never be taken for an offline session). */
static void test_recheck_of_expired_offline_session(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake d = { .id = "d", .address = "a", .durable = 1 };
	char *tok = tok_for(FX_SECRET, "dev1", 10);

	known[0] = &d;
	tick(s);
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	fake_now += 10;
	fake_ms += 2000;
	tick(s);
	assert_int_equal(kicks, 1);
	assert_int_equal(mja_session_get(s, &d)->state, MJA_CLIENT_OFFLINE);
	/* SIGHUP while the plugin still has its entry */
	reload(s);
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &d)->state, MJA_CLIENT_KICKED);
	assert_int_equal(acl(s, &d, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_DENY);
	fake_ms += 2000;
	tick(s);
	/* ... and once its entry is gone */
	fake_now += MJA_SESSION_DURABLE_MAX;
	fake_ms += 2000;
	tick(s);
	assert_null(mja_session_get(s, &d));
	reload(s);
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &d)->state, MJA_CLIENT_KICKED);
	assert_int_equal(acl(s, &d, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_DENY);
	/* a client that is not the plugin's is still left to others */
	{
		struct fake o = { .id = "o", .address = "a", .durable = 1 };

		assert_int_equal(basic(s, &o, "u", "hunter2"), MJA_DEFER);
		assert_null(mja_session_get(s, &o));
	}
	tick(s);
	/* its client comes back with a fresh token: a new connection */
	free(tok);
	tok = tok_for(FX_SECRET, "dev1", 300);
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &d)->state, MJA_CLIENT_LIVE);
	mja_session_free(s);

	/* 2.1: refused */
	reset_fake();
	s = open_session(0, NULL);
	mja_session_set_broker(s, MJA_BROKER_2_1);
	free(tok);
	tok = tok_for(FX_SECRET, "dev1", 10);
	tick(s);
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	disconnect(s, &d);
	fake_now += 10;
	reload(s);
	assert_int_equal(basic(s, &d, "u", tok), MJA_DENY);
	assert_null(mja_session_get(s, &d));
	mja_session_free(s);

	/* 2.0 without TICK: refused */
	reset_fake();
	s = open_session(0, NULL);
	free(tok);
	tok = tok_for(FX_SECRET, "dev1", 10);
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	disconnect(s, &d);
	fake_now += 10;
	reload(s);
	assert_int_equal(basic(s, &d, "u", tok), MJA_DENY);
	mja_session_free(s);
	free(tok);
}

/* A durable session's entry is kept while it is offline (READ checks of
 * its queued messages) until its token's exp + leeway; a clean session's
 * only for the grace (its will). */
static void test_durable_kept_offline(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake d = { .id = "d", .address = "a", .durable = 1 };
	struct fake n = { .id = "n", .address = "a" };
	struct fake x = { .id = "x", .address = "a", .durable = 1 };
	char *tok = tok_for(FX_SECRET, "dev1", 3600);
	char *noexp = fx_token(FX_SECRET, "{\"sub\":\"dev1\"}");
	mja_session *h;

	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s, &n, "u", tok), MJA_ALLOW);
	disconnect(s, &d);
	disconnect(s, &n);
	fake_now += MJA_SESSION_GONE_GRACE + 10;
	fake_ms += 2000;
	tick(s);
	assert_int_equal(acl(s, &d, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_ALLOW);
	/* a clean session's will may still come (a will delay) */
	assert_non_null(mja_session_get(s, &n));
	/* at exp + leeway (0 here) READ is denied; the entries go a grace
	 * later (the broker does not say when it freed them) */
	fake_now = FX_NOW + 3599;
	assert_int_equal(acl(s, &d, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_ALLOW);
	fake_ms += 2000;
	tick(s);
	assert_non_null(mja_session_get(s, &d));
	fake_now = FX_NOW + 3600;
	assert_int_equal(acl(s, &d, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_DENY);
	fake_ms += 2000;
	tick(s);
	assert_non_null(mja_session_get(s, &d));
	fake_now = FX_NOW + 3600 + MJA_SESSION_GONE_GRACE;
	fake_ms += 2000;
	tick(s);
	assert_null(mja_session_get(s, &d));
	assert_null(mja_session_get(s, &n));
	assert_int_equal(kicks, 0);
	mja_session_free(s);

	/* no exp: kept at most MJA_SESSION_DURABLE_MAX */
	reset_fake();
	h = open_session(0, "require_claims sub");
	assert_int_equal(basic(h, &x, "u", noexp), MJA_ALLOW);
	disconnect(h, &x);
	fake_now += MJA_SESSION_DURABLE_MAX - 1;
	fake_ms += 2000;
	tick(h);
	assert_int_equal(acl(h, &x, "devices/dev1/inbox", MJA_ACCESS_READ), MJA_ALLOW);
	fake_now += 1;
	fake_ms += 2000;
	tick(h);
	assert_null(mja_session_get(h, &x));
	mja_session_free(h);
	free(tok);
	free(noexp);
}

/* token_field username puts the token where Mosquitto logs the username;
 * an accepted client's username becomes its sub (required: refused if the
 * broker cannot set it), and the kept token still serves the re-check. */
static void test_token_field_username(void **state)
{
	mja_session *s = open_session(0, "token_field username");
	struct fake c = { .id = "c", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 300);
	char *forged = tok_for(FX_SECRET2, "dev1", 300);

	c.username = strdup(forged);
	assert_int_equal(basic(s, &c, c.username, NULL), MJA_DENY);
	assert_log_clean(forged);
	drop_username(&c);
	c.username = strdup(tok);
	assert_int_equal(basic(s, &c, c.username, NULL), MJA_ALLOW);
	assert_string_equal(c.username, "dev1");
	assert_log_clean(tok);
	assert_non_null(mja_session_get(s, &c)->principal->token);
	/* %u is the sub */
	assert_string_equal(mja_session_get(s, &c)->username, "dev1");
	assert_int_equal(acl(s, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	/* SIGHUP: the broker re-checks with username "dev1": the kept token
	 * is verified with the current keys */
	reload(s);
	assert_int_equal(basic(s, &c, c.username, NULL), MJA_ALLOW);
	tick(s);
	fx_write_str("hs.secret", FX_SECRET2);
	reload(s);
	assert_int_equal(basic(s, &c, c.username, NULL), MJA_DENY);
	assert_log_clean(tok);
	drop_username(&c);

	/* the broker cannot replace the token: refused, forgotten */
	c.username = strdup(tok);
	fx_write_str("hs.secret", FX_SECRET);
	reload(s);
	tick(s);
	fail_set_username = 1;
	{
		struct fake d = { .id = "d", .address = "a", .username = c.username };

		assert_int_equal(basic(s, &d, d.username, NULL), MJA_DENY);
		assert_null(mja_session_get(s, &d));
		assert_non_null(strstr(logbuf, "refused client d from a: out of memory"));
	}
	assert_log_clean(tok);
	mja_session_free(s);
	drop_username(&c);
	free(tok);
	free(forged);
}

/* A will is a write by its client. Denied when the token had expired when
 * the client went (disconnect_on_expiry false, or before the tick noticed)
 * or was refused by a re-check; the expiry kick keeps it (see
 * test_expiry_on_tick_kicks_with_will); a valid client's will goes. */
static void test_will_of_expired_or_refused(void **state)
{
	mja_session *s = open_session(0, "disconnect_on_expiry false");
	struct fake c = { .id = "dev1", .address = "a" };
	struct fake v = { .id = "v", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 10);

	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s, &v, "u", tok), MJA_ALLOW);
	fake_now += 9;
	disconnect(s, &v);
	assert_int_equal(acl(s, &v, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_ALLOW);
	fake_now += 1;
	fake_ms += 2000;
	tick(s);
	disconnect(s, &c);
	assert_int_equal(acl(s, &c, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(kicks, 0);
	mja_session_free(s);
	free(tok);

	/* refused by the SIGHUP re-check (key rotated): its will is denied */
	reset_fake();
	s = open_session(0, NULL);
	tok = tok_for(FX_SECRET, "dev1", 300);
	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	fx_write_str("hs.secret", FX_SECRET2);
	reload(s);
	assert_int_equal(basic(s, &c, "u", tok), MJA_DENY);
	disconnect(s, &c);
	assert_int_equal(acl(s, &c, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_DENY);
	mja_session_free(s);
	free(tok);
}

/* No acl_file and no TICK (per_listener_settings true in 2.0.11): nothing
 * disconnects expired clients. The start cannot see that setting; the
 * first client accepted a while after the start without any TICK logs it,
 * once. */
static void test_no_tick_warning(void **state)
{
	static const char warn[] = "jwt-auth: the broker sends no TICK";
	mja_session *s = open_session(1, NULL);
	struct fake a = { .id = "a", .address = "x" }, b = { .id = "b", .address = "x" };
	char *tok = tok_for(FX_SECRET, "dev1", 300);

	assert_int_equal(basic(s, &a, "u", tok), MJA_ALLOW);
	assert_null(strstr(logbuf, warn));   /* too early to tell */
	fake_ms += MJA_SESSION_NO_TICK_MS;
	assert_int_equal(basic(s, &b, "u", tok), MJA_ALLOW);
	assert_non_null(strstr(logbuf, warn));
	assert_non_null(strstr(logbuf, "not disconnected"));
	logbuf[0] = '\0';
	disconnect(s, &a);
	assert_int_equal(basic(s, &a, "u", tok), MJA_ALLOW);
	assert_null(strstr(logbuf, warn));   /* once */
	mja_session_free(s);

	/* with TICK, or with acl_file (expiry on ACL checks): no warning */
	reset_fake();
	s = open_session(1, NULL);
	tick(s);
	fake_ms += MJA_SESSION_NO_TICK_MS;
	assert_int_equal(basic(s, &a, "u", tok), MJA_ALLOW);
	mja_session_free(s);
	s = open_session(0, NULL);
	fake_ms += MJA_SESSION_NO_TICK_MS;
	assert_int_equal(basic(s, &a, "u", tok), MJA_ALLOW);
	assert_null(strstr(logbuf, warn));
	mja_session_free(s);
	free(tok);
}

/* per_listener_settings: two instances, own options and clients. */
static void test_two_instances(void **state)
{
	mja_session *s1 = open_session(0, NULL);
	mja_session *s2 = open_session(0, "clientid_match sub");
	struct fake c = { .id = "someone", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 100);

	assert_ptr_not_equal(s1, s2);
	assert_int_equal(basic(s1, &c, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s2, &c, "u", tok), MJA_DENY);
	assert_non_null(mja_session_get(s1, &c));
	assert_null(mja_session_get(s2, &c));
	mja_session_free(s1);
	assert_int_equal(acl(s2, &c, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DEFER);
	mja_session_free(s2);
	free(tok);
}

static int is_sub(const mja_principal *p, void *ctx)
{
	return strcmp(p->sub, (const char *)ctx) == 0;
}

/* Kick every live client whose principal now fails a predicate (used by
 * revocation): its will is denied, the others are untouched. */
static void test_kick_if(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake a = { .id = "a", .address = "x", .will_topic = "devices/dev1/will" };
	struct fake b = { .id = "b", .address = "x" };
	struct fake c = { .id = "c", .address = "x" };
	char *t1 = tok_for(FX_SECRET, "dev1", 300), *t2 = tok_for(FX_SECRET, "dev2", 300);
	mja_actions acts;

	known[0] = &a;
	known[1] = &b;
	known[2] = &c;
	assert_int_equal(basic(s, &a, "u", t1), MJA_ALLOW);
	assert_int_equal(basic(s, &b, "u", t2), MJA_ALLOW);
	assert_int_equal(basic(s, &c, "u", t1), MJA_ALLOW);
	disconnect(s, &c);   /* offline: nothing to kick */
	mja_actions_init(&acts);
	assert_int_equal(mja_session_kick_if(s, is_sub, "dev1", MJA_ERR_INVAL, fake_now,
			fake_ms, &acts), 1);
	run(s, NULL, &acts, NULL);
	assert_int_equal(kicks, 1);
	assert_false(kick_will);
	assert_int_equal(resub_result, MJA_DENY);
	assert_int_equal(mja_session_get(s, &a)->state, MJA_CLIENT_OFFLINE);
	assert_int_equal(acl(s, &a, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: disconnecting client a from x: invalid argument"));
	assert_int_equal(acl(s, &b, "devices/dev2/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	mja_session_free(s);
	free(t1);
	free(t2);
}

/* The broker frees a client with no event (Mosquitto 2.1: an offline
 * session that expires; any broker: an event the plugin missed) and gives
 * its memory to the next connection. That connection's BASIC_AUTH is never
 * the re-check of the old entry: outside a reload's re-check pass it is a
 * new connection, decided from its own credentials. */
static void test_stale_entry_is_not_a_recheck(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "alice-dev", .address = "a", .durable = 1 };
	char *alice = tok_for(FX_SECRET, "alice", 300);
	char *bob = tok_for(FX_SECRET, "bob", 300);
	const mja_client *e;

	mja_session_set_broker(s, MJA_BROKER_2_1);
	/* enhanced auth; then freed with no event; an intruder gets the memory */
	assert_int_equal(ext(s, &c, "jwt", alice), MJA_ALLOW);
	connected(s, &c);
	drop_username(&c);
	c.username = NULL;
	c.id = "intruder-dev";
	assert_int_equal(basic(s, &c, "intruder", "not-a-jwt"), MJA_DEFER);
	assert_null(mja_session_get(s, &c));
	assert_int_equal(acl(s, &c, "devices/alice/x", MJA_ACCESS_SUBSCRIBE), MJA_DEFER);
	assert_null(strstr(logbuf, "re-check"));

	/* password tokens: the next device's valid token is its own login */
	c.id = "alice-dev";
	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	connected(s, &c);
	c.id = "bob-dev";
	assert_int_equal(basic(s, &c, "x", bob), MJA_ALLOW);
	e = mja_session_get(s, &c);
	assert_string_equal(e->principal->sub, "bob");
	assert_string_equal(e->clientid, "bob-dev");
	assert_null(strstr(logbuf, "different sub"));
	connected(s, &c);

	/* a churn of short sessions on recycled memory, with reloads between
	 * them (the re-check pass ends at the TICK after it) */
	for (int i = 0; i < 60; i++) {
		char id[32];
		char *t = tok_for(FX_SECRET, i % 2 ? "alice" : "bob", 300);

		snprintf(id, sizeof(id), "dev-%d", i);
		c.id = id;
		if (i % 10 == 0) {
			reload(s);
			tick(s);
		}
		assert_int_equal(basic(s, &c, "x", t), MJA_ALLOW);
		assert_string_equal(mja_session_get(s, &c)->principal->sub, i % 2 ? "alice" : "bob");
		connected(s, &c);
		free(t);
	}
	assert_null(strstr(logbuf, "different sub"));
	assert_int_equal(mja_session_count(s), 1);
	mja_session_free(s);
	free(alice);
	free(bob);
}

/* MQTT 5 enhanced authentication on a handle with a stale entry: a
 * connection with another client id is a new connection, not a
 * re-authentication of the old session. */
static void test_stale_entry_is_not_a_reauth(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "alice-dev", .address = "a" };
	char *alice = tok_for(FX_SECRET, "alice", 300);
	char *bob = tok_for(FX_SECRET, "bob", 300);

	assert_int_equal(ext(s, &c, "jwt", alice), MJA_ALLOW);
	drop_username(&c);
	c.username = NULL;
	c.id = "bob-dev";
	assert_int_equal(ext(s, &c, "jwt", bob), MJA_ALLOW);
	assert_string_equal(mja_session_get(s, &c)->principal->sub, "bob");
	assert_null(strstr(logbuf, "different sub"));
	/* the same connection's re-authentication still must keep its sub */
	assert_int_equal(ext(s, &c, "jwt", alice), MJA_DENY);
	assert_non_null(strstr(logbuf, "re-authentication refused client bob-dev from a: "
			"re-authentication with a different sub"));
	mja_session_free(s);
	drop_username(&c);
	free(alice);
	free(bob);
}

/* Mosquitto 2.1: CLIENT_OFFLINE (handled as a disconnect) and CONNECT.
 * A CONNECT on a handle whose entry was made for an earlier connection (the
 * new one logged in by other means: a certificate, another plugin) drops
 * that entry. */
static void test_connect_event_drops_stale_entry(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "alice-dev", .address = "a", .durable = 1 };
	char *alice = tok_for(FX_SECRET, "alice", 300);

	mja_session_set_broker(s, MJA_BROKER_2_1);
	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	connected(s, &c);
	assert_true(mja_session_get(s, &c)->confirmed);
	/* the next connection at this memory logs in without the plugin */
	c.id = "cert-dev";
	connected(s, &c);
	assert_null(mja_session_get(s, &c));
	assert_int_equal(acl(s, &c, "devices/alice/x", MJA_ACCESS_READ), MJA_DEFER);

	/* offline (CLIENT_OFFLINE), freed, reused: the same */
	c.id = "alice-dev";
	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	connected(s, &c);
	disconnect(s, &c);
	c.id = "cert-dev";
	connected(s, &c);
	assert_null(mja_session_get(s, &c));
	mja_session_free(s);
	free(alice);
}

/* The reload window: it opens at RELOAD, and closes at TICK, at an event
 * that cannot be part of the re-check pass, or after a pause; an entry is
 * re-checked at most once per window. */
static void test_reload_window(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "alice-dev", .address = "a" };
	struct fake d = { .id = "d", .address = "a" };
	char *alice = tok_for(FX_SECRET, "alice", 300);
	char *bob = tok_for(FX_SECRET, "bob", 300);

	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	assert_int_equal(basic(s, &d, "x", alice), MJA_ALLOW);
	/* in the window: the re-check (another sub: refused) */
	reload(s);
	assert_int_equal(basic(s, &d, "x", bob), MJA_DENY);
	assert_non_null(strstr(logbuf, "re-check refused client d from a: "
			"re-authentication with a different sub"));
	/* the same entry twice in one window: the second is a new connection */
	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	c.id = "bob-dev";
	assert_int_equal(basic(s, &c, "x", bob), MJA_ALLOW);
	assert_string_equal(mja_session_get(s, &c)->principal->sub, "bob");
	/* a pause closes it */
	reload(s);
	fake_ms += MJA_SESSION_WINDOW_GAP_MS + 1;
	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	assert_string_equal(mja_session_get(s, &c)->principal->sub, "alice");
	/* so does an enhanced authentication or a SUBSCRIBE check */
	reload(s);
	assert_int_equal(acl(s, &c, "devices/alice/#", MJA_ACCESS_SUBSCRIBE), MJA_ALLOW);
	assert_int_equal(basic(s, &c, "x", bob), MJA_ALLOW);
	assert_string_equal(mja_session_get(s, &c)->principal->sub, "bob");
	reload(s);
	assert_int_equal(ext(s, &d, "other-method", NULL), MJA_DEFER);
	assert_int_equal(basic(s, &c, "x", alice), MJA_ALLOW);
	assert_string_equal(mja_session_get(s, &c)->principal->sub, "alice");
	assert_null(strstr(logbuf, "re-check refused client bob-dev"));
	assert_null(strstr(logbuf, "re-check refused client alice-dev"));
	mja_session_free(s);
	free(alice);
	free(bob);
}

/* ---- permissions in the token (docs/design.md, "Permissions in the token") ---- */

static char *tok_claims(const char *sub, int64_t ttl, const char *claims)
{
	char json[1024];

	snprintf(json, sizeof(json), "{\"sub\":\"%s\",\"exp\":%lld,%s}", sub,
			(long long)(fake_now + ttl), claims);
	return fx_token(FX_SECRET, json);
}

/* acl_claim without acl_file: the ACL check is registered and the token's
 * rules decide, with the QoS and retain flag the broker passes; no match
 * (and no ACL file) denies; a will is judged by them too; an expired token
 * is denied everything and disconnected. */
static void test_acl_claim_decides(void **state)
{
	mja_session *s = open_session(1, "acl_claim acl");
	struct fake c = { .id = "dev1", .address = "a" }, bare = { .id = "dev2", .address = "a" },
		w = { .id = "dev3", .address = "a" };
	char *tok = tok_claims("dev1", 10, "\"acl\":["
			"{\"permission\":\"deny\",\"action\":\"publish\",\"topic\":\"t/${clientid}/secret\"},"
			"{\"permission\":\"allow\",\"action\":\"publish\",\"topic\":\"t/${clientid}/#\","
			"\"qos\":[0,1],\"retain\":false},"
			"{\"permission\":\"allow\",\"action\":\"subscribe\",\"topic\":\"cmd/${clientid}/#\","
			"\"qos\":0}]");
	char *none = tok_claims("dev2", 100, "\"x\":1");
	char *will = tok_claims("dev3", 100, "\"acl\":[{\"permission\":\"allow\","
			"\"action\":\"publish\",\"topic\":\"will/${clientid}\",\"retain\":false}]");

	assert_true(mja_session_wants_acl(s));
	assert_null(strstr(logbuf, "no acl_file"));
	assert_non_null(strstr(logbuf, "jwt-auth: ready: 1 key(s)\n"));
	known[0] = &c;
	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	assert_int_equal(acl_qr(s, &c, "t/dev1/x", MJA_ACCESS_WRITE, 1, 0), MJA_ALLOW);
	assert_int_equal(acl_qr(s, &c, "t/dev1/x", MJA_ACCESS_WRITE, 2, 0), MJA_DENY);
	assert_int_equal(acl_qr(s, &c, "t/dev1/x", MJA_ACCESS_WRITE, 0, 1), MJA_DENY);
	assert_int_equal(acl_qr(s, &c, "t/dev1/secret", MJA_ACCESS_WRITE, 0, 0), MJA_DENY);
	assert_int_equal(acl_qr(s, &c, "t/dev2/x", MJA_ACCESS_WRITE, 0, 0), MJA_DENY);
	assert_int_equal(acl_qr(s, &c, "cmd/dev1/#", MJA_ACCESS_SUBSCRIBE, 0, 0), MJA_ALLOW);
	assert_int_equal(acl_qr(s, &c, "cmd/dev1/#", MJA_ACCESS_SUBSCRIBE, 1, 0), MJA_DENY);
	assert_int_equal(acl_qr(s, &c, "cmd/dev1/x", MJA_ACCESS_READ, 0, 0), MJA_ALLOW);
	assert_int_equal(acl_qr(s, &c, "cmd/dev2/x", MJA_ACCESS_READ, 0, 0), MJA_DENY);
	/* a client that is not the plugin's is still left to others */
	assert_int_equal(acl(s, &bare, "t/dev2/x", MJA_ACCESS_WRITE), MJA_DEFER);
	/* a token without the claim may do nothing */
	assert_int_equal(basic(s, &bare, "u", none), MJA_ALLOW);
	assert_int_equal(acl(s, &bare, "t/dev2/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(acl(s, &bare, "t/dev2/x", MJA_ACCESS_READ), MJA_DENY);
	/* a will: its retain flag counts */
	assert_int_equal(basic(s, &w, "u", will), MJA_ALLOW);
	disconnect(s, &w);
	assert_int_equal(acl_qr(s, &w, "will/dev3", MJA_ACCESS_WRITE, 1, 1), MJA_DENY);
	/* a will is sent once: the same client again, with a will that is not
	 * retained */
	assert_int_equal(basic(s, &w, "u", will), MJA_ALLOW);
	disconnect(s, &w);
	assert_int_equal(acl_qr(s, &w, "will/dev3", MJA_ACCESS_WRITE, 1, 0), MJA_ALLOW);
	/* the token's denials are counted by kind like the ACL file's */
	assert_int_equal(mja_session_stats(s)->acl_denied[MJA_STATS_ACL_PUBLISH], 6);
	assert_int_equal(mja_session_stats(s)->acl_denied[MJA_STATS_ACL_SUBSCRIBE], 1);
	assert_int_equal(mja_session_stats(s)->acl_denied[MJA_STATS_ACL_RECEIVE], 2);
	/* expired: denied whatever the claim says, and disconnected */
	assert_int_equal(kicks, 0);
	fake_now += 10;
	assert_int_equal(acl_qr(s, &c, "t/dev1/x", MJA_ACCESS_WRITE, 0, 0), MJA_DENY);
	assert_int_equal(kicks, 1);
	assert_int_equal(acl_qr(s, &c, "cmd/dev1/x", MJA_ACCESS_READ, 0, 0), MJA_DENY);
	assert_log_clean(tok);
	mja_session_free(s);
	free(tok);
	free(none);
	free(will);
}

/* superuser_claim alone: JSON true allows every topic, $SYS included; the
 * string "true" is not true. */
static void test_superuser_claim(void **state)
{
	mja_session *s = open_session(1, "superuser_claim su");
	struct fake a = { .id = "dev1", .address = "a" }, b = { .id = "dev2", .address = "a" };
	char *su = tok_claims("dev1", 100, "\"su\":true");
	char *str = tok_claims("dev2", 100, "\"su\":\"true\"");

	assert_true(mja_session_wants_acl(s));
	assert_null(strstr(logbuf, "no acl_file"));
	assert_int_equal(basic(s, &a, "u", su), MJA_ALLOW);
	assert_int_equal(acl(s, &a, "$SYS/broker/uptime", MJA_ACCESS_READ), MJA_ALLOW);
	assert_int_equal(acl(s, &a, "#", MJA_ACCESS_SUBSCRIBE), MJA_ALLOW);
	assert_int_equal(acl_qr(s, &a, "any/x", MJA_ACCESS_WRITE, 2, 1), MJA_ALLOW);
	assert_int_equal(basic(s, &b, "u", str), MJA_ALLOW);
	assert_int_equal(acl(s, &b, "$SYS/broker/uptime", MJA_ACCESS_READ), MJA_DENY);
	assert_int_equal(acl(s, &b, "any/x", MJA_ACCESS_WRITE), MJA_DENY);
	mja_session_free(s);
	free(su);
	free(str);
}

/* A malformed acl claim and a failed claim_match are refused, and the log
 * line says which rule or claim after the reason (never the token), at
 * CONNECT and at re-authentication; a plain refusal carries no detail. */
static void test_claim_refusal_detail(void **state)
{
	mja_session *s = open_session(0, "acl_claim acl");
	struct fake c = { .id = "dev1", .address = "192.0.2.9" };
	char *bad = tok_claims("dev1", 100, "\"acl\":["
			"{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"a\"},"
			"{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"b\",\"qos\":5}]");
	char *good = tok_claims("dev1", 100, "\"acl\":{\"pub\":[\"a\"]}");
	char *forged, *mismatch, *match, *absent;

	assert_int_equal(basic(s, &c, "u", bad), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: refused client dev1 from 192.0.2.9: bad acl "
			"claim (claim \"acl\": rule 2: \"qos\" 5 is outside 0-2)\n"));
	assert_null(mja_session_get(s, &c));
	assert_int_equal(ext(s, &c, "jwt", good), MJA_ALLOW);
	assert_int_equal(acl(s, &c, "a", MJA_ACCESS_WRITE), MJA_ALLOW);
	logbuf[0] = '\0';
	assert_int_equal(ext(s, &c, "jwt", bad), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: re-authentication refused client dev1 from "
			"192.0.2.9: bad acl claim (claim \"acl\": rule 2: \"qos\" 5 is outside 0-2)\n"));
	assert_int_equal(acl(s, &c, "a", MJA_ACCESS_WRITE), MJA_DENY);
	assert_log_clean(bad);
	assert_log_clean(good);
	free(bad);
	free(good);
	mja_session_free(s);
	drop_username(&c);
	c.username = NULL;

	reset_fake();
	s = open_session(0, "claim_match tenant=acme-${clientid}");
	mismatch = tok_claims("dev1", 100, "\"tenant\":\"acme-dev2\"");
	match = tok_claims("dev1", 100, "\"tenant\":\"acme-dev1\"");
	forged = fx_token(FX_SECRET2, "{\"sub\":\"dev1\",\"tenant\":\"acme-dev1\"}");
	assert_int_equal(basic(s, &c, "u", mismatch), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: refused client dev1 from 192.0.2.9: claim "
			"mismatch (claim \"tenant\" is not the string its template gives)\n"));
	assert_log_clean(mismatch);
	assert_int_equal(basic(s, &c, "u", match), MJA_ALLOW);
	logbuf[0] = '\0';
	assert_int_equal(basic(s, &c, "u", forged), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: refused client dev1 from 192.0.2.9: "
			"bad signature\n"));
	mja_session_free(s);
	free(mismatch);
	free(match);
	free(forged);

	/* a claim name from the configuration is escaped in the line */
	reset_fake();
	s = open_session(0, "claim_match a\"b\x01=x");
	absent = tok_claims("dev1", 100, "\"x\":1");
	assert_int_equal(basic(s, &c, "u", absent), MJA_DENY);
	assert_non_null(strstr(logbuf, ": claim mismatch (claim \"a\\x22b\\x01\" is absent)\n"));
	mja_session_free(s);
	free(absent);
}

/* claim_match binds the username the client sent; after login the broker's
 * username is the sub, yet the SIGHUP re-check and a re-authentication
 * judge the binding by the name sent at login, as the CONNECT did (a
 * client accepted once is not refused by a reload that changed nothing). */
static void test_claim_match_username_survives_recheck(void **state)
{
	mja_session *s = open_session(0, "claim_match tenant=acme-${username}");
	struct fake c = { .id = "c1", .address = "a" };
	char *tok = tok_claims("dev1", 100, "\"tenant\":\"acme-alice\"");

	c.username = strdup("alice");
	assert_int_equal(basic(s, &c, c.username, tok), MJA_ALLOW);
	assert_string_equal(c.username, "dev1");
	reload(s);
	assert_int_equal(basic(s, &c, c.username, tok), MJA_ALLOW);   /* the re-check */
	assert_int_equal(mja_session_get(s, &c)->rechecked, 1);
	assert_null(strstr(logbuf, "refused"));
	mja_session_free(s);
	drop_username(&c);
	free(tok);
}

/* A token proves its sub and nothing else: after a token login the
 * username the broker (Mosquitto's acl_file, other plugins, %u) sees is the
 * sub. A username equal to the sub is kept; any other is replaced, and if
 * the broker cannot replace it the client is refused (it would keep the
 * claimed name's rights). The plugin's own %u is the sub too. */
static void test_username_replaced_by_sub(void **state)
{
	mja_session *s;
	struct fake c = { .id = "c", .address = "a" };
	struct fake k = { .id = "k", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 300);

	fx_write_str("acl.conf", "pattern readwrite devices/%s/#\npattern readwrite users/%u/#\n");
	s = open_session(0, NULL);
	c.username = strdup("admin");
	assert_int_equal(basic(s, &c, c.username, tok), MJA_ALLOW);
	assert_string_equal(c.username, "dev1");
	assert_string_equal(mja_session_get(s, &c)->username, "dev1");
	assert_int_equal(acl(s, &c, "users/admin/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(acl(s, &c, "users/dev1/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	/* the sub as username: kept, nothing to set */
	k.username = strdup("dev1");
	fail_set_username = 1;
	assert_int_equal(basic(s, &k, k.username, tok), MJA_ALLOW);
	assert_string_equal(k.username, "dev1");
	/* the broker cannot replace a claimed name: refused, forgotten */
	{
		struct fake d = { .id = "d", .address = "a", .username = "admin" };

		assert_int_equal(basic(s, &d, d.username, tok), MJA_DENY);
		assert_null(mja_session_get(s, &d));
		assert_non_null(strstr(logbuf, "refused client d from a: out of memory"));
		/* counted as refused, not accepted (c and k were) */
		assert_int_equal(mja_session_stats(s)->connects_accepted, 2);
		assert_int_equal(mja_session_stats(s)->connects_refused[MJA_ERR_NOMEM], 1);
	}
	fail_set_username = 0;
	/* enhanced authentication: the CONNECT's username is replaced too */
	{
		struct fake e = { .id = "e", .address = "a" };

		e.username = strdup("root");
		assert_int_equal(ext(s, &e, "jwt", tok), MJA_ALLOW);
		assert_string_equal(e.username, "dev1");
		drop_username(&e);
	}
	mja_session_free(s);
	/* username_match sub still refuses a different username outright */
	s = open_session(0, "username_match sub");
	{
		struct fake m = { .id = "m", .address = "a" };

		assert_int_equal(basic(s, &m, "admin", tok), MJA_DENY);
		assert_non_null(strstr(logbuf, "refused client m from a: username does not match sub"));
	}
	mja_session_free(s);
	drop_username(&c);
	drop_username(&k);
	free(tok);
}

/* A will may wait up to the session expiry interval. The entry is kept as
 * long as the broker may still act for the client: a delayed will is
 * judged by the plugin however late it fires (published or denied by the
 * rules, never left to others), denied if it fires after the token's exp;
 * a clean session's entry goes at once after its will. */
static void test_delayed_will(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "dev1", .address = "a" };
	struct fake d = { .id = "dev1b", .address = "a" };
	struct fake x = { .id = "dev1x", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 300);
	char *short_tok = tok_for(FX_SECRET, "dev1", 30);

	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	assert_int_equal(basic(s, &x, "u", short_tok), MJA_ALLOW);
	disconnect(s, &c);
	disconnect(s, &d);
	disconnect(s, &x);
	/* 65 and 70 seconds later, with ticks in between */
	for (int i = 0; i < 65; i++) {
		fake_now++;
		fake_ms += 1000;
		tick(s);
	}
	assert_int_equal(acl(s, &c, "secrets/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_null(mja_session_get(s, &c));   /* its will was the last thing */
	/* after the token's exp: denied, not deferred */
	assert_int_equal(acl(s, &x, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_DENY);
	for (int i = 0; i < 5; i++) {
		fake_now++;
		fake_ms += 1000;
		tick(s);
	}
	assert_int_equal(acl(s, &d, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_null(mja_session_get(s, &d));
	mja_session_free(s);
	free(tok);
	free(short_tok);
}

/* Mosquitto 2.0 gives no event when it frees a client, and the next
 * connection may get its memory and log in without the plugin being asked
 * (a certificate, another plugin). Checks an offline client cannot get
 * (SUBSCRIBE, UNSUBSCRIBE, a second WRITE after its will) show that: the
 * entry is dropped and the check left to others. */
static void test_offline_entry_inherited(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "dev1", .address = "a" };
	struct fake d = { .id = "dev1d", .address = "a", .durable = 1 };
	char *tok = tok_for(FX_SECRET, "dev1", 300);
	static const int kinds[] = { MJA_ACCESS_SUBSCRIBE, MJA_ACCESS_UNSUBSCRIBE };

	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
		disconnect(s, &c);
		tick(s);
		assert_int_equal(acl(s, &c, "devices/dev1/x", kinds[i]), MJA_DEFER);
		assert_null(mja_session_get(s, &c));
	}
	/* a durable session gets READ checks (queued messages) and one will */
	assert_int_equal(basic(s, &d, "u", tok), MJA_ALLOW);
	disconnect(s, &d);
	tick(s);
	assert_int_equal(acl(s, &d, "devices/dev1/x", MJA_ACCESS_READ), MJA_ALLOW);
	assert_int_equal(acl(s, &d, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(acl(s, &d, "devices/dev1/x", MJA_ACCESS_READ), MJA_ALLOW);
	assert_int_equal(acl(s, &d, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DEFER);
	assert_null(mja_session_get(s, &d));
	mja_session_free(s);
	free(tok);
}

/* Mosquitto 2.1 says which client it still holds (mosquitto_client): an
 * offline entry is kept exactly while the broker holds its client, however
 * long, and removed once it does not. */
static int probe_alive = 1;
static int probe(const void *client, const char *clientid, void *ctx)
{
	return probe_alive;
}

static void test_offline_entry_kept_while_broker_holds_it(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake d = { .id = "d", .address = "a", .durable = 1 };
	char *noexp = fx_token(FX_SECRET, "{\"sub\":\"dev1\"}");
	mja_session *h = open_session(0, "require_claims sub");

	mja_session_free(s);
	s = h;
	mja_session_set_broker(s, MJA_BROKER_2_1);
	mja_session_set_probe(s, probe, NULL);
	probe_alive = 1;
	assert_int_equal(basic(s, &d, "u", noexp), MJA_ALLOW);
	connected(s, &d);
	disconnect(s, &d);
	fake_now += 2 * MJA_SESSION_DURABLE_MAX;
	fake_ms += 2000;
	tick(s);
	assert_int_equal(acl(s, &d, "devices/dev1/x", MJA_ACCESS_READ), MJA_ALLOW);
	probe_alive = 0;
	fake_ms += 2000;
	tick(s);
	assert_null(mja_session_get(s, &d));
	mja_session_free(s);
	free(noexp);
}

/* TICK's next_ms (Mosquitto 2.1 sleeps until its next timer): the time
 * until the session's next scan, between 1 and 1000 ms, so expiry kicks stay
 * within about a second on a broker that would otherwise sleep longer. */
static void test_tick_next_ms(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "dev1", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 2);
	int64_t next;

	known[0] = &c;
	assert_int_equal(tick(s), 1000);
	fake_ms += 400;
	assert_int_equal(tick(s), 600);
	fake_ms += 599;
	assert_int_equal(tick(s), 1);
	fake_ms += 1;
	assert_int_equal(tick(s), 1000);   /* scanned */
	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	/* the token expires; following next_ms, the kick comes within a second */
	fake_now += 2;
	{
		int64_t waited = 0;

		while (kicks == 0 && waited <= 1000) {
			next = tick(s);
			assert_true(next >= 1 && next <= 1000);
			if (kicks)
				break;
			fake_ms += next;
			waited += next;
		}
		assert_int_equal(kicks, 1);
		assert_true(waited <= 1000);
	}
	mja_session_free(s);
	free(tok);
}

/* Mosquitto 2.1 passes a BASIC_AUTH result that is an MQTT 5 reason code
 * to the client: bad or expired token 0x86, keys unavailable 0x88,
 * revoked 0x8A. */
static void test_connack_reasons(void **state)
{
	assert_int_equal(mja_session_connack_reason(MJA_ERR_EXPIRED), 0x86);
	assert_int_equal(mja_session_connack_reason(MJA_ERR_BAD_SIGNATURE), 0x86);
	assert_int_equal(mja_session_connack_reason(MJA_ERR_NOT_JWT), 0x86);
	assert_int_equal(mja_session_connack_reason(MJA_ERR_REAUTH_SUB), 0x86);
	assert_int_equal(mja_session_connack_reason(MJA_ERR_KEYS_UNAVAILABLE), 0x88);
	assert_int_equal(mja_session_connack_reason(MJA_ERR_REVOKED), 0x8A);
}

/* non_jwt ignore: on 2.1 a password that is not a JWT is answered "as if
 * the plugin were not loaded" (MJA_IGNORE); on 2.0, which has no such
 * answer, as defer. A JWT-shaped password is still the plugin's. */
static void test_non_jwt_ignore(void **state)
{
	mja_session *s = open_session(0, "non_jwt ignore");
	struct fake c = { .id = "c", .address = "a" };
	char *forged = tok_for(FX_SECRET2, "dev1", 60);

	assert_int_equal(basic(s, &c, "u", "hunter2"), MJA_DEFER);
	assert_int_equal(basic(s, &c, NULL, NULL), MJA_DEFER);
	mja_session_set_broker(s, MJA_BROKER_2_1);
	assert_int_equal(basic(s, &c, "u", "hunter2"), MJA_IGNORE);
	assert_int_equal(basic(s, &c, NULL, NULL), MJA_IGNORE);
	assert_int_equal(basic(s, &c, "u", forged), MJA_DENY);
	assert_int_equal(acl(s, &c, "x", MJA_ACCESS_WRITE), MJA_DEFER);
	mja_session_free(s);
	free(forged);
}

/* One instance on several listeners (Mosquitto 2.1 plugin_use) gets one
 * RELOAD per listener in a row: the files are read once, and the re-check
 * pass after them is one window. */
static void test_reload_per_listener_once(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake c = { .id = "c", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 300);
	const char *first;

	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);
	reload(s);
	reload(s);
	first = strstr(logbuf, "jwt-auth: reloaded");
	assert_non_null(first);
	assert_null(strstr(first + 1, "jwt-auth: reloaded"));
	assert_int_equal(basic(s, &c, "u", tok), MJA_ALLOW);   /* the re-check */
	assert_int_equal(mja_session_get(s, &c)->rechecked, 1);
	tick(s);
	reload(s);
	assert_non_null(strstr(first + 1, "jwt-auth: reloaded"));
	mja_session_free(s);
	drop_username(&c);
	free(tok);
}

/* Collects the emitted counters as "suffix=value\n". */
static char statbuf[4096];

static void collect_stat(const char *suffix, const char *value, void *arg)
{
	size_t used = strlen(statbuf);

	snprintf(statbuf + used, sizeof(statbuf) - used, "%s=%s\n", suffix, value);
}

/* A client whose token becomes revoked is disconnected at the next scan,
 * without its will; revoked tokens are refused at CONNECT; a malformed
 * file keeps the list; every outcome is counted. */
static void test_revocation_and_counters(void **state)
{
	const char *rev = fx_write_str("revoked", "# none yet\n");
	char opt[200];
	mja_session *s;
	/* a: a durable session (deliveries are checked while it is offline) */
	struct fake a = { .id = "cid-a", .address = "192.0.2.1", .will_topic = "devices/dev1/will",
		.durable = 1 };
	struct fake b = { .id = "cid-b", .address = "192.0.2.2" };
	struct fake x = { .id = "cid-x", .address = "192.0.2.3" };
	char *ta = tok_for(FX_SECRET, "dev1", 600), *tb = tok_for(FX_SECRET, "dev2", 600);
	char *forged = tok_for(FX_SECRET2, "dev3", 600);

	snprintf(opt, sizeof(opt), "revocation_file %s", rev);
	s = open_session(0, opt);
	assert_non_null(strstr(logbuf, "revocation list loaded"));
	known[0] = &a;
	known[1] = &b;
	assert_int_equal(basic(s, &a, NULL, ta), MJA_ALLOW);
	assert_int_equal(basic(s, &b, NULL, tb), MJA_ALLOW);
	assert_int_equal(basic(s, &x, NULL, forged), MJA_DENY);
	assert_int_equal(basic(s, &x, "u", "not-a-token"), MJA_DEFER);
	assert_int_equal(acl(s, &b, "devices/other/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(acl(s, &b, "devices/other/#", MJA_ACCESS_SUBSCRIBE), MJA_DENY);
	assert_int_equal(acl(s, &b, "devices/other/x", MJA_ACCESS_READ), MJA_DENY);

	/* dev1 is revoked: disconnected at the next scan, without will */
	fx_write_str("revoked", "sub dev1\n");
	fake_ms += MJA_SESSION_TICK_MS;
	tick(s);
	assert_int_equal(kicks, 1);
	assert_false(kick_will);
	assert_non_null(strstr(logbuf, "jwt-auth: revocation list loaded: 1 entries"));
	assert_non_null(strstr(logbuf, "jwt-auth: disconnecting client cid-a from 192.0.2.1: revoked"));
	assert_int_equal(mja_session_get(s, &b)->state, MJA_CLIENT_LIVE);
	/* offline: its will and deliveries are denied */
	assert_int_equal(acl(s, &a, "devices/dev1/will", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(acl(s, &a, "devices/dev1/x", MJA_ACCESS_READ), MJA_DENY);
	/* and it cannot come back with that token */
	assert_int_equal(basic(s, &a, NULL, ta), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: refused client cid-a from 192.0.2.1: revoked"));
	/* an unchanged file is not read again, nobody else is kicked */
	fake_ms += MJA_SESSION_TICK_MS;
	tick(s);
	assert_int_equal(kicks, 1);

	/* a malformed file keeps the list, logged with file and line */
	fx_write_str("revoked", "sub dev1\nsub\n");
	fake_ms += MJA_SESSION_TICK_MS;
	tick(s);
	assert_non_null(strstr(logbuf, "jwt-auth: revocation list not reloaded, the previous "
			"list stays in force: option revocation_file: "));
	assert_non_null(strstr(logbuf, "revoked:2: sub needs a value"));
	assert_int_equal(basic(s, &a, NULL, ta), MJA_DENY);

	/* SIGHUP with dev2 revoked: the re-check refuses b, counted */
	fx_write_str("revoked", "sub dev1\nsub dev2\n");
	reload(s);
	assert_int_equal(basic(s, &b, NULL, tb), MJA_DENY);
	assert_non_null(strstr(logbuf, "jwt-auth: re-check refused client cid-b from 192.0.2.2: revoked"));

	statbuf[0] = '\0';
	mja_stats_emit(mja_session_stats(s), NULL, collect_stat, NULL);
	/* the kick re-checked a's subscription (denied: being disconnected),
	 * its will and a delivery were denied, b's three */
	assert_string_equal(statbuf,
			"connects/accepted=2\n"
			"connects/deferred=1\n"
			"connects/refused/bad-signature=1\n"
			"connects/refused/revoked=2\n"
			"disconnects/revoked=2\n"
			"acl/denied/publish=2\n"
			"acl/denied/subscribe=2\n"
			"acl/denied/receive=2\n");
	mja_session_free(s);
	drop_username(&a);
	drop_username(&b);
	drop_username(&x);
	free(ta);
	free(tb);
	free(forged);
}

/* auth_methods: the listed methods are answered (CONNECT and
 * re-authentication), others deferred; counted */
static void test_auth_methods(void **state)
{
	mja_session *s = open_session(0, "auth_methods CUSTOM-JWT OAUTH2-JWT");
	struct fake a = { .id = "cid-a" }, b = { .id = "cid-b" };
	char *t = tok_for(FX_SECRET, "dev1", 60), *t2 = tok_for(FX_SECRET, "dev1", 600);
	char *t3 = tok_for(FX_SECRET, "dev9", 600);
	const mja_stats *st = mja_session_stats(s);

	assert_int_equal(ext(s, &a, "jwt", t), MJA_DEFER);
	assert_int_equal(ext(s, &a, "SCRAM-SHA-1", t), MJA_DEFER);
	assert_int_equal(ext(s, &a, "custom-jwt", t), MJA_DEFER);
	assert_int_equal(ext(s, &a, NULL, t), MJA_DEFER);
	assert_int_equal(ext(s, &a, "CUSTOM-JWT", t), MJA_ALLOW);
	/* re-authentication under the same method */
	assert_int_equal(ext(s, &a, "CUSTOM-JWT", t2), MJA_ALLOW);
	assert_int_equal(mja_session_get(s, &a)->principal->exp, fake_now + 600);
	assert_int_equal(st->reauth_accepted, 1);
	/* another sub: refused */
	assert_int_equal(ext(s, &a, "CUSTOM-JWT", t3), MJA_DENY);
	assert_int_equal(st->reauth_refused, 1);
	/* a client of a listed method is the plugin's: no token is a refusal */
	assert_int_equal(ext(s, &b, "OAUTH2-JWT", NULL), MJA_DENY);
	assert_int_equal(st->connects_refused[MJA_ERR_NO_TOKEN], 1);
	assert_int_equal(st->connects_deferred, 4);
	assert_int_equal(st->connects_accepted, 1);
	mja_session_free(s);
	drop_username(&a);
	drop_username(&b);
	free(t);
	free(t2);
	free(t3);
}

/* An expiry kick is counted. */
static void test_expiry_counted(void **state)
{
	mja_session *s = open_session(0, NULL);
	struct fake a = { .id = "cid-a", .address = "x" };
	char *t = tok_for(FX_SECRET, "dev1", 1);

	known[0] = &a;
	assert_int_equal(basic(s, &a, "u", t), MJA_ALLOW);
	fake_now += 2;
	fake_ms += MJA_SESSION_TICK_MS;
	tick(s);
	assert_int_equal(kicks, 1);
	assert_int_equal(mja_session_stats(s)->disconnects_expired, 1);
	mja_session_free(s);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_callback_and_start_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_auth_codes_and_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_lines_only_with_log_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_username_given_to_usernameless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_on_tick_kicks_with_will, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_on_acl_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_disconnect_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enhanced_auth_and_reauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_and_recheck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_address_decided_afresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_offline_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_kept_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_field_username, setup, teardown),
		cmocka_unit_test_setup_teardown(test_will_of_expired_or_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_tick_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_if, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_entry_is_not_a_recheck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_entry_is_not_a_reauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_event_drops_stale_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recheck_of_expired_offline_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_claim_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_superuser_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_refusal_detail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_username_replaced_by_sub, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delayed_will, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_entry_inherited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_entry_kept_while_broker_holds_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_next_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connack_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_jwt_ignore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_per_listener_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_match_username_survives_recheck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_and_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_counted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
