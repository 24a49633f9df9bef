/*
 * http_server.c — a small HTTP/1.1 server on epoll: listens on 127.0.0.1 on a
 * port the kernel picks, writes that port to PORTFILE (atomically, by
 * rename), answers every GET with "hello PATH\n" (keep-alive unless the
 * client says close), and exits after COUNT requests. Prints only the counts.
 *
 * usage: http_server PORTFILE COUNT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 1024

struct connection {
    char buffer[4096];
    size_t used;
};

static struct connection *connections[MAX_FDS];

static int listen_loopback(const char *port_file)
{
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 ||
        listen(listener, 128) != 0)
        return -1;
    socklen_t length = sizeof(address);
    getsockname(listener, (struct sockaddr *)&address, &length);
    char temporary[4096];
    snprintf(temporary, sizeof(temporary), "%s.tmp", port_file);
    FILE *file = fopen(temporary, "w");
    if (!file)
        return -1;
    fprintf(file, "%d\n", ntohs(address.sin_port));
    fclose(file);
    return rename(temporary, port_file) == 0 ? listener : -1;
}

static void drop(int epoll, int fd)
{
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(connections[fd]);
    connections[fd] = NULL;
}

/* Writes all of a small response (the socket buffer always has room). */
static int send_all(int fd, const char *data, size_t length)
{
    while (length) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Answers every complete request in the buffer, counting them in *served;
 * returns -1 when the connection is to be closed. */
static int answer(int fd, long *served)
{
    struct connection *c = connections[fd];
    char *end;
    while ((end = memmem(c->buffer, c->used, "\r\n\r\n", 4))) {
        size_t request_length = (size_t)(end - c->buffer) + 4;
        char path[256] = "/";
        sscanf(c->buffer, "GET %255s", path);
        c->buffer[request_length - 1] = '\0';
        int close_after = strcasestr(c->buffer, "connection: close") != NULL;
        char body[300], response[512];
        int body_length = snprintf(body, sizeof(body), "hello %s\n", path);
        int length = snprintf(response, sizeof(response),
                              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              "Content-Length: %d\r\n%s\r\n%s",
                              body_length, close_after ? "Connection: close\r\n" : "", body);
        if (send_all(fd, response, (size_t)length) != 0)
            return -1;
        ++*served;
        memmove(c->buffer, c->buffer + request_length, c->used - request_length);
        c->used -= request_length;
        if (close_after)
            return -1;
    }
    /* A full buffer without a complete request: too long for us. */
    return c->used == sizeof(c->buffer) ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: http_server PORTFILE COUNT\n");
        return 2;
    }
    long wanted = atol(argv[2]);
    int listener = listen_loopback(argv[1]);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    if (listener < 0 || epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event) != 0) {
        perror("http_server: listen");
        return 1;
    }
    long served = 0;
    while (served < wanted) {
        struct epoll_event events[64];
        /* A bounded wait: a test that stops sending ends here, not never. */
        int n = epoll_wait(epoll, events, 64, 20000);
        if (n <= 0) {
            fprintf(stderr, "http_server: %s after %ld requests\n",
                    n == 0 ? "no request for 20 s" : "epoll_wait failed", served);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
                       0) {
                    if (client >= MAX_FDS) {
                        close(client);
                        continue;
                    }
                    int on = 1;
                    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
                    connections[client] = calloc(1, sizeof(struct connection));
                    struct epoll_event add = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = client};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, client, &add);
                }
                continue;
            }
            struct connection *c = connections[fd];
            ssize_t got = recv(fd, c->buffer + c->used, sizeof(c->buffer) - c->used, 0);
            if (got < 0 && errno == EAGAIN)
                continue;
            if (got <= 0) {
                drop(epoll, fd);
                continue;
            }
            c->used += (size_t)got;
            if (answer(fd, &served) < 0)
                drop(epoll, fd);
        }
    }
    printf("served %ld requests\n", served);
    return 0;
}
