/* test_mosqconf.c - reading plugin lines from mosquitto.conf as Mosquitto 2.0.11 does.
 *
 * Every expectation here was first observed with Debian's mosquitto 2.0.11
 * and a probe plugin that prints the options it receives: which lines are
 * comments, where a value starts and ends, which lines are errors, and
 * which files include_dir reads in which order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "mja/tool/mosqconf.h"

static mja_mosqconf *load_ok(const char *text)
{
	mja_mosqconf *c = NULL;
	mja_diag d = { 0 };

	if (mja_mosqconf_load_buf(text, strlen(text), "t.conf", &c, &d) != MJA_OK)
		fail_msg("unexpected error: %s", d.text);
	assert_non_null(c);
	return c;
}

/* Load text that must fail; the diagnostic must contain want. */
static void load_fails(const char *text, size_t len, mja_err want_rc, const char *want)
{
	mja_mosqconf *c = (mja_mosqconf *)1;
	mja_diag d = { 0 };

	assert_int_equal(mja_mosqconf_load_buf(text, len, "t.conf", &c, &d), want_rc);
	assert_null(c);
	if (!strstr(d.text, want))
		fail_msg("diagnostic '%s' lacks '%s'", d.text, want);
}

#define LOAD_FAILS(lit, rc, want) load_fails(lit, sizeof(lit) - 1, rc, want)

static void assert_opt(const mja_mosqconf_plugin *p, size_t i, const char *k,
		const char *v, size_t line)
{
	assert_true(i < p->n_opts);
	assert_string_equal(p->opts[i].key, k);
	assert_string_equal(p->opts[i].value, v);
	assert_int_equal(p->opts[i].line, line);
}

static void test_basic_and_comments(void **state)
{
	mja_mosqconf *c = load_ok(
		"# a comment\n"
		"\n"
		"listener 1883 127.0.0.1\n"
		"   \n"
		"plugin /usr/lib/mosquitto/mosquitto_jwt_auth.so\n"
		"plugin_opt_key_file /etc/mosquitto/jwt/issuer.jwks\n"
		"#plugin_opt_audience commented.out\n"
		"plugin_opt_audience mqtt.example.com\n"
		"allow_anonymous false\n"
		"plugin_opt_key_file /etc/second.pem\n");

	assert_int_equal(c->n_plugins, 1);
	assert_string_equal(c->plugins[0].path, "/usr/lib/mosquitto/mosquitto_jwt_auth.so");
	assert_int_equal(c->plugins[0].line, 5);
	assert_string_equal(c->plugins[0].file, "t.conf");
	assert_int_equal(c->plugins[0].n_opts, 3);
	assert_opt(&c->plugins[0], 0, "key_file", "/etc/mosquitto/jwt/issuer.jwks", 6);
	assert_opt(&c->plugins[0], 1, "audience", "mqtt.example.com", 8);
	/* a repeated key is kept, and other settings between do not end the plugin */
	assert_opt(&c->plugins[0], 2, "key_file", "/etc/second.pem", 10);
	mja_mosqconf_free(c);
}

static void test_value_whitespace(void **state)
{
	/* Observed: leading spaces before the directive skipped; value is the
	 * rest of the line after the first space with leading blanks skipped
	 * and trailing blanks kept; "\r\n" stripped; '#' later in a line is
	 * part of the value; the plugin path is trimmed at both ends. */
	mja_mosqconf *c = load_ok(
		"plugin   /x/mosquitto_jwt_auth.so  \t\r\n"
		"  plugin_opt_abc   x y  \n"
		"plugin_opt_def v\r\n"
		"plugin_opt_ghi \t  t\t\n"
		"plugin_opt_jkl v # not a comment\n"
		"plugin_opt_last no newline at end");

	assert_int_equal(c->n_plugins, 1);
	assert_string_equal(c->plugins[0].path, "/x/mosquitto_jwt_auth.so");
	assert_opt(&c->plugins[0], 0, "abc", "x y  ", 2);
	assert_opt(&c->plugins[0], 1, "def", "v", 3);
	assert_opt(&c->plugins[0], 2, "ghi", "t\t", 4);
	assert_opt(&c->plugins[0], 3, "jkl", "v # not a comment", 5);
	assert_opt(&c->plugins[0], 4, "last", "no newline at end", 6);
	assert_int_equal(c->plugins[0].n_opts, 5);
	mja_mosqconf_free(c);
}

