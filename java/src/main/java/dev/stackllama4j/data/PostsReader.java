package dev.stackllama4j.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * Streams the rows of a Stack Exchange {@code Posts.xml} with StAX: one row in memory at a time,
 * whatever the file size. Rows whose attributes are missing or malformed are counted in a
 * {@link SkipCounter} and not delivered; XML that is not well-formed (a truncated file) fails with
 * the file name and line number, since nothing after that point can be trusted.
 */
public final class PostsReader {
    private PostsReader() {}

    /** Skip reasons this reader can report. */
    public static final String MISSING_ID = "missing_id";
    public static final String BAD_NUMBER = "bad_number";
    public static final String MISSING_POST_TYPE = "missing_post_type";
    public static final String OTHER_POST_TYPE = "other_post_type";
    public static final String ANSWER_WITHOUT_PARENT = "answer_without_parent_id";
    public static final String MISSING_SCORE = "missing_score";
    public static final String MISSING_BODY = "missing_body";
    public static final String UNEXPECTED_ELEMENT = "unexpected_element";

    private static XMLInputFactory factory() {
        XMLInputFactory f = XMLInputFactory.newFactory();
        // a dump has no DTD; refusing them keeps a hostile file from pulling in external entities
        f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        f.setProperty(XMLInputFactory.IS_COALESCING, false);
        return f;
    }

    /** Reads every row of {@code file}, handing well-formed posts to {@code sink}. Returns rows seen. */
    public static long read(Path file, SkipCounter skipped, Consumer<Post> sink) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(in, file.toString(), skipped, sink);
        }
    }

    public static long read(InputStream in, String name, SkipCounter skipped, Consumer<Post> sink) {
        long rows = 0;
        XMLStreamReader r = null;
        try {
            r = factory().createXMLStreamReader(utf8(in));
            int depth = 0;
            while (r.hasNext()) {
                int ev = r.next();
                if (ev == XMLStreamConstants.START_ELEMENT) {
                    depth++;
                    if (depth == 2) {
                        rows++;
                        long line = r.getLocation().getLineNumber();
                        if (!"row".equals(r.getLocalName())) {
                            skipped.add(UNEXPECTED_ELEMENT);
                        } else {
                            Post p = parseRow(r, line, skipped);
                            if (p != null) sink.accept(p);
                        }
                    }
                } else if (ev == XMLStreamConstants.END_ELEMENT) {
                    depth--;
                }
            }
            return rows;
        } catch (XMLStreamException e) {
            long line = e.getLocation() != null ? e.getLocation().getLineNumber() : -1;
            if (e.getNestedException() instanceof java.nio.charset.CharacterCodingException)
                throw new DataFormatException(name + ": line " + line + ": not valid UTF-8 (a Stack Exchange dump is UTF-8)", e);
            throw new DataFormatException(name + ": line " + line + ": malformed or truncated XML ("
                    + firstLine(e.getMessage()) + ")", e);
        } finally {
            if (r != null) {
                try {
                    r.close();
                } catch (XMLStreamException ignored) {
                    // the stream itself is closed by the caller
                }
            }
        }
    }

    /**
     * The dump decoded as strict UTF-8 (a byte-order mark skipped) before the XML parser sees it:
     * an invalid byte becomes our error with its line, where the JDK's own decoder would also
     * print a stray "[Fatal Error]" line to stderr.
     */
    private static java.io.Reader utf8(InputStream in) {
        java.io.PushbackInputStream pb = new java.io.PushbackInputStream(in, 3);
        try {
            byte[] head = pb.readNBytes(3);
            boolean bom = head.length == 3 && (head[0] & 0xff) == 0xEF && (head[1] & 0xff) == 0xBB && (head[2] & 0xff) == 0xBF;
            if (!bom) pb.unread(head);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new java.io.InputStreamReader(pb, java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT).onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT));
    }

    private static String firstLine(String msg) {
        if (msg == null) return "no detail";
        String m = msg.strip();
        int i = m.lastIndexOf("Message: ");
        if (i >= 0) m = m.substring(i + 9);
        int nl = m.indexOf('\n');
        return nl >= 0 ? m.substring(0, nl) : m;
    }

    private static Post parseRow(XMLStreamReader r, long line, SkipCounter skipped) {
        String id = null, type = null, parent = null, accepted = null, score = null;
        String title = null, body = null, tags = null, date = null;
        for (int i = 0, n = r.getAttributeCount(); i < n; i++) {
            String v = r.getAttributeValue(i);
            switch (r.getAttributeLocalName(i)) {
                case "Id" -> id = v;
                case "PostTypeId" -> type = v;
                case "ParentId" -> parent = v;
                case "AcceptedAnswerId" -> accepted = v;
                case "Score" -> score = v;
                case "Title" -> title = v;
                case "Body" -> body = v;
                case "Tags" -> tags = v;
                case "CreationDate" -> date = v;
                default -> {}
            }
        }
        if (id == null) {
            skipped.add(MISSING_ID);
            return null;
        }
        if (type == null) {
            skipped.add(MISSING_POST_TYPE);
            return null;
        }
        long idV, typeV, parentV, acceptedV, scoreV;
        try {
            idV = Long.parseLong(id.strip());
            typeV = Long.parseLong(type.strip());
            parentV = parent == null ? 0 : Long.parseLong(parent.strip());
            acceptedV = accepted == null ? 0 : Long.parseLong(accepted.strip());
            scoreV = score == null ? 0 : Long.parseLong(score.strip());
        } catch (NumberFormatException e) {
            skipped.add(BAD_NUMBER);
            return null;
        }
        if (typeV != Post.QUESTION && typeV != Post.ANSWER) {
            // tag wikis, moderator nominations...: real rows, just not Q&A
            skipped.add(OTHER_POST_TYPE);
            return null;
        }
        if (typeV == Post.ANSWER && parentV <= 0) {
            skipped.add(ANSWER_WITHOUT_PARENT);
            return null;
        }
        if (typeV == Post.ANSWER && score == null) {
            skipped.add(MISSING_SCORE);
            return null;
        }
        if (body == null) {
            skipped.add(MISSING_BODY);
            return null;
        }
        return new Post(idV, (int) typeV, parentV, acceptedV, scoreV, title == null ? "" : title, body,
                tags == null ? "" : tags, date == null ? "" : date, line);
    }
}
