# Attack suite: hostile tokens, passwords, identities and floods against the
# real broker, reusing the end-to-end harness (test/e2e/harness.py). One
# ctest test per test/attack/test_*.py, label "attack"; the 10,000-connect
# flood is also labelled "slow" (left out of the sanitizer stage, where
# ASan's quarantine would be measured instead of the plugin's memory).
set(MJA_ATTACK_PLUGIN $<TARGET_FILE:mosquitto_jwt_auth>)

mja_add_python_suite(attack ${CMAKE_CURRENT_LIST_DIR} attack 600
  "MJA_PLUGIN=${MJA_ATTACK_PLUGIN};MJA_CONF_EXAMPLES=${PROJECT_SOURCE_DIR}/config-examples;MJA_BUILD_DIR=${PROJECT_BINARY_DIR};PYTHONPATH=${PROJECT_SOURCE_DIR}/test/e2e")
if(TEST attack_flood)
  set_tests_properties(attack_flood PROPERTIES LABELS "attack;slow")
endif()
