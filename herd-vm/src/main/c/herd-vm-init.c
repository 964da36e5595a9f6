/*
 * herd-vm-init: PID 1 of a Herd microVM guest (kernel argument rdinit=/.herd/init). Built
 * statically by herd-vm's Maven build (build.sh beside this file) into the jar, and written into
 * every guest initramfs by io.herd.vm.guest.Initramfs.
 *
 * Steps, in order:
 *   1. Mounts /proc, /sys, devtmpfs on /dev, /dev/pts, tmpfs on /dev/shm and /run, and points
 *      its stdio at /dev/console (ttyS0: what the host captures as the worker's output).
 *   2. Loads the kernel modules named in /.herd/modules/order, one file name a line, from
 *      /.herd/modules with finit_module(2), in that order (virtio_ring before virtio: the order
 *      is the dependency order; there is no modprobe here).
 *   3. Brings up lo, and eth0 as 10.0.2.15/24 with a default route via 10.0.2.2 (QEMU user
 *      networking's fixed plan), with plain ioctls.
 *   4. Reads /.herd/launch (see read_launch) and starts the app as a child: in its working
 *      directory, under its UID and GID, with exactly its environment, stdin /dev/null and
 *      stdout/stderr on the console. Never exec'd as PID 1: PID 1 ignores every signal it has no
 *      handler for, so the app's SIGTERM default action would silently not happen.
 *   5. Loops on poll() over a signalfd and the clone control port (no threads): forwards SIGTERM
 *      and SIGINT to the app, reaps every zombie (orphans are re-parented to PID 1), and answers
 *      the host on the control port. When the app exits it prints
 *      "herd-init: app exited with status N" (or "killed by signal S") and powers the VM off;
 *      QEMU then exits, which the host sees as the worker ending.
 *
 * The clone control port is the virtio-serial port named herd.control (found through
 * /sys/class/virtio-ports/<port>/name, device /dev/<port>). Line protocol, host to guest:
 *   sync <unix-epoch-nanos> <128 hex digits: 64 random bytes>\n
 * sets CLOCK_REALTIME, credits the bytes to the kernel's entropy pool (RNDADDENTROPY) and forces
 * the CRNG to reseed from it (RNDRESEEDCRNG), then answers "ok <n>\n" (n: syncs answered since
 * boot). The host sends it after every snapshot restore: clones of one snapshot otherwise share
 * the template's clock (frozen at the snapshot) and its CRNG state, so they would hand out the
 * same "random" bytes.
 *   term\n
 * sends SIGTERM to the app and answers "ok term\n": a graceful stop (the app's exit then powers
 * the VM off), which a signal to QEMU cannot give. Anything else is answered "error <why>\n".
 *
 * Failures before the app starts print "herd-init: <what>: <errno text>" on the console and power
 * the VM off: the host sees the VM end and has the line in the worker's output.
 *
 * On the host, "herd-vm-init --tsc-khz" prints the host's TSC frequency in kHz, measured against
 * CLOCK_MONOTONIC_RAW (io.herd.vm.guest.HostTsc runs it). Under TCG the guest's TSC is the host's
 * (QEMU reads it with rdtsc), and the guest kernel must be told its frequency (tsc_early_khz):
 * it cannot calibrate under TCG, and a wrong value makes every guest clock and timer run fast or
 * slow by that ratio.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/random.h>
#include <net/if.h>
#include <net/route.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

/* Limits of /.herd/launch, checked by io.herd.vm.guest.GuestLaunch before it writes one. */
#define LAUNCH_MAX_BYTES (256 * 1024)
#define LAUNCH_MAX_ARGS 1024
#define LAUNCH_MAX_ENV 2048
#define LAUNCH_MAGIC "herd-launch 1"

#define CONTROL_PORT_NAME "herd.control"
#define CONTROL_LINE_MAX 512
#define SYNC_SEED_BYTES 64

