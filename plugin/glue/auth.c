/* auth.c (glue) - BASIC_AUTH and MQTT 5 enhanced authentication. */
#include <stdio.h>
#include <string.h>

#include "glue.h"

static void log_refusal(const struct mosquitto *client, const char *what, mja_err why)
{
	mja_glue__log_client(MOSQ_LOG_NOTICE, client, what, mja_strerror(why));
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

/* The broker's re-check of a connection we accepted (spec 4, after
 * SIGHUP): a LIVE or KICKED entry (glue.h). */
static int recheck(struct mja_glue *g, struct mosquitto_evt_basic_auth *ev,
		const mja_client *c, int64_t now)
{
	mja_principal *p = NULL;
	mja_err why = MJA_OK;
	mja_decision r;

	/* KICKED: it is being disconnected and may do nothing any more */
	if (c->state == MJA_CLIENT_KICKED)
		return MOSQ_ERR_AUTH;
	r = mja_auth_recheck(g->cfg, c->principal, ev->username, ev->password,
			mosquitto_client_id(ev->client), now, &p, &why);
	if (replace_principal(g, ev->client, r, p, &why))
		return MOSQ_ERR_SUCCESS;
	log_refusal(ev->client, "re-check refused", why);
	/* the broker disconnects it; until then it may do nothing, and its
	 * will (a write under a token that no longer holds) is denied */
	mja_glue__kick(g, ev->client, 0);
	return MOSQ_ERR_AUTH;
}

/* Register an accepted principal; fail closed if we cannot remember it.
 * username is the broker's string: mosquitto_set_username frees it, so it
 * is not read after that call. */
static int accept_client(struct mja_glue *g, struct mosquitto *client, const char *username,
		mja_principal *p)
{
	const char *id = mosquitto_client_id(client);
	int token_in_username = g->cfg->token_field == MJA_TOKEN_FIELD_USERNAME;
	/* glue.h: the sub replaces a username that is the token, and is given
	 * to a client without one (else the broker drops it on SIGHUP) */
	int give_sub = token_in_username || !username || !username[0];

	if (mja_clients_put(g->clients, client, id, mja_auth_acl_username(g->cfg, username),
			!mosquitto_client_clean_session(client), p) != MJA_OK) {
		mja_principal_free(p);
		log_refusal(client, "refused", MJA_ERR_NOMEM);
		return MOSQ_ERR_AUTH;
	}
	username = NULL;   /* may be freed by mosquitto_set_username below */
	if (give_sub && mosquitto_set_username(client, p->sub) != MOSQ_ERR_SUCCESS) {
		if (token_in_username) {
			/* else Mosquitto would log the token as the username */
			mja_clients_remove(g->clients, client);
			log_refusal(client, "refused", MJA_ERR_NOMEM);
			return MOSQ_ERR_AUTH;
		}
		mja_glue__log_client(MOSQ_LOG_WARNING, client, "cannot set username for",
				"it will be disconnected on SIGHUP");
	}
	{
		char sub[160], line[176];

		mja_glue__printable(p->sub, sub, sizeof(sub));
		snprintf(line, sizeof(line), "sub %s", sub);
		mja_glue__log_client(MOSQ_LOG_DEBUG, client, "accepted", line);
	}
	mja_glue__check_tick(g);
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

	mja_glue__jwks_update(g);   /* a key set fetched since the last TICK */
	if (c) {
		if (c->state != MJA_CLIENT_GONE)
			return recheck(g, ev, c, now);
		/* glue.h: a GONE entry's connection is over; its principal says
		 * nothing about the credentials of this one */
		mja_clients_remove(g->clients, ev->client);
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
	mja_glue__jwks_update(g);   /* a key set fetched since the last TICK */
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
		mja_glue__kick(g, ev->client, 0);   /* 2.0.11 closes the connection */
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
