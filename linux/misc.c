/*
 * linux/misc.c — process identity, limits, time, arch_prctl and exit_group
 * (signals are in signal.c).
 */
#include "linux/internal.h"

#include <asm/prctl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ---- arch_prctl and thread bookkeeping ------------------------------------- */

static long sys_arch_prctl(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t code = args[0], address = args[1];
    const struct linux_cpu *cpu = thread->has_cpu ? &thread->cpu : NULL;
    switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
        /* Linux refuses bases outside user space. */
        if (address >= GUEST_USER_TOP)
            return -EPERM;
        if (code == ARCH_SET_FS) {
            thread->fs_base = address;
            if (cpu)
                cpu->set_fs_base(cpu->opaque, address);
        } else {
            thread->gs_base = address;
            if (cpu)
                cpu->set_gs_base(cpu->opaque, address);
        }
        return 0;
    case ARCH_GET_FS:
    case ARCH_GET_GS: {
        uint64_t base;
        if (code == ARCH_GET_FS)
            base = cpu ? cpu->get_fs_base(cpu->opaque) : thread->fs_base;
        else
            base = cpu ? cpu->get_gs_base(cpu->opaque) : thread->gs_base;
        return linux_copy_out(process, address, &base, sizeof(base)) ? -EFAULT : 0;
    }
    case ARCH_GET_CPUID:
        return 1; /* cpuid does not fault */
    case ARCH_SET_CPUID:
        return -ENODEV; /* cpuid faulting is not offered */
    default:
        return -EINVAL;
    }
}

static long sys_set_tid_address(struct linux_thread *thread, const uint64_t *args)
{
    thread->clear_child_tid = args[0];
    return thread->tid;
}

/* struct robust_list_head: three longs. */
#define ROBUST_LIST_HEAD_SIZE 24

static long sys_set_robust_list(struct linux_thread *thread, const uint64_t *args)
{
    if (args[1] != ROBUST_LIST_HEAD_SIZE)
        return -EINVAL;
    /* Atomic: an execve walks every thread's list (linux_thread_exec_robust_lists). */
    __atomic_store_n(&thread->robust_list_head, args[0], __ATOMIC_RELEASE);
    thread->robust_list_len = args[1];
    return 0;
}

static long sys_get_robust_list(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (!linux_is_self((int32_t)args[0]))
        return -ESRCH;
    uint64_t len = ROBUST_LIST_HEAD_SIZE;
    if (linux_copy_out(process, args[1], &thread->robust_list_head, sizeof(uint64_t)) ||
        linux_copy_out(process, args[2], &len, sizeof(len)))
        return -EFAULT;
    return 0;
}

static long sys_rseq(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    (void)args;
    /* libc copes without restartable sequences; registering one would need
     * the monitor to abort critical sections it never interrupts anyway. */
    return -ENOSYS;
}

/* ---- limits ---------------------------------------------------------------- */

static long set_limit(struct linux_process *process, int resource, const struct rlimit *limit)
{
    if (limit->rlim_cur > limit->rlim_max)
        return -EINVAL;
    if (resource == RLIMIT_NOFILE && limit->rlim_max > LINUX_MAX_FDS)
        return -EPERM; /* Linux says so above fs.nr_open */
    if (limit->rlim_max > process->limits[resource].rlim_max && geteuid() != 0)
        return -EPERM;
    /* The processes a fork makes are host processes: the host counts them,
     * so a fork bomb gets EAGAIN from the host's fork. */
    if (resource == RLIMIT_NPROC && setrlimit(RLIMIT_NPROC, limit) != 0)
        return linux_host_error();
    process->limits[resource] = *limit;
    return 0;
}

/* prlimit of another process: the host's. Read only: the limits of a
 * program under hermitux-run are its monitor's to keep, and the host's of
 * that monitor are not what it enforces (so a change is refused, logged). */
static long prlimit_other(struct linux_process *process, int32_t pid, uint64_t resource,
                          uint64_t new_address, uint64_t old_address)
{
    if (!linux_is_other_process(pid))
        return -ESRCH;
    if (new_address) {
        (void)linux_sys_unsupported(process, SYS_prlimit64);
        return -EPERM;
    }
    struct rlimit limit;
    if (prlimit(pid, (int)resource, NULL, &limit) != 0)
        return linux_host_error();
    if (old_address && linux_copy_out(process, old_address, &limit, sizeof(limit)))
        return -EFAULT;
    return 0;
}

static long prlimit_common(struct linux_process *process, uint64_t pid, uint64_t resource,
                           uint64_t new_address, uint64_t old_address)
{
    if (!linux_is_self((int32_t)pid))
        return resource < RLIM_NLIMITS
                   ? prlimit_other(process, (int32_t)pid, resource, new_address, old_address)
                   : -ESRCH;
    if (resource >= RLIM_NLIMITS)
        return -EINVAL;
    struct rlimit limit;
    if (new_address && linux_copy_in(process, new_address, &limit, sizeof(limit)))
        return -EFAULT;
    if (old_address &&
        linux_copy_out(process, old_address, &process->limits[resource], sizeof(struct rlimit)))
        return -EFAULT;
    return new_address ? set_limit(process, (int)resource, &limit) : 0;
}

static long sys_prlimit64(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    /* The limits are the program's: a process sharing its memory cannot
     * set its own. */
    if (args[2] && linux_vm_child_refuses(thread, "setrlimit"))
        return linux_sys_unsupported(process, SYS_prlimit64);
    return prlimit_common(process, args[0], args[1], args[2], args[3]);
}

