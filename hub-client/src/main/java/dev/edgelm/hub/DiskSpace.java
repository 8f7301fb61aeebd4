package dev.edgelm.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reports usable bytes on the file system holding a directory; injected so tests can fake a full disk. */
@FunctionalInterface
public interface DiskSpace {
  /** Asks the file system ({@link java.nio.file.FileStore#getUsableSpace()}). */
  DiskSpace SYSTEM = dir -> Files.getFileStore(dir).getUsableSpace();

  long usableBytes(Path dir) throws IOException;
}
