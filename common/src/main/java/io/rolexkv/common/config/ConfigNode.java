package io.rolexkv.common.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The project's one config reader: a JSON object that knows its path in the document, with typed, validated getters.
 * Each component reads its own fields from the node it is handed (a config error is reported by the component that
 * owns the field), then calls {@link #rejectUnknownFields()} so a misspelt field is an error rather than a silently
 * ignored setting.
 *
 * <pre>{@code
 * ConfigNode memoryNode = ConfigNode.load(file).object("memory_node");
 * int port = memoryNode.optionalInt("port", 7000, 0, 65535);
 * for (ConfigNode region : memoryNode.array("regions")) {
 *     long bytes = region.requireSize("bytes", 0, maxBytes);   // "64MiB" or 67108864
 *     region.rejectUnknownFields();
 * }
 * memoryNode.rejectUnknownFields();
 * }</pre>
 *
 * <p>Every problem is a {@link ConfigException} naming the full path ({@code memory_node.regions[2].bytes}), what was
 * found and what is allowed. A field given as {@code null} is a wrong type, not an absent field: absent means
 * default, and a {@code null} is more likely a mistake than a wish for the default.
 *
 * <p>Parsing is strict JSON: no comments, no trailing commas, no duplicate keys (the second of two keys would
 * otherwise win silently), nothing after the top-level object.
 *
 * <p>Not thread-safe: a node is read once, at start-up, by the component that owns it.
 */
public final class ConfigNode {
    /** How the whole document is named in messages about it. */
    public static final String ROOT_PATH = "";

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final int MAX_FOUND_CHARS = 80;

    private final ObjectNode json;
    private final String path;
    private final Set<String> knownFields = new LinkedHashSet<>();

    private ConfigNode(ObjectNode json, String path) {
        this.json = json;
        this.path = path;
    }

    /**
     * Parses {@code text} as a JSON object.
     *
     * @param source how to name the text in a syntax error: a file name, {@code "--config"}
     * @throws ConfigException for malformed JSON (with line and column) or a document that is not an object
     */
    public static ConfigNode parse(String text, String source) {
        JsonNode json;
        try {
            json = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation location = e.getLocation();
            String where = location == null ? "" : " line=" + location.getLineNr() + " column=" + location.getColumnNr();
            String error = oneLine(e.getOriginalMessage());
            if (error.startsWith("Trailing token")) {
                error = "unexpected text after the top-level JSON object";
            }
            throw new ConfigException("malformed JSON", ROOT_PATH, "source=" + source + where + ": " + error, e);
        }
        if (json == null || json.isMissingNode()) {
            throw new ConfigException("empty config", ROOT_PATH, "source=" + source + " expected=a JSON object");
        }
        if (!json.isObject()) {
            throw new ConfigException("wrong type", ROOT_PATH, "source=" + source + " expected=a JSON object found="
                    + describe(json));
        }
        return new ConfigNode((ObjectNode) json, ROOT_PATH);
    }

    /** Reads and parses the file at {@code file}; see {@link #parse}. */
    public static ConfigNode load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file", ROOT_PATH, "file=" + file + ": " + oneLine(e.toString()), e);
        }
        return parse(text, file.toString());
    }

    /** A root node over an already built JSON object, for example a config file with command-line overrides laid on it. */
    public static ConfigNode of(ObjectNode json) {
        return new ConfigNode(json, ROOT_PATH);
    }

    /** An empty root object: every optional field takes its default. */
    public static ConfigNode empty() {
        return new ConfigNode(JsonNodeFactory.instance.objectNode(), ROOT_PATH);
    }

    /** A new empty JSON object, for code that builds a config to write or to lay over another. */
    public static ObjectNode newObject() {
        return JsonNodeFactory.instance.objectNode();
    }

    /** Pretty JSON text of {@code json}, as a config file would hold it. */
    public static String toText(JsonNode json) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree could not be written", e);
        }
    }

    /** A copy of this node's JSON object, for code that lays values over a config before reading it. */
    public ObjectNode json() {
        return json.deepCopy();
    }

    /** This node's path in the document: {@code memory_node.regions[2]}; empty for the root. */
    public String path() {
        return path;
    }

    /** The full path of field {@code name} of this node. */
    public String fieldPath(String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    /** Whether field {@code name} is present (a {@code null} value counts as present). Does not mark it known. */
    public boolean has(String name) {
        return json.has(name);
    }

    /** The field names present in this object, in document order. */
    public List<String> fieldNames() {
        List<String> names = new ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Marks fields as known without reading them: they belong to another component that reads them elsewhere. */
    public ConfigNode allowFields(String... names) {
        knownFields.addAll(List.of(names));
        return this;
    }

    // ---- integers ----------------------------------------------------------------------------------------------

    public int requireInt(String name, int min, int max) {
        return (int) integer(name, required(name, "integer", range(min, max)), min, max);
    }

    public int optionalInt(String name, int defaultValue, int min, int max) {
        JsonNode value = optional(name);
        return value == null ? defaultValue : (int) integer(name, value, min, max);
    }

    public long requireLong(String name, long min, long max) {
        return integer(name, required(name, "integer", range(min, max)), min, max);
    }

    public long optionalLong(String name, long defaultValue, long min, long max) {
        JsonNode value = optional(name);
        return value == null ? defaultValue : integer(name, value, min, max);
    }

    private long integer(String name, JsonNode value, long min, long max) {
        if (!value.isIntegralNumber()) {
            throw wrongType(name, "integer", value);
        }
        if (!value.canConvertToLong() || value.longValue() < min || value.longValue() > max) {
            throw outOfRange(name, value, min, max);
        }
        return value.longValue();
    }

    // ---- fractions ---------------------------------------------------------------------------------------------

    /**
     * A number in {@code (exclusiveMin, max]}, written as a JSON number ({@code 0.75} or {@code 1}): a ratio such as a
     * load factor, whose natural lower bound is open.
     */
    public double optionalDouble(String name, double defaultValue, double exclusiveMin, double max) {
        JsonNode value = optional(name);
        if (value == null) {
            return defaultValue;
        }
        if (!value.isNumber()) {
            throw wrongType(name, "number", value);
        }
        double number = value.doubleValue();
        if (!(number > exclusiveMin && number <= max)) {
            throw new ConfigException("out of range", fieldPath(name), "found=" + describe(value) + " allowed=("
                    + exclusiveMin + "," + max + "]");
        }
        return number;
    }

    // ---- sizes -------------------------------------------------------------------------------------------------

    /** A byte count written as a number ({@code 67108864}) or a string ({@code "64MiB"}); see {@link ByteSize}. */
    public long requireSize(String name, long min, long max) {
        return size(name, required(name, "size", range(min, max)), min, max);
    }

    public long optionalSize(String name, long defaultValue, long min, long max) {
        JsonNode value = optional(name);
        return value == null ? defaultValue : size(name, value, min, max);
    }

    private long size(String name, JsonNode value, long min, long max) {
        if (value.isIntegralNumber()) {
            return integer(name, value, min, max);
        }
        if (!value.isTextual()) {
            throw wrongType(name, "size (" + ByteSize.FORMAT + ")", value);
        }
        long bytes;
        try {
            bytes = ByteSize.parse(value.textValue());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("bad size", fieldPath(name), e.getMessage());
        }
        if (bytes < min || bytes > max) {
            throw outOfRange(name, value, min, max);
        }
        return bytes;
    }

    // ---- strings, booleans, choices ----------------------------------------------------------------------------

    /** A non-empty string. */
    public String requireString(String name) {
        return string(name, required(name, "string", ""));
    }

    /** A non-empty string, or empty if the field is absent. */
    public Optional<String> optionalString(String name) {
        JsonNode value = optional(name);
        return value == null ? Optional.empty() : Optional.of(string(name, value));
    }

    public String optionalString(String name, String defaultValue) {
        return optionalString(name).orElse(defaultValue);
    }

    private String string(String name, JsonNode value) {
        if (!value.isTextual()) {
            throw wrongType(name, "string", value);
        }
        if (value.textValue().isEmpty()) {
            throw new ConfigException("empty string", fieldPath(name), "expected=a non-empty string");
        }
        return value.textValue();
    }

    public boolean optionalBoolean(String name, boolean defaultValue) {
        JsonNode value = optional(name);
        if (value == null) {
            return defaultValue;
        }
        if (!value.isBoolean()) {
            throw wrongType(name, "boolean", value);
        }
        return value.booleanValue();
    }

    /** A string that must be one of {@code allowed} (exact spelling). */
    public String requireOneOf(String name, Collection<String> allowed) {
        return oneOf(name, required(name, "string", "allowed=" + allowed), allowed);
    }

    public String optionalOneOf(String name, String defaultValue, Collection<String> allowed) {
        JsonNode value = optional(name);
        return value == null ? defaultValue : oneOf(name, value, allowed);
    }

    private String oneOf(String name, JsonNode value, Collection<String> allowed) {
        String text = string(name, value);
        if (!allowed.contains(text)) {
            throw new ConfigException("unknown value", fieldPath(name), "found=" + describe(value) + " allowed=" + allowed);
        }
        return text;
    }

    /** An enum constant, written in config as its name in lower case ({@code FAST_PATH} is {@code "fast_path"}). */
    public <E extends Enum<E>> E optionalEnum(String name, Class<E> type, E defaultValue) {
        JsonNode value = optional(name);
        if (value == null) {
            return defaultValue;
        }
        List<String> allowed = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            allowed.add(constant.name().toLowerCase(Locale.ROOT));
        }
        return Enum.valueOf(type, oneOf(name, value, allowed).toUpperCase(Locale.ROOT));
    }

    // ---- nesting -----------------------------------------------------------------------------------------------

    /** The required object field {@code name}. */
    public ConfigNode object(String name) {
        return object(name, required(name, "object", ""));
    }

    /** The object field {@code name}, or an empty object at that path (so its fields take their defaults). */
    public ConfigNode optionalObject(String name) {
        JsonNode value = optional(name);
        return value == null ? new ConfigNode(JsonNodeFactory.instance.objectNode(), fieldPath(name)) : object(name, value);
    }

    private ConfigNode object(String name, JsonNode value) {
        if (!value.isObject()) {
            throw wrongType(name, "object", value);
        }
        return new ConfigNode((ObjectNode) value, fieldPath(name));
    }

    /** The required array field {@code name}, whose elements must be objects; element paths read {@code name[i]}. */
    public List<ConfigNode> array(String name) {
        return array(name, required(name, "array of objects", ""));
    }

    public Optional<List<ConfigNode>> optionalArray(String name) {
        JsonNode value = optional(name);
        return value == null ? Optional.empty() : Optional.of(array(name, value));
    }

    private List<ConfigNode> array(String name, JsonNode value) {
        if (!value.isArray()) {
            throw wrongType(name, "array of objects", value);
        }
        List<ConfigNode> elements = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            JsonNode element = value.get(i);
            String elementPath = fieldPath(name) + "[" + i + "]";
            if (!element.isObject()) {
                throw new ConfigException("wrong type", elementPath, "expected=object found=" + describe(element));
            }
            elements.add(new ConfigNode((ObjectNode) element, elementPath));
        }
        return elements;
    }

    // ---- checks ------------------------------------------------------------------------------------------------

    /**
     * Fails on the first field of this object that no getter asked for (and {@link #allowFields} did not allow),
     * listing the fields this object knows. Call it after reading every field.
     */
    public ConfigNode rejectUnknownFields() {
        for (String name : fieldNames()) {
            if (!knownFields.contains(name)) {
                throw new ConfigException("unknown field", fieldPath(name), "allowed=" + knownFields);
            }
        }
        return this;
    }

    /** An error about field {@code name} of this node, for checks only the owning component can make. */
    public ConfigException error(String name, String reason, String detail) {
        return new ConfigException(reason, fieldPath(name), detail);
    }

    /** What the field holds, as JSON text, for an error message (the found=... part). */
    public String describe(String name) {
        return json.has(name) ? describe(json.get(name)) : "nothing";
    }

    private JsonNode required(String name, String expected, String allowed) {
        knownFields.add(name);
        JsonNode value = json.get(name);
        if (value == null) {
            throw new ConfigException("missing", fieldPath(name),
                    "expected=" + expected + (allowed.isEmpty() ? "" : " " + allowed));
        }
        return value;
    }

    private JsonNode optional(String name) {
        knownFields.add(name);
        return json.get(name);
    }

    private ConfigException wrongType(String name, String expected, JsonNode found) {
        return new ConfigException("wrong type", fieldPath(name), "expected=" + expected + " found=" + describe(found));
    }

    private ConfigException outOfRange(String name, JsonNode found, long min, long max) {
        return new ConfigException("out of range", fieldPath(name), "found=" + describe(found) + " " + range(min, max));
    }

    private static String range(long min, long max) {
        return "allowed=[" + min + "," + max + "]";
    }

    private static String describe(JsonNode value) {
        String text = value.toString();
        return text.length() <= MAX_FOUND_CHARS ? text : text.substring(0, MAX_FOUND_CHARS) + "...";
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.replaceAll("\\s*\\R\\s*", " ");
    }

    @Override
    public String toString() {
        return "ConfigNode[path=" + (path.isEmpty() ? "<root>" : path) + " " + describe(json) + "]";
    }
}
