package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.chat.ChatMessage;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The OpenAI API's request bodies to a {@link StreamRequest}: fields honoured, ignored and refused. */
class OpenAiRequestsTest {
  @Test
  void completion_mapsWhatItHonours_andIgnoresUnknownFields() {
    OpenAiRequests.Call c = OpenAiRequests.completion(new JsonObject("""
        {"model": "m", "prompt": ["once"], "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "stop": "x", "seed": 3,
         "stream": true, "stream_options": {"include_usage": true}, "logprobs": 2, "user": "u", "some_future_field": {"a": 1},
         "frequency_penalty": 0, "n": 1}"""), 256);
    StreamRequest r = c.request();
    assertEquals(StreamApi.COMPLETIONS, c.api());
    assertEquals("once", r.prompt());
    assertEquals(7, r.maxTokens());
    assertEquals(StreamRequest.ContextRule.REFUSE, r.context(), "a max_tokens the request set is kept or refused");
    assertEquals(0.5f, r.sampling().temperature());
    assertEquals(0.9f, r.sampling().topP());
    assertEquals(3L, r.sampling().seed().getAsLong());
    assertEquals(2, r.sampling().topLogprobs());
    assertEquals(List.of("x"), r.stop());
    assertTrue(c.stream() && c.includeUsage() && c.logprobs());

    OpenAiRequests.Call ids = OpenAiRequests.completion(new JsonObject("{\"model\": \"m\", \"prompt\": [1, 2, 3]}"), 256);
    assertArrayEquals(new int[] {1, 2, 3}, ids.request().promptIds());
    assertEquals(256, ids.request().maxTokens());
    assertEquals(StreamRequest.ContextRule.CAP, ids.request().context(), "the default is shortened to what the context leaves");
    assertEquals(1f, ids.request().sampling().temperature(), "OpenAI's default temperature");
    assertFalse(ids.request().sampling().logprobs(), "unasked, no log-probabilities are computed");
  }

  @Test
  void chat_takesTextPartsAndMaxCompletionTokens_andRefusesWhatItCannotHonour() {
    OpenAiRequests.Call c = OpenAiRequests.chat(new JsonObject("""
        {"model": "m", "max_tokens": 9, "max_completion_tokens": 5, "response_format": {"type": "text"}, "tools": [],
         "messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "a"},
         {"type": "text", "text": "b"}]}, {"role": "assistant", "content": null}]}"""), 256);
    assertEquals(List.of(ChatMessage.system("be brief"), ChatMessage.user("ab"), ChatMessage.assistant("")), c.request().chat());
    assertEquals(5, c.request().maxTokens(), "max_completion_tokens wins over the deprecated max_tokens");
    assertNull(c.request().prompt());

    String messages = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
    for (String refused : List.of("\"n\": 2", "\"tools\": [{\"type\": \"function\"}]", "\"response_format\": {\"type\": \"json_object\"}",
        "\"presence_penalty\": 0.5", "\"logit_bias\": {\"1\": 5}", "\"top_logprobs\": 3")) {
      BadRequestException e = assertThrows(BadRequestException.class, () -> OpenAiRequests.chat(new JsonObject("{\"model\": \"m\", "
          + messages + ", " + refused + "}"), 256), refused);
      assertTrue(e.getMessage().contains("not supported") || e.getMessage().contains("needs logprobs"), e.getMessage());
    }
    BadRequestException image = assertThrows(BadRequestException.class, () -> OpenAiRequests.chat(new JsonObject("""
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}"""), 256));
    assertTrue(image.getMessage().contains("image_url"), image.getMessage());
    assertThrows(BadRequestException.class, () -> OpenAiRequests.chat(new JsonObject("{\"model\": \"m\", \"messages\": []}"), 256));
    assertThrows(BadRequestException.class, () -> OpenAiRequests.completion(new JsonObject("{\"prompt\": \"x\"}"), 256), "no model");
    assertThrows(InvalidRequestException.class, () -> OpenAiRequests.completion(new JsonObject("{\"model\": \"m\", \"prompt\": \"x\", \"top_p\": 0}"), 256));
  }
}
