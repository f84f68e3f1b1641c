package dev.stackllama4j.cli;

import dev.stackllama4j.engine.LlamaModel;
import dev.stackllama4j.engine.Precision;
import dev.stackllama4j.engine.MemoryPlan;
import dev.stackllama4j.engine.LoraAdapter;
import dev.stackllama4j.inference.ChatMessage;
import dev.stackllama4j.inference.Completion;
import dev.stackllama4j.inference.CompletionRequest;
import dev.stackllama4j.inference.LlamaEngine;
import dev.stackllama4j.inference.Sampling;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code generate --model M --prompt T ...}: streams the continuation (or, with --chat, the answer) to stdout. */
public final class GenerateCommand implements Command {
    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "generate text from a prompt (or chat with --chat), streamed to stdout";
    }

    @Override
    public Options options() {
        Options o = new Options();
        ModelFlags.add(o);
        ModelFlags.addPrecision(o, Precision.FAST);
        o.addOption(Option.builder().longOpt("prompt").hasArg().argName("T").desc("prompt text (default: empty, BOS only); with --chat the user's message").get());
        o.addOption(Option.builder().longOpt("chat").desc("render the prompt as a user turn with the model's chat template (tokenizer.chat_template; ChatML when absent)").get());
        o.addOption(Option.builder().longOpt("system").hasArg().argName("T").desc("with --chat: a system message before the user's").get());
        o.addOption(Option.builder().longOpt("max-tokens").hasArg().argName("N").desc("tokens to generate at most (default 128)").get());
        o.addOption(Option.builder().longOpt("min-tokens").hasArg().argName("N").desc("suppress EOS before N tokens (default 0)").get());
        o.addOption(Option.builder().longOpt("temperature").hasArg().argName("T").desc("0 = greedy (default 0.8)").get());
        o.addOption(Option.builder().longOpt("top-k").hasArg().argName("K").desc("0 = off (default 40)").get());
        o.addOption(Option.builder().longOpt("top-p").hasArg().argName("P").desc("1.0 = off (default 0.95)").get());
        o.addOption(Option.builder().longOpt("min-p").hasArg().argName("P").desc("0 = off (default 0.05)").get());
        o.addOption(Option.builder().longOpt("repeat-penalty").hasArg().argName("R").desc("1.0 = off (default 1.0)").get());
        o.addOption(Option.builder().longOpt("frequency-penalty").hasArg().argName("F").desc("default 0").get());
        o.addOption(Option.builder().longOpt("presence-penalty").hasArg().argName("P").desc("default 0").get());
        o.addOption(Option.builder().longOpt("penalty-last-n").hasArg().argName("N").desc("tokens the penalties look back on, -1 = all (default 64)").get());
        o.addOption(Option.builder().longOpt("stop").hasArg().argName("S").desc("stop string (repeatable)").get());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("random seed (default 0)").get());
        o.addOption(Option.builder().longOpt("ignore-eos").desc("keep generating past EOS").get());
        o.addOption(Option.builder().longOpt("truncate").desc("stop at the end of the model's context instead of refusing a --max-tokens past it").get());
        o.addOption(Option.builder().longOpt("adapter").hasArg().argName("A.gguf").desc("LoRA adapter to apply").get());
        PlanFlags.add(o, true);
        return o;
    }

    @Override
    public int run(CommandLine cmd, CliContext ctx) throws Exception {
        if (cmd.hasOption("system") && !cmd.hasOption("chat")) throw new UsageException("--system needs --chat");
        Sampling sampling;
        CompletionRequest.Builder req = CompletionRequest.builder();
        try {
            sampling = Sampling.builder().temperature(Flags.doubleValue(cmd, "temperature", 0.8))
                    .topK(Flags.intValue(cmd, "top-k", 40)).topP(Flags.doubleValue(cmd, "top-p", 0.95))
                    .minP(Flags.doubleValue(cmd, "min-p", 0.05)).repeatPenalty(Flags.doubleValue(cmd, "repeat-penalty", 1.0))
                    .frequencyPenalty(Flags.doubleValue(cmd, "frequency-penalty", 0))
                    .presencePenalty(Flags.doubleValue(cmd, "presence-penalty", 0))
                    .penaltyLastN(Flags.intValue(cmd, "penalty-last-n", 64)).seed(Flags.longValue(cmd, "seed", 0)).build();
            String[] stops = cmd.getOptionValues("stop");
            req.sampling(sampling).maxTokens(Flags.intValue(cmd, "max-tokens", 128)).minTokens(Flags.intValue(cmd, "min-tokens", 0))
                    .ignoreEos(cmd.hasOption("ignore-eos")).stopStrings(stops == null ? List.of() : List.of(stops));
            String prompt = cmd.getOptionValue("prompt", "");
            if (cmd.hasOption("chat")) {
                List<ChatMessage> messages = new ArrayList<>();
                if (cmd.hasOption("system")) messages.add(ChatMessage.system(cmd.getOptionValue("system")));
                messages.add(ChatMessage.user(prompt));
                req.messages(messages);
            } else {
                req.prompt(prompt);
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        try (LlamaModel model = ModelFlags.load(cmd, ctx, PlanFlags.kvType(cmd), ModelFlags.precision(cmd, Precision.FAST));
                LoraAdapter lora = ModelFlags.adapter(cmd, model)) {
            try (LlamaEngine engine = LlamaEngine.create(model, new LlamaEngine.Options(1, 0))) {
                CompletionRequest probe = req.adapter(lora).build();
                int[] ids = engine.promptTokens(probe);
                int context = engine.context();
                int room = context - ids.length;
                if (room < 1)
                    throw new IllegalArgumentException("the prompt has " + ids.length + " tokens, which fills the context of " + context
                            + " (" + model.path() + ")");
                int maxTokens = probe.maxTokens();
                if (maxTokens > room) {
                    if (!cmd.hasOption("truncate"))
                        throw new IllegalArgumentException("the prompt (" + ids.length + " tokens) and --max-tokens " + maxTokens
                                + " exceed the context of " + context + "; lower --max-tokens or give --truncate");
                    ctx.err().printf("notice: --truncate: at most %d new tokens (the context %d minus the prompt's %d)%n", room,
                            context, ids.length);
                    maxTokens = room;
                    req.maxTokens(room).minTokens(Math.min(probe.minTokens(), room));
                }
                MemoryPlan.Result plan = MemoryPlan.compute(model.info(), MemoryPlan.Params.generate(PlanFlags.fileBytes(model.path()),
                        MemoryPlan.processResident(), 1, ids.length + maxTokens, model.kvType(), ids.length).on(ModelFlags.planDevice(cmd, model)));
                Integer exit = PlanFlags.check(cmd, ctx, "generate", plan, !ctx.verbose(), "use a shorter prompt or fewer --max-tokens");
                if (exit != null) return exit;
                if (!cmd.hasOption("chat")) {
                    ctx.out().print(cmd.getOptionValue("prompt", ""));
                    ctx.out().flush();
                }
                CompletionRequest r = req.adapter(lora).listener(piece -> {
                    ctx.out().print(piece);
                    ctx.out().flush();
                }).build();
                Completion c;
                try {
                    c = engine.complete(r);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(e.getMessage());
                }
                ctx.out().println();
                double secs = c.elapsed().toNanos() / 1e9;
                ctx.err().printf("[%d tokens in %.2f s, %.1f tok/s, %s]%n", c.tokens().length, secs, c.tokens().length / secs,
                        c.finishReason().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
            }
        }
        return 0;
    }
}
