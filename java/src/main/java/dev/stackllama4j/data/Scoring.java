package dev.stackllama4j.data;

/**
 * StackLLaMA's answer score, after Askell et al. 2021 (as stated in the H4 stack-exchange-preferences
 * card that lvwerra/stack-exchange-paired derives from): {@code round(log2(1 + upvotes))}, plus 1 if
 * the asker accepted the answer; negative upvotes give -1.
 *
 * <p>Our reading of the edge cases: "upvotes" is the dump's net {@code Score} attribute. Zero gives
 * {@code round(log2 1) = 0} (1 if accepted). A negative net score gives -1 flat, accepted or not: the
 * card assigns -1 "if the number of upvotes is negative" as the score, not as the log term. Rounding
 * ties cannot occur: {@code log2(1+u)} is an integer plus one half only if {@code 1+u} is an integer
 * times sqrt(2), which no integer is, so Python's half-to-even and Java's half-up agree.
 */
public final class Scoring {
    private Scoring() {}

    public static int score(long upvotes, boolean accepted) {
        if (upvotes < 0) return -1;
        int base = (int) Math.round(Math.log1p((double) upvotes) / Math.log(2.0));
        return accepted ? base + 1 : base;
    }
}
