/* test_topic.c - topic names, filters, matching, covering, overlapping and
 * $share stripping (MQTT 3.1.1 4.7, MQTT 5 4.7 and 4.8.2).
 *
 * The cases live in test/vectors/acl/{match,covers,overlaps,valid,share}.tsv
 * so test_acl.c can run the same rows through the ACL engine. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "mja/topic/topic.h"
#include "tsv.h"

#define VEC MJA_TEST_VECTORS "/acl/"

static int expect_int(const tsv *t)
{
	return atoi(t->f[0]);
}

/* Every row of a three-column table through fn; returns the row count. */
static size_t run_pairs(const char *file, int (*fn)(const char *, size_t, const char *, size_t),
		int symmetric)
{
	tsv t;
	size_t rows = 0, bad = 0;

	assert_true(tsv_load(&t, file));
	while (tsv_next(&t)) {
		int want, got;

		assert_int_equal(t.nf, 3);
		want = expect_int(&t);
		got = fn(t.f[1], t.flen[1], t.f[2], t.flen[2]);
		if (got != want) {
			print_error("%s:%zu: '%s' '%s': want %d, got %d\n", file, t.line,
					t.f[1], t.f[2], want, got);
			bad++;
		}
		if (symmetric && fn(t.f[2], t.flen[2], t.f[1], t.flen[1]) != want) {
			print_error("%s:%zu: not symmetric\n", file, t.line);
			bad++;
		}
		rows++;
	}
	tsv_free(&t);
	assert_int_equal(bad, 0);
	return rows;
}

static void test_match_table(void **state)
{
	assert_true(run_pairs(VEC "match.tsv", mja_topic_matches, 0) >= 70);
}

static void test_covers_table(void **state)
{
	assert_true(run_pairs(VEC "covers.tsv", mja_filter_covers, 0) >= 55);
}

static void test_overlaps_table(void **state)
{
	assert_true(run_pairs(VEC "overlaps.tsv", mja_filter_overlaps, 1) >= 30);
}

static void test_valid_table(void **state)
{
	tsv t;
	size_t rows = 0;

	assert_true(tsv_load(&t, VEC "valid.tsv"));
	while (tsv_next(&t)) {
		int want = atoi(t.f[1]);

		assert_int_equal(t.nf, 3);
		if (strcmp(t.f[0], "topic") == 0)
			assert_int_equal(mja_topic_valid(t.f[2], t.flen[2]), want);
		else
			assert_int_equal(mja_filter_valid(t.f[2], t.flen[2]), want);
		rows++;
	}
	tsv_free(&t);
	assert_true(rows >= 20);
}

static void test_share_table(void **state)
{
	tsv t;
	size_t rows = 0;

	assert_true(tsv_load(&t, VEC "share.tsv"));
	while (tsv_next(&t)) {
		int want = atoi(t.f[0]);
		const char *rest = NULL;
		size_t restlen = 0;

		assert_int_equal(t.nf, 3);
		if (mja_filter_strip_share(t.f[1], t.flen[1], &rest, &restlen) != want) {
			print_error("share.tsv:%zu: '%s'\n", t.line, t.f[1]);
			fail();
		}
		if (want >= 0) {
			assert_int_equal(restlen, t.flen[2]);
			assert_memory_equal(rest, t.f[2], restlen);
		}
		rows++;
	}
	tsv_free(&t);
	assert_true(rows >= 18);
}

/* Properties that tie the functions together, over every filter and topic
 * of the tables: a filter covers itself and overlaps itself; for a topic,
 * "covers" and "matches" agree (a topic is a filter without wildcards). */
static void test_consistency(void **state)
{
	tsv t;
	size_t n = 0;

	assert_true(tsv_load(&t, VEC "match.tsv"));
	while (tsv_next(&t)) {
		const char *f = t.f[1], *tp = t.f[2];
		size_t fl = t.flen[1], tl = t.flen[2];

		if (mja_filter_valid(f, fl)) {
			assert_int_equal(mja_filter_covers(f, fl, f, fl), 1);
			assert_int_equal(mja_filter_overlaps(f, fl, f, fl), 1);
		}
		if (mja_topic_valid(tp, tl) && mja_filter_valid(f, fl)) {
			assert_int_equal(mja_filter_covers(f, fl, tp, tl), mja_topic_matches(f, fl, tp, tl));
			assert_int_equal(mja_filter_overlaps(f, fl, tp, tl), mja_topic_matches(f, fl, tp, tl));
			n++;
		}
	}
	tsv_free(&t);
	assert_true(n >= 60);
}

