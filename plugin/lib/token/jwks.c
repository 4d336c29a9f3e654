/* jwks.c - JWKS URLs and OpenID Connect discovery (see jwks.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "mja/token/jwks.h"
#include "mja/token/key_internal.h"
#include "mja/util/text.h"

/* ---- pure helpers ---- */

static int ieq_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* The host part of an http(s) URL after "scheme://": copies it (without
 * brackets for IPv6) into host. 0 if there is none or it is too long. */
static int url_host(const char *rest, char *host, size_t size)
{
	const char *end;
	size_t len;

	/* userinfo is refused: it would only be a way to hide the host */
	end = rest + strcspn(rest, "/?#");
	if (memchr(rest, '@', (size_t)(end - rest)))
		return 0;
	if (*rest == '[') {
		const char *close = memchr(rest, ']', (size_t)(end - rest));

		if (!close)
			return 0;
		len = (size_t)(close - rest - 1);
		rest++;
	} else {
		const char *colon = memchr(rest, ':', (size_t)(end - rest));

		len = (size_t)((colon ? colon : end) - rest);
	}
	if (len == 0 || len >= size)
		return 0;
	memcpy(host, rest, len);
	host[len] = '\0';
	return 1;
}

static int host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int mja_jwks_url_ok(const char *url, mja_diag *d)
{
	char host[256];
	const char *rest;
	int https;

	if (!url || !*url) {
		mja_diag_set(d, "empty URL");
		return 0;
	}
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			mja_diag_set(d, "URL contains a blank or control character");
			return 0;
		}
	if (ieq_prefix(url, "https://")) {
		https = 1;
		rest = url + 8;
	} else if (ieq_prefix(url, "http://")) {
		https = 0;
		rest = url + 7;
	} else {
		mja_diag_set(d, "\"%.200s\" is not an https:// URL", url);
		return 0;
	}
	if (!url_host(rest, host, sizeof(host))) {
		mja_diag_set(d, "\"%.200s\" has no usable host name", url);
		return 0;
	}
	if (!https && !host_is_loopback(host)) {
		mja_diag_set(d, "\"%.200s\": plain http:// is only allowed to a loopback "
				"address; use https://", url);
		return 0;
	}
	return 1;
}

