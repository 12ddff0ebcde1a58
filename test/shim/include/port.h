/*
 * port.h (test shim): the event ports of Solaris and illumos
 * (port_create(3C), port_associate(3C), port_get(3C), port_send(3C),
 * port_alert(3C)), for building backends/evport.c on Linux in tests only.
 *
 * Implemented over poll(2) and an eventfd in test/shim/evport-shim.c.
 * Sources PORT_SOURCE_FD, PORT_SOURCE_USER and PORT_SOURCE_ALERT work;
 * the others exist as constants only.  Never installed.
 */
#ifndef SHIM_PORT_H_INCLUDED_
#define SHIM_PORT_H_INCLUDED_

#include <stdint.h>
#include <time.h>
#include <poll.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Event sources (portev_source). */
#define PORT_SOURCE_AIO 1
#define PORT_SOURCE_TIMER 2
#define PORT_SOURCE_USER 3
#define PORT_SOURCE_FD 4
#define PORT_SOURCE_ALERT 5
#define PORT_SOURCE_MQ 6
#define PORT_SOURCE_FILE 7

/* port_alert() flags. */
#define PORT_ALERT_SET 0x01
#define PORT_ALERT_UPDATE 0x02

/* Solaris names these errors; Linux has the same meanings. */
#ifndef ETIME
#define ETIME 62
#endif

typedef struct timespec timespec_t;

typedef struct port_event {
    int portev_events;             /* detected events */
    unsigned short portev_source;  /* event source */
    unsigned short portev_pad;     /* port internal use */
    uintptr_t portev_object;       /* specific to event source */
    void *portev_user;             /* user defined cookie */
} port_event_t;

typedef struct port_notify {
    int portnfy_port;  /* bind request(s) to port */
    void *portnfy_user; /* user defined cookie */
} port_notify_t;

int port_create(void);
int port_associate(int port, int source, uintptr_t object, int events,
    void *user);
int port_dissociate(int port, int source, uintptr_t object);
int port_send(int port, int events, void *user);
int port_alert(int port, int flags, int events, void *user);
int port_get(int port, port_event_t *pe, const timespec_t *timeout);
int port_getn(int port, port_event_t list[], unsigned int max,
    unsigned int *nget, const timespec_t *timeout);

#ifdef __cplusplus
}
#endif

#endif /* SHIM_PORT_H_INCLUDED_ */
