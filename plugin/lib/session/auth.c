/* auth.c - CONNECT, re-authentication and ACL decisions (docs/design.md,
 * "Token rules", "ACL semantics", "Permissions in the token",
 * "Re-authentication"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mja/session/auth.h"
#include "mja/token/cache.h"
#include "mja/token/claims.h"
#include "mja/util/text.h"
#include "mja/token/token.h"

/* mja_auth_detail(): per thread, like errno (the broker calls us from its
 * one main thread; the tool and the tests from theirs). */
static _Thread_local mja_diag detail;

/* A claim name (an option value) for the detail: escaped and bounded
 * (text.h), so the detail is printable as it stands. */
#define NAME_MAX_SHOWN 96
static const char *shown_name(const char *name, char buf[NAME_MAX_SHOWN])
{
	mja_text_printable(name, name ? strlen(name) : 0, buf, NAME_MAX_SHOWN);
	return buf;
}

const char *mja_auth_detail(void)
{
	return detail.text;
}

static mja_decision deny(mja_err *why, mja_err e)
{
	if (why)
		*why = e;
	return MJA_DENY;
}

void mja_principal_drop_token(mja_principal *p)
{
	if (!p || !p->token)
		return;
	OPENSSL_cleanse(p->token, p->token_len);
	free(p->token);
	p->token = NULL;
	p->token_len = 0;
}

void mja_principal_free(mja_principal *p)
{
	if (!p)
		return;
	free(p->sub);
	if (!p->joined) {
		free(p->jti);
		free(p->kid);
	}
	free(p->login_username);
	mja_claims_roles_free(p->roles, p->n_roles);
	mja_aclclaim_free(p->acl_claim);
	mja_principal_drop_token(p);
	free(p);
}

/* iat as whole seconds rounded down (a token issued at 99.5 was issued
 * before 100), clamped to the int64 range. 0 if absent or not a number. */
static int iat_of(const json_t *v, int64_t *iat)
{
	double d;

	if (json_is_integer(v)) {
		*iat = json_integer_value(v);
		return 1;
	}
	if (!json_is_real(v) || isnan(json_real_value(v)))
		return 0;
	d = floor(json_real_value(v));
	if (d >= 9223372036854775808.0)
		*iat = INT64_MAX;
	else if (d < -9223372036854775808.0)
		*iat = INT64_MIN;
	else
		*iat = (int64_t)d;
	return 1;
}

/* What the revocation list is asked about a verified token. */
static mja_revoke_query query_of(const mja_token *t)
{
	mja_revoke_query q = { 0 };

	/* RFC 7519 4.1.7: jti is a string; another type matches no line */
	q.jti = json_is_string(t->jti) ? json_string_value(t->jti) : NULL;
	q.kid = t->kid;
	q.sub = t->sub;
	q.has_iat = iat_of(t->iat, &q.iat);
	return q;
}

/* The principal of a verified token. */
static mja_err principal_new(const mja_config *cfg, const mja_token *t,
		const char *tok, size_t len, int keep_token,
		const char *login_username, mja_principal **out)
{
	mja_principal *p = calloc(1, sizeof(*p));
	mja_revoke_query q = query_of(t);
	size_t sl = strlen(t->sub) + 1, jl = q.jti ? strlen(q.jti) + 1 : 0,
	       kl = q.kid ? strlen(q.kid) + 1 : 0;
	mja_err e = MJA_ERR_NOMEM;

	if (!p)
		return MJA_ERR_NOMEM;
	/* sub, jti and kid in one allocation (auth.h: joined) */
	p->sub = malloc(sl + jl + kl);
	if (!p->sub)
		goto out;
	p->joined = 1;
	memcpy(p->sub, t->sub, sl);
	if (q.jti)
		p->jti = memcpy(p->sub + sl, q.jti, jl);
	if (q.kid)
		p->kid = memcpy(p->sub + sl + jl, q.kid, kl);
	p->has_iat = q.has_iat;
	p->iat = q.iat;
	if (cfg->n_claim_match && login_username && login_username[0] &&
	    !(p->login_username = strdup(login_username)))
		goto out;
	e = mja_claims_roles(t->payload, cfg->roles_claim, &p->roles, &p->n_roles);
	if (e != MJA_OK)
		goto out;
	if (cfg->superuser_claim)
		p->superuser = json_is_true(json_object_get(t->payload, cfg->superuser_claim));
	if (cfg->acl_claim) {
		const json_t *v = json_object_get(t->payload, cfg->acl_claim);
		mja_diag d = { 0 };

		/* compiled once here, walked at every check (aclclaim.h) */
		if (v) {
			e = mja_aclclaim_compile(v, &p->acl_claim, &d);
			if (e != MJA_OK) {
				char nm[NAME_MAX_SHOWN];

				mja_diag_set(&detail, "claim \"%s\": %s",
						shown_name(cfg->acl_claim, nm),
						d.text[0] ? d.text : mja_strerror(e));
				goto out;
			}
		}
	}
	p->has_exp = t->has_exp;
	p->exp = t->exp;
	if (keep_token) {
		e = MJA_ERR_NOMEM;
		p->token = malloc(len ? len : 1);
		if (!p->token)
			goto out;
		memcpy(p->token, tok, len);
		p->token_len = len;
	}
	*out = p;
	return MJA_OK;
out:
	mja_principal_free(p);
	return e;
}

