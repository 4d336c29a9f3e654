# Run one libFuzzer harness for a bounded time on a COPY of its saved seed
# corpus (the tree's corpus is never written), and fail on any finding.
#   cmake -DFUZZER=exe -DSEEDS=dir -DWORK=dir -DSECONDS=n [-DDICT=file]
#         [-DEXTRA="-max_len=N;..."] -P run_fuzzer.cmake
foreach(v FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzzer.cmake: ${v} not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB seeds ${SEEDS}/*)
if(NOT seeds)
  message(FATAL_ERROR "no seeds in ${SEEDS}")
endif()
file(COPY ${seeds} DESTINATION ${WORK}/corpus)

set(args -max_total_time=${SECONDS} -timeout=25 -rss_limit_mb=2560
  -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
if(EXTRA)
  list(APPEND args ${EXTRA})
endif()

message(STATUS "running: ${FUZZER} ${args} ${WORK}/corpus")
execute_process(COMMAND ${FUZZER} ${args} ${WORK}/corpus RESULT_VARIABLE rc)

file(GLOB findings ${WORK}/artifacts/*)
if(NOT rc EQUAL 0 OR findings)
  message(FATAL_ERROR "${FUZZER} exited with ${rc}; findings: ${findings}\n"
    "reproduce with: ${FUZZER} <file>")
endif()
