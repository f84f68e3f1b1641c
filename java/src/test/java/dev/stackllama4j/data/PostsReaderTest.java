package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackllama4j.testing.SharedFiles;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import org.junit.jupiter.api.Test;

/** The byte-level reader gives the posts, lines and skips the JDK's StAX parser gives, and fails where it fails. */
class PostsReaderTest {
    record Result(long rows, List<Post> posts, Map<String, Long> skipped) {}

    static Result ours(byte[] xml) {
        List<Post> posts = new ArrayList<>();
        SkipCounter sk = new SkipCounter();
        long rows = PostsReader.read(new ByteArrayInputStream(xml), "t.xml", sk, posts::add);
        return new Result(rows, posts, sk.asMap());
    }

    /** The reference: StAX (no DTD, no external entities), rows the root's children, the same row-to-post rule. */
    static Result stax(byte[] xml) throws XMLStreamException {
        XMLInputFactory f = XMLInputFactory.newFactory();
        f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        XMLStreamReader r = f.createXMLStreamReader(new ByteArrayInputStream(xml), "UTF-8");
        List<Post> posts = new ArrayList<>();
        SkipCounter sk = new SkipCounter();
        long rows = 0;
        int depth = 0;
        while (r.hasNext()) {
            int ev = r.next();
            if (ev == XMLStreamConstants.START_ELEMENT && ++depth == 2) {
                rows++;
                if (!r.getLocalName().equals("row")) {
                    sk.add(PostsReader.UNEXPECTED_ELEMENT);
                    continue;
                }
                String[] v = new String[PostsReader.ATTRIBUTES.length];
                for (int i = 0; i < r.getAttributeCount(); i++) {
                    int k = List.of(PostsReader.ATTRIBUTES).indexOf(r.getAttributeLocalName(i));
                    if (k >= 0) v[k] = r.getAttributeValue(i);
                }
                Post p = PostsReader.post(v, r.getLocation().getLineNumber(), sk);
                if (p != null) posts.add(p);
            } else if (ev == XMLStreamConstants.END_ELEMENT) {
                depth--;
            }
        }
        return new Result(rows, posts, sk.asMap());
    }

    static final String ROW = "<row Id=\"1\" PostTypeId=\"1\" AcceptedAnswerId=\"2\" Score=\"3\" Title=\"T &amp; t\" Body=\"&lt;p&gt;b&lt;/p&gt;\""
            + " Tags=\"&lt;x&gt;\" CreationDate=\"2015-01-02T03:04:05.678\" />";

    static final List<String> WELL_FORMED = List.of(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<posts>\n  " + ROW + "\n</posts>\n",
            "\uFEFF<?xml version=\"1.0\"?><posts>" + ROW + "</posts>",
            "<!-- c --><?pi x?>\n<posts>\n<!-- between -->\n" + ROW + "\n<?pi y?>\n</posts>\n<!-- after -->\n",
            "<posts><row Id='5' PostTypeId = '2' ParentId='1' Score='-2' Body='a\tb\nc\r\nd\r\ne &#9;&#10;&#13;&#x1F600; &quot;&apos;&gt;'></row></posts>",
            "<posts>\n<row Id=\"6\"\n  PostTypeId=\"1\"\n  Body=\"multi\nline > tag\"\n  Title=\"\u00e9\u4e2d\ud83d\ude00\" \u00e9x=\"y\"/>\n<row Id=\"7\" PostTypeId=\"2\" ParentId=\"6\" Score=\"0\" Body=\"x\"/>\n</posts>",
            "<posts><row Id=\"8\" PostTypeId=\"1\" Body=\"b\">text &amp; <inner a=\"1\"><![CDATA[ <row Id=\"9\"/> ]]></inner><!-- <row/> --></row>"
                    + "<other Id=\"1\"/><tags><row Id=\"10\" PostTypeId=\"1\" Body=\"deep\"/></tags></posts>",
            "<posts><row PostTypeId=\"1\" Body=\"no id\"/><row Id=\"x1\" PostTypeId=\"1\" Body=\"b\"/><row Id=\"11\" Body=\"b\"/>"
                    + "<row Id=\"12\" PostTypeId=\"5\" Body=\"wiki\"/><row Id=\"13\" PostTypeId=\"2\" Score=\"1\" Body=\"b\"/>"
                    + "<row Id=\"14\" PostTypeId=\"2\" ParentId=\"1\" Body=\"b\"/><row Id=\"15\" PostTypeId=\"1\"/>"
                    + "<row Id=\" 16 \" PostTypeId=\"1\" Body=\"\"/></posts>",
            "<posts/>",
            "<posts></posts>",
            "<posts  a=\"1\" >\n\t" + ROW + "\r\n" + ROW.replace("Id=\"1\"", "Id=\"2\"") + "</posts >");

    @Test
    void wellFormedDocumentsReadAsStaxReadsThem() throws Exception {
        for (String doc : WELL_FORMED) {
            byte[] b = doc.getBytes(StandardCharsets.UTF_8);
            assertEquals(stax(b), ours(b), doc);
        }
    }

