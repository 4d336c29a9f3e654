/* test_jwks.c - keys from JWKS URLs and OpenID Connect discovery (jwks.h):
 * URL rules, Cache-Control, the JWKS limits, discovery, and the fetcher's
 * bookkeeping (last good set, staleness, unknown-kid refetch, logs) with a
 * fake HTTP client and a fixed clock. No network: the fetches run on the
 * test's thread through mja_jwks_fetch_now.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>

#include "mja/session/auth.h"
#include "mja/session/config.h"
#include "mja/token/jwks.h"
#include "mja/token/key.h"
#include "mja/session/session.h"
#include "mja/token/token.h"

#define T0 ((int64_t)1700000000)

/* ---- helpers ---- */

static mja_key *gen_ec(const char *kid)
{
	mja_key *k = NULL;
	mja_diag d = { 0 };

	assert_int_equal(mja_key_generate(MJA_KTY_EC, 256, kid, &k, &d), MJA_OK);
	return k;
}

/* {"keys":[jwk of each key]} */
static char *jwks_of(mja_key **keys, size_t n)
{
	json_t *arr = json_array(), *root;
	char *s;

	for (size_t i = 0; i < n; i++) {
		char *one = NULL;

		assert_int_equal(mja_key_public_jwk(keys[i], "ES256", &one), MJA_OK);
		json_array_append_new(arr, json_loads(one, 0, NULL));
		free(one);
	}
	root = json_pack("{s:o}", "keys", arr);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

static char *token(mja_key *k, const char *iss, int64_t exp)
{
	json_t *p = json_pack("{s:s,s:I}", "sub", "dev-1", "exp", (json_int_t)exp);
	char *tok = NULL;

	if (iss)
		json_object_set_new(p, "iss", json_string(iss));
	assert_int_equal(mja_token_sign(k, MJA_ALG_ES256, NULL, p, &tok), MJA_OK);
	json_decref(p);
	return tok;
}

/* A fake HTTP client: one answer per URL suffix. */
struct fake {
	struct {
		const char *url;      /* exact URL */
		const char *body;     /* NULL: fail with `err` */
		const char *err;
		int64_t max_age;
	} ans[4];
	size_t n;
	unsigned calls;
	char ca[64];          /* the CA bytes of the last call ("" for none) */
	int system_ca;        /* the last call trusted the system's store */
};

static mja_err fake_get(void *ctx, const char *url, const char *ca_pem, size_t ca_len,
		const _Atomic int *abort_flag, mja_http_response *out, mja_diag *d)
{
	struct fake *f = ctx;

	f->calls++;
	f->system_ca = ca_pem == NULL;
	snprintf(f->ca, sizeof(f->ca), "%.*s", (int)ca_len, ca_pem ? ca_pem : "");
	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->ans[i].url, url) != 0)
			continue;
		if (!f->ans[i].body) {
			mja_diag_set(d, "%s", f->ans[i].err);
			return MJA_ERR_FILE;
		}
		out->body = strdup(f->ans[i].body);
		out->len = strlen(f->ans[i].body);
		out->max_age = f->ans[i].max_age;
		return MJA_OK;
	}
	mja_diag_set(d, "HTTP status 404");
	return MJA_ERR_FILE;
}

static void fake_set(struct fake *f, const char *url, const char *body, const char *err)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->ans[i].url, url) == 0) {
			f->ans[i].body = body;
			f->ans[i].err = err;
			return;
		}
	f->ans[f->n].url = url;
	f->ans[f->n].body = body;
	f->ans[f->n].err = err;
	f->ans[f->n].max_age = -1;
	f->n++;
}

/* Log lines collected for assertions. */
struct logs {
	char line[16][1600];
	int level[16];
	size_t n;
};

static void collect(void *ctx, int level, const char *msg)
{
	struct logs *l = ctx;

	if (l->n < 16) {
		snprintf(l->line[l->n], sizeof(l->line[0]), "%s", msg);
		l->level[l->n] = level;
		l->n++;
	}
}

#define URL "https://idp.example/jwks"

static mja_jwks *fetcher(struct fake *f, int64_t max_stale)
{
	const char *urls[] = { URL };
	mja_jwks_opts o = { .urls = urls, .n_urls = 1, .refresh = 300,
		.max_stale = max_stale, .get = fake_get, .get_ctx = f };
	mja_jwks *j = NULL;
	mja_diag d = { 0 };

	assert_int_equal(mja_jwks_new(&o, &j, &d), MJA_OK);
	return j;
}

static size_t usable_keys(const mja_jwks *j)
{
	mja_keyset *ks = mja_keyset_new();
	size_t n;

	assert_int_equal(mja_jwks_add_keys(j, ks), MJA_OK);
	n = mja_keyset_count(ks);
	mja_keyset_free(ks);
	return n;
}

/* ---- URLs ---- */

