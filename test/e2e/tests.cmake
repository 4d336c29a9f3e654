# End-to-end suite: Debian's real mosquitto with the built plugin and the
# configuration from config-examples/. One ctest test per test/e2e/test_*.py
# (label e2e). Point the same cases at a running broker with MJA_E2E_HOST,
# MJA_E2E_PORT and MJA_E2E_CONF_DIR (see test/e2e/harness.py).
if(TARGET mosquitto_jwt_auth)
  set(MJA_E2E_PLUGIN $<TARGET_FILE:mosquitto_jwt_auth>)
else()
  # No glue yet: the tests run and fail with "plugin not built".
  set(MJA_E2E_PLUGIN ${PROJECT_BINARY_DIR}/plugin/mosquitto_jwt_auth.so)
endif()

file(GLOB MJA_E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(src ${MJA_E2E_TESTS})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "^test_" "" case ${name})
  add_test(NAME e2e_${case}
    COMMAND ${MJA_PYTHON} -m unittest -v ${name}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e_${case} PROPERTIES
    LABELS e2e
    TIMEOUT 300
    ENVIRONMENT "MJA_PLUGIN=${MJA_E2E_PLUGIN};MJA_CONF_EXAMPLES=${PROJECT_SOURCE_DIR}/config-examples;MJA_BUILD_DIR=${PROJECT_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
endforeach()