static long sys_getrlimit(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return prlimit_common(process, 0, args[0], 0, args[1]);
}

static long sys_setrlimit(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (args[1] && linux_vm_child_refuses(thread, "setrlimit"))
        return linux_sys_unsupported(process, SYS_setrlimit);
    return prlimit_common(process, 0, args[0], args[1], 0);
}

static long sys_getrusage(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int who = (int)args[0];
    if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
        return -EINVAL;
    /* The monitor's own usage: the program's time is spent in it; and its
     * waited-for children are the program's (each a monitor of its own). */
    struct rusage usage = {0};
    if (getrusage(who, &usage) != 0)
        return linux_host_error();
    return linux_copy_out(process, args[1], &usage, sizeof(usage)) ? -EFAULT : 0;
}

/* ---- random and time --------------------------------------------------------- */

static long sys_getrandom(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    unsigned int flags = (unsigned int)args[2];
    if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
        return -EINVAL;
    /* getrandom may return less than asked; more than 1 MiB per call is
     * never needed. */
    uint64_t count = MIN(args[1], LINUX_IO_CHUNK);
    uint64_t done = 0;
    unsigned char buffer[4096];
    while (done < count) {
        ssize_t n = getrandom(buffer, MIN(count - done, sizeof(buffer)), flags);
        if (n < 0)
            return done ? (long)done : linux_host_error();
        if (linux_copy_out(process, args[0] + done, buffer, (size_t)n))
            return done ? (long)done : -EFAULT;
        done += (uint64_t)n;
    }
    return (long)done;
}

static long sys_clock_gettime(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    clockid_t clock;
    long error = linux_host_clock(thread, (int32_t)args[0], true, &clock);
    if (error)
        return error;
    struct timespec now;
    if (clock_gettime(clock, &now) != 0)
        return linux_host_error();
    return linux_copy_out(process, args[1], &now, sizeof(now)) ? -EFAULT : 0;
}

static long sys_clock_getres(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    clockid_t clock;
    long error = linux_host_clock(thread, (int32_t)args[0], false, &clock);
    if (error)
        return error;
    struct timespec resolution;
    if (clock_getres(clock, &resolution) != 0)
        return linux_host_error();
    if (args[1] && linux_copy_out(process, args[1], &resolution, sizeof(resolution)))
        return -EFAULT;
    return 0;
}

static long sys_gettimeofday(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct timeval now;
    gettimeofday(&now, NULL);
    if (args[0] && linux_copy_out(process, args[0], &now, sizeof(now)))
        return -EFAULT;
    struct timezone zone = {0, 0};
    if (args[1] && linux_copy_out(process, args[1], &zone, sizeof(zone)))
        return -EFAULT;
    return 0;
}

static long sys_time(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int64_t now = (int64_t)time(NULL);
    if (args[0] && linux_copy_out(process, args[0], &now, sizeof(now)))
        return -EFAULT;
    return (long)now;
}

static long read_request(struct linux_process *process, uint64_t address, struct timespec *request)
{
    if (linux_copy_in(process, address, request, sizeof(*request)))
        return -EFAULT;
    if (request->tv_sec < 0 || request->tv_nsec < 0 || request->tv_nsec >= 1000000000L)
        return -EINVAL;
    return 0;
}

static long sys_clock_nanosleep(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    /* A clock by fd cannot sleep (Linux's dynamic clocks have no nsleep). */
    if (LINUX_CLOCK_IS_FD((int32_t)args[0]))
        return -EOPNOTSUPP;
    int flags = (int)args[1];
    struct timespec request, left;
    long error = read_request(process, args[2], &request);
    if (error)
        return error;
    clockid_t clock;
    error = linux_host_clock(thread, (int32_t)args[0], false, &clock);
    if (error)
        return error;
    /* Relative on a clock that counts time: it restarts with the time left. */
    if (!(flags & TIMER_ABSTIME) &&
        (args[0] == CLOCK_REALTIME || args[0] == CLOCK_MONOTONIC || args[0] == CLOCK_BOOTTIME))
        return linux_sleep_relative(thread, &request, args[3]);
    int result = clock_nanosleep(clock, flags & TIMER_ABSTIME, &request, &left);
    if (result == EINTR && !(flags & TIMER_ABSTIME) && args[3] &&
        linux_copy_out(process, args[3], &left, sizeof(left)))
        return -EFAULT;
    return -(long)result;
}

static long sys_times(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct tms usage;
    clock_t ticks = times(&usage);
    if (args[0] && linux_copy_out(process, args[0], &usage, sizeof(usage)))
        return -EFAULT;
    return (long)ticks;
}

/* ---- identity ---------------------------------------------------------------- */

static long sys_uname(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct utsname name;
    if (uname(&name) != 0)
        return linux_host_error();
    g_strlcpy(name.sysname, "Linux", sizeof(name.sysname));
    /* linux32 and setarch i686 run a program that asks for PER_LINUX32. */
    bool linux32 = (process->persona & PER_MASK) == PER_LINUX32;
    g_strlcpy(name.machine, linux32 ? "i686" : "x86_64", sizeof(name.machine));
    return linux_copy_out(process, args[0], &name, sizeof(name)) ? -EFAULT : 0;
}

