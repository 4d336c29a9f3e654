/* fuzz_common.h - shared bits of the libFuzzer harnesses (one per parser).
 *
 * Harnesses abort() when an invariant that the headers promise is broken,
 * so libFuzzer records the input as a finding just like a sanitizer report.
 */
#ifndef MJA_FUZZ_COMMON_H
#define MJA_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../test/unit/readfile.h"

/* The fixed clock of every harness; fuzz/make_corpus.py mints seed tokens
 * valid at this time. */
#define MJA_FUZZ_NOW ((int64_t)1700000000)

/* Abort with a message: an invariant from an include/mja header does not hold. */
#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* Read a whole fixture file (MJA_FUZZ_KEYS/name) or abort: a harness with a
 * missing keyset would fuzz nothing useful. *len gets the size; the buffer
 * is NUL-terminated and owned by the caller. The reader is the test tree's
 * one (test/unit/readfile.h). */
static inline char *fuzz_read_fixture(const char *name, size_t *len)
{
	char path[1024];
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", MJA_FUZZ_KEYS, name);
	buf = test_read_file(path, len);
	if (!buf) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		abort();
	}
	return buf;
}

#endif
