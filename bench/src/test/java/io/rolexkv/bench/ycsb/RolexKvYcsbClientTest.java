package io.rolexkv.bench.ycsb;

import io.rolexkv.common.fabric.FabricCounters;
import io.rolexkv.common.fabric.MemoryNodeDownException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import site.ycsb.ByteIterator;
import site.ycsb.DBException;
import site.ycsb.Status;
import site.ycsb.StringByteIterator;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.Vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The binding's mapping of YCSB's calls onto BaseKV, one call at a time, against a spy engine. */
class RolexKvYcsbClientTest {
    private static final String TABLE = "usertable";

    private final CountingKV engine = new CountingKV(1 << 16);
    private YcsbEngineRegistry.Installation installation;

    @BeforeEach
    void install() {
        installation = YcsbEngineRegistry.install(engine);
    }

    @AfterEach
    void uninstall() {
        installation.close();
        engine.close();
    }

    private static RolexKvYcsbClient binding(Properties properties) throws DBException {
        RolexKvYcsbClient client = new RolexKvYcsbClient();
        client.setProperties(properties);
        client.init();
        return client;
    }

    private static RolexKvYcsbClient binding() throws DBException {
        Properties properties = new Properties();
        properties.setProperty("fieldcount", "3");
        return binding(properties);
    }