static void say(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("herd-init: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

/* The end of the VM: QEMU runs with -no-reboot and exits on power-off or reboot alike. */
static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  reboot(RB_AUTOBOOT); /* only reached if power-off is not wired up */
  for (;;) pause();
}

static void fail(const char *what) {
  say("%s: %s", what, strerror(errno));
  power_off();
}

/* ---- 1. file systems ---- */

static void mount_at(const char *source, const char *target, const char *type, unsigned long flags,
                     const char *data) {
  mkdir(target, 0755); /* EEXIST is the common case: the image has the directory */
  if (mount(source, target, type, flags, data) != 0 && errno != EBUSY) {
    say("mount %s on %s: %s", type, target, strerror(errno));
  }
}

static void mount_filesystems(void) {
  mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_at("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
  mount_at("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_at("run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  /* The kernel opened the initramfs' /dev/console for us, if it had one; devtmpfs surely has. */
  int console = open("/dev/console", O_RDWR | O_NOCTTY);
  if (console >= 0) {
    dup2(console, 0);
    dup2(console, 1);
    dup2(console, 2);
    if (console > 2) close(console);
  }
  setvbuf(stderr, NULL, _IOLBF, 0);
}

/* ---- 2. kernel modules ---- */

static void load_modules(void) {
  FILE *order = fopen("/.herd/modules/order", "re");
  if (order == NULL) return; /* a kernel with its drivers built in needs none */
  char name[256];
  while (fgets(name, sizeof name, order) != NULL) {
    name[strcspn(name, "\r\n")] = '\0';
    if (name[0] == '\0' || strchr(name, '/') != NULL) continue;
    char path[300];
    snprintf(path, sizeof path, "/.herd/modules/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      say("module %s: %s", path, strerror(errno));
      continue;
    }
    if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) {
      say("loading module %s: %s", name, strerror(errno));
    }
    close(fd);
  }
  fclose(order);
}

/* ---- 3. network ---- */

static void set_address(int sock, const char *ifname, unsigned long request, const char *address) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, address, &sin->sin_addr);
  if (ioctl(sock, request, &ifr) != 0) say("address %s on %s: %s", address, ifname, strerror(errno));
}

/* Returns 0 when the interface is up, -1 (errno set) when it does not exist (yet). */
static int bring_up(int sock, const char *ifname) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) return -1;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static void configure_network(void) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fail("socket for network setup");
  if (bring_up(sock, "lo") != 0) say("bringing up lo: %s", strerror(errno));
  /* virtio_net probes as its module loads, but give a late device a moment (up to ~2 s). */
  int tries = 0;
  while (bring_up(sock, "eth0") != 0) {
    if (errno != ENODEV || ++tries > 200) {
      say("bringing up eth0: %s (the VM has no network)", strerror(errno));
      close(sock);
      return;
    }
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  set_address(sock, "eth0", SIOCSIFADDR, "10.0.2.15");
  set_address(sock, "eth0", SIOCSIFNETMASK, "255.255.255.0");
  struct rtentry route;
  memset(&route, 0, sizeof route);
  struct sockaddr_in *gateway = (struct sockaddr_in *)&route.rt_gateway;
  gateway->sin_family = AF_INET;
  inet_pton(AF_INET, "10.0.2.2", &gateway->sin_addr);
  ((struct sockaddr_in *)&route.rt_dst)->sin_family = AF_INET;
  ((struct sockaddr_in *)&route.rt_genmask)->sin_family = AF_INET;
  route.rt_flags = RTF_UP | RTF_GATEWAY;
  if (ioctl(sock, SIOCADDRT, &route) != 0 && errno != EEXIST) {
    say("default route via 10.0.2.2: %s", strerror(errno));
  }
  close(sock);
}

/* ---- 4. the app ---- */

/*
 * /.herd/launch is a sequence of NUL-terminated strings, so that no argument or variable needs
 * quoting: "herd-launch 1", uid, gid, working directory, argc, argv[0..argc-1], envc,
 * env[0..envc-1] ("NAME=value"). Numbers are decimal.
 */
struct launch {
  uid_t uid;
  gid_t gid;
  const char *cwd;
  char *argv[LAUNCH_MAX_ARGS + 1];
  char *env[LAUNCH_MAX_ENV + 1];
};

static char launch_bytes[LAUNCH_MAX_BYTES];

static int next_string(size_t *at, size_t size, char **out) {
  if (*at >= size) return -1;
  char *start = launch_bytes + *at;
  char *end = memchr(start, '\0', size - *at);
  if (end == NULL) return -1;
  *out = start;
  *at += (size_t)(end - start) + 1;
  return 0;
}

static int next_number(size_t *at, size_t size, unsigned long max, unsigned long *out) {
  char *text, *end;
  if (next_string(at, size, &text) != 0 || text[0] == '\0') return -1;
  errno = 0;
  *out = strtoul(text, &end, 10);
  return (errno != 0 || *end != '\0' || *out > max) ? -1 : 0;
}

