//! Devices: discovery (`devices`), and one lazily created context + in-order queue per device
//! (`gpu`), shared by every thread. A lost device turns the GPUs off for the process (`disable`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use opencl3::command_queue::{CommandQueue, CL_QUEUE_PROFILING_ENABLE};
use opencl3::context::Context;
use opencl3::device::{Device, CL_DEVICE_TYPE_ACCELERATOR, CL_DEVICE_TYPE_ALL, CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_GPU};
use opencl3::platform;
use opencl3::types::cl_device_id;

use super::fail::{check, ClFail, FailKind};
use super::program::Programs;

/// What we know about one OpenCL device; `index` is its place in `devices().list`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub index: usize,
    pub platform: String,
    pub platform_version: String,
    pub name: String,
    pub vendor: String,
    /// "gpu", "cpu", "accelerator" or "other".
    pub kind: &'static str,
    pub driver_version: String,
    pub opencl_version: String,
    pub global_mem: u64,
    /// Free device memory at discovery where known (AMD's extension, NVML on NVIDIA); None
    /// elsewhere. `free_memory()` asks again.
    pub free_mem: Option<u64>,
    /// PCI bus of an NVIDIA device (to find it in NVML).
    pub nv_pci_bus: Option<u32>,
    pub max_alloc: u64,
    pub local_mem: u64,
    pub compute_units: u32,
    /// Most work-items in one work-group (kernels with larger groups are not offered).
    pub max_work_group: usize,
    pub clock_mhz: u32,
    pub fp64: bool,
    /// NVIDIA's compute capability (major, minor) when the driver reports it.
    pub nv_compute_capability: Option<(u32, u32)>,
    /// Why the device cannot be used at all; None when usable.
    pub unusable: Option<String>,
}

#[cfg(test)]
impl DeviceInfo {
    /// A Hopper-like NVIDIA device (H200: 141 GiB, 132 units, sm_90) for launch-plan tests.
    pub(crate) fn hopper(max_work_group: usize, local_mem: u64) -> Self {
        DeviceInfo {
            index: 0, platform: "NVIDIA CUDA".into(), platform_version: String::new(), name: "GPU".into(),
            vendor: "NVIDIA Corporation".into(), kind: "gpu", driver_version: String::new(), opencl_version: String::new(),
            global_mem: 141 << 30, free_mem: None, nv_pci_bus: None, max_alloc: 35 << 30, local_mem,
            compute_units: 132, max_work_group, clock_mhz: 1980, fp64: true, nv_compute_capability: Some((9, 0)),
            unusable: None,
        }
    }
}

impl DeviceInfo {
    pub fn is_nvidia(&self) -> bool {
        self.platform.contains("NVIDIA") || self.vendor.contains("NVIDIA")
    }
    /// A key that changes when the device or its driver changes (disk caches use it).
    pub fn key(&self) -> String {
        format!("{} | {} | {} | {}", self.platform, self.name, self.driver_version, self.opencl_version)
    }
}

/// The result of looking for OpenCL devices, with what to do when something is missing.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub list: Vec<DeviceInfo>,
    /// Why no OpenCL is available at all (loader missing, no driver registered).
    pub problem: Option<String>,
    /// Advice for devices that exist but are not visible (e.g. NVIDIA without its ICD file).
    pub hints: Vec<String>,
}

struct Raw(cl_device_id);
// SAFETY: an OpenCL device id is a handle valid for the whole process; the API is thread-safe.
unsafe impl Send for Raw {}
unsafe impl Sync for Raw {}

static FOUND: OnceLock<(Discovery, Vec<Raw>)> = OnceLock::new();

/// Every OpenCL device, found once per process.
pub fn devices() -> &'static Discovery {
    &FOUND.get_or_init(discover).0
}

fn discover() -> (Discovery, Vec<Raw>) {
    let mut found = Discovery::default();
    let mut ids = Vec::new();
    if !cl3::is_opencl_runtime_available() {
        found.problem = Some("libOpenCL.so.1 (the OpenCL ICD loader) is not installed: on Debian/Ubuntu run \
                              `apt install ocl-icd-libopencl1` plus a driver (`pocl-opencl-icd` for CPUs, the \
                              GPU vendor's OpenCL package for GPUs)".into());
        found.hints = icd_hints(&[]);
        return (found, ids);
    }
    let platforms = match platform::get_platforms() {
        Ok(p) => p,
        Err(e) => {
            found.problem = Some(format!("no OpenCL platform ({}): no OpenCL driver is registered in {}",
                                         super::fail::status_name(e.0), vendors_dir()));
            found.hints = icd_hints(&[]);
            return (found, ids);
        }
    };
    for p in &platforms {
        let pname = p.name().unwrap_or_default();
        let pversion = p.version().unwrap_or_default();
        for id in p.get_devices(CL_DEVICE_TYPE_ALL).unwrap_or_default() {
            let d = Device::new(id);
            found.list.push(describe(&d, ids.len(), &pname, &pversion));
            ids.push(Raw(id));
        }
    }
    let platform_names: Vec<String> = platforms.iter().map(|p| p.name().unwrap_or_default()).collect();
    found.hints = icd_hints(&platform_names);
    if found.list.is_empty() && found.problem.is_none() {
        found.problem = Some("OpenCL platforms exist but report no devices".into());
    }
    (found, ids)
}

