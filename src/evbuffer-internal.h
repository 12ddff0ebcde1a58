/*
 * evbuffer-internal.h: the private shape of an evbuffer, and the internal
 * calls bufferevents (and the other evbuffer files) use.
 *
 * An evbuffer is a singly linked list of chains.  Each chain owns (or
 * refers to) a block of buffer_len bytes whose live data is the range
 * [misalign, misalign + off).  Data is appended at the end of the last
 * chain that has data and taken from the front of the first one.
 *
 * Invariants kept by every function that returns with the lock released
 * (src/buffer.c checks them under EVBUFFER_CHECK_INVARIANTS):
 *  - first..last is the list; last->next == NULL; both NULL when empty.
 *  - total_len is the sum of off over all chains; it never exceeds
 *    EV_SSIZE_MAX, so every position fits an ev_ssize_t.
 *  - last_with_datap points at &first or at the next field of a chain in
 *    the list.  When total_len is 0 it is &first (the list may still hold
 *    empty chains kept as spare space).  Otherwise *last_with_datap is
 *    the last chain with data, every chain after it is empty and every
 *    chain before it (and it) has off > 0.
 *  - A chain is written into (at its end, or before its data by prepend)
 *    only when it is "writable": not immutable (reference, file segment,
 *    multicast), not pinned and referenced by nobody else (refcnt == 1).
 *  - Chains are freed through evbuffer_chain_free_(), which honours
 *    refcnt (buffer references made by evbuffer_add_buffer_reference) and
 *    pins (the chain becomes dangling and is freed by the last unpin).
 *
 * Locking and callbacks, the contract for callers inside the library:
 *  - Every public evbuffer_* function takes the buffer's lock itself
 *    (EVBUFFER_LOCK; the lock is recursive), so code holding the lock may
 *    call them.  Functions named *_nolock_ or documented "lock held"
 *    below expect the caller to hold it.
 *  - A public function that adds or removes data invokes the buffer's
 *    callbacks before it returns (evbuffer_invoke_callbacks_), with the
 *    lock held.  If evbuffer_defer_callbacks() was called the user
 *    callbacks run later from the event loop instead; callbacks with
 *    EVBUFFER_CB_NODEFER set still run at once.  Code that changes
 *    total_len by hand must add to n_add_for_cb / n_del_for_cb and call
 *    evbuffer_invoke_callbacks_().
 *  - The deferred run holds a reference on the buffer and, when the
 *    buffer has a parent bufferevent, on that bufferevent
 *    (bufferevent_incref_and_lock_ / bufferevent_decref_and_unlock_).
 */
#ifndef EVBUFFER_INTERNAL_H_INCLUDED_
#define EVBUFFER_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/visibility.h"
#include "event2/util.h"
#include "event2/event_struct.h"
#include "event2/buffer.h"
#include "event2/buffer_compat.h"

#include <sys/queue.h>

#include "evthread-internal.h"
#include "util-internal.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bufferevent;
struct event_base;

/* Callback flags: the low 16 bits are the user's (EVBUFFER_CB_ENABLED),
 * the high 16 bits are the library's and cannot be set through
 * evbuffer_cb_set_flags(). */
#define EVBUFFER_CB_USER_FLAGS 0xffff
#define EVBUFFER_CB_INTERNAL_FLAGS 0xffff0000
/* Run this callback immediately even when the buffer defers callbacks
 * (a bufferevent's input watermark callback).  It is in the user range,
 * as in libevent, so evbuffer_cb_set_flags() can set it. */
#define EVBUFFER_CB_NODEFER 2
/* The entry holds an obsolete evbuffer_cb (evbuffer_setcb). */
#define EVBUFFER_CB_OBSOLETE 0x00040000

/* One registered callback; newest first in the list. */
struct evbuffer_cb_entry {
    LIST_ENTRY(evbuffer_cb_entry) next;
    union {
        evbuffer_cb_func cb_func;
        evbuffer_cb cb_obsolete;
    } cb;
    void *cbarg;
    ev_uint32_t flags;
};

/* Chain flags. */
/* The chain's memory must not be written: reference, file or multicast. */
#define EVBUFFER_IMMUTABLE 0x0008
/* buffer points at user memory added with evbuffer_add_reference. */
#define EVBUFFER_REFERENCE 0x0004
/* The chain refers to part of an evbuffer_file_segment. */
#define EVBUFFER_FILESEGMENT 0x0001
/* ... and is sent with sendfile: buffer is NULL, misalign is the offset
 * in the file, and the bytes must be materialized before being read. */
