/* mosquitto_jwt_verify.c - `mosquitto_jwt verify`: would the broker accept this token?
 *
 * The decision is the plugin's own: the options go through mja_config_parse()
 * (config.c), the CONNECT decision is mja_auth_connect() and each topic
 * decision mja_auth_acl() (auth.c), the calls the session module makes;
 * the reasons printed are mja_strerror() words, the ones in the broker log.
 * Options come from a mosquitto.conf (mosqconf.c reads its plugin lines) or
 * from the command line.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mja/topic/acl.h"
#include "mja/session/auth.h"
#include "mja/session/config.h"
#include "mja/tool/mosqconf.h"
#include "mja/topic/topic.h"
#include "mosquitto_jwt.h"

#define CMD "verify"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: mosquitto_jwt verify [--config FILE | options] [TOKEN | -]\n"
		"\n"
		"Check a token as the plugin would at CONNECT, with the same options and\n"
		"the same code, and say why it would be refused. The token is read from\n"
		"stdin when TOKEN is '-' or missing (trailing newlines stripped).\n"
		"\n"
		"Where the plugin options come from:\n"
		"  --config FILE        a mosquitto.conf: the plugin_opt_* lines after the\n"
		"                       plugin line that loads mosquitto_jwt_auth.so (or the\n"
		"                       only plugin line); include_dir is followed. Relative\n"
		"                       paths are relative to the current directory, as for\n"
		"                       a broker started here.\n"
		"  --instance N         the N-th such plugin line (default 1), e.g. with\n"
		"                       per_listener_settings true\n"
		"  --opt KEY=VALUE      a plugin option (as plugin_opt_KEY VALUE), repeatable;\n"
		"                       added after those of --config\n"
		"  --key-file F  --secret-file F  --acl-file F  --algorithms L  --issuer L\n"
		"  --audience L  --leeway S  --require-claims L  --max-token-age S\n"
		"  --roles-claim P  --token-field password|username  --username-match off|sub\n"
		"  --clientid-match off|sub  --non-jwt defer|deny  --max-token-bytes N\n"
		"  --acl-claim NAME  --superuser-claim NAME  --claim-match NAME=TEMPLATE\n"
		"                       the same as --opt key_file=F and so on\n"
		"\n"
		"The client:\n"
		"  --client-id ID       MQTT client id (clientid_match, %%c in the ACL,\n"
		"                       ${clientid} in the acl claim and claim_match)\n"
		"  --username NAME      MQTT username (username_match, ${username} in\n"
		"                       claim_match; %%u in the ACL and ${username} in the\n"
		"                       acl claim are the sub)\n"
		"  --acl-topic TOPIC    repeatable: print whether the token's subject may\n"
		"                       publish to, subscribe to and receive TOPIC, as the\n"
		"                       broker decides with acl_file, acl_claim and\n"
		"                       superuser_claim\n"
		"  --qos N              the QoS of that publish and subscription (default 0;\n"
		"                       the acl claim's \"qos\" conditions use it)\n"
		"  --retain             that publish is retained (the acl claim's \"retain\")\n"
		"  --now SECONDS        the clock, seconds since 1970 (default: system clock)\n"
		"  -h, --help           this text\n"
		"\n"
		"Output (stdout): 'valid' and the sub, exp and roles (and, when configured,\n"
		"superuser and the acl claim's format and size); or 'refused: REASON'\n"
		"with the reason the broker logs (expired, bad signature, unknown kid,\n"
		"bad acl claim (DETAIL), ...);\n"
		"or 'deferred: REASON' when the plugin would leave the password to other\n"
		"authentication (non_jwt defer). With --acl-topic, one line per topic:\n"
		"  acl TOPIC: publish allow|deny|n/a, subscribe allow|deny, receive allow|deny|n/a\n"
		"(n/a: a filter with wildcards is only subscribed to).\n"
		"\n"
		"Keys from jwks_url and oidc_issuer are fetched once, as the plugin\n"
		"fetches them (what the fetch logs goes to stderr); a failed fetch leaves\n"
		"those keys unavailable ('refused: keys unavailable').\n"
		"\n"
		"Exit codes: 0 accepted, 1 refused or deferred, 2 usage error, 3 the\n"
		"configuration, a key file or the ACL file cannot be used.\n");
}

/* The JWKS fetch's log lines (first success, failures) on stderr. */
static void log_jwks(void *ctx, int level, const char *msg)
{
	fprintf(stderr, "mosquitto_jwt " CMD ": %s\n", msg);
}

/* Options given as flags: the flag is the option name with '-' for '_'. */
static const char *const flag_opts[] = {
	"key_file", "secret_file", "acl_file", "algorithms", "issuer", "audience",
	"leeway", "require_claims", "max_token_age", "roles_claim", "token_field",
	"username_match", "clientid_match", "non_jwt", "max_token_bytes",
	"acl_claim", "superuser_claim", "claim_match",
};
#define N_FLAG_OPTS (sizeof(flag_opts) / sizeof(flag_opts[0]))
#define FLAG_BASE 1000

