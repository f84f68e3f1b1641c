package dev.stackllama4j.cli;

/**
 * {@code pretrain}: full-parameter training of every weight of a model (typically one written by
 * {@code init}) on packed plain texts; writes OUTPUT/model.gguf, which llama.cpp and every command
 * here load. The options are sft's (LoRA ones unused); resume with {@code --resume}.
 */
public final class PretrainCommand extends SftCommand {
    @Override
    public String name() {
        return "pretrain";
    }

    @Override
    public String summary() {
        return "train every weight of a model (e.g. from init) on packed texts; writes OUTPUT/model.gguf";
    }

    @Override
    boolean alwaysFull() {
        return true;
    }
}
