//! The BLAS/LAPACK library, found and bound at run time.
//!
//! lapack_ai runs on an ILP64 OpenBLAS (64-bit integers, so no dimension, leading dimension or
//! workspace size can wrap): the build NumPy and SciPy ship as `scipy-openblas64`. When NumPy
//! has already loaded one (NumPy 2 wheels do) and it is recent enough, the core binds that very
//! copy: one library and one thread pool in the process, governed for both by
//! `OPENBLAS_NUM_THREADS` and `threadpoolctl`. Otherwise it loads the `scipy-openblas64`
//! package lapack_ai depends on. `LAPACK_AI_OPENBLAS` overrides the choice: `numpy`,
//! `package`, or the path of a library.
//!
//! Each routine is declared once below with its C signature (Fortran convention: every
//! argument by pointer, the hidden lengths of character arguments last) and bound for the
//! four types (f32, f64, c32, c64): in `Fns` where the signature is the same for all, in
//! `RealFns`/`ComplexFns` where the complex routine takes other arguments. Callers go through
//! `crate::lapack` and `crate::routines::gemm`, which check every argument first, so LAPACK's argument checker (xerbla) is a second net: where the
//! library lets us, its report is caught and becomes an error instead of a line on stderr.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

use crate::error::{CoreError, Result};
use crate::scalar::{C32, C64};

/// BLAS/LAPACK's integer: 64-bit (ILP64).
pub type Int = i64;
/// Hidden length of a Fortran character argument (gfortran: `size_t`, after all arguments).
type Len = usize;
type Ch = *const u8;
type I = *const Int;

/// The oldest OpenBLAS accepted: 0.3.28 threads its LAPACK paths well and knows current CPUs.
pub const MIN_VERSION: (u32, u32, u32) = (0, 3, 28);

