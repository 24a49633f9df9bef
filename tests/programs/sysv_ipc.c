/* sysv_ipc: System V shared memory, semaphores and message queues as
 * PostgreSQL, ipcmk and older servers use them, between a process and its
 * fork child: a segment written on both sides, detached and removed; a
 * semaphore set the child posts and the parent waits on, values set and
 * read whole, a timed wait that times out and a wait a signal interrupts
 * (EINTR even with SA_RESTART); messages of two types received by type.
 * Every object is private (IPC_PRIVATE) and removed at the end. Prints only
 * facts that are the same on every run; exits non-zero on a failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int wait_child(pid_t child)
{
    int status;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void shared_memory(void)
{
    int id = shmget(IPC_PRIVATE, 3 * 4096 + 100, IPC_CREAT | 0600);
    check("shmget", id >= 0);
    char *data = shmat(id, NULL, 0);
    check("shmat", data != (void *)-1);
    if (data == (void *)-1)
        return;
    strcpy(data, "parent");
    strcpy(data + 3 * 4096 + 50, "tail");
    struct shmid_ds status;
    check("IPC_STAT: size and one attach", shmctl(id, IPC_STAT, &status) == 0 &&
                                               status.shm_segsz == 3 * 4096 + 100 &&
                                               status.shm_nattch >= 1);
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int named = 0;
    while (maps && fgets(line, sizeof(line), maps))
        named += strstr(line, "/SYSV00000000") != NULL;
    if (maps)
        fclose(maps);
    check("/proc/self/maps names it /SYSV00000000", named >= 1);
    pid_t child = fork();
    if (child == 0) {
        /* Inherited across fork, and attached again by id. */
        char *again = shmat(id, NULL, SHM_RDONLY);
        int ok = strcmp(data, "parent") == 0 && again != (void *)-1 &&
                 strcmp(again + 3 * 4096 + 50, "tail") == 0;
        strcpy(data, "child");
        shmdt(again);
        _exit(ok ? 0 : 1);
    }
    check("the child saw the parent's bytes", wait_child(child) == 0);
    check("the parent sees the child's", strcmp(data, "child") == 0);
    check("shmdt", shmdt(data) == 0);
    check("shmdt again: EINVAL", shmdt(data) == -1 && errno == EINVAL);
    check("IPC_RMID", shmctl(id, IPC_RMID, NULL) == 0);
    check("shmat after IPC_RMID: EINVAL or EIDRM",
          shmat(id, NULL, 0) == (void *)-1 && (errno == EINVAL || errno == EIDRM));
}

static void on_alarm(int signal_number)
{
    (void)signal_number;
}

static void semaphores(void)
{
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    check("semget", id >= 0);
    unsigned short values[2] = {0, 7};
    check("SETALL", semctl(id, 0, SETALL, values) == 0);
    check("GETVAL", semctl(id, 1, GETVAL) == 7);
    check("SETVAL", semctl(id, 1, SETVAL, 3) == 0);
    pid_t child = fork();
    if (child == 0) {
        struct sembuf post = {0, 2, 0};
        _exit(semop(id, &post, 1) == 0 ? 0 : 1);
    }
    struct sembuf take = {0, -2, 0};
    check("semop waits for the child's post", semop(id, &take, 1) == 0);
    check("the child posted", wait_child(child) == 0);
    unsigned short now[2] = {9, 9};
    check("GETALL", semctl(id, 0, GETALL, now) == 0 && now[0] == 0 && now[1] == 3);
    struct timespec short_wait = {0, 20000000};
    check("semtimedop times out: EAGAIN",
          semtimedop(id, &take, 1, &short_wait) == -1 && errno == EAGAIN);
    struct sigaction action = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &action, NULL);
    struct itimerval in_a_while = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &in_a_while, NULL);
    check("a signal interrupts semop: EINTR despite SA_RESTART",
          semop(id, &take, 1) == -1 && errno == EINTR);
    struct semid_ds status;
    check("IPC_STAT: two semaphores",
          semctl(id, 0, IPC_STAT, &status) == 0 && status.sem_nsems == 2);
    check("IPC_RMID", semctl(id, 0, IPC_RMID) == 0);
}

struct message {
    long type;
    char text[32];
};

static void message_queues(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    check("msgget", id >= 0);
    pid_t child = fork();
    if (child == 0) {
        struct message first = {1, "first"}, second = {2, "second"};
        int ok = msgsnd(id, &first, sizeof(first.text), 0) == 0 &&
                 msgsnd(id, &second, sizeof(second.text), 0) == 0;
        _exit(ok ? 0 : 1);
    }
    check("the child sent two messages", wait_child(child) == 0);
    struct message got;
    memset(&got, 0, sizeof(got));
    check("msgrcv of type 2 first", msgrcv(id, &got, sizeof(got.text), 2, 0) == sizeof(got.text) &&
                                        got.type == 2 && strcmp(got.text, "second") == 0);
    check("then type 1", msgrcv(id, &got, sizeof(got.text), 0, 0) == sizeof(got.text) &&
                             got.type == 1 && strcmp(got.text, "first") == 0);
    check("empty: ENOMSG",
          msgrcv(id, &got, sizeof(got.text), 0, IPC_NOWAIT) == -1 && errno == ENOMSG);
    struct msqid_ds status;
    check("IPC_STAT: nothing queued", msgctl(id, IPC_STAT, &status) == 0 && status.msg_qnum == 0);
    check("IPC_RMID", msgctl(id, IPC_RMID, NULL) == 0);
}

int main(void)
{
    shared_memory();
    semaphores();
    message_queues();
    return failures != 0;
}
