package io.rolexkv.common.fabric.rdma;

import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvSge;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The start-up check the rdma transport and its memory-node server run before touching DiSNI, so that a machine that
 * cannot do RDMA gets one clear refusal naming what to install, instead of an {@link UnsatisfiedLinkError} from deep
 * inside DiSNI, a hang, or (worst) atomics that silently corrupt remote memory.
 *
 * <p>It checks, independently, and reports every problem it finds:
 * <ol>
 *   <li>{@link Problem#NATIVE_LIBRARY_MISSING}: DiSNI's jar ships no native code; {@code libdisni} must be built from
 *       DiSNI's source and be on {@code java.library.path}. {@link Problem#NATIVE_LIBRARY_UNLOADABLE} when it is found
 *       but cannot load (usually libibverbs or librdmacm missing).</li>
 *   <li>{@link Problem#NO_RDMA_DEVICE}: the kernel lists no RDMA device, or {@code rdma_create_event_channel} fails.</li>
 *   <li>{@link Problem#ATOMICS_UNSUPPORTED}: the DiSNI on the class path does not pass a CAS/FAA's operands to the NIC
 *       (released 2.1 serializes only the RDMA part of a work request). Posting an atomic through it would CAS
 *       against, or add, whatever bytes happen to sit there, so the transport refuses to run at all.</li>
 *   <li>{@link Problem#JVM_FLAGS_MISSING}: DiSNI reads direct buffer addresses through {@code sun.nio.ch}, which
 *       JDK 17+ only opens with {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}.</li>
 * </ol>
 *
 * <h2>Why the atomics check is reliable</h2>
 * DiSNI's native {@code postSend} passes the bytes its Java side serialized straight to {@code ibv_post_send} as a
 * chain of {@code struct ibv_send_wr}; the Java {@code NatPostSendCall} constructor is the only code that puts a work
 * request's fields into those bytes. So the check builds one CAS work request with distinct sentinel operands through
 * that very constructor (it needs neither a device nor the native library: it only serializes into a direct buffer),
 * then reads the serialized struct at the offsets the verbs ABI fixes for the {@code wr.atomic} union member (remote
 * address at 40, compare_add at 48, swap at 56, rkey at 64 on LP64). The sentinels are there only if the serializer
 * writes the atomic part: what the NIC would read is what is checked, whatever the DiSNI version string says or however
 * a fork implemented the fix. If the check cannot even run (a DiSNI whose internals differ), it reports atomics as
 * unsupported: refusing is safe, guessing is not.
 *
 * <p>The result is computed once per JVM: the native library cannot be loaded twice and the class path does not change.
 */
public final class RdmaAvailability {
    /** The name {@code System.loadLibrary} looks for: {@code libdisni.so} on Linux. */
    public static final String NATIVE_LIBRARY_NAME = "disni";
    /** The JVM flag DiSNI needs on JDK 17+. */
    public static final String ADD_EXPORTS_FLAG = "--add-exports java.base/sun.nio.ch=ALL-UNNAMED";

    static final String NATIVE_DISPATCHER_CLASS = "com.ibm.disni.verbs.impl.NativeDispatcher";
    static final String POST_SEND_CALL_CLASS = "com.ibm.disni.verbs.impl.NatPostSendCall";
    static final String MEMORY_ALLOCATION_CLASS = "com.ibm.disni.util.MemoryAllocation";
    static final String MEMORY_BUFFER_CLASS = "com.ibm.disni.util.MemBuf";
    /** The class DiSNI's atomics fix adds; reported alongside the behavioural check as a hint. */
    static final String ATOMIC_SERIALIZER_CLASS = "com.ibm.disni.verbs.impl.NatIbvSendWR$NatAtomic";

    /** {@code struct ibv_send_wr} offsets (LP64) of the {@code wr.atomic} member, fixed by the verbs ABI. */
    static final int ATOMIC_REMOTE_ADDRESS_OFFSET = 40;
    static final int ATOMIC_COMPARE_ADD_OFFSET = 48;
    static final int ATOMIC_SWAP_OFFSET = 56;
    static final int ATOMIC_RKEY_OFFSET = 64;

    static final long SENTINEL_REMOTE_ADDRESS = 0x1122_3344_5566_7788L;
    static final long SENTINEL_COMPARE_ADD = 0x0A0B_0C0D_0E0F_1011L;
    static final long SENTINEL_SWAP = 0x2021_2223_2425_2627L;
    static final int SENTINEL_RKEY = 0x3132_3334;

    private static final Path SYSFS_VERBS_DEVICES = Path.of("/sys/class/infiniband_verbs");
    private static final Path SYSFS_RDMA_DEVICES = Path.of("/sys/class/infiniband");

    /** What stops this JVM from using the rdma transport. */
    public enum Problem {
        NATIVE_LIBRARY_MISSING("libdisni missing",
                "build libdisni from DiSNI's source (with atomics support, see ATOMICS_UNSUPPORTED) against "
                        + "libibverbs-dev and librdmacm-dev, and pass its directory with -Djava.library.path=DIR"),
        NATIVE_LIBRARY_UNLOADABLE("libdisni cannot load",
                "install the RDMA user-space libraries it links against (Debian/Ubuntu: libibverbs1 librdmacm1 "
                        + "ibverbs-providers; to build: libibverbs-dev librdmacm-dev) and rebuild libdisni for this JVM's architecture"),
        NO_RDMA_DEVICE("no RDMA device",
                "run on a host with an RDMA NIC (InfiniBand or RoCE) whose driver is loaded: `ibv_devices` or "
                        + "`rdma link` must list it; /dev/infiniband/rdma_cm must be accessible"),
        ATOMICS_UNSUPPORTED("DiSNI without atomics support",
                "released DiSNI 2.1 drops the compare_add, swap and rkey of CAS/FAA work requests; build DiSNI from "
                        + "source with atomics support (upstream pull request #51) and put that jar first on the class "
                        + "path (or build with -Ddisni.version=<its version>), with the libdisni built from the same source"),
        JVM_FLAGS_MISSING("JVM flag missing",
                "start the JVM with " + ADD_EXPORTS_FLAG + " (DiSNI reads direct buffer addresses through sun.nio.ch)");

        private final String title;
        private final String remedy;

        Problem(String title, String remedy) {
            this.title = title;
            this.remedy = remedy;
        }

        /** Short name for messages: "libdisni missing", "no RDMA device", ... */
        public String title() {
            return title;
        }

        /** What to install, build or pass to fix it. */
        public String remedy() {
            return remedy;
        }
    }

    /** One problem found, with what was observed. */
    public record Finding(Problem problem, String detail) {
        @Override
        public String toString() {
            return problem.title() + ": " + detail + "; fix: " + problem.remedy();
        }
    }

    /** Everything the check found; empty findings mean the transport may run. */
    public record Report(List<Finding> findings) {
        public Report {
            findings = List.copyOf(findings);
        }

        public boolean available() {
            return findings.isEmpty();
        }

        public boolean has(Problem problem) {
            return findings.stream().anyMatch(finding -> finding.problem() == problem);
        }

        /** One line per finding, most fundamental first. */
        public String describe() {
            if (findings.isEmpty()) {
                return "rdma transport available";
            }
            StringBuilder text = new StringBuilder("rdma transport unavailable (")
                    .append(findings.getFirst().problem().title()).append("):");
            for (int i = 0; i < findings.size(); i++) {
                text.append(System.lineSeparator()).append("  [").append(i + 1).append("] ").append(findings.get(i));
            }
            return text.toString();
        }
    }

    private static final class Holder {
        static final Report REPORT = runChecks();
    }

    private RdmaAvailability() {
    }

    /** The checks' result for this JVM (computed on first use). */
    public static Report check() {
        return Holder.REPORT;
    }

    /**
     * Returns quietly when the rdma transport can run here.
     *
     * @throws RdmaUnavailableException naming every problem found and what to install, build or pass
     */
    public static void requireAvailable() {
        Report report = check();
        if (!report.available()) {
            throw new RdmaUnavailableException(report);
        }
    }

    private static Report runChecks() {
        List<Finding> findings = new ArrayList<>();
        Finding library = guarded(Problem.NATIVE_LIBRARY_UNLOADABLE, RdmaAvailability::checkNativeLibrary);
        if (library != null) {
            findings.add(library);
        }
        Finding device = guarded(Problem.NO_RDMA_DEVICE, () -> checkDevices(library == null));
        if (device != null) {
            findings.add(device);
        }
        Finding atomics = guarded(Problem.ATOMICS_UNSUPPORTED, RdmaAvailability::checkAtomicsSerialization);
        if (atomics != null) {
            findings.add(atomics);
        }
        return new Report(findings);
    }

    /** Runs one check; a check that blows up counts as that problem (the result is cached, it must never throw). */
    private static Finding guarded(Problem problem, java.util.function.Supplier<Finding> check) {
        try {
            return check.get();
        } catch (RuntimeException | LinkageError e) {
            return new Finding(problem, "the check itself failed: " + e);
        }
    }

    /** Loads libdisni the way DiSNI itself does (its native dispatcher's class initializer), so it loads once, in DiSNI's class loader. */
    static Finding checkNativeLibrary() {
        String libraryPath = System.getProperty("java.library.path", "");
        try {
            Class.forName(NATIVE_DISPATCHER_CLASS, true, IbvSendWR.class.getClassLoader());
            return null;
        } catch (UnsatisfiedLinkError e) {
            String message = String.valueOf(e.getMessage());
            if (message.startsWith("no " + NATIVE_LIBRARY_NAME + " ")) {
                return new Finding(Problem.NATIVE_LIBRARY_MISSING, "no " + System.mapLibraryName(NATIVE_LIBRARY_NAME)
                        + " in java.library.path=" + libraryPath);
            }
            return new Finding(Problem.NATIVE_LIBRARY_UNLOADABLE, message + " java.library.path=" + libraryPath);
        } catch (NoClassDefFoundError | ClassNotFoundException | ExceptionInInitializerError e) {
            // A second load attempt after a failed first one lands here; so does a class path without DiSNI.
            return new Finding(Problem.NATIVE_LIBRARY_MISSING, "DiSNI's native dispatcher did not initialize: " + e
                    + " java.library.path=" + libraryPath);
        }
    }

    /**
     * Looks for RDMA devices in sysfs (what libibverbs enumerates), then, if the native library loaded, asks the RDMA
     * connection manager for an event channel (which fails with "No such device" without one).
     */
    static Finding checkDevices(boolean nativeLibraryLoaded) {
        List<String> devices = listDevices();
        if (devices.isEmpty()) {
            return new Finding(Problem.NO_RDMA_DEVICE, "the kernel lists no RDMA device (" + SYSFS_VERBS_DEVICES
                    + " and " + SYSFS_RDMA_DEVICES + " are empty or absent)");
        }
        if (nativeLibraryLoaded) {
            try {
                com.ibm.disni.verbs.RdmaEventChannel channel = com.ibm.disni.verbs.RdmaEventChannel.createEventChannel();
                channel.destroyEventChannel();
            } catch (IOException | RuntimeException e) {
                return new Finding(Problem.NO_RDMA_DEVICE, "devices=" + devices + " but rdma_create_event_channel "
                        + "failed: " + String.valueOf(e.getMessage()).strip());
            } catch (LinkageError e) {
                return new Finding(Problem.NATIVE_LIBRARY_UNLOADABLE, "libdisni loaded but does not match the DiSNI jar "
                        + "(build both from the same DiSNI source): " + e);
            }
        }
        return null;
    }

    private static List<String> listDevices() {
        List<String> devices = new ArrayList<>();
        for (Path directory : List.of(SYSFS_VERBS_DEVICES, SYSFS_RDMA_DEVICES)) {
            if (!Files.isDirectory(directory)) {
                continue;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
                for (Path entry : entries) {
                    String name = entry.getFileName().toString();
                    if (!name.equals("abi_version")) {
                        devices.add(name);
                    }
                }
            } catch (IOException e) {
                // Unreadable sysfs: treat as no devices listed there.
            }
        }
        return devices;
    }

    /**
     * Serializes a CAS work request with sentinel operands through the DiSNI on the class path and checks that the
     * operands reach the bytes {@code ibv_post_send} would read. See the class comment for why this is reliable.
     */
    static Finding checkAtomicsSerialization() {
        boolean fixClassPresent = classPresent(ATOMIC_SERIALIZER_CLASS);
        Object call = null;
        Method free = null;
        try {
            IbvSendWR request = new IbvSendWR();
            request.setOpcode(IbvSendWR.IBV_WR_ATOMIC_CMP_AND_SWP);
            request.setSend_flags(IbvSendWR.IBV_SEND_SIGNALED);
            IbvSge element = new IbvSge();
            element.setAddr(8);
            element.setLength(Long.BYTES);
            element.setLkey(1);
            request.getSg_list().add(element);
            request.setNum_sge(1);
            request.getAtomic().setRemote_addr(SENTINEL_REMOTE_ADDRESS);
            request.getAtomic().setCompare_add(SENTINEL_COMPARE_ADD);
            request.getAtomic().setSwap(SENTINEL_SWAP);
            request.getAtomic().setRkey(SENTINEL_RKEY);

            ClassLoader loader = IbvSendWR.class.getClassLoader();
            Class<?> callClass = Class.forName(POST_SEND_CALL_CLASS, false, loader);
            Class<?> allocationClass = Class.forName(MEMORY_ALLOCATION_CLASS, false, loader);
            Class<?> bufferClass = Class.forName(MEMORY_BUFFER_CLASS, false, loader);
            Constructor<?> constructor = postSendConstructor(callClass, allocationClass);
            Object allocation = allocationClass.getMethod("getInstance").invoke(null);
            Object[] arguments = new Object[constructor.getParameterCount()];
            Class<?>[] types = constructor.getParameterTypes();
            for (int i = 0; i < types.length; i++) {
                if (types[i] == allocationClass) {
                    arguments[i] = allocation;
                } else if (types[i] == List.class) {
                    arguments[i] = List.of(request);
                }
            }
            call = constructor.newInstance(arguments);
            free = callClass.getMethod("free");
            Object commandBuffer = fieldOfType(callClass, bufferClass).get(call);
            ByteBuffer commandBytes = (ByteBuffer) bufferClass.getMethod("getBuffer").invoke(commandBuffer);
            ByteBuffer serialized = commandBytes.duplicate().order(commandBytes.order());
            if (!atomicOperandsSerialized(serialized)) {
                return new Finding(Problem.ATOMICS_UNSUPPORTED, "a CAS serialized by " + POST_SEND_CALL_CLASS
                        + " lacks its operands at the wr.atomic offsets (compare_add@48=0x"
                        + Long.toHexString(serialized.getLong(ATOMIC_COMPARE_ADD_OFFSET)) + " expected 0x"
                        + Long.toHexString(SENTINEL_COMPARE_ADD) + "); " + ATOMIC_SERIALIZER_CLASS + " "
                        + (fixClassPresent ? "present" : "absent"));
            }
            return null;
        } catch (InvocationTargetException e) {
            return probeFailure(e.getCause() == null ? e : e.getCause(), fixClassPresent);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return probeFailure(e, fixClassPresent);
        } finally {
            if (call != null && free != null) {
                try {
                    free.invoke(call);
                } catch (ReflectiveOperationException | RuntimeException ignored) {
                    // The probe's scratch buffer goes back to DiSNI's pool or is left to the GC: either is fine.
                }
            }
        }
    }

    private static Finding probeFailure(Throwable cause, boolean fixClassPresent) {
        if (cause instanceof IllegalAccessError && String.valueOf(cause.getMessage()).contains("sun.nio.ch")) {
            return new Finding(Problem.JVM_FLAGS_MISSING, "DiSNI could not read a direct buffer address (" + cause
                    + "), so atomics support could not be checked either");
        }
        return new Finding(Problem.ATOMICS_UNSUPPORTED, "could not verify how this DiSNI serializes atomic work "
                + "requests (" + cause + "); " + ATOMIC_SERIALIZER_CLASS + " " + (fixClassPresent ? "present" : "absent"));
    }

    /**
     * Whether {@code workRequest}, a serialized {@code struct ibv_send_wr} holding the sentinel CAS, carries the
     * sentinels in its {@code wr.atomic} member. Read in the buffer's own byte order, the order DiSNI wrote it in.
     */
    static boolean atomicOperandsSerialized(ByteBuffer workRequest) {
        return workRequest.capacity() >= ATOMIC_RKEY_OFFSET + Integer.BYTES
                && workRequest.getLong(ATOMIC_REMOTE_ADDRESS_OFFSET) == SENTINEL_REMOTE_ADDRESS
                && workRequest.getLong(ATOMIC_COMPARE_ADD_OFFSET) == SENTINEL_COMPARE_ADD
                && workRequest.getLong(ATOMIC_SWAP_OFFSET) == SENTINEL_SWAP
                && workRequest.getInt(ATOMIC_RKEY_OFFSET) == SENTINEL_RKEY;
    }

    private static Constructor<?> postSendConstructor(Class<?> callClass, Class<?> allocationClass)
            throws NoSuchMethodException {
        for (Constructor<?> constructor : callClass.getDeclaredConstructors()) {
            List<Class<?>> types = List.of(constructor.getParameterTypes());
            if (types.contains(allocationClass) && types.contains(List.class)) {
                constructor.setAccessible(true);
                return constructor;
            }
        }
        throw new NoSuchMethodException(callClass.getName() + " has no constructor taking a MemoryAllocation and a work request list");
    }

    private static Field fieldOfType(Class<?> owner, Class<?> type) throws NoSuchFieldException {
        for (Field field : owner.getDeclaredFields()) {
            if (field.getType() == type) {
                field.setAccessible(true);
                return field;
            }
        }
        throw new NoSuchFieldException(owner.getName() + " has no field of type " + type.getName());
    }

    private static boolean classPresent(String name) {
        try {
            Class.forName(name, false, IbvSendWR.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
