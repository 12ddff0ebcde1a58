# Checks the dynamic symbol tables of the built shared libraries against
# Debian's libevent 2.1.12 (symbols/<soname>.txt).
#
# cmake -DLIBS=<file=soname|file=soname|...> -DABI_DIR=<test/abi>
#       -DCOMPLETE=<h1|h2|...> [-DEXTRA_FUNCTIONS=<f1|f2|...>]
#       [-DNM=nm] [-DREADELF=readelf] -P abi-symbols.cmake
#
# For every library FILE, expected to have SONAME:
#  - its DT_SONAME must be SONAME;
#  - it must have no version definitions (.gnu.version_d): Debian's
#    libraries export unversioned symbols and so must we;
#  - it must not export any symbol that Debian's SONAME does not export
#    (linker-generated _init, _fini, _edata, _end, __bss_start aside);
#  - it must export every function of the COMPLETE headers (as listed in
#    api/<h>.txt, plus EXTRA_FUNCTIONS) that Debian's SONAME exports.
#    Functions Debian does not export from SONAME (Windows-only ones,
#    macros such as evutil_gettimeofday, functions of another library) are
#    not required from it.
# Every problem is printed; the script fails if there was any.
cmake_minimum_required(VERSION 3.16)

foreach(var LIBS ABI_DIR COMPLETE)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "abi-symbols.cmake: -D${var}=... is required")
    endif()
endforeach()
if(NOT NM)
    set(NM nm)
endif()
if(NOT READELF)
    set(READELF readelf)
endif()

string(REPLACE "|" ";" libs "${LIBS}")
string(REPLACE "|" ";" complete "${COMPLETE}")
string(REPLACE "|" ";" extra_functions "${EXTRA_FUNCTIONS}")

# Reads a one-name-per-line list, skipping '#' comments and blank lines.
function(read_names file out)
    file(STRINGS "${file}" raw)
    set(names)
    foreach(line IN LISTS raw)
        string(STRIP "${line}" line)
        if(line STREQUAL "" OR line MATCHES "^#")
            continue()
        endif()
        list(APPEND names "${line}")
    endforeach()
    set(${out} "${names}" PARENT_SCOPE)
endfunction()

# The public functions that must be exported, from the complete headers.
set(wanted ${extra_functions})
foreach(h IN LISTS complete)
    set(list_file "${ABI_DIR}/api/${h}.txt")
    if(NOT EXISTS "${list_file}")
        message(FATAL_ERROR "abi-symbols: no function list ${list_file}")
    endif()
    read_names("${list_file}" fns)
    list(APPEND wanted ${fns})
endforeach()
list(REMOVE_DUPLICATES wanted)

set(ignored _init _fini _edata _end __bss_start)
set(problems 0)

foreach(entry IN LISTS libs)
    if(NOT entry MATCHES "^(.+)=([^=]+)$")
        message(FATAL_ERROR "abi-symbols: bad LIBS entry '${entry}'")
    endif()
    set(lib "${CMAKE_MATCH_1}")
    set(soname "${CMAKE_MATCH_2}")
    set(ref_file "${ABI_DIR}/symbols/${soname}.txt")
    if(NOT EXISTS "${lib}")
        message("FAIL ${soname}: ${lib} does not exist")
        math(EXPR problems "${problems} + 1")
        continue()
    endif()
    if(NOT EXISTS "${ref_file}")
        message(FATAL_ERROR "abi-symbols: no reference list ${ref_file}")
    endif()
    read_names("${ref_file}" debian)

    # SONAME and symbol versioning.
    execute_process(COMMAND "${READELF}" -W -d "${lib}"
        RESULT_VARIABLE rc OUTPUT_VARIABLE dyn ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "abi-symbols: ${READELF} -d ${lib}: ${err}")
    endif()
    if(dyn MATCHES "Library soname: \\[([^]]*)\\]")
        set(got_soname "${CMAKE_MATCH_1}")
    else()
        set(got_soname "(none)")
    endif()
    if(NOT got_soname STREQUAL soname)
        message("FAIL ${soname}: ${lib} has SONAME ${got_soname}")
        math(EXPR problems "${problems} + 1")
    endif()
    execute_process(COMMAND "${READELF}" -W -S "${lib}"
        RESULT_VARIABLE rc OUTPUT_VARIABLE sections ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "abi-symbols: ${READELF} -S ${lib}: ${err}")
    endif()
    if(sections MATCHES "\\.gnu\\.version_d" OR dyn MATCHES "\\(VERDEF\\)")
        message("FAIL ${soname}: has symbol version definitions "
            "(.gnu.version_d); Debian's symbols are unversioned")
        math(EXPR problems "${problems} + 1")
    endif()

    # Exported symbols.
    execute_process(COMMAND "${NM}" -D --defined-only "${lib}"
        RESULT_VARIABLE rc OUTPUT_VARIABLE nm_out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "abi-symbols: ${NM} -D ${lib}: ${err}")
    endif()
    string(REPLACE "\n" ";" nm_lines "${nm_out}")
    set(ours)
    foreach(line IN LISTS nm_lines)
        # "<address> <type> <name>[@version]"
        if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^ @]+)")
            list(APPEND ours "${CMAKE_MATCH_1}")
        endif()
    endforeach()
    list(REMOVE_DUPLICATES ours)
    list(REMOVE_ITEM ours ${ignored})
    # Symbols a sanitizer build adds (ASan's ODR indicators, ...) are not
    # part of the library's interface.
    list(FILTER ours EXCLUDE REGEX "^(__odr_asan|__asan|__ubsan|__tsan|__sanitizer)")

    set(unexpected ${ours})
    if(debian)
        list(REMOVE_ITEM unexpected ${debian})
    endif()
    foreach(sym IN LISTS unexpected)
        message("FAIL ${soname}: exports ${sym}, which Debian's does not")
        math(EXPR problems "${problems} + 1")
    endforeach()

    set(missing)
    foreach(fn IN LISTS wanted)
        list(FIND debian "${fn}" in_debian)
        if(in_debian EQUAL -1)
            continue()
        endif()
        list(FIND ours "${fn}" in_ours)
        if(in_ours EQUAL -1)
            list(APPEND missing "${fn}")
        endif()
    endforeach()
    foreach(fn IN LISTS missing)
        message("FAIL ${soname}: does not export ${fn}")
        math(EXPR problems "${problems} + 1")
    endforeach()

    list(LENGTH ours n_ours)
    list(LENGTH debian n_debian)
    list(LENGTH missing n_missing)
    list(LENGTH unexpected n_unexpected)
    message("${soname}: ${n_ours} exported (Debian ${n_debian}), "
        "${n_unexpected} unexpected, ${n_missing} missing of the complete "
        "headers")
endforeach()

if(problems GREATER 0)
    message(FATAL_ERROR "abi-symbols: ${problems} problem(s); complete "
        "headers: ${COMPLETE}")
endif()
message("abi-symbols: OK (complete headers: ${COMPLETE})")
