/* config.c - plugin options (README, Configuration options) and the files they name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mja/session/config.h"
#include "mja/session/stats.h"
#include "mja/util/file.h"
#include "mja/util/text.h"

/* A value without its leading and trailing blanks (Mosquitto keeps the
 * trailing ones; a stray space must not become part of a path). */
typedef struct view {
	const char *p;
	size_t len;
} view;

static view trim(const char *s)
{
	view v = { s, s ? strlen(s) : 0 };

	while (v.len && mja_text_is_space((unsigned char)v.p[0])) {
		v.p++;
		v.len--;
	}
	while (v.len && mja_text_is_space((unsigned char)v.p[v.len - 1]))
		v.len--;
	return v;
}

/* A value for a diagnostic: escaped and bounded (text.h). */
#define SHOWN_MAX 72
static const char *shown(view v, char buf[SHOWN_MAX])
{
	mja_text_printable(v.p, v.len, buf, SHOWN_MAX);
	return buf;
}

static int view_is(view v, const char *word)
{
	return v.len == strlen(word) && memcmp(v.p, word, v.len) == 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Append a copy of s[0..len) to *v (length *n). */
static mja_err strv_push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv;
	char *copy;

	if (*n >= SIZE_MAX / sizeof(char *) - 1)
		return MJA_ERR_NOMEM;
	copy = strndup(s, len);
	if (!copy)
		return MJA_ERR_NOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(char *));
	if (!nv) {
		free(copy);
		return MJA_ERR_NOMEM;
	}
	nv[(*n)++] = copy;
	*v = nv;
	return MJA_OK;
}

static int is_list_sep(char c)
{
	return c == ',' || mja_text_is_space((unsigned char)c);
}

/* A LIST value: items separated by commas and/or blanks; empty items are
 * skipped, an empty list is an error. */
static mja_err parse_list(const char *name, view v, char ***out, size_t *n, mja_diag *d)
{
	size_t i = 0;

	while (i < v.len) {
		size_t start;
		mja_err e;

		while (i < v.len && is_list_sep(v.p[i]))
			i++;
		if (i == v.len)
			break;
		start = i;
		while (i < v.len && !is_list_sep(v.p[i]))
			i++;
		e = strv_push(out, n, v.p + start, i - start);
		if (e != MJA_OK)
			return e;
	}
	if (*n == 0) {
		mja_diag_set(d, "option %s: empty list", name);
		return MJA_ERR_CONFIG;
	}
	return MJA_OK;
}

/* A decimal integer in [min, max]; digits only (no sign, no suffix). */
static mja_err parse_uint(const char *name, view v, int64_t min, int64_t max,
		int64_t *out, mja_diag *d)
{
	char buf[SHOWN_MAX];
	int64_t x = 0;

	if (v.len == 0)
		goto bad;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			goto bad;
		if (x > (max - (v.p[i] - '0')) / 10)
			goto range;
		x = x * 10 + (v.p[i] - '0');
	}
	if (x < min)
		goto range;
	*out = x;
	return MJA_OK;
bad:
	mja_diag_set(d, "option %s: \"%s\" is not a whole number", name, shown(v, buf));
	return MJA_ERR_CONFIG;
range:
	mja_diag_set(d, "option %s: \"%s\" is out of range %lld..%lld", name,
			shown(v, buf), (long long)min, (long long)max);
	return MJA_ERR_CONFIG;
}

/* One of two words; *out = 0 for the first, 1 for the second. */
static mja_err parse_choice(const char *name, view v, const char *w0, const char *w1,
		int *out, mja_diag *d)
{
	char buf[SHOWN_MAX];

	if (view_is(v, w0)) {
		*out = 0;
		return MJA_OK;
	}
	if (view_is(v, w1)) {
		*out = 1;
		return MJA_OK;
	}
	mja_diag_set(d, "option %s: \"%s\" is not %s or %s", name, shown(v, buf), w0, w1);
	return MJA_ERR_CONFIG;
}

static mja_err parse_path(const char *name, view v, char **out, mja_diag *d)
{
	if (v.len == 0) {
		mja_diag_set(d, "option %s: empty path", name);
		return MJA_ERR_CONFIG;
	}
	if (memchr(v.p, '\0', v.len)) /* cannot happen from a C string; fail closed */
		return MJA_ERR_CONFIG;
	*out = strndup(v.p, v.len);
	return *out ? MJA_OK : MJA_ERR_NOMEM;
}

