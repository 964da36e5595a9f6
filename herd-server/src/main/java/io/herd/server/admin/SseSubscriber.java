package io.herd.server.admin;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open {@code GET /events} stream: a bounded buffer of encoded SSE frames between the threads
 * that publish (pool threads, the dashboard tick) and the connection's event loop, which writes.
 *
 * <h2>Never blocking anyone</h2>
 *
 * <p>{@link #offer} runs on the publisher's thread: it adds the frame to a lock-free queue and,
 * unless a drain is already scheduled, schedules one on the channel's event loop — no lock, no
 * wait, no I/O. The drain writes while the channel is writable (the socket keeps up) and stops
 * when it is not; {@link #writable} resumes it. A client that reads too slowly therefore leaves
 * frames in the buffer, and once it holds {@code capacity} frames the subscriber is dropped: the
 * connection is closed and its frames discarded, and the client may reconnect for a fresh
 * snapshot. Memory per subscriber is bounded by {@code capacity} frames plus Netty's write buffer
 * high-water mark.
 *
 * <p>Frames are immutable byte arrays shared by every subscriber and wrapped (not copied, nothing
 * to release) when written. Thread-safe. Lifetime: the connection's.
 */
final class SseSubscriber {

  private static final Logger log = LoggerFactory.getLogger("herd.admin");

  private final Channel channel;
  private final int capacity;
  private final Consumer<SseSubscriber> onDrop;
  private final Queue<byte[]> frames = new ConcurrentLinkedQueue<>();
  /** Frames offered and not yet written; may exceed {@code frames.size()} for a moment. */
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final AtomicBoolean dropped = new AtomicBoolean();

  /**
   * @param capacity frames it may fall behind before it is dropped
   * @param onDrop told once when it is dropped or its connection closes
   */
  SseSubscriber(Channel channel, int capacity, Consumer<SseSubscriber> onDrop) {
    this.channel = channel;
    this.capacity = capacity;
    this.onDrop = onDrop;
  }

  /**
   * Queues {@code frame} for writing; from any thread, never blocks.
   *
   * @return false when the subscriber is gone or has just been dropped for falling behind
   */
  boolean offer(byte[] frame) {
    if (dropped.get()) {
      return false;
    }
    if (pending.incrementAndGet() > capacity) {
      drop("it fell " + capacity + " events behind (a client that reads too slowly)");
      return false;
    }
    frames.add(frame);
    if (drainScheduled.compareAndSet(false, true)) {
      try {
        channel.eventLoop().execute(this::drain);
      } catch (RejectedExecutionException e) {
        drop("the admin server is stopping");
        return false;
      }
    }
    return true;
  }

  /** The channel became writable again: write what waited. On the event loop. */
  void writable() {
    drain();
  }

  /** The connection closed. */
  void closed() {
    if (dropped.compareAndSet(false, true)) {
      frames.clear();
      onDrop.accept(this);
    }
  }

  boolean isDropped() {
    return dropped.get();
  }

  private void drain() {
    drainScheduled.set(false);
    if (dropped.get()) {
      frames.clear();
      return;
    }
    boolean wrote = false;
    while (channel.isWritable()) {
      byte[] frame = frames.poll();
      if (frame == null) {
        break;
      }
      pending.decrementAndGet();
      channel.write(new DefaultHttpContent(Unpooled.wrappedBuffer(frame)));
      wrote = true;
    }
    if (wrote) {
      channel.flush();
    }
  }

  private void drop(String why) {
    if (dropped.compareAndSet(false, true)) {
      log.info("dashboard event stream to {} dropped: {}", channel.remoteAddress(), why);
      frames.clear();
      channel.close();
      onDrop.accept(this);
    }
  }
}
