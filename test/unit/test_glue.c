/* test_glue.c - the Mosquitto glue against a fake broker, with a fixed clock.
 *
 * The glue sources are compiled into this program and the broker's API
 * (weak references in the plugin) is defined here, so that every callback
 * can be driven the way Mosquitto 2.0.11 drives it (docs: plugin notes):
 * return codes, log lines that never contain the token, the expiry kick
 * that re-enters the plugin (subscription re-check, DISCONNECT, then the
 * will's WRITE check), per-listener instances, reload that keeps the old
 * set, re-check of enhanced-auth clients, and re-authentication. */
#include "plugin_fixture.h"

#include "../../plugin/glue/plugin.c"
#include "../../plugin/glue/auth.c"
#include "../../plugin/glue/acl.c"
#include "../../plugin/glue/life.c"

/* ---- the fake broker ---- */

struct mosquitto {
	const char *id;
	const char *address;
	char *username;
	const char *will_topic;   /* checked (WRITE) after DISCONNECT when kicked */
	int durable;              /* clean session false */
};

static struct reg {
	mosquitto_plugin_id_t *pid;
	int event;
	MOSQ_FUNC_generic_callback cb;
	void *userdata;
} regs[32];
static size_t n_regs;
static char logbuf[16384];
static struct mosquitto *known[8];   /* clients the fake can kick by id */
static int kicks, kick_will, will_result, resub_result;

int mosquitto_callback_register(mosquitto_plugin_id_t *pid, int event,
		MOSQ_FUNC_generic_callback cb, const void *event_data, void *userdata)
{
	for (size_t i = 0; i < n_regs; i++)
		if (regs[i].pid == pid && regs[i].event == event && regs[i].cb == cb)
			return MOSQ_ERR_ALREADY_EXISTS;
	assert_true(n_regs < 32);
	regs[n_regs++] = (struct reg){ pid, event, cb, userdata };
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_callback_unregister(mosquitto_plugin_id_t *pid, int event,
		MOSQ_FUNC_generic_callback cb, const void *event_data)
{
	for (size_t i = 0; i < n_regs; i++) {
		if (regs[i].pid == pid && regs[i].event == event && regs[i].cb == cb) {
			regs[i] = regs[--n_regs];
			return MOSQ_ERR_SUCCESS;
		}
	}
	return MOSQ_ERR_NOT_FOUND;
}

void mosquitto_log_printf(int level, const char *fmt, ...)
{
	size_t used = strlen(logbuf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(logbuf + used, sizeof(logbuf) - used, fmt, ap);
	va_end(ap);
	used = strlen(logbuf);
	if (used + 1 < sizeof(logbuf))
		strcat(logbuf, "\n");
}

const char *mosquitto_client_id(const struct mosquitto *c) { return c->id; }
const char *mosquitto_client_address(const struct mosquitto *c) { return c->address; }
const char *mosquitto_client_username(const struct mosquitto *c) { return c->username; }
bool mosquitto_client_clean_session(const struct mosquitto *c) { return !c->durable; }

int mosquitto_set_username(struct mosquitto *c, const char *username)
{
	free(c->username);
	c->username = username ? strdup(username) : NULL;
	return MOSQ_ERR_SUCCESS;
}

/* Retained publishes, "topic=payload\n" each; the payload is taken over
 * on success, as mosquitto_broker.h says. */
static char pubbuf[8192];
static int publish_fail;

int mosquitto_broker_publish(const char *clientid, const char *topic, int payloadlen,
		void *payload, int qos, bool retain, mosquitto_property *properties)
{
	size_t used = strlen(pubbuf);

	if (publish_fail)
		return MOSQ_ERR_NOMEM;
	assert_null(clientid);
	assert_true(retain);
	assert_int_equal(qos, 0);
	snprintf(pubbuf + used, sizeof(pubbuf) - used, "%s=%.*s\n", topic, payloadlen,
			(const char *)payload);
	free(payload);
	return MOSQ_ERR_SUCCESS;
}

/* Dispatch like the broker: registration order, first non-DEFER wins. */
static int fire(mosquitto_plugin_id_t *pid, int event, void *data)
{
	for (size_t i = 0; i < n_regs; i++) {
		if (regs[i].pid != pid || regs[i].event != event)
			continue;
		int rc = regs[i].cb(event, data, regs[i].userdata);

		if (rc != MOSQ_ERR_PLUGIN_DEFER)
			return rc;
	}
	return MOSQ_ERR_PLUGIN_DEFER;
}

static int registered(mosquitto_plugin_id_t *pid, int event)
{
	for (size_t i = 0; i < n_regs; i++)
		if (regs[i].pid == pid && regs[i].event == event)
			return 1;
	return 0;
}

static mosquitto_plugin_id_t *kick_pid;

static int acl(mosquitto_plugin_id_t *pid, struct mosquitto *c, const char *topic, int access)
{
	struct mosquitto_evt_acl_check ev = { .client = c, .topic = topic, .access = access };

	return fire(pid, MOSQ_EVT_ACL_CHECK, &ev);
}

static void disconnect(mosquitto_plugin_id_t *pid, struct mosquitto *c)
{
	struct mosquitto_evt_disconnect ev = { .client = c, .reason = -1 };

	fire(pid, MOSQ_EVT_DISCONNECT, &ev);
}

/* As Debian's 2.0.11: re-check a subscription, disconnect, then send the
 * will (WRITE check after the DISCONNECT event). */
int mosquitto_kick_client_by_clientid(const char *clientid, bool with_will)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct mosquitto *c = known[i];

		if (!c || !c->id || strcmp(c->id, clientid) != 0)
			continue;
		kicks++;
		kick_will = with_will;
		resub_result = acl(kick_pid, c, "devices/dev1/#", MOSQ_ACL_SUBSCRIBE);
		disconnect(kick_pid, c);
		if (with_will && c->will_topic)
			will_result = acl(kick_pid, c, c->will_topic, MOSQ_ACL_WRITE);
		return MOSQ_ERR_SUCCESS;
	}
	return MOSQ_ERR_NOT_FOUND;
}

