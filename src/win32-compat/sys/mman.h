/* Windows has no mmap; an empty stand-in (see README in win32-compat/).
 * The library only calls mmap behind EVENT__HAVE_MMAP. */
