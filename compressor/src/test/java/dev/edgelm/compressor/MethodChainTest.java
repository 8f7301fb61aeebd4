package dev.edgelm.compressor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.kron.KronPreset;
import dev.edgelm.compressor.quant.Algorithm;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Text to methods: where options go, and the one-line refusals. */
class MethodChainTest {
  private static List<Method> parse(String chain, Map<String, String> options) {
    return MethodChain.parse(chain, options, "--", 2, false);
  }

  private static String refusal(String chain, Map<String, String> options) {
    return assertThrows(UsageException.class, () -> parse(chain, options)).getMessage();
  }

  @Test
  void parse_kronThenInt4_routesPlainAndPrefixedOptionsToTheirSteps() {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("preset", "auto");
    o.put("target-ratio", "0.5");
    o.put("int4.group-size", "64");
    o.put("algo", "gptq");
    List<Method> chain = parse("kron, INT4", o);
    Method.Kronecker k = assertInstanceOf(Method.Kronecker.class, chain.get(0));
    Method.Quantization q = assertInstanceOf(Method.Quantization.class, chain.get(1));
    assertEquals(KronPreset.AUTO, k.options().preset());
    assertEquals(0.5, k.options().targetRatio());
    assertEquals(64, q.options().groupSize());
    assertEquals(Algorithm.GPTQ, q.options().algorithm());
    assertEquals(2, q.options().threads());
    assertEquals("kron,int4", MethodChain.name(chain));
    assertEquals("kron-auto-int4-g64-gptq", Compressor.defaultId(chain, false));
  }

  @Test
  void parse_optionTakenByTwoSteps_mustBePrefixed() {
    assertEquals("--algo is taken by more than one step of int8,int4; prefix it with the step, e.g. --int8.algo",
        refusal("int8,int4", Map.of("algo", "gptq")));
  }

  @Test
  void parse_badChainsAndOptions_sayWhatIsWrong() {
    assertTrue(refusal("int4,kron", Map.of()).contains("--method int4,kron: kron cannot follow int4"));
    assertTrue(refusal("kron,kron", Map.of()).contains("kron cannot follow kron: the layers are already factored"));
    assertTrue(refusal("kron,,int4", Map.of()).startsWith("unknown method '' in --method kron,,int4"));
    assertEquals("--kron.group-size: kron has no option 'group-size'; it applies to --method int8/int4",
        refusal("kron,int4", Map.of("kron.group-size", "64")));
    assertEquals("--preset does not apply to --method int4; it applies to --method kron", refusal("int4", Map.of("preset", "auto")));
    assertEquals("--group-size must be an integer, got 'wide'", refusal("int4", Map.of("group-size", "wide")));
  }
}
