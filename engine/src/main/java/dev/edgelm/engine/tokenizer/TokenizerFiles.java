package dev.edgelm.engine.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.engine.ModelPackageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Reads tokenizer files, turning every I/O or format problem into a one-line {@link ModelPackageException}. */
final class TokenizerFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TokenizerFiles() {}

  static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ModelPackageException("tokenizer file " + file + " is missing; re-import or re-pull the model package", e);
    } catch (IOException e) {
      throw new ModelPackageException("cannot read tokenizer file " + file + " (" + e + "); check its permissions", e);
    }
  }

  static String readUtf8(Path file) {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(read(file))).toString();
    } catch (CharacterCodingException e) {
      throw corrupt(file, "is not valid UTF-8", e);
    }
  }

  static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(read(file));
    } catch (JacksonException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw corrupt(file, "is not valid JSON" + where, e);
    } catch (IOException e) {
      throw new ModelPackageException("cannot read tokenizer file " + file + " (" + e + ")", e);
    }
  }

  /** A JSON object of {@code piece: id} (vocab.json, tokenizer.json's model.vocab), ids checked to be distinct and non-negative. */
  static Map<String, Integer> vocabulary(JsonNode node, Path file, String what) {
    if (node == null || !node.isObject() || node.isEmpty()) {
      throw corrupt(file, "has no " + what + " object of piece-to-id entries");
    }
    Map<String, Integer> vocab = new HashMap<>(node.size() * 2);
    Map<Integer, String> seen = new HashMap<>(node.size() * 2);
    for (Map.Entry<String, JsonNode> entry : node.properties()) {
      JsonNode id = entry.getValue();
      if (!id.canConvertToInt() || !id.isIntegralNumber() || id.intValue() < 0) {
        throw corrupt(file, "maps " + quote(entry.getKey()) + " in " + what + " to " + id + ", not a token id");
      }
      String other = seen.put(id.intValue(), entry.getKey());
      if (other != null) {
        throw corrupt(file, "gives id " + id.intValue() + " to both " + quote(other) + " and " + quote(entry.getKey()) + " in " + what);
      }
      vocab.put(entry.getKey(), id.intValue());
    }
    return vocab;
  }

  static ModelPackageException corrupt(Path file, String problem) {
    return corrupt(file, problem, null);
  }

  static ModelPackageException corrupt(Path file, String problem, Throwable cause) {
    return new ModelPackageException("tokenizer file " + file + " " + problem + "; re-export the tokenizer or re-pull the model package", cause);
  }

  static ModelPackageException unsupported(Path file, String problem) {
    return new ModelPackageException(
        "tokenizer file " + file + " " + problem + "; edgelm runs GPT-2 byte-level BPE and SentencePiece-style BPE tokenizers only");
  }

  /** A piece in quotes, with control characters escaped so the message stays on one line. */
  static String quote(String piece) {
    StringBuilder out = new StringBuilder("'");
    piece.codePoints().forEach(cp -> {
      if (cp < 0x20 || cp == 0x7F) {
        out.append(String.format("\\x%02X", cp));
      } else {
        out.appendCodePoint(cp);
      }
    });
    return out.append('\'').toString();
  }
}