/* ---- helpers ---- */

static int64_t fake_now = FX_NOW;
static int64_t fake_ms = 1000000;
static int64_t now_fn(void) { return fake_now; }
static int64_t ms_fn(void) { return fake_ms; }

static char pid1, pid2;
#define PID1 ((mosquitto_plugin_id_t *)&pid1)
#define PID2 ((mosquitto_plugin_id_t *)&pid2)

static const char *secret_path, *acl_path;

/* What the fake broker saw; the clock back at its start. */
static void reset_fake(void)
{
	logbuf[0] = '\0';
	pubbuf[0] = '\0';
	publish_fail = 0;
	memset(known, 0, sizeof(known));
	kicks = kick_will = 0;
	will_result = resub_result = -100;
	fake_now = FX_NOW;
	fake_ms = 1000000;
}

static int setup(void **state)
{
	fx_setup_dir();
	secret_path = fx_write_str("hs.secret", FX_SECRET "\n");
	acl_path = fx_write_str("acl.conf", "pattern readwrite devices/%s/#\n");
	n_regs = 0;
	reset_fake();
	return 0;
}

static int teardown(void **state)
{
	fx_cleanup_dir();
	return 0;
}

/* Init one instance with the secret, the ACL (unless no_acl) and extra
 * "key value" options; the glue's clocks become the fake ones. */
static struct mja_glue *init(mosquitto_plugin_id_t *pid, int no_acl, const char *extra)
{
	struct mosquitto_opt opts[4];
	char keys[4][32], vals[4][256];
	int n = 0;
	void *ud = NULL;

	snprintf(keys[n], sizeof(keys[n]), "secret_file");
	snprintf(vals[n], sizeof(vals[n]), "%s", secret_path);
	n++;
	if (!no_acl) {
		snprintf(keys[n], sizeof(keys[n]), "acl_file");
		snprintf(vals[n], sizeof(vals[n]), "%s", acl_path);
		n++;
	}
	snprintf(keys[n], sizeof(keys[n]), "leeway");
	snprintf(vals[n], sizeof(vals[n]), "0");
	n++;
	if (extra) {
		const char *sp = strchr(extra, ' ');

		snprintf(keys[n], sizeof(keys[n]), "%.*s", (int)(sp - extra), extra);
		snprintf(vals[n], sizeof(vals[n]), "%s", sp + 1);
		n++;
	}
	for (int i = 0; i < n; i++) {
		opts[i].key = keys[i];
		opts[i].value = vals[i];
	}
	assert_int_equal(mosquitto_plugin_init(pid, &ud, opts, n), MOSQ_ERR_SUCCESS);
	assert_non_null(ud);
	((struct mja_glue *)ud)->now = now_fn;
	((struct mja_glue *)ud)->mono_ms = ms_fn;
	((struct mja_glue *)ud)->last_scan_ms = fake_ms;
	((struct mja_glue *)ud)->init_ms = fake_ms;
	return ud;
}

static int basic(mosquitto_plugin_id_t *pid, struct mosquitto *c, const char *user,
		const char *pass)
{
	struct mosquitto_evt_basic_auth ev = { .client = c, .username = (char *)user,
		.password = (char *)pass };

	return fire(pid, MOSQ_EVT_BASIC_AUTH, &ev);
}

static int ext(mosquitto_plugin_id_t *pid, struct mosquitto *c, const char *method,
		const char *tok)
{
	struct mosquitto_evt_extended_auth ev = { .client = c, .auth_method = method,
		.data_in = tok, .data_in_len = (uint16_t)(tok ? strlen(tok) : 0) };

	return fire(pid, MOSQ_EVT_EXT_AUTH_START, &ev);
}

static void tick(mosquitto_plugin_id_t *pid)
{
	struct mosquitto_evt_tick ev = { 0 };

	fire(pid, MOSQ_EVT_TICK, &ev);
}

static char *tok_for(const char *secret, const char *sub, int64_t ttl)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"sub\":\"%s\",\"exp\":%lld}", sub,
			(long long)(fake_now + ttl));
	return fx_token(secret, json);
}

/* The log never holds the token or its signature. */
static void assert_log_clean(const char *tok)
{
	const char *sig = strrchr(tok, '.') + 1;

	assert_null(strstr(logbuf, tok));
	assert_null(strstr(logbuf, sig));
}

/* ---- tests ---- */

static void test_version_and_bad_init(void **state)
{
	static const int offered[] = { 5, 4, 3, 2 }, old[] = { 4, 3 };
	struct mosquitto_opt bad[] = { { "secret_file", (char *)secret_path }, { "leway", "3" } };
	struct mosquitto_opt none[] = { { "leeway", "3" } };
	void *ud = NULL;

	assert_int_equal(mosquitto_plugin_version(4, offered), 5);
	assert_int_equal(mosquitto_plugin_version(2, old), -1);
	assert_int_not_equal(mosquitto_plugin_init(PID1, &ud, bad, 2), MOSQ_ERR_SUCCESS);
	assert_non_null(strstr(logbuf, "jwt-auth: configuration error: option leway: unknown option"));
	assert_int_not_equal(mosquitto_plugin_init(PID1, &ud, none, 1), MOSQ_ERR_SUCCESS);
	assert_non_null(strstr(logbuf, "key_file"));
	assert_null(ud);
	assert_int_equal(n_regs, 0);   /* nothing left registered */
}

