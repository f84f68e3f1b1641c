package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.cli.CliContext;
import dev.stackllama4j.cli.Command;
import dev.stackllama4j.cli.PrepareCommand;
import dev.stackllama4j.cli.SynthSiteCommand;
import dev.stackllama4j.cli.UsageException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.DefaultParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandsTest {
    @TempDir
    Path tmp;

    final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();

    int run(Command c, String... args) throws Exception {
        var cl = new DefaultParser().parse(c.options(), args);
        return c.run(cl, new CliContext(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), false));
    }

    @Test
    void synthSiteThenPrepareWithTwoSites() throws Exception {
        Path a = tmp.resolve("a/Posts.xml"), b = tmp.resolve("b/Posts.xml");
        assertEquals(0, run(new SynthSiteCommand(), "--out", a.toString(), "--questions", "50", "--seed", "1"));
        assertEquals(0, run(new SynthSiteCommand(), "--out", b.toString(), "--questions", "30", "--seed", "2"));
        Path o = tmp.resolve("o");
        assertEquals(0, run(new PrepareCommand(), "--posts", a.toString(), "--posts", b.toString(), "--out", o.toString(),
                "--splits", "finetune=1,reward=1", "--max-pairs-per-question", "3"));
        var stats = PrepareTest.JSON.readTree(o.resolve("stats.json").toFile());
        assertEquals(80, stats.get("questions").asLong(), "both sites read, ids clashing between them kept apart");
        assertEquals(0, stats.get("pairs_per_split").get("evaluation").asLong());
        assertTrue(stats.get("pairs").asLong() <= 80 * 3);
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("questions 80,"));
    }

    @Test
    void usageErrors() {
        assertThrows(UsageException.class, () -> run(new PrepareCommand(), "--out", tmp.toString()));
        assertThrows(UsageException.class, () -> run(new PrepareCommand(), "--posts", "x.xml"));
        assertThrows(UsageException.class, () -> run(new PrepareCommand(), "--posts", "x.xml", "--out", "o", "--splits", "train=1"));
        assertThrows(UsageException.class, () -> run(new PrepareCommand(), "--posts", "x.xml", "--out", "o", "--seed", "abc"));
        assertThrows(UsageException.class, () -> run(new SynthSiteCommand(), "--questions", "3"));
    }

    @Test
    void truncatedInputExitsOneWithLineAndNoOutput() throws Exception {
        Path f = tmp.resolve("Posts.xml");
        Files.writeString(f, PrepareTest.HEAD + PrepareTest.q(1, 0, "T") + "  <row Id=\"2\"");
        Path o = tmp.resolve("o");
        assertEquals(1, run(new PrepareCommand(), "--posts", f.toString(), "--out", o.toString()));
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.contains(f + ": line 4"), e);
        try (var s = Files.list(o)) {
            assertEquals(List.of(o.resolve(dev.stackllama4j.io.FolderLock.LOCK)), s.toList(), "nothing but the released lock file");
        }
        assertEquals(0, Files.size(o.resolve(dev.stackllama4j.io.FolderLock.LOCK)));
    }

    /** A dump whose rows lack PostTypeId or Score yields nothing: an error with the reasons, not exit 0 with empty files. */
    @Test
    void aDumpThatYieldsNothingIsAnErrorWithTheReasons() throws Exception {
        Path f = tmp.resolve("Posts.xml");
        Files.writeString(f, PrepareTest.HEAD + "  <row Id=\"1\" Title=\"T\" Body=\"b\" />\n  <row Id=\"2\" ParentId=\"1\" Body=\"a\" />\n</posts>\n");
        Path o = tmp.resolve("o");
        assertEquals(1, run(new PrepareCommand(), "--posts", f.toString(), "--out", o.toString()));
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.contains("no preference pairs and no prompts could be made from 2 XML rows") && e.contains("missing_post_type=2")
                && e.contains("nothing written"), e);
        assertFalse(Files.exists(o.resolve("stats.json")));
    }

    /** A non-UTF-8 dump fails with its line and no stray parser output; a byte-order mark is accepted. */
    @Test
    void aNonUtf8DumpFailsCleanlyAndABomIsAccepted() throws Exception {
        Path f = tmp.resolve("latin1.xml");
        Files.write(f, (PrepareTest.HEAD + PrepareTest.q(1, 0, "T\u00e9st") + "</posts>\n").getBytes(StandardCharsets.ISO_8859_1));
        java.io.PrintStream saved = System.err;
        ByteArrayOutputStream stray = new ByteArrayOutputStream();
        System.setErr(new PrintStream(stray, true, StandardCharsets.UTF_8));
        try {
            assertEquals(1, run(new PrepareCommand(), "--posts", f.toString(), "--out", tmp.resolve("o1").toString()));
        } finally {
            System.setErr(saved);
        }
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.contains(f + ": line 3: not valid UTF-8"), e);
        assertEquals("", stray.toString(StandardCharsets.UTF_8), "nothing printed behind the command's back");
        Path bom = tmp.resolve("bom.xml");
        String site = PrepareTest.HEAD + PrepareTest.q(1, 0, "T") + PrepareTest.a(2, 1, 1) + PrepareTest.a(3, 1, 4) + "</posts>\n";
        byte[] body = site.getBytes(StandardCharsets.UTF_8), withBom = new byte[body.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(body, 0, withBom, 3, body.length);
        Files.write(bom, withBom);
        assertEquals(0, run(new PrepareCommand(), "--posts", bom.toString(), "--out", tmp.resolve("o2").toString()), err.toString());
    }
}
