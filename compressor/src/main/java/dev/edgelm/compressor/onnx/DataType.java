package dev.edgelm.compressor.onnx;

/** ONNX tensor element types edgelm writes, with their {@code TensorProto.DataType} codes. */
public enum DataType {
  FLOAT(1, 4),
  UINT8(2, 1),
  INT8(3, 1),
  INT32(6, 4),
  INT64(7, 8),
  BOOL(9, 1),
  FLOAT16(10, 2);

  private final int code;
  private final int bytes;

  DataType(int code, int bytes) {
    this.code = code;
    this.bytes = bytes;
  }

  public int code() {
    return code;
  }

  public int bytesPerElement() {
    return bytes;
  }
}
