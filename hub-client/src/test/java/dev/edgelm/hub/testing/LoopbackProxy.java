package dev.edgelm.hub.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Phaser;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A fault-injecting HTTP/1.1 reverse proxy on 127.0.0.1, for tests that need a registry to misbehave
 * in one precise way: drop the connection after N bytes of a blob, flip one byte of a blob, answer
 * a status (503, 429, 404…) some number of times and then forward, or just forward and count. One
 * request per connection ({@code Connection: close} both ways) keeps the byte accounting exact. Every
 * exchange is logged with its {@code Range} header and the body bytes sent to the client.
 */
public final class LoopbackProxy implements AutoCloseable {

  /** What one request looked like and what the proxy did with it. */
  public record Exchange(String method, String path, String range, int status, long bodyBytes, String fault) {
    public boolean isBlobGet() {
      return method.equals("GET") && path.contains("/blobs/sha256:");
    }
  }

  /** A request as the proxy saw it. */
  public record Request(String method, String path, Map<String, String> headers) {
    public boolean isBlobGet() {
      return method.equals("GET") && path.contains("/blobs/sha256:");
    }
  }

  /**
   * A fault applied to the first {@code times} requests that {@code match} ({@code times < 0}: all).
   *
   * @param kind what to do
   * @param param bytes for DROP_AFTER, body offset for FLIP_BYTE, status code for STATUS
   * @param retryAfter Retry-After header value for STATUS, or null
   */
  public record Fault(Predicate<Request> match, Kind kind, long param, int times, String retryAfter) {
    public enum Kind { PASS, DROP_AFTER, FLIP_BYTE, STATUS }

    public static Fault none() {
      return new Fault(r -> false, Kind.PASS, 0, 0, null);
    }

    /** Cuts the connection after {@code bytes} body bytes of the first {@code times} blob downloads. */
    public static Fault dropBlobAfter(long bytes, int times) {
      return new Fault(Request::isBlobGet, Kind.DROP_AFTER, bytes, times, null);
    }

    /** Flips the byte at body offset {@code offset} of every blob download long enough to have it. */
    public static Fault flipBlobByte(long offset) {
      return new Fault(Request::isBlobGet, Kind.FLIP_BYTE, offset, -1, null);
    }

    /** Answers {@code status} to the first {@code times} requests of any kind, then forwards. */
    public static Fault status(int status, int times, String retryAfter) {
      return new Fault(r -> true, Kind.STATUS, status, times, retryAfter);
    }

    /** Answers {@code status} to every request that matches. */
    public static Fault statusWhen(Predicate<Request> match, int status) {
      return new Fault(match, Kind.STATUS, status, -1, null);
    }
  }