#define HOST_ID_CALL(name)                                                                         \
    static long sys_##name(struct linux_thread *thread, const uint64_t *args)                      \
    {                                                                                              \
        (void)thread;                                                                              \
        (void)args;                                                                                \
        return (long)name();                                                                       \
    }

HOST_ID_CALL(getuid)
HOST_ID_CALL(geteuid)
HOST_ID_CALL(getgid)
HOST_ID_CALL(getegid)

static long sys_getgroups(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int size = (int)args[0];
    if (size < 0)
        return -EINVAL;
    int count = getgroups(0, NULL);
    if (count < 0)
        return linux_host_error();
    if (size == 0)
        return count;
    if (size < count)
        return -EINVAL;
    gid_t *groups = g_new(gid_t, count ? count : 1);
    count = getgroups(count, groups);
    long result = count < 0 ? linux_host_error() : count;
    if (count > 0 && linux_copy_out(process, args[1], groups, (size_t)count * sizeof(gid_t)))
        result = -EFAULT;
    g_free(groups);
    return result;
}

/* The program shares the monitor's umask, so files it creates get Linux's
 * permissions without the layer redoing the masking. */
static long sys_umask(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_fs *fs = linux_fs(thread->process);
    unsigned int old = fs->umask;
    fs->umask = args[0] & 0777;
    umask(fs->umask);
    return old;
}

static long sys_sysinfo(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct sysinfo info;
    if (sysinfo(&info) != 0)
        return linux_host_error();
    info.totalram = guest_memory_ram_size(process->memory);
    info.freeram = guest_frames_free_count(process->memory) * GUEST_PAGE_SIZE;
    info.sharedram = info.bufferram = 0;
    info.totalswap = info.freeswap = 0;
    info.totalhigh = info.freehigh = 0;
    info.procs = 1;
    info.mem_unit = 1;
    return linux_copy_out(process, args[0], &info, sizeof(info)) ? -EFAULT : 0;
}

/*
 * membarrier: the program's threads are host threads of the monitor, each
 * running its vCPU (in guest mode under kvm, or the engine's emulation of
 * its accesses under tcg), so the host's membarrier on the monitor's
 * process interrupts exactly the CPUs running them, and a VM exit or an
 * interrupt of the emulation is the barrier Linux's IPI would be. The
 * global and private expedited commands and their registrations are the
 * host's, answered as the host answers them; the query reports those the
 * host has among them. SYNC_CORE and RSEQ (instruction caches, rseq
 * restarts: the VM's own business) are EINVAL, as on a kernel without them.
 */
#define MEMBARRIER_FORWARDED                                                                       \
    0x1f /* GLOBAL, GLOBAL_EXPEDITED, their REGISTER, PRIVATE_EXPEDITED and REGISTER */
static long sys_membarrier(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    int command = (int)args[0];
    if (command == 0) { /* MEMBARRIER_CMD_QUERY */
        if (args[1])
            return -EINVAL;
        long mask = syscall(SYS_membarrier, 0, 0, 0);
        return mask < 0 ? linux_host_error() : mask & MEMBARRIER_FORWARDED;
    }
    if (command < 0 || (command & (command - 1)) || !(command & MEMBARRIER_FORWARDED))
        return -EINVAL;
    return linux_host_result(syscall(SYS_membarrier, command, (unsigned)args[1], (int)args[2]));
}

/*
 * Administration of the machine (its time, names, swap, kernel modules,
 * mounts, process accounting, reboot, the terminal's hangup): not the
 * program's to do in the VM, so EPERM, what Linux answers a process
 * without the capability, logged with -v (they were ENOSYS). iopl and
 * ioperm stay ENOSYS, as from a kernel without CONFIG_X86_IOPL_IOPERM
 * (this project's hosts), and adjtimex and clock_adjtime too (the sandbox
 * keeps the monitor from the host's).
 */
static long refuse_privileged(struct linux_thread *thread, uint64_t number)
{
    (void)linux_sys_unsupported(thread->process, number);
    return -EPERM;
}

/* The calls refused so, each a handler of its own (a handler is not told
 * its number), defined and registered from this one list. */
#define PRIVILEGED_CALLS(X)                                                                        \
    X(swapon)                                                                                      \
    X(swapoff)                                                                                     \
    X(acct)                                                                                        \
    X(settimeofday)                                                                                \
    X(clock_settime)                                                                               \
    X(sethostname)                                                                                 \
    X(setdomainname)                                                                               \
    X(init_module)                                                                                 \
    X(finit_module)                                                                                \
    X(delete_module)                                                                               \
    X(pivot_root)                                                                                  \
    X(mount)                                                                                       \
    X(umount2)                                                                                     \
    X(reboot)                                                                                      \
    X(kexec_load)                                                                                  \
    X(vhangup)
