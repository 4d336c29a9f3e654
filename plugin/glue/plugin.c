/* plugin.c - version, init, cleanup and callback registration. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glue.h"

MJA_GLUE_EXPORT int mosquitto_plugin_version(int count, const int *versions)
{
	/* the broker offers {5,4,3,2}; we speak v5 only */
	for (int i = 0; i < count; i++)
		if (versions[i] == 5)
			return 5;
	return -1;
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

void mja_glue__printable(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	if (size == 0)
		return;
	if (!s)
		s = "(none)";
	for (; s[i] && i + 1 < size && i < 128; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
}

void mja_glue__log_client(int level, const struct mosquitto *client, const char *what,
		const char *reason)
{
	char id[160], addr[160];

	mja_glue__printable(client ? mosquitto_client_id(client) : NULL, id, sizeof(id));
	mja_glue__printable(client ? mosquitto_client_address(client) : NULL, addr, sizeof(addr));
	mosquitto_log_printf(level, MJA_GLUE_LOG_PREFIX "%s client %s from %s: %s",
			what, id, addr, reason);
}

void mja_glue__kick_expired(struct mja_glue *g, const void *client)
{
	const mja_client *c = mja_clients_get(g->clients, client);
	char *id;

	if (!c || c->state != MJA_CLIENT_LIVE)
		return;
	mja_glue__log_client(MOSQ_LOG_NOTICE, client, "disconnecting",
			mja_strerror(MJA_ERR_EXPIRED));
	id = c->clientid ? strdup(c->clientid) : NULL;
	/* with its will (spec 4); c is not used after this */
	mja_glue__kick(g, client, 1);
	if (id) {
		/* with_will: the will is published as for any other loss (spec 4).
		 * The broker re-checks the client's subscriptions inside the kick:
		 * acl.c lets the rules alone judge those (expiry_kick). */
		g->expiry_kick = client;
		mosquitto_kick_client_by_clientid(id, true);
		g->expiry_kick = NULL;
		free(id);
	}
}

static int api_present(void)
{
	return mosquitto_log_printf && mosquitto_client_id && mosquitto_client_address &&
		mosquitto_client_username && mosquitto_client_clean_session &&
		mosquitto_set_username &&
		mosquitto_kick_client_by_clientid &&
		mosquitto_callback_register && mosquitto_callback_unregister;
}

static const struct {
	int event;
	MOSQ_FUNC_generic_callback cb;
	int acl_only;
} callbacks[] = {
	{ MOSQ_EVT_BASIC_AUTH, mja_glue_auth__basic, 0 },
	{ MOSQ_EVT_EXT_AUTH_START, mja_glue_auth__ext_start, 0 },
	{ MOSQ_EVT_EXT_AUTH_CONTINUE, mja_glue_auth__ext_continue, 0 },
	{ MOSQ_EVT_ACL_CHECK, mja_glue_acl__check, 1 },
	{ MOSQ_EVT_DISCONNECT, mja_glue_life__disconnect, 0 },
	{ MOSQ_EVT_TICK, mja_glue_life__tick, 0 },
	{ MOSQ_EVT_RELOAD, mja_glue_life__reload, 0 },
};

#define N_CALLBACKS (sizeof(callbacks) / sizeof(callbacks[0]))

static void unregister_all(struct mja_glue *g, size_t upto)
{
	for (size_t i = 0; i < upto; i++) {
		if (callbacks[i].acl_only && !g->acl_registered)
			continue;
		mosquitto_callback_unregister(g->id, callbacks[i].event, callbacks[i].cb, NULL);
	}
}

static void glue_free(struct mja_glue *g)
{
	if (!g)
		return;
	mja_clients_free(g->clients);
	mja_config_free(g->cfg);
	free(g);
}

/* struct mosquitto_opt -> the library's (key, value) pairs; the strings
 * stay the broker's (valid until cleanup, and only used during parse). */
static mja_err parse_options(struct mja_glue *g, struct mosquitto_opt *opts, int n,
		mja_diag *d)
{
	mja_config_opt *pairs = NULL;
	mja_err e;

	if (n < 0 || (n > 0 && !opts))
		return MJA_ERR_INVAL;
	if (n > 0) {
		pairs = calloc((size_t)n, sizeof(*pairs));
		if (!pairs)
			return MJA_ERR_NOMEM;
	}
	for (int i = 0; i < n; i++) {
		pairs[i].key = opts[i].key;
		pairs[i].value = opts[i].value;
	}
	e = mja_config_parse(pairs, (size_t)n, &g->cfg, d);
	free(pairs);
	return e;
}

MJA_GLUE_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *id, void **userdata,
		struct mosquitto_opt *opts, int n)
{
	struct mja_glue *g;
	mja_diag d = { { 0 } };
	mja_err e;
	size_t i;

