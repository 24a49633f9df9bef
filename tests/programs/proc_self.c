/*
 * proc_self: what a program sees of itself through /proc, and that no path
 * spelling reaches an fd it did not open. Prints only facts that are the
 * same natively and in the VM: smaps_rollup agrees with smaps and maps, and
 * ns/NAME links lead to the namespaces (stat, open, lsns's ioctls).
 * Usage: proc_self SCRATCH_DIR
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;
static int failures;
int main(int argc, char **argv);

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "WRONG");
    if (!ok)
        failures++;
}

static ssize_t slurp(const char *path, char *buffer, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t done = 0;
    ssize_t n;
    while (done < size && (n = read(fd, buffer + done, size - done)) > 0)
        done += (size_t)n;
    close(fd);
    return (ssize_t)done;
}

static char text[1 << 20];

static int maps_has(uintptr_t address, const char *perms, const char *name)
{
    if (slurp("/proc/self/maps", text, sizeof(text) - 1) <= 0)
        return 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long start, end;
        char p[5], path[PATH_MAX] = "";
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %4095s", &start, &end, p, path) < 3)
            continue;
        if (address >= start && address < end)
            return (!perms || strncmp(p, perms, 3) == 0) && strcmp(path, name) == 0;
    }
    return 0;
}

static int joined_equals(const char *path, char **strings)
{
    ssize_t n = slurp(path, text, sizeof(text));
    size_t at = 0;
    for (char **s = strings; *s; s++) {
        size_t len = strlen(*s) + 1;
        if (at + len > (size_t)n || memcmp(text + at, *s, len) != 0)
            return 0;
        at += len;
    }
    return at == (size_t)n;
}

static const char *status_field(const char *name)
{
    static char value[256];
    if (slurp("/proc/self/status", text, sizeof(text) - 1) <= 0)
        return "";
    text[sizeof(text) - 1] = '\0';
    size_t len = strlen(name);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            snprintf(value, sizeof(value), "%s", line + len + 1 + strspn(line + len + 1, " \t"));
            return value;
        }
    }
    return "";
}

/* Every spelling of "fd N of this process": none may open an fd the program
 * does not have. */
static void probe_fds(void)
{
    const char *spellings[] = {
        "/proc/self/fd/%d",
        "/proc//self/fd/%d",
        "/proc/self/./fd/%d",
        "/proc/self/fd/../fd/%d",
        "/proc/thread-self/fd/%d",
        "/dev/fd/%d",
        "/dev//fd/%d",
        "/dev/./fd/%d",
        "/proc/self/fdinfo/%d",
    };
    int opened = 0, tried = 0;
    char path[128];
    for (int fd = 3; fd < 64; fd++) {
        for (size_t i = 0; i < sizeof(spellings) / sizeof(*spellings); i++) {
            snprintf(path, sizeof(path), spellings[i], fd);
            int got = open(path, O_RDONLY);
            tried++;
            if (got >= 0) {
                printf("opened %s\n", path);
                opened++;
                close(got);
            }
        }
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), fd);
        opened += open(path, O_RDONLY) >= 0;
        snprintf(path, sizeof(path), "/proc/self/task/%ld/fd/%d", (long)syscall(SYS_gettid), fd);
        opened += open(path, O_RDONLY) >= 0;
        tried += 2;
    }
    printf("fd spellings tried: %d\n", tried);
    check(opened == 0, "no fd reached that the program did not open");
}

/* Symlinks and dirfds leading into /proc/self must not go around the rules. */
static void probe_indirect(const char *scratch)
{
    char link[PATH_MAX];
    snprintf(link, sizeof(link), "%s/to-fd", scratch);
    check(symlink("/proc/self/fd/9", link) == 0, "symlink to /proc/self/fd/9");
    errno = 0;
    check(open(link, O_RDONLY) < 0 && errno == ENOENT, "through it: ENOENT");
    snprintf(link, sizeof(link), "%s/to-stdin", scratch);
    check(symlink("/dev/stdin", link) == 0, "symlink to /dev/stdin");
    struct stat a, b;
    check(stat(link, &a) == 0 && fstat(0, &b) == 0 && a.st_ino == b.st_ino,
          "stat through it is fd 0");
    int root = open("/", O_RDONLY | O_DIRECTORY);
    errno = 0;
    check(openat(root, "proc/self/fd/9", O_RDONLY) < 0 && errno == ENOENT,
          "openat(/, proc/self/fd/9): ENOENT");
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    int environ_fd = openat(proc, "self/environ", O_RDONLY);
    check(environ_fd >= 0, "openat(/proc, self/environ)");
    close(environ_fd);
    close(proc);
    close(root);
}

