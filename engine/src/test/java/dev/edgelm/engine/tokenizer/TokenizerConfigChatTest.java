package dev.edgelm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.AddedToken;
import dev.edgelm.proto.v1.ChatSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerConfigChatTest {
  @TempDir Path tmp;

  private Optional<ChatSpec> read(String json) throws IOException {
    Path f = tmp.resolve(TokenizerConfigChat.FILE);
    Files.writeString(f, json);
    return TokenizerConfigChat.read(f);
  }

  @Test
  void read_stringTemplate_tokenObjects_andTheAddedTokensTheTemplateWrites() throws IOException {
    ChatSpec chat = read("""
        {
          "add_bos_token": false,
          "bos_token": null,
          "eos_token": {"__type": "AddedToken", "content": "<|im_end|>", "lstrip": false, "special": true},
          "pad_token": "<|endoftext|>",
          "unk_token": null,
          "added_tokens_decoder": {
            "151643": {"content": "<|endoftext|>", "special": true},
            "151644": {"content": "<|im_start|>", "special": true},
            "151645": {"content": "<|im_end|>", "special": true},
            "151646": {"content": "<|object_ref_start|>", "special": true}
          },
          "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\\\n' + message['content'] + '<|im_end|>\\\\n'}}{% endfor %}"
        }
        """).orElseThrow();
    assertTrue(chat.getTemplate().startsWith("{% for message in messages %}{{'<|im_start|>'"), chat.getTemplate());
    assertTrue(chat.getTemplate().contains("+ '\\n' +"), "JSON escapes decoded once: the Jinja source keeps its own '\\n' escape");
    assertEquals("", chat.getBosToken());
    assertEquals("<|im_end|>", chat.getEosToken());
    assertEquals("<|endoftext|>", chat.getPadToken());
    assertEquals(List.of(
        AddedToken.newBuilder().setId(151643).setContent("<|endoftext|>").setSpecial(true).build(),
        AddedToken.newBuilder().setId(151644).setContent("<|im_start|>").setSpecial(true).build(),
        AddedToken.newBuilder().setId(151645).setContent("<|im_end|>").setSpecial(true).build()),
        chat.getAddedTokensList(), "<|object_ref_start|> is neither written by the template nor a special token");
  }

  @Test
  void read_namedTemplates_defaultIsTheTemplate() throws IOException {
    ChatSpec chat = read("""
        {"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}], "bos_token": "<s>"}
        """).orElseThrow();
    assertEquals("D", chat.getTemplate());
    assertEquals(Map.of("tool_use", "T"), chat.getNamedTemplatesMap());
    assertEquals("<s>", chat.getBosToken());
  }

  @Test
  void inferredDescriptor_ofAPackageFromAnotherTool_carriesTheChatSpec() throws IOException {
    Path source = SharedAssets.require("models/gpt2-fixture-onnx");
    Path dir = Files.createDirectories(tmp.resolve("exported"));
    for (String f : List.of("config.json", "model.onnx", "tokenizer.json")) {
      Files.createSymbolicLink(dir.resolve(f), source.resolve(f).toAbsolutePath());
    }
    Files.writeString(dir.resolve(TokenizerConfigChat.FILE),
        "{\"chat_template\": \"{{ messages[0]['content'] }}{{ eos_token }}\", \"eos_token\": \"<|endoftext|>\","
            + " \"added_tokens_decoder\": {\"50256\": {\"content\": \"<|endoftext|>\", \"special\": true}}}");
    ModelPackage pkg = ModelPackage.open(dir);
    assertTrue(pkg.descriptorInferred());
    ChatSpec chat = pkg.descriptor().getTokenizer().getChat();
    assertEquals("{{ messages[0]['content'] }}{{ eos_token }}", chat.getTemplate());
    assertEquals(50256, chat.getAddedTokens(0).getId());
  }

  @Test
  void read_nothingChatNeeds_isEmpty() throws IOException {
    assertEquals(Optional.empty(), read("{\"model_max_length\": 512, \"clean_up_tokenization_spaces\": true}"));
  }

  @Test
  void read_wrongTypes_areOneLinePackageErrors() throws IOException {
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> read("{\"chat_template\": 3}"));
    assertTrue(e.getMessage().endsWith("chat_template is neither a string nor a list of named templates"), e.getMessage());
    e = assertThrows(ModelPackageException.class, () -> read("{\"eos_token\": [1]}"));
    assertTrue(e.getMessage().endsWith("eos_token is neither a string nor a token object with 'content'"), e.getMessage());
    e = assertThrows(ModelPackageException.class, () -> read("{\"chat_template\": "));
    assertTrue(e.getMessage().contains("is not valid JSON") && e.getMessage().lines().count() == 1, e.getMessage());
  }
}
