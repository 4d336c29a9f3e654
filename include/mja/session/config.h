/* config.h - the plugin's options and the files they name (docs/design.md,
 * "Configuration"; the option table is README.md's).
 *
 * Input is an array of (key, value) string pairs as the broker passes them
 * (key without the "plugin_opt_" prefix; the value is the rest of the
 * line: leading and trailing blanks are trimmed here, inner blanks kept).
 * No Mosquitto header is needed: the plugin glue and `mosquitto_jwt verify`
 * (through mosqconf.h) convert their own option lists to mja_config_opt.
 *
 * Options: key_file, secret_file and claim_match are repeatable; every
 * other option may appear at most once. LIST values are names separated by
 * commas and/or blanks. Unknown options, repeated single options, bad
 * values, unreadable files, unparsable keys, an ACL syntax error, a config
 * with neither key_file nor secret_file, token_field username together with
 * username_match sub, and an `algorithms` list that no configured key can
 * verify are errors: d then reads "option NAME: ..." naming the option, the
 * file (if any) and the reason, e.g.
 *   option key_file: /etc/k.pem: cannot open: No such file or directory
 *   option acl_file: /etc/acl.conf:3: unknown directive 'x' (pattern, sub, role or topic)
 *   option leeway: "30s" is not a whole number
 * (the file loaders' own diagnostic, prefixed with the option; the path is
 * added when the loader did not name it).
 *
 * Files are read with file.h's reader: a file that is not a regular file
 * (a FIFO, a directory, a device) fails at once, and a key_file,
 * secret_file or acl_file that every user may write is refused, naming file
 * and mode. A secret_file every user may read loads, with a warning in
 * d->warning ("option secret_file: PATH: mode 0644: ..."), on success too:
 * the caller logs it.
 *
 * Ownership: a mja_config owns every string, array, file set and the token
 * cache it holds; all are freed by mja_config_free(). Fields are read-only
 * for users (the glue, auth.c, tests) except through mja_config_reload().
 */
#ifndef MJA_CONFIG_H
#define MJA_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "mja/topic/acl.h"
#include "mja/token/alg.h"
#include "mja/token/cache.h"
#include "mja/util/error.h"
#include "mja/token/jwks.h"
#include "mja/token/key.h"
#include "mja/revoke/revoke.h"
#include "mja/token/token.h"

/* Default size of the verified-token cache (option token_cache_size),
 * and its upper bound (an entry is a few hundred bytes with its JSON). */
#define MJA_CONFIG_CACHE_ENTRIES 4096
#define MJA_CONFIG_CACHE_LIMIT 1048576
/* max_token_bytes upper bound: an MQTT password is at most 65535 bytes. */
#define MJA_CONFIG_MAX_TOKEN_BYTES_LIMIT 65535
/* Largest accepted leeway / max_token_age, in seconds (about 68 years). */
#define MJA_CONFIG_SECONDS_LIMIT 2147483647
/* stats_interval: default and upper bound, seconds (0 turns it off). */
#define MJA_CONFIG_STATS_INTERVAL 10
#define MJA_CONFIG_STATS_INTERVAL_LIMIT 86400

/* verify_threads: "as many as suit the machine" (the default; the session
 * resolves it, workers.h mja_workers_default_threads), and the limit. */
#define MJA_CONFIG_VERIFY_THREADS_AUTO (-1)
#define MJA_CONFIG_VERIFY_THREADS_LIMIT 64

/* One option, both strings borrowed and NUL-terminated. */
typedef struct mja_config_opt {
	const char *key;
	const char *value;
} mja_config_opt;

typedef enum mja_token_field {
	MJA_TOKEN_FIELD_PASSWORD = 0,
	MJA_TOKEN_FIELD_USERNAME
} mja_token_field;

typedef enum mja_match {
	MJA_MATCH_OFF = 0,
	MJA_MATCH_SUB
} mja_match;

