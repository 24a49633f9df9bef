/*
 * linux/internal.h — state and helpers shared by the files of linux/.
 * Nothing outside linux/ includes it.
 */
#ifndef HERMITUX_LINUX_INTERNAL_H
#define HERMITUX_LINUX_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <glib.h>

#include "linux/linux.h"
#include "memory/memory.h"

/* Guest fd numbers are indexes into a fixed table: RLIMIT_NOFILE can never be
 * raised past it. 65,536 slots (2 MiB in the process, whose pages the host
 * allocates only as fds are used): a program started with the host's limits
 * (Debian's user session: 1,024 soft, 524,288 hard) may raise its soft limit,
 * as servers and the JVM do, up to this. */
#define LINUX_MAX_FDS 65536

/* The program's identity is its monitor's (docs/DESIGN.md, Identity): the
 * guest pid is the host pid, and the main thread's tid is the pid. */
int linux_pid(void);

/* pid 0 or the program's own pid. */
bool linux_is_self(int64_t pid);

/* Whether tid, named by the program, is the program or one of its threads
 * (0, its pid, a tid of its own). */
bool linux_is_own_thread(struct linux_process *process, int64_t tid);

/* Whether pid, named by the program, is a host process or thread other than
 * the program itself: the host answers for those, as guest pids are host
 * pids (its permission checks are the program's). The monitor's own threads
 * that run none of the program's (its main loop's, its servers') are not:
 * the caller answers ESRCH for them, as for a pid that does not exist. */
bool linux_is_other_process(int64_t pid);

/* Linux's encoding of CPU-time clocks in a negative clock id
 * (include/linux/posix-timers.h): a pid or tid, a kind, a thread's or a
 * process's; kind 3 of a process is a clock by fd (CLOCKFD). */
#define LINUX_CPUCLOCK_PID(clock)       ((int)~((clock) >> 3))
#define LINUX_CPUCLOCK_PERTHREAD(clock) (((clock)&4) != 0)
#define LINUX_CPUCLOCK_WHICH(clock)     ((clock)&3)
#define LINUX_CPUCLOCK_MAX              3
#define LINUX_CLOCK_IS_FD(clock)        ((clock) < 0 && ((clock)&7) == 3)
#define LINUX_PROCESS_CPUCLOCK(pid, which)                                                         \
    ((clockid_t)((~(unsigned)(pid)) << 3) | (clockid_t)(which))
#define LINUX_THREAD_CPUCLOCK(tid, which) (LINUX_PROCESS_CPUCLOCK(tid, which) | 4)

/* thread.c: the host clock for the program's clock id, or -EINVAL as Linux
 * answers for a CPU clock of no task it can reach: a clock id of its own
 * unchanged; the CPU clock of one of the program's threads, the host's of
 * the thread running its vCPU; the program's CPU clock, the host process's;
 * another process's, the host's for that pid. gettime: for clock_gettime,
 * which also takes the caller's tid as its process. Never a thread of the
 * monitor that runs none of the program's. */
long linux_host_clock(struct linux_thread *thread, int32_t clock, bool gettime, clockid_t *host);

/* Longest guest path accepted (PATH_MAX, NUL included). */
#define LINUX_PATH_MAX 4096

/* Linux's cap on one read or write (MAX_RW_COUNT). */
#define LINUX_MAX_RW_COUNT 0x7ffff000ULL

/* How much guest memory one host I/O call covers at most, so the host iovec
 * array stays small; larger requests on regular files loop. */
#define LINUX_IO_CHUNK (1ULL << 20)

#define LINUX_NSIG 64

struct linux_proc_fd;
/* The bit of a signal in a Linux sigset (signal 1 is bit 0). */
#define LINUX_SIGNAL_BIT(signal) (1ULL << ((signal)-1))

/* siginfo_t as the x86-64 kernel lays it out (128 bytes). */
struct linux_siginfo {
    int32_t signo;
    int32_t error;
    int32_t code;
    int32_t padding;
    union {
        struct {
            int32_t pid;
            uint32_t uid;
            uint64_t value; /* sigqueue's value */
        } kill;
        struct {
            int32_t id;
            int32_t overrun;
            uint64_t value;
        } timer;
        struct {
            uint64_t address;
        } fault;
        struct {
            int32_t pid;
            uint32_t uid;
            int32_t status; /* exit code or signal, as si_status */
            int32_t padding;
            int64_t utime; /* clock ticks */
            int64_t stime;
        } child;
        uint8_t bytes[112];
    } fields;
};

/* Signals waiting for delivery: a bit per signal, and their siginfo (one for
 * a standard signal, a queue for a real-time one). */
struct linux_sigqueue {
    uint64_t mask;
    GQueue infos[LINUX_NSIG + 1]; /* of struct linux_siginfo */
};

/* An interval timer or POSIX timer: a host timer whose expiry posts a signal. */
struct linux_timer {
    bool used;
    void *host_timer; /* timer_t of the host, NULL if none */
    struct linux_process *process;
    int target_tid; /* SIGEV_THREAD_ID's thread (found at each expiry), else 0: the process */
    int notify;     /* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID */
    int signal;
    int id;
    uint64_t value;
    int overrun;         /* expiries missed while the last one was pending */
    bool queued;         /* its signal is pending now */
    int last_overrun;    /* what timer_getoverrun reports */
    unsigned int serial; /* how the host callback finds it (signal.c), 0: none */
    clockid_t clock;     /* the host clock it runs on */
    uint64_t due;        /* that clock's ns of the next expiry not yet posted, 0: none */
    uint64_t interval;   /* ns between expiries, 0: one-shot */
};

#define LINUX_MAX_TIMERS 32 /* timer_create's ids 0..31; 3 more for setitimer */

/* What an interrupted call needs to go on after a stop (restart_syscall). */
struct linux_restart {
    uint64_t number;   /* 0: nothing to restart */
    uint64_t deadline; /* CLOCK_MONOTONIC nanoseconds (futex: of its clock) */
    uint64_t remaining_address;
    /* futex: the word, the value it waits on, its bitset and op flags */
    uint64_t futex_address;
    uint32_t futex_value, futex_bitset;
    int futex_flags;
    /* poll: its pollfds, how many, and whether deadline applies */
    uint64_t poll_address, poll_count;
    bool poll_timed;
};

