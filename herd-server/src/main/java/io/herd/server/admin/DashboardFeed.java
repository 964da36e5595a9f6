package io.herd.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.core.PoolListener;
import io.herd.core.SessionPool;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live feed behind the admin dashboard: every pool's lifecycle events and a periodic snapshot
 * of every pool, fanned out to the open {@code GET /events} streams as server-sent events.
 *
 * <h2>Wire format</h2>
 *
 * <pre>
 *   id: 42                      a pool event: sessionStarted, sessionEnded, workerStarted,
 *   event: pool                 workerStopped, workerCrashed (with "stderr": its last lines),
 *   data: {"seq":42,"time":…,   spawnFailed (with "error"); every one names its "pool"
 *          "type":"sessionStarted","pool":"default","session":"alice","worker":"w-1",…}
 *
 *   event: snapshot             every second (and at once for a new stream):
 *   data: {"time":…,"gateway":{…},"pools":[{"name":"default","gauges":{…},"sessions":[…],…}]}
 * </pre>
 *
 * <p>A new stream gets the last {@value #HISTORY} events first (so a page opened after a crash
 * still shows it) and a fresh snapshot. Events carry increasing sequence numbers; a client that
 * reconnects skips those it has seen.
 *
 * <h2>Threads</h2>
 *
 * <p>{@link #publish} runs on pool threads: it encodes the event once and offers the bytes to each
 * stream ({@link SseSubscriber#offer}, which never blocks), under a small lock that keeps the
 * history, the sequence and the subscriber set consistent — so a stream that subscribes gets each
 * event exactly once, from the history or live. The lock is never held for I/O. Snapshots are
 * built on one daemon thread of its own, {@code herd-dashboard}, which may read {@code /proc} and
 * cgroup files; ticks do nothing while no stream is open.
 *
 * <p>Thread-safe. Lifetime: from construction (events are recorded from then on), ticking from
 * {@link #start} until {@link #close}.
 */
public final class DashboardFeed implements AutoCloseable {

  /** Events kept for streams that open later. */
  static final int HISTORY = 200;
  /** Frames a stream may fall behind before it is dropped. */
  static final int STREAM_BUFFER = 256;
  /** How often a snapshot is sent. */
  static final Duration TICK = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger("herd.admin");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SessionIds ids;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final Map<String, PoolEvents> events = new ConcurrentHashMap<>();
  private final List<PoolView> pools = new CopyOnWriteArrayList<>();

  private final Object lock = new Object();
  /** Encoded pool events, oldest first. Guarded by {@link #lock}. */
  private final ArrayDeque<byte[]> history = new ArrayDeque<>();
  /** Guarded by {@link #lock}. */
  private final Set<SseSubscriber> subscribers = new LinkedHashSet<>();
  /** Guarded by {@link #lock}. */
  private long sequence;

  /** Set by {@link #start}. */
  private volatile AdminTarget target;
  private volatile ScheduledExecutorService ticker;

  /** A feed whose events show session keys as {@code ids} decides; it does not tick yet. */
  public DashboardFeed(SessionIds ids) {
    this(ids, Clock.systemUTC(), System::nanoTime);
  }

  DashboardFeed(SessionIds ids, Clock clock, LongSupplier nanoTime) {
    this.ids = Objects.requireNonNull(ids, "ids");
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /**
   * The listener that feeds pool {@code pool}'s events in; register it with the pool's builder
   * (before it starts, so that the first workers are known too), then {@link #watch} the pool.
   */
  public PoolListener listener(String pool) {
    return events.computeIfAbsent(pool, name -> new PoolEvents(name, ids, this::publish));
  }

  /**
   * Shows {@code pool} on the dashboard, under its config name. Registers the listener with the
   * pool now unless {@link #listener} was registered with its builder.
   *
   * @param requests the requests it answered so far, for the rate and latency
   */
  public void watch(SessionPool pool, Supplier<RequestSample> requests) {
    String name = pool.config().name();
    boolean registered = events.containsKey(name);
    PoolEvents poolEvents = (PoolEvents) listener(name);
    if (!registered) {
      pool.addListener(poolEvents);
    }
    pools.add(new PoolView(pool, poolEvents, requests));
  }

  /** Starts the snapshot tick; {@code target} supplies the gateway's facts and cluster node. */
  void start(AdminTarget target) {
    this.target = target;
    ScheduledExecutorService t = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "herd-dashboard");
      thread.setDaemon(true);
      return thread;
    });
    // With a fixed delay a slow tick (a busy /proc) delays the next instead of piling up.
    t.scheduleWithFixedDelay(this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    ticker = t;
  }

  /** Records a pool event and sends it to every open stream; never blocks. */
  void publish(Map<String, Object> event) {
    synchronized (lock) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("seq", ++sequence);
      e.put("time", clock.millis());
      e.putAll(event);
      byte[] frame = frame("pool", sequence, e);
      history.addLast(frame);
      if (history.size() > HISTORY) {
        history.removeFirst();
      }
      for (SseSubscriber s : new ArrayList<>(subscribers)) {
        s.offer(frame); // a slow one drops itself, and leaves the set through unsubscribe
      }
    }
  }

  /** Opens a stream: the recent events now, a snapshot as soon as the tick thread makes one. */
  void subscribe(SseSubscriber s) {
    synchronized (lock) {
      subscribers.add(s);
      for (byte[] frame : history) {
        if (!s.offer(frame)) {
          break;
        }
      }
    }
    requestTick();
  }

  void unsubscribe(SseSubscriber s) {
    synchronized (lock) {
      subscribers.remove(s);
    }
  }

  int subscribers() {
    synchronized (lock) {
      return subscribers.size();
    }
  }

  /** Every pool now, with the gateway's facts: the {@code snapshot} event's data. */
  Map<String, Object> snapshot() {
    AdminTarget t = target;
    String owner = t == null ? null
        : t.cluster().map(c -> c.status().get().node()).orElse(null);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("time", clock.millis());
    if (t != null) {
      Map<String, Object> gateway = new LinkedHashMap<>(t.gateway().get());
      gateway.put("draining", t.draining().getAsBoolean());
      gateway.put("node", owner);
      body.put("gateway", gateway);
    }
    List<Map<String, Object>> list = new ArrayList<>();
    long nanos = nanoTime.getAsLong();
    for (PoolView view : pools) {
      list.add(view.snapshot(ids, owner, clock.instant(), nanos));
    }
    body.put("pools", list);
    return body;
  }

  /** Makes a snapshot soon, on the tick thread. */
  private void requestTick() {
    ScheduledExecutorService t = ticker;
    if (t == null) {
      return;
    }
    try {
      t.execute(this::tick);
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  private void tick() {
    try {
      List<SseSubscriber> open;
      synchronized (lock) {
        open = new ArrayList<>(subscribers);
      }
      if (open.isEmpty()) {
        return;
      }
      byte[] frame = frame("snapshot", 0, snapshot());
      for (SseSubscriber s : open) {
        s.offer(frame);
      }
    } catch (RuntimeException e) { // a bug; the next tick tries again
      log.warn("dashboard snapshot failed: {}", e.toString(), e);
    }
  }

  /** One SSE frame; JSON has no raw newline, so {@code data} is one line. */
  static byte[] frame(String event, long id, Object data) {
    String json;
    try {
      json = JSON.writeValueAsString(data);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write dashboard JSON", e);
    }
    String idLine = id > 0 ? "id: " + id + "\n" : "";
    return (idLine + "event: " + event + "\ndata: " + json + "\n\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Stops the tick; open streams are closed by the admin server's shutdown. */
  @Override
  public void close() {
    ScheduledExecutorService t = ticker;
    if (t != null) {
      t.shutdownNow();
      try {
        if (!t.awaitTermination(5, TimeUnit.SECONDS)) {
          log.warn("dashboard tick thread did not stop within 5 s");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (PoolView view : pools) {
      view.detach();
    }
  }
}
