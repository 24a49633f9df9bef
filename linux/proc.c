/*
 * linux/proc.c — the program's own view of /proc, and how every guest path
 * is resolved.
 *
 * Everything that names the program's process — /proc/self, thread-self,
 * /proc/1 (its pid), the monitor's host pid and thread ids, task/TID, and
 * /dev/fd, /dev/stdin... — is served from the guest's state: its maps from
 * the region map, its cmdline and environment from its own memory, its fds
 * from its own table. The monitor's memory, fds, environment and map are
 * never reachable through them.
 *
 * Paths are decided on their lexically canonical form ("/proc//self/./fd/3"
 * is "/proc/self/fd/3"). Host opens never cross a magic link unless the
 * monitor chose it (RESOLVE_NO_MAGICLINKS), and an open that still lands in
 * procfs is checked again by the path the host kernel reports for it, so a
 * symlink or a dirfd cannot lead around the rules.
 */
#include "linux/internal.h"

#include <dirent.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROC_MAX_DEPTH 8 /* links followed inside one lookup */

/* ---- lexical paths --------------------------------------------------------- */

static bool has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    }
    return false;
}

static bool names_far_link(const char *canonical);

/* Folds ".", ".." and repeated slashes. With stop_at_links, the text after
 * a link of /proc or /dev that leads elsewhere (names_far_link) is kept as
 * it is when a ".." follows: Linux climbs from where the link leads. */
static bool normalize(const char *path, char *out, size_t size, bool stop_at_links)
{
    size_t len = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else {
            if (len + 1 + n + 1 > size)
                return false;
            out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            out[len] = '\0';
            if (stop_at_links && has_dotdot(end) && names_far_link(out)) {
                if (len + strlen(end) + 1 > size)
                    return false;
                strcpy(out + len, end);
                return true;
            }
        }
        p = end;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return true;
}

bool linux_path_normalize(const char *path, char *out, size_t size)
{
    return normalize(path, out, size, false);
}

/* If path is prefix or prefix/..., *rest points after prefix (at "" or "/..."). */
static bool path_under(const char *path, const char *prefix, const char **rest)
{
    size_t len = strlen(prefix);
    if (strncmp(path, prefix, len) != 0 || (path[len] != '\0' && path[len] != '/'))
        return false;
    *rest = path + len;
    return true;
}

/* The next component of a "/a/b" tail: copies it to name, returns the tail after it. */
static const char *next_component(const char *rest, char *name, size_t size)
{
    while (*rest == '/')
        rest++;
    const char *end = strchrnul(rest, '/');
    size_t n = MIN((size_t)(end - rest), size - 1);
    memcpy(name, rest, n);
    name[n] = '\0';
    return end;
}

/* /dev/fd, /dev/stdin..., and a process's cwd, root, exe and fd/N (its
 * tasks' too) are links that lead elsewhere: "/proc/self/cwd/.." is the
 * parent of the cwd, not /proc/self. */
static bool names_far_link(const char *canonical)
{
    static const char *const dev_links[] = {"/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (size_t i = 0; i < G_N_ELEMENTS(dev_links); i++) {
        if (strcmp(canonical, dev_links[i]) == 0)
            return true;
    }
    const char *rest;
    char name[256];
    if (!path_under(canonical, "/proc", &rest))
        return false;
    rest = next_component(rest, name, sizeof(name)); /* self, thread-self, a pid */
    if (!*name || !*rest)
        return false;
    rest = next_component(rest, name, sizeof(name));
    if (strcmp(name, "task") == 0) {
        rest = next_component(rest, name, sizeof(name)); /* a tid */
        if (!*name || !*rest)
            return false;
        rest = next_component(rest, name, sizeof(name));
    }
    if (strcmp(name, "fd") == 0) {
        rest = next_component(rest, name, sizeof(name));
        return *name && !*rest;
    }
    return !*rest &&
           (strcmp(name, "cwd") == 0 || strcmp(name, "root") == 0 || strcmp(name, "exe") == 0);
}

static bool parse_number(const char *text, long *value)
{
    if (!g_ascii_isdigit(text[0]) || (text[0] == '0' && text[1]))
        return false;
    char *end;
    errno = 0;
    *value = strtol(text, &end, 10);
    return errno == 0 && *end == '\0' && *value <= INT32_MAX;
}

/* The text of the host magic link /proc/self/fd/N: the path the host kernel
 * knows for one of the monitor's fds. */
long linux_host_fd_path(int host_fd, char *out, size_t size)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", host_fd);
    ssize_t len = readlink(link, out, size - 1);
    if (len < 0)
        return linux_host_error();
    out[len] = '\0';
    return len;
}

/* ---- whose /proc entry ------------------------------------------------------- */

/* A pid or tid that names the program: its own pid, or the monitor process
 * (or one of its threads), which the host's /proc knows it as. */
static bool own_pid(long pid)
{
    if (pid == linux_pid() || pid == (long)getpid())
        return true;
    char task[64];
    snprintf(task, sizeof(task), "/proc/self/task/%ld", pid);
    return access(task, F_OK) == 0;
}

enum entry_type {
    ENTRY_FILE, /* generated text */
    ENTRY_DIR,  /* fd, fdinfo, task */
    ENTRY_LINK, /* exe, cwd, root */
    ENTRY_HOST, /* the host's, read through the monitor's own (same namespaces) */
    ENTRY_MEM,  /* the program's memory: refused */
};

struct proc_entry {
    const char *name;
    enum entry_type type;
};

/* What a process directory holds. Anything not listed is absent (ENOENT):
 * a new entry is never the monitor's by accident. */
static const struct proc_entry process_entries[] = {
    {"auxv", ENTRY_FILE},
    {"cgroup", ENTRY_HOST},
    {"cmdline", ENTRY_FILE},
    {"comm", ENTRY_FILE},
    {"coredump_filter", ENTRY_HOST},
    {"cwd", ENTRY_LINK},
    {"environ", ENTRY_FILE},
    {"exe", ENTRY_LINK},
    {"fd", ENTRY_DIR},
    {"fdinfo", ENTRY_DIR},
    {"gid_map", ENTRY_HOST},
    {"io", ENTRY_HOST},
    {"limits", ENTRY_FILE},
    {"loginuid", ENTRY_HOST},
    {"maps", ENTRY_FILE},
    {"mem", ENTRY_MEM},
    {"mountinfo", ENTRY_HOST},
    {"mounts", ENTRY_HOST},
    {"mountstats", ENTRY_HOST},
    {"net", ENTRY_HOST},
    {"ns", ENTRY_HOST},
    {"oom_adj", ENTRY_HOST},
    {"oom_score", ENTRY_HOST},
    {"oom_score_adj", ENTRY_HOST},
    {"root", ENTRY_LINK},
    {"sessionid", ENTRY_HOST},
    {"setgroups", ENTRY_HOST},
    {"smaps", ENTRY_FILE},
    {"smaps_rollup", ENTRY_FILE},
    {"stat", ENTRY_FILE},
    {"statm", ENTRY_FILE},
    {"status", ENTRY_FILE},
    {"task", ENTRY_DIR},
    {"uid_map", ENTRY_HOST},
};

static const struct proc_entry *find_entry(const char *name, bool in_task)
{
    if (in_task && strcmp(name, "task") == 0)
        return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(process_entries); i++) {
        if (strcmp(process_entries[i].name, name) == 0)
            return &process_entries[i];
    }
    return NULL;
}

static void set_virtual(struct linux_path *out, enum linux_path_kind kind, const char *path)
{
    out->kind = kind;
    out->dirfd = AT_FDCWD;
    out->trusted = false;
    out->resolve = 0;
    out->link_mode = 0;
    g_strlcpy(out->path, path, sizeof(out->path));
}

/* The permission bits Linux gives the link fd/N: read and search for an fd
 * open for reading, write and search for one open for writing. */
static uint32_t fd_link_mode(int host_fd)
{
    int flags = fcntl(host_fd, F_GETFL);
    if (flags < 0 || (flags & O_PATH))
        return S_IRUSR | S_IXUSR;
    int mode = flags & O_ACCMODE;
    return (mode != O_WRONLY ? S_IRUSR | S_IXUSR : 0) | (mode != O_RDONLY ? S_IWUSR | S_IXUSR : 0);
}

static void set_host(struct linux_path *out, int dirfd, const char *path, bool trusted)
{
    out->kind = LINUX_PATH_HOST;
    out->dirfd = dirfd;
    out->trusted = trusted;
    out->resolve = 0;
    out->link_mode = 0;
    g_strlcpy(out->path, path, sizeof(out->path));
}

static long classify(struct linux_process *process, const char *path, bool follow,
                     struct linux_path *out, int depth);
static long resolve_in_root(struct linux_process *process, int host_dirfd, const char *path,
                            bool follow, struct linux_path *out);

/* Where a link of the program's process leads, with `rest` appended. */
static long follow_link(struct linux_process *process, const char *name, long fd, const char *rest,
                        struct linux_path *out, int depth)
{
    char joined[LINUX_PATH_MAX + 64];
    if (strcmp(name, "exe") == 0) {
        if (*rest)
            return -ENOTDIR;
        set_host(out, AT_FDCWD, process->exe_path, false);
        return 0;
    }
    if (strcmp(name, "root") == 0) {
        snprintf(joined, sizeof(joined), "/%s", rest);
        return classify(process, joined, true, out, depth + 1);
    }
    if (strcmp(name, "cwd") == 0) {
        char cwd[LINUX_PATH_MAX];
        /* Under --root, ".." after it climbs to the root, not above. */
        if (linux_fs_cwd_virtual(linux_fs(process), cwd, sizeof(cwd)) ||
            (process->root_fd >= 0 && *rest && linux_cwd_path(process, cwd, sizeof(cwd)) >= 0)) {
            snprintf(joined, sizeof(joined), "%s/%s", cwd, rest);
            return classify(process, joined, true, out, depth + 1);
        }
        set_host(out, linux_fs(process)->cwd_fd, *rest ? rest + 1 : ".", false);
        return 0;
    }
    /* fd/N */
    const struct linux_fd *entry = &process->fds[fd];
    if (entry->proc) {
        snprintf(joined, sizeof(joined), "%s%s", entry->proc->path, rest);
        return classify(process, joined, true, out, depth + 1);
    }
    if (*rest) {
        if (entry->on_proc) {
            char base[LINUX_PATH_MAX];
            if (linux_host_fd_path(linux_fd_entry_host(entry), base, sizeof(base)) < 0)
                return -ENOENT;
            snprintf(joined, sizeof(joined), "%s%s", base, rest);
            return classify(process, joined, true, out, depth + 1);
        }
        if (process->root_fd >= 0)
            return resolve_in_root(process, linux_fd_entry_host(entry), rest + 1, true, out);
        set_host(out, linux_fd_entry_host(entry), rest + 1, false);
        return 0;
    }
    /* The monitor's own magic link to the file the program's fd names: the
     * one host path crossed on purpose. */
    snprintf(joined, sizeof(joined), "/proc/self/fd/%d", linux_fd_entry_host(entry));
    set_host(out, AT_FDCWD, joined, true);
    return 0;
}

/* What a task directory shows of its thread, copied while the thread is
 * still listed (threads_lock: it cannot end and be freed meanwhile) and its
 * name under misc_lock (another thread may be setting it: prctl, a comm
 * write). */
struct thread_view {
    int tid;
    int tgid, ppid; /* its process's (a process sharing memory has its own) */
    char comm[16];
    uint64_t signal_mask;
    char state; /* 'R', or 'S' for another thread inside a call (waiting, as a rule) */
};

/* The calling thread's tid (for /proc/thread-self), the main thread's
 * outside a syscall. */
