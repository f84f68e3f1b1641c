package dev.stackllama4j.tokenizer;

/**
 * Text to token ids and back, following llama.cpp's tokenizers.
 *
 * <p>Special tokens: control and unknown tokens (e.g. {@code <s>}, {@code </s>}, {@code <unk>}) are
 * matched in the text only when {@code parseSpecial} is true; otherwise "&lt;s&gt;" in the text is
 * ordinary characters. User-defined tokens are always matched first, as in llama.cpp and Hugging Face
 * tokenizers. The three-argument {@link #encode(String, boolean, boolean)} does not parse specials.
 *
 * <p>Decoding renders control and unknown tokens as nothing, byte tokens as raw bytes assembled into
 * UTF-8 (malformed sequences become U+FFFD), and, for SentencePiece vocabularies with
 * add_space_prefix, drops the one space that encoding put in front of the text (the first piece after
 * an optional leading BOS), so that {@code decode(encode(x, ..)) == x}.
 *
 * <p>Instances are immutable and safe to share between threads; {@link Decoder}s are not.
 */
public interface Tokenizer {
    int[] encode(String text, boolean addBos, boolean addEos);

    int[] encode(String text, boolean addBos, boolean addEos, boolean parseSpecial);

    String decode(int[] ids);

    /** The vocabulary entry of {@code id} as stored (e.g. "▁Hello", "&lt;0x0A&gt;", "Ġworld"). */
    String tokenText(int id);

    /** A fresh streaming decoder: feed ids one at a time, get back only complete UTF-8 text. */
    Decoder newDecoder();

    /**
     * A streaming decoder for ids that continue earlier text. With {@code atTextStart} false (a
     * continuation of a prompt that has text) the SentencePiece prefix space is kept, so that
     * decode(prompt) + stream(continuation) == decode(prompt + continuation).
     */
    Decoder newDecoder(boolean atTextStart);

    Vocabulary vocabulary();

    static Tokenizer forVocabulary(Vocabulary vocab) {
        return vocab.isSpm() ? new SpmTokenizer(vocab) : new BpeTokenizer(vocab);
    }
}
