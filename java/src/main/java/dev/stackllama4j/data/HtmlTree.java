package dev.stackllama4j.data;

import java.util.ArrayList;
import java.util.List;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.TextNode;

/**
 * The part of an HTML tree that {@link HtmlToText} reads: elements (lower-case name, the
 * {@code start} and {@code alt} attributes, children) and text (entities decoded). Built either by
 * {@link #subset}, one pass over the HTML that Stack Exchange emits, or from a jsoup tree
 * ({@link #of(Element)}) for anything else.
 *
 * <p>{@link #subset} accepts only input whose HTML5 tree is the literal nesting of its tags, so
 * that its tree is the one jsoup builds: every element closed by its own end tag, in order; only
 * the tags below; no block element inside a {@code <p>}, {@code <li>} only directly in a list,
 * no link in a link, no heading in a heading; entities among a listed few and numeric ones to
 * printable characters, each ending in ';'; no comment, CR or NUL. On anything else it returns
 * null and the caller parses with jsoup, which repairs HTML the way a browser does.
 */
final class HtmlTree {
    /** Element name, lower case; null for a text node. */
    final String tag;
    /** A text node's text. */
    final String text;
    /** The {@code start} and {@code alt} attributes ("" when absent, as jsoup's {@code attr}). */
    String start = "", alt = "";
    final List<HtmlTree> children;

    private HtmlTree(String tag, String text) {
        this.tag = tag;
        this.text = text;
        this.children = tag == null ? List.of() : new ArrayList<>(4);
    }

    boolean isText() {
        return tag == null;
    }

    /** The jsoup tree below {@code body}, with what the converter does not read (comments, script data) left out. */
    static HtmlTree of(Element body) {
        HtmlTree t = new HtmlTree(body.normalName(), null);
        t.start = body.attr("start");
        t.alt = body.attr("alt");
        for (org.jsoup.nodes.Node c : body.childNodes()) {
            if (c instanceof TextNode tn) t.children.add(new HtmlTree(null, tn.getWholeText()));
            else if (c instanceof Element e) t.children.add(of(e));
        }
        return t;
    }

    private static final int INLINE = 1, BLOCK = 2, VOID = 4;

    private static int kind(String tag) {
        return switch (tag) {
            case "a", "span", "sup", "sub", "kbd", "code", "del", "ins", "s", "strike", "u", "b", "i", "em", "strong" -> INLINE;
                        case "p", "div", "pre", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6" -> BLOCK;
            case "br", "img" -> INLINE | VOID;
            case "hr" -> BLOCK | VOID;
            default -> 0;
        };
    }

    /** The tree of a fragment in the subset described above, or null when {@code html} is outside it. */
    static HtmlTree subset(String html) {
        HtmlTree root = new HtmlTree("body", null);
        HtmlTree[] stack = new HtmlTree[16];
        int depth = 0; // stack[0..depth) are the open elements below root
        int openP = 0, openA = 0, openH = 0;
        StringBuilder text = new StringBuilder();
        int n = html.length();
        int i = 0;
        while (i < n) {
            char c = html.charAt(i);
            if (c == '&') {
                int end = entity(html, i, text);
                if (end < 0) return null;
                i = end;
                continue;
            }
            if (c == '\r' || c == 0) return null;
            if (c != '<') {
                int j = i + 1;
                while (j < n && (c = html.charAt(j)) != '<' && c != '&' && c != '\r' && c != 0) j++;
                text.append(html, i, j);
                i = j;
                continue;
            }
            HtmlTree parent = depth == 0 ? root : stack[depth - 1];
            if (text.length() > 0) {
                parent.children.add(new HtmlTree(null, text.toString()));
                text.setLength(0);
            }
            boolean end = i + 1 < n && html.charAt(i + 1) == '/';
            int p = end ? i + 2 : i + 1;
            int nameStart = p;
            while (p < n && isAsciiAlnum(html.charAt(p))) p++;
            if (p == nameStart || !isAsciiLetter(html.charAt(nameStart))) return null;
            String tag = lower(html, nameStart, p);
            int kind = kind(tag);
            if (kind == 0) return null;
            if (end) {
                while (p < n && isSpace(html.charAt(p))) p++;
                if (p >= n || html.charAt(p) != '>') return null;
                if ((kind & VOID) != 0 || depth == 0 || !stack[depth - 1].tag.equals(tag)) return null;
                depth--;
                switch (tag) {
                    case "p" -> openP--;
                    case "a" -> openA--;
                    case "h1", "h2", "h3", "h4", "h5", "h6" -> openH--;
                    default -> {}
                }
                i = p + 1;
                continue;
            }
            HtmlTree e = new HtmlTree(tag, null);
            boolean selfClosing = false, sawStart = false, sawAlt = false;
            // attributes: name[=value], value quoted or bare; only start (ol) and alt (img) are kept, the first of each
            while (true) {
                while (p < n && isSpace(html.charAt(p))) p++;
                if (p >= n) return null;
                char a = html.charAt(p);
                if (a == '>') {
                    p++;
                    break;
                }
                if (a == '/') {
                    if (p + 1 < n && html.charAt(p + 1) == '>') {
                        selfClosing = true;
                        p += 2;
                        break;
                    }
                    return null;
                }
                int an = p;
                while (p < n && isAttrNameChar(html.charAt(p))) p++;
                if (p == an) return null;
                String name = lower(html, an, p);
                while (p < n && isSpace(html.charAt(p))) p++;
                String value = "";
                if (p < n && html.charAt(p) == '=') {
                    p++;
                    while (p < n && isSpace(html.charAt(p))) p++;
                    if (p >= n) return null;
                    char q = html.charAt(p);
                    int vs, ve;
                    if (q == '"' || q == '\'') {
                        vs = p + 1;
                        ve = html.indexOf(q, vs);
                        if (ve < 0) return null;
                        p = ve + 1;
                        if (p < n && !isSpace(html.charAt(p)) && html.charAt(p) != '>' && html.charAt(p) != '/') return null;
                    } else {
                        vs = p;
                        while (p < n && !isSpace(html.charAt(p)) && html.charAt(p) != '>') {
                            char v = html.charAt(p);
                            if (v == '"' || v == '\'' || v == '<' || v == '=' || v == '`') return null;
                            p++;
                        }
                        ve = p;
                    }
                    value = html.substring(vs, ve);
                }
                boolean start = name.equals("start") && !sawStart, alt = name.equals("alt") && !sawAlt;
                if (start || alt) {
                    if (value.indexOf('&') >= 0 || value.indexOf('\r') >= 0 || value.indexOf(0) >= 0) return null;
                    if (start) {
                        e.start = value;
                        sawStart = true;
                    } else {
                        e.alt = value;
                        sawAlt = true;
                    }
                }
            }
            if (selfClosing && (kind & VOID) == 0) return null;
            if ((kind & BLOCK) != 0 && openP > 0) return null; // the HTML parser would close the <p> first
            if (tag.equals("li") && (depth == 0 || !(stack[depth - 1].tag.equals("ul") || stack[depth - 1].tag.equals("ol"))))
                return null;
            if (tag.equals("a") && openA > 0) return null;
            boolean heading = tag.length() == 2 && tag.charAt(0) == 'h' && tag.charAt(1) >= '1' && tag.charAt(1) <= '6';
            if (heading && openH > 0) return null;
            parent.children.add(e);
            i = p;
            if ((kind & VOID) != 0) continue;
            if (depth == stack.length) stack = java.util.Arrays.copyOf(stack, depth * 2);
            stack[depth++] = e;
            if (tag.equals("p")) openP++;
            else if (tag.equals("a")) openA++;
            else if (heading) openH++;
            else if (tag.equals("pre") && i < n && html.charAt(i) == '\n') i++; // the parser drops a newline right after <pre>
        }
        if (depth != 0) return null;
        if (text.length() > 0) root.children.add(new HtmlTree(null, text.toString()));
        return root;
    }

