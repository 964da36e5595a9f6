/*
 * herd-net: builds and deletes the network namespaces of isolated Herd workers without an exec
 * per network. One long-lived process per sandbox's worker networks (io.herd.core.sandbox.
 * NativeNetworkBuilder starts it); built by herd-core's Maven build, dynamically linked because it
 * loads libnftables.so.1 with dlopen (shipped with the nftables package; no -dev package is
 * needed to build it).
 *
 *   herd-net PARENT-PID
 *
 * It dies with its parent: parent-death signal SIGKILL (the JVM thread that started it stays
 * alive as long as it runs), and it exits at the end of its standard input. Without arguments it
 * prints its usage line (LauncherBinary's "can it run here" check).
 *
 * Protocol, one request at a time on standard input, one answer line on standard output:
 *
 *   create NAMESPACE HOSTLINK HOSTADDR WORKERADDR EGRESS RULESETLENGTH\n RULESET
 *       /run/netns/NAMESPACE (bind mount of a new network namespace, exactly as "ip netns add"
 *       makes it); a veth pair, eth0 in the namespace and HOSTLINK on the host; addrgenmode none,
 *       address (/30) and up on both ends, lo up, a default route via HOSTADDR when EGRESS is 1;
 *       route_localnet=1 on eth0; RULESET loaded in the namespace through libnftables. On failure
 *       it removes the namespace (its veth goes with it) before answering.
 *   delete NAMESPACE...
 *       Unmounts and removes each /run/netns/NAMESPACE ("ip netns del"). The kernel then
 *       dismantles the namespace, its eth0 and the veth's host end asynchronously, in batches.
 *
 * Answers: "ok" or "error <what failed>: <reason>". At start: "ready" once libnftables is loaded
 * and /run/netns is prepared, else one "error ..." line and exit status 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define NETNS_DIR "/run/netns"
#define MAX_RULESET (1 << 20)
#define ERROR_SIZE 1024

/* libnftables, resolved at start (libnftables.h's declarations, with opaque contexts). */
struct nft_ctx;
static struct nft_ctx *(*nft_ctx_new_fn)(uint32_t);
static void (*nft_ctx_free_fn)(struct nft_ctx *);
static int (*nft_run_cmd_from_buffer_fn)(struct nft_ctx *, const char *);
static int (*nft_ctx_buffer_output_fn)(struct nft_ctx *);
static int (*nft_ctx_buffer_error_fn)(struct nft_ctx *);
static const char *(*nft_ctx_get_error_buffer_fn)(struct nft_ctx *);

/* The host's network namespace, where this process lives between requests. */
static int host_ns = -1;
static int host_rtnl = -1;
static int host_inet = -1;
static uint32_t sequence;
static char error[ERROR_SIZE];

static int fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error, sizeof error, format, args);
  va_end(args);
  for (char *c = error; *c; c++) {
    if (*c == '\n') {
      *c = ' ';
    }
  }
  return -1;
}

/* ---- rtnetlink ---- */

/* One message: the header, then its fixed part and attributes, in one buffer. */
struct request {
  union {
    struct nlmsghdr header;
    char bytes[4096];
  };
};

static void request_start(struct request *r, uint16_t type, uint16_t flags, const void *head,
    size_t head_size) {
  memset(r, 0, sizeof *r);
  r->header.nlmsg_len = NLMSG_LENGTH(head_size);
  r->header.nlmsg_type = type;
  r->header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  r->header.nlmsg_seq = ++sequence;
  memcpy(NLMSG_DATA(&r->header), head, head_size);
}

static struct rtattr *attribute(struct request *r, uint16_t type, const void *data, size_t size) {
  struct rtattr *a = (struct rtattr *) (r->bytes + NLMSG_ALIGN(r->header.nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(size);
  if (size > 0) {
    memcpy(RTA_DATA(a), data, size);
  }
  r->header.nlmsg_len = NLMSG_ALIGN(r->header.nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static void raw(struct request *r, const void *data, size_t size) {
  memcpy(r->bytes + NLMSG_ALIGN(r->header.nlmsg_len), data, size);
  r->header.nlmsg_len = NLMSG_ALIGN(r->header.nlmsg_len) + NLMSG_ALIGN(size);
}

static void nest_end(struct request *r, struct rtattr *nest) {
  nest->rta_len = (unsigned short) (r->bytes + r->header.nlmsg_len - (char *) nest);
}

static int rtnl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    return fail("netlink socket: %s", strerror(errno));
  }
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *) &local, sizeof local) != 0) {
    close(fd);
    return fail("netlink bind: %s", strerror(errno));
  }
  return fd;
}

