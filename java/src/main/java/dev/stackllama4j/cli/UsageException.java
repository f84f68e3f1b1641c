package dev.stackllama4j.cli;

/** Wrong usage of a command (missing or malformed option): exit code 2 and the usage line. */
public class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