int64_t mja_jwks_cache_max_age(const char *v, size_t len)
{
	size_t i = 0;
	int64_t found = -1;

	if (!v)
		return -1;
	while (i < len) {
		size_t start, nlen;

		/* RFC 9110 5.6.3: OWS is SP / HTAB, the project's one blank */
		while (i < len && (mja_text_is_blank((unsigned char)v[i]) || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',' && v[i] != '=' &&
				!mja_text_is_blank((unsigned char)v[i]))
			i++;
		nlen = i - start;
		while (i < len && mja_text_is_blank((unsigned char)v[i]))
			i++;
		if (nlen == 7 && strncasecmp(v + start, "max-age", 7) == 0 && i < len && v[i] == '=') {
			int64_t x = 0;
			int digits = 0, quoted;

			i++;
			while (i < len && mja_text_is_blank((unsigned char)v[i]))
				i++;
			quoted = i < len && v[i] == '"';
			if (quoted)
				i++;
			while (i < len && v[i] >= '0' && v[i] <= '9') {
				if (x < INT64_MAX / 10 - 10)
					x = x * 10 + (v[i] - '0');
				digits++;
				i++;
			}
			if (quoted && i < len && v[i] == '"')
				i++;
			if (digits && found != 0)
				found = x;
		} else if ((nlen == 8 && strncasecmp(v + start, "no-cache", 8) == 0) ||
				(nlen == 8 && strncasecmp(v + start, "no-store", 8) == 0)) {
			found = 0;
		}
		/* skip the rest of this directive (a value, possibly quoted) */
		while (i < len && v[i] != ',') {
			if (v[i] == '"') {
				i++;
				while (i < len && v[i] != '"')
					i++;
			}
			if (i < len)
				i++;
		}
	}
	return found;
}

int64_t mja_jwks_next_interval(int64_t refresh, int64_t max_age)
{
	int64_t t = refresh;

	if (max_age >= 0 && max_age < t)
		t = max_age < MJA_JWKS_MIN_MAX_AGE ? MJA_JWKS_MIN_MAX_AGE : max_age;
	return t < refresh ? t : refresh;
}

char *mja_jwks_discovery_url(const char *issuer)
{
	static const char wk[] = "/.well-known/openid-configuration";
	size_t n = strlen(issuer);
	char *u;

	if (n && issuer[n - 1] == '/')
		n--;
	u = malloc(n + sizeof(wk));
	if (!u)
		return NULL;
	memcpy(u, issuer, n);
	memcpy(u + n, wk, sizeof(wk));
	return u;
}

mja_err mja_jwks_parse(const char *body, size_t len, const char *origin,
		mja_keyset **out, mja_diag *d)
{
	json_error_t jerr;
	json_t *root, *keys;
	mja_keyset *ks = NULL;
	mja_diag inner = { 0 };
	mja_err e;
	size_t i;

	*out = NULL;
	origin = origin ? origin : "jwks";
	if (len > MJA_JWKS_MAX_BYTES) {
		mja_diag_set(d, "%s: response larger than %zu bytes", origin, MJA_JWKS_MAX_BYTES);
		return MJA_ERR_KEY;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		mja_diag_set(d, "%s: invalid JSON at line %d: %s", origin, jerr.line, jerr.text);
		return MJA_ERR_KEY;
	}
	keys = json_is_object(root) ? json_object_get(root, "keys") : NULL;
	if (!json_is_array(keys)) {
		json_decref(root);
		mja_diag_set(d, "%s: not a JWKS (no \"keys\" array)", origin);
		return MJA_ERR_KEY;
	}
	if (json_array_size(keys) > MJA_JWKS_MAX_KEYS) {
		mja_diag_set(d, "%s: %zu keys, more than %d", origin, json_array_size(keys),
				MJA_JWKS_MAX_KEYS);
		json_decref(root);
		return MJA_ERR_KEY;
	}
	for (i = 0; i < json_array_size(keys); i++) {
		json_t *kty = json_object_get(json_array_get(keys, i), "kty");

		if (json_is_string(kty) && strcmp(json_string_value(kty), "oct") == 0) {
			json_t *k = json_object_get(json_array_get(keys, i), "k");

			if (json_is_string(k))
				OPENSSL_cleanse((char *)json_string_value(k), json_string_length(k));
			json_decref(root);
			mja_diag_set(d, "%s: key %zu: a secret (kty \"oct\") published at a URL "
					"is not a secret; refused", origin, i + 1);
			return MJA_ERR_KEY;
		}
	}
	json_decref(root);
	ks = mja_keyset_new();
	if (!ks)
		return MJA_ERR_NOMEM;
	/* the key-file parser: private keys, weak keys, bad curves refused */
	e = mja_keyset_add_jwk_json(ks, body, len, origin, &inner);
	if (e != MJA_OK) {
		mja_diag_set(d, "%s", inner.text[0] ? inner.text : mja_strerror(e));
		mja_keyset_free(ks);
		return e;
	}
	if (mja_keyset_algs(ks) == 0) {
		mja_diag_set(d, "%s: no key in the set can verify a signature", origin);
		mja_keyset_free(ks);
		return MJA_ERR_KEY;
	}
	*out = ks;
	return MJA_OK;
}

mja_err mja_jwks_parse_discovery(const char *body, size_t len, const char *issuer,
		char **jwks_uri, mja_diag *d)
{
	json_error_t jerr;
	json_t *root, *iss, *uri;
	mja_diag inner = { 0 };

	*jwks_uri = NULL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		mja_diag_set(d, "discovery document: invalid JSON at line %d: %s", jerr.line,
				jerr.text);
		return MJA_ERR_KEY;
	}
	iss = json_object_get(root, "issuer");
	uri = json_object_get(root, "jwks_uri");
	if (!json_is_object(root) || !json_is_string(iss) || !json_is_string(uri)) {
		json_decref(root);
		mja_diag_set(d, "discovery document: no \"issuer\" and \"jwks_uri\" strings");
		return MJA_ERR_KEY;
	}
	/* OpenID Connect Discovery 1.0 4.3: exactly the issuer asked for */
	if (json_string_length(iss) != strlen(issuer) ||
	    strcmp(json_string_value(iss), issuer) != 0) {
		char shown[160];

		mja_text_printable(json_string_value(iss), json_string_length(iss), shown,
				sizeof(shown));
		json_decref(root);
		mja_diag_set(d, "discovery document: issuer \"%s\" is not \"%.200s\"", shown, issuer);
		return MJA_ERR_KEY;
	}
	if (strlen(json_string_value(uri)) != json_string_length(uri) ||
	    !mja_jwks_url_ok(json_string_value(uri), &inner)) {
		json_decref(root);
		mja_diag_set(d, "discovery document: jwks_uri: %s", inner.text[0] ? inner.text :
				"contains NUL");
		return MJA_ERR_KEY;
	}
	*jwks_uri = strdup(json_string_value(uri));
	json_decref(root);
	return *jwks_uri ? MJA_OK : MJA_ERR_NOMEM;
}

