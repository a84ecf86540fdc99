package io.rolexkv.common.config;

/**
 * A configuration is wrong: a field is missing, of the wrong type, out of range, not one of the allowed values,
 * unknown, or the text is not JSON at all. The message is one line in key=value style that names the full field
 * path, what was found and what is allowed, for example
 * {@code out of range field=memory_node.regions[2].bytes found=-5 allowed=[0,281474976710655]}.
 *
 * <p>The parts stay apart ({@link #reason()}, {@link #field()}, {@link #detail()}) so a command line that filled a
 * field from an option can name the option instead of the field.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String reason;
    private final String field;
    private final String detail;

    /**
     * @param reason what is wrong, in a few words: {@code "missing required field"}, {@code "out of range"}
     * @param field  the full path of the field ({@code memory_node.port}), or empty for the document as a whole
     * @param detail key=value facts: {@code found=70000 allowed=[1,65535]}; may be empty
     */
    public ConfigException(String reason, String field, String detail) {
        this(reason, field, detail, null);
    }

    public ConfigException(String reason, String field, String detail, Throwable cause) {
        super(format(reason, field, detail), cause);
        this.reason = reason;
        this.field = field;
        this.detail = detail;
    }

    private static String format(String reason, String field, String detail) {
        StringBuilder message = new StringBuilder(reason);
        if (!field.isEmpty()) {
            message.append(" field=").append(field);
        }
        if (!detail.isEmpty()) {
            message.append(' ').append(detail);
        }
        return message.toString();
    }

    /** What is wrong, without the field or the facts. */
    public String reason() {
        return reason;
    }

    /** The full field path, for example {@code memory_node.regions[2].bytes}; empty for the whole document. */
    public String field() {
        return field;
    }

    /** The key=value facts: what was found, what is allowed. */
    public String detail() {
        return detail;
    }
}
