//! Starting helper threads on CPUs of their own.
//!
//! A kernel may place a new thread on its parent's CPU and leave it queued there while the
//! parent runs, until a periodic balance moves one of them: VM kernels that pack work onto
//! few virtual CPUs do (`kernel.sched_vcpu_pack`), at least when the other virtual CPUs
//! have been idle for a while, as they are when a command starts. On the 2-vCPU VMs this
//! planner is measured on, a helper started for 2 ms of work began only after its
//! parent's 2 ms in 19 and 20 of 20 tries, so "two threads" ran one after the other.
//!
//! So after starting a helper the calling thread waits a moment ([`START_WAIT`]) for it
//! to report that it runs. A helper that runs elsewhere is left alone. A helper that has
//! not started is queued behind the calling thread, which then steps aside: it restricts
//! itself to another allowed CPU (the kernel moves it there at once) and leaves the
//! helper the CPU it was queued on. Stepping aside unconditionally is worse where the
//! kernel did place the helper elsewhere: the calling thread then lands on the helper's
//! CPU and waits there (6.5 ms per plan in a loop against 4.3 ms without it).
//!
//! Once every helper is started, the calling thread takes back the CPUs it was allowed,
//! and each helper takes them back as it starts (a helper inherits the mask its parent had
//! when it was created), so the kernel stays free to balance them later. Where the mask
//! cannot be read or one CPU is allowed, nothing moves.
//!
//! The masks are read and written with the `sched_getaffinity` and `sched_setaffinity`
//! system calls on the calling thread (id 0), on 1024 CPUs' worth of bits.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the calling thread waits for a helper to start before stepping aside. A
/// helper placed on an idle CPU of these VMs started within about 40 µs of being created.
pub(super) const START_WAIT: Duration = Duration::from_micros(100);

/// Bits for 1024 CPUs, as the kernel reads and writes an affinity mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CpuMask([u64; 16]);

impl CpuMask {
    fn only(cpu: usize) -> CpuMask {
        let mut bits = [0; 16];
        bits[cpu / 64] = 1 << (cpu % 64);
        CpuMask(bits)
    }

    /// The CPUs set, in ascending order.
    fn cpus(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.0.len() * 64).filter(|&cpu| self.0[cpu / 64] & (1 << (cpu % 64)) != 0)
    }

    /// The CPUs the calling thread may run on.
    fn of_this_thread() -> io::Result<CpuMask> {
        let mut bits = [0u64; 16];
        // SAFETY: `bits` is writable for the size passed; the kernel writes at most that
        // many bytes of the mask of thread 0, the calling thread.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_sched_getaffinity,
                0,
                std::mem::size_of_val(&bits),
                bits.as_mut_ptr(),
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(CpuMask(bits))
    }

    /// Restricts the calling thread to these CPUs.
    fn apply_to_this_thread(&self) -> io::Result<()> {
        // SAFETY: the kernel reads the size passed from `self.0`, which holds that many
        // bytes; thread 0 is the calling thread.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_sched_setaffinity,
                0,
                std::mem::size_of_val(&self.0),
                self.0.as_ptr(),
            )
        };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// The CPU the calling thread is running on, where the C library can tell.
fn current_cpu() -> Option<usize> {
    // SAFETY: `sched_getcpu` takes no arguments and only reads the running CPU's number.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// The calling thread's side of starting helpers: see the module docs.
pub(super) struct Spread {
    /// The calling thread's CPUs before it stepped aside; `None` when nothing moves.
    original: Option<CpuMask>,
    /// The CPUs to step aside to, in turn: every allowed one but the starting one.
    others: Vec<usize>,
    steps: usize,
}

impl Spread {
    /// Reads the calling thread's CPUs before helpers are started.
    pub fn begin() -> Spread {
        let original = CpuMask::of_this_thread().ok();
        let here = current_cpu();
        let others: Vec<usize> = original
            .iter()
            .flat_map(CpuMask::cpus)
            .filter(|&cpu| Some(cpu) != here)
            .collect();
        let original = original.filter(|_| here.is_some() && !others.is_empty());
        Spread {
            original,
            others,
            steps: 0,
        }
    }

    /// The mask a helper takes back as it starts (`None`: leave it as inherited).
    pub fn helper_mask(&self) -> Option<CpuMask> {
        self.original
    }

    /// Called right after starting a helper, which sets `started` as it starts: waits up
    /// to [`START_WAIT`] for it, and steps aside to the next other CPU if it has not
    /// started, so it gets the CPU it is queued on. Best effort: a refusal leaves the
    /// thread where it is.
    pub fn place(&mut self, started: &AtomicBool) {
        if self.original.is_none() {
            return;
        }
        let deadline = Instant::now() + START_WAIT;
        while !started.load(Ordering::Acquire) {
            if Instant::now() >= deadline {
                let cpu = self.others[self.steps % self.others.len()];
                self.steps += 1;
                let _ = CpuMask::only(cpu).apply_to_this_thread();
                return;
            }
            std::hint::spin_loop();
        }
    }
}

/// Called by a helper as it starts: says so, and takes back the CPUs of the thread that
/// started it.
pub(super) fn settle(started: &AtomicBool, mask: Option<CpuMask>) {
    started.store(true, Ordering::Release);
    if let Some(mask) = mask {
        let _ = mask.apply_to_this_thread();
    }
}

impl Drop for Spread {
    /// The calling thread takes back its CPUs.
    fn drop(&mut self) {
        if let Some(mask) = self.original.filter(|_| self.steps > 0) {
            let _ = mask.apply_to_this_thread();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_list_their_cpus_and_the_thread_gets_its_own_back() {
        assert_eq!(CpuMask::only(3).cpus().collect::<Vec<_>>(), [3]);
        assert_eq!(CpuMask::only(130).cpus().collect::<Vec<_>>(), [130]);
        std::thread::spawn(|| {
            let before = CpuMask::of_this_thread().unwrap();
            assert!(before.cpus().count() >= 1);
            let mut spread = Spread::begin();
            let started = AtomicBool::new(true);
            spread.place(&started);
            assert_eq!(spread.steps, 0, "a helper that started is left alone");
            let queued = AtomicBool::new(false);
            spread.place(&queued);
            spread.place(&queued);
            if spread.helper_mask().is_some() {
                let now = CpuMask::of_this_thread().unwrap();
                assert_eq!(now.cpus().count(), 1, "stepped aside to one CPU");
                assert!(before.cpus().any(|c| now.cpus().any(|n| n == c)));
            }
            drop(spread);
            assert_eq!(CpuMask::of_this_thread().unwrap(), before);
        })
        .join()
        .unwrap();
    }
}
