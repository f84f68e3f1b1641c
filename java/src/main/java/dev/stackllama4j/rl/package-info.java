/**
 * The pure math of PPO with a KL penalty, as TRL's legacy {@code PPOTrainer} computes it:
 * per-token rewards, GAE, whitening, the clipped losses and their gradients, KL controllers,
 * length sampling, EOS truncation, step statistics and the plot of a run.
 *
 * <p>Per-token quantities of one batch are ragged arrays: one row per sample, as long as that
 * sample's response after EOS truncation. There is no padding and no mask; "masked mean over
 * the batch" in TRL is the mean over every element of every row here.
 */
package dev.stackllama4j.rl;
