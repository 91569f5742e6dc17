//! Free memory of NVIDIA GPUs, which OpenCL cannot report: NVML (libnvidia-ml.so.1, part of
//! the driver) loaded at run time through nvml-wrapper. Without it, None.

use std::sync::OnceLock;

use nvml_wrapper::Nvml;

static NVML: OnceLock<Option<Nvml>> = OnceLock::new();

/// Free bytes on the NVIDIA GPU at PCI bus `bus` (as OpenCL's CL_DEVICE_PCI_BUS_ID_NV says).
pub fn free_memory(bus: u32) -> Option<u64> {
    let nvml = NVML.get_or_init(|| Nvml::init().ok()).as_ref()?;
    (0..nvml.device_count().ok()?)
        .filter_map(|i| nvml.device_by_index(i).ok())
        .find(|d| d.pci_info().is_ok_and(|p| p.bus == bus))?
        .memory_info().ok().map(|m| m.free)
}
