# Interoperability with PyJWT (Debian's python3-jwt) and python3-cryptography:
# tokens from PyJWT verified by mja_token_verify (keys loaded from files), and
# tokens from mja_token_sign verified by PyJWT. See interop.py.
add_executable(verify_tokens ${CMAKE_CURRENT_LIST_DIR}/verify_tokens.c)
target_link_libraries(verify_tokens PRIVATE mja_tool)

add_test(NAME interop_pyjwt_to_mja
  COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/interop.py verify $<TARGET_FILE:verify_tokens>)
add_test(NAME interop_mja_to_pyjwt
  COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/interop.py sign $<TARGET_FILE:verify_tokens>)
set_tests_properties(interop_pyjwt_to_mja interop_mja_to_pyjwt PROPERTIES
  LABELS interop TIMEOUT 300)
