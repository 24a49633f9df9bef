/*
 * monitor/tsan_glib.c — GMutex and GCond that ThreadSanitizer can see, in the
 * `./configure --tsan` build only.
 *
 * Debian's GLib implements GMutex and GCond directly on futexes, which TSan
 * does not model: every lock the monitor takes would look like no lock, and
 * each report would be a false one. In the TSan build these definitions take
 * the place of GLib's for the whole process (the executable's symbols come
 * first) and use pthread mutexes and condition variables, allocated on first
 * use as GLib itself does where it has no futexes. GRWLock, GRecMutex and
 * GPrivate already use pthreads in GLib and are left alone.
 */
#include "config.h"

#if defined(__SANITIZE_THREAD__)
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t *mutex_of(GMutex *mutex)
{
    pthread_mutex_t *impl = __atomic_load_n((pthread_mutex_t **)&mutex->p, __ATOMIC_ACQUIRE);
    if (impl)
        return impl;
    pthread_mutex_t *fresh = malloc(sizeof(*fresh));
    if (!fresh)
        abort();
    pthread_mutex_init(fresh, NULL);
    if (!__atomic_compare_exchange_n((pthread_mutex_t **)&mutex->p, &impl, fresh, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        pthread_mutex_destroy(fresh);
        free(fresh);
        return impl;
    }
    return fresh;
}

void g_mutex_init(GMutex *mutex)
{
    mutex->p = NULL;
    mutex_of(mutex);
}

void g_mutex_clear(GMutex *mutex)
{
    pthread_mutex_t *impl = mutex->p;
    if (impl) {
        pthread_mutex_destroy(impl);
        free(impl);
    }
    mutex->p = NULL;
}

void g_mutex_lock(GMutex *mutex)
{
    pthread_mutex_lock(mutex_of(mutex));
}

void g_mutex_unlock(GMutex *mutex)
{
    pthread_mutex_unlock(mutex_of(mutex));
}

gboolean g_mutex_trylock(GMutex *mutex)
{
    return pthread_mutex_trylock(mutex_of(mutex)) == 0;
}

/* GLib's g_cond_wait_until takes CLOCK_MONOTONIC microseconds. */
static pthread_cond_t *cond_of(GCond *cond)
{
    pthread_cond_t *impl = __atomic_load_n((pthread_cond_t **)&cond->p, __ATOMIC_ACQUIRE);
    if (impl)
        return impl;
    pthread_cond_t *fresh = malloc(sizeof(*fresh));
    if (!fresh)
        abort();
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(fresh, &attributes);
    pthread_condattr_destroy(&attributes);
    if (!__atomic_compare_exchange_n((pthread_cond_t **)&cond->p, &impl, fresh, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        pthread_cond_destroy(fresh);
        free(fresh);
        return impl;
    }
    return fresh;
}

void g_cond_init(GCond *cond)
{
    cond->p = NULL;
    cond_of(cond);
}

void g_cond_clear(GCond *cond)
{
    pthread_cond_t *impl = cond->p;
    if (impl) {
        pthread_cond_destroy(impl);
        free(impl);
    }
    cond->p = NULL;
}

void g_cond_wait(GCond *cond, GMutex *mutex)
{
    pthread_cond_wait(cond_of(cond), mutex_of(mutex));
}

gboolean g_cond_wait_until(GCond *cond, GMutex *mutex, gint64 end_time)
{
    struct timespec deadline = {.tv_sec = end_time / 1000000,
                                .tv_nsec = (end_time % 1000000) * 1000};
    return pthread_cond_timedwait(cond_of(cond), mutex_of(mutex), &deadline) != ETIMEDOUT;
}

void g_cond_signal(GCond *cond)
{
    pthread_cond_signal(cond_of(cond));
}

void g_cond_broadcast(GCond *cond)
{
    pthread_cond_broadcast(cond_of(cond));
}
#endif
