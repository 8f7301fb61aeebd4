/**
 * The {@code distill} step's options and the service interface the {@code trainer} module
 * implements: recovery of a compressed student's quality by training it against its base.
 */
package dev.edgelm.compressor.distill;
