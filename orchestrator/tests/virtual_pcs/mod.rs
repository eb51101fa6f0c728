//! What the tests of the virtual PCs share: a checkout of their own (a
//! temporary `DEMO_ROOT` under target/, so its `.lab` is not the loopback
//! lab's, and not under /tmp, which every PC replaces with its own) holding the
//! project's schema.cql, `demo` run in it within a bound, and `demo lab down`
//! whatever happens.

// Each test binary uses the part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;
use test_support::{Ran, run_bounded};

pub const DEMO: &str = env!("CARGO_BIN_EXE_demo");

/// Whether this runs as root, as the virtual PCs need; says the test is
/// skipped when not.
pub fn running_as_root() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("skipped: virtual PCs need root (network namespaces, a bridge, mounts)");
    }
    root
}

/// The test's own checkout root; `demo lab down` runs when it is dropped.
pub struct Checkout {
    root: TempDir,
}

impl Checkout {
    pub fn new(prefix: &str) -> Checkout {
        let root = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a temporary checkout under target/");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        // Provision applies the checkout's schema.cql.
        std::fs::copy(repo.join("schema.cql"), root.path().join("schema.cql"))
            .expect("copy schema.cql into the test's checkout");
        Checkout { root }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn lab(&self) -> PathBuf {
        self.root.path().join(".lab")
    }

    /// `demo args` on this checkout's lab, killed (failing the test) after `limit`.
    pub fn demo(&self, args: &[&str], limit: Duration) -> Ran {
        run_bounded(
            Command::new(DEMO)
                .args(args)
                .env("DEMO_ROOT", self.root.path())
                .env_remove("DEMO_HOSTS"),
            limit,
        )
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let down = self.demo(&["lab", "down"], Duration::from_secs(180));
        if down.status != Some(0) {
            eprintln!(
                "clean-up `demo lab down` failed:\n{}\n{}",
                down.stdout, down.stderr
            );
        }
    }
}
