package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.core.SessionEndedException;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.LeakCheckExtension;
import io.herd.proxy.SessionKeyRule;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelException;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.NoRouteToHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The frontend handler on in-memory channels, in virtual time: the client connection is an
 * {@link EmbeddedChannel} whose clock only moves when the test advances it, and each worker
 * connection is another one the test answers by hand. Every deadline is checked on both sides of
 * its instant, and every exchange ends with its lease given back.
 */
@ExtendWith(LeakCheckExtension.class)
class ProxyFrontendHandlerTest {

  private static final Duration HEADER = Duration.ofSeconds(10);
  private static final Duration IDLE = Duration.ofSeconds(60);
  private static final Duration BODY = Duration.ofSeconds(30);
  private static final Duration RESPONSE = Duration.ofSeconds(45);
  private static final Duration MS = Duration.ofMillis(1);

  private final ScriptedPool pool = new ScriptedPool();
  private final List<EmbeddedChannel> upstreams = new ArrayList<>();
  private EmbeddedChannel client;
  /** When set, every worker connection fails to connect with this. */
  private Throwable connectFailure;
  /** When set, no worker connection can be made at all: no socket, as at the descriptor limit. */
  private boolean noDescriptorLeft;
  private final List<String> refusalLines = new ArrayList<>();
  private final DescriptorRefusalLog refusals =
      new DescriptorRefusalLog((task, delay, unit) -> { }, refusalLines::add, () ->
          new io.herd.proxy.FileDescriptors(256, 256, 256));

  private void start() {
    GatewayOptions options = GatewayOptions.builder().headerTimeout(HEADER).idleTimeout(IDLE)
        .bodyTimeout(BODY).responseTimeout(RESPONSE).build();
    UpstreamPool connections = new UpstreamPool(options, (worker, loop) -> {
      if (noDescriptorLeft) {
        // What Netty's Bootstrap returns when the channel's socket() fails: a failed future on
        // its global executor, for a channel that was never registered.
        EmbeddedChannel never = new EmbeddedChannel(false, false);
        return new DefaultChannelPromise(never, GlobalEventExecutor.INSTANCE).setFailure(
            new ChannelException("Unable to create Channel from class EpollSocketChannel",
                new ChannelException(new Errors.NativeIoException("newSocketStream", -24))));
      }
      EmbeddedChannel up = new EmbeddedChannel();
      UpstreamPool.initPipeline(up.pipeline(), options);
      upstreams.add(up);
      return connectFailure == null ? up.newSucceededFuture() : up.newFailedFuture(connectFailure);
    }, refusals);
    GatewayContext gw = new GatewayContext(pool, options, SessionKeyRule.header("X-Session-ID"),
        connections, new DefaultChannelGroup(GlobalEventExecutor.INSTANCE));
    client = new EmbeddedChannel(new ClientRequestDecoder(new HttpDecoderConfig()),
        new ProxyFrontendHandler(gw));
    client.freezeTime();
  }