/* ---- HTTP with libcurl ---- */

struct xfer {
	char *buf;
	size_t len, cap;
	int too_big;
	char cache_control[256];
	int have_cc;
	const _Atomic int *abort_flag;
};

static size_t on_body(char *p, size_t size, size_t n, void *u)
{
	struct xfer *x = u;
	size_t add = size * n;

	if (add > MJA_JWKS_MAX_BYTES - x->len) {
		x->too_big = 1;
		return 0;   /* ends the transfer with CURLE_WRITE_ERROR */
	}
	if (x->len + add + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 16384;
		char *nb;

		while (cap < x->len + add + 1)
			cap *= 2;
		nb = realloc(x->buf, cap);
		if (!nb)
			return 0;
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, add);
	x->len += add;
	x->buf[x->len] = '\0';
	return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *u)
{
	struct xfer *x = u;
	size_t len = size * n;

	/* a new response (after a redirect): forget the previous headers */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		x->have_cc = 0;
		x->cache_control[0] = '\0';
	} else if (len > 14 && strncasecmp(p, "cache-control:", 14) == 0) {
		size_t vl = len - 14;

		if (vl >= sizeof(x->cache_control))
			vl = sizeof(x->cache_control) - 1;
		memcpy(x->cache_control, p + 14, vl);
		x->cache_control[vl] = '\0';
		x->have_cc = 1;
	}
	return len;
}

