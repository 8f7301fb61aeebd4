package dev.edgelm.engine.chat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How long rendering a chat prompt takes: a 21-message conversation through the built-in ChatML
 * template and through the Qwen-style test template (Python string methods, a reversed loop, a
 * namespace). Jinjava parses the template on every render; this measures that whole cost. Run
 * (numbers in docs/BENCHMARKS.md):
 *
 * <pre>
 * mvn -o -q -pl engine -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp engine/target/test-classes:engine/target/classes:proto/target/classes:$(cat engine/target/cp.txt) \
 *     dev.edgelm.engine.chat.ChatTemplateBench
 * </pre>
 */
public final class ChatTemplateBench {
  private ChatTemplateBench() {}

  public static void main(String[] args) throws IOException {
    List<ChatMessage> conversation = new ArrayList<>();
    conversation.add(ChatMessage.system("You are a helpful assistant."));
    for (int i = 0; i < 10; i++) {
      conversation.add(ChatMessage.user("Question " + i + ": a sentence or two that a user might ask about something."));
      conversation.add(ChatMessage.assistant("<think>\nthinking about " + i + "\n</think>\n\nAnswer " + i + ", at some length."));
    }
    String qwen;
    try (InputStream in = ChatTemplateBench.class.getResourceAsStream("qwen-style-test.jinja")) {
      qwen = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    bench("built-in chatml", ChatTemplate.configured("bench", "chatml", SpecialTokens.NONE, Clock.systemUTC()), conversation);
    bench("qwen-style-test.jinja", ChatTemplate.of("bench", "qwen-style", qwen, SpecialTokens.NONE, Clock.systemUTC()), conversation);
  }

  private static void bench(String name, ChatTemplate t, List<ChatMessage> conversation) {
    int renders = 2000;
    for (int i = 0; i < renders; i++) {
      t.render(conversation, true);
    }
    double[] rounds = new double[5];
    for (int r = 0; r < rounds.length; r++) {
      long start = System.nanoTime();
      for (int i = 0; i < renders; i++) {
        t.render(conversation, true);
      }
      rounds[r] = (System.nanoTime() - start) / 1e3 / renders;
    }
    Arrays.sort(rounds);
    System.out.printf(Locale.ROOT, "%-22s %d messages, %,d chars: median %.0f us per render (rounds %.0f..%.0f us)%n", name,
        conversation.size(), t.render(conversation, true).length(), rounds[rounds.length / 2], rounds[0], rounds[rounds.length - 1]);
  }
}
