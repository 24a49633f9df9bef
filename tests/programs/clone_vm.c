/* clone_vm: clone with CLONE_VM but not CLONE_THREAD makes a process that
 * shares the caller's memory (GDB's step-over-clone does this): it has its
 * own pid (getpid = gettid = clone's result), its parent is the caller, it
 * ends alone (return, exit_group, a fatal signal), its exit signal reaches
 * the parent only when not 0, and the parent reaps it with __WCLONE or
 * __WALL (exit signal not SIGCHLD) or a plain wait (SIGCHLD). Without
 * CLONE_SIGHAND or CLONE_FS it has its own dispositions, cwd and umask;
 * kill() of its pid reaches it and not the parent, and the reverse. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef __WCLONE
#define __WCLONE 0x80000000
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

#define STACK_SIZE (64 * 1024)
static char stacks[4][STACK_SIZE] __attribute__((aligned(16)));

/* What the child saw, written into the memory it shares with the parent. */
static volatile long child_pid, child_tid, child_ppid;
static volatile int ready, child_umask_before;
static volatile sig_atomic_t parent_usr1, child_usr1, chld_code, chld_pid, chld_status;

static char child_self_link[64], child_status[4096];

/* The number after "Key:\t" in a /proc status text, -1 if none. */
static long status_field(const char *text, const char *key)
{
    char pattern[32];
    snprintf(pattern, sizeof(pattern), "\n%s:\t", key);
    const char *at = strstr(text, pattern);
    return at ? strtol(at + strlen(pattern), NULL, 10) : -1;
}

