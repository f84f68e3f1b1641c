package dev.stackllama4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ScoringTest {
    // round(log2(1+u)) by hand: 1+u in [2^(k-1/2), 2^(k+1/2)) gives k, i.e. thresholds 1.41, 2.83, 5.66, 11.3, 22.6
    @Test
    void formulaOnHandMadeValues() {
        long[] upvotes = {0, 1, 2, 3, 4, 5, 9, 10, 11, 21, 22, 100};
        int[] expect = {0, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 7};
        for (int i = 0; i < upvotes.length; i++) {
            assertEquals(expect[i], Scoring.score(upvotes[i], false), "upvotes " + upvotes[i]);
            assertEquals(expect[i] + 1, Scoring.score(upvotes[i], true), "accepted, upvotes " + upvotes[i]);
        }
    }

    @Test
    void negativeUpvotesGiveMinusOneEvenIfAccepted() {
        assertEquals(-1, Scoring.score(-1, false));
        assertEquals(-1, Scoring.score(-7, false));
        assertEquals(-1, Scoring.score(-1, true));
    }
}
