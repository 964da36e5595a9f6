package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.proxy.internal.KeyLookup;
import io.herd.proxy.internal.KeyRules;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

class SessionKeyRuleTest {

  private static HttpRequest get(String uri) {
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
  }

  @Test
  void parsesEveryConfigurationForm() {
    HttpRequest r = get("/s1/rest/of?sid=q1&x=2");
    r.headers().set("X-Session-ID", "h1").set("Cookie", "a=1; sid=c1");
    assertThat(SessionKeyRule.parse("header:X-Session-ID").extract(r)).isEqualTo("h1");
    assertThat(SessionKeyRule.parse("cookie:sid").extract(r)).isEqualTo("c1");
    assertThat(SessionKeyRule.parse("query:sid").extract(r)).isEqualTo("q1");
    assertThat(SessionKeyRule.parse("path:0").extract(r)).isEqualTo("s1");
    assertThat(SessionKeyRule.parse("path:1").extract(r)).isEqualTo("rest");
    assertThat(SessionKeyRule.parse("path:3").extract(r)).isNull();
    assertThat(SessionKeyRule.parse("header:X-Other").extract(r)).isNull();
  }

  @Test
  void pathRuleStripsOnlyItsSegment() {
    SessionKeyRule first = SessionKeyRule.parse("path:0:strip");
    assertThat(first.forwardUri("/s1/a/b?x=1")).isEqualTo("/a/b?x=1");
    assertThat(first.forwardUri("/s1")).isEqualTo("/");
    assertThat(first.forwardUri("/s1?x")).isEqualTo("/?x");
    assertThat(SessionKeyRule.parse("path:1:strip").forwardUri("/api/s1/x")).isEqualTo("/api/x");
    assertThat(SessionKeyRule.parse("path:1").forwardUri("/api/s1/x")).isEqualTo("/api/s1/x");
  }

  @Test
  void builtInRulesFindTwoDifferentKeysAndCollapseIdenticalOnes() {
    HttpRequest headers = get("/");
    headers.headers().add("X-Session-ID", "a").add("X-Session-ID", "b");
    assertThat(locate("header:X-Session-ID", headers).outcome()).isEqualTo(KeyLookup.Outcome.CONFLICT);
    assertThat(SessionKeyRule.parse("header:X-Session-ID").extract(headers)).isNull();

    HttpRequest same = get("/");
    same.headers().add("X-Session-ID", "a").add("X-Session-ID", "a");
    assertThat(locate("header:X-Session-ID", same).key()).isEqualTo("a");
    assertThat(same.headers().getAll("X-Session-ID")).containsExactly("a");

    HttpRequest quoted = get("/");
    quoted.headers().add("Cookie", "sid=\"c\"; x=1").add("Cookie", "sid=c");
    assertThat(locate("cookie:sid", quoted).key()).isEqualTo("c");
    assertThat(quoted.headers().getAll("Cookie")).containsExactly("sid=\"c\"; x=1");

    assertThat(locate("query:sid", get("/?sid=a&sid=b")).outcome()).isEqualTo(KeyLookup.Outcome.CONFLICT);
    assertThat(locate("query:sid", get("/?s%69d=a&sid=b")).outcome())
        .as("a parameter name is decoded too").isEqualTo(KeyLookup.Outcome.CONFLICT);
    assertThat(locate("query:sid", get("/?x=1;sid=a")).outcome())
        .as("only & separates parameters").isEqualTo(KeyLookup.Outcome.MISSING);
    HttpRequest dupQuery = get("/p?sid=a&x=%zz&sid=a");
    assertThat(locate("query:sid", dupQuery).key()).isEqualTo("a");
    assertThat(dupQuery.uri()).isEqualTo("/p?sid=a&x=%zz");
    assertThat(locate("query:sid", get("/?sid=a%zz")).outcome()).isEqualTo(KeyLookup.Outcome.INVALID);
    assertThat(locate("path:0", get("/a%2Fb/x")).key()).isEqualTo("a/b");
  }

  private static KeyLookup locate(String spec, HttpRequest request) {
    return KeyRules.locate(SessionKeyRule.parse(spec), request);
  }

  @Test
  void badSpecsSayWhatIsExpected() {
    for (String bad : new String[] {"header:", "bogus:x", "path:x", "path:-1", "header:a b", "cookie"}) {
      assertThatThrownBy(() -> SessionKeyRule.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: header:NAME");
    }
  }

  @Test
  void signerAcceptsOnlyItsOwnSignatures() {
    SessionKeySigner signer = new SessionKeySigner("0123456789abcdef".getBytes());
    SessionKeySigner other = new SessionKeySigner("fedcba9876543210".getBytes());
    String key = signer.newKey();
    assertThat(signer.verify(key)).isTrue();
    assertThat(other.verify(key)).isFalse();
    assertThat(signer.verify(key + "x")).isFalse();
    assertThat(signer.verify("plain")).isFalse();
    assertThat(signer.verify(".sig")).isFalse();
    assertThat(signer.newKey()).isNotEqualTo(key);
  }

  @Test
  void optionsReportEveryProblemAtOnce() {
    assertThatThrownBy(() -> GatewayOptions.builder().headerTimeout(java.time.Duration.ZERO)
            .sessionConcurrency(-1).signingSecret("short").issueKeys(true)
            .trustedProxies(java.util.List.of("not-an-ip")).build())
        .isInstanceOf(io.herd.core.InvalidConfigException.class)
        .hasMessageContaining("proxy.timeouts.header is not positive: PT0S (expected: > 0)")
        .hasMessageContaining("session.concurrency is too small: -1 (expected: >= 0)")
        .hasMessageContaining("session.secret is too short")
        .hasMessageContaining("proxy.trustedProxies has a bad entry: not-an-ip");
    assertThat(GatewayOptions.builder().signingSecret("0123456789abcdef").build().toString())
        .doesNotContain("0123456789abcdef").contains("****");
  }
}
