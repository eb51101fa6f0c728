//! The producer's ledger: one JSON line per reading that Kafka acknowledged.
//!
//! It is the ground truth of "what was sent": the conductor's checker and the
//! integration tests compare it with what Cassandra holds to prove that nothing
//! acknowledged was lost, whatever faults happened in between.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::reading::{Reading, rfc3339_millis};

/// One acknowledged reading and where Kafka put it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub sensor_id: String,
    #[serde(with = "rfc3339_millis")]
    pub timestamp: DateTime<Utc>,
    pub value: f64,
    pub partition: i32,
    pub offset: i64,
}

impl LedgerEntry {
    pub fn new(reading: &Reading, partition: i32, offset: i64) -> Self {
        LedgerEntry {
            sensor_id: reading.sensor_id.clone(),
            timestamp: reading.timestamp,
            value: reading.value,
            partition,
            offset,
        }
    }
}

/// One producer run's own counts, appended as a JSON line next to its ledger
/// (see [`summaries_path`]) when it ends. A producer killed with SIGKILL writes
/// none, so the sum over a file is what the runs that ended report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Readings handed to Kafka.
    pub sent: u64,
    pub acknowledged: u64,
    /// Not acknowledged in the end, whatever stopped them.
    pub failed: u64,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {} / acknowledged {} / failed {}",
            self.sent, self.acknowledged, self.failed
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot open ledger {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write ledger {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read ledger {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a ledger entry: {source}")]
    Parse {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
}

/// Appends entries to a ledger file (created if missing, never truncated, so a
/// restarted producer adds to the same history).
pub struct LedgerWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl LedgerWriter {
    /// Opens `path` for appending. A torn last line (a producer killed mid-write)
    /// is cut off first: [`read_ledger`] ignores it only while it is the last
    /// line, and appending after it would turn it into corruption.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        drop_torn_last_line(path).map_err(|source| LedgerError::Open {
            path: path.to_owned(),
            source,
        })?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| LedgerError::Open {
                path: path.to_owned(),
                source,
            })?;
        Ok(LedgerWriter {
            path: path.to_owned(),
            out: BufWriter::new(file),
        })
    }

    pub fn append(&mut self, entry: &LedgerEntry) -> Result<(), LedgerError> {
        let line = serde_json::to_string(entry).map_err(|e| self.write_error(e.into()))?;
        writeln!(self.out, "{line}").map_err(|e| self.write_error(e))
    }

    /// Pushes buffered lines to the file, so a reader (or a crash) sees them.
    pub fn flush(&mut self) -> Result<(), LedgerError> {
        self.out.flush().map_err(|e| self.write_error(e))
    }

    fn write_error(&self, source: std::io::Error) -> LedgerError {
        LedgerError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

/// Truncates `path` after its last newline when it does not end with one; a
/// missing or empty file is left as it is. Everything before stays untouched.
fn drop_torn_last_line(path: &Path) -> std::io::Result<()> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let length = file.metadata()?.len();
    // Read backwards, one block at a time, until a newline (or the start).
    const BLOCK: u64 = 4096;
    let mut end = length;
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let mut block = vec![0; usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block)?;
        if let Some(newline) = block.iter().rposition(|byte| *byte == b'\n') {
            let keep = start + newline as u64 + 1;
            if keep < length {
                file.set_len(keep)?;
            }
            return Ok(());
        }
        end = start;
    }
    // No newline at all: the whole file is one torn line.
    file.set_len(0)
}

/// Reads every entry of a ledger. A torn last line (the producer was killed
/// mid-write) is ignored: that reading's acknowledgement was never recorded.
pub fn read_ledger(path: &Path) -> Result<Vec<LedgerEntry>, LedgerError> {
    let file = File::open(path).map_err(|source| LedgerError::Read {
        path: path.to_owned(),
        source,
    })?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|source| LedgerError::Read {
            path: path.to_owned(),
            source,
        })?;
    let last = lines.len();
    let mut entries = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if index + 1 == last => break,
            Err(source) => {
                return Err(LedgerError::Parse {
                    path: path.to_owned(),
                    line: index + 1,
                    source,
                });
            }
        }
    }
    Ok(entries)
}

/// Where the run summaries of the producers writing `ledger` go:
/// `ledger.jsonl` → `ledger.summaries.jsonl`.
pub fn summaries_path(ledger: &Path) -> PathBuf {
    ledger.with_extension("summaries.jsonl")
}

