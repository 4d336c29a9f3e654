# The end-to-end broker under valgrind memcheck (label "valgrind"): a subset
# of the e2e and attack modules runs against mosquitto started through the
# harness's MJA_E2E_BROKER_WRAPPER; the test fails on definite leaks or
# memory errors whose stack includes mosquitto_jwt_auth.so.
find_program(MJA_VALGRIND valgrind)
set(MJA_VALGRIND_MODULES test_connect test_acl test_reauth test_reload test_expiry
  test_tokens test_acl_escape test_oidc
  CACHE STRING "Test modules (test/e2e, test/attack) run with the broker under valgrind")
if(MJA_VALGRIND AND NOT MJA_SANITIZE)
  set(MJA_VG_PLUGIN $<TARGET_FILE:mosquitto_jwt_auth>)
  add_test(NAME valgrind_broker
    COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/run_valgrind.py
      ${CMAKE_CURRENT_BINARY_DIR}/valgrind ${MJA_VALGRIND_MODULES})
  set_tests_properties(valgrind_broker PROPERTIES
    LABELS valgrind
    TIMEOUT 1800
    ENVIRONMENT "MJA_PLUGIN=${MJA_VG_PLUGIN};MJA_CONF_EXAMPLES=${PROJECT_SOURCE_DIR}/config-examples;MJA_BUILD_DIR=${PROJECT_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
elseif(NOT MJA_SANITIZE)
  message(WARNING "valgrind not found: valgrind_broker not registered")
endif()