struct linux_fd {
    /* The host fd + 1; 0: the guest fd is free, so that a zeroed table is
     * all free (setting 64 Ki entries to -1 touched 2 MiB at every start:
     * 1.6 ms). Read and set through linux_fd_entry_host / linux_fd_set. */
    int host_fd_1;
    bool cloexec;  /* FD_CLOEXEC as the program set it (nothing execs, but it reads back) */
    bool regular;  /* a regular file: reads may be looped to completion */
    bool on_proc;  /* a directory in the host's procfs: lookups under it are decided by proc.c */
    int owner_tid; /* F_SETOWN_EX F_OWNER_TID's thread (the host is given the process) */
    struct linux_proc_fd *proc;      /* a virtual /proc file or directory (proc.c), else NULL */
    struct linux_signalfd *signalfd; /* a signalfd (signalfd.c), else NULL */
};

/* The handler values of SIG_DFL and SIG_IGN. */
#define LINUX_SIG_DFL 0
#define LINUX_SIG_IGN 1

/* struct sigaction as the x86-64 kernel sees it (not libc's). */
struct linux_kernel_sigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

/*
 * One guest thread: the state Linux keeps per task rather than per process.
 * Owned by the host thread that runs this guest thread's vCPU; other threads
 * only read tid. Everything shared by all threads of the program lives in
 * struct linux_process.
 */
struct linux_thread {
    struct linux_process *process;
    int tid;
    /* The host thread running its vCPU when that is not tid (the program's
     * first thread, whose tid is the pid), else 0: whose CPU clock is its. */
    int host_tid;
    struct linux_cpu cpu;
    bool has_cpu;
    uint64_t signal_mask;
    /* SIGTTIN and SIGTTOU as blocked on this thread's host thread (see
     * mirror_job_control in signal.c), once synced. */
    uint64_t host_job_blocked;
    bool host_job_synced;
    struct linux_sigqueue pending; /* signals sent to this thread (tkill, faults) */
    /* rt_sigsuspend's caller's mask, put back once the handler is set up. */
    uint64_t saved_mask;
    bool restore_saved_mask;
    uint64_t waiting_mask; /* rt_sigtimedwait's set while it sleeps */
    struct linux_restart restart;
    struct linux_siginfo last_info; /* for the debugger's $_siginfo */
    uint64_t altstack_sp, altstack_size;
    int altstack_flags;
    uint64_t clear_child_tid; /* set_tid_address */
    uint64_t robust_list_head, robust_list_len;
    char comm[16];             /* prctl(PR_SET_NAME) */
    int sched_policy;          /* sched_setscheduler: SCHED_OTHER, SCHED_BATCH or SCHED_IDLE */
    uint64_t fs_base, gs_base; /* arch_prctl, when there is no vCPU (tests) */
    bool exited;               /* exit ended this thread (the others go on) */
    void *host_data;           /* the monitor's (its vCPU) */
    long syscall_value;        /* linux_thread_take_syscall_value */
    uint64_t stopped_call;     /* linux_signal_stopped_call's number + 1; 0: none */
    struct linux_vm_child *vm_child; /* a process of its own sharing memory, else NULL */
    int in_syscall;                  /* inside linux_syscall (atomic): /proc shows it sleeping */
    /* --strace: the arguments the call's line shows as they went in (a
     * length the kernel rewrites, select's sets), per argument; NULL when
     * the call has none or tracing was off when it began. */
    char *strace_entry[6];
};

/* What /proc/self shows of the program's start (proc.c). */
/* What Linux keeps in fs_struct: the current directory, its own (the
 * monitor's never moves): a host O_PATH fd relative paths resolve against,
 * or a virtual /proc directory's guest path (cwd_on_proc: cwd_fd is in the
 * host's procfs); and the umask, which the host applies (the monitor's own,
 * or the host thread's when it has its own fs_struct). */
struct linux_fs {
    int cwd_fd;
    char *cwd_virtual; /* through linux_fs_cwd_virtual and linux_fs_set_cwd_virtual */
    bool cwd_on_proc;
    unsigned int umask;
};

/*
 * A process that shares the program's memory: clone with CLONE_VM and
 * neither CLONE_THREAD nor CLONE_VFORK (thread.c). Guest RAM cannot be
 * copied for it, so it runs as one more guest thread of this monitor (its
 * own vCPU and host thread) with an identity of its own: its pid is its
 * thread's tid, signals to the program's pid do not reach it, and its end
 * goes to its parent as a child's (exit_signal, wait4). It shares the fd
 * table (CLONE_FILES is required); without CLONE_SIGHAND or CLONE_FS it has
 * its own copy of the dispositions or of cwd and umask. Under misc_lock
 * (process->vm_children), but what only its thread touches.
 */
struct linux_vm_child {
    int pid;          /* its tgid: the tid of its one thread */
    int parent_pid;   /* who reaps it: the program's pid or another's; 0: orphan */
    int exit_signal;  /* sent to the parent at its end, 0: none */
    int refs;         /* its thread's and the list's (under misc_lock) */
    bool own_actions; /* without CLONE_SIGHAND: actions is its own */
    struct linux_kernel_sigaction actions[LINUX_NSIG + 1];
    bool own_fs;      /* without CLONE_FS: fs is its own */
    bool fs_unshared; /* its host thread has its own umask (unshare(CLONE_FS)) */
    struct linux_fs fs;
    /* Once it ended, a zombie until reaped: */
    bool ended;
    int wait_status; /* as wait4 reports it */
    struct rusage usage;
};

struct linux_proc_info {
    uint64_t stack_start;        /* the initial stack pointer */
    uint64_t arg_start, arg_end; /* argv strings in guest memory */
    uint64_t env_start, env_end; /* environment strings */
    uint8_t *auxv;               /* the auxv as the program started with it */
    size_t auxv_length;
};

struct linux_process {
    struct guest_memory *memory;
    struct linux_config config;
    char *exe_path; /* owned copy of config.exe_path */
    struct linux_thread *main_thread;

