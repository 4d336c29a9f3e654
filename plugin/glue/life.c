/* life.c (glue) - TICK (expiry), DISCONNECT and RELOAD (spec 4, issue 6). */
#include "glue.h"

int mja_glue_life__tick(int event, void *event_data, void *userdata)
{
	struct mja_glue *g = userdata;
	int64_t ms = g->mono_ms(), now;
	const mja_client *c;

	/* TICK fires about 10 times a second when idle and far more under
	 * load: scan at most once per MJA_GLUE_TICK_MS with our own clock */
	if (ms - g->last_scan_ms < MJA_GLUE_TICK_MS)
		return MOSQ_ERR_SUCCESS;
	g->last_scan_ms = ms;
	now = g->now();
	g->reload_pending = 0;   /* the re-check after RELOAD ran before this tick */
	mja_clients_sweep(g->clients, now, MJA_GLUE_GONE_GRACE);
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

	/* refused CONNECTs (client id NULL) have no entry: a no-op. A second
	 * DISCONNECT for the same pointer (session takeover) removes it. */
	mja_clients_disconnect(g->clients, ev->client, now);
	mja_clients_sweep(g->clients, now, MJA_GLUE_GONE_GRACE);
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
	/* the broker now re-runs BASIC_AUTH for every client */
	g->reload_pending = 1;
	g->reload_at = g->now();
	/* an error here would skip later reload callbacks and the broker's own
	 * password_file / acl_file reload (notes) */
	return MOSQ_ERR_SUCCESS;
}
