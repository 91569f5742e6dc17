//! The user's cache directory (compiled kernels, calibrated crossovers) and safe writes to it.

use std::path::PathBuf;

/// `$LAPACK_AI_CACHE_DIR`, else `$XDG_CACHE_HOME/lapack_ai`, else `~/.cache/lapack_ai`.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LAPACK_AI_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("lapack_ai");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("lapack_ai")
}

/// Write `bytes` to `path` through a temporary file and a rename, so a reader never sees half
/// a file (two processes may fill the cache at once).
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// FNV-1a, 64 bits: a hash that is stable across Rust versions, for cache file names.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for &b in p.iter().chain(&[0xffu8]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}
