package io.rolexkv.computenode.value;

import org.junit.jupiter.api.Test;

import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SizeClassesTest {
    @Test
    void everyBlockFitsItsClassWithAtMostAnEighthWasted() {
        int previous = 0;
        for (int blockBytes = 16; blockBytes <= (2 << 20); blockBytes += 16) {
            int classBytes = SizeClasses.classBytes(blockBytes);
            assertTrue(classBytes >= blockBytes, "block " + blockBytes);
            assertTrue(classBytes - blockBytes <= blockBytes / 8, "block " + blockBytes + " class " + classBytes);
            assertEquals(0, classBytes % 16, "classes keep blocks aligned");
            assertTrue(classBytes >= previous, "monotone at " + blockBytes);
            assertEquals(classBytes, SizeClasses.classBytes(classBytes), "a class is its own class");
            previous = classBytes;
        }
        assertEquals(32, SizeClasses.classOfValue(8), "the smallest block value");
        assertEquals(576, SizeClasses.classOfValue(512), "a 512-byte embedding: 528 bytes of block");
    }

    @Test
    void largestClassWithinIsTheGreatestClassNotAbove() {
        TreeSet<Integer> classes = new TreeSet<>();
        for (int blockBytes = 16; blockBytes <= (1 << 20); blockBytes += 16) {
            classes.add(SizeClasses.classBytes(blockBytes));
        }
        for (long bytes = 0; bytes <= (1 << 20); bytes += 7) {
            Integer expected = classes.floor((int) bytes);
            assertEquals(expected == null ? 0 : expected, SizeClasses.largestClassWithin(bytes), "bytes " + bytes);
        }
    }
}
