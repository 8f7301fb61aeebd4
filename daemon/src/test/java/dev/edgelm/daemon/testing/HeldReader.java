package dev.edgelm.daemon.testing;

import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.ReferenceCountUtil;
import io.vertx.grpc.common.GrpcStatus;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A gRPC client whose reader has stopped: it returns no HTTP/2 flow-control credit for a stream until {@link
 * Stream#resume()}, so the daemon can send it exactly the stream's initial window and nothing more. Once a stream has
 * received its whole window ({@link Stream#receivedBytes()}), no write of the daemon's can complete: a test then knows,
 * without waiting for decoding to settle, that the stream is held by backpressure for good.
 *
 * <p>One plaintext HTTP/2 connection (prior knowledge) on its own Netty event loop. Thread-safe.
 */
public final class HeldReader implements AutoCloseable {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel channel;
  private final Frames frames = new Frames();
  private final int port;
  /** The initial receive window of every stream, in bytes. */
  public final int window;

  private HeldReader(int port, int window) {
    this.port = port;
    this.window = window;
    Http2FrameCodec codec = Http2FrameCodecBuilder.forClient().initialSettings(Http2Settings.defaultSettings().initialWindowSize(window)).build();
    try {
      channel = new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel ch) {
          ch.pipeline().addLast(codec, frames);
        }
      }).connect("127.0.0.1", port).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Connects to the daemon's gRPC port; each stream's receive window is {@code window} bytes. */
  public static HeldReader connect(int port, int window) {
    return new HeldReader(port, window);
  }

  /** Starts a Generate call whose reader takes nothing until {@link Stream#resume()}. */
  public Stream generate(GenerateRequest request) {
    Stream s = new Stream();
    channel.eventLoop().execute(() -> frames.open(s, request));
    return s;
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
  }

  /** One Generate stream. Its fields are written on the client's event loop. */
  public final class Stream {
    public final List<GenerateResponse> messages = new CopyOnWriteArrayList<>();
    public final CompletableFuture<TestDaemon.Status> done = new CompletableFuture<>();
    private final AtomicLong received = new AtomicLong();
    /** Event-loop confined: the bytes of a message not complete yet, the stream, the credit returned, and whether to return it at once. */
    private final ByteBuf partial = Unpooled.buffer();
    private Http2FrameStream stream;
    private long credited;
    private boolean reading;

    /** Flow-controlled bytes received on the stream so far. */
    public long receivedBytes() {
      return received.get();
    }

    /** The reader catches up: returns the credit of everything received, and from now on of each frame as it comes. */
    public void resume() {
      channel.eventLoop().execute(() -> {
        reading = true;
        frames.credit(this);
      });
    }

    /** Resets the stream (RST_STREAM CANCEL), as a client cancel does. */
    public void cancel() {
      channel.eventLoop().execute(() -> frames.reset(this));
    }

    public TestDaemon.Status await() {
      return done.orTimeout(Awaits.PATIENCE.toSeconds(), TimeUnit.SECONDS).join();
    }

    public String text() {
      StringBuilder s = new StringBuilder();
      messages.forEach(m -> s.append(m.getText()));
      return s.toString();
    }

    public GenerateResponse last() {
      return messages.get(messages.size() - 1);
    }

    /** Decodes every complete length-prefixed message in {@link #partial}. */
    private void decode() {
      while (partial.readableBytes() >= 5) {
        int length = partial.getInt(partial.readerIndex() + 1);
        if (partial.readableBytes() < 5 + length) {
          break;
        }
        partial.skipBytes(5);
        byte[] bytes = new byte[length];
        partial.readBytes(bytes);
        try {
          messages.add(GenerateResponse.parseFrom(bytes));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          done.completeExceptionally(e);
        }
      }
      partial.discardReadBytes();
    }
  }

  private final class Frames extends Http2ChannelDuplexHandler {
    private final Map<Http2FrameStream, Stream> streams = new IdentityHashMap<>();
    private ChannelHandlerContext ctx;

    @Override
    public void handlerAdded0(ChannelHandlerContext c) {
      ctx = c;
    }

    void open(Stream s, GenerateRequest request) {
      s.stream = newStream();
      streams.put(s.stream, s);
      Http2Headers headers = new DefaultHttp2Headers().method("POST").scheme("http").authority("127.0.0.1:" + port)
          .path("/edgelm.v1.Generation/Generate").add("content-type", "application/grpc").add("te", "trailers");
      ctx.write(new DefaultHttp2HeadersFrame(headers).stream(s.stream));
      byte[] body = request.toByteArray();
      ByteBuf framed = Unpooled.buffer(5 + body.length).writeByte(0).writeInt(body.length).writeBytes(body);
      ctx.writeAndFlush(new DefaultHttp2DataFrame(framed, true).stream(s.stream));
    }

    void credit(Stream s) {
      long owed = s.received.get() - s.credited;
      if (owed > 0 && !s.done.isDone()) {
        s.credited += owed;
        ctx.writeAndFlush(new DefaultHttp2WindowUpdateFrame((int) owed).stream(s.stream));
      }
    }

    void reset(Stream s) {
      if (!s.done.isDone()) {
        ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL).stream(s.stream));
        s.done.complete(new TestDaemon.Status(GrpcStatus.CANCELLED, "cancelled by the client"));
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
      try {
        if (msg instanceof Http2DataFrame data) {
          Stream s = streams.get(data.stream());
          if (s != null) {
            s.received.addAndGet(data.initialFlowControlledBytes());
            s.partial.writeBytes(data.content());
            s.decode();
            if (s.reading && !data.isEndStream()) {
              credit(s);
            }
          }
        } else if (msg instanceof Http2HeadersFrame h && h.isEndStream()) {
          Stream s = streams.get(h.stream());
          if (s != null) {
            CharSequence code = h.headers().get("grpc-status");
            CharSequence message = h.headers().get("grpc-message");
            s.done.complete(new TestDaemon.Status(code == null ? GrpcStatus.UNKNOWN : GrpcStatus.valueOf(Integer.parseInt(code.toString())),
                message == null ? null : URLDecoder.decode(message.toString().replace("+", "%2B"), StandardCharsets.UTF_8)));
          }
        } else if (msg instanceof Http2ResetFrame r) {
          Stream s = streams.get(r.stream());
          if (s != null) {
            s.done.complete(new TestDaemon.Status(GrpcStatus.CANCELLED, "reset " + r.errorCode()));
          }
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
      streams.values().forEach(s -> s.done.completeExceptionally(cause));
      c.close();
    }
  }
}