/* A dotted claim path: non-empty segments. */
static mja_err parse_claim_path(const char *name, view v, char **out, mja_diag *d)
{
	char buf[SHOWN_MAX];
	int empty_segment = v.len == 0 || v.p[0] == '.' || v.p[v.len - 1] == '.';

	for (size_t i = 0; i + 1 < v.len; i++)
		if (v.p[i] == '.' && v.p[i + 1] == '.')
			empty_segment = 1;
	if (empty_segment) {
		mja_diag_set(d, "option %s: \"%s\" is not a dotted claim path", name,
				shown(v, buf));
		return MJA_ERR_CONFIG;
	}
	*out = strndup(v.p, v.len);
	return *out ? MJA_OK : MJA_ERR_NOMEM;
}

enum opt_id {
	OPT_KEY_FILE, OPT_SECRET_FILE, OPT_ALGORITHMS, OPT_ISSUER, OPT_AUDIENCE,
	OPT_LEEWAY, OPT_REQUIRE_CLAIMS, OPT_MAX_TOKEN_AGE, OPT_TOKEN_FIELD,
	OPT_USERNAME_MATCH, OPT_CLIENTID_MATCH, OPT_ACL_FILE, OPT_ROLES_CLAIM,
	OPT_NON_JWT, OPT_DISCONNECT_ON_EXPIRY, OPT_MAX_TOKEN_BYTES, OPT_TOKEN_CACHE_SIZE,
	OPT_ACL_CLAIM, OPT_SUPERUSER_CLAIM, OPT_CLAIM_MATCH,
	OPT_JWKS_URL, OPT_OIDC_ISSUER, OPT_JWKS_CA_FILE, OPT_JWKS_REFRESH, OPT_JWKS_MAX_STALE,
	OPT_REVOCATION_FILE, OPT_STATS_INTERVAL, OPT_STATS_PER_LISTENER, OPT_AUTH_METHODS,
	OPT_STATS_LISTENER,
	OPT_VERIFY_THREADS,
	OPT_LOG_DEBUG,
	OPT__COUNT
};

static const struct {
	const char *name;
	int repeatable;
} opt_table[OPT__COUNT] = {
	[OPT_KEY_FILE] = { "key_file", 1 },
	[OPT_SECRET_FILE] = { "secret_file", 1 },
	[OPT_ALGORITHMS] = { "algorithms", 0 },
	[OPT_ISSUER] = { "issuer", 0 },
	[OPT_AUDIENCE] = { "audience", 0 },
	[OPT_LEEWAY] = { "leeway", 0 },
	[OPT_REQUIRE_CLAIMS] = { "require_claims", 0 },
	[OPT_MAX_TOKEN_AGE] = { "max_token_age", 0 },
	[OPT_TOKEN_FIELD] = { "token_field", 0 },
	[OPT_USERNAME_MATCH] = { "username_match", 0 },
	[OPT_CLIENTID_MATCH] = { "clientid_match", 0 },
	[OPT_ACL_FILE] = { "acl_file", 0 },
	[OPT_ROLES_CLAIM] = { "roles_claim", 0 },
	[OPT_NON_JWT] = { "non_jwt", 0 },
	[OPT_DISCONNECT_ON_EXPIRY] = { "disconnect_on_expiry", 0 },
	[OPT_MAX_TOKEN_BYTES] = { "max_token_bytes", 0 },
	[OPT_TOKEN_CACHE_SIZE] = { "token_cache_size", 0 },
	[OPT_ACL_CLAIM] = { "acl_claim", 0 },
	[OPT_SUPERUSER_CLAIM] = { "superuser_claim", 0 },
	[OPT_CLAIM_MATCH] = { "claim_match", 1 },
	[OPT_JWKS_URL] = { "jwks_url", 1 },
	[OPT_OIDC_ISSUER] = { "oidc_issuer", 0 },
	[OPT_JWKS_CA_FILE] = { "jwks_ca_file", 0 },
	[OPT_JWKS_REFRESH] = { "jwks_refresh", 0 },
	[OPT_JWKS_MAX_STALE] = { "jwks_max_stale", 0 },
	[OPT_REVOCATION_FILE] = { "revocation_file", 0 },
	[OPT_STATS_INTERVAL] = { "stats_interval", 0 },
	[OPT_STATS_PER_LISTENER] = { "stats_per_listener", 0 },
	[OPT_AUTH_METHODS] = { "auth_methods", 0 },
	[OPT_STATS_LISTENER] = { "stats_listener", 0 },
	[OPT_VERIFY_THREADS] = { "verify_threads", 0 },
	[OPT_LOG_DEBUG] = { "log_debug", 0 },
};

/* A claim name: one top-level member of the payload, used as written (a
 * namespaced name such as "https://example.com/acl" is one claim). */