static int caller_tid(struct linux_process *process)
{
    const struct linux_thread *caller = linux_signal_current_thread();
    return caller && caller->process == process ? caller->tid : process->main_thread->tid;
}

/* The calling thread's pid (for /proc/self): a process sharing the
 * program's memory has its own. */
static int caller_pid(struct linux_process *process)
{
    const struct linux_thread *caller = linux_signal_current_thread();
    return caller && caller->process == process ? linux_thread_tgid(caller) : linux_pid();
}

/* The pid of /proc/PID/..., 0 if none. */
static int pid_of_path(const char *path)
{
    char name[32];
    long pid;
    if (strncmp(path, "/proc/", 6) != 0)
        return 0;
    next_component(path + 6, name, sizeof(name));
    return parse_number(name, &pid) ? (int)pid : 0;
}

/* The tid a path under task/TID/ names, 0 for the process's own files. */
static int tid_of_path(const char *path)
{
    const char *task = strstr(path, "/task/");
    long tid;
    char name[32];
    if (!task)
        return 0;
    next_component(task + 5, name, sizeof(name));
    return parse_number(name, &tid) ? (int)tid : 0;
}

/* The thread a generated file describes (task/TID's, else the main
 * thread), or the main thread's when that thread has gone. */
static void view_thread(struct linux_process *process, const char *path, struct thread_view *view)
{
    int tid = tid_of_path(path), pid = pid_of_path(path);
    g_mutex_lock(&process->threads_lock);
    const struct linux_thread *thread = tid ? linux_thread_find_locked(process, tid) : NULL;
    /* A process sharing memory: its directory is its one thread's. */
    if (!thread && pid && pid != linux_pid())
        thread = linux_thread_find_locked(process, pid);
    if (!thread)
        thread = process->main_thread;
    view->tid = thread->tid;
    view->tgid = linux_thread_tgid(thread);
    view->ppid = linux_thread_ppid(thread);
    view->signal_mask = __atomic_load_n(&thread->signal_mask, __ATOMIC_ACQUIRE);
    bool caller = thread == linux_signal_current_thread();
    view->state = !caller && __atomic_load_n(&thread->in_syscall, __ATOMIC_RELAXED) ? 'S' : 'R';
    g_mutex_lock(&process->misc_lock);
    memcpy(view->comm, thread->comm, sizeof(view->comm));
    g_mutex_unlock(&process->misc_lock);
    g_mutex_unlock(&process->threads_lock);
    view->comm[sizeof(view->comm) - 1] = '\0';
}

/* The live threads' tids of process tgid (the program, or a process
 * sharing its memory), in creation order (threads_lock held briefly). */
static GArray *thread_ids(struct linux_process *process, int tgid)
{
    GArray *tids = g_array_new(FALSE, FALSE, sizeof(int));
    g_mutex_lock(&process->threads_lock);
    for (guint i = 0; process->threads && i < process->threads->len; i++) {
        const struct linux_thread *thread = g_ptr_array_index(process->threads, i);
        if (linux_thread_tgid(thread) == tgid)
            g_array_append_val(tids, thread->tid);
    }
    g_mutex_unlock(&process->threads_lock);
    int leader = tgid == linux_pid() ? process->main_thread->tid : tgid;
    if (tids->len == 0)
        g_array_append_val(tids, leader);
    return tids;
}

/* The process a /proc/PID path is about: a process sharing memory's own
 * pid, else the program's. */
static int tgid_of_path(struct linux_process *process, const char *path)
{
    int pid = pid_of_path(path);
    return pid && linux_vm_child_thread(process, pid) ? pid : linux_pid();
}

static bool is_thread_id(struct linux_process *process, int tgid, long tid)
{
    GArray *tids = thread_ids(process, tgid);
    bool found = false;
    for (guint i = 0; i < tids->len && !found; i++)
        found = g_array_index(tids, int, i) == tid;
    g_array_free(tids, TRUE);
    return found;
}

/* A path inside the program's process directory; prefix is "/proc/1" or
 * "/proc/1/task/1", rest what follows it. */
static long process_view(struct linux_process *process, const char *prefix, const char *rest,
                         bool in_task, bool follow, struct linux_path *out, int depth)
{
    char name[256], path[LINUX_PATH_MAX + 64];
    rest = next_component(rest, name, sizeof(name));
    if (!name[0]) {
        set_virtual(out, LINUX_PATH_PROC_DIR, prefix);
        return 0;
    }
    const struct proc_entry *entry = find_entry(name, in_task);
    if (!entry)
        return -ENOENT;
    snprintf(path, sizeof(path), "%s/%s", prefix, name);
    switch (entry->type) {
    case ENTRY_FILE:
    case ENTRY_MEM:
        if (*rest && rest[strspn(rest, "/")])
            return -ENOTDIR;
        set_virtual(out, entry->type == ENTRY_MEM ? LINUX_PATH_PROC_MEM : LINUX_PATH_PROC_FILE,
                    path);
        return 0;
    case ENTRY_HOST: {
        char host[LINUX_PATH_MAX + 64];
        snprintf(host, sizeof(host), "/proc/self/%s%s", name, rest);
        /* ns/NAME are magic links to namespaces, which are the monitor's
         * (the program runs in the host's): followed on purpose (stat -L,
         * lsns, setns's open), as nothing of the monitor's is behind them. */
        set_host(out, AT_FDCWD, host, strcmp(name, "ns") == 0 && *rest);
        return 0;
    }
    case ENTRY_LINK:
        if (*rest || follow)
            return follow_link(process, name, -1, rest, out, depth);
        set_virtual(out, LINUX_PATH_PROC_LINK, path);
        return 0;
    case ENTRY_DIR:
        break;
    }
    char item[256];
    const char *after = next_component(rest, item, sizeof(item));
    if (!item[0]) {
        set_virtual(out, LINUX_PATH_PROC_DIR, path);
        return 0;
    }
    long number;
    if (!parse_number(item, &number))
        return -ENOENT;
    if (strcmp(name, "task") == 0) {
        if (!is_thread_id(process, tgid_of_path(process, prefix), number))
            return -ENOENT;
        snprintf(path, sizeof(path), "%s/task/%ld", prefix, number);
        return process_view(process, path, after, true, follow, out, depth);
    }
    if (number >= LINUX_MAX_FDS || linux_fd_entry_host(&process->fds[number]) < 0)
        return -ENOENT;
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%ld", number);
    if (strcmp(name, "fdinfo") == 0) {
        if (*after && after[strspn(after, "/")])
            return -ENOTDIR;
        set_virtual(out, LINUX_PATH_PROC_FILE, path);
        return 0;
    }
    if (*after && !after[strspn(after, "/")])
        after = ""; /* "fd/3/" is fd/3 followed */
    if (*after || follow)
        return follow_link(process, "fd", number, after, out, depth);
    set_virtual(out, LINUX_PATH_PROC_LINK, path);
    out->link_mode = fd_link_mode(linux_fd_entry_host(&process->fds[number]));
    return 0;
}

/* Another process's /proc entries are the host's, except its memory: a
 * sibling monitor's /proc/PID/mem is refused. */
static bool names_memory(const char *rest)
{
    char name[256];
    rest = next_component(rest, name, sizeof(name));
    if (strcmp(name, "mem") == 0)
        return true;
    if (strcmp(name, "task") != 0)
        return false;
    rest = next_component(rest, name, sizeof(name));
    next_component(rest, name, sizeof(name));
    return strcmp(name, "mem") == 0;
}

/* Whether the rest of a /proc/PID path is a namespace link, ns/NAME or
 * task/TID/ns/NAME: it leads to a namespace, never to a file, so following
 * it is harmless for any process's (lsns stats every one). */
static bool names_namespace(const char *rest)
{
    char name[256];
    rest = next_component(rest, name, sizeof(name));
    if (strcmp(name, "task") == 0) {
        rest = next_component(rest, name, sizeof(name));
        rest = next_component(rest, name, sizeof(name));
    }
    if (strcmp(name, "ns") != 0)
        return false;
    rest = next_component(rest, name, sizeof(name));
    return name[0] != '\0';
}

/* Whether host process pid is a monitor like this one (its executable is
 * hermitux-run's): true too when that cannot be told. */
static bool runs_in_monitor(long pid)
{
    /* hermitux-run's own file, looked up once (fuser asks for every fd of
     * every process). */
    static struct stat own;
    static gsize own_known;
    if (g_once_init_enter(&own_known)) {
        gsize known = stat("/proc/self/exe", &own) == 0 ? 1 : 2;
        g_once_init_leave(&own_known, known);
    }
    struct stat theirs;
    char exe[64];
    snprintf(exe, sizeof(exe), "/proc/%ld/exe", pid);
    if (own_known != 1 || stat(exe, &theirs) != 0)
        return true;
    return own.st_dev == theirs.st_dev && own.st_ino == theirs.st_ino;
}

/* ---- another process's /proc, from its monitor (peer.c) ---------------------- */

/* Set on the peer server's thread: it answers from its own state only and
 * never asks another monitor (two servers asking each other would each wait
 * for the other). */
static _Thread_local bool serving_peer;

static void anchor_keep(int fd);

/* The pid of a virtual path that another monitor's program owns (a lookup
 * there gave it), 0 for the program's own. */
static int remote_pid(const char *path)
{
    int pid = pid_of_path(path);
    return pid && !own_pid(pid) ? pid : 0;
}

static bool is_virtual_kind(uint32_t kind)
{
    return kind == LINUX_PATH_PROC_FILE || kind == LINUX_PATH_PROC_DIR ||
           kind == LINUX_PATH_PROC_LINK || kind == LINUX_PATH_PROC_MEM;
}

/* One request to pid's monitor: 0 with *reply and *fd (or -1),
 * LINUX_PEER_ABSENT if nobody answers (or this is the server's own thread,
 * which asks nobody), -ENAMETOOLONG for a path a request cannot hold. */
static long ask_peer(int pid, enum linux_peer_op op, const char *path, bool follow,
                     struct linux_peer_reply *reply, int *fd)
{
    *fd = -1;
    if (serving_peer)
        return LINUX_PEER_ABSENT;
    struct linux_peer_request request = {.op = op, .follow = follow};
    if (g_strlcpy(request.path, path, sizeof(request.path)) >= sizeof(request.path))
        return -ENAMETOOLONG;
    return linux_peer_call(pid, &request, reply, fd);
}

/* A LOOKUP's reply taken only as what it may be: a virtual path of that
 * pid's, a host path the program may look up anyway, an fd its monitor
 * sent (kept until the call ends). Consumes fd. */
static long take_lookup(int pid, const struct linux_peer_reply *reply, int fd,
                        struct linux_path *out)
{
    if (reply->result < 0) {
        if (fd >= 0)
            close(fd);
        return reply->result;
    }
    if (is_virtual_kind(reply->kind) && pid_of_path(reply->text) == pid && fd < 0) {
        set_virtual(out, (enum linux_path_kind)reply->kind, reply->text);
        out->link_mode = reply->link_mode & 0777;
        return 0;
    }
    if (reply->kind == LINUX_PATH_HOST && reply->fd_role == LINUX_PEER_FD_NONE && fd < 0 &&
        reply->text[0] == '/') {
        set_host(out, AT_FDCWD, reply->text, false);
        return 0;
    }
    if (reply->kind != LINUX_PATH_HOST || fd < 0) {
        if (fd >= 0)
            close(fd);
        return -EIO;
    }
    anchor_keep(fd);
    if (reply->fd_role == LINUX_PEER_FD_DIR) {
        set_host(out, fd, reply->text, false);
        out->resolve = reply->resolve & RESOLVE_IN_ROOT;
        return 0;
    }
    /* The file itself, opened by its monitor: reached through this
     * monitor's own magic link, as the program's own fds are. */
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    set_host(out, AT_FDCWD, link, true);
    return reply->fd_role == LINUX_PEER_FD_TARGET ? 0 : -EIO;
}

