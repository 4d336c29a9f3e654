/* file.c - the one whole-file reader (file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mja/util/file.h"

static const char *kind_of(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "a special file";
}

void mja_file_free(char *p, size_t len)
{
	if (p) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

mja_err mja_file_read(const char *path, size_t max, unsigned flags,
		char **out, size_t *len, mja_diag *d)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap;
	mja_err e = MJA_ERR_FILE;
	int fd;

	if (out)
		*out = NULL;
	if (len)
		*len = 0;
	if (!path || !out || !len)
		return MJA_ERR_INVAL;
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer;
	 * O_NOCTTY: a terminal never becomes ours. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		mja_diag_set(d, "%s: cannot open: %s", path, strerror(errno));
		return MJA_ERR_FILE;
	}
	if (fstat(fd, &st) != 0) {
		mja_diag_set(d, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		mja_diag_set(d, "%s: not a regular file (%s)", path, kind_of(st.st_mode));
		goto out;
	}
	if ((flags & MJA_FILE_TRUSTED) && (st.st_mode & S_IWOTH)) {
		mja_diag_set(d, "%s: mode %04o: writable by every user, refused (chmod o-w)",
				path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		mja_diag_set(d, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((flags & MJA_FILE_SECRET) && (st.st_mode & S_IROTH))
		mja_diag_warn(d, "%s: mode %04o: secret readable by every user (chmod o-r)",
				path, (unsigned)(st.st_mode & 07777));
	/* one byte more than the size: a file that grew while being read fills
	 * it, and is refused rather than cut; plus the NUL */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		e = MJA_ERR_NOMEM;
		mja_diag_set(d, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			mja_diag_set(d, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			mja_diag_set(d, "%s: changed while being read", path);
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	e = MJA_OK;
out:
	mja_file_free(buf, n);
	close(fd);
	return e;
}
