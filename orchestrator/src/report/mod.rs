//! The run's report: `runs/<time>/report.html`, one page a person can read, made
//! from the journal alone.
//!
//! The journal proves a run to a program; the report explains it to the audience
//! and to the teacher who wants a PDF of it: the verdict first, in the scenario's
//! language, then the checker's counts, the faults, the timeline plotted, the
//! state changes, the steps with their narration, the `nodetool` output, the
//! warnings and what was restored. The page must open years later on a laptop with
//! no network, so it fetches nothing: no script, no stylesheet, no font, no
//! address of any kind; plots are inline SVG (`svg`: the primitives, `plots`: the
//! four plots) and the style is inline, with a print stylesheet. `words` holds
//! every word the page writes itself, in French and English.

mod plots;
mod svg;
mod words;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use contract::events::{SeenState, StepKind};
use serde::Deserialize;

use crate::scenario::journal::{Journal, Restoration, StepRecord, StepStatus};
use crate::scenario::timeline::{FaultRecord, Transition, fault_effect, transitions};
use plots::Axes;
use words::Words;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no journal at {}: {source}", path.display())]
    Missing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// serde's message carries the line and column.
    #[error("{} is not a journal the report can read: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads `run_dir/journal.json` and writes `run_dir/report.html` next to it,
/// atomically (temporary file, then rename: an open report is never half a page).
pub fn write(run_dir: &Path) -> Result<PathBuf, ReportError> {
    let journal_path = run_dir.join("journal.json");
    let text = std::fs::read_to_string(&journal_path).map_err(|source| {
        let path = journal_path.clone();
        if source.kind() == std::io::ErrorKind::NotFound {
            ReportError::Missing { path, source }
        } else {
            ReportError::Read { path, source }
        }
    })?;
    let journal: Journal = serde_json::from_str(&text).map_err(|source| ReportError::Parse {
        path: journal_path,
        source,
    })?;
    let path = run_dir.join("report.html");
    let temporary = run_dir.join(".report.html.tmp");
    std::fs::write(&temporary, render(&journal)).map_err(|source| ReportError::Write {
        path: temporary.clone(),
        source,
    })?;
    std::fs::rename(&temporary, &path).map_err(|source| ReportError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// The whole page, self-contained.
pub fn render(journal: &Journal) -> String {
    let words = Words::of(journal.lang);
    let end = run_end(journal);
    let axes = Axes::new(journal, end, &words);
    let counts = checker_counts(journal);
    let timeline = &journal.timeline;
    let mut page = format!(
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}{}{}</title><style>{STYLE}</style></head><body>"#,
        words.html_lang,
        words.report_of,
        words.colon,
        escape(&journal.title)
    );
    page += &verdict(journal, &words, counts.as_ref());
    page += &header(journal, &words, end);
    page += &checker(&words, counts.as_ref());
    page += &faults(journal, &words);
    let plots = [
        plots::api(&axes, &timeline.api),
        plots::ingest(&axes, &timeline.ingest),
        plots::hints(&axes, &timeline.hints),
        plots::views(&axes, &timeline.views),
    ];
    page += &section(words.over_time, plots.concat(), "");
    page += &state_changes(journal, &words);
    page += &memory(journal, &words);
    page += &steps(journal, &words);
    page += &captures(journal, &words);
    page += &warnings_and_restorations(journal, &words);
    page + "</body></html>\n"
}

/// Text made safe to put in HTML, in an element or an attribute. `://` is written
/// with its colon as a character reference: it reads the same, and the page's
/// source then holds no address anything could mistake for a fetch.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, character) in text.char_indices() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            ':' if text[index + 1..].starts_with("//") => out.push_str("&#58;"),
            other => out.push(other),
        }
    }
    out
}

