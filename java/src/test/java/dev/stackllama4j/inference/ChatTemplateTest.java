package dev.stackllama4j.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Real templates from model repositories against the prompts they must produce. The conversation
 * and the expected strings of the ChatML, Mistral, Llama-2 (vigogne), Llama-3, Mistral v1 and Gemma
 * cases are those of llama.cpp's tests/test-chat-template.cpp (its Jinja expectations); the
 * official Llama-2-chat and Zephyr strings follow from the templates under transformers' rules
 * (trim_blocks, lstrip_blocks), worked out by hand.
 */
class ChatTemplateTest {
    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are a helpful assistant"), ChatMessage.user("Hello"), ChatMessage.assistant("Hi there"),
            ChatMessage.user("Who are you"), ChatMessage.assistant("   I am an assistant   "),
            ChatMessage.user("Another question"));

    static final String MISTRAL_V02 = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
            + "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif "
            + "message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user "
            + "and assistant roles are supported!') }}{% endif %}{% endfor %}";

    static final String LLAMA2_CHAT = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
            + "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = "
            + "false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == "
            + "0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
            + "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if "
            + "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] "
            + "== 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    static final String VIGOGNE = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = "
            + "messages[1:] %}{% set system_message = messages[0]['content'] %}{% elif true == true and not '<<SYS>>' in "
            + "messages[0]['content'] %}{% set loop_messages = messages %}{% set system_message = 'Vous êtes Vigogne, un "
            + "assistant IA créé par Zaion Lab. Vous suivez extrêmement bien les instructions. Aidez autant que vous le "
            + "pouvez.' %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for "
            + "message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception("
            + "'Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 "
            + "and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + "
            + "message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == "
            + "'user' %}{{ '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'system' %}{{ "
            + "'<<SYS>>\\n' + content.strip() + '\\n<</SYS>>\\n\\n' }}{% elif message['role'] == 'assistant' %}{{ ' '  + "
            + "content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
            + "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ "
            + "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}";

    static final String ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + "
            + "message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + "
            + "message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + "
            + "message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ "
            + "'<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    static final String MISTRAL_V1 = "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = "
            + "messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set "
            + "loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if "
            + "(message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n        {{- raise_exception('After the optional "
            + "system message, conversation roles must alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n"
            + "    {%- if message['role'] == 'user' %}\n        {%- if loop.first and system_message is defined %}\n"
            + "            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n        {%- else "
            + "%}\n            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n        {%- endif %}\n    {%- elif "
            + "message['role'] == 'assistant' %}\n        {{- ' ' + message['content'] + eos_token}}\n    {%- else %}\n"
            + "        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial "
            + "optional system message!') }}\n    {%- endif %}\n{%- endfor %}\n";

    static final String GEMMA = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
            + "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
            + "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
            + "(message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif "
            + "%}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if "
            + "add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

    private static String render(String template, String bos, String eos) {
        return new ChatTemplate(template, bos, eos).render(CONVERSATION, true);
    }

    @Test
    void chatmlOpenHermes() {
        assertEquals("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n"
                + "   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n<|im_start|>assistant\n",
                render(ChatTemplate.CHATML, "", ""));
    }

    @Test
    void mistralV02MergesTheSystemMessageIntoTheFirstUserTurn() {
        ChatTemplate t = new ChatTemplate(MISTRAL_V02, "", "</s>");
        assertFalse(t.supportsSystemRole());
        assertEquals("[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an "
                + "assistant   </s>[INST] Another question [/INST]", t.render(CONVERSATION, true));
    }

    @Test
    void llama2ChatOfficialTemplate() {
        ChatTemplate t = new ChatTemplate(LLAMA2_CHAT, "<s>", "</s>");
        assertTrue(t.supportsSystemRole());
        assertEquals("<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Who "
                + "are you [/INST] I am an assistant </s><s>[INST] Another question [/INST]", t.render(CONVERSATION, true));
    }

    @Test
    void llama2VigogneVariant() {
        assertEquals("[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s>[INST] Who are "
                + "you [/INST] I am an assistant </s>[INST] Another question [/INST]", render(VIGOGNE, "", "</s>"));
    }

    @Test
    void llama3() {
        assertEquals("<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|><|start_header_id|>"
                + "user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
                + "\n\nI am an assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", render(LLAMA3, "", ""));
    }

    @Test
    void zephyrWithTrimmedBlocks() {
        assertEquals("<|system|>\nYou are a helpful assistant</s>\n<|user|>\nHello</s>\n<|assistant|>\nHi there</s>\n"
                + "<|user|>\nWho are you</s>\n<|assistant|>\n   I am an assistant   </s>\n<|user|>\nAnother question</s>\n"
                + "<|assistant|>\n", render(ZEPHYR, "<s>", "</s>"));
    }

    @Test
    void mistralV1WithASystemPrompt() {
        assertEquals(" [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s> [INST] Who are you [/INST]    I am "
                + "an assistant   </s> [INST] Another question [/INST]", render(MISTRAL_V1, "", "</s>"));
    }

    @Test
    void gemmaTrimFilterAndMergedSystem() {
        assertEquals("<start_of_turn>user\nYou are a helpful assistant\nHello<end_of_turn>\n<start_of_turn>model\nHi there"
                + "<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant"
                + "<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n",
                render(GEMMA, "", ""));
    }

    @Test
    void raiseExceptionFailsWithTheTemplatesMessage() {
        ChatTemplate t = new ChatTemplate(MISTRAL_V02, "", "</s>");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true));
        assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
    }
}
