/** edgelm cli. */
package dev.edgelm.cli;