/* claim_match (config.h): the claim is a string equal to the template with
 * ${clientid} and ${username} replaced, compared piece by piece. A needed
 * value that is absent or empty never matches. Returns 1 on a match; else
 * 0 with the detail set. */
static int claim_matches(const mja_claim_match *m, const json_t *payload,
		const char *clientid, const char *username)
{
	const json_t *v = json_object_get(payload, m->name);
	const char *s, *t = m->tmpl;
	size_t len, off = 0;
	char nm[NAME_MAX_SHOWN];

	if (!json_is_string(v)) {
		mja_diag_set(&detail, "claim \"%s\" is %s", shown_name(m->name, nm),
				v ? "not a string" : "absent");
		return 0;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	while (*t) {
		const char *piece = t;
		size_t pl = 1;      /* a literal byte */

		if (!strncmp(t, "${clientid}", 11) || !strncmp(t, "${username}", 11)) {
			const char *val = t[2] == 'c' ? clientid : username;

			if (!val || !val[0]) {
				mja_diag_set(&detail, "claim \"%s\": the template needs %.11s, "
						"which the client did not send", shown_name(m->name, nm), t);
				return 0;
			}
			piece = val;
			pl = strlen(val);
			t += 11;
		} else {
			t++;
		}
		if (pl > len - off || memcmp(s + off, piece, pl) != 0)
			goto mismatch;
		off += pl;
	}
	if (off == len)
		return 1;
mismatch:
	mja_diag_set(&detail, "claim \"%s\" is not the string its template gives",
			shown_name(m->name, nm));
	return 0;
}

/* No key for the token (jwks.h): the provider may have published a new
 * key, so ask for one rate-limited refetch in the background (never waited
 * for here). While a JWKS source has no usable set, a token whose key could
 * be that source's is refused as "keys unavailable": an unknown kid, no
 * key for an allowed algorithm. An algorithm the configuration does not
 * allow keeps its own reason. */
static mja_err jwks_miss(const mja_config *cfg, const char *tok, size_t len, int64_t now,
		mja_err e)
{
	json_t *h = NULL, *p = NULL;
	mja_alg alg;
	int allowed = 0;

	if (e == MJA_ERR_UNKNOWN_KID)
		mja_jwks_unknown_kid(cfg->jwks, now);
	if (!mja_jwks_unavailable(cfg->jwks))
		return e;
	if (e != MJA_ERR_ALG_NOT_ALLOWED)
		return MJA_ERR_KEYS_UNAVAILABLE;
	/* the header only, to read alg; nothing from it is trusted or kept */
	if (mja_token_decode_unverified(tok, len, &h, &p) == MJA_OK) {
		json_t *a = json_object_get(h, "alg");

		allowed = json_is_string(a) &&
			mja_alg_from_name(json_string_value(a), json_string_length(a), &alg) == MJA_OK &&
			(cfg->files->verify.algorithms & MJA_ALG_BIT(alg));
	}
	json_decref(h);
	json_decref(p);
	return allowed ? MJA_ERR_KEYS_UNAVAILABLE : e;
}

static int str_eq_sub(const char *s, const char *sub)
{
	return s && strcmp(s, sub) == 0;
}

/* With token_field username the username field is the token, not a name:
 * claim_match's ${username} then stands for nothing. */
static int token_field_is_username(const mja_config *cfg)
{
	return cfg->token_field == MJA_TOKEN_FIELD_USERNAME;
}

/* Steps 1-7 for one token: here (no struct pre), here unless the signature
 * check is worth a worker (checked 0: mja_auth_connect_offer, MJA_HOLD
 * then), or done on another thread already (checked 1:
 * mja_auth_connect_verified; its answer and, on MJA_OK, the token, taken). */
struct pre {
	int checked;
	mja_err err;
	mja_token *token;
};

/* Steps 1-7 with a check done elsewhere: its claims judged again with now
 * (time has passed since), then stored in the cache as a check here would
 * have stored it. */
static mja_err take_verified(const mja_config *cfg, const char *tok, size_t len, int64_t now,
		struct pre *pre, mja_token **t)
{
	mja_err e = pre->err;

	mja_cache_miss(cfg->cache);   /* the check the cache could not spare */
	*t = pre->token;
	pre->token = NULL;
	if (e == MJA_OK && !*t)
		e = MJA_ERR_INTERNAL;
	if (e == MJA_OK)
		e = mja_claims_check((*t)->payload, &cfg->files->verify.claims, now);
	if (e == MJA_OK)
		e = mja_cache_put(cfg->cache, cfg->files->keys, &cfg->files->verify, tok, len,
				*t);
	if (e != MJA_OK) {
		mja_token_free(*t);
		*t = NULL;
	}
	return e;
}

static mja_decision token_decide(const mja_config *cfg, const char *tok, size_t len,
		const char *username, const char *clientid, int64_t now, int keep_token,
		struct pre *pre, mja_principal **out, mja_err *why)
{
	mja_token *t = NULL;
	mja_err e;

	if (out)
		*out = NULL;
	if (why)
		*why = MJA_OK;
	mja_diag_clear(&detail);
	if (!cfg || !cfg->files || !out)
		return deny(why, MJA_ERR_INVAL);
	if (!tok || len == 0)
		return deny(why, MJA_ERR_NO_TOKEN);
	/* docs/design.md, "Token rules" 1-7: shape, header, key, signature,
	 * payload, claims; a check done elsewhere, or offered to a worker */
	if (pre && pre->checked) {
		e = take_verified(cfg, tok, len, now, pre, &t);
	} else if (pre) {
		int elsewhere;

		e = mja_cache_verify_here(cfg->cache, cfg->files->keys, &cfg->files->verify,
				tok, len, now, &t, &elsewhere);
		if (e == MJA_OK && elsewhere)
			return MJA_HOLD;
	} else {
		e = mja_cache_verify(cfg->cache, cfg->files->keys, &cfg->files->verify,
				tok, len, now, &t);
	}
	if (cfg->jwks && (e == MJA_ERR_UNKNOWN_KID || e == MJA_ERR_NO_KEY ||
			e == MJA_ERR_ALG_NOT_ALLOWED))
		e = jwks_miss(cfg, tok, len, now, e);
	if (e != MJA_OK)
		return deny(why, e);
	/* the sub is the identity of the session and of every ACL decision;
	 * its form ("Token rules" 7, mja_sub_valid) was checked by
	 * mja_claims_check, which every accepted token passed, from the cache
	 * too (claims.h) */
	if (!t->sub) {
		e = MJA_ERR_MISSING_CLAIM;
		goto out;
	}
	/* revocation_file: checked on every use, never cached */
	if (cfg->revoked) {
		mja_revoke_query q = query_of(t);

		e = mja_revoke_check(cfg->revoked, &q);
		if (e != MJA_OK)
			goto out;
	}
	/* "Token rules" 8: a username beside a password token must equal sub */
	if (cfg->username_match == MJA_MATCH_SUB && cfg->token_field == MJA_TOKEN_FIELD_PASSWORD &&
	    username && username[0] && !str_eq_sub(username, t->sub)) {
		e = MJA_ERR_USERNAME_MISMATCH;
		goto out;
	}
	/* "Token rules" 8: the MQTT client id must equal sub */
	if (cfg->clientid_match == MJA_MATCH_SUB && !str_eq_sub(clientid, t->sub)) {
		e = MJA_ERR_CLIENTID_MISMATCH;
		goto out;
	}
	/* claim_match: EMQX's verify_claims */
	for (size_t i = 0; i < cfg->n_claim_match; i++) {
		if (!claim_matches(&cfg->claim_match[i], t->payload, clientid,
				token_field_is_username(cfg) ? NULL : username)) {
			e = MJA_ERR_CLAIM_MISMATCH;
			goto out;
		}
	}
	e = principal_new(cfg, t, tok, len, keep_token,
			token_field_is_username(cfg) ? NULL : username, out);
out:
	mja_token_free(t);
	if (e != MJA_OK)
		return deny(why, e);
	return MJA_ALLOW;
}

mja_decision mja_auth_token(const mja_config *cfg, const char *tok, size_t len,
		const char *username, const char *clientid, int64_t now, int keep_token,
		mja_principal **out, mja_err *why)
{
	return token_decide(cfg, tok, len, username, clientid, now, keep_token, NULL, out, why);
}

/* The token field chosen by token_field; NULL when absent or empty (the
 * broker passes empty fields as NULL already). */
static const char *token_of(const mja_config *cfg, const char *username, const char *password)
{
	const char *tok = cfg->token_field == MJA_TOKEN_FIELD_USERNAME ? username : password;

	return tok && tok[0] ? tok : NULL;
}

/* Three dot-separated segments, the first non-empty: the part of the JWT
 * shape (mja_token_looks_like_jwt) found without a pass over every byte. */
static int three_segments(const char *tok, size_t len)
{
	const char *d1 = memchr(tok, '.', len), *d2;

	if (!d1 || d1 == tok)
		return 0;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
	return d2 && !memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok));
}

