package dev.edgelm.trainer;

import java.nio.FloatBuffer;
import org.bytedeco.pytorch.AbstractTensor;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The one place the trainer touches libtorch's setup and copies values between Java arrays and
 * tensors. libtorch's natives come from the bytedeco jars on the class path (extracted once into
 * the JavaCPP cache, {@code ~/.javacpp/cache}); nothing is downloaded at run time.
 */
final class Torch {
  private static boolean loaded;

  private Torch() {}

  /** Loads the natives (once per process), fixes the intra-op thread count and seeds libtorch's generator. */
  static synchronized void init(int threads, long seed) {
    if (!loaded) {
      org.bytedeco.javacpp.Loader.load(torch.class);
      loaded = true;
    }
    torch.set_num_threads(Math.max(1, threads));
    torch.manual_seed(seed);
  }

  static Tensor floats(float[] values, long... shape) {
    return AbstractTensor.create(values, shape);
  }

  /** int64 indices, e.g. a permutation for {@code index_select}. */
  static Tensor indices(int[] values) {
    long[] l = new long[values.length];
    for (int i = 0; i < values.length; i++) {
      l[i] = values[i];
    }
    return AbstractTensor.create(l, l.length);
  }

  static Tensor longs(long[] values, long... shape) {
    return AbstractTensor.create(values, shape);
  }

  /** A trainable copy of {@code values}. */
  static Tensor parameter(float[] values, long... shape) {
    Tensor t = floats(values, shape);
    t.set_requires_grad(true);
    return t;
  }

  /** The values of a float tensor, row-major. */
  static float[] toFloats(Tensor t) {
    Tensor c = t.detach().contiguous();
    FloatBuffer b = c.createBuffer();
    float[] out = new float[(int) c.numel()];
    b.get(out);
    return out;
  }

  /** The values of an int64 tensor, narrowed to int. */
  static int[] toInts(Tensor t) {
    Tensor c = t.detach().contiguous();
    java.nio.LongBuffer b = c.createBuffer();
    int[] out = new int[(int) c.numel()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (int) b.get(i);
    }
    return out;
  }

  static Scalar scalar(double v) {
    return new Scalar(v);
  }
}
