/* mqtt_load.c - an MQTT load generator on libmosquitto's non-blocking API,
 * for the broker benchmark (bench/broker_bench.py drives it).
 *
 *   mqtt_load connect --port P --count N --concurrency C --creds FILE [--v5]
 *       N connections, C at a time: CONNECT, wait for CONNACK, DISCONNECT.
 *       Prints {"mode":"connect","ok":..,"refused":..,"errors":..,"seconds":..,"rate":..}
 *   mqtt_load publish --port P --messages M --size S --topic T --filter F
 *                     --creds FILE [--v5]
 *       One subscriber on F, one publisher sending M QoS 0 messages to T,
 *       then a QoS 1 end marker; the rate is messages received per second.
 *       Prints {"mode":"publish","sent":..,"received":..,"seconds":..,"rate":..}
 *   mqtt_load latency --port P --seconds S --interval-us U --topic T --creds FILE [--v5]
 *       One client subscribed to T publishes a QoS 0 message to T every U
 *       microseconds for S seconds (the payload is its send time) and
 *       measures each message's publish-to-receive latency.
 *       Prints {"mode":"latency","sent":..,"received":..,"samples":[[t,lat],...]}
 *       t: send time (CLOCK_MONOTONIC seconds), lat: seconds.
 *
 * FILE has one credential a line: "USERNAME<TAB>PASSWORD" ("-" for none);
 * connection k uses line k modulo the number of lines. The publisher uses
 * line 0 and the subscriber line 1 (or line 0 if there is one).
 * Only 127.0.0.1 is ever contacted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#define HOST "127.0.0.1"
#define WINDOW 500

struct cred { char *user, *pass; };

static struct cred *creds;
static size_t ncreds;
static int port = 1883, v5, keepalive = 60;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load_creds(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		perror(path);
		exit(2);
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char *tab;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		tab = strchr(line, '\t');
		if (!tab) {
			fprintf(stderr, "%s: line without a tab\n", path);
			exit(2);
		}
		*tab = '\0';
		creds = realloc(creds, (ncreds + 1) * sizeof(*creds));
		if (!creds)
			exit(2);
		creds[ncreds].user = strcmp(line, "-") ? strdup(line) : NULL;
		creds[ncreds].pass = strcmp(tab + 1, "-") ? strdup(tab + 1) : NULL;
		ncreds++;
	}
	free(line);
	fclose(f);
	if (ncreds == 0) {
		fprintf(stderr, "%s: no credentials\n", path);
		exit(2);
	}
}

static struct mosquitto *client_new(const char *id, void *obj, size_t credidx)
{
	struct mosquitto *m = mosquitto_new(id, true, obj);
	struct cred *c = &creds[credidx % ncreds];

	if (!m)
		exit(2);
	if (v5)
		mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	if (c->user || c->pass)
		mosquitto_username_pw_set(m, c->user, c->pass);
	return m;
}

/* ---- connect storm ---- */

enum { S_IDLE, S_WAIT, S_DONE };

struct slot {
	struct mosquitto *m;
	int state;
	int rc;
};

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct slot *s = obj;

	s->rc = rc;
	s->state = S_DONE;
}

