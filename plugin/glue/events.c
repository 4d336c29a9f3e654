/* events.c (glue) - broker event -> session call -> actions carried out. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glue.h"
#include "mja/topic/acl.h"

/* The session speaks MJA_ACCESS_*; the broker's MOSQ_ACL_* are passed
 * through unchanged. */
_Static_assert(MJA_ACCESS_READ == MOSQ_ACL_READ, "MJA_ACCESS_READ != MOSQ_ACL_READ");
_Static_assert(MJA_ACCESS_WRITE == MOSQ_ACL_WRITE, "MJA_ACCESS_WRITE != MOSQ_ACL_WRITE");
_Static_assert(MJA_ACCESS_SUBSCRIBE == MOSQ_ACL_SUBSCRIBE,
		"MJA_ACCESS_SUBSCRIBE != MOSQ_ACL_SUBSCRIBE");
_Static_assert(MJA_ACCESS_UNSUBSCRIBE == MOSQ_ACL_UNSUBSCRIBE,
		"MJA_ACCESS_UNSUBSCRIBE != MOSQ_ACL_UNSUBSCRIBE");

/* Mosquitto 2.1's lookup of the client holding a client id (broker_api.h:
 * a weak reference, NULL on 2.0). */
int mja_glue__has_client_lookup(void)
{
	return mosquitto_client != NULL;
}

int mja_glue__has_client_port(void)
{
	return mosquitto_client_port != NULL;
}

int mja_glue__client_held(const void *client, const char *clientid, void *ctx)
{
	return mosquitto_client && clientid && mosquitto_client(clientid) == client;
}

int64_t mja_glue__now(void)
{
	return (int64_t)time(NULL);
}

int64_t mja_glue__mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int log_level(mja_log_level l)
{
	switch (l) {
	case MJA_LOG_DEBUG: return MOSQ_LOG_DEBUG;
	case MJA_LOG_INFO: return MOSQ_LOG_INFO;
	case MJA_LOG_NOTICE: return MOSQ_LOG_NOTICE;
	case MJA_LOG_WARNING: return MOSQ_LOG_WARNING;
	case MJA_LOG_ERR: break;
	}
	return MOSQ_LOG_ERR;
}

static void log_lost(const mja_actions *acts)
{
	if (acts->lost)
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "out of memory: an action "
				"was dropped (the client concerned is denied everything)");
}

void mja_glue__log_actions(mja_actions *acts)
{
	for (size_t i = 0; i < acts->n; i++)
		if (acts->v[i].kind == MJA_ACTION_LOG)
			mosquitto_log_printf(log_level(acts->v[i].level), MJA_GLUE_LOG_PREFIX "%s",
					acts->v[i].text);
	log_lost(acts);
	mja_actions_clear(acts);
}

/* The broker's facts about client. */
static mja_session_client facts(struct mosquitto *client)
{
	mja_session_client c = { .client = client };

	if (client) {
		c.clientid = mosquitto_client_id(client);
		c.address = mosquitto_client_address(client);
		c.username = mosquitto_client_username(client);
		c.durable = !mosquitto_client_clean_session(client);
	}
	return c;
}

/* Carry out acts in order, then free them. c: the event's client (for a
 * failed required SET_USERNAME); *r: the decision, changed only then. */
static void run(struct mja_glue *g, const mja_session_client *c, mja_actions *acts,
		mja_decision *r)
{
	const void *no_username = NULL;   /* a client whose required username failed */

	for (size_t i = 0; i < acts->n; i++) {
		mja_action *a = &acts->v[i];

		switch (a->kind) {
		case MJA_ACTION_LOG:
			mosquitto_log_printf(log_level(a->level), MJA_GLUE_LOG_PREFIX "%s", a->text);
			break;
		case MJA_ACTION_SET_USERNAME:
			/* frees the broker's old username: nothing reads the
			 * event's username after this */
			if (mosquitto_set_username((struct mosquitto *)a->client, a->text) ==
					MOSQ_ERR_SUCCESS)
				break;
			if (c && r) {
				mja_actions more;
				mja_err why;

				mja_actions_init(&more);
				*r = mja_session_username_failed(g->session, c, a->required, &more, &why);
				mja_glue__log_actions(&more);
				mja_actions_free(&more);
				if (a->required)
					goto out;   /* the client is refused: nothing else applies */
			} else if (a->required) {
				/* a held CONNECT completed on TICK: refused below */
				mja_session_client held = facts((struct mosquitto *)a->client);
				mja_actions more;
				mja_err why;

				mja_actions_init(&more);
				(void)mja_session_username_failed(g->session, &held, 1, &more, &why);
				mja_glue__log_actions(&more);
				mja_actions_free(&more);
				no_username = a->client;
			}
			break;
		case MJA_ACTION_COMPLETE_AUTH:
			if (mosquitto_complete_basic_auth)
				mosquitto_complete_basic_auth(a->text,
						a->allow && a->client != no_username ?
						MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH);
			break;
		case MJA_ACTION_KICK:
			mja_session_kick_begin(g->session, a->client);
			mosquitto_kick_client_by_clientid(a->text, a->with_will);
			mja_session_kick_end(g->session);
			break;
		}
	}
out:
	log_lost(acts);
	mja_actions_free(acts);
}

