/* test_auth.c - CONNECT decisions (token field, non_jwt, binding, expiry,
 * roles), ACL decisions before and after expiry, re-authentication and the
 * re-check after reload; all with a fixed clock and HS256 tokens. */
#include <openssl/evp.h>

#include "mja/session/auth.h"
#include "mja/token/b64url.h"
#include "plugin_fixture.h"

static const char *secret_path;
static const char *acl_path;

static int setup(void **state)
{
	fx_setup_dir();
	secret_path = fx_write_str("hs.secret", FX_SECRET "\n");
	acl_path = fx_write_str("acl.conf",
			"pattern readwrite devices/%s/#\n"
			"pattern read clients/%c/#\n"
			"pattern read users/%u/#\n"
			"role operator\n"
			"topic read #\n"
			"topic deny secrets/#\n");
	return 0;
}

static int teardown(void **state)
{
	fx_cleanup_dir();
	return 0;
}

/* A config with the secret, the ACL and extra "key value" options. */
static mja_config *config(const char *const *extra, size_t n)
{
	fx_opts o = { 0 };

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_file %s", acl_path);
	for (size_t i = 0; i < n; i++)
		fx_add(&o, "%s", extra[i]);
	return fx_parse(&o);
}

#define CONFIG(...) config((const char *const[]){ __VA_ARGS__ }, \
		sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* {"sub":sub,"exp":NOW+ttl} plus extra members (JSON text without braces). */
static char *token(const char *secret, const char *sub, int64_t ttl, const char *extra)
{
	char json[512];

	snprintf(json, sizeof(json), "{\"sub\":\"%s\",\"exp\":%lld%s%s}", sub,
			(long long)(FX_NOW + ttl), extra ? "," : "", extra ? extra : "");
	return fx_token(secret, json);
}

static mja_decision connect_(const mja_config *c, const char *user, const char *pass,
		const char *id, mja_principal **p, mja_err *why)
{
	return mja_auth_connect(c, user, pass, id, FX_NOW, p, why);
}

static void test_connect_password_token(void **state)
{
	mja_config *c = CONFIG("leeway 0");
	char *tok = token(FX_SECRET, "dev1", 60, NULL);
	mja_principal *p = NULL;
	mja_err why = MJA_ERR_INTERNAL;

	assert_int_equal(connect_(c, "anyone", tok, "c1", &p, &why), MJA_ALLOW);
	assert_int_equal(why, MJA_OK);
	assert_non_null(p);
	assert_string_equal(p->sub, "dev1");
	assert_true(p->has_exp);
	assert_int_equal(p->exp, FX_NOW + 60);
	assert_int_equal(p->n_roles, 0);
	assert_null(p->token);   /* basic auth: the password comes again on re-check */
	mja_principal_free(p);

	/* MQTT 5: a password without a username */
	assert_int_equal(connect_(c, NULL, tok, "c1", &p, &why), MJA_ALLOW);
	mja_principal_free(p);
	free(tok);
	mja_config_free(c);
}

static void test_connect_username_token(void **state)
{
	mja_config *c = CONFIG("token_field username");
	char *tok = token(FX_SECRET, "dev2", 60, NULL);
	mja_principal *p = NULL;
	mja_err why;

	assert_int_equal(connect_(c, tok, "ignored", "c", &p, &why), MJA_ALLOW);
	assert_string_equal(p->sub, "dev2");
	/* the glue replaces the username (the token) with the sub: the token
	 * is kept for the SIGHUP re-check, which then re-verifies it */
	assert_non_null(p->token);
	assert_int_equal(p->token_len, strlen(tok));
	assert_memory_equal(p->token, tok, p->token_len);
	{
		mja_principal *q = NULL;

		assert_int_equal(mja_auth_recheck(c, p, "dev2", NULL, "c", FX_NOW, &q, &why),
				MJA_ALLOW);
		assert_non_null(q->token);
		mja_principal_free(q);
	}
	/* a gone session's copy can be dropped (scrubbed) */
	mja_principal_drop_token(p);
	assert_null(p->token);
	assert_int_equal(p->token_len, 0);
	mja_principal_drop_token(p);
	mja_principal_drop_token(NULL);
	mja_principal_free(p);
	/* the token in the password field is not looked at */
	assert_int_equal(connect_(c, "plain-user", tok, "c", &p, &why), MJA_DEFER);
	assert_null(p);
	/* %u never becomes the token: the session passes the sub
	 * (test_session.c) */
	free(tok);
	mja_config_free(c);
}

