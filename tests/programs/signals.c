/* signals: signal delivery as Linux does it, one scenario per argument.
 * Prints only facts that are the same natively and under hermitux-run
 * (no addresses, no pids), and exits non-zero when something is wrong. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static int failures;

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            printf("FAILED line %d: %s\n", __LINE__, #condition);                                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static volatile sig_atomic_t count;
static volatile int last_signal, last_code, last_value;
static volatile int order[8];
static volatile int order_length;

static void on_info(int signal, siginfo_t *info, void *context)
{
    (void)context;
    count++;
    last_signal = signal;
    last_code = info->si_code;
    last_value = info->si_value.sival_int;
    if (order_length < 8)
        order[order_length++] = signal;
}

static void install(int signal, void (*handler)(int, siginfo_t *, void *), int flags)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&action.sa_mask);
    if (sigaction(signal, &action, NULL) != 0) {
        perror("sigaction");
        exit(2);
    }
}

static void block(int signal, int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    sigprocmask(how, &set, NULL);
}

/* kill, raise, sigqueue; pending while blocked, delivered on unblock. */
static void scenario_basic(void)
{
    install(SIGUSR1, on_info, 0);
    install(SIGUSR2, on_info, 0);
    install(SIGRTMIN, on_info, 0);
    kill(getpid(), SIGUSR1);
    CHECK(count == 1 && last_signal == SIGUSR1 && last_code == SI_USER);
    raise(SIGUSR2);
    CHECK(count == 2 && last_signal == SIGUSR2 && last_code == SI_TKILL);
    union sigval value = {.sival_int = 42};
    sigqueue(getpid(), SIGRTMIN, value);
    CHECK(count == 3 && last_code == SI_QUEUE && last_value == 42);
    printf("kill, raise, sigqueue: %d handlers ran\n", (int)count);

    /* Blocked: pending, then delivered as the mask opens, lowest first;
     * standard signals once, real-time ones each time. */
    sigset_t all, pending;
    sigemptyset(&all);
    sigaddset(&all, SIGUSR1);
    sigaddset(&all, SIGUSR2);
    sigaddset(&all, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &all, NULL);
    count = 0;
    order_length = 0;
    raise(SIGUSR2);
    raise(SIGUSR2);
    raise(SIGUSR1);
    sigqueue(getpid(), SIGRTMIN, value);
    sigqueue(getpid(), SIGRTMIN, value);
    sigpending(&pending);
    CHECK(count == 0);
    printf("pending: USR1 %d USR2 %d RTMIN %d TERM %d\n", sigismember(&pending, SIGUSR1),
           sigismember(&pending, SIGUSR2), sigismember(&pending, SIGRTMIN),
           sigismember(&pending, SIGTERM));
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    printf("after unblock: %d handlers ran\n", (int)count);
    CHECK(count == 4);
    /* Frames stack: the lowest-numbered signal's handler is entered first. */
    int usr1 = -1, usr2 = -1;
    for (int i = 0; i < order_length; i++) {
        if (order[i] == SIGUSR1 && usr1 < 0)
            usr1 = i;
        if (order[i] == SIGUSR2 && usr2 < 0)
            usr2 = i;
    }
    CHECK(usr1 >= 0 && usr2 >= 0);

    /* SIG_IGN drops, SA_RESETHAND resets. */
    signal(SIGUSR2, SIG_IGN);
    count = 0;
    raise(SIGUSR2);
    CHECK(count == 0);
    install(SIGUSR2, on_info, SA_RESETHAND);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    CHECK(count == 1 && now.sa_handler == SIG_DFL);
    printf("ignored and reset-on-handle: ok\n");
}

static volatile int nested_depth, nested_max, nested_calls;

static void on_nested(int signal)
{
    nested_depth++;
    nested_calls++;
    if (nested_depth > nested_max)
        nested_max = nested_depth;
    if (nested_calls < 3)
        raise(signal);
    nested_depth--;
}

