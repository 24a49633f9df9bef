/* http-load: COUNT sequential HTTP/1.1 GETs to 127.0.0.1:PORT, each answer checked
 * (tests/programs/http_server answers "hello PATH\n"); prints the elapsed nanoseconds.
 *
 *   http-load PORT COUNT keepalive|close
 *
 * keepalive sends every request over one connection, close opens a fresh connection per
 * request (connect, accept, close on both sides). Exits 1 on any wrong or missing
 * answer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        perror("http-load: connect");
        exit(1);
    }
    return fd;
}

/* Sends request i and reads its whole answer; 0 if it was right. */
static int request(int fd, long i, int close_after)
{
    char text[256], expected[64], answer[1024];
    int length = snprintf(text, sizeof(text), "GET /%ld HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", i,
                          close_after ? "Connection: close\r\n" : "");
    if (send(fd, text, (size_t)length, 0) != length)
        return -1;
    int body_length = snprintf(expected, sizeof(expected), "hello /%ld\n", i);
    size_t used = 0;
    for (;;) {
        ssize_t n = recv(fd, answer + used, sizeof(answer) - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        answer[used] = '\0';
        char *body = strstr(answer, "\r\n\r\n");
        if (body && strlen(body + 4) >= (size_t)body_length)
            return strcmp(body + 4, expected) == 0 && strncmp(answer, "HTTP/1.1 200", 12) == 0 ? 0
                                                                                               : -1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: http-load PORT COUNT keepalive|close\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long count = atol(argv[2]);
    int close_each = strcmp(argv[3], "close") == 0;
    uint64_t start = now_ns();
    int fd = -1;
    for (long i = 0; i < count; i++) {
        if (fd < 0)
            fd = connect_to(port);
        if (request(fd, i, close_each) != 0) {
            fprintf(stderr, "http-load: request %ld got a wrong answer\n", i);
            return 1;
        }
        if (close_each) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    printf("%llu\n", (unsigned long long)(now_ns() - start));
    return 0;
}
