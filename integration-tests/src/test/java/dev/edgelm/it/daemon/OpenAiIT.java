package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAI-compatible HTTP API of a real {@code edgelmd} process, started with the flags of {@code ./edgelm serve},
 * spoken to by the official clients: the Python {@code openai} package and the npm {@code openai} package (each
 * installed once per build, {@link OpenAiClients}; the tests that need one skip when it cannot be installed), and curl
 * running every example of docs/API.md verbatim. The daemon serves stories260K ("stories", real weights, chat through
 * the built-in ChatML template) and the synthetic GPT-2 small of {@link ItModels} ("slow", about 20 ms a token: long
 * enough to close mid-stream and to queue behind), with an API key. Needs {@code ../shared} (skips without it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiIT {
  private static final String KEY = "it-openai-key-0123456789";

  @TempDir static Path work;

  private DaemonProcess daemon;
  private String base;

  @BeforeAll
  void start() throws IOException {
    Path stories = ItModels.stories260K();
    Path slow = ItModels.gpt2Small();
    daemon = DaemonProcess.start(work.resolve("d"), "--model", "stories=" + stories, "--model", "slow=" + slow, "--port", "0",
        "--http-port", "0", "--openai-port", "0", "--set", "auth.api_keys=" + KEY, "--set", "models.stories.chat_template=chatml",
        "--set", "models.slow.max_concurrent=1", "--set", "models.slow.max_queued=0", "--set", "models.stories.pin=true");
    base = "http://127.0.0.1:" + daemon.openaiPort();
    Await.until("the daemon is ready", () -> daemon.get("/readyz").statusCode() == 200, daemon::log);
  }

  @AfterAll
  void stop() {
    if (daemon != null) {
      daemon.close();
    }
  }

  private static final String PYTHON_SUITE = """
      import json, sys
      import openai
      from openai import OpenAI
      base, key = sys.argv[1], sys.argv[2]
      c = OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
      out = {"models": [m.id for m in c.models.list().data]}
      P = "Once upon a time"
      r = c.completions.create(model="stories", prompt=P, max_tokens=24, temperature=0)
      out["completion"] = {"text": r.choices[0].text, "finish": r.choices[0].finish_reason, "object": r.object,
                           "usage": [r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens]}
      parts, finish = [], None
      for ch in c.completions.create(model="stories", prompt=P, max_tokens=24, temperature=0, stream=True):
          for choice in ch.choices:
              parts.append(choice.text)
              finish = choice.finish_reason or finish
      out["completion_stream"] = {"text": "".join(parts), "finish": finish, "chunks": len(parts)}
      r = c.completions.create(model="stories", prompt=P, max_tokens=80, temperature=0, stop=[".", "!"])
      out["stop"] = {"text": r.choices[0].text, "finish": r.choices[0].finish_reason}
      def sample(seed):
          return c.completions.create(model="stories", prompt=P, max_tokens=40, temperature=1.5, seed=seed).choices[0].text
      out["seeds"] = {"same": [sample(7), sample(7)], "others": [sample(s) for s in (1, 2, 3, 4)]}
      msgs = [{"role": "system", "content": "You tell short stories."}, {"role": "user", "content": "Tell me a story."}]
      r = c.chat.completions.create(model="stories", messages=msgs, max_tokens=16, temperature=0)
      out["chat"] = {"content": r.choices[0].message.content, "role": r.choices[0].message.role, "finish": r.choices[0].finish_reason,
                     "object": r.object, "usage": [r.usage.prompt_tokens, r.usage.completion_tokens]}
      roles, parts, usage, finish, usage_chunks = [], [], None, None, 0
      for ch in c.chat.completions.create(model="stories", messages=msgs, max_tokens=16, temperature=0, stream=True,
                                          stream_options={"include_usage": True}):
          if ch.usage is not None:
              usage_chunks += 1
              usage = [ch.usage.prompt_tokens, ch.usage.completion_tokens]
          for choice in ch.choices:
              if choice.delta.role:
                  roles.append(choice.delta.role)
              if choice.delta.content:
                  parts.append(choice.delta.content)
              finish = choice.finish_reason or finish
      out["chat_stream"] = {"content": "".join(parts), "roles": roles, "finish": finish, "usage": usage, "usage_chunks": usage_chunks}
      def status(f):
          try:
              f()
              return 200
          except openai.APIStatusError as e:
              return e.status_code
      out["errors"] = {
          "unknown_model": status(lambda: c.completions.create(model="nope", prompt="x", max_tokens=1)),
          "beyond_context": status(lambda: c.completions.create(model="stories", prompt=P, max_tokens=100000)),
          "tools": status(lambda: c.chat.completions.create(model="stories", messages=msgs,
                                                            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}])),
          "n": status(lambda: c.chat.completions.create(model="stories", messages=msgs, n=2)),
          "image": status(lambda: c.chat.completions.create(model="stories", messages=[{"role": "user", "content": [
              {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}])),
          "no_template": status(lambda: c.chat.completions.create(model="slow", messages=msgs, max_tokens=1)),
          "bad_key": status(lambda: OpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0).models.list()),
      }
      print(json.dumps(out))
      """;

  @Test
  void python_completionsAndChat_asTheOfficialClientSeesThem() throws IOException {
    OpenAiClients.Outcome r = OpenAiClients.runPython(work, PYTHON_SUITE, base, KEY);
    assertEquals(0, r.exit(), r.out() + "\n" + daemon.log());
    io.vertx.core.json.JsonObject out = new io.vertx.core.json.JsonObject(lastLine(r.out()));

    assertEquals(List.of("stories", "slow"), out.getJsonArray("models").getList());
    var completion = out.getJsonObject("completion");
    assertEquals("text_completion", completion.getString("object"));
    assertEquals("length", completion.getString("finish"));
    assertEquals(24, completion.getJsonArray("usage").getInteger(1));
    assertEquals(completion.getJsonArray("usage").getInteger(0) + 24, completion.getJsonArray("usage").getInteger(2));
    var streamed = out.getJsonObject("completion_stream");
    assertEquals(completion.getString("text"), streamed.getString("text"), "greedy: the stream says what the completion said");
    assertEquals("length", streamed.getString("finish"));
    assertTrue(streamed.getInteger("chunks") > 2, "streamed in pieces: " + streamed);

    var stop = out.getJsonObject("stop");
    assertEquals("stop", stop.getString("finish"), stop.encode());
    assertFalse(stop.getString("text").contains(".") || stop.getString("text").contains("!"), "the stop string is not in the text: " + stop);
    assertTrue(completion.getString("text").startsWith(stop.getString("text")), "greedy text up to the stop string: " + stop);

    var seeds = out.getJsonObject("seeds");
    assertEquals(seeds.getJsonArray("same").getString(0), seeds.getJsonArray("same").getString(1), "one seed, one text");
    assertTrue(seeds.getJsonArray("others").stream().distinct().count() > 1, "other seeds sample other texts: " + seeds);

    var chat = out.getJsonObject("chat");
    assertEquals("chat.completion", chat.getString("object"));
    assertEquals("assistant", chat.getString("role"));
    var chatStream = out.getJsonObject("chat_stream");
    assertEquals(chat.getString("content"), chatStream.getString("content"));
    assertEquals(List.of("assistant"), chatStream.getJsonArray("roles").getList(), "the role comes once, in the first delta");
    assertEquals(chat.getString("finish"), chatStream.getString("finish"));
    assertEquals(1, chatStream.getInteger("usage_chunks"), "include_usage: one usage chunk");
    assertEquals(chat.getJsonArray("usage"), chatStream.getJsonArray("usage"));

    assertEquals(Map.of("unknown_model", 404, "beyond_context", 400, "tools", 400, "n", 400, "image", 400, "no_template", 400,
        "bad_key", 401), out.getJsonObject("errors").getMap());
    String metrics = daemon.metrics();
    assertTrue(sample(metrics, "edgelm_requests_total", "edgelm_api=\"openai\"", "\"stories\"", "rpc_grpc_status=\"OK\"") >= 10, metrics);
  }

  private static final String PYTHON_CLOSE = """
      import json, sys
      import openai
      from openai import OpenAI
      base, key = sys.argv[1], sys.argv[2]
      c = OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
      s = c.completions.create(model="slow", prompt="hello", max_tokens=400, temperature=0, stream=True)
      chunks = 0
      for ch in s:
          chunks += 1
          if chunks == 3:
              break
      out = {"chunks": chunks}
      try:
          c.completions.create(model="slow", prompt="hello", max_tokens=1)
          out["second"] = 200
      except openai.APIStatusError as e:
          out["second"] = e.status_code
          out["retry_after"] = e.response.headers.get("retry-after")
      s.close()
      print(json.dumps(out))
      """;

  @Test
  void python_clientClosingMidStream_cancelsItsStreamWithinAStep() throws IOException {
    String before = daemon.metrics();
    OpenAiClients.Outcome r = OpenAiClients.runPython(work, PYTHON_CLOSE, base, KEY);
    assertEquals(0, r.exit(), r.out());
    io.vertx.core.json.JsonObject out = new io.vertx.core.json.JsonObject(lastLine(r.out()));
    assertEquals(3, out.getInteger("chunks"));
    assertEquals(429, out.getInteger("second"), "the only slot is taken and no call may queue: " + out);
    assertEquals("1", out.getString("retry_after"));

    String[] cancelled = {"edgelm_requests_total", "edgelm_api=\"openai\"", "\"slow\"", "rpc_grpc_status=\"CANCELLED\""};
    Await.until("the daemon counts the closed stream as cancelled",
        () -> sample(daemon.metrics(), cancelled) == sample(before, cancelled) + 1, daemon::metrics);
    String m = daemon.metrics();
    assertEquals(sample(before, "edgelm_requests_total", "edgelm_api=\"openai\"", "\"slow\"", "rpc_grpc_status=\"RESOURCE_EXHAUSTED\"") + 1,
        sample(m, "edgelm_requests_total", "edgelm_api=\"openai\"", "\"slow\"", "rpc_grpc_status=\"RESOURCE_EXHAUSTED\""));
    double cancels = sample(m, "edgelm_generation_steps_after_cancel_count", "\"slow\"") - sample(before, "edgelm_generation_steps_after_cancel_count", "\"slow\"");
    double steps = sample(m, "edgelm_generation_steps_after_cancel_sum", "\"slow\"") - sample(before, "edgelm_generation_steps_after_cancel_sum", "\"slow\"");
    assertEquals(1, cancels, m);
    assertTrue(steps <= 1, "at most one model step started after the client closed: " + steps);
    assertTrue(sample(m, "edgelm_generated_tokens_total", "\"slow\"") - sample(before, "edgelm_generated_tokens_total", "\"slow\"") < 200,
        "decoding stopped long before max_tokens");
  }

  private static final String NODE_CHAT = """
      import OpenAI from 'openai';
      const [base, key] = process.argv.slice(2);
      const client = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'stories', messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 16, temperature: 0,
        stream: true, stream_options: { include_usage: true } });
      let content = '', roles = [], finish = null, usage = null;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          if (c.delta.role) roles.push(c.delta.role);
          if (c.delta.content) content += c.delta.content;
          if (c.finish_reason) finish = c.finish_reason;
        }
      }
      console.log(JSON.stringify({ content, roles, finish, usage }));
      """;

  @Test
  void node_streamingChat_matchesTheNonStreamingAnswer() throws IOException, InterruptedException {
    OpenAiClients.Outcome r = OpenAiClients.runNode(NODE_CHAT, base, KEY);
    assertEquals(0, r.exit(), r.out());
    io.vertx.core.json.JsonObject out = new io.vertx.core.json.JsonObject(lastLine(r.out()));
    HttpResponse<String> plain = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .header("authorization", "Bearer " + KEY).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"stories\", \"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story.\"}],"
            + " \"max_tokens\": 16, \"temperature\": 0}")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, plain.statusCode(), plain.body());
    var choice = new io.vertx.core.json.JsonObject(plain.body()).getJsonArray("choices").getJsonObject(0);
    assertEquals(choice.getJsonObject("message").getString("content"), out.getString("content"));
    assertEquals(List.of("assistant"), out.getJsonArray("roles").getList());
    assertEquals(choice.getString("finish_reason"), out.getString("finish"));
    assertEquals(16, out.getJsonObject("usage").getInteger("completion_tokens"));
  }

  /** Every {@code curl} block of docs/API.md, run verbatim by bash with the daemon's address and key in the environment. */
  @Test
  void docs_everyCurlExample_runsVerbatim() throws IOException {
    List<String> blocks = curlBlocks(Files.readString(SharedAssets.repositoryRoot().resolve("docs/API.md")));
    assertTrue(blocks.size() >= 5, "docs/API.md shows curl for each endpoint: " + blocks.size());
    for (String block : blocks) {
      OpenAiClients.Outcome r = OpenAiClients.run(List.of("bash", "-euo", "pipefail", "-c", block), work, 60,
          Map.of("EDGELM", base, "EDGELM_API_KEY", KEY));
      assertEquals(0, r.exit(), block + "\n->\n" + r.out());
      String out = r.out().strip();
      assertTrue(out.startsWith("{") || out.startsWith("data: "), block + "\n->\n" + out);
      assertFalse(out.contains("{\"error\":"), block + "\n->\n" + out);
    }
  }

  /** The fenced shell blocks that start with {@code curl}. */
  static List<String> curlBlocks(String markdown) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^```(?:bash|sh|shell)\\n(.*?)^```", Pattern.DOTALL).matcher(markdown);
    while (m.find()) {
      if (m.group(1).stripLeading().startsWith("curl ")) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  private static String lastLine(String out) {
    String[] lines = out.strip().split("\n");
    return lines[lines.length - 1];
  }

  /** The first sample of {@code name} whose labels contain every one of {@code labels}; 0 when none. */
  private static double sample(String scrape, String name, String... labels) {
    Matcher m = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*\\})?\\s+(\\S+)$", Pattern.MULTILINE).matcher(scrape);
    while (m.find()) {
      String l = m.group(1) == null ? "" : m.group(1);
      if (java.util.Arrays.stream(labels).allMatch(l::contains)) {
        return Double.parseDouble(m.group(2));
      }
    }
    return 0;
  }

  private static double sample(String scrape, String[] nameAndLabels) {
    return sample(scrape, nameAndLabels[0], java.util.Arrays.copyOfRange(nameAndLabels, 1, nameAndLabels.length));
  }
}
