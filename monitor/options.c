/* monitor/options.c — the command line. */
#include "config.h"
#include "monitor/monitor.h"
#include "gdbstub/gdbstub.h"
#include "linux/linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

bool monitor_parse_size(const char *text, bool plain_is_mib, uint64_t *bytes)
{
    if (!text || !g_ascii_isdigit(text[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno)
        return false;
    unsigned shift;
    switch (g_ascii_toupper(*end)) {
    case '\0':
        shift = plain_is_mib ? 20 : 0;
        break;
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    default:
        return false;
    }
    if (*end && end[1] != '\0' && !(g_ascii_toupper(end[1]) == 'B' && end[2] == '\0'))
        return false;
    if (value > (UINT64_MAX >> shift))
        return false;
    *bytes = (uint64_t)value << shift;
    return true;
}

uint64_t monitor_default_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0)
        return MONITOR_DEFAULT_MEMORY_CAP;
    uint64_t host = (uint64_t)pages * (uint64_t)page_size;
    return MAX(MIN(host, MONITOR_DEFAULT_MEMORY_CAP) & ~((1ULL << 20) - 1), MONITOR_MIN_MEMORY);
}

static bool is_executable_file(const char *path)
{
    struct stat status;
    return stat(path, &status) == 0 && S_ISREG(status.st_mode) && access(path, X_OK) == 0;
}

char *monitor_find_program(const char *name, char **environment)
{
    if (strchr(name, '/'))
        return g_strdup(name);
    if (!*name)
        return NULL;
    const char *path = g_environ_getenv(environment, "PATH");
    /* What execvp searches without a PATH. */
    char **directories = g_strsplit(path ? path : "/bin:/usr/bin", ":", -1);
    char *found = NULL;
    for (char **directory = directories; *directory && !found; directory++) {
        char *candidate = g_strconcat(**directory ? *directory : ".", "/", name, NULL);
        if (is_executable_file(candidate))
            found = candidate;
        else
            g_free(candidate);
    }
    g_strfreev(directories);
    return found;
}

/* --root: PROGRAM, as given or along PATH, is looked up inside the root as
 * the program would look it up (symlinks and ".." kept inside); the host
 * path found, or NULL. */
static char *find_in_root(const char *root, const char *name, char **environment)
{
    int error;
    if (strchr(name, '/'))
        return linux_root_resolve(root, name, &error);
    const char *path = g_environ_getenv(environment, "PATH");
    char **directories = g_strsplit(path ? path : "/bin:/usr/bin", ":", -1);
    char *found = NULL;
    for (char **directory = directories; *directory && !found; directory++) {
        char *candidate = g_strconcat(**directory ? *directory : ".", "/", name, NULL);
        found = linux_root_resolve(root, candidate, &error);
        if (found && !is_executable_file(found))
            g_clear_pointer(&found, g_free);
        g_free(candidate);
    }
    g_strfreev(directories);
    return found;
}

/* Whether the file begins with "#!". One that is not executable is not
 * followed: execve refuses it before reading its first line, and so does
 * the loader, saying so (not "its interpreter cannot run"). */
static bool starts_script(const char *path)
{
    if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0)
        return false;
    char magic[2];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    bool script = fd >= 0 && read(fd, magic, 2) == 2 && magic[0] == '#' && magic[1] == '!';
    if (fd >= 0)
        close(fd);
    return script;
}

/* A `#!` script as PROGRAM runs as the kernel runs it: its interpreter,
 * with the script's path (as found) and its arguments. */
static void follow_program_scripts(struct monitor_options *options, char **args, int count)
{
    char **argv = g_new0(char *, count + 1);
    for (int i = 0; i < count; i++)
        argv[i] = g_strdup(args[i]);
    char *path = g_strdup(options->program);
    long result = linux_exec_follow_scripts(options->root_path, &path, &argv);
    if (result < 0) {
        options->program_error = g_strdup_printf("%s: its #! interpreter cannot run: %s",
                                                 options->program, g_strerror((int)-result));
        g_free(path);
        g_strfreev(argv);
        return;
    }
    g_free(options->program);
    options->program = path;
    options->program_argv = argv;
}

