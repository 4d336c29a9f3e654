/* mosqconf.c - read the plugin lines of a mosquitto.conf as Mosquitto 2.0.11 does.
 *
 * The rules (mosqconf.h) were checked against Debian's mosquitto 2.0.11
 * with a probe plugin that prints the options it is given.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mja/util/file.h"
#include "mja/tool/mosqconf.h"
#include "mja/util/text.h"

#define NO_PLUGIN SIZE_MAX

struct loader {
	mja_mosqconf *c;
	mja_diag *d;
	size_t cap_plugins;
	size_t cap_files;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 4;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -1;
		ncap *= 2;
	}
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *r = malloc(n + 1);

	if (r) {
		memcpy(r, s, n);
		r[n] = '\0';
	}
	return r;
}

/* Register a file name; returns its stable copy or NULL. */
static const char *add_file(struct loader *L, const char *name)
{
	mja_mosqconf *c = L->c;
	char *copy;

	if (grow((void **)&c->files, &L->cap_files, c->n_files + 1, sizeof(*c->files)))
		return NULL;
	copy = strdup(name);
	if (!copy)
		return NULL;
	c->files[c->n_files++] = copy;
	return copy;
}

static mja_err add_plugin(struct loader *L, const char *path, size_t plen,
		const char *file, size_t line)
{
	mja_mosqconf *c = L->c;
	mja_mosqconf_plugin *p;

	if (grow((void **)&c->plugins, &L->cap_plugins, c->n_plugins + 1, sizeof(*c->plugins)))
		return MJA_ERR_NOMEM;
	p = &c->plugins[c->n_plugins];
	memset(p, 0, sizeof(*p));
	p->path = dup_n(path, plen);
	if (!p->path)
		return MJA_ERR_NOMEM;
	p->file = file;
	p->line = line;
	c->n_plugins++;
	return MJA_OK;
}

static mja_err add_opt(mja_mosqconf_plugin *p, const char *key, size_t klen,
		const char *val, size_t vlen, const char *file, size_t line)
{
	mja_mosqconf_opt *o, *no;

	/* Options are few; grow by one keeps the struct free of a capacity. */
	if (p->n_opts >= SIZE_MAX / sizeof(*o) - 1)
		return MJA_ERR_NOMEM;
	no = realloc(p->opts, (p->n_opts + 1) * sizeof(*o));
	if (!no)
		return MJA_ERR_NOMEM;
	p->opts = no;
	o = &p->opts[p->n_opts];
	o->key = dup_n(key, klen);
	o->value = dup_n(val, vlen);
	o->file = file;
	o->line = line;
	if (!o->key || !o->value) {
		free(o->key);
		free(o->value);
		return MJA_ERR_NOMEM;
	}
	p->n_opts++;
	return MJA_OK;
}

static int word_is(const char *w, size_t wlen, const char *lit)
{
	size_t n = strlen(lit);

	return wlen == n && memcmp(w, lit, n) == 0;
}

