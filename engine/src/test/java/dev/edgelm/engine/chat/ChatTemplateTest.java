package dev.edgelm.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.proto.v1.ChatSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Templates written for these tests in the style of Hugging Face checkpoints (one line, string
 * concatenation with {@code '\n'} escapes, slices, {@code .strip()}, {@code raise_exception}) and the
 * built-ins, rendered byte for byte against prompts written out by hand.
 */
class ChatTemplateTest {
  @TempDir Path tmp;

  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-07-04T15:30:00Z"), ZoneOffset.UTC);
  private static final SpecialTokens LLAMA = new SpecialTokens("<s>", "</s>", "<unk>", null);

  private static final List<ChatMessage> CONVERSATION = List.of(
      ChatMessage.system("You are a helpful assistant."),
      ChatMessage.user("Hello!"),
      ChatMessage.assistant("Hi there. How can I help?"),
      ChatMessage.user("Tell me a story."));

  private static String resource(String name) throws IOException {
    try (InputStream in = ChatTemplateTest.class.getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static ChatTemplate template(String source, SpecialTokens tokens) {
    return ChatTemplate.of("test-model", "test template", source, tokens, CLOCK);
  }

  private static final String CHATML_EXPECTED = """
      <|im_start|>system
      You are a helpful assistant.<|im_end|>
      <|im_start|>user
      Hello!<|im_end|>
      <|im_start|>assistant
      Hi there. How can I help?<|im_end|>
      <|im_start|>user
      Tell me a story.<|im_end|>
      """;

  @Test
  void chatmlFile_rendersSystemAndTurns_andTheGenerationPrompt() throws IOException {
    ChatTemplate t = template(resource("chatml-test.jinja"), SpecialTokens.NONE);
    assertEquals(CHATML_EXPECTED + "<|im_start|>assistant\n", t.render(CONVERSATION, true));
    assertEquals(CHATML_EXPECTED, t.render(CONVERSATION, false));
  }

  private static final String LLAMA2_EXPECTED = "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST]"
      + " Hi there. How can I help? </s><s>[INST] Tell me a story. [/INST]";

  @Test
  void llama2StyleFile_foldsTheSystemMessageIntoTheFirstInstruction() throws IOException {
    ChatTemplate t = template(resource("llama2-test.jinja"), LLAMA);
    assertEquals(LLAMA2_EXPECTED, t.render(CONVERSATION, true));
    assertEquals("<s>[INST] Hello! [/INST]", t.render(List.of(ChatMessage.user("  Hello!\n")), true), "content is stripped");
  }

  @Test
  void llama2StyleFile_rolesOutOfTurn_raiseAClearInvalidRequest() throws IOException {
    ChatTemplate t = template(resource("llama2-test.jinja"), LLAMA);
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> t.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true));
    assertEquals("the chat template of model test-model refuses these messages: "
        + "Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
  }

  @Test
  void qwenStyleFile_pythonStringMethods_reversedLoop_andNamespace_renderAsInJinja2() throws IOException {
    ChatTemplate t = template(resource("qwen-style-test.jinja"), SpecialTokens.NONE);
    List<ChatMessage> messages = List.of(ChatMessage.system("S"), ChatMessage.user("U1"),
        ChatMessage.assistant("<think>\nhmm\n</think>\n\nA1"), ChatMessage.user("U2"), ChatMessage.assistant("A2"));
    assertEquals("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
        + "<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\nA2<|im_end|>\n<|im_start|>assistant\n[last user at 3]",
        t.render(messages, true));
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> t.render(List.of(ChatMessage.user(" \n ")), true));
    assertTrue(e.getMessage().endsWith("refuses these messages: empty user message at 0"), e.getMessage());
  }

  @Test
  void generationTag_rendersItsBody() {
    assertEquals("<a>x</a>", template("{% for m in messages %}<a>{% generation %}{{ m['content'] }}{% endgeneration %}</a>{% endfor %}",
        SpecialTokens.NONE).render(List.of(ChatMessage.assistant("x")), false));
  }

  @Test
  void builtInChatml_matchesTheHuggingFaceStyleFile() {
    ChatTemplate t = ChatTemplate.configured("m", "chatml", SpecialTokens.NONE, CLOCK);
    assertEquals(CHATML_EXPECTED + "<|im_start|>assistant\n", t.render(CONVERSATION, true));
    assertEquals(CHATML_EXPECTED, t.render(CONVERSATION, false));
    assertEquals("built-in chat template chatml", t.origin());
  }