  private final ServerSocket server;
  private final int backendPort;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "loopback-proxy");
    t.setDaemon(true);
    return t;
  });
  private final List<Exchange> log = new CopyOnWriteArrayList<>();
  /** Connections accepted whose exchange is not logged yet: readers of the log wait for them. */
  private final Phaser inFlight = new Phaser(1);
  private volatile Fault fault;
  private int applied;

  private LoopbackProxy(ServerSocket server, int backendPort, Fault fault) {
    this.server = server;
    this.backendPort = backendPort;
    this.fault = fault;
  }

  /** Starts a proxy on a free loopback port in front of {@code 127.0.0.1:backendPort}. */
  public static LoopbackProxy start(int backendPort, Fault fault) throws IOException {
    ServerSocket s = new ServerSocket();
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    LoopbackProxy p = new LoopbackProxy(s, backendPort, fault);
    p.pool.execute(p::acceptLoop);
    return p;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** {@code 127.0.0.1:<port>}, for references. */
  public String authority() {
    return "127.0.0.1:" + port();
  }

  public synchronized void setFault(Fault f) {
    fault = f;
    applied = 0;
  }

  /**
   * Every exchange so far. A client can see a response complete before the proxy thread that sent
   * it has logged it, so this first waits (up to 10 s) for accepted connections to finish.
   */
  public List<Exchange> exchanges() {
    awaitQuiet();
    return List.copyOf(log);
  }

  private void awaitQuiet() {
    try {
      inFlight.awaitAdvanceInterruptibly(inFlight.arrive(), 10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (TimeoutException e) {
      // A connection still open (e.g. a client that went silent): report what is logged.
    }
  }

  public void clearLog() {
    log.clear();
  }

  /** Body bytes sent to clients for blob downloads whose path contains {@code digestHex}. */
  public long blobBytesSent(String digestHex) {
    awaitQuiet();
    return log.stream().filter(e -> e.isBlobGet() && e.path().contains(digestHex)).mapToLong(Exchange::bodyBytes).sum();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket c = server.accept();
        inFlight.register();
        pool.execute(() -> {
          try {
            handle(c);
          } finally {
            inFlight.arriveAndDeregister();
          }
        });
      } catch (IOException e) {
        return;
      }
    }
  }

  private synchronized Fault.Kind decide(Request r) {
    Fault f = fault;
    if (f.kind() == Fault.Kind.PASS || !f.match().test(r)) {
      return Fault.Kind.PASS;
    }
    if (f.times() >= 0 && applied >= f.times()) {
      return Fault.Kind.PASS;
    }
    applied++;
    return f.kind();
  }

  private void handle(Socket client) {
    try (client) {
      InputStream cin = client.getInputStream();
      OutputStream cout = client.getOutputStream();
      List<String> head = readHead(cin);
      if (head.isEmpty()) {
        return;
      }
      String[] line = head.get(0).split(" ");
      Map<String, String> headers = headers(head);
      Request req = new Request(line[0], line[1], headers);
      byte[] body = cin.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
      Fault f = fault;
      Fault.Kind kind = decide(req);
      String range = headers.get("range");
      if (kind == Fault.Kind.STATUS) {
        int status = (int) f.param();
        String resp = "HTTP/1.1 " + status + " Injected\r\nContent-Length: 0\r\nConnection: close\r\n"
            + (f.retryAfter() != null ? "Retry-After: " + f.retryAfter() + "\r\n" : "") + "\r\n";
        log.add(new Exchange(req.method(), req.path(), range, status, 0, "status " + status));
        cout.write(resp.getBytes(StandardCharsets.US_ASCII));
        cout.flush();
        return;
      }
      try (Socket backend = new Socket(InetAddress.getLoopbackAddress(), backendPort)) {
        OutputStream bout = backend.getOutputStream();
        StringBuilder fwd = new StringBuilder(head.get(0)).append("\r\n");
        for (int i = 1; i < head.size(); i++) {
          String h = head.get(i).toLowerCase(Locale.ROOT);
          if (!h.startsWith("connection:") && !h.startsWith("keep-alive:")) {
            fwd.append(head.get(i)).append("\r\n");
          }
        }
        fwd.append("Connection: close\r\n\r\n");
        bout.write(fwd.toString().getBytes(StandardCharsets.ISO_8859_1));
        bout.write(body);
        bout.flush();
        InputStream bin = backend.getInputStream();
        List<String> respHead = readHead(bin);
        int status = Integer.parseInt(respHead.get(0).split(" ")[1]);
        StringBuilder back = new StringBuilder(respHead.get(0)).append("\r\n");
        for (int i = 1; i < respHead.size(); i++) {
          if (!respHead.get(i).toLowerCase(Locale.ROOT).startsWith("connection:")) {
            back.append(respHead.get(i)).append("\r\n");
          }
        }
        back.append("Connection: close\r\n\r\n");
        cout.write(back.toString().getBytes(StandardCharsets.ISO_8859_1));
        long sent = 0;
        String applied = kind == Fault.Kind.PASS ? null : kind.name();
        if (!req.method().equals("HEAD")) {
          byte[] buf = new byte[16 << 10];
          for (int n; (n = bin.read(buf)) > 0; ) {
            if (kind == Fault.Kind.DROP_AFTER && sent + n >= f.param()) {
              cout.write(buf, 0, (int) (f.param() - sent));
              sent = f.param();
              cout.flush();
              log.add(new Exchange(req.method(), req.path(), range, status, sent, "dropped after " + sent));
              client.shutdownOutput();
              return;
            }
            if (kind == Fault.Kind.FLIP_BYTE && f.param() >= sent && f.param() < sent + n) {
              int i = (int) (f.param() - sent);
              buf[i] = (byte) (buf[i] ^ 0x01);
            }
            cout.write(buf, 0, n);
            sent += n;
          }
        }
        cout.flush();
        log.add(new Exchange(req.method(), req.path(), range, status, sent, applied));
      }
    } catch (IOException e) {
      // The client went away (e.g. a killed puller): nothing to do.
    }
  }

  private static List<String> readHead(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        return List.of();
      }
      buf.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : (b == '\r' ? 1 : 0);
      if (buf.size() > 64 << 10) {
        throw new IOException("header too large");
      }
    }
    String text = buf.toString(StandardCharsets.ISO_8859_1);
    List<String> lines = new ArrayList<>(List.of(text.split("\r\n")));
    lines.removeIf(String::isEmpty);
    return lines;
  }

  private static Map<String, String> headers(List<String> head) {
    Map<String, String> h = new LinkedHashMap<>();
    for (int i = 1; i < head.size(); i++) {
      int c = head.get(i).indexOf(':');
      if (c > 0) {
        h.put(head.get(i).substring(0, c).strip().toLowerCase(Locale.ROOT), head.get(i).substring(c + 1).strip());
      }
    }
    return h;
  }

  @Override
  public void close() throws IOException {
    server.close();
    pool.shutdownNow();
  }
}
