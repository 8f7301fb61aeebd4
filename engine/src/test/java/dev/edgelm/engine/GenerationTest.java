package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.FakeLanguageModel;
import dev.edgelm.engine.testing.FakeTokenizer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class GenerationTest {
  private static final FakeTokenizer TOK = FakeTokenizer.of("Hel", "lo", " wor", "ld", " E", "N", "D", "!", "Z", "?", " ");
  private static final int EOS = TOK.eosId().getAsInt();

  private static int[] ids(String... pieces) {
    int[] out = new int[pieces.length];
    for (int i = 0; i < pieces.length; i++) {
      out[i] = TOK.id(pieces[i]);
    }
    return out;
  }

  private static List<GenerationChunk> drain(Generation g) {
    List<GenerationChunk> chunks = new ArrayList<>();
    while (!g.isFinished()) {
      chunks.add(g.next());
    }
    return chunks;
  }

  private static String text(List<GenerationChunk> chunks) {
    StringBuilder s = new StringBuilder();
    chunks.forEach(c -> s.append(c.text()));
    return s.toString();
  }

  @Test
  void next_stopStringSplitAcrossTokens_neverEmitted() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Hel", "lo", " wor", "ld", " E", "N", "D", "!", "Z"));
    GenerationRequest request = GenerationRequest.ofText("Hel").withStop("END!");
    List<GenerationChunk> chunks = drain(Generation.start(model, request));

    assertEquals("Hello world ", text(chunks));
    chunks.forEach(c -> assertFalse(c.text().contains("E") || c.text().contains("N"), "chunk " + c));
    GenerationChunk last = chunks.get(chunks.size() - 1);
    assertEquals(FinishReason.STOP, last.finishReason());
    assertEquals(TOK.id("!"), last.tokenId());
    assertEquals(8, chunks.size());
    assertEquals(0, model.openSequences());
  }

  @Test
  void detached_fedTheLogitsOfItsOwnRuns_givesTheChunksOfNext() {
    int[] says = ids("Hel", "lo", " wor", "ld", " E", "N", "D", "!", "Z");
    GenerationRequest request = GenerationRequest.ofText("Hel").withStop("END!");
    List<GenerationChunk> attached = drain(Generation.start(FakeLanguageModel.saying(TOK, 64, says), request));

    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, says);
    Generation g = Generation.startDetached(model, request);
    assertEquals(0, model.openSequences(), "a detached generation opens no sequence");
    assertEquals(-1, g.tokenToFeed());
    assertThrows(IllegalStateException.class, g::next, "its logits come through accept");
    List<GenerationChunk> detached = new ArrayList<>();
    try (Sequence runner = model.newSequence()) { // what a batch row does for it
      float[] logits = runner.append(g.promptIds());
      g.recordCachedPromptTokens(0);
      while (!g.isFinished()) {
        GenerationChunk c = g.accept(logits);
        detached.add(c);
        if (!g.isFinished()) {
          logits = runner.append(g.tokenToFeed());
        }
      }
    }
    assertEquals(attached, detached);
    assertEquals(FinishReason.STOP, g.finishReason());
    assertFalse(g.isSuspended());
    assertThrows(IllegalStateException.class, () -> g.accept(new float[64]));
  }

  @Test
  void detached_cancelled_endsWithoutReadingLogits_andReportsCachedPromptTokens() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z", "Z", "Z"));
    Generation g = Generation.startDetached(model, GenerationRequest.ofIds(ids("Hel", "lo", " wor")));
    g.recordCachedPromptTokens(2);
    assertThrows(IllegalArgumentException.class, () -> g.recordCachedPromptTokens(3), "the last prompt token always runs");
    g.cancel();
    GenerationChunk last = g.accept(null);
    assertEquals(FinishReason.CANCELLED, last.finishReason());
    assertEquals(new Usage(3, 0, 2), g.usage());
    assertThrows(IllegalStateException.class, () -> Generation.start(model, GenerationRequest.ofIds(ids("Hel"))).accept(new float[64]));
  }

  @Test
  void next_heldBackPrefixThatIsNotAStop_isReleased() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids(" E", "N", "Z", " E", "N"));
    GenerationRequest request = GenerationRequest.ofText("Hel").withStop("END").withMaxTokens(5);
    List<GenerationChunk> chunks = drain(Generation.start(model, request));

    assertEquals(" ", chunks.get(0).text(), "the 'E' of ' E' may begin 'END'");
    assertEquals("", chunks.get(1).text(), "'EN' may begin 'END'");
    assertEquals("ENZ", chunks.get(2).text());
    assertEquals(" ENZ EN", text(chunks), "at the length limit the held prefix is emitted");
    assertEquals(FinishReason.LENGTH, chunks.get(4).finishReason());
  }

  @Test
  void next_eos_stopsAndEmitsNothingForIt() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, TOK.id("Hel"), TOK.id("lo"), EOS, TOK.id("Z"));
    List<GenerationChunk> chunks = drain(Generation.start(model, GenerationRequest.ofIds(ids("Hel"))));
    assertEquals(3, chunks.size());
    assertEquals(FinishReason.STOP, chunks.get(2).finishReason());
    assertEquals(EOS, chunks.get(2).tokenId());
    assertEquals("", chunks.get(2).text());
    assertEquals("Hello", text(chunks));
  }

  @Test
  void next_maxTokens_finishesWithLength() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z", "Z", "Z", "Z", "Z", "Z"));
    Generation g = Generation.start(model, GenerationRequest.ofIds(ids("Hel")).withMaxTokens(4));
    List<GenerationChunk> chunks = drain(g);
    assertEquals(4, chunks.size());
    assertEquals(FinishReason.LENGTH, g.finishReason());
    assertEquals(new Usage(1, 4), g.usage());
    assertEquals(4, model.appendCalls(), "prefill plus three decode steps; the last token is never fed");
    assertThrows(IllegalStateException.class, g::next);
  }

  @Test
  void next_contextFull_finishesWithLength() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 8, ids("Z", "Z", "Z", "Z", "Z", "Z"));
    Generation g = Generation.start(model, GenerationRequest.ofIds(ids("Hel", "lo", "Hel", "lo", "Hel", "lo")));
    List<GenerationChunk> chunks = drain(g);
    assertEquals(3, chunks.size(), "6 prompt tokens + 2 fed generated tokens fill the context of 8; the third is sampled from it");
    assertEquals(FinishReason.LENGTH, g.finishReason());
  }

  @Test
  void next_partialUtf8_heldUntilComplete() {
    FakeTokenizer bytes = FakeTokenizer.ofBytes(new byte[] {'a'}, new byte[] {(byte) 0xE2}, new byte[] {(byte) 0x82, (byte) 0xAC});
    FakeLanguageModel model = FakeLanguageModel.saying(bytes, 64, 3, 4, 2);
    List<GenerationChunk> chunks = drain(Generation.start(model, GenerationRequest.ofIds(2).withMaxTokens(3)));
    assertEquals("", chunks.get(0).text());
    assertEquals("\u20ac", chunks.get(1).text());
    assertEquals("a", chunks.get(2).text());
  }

  @Test
  void cancel_fromAnotherThread_endsAtNextStepWithoutRunningModel() throws Exception {
    CountDownLatch inThirdStep = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z", "Z", "Z", "Z", "Z", "Z", "Z", "Z")).beforeAppend(call -> {
      if (call == 3) {
        inThirdStep.countDown();
        await(proceed);
      }
    });
    Generation g = Generation.start(model, GenerationRequest.ofIds(ids("Hel")));
    ExecutorService worker = Executors.newSingleThreadExecutor();
    try {
      Future<List<GenerationChunk>> driven = worker.submit(() -> drain(g));
      await(inThirdStep);
      g.cancel();
      proceed.countDown();
      List<GenerationChunk> chunks = driven.get(30, TimeUnit.SECONDS);

      assertEquals(4, chunks.size(), "the step in flight completes; the next one ends");
      assertNull(chunks.get(2).finishReason());
      GenerationChunk last = chunks.get(3);
      assertEquals(FinishReason.CANCELLED, last.finishReason());
      assertFalse(last.hasToken());
      assertEquals(3, model.appendCalls(), "the cancelled step ran no model");
      assertEquals(0, model.openSequences());
    } finally {
      worker.shutdownNow();
    }
  }

  @Test
  void cancel_beforeFirstStep_runsNothing() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z"));
    Generation g = Generation.start(model, GenerationRequest.ofIds(ids("Hel")));
    g.cancel();
    assertEquals(FinishReason.CANCELLED, g.next().finishReason());
    assertEquals(0, model.appendCalls());
    assertEquals(new Usage(1, 0), g.usage());
  }

  @Test
  void start_promptAtContextLength_rejectedNamingBothLengths() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 4, ids("Z"));
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> Generation.start(model, GenerationRequest.ofIds(ids("Hel", "lo", "Hel", "lo"))));
    assertTrue(e.getMessage().contains("4 tokens") && e.getMessage().contains("context is 4"), e.getMessage());
    e = assertThrows(InvalidRequestException.class, () -> Generation.start(model, GenerationRequest.ofText("Hello world Hello")));
    assertTrue(e.getMessage().contains("7 tokens") && e.getMessage().contains("context is 4"), e.getMessage());
    assertEquals(0, model.openSequences());
  }

  @Test
  void start_emptyPrompt_rejected() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z"));
    for (GenerationRequest r : List.of(GenerationRequest.ofText(""), GenerationRequest.ofIds())) {
      InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> Generation.start(model, r));
      assertTrue(e.getMessage().startsWith("prompt is empty"), e.getMessage());
    }
  }

  @Test
  void start_idOutsideVocabulary_rejected() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z"));
    assertThrows(InvalidRequestException.class, () -> Generation.start(model, GenerationRequest.ofIds(TOK.vocabSize())));
  }

  @Test
  void timings_comeFromTheInjectedTicker() {
    AtomicLong now = new AtomicLong();
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z", "Z", "Z", "Z", "Z"))
        .beforeAppend(call -> now.addAndGet(call == 1 ? 50_000_000L : 10_000_000L));
    Generation g = Generation.start(model, GenerationRequest.ofIds(ids("Hel")).withMaxTokens(5).withTicker(now::get));
    g.next();
    now.addAndGet(1_000_000_000L); // a slow reader: pauses between steps are not decode time
    drain(g);
    Timings t = g.timings();
    assertEquals(Duration.ofMillis(50), t.timeToFirstToken());
    assertEquals(100.0, t.decodeTokensPerSecond(), 1e-9);
    assertEquals(Duration.ofMillis(50 + 1000 + 40), t.total());
  }

  @Test
  void stream_collectsTextAndResult() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Hel", "lo", " wor", "ld", "?", "Z"));
    List<String> pieces = new ArrayList<>();
    GenerationResult r = Generation.stream(model, GenerationRequest.ofText("Hel").withStop("?"), pieces::add);
    assertEquals("Hello world", r.text());
    assertEquals("Hello world", String.join("", pieces));
    assertFalse(pieces.contains(""));
    assertEquals(FinishReason.STOP, r.finishReason());
    assertArrayEquals(ids("Hel", "lo", " wor", "ld", "?"), r.tokenIds());
    assertEquals(new Usage(1, 5), r.usage());
  }

  @Test
  void close_midway_releasesSequence() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 64, ids("Z", "Z", "Z"));
    try (Generation g = Generation.start(model, GenerationRequest.ofIds(ids("Hel")))) {
      g.next();
      assertEquals(1, model.openSequences());
    }
    assertEquals(0, model.openSequences());
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