static int word_has_prefix(const char *w, size_t wlen, const char *lit)
{
	size_t n = strlen(lit);

	return wlen >= n && memcmp(w, lit, n) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static mja_err parse_buf(struct loader *L, const char *buf, size_t len,
		const char *name, int level);

static mja_err parse_file(struct loader *L, const char *path, int level)
{
	char *buf;
	size_t len;
	mja_err rc;

	/* file.h: regular files only, so a FIFO fails at once */
	rc = mja_file_read(path, MJA_MOSQCONF_FILE_MAX, 0, &buf, &len, L->d);
	if (rc != MJA_OK)
		return rc;
	rc = parse_buf(L, buf, len, path, level);
	mja_file_free(buf, len);
	return rc;
}

/* include_dir: regular files named *.conf (more than the suffix), sorted
 * with strcasecmp like Mosquitto's config__get_dir_files(). */
static mja_err include_dir(struct loader *L, const char *dir, const char *file, size_t line)
{
	DIR *dh;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i, nlen, dlen = strlen(dir);
	mja_err rc = MJA_OK;

	dh = opendir(dir);
	if (!dh) {
		mja_diag_set(L->d, "%s:%zu: cannot open include_dir '%s': %s",
				file, line, dir, strerror(errno));
		return MJA_ERR_FILE;
	}
	while ((de = readdir(dh)) != NULL) {
		nlen = strlen(de->d_name);
		if (nlen <= 5 || strcmp(de->d_name + nlen - 5, ".conf") != 0)
			continue;
		if (grow((void **)&names, &cap, n + 1, sizeof(*names))) {
			rc = MJA_ERR_NOMEM;
			break;
		}
		names[n] = malloc(dlen + 1 + nlen + 1);
		if (!names[n]) {
			rc = MJA_ERR_NOMEM;
			break;
		}
		memcpy(names[n], dir, dlen);
		names[n][dlen] = '/';
		memcpy(names[n] + dlen + 1, de->d_name, nlen + 1);
		n++;
	}
	closedir(dh);
	if (rc == MJA_OK) {
		qsort(names, n, sizeof(*names), cmp_names);
		for (i = 0; i < n && rc == MJA_OK; i++)
			rc = parse_file(L, names[i], 1);
	}
	if (rc == MJA_ERR_NOMEM)
		mja_diag_set(L->d, "%s:%zu: out of memory", file, line);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* One line, without its "\n". Mosquitto: strip trailing CR/LF; '#' in the
 * first byte is a comment; the directive is the first word after leading
 * spaces (strtok with " " only); the rest is the value. */
static mja_err parse_line(struct loader *L, const char *s, size_t n, const char *file,
		size_t line, size_t *cur, int level)
{
	const char *w, *rest = NULL;
	size_t wlen, restlen = 0, klen;
	const char *prefix;
	mja_err rc;

	if (memchr(s, '\0', n)) {
		mja_diag_set(L->d, "%s:%zu: NUL byte in line", file, line);
		return MJA_ERR_CONFIG;
	}
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (n == 0 || s[0] == '#')
		return MJA_OK;
	while (n > 0 && *s == ' ') {
		s++;
		n--;
	}
	if (n == 0)
		return MJA_OK;
	w = s;
	for (wlen = 0; wlen < n && w[wlen] != ' '; wlen++)
		;
	if (wlen < n) {
		rest = w + wlen + 1;
		restlen = n - wlen - 1;
	}

	if (word_is(w, wlen, "plugin") || word_is(w, wlen, "auth_plugin")) {
		/* conf__parse_string(): blanks trimmed at both ends */
		while (restlen > 0 && mja_text_is_space((unsigned char)*rest)) {
			rest++;
			restlen--;
		}
		while (restlen > 0 && mja_text_is_space((unsigned char)rest[restlen - 1]))
			restlen--;
		if (restlen == 0) {
			mja_diag_set(L->d, "%s:%zu: %.*s without a path", file, line, (int)wlen, w);
			return MJA_ERR_CONFIG;
		}
		rc = add_plugin(L, rest, restlen, file, line);
		if (rc == MJA_OK)
			*cur = L->c->n_plugins - 1;
		return rc;
	}

	prefix = word_has_prefix(w, wlen, "plugin_opt_") ? "plugin_opt_"
		: word_has_prefix(w, wlen, "auth_opt_") ? "auth_opt_" : NULL;
	if (prefix) {
		char shown[72];

		klen = wlen - strlen(prefix);
		if (*cur == NO_PLUGIN) {
			/* Mosquitto: "An auth_opt_ option exists in the config file
			 * without an auth_plugin." The current plugin is per file. */
			mja_text_printable(w, wlen, shown, sizeof(shown));
			mja_diag_set(L->d, "%s:%zu: %s before any plugin line in this file",
					file, line, shown);
			return MJA_ERR_CONFIG;
		}
		if (klen < 3) {
			/* Mosquitto refuses option names shorter than 3 bytes. */
			mja_text_printable(w + strlen(prefix), klen, shown, sizeof(shown));
			mja_diag_set(L->d, "%s:%zu: option name '%s' too short (Mosquitto needs 3 bytes or more)",
					file, line, shown);
			return MJA_ERR_CONFIG;
		}
		while (restlen > 0 && mja_text_is_blank((unsigned char)*rest)) {
			rest++;
			restlen--;
		}
		if (restlen == 0) {
			mja_text_printable(w + strlen(prefix), klen, shown, sizeof(shown));
			mja_diag_set(L->d, "%s:%zu: empty value for option '%s'",
					file, line, shown);
			return MJA_ERR_CONFIG;
		}
		return add_opt(&L->c->plugins[*cur], w + strlen(prefix), klen,
				rest, restlen, file, line);
	}

	if (word_is(w, wlen, "include_dir")) {
		char *dir;

		if (level > 0)
			return MJA_OK; /* Mosquitto 2.0.11 ignores nested include_dir */
		if (restlen == 0) {
			mja_diag_set(L->d, "%s:%zu: include_dir without a directory", file, line);
			return MJA_ERR_CONFIG;
		}
		/* The value is taken verbatim (Mosquitto does not trim it). */
		dir = dup_n(rest, restlen);
		if (!dir)
			return MJA_ERR_NOMEM;
		rc = include_dir(L, dir, file, line);
		free(dir);
		return rc;
	}
	return MJA_OK; /* some other broker setting */
}

static mja_err parse_buf(struct loader *L, const char *buf, size_t len,
		const char *name, int level)
{
	const char *file, *p = buf, *end = buf + len, *nl;
	size_t line = 0;
	size_t cur = NO_PLUGIN; /* the current plugin is per file */
	mja_err rc = MJA_OK;

	file = add_file(L, name);
	if (!file) {
		mja_diag_set(L->d, "%s: out of memory", name);
		return MJA_ERR_NOMEM;
	}
	while (p < end && rc == MJA_OK) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		line++;
		rc = parse_line(L, p, (size_t)(nl - p), file, line, &cur, level);
		p = nl < end ? nl + 1 : end;
	}
	if (rc == MJA_ERR_NOMEM)
		mja_diag_set(L->d, "%s:%zu: out of memory", file, line);
	return rc;
}

static mja_err load(const char *buf, size_t len, const char *path, mja_mosqconf **out, mja_diag *d)
{
	struct loader L = { 0 };
	mja_err rc;

	*out = NULL;
	L.d = d;
	L.c = calloc(1, sizeof(*L.c));
	if (!L.c)
		return MJA_ERR_NOMEM;
	rc = buf ? parse_buf(&L, buf, len, path, 0) : parse_file(&L, path, 0);
	if (rc != MJA_OK) {
		mja_mosqconf_free(L.c);
		return rc;
	}
	*out = L.c;
	return MJA_OK;
}

mja_err mja_mosqconf_load_file(const char *path, mja_mosqconf **out, mja_diag *d)
{
	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!path)
		return MJA_ERR_INVAL;
	return load(NULL, 0, path, out, d);
}