fn describe(d: &Device, index: usize, platform: &str, platform_version: &str) -> DeviceInfo {
    let kind = match d.dev_type().unwrap_or(0) {
        t if t & CL_DEVICE_TYPE_GPU != 0 => "gpu",
        t if t & CL_DEVICE_TYPE_CPU != 0 => "cpu",
        t if t & CL_DEVICE_TYPE_ACCELERATOR != 0 => "accelerator",
        _ => "other",
    };
    let extensions = d.extensions().unwrap_or_default();
    let nv = (extensions.contains("cl_nv_device_attribute_query"))
        .then(|| Some((d.compute_capability_major_nv().ok()?, d.compute_capability_minor_nv().ok()?)))
        .flatten();
    let nv_pci_bus = extensions.contains("cl_nv_device_attribute_query").then(|| d.pci_bus_id_nv().ok()).flatten();
    let amd = extensions.contains("cl_amd_device_attribute_query");
    let free_mem = live_free(amd, nv_pci_bus, d);
    let version = d.version().unwrap_or_default();
    let unusable = if !d.available().unwrap_or(false) {
        Some("the driver reports the device as not available".to_string())
    } else if !d.compiler_available().unwrap_or(false) {
        Some("the driver has no OpenCL C compiler for it".to_string())
    } else if version.starts_with("OpenCL 1.0") || version.starts_with("OpenCL 1.1") {
        Some(format!("{version} is older than the OpenCL 1.2 the kernels need"))
    } else if platform.contains("Portable Computing Language") {
        pocl_cache_noexec()
    } else {
        None
    };
    DeviceInfo {
        index,
        platform: platform.to_string(),
        platform_version: platform_version.to_string(),
        name: d.name().unwrap_or_default().trim().to_string(),
        vendor: d.vendor().unwrap_or_default(),
        kind,
        driver_version: d.driver_version().unwrap_or_default(),
        opencl_version: version,
        global_mem: d.global_mem_size().unwrap_or(0),
        free_mem,
        max_alloc: d.max_mem_alloc_size().unwrap_or(0),
        local_mem: d.local_mem_size().unwrap_or(0),
        compute_units: d.max_compute_units().unwrap_or(0),
        max_work_group: d.max_work_group_size().unwrap_or(0),
        clock_mhz: d.max_clock_frequency().unwrap_or(0),
        fp64: d.double_fp_config().unwrap_or(0) != 0,
        nv_compute_capability: nv,
        nv_pci_bus,
        unusable,
    }
}

/// PoCL dlopen()s the kernels it compiles from its cache directory; on a noexec mount (Docker's
/// `--tmpfs` default) that fails inside PoCL and takes the whole process down. Such a device is
/// unusable, with the reason, instead of a crash on the first kernel.
fn pocl_cache_noexec() -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = env("POCL_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("pocl")))
        .or_else(|| env("HOME").map(|h| h.join(".cache/pocl")))?;
    let existing = dir.ancestors().find(|p| p.exists())?; // PoCL creates the rest
    let path = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes only into `st`, a plain C struct; `path` is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    (st.f_flag & libc::ST_NOEXEC != 0).then(|| {
        format!(
            "PoCL loads the kernels it compiles from {}, which is on a noexec mount (PoCL would crash the \
             process): mount it with exec, or set POCL_CACHE_DIR to a directory that allows it",
            dir.display()
        )
    })
}

fn live_free(amd: bool, nv_pci_bus: Option<u32>, d: &Device) -> Option<u64> {
    if amd {
        // AMD reports KiB (total free, largest free block): the first.
        return d.global_free_memory_amd().ok().map(|kib| kib as u64 * 1024);
    }
    nv_pci_bus.and_then(super::nvml::free_memory)
}

/// Free memory on `dev` now, where the driver or NVML can say.
pub fn free_memory(dev: &DeviceInfo) -> Option<u64> {
    let (_, ids) = FOUND.get_or_init(discover);
    let d = Device::new(ids.get(dev.index)?.0);
    live_free(d.extensions().unwrap_or_default().contains("cl_amd_device_attribute_query"), dev.nv_pci_bus, &d)
}

