package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.proxy.SessionKeyRule;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;

class DevToolsLinksTest {

  private static final String WORKER_URL =
      "ws://127.0.0.1:35307/devtools/browser/284ea5a1-4e3f-4fac-957e-bbf5c48cc84a";
  private static final String FRONTEND = "https://chrome-devtools-frontend.appspot.com/serve_rev/"
      + "@ea19f9/inspector.html?ws=127.0.0.1:35307/devtools/page/D574F4";

  private static HttpHeaders forwarded(String proto, String host) {
    HttpHeaders h = new DefaultHttpHeaders();
    if (proto != null) {
      h.set("X-Forwarded-Proto", proto);
    }
    if (host != null) {
      h.set("X-Forwarded-Host", host);
    }
    return h;
  }

  private static DevToolsLinks links(String rule, String clientTarget, String proto, String host) {
    SessionKeyRule r = SessionKeyRule.parse(rule);
    return DevToolsLinks.forRequest(r, HttpMethod.GET, clientTarget, r.forwardUri(clientTarget),
        forwarded(proto, host), "10.0.0.1:8080");
  }

  @Test
  void aPathKeyIsPutBackInFrontOfTheWorkersDevToolsPath() {
    DevToolsLinks l = links("path:0:strip", "/alice/json/version", "http", "127.0.0.1:8080");
    assertThat(l.debuggerUrl(WORKER_URL)).isEqualTo(
        "ws://127.0.0.1:8080/alice/devtools/browser/284ea5a1-4e3f-4fac-957e-bbf5c48cc84a");
    assertThat(l.frontendUrl(FRONTEND)).isEqualTo("https://chrome-devtools-frontend.appspot.com/"
        + "serve_rev/@ea19f9/inspector.html?ws=127.0.0.1:8080/alice/devtools/page/D574F4");
  }

  @Test
  void aKeyAtALaterSegmentGoesBackToThatSegmentAsTheClientWroteIt() {
    DevToolsLinks l = links("path:1:strip", "/json/al%69ce/list", "http", "gw:80");
    assertThat(l.debuggerUrl("ws://127.0.0.1:1/devtools/page/X"))
        .as("the gateway reads segment 1, so the key goes back there, still encoded")
        .isEqualTo("ws://gw:80/devtools/al%69ce/page/X");
  }

  @Test
  void behindAPoolsStrippedPrefixTheLinksComeBackThroughThatPrefix() {
    // pools: [{ match: { pathPrefix: /browser, stripPrefix: true }, session.key: path:0:strip }]
    DevToolsLinks l = links("path:0:strip", "/alice/json/version", "http", "127.0.0.1:8080")
        .mountedAt("/browser");
    assertThat(l.debuggerUrl("ws://127.0.0.1:9222/devtools/browser/B"))
        .isEqualTo("ws://127.0.0.1:8080/browser/alice/devtools/browser/B");
    assertThat(l.frontendUrl("/devtools/inspector.html?ws=127.0.0.1:9222/devtools/page/A"))
        .isEqualTo("/devtools/inspector.html?ws=127.0.0.1:8080/browser/alice/devtools/page/A");
  }

  @Test
  void anIpv6HostIsKeptInBrackets() {
    DevToolsLinks l = links("path:0:strip", "/alice/json", "http", "[::1]:8080");
    assertThat(l.debuggerUrl("ws://[::1]:9222/devtools/page/A"))
        .isEqualTo("ws://[::1]:8080/alice/devtools/page/A");
    assertThat(l.frontendUrl("/devtools/inspector.html?ws=[::1]:9222/devtools/page/A"))
        .isEqualTo("/devtools/inspector.html?ws=[::1]:8080/alice/devtools/page/A");
  }

  @Test
  void aClientThatCameOverTlsGetsWss() {
    DevToolsLinks l = links("path:0:strip", "/alice/json/version", "https", "gw.example");
    assertThat(l.debuggerUrl(WORKER_URL)).startsWith("wss://gw.example/alice/devtools/browser/");
    assertThat(l.frontendUrl(FRONTEND)).contains("?wss=gw.example/alice/devtools/page/D574F4")
        .doesNotContain("ws=127.0.0.1");
  }

  @Test
  void aQueryKeyIsAppendedAsTheClientSentItAndEncodedInsideTheFrontEndsParameter() {
    DevToolsLinks l = links("query:session", "/json/version?x=1&session=al%69ce", "http",
        "127.0.0.1:8080");
    assertThat(l.debuggerUrl(WORKER_URL))
        .endsWith(":8080/devtools/browser/284ea5a1-4e3f-4fac-957e-bbf5c48cc84a?session=al%69ce");
    assertThat(l.frontendUrl(FRONTEND)).endsWith(
        "?ws=127.0.0.1:8080/devtools/page/D574F4%3Fsession%3Dal%2569ce");
  }

  @Test
  void headerAndCookieKeysKeepThePathAndOnlyFixTheAddress() {
    DevToolsLinks l = links("header:X-Session-ID", "/json/version", "http", "127.0.0.1:8080");
    assertThat(l.debuggerUrl(WORKER_URL)).isEqualTo(
        "ws://127.0.0.1:8080/devtools/browser/284ea5a1-4e3f-4fac-957e-bbf5c48cc84a");
  }

  @Test
  void onlyDiscoveryPathsWithGetOrPutGetLinks() {
    SessionKeyRule r = SessionKeyRule.parse("path:0:strip");
    HttpHeaders h = forwarded("http", "gw:1");
    for (String p : new String[] {"/a/json", "/a/json/", "/a/json/list", "/a/json/version/",
        "/a/json/new?about:blank"}) {
      assertThat(DevToolsLinks.forRequest(r, HttpMethod.GET, p, r.forwardUri(p), h, "x:1"))
          .as(p).isNotNull();
    }
    assertThat(DevToolsLinks.forRequest(r, HttpMethod.PUT, "/a/json/new", "/json/new", h, "x:1"))
        .isNotNull();
    assertThat(DevToolsLinks.forRequest(r, HttpMethod.GET, "/a/json/protocol", "/json/protocol",
        h, "x:1")).isNull();
    assertThat(DevToolsLinks.forRequest(r, HttpMethod.GET, "/a/app/json", "/app/json", h, "x:1"))
        .isNull();
    assertThat(DevToolsLinks.forRequest(r, HttpMethod.POST, "/a/json", "/json", h, "x:1"))
        .isNull();
  }

  @Test
  void aHostThatIsNotAnAuthorityFallsBackToTheGatewaysAddress() {
    DevToolsLinks l = links("path:0:strip", "/alice/json", "http", "evil.example/x?");
    assertThat(l.authority()).isEqualTo("10.0.0.1:8080");
  }

  @Test
  void urlsThatAreNotTheWorkersDevToolsUrlsStayAsTheyAre() {
    DevToolsLinks l = links("path:0:strip", "/alice/json", "http", "gw:1");
    assertThat(l.debuggerUrl("http://127.0.0.1:1/devtools/page/A"))
        .isEqualTo("http://127.0.0.1:1/devtools/page/A");
    assertThat(l.debuggerUrl("ws://127.0.0.1:1/other/A")).isEqualTo("ws://127.0.0.1:1/other/A");
    assertThat(l.frontendUrl("https://x/inspector.html?v=1")).isEqualTo("https://x/inspector.html?v=1");
  }
}
