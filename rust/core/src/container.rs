//! Container facts from the cgroup (v1 and v2): memory limit and usage, CPU quota.
//!
//! Used to size host buffers (the GPU path stages copies on the host) and thread counts, so a
//! process in a 2-CPU, 4 GiB container does not act as if it owned the whole machine.

use std::fs;
use std::path::{Path, PathBuf};
use std::cell::Cell;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cgroup {
    /// 1 or 2; None outside any cgroup we can read.
    pub version: Option<u8>,
    /// Memory limit in bytes; None when unlimited.
    pub memory_limit: Option<u64>,
    pub memory_usage: Option<u64>,
    /// CPU quota in CPUs (quota / period); None when unlimited.
    pub cpu_quota: Option<f64>,
}

impl Cgroup {
    /// Bytes this process may still allocate before the cgroup's limit; None when unlimited.
    pub fn memory_available(&self) -> Option<u64> {
        self.memory_limit.map(|l| l.saturating_sub(self.memory_usage.unwrap_or(0)))
    }
}

/// Read the cgroup of this process under `root` (normally `/sys/fs/cgroup`).
pub fn read_at(root: &Path) -> Cgroup {
    let num = |p: &Path| fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<u64>().ok());
    if root.join("cgroup.controllers").exists() {
        // v2: "max" means unlimited; cpu.max is "<quota|max> <period>".
        let cpu_quota = fs::read_to_string(root.join("cpu.max")).ok().and_then(|s| {
            let mut it = s.split_whitespace();
            let (q, p) = (it.next()?.parse::<f64>().ok()?, it.next()?.parse::<f64>().ok()?);
            (p > 0.0).then_some(q / p)
        });
        return Cgroup {
            version: Some(2),
            memory_limit: num(&root.join("memory.max")),
            memory_usage: num(&root.join("memory.current")),
            cpu_quota,
        };
    }
    let mem = root.join("memory");
    let cpu = root.join("cpu");
    if mem.exists() || cpu.exists() {
        // v1: an "unlimited" memory limit is a huge number (page-rounded i64::MAX); quota -1.
        let limit = num(&mem.join("memory.limit_in_bytes")).filter(|&l| l < (1u64 << 60));
        let quota = fs::read_to_string(cpu.join("cpu.cfs_quota_us")).ok().and_then(|s| s.trim().parse::<i64>().ok());
        let period = num(&cpu.join("cpu.cfs_period_us"));
        let cpu_quota = match (quota, period) {
            (Some(q), Some(p)) if q > 0 && p > 0 => Some(q as f64 / p as f64),
            _ => None,
        };
        return Cgroup { version: Some(1), memory_limit: limit, memory_usage: num(&mem.join("memory.usage_in_bytes")), cpu_quota };
    }
    Cgroup::default()
}

fn root() -> PathBuf {
    std::env::var("LAPACK_AI_CGROUP_ROOT").unwrap_or_else(|_| "/sys/fs/cgroup".into()).into()
}

/// This process's cgroup (read fresh: usage changes).
pub fn current() -> Cgroup {
    read_at(&root())
}

/// The cgroup's memory usage in bytes, read at most every 100 ms per thread: metrics take it
/// with every call, it moves slowly, and a read costs microseconds.
pub fn memory_usage_cached() -> Option<u64> {
    memory_usage_at(Instant::now())
}

/// `memory_usage_cached` for a caller that has just read the clock.
pub fn memory_usage_at(now: Instant) -> Option<u64> {
    thread_local! {
        static CACHE: Cell<Option<(Instant, Option<u64>)>> = const { Cell::new(None) };
    }
    CACHE.with(|c| match c.get() {
        Some((at, v)) if now.saturating_duration_since(at) < Duration::from_millis(100) => v,
        _ => {
            let v = current().memory_usage;
            c.set(Some((now, v)));
            v
        }
    })
}

/// CPUs this process may use: the machine's, capped by the cgroup quota (rounded up).
pub fn cpus() -> usize {
    let machine = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    match current().cpu_quota {
        Some(q) => machine.min(q.ceil().max(1.0) as usize),
        None => machine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("lapack_ai_cg_{}_{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (p, s) in files {
            let f = dir.join(p);
            fs::create_dir_all(f.parent().unwrap()).unwrap();
            fs::write(f, s).unwrap();
        }
        dir
    }

    #[test]
    fn v2_limits_and_unlimited() {
        let d = tree(&[("cgroup.controllers", "cpu memory"), ("memory.max", "4294967296\n"),
                       ("memory.current", "1073741824\n"), ("cpu.max", "150000 100000\n")]);
        let c = read_at(&d);
        assert_eq!(c, Cgroup { version: Some(2), memory_limit: Some(4 << 30), memory_usage: Some(1 << 30), cpu_quota: Some(1.5) });
        assert_eq!(c.memory_available(), Some(3 << 30));
        let d = tree(&[("cgroup.controllers", "cpu memory io"), ("memory.max", "max\n"), ("cpu.max", "max 100000\n")]);
        let c = read_at(&d);
        assert_eq!((c.memory_limit, c.cpu_quota), (None, None));
    }

    #[test]
    fn v1_limits_and_unlimited() {
        let d = tree(&[("memory/memory.limit_in_bytes", "2147483648"), ("memory/memory.usage_in_bytes", "100"),
                       ("cpu/cpu.cfs_quota_us", "200000"), ("cpu/cpu.cfs_period_us", "100000")]);
        assert_eq!(read_at(&d), Cgroup { version: Some(1), memory_limit: Some(2 << 30), memory_usage: Some(100), cpu_quota: Some(2.0) });
        let d = tree(&[("memory/memory.limit_in_bytes", "9223372036854771712"), ("cpu/cpu.cfs_quota_us", "-1"),
                       ("cpu/cpu.cfs_period_us", "100000")]);
        let c = read_at(&d);
        assert_eq!((c.version, c.memory_limit, c.cpu_quota), (Some(1), None, None));
    }
}