static void urls(void **state)
{
	mja_diag d = { 0 };

	assert_true(mja_jwks_url_ok("https://idp.example/certs", NULL));
	assert_true(mja_jwks_url_ok("HTTPS://idp.example:8443/x", NULL));
	assert_true(mja_jwks_url_ok("http://127.0.0.1:8080/jwks", NULL));
	assert_true(mja_jwks_url_ok("http://127.9.9.9/jwks", NULL));
	assert_true(mja_jwks_url_ok("http://localhost/jwks", NULL));
	assert_true(mja_jwks_url_ok("http://[::1]:80/jwks", NULL));
	/* the attacker's cases: plain http across a network, other schemes,
	 * a host hidden behind userinfo */
	assert_false(mja_jwks_url_ok("http://idp.example/jwks", &d));
	assert_non_null(strstr(d.text, "loopback"));
	assert_false(mja_jwks_url_ok("http://127.0.0.1.evil.example/jwks", NULL));
	assert_false(mja_jwks_url_ok("http://localhost.evil.example/jwks", NULL));
	assert_false(mja_jwks_url_ok("http://127.0.0.1@evil.example/jwks", NULL));
	assert_false(mja_jwks_url_ok("https://user@idp.example/jwks", NULL));
	assert_false(mja_jwks_url_ok("ftp://idp.example/jwks", NULL));
	assert_false(mja_jwks_url_ok("file:///etc/passwd", NULL));
	assert_false(mja_jwks_url_ok("https://", NULL));
	assert_false(mja_jwks_url_ok("https://idp.example/a b", NULL));
	assert_false(mja_jwks_url_ok("", NULL));
}

/* ---- Cache-Control and the schedule ---- */

static void cache_control(void **state)
{
#define MA(s) mja_jwks_cache_max_age(s, strlen(s))
	assert_int_equal(MA("max-age=60"), 60);
	assert_int_equal(MA(" public, max-age=120, must-revalidate"), 120);
	assert_int_equal(MA("Max-Age=45"), 45);
	assert_int_equal(MA("max-age=\"90\""), 90);
	assert_int_equal(MA("no-store"), 0);
	assert_int_equal(MA("no-cache, max-age=600"), 0);
	assert_int_equal(MA("s-maxage=10"), -1);
	assert_int_equal(MA("private=\"max-age=5\", max-age=70"), 70);
	assert_int_equal(MA("max-age=abc"), -1);
	assert_int_equal(MA(""), -1);
	assert_int_equal(MA("max-age=99999999999999999999999"), MA("max-age=99999999999999999999999"));
	assert_true(MA("max-age=99999999999999999999999") > 0);
#undef MA
	/* refresh is the longest wait; a shorter max-age wins down to 30 s */
	assert_int_equal(mja_jwks_next_interval(300, -1), 300);
	assert_int_equal(mja_jwks_next_interval(300, 60), 60);
	assert_int_equal(mja_jwks_next_interval(300, 5), 30);
	assert_int_equal(mja_jwks_next_interval(300, 0), 30);
	assert_int_equal(mja_jwks_next_interval(300, 900), 300);
	assert_int_equal(mja_jwks_next_interval(5, 60), 5);
	assert_int_equal(mja_jwks_next_interval(5, 0), 5);
}

/* ---- JWKS bodies ---- */

static void parse_refuses(const char *body, size_t len, const char *why)
{
	mja_keyset *ks = (mja_keyset *)1;
	mja_diag d = { 0 };

	assert_int_not_equal(mja_jwks_parse(body, len, "U", &ks, &d), MJA_OK);
	assert_null(ks);
	if (!strstr(d.text, why))
		fail_msg("diag \"%s\" lacks \"%s\"", d.text, why);
}

static void parse_bodies(void **state)
{
	mja_key *k[2] = { gen_ec("a"), gen_ec("b") };
	char *good = jwks_of(k, 2), *one = NULL, *priv = NULL, *big;
	mja_keyset *ks = NULL;
	mja_diag d = { 0 };
	size_t n;

	assert_int_equal(mja_jwks_parse(good, strlen(good), "U", &ks, &d), MJA_OK);
	assert_int_equal(mja_keyset_count(ks), 2);
	mja_keyset_free(ks);

	parse_refuses("{\"keys\":[", 9, "invalid JSON");
	parse_refuses("[]", 2, "not a JWKS");
	/* a single JWK is a key file format, not a JWKS endpoint's */
	assert_int_equal(mja_key_public_jwk(k[0], "ES256", &one), MJA_OK);
	parse_refuses(one, strlen(one), "not a JWKS");
	parse_refuses("{\"keys\":[]}", 11, "no keys");
	/* a private key: refused whole */
	{
		json_t *o = json_loads(one, 0, NULL);
		json_t *root;

		json_object_set_new(o, "d", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
		root = json_pack("{s:[o]}", "keys", o);
		priv = json_dumps(root, JSON_COMPACT);
		json_decref(root);
	}
	parse_refuses(priv, strlen(priv), "private key");
	/* a secret at a URL is no secret */
	parse_refuses("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\","
			"\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA\"}]}", 87, "oct");
	/* only an encryption key: nothing can verify */
	{
		json_t *o = json_loads(one, 0, NULL), *root;
		char *enc;

		json_object_set_new(o, "use", json_string("enc"));
		json_object_del(o, "alg");
		root = json_pack("{s:[o]}", "keys", o);
		enc = json_dumps(root, JSON_COMPACT);
		json_decref(root);
		parse_refuses(enc, strlen(enc), "can verify");
		free(enc);
	}
	/* 101 keys */
	{
		json_t *arr = json_array(), *root;
		char *many;

		for (int i = 0; i < MJA_JWKS_MAX_KEYS + 1; i++)
			json_array_append_new(arr, json_loads(one, 0, NULL));
		root = json_pack("{s:o}", "keys", arr);
		many = json_dumps(root, JSON_COMPACT);
		json_decref(root);
		parse_refuses(many, strlen(many), "more than 100");
		free(many);
	}
	/* more than 1 MiB (padding inside the JSON) */
	n = MJA_JWKS_MAX_BYTES + 10;
	big = malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, good, strlen(good));
	big[n] = '\0';
	parse_refuses(big, n, "larger than");
	free(big);

	free(good);
	free(one);
	free(priv);
	mja_key_free(k[0]);
	mja_key_free(k[1]);
}

