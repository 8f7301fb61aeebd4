package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.engine.SamplingOptions;
import dev.edgelm.engine.chat.ChatMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The OpenAI API's request bodies ({@code /v1/completions}, {@code /v1/chat/completions}) to a {@link StreamRequest}
 * and what the response needs besides ({@link Call}). Unknown fields are ignored, as OpenAI's own server and every
 * peer ignore them; fields edgelm cannot honour (tools, n &gt; 1, images, JSON output, penalties, logit bias, echo,
 * suffix) are refused with a 400 that names them, never silently dropped.
 *
 * <p>Defaults: temperature 1 and top_p 1 as in OpenAI's API (the gRPC API decodes greedily unless asked); max_tokens
 * unset is {@code generation.default_max_tokens}, capped to what the context leaves; max_tokens set is a promise the
 * request must be able to keep: prompt + max_tokens beyond the served context is a 400 ({@link
 * StreamRequest.ContextRule#REFUSE}), never a silent truncation. Stateless.
 */
final class OpenAiRequests {
  /** OpenAI's limit on stop sequences. */
  static final int MAX_STOP = 4;
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

  private OpenAiRequests() {}

  /**
   * One call's request, and what its response needs.
   *
   * @param stream answer with server-sent events
   * @param includeUsage {@code stream_options.include_usage}: a last chunk with the usage
   * @param logprobs report log-probabilities (completions: {@code logprobs} set; chat: {@code logprobs: true})
   */
  record Call(StreamApi api, StreamRequest request, boolean stream, boolean includeUsage, boolean logprobs) {}

  /** @throws BadRequestException naming the field that is wrong or unsupported */
  static Call completion(JsonObject body, int defaultMaxTokens) {
    Object prompt = body.getValue("prompt");
    String text = null;
    int[] ids = null;
    if (prompt instanceof String s) {
      text = s;
    } else if (prompt instanceof JsonArray a && a.size() == 1 && a.getValue(0) instanceof String s) {
      text = s;
    } else if (prompt instanceof JsonArray a && !a.isEmpty() && a.getValue(0) instanceof Number) {
      ids = tokenIds(a);
    } else if (prompt instanceof JsonArray a && a.size() == 1 && a.getValue(0) instanceof JsonArray inner) {
      ids = tokenIds(inner);
    } else if (prompt instanceof JsonArray a && a.size() > 1) {
      throw unsupported("prompt", "a batch of " + a.size() + " prompts; send one prompt per request");
    } else {
      throw new BadRequestException("prompt is required: a string, or an array of token ids");
    }
    if (text != null && text.isEmpty()) {
      throw new BadRequestException("prompt is empty");
    }
    refuseIf(body.getBoolean("echo", false), "echo", "echo is not supported");
    refuseIf(body.getValue("suffix") != null, "suffix", "suffix (insertion) is not supported");
    refuseIf(body.getInteger("best_of", 1) != 1, "best_of", "best_of other than 1 is not supported");
    Integer logprobs = integer(body, "logprobs");
    if (logprobs != null && (logprobs < 0 || logprobs > 5)) {
      throw new BadRequestException("logprobs must be between 0 and 5, got " + logprobs);
    }
    SamplingOptions sampling = sampling(body, logprobs != null, logprobs == null ? 0 : logprobs);
    return new Call(StreamApi.COMPLETIONS, request(body, text, ids, null, maxTokens(body, "max_tokens", defaultMaxTokens), sampling),
        stream(body), includeUsage(body), logprobs != null);
  }

  /** @throws BadRequestException naming the field that is wrong or unsupported */
  static Call chat(JsonObject body, int defaultMaxTokens) {
    List<ChatMessage> messages = messages(body.getValue("messages"));
    for (String f : List.of("tools", "functions", "tool_choice", "function_call")) {
      Object v = body.getValue(f);
      refuseIf(v != null && !(v instanceof JsonArray a && a.isEmpty()) && !"none".equals(v), f, f + " (tool calling) is not supported");
    }
    Object format = body.getValue("response_format");
    if (format != null) {
      String type = format instanceof JsonObject o ? o.getString("type", "") : "";
      refuseIf(!type.equals("text"), "response_format", "response_format of type '" + type + "' is not supported; only text");
    }
    refuseIf(body.getJsonArray("modalities", new JsonArray().add("text")).stream().anyMatch(m -> !"text".equals(m)), "modalities",
        "only the text modality is supported");
    boolean logprobs = body.getBoolean("logprobs", false);
    Integer top = integer(body, "top_logprobs");
    if (top != null && (top < 0 || top > SamplingOptions.MAX_TOP_LOGPROBS)) {
      throw new BadRequestException("top_logprobs must be between 0 and " + SamplingOptions.MAX_TOP_LOGPROBS + ", got " + top);
    }
    refuseIf(top != null && top > 0 && !logprobs, "top_logprobs", "top_logprobs needs logprobs: true");
    String maxKey = body.getValue("max_completion_tokens") != null ? "max_completion_tokens" : "max_tokens";
    SamplingOptions sampling = sampling(body, logprobs, top == null ? 0 : top);
    return new Call(StreamApi.CHAT, request(body, null, null, messages, maxTokens(body, maxKey, defaultMaxTokens), sampling),
        stream(body), includeUsage(body), logprobs);
  }

  private static StreamRequest request(JsonObject body, String text, int[] ids, List<ChatMessage> chat, int[] maxTokens,
      SamplingOptions sampling) {
    refuseIf(body.getInteger("n", 1) != 1, "n", "n other than 1 is not supported; send one request per completion");
    for (String f : List.of("frequency_penalty", "presence_penalty")) {
      refuseIf(number(body, f, 0) != 0, f, f + " is not supported (repetition_penalty is)");
    }
    Object bias = body.getValue("logit_bias");
    refuseIf(bias instanceof JsonObject o && !o.isEmpty(), "logit_bias", "logit_bias is not supported");
    Object model = body.getValue("model");
    if (!(model instanceof String name) || name.isBlank()) {
      throw new BadRequestException("model is required: name one of the models GET /v1/models lists");
    }
    return new StreamRequest(name, text, ids, chat, maxTokens[0], sampling, stop(body.getValue("stop")), sampling.logprobs(),
        "", maxTokens[1] == 1 ? StreamRequest.ContextRule.REFUSE : StreamRequest.ContextRule.CAP);
  }

  /** {max tokens, 1 when the request set them (refused beyond the context) else 0}. */
  private static int[] maxTokens(JsonObject body, String key, int defaultMaxTokens) {
    Integer max = integer(body, key);
    if (max == null) {
      return new int[] {defaultMaxTokens, 0};
    }
    if (max < 1) {
      throw new BadRequestException(key + " must be at least 1, got " + max);
    }
    return new int[] {max, 1};
  }

  private static SamplingOptions sampling(JsonObject body, boolean logprobs, int top) {
    Object seed = body.getValue("seed");
    if (seed != null && !(seed instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()))) {
      throw new BadRequestException("seed must be an integer, got " + seed);
    }
    Integer topK = integer(body, "top_k");
    float temperature = (float) number(body, "temperature", 1);
    if (temperature > 2) {
      throw new BadRequestException("temperature must be between 0 and 2, got " + temperature);
    }
    return new SamplingOptions(temperature, topK == null || topK < 0 ? 0 : topK, (float) number(body, "top_p", 1),
        (float) number(body, "repetition_penalty", 1), seed == null ? OptionalLong.empty() : OptionalLong.of(((Number) seed).longValue()),
        top, logprobs);
  }

  private static List<String> stop(Object stop) {
    List<String> out = new ArrayList<>();
    if (stop instanceof String s) {
      out.add(s);
    } else if (stop instanceof JsonArray a) {
      for (Object o : a) {
        if (!(o instanceof String s)) {
          throw new BadRequestException("stop must be a string or an array of strings");
        }
        out.add(s);
      }
    } else if (stop != null) {
      throw new BadRequestException("stop must be a string or an array of strings");
    }
    if (out.size() > MAX_STOP) {
      throw new BadRequestException("stop takes at most " + MAX_STOP + " sequences, got " + out.size());
    }
    if (out.stream().anyMatch(String::isEmpty)) {
      throw new BadRequestException("stop sequences must not be empty");
    }
    return out;
  }

  private static List<ChatMessage> messages(Object value) {
    if (!(value instanceof JsonArray a) || a.isEmpty()) {
      throw new BadRequestException("messages is required: a non-empty array of {role, content}");
    }
    List<ChatMessage> out = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      if (!(a.getValue(i) instanceof JsonObject m)) {
        throw new BadRequestException("messages[" + i + "] must be an object with role and content");
      }
      String role = m.getValue("role") instanceof String r ? r : "";
      if (!ROLES.contains(role)) {
        throw new BadRequestException("messages[" + i + "].role '" + role + "' is not supported; use system, user or assistant"
            + (role.equals("tool") || role.equals("function") ? " (tool calling is not supported)" : ""));
      }
      refuseIf(m.getValue("tool_calls") != null, "messages[" + i + "].tool_calls", "tool calling is not supported");
      out.add(new ChatMessage(role.equals("developer") ? "system" : role, content(m.getValue("content"), i)));
    }
    return out;
  }

  /** String content, or text parts joined; images, audio and files are refused. */
  private static String content(Object content, int i) {
    if (content instanceof String s) {
      return s;
    }
    if (content == null) {
      return "";
    }
    if (!(content instanceof JsonArray parts)) {
      throw new BadRequestException("messages[" + i + "].content must be a string or an array of text parts");
    }
    StringBuilder text = new StringBuilder();
    for (Object p : parts) {
      String type = p instanceof JsonObject o ? o.getString("type", "") : "";
      if (!type.equals("text")) {
        throw unsupported("messages[" + i + "].content", "content parts of type '" + type + "' (only text: this daemon serves text models)");
      }
      text.append(((JsonObject) p).getString("text", ""));
    }
    return text.toString();
  }

  private static int[] tokenIds(JsonArray a) {
    int[] ids = new int[a.size()];
    for (int i = 0; i < ids.length; i++) {
      if (!(a.getValue(i) instanceof Number n) || n.intValue() < 0) {
        throw new BadRequestException("prompt token ids must be non-negative integers");
      }
      ids[i] = n.intValue();
    }
    if (ids.length == 0) {
      throw new BadRequestException("prompt is empty");
    }
    return ids;
  }

  private static boolean stream(JsonObject body) {
    return Boolean.TRUE.equals(body.getValue("stream"));
  }

  private static boolean includeUsage(JsonObject body) {
    return body.getValue("stream_options") instanceof JsonObject o && Boolean.TRUE.equals(o.getValue("include_usage"));
  }

  private static Integer integer(JsonObject body, String key) {
    Object v = body.getValue(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
      throw new BadRequestException(key + " must be an integer, got " + v);
    }
    return n.intValue();
  }

  private static double number(JsonObject body, String key, double otherwise) {
    Object v = body.getValue(key);
    if (v == null) {
      return otherwise;
    }
    if (!(v instanceof Number n)) {
      throw new BadRequestException(key + " must be a number, got " + v);
    }
    return n.doubleValue();
  }

  private static void refuseIf(boolean condition, String field, String message) {
    if (condition) {
      throw new BadRequestException(message + " (field " + field + ")");
    }
  }

  private static BadRequestException unsupported(String field, String what) {
    return new BadRequestException(field + ": " + what + " is not supported");
  }
}
