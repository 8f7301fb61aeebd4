package dev.edgelm.daemon.internal;

import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.SamplingOptions;
import dev.edgelm.engine.Ticker;
import dev.edgelm.engine.chat.ChatMessage;
import dev.edgelm.engine.tokenizer.Tokenizer;
import java.util.List;

/**
 * What one generation asks for, validated, in the engine's terms, whichever API it came through ({@link GrpcMapping}
 * for gRPC, {@link OpenAiRequests} for the HTTP API). Built on the event loop (cheap checks only); the prompt is
 * rendered (chat) and tokenized later, on a decode worker, by {@link #toEngine}.
 *
 * @param prompt the prompt text, or null when {@code promptIds} or {@code chat} is the prompt
 * @param promptIds the prompt's token ids, or null
 * @param chat the conversation to render with the model's chat template, or null
 * @param maxTokens requested tokens, the server default already applied
 * @param context what to do when prompt + {@code maxTokens} exceed the served context
 */
record StreamRequest(String model, String prompt, int[] promptIds, List<ChatMessage> chat, int maxTokens, SamplingOptions sampling,
    List<String> stop, boolean logprobs, String requestId, ContextRule context) {

  /** Prompt + max_tokens beyond the served context: cap the output (gRPC's contract) or refuse (the OpenAI API's). */
  enum ContextRule { CAP, REFUSE }

  StreamRequest {
    stop = List.copyOf(stop);
    chat = chat == null ? null : List.copyOf(chat);
  }

  /** Renders a conversation into prompt text with the served model's template ({@link LoadedModel#renderChat}). */
  @FunctionalInterface
  interface ChatRenderer {
    /** @throws InvalidRequestException when the model has no template or the template refuses the conversation */
    String render(List<ChatMessage> messages);
  }

  /**
   * Tokenizes the prompt and fits the output into {@code context} tokens: capped, or refused ({@link ContextRule}).
   *
   * @param chat renders {@link #chat} (only called for a chat request)
   * @throws InvalidRequestException when the prompt alone fills the context, or prompt + max_tokens exceed it under
   *     {@link ContextRule#REFUSE}
   */
  GenerationRequest toEngine(Tokenizer tokenizer, int context, Ticker ticker, ChatRenderer chat) {
    // A rendered chat prompt already holds the BOS text its template writes (Hugging Face encodes it without special tokens).
    int[] ids = promptIds != null ? promptIds : this.chat != null ? tokenizer.encode(chat.render(this.chat)) : tokenizer.encodePrompt(prompt);
    if (ids.length == 0) {
      throw new InvalidRequestException("prompt is empty after tokenization");
    }
    if (context > 0 && ids.length >= context) {
      throw new InvalidRequestException("prompt has " + ids.length + " tokens but model '" + model + "' serves a context of " + context
          + " tokens; shorten the prompt to leave room for the reply");
    }
    if (context > 0 && this.context == ContextRule.REFUSE && ids.length + maxTokens > context) {
      throw new InvalidRequestException("prompt has " + ids.length + " tokens and max_tokens is " + maxTokens + ", but model '" + model
          + "' serves a context of " + context + " tokens; lower max_tokens to at most " + (context - ids.length) + " or shorten the prompt");
    }
    int max = context > 0 ? Math.min(maxTokens, context - ids.length) : maxTokens;
    return GenerationRequest.ofIds(ids).withMaxTokens(max).withSampling(sampling).withStop(stop.toArray(String[]::new)).withTicker(ticker);
  }
}
