# The repository's shape (docs/design.md, Architecture; docs/testing.md):
# no include cycle between headers or modules, and no tracked file citing a
# document the repository does not hold. Label layout, not unit: the unit
# label also runs inside the broker matrix's chroots and in the Debian
# package build, where the tree is no git checkout; layout_citations skips
# (exit 77, saying why) outside one.
add_test(NAME layout_include_cycles
  COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_include_cycles.py ${PROJECT_SOURCE_DIR})
add_test(NAME layout_citations
  COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_citations.py ${PROJECT_SOURCE_DIR})
set_tests_properties(layout_include_cycles layout_citations PROPERTIES
  LABELS layout TIMEOUT 60 SKIP_RETURN_CODE 77)
