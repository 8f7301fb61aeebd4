package dev.edgelm.engine;

import java.time.Duration;

/**
 * Timings of a generation, from its {@link GenerationRequest#ticker()}.
 *
 * @param timeToFirstToken from {@link Generation#start} to the first sampled token (prefill
 *     included); zero until there is one
 * @param decodeTokensPerSecond tokens after the first per second spent inside
 *     {@link Generation#next()} producing them (pauses between steps, e.g. a slow reader, are not
 *     counted); zero until there are two tokens
 * @param total from {@link Generation#start} to the end (or to now while running)
 */
public record Timings(Duration timeToFirstToken, double decodeTokensPerSecond, Duration total) {}
