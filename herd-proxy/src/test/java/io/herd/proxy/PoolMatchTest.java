package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Host and path matching, prefix stripping and the specificity order of {@link PoolMatch}. */
class PoolMatchTest {

  @Test
  void hostsMatchExactlyOrBySuffixIgnoringCasePortAndTrailingDot() {
    PoolMatch exact = new PoolMatch("API.example.com", null, false);
    assertThat(exact.matches("api.example.com", "/")).isTrue();
    assertThat(exact.matches("Api.Example.Com:8080", "/x")).isTrue();
    assertThat(exact.matches("api.example.com.", "/x")).isTrue();
    assertThat(exact.matches("xapi.example.com", "/")).isFalse();
    assertThat(exact.matches(null, "/")).isFalse();
    PoolMatch wild = new PoolMatch("*.example.com", null, false);
    assertThat(wild.matches("a.example.com", "/")).isTrue();
    assertThat(wild.matches("a.b.example.com:443", "/")).isTrue();
    assertThat(wild.matches("example.com", "/")).isFalse();
    assertThat(wild.matches("aexample.com", "/")).isFalse();
  }

  @Test
  void prefixesMatchWholeSegmentsAndStripToASlash() {
    PoolMatch m = new PoolMatch(null, "/api/", true);
    assertThat(m.pathPrefix()).isEqualTo("/api");
    assertThat(m.matches("h", "/api")).isTrue();
    assertThat(m.matches("h", "/api/x")).isTrue();
    assertThat(m.matches("h", "/api?q=1")).isTrue();
    assertThat(m.matches("h", "/apix")).isFalse();
    assertThat(m.forward("/api")).isEqualTo("/");
    assertThat(m.forward("/api?q=1")).isEqualTo("/?q=1");
    assertThat(m.forward("/api/x/y?z")).isEqualTo("/x/y?z");
    assertThat(new PoolMatch(null, "/api", false).forward("/api/x")).isEqualTo("/api/x");
  }

  @Test
  void theMostSpecificComesFirst() {
    PoolMatch any = PoolMatch.ANY;
    PoolMatch shortPath = new PoolMatch(null, "/a", false);
    PoolMatch longPath = new PoolMatch(null, "/a/b", false);
    PoolMatch wild = new PoolMatch("*.example.com", null, false);
    PoolMatch longerWild = new PoolMatch("*.eu.example.com", null, false);
    PoolMatch exact = new PoolMatch("a.example.com", null, false);
    PoolMatch exactAndPath = new PoolMatch("a.example.com", "/a", false);
    List<PoolMatch> all = new ArrayList<>(
        List.of(any, shortPath, longPath, wild, longerWild, exact, exactAndPath));
    java.util.Collections.reverse(all);
    all.sort(PoolMatch.SPECIFICITY);
    assertThat(all).containsExactly(exactAndPath, exact, longerWild, wild, longPath, shortPath,
        any);
  }

  @Test
  void invalidMatchesSayWhatIsExpected() {
    assertThatThrownBy(() -> new PoolMatch("a.com:80", null, false))
        .hasMessage("match.host is invalid: a.com:80 (expected: a host name without port, or"
            + " *.suffix)");
    assertThatThrownBy(() -> new PoolMatch(null, "api", false))
        .hasMessage("match.pathPrefix is invalid: api (expected: a path starting with /, e.g."
            + " /api)");
    assertThatThrownBy(() -> new PoolMatch("a.com", null, true))
        .hasMessage("match.stripPrefix needs a pathPrefix: true (expected: match.pathPrefix"
            + " set, or stripPrefix: false)");
  }
}
