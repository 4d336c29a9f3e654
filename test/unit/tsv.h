/* tsv.h - read the tab-separated tables of test/vectors (unit tests only).
 *
 * A row is one line of fields separated by single tabs; empty lines and
 * lines starting with '#' are skipped (data rows never start with '#':
 * their first field is an expected value or a kind). tsv_load() reads the
 * whole file (readfile.h); tsv_next() yields rows, with the line number for messages.
 */
#ifndef MJA_TEST_TSV_H
#define MJA_TEST_TSV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"

#define TSV_MAX_FIELDS 6

typedef struct tsv {
	char *buf;
	size_t len, pos;
	size_t line;
	size_t nf;
	const char *f[TSV_MAX_FIELDS];   /* NUL-terminated in buf */
	size_t flen[TSV_MAX_FIELDS];
} tsv;

static inline int tsv_load(tsv *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->buf = test_read_file(path, &t->len);
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
