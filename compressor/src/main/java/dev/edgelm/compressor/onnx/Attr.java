package dev.edgelm.compressor.onnx;

import com.google.protobuf.ByteString;
import dev.edgelm.proto.onnx.AttributeProto;
import java.nio.charset.StandardCharsets;

/** Factories for ONNX node attributes. */
public final class Attr {
  private Attr() {}

  public static AttributeProto i(String name, long value) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
  }

  public static AttributeProto f(String name, float value) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
  }

  public static AttributeProto s(String name, String value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.STRING)
        .setS(ByteString.copyFrom(value, StandardCharsets.UTF_8))
        .build();
  }

  public static AttributeProto ints(String name, long... values) {
    AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long v : values) {
      b.addInts(v);
    }
    return b.build();
  }
}
