package dev.edgelm.engine;

import java.util.List;

/**
 * Holds back generated text that could be the start of a stop string, so a stop string split
 * across tokens is never emitted. Works on UTF-16 text that the stream decoder already made whole.
 */
final class StopStringFilter {
  private final List<String> stops;
  private final StringBuilder held = new StringBuilder();
  private boolean stopped;

  StopStringFilter(List<String> stops) {
    this.stops = stops;
  }

  /**
   * Adds decoded text and returns the part that is safe to emit. When a stop string appears, returns
   * the text before it, drops the rest and reports {@link #stopped()}.
   */
  String accept(String text) {
    if (stopped) {
      return "";
    }
    held.append(text);
    if (stops.isEmpty()) {
      return release();
    }
    int earliest = -1;
    for (String stop : stops) {
      int at = held.indexOf(stop);
      if (at >= 0 && (earliest < 0 || at < earliest)) {
        earliest = at;
      }
    }
    if (earliest >= 0) {
      stopped = true;
      String out = held.substring(0, earliest);
      held.setLength(0);
      return out;
    }
    int safe = held.length() - longestSuffixStartingAStop();
    String out = held.substring(0, safe);
    held.delete(0, safe);
    return out;
  }

  /** Returns whatever is held back; called when the generation ends for another reason. */
  String release() {
    String out = held.toString();
    held.setLength(0);
    return out;
  }

  boolean stopped() {
    return stopped;
  }

  private int longestSuffixStartingAStop() {
    int longest = 0;
    for (String stop : stops) {
      for (int len = Math.min(stop.length() - 1, held.length()); len > longest; len--) {
        if (endsWithPrefix(stop, len)) {
          longest = len;
          break;
        }
      }
    }
    return longest;
  }

  private boolean endsWithPrefix(String stop, int len) {
    int offset = held.length() - len;
    for (int i = 0; i < len; i++) {
      if (held.charAt(offset + i) != stop.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