static void stats_on_event(struct mja_glue *g, int64_t ms);

static int auth_rc(mja_decision r)
{
	return r == MJA_ALLOW ? MOSQ_ERR_SUCCESS :
		r == MJA_DEFER ? MOSQ_ERR_PLUGIN_DEFER :
		r == MJA_HOLD ? MJA_GLUE_ERR_AUTH_DELAYED : MOSQ_ERR_AUTH;
}

/* 2.1's loop sleeps until the wake-up TICK asked for last
 * (mja_glue__tick_wakeup, g->tick_due_ms), and a held CONNECT is completed
 * from TICK only: when one is held and that wake-up is more than a
 * millisecond away, register the callback afresh, which 2.1 calls on its
 * next pass (it logs the registration). */
static void tick_soon(struct mja_glue *g)
{
	int64_t ms = mja_glue__mono_ms();

	if (!g->line_2_1 || ms + 1 >= g->tick_due_ms)
		return;
	if (mosquitto_callback_unregister(g->id, MOSQ_EVT_TICK, mja_glue__tick, NULL) !=
			MOSQ_ERR_SUCCESS)
		return;
	if (mosquitto_callback_register(g->id, MOSQ_EVT_TICK, mja_glue__tick, NULL, g) ==
			MOSQ_ERR_SUCCESS)
		g->tick_due_ms = ms;
	else
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "cannot register the "
				"TICK callback again: held CONNECTs and expiry wait for none");
}

/* stats_per_listener without stats_listener: learn the port of this
 * instance's listener from its clients (only where the broker tells it;
 * README "Numbers to watch"). Every counted event follows an
 * authentication of a client of the same listener, so the port is known
 * before anything is counted. */
static void note_port(struct mja_glue *g, const struct mosquitto *client)
{
	const mja_config *cfg;
	int port;

	if (g->stats_port == MJA_GLUE_PORTS_SEVERAL || !client)
		return;
	cfg = mja_session_config(g->session);
	if (!cfg->stats_per_listener || cfg->stats_listener || !mja_glue__has_client_port())
		return;
	port = mosquitto_client_port(client);
	if (port <= 0 || port == g->stats_port)
		return;
	if (g->stats_port == 0) {
		g->stats_port = port;
		return;
	}
	mosquitto_log_printf(MOSQ_LOG_WARNING, MJA_GLUE_LOG_PREFIX "stats_per_listener: clients "
			"of ports %d and %d reach this instance (not a listener's own: "
			"per_listener_settings false, or plugin_use on several listeners); its "
			"counters are published without the listener level from now on",
			g->stats_port, port);
	g->stats_port = MJA_GLUE_PORTS_SEVERAL;
}

int mja_glue__basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ev = event_data;
	struct mja_glue *g = userdata;
	mja_session_client c = facts(ev->client);
	mja_actions acts;
	int64_t ms = mja_glue__mono_ms();
	mja_decision r;
	mja_err why;

	note_port(g, ev->client);
	mja_actions_init(&acts);
	r = mja_session_basic_auth(g->session, &c, ev->username, ev->password,
			mja_glue__now(), ms, &acts, &why);
	run(g, &c, &acts, &r);
	stats_on_event(g, ms);
	if (r == MJA_HOLD)
		tick_soon(g);
	if (r == MJA_IGNORE)
		return MJA_GLUE_ERR_PLUGIN_IGNORE;   /* only ever on 2.1 */
	/* 2.1 passes a reason code to the client's CONNACK; 2.0 knows only
	 * MOSQ_ERR_AUTH */
	if (r == MJA_DENY && g->line_2_1)
		return mja_session_connack_reason(why);
	return auth_rc(r);
}