    private static Map<String, ByteIterator> fields(String... namesAndValues) {
        Map<String, ByteIterator> fields = new HashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            fields.put(namesAndValues[i], new StringByteIterator(namesAndValues[i + 1]));
        }
        return fields;
    }

    private static Map<String, String> strings(Map<String, ByteIterator> result) {
        Map<String, String> strings = new TreeMap<>();
        result.forEach((name, value) -> strings.put(name, value.toString()));
        return strings;
    }

    private static Map<String, String> read(RolexKvYcsbClient client, String key, Set<String> fields) {
        Map<String, ByteIterator> result = new HashMap<>();
        assertEquals(Status.OK, client.read(TABLE, key, fields, result));
        return strings(result);
    }

    @Test
    void insertThenReadAllOrSomeFields() throws DBException {
        RolexKvYcsbClient client = binding();
        assertEquals(Status.OK, client.insert(TABLE, "user42", fields("field0", "a", "field1", "bb", "field2", "ccc")));
        assertEquals(Map.of("field0", "a", "field1", "bb", "field2", "ccc"), read(client, "user42", null));
        assertEquals(Map.of("field1", "bb"), read(client, "user42", Set.of("field1")));
        assertEquals(Map.of("field0", "a", "field2", "ccc"), read(client, "user42", Set.of("field0", "field2")));
        assertEquals(Status.NOT_FOUND, client.read(TABLE, "user43", null, new HashMap<>()));
    }

    @Test
    void partialUpdateIsOneAtomicUpdateNeverAGetAndAPut() throws DBException {
        RolexKvYcsbClient client = binding();
        client.insert(TABLE, "user7", fields("field0", "a", "field1", "b", "field2", "c"));
        engine.resetCalls();

        assertEquals(Status.OK, client.update(TABLE, "user7", fields("field1", "B")));
        assertEquals(1, engine.calls(CountingKV.Call.UPDATE));
        assertEquals(0, engine.calls(CountingKV.Call.GET));
        assertEquals(0, engine.calls(CountingKV.Call.PUT));
        assertEquals(Map.of("field0", "a", "field1", "B", "field2", "c"), read(client, "user7", null));
    }

    @Test
    void fullUpdateIsAPlainPut() throws DBException {
        RolexKvYcsbClient client = binding();
        client.insert(TABLE, "user7", fields("field0", "a", "field1", "b", "field2", "c"));
        engine.resetCalls();

        assertEquals(Status.OK, client.update(TABLE, "user7", fields("field0", "x", "field1", "y", "field2", "z")));
        assertEquals(1, engine.calls(CountingKV.Call.PUT));
        assertEquals(0, engine.calls(CountingKV.Call.UPDATE));
        assertEquals(0, engine.calls(CountingKV.Call.GET));
        assertEquals(Map.of("field0", "x", "field1", "y", "field2", "z"), read(client, "user7", null));
    }

    @Test
    void partialUpdateOfAMissingRecordIsNotFoundAndCreatesNothing() throws DBException {
        RolexKvYcsbClient client = binding();
        assertEquals(Status.NOT_FOUND, client.update(TABLE, "user9", fields("field1", "b")));
        assertEquals(Status.NOT_FOUND, client.read(TABLE, "user9", null, new HashMap<>()));
    }

    @Test
    void deleteRemovesTheRecord() throws DBException {
        RolexKvYcsbClient client = binding();
        client.insert(TABLE, "user1", fields("field0", "a"));
        assertEquals(Status.OK, client.delete(TABLE, "user1"));
        assertEquals(Status.NOT_FOUND, client.delete(TABLE, "user1"));
        assertEquals(Status.NOT_FOUND, client.read(TABLE, "user1", null, new HashMap<>()));
    }

    @Test
    void scanIsARangeScanInKeyNumberOrder() throws DBException {
        RolexKvYcsbClient client = binding();
        SplittableRandom random = new SplittableRandom(0x5CA7L);
        TreeMap<Long, String> reference = new TreeMap<>();
        List<Long> numbers = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            numbers.add(random.nextLong(1_000_000));
        }
        for (long number : numbers) {
            reference.put(number, "v" + number);
            client.insert(TABLE, "user" + number, fields("field0", "v" + number));
        }
        for (int i = 0; i < 200; i++) {
            long start = random.nextLong(1_000_000);
            int count = random.nextInt(50);
            Vector<HashMap<String, ByteIterator>> rows = new Vector<>();
            assertEquals(Status.OK, client.scan(TABLE, "user" + start, count, Set.of("field0"), rows));
            List<String> expected = reference.tailMap(start, true).values().stream().limit(count).toList();
            assertEquals(expected, rows.stream().map(row -> row.get("field0").toString()).toList(),
                    "scan from user" + start + " for " + count);
        }
    }

    @Test
    void badKeysAndFieldsAnswerErrorAndAreCountedNeverThrown() throws DBException {
        RolexKvYcsbClient client = binding();
        BindingErrors errors = installation.context().errors();
        assertEquals(Status.ERROR, client.insert(TABLE, "customer1", fields("field0", "a")));
        assertEquals(Status.ERROR, client.insert(TABLE, "user1", fields("field7", "a")));
        assertEquals(Status.ERROR, client.read(TABLE, "user01", null, new HashMap<>()));
        engine.beforeEachCall(() -> {
            throw new IllegalStateException("engine down");
        });
        assertEquals(Status.ERROR, client.read(TABLE, "user1", null, new HashMap<>()));
        assertEquals(4, errors.count());
    }

    @Test
    void aMemoryNodeMarkedDownIsThrownNotCountedOrLogged() throws DBException {
        RolexKvYcsbClient client = binding();
        BindingErrors errors = installation.context().errors();
        engine.beforeEachCall(() -> {
            throw new MemoryNodeDownException(2, "10.0.0.2:7000", "the reconnect deadline passed", null);
        });
        RuntimeException thrown = assertThrows(RuntimeException.class,
                () -> client.read(TABLE, "user1", null, new HashMap<>()));
        assertEquals(2, MemoryNodeDownException.in(thrown).orElseThrow().memoryNodeId());
        assertEquals(0, errors.count(), "the run stops on it; it is not an operation error to count and log");
    }

    @Test
    void eightByteValuesAreStoredAsTheValueItself() throws DBException {
        Properties properties = new Properties();
        properties.setProperty(RolexKvYcsbProperties.VALUE_SIZE_PROP_NAME, "8");
        RolexKvYcsbProperties.applyValueSize(properties, new Properties());
        RolexKvYcsbClient client = binding(properties);
        assertEquals(Status.OK, client.insert(TABLE, "user5", fields("field0", "12345678")));
        assertArrayEquals("12345678".getBytes(), engine.get(new YcsbKeyCodec(1).encode("user5")).orElseThrow());
        assertEquals(Status.OK, client.update(TABLE, "user5", fields("field0", "87654321")));
        assertEquals(Map.of("field0", "87654321"), read(client, "user5", null));
    }

    @Test
    void initRefusesAValueSizeThatContradictsTheFields() {
        Properties properties = new Properties();
        properties.setProperty(RolexKvYcsbProperties.VALUE_SIZE_PROP_NAME, "8");
        DBException refused = assertThrows(DBException.class, () -> binding(properties));
        assertTrue(refused.getMessage().contains("rolexkv.value_size=8"), refused.getMessage());
    }

    @Test
    void initWithoutAnInstalledEngineSaysHowToInstallOne() {
        installation.close();
        DBException refused = assertThrows(DBException.class, RolexKvYcsbClientTest::binding);
        assertTrue(refused.getMessage().contains("YcsbEngineRegistry.install"), refused.getMessage());
        assertTrue(refused.getMessage().contains(RolexKvYcsbProperties.MEMORY_NODES_PROP_NAME), refused.getMessage());
    }

    @Test
    void eachOperationIsTimedAndChargedWithWhatItsThreadPosted() throws DBException {
        installation.close();
        // A probe that charges each engine call one doorbell of 64 bytes read, on the calling thread only.
        ThreadLocal<FabricCounters.Snapshot> posted = ThreadLocal.withInitial(() -> FabricCounters.Snapshot.ZERO);
        FabricCounters.Snapshot oneCall = new FabricCounters.Snapshot(1, 1, 0, 0, 0, 64, 0);
        engine.beforeEachCall(() -> posted.set(posted.get().plus(oneCall)));
        installation = YcsbEngineRegistry.install(YcsbBindingContext.of(engine, posted::get));
        RolexKvYcsbClient client = binding();

        client.insert(TABLE, "user1", fields("field0", "a", "field1", "b", "field2", "c"));
        client.update(TABLE, "user1", fields("field1", "B"));
        client.read(TABLE, "user1", null, new HashMap<>());
        client.read(TABLE, "user2", null, new HashMap<>());

        Map<OperationType, OperationFigures> figures = installation.context().statistics().figures();
        assertEquals(Set.of(OperationType.INSERT, OperationType.UPDATE, OperationType.READ), figures.keySet());
        OperationFigures reads = figures.get(OperationType.READ);
        assertEquals(2, reads.count());
        assertEquals(1, reads.notFound());
        assertEquals(1.0, reads.roundTripsPerOp());
        assertEquals(64.0, reads.bytesReadPerOp());
        assertEquals(0.0, reads.bytesWrittenPerOp());
        assertTrue(reads.p99Micros() >= reads.p50Micros());
        assertEquals(1.0, figures.get(OperationType.UPDATE).roundTripsPerOp());
    }
}