/* /proc/self/mem reaches the program's own memory, and only mapped pages. */
static void probe_mem(void)
{
    int fd = open("/proc/self/mem", O_RDWR);
    check(fd >= 0, "open /proc/self/mem O_RDWR");
    if (fd < 0)
        return;
    volatile uint64_t local = 0x1122334455667788ULL;
    uint64_t value = 0;
    check(pread(fd, &value, sizeof(value), (off_t)(uintptr_t)&local) == 8 && value == local,
          "mem: pread of a local");
    value = 0x99;
    check(pwrite(fd, &value, sizeof(value), (off_t)(uintptr_t)&local) == 8 && local == 0x99,
          "mem: pwrite of a local");
    unsigned char code[16];
    check(lseek(fd, (off_t)(uintptr_t)main, SEEK_SET) == (off_t)(uintptr_t)main &&
              read(fd, code, sizeof(code)) == sizeof(code) &&
              memcmp(code, (const void *)main, sizeof(code)) == 0,
          "mem: lseek and read of main's code");
    errno = 0;
    check(pread(fd, &value, sizeof(value), 0) < 0 && errno == EIO, "mem: address 0 is EIO");
    errno = 0;
    check(pread(fd, &value, sizeof(value), (off_t)0x7ffffffff000) < 0 && errno == EIO,
          "mem: above the stack is EIO");
    close(fd);
}

static void list_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) {
        check(0, "opendir /proc/self/fd");
        return;
    }
    int own = dirfd(dir), count = 0;
    struct dirent *entry;
    printf("/proc/self/fd:");
    int seen[4] = {0};
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        int fd = atoi(entry->d_name);
        count++;
        if (fd == own)
            seen[3] = 1;
        else if (fd < 3)
            seen[fd] = 1;
        else
            printf(" %d?", fd);
    }
    printf(" %d entries\n", count);
    closedir(dir);
    check(count == 4 && seen[0] && seen[1] && seen[2] && seen[3], "fd/ lists 0, 1, 2 and itself");
}

/* The sum of one smaps field ("Rss:") over every mapping, in kB. */
static long smaps_total(const char *field)
{
    if (slurp("/proc/self/smaps", text, sizeof(text) - 1) <= 0)
        return -1;
    long total = 0;
    size_t len = strlen(field);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, field, len) == 0)
            total += atol(line + len);
    }
    return total;
}

/* One smaps_rollup field, in kB; -1 when it is missing. */
static long rollup_field(const char *field)
{
    ssize_t n = slurp("/proc/self/smaps_rollup", text, sizeof(text) - 1);
    text[n > 0 ? n : 0] = '\0';
    char *at = strstr(text, field);
    return at && (at == text || at[-1] == '\n') ? atol(at + strlen(field)) : -1;
}

/* The lowest start and highest end of the mappings in maps ([vsyscall]
 * is no mapping of the process's: smaps_rollup leaves it out). */
static void maps_span(unsigned long *low, unsigned long *high)
{
    *low = ~0UL, *high = 0;
    if (slurp("/proc/self/maps", text, sizeof(text) - 1) <= 0)
        return;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long start, end;
        if (strstr(line, "[vsyscall]") || sscanf(line, "%lx-%lx", &start, &end) != 2)
            continue;
        *low = start < *low ? start : *low;
        *high = end > *high ? end : *high;
    }
}

/* Whether two sizes in kB agree, allowing for pages the reads themselves
 * touch natively between one file and the next. */
