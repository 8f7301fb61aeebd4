package dev.edgelm.compressor.ir;

import dev.edgelm.proto.v1.Architecture;

/**
 * Shape and hyper-parameters of a decoder.
 *
 * @param contextLength longest sequence (prompt + output) the model supports
 * @param headDim per-head width; {@code numHeads * headDim} need not equal {@code hiddenSize}
 * @param activation {@code gelu_new} (GPT-2) or {@code silu} (Llama SwiGLU)
 */
public record ModelConfig(
    Family family,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int contextLength,
    float normEps,
    float ropeTheta,
    boolean tiedEmbeddings,
    String activation) {

  public ModelConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_layers", numLayers);
    positive("num_heads", numHeads);
    positive("num_kv_heads", numKvHeads);
    positive("head_dim", headDim);
    positive("context_length", contextLength);
    if (numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException(
          "num_heads " + numHeads + " is not a multiple of num_kv_heads " + numKvHeads);
    }
    if (family == Family.LLAMA && headDim % 2 != 0) {
      throw new IllegalArgumentException("head_dim " + headDim + " must be even for rotary positions");
    }
    if (!(normEps > 0)) {
      throw new IllegalArgumentException("norm epsilon must be positive, got " + normEps);
    }
  }

  private static void positive(String key, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(key + " must be positive, got " + value);
    }
  }

  /** Width of the query projection, {@code numHeads * headDim}. */
  public int queryWidth() {
    return numHeads * headDim;
  }

  /** Width of the key (and value) projection, {@code numKvHeads * headDim}. */
  public int kvWidth() {
    return numKvHeads * headDim;
  }

  /** Bytes one token of context adds to the fp32 KV cache across all layers. */
  public long kvCacheBytesPerToken() {
    return 2L * numLayers * kvWidth() * Float.BYTES;
  }

  public ModelConfig withTiedEmbeddings(boolean tied) {
    return new ModelConfig(family, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads,
        numKvHeads, headDim, contextLength, normEps, ropeTheta, tied, activation);
  }

  /**
   * The configuration a descriptor records ({@link #toProto()} read back).
   *
   * @throws IllegalArgumentException when the family is unknown or a dimension is out of range
   */
  public static ModelConfig fromProto(Architecture a) {
    return new ModelConfig(Family.fromId(a.getFamily()), a.getVocabSize(), a.getHiddenSize(), a.getIntermediateSize(),
        a.getNumLayers(), a.getNumHeads(), a.getNumKvHeads(), a.getHeadDim(), a.getContextLength(), a.getNormEps(),
        a.getRopeTheta(), a.getTiedEmbeddings(), a.getActivation());
  }

  public Architecture toProto() {
    return Architecture.newBuilder()
        .setFamily(family.id())
        .setVocabSize(vocabSize)
        .setHiddenSize(hiddenSize)
        .setIntermediateSize(intermediateSize)
        .setNumLayers(numLayers)
        .setNumHeads(numHeads)
        .setNumKvHeads(numKvHeads)
        .setHeadDim(headDim)
        .setContextLength(contextLength)
        .setNormEps(normEps)
        .setRopeTheta(family == Family.LLAMA ? ropeTheta : 0f)
        .setTiedEmbeddings(tiedEmbeddings)
        .setActivation(activation)
        .build();
  }
}
