package dev.stackllama4j.data;

/**
 * One {@code <row>} of Posts.xml, as far as the pipeline needs it. {@code body} is raw HTML.
 * {@code parentId} and {@code acceptedAnswerId} are 0 when absent; {@code line} is where the row is.
 */
public record Post(
        long id,
        int postTypeId,
        long parentId,
        long acceptedAnswerId,
        long score,
        String title,
        String body,
        String tags,
        String creationDate,
        long line) {
    public static final int QUESTION = 1;
    public static final int ANSWER = 2;

    public boolean isQuestion() {
        return postTypeId == QUESTION;
    }

    public boolean isAnswer() {
        return postTypeId == ANSWER;
    }
}
