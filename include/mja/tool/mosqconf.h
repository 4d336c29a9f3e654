/* mosqconf.h - the plugin lines of a mosquitto.conf, read as Mosquitto 2.0 reads them.
 *
 * Used by `mosquitto_jwt verify --config`, so that the tool checks a token
 * with exactly the options the broker would pass to the plugin. In the
 * mja_tool library (tools/lib/mosqconf.c), never in the plugin. Only these
 * directives are interpreted; every other line is skipped (this is not a
 * validator of the broker's whole configuration):
 *
 *   plugin PATH | auth_plugin PATH   start a plugin; PATH trimmed of blanks
 *   plugin_opt_KEY VALUE             option of the most recent plugin line of
 *   auth_opt_KEY VALUE               the SAME file (Mosquitto keeps the current
 *                                    plugin per file); VALUE is the rest of the
 *                                    line after the first space, leading blanks
 *                                    skipped, trailing blanks kept
 *   include_dir DIR                  in the main file only: every regular file
 *                                    in DIR whose name ends in ".conf", in
 *                                    strcasecmp order (nested include_dir lines
 *                                    are ignored, as Mosquitto 2.0.11 does)
 *
 * Checked against Debian's mosquitto 2.0.11: a line whose first byte is '#'
 * is a comment; leading spaces (not tabs) before a directive are skipped;
 * the key ends at the first space (a tab becomes part of the key); trailing
 * "\r" and "\n" are stripped. These are errors, reported as "FILE:LINE: reason":
 * an option before any plugin line of its file, a key shorter than 3 bytes,
 * an empty value, a plugin line without a path, a NUL byte, an unreadable
 * file or include_dir. Lines may be of any length.
 *
 * Everything returned is owned by the mja_mosqconf and freed with it.
 */
#ifndef MJA_MOSQCONF_H
#define MJA_MOSQCONF_H

#include <stddef.h>
#include "mja/util/error.h"

/* The file name the tool looks for among the plugin lines. */
#define MJA_MOSQCONF_PLUGIN_NAME "mosquitto_jwt_auth.so"

typedef struct mja_mosqconf_opt {
	char *key;          /* without the plugin_opt_ / auth_opt_ prefix */
	char *value;
	const char *file;   /* file it was read from (owned by the mja_mosqconf) */
	size_t line;        /* 1-based */
} mja_mosqconf_opt;

typedef struct mja_mosqconf_plugin {
	char *path;
	const char *file;
	size_t line;
	mja_mosqconf_opt *opts;   /* in file order; repeated keys all kept */
	size_t n_opts;
} mja_mosqconf_plugin;

typedef struct mja_mosqconf {
	mja_mosqconf_plugin *plugins;   /* in the order Mosquitto loads them */
	size_t n_plugins;
	char **files;                   /* names of the files read */
	size_t n_files;
} mja_mosqconf;

/* Largest configuration file read (each of an include_dir's too). */
#define MJA_MOSQCONF_FILE_MAX ((size_t)16 << 20)

/* Read a configuration file (and its include_dir) with file.h's reader:
 * regular files only, so a FIFO fails at once. All or nothing: on error
 * *out is NULL and d reads "FILE:LINE: reason" (or "FILE: reason"). */
mja_err mja_mosqconf_load_file(const char *path, mja_mosqconf **out, mja_diag *d);

/* The same from memory; name stands for the file in diagnostics and is the
 * main file (so include_dir is honoured). */
mja_err mja_mosqconf_load_buf(const char *buf, size_t len, const char *name,
		mja_mosqconf **out, mja_diag *d);

void mja_mosqconf_free(mja_mosqconf *c);   /* NULL is fine */

/* Choose the plugin: the index-th (0-based) plugin line whose path's last
 * component is MJA_MOSQCONF_PLUGIN_NAME; if no line names it and the file has
 * exactly one plugin line, that one (index 0). *out is borrowed from c.
 * MJA_ERR_CONFIG with a reason in d when there is no such plugin. */
mja_err mja_mosqconf_find_plugin(const mja_mosqconf *c, size_t index,
		const mja_mosqconf_plugin **out, mja_diag *d);

/* How many plugin lines name MJA_MOSQCONF_PLUGIN_NAME. */
size_t mja_mosqconf_count_jwt(const mja_mosqconf *c);

#endif
