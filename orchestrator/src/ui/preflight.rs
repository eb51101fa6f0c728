//! The preflight table: a row per check and PC, ✓ / ✗ / – with what was found and, for
//! each ✗, what to do; then the verdict.

use std::fmt::Write as _;

use super::{Render, table};
use crate::preflight::{PreflightReport, Verdict};

impl Render for PreflightReport {
    fn render(&self) -> String {
        let mut rows = vec![
            ["", "check", "PC", "found", "what to do"]
                .map(String::from)
                .to_vec(),
        ];
        for check in &self.checks {
            let mark = match check.verdict {
                Verdict::Pass => "✓",
                Verdict::Fail => "✗",
                Verdict::Skip => "–",
            };
            rows.push(vec![
                mark.to_string(),
                check.kind.name().to_string(),
                check.pc.clone(),
                check.detail.clone(),
                check.remedy.clone(),
            ]);
        }
        let mut out = table(&rows);
        let failed = self.failed().count();
        let took = self.took.as_secs_f64();
        let _ = if failed == 0 {
            writeln!(
                out,
                "\n✓ preflight: nothing found that would break the demonstration ({took:.1} s)"
            )
        } else {
            writeln!(
                out,
                "\n✗ preflight: {failed} of {} checks failed ({took:.1} s): see \"what to do\"",
                self.checks.len()
            )
        };
        out
    }
}
