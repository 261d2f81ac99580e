//! CPU time of this process and of its waited-for children, from `/proc/self/stat`.
//!
//! Wall-clock shares are distorted on a busy machine; CPU seconds are not, so the run
//! records both to show the harness's own overhead honestly. Linux reports these fields in
//! USER_HZ ticks, which the kernel ABI fixes at 100 per second.

/// Seconds of CPU (user + system).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTimes {
    /// This process, all threads.
    pub own_s: f64,
    /// Children that have been waited for.
    pub children_s: f64,
}

const TICKS_PER_SECOND: f64 = 100.0;

/// Now, or `None` where `/proc` cannot be read.
pub fn now() -> Option<CpuTimes> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// CPU time of the calling thread, in nanoseconds: `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`,
/// fine-grained where `/proc/self/stat` counts 10 ms ticks. (The process-wide clock is no
/// use for short threaded runs: a joined thread's time is added to it only after the join
/// may already have returned.) `None` if the clock cannot be read.
pub fn thread_ns() -> Option<u64> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    (rc == 0).then(|| time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64)
}

/// Fields 14-17 (utime, stime, cutime, cstime) of a `/proc/<pid>/stat` line. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_stat(line: &str) -> Option<CpuTimes> {
    let after_name = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): field n is fields[n - 3].
    let tick = |n: usize| -> Option<f64> { Some(fields.get(n - 3)?.parse::<u64>().ok()? as f64) };
    Some(CpuTimes {
        own_s: (tick(14)? + tick(15)?) / TICKS_PER_SECOND,
        children_s: (tick(16)? + tick(17)?) / TICKS_PER_SECOND,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_and_children_ticks_after_an_awkward_name() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 1000 200 20 0 3 0 1 2 3";
        let t = parse_stat(line).unwrap();
        assert_eq!(t.own_s, 3.0);
        assert_eq!(t.children_s, 12.0);
        assert!(parse_stat("garbage").is_none());
        assert!(now().is_some());
    }

    #[test]
    fn thread_cpu_time_counts_this_thread_only() {
        // Spins until the thread's own clock has advanced `ns` (bounded, so a clock that
        // never moves fails instead of hanging); on a loaded machine that takes longer, not
        // less.
        fn spin(ns: u64) -> bool {
            let (start, wall) = (thread_ns().unwrap(), std::time::Instant::now());
            while thread_ns().unwrap() - start < ns {
                if wall.elapsed() > std::time::Duration::from_secs(30) {
                    return false;
                }
                std::hint::black_box(0u64);
            }
            true
        }
        assert!(spin(5_000_000), "the thread clock did not advance");
        // Waiting for another thread's 20 ms of work costs this thread far less.
        let before = thread_ns().unwrap();
        std::thread::scope(|s| {
            s.spawn(|| assert!(spin(20_000_000)));
        });
        assert!(thread_ns().unwrap() - before < 20_000_000);
    }
}