static mja_err parse_claim_name(const char *name, view v, char **out, mja_diag *d)
{
	if (v.len == 0) {
		mja_diag_set(d, "option %s: empty claim name", name);
		return MJA_ERR_CONFIG;
	}
	for (size_t i = 0; i < v.len; i++) {
		if (mja_text_is_blank((unsigned char)v.p[i])) {
			char buf[SHOWN_MAX];

			mja_diag_set(d, "option %s: \"%s\" is not one claim name", name,
					shown(v, buf));
			return MJA_ERR_CONFIG;
		}
	}
	*out = strndup(v.p, v.len);
	return *out ? MJA_OK : MJA_ERR_NOMEM;
}

/* Every "${" of a claim_match template starts ${clientid} or ${username}. */
static int template_ok(const char *t, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (t[i] != '$' || t[i + 1] != '{')
			continue;
		if (len - i >= 11 && !memcmp(t + i, "${clientid}", 11))
			i += 10;
		else if (len - i >= 11 && !memcmp(t + i, "${username}", 11))
			i += 10;
		else
			return 0;
	}
	return 1;
}

/* claim_match NAME=TEMPLATE */
static mja_err parse_claim_match(mja_config *c, const char *name, view v, mja_diag *d)
{
	const char *eq = memchr(v.p, '=', v.len);
	view cn, t;
	mja_claim_match *nv;
	char *cname = NULL, *tmpl = NULL;
	char buf[SHOWN_MAX];
	mja_err e;

	if (!eq) {
		mja_diag_set(d, "option %s: \"%s\" is not NAME=TEMPLATE", name, shown(v, buf));
		return MJA_ERR_CONFIG;
	}
	cn = (view){ v.p, (size_t)(eq - v.p) };
	while (cn.len && mja_text_is_blank((unsigned char)cn.p[cn.len - 1]))
		cn.len--;
	t = (view){ eq + 1, v.len - (size_t)(eq + 1 - v.p) };
	while (t.len && mja_text_is_blank((unsigned char)t.p[0])) {
		t.p++;
		t.len--;
	}
	e = parse_claim_name(name, cn, &cname, d);
	if (e != MJA_OK)
		return e;
	for (size_t i = 0; i < c->n_claim_match; i++) {
		if (!strcmp(c->claim_match[i].name, cname)) {
			mja_diag_set(d, "option %s: claim \"%s\" given twice", name,
					shown((view){ cname, strlen(cname) }, buf));
			free(cname);
			return MJA_ERR_CONFIG;
		}
	}
	if (t.len == 0 || !template_ok(t.p, t.len)) {
		mja_diag_set(d, "option %s: claim \"%s\": %s", name,
				shown((view){ cname, strlen(cname) }, buf), t.len == 0 ?
				"empty template" :
				"unknown placeholder (${clientid} and ${username} only)");
		free(cname);
		return MJA_ERR_CONFIG;
	}
	tmpl = strndup(t.p, t.len);
	nv = tmpl ? realloc(c->claim_match, (c->n_claim_match + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(cname);
		free(tmpl);
		return MJA_ERR_NOMEM;
	}
	c->claim_match = nv;
	nv[c->n_claim_match].name = cname;
	nv[c->n_claim_match++].tmpl = tmpl;
	return MJA_OK;
}

/* stats_listener: one topic level under $SYS/broker/plugin/jwt-auth/
 * (stats.h mja_stats_level_valid). */
static mja_err parse_listener_name(const char *name, view v, char **out, mja_diag *d)
{
	char buf[SHOWN_MAX];

	if (!mja_stats_level_valid(v.p, v.len)) {
		mja_diag_set(d, "option %s: \"%s\" is not a listener name (1 to %d printable "
				"ASCII characters, no blank, '/', '+' or '#')", name, shown(v, buf),
				MJA_STATS_LEVEL_MAX);
		return MJA_ERR_CONFIG;
	}
	*out = strndup(v.p, v.len);
	return *out ? MJA_OK : MJA_ERR_NOMEM;
}

/* An URL option: one token, https:// (or http:// to loopback). */
static mja_err parse_url(const char *name, view v, char **out, mja_diag *d)
{
	mja_diag inner = { 0 };
	char *u;

	u = strndup(v.p, v.len);
	if (!u)
		return MJA_ERR_NOMEM;
	if (!mja_jwks_url_ok(u, &inner)) {
		mja_diag_set(d, "option %s: %s", name, inner.text);
		free(u);
		return MJA_ERR_CONFIG;
	}
	*out = u;
	return MJA_OK;
}

static mja_err apply_option(mja_config *c, enum opt_id id, view v, mja_diag *d)
{
	const char *name = opt_table[id].name;
	mja_err e = MJA_OK;
	char *path = NULL;
	int64_t num;
	int choice;

	switch (id) {
	case OPT_KEY_FILE:
	case OPT_SECRET_FILE:
		e = parse_path(name, v, &path, d);
		if (e != MJA_OK)
			return e;
		if (id == OPT_KEY_FILE)
			e = strv_push(&c->key_files, &c->n_key_files, path, strlen(path));
		else
			e = strv_push(&c->secret_files, &c->n_secret_files, path, strlen(path));
		free(path);
		return e;
	case OPT_ACL_FILE:
		return parse_path(name, v, &c->acl_file, d);
	case OPT_REVOCATION_FILE:
		return parse_path(name, v, &c->revocation_file, d);
	case OPT_STATS_INTERVAL:
		e = parse_uint(name, v, 0, MJA_CONFIG_STATS_INTERVAL_LIMIT, &num, d);
		if (e == MJA_OK)
			c->stats_interval = num;
		return e;
	case OPT_STATS_PER_LISTENER:
		e = parse_choice(name, v, "false", "true", &choice, d);
		if (e == MJA_OK)
			c->stats_per_listener = choice;
		return e;
	case OPT_STATS_LISTENER:
		return parse_listener_name(name, v, &c->stats_listener, d);
	case OPT_AUTH_METHODS:
		/* replaces the default list */
		free_strv(c->auth_methods, c->n_auth_methods);
		c->auth_methods = NULL;
		c->n_auth_methods = 0;
		return parse_list(name, v, &c->auth_methods, &c->n_auth_methods, d);
	case OPT_ALGORITHMS: {
		mja_diag sub = { 0 };

		e = mja_alg_set_parse(v.p, v.len, &c->algorithms, &sub);
		if (e != MJA_OK)
			mja_diag_set(d, "option %s: %s", name, sub.text[0] ? sub.text : mja_strerror(e));
		return e;
	}
	case OPT_ISSUER:
		return parse_list(name, v, &c->issuers, &c->n_issuers, d);
	case OPT_AUDIENCE:
		return parse_list(name, v, &c->audiences, &c->n_audiences, d);
	case OPT_REQUIRE_CLAIMS:
		/* replaces the default list */
		free_strv(c->required, c->n_required);
		c->required = NULL;
		c->n_required = 0;
		return parse_list(name, v, &c->required, &c->n_required, d);
	case OPT_LEEWAY:
		e = parse_uint(name, v, 0, MJA_CONFIG_SECONDS_LIMIT, &num, d);
		if (e == MJA_OK)
			c->leeway = num;
		return e;
	case OPT_MAX_TOKEN_AGE:
		if (view_is(v, "off")) {
			c->max_token_age = 0;
			return MJA_OK;
		}
		/* 0 also means off, as in mja_claim_rules */
		e = parse_uint(name, v, 0, MJA_CONFIG_SECONDS_LIMIT, &num, d);
		if (e == MJA_OK)
			c->max_token_age = num;
		return e;
	case OPT_MAX_TOKEN_BYTES:
		e = parse_uint(name, v, 1, MJA_CONFIG_MAX_TOKEN_BYTES_LIMIT, &num, d);
		if (e == MJA_OK)
			c->max_token_bytes = (size_t)num;
		return e;
	case OPT_VERIFY_THREADS:
		/* docs/design.md, Signature checks on worker threads; 0: none */
		e = parse_uint(name, v, 0, MJA_CONFIG_VERIFY_THREADS_LIMIT, &num, d);
		if (e == MJA_OK)
			c->verify_threads = (int)num;
		return e;
	case OPT_LOG_DEBUG:
		e = parse_choice(name, v, "false", "true", &choice, d);
		if (e == MJA_OK)
			c->log_debug = choice;
		return e;
	case OPT_TOKEN_CACHE_SIZE:
		/* docs/design.md, Verified-token cache; 0 turns it off */
		e = parse_uint(name, v, 0, MJA_CONFIG_CACHE_LIMIT, &num, d);
		if (e == MJA_OK)
			c->token_cache_size = (size_t)num;
		return e;
	case OPT_TOKEN_FIELD:
		e = parse_choice(name, v, "password", "username", &choice, d);
		if (e == MJA_OK)
			c->token_field = choice ? MJA_TOKEN_FIELD_USERNAME : MJA_TOKEN_FIELD_PASSWORD;
		return e;
	case OPT_USERNAME_MATCH:
	case OPT_CLIENTID_MATCH:
		e = parse_choice(name, v, "off", "sub", &choice, d);
		if (e == MJA_OK)
			*(id == OPT_USERNAME_MATCH ? &c->username_match : &c->clientid_match) =
				choice ? MJA_MATCH_SUB : MJA_MATCH_OFF;
		return e;
	case OPT_ROLES_CLAIM:
		free(c->roles_claim);
		c->roles_claim = NULL;
		return parse_claim_path(name, v, &c->roles_claim, d);
	case OPT_NON_JWT:
		/* ignore: Mosquitto 2.1's "as if not loaded"; 2.0 has no such
		 * answer and the session module treats it as defer there */
		if (view_is(v, "defer"))
			c->non_jwt = MJA_NON_JWT_DEFER;
		else if (view_is(v, "deny"))
			c->non_jwt = MJA_NON_JWT_DENY;
		else if (view_is(v, "ignore"))
			c->non_jwt = MJA_NON_JWT_IGNORE;
		else {
			mja_diag_set(d, "option %s: \"%.*s\" is not defer or deny (or ignore)", name,
					(int)(v.len > 64 ? 64 : v.len), v.p);
			return MJA_ERR_CONFIG;
		}
		return MJA_OK;
	case OPT_DISCONNECT_ON_EXPIRY:
		e = parse_choice(name, v, "false", "true", &choice, d);
		if (e == MJA_OK)
			c->disconnect_on_expiry = choice;
		return e;
	case OPT_ACL_CLAIM:
		return parse_claim_name(name, v, &c->acl_claim, d);
	case OPT_SUPERUSER_CLAIM:
		return parse_claim_name(name, v, &c->superuser_claim, d);
	case OPT_CLAIM_MATCH:
		return parse_claim_match(c, name, v, d);
	case OPT_JWKS_URL:
		e = parse_url(name, v, &path, d);
		if (e != MJA_OK)
			return e;
		e = strv_push(&c->jwks_urls, &c->n_jwks_urls, path, strlen(path));
		free(path);
		return e;
	case OPT_OIDC_ISSUER:
		return parse_url(name, v, &c->oidc_issuer, d);
	case OPT_JWKS_CA_FILE:
		return parse_path(name, v, &c->jwks_ca_file, d);
	case OPT_JWKS_REFRESH:
		e = parse_uint(name, v, MJA_JWKS_REFRESH_MIN, MJA_JWKS_REFRESH_MAX, &num, d);
		if (e == MJA_OK)
			c->jwks_refresh = num;
		return e;
	case OPT_JWKS_MAX_STALE:
		e = parse_uint(name, v, 1, MJA_CONFIG_SECONDS_LIMIT, &num, d);
		if (e == MJA_OK)
			c->jwks_max_stale = num;
		return e;
	case OPT__COUNT:
		break;
	}
	return MJA_ERR_INTERNAL;
}

static mja_err set_defaults(mja_config *c)
{
	mja_err e;

	c->leeway = MJA_DEFAULT_LEEWAY;
	c->max_token_bytes = MJA_DEFAULT_MAX_TOKEN_BYTES;
	c->token_cache_size = MJA_CONFIG_CACHE_ENTRIES;
	c->disconnect_on_expiry = 1;
	c->jwks_refresh = MJA_JWKS_DEFAULT_REFRESH;
	c->jwks_max_stale = MJA_JWKS_DEFAULT_MAX_STALE;
	c->stats_interval = MJA_CONFIG_STATS_INTERVAL;
	c->verify_threads = MJA_CONFIG_VERIFY_THREADS_AUTO;
	c->roles_claim = strdup("roles");
	if (!c->roles_claim)
		return MJA_ERR_NOMEM;
	e = strv_push(&c->required, &c->n_required, "exp", 3);
	if (e == MJA_OK)
		e = strv_push(&c->required, &c->n_required, "sub", 3);
	if (e == MJA_OK)
		e = strv_push(&c->auth_methods, &c->n_auth_methods, "jwt", 3);
	return e;
}

/* Options that only make sense together are checked once all are read. */
static int has_jwks(const mja_config *c)
{
	return c->n_jwks_urls || c->oidc_issuer;
}

static mja_err check_combination(const mja_config *c, mja_diag *d)
{
	if (c->n_key_files == 0 && c->n_secret_files == 0 && !has_jwks(c)) {
		mja_diag_set(d, "option key_file: no key_file, secret_file, jwks_url or "
				"oidc_issuer given: no token could ever be verified");
		return MJA_ERR_CONFIG;
	}
	if (c->jwks_ca_file && !has_jwks(c)) {
		mja_diag_set(d, "option jwks_ca_file: given without jwks_url or oidc_issuer");
		return MJA_ERR_CONFIG;
	}
	if (c->token_field == MJA_TOKEN_FIELD_USERNAME && c->username_match == MJA_MATCH_SUB) {
		mja_diag_set(d, "option username_match: sub cannot be used with "
				"token_field username (the username is the token)");
		return MJA_ERR_CONFIG;
	}
	return MJA_OK;
}

static void file_diag(mja_diag *d, const char *name, const char *path,
		const mja_diag *inner, mja_err e);

/* Read jwks_ca_file (a file the plugin trusts: whoever may write it picks
 * the servers keys come from) through the one file reader; *pem NULL when
 * the option is not given. Free with mja_file_free. */
static mja_err read_jwks_ca(const mja_config *c, char **pem, size_t *len, mja_diag *d)
{
	mja_diag inner = { 0 };
	mja_err e;

	*pem = NULL;
	*len = 0;
	if (!c->jwks_ca_file)
		return MJA_OK;
	e = mja_file_read(c->jwks_ca_file, MJA_JWKS_CA_FILE_MAX, MJA_FILE_TRUSTED, pem, len,
			&inner);
	if (e != MJA_OK)
		file_diag(d, "jwks_ca_file", c->jwks_ca_file, &inner, e);
	return e;
}

/* Read revocation_file into a new list; on success it replaces the old. */
static mja_err load_revocation(mja_config *c, mja_diag *d)
{
	mja_revoke *fresh = NULL;
	mja_diag inner = { 0 };
	mja_err e = mja_revoke_load_file(c->revocation_file, &fresh, &inner);

	if (e != MJA_OK) {
		file_diag(d, "revocation_file", c->revocation_file, &inner, e);
		return e;
	}
	mja_revoke_free(c->revoked);
	c->revoked = fresh;
	return MJA_OK;
}

mja_err mja_config_parse(const mja_config_opt *opts, size_t n,
		mja_config **out, mja_diag *d)
{
	unsigned seen[OPT__COUNT] = { 0 };
	char buf[SHOWN_MAX];
	mja_config *c;
	mja_err e;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!opts && n)
		return MJA_ERR_INVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return MJA_ERR_NOMEM;
	e = set_defaults(c);
	if (e != MJA_OK)
		goto out;

	for (size_t i = 0; i < n; i++) {
		const char *key = opts[i].key ? opts[i].key : "";
		enum opt_id id;

		for (id = 0; id < OPT__COUNT; id++)
			if (strcmp(key, opt_table[id].name) == 0)
				break;
		if (id == OPT__COUNT) {
			view k = { key, strlen(key) };

			mja_diag_set(d, "option %s: unknown option", shown(k, buf));
			e = MJA_ERR_CONFIG;
			goto out;
		}
		if (seen[id]++ && !opt_table[id].repeatable) {
			mja_diag_set(d, "option %s: given more than once", opt_table[id].name);
			e = MJA_ERR_CONFIG;
			goto out;
		}
		e = apply_option(c, id, trim(opts[i].value), d);
		if (e != MJA_OK)
			goto out;
	}
	e = check_combination(c, d);
	if (e != MJA_OK)
		goto out;
	/* OpenID Connect Discovery 1.0 4.3: tokens of that provider carry its
	 * issuer; without an issuer option it is the one required */
	if (c->oidc_issuer && c->n_issuers == 0) {
		e = strv_push(&c->issuers, &c->n_issuers, c->oidc_issuer, strlen(c->oidc_issuer));
		if (e != MJA_OK)
			goto out;
	}
	if (has_jwks(c)) {
		mja_jwks_opts jo = {
			.urls = (const char *const *)c->jwks_urls, .n_urls = c->n_jwks_urls,
			.oidc_issuer = c->oidc_issuer,
			.refresh = c->jwks_refresh, .max_stale = c->jwks_max_stale,
		};
		char *ca;
		size_t ca_len;

		/* read now: a wrong path is a start-up error, not a fetch
		 * failure every few minutes */
		e = read_jwks_ca(c, &ca, &ca_len, d);
		if (e != MJA_OK)
			goto out;
		jo.ca_pem = ca;
		jo.ca_len = ca_len;
		e = mja_jwks_new(&jo, &c->jwks, d);
		mja_file_free(ca, ca_len);
		if (e != MJA_OK)
			goto out;
	}
	e = mja_config_load_files(c, &c->files, d);
	if (e != MJA_OK)
		goto out;
	c->cache = mja_cache_new(c->token_cache_size);
	if (!c->cache) {
		e = MJA_ERR_NOMEM;
		goto out;
	}
	/* at start an unreadable or malformed list stops the broker */
	if (c->revocation_file) {
		mja_revoke_stamp_get(c->revocation_file, &c->revoked_stamp);
		e = load_revocation(c, d);
		if (e != MJA_OK)
			goto out;
	}
	*out = c;
	return MJA_OK;
out:
	if (e == MJA_ERR_NOMEM)
		mja_diag_set(d, "%s", mja_strerror(e));
	mja_config_free(c);
	return e;
}