/* --root DIR must name a directory: checked, and made absolute, before
 * anything is built. */
static bool set_root(struct monitor_options *options, const char *root, char **error)
{
    struct stat status;
    if (stat(root, &status) != 0) {
        *error = g_strdup_printf("--root %s: %s", root, g_strerror(errno));
        return false;
    }
    if (!S_ISDIR(status.st_mode)) {
        *error = g_strdup_printf("--root %s: not a directory", root);
        return false;
    }
    options->root_path = realpath(root, NULL);
    if (!options->root_path)
        *error = g_strdup_printf("--root %s: %s", root, g_strerror(errno));
    return options->root_path != NULL;
}

/* --gdb SPEC, checked before anything is built: "unix:PATH", "tcp::PORT",
 * "tcp:HOST:PORT" with PORT 0..65535, or "stdio". */
static bool valid_gdb_spec(const char *spec)
{
    if (strcmp(spec, "stdio") == 0)
        return true;
    if (g_str_has_prefix(spec, "unix:"))
        return spec[5] != '\0';
    const char *colon = g_str_has_prefix(spec, "tcp:") ? strrchr(spec + 4, ':') : NULL;
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        strlen(colon + 1) > 5)
        return false;
    return atoi(colon + 1) <= 65535;
}

/* Paths the monitor owns are made absolute while its directory is the
 * user's, so nothing the program does later changes what they name. */
static char *absolute_path(const char *path)
{
    return path ? g_canonicalize_filename(path, NULL) : NULL;
}

/* The program's environment after an execve, which the old monitor wrote
 * into fd (NAME=VALUE entries, each ending with a NUL) rather than into
 * the new one's command line, which every user of the host can read (ps):
 * an environment is only its owner's (/proc/PID/environ). */
static char **read_exec_environment(int fd)
{
    GPtrArray *entries = g_ptr_array_new();
    char *text = NULL;
    size_t length = 0;
    FILE *file = fd >= 0 ? fdopen(dup(fd), "r") : NULL;
    if (file) {
        while (getdelim(&text, &length, '\0', file) > 0)
            g_ptr_array_add(entries, g_strdup(text));
        free(text);
        fclose(file);
    }
    g_ptr_array_add(entries, NULL);
    return (char **)g_ptr_array_free(entries, FALSE);
}

/* What the accelerator of the monitor before the execve learnt from the
 * host (--exec-accel-fd, accel.h's carry_load); NULL when unreadable. */
static GBytes *read_exec_accel(int fd)
{
    struct stat status;
    if (fd < 0 || fstat(fd, &status) < 0 || status.st_size <= 0 || status.st_size > (1 << 20))
        return NULL;
    size_t size = (size_t)status.st_size, done = 0;
    uint8_t *data = g_malloc(size);
    while (done < size) {
        ssize_t got = pread(fd, data + done, size - done, (off_t)done);
        if (got <= 0) {
            g_free(data);
            return NULL;
        }
        done += (size_t)got;
    }
    return g_bytes_new_take(data, size);
}

/* --syscall-ring=on|off|US: the answering thread's spin in microseconds. */
static bool parse_syscall_ring(const char *value, unsigned *spin_us, bool *always, char **error)
{
    *spin_us = MONITOR_DEFAULT_RING_US;
    *always = value && strcmp(value, "always") == 0;
    if (!value || strcmp(value, "on") == 0 || *always)
        return true;
    if (strcmp(value, "off") == 0) {
        *spin_us = 0;
        return true;
    }
    char *end;
    errno = 0;
    unsigned long us = strtoul(value, &end, 10);
    if (end == value || *end || errno || us == 0 || us > 1000000 || value[0] == '-') {
        *error = g_strdup_printf("--syscall-ring=%s: give on, off, always, or a spin of 1 to "
                                 "1000000 microseconds",
                                 value);
        return false;
    }
    *spin_us = (unsigned)us;
    return true;
}

/* The longest --timeout the main loop's millisecond timer can hold. */
#define MAX_TIMEOUT_SECONDS (G_MAXUINT / 1000)

static bool standard_closed[3];
static GArray *inherited_fds; /* of int: see monitor_options.inherited_fds */

