/* mosquitto_jwt_sign.c - `mosquitto_jwt sign`: make a signed token.
 *
 * Keys are loaded and tokens signed by mja_core (key.c, token.c, sig.c);
 * this file only turns the command line into a payload.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "mja/token/b64url.h"
#include "mja/token/claims.h"
#include "mja/util/file.h"
#include "mja/token/key.h"
#include "mja/util/text.h"
#include "mja/token/token.h"
#include "mosquitto_jwt.h"

#define CMD "sign"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: mosquitto_jwt sign --key FILE [options]\n"
		"\n"
		"Print a signed compact JWT (JWS) on stdout.\n"
		"\n"
		"  --key FILE        private key: PEM (PKCS#8, RSA, EC, Ed25519) or a private\n"
		"                    JWK; any other file is read as an HMAC secret file\n"
		"  --secret FILE     an HMAC secret file: its bytes less one trailing newline,\n"
		"                    as the plugin's secret_file reads it\n"
		"  --alg ALG         HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512\n"
		"                    ES256 ES384 ES512 EdDSA (default: the first the key\n"
		"                    fits in that order: HS256, RS256, ES256/384/512, EdDSA)\n"
		"  --sub SUB         subject (the device's identity in the ACL file)\n"
		"  --ttl SECONDS     exp = now + SECONDS (default 3600; may be negative)\n"
		"  --no-exp          no exp claim (the plugin requires exp by default)\n"
		"  --iat TIME        issued-at (default: now); 'none' leaves it out\n"
		"  --nbf TIME        not-before (default: none)\n"
		"  --aud AUD         audience; repeat for an array\n"
		"  --iss ISS         issuer\n"
		"  --role ROLE       a role, repeatable; written as an array at --roles-claim\n"
		"  --roles-claim P   dotted path of the roles claim (default: roles), e.g.\n"
		"                    realm_access.roles\n"
		"  --claim NAME=VAL  another claim, repeatable; VAL is JSON if it parses as\n"
		"                    JSON (42, true, [\"a\"], {\"k\":1}, \"s\"), else a string\n"
		"  --kid ID          key id in the header (default: the JWK's kid, if any)\n"
		"  --now SECONDS     the clock, seconds since 1970 (default: the system clock)\n"
		"  -h, --help        this text\n"
		"\n"
		"TIME is seconds since 1970, or +N / -N seconds from now, or 'now'.\n"
		"\n"
		"Exit codes: 0 token printed, 2 usage error, 3 the key cannot be read or used.\n");
}

/* TIME: "now", "+N", "-N" (relative), or absolute seconds. */
static int parse_time(const char *s, int64_t now, int64_t *out)
{
	int64_t v;

	if (!strcmp(s, "now")) {
		*out = now;
		return 0;
	}
	if (s[0] == '+' || s[0] == '-') {
		if (mjt_parse_int64(s + 1, 0, INT32_MAX * 64LL, &v) != 0)
			return -1;
		*out = s[0] == '+' ? now + v : now - v;
		return 0;
	}
	return mjt_parse_int64(s, 0, INT64_MAX / 2, out);
}

/* Set payload[path] = val for a dotted path, making objects on the way.
 * Steals val. -1 if a member on the way is not an object, or the leaf is
 * already set. */
static int set_path(json_t *obj, const char *path, json_t *val)
{
	const char *dot;
	char *name;
	json_t *next;

	while ((dot = strchr(path, '.')) != NULL) {
		name = strndup(path, (size_t)(dot - path));
		if (!name || !*name) {
			free(name);
			goto fail;
		}
		next = json_object_get(obj, name);
		if (!next) {
			next = json_object();
			if (json_object_set_new(obj, name, next)) {
				free(name);
				goto fail;
			}
		}
		free(name);
		if (!json_is_object(next))
			goto fail;
		obj = next;
		path = dot + 1;
	}
	if (!*path || json_object_get(obj, path))
		goto fail;
	return json_object_set_new(obj, path, val);
fail:
	json_decref(val);
	return -1;
}