fn vendors_dir() -> String {
    std::env::var("OCL_ICD_VENDORS").unwrap_or_else(|_| "/etc/OpenCL/vendors".into())
}

/// Devices that are installed but invisible to OpenCL: today, an NVIDIA driver without its
/// ICD file (common in containers, where the driver is mounted but /etc/OpenCL is not).
fn icd_hints(platforms: &[String]) -> Vec<String> {
    let nvidia_driver = std::path::Path::new("/proc/driver/nvidia/version").exists()
        || std::path::Path::new("/dev/nvidiactl").exists();
    if !nvidia_driver || platforms.iter().any(|p| p.contains("NVIDIA")) {
        return vec![];
    }
    let dir = vendors_dir();
    let registered = std::fs::read_dir(&dir).into_iter().flatten().flatten()
        .any(|f| std::fs::read_to_string(f.path()).map(|s| s.contains("nvidia")).unwrap_or(false));
    let why = if registered {
        format!("an ICD file in {dir} names NVIDIA's library, but it did not load (is libnvidia-opencl.so.1 on the library path?)")
    } else {
        format!("no file in {dir} registers it")
    };
    vec![format!(
        "An NVIDIA driver is installed but OpenCL does not see the GPU: {why}. Fix (as root): \
         `mkdir -p {dir} && echo libnvidia-opencl.so.1 > {dir}/nvidia.icd`; in a container, \
         also run it with the GPU's `compute` capability (NVIDIA_DRIVER_CAPABILITIES=compute,utility)."
    )]
}

// ---- process-wide switch ----

static DISABLED: AtomicBool = AtomicBool::new(false);
static DISABLED_WHY: Mutex<Option<String>> = Mutex::new(None);

/// Turn the GPUs off for this process (after a lost device). Returns true the first time, so
/// the caller warns once.
pub fn disable(why: &str) -> bool {
    let first = !DISABLED.swap(true, Ordering::SeqCst);
    if first {
        *DISABLED_WHY.lock().unwrap() = Some(why.to_string());
        log::warn!(target: "lapack_ai", "OpenCL devices disabled for this process: {why}");
    }
    first
}

/// None while devices may be used; the reason they were turned off otherwise.
pub fn enabled() -> Result<(), String> {
    if DISABLED.load(Ordering::SeqCst) {
        Err(DISABLED_WHY.lock().unwrap().clone().unwrap_or_default())
    } else {
        Ok(())
    }
}

/// Undo `disable` (tests only: a real lost device does not come back).
pub fn reenable() {
    DISABLED.store(false, Ordering::SeqCst);
    *DISABLED_WHY.lock().unwrap() = None;
}

// ---- per-device runtime ----

/// One device's context, queue and compiled programs, created on first use.
pub struct Gpu {
    /// Pinned staging for copies (first: released before the queue and context).
    pub staging: super::staging::Shared,
    pub info: DeviceInfo,
    pub device: Device,
    pub context: Context,
    pub queue: CommandQueue,
    pub programs: Programs,
}

impl Drop for Gpu {
    fn drop(&mut self) {
        // The pinned chunks are unmapped while the queue still exists.
        super::staging::release(self);
    }
}

static GPUS: Mutex<Option<HashMap<usize, Arc<Gpu>>>> = Mutex::new(None);

/// The runtime for device `index`, created on first use (thread-safe: one per device).
pub fn gpu(index: usize) -> Result<Arc<Gpu>, ClFail> {
    let mut map = GPUS.lock().unwrap();
    let map = map.get_or_insert_with(HashMap::new);
    if let Some(g) = map.get(&index) {
        return Ok(g.clone());
    }
    let (found, ids) = FOUND.get_or_init(discover);
    let info = found.list.get(index).cloned()
        .ok_or_else(|| ClFail { kind: FailKind::Other, code: 0, what: format!("no OpenCL device {index}") })?;
    let device = Device::new(ids[index].0);
    let context = check(Context::from_device(&device), "creating the OpenCL context")?;
    // SAFETY: the device belongs to the context just created from it.
    let queue = check(unsafe { CommandQueue::create(&context, device.id(), CL_QUEUE_PROFILING_ENABLE) },
                      "creating the command queue")?;
    log::info!(target: "lapack_ai", "OpenCL device {index} ready: {} ({})", info.name, info.platform);
    let g = Arc::new(Gpu { staging: Default::default(), programs: Programs::new(&info), info, device, context, queue });
    map.insert(index, g.clone());
    Ok(g)
}

/// Forget every runtime (tests: after a simulated lost device the next use starts afresh).
pub fn forget() {
    *GPUS.lock().unwrap() = None;
}
