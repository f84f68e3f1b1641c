package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.testing.SharedFiles;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The one-pass reader of Stack Exchange's HTML ({@link HtmlTree#subset}) gives the text jsoup's tree gives. */
class HtmlTreeTest {
    /** Snippets the one-pass reader takes (it must not hand them to jsoup). */
    static final List<String> IN_SUBSET = List.of(
            "<p>Use <code>a &lt; b &amp;&amp; c &gt; d</code> &amp; see <a href=\"http://x?a=1&amp;b=2\" rel=\"nofollow\">the docs</a>.</p>",
            "<ul>\n<li>one</li>\n<li>two\n<ol start=\"3\">\n<li>a</li>\n<li>b <em>c</em></li>\n</ol></li>\n</ul>\n<p>after</p>",
            "<ul><li><p>para item</p><p>second para</p></li><li>plain</li></ul>",
            "<ol><li><ul><li><ol><li>deep</li></ol></li></ul></li></ol>",
            "<pre><code>if (x &lt; 1) {\n    y(&quot;&#39;&#x27;&apos;&quot;);\n}\n</code></pre>",
            "<pre class=\"lang-py prettyprint-override\"><code>def f():\n\treturn 1\n\n\n</code></pre>",
            "<pre>\nleading newline dropped by the parser</pre>",
            "<pre>\n\ntwo newlines</pre>",
            "<pre><code>a<br>b<br/>c</code></pre>",
            "<blockquote>\n<p>quoted <strong>bold</strong></p>\n<blockquote><p>nested</p></blockquote>\n</blockquote>",
            "<h1>H1</h1><h2 id=\"x\">H2 <code>c</code></h2><h3>h3</h3><hr/><hr />",
            "<p>a<br>b<br/>c <b> </b><strong>&nbsp;</strong><em>&#8203;</em><i>\u2003</i> <b>x</b></p>",
            "<p><img src=\"a.png\" alt=\"a picture\"> <img src=\"b.png\" alt=\"\"/> <img src=b.png alt=bare></p>",
            "<p><IMG SRC=\"a.png\" ALT=\"upper\" alt=\"second\"></p><P>upper case</P>",
            "<p>&copy; &reg; &deg; &times; &hellip; &ndash; &mdash; &lsquo;&rsquo; &ldquo;&rdquo; &#169; &#x1F600; &#xe9;</p>",
            "<p>a & b &#38; c &amp d</p>".replace("&amp d", "&amp; d"),
            "<p>tail & </p>&",
            "text at top <b>then</b> more\n\n  spaced   out  ",
            "<div><p>in a div</p></div><span>span</span><kbd>Ctrl</kbd>+<kbd>C</kbd><sup>2</sup><sub>i</sub><del>x</del><s>y</s><strike>z</strike>",
            "<ol start=\" 7 \"><li>seven</li></ol><ol start=\"x\"><li>one</li></ol><ol start=\"-2\"><li>minus</li></ol>",
            "<ul><li>a</li>stray text<p>stray p</p><li>b</li></ul>",
            "<p>line one\nline two\t\ttabs</p>\n\n\n<p>  </p><p></p>",
            "<code>inline\ncode with newline</code> and <code> spaced </code>",
            "<a href='single'>single quoted</a> <a href=\"x\"><code>code link</code></a>",
            "<p>\u00e9\u4e2d\ud83d\ude00 unicode</p>",
            "<li>stray item</li>".replace("<li>stray item</li>", "<ul><li>ok</li></ul>"));

    /** Snippets it must hand to jsoup (unclosed or misnested tags, tags and entities it does not know, comments). */
    static final List<String> OUTSIDE = List.of(
            "<p>unclosed paragraph",
            "<ul><li>one<li>two</ul>",
            "<p>a <b>bold <i>both</b> italic</i></p>",
            "<p>para <ul><li>list in p</li></ul></p>",
            "<p>one<p>two",
            "<li>stray item</li>",
            "</p>stray end",
            "<p>&eacute; &unknown; &amp</p>",
            "<p>&#0; &#x80; &#128; &#xD800; &#13;</p>",
            "<!-- comment --><p>after comment</p>",
            "<table><tr><td>a</td><td>b</td></tr></table>",
            "<p>a < b and c <3</p>",
            "<br></br>",
            "<a href=\"1\">outer <a href=\"2\">inner</a></a>",
            "<h1>one <h2>two</h2></h1>",
            "<script>var x = '<p>';</script><p>after</p>",
            "<p/>self-closed p",
            "<img alt=\"a &amp; b\">",
            "a\r\nb <b>x</b>",
            "<pre><code>unterminated");

    @Test
    void whitespaceIsCharactersIsWhitespace() {
        for (int c = 0; c <= 0xFFFF; c++) assertEquals(Character.isWhitespace((char) c), HtmlToText.whitespace((char) c), "U+" + c);
    }

