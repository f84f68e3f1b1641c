package dev.stackllama4j.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Streams the rows of a Stack Exchange {@code Posts.xml}: one row in memory at a time, whatever
 * the file size. A byte-level XML reader: the bytes are checked as UTF-8 and as XML characters
 * once, and only the attributes a post needs become strings. It reads any well-formed document
 * without a DTD (an XML declaration, comments, processing instructions, CDATA and nested elements
 * are passed over; rows are the root's child elements) and fails on what is not well formed, with
 * the file and line, since nothing after that point can be trusted (a truncated file). Rows whose
 * attributes are missing or malformed are counted in a {@link SkipCounter} and not delivered.
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

    /** The attributes read from a row, in the order {@link #post} takes them. */
    static final String[] ATTRIBUTES = {"Id", "PostTypeId", "ParentId", "AcceptedAnswerId", "Score", "Title", "Body", "Tags", "CreationDate"};
    private static final byte[][] ATTRIBUTE_BYTES = new byte[ATTRIBUTES.length][];

    static {
        for (int i = 0; i < ATTRIBUTES.length; i++) ATTRIBUTE_BYTES[i] = ATTRIBUTES[i].getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads every row of {@code file}, handing well-formed posts to {@code sink}. Returns rows seen. */
    public static long read(Path file, SkipCounter skipped, Consumer<Post> sink) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(in, file.toString(), skipped, sink);
        }
    }

    /** Reads every row from {@code in} ({@code name} is for messages); returns the root's child elements seen. */
    public static long read(InputStream in, String name, SkipCounter skipped, Consumer<Post> sink) {
        try {
            return new Scanner(in, name).document(skipped, sink);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The post a row's attributes make, in the order of {@link #ATTRIBUTES} (null where absent); null, counted, if they make none. */
    static Post post(String[] v, long line, SkipCounter skipped) {
        String id = v[0], type = v[1], parent = v[2], accepted = v[3], score = v[4];
        String title = v[5], body = v[6], tags = v[7], date = v[8];
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

    /** The reader over a growing byte window of the input: {@code buf[pos, lim)} unread, {@code buf[pos, checked)} checked. */
    private static final class Scanner {
        private final InputStream in;
        private final String name;
        private byte[] buf = new byte[1 << 16];
        private int pos, lim, checked;
        private boolean eof;
        /** Line of {@code buf[pos]}, 1-based. */
        private long line = 1;
        private final List<String> open = new ArrayList<>();
        private final String[] values = new String[ATTRIBUTES.length];
        /** Start and end of each attribute name in the tag being read, for the duplicate check. */
        private int[] names = new int[64];
        private char[] chars = new char[256];

        Scanner(InputStream in, String name) {
            this.in = in;
            this.name = name;
        }

        long document(SkipCounter skipped, Consumer<Post> sink) throws IOException {
            if (need(3) && (buf[0] & 0xff) == 0xEF && (buf[1] & 0xff) == 0xBB && (buf[2] & 0xff) == 0xBF) pos = 3;
            long rows = 0;
            // prolog: declaration, comments, processing instructions, white space; then the root
            while (true) {
                skipSpace();
                if (!need(1)) throw error("no root element", line);
                if (at("<?")) passOver("?>", 2);
                else if (at("<!--")) passOver("-->", 4);
                else if (at("<!")) throw error("a DTD or declaration is not allowed in a dump", line);
                else if (buf[pos] == '<') break;
                else throw error("content before the root element", line);
            }
            if (startTag(false)) open.clear(); // an empty root
            while (!open.isEmpty()) {
                // content: text up to the next '<' (its references checked), then markup
                while (true) {
                    if (pos == lim && !need(1)) throw error("the file ends inside element <" + open.get(open.size() - 1) + ">", line);
                    byte b = buf[pos];
                    if (b == '<') break;
                    if (b == '\n') line++;
                    else if (b == '&') {
                        reference(pos, lim, null, 0);
                        continue;
                    }
                    pos++;
                }
                if (at("</")) endTag();
                else if (at("<!--")) passOver("-->", 4);
                else if (at("<![CDATA[")) passOver("]]>", 9);
                else if (at("<?")) passOver("?>", 2);
                else if (at("<!")) throw error("a declaration is not allowed inside an element", line);
                else if (open.size() == 1) {
                    rows++;
                    boolean row = startTag(true);
                    long rowLine = line;
                    if (row) {
                        Post p = post(values, rowLine, skipped);
                        if (p != null) sink.accept(p);
                    } else {
                        skipped.add(UNEXPECTED_ELEMENT);
                    }
                } else {
                    startTag(false);
                }
            }
            // epilogue: white space, comments and processing instructions only
            while (true) {
                skipSpace();
                if (!need(1)) return rows;
                if (at("<!--")) passOver("-->", 4);
                else if (at("<?")) passOver("?>", 2);
                else throw error("content after the root element", line);
            }
        }

        /**
         * Reads the start tag at {@code pos}; pushes its name unless it is empty ({@code <x/>}).
         * With {@code row}, fills {@link #values} and returns whether the element is a {@code <row>};
         * without, returns whether it was empty. The attributes are checked either way.
         */
        private boolean startTag(boolean row) throws IOException {
            int end = tagEnd();
            int p = pos + 1;
            int n0 = p;
            while (p < end && nameByte(buf[p])) p++;
            if (p == n0 || !nameStart(buf[n0])) throw error("a tag without a valid name", line);
            String tag = new String(buf, n0, p - n0, StandardCharsets.UTF_8);
            boolean isRow = row && tag.equals("row");
            if (row) Arrays.fill(values, null);
            int count = 0;
            long l = line;
            boolean empty = false;
            while (true) {
                int s = p;
                while (p < end && space(buf[p])) {
                    if (buf[p] == '\n') l++;
                    p++;
                }
                if (buf[p] == '>') break;
                if (buf[p] == '/') {
                    if (p + 1 != end) throw error("'/' inside tag <" + tag + ">", l);
                    empty = true;
                    break;
                }
                if (p == s) throw error("attributes of <" + tag + "> must be separated by white space", l);
                int a0 = p;
                while (p < end && nameByte(buf[p])) p++;
                int a1 = p;
                if (a1 == a0 || !nameStart(buf[a0])) throw error("an attribute without a valid name in <" + tag + ">", l);
                while (p < end && space(buf[p])) {
                    if (buf[p] == '\n') l++;
                    p++;
                }
                if (buf[p] != '=') throw error("attribute " + str(a0, a1) + " of <" + tag + "> has no '=' and value", l);
                p++;
                while (p < end && space(buf[p])) {
                    if (buf[p] == '\n') l++;
                    p++;
                }
                byte q = buf[p];
                if (q != '"' && q != '\'') throw error("attribute " + str(a0, a1) + " of <" + tag + ">: value not in quotes", l);
                int v0 = p + 1;
                int v1 = v0;
                while (buf[v1] != q) v1++; // tagEnd() found the closing quote
                for (int k = 0; k < count; k++)
                    if (Arrays.equals(buf, names[2 * k], names[2 * k + 1], buf, a0, a1))
                        throw error("attribute " + str(a0, a1) + " repeated in <" + tag + ">", l);
                if (2 * count + 2 > names.length) names = Arrays.copyOf(names, names.length * 2);
                names[2 * count] = a0;
                names[2 * count + 1] = a1;
                count++;
                int which = -1;
                if (isRow) {
                    for (int k = 0; k < ATTRIBUTE_BYTES.length; k++) {
                        if (Arrays.equals(buf, a0, a1, ATTRIBUTE_BYTES[k], 0, ATTRIBUTE_BYTES[k].length)) {
                            which = k;
                            break;
                        }
                    }
                }
                String v = value(v0, v1, l, which >= 0);
                if (which >= 0) values[which] = v;
                for (int k = v0; k < v1; k++) if (buf[k] == '\n') l++;
                p = v1 + 1;
            }
            line = l;
            pos = end + 1;
            if (!empty) open.add(tag);
            return row ? isRow : empty;
        }

        /** Index of the '>' ending the tag at {@code pos} (quotes respected), the window grown to hold it. */
        private int tagEnd() throws IOException {
            int p = pos + 1;
            byte q = 0;
            while (true) {
                if (p >= lim) {
                    int off = p - pos;
                    if (!more()) throw error("the file ends inside a tag", line + count('\n', pos, lim));
                    p = pos + off;
                    continue;
                }
                byte b = buf[p];
                if (q != 0) {
                    if (b == q) q = 0;
                    else if (b == '<') throw error("'<' inside an attribute value", line + count('\n', pos, p));
                } else if (b == '"' || b == '\'') {
                    q = b;
                } else if (b == '>') {
                    return p;
                } else if (b == '<') {
                    throw error("'<' inside a tag", line + count('\n', pos, p));
                }
                p++;
            }
        }

        private void endTag() throws IOException {
            int end = tagEnd();
            int p = pos + 2;
            int n0 = p;
            while (p < end && nameByte(buf[p])) p++;
            String tag = new String(buf, n0, p - n0, StandardCharsets.UTF_8);
            long l = line;
            while (p < end && space(buf[p])) {
                if (buf[p] == '\n') l++;
                p++;
            }
            String expected = open.get(open.size() - 1);
            if (p != end || !tag.equals(expected))
                throw error("end tag </" + tag + "> where </" + expected + "> was expected", l);
            open.remove(open.size() - 1);
            line = l;
            pos = end + 1;
        }

        /**
         * An attribute value {@code buf[v0, v1)}, references replaced and white space normalized as
         * XML does (a tab, newline or carriage return is a space; a CR LF pair one space); checked,
         * and made a string only if {@code keep}.
         */
        private String value(int v0, int v1, long l, boolean keep) {
            boolean plain = true;
            for (int k = v0; k < v1; k++) {
                byte b = buf[k];
                if (b < 0 || b == '&' || b == '\t' || b == '\n' || b == '\r') {
                    plain = false;
                    break;
                }
            }
            if (plain) return keep ? new String(buf, v0, v1 - v0, StandardCharsets.ISO_8859_1) : null;
            if (chars.length < v1 - v0) chars = new char[Math.max(v1 - v0, 2 * chars.length)];
            int n = 0;
            for (int k = v0; k < v1; ) {
                int b = buf[k];
                if (b >= 0) {
                    if (b == '&') {
                        long r = reference(k, v1, chars, n);
                        n = (int) r;
                        k = (int) (r >>> 32);
                        continue;
                    }
                    if (b == '\r') {
                        chars[n++] = ' ';
                        k += k + 1 < v1 && buf[k + 1] == '\n' ? 2 : 1;
                        continue;
                    }
                    chars[n++] = b == '\t' || b == '\n' ? ' ' : (char) b;
                    k++;
                    continue;
                }
                // UTF-8, already checked by check(): lead byte then continuation bytes
                int cp, len;
                if ((b & 0xE0) == 0xC0) {
                    cp = b & 0x1F;
                    len = 2;
                } else if ((b & 0xF0) == 0xE0) {
                    cp = b & 0x0F;
                    len = 3;
                } else {
                    cp = b & 0x07;
                    len = 4;
                }
                for (int j = 1; j < len; j++) cp = (cp << 6) | (buf[k + j] & 0x3F);
                k += len;
                if (cp >= 0x10000) {
                    chars[n++] = Character.highSurrogate(cp);
                    chars[n++] = Character.lowSurrogate(cp);
                } else {
                    chars[n++] = (char) cp;
                }
            }
            return keep ? new String(chars, 0, n) : null;
        }

        /**
         * The reference at {@code buf[k] == '&'} (before {@code end}): checked, and written to
         * {@code out[n]} if {@code out} is given. Returns the index after it (high 32 bits) and the
         * new {@code n} (low); without {@code out}, moves {@code pos} past it.
         */
        private long reference(int k, int end, char[] out, int n) throws DataFormatException {
            int semi = -1;
            // in content the window may end inside the reference: grow it (at most a few bytes)
            if (out == null) {
                for (int j = k + 1; ; j++) {
                    if (j >= lim) {
                        int off = j - pos, ko = k - pos;
                        try {
                            if (!more()) throw error("the file ends inside a reference", line);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        j = pos + off;
                        k = pos + ko;
                        end = lim;
                    }
                    if (buf[j] == ';') {
                        semi = j;
                        break;
                    }
                    if (j - k > 12) break;
                }
            } else {
                for (int j = k + 1; j < end && j - k <= 12; j++) {
                    if (buf[j] == ';') {
                        semi = j;
                        break;
                    }
                }
            }
            if (semi < 0) throw error("'&' not starting a reference (write &amp;)", line);
            int cp;
            if (buf[k + 1] == '#') {
                boolean hex = buf[k + 2] == 'x';
                int d0 = hex ? k + 3 : k + 2;
                if (d0 == semi) throw error("an empty character reference", line);
                long v = 0;
                for (int j = d0; j < semi; j++) {
                    int d = Character.digit(buf[j], hex ? 16 : 10);
                    if (d < 0) throw error("a malformed character reference", line);
                    v = v * (hex ? 16 : 10) + d;
                }
                boolean xmlChar = v == 9 || v == 10 || v == 13 || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD)
                        || (v >= 0x10000 && v <= 0x10FFFF);
                if (!xmlChar) throw error("character reference &#" + (hex ? "x" : "") + str(d0, semi) + "; is not an XML character", line);
                cp = (int) v;
            } else {
                String ref = str(k + 1, semi);
                cp = switch (ref) {
                    case "lt" -> '<';
                    case "gt" -> '>';
                    case "amp" -> '&';
                    case "quot" -> '"';
                    case "apos" -> '\'';
                    default -> throw error("undefined entity &" + ref + "; (a dump uses only &lt; &gt; &amp; &quot; &apos;)", line);
                };
            }
            if (out == null) {
                pos = semi + 1;
                return 0;
            }
            if (cp >= 0x10000) {
                out[n++] = Character.highSurrogate(cp);
                out[n++] = Character.lowSurrogate(cp);
            } else {
                out[n++] = (char) cp;
            }
            return ((long) (semi + 1) << 32) | n;
        }

        /** Moves past the next {@code close} after the {@code skip} bytes at {@code pos} (a comment, PI, CDATA). */
        private void passOver(String close, int skip) throws IOException {
            byte[] c = close.getBytes(StandardCharsets.US_ASCII);
            pos += skip;
            while (true) {
                if (lim - pos < c.length && !need(c.length)) throw error("the file ends before '" + close + "'", line);
                if (buf[pos] == c[0] && Arrays.equals(buf, pos, pos + c.length, c, 0, c.length)) {
                    pos += c.length;
                    return;
                }
                if (buf[pos] == '\n') line++;
                pos++;
            }
        }

        private void skipSpace() throws IOException {
            while (pos < lim || need(1)) {
                byte b = buf[pos];
                if (!space(b)) return;
                if (b == '\n') line++;
                pos++;
            }
        }

        private boolean at(String s) throws IOException {
            int n = s.length();
            if (lim - pos < n) need(n);
            if (lim - pos < n) return false;
            for (int i = 0; i < n; i++) if (buf[pos + i] != s.charAt(i)) return false;
            return true;
        }

        /** Whether {@code n} bytes are in the window, reading more as needed. */
        private boolean need(int n) throws IOException {
            while (lim - pos < n) if (!more()) return false;
            return true;
        }

        /** Reads more of the input into the window (moving or growing it); false at the end. */
        private boolean more() throws IOException {
            while (true) {
                if (eof) {
                    if (checked < lim) throw error("not valid UTF-8 (a Stack Exchange dump is UTF-8): the file ends inside a character",
                            line + count('\n', pos, lim));
                    return false;
                }
                if (pos > 0) {
                    System.arraycopy(buf, pos, buf, 0, lim - pos);
                    lim -= pos;
                    checked -= pos;
                    pos = 0;
                }
                if (lim == buf.length) buf = Arrays.copyOf(buf, buf.length * 2);
                int r = in.read(buf, lim, buf.length - lim);
                if (r < 0) {
                    eof = true;
                    continue;
                }
                lim += r;
                check();
                return true;
            }
        }

        /** Checks {@code buf[checked, lim)} as UTF-8 and XML characters; a sequence cut by {@code lim} waits for more. */
        private void check() {
            int k = checked;
            while (k < lim) {
                int b = buf[k];
                if (b >= 0x20 || b == '\n' || b == '\t' || b == '\r') {
                    k++;
                    continue;
                }
                if (b >= 0) throw error("byte 0x" + Integer.toHexString(b) + " is not an XML character", line + count('\n', pos, k));
                int len = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
                if (len == 0) throw badUtf8(k);
                if (k + len > lim) {
                    // cut by the window: what is there must continue it, so that no '>' or quote hides in it
                    for (int j = k + 1; j < lim; j++) if ((buf[j] & 0xC0) != 0x80) throw badUtf8(k);
                    break;
                }
                int cp = b & (0x7F >> len);
                for (int j = 1; j < len; j++) {
                    int c = buf[k + j];
                    if ((c & 0xC0) != 0x80) throw badUtf8(k);
                    cp = (cp << 6) | (c & 0x3F);
                }
                int min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) throw badUtf8(k);
                if (cp == 0xFFFE || cp == 0xFFFF) throw error("U+" + Integer.toHexString(cp).toUpperCase() + " is not an XML character",
                        line + count('\n', pos, k));
                k += len;
            }
            checked = k;
        }

        private DataFormatException badUtf8(int k) {
            return error("not valid UTF-8 (a Stack Exchange dump is UTF-8)", line + count('\n', pos, k));
        }

        private int count(int c, int from, int to) {
            int n = 0;
            for (int k = Math.max(from, 0); k < Math.min(to, lim); k++) if (buf[k] == c) n++;
            return n;
        }

        private String str(int from, int to) {
            return new String(buf, from, to - from, StandardCharsets.UTF_8);
        }

        private DataFormatException error(String what, long atLine) {
            if (what.startsWith("not valid UTF-8")) return new DataFormatException(name + ": line " + atLine + ": " + what);
            return new DataFormatException(name + ": line " + atLine + ": malformed or truncated XML (" + what + ")");
        }

        private static boolean space(byte b) {
            return b == ' ' || b == '\n' || b == '\t' || b == '\r';
        }

        private static boolean nameStart(byte b) {
            return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_' || b == ':' || b < 0;
        }

        private static boolean nameByte(byte b) {
            return nameStart(b) || (b >= '0' && b <= '9') || b == '-' || b == '.';
        }
    }
}
