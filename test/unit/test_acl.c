/* test_acl.c - the ACL file (docs/design.md, "ACL semantics"): parser errors, decisions,
 * substitutions, deny precedence, sections, the index, and a file of
 * 100,000 subjects.
 *
 * Data-driven parts: test/vectors/acl/invalid/<case>/{input,error} (every
 * parser error, compared word for word) and the topic tables, run here
 * through the engine as rules so the engine and topic.c cannot drift. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mja/topic/acl.h"
#include "mja/topic/acl_internal.h"
#include "mja/topic/topic.h"
#include "tsv.h"

#define VEC MJA_TEST_VECTORS "/acl/"
#define R MJA_ACCESS_READ
#define W MJA_ACCESS_WRITE
#define S MJA_ACCESS_SUBSCRIBE
#define U MJA_ACCESS_UNSUBSCRIBE

static mja_acl *load_len(const char *text, size_t len)
{
	mja_diag d = { 0 };
	mja_acl *acl = NULL;
	mja_err rc = mja_acl_load_buf(text, len, "t.acl", &acl, &d);

	if (rc != MJA_OK)
		print_error("load failed: %s\n", d.text);
	assert_int_equal(rc, MJA_OK);
	assert_non_null(acl);
	return acl;
}

static mja_acl *load(const char *text)
{
	return load_len(text, strlen(text));
}

/* The diagnostic of a load that must fail, in a static buffer. */
static const char *load_error(const char *text, size_t len)
{
	static mja_diag d;
	mja_acl *acl = (mja_acl *)&d; /* must be reset to NULL */

	mja_diag_clear(&d);
	assert_int_equal(mja_acl_load_buf(text, len, "t.acl", &acl, &d), MJA_ERR_ACL_SYNTAX);
	assert_null(acl);
	return d.text;
}

static mja_acl_who who_full(const char *sub, const char *cid, const char *user)
{
	mja_acl_who w = { sub, cid, user, NULL, 0 };

	return w;
}

static mja_acl_who who(const char *sub)
{
	return who_full(sub, "client-1", "user-1");
}

static int chk(const mja_acl *acl, const mja_acl_who *w, int access, const char *topic)
{
	return mja_acl_check(acl, w, topic, strlen(topic), access);
}

/* ---------------------------------------------------------------- parser */

static void test_invalid_vectors(void **state)
{
	DIR *dir = opendir(VEC "invalid");
	struct dirent *e;
	size_t cases = 0, bad = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		char path[512];
		char *input, *want;
		size_t ilen = 0, wlen = 0;
		const char *got;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), VEC "invalid/%s/input", e->d_name);
		input = test_read_file(path, &ilen);
		assert_non_null(input);
		snprintf(path, sizeof(path), VEC "invalid/%s/error", e->d_name);
		want = test_read_file(path, &wlen);
		assert_non_null(want);
		while (wlen && want[wlen - 1] == '\n')
			want[--wlen] = '\0';
		{
			mja_diag d = { 0 };
			mja_acl *acl = NULL;
			mja_err rc = mja_acl_load_buf(input, ilen, "input", &acl, &d);

			got = d.text;
			if (rc != MJA_ERR_ACL_SYNTAX || acl || strcmp(got, want) != 0) {
				print_error("invalid/%s: rc %d, got \"%s\", want \"%s\"\n",
						e->d_name, rc, got, want);
				bad++;
			}
			mja_acl_free(acl);
		}
		free(input);
		free(want);
		cases++;
	}
	closedir(dir);
	assert_int_equal(bad, 0);
	assert_true(cases >= 39);
}

static void test_line_too_long(void **state)
{
	size_t n = 8192;
	char *buf = malloc(n + 2);
	mja_acl *acl;

	/* A comment line of exactly 8192 bytes is fine, 8193 is not. */
	assert_non_null(buf);
	memset(buf, 'x', n + 1);
	buf[0] = '#';
	buf[n] = '\n';
	acl = load_len(buf, n + 1);
	mja_acl_free(acl);
	memset(buf, 'x', n + 2);
	buf[0] = '#';
	buf[n + 1] = '\n';
	assert_string_equal(load_error(buf, n + 2), "t.acl:1: line too long (more than 8192 bytes)");
	/* Also without a final newline. */
	assert_string_equal(load_error(buf, n + 1), "t.acl:1: line too long (more than 8192 bytes)");
	free(buf);
}

static void test_syntax_accepted(void **state)
{
	/* CRLF, tabs, indented lines and comments, no final newline, a filter
	 * with inner spaces, "%%" for a literal '%', a repeated section. */
	static const char text[] =
		"  # comment\r\n"
		"\r\n"
		"\tsub\tgw-1 \r\n"
		"  topic   read   room a/temp  \r\n"
		"pattern read 100%%/x\n"
		"sub gw-1\n"
		"topic write out/%s";
	mja_acl *acl = load(text);
	mja_acl_who w = who("gw-1");

	assert_int_equal(mja_acl_rule_count(acl), 3);
	assert_int_equal(mja_acl_subject_count(acl), 1);
	assert_int_equal(chk(acl, &w, R, "room a/temp"), 1);
	assert_int_equal(chk(acl, &w, R, "room a/temp "), 0);
	assert_int_equal(chk(acl, &w, R, "room  a/temp"), 0);
	assert_int_equal(chk(acl, &w, R, "100%/x"), 1);
	assert_int_equal(chk(acl, &w, R, "100%%/x"), 0);
	/* The second "sub gw-1" adds to the first. */
	assert_int_equal(chk(acl, &w, W, "out/gw-1"), 1);
	mja_acl_free(acl);

	/* Empty file and comments only: loads, allows nothing. */
	acl = load("");
	assert_int_equal(mja_acl_rule_count(acl), 0);
	assert_int_equal(chk(acl, &w, R, "a"), 0);
	assert_int_equal(chk(acl, &w, S, "a"), 0);
	mja_acl_free(acl);
	acl = load("# nothing\n\n   \n");
	assert_int_equal(mja_acl_subject_count(acl), 0);
	mja_acl_free(acl);
}

