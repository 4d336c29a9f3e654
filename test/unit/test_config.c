/* test_config.c - plugin options (docs/design.md, "Configuration"): defaults, every option's
 * good and bad values, unknown and repeated options, files that are missing
 * or unparsable, and reload that keeps the old set on failure. */
#include "plugin_fixture.h"

#include <sys/stat.h>

static const char *secret_path;

static int setup(void **state)
{
	fx_setup_dir();
	secret_path = fx_write_str("hs.secret", FX_SECRET "\n");
	return 0;
}

static int teardown(void **state)
{
	fx_cleanup_dir();
	return 0;
}

static void test_defaults(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;

	fx_add(&o, "secret_file %s", secret_path);
	c = fx_parse(&o);
	assert_int_equal(c->n_key_files, 0);
	assert_int_equal(c->n_secret_files, 1);
	assert_string_equal(c->secret_files[0], secret_path);
	assert_null(c->acl_file);
	assert_null(c->files->acl);
	assert_int_equal(c->algorithms, 0);
	assert_int_equal(c->n_issuers, 0);
	assert_int_equal(c->n_audiences, 0);
	assert_int_equal(c->n_required, 2);
	assert_string_equal(c->required[0], "exp");
	assert_string_equal(c->required[1], "sub");
	assert_int_equal(c->leeway, 30);
	assert_int_equal(c->max_token_age, 0);
	assert_int_equal(c->token_field, MJA_TOKEN_FIELD_PASSWORD);
	assert_int_equal(c->username_match, MJA_MATCH_OFF);
	assert_int_equal(c->clientid_match, MJA_MATCH_OFF);
	assert_string_equal(c->roles_claim, "roles");
	assert_int_equal(c->non_jwt, MJA_NON_JWT_DEFER);
	assert_true(c->disconnect_on_expiry);
	assert_int_equal(c->max_token_bytes, 8192);
	assert_null(c->acl_claim);
	assert_null(c->superuser_claim);
	assert_int_equal(c->n_claim_match, 0);
	assert_false(mja_config_topic_decisions(c));
	assert_non_null(c->cache);
	assert_int_equal(c->token_cache_size, MJA_CONFIG_CACHE_ENTRIES);
	assert_null(c->revocation_file);
	assert_null(c->revoked);
	assert_int_equal(c->stats_interval, 10);
	assert_int_equal(c->verify_threads, MJA_CONFIG_VERIFY_THREADS_AUTO);
	assert_false(c->log_debug);
	assert_false(c->stats_per_listener);
	assert_null(c->stats_listener);
	assert_int_equal(c->n_auth_methods, 1);
	assert_string_equal(c->auth_methods[0], "jwt");
	assert_true(mja_config_auth_method(c, "jwt"));
	assert_false(mja_config_auth_method(c, "JWT"));
	assert_false(mja_config_auth_method(c, NULL));
	{
		mja_cache_stats st;

		mja_cache_get_stats(c->cache, &st);
		assert_int_equal(st.capacity, MJA_CONFIG_CACHE_ENTRIES);
	}
	/* default allow-list: what the keys can verify; a 39-byte secret is
	 * long enough for HS256 only (RFC 7518 3.2) */
	assert_int_equal(c->files->verify.algorithms, MJA_ALG_BIT(MJA_ALG_HS256));
	assert_int_equal(c->files->verify.algorithms, mja_keyset_algs(c->files->keys));
	assert_int_equal(c->files->verify.max_token_bytes, 8192);
	assert_int_equal(c->files->verify.claims.leeway, 30);
	assert_int_equal(c->files->verify.claims.n_required, 2);
	assert_int_equal(mja_keyset_count(c->files->keys), 1);
	mja_config_free(c);
}