/* The signal is blocked in its own handler unless SA_NODEFER. */
static void scenario_nodefer(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_nested;
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    printf("deferred: deepest nesting %d in %d calls\n", nested_max, nested_calls);
    nested_max = nested_calls = 0;
    action.sa_flags = SA_NODEFER;
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    printf("SA_NODEFER: deepest nesting %d in %d calls\n", nested_max, nested_calls);
}

/* Registers survive a handler that clobbers them: the syscall's own
 * registers (all but rax, rcx, r11) and an SSE register. */
static void on_clobber(int signal)
{
    (void)signal;
    __asm__ volatile("mov $-1, %%rdx\n mov $-1, %%r8\n mov $-1, %%r9\n mov $-1, %%r10\n"
                     "pcmpeqd %%xmm6, %%xmm6\n"
                     :
                     :
                     : "rdx", "r8", "r9", "r10", "xmm6");
    /* Round down, as fesetround(FE_DOWNWARD) would (without libm). */
    __builtin_ia32_ldmxcsr((__builtin_ia32_stmxcsr() & ~0x6000U) | 0x2000U);
}

static void scenario_registers(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_clobber;
    sigaction(SIGUSR1, &action, NULL);
    unsigned mxcsr = __builtin_ia32_stmxcsr();
    __builtin_ia32_ldmxcsr((mxcsr & ~0x6000U) | 0x4000U); /* round up */
    uint64_t rdx = 0x1111111111111111ULL, r8 = 0x2222222222222222ULL, r9 = 0x3333333333333333ULL,
             r10 = 0x4444444444444444ULL;
    uint64_t xmm_in[2] = {0x5555555555555555ULL, 0x6666666666666666ULL}, xmm_out[2];
    long number = SYS_kill;
    __asm__ volatile("movdqu (%[in]), %%xmm6\n"
                     "mov %[rdx], %%rdx\n mov %[r8], %%r8\n mov %[r9], %%r9\n mov %[r10], %%r10\n"
                     "syscall\n"
                     "mov %%rdx, %[rdx]\n mov %%r8, %[r8]\n mov %%r9, %[r9]\n mov %%r10, %[r10]\n"
                     "movdqu %%xmm6, (%[out])\n"
                     : [rdx] "+m"(rdx), [r8] "+m"(r8), [r9] "+m"(r9), [r10] "+m"(r10), "+a"(number)
                     : [in] "r"(xmm_in), [out] "r"(xmm_out), "D"((long)getpid()), "S"((long)SIGUSR1)
                     : "rcx", "r11", "rdx", "r8", "r9", "r10", "xmm6", "memory");
    CHECK(number == 0);
    CHECK(rdx == 0x1111111111111111ULL && r8 == 0x2222222222222222ULL);
    CHECK(r9 == 0x3333333333333333ULL && r10 == 0x4444444444444444ULL);
    CHECK(xmm_out[0] == xmm_in[0] && xmm_out[1] == xmm_in[1]);
    CHECK((__builtin_ia32_stmxcsr() & 0x6000U) == 0x4000U);
    __builtin_ia32_ldmxcsr(mxcsr);
    printf("registers and FP state restored: %s\n", failures ? "no" : "yes");
}

static sigjmp_buf escape;
static volatile void *fault_address;
static volatile int fault_code, fault_signal;
static volatile int address_is_rip;
static char *protected_page;

