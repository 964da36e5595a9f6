package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

class HeaderRewriterTest {

  private static final ClientPeer PEER = new ClientPeer("127.0.0.1", false, "http", 8080, "127.0.0.1:8080");

  @Test
  void upgradeRequestsKeepTheirUpgradeHeaders() {
    HttpRequest in = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ws");
    in.headers().set("Host", "h").set("Connection", "keep-alive, Upgrade").set("Upgrade", "websocket")
        .set("Sec-WebSocket-Key", "k");
    assertThat(HeaderRewriter.isUpgrade(in)).isTrue();
    HttpRequest out = HeaderRewriter.toUpstream(in, "/ws", true, PEER);
    assertThat(out.headers().get("Connection")).isEqualToIgnoringCase("upgrade");
    assertThat(out.headers().get("Upgrade")).isEqualTo("websocket");
    assertThat(out.headers().get("Sec-WebSocket-Key")).isEqualTo("k");
  }

  @Test
  void connectionCannotRemoveTheFramingHeadersOrHost() {
    HttpRequest in = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");
    in.headers().set("Host", "h").set("Connection", "Content-Length, Host, X-Gone")
        .set("Content-Length", "5").set("X-Gone", "1");
    HttpRequest out = HeaderRewriter.toUpstream(in, "/", false, PEER);
    assertThat(out.headers().get("Content-Length")).isEqualTo("5");
    assertThat(out.headers().get("Host")).isEqualTo("h");
    assertThat(out.headers().contains("X-Gone")).isFalse();
  }

  @Test
  void anHttp10RequestWithoutHostReachesTheWorkerAsHttp11WithTheAddressTheClientReached() {
    HttpRequest in = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
    HttpRequest out = HeaderRewriter.toUpstream(in, "/", false, PEER);
    assertThat(out.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
    assertThat(out.headers().getAll("Host")).containsExactly("127.0.0.1:8080");
    assertThat(out.headers().get("X-Forwarded-Host")).isEqualTo("127.0.0.1:8080");
  }

  @Test
  void underscoreNamesAreDroppedUnlessAllowedAndLookAlikesAlways() {
    HttpHeaders h = headersWithUnderscores();
    assertThat(HeaderRewriter.dropUnderscoreNames(h, false, "X-Session-ID")).isEqualTo(5);
    assertThat(h.names()).containsExactlyInAnyOrder("X-Session-ID");

    HttpHeaders allowed = headersWithUnderscores();
    HeaderRewriter.dropUnderscoreNames(allowed, true, "X-Session-ID");
    assertThat(allowed.names()).as("only the look-alikes go")
        .containsExactlyInAnyOrder("X-Session-ID", "X_Custom");

    HttpHeaders keyWithUnderscore = new DefaultHttpHeaders().set("X_Key", "k").set("X-Key", "other");
    HeaderRewriter.dropUnderscoreNames(keyWithUnderscore, false, "X_Key");
    assertThat(keyWithUnderscore.names()).as("a key header named with _ is the key, and stays")
        .containsExactlyInAnyOrder("X_Key", "X-Key");
  }

  private static HttpHeaders headersWithUnderscores() {
    return new DefaultHttpHeaders().set("X-Session-ID", "a").set("Content_Length", "5")
        .set("Transfer_Encoding", "chunked").set("X_Session_ID", "b").set("X_Real_IP", "6.6.6.6")
        .set("X_Custom", "1");
  }

  @Test
  void anUntrustedPeersForwardingClaimsAreReplacedAndATrustedPeersKept() {
    HttpRequest in = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
    in.headers().set("Host", "h").set("X-Real-IP", "6.6.6.6").set("True-Client-IP", "6.6.6.6")
        .set("Forwarded", "for=6.6.6.6").set("X-Forwarded-For", "6.6.6.6");
    HttpHeaders out = HeaderRewriter.toUpstream(in, "/", false, PEER).headers();
    assertThat(out.get("X-Real-IP")).isEqualTo("127.0.0.1");
    assertThat(out.get("X-Forwarded-For")).isEqualTo("127.0.0.1");
    assertThat(out.get("X-Forwarded-Port")).isEqualTo("8080");
    assertThat(out.contains("True-Client-IP")).isFalse();
    assertThat(out.contains("Forwarded")).isFalse();

    HttpRequest viaProxy = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
    viaProxy.headers().set("Host", "h").set("X-Real-IP", "1.2.3.4").set("X-Forwarded-For", "1.2.3.4");
    HttpHeaders kept = HeaderRewriter.toUpstream(viaProxy, "/", false,
        new ClientPeer("10.0.0.1", true, "http", 8080, "127.0.0.1:8080")).headers();
    assertThat(kept.get("X-Real-IP")).isEqualTo("1.2.3.4");
    assertThat(kept.get("X-Forwarded-For")).isEqualTo("1.2.3.4, 10.0.0.1");
  }
}