/* ---- discovery ---- */

static void discovery(void **state)
{
	const char *iss = "https://idp.example/realms/r1";
	char *uri = NULL, *u;
	mja_diag d = { 0 };

	u = mja_jwks_discovery_url(iss);
	assert_string_equal(u, "https://idp.example/realms/r1/.well-known/openid-configuration");
	free(u);
	u = mja_jwks_discovery_url("https://idp.example/");
	assert_string_equal(u, "https://idp.example/.well-known/openid-configuration");
	free(u);

#define DOC(i, j) "{\"issuer\":\"" i "\",\"jwks_uri\":\"" j "\"}"
	assert_int_equal(mja_jwks_parse_discovery(DOC("https://idp.example/realms/r1",
			"https://idp.example/certs"), strlen(DOC("https://idp.example/realms/r1",
			"https://idp.example/certs")), iss, &uri, &d), MJA_OK);
	assert_string_equal(uri, "https://idp.example/certs");
	free(uri);
	/* the issuer must be exactly the one configured: not with a slash,
	 * not another realm */
	assert_int_not_equal(mja_jwks_parse_discovery(DOC("https://idp.example/realms/r1/",
			"https://idp.example/certs"), strlen(DOC("https://idp.example/realms/r1/",
			"https://idp.example/certs")), iss, &uri, &d), MJA_OK);
	assert_null(uri);
	assert_non_null(strstr(d.text, "issuer"));
	assert_int_not_equal(mja_jwks_parse_discovery(DOC("https://idp.example/realms/r2",
			"https://idp.example/certs"), strlen(DOC("https://idp.example/realms/r2",
			"https://idp.example/certs")), iss, &uri, NULL), MJA_OK);
	/* a jwks_uri over plain http across the network */
	mja_diag_clear(&d);
	assert_int_not_equal(mja_jwks_parse_discovery(DOC("https://idp.example/realms/r1",
			"http://idp.example/certs"), strlen(DOC("https://idp.example/realms/r1",
			"http://idp.example/certs")), iss, &uri, &d), MJA_OK);
	assert_non_null(strstr(d.text, "jwks_uri"));
	assert_int_not_equal(mja_jwks_parse_discovery("{}", 2, iss, &uri, NULL), MJA_OK);
	assert_int_not_equal(mja_jwks_parse_discovery("nope", 4, iss, &uri, NULL), MJA_OK);
#undef DOC
}

/* ---- the fetcher's bookkeeping ---- */

static void first_success_change_failure_stale(void **state)
{
	struct fake f = { 0 };
	struct logs l = { 0 };
	mja_key *a = gen_ec("kid-a"), *b = gen_ec("kid-b");
	char *ja = jwks_of(&a, 1), *jb = jwks_of(&b, 1);
	mja_jwks *j = fetcher(&f, 1000);
	struct mja_source_stats st;

	/* nothing fetched yet: unavailable */
	assert_true(mja_jwks_unavailable(j));
	assert_int_equal(mja_jwks_poll(j, T0, collect, &l), 0);

	fake_set(&f, URL, ja, NULL);
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0, collect, &l), 1);
	assert_false(mja_jwks_unavailable(j));
	assert_int_equal(usable_keys(j), 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.level[0], MJA_LOG_NOTICE);
	assert_non_null(strstr(l.line[0], URL));
	assert_non_null(strstr(l.line[0], "kid-a"));
	assert_int_equal(mja_jwks_stats(j, &st, 1), 1);
	assert_int_equal(st.last_success, T0);
	assert_int_equal(st.keys, 1);
	assert_int_equal(st.failures, 0);

	/* failures keep the last good set; logged at most once a minute */
	fake_set(&f, URL, NULL, "HTTP status 500");
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0 + 10, collect, &l), 0);
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0 + 40, collect, &l), 0);
	assert_int_equal(usable_keys(j), 1);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.level[1], MJA_LOG_WARNING);
	assert_non_null(strstr(l.line[1], URL));
	assert_non_null(strstr(l.line[1], "HTTP status 500"));
	assert_non_null(strstr(l.line[1], "keeping the 1 key(s)"));
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0 + 71, collect, &l), 0);
	assert_int_equal(l.n, 3);
	mja_jwks_stats(j, &st, 1);
	assert_int_equal(st.failures, 3);
	assert_int_equal(st.last_success, T0);

	/* a rotation: one line with the kids added and removed */
	fake_set(&f, URL, jb, NULL);
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0 + 100, collect, &l), 1);
	assert_int_equal(l.n, 4);
	assert_non_null(strstr(l.line[3], "added kid(s): kid-b"));
	assert_non_null(strstr(l.line[3], "removed kid(s): kid-a"));

	/* bounded staleness: failing on, after max_stale the set is retired */
	fake_set(&f, URL, NULL, "timed out");
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0 + 100 + 1000, collect, &l), 0);
	assert_int_equal(usable_keys(j), 1);
	assert_int_equal(mja_jwks_poll(j, T0 + 100 + 1001, collect, &l), 1);
	assert_int_equal(usable_keys(j), 0);
	assert_true(mja_jwks_unavailable(j));
	assert_int_equal(l.level[l.n - 1], MJA_LOG_ERR);
	assert_non_null(strstr(l.line[l.n - 1], "keys unavailable"));
	mja_jwks_stats(j, &st, 1);
	assert_int_equal(st.keys, 0);
	/* and back when a fetch succeeds */
	fake_set(&f, URL, jb, NULL);
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0 + 2000, collect, &l), 1);
	assert_int_equal(usable_keys(j), 1);
	assert_non_null(strstr(l.line[l.n - 1], "available again"));

	for (size_t i = 0; i < l.n; i++)   /* never a key's material */
		assert_null(strstr(l.line[i], "\"x\""));
	mja_jwks_free(j);
	free(ja);
	free(jb);
	mja_key_free(a);
	mja_key_free(b);
}