/* What pid's monitor finds for /proc/PID`rest`; LINUX_PEER_ABSENT if
 * nobody answers for it. */
static long remote_lookup(int pid, const char *rest, bool follow, struct linux_path *out)
{
    struct linux_peer_reply *reply = g_new0(struct linux_peer_reply, 1);
    int fd;
    long result = ask_peer(pid, LINUX_PEER_LOOKUP, rest, follow, reply, &fd);
    if (result == 0)
        result = take_lookup(pid, reply, fd, out);
    g_free(reply);
    return result;
}

/* The content of another program's generated file: a host fd, or -errno. */
static long remote_open(int pid, const char *path)
{
    struct linux_peer_reply *reply = g_new0(struct linux_peer_reply, 1);
    int fd;
    long result = ask_peer(pid, LINUX_PEER_OPEN, path, false, reply, &fd);
    /* Gone since it was looked up, as a process that ended. */
    result = result == LINUX_PEER_ABSENT ? -ESRCH
             : result < 0                ? result
             : reply->result < 0         ? reply->result
                                         : fd;
    if (result < 0 && fd >= 0)
        close(fd);
    g_free(reply);
    return result >= 0 && fd < 0 ? -EIO : result;
}

/* A host fd's whole content (reading stops past 4 MiB). */
static GString *read_whole(int fd)
{
    GString *text = g_string_new(NULL);
    char buffer[4096];
    ssize_t n;
    off_t at = 0;
    while ((n = pread(fd, buffer, sizeof(buffer), at)) > 0 && text->len < 4 * 1024 * 1024) {
        g_string_append_len(text, buffer, n);
        at += n;
    }
    return text;
}

/* A canonical path under /proc. */
static long proc_lookup(struct linux_process *process, const char *path, const char *rest,
                        bool follow, struct linux_path *out, int depth)
{
    char name[256], prefix[64];
    const char *after = next_component(rest, name, sizeof(name));
    long pid;
    bool self = strcmp(name, "self") == 0, thread_self = strcmp(name, "thread-self") == 0;
    if ((self || thread_self) && !*after && !follow) {
        set_virtual(out, LINUX_PATH_PROC_LINK, path);
        return 0;
    }
    if (self || thread_self || (parse_number(name, &pid) && own_pid(pid))) {
        /* The caller's own process, or the one named when it shares the
         * program's memory; any other of the monitor's ids is the program. */
        int tgid = self || thread_self                                ? caller_pid(process)
                   : linux_vm_child_thread(process, (int)pid) != NULL ? (int)pid
                                                                      : linux_pid();
        snprintf(prefix, sizeof(prefix), "/proc/%d", tgid);
        if (!thread_self)
            return process_view(process, prefix, after, false, follow, out, depth);
        snprintf(prefix, sizeof(prefix), "/proc/%d/task/%d", tgid, caller_tid(process));
        return process_view(process, prefix, after, true, follow, out, depth);
    }
    /* Another process, which its own monitor describes when it is one. */
    if (parse_number(name, &pid) && pid > 0 && pid <= INT32_MAX) {
        long asked = remote_lookup((int)pid, after, follow, out);
        if (asked != LINUX_PEER_ABSENT)
            return asked;
    }
    if (parse_number(name, &pid) && names_memory(after))
        return -EACCES;
    if (strcmp(name, "meminfo") == 0 && !*after) {
        set_virtual(out, LINUX_PATH_PROC_FILE, "/proc/meminfo");
        return 0;
    }
    if (strcmp(name, "cpuinfo") == 0 && !*after && process->config.host.cpuid) {
        set_virtual(out, LINUX_PATH_PROC_FILE, "/proc/cpuinfo");
        return 0;
    }
    /* Another process's magic links (fd/N, cwd, exe, root) lead where the
     * host's do, as natively (fuser, lsof, stat of /proc/PID/fd/0): the
     * host checks the program may (its uid's processes). Not under --root,
     * whose files the links would leave; nor for a process of the program's
     * own run by hermitux-run (a fork child), whose fds, directory and
     * executable are its monitor's own state, not what the host shows. */
    bool other = parse_number(name, &pid) && process->root_fd < 0 && !runs_in_monitor(pid);
    set_host(out, AT_FDCWD, path, other || (parse_number(name, &pid) && names_namespace(after)));
    return 0;
}

/* Under --root, the character devices every program expects and that hold
 * nothing of the host's are the host's own, as a container provides them. */
static bool root_shared_device(const char *canonical)
{
    static const char *const devices[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                          "/dev/random", "/dev/urandom", "/dev/tty"};
    for (size_t i = 0; i < G_N_ELEMENTS(devices); i++) {
        if (strcmp(canonical, devices[i]) == 0)
            return true;
    }
    return false;
}

/* Whether a path ends in "/" or "/.": Linux then follows the last link and
 * wants a directory there (normalize drops both). */
static bool wants_directory(const char *path)
{
    size_t n = strlen(path);
    return n && (path[n - 1] == '/' || (path[n - 1] == '.' && (n == 1 || path[n - 2] == '/')));
}

/* A /proc lookup whose path ended in "/" or "/.": the link followed, and
 * what it leads to must be a directory. */
static long proc_lookup_directory(struct linux_process *process, const char *canonical,
                                  const char *rest, struct linux_path *out, int depth)
{
    long error = proc_lookup(process, canonical, rest, true, out, depth);
    if (error)
        return error;
    if (out->kind == LINUX_PATH_PROC_FILE || out->kind == LINUX_PATH_PROC_MEM)
        return -ENOTDIR;
    size_t len = strlen(out->path);
    if (out->kind == LINUX_PATH_HOST && len && out->path[len - 1] != '/') {
        if (len + 1 >= sizeof(out->path))
            return -ENAMETOOLONG;
        out->path[len] = '/';
        out->path[len + 1] = '\0';
    }
    return 0;
}

/* An absolute guest path. */
static long classify(struct linux_process *process, const char *path, bool follow,
                     struct linux_path *out, int depth)
{
    if (depth > PROC_MAX_DEPTH)
        return -ELOOP;
    char canonical[LINUX_PATH_MAX + 64];
    if (!normalize(path, canonical, sizeof(canonical), true))
        return -ENAMETOOLONG;
    const char *rest;
    const char *slash = wants_directory(path) ? "/" : "";
    char mapped[LINUX_PATH_MAX + 80];
    static const char *const standard[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (int fd = 0; fd < 3; fd++) {
        if (path_under(canonical, standard[fd], &rest) && (*rest || *slash || follow)) {
            snprintf(mapped, sizeof(mapped), "/proc/self/fd/%d%s%s", fd, rest, slash);
            return classify(process, mapped, follow, out, depth + 1);
        }
    }
    if (path_under(canonical, "/dev/fd", &rest) && (*rest || follow)) {
        snprintf(mapped, sizeof(mapped), "/proc/self/fd%s%s", rest, slash);
        return classify(process, mapped, follow, out, depth + 1);
    }
    if (path_under(canonical, "/proc", &rest) && *slash)
        return proc_lookup_directory(process, canonical, rest, out, depth);
    if (path_under(canonical, "/proc", &rest))
        return proc_lookup(process, canonical, rest, follow, out, depth);
    /* Not /proc: the host resolves the path as given (symlinks then ".."),
     * inside the root with --root, but for the host's harmless devices. */
    set_host(out, AT_FDCWD, path, false);
    if (process->root_fd >= 0 && !root_shared_device(canonical)) {
        out->dirfd = process->root_fd;
        out->resolve = RESOLVE_IN_ROOT;
    }
    return 0;
}

/* The directory a relative path starts from: its host fd, and its guest
 * path when lookups under it are decided here (a virtual directory). */
static long base_of(struct linux_process *process, int64_t dirfd, int *host_dirfd,
                    const char **virtual_path, char virtual_cwd[LINUX_PATH_MAX], bool *on_proc)
{
    if (dirfd == LINUX_AT_FDCWD) {
        *virtual_path = linux_fs_cwd_virtual(linux_fs(process), virtual_cwd, LINUX_PATH_MAX)
                            ? virtual_cwd
                            : NULL;
        *on_proc = linux_fs(process)->cwd_on_proc;
        *host_dirfd = linux_fs(process)->cwd_fd;
        return 0;
    }
    int host_fd = linux_fd_host(process, (uint64_t)dirfd);
    if (host_fd < 0)
        return -EBADF;
    const struct linux_fd *entry = &process->fds[(uint32_t)dirfd];
    *virtual_path = entry->proc ? entry->proc->path : NULL;
    *on_proc = entry->on_proc;
    *host_dirfd = host_fd;
    return 0;
}

/* --root: a relative path is decided on the guest path of its base joined
 * with it, so ".." climbs to the root and no further, and symlinks resolve
 * inside it. A base outside the root (an fd the program was started with)
 * confines the path below that directory instead. */
static long resolve_in_root(struct linux_process *process, int host_dirfd, const char *path,
                            bool follow, struct linux_path *out)
{
    char base[LINUX_PATH_MAX + 64], joined[2 * LINUX_PATH_MAX + 80];
    if (linux_host_fd_path(host_dirfd, base, sizeof(base)) < 0 || base[0] != '/' ||
        !linux_root_strip(process, base)) {
        set_host(out, host_dirfd, path, false);
        out->resolve = RESOLVE_IN_ROOT;
        return 0;
    }
    snprintf(joined, sizeof(joined), "%s/%s", base, path);
    return classify(process, joined, follow, out, 0);
}

long linux_path_resolve(struct linux_process *process, int64_t dirfd, const char *path, bool follow,
                        struct linux_path *out)
{
    if (path[0] == '/')
        return classify(process, path, follow, out, 0);
    int host_dirfd;
    const char *virtual_path;
    char virtual_cwd[LINUX_PATH_MAX];
    bool on_proc;
    long error = base_of(process, dirfd, &host_dirfd, &virtual_path, virtual_cwd, &on_proc);
    if (error)
        return error;
    char base[LINUX_PATH_MAX + 64], joined[2 * LINUX_PATH_MAX + 80];
    if (virtual_path) {
        snprintf(joined, sizeof(joined), "%s/%s", virtual_path, path);
        return classify(process, joined, follow, out, 0);
    }
    if (process->root_fd >= 0)
        return resolve_in_root(process, host_dirfd, path, follow, out);
    /* Under a procfs directory, or climbing out of one's directory with
     * "..", a relative path may reach /proc: decided on the joined path. */
    if (!on_proc && !has_dotdot(path)) {
        set_host(out, host_dirfd, path, false);
        return 0;
    }
    if (linux_host_fd_path(host_dirfd, base, sizeof(base)) < 0 || base[0] != '/') {
        if (on_proc)
            return -ENOENT;
        set_host(out, host_dirfd, path, false);
        return 0;
    }
    snprintf(joined, sizeof(joined), "%s/%s", base, path);
    error = classify(process, joined, follow, out, 0);
    /* Outside /proc the host follows the real directory, not the text. */
    if (!error && out->kind == LINUX_PATH_HOST && out->dirfd == AT_FDCWD &&
        strcmp(out->path, joined) == 0)
        set_host(out, host_dirfd, path, false);
    return error;
}

long linux_path_of_fd(struct linux_process *process, int64_t dirfd, struct linux_path *out)
{
    if (dirfd == LINUX_AT_FDCWD) {
        char virtual_cwd[LINUX_PATH_MAX];
        if (linux_fs_cwd_virtual(linux_fs(process), virtual_cwd, sizeof(virtual_cwd)))
            set_virtual(out, LINUX_PATH_PROC_DIR, virtual_cwd);
        else
            set_host(out, linux_fs(process)->cwd_fd, "", false);
        return 0;
    }
    int host_fd = linux_fd_host(process, (uint64_t)dirfd);
    if (host_fd < 0)
        return -EBADF;
    const struct linux_proc_fd *proc = process->fds[(uint32_t)dirfd].proc;
    if (proc)
        set_virtual(out, proc->dir ? LINUX_PATH_PROC_DIR : LINUX_PATH_PROC_FILE, proc->path);
    else
        set_host(out, host_fd, "", false);
    return 0;
}

/* ---- generated files ------------------------------------------------------- */

/* Reads the guest range [start, end) into text (nothing if it is unreadable). */
static void append_guest_range(struct linux_process *process, GString *text, uint64_t start,
                               uint64_t end)
{
    if (end <= start || end - start > (64ULL << 20))
        return;
    size_t len = (size_t)(end - start);
    char *buffer = g_malloc(len);
    if (guest_read(process->memory, start, buffer, len, GUEST_ACCESS_USER_READ) == 0)
        g_string_append_len(text, buffer, (gssize)len);
    g_free(buffer);
}

static bool is_user_region(const struct guest_region *region)
{
    return (region->kind == GUEST_REGION_PROGRAM || region->kind == GUEST_REGION_HEAP ||
            region->kind == GUEST_REGION_MMAP || region->kind == GUEST_REGION_STACK) &&
           (region->prot & GUEST_PROT_USER || region->prot == GUEST_PROT_NONE);
}

/* smaps_rollup's sums over the regions, in kB (see region_usage). */
struct rollup {
    bool any;
    uint64_t start, end; /* from the first region to the last */
    uint64_t rss, anonymous, file, shmem;
};

struct map_walk {
    struct linux_process *process;
    GString *text;
    bool smaps;
    struct rollup *rollup;                 /* smaps_rollup: summed, no line per region */
    uint64_t size, rss, stack, exec, data; /* bytes, for status and statm */
};
static const char *region_name(const struct linux_process *process,
                               const struct guest_region *region)
{
    if (region->kind == GUEST_REGION_HEAP)
        return "[heap]";
    if (region->kind == GUEST_REGION_STACK)
        return "[stack]";
    if (region->kind == GUEST_REGION_PROGRAM) {
        const char *base = strrchr(process->exe_path, '/');
        if (strcmp(region->name, base ? base + 1 : process->exe_path) == 0)
            return process->exe_path;
    }
    return region->name[0] == '/' || region->name[0] == '[' ? region->name : "";
}

/* "dev:ino", the key of process->file_paths. */
static char *file_key(uint64_t dev, uint64_t ino)
{
    return g_strdup_printf("%" PRIx64 ":%" PRIu64, dev, ino);
}

/* A value of process->file_paths: the program's path for the file, and
 * its host path to check it is still there (NULL: the name already says
 * it is not). */
struct mapped_file {
    char *guest, *host;
};

static void mapped_file_free(void *data)
{
    struct mapped_file *file = data;
    g_free(file->guest);
    g_free(file->host);
    g_free(file);
}

/* A file with no path any more, as its fd link reads: a memfd
 * ("/memfd:NAME (deleted)") or a file removed since it was opened. Linux
 * names such mappings the same way. */
static bool path_is_gone(const char *host_path)
{
    static const char deleted[] = " (deleted)";
    size_t len = strlen(host_path), tail = sizeof(deleted) - 1;
    return strncmp(host_path, "/memfd:", 7) == 0 ||
           (len > tail && strcmp(host_path + len - tail, deleted) == 0);
}

void linux_note_mapped_file(struct linux_process *process, int host_fd, const char *host_path)
{
    struct stat st;
    if ((host_fd >= 0 ? fstat(host_fd, &st) : stat(host_path, &st)) != 0)
        return;
    /* Linux names the file itself: symbolic links resolved (resolved is
     * the host's name, path the program's). */
    bool gone = host_fd >= 0 && path_is_gone(host_path);
    char resolved[PATH_MAX], path[PATH_MAX];
    if (!gone && !realpath(host_path, resolved))
        return;
    g_strlcpy(path, gone ? host_path : resolved, sizeof(path));
    if (strncmp(path, "/memfd:", 7) != 0 && !linux_root_strip(process, path))
        return;
    struct mapped_file *file = g_new0(struct mapped_file, 1);
    file->guest = g_strdup(path);
    file->host = gone ? NULL : g_strdup(resolved);
    g_mutex_lock(&process->misc_lock);
    if (!process->file_paths)
        process->file_paths =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, mapped_file_free);
    g_hash_table_replace(process->file_paths, file_key((uint64_t)st.st_dev, (uint64_t)st.st_ino),
                         file);
    g_mutex_unlock(&process->misc_lock);
}