/* README.md, option non_jwt: a token that is not shaped like a JWT. */
static mja_decision not_jwt(const mja_config *cfg, mja_err *why)
{
	if (cfg->non_jwt == MJA_NON_JWT_DENY)
		return deny(why, MJA_ERR_NOT_JWT);
	return MJA_DEFER;
}

static mja_decision connect_with(const mja_config *cfg, const char *username,
		const char *password, const char *clientid, int64_t now, struct pre *pre,
		mja_principal **out, mja_err *why)
{
	const char *tok;
	mja_decision r;
	size_t len;

	if (out)
		*out = NULL;
	if (why)
		*why = MJA_OK;
	mja_diag_clear(&detail);
	if (!cfg || !out)
		return deny(why, MJA_ERR_INVAL);
	tok = token_of(cfg, username, password);
	if (!tok) {
		if (cfg->non_jwt == MJA_NON_JWT_DENY)
			return deny(why, MJA_ERR_NO_TOKEN);
		return MJA_DEFER;
	}
	len = strlen(tok);
	/* README.md, option non_jwt: not three base64url segments -> not
	 * ours, or refused.
	 * A JWT-shaped value longer than max_token_bytes is ours and is refused
	 * by the verifier before any parsing (docs/design.md, "Token rules" 1). */
	if (!three_segments(tok, len))
		return not_jwt(cfg, why);
	/* token_field username: keep the token for the SIGHUP re-check, the
	 * glue replaces the username field that held it (auth.h) */
	r = token_decide(cfg, tok, len, username, clientid, now,
			cfg->token_field == MJA_TOKEN_FIELD_USERNAME, pre, out, why);
	/* The rest of the shape, the base64url alphabet, is asked only of a
	 * refused token: one the verifier accepted has the whole shape by
	 * construction (three segments of strict base64url, the first
	 * non-empty; token.h), and a refused one that lacks it was never ours.
	 * A token offered to a worker is asked too: it would be refused. */
	if ((r == MJA_DENY || r == MJA_HOLD) && !mja_token_looks_like_jwt(tok, len)) {
		if (why)
			*why = MJA_OK;
		return not_jwt(cfg, why);
	}
	return r;
}