    struct linux_fd fds[LINUX_MAX_FDS];
    /* Taken by whoever picks, fills or frees a slot (linux_fd_install,
     * linux_fd_release, dup2): two threads opening at once never get the
     * same fd. Before signal_lock and misc_lock, after mm_lock. */
    GMutex fd_lock;
    /* Linux's fdt->max_fds: how far the kernel's table has grown (select
     * caps nfds there, /proc/PID/status shows it as FDSize). It starts at
     * the monitor's own (the same fork and exec chain gave it to both),
     * grows as Linux grows it and never shrinks; a fork child's is sized
     * to the open fds (linux_fd_table_after_fork). */
    atomic_int fd_table_size;

    uint64_t brk_start;  /* the heap is [brk_start, brk) */
    uint64_t brk;        /* the current break, byte granular */
    uint64_t brk_mapped; /* page aligned end of the mapped heap */

    struct rlimit limits[RLIM_NLIMITS];
    /* Signal state: dispositions, process-wide pending signals and the
     * timers, under signal_lock (timer and forwarding threads post). */
    GMutex signal_lock;
    struct linux_kernel_sigaction actions[LINUX_NSIG + 1];
    struct linux_sigqueue pending;
    struct linux_timer timers[LINUX_MAX_TIMERS + 3];
    GSList *signalfds;   /* of struct linux_signalfd, kept readable as signals pend */
    int timer_callbacks; /* host timer callbacks running now (destroy waits for them) */
    /* Held from a timer's expiry found due to its signal posted, and from
     * re-arming to the host's timer set: a signal is posted before the call
     * re-arming returns, or not at all. Taken before signal_lock. */
    GMutex timer_lock;
    int nice;
    uint32_t persona; /* personality(2): kept across execve, as Linux does */
    /* PR_SET_NO_NEW_PRIVS as the program has it (the monitor's sandbox sets
     * the host's): inherited by children, kept across execve, never reset. */
    bool no_new_privs;

    /* cwd and umask (Linux's fs_struct); a process sharing memory without
     * CLONE_FS has its own: reach it through linux_fs(). */
    struct linux_fs fs;
    /* --root: an O_PATH fd of the directory the program sees as / (every
     * host path resolves inside it, linux/root.c) and its host path; -1 and
     * NULL without. */
    int root_fd;
    char *root_path;
    struct linux_proc_info proc_info;
    /* Answers other monitors about this program's /proc (peer.c, proc.c);
     * NULL when not serving (tests, or the name was taken). */
    struct linux_peer_server *peer_server;

    GHashTable *logged_unsupported; /* numbers already reported (under misc_lock) */
    /* AF_UNIX names bound with a path the host saw rewritten (the program's
     * own cwd, --root): host sun_path -> the program's, to give its own
     * back (net.c). Under misc_lock, NULL until the first. */
    GHashTable *unix_names;
    /* Files the program maps ("dev:ino" -> the program's path, proc.c's
     * maps): under misc_lock, NULL until the first. */
    GHashTable *file_paths;
    GMutex misc_lock;

    /* Threads (thread.c): the live ones in creation order, under
     * threads_lock; the monitor's side of them. */
    GMutex threads_lock;
    GPtrArray *threads;
    struct linux_thread_host thread_host;
    bool have_thread_host;
    struct linux_debug_hooks debug_hooks; /* all NULL without a debugger */

    /* Held around every syscall that changes the memory map, so concurrent
     * threads see one map and a narrowing is flushed before frames it freed
     * can be reused. */
    GMutex mm_lock;

    FILE *strace_file;  /* --strace: where each call is traced, NULL when off */
    bool strace_prefix; /* several threads or processes: lines start "[pid N]" */
    /* Processes sharing the memory (struct linux_vm_child), live and
     * zombies, under misc_lock; vm_child_events counts their ends (a host
     * futex word their parents' waits sleep on). */
    GPtrArray *vm_children;
    uint32_t vm_child_events;
    /* In a vfork child until it execs or exits: the write end of the pipe
     * its parent waits on (-1 otherwise). */
    int vfork_done_fd;
    /* In a vfork child: the parent's stack from its rsp up, which the child
     * hands back when it exits (fork.c: what the parent would see of a
     * shared memory, such as posix_spawn's error). */
    uint64_t vfork_share_start, vfork_share_end;
    uint8_t *vfork_share_before; /* the child's: that range as the vfork found it */

    /* Set once, by the first exit_group or fatal signal (Linux keeps the
     * first group exit code too): the status under misc_lock, then exited,
     * which every vCPU thread reads at each syscall without the lock. */
    atomic_bool exited;
    int exit_status;
    int exit_signal;
};

/* A syscall handler: the calling thread and the six raw arguments in, rax
 * out. Process-wide state is thread->process. */
typedef long (*linux_handler)(struct linux_thread *thread, const uint64_t *args);

/* ---- fd table (fd.c) ---- */

/* The host fd behind a guest fd, or -1 (-EBADF for the program). */
/* fd.c: an entry's host fd, -1 when the guest fd is free. */
static inline int linux_fd_entry_host(const struct linux_fd *entry)
{
    return __atomic_load_n(&entry->host_fd_1, __ATOMIC_ACQUIRE) - 1;
}
/* fd.c: makes guest_fd the program's name for host_fd (-1: frees it),
 * every other field of the entry set first; the table grows to hold it. */
void linux_fd_set(struct linux_process *process, int guest_fd, int host_fd);
/* fd.c: every guest fd in use is below this (loops over the table end here). */
int linux_fd_scan_end(const struct linux_process *process);
int linux_fd_host(const struct linux_process *process, uint64_t guest_fd);

/* Installs host_fd (already O_CLOEXEC on the host) at the lowest free guest
 * number >= minimum. Returns the guest fd, or -EMFILE (host_fd is closed
 * then, so callers need no cleanup). */
long linux_fd_install(struct linux_process *process, int host_fd, int minimum, bool cloexec);

/* The lowest free guest fd >= minimum, or -EMFILE: for a call that must
 * know before it acts (accept leaves the connection queued then). */
/* The process's fd table after a host fork: sized as Linux's dup_fd sizes
 * the child's. */
void linux_fd_table_after_fork(struct linux_process *process);

