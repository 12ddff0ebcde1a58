# CMake toolchain file: cross-build for 64-bit Windows with mingw-w64
# (Debian: gcc-mingw-w64-x86-64-win32, the win32 thread model).
#
#   cmake -S . -B build-wine \
#       -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
#
# Executables built this way run on Linux through Wine; ctest runs them
# with CMAKE_CROSSCOMPILING_EMULATOR (set here to wine when it is found),
# see test/wine/run.sh.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(EVENT_MINGW_PREFIX x86_64-w64-mingw32)
find_program(CMAKE_C_COMPILER NAMES ${EVENT_MINGW_PREFIX}-gcc-win32
    ${EVENT_MINGW_PREFIX}-gcc REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${EVENT_MINGW_PREFIX}-windres)
find_program(CMAKE_AR NAMES ${EVENT_MINGW_PREFIX}-gcc-ar-win32
    ${EVENT_MINGW_PREFIX}-ar)
find_program(CMAKE_RANLIB NAMES ${EVENT_MINGW_PREFIX}-gcc-ranlib-win32
    ${EVENT_MINGW_PREFIX}-ranlib)

set(CMAKE_FIND_ROOT_PATH /usr/${EVENT_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Vista is the oldest Windows with CONDITION_VARIABLE and GetTickCount64.
# In the flags (not add_compile_definitions) so that the configure
# checks see the same declarations as the build.
set(CMAKE_C_FLAGS_INIT
    "-D_WIN32_WINNT=0x0600 -DWIN32_LEAN_AND_MEAN -D__USE_MINGW_ANSI_STDIO=1")

if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
    find_program(EVENT_WINE_PROGRAM NAMES wine wine64)
    if(EVENT_WINE_PROGRAM)
        set(CMAKE_CROSSCOMPILING_EMULATOR ${EVENT_WINE_PROGRAM})
    endif()
endif()

# Link libgcc statically, so that the DLLs and programs need no
# libgcc_s_seh-1.dll beside them (only system DLLs).
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc")