static void test_registration(void **state)
{
	struct mja_glue *g = init(PID1, 1, NULL);

	assert_true(registered(PID1, MOSQ_EVT_BASIC_AUTH));
	assert_true(registered(PID1, MOSQ_EVT_EXT_AUTH_START));
	assert_true(registered(PID1, MOSQ_EVT_EXT_AUTH_CONTINUE));
	assert_true(registered(PID1, MOSQ_EVT_DISCONNECT));
	assert_true(registered(PID1, MOSQ_EVT_TICK));
	assert_true(registered(PID1, MOSQ_EVT_RELOAD));
	/* spec 1: without acl_file no ACL callback, and a warning */
	assert_false(registered(PID1, MOSQ_EVT_ACL_CHECK));
	assert_non_null(strstr(logbuf, "jwt-auth: no acl_file"));
	/* and that expiry then depends on TICK (none with per_listener_settings) */
	assert_non_null(strstr(logbuf, "disconnected only on the broker's TICK, which "
			"Mosquitto 2.0 never sends with per_listener_settings true"));
	mosquitto_plugin_cleanup(g, NULL, 0);
	assert_int_equal(n_regs, 0);

	g = init(PID1, 0, NULL);
	assert_true(registered(PID1, MOSQ_EVT_ACL_CHECK));
	mosquitto_plugin_cleanup(g, NULL, 0);
	assert_int_equal(n_regs, 0);
}

