/* popen_system: system() and popen() in both directions; they run /bin/sh, so under
 * hermitux-run /bin/sh is a guest process too. Prints only deterministic facts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int main(void)
{
    fflush(stdout);
    int status = system("echo from system; exit 3");
    printf("system: %s %d\n", WIFEXITED(status) ? "exited" : "other", WEXITSTATUS(status));
    FILE *in = popen("echo one; echo two", "r");
    char line[128];
    while (in && fgets(line, sizeof(line), in))
        printf("popen read: %s", line);
    printf("pclose(r): %d\n", in ? WEXITSTATUS(pclose(in)) : -1);
    fflush(stdout);
    FILE *out = popen("read a; read b; echo \"shell got: $b $a\"; exit 5", "w");
    if (out) {
        fputs("first\nsecond\n", out);
        printf("pclose(w): %d\n", WEXITSTATUS(pclose(out)));
    }
    return 0;
}