macro_rules! routines {
    ($(#[$doc:meta])* $fam:ident<$($g:ident),*> { $($name:ident $(= $sym:literal)? ($($ty:ty),*);)* }) => {
        $(#[$doc])*
        pub struct $fam<$($g),*> { $(pub $name: unsafe extern "C" fn($($ty),*),)* }
        impl<$($g),*> $fam<$($g),*> {
            fn bind(lib: &Opened, letter: char) -> std::result::Result<Self, String> {
                Ok($fam { $($name: lib.sym(&lib.scheme.routine(letter, routines!(@sym $name $($sym)?)))?,)* })
            }
        }
    };
    (@sym $name:ident) => { stringify!($name) };
    (@sym $name:ident $sym:literal) => { $sym };
}

// `T` is the element type (f32, f64, c32, c64), `R` its real type.
routines! {
    /// Routines with one signature for all four types.
    Fns<T> {
        gemm(Ch, Ch, I, I, I, *const T, *const T, I, *const T, I, *const T, *mut T, I, Len, Len);
        getrf(I, I, *mut T, I, *mut Int, *mut Int);
        getrs(Ch, I, I, *const T, I, *const Int, *mut T, I, *mut Int, Len);
        getri(I, *mut T, I, *const Int, *mut T, I, *mut Int);
        potrf(Ch, I, *mut T, I, *mut Int, Len);
        potrs(Ch, I, I, *const T, I, *mut T, I, *mut Int, Len);
        sytrf(Ch, I, *mut T, I, *mut Int, *mut T, I, *mut Int, Len);
        sytrs(Ch, I, I, *const T, I, *const Int, *mut T, I, *mut Int, Len);
        geqrf(I, I, *mut T, I, *mut T, *mut T, I, *mut Int);
        trtrs(Ch, Ch, Ch, I, I, *const T, I, *mut T, I, *mut Int, Len, Len, Len);
    }
}

routines! {
    /// Real types' routines whose complex twins differ (integer workspace, two eigenvalue arrays);
    /// `R` is `T` itself, named apart where the complex twin takes a real argument.
    RealFns<T, R> {
        gesdd(Ch, I, I, *mut T, I, *mut R, *mut T, I, *mut T, I, *mut T, I, *mut Int, *mut Int, Len);
        gesvd(Ch, Ch, I, I, *mut T, I, *mut R, *mut T, I, *mut T, I, *mut T, I, *mut Int, Len, Len);
        gecon(Ch, I, *const T, I, *const R, *mut R, *mut T, *mut Int, *mut Int, Len);
        pocon(Ch, I, *const T, I, *const R, *mut R, *mut T, *mut Int, *mut Int, Len);
        sycon(Ch, I, *const T, I, *const Int, *const R, *mut R, *mut T, *mut Int, *mut Int, Len);
        orgqr(I, I, I, *mut T, I, *const T, *mut T, I, *mut Int);
        syevd(Ch, Ch, I, *mut T, I, *mut R, *mut T, I, *mut Int, I, *mut Int, Len, Len);
        sygvd(I, Ch, Ch, I, *mut T, I, *mut T, I, *mut R, *mut T, I, *mut Int, I, *mut Int, Len, Len);
        gelsd(I, I, I, *mut T, I, *mut T, I, *mut R, *const R, *mut Int, *mut T, I, *mut Int, *mut Int);
        geev(Ch, Ch, I, *mut T, I, *mut T, *mut T, *mut T, I, *mut T, I, *mut T, I, *mut Int, Len, Len);
        gees(Ch, Ch, *const c_void, I, *mut T, I, *mut Int, *mut T, *mut T, *mut T, I, *mut T, I, *mut Int, *mut Int, Len, Len);
    }
}

routines! {
    /// Complex types' routines: real workspace (`R`) beside the complex one, Hermitian names.
    ComplexFns<T, R> {
        gesdd(Ch, I, I, *mut T, I, *mut R, *mut T, I, *mut T, I, *mut T, I, *mut R, *mut Int, *mut Int, Len);
        gesvd(Ch, Ch, I, I, *mut T, I, *mut R, *mut T, I, *mut T, I, *mut T, I, *mut R, *mut Int, Len, Len);
        gecon(Ch, I, *const T, I, *const R, *mut R, *mut T, *mut R, *mut Int, Len);
        pocon(Ch, I, *const T, I, *const R, *mut R, *mut T, *mut R, *mut Int, Len);
        sycon(Ch, I, *const T, I, *const Int, *const R, *mut R, *mut T, *mut Int, Len);
        hecon(Ch, I, *const T, I, *const Int, *const R, *mut R, *mut T, *mut Int, Len);
        hetrf(Ch, I, *mut T, I, *mut Int, *mut T, I, *mut Int, Len);
        hetrs(Ch, I, I, *const T, I, *const Int, *mut T, I, *mut Int, Len);
        ungqr(I, I, I, *mut T, I, *const T, *mut T, I, *mut Int);
        heevd(Ch, Ch, I, *mut T, I, *mut R, *mut T, I, *mut R, I, *mut Int, I, *mut Int, Len, Len);
        hegvd(I, Ch, Ch, I, *mut T, I, *mut T, I, *mut R, *mut T, I, *mut R, I, *mut Int, I, *mut Int, Len, Len);
        gelsd(I, I, I, *mut T, I, *mut T, I, *mut R, *const R, *mut Int, *mut T, I, *mut R, *mut Int, *mut Int);
        geev(Ch, Ch, I, *mut T, I, *mut T, *mut T, I, *mut T, I, *mut T, I, *mut R, *mut Int, Len, Len);
        gees(Ch, Ch, *const c_void, I, *mut T, I, *mut Int, *mut T, *mut T, I, *mut T, I, *mut R, *mut Int, *mut Int, Len, Len);
    }
}

type Xerbla = unsafe extern "C" fn(*const c_char, *const Int, usize);

/// The library in use.
pub struct Library {
    pub path: String,
    /// How it was chosen: "shared with NumPy", "scipy-openblas64 package" or "LAPACK_AI_OPENBLAS".
    pub origin: &'static str,
    /// `openblas_get_config()`: version, integer size, DYNAMIC_ARCH, threading.
    pub config: String,
    pub version: (u32, u32, u32),
    /// Candidates passed over, and why (for `blas_config()`).
    pub passed_over: Vec<String>,
    pub s: (Fns<f32>, RealFns<f32, f32>),
    pub d: (Fns<f64>, RealFns<f64, f64>),
    pub c: (Fns<C32>, ComplexFns<C32, f32>),
    pub z: (Fns<C64>, ComplexFns<C64, f64>),
    corename: unsafe extern "C" fn() -> *const c_char,
    set_threads: unsafe extern "C" fn(c_int),
    get_threads: unsafe extern "C" fn() -> c_int,
    /// Whether argument errors are caught (`openblas_set_xerbla`, OpenBLAS >= 0.3.32).
    pub catches_xerbla: bool,
}

impl Library {
    /// The kernel family OpenBLAS picked for this CPU ("SkylakeX", "Haswell", ...).
    pub fn corename(&self) -> String {
        // SAFETY: returns a pointer to a static NUL-terminated string.
        unsafe { cstr((self.corename)()) }
    }
    /// Threads OpenBLAS uses for one large call.
    pub fn threads(&self) -> usize {
        // SAFETY: plain getter.
        unsafe { (self.get_threads)() }.max(1) as usize
    }
    pub fn set_threads(&self, n: usize) {
        // SAFETY: plain setter; OpenBLAS clamps to its MAX_THREADS.
        unsafe { (self.set_threads)(n.clamp(1, c_int::MAX as usize) as c_int) }
    }
}

// SAFETY: function pointers and strings; OpenBLAS's routines may be called from any thread.
unsafe impl Send for Library {}
unsafe impl Sync for Library {}

fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null NUL-terminated C string owned by the library.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().trim().to_string()
}

/// How a library names its symbols: `scipy_dgemm_64_` (scipy-openblas64) or `dgemm_64_`
/// (distributions' ILP64 OpenBLAS).
struct Scheme {
    prefix: &'static str,
}

impl Scheme {
    fn routine(&self, letter: char, name: &str) -> String {
        format!("{}{letter}{name}_64_", self.prefix)
    }
    fn util(&self, name: &str) -> String {
        format!("{}{name}64_", self.prefix)
    }
}

struct Opened {
    path: String,
    handle: *mut c_void,
    scheme: Scheme,
}

impl Opened {
    fn sym<F: Copy>(&self, name: &str) -> std::result::Result<F, String> {
        self.try_sym(name).ok_or_else(|| format!("{} has no symbol {name}", self.path))
    }
    fn try_sym<F: Copy>(&self, name: &str) -> Option<F> {
        assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
        let c = CString::new(name).ok()?;
        // SAFETY: a live handle and a NUL-terminated name.
        let p = unsafe { libc::dlsym(self.handle, c.as_ptr()) };
        // SAFETY: F is the function-pointer type the symbol is declared with above.
        (!p.is_null()).then(|| unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a message owned by libc.
    let p = unsafe { libc::dlerror() };
    if p.is_null() { "unknown error".into() } else { cstr(p) }
}

/// Open `path` (only if already loaded, with `loaded_only`) and check it is an ILP64 OpenBLAS
/// recent enough; never unloaded.
fn open(path: &str, origin: &'static str, loaded_only: bool) -> std::result::Result<Library, String> {
    let c = CString::new(path).map_err(|_| format!("{path:?}: not a path"))?;
    let flags = libc::RTLD_NOW | libc::RTLD_LOCAL | if loaded_only { libc::RTLD_NOLOAD } else { 0 };
    // SAFETY: dlopen of a shared library; its initialisers run once.
    let handle = unsafe { libc::dlopen(c.as_ptr(), flags) };
    if handle.is_null() {
        return Err(format!("{path}: {}", dlerror()));
    }
    let mut lib = Opened { path: path.to_string(), handle, scheme: Scheme { prefix: "scipy_" } };
    if lib.try_sym::<*const c_void>("scipy_dgemm_64_").is_none() {
        lib.scheme = Scheme { prefix: "" };
    }
    let config_fn: unsafe extern "C" fn() -> *const c_char = lib.sym(&lib.scheme.util("openblas_get_config"))
        .map_err(|_| format!("{path} is not an ILP64 OpenBLAS (no scipy_dgemm_64_ or dgemm_64_ symbols)"))?;
    // SAFETY: returns a static string.
    let config = cstr(unsafe { config_fn() });
    let version = parse_version(&config).ok_or_else(|| format!("{path}: cannot read a version from {config:?}"))?;
    if version < MIN_VERSION {
        return Err(format!("{path} is OpenBLAS {}.{}.{}; lapack_ai needs {}.{}.{} or newer", version.0, version.1,
                           version.2, MIN_VERSION.0, MIN_VERSION.1, MIN_VERSION.2));
    }
    if !config.contains("USE64BITINT") {
        return Err(format!("{path} uses 32-bit integers; lapack_ai needs an ILP64 build (USE64BITINT)"));
    }
    let set_xerbla: Option<unsafe extern "C" fn(Option<Xerbla>) -> Option<Xerbla>> =
        lib.try_sym(&lib.scheme.util("openblas_set_xerbla"));
    let library = Library {
        path: path.to_string(),
        origin,
        config,
        version,
        passed_over: Vec::new(),
        s: (Fns::bind(&lib, 's')?, RealFns::bind(&lib, 's')?),
        d: (Fns::bind(&lib, 'd')?, RealFns::bind(&lib, 'd')?),
        c: (Fns::bind(&lib, 'c')?, ComplexFns::bind(&lib, 'c')?),
        z: (Fns::bind(&lib, 'z')?, ComplexFns::bind(&lib, 'z')?),
        corename: lib.sym(&lib.scheme.util("openblas_get_corename"))?,
        set_threads: lib.sym(&lib.scheme.util("openblas_set_num_threads"))?,
        get_threads: lib.sym(&lib.scheme.util("openblas_get_num_threads"))?,
        catches_xerbla: set_xerbla.is_some(),
    };
    if let Some(set) = set_xerbla {
        // SAFETY: installs a handler that lives as long as the process.
        let previous = unsafe { set(Some(on_xerbla)) };
        let _ = PREVIOUS_XERBLA.set(previous);
    }
    Ok(library)
}

/// "OpenBLAS 0.3.31.188.0 USE64BITINT ..." -> (0, 3, 31).
fn parse_version(config: &str) -> Option<(u32, u32, u32)> {
    let token = config.split_whitespace().find(|t| t.starts_with(|c: char| c.is_ascii_digit()))?;
    let mut it = token.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

/// Shared objects loaded in this process whose file name starts with `stem`.
fn loaded(stem: &str) -> Vec<String> {
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _: usize, out: *mut c_void) -> c_int {
        // SAFETY: called by dl_iterate_phdr with a valid info and our Vec.
        let (info, out) = unsafe { (&*info, &mut *(out as *mut Vec<String>)) };
        if !info.dlpi_name.is_null() {
            out.push(cstr(info.dlpi_name));
        }
        0
    }
    let mut all: Vec<String> = Vec::new();
    // SAFETY: the callback only reads the entries it is given.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut all as *mut Vec<String> as *mut c_void) };
    all.into_iter().filter(|p| p.rsplit('/').next().is_some_and(|f| f.starts_with(stem))).collect()
}

fn choose(package: Option<&str>) -> std::result::Result<Library, String> {
    let wish = std::env::var("LAPACK_AI_OPENBLAS").ok().filter(|v| !v.trim().is_empty());
    let mut passed_over = Vec::new();
    let mut attempt = |r: std::result::Result<Library, String>| match r {
        Ok(lib) => Some(lib),
        Err(e) => {
            passed_over.push(e);
            None
        }
    };
    let numpy = |attempt: &mut dyn FnMut(std::result::Result<Library, String>) -> Option<Library>| {
        loaded("libscipy_openblas64_").iter().find_map(|p| attempt(open(p, "shared with NumPy", true)))
    };
    let found = match wish.as_deref().map(str::trim) {
        Some("numpy") => numpy(&mut attempt),
        Some("package") => package.and_then(|p| attempt(open(p, "scipy-openblas64 package", false))),
        Some(path) => attempt(open(path, "LAPACK_AI_OPENBLAS", false)),
        None => numpy(&mut attempt)
            .or_else(|| package.and_then(|p| attempt(open(p, "scipy-openblas64 package", false)))),
    };
    match found {
        Some(mut lib) => {
            lib.passed_over = passed_over;
            log::debug!(target: "lapack_ai", "BLAS/LAPACK: {} ({}), {}", lib.path, lib.origin, lib.config);
            Ok(lib)
        }
        None => {
            let tried = if passed_over.is_empty() { "nothing to try".to_string() } else { passed_over.join("; ") };
            Err(format!("no usable ILP64 OpenBLAS (>= {}.{}.{}) found: {tried}. Reinstall lapack-ai with its dependency \
                         scipy-openblas64, or set LAPACK_AI_OPENBLAS to the path of libscipy_openblas64_.so",
                        MIN_VERSION.0, MIN_VERSION.1, MIN_VERSION.2))
        }
    }
}

static LIB: OnceLock<std::result::Result<Library, String>> = OnceLock::new();

/// Load the library once: `package` is the scipy-openblas64 package's library (the Python
/// layer passes it; Rust-only users set `LAPACK_AI_OPENBLAS`). Later calls return the first.
pub fn init(package: Option<&str>) -> std::result::Result<&'static Library, String> {
    LIB.get_or_init(|| choose(package)).as_ref().map_err(Clone::clone)
}

/// The library in use (loaded on first use).
pub fn lib() -> Result<&'static Library> {
    init(None).map_err(CoreError::Library)
}

// ---- argument errors reported by the library (xerbla) ----

static PREVIOUS_XERBLA: OnceLock<Option<Xerbla>> = OnceLock::new();

thread_local! {
    /// True while this thread is inside a lapack_ai call (`catching`).
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The parameter a routine rejected during the current call, if any.
    static CAUGHT: Cell<Option<Int>> = const { Cell::new(None) };
}

unsafe extern "C" fn on_xerbla(name: *const c_char, info: *const Int, len: usize) {
    // SAFETY: OpenBLAS passes a valid info pointer for the duration of the call.
    let info = unsafe { *info };
    if CATCHING.with(Cell::get) {
        CAUGHT.with(|c| c.set(Some(info)));
        return;
    }
    // Not ours (NumPy's call on a shared library): behave as the library would.
    match PREVIOUS_XERBLA.get().copied().flatten() {
        // SAFETY: the handler that was installed before ours, with the arguments we were given.
        Some(previous) => unsafe { previous(name, info as *const Int, len) },
        None => {
            // SAFETY: `name` spans `len` bytes.
            let n = unsafe { std::slice::from_raw_parts(name as *const u8, len) };
            eprintln!(" ** On entry to {} parameter number {info} had an illegal value", String::from_utf8_lossy(n).trim());
        }
    }
}

/// Run one BLAS/LAPACK call with argument errors caught; returns the rejected parameter's
/// number (as LAPACK's negative `info`) if the library reported one.
pub fn catching<R>(f: impl FnOnce() -> R) -> (R, Option<Int>) {
    let was = CATCHING.with(|c| c.replace(true));
    let r = f();
    CATCHING.with(|c| c.set(was));
    (r, CAUGHT.with(Cell::take).map(|p| -p.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("OpenBLAS 0.3.31.188.0  USE64BITINT DYNAMIC_ARCH"), Some((0, 3, 31)));
        assert_eq!(parse_version("OpenBLAS 0.3.28 NO_AFFINITY"), Some((0, 3, 28)));
        assert_eq!(parse_version("OpenBLAS"), None);
        assert!(parse_version("OpenBLAS 0.3.21 DYNAMIC_ARCH").unwrap() < MIN_VERSION);
    }

    #[test]
    fn symbol_names() {
        let s = Scheme { prefix: "scipy_" };
        assert_eq!(s.routine('d', "gesdd"), "scipy_dgesdd_64_");
        assert_eq!(s.util("openblas_get_config"), "scipy_openblas_get_config64_");
    }
}