static void test_all_or_nothing(void **state)
{
	/* 1000 good lines then a bad one: nothing is returned, *out is reset,
	 * the line number is right, and ASan sees no leak of the partial load. */
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap);
	mja_diag d = { 0 };
	mja_acl *acl = (mja_acl *)buf;

	assert_non_null(buf);
	for (int i = 0; i < 500; i++)
		len += (size_t)snprintf(buf + len, cap - len, "sub s-%d\ntopic read a/%d/#\n", i, i);
	len += (size_t)snprintf(buf + len, cap - len, "sub s-x\ntopic read a/#/b\n");
	assert_int_equal(mja_acl_load_buf(buf, len, "big.acl", &acl, &d), MJA_ERR_ACL_SYNTAX);
	assert_null(acl);
	assert_string_equal(d.text, "big.acl:1002: invalid filter: '#' must be the last level");
	/* The first error sticks in a diag that is not cleared (jansson-like). */
	assert_int_equal(mja_acl_load_buf("bogus\n", 6, "other", &acl, &d), MJA_ERR_ACL_SYNTAX);
	assert_string_equal(d.text, "big.acl:1002: invalid filter: '#' must be the last level");
	/* Bad arguments. */
	assert_int_equal(mja_acl_load_buf(NULL, 3, "x", &acl, &d), MJA_ERR_INVAL);
	assert_int_equal(mja_acl_load_buf("", 0, "x", NULL, &d), MJA_ERR_INVAL);
	/* No name and no diag: still refused, no crash. */
	assert_int_equal(mja_acl_load_buf("bogus", 5, NULL, &acl, NULL), MJA_ERR_ACL_SYNTAX);
	free(buf);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mja-acl-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void test_load_file(void **state)
{
	char path[128], want[256];
	mja_diag d = { 0 };
	mja_acl *acl = NULL;
	mja_acl_who w = who("dev-1");

	/* A good file. */
	snprintf(path, sizeof(path), "%s/good.acl", tmpdir);
	write_file(path, "pattern readwrite devices/%s/#\n");
	assert_int_equal(mja_acl_load_file(path, &acl, &d), MJA_OK);
	assert_int_equal(chk(acl, &w, W, "devices/dev-1/x"), 1);
	mja_acl_free(acl);
	/* Syntax errors name the path. */
	snprintf(path, sizeof(path), "%s/bad.acl", tmpdir);
	write_file(path, "pattern readwrite devices/%s/#\ntopic read x\n");
	assert_int_equal(mja_acl_load_file(path, &acl, &d), MJA_ERR_ACL_SYNTAX);
	assert_null(acl);
	snprintf(want, sizeof(want), "%s:2: 'topic' outside a section (put it after 'sub NAME' or 'role NAME')", path);
	assert_string_equal(d.text, want);
	/* Missing file. */
	mja_diag_clear(&d);
	snprintf(path, sizeof(path), "%s/missing.acl", tmpdir);
	assert_int_equal(mja_acl_load_file(path, &acl, &d), MJA_ERR_FILE);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(d.text, want);
	/* A directory, and a FIFO (which must not block the load). */
	mja_diag_clear(&d);
	assert_int_equal(mja_acl_load_file(tmpdir, &acl, &d), MJA_ERR_FILE);
	snprintf(want, sizeof(want), "%s: not a regular file (a directory)", tmpdir);
	assert_string_equal(d.text, want);
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	mja_diag_clear(&d);
	assert_int_equal(mja_acl_load_file(path, &acl, &d), MJA_ERR_FILE);
	snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", path);
	assert_string_equal(d.text, want);
	mja_diag_clear(&d);
	assert_int_equal(mja_acl_load_file("/dev/null", &acl, &d), MJA_ERR_FILE);
	assert_string_equal(d.text, "/dev/null: not a regular file (a character device)");
	assert_null(acl);
	assert_int_equal(mja_acl_load_file(NULL, &acl, &d), MJA_ERR_INVAL);
}