    /**
     * Decodes the character reference at {@code html[i] == '&'} into {@code out}; returns the index
     * after it, or -1 for one outside the subset. A '&' not followed by a name or '#' is itself.
     */
    private static int entity(String html, int i, StringBuilder out) {
        int n = html.length();
        int p = i + 1;
        if (p >= n || !(html.charAt(p) == '#' || isAsciiAlnum(html.charAt(p)))) {
            out.append('&');
            return p;
        }
        if (html.charAt(p) == '#') {
            p++;
            boolean hex = p < n && (html.charAt(p) == 'x' || html.charAt(p) == 'X');
            if (hex) p++;
            int ds = p;
            long v = 0;
            while (p < n && p - ds < 8) {
                int d = Character.digit(html.charAt(p), hex ? 16 : 10);
                if (d < 0) break;
                v = v * (hex ? 16 : 10) + d;
                p++;
            }
            if (p == ds || p >= n || html.charAt(p) != ';') return -1;
            boolean printable = v == '\t' || v == '\n' || (v >= 0x20 && v < 0x7f) || (v >= 0xa0 && v < 0xd800)
                    || (v >= 0xe000 && v <= 0xfffd) || (v >= 0x10000 && v <= 0x10ffff);
            if (!printable) return -1;
            out.appendCodePoint((int) v);
            return p + 1;
        }
        int ns = p;
        while (p < n && p - ns < 8 && isAsciiAlnum(html.charAt(p))) p++;
        if (p >= n || html.charAt(p) != ';') return -1;
        char ch = switch (html.substring(ns, p)) {
            case "amp" -> '&';
            case "lt" -> '<';
            case "gt" -> '>';
            case "quot" -> '"';
            case "apos" -> '\'';
            case "nbsp" -> '\u00a0';
            case "copy" -> '\u00a9';
            case "reg" -> '\u00ae';
            case "deg" -> '\u00b0';
            case "times" -> '\u00d7';
            case "hellip" -> '\u2026';
            case "ndash" -> '\u2013';
            case "mdash" -> '\u2014';
            case "lsquo" -> '\u2018';
            case "rsquo" -> '\u2019';
            case "ldquo" -> '\u201c';
            case "rdquo" -> '\u201d';
            default -> 0;
        };
        if (ch == 0) return -1;
        out.append(ch);
        return p + 1;
    }

    private static String lower(String s, int from, int to) {
        char[] b = new char[to - from];
        for (int k = from; k < to; k++) {
            char c = s.charAt(k);
            b[k - from] = c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
        }
        return new String(b);
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\n' || c == '\t' || c == '\f';
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isAsciiAlnum(char c) {
        return isAsciiLetter(c) || (c >= '0' && c <= '9');
    }

    private static boolean isAttrNameChar(char c) {
        return isAsciiAlnum(c) || c == '-' || c == '_' || c == ':' || c == '.';
    }
}