/* The program's path for a mapped file, into out (empty if unknown), with
 * " (deleted)" once no file is at its path any more, as Linux shows it. */
static void mapped_file_path(struct linux_process *process, uint64_t dev, uint64_t ino, char *out,
                             size_t size)
{
    char *key = file_key(dev, ino);
    g_mutex_lock(&process->misc_lock);
    const struct mapped_file *file =
        process->file_paths ? g_hash_table_lookup(process->file_paths, key) : NULL;
    g_strlcpy(out, file ? file->guest : "", size);
    char *host = file ? g_strdup(file->host) : NULL;
    g_mutex_unlock(&process->misc_lock);
    struct stat st;
    if (host && (stat(host, &st) != 0 || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino))
        g_strlcat(out, " (deleted)", size);
    g_free(host);
    g_free(key);
}

/* What smaps counts of a region, in kB. The guest's RAM is never paged
 * out: every page of an accessible mapping is resident, private and dirty.
 * A private mapping's written pages are anonymous memory on Linux (copies
 * of the file's), and a debugger's gcore dumps the mappings that have any:
 * every page of a writable private one is counted so. */
struct region_usage {
    uint64_t size, rss, anonymous;
};

static struct region_usage region_usage(const struct guest_region *region, bool file_backed,
                                        bool shared)
{
    struct region_usage usage = {.size = (region->end - region->start) >> 10};
    usage.rss = region->prot == GUEST_PROT_NONE ? 0 : usage.size;
    usage.anonymous = shared || (file_backed && !(region->prot & GUEST_PROT_WRITE)) ? 0 : usage.rss;
    return usage;
}

/* The lines smaps and smaps_rollup share, from Shared_Clean to Locked. */
static void append_usage_lines(GString *text, uint64_t rss, uint64_t anonymous)
{
    static const char *const zero[] = {"Shared_Clean:", "Shared_Dirty:", "Private_Clean:"};
    for (size_t i = 0; i < G_N_ELEMENTS(zero); i++)
        g_string_append_printf(text, "%-16s%8d kB\n", zero[i], 0);
    g_string_append_printf(text,
                           "Private_Dirty:  %8" PRIu64 " kB\nReferenced:     %8" PRIu64
                           " kB\nAnonymous:      %8" PRIu64 " kB\n",
                           rss, rss, anonymous);
    static const char *const more[] = {
        "KSM:",           "LazyFree:",       "AnonHugePages:",   "ShmemPmdMapped:",
        "FilePmdMapped:", "Shared_Hugetlb:", "Private_Hugetlb:", "Swap:",
        "SwapPss:",       "Locked:"};
    for (size_t i = 0; i < G_N_ELEMENTS(more); i++)
        g_string_append_printf(text, "%-16s%8d kB\n", more[i], 0);
}

static void append_smaps(GString *text, const struct guest_region *region, bool file_backed,
                         bool shared)
{
    struct region_usage usage = region_usage(region, file_backed, shared);
    g_string_append_printf(text,
                           "Size:           %8" PRIu64 " kB\n"
                           "KernelPageSize:        4 kB\n"
                           "MMUPageSize:           4 kB\n"
                           "Rss:            %8" PRIu64 " kB\n"
                           "Pss:            %8" PRIu64 " kB\n"
                           "Pss_Dirty:      %8" PRIu64 " kB\n",
                           usage.size, usage.rss, usage.rss, usage.rss);
    append_usage_lines(text, usage.rss, usage.anonymous);
    g_string_append_printf(text, "THPeligible:    0\nVmFlags:%s%s%s%s%s%s%s\n",
                           region->prot & GUEST_PROT_READ ? " rd" : "",
                           region->prot & GUEST_PROT_WRITE ? " wr" : "",
                           region->prot & GUEST_PROT_EXEC ? " ex" : "", " mr", " mw", " me",
                           region->kind == GUEST_REGION_STACK ? " gd ac" : " ac");
}

/* A region into smaps_rollup's sums: its anonymous pages are Pss_Anon; the
 * rest are the file's (Pss_File), but for a shared mapping of no named file
 * (MAP_SHARED|MAP_ANONYMOUS, a memfd: the host's shmem), Pss_Shmem. */
static void add_to_rollup(struct rollup *rollup, const struct guest_region *region,
                          bool file_backed, bool shared, bool named)
{
    struct region_usage usage = region_usage(region, file_backed, shared);
    if (!rollup->any)
        rollup->start = region->start;
    rollup->any = true;
    rollup->end = region->end;
    rollup->rss += usage.rss;
    rollup->anonymous += usage.anonymous;
    if (shared && !named)
        rollup->shmem += usage.rss - usage.anonymous;
    else
        rollup->file += usage.rss - usage.anonymous;
}

/* smaps_rollup: the sums of what smaps shows, under a header line spanning
 * the address space, as Linux's show_smaps_rollup prints them. */
static void append_rollup(GString *text, const struct rollup *rollup)
{
    size_t start = text->len;
    g_string_append_printf(text, "%08" PRIx64 "-%08" PRIx64 " ---p 00000000 00:00 0", rollup->start,
                           rollup->end);
    while (text->len - start < 73)
        g_string_append_c(text, ' ');
    g_string_append_printf(text,
                           "[rollup]\n"
                           "Rss:            %8" PRIu64 " kB\n"
                           "Pss:            %8" PRIu64 " kB\n"
                           "Pss_Dirty:      %8" PRIu64 " kB\n"
                           "Pss_Anon:       %8" PRIu64 " kB\n"
                           "Pss_File:       %8" PRIu64 " kB\n"
                           "Pss_Shmem:      %8" PRIu64 " kB\n",
                           rollup->rss, rollup->rss, rollup->rss, rollup->anonymous, rollup->file,
                           rollup->shmem);
    append_usage_lines(text, rollup->rss, rollup->anonymous);
}

static bool visit_region(const struct guest_region *region, void *opaque)
{
    struct map_walk *walk = opaque;
    if (!is_user_region(region))
        return true;
    uint64_t len = region->end - region->start;
    walk->size += len;
    if (region->prot != GUEST_PROT_NONE)
        walk->rss += len;
    if (region->kind == GUEST_REGION_STACK)
        walk->stack += len;
    else if (region->prot & GUEST_PROT_EXEC)
        walk->exec += len;
    else if (region->prot & GUEST_PROT_WRITE)
        walk->data += len;
    if (!walk->text)
        return true;
    uint64_t dev = 0, ino = 0, offset = 0;
    bool shared = false;
    bool file_backed = guest_region_file(region, &dev, &ino, &offset, &shared);
    char path[LINUX_PATH_MAX] = "";
    if (file_backed)
        mapped_file_path(walk->process, dev, ino, path, sizeof(path));
    const char *name = path[0] ? path : region_name(walk->process, region);
    if (walk->rollup) {
        add_to_rollup(walk->rollup, region, file_backed, shared, name[0] == '/');
        return true;
    }
    int start = (int)walk->text->len;
    g_string_append_printf(
        walk->text, "%08" PRIx64 "-%08" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64,
        region->start, region->end, region->prot & GUEST_PROT_READ ? 'r' : '-',
        region->prot & GUEST_PROT_WRITE ? 'w' : '-', region->prot & GUEST_PROT_EXEC ? 'x' : '-',
        shared ? 's' : 'p', offset, major((dev_t)dev), minor((dev_t)dev), ino);
    if (name[0]) {
        /* Linux pads the name to column 73 on 64-bit. */
        while ((int)walk->text->len - start < 73)
            g_string_append_c(walk->text, ' ');
        g_string_append(walk->text, name);
    }
    g_string_append_c(walk->text, '\n');
    if (walk->smaps)
        append_smaps(walk->text, region, file_backed, shared);
    return true;
}

