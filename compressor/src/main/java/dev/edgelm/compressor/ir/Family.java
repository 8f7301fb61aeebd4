package dev.edgelm.compressor.ir;

/** Decoder architectures edgelm can import and emit. */
public enum Family {
  /** LayerNorm, learned positions, fused QKV with biases, gelu_new MLP, tied head. */
  GPT2("gpt2"),
  /** RMSNorm, rotary positions (rotate-half convention), grouped-query attention, SwiGLU MLP. */
  LLAMA("llama");

  private final String id;

  Family(String id) {
    this.id = id;
  }

  /** The name used in descriptors and HF {@code model_type}. */
  public String id() {
    return id;
  }

  public static Family fromId(String id) {
    for (Family f : values()) {
      if (f.id.equals(id)) {
        return f;
      }
    }
    throw new IllegalArgumentException("unknown family '" + id + "'");
  }
}
