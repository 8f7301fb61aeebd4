/** edgelm daemon. */
package dev.edgelm.daemon;
