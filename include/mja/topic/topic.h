/* topic.h - MQTT topic and filter matching (MQTT 3.1.1 4.7, MQTT 5 4.7).
 *
 * Pure functions over (pointer, length); nothing allocates, nothing relies
 * on NUL. Levels are separated by '/'; empty levels are real levels
 * ("a//b" has three, "/a" has two). '+' matches exactly one level, '#' the
 * parent level and any number of levels below (so "a/#" matches "a").
 * Topics beginning with '$' are matched only by filters whose first
 * character is '$' (MQTT 4.7.2): "#" and "+/x" never match "$SYS/x".
 */
#ifndef MJA_TOPIC_H
#define MJA_TOPIC_H

#include <stddef.h>

/* 1 iff topic is a valid topic name: 1..65535 bytes, no '+', '#', NUL. */
int mja_topic_valid(const char *t, size_t len);

/* 1 iff f is a valid filter: 1..65535 bytes, no NUL, '+' alone in its
 * level, '#' alone in the last level. */
int mja_filter_valid(const char *f, size_t len);

/* 1 iff filter f matches topic t (t has no wildcards). Invalid input: 0. */
int mja_topic_matches(const char *f, size_t flen, const char *t, size_t tlen);

/* 1 iff every topic that filter sub can match is matched by filter rule
 * ("covers"): "sensors/+/data" covers "sensors/x/data" and
 * "sensors/+/data" but not "sensors/#"; "#" covers everything not starting
 * with '$'. Invalid input: 0. */
int mja_filter_covers(const char *rule, size_t rlen, const char *sub, size_t slen);

/* 1 iff some topic could match both filters (used to decide whether a
 * deny rule partly overlaps a subscription). Invalid input: 0. */
int mja_filter_overlaps(const char *a, size_t alen, const char *b, size_t blen);

/* Strip "$share/<group>/" from a subscription filter: on a well-formed
 * shared filter returns 1 and sets *rest, *restlen to the filter part;
 * on a plain filter returns 0 and sets them to the whole input; on a
 * malformed "$share/..." (no group, empty group, group with wildcards, no
 * filter) returns -1. */
int mja_filter_strip_share(const char *f, size_t len, const char **rest, size_t *restlen);

#endif
