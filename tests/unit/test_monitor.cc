// Module tests for monitor/: the command line, and a whole guest built for a real
// program where the accelerator's page walk (KVM_TRANSLATE) is compared with the
// memory module's on every mapped page.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <set>
#include <cstring>
#include <sys/stat.h>

#include <glib.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <string>
#include <vector>

extern "C" {
#include "launcher/launcher.h"
#include "monitor/guest.h"
#include "monitor/monitor.h"
}

namespace
{

struct Parsed {
    enum monitor_parse_result result;
    struct monitor_options options;
    std::string error;
};

Parsed parse(std::vector<const char *> args, std::vector<const char *> environment = {})
{
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>("hermitux-run"));
    for (const char *arg : args)
        argv.push_back(const_cast<char *>(arg));
    argv.push_back(nullptr);
    std::vector<char *> envp;
    for (const char *variable : environment)
        envp.push_back(const_cast<char *>(variable));
    envp.push_back(nullptr);
    Parsed parsed;
    char *error = nullptr;
    parsed.result = monitor_parse_options(static_cast<int>(argv.size() - 1), argv.data(),
                                          envp.data(), &parsed.options, &error);
    if (error) {
        parsed.error = error;
        g_free(error);
    }
    return parsed;
}

TEST(CommandLine, ProgramAndItsArgumentsEndTheOptions)
{
    Parsed parsed = parse({"-m", "64M", "prog", "-m", "--verbose", "x"});
    ASSERT_EQ(parsed.result, MONITOR_PARSE_RUN) << parsed.error;
    EXPECT_EQ(parsed.options.memory_size, 64ULL << 20);
    EXPECT_FALSE(parsed.options.verbose);
    EXPECT_STREQ(parsed.options.program, "prog");
    ASSERT_EQ(g_strv_length(parsed.options.program_argv), 4u);
    EXPECT_STREQ(parsed.options.program_argv[1], "-m");
    EXPECT_STREQ(parsed.options.program_argv[2], "--verbose");
    monitor_options_free(&parsed.options);
}

TEST(CommandLine, DefaultsAndEnvironment)
{
    Parsed parsed = parse({"prog"}, {"HERMIT_MEM=256M", "HERMIT_VERBOSE=1", "HOME=/x"});
    ASSERT_EQ(parsed.result, MONITOR_PARSE_RUN) << parsed.error;
    EXPECT_EQ(parsed.options.memory_size, 256ULL << 20);
    EXPECT_TRUE(parsed.options.verbose);
    EXPECT_STREQ(parsed.options.accel, "auto");
    EXPECT_STREQ(g_environ_getenv(parsed.options.environment, "HOME"), "/x");
    monitor_options_free(&parsed.options);

    parsed = parse({"prog"});
    EXPECT_EQ(parsed.options.memory_size, monitor_default_memory());
    EXPECT_LE(parsed.options.memory_size, MONITOR_DEFAULT_MEMORY_CAP);
    monitor_options_free(&parsed.options);
}

