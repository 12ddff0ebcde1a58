/*
 * event2/keyvalq_struct.h: the key/value list used for HTTP headers.
 *
 * The list is a <sys/queue.h> TAILQ.  If the program has not included
 * <sys/queue.h>, equivalent TAILQ_ENTRY/TAILQ_HEAD definitions are supplied
 * here and removed again at the end, so that the user's namespace is left
 * as it was.
 */
#ifndef EVENT2_KEYVALQ_STRUCT_H_INCLUDED_
#define EVENT2_KEYVALQ_STRUCT_H_INCLUDED_

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TAILQ_ENTRY
#define EVENT_DEFINED_TQENTRY_
#define TAILQ_ENTRY(type)                                                     \
    struct {                                                                  \
        struct type *tqe_next;                                                \
        struct type **tqe_prev;                                               \
    }
#endif

#ifndef TAILQ_HEAD
#define EVENT_DEFINED_TQHEAD_
#define TAILQ_HEAD(name, type)                                                \
    struct name {                                                             \
        struct type *tqh_first;                                               \
        struct type **tqh_last;                                               \
    }
#endif

/** One key/value pair, e.g. an HTTP header. */
struct evkeyval {
    /** Link to the neighbouring pairs. */
    TAILQ_ENTRY(evkeyval) next;
    /** The key (header name). */
    char *key;
    /** The value. */
    char *value;
};

/** A list of struct evkeyval. */
TAILQ_HEAD(evkeyvalq, evkeyval);

#ifdef EVENT_DEFINED_TQENTRY_
#undef TAILQ_ENTRY
#undef EVENT_DEFINED_TQENTRY_
#endif
#ifdef EVENT_DEFINED_TQHEAD_
#undef TAILQ_HEAD
#undef EVENT_DEFINED_TQHEAD_
#endif

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_KEYVALQ_STRUCT_H_INCLUDED_ */
