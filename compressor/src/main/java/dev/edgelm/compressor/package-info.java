/** edgelm compressor. */
package dev.edgelm.compressor;