/// Appends `summary` to the summaries file of `ledger`.
pub fn append_summary(ledger: &Path, summary: &RunSummary) -> Result<(), LedgerError> {
    let path = summaries_path(ledger);
    let write_error = |source| LedgerError::Write {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(write_error)?;
    let line = serde_json::to_string(summary).map_err(|e| write_error(e.into()))?;
    writeln!(file, "{line}").map_err(write_error)
}

/// The summaries of the producer runs that wrote `ledger` and ended, oldest
/// first; none when the file does not exist. A torn last line (a producer
/// killed while writing it) is left out.
pub fn read_summaries(ledger: &Path) -> Result<Vec<RunSummary>, LedgerError> {
    let path = summaries_path(ledger);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(LedgerError::Read { path, source }),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|source| LedgerError::Parse {
                path: path.clone(),
                line: index + 1,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::parse_timestamp;

    fn entry(offset: i64) -> LedgerEntry {
        LedgerEntry {
            sensor_id: "sensor_01".into(),
            timestamp: parse_timestamp("2026-01-04T10:00:01.250Z").unwrap(),
            value: 22.7,
            partition: 3,
            offset,
        }
    }

    #[test]
    fn line_format_is_the_contract() {
        assert_eq!(
            serde_json::to_string(&entry(1234)).unwrap(),
            r#"{"sensor_id":"sensor_01","timestamp":"2026-01-04T10:00:01.250Z","value":22.7,"partition":3,"offset":1234}"#
        );
    }

    #[test]
    fn run_summaries_add_up_next_to_the_ledger_and_a_torn_one_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.jsonl");
        assert_eq!(read_summaries(&ledger).unwrap(), vec![], "no file, no run");
        let first = RunSummary {
            sent: 10,
            acknowledged: 9,
            failed: 1,
        };
        let second = RunSummary {
            sent: 5,
            acknowledged: 5,
            failed: 0,
        };
        append_summary(&ledger, &first).unwrap();
        append_summary(&ledger, &second).unwrap();
        let path = summaries_path(&ledger);
        assert_eq!(path, dir.path().join("ledger.summaries.jsonl"));
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        write!(file, r#"{{"sent":3,"ackn"#).unwrap();
        assert_eq!(read_summaries(&ledger).unwrap(), vec![first, second]);
        assert_eq!(first.to_string(), "sent 10 / acknowledged 9 / failed 1");
    }

    #[test]
    fn appends_across_writers_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        for offset in [1, 2] {
            let mut w = LedgerWriter::open(&path).unwrap();
            w.append(&entry(offset)).unwrap();
            w.flush().unwrap();
        }
        assert_eq!(read_ledger(&path).unwrap(), vec![entry(1), entry(2)]);
    }

    /// A ledger of one good line and a torn one after it: a producer killed mid-write.
    fn torn_ledger() -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let good = serde_json::to_string(&entry(1)).unwrap();
        std::fs::write(&path, format!("{good}\n{{\"sensor_id\":\"sen")).unwrap();
        (dir, path, good)
    }

    #[test]
    fn a_writer_reopened_after_a_torn_line_cuts_it_off_and_keeps_the_rest() {
        // A producer killed mid-write, then restarted on the same ledger.
        let (_dir, path, _) = torn_ledger();
        let mut w = LedgerWriter::open(&path).unwrap();
        w.append(&entry(2)).unwrap();
        w.flush().unwrap();
        assert_eq!(read_ledger(&path).unwrap(), vec![entry(1), entry(2)]);
        // A whole ledger is never shortened; nor is a file that is only a torn line kept.
        let before = std::fs::read(&path).unwrap();
        drop(LedgerWriter::open(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        std::fs::write(&path, "{\"sensor_id\"").unwrap();
        drop(LedgerWriter::open(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn torn_last_line_is_ignored_but_corruption_elsewhere_is_reported() {
        let (_dir, path, good) = torn_ledger();
        assert_eq!(read_ledger(&path).unwrap(), vec![entry(1)]);
        std::fs::write(&path, format!("garbage\n{good}\n")).unwrap();
        assert!(matches!(
            read_ledger(&path),
            Err(LedgerError::Parse { line: 1, .. })
        ));
    }
}
