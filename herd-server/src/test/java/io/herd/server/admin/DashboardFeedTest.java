package io.herd.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.core.PoolConfig;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.testing.ObjectWorkerFactory;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The dashboard feed without sockets: the JSON of pool events and snapshots, the SSE framing,
 * and the fan-out (history then live exactly once, slow streams dropped, publishers never
 * blocked), with streams on {@link EmbeddedChannel}s whose event loop runs only when the test
 * says so — a client that never reads.
 */
class DashboardFeedTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(1_700_000_000_000L),
      ZoneOffset.UTC);

  private final AtomicLong nanos = new AtomicLong();
  private final DashboardFeed feed =
      new DashboardFeed(SessionIds.unsigned(), CLOCK, nanos::get);

  /** A stream on an embedded channel, and what it wrote so far. */
  private static final class Stream {
    final EmbeddedChannel channel = new EmbeddedChannel();
    final SseSubscriber subscriber;

    Stream(DashboardFeed feed, int capacity) {
      subscriber = new SseSubscriber(channel, capacity, feed::unsubscribe);
    }

    /** Runs the event loop and returns the frames written, as text. */
    List<String> frames() {
      channel.runPendingTasks();
      List<String> out = new ArrayList<>();
      for (Object o = channel.readOutbound(); o != null; o = channel.readOutbound()) {
        ByteBuf content = ((HttpContent) o).content();
        out.add(content.toString(StandardCharsets.UTF_8));
        content.release();
      }
      return out;
    }
  }

  private static JsonNode data(String frame) throws Exception {
    String line = frame.lines().filter(l -> l.startsWith("data: ")).findFirst().orElseThrow();
    return JSON.readTree(line.substring("data: ".length()));
  }

  private static Worker worker(String id, long pid, List<String> stderr) {
    return new Worker() {
      @Override public String id() {
        return id;
      }

      @Override public URI address() {
        return URI.create("http://127.0.0.1:1");
      }

      @Override public OptionalLong pid() {
        return OptionalLong.of(pid);
      }

      @Override public CompletableFuture<Boolean> checkHealth(Duration timeout) {
        return CompletableFuture.completedFuture(true);
      }

      @Override public CompletableFuture<WorkerExit> onExit() {
        return new CompletableFuture<>();
      }

      @Override public CompletableFuture<WorkerExit> stop() {
        return onExit();
      }

      @Override public List<String> recentStderr() {
        return stderr;
      }

      @Override public OptionalLong memoryBytes() {
        return OptionalLong.of(12 * 1024 * 1024);
      }
    };
  }

  @Test
  void poolEventsAreSseFramesWithSequencePoolAndShownKey() throws Exception {
    Stream s = new Stream(feed, 16);
    feed.subscribe(s.subscriber);
    Worker w = worker("w-1", 4242, List.of("boom", "Traceback: x"));

    feed.listener("default").sessionStarted("alice", w);
    feed.listener("default").workerCrashed(w, WorkerExit.crashed(3, "exited with code 3"));
    feed.listener("other").spawnFailed("w-2", new IllegalStateException("cannot start: no"));

    List<String> frames = s.frames();
    assertThat(frames).hasSize(3);
    assertThat(frames.get(0)).startsWith("id: 1\nevent: pool\ndata: {").endsWith("}\n\n");
    JsonNode started = data(frames.get(0));
    assertThat(started.path("seq").asLong()).isEqualTo(1);
    assertThat(started.path("time").asLong()).isEqualTo(CLOCK.millis());
    assertThat(started.path("type").asText()).isEqualTo("sessionStarted");
    assertThat(started.path("pool").asText()).isEqualTo("default");
    assertThat(started.path("session").asText()).isEqualTo("alice");
    assertThat(started.path("worker").asText()).isEqualTo("w-1");
    assertThat(started.path("pid").asLong()).isEqualTo(4242);

    JsonNode crashed = data(frames.get(1));
    assertThat(crashed.path("type").asText()).isEqualTo("workerCrashed");
    assertThat(crashed.path("exit").asText()).isEqualTo("exited with code 3 (exit code 3)");
    assertThat(crashed.path("stderr")).extracting(JsonNode::asText)
        .as("the crash carries the worker's stderr tail").containsExactly("boom", "Traceback: x");

    JsonNode failed = data(frames.get(2));
    assertThat(failed.path("pool").asText()).isEqualTo("other");
    assertThat(failed.path("error").asText()).isEqualTo("cannot start: no");
  }

  @Test
  void signedKeysAreShownByTheirIdOnly() throws Exception {
    io.herd.proxy.SessionKeySigner signer = new io.herd.proxy.SessionKeySigner(
        "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
    DashboardFeed signed = new DashboardFeed(SessionIds.of(java.util.Optional.of(signer)),
        CLOCK, nanos::get);
    Stream s = new Stream(signed, 16);
    signed.subscribe(s.subscriber);

    signed.listener("default").sessionEnded(signer.sign("carol"), worker("w-1", 1, List.of()),
        SessionEndReason.RELEASED);

    JsonNode ended = data(s.frames().get(0));
    assertThat(ended.path("session").asText()).isEqualTo("carol");
    assertThat(ended.path("reason").asText()).isEqualTo("RELEASED");
  }

  @Test
  void aNewStreamGetsTheRecentHistoryThenLiveEventsEachOnce() throws Exception {
    Worker w = worker("w-1", 1, List.of());
    for (int i = 0; i < DashboardFeed.HISTORY + 5; i++) {
      feed.listener("default").sessionStarted("k" + i, w);
    }
    Stream late = new Stream(feed, DashboardFeed.HISTORY + 10);
    feed.subscribe(late.subscriber);
    feed.listener("default").sessionStarted("live", w);

    List<String> frames = late.frames();
    assertThat(frames).as("the last %d events, then the live one", DashboardFeed.HISTORY)
        .hasSize(DashboardFeed.HISTORY + 1);
    assertThat(data(frames.get(0)).path("session").asText()).isEqualTo("k5");
    assertThat(data(frames.get(frames.size() - 1)).path("session").asText()).isEqualTo("live");
    List<Long> seqs = new ArrayList<>();
    for (String f : frames) {
      seqs.add(data(f).path("seq").asLong());
    }
    assertThat(seqs).isSorted().doesNotHaveDuplicates();
  }

  @Test
  void aStreamThatFallsBehindIsDroppedAndOthersKeepTheirEvents() throws Exception {
    Stream stuck = new Stream(feed, 8);
    Stream reading = new Stream(feed, 8);
    feed.subscribe(stuck.subscriber);
    feed.subscribe(reading.subscriber);
    Worker w = worker("w-1", 1, List.of());
    List<String> seen = new ArrayList<>();

    for (int i = 0; i < 20; i++) {
      feed.listener("default").sessionStarted("k" + i, w); // returns at once, always
      seen.addAll(reading.frames()); // this client reads as it goes; the stuck one never does
    }

    assertThat(stuck.subscriber.isDropped()).as("the stuck stream is dropped").isTrue();
    assertThat(stuck.channel.isOpen()).as("its connection is closed").isFalse();
    assertThat(reading.subscriber.isDropped()).isFalse();
    assertThat(seen).hasSize(20);
    assertThat(feed.subscribers()).isEqualTo(1);
    stuck.frames(); // release what the embedded channel wrote before it closed
  }

  @Test
  void publishingNeverWaitsForAStream() throws Exception {
    Stream stuck = new Stream(feed, DashboardFeed.STREAM_BUFFER);
    feed.subscribe(stuck.subscriber);
    Worker w = worker("w-1", 1, List.of());
    int threads = 4;
    int each = 1000;
    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(threads);
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread thread = new Thread(() -> {
        try {
          go.await();
          for (int i = 0; i < each; i++) {
            feed.listener("default").sessionStarted("t" + id + "-" + i, w);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          done.countDown();
        }
      });
      thread.start();
    }
    go.countDown();

    assertThat(done.await(60, TimeUnit.SECONDS))
        .as("4000 events published although the only stream never reads").isTrue();
    assertThat(stuck.subscriber.isDropped()).isTrue();
    stuck.frames();
  }

  @Test
  void snapshotNamesEachPoolAndListsItsSessionsWorkersAndRequests() throws Exception {
    try (SessionPool pool = SessionPool.create(
        PoolConfig.builder().name("web").min(0).max(3).warm(0).build(),
        new ObjectWorkerFactory(URI.create("http://127.0.0.1:1"), OptionalLong.of(4242)))) {
      AtomicLong requests = new AtomicLong();
      feed.watch(pool, () -> new RequestSample(requests.get(), requests.get() * 2_000_000));
      try (SessionLease lease = pool.acquire("alice", Duration.ofSeconds(30))) {
        feed.snapshot(); // the first sample: no interval yet
        requests.set(50);
        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        pool.drain(lease.worker().id());

        JsonNode snap = JSON.valueToTree(feed.snapshot());

        assertThat(snap.path("pools")).hasSize(1);
        JsonNode p = snap.path("pools").get(0);
        assertThat(p.path("name").asText()).isEqualTo("web");
        assertThat(p.path("gauges").path("busy").asInt()).isEqualTo(1);
        assertThat(p.path("gauges").path("sessions").asInt()).isEqualTo(1);
        assertThat(p.path("limits").path("max").asInt()).isEqualTo(3);
        assertThat(p.path("requests").path("total").asLong()).isEqualTo(50);
        assertThat(p.path("requests").path("perSecond").asDouble()).isEqualTo(10.0);
        assertThat(p.path("requests").path("meanMs").asDouble()).isEqualTo(2.0);
        JsonNode session = p.path("sessions").get(0);
        assertThat(session.path("pool").asText()).isEqualTo("web");
        assertThat(session.path("key").asText()).isEqualTo("alice");
        assertThat(session.path("pid").asLong()).isEqualTo(4242);
        assertThat(session.path("openLeases").asInt()).isEqualTo(1);
        assertThat(session.has("owner")).isTrue();
        JsonNode worker = p.path("workers").get(0);
        assertThat(worker.path("pool").asText()).isEqualTo("web");
        assertThat(worker.path("state").asText()).isEqualTo("BUSY");
        assertThat(worker.path("draining").asBoolean()).isTrue();
        assertThat(worker.path("session").asText()).isEqualTo("alice");
        assertThat(worker.has("uptimeMs")).isTrue();
        assertThat(worker.has("memoryBytes")).isTrue();
      }
    }
  }

  @Test
  void requestWindowGivesRateAndMeanOfTheLastInterval() {
    RequestWindow w = new RequestWindow();
    assertThat(w.advance(new RequestSample(10, 10_000_000), 0).get("perSecond")).isEqualTo(0.0);
    var second = w.advance(new RequestSample(30, 50_000_000), 2_000_000_000L);
    assertThat(second.get("perSecond")).isEqualTo(10.0);
    assertThat(second.get("meanMs")).isEqualTo(2.0);
    var quiet = w.advance(new RequestSample(30, 50_000_000), 3_000_000_000L);
    assertThat(quiet.get("perSecond")).isEqualTo(0.0);
    assertThat(quiet.get("meanMs")).as("no request, no mean").isNull();
  }
}
