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
}