/* claim_match NAME=TEMPLATE: claim NAME must be a string equal to TEMPLATE
 * with ${clientid} and ${username} replaced (auth.c). */
typedef struct mja_claim_match {
	char *name;
	char *tmpl;              /* checked at parse: only those placeholders */
} mja_claim_match;

typedef enum mja_non_jwt {
	MJA_NON_JWT_DEFER = 0,
	MJA_NON_JWT_DENY,
	MJA_NON_JWT_IGNORE   /* Mosquitto 2.1: as if not loaded; 2.0: as defer */
} mja_non_jwt;

/* The reloadable part: what key_file, secret_file and acl_file produced,
 * and the verifier options resolved against those keys. Immutable once
 * built; reload builds a new one and swaps it in. */
typedef struct mja_config_files {
	/* The key set tokens are verified with: the key and secret files'
	 * keys and those of every usable JWKS source, shared (key.h). Owned,
	 * never NULL; at least one key unless JWKS sources are configured.
	 * mja_config_jwks_update replaces it (and only it) when a fetched set
	 * changes. */
	mja_keyset *keys;
	mja_keyset *file_keys;   /* owned: key_file and secret_file only */
	mja_acl *acl;            /* owned; NULL without acl_file */
	/* algorithms = the configured list, or without `algorithms` every
	 * algorithm some key fits; claims point into the owning mja_config. */
	mja_verify_opts verify;
} mja_config_files;

typedef struct mja_config {
	char **key_files;        size_t n_key_files;
	char **secret_files;     size_t n_secret_files;
	char *acl_file;          /* NULL: no ACL callback */
	mja_alg_set algorithms;  /* 0: option not given */
	char **issuers;          size_t n_issuers;
	char **audiences;        size_t n_audiences;
	char **required;         size_t n_required;   /* default exp sub */
	int64_t leeway;          /* default MJA_DEFAULT_LEEWAY (30) */
	int64_t max_token_age;   /* 0: off (default) */
	mja_token_field token_field;       /* default password */
	mja_match username_match;          /* default off */
	mja_match clientid_match;          /* default off */
	char *roles_claim;       /* default "roles"; dotted path */
	mja_non_jwt non_jwt;     /* default defer */
	int disconnect_on_expiry;          /* default 1 */
	size_t max_token_bytes;  /* default MJA_DEFAULT_MAX_TOKEN_BYTES (8192) */
	size_t token_cache_size; /* default MJA_CONFIG_CACHE_ENTRIES; 0: no cache */
	char *acl_claim;         /* claim holding topic rules (aclclaim.h); NULL: off */
	char *superuser_claim;   /* claim whose value true allows every topic; NULL: off */
	mja_claim_match *claim_match; size_t n_claim_match;
	char *revocation_file;   /* NULL: nothing is revoked */
	int64_t stats_interval;  /* seconds; default MJA_CONFIG_STATS_INTERVAL, 0 off */
	int stats_per_listener;  /* default 0: the instance is a listener's own (the glue
	                          * adds the listener's port to the topics where the
	                          * broker tells it) */
	char **auth_methods;     size_t n_auth_methods;   /* default "jwt" */
	char *stats_listener;    /* NULL: none; else the listener level of the $SYS
	                          * topics (stats.h), which wins over
	                          * stats_per_listener's port */
	/* signature checks on worker threads (workers.h), Mosquitto 2.1 only:
	 * 0 off, else the thread count; default MJA_CONFIG_VERIFY_THREADS_AUTO */
	int verify_threads;
	/* default 0: the plugin's debug lines (an accepted client, a held
	 * CONNECT dropped) are not even built; the broker does not tell a
	 * plugin which of its log types are on */
	int log_debug;

	/* keys from the identity provider (jwks.h) */
	char **jwks_urls;        size_t n_jwks_urls;
	char *oidc_issuer;       /* NULL: none */
	char *jwks_ca_file;      /* NULL: the system's CA store */
	int64_t jwks_refresh;    /* default MJA_JWKS_DEFAULT_REFRESH */
	int64_t jwks_max_stale;  /* default MJA_JWKS_DEFAULT_MAX_STALE */
	mja_jwks *jwks;          /* owned; NULL without jwks_url / oidc_issuer */

	mja_config_files *files; /* current key set and ACL, owned */
	mja_cache *cache;        /* verified tokens for `files`, owned */
	mja_revoke *revoked;     /* the revocation list in force, owned; NULL without */
	mja_revoke_stamp revoked_stamp;   /* the file as last read (or tried) */
} mja_config;

