package io.rolexkv.computenode.engine;

import io.rolexkv.common.config.ConfigException;
import io.rolexkv.common.config.ConfigNode;
import io.rolexkv.computenode.value.ValueFormat;
import io.rolexkv.rolex.index.IndexGeometry;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Every field of the rolex engine config: defaults, and an error naming the field path for each kind of mistake. */
class RolexKVConfigTest {
    private static RolexKVConfig parse(String json) {
        return RolexKVConfig.from(ConfigNode.parse(json, "test.json"));
    }

    private static String failure(String json) {
        return assertThrows(ConfigException.class, () -> parse(json)).getMessage();
    }

    private static final String ONE_NODE = "\"engine_type\": \"rolex\", \"memory_nodes\": [{\"endpoint\": \"h:1\"}]";

    @Test
    void onlyTheMemoryNodesAreRequiredAndEverythingElseHasItsDefault() {
        RolexKVConfig config = parse("{" + ONE_NODE + "}");
        assertEquals("tcp", config.transport());
        assertEquals(ValueFormat.BLOCKS, config.valueFormat());
        assertEquals(64 << 10, config.maxValueBytes());
        assertEquals(IndexGeometry.DEFAULT, config.geometry());
        assertEquals(256 << 10, config.valueChunkBytes());
        assertEquals(1000, config.reuseGraceMillis());
        assertEquals(0, config.roomWaitMillis());
        assertEquals(30_000, config.reconnectDeadlineMillis(), "a memory node may be away 30 s before it is marked down");
        assertEquals(List.of(new RolexKVConfig.MemoryNodeRange("h:1", 0, -1L)), config.memoryNodes());
    }

    @Test
    void memoryNodesSplitTheKeySpaceEvenlyUnlessEveryOneNamesItsFirstKey() {
        RolexKVConfig even = parse("{\"memory_nodes\": [{\"endpoint\": \"a\"}, {\"endpoint\": \"b\"}, {\"endpoint\": \"c\"}]}");
        assertEquals(List.of(new RolexKVConfig.MemoryNodeRange("a", 0, 0x5555_5555_5555_5555L),
                new RolexKVConfig.MemoryNodeRange("b", 0x5555_5555_5555_5556L, 0xAAAA_AAAA_AAAA_AAAAL),
                new RolexKVConfig.MemoryNodeRange("c", 0xAAAA_AAAA_AAAA_AAABL, -1L)), even.memoryNodes());
        RolexKVConfig chosen = parse("{\"memory_nodes\": [{\"endpoint\": \"a\", \"first_key\": \"0\"},"
                + " {\"endpoint\": \"b\", \"first_key\": \"1_000\"}, {\"endpoint\": \"c\", \"first_key\": \"0x8000000000000000\"}]}");
        assertEquals(List.of(new RolexKVConfig.MemoryNodeRange("a", 0, 999),
                new RolexKVConfig.MemoryNodeRange("b", 1000, Long.MAX_VALUE),
                new RolexKVConfig.MemoryNodeRange("c", Long.MIN_VALUE, -1L)), chosen.memoryNodes());
    }

