package dev.edgelm.cli;

import dev.edgelm.proto.Units;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.StoreVerification;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Re-reads every file of packages or of a store and compares it with its recorded sha256. Reports
 * each damaged file on its own error line and changes nothing.
 */
@Command(mixinStandardHelpOptions = true, name = "verify", description = {
    "Check that every file of model packages (against their variant.json), or of a local store (every blob and pulled "
        + "package), still has the sha256 it was written with. Changes nothing.",
    "Exit status 0 when everything matches; 3 with one error line per damaged or missing file, saying what to do."})
final class VerifyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "PACKAGE", arity = "0..*", description = "Package directories to check.")
  List<Path> packages = new ArrayList<>();

  @Option(names = "--store", paramLabel = "DIR", description = "Check a local store instead (as 'edgelm pull --store' filled it).")
  Path store;

  @Override
  public Integer call() {
    if (packages.isEmpty() == (store == null)) {
      throw new IllegalArgumentException("give package directories or --store DIR (one of the two)");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int bad = store != null ? verifyStore(out, err) : 0;
    for (Path p : packages) {
      bad += verifyPackage(p, out, err);
    }
    out.flush();
    err.flush();
    return bad == 0 ? ExitCodes.OK : ExitCodes.BAD_INPUT;
  }

  private int verifyPackage(Path dir, PrintWriter out, PrintWriter err) {
    ModelPackage.Verification v;
    try {
      v = ModelPackage.verify(dir);
    } catch (ModelPackageException e) {
      err.println("edgelm: error: " + ErrorReporter.oneLine(e.getMessage()));
      return 1;
    }
    if (v.descriptorInferred()) {
      err.println("edgelm: error: " + v.dir() + " has no variant.json, so nothing records the digests of its files;"
          + " import the checkpoint with 'edgelm import' for a package that can be verified");
      return 1;
    }
    for (ModelPackage.FileProblem p : v.problems()) {
      err.println("edgelm: error: " + p.file() + " " + p.problem() + "; import or pull the package again");
    }
    if (v.problems().isEmpty()) {
      out.printf("ok  %s (%d files, %s)%n", v.dir(), v.filesChecked(), Units.size(v.bytesChecked()));
    }
    return v.problems().size();
  }

  private int verifyStore(PrintWriter out, PrintWriter err) {
    Path root = store.toAbsolutePath().normalize();
    if (!Files.isDirectory(root)) {
      throw new InputFileException("no store at " + root + " (--store); check the path");
    }
    StoreVerification v;
    try (Hub h = Hub.open(HubOptions.defaults(root))) {
      v = h.store().verify();
    }
    for (StoreVerification.Damaged d : v.damaged()) {
      err.println("edgelm: error: " + d.file() + " " + d.problem());
    }
    if (v.ok()) {
      out.printf("ok  store %s (%d files, %s)%n", root, v.filesChecked(), Units.size(v.bytesChecked()));
    }
    return v.damaged().size();
  }
}
