/* verify_tokens.c - the library side of the PyJWT interoperability suite
 * (test_pyjwt.py, LibraryVerifiesPyJWT).
 *
 *   verify_tokens MANIFEST
 *     Each line: NAME KIND KEYFILE ALGS NOW TOKENFILE (space separated),
 *     KIND "key" (mja_keyset_load_key_file) or "secret"
 *     (mja_keyset_load_secret_file), ALGS an allow-list or "-" (all).
 *     Prints "NAME<TAB>reason" per line, reason being mja_strerror() of
 *     mja_token_verify() with the rules below, or "load: ..." if the key
 *     file did not load.
 *
 * Claim rules: leeway 30, required exp and sub, issuer ISSUER, audience
 * AUDIENCE; an accepted token must carry sub SUBJECT. (Signing is tested
 * through `mosquitto_jwt sign`, which is the library's signing code.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mja/token/key.h"
#include "mja/token/token.h"
#include "readfile.h"

#define ISSUER "https://issuer.example"
#define AUDIENCE "mqtt.example.com"
#define SUBJECT "interop-device"

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
	tok = test_read_file(tokfile, &len);
	if (!tok) {
		mja_keyset_free(ks);
		return "cannot read token";
	}
	len = test_chomp(tok, len);
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

int main(int argc, char **argv)
{
	if (argc == 2)
		return cmd_verify(argv[1]);
	fprintf(stderr, "usage: %s MANIFEST\n", argv[0]);
	return 2;
}