/* --gdb stdio: gdb's pipes go to the relay; the program's stdin is then
 * /dev/null and its stdout the monitor's stderr, as under gdbserver. */
static bool stdio_for_gdb(struct monitor_options *options, char **error)
{
    if (standard_closed[0] || standard_closed[1]) {
        *error = g_strdup("--gdb stdio: stdin and stdout must be a debugger's "
                          "(gdb: target remote | hermitux-run --gdb stdio -S PROGRAM)");
        return false;
    }
    int fd = gdbstub_stdio_open(error);
    if (fd < 0)
        return false;
    options->gdb = g_strdup_printf("stdio:%d", fd);
    standard_closed[0] = false;
    standard_closed[1] = standard_closed[2];
    return true;
}

static gint compare_fds(gconstpointer a, gconstpointer b)
{
    return *(const int *)a - *(const int *)b;
}

/* The fds above 2 this process was started with: open, and without
 * FD_CLOEXEC (which no fd keeps across an execve). */
static void find_inherited_fds(void)
{
    inherited_fds = g_array_new(FALSE, FALSE, sizeof(int));
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end || fd < 3 || fd > INT_MAX || fd == dirfd(dir))
            continue;
        int flags = fcntl((int)fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) {
            int value = (int)fd;
            g_array_append_val(inherited_fds, value);
        }
    }
    closedir(dir);
    g_array_sort(inherited_fds, compare_fds);
}

void monitor_reserve_fds(void)
{
    find_inherited_fds();
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* The lowest free number is fd itself: lower ones are open by now. */
        int placeholder = open("/dev/null", O_RDWR);
        standard_closed[fd] = true;
        if (placeholder >= 0 && placeholder != fd)
            close(placeholder);
    }
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
}

void monitor_options_free(struct monitor_options *options)
{
    g_free(options->accel);
    g_free(options->root_path);
    g_free(options->kernel_path);
    g_free(options->gdb);
    g_free(options->exec_gdb);
    g_free(options->core_path);
    g_free(options->strace_path);
    g_strfreev(options->environment);
    g_free(options->program);
    g_free(options->program_error);
    g_free(options->inherited_fds);
    g_strfreev(options->program_argv);
    if (options->accel_carry)
        g_bytes_unref(options->accel_carry);
    memset(options, 0, sizeof(*options));
}

static const char *const summary =
    "Runs an unmodified Linux x86-64 program (static or dynamic) inside a small virtual machine\n"
    "(a HermiTux-style unikernel) as if it ran natively: same output, files and\n"
    "exit status.";

static const char *const description =
    "Environment:\n"
    "  HERMIT_MEM=SIZE      guest memory (as -m; plain digits are bytes)\n"
    "  HERMIT_VERBOSE=1     as -v\n"
    "  HERMIT_DEBUG=1       as -s -S (wait for gdb on 127.0.0.1:1234)\n"
    "  HERMIT_CORE=FILE     as --core FILE\n"
    "\n"
    "Exit status: the program's own; when it dies of signal N, hermitux-run dies\n"
    "of it too (a shell shows 128 + N: 139 for a segmentation fault); 1 when\n"
    "hermitux-run cannot start it; 2 for a bad command line.";

/* --strace takes an optional FILE, which GOption hands to a callback. */
static gboolean strace_requested;
static char *strace_target;

static gboolean parse_strace(const char *name, const char *value, gpointer data, GError **error)
{
    (void)name;
    (void)data;
    (void)error;
    strace_requested = TRUE;
    g_free(strace_target);
    strace_target = value && *value ? g_strdup(value) : NULL;
    return TRUE;
}

/* Whether argument is the option of entries that takes a value in the next
 * argument ("-m 512M", "--gdb tcp::1"). */
static bool takes_next_argument(const char *argument, const GOptionEntry *entries)
{
    for (const GOptionEntry *entry = entries; entry->long_name; entry++) {
        if (entry->arg == G_OPTION_ARG_NONE || (entry->flags & G_OPTION_FLAG_OPTIONAL_ARG))
            continue;
        if ((argument[1] == '-' && strcmp(argument + 2, entry->long_name) == 0) ||
            (argument[1] == entry->short_name && argument[2] == '\0'))
            return true;
    }
    return false;
}

