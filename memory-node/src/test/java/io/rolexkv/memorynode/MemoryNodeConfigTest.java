package io.rolexkv.memorynode;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rolexkv.common.config.ByteSize;
import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.common.fabric.FabricLimits;
import io.rolexkv.common.fabric.FabricTransports;
import io.rolexkv.common.fabric.GlobalAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryNodeConfigTest {
    /** Example files shipped for users; they must always parse. */
    static final Path EXAMPLES = Path.of("src/main/resources/config");

    static MemoryNodeConfig parse(String memoryNodeSection) {
        return MemoryNodeConfig.fromRoot(ConfigNode.parse("{\"memory_node\": " + memoryNodeSection + "}", "test.json"));
    }

    static String failure(String memoryNodeSection) {
        return assertThrows(ConfigException.class, () -> parse(memoryNodeSection)).getMessage();
    }

    @Test
    void emptySectionGivesTheDocumentedDefaults() {
        MemoryNodeConfig config = parse("{\"transport\": \"loopback\"}");
        assertEquals(MemoryNodeConfig.MEMORY_NODE_ID_DEFAULT, config.memoryNodeId());
        assertEquals("127.0.0.1", config.host());
        assertEquals(7000, config.port());
        assertEquals(FabricLimits.DEFAULT, config.limits());
        assertEquals(MemoryNodeConfig.REGIONS_DEFAULT, config.regions());
        assertEquals(List.of("meta", "leaves", "tables", "models", "values"),
                config.regions().stream().map(RegionConfig::name).toList());
        assertEquals(289L << 20, config.totalBytes(), "a few hundred MiB: fits a laptop");
        assertTrue(config.regions().stream().allMatch(region -> region.file().isEmpty()));
        assertEquals(Optional.empty(), config.dataDirectory());
        assertEquals("127.0.0.1:7000", config.bindEndpoint());
    }

    @Test
    void defaultTransportIsTcpAndIsRefusedByABuildWithoutIt() {
        if (FabricTransports.NAMES.contains("tcp")) {
            assertEquals("tcp", MemoryNodeConfig.defaults().transport());
        } else {
            ConfigException e = assertThrows(ConfigException.class, MemoryNodeConfig::defaults);
            assertEquals("unknown value field=transport found=\"tcp\" (the default) allowed=" + FabricTransports.NAMES
                    + ": this build has no tcp transport", e.getMessage());
        }
    }

    @Test
    void readsEveryField(@TempDir Path directory) {
        Path spill = directory.resolve("spill/values.bin");
        MemoryNodeConfig config = parse("""
                {"memory_node_id": 255, "transport": "loopback", "host": "0.0.0.0", "port": 0,
                 "max_verbs_per_batch": 64, "max_bytes_per_batch": "1MiB", "data_dir": "%s",
                 "regions": [{"name": "leaves", "bytes": "2GiB"}, {"name": "values", "bytes": 4096, "file": "%s"}]}
                """.formatted(directory, spill));
        assertEquals(255, config.memoryNodeId());
        assertEquals("loopback", config.transport());
        assertEquals("0.0.0.0", config.host());
        assertEquals(0, config.port());
        assertEquals(new FabricLimits(64, 1L << 20), config.limits());
        assertEquals(Optional.of(directory), config.dataDirectory());
        assertEquals(List.of(new RegionConfig("leaves", 2L << 30, Optional.of(directory.resolve("leaves.region"))),
                new RegionConfig("values", 4096, Optional.of(spill))), config.regions());
    }

    @Test
    void relativePathsAreResolvedAgainstTheWorkingDirectory() {
        MemoryNodeConfig config = parse("""
                {"transport": "loopback", "data_dir": "data/../node0", "regions": [{"name": "a", "bytes": 8, "file": "x/a.bin"}]}
                """);
        Path here = Path.of("").toAbsolutePath();
        assertEquals(Optional.of(here.resolve("node0")), config.dataDirectory());
        assertEquals(Optional.of(here.resolve("x/a.bin")), config.regions().getFirst().file());
    }

    @Test
    void otherComponentsTopLevelFieldsAreLeftAlone() {
        MemoryNodeConfig config = MemoryNodeConfig.fromRoot(ConfigNode.parse(
                "{\"engine_type\": \"rolex\", \"compute_node\": {\"x\": 1}, \"memory_node\": {\"transport\": \"loopback\", \"port\": 1}}", "t"));
        assertEquals(1, config.port());
    }

    @Test
    void writtenConfigsReadBackEqual() {
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            ObjectNode section = ConfigNode.newObject();
            section.put("transport", "loopback");
            if (random.nextBoolean()) {
                section.put("memory_node_id", random.nextInt(256));
            }
            if (random.nextBoolean()) {
                section.put("port", random.nextInt(65536));
            }
            if (random.nextBoolean()) {
                section.put("host", "10.0.0." + random.nextInt(256));
            }
            if (random.nextBoolean()) {
                section.put("max_verbs_per_batch", 1 + random.nextInt(100_000));
            }
            if (random.nextBoolean()) {
                section.put("max_bytes_per_batch", 8 + random.nextInt(1 << 30));
            }
            if (random.nextBoolean()) {
                section.put("data_dir", "dir" + random.nextInt(3));
            }
            if (random.nextBoolean()) {
                ArrayNode regions = section.putArray("regions");
                int count = 1 + random.nextInt(8);
                for (int i = 0; i < count; i++) {
                    ObjectNode region = regions.addObject().put("name", "region-" + i);
                    long bytes = random.nextLong(1L << 40);
                    if (random.nextBoolean()) {
                        region.put("bytes", bytes);
                    } else {
                        region.put("bytes", ByteSize.format(bytes));
                    }
                    if (random.nextInt(4) == 0) {
                        region.put("file", "files/r" + i + ".bin");
                    }
                }
            }
            ObjectNode root = ConfigNode.newObject();
            root.set("memory_node", section);
            MemoryNodeConfig config = MemoryNodeConfig.fromRoot(ConfigNode.of(root));
            String written = ConfigNode.toText(config.toJson());
            assertEquals(config, MemoryNodeConfig.fromRoot(ConfigNode.parse(written, "written")), written);
        }
    }

    @Test
    void exampleFilesParse() throws Exception {
        List<Path> examples = new ArrayList<>();
        try (var files = Files.list(EXAMPLES)) {
            files.filter(file -> file.toString().endsWith(".json")).forEach(examples::add);
        }
        assertTrue(examples.size() >= 2, "examples=" + examples);
        for (Path example : examples) {
            ObjectNode root = ConfigNode.load(example).json();
            ObjectNode section = (ObjectNode) root.get("memory_node");
            String transport = section.path("transport").asText();
            assertTrue(List.of("tcp", "rdma", "loopback").contains(transport), example + " transport=" + transport);
            if (!FabricTransports.NAMES.contains(transport)) {
                section.put("transport", FabricTransports.NAMES.getFirst()); // this build lacks it; the rest must still hold
            }
            MemoryNodeConfig config = MemoryNodeConfig.fromRoot(ConfigNode.of(root));
            assertTrue(config.totalBytes() > 0, example.toString());
        }
    }

    @Test
    void missingSection() {
        ConfigException e = assertThrows(ConfigException.class, () -> MemoryNodeConfig.fromRoot(ConfigNode.parse("{\"memroy_node\": {}}", "t")));
        assertEquals("missing field=memory_node expected=object", e.getMessage());
    }

    @Test
    void retrainSectionReadsItsPolicyAndRefusesOutOfRangeValues() {
        RetrainSettings defaults = parse("{\"transport\": \"loopback\"}").retrain();
        assertEquals(RetrainSettings.DEFAULT, defaults);
        assertEquals(io.rolexkv.rolex.index.LeanRetrainer.Policy.DEFAULT, defaults.policy());
        RetrainSettings set = parse("""
                {"transport": "loopback", "retrain": {"threads": 0, "min_delta_leaves": 2, "delta_leaf_fraction": 0.5,
                 "poll_interval_ms": 20}}
                """).retrain();
        assertEquals(new RetrainSettings(0, 2, 0.5, 20), set);
        assertEquals(2, set.policy().minDeltaLeaves());
        assertEquals(0.5, set.policy().deltaLeafFraction());
        assertTrue(failure("{\"transport\": \"loopback\", \"retrain\": {\"delta_leaf_fraction\": 0}}")
                .contains("field=memory_node.retrain.delta_leaf_fraction"));
        assertTrue(failure("{\"transport\": \"loopback\", \"retrain\": {\"min_delta_leaves\": 255}}")
                .contains("field=memory_node.retrain.min_delta_leaves"));
        assertTrue(failure("{\"transport\": \"loopback\", \"retrain\": {\"free_slots\": 100}}")
                .contains("free_slots"), "the settings of the earlier layout's retrainer are refused, not ignored");
    }

    @Test
    void badScalarFieldsNameTheirPath() {
        assertEquals("out of range field=memory_node.memory_node_id found=256 allowed=[0,255]",
                failure("{\"memory_node_id\": 256}"));
        assertEquals("unknown value field=memory_node.transport found=\"udp\" allowed=" + FabricTransports.NAMES,
                failure("{\"transport\": \"udp\"}"));
        assertEquals("wrong type field=memory_node.port expected=integer found=\"7000\"",
                failure("{\"transport\": \"loopback\", \"port\": \"7000\"}"));
        assertEquals("out of range field=memory_node.port found=70000 allowed=[0,65535]",
                failure("{\"transport\": \"loopback\", \"port\": 70000}"));
        assertEquals("out of range field=memory_node.port found=-1 allowed=[0,65535]",
                failure("{\"transport\": \"loopback\", \"port\": -1}"));
        assertEquals("bad host field=memory_node.host found=\"my host\" expected=a host name or IP address",
                failure("{\"transport\": \"loopback\", \"host\": \"my host\"}"));
        assertEquals("empty string field=memory_node.host expected=a non-empty string",
                failure("{\"transport\": \"loopback\", \"host\": \"\"}"));
        assertEquals("bad size field=memory_node.max_bytes_per_batch found=\"1XB\" unit=\"XB\" expected=" + ByteSize.FORMAT,
                failure("{\"transport\": \"loopback\", \"max_bytes_per_batch\": \"1XB\"}"));
        assertEquals("wrong type field=memory_node.data_dir expected=string found=7",
                failure("{\"transport\": \"loopback\", \"data_dir\": 7}"));
    }

    @Test
    void unknownFieldsAreRefusedListingTheKnownOnes() {
        assertEquals("unknown field field=memory_node.prot allowed=[memory_node_id, transport, host, port, max_verbs_per_batch,"
                        + " max_bytes_per_batch, data_dir, regions, auth_secret_file]",
                failure("{\"transport\": \"loopback\", \"prot\": 7000}"));
        assertEquals("unknown field field=memory_node.regions[0].size allowed=[name, bytes, file]",
                failure("{\"transport\": \"loopback\", \"regions\": [{\"name\": \"a\", \"bytes\": 8, \"size\": 8}]}"));
    }

    @Test
    void badRegionsNameTheirElement() {
        assertEquals("out of range field=memory_node.regions[2].bytes found=-5 allowed=[0," + GlobalAddress.MAX_OFFSET + "]",
                failure(regions("{\"name\": \"a\", \"bytes\": 8}, {\"name\": \"b\", \"bytes\": 8}, {\"name\": \"c\", \"bytes\": -5}")));
        assertEquals("out of range field=memory_node.regions[0].bytes found=\"256TiB\" allowed=[0," + GlobalAddress.MAX_OFFSET + "]",
                failure(regions("{\"name\": \"a\", \"bytes\": \"256TiB\"}")));
        assertEquals("missing field=memory_node.regions[1].bytes expected=size allowed=[0," + GlobalAddress.MAX_OFFSET + "]",
                failure(regions("{\"name\": \"a\", \"bytes\": 8}, {\"name\": \"b\"}")));
        assertEquals("missing field=memory_node.regions[0].name expected=string",
                failure(regions("{\"bytes\": 8}")));
        assertEquals("duplicate region name field=memory_node.regions[2].name found=\"a\" first=memory_node.regions[0].name",
                failure(regions("{\"name\": \"a\", \"bytes\": 8}, {\"name\": \"b\", \"bytes\": 8}, {\"name\": \"a\", \"bytes\": 8}")));
        assertEquals("bad region name field=memory_node.regions[0].name found=\"../etc\" expected=1 to 64 of [A-Za-z0-9_.-],"
                        + " starting with a letter or digit",
                failure(regions("{\"name\": \"../etc\", \"bytes\": 8}")));
        assertEquals("wrong number of regions field=memory_node.regions found=0 allowed=[1,256]", failure(regions("")));
        assertEquals("wrong type field=memory_node.regions[0] expected=object found=\"leaves\"", failure(regions("\"leaves\"")));
        assertEquals("wrong type field=memory_node.regions expected=array of objects found={}",
                failure("{\"transport\": \"loopback\", \"regions\": {}}"));
    }

    @Test
    void tooManyRegions() {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i <= GlobalAddress.MAX_REGIONS; i++) {
            many.append(i == 0 ? "" : ", ").append("{\"name\": \"r").append(i).append("\", \"bytes\": 8}");
        }
        assertEquals("wrong number of regions field=memory_node.regions found=257 allowed=[1,256]", failure(regions(many.toString())));
    }

    @Test
    void twoRegionsMayNotMapOneFile(@TempDir Path directory) {
        assertEquals("two regions map one file field=memory_node.regions file=" + directory.resolve("a.region") + " regions=[a, b]",
                failure("""
                        {"transport": "loopback", "data_dir": "%s",
                         "regions": [{"name": "a", "bytes": 8}, {"name": "b", "bytes": 8, "file": "%s"}]}
                        """.formatted(directory, directory.resolve("a.region"))));
    }

    @Test
    void noRegionMayMapAnotherRegionsIncarnationFile(@TempDir Path directory) {
        Path taken = directory.resolve("a.region" + IncarnationFiles.SUFFIX);
        assertEquals("a region maps another region's incarnation file field=memory_node.regions file=" + taken
                        + " regions=[a, b]",
                failure("""
                        {"transport": "loopback", "data_dir": "%s",
                         "regions": [{"name": "a", "bytes": 8}, {"name": "b", "bytes": 8, "file": "%s"}]}
                        """.formatted(directory, taken)));
    }

    @Test
    void malformedFileNamesLineAndColumn(@TempDir Path directory) throws Exception {
        Path file = directory.resolve("node.json");
        Files.writeString(file, "{\n  \"memory_node\": {\n    \"port\": 7000\n    \"host\": \"x\"\n  }\n}\n");
        ConfigException e = assertThrows(ConfigException.class, () -> MemoryNodeConfig.load(file));
        assertTrue(e.getMessage().startsWith("malformed JSON source=" + file + " line=4 column=5: "), e.getMessage());
    }

    private static String regions(String elements) {
        return "{\"transport\": \"loopback\", \"regions\": [" + elements + "]}";
    }
}
