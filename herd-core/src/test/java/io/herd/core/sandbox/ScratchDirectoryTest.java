package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deleting a scratch directory whatever its worker left in it. Runs anywhere: the trees are made
 * by the test's own user.
 */
class ScratchDirectoryTest {

  /** Deeper than PATH_MAX (4096 bytes) below the scratch directory, with 2-byte levels. */
  private static final int BEYOND_PATH_MAX = 2_600;

  @TempDir
  Path root;

  @Test
  void aTreeNestedDeeperThanPathMaxIsDeleted() throws IOException {
    Path scratch = deepTree(root.resolve("herd-1-1-w-1"), BEYOND_PATH_MAX);

    assertThat(ScratchDirectory.delete(scratch)).as("delete reports success").isTrue();

    assertThat(Files.exists(scratch, LinkOption.NOFOLLOW_LINKS))
        .as("a worker's 2,600 nested directories are gone, so its UID can be leased again")
        .isFalse();
  }

  @Test
  void symbolicLinksAreRemovedNotFollowedAtAnyDepth() throws IOException {
    Path outside = Files.createDirectory(root.resolve("outside"));
    Path precious = Files.writeString(outside.resolve("precious"), "keep me");
    Path scratch = deepTree(root.resolve("herd-1-2-w-2"), ScratchDirectory.MAX_OPEN_LEVELS * 3);
    Files.createSymbolicLink(scratch.resolve("to-outside"), outside);
    Files.createSymbolicLink(scratch.resolve("to-file"), precious);

    assertThat(ScratchDirectory.delete(scratch)).isTrue();

    assertThat(scratch).doesNotExist();
    assertThat(precious).as("the target of a link the worker left").hasContent("keep me");
  }

  @Test
  void aWorkerCannotMakeTheMoveOfDeepDirectoriesFail() throws IOException {
    Path scratch = deepTree(root.resolve("herd-1-3-w-3"), ScratchDirectory.MAX_OPEN_LEVELS * 4);
    // Non-empty directories wherever a predictable name for a directory moved up could go.
    for (String name : List.of(".herd-deep-0", ".herd-deep-1", ".herd-deep-2")) {
      Files.writeString(Files.createDirectories(scratch.resolve(name)).resolve("f"), "x");
    }

    assertThat(ScratchDirectory.delete(scratch)).isTrue();

    assertThat(scratch).doesNotExist();
  }

  @Test
  void theStaleSweepRemovesADeepTreeOfADeadGateway() throws IOException {
    // No process has pid 999999999 (pid_max is at most 2^22).
    Path stale = deepTree(root.resolve("herd-999999999-1-w-1"), BEYOND_PATH_MAX);

    List<String> removed = StaleSandboxSweep.sweep(List.of(), null, null, root);

    assertThat(removed).containsExactly("workdir " + stale);
    assertThat(stale).doesNotExist();
  }

  /**
   * {@code top} holding a chain of {@code depth} directories named {@code d}, a file at every
   * level: built from the top down with renames, so no path the test uses is long, as a worker
   * would with {@code mkdir d; cd d} in a loop.
   */
  private static Path deepTree(Path top, int depth) throws IOException {
    Path chain = Files.createDirectory(top.resolveSibling(top.getFileName() + ".chain"));
    Files.writeString(chain.resolve("leaf"), "data");
    for (int i = 1; i < depth; i++) {
      Path next = Files.createDirectory(top.resolveSibling(top.getFileName() + ".next"));
      Files.move(chain, next.resolve("d"));
      Files.writeString(next.resolve("f"), "data");
      Files.move(next, chain);
    }
    return Files.move(chain, top);
  }
}
