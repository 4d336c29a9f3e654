/* fuzz_json.c - the token's JSON object loader against jansson (json.h).
 *
 * A differential test: the subset parser must never accept what
 * json_loadb(JSON_REJECT_DUPLICATES) refuses, and what it accepts must be
 * jansson's tree exactly (same members, same types: an integer is never a
 * real, same string bytes). The whole loader (subset parser, then jansson)
 * must accept exactly the JSON objects jansson accepts whose nesting is at
 * most the limit: duplicate members, numbers, escapes, invalid UTF-8,
 * control bytes, NUL and depth all decided as jansson decides them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "mja/token/json.h"
#include "fuzz_common.h"

#define MAX_DEPTH 4

/* json_equal, and also the same type at every node (json_equal already
 * compares types; spelled out for the reader: 1 and 1.0 differ). */
static int same(const json_t *a, const json_t *b)
{
	return json_typeof(a) == json_typeof(b) && json_equal(a, b);
}

static int depth_of(const json_t *v)
{
	int d = 0, x;
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m)
			if ((x = depth_of(m)) > d)
				d = x;
		return d + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if ((x = depth_of(m)) > d)
				d = x;
		return d + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	json_t *fast = mja_json__fast_object(data, size, MAX_DEPTH);
	json_t *all = mja_json_load_object(data, size, MAX_DEPTH);

	if (fast) {
		/* never accepts what jansson refuses; builds jansson's tree */
		FUZZ_ASSERT(ref != NULL && json_is_object(ref));
		FUZZ_ASSERT(same(fast, ref));
		FUZZ_ASSERT(depth_of(fast) <= MAX_DEPTH);
	}
	/* the loader: exactly jansson's objects within the depth limit */
	FUZZ_ASSERT((all != NULL) == (ref != NULL && json_is_object(ref) &&
			depth_of(ref) <= MAX_DEPTH));
	if (all)
		FUZZ_ASSERT(same(all, ref));
	json_decref(ref);
	json_decref(fast);
	json_decref(all);
	return 0;
}