static void test_multiple_plugins_and_synonyms(void **state)
{
	mja_mosqconf *c = load_ok(
		"auth_plugin /a/other.so\n"
		"auth_opt_abc 1\n"
		"plugin /b/mosquitto_jwt_auth.so\n"
		"plugin_opt_xyz 2\n"
		"auth_opt_uvw 3\n"
		"per_listener_settings true\n"
		"listener 1884\n"
		"plugin /c/mosquitto_jwt_auth.so\n"
		"listener 1885\n"
		"plugin_opt_after_listener 4\n");
	const mja_mosqconf_plugin *p;
	mja_diag d = { 0 };

	assert_int_equal(c->n_plugins, 3);
	assert_int_equal(c->plugins[0].n_opts, 1);
	assert_opt(&c->plugins[0], 0, "abc", "1", 2);
	assert_int_equal(c->plugins[1].n_opts, 2);
	assert_opt(&c->plugins[1], 0, "xyz", "2", 4);
	assert_opt(&c->plugins[1], 1, "uvw", "3", 5);
	/* Observed: a listener line does not end the current plugin. */
	assert_int_equal(c->plugins[2].n_opts, 1);
	assert_opt(&c->plugins[2], 0, "after_listener", "4", 10);

	assert_int_equal(mja_mosqconf_count_jwt(c), 2);
	assert_int_equal(mja_mosqconf_find_plugin(c, 0, &p, &d), MJA_OK);
	assert_ptr_equal(p, &c->plugins[1]);
	assert_int_equal(mja_mosqconf_find_plugin(c, 1, &p, &d), MJA_OK);
	assert_ptr_equal(p, &c->plugins[2]);
	assert_int_equal(mja_mosqconf_find_plugin(c, 2, &p, &d), MJA_ERR_CONFIG);
	assert_null(p);
	assert_non_null(strstr(d.text, "only 2"));
	mja_mosqconf_free(c);
}

static void test_find_plugin(void **state)
{
	mja_mosqconf *c;
	const mja_mosqconf_plugin *p;
	mja_diag d = { 0 };

	/* the only plugin, whatever its name */
	c = load_ok("plugin /opt/build/plugin/jwt.so\nplugin_opt_abc 1\n");
	assert_int_equal(mja_mosqconf_find_plugin(c, 0, &p, &d), MJA_OK);
	assert_ptr_equal(p, &c->plugins[0]);
	mja_mosqconf_free(c);

	/* two plugins, none of ours: refused, not guessed */
	c = load_ok("plugin /a.so\nplugin /b.so\n");
	assert_int_equal(mja_mosqconf_find_plugin(c, 0, &p, &d), MJA_ERR_CONFIG);
	assert_null(p);
	assert_non_null(strstr(d.text, "none loads mosquitto_jwt_auth.so"));
	mja_mosqconf_free(c);

	/* the name must be the last path component, not a suffix of it */
	c = load_ok("plugin /a/not_mosquitto_jwt_auth.so\nplugin /b/x.so\n");
	assert_int_equal(mja_mosqconf_count_jwt(c), 0);
	mja_mosqconf_free(c);

	/* no plugin at all */
	mja_diag_clear(&d);
	c = load_ok("listener 1883\n");
	assert_int_equal(mja_mosqconf_find_plugin(c, 0, &p, &d), MJA_ERR_CONFIG);
	assert_non_null(strstr(d.text, "no plugin line"));
	mja_mosqconf_free(c);
}

