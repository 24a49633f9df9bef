/* process_calls: the calls that name another process by pid, or ask about the
 * process's place among host processes, as tools use them (renice, taskset,
 * prlimit, bash's `time`, fuser, setarch, linux32), and the host's kernel log
 * (dmesg's syslog: read, or EPERM where kernel.dmesg_restrict keeps it from the
 * user). A child sleeps on a pipe
 * while the parent asks about it; every line is a fact that is the same on
 * every run and machine. Exits non-zero when a call fails that must not. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* The child: its stdin is the pipe the parent holds; it burns a little CPU
 * (so that RUSAGE_CHILDREN has something to show) and waits for EOF. */
static pid_t start_child(int *to_child)
{
    int fds[2], ready[2];
    if (pipe(fds) != 0 || pipe(ready) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        dup2(fds[0], 0);
        (void)write(ready[1], "r", 1); /* its stdin is the pipe now */
        volatile unsigned long spin = 0;
        for (unsigned long i = 0; i < 30000000UL; i++)
            spin += i;
        char byte;
        while (read(0, &byte, 1) > 0) {
        }
        _exit(0);
    }
    close(fds[0]);
    close(ready[1]);
    char byte;
    if (read(ready[0], &byte, 1) != 1)
        exit(2);
    close(ready[0]);
    *to_child = fds[1];
    return pid;
}

static void other_process(pid_t child)
{
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)child);
    check("getpriority of a child", errno == 0 && nice == 0);
    check("setpriority of a child", setpriority(PRIO_PROCESS, (id_t)child, 5) == 0);
    errno = 0;
    check("its new nice value", getpriority(PRIO_PROCESS, (id_t)child) == 5 && errno == 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    check("sched_getaffinity of a child",
          sched_getaffinity(child, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0);
    check("sched_setaffinity of a child", sched_setaffinity(child, sizeof(set), &set) == 0);
    struct rlimit limit;
    check("prlimit of a child", prlimit(child, RLIMIT_NOFILE, NULL, &limit) == 0 &&
                                    limit.rlim_cur > 0 && limit.rlim_cur <= limit.rlim_max);
    errno = 0;
    check("getpriority of no process",
          getpriority(PRIO_PROCESS, 0x3ffffff0) == -1 && errno == ESRCH);
}

static void file_limit(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < 3000) {
        printf("raise the fd limit: skipped (hard limit under 3000)\n");
        return;
    }
    struct rlimit raised = {3000, limit.rlim_max};
    check("raise the soft fd limit to 3000", setrlimit(RLIMIT_NOFILE, &raised) == 0);
    int last = -1, opened = 0;
    for (int i = 0; i < 2500; i++) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0)
            break;
        last = fd;
        opened++;
    }
    check("2500 more files open", opened == 2500);
    int pipe_fds[2];
    check("a pipe above fd 2500", pipe(pipe_fds) == 0 && pipe_fds[0] > 2500);
    (void)write(pipe_fds[1], "x", 1);
    struct pollfd polled = {.fd = pipe_fds[0], .events = POLLIN};
    check("poll on it", poll(&polled, 1, 1000) == 1 && (polled.revents & POLLIN));
    for (int fd = 3; fd <= last; fd++)
        close(fd);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    setrlimit(RLIMIT_NOFILE, &limit);
}

static void personality_calls(void)
{
    int now = personality(0xffffffff);
    check("personality is PER_LINUX", (now & PER_MASK) == PER_LINUX);
    check("personality(PER_LINUX32) returns the old one", personality(PER_LINUX32) == now);
    struct utsname name;
    uname(&name);
    printf("uname -m under PER_LINUX32: %s\n", name.machine);
    personality(PER_LINUX);
    uname(&name);
    printf("uname -m again: %s\n", name.machine);
}

static void prctl_calls(void)
{
    int value = -1;
    check("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, SIGUSR2) == 0);
    check("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &value) == 0 && value == SIGUSR2);
    prctl(PR_SET_PDEATHSIG, 0);
    value = -1;
    check("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &value) == 0 && value == 0);
    check("PR_GET_TSC", prctl(PR_GET_TSC, &value) == 0 && value == PR_TSC_ENABLE);
    /* The program's own flag (the monitor's sandbox sets the host's): as
     * inherited, then set, which cannot be undone. */
    printf("no_new_privs: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    check("PR_SET_NO_NEW_PRIVS 2 is EINVAL",
          prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0) == -1 && errno == EINVAL);
    check("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    printf("no_new_privs: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    check("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) > 0);
    check("PR_CAPBSET_READ of CAP_CHOWN", prctl(PR_CAPBSET_READ, 0, 0, 0, 0) >= 0);
}

/* What a syslog call gave, without the counts, which change as the kernel
 * logs. */
static void show_klog(const char *what, int result)
{
    printf("%s: %s\n", what, result < 0 ? errno_name(errno) : result > 0 ? "> 0" : "0");
}

static void kernel_log(void)
{
    enum { CLOSE = 0, READ_ALL = 3, SIZE_UNREAD = 9, SIZE_BUFFER = 10 };
    static char buffer[8192]; /* whole records only: room for the last few */
    show_klog("syslog SIZE_BUFFER", klogctl(SIZE_BUFFER, NULL, 0));
    show_klog("syslog READ_ALL, 8 KiB", klogctl(READ_ALL, buffer, sizeof(buffer)));
    show_klog("syslog READ_ALL, 0 bytes", klogctl(READ_ALL, buffer, 0));
    show_klog("syslog READ_ALL, NULL", klogctl(READ_ALL, NULL, 16));
    show_klog("syslog READ_ALL, -1 bytes", klogctl(READ_ALL, buffer, -1));
    char *pages = mmap(NULL, sizeof(buffer), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show_klog("syslog READ_ALL into read-only pages", klogctl(READ_ALL, pages, sizeof(buffer)));
    munmap(pages, sizeof(buffer));
    show_klog("syslog SIZE_UNREAD", klogctl(SIZE_UNREAD, NULL, 0) < 0 ? -1 : 0);
    show_klog("syslog CLOSE", klogctl(CLOSE, NULL, 0));
    show_klog("syslog 99", klogctl(99, NULL, 0));
}

int main(void)
{
    int to_child;
    pid_t child = start_child(&to_child);
    other_process(child);
    close(to_child);
    int status;
    check("the child exits 0",
          waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct rusage children;
    check("RUSAGE_CHILDREN counts its CPU time",
          getrusage(RUSAGE_CHILDREN, &children) == 0 &&
              children.ru_utime.tv_sec * 1000000 + children.ru_utime.tv_usec > 0);
    file_limit();
    personality_calls();
    prctl_calls();
    kernel_log();
    char comm[32] = "";
    int comm_fd = open("/proc/self/comm", O_RDONLY);
    if (comm_fd >= 0 && read(comm_fd, comm, sizeof(comm) - 1) > 0)
        printf("comm: %s", comm);
    return failures != 0;
}