static void test_every_option_good(void **state)
{
	const char *key = fx_write_ec_key("ec.pem", NULL);
	const char *acl = fx_write_str("acl.conf", "pattern readwrite devices/%s/#\n");
	fx_opts o = { 0 };
	mja_config *c;

	fx_add(&o, "key_file %s", key);
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "algorithms ES256, HS256");
	fx_add(&o, "issuer https://a.example, https://b.example");
	fx_add(&o, "audience mqtt");
	fx_add(&o, "leeway 5");
	fx_add(&o, "require_claims exp sub iat");
	fx_add(&o, "max_token_age 3600");
	fx_add(&o, "token_field password");
	fx_add(&o, "username_match sub");
	fx_add(&o, "clientid_match sub");
	fx_add(&o, "acl_file %s", acl);
	fx_add(&o, "roles_claim realm_access.roles");
	fx_add(&o, "non_jwt deny");
	fx_add(&o, "disconnect_on_expiry false");
	fx_add(&o, "max_token_bytes 4096");
	fx_add(&o, "token_cache_size 100");
	c = fx_parse(&o);
	assert_int_equal(c->n_key_files, 1);
	assert_int_equal(c->algorithms, MJA_ALG_BIT(MJA_ALG_ES256) | MJA_ALG_BIT(MJA_ALG_HS256));
	assert_int_equal(c->files->verify.algorithms, c->algorithms);
	assert_int_equal(c->n_issuers, 2);
	assert_string_equal(c->issuers[0], "https://a.example");
	assert_string_equal(c->issuers[1], "https://b.example");
	assert_int_equal(c->n_audiences, 1);
	assert_string_equal(c->audiences[0], "mqtt");
	assert_int_equal(c->leeway, 5);
	assert_int_equal(c->n_required, 3);
	assert_string_equal(c->required[2], "iat");
	assert_int_equal(c->max_token_age, 3600);
	assert_int_equal(c->token_field, MJA_TOKEN_FIELD_PASSWORD);
	assert_int_equal(c->username_match, MJA_MATCH_SUB);
	assert_int_equal(c->clientid_match, MJA_MATCH_SUB);
	assert_string_equal(c->acl_file, acl);
	assert_non_null(c->files->acl);
	assert_string_equal(c->roles_claim, "realm_access.roles");
	assert_int_equal(c->non_jwt, MJA_NON_JWT_DENY);
	assert_false(c->disconnect_on_expiry);
	assert_int_equal(c->max_token_bytes, 4096);
	assert_int_equal(c->token_cache_size, 100);
	{
		mja_cache_stats st;

		mja_cache_get_stats(c->cache, &st);
		assert_int_equal(st.capacity, 100);
	}
	assert_int_equal(mja_keyset_count(c->files->keys), 2);
	/* verifier options follow the options */
	assert_int_equal(c->files->verify.max_token_bytes, 4096);
	assert_int_equal(c->files->verify.claims.n_issuers, 2);
	assert_int_equal(c->files->verify.claims.n_audiences, 1);
	assert_int_equal(c->files->verify.claims.leeway, 5);
	assert_int_equal(c->files->verify.claims.max_token_age, 3600);
	assert_string_equal(c->files->verify.claims.required[2], "iat");
	mja_config_free(c);

	/* the other words of the two-word options */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "token_field username");
	fx_add(&o, "username_match off");
	fx_add(&o, "clientid_match off");
	fx_add(&o, "non_jwt defer");
	fx_add(&o, "disconnect_on_expiry true");
	fx_add(&o, "max_token_age off");
	fx_add(&o, "leeway 0");
	c = fx_parse(&o);
	assert_int_equal(c->token_field, MJA_TOKEN_FIELD_USERNAME);
	assert_int_equal(c->username_match, MJA_MATCH_OFF);
	assert_int_equal(c->clientid_match, MJA_MATCH_OFF);
	assert_int_equal(c->non_jwt, MJA_NON_JWT_DEFER);
	assert_true(c->disconnect_on_expiry);
	assert_int_equal(c->max_token_age, 0);
	assert_int_equal(c->leeway, 0);
	mja_config_free(c);

	/* non_jwt ignore (Mosquitto 2.1: as if the plugin were not loaded) */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "non_jwt ignore");
	c = fx_parse(&o);
	assert_int_equal(c->non_jwt, MJA_NON_JWT_IGNORE);
	mja_config_free(c);
}

/* Values keep inner and trailing blanks from the broker; trailing ones are
 * trimmed, LIST items split on commas and blanks. */
static void test_trim_and_lists(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;

	fx_add(&o, "secret_file %s  \t", secret_path);
	fx_add(&o, "leeway 10   ");
	fx_add(&o, "audience  a, b c,,d ,");
	fx_add(&o, "algorithms HS256 ");
	c = fx_parse(&o);
	assert_string_equal(c->secret_files[0], secret_path);
	assert_int_equal(c->leeway, 10);
	assert_int_equal(c->n_audiences, 4);
	assert_string_equal(c->audiences[0], "a");
	assert_string_equal(c->audiences[1], "b");
	assert_string_equal(c->audiences[2], "c");
	assert_string_equal(c->audiences[3], "d");
	mja_config_free(c);
}

