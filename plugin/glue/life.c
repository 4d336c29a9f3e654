/* life.c (glue) - TICK (expiry, revocation, stats), DISCONNECT and RELOAD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int mja_glue_life__tick(int event, void *event_data, void *userdata)
{
	struct mja_glue *g = userdata;
	int64_t ms = g->mono_ms(), now;
	const mja_client *c;

	g->tick_seen = 1;

	/* TICK fires about 10 times a second when idle and far more under
	 * load: scan at most once per MJA_GLUE_TICK_MS with our own clock */
	if (ms - g->last_scan_ms < MJA_GLUE_TICK_MS)
		return MOSQ_ERR_SUCCESS;
	g->last_scan_ms = ms;
	now = g->now();
	mja_clients_sweep(g->clients, now);
	/* revocation_file: one stat(2); a changed file is read again and the
	 * clients it now revokes are disconnected */
	mja_glue__refresh_revocation(g, 0);
	if (g->cfg->stats_interval > 0 && ms - g->last_stats_ms >= g->cfg->stats_interval * 1000) {
		g->last_stats_ms = ms;
		mja_glue__publish_stats(g);
	}
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

	/* the revocation list first: the broker's re-check of every client,
	 * right after this event, refuses those it now revokes */
	mja_glue__refresh_revocation(g, 1);
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

static int principal_revoked(const mja_principal *p, void *ctx)
{
	return mja_auth_revoked(ctx, p) == MJA_ERR_REVOKED;
}

size_t mja_glue__kick_revoked(struct mja_glue *g)
{
	const void **v = NULL;
	size_t n = 0, kicked = 0;

	if (!g->cfg->revoked)
		return 0;
	if (mja_clients_select_live(g->clients, principal_revoked, g->cfg, &v, &n) != MJA_OK) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "out of memory: "
				"revoked clients stay connected until the next change");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const mja_client *c = mja_clients_get(g->clients, v[i]);
		char *id;

		if (!c || c->state != MJA_CLIENT_LIVE)
			continue;   /* went meanwhile (a kick re-enters the plugin) */
		mja_glue__log_client(MOSQ_LOG_NOTICE, v[i], "disconnecting",
				mja_strerror(MJA_ERR_REVOKED));
		g->stats.disconnects_revoked++;
		kicked++;
		id = c->clientid ? strdup(c->clientid) : NULL;
		/* a token that no longer holds: its will is denied (acl.c) */
		mja_glue__kick(g, v[i], 0);
		if (id) {
			/* the broker re-checks the subscriptions inside the kick: the
			 * rules alone judge those, as for an expiry (acl.c); deliveries
			 * to an offline durable session stay denied (revoked) */
			g->expiry_kick = v[i];
			mosquitto_kick_client_by_clientid(id, false);
			g->expiry_kick = NULL;
			free(id);
		}
	}
	free(v);
	return kicked;
}

void mja_glue__refresh_revocation(struct mja_glue *g, int force)
{
	mja_diag d = { { 0 } };
	int changed = 0;
	mja_err e;

	if (!g->cfg->revocation_file)
		return;
	e = mja_config_revoke_refresh(g->cfg, force, &changed, &d);
	if (e != MJA_OK) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "revocation list not "
				"reloaded, the previous list stays in force: %s",
				d.text[0] ? d.text : mja_strerror(e));
		return;
	}
	if (!changed)
		return;
	mosquitto_log_printf(MOSQ_LOG_NOTICE, MJA_GLUE_LOG_PREFIX "revocation list loaded: "
			"%zu entries", mja_revoke_count(g->cfg->revoked));
	/* after SIGHUP the broker's re-check follows at once (auth.c) */
	if (!force)
		mja_glue__kick_revoked(g);
}

static void publish_one(const char *suffix, const char *value, void *arg)
{
	struct mja_glue *g = arg;
	char topic[192];
	size_t len = strlen(value);
	char *payload;
	int rc;

	snprintf(topic, sizeof(topic), "%s%s", g->stats_prefix, suffix);
	/* mosquitto_broker.h: the payload must be on the heap and is freed by
	 * the broker only if the call succeeds */
	payload = malloc(len);
	if (!payload)
		return;
	memcpy(payload, value, len);
	rc = mosquitto_broker_publish(NULL, topic, (int)len, payload, 0, true, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		free(payload);
}

void mja_glue__publish_stats(struct mja_glue *g)
{
	mja_cache_stats cs;
	mja_stats_extra x = { 0 };

	mja_cache_get_stats(g->cfg->cache, &cs);
	x.cache_hits = cs.hits;
	x.cache_misses = cs.misses;
	x.keys = mja_keyset_count(g->cfg->files->keys);
	mja_stats_emit(&g->stats, &x, publish_one, g);
}
