# Debian package suite: builds the package with dpkg-buildpackage, runs
# lintian (no error, no warning), installs it with apt-get into a clean
# container of this machine's Debian release, enables the conf.d snippet with
# the demo key, connects with a token made by the installed mosquitto_jwt,
# then purges it and checks that nothing is left behind (see
# test/package/test_package.py). Needs root, Podman (or Docker), debhelper
# and lintian; as root with CI=true or MJA_CONTAINER=1 it installs what is
# missing. Otherwise skipped with the reason (exit 77). MJA_CONTAINER=0 skips.
add_test(NAME package
  COMMAND ${MJA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_package.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(package PROPERTIES
  LABELS "package;container"
  TIMEOUT 900
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
