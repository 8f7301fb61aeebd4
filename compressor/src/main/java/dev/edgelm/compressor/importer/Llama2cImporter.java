package dev.edgelm.compressor.importer;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a llama2.c checkpoint in the v0 ("legacy") format: a header of seven little-endian int32
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means
 * the classifier is stored separately rather than shared with the embedding) followed by fp32
 * weights in a fixed order.
 *
 * <p>llama2.c rotates interleaved pairs (2i, 2i+1) of each head; the IR uses the rotate-half
 * convention (i, i + head_dim/2), so the rows of wq and wk are permuted within each head on import,
 * as Hugging Face's own conversion does.
 */
final class Llama2cImporter {
  private static final int HEADER_BYTES = 7 * 4;

  private Llama2cImporter() {}

  static ModelIr read(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < HEADER_BYTES) {
        throw new CheckpointException(file + " is " + size + " bytes, too short for a llama2.c header (truncated?)");
      }
      ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
      ch.read(header, 0);
      header.flip();
      int dim = header.getInt();
      int hidden = header.getInt();
      int layers = header.getInt();
      int heads = header.getInt();
      int kvHeads = header.getInt();
      int signedVocab = header.getInt();
      int seqLen = header.getInt();
      boolean shared = signedVocab > 0;
      int vocab = Math.abs(signedVocab);
      if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || seqLen <= 0
          || dim % heads != 0 || heads % kvHeads != 0 || dim > 1 << 16 || layers > 1 << 10 || seqLen > 1 << 20) {
        throw new CheckpointException(file + " does not have a plausible llama2.c v0 header (dim=" + dim + " hidden="
            + hidden + " layers=" + layers + " heads=" + heads + " kv_heads=" + kvHeads + " vocab=" + signedVocab
            + " seq_len=" + seqLen + "); is it a llama2.c checkpoint?");
      }
      int headDim = dim / heads;
      int kv = kvHeads * headDim;
      long floats = (long) vocab * dim + (long) layers * dim // token table, rms_att
          + (long) layers * dim * dim + 2L * layers * dim * kv + (long) layers * dim * dim // wq, wk, wv, wo
          + (long) layers * dim + 3L * layers * dim * hidden // rms_ffn, w1, w2, w3
          + dim + (long) seqLen * headDim // rms_final, freq_cis_real + imag
          + (shared ? 0 : (long) vocab * dim);
      long expected = HEADER_BYTES + 4 * floats;
      if (size != expected) {
        throw new CheckpointException(file + " is " + size + " bytes but its header implies " + expected
            + (size < expected ? " (truncated)" : " (trailing data: not a llama2.c v0 checkpoint?)"));
      }
      FloatBuffer f = ch.map(FileChannel.MapMode.READ_ONLY, HEADER_BYTES, size - HEADER_BYTES)
          .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();

      Tensor embed = take(f, vocab, dim);
      Tensor[] rmsAtt = takeEach(f, layers, dim);
      Tensor[] wq = takeEach(f, layers, dim, dim);
      Tensor[] wk = takeEach(f, layers, kv, dim);
      Tensor[] wv = takeEach(f, layers, kv, dim);
      Tensor[] wo = takeEach(f, layers, dim, dim);
      Tensor[] rmsFfn = takeEach(f, layers, dim);
      Tensor[] w1 = takeEach(f, layers, hidden, dim);
      Tensor[] w2 = takeEach(f, layers, dim, hidden);
      Tensor[] w3 = takeEach(f, layers, hidden, dim);
      Tensor rmsFinal = take(f, dim);
      f.position(f.position() + seqLen * headDim); // freq_cis_real and _imag: recomputed by the emitter
      Linear head = shared ? null : Linear.dense(take(f, vocab, dim).transpose(), null);

      List<Block> blocks = new ArrayList<>();
      for (int i = 0; i < layers; i++) {
        Tensor qkv = Tensor.concatColumns(
            toRotateHalf(wq[i], heads, headDim).transpose(),
            toRotateHalf(wk[i], kvHeads, headDim).transpose(),
            wv[i].transpose());
        blocks.add(new Block(
            Norm.rms(rmsAtt[i]),
            Linear.dense(qkv, null),
            Linear.dense(wo[i].transpose(), null),
            Norm.rms(rmsFfn[i]),
            Linear.dense(w3[i].transpose(), null),
            Linear.dense(w1[i].transpose(), null),
            Linear.dense(w2[i].transpose(), null)));
      }
      ModelConfig config = new ModelConfig(Family.LLAMA, vocab, dim, hidden, layers, heads, kvHeads, headDim,
          seqLen, 1e-5f, 10000f, shared, "silu");
      return new ModelIr(config, new DenseEmbedding(embed), null, blocks, Norm.rms(rmsFinal), head);
    } catch (IOException e) {
      throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static Tensor take(FloatBuffer f, int... shape) {
    long n = 1;
    for (int s : shape) {
      n *= s;
    }
    float[] data = new float[Math.toIntExact(n)];
    f.get(data);
    return Tensor.of(data, shape);
  }

  private static Tensor[] takeEach(FloatBuffer f, int count, int... shape) {
    Tensor[] out = new Tensor[count];
    for (int i = 0; i < count; i++) {
      out[i] = take(f, shape);
    }
    return out;
  }

  /**
   * Reorders the rows [out, in] of a query or key projection from interleaved rotary pairs to the
   * rotate-half layout: within each head, new row {@code p·hd/2 + i} is old row {@code 2i + p}.
   */
  static Tensor toRotateHalf(Tensor w, int heads, int headDim) {
    int in = w.cols();
    float[] src = w.data();
    float[] dst = new float[src.length];
    int half = headDim / 2;
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < half; i++) {
        for (int p = 0; p < 2; p++) {
          int from = h * headDim + 2 * i + p;
          int to = h * headDim + p * half + i;
          System.arraycopy(src, from * in, dst, to * in, in);
        }
      }
    }
    return Tensor.of(dst, w.rows(), in);
  }
}