mja_err mja_mosqconf_load_buf(const char *buf, size_t len, const char *name,
		mja_mosqconf **out, mja_diag *d)
{
	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!buf && len)
		return MJA_ERR_INVAL;
	return load(buf ? buf : "", len, name ? name : "memory", out, d);
}

void mja_mosqconf_free(mja_mosqconf *c)
{
	size_t i, j;

	if (!c)
		return;
	for (i = 0; i < c->n_plugins; i++) {
		for (j = 0; j < c->plugins[i].n_opts; j++) {
			free(c->plugins[i].opts[j].key);
			free(c->plugins[i].opts[j].value);
		}
		free(c->plugins[i].opts);
		free(c->plugins[i].path);
	}
	free(c->plugins);
	for (i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

static int names_jwt(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strcmp(base, MJA_MOSQCONF_PLUGIN_NAME) == 0;
}

size_t mja_mosqconf_count_jwt(const mja_mosqconf *c)
{
	size_t i, n = 0;

	for (i = 0; c && i < c->n_plugins; i++)
		n += names_jwt(c->plugins[i].path);
	return n;
}

mja_err mja_mosqconf_find_plugin(const mja_mosqconf *c, size_t index,
		const mja_mosqconf_plugin **out, mja_diag *d)
{
	size_t i, seen = 0, njwt;

	if (!out)
		return MJA_ERR_INVAL;
	*out = NULL;
	if (!c)
		return MJA_ERR_INVAL;
	njwt = mja_mosqconf_count_jwt(c);
	if (njwt == 0) {
		if (c->n_plugins == 1 && index == 0) {
			*out = &c->plugins[0];
			return MJA_OK;
		}
		if (c->n_plugins == 0)
			mja_diag_set(d, "%s: no plugin line", c->n_files ? c->files[0] : "config");
		else
			mja_diag_set(d, "%s: %zu plugin lines and none loads %s",
					c->n_files ? c->files[0] : "config", c->n_plugins,
					MJA_MOSQCONF_PLUGIN_NAME);
		return MJA_ERR_CONFIG;
	}
	for (i = 0; i < c->n_plugins; i++) {
		if (!names_jwt(c->plugins[i].path))
			continue;
		if (seen++ == index) {
			*out = &c->plugins[i];
			return MJA_OK;
		}
	}
	mja_diag_set(d, "%s: plugin instance %zu asked for, but only %zu plugin lines load %s",
			c->n_files ? c->files[0] : "config", index + 1, njwt, MJA_MOSQCONF_PLUGIN_NAME);
	return MJA_ERR_CONFIG;
}
