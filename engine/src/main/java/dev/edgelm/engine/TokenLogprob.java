package dev.edgelm.engine;

/** A token id with its log-probability (natural log) under the model's raw distribution. */
public record TokenLogprob(int id, float logprob) {}
