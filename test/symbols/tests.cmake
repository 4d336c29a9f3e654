# The plugin holds no tool-only code: `nm` of mosquitto_jwt_auth.so shows no
# signing, private-key, key-generation or mosquitto.conf symbol (they live in
# the mja_tool library), and `nm -D` exports nothing but mosquitto_plugin_*.
if(TARGET mosquitto_jwt_auth)
  find_program(MJA_NM nm REQUIRED)
  add_test(NAME symbols_plugin
    COMMAND ${CMAKE_COMMAND} -DNM=${MJA_NM} -DPLUGIN=$<TARGET_FILE:mosquitto_jwt_auth>
      -P ${CMAKE_CURRENT_LIST_DIR}/check_plugin_symbols.cmake)
  set_tests_properties(symbols_plugin PROPERTIES LABELS unit TIMEOUT 60)
endif()
