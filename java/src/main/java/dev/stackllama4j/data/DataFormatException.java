package dev.stackllama4j.data;

/** Input that cannot be read as what it claims to be; the message names the file and the place. */
public class DataFormatException extends RuntimeException {
    public DataFormatException(String message) {
        super(message);
    }

    public DataFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