#define EVBUFFER_SENDFILE 0x0002
/* The chain points into a chain of another buffer (buffer reference). */
#define EVBUFFER_MULTICAST 0x0040
/* Pinned by an overlapped read (R) or write (W): the memory must stay. */
#define EVBUFFER_MEM_PINNED_R 0x0010
#define EVBUFFER_MEM_PINNED_W 0x0020
#define EVBUFFER_MEM_PINNED_ANY (EVBUFFER_MEM_PINNED_R | EVBUFFER_MEM_PINNED_W)
/* Removed from its buffer while pinned: the last unpin frees it. */
#define EVBUFFER_DANGLING 0x0080

struct evbuffer_chain {
    /* Next chain in the buffer, NULL for the last. */
    struct evbuffer_chain *next;
    /* Size of the block buffer points at. */
    size_t buffer_len;
    /* Unused bytes before the data (for a sendfile chain: the file
     * offset of the data). */
    size_t misalign;
    /* Bytes of data. */
    size_t off;
    unsigned flags;
    /* 1 for the owning buffer, plus one per multicast chain referring to
     * this one.  Guarded by the lock of the buffer holding the chain. */
    int refcnt;
    /* The block; for a plain chain it follows this header (and any
     * extra struct below) in the same allocation. */
    unsigned char *buffer;
};

/* Extra data after the header of a reference chain. */
struct evbuffer_chain_reference {
    evbuffer_ref_cleanup_cb cleanupfn;
    void *extra;
};

/* Extra data after the header of a file-segment chain. */
struct evbuffer_chain_file_segment {
    struct evbuffer_file_segment *segment;
};

/* Extra data after the header of a multicast chain: the source buffer
 * (referenced) and the chain whose memory is shared (refcnt held). */
struct evbuffer_multicast_parent {
    struct evbuffer *source;
    struct evbuffer_chain *parent;
};

/* The extra struct of a special chain. */
#define EVBUFFER_CHAIN_EXTRA(type, ch) ((type *)(void *)((ch) + 1))

/* A range of a file shared by the buffers it is added to. */
struct evbuffer_file_segment {
    void *lock;
    int refcnt;
    unsigned flags;
    /* The file is readable with sendfile (no materialized copy needed). */
    unsigned can_sendfile : 1;
    /* contents was obtained with mmap (unmap instead of free). */
    unsigned is_mapping : 1;
    evutil_socket_t fd;
    /* Start and length of the segment in the file. */
    ev_off_t file_offset;
    ev_off_t length;
    /* The segment's bytes once materialized (NULL before): contents
     * points at the first byte of the segment.  For a mapping, mapping
     * and mapping_len describe the page-aligned region to unmap. */
    char *contents;
    void *mapping;
    size_t mapping_len;
    evbuffer_file_segment_cleanup_cb cleanup_cb;
    void *cleanup_cb_arg;
};

struct evbuffer {
    struct evbuffer_chain *first;
    struct evbuffer_chain *last;
    /* See the invariants above. */
    struct evbuffer_chain **last_with_datap;
    size_t total_len;

    /* Bytes added and removed since the callbacks last ran. */
    size_t n_add_for_cb;
    size_t n_del_for_cb;

    void *lock;
    /* We allocated the lock and free it with the buffer. */
    unsigned own_lock : 1;
    /* evbuffer_freeze(): no removing from the front / adding at the end. */
    unsigned freeze_start : 1;
    unsigned freeze_end : 1;
    /* Callbacks run from cb_queue's loop (evbuffer_defer_callbacks). */
    unsigned deferred_cbs : 1;
    /* Some chain may be a sendfile chain that must be materialized before
     * its bytes are read; cleared when the buffer is emptied. */
    unsigned has_sendfile : 1;

    /* EVBUFFER_FLAG_DRAINS_TO_FD and friends. */
    ev_uint32_t flags;

    struct event_base *cb_queue;
    /* References: the user's, and one per pending deferred run or
     * multicast chain pointing into this buffer. */
    int refcnt;
    /* Largest single evbuffer_read (EVBUFFER_MAX_READ_DEFAULT; at most
     * EV_INT32_MAX).  Beside refcnt it fills what would be padding, so the
     * struct is as large as libevent's (136 bytes). */
    ev_uint32_t max_read;
    struct event_callback deferred;

    LIST_HEAD(evbuffer_cb_queue, evbuffer_cb_entry) callbacks;

    /* The bufferevent this buffer belongs to, if any. */
    struct bufferevent *parent;
};

/* Default cap on a single evbuffer_read, as libevent 2.1's
 * EVBUFFER_MAX_READ. */
#define EVBUFFER_MAX_READ_DEFAULT 4096

/* Largest chain (and largest buffer): positions are ev_ssize_t. */
#define EVBUFFER_CHAIN_MAX ((size_t)EV_SSIZE_MAX)

