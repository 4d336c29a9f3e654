/* file.h - the one whole-file reader: keys, secrets, JWK/JWKS, the ACL file,
 * mosquitto.conf (for the tool) and every other file the plugin reads.
 *
 * Only regular files are read. The file is opened with O_NONBLOCK, so a FIFO
 * (or a device) never blocks the broker in open() or read(), and fstat()
 * refuses anything that is not a regular file at once. The size is checked
 * before reading, and a file that grows past it while being read is refused
 * rather than cut. The buffer is scrubbed when freed (it may hold a secret).
 *
 * Diagnostics name the file: "PATH: not a regular file (a FIFO)",
 * "PATH: mode 0666: writable by every user, refused (chmod o-w)",
 * "PATH: larger than N bytes", "PATH: cannot open: No such file or directory".
 */
#ifndef MJA_FILE_H
#define MJA_FILE_H

#include <stddef.h>
#include "mja/util/error.h"

/* Flags. */
/* A file the plugin trusts (a key, a secret, an ACL): refused when every
 * user may write it (mode o+w), as sshd's StrictModes does, since anyone on
 * the host could then mint tokens or grant rights. */
#define MJA_FILE_TRUSTED 1u
/* A secret: when every user may read it (mode o+r), a warning naming the
 * file and its mode is appended to d->warning (the file is still read). */
#define MJA_FILE_SECRET 2u

/* Read the regular file path, at most max bytes, into *out (malloc'd, with
 * a NUL after the last byte that *len does not count; free it with
 * mja_file_free(*out, *len)). On error *out is NULL, *len 0, d names the
 * file and the reason, and the result is MJA_ERR_FILE (MJA_ERR_NOMEM when
 * memory runs out, MJA_ERR_INVAL for NULL arguments). */
mja_err mja_file_read(const char *path, size_t max, unsigned flags,
		char **out, size_t *len, mja_diag *d);

/* Scrub p[0..len) and free it. NULL is fine. */
void mja_file_free(char *p, size_t len);

#endif
