/**
 * The {@code edgelm} command line: one subcommand per job ({@code import}, {@code synth},
 * {@code generate}, {@code eval}, …). Every error reaches the user as one line on stderr naming what
 * was wrong and what to do, with a non-zero exit status ({@link dev.edgelm.cli.ExitCodes}).
 */
package dev.edgelm.cli;