static void test_repeatable(void **state)
{
	const char *s2 = fx_write_str("hs2.secret", FX_SECRET2);
	const char *k1 = fx_write_ec_key("ec1.pem", NULL);
	const char *k2 = fx_write_ec_key("ec2.pem", NULL);
	fx_opts o = { 0 };
	mja_config *c;

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "key_file %s", k1);
	fx_add(&o, "secret_file %s", s2);
	fx_add(&o, "key_file %s", k2);
	c = fx_parse(&o);
	assert_int_equal(c->n_key_files, 2);
	assert_int_equal(c->n_secret_files, 2);
	assert_string_equal(c->key_files[1], k2);
	assert_string_equal(c->secret_files[1], s2);
	assert_int_equal(mja_keyset_count(c->files->keys), 4);
	mja_config_free(c);
}

/* Permissions in the token: the three options, claim_match repeatable
 * (one template per claim). */
static void test_claim_options(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_claim https://example.com/acl");
	fx_add(&o, "superuser_claim is_superuser");
	fx_add(&o, "claim_match tenant = t-${clientid}");
	fx_add(&o, "claim_match owner=${username}@${clientid} x");
	c = fx_parse(&o);
	assert_string_equal(c->acl_claim, "https://example.com/acl");
	assert_string_equal(c->superuser_claim, "is_superuser");
	assert_int_equal(c->n_claim_match, 2);
	assert_string_equal(c->claim_match[0].name, "tenant");
	assert_string_equal(c->claim_match[0].tmpl, "t-${clientid}");
	assert_string_equal(c->claim_match[1].name, "owner");
	assert_string_equal(c->claim_match[1].tmpl, "${username}@${clientid} x");
	assert_true(mja_config_topic_decisions(c));
	mja_config_free(c);

	o.n = 0;
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "claim_match tenant=a");
	fx_add(&o, "claim_match tenant=b");
	fx_parse_fails(&o, MJA_ERR_CONFIG, "claim_match", "claim \"tenant\" given twice");
}

static void test_single_options_not_repeatable(void **state)
{
	static const char *const once[][2] = {
		{ "algorithms", "HS256" }, { "issuer", "a" }, { "audience", "a" },
		{ "leeway", "1" }, { "require_claims", "exp" }, { "max_token_age", "5" },
		{ "token_field", "password" }, { "username_match", "off" },
		{ "clientid_match", "off" }, { "roles_claim", "roles" }, { "non_jwt", "defer" },
		{ "disconnect_on_expiry", "true" }, { "max_token_bytes", "100" },
		{ "token_cache_size", "10" }, { "verify_threads", "1" },
		{ "acl_file", "/nonexistent-but-refused-earlier" },
		{ "acl_claim", "acl" }, { "superuser_claim", "su" },
		{ "stats_per_listener", "true" },
		{ "stats_listener", "north" }, { "log_debug", "true" },
	};

	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		fx_opts o = { 0 };

		fx_add(&o, "secret_file %s", secret_path);
		fx_add(&o, "%s %s", once[i][0], once[i][1]);
		fx_add(&o, "%s %s", once[i][0], once[i][1]);
		fx_parse_fails(&o, MJA_ERR_CONFIG, once[i][0], "more than once");
	}
}

/* log_debug: true or false, nothing else */
static void test_log_debug(void **state)
{
	static const char *const bad[] = { "yes", "1", "TRUE", "" };
	static const char *const good[] = { "false", "true" };   /* index: the value */
	fx_opts o = { 0 };
	mja_config *c;

	(void)state;
	for (int v = 0; v < 2; v++) {
		o.n = 0;
		fx_add(&o, "secret_file %s", secret_path);
		fx_add(&o, "log_debug %s", good[v]);
		c = fx_parse(&o);
		assert_int_equal(c->log_debug, v);
		mja_config_free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.n = 0;
		fx_add(&o, "secret_file %s", secret_path);
		fx_add(&o, "log_debug %s", bad[i]);
		fx_parse_fails(&o, MJA_ERR_CONFIG, "log_debug", NULL);
	}
}

