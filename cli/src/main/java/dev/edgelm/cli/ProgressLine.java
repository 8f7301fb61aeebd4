package dev.edgelm.cli;

import dev.edgelm.engine.ScoringProgress;
import dev.edgelm.engine.Ticker;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * How far a long scoring run is, on stderr: tokens scored of the total, the rate and the time left. On a terminal one
 * line is redrawn in place (at most every 200 ms); in a log a line is printed at each tenth, so logs stay short but a
 * six-minute evaluation is never silent. Thread-safe: scoring threads report concurrently.
 */
final class ProgressLine implements ScoringProgress {
  private static final long REDRAW_NANOS = 200_000_000L;

  private final PrintWriter err;
  private final boolean interactive;
  private final String verb;
  private final Ticker ticker;
  private final long startNanos;
  private long lastDrawNanos;
  private int lastTenth;
  private int lastLength;

  ProgressLine(PrintWriter err, boolean interactive, String verb, Ticker ticker) {
    this.err = err;
    this.interactive = interactive;
    this.verb = verb;
    this.ticker = ticker;
    this.startNanos = ticker.read();
    this.lastDrawNanos = startNanos - REDRAW_NANOS; // the first report draws
  }

  /** On the process's stderr, redrawn in place when it is a terminal. */
  static ProgressLine onStderr(PrintWriter err, String verb) {
    return new ProgressLine(err, System.console() != null, verb, Ticker.system());
  }

  @Override
  public synchronized void scored(long scored, long total) {
    long now = ticker.read();
    if (interactive) {
      if (scored < total && now - lastDrawNanos < REDRAW_NANOS) {
        return;
      }
      lastDrawNanos = now;
      String line = line(scored, total, now);
      err.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
      lastLength = line.length();
      if (scored >= total) {
        err.println();
      }
      err.flush();
      return;
    }
    int tenth = total == 0 ? 10 : (int) (scored * 10 / total);
    if (tenth > lastTenth && tenth < 10) {
      lastTenth = tenth;
      err.println(line(scored, total, now));
      err.flush();
    }
  }

  String line(long scored, long total, long now) {
    double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
    double rate = scored / seconds;
    String eta = rate > 0 && scored < total ? ", " + Durations.clock(Math.round((total - scored) / rate)) + " left" : "";
    return String.format(Locale.ROOT, "%s %,d/%,d tokens (%d%%), %,.0f tokens/s%s", verb, scored, total,
        total == 0 ? 100 : scored * 100 / total, rate, eta);
  }
}
