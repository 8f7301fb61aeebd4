package dev.edgelm.cli;

import dev.edgelm.proto.Units;
import dev.edgelm.compressor.Compressor;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.report.VariantReport;
import java.nio.file.Path;
import java.util.Locale;

/** The last line of a compression, whatever its chain: what was written, where, and how big against the base. */
final class CompressionSummary {
  private CompressionSummary() {}

  static String line(Compressor.Compressed c, Path out, double seconds) {
    long variantBytes = VariantReport.packageBytes(c.descriptor());
    long baseBytes = VariantReport.packageBytes(c.baseDescriptor());
    StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "wrote %s to %s in %.1f s: ", c.descriptor().getId(), out, seconds));
    for (StepResult r : c.steps()) {
      if (!r.summary().isEmpty()) {
        b.append(r.step().getName()).append(' ').append(r.summary()).append(", ");
      }
    }
    b.append(String.format(Locale.ROOT, "%,d parameters, %s (%.3fx the fp32 package's %s)", c.descriptor().getParameterCount(),
        Units.size(variantBytes), (double) variantBytes / baseBytes, Units.size(baseBytes)));
    return b.toString();
  }
}