/* Parse options and load every file. All or nothing: on error *out is NULL
 * and d says why (see above). */
mja_err mja_config_parse(const mja_config_opt *opts, size_t n,
		mja_config **out, mja_diag *d);

void mja_config_free(mja_config *cfg);   /* NULL is fine; stops the fetcher */

/* JWKS sources (jwks.h). mja_config_parse only validates their options and
 * builds cfg->jwks; nothing is fetched until one of these:
 *  - mja_config_jwks_start: the fetcher thread (the plugin);
 *  - mja_config_jwks_fetch_once: fetch every source on the calling thread
 *    and take the results in (mosquitto_jwt verify --config).
 * mja_config_jwks_update (broker's thread, on TICK and before each
 * authentication): take the fetcher's results in; when the usable sets
 * changed, files->keys is rebuilt (file keys + usable JWKS sets) and the
 * token cache emptied. Returns 1 iff files->keys was replaced. Without
 * JWKS sources all three do nothing. */
mja_err mja_config_jwks_start(mja_config *cfg, mja_diag *d);
void mja_config_jwks_fetch_once(mja_config *cfg, int64_t now, mja_log_fn log, void *ctx);
int mja_config_jwks_update(mja_config *cfg, int64_t now, mja_log_fn log, void *ctx);

/* 1 iff the plugin makes topic decisions for token clients: acl_file,
 * acl_claim or superuser_claim is set. Else its ACL check is not even
 * registered (Mosquitto's behaviour without ACLs applies). */
int mja_config_topic_decisions(const mja_config *cfg);

/* Build a fresh mja_config_files from cfg's file options (all key files,
 * secret files and the ACL file read again). All or nothing: on error *out
 * is NULL and d names option, file and reason; cfg is not touched. */
mja_err mja_config_load_files(const mja_config *cfg, mja_config_files **out,
		mja_diag *d);
void mja_config_files_free(mja_config_files *f);   /* NULL is fine */

/* SIGHUP (docs/design.md, "Reload"): JWKS sources are asked to refetch at
 * once (the new sets arrive through mja_config_jwks_update);
 * mja_config_load_files(); on success the new set replaces
 * cfg->files (the old one is freed) and the token cache is emptied; on any
 * error cfg keeps its previous files in full and the error is returned. */
mja_err mja_config_reload(mja_config *cfg, mja_diag *d);

/* revocation_file (revoke.h): read the file again if force (SIGHUP) or if
 * it changed since it was last read or tried (one stat(2): inode, size,
 * mtime, ctime; a replacement by rename is seen). A new list replaces the
 * old one whole (*changed = 1). A file that cannot be read or parsed keeps
 * the previous list in force (*changed = 0) and returns the error once per
 * change of the file, d naming option, file, line and reason; until the
 * file changes again later calls return MJA_OK with *changed 0. Without
 * revocation_file: MJA_OK, *changed 0. changed may be NULL. */
mja_err mja_config_revoke_refresh(mja_config *cfg, int force, int *changed, mja_diag *d);

/* 1 if the MQTT 5 authentication method is one of auth_methods (compared
 * exactly, as MQTT strings are), else 0. NULL method: 0. */
int mja_config_auth_method(const mja_config *cfg, const char *method);

#endif