/*
 * GOption gives an optional argument the next word ("--strace PROGRAM" would
 * trace to a file named PROGRAM). A bare --strace among the options becomes
 * "--strace=", which means stderr; words from PROGRAM on are the program's.
 */
static void mark_bare_strace(char **args, int count, const GOptionEntry *entries)
{
    for (int i = 1; i < count; i++) {
        if (args[i][0] != '-' || strcmp(args[i], "--") == 0)
            return;
        if (strcmp(args[i], "--strace") == 0)
            args[i] = "--strace=";
        else if (takes_next_argument(args[i], entries))
            i++;
    }
}

enum monitor_parse_result monitor_parse_options(int argc, char **argv, char **environment,
                                                struct monitor_options *options, char **error)
{
    memset(options, 0, sizeof(*options));
    options->strace_fd = -1;
    strace_requested = FALSE;
    g_clear_pointer(&strace_target, g_free);
    char *accel = NULL, *memory = NULL, *kernel = NULL, *gdb = NULL, *core = NULL, *net = NULL,
         *root = NULL, *sandbox = NULL, *ring = NULL;
    gboolean gdb_default = FALSE, halt = FALSE, no_sandbox = FALSE;
    bool gdb_stdio = false;
    double timeout = 0;
    int max_threads = MONITOR_DEFAULT_MAX_THREADS;
    char **setenv_list = NULL;
    /* Hidden: how a guest execve starts the next monitor (monitor/fork.c). */
    int exec_state_fd = -1;
    char *exec_path = NULL, *exec_gdb = NULL;
    int exec_env_fd = -1, exec_strace_fd = -1, exec_accel_fd = -1;
    gboolean verbose = FALSE, clear_env = FALSE, version = FALSE;
    GOptionEntry entries[] = {
        {"accel", 0, 0, G_OPTION_ARG_STRING, &accel,
         "Accelerator: kvm, tcg or auto (default: auto, kvm where /dev/kvm works)", "ACCEL"},
        {"memory", 'm', 0, G_OPTION_ARG_STRING, &memory,
         "Guest memory, with K, M or G suffix; plain digits are MiB (default: the host's memory, "
         "at most 4G; used only "
         "where touched)",
         "SIZE"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
         "Say what the monitor does; full fault reports", NULL},
        {"kernel", 0, 0, G_OPTION_ARG_FILENAME, &kernel,
         "Guest kernel ELF (default: the one installed with hermitux-run)", "PATH"},
        {"env", 'E', 0, G_OPTION_ARG_STRING_ARRAY, &setenv_list,
         "Set NAME to VALUE in the program's environment (repeatable)", "NAME=VALUE"},
        {"clear-env", 0, 0, G_OPTION_ARG_NONE, &clear_env,
         "Start the program with an empty environment (then -E adds to it)", NULL},
        {"gdb", 0, 0, G_OPTION_ARG_STRING, &gdb,
         "Serve the GDB remote protocol on tcp::PORT (127.0.0.1), tcp:HOST:PORT, unix:PATH or "
         "stdio (gdb: target remote | hermitux-run --gdb stdio -S PROGRAM)",
         "SPEC"},
        {"gdb-default", 's', 0, G_OPTION_ARG_NONE, &gdb_default, "Shorthand for --gdb tcp::1234",
         NULL},
        {"halt", 'S', 0, G_OPTION_ARG_NONE, &halt,
         "Halt before the first guest instruction until a debugger resumes it", NULL},
        {"no-sandbox", 0, 0, G_OPTION_ARG_NONE, &no_sandbox,
         "Do not confine the monitor with its seccomp filter (for debugging the monitor)", NULL},
        {"sandbox", 0, 0, G_OPTION_ARG_STRING, &sandbox,
         "Sandbox filter: strict (default; allows only the host syscalls the monitor makes) or "
         "deny (refuses only those listed as dangerous)",
         "MODE"},
        {"core", 0, 0, G_OPTION_ARG_FILENAME, &core,
         "On a fault, write an ELF core file that gdb PROGRAM FILE opens", "FILE"},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout,
         "Stop the guest after SECONDS, report where it was and exit 124", "SECONDS"},
        {"max-threads", 0, 0, G_OPTION_ARG_INT, &max_threads,
         "Threads the program may have at once; clone fails with EAGAIN beyond (default 4096)",
         "N"},
        {"strace", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, (void *)parse_strace,
         "Trace every syscall of the program, as strace, to stderr or FILE", "FILE"},
        {"net", 0, 0, G_OPTION_ARG_STRING, &net,
         "Network: host (default; the program's sockets are the host's) or none (AF_INET and "
         "AF_INET6 sockets fail with EACCES)",
         "MODE"},
        {"root", 0, 0, G_OPTION_ARG_FILENAME, &root,
         "Run the program with DIR as its / (every path it names resolves inside DIR; its "
         "interpreter and PATH lookup too)",
         "DIR"},
        {"syscall-ring", 0, 0, G_OPTION_ARG_STRING, &ring,
         "Exitless syscalls on kvm (a host whose syscall entry runs at CPL3): on (default: while "
         "a CPU is free), always, off, or how many microseconds the monitor's answering thread "
         "spins for the next call (default 200)",
         "on|off|always|US"},
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
        {"exec-state", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &exec_state_fd, NULL, NULL},
        {"exec-path", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &exec_path, NULL, NULL},
        {"exec-env-fd", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &exec_env_fd, NULL, NULL},
        {"exec-strace-fd", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &exec_strace_fd, NULL, NULL},
        {"exec-accel-fd", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &exec_accel_fd, NULL, NULL},
        {"exec-gdb", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &exec_gdb, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };

