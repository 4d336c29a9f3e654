/* readfile.h - the test tree's one whole-file reader (unit tests, the
 * interoperability helper test/interop/verify_tokens.c, the fuzz harnesses'
 * fixtures in fuzz/fuzz_common.h).
 *
 * Test inputs (vectors, keys, tokens) are small files of ours; the
 * plugin's own reader (regular files only, size cap, secrets scrubbed) is
 * what the tests test, not what they read their fixtures with.
 */
#ifndef MJA_TEST_READFILE_H
#define MJA_TEST_READFILE_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file at path in a malloc'd, NUL-terminated buffer owned by the
 * caller; *len (if len is not NULL) gets its size. NULL on any error. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (len)
		*len = 0;
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
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(fp);
	return buf;
}

/* Drop trailing "\n" and "\r" from buf[0..len) (NUL-terminating it again);
 * returns the new length. For one-line files: tokens, secrets. */
static inline size_t test_chomp(char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return len;
}

#endif