/* stats_listener: the name of the instance's listener in the $SYS topics;
 * surrounding blanks are not part of it; 64 bytes at most */
static void test_stats_listener(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "stats_listener  south-2.plant_B ");
	c = fx_parse(&o);
	assert_string_equal(c->stats_listener, "south-2.plant_B");
	mja_config_free(c);
	o.n = 0;
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "stats_listener "
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	c = fx_parse(&o);
	assert_int_equal(strlen(c->stats_listener), 64);
	mja_config_free(c);
}

/* verify_threads: 0 to MJA_WORKERS_MAX; the default is "auto" (resolved
 * from the machine's cores by the session) */
static void test_verify_threads(void **state)
{
	static const char *const bad[] = { "-1", "65", "two", "" };
	fx_opts o = { 0 };
	mja_config *c;

	(void)state;
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "verify_threads 0");
	c = fx_parse(&o);
	assert_int_equal(c->verify_threads, 0);
	mja_config_free(c);
	o.n = 0;
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "verify_threads 64");
	c = fx_parse(&o);
	assert_int_equal(c->verify_threads, 64);
	mja_config_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.n = 0;
		fx_add(&o, "secret_file %s", secret_path);
		fx_add(&o, "verify_threads %s", bad[i]);
		fx_parse_fails(&o, MJA_ERR_CONFIG, "verify_threads", "");
	}
}

/* revocation_file, stats_interval, stats_per_listener, auth_methods */
static void test_revocation_stats_methods(void **state)
{
	fx_opts o = { 0 };
	mja_config *c;
	const char *rev = fx_write_str("rev.list", "jti a\nsub b before 5\n");

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "revocation_file %s ", rev);
	fx_add(&o, "stats_interval 0");
	fx_add(&o, "stats_per_listener true");
	fx_add(&o, "auth_methods CUSTOM-JWT, OAUTH2-JWT jwt");
	c = fx_parse(&o);
	assert_string_equal(c->revocation_file, rev);
	assert_int_equal(mja_revoke_count(c->revoked), 2);
	assert_int_equal(c->stats_interval, 0);
	assert_true(c->stats_per_listener);
	assert_int_equal(c->n_auth_methods, 3);
	assert_true(mja_config_auth_method(c, "CUSTOM-JWT"));
	assert_true(mja_config_auth_method(c, "OAUTH2-JWT"));
	assert_true(mja_config_auth_method(c, "jwt"));
	assert_false(mja_config_auth_method(c, "custom-jwt"));
	assert_false(mja_config_auth_method(c, "SCRAM-SHA-1"));
	mja_config_free(c);

	/* the list replaces the default: jwt is no longer answered */
	o.n = 0;
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "auth_methods CUSTOM-JWT");
	c = fx_parse(&o);
	assert_false(mja_config_auth_method(c, "jwt"));
	mja_config_free(c);

	/* at start, a missing or malformed list stops the broker, naming the
	 * option, the file and the line */
	o.n = 0;
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "revocation_file %s/none", fx_dir);
	fx_parse_fails(&o, MJA_ERR_FILE, "option revocation_file", "none");
	o.n = 0;
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "revocation_file %s", fx_write_str("bad.list", "jti a\njti\n"));
	fx_parse_fails(&o, MJA_ERR_CONFIG, "option revocation_file", "bad.list:2: jti needs a value");
}