// A name without a slash is looked up along PATH as a shell does: the first
// regular executable file; directories and non-executables are passed over.
TEST(CommandLine, ProgramFoundAlongPath)
{
    char dir_template[] = "/tmp/hermitux-path-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::string dir = dir_template, first = dir + "/first", second = dir + "/second";
    ASSERT_EQ(mkdir(first.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(second.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((first + "/tool").c_str(), 0755), 0); // a directory: skipped
    ASSERT_TRUE(g_file_set_contents((second + "/plain").c_str(), "x", 1, nullptr));
    ASSERT_TRUE(g_file_set_contents((second + "/tool").c_str(), "x", 1, nullptr));
    ASSERT_EQ(chmod((second + "/tool").c_str(), 0755), 0);
    std::string path = "PATH=/nonexistent:" + first + ":" + second;
    char *environment[] = {const_cast<char *>(path.c_str()), nullptr};

    char *found = monitor_find_program("tool", environment);
    EXPECT_STREQ(found, (second + "/tool").c_str());
    g_free(found);
    EXPECT_EQ(monitor_find_program("plain", environment), nullptr) << "not executable";
    EXPECT_EQ(monitor_find_program("missing", environment), nullptr);
    found = monitor_find_program("./tool", environment);
    EXPECT_STREQ(found, "./tool") << "a path is taken as it is";
    g_free(found);

    unlink((second + "/tool").c_str());
    unlink((second + "/plain").c_str());
    rmdir((first + "/tool").c_str());
    rmdir(first.c_str());
    rmdir(second.c_str());
    rmdir(dir.c_str());
}

TEST(CommandLine, EnvironmentEditing)
{
    Parsed parsed = parse({"--clear-env", "-E", "A=1", "-E", "B=", "prog"}, {"HOME=/x"});
    ASSERT_EQ(parsed.result, MONITOR_PARSE_RUN) << parsed.error;
    EXPECT_EQ(g_environ_getenv(parsed.options.environment, "HOME"), nullptr);
    EXPECT_STREQ(g_environ_getenv(parsed.options.environment, "A"), "1");
    EXPECT_STREQ(g_environ_getenv(parsed.options.environment, "B"), "");
    monitor_options_free(&parsed.options);

    parsed = parse({"-E", "novalue", "prog"});
    EXPECT_EQ(parsed.result, MONITOR_PARSE_ERROR);
    EXPECT_NE(parsed.error.find("NAME=VALUE"), std::string::npos);
}

// The launcher renames what only the program's ld.so and libc act on, and
// whatever could be mistaken for its own renaming; the monitor gets each
// entry back as given and leaves out the two the launcher adds.
TEST(Launcher, ProgramEnvironmentSurvivesTheRenaming)
{
    const char *given[] = {"A=1",
                           "LD_PRELOAD=/lib/x.so",
                           "MALLOC_PERTURB_=42",
                           "GLIBC_TUNABLES=glibc.malloc.check=0",
                           "G_SLICE=debug-blocks",
                           "HERMITUX_PROGRAM_ENV=renamed",
                           "LDFLAGS=-s",
                           "PATH=/bin"};
    std::vector<std::string> monitor;
    for (const char *entry : given)
        monitor.push_back(launcher_is_program_only(entry) ? std::string(LAUNCHER_ENV_PREFIX) + entry
                                                          : std::string(entry));
    monitor.push_back(LAUNCHER_SLICE_ENTRY);
    monitor.push_back(LAUNCHER_MARK_ENTRY);
    EXPECT_FALSE(launcher_is_program_only("LDFLAGS=-s"));
    EXPECT_FALSE(launcher_is_program_only("A=1"));
    std::vector<std::string> program;
    for (const std::string &entry : monitor)
        if (const char *back = launcher_program_entry(entry.c_str()))
            program.push_back(back);
    ASSERT_EQ(program.size(), G_N_ELEMENTS(given));
    for (size_t i = 0; i < program.size(); i++)
        EXPECT_EQ(program[i], given[i]);
}

TEST(CommandLine, Debugging)
{
    Parsed parsed = parse({"-s", "-S", "prog"});
    ASSERT_EQ(parsed.result, MONITOR_PARSE_RUN) << parsed.error;
    EXPECT_STREQ(parsed.options.gdb, "tcp::1234");
    EXPECT_TRUE(parsed.options.halt_at_start);
    monitor_options_free(&parsed.options);

    parsed = parse({"prog"}, {"HERMIT_DEBUG=1"});
    EXPECT_STREQ(parsed.options.gdb, "tcp::1234");
    EXPECT_TRUE(parsed.options.halt_at_start);
    monitor_options_free(&parsed.options);

    parsed = parse({"--gdb", "unix:/tmp/x", "--core", "c", "--timeout", "2.5", "prog"});
    EXPECT_STREQ(parsed.options.gdb, "unix:/tmp/x");
    EXPECT_FALSE(parsed.options.halt_at_start);
    // Monitor-owned paths are absolute before the program can chdir.
    char *cwd = g_get_current_dir();
    EXPECT_EQ(std::string(parsed.options.core_path), std::string(cwd) + "/c");
    g_free(cwd);
    EXPECT_DOUBLE_EQ(parsed.options.timeout, 2.5);
    monitor_options_free(&parsed.options);

    parsed = parse({"-S", "prog"});
    EXPECT_EQ(parsed.result, MONITOR_PARSE_ERROR);
}

TEST(CommandLine, BadInputIsOneLine)
{
    const std::vector<std::vector<const char *>> bad = {
        {},
        {"--bogus", "prog"},
        {"-m", "lots", "prog"},
        {"-m", "1K", "prog"},
        {"-m", "999G", "prog"},
        {"--accel=xen", "prog"},
        {"--timeout", "-1", "prog"},
        {"--syscall-ring=fast", "prog"},
        {"--syscall-ring=0", "prog"},
        {"--syscall-ring=-5", "prog"},
        {"--syscall-ring=2000000", "prog"},
    };
    for (const auto &args : bad) {
        Parsed parsed = parse(args);
        EXPECT_EQ(parsed.result, MONITOR_PARSE_ERROR);
        EXPECT_FALSE(parsed.error.empty());
        EXPECT_EQ(parsed.error.find('\n'), std::string::npos) << parsed.error;
    }
}

TEST(CommandLine, SyscallRing)
{
    const std::vector<std::pair<const char *, unsigned>> good = {
        {nullptr, MONITOR_DEFAULT_RING_US},
        {"--syscall-ring=on", MONITOR_DEFAULT_RING_US},
        {"--syscall-ring=off", 0},
        {"--syscall-ring=50", 50},
    };
    for (const auto &[option, spin] : good) {
        Parsed parsed = option ? parse({option, "prog"}) : parse({"prog"});
        ASSERT_EQ(parsed.result, MONITOR_PARSE_RUN) << parsed.error;
        EXPECT_EQ(parsed.options.syscall_ring_us, spin) << (option ? option : "(none)");
        EXPECT_FALSE(parsed.options.syscall_ring_always);
        monitor_options_free(&parsed.options);
    }
    Parsed parsed = parse({"--syscall-ring=always", "prog"});
    ASSERT_EQ(parsed.result, MONITOR_PARSE_RUN) << parsed.error;
    EXPECT_EQ(parsed.options.syscall_ring_us, MONITOR_DEFAULT_RING_US);
    EXPECT_TRUE(parsed.options.syscall_ring_always);
    monitor_options_free(&parsed.options);
}

TEST(CommandLine, Sizes)
{
    uint64_t bytes;
    EXPECT_TRUE(monitor_parse_size("512", true, &bytes));
    EXPECT_EQ(bytes, 512ULL << 20);
    EXPECT_TRUE(monitor_parse_size("512", false, &bytes));
    EXPECT_EQ(bytes, 512u);
    EXPECT_TRUE(monitor_parse_size("2G", true, &bytes));
    EXPECT_EQ(bytes, 2ULL << 30);
    EXPECT_TRUE(monitor_parse_size("64k", false, &bytes));
    EXPECT_EQ(bytes, 64ULL << 10);
    EXPECT_TRUE(monitor_parse_size("1MB", false, &bytes));
    EXPECT_EQ(bytes, 1ULL << 20);
    for (const char *bad :
         {"", "M", "-1", "1X", "1MM", "99999999999999999999", "18446744073709551615G"})
        EXPECT_FALSE(monitor_parse_size(bad, true, &bytes)) << bad;
}

struct CompareContext {
    struct guest *guest;
    int pages;
    int mismatches;
};

bool compare_region(const struct guest_region *region, void *opaque)
{
    auto *context = static_cast<CompareContext *>(opaque);
    struct guest *guest = context->guest;
    for (uint64_t page = region->start; page < region->end; page += GUEST_PAGE_SIZE) {
        struct guest_walk walk;
        bool walked = guest_walk(guest->memory, guest_memory_cr3(guest->memory), page, &walk);
        uint64_t gpa = 0;
        bool translated = guest->accel_ops->translate(guest->accel, page, &gpa);
        // The doorbell page maps outside RAM: the walker says so, KVM translates it.
        if (region->kind == GUEST_REGION_DEVICE)
            walked = walk.status == GUEST_WALK_TABLE_OUTSIDE;
        if (walked != translated ||
            (walked && region->kind != GUEST_REGION_DEVICE && gpa != walk.gpa)) {
            ADD_FAILURE() << std::hex << "page 0x" << page << ": walker " << walked << " 0x"
                          << walk.gpa << ", accelerator " << translated << " 0x" << gpa;
            context->mismatches++;
        }
        context->pages++;
    }
    return true;
}

TEST(GuestSetup, AcceleratorPageWalkAgreesWithTheWalker)
{
    const struct accel_ops *kvm = accel_find("kvm");
    char why[256] = "";
    if (!kvm || !kvm->probe(why, sizeof(why)))
        GTEST_SKIP() << "KVM cannot be used here: " << why;
    if (!g_file_test("tests/programs/build/musl/hello", G_FILE_TEST_EXISTS) ||
        !g_file_test("kernel/hermitux-kernel", G_FILE_TEST_EXISTS))
        GTEST_SKIP() << "run from the build tree after make test-programs";

    const char *argv[] = {"tests/programs/build/musl/hello", nullptr};
    const char *envp[] = {nullptr};
    struct monitor_options options = {};
    options.accel = const_cast<char *>("kvm");
    options.memory_size = 64ULL << 20;
    options.kernel_path = const_cast<char *>("kernel/hermitux-kernel");
    options.environment = const_cast<char **>(envp);
    options.program = const_cast<char *>(argv[0]);
    options.program_argv = const_cast<char **>(argv);
    options.standard_fds[1] = 1;
    options.standard_fds[2] = 2;
    char *error = nullptr;
    struct guest *guest = guest_create(&options, &error);
    ASSERT_NE(guest, nullptr) << error;
    ASSERT_NE(guest->accel_ops->translate, nullptr);

    CompareContext context = {guest, 0, 0};
    guest_region_foreach(guest->memory, compare_region, &context);
    EXPECT_GT(context.pages, 1024); // kernel, program, the 4 MiB stack
    EXPECT_EQ(context.mismatches, 0);

    // Unmapped and non-canonical addresses: neither translates.
    for (uint64_t address : {0x0ULL, 0x3ff000ULL, 0x10000000000ULL, 0x800000000000ULL,
                             guest->stack_low - GUEST_PAGE_SIZE}) {
        struct guest_walk walk;
        uint64_t gpa;
        EXPECT_FALSE(guest_walk(guest->memory, guest_memory_cr3(guest->memory), address, &walk))
            << std::hex << address;
        EXPECT_FALSE(guest->accel_ops->translate(guest->accel, address, &gpa))
            << std::hex << address;
    }
    guest_destroy(guest);
}

} // namespace

// The strict sandbox lets the listed calls through and kills on anything else,
// here sysfs(2), which no part of the monitor makes and the deny list does not name,
// after one line on stderr that names the call and says what to do.
TEST(Sandbox, StrictAllowsOnlyTheList)
{
    for (bool unlisted : {false, true}) {
        int err[2];
        ASSERT_EQ(pipe(err), 0);
        pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            dup2(err[1], STDERR_FILENO);
            char *error = nullptr;
            if (monitor_sandbox_enter_mode(true, false, &error) != 0)
                _exit(2);
            if (getpid() <= 0 || write(-1, "", 0) != -1)
                _exit(3);
            if (unlisted)
                syscall(SYS_sysfs, 3);
            _exit(0);
        }
        close(err[1]);
        char said[512] = {0};
        ssize_t got = read(err[0], said, sizeof(said) - 1);
        close(err[0]);
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        if (unlisted) {
            EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) << status;
            EXPECT_STREQ(said, "hermitux-run: the sandbox refused host syscall sysfs (139) made "
                               "by the monitor itself; run again with --sandbox=deny or "
                               "--no-sandbox, and report it\n")
                << got;
        } else {
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
            EXPECT_EQ(got, 0);
        }
    }
}

