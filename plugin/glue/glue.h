/* glue.h - the Mosquitto glue (the files in plugin/glue): a translation
 * layer. Each broker event becomes one call of the session module
 * (include/mja/session/session.h, where every rule lives); the glue carries out the
 * actions it returns (log, set username, kick) and maps its decision to
 * MOSQ_ERR_*:
 *   MJA_ALLOW -> MOSQ_ERR_SUCCESS; MJA_DEFER -> MOSQ_ERR_PLUGIN_DEFER;
 *   MJA_DENY -> MOSQ_ERR_AUTH (authentication) or exactly
 *   MOSQ_ERR_ACL_DENIED (ACL: anything else would disconnect the client).
 * RELOAD always returns MOSQ_ERR_SUCCESS: an error would skip later reload
 * callbacks and the broker's own password_file / acl_file reload.
 *
 * One struct mja_glue per plugin instance (per listener with
 * per_listener_settings true) is the callbacks' userdata; no globals.
 * Files: plugin.c (version, init, cleanup, registration) calls events.c
 * (the callbacks and the carrying out of actions); never the reverse.
 */
#ifndef MJA_GLUE_H
#define MJA_GLUE_H

#include <stdint.h>
#include <time.h>

#include "broker_api.h"

#include "mja/session/session.h"

#define MJA_GLUE_EXPORT __attribute__((visibility("default")))
#define MJA_GLUE_LOG_PREFIX "jwt-auth: "

/* Events of Mosquitto 2.1 that 2.0's headers lack: their numbers, and the
 * part of their event data the glue reads (the same layout in 2.1's
 * headers: a reserved pointer, then the client). A 2.0 broker refuses to
 * register them with MOSQ_ERR_NOT_SUPPORTED, which is how init tells the
 * two lines apart. */
#define MJA_GLUE_EVT_CONNECT 11
#define MJA_GLUE_EVT_CLIENT_OFFLINE 28
struct mja_glue_evt_client {
	void *future;
	struct mosquitto *client;
};
/* 2.1's TICK event data (2.0 names the third field next_ns and ignores
 * it and next_s): the glue sets next_s and next_ms on the 2.1 line only
 * (see mja_glue__tick_wakeup). */
struct mja_glue_evt_tick {
	void *future;
	long now_ns;
	long next_ms;
	time_t now_s;
	time_t next_s;
};
/* 2.1 answers (absent from 2.0's headers): "as if not loaded". */
#define MJA_GLUE_ERR_PLUGIN_IGNORE 32

struct mja_glue {
	mosquitto_plugin_id_t *id;
	mja_session *session;
	int acl_registered;
	int line_2_1;              /* CLIENT_OFFLINE and CONNECT registered */
	/* when the $SYS counters are due: asked on TICK, and on every other
	 * event until a TICK comes (stats.h) */
	mja_stats_clock stats_clock;
	int64_t tick_due_ms;       /* monotonic: when 2.1 calls TICK next (as asked) */
	/* stats_per_listener without stats_listener, where the broker tells a
	 * client's port (2.1): the port of this instance's clients, 0 until
	 * the first one, MJA_GLUE_PORTS_SEVERAL once clients of two ports came */
	int stats_port;
};
#define MJA_GLUE_PORTS_SEVERAL (-1)

/* Callbacks (events.c; userdata is the struct mja_glue). */
int mja_glue__basic_auth(int event, void *event_data, void *userdata);
int mja_glue__ext_auth_start(int event, void *event_data, void *userdata);
int mja_glue__ext_auth_continue(int event, void *event_data, void *userdata);
int mja_glue__acl_check(int event, void *event_data, void *userdata);
int mja_glue__tick(int event, void *event_data, void *userdata);
/* 2.1: the TICK fields that make the broker wake in wait_ms (clamped to
 * 1..MJA_SESSION_TICK_MS) and call TICK again on its next pass, whatever
 * woke it (docs/design.md, "Broker facts"); returns the wait asked for. */
int64_t mja_glue__tick_wakeup(struct mja_glue_evt_tick *ev, int64_t wait_ms);
int mja_glue__disconnect(int event, void *event_data, void *userdata);
int mja_glue__reload(int event, void *event_data, void *userdata);
int mja_glue__client_offline(int event, void *event_data, void *userdata);   /* 2.1 */
int mja_glue__connect(int event, void *event_data, void *userdata);          /* 2.1 */

/* 2.1: whether the broker still holds client under clientid (the
 * session's probe, session.h); needs mosquitto_client. */
int mja_glue__client_held(const void *client, const char *clientid, void *ctx);
int mja_glue__has_client_lookup(void);
/* Whether the broker tells a client's listener port (2.1). */
int mja_glue__has_client_port(void);

/* Clocks (events.c): wall clock in seconds, monotonic in milliseconds. */
int64_t mja_glue__now(void);
int64_t mja_glue__mono_ms(void);

/* Carry out the log actions of acts (init, cleanup: no client), then
 * clear it (events.c). */
void mja_glue__log_actions(mja_actions *acts);

#endif
