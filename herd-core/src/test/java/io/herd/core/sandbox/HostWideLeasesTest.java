package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateways on one host never lease the same UID or /30 block, and what a dead one left keeps
 * its UID and block from being reused until it is gone. The other gateway is a second JVM ({@link
 * LeaseHolderMain}) leasing through the same lock directory, so the locks are real {@code fcntl}
 * locks between processes.
 */
class HostWideLeasesTest {

  private static final int UID_FIRST = 300_100;
  private static final int UID_LAST = 300_104;
  private static final String RANGE = "10.215.0.0/28"; // 4 blocks

  @TempDir Path dir;
  private Process holder;
  private final List<String> uidLines = new ArrayList<>();
  private final List<String> blockLines = new ArrayList<>();

  @AfterEach
  void stopHolder() throws Exception {
    if (holder != null) {
      holder.destroyForcibly();
      holder.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void twoGatewaysNeverLeaseTheSameUidOrBlock() throws Exception {
    startHolder(3);
    UidLeases uids = new UidLeases(LeaseDirectory.at(dir.resolve("leases/uid")));
    SubnetLeases blocks = new SubnetLeases(LeaseDirectory.at(dir.resolve("leases/net")));
    Ipv4Range range = Ipv4Range.parse(RANGE);

    List<Integer> mine = List.of(uids.lease(UID_FIRST, UID_LAST), uids.lease(UID_FIRST, UID_LAST));
    int myBlock = blocks.lease(range, "herdtest-x-0", "hvtx-0");

    assertThat(mine).as("the other JVM holds %s", uidLines)
        .doesNotContainAnyElementsOf(heldUids());
    assertThat(range.blockAddress(myBlock).getHostAddress())
        .as("the other JVM holds %s", blockLines).isNotIn(heldBlocks());
    assertThatThrownBy(() -> uids.lease(UID_FIRST, UID_LAST)).hasMessageStartingWith(
        "sandbox.uidRange is exhausted: 300100-300104");
    assertThatThrownBy(() -> blocks.lease(range, "herdtest-x-1", "hvtx-1"))
        .hasMessageStartingWith("sandbox.networkRange is exhausted: 10.215.0.0/28");

    holder.getOutputStream().close(); // the other gateway shuts down cleanly
    assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
    holder = null;
    assertThat(uids.lease(UID_FIRST, UID_LAST)).as("free again").isIn(heldUids());
  }

  @Test
  void whatADeadGatewayLeftKeepsItsUidAndBlockUnleasedUntilItIsGone() throws Exception {
    assumeTrue(HostSupport.detect().root() && HostSupport.detect().ip().isPresent(),
        "skipped: needs root and iproute2 (a veth link, a chown)");
    Path scratch = Files.createDirectory(dir.resolve("workers"));
    startHolder(2);
    int deadUid = heldUids().get(0);
    String deadBlock = heldBlocks().get(0);
    String deadLink = blockLines.get(0).split(" ")[3];
    holder.destroyForcibly(); // SIGKILL: no release; the kernel drops its locks
    assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
    holder = null;
    // What its worker left: a scratch directory owned by the UID, the host link of the block.
    Path leftDir = Files.createDirectory(scratch.resolve("herd-1-1-w"));
    Files.setAttribute(leftDir, "unix:uid", deadUid);
    String ip = HostSupport.detect().ip().orElseThrow().toString();
    HostCommand.run(List.of(ip, "link", "add", deadLink, "type", "veth", "peer", "name",
        deadLink + "p"));
    try {
      UidLeases uids = new UidLeases(LeaseDirectory.at(dir.resolve("leases/uid")));
      SubnetLeases blocks = new SubnetLeases(LeaseDirectory.at(dir.resolve("leases/net")));
      Ipv4Range range = Ipv4Range.parse(RANGE);

      List<Integer> leasedUids = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        leasedUids.add(uids.lease(UID_FIRST, UID_LAST));
      }
      List<String> leasedBlocks = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        leasedBlocks.add(range.blockAddress(blocks.lease(range, "herdtest-y-" + i, "hvty-" + i))
            .getHostAddress());
      }

      assertThat(leasedUids).as("every UID but the one whose scratch directory remains")
          .doesNotContain(deadUid).hasSize(4);
      assertThat(leasedBlocks).as("every block but the one whose link remains")
          .doesNotContain(deadBlock).hasSize(3);
      assertThatThrownBy(() -> blocks.lease(range, "herdtest-y-9", "hvty-9"))
          .isInstanceOf(IOException.class);

      Files.delete(leftDir);
      HostCommand.run(List.of(ip, "link", "del", deadLink));
      assertThat(uids.lease(UID_FIRST, UID_LAST)).as("once its directory is gone")
          .isEqualTo(deadUid);
      assertThat(range.blockAddress(blocks.lease(range, "herdtest-y-9", "hvty-9"))
          .getHostAddress()).as("once its link is gone").isEqualTo(deadBlock);
    } finally {
      HostCommand.succeeds(List.of(ip, "link", "del", deadLink));
    }
  }

  private void startHolder(int count) throws IOException {
    holder = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx32m",
        "-cp", System.getProperty("java.class.path"), LeaseHolderMain.class.getName(),
        dir.resolve("leases").toString(), Integer.toString(UID_FIRST), Integer.toString(UID_LAST),
        RANGE, Integer.toString(count), dir.resolve("workers").toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    BufferedReader out = new BufferedReader(
        new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
    for (String line; (line = out.readLine()) != null && !line.equals("ready"); ) {
      (line.startsWith("uid ") ? uidLines : blockLines).add(line);
    }
    assertThat(uidLines).as("the other JVM's leases").hasSize(count);
  }

  private List<Integer> heldUids() {
    return uidLines.stream().map(l -> Integer.parseInt(l.substring(4))).toList();
  }

  private List<String> heldBlocks() {
    return blockLines.stream().map(l -> l.split(" ")[1]).toList();
  }
}