	if (!api_present())
		return MOSQ_ERR_NOT_SUPPORTED; /* not loaded by a Mosquitto 2 broker */
	g = calloc(1, sizeof(*g));
	if (!g) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "out of memory");
		return MOSQ_ERR_NOMEM;
	}
	g->id = id;
	e = parse_options(g, opts, n, &d);
	if (e != MJA_OK) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "configuration error: %s",
				d.text[0] ? d.text : mja_strerror(e));
		glue_free(g);
		return MOSQ_ERR_INVAL;
	}
	g->clients = mja_clients_new();
	if (!g->clients) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "out of memory");
		glue_free(g);
		return MOSQ_ERR_NOMEM;
	}
	/* keys from JWKS URLs: fetched by a thread of our own from now on;
	 * the broker starts even if the first fetch fails */
	e = mja_config_jwks_start(g->cfg, &d);
	if (e != MJA_OK) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "%s",
				d.text[0] ? d.text : mja_strerror(e));
		glue_free(g);
		return MOSQ_ERR_UNKNOWN;
	}
	g->acl_registered = g->cfg->acl_file != NULL;
	g->now = mja_glue__now;
	g->mono_ms = mja_glue__mono_ms;
	g->last_scan_ms = g->init_ms = g->mono_ms();
	for (i = 0; i < N_CALLBACKS; i++) {
		int rc;

		if (callbacks[i].acl_only && !g->acl_registered)
			continue;
		rc = mosquitto_callback_register(id, callbacks[i].event, callbacks[i].cb, NULL, g);
		if (rc != MOSQ_ERR_SUCCESS) {
			mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX
					"cannot register callback for event %d (error %d)",
					callbacks[i].event, rc);
			unregister_all(g, i);
			glue_free(g);
			return rc;
		}
	}
	/* spec 1: no ACL callback without acl_file (registering one would
	 * deny every client that is not ours). Expiry of connected clients is
	 * then enforced on TICK only, and Mosquitto 2.0.11 sends no TICK with
	 * per_listener_settings true (notes), which init cannot see. */
	if (!g->acl_registered)
		mosquitto_log_printf(MOSQ_LOG_WARNING, MJA_GLUE_LOG_PREFIX "no acl_file: the "
				"plugin makes no topic decisions (Mosquitto's behaviour without "
				"ACLs applies to token clients)%s",
				g->cfg->disconnect_on_expiry ? "; connected clients whose token "
				"expires are disconnected only on the broker's TICK, which "
				"Mosquitto 2.0 never sends with per_listener_settings true" : "");
	mosquitto_log_printf(MOSQ_LOG_INFO, MJA_GLUE_LOG_PREFIX "ready: %zu key(s)%s%s",
			mja_keyset_count(g->cfg->files->keys),
			g->acl_registered ? ", ACL loaded" : "",
			g->cfg->jwks ? ", fetching JWKS in the background" : "");
	*userdata = g;
	return MOSQ_ERR_SUCCESS;
}

MJA_GLUE_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *opts, int n)
{
	struct mja_glue *g = userdata;

	if (!g)
		return MOSQ_ERR_SUCCESS;
	unregister_all(g, N_CALLBACKS);
	glue_free(g);
	return MOSQ_ERR_SUCCESS;
}
