package io.herd.server.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code ${VAR}} and {@code ${VAR:-default}} references of one configuration file, resolved
 * from the environment when a value is bound. {@code $$} writes a literal {@code $}.
 *
 * <p>References are swapped for plain placeholder words <em>before</em> the YAML is parsed and
 * resolved inside each scalar afterwards. Both halves matter: {@code token: ${T}} inside a flow
 * mapping ({@code { token: ${T} }}) would otherwise not even parse, as braces end a plain scalar
 * there; and a value that contains YAML syntax ({@code a: b}, {@code #}) can never change the
 * document's structure, since it is inserted into an already parsed string. Lines do not move.
 * A reference in a key that is never bound (a comment, an unknown key) is never resolved, so an
 * unset variable there is no error.
 *
 * <p>Immutable after {@link #extract}; thread-safe.
 */
final class EnvReferences {

  private static final Pattern REFERENCE = Pattern.compile("\\$\\$|\\$\\{([^}\\n]*)}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern PLACEHOLDER = Pattern.compile("__herd_env_(\\d+)__");

  /** One reference as written: {@code name} and {@code fallback} (null without {@code :-}). */
  private record Reference(String written, String name, String fallback) {}

  private final List<Reference> references;
  private final Map<String, String> environment;

  private EnvReferences(List<Reference> references, Map<String, String> environment) {
    this.references = references;
    this.environment = environment;
  }

  /** The text with references replaced by placeholders. */
  record Extracted(String text, EnvReferences references) {}

  /** Replaces every reference in {@code yaml} by a placeholder, to be resolved by {@link #resolve}. */
  static Extracted extract(String yaml, Map<String, String> environment) {
    List<Reference> refs = new ArrayList<>();
    Matcher m = REFERENCE.matcher(yaml);
    StringBuilder out = new StringBuilder(yaml.length());
    while (m.find()) {
      String written = m.group();
      Reference ref;
      if (written.equals("$$")) {
        ref = new Reference(written, null, "$");
      } else {
        String body = m.group(1);
        int sep = body.indexOf(":-");
        ref = sep < 0 ? new Reference(written, body, null)
            : new Reference(written, body.substring(0, sep), body.substring(sep + 2));
      }
      m.appendReplacement(out, "__herd_env_" + refs.size() + "__");
      refs.add(ref);
    }
    m.appendTail(out);
    return new Extracted(out.toString(), new EnvReferences(List.copyOf(refs), environment));
  }

  /** A resolved value, or the problem that prevented it (value null then). */
  record Resolved(String value, String problem) {}

  /**
   * {@code text} with its placeholders replaced by the values they refer to; a problem (shaped
   * with {@code key}) when a variable is unset without a default or its name is malformed.
   */
  Resolved resolve(String key, String text) {
    if (text == null || text.indexOf("__herd_env_") < 0) {
      return new Resolved(text, null);
    }
    Matcher m = PLACEHOLDER.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      int index = Integer.parseInt(m.group(1));
      if (index >= references.size()) {
        continue; // the user wrote a placeholder-like word: keep it
      }
      Reference ref = references.get(index);
      String value;
      if (ref.name() == null) {
        value = ref.fallback();
      } else if (!NAME.matcher(ref.name()).matches()) {
        return new Resolved(null, key + " has a malformed environment reference: " + ref.written()
            + " (expected: ${NAME} or ${NAME:-default}, NAME of letters, digits and '_')");
      } else {
        String env = environment.get(ref.name());
        if (env != null && !(env.isEmpty() && ref.fallback() != null)) {
          value = env;
        } else if (ref.fallback() != null) {
          value = ref.fallback();
        } else {
          return new Resolved(null, key + " refers to an unset environment variable: "
              + ref.written() + " (expected: " + ref.name() + " set, or a default: ${"
              + ref.name() + ":-value})");
        }
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return new Resolved(out.toString(), null);
  }

  /** {@code text} with placeholders turned back into what the user wrote, for messages. */
  String written(String text) {
    if (text == null || text.indexOf("__herd_env_") < 0) {
      return text;
    }
    Matcher m = PLACEHOLDER.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      int index = Integer.parseInt(m.group(1));
      String original = index < references.size() ? references.get(index).written() : m.group();
      m.appendReplacement(out, Matcher.quoteReplacement(original));
    }
    m.appendTail(out);
    return out.toString();
  }
}
