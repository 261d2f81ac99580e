//! TTL cache behaviour under a manual clock: expiry, eviction order, counters.

use std::num::NonZeroUsize;

use std::cell::Cell;

use benchseal_kernels::sync::cache::{CacheStats, TtlCache};
use proptest::prelude::*;

/// Time moves only when a test says so: the cache takes `now` as a parameter.
struct ManualClock {
    ticks: Cell<u64>,
}

impl ManualClock {
    fn new(start: u64) -> Self {
        ManualClock {
            ticks: Cell::new(start),
        }
    }

    fn now(&self) -> u64 {
        self.ticks.get()
    }

    fn advance(&self, ticks: u64) {
        self.ticks.set(self.ticks.get() + ticks);
    }
}

fn cache(capacity: usize, ttl: u64) -> TtlCache<String, u32> {
    TtlCache::new(NonZeroUsize::new(capacity).unwrap(), ttl)
}

#[test]
fn entries_live_for_the_ttl_from_their_set() {
    let clock = ManualClock::new(1000);
    let mut c = cache(4, 10);
    c.set("a".into(), 1, clock.now());
    clock.advance(9);
    assert_eq!(c.get("a", clock.now()), Some(&1));
    clock.advance(1);
    assert_eq!(
        c.get("a", clock.now()),
        None,
        "expired exactly at set + ttl"
    );
    assert!(c.is_empty(), "an expired entry found by get is removed");
    assert_eq!(
        c.stats(),
        CacheStats {
            hits: 1,
            misses: 1,
            ..CacheStats::default()
        }
    );
}

#[test]
fn full_cache_evicts_the_oldest_when_nothing_expired() {
    let clock = ManualClock::new(0);
    let mut c = cache(2, 100);
    c.set("a".into(), 1, clock.now());
    clock.advance(1);
    c.set("b".into(), 2, clock.now());
    clock.advance(1);
    c.set("c".into(), 3, clock.now());
    assert_eq!(c.len(), 2);
    assert_eq!(c.get("a", clock.now()), None);
    assert_eq!(c.get("b", clock.now()), Some(&2));
    assert_eq!(c.stats().capacity_evictions, 1);
    assert_eq!(c.stats().expired_evictions, 0);
}

#[test]
fn rewriting_an_entry_makes_it_the_newest_and_expired_go_first() {
    let clock = ManualClock::new(0);
    let mut c = cache(2, 10);
    c.set("a".into(), 1, 0);
    c.set("b".into(), 2, 5);
    c.set("a".into(), 11, 6); // a now expires at 16, b at 15: b is the head.
    clock.advance(15);
    c.set("c".into(), 3, clock.now()); // b is expired and goes first.
    assert_eq!(c.stats().expired_evictions, 1);
    assert_eq!(c.get("a", clock.now()), Some(&11));
    assert_eq!(c.get("c", clock.now()), Some(&3));
    assert_eq!(c.get("b", clock.now()), None);
}

#[test]
fn get_or_load_loads_once_and_passes_errors_without_storing() {
    let mut c = cache(4, 10);
    let mut loads = 0;
    for _ in 0..3 {
        let v = c
            .get_or_load("k".into(), 0, |k| {
                loads += 1;
                Ok::<_, String>(k.len() as u32)
            })
            .unwrap();
        assert_eq!(*v, 1);
    }
    assert_eq!(loads, 1);
    assert_eq!(c.stats().hits, 2);
    assert_eq!(c.stats().misses, 1);
    let err = c.get_or_load("bad".into(), 0, |_| Err("disk on fire".to_string()));
    assert_eq!(err, Err("disk on fire".to_string()));
    assert_eq!(c.len(), 1);
}

#[derive(Debug, Clone)]
enum Op {
    Get(u8),
    Set(u8, u32),
    Tick(u8),
}

proptest! {
    /// The slab and links stay consistent with a naive model under any operation mix.
    #[test]
    fn behaves_like_a_naive_model(
        capacity in 1usize..6,
        ttl in 1u64..20,
        ops in proptest::collection::vec(prop_oneof![
            (0u8..8).prop_map(Op::Get),
            (0u8..8, any::<u32>()).prop_map(|(k, v)| Op::Set(k, v)),
            (0u8..8).prop_map(Op::Tick),
        ], 0..200),
    ) {
        let mut c: TtlCache<u8, u32> = TtlCache::new(NonZeroUsize::new(capacity).unwrap(), ttl);
        // Model: (key, value, expires_at, write order), oldest first.
        let mut model: Vec<(u8, u32, u64)> = Vec::new();
        let mut now = 0u64;
        for op in ops {
            match op {
                Op::Tick(t) => now += u64::from(t),
                Op::Get(k) => {
                    let expected = model.iter().position(|e| e.0 == k).and_then(|i| {
                        if model[i].2 > now { Some(model[i].1) } else { model.remove(i); None }
                    });
                    prop_assert_eq!(c.get(&k, now).copied(), expected);
                }
                Op::Set(k, v) => {
                    if let Some(i) = model.iter().position(|e| e.0 == k) {
                        model.remove(i);
                    } else if model.len() == capacity {
                        model.remove(0);
                    }
                    model.push((k, v, now + ttl));
                }
            }
            if let Op::Set(k, v) = op {
                c.set(k, v, now);
            }
            prop_assert_eq!(c.len(), model.len());
        }
    }
}
