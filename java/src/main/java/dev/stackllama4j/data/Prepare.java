package dev.stackllama4j.data;

import dev.stackllama4j.io.AtomicFileSet;
import dev.stackllama4j.io.FolderLock;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stack Exchange dump(s) to StackLLaMA's data: pass 1 streams each Posts.xml, converts bodies to
 * text and feeds an {@link ExternalSorter} keyed by question; pass 2 walks the sorted stream one
 * question at a time (question first, then its answers), scores answers, samples pairs and writes
 * the split files. Heap is the sort buffer plus one question's answers, whatever the dump size.
 */
public final class Prepare {
    private Prepare() {}

    public static final String ANSWER_WITHOUT_QUESTION = "answer_without_question";
    public static final String DUPLICATE_QUESTION = "duplicate_question";
    public static final String DUPLICATE_ANSWER = "duplicate_answer";
    public static final String EMPTY_ANSWER = "empty_answer";

    /**
     * {@code pairedJsonl}: files in the stack-exchange-paired schema, {@code hhJsonl}: HH-RLHF
     * chosen/rejected files; both already paired, so they are only split (by qid, or by row for HH,
     * whose rows have no id) and re-written, without the pair cap.
     */
    public record Config(List<Path> posts, Path out, long seed, int maxPairsPerQuestion, Splits splits,
            long bufferBytes, int fanIn, Path tmpDir, List<Path> pairedJsonl, List<Path> hhJsonl) {
        public Config(List<Path> posts, Path out, long seed, int maxPairsPerQuestion, Splits splits, long bufferBytes,
                int fanIn, Path tmpDir) {
            this(posts, out, seed, maxPairsPerQuestion, splits, bufferBytes, fanIn, tmpDir, List.of(), List.of());
        }

        public Config {
            if (posts.isEmpty() && pairedJsonl.isEmpty() && hhJsonl.isEmpty()) throw new IllegalArgumentException("no input given");
            if (maxPairsPerQuestion < 1) throw new IllegalArgumentException("max pairs per question must be >= 1, got " + maxPairsPerQuestion);
        }

        public static Config of(List<Path> posts, Path out, long seed) {
            return new Config(posts, out, seed, 10, Splits.defaults(), 64L << 20, 64, null);
        }
    }

    /** Counts that go to stats.json; everything in it is a function of the input and the seed. */
    public static final class Stats {
        public long bytesRead;
        public long rows;
        public long questions;
        public long answers;
        public long questionsWithPairs;
        /** Pairs sampled over all questions, rl's included (rl writes prompts, not its pairs). */
        public long pairsSampled;
        public long sortRuns;
        public final SkipCounter skipped = new SkipCounter();
        public final Map<String, Long> questionsPerSplit = new LinkedHashMap<>();
        public final Map<String, Long> pairsPerSplit = new LinkedHashMap<>();
        public long rlPrompts;
        /** Rows read from paired / HH-RLHF JSONL inputs. */
        public long jsonlRows;

        Stats() {
            for (String s : Splits.NAMES) {
                questionsPerSplit.put(s, 0L);
                if (!s.equals(Splits.RL)) pairsPerSplit.put(s, 0L);
            }
        }

        public long pairs() {
            long t = 0;
            for (long v : pairsPerSplit.values()) t += v;
            return t;
        }

        Map<String, Object> toJson(Config c) {
            Map<String, Object> m = new LinkedHashMap<>();
            List<String> inputs = new ArrayList<>();
            for (Path p : c.posts()) inputs.add(p.getFileName().toString());
            for (Path p : c.pairedJsonl()) inputs.add(p.getFileName().toString());
            for (Path p : c.hhJsonl()) inputs.add(p.getFileName().toString());
            m.put("inputs", inputs);
            m.put("input_bytes", bytesRead);
            m.put("seed", c.seed());
            m.put("max_pairs_per_question", c.maxPairsPerQuestion());
            m.put("split_proportions", c.splits().proportions());
            m.put("rows", rows);
            m.put("questions", questions);
            m.put("answers", answers);
            m.put("jsonl_rows", jsonlRows);
            m.put("questions_with_pairs", questionsWithPairs);
            m.put("questions_per_split", questionsPerSplit);
            m.put("pairs_per_split", pairsPerSplit);
            m.put("pairs", pairs());
            m.put("pairs_sampled_incl_rl", pairsSampled);
            m.put("rl_prompts", rlPrompts);
            m.put("skipped_total", skipped.total());
            m.put("skipped", skipped.asMap());
            return m;
        }
    }

