package dev.edgelm.it.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP proxy on 127.0.0.1 that accepts connections but forwards nothing until {@link #open()}:
 * a hub that is "slow" for exactly as long as a test needs (e.g. to observe a daemon that is still
 * pulling its models).
 */
final class GatedProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int backendPort;
  private final CountDownLatch gate = new CountDownLatch(1);
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  GatedProxy(int backendPort) throws IOException {
    this.backendPort = backendPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "gated-proxy");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  void open() {
    gate.countDown();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        sockets.add(client);
        Thread t = new Thread(() -> serve(client), "gated-proxy-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket client) {
    try {
      gate.await();
      Socket backend = new Socket(InetAddress.getLoopbackAddress(), backendPort);
      sockets.add(backend);
      Thread up = new Thread(() -> pipe(client, backend), "gated-proxy-up");
      up.setDaemon(true);
      up.start();
      pipe(backend, client);
    } catch (IOException | InterruptedException e) {
      closeQuietly(client);
    }
  }

  private static void pipe(Socket from, Socket to) {
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException e) {
      // one side closed: close both
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    gate.countDown();
    server.close();
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }
}
