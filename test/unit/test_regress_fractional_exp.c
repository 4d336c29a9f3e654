/* test_regress_fractional_exp.c - a token with a fractional exp was
 * accepted and kicked at the same instant.
 *
 * The bug: a token with exp = T + 0.9 passed the claims check at T
 * (T + 0.9 > T), but the principal it left behind carried floor(exp) = T,
 * so the session's first ACL check at T found it expired, denied it and
 * disconnected it: accepted and refused at once.
 *
 * The fix: mja_claims_exp() rounds up. For integer clocks
 * "exp + leeway <= now" and "ceil(exp) + leeway <= now" agree at every
 * instant (RFC 7519 4.1.4: exp is a NumericDate, which may be
 * non-integer). Found by a security review of the token core; this test
 * failed against the code before the fix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mja/token/claims.h"

static void fractional_exp_rounds_up(void **state)
{
	json_t *p = json_pack("{s:s,s:f}", "sub", "dev", "exp", 1000.1);
	mja_claim_rules r;
	int64_t exp = 0;

	memset(&r, 0, sizeof(r));
	assert_int_equal(mja_claims_check(p, &r, 1000), MJA_OK);       /* 1000.1 > 1000 */
	assert_true(mja_claims_exp(p, &exp));
	assert_int_equal(exp, 1001);
	/* the two views agree at every integer instant */
	assert_int_equal(mja_claims_check(p, &r, 1001), MJA_ERR_EXPIRED);
	json_decref(p);

	p = json_pack("{s:s,s:f}", "sub", "dev", "exp", -5.5);
	assert_true(mja_claims_exp(p, &exp));
	assert_int_equal(exp, -5);
	json_decref(p);

	p = json_pack("{s:s,s:f}", "sub", "dev", "exp", 1234.0);
	assert_true(mja_claims_exp(p, &exp));
	assert_int_equal(exp, 1234);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fractional_exp_rounds_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