/* The monitor's own fd table size (FDSize in /proc/self/status), the start
 * of the program's. */
int linux_fd_table_host_size(void);

long linux_fd_free_slot(const struct linux_process *process, int minimum);

/* Frees a guest fd and closes its host fd; returns the host close result. */
int linux_fd_release(struct linux_process *process, int guest_fd);

/* RLIMIT_NOFILE's soft limit, clipped to the table. */
int linux_fd_limit(const struct linux_process *process);

/* ---- asking another process's monitor (peer.c) ---- */

/* What one monitor asks another about its program's /proc. path is the
 * part after /proc/PID (LOOKUP) or a whole canonical /proc/PID path. */
enum linux_peer_op {
    LINUX_PEER_LOOKUP,   /* resolve path, following its last link if follow */
    LINUX_PEER_OPEN,     /* a generated file's content: an fd comes back */
    LINUX_PEER_LIST,     /* a directory's entries: an fd of "<type><name>\n" lines */
    LINUX_PEER_READLINK, /* a link's text */
};

struct linux_peer_request {
    uint32_t op; /* enum linux_peer_op */
    uint32_t follow;
    char path[LINUX_PATH_MAX + 64];
};

struct linux_peer_reply {
    int32_t result;                 /* 0 or -errno (READLINK: the length) */
    uint32_t kind;                  /* LOOKUP: enum linux_path_kind */
    uint32_t fd_role;               /* LOOKUP of a host path: enum linux_peer_fd_role */
    uint32_t close_after;           /* the server's: close the fd once sent */
    uint64_t resolve;               /* LOOKUP: RESOLVE_* to add (--root's RESOLVE_IN_ROOT) */
    uint32_t link_mode;             /* LOOKUP of a link: struct linux_path's */
    char text[LINUX_PATH_MAX + 64]; /* the path found, or the link's text */
};

enum linux_peer_fd_role {
    LINUX_PEER_FD_NONE,   /* text is an absolute host path */
    LINUX_PEER_FD_DIR,    /* text is relative to the fd that came */
    LINUX_PEER_FD_TARGET, /* the fd that came is the file itself (O_PATH) */
};

/* The server calls this for each request, on its own thread: it fills
 * reply and may set *fd to one to send along. */
typedef void (*linux_peer_handler)(void *opaque, const struct linux_peer_request *request,
                                   struct linux_peer_reply *reply, int *fd);

struct linux_peer_server;

/* Serves requests about this process (linux_pid()) until stopped; NULL if
 * it cannot (the name taken, no thread). */
struct linux_peer_server *linux_peer_server_start(linux_peer_handler handler, void *opaque);
/* Stops the thread and frees (the handler's state must outlive this). */
void linux_peer_server_stop(struct linux_peer_server *server);
/* In a fork's child, where the thread is gone: closes and frees (a server
 * held across the fork stays so: it is not used again). */
void linux_peer_server_forget(struct linux_peer_server *server);
/* Waits until no request is being served and keeps the next one waiting,
 * for a fork: taken before every lock the handler takes. NULL accepted. */
void linux_peer_server_hold(struct linux_peer_server *server);
void linux_peer_server_release(struct linux_peer_server *server);

/* linux_peer_call's "nobody answers for that pid": not a monitor, stopped,
 * of another user, or one that does not serve. */
#define LINUX_PEER_ABSENT 1
/* Asks pid's monitor; 0 with *reply (and *fd, or -1), or LINUX_PEER_ABSENT.
 * Waits at most a bounded time. */
long linux_peer_call(int pid, const struct linux_peer_request *request,
                     struct linux_peer_reply *reply, int *fd);

/* ---- paths and the program's /proc (proc.c) ---- */

/* The peer server answering for this program (config.serve_peers): started
 * with the process, stopped before it is destroyed, and in a fork's child
 * restarted under the child's pid. */
void linux_proc_serve_start(struct linux_process *process);
void linux_proc_serve_stop(struct linux_process *process);
void linux_proc_serve_after_fork(struct linux_process *process);

#define LINUX_AT_FDCWD (-100)

enum linux_path_kind {
    LINUX_PATH_HOST,      /* a host (dirfd, path) pair */
    LINUX_PATH_PROC_FILE, /* a generated /proc file: path is its guest path */
    LINUX_PATH_PROC_DIR,  /* a virtual /proc directory */
    LINUX_PATH_PROC_LINK, /* a /proc link not followed (lstat, readlink, O_NOFOLLOW) */
    LINUX_PATH_PROC_MEM,  /* /proc/self/mem: the guest's user memory, nothing else */
};

/* A guest path decided: what the host call gets, or which virtual object. */
struct linux_path {
    enum linux_path_kind kind;
    int dirfd;        /* LINUX_PATH_HOST: AT_FDCWD, the cwd fd or a dirfd's host fd */
    bool trusted;     /* crosses one of the monitor's own magic links on purpose */
    uint64_t resolve; /* openat2 RESOLVE_* the program asked for, added to the host's */
    /* LINUX_PATH_PROC_LINK: its permission bits, which say how fd/N is
     * open (lsof reads them: r-x, -wx, rwx); 0 for 0777. */
    uint32_t link_mode;
    char path[LINUX_PATH_MAX + 64];
};

/* A virtual /proc object behind a guest fd (shared by dups). */
struct linux_proc_dirent {
    char name[64];
    unsigned char type;
};
struct linux_proc_fd {
    int refs;
    bool dir;
    bool mem;        /* /proc/self/mem: reads and writes reach guest memory */
    bool comm;       /* a comm file: a write names its thread (linux_proc_set_comm) */
    int access_mode; /* mem, comm: O_RDONLY, O_WRONLY or O_RDWR as opened */
    uint64_t offset; /* mem: the file position (a guest address) */
    char *path;      /* its canonical guest path, "/proc/1/fd" */
    GArray *entries; /* directory: struct linux_proc_dirent, listed at the first read */
    unsigned position;
};

/* Decides a guest (dirfd, path): dirfd is a guest fd or LINUX_AT_FDCWD;
 * follow: whether a final /proc link is followed. 0 or -errno. */
long linux_path_resolve(struct linux_process *process, int64_t dirfd, const char *path, bool follow,
                        struct linux_path *out);
