/* Windows has no sendfile; an empty stand-in (see README in win32-compat/).
 * The library only calls sendfile behind EVENT__HAVE_SENDFILE. */
