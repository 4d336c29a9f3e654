/* session.c - the life of a token client's session (session.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mja/topic/acl.h"
#include "mja/session/session.h"
#include "mja/session/workers.h"
#include "mja/util/text.h"

/* A held CONNECT (session.h "Held CONNECTs"); strings owned. */
struct hold {
	const void *client;
	char *clientid, *address, *username, *password;
	size_t password_len;
	int durable;
	int64_t until_ms;          /* monotonic: decided then at the latest */
	/* held for a worker's check (workers.h), 0 for a JWKS refetch; once
	 * its result is in (checked), err / token / gen are it */
	uint64_t job;
	int checked;
	mja_err err;
	mja_token *token;          /* owned */
	uint64_t gen;
};

struct mja_session {
	mja_config *cfg;           /* owned */
	mja_clients *clients;      /* owned */
	mja_broker_line line;
	int64_t init_ms;           /* monotonic, of the start */
	int64_t last_scan_ms;      /* monotonic, of the last TICK scan */
	int tick_seen;             /* a TICK has come since the start */
	int no_tick_warned;
	const void *expiry_kick;   /* the client inside its expiry kick, or NULL */
	/* reload window (session.h "Re-check") */
	int window_open;
	uint64_t window;           /* generation of the current / last window */
	int64_t window_last_ms;    /* monotonic, of its last event */
	const void *just_went;     /* the client of the last event, a disconnect */
	int reload_last;           /* the last event was a RELOAD */
	int (*alive)(const void *client, const char *clientid, void *ctx);
	void *alive_ctx;
	size_t probe_cursor;       /* next offline entry to probe on TICK */
	struct hold *holds;        /* held CONNECTs, in arrival order */
	size_t n_holds, cap_holds;
	/* signature checks on worker threads (workers.h), 2.1 only */
	mja_workers *workers;      /* owned; started at the first check for it */
	int workers_off;           /* verify_threads 0, or they did not start */
	int keys_changed;          /* since the workers' last key snapshot */
	int work_done;             /* this TICK took a worker's answer in */
	mja_stats stats;           /* counters published under $SYS (stats.h) */
};

/* Offline entries probed per TICK where the broker can tell. */
#define PROBES_PER_TICK 64

/* ---- actions ---- */

void mja_actions_init(mja_actions *a)
{
	memset(a, 0, sizeof(*a));
}

void mja_actions_clear(mja_actions *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].text);
	a->n = 0;
	a->lost = 0;
}

void mja_actions_free(mja_actions *a)
{
	if (!a)
		return;
	mja_actions_clear(a);
	free(a->v);
	a->v = NULL;
	a->cap = 0;
}

/* Append an action owning text (freed on failure). 0 if it was lost. */
static int push(mja_actions *a, mja_action act)
{
	if (!a) {
		free(act.text);
		return 0;
	}
	if (!act.text)
		goto lost;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		mja_action *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			goto lost;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = act;
	return 1;
lost:
	free(act.text);
	a->lost = 1;
	return 0;
}