struct opt_src {
	const char *file;   /* NULL: command line */
	size_t line;
};

struct opts {
	mja_config_opt *v;
	struct opt_src *src;
	size_t n;
	char **owned;       /* "KEY" copies made from --opt KEY=VALUE */
	size_t n_owned;
};

static int opts_push(struct opts *o, const char *key, const char *value, const char *file, size_t line)
{
	mja_config_opt *nv = realloc(o->v, (o->n + 1) * sizeof(*nv));
	struct opt_src *ns;

	if (!nv)
		return -1;
	o->v = nv;
	ns = realloc(o->src, (o->n + 1) * sizeof(*ns));
	if (!ns)
		return -1;
	o->src = ns;
	o->v[o->n] = (mja_config_opt){ key, value };
	o->src[o->n] = (struct opt_src){ file, line };
	o->n++;
	return 0;
}

/* --opt KEY=VALUE: the key is copied (the value stays in argv). */
static int opts_push_arg(struct opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char **no, *key;

	if (!eq || eq == arg)
		return 1;
	key = strndup(arg, (size_t)(eq - arg));
	no = realloc(o->owned, (o->n_owned + 1) * sizeof(*no));
	if (!key || !no) {
		free(key);
		if (no)
			o->owned = no;
		return -1;
	}
	o->owned = no;
	o->owned[o->n_owned++] = key;
	return opts_push(o, key, eq + 1, NULL, 0);
}

