/* Windows has no getrandom; an empty stand-in (see README in win32-compat/).
 * The library only calls getrandom behind EVENT__HAVE_GETRANDOM. */
