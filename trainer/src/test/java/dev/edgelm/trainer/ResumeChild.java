package dev.edgelm.trainer;

import dev.edgelm.compressor.packaging.PackageReader;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The process {@link DistillResumeTest} kills: runs {@link DistillResumeTest#run} and, once the
 * checkpoint named by its last argument is written, parks until it is killed (kill -9).
 */
final class ResumeChild {
  private ResumeChild() {}

  public static void main(String[] args) throws Exception {
    Path base = Path.of(args[0]);
    Path text = Path.of(args[1]);
    Path work = Path.of(args[2]);
    String parkAfter = args[3];
    DistillResumeTest.run(PackageReader.read(base), text, work, line -> {
      System.out.println(line);
      System.out.flush();
      if (line.equals(parkAfter)) {
        try {
          new CountDownLatch(1).await(); // until the test kills this process
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    System.out.println("finished without being killed");
  }
}
