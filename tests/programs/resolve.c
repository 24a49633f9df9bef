/*
 * resolve.c — name resolution as the C library does it: getaddrinfo (the
 * host's /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf; static glibc
 * loads its NSS modules with dlopen, and its linker warns about it) and
 * getnameinfo, for each NAME given.
 *
 * usage: resolve NAME...
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        struct addrinfo hints, *result;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        int error = getaddrinfo(argv[i], "80", &hints, &result);
        if (error) {
            printf("%s: %s\n", argv[i], error == EAI_NONAME ? "no such name" : "error");
            continue;
        }
        char text[INET_ADDRSTRLEN], host[NI_MAXHOST];
        struct sockaddr_in *address = (struct sockaddr_in *)result->ai_addr;
        inet_ntop(AF_INET, &address->sin_addr, text, sizeof(text));
        printf("%s: %s port %d", argv[i], text, ntohs(address->sin_port));
        if (getnameinfo(result->ai_addr, result->ai_addrlen, host, sizeof(host), NULL, 0,
                        NI_NUMERICHOST) == 0)
            printf(", numeric %s", host);
        printf("\n");
        freeaddrinfo(result);
    }
    return 0;
}
