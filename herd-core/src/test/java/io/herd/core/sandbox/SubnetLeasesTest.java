package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Releasing a /30 only once its host link is gone, with the links' existence simulated. */
class SubnetLeasesTest {

  private static final Ipv4Range RANGE = Ipv4Range.parse("10.219.200.0/29"); // two blocks

  @TempDir Path dir;

  private final Set<String> links = ConcurrentHashMap.newKeySet();

  @Test
  void aBlockWhoseLinkStillExistsIsNotHandedOutAgain() throws Exception {
    SubnetLeases leases = new SubnetLeases(LeaseDirectory.at(dir), record -> false,
        links::contains);
    int first = leases.lease(RANGE, "ns-a", "link-a");
    links.add("link-a");

    leases.releaseOnceGone(RANGE, first, "link-a");

    assertThat(leases.leasedCount(RANGE)).as("held while link-a exists").isEqualTo(1);
    int second = leases.lease(RANGE, "ns-b", "link-b");
    assertThat(second).isNotEqualTo(first);
    assertThat(leases.awaitReleases(50)).as("still waiting").isEqualTo(1);

    links.remove("link-a");

    assertThat(leases.awaitReleases(10_000)).isZero();
    assertThat(leases.leasedCount(RANGE)).isEqualTo(1);
    assertThat(leases.lease(RANGE, "ns-c", "link-c")).as("the freed block").isEqualTo(first);
  }

  @Test
  void aLeaseWaitsForABlockWhoseOldLinkIsGoingRatherThanFail() throws Exception {
    SubnetLeases leases = new SubnetLeases(LeaseDirectory.at(dir), record -> false,
        links::contains);
    int a = leases.lease(RANGE, "ns-a", "link-a");
    int b = leases.lease(RANGE, "ns-b", "link-b");
    links.add("link-a");
    leases.releaseOnceGone(RANGE, a, "link-a");
    Thread remover = new Thread(() -> {
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
      links.remove("link-a");
    });
    remover.start();

    int c = leases.lease(RANGE, "ns-c", "link-c"); // every block is leased or waiting

    assertThat(links).as("link-a gone when its block is handed out").doesNotContain("link-a");
    remover.join();
    assertThat(c).isEqualTo(a);
    assertThat(b).isNotEqualTo(a);
  }

  @Test
  void aBlockWhoseLinkIsGoneIsReleasedAtOnce() throws Exception {
    SubnetLeases leases = new SubnetLeases(LeaseDirectory.at(dir), record -> false,
        links::contains);
    int block = leases.lease(RANGE, "ns-a", "link-a");

    leases.releaseOnceGone(RANGE, block, "link-a");

    assertThat(leases.leasedCount(RANGE)).isZero();
  }

  @Test
  void thePollerReleasesTheBlockWithoutAnotherLease() throws Exception {
    SubnetLeases leases = new SubnetLeases(LeaseDirectory.at(dir), record -> false,
        links::contains);
    int block = leases.lease(RANGE, "ns-a", "link-a");
    links.add("link-a");
    leases.releaseOnceGone(RANGE, block, "link-a");

    links.remove("link-a");

    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
        .until(() -> leases.leasedCount(RANGE) == 0);
  }
}
