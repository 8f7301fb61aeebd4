package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.CapacityExceededException;
import dev.edgelm.daemon.DeadlineExceededException;
import dev.edgelm.daemon.ModelTooLargeException;
import dev.edgelm.daemon.NotAllowedException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.daemon.UnauthenticatedException;
import dev.edgelm.daemon.UnknownModelException;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.engine.RuntimeFailureException;
import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.BadReferenceException;
import dev.edgelm.hub.InsufficientDiskException;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.UnavailableException;
import io.vertx.grpc.common.GrpcStatus;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StatusMapperTest {
  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(new UnknownModelException("x"), GrpcStatus.NOT_FOUND),
        Arguments.of(new BadRequestException("x"), GrpcStatus.INVALID_ARGUMENT),
        Arguments.of(new InvalidRequestException("x"), GrpcStatus.INVALID_ARGUMENT),
        Arguments.of(new NotReadyException("x"), GrpcStatus.UNAVAILABLE),
        Arguments.of(new CapacityExceededException("x"), GrpcStatus.RESOURCE_EXHAUSTED),
        Arguments.of(new ModelTooLargeException("x"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new dev.edgelm.daemon.NoSuitableVariantException("x: no variant suits"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new UnauthenticatedException("x"), GrpcStatus.UNAUTHENTICATED),
        Arguments.of(new NotAllowedException("x"), GrpcStatus.PERMISSION_DENIED),
        Arguments.of(new DeadlineExceededException("x"), GrpcStatus.DEADLINE_EXCEEDED),
        Arguments.of(new ModelPackageException("x"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new dev.edgelm.engine.CorruptPackageException(java.nio.file.Path.of("model.onnx"), "x"), GrpcStatus.DATA_LOSS),
        Arguments.of(new RuntimeFailureException("x"), GrpcStatus.INTERNAL),
        Arguments.of(new BadReferenceException("x"), GrpcStatus.INVALID_ARGUMENT),
        Arguments.of(new NotFoundException("x"), GrpcStatus.NOT_FOUND),
        Arguments.of(new IntegrityException("x"), GrpcStatus.DATA_LOSS),
        Arguments.of(new UnavailableException("x"), GrpcStatus.UNAVAILABLE),
        Arguments.of(new InsufficientDiskException("x"), GrpcStatus.RESOURCE_EXHAUSTED),
        Arguments.of(new AuthException(AuthException.Reason.REJECTED_CREDENTIALS, "x"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new dev.edgelm.hub.SignatureRejectedException("x"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new dev.edgelm.hub.RequestRejectedException("x"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new dev.edgelm.hub.InvalidReleaseException("x"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new dev.edgelm.hub.OfflineMissException("x"), GrpcStatus.FAILED_PRECONDITION),
        Arguments.of(new dev.edgelm.hub.StoreException("x"), GrpcStatus.INTERNAL),
        Arguments.of(new dev.edgelm.hub.CancelledException("x"), GrpcStatus.CANCELLED),
        Arguments.of(new CompletionException(new UnknownModelException("x")), GrpcStatus.NOT_FOUND),
        Arguments.of(new IllegalStateException("boom"), GrpcStatus.INTERNAL));
  }

  /** Every concrete class a sealed family permits, however deep. */
  private static void leaves(Class<?> c, java.util.Set<Class<?>> out) {
    if (!java.lang.reflect.Modifier.isAbstract(c.getModifiers())) {
      out.add(c);
    }
    Class<?>[] permitted = c.getPermittedSubclasses();
    if (permitted != null) {
      for (Class<?> p : permitted) {
        leaves(p, out);
      }
    }
  }

  @org.junit.jupiter.api.Test
  void everySubclassOfEverySealedFamily_hasItsStatusPinnedHere() {
    java.util.Set<Class<?>> families = new java.util.LinkedHashSet<>();
    for (Class<?> root : new Class<?>[] {dev.edgelm.daemon.ServingException.class, dev.edgelm.engine.EngineException.class,
        dev.edgelm.hub.HubException.class}) {
      leaves(root, families);
    }
    java.util.Set<Class<?>> pinned = new java.util.HashSet<>();
    cases().forEach(a -> pinned.add(a.get()[0].getClass()));
    families.removeAll(pinned);
    assertTrue(families.isEmpty(), "no case in cases() for " + families + ": add one, so a new failure cannot fall into INTERNAL unseen");
  }

  @ParameterizedTest
  @MethodSource("cases")
  void map_givesTheLitmusTestStatus(Throwable e, GrpcStatus expected) {
    StatusMapper.Failure f = StatusMapper.map(e);
    assertEquals(expected, f.status());
    assertTrue(f.message().contains("x") || f.message().contains("boom"), f.message());
  }
}
