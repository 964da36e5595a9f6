/*
 * The data-plane benchmark's worker: a small, fast HTTP/1.1 keep-alive server, so that what
 * bench/data-plane.sh measures is the proxy in front of it (herd, nginx or HAProxy), not the
 * worker.
 *
 * Usage: worker PORT
 *
 * Listens on 127.0.0.1:PORT. One thread, one epoll loop, non-blocking sockets, any number of
 * keep-alive connections (the proxies in front pool several per worker). Answers:
 *   GET /health  200, "ok\n"
 *   GET /5b      200, a 5-byte body ("hello")
 *   GET /16k     200, a 16 KiB body
 *   other paths  404; a method other than GET or HEAD 405; a chunked request body 501 (then close)
 * A query string is ignored. A request body with Content-Length is read and discarded.
 * Pipelined requests are answered in order; the next one is parsed only once the previous
 * answer is written, so a slow reader holds at most one answer. HTTP/1.0 or "Connection: close"
 * closes the connection after the answer. SIGTERM ends it at once (default disposition);
 * stdin, stdout and stderr are not used after start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_CAP 16384       /* largest request head (and pipelined backlog) held per connection */
#define LARGE_BODY 16384

struct response {
  char *bytes;
  size_t len;
};

/* Every answer is built once at start-up: the hot path only copies pointers. */
static struct response HEALTH, SMALL, LARGE, NOT_FOUND, NOT_ALLOWED, NOT_IMPLEMENTED,
    TOO_LARGE, BAD_REQUEST;

struct conn {
  int fd;
  char in[IN_CAP];
  size_t in_len;        /* bytes of in[] not yet consumed */
  size_t body_left;     /* request body bytes still to discard */
  const char *out;      /* the answer being written, or NULL */
  size_t out_len, out_off;
  int close_after;      /* close once out is written */
  int head_only;        /* the request was HEAD: the answer's head without its body */
  int want_out;         /* registered for EPOLLOUT rather than EPOLLIN */
};

static struct conn **conns;
static size_t conns_cap;
static int epfd;

static struct response make_response(const char *status, const char *body, size_t body_len,
                                     int close) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
                   status, body_len, close ? "Connection: close\r\n" : "");
  struct response r;
  r.len = (size_t)n + body_len;
  r.bytes = malloc(r.len);
  if (r.bytes == NULL) {
    perror("worker: malloc");
    exit(1);
  }
  memcpy(r.bytes, head, (size_t)n);
  memcpy(r.bytes + n, body, body_len);
  return r;
}

static void build_responses(void) {
  static char large[LARGE_BODY];
  for (size_t i = 0; i < sizeof large; i++) large[i] = (char)('a' + i % 26);
  large[sizeof large - 1] = '\n';
  HEALTH = make_response("200 OK", "ok\n", 3, 0);
  SMALL = make_response("200 OK", "hello", 5, 0);
  LARGE = make_response("200 OK", large, sizeof large, 0);
  NOT_FOUND = make_response("404 Not Found", "not found\n", 10, 0);
  NOT_ALLOWED = make_response("405 Method Not Allowed", "method not allowed\n", 19, 0);
  NOT_IMPLEMENTED = make_response("501 Not Implemented", "chunked bodies not supported\n", 29, 1);
  TOO_LARGE = make_response("431 Request Header Fields Too Large", "head too large\n", 15, 1);
  BAD_REQUEST = make_response("400 Bad Request", "bad request\n", 12, 1);
}

static void set_events(struct conn *c, int want_out) {
  if (c->want_out == want_out) return;
  struct epoll_event ev = {.events = want_out ? EPOLLOUT : EPOLLIN, .data.fd = c->fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want_out;
}

static void close_conn(struct conn *c) {
  conns[c->fd] = NULL;
  close(c->fd); /* also removes it from the epoll set */
  free(c);
}

/* Case-insensitive search of header `name` (with the colon) in head[0..len); returns its value. */
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen) {
  size_t nlen = strlen(name);
  const char *p = memchr(head, '\n', len); /* skip the request line */
  const char *end = head + len;
  while (p != NULL && p + 1 < end) {
    p++;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0) {
      const char *v = p + nlen;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      *vlen = (size_t)(ve - v);
      return v;
    }
    p = eol;
  }
  return NULL;
}

static int value_is(const char *v, size_t vlen, const char *want) {
  return v != NULL && vlen == strlen(want) && strncasecmp(v, want, vlen) == 0;
}

