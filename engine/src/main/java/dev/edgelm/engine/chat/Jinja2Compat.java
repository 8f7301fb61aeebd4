package dev.edgelm.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What Hugging Face chat templates rely on in Jinja2 (Python) that Jinjava does differently or
 * lacks, made to work the Jinja2 way.
 *
 * <ul>
 *   <li>{@code lstrip_blocks}: Jinja2 strips spaces and tabs before a block or comment tag only when
 *       the tag begins its line, and not before {@code {%+}; Jinjava strips them before any block tag,
 *       so {@code "{{ a }} {% if b %}"} would lose its space. Done here on the source; Jinjava's own
 *       is off. One newline at the very end is dropped ({@code keep_trailing_newline=False}).
 *   <li>Python string methods inside tags ({@code content.startswith('<tool_response>')}, {@code
 *       .split('</think>')}, {@code .lstrip('\n')}, {@code ', '.join(names)}, {@code .upper()}, and
 *       {@code dict.get(key, default)}): Jinjava calls Java methods, which have other names or other
 *       semantics (Java's {@code split} takes a regex). Each {@code .name(} outside string
 *       literals becomes the filter {@code |py_name(}, which binds to the same receiver, and the
 *       filters below implement Python's semantics.
 *   <li>{@code seq[::-1]}: Jinjava's slices take no step; it becomes {@code seq|reverse}.
 *   <li>Whitespace control ({@code {{-}, {@code -%}}, …): Jinjava does not strip the indentation
 *       before {@code {{-}; done here on the source.
 *   <li>{@code {% generation %}…{% endgeneration %}} (Hugging Face's assistant-mask extension):
 *       rendered as its body.
 * </ul>
 *
 * <p>Known differences that remain: {@code {{ True }}} prints {@code true} and {@code {{ None }}}
 * prints nothing (Jinja2: {@code True}, {@code None}); a {@code for} loop with an inline {@code if}
 * filter is refused ({@link #rewrite} throws), since Jinjava would loop over nothing.
 */
final class Jinja2Compat {
  private Jinja2Compat() {}

  /** Whitespace before a block or comment tag that begins a line, unless the tag opens with + or -. */
  private static final Pattern LINE_START_BEFORE_TAG = Pattern.compile("(?m)^[ \\t]+(?=\\{[%#](?![+-]))");
  /** A Python method call on a receiver: {@code .name(}. */
  private static final Pattern PY_METHOD = Pattern.compile(
      "\\.(startswith|endswith|strip|lstrip|rstrip|split|upper|lower|title|capitalize|join|get)\\s*\\(");
  private static final Pattern END_RAW = Pattern.compile("\\{%-?\\s*endraw\\s*-?%\\}");
  private static final Pattern REVERSED_SLICE = Pattern.compile("\\[\\s*:\\s*:\\s*-\\s*1\\s*\\]");

  /**
   * The source Jinjava renders for a Jinja2 {@code source}.
   *
   * @throws IllegalArgumentException for a construct Jinjava would render wrongly (a filtered for loop)
   */
  static String rewrite(String source) {
    String s = LINE_START_BEFORE_TAG.matcher(source).replaceAll("").replace("{%+", "{%").replace("{#+", "{#");
    s = rewriteTags(s);
    if (s.endsWith("\r\n")) {
      return s.substring(0, s.length() - 2);
    }
    return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
  }

  /**
   * Rewrites the code inside {@code {{ }}} and {@code {% %}} tags (text and comments stay as
   * written), and applies whitespace control itself: a {@code -} after the opening delimiter
   * removes the whitespace before the tag, one before the closing delimiter the whitespace after it
   * (Jinjava does not strip before {@code {{-} when the text before it is only indentation).
   */
  private static String rewriteTags(String s) {
    StringBuilder out = new StringBuilder(s.length() + 64);
    int i = 0;
    while (i < s.length()) {
      boolean comment = s.startsWith("{#", i);
      if (comment || s.startsWith("{{", i) || s.startsWith("{%", i)) {
        String close = comment ? "#}" : s.startsWith("{{", i) ? "}}" : "%}";
        int end = comment ? s.indexOf(close, i + 2) : endOfTag(s, i + 2, close);
        if (end < 0) {
          out.append(s, i, s.length()); // unterminated: Jinjava reports it
          break;
        }
        String code = s.substring(i + 2, end);
        boolean stripBefore = code.startsWith("-");
        boolean stripAfter = code.endsWith("-") && code.length() > (stripBefore ? 1 : 0);
        code = code.substring(stripBefore ? 1 : 0, code.length() - (stripAfter ? 1 : 0));
        if (stripBefore) {
          int keep = out.length();
          while (keep > 0 && Character.isWhitespace(out.charAt(keep - 1))) {
            keep--;
          }
          out.setLength(keep);
        }
        if (!comment && close.equals("%}")) {
          refuseFilteredLoop(code);
        }
        out.append(s, i, i + 2).append(comment ? code : rewriteCode(code)).append(close);
        i = end + 2;
        if (stripAfter) {
          while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
          }
        }
        if (!comment && close.equals("%}") && code.strip().equals("raw")) {
          Matcher endRaw = END_RAW.matcher(s);
          int stop = endRaw.find(i) ? endRaw.start() : s.length();
          out.append(s, i, stop); // a raw block's body is text, whatever it looks like
          i = stop;
        }
      } else {
        out.append(s.charAt(i++));
      }
    }
    return out.toString();
  }

  /**
   * Jinjava renders {@code {% for x in xs if cond %}} as a loop over nothing; refuse it rather than
   * render a wrong prompt. An {@code if … else} inside the iterable is a conditional expression, not a filter.
   *
   * @throws IllegalArgumentException naming the construct
   */
  private static void refuseFilteredLoop(String code) {
    String c = code.strip();
    if (!c.startsWith("for ") && !c.startsWith("for\t")) {
      return;
    }
    boolean[] inString = strings(c);
    int depth = 0;
    boolean afterIn = false;
    boolean filter = false;
    for (int i = 0; i < c.length(); i++) {
      char ch = c.charAt(i);
      if (inString[i]) {
        continue;
      }
      if (ch == '(' || ch == '[' || ch == '{') {
        depth++;
      } else if (ch == ')' || ch == ']' || ch == '}') {
        depth--;
      } else if (depth == 0 && (i == 0 || Character.isWhitespace(c.charAt(i - 1)))) {
        if (c.startsWith("in", i) && i + 2 < c.length() && Character.isWhitespace(c.charAt(i + 2))) {
          afterIn = true;
        } else if (afterIn && c.startsWith("if", i) && i + 2 < c.length() && Character.isWhitespace(c.charAt(i + 2))) {
          filter = true;
        } else if (filter && c.startsWith("else", i) && i + 4 < c.length() && Character.isWhitespace(c.charAt(i + 4))) {
          filter = false;
        }
      }
    }
    if (filter) {
      throw new IllegalArgumentException("'{% " + c + " %}' filters a for loop with an inline if, which edgelm's Jinja engine"
          + " does not support; move the condition into the loop body");
    }
  }

  /** Index of {@code close} ending the tag whose code starts at {@code from}, skipping string literals; -1 if none. */
  private static int endOfTag(String s, int from, String close) {
    char quote = 0;
    for (int i = from; i < s.length(); i++) {
      char c = s.charAt(i);
      if (quote != 0) {
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (s.startsWith(close, i)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Rewrites method calls and reversed slices in code, leaving string literals alone. A call
   * followed by a subscript or attribute ({@code x.split('a')[-1]}) is parenthesised whole,
   * {@code (x|py_split('a'))[-1]}, since Jinjava parses no subscript after a filter.
   */
  static String rewriteCode(String code) {
    int from = 0;
    while (true) {
      boolean[] inString = strings(code);
      Matcher method = PY_METHOD.matcher(code);
      Matcher reversed = REVERSED_SLICE.matcher(code);
      int m = find(method, from, inString);
      int r = find(reversed, from, inString);
      if (m < 0 && r < 0) {
        return code;
      }
      boolean isMethod = m >= 0 && (r < 0 || m < r);
      Matcher hit = isMethod ? method : reversed;
      int dot = hit.start();
      String filter = isMethod ? "|py_" + hit.group(1) + "(" : "|reverse";
      int after = isMethod ? closingParen(code, hit.end() - 1, inString) + 1 : hit.end();
      if (after <= 0) {
        return code; // unbalanced: leave it for Jinjava to report
      }
      String args = isMethod ? code.substring(hit.end(), after) : "";
      String call = filter + args;
      int next = skipSpaces(code, after);
      boolean chained = next < code.length() && (code.charAt(next) == '['
          || (code.charAt(next) == '.' && !PY_METHOD.matcher(code).region(next, code.length()).lookingAt()));
      if (chained) {
        int start = receiverStart(code, dot, inString);
        code = code.substring(0, start) + "(" + code.substring(start, dot) + call + ")" + code.substring(after);
        from = start + 1 + (dot - start) + call.length() - args.length();
      } else {
        code = code.substring(0, dot) + call + code.substring(after);
        from = dot + call.length() - args.length();
      }
    }
  }

  private static int find(Matcher m, int from, boolean[] inString) {
    int at = from;
    while (at <= inString.length && m.find(at)) {
      if (!inString[m.start()]) {
        return m.start();
      }
      at = m.start() + 1;
    }
    return -1;
  }

  /** Which chars of {@code code} are inside string literals (quotes included). */
  private static boolean[] strings(String code) {
    boolean[] in = new boolean[code.length() + 1];
    char quote = 0;
    for (int i = 0; i < code.length(); i++) {
      char c = code.charAt(i);
      if (quote != 0) {
        in[i] = true;
        if (c == '\\' && i + 1 < code.length()) {
          in[++i] = true;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        in[i] = true;
      }
    }
    return in;
  }

  /** Index of the parenthesis closing the one at {@code open}, or -1. */
  private static int closingParen(String code, int open, boolean[] inString) {
    int depth = 0;
    for (int i = open; i < code.length(); i++) {
      if (inString[i]) {
        continue;
      }
      char c = code.charAt(i);
      if (c == '(' || c == '[' || c == '{') {
        depth++;
      } else if (c == ')' || c == ']' || c == '}') {
        if (--depth == 0) {
          return c == ')' ? i : -1;
        }
      }
    }
    return -1;
  }

  /** Where the postfix expression ending just before {@code dot} starts: names, attributes, calls, subscripts, a literal. */
  private static int receiverStart(String code, int dot, boolean[] inString) {
    int i = dot - 1;
    while (i >= 0) {
      char c = code.charAt(i);
      if (inString[i]) {
        while (i > 0 && inString[i - 1]) {
          i--; // back to the literal's opening quote
        }
        i--;
      } else if (c == ')' || c == ']') {
        int depth = 0;
        for (; i >= 0; i--) {
          if (inString[i]) {
            continue;
          }
          char d = code.charAt(i);
          if (d == ')' || d == ']') {
            depth++;
          } else if ((d == '(' || d == '[') && --depth == 0) {
            break;
          }
        }
        i--;
      } else if (Character.isLetterOrDigit(c) || c == '_') {
        while (i >= 0 && !inString[i] && (Character.isLetterOrDigit(code.charAt(i)) || code.charAt(i) == '_')) {
          i--;
        }
      } else {
        break;
      }
      if (i >= 0 && !inString[i] && code.charAt(i) == '.') {
        i--; // an attribute chain goes on to the left
        continue;
      }
      if (i >= 0 && !inString[i] && (code.charAt(i) == ')' || code.charAt(i) == ']' || Character.isLetterOrDigit(code.charAt(i))
          || code.charAt(i) == '_')) {
        continue; // f(x) or a[0]: the callee or the subscripted value belongs to the receiver
      }
      break;
    }
    return i + 1;
  }

  private static int skipSpaces(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** The filters the rewritten method calls name. */
  static List<Filter> filters() {
    List<Filter> filters = new ArrayList<>();
    filters.add(new PyFilter("startswith", (s, a) -> anyOf(a, 0, s::startsWith)));
    filters.add(new PyFilter("endswith", (s, a) -> anyOf(a, 0, s::endsWith)));
    filters.add(new PyFilter("strip", (s, a) -> strip(s, chars(a), true, true)));
    filters.add(new PyFilter("lstrip", (s, a) -> strip(s, chars(a), true, false)));
    filters.add(new PyFilter("rstrip", (s, a) -> strip(s, chars(a), false, true)));
    filters.add(new PyFilter("split", (s, a) -> split(s, a.length > 0 && a[0] != null ? a[0].toString() : null,
        a.length > 1 ? Integer.parseInt(a[1].toString()) : -1)));
    filters.add(new PyFilter("upper", (s, a) -> s.toUpperCase(Locale.ROOT)));
    filters.add(new PyFilter("lower", (s, a) -> s.toLowerCase(Locale.ROOT)));
    filters.add(new PyFilter("title", (s, a) -> title(s)));
    filters.add(new PyFilter("capitalize", (s, a) -> s.isEmpty() ? s
        : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT)));
    filters.add(new PyFilter("join", (s, a) -> {
      List<String> parts = new ArrayList<>();
      if (a.length > 0 && a[0] instanceof Iterable<?> items) {
        items.forEach(x -> parts.add(String.valueOf(x)));
      }
      return String.join(s, parts);
    }));
    filters.add(new Filter() {
      @Override
      public String getName() {
        return "py_get";
      }

      @Override
      public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object fallback = args.length > 1 ? args[1] : null;
        if (var instanceof Map<?, ?> map && args.length > 0) {
          return map.containsKey(args[0]) ? map.get(args[0]) : fallback;
        }
        return fallback;
      }

      @Override
      public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        return filter(var, interpreter, args, Map.of());
      }
    });
    return filters;
  }

  /** {@code {% generation %}}: its body, as Hugging Face renders it outside assistant-mask extraction. */
  static Tag generationTag() {
    return new Tag() {
      private static final long serialVersionUID = 1L;

      @Override
      public String getName() {
        return "generation";
      }

      @Override
      public String getEndTagName() {
        return "endgeneration";
      }

      @Override
      public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        StringBuilder out = new StringBuilder();
        for (Node child : tagNode.getChildren()) {
          out.append(child.render(interpreter).getValue());
        }
        return out.toString();
      }
    };
  }

  private interface StringMethod {
    Object apply(String receiver, Object[] args);
  }

  /** A Python {@code str} method as a filter on a string receiver; anything else passes through. */
  private record PyFilter(String method, StringMethod body) implements Filter {
    @Override
    public String getName() {
      return "py_" + method;
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      return var == null ? null : body.apply(var.toString(), args);
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return filter(var, interpreter, (Object[]) args, Map.of());
    }
  }

  private static boolean anyOf(Object[] args, int at, java.util.function.Predicate<String> test) {
    if (args.length <= at || args[at] == null) {
      return false;
    }
    if (args[at] instanceof Iterable<?> options) { // str.startswith(('a', 'b'))
      for (Object o : options) {
        if (test.test(String.valueOf(o))) {
          return true;
        }
      }
      return false;
    }
    return test.test(args[at].toString());
  }

  private static String chars(Object[] args) {
    return args.length > 0 && args[0] != null ? args[0].toString() : null;
  }

  private static final Set<Character> PY_SPACE = Set.of(' ', '\t', '\n', '\r', '\u000B', '\f', '\u001C', '\u001D', '\u001E', '\u001F',
      '\u0085', '\u00A0', '\u1680', '\u2028', '\u2029', '\u202F', '\u205F', '\u3000');

  private static boolean isPySpace(char c) {
    return PY_SPACE.contains(c) || (c >= '\u2000' && c <= '\u200A');
  }

  /** Python's {@code str.strip}/{@code lstrip}/{@code rstrip}: whitespace, or any of {@code chars}. */
  static String strip(String s, String chars, boolean left, boolean right) {
    int from = 0;
    int to = s.length();
    while (left && from < to && (chars == null ? isPySpace(s.charAt(from)) : chars.indexOf(s.charAt(from)) >= 0)) {
      from++;
    }
    while (right && to > from && (chars == null ? isPySpace(s.charAt(to - 1)) : chars.indexOf(s.charAt(to - 1)) >= 0)) {
      to--;
    }
    return s.substring(from, to);
  }

  /** Python's {@code str.split}: on runs of whitespace without a separator, else on the literal separator, keeping empties. */
  static List<String> split(String s, String sep, int maxSplit) {
    List<String> parts = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      while (true) {
        while (i < s.length() && isPySpace(s.charAt(i))) {
          i++;
        }
        if (i == s.length()) {
          return parts;
        }
        if (maxSplit >= 0 && parts.size() == maxSplit) {
          parts.add(strip(s.substring(i), null, false, true));
          return parts;
        }
        int j = i;
        while (j < s.length() && !isPySpace(s.charAt(j))) {
          j++;
        }
        parts.add(s.substring(i, j));
        i = j;
      }
    }
    if (sep.isEmpty()) {
      throw new IllegalArgumentException("empty separator");
    }
    int from = 0;
    int at;
    while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
      parts.add(s.substring(from, at));
      from = at + sep.length();
    }
    parts.add(s.substring(from));
    return parts;
  }

  private static String title(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean start = true;
    for (char c : s.toCharArray()) {
      out.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
      start = !Character.isLetter(c);
    }
    return out.toString();
  }
}
