package io.rolexkv.bench.baseline.btree;

import io.rolexkv.bench.baseline.btree.InternalNodeCache.Snapshot;
import io.rolexkv.common.fabric.BatchResult;
import io.rolexkv.common.fabric.DoorbellBatch;
import io.rolexkv.common.fabric.FabricConnection;
import io.rolexkv.common.fabric.CorruptDataException;
import io.rolexkv.common.fabric.WordOrder;
import io.rolexkv.rolex.index.DoorbellExtras;
import io.rolexkv.rolex.index.IndexFullException;
import io.rolexkv.rolex.index.IndexGaveUpException;
import io.rolexkv.rolex.index.KeyValue;
import io.rolexkv.rolex.index.PutOutcome;
import io.rolexkv.rolex.index.LeanIndex;
import io.rolexkv.rolex.index.WordIndex;
import io.rolexkv.rolex.index.WordUpdate;
import io.rolexkv.rolex.index.WriteResult;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import static io.rolexkv.bench.baseline.btree.BTreeRegionDescriptor.rootLevel;
import static io.rolexkv.bench.baseline.btree.BTreeRegionDescriptor.rootNode;

/**
 * The B+tree baseline: a Sherman-style (SIGMOD'22) B-link tree in one memory node's {@code btree} region, operated
 * one-sidedly from compute nodes over the same fabric and verbs as {@link LeanIndex}, behind the same interface
 * ({@link WordIndex}), so the two can be compared op for op and run under the same engine ({@link BTreeIndexKind}):
 * unsigned 64-bit keys to 8-byte words (the engine stores larger values as handles to value blocks).
 *
 * <h2>Structure (see {@link BTreeRegionDescriptor} and {@link BTreeNodeDescriptor})</h2>
 * Fixed-size nodes (1 KB by default) numbered in the region; a header with the allocation counter (claimed in chunks by
 * FAA) and the root word (root node and level, replaced by CAS when the root splits). Every node has fences and a
 * right-sibling link (a B-link tree, after Lehman and Yao): a node's low fence never changes, a split only hands the
 * upper part of a node's range to a new right sibling, and nodes never merge (deletes leave room behind, as in
 * Sherman). Leaf entries are unsorted, so a write touches one entry; internal entries are sorted.
 *
 * <h2>Lookup: one doorbell with a warm cache</h2>
 * Each compute node caches internal nodes ({@link InternalNodeCache}). A lookup descends the cache to the leaf and READs
 * it: one round trip. A cache miss fetches the missing node (one READ per level). A cached node may be stale; that is
 * safe because every pointer in a stale snapshot leads to a node whose (immutable) low fence is at most the key, so the
 * node that holds the key is that one or one to its right: a reader whose leaf no longer holds the key (key above the
 * high fence) follows sibling links, and drops the parent snapshot that sent it astray so the next descent fetches a
 * fresh one. A batch lookup ({@link #getAll}) routes every key through the cache and READs all their leaves in one
 * doorbell.
 *
 * <h2>Torn reads</h2>
 * Readers take no locks. Every unit of a node (header, each entry) carries the node's version and a hash of its words;
 * a read is consistent when every unit checks and all versions agree (see {@link BTreeNodeDescriptor} for why this and
 * not Sherman's front/rear versions alone). A torn read is simply read again.
 *
 * <h2>Insert, update, delete: two doorbells in the common case</h2>
 * <ol>
 *   <li>CAS the leaf's lock word from free to this compute node's id and, in the same doorbell and therefore after
 *       the CAS, READ the leaf. If the CAS won, the read shows the leaf as it is under our lock.</li>
 *   <li>WRITE the one changed 24-byte entry in place, then WRITE the lock word free, in one doorbell, in that order: the
 *       unlock lands only after the entry has (verbs in a batch run in order, a torn WRITE included).</li>
 * </ol>
 * A lost CAS backs off (randomized exponential) and retries; a lock not won within the lock timeout (10 s by default)
 * fails the operation with an {@link IndexGaveUpException} naming the node and the holder instead of hanging. If the locked
 * leaf no longer holds the key (a split the cache missed), the release and the lock attempt on the right sibling share
 * one doorbell. A writer holds at most one lock at any time, so there is no deadlock.
 *
 * <p>The engine's verbs ride along: a put's new value block is written in the first doorbell, ahead of the lock CAS
 * (the block exists before any leaf names it), and an update's verbs run in the second doorbell, ahead of the entry
 * write, after the update saw the key's word under the lock.
 *
 * <h2>Splits</h2>
 * A full leaf splits under its lock: take a fresh node (local pool, refilled by FAA chunks), WRITE the new right half,
 * then the left half's new body (new high fence, sibling = the new node, every unit at the next version), then the
 * unlock; a reader sees the left node either whole before or whole after, and the right node exists before anything
 * links to it. The separator then goes into the parent, locked and read the same way, in the same doorbell as the
 * child's writes when the cache knows the parent. A full parent splits the same way, up the tree. A node that owns the
 * whole key space is the root (it can never have split, and the first split of a level's only node is what makes it not
 * the root): its split also writes a new root above it and installs it by CAS on the root word, before the unlock, in
 * the same doorbell. A leaf split costs three doorbells (plus one FAA now and then to refill the node pool).
 *
 * <h2>Scan</h2>
 * Start at the leaf of {@code from} and follow sibling links. The cached level-1 nodes say which leaves come next, so
 * several are READ per doorbell (a growing number); the links stay the truth, a predicted leaf is only a prefetch.
 * Each leaf's snapshot contributes the keys inside its own fences, which are disjoint and ascending along the links, so
 * the result is sorted without duplicates, and a key present for the whole scan is returned (a leaf's snapshot, read
 * at any moment, holds every such key between its immutable low fence and the high fence it shows, and its sibling
 * link shows where the rest of the range went).
 *
 * <h2>Differences from Sherman as published</h2>
 * <ul>
 *   <li>Sherman keeps lock words in the NIC's on-chip memory (a lock table hashed by node); this fabric has no such
 *       memory, so each node carries its lock word and the CAS goes to host memory like every other verb.</li>
 *   <li>Sherman hands a lock over between threads of one compute node through a local lock table; here threads of one
 *       compute node contend through the remote lock word as separate compute nodes do (more lock conflicts under
 *       skew; the same round trips when uncontended). Its command combination (entry write and unlock in one post)
 *       is the second doorbell above.</li>
 *   <li>Torn-read detection is strengthened as described above.</li>
 *   <li>Sherman's range query trusts the cached internal nodes and can miss keys under concurrent inserts; this scan
 *       only prefetches from them and follows sibling links.</li>
 * </ul>
 *
 * <p>Thread-safe: one instance serves all threads of a compute node. Separate compute nodes use separate instances
 * (their own connection and cache) on the same tree.
 */