void mja_config_free(mja_config *c)
{
	if (!c)
		return;
	free_strv(c->key_files, c->n_key_files);
	free_strv(c->secret_files, c->n_secret_files);
	free(c->acl_file);
	free_strv(c->issuers, c->n_issuers);
	free_strv(c->audiences, c->n_audiences);
	free_strv(c->required, c->n_required);
	free(c->roles_claim);
	free(c->acl_claim);
	free(c->superuser_claim);
	for (size_t i = 0; i < c->n_claim_match; i++) {
		free(c->claim_match[i].name);
		free(c->claim_match[i].tmpl);
	}
	free(c->claim_match);
	mja_jwks_free(c->jwks);   /* first: stops the fetcher thread */
	free_strv(c->jwks_urls, c->n_jwks_urls);
	free(c->oidc_issuer);
	free(c->jwks_ca_file);
	free(c->revocation_file);
	free(c->stats_listener);
	free_strv(c->auth_methods, c->n_auth_methods);
	mja_config_files_free(c->files);
	mja_cache_free(c->cache);
	mja_revoke_free(c->revoked);
	free(c);
}

int mja_config_topic_decisions(const mja_config *c)
{
	return c && (c->acl_file || c->acl_claim || c->superuser_claim);
}

/* "option NAME "PATH": inner reason", without repeating the path when the
 * loader already named it. */
