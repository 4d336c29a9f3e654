/* acl.h - the ACL file and topic decisions for token clients
 * (docs/design.md, "ACL semantics").
 *
 * File format, one directive per line, blank lines and lines whose first
 * non-blank character is '#' ignored:
 *   pattern ACCESS FILTER      rule for every token client (%s %c %u substituted)
 *   sub NAME | sub PREFIX*     start a section for one subject, or a prefix
 *   role NAME                  start a section for tokens holding that role
 *   topic ACCESS FILTER        rule inside the current section
 * ACCESS is read | write | readwrite | deny. FILTER is the rest of the line
 * (trailing whitespace trimmed) and must be a valid filter after
 * substitution syntax is checked (%s %c %u %% only).
 *
 * Details (acl_parse.c, acl.c):
 *  - Tokens are separated by white space (text.h: space, tab, and '\r' so
 *    that CRLF files load, '\v', '\f'). Keywords and access words are
 *    lower case. NAME is one token (more is an error); FILTER keeps inner
 *    spaces. No end-of-line
 *    comments. Lines are at most 8192 bytes; NUL bytes are refused; names
 *    and filters must be UTF-8. The file must be a regular file, not
 *    writable by every user (file.h).
 *  - `sub PREFIX*`: only a trailing '*' is special; it matches any suffix,
 *    the empty one too; `sub *` is every sub. Overlapping prefixes all
 *    apply. A sub name with '+' or '#' or over 256 bytes is an error (no
 *    token has such a sub: docs/design.md, "Token rules"). `role NAME*` is an error (no prefix
 *    form for roles). A repeated section adds to the first.
 *  - `pattern` applies to every token client wherever it stands, and ends
 *    the current section (a following `topic` is an error).
 *  - Substitutions work in `pattern` and `topic` lines, as a whole level or
 *    inside one ("devices/%s-data/#"), never in a level with '+' or '#'.
 *    At check time a value that is NULL, empty, or holds '/', '+' or '#'
 *    makes an allow rule using it match nothing; in a deny rule
 *    the level holding it stands for any value, like '+' (fail closed at
 *    that level: else a client could dodge a deny by its choice of client
 *    id or username, and a blanket deny would lock out clients without one).
 *  - '$' topics are matched only by rules whose written filter starts with
 *    '$' (so "%c/#" with client id "$SYS" does not reach $SYS).
 *
 * A loaded mja_acl is immutable and may be shared; reload builds a new one.
 * Lookups never scan every subject: exact subjects and roles are hashed,
 * prefix sections sit in a trie walked along the sub, so the cost grows
 * with the topic depth and the subject's own rules, not with the file.
 */
#ifndef MJA_ACL_H
#define MJA_ACL_H

#include <stddef.h>
#include "mja/util/error.h"

typedef struct mja_acl mja_acl;  /* opaque, immutable after load */

/* Access values as Mosquitto passes them (MOSQ_ACL_*). */
enum {
	MJA_ACCESS_READ = 1,        /* delivery of a message to the client */
	MJA_ACCESS_WRITE = 2,       /* client publishes */
	MJA_ACCESS_SUBSCRIBE = 4,
	MJA_ACCESS_UNSUBSCRIBE = 8
};

/* Load from a file or a buffer. All or nothing: on error *out is NULL and
 * d reads "FILE:LINE: reason". name is used in diagnostics. */
mja_err mja_acl_load_file(const char *path, mja_acl **out, mja_diag *d);
mja_err mja_acl_load_buf(const char *buf, size_t len, const char *name,
		mja_acl **out, mja_diag *d);
void mja_acl_free(mja_acl *acl);

/* Counts, for logs and tests. */
size_t mja_acl_rule_count(const mja_acl *acl);
size_t mja_acl_subject_count(const mja_acl *acl);  /* sub + role sections */

/* Who asks. All strings NUL-terminated and borrowed; clientid and username
 * may be NULL (then %c / %u rules match nothing). */
typedef struct mja_acl_who {
	const char *sub;
	const char *clientid;
	const char *username;
	const char *const *roles;
	size_t n_roles;
} mja_acl_who;

/* Decide one check. Returns 1 = allow, 0 = deny.
 *  - READ / WRITE: a matching deny rule denies; else a matching rule with
 *    that access allows; else deny.
 *  - SUBSCRIBE: $share/<group>/ stripped; allowed iff some read rule covers
 *    the filter and no deny rule covers it. Malformed filter: deny.
 *  - UNSUBSCRIBE: allow.
 * Expiry is the caller's concern (it knows the clock). */
int mja_acl_check(const mja_acl *acl, const mja_acl_who *who,
		const char *topic, size_t topiclen, int access);

#endif
