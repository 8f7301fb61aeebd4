package dev.edgelm.daemon.bench;

import dev.edgelm.daemon.Daemon;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpcClient;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcStatus;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The cost of streaming over gRPC: a program, not a test. For one model package it measures
 *
 * <ol>
 *   <li>per-token time of a greedy generation run in this process ({@link Generation#next()} in a
 *       loop) against the same generation streamed from a daemon (started in this JVM, with its own
 *       session, over loopback gRPC, one response message per token, timed at the client), in
 *       alternating rounds, medians reported, plus time to first token;
 *   <li>aggregate tokens/s and mean time to first token with 1, 4 and 8 concurrent streams.
 * </ol>
 *
 * Per-token time is (last token - first token) / (tokens - 1), prefill excluded, on both sides.
 * Because in-process and streamed rounds run at different moments of a shared machine, the program
 * also reports a paired figure: for the same stream, the per-token time the client observes against
 * the daemon's own decode time per token (from the stream's final {@code Timings}).
 * Run it with {@code mvn -B -q -pl daemon -am -Pbench-daemon test-compile -Dbench.model=DIR}, or by
 * hand: {@code StreamingBench <package dir> [tokens=128] [rounds=5]}.
 */
public final class StreamingBench {
  private static final String PROMPT = "The history of the city";

  private StreamingBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    System.out.printf(Locale.ROOT, "model %s, %d tokens per stream, %d rounds, %d CPUs, load average %.2f%n", dir, tokens, rounds,
        Runtime.getRuntime().availableProcessors(), ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());

    DaemonConfig config = DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(Map.of(
        "server.grpc_port", "0", "server.http_port", "-1", "models.m.path", dir.toString(),
        "models.m.max_concurrent", "8", "models.m.max_queued", "8", "cache.memory_budget", "90%")));
    Daemon daemon = Daemon.start(config);
    Vertx vertx = Vertx.vertx();
    GrpcClient client = GrpcClient.client(vertx, new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    SocketAddress address = SocketAddress.inetSocketAddress(daemon.grpcPort(), "127.0.0.1");
    try (DecoderModel local = DecoderModel.load(ModelPackage.open(dir), SessionSettings.DEFAULTS)) {
      while (!daemon.ready()) {
        Thread.sleep(50); // a benchmark waiting for its server, not a test
      }
      for (int w = 0; w < 2; w++) { // warm-up: JIT, ORT arenas, connection
        local(local, tokens);
        remote(client, address, tokens).join();
      }
      double[] localTok = new double[rounds];
      double[] remoteTok = new double[rounds];
      double[] localTtft = new double[rounds];
      double[] remoteTtft = new double[rounds];
      double[] paired = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        Run a = local(local, tokens);
        Run b = remote(client, address, tokens).join();
        localTok[r] = a.perTokenMs();
        remoteTok[r] = b.perTokenMs();
        localTtft[r] = a.ttftMs();
        remoteTtft[r] = b.ttftMs();
        paired[r] = (b.perTokenMs() / b.serverPerTokenMs() - 1) * 100;
        System.out.printf(Locale.ROOT, "round %d: in-process %.3f ms/token (ttft %.1f ms), gRPC %.3f ms/token (ttft %.1f ms; "
            + "the daemon's own decode %.3f ms/token: %+.2f%%)%n", r, a.perTokenMs(), a.ttftMs(), b.perTokenMs(), b.ttftMs(),
            b.serverPerTokenMs(), paired[r]);
      }
      double l = median(localTok);
      double g = median(remoteTok);
      System.out.printf(Locale.ROOT, "median per token: in-process %.3f ms (%.1f tok/s), gRPC stream %.3f ms (%.1f tok/s): overhead %+.2f%%%n",
          l, 1000 / l, g, 1000 / g, (g / l - 1) * 100);
      System.out.printf(Locale.ROOT, "median paired overhead (client-observed vs the daemon's own decode time per token, same stream): %+.2f%%%n",
          median(paired));
      System.out.printf(Locale.ROOT, "median time to first token: in-process %.1f ms, gRPC stream %.1f ms%n", median(localTtft), median(remoteTtft));

      for (int streams : new int[] {1, 4, 8}) {
        long start = System.nanoTime();
        List<CompletableFuture<Run>> runs = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
          runs.add(remote(client, address, tokens));
        }
        double ttft = 0;
        long total = 0;
        for (CompletableFuture<Run> f : runs) {
          Run run = f.join();
          ttft += run.ttftMs();
          total += run.tokens();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "%d concurrent streams: %d tokens in %.2f s = %.1f tokens/s aggregate, mean time to first token %.1f ms%n",
            streams, total, seconds, total / seconds, ttft / streams);
      }
    } finally {
      client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      daemon.close();
    }
    System.out.printf(Locale.ROOT, "load average after: %.2f%n", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
  }

  /** @param serverPerTokenMs the daemon's own decode time per token for this stream (its final Timings), NaN in process */
  private record Run(double ttftMs, double perTokenMs, int tokens, double serverPerTokenMs) {}

  private static Run local(DecoderModel model, int tokens) {
    long start = System.nanoTime();
    long first = -1;
    long last = -1;
    int n = 0;
    try (Generation g = Generation.start(model, GenerationRequest.ofText(PROMPT).withMaxTokens(tokens))) {
      while (!g.isFinished()) {
        GenerationChunk c = g.next();
        if (c.hasToken()) {
          last = System.nanoTime();
          if (first < 0) {
            first = last;
          }
          n++;
        }
      }
    }
    return new Run((first - start) / 1e6, (last - first) / 1e6 / (n - 1), n, Double.NaN);
  }

  private static CompletableFuture<Run> remote(GrpcClient client, SocketAddress address, int tokens) {
    CompletableFuture<Run> out = new CompletableFuture<>();
    long start = System.nanoTime();
    long[] firstLast = {-1, -1};
    int[] n = {0};
    double[] serverTps = {0};
    client.request(address, GenerationGrpcClient.Generate).compose(req -> {
      req.end(GenerateRequest.newBuilder().setModel("m").setPrompt(PROMPT).setMaxTokens(tokens).build());
      return req.response();
    }).onComplete(ar -> {
      if (ar.failed()) {
        out.completeExceptionally(ar.cause());
        return;
      }
      GrpcClientResponse<GenerateRequest, GenerateResponse> resp = ar.result();
      resp.handler(r -> {
        if (r.getTokenIdsCount() > 0) {
          long now = System.nanoTime();
          if (firstLast[0] < 0) {
            firstLast[0] = now;
          }
          firstLast[1] = now;
          n[0] += r.getTokenIdsCount();
        }
        if (r.hasTimings()) {
          serverTps[0] = r.getTimings().getDecodeTokensPerSecond();
        }
      });
      resp.endHandler(v -> {
        if (resp.status() != GrpcStatus.OK) {
          out.completeExceptionally(new IllegalStateException("stream ended with " + resp.status()));
        } else {
          out.complete(new Run((firstLast[0] - start) / 1e6, (firstLast[1] - firstLast[0]) / 1e6 / (n[0] - 1), n[0], 1000 / serverTps[0]));
        }
      });
    });
    return out;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
}