mja_decision mja_auth_connect(const mja_config *cfg, const char *username,
		const char *password, const char *clientid, int64_t now,
		mja_principal **out, mja_err *why)
{
	return connect_with(cfg, username, password, clientid, now, NULL, out, why);
}

mja_decision mja_auth_connect_offer(const mja_config *cfg, const char *username,
		const char *password, const char *clientid, int64_t now,
		mja_principal **out, mja_err *why)
{
	struct pre pre = { .checked = 0 };

	return connect_with(cfg, username, password, clientid, now, &pre, out, why);
}

mja_decision mja_auth_connect_verified(const mja_config *cfg, const char *username,
		const char *password, const char *clientid, int64_t now, mja_err verify_err,
		mja_token *verified, mja_principal **out, mja_err *why)
{
	struct pre pre = { .checked = 1, .err = verify_err, .token = verified };
	mja_decision r = connect_with(cfg, username, password, clientid, now, &pre, out, why);

	mja_token_free(pre.token);   /* not taken: the token was not one to verify */
	return r;
}

/* docs/design.md, "Re-authentication": a re-authentication or re-check
 * may refresh the token, never change whom the session belongs to. */
static mja_decision same_sub(mja_decision r, const mja_principal *old,
		mja_principal **out, mja_err *why)
{
	if (r != MJA_ALLOW)
		return r;
	if (strcmp((*out)->sub, old->sub) != 0) {
		mja_principal_free(*out);
		*out = NULL;
		return deny(why, MJA_ERR_REAUTH_SUB);
	}
	return MJA_ALLOW;
}