  @AfterEach
  void closeEverything() {
    if (client != null) {
      client.finishAndReleaseAll();
    }
    upstreams.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  private void send(String raw) {
    client.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
  }

  private void advance(Duration d) {
    client.advanceTimeBy(d.toNanos(), TimeUnit.NANOSECONDS);
    client.runScheduledPendingTasks();
    client.runPendingTasks();
  }

  private static String received(EmbeddedChannel up) {
    StringBuilder s = new StringBuilder();
    for (Object o; (o = up.readOutbound()) != null; ) {
      s.append(((ByteBuf) o).toString(StandardCharsets.ISO_8859_1));
      ReferenceCountUtil.release(o);
    }
    return s.toString();
  }

  private static void respond(EmbeddedChannel up, String raw) {
    up.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
  }

  /** The responses the client got so far: status and body per response. */
  private List<String> answers() {
    List<String> answers = new ArrayList<>();
    StringBuilder current = null;
    for (Object o; (o = client.readOutbound()) != null; ) {
      if (o instanceof HttpResponse r) {
        current = new StringBuilder(Integer.toString(r.status().code()));
      }
      if (o instanceof HttpContent c && current != null) {
        current.append(' ').append(c.content().toString(StandardCharsets.UTF_8).trim());
        if (c instanceof LastHttpContent) {
          answers.add(current.toString().trim());
          current = null;
        }
      }
      ReferenceCountUtil.release(o);
    }
    return answers;
  }

  private static String get(String key) {
    return "GET /x HTTP/1.1\r\nHost: h\r\nX-Session-ID: " + key + "\r\n\r\n";
  }

  private static String ok(String body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
  }

  @Test
  void aWorkerConnectionWithoutADescriptorLeftIsA503WithRetryAfterCountedAndLogged() {
    // Netty's native exceptions describe their errno through the native library.
    assumeThat(Epoll.isAvailable()).as("the epoll transport loads").isTrue();
    noDescriptorLeft = true;
    start();
    send(get("k"));
    client.runPendingTasks();
    List<String> answers = answers();
    assertThat(answers).singleElement().asString().startsWith("503")
        .contains("no file descriptor left");
    assertThat(pool.openLeases()).as("the lease is released").isZero();
    assertThat(refusals.counts().workerConnections()).isEqualTo(1);
    assertThat(refusalLines).singleElement().asString().contains("too many open files", "256");
  }

  @Test
  void aClientThatStopsMidBodyGets408AtTheBodyTimeoutAndTheLeaseIsReleased() {
    start();
    send("POST /up HTTP/1.1\r\nHost: h\r\nX-Session-ID: k\r\nContent-Length: 100\r\n\r\n0123456789");
    assertThat(received(upstreams.get(0))).endsWith("0123456789");
    assertThat(pool.openLeases()).isEqualTo(1);

    advance(BODY.minus(MS));
    assertThat(answers()).as("nothing before the deadline").isEmpty();
    assertThat(pool.openLeases()).isEqualTo(1);

    advance(MS);
    assertThat(answers()).singleElement().asString().startsWith("408").contains("body");
    assertThat(pool.openLeases()).as("the lease is released").isZero();
    assertThat(upstreams.get(0).isOpen()).as("the worker connection, mid-body, is closed").isFalse();
    assertThat(client.isOpen()).isFalse();
  }

  @Test
  void theBodyTimeoutCountsFromTheLastPieceTheClientSent() {
    start();
    send("POST /up HTTP/1.1\r\nHost: h\r\nX-Session-ID: k\r\nContent-Length: 30\r\n\r\n0123456789");
    advance(BODY.minusSeconds(1));
    send("0123456789");
    advance(BODY.minusSeconds(1));
    assertThat(answers()).as("each piece restarts the deadline").isEmpty();
    send("0123456789");
    assertThat(received(upstreams.get(0))).endsWith("012345678901234567890123456789");
    respond(upstreams.get(0), ok("done"));
    assertThat(answers()).containsExactly("200 done");
    advance(BODY.plusSeconds(1));
    assertThat(client.isOpen()).as("a finished exchange has no body deadline").isTrue();
    assertThat(pool.openLeases()).isZero();
  }

  @Test
  void aRequestHeadThatStopsGets408AtTheHeaderTimeout() {
    start();
    send("GET /x HTTP/1.1\r\nHost: h\r\nX-Sess");
    advance(HEADER.minus(MS));
    assertThat(client.isOpen()).isTrue();
    advance(MS);
    assertThat(answers()).singleElement().asString().startsWith("408");
    assertThat(pool.acquired()).isEmpty();
  }

  @Test
  void aNewConnectionThatSendsNothingIsClosedQuietlyAtTheHeaderTimeout() {
    start();
    advance(HEADER.minus(MS));
    assertThat(client.isOpen()).isTrue();
    advance(MS);
    assertThat(client.isOpen()).isFalse();
    assertThat(answers()).isEmpty();
  }

  @Test
  void anIdleKeepAliveConnectionClosesAtTheIdleTimeout() {
    start();
    send(get("k"));
    respond(upstreams.get(0), ok("one"));
    assertThat(answers()).containsExactly("200 one");
    advance(IDLE.minus(MS));
    assertThat(client.isOpen()).isTrue();
    advance(MS);
    assertThat(client.isOpen()).isFalse();
    assertThat(answers()).as("closed quietly").isEmpty();
  }

  @Test
  void aPipelinedHeadThatStartedDuringAnExchangeGetsTheHeaderTimeoutAfterIt() {
    start();
    send(get("k") + "GET /y HTTP/1.1\r\nHo");
    respond(upstreams.get(0), ok("one"));
    assertThat(answers()).containsExactly("200 one");
    advance(HEADER);
    assertThat(answers()).as("not the much longer idle timeout").singleElement().asString()
        .startsWith("408");
  }

  @Test
  void aWorkerThatDoesNotAnswerGives504AtTheResponseTimeout() {
    start();
    send(get("k"));
    assertThat(received(upstreams.get(0))).startsWith("GET /x HTTP/1.1");
    advance(RESPONSE.minus(MS));
    assertThat(answers()).isEmpty();
    advance(MS);
    assertThat(answers()).singleElement().asString().startsWith("504");
    assertThat(pool.openLeases()).isZero();
  }

  @Test
  void bytesAfterACompleteResponseAreDroppedAndTheirConnectionIsNeverReused() {
    start();
    send(get("k"));
    respond(upstreams.get(0), ok("mine") + ok("injected"));
    assertThat(answers()).containsExactly("200 mine");
    assertThat(upstreams.get(0).isOpen()).isFalse();
    assertThat(pool.openLeases()).isZero();

    send(get("k"));
    assertThat(upstreams).as("the next request opened a new worker connection").hasSize(2);
    respond(upstreams.get(1), ok("again"));
    assertThat(answers()).containsExactly("200 again");
  }

  @Test
  void aCleanResponseLeavesItsConnectionPooledForTheNextRequest() {
    start();
    send(get("k"));
    respond(upstreams.get(0), ok("one"));
    send(get("k"));
    respond(upstreams.get(0), ok("two"));
    assertThat(answers()).containsExactly("200 one", "200 two");
    assertThat(upstreams).hasSize(1);
  }

  @Test
  void aMalformedPipelinedRequestWaitsForItsTurnAndSpoilsNothingBefore() {
    start();
    send(get("k") + "GET /y HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n");
    respond(upstreams.get(0), ok("one"));
    assertThat(answers()).containsExactly("200 one", "400 400 Bad Request: obs-fold (a header line"
        + " starting with whitespace) is not accepted");
    assertThat(pool.acquired()).containsExactly("k");
  }

  @Test
  void aSessionEndedWhileTheRequestWaitedGives503WithRetryAfter() {
    start();
    pool.failAcquiresWith(new SessionEndedException("session k ended"));
    send(get("k"));
    Object head = client.readOutbound();
    assertThat(head).isInstanceOf(HttpResponse.class);
    HttpResponse r = (HttpResponse) head;
    assertThat(r.status().code()).isEqualTo(503);
    assertThat(r.headers().get("Retry-After")).isEqualTo("1");
    assertThat(r).isInstanceOf(ErrorResponses.GatewayAnswer.class);
    assertThat(((ErrorResponses.GatewayAnswer) r).outcome()).isEqualTo("session_ended");
    ReferenceCountUtil.release(head);
  }

  @Test
  void aWorkerWithoutARouteGives502NotTheGatewayFailed500() {
    // An isolated worker that has just exited takes its network link with it: the connect fails
    // with ENETUNREACH, a NoRouteToHostException rather than a ConnectException, which the
    // gateway used to answer as its own fault (500).
    connectFailure = new NoRouteToHostException();
    start();
    send(get("k"));
    assertThat(answers()).singleElement().asString()
        .startsWith("502").contains("the worker could not be reached");
    assertThat(pool.openLeases()).isZero();
  }
}