static void file_diag(mja_diag *d, const char *name, const char *path,
		const mja_diag *inner, mja_err e)
{
	const char *why = inner->text[0] ? inner->text : mja_strerror(e);

	if (strstr(why, path))
		mja_diag_set(d, "option %s: %s", name, why);
	else
		mja_diag_set(d, "option %s \"%s\": %s", name, path, why);
}

/* Algorithms a JWKS key may serve: every public-key algorithm (fetched
 * sets never hold secrets, jwks.h); each key still pins its own family. */
#define JWKS_ALGS (MJA_ALG_SET_ALL & ~(MJA_ALG_BIT(MJA_ALG_HS256) | \
		MJA_ALG_BIT(MJA_ALG_HS384) | MJA_ALG_BIT(MJA_ALG_HS512)))

/* The key set in use: the files' keys and every usable JWKS set, shared. */
static mja_err build_keys(const mja_config *c, const mja_keyset *file_keys, mja_keyset **out)
{
	mja_keyset *ks = mja_keyset_new();
	mja_err e;

	*out = NULL;
	if (!ks)
		return MJA_ERR_NOMEM;
	e = mja_keyset_add_shared(ks, file_keys);
	if (e == MJA_OK)
		e = mja_jwks_add_keys(c->jwks, ks);
	if (e != MJA_OK) {
		mja_keyset_free(ks);
		return e;
	}
	*out = ks;
	return MJA_OK;
}

