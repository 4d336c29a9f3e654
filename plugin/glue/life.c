/* life.c (glue) - TICK (expiry), DISCONNECT and RELOAD (spec 4, issue 6). */
#include "glue.h"

/* a + b for b >= 0, saturating at INT64_MAX */
static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* How long a client that went at now is kept (glue.h): a clean session
 * for its will only; a durable one while its offline READ checks can still
 * be allowed (exp + leeway), within [grace, MJA_GLUE_DURABLE_MAX]. */
static int64_t gone_until(const struct mja_glue *g, const mja_client *c, int64_t now)
{
	int64_t least = add_sat(now, MJA_GLUE_GONE_GRACE);
	int64_t most = add_sat(now, MJA_GLUE_DURABLE_MAX);
	int64_t until;

	if (!c->durable)
		return least;
	if (!c->principal->has_exp)
		return most;
	until = add_sat(c->principal->exp, g->cfg->leeway > 0 ? g->cfg->leeway : 0);
	return until < least ? least : until > most ? most : until;
}

void mja_glue__gone(struct mja_glue *g, const void *client, int64_t now)
{
	const mja_client *c = mja_clients_get(g->clients, client);
	int will_ok;

	if (!c)
		return;   /* not ours, or a refused CONNECT (client id NULL) */
	if (c->state == MJA_CLIENT_GONE) {
		mja_clients_remove(g->clients, client);   /* second: session takeover */
		return;
	}
	/* the will may go if the token still held when the client went, or
	 * as the kick decided (acl.c) */
	will_ok = c->state == MJA_CLIENT_KICKED ? c->will_ok :
		!mja_auth_expired(g->cfg, c->principal, now);
	mja_clients_disconnect(g->clients, client, now, gone_until(g, c, now), will_ok);
}

void mja_glue__kick(struct mja_glue *g, const void *client, int will_ok)
{
	mja_clients_kick(g->clients, client, add_sat(g->now(), MJA_GLUE_GONE_GRACE), will_ok);
}

void mja_glue__check_tick(struct mja_glue *g)
{
	if (g->tick_seen || g->no_tick_warned || g->acl_registered ||
	    !g->cfg->disconnect_on_expiry || g->mono_ms() - g->init_ms < MJA_GLUE_NO_TICK_MS)
		return;
	g->no_tick_warned = 1;
	mosquitto_log_printf(MOSQ_LOG_WARNING, MJA_GLUE_LOG_PREFIX "the broker sends no "
			"TICK (per_listener_settings true?) and there is no acl_file: clients "
			"whose token expires are not disconnected");
}

void mja_glue__log_lib(void *ctx, int level, const char *msg)
{
	static const int levels[] = {
		[MJA_LOG_INFO] = MOSQ_LOG_INFO, [MJA_LOG_NOTICE] = MOSQ_LOG_NOTICE,
		[MJA_LOG_WARNING] = MOSQ_LOG_WARNING, [MJA_LOG_ERR] = MOSQ_LOG_ERR,
	};
	int l = level >= 0 && level <= MJA_LOG_ERR ? levels[level] : MOSQ_LOG_ERR;

	mosquitto_log_printf(l, MJA_GLUE_LOG_PREFIX "%s", msg);
}

void mja_glue__jwks_update(struct mja_glue *g)
{
	if (g->cfg->jwks)
		mja_config_jwks_update(g->cfg, g->now(), mja_glue__log_lib, g);
}

int mja_glue_life__tick(int event, void *event_data, void *userdata)
{
	struct mja_glue *g = userdata;
	int64_t ms = g->mono_ms(), now;
	const mja_client *c;

	g->tick_seen = 1;
	/* the fetcher's new key set is swapped in here, on the broker's thread */
	mja_glue__jwks_update(g);

	/* TICK fires about 10 times a second when idle and far more under
	 * load: scan at most once per MJA_GLUE_TICK_MS with our own clock */
	if (ms - g->last_scan_ms < MJA_GLUE_TICK_MS)
		return MOSQ_ERR_SUCCESS;
	g->last_scan_ms = ms;
	now = g->now();
	mja_clients_sweep(g->clients, now);
	if (!g->cfg->disconnect_on_expiry)
		return MOSQ_ERR_SUCCESS;
	/* the schedule's top only: no scan of every client. Each kicked entry
	 * leaves the schedule, so the loop ends. */
	while ((c = mja_clients_next_expired(g->clients, now, g->cfg->leeway)))
		mja_glue__kick_expired(g, c->client);
	return MOSQ_ERR_SUCCESS;
}

int mja_glue_life__disconnect(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ev = event_data;
	struct mja_glue *g = userdata;
	int64_t now = g->now();

	mja_glue__gone(g, ev->client, now);
	mja_clients_sweep(g->clients, now);
	return MOSQ_ERR_SUCCESS;   /* the broker ignores it */
}

int mja_glue_life__reload(int event, void *event_data, void *userdata)
{
	struct mja_glue *g = userdata;
	mja_diag d = { { 0 } };
	mja_err e;

	e = mja_config_reload(g->cfg, &d);
	if (e != MJA_OK) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "reload failed, the "
				"previous keys and ACL stay in force: %s",
				d.text[0] ? d.text : mja_strerror(e));
	} else {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, MJA_GLUE_LOG_PREFIX "reloaded: %zu key(s)%s",
				mja_keyset_count(g->cfg->files->keys),
				g->cfg->files->acl ? ", ACL" : "");
	}
	/* the broker now re-runs BASIC_AUTH for every client (auth.c): a LIVE
	 * entry's is a re-check, anything else is decided afresh.
	 * An error here would skip later reload callbacks and the broker's own
	 * password_file / acl_file reload (notes). */
	return MOSQ_ERR_SUCCESS;
}
