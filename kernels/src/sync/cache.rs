//! A size-bounded TTL cache, e.g. path → content digest, so that a sync tool does not
//! re-hash a file it looked at a moment ago.
//!
//! **Time is a parameter.** Every call takes `now`, a caller-supplied monotonic tick count
//! in the same unit as the TTL (e.g. nanoseconds since the caller's own `Instant`, or a
//! manual counter in tests). Reading a clock inside `get` would cost about as much as the
//! lookup itself and would make tests depend on the wall clock.
//!
//! **Eviction: expired first, then oldest, in O(1).** Every entry lives for the same TTL
//! from its last `set`, so ordering entries by their last write also orders them by expiry
//! time. The cache keeps that order in an intrusive doubly-linked list over a slab: the
//! head is both the oldest entry and the first to expire. When the cache is full, evicting
//! the head therefore removes an expired entry if any exists, and otherwise the oldest —
//! exactly the policy, without scanning. A `get` does not refresh an entry (TTL counts
//! from the write, not the read), and an expired entry found by `get` is removed then.
//!
//! Layout: a `HashMap<K, u32>` from key to slab index and a `Vec` of nodes holding key,
//! value, expiry and links; a full cache reuses the evicted node's slot, so steady-state
//! `set` does not allocate.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroUsize;

/// Sentinel for "no node" in the links.
const NIL: u32 = u32::MAX;

/// Hit, miss and eviction counters since creation (or the last [`TtlCache::reset_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// `get` calls (including those inside `get_or_load`) that found a live entry.
    pub hits: u64,
    /// `get` calls that found nothing or an expired entry.
    pub misses: u64,
    /// Entries removed to make room because their TTL had passed.
    pub expired_evictions: u64,
    /// Live entries removed to make room because they were the oldest.
    pub capacity_evictions: u64,
}

struct Node<K, V> {
    key: K,
    value: V,
    expires_at: u64,
    prev: u32,
    next: u32,
}

/// A TTL cache holding at most `capacity` entries.
pub struct TtlCache<K, V, S = RandomState> {
    index: HashMap<K, u32, S>,
    nodes: Vec<Node<K, V>>,
    /// Oldest (first to expire) and newest node.
    head: u32,
    tail: u32,
    capacity: usize,
    ttl: u64,
    stats: CacheStats,
}

impl<K: Hash + Eq + Clone, V> TtlCache<K, V, RandomState> {
    /// A cache of at most `capacity` entries, each live for `ttl` ticks after its `set`.
    ///
    /// # Panics
    /// If `capacity` exceeds `u32::MAX - 1` (slab indices are 32-bit).
    pub fn new(capacity: NonZeroUsize, ttl: u64) -> Self {
        Self::with_hasher(capacity, ttl, RandomState::new())
    }
}

impl<K: Hash + Eq + Clone, V, S: BuildHasher> TtlCache<K, V, S> {
    /// As [`TtlCache::new`] with a chosen hasher.
    pub fn with_hasher(capacity: NonZeroUsize, ttl: u64, hasher: S) -> Self {
        let capacity = capacity.get();
        assert!(
            capacity < NIL as usize,
            "cache capacity {capacity} exceeds 2^32 - 2"
        );
        TtlCache {
            index: HashMap::with_capacity_and_hasher(capacity + 1, hasher),
            nodes: Vec::with_capacity(capacity),
            head: NIL,
            tail: NIL,
            capacity,
            ttl,
            stats: CacheStats::default(),
        }
    }