public final class ShermanBTree implements WordIndex {
    /** Attempts at a node that keeps failing its checks before the reader calls it corrupt. */
    static final int MAX_TORN_RETRIES = 10_000;
    /** Sibling hops one descent may take before the links are called corrupt (a cycle). */
    private static final int MAX_SIBLING_HOPS = 1 << 20;
    /** Leaves a scan reads in its first doorbell at most, and in any later one. */
    private static final int SCAN_FIRST_DOORBELL_LEAVES = 32;
    private static final int SCAN_MAX_DOORBELL_LEAVES = 64;

    private final FabricConnection connection;
    private final BTreeLayout layout;
    private final BTreeOptions options;
    private final InternalNodeCache cache;
    private final BTreeCounters counters = new BTreeCounters();
    private final NodePool pool = new NodePool();
    /** What this compute node writes into a lock word it holds: nonzero, and names the holder in timeout messages. */
    private final long lockOwner = ThreadLocalRandom.current().nextLong() | 1;
    /** The root word as last read; may be older than the memory node's (the old root stays a valid place to start). */
    private volatile long rootWord;
    /** Set when a descent saw the cached root has split: the next descent re-reads the root word. */
    private volatile boolean rootStale;

    ShermanBTree(FabricConnection connection, BTreeLayout layout, BTreeOptions options, long rootWord) {
        this.connection = connection;
        this.layout = layout;
        this.options = options;
        this.cache = new InternalNodeCache(layout.nodeBytes(), options.cacheCapacityBytes());
        this.rootWord = rootWord;
    }

    // ------------------------------------------------------------------ building and opening

    /**
     * Builds a tree of {@code sortedKeys} (strictly increasing, unsigned) and their {@code words} on the connection's
     * memory node, replacing whatever tree was there, and returns it opened with every internal node cached (within
     * the cache budget). Any number of compute nodes may then {@link #open} it.
     *
     * @throws IllegalArgumentException for unsorted or duplicate keys (naming the first offending pair), mismatched
     *                                  lengths, or a region too small for the tree; nothing is published then
     */
    public static ShermanBTree bulkLoad(FabricConnection connection, BTreeOptions options, long[] sortedKeys, long[] words) {
        return BTreeLoader.bulkLoad(connection, options, sortedKeys, words);
    }

    /** Builds an empty tree (one empty leaf as the root) that grows by inserts, replacing any tree there. */
    public static ShermanBTree createEmpty(FabricConnection connection, BTreeOptions options) {
        return BTreeLoader.bulkLoad(connection, options, new long[0], new long[0]);
    }

    /** Opens the tree on the connection's memory node with the default client settings (the cache warmed). */
    public static ShermanBTree open(FabricConnection connection) {
        return open(connection, BTreeOptions.DEFAULT);
    }

    /**
     * Opens the tree on the connection's memory node. The node size comes from the region; the client settings
     * (cache budget, allocation chunk, lock timeout, warm-up) from {@code options}.
     *
     * @throws IllegalStateException if no tree was built there
     */
    public static ShermanBTree open(FabricConnection connection, BTreeOptions options) {
        return BTreeLoader.open(connection, options);
    }

    /** Unpublishes the tree on the connection's memory node; the next build reuses its space. */
    public static void clear(FabricConnection connection) {
        BTreeLoader.clear(connection);
    }

    // ------------------------------------------------------------------ inspection

    public BTreeOptions options() {
        return options;
    }

    public FabricConnection connection() {
        return connection;
    }

    public int nodeBytes() {
        return layout.nodeBytes();
    }

    public BTreeCounters.Snapshot counters() {
        return counters.snapshot();
    }

    /** Bytes of internal nodes this compute node caches, counted as the memory node stores them. */
    @Override
    public long cachedBytes() {
        return cache.bytes();
    }

    /** Internal nodes this compute node caches. */
    public int cachedNodes() {
        return cache.size();
    }

    /** The tree's height (1 for a lone leaf), from a fresh read of the root word: one round trip. */
    public int height() {
        long root = readRootWord();
        rootWord = root;
        rootStale = false;
        return rootLevel(root) + 1;
    }

    // ------------------------------------------------------------------ lookup

    /** The word stored under {@code key}, or empty. */
    @Override
    public OptionalLong get(long key) {
        return readFrom(key, locate(key, 0, false), null);
    }

