package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;

class RequestTargetTest {

  @Test
  void originFormPassesAndAbsoluteFormBecomesOriginFormWithItsAuthority() {
    assertThat(RequestTarget.check(HttpMethod.GET, "/p?q=1").uri()).isEqualTo("/p?q=1");
    RequestTarget.Result abs = RequestTarget.check(HttpMethod.GET, "http://h:80/a/b?c=1");
    assertThat(abs.uri()).isEqualTo("/a/b?c=1");
    assertThat(abs.authority()).isEqualTo("h:80");
    assertThat(RequestTarget.check(HttpMethod.GET, "HTTPS://h").uri()).isEqualTo("/");
    assertThat(RequestTarget.check(HttpMethod.GET, "http://h?x=1").uri()).isEqualTo("/?x=1");
    assertThat(RequestTarget.check(HttpMethod.OPTIONS, "*").uri()).isEqualTo("*");
  }

  @Test
  void everyOtherFormIsRefusedSayingWhy() {
    assertThat(RequestTarget.check(HttpMethod.GET, "*").problem()).contains("OPTIONS only");
    assertThat(RequestTarget.check(HttpMethod.GET, "c/1").problem()).contains("origin-form");
    assertThat(RequestTarget.check(HttpMethod.GET, "h:80").problem()).contains("origin-form");
    assertThat(RequestTarget.check(HttpMethod.GET, "ftp://h/").problem()).contains("http or https");
    assertThat(RequestTarget.check(HttpMethod.GET, "http:///x").problem()).contains("needs a host");
    assertThat(RequestTarget.check(HttpMethod.GET, "http://u:p@h/").problem()).contains("user info");
    assertThat(RequestTarget.check(HttpMethod.GET, "/a#b").problem()).contains("fragment");
  }
}
