package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.Progress;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.Reference;
import dev.edgelm.proto.v1.HubSource;
import dev.edgelm.proto.v1.ModelSource;
import dev.edgelm.proto.v1.PullBytes;
import dev.edgelm.proto.v1.PullDone;
import dev.edgelm.proto.v1.PullFileCompleted;
import dev.edgelm.proto.v1.PullProgress;
import dev.edgelm.proto.v1.PullRequest;
import dev.edgelm.proto.v1.PullRetrying;
import dev.edgelm.proto.v1.PullStarted;
import io.vertx.core.Context;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One {@code Models.Pull} stream: bridges the hub's {@link ProgressListener} (called on a hub thread)
 * to the response on the call's context.
 *
 * <p>Bounded: byte-progress events are coalesced (only the latest waits while the response's write
 * queue is full); the other events are few (one per file, retry, start). A cancelled call
 * interrupts the pull. Threading: listener methods on the hub thread only post to the context;
 * everything else runs on the context.
 */
final class PullCall implements ProgressListener {
  private final ModelRegistry registry;
  private final ModelsService models;
  private final GrpcServerRequest<PullRequest, PullProgress> request;
  private final GrpcServerResponse<PullRequest, PullProgress> response;
  private final Context context;
  private final AtomicReference<Progress> latest = new AtomicReference<>();

  private PullRequest req;
  private Reference reference;
  private ServedModel target;
  private Future<?> task;
  private boolean ended;

  PullCall(ModelRegistry registry, ModelsService models, GrpcServerRequest<PullRequest, PullProgress> request, Context context) {
    this.registry = registry;
    this.models = models;
    this.request = request;
    this.response = request.response();
    this.context = context;
  }

  void start(PullRequest r) {
    this.req = r;
    request.errorHandler(e -> cancel());
    response.exceptionHandler(e -> cancel());
    response.drainHandler(v -> flushProgress());
    try {
      models.checkMayPull();
      if (r.getLoad() && r.getName().isBlank()) {
        throw new BadRequestException("load needs a name to register the model under");
      }
      reference = Reference.parse(r.getReference());
      models.checkMayPullFrom(reference);
      if (!r.getName().isBlank()) {
        target = models.register(r.getName(), ModelSource.newBuilder()
            .setHub(HubSource.newBuilder().setReference(reference.toString()).setVariant(r.getVariant())).build());
      }
      SelectionPolicy policy = target != null ? target.policy : models.pullPolicy(reference, r.getVariant());
      task = registry.releases().pullForClient(reference, policy, this, (v, e) -> context.runOnContext(x -> pulled(v, e)));
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  private void cancel() {
    ended = true;
    if (task != null) {
      task.cancel(true);
    }
  }

  // Hub thread: post only.

  @Override
  public void started(long bytesTotal, long bytesPresent, int files) {
    post(PullProgress.newBuilder().setStarted(PullStarted.newBuilder().setBytesTotal(bytesTotal).setBytesPresent(bytesPresent).setFiles(files)).build());
  }

  @Override
  public void progressed(Progress progress) {
    if (latest.getAndSet(progress) == null) {
      context.runOnContext(v -> flushProgress());
    }
  }

  @Override
  public void fileCompleted(String file, Digest digest, long size, boolean fromStore) {
    post(PullProgress.newBuilder().setFileCompleted(PullFileCompleted.newBuilder()
        .setFile(file).setDigest(digest.toString()).setSize(size).setFromStore(fromStore)).build());
  }

  @Override
  public void retrying(int attempt, Duration delay, String reason) {
    post(PullProgress.newBuilder().setRetrying(PullRetrying.newBuilder().setAttempt(attempt).setDelayMs(delay.toMillis()).setReason(reason)).build());
  }

  private void post(PullProgress event) {
    context.runOnContext(v -> {
      if (!ended) {
        response.write(event);
      }
    });
  }

  // Context.

  private void flushProgress() {
    if (ended || response.writeQueueFull()) {
      return; // the drain handler flushes the latest
    }
    writeLatest();
  }

  private void writeLatest() {
    Progress p = latest.getAndSet(null);
    if (p != null) {
      response.write(PullProgress.newBuilder().setProgress(PullBytes.newBuilder()
          .setBytesDone(p.bytesDone()).setBytesTotal(p.bytesTotal()).setBytesPerSecond(p.bytesPerSecond())
          .setEtaMs(p.eta().map(Duration::toMillis).orElse(-1L)).setFile(p.file() == null ? "" : p.file())).build());
    }
  }

  private void pulled(HubReleases.Pulled p, Throwable e) {
    if (ended) {
      return;
    }
    if (e != null) {
      fail(e);
      return;
    }
    InstalledVariant v = p.variant();
    HubSource source = HubModels.source(reference, v);
    PullDone.Builder done = PullDone.newBuilder().setSource(source).setVariantDescriptor(v.descriptor())
        .setBytesDownloaded(v.bytesDownloaded()).setBytesReused(v.bytesReused());
    if (target == null) {
      end(done);
      return;
    }
    registry.pulled(target, v, p.selection());
    if (!req.getLoad()) {
      end(done.setModel(ModelInfos.of(target)));
      return;
    }
    io.vertx.core.Future.fromCompletionStage(registry.load(target), context).onComplete(ar -> {
      if (ar.failed()) {
        fail(ar.cause());
      } else {
        end(done.setModel(ModelInfos.of(target)));
      }
    });
  }

  private void end(PullDone.Builder done) {
    if (!ended) {
      ended = true;
      writeLatest();
      response.end(PullProgress.newBuilder().setDone(done).build());
    }
  }

  private void fail(Throwable e) {
    if (!ended) {
      ended = true;
      StatusMapper.Failure f = StatusMapper.map(e);
      response.status(f.status()).statusMessage(f.message()).end();
    }
  }
}
