package dev.edgelm.daemon;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.logging.Logger;

/**
 * Turns SIGTERM and SIGINT into a drain instead of the JVM's default (run shutdown hooks, exit 143
 * or 130), so that a drained daemon exits 0. Uses {@code sun.misc.Signal} (module
 * jdk.unsupported) through reflection to keep the build free of internal-API warnings; when it is
 * unavailable, falls back to a shutdown hook (the drain still runs, the exit status is the JVM's).
 */
final class Signals {
  private static final Logger LOG = Logger.getLogger(Signals.class.getName());

  private Signals() {}

  /** Runs {@code onSignal} (on a signal thread; it must not block) at the first SIGTERM or SIGINT; a second one halts at once. */
  public static void onTermination(Runnable onSignal, Runnable waitForStop) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      boolean[] seen = {false};
      InvocationHandler h = (Object proxy, Method m, Object[] args) -> {
        if (m.getName().equals("handle")) {
          synchronized (seen) {
            if (seen[0]) {
              LOG.warning("second termination signal: exiting without waiting for the drain");
              Runtime.getRuntime().halt(1);
            }
            seen[0] = true;
          }
          onSignal.run();
          return null;
        }
        return m.getName().equals("toString") ? "edgelmd signal handler" : m.getName().equals("hashCode") ? 0 : Boolean.FALSE;
      };
      Object handler = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass}, h);
      Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
      for (String name : new String[] {"TERM", "INT"}) {
        handle.invoke(null, signalClass.getConstructor(String.class).newInstance(name), handler);
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      LOG.warning("cannot handle signals (" + e + "); using a shutdown hook");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        onSignal.run();
        waitForStop.run();
      }, "edgelmd-shutdown"));
    }
  }
}
