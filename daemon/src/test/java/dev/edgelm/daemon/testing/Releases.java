package dev.edgelm.daemon.testing;

import dev.edgelm.hub.Digest;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.SignatureCheck;
import dev.edgelm.hub.VariantEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Release indexes for selection tests, built from index-entry annotations as {@code edgelm publish}
 * writes them (no registry needed: selection reads nothing else).
 *
 * <p>{@link #gpt2Small()} is shaped like a 124M-parameter model compressed the ways edgelm does:
 * fp32, int8 (DynamicQuantizeMatMul), int4 with 32-input groups and accuracy level 4 (MatMulNBits),
 * an int4 with 128-input groups that lost too much quality and is built for avx2 hosts, and an fp16
 * variant for CUDA.
 */
public final class Releases {
  private Releases() {}

  /** One index entry. */
  public static final class Entry {
    private final String id;
    private final Map<String, String> a = new LinkedHashMap<>();
    private OptionalDouble ratio = OptionalDouble.empty();
    private List<String> ops = List.of("ai.onnx:MatMul", "ai.onnx:Gather", "ai.onnx:Softmax");
    private List<String> cpu = List.of();
    private List<String> eps = List.of();
    private long weights;
    private long kv;

    Entry(String id, String method) {
      this.id = id;
      a.put(HubFormat.VARIANT_ID, id);
      a.put(HubFormat.METHOD, method);
      a.put(HubFormat.CONTEXT_LENGTH, "1024");
      a.put(HubFormat.OPSET, "17");
    }

    public Entry weights(long bytes, long kvPerToken) {
      weights = bytes;
      kv = kvPerToken;
      return this;
    }

    public Entry ratio(double r) {
      ratio = OptionalDouble.of(r);
      a.put(HubFormat.PERPLEXITY_RATIO, Double.toString(r));
      return this;
    }

    public Entry ops(String... o) {
      ops = List.of(o);
      return this;
    }

    public Entry params(String p) {
      a.put(HubFormat.METHOD_PARAMS, p);
      return this;
    }

    /** The structured chain annotation (proto3 JSON of a MethodChain), as releases since chains carry it. */
    public Entry chain(String json) {
      a.put(HubFormat.CHAIN, json);
      return this;
    }

    public Entry requiresCpu(String... f) {
      cpu = List.of(f);
      return this;
    }

    public Entry requiresEp(String... e) {
      eps = List.of(e);
      return this;
    }

    public Entry minOnnxRuntime(String v) {
      a.put(HubFormat.MIN_ONNXRUNTIME_VERSION, v);
      return this;
    }

    public Entry context(int tokens) {
      a.put(HubFormat.CONTEXT_LENGTH, Integer.toString(tokens));
      return this;
    }

    VariantEntry build() {
      return new VariantEntry(id, Digest.of(id.getBytes(StandardCharsets.UTF_8)), 900, a.get(HubFormat.METHOD), weights / 4, weights, kv,
          weights + 2_000_000, ratio, ops, cpu, List.of(), eps, a);
    }
  }

  public static Entry variant(String id, String method) {
    return new Entry(id, method);
  }

  public static Release release(String reference, Entry... entries) {
    List<VariantEntry> v = new ArrayList<>();
    for (Entry e : entries) {
      v.add(e.build());
    }
    return new Release(Reference.parse(reference), Digest.of(reference.getBytes(StandardCharsets.UTF_8)), "test", Map.of(), v,
        new SignatureCheck(SignatureCheck.Status.NOT_CHECKED, null, "not checked"), false);
  }

  /** KV bytes per token of a GPT-2 small: 12 layers x (key + value) x 768 x 4 bytes. */
  public static final long GPT2_KV = 12L * 2 * 768 * 4;

  public static Release gpt2Small() {
    return release("registry.test:5000/models/gpt2-small:stable",
        variant("fp32", "fp32").weights(497_000_000L, GPT2_KV),
        variant("int8", "int8").weights(125_000_000L, GPT2_KV).ratio(1.004)
            .ops("ai.onnx:MatMul", "ai.onnx:Gather", "com.microsoft:DynamicQuantizeMatMul").params("algo=rtn,weights=symmetric per output channel"),
        variant("int4-g32", "int4").weights(85_000_000L, GPT2_KV).ratio(1.045)
            .ops("ai.onnx:MatMul", "com.microsoft:MatMulNBits", "com.microsoft:GatherBlockQuantized")
            .params("accuracy_level=4,algo=gptq,embedding=int4, one copy shared by the lookup and the tied head,group_size=32"),
        variant("int4-g128", "int4").weights(70_000_000L, GPT2_KV).ratio(1.31).requiresCpu("avx2")
            .ops("ai.onnx:MatMul", "com.microsoft:MatMulNBits").params("accuracy_level=4,algo=rtn,group_size=128"),
        variant("fp16-cuda", "fp16").weights(250_000_000L, GPT2_KV / 2).ratio(1.0).requiresEp("CUDAExecutionProvider")
            .minOnnxRuntime("1.17").ops("ai.onnx:MatMul", "com.microsoft:GroupQueryAttention"));
  }
}