    /**
     * The word of {@code key}, starting at the leaf {@code path} names ({@code leaf}: its contents as read already, or
     * {@code null} to READ it) and moving right while the key is above a leaf's high fence.
     */
    private OptionalLong readFrom(long key, Path path, BTreeNode leaf) {
        long node = path.node();
        boolean invalidated = false;
        for (int hops = 0; ; hops++) {
            if (leaf == null) {
                leaf = readNode(node, 0);
            }
            if (isAbove(key, leaf)) {
                invalidated = dropStaleParent(path, invalidated);
                node = nextRight(leaf, node, hops);
                leaf = null;
                continue;
            }
            requireNotBelow(key, leaf, node);
            int slot = leaf.findSlot(key);
            return slot < 0 ? OptionalLong.empty() : OptionalLong.of(leaf.value(slot));
        }
    }

    /**
     * The words of {@code keys}, in order: per {@value #KEYS_PER_DOORBELL} keys, the cached internal nodes name every
     * key's leaf and one doorbell READs those leaves (a leaf shared by several keys once), as Sherman batches its
     * lookups. A leaf that read torn, or whose fences no longer hold its key (a split the cache missed), is read again
     * the way {@link #get} reads, for that key alone.
     */
    @Override
    public OptionalLong[] getAll(long[] keys) {
        OptionalLong[] words = new OptionalLong[keys.length];
        for (int start = 0; start < keys.length; start += KEYS_PER_DOORBELL) {
            getChunk(keys, start, Math.min(keys.length, start + KEYS_PER_DOORBELL), words);
        }
        return words;
    }

    private void getChunk(long[] keys, int start, int end, OptionalLong[] words) {
        Path[] paths = new Path[end - start];
        Map<Long, Integer> readVerbs = new LinkedHashMap<>();
        DoorbellBatch batch = new DoorbellBatch();
        for (int i = start; i < end; i++) {
            Path path = locate(keys[i], 0, true);
            if (path == null) {
                path = locate(keys[i], 0, false); // a cold cache: fetch the missing internal nodes first
            }
            paths[i - start] = path;
            readVerbs.computeIfAbsent(path.node(), leaf -> batch.read(layout.nodeAddress(leaf), layout.nodeBytes()));
        }
        BatchResult result = connection.execute(batch);
        Map<Long, BTreeNode> leaves = new HashMap<>();
        for (Map.Entry<Long, Integer> read : readVerbs.entrySet()) {
            BTreeNode contents = decode(result.read(read.getValue()), read.getKey());
            if (contents != null) {
                leaves.put(read.getKey(), checkLevel(contents, read.getKey(), 0));
            }
        }
        for (int i = start; i < end; i++) {
            Path path = paths[i - start];
            words[i] = readFrom(keys[i], path, leaves.get(path.node()));
        }
    }

    /** Keys whose leaves {@link #getAll} READs in one doorbell: 256 KB of 1 KB leaves at most, well inside a batch. */
    public static final int KEYS_PER_DOORBELL = 256;

    /** Where a descent ended: the node at the target level, and the node one level up it was routed by (0: none). */
    private record Path(long node, long parent) {
    }

    /**
     * Descends from the root through the cached internal nodes to the node at {@code level} that, as far as the cache
     * knows, holds {@code key}. Missing nodes are fetched and cached, unless {@code cacheOnly}: then the answer is
     * {@code null} when the cache cannot give it without a round trip. Moves right inside the cache where a snapshot
     * shows the key above its range, and drops the snapshot above that routed the key there.
     */
    private Path locate(long key, int level, boolean cacheOnly) {
        long root = rootFor(level, cacheOnly);
        if (root == 0) {
            return null;
        }
        int rootLevel = rootLevel(root);
        int current = rootLevel;
        long node = rootNode(root);
        long parent = 0;
        boolean parentDropped = false;
        int hops = 0;
        while (current > level) {
            Snapshot snapshot = cache.get(node);
            if (snapshot != null) {
                counters.cacheHits.increment();
            } else if (cacheOnly) {
                return null;
            } else {
                counters.cacheMisses.increment();
                snapshot = fetchInternal(node, current);
            }
            if (snapshot.level() != current) {
                throw corrupt(node, "cached at level=" + snapshot.level() + " but reached at level=" + current);
            }
            if (snapshot.isAbove(key)) {
                if (current == rootLevel) {
                    rootStale = true; // the node we took for the root has split: a taller tree is (being) installed
                }
                if (!parentDropped) {
                    cache.invalidate(parent);
                    parentDropped = true;
                }
                counters.siblingHops.increment();
                node = checkedSibling(snapshot.sibling(), node, ++hops);
                continue;
            }
            if (snapshot.isBelow(key)) {
                throw belowLowFence(key, node, snapshot.lowFence());
            }
            parent = node;
            parentDropped = false;
            node = snapshot.childFor(key);
            current--;
        }
        return new Path(node, parent);
    }

    /**
     * A root word whose level is at least {@code level}: the cached one if it is fresh enough, else re-read (waiting
     * while a root split is being published). With {@code cacheOnly}, 0 instead of a round trip.
     */
    private long rootFor(int level, boolean cacheOnly) {
        long root = rootWord;
        if (!rootStale && rootLevel(root) >= level) {
            return root;
        }
        if (cacheOnly) {
            return 0;
        }
        long deadline = System.nanoTime() + options.lockTimeoutNanos();
        for (int attempt = 1; ; attempt++) {
            root = readRootWord();
            rootWord = root;
            rootStale = false;
            if (rootLevel(root) >= level) {
                return root;
            }
            // A node at level-1 split while owning the whole key space: its new root is in the same doorbell as its
            // unlock and is about to land.
            if (System.nanoTime() - deadline > 0) {
                throw new IndexGaveUpException("btree root word=" + Long.toHexString(root) + " still shows level="
                        + rootLevel(root) + " below level=" + level + " after "
                        + TimeUnit.NANOSECONDS.toMillis(options.lockTimeoutNanos()) + " ms: a root split was never published");
            }
            backOff(attempt);
        }
    }

