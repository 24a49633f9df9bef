/* accel/accel.c — the table of accelerators built in, choosing one, and
 * kicking a vCPU's owner thread (the same for every backend). */
#include "config.h"
#include "accel/accel.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if CONFIG_KVM
extern const struct accel_ops kvm_accel_ops;
#endif
#if CONFIG_TCG
#include <dlfcn.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>

/* libunicorn takes milliseconds to load and relocate (about 10 ms here:
 * 74,000 relocations, 29,000 of them symbol lookups, and the pages they
 * write): the tcg backend lives in a plugin next to the binary (or
 * installed beside the kernel), loaded only when tcg may run, and then on a
 * thread of its own while the monitor loads the kernel and the program
 * (tcg_prepare). Every start of a monitor pays it, including each guest
 * execve's; a fork's child inherits the loaded plugin. */
static const struct accel_ops *tcg_plugin;
static char tcg_failure[320];
static bool tcg_attempted;
static pthread_t tcg_loader;
static bool tcg_loader_running;

static void tcg_load_now(void)
{
    char *self = g_file_read_link("/proc/self/exe", NULL);
    char *directory = self ? g_path_get_dirname(self) : g_strdup(".");
    char *candidates[] = {
        g_build_filename(directory, "accel", "hermitux-accel-tcg.so", NULL),
        g_build_filename(HERMITUX_PLUGIN_DIR, "hermitux-accel-tcg.so", NULL),
    };
    void *handle = NULL;
    const char *tried = candidates[0];
    char *failure = g_strdup("not found");
    for (size_t i = 0; i < G_N_ELEMENTS(candidates) && !handle; i++) {
        if (!g_file_test(candidates[i], G_FILE_TEST_EXISTS))
            continue;
        tried = candidates[i];
        handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            g_free(failure);
            failure = g_strdup(dlerror()); /* a second call would return NULL */
        }
    }
    if (handle) {
        dlerror();
        tcg_plugin = dlsym(handle, "tcg_accel_ops");
        if (!tcg_plugin) {
            const char *error = dlerror();
            g_free(failure);
            failure = g_strdup(error ? error : "tcg_accel_ops is NULL");
            dlclose(handle);
        }
    }
    if (!tcg_plugin)
        snprintf(tcg_failure, sizeof(tcg_failure), "cannot load the tcg accelerator plugin %s (%s)",
                 tried, failure);
    g_free(failure);
    for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++)
        g_free(candidates[i]);
    g_free(directory);
    g_free(self);
    tcg_attempted = true;
}

static void *tcg_loader_main(void *unused)
{
    (void)unused;
    tcg_load_now();
    return NULL;
}

/* The thread blocks every signal, so none meant for the monitor's own
 * threads lands on it. Without a thread, tcg_load does the work itself. */