static void test_bad_values(void **state)
{
	static const struct { const char *opt, *why; } bad[] = {
		{ "leeway -1", "not a whole number" },
		{ "leeway 1.5", "not a whole number" },
		{ "leeway 30s", "not a whole number" },
		{ "leeway ", "not a whole number" },
		{ "leeway 99999999999999999999999", "out of range" },
		{ "leeway 2147483648", "out of range" },
		{ "max_token_age -5", "not a whole number" },
		{ "max_token_age on", "not a whole number" },
		{ "max_token_bytes 0", "out of range" },
		{ "max_token_bytes 65536", "out of range" },
		{ "max_token_bytes lots", "not a whole number" },
		{ "token_cache_size -1", "not a whole number" },
		{ "token_cache_size 1048577", "out of range" },
		{ "token_cache_size many", "not a whole number" },
		{ "token_field clientid", "password or username" },
		{ "token_field Password", "password or username" },
		{ "username_match clientid", "off or sub" },
		{ "clientid_match on", "off or sub" },
		{ "non_jwt allow", "defer or deny" },
		{ "disconnect_on_expiry yes", "false or true" },
		{ "disconnect_on_expiry 1", "false or true" },
		{ "stats_per_listener yes", "false or true" },
		{ "algorithms none", "none" },
		{ "algorithms HS256,NONE", "none" },
		{ "algorithms hs256", "unknown algorithm" },
		{ "algorithms ,", "empty" },
		{ "issuer  , ", "empty list" },
		{ "audience ", "empty list" },
		{ "require_claims ,", "empty list" },
		{ "roles_claim ", "dotted claim path" },
		{ "roles_claim a..b", "dotted claim path" },
		{ "roles_claim .roles", "dotted claim path" },
		{ "roles_claim roles.", "dotted claim path" },
		{ "acl_file  ", "empty path" },
		{ "key_file ", "empty path" },
		{ "acl_claim ", "empty claim name" },
		{ "acl_claim a b", "is not one claim name" },
		{ "superuser_claim ", "empty claim name" },
		{ "claim_match tenant", "is not NAME=TEMPLATE" },
		{ "claim_match =x", "empty claim name" },
		{ "claim_match a b=x", "is not one claim name" },
		{ "claim_match tenant=", "empty template" },
		{ "claim_match tenant=${sub}", "unknown placeholder (${clientid} and ${username} only)" },
		{ "claim_match tenant=${clientid", "unknown placeholder" },
		{ "revocation_file ", "empty path" },
		{ "stats_interval -1", "not a whole number" },
		{ "stats_interval 10s", "not a whole number" },
		{ "stats_interval 86401", "out of range" },
		{ "auth_methods  ,", "empty list" },
		{ "stats_listener ", "is not a listener name" },
		{ "stats_listener a/b", "\"a/b\" is not a listener name" },
		{ "stats_listener a+", "is not a listener name" },
		{ "stats_listener #", "is not a listener name" },
		{ "stats_listener north east", "is not a listener name" },
		{ "stats_listener a\x01" "b", "\"a\\x01b\" is not a listener name" },
		{ "stats_listener a\x7f", "is not a listener name" },
		{ "stats_listener caf\xc3\xa9", "is not a listener name" },
		{ "stats_listener "
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		  "1 to 64 printable ASCII characters" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx_opts o = { 0 };
		char name[64];

		snprintf(name, sizeof(name), "%s", bad[i].opt);
		*strchr(name, ' ') = '\0';
		fx_add(&o, "secret_file %s", secret_path);
		fx_add(&o, "%s", bad[i].opt);
		fx_parse_fails(&o, MJA_ERR_CONFIG, name, bad[i].why);
	}
}

static void test_unknown_option(void **state)
{
	fx_opts o = { 0 };

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "leway 30");
	fx_parse_fails(&o, MJA_ERR_CONFIG, "leway", "unknown option");

	/* keys are case-sensitive and carry no prefix */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "Leeway 30");
	fx_parse_fails(&o, MJA_ERR_CONFIG, "Leeway", "unknown option");
	memset(&o, 0, sizeof(o));
	fx_add(&o, "plugin_opt_secret_file %s", secret_path);
	fx_parse_fails(&o, MJA_ERR_CONFIG, "plugin_opt_secret_file", "unknown option");
}

static void test_no_keys(void **state)
{
	fx_opts o = { 0 };

	fx_parse_fails(&o, MJA_ERR_CONFIG, "key_file", "secret_file");
	fx_add(&o, "leeway 3");
	fx_add(&o, "acl_file %s", fx_write_str("acl.conf", "pattern read a\n"));
	fx_parse_fails(&o, MJA_ERR_CONFIG, "key_file", "secret_file");
}

