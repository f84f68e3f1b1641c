package dev.stackllama4j.cli;

import dev.stackllama4j.tokenizer.Tokenizer;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code detokenize --model M --tokens 1,2,3}: the text of token ids. */
public final class DetokenizeCommand implements Command {
    @Override
    public String name() {
        return "detokenize";
    }

    @Override
    public String summary() {
        return "print the text of token ids";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("M.gguf").desc("model or vocabulary GGUF (required)").get());
        o.addOption(Option.builder().longOpt("tokens").hasArg().argName("1,2,3").desc("token ids (required)").get());
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) {
        Tokenizer t = TokenizeCommand.load(Flags.required(cmd, "model"));
        int[] ids = ModelFlags.tokenList(Flags.required(cmd, "tokens"));
        int n = t.vocabulary().size();
        for (int id : ids) if (id < 0 || id >= n) throw new UsageException("token " + id + " is outside the vocabulary [0, " + n + ")");
        ctx.out().println(t.decode(ids));
        return 0;
    }
}