static void test_example_config(void **state)
{
	mja_diag d = { 0 };
	mja_acl *acl = NULL;
	const char *op_roles[] = { "viewer", "operator" };
	mja_acl_who dev = who("sensor-0042"), out = who("sensor-out-3"), gw = who("gateway-7");
	mja_acl_who op = who("alice");

	op.roles = op_roles;
	op.n_roles = 2;
	assert_int_equal(mja_acl_load_file(MJA_SOURCE_DIR "/config-examples/acl.conf", &acl, &d), MJA_OK);
	assert_int_equal(mja_acl_subject_count(acl), 5);
	/* devices */
	assert_int_equal(chk(acl, &dev, W, "devices/sensor-0042/temp"), 1);
	assert_int_equal(chk(acl, &dev, W, "devices/sensor-0043/temp"), 0);
	assert_int_equal(chk(acl, &dev, W, "devices/sensor-0042/credentials/key"), 0);
	assert_int_equal(chk(acl, &dev, W, "status/sensor-0042-state"), 1);
	assert_int_equal(chk(acl, &dev, W, "status/sensor-0043-state"), 0);
	assert_int_equal(chk(acl, &dev, W, "telemetry/sensors/sensor-0042"), 1);
	assert_int_equal(chk(acl, &dev, S, "fleet/broadcast/#"), 1);
	assert_int_equal(chk(acl, &dev, S, "weather/#"), 0);
	assert_int_equal(chk(acl, &out, S, "weather/#"), 1);
	assert_int_equal(chk(acl, &out, S, "config/sensors/+"), 1);
	/* gateway */
	assert_int_equal(chk(acl, &gw, S, "devices/+/telemetry"), 1);
	assert_int_equal(chk(acl, &gw, S, "devices/#"), 0);
	assert_int_equal(chk(acl, &gw, W, "commands/sensor-0042/reboot"), 1);
	/* operator: reads all but secrets and credentials; $SYS by its own rule */
	assert_int_equal(chk(acl, &op, S, "#"), 1);
	assert_int_equal(chk(acl, &op, R, "secrets/db"), 0);
	assert_int_equal(chk(acl, &op, S, "secrets/#"), 0);
	assert_int_equal(chk(acl, &op, R, "devices/x/credentials/k"), 0);
	assert_int_equal(chk(acl, &op, S, "$SYS/broker/#"), 1);
	assert_int_equal(chk(acl, &op, W, "firmware/v2"), 0);
	mja_acl_free(acl);
}

/* -------------------------------------------------- matcher via the engine */

/* Each row of match.tsv as "pattern read FILTER" (and as a sub section, a
 * prefix section and a role section): READ of the topic must give the
 * table's answer; a filter topic.c calls invalid must not load. */
static void test_match_table_via_engine(void **state)
{
	static const char *const forms[] = {
		"pattern read ", "sub dev-1\ntopic read ", "sub dev*\ntopic readwrite ",
		"role r\ntopic read ",
	};
	const char *roles[] = { "r" };
	mja_acl_who w = who("dev-1");
	tsv t;
	size_t rows = 0;

	w.roles = roles;
	w.n_roles = 1;
	assert_true(tsv_load(&t, VEC "match.tsv"));
	while (tsv_next(&t)) {
		int want = atoi(t.f[0]);
		int fvalid = mja_filter_valid(t.f[1], t.flen[1]);

		for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
			char text[256];
			int n = snprintf(text, sizeof(text), "%s%s\n", forms[k], t.f[1]);
			mja_diag d = { 0 };
			mja_acl *acl = NULL;
			mja_err rc = mja_acl_load_buf(text, (size_t)n, "m", &acl, &d);

			if (!fvalid) {
				assert_int_equal(rc, MJA_ERR_ACL_SYNTAX);
				continue;
			}
			assert_int_equal(rc, MJA_OK);
			if (mja_acl_check(acl, &w, t.f[2], t.flen[2], R) != want) {
				print_error("match.tsv:%zu via \"%s\": want %d\n", t.line, text, want);
				fail();
			}
			/* A read rule never grants publishing (k == 2 is readwrite). */
			if (k != 2)
				assert_int_equal(mja_acl_check(acl, &w, t.f[2], t.flen[2], W), 0);
			mja_acl_free(acl);
		}
		rows++;
	}
	tsv_free(&t);
	assert_true(rows >= 70);
}

/* Each row of covers.tsv as "pattern read RULE" and SUBSCRIBE FILTER, and
 * as a deny rule under "pattern read #"/"$#"-style grants. */
static void test_covers_table_via_engine(void **state)
{
	mja_acl_who w = who("dev-1");
	tsv t;
	size_t rows = 0;

	assert_true(tsv_load(&t, VEC "covers.tsv"));
	while (tsv_next(&t)) {
		int want = atoi(t.f[0]);
		char text[256];
		mja_acl *acl = NULL;
		mja_diag d = { 0 };
		int n;

		if (!mja_filter_valid(t.f[1], t.flen[1]))
			continue; /* such rules do not load: see the match table */
		n = snprintf(text, sizeof(text), "pattern read %s\n", t.f[1]);
		assert_int_equal(mja_acl_load_buf(text, (size_t)n, "c", &acl, &d), MJA_OK);
		if (chk(acl, &w, S, t.f[2]) != want) {
			print_error("covers.tsv:%zu: rule '%s' sub '%s': want %d\n", t.line,
					t.f[1], t.f[2], want);
			fail();
		}
		/* The same through $share. */
		{
			char shared[256];

			snprintf(shared, sizeof(shared), "$share/grp/%s", t.f[2]);
			assert_int_equal(chk(acl, &w, S, shared), want);
		}
		mja_acl_free(acl);
		/* As a deny rule: a deny that covers the filter refuses it even
		 * though "#" and "$#"-rules grant it; one that does not cover it
		 * leaves it allowed. */
		n = snprintf(text, sizeof(text), "pattern read #\npattern read $SYS/#\n"
				"pattern deny %s\n", t.f[1]);
		assert_int_equal(mja_acl_load_buf(text, (size_t)n, "c", &acl, &d), MJA_OK);
		if (mja_filter_valid(t.f[2], t.flen[2]) &&
				mja_filter_covers("#", 1, t.f[2], t.flen[2])) {
			assert_int_equal(chk(acl, &w, S, t.f[2]), !want);
		}
		mja_acl_free(acl);
		rows++;
	}
	tsv_free(&t);
	assert_true(rows >= 50);
}

/* ----------------------------------------------------------- decisions */

