package dev.stackllama4j.inference;

/**
 * One turn of a conversation, as chat templates see it ({@code message['role']},
 * {@code message['content']}). Immutable, so safe to share between threads.
 *
 * @param role "system", "user" or "assistant" (templates may accept others)
 * @param content the text
 */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || role.isEmpty()) throw new IllegalArgumentException("a chat message needs a role");
        if (content == null) throw new IllegalArgumentException("chat message content must not be null (role " + role + ")");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
