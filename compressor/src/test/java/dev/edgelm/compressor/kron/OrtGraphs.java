package dev.edgelm.compressor.kron;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.edgelm.compressor.onnx.GraphBuilder;
import dev.edgelm.compressor.onnx.OnnxModelWriter;
import dev.edgelm.compressor.packaging.PackageWriter;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Runs a small graph built in a test in ONNX Runtime and returns one float output. */
final class OrtGraphs {
  private OrtGraphs() {}

  /** Feeds: float[] values become fp32 tensors, long[] values int64, each with its shape. */
  record Feed(String name, Object values, long... shape) {}

  static float[] run(GraphBuilder g, String output, Feed... feeds) {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("kron-graph");
      Path model = dir.resolve("model.onnx");
      OnnxModelWriter.write(g, model, OnnxModelWriter.Options.defaults("test"));
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
        so.setIntraOpNumThreads(1);
        try (OrtSession session = env.createSession(model.toString(), so)) {
          Map<String, OnnxTensor> in = new HashMap<>();
          try {
            for (Feed f : feeds) {
              in.put(f.name(), f.values() instanceof float[] v
                  ? OnnxTensor.createTensor(env, FloatBuffer.wrap(v), f.shape())
                  : OnnxTensor.createTensor(env, LongBuffer.wrap((long[]) f.values()), f.shape()));
            }
            try (OrtSession.Result r = session.run(in)) {
              FloatBuffer fb = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
              float[] out = new float[fb.remaining()];
              fb.get(out);
              return out;
            }
          } finally {
            in.values().forEach(OnnxTensor::close);
          }
        }
      }
    } catch (IOException | OrtException e) {
      throw new IllegalStateException(e);
    } finally {
      if (dir != null) {
        PackageWriter.deleteRecursively(dir);
      }
    }
  }
}
