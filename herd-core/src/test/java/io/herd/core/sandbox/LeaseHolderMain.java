package io.herd.core.sandbox;

import java.nio.file.Path;

/**
 * A second gateway for {@link HostWideLeasesTest}, in a JVM of its own: leases UIDs and /30 blocks
 * through lock files under a directory the test gives, prints {@code uid N} and {@code block
 * ADDRESS link NAME} lines and then {@code ready}, and holds them until its standard input closes
 * or it is killed.
 *
 * <p>Arguments: {@code LEASE_ROOT UID_FIRST UID_LAST RANGE COUNT SCRATCH_ROOT}.
 */
public final class LeaseHolderMain {

  private LeaseHolderMain() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    int first = Integer.parseInt(args[1]);
    int last = Integer.parseInt(args[2]);
    Ipv4Range range = Ipv4Range.parse(args[3]);
    int count = Integer.parseInt(args[4]);
    UidLeases uids = new UidLeases(LeaseDirectory.at(root.resolve("uid")));
    uids.scratchRoot(Path.of(args[5]));
    SubnetLeases blocks = new SubnetLeases(LeaseDirectory.at(root.resolve("net")));
    long pid = ProcessHandle.current().pid();
    for (int i = 0; i < count; i++) {
      System.out.println("uid " + uids.lease(first, last));
      String link = "hvt" + Long.toString(pid, 36) + "-" + i;
      int block = blocks.lease(range, "herdtest-" + pid + "-" + i, link);
      System.out.println("block " + range.blockAddress(block).getHostAddress() + " link " + link);
    }
    System.out.println("ready");
    System.out.flush();
    while (System.in.read() >= 0) {
      // hold the leases until the test closes our input, or kills us
    }
  }
}