mja_decision mja_auth_reauth(const mja_config *cfg, const mja_principal *old,
		const char *tok, size_t len, const char *username, const char *clientid,
		int64_t now, mja_principal **out, mja_err *why)
{
	mja_decision r;

	if (out)
		*out = NULL;
	mja_diag_clear(&detail);
	if (!old || !old->sub)
		return deny(why, MJA_ERR_INVAL);
	/* the name the CONNECT bound (the broker's is the sub by now) */
	(void)username;
	r = mja_auth_token(cfg, tok, len, old->login_username, clientid, now, 1, out, why);
	return same_sub(r, old, out, why);
}

mja_decision mja_auth_recheck(const mja_config *cfg, const mja_principal *old,
		const char *username, const char *password, const char *clientid,
		int64_t now, mja_principal **out, mja_err *why)
{
	const char *tok;
	mja_decision r;

	if (out)
		*out = NULL;
	if (why)
		*why = MJA_OK;
	mja_diag_clear(&detail);
	if (!cfg || !old || !old->sub || !out)
		return deny(why, MJA_ERR_INVAL);
	/* an enhanced-auth client's token came in AUTH data, never in the
	 * username / password fields: re-verify the stored copy */
	tok = token_of(cfg, username, password);
	if (old->token)
		r = mja_auth_token(cfg, old->token, old->token_len, old->login_username,
				clientid, now, 1, out, why);
	else if (tok)
		r = mja_auth_token(cfg, tok, strlen(tok), old->login_username, clientid, now,
				0, out, why);
	else
		return deny(why, MJA_ERR_NO_TOKEN);
	return same_sub(r, old, out, why);
}

mja_err mja_auth_revoked(const mja_config *cfg, const mja_principal *p)
{
	mja_revoke_query q = { 0 };

	if (!cfg || !p || !cfg->revoked)
		return MJA_OK;
	q.jti = p->jti;
	q.kid = p->kid;
	q.sub = p->sub;
	q.has_iat = p->has_iat;
	q.iat = p->iat;
	return mja_revoke_check(cfg->revoked, &q);
}

int mja_auth_expired(const mja_config *cfg, const mja_principal *p, int64_t now)
{
	int64_t leeway = cfg ? cfg->leeway : 0;

	if (!p)
		return 1;
	if (!p->has_exp)
		return 0;
	/* RFC 7519 4.1.4: expired iff exp + leeway <= now; compare as
	 * exp <= now - leeway where that cannot overflow */
	if (leeway < 0)
		leeway = 0;
	if (now < INT64_MIN + leeway)
		return 0;
	return p->exp <= now - leeway;
}

mja_decision mja_auth_acl(const mja_config *cfg, const mja_principal *p,
		const char *clientid, const char *username,
		const char *topic, size_t topiclen, int access, int qos, int retain,
		int64_t now, int ignore_expiry, mja_err *why)
{
	mja_acl_who who;

	if (why)
		*why = MJA_OK;
	if (!cfg || !cfg->files || !p)
		return deny(why, MJA_ERR_INVAL);
	if (!mja_config_topic_decisions(cfg))
		return MJA_DEFER;
	/* docs/design.md, "ACL semantics": an expired token is denied everything */
	if (!ignore_expiry && mja_auth_expired(cfg, p, now))
		return deny(why, MJA_ERR_EXPIRED);
	if (!topic)
		return deny(why, MJA_ERR_INVAL);
	if (p->superuser)
		return MJA_ALLOW;
	who.sub = p->sub;
	who.clientid = clientid;
	who.username = username;
	who.roles = (const char *const *)p->roles;
	who.n_roles = p->n_roles;
	if (p->acl_claim) {
		int r = mja_aclclaim_check(p->acl_claim, &who, topic, topiclen, access, qos, retain);

		if (r != MJA_ACLCLAIM_NOMATCH)
			return r == MJA_ACLCLAIM_ALLOW ? MJA_ALLOW : MJA_DENY;
	}
	if (!cfg->files->acl)
		return MJA_DENY;
	return mja_acl_check(cfg->files->acl, &who, topic, topiclen, access) ? MJA_ALLOW : MJA_DENY;
}
