# Generates the C source of the abi-layout or abi-constants check.
#
# cmake -DMODE=layout|constants -DINPUT=<reference file>
#       -DCONSTANTS=<constants.txt> -DHEADERS=<h1,h2,...> -DOUTPUT=<file.c>
#       -P abi-gen.cmake
#
# INPUT is layout-x86_64.txt (MODE=layout) or constants.txt
# (MODE=constants).  Both group their records under "# event2/<h>.h"
# comment lines; only records of the headers named in HEADERS (without
# "event2/" and ".h", e.g. "event,util,event-config") are turned into
# checks.  In the layout file the "# public enum types" section is not
# grouped by header: each enum is attributed to the header under which
# constants.txt lists its members ("# enum <type>" lines).
#
# The generated program includes the covered headers in the order given,
# prints one line per mismatch and exits non-zero if there was any.  A
# missing struct member, type or enum constant makes it fail to compile,
# which the test reports too (see abi-run.cmake).  If abi-prelude-<h>.h
# exists beside this script and <h> is covered, it is included after the
# headers (for records that need user code, e.g. EVRPC_HEADER).
#
# An unknown record format is a fatal error, so a change of the reference
# files cannot silently disable checks.
cmake_minimum_required(VERSION 3.16)

foreach(var MODE INPUT CONSTANTS HEADERS OUTPUT)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "abi-gen.cmake: -D${var}=... is required")
    endif()
endforeach()
string(REPLACE "," ";" headers "${HEADERS}")