static void measure(struct linux_process *process, struct map_walk *walk)
{
    memset(walk, 0, sizeof(*walk));
    walk->process = process;
    guest_region_foreach(process->memory, visit_region, walk);
}

uint64_t linux_proc_address_space(struct linux_process *process)
{
    struct map_walk walk;
    measure(process, &walk);
    return walk.size;
}

static void generate_maps(struct linux_process *process, GString *text, bool smaps)
{
    struct map_walk walk = {.process = process, .text = text, .smaps = smaps};
    guest_region_foreach(process->memory, visit_region, &walk);
}

static void generate_smaps_rollup(struct linux_process *process, GString *text)
{
    struct rollup rollup = {0};
    struct map_walk walk = {.process = process, .text = text, .rollup = &rollup};
    guest_region_foreach(process->memory, visit_region, &walk);
    append_rollup(text, &rollup);
}

static uint64_t signal_set(const struct linux_process *process, uint64_t handler)
{
    uint64_t set = 0;
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        bool match = handler == 2 ? process->actions[signal].handler > 1
                                  : process->actions[signal].handler == handler;
        if (match)
            set |= 1ULL << (signal - 1);
    }
    return set;
}

/* /proc/self/status: the host's lines for what the program shares with the
 * monitor (ids, capabilities, cpus), the program's own for the rest. */
static void generate_status(struct linux_process *process, const struct thread_view *thread,
                            GString *text)
{
    struct map_walk walk;
    measure(process, &walk);
    char *host = NULL;
    g_file_get_contents("/proc/self/status", &host, NULL, NULL);
    char **lines = g_strsplit(host ? host : "", "\n", -1);
    GArray *tids = thread_ids(process, thread->tgid);
    unsigned threads = tids->len;
    g_array_free(tids, TRUE);
    for (char **line = lines; *line && **line; line++) {
        char *colon = strchr(*line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *key = *line;
#define LINE(name, format, ...)                                                                    \
    if (strcmp(key, name) == 0) {                                                                  \
        g_string_append_printf(text, "%s:\t" format "\n", key, __VA_ARGS__);                       \
        continue;                                                                                  \
    }
#define KB(name, bytes) LINE(name, "%8" PRIu64 " kB", (uint64_t)(bytes) >> 10)
        LINE("Name", "%s", thread->comm);
        LINE("Umask", "%04o", linux_fs(process)->umask);
        LINE("State", "%s", thread->state == 'S' ? "S (sleeping)" : "R (running)");
        LINE("Tgid", "%d", thread->tgid);
        LINE("Ngid", "%d", 0);
        LINE("Pid", "%d", thread->tid);
        LINE("PPid", "%d", thread->ppid);
        LINE("TracerPid", "%d", 0);
        LINE("FDSize", "%d", atomic_load(&process->fd_table_size));
        LINE("NStgid", "%d", thread->tgid);
        LINE("NSpid", "%d", thread->tid);
        LINE("NSpgid", "%d", (int)getpgrp());
        LINE("NSsid", "%d", (int)getsid(0));
        KB("VmPeak", walk.size);
        KB("VmSize", walk.size);
        KB("VmLck", 0);
        KB("VmPin", 0);
        KB("VmHWM", walk.rss);
        KB("VmRSS", walk.rss);
        KB("RssAnon", walk.rss);
        KB("RssFile", 0);
        KB("RssShmem", 0);
        KB("VmData", walk.data);
        KB("VmStk", walk.stack);
        KB("VmExe", walk.exec);
        KB("VmLib", 0);
        KB("VmPTE", 0);
        KB("VmSwap", 0);
        LINE("Threads", "%u", threads);
        LINE("SigPnd", "%016" PRIx64, (uint64_t)0);
        LINE("ShdPnd", "%016" PRIx64, (uint64_t)0);
        LINE("SigBlk", "%016" PRIx64, thread->signal_mask);
        LINE("SigIgn", "%016" PRIx64, signal_set(process, 1));
        LINE("SigCgt", "%016" PRIx64, signal_set(process, 2));
        LINE("NoNewPrivs", "%d", process->no_new_privs);
        LINE("Seccomp", "%d", 0);
        LINE("Seccomp_filters", "%d", 0);
        LINE("voluntary_ctxt_switches", "%d", 0);
        LINE("nonvoluntary_ctxt_switches", "%d", 0);
#undef KB
#undef LINE
        g_string_append_printf(text, "%s:%s\n", key, colon + 1);
    }
    g_strfreev(lines);
    g_free(host);
}

/* Fields 14.. of the host's /proc/self/stat (after the comm), for times. */
static char **host_stat_fields(void)
{
    char *host = NULL;
    g_file_get_contents("/proc/self/stat", &host, NULL, NULL);
    const char *after = host ? strrchr(host, ')') : NULL;
    char **fields = g_strsplit(after ? after + 2 : "", " ", -1);
    g_free(host);
    return fields;
}

static const char *field(char **fields, int number)
{
    /* fields[0] is field 3 (state). */
    int index = number - 3;
    return (int)g_strv_length(fields) > index ? fields[index] : "0";
}

static void generate_stat(struct linux_process *process, const struct thread_view *thread,
                          GString *text, bool statm)
{
    struct map_walk walk;
    measure(process, &walk);
    if (statm) {
        g_string_append_printf(text, "%" PRIu64 " %" PRIu64 " 0 %" PRIu64 " 0 %" PRIu64 " 0\n",
                               walk.size >> 12, walk.rss >> 12, walk.exec >> 12,
                               (walk.data + walk.stack) >> 12);
        return;
    }
    char **host = host_stat_fields();
    const struct linux_proc_info *info = &process->proc_info;
    GArray *tids = thread_ids(process, thread->tgid);
    unsigned threads = tids->len;
    g_array_free(tids, TRUE);
    /* pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime stime cutime cstime priority nice num_threads
     * itrealvalue starttime */
    g_string_append_printf(
        text, "%d (%s) %c %d %d %d %s %s 4194304 0 0 0 0 %s %s 0 0 20 %d %u 0 %s ", thread->tid,
        thread->comm, thread->state, thread->ppid, (int)getpgrp(), (int)getsid(0), field(host, 7),
        field(host, 8), field(host, 14), field(host, 15), process->nice, threads, field(host, 22));
    /* vsize rss rsslim startcode endcode startstack kstkesp kstkeip */
    g_string_append_printf(text, "%" PRIu64 " %" PRIu64 " %llu 0 0 %" PRIu64 " 0 0 ", walk.size,
                           walk.rss >> 12, (unsigned long long)process->limits[RLIMIT_RSS].rlim_cur,
                           info->stack_start);
    /* signal blocked sigignore sigcatch wchan nswap cnswap exit_signal
     * processor rt_priority policy delayacct guest_time cguest_time */
    g_string_append_printf(text, "0 %" PRIu64 " %" PRIu64 " %" PRIu64 " 0 0 0 17 0 0 0 0 0 0 ",
                           thread->signal_mask, signal_set(process, 1), signal_set(process, 2));
    /* start_data end_data start_brk arg_start arg_end env_start env_end exit_code */
    g_string_append_printf(
        text, "0 0 %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0\n",
        process->brk_start, info->arg_start, info->arg_end, info->env_start, info->env_end);
    g_strfreev(host);
}

static void generate_limits(struct linux_process *process, GString *text)
{
    static const struct {
        const char *name, *unit;
    } names[RLIM_NLIMITS] = {
        {"Max cpu time", "seconds"},     {"Max file size", "bytes"},
        {"Max data size", "bytes"},      {"Max stack size", "bytes"},
        {"Max core file size", "bytes"}, {"Max resident set", "bytes"},
        {"Max processes", "processes"},  {"Max open files", "files"},
        {"Max locked memory", "bytes"},  {"Max address space", "bytes"},
        {"Max file locks", "locks"},     {"Max pending signals", "signals"},
        {"Max msgqueue size", "bytes"},  {"Max nice priority", NULL},
        {"Max realtime priority", NULL}, {"Max realtime timeout", "us"},
    };
    g_string_append_printf(text, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit",
                           "Units");
    for (int i = 0; i < RLIM_NLIMITS; i++) {
        g_string_append_printf(text, "%-25s ", names[i].name);
        rlim_t values[2] = {process->limits[i].rlim_cur, process->limits[i].rlim_max};
        for (int j = 0; j < 2; j++) {
            if (values[j] == RLIM_INFINITY)
                g_string_append_printf(text, "%-20s ", "unlimited");
            else
                g_string_append_printf(text, "%-20llu ", (unsigned long long)values[j]);
        }
        if (names[i].unit)
            g_string_append_printf(text, "%-10s\n", names[i].unit);
        else
            g_string_append_c(text, '\n');
    }
}

/* The host's meminfo with the guest's RAM as the total. */
static void generate_meminfo(struct linux_process *process, GString *text)
{
    char *host = NULL;
    g_file_get_contents("/proc/meminfo", &host, NULL, NULL);
    char **lines = g_strsplit(host ? host : "", "\n", -1);
    uint64_t total = guest_memory_ram_size(process->memory) >> 10;
    uint64_t free_kb = guest_frames_free_count(process->memory) * (GUEST_PAGE_SIZE >> 10);
    for (char **line = lines; *line && **line; line++) {
        if (g_str_has_prefix(*line, "MemTotal:"))
            g_string_append_printf(text, "MemTotal:       %8" PRIu64 " kB\n", total);
        else if (g_str_has_prefix(*line, "MemFree:"))
            g_string_append_printf(text, "MemFree:        %8" PRIu64 " kB\n", free_kb);
        else if (g_str_has_prefix(*line, "MemAvailable:"))
            g_string_append_printf(text, "MemAvailable:   %8" PRIu64 " kB\n", free_kb);
        else
            g_string_append_printf(text, "%s\n", *line);
    }
    g_strfreev(lines);
    g_free(host);
}

static void generate_fdinfo(struct linux_process *process, GString *text, long fd)
{
    const struct linux_fd *entry = &process->fds[fd];
    off_t position = lseek(linux_fd_entry_host(entry), 0, SEEK_CUR);
    int flags = fcntl(linux_fd_entry_host(entry), F_GETFL);
    flags = (flags < 0 ? 0 : flags & ~O_CLOEXEC) | (entry->cloexec ? O_CLOEXEC : 0);
    g_string_append_printf(text, "pos:\t%lld\nflags:\t0%o\n",
                           (long long)(position < 0 || entry->proc ? 0 : position), flags);
    char host_path[64], *host = NULL;
    snprintf(host_path, sizeof(host_path), "/proc/self/fdinfo/%d", linux_fd_entry_host(entry));
    g_file_get_contents(host_path, &host, NULL, NULL);
    char **lines = g_strsplit(host ? host : "", "\n", -1);
    for (char **line = lines; *line; line++) {
        if (g_str_has_prefix(*line, "mnt_id:") || g_str_has_prefix(*line, "ino:"))
            g_string_append_printf(text, "%s\n", *line);
    }
    g_strfreev(lines);
    g_free(host);
}

/* The content of a generated file, by its canonical guest path. */
static GString *generate(struct linux_process *process, const char *path)
{
    GString *text = g_string_new(NULL);
    if (strcmp(path, "/proc/meminfo") == 0) {
        generate_meminfo(process, text);
        return text;
    }
    if (strcmp(path, "/proc/cpuinfo") == 0) {
        char *host = NULL;
        g_file_get_contents("/proc/cpuinfo", &host, NULL, NULL);
        const struct linux_host *cpu = &process->config.host;
        linux_cpuinfo_narrow(host ? host : "", cpu->cpuid, cpu->opaque, text);
        g_free(host);
        return text;
    }
    const char *name = strrchr(path, '/') + 1;
    const struct linux_proc_info *info = &process->proc_info;
    const char *rest;
    char fdinfo[64];
    snprintf(fdinfo, sizeof(fdinfo), "/proc/%d/fdinfo", linux_pid());
    struct thread_view thread;
    if (strcmp(name, "status") == 0 || strncmp(name, "stat", 4) == 0 || strcmp(name, "comm") == 0)
        view_thread(process, path, &thread);
    if (path_under(path, fdinfo, &rest) && *rest)
        generate_fdinfo(process, text, strtol(rest + 1, NULL, 10));
    else if (strcmp(name, "maps") == 0 || strcmp(name, "smaps") == 0)
        generate_maps(process, text, name[0] == 's');
    else if (strcmp(name, "smaps_rollup") == 0)
        generate_smaps_rollup(process, text);
    else if (strcmp(name, "status") == 0)
        generate_status(process, &thread, text);
    else if (strcmp(name, "stat") == 0 || strcmp(name, "statm") == 0)
        generate_stat(process, &thread, text, name[4] == 'm');
    else if (strcmp(name, "limits") == 0)
        generate_limits(process, text);
    else if (strcmp(name, "cmdline") == 0)
        append_guest_range(process, text, info->arg_start, info->arg_end);
    else if (strcmp(name, "environ") == 0)
        append_guest_range(process, text, info->env_start, info->env_end);
    else if (strcmp(name, "auxv") == 0)
        g_string_append_len(text, (const char *)info->auxv, (gssize)info->auxv_length);
    else if (strcmp(name, "comm") == 0)
        g_string_append_printf(text, "%s\n", thread.comm);
    return text;
}

/* ---- directories -------------------------------------------------------------- */

static void add_entry(GArray *entries, const char *name, unsigned char type)
{
    struct linux_proc_dirent entry = {.type = type};
    g_strlcpy(entry.name, name, sizeof(entry.name));
    g_array_append_val(entries, entry);
}

/* Another program's directory, as its monitor lists it ("<type><name>"
 * lines, type a byte 'A' + DT_*); nothing more if it has gone. */
static void list_remote(int pid, struct linux_proc_fd *dir)
{
    struct linux_peer_reply *reply = g_new0(struct linux_peer_reply, 1);
    int fd;
    if (ask_peer(pid, LINUX_PEER_LIST, dir->path, false, reply, &fd) == 0 && fd >= 0 &&
        reply->result == 0) {
        GString *text = read_whole(fd);
        char **lines = g_strsplit(text->str, "\n", -1);
        for (char **line = lines; *line; line++) {
            const char *entry = *line;
            if (entry[0] >= 'A' && entry[0] <= 'A' + DT_WHT && entry[1] && !strchr(entry, '/') &&
                strcmp(entry + 1, ".") != 0 && strcmp(entry + 1, "..") != 0)
                add_entry(dir->entries, entry + 1, (unsigned char)(entry[0] - 'A'));
        }
        g_strfreev(lines);
        g_string_free(text, TRUE);
    }
    if (fd >= 0)
        close(fd);
    g_free(reply);
}

static void list_directory(struct linux_process *process, struct linux_proc_fd *dir)
{
    if (dir->entries)
        g_array_free(dir->entries, TRUE);
    dir->entries = g_array_new(FALSE, TRUE, sizeof(struct linux_proc_dirent));
    add_entry(dir->entries, ".", DT_DIR);
    add_entry(dir->entries, "..", DT_DIR);
    int remote = remote_pid(dir->path);
    if (remote) {
        list_remote(remote, dir);
        return;
    }
    const char *name = strrchr(dir->path, '/') + 1;
    char number[32];
    if (strcmp(name, "fd") == 0 || strcmp(name, "fdinfo") == 0) {
        for (int fd = 0; fd < linux_fd_scan_end(process); fd++) {
            if (linux_fd_entry_host(&process->fds[fd]) < 0)
                continue;
            snprintf(number, sizeof(number), "%d", fd);
            add_entry(dir->entries, number, name[2] ? DT_REG : DT_LNK);
        }
    } else if (strcmp(name, "task") == 0) {
        GArray *tids = thread_ids(process, tgid_of_path(process, dir->path));
        for (guint i = 0; i < tids->len; i++) {
            snprintf(number, sizeof(number), "%d", g_array_index(tids, int, i));
            add_entry(dir->entries, number, DT_DIR);
        }
        g_array_free(tids, TRUE);
    } else {
        bool in_task = strstr(dir->path, "/task/") != NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(process_entries); i++) {
            const struct proc_entry *entry = &process_entries[i];
            if (in_task && strcmp(entry->name, "task") == 0)
                continue;
            unsigned char type = entry->type == ENTRY_DIR    ? DT_DIR
                                 : entry->type == ENTRY_LINK ? DT_LNK
                                                             : DT_REG;
            if (strcmp(entry->name, "net") == 0 || strcmp(entry->name, "ns") == 0)
                type = DT_DIR;
            add_entry(dir->entries, entry->name, type);
        }
    }
}