mja_err mja_config_load_files(const mja_config *c, mja_config_files **out, mja_diag *d)
{
	const struct {
		const char *name;
		char *const *files;
		size_t n;
		mja_err (*load)(mja_keyset *ks, const char *path, mja_diag *d);
	} sources[] = {
		{ "key_file", c ? c->key_files : NULL, c ? c->n_key_files : 0,
			mja_keyset_load_key_file },
		{ "secret_file", c ? c->secret_files : NULL, c ? c->n_secret_files : 0,
			mja_keyset_load_secret_file },
	};
	mja_config_files *f;
	mja_diag inner;
	mja_err e = MJA_OK;
	mja_alg_set usable;
	int jwks;

	if (!c || !out)
		return MJA_ERR_INVAL;
	*out = NULL;
	jwks = has_jwks(c);
	f = calloc(1, sizeof(*f));
	if (!f)
		return MJA_ERR_NOMEM;
	f->file_keys = mja_keyset_new();
	if (!f->file_keys) {
		e = MJA_ERR_NOMEM;
		goto out;
	}
	for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
		for (size_t i = 0; i < sources[s].n; i++) {
			mja_diag_clear(&inner);
			e = sources[s].load(f->file_keys, sources[s].files[i], &inner);
			if (inner.warning[0])
				mja_diag_warn(d, "option %s: %s", sources[s].name, inner.warning);
			if (e != MJA_OK) {
				file_diag(d, sources[s].name, sources[s].files[i], &inner, e);
				goto out;
			}
		}
	}
	usable = mja_keyset_algs(f->file_keys);
	if ((c->n_key_files || c->n_secret_files || !jwks) &&
	    (mja_keyset_count(f->file_keys) == 0 || usable == 0)) {
		mja_diag_set(d, "option key_file: the key and secret files hold no key "
				"usable for verification");
		e = MJA_ERR_KEY;
		goto out;
	}
	/* keys fetched later may serve any public-key algorithm */
	if (jwks)
		usable |= JWKS_ALGS;
	if (c->algorithms && (c->algorithms & usable) == 0) {
		mja_diag_set(d, "option algorithms: no configured key can verify any "
				"of the listed algorithms");
		e = MJA_ERR_CONFIG;
		goto out;
	}
	e = build_keys(c, f->file_keys, &f->keys);
	if (e != MJA_OK)
		goto out;
	if (c->acl_file) {
		mja_diag_clear(&inner);
		e = mja_acl_load_file(c->acl_file, &f->acl, &inner);
		if (inner.warning[0])
			mja_diag_warn(d, "option acl_file: %s", inner.warning);
		if (e != MJA_OK) {
			file_diag(d, "acl_file", c->acl_file, &inner, e);
			goto out;
		}
	}
	f->verify.algorithms = (c->algorithms ? c->algorithms : usable) & usable;
	f->verify.max_token_bytes = c->max_token_bytes;
	f->verify.claims.issuers = (const char *const *)c->issuers;
	f->verify.claims.n_issuers = c->n_issuers;
	f->verify.claims.audiences = (const char *const *)c->audiences;
	f->verify.claims.n_audiences = c->n_audiences;
	f->verify.claims.required = (const char *const *)c->required;
	f->verify.claims.n_required = c->n_required;
	f->verify.claims.leeway = c->leeway;
	f->verify.claims.max_token_age = c->max_token_age;
	*out = f;
	return MJA_OK;
