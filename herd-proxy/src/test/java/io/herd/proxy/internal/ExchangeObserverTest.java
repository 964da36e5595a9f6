package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.proxy.CompletedExchange;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import io.herd.proxy.LeakCheckExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheckExtension.class)
class ExchangeObserverTest {

  private final List<CompletedExchange> seen = new ArrayList<>();
  private final EmbeddedChannel ch = new EmbeddedChannel(new ExchangeObserver(seen::add));

  private void request(HttpMethod method) {
    ch.writeInbound(new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, "/"));
    ReferenceCountUtil.release(ch.readInbound());
  }

  private void drainOutbound() {
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ReferenceCountUtil.release(o);
    }
  }

  @Test
  void streamedResponseCompletesAtItsLastContent() {
    request(HttpMethod.GET);
    ch.writeOutbound(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    ch.writeOutbound(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[] {1})));
    assertThat(seen).isEmpty();
    ch.writeOutbound(LastHttpContent.EMPTY_LAST_CONTENT);
    drainOutbound();

    assertThat(seen).singleElement().satisfies(e -> {
      assertThat(e.method()).isEqualTo("GET");
      assertThat(e.status()).isEqualTo(200);
      assertThat(e.duration()).isPositive();
    });
  }

  @Test
  void interimContinueIsNotTheStatusAndPipelinedRequestsCompleteInOrder() {
    request(HttpMethod.POST);
    request(HttpMethod.DELETE);
    ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
    ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CREATED));
    ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.SERVICE_UNAVAILABLE));
    drainOutbound();

    assertThat(seen).extracting(CompletedExchange::method, CompletedExchange::status)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("POST", 201),
            org.assertj.core.groups.Tuple.tuple("DELETE", 503));
  }

  @Test
  void routingMarksApplyToTheExchangeBeingAnsweredNotToPipelinedOnes() {
    ExchangeObserver observer = ch.pipeline().get(ExchangeObserver.class);
    request(HttpMethod.GET);
    request(HttpMethod.GET);
    observer.arrivedForwarded();
    observer.forwardedTo("gw-b");
    ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    drainOutbound();

    assertThat(seen).extracting(CompletedExchange::forwardedTo, CompletedExchange::forwardedHop)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("gw-b", true),
            org.assertj.core.groups.Tuple.tuple(null, false));
  }

  @Test
  void theOutcomeSaysWhetherTheWorkerOrTheGatewayAnsweredAndWhy() {
    request(HttpMethod.GET);
    request(HttpMethod.GET);
    ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    ch.writeOutbound(ErrorResponses.of(Refusal.MISSING_KEY, null));
    drainOutbound();

    assertThat(seen).extracting(CompletedExchange::status, CompletedExchange::outcome)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(200, CompletedExchange.WORKER),
            org.assertj.core.groups.Tuple.tuple(400, "missing_key"));
  }

  @Test
  void answerToAnUnparsedRequestAndCloseBeforeAnswerAreBothReported() {
    ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE));
    request(HttpMethod.GET);
    drainOutbound();
    ch.close();

    assertThat(seen).extracting(CompletedExchange::method, CompletedExchange::status)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("-", 431),
            org.assertj.core.groups.Tuple.tuple("GET", 0));
  }

  @Test
  void protocolSwitchCompletesAtTheHundredOneAndBytesAfterAreIgnored() {
    request(HttpMethod.GET);
    ch.writeOutbound(new DefaultHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.SWITCHING_PROTOCOLS));
    ch.writeOutbound(Unpooled.wrappedBuffer(new byte[] {1, 2}));
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {3}));
    ReferenceCountUtil.release(ch.readInbound());
    drainOutbound();
    ch.close();

    assertThat(seen).extracting(CompletedExchange::status).containsExactly(101);
  }

  @Test
  void accessLogPathDropsQueryFragmentAndOrigin() {
    assertThat(ExchangeObserver.pathOf("/a/b?token=x")).isEqualTo("/a/b");
    assertThat(ExchangeObserver.pathOf("/a#frag")).isEqualTo("/a");
    assertThat(ExchangeObserver.pathOf("http://host:1/p?q")).isEqualTo("/p");
    assertThat(ExchangeObserver.pathOf("http://host:1")).isEqualTo("/");
    assertThat(ExchangeObserver.pathOf("*")).isEqualTo("*");
  }

  @Test
  void aSignedKeyInThePathIsLoggedAsItsId() {
    assertThat(ExchangeObserver.redactSignedKey("/alice.1234.c2lnbmF0dXJl/json", "alice"))
        .isEqualTo("/alice/json");
    assertThat(ExchangeObserver.redactSignedKey("/alicex/json", "alice")).isEqualTo("/alicex/json");
  }

  @Test
  void accessLogEntryCountsBodyBytesBothWays() {
    List<io.herd.proxy.AccessLogEntry> logged = new ArrayList<>();
    EmbeddedChannel channel = new EmbeddedChannel(
        new ExchangeObserver(null, logged::add, java.time.Clock.systemUTC()));
    channel.writeInbound(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/up?x=1"));
    channel.writeInbound(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[10])));
    channel.writeInbound(new io.netty.handler.codec.http.DefaultLastHttpContent(
        Unpooled.wrappedBuffer(new byte[5])));
    Object in;
    while ((in = channel.readInbound()) != null) {
      ReferenceCountUtil.release(in);
    }
    channel.writeOutbound(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    channel.writeOutbound(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[7])));
    channel.writeOutbound(LastHttpContent.EMPTY_LAST_CONTENT);
    Object out;
    while ((out = channel.readOutbound()) != null) {
      ReferenceCountUtil.release(out);
    }
    assertThat(logged).singleElement().satisfies(e -> {
      assertThat(e.path()).isEqualTo("/up");
      assertThat(e.requestBytes()).isEqualTo(15);
      assertThat(e.responseBytes()).isEqualTo(7);
      assertThat(e.coldStart()).isFalse();
    });
    channel.finishAndReleaseAll();
  }
}
