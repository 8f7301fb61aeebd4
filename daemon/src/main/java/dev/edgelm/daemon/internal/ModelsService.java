package dev.edgelm.daemon.internal;

import com.google.protobuf.Descriptors;
import com.google.protobuf.Message;
import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.NotAllowedException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.hub.Reference;
import dev.edgelm.proto.v1.DescribeModelRequest;
import dev.edgelm.proto.v1.ListModelsRequest;
import dev.edgelm.proto.v1.ListModelsResponse;
import dev.edgelm.proto.v1.LoadModelRequest;
import dev.edgelm.proto.v1.ModelInfo;
import dev.edgelm.proto.v1.ModelSource;
import dev.edgelm.proto.v1.ModelsOuterClass;
import dev.edgelm.proto.v1.PinModelRequest;
import dev.edgelm.proto.v1.PullProgress;
import dev.edgelm.proto.v1.PullRequest;
import dev.edgelm.proto.v1.UnloadModelRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.Service;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * The {@code edgelm.v1.Models} service: list, describe, load, unload, pin, and pull.
 *
 * <p>Threading: handlers run on event loops and never block; loads and pulls complete on the
 * registry's threads and answer back on the call's context. Errors go through {@link StatusMapper}.
 */
final class ModelsService {
  static final ServiceName NAME = ServiceName.create("edgelm.v1", "Models");
  static final Descriptors.ServiceDescriptor DESCRIPTOR = ModelsOuterClass.getDescriptor().findServiceByName("Models");

  static final ServiceMethod<ListModelsRequest, ListModelsResponse> LIST = method("List", ListModelsRequest.newBuilder());
  static final ServiceMethod<DescribeModelRequest, ModelInfo> DESCRIBE = method("Describe", DescribeModelRequest.newBuilder());
  static final ServiceMethod<LoadModelRequest, ModelInfo> LOAD = method("Load", LoadModelRequest.newBuilder());
  static final ServiceMethod<UnloadModelRequest, ModelInfo> UNLOAD = method("Unload", UnloadModelRequest.newBuilder());
  static final ServiceMethod<PinModelRequest, ModelInfo> PIN = method("Pin", PinModelRequest.newBuilder());
  static final ServiceMethod<PullRequest, PullProgress> PULL = method("Pull", PullRequest.newBuilder());

  private static <Req extends Message, Resp extends Message> ServiceMethod<Req, Resp> method(String name, Message.Builder request) {
    return ServiceMethod.server(NAME, name, GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(request));
  }

  private final ModelRegistry registry;
  private final DaemonConfig config;
  private final DrainState drain;

  ModelsService(ModelRegistry registry, DaemonConfig config, DrainState drain) {
    this.registry = registry;
    this.config = config;
    this.drain = drain;
  }

  Service service() {
    return Service.service(NAME, DESCRIPTOR)
        .bind(LIST, r -> unary(r, req -> Future.succeededFuture(list())))
        .bind(DESCRIBE, r -> unary(r, req -> Future.succeededFuture(ModelInfos.of(registry.served(req.getName())))))
        .bind(LOAD, r -> unary(r, this::load))
        .bind(UNLOAD, r -> unary(r, req -> {
          ServedModel sm = registry.served(req.getName());
          registry.unload(sm);
          return Future.succeededFuture(ModelInfos.of(sm));
        }))
        .bind(PIN, r -> unary(r, req -> {
          ServedModel sm = registry.served(req.getName());
          registry.pin(sm, req.getPinned());
          return Future.succeededFuture(ModelInfos.of(sm));
        }))
        .bind(PULL, r -> r.handler(req -> new PullCall(registry, this, r, Vertx.currentContext()).start(req)))
        .build();
  }

  private ListModelsResponse list() {
    ListModelsResponse.Builder b = ListModelsResponse.newBuilder();
    for (ServedModel sm : registry.all()) {
      b.addModels(ModelInfos.of(sm));
    }
    return b.build();
  }

  private Future<ModelInfo> load(LoadModelRequest req) {
    if (drain.draining()) {
      throw new NotReadyException("the daemon is draining (shutting down)");
    }
    boolean known = registry.all().stream().anyMatch(m -> m.name.equals(req.getName()));
    ServedModel sm = req.hasSource() ? register(req.getName(), req.getSource()) : registry.served(req.getName());
    Context ctx = Vertx.currentContext();
    return Future.fromCompletionStage(registry.load(sm), ctx).onFailure(e -> {
      if (!known) {
        registry.forget(sm); // a new model that cannot load is not kept: the caller may retry with another source
      }
    }).map(m -> {
      if (req.getPin()) {
        registry.pin(sm, true);
      }
      return ModelInfos.of(sm);
    });
  }