static void test_read_write_subscribe(void **state)
{
	mja_acl *acl = load(
		"pattern read r/#\n"
		"pattern write w/#\n"
		"pattern readwrite rw/#\n");
	mja_acl_who w = who("d");

	assert_int_equal(chk(acl, &w, R, "r/x"), 1);
	assert_int_equal(chk(acl, &w, W, "r/x"), 0);
	assert_int_equal(chk(acl, &w, S, "r/+"), 1);
	assert_int_equal(chk(acl, &w, R, "w/x"), 0);
	assert_int_equal(chk(acl, &w, W, "w/x"), 1);
	assert_int_equal(chk(acl, &w, S, "w/x"), 0);   /* write does not grant subscribe */
	assert_int_equal(chk(acl, &w, R, "rw/x"), 1);
	assert_int_equal(chk(acl, &w, W, "rw/x"), 1);
	assert_int_equal(chk(acl, &w, S, "rw/#"), 1);
	assert_int_equal(chk(acl, &w, R, "other"), 0);
	assert_int_equal(chk(acl, &w, S, "#"), 0);
	/* UNSUBSCRIBE is always allowed, even for filters nobody may use. */
	assert_int_equal(chk(acl, &w, U, "other/#"), 1);
	assert_int_equal(chk(acl, &w, U, "$share//bad"), 1);
	/* Unknown access values, combinations, and missing input deny. */
	assert_int_equal(chk(acl, &w, 0, "r/x"), 0);
	assert_int_equal(chk(acl, &w, R | W, "rw/x"), 0);
	assert_int_equal(chk(acl, &w, 16, "r/x"), 0);
	assert_int_equal(mja_acl_check(NULL, &w, "r/x", 3, R), 0);
	assert_int_equal(mja_acl_check(acl, NULL, "r/x", 3, R), 0);
	assert_int_equal(mja_acl_check(acl, &w, NULL, 3, R), 0);
	/* A topic name with wildcards, empty, or with NUL is refused. */
	assert_int_equal(chk(acl, &w, R, "r/+"), 0);
	assert_int_equal(chk(acl, &w, W, "w/#"), 0);
	assert_int_equal(mja_acl_check(acl, &w, "r/x", 0, R), 0);
	assert_int_equal(mja_acl_check(acl, &w, "r/\0x", 4, R), 0);
	/* Invalid subscription filters are refused. */
	assert_int_equal(chk(acl, &w, S, "r/#/x"), 0);
	assert_int_equal(chk(acl, &w, S, "r/a+"), 0);
	assert_int_equal(mja_acl_check(acl, &w, "r/\0", 3, S), 0);
	mja_acl_free(acl);
}

static void test_deny_precedence(void **state)
{
	const char *roles[] = { "ops" };
	mja_acl *acl = load(
		"pattern deny   secret/#\n"        /* before the grants */
		"sub d1\n"
		"topic readwrite #\n"
		"topic deny     d1/private/+\n"
		"topic readwrite d1/private/ok\n"  /* after the deny: still denied */
		"sub d*\n"
		"topic deny     prefix-denied/#\n"
		"role ops\n"
		"topic deny     ops-denied\n"
		"pattern readwrite secret/open\n");
	mja_acl_who w = who("d1"), other = who("x");

	w.roles = roles;
	w.n_roles = 1;
	assert_int_equal(chk(acl, &w, R, "anything"), 1);
	assert_int_equal(chk(acl, &w, R, "secret/open"), 0);   /* pattern deny beats pattern grant */
	assert_int_equal(chk(acl, &w, W, "secret/x/y"), 0);
	assert_int_equal(chk(acl, &w, R, "d1/private/ok"), 0); /* order in the file does not matter */
	assert_int_equal(chk(acl, &w, R, "d1/private/ok/x"), 1);
	assert_int_equal(chk(acl, &w, W, "prefix-denied/a"), 0);
	assert_int_equal(chk(acl, &w, W, "ops-denied"), 0);
	assert_int_equal(chk(acl, &other, R, "secret/open"), 0);
	/* SUBSCRIBE: a deny covering the whole filter refuses it ... */
	assert_int_equal(chk(acl, &w, S, "secret/#"), 0);
	assert_int_equal(chk(acl, &w, S, "secret/open"), 0);
	assert_int_equal(chk(acl, &w, S, "d1/private/+"), 0);
	assert_int_equal(chk(acl, &w, S, "$share/g/prefix-denied/x"), 0);
	/* ... a partial overlap does not; the deny then applies per message. */
	assert_int_equal(chk(acl, &w, S, "#"), 1);
	assert_int_equal(chk(acl, &w, S, "d1/+/ok"), 1);
	assert_int_equal(chk(acl, &w, R, "d1/private/ok"), 0);
	assert_int_equal(chk(acl, &w, R, "d1/public/ok"), 1);
	assert_int_equal(chk(acl, &w, R, "secret/x"), 0);
	mja_acl_free(acl);
}

static void test_dollar_rules(void **state)
{
	mja_acl *acl = load(
		"pattern readwrite #\n"
		"pattern readwrite +/#\n"
		"pattern readwrite %c/#\n"
		"sub mon\n"
		"topic read $SYS/broker/+\n");
	mja_acl_who w = who_full("d", "$SYS", "u"), mon = who("mon");

	/* MQTT 4.7.2: '#' and '+' do not reach '$' topics, nor does a rule
	 * that only starts with '$' once a client id is substituted. */
	assert_int_equal(chk(acl, &w, R, "$SYS/broker/load"), 0);
	assert_int_equal(chk(acl, &w, S, "$SYS/#"), 0);
	assert_int_equal(chk(acl, &w, S, "$SYS/broker/load"), 0);
	assert_int_equal(chk(acl, &w, W, "$foo"), 0);
	assert_int_equal(chk(acl, &w, R, "a/$SYS"), 1);
	assert_int_equal(chk(acl, &mon, R, "$SYS/broker/load"), 1);
	assert_int_equal(chk(acl, &mon, S, "$SYS/broker/+"), 1);
	assert_int_equal(chk(acl, &mon, S, "$SYS/#"), 0);
	assert_int_equal(chk(acl, &mon, R, "$SYS/broker/load/x"), 0);
	assert_int_equal(chk(acl, &mon, W, "$SYS/broker/load"), 0);
	mja_acl_free(acl);
}