    GOptionContext *context = g_option_context_new("PROGRAM [ARGS...]");
    g_option_context_set_summary(context, summary);
    g_option_context_set_description(context, description);
    g_option_context_add_main_entries(context, entries, NULL);
    /* Options end at PROGRAM: what follows is the program's. */
    g_option_context_set_strict_posix(context, TRUE);

    enum monitor_parse_result result = MONITOR_PARSE_ERROR;
    GError *gerror = NULL;
    char **args = g_new0(char *, argc + 1);
    for (int i = 0; i < argc; i++)
        args[i] = argv[i];
    mark_bare_strace(args, argc, entries);
    int arg_count = argc;
    char **args_view = args; /* g_option_context_parse rearranges the array */
    if (!g_option_context_parse(context, &arg_count, &args_view, &gerror)) {
        *error = g_strdup_printf("%s; see hermitux-run --help", gerror->message);
        g_error_free(gerror);
        goto out;
    }
    if (version) {
        printf("hermitux-run %s\n", HERMITUX_VERSION);
        result = MONITOR_PARSE_EXIT;
        goto out;
    }
    /* strict POSIX mode leaves a "--" that ends the options in place. */
    int first = 1;
    if (first < arg_count && strcmp(args_view[first], "--") == 0)
        first++;
    bool exec = exec_state_fd >= 0 && exec_path;
    if (!exec && (exec_state_fd >= 0 || exec_path || exec_env_fd >= 0 || exec_strace_fd >= 0 ||
                  exec_accel_fd >= 0 || exec_gdb)) {
        /* Not the user's: their fds would be read and closed (stdout, say). */
        *error = g_strdup("the --exec-* options are hermitux-run's own (a guest execve passes "
                          "them together); run hermitux-run [OPTIONS] PROGRAM [ARGS...]");
        exec_env_fd = exec_accel_fd = -1;
        goto out;
    }
    if (exec) {
        /* Everything comes from the options: the environment is the program's. */
        environment = NULL;
        clear_env = TRUE;
    }
    if (first >= arg_count && !exec) {
        *error = g_strdup("no PROGRAM given; usage: hermitux-run [OPTIONS] PROGRAM [ARGS...]");
        goto out;
    }

    options->accel = g_strdup(accel ? accel : "auto");
    if (strcmp(options->accel, "auto") && strcmp(options->accel, "kvm") &&
        strcmp(options->accel, "tcg")) {
        *error = g_strdup_printf("unknown accelerator '%s'; use --accel=kvm, tcg or auto",
                                 options->accel);
        goto out;
    }

