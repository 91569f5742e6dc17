//! Compiled programs, cached per device and build options: in memory for the process, and on
//! disk (keyed by device, driver version, options and source hash) so a new process loads the
//! binary instead of recompiling. A failed build is remembered and its log is logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opencl3::context::Context;
use opencl3::program::Program;
use opencl3::types::cl_device_id;

use super::fail::{check, classify, ClFail, FailKind, Fault};
use super::runtime::DeviceInfo;
use crate::cache;

/// A built program. OpenCL programs may be used from several threads (only kernel arguments
/// are not thread-safe, and each call creates its own kernel object).
pub struct Built(pub Program);
// SAFETY: see above; clCreateKernel on one program from several threads is allowed.
unsafe impl Sync for Built {}

pub struct Programs {
    device_key: String,
    built: Mutex<HashMap<u64, Result<Arc<Built>, ClFail>>>,
    /// `file`'s programs by file name and options (successes only).
    named: Mutex<HashMap<String, Arc<Built>>>,
}

impl Programs {
    pub fn new(info: &DeviceInfo) -> Self {
        Programs { device_key: info.key(), built: Mutex::new(HashMap::new()), named: Mutex::new(HashMap::new()) }
    }

    /// The program of kernel file `name` (`source`) built with `options`, remembered by name
    /// and options: making and hashing the text on every call cost about 90 us of host time on
    /// the GPU machine, as much as a small product's kernels. (`LAPACK_AI_KERNEL_DIR`'s files
    /// are therefore read once per process and options.)
    pub fn file(&self, context: &Context, device: cl_device_id, name: &str, options: &str) -> Result<Arc<Built>, ClFail> {
        if super::fail::injected().is_some() {
            return self.get(context, device, &[&source(name)], options);
        }
        let key = format!("{name}\0{options}");
        if let Some(p) = self.named.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        // Only successes: a fault injected by another thread meanwhile must not stick to the
        // clean key (`get` remembers failures under its own, content-derived, key).
        let p = self.get(context, device, &[&source(name)], options)?;
        self.named.lock().unwrap().insert(key, p.clone());
        Ok(p)
    }

    /// The program made of `sources` (concatenated in order, headers first) built with
    /// `options`, from memory, disk, or the compiler.
    pub fn get(&self, context: &Context, device: cl_device_id, sources: &[&str], options: &str) -> Result<Arc<Built>, ClFail> {
        let mut sources: Vec<&str> = sources.to_vec();
        if super::fail::injected() == Some(Fault::Build) {
            sources.push("\nlapack_ai_injected_build_fault x;\n");
        }
        let mut parts: Vec<&[u8]> = vec![self.device_key.as_bytes(), options.as_bytes()];
        parts.extend(sources.iter().map(|s| s.as_bytes()));
        let key = cache::fnv1a(&parts);
        let mut built = self.built.lock().unwrap();
        if let Some(r) = built.get(&key) {
            return r.clone();
        }
        let r = self.load_or_build(context, device, &sources, options, key).map(Arc::new);
        built.insert(key, r.clone());
        r
    }

    fn load_or_build(&self, context: &Context, device: cl_device_id, sources: &[&str], options: &str, key: u64) -> Result<Built, ClFail> {
        let path = cache::dir().join("kernels").join(format!("{key:016x}.bin"));
        if let Ok(bin) = std::fs::read(&path) {
            // SAFETY: `device` belongs to `context`.
            let loaded = unsafe { Program::create_from_binary(context, &[device], &[&bin]) };
            if let Ok(mut p) = loaded {
                if p.build(&[device], options).is_ok() {
                    log::debug!(target: "lapack_ai", "kernel binary loaded from {}", path.display());
                    return Ok(Built(p));
                }
            }
            log::info!(target: "lapack_ai", "stale kernel binary {} ignored; recompiling", path.display());
        }
        // One string: opencl3 0.12's create_from_sources crashed here with two (seen on PoCL).
        let text = sources.concat();
        let mut p = check(Program::create_from_source(context, &text), "creating the program")?;
        if let Err(e) = p.build(&[device], options) {
            let log = p.get_build_log(device).unwrap_or_default();
            log::warn!(target: "lapack_ai", "OpenCL kernel build failed (options {options:?}):\n{log}");
            let mut fail = classify(e.0, format!("building kernels: {}", first_error(&log)));
            fail.kind = FailKind::Build;
            return Err(fail);
        }
        // Warnings, or register and spill counts under `-cl-nv-verbose` (tile sweeps).
        if let Ok(log) = p.get_build_log(device) {
            if !log.trim().is_empty() {
                log::debug!(target: "lapack_ai", "OpenCL kernel build log (options {options:?}):\n{log}");
            }
        }
        match p.get_binaries() {
            Ok(bins) if bins.first().is_some_and(|b| !b.is_empty()) => {
                if let Err(e) = cache::write_atomic(&path, &bins[0]) {
                    log::debug!(target: "lapack_ai", "kernel cache not written to {}: {e}", path.display());
                }
            }
            _ => {}
        }
        Ok(Built(p))
    }
}

/// The first line of a build log that says "error", for short messages.
fn first_error(log: &str) -> String {
    log.lines().find(|l| l.contains("error")).unwrap_or("see the log").trim().chars().take(200).collect()
}

/// Kernel sources under `kernels/`, embedded at build time.
const SOURCES: &[(&str, &str)] = &[
    ("common.h", include_str!("../../../../kernels/common.h")),
    ("tile.h", include_str!("../../../../kernels/tile.h")),
    ("schedule.h", include_str!("../../../../kernels/schedule.h")),
    ("gemm.cl", include_str!("../../../../kernels/gemm.cl")),
    ("gemm_dmma.cl", include_str!("../../../../kernels/gemm_dmma.cl")),
    ("gemm_small.cl", include_str!("../../../../kernels/gemm_small.cl")),
    ("svd_small.cl", include_str!("../../../../kernels/svd_small.cl")),
    ("svd_tall.cl", include_str!("../../../../kernels/svd_tall.cl")),
];

/// The source of kernel file `name` with its `#include "..."` lines replaced by the embedded
/// headers (the driver's compiler never sees a file system path).
/// Tuning knob: `LAPACK_AI_KERNEL_DIR` reads the files found there instead of the embedded
/// ones, to try kernel changes on a machine without a Rust toolchain (docs/gpu.md).
pub fn source(name: &str) -> String {
    let file = std::env::var_os("LAPACK_AI_KERNEL_DIR").and_then(|d| std::fs::read_to_string(std::path::Path::new(&d).join(name)).ok());
    let text = file.as_deref().or_else(|| SOURCES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s))
        .unwrap_or_else(|| panic!("no embedded kernel source {name}"));
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        match line.trim().strip_prefix("#include \"").and_then(|r| r.strip_suffix('"')) {
            Some(header) => out.push_str(&source(header)),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}