/* The object a guest fd (or LINUX_AT_FDCWD) itself names (AT_EMPTY_PATH). */
long linux_path_of_fd(struct linux_process *process, int64_t dirfd, struct linux_path *out);
/* For a host call that takes a path but no RESOLVE_* flags (stat, chmod,
 * unlink, bind...): opens what the path leads to (follow) or its parent as
 * O_PATH by the same rules as open, and rewrites *path to it: a virtual
 * object, the monitor's own link to the file found, or (parent fd, last
 * component). The anchor fd stays open until the call ends. */
long linux_path_anchor(struct linux_process *process, struct linux_path *path, bool follow);
/* Closes the anchors of the thread's current call (at the call's end). */
void linux_path_release_anchors(void);
/* --root: turns a host path inside the root into the guest's view of it in
 * place ("/" for the root itself); false (unchanged) if it is outside. */
bool linux_root_strip(const struct linux_process *process, char *path);
/* --root: replaces *path, a guest path (absolute, or relative to the root),
 * by the host path it names inside the root (execve); unchanged without a
 * root. 0 or -errno. */
long linux_root_host_path(struct linux_process *process, char **path, bool follow);
/* Opens config's root for the process (nothing without one); 0 or -1 with *error. */
int linux_root_open(struct linux_process *process, const char *root, char **error);
/* open(2) of a decided path: installs the new guest fd. */
long linux_path_open(struct linux_process *process, const struct linux_path *path, int flags,
                     mode_t mode);
/* Lexical canonical form of an absolute path ("//a/./b/../c" -> "/a/c"). */
bool linux_path_normalize(const char *path, char *out, size_t size);
/* readlink of /proc/self/fd/host_fd into out (NUL-terminated): length or -errno. */
long linux_host_fd_path(int host_fd, char *out, size_t size);
/* The program's current directory as text; length or -errno. */
long linux_cwd_path(struct linux_process *process, char *out, size_t size);

/* The cwd's guest path when it is a virtual /proc directory (fs.c): copied
 * into out (size bytes) under a lock, since another thread sharing the cwd
 * (or the peer server) may chdir meanwhile; false when the cwd is a host
 * directory. set takes ownership of path (NULL: none) and frees the old one
 * under the same lock. */
bool linux_fs_cwd_virtual(const struct linux_fs *fs, char *out, size_t size);
void linux_fs_set_cwd_virtual(struct linux_fs *fs, char *path);

/* linux/cpuinfo.c: host, a /proc/cpuinfo text, appended to out with each
 * flags line narrowed to the flags whose bit cpuid sets. */
void linux_cpuinfo_narrow(const char *host, linux_cpuid_fn *cpuid, void *opaque, GString *out);

void linux_proc_init(struct linux_process *process, uint64_t initial_stack, const uint8_t *auxv,
                     size_t auxv_length);
long linux_proc_open(struct linux_process *process, const struct linux_path *path, int flags);
void linux_proc_stat(const struct linux_path *path, struct stat *st);
long linux_proc_readlink(struct linux_process *process, const struct linux_path *path, char *out,
                         size_t size);
long linux_proc_getdents(struct linux_process *process, struct linux_proc_fd *dir, uint64_t address,
                         uint64_t count);
/* read/write on /proc/self/mem: len bytes between the program's buffer and
 * the guest's user mappings at *position (advanced). Bytes done, or -EIO
 * when the first page is not mapped, -EFAULT for a bad buffer. */
long linux_proc_mem_rw(struct linux_process *process, struct linux_proc_fd *mem, uint64_t buffer,
                       uint64_t len, bool is_write, uint64_t *position);
/* A write to a comm file: its thread's name becomes `name` (at most 15
 * bytes, NUL-terminated). -EBADF when opened read-only, -ESRCH when its
 * thread is gone. */
/* proc.c: the size of the program's address space (VmSize), in bytes. */
uint64_t linux_proc_address_space(struct linux_process *process);

long linux_proc_set_comm(struct linux_process *process, const struct linux_proc_fd *comm,
                         const char *name);
struct linux_proc_fd *linux_proc_fd_ref(struct linux_proc_fd *proc);
void linux_proc_fd_unref(struct linux_proc_fd *proc);

/* ---- guest memory helpers (io.c) ---- */

/* Reads a path argument; 0 or -EFAULT / -ENAMETOOLONG / -ENOENT (empty). */
long linux_read_path(struct linux_process *process, uint64_t address, char *path, bool allow_empty);

/* How many bytes from address on the program can write, up to count. */
uint64_t linux_writable_prefix(struct linux_process *process, uint64_t address, uint64_t count);

/* guest_read/guest_write on the program's behalf. */
static inline int linux_copy_in(struct linux_process *process, uint64_t address, void *buf,
                                size_t len)
{
    return guest_read(process->memory, address, buf, len, GUEST_ACCESS_USER_READ);
}

static inline int linux_copy_out(struct linux_process *process, uint64_t address, const void *buf,
                                 size_t len)
{
    return guest_write(process->memory, address, buf, len, GUEST_ACCESS_USER_WRITE);
}

/* io.c: a write met a closed pipe or socket: SIGPIPE as Linux raises it
 * (its default action ends the program); returns -EPIPE. */
long linux_broken_pipe(struct linux_process *process);

/* io.c: sendfile that waits at most a millisecond for room in its pipe:
 * -EAGAIN (and -EPIPE without SIGPIPE) instead; the syscall ring's. */
long linux_sendfile_briefly(struct linux_process *process, const uint64_t *args);

/* io.c: blocks the host SIGPIPE around a write that could meet a closed pipe
 * (the error must reach the program, not kill the monitor). */
void linux_pipe_guard_begin(sigset_t *old_mask);
void linux_pipe_guard_end(const sigset_t *old_mask);

/* net.c: a guest path as one host path string, for host calls that take no
 * dirfd (bind of an AF_UNIX socket, inotify_add_watch): relative to the
 * program's cwd, through /proc/self/fd/N when that is not the monitor's.
 * 0, or -errno (-ENAMETOOLONG when it does not fit in size). */
