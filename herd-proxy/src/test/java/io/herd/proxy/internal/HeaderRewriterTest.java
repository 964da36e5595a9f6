package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

class HeaderRewriterTest {

  @Test
  void upgradeRequestsKeepTheirUpgradeHeaders() {
    HttpRequest in = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ws");
    in.headers().set("Host", "h").set("Connection", "keep-alive, Upgrade").set("Upgrade", "websocket")
        .set("Sec-WebSocket-Key", "k");
    assertThat(HeaderRewriter.isUpgrade(in)).isTrue();
    HttpRequest out = HeaderRewriter.toUpstream(in, "/ws", true, "127.0.0.1", false);
    assertThat(out.headers().get("Connection")).isEqualToIgnoringCase("upgrade");
    assertThat(out.headers().get("Upgrade")).isEqualTo("websocket");
    assertThat(out.headers().get("Sec-WebSocket-Key")).isEqualTo("k");
  }

  @Test
  void absoluteFormBecomesOriginForm() {
    assertThat(HeaderRewriter.originForm("http://h:80/a/b?c=1")).isEqualTo("/a/b?c=1");
    assertThat(HeaderRewriter.originForm("http://h")).isEqualTo("/");
    assertThat(HeaderRewriter.originForm("http://h?x=1")).isEqualTo("/?x=1");
    assertThat(HeaderRewriter.originForm("/p")).isEqualTo("/p");
  }
}
