//! `demo report <run dir>`: the run's report.html, written again from its journal.

use std::path::Path;

/// Writes the report and prints where it is.
pub fn run(run_dir: &Path) -> anyhow::Result<bool> {
    let path = crate::report::write(run_dir)?;
    println!("report: {}", path.display());
    Ok(true)
}
