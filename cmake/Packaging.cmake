# How other projects find and link the installed libraries.
#
# pkg-config: libevent.pc, libevent_core.pc, libevent_pthreads.pc (and
#   libevent_extra.pc when event_extra is built), field for field like
#   Debian 12's libevent-dev.  They hold absolute paths, like Debian's, and
#   are written at install time so `cmake --install --prefix P` and DESTDIR
#   both yield correct files.
#
# CMake: find_package(Libevent) as with libevent 2.1's own CMake build.
#   LibeventConfig.cmake and LibeventConfigVersion.cmake go to
#   ${CMAKE_INSTALL_LIBDIR}/cmake/libevent; the export set LibeventTargets
#   holds the real targets as Libevent::event_core, Libevent::event_core_static
#   and so on (the names the build tree's aliases use), and the config file
#   adds upstream's component targets libevent::core, libevent::extra,
#   libevent::pthreads, plus libevent::event for the combined library.  The
#   build tree gets a config too: -DLibevent_DIR=<build dir> works.
#
# Included by the top CMakeLists after install(TARGETS ... EXPORT
# LibeventTargets).
include(CMakePackageConfigHelpers)

# --- development symlinks ---------------------------------------------------
# `-levent_core` must find the shared library: Debian ships libevent_core.so
# -> libevent_core-2.1.so.7.0.1 beside the archive libevent_core.a.  CMake's
# own name link is libevent_core-2.1.so, which -levent_core never looks for,
# so the linker would silently take the static archive.  Make the link in the
# build tree's lib directory (for -L<build>/lib) and install it.
# (Windows links against the import library, libevent_core-2.1.dll.a.)
foreach(lib IN LISTS EVENT_LIBS)
    if(TARGET ${lib} AND NOT WIN32)
        set(link ${CMAKE_BINARY_DIR}/lib/lib${lib}.so)
        add_custom_command(TARGET ${lib} POST_BUILD
            COMMAND ${CMAKE_COMMAND} -E create_symlink
                $<TARGET_SONAME_FILE_NAME:${lib}> ${link}
            VERBATIM)
        install(FILES ${link} DESTINATION ${CMAKE_INSTALL_LIBDIR})
    endif()
endforeach()

# --- pkg-config ----------------------------------------------------------

set(EVENT_PC_BUILD_DIR ${CMAKE_BINARY_DIR}/pkgconfig)
set(EVENT_PC_NAMES)

