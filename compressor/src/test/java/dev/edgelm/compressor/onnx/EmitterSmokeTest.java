package dev.edgelm.compressor.onnx;

import ai.onnxruntime.*;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.engine.testing.SharedAssets;
import java.nio.file.*;
import java.util.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmitterSmokeTest {
  @TempDir Path tmp;

  @Test void stories() throws Exception { run("models/stories260K/stories260K.bin", "reference/stories260K.json"); }
  @Test void storiesHf() throws Exception { run("models/stories260K-hf", "reference/stories260K.json"); }
  @Test void gpt2() throws Exception { run("models/gpt2-fixture", "reference/gpt2-fixture.json"); }

  void run(String model, String ref) throws Exception {
    var w = CheckpointImporter.readWeights(SharedAssets.require(model));
    var e = DecoderEmitter.emit(w.ir());
    Path f = tmp.resolve("model.onnx");
    OnnxModelWriter.write(e.graph(), f, OnnxModelWriter.Options.defaults("test"));
    var env = OrtEnvironment.getEnvironment();
    try (var s = env.createSession(f.toString(), new OrtSession.SessionOptions())) {
      JsonNode r = new ObjectMapper().readTree(SharedAssets.require(ref).toFile());
      for (JsonNode c : r.get("cases")) {
        long[] ids = new long[c.get("prompt_ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = c.get("prompt_ids").get(i).asLong();
        var cfg = w.ir().config();
        Map<String, OnnxTensor> in = new HashMap<>();
        in.put("input_ids", OnnxTensor.createTensor(env, new long[][] {ids}));
        long[] mask = new long[ids.length]; Arrays.fill(mask, 1);
        long[] pos = new long[ids.length]; for (int i = 0; i < pos.length; i++) pos[i] = i;
        in.put("attention_mask", OnnxTensor.createTensor(env, new long[][] {mask}));
        in.put("position_ids", OnnxTensor.createTensor(env, new long[][] {pos}));
        for (int l = 0; l < cfg.numLayers(); l++) {
          for (String kv : new String[] {"key", "value"})
            in.put("past_key_values." + l + "." + kv, OnnxTensor.createTensor(env, java.nio.FloatBuffer.allocate(0), new long[] {1, cfg.numKvHeads(), 0, cfg.headDim()}));
        }
        try (var res = s.run(in)) {
          float[][][] logits = (float[][][]) res.get("logits").get().getValue();
          double maxErr = 0;
          JsonNode top = c.get("top5_logits_per_prompt_position");
          for (int p = 0; p < ids.length; p++) for (JsonNode pair : top.get(p))
            maxErr = Math.max(maxErr, Math.abs(logits[0][p][pair.get(0).asInt()] - pair.get(1).asDouble()));
          System.out.println(model + " '" + c.get("prompt").asText() + "' max err " + maxErr);
          if (maxErr > 1e-3) throw new AssertionError("max err " + maxErr);
        }
      }
    }
  }
}
