/* shared_sem: a process-shared semaphore between a parent and its child
 * (each single-threaded): the child waits, the parent posts later. */
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    sem_t *sem =
        mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sem == MAP_FAILED || sem_init(sem, 1, 0) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        if (sem_wait(sem) != 0)
            return 2;
        printf("child: posted to\n");
        return 0;
    }
    usleep(200000);
    sem_post(sem);
    int status;
    waitpid(child, &status, 0);
    printf("parent: child status %d\n", WEXITSTATUS(status));
    return 0;
}
