package dev.edgelm.cli;

import java.io.PrintStream;

/**
 * Generated text as it streams to stdout: each piece is flushed as it arrives, and {@link #finish} ends the output
 * with a newline unless the text already did, so whatever follows (a shell prompt, the {@code --stats} line on a
 * terminal) starts on its own line.
 */
final class StreamedText {
  private final PrintStream out;
  private boolean atLineStart = true;

  StreamedText(PrintStream out) {
    this.out = out;
  }

  void print(String text) {
    if (text.isEmpty()) {
      return;
    }
    out.print(text);
    out.flush();
    atLineStart = text.charAt(text.length() - 1) == '\n';
  }

  void finish() {
    if (!atLineStart) {
      out.print('\n');
      atLineStart = true;
    }
    out.flush();
  }
}
