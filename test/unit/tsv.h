/* tsv.h - read the tab-separated tables of test/vectors (unit tests only).
 *
 * A row is one line of fields separated by single tabs; empty lines and
 * lines starting with '#' are skipped (data rows never start with '#':
 * their first field is an expected value or a kind). tsv_load() reads the
 * whole file; tsv_next() yields rows, with the line number for messages.
 */
#ifndef MJA_TEST_TSV_H
#define MJA_TEST_TSV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TSV_MAX_FIELDS 6

typedef struct tsv {
	char *buf;
	size_t len, pos;
	size_t line;
	size_t nf;
	const char *f[TSV_MAX_FIELDS];   /* NUL-terminated in buf */
	size_t flen[TSV_MAX_FIELDS];
} tsv;

/* Whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
static inline char *tsv_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(fp);
	return buf;
}

static inline int tsv_load(tsv *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->buf = tsv_read_file(path, &t->len);
	return t->buf != NULL;
}

static inline int tsv_next(tsv *t)
{
	while (t->pos < t->len) {
		char *line = t->buf + t->pos;
		char *nl = memchr(line, '\n', t->len - t->pos);
		size_t llen = nl ? (size_t)(nl - line) : t->len - t->pos;
		char *p = line;

		t->pos += llen + (nl != NULL);
		t->line++;
		line[llen] = '\0';
		if (llen == 0 || line[0] == '#')
			continue;
		t->nf = 0;
		for (;;) {
			char *tab = strchr(p, '\t');

			if (t->nf == TSV_MAX_FIELDS)
				break;
			t->f[t->nf] = p;
			t->flen[t->nf++] = tab ? (size_t)(tab - p) : strlen(p);
			if (!tab)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		return 1;
	}
	return 0;
}

static inline void tsv_free(tsv *t)
{
	free(t->buf);
	t->buf = NULL;
}

#endif