/* struct linux_dirent64 */
struct dirent_header {
    uint64_t ino;
    int64_t off;
    uint16_t reclen;
    uint8_t type;
} __attribute__((packed));

static uint64_t fake_inode(const char *path, const char *name)
{
    return (g_str_hash(path) * 31u + g_str_hash(name)) | 0x1000;
}

long linux_proc_getdents(struct linux_process *process, struct linux_proc_fd *dir, uint64_t address,
                         uint64_t count)
{
    if (!dir->entries || dir->position == 0)
        list_directory(process, dir);
    GByteArray *out = g_byte_array_new();
    while (dir->position < dir->entries->len) {
        const struct linux_proc_dirent *entry =
            &g_array_index(dir->entries, struct linux_proc_dirent, dir->position);
        size_t name_len = strlen(entry->name) + 1;
        size_t reclen = (sizeof(struct dirent_header) + name_len + 7) & ~(size_t)7;
        if (out->len + reclen > count)
            break;
        struct dirent_header header = {fake_inode(dir->path, entry->name),
                                       (int64_t)dir->position + 1, (uint16_t)reclen, entry->type};
        g_byte_array_append(out, (const guint8 *)&header, sizeof(header));
        g_byte_array_append(out, (const guint8 *)entry->name, (guint)name_len);
        static const guint8 padding[8];
        g_byte_array_append(out, padding, (guint)(reclen - sizeof(header) - name_len));
        dir->position++;
    }
    long result = out->len;
    if (out->len == 0 && dir->position < dir->entries->len)
        result = -EINVAL;
    else if (out->len && linux_copy_out(process, address, out->data, out->len) != 0)
        result = -EFAULT;
    g_byte_array_free(out, TRUE);
    return result;
}

/* ---- virtual objects as fds --------------------------------------------------- */

struct linux_proc_fd *linux_proc_fd_ref(struct linux_proc_fd *proc)
{
    if (proc)
        proc->refs++;
    return proc;
}

void linux_proc_fd_unref(struct linux_proc_fd *proc)
{
    if (!proc || --proc->refs > 0)
        return;
    if (proc->entries)
        g_array_free(proc->entries, TRUE);
    g_free(proc->path);
    g_free(proc);
}

/* A read-only host fd holding text: a memfd reopened O_RDONLY, so writes
 * fail with EBADF as on a read-only file. */
static int text_fd(const GString *text)
{
    int memfd = (int)syscall(SYS_memfd_create, "hermitux-proc", MFD_CLOEXEC);
    if (memfd < 0)
        return -1;
    size_t done = 0;
    while (done < text->len) {
        ssize_t n = write(memfd, text->str + done, text->len - done);
        if (n <= 0) {
            close(memfd);
            return -1;
        }
        done += (size_t)n;
    }
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", memfd);
    int fd = open(link, O_RDONLY | O_CLOEXEC);
    close(memfd);
    return fd;
}

static bool names_comm(const char *path)
{
    return strcmp(strrchr(path, '/') + 1, "comm") == 0;
}

long linux_proc_set_comm(struct linux_process *process, const struct linux_proc_fd *comm,
                         const char *name)
{
    if (comm->access_mode == O_RDONLY)
        return -EBADF;
    /* Linux names only the writer's own threads this way. */
    if (remote_pid(comm->path))
        return -EINVAL;
    int tid = tid_of_path(comm->path);
    /* Written while the thread is listed (threads_lock), so it cannot end
     * and be freed meanwhile. */
    g_mutex_lock(&process->threads_lock);
    struct linux_thread *thread =
        tid ? linux_thread_find_locked(process, tid) : process->main_thread;
    if (thread) {
        g_mutex_lock(&process->misc_lock);
        g_strlcpy(thread->comm, name, sizeof(thread->comm));
        g_mutex_unlock(&process->misc_lock);
        linux_thread_name_host(thread, thread->comm, false);
    }
    g_mutex_unlock(&process->threads_lock);
    return thread ? 0 : -ESRCH;
}

long linux_proc_open(struct linux_process *process, const struct linux_path *path, int flags)
{
    int access_mode = flags & O_ACCMODE;
    bool o_path = flags & O_PATH;
    switch (path->kind) {
    case LINUX_PATH_PROC_LINK:
        return -ELOOP; /* O_NOFOLLOW on a link */
    case LINUX_PATH_PROC_MEM:
        if (flags & O_DIRECTORY)
            return -ENOTDIR;
        break;
    case LINUX_PATH_PROC_DIR:
        if (!o_path && access_mode != O_RDONLY)
            return -EISDIR;
        break;
    case LINUX_PATH_PROC_FILE:
        if (flags & O_DIRECTORY)
            return -ENOTDIR;
        if ((flags & O_CREAT) && (flags & O_EXCL))
            return -EEXIST;
        /* comm is the one file a program writes (glibc's pthread_setname_np
         * for another thread). */
        if (!o_path && access_mode != O_RDONLY && !names_comm(path->path))
            return -EACCES;
        break;
    case LINUX_PATH_HOST:
        return -EINVAL;
    }
    int remote = remote_pid(path->path), host_fd;
    /* Another program's memory is its monitor's to give, which it does not. */
    if (remote && path->kind == LINUX_PATH_PROC_MEM)
        return -EACCES;
    if (remote && path->kind == LINUX_PATH_PROC_FILE) {
        long opened = remote_open(remote, path->path);
        if (opened < 0)
            return opened;
        host_fd = (int)opened;
    } else {
        GString *text =
            path->kind == LINUX_PATH_PROC_FILE ? generate(process, path->path) : g_string_new(NULL);
        host_fd = text_fd(text);
        g_string_free(text, TRUE);
        if (host_fd < 0)
            return linux_host_error();
    }
    struct linux_proc_fd *proc = g_new0(struct linux_proc_fd, 1);
    proc->refs = 1;
    proc->dir = path->kind == LINUX_PATH_PROC_DIR;
    proc->mem = path->kind == LINUX_PATH_PROC_MEM;
    proc->comm = path->kind == LINUX_PATH_PROC_FILE && names_comm(path->path);
    proc->access_mode = access_mode;
    proc->path = g_strdup(path->path);
    long fd = linux_fd_install(process, host_fd, 0, flags & O_CLOEXEC);
    if (fd < 0) {
        linux_proc_fd_unref(proc);
        return fd;
    }
    process->fds[fd].proc = proc;
    return fd;
}

