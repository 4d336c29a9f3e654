/* claims.c - registered-claim validation (RFC 7519 4.1; docs/design.md, Token rules).
 *
 * NumericDate values (RFC 7519 2) may be JSON integers or reals, of any
 * size or sign. They are compared exactly against 128-bit integer bounds
 * computed from int64 inputs, so nothing can wrap: a 1e300 exp is simply
 * far in the future, a negative exp far in the past.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mja/token/claims.h"
#include "mja/util/text.h"

typedef __int128 wide;

/* 2^64 as a double: beyond this a double cannot be near any bound, which
 * is always within int64 +/- int64. */
#define TWO64 18446744073709551616.0

/* floor(d) for |d| < 2^65, without libm. The truncated value is exactly
 * representable as a double (it is a double's integer part), so the
 * comparison with d is exact too. */
static wide floor_wide(double d)
{
	wide x = (wide)d;

	if ((double)x > d)
		x--;
	return x;
}

/* Compare the JSON number v with the integer t: -1, 0 or 1, exactly. */
static int num_cmp(const json_t *v, wide t)
{
	if (json_is_integer(v)) {
		wide x = json_integer_value(v);

		return x < t ? -1 : x > t;
	} else {
		double d = json_real_value(v);
		wide x;

		if (d >= TWO64 * 2)
			return 1;
		if (d <= -TWO64 * 2)
			return -1;
		x = floor_wide(d);
		if (x != t)
			return x < t ? -1 : 1;
		return d > (double)x;  /* equal integer part: a fraction is more */
	}
}

/* A present NumericDate must be a finite JSON number (RFC 7519 2, 4.1.4-6). */
static int numeric_date_ok(const json_t *v)
{
	if (!v)
		return 1;
	if (json_is_integer(v))
		return 1;
	return json_is_real(v) && isfinite(json_real_value(v));
}

static int string_eq(const json_t *s, const char *want)
{
	size_t n = strlen(want);

	return json_is_string(s) && json_string_length(s) == n &&
		memcmp(json_string_value(s), want, n) == 0;
}

static int one_of(const json_t *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && string_eq(s, list[i]))
			return 1;
	return 0;
}

/* RFC 7519 4.1.3: aud is a string or an array of strings; the token is for
 * us if any of its values is one of ours. Non-string members never match. */
static int audience_ok(const json_t *aud, const mja_claim_rules *r)
{
	size_t i;
	const json_t *v;

	if (json_is_string(aud))
		return one_of(aud, r->audiences, r->n_audiences);
	if (!json_is_array(aud))
		return 0;
	json_array_foreach(aud, i, v) {
		if (one_of(v, r->audiences, r->n_audiences))
			return 1;
	}
	return 0;
}

/* max_token_age: exp - iat <= max, computed without subtraction overflow. */
static int lifetime_ok(const json_t *exp, const json_t *iat, int64_t max)
{
	if (json_is_integer(iat))
		return num_cmp(exp, (wide)json_integer_value(iat) + max) <= 0;
	if (json_is_integer(exp))
		return num_cmp(iat, (wide)json_integer_value(exp) - max) >= 0;
	/* both reals: long double holds every double exactly, and a
	 * difference that rounds is astronomically larger than any max */
	return (long double)json_real_value(exp) - json_real_value(iat) <= (long double)max;
}

void mja_json_pick(const json_t *obj, const char *const *names, size_t n,
		const json_t **out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	if (!json_is_object(obj))
		return;
	/* the iterator itself: json_object_keylen_foreach converts between
	 * keys and iterators three times a member */
	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *key = json_object_iter_key(it);

		for (size_t i = 0; i < n; i++) {
			/* first byte first: keys are NUL-terminated, names non-empty */
			if (names[i][0] == key[0]) {
				size_t keylen = json_object_iter_key_len(it);

				if (strlen(names[i]) == keylen && memcmp(names[i], key, keylen) == 0) {
					out[i] = json_object_iter_value(it);
					break;
				}
			}
		}
	}
}

enum { C_EXP, C_NBF, C_IAT, C_ISS, C_AUD, C_SUB, C_JTI, C__N };
static const char *const registered[C__N] = { "exp", "nbf", "iat", "iss", "aud", "sub", "jti" };

mja_err mja_claims_check(const json_t *payload, const mja_claim_rules *r, int64_t now)
{
	return mja_claims_check_found(payload, r, now, NULL);
}

/* A required claim: the registered ones are already picked. */
static int present(const json_t *payload, const json_t *const c[C__N], const char *name)
{
	for (size_t i = 0; i < C__N; i++)
		if (strcmp(name, registered[i]) == 0)
			return c[i] != NULL;
	return json_object_get(payload, name) != NULL;
}