static void test_missing_and_bad_files(void **state)
{
	char missing[160];
	fx_opts o = { 0 };

	snprintf(missing, sizeof(missing), "%s/does-not-exist", fx_dir);
	fx_add(&o, "key_file %s", missing);
	fx_parse_fails(&o, MJA_OK, "key_file", missing);

	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", missing);
	fx_parse_fails(&o, MJA_OK, "secret_file", missing);

	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_file %s", missing);
	fx_parse_fails(&o, MJA_OK, "acl_file", missing);

	/* a key file that is no key */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "key_file %s", fx_write_str("garbage.pem", "-----BEGIN PUBLIC KEY-----\n"
			"bm90IGEga2V5\n-----END PUBLIC KEY-----\n"));
	fx_parse_fails(&o, MJA_OK, "key_file", "garbage.pem");

	/* a secret too short for any HMAC algorithm (RFC 7518 3.2) */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", fx_write_str("short.secret", "short\n"));
	fx_parse_fails(&o, MJA_OK, "secret_file", "short.secret");

	/* the second of two key files is broken: all or nothing */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "key_file %s", fx_write_str("empty.pem", ""));
	fx_parse_fails(&o, MJA_OK, "key_file", "empty.pem");

	/* an ACL syntax error names option, file and line */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_file %s", fx_write_str("bad.acl", "pattern read a\nfrobnicate x\n"));
	fx_parse_fails(&o, MJA_ERR_ACL_SYNTAX, "acl_file", "bad.acl:2");

	/* a directory is not a readable file */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", fx_dir);
	fx_parse_fails(&o, MJA_OK, "secret_file", fx_dir);
}

/* Files the plugin trusts, as an attacker on the same host would set them
 * up. A FIFO as key_file, secret_file or acl_file hung the broker at start
 * (and would at SIGHUP) in open() or read(): it must fail at once naming the
 * file. A world-writable file lets any local user mint tokens (a secret or
 * key) or grant rights (ACL): it is refused, naming file and mode, as sshd's
 * StrictModes does. Each case runs under alarm() so a hang fails the test. */
static const char *fx_fifo(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", fx_dir, name);
	unlink(path);
	if (mkfifo(path, 0644) != 0)
		fail_msg("mkfifo %s failed", path);
	return path;
}

static void test_fifo_files_fail_fast(void **state)
{
	static const char *const opts[] = { "key_file", "secret_file", "acl_file" };

	alarm(10);  /* a blocking open() or read() fails the test here */
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char name[32];
		const char *fifo;
		fx_opts o = { 0 };

		snprintf(name, sizeof(name), "%s.fifo", opts[i]);
		fx_write_str(name, "");  /* registered for clean-up */
		fifo = fx_fifo(name);
		if (strcmp(opts[i], "secret_file") != 0)
			fx_add(&o, "secret_file %s", secret_path);
		fx_add(&o, "%s %s", opts[i], fifo);
		fx_parse_fails(&o, MJA_ERR_FILE, fifo, "not a regular file");
	}
	alarm(0);
}

static void test_world_writable_files_refused(void **state)
{
	static const char *const opts[] = { "key_file", "secret_file", "acl_file" };
	const char *key = fx_write_ec_key("ww.pem", NULL);
	const char *sec = fx_write_str("ww.secret", FX_SECRET "\n");
	const char *acl = fx_write_str("ww.acl", "pattern read a/#\n");
	const char *paths[] = { key, sec, acl };

	for (size_t i = 0; i < 3; i++) {
		fx_opts o = { 0 };
		mja_config *c;

		if (i != 1)
			fx_add(&o, "secret_file %s", secret_path);
		fx_add(&o, "%s %s", opts[i], paths[i]);
		assert_int_equal(chmod(paths[i], 0666), 0);
		fx_parse_fails(&o, MJA_ERR_FILE, paths[i], "0666");
		assert_int_equal(chmod(paths[i], 0646), 0);
		fx_parse_fails(&o, MJA_ERR_FILE, paths[i], "writable by every user");
		/* the positive pair: group-writable or private is the owner's call */
		assert_int_equal(chmod(paths[i], 0664), 0);
		c = fx_parse(&o);
		mja_config_free(c);
		assert_int_equal(chmod(paths[i], 0600), 0);
		c = fx_parse(&o);
		mja_config_free(c);
	}
}

/* A secret readable by every user is a warning, not an error. */
static void test_world_readable_secret_warns(void **state)
{
	const char *sec = fx_write_str("wr.secret", FX_SECRET "\n");
	fx_opts o = { 0 };
	mja_config *c = NULL;
	mja_diag d = { 0 };

	fx_add(&o, "secret_file %s", sec);
	assert_int_equal(chmod(sec, 0644), 0);
	assert_int_equal(mja_config_parse(o.o, o.n, &c, &d), MJA_OK);
	assert_non_null(strstr(d.warning, sec));
	assert_non_null(strstr(d.warning, "0644"));
	assert_string_equal(d.text, "");
	mja_config_free(c);

	assert_int_equal(chmod(sec, 0640), 0);
	mja_diag_clear(&d);
	assert_int_equal(mja_config_parse(o.o, o.n, &c, &d), MJA_OK);
	assert_string_equal(d.warning, "");
	/* reload warns the same way */
	assert_int_equal(chmod(sec, 0604), 0);
	assert_int_equal(mja_config_reload(c, &d), MJA_OK);
	assert_non_null(strstr(d.warning, "0604"));
	mja_config_free(c);
}

