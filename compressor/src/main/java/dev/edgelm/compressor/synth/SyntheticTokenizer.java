package dev.edgelm.compressor.synth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Invents a tokenizer of an exact vocabulary size for synthesized checkpoints, so that
 * {@code synth} needs no downloaded vocabulary: byte-pair merges are learned from a short text
 * bundled with edgelm, and the rest of the vocabulary is filled with seeded random merges of
 * existing tokens. The result is a valid tokenizer of the family's kind (GPT-2 byte-level BPE as
 * {@code vocab.json} + {@code merges.txt}; SentencePiece-style BPE as a llama2.c
 * {@code tokenizer.bin}), but it is not a real model's vocabulary.
 */
final class SyntheticTokenizer {
  private static final Pattern GPT2_SPLIT = Pattern.compile(
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

  private SyntheticTokenizer() {}

  /** Writes {@code vocab.json} and {@code merges.txt} with exactly {@code vocabSize} entries (the last is {@code <|endoftext|>}). */
  static void writeGpt2(Path dir, int vocabSize, long seed) throws IOException {
    String[] byteChars = bytesToUnicode();
    List<String> vocab = new ArrayList<>(List.of(byteChars));
    Map<List<String>, Integer> words = new LinkedHashMap<>();
    Matcher m = GPT2_SPLIT.matcher(trainingText());
    while (m.find()) {
      byte[] bytes = m.group().getBytes(StandardCharsets.UTF_8);
      List<String> symbols = new ArrayList<>();
      for (byte b : bytes) {
        symbols.add(byteChars[b & 0xff]);
      }
      words.merge(symbols, 1, Integer::sum);
    }
    List<String[]> merges = learnMerges(words, vocab, vocabSize - 1, seed);
    ObjectNode json = new ObjectMapper().createObjectNode();
    for (int i = 0; i < vocab.size(); i++) {
      json.put(vocab.get(i), i);
    }
    json.put("<|endoftext|>", vocab.size());
    Files.writeString(dir.resolve("vocab.json"), new ObjectMapper().writeValueAsString(json));
    StringBuilder sb = new StringBuilder("#version: 0.2\n");
    for (String[] pair : merges) {
      sb.append(pair[0]).append(' ').append(pair[1]).append('\n');
    }
    Files.writeString(dir.resolve("merges.txt"), sb.toString());
  }

  /**
   * Writes a llama2.c {@code tokenizer.bin}: {@code <unk>}, {@code <s>}, {@code </s>}, the 256
   * byte-fallback pieces, the characters of the training text, then merged pieces scored so that
   * earlier merges win, up to exactly {@code vocabSize} pieces.
   */
  static void writeLlama2c(Path file, int vocabSize, long seed) throws IOException {
    List<String> vocab = new ArrayList<>(List.of("<unk>", "\n<s>\n", "\n</s>\n"));
    for (int b = 0; b < 256; b++) {
      vocab.add(String.format("<0x%02X>", b));
    }
    int firstPiece = vocab.size();
    Map<List<String>, Integer> words = new LinkedHashMap<>();
    LinkedHashSet<String> chars = new LinkedHashSet<>();
    for (String word : (" " + trainingText().replaceAll("\\s+", " ").trim()).split("(?= )")) {
      List<String> symbols = new ArrayList<>();
      word.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
      chars.addAll(symbols);
      words.merge(symbols, 1, Integer::sum);
    }
    vocab.addAll(chars);
    learnMerges(words, vocab, vocabSize, seed);
    List<byte[]> pieces = new ArrayList<>();
    int maxLen = 0;
    for (String v : vocab) {
      byte[] b = v.getBytes(StandardCharsets.UTF_8);
      pieces.add(b);
      maxLen = Math.max(maxLen, b.length);
    }
    ByteBuffer out = ByteBuffer.allocate(4 + pieces.stream().mapToInt(p -> 8 + p.length).sum()).order(ByteOrder.LITTLE_ENDIAN);
    out.putInt(maxLen);
    for (int i = 0; i < pieces.size(); i++) {
      float score = i < firstPiece ? 0f : -(i - firstPiece);
      out.putFloat(score).putInt(pieces.get(i).length).put(pieces.get(i));
    }
    Files.write(file, out.array());
  }

  /**
   * Classic BPE training: repeatedly merge the most frequent adjacent pair (ties by text order)
   * while a pair occurs at least twice, then add seeded random merges of existing tokens until the
   * vocabulary has {@code target} entries. Appends new tokens to {@code vocab}.
   */
  private static List<String[]> learnMerges(Map<List<String>, Integer> words, List<String> vocab, int target, long seed) {
    List<String[]> merges = new ArrayList<>();
    java.util.Set<String> known = new java.util.HashSet<>(vocab);
    List<List<String>> wordList = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    words.forEach((w, c) -> {
      wordList.add(new ArrayList<>(w));
      counts.add(c);
    });
    while (vocab.size() < target) {
      Map<String, Integer> pairCounts = new HashMap<>();
      for (int i = 0; i < wordList.size(); i++) {
        List<String> w = wordList.get(i);
        for (int j = 0; j + 1 < w.size(); j++) {
          pairCounts.merge(w.get(j) + "\u0000" + w.get(j + 1), counts.get(i), Integer::sum);
        }
      }
      String best = null;
      int bestCount = 1;
      for (Map.Entry<String, Integer> e : pairCounts.entrySet()) {
        if (e.getValue() > bestCount || (e.getValue() == bestCount && best != null && e.getKey().compareTo(best) < 0)) {
          if (!known.contains(e.getKey().replace("\u0000", ""))) {
            best = e.getKey();
            bestCount = e.getValue();
          }
        }
      }
      if (best == null) {
        break;
      }
      String[] pair = best.split("\u0000", 2);
      String merged = pair[0] + pair[1];
      merges.add(pair);
      vocab.add(merged);
      known.add(merged);
      for (List<String> w : wordList) {
        for (int j = 0; j + 1 < w.size(); j++) {
          if (w.get(j).equals(pair[0]) && w.get(j + 1).equals(pair[1])) {
            w.set(j, merged);
            w.remove(j + 1);
          }
        }
      }
    }
    SplittableRandom random = new SplittableRandom(seed);
    int pool = vocab.size();
    while (vocab.size() < target) {
      String a = vocab.get(random.nextInt(Math.min(pool, vocab.size())));
      String b = vocab.get(random.nextInt(vocab.size()));
      String merged = a + b;
      if (a.startsWith("<") || b.startsWith("<") || a.startsWith("\n") || b.startsWith("\n") || known.contains(merged)) {
        continue;
      }
      merges.add(new String[] {a, b});
      vocab.add(merged);
      known.add(merged);
    }
    return merges;
  }

  /** GPT-2's reversible byte → printable character table. */
  static String[] bytesToUnicode() {
    String[] out = new String[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      out[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + n++));
    }
    return out;
  }

  private static String trainingText() {
    try (InputStream in = SyntheticTokenizer.class.getResourceAsStream("tokenizer-training.txt")) {
      if (in == null) {
        throw new IllegalStateException("tokenizer-training.txt is missing from the edgelm build");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
