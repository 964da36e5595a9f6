package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.proxy.DescriptorRefusals;
import io.herd.proxy.FileDescriptors;
import io.netty.channel.ChannelException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The refusal log in virtual time: the scheduler only records its tasks, and the test runs them
 * as the intervals end.
 */
class DescriptorRefusalLogTest {

  private final ArrayDeque<Runnable> due = new ArrayDeque<>();
  private final List<Long> delays = new ArrayList<>();
  private final List<String> lines = new ArrayList<>();
  private final DescriptorRefusalLog refusals = new DescriptorRefusalLog((task, delay, unit) -> {
    due.add(task);
    delays.add(unit.toNanos(delay));
  }, line -> {
    synchronized (lines) {
      lines.add(line);
    }
  }, () -> new FileDescriptors(250, 256, 1024));

  private void endInterval() {
    Runnable task = due.poll();
    assertThat(task).as("a summary is scheduled").isNotNull();
    task.run();
  }

  @Test
  void theFirstRefusalIsLoggedAtOnceWithTheLimitAndWhatToDo() {
    refusals.refused(DescriptorRefusalLog.Where.ACCEPT);
    assertThat(lines).singleElement().asString()
        .contains("too many open files", "256 (hard limit 1024), 250 open", "LimitNOFILE",
            "ulimit -n", "a new client was answered 503");
    assertThat(delays).containsExactly(DescriptorRefusalLog.INTERVAL.toNanos());
  }

  @Test
  void aStormOfRefusalsIsOneLinePerInterval() {
    for (int i = 0; i < 1000; i++) {
      refusals.refused(i % 4 == 0 ? DescriptorRefusalLog.Where.UPSTREAM
          : DescriptorRefusalLog.Where.ACCEPT);
    }
    assertThat(lines).as("only the first, until the interval ends").hasSize(1);
    endInterval();
    assertThat(lines).hasSize(2);
    assertThat(lines.get(1)).contains("refused 999 connections in the last 10 s",
        "750 new clients, 249 worker connections", "too many open files");
    for (int i = 0; i < 5; i++) {
      refusals.refused(DescriptorRefusalLog.Where.ACCEPT);
    }
    endInterval();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(2)).contains("refused 5 connections");
    assertThat(refusals.counts()).isEqualTo(new DescriptorRefusals(755, 250));
  }

  @Test
  void aQuietIntervalEndsThePeriodAndTheNextRefusalIsLoggedAtOnceAgain() {
    refusals.refused(DescriptorRefusalLog.Where.UPSTREAM);
    endInterval();
    assertThat(lines).as("no summary of nothing").hasSize(1);
    assertThat(due).as("no more summaries scheduled").isEmpty();
    refusals.refused(DescriptorRefusalLog.Where.ACCEPT);
    assertThat(lines).hasSize(2);
    assertThat(lines.get(1)).startsWith("refusing connections");
    assertThat(due).hasSize(1);
  }

  @Test
  void concurrentRefusalsAreAllCountedAndStillLoggedOnceUntilTheIntervalEnds() throws Exception {
    int threads = 8;
    int each = 2_000;
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> started = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      DescriptorRefusalLog.Where where = t % 2 == 0 ? DescriptorRefusalLog.Where.ACCEPT
          : DescriptorRefusalLog.Where.UPSTREAM;
      Thread thread = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        for (int i = 0; i < each; i++) {
          refusals.refused(where);
        }
      });
      thread.start();
      started.add(thread);
    }
    go.countDown();
    for (Thread thread : started) {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    }
    assertThat(refusals.counts()).isEqualTo(
        new DescriptorRefusals(threads / 2 * each, threads / 2 * each));
    assertThat(lines).as("one opening line, however many threads raced").hasSize(1);
    assertThat(due).as("one summary scheduled").hasSize(1);
    endInterval();
    assertThat(lines.get(1)).contains("refused " + (threads * each - 1) + " connections");
  }

  @Test
  void exhaustionIsRecognisedByErrnoOrMessageAnywhereInTheCauses() {
    // Netty's native exceptions describe their errno through the native library.
    assumeThat(Epoll.isAvailable()).as("the epoll transport loads").isTrue();
    assertThat(DescriptorExhaustion.isCause(new Errors.NativeIoException("accept", -24)))
        .as("EMFILE").isTrue();
    assertThat(DescriptorExhaustion.isCause(new Errors.NativeIoException("accept", -23)))
        .as("ENFILE").isTrue();
    assertThat(DescriptorExhaustion.isCause(new ChannelException("Unable to create Channel",
        new ChannelException(new Errors.NativeIoException("newSocketStream", -24)))))
        .as("nested as Bootstrap reports it").isTrue();
    assertThat(DescriptorExhaustion.isCause(new IOException("Too many open files")))
        .as("NIO's message").isTrue();
    assertThat(DescriptorExhaustion.isCause(new ConnectException("Connection refused")))
        .isFalse();
    assertThat(DescriptorExhaustion.isCause(new Errors.NativeIoException("accept", -11)))
        .isFalse();
    assertThat(UpstreamFailure.classify(new ChannelException(
        new Errors.NativeIoException("newSocketStream", -24))))
        .isEqualTo(UpstreamFailure.OUT_OF_DESCRIPTORS);
  }
}
