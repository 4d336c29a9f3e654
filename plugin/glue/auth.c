/* auth.c (glue) - BASIC_AUTH and MQTT 5 enhanced authentication. */
#include <stdio.h>
#include <string.h>

#include "glue.h"

static void log_refusal(const struct mosquitto *client, const char *what, mja_err why)
{
	mja_glue__log_client(MOSQ_LOG_NOTICE, client, what, mja_strerror(why));
}

/* A BASIC_AUTH or EXT_AUTH_START on a pointer whose entry is GONE is a new
 * connection at a reused address, except during the re-check right after
 * RELOAD (clients.h). */
static int is_reload_recheck(struct mja_glue *g, const mja_client *c, int64_t now)
{
	if (c->state != MJA_CLIENT_GONE)
		return 1;   /* same connection: only a reload re-runs BASIC_AUTH */
	return g->reload_pending && now - g->reload_at <= MJA_GLUE_RELOAD_WINDOW;
}

/* After a re-check or re-authentication: 1 if p (allowed) now stands for the
 * client; else 0 with *why set (p freed if it could not be stored). */
static int replace_principal(struct mja_glue *g, const void *client, mja_decision r,
		mja_principal *p, mja_err *why)
{
	if (r != MJA_ALLOW)
		return 0;
	if (mja_clients_set_principal(g->clients, client, p) == MJA_OK)
		return 1;
	mja_principal_free(p);
	*why = MJA_ERR_NOMEM;
	return 0;
}

/* The broker's re-check of a client we accepted (spec 4, after SIGHUP). */
static int recheck(struct mja_glue *g, struct mosquitto_evt_basic_auth *ev,
		const mja_client *c, int64_t now)
{
	mja_principal *p = NULL;
	mja_err why = MJA_OK;
	mja_decision r;
	int gone = c->state == MJA_CLIENT_GONE;

	r = mja_auth_recheck(g->cfg, c->principal, ev->username, ev->password,
			mosquitto_client_id(ev->client), now, &p, &why);
	if (replace_principal(g, ev->client, r, p, &why))
		return MOSQ_ERR_SUCCESS;
	log_refusal(ev->client, "re-check refused", why);
	/* the broker disconnects it; until then it may do nothing */
	if (gone)
		mja_clients_remove(g->clients, ev->client);
	else
		mja_clients_kick(g->clients, ev->client);
	return MOSQ_ERR_AUTH;
}

/* Register an accepted principal; fail closed if we cannot remember it. */
static int accept_client(struct mja_glue *g, struct mosquitto *client, const char *username,
		mja_principal *p)
{
	const char *id = mosquitto_client_id(client);

	if (mja_clients_put(g->clients, client, id,
			mja_auth_acl_username(g->cfg, username), p) != MJA_OK) {
		mja_principal_free(p);
		log_refusal(client, "refused", MJA_ERR_NOMEM);
		return MOSQ_ERR_AUTH;
	}
	/* glue.h: without a username the broker would drop it on SIGHUP */
	if ((!username || !username[0]) && g->cfg->token_field == MJA_TOKEN_FIELD_PASSWORD &&
	    mosquitto_set_username(client, p->sub) != MOSQ_ERR_SUCCESS)
		mja_glue__log_client(MOSQ_LOG_WARNING, client, "cannot set username for",
				"it will be disconnected on SIGHUP");
	{
		char sub[160], line[176];

		mja_glue__printable(p->sub, sub, sizeof(sub));
		snprintf(line, sizeof(line), "sub %s", sub);
		mja_glue__log_client(MOSQ_LOG_DEBUG, client, "accepted", line);
	}
	return MOSQ_ERR_SUCCESS;
}

int mja_glue_auth__basic(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ev = event_data;
	struct mja_glue *g = userdata;
	const mja_client *c = mja_clients_get(g->clients, ev->client);
	int64_t now = g->now();
	mja_principal *p = NULL;
	mja_err why = MJA_OK;
	mja_decision r;

	if (c) {
		if (is_reload_recheck(g, c, now))
			return recheck(g, ev, c, now);
		mja_clients_remove(g->clients, ev->client);   /* stale, address reused */
	}
	r = mja_auth_connect(g->cfg, ev->username, ev->password,
			mosquitto_client_id(ev->client), now, &p, &why);
	if (r == MJA_DEFER)
		return MOSQ_ERR_PLUGIN_DEFER;
	if (r != MJA_ALLOW) {
		log_refusal(ev->client, "refused", why);
		return MOSQ_ERR_AUTH;
	}
	return accept_client(g, ev->client, ev->username, p);
}

int mja_glue_auth__ext_start(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_extended_auth *ev = event_data;
	struct mja_glue *g = userdata;
	const mja_client *c;
	const char *username, *id;
	int64_t now;
	mja_principal *p = NULL;
	mja_err why = MJA_OK;
	mja_decision r;

	if (!ev->auth_method || strcmp(ev->auth_method, MJA_GLUE_AUTH_METHOD) != 0)
		return MOSQ_ERR_PLUGIN_DEFER;
	now = g->now();
	username = mosquitto_client_username(ev->client);
	id = mosquitto_client_id(ev->client);
	c = mja_clients_get(g->clients, ev->client);
	if (c && c->state == MJA_CLIENT_GONE) {
		mja_clients_remove(g->clients, ev->client);   /* stale, address reused */
		c = NULL;
	}
	if (c) {
		/* AUTH 0x19 re-authentication of a session we accepted (spec 4):
		 * same sub, fresh token; its exp replaces the old one */
		if (c->state != MJA_CLIENT_LIVE)
			r = MJA_DENY, why = MJA_ERR_EXPIRED;
		else
			r = mja_auth_reauth(g->cfg, c->principal, (const char *)ev->data_in, ev->data_in_len,
					username, id, now, &p, &why);
		if (replace_principal(g, ev->client, r, p, &why))
			return MOSQ_ERR_SUCCESS;
		log_refusal(ev->client, "re-authentication refused", why);
		mja_clients_kick(g->clients, ev->client);  /* 2.0.11 closes the connection */
		return MOSQ_ERR_AUTH;
	}
	/* CONNECT with authentication method "jwt": the client says it is ours,
	 * so a missing or non-JWT token is refused, never deferred */
	r = mja_auth_token(g->cfg, (const char *)ev->data_in, ev->data_in_len, username, id, now, 1, &p, &why);
	if (r != MJA_ALLOW) {
		log_refusal(ev->client, "refused", why);
		return MOSQ_ERR_AUTH;
	}
	return accept_client(g, ev->client, username, p);
}

int mja_glue_auth__ext_continue(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_extended_auth *ev = event_data;
	struct mja_glue *g = userdata;
	const mja_client *c = mja_clients_get(g->clients, ev->client);

	/* our method is one step: we never return MOSQ_ERR_AUTH_CONTINUE, so a
	 * continuation from one of our clients is a protocol error */
	if (c && c->state != MJA_CLIENT_GONE) {
		log_refusal(ev->client, "refused", MJA_ERR_INVAL);
		return MOSQ_ERR_AUTH;
	}
	return MOSQ_ERR_PLUGIN_DEFER;
}
