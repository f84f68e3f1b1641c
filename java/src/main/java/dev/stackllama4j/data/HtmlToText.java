package dev.stackllama4j.data;

import java.util.ArrayDeque;
import java.util.Deque;
import org.jsoup.Jsoup;

/**
 * Stack Exchange post bodies (HTML) to Markdown-like text: fenced code blocks, inline code in
 * backticks, list items as "- " / "1. ", links reduced to their text, entities decoded. The HTML
 * Stack Exchange emits (well nested, a known set of tags and entities) is read in one pass by
 * {@link HtmlTree#subset}; anything else goes through jsoup, so malformed HTML is repaired the way
 * a browser would, never pattern-matched. Both give the same tree, hence the same text.
 */
public final class HtmlToText {
    private HtmlToText() {}

    public static String convert(String html) {
        if (html == null || html.isEmpty()) return "";
        if (plain(html)) {
            // no markup, no entity: jsoup would make it one text node holding exactly this string
            Writer w = new Writer();
            w.text(html);
            return tidy(w.sb);
        }
        HtmlTree tree = HtmlTree.subset(html);
        return write(tree != null ? tree : HtmlTree.of(Jsoup.parseBodyFragment(html).body()));
    }

    /** The conversion through jsoup, whatever the input (the reference {@link #convert} matches). */
    static String parsed(String html) {
        return write(HtmlTree.of(Jsoup.parseBodyFragment(html).body()));
    }

    private static String write(HtmlTree body) {
        Writer w = new Writer();
        w.children(body);
        return tidy(w.sb);
    }

