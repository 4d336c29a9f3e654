/* log.h - log levels and the log callback of the library.
 *
 * The library never logs by itself: a module that has something to say
 * either returns it as an action (session.h) or calls the caller's
 * mja_log_fn (jwks.h), and the glue writes it through the broker. */
#ifndef MJA_LOG_H
#define MJA_LOG_H

typedef enum mja_log_level {
	MJA_LOG_DEBUG = 0,
	MJA_LOG_INFO,
	MJA_LOG_NOTICE,
	MJA_LOG_WARNING,
	MJA_LOG_ERR
} mja_log_level;

/* level: an mja_log_level; msg: one line without the plugin's prefix. */
typedef void (*mja_log_fn)(void *ctx, int level, const char *msg);

#endif