static void test_basic_auth_codes_and_log(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto c = { .id = "cid-1", .address = "192.0.2.7" };
	char *good = tok_for(FX_SECRET, "dev1", 60);
	char *forged = tok_for(FX_SECRET2, "dev1", 60);

	assert_int_equal(basic(PID1, &c, "u", forged), MOSQ_ERR_AUTH);
	assert_non_null(strstr(logbuf, "jwt-auth: refused client cid-1 from 192.0.2.7: bad signature"));
	assert_log_clean(forged);
	assert_null(mja_clients_get(g->clients, &c));
	/* the refused CONNECT's DISCONNECT (client id NULL) is harmless */
	c.id = NULL;
	disconnect(PID1, &c);
	c.id = "cid-1";

	assert_int_equal(basic(PID1, &c, "u", "hunter2"), MOSQ_ERR_PLUGIN_DEFER);
	assert_int_equal(basic(PID1, &c, NULL, NULL), MOSQ_ERR_PLUGIN_DEFER);
	/* a client that is not ours is left to others for ACL too */
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_PLUGIN_DEFER);

	assert_int_equal(basic(PID1, &c, "u", good), MOSQ_ERR_SUCCESS);
	assert_non_null(mja_clients_get(g->clients, &c));
	assert_null(c.username);   /* it sent one: not replaced */
	assert_log_clean(good);
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	/* exactly MOSQ_ERR_ACL_DENIED: anything else would disconnect */
	assert_int_equal(acl(PID1, &c, "devices/dev2/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(acl(PID1, &c, "devices/dev2/#", MOSQ_ACL_SUBSCRIBE), MOSQ_ERR_ACL_DENIED);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(good);
	free(forged);
}

/* MQTT 5 password without username: given the sub as username, so the
 * broker's SIGHUP re-check does not drop it as anonymous. */
static void test_username_given_to_usernameless(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto c = { .id = "c", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 60);

	assert_int_equal(basic(PID1, &c, NULL, tok), MOSQ_ERR_SUCCESS);
	assert_non_null(c.username);
	assert_string_equal(c.username, "dev1");
	/* %u still stands for what the client sent: nothing */
	assert_null(mja_clients_get(g->clients, &c)->username);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(c.username);
	free(tok);
}

static void test_expiry_on_tick_kicks_with_will(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto c = { .id = "dev1", .address = "a", .will_topic = "devices/dev1/will" };
	struct mosquitto other = { .id = "dev2", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 10);
	char *tok2 = tok_for(FX_SECRET, "dev2", 100);

	kick_pid = PID1;
	known[0] = &c;
	known[1] = &other;
	assert_int_equal(basic(PID1, &c, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &other, "u", tok2), MOSQ_ERR_SUCCESS);
	fake_now += 9;
	fake_ms += 5000;
	tick(PID1);
	assert_int_equal(kicks, 0);
	/* exp reached, but the tick is rate-limited to once a second */
	fake_now += 1;
	fake_ms += 500;
	tick(PID1);
	assert_int_equal(kicks, 0);
	fake_ms += 500;
	tick(PID1);
	assert_int_equal(kicks, 1);
	assert_true(kick_will);
	/* inside the kick: the subscription re-check is judged by the rules
	 * alone (a durable session keeps its subscriptions; deliveries stay
	 * denied while the token is expired), the DISCONNECT is taken, and the
	 * will is allowed by the rules despite expiry */
	assert_int_equal(resub_result, MOSQ_ERR_SUCCESS);
	assert_int_equal(will_result, MOSQ_ERR_SUCCESS);
	assert_int_equal(mja_clients_get(g->clients, &c)->state, MJA_CLIENT_GONE);
	assert_non_null(strstr(logbuf, "jwt-auth: disconnecting client dev1 from a: expired"));
	/* the other client is untouched and the kick is not repeated */
	fake_ms += 1000;
	tick(PID1);
	assert_int_equal(kicks, 1);
	assert_int_equal(acl(PID1, &other, "devices/dev2/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	/* a will to a topic the rules deny stays denied */
	assert_int_equal(acl(PID1, &c, "devices/dev2/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	/* the gone entry is forgotten after the grace period */
	fake_now += MJA_GLUE_GONE_GRACE;
	fake_ms += 1000;
	tick(PID1);
	assert_null(mja_clients_get(g->clients, &c));
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(tok);
	free(tok2);
}

/* per_listener_settings: no TICK; the first ACL check after expiry denies
 * and kicks. */
static void test_expiry_on_acl_check(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto c = { .id = "dev1", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 10);

	kick_pid = PID1;
	known[0] = &c;
	assert_int_equal(basic(PID1, &c, "u", tok), MOSQ_ERR_SUCCESS);
	fake_now += 9;
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	fake_now += 1;
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(kicks, 1);
	assert_int_equal(resub_result, MOSQ_ERR_SUCCESS);
	/* after the kick: nothing for this connection any more */
	assert_int_equal(acl(PID1, &c, "devices/dev1/#", MOSQ_ACL_SUBSCRIBE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_READ), MOSQ_ERR_ACL_DENIED);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(tok);

	/* disconnect_on_expiry false: denied, never kicked */
	reset_fake();
	g = init(PID1, 0, "disconnect_on_expiry false");
	tok = tok_for(FX_SECRET, "dev1", 10);
	known[0] = &c;
	assert_int_equal(basic(PID1, &c, "u", tok), MOSQ_ERR_SUCCESS);
	fake_now += 10;
	fake_ms += 2000;
	tick(PID1);
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(kicks, 0);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(tok);
}

static void test_takeover_disconnect_twice(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto old = { .id = "dev1", .address = "a" }, fresh = { .id = "dev1", .address = "b" };
	char *tok = tok_for(FX_SECRET, "dev1", 100);

	assert_int_equal(basic(PID1, &old, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &fresh, "u", tok), MOSQ_ERR_SUCCESS);
	disconnect(PID1, &old);
	disconnect(PID1, &old);
	assert_null(mja_clients_get(g->clients, &old));
	assert_int_equal(mja_clients_get(g->clients, &fresh)->state, MJA_CLIENT_LIVE);
	assert_int_equal(acl(PID1, &fresh, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(tok);
}

static void test_enhanced_auth_and_reauth(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto c = { .id = "dev1", .address = "a" };
	char *first = tok_for(FX_SECRET, "dev1", 10);
	char *fresh = tok_for(FX_SECRET, "dev1", 3600);
	char *other = tok_for(FX_SECRET, "dev2", 3600);
	char *forged = tok_for(FX_SECRET2, "dev1", 3600);
	struct mosquitto_evt_extended_auth cont = { .client = &c };

	assert_int_equal(ext(PID1, &c, "SCRAM-SHA-1", first), MOSQ_ERR_PLUGIN_DEFER);
	assert_int_equal(fire(PID1, MOSQ_EVT_EXT_AUTH_CONTINUE, &cont), MOSQ_ERR_PLUGIN_DEFER);
	/* method jwt: ours, so a non-JWT is refused, not deferred */
	assert_int_equal(ext(PID1, &c, "jwt", "hunter2"), MOSQ_ERR_AUTH);
	assert_int_equal(ext(PID1, &c, "jwt", NULL), MOSQ_ERR_AUTH);
	assert_int_equal(ext(PID1, &c, "jwt", forged), MOSQ_ERR_AUTH);
	assert_int_equal(ext(PID1, &c, "jwt", first), MOSQ_ERR_SUCCESS);
	assert_string_equal(c.username, "dev1");
	assert_int_equal(mja_clients_get(g->clients, &c)->principal->exp, fake_now + 10);
	/* a continuation from our client is refused */
	assert_int_equal(fire(PID1, MOSQ_EVT_EXT_AUTH_CONTINUE, &cont), MOSQ_ERR_AUTH);

	/* re-auth (EXT_AUTH_START again) with the same sub: the new exp
	 * replaces the old one */
	kick_pid = PID1;
	known[0] = &c;
	assert_int_equal(ext(PID1, &c, "jwt", fresh), MOSQ_ERR_SUCCESS);
	assert_int_equal(mja_clients_get(g->clients, &c)->principal->exp, fake_now + 3600);
	fake_now += 20;
	fake_ms += 2000;
	tick(PID1);
	assert_int_equal(kicks, 0);   /* rescheduled */
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	/* another sub: refused, and the session may do nothing more */
	assert_int_equal(ext(PID1, &c, "jwt", other), MOSQ_ERR_AUTH);
	assert_non_null(strstr(logbuf, "re-authentication with a different sub"));
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	assert_log_clean(other);
	assert_log_clean(fresh);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(c.username);
	free(first);
	free(fresh);
	free(other);
	free(forged);
}

static int reload(mosquitto_plugin_id_t *pid)
{
	struct mosquitto_evt_reload ev = { 0 };

	return fire(pid, MOSQ_EVT_RELOAD, &ev);
}

/* SIGHUP: broken files keep the old set (and RELOAD still succeeds); a
 * rotation refuses the old tokens at the broker's BASIC_AUTH re-check, for
 * basic clients (password again) and enhanced ones (password NULL). */
static void test_reload_and_recheck(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto b = { .id = "b", .address = "a" }, e = { .id = "e", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 100);
	char *tok2 = tok_for(FX_SECRET2, "dev1", 100);
	const mja_config_files *before = g->cfg->files;

	assert_int_equal(basic(PID1, &b, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(ext(PID1, &e, "jwt", tok), MOSQ_ERR_SUCCESS);

	fx_write_str("acl.conf", "pattern readwrite devices/%s/#\nbroken line\n");
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	assert_ptr_equal(g->cfg->files, before);
	assert_non_null(strstr(logbuf, "jwt-auth: reload failed, the previous keys and ACL stay in force"));
	assert_int_equal(basic(PID1, &b, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &e, e.username, NULL), MOSQ_ERR_SUCCESS);

	/* rotate the secret */
	fx_write_str("acl.conf", "pattern readwrite devices/%s/#\n");
	fx_write_str("hs.secret", FX_SECRET2);
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	assert_ptr_not_equal(g->cfg->files, before);
	assert_int_equal(basic(PID1, &b, "u", tok), MOSQ_ERR_AUTH);
	assert_int_equal(basic(PID1, &e, e.username, NULL), MOSQ_ERR_AUTH);
	assert_non_null(strstr(logbuf, "jwt-auth: re-check refused client e from a: bad signature"));
	/* until the broker disconnects them they may do nothing */
	assert_int_equal(acl(PID1, &b, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	/* new tokens with the new secret work */
	{
		struct mosquitto n = { .id = "n", .address = "a" };

		assert_int_equal(basic(PID1, &n, "u", tok2), MOSQ_ERR_SUCCESS);
		assert_int_equal(acl(PID1, &n, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	}
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(e.username);
	free(tok);
	free(tok2);
}

/* Review finding (HIGH): after SIGHUP a BASIC_AUTH on a disconnected
 * (GONE) client's address is a new connection reusing the freed
 * `struct mosquitto`, never the re-check of the old one: it must not log in
 * with the old client's stored token, and a valid token of another sub
 * must not be refused as "a different sub". */
static void test_gone_address_decided_afresh(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto c = { .id = "alice-dev", .address = "a" };
	char *alice = tok_for(FX_SECRET, "alice", 300);
	char *bob = tok_for(FX_SECRET, "bob", 300);
	const mja_client *e;

	/* enhanced-auth alice, SIGHUP, alice goes; mallory gets her address */
	assert_int_equal(ext(PID1, &c, "jwt", alice), MOSQ_ERR_SUCCESS);
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	disconnect(PID1, &c);
	c.id = "mallory";
	assert_int_equal(basic(PID1, &c, "x", "not-a-jwt"), MOSQ_ERR_PLUGIN_DEFER);
	assert_null(mja_clients_get(g->clients, &c));
	assert_int_equal(acl(PID1, &c, "devices/alice/cmd", MOSQ_ACL_WRITE), MOSQ_ERR_PLUGIN_DEFER);
	/* the same with no credentials at all, and a second later */
	assert_int_equal(ext(PID1, &c, "jwt", alice), MOSQ_ERR_SUCCESS);
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	disconnect(PID1, &c);
	fake_now += 1;
	assert_int_equal(basic(PID1, &c, NULL, NULL), MOSQ_ERR_PLUGIN_DEFER);
	assert_null(mja_clients_get(g->clients, &c));

	/* password alice, SIGHUP, alice goes; bob (valid) gets her address */
	free(c.username);
	c.username = NULL;
	c.id = "alice-dev";
	assert_int_equal(basic(PID1, &c, "x", alice), MOSQ_ERR_SUCCESS);
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	disconnect(PID1, &c);
	c.id = "bob-dev";
	assert_int_equal(basic(PID1, &c, "x", bob), MOSQ_ERR_SUCCESS);
	e = mja_clients_get(g->clients, &c);
	assert_non_null(e);
	assert_string_equal(e->principal->sub, "bob");
	assert_int_equal(e->state, MJA_CLIENT_LIVE);
	assert_null(strstr(logbuf, "different sub"));
	assert_int_equal(acl(PID1, &c, "devices/bob/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	assert_int_equal(acl(PID1, &c, "devices/alice/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	/* a LIVE client's BASIC_AUTH is still the re-check: another sub is
	 * refused and the session may do nothing more */
	assert_int_equal(basic(PID1, &c, "x", alice), MOSQ_ERR_AUTH);
	assert_non_null(strstr(logbuf, "re-check refused client bob-dev from a: "
			"re-authentication with a different sub"));
	assert_int_equal(acl(PID1, &c, "devices/bob/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	/* ... and a KICKED one's is refused: it is being disconnected */
	assert_int_equal(basic(PID1, &c, "x", bob), MOSQ_ERR_AUTH);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(c.username);
	free(alice);
	free(bob);
}

/* The SIGHUP re-check of offline durable sessions: decided afresh from
 * the stored password; an enhanced-auth one has none: not accepted. */
static void test_reload_offline_durable(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto b = { .id = "b", .address = "a", .durable = 1 };
	struct mosquitto e = { .id = "e", .address = "a", .durable = 1 };
	char *tok = tok_for(FX_SECRET, "dev1", 300);

	assert_int_equal(basic(PID1, &b, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(ext(PID1, &e, "jwt", tok), MOSQ_ERR_SUCCESS);
	disconnect(PID1, &b);
	disconnect(PID1, &e);
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &b, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(mja_clients_get(g->clients, &b)->principal->exp, fake_now + 300);
	assert_int_not_equal(basic(PID1, &e, e.username, NULL), MOSQ_ERR_SUCCESS);
	assert_null(mja_clients_get(g->clients, &e));
	/* the re-decided session expires offline: the kick fires no
	 * DISCONNECT (the broker has none to send), the entry is swept later */
	kick_pid = PID1;
	fake_now += 300;
	fake_ms += 2000;
	tick(PID1);
	assert_int_equal(mja_clients_get(g->clients, &b)->state, MJA_CLIENT_KICKED);
	fake_now += MJA_GLUE_GONE_GRACE;
	fake_ms += 2000;
	tick(PID1);
	assert_null(mja_clients_get(g->clients, &b));
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(e.username);
	free(tok);
}

/* Review finding (MEDIUM): a durable session's entry is kept while it is
 * offline (READ checks of its queued messages) until its token's exp +
 * leeway; a clean session's only for the grace (its will). */
static void test_durable_kept_offline(void **state)
{
	struct mja_glue *g = init(PID1, 0, NULL);
	struct mosquitto d = { .id = "d", .address = "a", .durable = 1 };
	struct mosquitto n = { .id = "n", .address = "a" };
	struct mosquitto x = { .id = "x", .address = "a", .durable = 1 };
	char *tok = tok_for(FX_SECRET, "dev1", 3600);
	char *noexp = fx_token(FX_SECRET, "{\"sub\":\"dev1\"}");
	struct mja_glue *h;

	assert_int_equal(basic(PID1, &d, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &n, "u", tok), MOSQ_ERR_SUCCESS);
	disconnect(PID1, &d);
	disconnect(PID1, &n);
	fake_now += MJA_GLUE_GONE_GRACE + 10;
	fake_ms += 2000;
	tick(PID1);
	assert_int_equal(acl(PID1, &d, "devices/dev1/inbox", MOSQ_ACL_READ), MOSQ_ERR_SUCCESS);
	assert_null(mja_clients_get(g->clients, &n));
	/* at exp + leeway (0 here) READ is denied, and the entry then goes */
	fake_now = FX_NOW + 3599;
	assert_int_equal(acl(PID1, &d, "devices/dev1/inbox", MOSQ_ACL_READ), MOSQ_ERR_SUCCESS);
	fake_ms += 2000;
	tick(PID1);
	assert_non_null(mja_clients_get(g->clients, &d));
	fake_now = FX_NOW + 3600;
	assert_int_equal(acl(PID1, &d, "devices/dev1/inbox", MOSQ_ACL_READ), MOSQ_ERR_ACL_DENIED);
	fake_ms += 2000;
	tick(PID1);
	assert_null(mja_clients_get(g->clients, &d));
	assert_int_equal(kicks, 0);
	mosquitto_plugin_cleanup(g, NULL, 0);

	/* no exp: kept at most MJA_GLUE_DURABLE_MAX */
	reset_fake();
	h = init(PID1, 0, "require_claims sub");
	assert_int_equal(basic(PID1, &x, "u", noexp), MOSQ_ERR_SUCCESS);
	disconnect(PID1, &x);
	fake_now += MJA_GLUE_DURABLE_MAX - 1;
	fake_ms += 2000;
	tick(PID1);
	assert_int_equal(acl(PID1, &x, "devices/dev1/inbox", MOSQ_ACL_READ), MOSQ_ERR_SUCCESS);
	fake_now += 1;
	fake_ms += 2000;
	tick(PID1);
	assert_null(mja_clients_get(h->clients, &x));
	mosquitto_plugin_cleanup(h, NULL, 0);
	free(tok);
	free(noexp);
}

/* Review finding (MEDIUM): token_field username puts the token where
 * Mosquitto logs the username; an accepted client's username becomes its
 * sub, and the kept token still serves the SIGHUP re-check. The event's
 * username is the client's own string (as in the broker), freed by
 * mosquitto_set_username: ASan catches any read after it. */
static void test_token_field_username(void **state)
{
	struct mja_glue *g = init(PID1, 0, "token_field username");
	struct mosquitto c = { .id = "c", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 300);
	char *forged = tok_for(FX_SECRET2, "dev1", 300);

	c.username = strdup(forged);
	assert_int_equal(basic(PID1, &c, c.username, NULL), MOSQ_ERR_AUTH);
	assert_log_clean(forged);
	free(c.username);
	c.username = strdup(tok);
	assert_int_equal(basic(PID1, &c, c.username, NULL), MOSQ_ERR_SUCCESS);
	assert_string_equal(c.username, "dev1");
	assert_log_clean(tok);
	assert_non_null(mja_clients_get(g->clients, &c)->principal->token);
	/* %u matches nothing in this mode */
	assert_null(mja_clients_get(g->clients, &c)->username);
	assert_int_equal(acl(PID1, &c, "devices/dev1/x", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	/* SIGHUP: the broker re-checks with username "dev1": the kept token
	 * is verified with the current keys */
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &c, c.username, NULL), MOSQ_ERR_SUCCESS);
	fx_write_str("hs.secret", FX_SECRET2);
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &c, c.username, NULL), MOSQ_ERR_AUTH);
	assert_log_clean(tok);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(c.username);
	free(tok);
	free(forged);
}

/* Review finding: a will is a write by its client (spec 3). Denied when
 * the token had expired when the client went (disconnect_on_expiry
 * false, or before the tick noticed) or was refused by a re-check; the
 * expiry kick keeps it (spec 4: "as for any other loss", see
 * test_expiry_on_tick_kicks_with_will); a valid client's will goes. */
static void test_will_of_expired_or_refused(void **state)
{
	struct mja_glue *g = init(PID1, 0, "disconnect_on_expiry false");
	struct mosquitto c = { .id = "dev1", .address = "a" };
	struct mosquitto v = { .id = "v", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 10);

	assert_int_equal(basic(PID1, &c, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &v, "u", tok), MOSQ_ERR_SUCCESS);
	fake_now += 9;
	disconnect(PID1, &v);
	assert_int_equal(acl(PID1, &v, "devices/dev1/will", MOSQ_ACL_WRITE), MOSQ_ERR_SUCCESS);
	fake_now += 1;
	fake_ms += 2000;
	tick(PID1);
	disconnect(PID1, &c);
	assert_int_equal(acl(PID1, &c, "devices/dev1/will", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(kicks, 0);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(tok);

	/* refused by the SIGHUP re-check (key rotated): its will is denied */
	reset_fake();
	g = init(PID1, 0, NULL);
	tok = tok_for(FX_SECRET, "dev1", 300);
	assert_int_equal(basic(PID1, &c, "u", tok), MOSQ_ERR_SUCCESS);
	fx_write_str("hs.secret", FX_SECRET2);
	assert_int_equal(reload(PID1), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &c, "u", tok), MOSQ_ERR_AUTH);
	disconnect(PID1, &c);
	assert_int_equal(acl(PID1, &c, "devices/dev1/will", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(tok);
}

/* No acl_file and no TICK (per_listener_settings true in 2.0.11): nothing
 * disconnects expired clients. Init cannot see that setting; the first
 * client accepted a while after init without any TICK logs it, once. */
static void test_no_tick_warning(void **state)
{
	static const char warn[] = "jwt-auth: the broker sends no TICK";
	struct mja_glue *g = init(PID1, 1, NULL);
	struct mosquitto a = { .id = "a", .address = "x" }, b = { .id = "b", .address = "x" };
	char *tok = tok_for(FX_SECRET, "dev1", 300);

	assert_int_equal(basic(PID1, &a, "u", tok), MOSQ_ERR_SUCCESS);
	assert_null(strstr(logbuf, warn));   /* too early to tell */
	fake_ms += MJA_GLUE_NO_TICK_MS;
	assert_int_equal(basic(PID1, &b, "u", tok), MOSQ_ERR_SUCCESS);
	assert_non_null(strstr(logbuf, warn));
	assert_non_null(strstr(logbuf, "not disconnected"));
	logbuf[0] = '\0';
	assert_int_equal(basic(PID1, &a, "u", tok), MOSQ_ERR_SUCCESS);
	assert_null(strstr(logbuf, warn));   /* once */
	mosquitto_plugin_cleanup(g, NULL, 0);

	/* with TICK, or with acl_file (expiry on ACL checks): no warning */
	reset_fake();
	g = init(PID1, 1, NULL);
	tick(PID1);
	fake_ms += MJA_GLUE_NO_TICK_MS;
	assert_int_equal(basic(PID1, &a, "u", tok), MOSQ_ERR_SUCCESS);
	mosquitto_plugin_cleanup(g, NULL, 0);
	g = init(PID1, 0, NULL);
	fake_ms += MJA_GLUE_NO_TICK_MS;
	assert_int_equal(basic(PID1, &a, "u", tok), MOSQ_ERR_SUCCESS);
	assert_null(strstr(logbuf, warn));
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(tok);
}

/* per_listener_settings: two instances, own options and clients. */
static void test_two_instances(void **state)
{
	struct mja_glue *g1 = init(PID1, 0, NULL);
	struct mja_glue *g2 = init(PID2, 0, "clientid_match sub");
	struct mosquitto c = { .id = "someone", .address = "a" };
	char *tok = tok_for(FX_SECRET, "dev1", 100);

	assert_ptr_not_equal(g1, g2);
	assert_int_equal(basic(PID1, &c, "u", tok), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID2, &c, "u", tok), MOSQ_ERR_AUTH);
	assert_non_null(mja_clients_get(g1->clients, &c));
	assert_null(mja_clients_get(g2->clients, &c));
	mosquitto_plugin_cleanup(g1, NULL, 0);
	assert_true(registered(PID2, MOSQ_EVT_BASIC_AUTH));
	assert_false(registered(PID1, MOSQ_EVT_BASIC_AUTH));
	mosquitto_plugin_cleanup(g2, NULL, 0);
	assert_int_equal(n_regs, 0);
	free(tok);
}

/* A client whose token becomes revoked is disconnected at the next scan,
 * without its will; counted; revoked tokens are refused at CONNECT. */
static void test_revocation_and_stats(void **state)
{
	const char *rev = fx_write_str("revoked", "# none yet\n");
	char opt[200];
	struct mja_glue *g;
	struct mosquitto a = { .id = "cid-a", .address = "192.0.2.1", .will_topic = "devices/dev1/will" };
	struct mosquitto b = { .id = "cid-b", .address = "192.0.2.2" };
	struct mosquitto x = { .id = "cid-x", .address = "192.0.2.3" };
	char *ta = tok_for(FX_SECRET, "dev1", 600), *tb = tok_for(FX_SECRET, "dev2", 600);
	char *forged = tok_for(FX_SECRET2, "dev3", 600);

	snprintf(opt, sizeof(opt), "revocation_file %s", rev);
	g = init(PID1, 0, opt);
	kick_pid = PID1;
	known[0] = &a;
	known[1] = &b;
	assert_int_equal(basic(PID1, &a, NULL, ta), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &b, NULL, tb), MOSQ_ERR_SUCCESS);
	assert_int_equal(basic(PID1, &x, NULL, forged), MOSQ_ERR_AUTH);
	assert_int_equal(basic(PID1, &x, "u", "not-a-token"), MOSQ_ERR_PLUGIN_DEFER);
	assert_int_equal(acl(PID1, &b, "devices/other/x", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(acl(PID1, &b, "devices/other/#", MOSQ_ACL_SUBSCRIBE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(acl(PID1, &b, "devices/other/x", MOSQ_ACL_READ), MOSQ_ERR_ACL_DENIED);

	/* dev1 is revoked: disconnected at the next scan, without will */
	fx_write_str("revoked", "sub dev1\n");
	fake_ms += MJA_GLUE_TICK_MS;
	tick(PID1);
	assert_int_equal(kicks, 1);
	assert_false(kick_will);
	assert_int_equal(resub_result, MOSQ_ERR_SUCCESS);   /* its session keeps its subscriptions */
	assert_non_null(strstr(logbuf, "jwt-auth: revocation list loaded: 1 entries"));
	assert_non_null(strstr(logbuf, "jwt-auth: disconnecting client cid-a from 192.0.2.1: revoked"));
	assert_int_equal(mja_clients_get(g->clients, &b)->state, MJA_CLIENT_LIVE);
	/* gone: its will (if the broker sent one) and deliveries are denied */
	assert_int_equal(acl(PID1, &a, "devices/dev1/will", MOSQ_ACL_WRITE), MOSQ_ERR_ACL_DENIED);
	assert_int_equal(acl(PID1, &a, "devices/dev1/x", MOSQ_ACL_READ), MOSQ_ERR_ACL_DENIED);
	/* and it cannot come back with that token */
	assert_int_equal(basic(PID1, &a, NULL, ta), MOSQ_ERR_AUTH);
	assert_non_null(strstr(logbuf, "jwt-auth: refused client cid-a from 192.0.2.1: revoked"));
	/* an unchanged file is not read again, nobody else is kicked */
	fake_ms += MJA_GLUE_TICK_MS;
	tick(PID1);
	assert_int_equal(kicks, 1);

	/* a malformed file keeps the list, logged once with file and line */
	fx_write_str("revoked", "sub dev1\nsub\n");
	fake_ms += MJA_GLUE_TICK_MS;
	tick(PID1);
	assert_non_null(strstr(logbuf, "jwt-auth: revocation list not reloaded, the previous "
			"list stays in force: option revocation_file: "));
	assert_non_null(strstr(logbuf, "revoked:2: sub needs a value"));
	assert_int_equal(basic(PID1, &a, NULL, ta), MOSQ_ERR_AUTH);

	/* stats: published on the first scan at least stats_interval (10 s)
	 * after the last publish */
	fake_ms = g->last_stats_ms + 10000;
	tick(PID1);
	assert_string_equal(pubbuf,
			"$SYS/broker/plugin/jwt-auth/connects/accepted=2\n"
			"$SYS/broker/plugin/jwt-auth/connects/deferred=1\n"
			"$SYS/broker/plugin/jwt-auth/connects/refused/bad-signature=1\n"
			"$SYS/broker/plugin/jwt-auth/connects/refused/revoked=2\n"
			"$SYS/broker/plugin/jwt-auth/disconnects/revoked=1\n"
			"$SYS/broker/plugin/jwt-auth/acl/denied/publish=2\n"
			"$SYS/broker/plugin/jwt-auth/acl/denied/subscribe=1\n"
			"$SYS/broker/plugin/jwt-auth/acl/denied/receive=2\n"
			"$SYS/broker/plugin/jwt-auth/cache/hits=2\n"
			"$SYS/broker/plugin/jwt-auth/cache/misses=3\n"
			"$SYS/broker/plugin/jwt-auth/keys/count=1\n");
	/* a failed publish frees the payload (checked by ASan/valgrind runs) */
	publish_fail = 1;
	fake_ms += 10000;
	tick(PID1);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(a.username);
	free(b.username);
	free(x.username);
	free(ta);
	free(tb);
	free(forged);
}

/* auth_methods: the listed methods are answered, others deferred */
static void test_auth_methods(void **state)
{
	struct mja_glue *g = init(PID1, 0, "auth_methods CUSTOM-JWT OAUTH2-JWT");
	struct mosquitto a = { .id = "cid-a" }, b = { .id = "cid-b" };
	char *t = tok_for(FX_SECRET, "dev1", 60), *t2 = tok_for(FX_SECRET, "dev1", 600);

	assert_int_equal(ext(PID1, &a, "jwt", t), MOSQ_ERR_PLUGIN_DEFER);
	assert_int_equal(ext(PID1, &a, "SCRAM-SHA-1", t), MOSQ_ERR_PLUGIN_DEFER);
	assert_int_equal(ext(PID1, &a, "custom-jwt", t), MOSQ_ERR_PLUGIN_DEFER);
	assert_int_equal(ext(PID1, &a, "CUSTOM-JWT", t), MOSQ_ERR_SUCCESS);
	/* re-authentication under the same method */
	assert_int_equal(ext(PID1, &a, "CUSTOM-JWT", t2), MOSQ_ERR_SUCCESS);
	assert_int_equal(mja_clients_get(g->clients, &a)->principal->exp, fake_now + 600);
	assert_int_equal(g->stats.reauth_accepted, 1);
	/* a client of the method is ours: no token is a refusal */
	assert_int_equal(ext(PID1, &b, "OAUTH2-JWT", NULL), MOSQ_ERR_AUTH);
	assert_int_equal(g->stats.connects_refused[MJA_ERR_NO_TOKEN], 1);
	assert_int_equal(g->stats.connects_deferred, 3);
	assert_int_equal(g->stats.connects_accepted, 1);
	mosquitto_plugin_cleanup(g, NULL, 0);
	free(a.username);
	free(b.username);
	free(t);
	free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version_and_bad_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_auth_codes_and_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_username_given_to_usernameless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_on_tick_kicks_with_will, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_on_acl_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_disconnect_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enhanced_auth_and_reauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_and_recheck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_address_decided_afresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_offline_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_kept_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_field_username, setup, teardown),
		cmocka_unit_test_setup_teardown(test_will_of_expired_or_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_tick_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_and_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_methods, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