long linux_path_for_host(struct linux_process *process, const char *path, bool follow, char *out,
                         size_t size);

/* ---- handlers, by file ---- */

/* Registers each file's handlers in the table indexed by syscall number. */
void linux_register_fd(linux_handler *table);
void linux_register_io(linux_handler *table);
void linux_register_fs(linux_handler *table);
void linux_register_mm(linux_handler *table);
void linux_register_misc(linux_handler *table);
void linux_register_net(linux_handler *table);
void linux_register_poll(linux_handler *table);
void linux_register_fork(linux_handler *table);
void linux_register_exec(linux_handler *table);
void linux_register_thread(linux_handler *table);
void linux_register_futex(linux_handler *table);
void linux_register_signalfd(linux_handler *table);
void linux_register_ipc(linux_handler *table);

/* Where a mapping of len bytes the program asks for at address goes (mm_lock
 * held): there (replacing what is mapped with replace, else EINVAL if
 * anything is), or anywhere free in the mmap area when address is 0
 * (ENOMEM if nowhere). shmat's placement. */
long linux_mm_place(struct linux_process *process, uint64_t address, uint64_t len, bool replace,
                    uint64_t *start);

/* ---- signalfd.c ---- */

struct linux_signalfd;
/* Makes every signalfd readable exactly while a signal of its mask is
 * pending; called with signal_lock held after the pending sets change. */
void linux_signalfd_refresh(struct linux_process *process);
struct linux_signalfd *linux_signalfd_ref(struct linux_signalfd *signalfd);
uint64_t linux_signalfd_mask(const struct linux_signalfd *signalfd);
/* After an execve: guest_fd's host fd is a signalfd's eventfd (exec.c). */
int linux_signalfd_adopt(struct linux_process *process, int guest_fd, uint64_t mask);
void linux_signalfd_unref(struct linux_process *process, struct linux_signalfd *signalfd);
/* read(2) of a guest fd that is a signalfd: struct signalfd_siginfo records. */
long linux_signalfd_read(struct linux_thread *thread, uint64_t guest_fd, uint64_t buffer,
                         uint64_t count);
/* signal.c: takes the next pending signal of allowed off the thread's or the
 * process's queue (signal_lock taken inside); 0 if none. */
int linux_signal_dequeue(struct linux_thread *thread, uint64_t allowed, struct linux_siginfo *info);

/* thread.c: the live thread whose tid is tid, or NULL. The pointer stays
 * valid while that thread runs a syscall or is blocked in one. */
struct linux_thread *linux_thread_find(struct linux_process *process, int tid);
/* The same with threads_lock held by the caller: the thread stays listed,
 * and so alive, until the caller lets the lock go. */
struct linux_thread *linux_thread_find_locked(struct linux_process *process, int tid);

/* thread.c: the host syscall number(args) made for one of the program's
 * threads, as Linux makes it for that thread: args[tid_index], a tid of
 * the program's (0: the caller; its pid: its first thread), becomes the
 * host thread that runs it (sched_setaffinity, sched_setattr, ioprio_set
 * apply there, and what the host's threads, forks and execve inherit is
 * the program's), under the lock that keeps that thread alive. Another
 * process's tid goes to the host as it is; -ESRCH for neither. The host's
 * result, or -errno. */
long linux_thread_host_call(struct linux_thread *thread, long number, long args[4], int tid_index);

/* thread.c: a guest thread renamed (prctl PR_SET_NAME from itself, self;
 * its /proc comm file): its host thread gets the name too, and the host
 * process (ps, pidof, killall) with the main thread's. */
void linux_thread_name_host(struct linux_thread *thread, const char *name, bool self);

/* signal.c: in a fork's child, before the fork call returns there: no
 * signal is pending (fork(2): the child's set starts empty). The copy of
 * the parent's queue was delivered in the child, through the parent's
 * vCPU, which the child no longer has (the monitor died of SIGSEGV about
 * once in 60 shell pipelines under load). */
void linux_signal_after_fork_child(struct linux_thread *survivor);

/* thread.c: brackets the monitor's read-modify-write of a guest word the
 * program's other threads may be changing with atomic instructions (see
 * linux_thread_host.exclusive). */
void linux_thread_exclusive(struct linux_thread *thread, bool begin);

/* thread.c: clone of a thread (CLONE_VM without CLONE_VFORK). */
long linux_clone_thread(struct linux_thread *thread, const uint64_t *args);

/* futex.c: wakes up to count waiters of the guest word at address. */
long linux_futex_wake(struct linux_process *process, uint64_t address, int count);

/* futex.c: restart_syscall of a timed futex wait a signal interrupted
 * without a handler: waits on until the original deadline. */
long linux_futex_restart(struct linux_thread *thread, const struct linux_restart *restart);
/* poll.c: restart_syscall of a poll a signal or a stop interrupted: the
 * same pollfds until the same deadline, as Linux's do_restart_poll. */
long linux_poll_restart(struct linux_thread *thread, const struct linux_restart *restart);

/* thread.c: an execve past its checks, about to replace the program: the
 * robust list of every thread is walked, as Linux's exec does for the
 * caller (futex_exec_release) and for the threads it ends (de_thread). */
void linux_thread_exec_robust_lists(struct linux_thread *thread);

/* futex.c: the robust futex at address lost its owner tid (set_robust_list). */
void linux_futex_owner_died(struct linux_process *process, uint64_t address, int tid);
void linux_register_signal(linux_handler *table);

/* ---- signals (signal.c) ---- */

/* Linux's internal codes for an interrupted call: never seen by the program,
 * turned into EINTR or a restart when the call returns to it. */
#define LINUX_ERESTARTSYS           512
#define LINUX_ERESTARTNOINTR        513
#define LINUX_ERESTARTNOHAND        514
#define LINUX_ERESTART_RESTARTBLOCK 516

void linux_signal_init(struct linux_process *process);

/* SIGCHLD ignored or with SA_NOCLDWAIT: the program's children (host
 * processes, monitors of their own) are reaped by the host as they end, as
 * Linux reaps them for it, and wait gives ECHILD once none is left. The
 * monitor's SIGCHLD handler stays; only its SA_NOCLDWAIT follows the
 * program's action. Called when that action changes or is carried in. */