/* SIGHUP with a file turned into a FIFO or made world-writable: refused
 * at once, the previous set stays in force. */
static void test_reload_keeps_set_on_fifo_or_writable(void **state)
{
	const char *acl = fx_write_str("rl.acl", "pattern read a/#\n");
	fx_opts o = { 0 };
	mja_config *c;
	mja_config_files *before;
	mja_diag d = { 0 };

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_file %s", acl);
	c = fx_parse(&o);
	before = c->files;
	alarm(10);
	fx_fifo("rl.acl");
	assert_int_equal(mja_config_reload(c, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, "rl.acl"));
	assert_ptr_equal(c->files, before);
	alarm(0);
	unlink(acl);  /* the FIFO: writing to it would wait for a reader */
	fx_write_str("rl.acl", "pattern read b/#\n");
	assert_int_equal(chmod(acl, 0666), 0);
	mja_diag_clear(&d);
	assert_int_equal(mja_config_reload(c, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, "0666"));
	assert_ptr_equal(c->files, before);
	assert_int_equal(chmod(acl, 0644), 0);
	assert_int_equal(mja_config_reload(c, &d), MJA_OK);
	assert_ptr_not_equal(c->files, before);
	mja_config_free(c);
}

/* jwks_ca_file is a file the plugin trusts like a key: whoever can write it
 * chooses which server may hand out keys. It was opened with fopen() at
 * start and handed to libcurl as a path at every fetch, so a FIFO there
 * hung the broker at start (and the fetcher thread, then the broker's
 * shutdown, after SIGHUP). It now goes through the one file reader at start
 * and at SIGHUP, like every other file option. Under alarm(): a blocking
 * open() fails the test. */
static void test_jwks_ca_file_trusted(void **state)
{
	const char *ca = fx_write_str("ca.pem", "-----BEGIN CERTIFICATE-----\n"
			"not parsed here\n-----END CERTIFICATE-----\n");
	const char *fifo;
	fx_opts o = { 0 };
	mja_config *c;
	mja_config_files *before;
	mja_diag d = { 0 };

	alarm(10);
	fx_write_str("ca.fifo", "");  /* registered for clean-up */
	fifo = fx_fifo("ca.fifo");
	fx_add(&o, "jwks_url https://idp.example/jwks");
	fx_add(&o, "jwks_ca_file %s", fifo);
	fx_parse_fails(&o, MJA_ERR_FILE, fifo, "not a regular file");
	alarm(0);

	memset(&o, 0, sizeof(o));
	fx_add(&o, "jwks_url https://idp.example/jwks");
	fx_add(&o, "jwks_ca_file %s", ca);
	assert_int_equal(chmod(ca, 0666), 0);
	fx_parse_fails(&o, MJA_ERR_FILE, ca, "0666");
	/* the positive pair: a CA file is public, readable by all is fine */
	assert_int_equal(chmod(ca, 0644), 0);
	c = fx_parse(&o);
	before = c->files;

	/* SIGHUP: refused at once naming the file, the previous set stays */
	alarm(10);
	fx_fifo("ca.pem");
	assert_int_equal(mja_config_reload(c, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, ca));
	assert_non_null(strstr(d.text, "not a regular file"));
	assert_ptr_equal(c->files, before);
	alarm(0);
	unlink(ca);
	fx_write_str("ca.pem", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
	assert_int_equal(chmod(ca, 0646), 0);
	mja_diag_clear(&d);
	assert_int_equal(mja_config_reload(c, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, "0646"));
	assert_ptr_equal(c->files, before);
	assert_int_equal(chmod(ca, 0644), 0);
	mja_diag_clear(&d);
	assert_int_equal(mja_config_reload(c, &d), MJA_OK);
	mja_config_free(c);
}

static void test_combinations(void **state)
{
	fx_opts o = { 0 };

	/* the username cannot be both the token and equal to its sub */
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "token_field username");
	fx_add(&o, "username_match sub");
	fx_parse_fails(&o, MJA_ERR_CONFIG, "username_match", "token_field");

	/* an allow-list no configured key can serve refuses every token */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "algorithms RS256 ES256");
	fx_parse_fails(&o, MJA_ERR_CONFIG, "algorithms", "no configured key");

	/* the allow-list is narrowed to what the keys can do */
	memset(&o, 0, sizeof(o));
	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "algorithms HS256 RS256");
	{
		mja_config *c = fx_parse(&o);

		assert_int_equal(c->files->verify.algorithms, MJA_ALG_BIT(MJA_ALG_HS256));
		mja_config_free(c);
	}
}