# Read a file as a list of lines.  Semicolons and square brackets would
# upset CMake list handling; they only occur in comments and string
# values, so they are swapped for placeholders and restored on output.
function(read_lines file out)
    file(READ "${file}" text)
    string(REPLACE ";" "@SEMI@" text "${text}")
    string(REPLACE "[" "@LB@" text "${text}")
    string(REPLACE "]" "@RB@" text "${text}")
    string(REPLACE "\r" "" text "${text}")
    string(REPLACE "\n" ";" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

read_lines("${CONSTANTS}" const_lines)
read_lines("${INPUT}" lines)

# Map each enum type to the header that declares it.
set(cur "")
foreach(line IN LISTS const_lines)
    if(line MATCHES "^# event2/([A-Za-z0-9_-]+)\\.h")
        set(cur "${CMAKE_MATCH_1}")
    elseif(line MATCHES "^# enum ([A-Za-z0-9_]+)$")
        set(enum_header_${CMAKE_MATCH_1} "${cur}")
    endif()
endforeach()

set(body "")
set(n_checks 0)
set(n_skipped 0)

# C string literal for the (quote-free) text of a reference record.
macro(cstr out text)
    string(REPLACE "\\" "\\\\" ${out} "${text}")
    string(REPLACE "\"" "\\\"" ${out} "${${out}}")
endmacro()

# Appends one line of C to the body.  (A macro, not a function: its
# argument is substituted as text, so semicolons in it survive.)
macro(emit text)
    string(APPEND body "    ${text}\n")
endmacro()

# Copies the submatches of the last regex match to m1..m5.
macro(grab)
    foreach(i 1 2 3 4 5)
        set(m${i} "${CMAKE_MATCH_${i}}")
    endforeach()
endmacro()

set(same_type __builtin_types_compatible_p)

# Layout records.
set(id "[A-Za-z0-9_]+")
set(n "([0-9]+)")
set(re_typedef "^typedef (${id}) size ${n} align ${n} signed ([01])$")
set(re_typedef_is "^typedef (${id}) is ([A-Za-z0-9_ *]+)$")
set(re_struct "^struct (${id}) size ${n} align ${n}$")
set(re_field "^struct (${id})\\.([A-Za-z0-9_.]+) offset ${n} size ${n}$")
set(re_bitfield "^struct (${id})\\.([A-Za-z0-9_.]+) bitfield ")
string(APPEND re_bitfield "byte ${n} bit ${n} width ${n}$")
set(re_enum "^enum (${id}) size ${n}$")

function(covered header out)
    list(FIND headers "${header}" idx)
    if(idx EQUAL -1)
        set(${out} FALSE PARENT_SCOPE)
    else()
        set(${out} TRUE PARENT_SCOPE)
    endif()
endfunction()

if(MODE STREQUAL "layout")
    set(cur "")
    foreach(line IN LISTS lines)
        if(line MATCHES "^# event2/([A-Za-z0-9_-]+)\\.h")
            set(cur "${CMAKE_MATCH_1}")
            continue()
        elseif(line MATCHES "^# public enum types")
            set(cur "@enum")
            continue()
        elseif(line MATCHES "^# opaque")
            set(cur "@none")
            continue()
        elseif(line MATCHES "^#" OR line MATCHES "^[ \t]*$")
            continue()
        endif()

        set(hdr "${cur}")
        if(line MATCHES "^enum ([A-Za-z0-9_]+) ")
            set(hdr "${enum_header_${CMAKE_MATCH_1}}")
        endif()
        if(hdr STREQUAL "" OR hdr STREQUAL "@none" OR hdr STREQUAL "@enum")
            message(FATAL_ERROR "abi-gen: no header known for: ${line}")
        endif()
        covered("${hdr}" ok)
        if(NOT ok)
            math(EXPR n_skipped "${n_skipped} + 1")
            continue()
        endif()
        math(EXPR n_checks "${n_checks} + 1")
        cstr(what "${line}")

        if(line MATCHES "${re_typedef}")
            grab()
            emit("CHECK(\"${what}: size\", sizeof(${m1}), ${m2});")
            emit("CHECK(\"${what}: align\", __alignof__(${m1}), ${m3});")
            emit("CHECK(\"${what}: signed\", ((${m1})-1 < 1), ${m4});")
        elseif(line MATCHES "${re_typedef_is}")
            grab()
            emit("CHECK(\"${what}\", ${same_type}(${m1}, ${m2}), 1);")
        elseif(line MATCHES "${re_struct}")
            grab()
            set(t "struct ${m1}")
            emit("CHECK(\"${what}: size\", sizeof(${t}), ${m2});")
            emit("CHECK(\"${what}: align\", __alignof__(${t}), ${m3});")
        elseif(line MATCHES "${re_field}")
            grab()
            set(t "struct ${m1}")
            emit("CHECK(\"${what}: offset\", offsetof(${t}, ${m2}), ${m3});")
            emit("CHECK(\"${what}: size\", sizeof(((${t} *)0)->${m2}), ${m4});")
        elseif(line MATCHES "${re_bitfield}")
            # Bitfields have no offsetof(): set one to all ones in a zeroed
            # struct and see which bits change.
            grab()
            math(EXPR first "${m3} * 8 + ${m4}")
            emit("{")
            emit("    struct ${m1} s;")
            emit("    memset(&s, 0, sizeof(s));")
            emit("    s.${m2} = all_ones;")
            emit("    check_bits(\"${what}\", &s, sizeof(s), ${first}, ${m5});")
            emit("}")
        elseif(line MATCHES "${re_enum}")
            grab()
            emit("CHECK(\"${what}\", sizeof(enum ${m1}), ${m2});")
        else()
            message(FATAL_ERROR "abi-gen: unknown layout record: ${line}")
        endif()
    endforeach()
elseif(MODE STREQUAL "constants")
    set(cur "")
    set(in_enum FALSE)
    foreach(line IN LISTS lines)
        if(line MATCHES "^# event2/([A-Za-z0-9_-]+)\\.h")
            set(cur "${CMAKE_MATCH_1}")
            set(in_enum FALSE)
            continue()
        elseif(line MATCHES "^# enum ([A-Za-z0-9_]+)$")
            set(in_enum TRUE)
            continue()
        elseif(line MATCHES "^#alias ")
            # handled below
        elseif(line MATCHES "^#" OR line MATCHES "^[ \t]*$")
            continue()
        endif()
        if(cur STREQUAL "")
            message(FATAL_ERROR "abi-gen: constant outside a header: ${line}")
        endif()
        covered("${cur}" ok)
        if(NOT ok)
            math(EXPR n_skipped "${n_skipped} + 1")
            continue()
        endif()
        math(EXPR n_checks "${n_checks} + 1")

        if(line MATCHES "^#alias ([A-Za-z0-9_]+) -> (.*)$")
            # Macros standing for a type, attribute or other name: they
            # must exist; their expansion is checked by the other tests.
            set(name "${CMAKE_MATCH_1}")
            cstr(exp "${CMAKE_MATCH_2}")
            string(APPEND body "#ifdef ${name}\n    pass();\n#else\n")
            emit("fail(\"${name}: not defined (a macro for ${exp})\");")
            string(APPEND body "#endif\n")
        elseif(line MATCHES "^([A-Za-z0-9_]+) (\".*\")$")
            set(name "${CMAKE_MATCH_1}")
            cstr(want "${CMAKE_MATCH_2}")
            string(APPEND body "#ifdef ${name}\n")
            emit("check_str(\"${name}\", ${name}, ${CMAKE_MATCH_2});")
            string(APPEND body "#else\n")
            emit("fail(\"${name}: not defined (expected ${want})\");")
            string(APPEND body "#endif\n")
        elseif(line MATCHES "^([A-Za-z0-9_]+) (-?[0-9]+)$")
            set(name "${CMAKE_MATCH_1}")
            set(want "${CMAKE_MATCH_2}")
            if(in_enum)
                # Enum constants are not macros: checked unconditionally.
                emit("CHECK_INT(\"${name}\", ${name}, \"${want}\");")
            else()
                string(APPEND body "#ifdef ${name}\n")
                emit("CHECK_INT(\"${name}\", ${name}, \"${want}\");")
                string(APPEND body "#else\n")
                emit("fail(\"${name}: not defined (expected ${want})\");")
                string(APPEND body "#endif\n")
            endif()
        else()
            message(FATAL_ERROR "abi-gen: unknown constants record: ${line}")
        endif()
    endforeach()
else()
    message(FATAL_ERROR "abi-gen: MODE must be layout or constants")
endif()

string(REPLACE "@SEMI@" ";" body "${body}")
string(REPLACE "@LB@" "[" body "${body}")
string(REPLACE "@RB@" "]" body "${body}")

set(includes "")
foreach(h IN LISTS headers)
    string(APPEND includes "#include <event2/${h}.h>\n")
endforeach()
# Optional per-header preludes: code a header's records need, e.g. the
# expansion of a macro that declares a struct in user code.
get_filename_component(prelude_dir "${CMAKE_CURRENT_LIST_FILE}" DIRECTORY)
foreach(h IN LISTS headers)
    if(EXISTS "${prelude_dir}/abi-prelude-${h}.h")
        string(APPEND includes
            "#include \"${prelude_dir}/abi-prelude-${h}.h\"\n")
    endif()
endforeach()
get_filename_component(input_name "${INPUT}" NAME)

set(prog "/*
 * Generated by test/abi/abi-gen.cmake (MODE=${MODE}) from ${input_name}.
 * Do not edit.  Covered headers: ${HEADERS}.
 * ${n_checks} records checked, ${n_skipped} skipped (headers not covered).
 */
/* The event2 headers come first, as in the programs Debian's were built
 * with: event-config.h must set _GNU_SOURCE before any system header. */
${includes}
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int checks;
static int failures;

static void
fail(const char *msg)
{
    checks++;
    failures++;
    printf(\"MISMATCH %s\\n\", msg);
}

static void
pass(void)
{
    checks++;
}

/* Compare an unsigned quantity (size, offset, flag) with its reference. */
static void
check(const char *what, unsigned long long got, unsigned long long want)
{
    checks++;
    if (got != want) {
        failures++;
        printf(\"MISMATCH %s: got %llu, want %llu\\n\", what, got, want);
    }
}
#define CHECK(what, got, want) check((what), (unsigned long long)(got), (want))

/* Compare an integer constant of any type with its decimal reference. */
static void
check_int(const char *name, int negative, long long sval,
    unsigned long long uval, const char *want)
{
    char got[32];

    checks++;
    if (negative)
        snprintf(got, sizeof(got), \"%lld\", sval);
    else
        snprintf(got, sizeof(got), \"%llu\", uval);
    if (strcmp(got, want) != 0) {
        failures++;
        printf(\"MISMATCH %s: got %s, want %s\\n\", name, got, want);
    }
}
/* x < 1 && x != 0 tests for a negative value without a warning when x is
 * unsigned. */
#define CHECK_INT(name, x, want)                                              \\
    check_int((name), ((x) < 1 && (x) != 0), (long long)(x),                  \\
        (unsigned long long)(x), (want))

static void
check_str(const char *name, const char *got, const char *want)
{
    checks++;
    if (strcmp(got, want) != 0) {
        failures++;
        printf(\"MISMATCH %s: got \\\"%s\\\", want \\\"%s\\\"\\n\", name, got,
            want);
    }
}

/* A bitfield set to all ones must occupy exactly the bits
 * [first, first + width) of the object, counted from bit 0 of byte 0. */
static void
check_bits(const char *what, const void *obj, size_t size, unsigned first,
    unsigned width)
{
    const unsigned char *p = obj;
    unsigned lo = 0, hi = 0, n = 0;
    size_t i;

    checks++;
    for (i = 0; i < size * 8; i++) {
        if (p[i / 8] & (1u << (i % 8))) {
            if (n++ == 0)
                lo = (unsigned)i;
            hi = (unsigned)i;
        }
    }
    if (n != width || lo != first || hi + 1 != first + width) {
        failures++;
        printf(\"MISMATCH %s: got byte %u bit %u width %u (%u bits set), \"
            \"want byte %u bit %u width %u\\n\", what, lo / 8, lo % 8,
            hi - lo + 1, n, first / 8, first % 8, width);
    }
}

static volatile long long all_ones = -1;

int
main(void)
{
    (void)fail;
    (void)pass;
    (void)check;
    (void)check_int;
    (void)check_str;
    (void)check_bits;
    (void)all_ones;

${body}
    printf(\"%d checks, %d mismatches (${MODE}; headers: ${HEADERS})\\n\",
        checks, failures);
    return failures != 0;
}
")

# Write only on change, so the check is not rebuilt needlessly.
if(EXISTS "${OUTPUT}")
    file(READ "${OUTPUT}" old)
    if(old STREQUAL prog)
        return()
    endif()
endif()
file(WRITE "${OUTPUT}" "${prog}")