void linux_signal_sync_child_reaping(struct linux_process *process);
void linux_signal_syscall_begin(struct linux_thread *thread);
/* The thread whose syscall the calling host thread performs (NULL outside
 * one): who a broken pipe's SIGPIPE goes to. */
struct linux_thread *linux_signal_current_thread(void);

/* The cwd and umask of the process making the current call: its own for a
 * process sharing memory without CLONE_FS, else the program's. */
static inline struct linux_fs *linux_fs(struct linux_process *process)
{
    struct linux_thread *thread = linux_signal_current_thread();
    if (thread && thread->process == process && thread->vm_child && thread->vm_child->own_fs)
        return &thread->vm_child->fs;
    return &process->fs;
}

/* The pid (thread group id) of thread's process. */
int linux_thread_tgid(const struct linux_thread *thread);
/* fork.c: the pid of the parent of thread's process (getppid). */
int linux_thread_ppid(const struct linux_thread *thread);

/* thread.c: the thread of the live process sharing memory whose pid is
 * pid, or NULL. */
struct linux_thread *linux_vm_child_thread(struct linux_process *process, int pid);

/* thread.c: a process sharing memory ends (exit, exit_group, a fatal
 * signal: signal, else status): its thread ends, its parent hears of it.
 * The thread's syscall then returns LINUX_THREAD_EXIT. */
void linux_vm_child_exit(struct linux_thread *thread, int status, int signal);

/* thread.c: whether thread is a process sharing memory or its program has
 * one alive: what a host fork or execve of the monitor cannot copy or keep
 * (logged with -v, naming what, which is then refused). */
bool linux_vm_sharing(struct linux_thread *thread, const char *what);
/* thread.c: true (logged with -v) when thread is a process sharing memory,
 * for what it cannot do as its own (the program's state is the monitor's). */
bool linux_vm_child_refuses(struct linux_thread *thread, const char *what);

/* thread.c: what a wait of caller (wait4's pid and options) finds among
 * the processes sharing memory: 1 with *found the one that ended (taken
 * off unless keep: WNOWAIT), 0 when some are eligible but none ended yet,
 * -ECHILD when none is eligible. */
long linux_vm_child_wait(struct linux_thread *caller, int64_t pid, int options, bool keep,
                         struct linux_vm_child *found);
/* thread.c: frees the list of processes sharing memory (a fork's child
 * keeps none; at the process's end). */
void linux_vm_children_free(struct linux_process *process);

/* thread.c: a process sharing memory makes its first call on its own host
 * thread: that host thread takes its own umask (without CLONE_FS). */
void linux_vm_child_enter(struct linux_thread *thread);

/* signal.c: the disposition of signal for thread's process. */
struct linux_kernel_sigaction linux_signal_action(struct linux_thread *thread, int signal);

void linux_signal_destroy(struct linux_process *process);
/* Held across the host fork, released on both sides (signal.c says why). */
void linux_signal_fork_prepare(struct linux_process *process);
void linux_signal_fork_done(struct linux_process *process);
void linux_signal_thread_destroy(struct linux_thread *thread);
/* execve keeps what is pending (Linux: the process's set and the calling
 * thread's own), but a POSIX timer's signal: its timer is gone. Collects
 * them for the exec state, to_thread set for the thread's own. */
struct linux_exec_signal {
    uint32_t to_thread;
    uint32_t padding;
    struct linux_siginfo info;
};
GArray *linux_signal_exec_pending(struct linux_thread *thread);
/* Queues one of them again in the new program (its main thread is the
 * caller of execve). */
void linux_signal_exec_restore(struct linux_process *process, const struct linux_exec_signal *sig);
/* The setitimer timers (ITIMER_REAL, _VIRTUAL, _PROF) also go on in the
 * new program, as in Linux (alarm() before an exec still fires): what is
 * left of each, and each armed again in the new monitor. */
void linux_signal_exec_itimers(struct linux_process *process, struct itimerspec out[3]);
long linux_signal_exec_restore_itimers(struct linux_process *process,
                                       const struct itimerspec in[3]);

/* A relative sleep, as nanosleep's: interrupted, the time left goes to
 * remaining_address and the call goes on with restart_syscall
 * (-ERESTART_RESTARTBLOCK), as Linux's hrtimer_nanosleep. */
long linux_sleep_relative(struct linux_thread *thread, const struct timespec *request,
                          uint64_t remaining_address);

/* What a call interrupted by a signal (-EINTR from the host) returns: the
 * kernel's restart code for that call (-ERESTARTSYS...); other values as
 * they are. */
long linux_signal_interrupted_value(uint64_t number, long value);
/*
 * Ends a syscall: an -EINTR from the host becomes Linux's restart code for
 * that call, and pending signals are delivered (a handler's frame, or the
 * call restarted transparently when no handler runs). *value is the result;
 * returns the outcome for linux_syscall.
 */
enum linux_outcome linux_signal_syscall_end(struct linux_thread *thread, uint64_t number,
                                            long *value);

/* Sends a signal to thread (NULL: to the process), as Linux generates it:
 * an ignored one is dropped, a standard one already pending is not queued
 * twice. Kicks the vCPU when the signal can be delivered now. */
void linux_signal_send(struct linux_process *process, struct linux_thread *thread,
                       const struct linux_siginfo *info);

/* A call that takes a signal mask for its duration (ppoll, pselect6,
 * epoll_pwait, rt_sigsuspend), as Linux's set_user_sigmask: mask replaces
 * the thread's; true when a signal is deliverable under it already (the
 * call must not sleep then). */
bool linux_signal_mask_for_call(struct linux_thread *thread, uint64_t mask);
/* Whether a signal the thread does not block is pending for it now: a call
 * that has already done part of its work returns what it did instead of
 * going on (the signal is delivered at its end). */
bool linux_signal_deliverable(const struct linux_thread *thread);
/* signal.c: CLOCK_MONOTONIC in nanoseconds (deadlines, short waits). */
uint64_t linux_monotonic_ns(void);
/* The call ended with result: unless a signal interrupted it (its handler's
 * frame then carries the caller's mask), the caller's mask is back at once
 * and a signal it blocks stays pending (restore_saved_sigmask_unless). */
