package dev.edgelm.engine.chat;

import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.proto.v1.ChatSpec;

/**
 * The text of the special tokens a template may write ({@code bos_token}, {@code eos_token},
 * {@code unk_token}, {@code pad_token}); null where the model has none, which a template sees as
 * undefined.
 */
public record SpecialTokens(String bos, String eos, String unk, String pad) {
  public static final SpecialTokens NONE = new SpecialTokens(null, null, null, null);

  /** The tokens a package's {@link ChatSpec} names (empty strings are unset). */
  public static SpecialTokens of(ChatSpec chat) {
    return new SpecialTokens(orNull(chat.getBosToken()), orNull(chat.getEosToken()), orNull(chat.getUnkToken()),
        orNull(chat.getPadToken()));
  }

  /** BOS and EOS as the tokenizer spells them, for packages whose checkpoint had no tokenizer_config.json. */
  public static SpecialTokens of(Tokenizer tokenizer) {
    return new SpecialTokens(tokenizer.bosId().isPresent() ? tokenizer.piece(tokenizer.bosId().getAsInt()) : null,
        tokenizer.eosId().isPresent() ? tokenizer.piece(tokenizer.eosId().getAsInt()) : null, null, null);
  }

  /** These tokens, each unset one taken from {@code fallback}. */
  public SpecialTokens orElse(SpecialTokens fallback) {
    return new SpecialTokens(bos != null ? bos : fallback.bos, eos != null ? eos : fallback.eos, unk != null ? unk : fallback.unk,
        pad != null ? pad : fallback.pad);
  }

  private static String orNull(String s) {
    return s.isEmpty() ? null : s;
  }
}
