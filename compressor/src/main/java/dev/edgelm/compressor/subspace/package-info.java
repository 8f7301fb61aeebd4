/**
 * The {@code subspace} step: a smaller hidden size by one orthogonal projection of the whole model
 * (TCSP, "Transformer Compression via Subspace Projection"), done post-training on calibration text.
 *
 * <h2>1. The fold: a rotation-invariant stream, exactly ({@link RotationFold})</h2>
 *
 * A LayerNorm reads LN(h) = γ ⊙ C·h / √(‖C·h‖²/D + ε) + β with C = I − 11ᵀ/D. If every vector
 * written into the stream is already centred, C·h = h and the LayerNorm is an RMSNorm followed by
 * γ and β. So, for GPT-2: both embedding tables (E ← E·C, P ← P·C, row by row) and every writer
 * (attn.out and mlp.down: W ← W·C, b ← b·C) are centred. Each norm's γ and β then go into its
 * readers, y = (n ⊙ γ + β)·W + b = n·(diag(γ)W) + (βW + b): qkv after the attention norm, up
 * (and gate) after the MLP norm. For Llama the RMSNorm's γ goes into the readers the same way and
 * nothing is centred. Every norm is left an RMSNorm of weight 1 with the same ε, which commutes
 * with any orthogonal d×d Q: RMSNorm(h·Q) = RMSNorm(h)·Q.
 *
 * <p>The head reads the final norm. An untied head takes γ and β as any reader. A tied head cannot:
 * its table is the one the lookup reads, now centred, and the final γ, β would have to be folded
 * into that same table. The fold keeps the one table and puts a {@link
 * dev.edgelm.compressor.ir.HeadAdapter} before the head: with u = n ⊙ γ + β and m the rows' means
 * of the original E (E = E·C + m·1ᵀ), the logits u·Eᵀ = u·(EC)ᵀ + (u·1)·mᵀ. The adapter is the
 * map n ↦ [n·diag(γ) + β | n·γ + Σβ] (d → d + 1) and the vector m: d² + 2d + vocab values, which
 * is exact. (SliceGPT unties the head instead, which for gpt2-fixture would double the table that
 * holds 80 % of its parameters.)
 *
 * <h2>2. The basis ({@link SubspaceCompressor})</h2>
 *
 * The features are the normalised stream at every residual boundary (the inputs of every qkv, up
 * and of the head, all RMSNorms of weight 1 after the fold), captured by ONNX Runtime over the
 * calibration text. Their second moments XᵀX/N are summed over boundaries (all layers, all
 * positions: TCSP's one global projection), and Q (d×K) is the top-K eigenvectors. The second moment
 * rather than a covariance with the token mean removed: RMSNorm and the linear maps see the raw
 * vectors (after GPT-2's fold every vector is centred across features anyway). The issue's
 * "damped covariance" is not damped: λI moves no eigenvector. K is rounded to a multiple of 16.
 *
 * <h2>3. The projection ({@link Projection})</h2>
 *
 * Tables and writers are multiplied by Q on the right (E·Q, P·Q, W·Q, b·Q), readers by Qᵀ on the
 * left (QᵀW). The K-wide norm must divide by the D-wide root mean square the readers were fitted to:
 * with h_K = h·Q, √(‖h_K‖²/D + ε) = √(K/D)·√(‖h_K‖²/K + ε·D/K), so the K-wide RMSNorm takes
 * ε·D/K and √(D/K) is folded into every reader (and the adapter). The adapter becomes
 * √(D/K)·Qᵀ·A·(Q ⊕ 1), K → K + 1, so the tied head reads the K-wide table E·C·Q it shares with the
 * lookup; what that drops is the part of u outside the subspace. {@code --untie-head} instead gives
 * the head its own √(D/K)·Qᵀ·A·[EC | m]ᵀ (K × vocab), which drops nothing of u but stores a second
 * table; both are measured in docs/COMPRESSION.md.
 *
 * <h2>What is TCSP's and what is not</h2>
 *
 * As in the paper: one global projection from sampled features' second moment, applied to every
 * weight, the embeddings included. Substitutes: no fine-tuning after the projection (the
 * distillation issue's job); the exact fold above makes GPT-2's LayerNorm compatible (TCSP works on
 * T5/BERT); the tied-head adapter is this project's; SliceGPT's per-boundary bases
 * ({@code --per-boundary}) are not built and the option is refused.
 */
package dev.edgelm.compressor.subspace;