// No call is both allowed (strict) and refused (deny).
TEST(Sandbox, ListsAreDisjoint)
{
    size_t allowed_count, refused_count;
    const int *allowed = linux_host_syscalls_allowed(&allowed_count);
    const int *refused = linux_host_syscalls_refused(&refused_count);
    EXPECT_GT(allowed_count, 100u);
    for (size_t i = 0; i < allowed_count; i++) {
        for (size_t j = 0; j < refused_count; j++)
            EXPECT_NE(allowed[i], refused[j]) << "syscall " << allowed[i];
    }
}

namespace
{

// Runs a classic BPF seccomp filter (the instructions the sandbox uses) on
// one system call; *steps counts the instructions run. ~0u for an
// instruction it does not know or a jump out of the program.
uint32_t RunFilter(const struct sock_filter *program, size_t length,
                   const struct seccomp_data &data, size_t *steps)
{
    uint32_t accumulator = 0;
    *steps = 0;
    for (size_t pc = 0; pc < length; pc++) {
        const struct sock_filter &insn = program[pc];
        ++*steps;
        switch (insn.code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (insn.k + 4 > sizeof(data))
                return ~0u;
            memcpy(&accumulator, reinterpret_cast<const char *>(&data) + insn.k, 4);
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += accumulator == insn.k ? insn.jt : insn.jf;
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
            pc += accumulator >= insn.k ? insn.jt : insn.jf;
            break;
        case BPF_JMP | BPF_JGT | BPF_K:
            pc += accumulator > insn.k ? insn.jt : insn.jf;
            break;
        case BPF_JMP | BPF_JA:
            pc += insn.k;
            break;
        case BPF_RET | BPF_K:
            return insn.k;
        default:
            return ~0u;
        }
    }
    return ~0u;
}

} // namespace

