package dev.stackllama4j.data;

/**
 * The one text layout every stage (SFT, reward model, PPO, evaluation) uses, so a model never
 * sees a prompt at inference that differs from the one it was trained on.
 */
public final class Template {
    private Template() {}

    public static final String QUESTION_PREFIX = "Question: ";
    public static final String ANSWER_SEPARATOR = "\n\nAnswer: ";

    /** {@code "Question: " + question + "\n\nAnswer: " + answer}. */
    public static String format(String question, String answer) {
        return QUESTION_PREFIX + question + ANSWER_SEPARATOR + answer;
    }

    /** The prompt a policy continues: the template with an empty answer. */
    public static String prompt(String question) {
        return format(question, "");
    }

    /** Question text as StackLLaMA builds it: the title, a blank line, the body (title alone if no body). */
    public static String questionText(String title, String body) {
        String t = title == null ? "" : title.strip();
        String b = body == null ? "" : body.strip();
        if (b.isEmpty()) return t;
        if (t.isEmpty()) return b;
        return t + "\n\n" + b;
    }
}