/* Sends the request and waits for its acknowledgement; what names the step for the error. */
static int talk(int fd, struct request *r, const char *what) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &r->header, r->header.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel)
      < 0) {
    return fail("%s: netlink send: %s", what, strerror(errno));
  }
  char answer[8192];
  for (;;) {
    ssize_t n = recv(fd, answer, sizeof answer, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("%s: netlink receive: %s", what, strerror(errno));
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *) answer; NLMSG_OK(h, (unsigned) n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != r->header.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR) {
        continue;
      }
      int code = ((struct nlmsgerr *) NLMSG_DATA(h))->error;
      return code == 0 ? 0 : fail("%s: %s", what, strerror(-code));
    }
  }
}

static int link_index(int inet_fd, const char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  if (ioctl(inet_fd, SIOCGIFINDEX, &ifr) != 0) {
    return fail("index of %s: %s", name, strerror(errno));
  }
  return ifr.ifr_ifindex;
}

/* addrgenmode none: no IPv6 link-local address when the link comes up. */
static int no_ipv6_address(int fd, int index, const char *name) {
  struct request r;
  struct ifinfomsg info = {.ifi_family = AF_UNSPEC, .ifi_index = index};
  request_start(&r, RTM_NEWLINK, 0, &info, sizeof info);
  struct rtattr *spec = attribute(&r, IFLA_AF_SPEC, NULL, 0);
  struct rtattr *inet6 = attribute(&r, AF_INET6, NULL, 0);
  uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
  attribute(&r, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof mode);
  nest_end(&r, inet6);
  nest_end(&r, spec);
  char what[64];
  snprintf(what, sizeof what, "addrgenmode none on %s", name);
  return talk(fd, &r, what);
}

static int link_up(int fd, int index, const char *name) {
  struct request r;
  struct ifinfomsg info = {
      .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  request_start(&r, RTM_NEWLINK, 0, &info, sizeof info);
  char what[64];
  snprintf(what, sizeof what, "set %s up", name);
  return talk(fd, &r, what);
}

static int add_address(int fd, int index, const char *name, struct in_addr address) {
  struct request r;
  struct ifaddrmsg info = {
      .ifa_family = AF_INET, .ifa_prefixlen = 30, .ifa_scope = RT_SCOPE_UNIVERSE,
      .ifa_index = (unsigned) index};
  request_start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
  attribute(&r, IFA_LOCAL, &address, sizeof address);
  attribute(&r, IFA_ADDRESS, &address, sizeof address);
  char what[64];
  snprintf(what, sizeof what, "address on %s", name);
  return talk(fd, &r, what);
}

static int default_route(int fd, struct in_addr gateway) {
  struct request r;
  struct rtmsg info = {
      .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
      .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  request_start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
  attribute(&r, RTA_GATEWAY, &gateway, sizeof gateway);
  return talk(fd, &r, "default route");
}

/* eth0 in the current namespace, its peer host_link in the host's. */
static int add_veth(int fd, const char *host_link) {
  struct request r;
  struct ifinfomsg info = {.ifi_family = AF_UNSPEC};
  request_start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
  attribute(&r, IFLA_IFNAME, "eth0", sizeof "eth0");
  struct rtattr *link_info = attribute(&r, IFLA_LINKINFO, NULL, 0);
  attribute(&r, IFLA_INFO_KIND, "veth", sizeof "veth");
  struct rtattr *data = attribute(&r, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *peer = attribute(&r, VETH_INFO_PEER, NULL, 0);
  struct ifinfomsg peer_info = {.ifi_family = AF_UNSPEC};
  raw(&r, &peer_info, sizeof peer_info);
  attribute(&r, IFLA_IFNAME, host_link, strlen(host_link) + 1);
  uint32_t ns = (uint32_t) host_ns;
  attribute(&r, IFLA_NET_NS_FD, &ns, sizeof ns);
  nest_end(&r, peer);
  nest_end(&r, data);
  nest_end(&r, link_info);
  return talk(fd, &r, "veth pair");
}

/* ---- namespaces ---- */

static int prepare_netns_dir(void) {
  if (mkdir(NETNS_DIR, 0755) != 0 && errno != EEXIST) {
    return fail("mkdir " NETNS_DIR ": %s", strerror(errno));
  }
  /* As ip netns add: a shared mount, so that the namespaces' mounts propagate between mount
     namespaces; made a mount of its own first if it is none. */
  int made = 0;
  while (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) != 0) {
    if (errno != EINVAL || made) {
      return fail("mount --make-shared " NETNS_DIR ": %s", strerror(errno));
    }
    if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) != 0) {
      return fail("mount --bind " NETNS_DIR ": %s", strerror(errno));
    }
    made = 1;
  }
  return 0;
}