    /** Not well formed: both fail; ours names the file and the line StAX names. */
    @Test
    void malformedDocumentsFailWithTheLine() {
        List<String> bad = List.of(
                "<posts>\n" + ROW + "\n<row Id=\"2\" Body=\"cut",
                "<posts>\n" + ROW + "\n",
                "<posts>\n<row Id=\"1\" Body=\"a < b\"/>\n</posts>",
                "<posts>\n<row Id=\"1\" Body=unquoted/>\n</posts>",
                "<posts>\n<row Id=\"1\" Id=\"2\"/>\n</posts>",
                "<posts>\n<row Id=\"1\" Body=\"&eacute;\"/>\n</posts>",
                "<posts>\n<row Id=\"1\" Body=\"&#0;\"/>\n</posts>",
                "<posts>\n<row Id=\"1\" Body=\"a & b\"/>\n</posts>",
                "<posts>\n<row Id=\"1\"Body=\"x\"/>\n</posts>",
                "<posts>\n<row><a></b></row>\n</posts>",
                "<posts>\n</posts>\n<posts/>",
                "<posts>\n" + ROW + "\n</posts>\ntrailing",
                "",
                "<posts>\n<row Id=\"1\" Body=\"\u0001\"/>\n</posts>");
        for (String doc : bad) {
            byte[] b = doc.getBytes(StandardCharsets.UTF_8);
            assertThrows(Exception.class, () -> stax(b), "StAX accepts " + doc);
            DataFormatException e = assertThrows(DataFormatException.class, () -> ours(b), doc);
            assertTrue(e.getMessage().startsWith("t.xml: line "), e.getMessage());
        }
        // truncation and stray markup: the line StAX reports
        for (String doc : List.of(bad.get(0), bad.get(1), bad.get(2), bad.get(9))) {
            byte[] b = doc.getBytes(StandardCharsets.UTF_8);
            XMLStreamException se = assertThrows(XMLStreamException.class, () -> stax(b));
            DataFormatException e = assertThrows(DataFormatException.class, () -> ours(b));
            assertTrue(e.getMessage().startsWith("t.xml: line " + se.getLocation().getLineNumber() + ":"), doc + " -> " + e.getMessage()
                    + " / StAX: line " + se.getLocation().getLineNumber());
        }
    }

    /** A dump has no DTD: one is refused (StAX would read past it), so no entity can be declared. */
    @Test
    void aDtdIsRefused() {
        byte[] b = "<!DOCTYPE posts [<!ENTITY e \"x\">]>\n<posts/>".getBytes(StandardCharsets.UTF_8);
        DataFormatException e = assertThrows(DataFormatException.class, () -> ours(b));
        assertTrue(e.getMessage().startsWith("t.xml: line 1: ") && e.getMessage().contains("DTD"), e.getMessage());
    }

    @Test
    void invalidUtf8FailsWithTheLine() {
        byte[] head = ("<posts>\n" + ROW + "\n<row Id=\"2\" Body=\"").getBytes(StandardCharsets.UTF_8);
        for (byte[] badBytes : new byte[][] {{(byte) 0xC3}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xFF}}) {
            byte[] doc = new byte[head.length + badBytes.length + 12];
            System.arraycopy(head, 0, doc, 0, head.length);
            System.arraycopy(badBytes, 0, doc, head.length, badBytes.length);
            System.arraycopy("\"/></posts>\n".getBytes(StandardCharsets.US_ASCII), 0, doc, head.length + badBytes.length, 12);
            DataFormatException e = assertThrows(DataFormatException.class, () -> ours(doc));
            assertTrue(e.getMessage().startsWith("t.xml: line 3: not valid UTF-8") || e.getMessage().contains("line 3: malformed"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
        }
    }

    /** Rows longer than the reader's window, cut at every place by a stream handing out a few bytes at a time. */
    @Test
    void longRowsAndShortReadsGiveTheSamePosts() throws Exception {
        String body = "&lt;p&gt;" + "x\u00e9\ud83d\ude00&amp;&#xA;".repeat(20_000) + "&lt;/p&gt;";
        String doc = "<posts>\n" + ROW + "\n<row Id=\"2\" PostTypeId=\"2\" ParentId=\"1\" Score=\"4\" Body=\"" + body + "\"/>\n</posts>\n";
        byte[] b = doc.getBytes(StandardCharsets.UTF_8);
        Result want = stax(b);
        assertEquals(want, ours(b));
        List<Post> posts = new ArrayList<>();
        SkipCounter sk = new SkipCounter();
        java.io.InputStream trickle = new java.io.FilterInputStream(new ByteArrayInputStream(b)) {
            @Override
            public int read(byte[] buf, int off, int len) throws java.io.IOException {
                return super.read(buf, off, Math.min(len, 7));
            }
        };
        PostsReader.read(trickle, "t.xml", sk, posts::add);
        assertEquals(want.posts(), posts);
    }

    @Test
    void realDumpsReadAsStaxReadsThem() throws Exception {
        for (String site : new String[] {"beer", "coffee"}) {
            byte[] b = Files.readAllBytes(SharedFiles.require("data/stackexchange/" + site + "/Posts.xml"));
            Result want = stax(b);
            assertTrue(want.posts().size() > 500, site);
            assertEquals(want, ours(b), site);
        }
    }

    @Test
    void syntheticSiteReadsAsStaxReadsIt() throws Exception {
        StringWriter w = new StringWriter();
        SynthSite.write(w, 500, 3);
        byte[] b = w.toString().getBytes(StandardCharsets.UTF_8);
        Result want = stax(b);
        assertTrue(want.posts().size() > 1000);
        assertEquals(want, ours(b));
    }

}