// Both filters answer for every number exactly as their lists say (the strict
// one allows the listed calls, the deny one traps them), unshare(CLONE_FS)
// passes and any other unshare traps, x32 numbers and other architectures
// kill; and a number is found by a binary search (the kernel runs the filter
// for every number when it installs it).
TEST(Sandbox, FiltersAnswerAsTheirLists)
{
    for (bool strict : {true, false}) {
        size_t length = 0, count = 0;
        struct sock_filter *program = monitor_sandbox_filter(strict, &length);
        const int *listed =
            strict ? linux_host_syscalls_allowed(&count) : linux_host_syscalls_refused(&count);
        std::set<uint32_t> numbers(listed, listed + count);
        uint32_t in_list = strict ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRAP;
        uint32_t not_in_list = strict ? SECCOMP_RET_TRAP : SECCOMP_RET_ALLOW;
        size_t most_steps = 0, steps = 0;
        for (uint32_t nr = 0; nr < 1024; nr++) {
            struct seccomp_data data = {};
            data.nr = (int)nr;
            data.arch = AUDIT_ARCH_X86_64;
            uint32_t want = numbers.count(nr) ? in_list : not_in_list;
            if (nr == SYS_unshare)
                want = SECCOMP_RET_TRAP;
            EXPECT_EQ(RunFilter(program, length, data, &steps), want) << strict << " " << nr;
            most_steps = std::max(most_steps, steps);
            data.nr = (int)(nr | 0x40000000u);
            EXPECT_EQ(RunFilter(program, length, data, &steps), SECCOMP_RET_KILL_PROCESS) << nr;
            data.nr = (int)nr;
            data.arch = AUDIT_ARCH_I386;
            EXPECT_EQ(RunFilter(program, length, data, &steps), SECCOMP_RET_KILL_PROCESS) << nr;
        }
        struct seccomp_data unshare = {};
        unshare.nr = SYS_unshare;
        unshare.arch = AUDIT_ARCH_X86_64;
        unshare.args[0] = CLONE_FS;
        EXPECT_EQ(RunFilter(program, length, unshare, &steps), SECCOMP_RET_ALLOW);
        unshare.args[0] = CLONE_FS | CLONE_NEWNS;
        EXPECT_EQ(RunFilter(program, length, unshare, &steps), SECCOMP_RET_TRAP);
        unshare.args[0] = CLONE_FS | (1ULL << 32);
        EXPECT_EQ(RunFilter(program, length, unshare, &steps), SECCOMP_RET_TRAP);
        EXPECT_LE(length, (size_t)BPF_MAXINSNS);
        EXPECT_LT(most_steps, 40u) << "not a search: " << length << " instructions";
        g_free(program);
    }
}

// The sandbox kills the monitor on a refused host syscall and lets the rest through.
TEST(Sandbox, RefusedSyscallKillsAllowedOnesPass)
{
    for (bool refused : {false, true}) {
        pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            char *error = nullptr;
            if (monitor_sandbox_enter(false, &error) != 0)
                _exit(2);
            if (getpid() <= 0 || write(-1, "", 0) != -1)
                _exit(3);
            if (refused) /* ptrace stays allowed in sanitizer builds (LeakSanitizer) */
                syscall(SYS_process_vm_readv, getpid(), nullptr, 0, nullptr, 0, 0);
            _exit(0);
        }
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        if (refused) {
            EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) << status;
        } else {
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        }
    }
}
