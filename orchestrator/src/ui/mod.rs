//! How the conductor's commands look on a terminal: spinners, tables and the
//! rendering of the domain's reports.
//!
//! The domain modules return reports and announce progress through
//! [`crate::progress::Progress`]; this module is the one place that turns
//! them into text: [`TermProgress`] (a spinner on stderr for waits, lines on
//! stdout for steps), [`spinner`], [`table`] and the [`Render`] trait, with
//! one implementation per report (`cluster`: the check-cluster table;
//! `lab`: `lab status`; `preflight`: the preflight table), and [`services_table`]
//! for `services up | status`.

mod cluster;
mod lab;
mod preflight;
mod services;

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::progress::Progress;

pub use services::services_table;

/// A report shown to the operator as text.
pub trait Render {
    fn render(&self) -> String;
}

/// A spinner on stderr with the elapsed time (hidden when not a terminal).
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed:>3}] {msg}") {
        bar.set_style(style);
    }
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// [`Progress`] on the terminal: a spinner while waiting, cleared before
/// each permanent line.
#[derive(Default)]
pub struct TermProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl TermProgress {
    fn clear(&self) {
        if let Some(bar) = self.lock().take() {
            bar.finish_and_clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A panic while holding the lock leaves at worst a stale spinner.
        self.bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Progress for TermProgress {
    fn waiting(&self, message: &str) {
        let mut bar = self.lock();
        match bar.as_ref() {
            Some(bar) => bar.set_message(message.to_owned()),
            None => *bar = Some(spinner(message)),
        }
    }

    fn step(&self, line: &str) {
        self.clear();
        println!("{line}");
    }

    fn warn(&self, line: &str) {
        self.clear();
        eprintln!("warning: {line}");
    }
}

impl Drop for TermProgress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Left-aligned columns two spaces apart, trailing blanks trimmed: the
/// layout of every table the conductor prints.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