static void tcg_prepare(void)
{
    if (tcg_attempted || tcg_loader_running)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    tcg_loader_running = pthread_create(&tcg_loader, NULL, tcg_loader_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Only the thread that called tcg_prepare (the monitor's main thread)
 * loads or waits: the join orders the loader's writes before the reads. */
static const struct accel_ops *tcg_load(char *why, size_t why_size)
{
    if (tcg_loader_running) {
        pthread_join(tcg_loader, NULL);
        tcg_loader_running = false;
    }
    if (!tcg_attempted)
        tcg_load_now();
    if (!tcg_plugin)
        snprintf(why, why_size, "%s", tcg_failure);
    return tcg_plugin;
}

static bool tcg_probe(char *why, size_t why_size)
{
    const struct accel_ops *ops = tcg_load(why, why_size);
    return ops && ops->probe(why, why_size);
}

static struct accel *tcg_create(struct guest_memory *memory, char **error)
{
    char why[256];
    const struct accel_ops *ops = tcg_load(why, sizeof(why));
    if (!ops) {
        *error = g_strdup(why);
        return NULL;
    }
    return ops->create(memory, error);
}

/* Stands for the plugin until it is loaded; the VM it creates carries the
 * plugin's own operations (struct accel's ops). */
static const struct accel_ops tcg_accel_ops = {
    .name = "tcg",
    .probe = tcg_probe,
    .prepare = tcg_prepare,
    .create = tcg_create,
};
#endif

const struct accel_ops *const accel_backends[] = {
#if CONFIG_KVM
    &kvm_accel_ops,
#endif
#if CONFIG_TCG
    &tcg_accel_ops,
#endif
    NULL,
};

const struct accel_ops *accel_find(const char *name)
{
    for (int i = 0; accel_backends[i]; i++) {
        if (strcmp(accel_backends[i]->name, name) == 0)
            return accel_backends[i];
    }
    return NULL;
}

const struct accel_ops *accel_choose(char *why, size_t why_size)
{
    size_t used = 0;
    if (why_size)
        why[0] = '\0';
    for (int i = 0; accel_backends[i]; i++) {
        char reason[256];
        if (accel_backends[i]->probe(reason, sizeof(reason)))
            return accel_backends[i];
        if (used < why_size) {
            int written = snprintf(why + used, why_size - used, "%s%s: %s", used ? "; " : "",
                                   accel_backends[i]->name, reason);
            if (written > 0)
                used += (size_t)written;
        }
    }
    if (!accel_backends[0] && why_size)
        snprintf(why, why_size, "no accelerator was built in");
    return NULL;
}

void accel_prepare(const char *name)
{
    bool any = strcmp(name, "auto") == 0;
    for (int i = 0; accel_backends[i]; i++) {
        const struct accel_ops *ops = accel_backends[i];
        if (!any && strcmp(ops->name, name) != 0)
            continue;
        if (ops->prepare) {
            ops->prepare();
            return;
        }
        char why[256];
        /* auto: a backend before it that can run is the choice. */
        if (!any || ops->probe(why, sizeof(why)))
            return;
    }
}

/* ---- kicking -------------------------------------------------------------- */

/* How often and how long a kick is sent again while its target sits in a
 * host call: the first signal may have landed just before the call blocked
 * (the handler ran and the call then blocked anyway). */
#define KICK_RESEND_NS    1000000L
#define KICK_RESEND_COUNT 20

void accel_bind_thread(struct accel *vcpu)
{
    vcpu->owner_thread = pthread_self();
    vcpu->owner_tid = (int)gettid();
    __atomic_store_n(&vcpu->thread_known, true, __ATOMIC_RELEASE);
}

/* By tid, not pthread_kill: the owner may have ended by now (the program's
 * last thread gone while a timer's expiry posts a signal to it), and
 * pthread_kill on a thread that is gone reads its freed descriptor (a
 * crash at the end of trap_storm on tcg, 3 runs in 6 under load). A tid no
 * longer in use fails with ESRCH. */
static void signal_owner(struct accel *vcpu)
{
    if (__atomic_load_n(&vcpu->thread_known, __ATOMIC_ACQUIRE))
        syscall(SYS_tgkill, getpid(), vcpu->owner_tid, ACCEL_KICK_SIGNAL);
}

void accel_kick(struct accel *vcpu)
{
    __atomic_store_n(&vcpu->kicked, true, __ATOMIC_SEQ_CST);
    signal_owner(vcpu);
    /* The owner checks `kicked` after letting the signal in: if it is in a
     * host call now, it either saw the flag (and made no call) or the signal
     * reaches it; only a signal that arrived between its check and the call
     * blocking is lost, so resend while it stays there with the kick
     * unconsumed. */
    struct timespec pause = {0, KICK_RESEND_NS};
    for (int i = 0; i < KICK_RESEND_COUNT; i++) {
        if (!__atomic_load_n(&vcpu->in_host_call, __ATOMIC_SEQ_CST) ||
            !__atomic_load_n(&vcpu->kicked, __ATOMIC_SEQ_CST))
            break;
        nanosleep(&pause, NULL);
        if (!__atomic_load_n(&vcpu->in_host_call, __ATOMIC_SEQ_CST))
            break;
        signal_owner(vcpu);
    }
}

bool accel_take_kick(struct accel *vcpu)
{
    return __atomic_exchange_n(&vcpu->kicked, false, __ATOMIC_SEQ_CST);
}

static pid_t kick_sink;

void accel_set_kick_sink(pid_t tid)
{
    __atomic_store_n(&kick_sink, tid, __ATOMIC_RELEASE);
}

/* glibc's sigtimedwait shows a tkill from this process as SI_USER; another
 * process cannot send SI_USER or SI_TKILL with this pid (the kernel fills
 * it), only forge it with a negative code (sigqueue), which is theirs. */
bool accel_kick_is_own(const siginfo_t *info)
{
    return (info->si_code == SI_TKILL || info->si_code == SI_USER) && info->si_pid == getpid();
}

/* Signals waiting for the sink, each with the target its holder gave:
 * slots claimed and released with atomics, signal-safe. */
#define SIGNAL_HELD_SLOTS 32
enum { HELD_FREE, HELD_WRITING, HELD_FULL };
static int held_state[SIGNAL_HELD_SLOTS];
static siginfo_t held_info[SIGNAL_HELD_SLOTS];
static int held_target[SIGNAL_HELD_SLOTS];

bool accel_signal_hold(const siginfo_t *info, int target)
{
    for (int slot = 0; slot < SIGNAL_HELD_SLOTS; slot++) {
        int expected = HELD_FREE;
        if (__atomic_compare_exchange_n(&held_state[slot], &expected, HELD_WRITING, false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            held_info[slot] = *info;
            held_target[slot] = target;
            __atomic_store_n(&held_state[slot], HELD_FULL, __ATOMIC_RELEASE);
            return true;
        }
    }
    return false;
}

void accel_wake_sink(void)
{
    pid_t sink = __atomic_load_n(&kick_sink, __ATOMIC_ACQUIRE);
    if (sink > 0)
        syscall(SYS_tgkill, getpid(), sink, ACCEL_KICK_SIGNAL);
}

void accel_kick_pass_on(const siginfo_t *info)
{
    pid_t sink = __atomic_load_n(&kick_sink, __ATOMIC_ACQUIRE);
    siginfo_t copy = *info;
    /* More than the slots hold at once before a sink runs: lost, as a
     * standard signal already pending would be. */
    if (sink <= 0 || syscall(SYS_rt_tgsigqueueinfo, getpid(), sink, ACCEL_KICK_SIGNAL, &copy) != 0)
        (void)accel_signal_hold(info, ACCEL_SIGNAL_TO_PROCESS);
}

bool accel_signal_take_held(siginfo_t *info, int *target)
{
    for (int slot = 0; slot < SIGNAL_HELD_SLOTS; slot++) {
        if (__atomic_load_n(&held_state[slot], __ATOMIC_ACQUIRE) != HELD_FULL)
            continue;
        *info = held_info[slot];
        *target = held_target[slot];
        __atomic_store_n(&held_state[slot], HELD_FREE, __ATOMIC_RELEASE);
        return true;
    }
    return false;
}

bool accel_kick_pending(struct accel *vcpu)
{
    return __atomic_load_n(&vcpu->kicked, __ATOMIC_SEQ_CST);
}

static void set_kick_blocked(bool blocked)
{
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, ACCEL_KICK_SIGNAL);
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &kick, NULL);
}

bool accel_host_call_begin(struct accel *vcpu)
{
    __atomic_store_n(&vcpu->in_host_call, true, __ATOMIC_SEQ_CST);
    set_kick_blocked(false);
    if (__atomic_load_n(&vcpu->kicked, __ATOMIC_SEQ_CST)) {
        accel_host_call_end(vcpu);
        return false;
    }
    return true;
}

void accel_host_call_end(struct accel *vcpu)
{
    set_kick_blocked(true);
    __atomic_store_n(&vcpu->in_host_call, false, __ATOMIC_SEQ_CST);
}