int mja_glue__ext_auth_start(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_extended_auth *ev = event_data;
	struct mja_glue *g = userdata;
	mja_session_client c = facts(ev->client);
	mja_actions acts;
	int64_t ms = mja_glue__mono_ms();
	mja_decision r;
	mja_err why;

	note_port(g, ev->client);
	mja_actions_init(&acts);
	r = mja_session_ext_auth_start(g->session, &c, ev->auth_method, ev->data_in,
			ev->data_in_len, mja_glue__now(), ms, &acts, &why);
	run(g, &c, &acts, &r);
	stats_on_event(g, ms);
	return auth_rc(r);
}

int mja_glue__ext_auth_continue(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_extended_auth *ev = event_data;
	struct mja_glue *g = userdata;
	mja_session_client c = facts(ev->client);
	mja_actions acts;
	int64_t ms = mja_glue__mono_ms();
	mja_decision r;
	mja_err why;

	mja_actions_init(&acts);
	r = mja_session_ext_auth_continue(g->session, &c, mja_glue__now(), ms, &acts, &why);
	run(g, &c, &acts, &r);
	stats_on_event(g, ms);
	return auth_rc(r);
}

int mja_glue__acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ev = event_data;
	struct mja_glue *g = userdata;
	mja_session_client c = { .client = ev->client };
	mja_actions acts;
	int64_t ms = mja_glue__mono_ms();
	mja_decision r;

	mja_actions_init(&acts);
	r = mja_session_acl(g->session, &c, ev->topic, ev->access, ev->qos, ev->retain,
			mja_glue__now(), ms, &acts);
	run(g, NULL, &acts, NULL);
	stats_on_event(g, ms);
	return r == MJA_ALLOW ? MOSQ_ERR_SUCCESS :
		r == MJA_DEFER ? MOSQ_ERR_PLUGIN_DEFER : MOSQ_ERR_ACL_DENIED;
}

/* One counter as a retained $SYS message (stats.h); arg: the listener
 * level (const char *), or NULL for none. */
static void publish_one(const char *suffix, const char *value, void *arg)
{
	const char *level = arg;
	char topic[256];
	size_t len = strlen(value);
	char *payload;

	if (!mja_stats_topic(topic, sizeof(topic), level, suffix))
		return;   /* cannot happen with a valid level; never a cut topic */
	/* mosquitto_broker.h: the payload must be on the heap; the broker
	 * frees it only if the call succeeds */
	payload = malloc(len);
	if (!payload)
		return;
	memcpy(payload, value, len);
	if (mosquitto_broker_publish(NULL, topic, (int)len, payload, 0, true, NULL) !=
			MOSQ_ERR_SUCCESS)
		free(payload);
}

/* The counters, under the listener level: the stats_listener name, else
 * (stats_per_listener) the port the broker told. mosquitto_broker_publish
 * only queues the message, which the broker's main loop sends on its next
 * pass (2.0 and 2.1: src/plugin_public.c, src/loop.c): safe from any event
 * on the broker's thread. */
static void publish_stats(struct mja_glue *g)
{
	const mja_config *cfg = mja_session_config(g->session);
	const char *level = NULL;
	char port[16];

	if (cfg->stats_listener) {
		level = cfg->stats_listener;
	} else if (g->stats_port > 0) {
		snprintf(port, sizeof(port), "%d", g->stats_port);
		level = port;
	} else if (g->stats_port == 0 && cfg->stats_per_listener &&
			mja_glue__has_client_port()) {
		/* the port still unknown: no client counted yet; nothing under
		 * another listener's (or no) listener level */
		return;
	}
	mja_session_stats_emit(g->session, publish_one, (void *)level);
}

/* Every event but TICK: where no TICK has come (Mosquitto 2.0.11 to 2.0.14
 * with per_listener_settings true) the counters go out from here once due.
 * Elsewhere a flag test: TICK publishes. */
static void stats_on_event(struct mja_glue *g, int64_t ms)
{
	if (g->stats_clock.tick_seen)
		return;
	if (mja_stats_due_event(&g->stats_clock, mja_session_config(g->session)->stats_interval,
			ms))
		publish_stats(g);
}

