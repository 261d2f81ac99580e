//! Exact heap allocation counts of a piece of code, on the thread that runs it.
//!
//! benchseal's global allocator forwards every call to the system allocator (`malloc`,
//! `free`, `realloc` of the C library) unchanged and counts, per thread, the allocations
//! and the bytes asked for: `alloc`, `alloc_zeroed` and a `realloc` each count one
//! allocation of the size requested (a `realloc` that grows a buffer in place still asked
//! the allocator for memory, as Go's `allocs/op` counts it). Counts are kept in a
//! thread-local cell, so what [`counted`] reports is exactly what its closure allocated on
//! the calling thread, whatever other threads do meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Allocations and the bytes they asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allocs {
    pub count: u64,
    pub bytes: u64,
}

thread_local! {
    // A `const` cell of a `Copy` value: reading it never allocates and has no destructor,
    // which the allocator below relies on.
    static COUNTS: Cell<Allocs> = const { Cell::new(Allocs { count: 0, bytes: 0 }) };
}

fn note(bytes: usize) {
    // `try_with`: during a thread's teardown the cell may be gone; that allocation is
    // not counted (no measured closure runs then).
    let _ = COUNTS.try_with(|cell| {
        let mut counts = cell.get();
        counts.count += 1;
        counts.bytes += bytes as u64;
        cell.set(counts);
    });
}

/// The system allocator, counting.
pub struct Counting;

// SAFETY: every method forwards its arguments unchanged to `System` (the C library's
// allocator), so `Counting` upholds `GlobalAlloc`'s contract exactly as `System` does;
// counting touches only a thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's `layout` is passed on under the same contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` came from `System` through this allocator, with this `layout`;
        // `new_size` is the caller's, under the same contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with what it allocated on this thread.
pub fn counted<T>(f: impl FnOnce() -> T) -> (T, Allocs) {
    let before = COUNTS.with(Cell::get);
    let out = f();
    let after = COUNTS.with(Cell::get);
    (
        out,
        Allocs {
            count: after.count - before.count,
            bytes: after.bytes - before.bytes,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_exactly_what_the_closure_allocates_on_its_thread() {
        let (v, allocs) = counted(|| {
            let mut v: Vec<u64> = Vec::with_capacity(4);
            v.extend([1, 2, 3, 4]);
            drop(std::hint::black_box(Box::new([0u8; 100])));
            v
        });
        assert_eq!(
            allocs,
            Allocs {
                count: 2,
                bytes: 32 + 100
            }
        );
        // A growth is a reallocation of the new size.
        let (_, grown) = counted(|| {
            let mut v = v;
            v.reserve_exact(4);
            v
        });
        assert_eq!(
            grown,
            Allocs {
                count: 1,
                bytes: 64
            }
        );
        let (_, none) = counted(|| (1..10u64).sum::<u64>());
        assert_eq!(none, Allocs::default());
        // Another thread's allocations are its own.
        let (_, here) = counted(|| {
            std::thread::scope(|s| {
                s.spawn(|| vec![0u8; 1 << 20]);
            })
        });
        assert!(here.bytes < 1 << 20, "{here:?}");
    }
}