static void test_nul_and_lengths(void **state)
{
	static char big[65536];
	const char *rest;
	size_t rl;

	/* MQTT 3.1.1 1.5.3: no U+0000 in topic strings. */
	assert_int_equal(mja_topic_valid("a\0b", 3), 0);
	assert_int_equal(mja_filter_valid("a\0b", 3), 0);
	assert_int_equal(mja_topic_matches("a/+", 3, "a/\0", 3), 0);
	assert_int_equal(mja_topic_matches("#", 1, "a\0", 2), 0);
	assert_int_equal(mja_filter_covers("#", 1, "a/\0", 3), 0);
	/* The length is what counts, not a NUL: "a/bc" cut at 3 is "a/b". */
	assert_int_equal(mja_topic_matches("a/b", 3, "a/bc", 3), 1);
	assert_int_equal(mja_topic_matches("a/bX", 3, "a/b", 3), 1);
	/* Empty and missing input. */
	assert_int_equal(mja_topic_valid("", 0), 0);
	assert_int_equal(mja_filter_valid("", 0), 0);
	assert_int_equal(mja_topic_valid(NULL, 3), 0);
	assert_int_equal(mja_filter_valid(NULL, 3), 0);
	assert_int_equal(mja_topic_matches("#", 1, "", 0), 0);
	assert_int_equal(mja_filter_strip_share(NULL, 0, &rest, &rl), -1);
	/* MQTT strings are at most 65535 bytes. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(mja_topic_valid(big, 65535), 1);
	assert_int_equal(mja_topic_valid(big, 65536), 0);
	assert_int_equal(mja_filter_valid(big, 65535), 1);
	assert_int_equal(mja_filter_valid(big, 65536), 0);
	assert_int_equal(mja_topic_matches("#", 1, big, 65535), 1);
	assert_int_equal(mja_topic_matches("#", 1, big, 65536), 0);
}

/* Like picohttpparser's tests: put the input right before a page that
 * cannot be read, so any read past len crashes the test. */
static void test_no_overread(void **state)
{
	static const char *const inputs[] = {
		"a/b", "a/", "/", "#", "+", "a/#", "+/+", "$SYS/x", "$share/g/a", "$share/g/",
		"$share/g", "$share", "a//b", "x",
	};
	long pg = sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(mem != MAP_FAILED);
	assert_int_equal(mprotect(mem + pg, (size_t)pg, PROT_NONE), 0);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		for (size_t j = 0; j < sizeof(inputs) / sizeof(inputs[0]); j++) {
			size_t la = strlen(inputs[i]), lb = strlen(inputs[j]);
			char *a = mem + pg - la - lb, *b = mem + pg - lb;
			const char *rest;
			size_t rl;

			memcpy(a, inputs[i], la);
			memcpy(b, inputs[j], lb);
			(void)mja_topic_valid(b, lb);
			(void)mja_filter_valid(b, lb);
			(void)mja_topic_matches(a, la, b, lb);
			(void)mja_filter_covers(a, la, b, lb);
			(void)mja_filter_overlaps(a, la, b, lb);
			(void)mja_filter_strip_share(b, lb, &rest, &rl);
		}
	}
	munmap(mem, (size_t)pg * 2);
}

/* MQTT 4.7.2 in one place, since it is the rule most easily lost. */
static void test_dollar_topics(void **state)
{
	assert_int_equal(mja_topic_matches("#", 1, "$SYS/broker/uptime", 18), 0);
	assert_int_equal(mja_topic_matches("+/broker/uptime", 15, "$SYS/broker/uptime", 18), 0);
	assert_int_equal(mja_topic_matches("$SYS/#", 6, "$SYS/broker/uptime", 18), 1);
	assert_int_equal(mja_filter_covers("#", 1, "$SYS/#", 6), 0);
	assert_int_equal(mja_filter_covers("$SYS/#", 6, "$SYS/+/uptime", 13), 1);
	assert_int_equal(mja_filter_overlaps("#", 1, "$SYS/#", 6), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_covers_table),
		cmocka_unit_test(test_overlaps_table),
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_share_table),
		cmocka_unit_test(test_consistency),
		cmocka_unit_test(test_nul_and_lengths),
		cmocka_unit_test(test_no_overread),
		cmocka_unit_test(test_dollar_topics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