static int on_progress(void *u, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct xfer *x = u;

	return x->abort_flag && *x->abort_flag;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	/* never undone: curl_global_cleanup would tear down OpenSSL state the
	 * broker itself uses */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

mja_err mja_jwks_http_get(void *ctx, const char *url, const char *ca_pem, size_t ca_len,
		const _Atomic int *abort_flag, mja_http_response *out, mja_diag *d)
{
	struct xfer x = { .abort_flag = abort_flag };
	char errbuf[CURL_ERROR_SIZE] = "";
	mja_diag inner = { 0 };
	CURL *c;
	CURLcode rc;
	long status = 0;
	int https = ieq_prefix(url, "https://");

	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	if (!mja_jwks_url_ok(url, &inner)) {
		mja_diag_set(d, "%s", inner.text);
		return MJA_ERR_CONFIG;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		mja_diag_set(d, "libcurl initialisation failed");
		return MJA_ERR_INTERNAL;
	}
	c = curl_easy_init();
	if (!c) {
		mja_diag_set(d, "out of memory");
		return MJA_ERR_NOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* plain http only where the URL itself was allowed it (loopback);
	 * redirects may only go to https */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, https ? "https" : "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)MJA_JWKS_MAX_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_pem) {
		/* jwks_ca_file's bytes, read at start or SIGHUP (file.h); they
		 * replace the system's CA file for this transfer */
		struct curl_blob blob = { .data = (void *)ca_pem, .len = ca_len,
			.flags = CURL_BLOB_COPY };

		if (curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK) {
			curl_easy_cleanup(c);
			mja_diag_set(d, "this libcurl cannot take jwks_ca_file's certificates "
					"from memory (CURLOPT_CAINFO_BLOB)");
			return MJA_ERR_INTERNAL;
		}
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)MJA_JWKS_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MJA_JWKS_TOTAL_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MJA_JWKS_MAX_BYTES);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);   /* we are not the main thread */
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mosquitto-jwt-auth");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);

	if (rc != CURLE_OK) {
		const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

		if (x.too_big || rc == CURLE_FILESIZE_EXCEEDED)
			mja_diag_set(d, "response larger than %zu bytes", MJA_JWKS_MAX_BYTES);
		else if (rc == CURLE_UNSUPPORTED_PROTOCOL)
			mja_diag_set(d, "redirect to a non-https URL refused (%s)", why);
		else if (rc == CURLE_TOO_MANY_REDIRECTS)
			mja_diag_set(d, "more than %d redirects", MJA_JWKS_MAX_REDIRECTS);
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			mja_diag_set(d, "timed out (%s)", why);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			mja_diag_set(d, "aborted (shutting down)");
		else
			mja_diag_set(d, "%s", why);
		free(x.buf);
		return MJA_ERR_FILE;
	}
	if (status != 200) {
		mja_diag_set(d, "HTTP status %ld", status);
		free(x.buf);
		return MJA_ERR_FILE;
	}
	if (!x.buf) {
		x.buf = strdup("");
		if (!x.buf)
			return MJA_ERR_NOMEM;
	}
	out->body = x.buf;
	out->len = x.len;
	if (x.have_cc)
		out->max_age = mja_jwks_cache_max_age(x.cache_control, strlen(x.cache_control));
	return MJA_OK;
}