static int valid_name(const char *name) {
  return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL && strlen(name) < 200;
}

static int remove_namespace(const char *name) {
  char path[256];
  snprintf(path, sizeof path, NETNS_DIR "/%s", name);
  if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return fail("umount %s: %s", path, strerror(errno));
  }
  if (unlink(path) != 0 && errno != ENOENT) {
    return fail("unlink %s: %s", path, strerror(errno));
  }
  return 0;
}

static int load_ruleset(const char *ruleset) {
  struct nft_ctx *nft = nft_ctx_new_fn(0);
  if (nft == NULL) {
    return fail("nft_ctx_new failed");
  }
  nft_ctx_buffer_output_fn(nft);
  nft_ctx_buffer_error_fn(nft);
  int rc = 0;
  if (nft_run_cmd_from_buffer_fn(nft, ruleset) != 0) {
    const char *why = nft_ctx_get_error_buffer_fn(nft);
    rc = fail("nft ruleset: %s", why != NULL && why[0] != '\0' ? why : "failed");
  }
  nft_ctx_free_fn(nft);
  return rc;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail("open %s: %s", path, strerror(errno));
  }
  ssize_t n = write(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  return n == (ssize_t) strlen(text) ? 0 : fail("write %s: %s", path, strerror(saved));
}

/* In the new namespace: everything but the host end. */
static int configure_inside(const char *host_link, struct in_addr host, struct in_addr worker,
    int egress, const char *ruleset) {
  int fd = rtnl_open();
  if (fd < 0) {
    return -1;
  }
  int inet_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int rc = -1;
  int lo, eth0;
  if (inet_fd < 0) {
    fail("inet socket: %s", strerror(errno));
  } else if (add_veth(fd, host_link) == 0 && (lo = link_index(inet_fd, "lo")) > 0
      && (eth0 = link_index(inet_fd, "eth0")) > 0 && link_up(fd, lo, "lo") == 0
      && no_ipv6_address(fd, eth0, "eth0") == 0 && add_address(fd, eth0, "eth0", worker) == 0
      && link_up(fd, eth0, "eth0") == 0 && (!egress || default_route(fd, host) == 0)
      && write_file("/proc/sys/net/ipv4/conf/eth0/route_localnet", "1\n") == 0
      && load_ruleset(ruleset) == 0) {
    rc = 0;
  }
  if (inet_fd >= 0) {
    close(inet_fd);
  }
  close(fd);
  return rc;
}

static int configure_host_end(const char *host_link, struct in_addr host) {
  int index = link_index(host_inet, host_link);
  if (index < 0) {
    return -1;
  }
  if (no_ipv6_address(host_rtnl, index, host_link) != 0
      || add_address(host_rtnl, index, host_link, host) != 0
      || link_up(host_rtnl, index, host_link) != 0) {
    return -1;
  }
  return 0;
}

static int create(const char *name, const char *host_link, struct in_addr host,
    struct in_addr worker, int egress, const char *ruleset) {
  char path[256];
  snprintf(path, sizeof path, NETNS_DIR "/%s", name);
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    return fail("create %s: %s", path, strerror(errno));
  }
  close(fd);
  if (unshare(CLONE_NEWNET) != 0) {
    fail("unshare the network namespace: %s", strerror(errno));
    unlink(path);
    return -1;
  }
  int rc = 0;
  if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) != 0) {
    rc = fail("mount --bind %s: %s", path, strerror(errno));
  } else {
    rc = configure_inside(host_link, host, worker, egress, ruleset);
  }
  if (setns(host_ns, CLONE_NEWNET) != 0) {
    /* Cannot go on in the wrong namespace: the JVM sees the pipe close and falls back. */
    fprintf(stderr, "herd-net: cannot return to the host's network namespace: %s\n",
        strerror(errno));
    exit(1);
  }
  if (rc == 0) {
    rc = configure_host_end(host_link, host);
  }
  if (rc != 0) {
    char saved[ERROR_SIZE];
    memcpy(saved, error, sizeof saved);
    remove_namespace(name);
    memcpy(error, saved, sizeof error);
  }
  return rc;
}

/* ---- the loop ---- */