out:
	if (e == MJA_ERR_NOMEM)
		mja_diag_set(d, "%s", mja_strerror(e));
	mja_config_files_free(f);
	return e;
}

void mja_config_files_free(mja_config_files *f)
{
	if (!f)
		return;
	mja_keyset_free(f->keys);
	mja_keyset_free(f->file_keys);
	mja_acl_free(f->acl);
	free(f);
}

mja_err mja_config_reload(mja_config *c, mja_diag *d)
{
	mja_config_files *fresh = NULL;
	char *ca = NULL;
	size_t ca_len = 0;
	mja_err e;

	if (!c)
		return MJA_ERR_INVAL;
	e = mja_config_load_files(c, &fresh, d);
	if (e == MJA_OK && c->jwks) {
		e = read_jwks_ca(c, &ca, &ca_len, d);
		if (e == MJA_OK && c->jwks_ca_file)
			e = mja_jwks_set_ca(c->jwks, ca, ca_len);
		mja_file_free(ca, ca_len);
	}
	mja_jwks_refetch_all(c->jwks);   /* SIGHUP refetches at once */
	if (e != MJA_OK) {
		mja_config_files_free(fresh);
		return e;   /* the previous set stays in force in full (docs/design.md, Reload) */
	}
	mja_config_files_free(c->files);
	c->files = fresh;
	/* entries were verified with the old keys */
	mja_cache_clear(c->cache);
	return MJA_OK;
}