static int run_connect(long count, int conc)
{
	struct slot *slots = calloc((size_t)conc, sizeof(*slots));
	struct pollfd *pfd = calloc((size_t)conc, sizeof(*pfd));
	long started = 0, finished = 0, ok = 0, refused = 0, errors = 0;
	double t0, dt;
	int i;

	if (!slots || !pfd)
		return 2;
	t0 = now_s();
	while (finished < count) {
		for (i = 0; i < conc; i++) {
			struct slot *s = &slots[i];
			char id[64];

			if (s->state != S_IDLE || started >= count)
				continue;
			snprintf(id, sizeof(id), "bench-%d-%ld", i, started);
			s->m = client_new(id, s, (size_t)started);
			mosquitto_connect_callback_set(s->m, on_connect);
			started++;
			if (mosquitto_connect(s->m, HOST, port, keepalive) != MOSQ_ERR_SUCCESS) {
				mosquitto_destroy(s->m);
				s->m = NULL;
				errors++;
				finished++;
				continue;
			}
			s->state = S_WAIT;
		}
		for (i = 0; i < conc; i++) {
			pfd[i].fd = slots[i].state == S_WAIT ? mosquitto_socket(slots[i].m) : -1;
			pfd[i].events = POLLIN | (pfd[i].fd >= 0 && mosquitto_want_write(slots[i].m) ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)conc, 10000) <= 0) {
			fprintf(stderr, "connect: timed out waiting for the broker\n");
			return 1;
		}
		for (i = 0; i < conc; i++) {
			struct slot *s = &slots[i];
			int rc = MOSQ_ERR_SUCCESS;

			if (s->state != S_WAIT || pfd[i].revents == 0)
				continue;
			if (pfd[i].revents & POLLOUT)
				rc = mosquitto_loop_write(s->m, 1);
			if (rc == MOSQ_ERR_SUCCESS && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				rc = mosquitto_loop_read(s->m, 1);
			if (s->state == S_DONE) {
				if (s->rc == 0) {
					ok++;
					mosquitto_disconnect(s->m);
					mosquitto_loop_write(s->m, 1);
				} else {
					refused++;
				}
			} else if (rc != MOSQ_ERR_SUCCESS) {
				errors++;   /* closed before CONNACK */
			} else {
				continue;
			}
			mosquitto_destroy(s->m);
			s->m = NULL;
			s->state = S_IDLE;
			finished++;
		}
	}
	dt = now_s() - t0;
	printf("{\"mode\":\"connect\",\"ok\":%ld,\"refused\":%ld,\"errors\":%ld,"
		"\"seconds\":%.4f,\"rate\":%.1f}\n", ok, refused, errors, dt, (double)ok / dt);
	free(slots);
	free(pfd);
	return 0;
}

/* ---- publish throughput ---- */

struct pubstate {
	int connected, subscribed, end;
	long received;
	double first, last;
};

static void on_connect_ps(struct mosquitto *m, void *obj, int rc)
{
	struct pubstate *p = obj;

	p->connected = rc == 0 ? 1 : -1;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct pubstate *p = obj;

	p->subscribed = (n == 1 && granted[0] < 128) ? 1 : -1;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct pubstate *p = obj;

	if (msg->payloadlen == 3 && !memcmp(msg->payload, "END", 3)) {
		p->end = 1;
		p->last = now_s();
		return;
	}
	if (p->received++ == 0)
		p->first = now_s();
}

/* Service the clients until *flag != 0 (then 0) or for `timeout` seconds
 * (then -1); always at least one poll pass, so timeout 0 means "handle
 * what is ready now". */