void linux_signal_mask_after_call(struct linux_thread *thread, long result);

/* A write met a broken pipe: SIGPIPE for the writer (returns -EPIPE). */
long linux_signal_broken_pipe(struct linux_thread *thread);

#define LINUX_SYSCALL_TABLE_SIZE 512

/* How a call ends when a signal interrupts it (-EINTR from the host), as
 * the code Linux's own handler returns; set where the handler is
 * registered, LINUX_INTERRUPTED_RESTARTSYS when not. */
enum linux_interrupted {
    LINUX_INTERRUPTED_RESTARTSYS,    /* restarted unless a handler without SA_RESTART runs */
    LINUX_INTERRUPTED_RESTARTNOHAND, /* EINTR whenever a handler runs (waits, sleeps) */
    LINUX_INTERRUPTED_FINAL,         /* the EINTR is the answer (restart_syscall, rt_sigreturn) */
};
void linux_signal_set_interrupted(uint64_t number, enum linux_interrupted how);

/* The x86-64 struct msghdr, as the program lays it out (net.c, strace_net.c). */
struct guest_msghdr {
    uint64_t name;
    uint32_t namelen;
    uint32_t pad0;
    uint64_t iov;
    uint64_t iovlen;
    uint64_t control;
    uint64_t controllen;
    int32_t flags;
    uint32_t pad1;
};
_Static_assert(sizeof(struct guest_msghdr) == 56, "x86-64 msghdr");

/* ---- strace.c ---- */

/* Before a call runs under --strace: keeps what its line shows of the
 * arguments as they went in. */
void linux_strace_syscall_entry(struct linux_thread *thread, const struct linux_syscall *call);

/* Frees what linux_strace_syscall_entry kept (a thread ended in its call). */
void linux_strace_forget_entry(struct linux_thread *thread);

/* Traces one call (returned: false when it never returns, as exit_group). */
void linux_strace_syscall(struct linux_thread *thread, const struct linux_syscall *call,
                          long result, bool returned);

/* The end of thread's process, "+++ exited with N +++" or "+++ killed by
 * SIG +++" (a process sharing memory ends before the program). */
void linux_strace_thread_end(struct linux_thread *thread, int status, int signal);

/* Traces a signal delivered to thread: "--- SIGALRM {...} ---". */
void linux_strace_signal(struct linux_thread *thread, const struct linux_siginfo *info);

/* mm.c: sets up brk; called once from linux_process_create. */
void linux_mm_init(struct linux_process *process);
/* mm.c: a file was truncated (through host_fd, or at host_path when it is
 * -1): the pages of its mappings past the new end make the program's
 * accesses SIGBUS, as on Linux; those it covers again are the file's.
 * Under mm_lock; the second takes it, for open(O_TRUNC). */
void linux_mm_file_truncated(struct linux_process *process, int host_fd, const char *host_path);
void linux_mm_file_opened_truncating(struct linux_process *process, int host_fd);

/* Ends the program (exit, exit_group, a fatal signal). */
void linux_process_exit(struct linux_process *process, int status, int signal);

/* fork.c: a vfork child ends: its parent gets back what it shares with it
 * and stops waiting. Nothing for any other process. */
void linux_vfork_child_exit(struct linux_process *process);

/* exec.c: fills a new process from the state its previous program carried
 * across execve (linux_config.exec_state_fd), and closes state_fd. 0, or -1
 * with a one-line *error. */
int linux_exec_state_load(struct linux_process *process, int state_fd, char **error);

/* kill(2) aimed at another process or a process group: the host's. */
long linux_kill_other(int64_t pid, int signal);

/* clone and clone3 making a process (no CLONE_VM, or CLONE_VM with
 * CLONE_VFORK): a fork of the monitor. stack: the child's rsp (0: the
 * parent's); pidfd_address: where CLONE_PIDFD stores the parent's pidfd of
 * the child. Returns as fork() does. */
long linux_clone_process(struct linux_thread *thread, uint64_t flags, uint64_t stack,
                         uint64_t parent_tid, uint64_t child_tid, uint64_t tls,
                         uint64_t pidfd_address);

/* pidfd_open's flags (PIDFD_THREAD is Linux 6.9's). */
#define LINUX_PIDFD_NONBLOCK O_NONBLOCK
#define LINUX_PIDFD_THREAD   O_EXCL

/* A host pidfd for pid as the program names it (the program itself, one of
 * its threads with LINUX_PIDFD_THREAD, or another process), in *host_fd
 * (close-on-exec); 0 or -errno as pidfd_open gives it. */
long linux_pidfd_open_host(struct linux_process *process, int32_t pid, unsigned int flags,
                           int *host_fd);

/* The pid (or tid) the program's fd names as a pidfd, from the host's
 * fdinfo, and the fd's host fd if host_fd is not NULL: 0, -EBADF (no such
 * fd, or not a pidfd) or -ESRCH (the process has ended). */
long linux_pidfd_target(struct linux_process *process, uint64_t fd, int32_t *pid, int *host_fd);

/* -ENOSYS for a syscall that cannot work here, logged once when verbose. */
long linux_sys_unsupported(struct linux_process *process, uint64_t number);

/* -errno of the last failed host call, as a syscall result. */
/* fd.c: the whole buffer read or written on a host fd, across short
 * transfers and EINTR; false at end of file or on an error. */
bool linux_host_read_all(int fd, void *buffer, size_t length);
bool linux_host_write_all(int fd, const void *buffer, size_t length);

/* root.c: the host's openat2, made again while a RESOLVE_IN_ROOT or
 * RESOLVE_BENEATH walk fails with EAGAIN (a rename or mount anywhere on the
 * host during a walk with ".." makes the kernel refuse it, and a busy host
 * does so now and then: `cat /../etc/x` under --root saw EAGAIN). A
 * negative result with errno set, as syscall(2). */
struct open_how;
int linux_host_openat2(int dirfd, const char *path, const struct open_how *how);

static inline long linux_host_error(void)
{
    return -(long)errno;
}

/* A host call's result as a syscall result. */
static inline long linux_host_result(long result)
{
    return result < 0 ? -(long)errno : result;
}

#endif