void mja_http_response_free(mja_http_response *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* ---- the fetcher ---- */

struct result {
	int ok;
	mja_keyset *keys;        /* ok: owned until taken */
	int64_t max_age;
	char why[1024];
	char *url;               /* the JWKS URL fetched (discovery: jwks_uri) */
};

struct source {
	char *url;               /* jwks_url, or the issuer for discovery */
	int oidc;
	/* under mu */
	int want;                /* fetch as soon as possible */
	int busy;                /* a fetch is running */
	int64_t next_ms;         /* monotonic: next scheduled fetch */
	int has_result;
	struct result res;
	/* broker's thread only */
	mja_keyset *keys;        /* last good set while usable, else NULL */
	char *jwks_uri;          /* last fetched JWKS URL (discovery), for logs */
	int64_t last_success;
	uint64_t failures;
	int64_t last_fail_log;   /* 0: never */
	int64_t last_kid_ask;    /* 0: never */
	int ever_ok;
};

/* jwks_ca_file's bytes, shared by the instance and the fetches running
 * (a SIGHUP may replace them during a fetch); refs under the mutex. */
struct ca_blob {
	unsigned refs;
	size_t len;
	char pem[];
};

struct mja_jwks {
	struct source *src;
	size_t n;
	struct ca_blob *ca;      /* NULL: the system's store; under mu */
	int64_t refresh, max_stale;
	mja_http_get_fn get;
	void *get_ctx;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started;
	_Atomic int stop;        /* also the transfer's abort flag */
	uint64_t fetches;        /* under mu */
};

/* A blob holding a copy of pem (refs 1) in *out; NULL pem: *out NULL. */
static mja_err ca_new(const char *pem, size_t len, struct ca_blob **out)
{
	*out = NULL;
	if (!pem)
		return MJA_OK;
	*out = malloc(sizeof(**out) + len + 1);
	if (!*out)
		return MJA_ERR_NOMEM;
	(*out)->refs = 1;
	(*out)->len = len;
	memcpy((*out)->pem, pem, len);
	(*out)->pem[len] = '\0';
	return MJA_OK;
}

/* With mu held. */
static struct ca_blob *ca_ref(struct ca_blob *ca)
{
	if (ca)
		ca->refs++;
	return ca;
}

/* With mu held (or no other thread left). */
static void ca_unref(struct ca_blob *ca)
{
	if (ca && --ca->refs == 0)
		free(ca);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

mja_err mja_jwks_new(const mja_jwks_opts *o, mja_jwks **out, mja_diag *d)
{
	mja_jwks *j;
	pthread_condattr_t ca;
	size_t i;

	*out = NULL;
	if (!o || (o->n_urls && !o->urls))
		return MJA_ERR_INVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return MJA_ERR_NOMEM;
	j->n = o->n_urls + (o->oidc_issuer ? 1 : 0);
	j->src = calloc(j->n ? j->n : 1, sizeof(*j->src));
	if (!j->src || ca_new(o->ca_pem, o->ca_len, &j->ca) != MJA_OK)
		goto nomem;
	for (i = 0; i < j->n; i++) {
		const char *u = i < o->n_urls ? o->urls[i] : o->oidc_issuer;

		j->src[i].url = strdup(u);
		j->src[i].oidc = i >= o->n_urls;
		j->src[i].want = 1;
		if (!j->src[i].url)
			goto nomem;
	}
	j->refresh = o->refresh > 0 ? o->refresh : MJA_JWKS_DEFAULT_REFRESH;
	j->max_stale = o->max_stale > 0 ? o->max_stale : MJA_JWKS_DEFAULT_MAX_STALE;
	j->get = o->get ? o->get : mja_jwks_http_get;
	j->get_ctx = o->get_ctx;
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = j;
	return MJA_OK;
nomem:
	if (j->src)
		for (i = 0; i < j->n; i++)
			free(j->src[i].url);
	free(j->src);
	ca_unref(j->ca);
	free(j);
	mja_diag_set(d, "out of memory");
	return MJA_ERR_NOMEM;
}

static void result_clear(struct result *r)
{
	mja_keyset_free(r->keys);
	free(r->url);
	memset(r, 0, sizeof(*r));
}

mja_err mja_jwks_set_ca(mja_jwks *j, const char *ca_pem, size_t ca_len)
{
	struct ca_blob *ca, *old;

	if (!j)
		return MJA_ERR_INVAL;
	if (ca_new(ca_pem, ca_len, &ca) != MJA_OK)
		return MJA_ERR_NOMEM;
	pthread_mutex_lock(&j->mu);
	old = j->ca;
	j->ca = ca;
	ca_unref(old);
	pthread_mutex_unlock(&j->mu);
	return MJA_OK;
}

/* One fetch of source s (no lock held; ca is a reference the caller holds):
 * discovery if needed, then the JWKS. */
static void fetch_source(mja_jwks *j, const struct source *s, const struct ca_blob *ca,
		struct result *r)
{
	const char *ca_pem = ca ? ca->pem : NULL;
	size_t ca_len = ca ? ca->len : 0;
	mja_http_response resp = { 0 };
	mja_diag d = { 0 };
	char *url = NULL;
	mja_err e;

	memset(r, 0, sizeof(*r));
	r->max_age = -1;
	if (s->oidc) {
		char *disc = mja_jwks_discovery_url(s->url);

		if (!disc) {
			snprintf(r->why, sizeof(r->why), "out of memory");
			return;
		}
		e = j->get(j->get_ctx, disc, ca_pem, ca_len, &j->stop, &resp, &d);
		if (e == MJA_OK) {
			e = mja_jwks_parse_discovery(resp.body, resp.len, s->url, &url, &d);
			mja_http_response_free(&resp);
		}
		if (e != MJA_OK) {
			snprintf(r->why, sizeof(r->why), "%s: %s", disc, d.text[0] ? d.text :
					mja_strerror(e));
			free(disc);
			return;
		}
		free(disc);
	} else {
		url = strdup(s->url);
		if (!url) {
			snprintf(r->why, sizeof(r->why), "out of memory");
			return;
		}
	}
	r->url = url;
	e = j->get(j->get_ctx, url, ca_pem, ca_len, &j->stop, &resp, &d);
	if (e == MJA_OK) {
		r->max_age = resp.max_age;
		/* origin "" keeps the URL out of the key diagnostics: the log line
		 * names it once */
		e = mja_jwks_parse(resp.body, resp.len, "JWKS", &r->keys, &d);
		mja_http_response_free(&resp);
	}
	if (e != MJA_OK) {
		snprintf(r->why, sizeof(r->why), "%s", d.text[0] ? d.text : mja_strerror(e));
		return;
	}
	r->ok = 1;
}

/* With mu held: store r as s's result (a result not yet taken is replaced)
 * and schedule the next fetch. */
static void deliver(mja_jwks *j, struct source *s, struct result *r, int64_t now_ms)
{
	int64_t next = r->ok ? mja_jwks_next_interval(j->refresh, r->max_age) :
		(j->refresh < MJA_JWKS_RETRY ? j->refresh : MJA_JWKS_RETRY);

	if (s->has_result)
		result_clear(&s->res);
	s->res = *r;
	s->has_result = 1;
	s->busy = 0;
	s->next_ms = now_ms + next * 1000;
}

static void *thread_main(void *arg)
{
	mja_jwks *j = arg;

	pthread_mutex_lock(&j->mu);
	while (!j->stop) {
		int64_t now = mono_ms(), wake = now + 60000;
		struct source *pick = NULL;
		struct ca_blob *ca;
		struct result r;
		struct timespec ts;

		/* asked-for fetches first, then the most overdue source: one
		 * slow server must not starve the others */
		for (size_t i = 0; i < j->n; i++) {
			struct source *s = &j->src[i];

			if (s->busy)
				continue;
			if (s->want) {
				pick = s;
				break;
			}
			if (s->next_ms <= now && (!pick || s->next_ms < pick->next_ms))
				pick = s;
			if (s->next_ms < wake)
				wake = s->next_ms;
		}
		if (!pick) {
			ts.tv_sec = wake / 1000;
			ts.tv_nsec = (wake % 1000) * 1000000;
			pthread_cond_timedwait(&j->cv, &j->mu, &ts);
			continue;
		}
		pick->want = 0;
		pick->busy = 1;
		j->fetches++;
		ca = ca_ref(j->ca);
		pthread_mutex_unlock(&j->mu);
		fetch_source(j, pick, ca, &r);   /* the network, without the lock */
		pthread_mutex_lock(&j->mu);
		deliver(j, pick, &r, mono_ms());
		ca_unref(ca);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

mja_err mja_jwks_start(mja_jwks *j, mja_diag *d)
{
	int rc;

	if (!j || j->started)
		return MJA_ERR_INVAL;
	pthread_once(&curl_once, curl_init);   /* on the caller's thread, once */
	rc = pthread_create(&j->thread, NULL, thread_main, j);
	if (rc != 0) {
		mja_diag_set(d, "cannot start the JWKS fetcher thread: %s", strerror(rc));
		return MJA_ERR_INTERNAL;
	}
	j->started = 1;
	return MJA_OK;
}

void mja_jwks_fetch_now(mja_jwks *j, int only_wanted)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		struct source *s = &j->src[i];
		struct ca_blob *ca;
		struct result r;

		pthread_mutex_lock(&j->mu);
		if (s->busy || (only_wanted && !s->want)) {
			pthread_mutex_unlock(&j->mu);
			continue;
		}
		s->want = 0;
		s->busy = 1;
		j->fetches++;
		ca = ca_ref(j->ca);
		pthread_mutex_unlock(&j->mu);
		fetch_source(j, s, ca, &r);
		pthread_mutex_lock(&j->mu);
		deliver(j, s, &r, mono_ms());
		ca_unref(ca);
		pthread_mutex_unlock(&j->mu);
	}
}

void mja_jwks_free(mja_jwks *j)
{
	if (!j)
		return;
	if (j->started) {
		pthread_mutex_lock(&j->mu);
		j->stop = 1;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
		pthread_join(j->thread, NULL);
	}
	for (size_t i = 0; i < j->n; i++) {
		struct source *s = &j->src[i];

		if (s->has_result)
			result_clear(&s->res);
		mja_keyset_free(s->keys);
		free(s->jwks_uri);
		free(s->url);
	}
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j->src);
	ca_unref(j->ca);
	free(j);
}

void mja_jwks_refetch_all(mja_jwks *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	for (size_t i = 0; i < j->n; i++)
		j->src[i].want = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

size_t mja_jwks_unknown_kid(mja_jwks *j, int64_t now)
{
	size_t asked = 0;

	if (!j)
		return 0;
	/* a cheap look first, without the lock: the storm case */
	for (size_t i = 0; i < j->n; i++)
		if (!j->src[i].last_kid_ask || now - j->src[i].last_kid_ask >= MJA_JWKS_KID_REFETCH)
			break;
		else if (i + 1 == j->n)
			return 0;
	pthread_mutex_lock(&j->mu);
	for (size_t i = 0; i < j->n; i++) {
		struct source *s = &j->src[i];

		if (s->want || s->busy)
			continue;   /* single flight: one is on its way already */
		if (s->last_kid_ask && now - s->last_kid_ask < MJA_JWKS_KID_REFETCH)
			continue;
		s->last_kid_ask = now;
		s->want = 1;
		asked++;
	}
	if (asked)
		pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return asked;
}

static void logf_(mja_log_fn log, void *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void logf_(mja_log_fn log, void *ctx, int level, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log(ctx, level, msg);
}

/* Append the printable kids of keys in a that are not in b to buf. */
static size_t kid_diff(const mja_keyset *a, const mja_keyset *b, char *buf, size_t size)
{
	size_t o = 0, n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < mja_keyset_count(a); i++) {
		const char *kid = mja_key_kid(mja_keyset_get(a, i));
		char shown[80];
		int in_b = 0;

		for (size_t k = 0; k < mja_keyset_count(b) && !in_b; k++) {
			const char *other = mja_key_kid(mja_keyset_get(b, k));

			in_b = (!kid && !other) || (kid && other && strcmp(kid, other) == 0);
		}
		if (in_b)
			continue;
		/* the same kid twice in a (e.g. an RSA and an EC key) counts once */
		for (size_t k = 0; k < i && !in_b; k++) {
			const char *prev = mja_key_kid(mja_keyset_get(a, k));

			in_b = (!kid && !prev) || (kid && prev && strcmp(kid, prev) == 0);
		}
		if (in_b)
			continue;
		if (kid)
			mja_text_printable(kid, strlen(kid), shown, sizeof(shown));
		else
			snprintf(shown, sizeof(shown), "(no kid)");
		if (o < size)
			o += (size_t)snprintf(buf + o, size - o, "%s%s", n ? ", " : "", shown);
		n++;
	}
	if (o >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return n;
}

int mja_jwks_poll(mja_jwks *j, int64_t now, mja_log_fn log, void *ctx)
{
	int changed = 0;

	if (!j)
		return 0;
	for (size_t i = 0; i < j->n; i++) {
		struct source *s = &j->src[i];
		struct result r;
		int got = 0;

		/* the lock only for the hand-over */
		pthread_mutex_lock(&j->mu);
		if (s->has_result) {
			r = s->res;
			memset(&s->res, 0, sizeof(s->res));
			s->has_result = 0;
			got = 1;
		}
		pthread_mutex_unlock(&j->mu);

		if (got && r.ok) {
			char added[512], removed[512];
			size_t na, nr;

			free(s->jwks_uri);
			s->jwks_uri = r.url;
			r.url = NULL;
			if (!s->keys) {
				kid_diff(r.keys, NULL, added, sizeof(added));
				logf_(log, ctx, MJA_LOG_NOTICE, "JWKS %s: %s%zu key(s) (kid %s)",
						s->jwks_uri, s->ever_ok ? "keys available again, " :
						"fetched, ", mja_keyset_count(r.keys), added);
				changed = 1;
			} else {
				na = kid_diff(r.keys, s->keys, added, sizeof(added));
				nr = kid_diff(s->keys, r.keys, removed, sizeof(removed));
				if (na || nr || mja_keyset_count(r.keys) != mja_keyset_count(s->keys))
					logf_(log, ctx, MJA_LOG_NOTICE, "JWKS %s: key set changed, "
							"%zu key(s); added kid(s): %s; removed kid(s): %s",
							s->jwks_uri, mja_keyset_count(r.keys),
							na ? added : "none", nr ? removed : "none");
				/* the same kids may still carry other keys: rebuild */
				changed = 1;
			}
			mja_keyset_free(s->keys);
			s->keys = r.keys;
			r.keys = NULL;
			s->last_success = now;
			s->ever_ok = 1;
			s->last_fail_log = 0;
		} else if (got) {
			s->failures++;
			if (!s->last_fail_log || now - s->last_fail_log >= MJA_JWKS_LOG_EVERY) {
				char held[128];

				if (s->keys)
					snprintf(held, sizeof(held), "keeping the %zu key(s) fetched "
							"%lld s ago", mja_keyset_count(s->keys),
							(long long)(now - s->last_success));
				else
					snprintf(held, sizeof(held), "no keys from it yet");
				logf_(log, ctx, MJA_LOG_WARNING, "JWKS %s: fetch failed (%s): %s",
						r.url ? r.url : s->url, held, r.why);
				s->last_fail_log = now;
			}
		}
		if (got)
			result_clear(&r);
		/* bounded staleness */
		if (s->keys && now - s->last_success > j->max_stale) {
			logf_(log, ctx, MJA_LOG_ERR, "JWKS %s: keys unavailable: the last good "
					"fetch is %lld s old (jwks_max_stale %lld); its tokens are "
					"refused until a fetch succeeds",
					s->jwks_uri ? s->jwks_uri : s->url,
					(long long)(now - s->last_success), (long long)j->max_stale);
			mja_keyset_free(s->keys);
			s->keys = NULL;
			changed = 1;
		}
	}
	return changed;
}

int mja_jwks_refetch_pending(const mja_jwks *j)
{
	int pending = 0;

	if (!j)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&j->mu);
	for (size_t i = 0; i < j->n && !pending; i++)
		pending = j->src[i].want || j->src[i].busy || j->src[i].has_result;
	pthread_mutex_unlock((pthread_mutex_t *)&j->mu);
	return pending;
}

mja_err mja_jwks_add_keys(const mja_jwks *j, mja_keyset *dst)
{
	if (!j)
		return MJA_OK;
	for (size_t i = 0; i < j->n; i++) {
		mja_err e = mja_keyset_add_shared(dst, j->src[i].keys);

		if (e != MJA_OK)
			return e;
	}
	return MJA_OK;
}

int mja_jwks_unavailable(const mja_jwks *j)
{
	if (!j)
		return 0;
	for (size_t i = 0; i < j->n; i++)
		if (!j->src[i].keys)
			return 1;
	return 0;
}

size_t mja_jwks_stats(const mja_jwks *j, struct mja_source_stats *out, size_t max)
{
	if (!j)
		return 0;
	for (size_t i = 0; i < j->n && i < max; i++) {
		out[i].last_success = j->src[i].last_success;
		out[i].failures = j->src[i].failures;
		out[i].keys = mja_keyset_count(j->src[i].keys);
	}
	return j->n;
}

uint64_t mja_jwks_fetch_count(const mja_jwks *j)
{
	uint64_t n;

	if (!j)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&j->mu);
	n = j->fetches;
	pthread_mutex_unlock((pthread_mutex_t *)&j->mu);
	return n;
}