static void test_share(void **state)
{
	mja_acl *acl = load("pattern read jobs/#\npattern deny jobs/secret/#\n");
	mja_acl_who w = who("d");

	assert_int_equal(chk(acl, &w, S, "$share/workers/jobs/#"), 1);
	assert_int_equal(chk(acl, &w, S, "$share/workers/jobs/+/x"), 1);
	assert_int_equal(chk(acl, &w, S, "$share/workers/other/#"), 0);
	assert_int_equal(chk(acl, &w, S, "$share/workers/jobs/secret/#"), 0);
	/* Malformed shared filters are refused (MQTT 5 4.8.2). */
	assert_int_equal(chk(acl, &w, S, "$share/workers"), 0);
	assert_int_equal(chk(acl, &w, S, "$share/workers/"), 0);
	assert_int_equal(chk(acl, &w, S, "$share//jobs/#"), 0);
	assert_int_equal(chk(acl, &w, S, "$share/w+/jobs/#"), 0);
	assert_int_equal(chk(acl, &w, S, "$share/w#/jobs/#"), 0);
	assert_int_equal(chk(acl, &w, S, "$share/w/jobs/#/x"), 0);
	assert_int_equal(chk(acl, &w, S, "$share"), 0);
	/* "$share/..." is a filter only on SUBSCRIBE; as a topic it is just a
	 * '$' topic, which no rule here grants. */
	assert_int_equal(chk(acl, &w, R, "$share/workers/jobs/x"), 0);
	mja_acl_free(acl);
}

/* ------------------------------------------------------- substitutions */

static void test_substitution(void **state)
{
	mja_acl *acl = load(
		"pattern readwrite devices/%s/#\n"
		"pattern write     status/%s-state\n"
		"pattern read      clients/%c/in\n"
		"pattern read      users/%u/in\n"
		"pattern read      pair/%c-%u\n"
		"pattern read      lit/%%s\n");
	mja_acl_who w = who_full("dev-1", "cid-1", "bob");

	assert_int_equal(chk(acl, &w, W, "devices/dev-1/t"), 1);
	assert_int_equal(chk(acl, &w, W, "devices/dev-1"), 1);
	assert_int_equal(chk(acl, &w, W, "devices/dev-2/t"), 0);
	assert_int_equal(chk(acl, &w, W, "devices/dev-10/t"), 0);
	assert_int_equal(chk(acl, &w, W, "devices/dev-/t"), 0);
	assert_int_equal(chk(acl, &w, S, "devices/dev-1/#"), 1);
	assert_int_equal(chk(acl, &w, S, "devices/+/#"), 0);
	/* part of a level */
	assert_int_equal(chk(acl, &w, W, "status/dev-1-state"), 1);
	assert_int_equal(chk(acl, &w, W, "status/dev-1-stat"), 0);
	assert_int_equal(chk(acl, &w, W, "status/dev-1-statex"), 0);
	assert_int_equal(chk(acl, &w, W, "status/dev-1"), 0);
	assert_int_equal(chk(acl, &w, W, "status/-state"), 0);
	assert_int_equal(chk(acl, &w, R, "clients/cid-1/in"), 1);
	assert_int_equal(chk(acl, &w, R, "users/bob/in"), 1);
	assert_int_equal(chk(acl, &w, R, "users/cid-1/in"), 0);
	assert_int_equal(chk(acl, &w, R, "pair/cid-1-bob"), 1);
	assert_int_equal(chk(acl, &w, R, "pair/cid-1-bo"), 0);
	assert_int_equal(chk(acl, &w, R, "lit/%s"), 1);
	assert_int_equal(chk(acl, &w, R, "lit/dev-1"), 0);
	mja_acl_free(acl);
}

/* docs/design.md, ACL semantics: a value that is empty or holds '/', '+' or '#' makes an allow
 * rule match nothing. Each attacker value first. */
static void test_substitution_unusable_values(void **state)
{
	mja_acl *acl = load(
		"pattern readwrite devices/%s/#\n"
		"pattern readwrite clients/%c/#\n"
		"pattern readwrite users/%u/#\n");
	static const char *const bad[] = { "a/b", "+", "#", "", "a+", "b#c", "/" };
	mja_acl_who w;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w = who_full(bad[i], bad[i], bad[i]);
		/* The topic the value would spell, and topics a wildcard would reach. */
		assert_int_equal(chk(acl, &w, W, "devices/a/b/x"), 0);
		assert_int_equal(chk(acl, &w, W, "devices/x/y"), 0);
		assert_int_equal(chk(acl, &w, W, "devices/x"), 0);
		assert_int_equal(chk(acl, &w, W, "devices//x"), 0);
		assert_int_equal(chk(acl, &w, S, "devices/#"), 0);
		assert_int_equal(chk(acl, &w, S, "devices/+/#"), 0);
		assert_int_equal(chk(acl, &w, W, "clients/x/y"), 0);
		assert_int_equal(chk(acl, &w, S, "clients/#"), 0);
		assert_int_equal(chk(acl, &w, W, "users/x/y"), 0);
		assert_int_equal(chk(acl, &w, S, "users/#"), 0);
	}
	/* NULL client id or username: %c / %u rules match nothing; others work. */
	w = who_full("dev", NULL, NULL);
	assert_int_equal(chk(acl, &w, W, "devices/dev/x"), 1);
	assert_int_equal(chk(acl, &w, W, "clients//x"), 0);
	assert_int_equal(chk(acl, &w, W, "users//x"), 0);
	/* NULL sub: %s rules match nothing. */
	w = who_full(NULL, "c", "u");
	assert_int_equal(chk(acl, &w, W, "devices//x"), 0);
	assert_int_equal(chk(acl, &w, W, "clients/c/x"), 1);
	mja_acl_free(acl);
}