static void unknown_kid_rate_limit(void **state)
{
	struct fake f = { 0 };
	mja_key *a = gen_ec("kid-a");
	char *ja = jwks_of(&a, 1);
	mja_jwks *j = fetcher(&f, 86400);

	fake_set(&f, URL, ja, NULL);
	mja_jwks_fetch_now(j, 0);   /* the start-up fetch */
	mja_jwks_poll(j, T0, NULL, NULL);
	assert_int_equal(f.calls, 1);

	/* a storm of unknown kids: one refetch asked, single flight */
	assert_false(mja_jwks_refetch_pending(j));
	assert_int_equal(mja_jwks_unknown_kid(j, T0 + 1), 1);
	assert_true(mja_jwks_refetch_pending(j));   /* a held CONNECT may wait */
	for (int i = 0; i < 500; i++)
		assert_int_equal(mja_jwks_unknown_kid(j, T0 + 1 + i / 50), 0);
	mja_jwks_fetch_now(j, 1);
	assert_int_equal(f.calls, 2);
	mja_jwks_fetch_now(j, 1);   /* nothing wanted any more */
	assert_int_equal(f.calls, 2);
	assert_true(mja_jwks_refetch_pending(j));   /* fetched, not taken in yet */
	mja_jwks_poll(j, T0 + 12, NULL, NULL);
	assert_false(mja_jwks_refetch_pending(j));  /* decide the held CONNECT now */
	/* at most one per 30 s */
	assert_int_equal(mja_jwks_unknown_kid(j, T0 + 30), 0);
	assert_int_equal(mja_jwks_unknown_kid(j, T0 + 31), 1);
	mja_jwks_fetch_now(j, 1);
	assert_int_equal(f.calls, 3);
	assert_int_equal(mja_jwks_fetch_count(j), 3);

	mja_jwks_free(j);
	free(ja);
	mja_key_free(a);
}

static void oidc_source(void **state)
{
	struct fake f = { 0 };
	struct logs l = { 0 };
	mja_key *a = gen_ec("kid-a");
	char *ja = jwks_of(&a, 1);
	mja_jwks_opts o = { .oidc_issuer = "https://idp.example/r", .refresh = 300,
		.max_stale = 100, .get = fake_get, .get_ctx = &f };
	mja_jwks *j = NULL;

	assert_int_equal(mja_jwks_new(&o, &j, NULL), MJA_OK);
	fake_set(&f, "https://idp.example/r/.well-known/openid-configuration",
			"{\"issuer\":\"https://idp.example/other\",\"jwks_uri\":\"https://idp.example/k\"}",
			NULL);
	fake_set(&f, "https://idp.example/k", ja, NULL);
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0, collect, &l), 0);
	assert_true(mja_jwks_unavailable(j));
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.line[0], "issuer"));

	fake_set(&f, "https://idp.example/r/.well-known/openid-configuration",
			"{\"issuer\":\"https://idp.example/r\",\"jwks_uri\":\"https://idp.example/k\"}",
			NULL);
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(mja_jwks_poll(j, T0 + 1, collect, &l), 1);
	assert_int_equal(usable_keys(j), 1);
	assert_non_null(strstr(l.line[1], "https://idp.example/k"));
	mja_jwks_free(j);
	free(ja);
	mja_key_free(a);
}

/* ---- through the configuration and the CONNECT decision ---- */

static mja_config *cfg_with(const mja_config_opt *o, size_t n)
{
	mja_config *c = NULL;
	mja_diag d = { 0 };

	if (mja_config_parse(o, n, &c, &d) != MJA_OK)
		fail_msg("parse: %s", d.text);
	return c;
}

