package io.herd.proxy.internal;

import io.netty.handler.codec.http.HttpMethod;
import java.util.Locale;

/**
 * Which request targets the gateway forwards (RFC 9112 §3.2), decided in one place:
 *
 * <ul>
 *   <li>origin-form, {@code /path?query}: forwarded as is;
 *   <li>asterisk-form, {@code *}: only as {@code OPTIONS *}, forwarded as is;
 *   <li>absolute-form with scheme {@code http} or {@code https} and no user info: accepted, as
 *       RFC 9112 §3.2.2 requires of servers, and forwarded in origin-form with the target's
 *       authority as {@code Host} (the received Host is ignored, as that section says);
 *   <li>everything else is refused: authority-form (CONNECT is refused before), relative targets
 *       such as {@code c/1}, other schemes, and any target with a fragment ({@code #}).
 * </ul>
 *
 * <p>Stateless.
 */
final class RequestTarget {

  /**
   * The outcome: the origin-form target to route and forward, the authority that becomes Host
   * (absolute-form only, else null), or the problem when refused (then the rest is null).
   */
  record Result(String uri, String authority, String problem) {
    boolean refused() {
      return problem != null;
    }
  }

  private RequestTarget() {}

  static Result check(HttpMethod method, String target) {
    if (target.indexOf('#') >= 0) {
      return refuse("a fragment (#) is not part of a request target");
    }
    if (target.startsWith("/")) {
      return new Result(target, null, null);
    }
    if (target.equals("*")) {
      return method.equals(HttpMethod.OPTIONS) ? new Result(target, null, null)
          : refuse("the target * is for OPTIONS only");
    }
    int schemeEnd = target.indexOf("://");
    if (schemeEnd > 0) {
      String scheme = target.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        return refuse("an absolute target must be http or https: " + abbreviate(target));
      }
      int start = schemeEnd + 3;
      int end = start;
      while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
        end++;
      }
      String authority = target.substring(start, end);
      if (authority.isEmpty()) {
        return refuse("an absolute target needs a host: " + abbreviate(target));
      }
      if (authority.indexOf('@') >= 0) {
        return refuse("user info in the request target is not accepted");
      }
      String rest = target.substring(end);
      return new Result(rest.isEmpty() || rest.startsWith("?") ? "/" + rest : rest, authority, null);
    }
    return refuse("the request target must be a path starting with / (origin-form): "
        + abbreviate(target));
  }

  private static Result refuse(String problem) {
    return new Result(null, null, problem);
  }

  private static String abbreviate(String target) {
    return target.length() > 64 ? target.substring(0, 64) + "..." : target;
  }
}