__attribute__((format(printf, 1, 0)))
static char *vformat(const char *fmt, va_list ap)
{
	char small[512];
	va_list ap2;
	char *s;
	int n;

	/* one formatting pass for a line that fits the stack buffer */
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	if ((size_t)n < sizeof(small))
		memcpy(s, small, (size_t)n + 1);
	else
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static void logf_(mja_actions *a, mja_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(mja_actions *a, mja_log_level level, const char *fmt, ...)
{
	mja_action act = { .kind = MJA_ACTION_LOG, .level = level };
	va_list ap;

	va_start(ap, fmt);
	act.text = vformat(fmt, ap);
	va_end(ap);
	push(a, act);
}

/* printable copies of a value for a log line */
#define SHOW_MAX 160
static const char *show(const char *s, char buf[SHOW_MAX])
{
	mja_text_printable(s, s ? strlen(s) : 0, buf, SHOW_MAX);
	return buf;
}

/* "<what> client <id> from <address>: <reason><more>" (more may be NULL),
 * put together without printf: formatting cost as much as the rest of an
 * accepted CONNECT's bookkeeping. The plugin API does not tell which log
 * levels the broker writes, so debug lines are built only with log_debug
 * true (debug_on). */
static void log_client_more(mja_actions *a, mja_log_level level, const char *what,
		const char *clientid, const char *address, const char *reason, const char *more)
{
	/* room for every part at its largest: what and more are short words
	 * or a value of at most SHOW_MAX, reason at most REASON_MAX (640);
	 * PUT cuts rather than overflows */
	char line[1280];
	mja_action act = { .kind = MJA_ACTION_LOG, .level = level };
	size_t o = 0;

#define PUT(s, n) do { size_t n_ = (n); if (n_ > sizeof(line) - 1 - o) n_ = sizeof(line) - 1 - o; \
		memcpy(line + o, s, n_); o += n_; } while (0)
	PUT(what, strlen(what));
	PUT(" client ", 8);
	mja_text_printable(clientid, clientid ? strlen(clientid) : 0, line + o, SHOW_MAX);
	o += strlen(line + o);
	PUT(" from ", 6);
	mja_text_printable(address, address ? strlen(address) : 0, line + o, SHOW_MAX);
	o += strlen(line + o);
	PUT(": ", 2);
	PUT(reason, strlen(reason));
	if (more)
		PUT(more, strlen(more));
#undef PUT
	line[o] = '\0';
	act.text = malloc(o + 1);
	if (act.text)
		memcpy(act.text, line, o + 1);
	push(a, act);
}

/* Whether the plugin's debug lines are wanted (option log_debug). */
static int debug_on(const mja_session *s)
{
	return s->cfg->log_debug;
}

/* "<what> client <id> from <address>: <reason>" */
static void log_client(mja_actions *a, mja_log_level level, const char *what,
		const char *clientid, const char *address, const char *reason)
{
	log_client_more(a, level, what, clientid, address, reason, NULL);
}

/* The reason of a refusal for a log line: mja_strerror(why), followed for
 * a malformed acl claim or a failed claim_match by the library's detail
 * (auth.h mja_auth_detail: set by the auth call that refused; printable as
 * it stands, its claim names escaped with mja_text_printable, and never a
 * value from the token). */
#define REASON_MAX 640
static const char *reason_text(mja_err why, char buf[REASON_MAX])
{
	const char *detail = mja_auth_detail();

	if ((why != MJA_ERR_BAD_ACL_CLAIM && why != MJA_ERR_CLAIM_MISMATCH) || !detail[0])
		return mja_strerror(why);
	snprintf(buf, REASON_MAX, "%s (%s)", mja_strerror(why), detail);
	return buf;
}

static void log_refusal(mja_actions *a, const mja_session_client *c, const char *what,
		mja_err why)
{
	char reason[REASON_MAX];

	log_client(a, MJA_LOG_NOTICE, what, c->clientid, c->address, reason_text(why, reason));
}

/* ---- life ---- */

/* The JWKS module's log callback (jwks.h): its lines become log actions. */
static void jwks_log(void *ctx, int level, const char *msg)
{
	logf_(ctx, (mja_log_level)level, "%s", msg);
}

/* Keys from JWKS URLs (jwks.h): take in what the fetcher thread fetched and
 * swap the key set in use if it changed. On every TICK and before every
 * authentication; never waits for the network. */
static void jwks_update(mja_session *s, int64_t now, mja_actions *a)
{
	if (s->cfg->jwks && mja_config_jwks_update(s->cfg, now, jwks_log, a))
		s->keys_changed = 1;   /* workers.h: a new snapshot for new checks */
}

/* a + b for b >= 0, saturating at INT64_MAX */
static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

mja_err mja_session_new(mja_config *cfg, int64_t ms, mja_session **out)
{
	mja_session *s;

	if (out)
		*out = NULL;
	if (!cfg || !out) {
		mja_config_free(cfg);
		return MJA_ERR_INVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		mja_config_free(cfg);
		return MJA_ERR_NOMEM;
	}
	s->cfg = cfg;
	s->clients = mja_clients_new();
	if (!s->clients) {
		mja_session_free(s);
		return MJA_ERR_NOMEM;
	}
	s->init_ms = s->last_scan_ms = ms;
	*out = s;
	return MJA_OK;
}

mja_err mja_session_open(const mja_config_opt *opts, size_t n, int64_t ms,
		mja_session **out, mja_actions *acts)
{
	mja_config *cfg = NULL;
	mja_diag d;
	mja_session *s;
	mja_err e;

	mja_diag_clear(&d);
	if (out)
		*out = NULL;
	e = mja_config_parse(opts, n, &cfg, &d);
	if (d.warning[0])   /* e.g. a secret file every user may read (file.h) */
		logf_(acts, MJA_LOG_WARNING, "%s", d.warning);
	if (e != MJA_OK) {
		logf_(acts, MJA_LOG_ERR, "configuration error: %s",
				d.text[0] ? d.text : mja_strerror(e));
		return e;
	}
	e = mja_session_new(cfg, ms, &s);
	if (e != MJA_OK) {
		logf_(acts, MJA_LOG_ERR, "%s", mja_strerror(e));
		return e;
	}
	/* keys from JWKS URLs: fetched by a thread of the plugin's own from
	 * now on; the broker starts even if the first fetch fails */
	e = mja_config_jwks_start(s->cfg, &d);
	if (e != MJA_OK) {
		logf_(acts, MJA_LOG_ERR, "%s", d.text[0] ? d.text : mja_strerror(e));
		mja_session_free(s);
		return e;
	}
	/* no ACL callback without topic decisions (session.h). Expiry of
	 * connected clients is then enforced on TICK only, which some brokers
	 * do not send (a start cannot see it; mja_session_basic_auth notices
	 * later) */
	if (!mja_config_topic_decisions(s->cfg))
		logf_(acts, MJA_LOG_WARNING, "no acl_file, acl_claim or "
				"superuser_claim: the plugin makes no topic decisions (Mosquitto's behaviour without "
				"ACLs applies to token clients)%s",
				s->cfg->disconnect_on_expiry ? "; connected clients whose token "
				"expires are disconnected only on the broker's TICK, which "
				"Mosquitto 2.0.11 to 2.0.14 never send with per_listener_settings true" : "");
	logf_(acts, MJA_LOG_INFO, "ready: %zu key(s)%s%s%s",
			mja_keyset_count(s->cfg->files->keys),
			s->cfg->files->acl ? ", ACL loaded" : "",
			s->cfg->jwks ? ", fetching JWKS in the background" : "",
			s->cfg->revocation_file ? ", revocation list loaded" : "");
	*out = s;
	return MJA_OK;
}

static void hold_free(struct hold *h)
{
	free(h->clientid);
	free(h->address);
	free(h->username);
	if (h->password) {
		/* a token: not left in freed memory */
		volatile char *v = h->password;

		for (size_t i = 0; i < h->password_len; i++)
			v[i] = 0;
		free(h->password);
	}
	mja_token_free(h->token);
	memset(h, 0, sizeof(*h));
}

static void hold_remove(mja_session *s, size_t i)
{
	if (s->holds[i].job && !s->holds[i].checked)
		mja_workers_cancel(s->workers, s->holds[i].job);   /* its client went */
	hold_free(&s->holds[i]);
	memmove(&s->holds[i], &s->holds[i + 1], (s->n_holds - i - 1) * sizeof(s->holds[0]));
	s->n_holds--;
}

void mja_session_free(mja_session *s)
{
	if (!s)
		return;
	/* held CONNECTs are dropped unanswered: the broker is shutting down
	 * (or the plugin failed to start) and closes them */
	for (size_t i = 0; i < s->n_holds; i++)
		hold_free(&s->holds[i]);
	free(s->holds);
	/* queued checks dropped, running ones finish, threads joined */
	mja_workers_free(s->workers);
	mja_clients_free(s->clients);
	mja_config_free(s->cfg);
	free(s);
}

int mja_session_wants_acl(const mja_session *s)
{
	return s && mja_config_topic_decisions(s->cfg);
}

void mja_session_set_broker(mja_session *s, mja_broker_line line)
{
	if (s)
		s->line = line;
}

void mja_session_set_probe(mja_session *s,
		int (*alive)(const void *client, const char *clientid, void *ctx), void *ctx)
{
	if (!s)
		return;
	s->alive = alive;
	s->alive_ctx = ctx;
}

mja_broker_line mja_session_broker(const mja_session *s)
{
	return s ? s->line : MJA_BROKER_2_0;
}

const mja_config *mja_session_config(const mja_session *s)
{
	return s ? s->cfg : NULL;
}

const mja_stats *mja_session_stats(const mja_session *s)
{
	return s ? &s->stats : NULL;
}

size_t mja_session_stats_emit(const mja_session *s, mja_stats_emit_fn fn, void *arg)
{
	mja_stats_extra x = { 0 };
	struct mja_source_stats *src = NULL;
	mja_cache_stats cs;
	size_t n, calls;

	if (!s || !fn)
		return 0;
	mja_cache_get_stats(s->cfg->cache, &cs);
	x.cache_hits = cs.hits;
	x.cache_misses = cs.misses;
	x.keys = mja_keyset_count(s->cfg->files->keys);
	n = mja_jwks_stats(s->cfg->jwks, NULL, 0);
	if (n) {
		/* out of memory: the other figures still go out */
		src = calloc(n, sizeof(*src));
		if (src) {
			x.n_sources = mja_jwks_stats(s->cfg->jwks, src, n);
			x.sources = src;
		}
	}
	calls = mja_stats_emit(&s->stats, &x, fn, arg);
	free(src);
	return calls;
}

const mja_client *mja_session_get(const mja_session *s, const void *client)
{
	return s ? mja_clients_get(s->clients, client) : NULL;
}

size_t mja_session_count(const mja_session *s)
{
	return s ? mja_clients_count(s->clients) : 0;
}

/* How long a client that went at now is kept (session.h "Entry states"):
 * where the broker tells which clients it holds, until it no longer holds
 * it; else until its token's exp + leeway + the grace (a delayed will that
 * fires after exp is then still denied, not left to others), within
 * [grace, MJA_SESSION_DURABLE_MAX]. */
static int64_t offline_until(const mja_session *s, const mja_client *c, int64_t now)
{
	int64_t least = add_sat(now, MJA_SESSION_GONE_GRACE);
	int64_t most = add_sat(now, MJA_SESSION_DURABLE_MAX);
	int64_t until;

	if (s->alive)
		return INT64_MAX;
	if (!c->principal->has_exp)
		return most;
	until = add_sat(add_sat(c->principal->exp, s->cfg->leeway > 0 ? s->cfg->leeway : 0),
			MJA_SESSION_GONE_GRACE);
	return until < least ? least : until > most ? most : until;
}

/* Mark a live entry kicked: denied everything, its will allowed or not. */
static void kick(mja_session *s, const void *client, int64_t now, int will_ok)
{
	mja_clients_kick(s->clients, client, add_sat(now, MJA_SESSION_GONE_GRACE), will_ok);
}

static void push_kick(mja_actions *a, const void *client, const char *clientid, int with_will)
{
	mja_action act = { .kind = MJA_ACTION_KICK, .client = client, .with_will = with_will };

	if (!clientid)
		return;   /* the broker kicks by client id: none, nothing to kick */
	act.text = strdup(clientid);
	push(a, act);
}

/* Disconnect a live client whose token expired, with its will (its will is
 * published as for any other loss). Marked kicked first: the broker
 * re-enters the plugin from inside the kick. */
static void kick_expired(mja_session *s, const void *client, int64_t now, mja_actions *a)
{
	const mja_client *c = mja_clients_get(s->clients, client);
	char *id;

	if (!c || c->state != MJA_CLIENT_LIVE)
		return;
	log_client(a, MJA_LOG_NOTICE, "disconnecting", c->clientid, c->address,
			mja_strerror(MJA_ERR_EXPIRED));
	id = c->clientid ? strdup(c->clientid) : NULL;
	if (c->clientid && !id)
		a->lost = 1;   /* kicked in the registry all the same: denied everything */
	kick(s, client, now, 1);   /* c is not used after this */
	s->stats.disconnects_expired++;
	push_kick(a, client, id, 1);
	free(id);
}

/* Without topic decisions (no ACL callback) only TICK disconnects expired
 * clients: log once, at an accepted client, if no TICK has come since the
 * start. */
static void check_tick(mja_session *s, int64_t ms, mja_actions *a)
{
	if (s->tick_seen || s->no_tick_warned || mja_config_topic_decisions(s->cfg) ||
	    !s->cfg->disconnect_on_expiry || ms - s->init_ms < MJA_SESSION_NO_TICK_MS)
		return;
	s->no_tick_warned = 1;
	logf_(a, MJA_LOG_WARNING, "the broker sends no "
			"TICK (per_listener_settings true?) and there is no acl_file, acl_claim or "
			"superuser_claim: clients "
			"whose token expires are not disconnected");
}

/* ---- the reload window (session.h "Re-check") ---- */

/* 1 if the re-check pass of a reload may still be running at ms; an event
 * inside it keeps it open for MJA_SESSION_WINDOW_GAP_MS more. */
static int in_window(mja_session *s, int64_t ms)
{
	if (!s->window_open)
		return 0;
	if (ms - s->window_last_ms > MJA_SESSION_WINDOW_GAP_MS) {
		s->window_open = 0;
		return 0;
	}
	s->window_last_ms = ms;
	return 1;
}

static void close_window(mja_session *s)
{
	s->window_open = 0;
}

/* On the 2.0 line a refused offline session corrupts the broker's expiry
 * list; the re-check then ends the session instead. Only where the window
 * is known to close (TICK comes): else a new connection could be taken for
 * an offline session and let in. */
static int end_offline_instead(const mja_session *s)
{
	return s->line == MJA_BROKER_2_0 && s->tick_seen;
}

/* ---- authentication ---- */

/* After a re-check or re-authentication: 1 if p (allowed) now stands for
 * the client; else 0 with *why set (p freed if it could not be stored). */
static int replace_principal(mja_session *s, const void *client, mja_decision r,
		mja_principal *p, mja_err *why)
{
	if (r != MJA_ALLOW)
		return 0;
	if (mja_clients_set_principal(s->clients, client, p) == MJA_OK)
		return 1;   /* it takes p on every path */
	*why = MJA_ERR_NOMEM;
	return 0;
}

/* Register an accepted principal (owned from here on every path); fail
 * closed if it cannot be remembered. username: what the broker holds. */
static mja_decision accept_client(mja_session *s, const mja_session_client *c,
		const char *username, mja_principal *p, int64_t ms, mja_actions *a,
		mja_err *why)
{
	int token_in_username = s->cfg->token_field == MJA_TOKEN_FIELD_USERNAME;
	int none = !username || !username[0];
	/* session.h "Usernames": the broker's username becomes the sub unless
	 * it is the sub. Required where it replaces a claimed name (which
	 * would keep that name's rights in Mosquitto's acl_file and other
	 * plugins) or the token (which Mosquitto logs); a client that sent none
	 * is given it too (Mosquitto drops a client without a username at a
	 * reload when allow_anonymous is false, before any plugin is asked). */
	int give_sub = token_in_username || none || strcmp(username, p->sub) != 0;
	int required = !none || token_in_username;
	char sub[SHOW_MAX];

	if (mja_clients_put(s->clients, c->client, c->clientid, p->sub, c->durable, p) != MJA_OK) {
		log_refusal(a, c, "refused", MJA_ERR_NOMEM);   /* p freed by the put */
		*why = MJA_ERR_NOMEM;
		return MJA_DENY;
	}
	(void)mja_clients_set_address(s->clients, c->client, c->address);
	if (give_sub) {
		mja_action act = { .kind = MJA_ACTION_SET_USERNAME, .client = c->client,
			.required = required, .text = strdup(p->sub) };

		if (!push(a, act) && required) {
			mja_clients_remove(s->clients, c->client);
			log_refusal(a, c, "refused", MJA_ERR_NOMEM);
			*why = MJA_ERR_NOMEM;
			return MJA_DENY;
		}
	}
	/* the sub passed mja_sub_valid (auth.h): printable as it is; only a
	 * long one is shortened as show() does */
	if (debug_on(s))
		log_client_more(a, MJA_LOG_DEBUG, "accepted", c->clientid, c->address, "sub ",
				strlen(p->sub) < SHOW_MAX ? p->sub : show(p->sub, sub));
	check_tick(s, ms, a);
	return MJA_ALLOW;
}

mja_decision mja_session_username_failed(mja_session *s, const mja_session_client *c,
		int required, mja_actions *a, mja_err *why)
{
	if (why)
		*why = MJA_OK;
	if (!s || !c)
		return MJA_DENY;
	if (required) {
		/* counted as accepted by accept_client: a refusal after all */
		if (s->stats.connects_accepted)
			s->stats.connects_accepted--;
		mja_stats_refused(&s->stats, MJA_ERR_NOMEM);
		mja_clients_remove(s->clients, c->client);
		log_refusal(a, c, "refused", MJA_ERR_NOMEM);
		if (why)
			*why = MJA_ERR_NOMEM;
		return MJA_DENY;
	}
	log_client(a, MJA_LOG_WARNING, "cannot set username for", c->clientid, c->address,
			"it will be disconnected on SIGHUP");
	return MJA_ALLOW;
}

/* End an offline session at a re-check without refusing it (2.0): kicked,
 * denied everything, its will denied; kept as long as an offline durable
 * session's entry at most. An unknown session gets an entry with an empty
 * principal for it. */
static mja_decision end_offline(mja_session *s, const mja_session_client *c,
		mja_err reason, int64_t now, mja_actions *a, mja_err *why)
{
	const mja_client *e = mja_clients_get(s->clients, c->client);

	if (!e) {
		mja_principal *p = calloc(1, sizeof(*p));

		if (p && !(p->sub = strdup(""))) {
			mja_principal_free(p);
			p = NULL;
		}
		/* the put takes p on every path */
		if (!p || mja_clients_put(s->clients, c->client, c->clientid, NULL,
				c->durable, p) != MJA_OK) {
			/* nothing to deny it with: refusing is the only safe answer */
			log_refusal(a, c, "re-check refused", reason);
			*why = reason;
			return MJA_DENY;
		}
	}
	if (!e || e->state != MJA_CLIENT_KICKED) {
		if (e && e->state == MJA_CLIENT_OFFLINE) {
			/* offline -> kicked: the registry moves only live entries */
			mja_principal *p = calloc(1, sizeof(*p));

			if (p && !(p->sub = strdup(e->principal->sub))) {
				mja_principal_free(p);
				p = NULL;
			}
			if (!p || mja_clients_put(s->clients, c->client, c->clientid, NULL,
					c->durable, p) != MJA_OK) {
				mja_clients_remove(s->clients, c->client);
				log_refusal(a, c, "re-check refused", reason);
				*why = reason;
				return MJA_DENY;
			}
		}
		mja_clients_kick(s->clients, c->client, add_sat(now, MJA_SESSION_DURABLE_MAX), 0);
		char text[REASON_MAX];

		log_client(a, MJA_LOG_NOTICE, "re-check ended the offline session of", c->clientid,
				c->address, reason_text(reason, text));
	}
	*why = MJA_OK;
	return MJA_ALLOW;
}

/* The re-check of an offline session (entry e, or none): its stored
 * credentials decided afresh; a valid token of the same sub keeps the
 * session's entry, anything else ends the session (refused on 2.1, ended
 * without a refusal on 2.0). */
static mja_decision recheck_offline(mja_session *s, const mja_session_client *c,
		const mja_client *e, const char *username, const char *password,
		int64_t now, mja_actions *a, mja_err *why)
{
	mja_principal *p = NULL;
	mja_decision r;

	r = mja_auth_connect(s->cfg, username, password, c->clientid, now, &p, why);
	if (r == MJA_DEFER && !e)
		return MJA_DEFER;   /* not a token client's session */
	if (r == MJA_DEFER) {
		r = MJA_DENY;
		*why = MJA_ERR_NO_TOKEN;
	}
	if (r == MJA_ALLOW && e && strcmp(p->sub, e->principal->sub) != 0) {
		mja_principal_free(p);
		p = NULL;
		r = MJA_DENY;
		*why = MJA_ERR_REAUTH_SUB;
	}
	if (r == MJA_ALLOW) {
		if (e) {
			if (replace_principal(s, c->client, r, p, why))
				return MJA_ALLOW;
		} else if (mja_clients_put(s->clients, c->client, c->clientid, p->sub,
				c->durable, p) == MJA_OK) {
			const mja_client *n = mja_clients_get(s->clients, c->client);

			mja_clients_disconnect(s->clients, c->client, now,
					offline_until(s, n, now), 1);
			return MJA_ALLOW;
		} else {
			*why = MJA_ERR_NOMEM;   /* p freed by the put */
		}
	}
	if (end_offline_instead(s))
		return end_offline(s, c, *why, now, a, why);
	log_refusal(a, c, "re-check refused", *why);
	mja_clients_remove(s->clients, c->client);
	return MJA_DENY;
}

/* The broker's re-check (inside the reload window) of the entry e: a live
 * connection, a kicked one or an offline session. */
static mja_decision recheck(mja_session *s, const mja_session_client *c,
		mja_client *e, const char *username, const char *password,
		int64_t now, mja_actions *a, mja_err *why)
{
	mja_principal *p = NULL;
	mja_decision r;

	e->rechecked = s->window;
	if (e->state == MJA_CLIENT_OFFLINE)
		return recheck_offline(s, c, e, username, password, now, a, why);
	/* kicked: it is being disconnected (or its session was ended) and may
	 * do nothing any more; it may be offline, which 2.0 must not refuse */
	if (e->state == MJA_CLIENT_KICKED) {
		if (end_offline_instead(s))
			return MJA_ALLOW;
		*why = MJA_ERR_INVAL;
		return MJA_DENY;
	}
	r = mja_auth_recheck(s->cfg, e->principal, username, password, c->clientid, now,
			&p, why);
	if (replace_principal(s, c->client, r, p, why))
		return MJA_ALLOW;
	log_refusal(a, c, "re-check refused", *why);
	if (*why == MJA_ERR_REVOKED)
		s->stats.disconnects_revoked++;   /* the broker disconnects it */
	/* the broker disconnects it; until then it may do nothing, and its
	 * will (a write under a token that no longer holds) is denied */
	kick(s, c->client, now, 0);
	return MJA_DENY;
}

/* A CONNECT's outcome in the counters (not the plugin's: deferred). */
static void count_connect(mja_session *s, mja_decision r, mja_err why)
{
	if (r == MJA_ALLOW)
		s->stats.connects_accepted++;
	else if (r == MJA_DEFER || r == MJA_IGNORE)
		s->stats.connects_deferred++;
	else
		mja_stats_refused(&s->stats, why);
}

/* ---- held CONNECTs (session.h "Held CONNECTs") ---- */

static char *dup_or_null(const char *v, int *fail)
{
	char *d;

	if (!v)
		return NULL;
	d = strdup(v);
	if (!d)
		*fail = 1;
	return d;
}

/* A hold at c's handle or with c's client id belonged to a connection the
 * broker has dropped (it sends no event for it): forget it, unanswered. */
static void drop_holds(mja_session *s, const mja_session_client *c, mja_actions *a)
{
	for (size_t i = 0; i < s->n_holds;) {
		struct hold *h = &s->holds[i];

		if (h->client == c->client ||
		    (c->clientid && strcmp(h->clientid, c->clientid) == 0)) {
			if (debug_on(s))
				log_client(a, MJA_LOG_DEBUG, "dropped the held CONNECT of",
						h->clientid, h->address, "its connection is gone");
			hold_remove(s, i);
		} else {
			i++;
		}
	}
}

/* Keep c's CONNECT (a copy of what it sent) until until_ms; the new hold
 * is the last one. 0 if it could not be kept. */
static int hold_store(mja_session *s, const mja_session_client *c, const char *username,
		const char *password, int64_t until_ms)
{
	struct hold h = { .client = c->client, .durable = c->durable, .until_ms = until_ms };
	int fail = 0;

	if (s->n_holds == s->cap_holds) {
		size_t cap = s->cap_holds ? s->cap_holds * 2 : 8;
		struct hold *v = realloc(s->holds, cap * sizeof(*v));

		if (!v)
			return 0;
		s->holds = v;
		s->cap_holds = cap;
	}
	h.clientid = dup_or_null(c->clientid, &fail);
	h.address = dup_or_null(c->address, &fail);
	h.username = dup_or_null(username, &fail);
	h.password = dup_or_null(password, &fail);
	h.password_len = password ? strlen(password) : 0;
	if (fail) {
		hold_free(&h);
		return 0;   /* refused at once, as on 2.0 */
	}
	s->holds[s->n_holds++] = h;
	return 1;
}

/* Hold c's CONNECT refused for an unknown kid if the broker can delay it
 * (2.1) and the JWKS refetch it asked for is pending. 1 if held. */
static int hold(mja_session *s, const mja_session_client *c, const char *username,
		const char *password, int64_t ms, mja_actions *a)
{
	/* the broker completes a delayed authentication by client id */
	if (s->line != MJA_BROKER_2_1 || !s->cfg->jwks || !c->clientid || !c->clientid[0] ||
	    !mja_jwks_refetch_pending(s->cfg->jwks) || s->n_holds >= MJA_SESSION_MAX_HOLDS)
		return 0;
	if (!hold_store(s, c, username, password, add_sat(ms, MJA_JWKS_HOLD_MS)))
		return 0;
	log_client(a, MJA_LOG_INFO, "holding the CONNECT of", c->clientid, c->address,
			"unknown kid, waiting for the JWKS refetch");
	return 1;
}

/* ---- signature checks on worker threads (workers.h) ---- */

/* The pool, started at its first use (verify_threads; the default from
 * the machine's cores). NULL: checks stay on the broker's thread. */
static mja_workers *workers_ready(mja_session *s, mja_actions *a)
{
	mja_diag d;
	unsigned n;
	mja_err e;

	if (s->workers || s->workers_off)
		return s->workers;
	n = s->cfg->verify_threads == MJA_CONFIG_VERIFY_THREADS_AUTO ?
		mja_workers_default_threads(sysconf(_SC_NPROCESSORS_ONLN)) :
		(unsigned)s->cfg->verify_threads;
	s->workers_off = 1;
	if (n == 0)
		return NULL;
	mja_diag_clear(&d);
	e = mja_workers_new(n, &s->workers, &d);
	if (e != MJA_OK) {
		logf_(a, MJA_LOG_WARNING, "signature checks stay on the broker's thread: %s",
				d.text[0] ? d.text : mja_strerror(e));
		return NULL;
	}
	s->workers_off = 0;
	s->keys_changed = 1;
	logf_(a, MJA_LOG_INFO, "signature checks on %u worker thread(s)", n);
	return s->workers;
}

/* Queue the token of hold h for a worker with the keys in use now. */
static int submit(mja_session *s, struct hold *h, const char *tok, size_t len, int64_t now)
{
	if (s->keys_changed) {
		if (mja_workers_set_keys(s->workers, s->cfg->files->keys,
				&s->cfg->files->verify) != MJA_OK)
			return 0;
		s->keys_changed = 0;
	}
	h->checked = 0;
	h->job = 0;
	return mja_workers_submit(s->workers, tok, len, now, &h->job) == MJA_OK;
}

/* 2.1: a new connection's token may go to a worker (verify_threads not 0,
 * a client id to complete it by, room for a hold). */
static int may_offload(const mja_session *s, const mja_session_client *c)
{
	return s->line == MJA_BROKER_2_1 && !s->workers_off && s->cfg->verify_threads != 0 &&
		c->clientid && c->clientid[0] && s->n_holds < MJA_SESSION_MAX_HOLDS;
}

/* A token that auth.h mja_auth_connect_offer found worth a worker: held
 * for the worker's answer. 1 if held, 0 if it is to be decided at once. */
static int offload(mja_session *s, const mja_session_client *c, const char *username,
		const char *password, int64_t now, mja_actions *a)
{
	const char *tok;

	if (!workers_ready(s, a) || !hold_store(s, c, username, password, INT64_MAX))
		return 0;
	/* the hold's own copy: the broker's fields are only lent */
	tok = s->cfg->token_field == MJA_TOKEN_FIELD_USERNAME ?
		s->holds[s->n_holds - 1].username : s->holds[s->n_holds - 1].password;
	if (!tok || !submit(s, &s->holds[s->n_holds - 1], tok, strlen(tok), now)) {
		s->holds[s->n_holds - 1].job = 0;
		hold_remove(s, s->n_holds - 1);
		return 0;
	}
	return 1;
}

/* TICK: the workers' answers into their holds; an answer whose hold is
 * gone was cancelled already, or is dropped here. */
static void take_results(mja_session *s)
{
	mja_work_result r[64];
	size_t n;

	if (!s->workers)
		return;
	/* checks pending and none ended: wait a little for the first (its
	 * client is waiting; the broker may not come back for 100 ms) */
	if (mja_workers_pending(s->workers))
		(void)mja_workers_wait_any(s->workers, MJA_SESSION_WORK_WAIT_US);
	s->work_done = 0;
	while ((n = mja_workers_collect(s->workers, r, 64)) > 0) {
		s->work_done = 1;
		for (size_t k = 0; k < n; k++) {
			struct hold *h = NULL;

			for (size_t i = 0; i < s->n_holds; i++)
				if (s->holds[i].job == r[k].id && !s->holds[i].checked) {
					h = &s->holds[i];
					break;
				}
			if (!h) {
				mja_work_result_clear(&r[k]);
				continue;
			}
			h->checked = 1;
			h->err = r[k].err;
			h->token = r[k].token;
			h->gen = r[k].keys_gen;
		}
	}
}

/* A worker hold with its answer in: decided with that answer if it was
 * checked with the keys in use (*done 1), else queued again with them
 * (*done 0) or, failing that, decided here. */
static mja_decision decide_checked(mja_session *s, struct hold *h, int64_t now,
		mja_principal **p, mja_err *why, int *done)
{
	const char *tok;
	mja_token *t;

	*done = 1;
	if (!s->keys_changed && h->gen == mja_workers_keys_gen(s->workers)) {
		t = h->token;
		h->token = NULL;
		return mja_auth_connect_verified(s->cfg, h->username, h->password, h->clientid,
				now, h->err, t, p, why);
	}
	/* a reload or a new JWKS set since: checked again with the new keys */
	mja_token_free(h->token);
	h->token = NULL;
	tok = s->cfg->token_field == MJA_TOKEN_FIELD_USERNAME ? h->username : h->password;
	if (tok && submit(s, h, tok, strlen(tok), now)) {
		*done = 0;
		return MJA_HOLD;
	}
	h->job = 0;
	return mja_auth_connect(s->cfg, h->username, h->password, h->clientid, now, p, why);
}

static void push_complete(mja_actions *a, const void *client, const char *clientid,
		int allow)
{
	mja_action act = { .kind = MJA_ACTION_COMPLETE_AUTH, .client = client,
		.allow = allow, .text = strdup(clientid) };

	push(a, act);
}

/* TICK, after the JWKS results were taken in: decide every hold whose
 * refetch is over or whose time is up. */
static void complete_holds(mja_session *s, int64_t now, int64_t ms, mja_actions *a)
{
	int pending;

	if (!s->n_holds)
		return;
	take_results(s);
	pending = s->cfg->jwks && mja_jwks_refetch_pending(s->cfg->jwks);
	for (size_t i = 0; i < s->n_holds;) {
		struct hold *h = &s->holds[i];
		mja_session_client c = { .client = h->client, .clientid = h->clientid,
			.address = h->address, .username = h->username, .durable = h->durable };
		mja_principal *p = NULL;
		mja_err why = MJA_OK;
		mja_decision r;

		if (h->job) {
			int done;

			if (!h->checked) {   /* still with a worker */
				i++;
				continue;
			}
			r = decide_checked(s, h, now, &p, &why, &done);
			if (!done) {
				i++;
				continue;
			}
			h->job = 0;
			/* a kid no key has: held on for the JWKS refetch it asked for */
			if (r == MJA_DENY && why == MJA_ERR_UNKNOWN_KID && s->cfg->jwks &&
			    mja_jwks_refetch_pending(s->cfg->jwks)) {
				h->checked = 0;
				h->until_ms = add_sat(ms, MJA_JWKS_HOLD_MS);
				log_client(a, MJA_LOG_INFO, "holding the CONNECT of", h->clientid,
						h->address, "unknown kid, waiting for the JWKS refetch");
				i++;
				continue;
			}
		} else if (pending && ms < h->until_ms) {
			i++;
			continue;
		} else {
			r = mja_auth_connect(s->cfg, h->username, h->password, h->clientid, now,
					&p, &why);
		}
		if (r == MJA_ALLOW) {
			r = accept_client(s, &c, h->username, p, ms, a, &why);
		} else {
			if (r == MJA_DEFER)
				why = MJA_ERR_NO_TOKEN;   /* it was a token when held */
			r = MJA_DENY;
			log_refusal(a, &c, "refused", why);
		}
		count_connect(s, r, why);
		/* accept_client copied what it keeps; the action copies the id */
		push_complete(a, h->client, h->clientid, r == MJA_ALLOW);
		hold_remove(s, i);
	}
}

size_t mja_session_held(const mja_session *s)
{
	return s ? s->n_holds : 0;
}

void mja_session_wait_workers(mja_session *s)
{
	if (s)
		mja_workers_wait(s->workers);
}

/* Every event but a DISCONNECT and a RELOAD: the last event is then neither
 * (just_went: a will is the very next check; reload_last: RELOADs in a row
 * are one reload). */
static void event_begins(mja_session *s)
{
	s->just_went = NULL;
	s->reload_last = 0;
}

mja_decision mja_session_basic_auth(mja_session *s, const mja_session_client *c,
		const char *username, const char *password, int64_t now, int64_t ms,
		mja_actions *a, mja_err *why)
{
	mja_client *e;
	mja_principal *p = NULL;
	mja_err dummy;
	mja_decision r;
	int window;

	if (!why)
		why = &dummy;
	*why = MJA_OK;
	if (!s || !c || !c->client)
		return MJA_DENY;
	event_begins(s);
	jwks_update(s, now, a);   /* a key set fetched since the last TICK */
	window = in_window(s, ms);
	e = mja_clients_find(s->clients, c->client);
	/* session.h "Re-check": only inside the reload window, once per entry */
	if (window && e && e->rechecked != s->window)
		return recheck(s, c, e, username, password, now, a, why);
	if (window && !e && end_offline_instead(s))
		return recheck_offline(s, c, NULL, username, password, now, a, why);
	/* a new connection: an entry at its handle belonged to an earlier one
	 * (freed by the broker, its memory reused) and says nothing about it */
	if (e)
		mja_clients_remove(s->clients, c->client);
	drop_holds(s, c, a);
	/* 2.1: an asymmetric signature that misses the cache goes to a worker
	 * (workers.h); decided on a later TICK, counted then */
	if (may_offload(s, c)) {
		r = mja_auth_connect_offer(s->cfg, username, password, c->clientid, now, &p, why);
		if (r == MJA_HOLD) {
			if (offload(s, c, username, password, now, a))
				return MJA_HOLD;
			/* no worker took it: checked here */
			r = mja_auth_connect(s->cfg, username, password, c->clientid, now, &p, why);
		}
	} else {
		r = mja_auth_connect(s->cfg, username, password, c->clientid, now, &p, why);
	}
	if (r == MJA_DEFER && s->cfg->non_jwt == MJA_NON_JWT_IGNORE && s->line == MJA_BROKER_2_1)
		/* not the plugin's; non_jwt ignore: as if not loaded where the
		 * broker knows that answer (2.1) */
		r = MJA_IGNORE;
	else if (r == MJA_ALLOW) {
		r = accept_client(s, c, username, p, ms, a, why);
	} else if (r == MJA_DENY) {
		/* a held CONNECT is counted when it is decided (TICK) */
		if (*why == MJA_ERR_UNKNOWN_KID && hold(s, c, username, password, ms, a))
			return MJA_HOLD;
		log_refusal(a, c, "refused", *why);
	}
	count_connect(s, r, *why);
	return r;
}

int mja_session_connack_reason(mja_err why)
{
	switch (why) {
	case MJA_ERR_KEYS_UNAVAILABLE:
		return 0x88;   /* server unavailable */
	case MJA_ERR_REVOKED:
		return 0x8A;   /* banned */
	default:
		return 0x86;   /* bad user name or password: a bad or expired token */
	}
}

/* An entry at c's handle that the broker's enhanced authentication can
 * belong to: a live or kicked entry of the same client id (and on 2.1 of a
 * complete connection). Anything else is dropped: the handle was reused. */
static const mja_client *same_connection(mja_session *s, const mja_session_client *c)
{
	const mja_client *e = mja_clients_get(s->clients, c->client);

	if (!e)
		return NULL;
	if (e->state != MJA_CLIENT_OFFLINE && e->clientid && c->clientid &&
	    strcmp(e->clientid, c->clientid) == 0 &&
	    (s->line != MJA_BROKER_2_1 || e->confirmed))
		return e;
	mja_clients_remove(s->clients, c->client);
	return NULL;
}

mja_decision mja_session_ext_auth_start(mja_session *s, const mja_session_client *c,
		const char *method, const void *data, size_t len, int64_t now, int64_t ms,
		mja_actions *a, mja_err *why)
{
	const mja_client *e;
	mja_principal *p = NULL;
	mja_err dummy;
	mja_decision r;

	if (!why)
		why = &dummy;
	*why = MJA_OK;
	if (!s || !c || !c->client)
		return MJA_DENY;
	event_begins(s);
	close_window(s);   /* no part of a reload's re-check pass */
	jwks_update(s, now, a);   /* a key set fetched since the last TICK */
	e = same_connection(s, c);
	/* auth_methods: the methods the plugin answers; others are another
	 * plugin's (a re-authentication uses the method of its CONNECT, which
	 * the broker enforces: MQTT 5 section 4.12.1) */
	if (!mja_config_auth_method(s->cfg, method)) {
		if (!e)
			s->stats.connects_deferred++;
		return MJA_DEFER;
	}
	if (e) {
		/* AUTH 0x19 re-authentication of a session the plugin accepted:
		 * same sub, fresh token; its exp replaces the old one */
		if (e->state != MJA_CLIENT_LIVE) {
			r = MJA_DENY;
			*why = MJA_ERR_EXPIRED;
		} else {
			r = mja_auth_reauth(s->cfg, e->principal, data, len, c->username,
					c->clientid, now, &p, why);
		}
		if (replace_principal(s, c->client, r, p, why)) {
			s->stats.reauth_accepted++;
			return MJA_ALLOW;
		}
		s->stats.reauth_refused++;
		log_refusal(a, c, "re-authentication refused", *why);
		kick(s, c->client, now, 0);   /* the broker closes the connection */
		return MJA_DENY;
	}
	/* CONNECT with one of the plugin's methods: the client says it is the
	 * plugin's, so a missing or non-JWT token is refused, never deferred */
	r = mja_auth_token(s->cfg, data, len, c->username, c->clientid, now, 1, &p, why);
	if (r == MJA_ALLOW)
		r = accept_client(s, c, c->username, p, ms, a, why);
	else
		log_refusal(a, c, "refused", *why);
	count_connect(s, r, *why);
	return r;
}

mja_decision mja_session_ext_auth_continue(mja_session *s, const mja_session_client *c,
		int64_t now, int64_t ms, mja_actions *a, mja_err *why)
{
	const mja_client *e;

	if (why)
		*why = MJA_OK;
	if (!s || !c || !c->client)
		return MJA_DENY;
	event_begins(s);
	close_window(s);
	e = same_connection(s, c);
	/* the method is one step: the plugin never asks to continue, so a
	 * continuation from one of its clients is a protocol error */
	if (e) {
		log_refusal(a, c, "refused", MJA_ERR_INVAL);
		if (why)
			*why = MJA_ERR_INVAL;
		return MJA_DENY;
	}
	return MJA_DEFER;
}

void mja_session_connected(mja_session *s, const mja_session_client *c,
		int64_t now, int64_t ms, mja_actions *a)
{
	mja_client *e;

	if (!s || !c)
		return;
	event_begins(s);
	close_window(s);
	e = mja_clients_find(s->clients, c->client);
	if (!e)
		return;
	/* made by this connection's authentication: it is now complete */
	if (e->state == MJA_CLIENT_LIVE && !e->confirmed)
		e->confirmed = 1;
	else
		mja_clients_remove(s->clients, c->client);   /* an earlier connection's */
}

/* ---- ACL ---- */

/* The decision of the rules for the entry's principal (auth.h
 * mja_auth_acl): expiry, superuser, the token's own rules (acl_claim, which
 * uses qos and retain), the ACL file. */
static mja_decision acl_rules(mja_session *s, const mja_client *e, const char *topic,
		int access, int qos, int retain, int64_t now, int ignore_expiry, mja_err *why)
{
	return mja_auth_acl(s->cfg, e->principal, e->clientid, e->username, topic,
			strlen(topic), access, qos, retain, now, ignore_expiry, why);
}

/* Where the broker tells: does it still hold the client of offline entry
 * e? (It frees an offline session with no event.) */
static int still_held(const mja_session *s, const mja_client *e)
{
	return !s->alive || (e->clientid && s->alive(e->client, e->clientid, s->alive_ctx));
}

/* An offline client's checks (session.h "Entry states", "Wills"). */
static mja_decision acl_offline(mja_session *s, mja_client *e, const char *topic,
		int access, int qos, int retain, int just_went, int64_t now)
{
	mja_err why = MJA_OK;
	mja_decision r;
	int revoked;

	if (!still_held(s, e) || access == MJA_ACCESS_SUBSCRIBE ||
	    access == MJA_ACCESS_UNSUBSCRIBE || (access == MJA_ACCESS_WRITE && e->will_seen)) {
		/* not this client's: the broker freed it and its memory serves a
		 * connection that logged in without the plugin */
		mja_clients_remove(s->clients, e->client);
		return MJA_DEFER;
	}
	/* an offline session whose token was revoked gets nothing queued and
	 * no will (a live one is kicked; live checks skip this lookup) */
	revoked = mja_auth_revoked(s->cfg, e->principal) != MJA_OK;
	if (access != MJA_ACCESS_WRITE)
		return revoked ? MJA_DENY : acl_rules(s, e, topic, access, qos, retain, now, 0, &why);
	/* its will: denied if the token no longer held when it went; sent
	 * right away, judged by the rules alone; delayed, also by its exp */
	e->will_seen = 1;
	r = e->will_ok && !revoked ?
		acl_rules(s, e, topic, access, qos, retain, now, just_went, &why) : MJA_DENY;
	if (!e->durable)
		mja_clients_remove(s->clients, e->client);   /* the broker is done with it */
	return r == MJA_DEFER ? MJA_DENY : r;
}

static mja_decision acl_decide(mja_session *s, const mja_session_client *c,
		const char *topic, int access, int qos, int retain, int64_t now,
		mja_actions *a)
{
	const void *just_went;
	mja_client *e;
	mja_err why = MJA_OK;
	mja_decision r;

	just_went = s->just_went;
	event_begins(s);
	/* a reload's re-check pass asks for wills and deliveries only */
	if (access == MJA_ACCESS_SUBSCRIBE || access == MJA_ACCESS_UNSUBSCRIBE)
		close_window(s);
	e = mja_clients_find(s->clients, c->client);
	if (!e)
		return MJA_DEFER;   /* did not log in with a token */
	if (!topic)
		return MJA_DENY;
	/* Inside an expiry kick, the broker re-checks every subscription
	 * before it disconnects; a denial would strip a durable session of its
	 * subscriptions. Judge those by the rules alone: deliveries stay
	 * denied while the token is expired, and a fresh token resumes the
	 * session with its subscriptions. */
	if (e->state == MJA_CLIENT_KICKED && c->client == s->expiry_kick &&
	    access == MJA_ACCESS_SUBSCRIBE)
		return acl_rules(s, e, topic, access, qos, retain, now, 1, &why);
	if (e->state == MJA_CLIENT_KICKED)
		return MJA_DENY;     /* being disconnected */
	if (e->state == MJA_CLIENT_OFFLINE)
		return acl_offline(s, e, topic, access, qos, retain,
				just_went == c->client, now);
	r = acl_rules(s, e, topic, access, qos, retain, now, 0, &why);
	if (r != MJA_DENY)
		return r;
	/* without TICK the first ACL check after expiry denies and disconnects */
	if (why == MJA_ERR_EXPIRED && s->cfg->disconnect_on_expiry)
		kick_expired(s, c->client, now, a);   /* e is invalid after this */
	return MJA_DENY;
}

mja_decision mja_session_acl(mja_session *s, const mja_session_client *c,
		const char *topic, int access, int qos, int retain, int64_t now, int64_t ms,
		mja_actions *a)
{
	mja_decision r;

	if (!s || !c)
		return MJA_DENY;
	r = acl_decide(s, c, topic, access, qos, retain, now, a);
	if (r == MJA_DENY) {
		if (access == MJA_ACCESS_WRITE)
			s->stats.acl_denied[MJA_STATS_ACL_PUBLISH]++;
		else if (access == MJA_ACCESS_SUBSCRIBE)
			s->stats.acl_denied[MJA_STATS_ACL_SUBSCRIBE]++;
		else if (access == MJA_ACCESS_READ)
			s->stats.acl_denied[MJA_STATS_ACL_RECEIVE]++;
	}
	return r;
}

/* ---- disconnect, tick, reload, kicks ---- */

void mja_session_disconnect(mja_session *s, const void *client, int64_t now,
		int64_t ms, mja_actions *a)
{
	const mja_client *e;
	int will_ok;

	if (!s)
		return;
	/* its will, if sent at once, is the very next check (session.h) */
	s->just_went = client;
	s->reload_last = 0;
	for (size_t i = 0; i < s->n_holds;)
		if (s->holds[i].client == client)
			hold_remove(s, i);   /* never answered: the client is gone */
		else
			i++;
	e = mja_clients_get(s->clients, client);
	if (e) {
		if (e->state == MJA_CLIENT_OFFLINE) {
			mja_clients_remove(s->clients, client);   /* second: takeover */
		} else {
			/* the will may go if the token still held when the client
			 * went, or as the kick decided */
			will_ok = e->state == MJA_CLIENT_KICKED ? e->will_ok :
				!mja_auth_expired(s->cfg, e->principal, now);
			mja_clients_disconnect(s->clients, client, now, offline_until(s, e, now),
					will_ok);
		}
	}
	mja_clients_sweep(s->clients, now);
}

static int64_t tick_scan(mja_session *s, int64_t now, int64_t ms, mja_actions *a);

static int principal_revoked(const mja_principal *p, void *ctx)
{
	return mja_auth_revoked(ctx, p) == MJA_ERR_REVOKED;
}

/* Read revocation_file again if it changed (or if force: SIGHUP); log a
 * failure (the previous list stays); on a new list, unless force (the
 * broker's re-check follows then), kick the live clients it revokes. */
static void refresh_revocation(mja_session *s, int force, int64_t now, int64_t ms,
		mja_actions *a)
{
	mja_diag d = { 0 };
	int changed = 0;
	mja_err e;

	if (!s->cfg->revocation_file)
		return;
	e = mja_config_revoke_refresh(s->cfg, force, &changed, &d);
	if (e != MJA_OK) {
		logf_(a, MJA_LOG_ERR, "revocation list not reloaded, the previous list stays "
				"in force: %s", d.text[0] ? d.text : mja_strerror(e));
		return;
	}
	if (!changed)
		return;
	logf_(a, MJA_LOG_NOTICE, "revocation list loaded: %zu entries",
			mja_revoke_count(s->cfg->revoked));
	if (!force)
		s->stats.disconnects_revoked += mja_session_kick_if(s, principal_revoked, s->cfg,
				MJA_ERR_REVOKED, now, ms, a);
}

int64_t mja_session_tick(mja_session *s, int64_t now, int64_t ms, mja_actions *a)
{
	int64_t next;

	if (!s)
		return MJA_SESSION_TICK_MS;
	event_begins(s);
	s->tick_seen = 1;
	close_window(s);   /* the broker's re-check pass is over */
	/* the fetcher's new key set is swapped in here, on the broker's thread */
	jwks_update(s, now, a);
	complete_holds(s, now, ms, a);
	next = tick_scan(s, now, ms, a);
	/* checks still pending (session.h "Held CONNECTs"): after answers were
	 * taken in, TICK on the broker's next pass (their clients' packets
	 * wake it); else within MJA_SESSION_WORK_POLL_MS */
	if (s->workers && mja_workers_pending(s->workers))
		return s->work_done ? 0 : next > MJA_SESSION_WORK_POLL_MS ?
			MJA_SESSION_WORK_POLL_MS : next;
	return s->n_holds && next > MJA_SESSION_HOLD_POLL_MS ? MJA_SESSION_HOLD_POLL_MS : next;
}

static int64_t tick_scan(mja_session *s, int64_t now, int64_t ms, mja_actions *a)
{
	const mja_client *e;

	/* TICK comes about 10 times a second when idle and far more under
	 * load: scan at most once per MJA_SESSION_TICK_MS */
	if (ms - s->last_scan_ms < MJA_SESSION_TICK_MS) {
		/* until the next scan: at most a second (a clock set back
		 * counts from now) */
		int64_t left = MJA_SESSION_TICK_MS - (ms - s->last_scan_ms);

		if (left > MJA_SESSION_TICK_MS)
			s->last_scan_ms = ms, left = MJA_SESSION_TICK_MS;
		return left;
	}
	s->last_scan_ms = ms;
	mja_clients_sweep(s->clients, now);
	/* where the broker tells, a few offline entries per scan: those whose
	 * client it freed (with no event) go */
	for (int i = 0; s->alive && i < PROBES_PER_TICK && mja_clients_gone(s->clients); i++) {
		const mja_client *o;

		if (s->probe_cursor >= mja_clients_gone(s->clients))
			s->probe_cursor = 0;
		o = mja_clients_gone_nth(s->clients, s->probe_cursor);
		if (o->state == MJA_CLIENT_OFFLINE && !still_held(s, o))
			mja_clients_remove(s->clients, o->client);
		else
			s->probe_cursor++;
	}
	/* revocation_file: one stat(2); a changed file is read again and the
	 * live clients it now revokes are disconnected */
	refresh_revocation(s, 0, now, ms, a);
	if (!s->cfg->disconnect_on_expiry)
		return MJA_SESSION_TICK_MS;
	/* the schedule's top only: no scan of every client. Each kicked entry
	 * leaves the schedule, so the loop ends. */
	while ((e = mja_clients_next_expired(s->clients, now, s->cfg->leeway)))
		kick_expired(s, e->client, now, a);
	return MJA_SESSION_TICK_MS;
}

void mja_session_reload(mja_session *s, int64_t now, int64_t ms, mja_actions *a)
{
	mja_diag d;
	mja_err e;

	if (!s)
		return;
	mja_diag_clear(&d);
	s->just_went = NULL;
	/* the broker re-checks every client it holds right after this */
	s->window_open = 1;
	s->window_last_ms = ms;
	/* one instance on several listeners (2.1 plugin_use) gets one RELOAD
	 * per listener, in a row: one reload and one window for them */
	if (s->reload_last)
		return;
	s->reload_last = 1;
	s->window++;
	/* the revocation list first: the re-check that follows refuses the
	 * tokens it names */
	refresh_revocation(s, 1, now, ms, a);
	e = mja_config_reload(s->cfg, &d);
	if (d.warning[0])
		logf_(a, MJA_LOG_WARNING, "%s", d.warning);
	if (e != MJA_OK)
		logf_(a, MJA_LOG_ERR, "reload failed, the previous keys and ACL stay in "
				"force: %s", d.text[0] ? d.text : mja_strerror(e));
	else
		s->keys_changed = 1;   /* workers.h: pending checks are done again */
	if (e == MJA_OK)
		logf_(a, MJA_LOG_NOTICE, "reloaded: %zu key(s)%s",
				mja_keyset_count(s->cfg->files->keys),
				s->cfg->files->acl ? ", ACL" : "");
}

struct matching {
	int (*pred)(const mja_principal *p, void *ctx);
	void *ctx;
	const void **v;
	size_t n, cap;
	int nomem;
};

static int collect(const mja_client *e, void *arg)
{
	struct matching *m = arg;

	if (e->state != MJA_CLIENT_LIVE || !m->pred(e->principal, m->ctx))
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		const void **v = realloc(m->v, cap * sizeof(*v));

		if (!v) {
			m->nomem = 1;
			return 1;
		}
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = e->client;
	return 0;
}

size_t mja_session_kick_if(mja_session *s, int (*pred)(const mja_principal *p, void *ctx),
		void *ctx, mja_err reason, int64_t now, int64_t ms, mja_actions *a)
{
	struct matching m = { .pred = pred, .ctx = ctx };
	size_t kicked = 0;

	if (!s || !pred)
		return 0;
	/* collected first: kicking changes the registry */
	mja_clients_foreach(s->clients, collect, &m);
	if (m.nomem)
		a->lost = 1;
	for (size_t i = 0; i < m.n; i++) {
		const mja_client *e = mja_clients_get(s->clients, m.v[i]);
		char *id;

		if (!e || e->state != MJA_CLIENT_LIVE)
			continue;
		log_client(a, MJA_LOG_NOTICE, "disconnecting", e->clientid, e->address,
				mja_strerror(reason));
		id = e->clientid ? strdup(e->clientid) : NULL;
		if (e->clientid && !id)
			a->lost = 1;
		/* as for a token that no longer holds: its will is denied */
		kick(s, m.v[i], now, 0);
		push_kick(a, m.v[i], id, 0);
		free(id);
		kicked++;
	}
	free(m.v);
	return kicked;
}

void mja_session_kick_begin(mja_session *s, const void *client)
{
	const mja_client *e;

	if (!s)
		return;
	e = mja_clients_get(s->clients, client);
	/* an expiry kick: the only kick that keeps the will */
	s->expiry_kick = e && e->state == MJA_CLIENT_KICKED && e->will_ok ? client : NULL;
}

void mja_session_kick_end(mja_session *s)
{
	if (s)
		s->expiry_kick = NULL;
}