  /** The selection policy of a pull that registers no model (the daemon's defaults, and the variant if one is named). */
  dev.edgelm.daemon.SelectionPolicy pullPolicy(Reference reference, String variant) {
    return config.selectionPolicy(new DaemonConfig.Model("pull", null, reference, variant.isBlank() ? null : variant, false,
        config.generation().maxConcurrent(), config.generation().maxQueued(), false));
  }

  /** Registers a model from a request's source (or returns it when the name is known with that source). */
  ServedModel register(String name, ModelSource source) {
    if (!DaemonConfig.Model.NAME.matcher(name).matches()) {
      throw new BadRequestException("'" + name + "' is not a model name (letters, digits, '.', '_', '-'; up to 128)");
    }
    DaemonConfig.Model spec = switch (source.getSourceCase()) {
      case PATH -> {
        if (source.getPath().isBlank()) {
          throw new BadRequestException("source.path is empty");
        }
        Path path = Path.of(source.getPath()).toAbsolutePath().normalize();
        yield new DaemonConfig.Model(name, path, null, null, false,
            config.generation().maxConcurrent(), config.generation().maxQueued(), false);
      }
      case HUB -> {
        Reference ref = Reference.parse(source.getHub().getReference());
        checkMayPullFrom(ref);
        String variant = source.getHub().getVariant().isBlank() ? null : source.getHub().getVariant().strip(); // blank: select for this host
        yield new DaemonConfig.Model(name, null, ref, variant, false, config.generation().maxConcurrent(), config.generation().maxQueued(), false);
      }
      case SOURCE_NOT_SET -> throw new BadRequestException("source needs a path or a hub reference");
    };
    boolean known = registry.all().stream().anyMatch(m -> m.name.equals(name));
    if (!known && !config.api().allowNewModels()) {
      throw new NotAllowedException("adding models is turned off (api.allow_new_models = false); serve '" + name + "' from the configuration");
    }
    if (spec.path() != null) {
      checkMayRead(spec.path(), "source.path");
    }
    return registry.add(spec, false);
  }

  /** Refuses a path outside api.load_roots, and off loopback any path when no roots are set (the file system is no oracle). */
  private void checkMayRead(Path path, String field) {
    List<Path> roots = config.api().loadRoots();
    if (roots.isEmpty()) {
      if (!config.server().loopback()) {
        throw new NotAllowedException(field + " names a local path, which a daemon serving other hosts reads only inside "
            + "api.load_roots; set api.load_roots");
      }
      return;
    }
    Path real;
    try {
      real = path.toRealPath();
    } catch (java.io.IOException e) {
      real = path.toAbsolutePath().normalize(); // does not exist: refused below, or reported missing by the load
    }
    for (Path root : roots) {
      if (real.startsWith(root)) {
        return;
      }
    }
    throw new NotAllowedException(field + " is outside api.load_roots (" + roots.stream().map(Path::toString).collect(
        java.util.stream.Collectors.joining(", ")) + ")");
  }

  /** Refuses a reference whose registry api.pull_registries does not list (an oci: layout is a path: see checkMayRead). */
  void checkMayPullFrom(Reference reference) {
    String registry = DaemonConfig.registryOf(reference);
    if (registry.startsWith("oci:")) {
      checkMayRead(Path.of(registry.substring(4)), "the OCI layout of " + reference);
      return;
    }
    List<String> allowed = config.api().pullRegistries();
    if (!allowed.isEmpty() && !allowed.contains(registry) && configuredReferences().noneMatch(reference::equals)) {
      throw new NotAllowedException("registry " + registry + " is not in api.pull_registries"
          + (allowed.equals(List.of("")) ? " (empty: a daemon serving other hosts pulls only what its configuration names)" : " " + allowed));
    }
  }

  private java.util.stream.Stream<Reference> configuredReferences() {
    return config.models().stream().map(DaemonConfig.Model::reference).filter(java.util.Objects::nonNull);
  }

  void checkMayPull() {
    if (!config.api().allowNewModels()) {
      throw new NotAllowedException("pulling models is turned off (api.allow_new_models = false)");
    }
    if (drain.draining()) {
      throw new NotReadyException("the daemon is draining (shutting down)");
    }
  }

  /** Answers a unary call with {@code body}'s result, or the mapped status of its failure. */
  private static <Req, Resp> void unary(GrpcServerRequest<Req, Resp> request, Function<Req, Future<Resp>> body) {
    request.handler(req -> {
      Future<Resp> result;
      try {
        result = body.apply(req);
      } catch (RuntimeException e) {
        result = Future.failedFuture(e);
      }
      result.onComplete(ar -> {
        if (ar.succeeded()) {
          request.response().end(ar.result());
        } else {
          StatusMapper.Failure f = StatusMapper.map(ar.cause());
          request.response().status(f.status()).statusMessage(f.message()).end();
        }
      });
    });
  }
}
