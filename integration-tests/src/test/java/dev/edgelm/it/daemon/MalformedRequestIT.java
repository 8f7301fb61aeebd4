package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.proto.v1.GenerateRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generate requests that do not parse, sent to {@code edgelmd} (a separate process serving
 * stories260K) by grpc-java with a byte-array marshaller: garbage bytes and a message with invalid
 * UTF-8 in a string field. Each ends with INVALID_ARGUMENT, is counted as such (not as CANCELLED),
 * is logged, and leaves no stream in progress. Needs {@code ../shared} (skips without it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedRequestIT {
  @TempDir static Path work;

  private DaemonProcess daemon;
  private ManagedChannel channel;

  @BeforeAll
  void start() throws IOException {
    Path config = work.resolve("edgelmd.yaml");
    Files.writeString(config, """
        server:
          host: 127.0.0.1
          grpc_port: 0
          http_port: 0
        models:
          stories:
            path: %s
        """.formatted(ItModels.stories260K()));
    daemon = DaemonProcess.start(config, work.resolve("d"));
    channel = daemon.channel(0);
    Await.until("the daemon is ready", () -> daemon.get("/readyz").statusCode() == 200, daemon::log);
  }

  @AfterAll
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (daemon != null) {
      daemon.close();
    }
  }

  @Test
  void generate_unparseableRequest_givesInvalidArgument_countedAsSuch_andReleased() {
    byte[] valid = GenerateRequest.newBuilder().setModel("stories").setPrompt("Once").setMaxTokens(3).build().toByteArray();
    for (byte[] bad : new byte[][] {RawGenerate.garbage(), RawGenerate.invalidUtf8Prompt(valid)}) {
      Status st = RawGenerate.call(channel, bad);
      assertEquals(Status.Code.INVALID_ARGUMENT, st.getCode(), st.toString());
      assertTrue(st.getDescription().startsWith("the request message is not a valid GenerateRequest"), st.getDescription());
    }
    String m = daemon.metrics();
    assertEquals(2, DaemonProcess.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"INVALID_ARGUMENT\""), m);
    assertEquals(0, DaemonProcess.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"CANCELLED\""), m);
    Await.until("no stream is in progress", () -> daemon.metric("edgelm_stream_in_progress", "") == 0, daemon::metrics);
    assertTrue(daemon.log().contains("the request message is not a valid GenerateRequest"), daemon.log());
    assertEquals(Status.OK, RawGenerate.call(channel, valid), "a valid request through the same marshaller is served");
  }
}