    public static Stats run(Config c) throws IOException {
        return run(c, System.err);
    }

    /** Runs with {@code c.out()} locked ({@link FolderLock}); notices go to {@code log}. */
    public static Stats run(Config c, java.io.PrintStream log) throws IOException {
        try (FolderLock lock = FolderLock.acquire(c.out().toAbsolutePath(), log)) {
            return runLocked(c);
        }
    }

    private static Stats runLocked(Config c) throws IOException {
        Stats st = new Stats();
        Path out = c.out().toAbsolutePath();
        Path tmpRoot = c.tmpDir() != null ? c.tmpDir() : out;
        Files.createDirectories(tmpRoot);
        Path sortDir = Files.createTempDirectory(tmpRoot, ".prepare-sort-");
        try (ExternalSorter sorter = new ExternalSorter(sortDir, c.bufferBytes(), c.fanIn())) {
            for (int src = 0; src < c.posts().size(); src++) readOne(c.posts().get(src), src, sorter, st);
            Iterator<SortRecord> sorted = sorter.sorted();
            st.sortRuns = sorter.spills();
            try (AtomicFileSet files = new AtomicFileSet()) {
                Map<String, JsonGenerator> gens = new LinkedHashMap<>();
                JsonFactory jf = new JsonFactory();
                for (String s : Splits.NAMES) {
                    Writer w = files.open(out.resolve(s + ".jsonl"));
                    JsonGenerator g = jf.createGenerator(w);
                    g.setRootValueSeparator(null);
                    gens.put(s, g);
                }
                Writer statsWriter = files.open(out.resolve("stats.json"));
                walk(sorted, c, st, gens);
                int src = c.posts().size();
                for (Path p : c.pairedJsonl()) readPaired(p, src++, c, st, gens);
                for (Path p : c.hhJsonl()) readHh(p, src++, c, st, gens);
                for (JsonGenerator g : gens.values()) g.flush();
                ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                statsWriter.write(om.writeValueAsString(st.toJson(c)));
                statsWriter.write("\n");
                if (st.pairs() == 0 && st.rlPrompts == 0)
                    throw new DataFormatException(st.toJson(c).get("inputs") + ": no preference pairs and no prompts could be made from "
                            + st.rows + " XML rows and " + st.jsonlRows + " JSONL rows (" + st.questions + " questions, " + st.answers
                            + " answers; skipped rows by reason: " + st.skipped.asMap() + ")");
                files.commit();
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return st;
    }

    private static void readOne(Path file, int src, ExternalSorter sorter, Stats st) throws IOException {
        if (!Files.isRegularFile(file)) throw new DataFormatException(file + ": no such file");
        st.bytesRead += Files.size(file);
        long group0 = (long) src << 40; // ids of different sites clash; the source keeps them apart
        st.rows += PostsReader.read(file, st.skipped, p -> {
            try {
                if (p.isQuestion()) {
                    st.questions++;
                    String q = Template.questionText(HtmlToText.convert(p.title()), HtmlToText.convert(p.body()));
                    sorter.add(new SortRecord(group0 | p.id(), SortRecord.QUESTION, p.id(), p.acceptedAnswerId(), q));
                } else {
                    st.answers++;
                    sorter.add(new SortRecord(group0 | p.parentId(), SortRecord.ANSWER, p.id(), p.score(), HtmlToText.convert(p.body())));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    public static final String HH_NO_SHARED_PROMPT = "hh_no_shared_prompt";

    private static void readPaired(Path file, int src, Config c, Stats st, Map<String, JsonGenerator> gens) throws IOException {
        st.bytesRead += Files.size(file);
        String[] lastRl = {null};
        String[] lastQ = {null};
        try {
            st.jsonlRows += PairedJsonl.read(file, r -> {
                try {
                    // ids in this schema are integers; any other text still hashes deterministically
                    long qid = parseOrHash(r.qid());
                    boolean newQuestion = !r.qid().equals(lastQ[0]);
                    lastQ[0] = r.qid();
                    emit(c, st, gens, src, qid, r.question(), r.responseJ(), r.responseK(), r.scoreJ(), r.scoreK(), newQuestion, lastRl);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static void readHh(Path file, int src, Config c, Stats st, Map<String, JsonGenerator> gens) throws IOException {
        st.bytesRead += Files.size(file);
        long[] row = {0};
        String[] lastRl = {null};
        try {
            st.jsonlRows += HhRlhf.read(file, r -> {
                row[0]++;
                if (r.prompt() == null) {
                    st.skipped.add(HH_NO_SHARED_PROMPT);
                    return;
                }
                try {
                    emit(c, st, gens, src, row[0], r.prompt(), r.chosenResponse(), r.rejectedResponse(), null, null, true, lastRl);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static long parseOrHash(String qid) {
        try {
            return Long.parseLong(qid.strip());
        } catch (NumberFormatException e) {
            return Splits.mix(qid.hashCode()) & ((1L << 40) - 1);
        }
    }

    private static void emit(Config c, Stats st, Map<String, JsonGenerator> gens, int src, long qid, String question,
            String j, String k, Integer sj, Integer sk, boolean newQuestion, String[] lastRl) throws IOException {
        String split = c.splits().of(src, qid, c.seed());
        if (newQuestion) {
            st.questionsWithPairs++;
            st.questionsPerSplit.merge(split, 1L, Long::sum);
        }
        st.pairsSampled++;
        JsonGenerator g = gens.get(split);
        if (split.equals(Splits.RL)) {
            String key = qid + "/" + question;
            if (key.equals(lastRl[0])) return; // one prompt per question (rows of a question are adjacent)
            lastRl[0] = key;
            g.writeStartObject();
            g.writeNumberField("qid", qid);
            g.writeStringField("question", question);
            g.writeEndObject();
            g.writeRaw('\n');
            st.rlPrompts++;
            return;
        }
        g.writeStartObject();
        g.writeNumberField("qid", qid);
        g.writeStringField("question", question);
        g.writeStringField("response_j", j);
        g.writeStringField("response_k", k);
        if (sj != null) g.writeNumberField("score_j", sj);
        if (sk != null) g.writeNumberField("score_k", sk);
        g.writeEndObject();
        g.writeRaw('\n');
        st.pairsPerSplit.merge(split, 1L, Long::sum);
    }

    private static void walk(Iterator<SortRecord> it, Config c, Stats st, Map<String, JsonGenerator> gens) throws IOException {
        SortRecord next = it.hasNext() ? it.next() : null;
        List<PairSampler.Answer> answers = new ArrayList<>();
        while (next != null) {
            long group = next.group();
            SortRecord question = null;
            answers.clear();
            long lastAnswerId = Long.MIN_VALUE;
            while (next != null && next.group() == group) {
                SortRecord r = next;
                next = it.hasNext() ? it.next() : null;
                if (r.kind() == SortRecord.QUESTION) {
                    if (question != null) st.skipped.add(DUPLICATE_QUESTION);
                    else question = r;
                    continue;
                }
                if (question == null) {
                    st.skipped.add(ANSWER_WITHOUT_QUESTION);
                    continue;
                }
                if (r.id() == lastAnswerId) {
                    st.skipped.add(DUPLICATE_ANSWER);
                    continue;
                }
                lastAnswerId = r.id();
                if (r.text().isBlank()) {
                    st.skipped.add(EMPTY_ANSWER);
                    continue;
                }
                boolean accepted = question.value() != 0 && question.value() == r.id();
                answers.add(new PairSampler.Answer(r.id(), Scoring.score(r.value(), accepted), r.text()));
            }
            if (question == null) continue;
            int src = (int) (group >>> 40);
            long qid = question.id();
            List<PairSampler.Pair> pairs = PairSampler.pairs(answers, c.maxPairsPerQuestion(), c.seed(), src, qid);
            if (pairs.isEmpty()) continue;
            st.questionsWithPairs++;
            st.pairsSampled += pairs.size();
            String split = c.splits().of(src, qid, c.seed());
            st.questionsPerSplit.merge(split, 1L, Long::sum);
            JsonGenerator g = gens.get(split);
            if (split.equals(Splits.RL)) {
                g.writeStartObject();
                g.writeNumberField("qid", qid);
                g.writeStringField("question", question.text());
                g.writeEndObject();
                g.writeRaw('\n');
                st.rlPrompts++;
                continue;
            }
            for (PairSampler.Pair p : pairs) {
                g.writeStartObject();
                g.writeNumberField("qid", qid);
                g.writeStringField("question", question.text());
                g.writeStringField("response_j", p.better().text());
                g.writeStringField("response_k", p.worse().text());
                g.writeNumberField("score_j", p.better().score());
                g.writeNumberField("score_k", p.worse().score());
                g.writeEndObject();
                g.writeRaw('\n');
            }
            st.pairsPerSplit.merge(split, (long) pairs.size(), Long::sum);
        }
    }
}