static void config_options(void **state)
{
	mja_config *c = NULL;
	mja_diag d = { 0 };
	const mja_config_opt plain_http[] = { { "jwks_url", "http://idp.example/jwks" } };
	const mja_config_opt ok[] = { { "jwks_url", " https://idp.example/jwks " },
		{ "jwks_url", "http://127.0.0.1:9/jwks" }, { "jwks_refresh", "60" },
		{ "jwks_max_stale", "600" } };
	const mja_config_opt oidc[] = { { "oidc_issuer", "https://idp.example/r" } };
	const mja_config_opt oidc_iss[] = { { "oidc_issuer", "https://idp.example/r" },
		{ "issuer", "https://other.example" } };
	const mja_config_opt ca_alone[] = { { "jwks_ca_file", "/dev/null" },
		{ "secret_file", "/nonexistent" } };
	const mja_config_opt ca_missing[] = { { "jwks_url", "https://idp.example/jwks" },
		{ "jwks_ca_file", "/nonexistent/ca.pem" } };
	const mja_config_opt refresh0[] = { { "jwks_url", "https://idp.example/jwks" },
		{ "jwks_refresh", "0" } };
	const mja_config_opt twice[] = { { "oidc_issuer", "https://a.example" },
		{ "oidc_issuer", "https://b.example" } };

	assert_int_equal(mja_config_parse(plain_http, 1, &c, &d), MJA_ERR_CONFIG);
	assert_non_null(strstr(d.text, "option jwks_url"));
	assert_non_null(strstr(d.text, "loopback"));

	/* a JWKS URL alone is a complete configuration; nothing is fetched */
	c = cfg_with(ok, 4);
	assert_int_equal(c->n_jwks_urls, 2);
	assert_string_equal(c->jwks_urls[0], "https://idp.example/jwks");
	assert_int_equal(c->jwks_refresh, 60);
	assert_int_equal(c->jwks_max_stale, 600);
	assert_non_null(c->jwks);
	assert_int_equal(mja_keyset_count(c->files->keys), 0);
	assert_int_equal(mja_jwks_fetch_count(c->jwks), 0);
	mja_config_free(c);

	/* oidc_issuer becomes the required issuer unless one is given */
	c = cfg_with(oidc, 1);
	assert_int_equal(c->n_issuers, 1);
	assert_string_equal(c->issuers[0], "https://idp.example/r");
	assert_int_equal(c->jwks_refresh, MJA_JWKS_DEFAULT_REFRESH);
	assert_int_equal(c->jwks_max_stale, MJA_JWKS_DEFAULT_MAX_STALE);
	mja_config_free(c);
	c = cfg_with(oidc_iss, 2);
	assert_int_equal(c->n_issuers, 1);
	assert_string_equal(c->issuers[0], "https://other.example");
	mja_config_free(c);

	mja_diag_clear(&d);
	assert_int_equal(mja_config_parse(ca_alone, 2, &c, &d), MJA_ERR_CONFIG);
	assert_non_null(strstr(d.text, "jwks_ca_file"));
	mja_diag_clear(&d);
	assert_int_equal(mja_config_parse(ca_missing, 2, &c, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, "/nonexistent/ca.pem"));
	mja_diag_clear(&d);
	assert_int_equal(mja_config_parse(refresh0, 2, &c, &d), MJA_ERR_CONFIG);
	assert_non_null(strstr(d.text, "jwks_refresh"));
	mja_diag_clear(&d);
	assert_int_equal(mja_config_parse(twice, 2, &c, &d), MJA_ERR_CONFIG);
	assert_null(c);
}

/* jwks_ca_file's bytes, not its path, reach every fetch (the file is read
 * only at start and SIGHUP, through the one file reader); a SIGHUP's new
 * bytes serve the next fetch; without the option the system's store. */
static void ca_bytes_reach_fetch(void **state)
{
	struct fake f = { 0 };
	const char *urls[] = { URL };
	mja_jwks_opts o = { .urls = urls, .n_urls = 1, .refresh = 300, .max_stale = 1000,
		.get = fake_get, .get_ctx = &f, .ca_pem = "PEM-1\n", .ca_len = 6 };
	mja_jwks *j = NULL;

	fake_set(&f, URL, NULL, "HTTP status 500");
	assert_int_equal(mja_jwks_new(&o, &j, NULL), MJA_OK);
	mja_jwks_fetch_now(j, 0);
	assert_int_equal(f.calls, 1);
	assert_false(f.system_ca);
	assert_string_equal(f.ca, "PEM-1\n");
	assert_int_equal(mja_jwks_set_ca(j, "PEM-two", 7), MJA_OK);
	mja_jwks_fetch_now(j, 0);
	assert_string_equal(f.ca, "PEM-two");
	assert_int_equal(mja_jwks_set_ca(j, NULL, 0), MJA_OK);
	mja_jwks_fetch_now(j, 0);
	assert_true(f.system_ca);
	mja_jwks_free(j);

	o.ca_pem = NULL;
	o.ca_len = 0;
	assert_int_equal(mja_jwks_new(&o, &j, NULL), MJA_OK);
	mja_jwks_fetch_now(j, 0);
	assert_true(f.system_ca);
	mja_jwks_free(j);
}

/* The key set in use follows the fetched set: a new key verifies once it
 * is swapped in, a removed key's token (even one cached) stops verifying,
 * an unknown kid asks for a refetch, and stale keys give "keys
 * unavailable". */
