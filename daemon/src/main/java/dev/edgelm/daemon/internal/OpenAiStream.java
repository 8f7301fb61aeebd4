package dev.edgelm.daemon.internal;

import dev.edgelm.engine.FinishReason;
import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.TokenLogprob;
import dev.edgelm.engine.Usage;
import dev.edgelm.engine.tokenizer.Tokenizer;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One OpenAI API call's side of a {@link GenerationStream}: the {@link StreamSink} that writes {@code text_completion}
 * / {@code chat.completion} objects, or with {@code stream: true} server-sent events as OpenAI sends them — {@code
 * data: {chunk}} per step (the chat role in a first delta of its own), {@code finish_reason} in the last chunk, the
 * usage chunk when {@code stream_options.include_usage} is set, then {@code data: [DONE]}.
 *
 * <p>The response's status and headers go out with its first byte, so a failure before the first token (no chat
 * template, prompt beyond the context, queue full) is still an HTTP error with its status; a failure after it is a last
 * {@code data: {"error": ...}} event. A streaming response writes through the connection's write queue, so a slow
 * reader pauses decoding ({@link SendWindow}); a non-streaming one collects the text and writes once.
 *
 * <p>Threading: {@link #encode} runs on the decode worker (it reads only final fields and the model's tokenizer);
 * everything else on the call's context.
 */
final class OpenAiStream implements StreamSink<OpenAiStream.Piece> {
  /** One step's text and its log-probability entry (or null). */
  record Piece(String text, JsonObject logprob) {
    boolean empty() {
      return text.isEmpty() && logprob == null;
    }
  }

  private static final Buffer DONE = Buffer.buffer("data: [DONE]\n\n");

  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final String id;
  private final long created;
  private final boolean chat;
  /** Set on the context once the body is read, before the generation starts (so before any {@link #encode}). */
  private OpenAiRequests.Call call;
  private boolean headersSent;
  private final StringBuilder text = new StringBuilder();
  private final List<JsonObject> logprobs = new ArrayList<>();

  /** @param created the Unix time of the call's arrival, in seconds */
  OpenAiStream(StreamApi api, HttpServerRequest request, String id, long created) {
    this.request = request;
    this.response = request.response();
    this.id = id;
    this.created = created;
    this.chat = api == StreamApi.CHAT;
  }

  /** The call as its body asks (before the stream starts). */
  StreamRequest call(OpenAiRequests.Call c) {
    this.call = c;
    return c.request();
  }

  @Override
  public Piece encode(GenerationChunk chunk, StreamRequest req, Tokenizer tokenizer) {
    return new Piece(chunk.text(), call.logprobs() && chunk.hasToken() ? logprob(chunk, tokenizer) : null);
  }

  @Override
  public Future<Void> write(Piece piece, boolean firstToken, String variant) {
    if (!call.stream()) {
      collect(piece);
      return Future.succeededFuture();
    }
    startEvents(variant);
    return piece.empty() ? Future.succeededFuture() : response.write(event(chunk(piece)));
  }

  @Override
  public boolean writeQueueFull() {
    return call != null && call.stream() && response.writeQueueFull();
  }

  @Override
  public Future<Void> end(Piece last, Ending e) {
    String reason = finishReason(e.reason());
    if (!call.stream()) {
      collect(last);
      JsonObject choice = new JsonObject().put("index", 0);
      if (chat) {
        choice.put("message", new JsonObject().put("role", "assistant").put("content", text.toString()));
      } else {
        choice.put("text", text.toString());
      }
      choice.put("logprobs", call.logprobs() ? logprobsOf(logprobs) : null).put("finish_reason", reason);
      JsonObject body = head(e.variant()).put("choices", new JsonArray().add(choice)).put("usage", usage(e.usage()));
      return response.putHeader("content-type", "application/json").end(body.encode());
    }
    startEvents(e.variant());
    Buffer out = Buffer.buffer();
    if (!last.empty()) {
      out.appendBuffer(event(chunk(last)));
    }
    out.appendBuffer(event(chunk(chat ? null : "", null, reason)));
    if (call.includeUsage()) {
      out.appendBuffer(event(head(e.variant()).put("choices", new JsonArray()).put("usage", usage(e.usage()))));
    }
    return response.end(out.appendBuffer(DONE));
  }

  @Override
  public void fail(StatusMapper.Failure failure) {
    try {
      if (!headersSent) {
        OpenAiErrors.send(response, failure);
      } else {
        response.end(event(OpenAiErrors.body(failure)));
      }
    } catch (IllegalStateException closed) {
      // the connection is gone: nothing left to tell the client
    }
  }

  @Override
  public void abort() {
    try {
      response.reset();
    } catch (IllegalStateException closed) {
      // already closed
    }
  }

  @Override
  public String remote() {
    return String.valueOf(request.remoteAddress());
  }

  // ---- the response's shapes ----------------------------------------------------------------------------

  /** Sends the status and headers, and a chat stream's first delta (the role), once. */
  private void startEvents(String variant) {
    if (headersSent) {
      return;
    }
    headersSent = true;
    response.setStatusCode(200).setChunked(true).putHeader("content-type", "text/event-stream").putHeader("cache-control", "no-cache");
    this.variant = variant;
    if (chat) {
      JsonObject delta = new JsonObject().put("role", "assistant").put("content", "");
      response.write(event(head(variant).put("choices", new JsonArray().add(choice().put("delta", delta).putNull("logprobs")
          .putNull("finish_reason")))));
    }
  }

  /** Set when the events start: the variant named in every chunk. */
  private String variant = "";

  private JsonObject chunk(Piece p) {
    return chunk(p.text(), p.logprob() == null ? null : logprobsOf(List.of(p.logprob())), null);
  }

  private JsonObject chunk(String content, JsonObject logprobs, String finishReason) {
    JsonObject choice = choice();
    if (chat) {
      choice.put("delta", content == null ? new JsonObject() : new JsonObject().put("content", content));
    } else {
      choice.put("text", content == null ? "" : content);
    }
    choice.put("logprobs", logprobs).put("finish_reason", finishReason);
    JsonObject c = head(variant).put("choices", new JsonArray().add(choice));
    if (call.includeUsage()) {
      c.putNull("usage");
    }
    return c;
  }

  private JsonObject head(String variant) {
    return new JsonObject().put("id", id).put("object", chat ? (call.stream() ? "chat.completion.chunk" : "chat.completion") : "text_completion")
        .put("created", created).put("model", call.request().model()).put("system_fingerprint", variant);
  }

  private static JsonObject choice() {
    return new JsonObject().put("index", 0);
  }

  private void collect(Piece piece) {
    text.append(piece.text());
    if (piece.logprob() != null) {
      logprobs.add(piece.logprob());
    }
  }

  /** One token's entry: chat's {token, logprob, bytes, top_logprobs}, or the completions API's parts of it. */
  private JsonObject logprob(GenerationChunk chunk, Tokenizer tokenizer) {
    JsonArray top = new JsonArray();
    for (TokenLogprob t : chunk.topLogprobs()) {
      String s = tokenizer.decode(new int[] {t.id()});
      top.add(new JsonObject().put("token", s).put("logprob", (double) t.logprob()).put("bytes", bytes(s)));
    }
    // The step's text is the token's (a lone id decodes without its leading space); empty while text is held back.
    String token = chunk.text().isEmpty() ? tokenizer.decode(new int[] {chunk.tokenId()}) : chunk.text();
    return new JsonObject().put("token", token).put("logprob", (double) chunk.logprob()).put("bytes", bytes(token)).put("top_logprobs", top);
  }

  /** The {@code logprobs} of a choice: chat's {content: [entries]}, or the completions API's parallel arrays. */
  private JsonObject logprobsOf(List<JsonObject> entries) {
    if (chat) {
      return new JsonObject().put("content", new JsonArray(new ArrayList<>(entries)));
    }
    JsonArray tokens = new JsonArray();
    JsonArray values = new JsonArray();
    JsonArray tops = new JsonArray();
    for (JsonObject e : entries) {
      tokens.add(e.getString("token"));
      values.add(e.getDouble("logprob"));
      JsonObject top = new JsonObject();
      for (Object t : e.getJsonArray("top_logprobs")) {
        top.put(((JsonObject) t).getString("token"), ((JsonObject) t).getDouble("logprob"));
      }
      tops.add(top);
    }
    return new JsonObject().put("tokens", tokens).put("token_logprobs", values).put("top_logprobs", tops);
  }

  private static JsonArray bytes(String s) {
    JsonArray out = new JsonArray();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      out.add(b & 0xff);
    }
    return out;
  }

  private static JsonObject usage(Usage u) {
    return new JsonObject().put("prompt_tokens", u.promptTokens()).put("completion_tokens", u.completionTokens())
        .put("total_tokens", u.promptTokens() + u.completionTokens());
  }

  /** OpenAI's finish reasons; a stream the drain cancelled says {@code cancelled}, which OpenAI does not define. */
  static String finishReason(FinishReason r) {
    return switch (r) {
      case STOP -> "stop";
      case LENGTH -> "length";
      case CANCELLED -> "cancelled";
    };
  }

  private static Buffer event(JsonObject o) {
    return Buffer.buffer("data: ").appendString(o.encode()).appendString("\n\n");
  }
}
