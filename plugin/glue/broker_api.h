/* broker_api.h - the Mosquitto plugin API headers, for every supported
 * broker line from one source tree.
 *
 * Mosquitto 2.1 installs its headers as <mosquitto/broker.h>,
 * <mosquitto/broker_plugin.h> and the umbrella <mosquitto.h>; the 2.0 names
 * (<mosquitto_broker.h>, <mosquitto_plugin.h>) still exist there but emit
 * #warning. 2.0.x has only the old names, and its <mosquitto_plugin.h>
 * needs <mosquitto_broker.h> first (mosquitto_plugin_id_t) before 2.0.13.
 * __has_include picks the right set at compile time; MJA_MOSQ_HEADERS_2_1
 * says which one was taken (1: 2.1 or later, 0: 2.0.x).
 */
#ifndef MJA_BROKER_API_H
#define MJA_BROKER_API_H

#ifdef __has_include
#if __has_include(<mosquitto/broker.h>)
#define MJA_MOSQ_HEADERS_2_1 1
#endif
#endif

#ifdef MJA_MOSQ_HEADERS_2_1
#include <mosquitto.h>
#include <mosquitto/broker.h>
#include <mosquitto/broker_plugin.h>
#else
#define MJA_MOSQ_HEADERS_2_1 0
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>
#endif

/* The broker's API lives in the mosquitto executable, not in a library we
 * could link: weak references keep -Wl,-z,defs useful for our own symbols
 * and are resolved by the dynamic linker against the broker at dlopen.
 * mja_glue__api_present() checks that they were. */
#pragma weak mosquitto_log_printf
#pragma weak mosquitto_client_id
#pragma weak mosquitto_client_address
#pragma weak mosquitto_client_username
#pragma weak mosquitto_client_clean_session
#pragma weak mosquitto_set_username
#pragma weak mosquitto_kick_client_by_clientid
#pragma weak mosquitto_callback_register
#pragma weak mosquitto_callback_unregister
#pragma weak mosquitto_broker_publish

/* Optional: present on some broker lines only, so not part of
 * mja_glue__api_present(); a caller tests the address first.
 * mosquitto_client: 2.1's lookup of the client holding a client id (not
 * declared by 2.0's headers; NULL there). */
#if !MJA_MOSQ_HEADERS_2_1
struct mosquitto *mosquitto_client(const char *clientid);
#endif
#pragma weak mosquitto_client

/* mosquitto_client_port: 2.1's listener port of a client (2.0 has no
 * such function; NULL there). */
#if !MJA_MOSQ_HEADERS_2_1
int mosquitto_client_port(const struct mosquitto *client);
#endif
#pragma weak mosquitto_client_port

/* Delayed basic authentication (2.1 only; the plugin may be built with
 * 2.0's headers and loaded by 2.1, which init finds out at run time): a
 * BASIC_AUTH answer of MJA_GLUE_ERR_AUTH_DELAYED, answered later with
 * mosquitto_complete_basic_auth() on the broker's thread. */
#define MJA_GLUE_ERR_AUTH_DELAYED (-5)
#if !MJA_MOSQ_HEADERS_2_1
void mosquitto_complete_basic_auth(const char *clientid, int result);
#endif
#pragma weak mosquitto_complete_basic_auth

#endif
