package io.rolexkv.bench.index;

import java.util.Arrays;
import java.util.List;

/** How the index bench draws its keys: the easy case for a learned index and a hard one. */
public enum IndexDataset {
    /** Distinct keys uniform over all 2^64 values: i.i.d. gaps, long model segments. */
    UNIFORM("uniform"),
    /** A few hundred dense clusters with lognormal gaps inside, far apart: skewed gaps, short segments, big jumps. */
    CLUSTERED("clustered");

    public static final List<String> NAMES = Arrays.stream(values()).map(IndexDataset::cliName).toList();

    private final String cliName;

    IndexDataset(String cliName) {
        this.cliName = cliName;
    }

    /** The name the command line and the report use. */
    public String cliName() {
        return cliName;
    }

    /** The dataset named {@code name} on the command line. */
    public static IndexDataset fromName(String name) {
        for (IndexDataset dataset : values()) {
            if (dataset.cliName.equals(name)) {
                return dataset;
            }
        }
        throw new IllegalArgumentException("dataset=" + name + " allowed=" + NAMES);
    }
}
