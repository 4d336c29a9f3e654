/* revoke.h - the revocation list (option revocation_file).
 *
 * A token that was stolen must stop working before it expires. The
 * operator lists what is revoked, one entry a line:
 *
 *   jti 6f1c2a...                      that token (RFC 7519 4.1.7)
 *   sub sensor-42                      every token of this subject
 *   sub sensor-43 before 1767225600    its tokens issued (iat) before then
 *   kid 2024-old-key                   every token signed with this key
 *
 * Blank lines are ignored; '#' at the start of a line, or after a blank,
 * starts a comment that runs to the end of the line. Words are separated
 * by blanks (space, tab); a trailing "\r" is ignored. A value is one word:
 * at most MJA_REVOKE_MAX_VALUE bytes of valid UTF-8 without control bytes
 * (a sub value must also pass the sub rule of claims.h). The time is a
 * whole number of seconds since the epoch. Errors name the file, the line
 * and the reason: "FILE:LINE: reason". Duplicate lines are fine; `sub X`
 * overrides any `sub X before T`; of several `before` lines of one subject
 * the latest time counts.
 *
 * A token without iat is revoked by a `sub ... before` line: it cannot show
 * that it was issued after the cut-off (fail closed).
 *
 * The list is immutable once built; reload builds a new one and swaps it
 * (config.h). Lookups hash the value (seeded, so a crafted file or token
 * cannot choose collisions) into an open-addressing table: O(1), no scan.
 * Memory: one copy of the values plus 24 bytes per slot at most half full.
 * Not thread-safe to build; lookups on a built list are read-only.
 */
#ifndef MJA_REVOKE_H
#define MJA_REVOKE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "mja/util/error.h"

/* Longest value (jti, sub, kid) in bytes. */
#define MJA_REVOKE_MAX_VALUE 1024
/* Largest revocation file read, bytes (a million 36-byte jti lines are
 * about 41 MB). */
#define MJA_REVOKE_MAX_FILE (512u * 1024u * 1024u)

typedef struct mja_revoke mja_revoke;

/* What a token offers to the lookup; NULL / has_iat 0 when absent. */
typedef struct mja_revoke_query {
	const char *jti;
	const char *sub;
	const char *kid;
	int has_iat;
	int64_t iat;     /* whole seconds (fractions rounded down) */
} mja_revoke_query;

/* Parse buf[0..len) (need not be NUL-terminated; name stands for the file
 * in diagnostics). All or nothing: on error *out is NULL and d reads
 * "NAME:LINE: reason"; MJA_ERR_CONFIG for a syntax error. An empty list is
 * fine. The result is owned by the caller (mja_revoke_free). */
mja_err mja_revoke_parse(const char *buf, size_t len, const char *name,
		mja_revoke **out, mja_diag *d);

/* Read path through mja_file_read (regular file, at most
 * MJA_REVOKE_MAX_FILE bytes, not world-writable) and parse it. */
mja_err mja_revoke_load_file(const char *path, mja_revoke **out, mja_diag *d);

void mja_revoke_free(mja_revoke *r);   /* NULL is fine */

/* Number of distinct entries. */
size_t mja_revoke_count(const mja_revoke *r);

/* MJA_ERR_REVOKED if a line of r matches q, else MJA_OK. r NULL (no
 * revocation_file) revokes nothing. At most three hash lookups. */
mja_err mja_revoke_check(const mja_revoke *r, const mja_revoke_query *q);

/* The identity of the file at a path, to notice a change with one stat(2):
 * device, inode (a replacement by rename has a new one), size, and the
 * modification and change times in nanoseconds. */
typedef struct mja_revoke_stamp {
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns, ctime_ns;
} mja_revoke_stamp;

/* stat(path) into *st (exists 0 if stat fails). */
void mja_revoke_stamp_get(const char *path, mja_revoke_stamp *st);
/* 1 if a and b describe the same file contents (by the fields above). */
int mja_revoke_stamp_equal(const mja_revoke_stamp *a, const mja_revoke_stamp *b);

#endif