    if (net && strcmp(net, "host") && strcmp(net, "none")) {
        *error = g_strdup_printf("unknown network mode '%s'; use --net=host or none", net);
        goto out;
    }
    options->net_none = net && strcmp(net, "none") == 0;
    if (root && !set_root(options, root, error))
        goto out;
    if (sandbox && strcmp(sandbox, "deny") && strcmp(sandbox, "strict")) {
        *error =
            g_strdup_printf("unknown sandbox mode '%s'; use --sandbox=deny or strict", sandbox);
        goto out;
    }
    options->sandbox_strict = !sandbox || strcmp(sandbox, "strict") == 0;
    if (!parse_syscall_ring(ring, &options->syscall_ring_us, &options->syscall_ring_always, error))
        goto out;

    options->memory_size = monitor_default_memory();
    const char *hermit_mem = g_environ_getenv(environment, "HERMIT_MEM");
    if (memory) {
        if (!monitor_parse_size(memory, true, &options->memory_size)) {
            *error = g_strdup_printf("bad memory size '%s'; give e.g. -m 512M or -m 2G", memory);
            goto out;
        }
    } else if (hermit_mem && *hermit_mem) {
        if (!monitor_parse_size(hermit_mem, false, &options->memory_size)) {
            *error = g_strdup_printf("bad HERMIT_MEM '%s'; give e.g. HERMIT_MEM=512M", hermit_mem);
            goto out;
        }
    }
    if (options->memory_size < MONITOR_MIN_MEMORY || options->memory_size > MONITOR_MAX_MEMORY) {
        *error = g_strdup_printf("memory size %llu MiB is out of range; give between %llu MiB "
                                 "and %llu GiB",
                                 (unsigned long long)(options->memory_size >> 20),
                                 MONITOR_MIN_MEMORY >> 20, MONITOR_MAX_MEMORY >> 30);
        goto out;
    }

    const char *hermit_verbose = g_environ_getenv(environment, "HERMIT_VERBOSE");
    options->verbose =
        verbose || (hermit_verbose && strcmp(hermit_verbose, "0") != 0 && *hermit_verbose != '\0');
    options->kernel_path = g_strdup(kernel);

    /* HERMIT_DEBUG=1 is HermiTux's "wait for gdb on port 1234". */
    const char *hermit_debug = g_environ_getenv(environment, "HERMIT_DEBUG");
    if (hermit_debug && strcmp(hermit_debug, "1") == 0)
        gdb_default = halt = TRUE;
    if (gdb && !valid_gdb_spec(gdb)) {
        *error = g_strdup_printf(
            "bad --gdb '%s'; give tcp::PORT, tcp:HOST:PORT, unix:PATH or stdio", gdb);
        goto out;
    }
    if (gdb && g_str_has_prefix(gdb, "unix:")) {
        char *path = absolute_path(gdb + 5);
        options->gdb = g_strconcat("unix:", path, NULL);
        g_free(path);
    } else if (gdb && strcmp(gdb, "stdio") == 0) {
        gdb_stdio = true; /* set up last, once nothing can fail before the program */
    } else if (gdb) {
        options->gdb = g_strdup(gdb);
    } else if (gdb_default) {
        options->gdb = g_strdup("tcp::1234");
    }
    options->halt_at_start = halt;
    if (halt && !options->gdb && !gdb_stdio) {
        *error = g_strdup("-S waits for a debugger: give --gdb SPEC or -s as well");
        goto out;
    }
    const char *hermit_core = g_environ_getenv(environment, "HERMIT_CORE");
    options->core_path =
        absolute_path(core ? core : (hermit_core && *hermit_core ? hermit_core : NULL));
    if (timeout < 0 || timeout != timeout) {
        *error = g_strdup("--timeout needs a positive number of seconds");
        goto out;
    }
    if (timeout > MAX_TIMEOUT_SECONDS) {
        *error = g_strdup_printf("--timeout %g is too long; give at most %u seconds", timeout,
                                 MAX_TIMEOUT_SECONDS);
        goto out;
    }
    /* Less than the timer's millisecond is still a timeout, not none. */
    options->timeout = timeout > 0 && timeout < 0.001 ? 0.001 : timeout;
    if (max_threads < 1) {
        *error = g_strdup("--max-threads needs a positive number");
        goto out;
    }
    options->max_threads = max_threads;
    options->strace = strace_requested || exec_strace_fd >= 0;
    options->strace_fd = exec_strace_fd;
    if (strace_target) {
        /* Absolute now: the program's chdir must not move the trace. */
        options->strace_path = g_canonicalize_filename(strace_target, NULL);
        g_clear_pointer(&strace_target, g_free);
    }