    @Test
    void trickySnippetsInTheSubsetMatchJsoup() {
        for (String h : IN_SUBSET) {
            assertNotNull(HtmlTree.subset(h), "should be read without jsoup: " + h);
            assertEquals(HtmlToText.parsed(h), HtmlToText.convert(h), h);
        }
    }

    @Test
    void snippetsOutsideTheSubsetGoToJsoup() {
        for (String h : OUTSIDE) {
            assertNull(HtmlTree.subset(h), "should go to jsoup: " + h);
            assertEquals(HtmlToText.parsed(h), HtmlToText.convert(h), h);
        }
    }

    /** Random fragments built from the pieces Stack Exchange uses, well nested or not: the same text either way. */
    @Test
    void randomFragmentsMatchJsoup() {
        String[] open = {"<p>", "<pre>", "<code>", "<ul>", "<ol>", "<ol start=\"4\">", "<li>", "<blockquote>", "<em>", "<strong>",
                "<b>", "<i>", "<a href=\"u?a=1&amp;b\">", "<h2>", "<div>", "<span>", "<kbd>", "<pre><code>"};
        String[] other = {"<br>", "<br/>", "<hr>", "<img alt=\"pic\">", "<img src=x>", "&lt;", "&amp;", "&gt;", "&quot;", "&#39;",
                "&nbsp;", "&#x1F600;", "&hellip;", " ", "  ", "\n", "\n\n", "\t", "x", "word", "two words", "- ", "1. ", "*", "`",
                "\u00a0", "\u2003", "\u200b", "&", "</p>", "</li>", "</b>"};
        SplittableRandom rng = new SplittableRandom(11);
        int inSubset = 0;
        for (int k = 0; k < 20_000; k++) {
            StringBuilder sb = new StringBuilder();
            java.util.ArrayDeque<String> stack = new java.util.ArrayDeque<>();
            for (int n = rng.nextInt(24); n > 0; n--) {
                int r = rng.nextInt(10);
                if (r < 3) {
                    String t = open[rng.nextInt(open.length)];
                    sb.append(t);
                    stack.push(t);
                } else if (r < 5 && !stack.isEmpty()) {
                    sb.append(close(stack.pop()));
                } else {
                    sb.append(other[rng.nextInt(other.length)]);
                }
            }
            // mostly well nested: close what is open, except now and then
            while (!stack.isEmpty()) {
                String t = stack.pop();
                if (rng.nextInt(20) != 0) sb.append(close(t));
            }
            String h = sb.toString();
            if (HtmlTree.subset(h) != null) inSubset++;
            assertEquals(HtmlToText.parsed(h), HtmlToText.convert(h), h);
        }
        assertTrue(inSubset > 3_000, "random fragments read in one pass: " + inSubset);
    }

    private static String close(String open) {
        if (open.equals("<pre><code>")) return "</code></pre>";
        int end = open.indexOf(' ');
        return "</" + open.substring(1, end > 0 ? end : open.length() - 1) + ">";
    }

    /** Every body and title of the real dumps: the same text; nearly all are read without jsoup. */
    @Test
    void everyRealBodyMatchesJsoup() throws Exception {
        for (String site : new String[] {"beer", "coffee"}) {
            Path posts = SharedFiles.require("data/stackexchange/" + site + "/Posts.xml");
            int[] seen = {0, 0};
            PostsReader.read(posts, new SkipCounter(), p -> {
                for (String h : new String[] {p.body(), p.title()}) {
                    if (h.isEmpty()) continue;
                    seen[0]++;
                    if (HtmlTree.subset(h) != null) seen[1]++;
                    assertEquals(HtmlToText.parsed(h), HtmlToText.convert(h), site + " post " + p.id() + ": " + h);
                }
            });
            assertTrue(seen[1] >= 0.95 * seen[0], site + ": " + seen[1] + " of " + seen[0] + " read in one pass");
        }
    }

    @Test
    void everySyntheticBodyMatchesJsoup() throws Exception {
        StringWriter w = new StringWriter();
        SynthSite.write(w, 300, 5);
        int[] seen = {0, 0};
        PostsReader.read(new java.io.ByteArrayInputStream(w.toString().getBytes(StandardCharsets.UTF_8)), "synthetic",
                new SkipCounter(), p -> {
                    seen[0]++;
                    if (HtmlTree.subset(p.body()) != null) seen[1]++;
                    assertEquals(HtmlToText.parsed(p.body()), HtmlToText.convert(p.body()), p.body());
                });
        assertEquals(seen[0], seen[1], "every synthetic body is in the subset");
        assertTrue(seen[0] > 300);
    }
}
