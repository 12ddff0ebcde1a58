/*
 * event2/buffer.h: evbuffer, a byte queue for network I/O.
 *
 * An evbuffer holds data in a chain of chunks, so appending, draining and
 * moving data between buffers are cheap and rarely copy.  Data is added at
 * the end and removed from the front.  struct evbuffer is opaque.
 */
#ifndef EVENT2_BUFFER_H_INCLUDED_
#define EVENT2_BUFFER_H_INCLUDED_

/** @file event2/buffer.h
 * Buffered byte queues: adding, removing, searching, reading and writing.
 */

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <event2/event-config.h>
#include <stdarg.h>
#ifdef EVENT__HAVE_SYS_TYPES_H
#include <sys/types.h>
#endif
#ifdef EVENT__HAVE_SYS_UIO_H
#include <sys/uio.h>
#endif

#include <event2/util.h>

/** A byte queue; opaque. */
struct evbuffer;

/**
 * A position inside an evbuffer, as returned by the search functions.
 * It stays valid only while the buffer is not changed before it.
 */
struct evbuffer_ptr {
    /** Offset from the start of the buffer, or -1 for "not found". */
    ev_ssize_t pos;

    /** Where pos lies in the chunk chain (library use only). */
    struct {
        void *chain;
        size_t pos_in_chain;
    } internal_;
};

#ifdef EVENT__HAVE_SYS_UIO_H
/** A span of memory (the system's struct iovec). */
#define evbuffer_iovec iovec
/* Tells the library that evbuffer_iovec is the system's own struct. */
#define EVBUFFER_IOVEC_IS_NATIVE_
#else
/** A span of memory, for systems without struct iovec. */
struct evbuffer_iovec {
    /** Start of the span. */
    void *iov_base;
    /** Its length in bytes. */
    size_t iov_len;
};
#endif

/** Allocate an empty buffer; NULL on failure. */
EVENT2_EXPORT_SYMBOL
struct evbuffer *evbuffer_new(void);

/** Free a buffer and its contents. */
EVENT2_EXPORT_SYMBOL
void evbuffer_free(struct evbuffer *buf);

/**
 * Protect @p buf with @p lock (a recursive lock from the installed
 * callbacks), or with a new lock when @p lock is NULL.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_enable_locking(struct evbuffer *buf, void *lock);

/** Take the buffer's lock, to make several calls atomically. */
EVENT2_EXPORT_SYMBOL
void evbuffer_lock(struct evbuffer *buf);

/** Release the buffer's lock. */
EVENT2_EXPORT_SYMBOL
void evbuffer_unlock(struct evbuffer *buf);

/**
 * Flag: the buffer is written to an fd, so the library may use
 * sendfile()/mmap() tricks on its file segments.
 */
#define EVBUFFER_FLAG_DRAINS_TO_FD 1

/** Set EVBUFFER_FLAG_* bits.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_set_flags(struct evbuffer *buf, ev_uint64_t flags);

/** Clear EVBUFFER_FLAG_* bits.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_clear_flags(struct evbuffer *buf, ev_uint64_t flags);

/** The number of bytes stored. */
EVENT2_EXPORT_SYMBOL
size_t evbuffer_get_length(const struct evbuffer *buf);

/**
 * The number of bytes stored contiguously at the front (what
 * evbuffer_pullup() can return without copying).
 */
EVENT2_EXPORT_SYMBOL
size_t evbuffer_get_contiguous_space(const struct evbuffer *buf);

