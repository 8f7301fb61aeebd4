package dev.edgelm.hub;

/** What a garbage collection of the local store removed and kept. */
public record GcResult(int blobsRemoved, long bytesFreed, int packagesRemoved, int partialsRemoved, int blobsKept, long bytesKept) {}