    /// The live value for `key` at `now`, counting a hit or a miss.
    pub fn get<Q>(&mut self, key: &Q, now: u64) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.index.get(key) {
            Some(&slot) if self.nodes[slot as usize].expires_at > now => {
                self.stats.hits += 1;
                Some(&self.nodes[slot as usize].value)
            }
            Some(&slot) => {
                self.stats.misses += 1;
                self.remove_slot(slot);
                None
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Stores `value` under `key` at `now`, live until `now + ttl`. Replacing an entry
    /// makes it the newest; inserting into a full cache evicts the head (see module docs).
    pub fn set(&mut self, key: K, value: V, now: u64) {
        let expires_at = now.saturating_add(self.ttl);
        // One hash for lookup-or-insert through the entry API. A full cache inserts the
        // new key first and removes the evicted one after (a second hash); the index is
        // sized for `capacity + 1` keys so that moment never grows it.
        let full = self.nodes.len() == self.capacity;
        let slot = match self.index.entry(key) {
            Entry::Occupied(occupied) => {
                let slot = *occupied.get();
                let node = &mut self.nodes[slot as usize];
                node.value = value;
                node.expires_at = expires_at;
                self.unlink(slot);
                self.push_back(slot);
                return;
            }
            Entry::Vacant(vacant) if !full => {
                let slot = self.nodes.len() as u32;
                self.nodes.push(Node {
                    key: vacant.key().clone(),
                    value,
                    expires_at,
                    prev: NIL,
                    next: NIL,
                });
                vacant.insert(slot);
                slot
            }
            Entry::Vacant(vacant) => {
                let slot = self.head;
                let node = &mut self.nodes[slot as usize];
                if node.expires_at <= now {
                    self.stats.expired_evictions += 1;
                } else {
                    self.stats.capacity_evictions += 1;
                }
                let evicted = std::mem::replace(&mut node.key, vacant.key().clone());
                node.value = value;
                node.expires_at = expires_at;
                vacant.insert(slot);
                self.index.remove(&evicted);
                self.unlink(slot);
                slot
            }
        };
        self.push_back(slot);
    }

    /// The live value for `key`, or the value `load` produces (then stored at `now`).
    /// A failing `load` stores nothing and passes its error on.
    pub fn get_or_load<E>(
        &mut self,
        key: K,
        now: u64,
        load: impl FnOnce(&K) -> Result<V, E>,
    ) -> Result<&V, E> {
        // Looked up twice on a hit to satisfy the borrow checker without unsafe code;
        // the second lookup finds the same slot.
        if self.get(&key, now).is_some() {
            let slot = self.index[&key];
            return Ok(&self.nodes[slot as usize].value);
        }
        let value = load(&key)?;
        self.set(key.clone(), value, now);
        let slot = self.index[&key];
        Ok(&self.nodes[slot as usize].value)
    }

    /// Number of stored entries, live or not yet noticed to be expired.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the cache stores no entry.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The size bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counters since creation or the last reset.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) {
        self.stats = CacheStats::default();
    }

    /// Removes the node in `slot`, moving the last slab node into its place so the slab
    /// stays dense.
    fn remove_slot(&mut self, slot: u32) {
        self.unlink(slot);
        let removed = self.nodes.swap_remove(slot as usize);
        self.index.remove(&removed.key);
        let moved_from = self.nodes.len() as u32;
        if slot != moved_from {
            // The node formerly last now lives in `slot`: repoint its neighbours and key.
            let (prev, next) = {
                let moved = &self.nodes[slot as usize];
                (moved.prev, moved.next)
            };
            if prev == NIL {
                self.head = slot;
            } else {
                self.nodes[prev as usize].next = slot;
            }
            if next == NIL {
                self.tail = slot;
            } else {
                self.nodes[next as usize].prev = slot;
            }
            let key = &self.nodes[slot as usize].key;
            if let Some(entry) = self.index.get_mut(key) {
                *entry = slot;
            }
        }
    }

    fn unlink(&mut self, slot: u32) {
        let (prev, next) = {
            let node = &self.nodes[slot as usize];
            (node.prev, node.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    fn push_back(&mut self, slot: u32) {
        let old_tail = self.tail;
        {
            let node = &mut self.nodes[slot as usize];
            node.prev = old_tail;
            node.next = NIL;
        }
        if old_tail == NIL {
            self.head = slot;
        } else {
            self.nodes[old_tail as usize].next = slot;
        }
        self.tail = slot;
    }
}
