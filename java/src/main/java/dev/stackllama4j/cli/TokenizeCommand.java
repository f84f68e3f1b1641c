package dev.stackllama4j.cli;

import dev.stackllama4j.engine.GgufFile;
import dev.stackllama4j.tokenizer.Tokenizer;
import dev.stackllama4j.tokenizer.Vocabulary;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code tokenize --model M --text T}: token ids on one line. */
public final class TokenizeCommand implements Command {
    @Override
    public String name() {
        return "tokenize";
    }

    @Override
    public String summary() {
        return "print the token ids of a text (the model's own tokenizer)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("M.gguf").desc("model or vocabulary GGUF (required)").get());
        o.addOption(Option.builder().longOpt("text").hasArg().argName("T").desc("text to tokenize (required)").get());
        o.addOption(Option.builder().longOpt("no-bos").desc("do not prepend BOS").get());
        o.addOption(Option.builder().longOpt("parse-special").desc("turn special-token text such as <s> into its token").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) {
        Tokenizer t = load(Flags.required(cmd, "model"));
        int[] ids = t.encode(Flags.required(cmd, "text"), !cmd.hasOption("no-bos"), false, cmd.hasOption("parse-special"));
        ctx.out().println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        return 0;
    }

    static Tokenizer load(String model) {
        Path p = Path.of(model);
        if (!java.nio.file.Files.isRegularFile(p)) throw new UsageException("no such file: " + p);
        try (GgufFile f = GgufFile.open(p)) {
            return Tokenizer.forVocabulary(Vocabulary.fromMetadata(f));
        }
    }
}