/**
 * Make room for @p datlen more bytes so that the next add does not
 * allocate.  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_expand(struct evbuffer *buf, size_t datlen);

/**
 * Reserve at least @p size bytes of writable space at the end, described
 * in up to @p n_vec extents of @p vec.  Fill them, then call
 * evbuffer_commit_space().
 * @return the number of extents used (possibly more than @p n_vec, in
 *     which case only the first n_vec were filled), or -1 on error
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_reserve_space(struct evbuffer *buf, ev_ssize_t size,
    struct evbuffer_iovec *vec, int n_vec);

/**
 * Append the data written into space from evbuffer_reserve_space();
 * iov_len of each extent says how much of it was used.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_commit_space(struct evbuffer *buf, struct evbuffer_iovec *vec,
    int n_vecs);

/** Append a copy of @p datlen bytes at @p data.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_add(struct evbuffer *buf, const void *data, size_t datlen);

/**
 * Move up to @p datlen bytes from the front into @p data.
 * @return the number of bytes moved, or -1 on error
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_remove(struct evbuffer *buf, void *data, size_t datlen);

/**
 * Copy up to @p datlen bytes from the front into @p data_out, leaving
 * the buffer unchanged.  Returns the number copied, or -1.
 */
EVENT2_EXPORT_SYMBOL
ev_ssize_t evbuffer_copyout(struct evbuffer *buf, void *data_out,
    size_t datlen);

/**
 * As evbuffer_copyout(), starting at @p pos (NULL: the front).
 */
EVENT2_EXPORT_SYMBOL
ev_ssize_t evbuffer_copyout_from(struct evbuffer *buf,
    const struct evbuffer_ptr *pos, void *data_out, size_t datlen);

/**
 * Move up to @p datlen bytes from the front of @p src to the end of
 * @p dst, avoiding copies where possible.
 * @return the number of bytes moved, or -1 on error
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_remove_buffer(struct evbuffer *src, struct evbuffer *dst,
    size_t datlen);

/** Line endings recognised by evbuffer_readln(). */
enum evbuffer_eol_style {
    /** Any run of CR and LF characters. */
    EVBUFFER_EOL_ANY,
    /** LF, optionally preceded by CR. */
    EVBUFFER_EOL_CRLF,
    /** Exactly CR LF. */
    EVBUFFER_EOL_CRLF_STRICT,
    /** Exactly LF. */
    EVBUFFER_EOL_LF,
    /** A NUL byte. */
    EVBUFFER_EOL_NUL
};

/**
 * Remove one line from the front and return it NUL-terminated, without
 * its terminator, in memory the caller frees.  The line length goes to
 * @p n_read_out if not NULL.  Returns NULL when no full line is buffered.
 */
EVENT2_EXPORT_SYMBOL
char *evbuffer_readln(struct evbuffer *buffer, size_t *n_read_out,
    enum evbuffer_eol_style eol_style);

/**
 * Move all of @p inbuf to the end of @p outbuf without copying.
 * Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_add_buffer(struct evbuffer *outbuf, struct evbuffer *inbuf);

/**
 * Append the contents of @p inbuf to @p outbuf by reference: @p inbuf is
 * unchanged and must not be modified while @p outbuf refers to it.
 * Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_add_buffer_reference(struct evbuffer *outbuf,
    struct evbuffer *inbuf);

/** Called when memory added by evbuffer_add_reference() is released. */
typedef void (*evbuffer_ref_cleanup_cb)(const void *data, size_t datalen,
    void *extra);

/**
 * Append caller-owned memory without copying it; @p cleanupfn (if not
 * NULL) is called with @p cleanupfn_arg once the buffer is done with it.
 * Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_add_reference(struct evbuffer *outbuf, const void *data,
    size_t datlen, evbuffer_ref_cleanup_cb cleanupfn, void *cleanupfn_arg);

/**
 * Append @p length bytes of file @p fd from @p offset (-1 length: to the
 * end), using sendfile() or mmap() when possible.  On success the buffer
 * takes ownership of @p fd and closes it when the data is gone; on failure
 * (-1) the caller still owns it.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_add_file(struct evbuffer *outbuf, int fd, ev_off_t offset,
    ev_off_t length);

/** A piece of a file that can be added to buffers many times; opaque. */
struct evbuffer_file_segment;

/**
 * @name Flags for evbuffer_file_segment_new()
 * @{
 */
