package dev.edgelm.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.proto.v1.ChatSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A chat template: turns a conversation into the prompt text a model was trained on.
 *
 * <p>Templates are Jinja, rendered with Jinjava configured as Hugging Face's
 * {@code apply_chat_template} renders them: {@code trim_blocks} and {@code lstrip_blocks} on, the
 * variables {@code messages} (each with {@code role} and {@code content}), {@code
 * add_generation_prompt}, {@code bos_token}, {@code eos_token}, {@code unk_token}, {@code
 * pad_token}, and the functions {@code raise_exception(message)} and {@code strftime_now(format)}
 * (Python's strftime directives, on the injected clock). Includes and imports find nothing, and
 * output is capped ({@link #MAX_OUTPUT_CHARS}). Where Jinjava differs from Jinja2 in ways templates
 * rely on (lstrip_blocks, Python string methods, reversed slices, the {@code generation} tag), the
 * template is rewritten to behave as in Jinja2 ({@link Jinja2Compat}).
 *
 * <p>Where a model's template comes from ({@link #resolve}): the package's own (the checkpoint's
 * {@code tokenizer_config.json}, carried in {@code variant.json} as {@code tokenizer.chat}), else
 * what the operator configured for the model ({@code models.<name>.chat_template}: a template file
 * or a built-in name, {@link #BUILT_IN}), else an error that says to configure one.
 *
 * <p>The rendered prompt already holds whatever BOS text the template writes: encode it without
 * adding another BOS (Hugging Face encodes it with {@code add_special_tokens=False}).
 *
 * <p>Immutable and thread-safe: one instance per model serves every request. Errors: {@link
 * InvalidRequestException} when the template refuses the conversation ({@code raise_exception}) or
 * there is no template; {@link ModelPackageException} when a template does not parse, cannot be
 * read, or fails for another reason.
 */
public final class ChatTemplate {
  /** Names of the built-in templates, resources beside this class. */
  public static final List<String> BUILT_IN = List.of("chatml", "llama2", "zephyr");

  /** The longest prompt a template may render, in chars. */
  public static final long MAX_OUTPUT_CHARS = 16L << 20;

  private static final Jinjava JINJAVA = newJinjava();
  /** The clock of the template being rendered on this thread, for {@code strftime_now}. */
  private static final ThreadLocal<Clock> RENDER_CLOCK = new ThreadLocal<>();

  private final String model;
  private final String origin;
  private final String source;
  /** {@link #source} as Jinjava renders it the Jinja2 way ({@link Jinja2Compat}). */
  private final String jinjaSource;
  private final SpecialTokens tokens;
  private final Clock clock;

  private ChatTemplate(String model, String origin, String source, SpecialTokens tokens, Clock clock) {
    this.model = model;
    this.origin = origin;
    this.source = source;
    try {
      this.jinjaSource = Jinja2Compat.rewrite(source);
    } catch (IllegalArgumentException e) {
      throw new ModelPackageException(origin + " cannot be rendered: " + e.getMessage() + ", or configure another template with models."
          + model + ".chat_template", e);
    }
    this.tokens = tokens;
    this.clock = clock;
  }

  /**
   * A template from its Jinja source, checked to parse.
   *
   * @param model the model it serves (named in errors)
   * @param origin where it came from, for errors and explanations (e.g. "file /etc/edgelm/chat.jinja")
   * @throws ModelPackageException when the template does not parse
   */
  public static ChatTemplate of(String model, String origin, String source, SpecialTokens tokens, Clock clock) {
    ChatTemplate t = new ChatTemplate(Objects.requireNonNull(model), Objects.requireNonNull(origin), Objects.requireNonNull(source),
        Objects.requireNonNull(tokens), Objects.requireNonNull(clock));
    t.checkSyntax();
    return t;
  }

  /**
   * The template a model serves chat with: the package's {@code chat.template}, else {@code
   * configured} (a built-in name or a template file), else none. {@code configured} also stands in
   * for a package template that does not parse here; it never replaces one that does.
   *
   * @param chat the package's {@code tokenizer.chat} (the default instance when it has none)
   * @param configured the operator's {@code models.<name>.chat_template}, or null
   * @param fallback special tokens for what {@code chat} leaves unset (e.g. {@link SpecialTokens#of(dev.edgelm.engine.tokenizer.Tokenizer)})
   * @throws InvalidRequestException when neither the package nor the operator gives a template
   * @throws ModelPackageException when the template does not parse, or {@code configured} is
   *     neither a built-in name nor a readable file
   */
  public static ChatTemplate resolve(String model, ChatSpec chat, String configured, SpecialTokens fallback, Clock clock) {
    SpecialTokens tokens = SpecialTokens.of(chat).orElse(fallback);
    boolean operatorSet = configured != null && !configured.isBlank();
    if (!chat.getTemplate().isEmpty()) {
      try {
        return of(model, "the chat_template of package " + model, chat.getTemplate(), tokens, clock);
      } catch (ModelPackageException e) {
        if (!operatorSet) {
          throw e;
        }
        // The package's template cannot be rendered here: the operator's is the way out the error names.
      }
    }
    if (operatorSet) {
      return configured(model, configured, tokens, clock);
    }
    throw new InvalidRequestException("package " + model + " has no chat template; set models." + model
        + ".chat_template to a file or one of " + String.join(", ", BUILT_IN));
  }

  /**
   * The template an operator configured: a built-in name, or else a template file.
   *
   * @throws ModelPackageException when {@code value} names no built-in and no readable file, or the
   *     template does not parse
   */
  public static ChatTemplate configured(String model, String value, SpecialTokens tokens, Clock clock) {
    if (BUILT_IN.contains(value)) {
      return of(model, "built-in chat template " + value, builtInSource(value), tokens, clock);
    }
    Path file = Path.of(value);
    if (!Files.isRegularFile(file)) {
      throw new ModelPackageException("models." + model + ".chat_template '" + value + "' is neither a file nor one of "
          + String.join(", ", BUILT_IN) + "; give a template file or a built-in name");
    }
    try {
      return of(model, "chat template file " + file, Files.readString(file, StandardCharsets.UTF_8), tokens, clock);
    } catch (IOException e) {
      throw new ModelPackageException("cannot read chat template file " + file + ": " + e.getMessage(), e);
    }
  }

  /** The Jinja source of a built-in template. */
  public static String builtInSource(String name) {
    if (!BUILT_IN.contains(name)) {
      throw new IllegalArgumentException("no built-in chat template " + name + "; expected one of " + String.join(", ", BUILT_IN));
    }
    try (InputStream in = ChatTemplate.class.getResourceAsStream(name + ".jinja")) {
      if (in == null) {
        throw new IllegalStateException("built-in chat template " + name + " is missing from the engine's resources");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read built-in chat template " + name, e);
    }
  }

  /**
   * The prompt for {@code messages}.
   *
   * @param addGenerationPrompt end with the text that opens the assistant's turn
   * @throws InvalidRequestException when the template refuses the conversation ({@code raise_exception})
   * @throws ModelPackageException when rendering fails otherwise
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    List<Map<String, Object>> turns = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      Map<String, Object> turn = new LinkedHashMap<>();
      turn.put("role", m.role());
      turn.put("content", m.content());
      turns.add(turn);
    }
    Map<String, Object> vars = new HashMap<>();
    vars.put("messages", turns);
    vars.put("add_generation_prompt", addGenerationPrompt);
    putIfSet(vars, "bos_token", tokens.bos());
    putIfSet(vars, "eos_token", tokens.eos());
    putIfSet(vars, "unk_token", tokens.unk());
    putIfSet(vars, "pad_token", tokens.pad());
    RenderResult result = renderRaw(vars);
    for (TemplateError e : result.getErrors()) {
      String raised = raisedMessage(e);
      if (raised != null) {
        throw new InvalidRequestException("the chat template of model " + model + " refuses these messages: " + raised);
      }
    }
    for (TemplateError e : result.getErrors()) {
      if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
        throw new ModelPackageException(describe(e) + "; fix the template or configure another with models." + model + ".chat_template");
      }
    }
    return result.getOutput();
  }

  /** Where this template came from, e.g. "built-in chat template chatml". */
  public String origin() {
    return origin;
  }

  /** The Jinja source. */
  public String source() {
    return source;
  }

  /** The special tokens the template sees. */
  public SpecialTokens tokens() {
    return tokens;
  }

  @Override
  public String toString() {
    return origin;
  }

  private RenderResult renderRaw(Map<String, Object> vars) {
    RENDER_CLOCK.set(clock);
    try {
      return JINJAVA.renderForResult(jinjaSource, vars);
    } finally {
      RENDER_CLOCK.remove();
    }
  }

  /** A syntax error shows in any render; a sample conversation renders once so that it shows now, not on the first request. */
  private void checkSyntax() {
    Map<String, Object> vars = new HashMap<>();
    vars.put("messages", List.of(Map.of("role", "system", "content", "s"), Map.of("role", "user", "content", "u")));
    vars.put("add_generation_prompt", true);
    for (TemplateError e : renderRaw(vars).getErrors()) {
      if (e.getSeverity() == TemplateError.ErrorType.FATAL && e.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR
          && raisedMessage(e) == null) {
        throw new ModelPackageException(describe(e) + "; fix the template or configure another with models." + model + ".chat_template");
      }
    }
  }

  private String describe(TemplateError e) {
    return origin + " does not render: line " + e.getLineno() + ": " + oneLine(e.getMessage());
  }

  /** The message of a {@code raise_exception} call behind {@code e}, or null when {@code e} is another error. */
  private static String raisedMessage(TemplateError e) {
    for (Throwable t = e.getException(); t != null; t = t.getCause()) {
      if (t instanceof TemplateRaised raised) {
        return raised.getMessage();
      }
    }
    String m = e.getMessage();
    int at = m == null ? -1 : m.indexOf(TemplateRaised.MARK);
    return at < 0 ? null : oneLine(m.substring(at + TemplateRaised.MARK.length()));
  }

  private static void putIfSet(Map<String, Object> vars, String key, String value) {
    if (value != null) {
      vars.put(key, value);
    }
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").strip();
  }

  private static Jinjava newJinjava() {
    Jinjava j = new Jinjava(JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(false) // Jinja2's is applied by Jinja2Compat
        .withMaxOutputSize(MAX_OUTPUT_CHARS)
        .withLocale(Locale.ROOT)
        .build());
    j.setResourceLocator((name, encoding, interpreter) -> {
      throw new IOException("chat templates cannot include or import other files (" + name + ")");
    });
    Jinja2Compat.filters().forEach(j::registerFilter);
    j.registerTag(Jinja2Compat.generationTag());
    j.registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    j.registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    return j;
  }

  /** {@code raise_exception(message)}: the template refuses the conversation. Public for Jinjava's reflection. */
  public static String raiseException(String message) {
    throw new TemplateRaised(message);
  }

  /** {@code strftime_now(format)}: the render clock's local time in Python's strftime format. Public for Jinjava's reflection. */
  public static String strftimeNow(String format) {
    Clock clock = RENDER_CLOCK.get();
    return Strftime.format(format, ZonedDateTime.now(clock == null ? Clock.systemDefaultZone() : clock));
  }

  /** Thrown by {@code raise_exception}; found again in Jinjava's error list. */
  static final class TemplateRaised extends RuntimeException {
    private static final long serialVersionUID = 1L;
    static final String MARK = "raise_exception: ";

    TemplateRaised(String message) {
      super(message == null ? "" : message);
    }

    @Override
    public String toString() {
      return MARK + getMessage();
    }
  }
}
