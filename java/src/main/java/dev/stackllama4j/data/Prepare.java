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
 * question at a time (question first, then its answers), scores answers and samples pairs; the
 * rows of each split are then shuffled (seeded, see {@link ShuffledRows}) into the split files.
 * Heap is the sort buffer plus one question's answers, whatever the dump size.
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
            long bufferBytes, int fanIn, Path tmpDir, List<Path> pairedJsonl, List<Path> hhJsonl, int threads) {
        /** {@code threads} 0: one HTML converter per available core. */
        public Config(List<Path> posts, Path out, long seed, int maxPairsPerQuestion, Splits splits, long bufferBytes,
                int fanIn, Path tmpDir, List<Path> pairedJsonl, List<Path> hhJsonl) {
            this(posts, out, seed, maxPairsPerQuestion, splits, bufferBytes, fanIn, tmpDir, pairedJsonl, hhJsonl, 0);
        }

        public Config(List<Path> posts, Path out, long seed, int maxPairsPerQuestion, Splits splits, long bufferBytes,
                int fanIn, Path tmpDir) {
            this(posts, out, seed, maxPairsPerQuestion, splits, bufferBytes, fanIn, tmpDir, List.of(), List.of());
        }

        public Config {
            if (posts.isEmpty() && pairedJsonl.isEmpty() && hhJsonl.isEmpty()) throw new IllegalArgumentException("no input given");
            if (threads < 0) throw new IllegalArgumentException("threads must be >= 0 (0: one per core), got " + threads);
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
        /**
         * Seconds of pass 1 (read, convert, sort runs) and pass 2 (merge, score, pair, write): wall,
         * the JVM's CPU (every thread: converters, JIT compiler, GC) and the calling thread's CPU.
         * Not in stats.json, which depends only on the input and the seed.
         */
        public double pass1Wall, pass1Cpu, pass1MainCpu, pass2Wall, pass2Cpu, pass2MainCpu;

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

    /** Told of pass 1's progress: XML bytes read of all inputs' total, and questions plus answers read so far. */
    public interface Progress {
        void update(long bytesDone, long bytesTotal, long rows);
    }

    public static Stats run(Config c) throws IOException {
        return run(c, System.err);
    }

    public static Stats run(Config c, java.io.PrintStream log) throws IOException {
        return run(c, log, null);
    }

    /**
     * Runs with {@code c.out()} locked ({@link FolderLock}); notices go to {@code log},
     * {@code progress} (may be null) hears of pass 1 about every megabyte.
     */
    public static Stats run(Config c, java.io.PrintStream log, Progress progress) throws IOException {
        try (FolderLock lock = FolderLock.acquire(c.out().toAbsolutePath(), log)) {
            return runLocked(c, progress);
        }
    }

    /** Every site the {@code --posts} paths stand for, in order; a site's index is its source number. */
    static List<PostsSource> sources(Config c) throws IOException {
        List<PostsSource> all = new ArrayList<>();
        for (Path p : c.posts()) all.addAll(PostsSource.resolve(p));
        if (all.size() >= 1 << 23) throw new DataFormatException("too many sites: " + all.size());
        return all;
    }

    private static Stats runLocked(Config c, Progress progress) throws IOException {
        Stats st = new Stats();
        List<PostsSource> sources = sources(c);
        long total = 0;
        for (PostsSource s : sources) total += s.xmlBytes();
        Path out = c.out().toAbsolutePath();
        Path tmpRoot = c.tmpDir() != null ? c.tmpDir() : out;
        Files.createDirectories(tmpRoot);
        Path sortDir = Files.createTempDirectory(tmpRoot, ".prepare-sort-");
        try (ExternalSorter sorter = new ExternalSorter(sortDir, c.bufferBytes(), c.fanIn())) {
            int threads = c.threads() > 0 ? c.threads() : defaultThreads(Runtime.getRuntime().availableProcessors());
            java.util.concurrent.ExecutorService pool = threads > 1 ? java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "prepare-convert");
                t.setDaemon(true);
                return t;
            }) : null;
            Clock clock = new Clock();
            try {
                for (int src = 0; src < sources.size(); src++) readOne(sources.get(src), src, sorter, st, total, progress, pool, threads);
            } finally {
                if (pool != null) pool.shutdownNow();
            }
            double[] t1 = clock.lap();
            st.pass1Wall = t1[0];
            st.pass1Cpu = t1[1];
            st.pass1MainCpu = t1[2];
            Iterator<SortRecord> sorted = sorter.sorted();
            st.sortRuns = sorter.spills();
            try (AtomicFileSet files = new AtomicFileSet();
                    ExternalSorter shuffle = new ExternalSorter(Files.createTempDirectory(tmpRoot, ".prepare-shuffle-"),
                            Math.max(1024, c.bufferBytes() / 2), c.fanIn())) {
                Map<String, JsonGenerator> gens = new LinkedHashMap<>();
                JsonFactory jf = new JsonFactory();
                for (int i = 0; i < Splits.NAMES.size(); i++) {
                    JsonGenerator g = jf.createGenerator(new ShuffledRows(shuffle, i, c.seed()));
                    g.setRootValueSeparator(null);
                    gens.put(Splits.NAMES.get(i), g);
                }
                Writer statsWriter = files.open(out.resolve("stats.json"));
                walk(sorted, c, st, gens, sources);
                sorter.close(); // pass 2 is over: its merge buffers go before the next sort opens its own
                int src = sources.size();
                for (Path p : c.pairedJsonl()) readPaired(p, src++, c, st, gens, tmpRoot);
                for (Path p : c.hhJsonl()) readHh(p, src++, c, st, gens);
                for (JsonGenerator g : gens.values()) g.flush();
                List<Writer> splitFiles = new ArrayList<>();
                for (String s : Splits.NAMES) splitFiles.add(files.open(out.resolve(s + ".jsonl")));
                for (Iterator<SortRecord> rows = shuffle.sorted(); rows.hasNext(); ) {
                    SortRecord r = rows.next();
                    Writer w = splitFiles.get((int) (r.group() >>> ShuffledRows.SPLIT_SHIFT));
                    w.write(r.text());
                    w.write('\n');
                }
                ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                statsWriter.write(om.writeValueAsString(st.toJson(c)));
                statsWriter.write("\n");
                double[] t2 = clock.lap();
                st.pass2Wall = t2[0];
                st.pass2Cpu = t2[1];
                st.pass2MainCpu = t2[2];
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

    /**
     * The rows of one split, shuffled globally with the seed as StackLLaMA's data loader does (so
     * a question's pairs, and repeated answer texts, do not sit side by side): each row goes to an
     * {@link ExternalSorter} keyed by (split, a seeded hash of its index in the split), so the
     * order is a seeded permutation and the heap stays bounded whatever the dump size.
     */
    static final class ShuffledRows extends Writer {
        static final int SPLIT_SHIFT = 56;
        private final ExternalSorter sorter;
        private final long split, seed;
        private final StringBuilder line = new StringBuilder();
        private long rows;

        ShuffledRows(ExternalSorter sorter, int split, long seed) {
            this.sorter = sorter;
            this.split = split;
            this.seed = seed;
        }

        @Override
        public void write(char[] buf, int off, int len) throws IOException {
            for (int i = off; i < off + len; i++) {
                if (buf[i] != '\n') {
                    line.append(buf[i]);
                    continue;
                }
                long key = Splits.mix(Splits.mix(seed * 0x9E3779B97F4A7C15L + split) + rows) & ((1L << SPLIT_SHIFT) - 1);
                sorter.add(new SortRecord((split << SPLIT_SHIFT) | key, SortRecord.ANSWER, rows++, 0, line.toString()));
                line.setLength(0);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    }

    /** Posts per conversion task of pass 1's pipeline. */
    static final int BATCH = 256;

    /**
     * Pass 1 for one site. With one thread: parse, convert and sort in turn. With more: this thread
     * parses and hands batches of {@link #BATCH} posts to {@code threads} converters (HTML to text),
     * then takes the converted batches back in input order and feeds the sorter, so the sorter sees
     * the same sequence whatever the thread count. At most {@code 2 * threads} batches are in flight:
     * parsing waits for the oldest when that many are out (back-pressure, bounded memory), and
     * converts it itself if no converter has started it.
     */
    private static void readOne(PostsSource source, int src, ExternalSorter sorter, Stats st, long total, Progress progress,
            java.util.concurrent.ExecutorService pool, int threads) throws IOException {
        long group0 = (long) src << SITE_SHIFT; // ids of different sites clash; the source keeps them apart
        long before = st.bytesRead;
        long[] seen = {0};
        java.util.ArrayDeque<java.util.concurrent.Future<SortRecord[]>> inFlight = new java.util.ArrayDeque<>();
        List<Post> batch = new ArrayList<>(BATCH);
        try (CountingInput in = new CountingInput(source.open(), n -> {
            if (progress != null && n - seen[0] >= 1 << 20) {
                seen[0] = n;
                progress.update(before + n, total, st.questions + st.answers);
            }
        })) {
            st.rows += PostsReader.read(in, source.describe(), st.skipped, p -> {
                long key = p.isQuestion() ? p.id() : p.parentId();
                if (key >= 1L << SITE_SHIFT)
                    throw new DataFormatException(source.describe() + ": line " + p.line() + ": post id " + key + " is 2^"
                            + SITE_SHIFT + " or more (ids must be below it)");
                if (pool == null) {
                    add(sorter, st, convert(p, group0));
                    return;
                }
                batch.add(p);
                if (batch.size() == BATCH) {
                    List<Post> b = List.copyOf(batch);
                    batch.clear();
                    inFlight.add(pool.submit(() -> convert(b, group0)));
                    if (inFlight.size() >= 2 * threads) drain(inFlight.poll(), sorter, st);
                }
            });
            if (!batch.isEmpty()) {
                List<Post> b = List.copyOf(batch);
                inFlight.add(pool.submit(() -> convert(b, group0)));
            }
            while (!inFlight.isEmpty()) drain(inFlight.poll(), sorter, st);
            st.bytesRead += in.count();
            if (progress != null) progress.update(st.bytesRead, total, st.questions + st.answers);
        } finally {
            for (java.util.concurrent.Future<SortRecord[]> f : inFlight) f.cancel(true);
        }
    }

    private static SortRecord convert(Post p, long group0) {
        if (p.isQuestion()) {
            String q = Template.questionText(HtmlToText.convert(p.title()), HtmlToText.convert(p.body()));
            return new SortRecord(group0 | p.id(), SortRecord.QUESTION, p.id(), p.acceptedAnswerId(), q, p.creationDate());
        }
        return new SortRecord(group0 | p.parentId(), SortRecord.ANSWER, p.id(), p.score(), HtmlToText.convert(p.body()));
    }

    private static SortRecord[] convert(List<Post> batch, long group0) {
        SortRecord[] out = new SortRecord[batch.size()];
        for (int i = 0; i < out.length; i++) out[i] = convert(batch.get(i), group0);
        return out;
    }

    private static void add(ExternalSorter sorter, Stats st, SortRecord r) {
        if (r.kind() == SortRecord.QUESTION) st.questions++;
        else st.answers++;
        try {
            sorter.add(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void drain(java.util.concurrent.Future<SortRecord[]> f, ExternalSorter sorter, Stats st) {
        SortRecord[] rs;
        // a batch no converter has started yet is converted here rather than waited for
        // (FutureTask.run does nothing once a converter has taken it)
        if (f instanceof java.util.concurrent.RunnableFuture<SortRecord[]> task) task.run();
        try {
            rs = f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while converting posts", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
        for (SortRecord r : rs) add(sorter, st, r);
    }

    /** Wall, JVM CPU and this thread's CPU seconds since the last lap. */
    private static final class Clock {
        private final java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        private final java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        private long wall = System.nanoTime(), cpu = processCpu(), main = threads.getCurrentThreadCpuTime();

        private long processCpu() {
            return os instanceof com.sun.management.OperatingSystemMXBean o ? o.getProcessCpuTime() : -1;
        }

        double[] lap() {
            long w = System.nanoTime(), c = processCpu(), m = threads.getCurrentThreadCpuTime();
            double[] r = {(w - wall) / 1e9, (c - cpu) / 1e9, (m - main) / 1e9};
            wall = w;
            cpu = c;
            main = m;
            return r;
        }
    }

    /** A site's question ids live in the low {@value} bits of a question's group and output qid. */
    static final int SITE_SHIFT = 40;

    /** An input stream that counts the bytes read through it and reports the count. */
    private static final class CountingInput extends java.io.FilterInputStream {
        private final java.util.function.LongConsumer onRead;
        private long count;

        CountingInput(java.io.InputStream in, java.util.function.LongConsumer onRead) {
            super(in);
            this.onRead = onRead;
        }

        long count() {
            return count;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) onRead.accept(++count);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) onRead.accept(count += n);
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long k = super.skip(n);
            if (k > 0) onRead.accept(count += k);
            return k;
        }
    }

    /** The stack-exchange-paired {@code date}: the question's CreationDate as YYYY/MM/DD ("" if absent). */
    static String pairedDate(String creationDate) {
        if (creationDate.length() < 10) return "";
        return creationDate.substring(0, 10).replace('-', '/');
    }

    public static final String HH_NO_SHARED_PROMPT = "hh_no_shared_prompt";

    /**
     * A pair file, its rows grouped by question first (an {@link ExternalSorter} keyed by qid, file
     * order kept within a question): a question is counted once and gives one RL prompt even when
     * its rows are spread through the file, as in the shuffled files this class writes.
     */
    private static void readPaired(Path file, int src, Config c, Stats st, Map<String, JsonGenerator> gens, Path tmpRoot)
            throws IOException {
        st.bytesRead += Files.size(file);
        ObjectMapper om = new ObjectMapper();
        String[] lastRl = {null};
        try (ExternalSorter byQuestion = new ExternalSorter(Files.createTempDirectory(tmpRoot, ".prepare-paired-"), c.bufferBytes(),
                c.fanIn())) {
            long[] row = {0};
            st.jsonlRows += PairedJsonl.read(file, r -> {
                try {
                    // ids in this schema are integers; any other text still hashes deterministically
                    byQuestion.add(new SortRecord(parseOrHash(r.qid()), SortRecord.ANSWER, row[0]++, 0, om.writeValueAsString(r)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            long lastQ = 0;
            boolean first = true;
            for (Iterator<SortRecord> it = byQuestion.sorted(); it.hasNext(); ) {
                SortRecord rec = it.next();
                PairedJsonl.Row r = om.readValue(rec.text(), PairedJsonl.Row.class);
                boolean newQuestion = first || rec.group() != lastQ;
                first = false;
                lastQ = rec.group();
                emit(c, st, gens, src, rec.group(), r.question(), r.responseJ(), r.responseK(), r.scoreJ(), r.scoreK(), newQuestion, lastRl);
            }
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

    private static void walk(Iterator<SortRecord> it, Config c, Stats st, Map<String, JsonGenerator> gens, List<PostsSource> sources)
            throws IOException {
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
            int src = (int) (group >>> SITE_SHIFT);
            String site = sources.get(src).site();
            // unique across sites: a site's own id, above it the site's source number (0 for the first)
            long qid = group;
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
                g.writeStringField("site", site);
                g.writeEndObject();
                g.writeRaw('\n');
                st.rlPrompts++;
                continue;
            }
            String date = pairedDate(question.date());
            String questionUrl = "https://" + site + "/questions/" + question.id();
            for (PairSampler.Pair p : pairs) {
                g.writeStartObject();
                g.writeNumberField("qid", qid);
                g.writeStringField("question", question.text());
                g.writeStringField("date", date);
                g.writeArrayFieldStart("metadata");
                g.writeString(questionUrl);
                g.writeString("https://" + site);
                g.writeEndArray();
                g.writeStringField("response_j", p.better().text());
                g.writeStringField("response_k", p.worse().text());
                g.writeNumberField("score_j", p.better().score());
                g.writeNumberField("score_k", p.worse().score());
                g.writeStringField("site", site);
                g.writeEndObject();
                g.writeRaw('\n');
            }
            st.pairsPerSplit.merge(split, (long) pairs.size(), Long::sum);
        }
    }

    /**
     * Converters when {@code --threads} is not given: one per core from 3 cores up; on 1 or 2 cores
     * parse and convert in turn, which measured faster there (46.5-47.7 MB/s against 39.9-41.4 for
     * 2 converters on two idle cores: the JIT compiler and the GC already take the second core,
     * docs/data.md).
     */
    static int defaultThreads(int cores) {
        return cores <= 2 ? 1 : cores;
    }
}