/** Close the fd when the segment is freed. */
#define EVBUF_FS_CLOSE_ON_FREE 0x01
/** Never map the file. */
#define EVBUF_FS_DISABLE_MMAP 0x02
/** Never use sendfile(). */
#define EVBUF_FS_DISABLE_SENDFILE 0x04
/** The segment is used by one thread only: skip locking. */
#define EVBUF_FS_DISABLE_LOCKING 0x08
/** @} */

/** Called when the last reference to a file segment goes away. */
typedef void (*evbuffer_file_segment_cleanup_cb)(
    struct evbuffer_file_segment const *seg, int flags, void *arg);

/**
 * Describe @p length bytes of @p fd from @p offset (-1 length: to the
 * end) with EVBUF_FS_* @p flags.  NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct evbuffer_file_segment *evbuffer_file_segment_new(int fd,
    ev_off_t offset, ev_off_t length, unsigned flags);

/**
 * Drop the caller's reference to a segment; it is freed once no buffer
 * uses it.
 */
EVENT2_EXPORT_SYMBOL
void evbuffer_file_segment_free(struct evbuffer_file_segment *seg);

/** Set the function called when the segment is finally released. */
EVENT2_EXPORT_SYMBOL
void evbuffer_file_segment_add_cleanup_cb(struct evbuffer_file_segment *seg,
    evbuffer_file_segment_cleanup_cb cb, void *arg);

/**
 * Append @p length bytes of @p seg from @p offset (-1 length: to the end
 * of the segment).  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_add_file_segment(struct evbuffer *buf,
    struct evbuffer_file_segment *seg, ev_off_t offset, ev_off_t length);

/**
 * Append printf()-formatted text.
 * @return the number of bytes added, or -1 on error
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** As evbuffer_add_printf(), with a va_list. */
EVENT2_EXPORT_SYMBOL
int evbuffer_add_vprintf(struct evbuffer *buf, const char *fmt, va_list ap)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 0)))
#endif
    ;

/** Discard @p len bytes from the front (all if fewer).  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_drain(struct evbuffer *buf, size_t len);

/**
 * Write as much of the buffer as the fd takes, draining what was written.
 * @return the number of bytes written, or -1 on error
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_write(struct evbuffer *buffer, evutil_socket_t fd);

/**
 * Write at most @p howmuch bytes (all if negative) to @p fd, draining
 * what was written.  Returns the number written, or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_write_atmost(struct evbuffer *buffer, evutil_socket_t fd,
    ev_ssize_t howmuch);

/**
 * Read up to @p howmuch bytes (a default amount if negative) from @p fd
 * into the end of the buffer.
 * @return the number of bytes read, 0 at end of file, -1 on error
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_read(struct evbuffer *buffer, evutil_socket_t fd, int howmuch);

/**
 * Find the first occurrence of @p what (@p len bytes) at or after
 * @p start (NULL: the front).  The result's pos is -1 when not found.
 */
EVENT2_EXPORT_SYMBOL
struct evbuffer_ptr evbuffer_search(struct evbuffer *buffer,
    const char *what, size_t len, const struct evbuffer_ptr *start);

/**
 * As evbuffer_search(), but the match must end before @p end (NULL: the
 * end of the buffer).
 */
EVENT2_EXPORT_SYMBOL
struct evbuffer_ptr evbuffer_search_range(struct evbuffer *buffer,
    const char *what, size_t len, const struct evbuffer_ptr *start,
    const struct evbuffer_ptr *end);

/** How evbuffer_ptr_set() interprets its position. */
enum evbuffer_ptr_how {
    /** Set the pointer to the given offset. */
    EVBUFFER_PTR_SET,
    /** Move the pointer forward by the given amount. */
    EVBUFFER_PTR_ADD
};

/**
 * Set or advance @p ptr to @p position.  Moving to just past the last byte
 * is allowed.  Returns 0 on success, -1 if outside the buffer (then ptr's
 * pos becomes -1).
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_ptr_set(struct evbuffer *buffer, struct evbuffer_ptr *ptr,
    size_t position, enum evbuffer_ptr_how how);

/**
 * Find the next line ending of @p eol_style at or after @p start (NULL:
 * the front) and store its length in @p eol_len_out if not NULL.  The
 * result's pos is -1 when there is none.
 */
