package dev.stackllama4j.data;

import java.util.ArrayDeque;
import java.util.Deque;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.Node;
import org.jsoup.nodes.TextNode;

/**
 * Stack Exchange post bodies (HTML) to Markdown-like text: fenced code blocks, inline code in
 * backticks, list items as "- " / "1. ", links reduced to their text, entities decoded. jsoup does
 * the parsing, so malformed HTML is repaired the way a browser would, never pattern-matched.
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
        return parsed(html);
    }

    /** The conversion through jsoup, whatever the input (what {@link #convert} does for markup). */
    static String parsed(String html) {
        Element body = Jsoup.parseBodyFragment(html).body();
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

    // Trailing spaces per line off, at most one blank line in a row, no leading/trailing blank lines.
    private static String tidy(CharSequence s) {
        String[] lines = s.toString().split("\n", -1);
        StringBuilder out = new StringBuilder(s.length());
        int blanks = 0;
        for (String line : lines) {
            String l = line.stripTrailing();
            if (l.isEmpty()) {
                blanks++;
                continue;
            }
            if (out.length() > 0) out.append(blanks > 0 ? "\n\n" : "\n");
            blanks = 0;
            out.append(l);
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

        void text(String raw) {
            StringBuilder t = new StringBuilder(raw.length());
            boolean space = false;
            for (int i = 0; i < raw.length(); i++) {
                char c = raw.charAt(i);
                boolean ws = Character.isWhitespace(c);
                if (ws) {
                    space = true;
                } else {
                    if (space) t.append(' ');
                    space = false;
                    t.append(c);
                }
            }
            if (space) t.append(' ');
            String s = t.toString();
            if (lineStart) s = s.stripLeading();
            else if (s.startsWith(" ") && endsWithSpace()) s = s.substring(1);
            if (s.isEmpty()) return;
            startLine();
            sb.append(s);
        }

        boolean endsWithSpace() {
            return sb.length() > 0 && sb.charAt(sb.length() - 1) == ' ';
        }

        void inline(String s) {
            startLine();
            sb.append(s);
        }

        void children(Node n) {
            for (Node c : n.childNodes()) node(c);
        }

        void node(Node n) {
            if (n instanceof TextNode tn) {
                text(tn.getWholeText());
            } else if (n instanceof Element e) {
                element(e);
            }
        }

        void element(Element e) {
            String tag = e.normalName();
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
                    String code = e.wholeText().replace('\n', ' ');
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
                    String alt = e.attr("alt").strip();
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

        void wrap(Element e, String mark) {
            if (e.text().isBlank()) {
                children(e);
                return;
            }
            inline(mark);
            children(e);
            inline(mark);
        }

        void pre(Element e) {
            blankLine();
            String code = e.wholeText();
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

        void list(Element e, boolean ordered) {
            if (!lineStart) newline();
            if (indent.isEmpty()) blankLine();
            int n = 1;
            if (ordered && !e.attr("start").isBlank()) {
                try {
                    n = Integer.parseInt(e.attr("start").strip());
                } catch (NumberFormatException ignored) {
                    n = 1;
                }
            }
            for (Element li : e.children()) {
                if (!li.normalName().equals("li")) {
                    element(li);
                    continue;
                }
                listItem(li, ordered ? (n++) + ". " : "- ");
            }
            if (indent.isEmpty()) blankLine();
        }

        void listItem(Element li, String marker) {
            if (!lineStart) newline();
            inline(marker);
            indent.push(" ".repeat(marker.length()));
            // <p> inside an item would open blank lines; render item paragraphs as plain lines
            for (Node c : li.childNodes()) {
                if (c instanceof Element ce && ce.normalName().equals("p")) {
                    if (!lineStart && sb.charAt(sb.length() - 1) != ' ' && !endsWithMarker()) newline();
                    children(ce);
                } else {
                    node(c);
                }
            }
            indent.pop();
            if (!lineStart) newline();
        }

        boolean endsWithMarker() {
            int len = sb.length();
            return len >= 2 && sb.charAt(len - 1) == ' ' && (sb.charAt(len - 2) == '-' || sb.charAt(len - 2) == '.');
        }
    }
}
