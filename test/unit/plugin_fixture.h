/* plugin_fixture.h - shared helpers for test_config.c and test_auth.c:
 * a temporary folder with small key / secret / ACL files, HS256 tokens made
 * with mja_token_sign(), and options given as "key value" strings.
 * Header-only (static functions): each test program includes it once. */
#ifndef MJA_PLUGIN_FIXTURE_H
#define MJA_PLUGIN_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mja/session/config.h"
#include "mja/token/key.h"
#include "mja/token/token.h"

#define FX_NOW INT64_C(1700000000)
/* 40 bytes: enough for HS256 only (RFC 7518 3.2: at least the hash size) */
#define FX_SECRET "0123456789abcdef0123456789abcdef-secret"
#define FX_SECRET2 "another secret, also long enough for HS256!"

static char fx_dir[64];
static char fx_paths[32][128];
static size_t fx_npaths;

static __attribute__((unused)) void fx_setup_dir(void)
{
	snprintf(fx_dir, sizeof(fx_dir), "/tmp/mja-unit-XXXXXX");
	if (!mkdtemp(fx_dir))
		fail_msg("mkdtemp failed");
	fx_npaths = 0;
}

static __attribute__((unused)) void fx_cleanup_dir(void)
{
	for (size_t i = 0; i < fx_npaths; i++)
		unlink(fx_paths[i]);
	rmdir(fx_dir);
	fx_npaths = 0;
}

/* Write (or overwrite) name in the temp folder; returns its path (static,
 * valid until fx_cleanup_dir). */
static __attribute__((unused)) const char *fx_write(const char *name, const char *content, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(content, 1, len, f) != len || fclose(f) != 0)
		fail_msg("cannot write %s", path);
	for (size_t i = 0; i < fx_npaths; i++)
		if (strcmp(fx_paths[i], path) == 0)
			return fx_paths[i];
	if (fx_npaths == sizeof(fx_paths) / sizeof(fx_paths[0]))
		fail_msg("too many fixture files");
	snprintf(fx_paths[fx_npaths], sizeof(fx_paths[0]), "%s", path);
	return fx_paths[fx_npaths++];
}

static __attribute__((unused)) const char *fx_write_str(const char *name, const char *content)
{
	return fx_write(name, content, strlen(content));
}

/* A fresh EC P-256 public key file; the private key is returned in *priv
 * (caller frees) if priv is not NULL. */
static __attribute__((unused)) const char *fx_write_ec_key(const char *name, mja_key **priv)
{
	mja_key *k = NULL;
	char *pem = NULL;
	const char *path;

	assert_int_equal(mja_key_generate(MJA_KTY_EC, 256, NULL, &k, NULL), MJA_OK);
	assert_int_equal(mja_key_public_pem(k, &pem), MJA_OK);
	path = fx_write_str(name, pem);
	free(pem);
	if (priv)
		*priv = k;
	else
		mja_key_free(k);
	return path;
}

/* Options from "key value" strings (value: the rest after the first
 * space, kept as is, trailing blanks included, like the broker does). */
typedef struct fx_opts {
	mja_config_opt o[32];
	char buf[32][512];
	size_t n;
} fx_opts;

static __attribute__((unused)) void fx_add(fx_opts *o, const char *fmt, ...)
{
	va_list ap;
	char *sp;

	assert_true(o->n < 32);
	va_start(ap, fmt);
	vsnprintf(o->buf[o->n], sizeof(o->buf[0]), fmt, ap);
	va_end(ap);
	sp = strchr(o->buf[o->n], ' ');
	o->o[o->n].key = o->buf[o->n];
	o->o[o->n].value = "";
	if (sp) {
		*sp = '\0';
		o->o[o->n].value = sp + 1;
	}
	o->n++;
}

/* Parse; on failure fails the test with the diagnostic unless want_err. */
static __attribute__((unused)) mja_config *fx_parse(fx_opts *o)
{
	mja_config *c = NULL;
	mja_diag d = { 0 };
	mja_err e = mja_config_parse(o->o, o->n, &c, &d);

	if (e != MJA_OK)
		fail_msg("config refused: %s (%s)", d.text, mja_strerror(e));
	return c;
}

/* Expect a refusal whose diagnostic contains each of the given words. */
static __attribute__((unused)) void fx_parse_fails(fx_opts *o, mja_err want, const char *w1, const char *w2)
{
	mja_config *c = (mja_config *)0x1;
	mja_diag d = { 0 };
	mja_err e = mja_config_parse(o->o, o->n, &c, &d);

	if (e == MJA_OK)
		fail_msg("config accepted, expected refusal (%s)", w1 ? w1 : "");
	assert_null(c);
	if (want != MJA_OK)
		assert_int_equal(e, want);
	if (w1 && !strstr(d.text, w1))
		fail_msg("diagnostic \"%s\" lacks \"%s\"", d.text, w1);
	if (w2 && !strstr(d.text, w2))
		fail_msg("diagnostic \"%s\" lacks \"%s\"", d.text, w2);
}

/* An HS256 token over the JSON payload text, signed with secret. */
static __attribute__((unused)) char *fx_token(const char *secret, const char *payload_json)
{
	mja_key *k = NULL;
	json_error_t err;
	json_t *payload = json_loads(payload_json, 0, &err);
	char *tok = NULL;

	if (!payload)
		fail_msg("bad test JSON %s: %s", payload_json, err.text);
	assert_int_equal(mja_key_from_secret((const unsigned char *)secret, strlen(secret),
			NULL, &k, NULL), MJA_OK);
	assert_int_equal(mja_token_sign(k, MJA_ALG_HS256, NULL, payload, &tok), MJA_OK);
	mja_key_free(k);
	json_decref(payload);
	return tok;
}

#endif