/* path's whole text into buffer (NUL-terminated). */
static void read_text(const char *path, char *buffer, size_t size)
{
    buffer[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    ssize_t length = read(fd, buffer, size - 1);
    buffer[length > 0 ? length : 0] = 0;
    close(fd);
}

static void *stack_top(int which)
{
    return stacks[which] + STACK_SIZE;
}

static void on_parent_usr1(int signal)
{
    (void)signal;
    parent_usr1++;
}

static void on_child_usr1(int signal)
{
    (void)signal;
    child_usr1++;
}

static void on_usr2(int signal)
{
    (void)signal;
}

static void on_chld(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    chld_pid = info->si_pid;
    chld_status = info->si_status;
    chld_code = info->si_code;
}

static void set_handler(int signal, void (*handler)(int))
{
    struct sigaction action = {.sa_handler = handler};
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
}

static void (*handler_of(int signal))(int)
{
    struct sigaction old;
    sigaction(signal, NULL, &old);
    return old.sa_handler;
}

static void wait_ready(void)
{
    while (!ready)
        usleep(1000);
    ready = 0;
}

/* Identity, a disposition, the umask and the cwd changed in the child. */
static int identity_child(void *arg)
{
    (void)arg;
    child_pid = syscall(SYS_getpid);
    child_tid = syscall(SYS_gettid);
    child_ppid = syscall(SYS_getppid);
    ssize_t length = readlink("/proc/self", child_self_link, sizeof(child_self_link) - 1);
    child_self_link[length > 0 ? length : 0] = 0;
    read_text("/proc/self/status", child_status, sizeof(child_status));
    set_handler(SIGUSR2, on_usr2);
    child_umask_before = (int)umask(077);
    if (chdir("/") != 0)
        return 9;
    return 7;
}

static void test_identity(void)
{
    char cwd_before[4096], cwd_after[4096];
    if (!getcwd(cwd_before, sizeof(cwd_before)))
        cwd_before[0] = 0;
    mode_t mask = umask(022);
    long pid = clone(identity_child, stack_top(0), CLONE_VM | CLONE_FILES, NULL);
    check("clone CLONE_VM|CLONE_FILES, exit signal 0", pid > 0);
    int status = 0;
    /* Not a SIGCHLD child: a plain wait does not see it. */
    errno = 0;
    check("wait4 without __WCLONE: ECHILD",
          wait4(-1, &status, WNOHANG, NULL) < 0 && errno == ECHILD);
    long reaped = wait4((pid_t)pid, &status, __WCLONE, NULL);
    check("wait4 __WCLONE reaps it", reaped == pid);
    check("it exited with 7", WIFEXITED(status) && WEXITSTATUS(status) == 7);
    check("its getpid is clone's result", child_pid == pid);
    check("its gettid is its pid", child_tid == pid);
    check("its getppid is the caller", child_ppid == getpid());
    check("the caller's getpid is unchanged", getpid() != pid);
    check("its /proc/self is its pid", strtol(child_self_link, NULL, 10) == pid);
    check("its /proc/self/status: Tgid and Pid its pid, PPid the caller",
          status_field(child_status, "Tgid") == pid && status_field(child_status, "Pid") == pid &&
              status_field(child_status, "PPid") == getpid());
    check("its umask was the caller's", child_umask_before == 022);
    check("its umask is its own (no CLONE_FS)", umask(mask) == 022);
    check("its sigaction is its own (no CLONE_SIGHAND)", handler_of(SIGUSR2) == SIG_DFL);
    check("its cwd is its own (no CLONE_FS)",
          getcwd(cwd_after, sizeof(cwd_after)) && strcmp(cwd_before, cwd_after) == 0);
    errno = 0;
    check("reaped once", wait4((pid_t)pid, &status, __WALL, NULL) < 0 && errno == ECHILD);
}

/* Shares dispositions and fs (CLONE_SIGHAND, CLONE_FS); exit signal SIGCHLD. */
static int sharing_child(void *arg)
{
    (void)arg;
    set_handler(SIGUSR2, on_usr2);
    umask(027);
    return 3;
}

static void test_sharing(void)
{
    struct sigaction action = {.sa_sigaction = on_chld, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    sigaction(SIGCHLD, &action, NULL);
    set_handler(SIGUSR2, SIG_DFL);
    mode_t mask = umask(022);
    long pid = clone(sharing_child, stack_top(1),
                     CLONE_VM | CLONE_FILES | CLONE_SIGHAND | CLONE_FS | SIGCHLD, NULL);
    check("clone CLONE_VM|CLONE_FILES|CLONE_SIGHAND|CLONE_FS, SIGCHLD", pid > 0);
    int status = 0;
    check("a plain wait4 reaps a SIGCHLD child", waitpid((pid_t)pid, &status, 0) == pid);
    check("it exited with 3", WIFEXITED(status) && WEXITSTATUS(status) == 3);
    for (int i = 0; i < 2000 && !chld_code; i++)
        usleep(1000);
    check("SIGCHLD came with CLD_EXITED", chld_code == CLD_EXITED);
    check("SIGCHLD's si_pid is the child", chld_pid == pid);
    check("SIGCHLD's si_status is 3", chld_status == 3);
    check("its sigaction is shared (CLONE_SIGHAND)", handler_of(SIGUSR2) == on_usr2);
    check("its umask is shared (CLONE_FS)", umask(mask) == 027);
    set_handler(SIGCHLD, SIG_DFL);
    set_handler(SIGUSR2, SIG_DFL);
}

/* Its own SIGUSR1 handler; waits for the signal, then exit_group. */
static int signal_child(void *arg)
{
    (void)arg;
    set_handler(SIGUSR1, on_child_usr1);
    ready = 1;
    while (!child_usr1)
        syscall(SYS_sched_yield);
    syscall(SYS_exit_group, 5);
    return 1;
}

/* Whether tid is listed in /proc/self/task. */
static int listed_task(long tid)
{
    DIR *dir = opendir("/proc/self/task");
    int found = 0;
    for (struct dirent *entry; dir && (entry = readdir(dir));)
        found |= strtol(entry->d_name, NULL, 10) == tid;
    if (dir)
        closedir(dir);
    return found;
}

static void test_signals(void)
{
    set_handler(SIGUSR1, on_parent_usr1);
    long pid = clone(signal_child, stack_top(2), CLONE_VM | CLONE_FILES, NULL);
    check("clone for signals", pid > 0);
    wait_ready();
    char path[64], status_text[4096];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    read_text(path, status_text, sizeof(status_text));
    check("/proc/PID/status of it: its Tgid, its parent",
          status_field(status_text, "Tgid") == pid &&
              status_field(status_text, "PPid") == getpid());
    check("it is not a thread of the parent (/proc/self/task)", !listed_task(pid));
    kill(getpid(), SIGUSR1);
    check("kill of the parent's pid: the parent's handler", parent_usr1 == 1);
    check("kill of the parent's pid: not the child", child_usr1 == 0);
    kill((pid_t)pid, SIGUSR1);
    int status = 0;
    check("wait4 __WALL reaps it", wait4((pid_t)pid, &status, __WALL, NULL) == pid);
    check("kill of its pid: its own handler", child_usr1 == 1);
    check("kill of its pid: not the parent's", parent_usr1 == 1);
    check("its exit_group ended it alone, status 5", WIFEXITED(status) && WEXITSTATUS(status) == 5);
    set_handler(SIGUSR1, SIG_DFL);
}

static volatile sig_atomic_t queued_value, queued_code;

static void on_queued(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    queued_code = info->si_code;
    queued_value = info->si_value.sival_int;
}

/* Takes a sigqueue'd SIGUSR2 with its value, then returns. */
static int queue_child(void *arg)
{
    (void)arg;
    struct sigaction action = {.sa_sigaction = on_queued, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR2, &action, NULL);
    ready = 1;
    while (!queued_code)
        syscall(SYS_sched_yield);
    return 0;
}

static void test_sigqueue(void)
{
    long pid = clone(queue_child, stack_top(2), CLONE_VM | CLONE_FILES, NULL);
    check("clone for sigqueue", pid > 0);
    wait_ready();
    union sigval value = {.sival_int = 42};
    check("sigqueue to its pid", sigqueue((pid_t)pid, SIGUSR2, value) == 0);
    int status = 0;
    check("wait4 __WCLONE reaps it", wait4((pid_t)pid, &status, __WCLONE, NULL) == pid);
    check("its handler got SI_QUEUE and the value", queued_code == SI_QUEUE && queued_value == 42);
    check("the parent's SIGUSR2 is untouched", handler_of(SIGUSR2) == SIG_DFL);
}

static int doomed_child(void *arg)
{
    (void)arg;
    ready = 1;
    for (;;)
        syscall(SYS_pause);
    return 0;
}

static void test_fatal(void)
{
    long pid = clone(doomed_child, stack_top(3), CLONE_VM | CLONE_FILES, NULL);
    check("clone for a fatal signal", pid > 0);
    wait_ready();
    check("tgkill of its pid and tid", syscall(SYS_tgkill, pid, pid, SIGTERM) == 0);
    int status = 0;
    check("wait4 __WCLONE reaps it", wait4((pid_t)pid, &status, __WCLONE, NULL) == pid);
    check("SIGTERM killed it alone", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

static int faulting_child(void *arg)
{
    *(volatile int *)arg = 1;
    return 0;
}

/* A fault it has no handler for kills it alone. */
static void test_fault(void)
{
    long pid = clone(faulting_child, stack_top(1), CLONE_VM | CLONE_FILES, NULL);
    check("clone for a fault", pid > 0);
    int status = 0;
    check("wait4 __WCLONE reaps the faulting child",
          wait4((pid_t)pid, &status, __WCLONE, NULL) == pid);
    check("SIGSEGV killed it alone", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

static int plain_child(void *arg)
{
    (void)arg;
    return 11;
}

/* waitid sees it too: WNOWAIT leaves it, P_ALL with __WALL takes it. */
static void test_waitid(void)
{
    long pid = clone(plain_child, stack_top(0), CLONE_VM | CLONE_FILES, NULL);
    check("clone for waitid", pid > 0);
    siginfo_t info = {0};
    int peeked = waitid(P_PID, (id_t)pid, &info, WEXITED | __WCLONE | WNOWAIT);
    check("waitid P_PID __WCLONE WNOWAIT", peeked == 0 && info.si_pid == pid &&
                                               info.si_code == CLD_EXITED && info.si_status == 11 &&
                                               info.si_signo == SIGCHLD);
    memset(&info, 0, sizeof(info));
    int taken = waitid(P_ALL, 0, &info, WEXITED | __WALL);
    check("waitid P_ALL __WALL takes it", taken == 0 && info.si_pid == pid && info.si_status == 11);
    memset(&info, 0, sizeof(info));
    errno = 0;
    check("then none is left",
          waitid(P_ALL, 0, &info, WEXITED | __WALL | WNOHANG) < 0 && errno == ECHILD);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_identity();
    test_sharing();
    test_signals();
    test_sigqueue();
    test_fatal();
    test_waitid();
    test_fault();
    printf("the parent goes on after its children\n");
    return failures ? 1 : 0;
}
