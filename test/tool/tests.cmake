# The mosquitto_jwt command-line tool's suite: Python tests that run the
# built tool (label tool). One ctest test per test/tool/test_*.py; PyJWT
# (python3-jwt) is the independent implementation for interoperability.
if(TARGET mosquitto_jwt)
  mja_add_python_suite(tool ${CMAKE_CURRENT_LIST_DIR} tool 300
    "MJA_TOOL=$<TARGET_FILE:mosquitto_jwt>;MJA_PLUGIN=$<TARGET_FILE:mosquitto_jwt_auth>")
endif()