static void answer(int rc) {
  if (rc == 0) {
    fputs("ok\n", stdout);
  } else {
    fprintf(stdout, "error %s\n", error);
  }
  fflush(stdout);
}

static int serve_create(char *args) {
  char name[256], host_link[64], host_text[32], worker_text[32];
  int egress;
  long length;
  if (sscanf(args, "%255s %63s %31s %31s %d %ld", name, host_link, host_text, worker_text,
          &egress, &length) != 6 || length < 0 || length > MAX_RULESET) {
    return -2;
  }
  char *ruleset = malloc((size_t) length + 1);
  if (ruleset == NULL || fread(ruleset, 1, (size_t) length, stdin) != (size_t) length) {
    free(ruleset);
    return -2;
  }
  ruleset[length] = '\0';
  struct in_addr host, worker;
  int rc;
  if (!valid_name(name) || strlen(host_link) >= IFNAMSIZ || strchr(host_link, '/') != NULL) {
    rc = fail("bad names: %s %s", name, host_link);
  } else if (inet_pton(AF_INET, host_text, &host) != 1
      || inet_pton(AF_INET, worker_text, &worker) != 1) {
    rc = fail("bad addresses: %s %s", host_text, worker_text);
  } else {
    rc = create(name, host_link, host, worker, egress, ruleset);
  }
  free(ruleset);
  return rc;
}

static int serve_delete(char *args) {
  int rc = 0;
  char problems[ERROR_SIZE * 2] = "";
  for (char *name = strtok(args, " \n"); name != NULL; name = strtok(NULL, " \n")) {
    if (!valid_name(name)) {
      fail("bad name: %s", name);
    } else if (remove_namespace(name) == 0) {
      continue;
    }
    rc = -1;
    size_t used = strlen(problems);
    if (used < ERROR_SIZE) {
      snprintf(problems + used, sizeof problems - used, "%s%s", used ? "; " : "", error);
    }
  }
  if (rc != 0) {
    snprintf(error, sizeof error, "%.1000s", problems);
  }
  return rc;
}

static int load_libnftables(void) {
  void *lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    return fail("cannot load libnftables.so.1 (install the nftables package): %s", dlerror());
  }
  nft_ctx_new_fn = (struct nft_ctx * (*) (uint32_t)) dlsym(lib, "nft_ctx_new");
  nft_ctx_free_fn = (void (*)(struct nft_ctx *)) dlsym(lib, "nft_ctx_free");
  nft_run_cmd_from_buffer_fn =
      (int (*)(struct nft_ctx *, const char *)) dlsym(lib, "nft_run_cmd_from_buffer");
  nft_ctx_buffer_output_fn = (int (*)(struct nft_ctx *)) dlsym(lib, "nft_ctx_buffer_output");
  nft_ctx_buffer_error_fn = (int (*)(struct nft_ctx *)) dlsym(lib, "nft_ctx_buffer_error");
  nft_ctx_get_error_buffer_fn =
      (const char *(*) (struct nft_ctx *)) dlsym(lib, "nft_ctx_get_error_buffer");
  if (!nft_ctx_new_fn || !nft_ctx_free_fn || !nft_run_cmd_from_buffer_fn
      || !nft_ctx_buffer_output_fn || !nft_ctx_buffer_error_fn || !nft_ctx_get_error_buffer_fn) {
    return fail("libnftables.so.1 lacks the functions herd-net needs");
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("herd-net: usage: herd-net PARENT-PID (requests on standard input)\n", stderr);
    return 2;
  }
  long parent = strtol(argv[1], NULL, 10);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != (pid_t) parent) {
    return 1; /* the parent is already gone */
  }
  signal(SIGPIPE, SIG_IGN);
  host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  host_inet = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (host_ns < 0 || host_inet < 0) {
    fail("cannot open the host's network namespace: %s", strerror(errno));
    answer(-1);
    return 1;
  }
  if ((host_rtnl = rtnl_open()) < 0 || load_libnftables() != 0 || prepare_netns_dir() != 0) {
    answer(-1);
    return 1;
  }
  fputs("ready\n", stdout);
  fflush(stdout);
  char line[65536];
  while (fgets(line, sizeof line, stdin) != NULL) {
    int rc;
    if (strncmp(line, "create ", 7) == 0) {
      rc = serve_create(line + 7);
    } else if (strncmp(line, "delete ", 7) == 0) {
      rc = serve_delete(line + 7);
    } else {
      rc = -2;
    }
    if (rc == -2) {
      fprintf(stderr, "herd-net: malformed request\n");
      return 1;
    }
    answer(rc);
  }
  return 0;
}
