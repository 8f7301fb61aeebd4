package dev.edgelm.cli.hub;

import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.BadReferenceException;
import dev.edgelm.hub.HubException;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.SignatureRejectedException;

/**
 * How hub errors reach the user: the exception's one-line message plus, where the CLI knows it, the
 * flag that fixes it; and an exit status. The CLI's error reporter delegates {@link HubException}s
 * here.
 */
public final class HubErrors {
  private HubErrors() {}

  public static int exitCode(HubException e) {
    if (e instanceof BadReferenceException) {
      return ExitCodes.USAGE;
    }
    if (e instanceof InvalidReleaseException || e instanceof IntegrityException) {
      return ExitCodes.BAD_INPUT;
    }
    return ExitCodes.FAILURE;
  }

  public static String message(HubException e) {
    String m = e.getMessage();
    if (e instanceof AuthException a && a.reason() == AuthException.Reason.MISSING_CREDENTIALS) {
      return m + "; pass --username USER --password-stdin";
    }
    if (e instanceof SignatureRejectedException) {
      return m + "; pass --trusted-key with the publisher's public key, or --verify warn to pull it anyway";
    }
    if (e instanceof NotFoundException) {
      return m + " (check the reference; 'edgelm ls' lists what the store holds)";
    }
    return m;
  }
}