/* The secret exactly as the plugin's secret_file reads it: load the file
 * into a key set (key.c applies the plugin's rules: one trailing newline
 * dropped, at least 32 bytes), then copy its bytes, which the JWK's "k"
 * carries, into a key that may sign (key-set secrets only verify). */
static mja_err load_secret(const char *path, mja_key **out, mja_diag *d)
{
	mja_keyset *ks = mja_keyset_new();
	char *jwk = NULL;
	json_t *o = NULL;
	const char *k64;
	unsigned char *raw = NULL;
	size_t n = 0;
	mja_err e;

	if (!ks)
		return MJA_ERR_NOMEM;
	e = mja_keyset_load_secret_file(ks, path, d);
	if (e == MJA_OK)
		e = mja_key_public_jwk(mja_keyset_get(ks, 0), NULL, &jwk);
	if (e == MJA_OK) {
		e = MJA_ERR_INTERNAL;
		o = json_loads(jwk, 0, NULL);
		k64 = json_string_value(json_object_get(o, "k"));
		if (k64)
			raw = malloc(mja_b64url_decoded_max(strlen(k64)) + 1);
		if (raw && mja_b64url_decode(k64, strlen(k64), raw, &n) == MJA_OK)
			e = mja_key_from_secret(raw, n, NULL, out, d);
	}
	if (raw) {
		OPENSSL_cleanse(raw, n);
		free(raw);
	}
	if (jwk)
		mjt_free_secret(jwk, strlen(jwk));
	json_decref(o); /* jansson's copy of k: freed; jansson offers no scrub */
	mja_keyset_free(ks);
	return e;
}

/* Load --key / --secret into *key (owned by the caller). */
static int load_key(const char *path, int is_secret, mja_key **key)
{
	char *buf = NULL;
	size_t len, i;
	mja_diag d = { 0 };
	mja_err e;
	int pem_or_jwk = 0;

	if (!is_secret) {
		/* file.h: regular files only, so a FIFO fails at once */
		if (mja_file_read(path, MJA_KEY_FILE_MAX, 0, &buf, &len, &d) != MJA_OK) {
			mjt_error(CMD, "cannot read %s", d.text);
			return MJT_EXIT_IO;
		}
		for (i = 0; i < len && mja_text_is_space((unsigned char)buf[i]); i++)
			;
		if (i < len && (buf[i] == '{' || (len - i >= 10 && !memcmp(buf + i, "-----BEGIN", 10))))
			pem_or_jwk = 1;
		mja_file_free(buf, len);
		mja_diag_clear(&d);
	}
	if (pem_or_jwk)
		e = mja_key_load_private_file(path, NULL, key, &d);
	else
		e = load_secret(path, key, &d);
	if (e != MJA_OK) {
		mjt_error(CMD, "%s: %s%s%s", path, mja_strerror(e), d.text[0] ? ": " : "", d.text);
		return MJT_EXIT_IO;
	}
	return MJT_EXIT_OK;
}

/* NAME=VALUE: VALUE as JSON if it parses as a JSON text, else a string. */
static int add_claim(json_t *payload, const char *arg)
{
	const char *eq = strchr(arg, '=');
	json_t *val;
	char *name;
	int rc;

	if (!eq || eq == arg) {
		mjt_error(CMD, "--claim '%s': expected NAME=VALUE", arg);
		return MJT_EXIT_USAGE;
	}
	val = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (!val)
		val = json_string(eq + 1);
	if (!val) {
		mjt_error(CMD, "--claim '%s': the value is not valid UTF-8", arg);
		return MJT_EXIT_USAGE;
	}
	name = strndup(arg, (size_t)(eq - arg));
	if (!name) {
		json_decref(val);
		mjt_error(CMD, "out of memory");
		return MJT_EXIT_IO;
	}
	if (json_object_get(payload, name)) {
		mjt_error(CMD, "--claim '%s': claim '%s' is already set", arg, name);
		json_decref(val);
		rc = MJT_EXIT_USAGE;
	} else {
		rc = json_object_set_new(payload, name, val) ? MJT_EXIT_IO : MJT_EXIT_OK;
	}
	free(name);
	return rc;
}

