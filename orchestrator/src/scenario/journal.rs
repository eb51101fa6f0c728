//! The run's journal: `runs/<time>/journal.json`, the record of what happened.
//!
//! A demonstration that went wrong must be explainable afterwards, and one that
//! went right must be provable: every step's narration, outcome, timing and
//! details, every `nodetool` capture, and what was restored at the end. The
//! journal is rewritten after every step, so even a run cut short by Ctrl-C or
//! a crash leaves its history behind. The types read it back too (tests,
//! `demo report`), so what is written is what is read.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use contract::events::StepKind;
use serde::{Deserialize, Serialize};

use super::timeline::{FaultRecord, Timeline};
use super::ui::Language;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot create the run directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Ok,
    Failed,
    /// Not run, because an earlier step failed.
    Skipped,
}

/// One step's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub number: usize,
    pub kind: StepKind,
    pub label: String,
    pub say: String,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    pub elapsed_ms: u64,
    /// One line on what was observed ("5 sensors fresh after 1.2 s").
    pub summary: String,
    /// Step-specific figures (staleness, counts, states...).
    pub details: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A `nodetool` output kept with the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Capture {
    pub step: usize,
    /// The PC the command ran on.
    pub from: String,
    pub command: String,
    /// The file next to the journal holding the same text.
    pub file: String,
    pub output: String,
}

/// Something done to leave the cluster as the run found it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Restoration {
    pub node: String,
    pub action: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub run_id: String,
    pub scenario: String,
    pub title: String,
    /// The scenario's language: the report's words.
    #[serde(default)]
    pub lang: Language,
    /// The seed the scenario's random choices were drawn from (replay: `--seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The scenario's bound on the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_ms: Option<u64>,
    /// "lab" or the hosts file used.
    pub target: String,
    pub presenter: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode_override: Option<String>,
    /// Factor applied to pauses and continuity windows.
    pub pace: f64,
    pub dashboard_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// "passed", "failed", or "running" while the run goes on.
    pub verdict: String,
    pub steps: Vec<StepRecord>,
    pub captures: Vec<Capture>,
    pub restored: Vec<Restoration>,
    /// Problems that did not fail the run (an event not written...).
    pub warnings: Vec<String>,
    /// The nodes the run took out, when, how, and when they came back.
    #[serde(default)]
    pub faults: Vec<FaultRecord>,
    /// What happened around the steps, second by second.
    #[serde(default)]
    pub timeline: Timeline,
}

/// Where a run keeps its journal, captures and ledger.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
    pub run_id: String,
}

impl RunDir {
    /// Creates `<runs>/<UTC time>` (with a suffix if that second is taken).
    pub fn create(runs: &Path, started_at: DateTime<Utc>) -> Result<Self, JournalError> {
        let base = started_at.format("%Y%m%dT%H%M%SZ").to_string();
        std::fs::create_dir_all(runs).map_err(|source| JournalError::CreateDir {
            path: runs.to_path_buf(),
            source,
        })?;
        for attempt in 1..=100 {
            let run_id = if attempt == 1 {
                base.clone()
            } else {
                format!("{base}-{attempt}")
            };
            let path = runs.join(&run_id);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path, run_id }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(JournalError::CreateDir { path, source }),
            }
        }
        Err(JournalError::CreateDir {
            path: runs.join(base),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "100 runs in the same second",
            ),
        })
    }

    pub fn journal_path(&self) -> PathBuf {
        self.path.join("journal.json")
    }

    /// Writes a text file next to the journal; returns its name.
    pub fn write_text(&self, name: &str, text: &str) -> Result<String, JournalError> {
        let path = self.path.join(name);
        std::fs::write(&path, text).map_err(|source| JournalError::Write { path, source })?;
        Ok(name.to_owned())
    }

    /// Writes the journal atomically (temporary file, then rename), so a reader
    /// never sees half of it.
    pub fn save(&self, journal: &Journal) -> Result<(), JournalError> {
        let path = self.journal_path();
        let temporary = self.path.join(".journal.json.tmp");
        let text = serde_json::to_string_pretty(journal).map_err(|err| JournalError::Write {
            path: path.clone(),
            source: std::io::Error::other(err),
        })?;
        std::fs::write(&temporary, text + "\n").map_err(|source| JournalError::Write {
            path: temporary.clone(),
            source,
        })?;
        std::fs::rename(&temporary, &path).map_err(|source| JournalError::Write { path, source })
    }
}

/// A time as the journal and the console show it.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_directories_are_unique_and_journals_round_trip() {
        let runs = tempfile::tempdir().expect("temporary directory");
        let at = DateTime::parse_from_rfc3339("2026-01-04T10:00:01Z")
            .expect("valid")
            .with_timezone(&Utc);
        let first = RunDir::create(runs.path(), at).expect("first");
        let second = RunDir::create(runs.path(), at).expect("second");
        assert_eq!(first.run_id, "20260104T100001Z");
        assert_eq!(second.run_id, "20260104T100001Z-2");

        let journal = Journal {
            run_id: first.run_id.clone(),
            scenario: "scenario/x.toml".into(),
            title: "x".into(),
            lang: Language::Fr,
            seed: Some(42),
            max_duration_ms: None,
            target: "lab".into(),
            presenter: false,
            mode_override: None,
            pace: 1.0,
            dashboard_url: "http://127.0.0.1:8080/".into(),
            ledger: None,
            started_at: at,
            finished_at: None,
            verdict: "running".into(),
            steps: vec![StepRecord {
                number: 1,
                kind: StepKind::Pause,
                label: "Pause".into(),
                say: "On attend.".into(),
                status: StepStatus::Ok,
                started_at: Some(at),
                elapsed_ms: 12,
                summary: "waited".into(),
                details: serde_json::json!({"seconds": 1}),
                error: None,
            }],
            captures: Vec::new(),
            restored: Vec::new(),
            warnings: Vec::new(),
            faults: Vec::new(),
            timeline: Timeline::default(),
        };
        first.save(&journal).expect("saved");
        let text = std::fs::read_to_string(first.journal_path()).expect("read back");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["steps"][0]["status"], "ok");
        assert_eq!(value["steps"][0]["kind"], "pause");
        assert_eq!(value["verdict"], "running");
        assert_eq!(timestamp(at), "2026-01-04T10:00:01.000Z");
        let read: Journal = serde_json::from_str(&text).expect("read back as a journal");
        assert_eq!(read.steps[0].kind, StepKind::Pause);
        assert_eq!(read.steps[0].status, StepStatus::Ok);
        assert_eq!(read.steps[0].started_at, Some(at));
        assert_eq!(read.finished_at, None);
        assert_eq!(read.verdict, "running");
    }
}