static void swap_in_config(void **state)
{
	const mja_config_opt o[] = { { "jwks_url", URL }, { "jwks_max_stale", "1000" } };
	mja_config *c = cfg_with(o, 2);
	struct fake f = { 0 };
	mja_key *a = gen_ec("kid-a"), *b = gen_ec("kid-b");
	char *ja = jwks_of(&a, 1), *jb = jwks_of(&b, 1);
	char *ta = token(a, NULL, T0 + 100000), *tb = token(b, NULL, T0 + 100000);
	const char *urls[] = { URL };
	mja_jwks_opts jo = { .urls = urls, .n_urls = 1, .refresh = 300, .max_stale = 1000,
		.get = fake_get, .get_ctx = &f };
	mja_principal *p = NULL;
	mja_err why;

	/* the same configuration with the fake HTTP client */
	mja_jwks_free(c->jwks);
	c->jwks = NULL;
	assert_int_equal(mja_jwks_new(&jo, &c->jwks, NULL), MJA_OK);

	/* before any fetch: refused, keys unavailable */
	assert_int_equal(mja_auth_connect(c, NULL, ta, "dev-1", T0, &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_KEYS_UNAVAILABLE);
	/* an HMAC token keeps its own reason: no JWKS key could serve it */
	{
		mja_key *h = NULL;
		json_t *pl = json_pack("{s:s}", "sub", "dev-1");
		char *th = NULL;

		assert_int_equal(mja_key_from_secret((const unsigned char *)
				"0123456789abcdef0123456789abcdef", 32, "kid-a", &h, NULL), MJA_OK);
		assert_int_equal(mja_token_sign(h, MJA_ALG_HS256, NULL, pl, &th), MJA_OK);
		assert_int_equal(mja_auth_connect(c, NULL, th, "dev-1", T0, &p, &why), MJA_DENY);
		assert_int_equal(why, MJA_ERR_ALG_NOT_ALLOWED);
		free(th);
		json_decref(pl);
		mja_key_free(h);
	}

	fake_set(&f, URL, ja, NULL);
	mja_config_jwks_fetch_once(c, T0, NULL, NULL);
	assert_int_equal(mja_keyset_count(c->files->keys), 1);
	assert_int_equal(mja_auth_connect(c, NULL, ta, "dev-1", T0, &p, &why), MJA_ALLOW);
	mja_principal_free(p);
	/* kid-b is unknown: refused with that reason, a refetch is asked */
	assert_int_equal(mja_auth_connect(c, NULL, tb, "dev-1", T0, &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_UNKNOWN_KID);
	assert_int_equal(mja_jwks_unknown_kid(c->jwks, T0), 0);   /* already asked */

	/* the provider rotated: kid-b in, kid-a out */
	fake_set(&f, URL, jb, NULL);
	mja_jwks_fetch_now(c->jwks, 1);
	assert_int_equal(mja_config_jwks_update(c, T0 + 1, NULL, NULL), 1);
	assert_int_equal(mja_auth_connect(c, NULL, tb, "dev-1", T0 + 1, &p, &why), MJA_ALLOW);
	mja_principal_free(p);
	assert_int_equal(mja_auth_connect(c, NULL, ta, "dev-1", T0 + 1, &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_UNKNOWN_KID);

	/* stale: kid-b's token refused as keys unavailable */
	assert_int_equal(mja_config_jwks_update(c, T0 + 1 + 1001, NULL, NULL), 1);
	assert_int_equal(mja_keyset_count(c->files->keys), 0);
	assert_int_equal(mja_auth_connect(c, NULL, tb, "dev-1", T0 + 1002, &p, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_KEYS_UNAVAILABLE);

	mja_config_free(c);
	free(ja);
	free(jb);
	free(ta);
	free(tb);
	mja_key_free(a);
	mja_key_free(b);
}

/* A real fetch to a closed loopback port fails fast, and the broker-side
 * update keeps the key files' keys working. */
static void real_fetch_refused(void **state)
{
	const mja_config_opt o[] = { { "jwks_url", "http://127.0.0.1:9/jwks" } };
	mja_config *c = cfg_with(o, 1);
	struct logs l = { 0 };

	mja_config_jwks_fetch_once(c, T0, collect, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.level[0], MJA_LOG_WARNING);
	assert_non_null(strstr(l.line[0], "http://127.0.0.1:9/jwks"));
	assert_non_null(strstr(l.line[0], "fetch failed"));
	assert_true(mja_jwks_unavailable(c->jwks));
	mja_config_free(c);
}

/* The thread starts, fetches, and stops promptly when the config is freed. */
static void thread_start_stop(void **state)
{
	const mja_config_opt o[] = { { "jwks_url", "http://127.0.0.1:9/jwks" } };
	mja_config *c = cfg_with(o, 1);
	struct logs l = { 0 };

	assert_int_equal(mja_config_jwks_start(c, NULL), MJA_OK);
	for (int i = 0; i < 200 && l.n == 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		mja_config_jwks_update(c, T0, collect, &l);
	}
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.line[0], "fetch failed"));
	mja_config_free(c);
}

/* ---- held CONNECTs (session.h "Held CONNECTs") ---- */

/* The actions of one session call: counts and the last COMPLETE_AUTH. */
struct seen {
	size_t completes, holding_logs, refused_logs;
	int allow;
	char id[64];
};

static void take(mja_actions *a, struct seen *v)
{
	memset(v, 0, sizeof(*v));
	assert_false(a->lost);
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].kind == MJA_ACTION_COMPLETE_AUTH) {
			v->completes++;
			v->allow = a->v[i].allow;
			snprintf(v->id, sizeof(v->id), "%s", a->v[i].text);
		}
		if (a->v[i].kind == MJA_ACTION_LOG && strstr(a->v[i].text, "holding the CONNECT"))
			v->holding_logs++;
		if (a->v[i].kind == MJA_ACTION_LOG && strstr(a->v[i].text, "refused client"))
			v->refused_logs++;
	}
	mja_actions_clear(a);
}

/* A session over a JWKS configuration with the fake HTTP client, kid-a
 * fetched. */
static mja_session *held_session(struct fake *f, const char *ja, mja_broker_line line)
{
	const mja_config_opt o[] = { { "jwks_url", URL } };
	mja_config *c = cfg_with(o, 1);
	const char *urls[] = { URL };
	mja_jwks_opts jo = { .urls = urls, .n_urls = 1, .refresh = 300,
		.max_stale = 86400, .get = fake_get, .get_ctx = f };
	mja_session *s = NULL;

	mja_jwks_free(c->jwks);
	c->jwks = NULL;
	assert_int_equal(mja_jwks_new(&jo, &c->jwks, NULL), MJA_OK);
	fake_set(f, URL, ja, NULL);
	mja_config_jwks_fetch_once(c, T0, NULL, NULL);
	/* signature checks on the broker's thread: these cases are about the
	 * JWKS holds (test_session_workers.c has the workers' ones) */
	c->verify_threads = 0;
	assert_int_equal(mja_session_new(c, 0, &s), MJA_OK);
	mja_session_set_broker(s, line);
	return s;
}

/* 2.1: an unknown kid is held while its refetch runs; a rotation in that
 * time accepts it, a kid that never comes is refused when the refetch is
 * over or MJA_JWKS_HOLD_MS has passed; TICK asks to come back soon. */