mja_err mja_claims_check_found(const json_t *payload, const mja_claim_rules *r, int64_t now,
		mja_claims_found *found)
{
	const json_t *c[C__N], *exp, *nbf, *iat, *sub;
	int64_t leeway;

	if (!json_is_object(payload) || !r)
		return MJA_ERR_INVAL;
	leeway = r->leeway > 0 ? r->leeway : 0;
	mja_json_pick(payload, registered, C__N, c);
	exp = c[C_EXP];
	nbf = c[C_NBF];
	iat = c[C_IAT];

	/* RFC 7519 4.1.4 - 4.1.6: NumericDate values. */
	if (!numeric_date_ok(exp) || !numeric_date_ok(nbf) || !numeric_date_ok(iat))
		return MJA_ERR_BAD_PAYLOAD;

	for (size_t i = 0; i < r->n_required; i++)
		if (!r->required[i] || !present(payload, c, r->required[i]))
			return MJA_ERR_MISSING_CLAIM;

	/* RFC 7519 4.1.4: refuse on or after exp (plus leeway): exp + leeway > now. */
	if (exp && num_cmp(exp, (wide)now - leeway) <= 0)
		return MJA_ERR_EXPIRED;
	/* RFC 7519 4.1.5: refuse before nbf: nbf - leeway <= now. */
	if (nbf && num_cmp(nbf, (wide)now + leeway) > 0)
		return MJA_ERR_NOT_YET_VALID;
	/* RFC 7519 4.1.6 / RFC 8725 3.10: an iat in the future is a clock or
	 * issuer error: iat - leeway <= now. */
	if (iat && num_cmp(iat, (wide)now + leeway) > 0)
		return MJA_ERR_IAT_FUTURE;

	/* RFC 7519 4.1.1, RFC 8725 3.8: issuer. */
	if (r->n_issuers && !one_of(c[C_ISS], r->issuers, r->n_issuers))
		return MJA_ERR_ISSUER;
	/* RFC 7519 4.1.3, RFC 8725 3.9: audience; refuse if absent. */
	if (r->n_audiences && !audience_ok(c[C_AUD], r))
		return MJA_ERR_AUDIENCE;

	if (r->max_token_age > 0) {
		/* max_token_age (README): now - iat <= max + leeway ... */
		if (!iat || num_cmp(iat, (wide)now - r->max_token_age - leeway) < 0)
			return MJA_ERR_TOO_OLD;
		/* ... and exp - iat <= max */
		if (exp && !lifetime_ok(exp, iat, r->max_token_age))
			return MJA_ERR_TOO_OLD;
	}

	/* RFC 7519 4.1.2 (docs/design.md, Token rules 7): sub, when present,
	 * names an MQTT subject (text.h's sub rule). */
	sub = c[C_SUB];
	if (sub && (!json_is_string(sub) ||
			!mja_sub_valid(json_string_value(sub), json_string_length(sub))))
		return MJA_ERR_BAD_SUB;
	if (found) {
		found->exp = exp;
		found->sub = sub;
		found->iat = iat;
		found->jti = c[C_JTI];
	}
	return MJA_OK;
}

int mja_claims_exp(const json_t *payload, int64_t *exp)
{
	return mja_claims_exp_value(json_object_get(payload, "exp"), exp);
}

int mja_claims_exp_value(const json_t *v, int64_t *exp)
{
	double d;

	if (!exp || !v)
		return 0;
	if (json_is_integer(v)) {
		*exp = json_integer_value(v);
		return 1;
	}
	if (!json_is_real(v) || isnan(json_real_value(v)))
		return 0;
	d = json_real_value(v);
	/* -2^63 is exact in a double; 2^63 is the first value out of range */
	if (d >= 9223372036854775808.0)
		*exp = INT64_MAX;
	else if (d < -9223372036854775808.0)
		*exp = INT64_MIN;
	else {
		/* Round up: with whole-second clocks "exp + leeway <= now" and
		 * "ceil(exp) + leeway <= now" agree, so a principal's exp expires
		 * exactly when the claims check starts refusing the token. */
		wide x = floor_wide(d);

		if ((double)x < d)
			x++;
		*exp = x > INT64_MAX ? INT64_MAX : (int64_t)x;
	}
	return 1;
}

/* Walk the dotted path through nested objects; NULL if any step is missing. */
static const json_t *path_get(const json_t *v, const char *path)
{
	const char *seg = path;

	for (;;) {
		const char *dot = strchr(seg, '.');
		size_t n = dot ? (size_t)(dot - seg) : strlen(seg);

		if (n == 0 || !json_is_object(v))
			return NULL;
		v = json_object_getn(v, seg, n);
		if (!v || !dot)
			return v;
		seg = dot + 1;
	}
}

/* A role name with an embedded NUL would be cut short by strdup and could
 * then equal a real role name: such a value is not a role. */
static int role_string_ok(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

mja_err mja_claims_roles(const json_t *payload, const char *path, char ***roles, size_t *n)
{
	const json_t *v, *m;
	char **out;
	size_t cnt = 0, i;

	if (!roles || !n)
		return MJA_ERR_INVAL;
	*roles = NULL;
	*n = 0;
	if (!path || !json_is_object(payload))
		return MJA_OK;
	v = path_get(payload, path);
	if (role_string_ok(v)) {
		out = malloc(sizeof(*out));
		if (!out || !(out[0] = strdup(json_string_value(v)))) {
			free(out);
			return MJA_ERR_NOMEM;
		}
		*roles = out;
		*n = 1;
		return MJA_OK;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return MJA_OK;
	out = calloc(json_array_size(v), sizeof(*out));
	if (!out)
		return MJA_ERR_NOMEM;
	json_array_foreach(v, i, m) {
		if (!role_string_ok(m))
			continue;
		out[cnt] = strdup(json_string_value(m));
		if (!out[cnt]) {
			mja_claims_roles_free(out, cnt);
			return MJA_ERR_NOMEM;
		}
		cnt++;
	}
	if (cnt == 0) {
		free(out);
		return MJA_OK;
	}
	*roles = out;
	*n = cnt;
	return MJA_OK;
}

void mja_claims_roles_free(char **roles, size_t n)
{
	if (!roles)
		return;
	for (size_t i = 0; i < n; i++)
		free(roles[i]);
	free(roles);
}