static void test_load_files_fresh(void **state)
{
	fx_opts o = { 0 };
	mja_config_files *f = NULL;
	mja_config *c;
	mja_diag d = { 0 };

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "acl_file %s", fx_write_str("acl.conf", "pattern read a/#\n"));
	c = fx_parse(&o);
	assert_int_equal(mja_config_load_files(c, &f, &d), MJA_OK);
	assert_non_null(f);
	assert_ptr_not_equal(f, c->files);
	assert_ptr_not_equal(f->keys, c->files->keys);
	assert_ptr_not_equal(f->acl, c->files->acl);
	assert_int_equal(mja_keyset_count(f->keys), 1);
	assert_int_equal(f->verify.algorithms, c->files->verify.algorithms);
	mja_config_files_free(f);
	mja_config_free(c);
}

static void test_reload(void **state)
{
	const char *acl = fx_write_str("acl.conf", "pattern read a/#\n");
	const char *extra = fx_write_str("extra.secret", FX_SECRET2);
	const mja_config_files *before;
	fx_opts o = { 0 };
	mja_diag d = { 0 };
	mja_config *c;

	fx_add(&o, "secret_file %s", secret_path);
	fx_add(&o, "secret_file %s", extra);
	fx_add(&o, "acl_file %s", acl);
	c = fx_parse(&o);
	assert_int_equal(mja_acl_rule_count(c->files->acl), 1);

	/* a good reload swaps in the new ACL */
	fx_write_str("acl.conf", "pattern read a/#\npattern write b/#\n");
	assert_int_equal(mja_config_reload(c, &d), MJA_OK);
	assert_int_equal(mja_acl_rule_count(c->files->acl), 2);

	/* a broken ACL: the previous keys and ACL stay in full */
	before = c->files;
	fx_write_str("acl.conf", "pattern read a/#\nnonsense\n");
	mja_diag_clear(&d);
	assert_int_equal(mja_config_reload(c, &d), MJA_ERR_ACL_SYNTAX);
	assert_ptr_equal(c->files, before);
	assert_int_equal(mja_acl_rule_count(c->files->acl), 2);
	assert_non_null(strstr(d.text, "acl_file"));

	/* a good ACL but a broken secret: still all or nothing */
	fx_write_str("acl.conf", "pattern read z/#\n");
	fx_write_str("extra.secret", "tiny");
	mja_diag_clear(&d);
	assert_int_not_equal(mja_config_reload(c, &d), MJA_OK);
	assert_ptr_equal(c->files, before);
	assert_int_equal(mja_acl_rule_count(c->files->acl), 2);
	assert_int_equal(mja_keyset_count(c->files->keys), 2);
	assert_non_null(strstr(d.text, "extra.secret"));

	/* a removed secret file: refused, kept */
	unlink(extra);
	mja_diag_clear(&d);
	assert_int_not_equal(mja_config_reload(c, &d), MJA_OK);
	assert_ptr_equal(c->files, before);

	/* fixed again: reload picks up both */
	fx_write_str("extra.secret", FX_SECRET2);
	mja_diag_clear(&d);
	assert_int_equal(mja_config_reload(c, &d), MJA_OK);
	assert_int_equal(mja_acl_rule_count(c->files->acl), 1);
	assert_int_equal(mja_keyset_count(c->files->keys), 2);
	mja_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_option_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_and_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeatable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_options_not_repeatable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_stats_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_files_fail_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_world_writable_files_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_world_readable_secret_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_set_on_fifo_or_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jwks_ca_file_trusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_combinations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_files_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_debug, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
