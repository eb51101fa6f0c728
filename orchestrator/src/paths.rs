//! Where the checkout, the lab and the built binaries are.
//!
//! Every command finds the project the same way, so `demo` works from any
//! subdirectory of the checkout and from the tests.

use std::path::{Path, PathBuf};

/// The checkout's root: `$DEMO_ROOT` if set, else the nearest ancestor of the
/// current directory holding `schema.cql`, else the checkout this binary was
/// built from. Canonical, because a lab process is recognised by its paths in
/// its command line: `orchestrator/..` would not match the `.lab` it runs from.
pub fn project_root() -> PathBuf {
    let root = declared_or_found_root();
    std::fs::canonicalize(&root).unwrap_or(root)
}

fn declared_or_found_root() -> PathBuf {
    if let Some(root) = std::env::var_os("DEMO_ROOT").filter(|root| !root.is_empty()) {
        return PathBuf::from(root);
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("schema.cql").is_file() && dir.join("Cargo.toml").is_file() {
                return dir.to_path_buf();
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The lab's directory: distributions, node directories, logs, pids.
pub fn lab_dir() -> PathBuf {
    project_root().join(".lab")
}

/// The lab's inventory, in the hosts.toml format.
pub fn lab_hosts_file() -> PathBuf {
    lab_dir().join("hosts.toml")
}

/// The directory holding the `demo`, `producer`, `ingest` and `api` binaries:
/// the one this executable runs from (cargo puts them side by side).
pub fn binaries_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .map(|dir| {
            // Test binaries live in target/<profile>/deps; the real ones one level up.
            if dir.file_name().is_some_and(|name| name == "deps") {
                dir.parent().map(Path::to_path_buf).unwrap_or(dir)
            } else {
                dir
            }
        })
        .unwrap_or_else(|| project_root().join("target/debug"))
}
