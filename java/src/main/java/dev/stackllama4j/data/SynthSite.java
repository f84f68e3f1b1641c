package dev.stackllama4j.data;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A synthetic Stack Exchange site in the real Posts.xml format, for a demo that must show RLHF
 * doing something measurable on a CPU in minutes. Every question has one objectively correct
 * integer answer (small arithmetic, unit conversion); answers vary in correctness and style, and
 * their votes and acceptance follow correctness with noise, as on a real site. Answers always
 * start with their number ("42. Because 17 + 25 = 42."), so after the template's "Answer: " the
 * verdict sits at a fixed position a tiny model and reward model can learn; {@link #isCorrect}
 * checks it.
 */
public final class SynthSite {
    private SynthSite() {}

    enum Kind { ADD, SUB, MUL, CONV }

    /** Unit conversions: "How many {small} are in N {big}?" = N * factor. */
    private static final String[][] UNITS = {
        {"minutes", "hours", "60"}, {"seconds", "minutes", "60"},
        {"centimeters", "meters", "100"}, {"grams", "kilograms", "1000"}, {"days", "weeks", "7"},
    };

    private static final String[] BODIES = {
        "<p>I need the exact number.</p>", "<p>Please help.</p>", "<p>What is the result?</p>",
    };

    private static final Pattern ARITH = Pattern.compile("What is (\\d+) ([-+*]) (\\d+)\\?");
    private static final Pattern CONV = Pattern.compile("How many (\\w+) are in (\\d+) (\\w+)\\?");
    private static final Pattern LEADING_INT = Pattern.compile("^(-?\\d+)(?![\\d.]\\d)");

    /** A generated question: its title, and the one right answer. */
    public record Question(String title, String body, long truth, String working) {}

    /**
     * How hard the questions are. STANDARD mixes sums and differences up to 20, products up to 9×9
     * and unit conversions. EASY asks only sums of two digits from 1 to 5 (25 facts), titles
     * without a body: a model of a few hundred thousand parameters learns them in a minute, so
     * RLHF's effect on true correctness is measurable on a CPU in minutes.
     */
    public enum Difficulty { STANDARD, EASY }

    static Question question(SplittableRandom rng, Difficulty difficulty) {
        if (difficulty == Difficulty.EASY) {
            // No body: the prompt is the title alone, short enough for a tiny model to learn in a minute.
            int a = 1 + rng.nextInt(5), b = 1 + rng.nextInt(5);
            return new Question("What is " + a + " + " + b + "?", "", a + b, a + " + " + b);
        }
        Kind k = Kind.values()[rng.nextInt(Kind.values().length)];
        String body = BODIES[rng.nextInt(BODIES.length)];
        switch (k) {
            case ADD -> {
                int a = 1 + rng.nextInt(20), b = 1 + rng.nextInt(20);
                return new Question("What is " + a + " + " + b + "?", body, a + b, a + " + " + b);
            }
            case SUB -> {
                int a = 1 + rng.nextInt(20), b = 1 + rng.nextInt(20);
                if (b > a) { int t = a; a = b; b = t; }
                return new Question("What is " + a + " - " + b + "?", body, a - b, a + " - " + b);
            }
            case MUL -> {
                int a = 2 + rng.nextInt(8), b = 2 + rng.nextInt(8);
                return new Question("What is " + a + " * " + b + "?", body, (long) a * b, a + " * " + b);
            }
            default -> {
                String[] u = UNITS[rng.nextInt(UNITS.length)];
                int n = 1 + rng.nextInt(9);
                long f = Long.parseLong(u[2]);
                return new Question("How many " + u[0] + " are in " + n + " " + u[1] + "?", body, n * f, n + " * " + f);
            }
        }
    }

    /** The right answer to a question text (title, title + body, or a whole templated prompt). */
    public static OptionalLong truth(String question) {
        Matcher m = ARITH.matcher(question);
        if (m.find()) {
            long a = Long.parseLong(m.group(1)), b = Long.parseLong(m.group(3));
            return OptionalLong.of(switch (m.group(2)) {
                case "+" -> a + b;
                case "-" -> a - b;
                default -> a * b;
            });
        }
        m = CONV.matcher(question);
        if (m.find()) {
            for (String[] u : UNITS) {
                if (u[0].equals(m.group(1)) && u[1].equals(m.group(3))) return OptionalLong.of(Long.parseLong(m.group(2)) * Long.parseLong(u[2]));
            }
        }
        return OptionalLong.empty();
    }

    /** The number an answer gives: its leading integer (after an optional "Answer:"), if any. */
    public static OptionalLong answerValue(String answer) {
        String a = answer.strip();
        if (a.startsWith("Answer:")) a = a.substring(7).strip();
        Matcher m = LEADING_INT.matcher(a);
        if (!m.find()) return OptionalLong.empty();
        try {
            return OptionalLong.of(Long.parseLong(m.group(1)));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** True when {@code question} is one of this site's and {@code answer} leads with its right number. */
    public static boolean isCorrect(String question, String answer) {
        OptionalLong t = truth(question);
        OptionalLong v = answerValue(answer);
        return t.isPresent() && v.isPresent() && t.getAsLong() == v.getAsLong();
    }

    /** Share of correct answers among the questions this site's checker knows; NaN when it knows none. */
    public static double correctRate(java.util.List<String> questions, java.util.List<String> answers) {
        int correct = 0, checkable = 0;
        for (int i = 0; i < questions.size(); i++) {
            if (truth(questions.get(i)).isEmpty()) continue;
            checkable++;
            if (isCorrect(questions.get(i), answers.get(i))) correct++;
        }
        return checkable == 0 ? Double.NaN : correct / (double) checkable;
    }

    private record Ans(String html, long score, boolean correct, boolean working) {}

    /**
     * A wrong number: half the time a slip (off by 1 or 2, by 10, or a dropped zero), half the time
     * a miscount anywhere within 5 of the truth, so that every plausible wrong number of a question
     * appears on the site and a reward model has to read the arithmetic, not the number's size.
     */
    private static long wrongValue(Question q, SplittableRandom rng) {
        long t = q.truth();
        long v;
        if (rng.nextBoolean()) {
            long[] offsets = {1, -1, 2, -2, 10, -10};
            v = t + offsets[rng.nextInt(offsets.length)];
            if (rng.nextInt(4) == 0 && t >= 10) v = t / 10; // a dropped zero, the classic slip
        } else {
            v = t + (rng.nextBoolean() ? 1 : -1) * (1 + rng.nextInt(5));
        }
        return v == t ? t + 1 : v;
    }

    /**
     * One answer: right with probability 0.45 (a "Not sure" answer, one style in five, is never
     * right). Votes follow correctness alone (+3 right, -3 wrong: scores 2 and -1), and one voter in
     * thirty votes as if the answer were the other way; the asker accepts the first right answer
     * that shows its working (+1). So a preference pair is, but for the voters' errors, a right
     * answer over a wrong one, or an accepted right answer over another right one: a reward model
     * that reads the arithmetic can recover it.
     */
    private static Ans answer(Question q, SplittableRandom rng) {
        boolean correct = rng.nextDouble() < 0.45;
        long v = correct ? q.truth() : wrongValue(q, rng);
        int style = rng.nextInt(5);
        String html = switch (style) {
            case 0 -> "<p>" + v + ". Because " + q.working() + " = " + v + ".</p>";
            case 1 -> "<p>" + v + ". Hope this helps!</p>";
            case 2 -> "<p>" + v + "</p>";
            case 3 -> "<p>" + v + ". Easy, look it up.</p>";
            default -> "<p>Not sure, try a calculator.</p>";
        };
        if (style == 4) correct = false;
        boolean votesAsCorrect = rng.nextInt(30) == 0 ? !correct : correct;
        return new Ans(html, votesAsCorrect ? 3 : -3, correct, style == 0);
    }

    /**
     * A textbook for pretraining: {@code n} questions of the site's kind, each with a right answer
     * in one of the site's styles, as template texts ({@link Template#format}).
     */
    public static List<String> textbook(int n, long seed, Difficulty difficulty) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<String> texts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Question q = question(rng, difficulty);
            long v = q.truth();
            String answer = switch (rng.nextInt(4)) {
                case 0 -> v + ". Because " + q.working() + " = " + v + ".";
                case 1 -> v + ". Hope this helps!";
                case 2 -> String.valueOf(v);
                default -> v + ". Easy, look it up.";
            };
            texts.add(Template.format(Template.questionText(q.title(), q.body().replaceAll("</?p>", "")), answer));
        }
        return texts;
    }

    /** Writes a site of {@code questions} questions to {@code out}; returns the number of rows. */
    public static long write(Writer out, int questions, long seed) throws IOException {
        return write(out, questions, seed, Difficulty.STANDARD);
    }

    public static long write(Writer out, int questions, long seed, Difficulty difficulty) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        BufferedWriter w = new BufferedWriter(out, 1 << 16);
        w.write("\uFEFF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<posts>\n");
        long id = 1, rows = 0;
        List<String> deferred = new ArrayList<>();
        for (int i = 0; i < questions; i++) {
            Question q = question(rng, difficulty);
            int n = 2 + rng.nextInt(4);
            List<Ans> answers = new ArrayList<>();
            for (int j = 0; j < n; j++) answers.add(answer(q, rng));
            long qid = id++;
            // The asker accepts the first right answer that shows its working, if any.
            long accepted = 0;
            for (int j = 0; j < n && accepted == 0; j++)
                if (answers.get(j).correct() && answers.get(j).working()) accepted = qid + 1 + j;
            long qscore = rng.nextInt(6);
            String date = date(qid);
            row(w, "Id", qid, "PostTypeId", 1, accepted != 0 ? "AcceptedAnswerId" : null, accepted, date, qscore, q.body(),
                    q.title(), n);
            rows++;
            // the answers of the previous question come after this one: a reader must not assume
            // a question's answers follow it directly
            for (String d : deferred) w.write(d);
            deferred.clear();
            for (int j = 0; j < n; j++) {
                StringBuilder sb = new StringBuilder();
                Ans a = answers.get(j);
                long aid = id++;
                sb.append("  <row Id=\"").append(aid).append("\" PostTypeId=\"2\" ParentId=\"").append(qid)
                        .append("\" CreationDate=\"").append(date(aid)).append("\" Score=\"").append(a.score())
                        .append("\" Body=\"").append(escape(a.html())).append("\" OwnerUserId=\"").append(1 + (aid % 97))
                        .append("\" LastActivityDate=\"").append(date(aid)).append("\" CommentCount=\"0\" />\n");
                deferred.add(sb.toString());
                rows++;
            }
        }
        for (String d : deferred) w.write(d);
        w.write("</posts>\n");
        w.flush();
        return rows;
    }

    /**
     * Writes the site as a Stack Exchange dump does: a {@code .7z} archive (LZMA2) holding
     * {@code Posts.xml} after another table ({@code Tags.xml}), so readers must find the entry by
     * name. Written beside {@code archive} and renamed over it once complete. Returns the rows.
     */
    public static long writeSevenZ(java.nio.file.Path archive, int questions, long seed, Difficulty difficulty) throws IOException {
        long[] rows = {0};
        dev.stackllama4j.io.AtomicFiles.writeChannel(archive, ch -> {
            // not closed: closing would close the channel before it is forced; finish() completes the archive
            org.apache.commons.compress.archivers.sevenz.SevenZOutputFile z =
                    new org.apache.commons.compress.archivers.sevenz.SevenZOutputFile(ch);
            z.setContentCompression(org.apache.commons.compress.archivers.sevenz.SevenZMethod.LZMA2);
            java.io.OutputStream entry = new java.io.OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    z.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    z.write(b, off, len);
                }
            };
            org.apache.commons.compress.archivers.sevenz.SevenZArchiveEntry tags = new org.apache.commons.compress.archivers.sevenz.SevenZArchiveEntry();
            tags.setName("Tags.xml");
            z.putArchiveEntry(tags);
            entry.write(("\uFEFF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<tags>\n  <row Id=\"1\" TagName=\"math\" Count=\""
                    + questions + "\" />\n</tags>\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            z.closeArchiveEntry();
            org.apache.commons.compress.archivers.sevenz.SevenZArchiveEntry posts = new org.apache.commons.compress.archivers.sevenz.SevenZArchiveEntry();
            posts.setName("Posts.xml");
            z.putArchiveEntry(posts);
            rows[0] = write(new java.io.OutputStreamWriter(entry, java.nio.charset.StandardCharsets.UTF_8), questions, seed, difficulty);
            z.closeArchiveEntry();
            z.finish();
        });
        return rows[0];
    }

    private static void row(Writer w, String idName, long id, String typeName, int type, String accName, long acc,
            String date, long score, String body, String title, int answerCount) throws IOException {
        StringBuilder sb = new StringBuilder(256);
        sb.append("  <row ").append(idName).append("=\"").append(id).append("\" ").append(typeName).append("=\"").append(type).append('"');
        if (accName != null) sb.append(' ').append(accName).append("=\"").append(acc).append('"');
        sb.append(" CreationDate=\"").append(date).append("\" Score=\"").append(score)
                .append("\" ViewCount=\"").append(10 + id % 500).append("\" Body=\"").append(escape(body))
                .append("\" OwnerUserId=\"").append(1 + (id % 97)).append("\" LastActivityDate=\"").append(date)
                .append("\" Title=\"").append(escape(title)).append("\" Tags=\"").append(escape("<math>"))
                .append("\" AnswerCount=\"").append(answerCount).append("\" CommentCount=\"0\" />\n");
        w.write(sb.toString());
    }

    private static String date(long id) {
        long minutes = id;
        long day = minutes / 1440, hh = (minutes / 60) % 24, mm = minutes % 60;
        long year = 2020 + day / 336, month = 1 + (day / 28) % 12, dd = 1 + day % 28;
        return String.format("%04d-%02d-%02dT%02d:%02d:00.000", year, month, dd, hh, mm);
    }

    /** XML attribute escaping as the dumps do it (newlines as character references). */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\n' -> sb.append("&#xA;");
                case '\r' -> sb.append("&#xD;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }
}
