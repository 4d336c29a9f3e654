/* plugin.c (glue) - version, init, cleanup and callback registration. */
#include <stdlib.h>

#include "glue.h"

MJA_GLUE_EXPORT int mosquitto_plugin_version(int count, const int *versions)
{
	/* the broker offers {5,4,3,2}; we speak v5 only */
	for (int i = 0; i < count; i++)
		if (versions[i] == 5)
			return 5;
	return -1;
}

static int api_present(void)
{
	return mosquitto_log_printf && mosquitto_client_id && mosquitto_client_address &&
		mosquitto_client_username && mosquitto_client_clean_session &&
		mosquitto_set_username &&
		mosquitto_kick_client_by_clientid &&
		mosquitto_callback_register && mosquitto_callback_unregister &&
		mosquitto_broker_publish;
}

static const struct {
	int event;
	MOSQ_FUNC_generic_callback cb;
	int acl_only;
} callbacks[] = {
	{ MOSQ_EVT_BASIC_AUTH, mja_glue__basic_auth, 0 },
	{ MOSQ_EVT_EXT_AUTH_START, mja_glue__ext_auth_start, 0 },
	{ MOSQ_EVT_EXT_AUTH_CONTINUE, mja_glue__ext_auth_continue, 0 },
	{ MOSQ_EVT_ACL_CHECK, mja_glue__acl_check, 1 },
	{ MOSQ_EVT_DISCONNECT, mja_glue__disconnect, 0 },
	{ MOSQ_EVT_TICK, mja_glue__tick, 0 },
	{ MOSQ_EVT_RELOAD, mja_glue__reload, 0 },
};

#define N_CALLBACKS (sizeof(callbacks) / sizeof(callbacks[0]))

static void unregister_all(struct mja_glue *g, size_t upto)
{
	for (size_t i = 0; i < upto; i++) {
		if (callbacks[i].acl_only && !g->acl_registered)
			continue;
		mosquitto_callback_unregister(g->id, callbacks[i].event, callbacks[i].cb, NULL);
	}
	if (g->line_2_1) {
		mosquitto_callback_unregister(g->id, MJA_GLUE_EVT_CLIENT_OFFLINE,
				mja_glue__client_offline, NULL);
		mosquitto_callback_unregister(g->id, MJA_GLUE_EVT_CONNECT, mja_glue__connect, NULL);
		g->line_2_1 = 0;
	}
}

/* 2.1's CLIENT_OFFLINE and CONNECT; a 2.0 broker does not know them. Sets
 * the session's broker line. MOSQ_ERR_SUCCESS or the error to fail init
 * with (nothing of these two left registered then). */
static int register_2_1(struct mja_glue *g)
{
	int rc = mosquitto_callback_register(g->id, MJA_GLUE_EVT_CLIENT_OFFLINE,
			mja_glue__client_offline, NULL, g);

	if (rc == MOSQ_ERR_NOT_SUPPORTED) {
		mja_session_set_broker(g->session, MJA_BROKER_2_0);
		return MOSQ_ERR_SUCCESS;
	}
	if (rc != MOSQ_ERR_SUCCESS)
		return rc;
	rc = mosquitto_callback_register(g->id, MJA_GLUE_EVT_CONNECT, mja_glue__connect, NULL, g);
	if (rc != MOSQ_ERR_SUCCESS) {
		mosquitto_callback_unregister(g->id, MJA_GLUE_EVT_CLIENT_OFFLINE,
				mja_glue__client_offline, NULL);
		return rc;
	}
	g->line_2_1 = 1;
	mja_session_set_broker(g->session, MJA_BROKER_2_1);
	if (mja_glue__has_client_lookup())
		mja_session_set_probe(g->session, mja_glue__client_held, NULL);
	return MOSQ_ERR_SUCCESS;
}

static void glue_free(struct mja_glue *g)
{
	if (!g)
		return;
	mja_session_free(g->session);
	free(g);
}

/* struct mosquitto_opt -> the library's (key, value) pairs; the strings
 * stay the broker's (valid until cleanup, and only used during parse). */
static mja_err open_session(struct mja_glue *g, struct mosquitto_opt *opts, int n,
		mja_actions *acts)
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
	e = mja_session_open(pairs, (size_t)n, mja_glue__mono_ms(), &g->session, acts);
	free(pairs);
	return e;
}

MJA_GLUE_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *id, void **userdata,
		struct mosquitto_opt *opts, int n)
{
	struct mja_glue *g;
	mja_actions acts;
	mja_err e;
	size_t i;
	int rc;

	if (!api_present())
		return MOSQ_ERR_NOT_SUPPORTED; /* not loaded by a Mosquitto 2 broker */
	g = calloc(1, sizeof(*g));
	if (!g) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "out of memory");
		return MOSQ_ERR_NOMEM;
	}
	g->id = id;
	g->last_stats_ms = mja_glue__mono_ms();
	mja_actions_init(&acts);
	e = open_session(g, opts, n, &acts);
	if (e != MJA_OK) {
		if (acts.n == 0)
			mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX "%s", mja_strerror(e));
		mja_glue__log_actions(&acts);
		mja_actions_free(&acts);
		glue_free(g);
		return e == MJA_ERR_NOMEM ? MOSQ_ERR_NOMEM : MOSQ_ERR_INVAL;
	}
	g->acl_registered = mja_session_wants_acl(g->session);
	for (i = 0; i < N_CALLBACKS; i++) {
		if (callbacks[i].acl_only && !g->acl_registered)
			continue;
		rc = mosquitto_callback_register(id, callbacks[i].event, callbacks[i].cb, NULL, g);
		if (rc != MOSQ_ERR_SUCCESS) {
			mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX
					"cannot register callback for event %d (error %d)",
					callbacks[i].event, rc);
			unregister_all(g, i);
			mja_actions_free(&acts);
			glue_free(g);
			return rc;
		}
	}
	rc = register_2_1(g);
	if (rc != MOSQ_ERR_SUCCESS) {
		mosquitto_log_printf(MOSQ_LOG_ERR, MJA_GLUE_LOG_PREFIX
				"cannot register callback for event %d (error %d)",
				MJA_GLUE_EVT_CLIENT_OFFLINE, rc);
		unregister_all(g, N_CALLBACKS);
		mja_actions_free(&acts);
		glue_free(g);
		return rc;
	}
	mja_glue__log_actions(&acts);
	mja_actions_free(&acts);
	if (mja_session_config(g->session)->stats_per_listener && !mja_glue__has_client_port())
		mosquitto_log_printf(MOSQ_LOG_WARNING, MJA_GLUE_LOG_PREFIX "stats_per_listener: "
				"this broker tells a plugin no listener port (Mosquitto 2.0): the counters "
				"are published without the listener level, to the same topics from every "
				"listener's instance");
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