static void held_connect_2_1(void **state)
{
	struct fake f = { 0 };
	mja_key *a = gen_ec("kid-a"), *b = gen_ec("kid-b"), *k = gen_ec("kid-never");
	mja_key *ab[2];
	char *ja = jwks_of(&a, 1), *jab;
	char *tb = token(b, NULL, T0 + 100000), *tn = token(k, NULL, T0 + 100000);
	mja_session *s = held_session(&f, ja, MJA_BROKER_2_1);
	int h1, h2;
	mja_session_client c1 = { .client = &h1, .clientid = "dev-1", .address = "127.0.0.1" };
	mja_session_client c2 = { .client = &h2, .clientid = "dev-2", .address = "127.0.0.1" };
	mja_actions acts;
	struct seen v;
	mja_err why;

	ab[0] = a;
	ab[1] = b;
	jab = jwks_of(ab, 2);
	mja_actions_init(&acts);

	/* kid-b unknown: held, not refused; a refetch is pending */
	assert_int_equal(mja_session_basic_auth(s, &c1, NULL, tb, T0, 1000, &acts, &why),
			MJA_HOLD);
	take(&acts, &v);
	assert_int_equal(v.holding_logs, 1);
	assert_int_equal(v.completes, 0);
	assert_int_equal(mja_session_held(s), 1);
	assert_null(mja_session_get(s, &h1));
	/* TICK before the refetch: still held, and TICK should come back soon */
	assert_true(mja_session_tick(s, T0, 1010, &acts) <= MJA_SESSION_HOLD_POLL_MS);
	take(&acts, &v);
	assert_int_equal(v.completes, 0);
	/* the provider rotated: the refetch brings kid-b, the next TICK accepts */
	fake_set(&f, URL, jab, NULL);
	mja_jwks_fetch_now(mja_session_config(s)->jwks, 1);
	mja_session_tick(s, T0 + 1, 1200, &acts);
	take(&acts, &v);
	assert_int_equal(v.completes, 1);
	assert_true(v.allow);
	assert_string_equal(v.id, "dev-1");
	assert_int_equal(mja_session_held(s), 0);
	assert_non_null(mja_session_get(s, &h1));
	assert_int_equal(mja_session_tick(s, T0 + 1, 3000, &acts), MJA_SESSION_TICK_MS);
	take(&acts, &v);

	/* a kid that never comes, its refetch not over: refused after the
	 * hold's time (31 s later: the unknown-kid refetch limit has passed) */
	assert_int_equal(mja_session_basic_auth(s, &c2, NULL, tn, T0 + 40, 50000, &acts, &why),
			MJA_HOLD);
	take(&acts, &v);
	mja_session_tick(s, T0 + 44, 50000 + MJA_JWKS_HOLD_MS - 1, &acts);
	take(&acts, &v);
	assert_int_equal(v.completes, 0);
	mja_session_tick(s, T0 + 45, 50000 + MJA_JWKS_HOLD_MS, &acts);
	take(&acts, &v);
	assert_int_equal(v.completes, 1);
	assert_false(v.allow);
	assert_int_equal(v.refused_logs, 1);
	assert_null(mja_session_get(s, &h2));

	/* the refetch is over (nothing new): no new refetch within 30 s, so the
	 * same kid is refused at once, not held */
	mja_jwks_fetch_now(mja_session_config(s)->jwks, 1);
	mja_session_tick(s, T0 + 46, 60000, &acts);
	take(&acts, &v);
	assert_int_equal(mja_session_basic_auth(s, &c2, NULL, tn, T0 + 47, 61000, &acts, &why),
			MJA_DENY);
	assert_int_equal(why, MJA_ERR_UNKNOWN_KID);
	take(&acts, &v);
	assert_int_equal(mja_session_held(s), 0);

	mja_actions_free(&acts);
	mja_session_free(s);
	free(ja);
	free(jab);
	free(tb);
	free(tn);
	mja_key_free(a);
	mja_key_free(b);
	mja_key_free(k);
}

/* A held connection the broker dropped (it sends no event): a CONNECT
 * with the same client id, or at the same handle, forgets the hold without
 * an answer (the answer would go to the new connection); DISCONNECT at its
 * handle too; enhanced authentication and 2.0 answer at once; freeing the
 * session with holds (shutdown) leaks nothing. */
