package io.rolexkv.bench.ycsb;

import site.ycsb.WorkloadException;
import site.ycsb.measurements.Measurements;
import site.ycsb.workloads.CoreWorkload;

import java.util.Properties;

/** YCSB's own key names ({@code CoreWorkload.buildKeyName}) for a set of properties: the reference the tests hold to. */
final class YcsbKeyNames extends CoreWorkload {

    static YcsbKeyNames of(Properties properties) {
        Properties withCounts = new Properties();
        withCounts.putAll(properties);
        withCounts.putIfAbsent("operationcount", "1");
        withCounts.putIfAbsent("recordcount", "1");
        // CoreWorkload's constructor takes YCSB's measurements singleton, which needs properties if no phase ran yet.
        Measurements.setProperties(withCounts);
        YcsbKeyNames names = new YcsbKeyNames();
        try {
            names.init(withCounts);
        } catch (WorkloadException e) {
            throw new IllegalStateException(e);
        }
        return names;
    }

    static YcsbKeyNames of(int zeroPadding, boolean ordered) {
        Properties properties = new Properties();
        properties.setProperty("zeropadding", String.valueOf(zeroPadding));
        properties.setProperty("insertorder", ordered ? "ordered" : "hashed");
        return of(properties);
    }

    /** The key YCSB names record {@code keyNumber} by (hashed first, unless inserts are ordered). */
    String keyName(long keyNumber) {
        return buildKeyName(keyNumber);
    }

    /**
     * The value YCSB writes into {@code field} of {@code key} when {@code dataintegrity=true}, rebuilt from YCSB's
     * documented rule: the key, ':', the field name, then ':' and the hash code of everything so far, repeated, cut
     * to {@code length} characters.
     */
    static String integrityValue(String key, String field, int length) {
        StringBuilder value = new StringBuilder(length).append(key).append(':').append(field);
        while (value.length() < length) {
            value.append(':').append(value.toString().hashCode());
        }
        value.setLength(length);
        return value.toString();
    }
}
