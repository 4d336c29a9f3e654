/* aclclaim.h - topic rules carried in the token (option acl_claim), in
 * either of EMQX's two formats, told apart by the claim's JSON type.
 *
 * Object format ("v1"): {"pub": [FILTER...], "sub": [FILTER...], "all": [FILTER...]}
 *   Every member is optional; no other member is allowed. A publish is
 *   allowed by a filter of pub or all, a subscription (and a delivery) by
 *   one of sub or all. Nothing matches: deny; the ACL file is not asked.
 *
 * Array format ("v2"): [RULE...], first matching rule wins, where RULE is
 *   {"permission": "allow" | "deny",
 *    "action": "publish" | "pub" | "subscribe" | "sub" | "all",
 *    "topic": FILTER  or  "topics": [FILTER...]   (exactly one of the two),
 *    "qos": 0 | 1 | 2 | [N...]                    (optional; default all),
 *    "retain": true | false | "all"}              (optional; default "all")
 *   No other member is allowed. qos restricts publishes (the message's QoS)
 *   and subscriptions (the requested QoS); retain restricts publishes only
 *   (true: retained messages, false: not retained). Nothing matches:
 *   MJA_ACLCLAIM_NOMATCH, and the caller asks the ACL file (or denies).
 *
 * FILTER: an MQTT topic filter in which ${clientid}, ${username} and
 *   ${sub} stand for the client's values, as a whole level or inside one
 *   ("devices/${clientid}-log/#"). A value that is absent, empty or holds
 *   '/', '+' or '#' makes an allow filter using it match nothing; in a deny
 *   filter the level holding it stands for any value, like '+' (fail
 *   closed, as the ACL file does, acl.h). Any other "${...}" is an error.
 *   "eq FILTER" is that literal filter: no placeholders, and its wildcards
 *   are plain characters for matching: it matches a subscription to
 *   exactly that filter, and a publish to exactly that topic.
 *   '$' topics are matched only by filters written with a leading '$'
 *   (MQTT 4.7.2), so "${clientid}/#" never reaches $SYS.
 *
 * Decisions (mja_aclclaim_check):
 *  - WRITE (publish): rules whose action covers publish, whose filter
 *    matches the topic, whose qos holds the message's QoS and whose retain
 *    fits the message's retain flag.
 *  - SUBSCRIBE: $share/<group>/ stripped; rules whose action covers
 *    subscribe and whose qos holds the requested QoS; an allow rule must
 *    cover everything the filter can match (topic.h mja_filter_covers), a
 *    deny rule denies when it covers the whole filter; a deny rule that
 *    only overlaps it is enforced at each delivery (READ).
 *  - READ (a delivery): the subscription's QoS is not known here, so the
 *    answer is that of a subscription to exactly this topic at the most
 *    favourable QoS: allowed iff for some QoS q the first rule that matches
 *    the topic and holds q allows (a deny with qos [2] then does not stop
 *    deliveries that a QoS 0 subscription could get). An "eq" allow rule
 *    allows the topics its literal filter matches (what that subscription
 *    delivers); an "eq" deny rule denies only the topic equal to it.
 *  - UNSUBSCRIBE: allowed.
 *
 * The claim is compiled once (at CONNECT, re-authentication, re-check) into
 * an immutable mja_aclclaim; checks only walk it.
 */
#ifndef MJA_ACLCLAIM_H
#define MJA_ACLCLAIM_H

#include <stddef.h>
#include <jansson.h>
#include "mja/topic/acl.h"
#include "mja/util/error.h"

#define MJA_ACLCLAIM_MAX_RULES 1000     /* rules of the array format */
#define MJA_ACLCLAIM_MAX_FILTERS 1000   /* topic filters, either format */

typedef struct mja_aclclaim mja_aclclaim;

enum {
	MJA_ACLCLAIM_NOMATCH = -1,   /* array format only: no rule matched */
	MJA_ACLCLAIM_DENY = 0,
	MJA_ACLCLAIM_ALLOW = 1
};

/* Compile the claim's value. On error returns MJA_ERR_BAD_ACL_CLAIM (or
 * MJA_ERR_NOMEM), *out is NULL and d says where and why, e.g.
 * "rule 3: \"qos\" 3 is outside 0-2" or "sub[1]: not a valid topic filter"
 * (rules and filters counted from 1). The message quotes no value from
 * the token, only member names of the format and numbers. */
mja_err mja_aclclaim_compile(const json_t *claim, mja_aclclaim **out, mja_diag *d);
void mja_aclclaim_free(mja_aclclaim *c);   /* NULL is fine */

/* 1 (object format) or 2 (array format). */
int mja_aclclaim_format(const mja_aclclaim *c);
/* Rules (array format) or filters (object format). */
size_t mja_aclclaim_rule_count(const mja_aclclaim *c);

/* One decision (see above). who's strings give the placeholders' values
 * (roles are not used). qos: the message's (WRITE) or the requested
 * (SUBSCRIBE) QoS, 0..2, else deny; ignored for READ. retain: the
 * message's retain flag (WRITE only). Returns MJA_ACLCLAIM_ALLOW, _DENY,
 * or _NOMATCH (array format only). An invalid topic or filter: deny. */
int mja_aclclaim_check(const mja_aclclaim *c, const mja_acl_who *who,
		const char *topic, size_t topiclen, int access, int qos, int retain);

#endif