    if (exec) {
        options->environment = read_exec_environment(exec_env_fd);
        options->accel_carry = read_exec_accel(exec_accel_fd);
    } else
        options->environment = clear_env ? g_new0(char *, 1) : g_strdupv(environment);
    for (char **setting = setenv_list; setting && *setting; setting++) {
        const char *equals = strchr(*setting, '=');
        if (!equals || equals == *setting) {
            *error = g_strdup_printf("bad -E '%s'; give -E NAME=VALUE", *setting);
            goto out;
        }
        char *name = g_strndup(*setting, equals - *setting);
        options->environment = g_environ_setenv(options->environment, name, equals + 1, TRUE);
        g_free(name);
    }

    /* As a shell: a name without a slash is looked up along PATH (not
     * found, it stays as given and cannot be started); PATH is the one the
     * program gets, as env(1) searches. A guest's execve names a path:
     * without a slash it is relative to the current directory. */
    if (exec)
        options->program =
            strchr(exec_path, '/') ? g_strdup(exec_path) : g_strconcat("./", exec_path, NULL);
    else if (options->root_path)
        options->program = find_in_root(options->root_path, args_view[first], options->environment);
    else
        options->program = monitor_find_program(args_view[first], options->environment);
    if (!options->program && options->root_path) {
        /* Never the host's file of that name. */
        *error =
            g_strdup_printf("%s: not found inside --root %s", args_view[first], options->root_path);
        goto out;
    }
    if (!options->program)
        options->program = g_strdup(args_view[first]);
    if (!exec && starts_script(options->program))
        follow_program_scripts(options, args_view + first, arg_count - first);
    if (gdb_stdio && !stdio_for_gdb(options, error))
        goto out;
    for (int fd = 0; fd < 3; fd++)
        options->standard_fds[fd] = standard_closed[fd] ? -1 : fd;
    if (inherited_fds && !exec) {
        options->inherited_count = inherited_fds->len;
        options->inherited_fds = g_memdup2(inherited_fds->data, inherited_fds->len * sizeof(int));
    }
    options->no_sandbox = no_sandbox;
    if (!options->program_argv) {
        options->program_argv = g_new0(char *, MAX(arg_count - first, 1) + 1);
        for (int i = first; i < arg_count; i++)
            options->program_argv[i - first] = g_strdup(args_view[i]);
        /* An execve with no argv gets argv[0] = "", as Linux gives it. */
        if (first >= arg_count)
            options->program_argv[0] = g_strdup("");
    }
    options->has_exec_state = exec;
    options->exec_state_fd = exec ? exec_state_fd : -1;
    if (exec && exec_gdb) {
        options->exec_gdb = g_strdup(exec_gdb);
        options->halt_at_start = true;
    }
    result = MONITOR_PARSE_RUN;

out:
    if (result != MONITOR_PARSE_RUN)
        monitor_options_free(options);
    g_free(args);
    g_free(accel);
    g_free(memory);
    g_free(kernel);
    g_free(gdb);
    g_free(core);
    g_free(net);
    g_free(root);
    g_free(sandbox);
    g_free(ring);
    g_strfreev(setenv_list);
    g_clear_pointer(&strace_target, g_free);
    g_free(exec_path);
    g_free(exec_gdb);
    if (exec_env_fd >= 0)
        close(exec_env_fd);
    if (exec_accel_fd >= 0)
        close(exec_accel_fd);
    g_option_context_free(context);
    return result;
}
