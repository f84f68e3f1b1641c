package dev.stackllama4j.inference;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.tokenizer.Vocabulary;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face chat template (Jinja, as stored in GGUF's {@code tokenizer.chat_template}) turned
 * into prompt text, rendered with Jinjava the way {@code transformers} renders it: blocks trimmed
 * ({@code trim_blocks}, {@code lstrip_blocks}), variables {@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and
 * {@code raise_exception(msg)} failing the render with the template's message.
 *
 * <p>Jinjava honours whitespace control ({@code -}) on block tags but not on expression tags, so
 * {@code {{-} and {@code -}}} are applied to the template source before parsing: Jinja strips the
 * whitespace of the adjacent template text when it lexes, so removing that text up front renders
 * the same.
 *
 * <p>A template that rejects or drops a system message (Mistral v0.2, Gemma) gets it the way
 * llama.cpp does: prepended to the first user message with a newline.
 *
 * <p>Immutable and thread-safe (each render uses its own interpreter state).
 */
public final class ChatTemplate {
    /** ChatML, llama.cpp's choice for a model whose file carries no template. */
    public static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static final String PROBE = "stackllama4j-system-probe-5c1e";
    private final String source, prepared, bos, eos;
    private final Jinjava jinja;
    private final boolean systemRole;

    /**
     * @param source the Jinja template
     * @param bos text of the BOS token ({@code bos_token}), e.g. "&lt;s&gt;"
     * @param eos text of the EOS token ({@code eos_token}), e.g. "&lt;/s&gt;"
     */
    public ChatTemplate(String source, String bos, String eos) {
        if (source == null || source.isBlank()) throw new IllegalArgumentException("the chat template is empty");
        this.source = source;
        this.prepared = expressionWhitespaceControl(source);
        this.bos = bos == null ? "" : bos;
        this.eos = eos == null ? "" : eos;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinja.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        // does the template show a system message? (render a probe; an exception means no)
        boolean shows;
        try {
            shows = renderRaw(List.of(ChatMessage.system(PROBE), ChatMessage.user("x")), false).contains(PROBE);
        } catch (IllegalArgumentException e) {
            shows = false;
        }
        this.systemRole = shows;
    }

    /** The template in {@code model}'s file, or {@link #CHATML} when it has none. */
    public static ChatTemplate forModel(LlamaModel model) {
        Vocabulary v = model.tokenizer().vocabulary();
        String src;
        try (GgufFile f = GgufFile.open(model.path())) {
            src = f.getString("tokenizer.chat_template", null);
        }
        String bos = v.bos() >= 0 ? v.token(v.bos()) : "", eos = v.eos() >= 0 ? v.token(v.eos()) : "";
        return new ChatTemplate(src == null || src.isBlank() ? CHATML : src, bos, eos);
    }

    public String source() {
        return source;
    }

    public String bosToken() {
        return bos;
    }

    public String eosToken() {
        return eos;
    }

    /** Whether the template renders a system message itself (else it is merged into the first user turn). */
    public boolean supportsSystemRole() {
        return systemRole;
    }

    /**
     * The prompt text for {@code messages}; {@code addGenerationPrompt} appends the opening of the
     * assistant's turn. Fails with {@link IllegalArgumentException} carrying the template's own
     * message (e.g. "Conversation roles must alternate ...").
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<ChatMessage> ms = messages;
        if (!systemRole && !ms.isEmpty() && ms.get(0).role().equals("system")) {
            ms = new ArrayList<>(messages.subList(1, messages.size()));
            String sys = messages.get(0).content();
            if (!ms.isEmpty() && ms.get(0).role().equals("user")) ms.set(0, ChatMessage.user(sys + "\n" + ms.get(0).content()));
            else ms.add(0, ChatMessage.user(sys));
        }
        return renderRaw(ms, addGenerationPrompt);
    }

    private String renderRaw(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> ms = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("role", m.role());
            e.put("content", m.content());
            ms.add(e);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", ms);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bos);
        ctx.put("eos_token", eos);
        RenderResult r = jinja.renderForResult(prepared, ctx);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                String msg = e.getMessage();
                Throwable cause = e.getException();
                while (cause != null) {
                    if (cause instanceof TemplateException t) msg = t.getMessage();
                    cause = cause.getCause();
                }
                throw new IllegalArgumentException("chat template: " + msg
                        + (e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : ""));
            }
        }
        return r.getOutput();
    }

    /** {@code \s*{{-} becomes {@code {{}, {@code -}}\s*} becomes {@code }}}. */
    static String expressionWhitespaceControl(String src) {
        return src.replaceAll("\\s*\\{\\{-", "{{").replaceAll("-}}\\s*", "}}");
    }

    /** {@code raise_exception(msg)} in a template. */
    public static String raiseException(String message) {
        throw new TemplateException(message);
    }

    private static final class TemplateException extends RuntimeException {
        TemplateException(String m) {
            super(m);
        }
    }
}