static void read_launch(struct launch *launch) {
  int fd = open("/.herd/launch", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("opening /.herd/launch");
  ssize_t size = read(fd, launch_bytes, sizeof launch_bytes);
  if (size < 0) fail("reading /.herd/launch");
  close(fd);
  size_t at = 0, n = (size_t)size;
  char *magic, *cwd;
  unsigned long uid, gid, argc, envc;
  if (next_string(&at, n, &magic) != 0 || strcmp(magic, LAUNCH_MAGIC) != 0
      || next_number(&at, n, 0xfffffffeUL, &uid) != 0
      || next_number(&at, n, 0xfffffffeUL, &gid) != 0
      || next_string(&at, n, &cwd) != 0
      || next_number(&at, n, LAUNCH_MAX_ARGS, &argc) != 0 || argc == 0) {
    errno = EINVAL;
    fail("/.herd/launch is malformed (written by another herd-vm version?)");
  }
  for (unsigned long i = 0; i < argc; i++) {
    if (next_string(&at, n, &launch->argv[i]) != 0) {
      errno = EINVAL;
      fail("/.herd/launch ends inside argv");
    }
  }
  launch->argv[argc] = NULL;
  if (next_number(&at, n, LAUNCH_MAX_ENV, &envc) != 0) {
    errno = EINVAL;
    fail("/.herd/launch has no environment count");
  }
  for (unsigned long i = 0; i < envc; i++) {
    if (next_string(&at, n, &launch->env[i]) != 0) {
      errno = EINVAL;
      fail("/.herd/launch ends inside the environment");
    }
  }
  launch->env[envc] = NULL;
  launch->uid = (uid_t)uid;
  launch->gid = (gid_t)gid;
  launch->cwd = cwd;
}

/* PATH from the app's environment (not ours: PID 1 has none worth the name), like a shell. */
static const char *launch_path(char *const env[]) {
  for (size_t i = 0; env[i] != NULL; i++) {
    if (strncmp(env[i], "PATH=", 5) == 0) return env[i] + 5;
  }
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* In the child: exec argv[0], looked up in the app's PATH when it has no slash. */
static void exec_app(const struct launch *launch) {
  const char *program = launch->argv[0];
  if (strchr(program, '/') != NULL) {
    execve(program, launch->argv, launch->env);
    say("exec %s: %s", program, strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  int saw_eacces = 0;
  const char *path = launch_path(launch->env);
  while (*path != '\0') {
    const char *colon = strchr(path, ':');
    size_t length = colon != NULL ? (size_t)(colon - path) : strlen(path);
    char candidate[4096];
    if (length == 0) {
      snprintf(candidate, sizeof candidate, "%s", program);
    } else {
      snprintf(candidate, sizeof candidate, "%.*s/%s", (int)length, path, program);
    }
    execve(candidate, launch->argv, launch->env);
    if (errno == EACCES) saw_eacces = 1;
    path += length + (colon != NULL ? 1 : 0);
    if (colon == NULL) break;
  }
  say("exec %s: not found in PATH=%s", program, launch_path(launch->env));
  _exit(saw_eacces ? 126 : 127);
}

static pid_t start_app(const struct launch *launch) {
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid > 0) return pid;
  setsid();
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0 && null != 0) {
    dup2(null, 0);
    close(null);
  }
  if (chdir(launch->cwd) != 0) {
    say("chdir %s: %s", launch->cwd, strerror(errno));
    _exit(125);
  }
  if (setgroups(0, NULL) != 0 || setgid(launch->gid) != 0 || setuid(launch->uid) != 0) {
    say("becoming uid %u gid %u: %s", (unsigned)launch->uid, (unsigned)launch->gid,
        strerror(errno));
    _exit(125);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL); /* the parent blocked signals for its signalfd */
  exec_app(launch);
  return -1;
}

/* ---- 5. the control port ---- */

static int open_control_port(void) {
  DIR *ports = opendir("/sys/class/virtio-ports");
  if (ports == NULL) return -1;
  struct dirent *entry;
  int fd = -1;
  while (fd < 0 && (entry = readdir(ports)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char path[512], name[64] = "";
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", entry->d_name);
    FILE *file = fopen(path, "re");
    if (file == NULL) continue;
    if (fgets(name, sizeof name, file) != NULL) name[strcspn(name, "\n")] = '\0';
    fclose(file);
    if (strcmp(name, CONTROL_PORT_NAME) != 0) continue;
    snprintf(path, sizeof path, "/dev/%s", entry->d_name);
    fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) say("opening control port %s: %s", path, strerror(errno));
  }
  closedir(ports);
  if (fd >= 0) {
    /*
     * The port polls as POLLHUP while no host is connected (always, with wait=off, until the host
     * connects), so it leaves the poll set then; SIGIO, which the driver sends when the host
     * connects or data arrives, puts it back.
     */
    fcntl(fd, F_SETOWN, getpid());
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
  }
  return fd;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static unsigned long syncs_answered;
static pid_t app_pid;

/* Handles one line from the host; writes the answer into reply. */
static void handle_control_line(char *line, char *reply, size_t reply_size) {
  char *nanos_text = NULL, *hex = NULL, *rest = NULL;
  char *word = strtok_r(line, " ", &rest);
  if (word != NULL && strcmp(word, "term") == 0 && strtok_r(NULL, " ", &rest) == NULL) {
    kill(app_pid, SIGTERM);
    snprintf(reply, reply_size, "ok term\n");
    return;
  }
  if (word == NULL || strcmp(word, "sync") != 0) {
    snprintf(reply, reply_size, "error unknown command (expected: sync NANOS HEX, or term)\n");
    return;
  }
  nanos_text = strtok_r(NULL, " ", &rest);
  hex = strtok_r(NULL, " ", &rest);
  char *end;
  errno = 0;
  unsigned long long nanos = nanos_text != NULL ? strtoull(nanos_text, &end, 10) : 0;
  if (nanos_text == NULL || errno != 0 || *end != '\0' || hex == NULL
      || strlen(hex) != 2 * SYNC_SEED_BYTES || strtok_r(NULL, " ", &rest) != NULL) {
    snprintf(reply, reply_size, "error malformed sync (expected: sync NANOS %d-HEX-DIGITS)\n",
             2 * SYNC_SEED_BYTES);
    return;
  }
  struct {
    struct rand_pool_info info;
    unsigned char bytes[SYNC_SEED_BYTES];
  } seed;
  for (int i = 0; i < SYNC_SEED_BYTES; i++) {
    int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      snprintf(reply, reply_size, "error sync seed is not hex\n");
      return;
    }
    seed.bytes[i] = (unsigned char)(high << 4 | low);
  }
  struct timespec now = {(time_t)(nanos / 1000000000ULL), (long)(nanos % 1000000000ULL)};
  if (clock_settime(CLOCK_REALTIME, &now) != 0) {
    snprintf(reply, reply_size, "error clock_settime: %s\n", strerror(errno));
    return;
  }
  seed.info.entropy_count = SYNC_SEED_BYTES * 8;
  seed.info.buf_size = SYNC_SEED_BYTES;
  int random = open("/dev/urandom", O_RDWR | O_CLOEXEC);
  if (random < 0 || ioctl(random, RNDADDENTROPY, &seed) != 0
      || ioctl(random, RNDRESEEDCRNG) != 0) {
    snprintf(reply, reply_size, "error reseeding the CRNG: %s\n", strerror(errno));
  } else {
    snprintf(reply, reply_size, "ok %lu\n", ++syncs_answered);
  }
  if (random >= 0) close(random);
}

/*
 * The guest driver handles the host's "port open" message in a work queue but incoming data at
 * once, so a line can arrive while the port still counts as unconnected: the answer cannot be
 * written yet (EAGAIN), and reads at the end of that data return 0. So an answer waits in
 * `reply` until the port is writable, and a 0 read keeps a partial line: both only mean "the
 * host is not (yet) connected", which SIGIO ends.
 */
struct control {
  int fd;          /* -1: no control port (yet: looked for again until found) */
  int connected;   /* polled only while the host is there (see open_control_port) */
  char line[CONTROL_LINE_MAX];
  size_t length;
  int overlong;    /* discarding the rest of a line that did not fit */
  char reply[512]; /* answers not written yet */
  size_t reply_length;
};

static void flush_reply(struct control *control) {
  while (control->reply_length > 0) {
    ssize_t n = write(control->fd, control->reply, control->reply_length);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return; /* POLLOUT or SIGIO: again */
    if (n <= 0) {
      say("answering on the control port: %s", strerror(errno));
      control->reply_length = 0;
      return;
    }
    control->reply_length -= (size_t)n;
    memmove(control->reply, control->reply + n, control->reply_length);
  }
}

static void queue_reply(struct control *control, const char *reply) {
  size_t length = strlen(reply);
  if (control->reply_length + length > sizeof control->reply) {
    control->reply_length = 0; /* answers nobody read: the newest one matters */
  }
  memcpy(control->reply + control->reply_length, reply, length);
  control->reply_length += length;
  flush_reply(control);
}

static void read_control(struct control *control) {
  for (;;) {
    char chunk[256];
    ssize_t n = read(control->fd, chunk, sizeof chunk);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      control->connected = 0; /* no host (yet): wait for SIGIO */
      return;
    }
    if (n < 0) return;
    for (ssize_t i = 0; i < n; i++) {
      char c = chunk[i];
      if (c != '\n') {
        if (control->length < sizeof control->line - 1) {
          control->line[control->length++] = c;
        } else {
          control->overlong = 1;
        }
        continue;
      }
      char reply[160];
      control->line[control->length] = '\0';
      if (control->overlong) {
        snprintf(reply, sizeof reply, "error line too long (max %d bytes)\n", CONTROL_LINE_MAX - 1);
      } else {
        handle_control_line(control->line, reply, sizeof reply);
      }
      control->length = 0;
      control->overlong = 0;
      queue_reply(control, reply);
    }
  }
}

static void report_and_power_off(int status) {
  if (WIFSIGNALED(status)) {
    say("app killed by signal %d", WTERMSIG(status));
  } else {
    say("app exited with status %d", WEXITSTATUS(status));
  }
  kill(-1, SIGKILL); /* whatever the app left behind */
  power_off();
}

/* ---- on the host: the TSC frequency ---- */

static long long nanos_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_RAW, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* One (time, tsc) pair, read as close together as the CPU allows: the tighter of a few tries. */
static void sample(long long *nanos, unsigned long long *tsc) {
#if defined(__x86_64__) || defined(__i386__)
  long long best = -1;
  for (int i = 0; i < 16; i++) {
    long long before = nanos_now();
    unsigned long long cycles = __rdtsc();
    long long after = nanos_now();
    if (best < 0 || after - before < best) {
      best = after - before;
      *nanos = before + (after - before) / 2;
      *tsc = cycles;
    }
  }
#else
  *nanos = nanos_now();
  *tsc = 0;
#endif
}

static int print_tsc_khz(void) {
#if defined(__x86_64__) || defined(__i386__)
  long long t0, t1;
  unsigned long long c0, c1;
  sample(&t0, &c0);
  struct timespec pause = {0, 200 * 1000 * 1000};
  nanosleep(&pause, NULL);
  sample(&t1, &c1);
  if (t1 <= t0 || c1 <= c0) {
    fprintf(stderr, "herd-vm-init: the TSC did not advance\n");
    return 1;
  }
  printf("%llu\n", (unsigned long long)((c1 - c0) * 1000000ULL / (unsigned long long)(t1 - t0)));
  return 0;
#else
  fprintf(stderr, "herd-vm-init: no TSC on this architecture\n");
  return 1;
#endif
}

int main(int argc, char **argv) {
  if (getpid() != 1) {
    if (argc == 2 && strcmp(argv[1], "--tsc-khz") == 0) return print_tsc_khz();
    fprintf(stderr, "herd-vm-init: runs only as PID 1 of a Herd microVM (rdinit=/.herd/init);"
            " on the host: herd-vm-init --tsc-khz\n");
    return 2;
  }
  mount_filesystems();
  load_modules();
  configure_network();

  static struct launch launch;
  read_launch(&launch);

  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGIO);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  int signals = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signals < 0) fail("signalfd");

  static struct control control;
  control.fd = open_control_port();
  control.connected = control.fd >= 0;

  pid_t app = app_pid = start_app(&launch);
  /*
   * The port's device appears asynchronously after virtio_console is loaded: when it was not
   * there yet, look again after 10 ms, doubling up to 1 s, until it is (a snapshot taken before
   * would make clones that can never be synced).
   */
  int retry_ms = 10;
  for (;;) {
    if (control.fd < 0) {
      control.fd = open_control_port();
      control.connected = control.fd >= 0;
    }
    short wanted = (short)(POLLIN | (control.reply_length > 0 ? POLLOUT : 0));
    struct pollfd fds[2] = {{signals, POLLIN, 0}, {control.connected ? control.fd : -1, wanted, 0}};
    int timeout = -1;
    if (control.fd < 0) {
      timeout = retry_ms;
      retry_ms = retry_ms < 500 ? retry_ms * 2 : 1000;
    }
    if (poll(fds, 2, timeout) < 0) {
      if (errno == EINTR) continue;
      fail("poll");
    }
    if (fds[1].revents & POLLOUT) flush_reply(&control);
    if (fds[1].revents & POLLIN) {
      read_control(&control);
    } else if (fds[1].revents & (POLLHUP | POLLERR)) {
      control.connected = 0;
    }
    struct signalfd_siginfo info;
    while (read(signals, &info, sizeof info) == (ssize_t)sizeof info) {
      if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
        kill(app, (int)info.ssi_signo);
      } else if (info.ssi_signo == SIGIO && control.fd >= 0) {
        control.connected = 1;
      }
    }
    int status;
    pid_t reaped;
    while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {
      if (reaped == app) report_and_power_off(status);
    }
  }
}
