# End-to-end suite: Debian's real mosquitto with the built plugin and the
# configuration from config-examples/. One ctest test per test/e2e/test_*.py
# (label e2e). Point the same cases at a running broker with MJA_E2E_HOST,
# MJA_E2E_PORT and MJA_E2E_CONF_DIR (see test/e2e/harness.py).
set(MJA_E2E_PLUGIN $<TARGET_FILE:mosquitto_jwt_auth>)

mja_add_python_suite(e2e ${CMAKE_CURRENT_LIST_DIR} e2e 300
  "MJA_PLUGIN=${MJA_E2E_PLUGIN};MJA_CONF_EXAMPLES=${PROJECT_SOURCE_DIR}/config-examples;MJA_BUILD_DIR=${PROJECT_BINARY_DIR}")

# Over a minute of waiting on an idle broker each, as their bugs need
# (label idle: they may run beside each other, test/CMakeLists.txt).
foreach(t e2e_regress_delayed_will e2e_regress_durable_session_offline)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY LABELS idle)
  endif()
endforeach()
