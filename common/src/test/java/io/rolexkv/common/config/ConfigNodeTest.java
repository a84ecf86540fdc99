package io.rolexkv.common.config;

import io.rolexkv.common.fabric.FabricLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigNodeTest {
    private static final String NODE = """
            {
              "memory_node": {
                "port": 7000,
                "transport": "loopback",
                "enabled": true,
                "regions": [
                  {"name": "meta", "bytes": 4096},
                  {"name": "leaves", "bytes": "64MiB"},
                  {"name": "values", "bytes": -5}
                ]
              }
            }
            """;

    enum Mode { FAST_PATH, SAFE }

    private static ConfigNode memoryNode(String json) {
        return ConfigNode.parse(json, "test.json").object("memory_node");
    }

    private static String failure(Runnable read) {
        return assertThrows(ConfigException.class, read::run).getMessage();
    }

    @Test
    void readsTypedValuesAndDefaults() {
        ConfigNode node = memoryNode(NODE);
        assertEquals("memory_node", node.path());
        assertEquals(7000, node.requireInt("port", 1, 65535));
        assertEquals("loopback", node.requireOneOf("transport", List.of("loopback", "tcp")));
        assertTrue(node.optionalBoolean("enabled", false));
        assertEquals(9, node.optionalInt("absent_int", 9, 0, 10));
        assertEquals(9L, node.optionalLong("absent_long", 9, 0, 10));
        assertEquals(1L << 20, node.optionalSize("absent_size", 1L << 20, 0, Long.MAX_VALUE));
        assertEquals("x", node.optionalString("absent_string", "x"));
        assertEquals(Optional.empty(), node.optionalString("absent_string"));
        assertEquals("tcp", node.optionalOneOf("absent_choice", "tcp", List.of("tcp")));
        assertEquals(Mode.SAFE, node.optionalEnum("absent_mode", Mode.class, Mode.SAFE));
        assertEquals(Optional.empty(), node.optionalArray("absent_array"));
        assertEquals("memory_node.absent_object", node.optionalObject("absent_object").path());

        List<ConfigNode> regions = node.array("regions");
        assertEquals(3, regions.size());
        assertEquals("memory_node.regions[1]", regions.get(1).path());
        assertEquals(4096, regions.get(0).requireSize("bytes", 0, Long.MAX_VALUE));
        assertEquals(64L << 20, regions.get(1).requireSize("bytes", 0, Long.MAX_VALUE));
        assertEquals("leaves", regions.get(1).requireString("name"));
    }

    @Test
    void enumsAreWrittenInLowerCase() {
        ConfigNode node = ConfigNode.parse("{\"mode\": \"fast_path\", \"other\": \"FAST_PATH\"}", "test.json");
        assertEquals(Mode.FAST_PATH, node.optionalEnum("mode", Mode.class, Mode.SAFE));
        assertEquals("unknown value field=other found=\"FAST_PATH\" allowed=[fast_path, safe]",
                failure(() -> node.optionalEnum("other", Mode.class, Mode.SAFE)));
    }

    @Test
    void missingFieldNamesItsPathAndWhatIsExpected() {
        assertEquals("missing field=memory_node.host expected=string", failure(() -> memoryNode(NODE).requireString("host")));
        assertEquals("missing field=memory_node.backlog expected=integer allowed=[1,65535]",
                failure(() -> memoryNode(NODE).requireInt("backlog", 1, 65535)));
        assertEquals("missing field=memory_node.regions[0].file expected=string",
                failure(() -> memoryNode(NODE).array("regions").get(0).requireString("file")));
        assertEquals("missing field=compute_node expected=object",
                failure(() -> ConfigNode.parse(NODE, "test.json").object("compute_node")));
    }

    @Test
    void wrongTypeNamesWhatWasFound() {
        assertEquals("wrong type field=memory_node.transport expected=integer found=\"loopback\"",
                failure(() -> memoryNode(NODE).requireInt("transport", 0, 10)));
        assertEquals("wrong type field=memory_node.port expected=string found=7000",
                failure(() -> memoryNode(NODE).requireString("port")));
        assertEquals("wrong type field=memory_node.port expected=boolean found=7000",
                failure(() -> memoryNode(NODE).optionalBoolean("port", false)));
        assertEquals("wrong type field=memory_node.port expected=object found=7000",
                failure(() -> memoryNode(NODE).object("port")));
        assertEquals("wrong type field=memory_node.port expected=array of objects found=7000",
                failure(() -> memoryNode(NODE).array("port")));
        assertEquals("wrong type field=memory_node.regions[1] expected=object found=3",
                failure(() -> ConfigNode.parse("{\"memory_node\":{\"regions\":[{}, 3]}}", "t").object("memory_node").array("regions")));
        assertEquals("wrong type field=x expected=integer found=1.5",
                failure(() -> ConfigNode.parse("{\"x\": 1.5}", "t").optionalInt("x", 0, 0, 10)));
        assertEquals("wrong type field=x expected=integer found=null",
                failure(() -> ConfigNode.parse("{\"x\": null}", "t").optionalInt("x", 0, 0, 10)));
        assertEquals("wrong type field=x expected=size (" + ByteSize.FORMAT + ") found=true",
                failure(() -> ConfigNode.parse("{\"x\": true}", "t").optionalSize("x", 0, 0, 10)));
    }

    @Test
    void negativeSizeIsOutOfRangeAtItsArrayPath() {
        ConfigNode values = memoryNode(NODE).array("regions").get(2);
        assertEquals("out of range field=memory_node.regions[2].bytes found=-5 allowed=[0,281474976710655]",
                failure(() -> values.requireSize("bytes", 0, 281474976710655L)));
        ConfigNode negativeString = ConfigNode.parse("{\"bytes\": \"-1MiB\"}", "t");
        assertEquals("out of range field=bytes found=\"-1MiB\" allowed=[0,100]",
                failure(() -> negativeString.requireSize("bytes", 0, 100)));
    }

    @Test
    void outOfRangeNamesTheRange() {
        assertEquals("out of range field=memory_node.port found=7000 allowed=[1,1024]",
                failure(() -> memoryNode(NODE).requireInt("port", 1, 1024)));
        assertEquals("out of range field=memory_node.regions[1].bytes found=\"64MiB\" allowed=[0,1048576]",
                failure(() -> memoryNode(NODE).array("regions").get(1).requireSize("bytes", 0, 1L << 20)));
        ConfigNode huge = ConfigNode.parse("{\"n\": 123456789012345678901234567890}", "t");
        assertEquals("out of range field=n found=123456789012345678901234567890 allowed=[0," + Long.MAX_VALUE + "]",
                failure(() -> huge.requireLong("n", 0, Long.MAX_VALUE)));
        ConfigNode bigForInt = ConfigNode.parse("{\"n\": 3000000000}", "t");
        assertEquals("out of range field=n found=3000000000 allowed=[0,2147483647]",
                failure(() -> bigForInt.requireInt("n", 0, Integer.MAX_VALUE)));
    }

    @Test
    void fractionsTakeIntegersAndDecimalsWithinAnOpenLowerBound() {
        ConfigNode node = ConfigNode.parse("{\"a\": 0.5, \"b\": 1, \"zero\": 0, \"big\": 1.25, \"text\": \"0.5\"}", "t");
        assertEquals(0.5, node.optionalDouble("a", 0.75, 0, 1));
        assertEquals(1.0, node.optionalDouble("b", 0.75, 0, 1));
        assertEquals(0.75, node.optionalDouble("absent", 0.75, 0, 1));
        assertEquals("out of range field=zero found=0 allowed=(0.0,1.0]", failure(() -> node.optionalDouble("zero", 0.75, 0, 1)));
        assertEquals("out of range field=big found=1.25 allowed=(0.0,1.0]", failure(() -> node.optionalDouble("big", 0.75, 0, 1)));
        assertEquals("wrong type field=text expected=number found=\"0.5\"", failure(() -> node.optionalDouble("text", 0.75, 0, 1)));
    }

    @Test
    void badSizeStringNamesTheFormat() {
        ConfigNode node = ConfigNode.parse("{\"a\": {\"bytes\": \"64 MeB\"}}", "t").object("a");
        assertEquals("bad size field=a.bytes found=\"64 MeB\" unit=\"MeB\" expected=" + ByteSize.FORMAT,
                failure(() -> node.requireSize("bytes", 0, Long.MAX_VALUE)));
    }

    @Test
    void unknownEnumValueListsTheAllowedOnes() {
        assertEquals("unknown value field=memory_node.transport found=\"loopback\" allowed=[tcp, rdma]",
                failure(() -> memoryNode(NODE).requireOneOf("transport", List.of("tcp", "rdma"))));
        assertEquals("missing field=memory_node.kind expected=string allowed=[a, b]",
                failure(() -> memoryNode(NODE).requireOneOf("kind", List.of("a", "b"))));
    }

    @Test
    void emptyStringIsRefused() {
        assertEquals("empty string field=name expected=a non-empty string",
                failure(() -> ConfigNode.parse("{\"name\": \"\"}", "t").requireString("name")));
    }

    @Test
    void unknownFieldIsRefusedListingTheKnownOnes() {
        ConfigNode node = ConfigNode.parse("{\"port\": 1, \"prot\": 2}", "t");
        node.optionalInt("port", 0, 0, 10);
        node.optionalString("host");
        assertEquals("unknown field field=prot allowed=[port, host]", failure(node::rejectUnknownFields));

        ConfigNode region = memoryNode(NODE).array("regions").get(0);
        region.requireString("name");
        assertEquals("unknown field field=memory_node.regions[0].bytes allowed=[name]", failure(region::rejectUnknownFields));
    }

    @Test
    void knownAndAllowedFieldsPass() {
        ConfigNode root = ConfigNode.parse(NODE, "t");
        root.allowFields("memory_node").rejectUnknownFields();
        ConfigNode node = root.object("memory_node");
        node.requireInt("port", 0, 65535);
        node.requireString("transport");
        node.optionalBoolean("enabled", false);
        node.array("regions");
        node.rejectUnknownFields();
        assertFalse(node.has("host"));
    }

    @Test
    void malformedJsonNamesSourceLineAndColumn() {
        String text = "{\n  \"port\": 7000,\n  \"host\" \"x\"\n}";
        String message = failure(() -> ConfigNode.parse(text, "node.json"));
        assertTrue(message.startsWith("malformed JSON source=node.json line=3 column=10: Unexpected character"), message);
        assertFalse(message.contains("\n"), "one line: " + message);

        String trailingComma = "{\"port\": 7000,}";
        assertTrue(failure(() -> ConfigNode.parse(trailingComma, "t")).startsWith("malformed JSON source=t line=1 column=15"));
    }

    @Test
    void duplicateKeysAndTrailingTextAreMalformed() {
        String duplicate = failure(() -> ConfigNode.parse("{\"port\": 1,\n \"port\": 2}", "t"));
        assertTrue(duplicate.startsWith("malformed JSON source=t line=2"), duplicate);
        assertTrue(duplicate.contains("Duplicate field 'port'"), duplicate);
        assertTrue(failure(() -> ConfigNode.parse("{} {}", "t")).startsWith("malformed JSON source=t line=1 column=4: unexpected text after"));
    }

    @Test
    void documentMustBeAnObject() {
        assertEquals("empty config source=t expected=a JSON object", failure(() -> ConfigNode.parse("  ", "t")));
        assertEquals("wrong type source=t expected=a JSON object found=[1,2]", failure(() -> ConfigNode.parse("[1,2]", "t")));
    }

    @Test
    void loadsFilesAndNamesAMissingOne(@TempDir Path directory) throws Exception {
        Path file = directory.resolve("c.json");
        Files.writeString(file, "{\"port\": 9}");
        assertEquals(9, ConfigNode.load(file).requireInt("port", 0, 10));
        Path absent = directory.resolve("absent.json");
        String message = failure(() -> ConfigNode.load(absent));
        assertTrue(message.startsWith("cannot read config file file=" + absent + ": java.nio.file.NoSuchFileException"), message);
    }

    @Test
    void fabricLimitsReadTheirOwnFields() {
        assertEquals(FabricLimits.DEFAULT, FabricLimits.from(ConfigNode.empty()));
        ConfigNode node = ConfigNode.parse("{\"n\": {\"max_verbs_per_batch\": 16, \"max_bytes_per_batch\": \"1MiB\"}}", "t").object("n");
        assertEquals(new FabricLimits(16, 1L << 20), FabricLimits.from(node));
        node.rejectUnknownFields();
        assertEquals("out of range field=n.max_verbs_per_batch found=0 allowed=[1,2147483647]", failure(() ->
                FabricLimits.from(ConfigNode.parse("{\"n\": {\"max_verbs_per_batch\": 0}}", "t").object("n"))));
        assertEquals("out of range field=max_bytes_per_batch found=\"2GiB\" allowed=[8,1073741823]", failure(() ->
                FabricLimits.from(ConfigNode.parse("{\"max_bytes_per_batch\": \"2GiB\"}", "t"))));
    }

    @Test
    void errorPartsStayApartForCommandLines() {
        ConfigException e = assertThrows(ConfigException.class, () -> memoryNode(NODE).requireInt("port", 1, 1024));
        assertEquals("out of range", e.reason());
        assertEquals("memory_node.port", e.field());
        assertEquals("found=7000 allowed=[1,1024]", e.detail());
    }
}