static void held_connect_dropped(void **state)
{
	struct fake f = { 0 };
	mja_key *a = gen_ec("kid-a"), *b = gen_ec("kid-b");
	char *ja = jwks_of(&a, 1);
	char *tb = token(b, NULL, T0 + 100000);
	mja_session *s = held_session(&f, ja, MJA_BROKER_2_1);
	mja_session *s20 = held_session(&f, ja, MJA_BROKER_2_0);
	int h1, h2, h3;
	mja_session_client c1 = { .client = &h1, .clientid = "dev-1" };
	mja_session_client c1b = { .client = &h2, .clientid = "dev-1" };
	mja_session_client c3 = { .client = &h3, .clientid = "dev-3" };
	mja_actions acts;
	struct seen v;
	mja_err why;

	mja_actions_init(&acts);
	assert_int_equal(mja_session_basic_auth(s, &c1, NULL, tb, T0, 0, &acts, &why), MJA_HOLD);
	take(&acts, &v);
	/* dev-1 again, elsewhere: the first hold is gone, the new one held */
	assert_int_equal(mja_session_basic_auth(s, &c1b, NULL, tb, T0, 10, &acts, &why),
			MJA_HOLD);
	take(&acts, &v);
	assert_int_equal(mja_session_held(s), 1);
	/* another client at the held handle: the hold is gone */
	c3.client = &h2;
	assert_int_equal(mja_session_basic_auth(s, &c3, NULL, tb, T0, 20, &acts, &why),
			MJA_HOLD);
	take(&acts, &v);
	assert_int_equal(mja_session_held(s), 1);
	/* DISCONNECT at the held handle */
	mja_session_disconnect(s, &h2, T0, 30, &acts);
	take(&acts, &v);
	assert_int_equal(mja_session_held(s), 0);
	/* nothing completes later: every hold was dropped */
	mja_jwks_fetch_now(mja_session_config(s)->jwks, 1);
	mja_session_tick(s, T0 + 1, 6000, &acts);
	take(&acts, &v);
	assert_int_equal(v.completes, 0);

	/* enhanced authentication answers at once (the refetch limit passed) */
	c3.client = &h3;
	assert_int_equal(mja_session_ext_auth_start(s, &c3, "jwt", tb, strlen(tb), T0 + 40,
			40000, &acts, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_UNKNOWN_KID);
	take(&acts, &v);
	assert_int_equal(mja_session_held(s), 0);
	/* 2.0: refused at once */
	assert_int_equal(mja_session_basic_auth(s20, &c1, NULL, tb, T0, 0, &acts, &why), MJA_DENY);
	assert_int_equal(why, MJA_ERR_UNKNOWN_KID);
	take(&acts, &v);
	assert_int_equal(mja_session_held(s20), 0);
	/* shutdown with a CONNECT held: freed unanswered */
	assert_int_equal(mja_session_basic_auth(s, &c1, NULL, tb, T0 + 80, 80000, &acts, &why),
			MJA_HOLD);
	take(&acts, &v);

	mja_actions_free(&acts);
	mja_session_free(s);
	mja_session_free(s20);
	free(ja);
	free(tb);
	mja_key_free(a);
	mja_key_free(b);
}

/* Statistics lines "suffix=value\n", in emit order. */
struct emitted {
	char buf[2048];
	size_t len;
};

static void emit_line(const char *suffix, const char *value, void *arg)
{
	struct emitted *e = arg;
	int n = snprintf(e->buf + e->len, sizeof(e->buf) - e->len, "%s=%s\n", suffix, value);

	assert_true(n > 0 && (size_t)n < sizeof(e->buf) - e->len);
	e->len += (size_t)n;
}

/* $SYS figures from the session: a held CONNECT is counted once, when it
 * is decided, and the JWKS source's last success, failures and keys come
 * with the counters. */
static void session_stats_jwks(void **state)
{
	struct fake f = { 0 };
	mja_key *a = gen_ec("kid-a"), *k = gen_ec("kid-never");
	char *ja = jwks_of(&a, 1);
	char *ta = token(a, NULL, T0 + 100000), *tn = token(k, NULL, T0 + 100000);
	mja_session *s = held_session(&f, ja, MJA_BROKER_2_1);
	int h1, h2;
	mja_session_client c1 = { .client = &h1, .clientid = "dev-1", .address = "127.0.0.1" };
	mja_session_client c2 = { .client = &h2, .clientid = "dev-2", .address = "127.0.0.1" };
	struct emitted e = { { 0 }, 0 };
	mja_actions acts;
	struct seen v;
	mja_err why;

	mja_actions_init(&acts);
	assert_int_equal(mja_session_basic_auth(s, &c1, NULL, ta, T0, 1000, &acts, &why),
			MJA_ALLOW);
	assert_int_equal(mja_session_basic_auth(s, &c2, NULL, tn, T0, 1000, &acts, &why),
			MJA_HOLD);
	take(&acts, &v);
	assert_int_equal(mja_session_stats(s)->connects_accepted, 1);
	assert_int_equal(mja_session_stats(s)->connects_refused[MJA_ERR_UNKNOWN_KID], 0);
	/* the refetch fails: the last good set stays, the hold is refused */
	fake_set(&f, URL, NULL, "HTTP status 500");
	mja_jwks_fetch_now(mja_session_config(s)->jwks, 1);
	mja_session_tick(s, T0 + 1, 1100, &acts);
	take(&acts, &v);
	assert_int_equal(mja_session_held(s), 0);
	assert_int_equal(mja_session_stats(s)->connects_refused[MJA_ERR_UNKNOWN_KID], 1);
	assert_int_equal(mja_session_stats_emit(s, emit_line, &e), 7);
	assert_string_equal(e.buf,
			"connects/accepted=1\n"
			"connects/refused/unknown-kid=1\n"
			/* verified: ta, tn when held, tn when decided */
			"cache/misses=3\n"
			"keys/count=1\n"
			"jwks/1/last-success=1700000000\n"
			"jwks/1/failures=1\n"
			"jwks/1/keys=1\n");
	assert_int_equal(mja_session_stats_emit(NULL, emit_line, &e), 0);

	mja_actions_free(&acts);
	mja_session_free(s);
	free(ja);
	free(ta);
	free(tn);
	mja_key_free(a);
	mja_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(urls),
		cmocka_unit_test(cache_control),
		cmocka_unit_test(parse_bodies),
		cmocka_unit_test(discovery),
		cmocka_unit_test(first_success_change_failure_stale),
		cmocka_unit_test(unknown_kid_rate_limit),
		cmocka_unit_test(oidc_source),
		cmocka_unit_test(config_options),
		cmocka_unit_test(ca_bytes_reach_fetch),
		cmocka_unit_test(swap_in_config),
		cmocka_unit_test(real_fetch_refused),
		cmocka_unit_test(thread_start_stop),
		cmocka_unit_test(held_connect_2_1),
		cmocka_unit_test(held_connect_dropped),
		cmocka_unit_test(session_stats_jwks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