#define DEFINE_PRIVILEGED(name)                                                                    \
    static long sys_##name(struct linux_thread *thread, const uint64_t *args)                      \
    {                                                                                              \
        (void)args;                                                                                \
        return refuse_privileged(thread, SYS_##name);                                              \
    }
PRIVILEGED_CALLS(DEFINE_PRIVILEGED)

/* ptrace: no debugger inside the VM (gdb attaches to the monitor's own stub,
 * --gdb). EPERM, as Linux answers a process that may not trace (Yama, a
 * container's seccomp profile), so strace and gdb say "Operation not
 * permitted"; logged with -v as unsupported. */
static long sys_ptrace(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    (void)linux_sys_unsupported(thread->process, SYS_ptrace);
    return -EPERM;
}

/* Newer than glibc 2.36's headers. */
#ifndef PR_GET_MDWE
#define PR_GET_MDWE 66
#endif
#ifndef PR_GET_MEMORY_MERGE
#define PR_GET_MEMORY_MERGE 68
#endif

/*
 * prctl options about the process's place among host processes and about
 * its credentials are the monitor's own state, which is the program's (its
 * parent, its uid, its capabilities): asked of the host, from the calling
 * thread's vCPU thread, as Linux keeps some of them per thread. So are the
 * questions whose answer the vCPU thread shares with the program's thread
 * (machine-check policy, I/O flusher, MDWE, KSM merging) and its perf
 * events. The two that answer through a pointer get it copied out.
 *
 * Changes to the credentials themselves (keep-caps, securebits, the bounding
 * and ambient sets) are refused with EPERM, logged with -v: Linux keeps them
 * per thread, and the monitor has threads of its own that would keep the old
 * ones; its next setuid, which glibc makes on every thread, would then fail
 * on some of them and glibc aborts the monitor. Anything else Linux knows
 * but the VM does not do (seccomp, the mm fields, memory tagging) is
 * EINVAL, logged too.
 */
static long prctl_on_host(struct linux_thread *thread, const uint64_t *args)
{
    int option = (int)args[0];
    switch (option) {
    case PR_CAP_AMBIENT:
        if (args[1] != PR_CAP_AMBIENT_IS_SET)
            break;
        /* fall through */
    case PR_GET_KEEPCAPS:
    case PR_CAPBSET_READ:
    case PR_GET_SECUREBITS:
    case PR_SET_CHILD_SUBREAPER:
    case PR_SET_PDEATHSIG:
    case PR_GET_TIMERSLACK:
    case PR_SET_TIMERSLACK:
    case PR_GET_THP_DISABLE:
    case PR_SET_THP_DISABLE:
    case PR_GET_SPECULATION_CTRL:
    case PR_SET_SPECULATION_CTRL:
    case PR_MCE_KILL_GET:
    case PR_GET_IO_FLUSHER:
    case PR_GET_MDWE:
    case PR_GET_MEMORY_MERGE:
    case PR_TASK_PERF_EVENTS_DISABLE:
    case PR_TASK_PERF_EVENTS_ENABLE: {
        long result = prctl(option, args[1], args[2], args[3], args[4]);
        return result < 0 ? linux_host_error() : result;
    }
    case PR_GET_CHILD_SUBREAPER:
    case PR_GET_PDEATHSIG: {
        int value = 0;
        if (prctl(option, &value, 0, 0, 0) < 0)
            return linux_host_error();
        return linux_copy_out(thread->process, args[1], &value, sizeof(value)) ? -EFAULT : 0;
    }
    case PR_SET_KEEPCAPS:
    case PR_CAPBSET_DROP:
    case PR_SET_SECUREBITS:
        (void)linux_sys_unsupported(thread->process, SYS_prctl);
        return -EPERM;
    default:
        break;
    }
    (void)linux_sys_unsupported(thread->process, SYS_prctl);
    return option == PR_CAP_AMBIENT ? -EPERM : -EINVAL;
}

static long sys_prctl(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    switch ((int)args[0]) {
    case PR_SET_NAME: {
        char name[sizeof(thread->comm)];
        long len =
            guest_read_string(process->memory, args[1], name, sizeof(name), GUEST_ACCESS_USER_READ);
        if (len == -EFAULT)
            return -EFAULT;
        if (len < 0) { /* longer names are cut, as Linux does */
            if (linux_copy_in(process, args[1], name, sizeof(name) - 1))
                return -EFAULT;
            name[sizeof(name) - 1] = '\0';
        }
        g_mutex_lock(&process->misc_lock); /* /proc readers copy it under the lock */
        memcpy(thread->comm, name, sizeof(name));
        g_mutex_unlock(&process->misc_lock);
        linux_thread_name_host(thread, name, true);
        return 0;
    }
    case PR_GET_NAME:
        return linux_copy_out(process, args[1], thread->comm, sizeof(thread->comm)) ? -EFAULT : 0;
    case PR_GET_DUMPABLE:
        return 1;
    case PR_SET_DUMPABLE:
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        if (args[1] || args[2] || args[3] || args[4])
            return -EINVAL;
        return process->no_new_privs;
    case PR_SET_NO_NEW_PRIVS:
        if (args[1] != 1 || args[2] || args[3] || args[4])
            return -EINVAL;
        /* The program's own flag; the host's is set too (it already is
         * under the sandbox), so that nothing the monitor runs for it
         * could gain privileges either. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            return linux_host_error();
        process->no_new_privs = true;
        return 0;
    case PR_GET_TSC: {
        int enabled = PR_TSC_ENABLE; /* rdtsc works in the VM */
        return linux_copy_out(process, args[1], &enabled, sizeof(enabled)) ? -EFAULT : 0;
    }
    case PR_GET_SECCOMP: /* the program installed none (PR_SET_SECCOMP is EINVAL); the
                            monitor's own filter is not the program's */
        return 0;
    case PR_GET_TIMING:
        return PR_TIMING_STATISTICAL;
    case PR_GET_TID_ADDRESS: /* set_tid_address's, or clone's CLONE_CHILD_CLEARTID */
        return linux_copy_out(process, args[1], &thread->clear_child_tid,
                              sizeof(thread->clear_child_tid))
                   ? -EFAULT
                   : 0;
    default:
        return prctl_on_host(thread, args);
    }
}

