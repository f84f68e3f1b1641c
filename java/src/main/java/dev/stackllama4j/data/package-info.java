/**
 * Stack Exchange data for StackLLaMA: a site dump to preference pairs, SFT texts and RL prompts.
 *
 * <h2>Pipeline ({@link dev.stackllama4j.data.Prepare})</h2>
 * Pass 1 streams each Posts.xml with a byte-level XML reader ({@link dev.stackllama4j.data.PostsReader}),
 * converts bodies to text ({@link dev.stackllama4j.data.HtmlToText}: Stack Exchange's HTML read in
 * one pass by {@link dev.stackllama4j.data.HtmlTree}, anything else through jsoup) and feeds an external sort
 * ({@link dev.stackllama4j.data.ExternalSorter}) keyed by (source, question id, question-before-
 * answers, post id). Pass 2 reads the merged runs one question at a time, so questions and answers
 * may appear in any order in the dump and the heap holds only the sort buffer ({@code --buffer-mb})
 * plus one question's answers.
 *
 * <h2>Decisions</h2>
 * <ul>
 *   <li>Score: {@link dev.stackllama4j.data.Scoring} ({@code round(log2(1+Score))}, +1 accepted,
 *       -1 flat for a negative net Score, accepted or not; 0 gives 0).
 *   <li>Question text: title, blank line, body ({@link dev.stackllama4j.data.Template#questionText}).
 *       Every stage formats with {@link dev.stackllama4j.data.Template#format}.
 *   <li>Pairs: all answer pairs with different scores, better one as {@code response_j}; above
 *       {@code --max-pairs-per-question} a seeded partial shuffle keyed by (seed, source, qid) picks.
 *       Answers whose body converts to nothing are skipped ({@code empty_answer}).
 *   <li>Splits: a question with at least one pair goes to one split by a hash of (seed, source, qid).
 *       finetune, reward and evaluation get its pairs (finetune's response_j is the SFT text); rl
 *       gets one prompt line {@code {qid, question, site}} (like StackLLaMA's rl split, drawn from paired
 *       questions). stats.json also counts {@code pairs_sampled_incl_rl}, the pairs of all questions.
 *   <li>Several dumps: ids are per site, so the source index is part of every key; the written
 *       {@code qid} is the site's own post id plus the source index times 2^40 (unique across
 *       sites), and each row names its {@code site}.
 *   <li>Skipped rows are counted by reason in stats.json: {@code missing_id}, {@code bad_number},
 *       {@code missing_post_type}, {@code other_post_type} (tag wikis etc.),
 *       {@code answer_without_parent_id}, {@code missing_score}, {@code missing_body},
 *       {@code unexpected_element}, {@code answer_without_question}, {@code duplicate_question},
 *       {@code duplicate_answer}, {@code empty_answer}. XML that is not well-formed fails with file and
 *       line; outputs are renamed into place only after everything succeeded.
 *   <li>Code blocks keep their indentation but lose trailing spaces per line, and runs of blank
 *       lines collapse to one (as everywhere in the text).
 * </ul>
 *
 * <h2>Other inputs</h2>
 * {@link dev.stackllama4j.data.PairedJsonl} reads the {@code lvwerra/stack-exchange-paired} schema (and
 * prepare's own output); {@link dev.stackllama4j.data.HhRlhf} reads HH-RLHF chosen/rejected JSONL(.gz)
 * and splits each row into the shared prompt and the two responses.
 *
 * <h2>Synthetic site</h2>
 * {@link dev.stackllama4j.data.SynthSite}: arithmetic and unit-conversion questions, answers that lead
 * with their number, votes and acceptance following correctness with noise, and
 * {@link dev.stackllama4j.data.SynthSite#isCorrect} for true quality.
 */
package dev.stackllama4j.data;
