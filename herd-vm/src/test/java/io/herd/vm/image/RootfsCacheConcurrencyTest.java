package io.herd.vm.image;

import static io.herd.testkit.OciImageBuilder.Entry.file;
import static io.herd.vm.image.RootfsCacheTest.list;
import static io.herd.vm.image.RootfsCacheTest.tree;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testkit.OciImageBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache's lifecycle: reuse, singleflight, racing caches, abandoned temporary directories. */
class RootfsCacheConcurrencyTest {

  @TempDir Path tmp;

  private Path cache() {
    return tmp.resolve("cache");
  }

  @Test
  void aSecondUnpackReusesTheFirst() throws IOException {
    OciImage image =
        OciImage.open(
            OciImageBuilder.create().layer(file("x", "y", 0644)).writeOciLayout(tmp.resolve("img")));
    Path first = new RootfsCache(true).unpack(image, cache());
    Files.writeString(first.resolve("marker"), "written after the unpack");

    Path second = new RootfsCache(true).unpack(image, cache());

    assertThat(second).isEqualTo(first);
    assertThat(second.resolve("marker")).as("not unpacked again").exists();
  }

  @Test
  void eightConcurrentCallersGetOneUnpackAndNoTemporaryDirectoryIsLeft() throws Exception {
    OciImageBuilder b = OciImageBuilder.create();
    for (int layer = 0; layer < 4; layer++) {
      List<OciImageBuilder.Entry> entries = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        entries.add(file("d" + layer + "/f" + i, "content " + layer + " " + i, 0644));
      }
      b.layer(entries.toArray(OciImageBuilder.Entry[]::new));
    }
    OciImage image = OciImage.open(b.writeOciLayout(tmp.resolve("img")));

    for (int round = 0; round < 3; round++) {
      Path cacheDir = tmp.resolve("cache" + round);
      RootfsCache cache = new RootfsCache(true);
      CountDownLatch start = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      Set<Path> results = ConcurrentHashMap.newKeySet();
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          futures.add(
              pool.submit(
                  () -> {
                    start.await();
                    results.add(cache.unpack(image, cacheDir));
                    return null;
                  }));
        }
        start.countDown();
        for (Future<?> f : futures) {
          f.get(60, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
      }

      assertThat(results).hasSize(1);
      Path rootfs = results.iterator().next();
      assertThat(list(rootfs.getParent()))
          .as("only the finished rootfs, no temporary sibling")
          .containsExactly("rootfs");
      assertThat(tree(rootfs)).hasSize(4 + 4 * 200);
    }
  }

  @Test
  void twoCachesInOneProcessRaceToTheSameResult() throws Exception {
    // Separate instances share no singleflight: both may unpack, as two gateways would, and the
    // loser of the rename must give up its copy. (A fixed temporary name once collided here.)
    OciImage image =
        OciImage.open(
            OciImageBuilder.create().layer(file("x", "y", 0644)).writeOciLayout(tmp.resolve("img")));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 10; round++) {
        Path cacheDir = tmp.resolve("race" + round);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Path>> futures = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
          RootfsCache separate = new RootfsCache(true);
          futures.add(
              pool.submit(
                  () -> {
                    start.await();
                    return separate.unpack(image, cacheDir);
                  }));
        }
        start.countDown();
        assertThat(futures.get(0).get(60, TimeUnit.SECONDS))
            .isEqualTo(futures.get(1).get(60, TimeUnit.SECONDS));
        assertThat(list(RootfsCache.imageDir(cacheDir, image.digest())))
            .as("round %d: the loser's copy is gone", round)
            .containsExactly("rootfs");
      }
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void aTemporaryDirectoryOfADeadProcessIsRemoved() throws IOException {
    OciImage image =
        OciImage.open(
            OciImageBuilder.create().layer(file("x", "y", 0644)).writeOciLayout(tmp.resolve("img")));
    Path imageDir = RootfsCache.imageDir(cache(), image.digest());
    long deadPid = deadPid();
    Path abandoned = Files.createDirectories(imageDir.resolve(".rootfs-" + deadPid + "-1234/half"));
    Path live =
        Files.createDirectories(
            imageDir.resolve(".rootfs-" + ProcessHandle.current().pid() + "-999"));

    new RootfsCache(true).unpack(image, cache());

    assertThat(abandoned.getParent()).doesNotExist();
    assertThat(live).as("a live process's unpack is left alone").exists();
  }

  private static long deadPid() throws IOException {
    Process p = new ProcessBuilder("true").start();
    try {
      p.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    return p.pid();
  }
}