static int about(long a, long b)
{
    return a >= 0 && b >= 0 && labs(a - b) <= 64 + b / 8;
}

static void probe_rollup(void)
{
    ssize_t n = slurp("/proc/self/smaps_rollup", text, sizeof(text) - 1);
    text[n > 0 ? n : 0] = '\0';
    unsigned long start = 0, end = 0;
    char *newline = strchr(text, '\n');
    check(n > 0 && sscanf(text, "%lx-%lx ---p 00000000 00:00 0", &start, &end) == 2 && newline &&
              newline - text == 81 && strncmp(newline - 8, "[rollup]", 8) == 0,
          "smaps_rollup: its header line, padded to [rollup]");
    unsigned long low, high;
    maps_span(&low, &high);
    check(start == low && end == high, "smaps_rollup spans maps' mappings");
    long rss = rollup_field("Rss:"), anon = rollup_field("Pss_Anon:");
    check(about(rss, smaps_total("Rss:")), "smaps_rollup Rss is smaps' total");
    check(about(rollup_field("Anonymous:"), smaps_total("Anonymous:")),
          "smaps_rollup Anonymous is smaps' total");
    long file = rollup_field("Pss_File:"), shmem = rollup_field("Pss_Shmem:");
    check(anon >= 0 && file >= 0 && shmem >= 0 && about(anon + file + shmem, rollup_field("Pss:")),
          "Pss_Anon + Pss_File + Pss_Shmem is Pss");
    check(rollup_field("Locked:") == 0 && rollup_field("Swap:") == 0, "nothing locked or swapped");
}

/* From linux/nsfs.h, which musl's headers lack. */
#define NS_GET_USERNS    _IO(0xb7, 0x1)
#define NS_GET_NSTYPE    _IO(0xb7, 0x3)
#define NS_GET_OWNER_UID _IO(0xb7, 0x4)

