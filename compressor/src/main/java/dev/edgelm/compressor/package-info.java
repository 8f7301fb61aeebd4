/**
 * The workstation side of edgelm: import a checkpoint into the model IR ({@code ir}), transform it
 * into compressed variants, emit each as an ONNX decoder package ({@code onnx}), evaluate it against
 * the base, and publish the set as one release.
 *
 * <p>Errors are {@link dev.edgelm.compressor.CompressorException}s.
 */
package dev.edgelm.compressor;
