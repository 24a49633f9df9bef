/* pause_race: `while (!flag) pause();` on a thread, and a process-directed
 * signal whose handler sets flag, sent while that thread is entering pause.
 * On Linux the call, entered with the signal pending, returns EINTR once the
 * handler has run, and the loop ends. hermitux-run made the call again
 * after the handler when the signal's kick came before the call was made,
 * and the thread slept for ever (1 run in 20 of signal_targets under load;
 * the test widens the window with HERMITUX_TEST_PAUSE_DELAY_MS). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t flag;
static volatile int ready, interrupted;

static void on_usr1(int signal)
{
    (void)signal;
    flag = 1;
}

static void *waiter(void *unused)
{
    (void)unused;
    __atomic_store_n(&ready, 1, __ATOMIC_SEQ_CST);
    while (!flag) {
        if (pause() == -1 && errno == EINTR)
            interrupted = 1;
    }
    return NULL;
}

int main(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1; /* no SA_RESTART: pause never restarts anyway */
    sigaction(SIGUSR1, &action, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* the signal is the waiter's to take */
    while (!__atomic_load_n(&ready, __ATOMIC_SEQ_CST))
        usleep(1000);
    usleep(100 * 1000); /* the waiter is in pause, or (the test hook) entering it */
    kill(getpid(), SIGUSR1);
    pthread_join(thread, NULL);
    printf("woken: flag %d, pause interrupted: %s\n", (int)flag, interrupted ? "yes" : "no");
    return 0;
}