static void probe_namespaces(void)
{
    static const struct {
        const char *name;
        int type; /* CLONE_NEW... */
    } spaces[] = {{"mnt", 0x00020000},   {"net", 0x40000000}, {"ipc", 0x08000000},
                  {"uts", 0x04000000},   {"pid", 0x20000000}, {"user", 0x10000000},
                  {"cgroup", 0x02000000}};
    for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
        char path[64], link[64], expected[64], what[128];
        snprintf(path, sizeof(path), "/proc/self/ns/%s", spaces[i].name);
        struct stat st;
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';
        int followed = stat(path, &st) == 0;
        snprintf(expected, sizeof(expected), "%s:[%lu]", spaces[i].name,
                 followed ? (unsigned long)st.st_ino : 0UL);
        snprintf(what, sizeof(what), "ns/%s: readlink names the inode stat -L finds",
                 spaces[i].name);
        check(followed && strcmp(link, expected) == 0, what);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(what, sizeof(what), "ns/%s: open, NS_GET_NSTYPE", spaces[i].name);
        check(fd >= 0 && ioctl(fd, NS_GET_NSTYPE) == spaces[i].type, what);
        close(fd);
    }
    struct stat user, owner;
    int mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    int owning = ioctl(mnt, NS_GET_USERNS);
    check(owning >= 0 && stat("/proc/self/ns/user", &user) == 0 && fstat(owning, &owner) == 0 &&
              owner.st_ino == user.st_ino && fcntl(owning, F_GETFD) == FD_CLOEXEC,
          "NS_GET_USERNS: an fd of the owning user namespace, close-on-exec");
    uid_t uid = (uid_t)-1;
    check(ioctl(owning, NS_GET_OWNER_UID, &uid) == 0 && uid != (uid_t)-1,
          "NS_GET_OWNER_UID of the user namespace");
    close(owning);
    close(mnt);
    errno = 0;
    check(ioctl(1, NS_GET_NSTYPE) == -1 && errno == ENOTTY, "NS_GET_NSTYPE elsewhere: ENOTTY");
    check(slurp("/proc/self/ns/mnt/x", text, 1) < 0 && errno == ENOTDIR, "ns/mnt/x: ENOTDIR");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: proc_self SCRATCH_DIR\n");
        return 2;
    }
    /* Only 0-2 stay: whatever else the program was started with is closed. */
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    char exe[PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    check(n > 0 && realpath(argv[0], real) && strcmp(exe, real) == 0, "exe is the program");
    int local = 0;
    check(maps_has((uintptr_t)&local, "rw-", "[stack]"), "maps: a local is in [stack]");
    check(maps_has((uintptr_t)main, "r-x", exe), "maps: main is in r-x text of the program");
    check(joined_equals("/proc/self/cmdline", argv), "cmdline is argv");
    check(joined_equals("/proc/self/environ", environ), "environ is the environment");
    char number[32];
    snprintf(number, sizeof(number), "%d", getpid());
    check(strcmp(status_field("Pid"), number) == 0, "status Pid is getpid()");
    check(strcmp(status_field("Tgid"), number) == 0, "status Tgid is getpid()");
    snprintf(number, sizeof(number), "%d", getppid());
    check(strcmp(status_field("PPid"), number) == 0, "status PPid is getppid()");
    char comm[16];
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    snprintf(comm, sizeof(comm), "%s", base);
    check(strcmp(status_field("Name"), comm) == 0, "status Name is the program's");
    check(strcmp(status_field("Threads"), "1") == 0, "status Threads is 1");
    check(slurp("/proc/self/stat", text, 100) > 0 && atoi(text) == getpid(),
          "stat starts with pid");
    n = readlink("/proc/self", real, sizeof(real) - 1);
    real[n > 0 ? n : 0] = '\0';
    snprintf(number, sizeof(number), "%d", getpid());
    check(strcmp(real, number) == 0, "/proc/self links to the pid");
    char in_fd[PATH_MAX], in_dev[PATH_MAX];
    ssize_t a = readlink("/proc/self/fd/1", in_fd, sizeof(in_fd));
    ssize_t b = readlink("/dev/fd/1", in_dev, sizeof(in_dev));
    check(a > 0 && a == b && memcmp(in_fd, in_dev, (size_t)a) == 0, "/dev/fd/1 is /proc/self/fd/1");
    check(slurp("/proc/self/limits", text, 1000) > 0 && strncmp(text, "Limit ", 6) == 0,
          "limits has Linux's header");
    list_fds();
    probe_rollup();
    probe_namespaces();
    probe_mem();
    probe_fds();
    probe_indirect(argv[1]);
    check(chdir(argv[1]) == 0, "chdir");
    char cwd[PATH_MAX], link[PATH_MAX];
    n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = '\0';
    check(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, link) == 0, "/proc/self/cwd is getcwd()");
    /* ".." after a /proc link climbs from where the link leads (the cwd's
     * parent), not from /proc/self. */
    char up[PATH_MAX + 40];
    const char *leaf = strrchr(cwd, '/') + 1;
    struct stat here, there;
    snprintf(up, sizeof(up), "/proc/self/cwd/../%s", leaf);
    check(stat(".", &here) == 0 && stat(up, &there) == 0 && here.st_ino == there.st_ino,
          "/proc/self/cwd/../BASE is the cwd");
    int dot = open(".", O_RDONLY | O_DIRECTORY);
    snprintf(up, sizeof(up), "/dev/fd/%d/../%s", dot, leaf);
    check(stat(up, &there) == 0 && here.st_ino == there.st_ino, "/dev/fd/N/../BASE is the cwd");
    close(dot);
    /* A relative socket name is in the program's cwd too. */
    int listener = socket(AF_UNIX, SOCK_STREAM, 0), client = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX, .sun_path = "here.sock"};
    check(bind(listener, (struct sockaddr *)&address, sizeof(address)) == 0 &&
              listen(listener, 1) == 0 && access("here.sock", F_OK) == 0,
          "bind(\"here.sock\") creates it in the cwd");
    check(connect(client, (struct sockaddr *)&address, sizeof(address)) == 0,
          "connect(\"here.sock\") finds it");
    return failures ? 1 : 0;
}
