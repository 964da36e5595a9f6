/*
 * The tunnel benchmark's worker (bench/pool-goals.sh, part "tunnels"): a WebSocket echo server
 * that holds thousands of idle connections in one thread and one epoll set.
 *
 * Usage: pool-ws-worker PORT
 *
 * Listens on 127.0.0.1:PORT. GET /health answers 200 and closes. A request with
 * "Upgrade: websocket" and a Sec-WebSocket-Key gets 101 with the matching Sec-WebSocket-Accept
 * (RFC 6455 section 4.2.2); from then on every data frame is echoed with the same opcode, a ping
 * answered with a pong, a close frame with a close frame and the end of the connection. Frames
 * must fit the 64 KiB connection buffer (the benchmark sends a few bytes). Anything else gets 404
 * and a close. At start the soft descriptor limit is raised to the hard one, since the gateway
 * may have started the worker with its own soft limit. SIGTERM ends it at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_CAP 65536

struct conn {
  int fd;
  int upgraded;
  size_t len;
  unsigned char buf[BUF_CAP];
};

/* ---- SHA-1 (FIPS 180-4), only for the handshake's accept value ---- */
static uint32_t rol(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  size_t total = ((len + 8) / 64 + 1) * 64;
  unsigned char *m = calloc(total, 1);
  if (m == NULL) abort();
  memcpy(m, msg, len);
  m[len] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) m[total - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (size_t off = 0; off < total; off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
      w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
             (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
    }
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6; }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  free(m);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (unsigned char)(h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(h[i] >> 8);
    out[4 * i + 3] = (unsigned char)h[i];
  }
}

static void base64(const unsigned char *in, size_t len, char *out) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < len ? in[i + 2] : 0);
    out[o++] = T[(v >> 18) & 63];
    out[o++] = T[(v >> 12) & 63];
    out[o++] = i + 1 < len ? T[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? T[v & 63] : '=';
  }
  out[o] = '\0';
}

/* Writes everything or fails: the replies are small and the socket buffer empty when idle. */
static int write_all(int fd, const void *p, size_t len) {
  const char *c = p;
  while (len > 0) {
    ssize_t n = write(fd, c, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    c += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Value of header NAME in HEAD (NUL-terminated), copied into OUT; 0 when absent. */
static int header(const char *head, const char *name, char *out, size_t cap) {
  size_t nlen = strlen(name);
  for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
    const char *l = line + 2;
    if (strncasecmp(l, name, nlen) == 0 && l[nlen] == ':') {
      const char *v = l + nlen + 1;
      while (*v == ' ' || *v == '\t') v++;
      size_t i = 0;
      while (v[i] != '\r' && v[i] != '\0' && i + 1 < cap) { out[i] = v[i]; i++; }
      while (i > 0 && (out[i - 1] == ' ' || out[i - 1] == '\t')) i--;
      out[i] = '\0';
      return 1;
    }
  }
  return 0;
}

/* Handles a complete request head; returns 1 to keep the connection (upgraded), 0 to close. */
static int handshake(struct conn *c) {
  static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
  static const char NOT_FOUND[] =
      "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n";
  char *head = (char *)c->buf;
  char *end = strstr(head, "\r\n\r\n");
  size_t used = (size_t)(end + 4 - head);
  *end = '\0';
  char upgrade[64], key[128];
  if (strncmp(head, "GET /health", 11) == 0 && (head[11] == ' ' || head[11] == '?')) {
    write_all(c->fd, OK, sizeof OK - 1);
    return 0;
  }
  if (!header(head, "Upgrade", upgrade, sizeof upgrade) || strcasecmp(upgrade, "websocket") != 0 ||
      !header(head, "Sec-WebSocket-Key", key, sizeof key)) {
    write_all(c->fd, NOT_FOUND, sizeof NOT_FOUND - 1);
    return 0;
  }
  char joined[256];
  snprintf(joined, sizeof joined, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  unsigned char digest[20];
  sha1((const unsigned char *)joined, strlen(joined), digest);
  char accept[32], reply[256];
  base64(digest, sizeof digest, accept);
  int n = snprintf(reply, sizeof reply,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
  if (write_all(c->fd, reply, (size_t)n) != 0) return 0;
  c->upgraded = 1;
  memmove(c->buf, c->buf + used, c->len - used);
  c->len -= used;
  return 1;
}

/* Echoes every complete frame in the buffer; returns 0 when the connection must close. */
static int echo_frames(struct conn *c) {
  for (;;) {
    if (c->len < 2) return 1;
    unsigned char *b = c->buf;
    int opcode = b[0] & 0x0F, masked = b[1] & 0x80;
    uint64_t plen = b[1] & 0x7F;
    size_t hdr = 2;
    if (plen == 126) {
      if (c->len < 4) return 1;
      plen = (uint64_t)b[2] << 8 | b[3];
      hdr = 4;
    } else if (plen == 127) {
      if (c->len < 10) return 1;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = plen << 8 | b[2 + i];
      hdr = 10;
    }
    size_t mask_at = hdr;
    if (masked) hdr += 4;
    if (plen > BUF_CAP - 14) return 0;
    if (c->len < hdr + plen) return 1;
    unsigned char *payload = b + hdr;
    if (masked) {
      for (uint64_t i = 0; i < plen; i++) payload[i] ^= b[mask_at + (i & 3)];
    }
    unsigned char out[14];
    size_t olen = 2;
    int reply = opcode == 0x9 ? 0xA : opcode;
    out[0] = (unsigned char)(0x80 | reply);
    if (plen < 126) {
      out[1] = (unsigned char)plen;
    } else {
      out[1] = 126;
      out[2] = (unsigned char)(plen >> 8);
      out[3] = (unsigned char)plen;
      olen = 4;
    }
    if (opcode != 0xA) { /* an unsolicited pong needs no answer */
      if (write_all(c->fd, out, olen) != 0 || write_all(c->fd, payload, plen) != 0) return 0;
    }
    if (opcode == 0x8) return 0;
    memmove(b, b + hdr + plen, c->len - hdr - plen);
    c->len -= hdr + plen;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  char *endp;
  long port = strtol(argv[1], &endp, 10);
  if (*endp != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "pool-ws-worker: invalid port: %s (expected: 1-65535)\n", argv[1]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 4096) != 0) {
    fprintf(stderr, "pool-ws-worker: cannot listen on port %ld: %s\n", port, strerror(errno));
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break; /* EAGAIN, or out of descriptors: try again on the next event */
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *nc = calloc(1, sizeof *nc);
          if (nc == NULL) { close(fd); continue; }
          nc->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      int keep = 1;
      for (;;) {
        if (c->len == BUF_CAP - 1) { keep = 0; break; }
        ssize_t r = read(c->fd, c->buf + c->len, BUF_CAP - 1 - c->len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (r <= 0) { keep = 0; break; }
        c->len += (size_t)r;
        c->buf[c->len] = '\0';
      }
      if (keep && !c->upgraded && strstr((char *)c->buf, "\r\n\r\n") != NULL) keep = handshake(c);
      if (keep && c->upgraded) keep = echo_frames(c);
      if (!keep) {
        close(c->fd); /* also leaves the epoll set */
        free(c);
      }
    }
  }
}