/* ---- capabilities and personality ------------------------------------------------ */

/* capget: the calling thread's, or another process's, as the host has them;
 * capset: only a change to nothing (see prctl_on_host). The header's version
 * picks one or two data structs; the host writes back the version it
 * prefers on EINVAL, as Linux does. */
static long capabilities_call(struct linux_thread *thread, const uint64_t *args, bool set)
{
    struct linux_process *process = thread->process;
    struct {
        uint32_t version;
        int pid;
    } header;
    uint32_t data[2][3] = {{0}};
    if (linux_copy_in(process, args[0], &header, sizeof(header)))
        return -EFAULT;
    size_t count = header.version == 0x19980330 ? 1 : 2;
    if (set && linux_copy_in(process, args[1], data, count * sizeof(data[0])))
        return -EFAULT;
    int pid = header.pid;
    if (linux_is_own_thread(process, pid))
        header.pid = 0;
    else if (!linux_is_other_process(pid) || set)
        return -EPERM;
    long result;
    if (set) {
        /* Only what changes nothing (see prctl_on_host: capabilities are
         * per thread, and the monitor's other threads would keep theirs). */
        uint32_t now[2][3] = {{0}};
        result = syscall(SYS_capget, &header, now);
        if (result == 0 && memcmp(now, data, count * sizeof(data[0])) != 0) {
            (void)linux_sys_unsupported(process, SYS_capset);
            result = -EPERM;
        } else if (result < 0) {
            result = linux_host_error();
        }
    } else {
        result = syscall(SYS_capget, &header, args[1] ? data : NULL);
        if (result < 0)
            result = linux_host_error();
    }
    if (linux_copy_out(process, args[0], &header.version, sizeof(header.version)))
        return -EFAULT;
    if (result == 0 && !set && args[1] &&
        linux_copy_out(process, args[1], data, count * sizeof(data[0])))
        return -EFAULT;
    return result;
}

static long sys_capget(struct linux_thread *thread, const uint64_t *args)
{
    return capabilities_call(thread, args, false);
}

static long sys_capset(struct linux_thread *thread, const uint64_t *args)
{
    return capabilities_call(thread, args, true);
}

/* personality(2): the value is kept and returned; what the VM can honour of
 * it is PER_LINUX32's uname (linux32) and ADDR_NO_RANDOMIZE (setarch -R:
 * the VM's layout does not vary anyway). Other execution domains are
 * EINVAL, as Linux says for one it does not have. */
static long sys_personality(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint32_t persona = (uint32_t)args[0];
    uint32_t old = process->persona;
    if (persona == 0xffffffffu)
        return old;
    if ((persona & PER_MASK) != PER_LINUX && (persona & PER_MASK) != PER_LINUX32) {
        (void)linux_sys_unsupported(process, SYS_personality);
        return -EINVAL;
    }
    process->persona = persona;
    return old;
}

/* ---- scheduling ---------------------------------------------------------------- */

static long sys_sched_yield(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    (void)args;
    return 0;
}

/* ---- scheduling policy --------------------------------------------------------- */

/* The program's own threads (pid 0, its pid, a tid of its threads) have the
 * policies a process without CAP_SYS_NICE may choose: SCHED_OTHER, BATCH
 * and IDLE at priority 0, kept per thread; a real-time policy is refused
 * (EPERM) since the vCPU threads do not get it. Another process is the
 * host's, asked directly. NULL for another process. */
static struct linux_thread *sched_target(struct linux_thread *thread, int32_t pid, long *error)
{
    *error = 0;
    if (pid < 0) {
        *error = -EINVAL;
        return NULL;
    }
    if (pid == 0 || pid == linux_thread_tid(thread))
        return thread;
    if (pid == linux_pid())
        return thread->process->main_thread;
    return linux_thread_find(thread->process, pid);
}

static bool sched_policy_valid(int policy, int priority, long *error)
{
    switch (policy) {
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
        *error = priority == 0 ? 0 : -EINVAL;
        return priority == 0;
    case SCHED_FIFO:
    case SCHED_RR:
        *error = priority >= 1 && priority <= 99 ? -EPERM : -EINVAL;
        return false;
    default:
        *error = -EINVAL;
        return false;
    }
}

static long sys_sched_getscheduler(struct linux_thread *thread, const uint64_t *args)
{
    long error;
    struct linux_thread *target = sched_target(thread, (int32_t)args[0], &error);
    if (error)
        return error;
    if (!target)
        return linux_host_result(syscall(SYS_sched_getscheduler, (pid_t)args[0]));
    return __atomic_load_n(&target->sched_policy, __ATOMIC_RELAXED);
}

static long sys_sched_getparam(struct linux_thread *thread, const uint64_t *args)
{
    long error;
    if (!args[1])
        return -EINVAL;
    struct linux_thread *target = sched_target(thread, (int32_t)args[0], &error);
    if (error)
        return error;
    struct sched_param param = {0};
    if (!target && syscall(SYS_sched_getparam, (pid_t)args[0], &param) != 0)
        return linux_host_error();
    return linux_copy_out(thread->process, args[1], &param, sizeof(param)) ? -EFAULT : 0;
}

/* sched_setscheduler (policy >= 0) and sched_setparam (policy -1: the
 * thread's own). */