  @Test
  void builtInLlama2_matchesTheHuggingFaceStyleFile() throws IOException {
    ChatTemplate builtIn = ChatTemplate.configured("m", "llama2", LLAMA, CLOCK);
    ChatTemplate file = template(resource("llama2-test.jinja"), LLAMA);
    assertEquals(LLAMA2_EXPECTED, builtIn.render(CONVERSATION, true));
    List<ChatMessage> noSystem = CONVERSATION.subList(1, CONVERSATION.size());
    assertEquals(file.render(noSystem, true), builtIn.render(noSystem, true));
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> builtIn.render(List.of(ChatMessage.assistant("first")), true));
    assertTrue(e.getMessage().contains("alternate"), e.getMessage());
  }

  @Test
  void builtInZephyr_writesRoleTagsAndEos() {
    ChatTemplate t = ChatTemplate.configured("m", "zephyr", LLAMA, CLOCK);
    assertEquals("<|system|>\nYou are a helpful assistant.</s>\n<|user|>\nHello!</s>\n<|assistant|>\nHi there. How can I help?</s>\n"
        + "<|user|>\nTell me a story.</s>\n<|assistant|>\n", t.render(CONVERSATION, true));
  }

  @Test
  void trimAndLstripBlocks_areOn() {
    ChatTemplate t = template("{% for m in messages %}\n    {% if m['role'] == 'user' %}\n[{{ m['content'] }}]\n    {% endif %}\n{% endfor %}\n",
        SpecialTokens.NONE);
    assertEquals("[a]\n[b]\n", t.render(List.of(ChatMessage.user("a"), ChatMessage.assistant("x"), ChatMessage.user("b")), false));
  }

  @Test
  void lstripBlocks_stripsOnlyBeforeATagThatBeginsItsLine_asJinja2Does() {
    assertEquals("a b|\nc|  d", template("{{ 'a' }} {% if true %}b{% endif %}|\n  {% if true %}c{% endif %}|  {%+ if true %}d{% endif %}",
        SpecialTokens.NONE).render(List.of(), false));
  }

  @Test
  void oneTrailingNewline_isDropped_asJinja2Does() {
    assertEquals("x", template("x\n", SpecialTokens.NONE).render(List.of(), false));
    assertEquals("x\n", template("x\n\n", SpecialTokens.NONE).render(List.of(), false));
  }

  @Test
  void strftimeNow_formatsTheInjectedClock() {
    ChatTemplate t = template("Today is {{ strftime_now('%d %b %Y') }} ({{ strftime_now('%A, %-d %B %Y %H:%M:%S') }}).", SpecialTokens.NONE);
    assertEquals("Today is 04 Jul 2026 (Saturday, 4 July 2026 15:30:00).", t.render(List.of(), false));
  }

  @Test
  void render_fromManyThreadsAtOnce_eachTemplateKeepsItsOwnClockAndTokens() throws Exception {
    String source = "{{ bos_token }}{{ strftime_now('%Y') }}{% for m in messages %}{{ m['content'] }}{% endfor %}";
    ChatTemplate a = ChatTemplate.of("a", "a", source, new SpecialTokens("<a>", null, null, null),
        Clock.fixed(Instant.parse("2001-01-01T00:00:00Z"), ZoneOffset.UTC));
    ChatTemplate b = ChatTemplate.of("b", "b", source, new SpecialTokens("<b>", null, null, null),
        Clock.fixed(Instant.parse("2002-01-01T00:00:00Z"), ZoneOffset.UTC));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        String text = "m" + i;
        ChatTemplate t = i % 2 == 0 ? a : b;
        String expected = (t == a ? "<a>2001" : "<b>2002") + text;
        results.add(pool.submit(() -> expected.equals(t.render(List.of(ChatMessage.user(text)), false))));
      }
      for (Future<Boolean> r : results) {
        assertTrue(r.get(30, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void specialTokens_unsetOnesAreUndefined() {
    ChatTemplate t = template("{{ bos_token }}|{{ eos_token }}|{% if pad_token is defined %}pad{% else %}no pad{% endif %}", LLAMA);
    assertEquals("<s>|</s>|no pad", t.render(List.of(), false));
  }

  @Test
  void of_syntaxError_isAPackageErrorNamingTheOrigin() {
    ModelPackageException e = assertThrows(ModelPackageException.class,
        () -> template("{% for m in messages %}{{ m['content'] }}", SpecialTokens.NONE));
    assertTrue(e.getMessage().startsWith("test template does not render: line 1: "), e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
  }

  @Test
  void filteredForLoop_isRefusedRatherThanRenderedEmpty() {
    ModelPackageException e = assertThrows(ModelPackageException.class,
        () -> template("{% for m in messages if m['role'] == 'user' %}{{ m['content'] }}{% endfor %}", SpecialTokens.NONE));
    assertTrue(e.getMessage().startsWith("test template cannot be rendered: '{% for m in messages if m['role'] == 'user' %}' filters"),
        e.getMessage());
    assertEquals("ab", template("{% for m in (messages if true else []) %}{{ m['content'] }}{% endfor %}", SpecialTokens.NONE)
        .render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), false), "a conditional expression is no filter");
  }

  @Test
  void include_findsNothing_andIsRefusedWhenTheTemplateIsMade() {
    ModelPackageException e = assertThrows(ModelPackageException.class,
        () -> template("{% include '/etc/passwd' %}x", SpecialTokens.NONE));
    assertTrue(e.getMessage().contains("cannot include or import other files"), e.getMessage());
  }

  @Test
  void resolve_prefersThePackagesTemplate() {
    ChatSpec chat = ChatSpec.newBuilder().setTemplate("{{ bos_token }}pkg").setBosToken("<|begin|>").build();
    ChatTemplate t = ChatTemplate.resolve("m", chat, "chatml", LLAMA, CLOCK);
    assertEquals("<|begin|>pkg", t.render(List.of(), false), "the package's own BOS text beats the tokenizer's");
    assertEquals("the chat_template of package m", t.origin());
  }

  @Test
  void resolve_withoutPackageTemplate_usesTheConfiguredNameOrFile() throws IOException {
    assertEquals("built-in chat template zephyr",
        ChatTemplate.resolve("m", ChatSpec.getDefaultInstance(), "zephyr", LLAMA, CLOCK).origin());
    Path file = tmp.resolve("chat.jinja");
    Files.writeString(file, resource("chatml-test.jinja"));
    ChatTemplate t = ChatTemplate.resolve("m", ChatSpec.getDefaultInstance(), file.toString(), LLAMA, CLOCK);
    assertEquals(CHATML_EXPECTED, t.render(CONVERSATION, false));
    assertEquals("chat template file " + file, t.origin());
  }

  @Test
  void resolve_packageTemplateThatDoesNotParse_fallsBackToTheConfiguredOne_elseFails() {
    ChatSpec broken = ChatSpec.newBuilder().setTemplate("{% for m in messages %}").build();
    assertEquals("built-in chat template chatml", ChatTemplate.resolve("m", broken, "chatml", LLAMA, CLOCK).origin());
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> ChatTemplate.resolve("m", broken, null, LLAMA, CLOCK));
    assertTrue(e.getMessage().startsWith("the chat_template of package m does not render: line 1: ")
        && e.getMessage().endsWith("; fix the template or configure another with models.m.chat_template"), e.getMessage());
  }

  @Test
  void resolve_noTemplateAnywhere_saysWhatToConfigure() {
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> ChatTemplate.resolve("stories260K", ChatSpec.getDefaultInstance(), null, LLAMA, CLOCK));
    assertEquals("package stories260K has no chat template; set models.stories260K.chat_template to a file or one of chatml, llama2, zephyr",
        e.getMessage());
  }

  @Test
  void resolve_configuredNeitherBuiltInNorFile_isRefusedNamingTheKey() {
    ModelPackageException e = assertThrows(ModelPackageException.class,
        () -> ChatTemplate.resolve("m", ChatSpec.getDefaultInstance(), "vicuna", LLAMA, CLOCK));
    assertEquals("models.m.chat_template 'vicuna' is neither a file nor one of chatml, llama2, zephyr; give a template file or a built-in name",
        e.getMessage());
  }
}