static void on_fault(int signal, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    fault_signal = signal;
    fault_code = info->si_code;
    fault_address = info->si_addr;
    address_is_rip = (uintptr_t)info->si_addr == (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    siglongjmp(escape, 1);
}

static void on_fault_fix(int signal, siginfo_t *info, void *context)
{
    (void)context;
    fault_signal = signal;
    fault_code = info->si_code;
    fault_address = info->si_addr;
    /* A garbage collector's trick: open the page and retry. */
    mprotect(protected_page, 4096, PROT_READ | PROT_WRITE);
}

static int volatile zero;

static void scenario_faults(void)
{
    install(SIGSEGV, on_fault, 0);
    install(SIGFPE, on_fault, 0);
    install(SIGILL, on_fault, 0);

    if (sigsetjmp(escape, 1) == 0)
        *(volatile int *)0x10 = 1;
    printf("null write: signal %d code %d address 0x%lx\n", fault_signal, fault_code,
           (unsigned long)(uintptr_t)fault_address);
    CHECK(fault_signal == SIGSEGV && fault_code == SEGV_MAPERR && fault_address == (void *)0x10);

    /* After a siglongjmp out, the next fault is caught again. */
    fault_signal = 0;
    if (sigsetjmp(escape, 1) == 0)
        (void)*(volatile int *)0x18;
    CHECK(fault_signal == SIGSEGV && fault_address == (void *)0x18);

    if (sigsetjmp(escape, 1) == 0)
        printf("%d\n", 7 / zero);
    printf("division by zero: signal %d code %d, address is the instruction: %d\n", fault_signal,
           fault_code, address_is_rip);
    CHECK(fault_signal == SIGFPE && fault_code == FPE_INTDIV && address_is_rip);

    if (sigsetjmp(escape, 1) == 0)
        __asm__ volatile("ud2");
    printf("ud2: signal %d code %d, address is the instruction: %d\n", fault_signal, fault_code,
           address_is_rip);
    CHECK(fault_signal == SIGILL && fault_code == ILL_ILLOPN && address_is_rip);

    protected_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    install(SIGSEGV, on_fault_fix, 0);
    protected_page[100] = 42;
    printf("write to a read-only page: signal %d code %d at page+%ld, then the write took: %d\n",
           fault_signal, fault_code, (long)((char *)fault_address - protected_page),
           protected_page[100]);
    CHECK(fault_code == SEGV_ACCERR && protected_page[100] == 42);
}

static volatile int trap_count;

static void on_trap(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)info;
    (void)context;
    trap_count++;
}

/* int3 with a handler: the program goes on after it. */
static void scenario_trap(void)
{
    install(SIGTRAP, on_trap, 0);
    __asm__ volatile("int3");
    __asm__ volatile("int3");
    printf("int3 handled %d times\n", trap_count);
    CHECK(trap_count == 2);
}

static volatile int on_alternate;
static char *alternate_base;

static void on_overflow(int signal, siginfo_t *info, void *context)
{
    (void)info;
    (void)context;
    char here;
    on_alternate = &here > alternate_base && &here < alternate_base + SIGSTKSZ * 4;
    fault_signal = signal;
    siglongjmp(escape, 1);
}

static volatile long depth_limit = 1L << 40;

static long recurse(long depth)
{
    volatile char frame[4096];
    frame[0] = (char)depth;
    if (depth >= depth_limit)
        return frame[0];
    return recurse(depth + 1) + frame[0];
}

static void scenario_altstack(void)
{
    stack_t stack = {.ss_size = SIGSTKSZ * 4, .ss_flags = 0};
    alternate_base = malloc(stack.ss_size);
    stack.ss_sp = alternate_base;
    CHECK(sigaltstack(&stack, NULL) == 0);
    install(SIGSEGV, on_overflow, SA_ONSTACK);
    if (sigsetjmp(escape, 1) == 0)
        recurse(0);
    printf("stack overflow: signal %d, handled on the alternate stack: %d\n", fault_signal,
           on_alternate);
    CHECK(fault_signal == SIGSEGV && on_alternate);
    stack_t now;
    sigaltstack(NULL, &now);
    CHECK(now.ss_flags == 0 && now.ss_sp == alternate_base);
}

static void on_alarm(int signal)
{
    (void)signal;
    count++;
}

static int feed_fd = -1;

static void on_alarm_feed(int signal)
{
    (void)signal;
    count++;
    if (write(feed_fd, "x", 1) != 1)
        _exit(3);
}

