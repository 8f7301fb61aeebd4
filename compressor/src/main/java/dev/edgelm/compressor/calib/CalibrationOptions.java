package dev.edgelm.compressor.calib;

import dev.edgelm.compressor.UsageException;

/**
 * How much calibration text is run through the base model, and how.
 *
 * @param sequences most sequences taken from the text ({@link CalibrationText} spreads them evenly over it)
 * @param sequenceLength tokens per sequence, BOS included when the tokenizer adds one (capped at the model's context)
 * @param sampleRows activation rows kept per linear input for algorithms that measure output error on samples
 * @param batchSize sequences per ONNX Runtime call
 * @param threads ONNX Runtime intra-op threads (and worker threads of the algorithms that use this calibration)
 * @param seed seed of the row sample
 */
public record CalibrationOptions(int sequences, int sequenceLength, int sampleRows, int batchSize, int threads, long seed) {
  public static final int DEFAULT_SEQUENCES = 128;
  public static final int DEFAULT_SEQUENCE_LENGTH = 256;
  public static final int DEFAULT_SAMPLE_ROWS = 512;
  public static final int DEFAULT_BATCH_SIZE = 8;

  public static final CalibrationOptions DEFAULTS = new CalibrationOptions(DEFAULT_SEQUENCES, DEFAULT_SEQUENCE_LENGTH,
      DEFAULT_SAMPLE_ROWS, DEFAULT_BATCH_SIZE, Runtime.getRuntime().availableProcessors(), 0L);

  /** @throws UsageException naming the option that is out of range */
  public CalibrationOptions {
    atLeast("calibration sequences", sequences, 1);
    atLeast("calibration sequence length", sequenceLength, 2);
    atLeast("calibration sample rows", sampleRows, 1);
    atLeast("calibration batch size", batchSize, 1);
    atLeast("calibration threads", threads, 1);
  }

  private static void atLeast(String what, int value, int min) {
    if (value < min) {
      throw new UsageException(what + " must be at least " + min + ", got " + value);
    }
  }

  public CalibrationOptions withSequences(int n) {
    return new CalibrationOptions(n, sequenceLength, sampleRows, batchSize, threads, seed);
  }

  public CalibrationOptions withSequenceLength(int n) {
    return new CalibrationOptions(sequences, n, sampleRows, batchSize, threads, seed);
  }

  public CalibrationOptions withSampleRows(int n) {
    return new CalibrationOptions(sequences, sequenceLength, n, batchSize, threads, seed);
  }

  public CalibrationOptions withThreads(int n) {
    return new CalibrationOptions(sequences, sequenceLength, sampleRows, batchSize, n, seed);
  }
}
