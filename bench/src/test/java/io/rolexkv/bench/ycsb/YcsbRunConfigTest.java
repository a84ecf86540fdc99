package io.rolexkv.bench.ycsb;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class YcsbRunConfigTest {

    private static void assertRefused(String expectedInMessage, Supplier<YcsbRunConfig> build) {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, build::get);
        assertTrue(refused.getMessage().contains(expectedInMessage), refused.getMessage());
    }

    @Test
    void workloadFilesCarryYcsbsCoreDefaults() {
        for (String name : new String[]{"a", "b", "c", "d", "e", "f"}) {
            Properties properties = YcsbWorkloads.load(name);
            assertEquals("site.ycsb.workloads.CoreWorkload", properties.getProperty("workload"), name);
            assertEquals("10", properties.getProperty("fieldcount"), name);
            assertEquals("100", properties.getProperty("fieldlength"), name);
            assertEquals(name.equals("d") ? "latest" : "zipfian", properties.getProperty("requestdistribution"), name);
            double total = 0;
            for (String operation : new String[]{"read", "update", "scan", "insert", "readmodifywrite"}) {
                total += Double.parseDouble(properties.getProperty(operation + "proportion"));
            }
            assertEquals(1.0, total, 1e-9, name + " proportions add up to 1");
        }
        Properties e = YcsbWorkloads.load("e");
        assertEquals("100", e.getProperty("maxscanlength"));
        assertEquals("uniform", e.getProperty("scanlengthdistribution"));
        assertEquals("0.5", YcsbWorkloads.load("f").getProperty("readmodifywriteproportion"));
        assertEquals("0.5", YcsbWorkloads.load("a").getProperty("updateproportion"));
        assertEquals("0.05", YcsbWorkloads.load("b").getProperty("updateproportion"));
        assertEquals("1", YcsbWorkloads.load("c").getProperty("readproportion"));
        assertEquals("0.05", YcsbWorkloads.load("d").getProperty("insertproportion"));
    }

    @Test
    void optionsOverrideTheFileAndPropertiesOverrideTheOptions() {
        YcsbRunConfig config = YcsbRunConfig.builder().workload("b").records(50).operations(70).threads(3)
                .property("operationcount", "90").property("insertorder", "ordered").build();
        assertEquals(50, config.records());
        assertEquals(90, config.operations());
        assertEquals(3, config.threads());
        assertEquals("ordered", config.properties().getProperty("insertorder"));
        assertEquals(1000, config.valueSize());
        assertEquals(1020, config.maxValueBytes());
        assertFalse(config.loadOnly());
        assertTrue(YcsbRunConfig.builder().workload("load").build().loadOnly());
    }

    @Test
    void valueSizeMakesOneFieldOfThatSize() {
        YcsbRunConfig config = YcsbRunConfig.builder().valueSize(8).build();
        Properties properties = config.properties();
        assertEquals("1", properties.getProperty("fieldcount"));
        assertEquals("8", properties.getProperty("fieldlength"));
        assertEquals("constant", properties.getProperty("fieldlengthdistribution"));
        assertEquals(8, config.valueSize());
        assertEquals(8, config.maxValueBytes());
        YcsbRunConfig byProperty = YcsbRunConfig.builder().property("rolexkv.value_size", "16").build();
        assertEquals(16, byProperty.maxValueBytes());
    }

    @Test
    void contradictionsAndSettingsYcsbWouldExitOnAreRefusedByName() {
        assertRefused("fieldcount=10", () -> YcsbRunConfig.builder().valueSize(8).property("fieldcount", "10").build());
        assertRefused("contradicts", () -> YcsbRunConfig.builder().valueSize(8)
                .property("rolexkv.value_size", "16").build());
        assertRefused("dataintegrity=true", () -> YcsbRunConfig.builder().property("dataintegrity", "true")
                .property("fieldlengthdistribution", "uniform").build());
        assertRefused("insertcount", () -> YcsbRunConfig.builder().records(10).property("insertstart", "5")
                .property("insertcount", "6").build());
        assertRefused("records=0", () -> YcsbRunConfig.builder().records(0).build());
        assertRefused("threads=0", () -> YcsbRunConfig.builder().threads(0).build());
        assertRefused("zeropadding=x", () -> YcsbRunConfig.builder().property("zeropadding", "x").build());
        assertRefused("histogram", () -> YcsbRunConfig.builder().property("fieldlengthdistribution", "histogram")
                .build());
        assertRefused("workload=no.such.Workload", () -> YcsbRunConfig.builder()
                .property("workload", "no.such.Workload").build());
        assertRefused("workload=g", () -> YcsbRunConfig.builder().workload("g").build());
    }

    @Test
    void aWorkloadFileByPath(@TempDir Path folder) throws IOException {
        Path file = folder.resolve("mine");
        Files.writeString(file, "workload=site.ycsb.workloads.CoreWorkload\nreadproportion=1\nfieldcount=4\n");
        YcsbRunConfig config = YcsbRunConfig.builder().workload(file.toString()).build();
        assertEquals("4", config.properties().getProperty("fieldcount"));
        assertEquals(400, config.valueSize());
    }
}
