package dev.edgelm.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A model package loaded into one ONNX Runtime session: the {@link LanguageModel} the daemon serves.
 *
 * <p>The session's inputs and outputs are discovered at load (number of layers from the
 * {@code past_key_values.{i}.key} inputs, KV heads and head dim from their shapes, whether the
 * graph takes {@code attention_mask}, {@code position_ids} and {@code logits_to_keep}, and whether
 * its cache is a shared in-place buffer, GroupQueryAttention's {@code seqlens_k}) and checked
 * against the package's descriptor. A shared-buffer graph's sequences take their cache rows from
 * one {@link KvPool} per model.
 *
 * <p>Threading: thread-safe. One session serves any number of concurrent {@link Sequence}s (ORT's
 * {@code run} is thread-safe); each sequence is driven by one thread at a time. {@link #close()}
 * may be called while sequences are still open: the session is released when the last of them
 * closes, so a cache may evict a model that is still generating. After {@code close()},
 * {@link #newSequence()} throws {@link IllegalStateException}.
 *
 * <p>Errors: {@link #load} throws {@link ModelPackageException} when the graph does not follow the
 * decoder convention or ORT cannot load it, and {@link RuntimeFailureException} when the requested
 * execution provider is not available.
 */
public final class DecoderModel implements LanguageModel, AutoCloseable {
  private final ModelPackage pkg;
  private final Tokenizer tokenizer;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final DecoderIo io;
  private final int contextLength;
  private final OnnxTensor[] emptyPast;
  /** KV rows for a shared-buffer (GroupQueryAttention) graph; null for a concatenating one. */
  private final KvPool kvPool;

  private final Object lifecycle = new Object();
  private int openSequences;
  private boolean closing;
  private boolean released;

  private DecoderModel(ModelPackage pkg, Tokenizer tokenizer, OrtEnvironment env, OrtSession session, DecoderIo io,
      int contextLength, OnnxTensor[] emptyPast) {
    this.pkg = pkg;
    this.tokenizer = tokenizer;
    this.env = env;
    this.session = session;
    this.io = io;
    this.contextLength = contextLength;
    this.emptyPast = emptyPast;
    this.kvPool = io.sharedKv() ? new KvPool(env, io.kvHeads(), io.kvCapacity(), io.headDim()) : null;
  }

  /**
   * Loads {@code pkg}: its tokenizer, then a new ONNX Runtime session over {@code model.onnx}.
   *
   * @throws ModelPackageException when the tokenizer or graph is missing, corrupt or does not
   *     follow the decoder convention
   * @throws RuntimeFailureException when the requested execution provider is not available
   */
  public static DecoderModel load(ModelPackage pkg, SessionSettings settings) {
    return load(pkg, settings, pkg.loadTokenizer());
  }

  /**
   * Loads {@code pkg} into a new session, using {@code tokenizer} instead of the package's own
   * tokenizer files (e.g. a tokenizer already in memory).
   */
  public static DecoderModel load(ModelPackage pkg, SessionSettings settings, Tokenizer tokenizer) {
    Objects.requireNonNull(pkg, "pkg");
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(tokenizer, "tokenizer");
    VariantDescriptor descriptor = pkg.descriptor();
    int context = descriptor.getArchitecture().getContextLength();
    if (context <= 0) {
      throw new ModelPackageException(pkg.dir() + ": the descriptor gives no context length");
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING);
    OrtSession session = createSession(env, pkg, settings);
    OnnxTensor[] emptyPast = null;
    try {
      DecoderIo io = DecoderIo.discover(session.getInputInfo(), session.getOutputInfo(), descriptor, pkg.dir());
      emptyPast = new OnnxTensor[io.pastNames().length];
      for (int i = 0; i < emptyPast.length; i++) {
        long[] emptyShape = {1, io.kvHeads()[i / 2], 0, io.headDim()};
        emptyPast[i] = OnnxTensor.createTensor(env, ByteBuffer.allocateDirect(0), emptyShape, io.kvType());
      }
      return new DecoderModel(pkg, tokenizer, env, session, io, context, emptyPast);
    } catch (OrtException | RuntimeException e) {
      closeQuietly(session, emptyPast);
      if (e instanceof EngineException engine) {
        throw engine;
      }
      throw new ModelPackageException("cannot inspect " + pkg.modelFile() + ": " + e.getMessage(), e);
    }
  }

  private static OrtSession createSession(OrtEnvironment env, ModelPackage pkg, SessionSettings settings) {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(settings.intraOpThreads());
      options.setInterOpNumThreads(settings.interOpThreads());
      options.setExecutionMode(settings.parallelExecution()
          ? OrtSession.SessionOptions.ExecutionMode.PARALLEL
          : OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setOptimizationLevel(switch (settings.optimization()) {
        case NONE -> OrtSession.SessionOptions.OptLevel.NO_OPT;
        case BASIC -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
        case EXTENDED -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
        case ALL -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
      });
      String spin = settings.allowSpinning() ? "1" : "0";
      options.addConfigEntry("session.intra_op.allow_spinning", spin);
      options.addConfigEntry("session.inter_op.allow_spinning", spin);
      if (settings.executionProvider().equals("cuda")) {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
          throw new RuntimeFailureException("execution provider cuda is not available in this ONNX Runtime build (available: "
              + OrtEnvironment.getAvailableProviders() + "); use the cpu provider or the onnxruntime_gpu build");
        }
        options.addCUDA();
      }
      return env.createSession(pkg.modelFile().toString(), options);
    } catch (OrtException e) {
      throw new ModelPackageException("ONNX Runtime cannot load " + pkg.modelFile() + ": " + e.getMessage(), e);
    }
  }

  @Override
  public Sequence newSequence() {
    retain();
    return new OrtSequence(this);
  }

  /**
   * Whether {@link BatchDecoder#open} accepts this model: its graph keeps the cache in shared
   * buffers and its descriptor says the batch may hold rows of different lengths
   * ({@code graph.ragged_batch}, written by edgelm's GroupQueryAttention emitter). Other packages
   * decode one sequence per call ({@link #newSequence()}).
   */
  public boolean supportsBatchedDecode() {
    return io.sharedKv() && io.positionIds() && io.logitsToKeep() && pkg.descriptor().getGraph().getRaggedBatch();
  }

  /** Counts one more user of the session (a sequence or a batch); each calls {@link #sequenceClosed()} once. */
  void retain() {
    synchronized (lifecycle) {
      if (closing) {
        throw new IllegalStateException("model " + pkg.dir() + " is closed");
      }
      openSequences++;
    }
  }

  /** Called once by each sequence (or batch) as it closes. */
  void sequenceClosed() {
    synchronized (lifecycle) {
      openSequences--;
      if (closing && openSequences == 0) {
        release();
      }
    }
  }

  /** Closes the session now, or when the last open sequence closes. Idempotent. */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closing) {
        return;
      }
      closing = true;
      if (openSequences == 0) {
        release();
      }
    }
  }

  private void release() {
    if (!released) {
      released = true;
      if (kvPool != null) {
        kvPool.close();
      }
      closeQuietly(session, emptyPast);
    }
  }

  private static void closeQuietly(OrtSession session, OnnxTensor[] tensors) {
    if (tensors != null) {
      for (OnnxTensor t : tensors) {
        if (t != null) {
          t.close();
        }
      }
    }
    try {
      session.close();
    } catch (OrtException e) {
      // Nothing to do: the session is unusable either way and its memory is ORT's to reclaim.
    }
  }

  @Override
  public int contextLength() {
    return contextLength;
  }

  @Override
  public int vocabSize() {
    return io.vocabSize();
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  public VariantDescriptor descriptor() {
    return pkg.descriptor();
  }

  public ModelPackage modelPackage() {
    return pkg;
  }

  /** Transformer layers (pairs of past key/value inputs). */
  public int layers() {
    return io.layers();
  }

  /**
   * Estimated bytes this model keeps resident while loaded, for a cache's weigher: the weights as
   * stored in the package. KV caches are per sequence and not included.
   */
  public long residentBytes() {
    return pkg.weightBytes();
  }

  /** Bytes one token of context adds to a sequence's KV cache (all layers, keys and values). */
  public long kvCacheBytesPerToken() {
    int elementBytes = switch (io.kvType()) {
      case FLOAT16, BFLOAT16 -> 2;
      default -> 4;
    };
    long heads = 0;
    for (int h : io.kvHeads()) {
      heads += h;
    }
    return 2L * heads * io.headDim() * elementBytes;
  }

  OrtEnvironment env() {
    return env;
  }

  OrtSession session() {
    return session;
  }

  DecoderIo io() {
    return io;
  }

  OnnxTensor[] emptyPast() {
    return emptyPast;
  }

  /** Null unless the graph keeps its cache in shared buffers. */
  KvPool kvPool() {
    return kvPool;
  }

  @Override
  public String toString() {
    return "DecoderModel[" + pkg.dir() + ", layers=" + io.layers() + ", kvHeads=" + java.util.Arrays.toString(io.kvHeads()) + ", headDim=" + io.headDim()
        + ", vocab=" + io.vocabSize() + ", context=" + contextLength + "]";
  }
}