static long set_scheduler(struct linux_thread *thread, int32_t pid, int policy, uint64_t address)
{
    long error;
    struct sched_param param;
    if (!address || pid < 0)
        return -EINVAL;
    if (linux_copy_in(thread->process, address, &param, sizeof(param)))
        return -EFAULT;
    struct linux_thread *target = sched_target(thread, pid, &error);
    if (error)
        return error;
    if (!target)
        return linux_host_result(policy < 0 ? syscall(SYS_sched_setparam, pid, &param)
                                            : syscall(SYS_sched_setscheduler, pid, policy, &param));
    int wanted = policy < 0 ? __atomic_load_n(&target->sched_policy, __ATOMIC_RELAXED)
                            : (policy & ~SCHED_RESET_ON_FORK);
    if (!sched_policy_valid(wanted, param.sched_priority, &error)) {
        if (error == -EPERM && thread->process->config.verbose)
            fprintf(stderr, "hermitux-run: real-time scheduling policy %d refused (EPERM)\n",
                    wanted);
        return error;
    }
    __atomic_store_n(&target->sched_policy, wanted, __ATOMIC_RELAXED);
    return 0;
}

static long sys_sched_setscheduler(struct linux_thread *thread, const uint64_t *args)
{
    if ((int32_t)args[1] < 0)
        return -EINVAL;
    return set_scheduler(thread, (int32_t)args[0], (int)args[1], args[2]);
}

static long sys_sched_setparam(struct linux_thread *thread, const uint64_t *args)
{
    return set_scheduler(thread, (int32_t)args[0], -1, args[1]);
}

/* ---- sched_getattr, sched_setattr ---- */

/* struct sched_attr (linux/sched/types.h; glibc 2.36 has none): VER1. */
struct linux_sched_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};
#define SCHED_ATTR_SIZE_VER0    48
#define SCHED_ATTR_SIZE_MAX     4096 /* a page: larger is E2BIG, as Linux says */
#define LINUX_SCHED_DEADLINE    6
#define LINUX_SCHED_KEEP_POLICY 0x08
#define LINUX_SCHED_KEEP_PARAMS 0x10

/*
 * sched_getattr: the host's answer for the host thread running the target
 * (its size rules, utilization clamps, deadline fields), with the policy
 * and nice value the program's other calls see (sched_setscheduler,
 * setpriority keep them here).
 */
static long sys_sched_getattr(struct linux_thread *thread, const uint64_t *args)
{
    int32_t pid = (int32_t)args[0];
    uint32_t size = (uint32_t)args[2];
    if (!args[1] || pid < 0 || size > SCHED_ATTR_SIZE_MAX || size < SCHED_ATTR_SIZE_VER0 ||
        (uint32_t)args[3])
        return -EINVAL;
    union {
        struct linux_sched_attr attr;
        uint8_t bytes[SCHED_ATTR_SIZE_MAX];
    } buffer = {0};
    long call[4] = {pid, (long)&buffer, size, 0};
    long result = linux_thread_host_call(thread, SYS_sched_getattr, call, 0);
    if (result < 0)
        return result;
    long error;
    struct linux_thread *target = sched_target(thread, pid, &error);
    if (target) {
        buffer.attr.policy = (uint32_t)__atomic_load_n(&target->sched_policy, __ATOMIC_RELAXED);
        buffer.attr.nice = thread->process->nice;
        buffer.attr.priority = 0;
    }
    size_t written = MIN(buffer.attr.size, size);
    return linux_copy_out(thread->process, args[1], &buffer, written) ? -EFAULT : 0;
}

/* What sched_setattr may not do to the program's threads that the host
 * would let it: a real-time or deadline policy (the vCPU threads do not get
 * one, as set_scheduler says), or a nice value below the program's without
 * privileges (its nice is the one setpriority keeps). 0 if allowed. */
static long sched_attr_refused(struct linux_process *process, const struct linux_sched_attr *attr)
{
    long error = 0;
    if (!(attr->flags & LINUX_SCHED_KEEP_POLICY) && (int32_t)attr->policy >= 0) {
        if (attr->policy == LINUX_SCHED_DEADLINE)
            error = -EPERM;
        else if (attr->policy == SCHED_FIFO || attr->policy == SCHED_RR)
            sched_policy_valid((int)attr->policy, (int)attr->priority, &error);
        if (error == -EPERM && process->config.verbose)
            fprintf(stderr, "hermitux-run: scheduling policy %u refused (EPERM)\n", attr->policy);
    }
    int nice = CLAMP(attr->nice, -20, 19);
    if (!error && !(attr->flags & LINUX_SCHED_KEEP_PARAMS) && nice < process->nice &&
        geteuid() != 0)
        error = -EPERM;
    return error;
}

/*
 * sched_setattr: the host's call on the host thread running the target
 * (linux_thread_host_call), which checks the attributes as Linux does and
 * applies them there; the program's threads then keep the policy and nice
 * value its other calls see. A size Linux refuses is E2BIG with its size
 * written back.
 */
