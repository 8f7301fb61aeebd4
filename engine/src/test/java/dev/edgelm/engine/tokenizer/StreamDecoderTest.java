package dev.edgelm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgelm.engine.testing.SharedTokenizers;
import dev.edgelm.engine.testing.StreamDecoding;
import dev.edgelm.engine.testing.VocabTestVectors;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StreamDecoderTest {
  /** Llama 2 byte-fallback piece of {@code b}. */
  private static int byteToken(int b) {
    return 3 + b;
  }

  private static List<String> pushAll(StreamDecoder decoder, int... ids) {
    List<String> emitted = new ArrayList<>();
    for (int id : ids) {
      emitted.add(decoder.push(id));
    }
    return emitted;
  }

  @Test
  void push_emojiSplitAcrossByteTokens_emitsOnlyWhenComplete() {
    StreamDecoder decoder = SharedTokenizers.llama2().newStreamDecoder();

    assertEquals(List.of(" ", "", "", "", "🦙", "."), pushAll(decoder, 29871, 243, 162, 169, 156, 29889));
    assertEquals("", decoder.flush());
  }

  @Test
  void push_gpt2ByteLevelPartialCharacters_waitsForCompleteCharacter() {
    // GPT-2 spells 🦙 as "ĠðŁ" (space + F0 9F), "¦" (A6), "Ļ" (99).
    StreamDecoder decoder = SharedTokenizers.gpt2().newStreamDecoder();

    assertEquals(List.of("", " this", " is", " ", "", "🦙", "."), pushAll(decoder, 50256, 428, 318, 12520, 99, 247, 13));
  }

  @Test
  void push_invalidBytes_replacedOnceWithoutDroppingText() {
    StreamDecoder decoder = SharedTokenizers.llama2().newStreamDecoder();

    // 0xE2 may start a 3-byte character, so it waits; "A" proves it never will.
    assertEquals(List.of("", "\uFFFDA"), pushAll(decoder, byteToken(0xE2), byteToken('A')));
    // 0xFF can never appear in UTF-8: replaced at once.
    assertEquals(List.of("\uFFFD"), pushAll(decoder, byteToken(0xFF)));
    // A lone continuation byte, then a valid two-byte character.
    assertEquals(List.of("\uFFFD", "", "é"), pushAll(decoder, byteToken(0x80), byteToken(0xC3), byteToken(0xA9)));
  }

  @Test
  void flush_incompleteSequence_replacesIt_andDecoderContinues() {
    StreamDecoder decoder = SharedTokenizers.llama2().newStreamDecoder();

    assertEquals(List.of("", ""), pushAll(decoder, byteToken(0xF0), byteToken(0x9F)));
    assertEquals("\uFFFD", decoder.flush());
    assertEquals(" Hello", decoder.push(15043));
    assertEquals("", decoder.flush());
  }

  @Test
  void push_continuationAfterPrompt_keepsLeadingSpace() {
    Tokenizer llama = SharedTokenizers.llama2();
    int[] continuation = {3186}; // "▁world", generated after a prompt "Hello"
    StreamDecoder decoder = llama.newStreamDecoder();

    assertEquals(" world", decoder.push(continuation[0]));
    assertEquals("world", llama.decode(continuation)); // decode() treats it as the start of a text
  }

  @Test
  void push_specialTokens_emitNothing() {
    StreamDecoder decoder = SharedTokenizers.llama2().newStreamDecoder();

    assertEquals(List.of("", " Hello", ""), pushAll(decoder, 1, 15043, 2));
  }

  @Test
  void push_llamaCppVectors_concatenationEqualsFullDecode() {
    for (VocabTestVectors.Vector v : VocabTestVectors.load("ggml-vocab-gpt-2.gguf")) {
      assertEquals(v.text(), StreamDecoding.decodeAll(SharedTokenizers.gpt2(), v.ids()), v.toString());
    }
    for (VocabTestVectors.Vector v : VocabTestVectors.load("ggml-vocab-llama-spm.gguf")) {
      // The stream keeps the dummy-prefix space that decode() removes.
      assertEquals(v.text().isEmpty() ? "" : " " + v.text(), StreamDecoding.decodeAll(SharedTokenizers.llama2(), v.ids()), v.toString());
    }
  }

  @Test
  void push_randomByteTokenSequences_matchWholeSequenceUtf8Decoding() {
    Tokenizer llama = SharedTokenizers.llama2();
    Tokenizer gpt2 = SharedTokenizers.gpt2();
    Random random = new Random(20240611);
    int[] interesting = {0x41, 0x20, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xED, 0xA0, 0xF0, 0x9F, 0x98, 0x80, 0xF4, 0x90, 0xFF};
    for (int round = 0; round < 2000; round++) {
      int[] ids = new int[1 + random.nextInt(12)];
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      for (int i = 0; i < ids.length; i++) {
        int b = random.nextBoolean() ? interesting[random.nextInt(interesting.length)] : random.nextInt(256);
        ids[i] = byteToken(b);
        bytes.write(b);
      }
      String expected = new String(bytes.toByteArray(), StandardCharsets.UTF_8);

      assertEquals(expected, StreamDecoding.decodeAll(llama, ids), () -> java.util.Arrays.toString(ids));
      if (!expected.startsWith(" ")) {
        assertEquals(expected, llama.decode(ids));
      }
      int[] gpt2Ids = gpt2.encode(expected);
      assertEquals(StreamDecoding.decodeAll(gpt2, gpt2Ids), gpt2.decode(gpt2Ids));
    }
  }
}
