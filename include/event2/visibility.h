/*
 * event2/visibility.h: the EVENT2_EXPORT_SYMBOL marker.
 *
 * Every public function is declared with EVENT2_EXPORT_SYMBOL.  The
 * libraries are compiled with -fvisibility=hidden and EVENT_BUILDING_LIBRARY
 * defined, so only declarations carrying the marker end up in the dynamic
 * symbol table.  For programs using the library the marker expands to
 * nothing.
 */
#ifndef EVENT2_VISIBILITY_H_INCLUDED_
#define EVENT2_VISIBILITY_H_INCLUDED_

#include <event2/event-config.h>

#if defined(EVENT_BUILDING_LIBRARY) && defined(_WIN32)
/* Windows DLLs export exactly what is marked (the ELF marker is ignored
 * by PE targets, which would then export every global). */
#define EVENT2_EXPORT_SYMBOL __declspec(dllexport)
#elif defined(EVENT_BUILDING_LIBRARY) && defined(__GNUC__)
/** Marks a declaration as part of the exported ABI. */
#define EVENT2_EXPORT_SYMBOL __attribute__((visibility("default")))
#else
/** Marks a declaration as part of the exported ABI (no-op for users). */
#define EVENT2_EXPORT_SYMBOL
#endif

/** Marker for data shared between the core and the add-on libraries. */
#ifndef EVENT2_CORE_EXPORT_SYMBOL
#define EVENT2_CORE_EXPORT_SYMBOL EVENT2_EXPORT_SYMBOL
#endif

#endif /* EVENT2_VISIBILITY_H_INCLUDED_ */
