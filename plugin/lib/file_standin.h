/* file_standin.h - the one file reader (mja/file.h) and the log escaping
 * helper (mja/text.h), or, while those headers are not in this tree yet,
 * file-local stand-ins with the same names and signatures. Once the real
 * headers exist this header only includes them. */
#ifndef MJA_FILE_STANDIN_H
#define MJA_FILE_STANDIN_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mja/error.h"

#if __has_include("mja/file.h")
#include "mja/file.h"
#else
#define MJA_FILE_TRUSTED 1u   /* refuse a world-writable file */
#define MJA_FILE_SECRET 2u    /* warn when world-readable */

/* Read a regular file of at most max bytes into *out (NUL-terminated,
 * *len without the NUL); caller frees with mja_file_free. */
static __attribute__((unused)) mja_err mja_file_read(const char *path, size_t max,
		unsigned flags, char **out, size_t *len, mja_diag *d)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		mja_diag_set(d, "%s: cannot open: %s", path, strerror(errno));
		return MJA_ERR_FILE;
	}
	if (fstat(fd, &st) != 0) {
		mja_diag_set(d, "%s: cannot stat: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		mja_diag_set(d, "%s: not a regular file", path);
		goto fail;
	}
	if ((flags & MJA_FILE_TRUSTED) && (st.st_mode & S_IWOTH)) {
		mja_diag_set(d, "%s: world-writable (mode %04o): anyone could change it",
				path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		mja_diag_set(d, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		mja_diag_set(d, "%s: %s", path, mja_strerror(MJA_ERR_NOMEM));
		return MJA_ERR_NOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			mja_diag_set(d, "%s: read error: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;   /* shrank meanwhile: what is there */
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return MJA_OK;
fail:
	free(buf);
	close(fd);
	return MJA_ERR_FILE;
}

static __attribute__((unused)) void mja_file_free(char *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}
#endif

#if __has_include("mja/text.h")
#include "mja/text.h"
#else
/* A bounded copy of s[0..len) for a log line: bytes outside printable
 * ASCII as \xHH; "(none)" for NULL. */
static __attribute__((unused)) void mja_text_printable(const char *s, size_t len,
		char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	if (!s) {
		snprintf(buf, size, "(none)");
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				break;
			buf[o++] = (char)c;
		} else {
			if (o + 4 >= size)
				break;
			snprintf(buf + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	buf[o] = '\0';
}
#endif

#endif