/* ---- /proc/self/mem ------------------------------------------------------------ */

/* Whether the page at address is the program's: mapped for user mode (its
 * protection may deny the access itself, as with ptrace's FOLL_FORCE), never
 * the guest kernel, the doorbell or a page table. */
static bool mem_page_allowed(const struct linux_process *process, uint64_t address)
{
    const struct guest_region *region = guest_region_lookup(process->memory, address);
    return region && is_user_region(region) && region->prot != GUEST_PROT_NONE;
}

long linux_proc_mem_rw(struct linux_process *process, struct linux_proc_fd *mem, uint64_t buffer,
                       uint64_t len, bool is_write, uint64_t *position)
{
    if ((is_write && mem->access_mode == O_RDONLY) || (!is_write && mem->access_mode == O_WRONLY))
        return -EBADF;
    uint8_t page[GUEST_PAGE_SIZE];
    uint64_t done = 0;
    len = MIN(len, LINUX_MAX_RW_COUNT);
    while (done < len) {
        uint64_t address = *position + done;
        uint64_t piece = MIN(len - done, GUEST_PAGE_SIZE - (address % GUEST_PAGE_SIZE));
        if (address >= GUEST_USER_TOP || !mem_page_allowed(process, address))
            break;
        int result;
        if (is_write) {
            if (linux_copy_in(process, buffer + done, page, piece) != 0)
                return done ? (long)done : -EFAULT;
            result = guest_write(process->memory, address, page, piece, GUEST_ACCESS_DEBUG);
        } else {
            result = guest_read(process->memory, address, page, piece, GUEST_ACCESS_DEBUG);
            if (result == 0 && linux_copy_out(process, buffer + done, page, piece) != 0)
                return done ? (long)done : -EFAULT;
        }
        if (result != 0)
            break;
        done += piece;
    }
    *position += done;
    return done || len == 0 ? (long)done : -EIO;
}

/* ---- metadata of virtual objects --------------------------------------------- */

void linux_proc_stat(const struct linux_path *path, struct stat *st)
{
    static struct stat proc_root;
    if (proc_root.st_dev == 0)
        stat("/proc", &proc_root);
    memset(st, 0, sizeof(*st));
    st->st_dev = proc_root.st_dev;
    st->st_ino = fake_inode(path->path, "");
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_blksize = 1024;
    st->st_atim = st->st_mtim = st->st_ctim = proc_root.st_ctim;
    switch (path->kind) {
    case LINUX_PATH_PROC_DIR:
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        break;
    case LINUX_PATH_PROC_LINK:
        st->st_mode = S_IFLNK | (path->link_mode ? path->link_mode : 0777);
        st->st_nlink = 1;
        break;
    case LINUX_PATH_PROC_MEM:
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        break;
    default:
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        break;
    }
}

/* Another program's link, as its monitor reads it. */
static long remote_readlink(int pid, const char *path, char *out, size_t size)
{
    struct linux_peer_reply *reply = g_new0(struct linux_peer_reply, 1);
    int fd;
    long result = ask_peer(pid, LINUX_PEER_READLINK, path, false, reply, &fd);
    if (fd >= 0)
        close(fd);
    if (result == LINUX_PEER_ABSENT)
        result = -ENOENT;
    else if (result == 0 && reply->result < 0)
        result = reply->result;
    else if (result == 0)
        result = (long)g_strlcpy(out, reply->text, size);
    g_free(reply);
    return result;
}

long linux_proc_readlink(struct linux_process *process, const struct linux_path *path, char *out,
                         size_t size)
{
    if (path->kind != LINUX_PATH_PROC_LINK)
        return -EINVAL;
    int remote = remote_pid(path->path);
    if (remote)
        return remote_readlink(remote, path->path, out, size);
    const char *name = strrchr(path->path, '/') + 1;
    char number[64];
    if (strcmp(path->path, "/proc/self") == 0) {
        snprintf(number, sizeof(number), "%d", caller_pid(process));
        return (long)g_strlcpy(out, number, size);
    }
    if (strcmp(path->path, "/proc/thread-self") == 0) {
        snprintf(number, sizeof(number), "%d/task/%d", caller_pid(process), caller_tid(process));
        return (long)g_strlcpy(out, number, size);
    }
    if (strcmp(name, "exe") == 0) {
        char exe[LINUX_PATH_MAX];
        g_strlcpy(exe, process->exe_path, sizeof(exe));
        linux_root_strip(process, exe);
        return (long)g_strlcpy(out, exe, size);
    }
    if (strcmp(name, "root") == 0)
        return (long)g_strlcpy(out, "/", size);
    if (strcmp(name, "cwd") == 0)
        return linux_cwd_path(process, out, size);
    long fd = strtol(name, NULL, 10);
    if (fd < 0 || fd >= LINUX_MAX_FDS || linux_fd_entry_host(&process->fds[fd]) < 0)
        return -ENOENT;
    if (process->fds[fd].proc)
        return (long)g_strlcpy(out, process->fds[fd].proc->path, size);
    long len = linux_host_fd_path(linux_fd_entry_host(&process->fds[fd]), out, size);
    if (len > 0 && out[0] == '/' && linux_root_strip(process, out))
        len = (long)strlen(out);
    return len;
}

long linux_cwd_path(struct linux_process *process, char *out, size_t size)
{
    if (linux_fs_cwd_virtual(linux_fs(process), out, size))
        return (long)strlen(out);
    long len = linux_host_fd_path(linux_fs(process)->cwd_fd, out, size);
    if (len < 0)
        return len;
    if (g_str_has_suffix(out, " (deleted)") || out[0] != '/')
        return -ENOENT;
    if (linux_root_strip(process, out))
        len = (long)strlen(out);
    return len;
}

/* ---- host opens ---------------------------------------------------------------- */

/* Flags openat accepts and openat2 would refuse: openat drops them. */
#define OPEN_VALID_FLAGS                                                                           \
    (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |         \
     O_SYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME |            \
     O_CLOEXEC | O_PATH | O_TMPFILE)

static int host_openat(const struct linux_path *path, int flags, mode_t mode)
{
    flags &= OPEN_VALID_FLAGS;
    if (flags & O_PATH)
        flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    if (!(flags & O_CREAT) && (flags & O_TMPFILE) != O_TMPFILE)
        mode = 0;
    struct open_how how = {
        .flags = (uint64_t)flags,
        .mode = mode & 07777,
        .resolve = (path->trusted ? 0 : RESOLVE_NO_MAGICLINKS) | path->resolve,
    };
    return linux_host_openat2(path->dirfd, path->path, &how);
}

/* The absolute host path a (dirfd, path) pair names, for re-deciding it. */
static bool absolute_of(const struct linux_path *path, char *out, size_t size)
{
    if (path->path[0] == '/' || path->dirfd == AT_FDCWD) {
        g_strlcpy(out, path->path, size);
        return out[0] == '/';
    }
    if (linux_host_fd_path(path->dirfd, out, size) < 0 || out[0] != '/')
        return false;
    g_strlcat(out, "/", size);
    g_strlcat(out, path->path, size);
    return true;
}

/*
 * Expands the symlinks of an absolute path one component at a time, as the
 * kernel's lookup would, stopping where it enters /proc or /dev/fd: from
 * there the rules above decide. Used when a host open met a magic link.
 */
static long expand_symlinks(const char *path, char *out, size_t size)
{
    char *pending = g_strdup(path), *done = g_strdup("");
    long result = 0;
    for (int links = 0;;) {
        char name[256];
        const char *rest = next_component(pending, name, sizeof(name));
        if (!name[0])
            break;
        if (strcmp(name, "..") == 0) {
            char *slash = strrchr(done, '/');
            if (slash)
                *slash = '\0';
        } else if (strcmp(name, ".") != 0) {
            char *candidate = g_strdup_printf("%s/%s", done, name);
            const char *unused;
            if (path_under(candidate, "/proc", &unused) ||
                path_under(candidate, "/dev/fd", &unused) ||
                path_under(candidate, "/dev/stdin", &unused) ||
                path_under(candidate, "/dev/stdout", &unused) ||
                path_under(candidate, "/dev/stderr", &unused)) {
                g_free(done);
                done = g_strconcat(candidate, rest, NULL);
                g_free(candidate);
                break;
            }
            char target[LINUX_PATH_MAX];
            ssize_t len = readlink(candidate, target, sizeof(target) - 1);
            if (len >= 0) {
                if (++links > 40) {
                    g_free(candidate);
                    result = -ELOOP;
                    break;
                }
                target[len] = '\0';
                char *next = g_strconcat(target, rest, NULL);
                g_free(pending);
                pending = next;
                g_free(candidate);
                if (target[0] == '/') {
                    g_free(done);
                    done = g_strdup("");
                }
                continue;
            }
            g_free(done);
            done = candidate;
        }
        char *next = g_strdup(rest);
        g_free(pending);
        pending = next;
    }
    if (!result)
        g_strlcpy(out, done[0] ? done : "/", size);
    g_free(pending);
    g_free(done);
    return result;
}

/* After a host open: a file in the host's procfs is decided again by the
 * path the host kernel knows it by. Returns 0 to keep host_fd, 1 when
 * *again holds what to open instead, or -errno. */
