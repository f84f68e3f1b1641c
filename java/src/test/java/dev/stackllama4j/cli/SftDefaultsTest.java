package dev.stackllama4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stackllama4j.train.SftConfig;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.junit.jupiter.api.Test;

/** sft shuffles its examples through a buffer of 5000 by default, as StackLLaMA's script does; --shuffle-buffer 0 keeps file order. */
class SftDefaultsTest {
    static SftConfig parse(String... args) throws Exception {
        CommandLine cmd = new DefaultParser().parse(new SftCommand().options(), args);
        return SftCommand.loraConfig(cmd);
    }

    @Test
    void theShuffleBufferDefaultsTo5000() throws Exception {
        assertEquals(5000, SftConfig.defaults().shuffleBuffer());
        assertEquals(5000, parse("--model", "m.gguf", "--train-file", "t.jsonl", "--output", "o").shuffleBuffer());
        assertEquals(0, parse("--model", "m.gguf", "--train-file", "t.jsonl", "--output", "o", "--shuffle-buffer", "0").shuffleBuffer());
    }
}