int mja_glue__tick(int event, void *event_data, void *userdata)
{
	struct mja_glue_evt_tick *ev = event_data;
	struct mja_glue *g = userdata;
	const mja_config *cfg = mja_session_config(g->session);
	int64_t ms = mja_glue__mono_ms();
	mja_actions acts;
	int64_t next;

	mja_actions_init(&acts);
	next = mja_session_tick(g->session, mja_glue__now(), ms, &acts);
	run(g, NULL, &acts, NULL);
	/* while CONNECTs are held, TICK soon again (2.1 waits up to its own
	 * next event otherwise) */
	if (g->line_2_1 && ev && mja_session_held(g->session))
		ev->next_ms = (long)next;
	/* stats_interval: the counters, from the broker's thread */
	if (mja_stats_due_tick(&g->stats_clock, cfg->stats_interval, ms))
		publish_stats(g);
	/* 2.1 sleeps until its next timer: ask for the next scan (at most a
	 * second, so stats_interval is kept as well) */
	if (g->line_2_1 && ev)
		g->tick_due_ms = ms + mja_glue__tick_wakeup(ev, next);
	return MOSQ_ERR_SUCCESS;
}

/* Mosquitto 2.1.2 (src/plugin_tick.c) calls a TICK callback only when its
 * due time has passed; after the call it asks the main loop to wake in
 * next_s * 1000 + next_ms ms and makes the callback due at now + next_s s +
 * next_ms ms (nanoseconds carried into seconds once at most). A pass of the
 * loop woken earlier by anything else (a packet) resets the loop's sleep
 * and calls no TICK that is not due, so the wake-up asked for is lost and
 * the loop sleeps until its next own timer ($SYS, keepalive: seconds).
 * next_s = -2, next_ms = 2000 + wait: the wake-up is still wait ms, but the
 * due time's seconds are in the past, so TICK is called (and asks again) on
 * every pass; the session's own clock limits its scan to one per
 * MJA_SESSION_TICK_MS (2.0 calls TICK on every pass anyway). The broker
 * adds next_ms * 1000000 to a long: with a 32-bit long that overflows, so
 * there the plain wake-up is asked for (and can be lost). */
int64_t mja_glue__tick_wakeup(struct mja_glue_evt_tick *ev, int64_t wait_ms)
{
	if (wait_ms < 1)
		wait_ms = 1;
	if (wait_ms > MJA_SESSION_TICK_MS)
		wait_ms = MJA_SESSION_TICK_MS;
#if LONG_MAX > 0x7fffffffL
	ev->next_s = -2;
	ev->next_ms = 2000 + (long)wait_ms;
#else
	ev->next_s = 0;
	ev->next_ms = (long)wait_ms;
#endif
	return wait_ms;
}

int mja_glue__disconnect(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ev = event_data;
	struct mja_glue *g = userdata;
	int64_t ms = mja_glue__mono_ms();
	mja_actions acts;

	mja_actions_init(&acts);
	mja_session_disconnect(g->session, ev->client, mja_glue__now(), ms, &acts);
	run(g, NULL, &acts, NULL);
	stats_on_event(g, ms);
	return MOSQ_ERR_SUCCESS;   /* the broker ignores it */
}

int mja_glue__reload(int event, void *event_data, void *userdata)
{
	struct mja_glue *g = userdata;
	int64_t ms = mja_glue__mono_ms();
	mja_actions acts;

	mja_actions_init(&acts);
	mja_session_reload(g->session, mja_glue__now(), ms, &acts);
	run(g, NULL, &acts, NULL);
	stats_on_event(g, ms);
	return MOSQ_ERR_SUCCESS;
}

/* 2.1: a client whose session outlives it went; the same for the plugin */
int mja_glue__client_offline(int event, void *event_data, void *userdata)
{
	struct mja_glue_evt_client *ev = event_data;
	struct mja_glue *g = userdata;
	mja_actions acts;

	mja_actions_init(&acts);
	mja_session_disconnect(g->session, ev->client, mja_glue__now(), mja_glue__mono_ms(),
			&acts);
	run(g, NULL, &acts, NULL);
	return MOSQ_ERR_SUCCESS;
}

/* 2.1: the connection of a client is complete */
int mja_glue__connect(int event, void *event_data, void *userdata)
{
	struct mja_glue_evt_client *ev = event_data;
	struct mja_glue *g = userdata;
	mja_session_client c = facts(ev->client);
	mja_actions acts;

	mja_actions_init(&acts);
	mja_session_connected(g->session, &c, mja_glue__now(), mja_glue__mono_ms(), &acts);
	run(g, NULL, &acts, NULL);
	return MOSQ_ERR_SUCCESS;
}
