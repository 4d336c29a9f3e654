# Scale-out suite: starts docker/scale-out/compose.yaml (HAProxy routing by
# MQTT client id in front of three broker replicas, and an HTTPS JWKS
# server) and runs 300 clients through it: stickiness, a bad token on every
# replica, the loss of a replica, a key rotation reaching every replica
# (SIGHUP with key files; at the JWKS source without SIGHUP) (see
# test/scaleout/test_scaleout.py). Needs root and Podman + podman-compose
# (or Docker with compose); as root with CI=true or MJA_CONTAINER=1 it first
# runs scripts/container-setup.sh. Otherwise skipped with the reason (exit
# 77). MJA_CONTAINER=0 skips it.
add_test(NAME scaleout
  COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_scaleout.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(scaleout PROPERTIES
  LABELS "scaleout;container"
  TIMEOUT 1200
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