# Paths relative to the prefix stay "${prefix}/..." as in Debian's files.
foreach(kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
        set(EVENT_PC_${kind} "${CMAKE_INSTALL_${kind}}")
    else()
        set(EVENT_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
    endif()
endforeach()

# Writes the template of one .pc file; %PREFIX% is filled in at install.
function(event_pkgconfig name description requires lib)
    file(WRITE ${EVENT_PC_BUILD_DIR}/${name}.pc.in
"#libevent pkg-config source file

prefix=%PREFIX%
exec_prefix=\${prefix}
libdir=${EVENT_PC_LIBDIR}
includedir=${EVENT_PC_INCLUDEDIR}

Name: ${name}
Description: ${description}
Version: ${EVENT_PACKAGE_VERSION}
Requires: ${requires}
Conflicts:
Libs: -L\${libdir} -l${lib}
Libs.private: 
Cflags: -I\${includedir}
")
    set(EVENT_PC_NAMES ${EVENT_PC_NAMES} ${name} PARENT_SCOPE)
endfunction()

event_pkgconfig(libevent
    "libevent is an asynchronous notification event loop library"
    "" event)
event_pkgconfig(libevent_core "libevent_core" "" event_core)
if(TARGET event_extra)
    event_pkgconfig(libevent_extra "libevent_extra" "" event_extra)
endif()
# Debian's file requires libevent (not libevent_core): keep that, so a
# program linking only `pkg-config --libs libevent_pthreads` still gets
# http/dns as it does with Debian's package.
event_pkgconfig(libevent_pthreads
    "libevent_pthreads adds pthreads-based threading support to libevent"
    libevent event_pthreads)

# Runs at install time, when CMAKE_INSTALL_PREFIX is the real prefix.
file(WRITE ${EVENT_PC_BUILD_DIR}/install-pc.cmake
"set(names \"${EVENT_PC_NAMES}\")
set(libdir \"${CMAKE_INSTALL_LIBDIR}\")
set(templates \"${EVENT_PC_BUILD_DIR}\")
")
file(APPEND ${EVENT_PC_BUILD_DIR}/install-pc.cmake [=[
if(IS_ABSOLUTE "${libdir}")
    set(dir "$ENV{DESTDIR}${libdir}/pkgconfig")
else()
    set(dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${libdir}/pkgconfig")
endif()
foreach(name IN LISTS names)
    file(READ "${templates}/${name}.pc.in" text)
    string(REPLACE "%PREFIX%" "${CMAKE_INSTALL_PREFIX}" text "${text}")
    message(STATUS "Installing: ${dir}/${name}.pc")
    file(MAKE_DIRECTORY "${dir}")
    file(WRITE "${dir}/${name}.pc" "${text}")
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dir}/${name}.pc")
endforeach()
]=])
install(SCRIPT ${EVENT_PC_BUILD_DIR}/install-pc.cmake)

# --- CMake package ---------------------------------------------------------

set(EVENT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/libevent)

# Component name -> target base name.  Upstream's components are core,
# extra, pthreads (openssl and mbedtls are not built here); "event" is ours.
set(EVENT_CMAKE_COMPONENTS "core=event_core")
if(TARGET event_extra)
    list(APPEND EVENT_CMAKE_COMPONENTS "extra=event_extra")
endif()
list(APPEND EVENT_CMAKE_COMPONENTS "pthreads=event_pthreads" "event=event")

set(EVENT_CMAKE_CONFIG [=[
# Config file for the libevent package (a drop-in for libevent 2.1).
#
#   find_package(Libevent [2.1] [REQUIRED] [COMPONENTS core extra pthreads])
#   target_link_libraries(app libevent::core)
#
# Components and their imported targets:
#   core      libevent::core      event loop, buffers, bufferevents, utils
#   extra     libevent::extra     http, dns, rpc (when built)
#   pthreads  libevent::pthreads  evthread_use_pthreads()
#   event     libevent::event     core + extra in one library
# Without COMPONENTS, core, extra and pthreads are requested (as upstream).
# Shared libraries are used unless LIBEVENT_STATIC_LINK is set to TRUE
# before find_package().
#
# Variables defined, as libevent's own config does:
#   LIBEVENT_FOUND, LIBEVENT_<component>_FOUND (also spelled Libevent_...)
#   LIBEVENT_VERSION          e.g. 2.1.12
#   LIBEVENT_INCLUDE_DIRS     headers; LIBEVENT_INCLUDE_DIR is the same
#   LIBEVENT_LIBRARIES        the requested component targets;
#                             LIBEVENT_LIBRARY is the same
#   LIBEVENT_STATIC_LIBRARIES, LIBEVENT_SHARED_LIBRARIES (deprecated): the
#                             components available in each form
set(LIBEVENT_VERSION @PROJECT_VERSION@)
set(_levt_components "@EVENT_CMAKE_COMPONENTS@")

include(CMakeFindDependencyMacro)
find_dependency(Threads)
if(NOT TARGET Libevent::event_core)
    include("${CMAKE_CURRENT_LIST_DIR}/LibeventTargets.cmake")
endif()

if(NOT DEFINED LIBEVENT_STATIC_LINK)
    set(LIBEVENT_STATIC_LINK FALSE)
endif()
if(LIBEVENT_STATIC_LINK)
    set(_levt_suffix _static)
else()
    set(_levt_suffix "")
endif()

set(LIBEVENT_STATIC_LIBRARIES)
set(LIBEVENT_SHARED_LIBRARIES)
set(_levt_available)
foreach(_levt_pair IN LISTS _levt_components)
    string(REPLACE "=" ";" _levt_pair "${_levt_pair}")
    list(GET _levt_pair 0 _levt_comp)
    list(GET _levt_pair 1 _levt_target)
    list(APPEND _levt_available ${_levt_comp})
    list(APPEND LIBEVENT_SHARED_LIBRARIES ${_levt_comp})
    list(APPEND LIBEVENT_STATIC_LIBRARIES ${_levt_comp})
    if(NOT TARGET libevent::${_levt_comp})
        add_library(libevent::${_levt_comp} INTERFACE IMPORTED)
        set_target_properties(libevent::${_levt_comp} PROPERTIES
            INTERFACE_LINK_LIBRARIES
            "Libevent::${_levt_target}${_levt_suffix}")
    endif()
endforeach()
list(REMOVE_ITEM LIBEVENT_SHARED_LIBRARIES event)
list(REMOVE_ITEM LIBEVENT_STATIC_LIBRARIES event)

set(_levt_names ${CMAKE_FIND_PACKAGE_NAME} LIBEVENT Libevent libevent)
list(REMOVE_DUPLICATES _levt_names)

if(${CMAKE_FIND_PACKAGE_NAME}_FIND_COMPONENTS)
    set(_levt_wanted ${${CMAKE_FIND_PACKAGE_NAME}_FIND_COMPONENTS})
    list(REMOVE_DUPLICATES _levt_wanted)
else()
    set(_levt_wanted ${LIBEVENT_SHARED_LIBRARIES})
endif()

set(LIBEVENT_LIBRARIES)
set(_levt_missing)
foreach(_levt_comp IN LISTS _levt_wanted)
    list(FIND _levt_available ${_levt_comp} _levt_index)
    if(_levt_index GREATER -1)
        list(APPEND LIBEVENT_LIBRARIES libevent::${_levt_comp})
        foreach(_levt_name IN LISTS _levt_names)
            set(${_levt_name}_${_levt_comp}_FOUND TRUE)
        endforeach()
    elseif(${CMAKE_FIND_PACKAGE_NAME}_FIND_REQUIRED_${_levt_comp})
        list(APPEND _levt_missing ${_levt_comp})
    endif()
endforeach()
set(LIBEVENT_LIBRARY ${LIBEVENT_LIBRARIES})

get_target_property(LIBEVENT_INCLUDE_DIRS Libevent::event_core
    INTERFACE_INCLUDE_DIRECTORIES)
list(REMOVE_DUPLICATES LIBEVENT_INCLUDE_DIRS)
set(LIBEVENT_INCLUDE_DIR ${LIBEVENT_INCLUDE_DIRS})

if(_levt_missing)
    set(_levt_found FALSE)
    set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE
        "libevent has no component(s) ${_levt_missing}; available: ${_levt_available}")
else()
    set(_levt_found TRUE)
    if(NOT ${CMAKE_FIND_PACKAGE_NAME}_FIND_QUIETLY)
        message(STATUS "Found libevent ${LIBEVENT_VERSION} in ${CMAKE_CURRENT_LIST_DIR}")
    endif()
endif()
foreach(_levt_name IN LISTS _levt_names)
    set(${_levt_name}_FOUND ${_levt_found})
endforeach()

foreach(_levt_var _levt_components _levt_suffix _levt_available _levt_pair
        _levt_comp _levt_target _levt_names _levt_wanted _levt_missing
        _levt_index _levt_name _levt_found)
    unset(${_levt_var})
endforeach()
]=])
string(CONFIGURE "${EVENT_CMAKE_CONFIG}" EVENT_CMAKE_CONFIG @ONLY)

# The same file serves the build tree (beside the build-tree export) and
# the install tree: it only refers to files next to itself.
file(WRITE ${CMAKE_BINARY_DIR}/LibeventConfig.cmake "${EVENT_CMAKE_CONFIG}")

# Like upstream: any request up to our version is compatible.
write_basic_package_version_file(
    ${CMAKE_BINARY_DIR}/LibeventConfigVersion.cmake
    VERSION ${PROJECT_VERSION}
    COMPATIBILITY AnyNewerVersion)

install(EXPORT LibeventTargets
    NAMESPACE Libevent::
    FILE LibeventTargets.cmake
    DESTINATION ${EVENT_CMAKE_INSTALL_DIR})
export(EXPORT LibeventTargets
    NAMESPACE Libevent::
    FILE ${CMAKE_BINARY_DIR}/LibeventTargets.cmake)
install(FILES
    ${CMAKE_BINARY_DIR}/LibeventConfig.cmake
    ${CMAKE_BINARY_DIR}/LibeventConfigVersion.cmake
    DESTINATION ${EVENT_CMAKE_INSTALL_DIR})