/* Chooses the answer to one complete request head; sets close_after and body_left. */
static const struct response *answer(struct conn *c, const char *head, size_t len) {
  c->head_only = 0;
  const char *sp1 = memchr(head, ' ', len);
  if (sp1 == NULL) return &BAD_REQUEST;
  const char *path = sp1 + 1;
  const char *sp2 = memchr(path, ' ', len - (size_t)(path - head));
  if (sp2 == NULL) return &BAD_REQUEST;
  size_t plen = (size_t)(sp2 - path);
  const char *q = memchr(path, '?', plen);
  if (q != NULL) plen = (size_t)(q - path);
  int http10 = strncmp(sp2 + 1, "HTTP/1.0", 8) == 0;

  size_t vlen;
  const char *v = header_value(head, len, "connection:", &vlen);
  c->close_after = http10 ? !value_is(v, vlen, "keep-alive") : value_is(v, vlen, "close");
  v = header_value(head, len, "transfer-encoding:", &vlen);
  if (v != NULL) return &NOT_IMPLEMENTED;
  v = header_value(head, len, "content-length:", &vlen);
  if (v != NULL) {
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (end != v + vlen || vlen == 0) return &BAD_REQUEST;
    c->body_left = (size_t)n;
  }

  int get = (size_t)(sp1 - head) == 3 && memcmp(head, "GET", 3) == 0;
  c->head_only = (size_t)(sp1 - head) == 4 && memcmp(head, "HEAD", 4) == 0;
  if (!get && !c->head_only) return &NOT_ALLOWED;
  if (plen == 7 && memcmp(path, "/health", 7) == 0) return &HEALTH;
  if (plen == 3 && memcmp(path, "/5b", 3) == 0) return &SMALL;
  if (plen == 4 && memcmp(path, "/16k", 4) == 0) return &LARGE;
  return &NOT_FOUND;
}

/* Writes what is pending; returns 0 when done, 1 when it must wait for EPOLLOUT, -1 to close. */
static int flush(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 1;
    } else {
      return -1;
    }
  }
  c->out = NULL;
  return c->close_after ? -1 : 0;
}

/* Answers every complete request in the buffer, stopping while an answer waits to be written. */
static int serve(struct conn *c) {
  for (;;) {
    if (c->out != NULL) {
      int r = flush(c);
      if (r != 0) return r;
    }
    if (c->body_left > 0) {
      size_t skip = c->body_left < c->in_len ? c->body_left : c->in_len;
      memmove(c->in, c->in + skip, c->in_len - skip);
      c->in_len -= skip;
      c->body_left -= skip;
      if (c->body_left > 0) return 0;
    }
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (end == NULL) {
      if (c->in_len == IN_CAP) {
        c->out = TOO_LARGE.bytes, c->out_len = TOO_LARGE.len, c->out_off = 0;
        c->close_after = 1;
        continue;
      }
      return 0;
    }
    size_t head_len = (size_t)(end - c->in) + 4;
    const struct response *r = answer(c, c->in, head_len);
    if (r == &NOT_IMPLEMENTED || r == &BAD_REQUEST) c->close_after = 1;
    c->out = r->bytes;
    /* HEAD: the same head without the body (every answer's body follows its blank line) */
    c->out_len = c->head_only ? (size_t)(strstr(r->bytes, "\r\n\r\n") - r->bytes) + 4 : r->len;
    c->out_off = 0;
    memmove(c->in, c->in + head_len, c->in_len - head_len);
    c->in_len -= head_len;
  }
}

static void on_readable(struct conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
    if (n > 0) {
      c->in_len += (size_t)n;
      int r = serve(c);
      if (r < 0) {
        close_conn(c);
        return;
      }
      if (r == 1) {
        set_events(c, 1);
        return;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      close_conn(c);
      return;
    }
  }
}

static void on_writable(struct conn *c) {
  int r = serve(c);
  if (r < 0) {
    close_conn(c);
  } else if (r == 0) {
    set_events(c, 0);
  }
}

static void accept_all(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN, or out of descriptors: try again on the next event */
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((size_t)fd >= conns_cap) {
      size_t cap = conns_cap * 2;
      while (cap <= (size_t)fd) cap *= 2;
      struct conn **grown = realloc(conns, cap * sizeof *conns);
      if (grown == NULL) {
        close(fd);
        continue;
      }
      memset(grown + conns_cap, 0, (cap - conns_cap) * sizeof *conns);
      conns = grown;
      conns_cap = cap;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    c->fd = fd;
    conns[fd] = c;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  char *end;
  long port = strtol(argv[1], &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "worker: invalid port: %s (expected: 1-65535)\n", argv[1]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  build_responses();

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) {
    fprintf(stderr, "worker: cannot listen on port %ld: %s\n", port, strerror(errno));
    return 1;
  }

  conns_cap = 256;
  conns = calloc(conns_cap, sizeof *conns);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (conns == NULL || epfd < 0) {
    perror("worker: start");
    return 1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);

  struct epoll_event events[128];
  for (;;) {
    int n = epoll_wait(epfd, events, 128, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("worker: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        accept_all(lfd);
        continue;
      }
      struct conn *c = (size_t)fd < conns_cap ? conns[fd] : NULL;
      if (c == NULL) continue;
      if (events[i].events & EPOLLOUT) {
        on_writable(c);
      } else {
        on_readable(c); /* EPOLLIN, or EPOLLHUP/EPOLLERR: recv reports what happened */
      }
    }
  }
}
