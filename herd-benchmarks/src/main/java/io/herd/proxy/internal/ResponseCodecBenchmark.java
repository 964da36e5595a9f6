package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The response half of the proxy's per-request codec work: a typical worker response (200, a few
 * fields, a 5-byte or 16 KiB body) decoded from the worker connection's bytes, given the gateway's
 * edits and encoded for the client, through the real handlers ({@link UpstreamResponseDecoder},
 * {@link ResponseHeadRewriter}, {@link ClientResponseEncoder}) in {@link EmbeddedChannel}s.
 * {@code netty*} is the baseline: the path the gateway had before, Netty's {@link
 * HttpResponseDecoder}, {@link HeaderRewriter#prepareResponse} on the header map and Netty's
 * {@link HttpResponseEncoder}. The input is a pooled buffer filled per operation, as a socket read
 * would be. Goal: at most about 500 bytes allocated per response ({@code -prof gc},
 * {@code gc.alloc.rate.norm}); the embedded channels' own promises are included, so the figure is
 * an upper bound.
 *
 * <p>In the gateway's package because the rewrite step and the exchange it reads are internal.
 *
 * <p>Run (from the repository root):
 *
 * <pre>
 * mvn -B -q -pl herd-benchmarks -am -Pbenchmarks -Dmaven.test.skip=true package
 * java -jar herd-benchmarks/target/benchmarks.jar ResponseCodecBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class ResponseCodecBenchmark {

  @Param({"5", "16384"})
  int bodySize;

  private byte[] wire;
  private EmbeddedChannel upstream;
  private EmbeddedChannel client;
  private EmbeddedChannel nettyUpstream;
  private EmbeddedChannel nettyClient;
  private final PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

  @Setup
  public void setUp() {
    String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + "Date: Wed, 02 Dec 2026 15:00:00 GMT\r\nServer: worker/1.0\r\n"
        + "Cache-Control: no-store\r\nConnection: keep-alive\r\nContent-Length: " + bodySize
        + "\r\n\r\n";
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    wire = new byte[h.length + bodySize];
    System.arraycopy(h, 0, wire, 0, h.length);
    for (int i = h.length; i < wire.length; i++) {
      wire[i] = (byte) ('a' + i % 26);
    }
    HttpDecoderConfig config = new HttpDecoderConfig().setMaxHeaderSize(65536);
    upstream = new EmbeddedChannel(new UpstreamResponseDecoder(config));
    client = new EmbeddedChannel(new ClientResponseEncoder());
    nettyUpstream = new EmbeddedChannel(new HttpResponseDecoder(config));
    nettyClient = new EmbeddedChannel(new HttpResponseEncoder());
  }

  @TearDown
  public void tearDown() {
    upstream.finishAndReleaseAll();
    client.finishAndReleaseAll();
    nettyUpstream.finishAndReleaseAll();
    nettyClient.finishAndReleaseAll();
  }

  private static Exchange exchange() {
    return new Exchange("s", null, false, false, false, false, true, null, "/", false);
  }

  @Benchmark
  public long passThrough() {
    return relay(upstream, client, true);
  }

  @Benchmark
  public long netty() {
    return relay(nettyUpstream, nettyClient, false);
  }

  private long relay(EmbeddedChannel from, EmbeddedChannel to, boolean raw) {
    ByteBuf in = alloc.directBuffer(wire.length).writeBytes(wire);
    from.writeInbound(in);
    Exchange e = exchange();
    for (Object m; (m = from.readInbound()) != null; ) {
      if (m instanceof HttpResponse resp) {
        if (raw) {
          ResponseHeadRewriter.prepare(e, (RawResponseHead) resp, "k", false, null, false);
        } else {
          HeaderRewriter.prepareResponse(e, resp, "k", false, null, false);
        }
      }
      to.writeOneOutbound(m);
      if (!(m instanceof HttpResponse) && !(m instanceof HttpContent)) {
        ReferenceCountUtil.release(m);
      }
    }
    to.flushOutbound();
    long bytes = 0;
    for (ByteBuf out; (out = to.readOutbound()) != null; ) {
      bytes += out.readableBytes();
      out.release();
    }
    return bytes;
  }
}
