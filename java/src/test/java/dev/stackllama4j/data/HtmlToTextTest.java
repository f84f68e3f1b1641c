package dev.stackllama4j.data;

import dev.stackllama4j.testing.SharedFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HtmlToTextTest {
    @Test
    void paragraphsInlineCodeLinksEntities() {
        String html = "<p>Use <code>a &lt; b</code> &amp; see <a href=\"http://x\">the docs</a>.</p>\n\n<p>Second&nbsp;one &eacute;</p>";
        assertEquals("Use `a < b` & see the docs.\n\nSecond\u00a0one \u00e9", HtmlToText.convert(html));
    }

    @Test
    void fencedCodeKeepsIndentation() {
        String html = "<p>Run:</p>\n<pre><code>if (x) {\n    y();\n}\n</code></pre>\n<p>Done.</p>";
        assertEquals("Run:\n\n```\nif (x) {\n    y();\n}\n```\n\nDone.", HtmlToText.convert(html));
    }

    @Test
    void listsNestedAndOrdered() {
        String html = "<ul><li>one</li><li>two<ol><li>a</li><li>b</li></ol></li></ul><p>after</p>";
        assertEquals("- one\n- two\n  1. a\n  2. b\n\nafter", HtmlToText.convert(html));
    }

    @Test
    void emphasisHeadingsBlockquoteBreaks() {
        String html = "<h2>Title</h2><blockquote><p>quoted</p></blockquote><p>a<br>b <strong>bold</strong> <em>it</em></p><hr>";
        assertEquals("## Title\n\n> quoted\n\na\nb **bold** *it*\n\n---", HtmlToText.convert(html));
    }

    /** Text without markup skips jsoup: the same result as through the parser, for random text and every real title. */
    @Test
    void plainTextWithoutTheParserMatchesTheParser() throws Exception {
        String alphabet = "ab Z9 \n\t\u00a0\u2003\u000b\f>\"'=/;#\u00e9\u4e2d\ud83d\ude00.-*`";
        java.util.SplittableRandom rng = new java.util.SplittableRandom(7);
        int checked = 0;
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            for (int n = rng.nextInt(40); n > 0; n--) sb.append(alphabet.charAt(rng.nextInt(alphabet.length())));
            String t = sb.toString();
            if (t.isEmpty() || !HtmlToText.plain(t)) continue;
            assertEquals(HtmlToText.parsed(t), HtmlToText.convert(t), "for " + t.codePoints().boxed().toList());
            checked++;
        }
        assertTrue(checked > 15_000);
        assertFalse(HtmlToText.plain("a &amp; b") || HtmlToText.plain("a <b>") || HtmlToText.plain("a\r\nb"));
    }

    @Test
    void realTitlesWithoutTheParserMatchTheParser() throws Exception {
        for (String site : new String[] {"beer", "coffee"}) {
            Path posts = SharedFiles.require("data/stackexchange/" + site + "/Posts.xml");
            PostsReader.read(posts, new SkipCounter(), p -> {
                assertEquals(HtmlToText.parsed(p.title()), p.title().isEmpty() ? "" : HtmlToText.convert(p.title()), p.title());
            });
        }
    }

    private static Map<Long, String> bodies(Path posts, Set<Long> ids) throws Exception {
        Map<Long, String> m = new HashMap<>();
        PostsReader.read(posts, new SkipCounter(), p -> {
            if (ids.contains(p.id())) m.put(p.id(), p.body());
        });
        return m;
    }

    @Test
    void realBeerBodiesWithCodeAndLists() throws Exception {
        Path beer = SharedFiles.require("data/stackexchange/beer/Posts.xml");
        Map<Long, String> b = bodies(beer, Set.of(154L, 3252L, 3296L));
        assertNotNull(b.get(154L));
        assertEquals("I imagine the might would look something like:\n\n```\nPale Lager\nGeneric lager.\nPilsner\n"
                + "Pale Ale (Which style?)\nImperial Pale Ale\nStout\n```\n\n"
                + "Of course, I'm not a full on beer aficionado, I don't know all the styles.", HtmlToText.convert(b.get(154L)));
        assertEquals("In Brazil:\n\n```\n    1. Skol\n    2. Brahma\n    3. Antarctica\n    4. Nova Schin\n    5. Kaiser\n"
                + "    6. Itaipava\n    7. Crystal\n    8. Devassa\n    9. Sol\n    10. Bohemia\n```\n\n"
                + "LINK: Top 10 cervejas mais vendidas no Brasil", HtmlToText.convert(b.get(3252L)));
        assertEquals("Most popular beer in Sri Lanka\n\n1. Lions\n2. Carlsberg", HtmlToText.convert(b.get(3296L)));
    }

    @Test
    void realCoffeeBodyDecodesEntitiesInsideCode() throws Exception {
        Path coffee = SharedFiles.require("data/stackexchange/coffee/Posts.xml");
        String t = HtmlToText.convert(bodies(coffee, Set.of(142L)).get(142L));
        String expectBlock = "A crude diagram:\n\n```\n    ||||||     < Tamper\n"
                + "| [||||||||] | < Tamper 'head' flush with portafilter edge (note, it's flush)\n"
                + "| .......... | < Tamped coffee\n| .......... |\n+------------+\n    /    \\     < Goodness pours out here\n```\n\n"
                + "But how much coffee";
        assertEquals(true, t.contains(expectBlock), t);
        assertEquals(true, t.contains("reliably *using the same equipment*. For home use?"), t);
    }
}