/// The last moment the journal knows of: the plots' right edge, and the end of a
/// fault the run never undid.
fn run_end(journal: &Journal) -> DateTime<Utc> {
    let timeline = &journal.timeline;
    let step_ends = journal.steps.iter().filter_map(|step| {
        let elapsed = i64::try_from(step.elapsed_ms)
            .ok()
            .and_then(Duration::try_milliseconds);
        step.started_at?.checked_add_signed(elapsed?)
    });
    let samples = (timeline.api.iter().map(|s| s.at))
        .chain(timeline.views.iter().map(|s| s.at))
        .chain(timeline.hints.iter().map(|s| s.at))
        .chain(timeline.ingest.iter().map(|s| s.at));
    journal
        .finished_at
        .into_iter()
        .chain(step_ends)
        .chain(samples)
        .max()
        .filter(|end| *end > journal.started_at)
        .unwrap_or_else(|| {
            let second = Duration::seconds(1);
            journal
                .started_at
                .checked_add_signed(second)
                .unwrap_or(journal.started_at)
        })
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn seconds_between(start: DateTime<Utc>, at: DateTime<Utc>) -> f64 {
    (at - start).num_milliseconds() as f64 / 1000.0
}

/// `at` as seconds since the run started: "+12.3 s".
fn since(journal: &Journal, words: &Words, at: DateTime<Utc>) -> String {
    let seconds = seconds_between(journal.started_at, at);
    let sign = if seconds < 0.0 { "" } else { "+" };
    format!("{sign}{}", words.seconds(seconds))
}

/// A table of text cells (escaped here) under `head`'s '|'-separated column names,
/// each row with a class for its tone; nothing at all without rows.
fn table(class: &str, head: &str, rows: &[(&str, Vec<String>)]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!(r#"<table class="{class}"><thead><tr>"#);
    for name in head.split('|') {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    out.push_str("</tr></thead><tbody>");
    for (tone, cells) in rows {
        let _ = write!(out, r#"<tr class="{tone}">"#);
        for cell in cells {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out + "</tbody></table>"
}

/// A section: its heading, then `body` (HTML), or `empty`'s words if there is none.
fn section(heading: &str, body: String, empty: &str) -> String {
    let body = if body.is_empty() {
        format!(r#"<p class="empty">{}</p>"#, escape(empty))
    } else {
        body
    };
    format!("<section><h2>{}</h2>{body}</section>", escape(heading))
}

/// The checker's report, as the verify step keeps it in its details.
#[derive(Debug, Deserialize)]
struct Counts {
    expected: u64,
    found: u64,
    missing: u64,
    mismatched: u64,
    rows_read: u64,
    sensors: u64,
    consistency: String,
    #[serde(default)]
    first_missing: Vec<Reading>,
    #[serde(default)]
    first_mismatched: Vec<Mismatch>,
    /// Absent from journals written before the checker counted them.
    #[serde(default)]
    unexpected: Option<u64>,
    #[serde(default)]
    first_unexpected: Vec<StoredRow>,
    /// What the producer's runs that ended said they sent (the verify step's
    /// `attempted`, beside the report).
    #[serde(skip)]
    attempted: Option<Attempted>,
}

/// The verify step's `attempted`.
#[derive(Debug, Deserialize)]
struct Attempted {
    sent: u64,
    failed: u64,
    producer_runs: u64,
}

/// A row the checker read back that the ledger does not list.
#[derive(Debug, Deserialize)]
struct StoredRow {
    sensor_id: String,
    timestamp: String,
    value: f64,
}

#[derive(Debug, Deserialize)]
struct Reading {
    sensor_id: String,
    timestamp: String,
    value: f64,
    partition: i64,
    offset: i64,
}

impl Reading {
    fn cells(&self) -> Vec<String> {
        let (sensor, at) = (self.sensor_id.clone(), self.timestamp.clone());
        let (value, partition, offset) = (self.value, self.partition, self.offset);
        vec![
            sensor,
            at,
            value.to_string(),
            partition.to_string(),
            offset.to_string(),
        ]
    }
}

#[derive(Debug, Deserialize)]
struct Mismatch {
    entry: Reading,
    stored: f64,
}

/// The last verify step's counts, if one ran far enough to have them.
fn checker_counts(journal: &Journal) -> Option<Counts> {
    let mut verify = journal
        .steps
        .iter()
        .rev()
        .filter(|s| s.kind == StepKind::Verify);
    verify.find_map(|step| {
        let mut counts = Counts::deserialize(&step.details["report"]).ok()?;
        counts.attempted = Attempted::deserialize(&step.details["attempted"]).ok();
        Some(counts)
    })
}

fn verdict(journal: &Journal, words: &Words, counts: Option<&Counts>) -> String {
    let (tone, word) = match journal.verdict.as_str() {
        "passed" => ("passed", words.passed),
        "failed" => ("failed", words.failed),
        _ => ("running", words.running),
    };
    let colon = words.colon;
    let mut lines = Vec::new();
    match counts {
        Some(c) if c.missing == 0 && c.mismatched == 0 => {
            let (found, expected) = (c.found, c.expected);
            lines.push(format!(
                "{}{colon}{found}/{expected} {}",
                words.nothing_lost, words.acknowledged_stored
            ));
        }
        Some(c) => {
            lines.push(format!("{} {}", c.missing, words.readings_lost));
            if c.mismatched > 0 {
                lines.push(format!("{} {}", c.mismatched, words.readings_other_value));
            }
        }
        None => {}
    }
    if let Some(step) = journal
        .steps
        .iter()
        .find(|step| step.status == StepStatus::Failed)
    {
        let error = step
            .error
            .as_deref()
            .map(|error| format!(" ({error})"))
            .unwrap_or_default();
        let (number, label) = (step.number, &step.label);
        lines.push(format!(
            "{} {number}{colon}{label}{error}",
            words.failed_at_step
        ));
    }
    let lines: String = lines
        .iter()
        .map(|line| format!("<p>{}</p>", escape(line)))
        .collect();
    format!(r#"<header class="verdict {tone}"><h1>{word}</h1>{lines}</header>"#)
}

fn header(journal: &Journal, words: &Words, end: DateTime<Utc>) -> String {
    let finished = journal
        .finished_at
        .map_or(words.not_finished.to_owned(), clock);
    let mut facts = vec![
        (words.scenario, journal.scenario.clone()),
        (words.target, journal.target.clone()),
        (words.started, clock(journal.started_at)),
        (words.finished, finished),
        (
            words.duration,
            words.seconds(seconds_between(journal.started_at, end)),
        ),
        (words.run_id, journal.run_id.clone()),
        (words.pace, format!("× {}", words.number(journal.pace, 2))),
    ];
    if let Some(mode) = &journal.mode_override {
        facts.push((words.mode, mode.clone()));
    }
    let facts: String = (facts.iter())
        .map(|(name, value)| format!("<dt>{}</dt><dd>{}</dd>", escape(name), escape(value)))
        .collect();
    let title = escape(&journal.title);
    format!(r#"<section class="run"><h2>{title}</h2><dl>{facts}</dl></section>"#)
}

fn checker(words: &Words, counts: Option<&Counts>) -> String {
    let Some(counts) = counts else {
        return section(words.checker, String::new(), words.no_counts);
    };
    let tone = |count: u64| if count > 0 { "bad" } else { "" };
    let (missing, mismatched) = (counts.missing, counts.mismatched);
    let mut rows = Vec::new();
    if let Some(attempted) = &counts.attempted {
        let runs = attempted.producer_runs.to_string();
        let sent = words.attempted.replace("{runs}", &runs);
        rows.push(("", sent, attempted.sent.to_string()));
        let failed = attempted.failed;
        rows.push((
            tone(failed),
            words.not_acknowledged.into(),
            failed.to_string(),
        ));
    }
    rows.extend([
        ("", words.acknowledged.into(), counts.expected.to_string()),
        ("", words.stored.into(), counts.found.to_string()),
        (tone(missing), words.lost.into(), missing.to_string()),
        (
            tone(mismatched),
            words.other_value.into(),
            mismatched.to_string(),
        ),
    ]);
    if let Some(unexpected) = counts.unexpected {
        rows.push(("", words.unexpected.into(), unexpected.to_string()));
    }
    rows.extend([
        ("", words.rows_read.into(), counts.rows_read.to_string()),
        ("", words.sensors.into(), counts.sensors.to_string()),
        ("", words.read_at.into(), counts.consistency.clone()),
    ]);
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(tone, name, value)| (tone, vec![name, value]))
        .collect();
    let mut out = table("counts", "|", &rows);
    // The checker keeps the first few of each: the heading says how many of all.
    let mut list = |heading: &str, total: u64, rows: Vec<(&str, Vec<String>)>, columns: &str| {
        if total > 0 {
            let _ = write!(out, "<h3>{heading} ({}/{total})</h3>", rows.len());
            out += &table("lost", columns, &rows);
        }
    };
    let lost = counts.first_missing.iter().map(|r| ("bad", r.cells()));
    list(
        words.first_lost,
        missing,
        lost.collect(),
        words.reading_columns,
    );
    let other = |m: &Mismatch| {
        (
            "bad",
            [m.entry.cells(), vec![m.stored.to_string()]].concat(),
        )
    };
    let others = counts.first_mismatched.iter().map(other).collect();
    let columns = format!("{}|{}", words.reading_columns, words.stored_value);
    list(words.first_other_value, mismatched, others, &columns);
    let unlisted = counts.first_unexpected.iter().map(|row| {
        let cells = vec![
            row.sensor_id.clone(),
            row.timestamp.clone(),
            row.value.to_string(),
        ];
        ("", cells)
    });
    let unexpected = counts.unexpected.unwrap_or(0);
    list(
        words.first_unexpected,
        unexpected,
        unlisted.collect(),
        words.row_columns,
    );
    section(words.checker, out, "")
}

fn faults(journal: &Journal, words: &Words) -> String {
    let at = |at| since(journal, words, at);
    let row = |fault: &FaultRecord| {
        let start = fault.commanded_at;
        let millis = |to: DateTime<Utc>| (to - start).num_milliseconds();
        let took = fault
            .command_done_at
            .map(|done| format!(" ({} {} ms)", words.took, millis(done)));
        let command = at(start) + &took.unwrap_or_default();
        let effect = fault_effect(fault, &journal.timeline.views);
        let effect = effect.map_or(words.never_seen.into(), |e| {
            format!("{} (+{} ms)", at(e), millis(e))
        });
        let back = fault.back_at.map_or(words.not_back.into(), at);
        let outage = fault
            .back_at
            .map(|back| words.seconds(seconds_between(start, back)));
        let (node, mode, outage) = (
            fault.node.clone(),
            fault.mode.clone(),
            outage.unwrap_or_default(),
        );
        ("", vec![node, mode, command, effect, back, outage])
    };
    let rows: Vec<_> = journal.faults.iter().map(row).collect();
    section(
        words.faults,
        table("faults", words.fault_columns, &rows),
        words.no_faults,
    )
}

/// Each service's resident memory at the start and end of the run and at its
/// highest: a long run (a soak) shows here whether a service grows.
fn memory(journal: &Journal, words: &Words) -> String {
    let mut rows = Vec::new();
    for service in ["producer", "ingest", "api"] {
        let samples: Vec<u64> = journal
            .timeline
            .memory
            .iter()
            .filter(|sample| sample.service == service)
            .map(|sample| sample.rss_kb)
            .collect();
        let (Some(first), Some(last), Some(highest)) =
            (samples.first(), samples.last(), samples.iter().max())
        else {
            continue;
        };
        let mib = |kb: &u64| format!("{:.1}", *kb as f64 / 1024.0).replace('.', words.decimal_mark);
        rows.push((
            "",
            vec![
                service.to_owned(),
                mib(first),
                mib(last),
                mib(highest),
                samples.len().to_string(),
            ],
        ));
    }
    let body = table("memory", words.memory_columns, &rows);
    section(words.memory, body, words.no_memory)
}

fn state_changes(journal: &Journal, words: &Words) -> String {
    let name = |state| if state == SeenState::Up { "UP" } else { "DOWN" };
    let tone = |state| if state == SeenState::Down { "bad" } else { "" };
    // The first sample of each pair is where the story starts, not a change.
    let row = |change: Transition| {
        let states = format!("{} → {}", name(change.from?), name(change.to));
        let at = since(journal, words, change.at);
        Some((
            tone(change.to),
            vec![at, change.observer, change.peer, states],
        ))
    };
    let rows: Vec<_> = transitions(&journal.timeline.views)
        .into_iter()
        .filter_map(row)
        .collect();
    let body = table("changes", words.change_columns, &rows);
    section(words.transitions, body, words.no_transitions)
}

fn steps(journal: &Journal, words: &Words) -> String {
    let row = |step: &StepRecord| {
        let (tone, outcome) = match step.status {
            StepStatus::Ok => ("ok", "✓"),
            StepStatus::Failed => ("failed", "✗"),
            StepStatus::Skipped => ("skipped", words.skipped),
        };
        let start = step.started_at.map(|at| since(journal, words, at));
        let duration = words.millis(step.elapsed_ms);
        let (number, kind) = (step.number.to_string(), step.kind.name().to_owned());
        let (label, say, summary) = (step.label.clone(), step.say.clone(), step.summary.clone());
        let error = step.error.clone().unwrap_or_default();
        let cells = vec![
            number,
            kind,
            label,
            say,
            outcome.into(),
            start.unwrap_or_default(),
            duration,
            summary,
            error,
        ];
        (tone, cells)
    };
    let rows: Vec<_> = journal.steps.iter().map(row).collect();
    section(words.steps, table("steps", words.step_columns, &rows), "")
}

/// The `nodetool status` captures and the cluster checks' reports, in step order,
/// under their step's label; a capture also shows where it ran and what.
fn captures(journal: &Journal, words: &Words) -> String {
    let mut kept: Vec<(usize, Option<String>, &str)> = Vec::new();
    for capture in &journal.captures {
        let command = format!("{}$ {}", capture.from, capture.command);
        kept.push((capture.step, Some(command), &capture.output));
    }
    for step in &journal.steps {
        if let Some(report) = step.details.get("report").and_then(|r| r.as_str()) {
            kept.push((step.number, None, report));
        }
    }
    kept.sort_by_key(|(number, _, _)| *number);
    let mut body = String::new();
    for (number, command, text) in kept {
        let step = journal.steps.iter().find(|step| step.number == number);
        let label = escape(step.map_or("", |step| step.label.as_str()));
        let _ = write!(body, "<h3>{} {number} · {label}</h3>", words.step);
        if let Some(command) = command {
            let _ = write!(body, "<p><code>{}</code></p>", escape(&command));
        }
        let _ = write!(body, "<pre>{}</pre>", escape(text));
    }
    section(words.captures, body, words.no_captures)
}

fn warnings_and_restorations(journal: &Journal, words: &Words) -> String {
    let warnings: String = journal
        .warnings
        .iter()
        .map(|w| format!("<li>{}</li>", escape(w)))
        .collect();
    let warnings = if warnings.is_empty() {
        warnings
    } else {
        format!("<ul>{warnings}</ul>")
    };
    let row = |r: &Restoration| {
        let (tone, mark) = if r.ok { ("ok", "✓") } else { ("bad", "✗") };
        (
            tone,
            vec![
                r.node.clone(),
                r.action.clone(),
                mark.to_owned(),
                r.error.clone().unwrap_or_default(),
            ],
        )
    };
    let rows: Vec<_> = journal.restored.iter().map(row).collect();
    let restored = table("restored", words.restored_columns, &rows);
    section(words.warnings, warnings, words.no_warnings)
        + &section(words.restorations, restored, words.no_restorations)
}

/// The page's only style. Printing keeps the colours (a verdict, a fault window and
/// a DOWN lane mean something) and does not cut a plot, a table row or a capture.
const STYLE: &str = r#"
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2937;max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:2.4em;margin:0}h2{font-size:1.35em;border-bottom:2px solid #e5e7eb;padding-bottom:4px;margin:32px 0 12px}h3{font-size:1em;margin:16px 0 4px}
.verdict{padding:18px 24px;border-radius:10px;color:#fff}.verdict p{margin:6px 0 0;font-size:1.15em}
.verdict.passed{background:#15803d}.verdict.failed{background:#b91c1c}.verdict.running{background:#b45309}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:4px 0}th{background:#f3f4f6}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
table.counts{width:auto;min-width:50%}table.counts thead{display:none}table.counts td+td{text-align:right;font-weight:600}
tr.bad td,tr.failed td{background:#fee2e2}tr.skipped td{color:#6b7280}table.steps td:nth-child(4){font-style:italic;min-width:16em}
figure{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}
.empty{color:#6b7280;font-style:italic;border:1px dashed #d1d5db;padding:10px 12px;margin:4px 0}
pre{background:#f8fafc;border:1px solid #e5e7eb;padding:8px;font-size:.8em;white-space:pre-wrap;overflow-wrap:anywhere}
svg.plot{width:100%;height:auto;display:block}svg text{font-size:12px;fill:#374151}svg .end{text-anchor:end}svg .mid{text-anchor:middle}
svg line,svg path{fill:none;stroke-width:1.6}.axis{stroke:#6b7280}.grid{stroke:#e5e7eb;stroke-width:1}
.fault{fill:#f59e0b;fill-opacity:.22;stroke:#d97706;stroke-opacity:.6}svg .fault-label{fill:#92400e;font-weight:700}
.effect{stroke:#b45309;stroke-dasharray:3 2}.latency,.rate{stroke:#2563eb}.staleness{stroke:#7c3aed}.lag{stroke:#7c3aed;stroke-dasharray:6 3}
.failed-probe{stroke:#dc2626;stroke-width:2}.at-one{fill:#f59e0b;stroke:#92400e}.up{fill:#16a34a}.down{fill:#dc2626}.unknown{fill:#d1d5db}
.pair0{stroke:#2563eb}.pair1{stroke:#db2777}.pair2{stroke:#059669}.pair3{stroke:#7c3aed}.pair4{stroke:#ea580c}.pair5{stroke:#0891b2}
@media print{
@page{size:A4;margin:12mm}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}body{max-width:none;padding:0;font-size:9.5pt}
figure,svg,table,tr,pre,.verdict,dl{break-inside:avoid;page-break-inside:avoid}h2,h3,figcaption{break-after:avoid;page-break-after:avoid}
thead{display:table-header-group}
}
"#;

#[cfg(test)]
mod tests;