/* A read blocked on an empty pipe, interrupted by alarm(). */
static void scenario_alarm_read(int restart)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(2);
    feed_fd = fds[1];
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = restart ? on_alarm_feed : on_alarm;
    action.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &action, NULL);
    alarm(1);
    char byte;
    ssize_t n = read(fds[0], &byte, 1);
    int error = errno;
    if (restart)
        printf("SA_RESTART: read returned %zd (%c) after %d alarm\n", n, n == 1 ? byte : '?',
               (int)count);
    else
        printf("no SA_RESTART: read returned %zd (%s) after %d alarm\n", n,
               n < 0 && error == EINTR ? "EINTR" : "?", (int)count);
    CHECK(count == 1);
    CHECK(restart ? n == 1 : (n == -1 && error == EINTR));
}

/* setitimer: three ticks of ITIMER_REAL, taken with sigsuspend. */
static void scenario_itimer(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_alarm;
    sigaction(SIGALRM, &action, NULL);
    block(SIGALRM, SIG_BLOCK);
    struct itimerval value = {{0, 20000}, {0, 20000}}, now;
    CHECK(setitimer(ITIMER_REAL, &value, NULL) == 0);
    sigset_t open;
    sigprocmask(SIG_SETMASK, NULL, &open);
    sigdelset(&open, SIGALRM);
    count = 0;
    while (count < 3) {
        int result = sigsuspend(&open);
        CHECK(result == -1 && errno == EINTR);
    }
    CHECK(getitimer(ITIMER_REAL, &now) == 0);
    CHECK(now.it_interval.tv_usec == 20000 && now.it_interval.tv_sec == 0);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    getitimer(ITIMER_REAL, &now);
    CHECK(now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0);
    printf("ITIMER_REAL: %d ticks through sigsuspend, then off\n", (int)count);

    /* ITIMER_PROF counts CPU time. SIGPROF stays blocked but in sigsuspend,
     * as SIGALRM above: a tick due between the second and the timer's end
     * (a window of a syscall, wide on a slow engine) is never taken. */
    action.sa_handler = on_alarm;
    sigaction(SIGPROF, &action, NULL);
    block(SIGPROF, SIG_BLOCK);
    sigdelset(&open, SIGPROF);
    count = 0;
    struct itimerval prof = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_PROF, &prof, NULL);
    /* A syscall in the loop: under PVM's KVM, guest time without exits is
     * not seen by the host's CPU-time timers. */
    while (count < 2) {
        sigset_t pending;
        getppid();
        sigpending(&pending);
        if (sigismember(&pending, SIGPROF))
            sigsuspend(&open);
    }
    setitimer(ITIMER_PROF, &off, NULL);
    /* Ignoring it discards a tick still pending. */
    action.sa_handler = SIG_IGN;
    sigaction(SIGPROF, &action, NULL);
    block(SIGPROF, SIG_UNBLOCK);
    printf("ITIMER_PROF: %d ticks while spinning\n", (int)count);
}

