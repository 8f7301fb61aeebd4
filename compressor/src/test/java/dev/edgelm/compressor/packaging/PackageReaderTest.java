package dev.edgelm.compressor.packaging;

import java.util.List;
import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.Compressor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.onnx.OnnxModelWriter;
import dev.edgelm.compressor.quant.Algorithm;
import dev.edgelm.compressor.quant.QuantizationOptions;
import dev.edgelm.compressor.quant.Quantizer;
import dev.edgelm.compressor.testing.TestPackages;
import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PackageReaderTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {TestPackages.STORIES, TestPackages.GPT2})
  void read_importedPackage_reEmitsTheSameGraphByteForByte(String checkpoint) throws IOException {
    Path fp32 = TestPackages.importFp32(checkpoint, tmp.resolve("fp32"));
    PackageReader.BasePackage base = PackageReader.read(fp32);
    Path again = tmp.resolve("again");
    PackageWriter.write(base.ir(), base.tokenizer(), new PackageWriter.Variant("fp32", base.descriptor().getModel(),
        base.descriptor().getMethod(), base.descriptor().getBaseModelDigest()), again, false);
    for (String file : new String[] {PackageWriter.MODEL, OnnxModelWriter.DATA_FILE}) {
      if (Files.exists(fp32.resolve(file))) {
        assertArrayEquals(Files.readAllBytes(fp32.resolve(file)), Files.readAllBytes(again.resolve(file)), file);
      }
    }
    assertEquals(base.descriptor().getTokenizer(), base.tokenizer().spec());
  }

  @Test
  void read_quantizedPackage_asksForTheFp32One() {
    Path fp32 = TestPackages.importFp32(TestPackages.STORIES, tmp.resolve("fp32"));
    Path int8 = tmp.resolve("int8");
    Compressor.compress(new VariantJob(fp32, int8, null, false, null, null),
        List.of(new Method.Quantization(QuantizationOptions.int8(Algorithm.RTN))), line -> {});
    UsageException e = assertThrows(UsageException.class, () -> PackageReader.read(int8));
    assertTrue(e.getMessage().contains("holds the variant 'int8'") && e.getMessage().contains("fp32 package"), e.getMessage());
  }

  @Test
  void read_foreignExport_failsClearly() {
    Path export = SharedAssets.require("models/gpt2-fixture-onnx");
    CheckpointException e = assertThrows(CheckpointException.class, () -> PackageReader.read(export));
    assertTrue(e.getMessage().contains("has no variant.json") && e.getMessage().contains("edgelm import"), e.getMessage());
  }

  @Test
  void read_flippedWeightByte_failsOnTheDigest() throws IOException {
    Path fp32 = TestPackages.importFp32(TestPackages.GPT2, tmp.resolve("fp32"));
    try (FileChannel ch = FileChannel.open(fp32.resolve(OnnxModelWriter.DATA_FILE), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, 5000);
      b.put(0, (byte) (b.get(0) ^ 1)).rewind();
      ch.write(b, 5000);
    }
    CheckpointException e = assertThrows(CheckpointException.class, () -> PackageReader.read(fp32));
    assertTrue(e.getMessage().contains("digest") && e.getMessage().contains("corrupt"), e.getMessage());
  }
}
