//! What can go wrong on a device, sorted by what the caller should do about it, and the
//! fault-injection switch that lets tests drive each path on any OpenCL driver (PoCL in CI).

use std::sync::Mutex;

/// How a device failure is handled: every class falls back to the CPU; `Lost` also turns
/// the GPUs off for the rest of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// Allocation or launch ran out of device memory or resources.
    OutOfMemory,
    /// A kernel did not compile (its build log is logged).
    Build,
    /// The device or its context stopped working.
    Lost,
    /// Any other OpenCL status.
    Other,
}

impl FailKind {
    pub fn name(self) -> &'static str {
        match self {
            FailKind::OutOfMemory => "out-of-memory",
            FailKind::Build => "build",
            FailKind::Lost => "device-lost",
            FailKind::Other => "opencl-error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClFail {
    pub kind: FailKind,
    /// The OpenCL status (negative), or 0 when not from a status.
    pub code: i32,
    /// What was being done, in words.
    pub what: String,
}

impl std::fmt::Display for ClFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.code != 0 {
            write!(f, "{} ({}: {})", self.what, self.code, status_name(self.code))
        } else {
            write!(f, "{}", self.what)
        }
    }
}

/// Classify an OpenCL status returned while doing `what`.
pub fn classify(code: i32, what: impl Into<String>) -> ClFail {
    let kind = match code {
        -4 | -5 | -6 | -61 => FailKind::OutOfMemory,
        -3 | -11 | -17 | -42 | -43 => FailKind::Build,
        // Device/context/queue gone, or NVIDIA's catch-all after a device fault (-9999).
        -1 | -2 | -14 | -33 | -34 | -36 | -9999 => FailKind::Lost,
        _ => FailKind::Other,
    };
    ClFail { kind, code, what: what.into() }
}

/// Check an opencl3 result, classifying its status.
pub fn check<T>(r: Result<T, opencl3::error_codes::ClError>, what: &str) -> Result<T, ClFail> {
    r.map_err(|e| classify(e.0, what))
}

pub fn status_name(code: i32) -> &'static str {
    match code {
        -1 => "CL_DEVICE_NOT_FOUND",
        -2 => "CL_DEVICE_NOT_AVAILABLE",
        -3 => "CL_COMPILER_NOT_AVAILABLE",
        -4 => "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5 => "CL_OUT_OF_RESOURCES",
        -6 => "CL_OUT_OF_HOST_MEMORY",
        -11 => "CL_BUILD_PROGRAM_FAILURE",
        -14 => "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
        -30 => "CL_INVALID_VALUE",
        -33 => "CL_INVALID_DEVICE",
        -34 => "CL_INVALID_CONTEXT",
        -36 => "CL_INVALID_COMMAND_QUEUE",
        -42 => "CL_INVALID_BINARY",
        -54 => "CL_INVALID_WORK_GROUP_SIZE",
        -61 => "CL_INVALID_BUFFER_SIZE",
        -1001 => "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver registered)",
        -2000..=-1999 => "libOpenCL could not be loaded",
        _ => "OpenCL error",
    }
}

/// Faults the tests can force; each is raised at the point where the real failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Device allocations fail with CL_MEM_OBJECT_ALLOCATION_FAILURE.
    Alloc,
    /// Kernel launches fail with CL_OUT_OF_RESOURCES.
    Launch,
    /// Kernel sources get an `#error`, so the driver's real compiler fails and logs why.
    Build,
    /// Launches fail as if the device vanished (CL_INVALID_COMMAND_QUEUE).
    Lost,
}

static FAULT: Mutex<Option<Fault>> = Mutex::new(None);

/// Set (or clear with None) the injected fault; it stays until changed.
pub fn inject(f: Option<Fault>) {
    *FAULT.lock().unwrap() = f;
}

pub fn injected() -> Option<Fault> {
    *FAULT.lock().unwrap()
}

/// The injected launch-time faults: Err as launching `what` would fail (out of resources, or
/// the device lost), Ok when none is injected.
pub fn launch_fault(what: &str) -> Result<(), ClFail> {
    match injected() {
        Some(Fault::Launch) => Err(classify(-5, format!("launching the {what} (injected fault)"))),
        Some(Fault::Lost) => Err(classify(-36, format!("launching the {what} (injected fault)"))),
        _ => Ok(()),
    }
}

pub fn parse_fault(s: &str) -> Option<Fault> {
    match s {
        "alloc" => Some(Fault::Alloc),
        "launch" => Some(Fault::Launch),
        "build" => Some(Fault::Build),
        "lost" => Some(Fault::Lost),
        _ => None,
    }
}

/// A core error met during a device run (staging, shapes): host memory runs out like device
/// memory (the CPU takes over); anything else is an ordinary failure.
impl From<crate::error::CoreError> for ClFail {
    fn from(e: crate::error::CoreError) -> Self {
        let code = if matches!(e, crate::error::CoreError::Memory { .. }) { -6 } else { 0 };
        classify(code, e.to_string())
    }
}
