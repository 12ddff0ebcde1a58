# Fuzz targets (test/fuzz/README.md), included from test/CMakeLists.txt.
#
# Each target fuzz-NAME.c defines LLVMFuzzerTestOneInput over the public
# API and has a seed corpus in corpus/NAME/.  By default (any compiler)
# it is linked with replay.c as fuzz-NAME-replay, and ctest replays the
# corpus through it (labels "fuzz" and "unit").  With
# -DEVENT_FUZZ_LIBFUZZER=ON (clang; test/fuzz/run.sh sets it, together
# with -fsanitize=fuzzer-no-link for the library) it is linked with
# libFuzzer as fuzz-NAME instead, and ctest replays the corpus with
# -runs=0.
option(EVENT_FUZZ_LIBFUZZER
    "Link the fuzz targets with libFuzzer (clang) instead of the replay main"
    OFF)

set(EVENT_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(EVENT_FUZZ_TARGETS evbuffer-ops evbuffer-readln parse-sockaddr)

foreach(target IN LISTS EVENT_FUZZ_TARGETS)
    set(corpus ${EVENT_FUZZ_DIR}/corpus/${target})
    if(EVENT_FUZZ_LIBFUZZER)
        set(exe fuzz-${target})
        add_executable(${exe} ${EVENT_FUZZ_DIR}/fuzz-${target}.c)
        target_compile_options(${exe} PRIVATE -fsanitize=fuzzer)
        target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
        set(replay_args -runs=0 ${corpus})
    else()
        set(exe fuzz-${target}-replay)
        add_executable(${exe} ${EVENT_FUZZ_DIR}/fuzz-${target}.c
            ${EVENT_FUZZ_DIR}/replay.c)
        set(replay_args ${corpus})
    endif()
    target_include_directories(${exe} PRIVATE ${EVENT_FUZZ_DIR})
    target_link_libraries(${exe} PRIVATE event_core_static Threads::Threads)
    add_test(NAME fuzz-${target} COMMAND ${exe} ${replay_args})
    set_tests_properties(fuzz-${target} PROPERTIES TIMEOUT 120
        LABELS "fuzz;unit")
endforeach()
