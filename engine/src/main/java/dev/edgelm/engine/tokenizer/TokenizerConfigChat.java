package dev.edgelm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.proto.v1.AddedToken;
import dev.edgelm.proto.v1.ChatSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads what chat needs from a Hugging Face {@code tokenizer_config.json}: {@code chat_template}
 * (a string, or a list of {@code {"name", "template"}} of which "default" is the template), the
 * special tokens {@code bos_token}/{@code eos_token}/{@code unk_token}/{@code pad_token} (a string or
 * an AddedToken object with {@code content}), and of {@code added_tokens_decoder} those tokens the
 * templates or the special tokens write. {@link Tokenizers#detect} puts the result in the tokenizer
 * spec ({@code tokenizer.chat} of {@code variant.json}), so the importer carries it into every
 * package made from the checkpoint, and packages written by other tools get it when their
 * descriptor is inferred; {@code dev.edgelm.engine.chat.ChatTemplate} renders it.
 */
public final class TokenizerConfigChat {
  public static final String FILE = "tokenizer_config.json";

  private TokenizerConfigChat() {}

  /**
   * @return the chat spec, or empty when the file has neither a chat template nor special tokens
   * @throws ModelPackageException when the file is not JSON or a field has the wrong type
   */
  public static Optional<ChatSpec> read(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelPackageException(file + " is not valid JSON: " + firstLine(e.getMessage()) + "; fix or remove it", e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelPackageException(file + " is not a JSON object; fix or remove it");
    }
    ChatSpec.Builder chat = ChatSpec.newBuilder();
    JsonNode template = root.path("chat_template");
    if (template.isTextual()) {
      chat.setTemplate(template.asText());
    } else if (template.isArray()) {
      for (JsonNode named : template) {
        JsonNode name = named.path("name");
        JsonNode text = named.path("template");
        if (!name.isTextual() || !text.isTextual()) {
          throw new ModelPackageException(file + ": each entry of chat_template needs a string 'name' and 'template'");
        }
        if (name.asText().equals("default")) {
          chat.setTemplate(text.asText());
        } else {
          chat.putNamedTemplates(name.asText(), text.asText());
        }
      }
    } else if (!template.isMissingNode() && !template.isNull()) {
      throw new ModelPackageException(file + ": chat_template is neither a string nor a list of named templates");
    }
    chat.setBosToken(token(file, root, "bos_token"))
        .setEosToken(token(file, root, "eos_token"))
        .setUnkToken(token(file, root, "unk_token"))
        .setPadToken(token(file, root, "pad_token"));

    List<String> written = new ArrayList<>();
    written.add(chat.getTemplate());
    written.addAll(chat.getNamedTemplatesMap().values());
    List<String> specials = List.of(chat.getBosToken(), chat.getEosToken(), chat.getUnkToken(), chat.getPadToken());
    JsonNode decoder = root.path("added_tokens_decoder");
    for (Iterator<Map.Entry<String, JsonNode>> it = decoder.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String content = e.getValue().path("content").asText("");
      int id;
      try {
        id = Integer.parseInt(e.getKey());
      } catch (NumberFormatException ex) {
        throw new ModelPackageException(file + ": added_tokens_decoder key '" + e.getKey() + "' is not a token id");
      }
      boolean used = !content.isEmpty() && (specials.contains(content) || written.stream().anyMatch(t -> t.contains(content)));
      if (used) {
        chat.addAddedTokens(AddedToken.newBuilder().setId(id).setContent(content).setSpecial(e.getValue().path("special").asBoolean(false)));
      }
    }
    ChatSpec spec = chat.build();
    return spec.equals(ChatSpec.getDefaultInstance()) ? Optional.empty() : Optional.of(spec);
  }

  private static String token(Path file, JsonNode root, String key) {
    JsonNode t = root.path(key);
    if (t.isMissingNode() || t.isNull()) {
      return "";
    }
    if (t.isTextual()) {
      return t.asText();
    }
    if (t.path("content").isTextual()) {
      return t.path("content").asText();
    }
    throw new ModelPackageException(file + ": " + key + " is neither a string nor a token object with 'content'");
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
