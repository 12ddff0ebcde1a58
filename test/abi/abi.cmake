# ABI tests against Debian 12's libevent 2.1.12 (x86-64).
#
# Included at the end of test/CMakeLists.txt.  Adds three ctest tests,
# labelled "abi":
#
#   abi-layout     sizeof/alignof of every public struct, typedef and enum,
#                  every field offset and size, bitfield positions and the
#                  signedness of the integer typedefs (layout-x86_64.txt)
#   abi-constants  every public macro and enum constant (constants.txt)
#   abi-symbols    the exported symbols, SONAMEs and absence of symbol
#                  versioning of the shared libraries (symbols/*.txt)
#
# The C programs behind abi-layout and abi-constants are generated at build
# time by abi-gen.cmake from the reference files, then compiled and run by
# the tests (abi-run.cmake).  They only need the headers.
#
# Extending the coverage (edit the lists below):
#  - ABI_HEADERS: event2 headers (name without "event2/" and ".h") whose
#    layouts and constants are checked.  Add a header once it exists, in
#    an order in which it can be included (its prerequisites first).
#    Records of other headers are skipped (the generated file says how
#    many).  Still missing: http, http_struct, http_compat, dns,
#    dns_struct, dns_compat, rpc, rpc_struct, rpc_compat, tag, tag_compat,
#    bufferevent_ssl.  Note for rpc: layout-x86_64.txt has
#    struct evrpc_req__example, which only exists after
#    EVRPC_HEADER(example, ...) is expanded; abi-prelude-rpc.h does that
#    once rpc is covered.
#  - ABI_COMPLETE_HEADERS: headers (api/<h>.txt) whose functions must all
#    be exported, by every library whose Debian counterpart exports them.
#    Add a header when all of its functions are implemented.
#  - ABI_EXTRA_FUNCTIONS_<h>: functions a header declares that api/<h>.txt
#    lacks (Debian's header declares them, its list missed them).

set(ABI_HEADERS
    event-config visibility util event_struct event event_compat thread
    keyvalq_struct buffer buffer_compat bufferevent bufferevent_struct
    bufferevent_compat listener)

set(ABI_COMPLETE_HEADERS event event_compat util thread)

set(ABI_EXTRA_FUNCTIONS_bufferevent bufferevent_filter_new
    bufferevent_pair_new)

set(ABI_DIR ${CMAKE_CURRENT_LIST_DIR})
set(ABI_OUT ${CMAKE_CURRENT_BINARY_DIR}/abi)

if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux"
        OR NOT CMAKE_SIZEOF_VOID_P EQUAL 8
        OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    message(STATUS "ABI tests: reference data is for x86-64 Linux; skipped")
    return()
endif()

# --- abi-layout, abi-constants ---------------------------------------------
string(REPLACE ";" "," abi_headers_arg "${ABI_HEADERS}")
string(REPLACE ";" "|" abi_includes_arg "${EVENT_INCLUDES}")

set(abi_sources)
foreach(kind IN ITEMS layout constants)
    if(kind STREQUAL "layout")
        set(input ${ABI_DIR}/layout-x86_64.txt)
    else()
        set(input ${ABI_DIR}/constants.txt)
    endif()
    set(src ${ABI_OUT}/abi-${kind}.c)
    file(GLOB preludes ${ABI_DIR}/abi-prelude-*.h)
    add_custom_command(OUTPUT ${src}
        COMMAND ${CMAKE_COMMAND} -DMODE=${kind} -DINPUT=${input}
            -DCONSTANTS=${ABI_DIR}/constants.txt
            -DHEADERS=${abi_headers_arg} -DOUTPUT=${src}
            -P ${ABI_DIR}/abi-gen.cmake
        DEPENDS ${input} ${ABI_DIR}/constants.txt ${ABI_DIR}/abi-gen.cmake
            ${preludes}
        COMMENT "Generating ABI ${kind} check"
        VERBATIM)
    list(APPEND abi_sources ${src})

    add_test(NAME abi-${kind}
        COMMAND ${CMAKE_COMMAND} -DCC=${CMAKE_C_COMPILER}
            -DSRC=${src} -DEXE=${ABI_OUT}/abi-${kind}
            -DINCLUDES=${abi_includes_arg} -DCFLAGS=-std=gnu99|-Wall
            -P ${ABI_DIR}/abi-run.cmake)
    set_tests_properties(abi-${kind} PROPERTIES LABELS abi TIMEOUT 120)
endforeach()
add_custom_target(abi_check_sources ALL DEPENDS ${abi_sources})

# --- abi-symbols -----------------------------------------------------------
set(abi_libs)
foreach(lib IN ITEMS event_core event_extra event event_pthreads
        event_openssl)
    if(NOT TARGET ${lib})
        continue()
    endif()
    get_target_property(out_name ${lib} OUTPUT_NAME)
    if(NOT out_name)
        set(out_name ${lib}-2.1)
    endif()
    get_target_property(so_version ${lib} SOVERSION)
    if(NOT so_version)
        set(so_version 7)
    endif()
    list(APPEND abi_libs
        "$<TARGET_FILE:${lib}>=lib${out_name}.so.${so_version}")
endforeach()

set(abi_extra)
foreach(h IN LISTS ABI_COMPLETE_HEADERS)
    list(APPEND abi_extra ${ABI_EXTRA_FUNCTIONS_${h}})
endforeach()

if(NOT CMAKE_NM)
    find_program(CMAKE_NM nm)
endif()
if(NOT CMAKE_READELF)
    find_program(CMAKE_READELF readelf)
endif()

string(REPLACE ";" "|" abi_libs_arg "${abi_libs}")
string(REPLACE ";" "|" abi_complete_arg "${ABI_COMPLETE_HEADERS}")
string(REPLACE ";" "|" abi_extra_arg "${abi_extra}")
add_test(NAME abi-symbols
    COMMAND ${CMAKE_COMMAND} -DLIBS=${abi_libs_arg} -DABI_DIR=${ABI_DIR}
        -DCOMPLETE=${abi_complete_arg} -DEXTRA_FUNCTIONS=${abi_extra_arg}
        -DNM=${CMAKE_NM} -DREADELF=${CMAKE_READELF}
        -P ${ABI_DIR}/abi-symbols.cmake)
set_tests_properties(abi-symbols PROPERTIES LABELS abi TIMEOUT 120)
