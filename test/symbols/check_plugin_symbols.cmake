# check_plugin_symbols.cmake -DNM=nm -DPLUGIN=mosquitto_jwt_auth.so
#
# Fails when the plugin's symbol table holds a function that only the tool
# needs (signing, private keys, key generation and serialisation, the
# mosquitto.conf reader), or when its dynamic symbol table exports anything
# but mosquitto_plugin_*. The positive pair: the table must hold the
# verification code (mja_token_verify, mja_sig_verify), so a stripped or
# empty file cannot pass.
execute_process(COMMAND ${NM} ${PLUGIN} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm ${PLUGIN} failed (${rc})")
endif()
foreach(want mja_token_verify mja_sig_verify mja_keyset_load_key_file mja_file_read)
  if(NOT syms MATCHES "[ \t]${want}\n")
    message(FATAL_ERROR "nm shows no ${want} in ${PLUGIN}: not the plugin, or stripped")
  endif()
endforeach()
set(forbidden
  mja_token_sign mja_sig_sign mja_key_load_private_file mja_key_from_private_pem
  mja_key_from_secret mja_key__private mja_key_generate mja_key_private_pem
  mja_key_public_pem mja_key_public_jwk)
set(found "")
foreach(bad ${forbidden})
  if(syms MATCHES "[ \t]${bad}\n")
    list(APPEND found ${bad})
  endif()
endforeach()
# anything of the mosquitto.conf reader or key generation, whatever its name
string(REGEX MATCHALL "[ \t](mja_mosqconf[A-Za-z0-9_]*|[A-Za-z0-9_]*keygen[A-Za-z0-9_]*)\n" more "${syms}")
list(APPEND found ${more})
if(found)
  string(REPLACE "\n" "" found "${found}")
  message(FATAL_ERROR "tool-only symbols in ${PLUGIN}: ${found}")
endif()

execute_process(COMMAND ${NM} -D --defined-only ${PLUGIN} OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm -D ${PLUGIN} failed (${rc})")
endif()
string(REGEX MATCHALL "[ \t][TDBRVW] [A-Za-z0-9_.@]+" exported "${dyn}")
foreach(e ${exported})
  if(NOT e MATCHES "mosquitto_plugin_(version|init|cleanup)$" AND NOT e MATCHES " _(init|fini)$")
    message(FATAL_ERROR "${PLUGIN} exports ${e}")
  endif()
endforeach()
message(STATUS "plugin symbols: verification present, no tool-only code, exports mosquitto_plugin_* only")
