package dev.edgelm.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class Jinja2CompatTest {
  @Test
  void rewriteCode_pythonMethodsBecomeFilters_onTheSameReceiver() {
    assertEquals(" m['content']|py_strip() ", Jinja2Compat.rewriteCode(" m['content'].strip() "));
    assertEquals(" f(x)|py_upper()|py_lower() ", Jinja2Compat.rewriteCode(" f(x).upper().lower() "), "no parentheses needed");
    assertEquals(" (x|py_strip()).attr ", Jinja2Compat.rewriteCode(" x.strip().attr "));
    assertEquals(" c.startsWith ", Jinja2Compat.rewriteCode(" c.startsWith "), "Java names and attributes stay");
  }

  @Test
  void rewriteCode_callFollowedBySubscript_isParenthesisedWhole() {
    assertEquals(" (message.content|py_split('</think>'))[-1]|py_lstrip('\\n') ",
        Jinja2Compat.rewriteCode(" message.content.split('</think>')[-1].lstrip('\\n') "));
    assertEquals(" ('a.b'|py_split('.'))[0] ", Jinja2Compat.rewriteCode(" 'a.b'.split('.')[0] "));
    assertEquals(" (messages|reverse)[0]['role'] ", Jinja2Compat.rewriteCode(" messages[::-1][0]['role'] "));
  }

  @Test
  void rewriteCode_leavesStringLiteralsAlone() {
    assertEquals(" 'x.strip() [::-1]' ~ \"y.split(\" ", Jinja2Compat.rewriteCode(" 'x.strip() [::-1]' ~ \"y.split(\" "));
  }

  @Test
  void rewrite_textOutsideTags_andComments_stayAsWritten() {
    assertEquals("say x.strip() {# y.strip() #}{{ z|py_strip() }}", Jinja2Compat.rewrite("say x.strip() {# y.strip() #}{{ z.strip() }}\n"));
  }

  @Test
  void rewrite_whitespaceControl_stripsIndentationBeforeAndWhitespaceAfter() {
    assertEquals("a{{ 'x' }}b", Jinja2Compat.rewrite("a\n    {{- 'x' -}}\n  b"));
    assertEquals("a{% if c %}b", Jinja2Compat.rewrite("a \n\t{%- if c -%}\n\nb"));
  }

  @Test
  void rewrite_rawBlock_staysAsWritten() {
    assertEquals("{% raw %}{{ x.strip() }}{% endraw %}{{ y|py_strip() }}",
        Jinja2Compat.rewrite("{% raw %}{{ x.strip() }}{% endraw %}{{ y.strip() }}"));
  }

  @Test
  void split_andStrip_havePythonSemantics() {
    assertEquals(List.of("a", "b"), Jinja2Compat.split("  a \t b\n", null, -1));
    assertEquals(List.of("a", "", "b", ""), Jinja2Compat.split("a||b|", "|", -1), "a literal separator, not a regex; empties kept");
    assertEquals(List.of("a", "b|c"), Jinja2Compat.split("a|b|c", "|", 1));
    assertEquals("q\n", Jinja2Compat.strip("\n\nq\n", "\n", true, false));
    assertEquals("x", Jinja2Compat.strip("\u00a0 x\u3000", null, true, true));
  }
}
