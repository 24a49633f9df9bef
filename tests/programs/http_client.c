/*
 * http_client.c — fetches http://127.0.0.1:PORT/PATH with HTTP/1.0 over a
 * blocking socket and prints the status line, the body's length and a
 * checksum of it (headers carry dates, so they are not printed). With COUNT,
 * fetches it COUNT times over fresh connections and prints the checksum once
 * (a benchmark loop).
 *
 * usage: http_client PORT PATH [COUNT]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char response[4 << 20];

/* One request; returns the response's length or -1. */
static long fetch(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        perror("http_client: connect");
        return -1;
    }
    char request[512];
    int length = snprintf(request, sizeof(request),
                          "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (send(fd, request, (size_t)length, 0) != length) {
        perror("http_client: send");
        close(fd);
        return -1;
    }
    size_t used = 0;
    ssize_t n;
    while (used < sizeof(response) &&
           (n = recv(fd, response + used, sizeof(response) - used, 0)) > 0)
        used += (size_t)n;
    close(fd);
    return n < 0 ? -1 : (long)used;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: http_client PORT PATH [COUNT]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long count = argc == 4 ? atol(argv[3]) : 1;
    long length = -1;
    for (long i = 0; i < count; i++) {
        length = fetch(port, argv[2]);
        if (length < 0)
            return 1;
    }
    char *body = memmem(response, (size_t)length, "\r\n\r\n", 4);
    char *line_end = memchr(response, '\r', (size_t)length);
    if (!body || !line_end) {
        fprintf(stderr, "http_client: malformed response\n");
        return 1;
    }
    body += 4;
    size_t body_length = (size_t)(response + length - body);
    unsigned long sum = 0;
    for (size_t i = 0; i < body_length; i++)
        sum = sum * 31 + (unsigned char)body[i];
    printf("%.*s\n", (int)(line_end - response), response);
    printf("body: %zu bytes, checksum %lx\n", body_length, sum);
    if (body_length < 200)
        printf("%.*s", (int)body_length, body);
    return 0;
}