#define EVBUFFER_LOCK(buf) EVLOCK_LOCK((buf)->lock, 0)
#define EVBUFFER_UNLOCK(buf) EVLOCK_UNLOCK((buf)->lock, 0)
#define EVBUFFER_LOCK2(buf1, buf2)                                            \
    EVLOCK_LOCK2((buf1)->lock, (buf2)->lock, 0, 0)
#define EVBUFFER_UNLOCK2(buf1, buf2)                                          \
    EVLOCK_UNLOCK2((buf1)->lock, (buf2)->lock, 0, 0)
#define ASSERT_EVBUFFER_LOCKED(buf) EVLOCK_ASSERT_LOCKED((buf)->lock)

/* ------------------------------------------------------------------ */
/* For bufferevents (and libevent 2.1's exported internal names). */

/** Take a reference on buf (lock taken and released). */
EVENT2_EXPORT_SYMBOL
void evbuffer_incref_(struct evbuffer *buf);

/** Lock buf and take a reference; release with
 * evbuffer_decref_and_unlock_(). */
EVENT2_EXPORT_SYMBOL
void evbuffer_incref_and_lock_(struct evbuffer *buf);

/** Drop a reference and the lock (which the caller holds); frees the
 * buffer, its chains and callbacks when that was the last reference. */
EVENT2_EXPORT_SYMBOL
void evbuffer_decref_and_unlock_(struct evbuffer *buf);

/** Record the bufferevent owning buf; deferred callback runs hold a
 * reference on it. */
EVENT2_EXPORT_SYMBOL
void evbuffer_set_parent_(struct evbuffer *buf, struct bufferevent *bev);

/** Run (or schedule, when deferred) buf's callbacks for the changes
 * counted in n_add_for_cb / n_del_for_cb.  Lock held. */
EVENT2_EXPORT_SYMBOL
void evbuffer_invoke_callbacks_(struct evbuffer *buf);

/** Store in cbs (room for max_cbs) the event_callbacks buf may have
 * queued in the loop (its deferred callback); returns how many.  For
 * finalizing a bufferevent with event_callback_finalize_many_(). */
EVENT2_EXPORT_SYMBOL
int evbuffer_get_callbacks_(struct evbuffer *buf,
    struct event_callback **cbs, int max_cbs);

/** Make room for datlen more bytes at the end using at most n chains
 * (n >= 2: the free space of the last chain with data plus following
 * empty chains).  Returns 0 or -1.  Lock held. */
EVENT2_EXPORT_SYMBOL
int evbuffer_expand_fast_(struct evbuffer *buf, size_t datlen, int n);

/** Describe in vecs (up to n_vecs_avail) the free space following the
 * data, covering at least howmuch bytes if evbuffer_expand_fast_ made it
 * available; with exact, the last vector is cut to howmuch.  *chainp is
 * set to the link pointing at the first chain described.  Returns the
 * number of vectors.  Lock held; commit what was written with
 * evbuffer_commit_space() (or the equivalent). */
EVENT2_EXPORT_SYMBOL
int evbuffer_read_setup_vecs_(struct evbuffer *buf, ev_ssize_t howmuch,
    struct evbuffer_iovec *vecs, int n_vecs_avail,
    struct evbuffer_chain ***chainp, int exact);

/** Pin a chain's memory (flag EVBUFFER_MEM_PINNED_R or _W) so that it
 * outlives removal from the buffer; unpin releases it.  Lock held. */
EVENT2_EXPORT_SYMBOL
void evbuffer_chain_pin_(struct evbuffer_chain *chain, unsigned flag);
EVENT2_EXPORT_SYMBOL
void evbuffer_chain_unpin_(struct evbuffer_chain *chain, unsigned flag);

/** Largest number of bytes one evbuffer_read() takes (default 4096).
 * Not exported: libevent 2.1 has no such calls. */
int evbuffer_set_max_read(struct evbuffer *buf, size_t max);
size_t evbuffer_get_max_read(struct evbuffer *buf);

/* ------------------------------------------------------------------ */
/* Shared between the src/buffer*.c files (not exported). */

/** A plain chain with at least size bytes of room; NULL on failure or
 * when size is too large. */
struct evbuffer_chain *evbuffer_chain_new_(size_t size);
/** A chain with an extra struct of extra_size bytes and no block. */
struct evbuffer_chain *evbuffer_chain_new_special_(size_t extra_size);
/** Release a chain no longer in any list (see the invariants). */
void evbuffer_chain_free_(struct evbuffer_chain *chain);
/** Release every chain from chain on. */
void evbuffer_chains_free_(struct evbuffer_chain *chain);