/* A POSIX timer's signal, taken with sigtimedwait. */
static void scenario_timer(void)
{
    block(SIGRTMIN + 1, SIG_BLOCK);
    struct sigevent event;
    memset(&event, 0, sizeof(event));
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGRTMIN + 1;
    event.sigev_value.sival_int = 1234;
    timer_t timer;
    CHECK(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
    struct itimerspec spec = {{0, 0}, {0, 30 * 1000 * 1000}};
    CHECK(timer_settime(timer, 0, &spec, NULL) == 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    siginfo_t info;
    struct timespec limit = {10, 0};
    int signal = sigtimedwait(&set, &info, &limit);
    printf("timer: signal is SIGRTMIN+%d, code SI_TIMER %d, value %d\n", signal - SIGRTMIN,
           info.si_code == SI_TIMER, info.si_value.sival_int);
    CHECK(signal == SIGRTMIN + 1 && info.si_value.sival_int == 1234);
    CHECK(timer_delete(timer) == 0);
    struct timespec short_wait = {0, 10 * 1000 * 1000};
    CHECK(sigtimedwait(&set, &info, &short_wait) == -1 && errno == EAGAIN);
}

static void on_pipe(int signal)
{
    (void)signal;
    count++;
}

/* A write to a pipe nobody reads: SIGPIPE, or EPIPE when handled/ignored. */
static void scenario_pipe(const char *how)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(2);
    close(fds[0]);
    if (strcmp(how, "ignore") == 0)
        signal(SIGPIPE, SIG_IGN);
    else if (strcmp(how, "handle") == 0)
        signal(SIGPIPE, on_pipe);
    fflush(stdout);
    ssize_t n = write(fds[1], "x", 1);
    printf("write returned %zd (%s), handler ran %d times\n", n, errno == EPIPE ? "EPIPE" : "?",
           (int)count);
}

static void on_external(int signal)
{
    last_signal = signal;
}

static void scenario_wait(const char *mode);

static pthread_t main_thread;

static void *wait_in_thread(void *mode)
{
    /* Once the main thread is gone for sure (natively, a signal sent while
     * it was still exiting could be lost with it). */
    pthread_join(main_thread, NULL);
    scenario_wait(mode);
    exit(0);
}

/* Waits for a signal from outside (the test sends it once "ready" shows).
 * main-exit: the wait is a second thread's, the main thread has called
 * pthread_exit: the process's signal goes to the thread that is left. */
static void scenario_wait(const char *mode)
{
    if (strcmp(mode, "main-exit") == 0) {
        pthread_t thread;
        main_thread = pthread_self();
        if (pthread_create(&thread, NULL, wait_in_thread, (void *)"handle") != 0)
            exit(2);
        pthread_exit(NULL);
    }
    if (strcmp(mode, "handle") == 0) {
        /* Without SA_RESTART (signal() would set it): the read ends. */
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_handler = on_external;
        sigaction(SIGUSR1, &action, NULL);
        sigaction(SIGTERM, &action, NULL);
        sigaction(SIGINT, &action, NULL);
    }
    printf("ready\n");
    fflush(stdout);
    char byte;
    /* Blocked in a host call when the signal comes: a pipe nobody writes. */
    int fds[2];
    if (pipe(fds) != 0)
        exit(2);
    ssize_t n = read(fds[0], &byte, 1);
    printf("read returned %zd (%s) after signal %d\n", n, errno == EINTR ? "EINTR" : "?",
           (int)last_signal);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: signals SCENARIO\n");
        return 2;
    }
    const char *scenario = argv[1];
    if (strcmp(scenario, "basic") == 0)
        scenario_basic();
    else if (strcmp(scenario, "nodefer") == 0)
        scenario_nodefer();
    else if (strcmp(scenario, "registers") == 0)
        scenario_registers();
    else if (strcmp(scenario, "faults") == 0)
        scenario_faults();
    else if (strcmp(scenario, "trap") == 0)
        scenario_trap();
    else if (strcmp(scenario, "altstack") == 0)
        scenario_altstack();
    else if (strcmp(scenario, "alarm-read") == 0)
        scenario_alarm_read(0);
    else if (strcmp(scenario, "alarm-read-restart") == 0)
        scenario_alarm_read(1);
    else if (strcmp(scenario, "itimer") == 0)
        scenario_itimer();
    else if (strcmp(scenario, "timer") == 0)
        scenario_timer();
    else if (strcmp(scenario, "pipe") == 0)
        scenario_pipe(argc > 2 ? argv[2] : "default");
    else if (strcmp(scenario, "wait") == 0)
        scenario_wait(argc > 2 ? argv[2] : "default");
    else if (strcmp(scenario, "raise-term") == 0)
        raise(SIGTERM);
    else if (strcmp(scenario, "abort") == 0)
        abort();
    else {
        fprintf(stderr, "signals: unknown scenario %s\n", scenario);
        return 2;
    }
    return failures ? 1 : 0;
}