struct sign_args {
	const char *key, *secret, *alg, *sub, *iss, *kid, *iat, *nbf;
	const char *roles_claim;
	int64_t ttl, now;
	int no_exp, have_now;
	const char **aud, **roles, **claims;
	size_t n_aud, n_roles, n_claims;
};

static int push(const char ***arr, size_t *n, const char *v)
{
	const char **na = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!na)
		return -1;
	na[(*n)++] = v;
	*arr = na;
	return 0;
}

/* The payload in a readable order: iss sub aud iat nbf exp roles, then --claim. */
static int build_payload(const struct sign_args *a, json_t **out)
{
	json_t *p = json_object(), *arr;
	int64_t t = 0;
	size_t i;
	int rc = MJT_EXIT_USAGE;

	*out = NULL;
	if (!p)
		return MJT_EXIT_IO;
	if (a->iss && json_object_set_new(p, "iss", json_string(a->iss)))
		goto bad_utf8;
	if (a->sub) {
		if (json_object_set_new(p, "sub", json_string(a->sub)))
			goto bad_utf8;
		if (!mja_sub_valid(a->sub, strlen(a->sub)))
			fprintf(stderr, "mosquitto_jwt sign: warning: the plugin refuses this sub "
					"(1 to 256 bytes of UTF-8, no '+', '#' or control character)\n");
	}
	if (a->n_aud == 1) {
		if (json_object_set_new(p, "aud", json_string(a->aud[0])))
			goto bad_utf8;
	} else if (a->n_aud > 1) {
		arr = json_array();
		for (i = 0; arr && i < a->n_aud; i++)
			if (json_array_append_new(arr, json_string(a->aud[i]))) {
				json_decref(arr);
				goto bad_utf8;
			}
		if (json_object_set_new(p, "aud", arr))
			goto bad_utf8;
	}
	if (!a->iat || strcmp(a->iat, "none") != 0) {
		if (a->iat && parse_time(a->iat, a->now, &t) != 0) {
			mjt_error(CMD, "--iat: not a time: '%s'", a->iat);
			goto out;
		}
		json_object_set_new(p, "iat", json_integer(a->iat ? t : a->now));
	}
	if (a->nbf) {
		if (parse_time(a->nbf, a->now, &t) != 0) {
			mjt_error(CMD, "--nbf: not a time: '%s'", a->nbf);
			goto out;
		}
		json_object_set_new(p, "nbf", json_integer(t));
	}
	if (!a->no_exp)
		json_object_set_new(p, "exp", json_integer(a->now + a->ttl));
	if (a->n_roles) {
		arr = json_array();
		for (i = 0; arr && i < a->n_roles; i++)
			if (json_array_append_new(arr, json_string(a->roles[i]))) {
				json_decref(arr);
				goto bad_utf8;
			}
		if (!arr || set_path(p, a->roles_claim, arr) != 0) {
			mjt_error(CMD, "--roles-claim '%s': not a usable claim path", a->roles_claim);
			goto out;
		}
	}
	for (i = 0; i < a->n_claims; i++) {
		rc = add_claim(p, a->claims[i]);
		if (rc != MJT_EXIT_OK)
			goto out;
	}
	*out = p;
	return MJT_EXIT_OK;
bad_utf8:
	mjt_error(CMD, "a claim value is not valid UTF-8");
out:
	json_decref(p);
	return rc;
}

/* The default algorithm: the first, in mja_alg order, that the key fits. */
static int pick_alg(const mja_key *k, const char *name, mja_alg *alg)
{
	if (name) {
		if (mja_alg_from_name(name, strlen(name), alg) != MJA_OK) {
			mjt_error(CMD, "--alg: unknown algorithm '%s'", name);
			return MJT_EXIT_USAGE;
		}
		if (!mja_key_fits(k, *alg)) {
			mjt_error(CMD, "the key cannot sign %s (%s)", name, mja_strerror(MJA_ERR_NO_KEY));
			return MJT_EXIT_IO;
		}
		return MJT_EXIT_OK;
	}
	for (int i = 0; i < MJA_ALG__COUNT; i++) {
		if (mja_key_fits(k, (mja_alg)i)) {
			*alg = (mja_alg)i;
			return MJT_EXIT_OK;
		}
	}
	mjt_error(CMD, "the key fits no algorithm (an HMAC secret needs 32 bytes or more)");
	return MJT_EXIT_IO;
}

