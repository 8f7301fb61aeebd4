package dev.edgelm.compressor.synth;

import dev.edgelm.compressor.ir.Family;
import java.util.Arrays;

/** Named model shapes that {@code edgelm synth} can write with random weights. */
public enum Preset {
  /** GPT-2 small: the 124M-parameter GPT-2 dimensions. */
  GPT2_SMALL("gpt2-small", Family.GPT2, 50257, 768, 3072, 12, 12, 12, 1024),
  /** A tiny GPT-2 for tests and the quick start. */
  GPT2_TINY("gpt2-tiny", Family.GPT2, 1024, 64, 256, 2, 4, 4, 256),
  /** A small Llama: grouped-query attention (8 query heads over 4 KV heads), SwiGLU, untied head. */
  LLAMA_SMALL("llama-small", Family.LLAMA, 32000, 512, 1376, 8, 8, 4, 2048),
  /** A tiny Llama for tests and the quick start. */
  LLAMA_TINY("llama-tiny", Family.LLAMA, 512, 64, 172, 2, 8, 4, 256),
  /** llama-tiny with head size 16 (4 query heads over 2 KV heads), the smallest Llama ORT's GroupQueryAttention kernel takes. */
  LLAMA_TINY_H16("llama-tiny-h16", Family.LLAMA, 512, 64, 172, 2, 4, 2, 256);

  private final String id;
  final Family family;
  final int vocab;
  final int hidden;
  final int intermediate;
  final int layers;
  final int heads;
  final int kvHeads;
  final int context;

  Preset(String id, Family family, int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int context) {
    this.id = id;
    this.family = family;
    this.vocab = vocab;
    this.hidden = hidden;
    this.intermediate = intermediate;
    this.layers = layers;
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.context = context;
  }

  public String id() {
    return id;
  }

  public Family family() {
    return family;
  }

  public static Preset fromId(String id) {
    for (Preset p : values()) {
      if (p.id.equals(id)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown preset '" + id + "'; choose one of "
        + Arrays.stream(values()).map(Preset::id).toList());
  }
}