static void opts_free(struct opts *o)
{
	for (size_t i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	free(o->owned);
	free(o->v);
	free(o->src);
}

/* Say where the option a config diagnostic names ("option NAME ...") came
 * from: the line of the first such option whose value the message quotes,
 * else of the first with that name. */
static void report_config_error(const struct opts *o, const mja_diag *d, mja_err e)
{
	const char *msg = d->text[0] ? d->text : mja_strerror(e);
	size_t best = SIZE_MAX;

	if (!strncmp(msg, "option ", 7)) {
		size_t klen = strcspn(msg + 7, " :");

		for (size_t i = 0; i < o->n; i++) {
			if (strlen(o->v[i].key) != klen || strncmp(o->v[i].key, msg + 7, klen))
				continue;
			if (best == SIZE_MAX)
				best = i;
			if (o->v[i].value[0] && strstr(msg, o->v[i].value)) {
				best = i;
				break;
			}
		}
	}
	if (best != SIZE_MAX && o->src[best].file)
		mjt_error(CMD, "%s:%zu: %s", o->src[best].file, o->src[best].line, msg);
	else
		mjt_error(CMD, "%s", msg);
}

static int load_conf(const char *path, size_t instance, mja_mosqconf **mc, struct opts *o)
{
	const mja_mosqconf_plugin *p;
	mja_diag d = { 0 };
	mja_err e;

	e = mja_mosqconf_load_file(path, mc, &d);
	if (e == MJA_OK)
		e = mja_mosqconf_find_plugin(*mc, instance, &p, &d);
	if (e != MJA_OK) {
		mjt_error(CMD, "%s", d.text[0] ? d.text : mja_strerror(e));
		return MJT_EXIT_IO;
	}
	for (size_t i = 0; i < p->n_opts; i++) {
		if (opts_push(o, p->opts[i].key, p->opts[i].value, p->opts[i].file, p->opts[i].line)) {
			mjt_error(CMD, "out of memory");
			return MJT_EXIT_IO;
		}
	}
	return MJT_EXIT_OK;
}

static const char *word(mja_decision r)
{
	return r == MJA_ALLOW ? "allow" : "deny";
}

static void print_acl(const mja_config *cfg, const mja_principal *p, const char *clientid,
		const char *username, const char *topic, int qos, int retain, int64_t now)
{
	size_t len = strlen(topic);
	/* as in the broker: a token client's username is its sub (session.h
	 * "Usernames"), whatever it sent */
	const char *u = p->sub;
	mja_err why;
	mja_decision sub;

	sub = mja_auth_acl(cfg, p, clientid, u, topic, len, MJA_ACCESS_SUBSCRIBE, qos, 0,
			now, 0, &why);
	printf("acl %s: ", topic);
	if (!mja_topic_valid(topic, len)) {
		/* a filter: only SUBSCRIBE applies (the broker never asks READ or
		 * WRITE for a name with wildcards) */
		printf("publish n/a, subscribe %s, receive n/a\n", word(sub));
		return;
	}
	printf("publish %s, ", word(mja_auth_acl(cfg, p, clientid, u, topic, len,
			MJA_ACCESS_WRITE, qos, retain, now, 0, &why)));
	printf("subscribe %s, ", word(sub));
	printf("receive %s\n", word(mja_auth_acl(cfg, p, clientid, u, topic, len,
			MJA_ACCESS_READ, qos, 0, now, 0, &why)));
}

static void print_valid(const mja_config *cfg, const mja_principal *p, int64_t now)
{
	char iso[40], rel[48];

	printf("valid\n");
	printf("sub: %s\n", p->sub);
	if (p->has_exp)
		printf("exp: %lld %s (%s)\n", (long long)p->exp, mjt_iso_time(p->exp, iso, sizeof(iso)),
				mjt_relative_time(p->exp, now, rel, sizeof(rel)));
	else
		printf("exp: none\n");
	printf("roles: [");
	for (size_t i = 0; i < p->n_roles; i++) {
		json_t *s = json_string(p->roles[i]);
		char *t = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;

		printf("%s%s", i ? ", " : "", t ? t : "?");
		free(t);
		json_decref(s);
	}
	printf("]\n");
	if (cfg->superuser_claim)
		printf("superuser: %s\n", p->superuser ? "yes" : "no");
	if (cfg->acl_claim && !p->acl_claim)
		printf("acl claim: absent\n");
	else if (p->acl_claim && mja_aclclaim_format(p->acl_claim) == 1)
		printf("acl claim: object format, %zu filter%s\n",
				mja_aclclaim_rule_count(p->acl_claim),
				mja_aclclaim_rule_count(p->acl_claim) == 1 ? "" : "s");
	else if (p->acl_claim)
		printf("acl claim: array format, %zu rule%s\n",
				mja_aclclaim_rule_count(p->acl_claim),
				mja_aclclaim_rule_count(p->acl_claim) == 1 ? "" : "s");
}

int mjt_verify(int argc, char **argv)
{
	struct option lopts[N_FLAG_OPTS + 11];
	char flag_names[N_FLAG_OPTS][32];
	const char *conf = NULL, *clientid = NULL, *username = NULL;
	const char **topics = NULL, **nt;
	size_t n_topics = 0, nl = 0;
	int64_t now = (int64_t)time(NULL), instance = 1, qos = 0;
	int retain = 0;
	struct opts o = { 0 };
	mja_mosqconf *mc = NULL;
	mja_config *cfg = NULL;
	mja_principal *p = NULL;
	mja_diag d = { 0 };
	mja_decision r;
	mja_err e, why = MJA_OK;
	char *tok = NULL;
	size_t toklen;
	int c, rc = MJT_EXIT_USAGE;

	for (size_t i = 0; i < N_FLAG_OPTS; i++) {
		size_t j;

		for (j = 0; flag_opts[i][j] && j + 1 < sizeof(flag_names[i]); j++)
			flag_names[i][j] = flag_opts[i][j] == '_' ? '-' : flag_opts[i][j];
		flag_names[i][j] = '\0';
		lopts[nl++] = (struct option){ flag_names[i], required_argument, NULL, FLAG_BASE + (int)i };
	}
	lopts[nl++] = (struct option){ "config", required_argument, NULL, 'c' };
	lopts[nl++] = (struct option){ "instance", required_argument, NULL, 'I' };
	lopts[nl++] = (struct option){ "opt", required_argument, NULL, 'o' };
	lopts[nl++] = (struct option){ "client-id", required_argument, NULL, 'i' };
	lopts[nl++] = (struct option){ "username", required_argument, NULL, 'u' };
	lopts[nl++] = (struct option){ "acl-topic", required_argument, NULL, 't' };
	lopts[nl++] = (struct option){ "now", required_argument, NULL, 'n' };
	lopts[nl++] = (struct option){ "qos", required_argument, NULL, 'q' };
	lopts[nl++] = (struct option){ "retain", no_argument, NULL, 'r' };
	lopts[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[nl] = (struct option){ NULL, 0, NULL, 0 };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		if (c >= FLAG_BASE && c < FLAG_BASE + (int)N_FLAG_OPTS) {
			if (opts_push(&o, flag_opts[c - FLAG_BASE], optarg, NULL, 0))
				goto nomem;
			continue;
		}
		switch (c) {
		case 'c':
			if (conf) {
				mjt_error(CMD, "--config given twice");
				goto out;
			}
			conf = optarg;
			break;
		case 'I':
			if (mjt_parse_int64(optarg, 1, 1000000, &instance) != 0) {
				mjt_error(CMD, "--instance: not a positive number: '%s'", optarg);
				goto out;
			}
			break;
		case 'o': {
			int r2 = opts_push_arg(&o, optarg);

			if (r2 > 0) {
				mjt_error(CMD, "--opt '%s': expected KEY=VALUE", optarg);
				goto out;
			}
			if (r2 < 0)
				goto nomem;
			break;
		}
		case 'i': clientid = optarg; break;
		case 'u': username = optarg; break;
		case 't':
			nt = realloc(topics, (n_topics + 1) * sizeof(*nt));
			if (!nt)
				goto nomem;
			topics = nt;
			topics[n_topics++] = optarg;
			break;
		case 'n':
			if (mjt_parse_int64(optarg, 0, INT64_MAX / 4, &now) != 0) {
				mjt_error(CMD, "--now: not a time in seconds: '%s'", optarg);
				goto out;
			}
			break;
		case 'q':
			if (mjt_parse_int64(optarg, 0, 2, &qos) != 0) {
				mjt_error(CMD, "--qos: not 0, 1 or 2: '%s'", optarg);
				goto out;
			}
			break;
		case 'r': retain = 1; break;
		case 'h': help(stdout); rc = MJT_EXIT_OK; goto out;
		default: rc = mjt_bad_option(CMD, c, argv); goto out;
		}
	}
	if (argc - optind > 1) {
		mjt_error(CMD, "one token at a time");
		goto out;
	}
	if (!conf && o.n == 0) {
		mjt_error(CMD, "give --config FILE or the plugin options (--key-file, --opt ...)");
		goto out;
	}
	if (conf) {
		/* the config's options first, so --opt adds to them */
		struct opts cmdline = o;

		o = (struct opts){ 0 };
		o.owned = cmdline.owned;
		o.n_owned = cmdline.n_owned;
		rc = load_conf(conf, (size_t)instance - 1, &mc, &o);
		for (size_t i = 0; rc == MJT_EXIT_OK && i < cmdline.n; i++)
			if (opts_push(&o, cmdline.v[i].key, cmdline.v[i].value, NULL, 0))
				rc = MJT_EXIT_IO;
		free(cmdline.v);
		free(cmdline.src);
		if (rc != MJT_EXIT_OK)
			goto out;
	}
	rc = mjt_get_token(CMD, optind < argc ? argv[optind] : NULL, &tok, &toklen);
	if (rc != MJT_EXIT_OK)
		goto out;

	e = mja_config_parse(o.v, o.n, &cfg, &d);
	if (d.warning[0])
		fprintf(stderr, "mosquitto_jwt %s: warning: %s\n", CMD, d.warning);
	if (e != MJA_OK) {
		report_config_error(&o, &d, e);
		rc = MJT_EXIT_IO;
		goto out;
	}

	/* keys from jwks_url / oidc_issuer: fetched once, here and now, by the
	 * plugin's own fetch code (what it logs goes to stderr) */
	mja_config_jwks_fetch_once(cfg, now, log_jwks, NULL);

	if (cfg->token_field == MJA_TOKEN_FIELD_USERNAME && username) {
		mjt_error(CMD, "--username: with token_field username the token is the username");
		rc = MJT_EXIT_USAGE;
		goto out;
	}
	/* The broker passes the password (or username) as a C string: an
	 * embedded NUL ends it there, so the tool does the same. */
	if (cfg->token_field == MJA_TOKEN_FIELD_USERNAME)
		r = mja_auth_connect(cfg, tok, NULL, clientid, now, &p, &why);
	else
		r = mja_auth_connect(cfg, username, tok, clientid, now, &p, &why);
	if (r == MJA_ALLOW) {
		print_valid(cfg, p, now);
		if (n_topics && !mja_config_topic_decisions(cfg))
			printf("acl: no acl_file, acl_claim or superuser_claim: the plugin "
					"makes no topic decisions (Mosquitto's own rules apply)\n");
		for (size_t i = 0; mja_config_topic_decisions(cfg) && i < n_topics; i++)
			print_acl(cfg, p, clientid, username, topics[i], (int)qos, retain, now);
		rc = MJT_EXIT_OK;
	} else if (r == MJA_DEFER) {
		printf("deferred: %s (non_jwt defer: the plugin leaves it to other authentication)\n",
				mja_strerror(tok[0] ? MJA_ERR_NOT_JWT : MJA_ERR_NO_TOKEN));
		rc = MJT_EXIT_REFUSED;
	} else {
		/* with the broker log's detail (auth.h mja_auth_detail) */
		if ((why == MJA_ERR_BAD_ACL_CLAIM || why == MJA_ERR_CLAIM_MISMATCH) &&
				mja_auth_detail()[0])
			printf("refused: %s (%s)\n", mja_strerror(why), mja_auth_detail());
		else
			printf("refused: %s\n", mja_strerror(why));
		rc = MJT_EXIT_REFUSED;
	}
	goto out;
nomem:
	mjt_error(CMD, "out of memory");
	rc = MJT_EXIT_IO;
out:
	mja_principal_free(p);
	mja_config_free(cfg);
	mja_mosqconf_free(mc);
	opts_free(&o);
	free(topics);
	free(tok);
	return rc;
}
