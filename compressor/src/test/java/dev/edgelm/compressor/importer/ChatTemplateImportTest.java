package dev.edgelm.compressor.importer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.compressor.Compressor;
import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.quant.Algorithm;
import dev.edgelm.compressor.quant.QuantizationOptions;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.chat.ChatMessage;
import dev.edgelm.engine.chat.ChatTemplate;
import dev.edgelm.engine.chat.SpecialTokens;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.AddedToken;
import dev.edgelm.proto.v1.ChatSpec;
import dev.edgelm.proto.v1.Method;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint's tokenizer_config.json carries its chat template and special tokens into the
 * package's variant.json, and on into variants compressed from that package. The checkpoint is
 * stories260K-hf from ../shared, linked into a directory beside a tokenizer_config.json written here.
 */
class ChatTemplateImportTest {
  @TempDir Path tmp;

  private static final String TEMPLATE = "{% for message in messages %}{% if message['role'] == 'user' %}"
      + "{{ bos_token + '[INST] ' + message['content'].strip() + ' [/INST]' }}{% else %}{{ ' ' + message['content'] + ' ' + eos_token }}"
      + "{% endif %}{% endfor %}";

  private Path checkpointWithTokenizerConfig() throws IOException {
    Path source = SharedAssets.require("models/stories260K-hf");
    Path ckpt = Files.createDirectories(tmp.resolve("stories260K-chat"));
    for (String f : List.of("config.json", "model.safetensors", "tokenizer.bin")) {
      Files.createSymbolicLink(ckpt.resolve(f), source.resolve(f).toAbsolutePath());
    }
    String json = new ObjectMapper().createObjectNode()
        .put("chat_template", TEMPLATE)
        .put("bos_token", "<s>")
        .put("unk_token", "<unk>")
        .<com.fasterxml.jackson.databind.node.ObjectNode>set("eos_token", new ObjectMapper().createObjectNode()
            .put("__type", "AddedToken").put("content", "</s>").put("special", true))
        .<com.fasterxml.jackson.databind.node.ObjectNode>set("added_tokens_decoder", new ObjectMapper().readTree(
            "{\"0\": {\"content\": \"<unk>\", \"special\": true}, \"1\": {\"content\": \"<s>\", \"special\": true},"
                + " \"2\": {\"content\": \"</s>\", \"special\": true}}"))
        .toPrettyString();
    Files.writeString(ckpt.resolve("tokenizer_config.json"), json);
    return ckpt;
  }

  @Test
  void importCheckpoint_tokenizerConfigWithChatTemplate_landsInVariantJson_andInCompressedVariants() throws IOException {
    Path ckpt = checkpointWithTokenizerConfig();
    ImportedModel m = CheckpointImporter.importCheckpoint(ckpt, null);
    Path fp32 = tmp.resolve("fp32");
    PackageWriter.write(m.ir(), m.tokenizer(),
        new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(), m.sourceDigest()), fp32, false);

    JsonNode chat = new ObjectMapper().readTree(fp32.resolve("variant.json").toFile()).path("tokenizer").path("chat");
    assertEquals(TEMPLATE, chat.path("template").asText(), "variant.json: " + chat);
    assertEquals("<s>", chat.path("bosToken").asText());
    assertEquals("</s>", chat.path("eosToken").asText());
    assertEquals("<unk>", chat.path("unkToken").asText());
    assertFalse(chat.has("padToken"), "unset tokens are left out");
    ChatSpec spec = ModelPackage.open(fp32).descriptor().getTokenizer().getChat();
    assertEquals(List.of(AddedToken.newBuilder().setId(0).setContent("<unk>").setSpecial(true).build(),
        AddedToken.newBuilder().setId(1).setContent("<s>").setSpecial(true).build(),
        AddedToken.newBuilder().setId(2).setContent("</s>").setSpecial(true).build()), spec.getAddedTokensList());
    assertFalse(Files.exists(fp32.resolve("tokenizer_config.json")), "the descriptor carries what chat needs; the file is not copied");

    Path int8 = tmp.resolve("int8");
    Compressor.compress(new VariantJob(fp32, int8, null, false, null, null),
        List.of(new dev.edgelm.compressor.Method.Quantization(QuantizationOptions.int8(Algorithm.RTN))), line -> {});
    ChatSpec inVariant = ModelPackage.open(int8).descriptor().getTokenizer().getChat();
    assertEquals(spec, inVariant, "a compressed variant keeps its base's chat spec");

    ChatTemplate t = ChatTemplate.resolve("stories260K-chat", inVariant, null, SpecialTokens.NONE, Clock.systemUTC());
    assertEquals("<s>[INST] Hi [/INST] Hello </s><s>[INST] Again [/INST]", t.render(List.of(ChatMessage.user(" Hi "),
        ChatMessage.assistant("Hello"), ChatMessage.user("Again")), true));
  }

  @Test
  void importCheckpoint_withoutTokenizerConfig_hasNoChatSpec() {
    ImportedModel m = CheckpointImporter.importCheckpoint(SharedAssets.require("models/stories260K-hf"), null);
    assertFalse(m.tokenizer().spec().hasChat(), "packages from checkpoints without tokenizer_config.json stay as they were");
  }
}