    @Test
    void everyMistakeNamesItsFieldAndWhatIsAllowed() {
        assertEquals("missing field=memory_nodes expected=array of objects", failure("{\"engine_type\": \"rolex\"}"));
        assertEquals("empty field=memory_nodes expected=at least one memory node", failure("{\"memory_nodes\": []}"));
        assertEquals("missing field=memory_nodes[0].endpoint expected=string", failure("{\"memory_nodes\": [{}]}"));
        assertEquals("unknown field field=memory_nodes[0].port allowed=[endpoint, first_key]",
                failure("{\"memory_nodes\": [{\"endpoint\": \"a\", \"port\": 1}]}"));
        assertEquals("duplicate endpoint field=memory_nodes[1].endpoint found=\"a\"",
                failure("{\"memory_nodes\": [{\"endpoint\": \"a\"}, {\"endpoint\": \"a\"}]}"));
        assertEquals("unknown value field=transport found=\"carrier-pigeon\" allowed=[loopback, tcp, rdma]",
                failure("{" + ONE_NODE + ", \"transport\": \"carrier-pigeon\"}"));
        assertEquals("unknown value field=value_layout found=\"zip\" allowed=[inline8, blocks]",
                failure("{" + ONE_NODE + ", \"value_layout\": \"zip\"}"));
        assertEquals("out of range field=max_value_bytes found=\"2MiB\" allowed=[0,1048576]",
                failure("{" + ONE_NODE + ", \"max_value_bytes\": \"2MiB\"}"));
        assertEquals("out of range field=max_value_bytes found=16 allowed=[8,8]",
                failure("{" + ONE_NODE + ", \"value_layout\": \"inline8\", \"max_value_bytes\": 16}"));
        assertEquals("out of range field=leaf_capacity found=1 allowed=[2,4096]",
                failure("{" + ONE_NODE + ", \"leaf_capacity\": 1}"));
        assertEquals("out of range field=epsilon found=0 allowed=[1,4096]", failure("{" + ONE_NODE + ", \"epsilon\": 0}"));
        assertEquals("out of range field=group_size found=49 allowed=[1,48]", failure("{" + ONE_NODE + ", \"group_size\": 49}"));
        assertEquals("out of range field=empty_index_groups found=0 allowed=[1,16777216]",
                failure("{" + ONE_NODE + ", \"empty_index_groups\": 0}"));
        assertEquals("out of range field=value_chunk_bytes found=\"64KiB\" allowed=[147456,1099511627776]",
                failure("{" + ONE_NODE + ", \"value_chunk_bytes\": \"64KiB\"}"));
        assertEquals("not a multiple of 16 field=value_chunk_bytes found=262145",
                failure("{" + ONE_NODE + ", \"value_chunk_bytes\": 262145}"));
        assertEquals("out of range field=value_reuse_grace_ms found=-1 allowed=[0,3600000]",
                failure("{" + ONE_NODE + ", \"value_reuse_grace_ms\": -1}"));
        assertEquals("too small for the largest value field=max_bytes_per_batch found=65536 needed>=1114128 for max_value_bytes=65536",
                failure("{" + ONE_NODE + ", \"max_bytes_per_batch\": \"64KiB\"}"));
        assertEquals("out of range field=shard_learn_keys found=-1 allowed=[0,1073741824]",
                failure("{" + ONE_NODE + ", \"shard_learn_keys\": -1}"));
        assertEquals("out of range field=reconnect_deadline_ms found=-1 allowed=[0,86400000]",
                failure("{" + ONE_NODE + ", \"reconnect_deadline_ms\": -1}"));
        assertEquals("wrong type field=reconnect_deadline_ms expected=integer found=\"30s\"",
                failure("{" + ONE_NODE + ", \"reconnect_deadline_ms\": \"30s\"}"));
        assertEquals("unknown field field=colour allowed=[engine_type, transport, memory_nodes, value_layout, max_value_bytes,"
                        + " epsilon, group_size, leaf_capacity, empty_index_groups, max_verbs_per_batch, max_bytes_per_batch,"
                        + " value_chunk_bytes, value_reuse_grace_ms, index_room_wait_ms, shard_learn_keys, reconnect_deadline_ms,"
                        + " auth_secret_file]",
                failure("{" + ONE_NODE + ", \"colour\": \"blue\"}"));
    }

    @Test
    void firstKeysMustBeGivenForAllOrNoneStartAtZeroAndIncrease() {
        assertEquals("some memory nodes name a first_key and some do not field=memory_nodes found=1 of 2"
                        + " expected=all or none (none: an even split)",
                failure("{\"memory_nodes\": [{\"endpoint\": \"a\", \"first_key\": \"0\"}, {\"endpoint\": \"b\"}]}"));
        assertEquals("the first memory node must own key 0 field=memory_nodes[0].first_key found=\"5\" expected=\"0\"",
                failure("{\"memory_nodes\": [{\"endpoint\": \"a\", \"first_key\": \"5\"}]}"));
        assertEquals("first keys must be strictly increasing field=memory_nodes[2].first_key found=\"0x10\" previous=\"16\"",
                failure("{\"memory_nodes\": [{\"endpoint\": \"a\", \"first_key\": \"0\"}, {\"endpoint\": \"b\", \"first_key\": \"16\"},"
                        + " {\"endpoint\": \"c\", \"first_key\": \"0x10\"}]}"));
        assertEquals("bad key field=memory_nodes[1].first_key found=\"12x\" expected=an unsigned 64-bit key in decimal (\"42\")"
                        + " or hexadecimal (\"0x2a\")",
                failure("{\"memory_nodes\": [{\"endpoint\": \"a\", \"first_key\": \"0\"}, {\"endpoint\": \"b\", \"first_key\": \"12x\"}]}"));
        assertEquals("wrong type field=memory_nodes[1].first_key expected=string found=12",
                failure("{\"memory_nodes\": [{\"endpoint\": \"a\", \"first_key\": \"0\"}, {\"endpoint\": \"b\", \"first_key\": 12}]}"));
    }

    @Test
    void theExampleConfigsShippedWithTheEngineAreValid() throws IOException {
        for (String name : List.of("rolex-engine.json", "rolex-engine-3-nodes.json", "rolex-engine-inline8.json",
                "rolex-engine-embedded.json")) {
            try (InputStream in = getClass().getResourceAsStream("/config/" + name)) {
                assertNotNull(in, name);
                RolexKVConfig config = RolexKVConfig.from(ConfigNode.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), name));
                assertNotNull(config.summary());
            }
        }
    }
}
