# Container suite: builds docker/Dockerfile, runs the image with the example
# configuration mounted, waits for its HEALTHCHECK, runs the end-to-end suite
# (test/e2e) against it in external-broker mode and reloads it with SIGHUP
# (see test/container/test_container.py). Docker if its daemon answers, else
# Podman; as root with CI=true or MJA_CONTAINER=1 it first runs
# scripts/container-setup.sh. Without an engine it prints why and is reported
# as skipped (exit 77), never as passed. MJA_CONTAINER=0 skips it.
add_test(NAME container
  COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_container.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(container PROPERTIES
  LABELS container
  TIMEOUT 900
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