static int pump(struct mosquitto **ms, int n, int *flag, double timeout)
{
	double deadline = now_s() + timeout;
	struct pollfd pfd[2];
	int i;

	for (;;) {
		int wait_ms = timeout > 0 ? 100 : 0;

		for (i = 0; i < n; i++) {
			pfd[i].fd = mosquitto_socket(ms[i]);
			pfd[i].events = POLLIN | (mosquitto_want_write(ms[i]) ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < n; i++) {
			if (pfd[i].revents & POLLOUT)
				if (mosquitto_loop_write(ms[i], 1) != MOSQ_ERR_SUCCESS)
					return -1;
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				if (mosquitto_loop_read(ms[i], 1) != MOSQ_ERR_SUCCESS)
					return -1;
			mosquitto_loop_misc(ms[i]);
		}
		if (*flag)
			return 0;
		if (now_s() >= deadline)
			return -1;
	}
}

static int run_publish(long messages, int size, const char *topic, const char *filter)
{
	struct pubstate ps = {0}, ss = {0};
	struct mosquitto *pub, *sub, *both[2];
	char *payload = malloc((size_t)size + 1);
	long sent = 0;
	double t0, dt;

	if (!payload)
		return 2;
	memset(payload, 'x', (size_t)size);
	sub = client_new("bench-sub", &ss, ncreds > 1 ? 1 : 0);
	pub = client_new("bench-pub", &ps, 0);
	mosquitto_connect_callback_set(sub, on_connect_ps);
	mosquitto_connect_callback_set(pub, on_connect_ps);
	mosquitto_subscribe_callback_set(sub, on_subscribe);
	mosquitto_message_callback_set(sub, on_message);
	if (mosquitto_connect(sub, HOST, port, keepalive) || mosquitto_connect(pub, HOST, port, keepalive)) {
		fprintf(stderr, "publish: cannot connect\n");
		return 1;
	}
	both[0] = sub;
	both[1] = pub;
	if (pump(both, 2, &ss.connected, 10) || ss.connected < 0 ||
	    pump(both, 2, &ps.connected, 10) || ps.connected < 0) {
		fprintf(stderr, "publish: CONNECT refused\n");
		return 1;
	}
	mosquitto_subscribe(sub, NULL, filter, 1);
	if (pump(both, 2, &ss.subscribed, 10) || ss.subscribed < 0) {
		fprintf(stderr, "publish: SUBSCRIBE refused\n");
		return 1;
	}
	t0 = now_s();
	while (sent < messages) {
		int zero = 0, k;

		/* Publish in batches, draining the outgoing queue between them
		 * so memory stays bounded, and keep at most WINDOW messages in
		 * flight so that the broker never drops QoS 0 messages for a slow
		 * subscriber: the rate is then the broker's, not the drop rate. */
		if (sent - ss.received >= WINDOW) {
			pump(both, 2, &zero, 0);
			continue;
		}
		for (k = 0; k < 100 && sent < messages; k++, sent++)
			mosquitto_publish(pub, NULL, topic, size, payload, 0, false);
		while (mosquitto_want_write(pub))
			if (mosquitto_loop_write(pub, 1) != MOSQ_ERR_SUCCESS)
				break;
		pump(both, 2, &zero, 0);  /* one pass: read what has arrived */
	}
	mosquitto_publish(pub, NULL, topic, 3, "END", 1, false);
	if (pump(both, 2, &ss.end, 60)) {
		fprintf(stderr, "publish: end marker not received\n");
		return 1;
	}
	dt = ss.last - t0;
	printf("{\"mode\":\"publish\",\"sent\":%ld,\"received\":%ld,\"seconds\":%.4f,\"rate\":%.1f}\n",
		sent, ss.received, dt, (double)ss.received / dt);
	mosquitto_disconnect(pub);
	mosquitto_disconnect(sub);
	mosquitto_loop_write(pub, 1);
	mosquitto_loop_write(sub, 1);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	free(payload);
	return 0;
}

/* ---- publish-to-receive latency of one client ---- */

struct latstate {
	int connected, subscribed;
	long received, cap;
	double *t, *lat;
};

static void on_message_lat(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct latstate *l = obj;
	double sent;

	if (msg->payloadlen != (int)sizeof(sent) || l->received >= l->cap)
		return;
	memcpy(&sent, msg->payload, sizeof(sent));
	l->t[l->received] = sent;
	l->lat[l->received] = now_s() - sent;
	l->received++;
}

static void on_subscribe_lat(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct latstate *l = obj;

	l->subscribed = (n == 1 && granted[0] < 128) ? 1 : -1;
}

static void on_connect_lat(struct mosquitto *m, void *obj, int rc)
{
	struct latstate *l = obj;

	l->connected = rc == 0 ? 1 : -1;
}

static int run_latency(double seconds, long interval_us, const char *topic)
{
	struct latstate ls = {0};
	struct mosquitto *m;
	double t0, next, end, drain_end;
	long sent = 0;

	ls.cap = (long)(seconds * 1e6 / (double)interval_us) + 16;
	ls.t = calloc((size_t)ls.cap, sizeof(double));
	ls.lat = calloc((size_t)ls.cap, sizeof(double));
	if (!ls.t || !ls.lat)
		return 2;
	m = client_new("bench-latency", &ls, 0);
	mosquitto_connect_callback_set(m, on_connect_lat);
	mosquitto_subscribe_callback_set(m, on_subscribe_lat);
	mosquitto_message_callback_set(m, on_message_lat);
	if (mosquitto_connect(m, HOST, port, keepalive) ||
	    pump(&m, 1, &ls.connected, 10) || ls.connected < 0) {
		fprintf(stderr, "latency: cannot connect\n");
		return 1;
	}
	mosquitto_subscribe(m, NULL, topic, 0);
	if (pump(&m, 1, &ls.subscribed, 10) || ls.subscribed < 0) {
		fprintf(stderr, "latency: SUBSCRIBE refused\n");
		return 1;
	}
	t0 = next = now_s();
	end = t0 + seconds;
	drain_end = end + 1.0;
	for (;;) {
		double now = now_s(), wait;
		struct pollfd pfd;
		struct timespec ts;

		if (now >= end && (ls.received >= sent || now >= drain_end))
			break;
		if (now < end && now >= next) {
			mosquitto_publish(m, NULL, topic, (int)sizeof(now), &now, 0, false);
			sent++;
			next += (double)interval_us / 1e6;
			while (mosquitto_want_write(m))
				if (mosquitto_loop_write(m, 1) != MOSQ_ERR_SUCCESS)
					break;
			continue;
		}
		wait = now < end ? next - now : drain_end - now;
		if (wait < 0)
			wait = 0;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		pfd.fd = mosquitto_socket(m);
		pfd.events = POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0);
		pfd.revents = 0;
		if (ppoll(&pfd, 1, &ts, NULL) < 0 && errno != EINTR)
			return 1;
		if (pfd.revents & POLLOUT)
			mosquitto_loop_write(m, 1);
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			if (mosquitto_loop_read(m, 1) != MOSQ_ERR_SUCCESS)
				return 1;
		mosquitto_loop_misc(m);
	}
	printf("{\"mode\":\"latency\",\"sent\":%ld,\"received\":%ld,\"samples\":[", sent,
			ls.received);
	for (long i = 0; i < ls.received; i++)
		printf("%s[%.6f,%.7f]", i ? "," : "", ls.t[i], ls.lat[i]);
	printf("]}\n");
	mosquitto_disconnect(m);
	mosquitto_loop_write(m, 1);
	mosquitto_destroy(m);
	free(ls.t);
	free(ls.lat);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mqtt_load connect --port P --count N --concurrency C --creds FILE [--v5]\n"
		"       mqtt_load publish --port P --messages M --size S --topic T --filter F --creds FILE [--v5]\n"
		"       mqtt_load latency --port P --seconds S --interval-us U --topic T --creds FILE [--v5]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long count = 1000, messages = 100000, interval_us = 1000;
	double seconds = 2.0;
	int conc = 20, size = 64, i, rc;
	const char *mode, *topic = "bench/t", *filter = "bench/#", *credfile = NULL;

	if (argc < 2)
		usage();
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--v5")) {
			v5 = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--port")) port = atoi(v);
		else if (!strcmp(a, "--count")) count = atol(v);
		else if (!strcmp(a, "--concurrency")) conc = atoi(v);
		else if (!strcmp(a, "--messages")) messages = atol(v);
		else if (!strcmp(a, "--size")) size = atoi(v);
		else if (!strcmp(a, "--topic")) topic = v;
		else if (!strcmp(a, "--filter")) filter = v;
		else if (!strcmp(a, "--creds")) credfile = v;
		else if (!strcmp(a, "--seconds")) seconds = atof(v);
		else if (!strcmp(a, "--interval-us")) interval_us = atol(v);
		else usage();
	}
	if (!credfile || port <= 0 || count <= 0 || conc <= 0 || size < 0 || messages <= 0 ||
	    seconds <= 0 || interval_us <= 0)
		usage();
	load_creds(credfile);
	mosquitto_lib_init();
	if (!strcmp(mode, "connect"))
		rc = run_connect(count, conc);
	else if (!strcmp(mode, "publish"))
		rc = run_publish(messages, size, topic, filter);
	else if (!strcmp(mode, "latency"))
		rc = run_latency(seconds, interval_us, topic);
	else
		usage();
	mosquitto_lib_cleanup();
	return rc;
}
