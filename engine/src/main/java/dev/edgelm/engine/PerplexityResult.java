package dev.edgelm.engine;

/**
 * Perplexity of a model on a {@link ScoringPlan}.
 *
 * @param scoredTokens targets scored
 * @param meanNll mean negative log-likelihood per target, natural log
 * @param perplexity {@code exp(meanNll)}
 */
public record PerplexityResult(long scoredTokens, double meanNll, double perplexity) {}
