package dev.edgelm.daemon.internal;

/**
 * The API a stream came through: the value of the {@code edgelm.api} attribute of its metrics and the name of its
 * server span.
 */
enum StreamApi {
  GRPC("grpc", "edgelm.v1.Generation/Generate"),
  COMPLETIONS("openai", "/v1/completions"),
  CHAT("openai", "/v1/chat/completions");

  /** {@code edgelm.api}: grpc, or openai for every HTTP route. */
  final String label;
  /** The gRPC method or the HTTP route. */
  final String route;

  StreamApi(String label, String route) {
    this.label = label;
    this.route = route;
  }
}
