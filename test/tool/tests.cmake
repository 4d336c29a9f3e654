# The mosquitto_jwt command-line tool's suite: Python tests that run the
# built tool (label tool). One ctest test per test/tool/test_*.py; PyJWT
# (python3-jwt) is the independent implementation for interoperability.
if(TARGET mosquitto_jwt)
  if(TARGET mosquitto_jwt_auth)
    set(MJA_TOOL_PLUGIN $<TARGET_FILE:mosquitto_jwt_auth>)
  else()
    set(MJA_TOOL_PLUGIN "")
  endif()
  file(GLOB MJA_TOOL_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
  foreach(src ${MJA_TOOL_TESTS})
    get_filename_component(name ${src} NAME_WE)
    string(REGEX REPLACE "^test_" "" case ${name})
    add_test(NAME tool_${case}
      COMMAND ${MJA_PYTHON} -m unittest -v ${name}
      WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
    set_tests_properties(tool_${case} PROPERTIES
      LABELS tool
      TIMEOUT 300
      ENVIRONMENT "MJA_TOOL=$<TARGET_FILE:mosquitto_jwt>;MJA_PLUGIN=${MJA_TOOL_PLUGIN};PYTHONDONTWRITEBYTECODE=1")
  endforeach()
endif()
