/* acl.c (glue) - ACL_CHECK for token clients (spec 3, 4). Registered only
 * when the plugin makes topic decisions (acl_file, acl_claim or
 * superuser_claim: mja_config_topic_decisions). */
#include <string.h>

#include "glue.h"

int mja_glue_acl__check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ev = event_data;
	struct mja_glue *g = userdata;
	const mja_client *c = mja_clients_get(g->clients, ev->client);
	int64_t now;
	mja_err why = MJA_OK;
	mja_decision r;
	int is_will;

	if (!c)
		return MOSQ_ERR_PLUGIN_DEFER;   /* did not log in with a token */
	if (!ev->topic)
		return MOSQ_ERR_ACL_DENIED;
	now = g->now();
	/* Inside an expiry kick, the broker re-checks every subscription
	 * before it disconnects (notes); a denial would strip a durable
	 * session of its subscriptions. Judge those by the rules alone:
	 * deliveries to the session stay denied while the token is expired,
	 * and a fresh token resumes it with its subscriptions (spec 4). */
	if (c->state == MJA_CLIENT_KICKED && ev->client == g->expiry_kick &&
	    ev->access == MJA_ACCESS_SUBSCRIBE) {
		r = mja_auth_acl(g->cfg, c->principal, c->clientid, c->username, ev->topic,
				strlen(ev->topic), ev->access, ev->qos, ev->retain, now, 1, &why);
		return r == MJA_ALLOW ? MOSQ_ERR_SUCCESS :
			r == MJA_DEFER ? MOSQ_ERR_PLUGIN_DEFER : MOSQ_ERR_ACL_DENIED;
	}
	if (c->state == MJA_CLIENT_KICKED)
		return MOSQ_ERR_ACL_DENIED;     /* being disconnected */
	/* A GONE client's WRITE check is its will, sent after DISCONNECT
	 * (notes). A will is a write by that client (spec 3): denied if its
	 * token no longer held when it went (expired, or refused by a re-check
	 * or re-authentication); a client disconnected for expiry gets it
	 * published as for any other loss (spec 4), so the expiry test is
	 * skipped then (will_ok, set when it went). */
	is_will = c->state == MJA_CLIENT_GONE && ev->access == MJA_ACCESS_WRITE;
	if (is_will && !c->will_ok)
		return MOSQ_ERR_ACL_DENIED;
	r = mja_auth_acl(g->cfg, c->principal, c->clientid, c->username, ev->topic,
			strlen(ev->topic), ev->access, ev->qos, ev->retain, now, is_will, &why);
	if (r == MJA_ALLOW)
		return MOSQ_ERR_SUCCESS;
	if (r == MJA_DEFER)
		return MOSQ_ERR_PLUGIN_DEFER;
	/* spec 4: without TICK (per_listener_settings true) the first ACL check
	 * after expiry denies and disconnects */
	if (why == MJA_ERR_EXPIRED && c->state == MJA_CLIENT_LIVE && g->cfg->disconnect_on_expiry)
		mja_glue__kick_expired(g, ev->client);   /* c is invalid after this */
	return MOSQ_ERR_ACL_DENIED;
}