static long sys_sched_setattr(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int32_t pid = (int32_t)args[0];
    if (!args[1] || pid < 0 || (uint32_t)args[2])
        return -EINVAL;
    union {
        struct linux_sched_attr attr;
        uint8_t bytes[SCHED_ATTR_SIZE_MAX];
    } buffer = {0};
    uint32_t size;
    if (linux_copy_in(process, args[1], &size, sizeof(size)))
        return -EFAULT;
    size = size ? size : SCHED_ATTR_SIZE_VER0;
    if (size < SCHED_ATTR_SIZE_VER0 || size > SCHED_ATTR_SIZE_MAX) {
        uint32_t own = sizeof(struct linux_sched_attr);
        return linux_copy_out(process, args[1], &own, sizeof(own)) ? -EFAULT : -E2BIG;
    }
    if (linux_copy_in(process, args[1], &buffer, size))
        return -EFAULT;
    long error;
    struct linux_thread *target = sched_target(thread, pid, &error);
    if (target && (error = sched_attr_refused(process, &buffer.attr)) != 0)
        return error;
    long call[4] = {pid, (long)&buffer, 0, 0};
    long result = linux_thread_host_call(thread, SYS_sched_setattr, call, 0);
    if (result == -E2BIG) /* the host wrote its size into the copy */
        return linux_copy_out(process, args[1], &buffer.attr.size, sizeof(uint32_t)) ? -EFAULT
                                                                                     : result;
    if (result < 0 || !target)
        return result;
    if (!(buffer.attr.flags & LINUX_SCHED_KEEP_POLICY))
        __atomic_store_n(&target->sched_policy, (int)buffer.attr.policy, __ATOMIC_RELAXED);
    if (!(buffer.attr.flags & LINUX_SCHED_KEEP_PARAMS))
        process->nice = CLAMP(buffer.attr.nice, -20, 19);
    return 0;
}

/* ---- ioprio_get, ioprio_set ---- */

#define LINUX_IOPRIO_WHO_PROCESS 1

/* I/O priorities (ionice): of one of the program's threads, the host
 * thread's that runs it, where the host's I/O is done and what its new
 * threads, forks and execve inherit; a process group, a user or another
 * process are the host's to answer. */
static long ioprio_call(struct linux_thread *thread, long number, const uint64_t *args)
{
    long call[4] = {(int)args[0], (int)args[1], (int)args[2], 0};
    if (call[0] == LINUX_IOPRIO_WHO_PROCESS)
        return linux_thread_host_call(thread, number, call, 1);
    return linux_host_result(syscall(number, call[0], call[1], call[2]));
}

static long sys_ioprio_get(struct linux_thread *thread, const uint64_t *args)
{
    return ioprio_call(thread, SYS_ioprio_get, args);
}

static long sys_ioprio_set(struct linux_thread *thread, const uint64_t *args)
{
    return ioprio_call(thread, SYS_ioprio_set, args);
}

/* ---- syslog ---- */

#define SYSLOG_ACTION_READ        2
#define SYSLOG_ACTION_READ_ALL    3
#define SYSLOG_ACTION_READ_CLEAR  4
#define SYSLOG_ACTION_SIZE_BUFFER 10

/*
 * syslog (klogctl; dmesg): the host's kernel log, as the host lets the
 * monitor have it: EPERM under kernel.dmesg_restrict without CAP_SYSLOG,
 * as natively. A read goes through a buffer of the monitor's no larger than
 * the log, then to the program's: EFAULT when that cannot take what was
 * read, which is then gone for SYSLOG_ACTION_READ, as on Linux. Reading
 * nothing, or into NULL, is the host's to answer (EPERM, EINVAL, or 0).
 */