    /** Text the HTML parser would keep as is: no tag, no entity, no carriage return or NUL for it to rewrite. */
    static boolean plain(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '<' || c == '&' || c == '\r' || c == 0) return false;
        }
        return true;
    }

    /** {@link Character#isWhitespace}, without its table lookup for the printable characters below U+1680. */
    static boolean whitespace(char c) {
        return c <= ' ' ? Character.isWhitespace(c) : c >= '\u1680' && Character.isWhitespace(c);
    }

    // Trailing spaces per line off, at most one blank line in a row, no leading/trailing blank lines.
    private static String tidy(StringBuilder s) {
        StringBuilder out = new StringBuilder(s.length());
        int blanks = 0;
        int n = s.length();
        for (int from = 0; from <= n; ) {
            int nl = s.indexOf("\n", from);
            int to = nl < 0 ? n : nl;
            int end = to;
            while (end > from && whitespace(s.charAt(end - 1))) end--;
            if (end == from) {
                blanks++;
            } else {
                if (out.length() > 0) out.append(blanks > 0 ? "\n\n" : "\n");
                blanks = 0;
                out.append(s, from, end);
            }
            from = to + 1;
        }
        return out.toString();
    }

    private static final class Writer {
        final StringBuilder sb = new StringBuilder();
        final Deque<String> indent = new ArrayDeque<>();
        boolean lineStart = true;
        boolean inPre = false;

        void startLine() {
            if (!lineStart) return;
            for (var it = indent.descendingIterator(); it.hasNext(); ) sb.append(it.next());
            lineStart = false;
        }

        void newline() {
            sb.append('\n');
            lineStart = true;
        }

        void blankLine() {
            if (sb.length() == 0) return;
            if (!lineStart) newline();
            newline();
        }

        /** Appends text with runs of whitespace as one space, none at a line's start nor after a space. */
        void text(String raw) {
            boolean space = false, any = false;
            int n = raw.length();
            for (int i = 0; i < n; ) {
                if (whitespace(raw.charAt(i))) {
                    space = true;
                    i++;
                    continue;
                }
                int j = i + 1;
                while (j < n && !whitespace(raw.charAt(j))) j++;
                if (!any) {
                    boolean lead = space && !lineStart && !endsWithSpace();
                    startLine();
                    if (lead) sb.append(' ');
                    any = true;
                } else if (space) {
                    sb.append(' ');
                }
                space = false;
                sb.append(raw, i, j);
                i = j;
            }
            if (space && (any || (!lineStart && !endsWithSpace()))) sb.append(' ');
        }

        boolean endsWithSpace() {
            return sb.length() > 0 && sb.charAt(sb.length() - 1) == ' ';
        }

        void inline(String s) {
            startLine();
            sb.append(s);
        }

        void children(HtmlTree n) {
            for (HtmlTree c : n.children) node(c);
        }

        void node(HtmlTree n) {
            if (n.isText()) text(n.text);
            else element(n);
        }

        void element(HtmlTree e) {
            String tag = e.tag;
            switch (tag) {
                case "p", "div", "table", "dl", "center" -> {
                    blankLine();
                    children(e);
                    blankLine();
                }
                case "h1", "h2", "h3", "h4", "h5", "h6" -> {
                    blankLine();
                    inline("#".repeat(tag.charAt(1) - '0') + " ");
                    children(e);
                    blankLine();
                }
                case "blockquote" -> {
                    blankLine();
                    indent.push("> ");
                    children(e);
                    indent.pop();
                    blankLine();
                }
                case "pre" -> pre(e);
                case "code" -> {
                    String code = wholeText(e).replace('\n', ' ');
                    inline("`" + code + "`");
                }
                case "ul", "ol" -> list(e, tag.equals("ol"));
                case "li" -> listItem(e, "- "); // stray <li> outside a list
                case "br" -> newline();
                case "hr" -> {
                    blankLine();
                    inline("---");
                    blankLine();
                }
                case "strong", "b" -> wrap(e, "**");
                case "em", "i" -> wrap(e, "*");
                case "img" -> {
                    String alt = e.alt.strip();
                    if (!alt.isEmpty()) text(alt);
                }
                case "tr" -> {
                    children(e);
                    newline();
                }
                case "td", "th" -> {
                    children(e);
                    text(" ");
                }
                case "script", "style" -> {}
                default -> children(e); // a, span, sup, kbd, strike...: their text
            }
        }

        void wrap(HtmlTree e, String mark) {
            if (blank(e, false)) {
                children(e);
                return;
            }
            inline(mark);
            children(e);
            inline(mark);
        }

        void pre(HtmlTree e) {
            blankLine();
            String code = wholeText(e);
            if (code.endsWith("\n")) code = code.substring(0, code.length() - 1);
            inline("```");
            newline();
            for (String line : code.split("\n", -1)) {
                startLine();
                sb.append(line);
                newline();
            }
            inline("```");
            blankLine();
        }

        void list(HtmlTree e, boolean ordered) {
            if (!lineStart) newline();
            if (indent.isEmpty()) blankLine();
            int n = 1;
            if (ordered && !e.start.isBlank()) {
                try {
                    n = Integer.parseInt(e.start.strip());
                } catch (NumberFormatException ignored) {
                    n = 1;
                }
            }
            for (HtmlTree li : e.children) {
                if (li.isText()) continue;
                if (!li.tag.equals("li")) {
                    element(li);
                    continue;
                }
                listItem(li, ordered ? (n++) + ". " : "- ");
            }
            if (indent.isEmpty()) blankLine();
        }

        void listItem(HtmlTree li, String marker) {
            if (!lineStart) newline();
            inline(marker);
            indent.push(" ".repeat(marker.length()));
            // <p> inside an item would open blank lines; render item paragraphs as plain lines
            for (HtmlTree c : li.children) {
                if (!c.isText() && c.tag.equals("p")) {
                    if (!lineStart && sb.charAt(sb.length() - 1) != ' ' && !endsWithMarker()) newline();
                    children(c);
                } else {
                    node(c);
                }
            }
            indent.pop();
            if (!lineStart) newline();
        }

        /** jsoup's {@code wholeText()}: every text below {@code e} as is, a {@code <br>} as a newline. */
        static String wholeText(HtmlTree e) {
            if (e.children.size() == 1 && e.children.get(0).isText()) return e.children.get(0).text;
            StringBuilder b = new StringBuilder();
            appendWholeText(e, b);
            return b.toString();
        }

        private static void appendWholeText(HtmlTree e, StringBuilder b) {
            for (HtmlTree c : e.children) {
                if (c.isText()) b.append(c.text);
                else if (c.tag.equals("br")) b.append('\n');
                else appendWholeText(c, b);
            }
        }

        /**
         * jsoup's {@code text().isBlank()}: its {@code text()} turns the whitespace it knows (which
         * takes in U+00A0) into spaces and drops U+200B and U+00AD, except below a {@code <pre>}.
         */
        static boolean blank(HtmlTree e, boolean inPre) {
            for (HtmlTree c : e.children) {
                if (c.isText()) {
                    for (int i = 0; i < c.text.length(); i++) {
                        char ch = c.text.charAt(i);
                        if (whitespace(ch)) continue;
                        if (!inPre && (ch == '\u00a0' || ch == '\u200b' || ch == '\u00ad')) continue;
                        return false;
                    }
                } else if (!blank(c, inPre || c.tag.equals("pre") || c.tag.equals("textarea") || c.tag.equals("title")
                        || c.tag.equals("plaintext"))) {
                    return false;
                }
            }
            return true;
        }

        boolean endsWithMarker() {
            int len = sb.length();
            return len >= 2 && sb.charAt(len - 1) == ' ' && (sb.charAt(len - 2) == '-' || sb.charAt(len - 2) == '.');
        }
    }
}