EVENT2_EXPORT_SYMBOL
struct evbuffer_ptr evbuffer_search_eol(struct evbuffer *buffer,
    struct evbuffer_ptr *start, size_t *eol_len_out,
    enum evbuffer_eol_style eol_style);

/**
 * Describe the buffer's memory without copying: fill up to @p n_vec
 * extents covering @p len bytes (all if negative) from @p start_at (NULL:
 * the front).  The data must not be modified through them.
 * @return the number of extents needed, which may exceed @p n_vec
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_peek(struct evbuffer *buffer, ev_ssize_t len,
    struct evbuffer_ptr *start_at, struct evbuffer_iovec *vec_out,
    int n_vec);

/** What changed in a buffer, as reported to an evbuffer_cb_func. */
struct evbuffer_cb_info {
    /** The length before the changes. */
    size_t orig_size;
    /** Bytes added since the last call. */
    size_t n_added;
    /** Bytes removed since the last call. */
    size_t n_deleted;
};

/**
 * Called after data is added to or removed from a buffer (or later, if
 * callbacks are deferred).  It may change the buffer.
 */
typedef void (*evbuffer_cb_func)(struct evbuffer *buffer,
    const struct evbuffer_cb_info *info, void *arg);

/** A registered buffer callback; opaque. */
struct evbuffer_cb_entry;

/** Register a change callback.  Returns its handle, or NULL on failure. */
EVENT2_EXPORT_SYMBOL
struct evbuffer_cb_entry *evbuffer_add_cb(struct evbuffer *buffer,
    evbuffer_cb_func cb, void *cbarg);

/** Unregister a callback by handle.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_remove_cb_entry(struct evbuffer *buffer,
    struct evbuffer_cb_entry *ent);

/**
 * Unregister the first callback with this function and argument.
 * Returns 0 on success, -1 if none matched.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_remove_cb(struct evbuffer *buffer, evbuffer_cb_func cb,
    void *cbarg);

/** Callback flag: the callback is enabled (set by default). */
#define EVBUFFER_CB_ENABLED 1

/** Set flags on a callback.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_cb_set_flags(struct evbuffer *buffer,
    struct evbuffer_cb_entry *cb, ev_uint32_t flags);

/** Clear flags on a callback.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_cb_clear_flags(struct evbuffer *buffer,
    struct evbuffer_cb_entry *cb, ev_uint32_t flags);

/**
 * Make the first @p size bytes (all if negative) contiguous and return a
 * pointer to them; NULL if the buffer holds fewer bytes.
 */
EVENT2_EXPORT_SYMBOL
unsigned char *evbuffer_pullup(struct evbuffer *buf, ev_ssize_t size);

/** Insert a copy of @p data at the front.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_prepend(struct evbuffer *buf, const void *data, size_t size);

/** Move all of @p src to the front of @p dst.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_prepend_buffer(struct evbuffer *dst, struct evbuffer *src);

/**
 * Forbid changes at the front (@p at_front true: draining) or at the end
 * (adding) of the buffer; such calls then fail.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_freeze(struct evbuffer *buf, int at_front);

/** Undo evbuffer_freeze().  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evbuffer_unfreeze(struct evbuffer *buf, int at_front);

struct event_base;

/**
 * Run the buffer's callbacks from @p base's loop instead of immediately.
 * Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_defer_callbacks(struct evbuffer *buffer,
    struct event_base *base);

/**
 * Append copies of @p n_vec memory spans.
 * @return the number of bytes added
 */
EVENT2_EXPORT_SYMBOL
size_t evbuffer_add_iovec(struct evbuffer *buffer,
    struct evbuffer_iovec *vec, int n_vec);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_BUFFER_H_INCLUDED_ */
