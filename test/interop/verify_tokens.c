/* verify_tokens.c - the C side of the PyJWT interoperability suite.
 *
 *   verify_tokens verify MANIFEST
 *     Each line: NAME KIND KEYFILE ALGS NOW TOKENFILE (space separated),
 *     KIND "key" (mja_keyset_load_key_file) or "secret"
 *     (mja_keyset_load_secret_file), ALGS an allow-list or "-" (all).
 *     Prints "NAME<TAB>reason" per line, reason being mja_strerror() of
 *     mja_token_verify() with the rules below, or "load: ..." if the key
 *     file did not load.
 *
 *   verify_tokens sign KIND KEYFILE ALG KID NOW
 *     KIND "private" (mja_key_load_private_file) or "secret"; KID "-" for
 *     none. Prints a token from mja_token_sign() with the claims below.
 *
 * Claim rules: leeway 30, required exp and sub, issuer ISSUER, audience
 * AUDIENCE. Signed payload: sub SUBJECT, iss, aud, iat NOW, exp NOW + 600.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mja/key.h"
#include "mja/token.h"

#define ISSUER "https://issuer.example"
#define AUDIENCE "mqtt.example.com"
#define SUBJECT "interop-device"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
				n--;
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static const char *verify_one(const char *kind, const char *keyfile, const char *algs,
		long long now, const char *tokfile, char *msg, size_t msglen)
{
	static const char *const iss[] = { ISSUER };
	static const char *const aud[] = { AUDIENCE };
	static const char *const req[] = { "exp", "sub" };
	mja_verify_opts o = { 0 };
	mja_keyset *ks = mja_keyset_new();
	mja_diag d = { 0 };
	mja_token *t = NULL;
	mja_err e;
	char *tok;
	size_t len = 0;

	if (!ks)
		return "out of memory";
	e = strcmp(kind, "secret") == 0 ? mja_keyset_load_secret_file(ks, keyfile, &d)
		: mja_keyset_load_key_file(ks, keyfile, &d);
	if (e != MJA_OK) {
		snprintf(msg, msglen, "load: %s", d.text);
		mja_keyset_free(ks);
		return msg;
	}
	if (strcmp(algs, "-") != 0 &&
			mja_alg_set_parse(algs, strlen(algs), &o.algorithms, &d) != MJA_OK) {
		snprintf(msg, msglen, "algs: %s", d.text);
		mja_keyset_free(ks);
		return msg;
	}
	o.claims.leeway = 30;
	o.claims.issuers = iss;
	o.claims.n_issuers = 1;
	o.claims.audiences = aud;
	o.claims.n_audiences = 1;
	o.claims.required = req;
	o.claims.n_required = 2;
	tok = slurp(tokfile, &len);
	if (!tok) {
		mja_keyset_free(ks);
		return "cannot read token";
	}
	e = mja_token_verify(ks, &o, tok, len, (int64_t)now, &t);
	if (e == MJA_OK && (!t->sub || strcmp(t->sub, SUBJECT) != 0))
		snprintf(msg, msglen, "ok but sub is %s", t->sub ? t->sub : "(none)");
	else
		snprintf(msg, msglen, "%s", mja_strerror(e));
	mja_token_free(t);
	free(tok);
	mja_keyset_free(ks);
	return msg;
}

static int cmd_verify(const char *manifest)
{
	FILE *f = fopen(manifest, "r");
	char line[4096];

	if (!f) {
		perror(manifest);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[256], kind[16], keyfile[1024], algs[256], tokfile[1024], msg[700];
		long long now;

		if (sscanf(line, "%255s %15s %1023s %255s %lld %1023s", name, kind, keyfile, algs,
				&now, tokfile) != 6) {
			fprintf(stderr, "bad manifest line: %s", line);
			fclose(f);
			return 2;
		}
		printf("%s\t%s\n", name, verify_one(kind, keyfile, algs, now, tokfile,
				msg, sizeof(msg)));
	}
	fclose(f);
	return 0;
}

static int cmd_sign(const char *kind, const char *keyfile, const char *algname,
		const char *kid, long long now)
{
	mja_key *k = NULL;
	mja_diag d = { 0 };
	mja_alg alg;
	mja_err e;
	json_t *pay;
	char *tok = NULL;

	if (strcmp(kid, "-") == 0)
		kid = NULL;
	if (mja_alg_from_name(algname, strlen(algname), &alg) != MJA_OK) {
		fprintf(stderr, "unknown alg %s\n", algname);
		return 2;
	}
	if (strcmp(kind, "secret") == 0) {
		size_t len = 0;
		char *s = slurp(keyfile, &len);

		if (!s) {
			perror(keyfile);
			return 2;
		}
		e = mja_key_from_secret((const unsigned char *)s, len, kid, &k, &d);
		free(s);
	} else {
		e = mja_key_load_private_file(keyfile, kid, &k, &d);
	}
	if (e != MJA_OK) {
		fprintf(stderr, "key: %s: %s\n", mja_strerror(e), d.text);
		return 1;
	}
	pay = json_pack("{s:s, s:s, s:s, s:I, s:I}", "sub", SUBJECT, "iss", ISSUER,
			"aud", AUDIENCE, "iat", (json_int_t)now, "exp", (json_int_t)(now + 600));
	e = pay ? mja_token_sign(k, alg, NULL, pay, &tok) : MJA_ERR_NOMEM;
	json_decref(pay);
	mja_key_free(k);
	if (e != MJA_OK) {
		fprintf(stderr, "sign: %s\n", mja_strerror(e));
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argv[2]);
	if (argc == 7 && strcmp(argv[1], "sign") == 0)
		return cmd_sign(argv[2], argv[3], argv[4], argv[5], atoll(argv[6]));
	fprintf(stderr, "usage: %s verify MANIFEST | sign KIND KEYFILE ALG KID NOW\n", argv[0]);
	return 2;
}
