# Interoperability with PyJWT (Debian's python3-jwt) and python3-cryptography,
# one suite (test_pyjwt.py, ctest interop_pyjwt, label interop): tokens from
# PyJWT verified by the library (verify_tokens: mja_token_verify, keys loaded
# from files) and by `mosquitto_jwt verify`; tokens from `mosquitto_jwt sign`
# verified by PyJWT. It needs the tool (MJA_BUILD_TOOL).
add_executable(verify_tokens ${CMAKE_CURRENT_LIST_DIR}/verify_tokens.c)
target_link_libraries(verify_tokens PRIVATE mja_tool)
target_include_directories(verify_tokens PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../unit)

if(TARGET mosquitto_jwt)
  mja_add_python_suite(interop ${CMAKE_CURRENT_LIST_DIR} interop 300
    "MJA_VERIFY_TOKENS=$<TARGET_FILE:verify_tokens>;MJA_TOOL=$<TARGET_FILE:mosquitto_jwt>;PYTHONPATH=${PROJECT_SOURCE_DIR}/test/tool")
else()
  message(STATUS "MJA_BUILD_TOOL is OFF: the interop suite is not registered")
endif()