static void test_errors_with_line(void **state)
{
	/* Mosquitto: "An auth_opt_ option exists in the config file without an auth_plugin." */
	LOAD_FAILS("listener 1883\nplugin_opt_key_file x\nplugin /a.so\n", MJA_ERR_CONFIG,
			"t.conf:2: plugin_opt_key_file before any plugin line");
	/* Mosquitto: "Invalid auth_opt_ config option." for keys under 3 bytes */
	LOAD_FAILS("plugin /a.so\nplugin_opt_ab v\n", MJA_ERR_CONFIG, "t.conf:2: option name 'ab' too short");
	/* Mosquitto: "Empty abc value in configuration." */
	LOAD_FAILS("plugin /a.so\nplugin_opt_abc\n", MJA_ERR_CONFIG, "t.conf:2: empty value for option 'abc'");
	LOAD_FAILS("plugin /a.so\n\nplugin_opt_abc  \t \n", MJA_ERR_CONFIG, "t.conf:3: empty value");
	/* a tab does not separate the key from the value: the key swallows it */
	/* the name is shown escaped (text.h): the tab as \x09 */
	LOAD_FAILS("plugin /a.so\nplugin_opt_cde\tt\n", MJA_ERR_CONFIG,
			"t.conf:2: empty value for option 'cde\\x09t'");
	/* Mosquitto: "Empty auth_plugin value in configuration." */
	LOAD_FAILS("# x\nplugin   \n", MJA_ERR_CONFIG, "t.conf:2: plugin without a path");
	LOAD_FAILS("auth_plugin\n", MJA_ERR_CONFIG, "t.conf:1: auth_plugin without a path");
	/* an embedded NUL is refused, not silently truncated */
	LOAD_FAILS("plugin /a.so\nplugin_opt_abc v\0w\n", MJA_ERR_CONFIG, "t.conf:2: NUL byte");
	LOAD_FAILS("include_dir\n", MJA_ERR_CONFIG, "t.conf:1: include_dir without a directory");
}

static void test_not_directives(void **state)
{
	/* A tab after "plugin" makes one unknown word (Mosquitto rejects the
	 * line as an unknown variable; we only skip it). A leading tab likewise. */
	mja_mosqconf *c = load_ok("plugin\t/a.so\n\tplugin /b.so\npluginx /c.so\n"
			"  # indented hash is not a comment for Mosquitto, but no directive either\n");

	assert_int_equal(c->n_plugins, 0);
	mja_mosqconf_free(c);
}

static void test_long_lines(void **state)
{
	size_t n = 200000;
	char *buf = malloc(n + 128);
	mja_mosqconf *c;
	int len;

	assert_non_null(buf);
	len = snprintf(buf, 64, "plugin /a/mosquitto_jwt_auth.so\nplugin_opt_abc ");
	memset(buf + len, 'v', n);
	memcpy(buf + len + n, "\nplugin_opt_def w\n", 19);
	c = load_ok(buf);
	assert_int_equal(c->plugins[0].n_opts, 2);
	assert_int_equal(strlen(c->plugins[0].opts[0].value), n);
	assert_opt(&c->plugins[0], 1, "def", "w", 3);
	mja_mosqconf_free(c);
	free(buf);
}

static void test_empty_and_explicit_length(void **state)
{
	mja_mosqconf *c = NULL;
	mja_diag d = { 0 };

	assert_int_equal(mja_mosqconf_load_buf("", 0, "e.conf", &c, &d), MJA_OK);
	assert_int_equal(c->n_plugins, 0);
	mja_mosqconf_free(c);
	/* only len bytes are read: the second line is outside */
	assert_int_equal(mja_mosqconf_load_buf("plugin /a.so\nplugin_opt_abc v\n", 13, "e.conf", &c, &d), MJA_OK);
	assert_int_equal(c->n_plugins, 1);
	assert_int_equal(c->plugins[0].n_opts, 0);
	mja_mosqconf_free(c);
}

