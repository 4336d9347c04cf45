/*
 * Camera events: one thread per daemon keeps an ONVIF pull-point
 * subscription on every enabled camera that has an ONVIF address and a
 * user name, pulls it every few seconds and stores each event in the
 * catalog (catalog_event_insert). A camera whose subscription fails is
 * subscribed again with exponential backoff; the other cameras go on.
 */
#ifndef VMS_VMSD_EVENTS_H
#define VMS_VMSD_EVENTS_H

#include "catalog/catalog.h"

typedef struct vmsd_events vmsd_events_t;

/* Starts the events thread. cat is borrowed and must outlive
 * vmsd_events_stop(). *out is freed by vmsd_events_stop(). */
int vmsd_events_start(catalog_t *cat, vmsd_events_t **out);

/* Stops the thread after its current camera request (each is bounded
 * by a few seconds), ends the working subscriptions and frees events.
 * NULL is a no-op. */
void vmsd_events_stop(vmsd_events_t *events);

#endif