    private long readRootWord() {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.rootAddress(), Long.BYTES);
        return WordOrder.getLong(connection.execute(batch).read(verb), 0);
    }

    private Snapshot fetchInternal(long node, int level) {
        Snapshot snapshot = Snapshot.of(node, readNode(node, level));
        cache.offer(snapshot);
        return snapshot;
    }

    /** READs {@code node} until it decodes consistently, and checks it sits at {@code level}. */
    private BTreeNode readNode(long node, int level) {
        DoorbellBatch batch = new DoorbellBatch();
        int verb = batch.read(layout.nodeAddress(node), layout.nodeBytes());
        for (int attempt = 1; ; attempt++) {
            BTreeNode contents = decode(connection.execute(batch).read(verb), node);
            if (contents != null) {
                return checkLevel(contents, node, level);
            }
            afterTornRead(node, attempt);
        }
    }

    private BTreeNode decode(MemorySegment bytes, long node) {
        BTreeNode contents = BTreeNode.decodeOrNull(bytes, node, layout.capacity());
        if (contents == null) {
            counters.tornReads.increment();
        }
        return contents;
    }

    private static void afterTornRead(long node, int attempt) {
        if (attempt > MAX_TORN_RETRIES) {
            throw new CorruptDataException("btree node=" + node + " keeps failing its check words after " + MAX_TORN_RETRIES
                    + " reads: corrupt node, or a writer died in the middle of writing it");
        }
        if (attempt > 8) {
            LockSupport.parkNanos(Math.min(1_000_000L, 1_000L << Math.min(10, attempt - 8)));
        }
    }

    private static BTreeNode checkLevel(BTreeNode contents, long node, int level) {
        if (contents.level() != level) {
            throw corrupt(node, "reached as level=" + level + " but the node says level=" + contents.level());
        }
        return contents;
    }

    private static boolean isAbove(long key, BTreeNode node) {
        return Long.compareUnsigned(key, node.highFence()) > 0;
    }

    private static void requireNotBelow(long key, BTreeNode contents, long node) {
        if (Long.compareUnsigned(key, contents.lowFence()) < 0) {
            throw belowLowFence(key, node, contents.lowFence());
        }
    }

    private static CorruptDataException belowLowFence(long key, long node, long lowFence) {
        return new CorruptDataException("key=" + Long.toUnsignedString(key) + " was routed to btree node=" + node
                + " whose low fence=" + Long.toUnsignedString(lowFence) + " is above it: low fences never change, so the"
                + " tree was rebuilt under this open instance (open it again) or is corrupt");
    }

    private boolean dropStaleParent(Path path, boolean alreadyDropped) {
        if (!alreadyDropped) {
            cache.invalidate(path.parent());
        }
        return true;
    }

    private long nextRight(BTreeNode contents, long node, int hops) {
        counters.siblingHops.increment();
        return checkedSibling(contents.sibling(), node, hops + 1);
    }

    private static long checkedSibling(long sibling, long node, int hops) {
        if (sibling == 0) {
            throw corrupt(node, "a key above its high fence but no right sibling");
        }
        if (hops > MAX_SIBLING_HOPS) {
            throw corrupt(node, "more than " + MAX_SIBLING_HOPS + " sibling hops in one descent: the links form a cycle");
        }
        return sibling;
    }

    private static CorruptDataException corrupt(long node, String detail) {
        return new CorruptDataException("corrupt btree node=" + node + ": " + detail);
    }

    // ------------------------------------------------------------------ writes

    /** Stores {@code word} under {@code key}, inserting or replacing. */
    public PutOutcome put(long key, long word) {
        return put(key, word, null).outcome();
    }

    /** Removes {@code key}; returns whether it was there. */
    public boolean delete(long key) {
        return remove(key).isPresent();
    }

    /**
     * Stores {@code word} under {@code key} and returns the word it replaced. {@code firstDoorbellExtras} (may be
     * {@code null}) appends verbs to the doorbell of the first lock attempt, ahead of the CAS and the leaf READ: the
     * engine writes a new value block there, so a put of a large value still costs two round trips.
     */
    @Override
    public WriteResult put(long key, long word, DoorbellExtras firstDoorbellExtras) {
        OptionalLong written = OptionalLong.of(word);
        return write(key, (current, finalDoorbell) -> written, firstDoorbellExtras);
    }

    /**
     * Applies {@code update} under the leaf's lock: it sees the key's word as read under the lock, and its verbs run in
     * the doorbell that writes the entry and unlocks (or, when the leaf splits, the doorbell that writes the halves),
     * ahead of that write.
     */
    @Override
    public WriteResult update(long key, WordUpdate update) {
        return write(key, update, null);
    }

    /** Removes {@code key} and returns the word it held, if any; its leaf keeps its range (nodes never merge). */
    @Override
    public OptionalLong remove(long key) {
        return write(key, (current, finalDoorbell) -> OptionalLong.empty(), null).previous();
    }

    /**
     * One write per key, in order ({@code firstDoorbellExtras} riding the first key's first doorbell): two doorbells
     * per key. Not all or nothing beyond one key (a leaf lock guards one leaf, and Sherman locks one at a time): if
     * key i fails, keys before it are written. {@link #maxAtomicBatchKeys()} says so to the engine.
     */
    @Override
    public WriteResult[] updateAll(long[] keys, WordUpdate[] updates, DoorbellExtras firstDoorbellExtras) {
        if (keys.length != updates.length) {
            throw new IllegalArgumentException("keys=" + keys.length + " updates=" + updates.length + " must match");
        }
        WriteResult[] results = new WriteResult[keys.length];
        for (int i = 0; i < keys.length; i++) {
            results[i] = write(keys[i], updates[i], i == 0 ? firstDoorbellExtras : null);
        }
        return results;
    }

    /** One key: each write locks one leaf. */
    @Override
    public int maxAtomicBatchKeys() {
        return 1;
    }

    /**
     * Locks the key's leaf (the extras first, in the same doorbell), applies {@code update} to what the locked read
     * shows, then writes the one changed entry and unlocks in one doorbell, behind the update's own verbs; a full leaf
     * splits instead. If the update throws, the lock is released and nothing was written.
     */
    private WriteResult write(long key, WordUpdate update, DoorbellExtras firstDoorbellExtras) {
        DoorbellBatch first = new DoorbellBatch();
        if (firstDoorbellExtras != null) {
            firstDoorbellExtras.appendTo(first);
        }
        Locked locked = lock(key, 0, locate(key, 0, false), first,
                firstDoorbellExtras == null ? null : firstDoorbellExtras::completed);
        long node = locked.node();
        BTreeNode leaf = locked.contents();
        int slot = leaf.findSlot(key);
        OptionalLong previous = slot >= 0 ? OptionalLong.of(leaf.value(slot)) : OptionalLong.empty();
        DoorbellBatch batch = new DoorbellBatch();
        OptionalLong next;
        try {
            next = update.apply(previous, batch);
        } catch (RuntimeException e) {
            release(node);
            throw e;
        }
        WriteResult result = new WriteResult(previous, next);
        if (next.isEmpty()) {
            if (slot >= 0) {
                leaf.clearEntry(slot);
                batch.write(layout.entryAddress(node, slot), leaf.encodeEntry(node, slot));
            }
            batch.writeLong(layout.lockAddress(node), 0);
            update.finalDoorbellCompleted(connection.execute(batch));
            return result;
        }
        if (slot < 0) {
            slot = leaf.freeSlot();
        }
        if (slot < 0) {
            splitLeaf(locked, key, next.getAsLong(), batch, update::finalDoorbellCompleted);
            return result;
        }
        leaf.setEntry(slot, key, next.getAsLong());
        batch.write(layout.entryAddress(node, slot), leaf.encodeEntry(node, slot));
        batch.writeLong(layout.lockAddress(node), 0);
        update.finalDoorbellCompleted(connection.execute(batch));
        return result;
    }

    /** A node read under its lock, which this compute node holds. */
    private record Locked(long node, BTreeNode contents) {
    }

    /**
     * Locks the node at {@code level} that holds {@code key}, starting from {@code path}'s node and moving right as the
     * fences say, and returns it as read under the lock. The verbs already in {@code prefix} run first, in the same
     * doorbell as the first attempt, and {@code prefixCompleted} (may be {@code null}) hears that doorbell's result.
     */
    private Locked lock(long key, int level, Path path, DoorbellBatch prefix, Consumer<BatchResult> prefixCompleted) {
        long node = path.node();
        DoorbellBatch batch = prefix;
        boolean invalidated = false;
        int conflicts = 0;
        int hops = 0;
        long deadline = System.nanoTime() + options.lockTimeoutNanos();
        while (true) {
            int casVerb = batch.compareAndSwap(layout.lockAddress(node), 0, lockOwner);
            int readVerb = batch.read(layout.nodeAddress(node), layout.nodeBytes());
            BatchResult result = connection.execute(batch);
            if (prefixCompleted != null) {
                prefixCompleted.accept(result);
                prefixCompleted = null;
            }
            batch = new DoorbellBatch();
            if (!result.casSucceeded(casVerb)) {
                counters.lockConflicts.increment();
                if (System.nanoTime() - deadline > 0) {
                    throw new IndexGaveUpException("could not lock btree node=" + node + " level=" + level + " within "
                            + TimeUnit.NANOSECONDS.toMillis(options.lockTimeoutNanos()) + " ms: last seen lock word="
                            + Long.toHexString(result.oldValue(casVerb)) + "; a lock holder may have died");
                }
                backOff(++conflicts);
                continue;
            }
            BTreeNode contents = decode(result.read(readVerb), node);
            if (contents == null) {
                contents = readNode(node, level); // nothing writes a node whose lock we hold: only a dead writer tears it
            }
            if (contents.level() != level) {
                release(node);
                checkLevel(contents, node, level);
            }
            if (isAbove(key, contents)) {
                // A split moved the key's range right since the cache was filled: release, try the right sibling,
                // both in the next doorbell.
                invalidated = dropStaleParent(path, invalidated);
                batch.writeLong(layout.lockAddress(node), 0);
                node = nextRight(contents, node, hops++);
                conflicts = 0;
                deadline = System.nanoTime() + options.lockTimeoutNanos();
                continue;
            }
            if (Long.compareUnsigned(key, contents.lowFence()) < 0) {
                release(node);
                throw belowLowFence(key, node, contents.lowFence());
            }
            return new Locked(node, contents);
        }
    }

    private void release(long node) {
        DoorbellBatch batch = new DoorbellBatch();
        batch.writeLong(layout.lockAddress(node), 0);
        connection.execute(batch);
    }

    private static void backOff(int conflicts) {
        long ceilingNanos = Math.min(1_000_000L, 2_000L << Math.min(conflicts, 9));
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(ceilingNanos / 2, ceilingNanos + 1));
    }

    /**
     * Splits the locked full leaf around {@code key -> word}, unlocks it, and routes the new leaf from above; the verbs
     * of {@code prefix} run first, in the doorbell that writes the halves, and {@code prefixCompleted} hears its result.
     *
     * <p>Once that doorbell has completed the key is stored, and reachable through the left half's sibling link: a
     * B-link tree needs nothing more to be correct. Routing the new leaf from above only saves later readers a hop; if
     * that gives up (a parent's lock not won in time, no node left for a parent's split), the write has still
     * succeeded, so it returns normally and counts the split as {@link BTreeCounters.Snapshot#unroutedSplits()
     * unrouted}, rather than throwing an {@link IndexGaveUpException}, which would claim that nothing was linked.
     */
    private void splitLeaf(Locked locked, long key, long word, DoorbellBatch prefix, Consumer<BatchResult> prefixCompleted) {
        // Enough fresh nodes for a split at every level and a new root, claimed before anything changes, so a full
        // region refuses the insert cleanly.
        if (!pool.reserve(rootLevel(rootWord) + 2)) {
            release(locked.node());
            throw new IndexFullException(false, "no room for key=" + Long.toUnsignedString(key) + ": its leaf is full and the "
                    + BTreeRegionDescriptor.REGION_NAME + " region has no free node for a split (nodes="
                    + layout.capacityNodes() + " of " + layout.nodeBytes() + " bytes); nothing was stored");
        }
        counters.leafSplits.increment();
        boolean[] linked = {false};
        try {
            splitAndRoute(locked, key, word, prefix, result -> {
                linked[0] = true;
                prefixCompleted.accept(result);
            });
        } catch (IndexGaveUpException gaveUp) {
            if (!linked[0]) {
                throw gaveUp;
            }
            counters.unroutedSplits.increment();
        }
    }

    /**
     * Splits the locked full node around one more entry, writes both halves, and either installs a new root (the
     * node owned the whole key space) or adds the separator to the level above, splitting up as far as needed. The verbs
     * of {@code prefix} run ahead of the first split's writes, in their doorbell, whose result goes to
     * {@code prefixCompleted}.
     */
    private void splitAndRoute(Locked locked, long key, long value, DoorbellBatch prefix,
                               Consumer<BatchResult> prefixCompleted) {
        DoorbellBatch pending = prefix;
        Consumer<BatchResult> pendingCompleted = prefixCompleted;
        while (true) {
            long node = locked.node();
            BTreeNode full = locked.contents();
            boolean root = full.coversWholeKeySpace();
            long right = takeNode(locked, key);
            BTreeNode.Split split = full.splitWith(key, value, right);
            DoorbellBatch batch = pending;
            Consumer<BatchResult> batchCompleted = pendingCompleted;
            pending = new DoorbellBatch();
            pendingCompleted = null;
            // Order matters: the new node exists before the left node's new sibling link points at it.
            batch.write(layout.nodeAddress(right), split.right().encode(right));
            byte[] left = split.left().encode(node);
            batch.write(layout.bodyAddress(node), left, BTreeNodeDescriptor.BODY_OFFSET,
                    left.length - BTreeNodeDescriptor.BODY_OFFSET);
            if (root) {
                installRoot(batch, batchCompleted, locked, split, right, takeNode(locked, key));
                cacheHalves(full, split, node, right);
                return;
            }
            batch.writeLong(layout.lockAddress(node), 0);
            Locked parent = lockParent(split.separator(), full.level() + 1, batch, batchCompleted);
            cacheHalves(full, split, node, right); // written by now: the parent's lock attempt came after them
            if (!parent.contents().isFull()) {
                BTreeNode contents = parent.contents();
                contents.insertSeparator(split.separator(), right);
                contents.bumpVersion();
                byte[] bytes = contents.encode(parent.node());
                DoorbellBatch write = new DoorbellBatch();
                write.write(layout.bodyAddress(parent.node()), bytes, BTreeNodeDescriptor.BODY_OFFSET,
                        bytes.length - BTreeNodeDescriptor.BODY_OFFSET);
                write.writeLong(layout.lockAddress(parent.node()), 0);
                connection.execute(write);
                cache.offer(Snapshot.of(parent.node(), contents));
                return;
            }
            counters.internalSplits.increment();
            locked = parent;
            key = split.separator();
            value = right;
        }
    }

    /** Caches the halves of a split internal node, once they are written. */
    private void cacheHalves(BTreeNode full, BTreeNode.Split split, long node, long right) {
        if (!full.isLeaf()) {
            cache.offer(Snapshot.of(node, split.left()));
            cache.offer(Snapshot.of(right, split.right()));
        }
    }

    /**
     * Locks the node at {@code level} that should route {@code separator}, running {@code prefix} (the child's split
     * writes and unlock) first: in one doorbell with the lock attempt when the cache knows the way, else on its own
     * before the descent, so no lock is held across round trips that only look for the parent. {@code prefixCompleted}
     * (may be {@code null}) hears the result of the doorbell that ran {@code prefix}.
     */
    private Locked lockParent(long separator, int level, DoorbellBatch prefix, Consumer<BatchResult> prefixCompleted) {
        Path path = locate(separator, level, true);
        if (path == null) {
            BatchResult result = connection.execute(prefix);
            if (prefixCompleted != null) {
                prefixCompleted.accept(result);
            }
            path = locate(separator, level, false);
            return lock(separator, level, path, new DoorbellBatch(), null);
        }
        return lock(separator, level, path, prefix, prefixCompleted);
    }

    /**
     * Appends to {@code batch} the new root (entries: the old root, and the separator to its new right half), the CAS
     * that installs it, and the old root's unlock, and posts it. Only the holder of the old root's lock can split it,
     * so the CAS cannot lose unless the tree is corrupt.
     */
    private void installRoot(DoorbellBatch batch, Consumer<BatchResult> batchCompleted, Locked oldRoot,
                             BTreeNode.Split split, long right, long newRoot) {
        int level = oldRoot.contents().level() + 1;
        BTreeNode root = BTreeNode.internal(layout.capacity(), level, 0, -1L, 0, 1);
        root.insertSeparator(0, oldRoot.node());
        root.insertSeparator(split.separator(), right);
        batch.write(layout.nodeAddress(newRoot), root.encode(newRoot));
        long expected = BTreeRegionDescriptor.rootWord(level - 1, oldRoot.node());
        long desired = BTreeRegionDescriptor.rootWord(level, newRoot);
        int casVerb = batch.compareAndSwap(layout.rootAddress(), expected, desired);
        batch.writeLong(layout.lockAddress(oldRoot.node()), 0);
        BatchResult result = connection.execute(batch);
        if (batchCompleted != null) {
            batchCompleted.accept(result);
        }
        if (!result.casSucceeded(casVerb)) {
            throw new CorruptDataException("btree root word=" + Long.toHexString(result.oldValue(casVerb))
                    + " expected=" + Long.toHexString(expected) + " while node=" + oldRoot.node()
                    + " owned the whole key space under our lock: corrupt root word");
        }
        rootWord = desired;
        rootStale = false;
        cache.offer(Snapshot.of(newRoot, root));
    }

    /**
     * A fresh node number for a split of the locked node. The pool was filled for the whole split beforehand; running
     * dry here means other splits of this compute node took those nodes and the region is full: the key is stored
     * already and the tree is sound (the new node is reachable through its left sibling), but the level above never
     * learns of it.
     */
    private long takeNode(Locked locked, long key) {
        long node = pool.take();
        if (node < 0) {
            release(locked.node());
            throw new IndexFullException(false, "the " + BTreeRegionDescriptor.REGION_NAME + " region ran out of nodes (nodes="
                    + layout.capacityNodes() + ") while splitting node=" + locked.node() + " level="
                    + locked.contents().level() + " for key=" + Long.toUnsignedString(key) + "; "
                    + (locked.contents().isLeaf() ? "nothing was stored"
                    : "the key was stored and every key stays reachable, but the level above is incomplete"));
        }
        return node;
    }

    /** Node numbers claimed from the region by FAA on its allocation counter, in chunks, not used yet. */
    private final class NodePool {
        private final ArrayDeque<long[]> ranges = new ArrayDeque<>();
        private long available;

        /** Makes sure {@code count} nodes can be taken; false if the region has too few left. */
        synchronized boolean reserve(int count) {
            while (available < count) {
                long delta = Math.max(options.allocationChunkNodes(), count - available);
                DoorbellBatch batch = new DoorbellBatch();
                int verb = batch.fetchAndAdd(layout.allocatedNodesAddress(), delta);
                long first = connection.execute(batch).oldValue(verb);
                long end = Math.min(first + delta, layout.capacityNodes());
                if (first < end) {
                    ranges.addLast(new long[] {first, end});
                    available += end - first;
                }
                if (end < first + delta) {
                    return available >= count; // the region is exhausted
                }
            }
            return true;
        }

        /** A fresh node number, or -1 when the region has none left. */
        synchronized long take() {
            if (available == 0 && !reserve(1)) {
                return -1;
            }
            long[] range = ranges.peekFirst();
            long node = range[0]++;
            if (range[0] == range[1]) {
                ranges.pollFirst();
            }
            available--;
            return node;
        }
    }

    // ------------------------------------------------------------------ scan

    /**
     * Up to {@code limit} pairs with {@code from <= key <= to} (unsigned), in key order. A key present for the whole
     * scan is returned; one inserted or deleted meanwhile may or may not be.
     */
    @Override
    public List<KeyValue> scan(long from, long to, int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit=" + limit + " must be >= 0");
        }
        List<KeyValue> out = new ArrayList<>(Math.min(limit, 1024));
        if (limit == 0 || Long.compareUnsigned(from, to) > 0) {
            return out;
        }
        Path path = locate(from, 0, false);
        LeafPrediction prediction = new LeafPrediction(path.parent(), from, to);
        Map<Long, BTreeNode> fetched = new HashMap<>();
        // Leaves per doorbell: enough for the keys still wanted at the density seen so far (leaves after the first,
        // which contributes only its part above from), or at two thirds full before any was seen; one spare at first.
        int keysPerLeafGuess = Math.max(1, layout.capacity() * 2 / 3);
        long wholeLeaves = 0;
        long keysFromWholeLeaves = 0;
        int leavesPerDoorbell = (int) Math.min(SCAN_FIRST_DOORBELL_LEAVES, ceilDiv(limit, keysPerLeafGuess) + 1);
        long node = path.node();
        boolean first = true;
        boolean invalidated = false;
        boolean emitted = false;
        long last = 0;
        int hops = 0;
        int tornAttempts = 0;
        while (true) {
            BTreeNode leaf = fetched.remove(node);
            if (leaf == null) {
                readAhead(node, prediction, fetched, leavesPerDoorbell);
                leaf = fetched.remove(node);
                if (leaf == null) {
                    afterTornRead(node, ++tornAttempts);
                    continue;
                }
                tornAttempts = 0;
            }
            checkLevel(leaf, node, 0);
            if (first && isAbove(from, leaf)) {
                invalidated = dropStaleParent(path, invalidated);
                node = nextRight(leaf, node, hops++);
                continue;
            }
            long emittedBefore = out.size();
            long[][] entries = leaf.sortedEntries();
            for (int i = 0; i < entries[0].length; i++) {
                long key = entries[0][i];
                if (Long.compareUnsigned(key, from) < 0 || Long.compareUnsigned(key, to) > 0) {
                    continue;
                }
                if (emitted && Long.compareUnsigned(key, last) <= 0) {
                    continue; // a key seen twice in one snapshot: deleted from one slot, re-inserted in another
                }
                out.add(new KeyValue(key, entries[1][i]));
                emitted = true;
                last = key;
                if (out.size() == limit) {
                    return out;
                }
            }
            if (Long.compareUnsigned(leaf.highFence(), to) >= 0 || leaf.sibling() == 0) {
                return out;
            }
            if (!first) {
                wholeLeaves++;
                keysFromWholeLeaves += out.size() - emittedBefore;
            }
            first = false;
            long density = wholeLeaves == 0 ? keysPerLeafGuess : Math.max(1, keysFromWholeLeaves / wholeLeaves);
            leavesPerDoorbell = (int) Math.max(1, Math.min(SCAN_MAX_DOORBELL_LEAVES, ceilDiv(limit - out.size(), density)));
            node = leaf.sibling();
        }
    }

    private static long ceilDiv(long dividend, long divisor) {
        return (dividend + divisor - 1) / divisor;
    }

    /** READs {@code node} and up to {@code leaves - 1} predicted leaves after it, in one doorbell. */
    private void readAhead(long node, LeafPrediction prediction, Map<Long, BTreeNode> fetched, int leaves) {
        DoorbellBatch batch = new DoorbellBatch();
        List<Long> requested = new ArrayList<>(leaves);
        requested.add(node);
        batch.read(layout.nodeAddress(node), layout.nodeBytes());
        while (requested.size() < leaves) {
            long next = prediction.next();
            if (next == 0) {
                break;
            }
            if (next != node && !fetched.containsKey(next)) {
                requested.add(next);
                batch.read(layout.nodeAddress(next), layout.nodeBytes());
            }
        }
        BatchResult result = connection.execute(batch);
        for (int verb = 0; verb < requested.size(); verb++) {
            BTreeNode contents = decode(result.read(verb), requested.get(verb));
            if (contents != null) {
                fetched.put(requested.get(verb), contents);
            }
        }
    }

    /**
     * The leaves after the one routing {@code from}, in key order, as far as the cached level-1 nodes tell and no
     * further than {@code to}. A hint for prefetching; sibling links are the truth.
     */
    private final class LeafPrediction {
        private final long to;
        private Snapshot parent;
        private int index;

        LeafPrediction(long parentNode, long from, long to) {
            this.to = to;
            Snapshot snapshot = parentNode == 0 ? null : cache.get(parentNode);
            if (snapshot != null && !snapshot.isAbove(from) && !snapshot.isBelow(from)) {
                parent = snapshot;
                index = snapshot.indexFor(from) + 1;
            }
        }

        /** The next predicted leaf, or 0 when the cache does not know. */
        long next() {
            while (parent != null) {
                if (index < parent.keys().length) {
                    if (Long.compareUnsigned(parent.keys()[index], to) > 0) {
                        parent = null;
                        return 0;
                    }
                    return parent.children()[index++];
                }
                parent = parent.sibling() == 0 ? null : cache.get(parent.sibling());
                index = 0;
            }
            return 0;
        }
    }

    // ------------------------------------------------------------------ warm-up

    /** Reads the internal levels top-down into the cache, many nodes per doorbell, until the budget is used. */
    void warmCache() {
        long root = rootWord;
        int level = rootLevel(root);
        List<Long> frontier = List.of(rootNode(root));
        int perDoorbell = Math.max(1, Math.min(1024, BTreeLoader.BULK_BYTES_PER_DOORBELL / layout.nodeBytes()));
        while (level >= 1 && !frontier.isEmpty()) {
            List<Long> children = new ArrayList<>();
            for (int start = 0; start < frontier.size(); start += perDoorbell) {
                List<Long> slice = frontier.subList(start, Math.min(frontier.size(), start + perDoorbell));
                DoorbellBatch batch = new DoorbellBatch();
                for (long node : slice) {
                    batch.read(layout.nodeAddress(node), layout.nodeBytes());
                }
                BatchResult result = connection.execute(batch);
                for (int verb = 0; verb < slice.size(); verb++) {
                    if (!cache.hasRoom()) {
                        return;
                    }
                    long node = slice.get(verb);
                    BTreeNode contents = decode(result.read(verb), node);
                    Snapshot snapshot = Snapshot.of(node, contents != null ? checkLevel(contents, node, level)
                            : readNode(node, level));
                    cache.offer(snapshot);
                    if (level > 1) {
                        for (long child : snapshot.children()) {
                            children.add(child);
                        }
                    }
                }
            }
            frontier = children;
            level--;
        }
    }

    /** Caches what a builder wrote, top levels first, within the budget. */
    void offerBuilt(List<Snapshot> topDown) {
        for (Snapshot snapshot : topDown) {
            if (!cache.hasRoom()) {
                return;
            }
            cache.offer(snapshot);
        }
    }
}