/* A deny rule whose value is unusable denies everything: otherwise a client
 * could escape "pattern deny" by picking such a client id or username. */
/* A deny rule must not be escaped by choosing an unusable value (client id
 * "+", no username), and must not lock everyone out either: the unusable
 * level of a deny rule stands for any value ('+'), an allow rule with an
 * unusable value matches nothing. */
static void test_substitution_deny_fails_closed(void **state)
{
	mja_acl *acl = load(
		"pattern readwrite #\n"
		"pattern deny      clients/%c/admin\n"
		"pattern deny      users/%u-x/secret/#\n");
	mja_acl_who good = who_full("d", "c1", "u"), plus = who_full("d", "+", "u");
	mja_acl_who none = who_full("d", NULL, NULL);

	assert_int_equal(chk(acl, &good, W, "clients/c1/admin"), 0);
	assert_int_equal(chk(acl, &good, W, "clients/c2/admin"), 1);
	assert_int_equal(chk(acl, &good, W, "anything"), 1);
	assert_int_equal(chk(acl, &good, W, "users/u-x/secret/a"), 0);
	assert_int_equal(chk(acl, &good, W, "users/v-x/secret/a"), 1);
	/* client id "+": the deny covers clients/+/admin for this client */
	assert_int_equal(chk(acl, &plus, W, "clients/c1/admin"), 0);
	assert_int_equal(chk(acl, &plus, W, "clients/+/admin"), 0);
	assert_int_equal(chk(acl, &plus, S, "clients/+/admin"), 0);
	assert_int_equal(chk(acl, &plus, S, "clients/#"), 1);   /* partial overlap: per delivery */
	assert_int_equal(chk(acl, &plus, R, "clients/zz/admin"), 0);
	assert_int_equal(chk(acl, &plus, W, "clients/c1/other"), 1);
	assert_int_equal(chk(acl, &plus, W, "anything"), 1);
	/* no client id, no username: the same, for both deny rules */
	assert_int_equal(chk(acl, &none, R, "clients/x/admin"), 0);
	assert_int_equal(chk(acl, &none, R, "users/anyone-x/secret/k"), 0);
	assert_int_equal(chk(acl, &none, R, "users/anyone/secret/k"), 0);
	assert_int_equal(chk(acl, &none, R, "anything"), 1);
	assert_int_equal(chk(acl, &none, U, "anything"), 1);
	mja_acl_free(acl);
}

static void test_substitution_in_sections(void **state)
{
	const char *roles[] = { "device" };
	mja_acl *acl = load(
		"role device\n"
		"topic readwrite fleet/%s/#\n"
		"sub gw-*\n"
		"topic read gateways/%s/%c\n");
	mja_acl_who d = who("dev-9"), g = who_full("gw-3", "conn-1", NULL);

	d.roles = roles;
	d.n_roles = 1;
	assert_int_equal(chk(acl, &d, W, "fleet/dev-9/x"), 1);
	assert_int_equal(chk(acl, &d, W, "fleet/dev-8/x"), 0);
	assert_int_equal(chk(acl, &g, R, "gateways/gw-3/conn-1"), 1);
	assert_int_equal(chk(acl, &g, R, "gateways/gw-3/conn-2"), 0);
	mja_acl_free(acl);
}

/* -------------------------------------------------------------- sections */

static void test_roles(void **state)
{
	mja_acl *acl = load(
		"role viewer\n"
		"topic read dash/#\n"
		"role operator\n"
		"topic write cmd/#\n"
		"role *x\n"                 /* '*' is only special at the end */
		"topic read star/#\n");
	const char *both[] = { "viewer", "operator" };
	const char *holes[] = { NULL, "operator", "nope" };
	const char *star[] = { "*x" };
	mja_acl_who w = who("u");

	assert_int_equal(mja_acl_subject_count(acl), 3);
	assert_int_equal(chk(acl, &w, R, "dash/a"), 0);  /* no roles */
	w.roles = both;
	w.n_roles = 1;
	assert_int_equal(chk(acl, &w, R, "dash/a"), 1);
	assert_int_equal(chk(acl, &w, W, "cmd/a"), 0);
	w.n_roles = 2;
	assert_int_equal(chk(acl, &w, W, "cmd/a"), 1);
	w.roles = holes;
	w.n_roles = 3;
	assert_int_equal(chk(acl, &w, W, "cmd/a"), 1);
	assert_int_equal(chk(acl, &w, R, "dash/a"), 0);
	w.roles = NULL;                    /* n_roles without an array: ignored */
	assert_int_equal(chk(acl, &w, W, "cmd/a"), 0);
	w.roles = star;
	w.n_roles = 1;
	assert_int_equal(chk(acl, &w, R, "star/a"), 1);
	/* A role is not a sub, nor the other way round. */
	w = who("viewer");
	assert_int_equal(chk(acl, &w, R, "dash/a"), 0);
	mja_acl_free(acl);

	acl = load("sub operator\ntopic read only-sub\n");
	w = who("x");
	w.roles = both;
	w.n_roles = 2;
	assert_int_equal(chk(acl, &w, R, "only-sub"), 0);
	mja_acl_free(acl);
}

