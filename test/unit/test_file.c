/* test_file.c - file.h: the one whole-file reader. Regular files only (a
 * FIFO, a directory or a device fails at once: every case runs under
 * alarm() so a blocking open() or read() fails the test), a size cap, the
 * trusted-file and secret-file mode rules, and the NUL after the data. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mja/util/file.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/mja-file-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	alarm(10);
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = { "f", "fifo", "sock", "empty" };

	alarm(0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_regular_file(void **state)
{
	const char *p = write_file("f", "hello\nworld", 0600);
	mja_diag d = { 0 };
	char *buf;
	size_t len;

	assert_int_equal(mja_file_read(p, 100, MJA_FILE_TRUSTED | MJA_FILE_SECRET, &buf, &len, &d),
			MJA_OK);
	assert_int_equal(len, 11);
	assert_memory_equal(buf, "hello\nworld", 11);
	assert_int_equal(buf[len], '\0');
	assert_string_equal(d.text, "");
	assert_string_equal(d.warning, "");
	mja_file_free(buf, len);
	mja_file_free(NULL, 0);

	/* exactly the cap is fine, one byte more is not */
	assert_int_equal(mja_file_read(p, 11, 0, &buf, &len, &d), MJA_OK);
	mja_file_free(buf, len);
	assert_int_equal(mja_file_read(p, 10, 0, &buf, &len, &d), MJA_ERR_FILE);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_non_null(strstr(d.text, p));
	assert_non_null(strstr(d.text, "larger than 10 bytes"));

	/* an empty file is read as empty */
	p = write_file("empty", "", 0644);
	assert_int_equal(mja_file_read(p, 10, 0, &buf, &len, NULL), MJA_OK);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	mja_file_free(buf, len);
}

static void expect_refused(const char *p, const char *kind)
{
	mja_diag d = { 0 };
	char want[200];
	char *buf = (char *)1;
	size_t len = 7;

	assert_int_equal(mja_file_read(p, 1 << 20, 0, &buf, &len, &d), MJA_ERR_FILE);
	assert_null(buf);
	assert_int_equal(len, 0);
	snprintf(want, sizeof(want), "%s: not a regular file (%s)", p, kind);
	assert_string_equal(d.text, want);
}

static void test_special_files_fail_at_once(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	/* a FIFO without a writer: open() would wait for one without O_NONBLOCK */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	expect_refused(path, "a FIFO");
	expect_refused(dir, "a directory");
	expect_refused("/dev/null", "a character device");
	expect_refused("/dev/zero", "a character device");  /* would never end */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	{
		/* a socket cannot even be opened: the open error names it */
		mja_diag d = { 0 };
		char *buf;
		size_t len;

		assert_int_equal(mja_file_read(sa.sun_path, 10, 0, &buf, &len, &d), MJA_ERR_FILE);
		assert_non_null(strstr(d.text, sa.sun_path));
	}
	close(s);
}

static void test_missing_and_null(void **state)
{
	mja_diag d = { 0 };
	char *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(mja_file_read(path, 10, 0, &buf, &len, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, "absent: cannot open: No such file or directory"));
	assert_int_equal(mja_file_read(NULL, 10, 0, &buf, &len, &d), MJA_ERR_INVAL);
	assert_int_equal(mja_file_read(path, 10, 0, NULL, &len, &d), MJA_ERR_INVAL);
	assert_int_equal(mja_file_read(path, 10, 0, &buf, NULL, &d), MJA_ERR_INVAL);
}

/* A trusted file that every user may write is refused naming file and
 * mode; group-writable is the owner's choice. */
static void test_trusted_world_writable(void **state)
{
	static const mode_t refused[] = { 0666, 0602, 0777, 01666 };
	static const mode_t fine[] = { 0644, 0664, 0600, 0660, 0444 };
	mja_diag d;
	char *buf;
	size_t len;
	char want[64];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *p = write_file("f", "k", refused[i]);

		mja_diag_clear(&d);
		assert_int_equal(mja_file_read(p, 10, MJA_FILE_TRUSTED, &buf, &len, &d), MJA_ERR_FILE);
		assert_null(buf);
		snprintf(want, sizeof(want), "mode %04o: writable by every user", (unsigned)refused[i]);
		assert_non_null(strstr(d.text, p));
		assert_non_null(strstr(d.text, want));
		/* the same file is read when it is not trusted */
		mja_diag_clear(&d);
		assert_int_equal(mja_file_read(p, 10, 0, &buf, &len, &d), MJA_OK);
		mja_file_free(buf, len);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		const char *p = write_file("f", "k", fine[i]);

		mja_diag_clear(&d);
		assert_int_equal(mja_file_read(p, 10, MJA_FILE_TRUSTED, &buf, &len, &d), MJA_OK);
		mja_file_free(buf, len);
	}
}

/* A secret every user may read is read, with a warning naming file and
 * mode; warnings of several files are kept, separated by "; ". */
static void test_secret_world_readable_warns(void **state)
{
	mja_diag d;
	char *buf;
	size_t len;
	const char *p = write_file("f", "s", 0644);

	mja_diag_clear(&d);
	assert_int_equal(mja_file_read(p, 10, MJA_FILE_SECRET, &buf, &len, &d), MJA_OK);
	mja_file_free(buf, len);
	assert_string_equal(d.text, "");
	assert_non_null(strstr(d.warning, p));
	assert_non_null(strstr(d.warning, "mode 0644: secret readable by every user"));
	assert_int_equal(mja_file_read(p, 10, MJA_FILE_SECRET, &buf, &len, &d), MJA_OK);
	mja_file_free(buf, len);
	assert_non_null(strstr(d.warning, "; "));
	/* not a secret, or not world-readable: no warning */
	mja_diag_clear(&d);
	assert_int_equal(mja_file_read(p, 10, 0, &buf, &len, &d), MJA_OK);
	mja_file_free(buf, len);
	assert_string_equal(d.warning, "");
	p = write_file("f", "s", 0640);
	assert_int_equal(mja_file_read(p, 10, MJA_FILE_SECRET, &buf, &len, &d), MJA_OK);
	mja_file_free(buf, len);
	assert_string_equal(d.warning, "");
	/* the warning never outgrows its buffer */
	p = write_file("f", "s", 0604);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(mja_file_read(p, 10, MJA_FILE_SECRET, &buf, &len, &d), MJA_OK);
		mja_file_free(buf, len);
	}
	assert_true(strlen(d.warning) < sizeof(d.warning));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regular_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_files_fail_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trusted_world_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_world_readable_warns, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