static long sys_syslog(struct linux_thread *thread, const uint64_t *args)
{
    int type = (int)args[0], length = (int)args[2];
    bool reads = type == SYSLOG_ACTION_READ || type == SYSLOG_ACTION_READ_ALL ||
                 type == SYSLOG_ACTION_READ_CLEAR;
    char probe;
    if (!reads || !args[1] || length <= 0)
        return linux_host_result(syscall(SYS_syslog, type, args[1] ? &probe : NULL, length));
    long log_size = syscall(SYS_syslog, SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
    if (log_size < 0)
        return linux_host_error(); /* the reads need the same permission, or more */
    size_t size = MIN((size_t)length, (size_t)MAX(log_size, 1));
    char *buffer = g_malloc(size);
    long result = linux_host_result(syscall(SYS_syslog, type, buffer, size));
    if (result > 0 && linux_copy_out(thread->process, args[1], buffer, (size_t)result))
        result = -EFAULT;
    g_free(buffer);
    return result;
}

/* A policy's priority range: 1..99 for the real-time ones, 0 for the rest;
 * -EINVAL for an unknown policy. */
static long priority_bound(int policy, bool highest)
{
    if (policy == SCHED_FIFO || policy == SCHED_RR)
        return highest ? 99 : 1;
    return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE ? 0 : -EINVAL;
}

static long sys_sched_get_priority_max(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return priority_bound((int)args[0], true);
}

static long sys_sched_get_priority_min(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return priority_bound((int)args[0], false);
}

/* The quantum is the host's for the host thread running the target: for the
 * policies a program may choose, the host's fair scheduler answers from its
 * own state (Linux 6.1's CFS: the slice of a loaded run queue, 0 when it is
 * empty; later kernels differ), which no fixed answer here would match. */
static long sys_sched_rr_get_interval(struct linux_thread *thread, const uint64_t *args)
{
    if ((int32_t)args[0] < 0)
        return -EINVAL;
    struct timespec interval = {0, 0};
    long call[4] = {(int32_t)args[0], (long)&interval, 0, 0};
    long result = linux_thread_host_call(thread, SYS_sched_rr_get_interval, call, 0);
    if (result < 0)
        return result;
    return linux_copy_out(thread->process, args[1], &interval, sizeof(interval)) ? -EFAULT : 0;
}

/* getpriority/setpriority's target is the program alone: PRIO_PROCESS of
 * itself or one of its threads (the nice value is kept per process here). A
 * group or a user, or another process, is the host's to answer. */
static bool names_program(struct linux_process *process, int which, int32_t who)
{
    return which == PRIO_PROCESS && linux_is_own_thread(process, who);
}

static long host_priority(long number, const uint64_t *args)
{
    if (args[0] == PRIO_PROCESS && !linux_is_other_process((int32_t)args[1]))
        return -ESRCH;
    long result = syscall(number, (int)args[0], (id_t)args[1], (int)args[2]);
    return result < 0 ? linux_host_error() : result;
}

static long sys_getpriority(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (args[0] > PRIO_USER)
        return -EINVAL;
    if (!names_program(process, (int)args[0], (int32_t)args[1]))
        return host_priority(SYS_getpriority, args);
    /* The kernel returns 20 - nice so that the value is never negative. */
    return 20 - process->nice;
}

static long sys_setpriority(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (args[0] > PRIO_USER)
        return -EINVAL;
    if (!names_program(process, (int)args[0], (int32_t)args[1]))
        return host_priority(SYS_setpriority, args);
    int nice = CLAMP((int)args[2], -20, 19);
    if (nice < process->nice && geteuid() != 0)
        return -EACCES;
    process->nice = nice;
    return 0;
}

static long sys_getcpu(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint32_t zero = 0;
    if ((args[0] && linux_copy_out(process, args[0], &zero, sizeof(zero))) ||
        (args[1] && linux_copy_out(process, args[1], &zero, sizeof(zero))))
        return -EFAULT;
    return 0;
}

/* ---- the end --------------------------------------------------------------------- */

static long sys_exit_group(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    /* A process sharing memory ends alone (it has one thread). */
    if (thread->vm_child)
        linux_vm_child_exit(thread, (int)args[0], 0);
    else
        linux_process_exit(process, (int)args[0], 0);
    return 0;
}

#define UNSUPPORTED(name)                                                                          \
    static long sys_##name(struct linux_thread *thread, const uint64_t *args)                      \
    {                                                                                              \
        (void)args;                                                                                \
        return linux_sys_unsupported(thread->process, SYS_##name);                                 \
    }

void linux_register_misc(linux_handler *table)
{
    table[SYS_arch_prctl] = sys_arch_prctl;
    table[SYS_set_tid_address] = sys_set_tid_address;
    table[SYS_set_robust_list] = sys_set_robust_list;
    table[SYS_ptrace] = sys_ptrace;
    table[SYS_get_robust_list] = sys_get_robust_list;
    table[SYS_rseq] = sys_rseq;
    table[SYS_prlimit64] = sys_prlimit64;
    table[SYS_getrlimit] = sys_getrlimit;
    table[SYS_setrlimit] = sys_setrlimit;
    table[SYS_getrusage] = sys_getrusage;
    table[SYS_getrandom] = sys_getrandom;
    table[SYS_clock_gettime] = sys_clock_gettime;
    table[SYS_clock_getres] = sys_clock_getres;
    table[SYS_gettimeofday] = sys_gettimeofday;
    table[SYS_time] = sys_time;
    table[SYS_clock_nanosleep] = sys_clock_nanosleep;
    linux_signal_set_interrupted(SYS_clock_nanosleep, LINUX_INTERRUPTED_RESTARTNOHAND);
    table[SYS_times] = sys_times;
    table[SYS_uname] = sys_uname;
    table[SYS_getuid] = sys_getuid;
    table[SYS_geteuid] = sys_geteuid;
    table[SYS_getgid] = sys_getgid;
    table[SYS_getegid] = sys_getegid;
    table[SYS_getgroups] = sys_getgroups;
    table[SYS_umask] = sys_umask;
    table[SYS_sysinfo] = sys_sysinfo;
    table[SYS_prctl] = sys_prctl;
    table[SYS_capget] = sys_capget;
    table[SYS_capset] = sys_capset;
    table[SYS_personality] = sys_personality;
    table[SYS_membarrier] = sys_membarrier;
#define REGISTER_PRIVILEGED(name) table[SYS_##name] = sys_##name;
    PRIVILEGED_CALLS(REGISTER_PRIVILEGED)
    table[SYS_sched_yield] = sys_sched_yield;
    table[SYS_sched_getattr] = sys_sched_getattr;
    table[SYS_sched_setattr] = sys_sched_setattr;
    table[SYS_ioprio_get] = sys_ioprio_get;
    table[SYS_ioprio_set] = sys_ioprio_set;
    table[SYS_syslog] = sys_syslog;
    table[SYS_sched_getscheduler] = sys_sched_getscheduler;
    table[SYS_sched_getparam] = sys_sched_getparam;
    table[SYS_sched_setscheduler] = sys_sched_setscheduler;
    table[SYS_sched_setparam] = sys_sched_setparam;
    table[SYS_sched_get_priority_max] = sys_sched_get_priority_max;
    table[SYS_sched_get_priority_min] = sys_sched_get_priority_min;
    table[SYS_sched_rr_get_interval] = sys_sched_rr_get_interval;
    table[SYS_getpriority] = sys_getpriority;
    table[SYS_setpriority] = sys_setpriority;
    table[SYS_getcpu] = sys_getcpu;
    table[SYS_exit_group] = sys_exit_group;
}