/** The chain accepts writes into its block. */
#define EVBUFFER_CHAIN_WRITABLE(ch)                                           \
    (((ch)->flags & (EVBUFFER_IMMUTABLE | EVBUFFER_MEM_PINNED_ANY)) == 0 &&   \
        (ch)->refcnt == 1)
/** Free bytes after the data of a writable chain. */
#define EVBUFFER_CHAIN_SPACE(ch)                                              \
    (EVBUFFER_CHAIN_WRITABLE(ch)                                              \
            ? (ch)->buffer_len - (ch)->misalign - (ch)->off                   \
            : 0)
#define EVBUFFER_CHAIN_SPACE_PTR(ch)                                          \
    ((ch)->buffer + (ch)->misalign + (ch)->off)
/** The first byte of a (materialized) chain's data. */
#define EVBUFFER_CHAIN_DATA(ch) ((ch)->buffer + (ch)->misalign)

/** Make sure (*buf->last_with_datap, or the chain after it) has need
 * bytes of contiguous free space; returns that chain or NULL.  The new
 * chain, if one is made, has at least alloc_hint bytes.  Lock held. */
struct evbuffer_chain *evbuffer_expand_singlechain_(struct evbuffer *buf,
    size_t need, size_t alloc_hint);

/** Account for n bytes just written into the free space of chain, which
 * is *buf->last_with_datap or the chain after it (the first chain when
 * the buffer is empty): updates off, total_len, n_add_for_cb and
 * last_with_datap.  Does not invoke callbacks.  Lock held. */
void evbuffer_append_commit_(struct evbuffer *buf,
    struct evbuffer_chain *chain, size_t n);

/** Link chain after the last chain with data, freeing the empty chains
 * there (all chains if the buffer is empty); if chain has data it becomes
 * the last chain with data.  Does not touch total_len.  Lock held. */
void evbuffer_chain_insert_(struct evbuffer *buf,
    struct evbuffer_chain *chain);

/** Free the empty chains after the last chain with data (all chains when
 * the buffer is empty); returns the link where a new chain would go.
 * Lock held. */
struct evbuffer_chain **evbuffer_free_trailing_empty_chains_(
    struct evbuffer *buf);

/** evbuffer_add() without the lock, the freeze check or the callbacks;
 * 0 or -1 (nothing changed). */
int evbuffer_add_nolock_(struct evbuffer *buf, const void *data,
    size_t datlen);

/** Where a position lies: pos must be in [0, total_len]; its chain is
 * trusted when set, otherwise found by walking from the start.  Sets
 * *chainp (NULL at the end) and *pos_in_chain; returns 0, or -1 for an
 * invalid position.  Lock held. */
int evbuffer_ptr_resolve_(struct evbuffer *buf,
    const struct evbuffer_ptr *pos, struct evbuffer_chain **chainp,
    size_t *pos_in_chain);

/** Replace the bytes of every sendfile chain by memory (mmap or read) so
 * they can be read; 0 or -1.  Lock held. */
int evbuffer_materialize_(struct evbuffer *buf);
#define EVBUFFER_MATERIALIZE(buf)                                             \
    ((buf)->has_sendfile ? evbuffer_materialize_(buf) : 0)

/** Turn one sendfile chain into a memory chain; 0 or -1. */
int evbuffer_chain_materialize_(struct evbuffer_chain *chain);

/** Release a file segment reference (src/buffer-file.c). */
void evbuffer_file_segment_decref_(struct evbuffer_file_segment *seg);
/** Get the segment's bytes into memory (mmap or pread); 0 or -1.  The
 * segment's lock held (or the segment not yet shared). */
int evbuffer_file_segment_materialize_(struct evbuffer_file_segment *seg);

/** Drain len bytes (len <= total_len), counting them for the callbacks
 * but not invoking them.  Lock held; ignores freezing. */
void evbuffer_drain_nolock_(struct evbuffer *buf, size_t len);

/** Copy datlen bytes starting at chain/pos_in_chain to out (datlen bytes
 * must be there).  Lock held; chains materialized. */
void evbuffer_copy_from_chain_(struct evbuffer_chain *chain,
    size_t pos_in_chain, void *out, size_t datlen);

/** Check the invariants above (only with EVBUFFER_CHECK_INVARIANTS
 * defined; otherwise a no-op). */
#ifdef EVBUFFER_CHECK_INVARIANTS
void evbuffer_check_invariants_(struct evbuffer *buf);
#define EVBUFFER_CHECK(buf) evbuffer_check_invariants_(buf)
#else
#define EVBUFFER_CHECK(buf) ((void)0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* EVBUFFER_INTERNAL_H_INCLUDED_ */
