package dev.stackllama4j.data;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.sevenz.SevenZArchiveEntry;
import org.apache.commons.compress.archivers.sevenz.SevenZFile;

/**
 * One site's {@code Posts.xml} as {@code prepare} reads it: a plain file, or the {@code Posts.xml}
 * entry of the site's {@code .7z} dump, decompressed as a stream (nothing unpacked to disk).
 * {@code site} is the site's host name as the dump names it ({@code beer.stackexchange.com.7z},
 * {@code stackoverflow.com-Posts.7z}, or the folder holding a {@code Posts.xml}).
 */
public record PostsSource(Path file, String site, boolean sevenZ) {
    public static final String POSTS_XML = "Posts.xml";

    /**
     * The sources {@code path} stands for: a {@code .7z} archive, an XML file, or a folder. A folder
     * holding {@code Posts.xml} is that one site; any other folder stands for its {@code .7z} files
     * and its sub-folders that hold a {@code Posts.xml}, in name order.
     */
    public static List<PostsSource> resolve(Path path) throws IOException {
        if (Files.isRegularFile(path)) return List.of(ofFile(path));
        if (!Files.isDirectory(path)) throw new DataFormatException(path + ": no such file or folder");
        Path own = path.resolve(POSTS_XML);
        if (Files.isRegularFile(own)) return List.of(ofFile(own));
        List<PostsSource> out = new ArrayList<>();
        List<Path> children;
        try (Stream<Path> s = Files.list(path)) {
            children = s.sorted().toList();
        }
        for (Path c : children) {
            if (Files.isRegularFile(c) && isSevenZ(c)) out.add(ofFile(c));
            else if (Files.isDirectory(c) && Files.isRegularFile(c.resolve(POSTS_XML))) out.add(ofFile(c.resolve(POSTS_XML)));
        }
        if (out.isEmpty())
            throw new DataFormatException(path + ": folder holds no Posts.xml, no site .7z archive and no site folder with a Posts.xml");
        return out;
    }

    static PostsSource ofFile(Path file) {
        String name = file.getFileName().toString();
        if (isSevenZ(file)) {
            String site = name.substring(0, name.length() - 3);
            if (site.endsWith("-Posts")) site = site.substring(0, site.length() - "-Posts".length());
            return new PostsSource(file, site, true);
        }
        Path parent = file.toAbsolutePath().getParent();
        String site = name.equalsIgnoreCase(POSTS_XML) && parent != null && parent.getFileName() != null
                ? parent.getFileName().toString()
                : name.replaceFirst("\\.[^.]*$", "");
        return new PostsSource(file, site, false);
    }

    private static boolean isSevenZ(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".7z");
    }

    /** A name for messages: the file, and the archive entry for a .7z. */
    public String describe() {
        return sevenZ ? file + "!/" + POSTS_XML : file.toString();
    }

    /** Bytes of XML this source holds (the entry's uncompressed size for a .7z, from its header). */
    public long xmlBytes() throws IOException {
        if (!sevenZ) return Files.size(file);
        try (SevenZFile z = SevenZFile.builder().setPath(file).get()) {
            return postsEntry(z).getSize();
        }
    }

    /** The XML as a stream; closing it closes the archive. */
    public InputStream open() throws IOException {
        if (!sevenZ) return new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        SevenZFile z = SevenZFile.builder().setPath(file).get();
        try {
            InputStream in = z.getInputStream(postsEntry(z));
            return new BufferedInputStream(new FilterInputStream(in) {
                @Override
                public void close() throws IOException {
                    try {
                        super.close();
                    } finally {
                        z.close();
                    }
                }
            }, 1 << 16);
        } catch (IOException | RuntimeException e) {
            z.close();
            throw e;
        }
    }

    private SevenZArchiveEntry postsEntry(SevenZFile z) {
        for (SevenZArchiveEntry e : z.getEntries()) {
            String n = e.getName();
            String base = n == null ? "" : n.substring(n.replace('\\', '/').lastIndexOf('/') + 1);
            if (!e.isDirectory() && base.equalsIgnoreCase(POSTS_XML)) return e;
        }
        throw new DataFormatException(file + ": archive holds no " + POSTS_XML + " (a Stack Exchange site dump has one)");
    }
}