static void test_prefix_sections(void **state)
{
	mja_acl *acl = load(
		"sub sensor-*\n"
		"topic read s/all\n"
		"sub sensor-a*\n"
		"topic read s/a\n"
		"sub sensor-a1\n"
		"topic read s/exact\n"
		"sub sensor-ab*\n"
		"topic deny s/all\n"
		"sub *\n"
		"topic read everyone\n"
		"sub sensor-a1-long*\n"
		"topic read s/long\n");
	mja_acl_who a1 = who("sensor-a1"), b = who("sensor-b"), ab = who("sensor-ab");
	mja_acl_who bare = who("sensor-"), other = who("sensor"), x = who("x");

	assert_int_equal(mja_acl_subject_count(acl), 6);
	/* Overlapping prefixes all apply, with the exact section. */
	assert_int_equal(chk(acl, &a1, R, "s/all"), 1);
	assert_int_equal(chk(acl, &a1, R, "s/a"), 1);
	assert_int_equal(chk(acl, &a1, R, "s/exact"), 1);
	assert_int_equal(chk(acl, &a1, R, "s/long"), 0);  /* prefix longer than the sub */
	assert_int_equal(chk(acl, &a1, R, "everyone"), 1);
	assert_int_equal(chk(acl, &b, R, "s/all"), 1);
	assert_int_equal(chk(acl, &b, R, "s/a"), 0);
	assert_int_equal(chk(acl, &b, R, "s/exact"), 0);
	/* A deny in a longer prefix beats a grant in a shorter one. */
	assert_int_equal(chk(acl, &ab, R, "s/a"), 1);
	assert_int_equal(chk(acl, &ab, R, "s/all"), 0);
	/* '*' matches an empty suffix too; a shorter sub is no match. */
	assert_int_equal(chk(acl, &bare, R, "s/all"), 1);
	assert_int_equal(chk(acl, &other, R, "s/all"), 0);
	assert_int_equal(chk(acl, &other, R, "everyone"), 1);
	assert_int_equal(chk(acl, &x, R, "everyone"), 1);
	assert_int_equal(chk(acl, &x, R, "s/all"), 0);
	/* The sub "sensor-*" (with a literal '*') is not a prefix lookup. */
	{
		mja_acl_who star = who("sensor-*");

		assert_int_equal(chk(acl, &star, R, "s/all"), 1); /* via the prefix "sensor-" */
		assert_int_equal(chk(acl, &star, R, "s/a"), 0);
	}
	mja_acl_free(acl);
}

/* The trie against brute force: many prefixes over a small alphabet so
 * that edges split at every depth, and every sub of up to 6 letters. */
enum { TRIE_NP = 300 };

typedef struct trie_hits {
	unsigned char hit[TRIE_NP];
	size_t n;
	size_t last_len;
	const size_t *len_of;   /* prefix length by section */
	int order_ok;
} trie_hits;

static int collect(uint32_t section, void *arg)
{
	trie_hits *h = arg;

	h->hit[section]++;
	/* shortest first, as the walk promises */
	if (h->n && h->len_of[section] <= h->last_len)
		h->order_ok = 0;
	h->last_len = h->len_of[section];
	h->n++;
	return 0;
}

static int stop_at_first(uint32_t section, void *arg)
{
	return 7;
}

static void test_trie_brute_force(void **state)
{
	mja_acl_prefix p[TRIE_NP];
	char names[TRIE_NP][8];
	size_t len_of[TRIE_NP];
	mja_acl_trie t;
	size_t n = 0, subs = 0;
	uint32_t seed = 12345;

	for (size_t i = 0; i < TRIE_NP; i++) {
		size_t len, k;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % 7;
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			names[n][k] = "abc"[(seed >> 16) % 3];
		}
		names[n][len] = '\0';
		/* keep them unique, as the parser does */
		for (k = 0; k < n; k++) {
			if (strcmp(names[k], names[n]) == 0)
				break;
		}
		if (k < n)
			continue;
		p[n].name = names[n];
		p[n].len = len;
		p[n].section = (uint32_t)n;
		len_of[n] = len;
		n++;
	}
	assert_true(n > 100);
	assert_int_equal(mja_acl__trie_build(&t, p, n), MJA_OK);
	for (size_t len = 0; len <= 6; len++) {
		size_t combos = 1;

		for (size_t k = 0; k < len; k++)
			combos *= 3;
		for (size_t code = 0; code < combos; code++, subs++) {
			char sub[8];
			size_t c = code;
			trie_hits h;

			memset(&h, 0, sizeof(h));
			h.len_of = len_of;
			h.order_ok = 1;
			for (size_t k = 0; k < len; k++, c /= 3)
				sub[k] = "abc"[c % 3];
			assert_int_equal(mja_acl__trie_walk(&t, sub, len, collect, &h), 0);
			assert_true(h.order_ok);
			for (size_t i = 0; i < n; i++) {
				int want = p[i].len <= len && memcmp(p[i].name, sub, p[i].len) == 0;

				assert_int_equal(h.hit[p[i].section], want);
			}
			/* A non-zero callback result stops the walk and comes back. */
			assert_int_equal(mja_acl__trie_walk(&t, sub, len, stop_at_first, NULL),
					h.n ? 7 : 0);
		}
	}
	assert_true(subs > 1000);
	mja_acl__trie_free(&t);
	/* An empty trie finds nothing. */
	assert_int_equal(mja_acl__trie_build(&t, p, 0), MJA_OK);
	assert_int_equal(mja_acl__trie_walk(&t, "abc", 3, stop_at_first, NULL), 0);
	mja_acl__trie_free(&t);
}