/* ---- files and include_dir ---- */

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_dir(void **state)
{
	char path[256];

	strcpy(tmpdir, "/tmp/mja_mosqconf_XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/inc", tmpdir);
	return mkdir(path, 0700);
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_load_file_and_missing(void **state)
{
	char path[256];
	mja_mosqconf *c = NULL;
	mja_diag d = { 0 };

	write_file("main.conf", "plugin /p/mosquitto_jwt_auth.so\nplugin_opt_abc 1\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	assert_int_equal(mja_mosqconf_load_file(path, &c, &d), MJA_OK);
	assert_int_equal(c->plugins[0].n_opts, 1);
	assert_string_equal(c->plugins[0].opts[0].file, path);
	mja_mosqconf_free(c);

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	assert_int_equal(mja_mosqconf_load_file(path, &c, &d), MJA_ERR_FILE);
	assert_null(c);
	assert_non_null(strstr(d.text, "absent.conf: cannot open"));

	mja_diag_clear(&d);
	assert_int_equal(mja_mosqconf_load_file(tmpdir, &c, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, "not a regular file (a directory)"));
}

static void test_include_dir(void **state)
{
	char main_text[512], path[256];
	mja_mosqconf *c = NULL;
	mja_diag d = { 0 };

	/* Observed order: .e.conf, a.conf, C.conf (strcasecmp); d.CONF and
	 * c.txt are skipped; nested include_dir is ignored. */
	write_file("inc/a.conf", "plugin /p/mosquitto_jwt_auth.so\nplugin_opt_aaa fromA\n"
			"include_dir /nonexistent/nested\n");
	write_file("inc/C.conf", "plugin /p/other.so\nplugin_opt_ccc fromC\n");
	write_file("inc/.e.conf", "plugin /p/e.so\nplugin_opt_eee fromE\n");
	write_file("inc/d.CONF", "plugin /p/d.so\n");
	write_file("inc/c.txt", "plugin /p/c.so\n");
	write_file("inc/.conf", "plugin /p/dotconf.so\n");
	snprintf(main_text, sizeof(main_text),
			"plugin /p/main.so\nplugin_opt_mmm 1\ninclude_dir %s/inc\nplugin_opt_nnn 2\n", tmpdir);
	assert_int_equal(mja_mosqconf_load_buf(main_text, strlen(main_text), "main.conf", &c, &d), MJA_OK);
	assert_int_equal(c->n_plugins, 4);
	assert_string_equal(c->plugins[0].path, "/p/main.so");
	assert_string_equal(c->plugins[1].path, "/p/e.so");
	assert_string_equal(c->plugins[2].path, "/p/mosquitto_jwt_auth.so");
	assert_string_equal(c->plugins[3].path, "/p/other.so");
	/* an option after include_dir belongs to the main file's plugin */
	assert_int_equal(c->plugins[0].n_opts, 2);
	assert_opt(&c->plugins[0], 1, "nnn", "2", 4);
	assert_opt(&c->plugins[2], 0, "aaa", "fromA", 2);
	snprintf(path, sizeof(path), "%s/inc/a.conf", tmpdir);
	assert_string_equal(c->plugins[2].opts[0].file, path);
	mja_mosqconf_free(c);
}

static void test_include_dir_errors(void **state)
{
	char main_text[512];
	mja_mosqconf *c = NULL;
	mja_diag d = { 0 };

	/* The current plugin does not carry into an included file. */
	write_file("inc/b.conf", "\nplugin_opt_bbb fromB\n");
	snprintf(main_text, sizeof(main_text), "plugin /p/mosquitto_jwt_auth.so\ninclude_dir %s/inc\n", tmpdir);
	assert_int_equal(mja_mosqconf_load_buf(main_text, strlen(main_text), "main.conf", &c, &d), MJA_ERR_CONFIG);
	assert_null(c);
	assert_non_null(strstr(d.text, "inc/b.conf:2: plugin_opt_bbb before any plugin line"));

	mja_diag_clear(&d);
	snprintf(main_text, sizeof(main_text), "\ninclude_dir %s/nope\n", tmpdir);
	assert_int_equal(mja_mosqconf_load_buf(main_text, strlen(main_text), "main.conf", &c, &d), MJA_ERR_FILE);
	assert_non_null(strstr(d.text, "main.conf:2: cannot open include_dir"));

	/* Mosquitto takes the directory verbatim: extra spaces are part of it. */
	mja_diag_clear(&d);
	snprintf(main_text, sizeof(main_text), "include_dir  %s/inc\n", tmpdir);
	assert_int_equal(mja_mosqconf_load_buf(main_text, strlen(main_text), "main.conf", &c, &d), MJA_ERR_FILE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_and_comments),
		cmocka_unit_test(test_value_whitespace),
		cmocka_unit_test(test_multiple_plugins_and_synonyms),
		cmocka_unit_test(test_find_plugin),
		cmocka_unit_test(test_errors_with_line),
		cmocka_unit_test(test_not_directives),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_empty_and_explicit_length),
		cmocka_unit_test_setup_teardown(test_load_file_and_missing, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_include_dir, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_include_dir_errors, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
