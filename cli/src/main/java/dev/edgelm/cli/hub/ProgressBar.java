package dev.edgelm.cli.hub;

import dev.edgelm.proto.Units;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.Progress;
import dev.edgelm.hub.ProgressListener;
import java.io.PrintWriter;
import java.time.Duration;

/**
 * Shows a transfer on stderr: bytes, rate and ETA. On a terminal one line is redrawn in place; in a
 * log (no console) a line is printed at every tenth of the transfer, so CI logs stay short.
 */
public final class ProgressBar implements ProgressListener {
  private static final int WIDTH = 24;

  private final PrintWriter err;
  private final boolean interactive;
  private final String verb;
  private int lastTenth = -1;
  private int lastLength;

  public ProgressBar(PrintWriter err, boolean interactive, String verb) {
    this.err = err;
    this.interactive = interactive;
    this.verb = verb;
  }

  @Override
  public void started(long bytesTotal, long bytesPresent, int files) {
    String have = bytesPresent > 0 ? " (" + Units.size(bytesPresent) + " already local)" : "";
    err.println(verb + " " + files + " files, " + Units.size(bytesTotal) + have);
    err.flush();
  }

  @Override
  public void progressed(Progress p) {
    if (interactive) {
      String line = line(p);
      err.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
      lastLength = line.length();
      err.flush();
      return;
    }
    int tenth = (int) (p.fraction() * 10);
    if (tenth > lastTenth && tenth < 10) {
      lastTenth = tenth;
      err.println(line(p));
      err.flush();
    }
  }

  @Override
  public void damagedInStore(String file, Digest digest) {
    err.println("edgelm: warning: the store's copy of " + file + " (" + digest.shortHex() + ") no longer matches its digest"
        + " (damaged on disk); it was removed and is downloaded again");
    err.flush();
  }

  @Override
  public void retrying(int attempt, Duration delay, String reason) {
    if (interactive) {
      err.println();
    }
    err.println("retrying in " + Units.duration(delay) + " (attempt " + (attempt + 1) + "): " + reason);
    err.flush();
  }

  @Override
  public void finished(Progress p) {
    if (interactive) {
      err.print("\r" + line(p) + " ".repeat(Math.max(0, lastLength - line(p).length())));
      err.println();
    } else {
      err.println(line(p));
    }
    err.flush();
  }

  static String line(Progress p) {
    int filled = (int) Math.round(p.fraction() * WIDTH);
    StringBuilder b = new StringBuilder("[");
    b.append("#".repeat(filled)).append(" ".repeat(WIDTH - filled)).append("] ");
    b.append(String.format(java.util.Locale.ROOT, "%3.0f%% ", p.fraction() * 100));
    b.append(Units.size(p.bytesDone())).append('/').append(Units.size(p.bytesTotal()));
    if (p.bytesPerSecond() > 0) {
      b.append("  ").append(Units.rate(p.bytesPerSecond()));
    }
    p.eta().filter(d -> p.bytesDone() < p.bytesTotal()).ifPresent(d -> b.append("  ETA ").append(Units.duration(d)));
    if (p.file() != null) {
      b.append("  ").append(p.file());
    }
    return b.toString();
  }
}