mja_err mja_config_jwks_start(mja_config *c, mja_diag *d)
{
	if (!c || !c->jwks)
		return MJA_OK;
	return mja_jwks_start(c->jwks, d);
}

int mja_config_jwks_update(mja_config *c, int64_t now, mja_log_fn log, void *ctx)
{
	mja_keyset *fresh;

	if (!c || !c->jwks || !c->files)
		return 0;
	if (!mja_jwks_poll(c->jwks, now, log, ctx))
		return 0;
	if (build_keys(c, c->files->file_keys, &fresh) != MJA_OK) {
		/* out of memory: keep the set in use; the next poll after a
		 * change tries again */
		if (log)
			log(ctx, MJA_LOG_ERR, "JWKS: out of memory while replacing the key set");
		return 0;
	}
	/* the whole set is replaced at once on this (the broker's) thread:
	 * a token is verified with the old set or the new one */
	mja_keyset_free(c->files->keys);
	c->files->keys = fresh;
	/* entries were verified with the old keys; a removed key's tokens
	 * must not live on in the cache */
	mja_cache_clear(c->cache);
	return 1;
}

void mja_config_jwks_fetch_once(mja_config *c, int64_t now, mja_log_fn log, void *ctx)
{
	if (!c || !c->jwks)
		return;
	mja_jwks_fetch_now(c->jwks, 0);
	mja_config_jwks_update(c, now, log, ctx);
}

mja_err mja_config_revoke_refresh(mja_config *c, int force, int *changed, mja_diag *d)
{
	mja_revoke_stamp now;
	mja_err e;

	if (changed)
		*changed = 0;
	if (!c)
		return MJA_ERR_INVAL;
	if (!c->revocation_file)
		return MJA_OK;
	/* stat before reading: a change after the stat is seen next time */
	mja_revoke_stamp_get(c->revocation_file, &now);
	if (!force && mja_revoke_stamp_equal(&now, &c->revoked_stamp))
		return MJA_OK;
	c->revoked_stamp = now;   /* also on failure: one report per change */
	e = load_revocation(c, d);
	if (e != MJA_OK)
		return e;   /* the previous list stays in force */
	if (changed)
		*changed = 1;
	return MJA_OK;
}

int mja_config_auth_method(const mja_config *c, const char *method)
{
	if (!c || !method)
		return 0;
	for (size_t i = 0; i < c->n_auth_methods; i++)
		if (strcmp(c->auth_methods[i], method) == 0)
			return 1;
	return 0;
}