static long check_procfs(struct linux_process *process, int host_fd, bool follow,
                         struct linux_path *again)
{
    struct statfs fs;
    if (fstatfs(host_fd, &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC)
        return 0;
    char real[LINUX_PATH_MAX];
    if (linux_host_fd_path(host_fd, real, sizeof(real)) < 0 || real[0] != '/')
        return -EACCES;
    /* A procfs mounted inside the root is decided by its guest path. */
    if (process->root_fd >= 0 && linux_root_strip(process, real) && strcmp(real, "/") != 0) {
        long error = classify(process, real, follow, again, 0);
        return error ? error : 1;
    }
    long error = classify(process, real, follow, again, 0);
    if (error)
        return error;
    if (again->kind == LINUX_PATH_HOST && again->dirfd == AT_FDCWD &&
        (strcmp(again->path, real) == 0 ||
         (!again->trusted && g_str_has_prefix(again->path, "/proc/self/"))))
        return 0;
    return 1;
}

static bool final_is_symlink(const struct linux_path *path)
{
    struct stat st;
    return fstatat(path->dirfd, path->path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* Opens a decided path on the host as the program's open would, following
 * the rules above through magic links and procfs. Returns the host fd, or
 * -errno; *current ends as the virtual object to open instead when
 * current->kind is no longer LINUX_PATH_HOST (then 0 is returned). */
static long open_host(struct linux_process *process, struct linux_path *current, int flags,
                      mode_t mode)
{
    bool follow = !(flags & O_NOFOLLOW);
    for (int round = 0; round < PROC_MAX_DEPTH; round++) {
        if (current->kind != LINUX_PATH_HOST)
            return 0;
        int host_fd = host_openat(current, flags | O_CLOEXEC, mode);
        if (host_fd < 0) {
            long error = linux_host_error();
            /* O_NOFOLLOW on a symlink, magic or not: ELOOP, as Linux (the
             * expansion below is for magic links met on the way). */
            if (error == -ELOOP && !follow && final_is_symlink(current))
                return error;
            char absolute[LINUX_PATH_MAX + 64], expanded[LINUX_PATH_MAX + 64];
            /* Under a root, magic links (a procfs mounted inside it) stay refused. */
            if (error != -ELOOP || current->trusted || (current->resolve & RESOLVE_IN_ROOT) ||
                !absolute_of(current, absolute, sizeof(absolute)))
                return error;
            long expand = expand_symlinks(absolute, expanded, sizeof(expanded));
            if (expand)
                return expand;
            struct linux_path next;
            expand = classify(process, expanded, follow, &next, 0);
            if (expand)
                return expand;
            if (next.kind == LINUX_PATH_HOST && !next.trusted && strcmp(next.path, absolute) == 0)
                return error; /* a magic link the rules do not cover */
            *current = next;
            continue;
        }
        struct linux_path again;
        long checked = check_procfs(process, host_fd, follow, &again);
        if (checked == 0)
            return host_fd;
        close(host_fd);
        if (checked < 0)
            return checked;
        *current = again;
    }
    return -ELOOP;
}

long linux_path_open(struct linux_process *process, const struct linux_path *path, int flags,
                     mode_t mode)
{
    struct linux_path current = *path;
    long host_fd = open_host(process, &current, flags, mode);
    if (host_fd < 0)
        return host_fd;
    if (current.kind != LINUX_PATH_HOST)
        return linux_proc_open(process, &current, flags);
    if (flags & O_TRUNC)
        linux_mm_file_opened_truncating(process, (int)host_fd);
    return linux_fd_install(process, (int)host_fd, 0, flags & O_CLOEXEC);
}

/* ---- anchors: paths for host calls without RESOLVE_* flags ------------------ */

/* The O_PATH fds anchoring the paths of the thread's current call, closed
 * when the call ends (linux_path_release_anchors): an anchor left open would
 * keep a removed directory alive (its inotify watches, its space). */
static void anchors_free(gpointer data)
{
    GArray *anchors = data;
    for (guint i = 0; i < anchors->len; i++)
        close(g_array_index(anchors, int, i));
    g_array_free(anchors, TRUE);
}

static GPrivate anchors_key = G_PRIVATE_INIT(anchors_free);

static void anchor_keep(int fd)
{
    GArray *anchors = g_private_get(&anchors_key);
    if (!anchors) {
        anchors = g_array_new(FALSE, FALSE, sizeof(int));
        g_private_set(&anchors_key, anchors);
    }
    g_array_append_val(anchors, fd);
}

void linux_path_release_anchors(void)
{
    GArray *anchors = g_private_get(&anchors_key);
    if (!anchors || !anchors->len)
        return;
    for (guint i = 0; i < anchors->len; i++)
        close(g_array_index(anchors, int, i));
    g_array_set_size(anchors, 0);
}

/* Where the last component of a relative or absolute path starts (trailing
 * slashes belong to it, so that "dir/" keeps meaning a directory). */
static size_t last_component(const char *path)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    while (end > 0 && path[end - 1] != '/')
        end--;
    return end;
}

/* "." and "..": only the directory they lead to can be anchored. */
static bool names_directory(const char *last)
{
    size_t n = strcspn(last, "/");
    return n == 0 || (n == 1 && last[0] == '.') || (n == 2 && last[0] == '.' && last[1] == '.');
}

/* The whole path, opened O_PATH following the rules: a host path becomes the
 * monitor's own magic link to what was found, or (directory) that directory's
 * "." so that a call not following links (lstat of "dir/..") still sees it. */
static long anchor_whole(struct linux_process *process, struct linux_path *path, bool directory)
{
    long fd = open_host(process, path, O_PATH | (directory ? O_DIRECTORY : 0), 0);
    if (fd < 0 || path->kind != LINUX_PATH_HOST)
        return fd < 0 ? fd : 0;
    anchor_keep((int)fd);
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
    if (directory)
        set_host(path, (int)fd, ".", false);
    else
        set_host(path, AT_FDCWD, link, true);
    return 0;
}

long linux_path_anchor(struct linux_process *process, struct linux_path *path, bool follow)
{
    if (path->kind != LINUX_PATH_HOST || path->trusted || !path->path[0])
        return 0;
    size_t last = last_component(path->path);
    if (names_directory(path->path + last))
        return anchor_whole(process, path, true);
    if (follow)
        return anchor_whole(process, path, false);
    /* The parent, followed; the last component left to the call. */
    char base[256];
    if (g_strlcpy(base, path->path + last, sizeof(base)) >= sizeof(base))
        return -ENAMETOOLONG;
    struct linux_path parent = *path;
    if (last == 0)
        g_strlcpy(parent.path, ".", sizeof(parent.path));
    else
        parent.path[last == 1 ? 1 : last - 1] = '\0';
    long fd = open_host(process, &parent, O_PATH | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    if (parent.kind != LINUX_PATH_HOST) {
        char joined[LINUX_PATH_MAX + 64 + 258];
        snprintf(joined, sizeof(joined), "%s/%s", parent.path, base);
        return classify(process, joined, false, path, 0);
    }
    anchor_keep((int)fd);
    set_host(path, (int)fd, base, false);
    return 0;
}

/* ---- the process's start ------------------------------------------------------- */

/* argv and envp as the loader left them at the initial stack pointer:
 * Linux's arg_start..arg_end and env_start..env_end. */
void linux_proc_init(struct linux_process *process, uint64_t stack, const uint8_t *auxv,
                     size_t auxv_length)
{
    struct linux_proc_info *info = &process->proc_info;
    info->stack_start = stack;
    info->auxv = auxv_length ? g_memdup2(auxv, auxv_length) : NULL;
    info->auxv_length = auxv ? auxv_length : 0;
    uint64_t argc, pointer = stack + 8, value = 0;
    if (!stack || guest_read(process->memory, stack, &argc, 8, GUEST_ACCESS_DEBUG) < 0)
        return;
    /* One argument or variable is at most MAX_ARG_STRLEN bytes. */
    enum { MAX_ARG_STRLEN = 32 * 4096 };
    char *buffer = g_malloc(MAX_ARG_STRLEN);
    for (int part = 0; part < 2; part++) {
        uint64_t first = 0, last = 0;
        for (; guest_read(process->memory, pointer, &value, 8, GUEST_ACCESS_DEBUG) == 0 && value;
             pointer += 8) {
            first = first ? first : value;
            last = value;
        }
        pointer += 8;
        long len = last ? guest_read_string(process->memory, last, buffer, MAX_ARG_STRLEN,
                                            GUEST_ACCESS_DEBUG)
                        : -1;
        uint64_t end = len >= 0 ? last + (uint64_t)len + 1 : first;
        if (part == 0) {
            info->arg_start = first;
            info->arg_end = end;
        } else {
            info->env_start = first ? first : info->arg_end;
            info->env_end = first ? end : info->arg_end;
        }
    }
    g_free(buffer);
}

/* ---- answering other monitors (peer.c) ---------------------------------------- */

/* A host path found for another monitor's program: what it can use there
 * (an absolute path, or an fd of this monitor's sent along). */
static void export_host(const struct linux_path *found, struct linux_peer_reply *reply, int *fd)
{
    reply->resolve = found->resolve;
    if (found->dirfd != AT_FDCWD) {
        reply->fd_role = LINUX_PEER_FD_DIR;
        g_strlcpy(reply->text, found->path, sizeof(reply->text));
        *fd = found->dirfd;
        return;
    }
    if (found->trusted) {
        /* One of this monitor's magic links: only it can follow it. */
        int target = open(found->path, O_PATH | O_CLOEXEC);
        if (target < 0) {
            reply->result = -errno;
            return;
        }
        reply->fd_role = LINUX_PEER_FD_TARGET;
        reply->close_after = 1;
        *fd = target;
        return;
    }
    reply->fd_role = LINUX_PEER_FD_NONE;
    if (g_str_has_prefix(found->path, "/proc/self/"))
        snprintf(reply->text, sizeof(reply->text), "/proc/%d/%s", linux_pid(),
                 found->path + strlen("/proc/self/"));
    else
        g_strlcpy(reply->text, found->path, sizeof(reply->text));
}

/* A whole canonical path of this program's, checked to be what the request
 * may act on: a virtual object of `kind` this process directory holds. */
static long served_object(struct linux_process *process, const char *prefix, const char *path,
                          enum linux_path_kind kind, struct linux_path *found)
{
    const char *rest;
    if (!path_under(path, prefix, &rest))
        return -ENOENT;
    long result = process_view(process, prefix, rest, false, false, found, 0);
    if (result == 0 && found->kind != kind)
        result = -EINVAL;
    return result;
}

static void serve_list(struct linux_process *process, const char *path,
                       struct linux_peer_reply *reply, int *fd)
{
    struct linux_proc_fd dir = {.path = (char *)path};
    list_directory(process, &dir);
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < dir.entries->len; i++) {
        const struct linux_proc_dirent *entry =
            &g_array_index(dir.entries, struct linux_proc_dirent, i);
        g_string_append_printf(text, "%c%s\n", 'A' + entry->type, entry->name);
    }
    g_array_free(dir.entries, TRUE);
    *fd = text_fd(text);
    g_string_free(text, TRUE);
    reply->result = *fd < 0 ? -EIO : 0;
    reply->close_after = 1;
}

/* One request, on the server's thread. fd_lock is held while fds are
 * looked at (none is closed meanwhile), not while a file is generated
 * (maps takes mm_lock, which comes first). */
static void serve_peer(void *opaque, const struct linux_peer_request *request,
                       struct linux_peer_reply *reply, int *fd)
{
    struct linux_process *process = opaque;
    serving_peer = true;
    struct linux_path found;
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "/proc/%d", linux_pid());
    bool fds = request->op != LINUX_PEER_OPEN || strstr(request->path, "/fdinfo/");
    if (fds)
        g_mutex_lock(&process->fd_lock);
    switch (request->op) {
    case LINUX_PEER_LOOKUP:
        reply->result =
            (int)process_view(process, prefix, request->path, false, request->follow, &found, 0);
        if (reply->result == 0) {
            reply->kind = found.kind;
            if (found.kind == LINUX_PATH_HOST)
                export_host(&found, reply, fd);
            else
                g_strlcpy(reply->text, found.path, sizeof(reply->text));
            reply->link_mode = found.link_mode;
        }
        break;
    case LINUX_PEER_OPEN:
        reply->result =
            (int)served_object(process, prefix, request->path, LINUX_PATH_PROC_FILE, &found);
        if (reply->result == 0) {
            GString *text = generate(process, found.path);
            *fd = text_fd(text);
            g_string_free(text, TRUE);
            reply->result = *fd < 0 ? -EIO : 0;
            reply->close_after = 1;
        }
        break;
    case LINUX_PEER_LIST:
        reply->result =
            (int)served_object(process, prefix, request->path, LINUX_PATH_PROC_DIR, &found);
        if (reply->result == 0)
            serve_list(process, found.path, reply, fd);
        break;
    case LINUX_PEER_READLINK:
        reply->result =
            (int)served_object(process, prefix, request->path, LINUX_PATH_PROC_LINK, &found);
        if (reply->result == 0)
            reply->result =
                (int)linux_proc_readlink(process, &found, reply->text, sizeof(reply->text));
        break;
    default:
        reply->result = -EINVAL;
        break;
    }
    if (fds)
        g_mutex_unlock(&process->fd_lock);
    linux_path_release_anchors();
}

void linux_proc_serve_start(struct linux_process *process)
{
    process->peer_server = linux_peer_server_start(serve_peer, process);
}

void linux_proc_serve_stop(struct linux_process *process)
{
    linux_peer_server_stop(process->peer_server);
    process->peer_server = NULL;
}

void linux_proc_serve_after_fork(struct linux_process *process)
{
    if (!process->peer_server)
        return;
    linux_peer_server_forget(process->peer_server);
    process->peer_server = NULL;
#ifndef __SANITIZE_ADDRESS__
    linux_proc_serve_start(process);
#else
    /* Not in an ASan build: its allocator (GCC 12's) is not made safe
     * across fork, and a thread started in the child hangs in its first
     * calloc when another thread of the parent held an allocator lock at
     * the fork (gdb-process fork-tree, 1 run in 2). Such a child, until it
     * execs, shows peers the host's view of it. */
#endif
}