int mjt_sign(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "secret", required_argument, NULL, 'S' },
		{ "alg", required_argument, NULL, 'a' },
		{ "sub", required_argument, NULL, 's' },
		{ "ttl", required_argument, NULL, 't' },
		{ "no-exp", no_argument, NULL, 'E' },
		{ "iat", required_argument, NULL, 'I' },
		{ "nbf", required_argument, NULL, 'N' },
		{ "aud", required_argument, NULL, 'A' },
		{ "iss", required_argument, NULL, 'i' },
		{ "role", required_argument, NULL, 'r' },
		{ "roles-claim", required_argument, NULL, 'R' },
		{ "claim", required_argument, NULL, 'c' },
		{ "kid", required_argument, NULL, 'K' },
		{ "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sign_args a = { .ttl = 3600, .roles_claim = "roles" };
	mja_key *key = NULL;
	json_t *payload = NULL, *hdr = NULL;
	char *tok = NULL;
	mja_alg alg;
	mja_err e;
	int c, rc = MJT_EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		switch (c) {
		case 'k': a.key = optarg; break;
		case 'S': a.secret = optarg; break;
		case 'a': a.alg = optarg; break;
		case 's': a.sub = optarg; break;
		case 't':
			if (mjt_parse_int64(optarg, -INT32_MAX * 64LL, INT32_MAX * 64LL, &a.ttl) != 0) {
				mjt_error(CMD, "--ttl: not a number of seconds: '%s'", optarg);
				goto out;
			}
			break;
		case 'E': a.no_exp = 1; break;
		case 'I': a.iat = optarg; break;
		case 'N': a.nbf = optarg; break;
		case 'i': a.iss = optarg; break;
		case 'R': a.roles_claim = optarg; break;
		case 'K': a.kid = optarg; break;
		case 'n':
			if (mjt_parse_int64(optarg, 0, INT64_MAX / 4, &a.now) != 0) {
				mjt_error(CMD, "--now: not a time in seconds: '%s'", optarg);
				goto out;
			}
			a.have_now = 1;
			break;
		case 'A':
		case 'r':
		case 'c':
			if (push(c == 'A' ? &a.aud : c == 'r' ? &a.roles : &a.claims,
					c == 'A' ? &a.n_aud : c == 'r' ? &a.n_roles : &a.n_claims, optarg)) {
				mjt_error(CMD, "out of memory");
				rc = MJT_EXIT_IO;
				goto out;
			}
			break;
		case 'h': help(stdout); rc = MJT_EXIT_OK; goto out;
		default: rc = mjt_bad_option(CMD, c, argv); goto out;
		}
	}
	if (optind < argc) {
		mjt_error(CMD, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!a.key == !a.secret) {
		mjt_error(CMD, "give exactly one of --key FILE or --secret FILE");
		goto out;
	}
	if (!a.have_now)
		a.now = (int64_t)time(NULL);
	rc = build_payload(&a, &payload);
	if (rc != MJT_EXIT_OK)
		goto out;
	rc = load_key(a.key ? a.key : a.secret, a.secret != NULL, &key);
	if (rc != MJT_EXIT_OK)
		goto out;
	rc = pick_alg(key, a.alg, &alg);
	if (rc != MJT_EXIT_OK)
		goto out;
	if (a.kid) {
		hdr = json_pack("{s:s}", "kid", a.kid);
		if (!hdr) {
			mjt_error(CMD, "--kid: not valid UTF-8");
			rc = MJT_EXIT_USAGE;
			goto out;
		}
	}
	e = mja_token_sign(key, alg, hdr, payload, &tok);
	if (e != MJA_OK) {
		mjt_error(CMD, "cannot sign: %s", mja_strerror(e));
		rc = MJT_EXIT_IO;
		goto out;
	}
	puts(tok);
	rc = MJT_EXIT_OK;
out:
	free(tok);
	json_decref(hdr);
	json_decref(payload);
	mja_key_free(key);
	free(a.aud);
	free(a.roles);
	free(a.claims);
	return rc;
}