static void test_non_jwt(void **state)
{
	mja_config *defer = CONFIG("non_jwt defer");
	mja_config *deny = CONFIG("non_jwt deny");
	static const char *const not_jwt[] = {
		"hunter2", "a.b", "a.b.c.d", ".b.c", "has space.b.c", "a.b.c=",
	};
	mja_principal *p = NULL;
	mja_err why;

	for (size_t i = 0; i < sizeof(not_jwt) / sizeof(not_jwt[0]); i++) {
		why = MJA_ERR_INTERNAL;
		assert_int_equal(connect_(defer, "u", not_jwt[i], "c", &p, &why), MJA_DEFER);
		assert_null(p);
		assert_int_equal(connect_(deny, "u", not_jwt[i], "c", &p, &why), MJA_DENY);
		assert_int_equal(why, MJA_ERR_NOT_JWT);
		assert_null(p);
	}
	/* three segments but not base64url (the verifier sees them first and
	 * refuses; still not ours): a valid token's header with a payload that
	 * has a space, and one longer than max_token_bytes */
	{
		char *good = token(FX_SECRET, "dev1", 60, NULL), *spaced, *longer;
		size_t n = strlen(good);

		spaced = malloc(n + 2);
		assert_non_null(spaced);
		memcpy(spaced, good, n + 1);
		spaced[strchr(good, '.') - good + 2] = ' ';
		longer = malloc(10000);
		assert_non_null(longer);
		memset(longer, 'A', 9999);
		longer[9999] = '\0';
		longer[3] = '.';
		longer[7] = '.';
		longer[20] = '!';
		for (int i = 0; i < 2; i++) {
			const char *v = i ? longer : spaced;

			why = MJA_ERR_INTERNAL;
			assert_int_equal(connect_(defer, "u", v, "c", &p, &why), MJA_DEFER);
			assert_int_equal(why, MJA_OK);
			assert_null(p);
			assert_int_equal(connect_(deny, "u", v, "c", &p, &why), MJA_DENY);
			assert_int_equal(why, MJA_ERR_NOT_JWT);
			assert_null(p);
		}
		free(good);
		free(spaced);
		free(longer);
	}
	/* no password at all (anonymous, or a username only) */
	assert_int_equal(connect_(defer, "u", NULL, "c", &p, &why), MJA_DEFER);
	assert_int_equal(connect_(defer, NULL, NULL, "c", &p, &why), MJA_DEFER);
	assert_int_equal(connect_(defer, "u", "", "c", &p, &why), MJA_DEFER);
	assert_int_equal(connect_(deny, NULL, NULL, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_NO_TOKEN);
	mja_config_free(defer);
	mja_config_free(deny);
}

/* An attacker's JWT-shaped password is ours and refused: it must never be
 * deferred to a weaker authenticator. */
static void test_bad_tokens_denied_not_deferred(void **state)
{
	mja_config *c = CONFIG("non_jwt defer");
	char *good = token(FX_SECRET, "dev1", 60, NULL);
	char *wrong_key = token(FX_SECRET2, "dev1", 60, NULL);
	char tampered[1024], none[1024];
	mja_principal *p = NULL;
	mja_err why;

	/* shaped like a JWT, so ours, but garbage */
	assert_int_equal(connect_(c, "u", "a.b.c", "c", &p, &why), MJA_DENY);
	assert_int_not_equal(why, MJA_OK);
	assert_int_equal(connect_(c, "u", "abc..", "c", &p, &why), MJA_DENY);
	assert_null(p);

	assert_int_equal(connect_(c, "u", wrong_key, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_BAD_SIGNATURE);
	assert_null(p);

	snprintf(tampered, sizeof(tampered), "%s", good);
	tampered[strlen(tampered) - 2] ^= 1;   /* flip a signature bit */
	assert_int_equal(connect_(c, "u", tampered, "c", &p, &why), MJA_DENY);
	assert_true(why == MJA_ERR_BAD_SIGNATURE || why == MJA_ERR_MALFORMED);

	/* {"alg":"none"}.{"sub":"dev1","exp":...}. */
	snprintf(none, sizeof(none), "eyJhbGciOiJub25lIn0.%s", strchr(good, '.') + 1);
	*strrchr(none, '.') = '\0';   /* drop the HS256 signature */
	snprintf(none + strlen(none), sizeof(none) - strlen(none), ".AAAA");
	assert_int_equal(connect_(c, "u", none, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_ALG_NOT_ALLOWED);
	assert_null(p);
	free(good);
	free(wrong_key);
	mja_config_free(c);
}

static void test_expiry_and_claims(void **state)
{
	mja_config *c = CONFIG("leeway 10", "audience mqtt");
	char *expired = token(FX_SECRET, "dev1", -11, "\"aud\":\"mqtt\"");
	char *in_leeway = token(FX_SECRET, "dev1", -9, "\"aud\":\"mqtt\"");
	char *wrong_aud = token(FX_SECRET, "dev1", 60, "\"aud\":\"other\"");
	char *no_sub = fx_token(FX_SECRET, "{\"exp\":1800000000,\"aud\":\"mqtt\"}");
	mja_principal *p = NULL;
	mja_err why;

	assert_int_equal(connect_(c, "u", expired, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_EXPIRED);
	assert_int_equal(connect_(c, "u", in_leeway, "c", &p, &why), MJA_ALLOW);
	/* accepted in the leeway, already expired for the session */
	assert_true(mja_auth_expired(c, p, FX_NOW + 1));
	assert_false(mja_auth_expired(c, p, FX_NOW));
	mja_principal_free(p);
	assert_int_equal(connect_(c, "u", wrong_aud, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_AUDIENCE);
	assert_int_equal(connect_(c, "u", no_sub, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_MISSING_CLAIM);
	free(expired);
	free(in_leeway);
	free(wrong_aud);
	free(no_sub);
	mja_config_free(c);

	/* without sub in require_claims, a token without sub is still refused:
	 * the sub is the identity */
	c = CONFIG("require_claims exp");
	no_sub = fx_token(FX_SECRET, "{\"exp\":1800000000}");
	assert_int_equal(connect_(c, "u", no_sub, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_MISSING_CLAIM);
	free(no_sub);
	mja_config_free(c);

	/* without exp required, a token without exp never expires */
	c = CONFIG("require_claims sub");
	no_sub = fx_token(FX_SECRET, "{\"sub\":\"forever\"}");
	assert_int_equal(connect_(c, "u", no_sub, "c", &p, &why), MJA_ALLOW);
	assert_false(p->has_exp);
	assert_false(mja_auth_expired(c, p, INT64_MAX));
	mja_principal_free(p);
	free(no_sub);
	mja_config_free(c);
}

static void test_too_long(void **state)
{
	mja_config *c = CONFIG("max_token_bytes 64");
	char *tok = token(FX_SECRET, "dev1", 60, NULL);
	mja_principal *p = NULL;
	mja_err why;

	assert_true(strlen(tok) > 64);
	assert_int_equal(connect_(c, "u", tok, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_TOO_LONG);
	free(tok);
	mja_config_free(c);
}

static void test_username_match(void **state)
{
	mja_config *c = CONFIG("username_match sub");
	char *tok = token(FX_SECRET, "dev1", 60, NULL);
	mja_principal *p = NULL;
	mja_err why;

	assert_int_equal(connect_(c, "dev2", tok, "c", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_USERNAME_MISMATCH);
	assert_null(p);
	assert_int_equal(connect_(c, "dev1x", tok, "c", &p, &why), MJA_DENY);
	assert_int_equal(connect_(c, "dev", tok, "c", &p, &why), MJA_DENY);
	assert_int_equal(connect_(c, "dev1", tok, "c", &p, &why), MJA_ALLOW);
	mja_principal_free(p);
	/* no username sent beside the token (MQTT 5): nothing to compare */
	assert_int_equal(connect_(c, NULL, tok, "c", &p, &why), MJA_ALLOW);
	mja_principal_free(p);
	free(tok);
	mja_config_free(c);
}

static void test_clientid_match(void **state)
{
	mja_config *c = CONFIG("clientid_match sub");
	char *tok = token(FX_SECRET, "dev1", 60, NULL);
	mja_principal *p = NULL;
	mja_err why;

	assert_int_equal(connect_(c, "u", tok, "dev2", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_CLIENTID_MISMATCH);
	assert_int_equal(connect_(c, "u", tok, NULL, &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_CLIENTID_MISMATCH);
	assert_int_equal(connect_(c, "u", tok, "DEV1", &p, &why), MJA_DENY);
	assert_int_equal(connect_(c, "u", tok, "dev1", &p, &why), MJA_ALLOW);
	mja_principal_free(p);
	free(tok);
	mja_config_free(c);
}

static void test_roles(void **state)
{
	mja_config *c = CONFIG("roles_claim realm_access.roles");
	char *tok = token(FX_SECRET, "dev1", 60,
			"\"roles\":[\"ignored\"],\"realm_access\":{\"roles\":[\"operator\",7,\"viewer\"]}");
	char *flat = token(FX_SECRET, "dev1", 60, "\"roles\":\"operator\"");
	mja_principal *p = NULL;
	mja_err why;

	assert_int_equal(connect_(c, "u", tok, "c", &p, &why), MJA_ALLOW);
	assert_int_equal(p->n_roles, 2);
	assert_string_equal(p->roles[0], "operator");
	assert_string_equal(p->roles[1], "viewer");
	mja_principal_free(p);
	mja_config_free(c);

	c = CONFIG("leeway 0");   /* default roles_claim: roles */
	assert_int_equal(connect_(c, "u", flat, "c", &p, &why), MJA_ALLOW);
	assert_int_equal(p->n_roles, 1);
	assert_string_equal(p->roles[0], "operator");
	mja_principal_free(p);
	free(tok);
	free(flat);
	mja_config_free(c);
}

static mja_decision acl(const mja_config *c, const mja_principal *p, const char *id,
		const char *user, const char *topic, int access, int64_t now, int ignore_exp,
		mja_err *why)
{
	return mja_auth_acl(c, p, id, user, topic, strlen(topic), access, 0, 0, now, ignore_exp,
			why);
}

static void test_acl_decisions(void **state)
{
	mja_config *c = CONFIG("leeway 5");
	char *tok = token(FX_SECRET, "dev1", 60, NULL);
	char *op = token(FX_SECRET, "ops", 60, "\"roles\":[\"operator\"]");
	mja_principal *p = NULL, *o = NULL;
	mja_err why;

	assert_int_equal(connect_(c, "alice", tok, "cid", &p, &why), MJA_ALLOW);
	assert_int_equal(connect_(c, "u", op, "c", &o, &why), MJA_ALLOW);
	/* %s, %c, %u */
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev1/x", MJA_ACCESS_WRITE, FX_NOW, 0, &why),
			MJA_ALLOW);
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev2/x", MJA_ACCESS_WRITE, FX_NOW, 0, &why),
			MJA_DENY);
	assert_int_equal(why, MJA_OK);   /* a rule denial, not expiry */
	assert_int_equal(acl(c, p, "cid", "alice", "clients/cid/a", MJA_ACCESS_READ, FX_NOW, 0, &why),
			MJA_ALLOW);
	assert_int_equal(acl(c, p, "cid", "alice", "clients/cid/a", MJA_ACCESS_WRITE, FX_NOW, 0, &why),
			MJA_DENY);
	assert_int_equal(acl(c, p, "cid", "alice", "users/alice/a", MJA_ACCESS_READ, FX_NOW, 0, &why),
			MJA_ALLOW);
	assert_int_equal(acl(c, p, "cid", NULL, "users/alice/a", MJA_ACCESS_READ, FX_NOW, 0, &why),
			MJA_DENY);
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev1/#", MJA_ACCESS_SUBSCRIBE, FX_NOW, 0,
			&why), MJA_ALLOW);
	/* roles */
	assert_int_equal(acl(c, o, "c", "u", "anything/at/all", MJA_ACCESS_READ, FX_NOW, 0, &why),
			MJA_ALLOW);
	assert_int_equal(acl(c, o, "c", "u", "secrets/x", MJA_ACCESS_READ, FX_NOW, 0, &why),
			MJA_DENY);
	assert_int_equal(acl(c, p, "cid", "alice", "anything/at/all", MJA_ACCESS_READ, FX_NOW, 0,
			&why), MJA_DENY);

	/* expiry: exp + leeway <= now denies everything, with reason */
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev1/x", MJA_ACCESS_WRITE,
			FX_NOW + 64, 0, &why), MJA_ALLOW);
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev1/x", MJA_ACCESS_WRITE,
			FX_NOW + 65, 0, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_EXPIRED);
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev1/#", MJA_ACCESS_SUBSCRIBE,
			FX_NOW + 65, 0, &why), MJA_DENY);
	assert_int_equal(acl(c, o, "c", "u", "a", MJA_ACCESS_READ, FX_NOW + 1000, 0, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_EXPIRED);
	/* the will of a gone client ignores expiry but not the rules */
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev1/will", MJA_ACCESS_WRITE,
			FX_NOW + 1000, 1, &why), MJA_ALLOW);
	assert_int_equal(acl(c, p, "cid", "alice", "devices/dev2/will", MJA_ACCESS_WRITE,
			FX_NOW + 1000, 1, &why), MJA_DENY);
	mja_principal_free(p);
	mja_principal_free(o);
	free(tok);
	free(op);
	mja_config_free(c);
}

static void test_acl_without_acl_file(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;
	char *tok = token(FX_SECRET, "dev1", 60, NULL);
	mja_principal *p = NULL;
	mja_err why;

	fx_add(&o, "secret_file %s", secret_path);
	c = fx_parse(&o);
	assert_int_equal(connect_(c, "u", tok, "c", &p, &why), MJA_ALLOW);
	assert_int_equal(acl(c, p, "c", "u", "devices/dev1/x", MJA_ACCESS_WRITE, FX_NOW, 0, &why),
			MJA_DEFER);
	mja_principal_free(p);
	free(tok);
	mja_config_free(c);
}

static void test_expired_boundaries(void **state)
{
	mja_config *c = CONFIG("leeway 30");
	mja_principal p = { .sub = "x", .has_exp = 1, .exp = 1000 };

	assert_false(mja_auth_expired(c, &p, 1029));
	assert_true(mja_auth_expired(c, &p, 1030));
	p.exp = INT64_MAX;
	/* exp + leeway is beyond every int64 now: never expired, no overflow */
	assert_false(mja_auth_expired(c, &p, INT64_MAX - 31));
	assert_false(mja_auth_expired(c, &p, INT64_MAX));
	p.exp = INT64_MAX - 30;
	assert_true(mja_auth_expired(c, &p, INT64_MAX));
	p.exp = INT64_MIN;
	assert_true(mja_auth_expired(c, &p, 0));
	assert_false(mja_auth_expired(c, &p, INT64_MIN));   /* no overflow */
	mja_config_free(c);
}

static void test_reauth(void **state)
{
	mja_config *c = CONFIG("leeway 0");
	char *first = token(FX_SECRET, "dev1", 10, NULL);
	char *fresh = token(FX_SECRET, "dev1", 3600, NULL);
	char *other = token(FX_SECRET, "dev2", 3600, NULL);
	char *forged = token(FX_SECRET2, "dev1", 3600, NULL);
	mja_principal *p = NULL, *q = NULL;
	mja_err why;

	assert_int_equal(mja_auth_token(c, first, strlen(first), NULL, "c", FX_NOW, 1, &p, &why),
			MJA_ALLOW);
	assert_non_null(p->token);
	assert_int_equal(p->token_len, strlen(first));
	assert_memory_equal(p->token, first, p->token_len);

	/* same sub, fresh token: a longer life */
	assert_int_equal(mja_auth_reauth(c, p, fresh, strlen(fresh), NULL, "c", FX_NOW + 5, &q,
			&why), MJA_ALLOW);
	assert_string_equal(q->sub, "dev1");
	assert_int_equal(q->exp, FX_NOW + 3600);
	assert_memory_equal(q->token, fresh, q->token_len);
	mja_principal_free(q);

	/* another subject cannot take over the session */
	q = (mja_principal *)0x1;
	assert_int_equal(mja_auth_reauth(c, p, other, strlen(other), NULL, "c", FX_NOW, &q, &why),
			MJA_DENY);
	assert_int_equal(why, MJA_ERR_REAUTH_SUB);
	assert_null(q);
	/* a bad token is refused with its reason */
	assert_int_equal(mja_auth_reauth(c, p, forged, strlen(forged), NULL, "c", FX_NOW, &q, &why),
			MJA_DENY);
	assert_int_equal(why, MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(mja_auth_reauth(c, p, "", 0, NULL, "c", FX_NOW, &q, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_NO_TOKEN);
	assert_int_equal(mja_auth_reauth(c, p, "not a jwt", 9, NULL, "c", FX_NOW, &q, &why),
			MJA_DENY);
	/* the old token, now expired, cannot refresh anything */
	assert_int_equal(mja_auth_reauth(c, p, first, strlen(first), NULL, "c", FX_NOW + 10, &q,
			&why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_EXPIRED);
	/* binding still applies on re-auth */
	mja_config_free(c);
	c = CONFIG("clientid_match sub");
	assert_int_equal(mja_auth_reauth(c, p, fresh, strlen(fresh), NULL, "dev9", FX_NOW, &q,
			&why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_CLIENTID_MISMATCH);
	mja_principal_free(p);
	free(first);
	free(fresh);
	free(other);
	free(forged);
	mja_config_free(c);
}

/* SIGHUP: the broker re-runs BASIC_AUTH. Basic clients bring their
 * password again, enhanced-auth clients are checked with the stored copy. */
static void test_recheck_after_reload(void **state)
{
	const char *rot = fx_write_str("rot.secret", FX_SECRET);
	fx_opts o = { 0 };
	mja_config *c;
	char *tok = token(FX_SECRET, "dev1", 60, NULL);
	char *other = token(FX_SECRET, "dev2", 60, NULL);
	mja_principal *basic = NULL, *ext = NULL, *q = NULL;
	mja_diag d = { 0 };
	mja_err why;

	fx_add(&o, "secret_file %s", rot);
	c = fx_parse(&o);
	assert_int_equal(connect_(c, "u", tok, "c", &basic, &why), MJA_ALLOW);
	assert_int_equal(mja_auth_token(c, tok, strlen(tok), NULL, "c", FX_NOW, 1, &ext, &why),
			MJA_ALLOW);

	/* nothing changed: both pass, the enhanced one keeps its copy */
	assert_int_equal(mja_auth_recheck(c, basic, "u", tok, "c", FX_NOW, &q, &why), MJA_ALLOW);
	assert_null(q->token);
	mja_principal_free(q);
	assert_int_equal(mja_auth_recheck(c, ext, "u", NULL, "c", FX_NOW, &q, &why), MJA_ALLOW);
	assert_non_null(q->token);
	mja_principal_free(q);
	/* a basic client without its token, or with another sub's */
	assert_int_equal(mja_auth_recheck(c, basic, "u", NULL, "c", FX_NOW, &q, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_NO_TOKEN);
	assert_int_equal(mja_auth_recheck(c, basic, "u", other, "c", FX_NOW, &q, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_REAUTH_SUB);
	/* expired since connect */
	assert_int_equal(mja_auth_recheck(c, basic, "u", tok, "c", FX_NOW + 120, &q, &why),
			MJA_DENY);
	assert_int_equal(why, MJA_ERR_EXPIRED);

	/* rotation: the old secret is replaced and reloaded; both kinds of
	 * client are now refused */
	fx_write_str("rot.secret", FX_SECRET2);
	assert_int_equal(mja_config_reload(c, &d), MJA_OK);
	assert_int_equal(mja_auth_recheck(c, basic, "u", tok, "c", FX_NOW, &q, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_BAD_SIGNATURE);
	assert_int_equal(mja_auth_recheck(c, ext, "u", NULL, "c", FX_NOW, &q, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_BAD_SIGNATURE);
	assert_null(q);
	/* and new connects with the old token too (the cache was emptied) */
	assert_int_equal(connect_(c, "u", tok, "c", &q, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_BAD_SIGNATURE);

	mja_principal_free(basic);
	mja_principal_free(ext);
	free(tok);
	free(other);
	mja_config_free(c);
}

/* ---------------------------------------------------------------- permissions in the token */

/* {"sub":sub,"exp":NOW+60} plus extra members, without a size limit. */
static char *claim_token(const char *sub, const char *extra)
{
	size_t n = strlen(extra) + 128;
	char *json = malloc(n);
	char *tok;

	assert_non_null(json);
	snprintf(json, n, "{\"sub\":\"%s\",\"exp\":%lld,%s}", sub, (long long)(FX_NOW + 60), extra);
	tok = fx_token(FX_SECRET, json);
	free(json);
	return tok;
}

static mja_decision acl_q(const mja_config *c, const mja_principal *p, const char *topic,
		int access, int qos, int retain)
{
	mja_err why;

	return mja_auth_acl(c, p, "cid", "alice", topic, strlen(topic), access, qos, retain, FX_NOW,
			0, &why);
}

#define ACL(c, p, topic, access) acl_q(c, p, topic, access, 0, 0)

/* Array format: first match wins, no match asks the ACL file, with its
 * patterns, sub sections and role sections. */
static void test_acl_claim_array_falls_back_to_file(void **state)
{
	const char *file = fx_write_str("claim.acl",
			"pattern readwrite devices/%s/#\n"
			"sub dev1\n"
			"topic write special/#\n"
			"role operator\n"
			"topic read #\n"
			"topic deny secrets/#\n");
	fx_opts o = { 0 };
	mja_config *c;
	char *tok = claim_token("dev1", "\"acl\":["
			"{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"devices/${sub}/locked\"},"
			"{\"permission\":\"allow\",\"action\":\"pub\",\"topic\":\"x/${clientid}/${username}\"},"
			"{\"permission\":\"deny\",\"action\":\"pub\",\"topic\":\"special/no\"}]");
	char *op = claim_token("ops", "\"roles\":[\"operator\"],\"acl\":["
			"{\"permission\":\"deny\",\"action\":\"sub\",\"topic\":\"ops/private/#\"},"
			"{\"permission\":\"allow\",\"action\":\"sub\",\"topic\":\"secrets/shared\"}]");
	char *none = claim_token("dev1", "\"other\":1");
	mja_principal *p = NULL, *q = NULL, *n = NULL;
	mja_err why;

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_file %s", file);
	fx_add(&o, "acl_claim acl");
	c = fx_parse(&o);
	assert_int_equal(connect_(c, "alice", tok, "cid", &p, &why), MJA_ALLOW);
	assert_non_null(p->acl_claim);
	assert_int_equal(mja_aclclaim_format(p->acl_claim), 2);
	/* the claim's rules */
	assert_int_equal(ACL(c, p, "x/cid/alice", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "devices/dev1/locked", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(ACL(c, p, "devices/dev1/locked", MJA_ACCESS_READ), MJA_DENY);
	assert_int_equal(ACL(c, p, "special/no", MJA_ACCESS_WRITE), MJA_DENY);
	/* no match: the file (pattern, then the sub section) */
	assert_int_equal(ACL(c, p, "devices/dev1/other", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "devices/dev1/#", MJA_ACCESS_SUBSCRIBE), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "special/yes", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "elsewhere", MJA_ACCESS_WRITE), MJA_DENY);
	/* the claim's deny overlapping the file's subscription: enforced per delivery */
	assert_int_equal(ACL(c, p, "devices/dev1/+", MJA_ACCESS_SUBSCRIBE), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "devices/dev1/locked", MJA_ACCESS_READ), MJA_DENY);
	assert_int_equal(ACL(c, p, "devices/dev1/open", MJA_ACCESS_READ), MJA_ALLOW);

	/* role sections: the claim comes first, then the role's rules */
	assert_int_equal(connect_(c, "u", op, "c", &q, &why), MJA_ALLOW);
	assert_int_equal(ACL(c, q, "anything", MJA_ACCESS_READ), MJA_ALLOW);
	assert_int_equal(ACL(c, q, "ops/private/x", MJA_ACCESS_READ), MJA_DENY);
	assert_int_equal(ACL(c, q, "ops/private/#", MJA_ACCESS_SUBSCRIBE), MJA_DENY);
	assert_int_equal(ACL(c, q, "secrets/other", MJA_ACCESS_READ), MJA_DENY);
	assert_int_equal(ACL(c, q, "secrets/shared", MJA_ACCESS_SUBSCRIBE), MJA_ALLOW);
	assert_int_equal(ACL(c, q, "secrets/shared", MJA_ACCESS_READ), MJA_ALLOW);

	/* a token without the claim: the file alone */
	assert_int_equal(connect_(c, "alice", none, "cid", &n, &why), MJA_ALLOW);
	assert_null(n->acl_claim);
	assert_int_equal(ACL(c, n, "devices/dev1/locked", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(ACL(c, n, "x/cid/alice", MJA_ACCESS_WRITE), MJA_DENY);
	mja_principal_free(p);
	mja_principal_free(q);
	mja_principal_free(n);
	free(tok);
	free(op);
	free(none);
	mja_config_free(c);
}

/* Object format: no match is a deny, the ACL file is not asked. */
static void test_acl_claim_object_does_not_fall_back(void **state)
{
	mja_config *c = CONFIG("acl_claim perms");
	char *tok = claim_token("dev1", "\"perms\":{\"pub\":[\"up/${sub}\"],\"sub\":[\"down/#\"]}");
	mja_principal *p = NULL;
	mja_err why;

	assert_int_equal(connect_(c, "alice", tok, "cid", &p, &why), MJA_ALLOW);
	assert_int_equal(mja_aclclaim_format(p->acl_claim), 1);
	assert_int_equal(ACL(c, p, "up/dev1", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "down/x", MJA_ACCESS_READ), MJA_ALLOW);
	/* the file's "pattern readwrite devices/%s/#" would allow these */
	assert_int_equal(ACL(c, p, "devices/dev1/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(ACL(c, p, "devices/dev1/#", MJA_ACCESS_SUBSCRIBE), MJA_DENY);
	assert_int_equal(ACL(c, p, "devices/dev1/x", MJA_ACCESS_READ), MJA_DENY);
	mja_principal_free(p);
	free(tok);
	mja_config_free(c);
}

/* acl_claim without acl_file: the plugin decides; no match denies. */
static void test_acl_claim_without_file(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;
	char *tok = claim_token("dev1", "\"acl\":[{\"permission\":\"allow\",\"action\":\"all\","
			"\"topic\":\"t/#\",\"qos\":[0,1],\"retain\":false}]");
	char *none = claim_token("dev1", "\"x\":1");
	mja_principal *p = NULL, *n = NULL;
	mja_err why;

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_claim acl");
	c = fx_parse(&o);
	assert_true(mja_config_topic_decisions(c));
	assert_int_equal(connect_(c, "alice", tok, "cid", &p, &why), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "t/x", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(acl_q(c, p, "t/x", MJA_ACCESS_WRITE, 2, 0), MJA_DENY);
	assert_int_equal(acl_q(c, p, "t/x", MJA_ACCESS_WRITE, 1, 1), MJA_DENY);
	assert_int_equal(acl_q(c, p, "t/#", MJA_ACCESS_SUBSCRIBE, 1, 0), MJA_ALLOW);
	assert_int_equal(acl_q(c, p, "t/#", MJA_ACCESS_SUBSCRIBE, 2, 0), MJA_DENY);
	assert_int_equal(ACL(c, p, "u/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(ACL(c, p, "u/x", MJA_ACCESS_UNSUBSCRIBE), MJA_ALLOW);
	/* no claim, no file: nothing is allowed */
	assert_int_equal(connect_(c, "alice", none, "cid", &n, &why), MJA_ALLOW);
	assert_int_equal(ACL(c, n, "t/x", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(ACL(c, n, "t/x", MJA_ACCESS_READ), MJA_DENY);
	mja_principal_free(p);
	mja_principal_free(n);
	free(tok);
	free(none);
	mja_config_free(c);

	/* none of acl_file, acl_claim, superuser_claim: no topic decisions */
	o.n = 0;
	fx_add(&o, "secret_file %s", secret_path);
	c = fx_parse(&o);
	assert_false(mja_config_topic_decisions(c));
	mja_config_free(c);
}

/* Only the JSON value true makes a superuser: every topic, $SYS too; an
 * expired superuser is denied everything. */
static void test_superuser_claim(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;
	static const char *const not_super[] = {
		"\"is_superuser\":false", "\"is_superuser\":\"true\"", "\"is_superuser\":1",
		"\"is_superuser\":[true]", "\"is_superuser\":null", "\"superuser\":true",
	};
	char *tok = claim_token("admin", "\"is_superuser\":true");
	mja_principal *p = NULL;
	mja_err why;

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "superuser_claim is_superuser");
	c = fx_parse(&o);
	assert_true(mja_config_topic_decisions(c));
	assert_int_equal(connect_(c, "alice", tok, "cid", &p, &why), MJA_ALLOW);
	assert_true(p->superuser);
	assert_int_equal(ACL(c, p, "$SYS/#", MJA_ACCESS_SUBSCRIBE), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "$SYS/broker/load", MJA_ACCESS_READ), MJA_ALLOW);
	assert_int_equal(ACL(c, p, "#", MJA_ACCESS_SUBSCRIBE), MJA_ALLOW);
	assert_int_equal(acl_q(c, p, "any/where", MJA_ACCESS_WRITE, 2, 1), MJA_ALLOW);
	assert_int_equal(mja_auth_acl(c, p, "cid", "alice", "a", 1, MJA_ACCESS_WRITE, 0, 0,
			FX_NOW + 100, 0, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_EXPIRED);
	mja_principal_free(p);
	free(tok);
	for (size_t i = 0; i < sizeof(not_super) / sizeof(not_super[0]); i++) {
		tok = claim_token("admin", not_super[i]);
		assert_int_equal(connect_(c, "alice", tok, "cid", &p, &why), MJA_ALLOW);
		assert_false(p->superuser);
		assert_int_equal(ACL(c, p, "any/where", MJA_ACCESS_WRITE), MJA_DENY);
		assert_int_equal(ACL(c, p, "$SYS/#", MJA_ACCESS_SUBSCRIBE), MJA_DENY);
		mja_principal_free(p);
		free(tok);
	}
	mja_config_free(c);
}

/* A malformed claim refuses the token, with a detail naming the claim and
 * the rule; a well-formed one clears it. */
static void test_bad_acl_claim_refused(void **state)
{
	mja_config *c = CONFIG("acl_claim acl");
	char *bad = claim_token("dev1", "\"acl\":[{\"permission\":\"allow\",\"action\":\"all\","
			"\"topic\":\"a\"},{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"b\","
			"\"qos\":5}]");
	char *v1bad = claim_token("dev1", "\"acl\":{\"pub\":\"x\"}");
	char *good = claim_token("dev1", "\"acl\":[]");
	mja_principal *p = (mja_principal *)0x1;
	mja_err why;

	assert_int_equal(connect_(c, "alice", bad, "cid", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_BAD_ACL_CLAIM);
	assert_null(p);
	assert_string_equal(mja_strerror(why), "bad acl claim");
	assert_string_equal(mja_auth_detail(), "claim \"acl\": rule 2: \"qos\" 5 is outside 0-2");
	assert_int_equal(connect_(c, "alice", v1bad, "cid", &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_BAD_ACL_CLAIM);
	assert_string_equal(mja_auth_detail(), "claim \"acl\": \"pub\" is not an array of topic filters");
	/* on re-authentication too */
	assert_int_equal(connect_(c, "alice", good, "cid", &p, &why), MJA_ALLOW);
	assert_string_equal(mja_auth_detail(), "");
	{
		mja_principal *q = NULL;

		assert_int_equal(mja_auth_reauth(c, p, bad, strlen(bad), "alice", "cid", FX_NOW, &q,
				&why), MJA_DENY);
		assert_int_equal(why, MJA_ERR_BAD_ACL_CLAIM);
		assert_null(q);
	}
	mja_principal_free(p);
	free(bad);
	free(v1bad);
	free(good);
	mja_config_free(c);
}

/* Re-authentication compiles the new token's claim: its rules replace the
 * old ones. */
static void test_acl_claim_reauth(void **state)
{
	mja_config *c = CONFIG("acl_claim acl");
	char *first = claim_token("dev1", "\"acl\":{\"pub\":[\"one\"]}");
	char *second = claim_token("dev1", "\"acl\":{\"pub\":[\"two\"]}");
	mja_principal *p = NULL, *q = NULL;
	mja_err why;

	assert_int_equal(mja_auth_token(c, first, strlen(first), NULL, "cid", FX_NOW, 1, &p, &why),
			MJA_ALLOW);
	assert_int_equal(ACL(c, p, "one", MJA_ACCESS_WRITE), MJA_ALLOW);
	assert_int_equal(mja_auth_reauth(c, p, second, strlen(second), NULL, "cid", FX_NOW, &q, &why),
			MJA_ALLOW);
	assert_int_equal(ACL(c, q, "one", MJA_ACCESS_WRITE), MJA_DENY);
	assert_int_equal(ACL(c, q, "two", MJA_ACCESS_WRITE), MJA_ALLOW);
	mja_principal_free(p);
	mja_principal_free(q);
	free(first);
	free(second);
	mja_config_free(c);
}

static void test_claim_match(void **state)
{
	mja_config *c = CONFIG("claim_match tenant=t-${clientid}", "claim_match owner=${username}",
			"claim_match dept=ops");
	static const struct {
		const char *claims;
		const char *user, *id;
		mja_err want;
		const char *detail;
	} rows[] = {
		{ "\"tenant\":\"t-cid\",\"owner\":\"alice\",\"dept\":\"ops\"", "alice", "cid", MJA_OK, "" },
		{ "\"tenant\":\"t-cid2\",\"owner\":\"alice\",\"dept\":\"ops\"", "alice", "cid",
			MJA_ERR_CLAIM_MISMATCH, "claim \"tenant\" is not the string its template gives" },
		{ "\"tenant\":\"t-ci\",\"owner\":\"alice\",\"dept\":\"ops\"", "alice", "cid",
			MJA_ERR_CLAIM_MISMATCH, "claim \"tenant\" is not the string its template gives" },
		{ "\"tenant\":\"t-cid\",\"owner\":\"bob\",\"dept\":\"ops\"", "alice", "cid",
			MJA_ERR_CLAIM_MISMATCH, "claim \"owner\" is not the string its template gives" },
		{ "\"tenant\":\"t-cid\",\"owner\":\"alice\",\"dept\":\"dev\"", "alice", "cid",
			MJA_ERR_CLAIM_MISMATCH, "claim \"dept\" is not the string its template gives" },
		{ "\"tenant\":\"t-cid\",\"owner\":\"alice\"", "alice", "cid",
			MJA_ERR_CLAIM_MISMATCH, "claim \"dept\" is absent" },
		{ "\"tenant\":[\"t-cid\"],\"owner\":\"alice\",\"dept\":\"ops\"", "alice", "cid",
			MJA_ERR_CLAIM_MISMATCH, "claim \"tenant\" is not a string" },
		/* an absent value never matches, not even an empty claim */
		{ "\"tenant\":\"t-cid\",\"owner\":\"\",\"dept\":\"ops\"", NULL, "cid",
			MJA_ERR_CLAIM_MISMATCH,
			"claim \"owner\": the template needs ${username}, which the client did not send" },
		{ "\"tenant\":\"t-\",\"owner\":\"alice\",\"dept\":\"ops\"", "alice", NULL,
			MJA_ERR_CLAIM_MISMATCH,
			"claim \"tenant\": the template needs ${clientid}, which the client did not send" },
	};
	mja_principal *p;
	mja_err why;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *tok = claim_token("dev1", rows[i].claims);

		p = NULL;
		assert_int_equal(connect_(c, rows[i].user, tok, rows[i].id, &p, &why),
				rows[i].want == MJA_OK ? MJA_ALLOW : MJA_DENY);
		assert_int_equal(why, rows[i].want);
		if (strcmp(mja_auth_detail(), rows[i].detail))
			fail_msg("row %zu: detail \"%s\", want \"%s\"", i, mja_auth_detail(),
					rows[i].detail);
		assert_string_equal(mja_strerror(why), rows[i].want == MJA_OK ? "ok" : "claim mismatch");
		mja_principal_free(p);
		free(tok);
	}
	mja_config_free(c);

	/* token_field username: the username is the token, ${username} never matches */
	c = CONFIG("token_field username", "claim_match owner=${username}");
	{
		char *tok = claim_token("dev1", "\"owner\":\"dev1\"");

		assert_int_equal(connect_(c, tok, NULL, "cid", &p, &why), MJA_DENY);
		assert_int_equal(why, MJA_ERR_CLAIM_MISMATCH);
		free(tok);
	}
	mja_config_free(c);
}

/* An HS256 token whose header names kid, over the JSON payload text. */
static char *kid_token(const char *secret, const char *kid, const char *payload_json)
{
	mja_key *k = NULL;
	json_error_t err;
	json_t *payload = json_loads(payload_json, 0, &err);
	char *tok = NULL;

	assert_non_null(payload);
	assert_int_equal(mja_key_from_secret((const unsigned char *)secret, strlen(secret),
			kid, &k, NULL), MJA_OK);
	assert_int_equal(mja_token_sign(k, MJA_ALG_HS256, NULL, payload, &tok), MJA_OK);
	mja_key_free(k);
	json_decref(payload);
	return tok;
}

/* A revoked token is refused at CONNECT, re-authentication and re-check
 * (reason "revoked"), for each kind of line; other tokens pass. */
static void test_revoked_refused(void **state)
{
	const char *rev = fx_write_str("revoked",
			"jti stolen-1\n"
			"sub lost-dev\n"
			"sub old-dev before 1699999000\n"
			"kid k-old\n");
	/* a JWKS with two oct keys: the revoked kid and a good one; the JWK "k"
	 * is FX_SECRET / FX_SECRET2 in base64url */
	char jwks[512], k1[128], k2[128];
	fx_opts o = { 0 };
	mja_config *c;
	mja_principal *p = NULL, *q = NULL;
	mja_err why;
	struct {
		const char *secret, *kid, *payload;
		mja_err want;
	} cases[] = {
		{ FX_SECRET, "k-new", "{\"sub\":\"dev1\",\"exp\":1700000060,\"jti\":\"fine\"}", MJA_OK },
		{ FX_SECRET, "k-new", "{\"sub\":\"dev1\",\"exp\":1700000060,\"jti\":\"stolen-1\"}",
			MJA_ERR_REVOKED },
		{ FX_SECRET, "k-new", "{\"sub\":\"lost-dev\",\"exp\":1700000060,\"iat\":1700000000}",
			MJA_ERR_REVOKED },
		{ FX_SECRET, "k-new", "{\"sub\":\"old-dev\",\"exp\":1700000060,\"iat\":1699998999}",
			MJA_ERR_REVOKED },
		/* fractional iat: 1699998999.5 is before the cut-off */
		{ FX_SECRET, "k-new", "{\"sub\":\"old-dev\",\"exp\":1700000060,\"iat\":1699998999.5}",
			MJA_ERR_REVOKED },
		{ FX_SECRET, "k-new", "{\"sub\":\"old-dev\",\"exp\":1700000060}", MJA_ERR_REVOKED },
		{ FX_SECRET, "k-new", "{\"sub\":\"old-dev\",\"exp\":1700000060,\"iat\":1699999000}",
			MJA_OK },
		{ FX_SECRET2, "k-old", "{\"sub\":\"dev1\",\"exp\":1700000060}", MJA_ERR_REVOKED },
		/* a jti that is not a string matches no jti line */
		{ FX_SECRET, "k-new", "{\"sub\":\"dev1\",\"exp\":1700000060,\"jti\":7}", MJA_OK },
	};

	mja_b64url_encode((const unsigned char *)FX_SECRET, strlen(FX_SECRET), k1);
	mja_b64url_encode((const unsigned char *)FX_SECRET2, strlen(FX_SECRET2), k2);
	snprintf(jwks, sizeof(jwks), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k-new\",\"k\":\"%s\"},"
			"{\"kty\":\"oct\",\"kid\":\"k-old\",\"k\":\"%s\"}]}", k1, k2);
	fx_add(&o, "key_file %s", fx_write_str("keys.jwks", jwks));
	fx_add(&o, "revocation_file %s", rev);
	c = fx_parse(&o);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = kid_token(cases[i].secret, cases[i].kid, cases[i].payload);
		mja_decision want = cases[i].want == MJA_OK ? MJA_ALLOW : MJA_DENY;

		why = MJA_ERR_INTERNAL;
		if (connect_(c, "u", tok, "c", &p, &why) != want || why != cases[i].want)
			fail_msg("case %zu: connect gave %s", i, mja_strerror(why));
		mja_principal_free(p);
		p = NULL;
		if (mja_auth_token(c, tok, strlen(tok), NULL, "c", FX_NOW, 1, &p, &why) != want)
			fail_msg("case %zu: enhanced auth gave %s", i, mja_strerror(why));
		mja_principal_free(p);
		p = NULL;
		free(tok);
	}

	/* re-authentication with a revoked token, and the re-check of a
	 * session whose token was revoked after it connected */
	{
		char *good = kid_token(FX_SECRET, "k-new",
				"{\"sub\":\"dev1\",\"exp\":1700000060,\"jti\":\"j-9\",\"iat\":1699999999}");
		char *bad = kid_token(FX_SECRET, "k-new",
				"{\"sub\":\"dev1\",\"exp\":1700000060,\"jti\":\"stolen-1\"}");
		mja_diag d = { 0 };
		int changed = -1;

		assert_int_equal(mja_auth_token(c, good, strlen(good), NULL, "c", FX_NOW, 1, &p, &why),
				MJA_ALLOW);
		/* the principal keeps what a later revocation needs */
		assert_string_equal(p->jti, "j-9");
		assert_string_equal(p->kid, "k-new");
		assert_true(p->has_iat);
		assert_int_equal(p->iat, 1699999999);
		assert_int_equal(mja_auth_revoked(c, p), MJA_OK);
		assert_int_equal(mja_auth_reauth(c, p, bad, strlen(bad), NULL, "c", FX_NOW, &q, &why),
				MJA_DENY);
		assert_int_equal(why, MJA_ERR_REVOKED);
		assert_null(q);

		/* the file changes: the connected session is now revoked */
		fx_write_str("revoked", "jti j-9\n");
		assert_int_equal(mja_config_revoke_refresh(c, 0, &changed, &d), MJA_OK);
		assert_int_equal(changed, 1);
		assert_int_equal(mja_auth_revoked(c, p), MJA_ERR_REVOKED);
		assert_int_equal(mja_auth_recheck(c, p, NULL, NULL, "c", FX_NOW, &q, &why), MJA_DENY);
		assert_int_equal(why, MJA_ERR_REVOKED);
		/* unchanged file: nothing read again */
		assert_int_equal(mja_config_revoke_refresh(c, 0, &changed, &d), MJA_OK);
		assert_int_equal(changed, 0);

		/* a malformed file keeps the previous list, and says where */
		fx_write_str("revoked", "jti j-1\nnonsense here\n");
		assert_int_equal(mja_config_revoke_refresh(c, 0, &changed, &d), MJA_ERR_CONFIG);
		assert_int_equal(changed, 0);
		assert_non_null(strstr(d.text, rev));
		assert_non_null(strstr(d.text, ":2: unknown directive"));
		assert_int_equal(mja_auth_revoked(c, p), MJA_ERR_REVOKED);
		/* reported once per change, not every poll */
		mja_diag_clear(&d);
		assert_int_equal(mja_config_revoke_refresh(c, 0, &changed, &d), MJA_OK);
		assert_int_equal(changed, 0);
		/* fixed: the new list is in force; SIGHUP (force) reads it again */
		fx_write_str("revoked", "jti other\n");
		assert_int_equal(mja_config_revoke_refresh(c, 0, &changed, &d), MJA_OK);
		assert_int_equal(changed, 1);
		assert_int_equal(mja_auth_revoked(c, p), MJA_OK);
		assert_int_equal(mja_config_revoke_refresh(c, 1, &changed, &d), MJA_OK);
		assert_int_equal(changed, 1);
		/* a removed file keeps the list too */
		unlink(rev);
		mja_diag_clear(&d);
		assert_int_not_equal(mja_config_revoke_refresh(c, 0, &changed, &d), MJA_OK);
		assert_int_equal(changed, 0);
		assert_non_null(strstr(d.text, rev));
		mja_principal_free(p);
		free(good);
		free(bad);
	}
	mja_config_free(c);
	/* without revocation_file nothing is revoked */
	assert_int_equal(mja_auth_revoked(NULL, NULL), MJA_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_password_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_username_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_jwt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tokens_denied_not_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_username_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clientid_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_decisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_without_acl_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recheck_after_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_claim_array_falls_back_to_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_claim_object_does_not_fall_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_claim_without_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_superuser_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_acl_claim_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acl_claim_reauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
