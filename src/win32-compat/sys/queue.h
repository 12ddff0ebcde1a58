/*
 * Windows stand-in for <sys/queue.h> (see README): the BSD doubly linked
 * LIST and TAILQ macros the library uses.  Layouts match glibc's and the
 * fallbacks in event2/event_struct.h: an entry holds the next pointer and
 * the address of the previous element's next pointer; a TAILQ head holds
 * the first element and the address of the last element's next pointer.
 */
#ifndef EVENT_WIN32_COMPAT_SYS_QUEUE_H_
#define EVENT_WIN32_COMPAT_SYS_QUEUE_H_

#ifndef LIST_HEAD
#define LIST_HEAD(name, type)                                                 \
    struct name {                                                             \
        struct type *lh_first;                                                \
    }
#endif
#ifndef LIST_ENTRY
#define LIST_ENTRY(type)                                                      \
    struct {                                                                  \
        struct type *le_next;                                                 \
        struct type **le_prev;                                                \
    }
#endif
#define LIST_FIRST(head) ((head)->lh_first)
#define LIST_NEXT(elm, field) ((elm)->field.le_next)
#define LIST_EMPTY(head) ((head)->lh_first == NULL)
#define LIST_INIT(head) ((head)->lh_first = NULL)
#define LIST_FOREACH(var, head, field)                                        \
    for ((var) = LIST_FIRST(head); (var); (var) = LIST_NEXT(var, field))
#define LIST_INSERT_HEAD(head, elm, field)                                    \
    do {                                                                      \
        if (((elm)->field.le_next = (head)->lh_first) != NULL)                \
            (head)->lh_first->field.le_prev = &(elm)->field.le_next;          \
        (head)->lh_first = (elm);                                             \
        (elm)->field.le_prev = &(head)->lh_first;                             \
    } while (0)
#define LIST_REMOVE(elm, field)                                               \
    do {                                                                      \
        if ((elm)->field.le_next != NULL)                                     \
            (elm)->field.le_next->field.le_prev = (elm)->field.le_prev;       \
        *(elm)->field.le_prev = (elm)->field.le_next;                         \
    } while (0)

#ifndef TAILQ_HEAD
#define TAILQ_HEAD(name, type)                                                \
    struct name {                                                             \
        struct type *tqh_first;                                               \
        struct type **tqh_last;                                               \
    }
#endif
#ifndef TAILQ_ENTRY
#define TAILQ_ENTRY(type)                                                     \
    struct {                                                                  \
        struct type *tqe_next;                                                \
        struct type **tqe_prev;                                               \
    }
#endif
#define TAILQ_FIRST(head) ((head)->tqh_first)
#define TAILQ_NEXT(elm, field) ((elm)->field.tqe_next)
#define TAILQ_EMPTY(head) ((head)->tqh_first == NULL)
/* The last element's tqe_next is the first member of its entry, whose
 * layout is that of a head, so the head's tqh_last reads as a head. */
#define TAILQ_LAST(head, headname)                                            \
    (*(((struct headname *)((head)->tqh_last))->tqh_last))
#define TAILQ_PREV(elm, headname, field)                                      \
    (*(((struct headname *)((elm)->field.tqe_prev))->tqh_last))
#define TAILQ_INIT(head)                                                      \
    do {                                                                      \
        (head)->tqh_first = NULL;                                             \
        (head)->tqh_last = &(head)->tqh_first;                                \
    } while (0)
#define TAILQ_FOREACH(var, head, field)                                       \
    for ((var) = TAILQ_FIRST(head); (var); (var) = TAILQ_NEXT(var, field))
#define TAILQ_FOREACH_REVERSE(var, head, headname, field)                     \
    for ((var) = TAILQ_LAST(head, headname); (var);                           \
         (var) = TAILQ_PREV(var, headname, field))
#define TAILQ_INSERT_HEAD(head, elm, field)                                   \
    do {                                                                      \
        if (((elm)->field.tqe_next = (head)->tqh_first) != NULL)              \
            (head)->tqh_first->field.tqe_prev = &(elm)->field.tqe_next;       \
        else                                                                  \
            (head)->tqh_last = &(elm)->field.tqe_next;                        \
        (head)->tqh_first = (elm);                                            \
        (elm)->field.tqe_prev = &(head)->tqh_first;                           \
    } while (0)
#define TAILQ_INSERT_TAIL(head, elm, field)                                   \
    do {                                                                      \
        (elm)->field.tqe_next = NULL;                                         \
        (elm)->field.tqe_prev = (head)->tqh_last;                             \
        *(head)->tqh_last = (elm);                                            \
        (head)->tqh_last = &(elm)->field.tqe_next;                            \
    } while (0)
#define TAILQ_INSERT_AFTER(head, listelm, elm, field)                         \
    do {                                                                      \
        if (((elm)->field.tqe_next = (listelm)->field.tqe_next) != NULL)      \
            (elm)->field.tqe_next->field.tqe_prev = &(elm)->field.tqe_next;   \
        else                                                                  \
            (head)->tqh_last = &(elm)->field.tqe_next;                        \
        (listelm)->field.tqe_next = (elm);                                    \
        (elm)->field.tqe_prev = &(listelm)->field.tqe_next;                   \
    } while (0)
#define TAILQ_REMOVE(head, elm, field)                                        \
    do {                                                                      \
        if ((elm)->field.tqe_next != NULL)                                    \
            (elm)->field.tqe_next->field.tqe_prev = (elm)->field.tqe_prev;    \
        else                                                                  \
            (head)->tqh_last = (elm)->field.tqe_prev;                         \
        *(elm)->field.tqe_prev = (elm)->field.tqe_next;                       \
    } while (0)

#endif /* EVENT_WIN32_COMPAT_SYS_QUEUE_H_ */
