package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class StreamedTextTest {
  private static String stream(String... pieces) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StreamedText t = new StreamedText(new PrintStream(bytes, false, StandardCharsets.UTF_8));
    for (String p : pieces) {
      t.print(p);
    }
    t.finish();
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void output_alwaysEndsWithExactlyOneNewline() {
    assertEquals("Once upon a time\n", stream("Once", " upon", " a time"));
    assertEquals("two lines\nend\n", stream("two lines\n", "end\n"));
    assertEquals("x\n", stream("x", ""));
    assertEquals("", stream());
  }
}
