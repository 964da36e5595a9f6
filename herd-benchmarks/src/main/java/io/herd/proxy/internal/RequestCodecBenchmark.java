package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The request half of a proxied request, as the gateway's handlers run it: a wrk-like request
 * head ({@code GET /hello}, Host, {@code X-Session-ID}, a few common fields) is decoded from a
 * client connection's bytes, its session key read, rewritten for the worker (hop-by-hop fields
 * and forwarding claims out, X-Forwarded-* in) and encoded for the worker connection.
 *
 * <p>{@code fastPath} runs the gateway's codec ({@link ClientRequestDecoder}, {@link
 * UpstreamRequestEncoder}); {@code nettyCodec}, the baseline, the same work with Netty's decoder
 * (with the gateway's strict checks, {@link StrictRequestDecoder}) and encoder. Both go through
 * {@link EmbeddedChannel}s, whose own cost (a promise per write, its queues) is in both figures
 * and measured alone by {@code harnessOnly}.
 * Goal: at most about 500 bytes allocated per request ({@code gc.alloc.rate.norm}).
 *
 * <p>In package {@code io.herd.proxy.internal} to call the gateway's package-private rules
 * directly. Run (from the repository root):
 *
 * <pre>
 * mvn -B -q -pl herd-benchmarks -am -Pbenchmarks -Dmaven.test.skip=true package
 * java -jar herd-benchmarks/target/benchmarks.jar RequestCodecBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m", "-Dio.netty.leakDetection.level=disabled"})
public class RequestCodecBenchmark {

  private static final byte[] HEAD = ("GET /hello HTTP/1.1\r\n"
      + "Host: 127.0.0.1:8080\r\n"
      + "X-Session-ID: bench-2\r\n"
      + "User-Agent: wrk\r\n"
      + "Accept: */*\r\n"
      + "Accept-Encoding: gzip\r\n"
      + "\r\n").getBytes(StandardCharsets.US_ASCII);
  private static final ClientPeer PEER =
      new ClientPeer("127.0.0.1", false, "http", 8080, "127.0.0.1:8080");
  private static final KeyRules.Header KEY = new KeyRules.Header("X-Session-ID");

  private EmbeddedChannel fastClient;
  private EmbeddedChannel fastUpstream;
  private EmbeddedChannel nettyClient;
  private EmbeddedChannel nettyUpstream;
  private EmbeddedChannel bareClient;
  private EmbeddedChannel bareUpstream;
  private ByteBuf head;

  @Setup(Level.Trial)
  public void setUp() {
    fastClient = new EmbeddedChannel(new ClientRequestDecoder(new HttpDecoderConfig()));
    fastUpstream = new EmbeddedChannel(new UpstreamRequestEncoder());
    nettyClient = new EmbeddedChannel(new StrictRequestDecoder(new HttpDecoderConfig()));
    nettyUpstream = new EmbeddedChannel(new HttpRequestEncoder());
    bareClient = new EmbeddedChannel();
    bareUpstream = new EmbeddedChannel();
    head = PooledByteBufAllocator.DEFAULT.directBuffer(HEAD.length).writeBytes(HEAD);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    head.release();
    fastClient.finishAndReleaseAll();
    fastUpstream.finishAndReleaseAll();
    nettyClient.finishAndReleaseAll();
    nettyUpstream.finishAndReleaseAll();
    bareClient.finishAndReleaseAll();
    bareUpstream.finishAndReleaseAll();
  }

  @Benchmark
  public int fastPath() {
    return proxy(fastClient, fastUpstream);
  }

  @Benchmark
  public int nettyCodec() {
    return proxy(nettyClient, nettyUpstream);
  }

  /**
   * The harness alone: the same channel reads and writes without a handler, to subtract from
   * the other two figures.
   */
  @Benchmark
  public int harnessOnly() {
    bareClient.writeInbound(head.retainedDuplicate());
    ByteBuf in = bareClient.readInbound();
    bareUpstream.writeOutbound(in, LastHttpContent.EMPTY_LAST_CONTENT);
    int size = 0;
    for (Object o; (o = bareUpstream.readOutbound()) != null; ) {
      size += o instanceof ByteBuf b ? b.readableBytes() : 0;
      ReferenceCountUtil.release(o);
    }
    return size;
  }

  /** One request through: decode, key, rewrite, encode; returns the encoded size. */
  private int proxy(EmbeddedChannel client, EmbeddedChannel upstream) {
    client.writeInbound(head.retainedDuplicate());
    HttpRequest request = client.readInbound();
    LastHttpContent last = client.readInbound();
    KeyLookup key = KEY.locate(request);
    if (key.outcome() != KeyLookup.Outcome.FOUND) {
      throw new IllegalStateException("no key: " + key);
    }
    HeaderRewriter.dropUnderscoreNames(request.headers(), false, KEY.name());
    HeaderRewriter.toUpstream(request, request.uri(), false, PEER);
    upstream.writeOutbound(request, last);
    int size = 0;
    for (Object o; (o = upstream.readOutbound()) != null; ) {
      size += ((ByteBuf) o).readableBytes();
      ReferenceCountUtil.release(o);
    }
    return size;
  }
}
