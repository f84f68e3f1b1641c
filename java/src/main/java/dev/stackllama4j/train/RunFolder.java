package dev.stackllama4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.stackllama4j.io.AtomicFiles;
import dev.stackllama4j.io.FolderLock;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The output folder of one run (sft, train-reward, ppo, prepare, demo), held for the run's whole
 * life:
 * <ul>
 *   <li>a {@link FolderLock}: a second run on the folder fails at once naming the holder, a dead
 *       holder's lock is taken over with a notice, leftovers of interrupted writes are deleted;</li>
 *   <li>a folder that already holds a run is refused in {@link Mode#FRESH}, cleared in
 *       {@link Mode#OVERWRITE} and continued in {@link Mode#RESUME};</li>
 *   <li>{@link #begin} is the one start-of-run step: on resume it compares every setting with
 *       the checkpoint's and fails listing the differences; it then writes {@code config.json}
 *       (the full resolved settings) and prints it.</li>
 * </ul>
 */
public final class RunFolder implements AutoCloseable {
    /** What to do with a folder that already holds a run. */
    public enum Mode {
        /** refuse it */
        FRESH,
        /** continue from its checkpoint (start fresh when there is none) */
        RESUME,
        /** delete its run files and start again */
        OVERWRITE;

        public static Mode of(boolean resume, boolean overwrite) {
            if (resume && overwrite) throw new IllegalArgumentException("--resume and --overwrite exclude each other");
            return resume ? RESUME : overwrite ? OVERWRITE : FRESH;
        }
    }

    public static final String CONFIG = "config.json";
    public static final String CHECKPOINT = "checkpoint.gguf";
    public static final String METRICS = "metrics.jsonl";
    /** The checkpoint-state key holding the settings the checkpoint was made with. */
    public static final String STATE_SETTINGS = "settings";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;
    private final Mode mode;
    private final PrintStream log;
    private final FolderLock lock;
    private final Map<String, Object> inputs = new LinkedHashMap<>();
    private Map<String, Object> settings;

    private RunFolder(Path dir, Mode mode, PrintStream log, FolderLock lock) {
        this.dir = dir;
        this.mode = mode;
        this.log = log;
        this.lock = lock;
    }

    /**
     * Creates (if need be) and locks {@code dir} (see {@link FolderLock}), and applies {@code mode}
     * to a run already there. {@code outputs} are the run's own result files (besides config.json,
     * checkpoint.gguf and metrics.jsonl): they mark a folder as holding a run, and OVERWRITE
     * deletes them.
     */
    public static RunFolder open(Path dir, Mode mode, PrintStream log, String... outputs) throws IOException {
        FolderLock lock = FolderLock.acquire(dir, log);
        try {
            RunFolder f = new RunFolder(dir, mode, log, lock);
            f.applyMode(outputs);
            return f;
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private void applyMode(String[] outputs) throws IOException {
        List<String> names = new ArrayList<>(List.of(CONFIG, CHECKPOINT, METRICS));
        names.addAll(List.of(outputs));
        List<String> present = names.stream().filter(n -> Files.exists(dir.resolve(n))).toList();
        if (mode == Mode.RESUME && !Files.exists(checkpoint()))
            log.println("notice: --resume given but " + checkpoint() + " does not exist: starting fresh");
        if (present.isEmpty()) return;
        boolean clear = switch (mode) {
            case FRESH -> throw new IllegalStateException(dir + " already holds a run (" + String.join(", ", present)
                    + "): give --resume to continue it or --overwrite to replace it");
            case OVERWRITE -> true;
            case RESUME -> !Files.exists(checkpoint());
        };
        if (!clear) return;
        for (String n : present) Files.deleteIfExists(dir.resolve(n));
        log.println("notice: " + dir + ": " + (mode == Mode.OVERWRITE ? "--overwrite" : "no checkpoint to resume from")
                + ", deleted the previous run's " + String.join(", ", present));
    }

    public Path dir() {
        return dir;
    }

    public Path file(String name) {
        return dir.resolve(name);
    }

    public Path checkpoint() {
        return dir.resolve(CHECKPOINT);
    }

    /** True when this run continues from the folder's checkpoint. */
    public boolean resuming() {
        return mode == Mode.RESUME && Files.exists(checkpoint());
    }

    /**
     * Records an input file's identity (absolute path and size) among the settings, so a resume
     * with another file is refused; {@code file} null records that the input is absent.
     */
    public RunFolder input(String name, Path file) {
        try {
            inputs.put("input." + name, file == null ? "(none)" : file.toAbsolutePath().normalize() + " (" + Files.size(file) + " bytes)");
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException(file + ": " + FolderLock.reason(e), e));
        }
        return this;
    }

    /** Records a setting that no config record holds (a flag of the command, a data count). */
    public RunFolder setting(String name, Object value) {
        inputs.put(name, value);
        return this;
    }

    /**
     * The start of a run, in one place. {@code settings}: the run's resolved configuration (see
     * {@link RunSettings#of}); the inputs and settings recorded on this folder are added. When
     * resuming, the checkpoint's settings must equal these except {@code changeable}, else this
     * fails listing each difference as {@code name: old → new}. Writes config.json, prints it,
     * and returns the checkpoint's validated state (null when starting fresh).
     */
    public Checkpoint.State begin(String command, Map<String, Object> settings, Set<String> changeable) throws IOException {
        Map<String, Object> all = new LinkedHashMap<>(settings);
        all.putAll(inputs);
        this.settings = all;
        Checkpoint.State state = null;
        if (resuming()) {
            state = Checkpoint.State.read(checkpoint());
            Map<String, String> stored = state.settings(STATE_SETTINGS);
            List<String> diff = RunSettings.differences(stored, all, changeable);
            if (!diff.isEmpty())
                throw new IllegalArgumentException("cannot resume " + dir + ": settings differ from the checkpoint's (old → new):\n  "
                        + String.join("\n  ", diff) + "\n(may change on resume: " + String.join(", ", new java.util.TreeSet<>(changeable))
                        + "; start a new run for the others)");
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("command", command);
        doc.put("settings", all);
        String text = JSON.writeValueAsString(doc);
        AtomicFiles.writeString(file(CONFIG), text + "\n");
        log.println(command + ": settings (" + file(CONFIG) + "):");
        log.println(text);
        return state;
    }

    /** The settings given to {@link #begin}, for the checkpoint state. */
    public Map<String, Object> settings() {
        if (settings == null) throw new IllegalStateException("begin() first");
        return settings;
    }

    /** Releases the folder's lock. */
    @Override
    public void close() throws IOException {
        lock.close();
    }
}
