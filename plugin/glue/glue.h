/* glue.h - shared state of the Mosquitto glue (the files in plugin/glue).
 *
 * The glue is thin: it converts broker events to calls of the internal
 * library (config.h, auth.h, clients.h), maps mja_decision to MOSQ_ERR_*,
 * and logs. One struct mja_glue per plugin instance (per listener with
 * per_listener_settings true) is passed as the callbacks' userdata; there
 * are no globals.
 *
 * Return codes (docs/mosquitto-plugin-notes.md): a client that is not ours
 * -> MOSQ_ERR_PLUGIN_DEFER; refused CONNECT / re-auth -> MOSQ_ERR_AUTH;
 * denied ACL -> MOSQ_ERR_ACL_DENIED (anything else would disconnect);
 * RELOAD -> always MOSQ_ERR_SUCCESS (an error breaks the broker's reload).
 * Log lines start with "jwt-auth:" and name the reason, the client id and
 * the address; never the token.
 *
 * Clients without a username: MQTT 5 allows a password without a username,
 * and enhanced-auth clients need none. Mosquitto 2.0.11 disconnects every
 * client without a username on SIGHUP when allow_anonymous is false, before
 * any plugin is asked. So a token client that sent no username is given
 * its sub as broker username (mosquitto_set_username) when accepted: it
 * survives the reload and its token is re-checked like any other. The ACL's
 * %u still stands for the username the client sent (none).
 *
 * token_field username: the username field is the token, and Mosquitto
 * logs the username ("New client connected ... u'...'") after the plugin
 * accepted it. So an accepted client's username is replaced with its sub
 * (mosquitto_set_username, which frees the broker's old string: nothing
 * reads the event's username after it); the token is kept in the principal
 * for the SIGHUP re-check (auth.h). %u matches nothing in this mode.
 *
 * Which BASIC_AUTH is the SIGHUP re-check: only one on a LIVE or KICKED
 * entry (the same connection). A GONE entry's connection is over: a
 * BASIC_AUTH on its address is a new connection reusing a freed
 * `struct mosquitto`, or the re-check of an offline durable session; both
 * are decided afresh from the credentials they carry (an offline
 * enhanced-auth session carries none and is refused: fail closed).
 */
#ifndef MJA_GLUE_H
#define MJA_GLUE_H

#include <stdint.h>

#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>

#include "mja/auth.h"
#include "mja/clients.h"
#include "mja/config.h"

/* The broker's API lives in the mosquitto executable, not in a library we
 * could link: weak references keep -Wl,-z,defs useful for our own symbols
 * and are resolved by the dynamic linker against the broker at dlopen.
 * mja_glue__api_present() checks that they were. */
#pragma weak mosquitto_log_printf
#pragma weak mosquitto_client_id
#pragma weak mosquitto_client_address
#pragma weak mosquitto_client_username
#pragma weak mosquitto_client_clean_session
#pragma weak mosquitto_set_username
#pragma weak mosquitto_kick_client_by_clientid
#pragma weak mosquitto_callback_register
#pragma weak mosquitto_callback_unregister

#define MJA_GLUE_EXPORT __attribute__((visibility("default")))
#define MJA_GLUE_LOG_PREFIX "jwt-auth: "
/* The authentication method of MQTT 5 enhanced authentication (spec 4). */
#define MJA_GLUE_AUTH_METHOD "jwt"
/* Expiry scan period on TICK, milliseconds (issue 6: about once a second). */
#define MJA_GLUE_TICK_MS 1000
/* TICK comes about 10 times a second; none this long after init means the
 * broker sends none (per_listener_settings true in 2.0.11), milliseconds. */
#define MJA_GLUE_NO_TICK_MS 3000
/* How long a disconnected clean-session client's entry is kept for its
 * will (clients.h), seconds; also how long a KICKED entry waits for its
 * DISCONNECT. */
#define MJA_GLUE_GONE_GRACE 60
/* A durable session's entry is kept while it is offline, for the READ
 * checks of the messages queued for it, until its token's exp + leeway
 * (READ is denied after that anyway), at least the grace above and at
 * most this many seconds (also the bound for a token without exp). */
#define MJA_GLUE_DURABLE_MAX 86400

struct mja_glue {
	mosquitto_plugin_id_t *id;
	mja_config *cfg;
	mja_clients *clients;
	int acl_registered;
	int64_t last_scan_ms;      /* monotonic, of the last expiry scan */
	int64_t init_ms;           /* monotonic, of init */
	int tick_seen;             /* a TICK has arrived since init */
	int no_tick_warned;        /* the "no TICK" warning was logged */
	const void *expiry_kick;   /* the client inside its expiry kick, or NULL */
	/* Clocks: mja_glue__now / mja_glue__mono_ms, set by init; time is a
	 * parameter so that test_glue.c can drive expiry with a fixed clock. */
	int64_t (*now)(void);
	int64_t (*mono_ms)(void);
};

/* Callbacks (userdata is the struct mja_glue). */
int mja_glue_auth__basic(int event, void *event_data, void *userdata);
int mja_glue_auth__ext_start(int event, void *event_data, void *userdata);
int mja_glue_auth__ext_continue(int event, void *event_data, void *userdata);
int mja_glue_acl__check(int event, void *event_data, void *userdata);
int mja_glue_life__tick(int event, void *event_data, void *userdata);
int mja_glue_life__disconnect(int event, void *event_data, void *userdata);
int mja_glue_life__reload(int event, void *event_data, void *userdata);

/* Helpers (plugin.c). */
int64_t mja_glue__now(void);        /* wall clock, seconds */
int64_t mja_glue__mono_ms(void);    /* monotonic clock, milliseconds */
/* A printable, bounded copy of s for a log line (control characters and
 * non-ASCII replaced by '?', at most 128 bytes, "(none)" for NULL). */
void mja_glue__printable(const char *s, char *buf, size_t size);
/* Log "jwt-auth: <what> client <id> from <address>: <reason>". */
void mja_glue__log_client(int level, const struct mosquitto *client, const char *what,
		const char *reason);
/* Disconnect a client whose token expired, with its will (spec 4). Marks
 * the entry KICKED first: the broker re-checks subscriptions and fires
 * DISCONNECT from inside the kick, re-entering the callbacks. */
void mja_glue__kick_expired(struct mja_glue *g, const void *client);
/* Mark a LIVE entry KICKED with the usual deadline (will_ok: whether its
 * will may still be published). */
void mja_glue__kick(struct mja_glue *g, const void *client, int will_ok);
/* Without acl_file only TICK disconnects expired clients: log once, at
 * an accepted client, if the broker has sent no TICK since init (life.c). */
void mja_glue__check_tick(struct mja_glue *g);
/* Keys from JWKS URLs (jwks.h): take in what the fetcher thread fetched and
 * swap the key set in use if it changed; logs through the broker. Called on
 * every TICK and before every authentication; never waits for the network
 * (life.c). */
void mja_glue__jwks_update(struct mja_glue *g);
/* The library's log callback (mja_log_fn) -> mosquitto_log_printf. */
void mja_glue__log_lib(void *ctx, int level, const char *msg);
/* DISCONNECT of client at now (life.c): LIVE / KICKED -> GONE, kept for
 * its will and, for a durable session, its offline READ checks; a second
 * DISCONNECT removes it. */
void mja_glue__gone(struct mja_glue *g, const void *client, int64_t now);

#endif