static void test_htab(void **state)
{
	mja_acl_htab h;
	mja_arena a = { 0 };
	char name[32];
	uint32_t sec;
	int added;

	assert_int_equal(mja_acl__htab_init(&h), MJA_OK);
	for (uint32_t i = 0; i < 5000; i++) {
		int n = snprintf(name, sizeof(name), "n%u", i);

		sec = i;
		assert_int_equal(mja_acl__htab_upsert(&h, &a, MJA_KEY_SUB, name, (size_t)n, &sec, &added), MJA_OK);
		assert_int_equal(added, 1);
		/* the same name as a role is a different key */
		sec = i + 100000;
		assert_int_equal(mja_acl__htab_upsert(&h, &a, MJA_KEY_ROLE, name, (size_t)n, &sec, &added), MJA_OK);
		assert_int_equal(added, 1);
	}
	assert_true(h.used * 2 <= h.cap);
	for (uint32_t i = 0; i < 5000; i++) {
		int n = snprintf(name, sizeof(name), "n%u", i);

		assert_int_equal(mja_acl__htab_find(&h, MJA_KEY_SUB, name, (size_t)n), i);
		assert_int_equal(mja_acl__htab_find(&h, MJA_KEY_ROLE, name, (size_t)n), i + 100000);
		assert_int_equal(mja_acl__htab_find(&h, MJA_KEY_PREFIX, name, (size_t)n), UINT32_MAX);
		sec = 7;
		assert_int_equal(mja_acl__htab_upsert(&h, &a, MJA_KEY_SUB, name, (size_t)n, &sec, &added), MJA_OK);
		assert_int_equal(added, 0);
		assert_int_equal(sec, i);
	}
	assert_int_equal(mja_acl__htab_find(&h, MJA_KEY_SUB, "n5000", 5), UINT32_MAX);
	assert_int_equal(mja_acl__htab_find(&h, MJA_KEY_SUB, "n1", 1), UINT32_MAX);
	assert_int_equal(mja_acl__htab_find(&h, MJA_KEY_SUB, "", 0), UINT32_MAX);
	{
		/* Every table gets its own random SipHash key, so nobody can
		 * prepare names that collide in the broker's table. */
		mja_acl_htab h2;

		assert_int_equal(mja_acl__htab_init(&h2), MJA_OK);
		assert_memory_not_equal(h.key, h2.key, sizeof(h.key));
		mja_acl__htab_free(&h2);
	}
	mja_acl__htab_free(&h);
	mja_arena__free(&a);
}

/* --------------------------------------------------------- 100,000 subjects */

static void test_100k_subjects(void **state)
{
	enum { N = 100000 };
	size_t cap = (size_t)N * 64 + 256, len = 0;
	char *buf = malloc(cap);
	char path[128];
	mja_diag d = { 0 };
	mja_acl *acl = NULL;
	FILE *fp;
	static const int probe[] = { 0, N / 2, N - 1 };

	assert_non_null(buf);
	len += (size_t)snprintf(buf + len, cap - len, "pattern read fleet/#\n");
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, cap - len,
				"sub dev-%06d\ntopic readwrite devices/dev-%06d/#\n", i, i);
	assert_true(len < cap);
	/* Through a file, as the broker loads it. */
	snprintf(path, sizeof(path), "%s/100k.acl", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	free(buf);
	assert_int_equal(mja_acl_load_file(path, &acl, &d), MJA_OK);
	assert_int_equal(mja_acl_subject_count(acl), N);
	assert_int_equal(mja_acl_rule_count(acl), N + 1);
	for (size_t k = 0; k < sizeof(probe) / sizeof(probe[0]); k++) {
		char sub[32], own[64], next[64];
		mja_acl_who w;

		snprintf(sub, sizeof(sub), "dev-%06d", probe[k]);
		snprintf(own, sizeof(own), "devices/dev-%06d/t", probe[k]);
		snprintf(next, sizeof(next), "devices/dev-%06d/t", (probe[k] + 1) % N);
		w = who(sub);
		assert_int_equal(chk(acl, &w, W, own), 1);
		assert_int_equal(chk(acl, &w, R, own), 1);
		assert_int_equal(chk(acl, &w, W, next), 0);
		assert_int_equal(chk(acl, &w, R, "fleet/x"), 1);
		assert_int_equal(chk(acl, &w, S, "devices/+/t"), 0);
	}
	{
		mja_acl_who none = who("dev-100000"), shorter = who("dev-00000");

		assert_int_equal(chk(acl, &none, W, "devices/dev-100000/t"), 0);
		assert_int_equal(chk(acl, &none, R, "fleet/x"), 1);
		assert_int_equal(chk(acl, &shorter, W, "devices/dev-000001/t"), 0);
		assert_int_equal(chk(acl, &shorter, W, "devices/dev-00000/t"), 0);
	}
	mja_acl_free(acl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_vectors),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_syntax_accepted),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_match_table_via_engine),
		cmocka_unit_test(test_covers_table_via_engine),
		cmocka_unit_test(test_read_write_subscribe),
		cmocka_unit_test(test_deny_precedence),
		cmocka_unit_test(test_dollar_rules),
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_substitution),
		cmocka_unit_test(test_substitution_unusable_values),
		cmocka_unit_test(test_substitution_deny_fails_closed),
		cmocka_unit_test(test_substitution_in_sections),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_prefix_sections),
		cmocka_unit_test(test_trie_brute_force),
		cmocka_unit_test(test_htab),
		cmocka_unit_test(test_100k_subjects),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
