package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.proxy.SessionKeyRule;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;

class DevToolsJsonTest {

  private static final DevToolsLinks ALICE = DevToolsLinks.forRequest(
      SessionKeyRule.parse("path:0:strip"), HttpMethod.GET, "/alice/json/list", "/json/list",
      new DefaultHttpHeaders().set("X-Forwarded-Proto", "http").set("X-Forwarded-Host", "gw:8080"),
      "gw:8080");

  @Test
  void chromiumsVersionAnswerGetsItsDebuggerUrlRewrittenAndNothingElse() {
    String version = "{\n   \"Browser\": \"Chrome/156.0.8078.114\",\n"
        + "   \"Protocol-Version\": \"1.3\",\n"
        + "   \"webSocketDebuggerUrl\": \"ws://127.0.0.1:9222/devtools/browser/d99e\"\n}\n";
    assertThat(DevToolsJson.rewrite(version, ALICE)).isEqualTo(version.replace(
        "ws://127.0.0.1:9222/devtools/browser/d99e", "ws://gw:8080/alice/devtools/browser/d99e"));
  }

  @Test
  void everyTargetOfAListIsRewritten() {
    String list = "[ {\"devtoolsFrontendUrl\": \"/devtools/inspector.html?ws=127.0.0.1:9222/devtools/page/A\","
        + "\"id\":\"A\",\"webSocketDebuggerUrl\":\"ws://127.0.0.1:9222/devtools/page/A\"},"
        + "{\"id\":\"B\",\"webSocketDebuggerUrl\":\"ws://127.0.0.1:9222/devtools/page/B\","
        + "\"devtoolsFrontendUrlCompat\":\"https://x/i.html?ws=127.0.0.1:9222/devtools/page/B\"} ]";
    String out = DevToolsJson.rewrite(list, ALICE);
    assertThat(out).contains("\"ws://gw:8080/alice/devtools/page/A\"",
        "\"ws://gw:8080/alice/devtools/page/B\"",
        "?ws=gw:8080/alice/devtools/page/A\"", "?ws=gw:8080/alice/devtools/page/B\"")
        .doesNotContain("127.0.0.1:9222");
  }

  @Test
  void escapedStringsAreDecodedBeforeAndEncodedAfter() {
    String json = "{\"webSocketDebuggerUrl\":\"ws:\\/\\/127.0.0.1:9222\\/devtools\\/page\\/\\u0041\","
        + "\"title\":\"say \\\"webSocketDebuggerUrl\\\"\"}";
    assertThat(DevToolsJson.rewrite(json, ALICE)).isEqualTo(
        "{\"webSocketDebuggerUrl\":\"ws://gw:8080/alice/devtools/page/A\","
            + "\"title\":\"say \\\"webSocketDebuggerUrl\\\"\"}");
  }

  @Test
  void aValueThatLooksLikeAMemberNameIsNotTakenForOne() {
    String json = "{\"title\":\"webSocketDebuggerUrl\",\"url\":\"ws://127.0.0.1:9222/devtools/page/A\"}";
    assertThat(DevToolsJson.rewrite(json, ALICE)).as("nothing to rewrite").isNull();
  }

  @Test
  void nestedMembersAreFound() {
    String json = "{\"targets\":{\"x\":[{\"webSocketDebuggerUrl\":\"ws://127.0.0.1:1/devtools/page/A\"}]}}";
    assertThat(DevToolsJson.rewrite(json, ALICE)).contains("ws://gw:8080/alice/devtools/page/A");
  }

  @Test
  void nonStringValuesAreLeftAlone() {
    String json = "{\"webSocketDebuggerUrl\":null,\"devtoolsFrontendUrl\":42}";
    assertThat(DevToolsJson.rewrite(json, ALICE)).isNull();
  }

  @Test
  void textThatIsNotAJsonObjectOrArrayOrIsBrokenIsNotRewritten() {
    assertThat(DevToolsJson.rewrite("ws://127.0.0.1:1/devtools/page/A", ALICE)).isNull();
    assertThat(DevToolsJson.rewrite("\"ws://127.0.0.1:1/devtools/page/A\"", ALICE)).isNull();
    assertThat(DevToolsJson.rewrite("{\"webSocketDebuggerUrl\":\"ws://127.0.0.1:1/devtools/p", ALICE))
        .as("an unterminated string").isNull();
    assertThat(DevToolsJson.rewrite("{\"webSocketDebuggerUrl\":\"ws://127.0.0.1:1/devtools/\\q\"}",
        ALICE)).as("a broken escape").isNull();
    assertThat(DevToolsJson.rewrite("{\"webSocketDebuggerUrl\":\"ws://127.0.0.1:1/devtools/\\u00\"}",
        ALICE)).as("a short unicode escape").isNull();
    assertThat(DevToolsJson.rewrite("", ALICE)).isNull();
  }
}
