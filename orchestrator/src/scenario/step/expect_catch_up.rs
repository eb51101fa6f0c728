//! `expect-catch-up`: the returned node holds what it missed. The ledger's
//! readings acknowledged while it was out are read back through that node
//! alone at ONE (for the sensors it serves from its own replica), and compared
//! across replicas at ALL once the peers have handed their hints over (for the
//! sensors its snitch reads from peers).
//!
//! A crashed node is the one case hints cannot cover entirely: a write it was
//! itself coordinating at the instant of the crash was acknowledged by its two
//! peers, and no one kept a hint for it (the coordinator keeps hints). Once the
//! peers have handed their hints over, what is still missing on the node, if it
//! was written around the crash, is repaired the way Cassandra repairs it on a
//! read: one read at ALL, whose digest mismatch writes the newest rows back to
//! the stale replica. The step says how many readings that was.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use futures::future::join_all;
use iot_services::cassandra::connect_single_node;
use iot_services::ledger::LedgerEntry;
use scylla::client::session::Session;
use scylla::statement::Consistency;
use serde_json::json;

use super::{Done, Failed, KillMode, StepAction, StepResult};
use crate::checker::{self, CheckOptions, CheckReport, ReadSource};
use crate::hosts::NodeSpec;
use crate::nemesis::FaultMode;
use crate::scenario::context::{Context, Outage};
use crate::scenario::model::NodeArg;
use crate::scenario::ui::Progress;

/// After a node is seen up, how long before its peers' hint listings are
/// trusted (two dispatch rounds of 10 s; see `wait_hints_handed_over`).
const HINTS_SETTLE: Duration = Duration::from_secs(22);
/// After hints are trusted, how long a crashed node's own replica may still take.
const HINTS_GRACE: Duration = Duration::from_secs(10);
/// After a crash began, how long a write the node itself coordinated may have been
/// in flight (Cassandra's write timeout, 2 s, is the longest it waits for a replica).
const CRASH_IN_FLIGHT: chrono::TimeDelta = chrono::TimeDelta::seconds(3);
/// Pause between two attempts of a data check.
const RECHECK: Duration = Duration::from_secs(2);

step_params! {
    pub struct ExpectCatchUp {
        node: NodeArg = node(),
        timeout: Duration = seconds(90.0),
    }
}

impl StepAction for ExpectCatchUp {
    fn node_args(&self) -> Vec<&NodeArg> {
        vec![&self.node]
    }

    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let node = &context.node(&self.node)?;
        let timeout = self.timeout;
        let Some(Outage {
            mode,
            out_at,
            back_at: Some(back_at),
            seen_up_at,
        }) = context.outage(node)
        else {
            return Err(Failed::new(format!(
                "{} was not taken out and brought back earlier in this run",
                node.name
            )));
        };
        let ledger = context.ledger_entries()?;
        // A little before the fault: writes in flight when it struck count too.
        let missed = checker::entries_between(
            &ledger,
            Some(out_at - chrono::TimeDelta::seconds(1)),
            Some(back_at),
        );
        if missed.is_empty() {
            return Err(Failed::new(format!(
                "no reading was acknowledged while {} was out: is the producer running?",
                node.name
            )));
        }
        let progress = context.ui().progress(
            &context.say().reading_alone(missed.len(), &node.name),
            timeout,
        );
        let deadline = Instant::now() + timeout;
        let session = connect_alone(node, deadline, &progress).await?;
        let keyspace = context.keyspace().to_owned();
        let mut sensors: Vec<String> = missed.iter().map(|entry| entry.sensor_id.clone()).collect();
        sensors.sort();
        sensors.dedup();
        // A node that coordinates a read at ONE may pass it to another
        // replica: only reads it served from its own replica show what it holds.
        // A node just back may drop its first requests (a busy JVM misses the
        // driver's keepalive): asked again until the deadline.
        let left = deadline.saturating_duration_since(Instant::now());
        let served = crate::wait::until(left, RECHECK, || async {
            match checker::read_sources(&session, &keyspace, &sensors).await {
                Ok(served) => ControlFlow::Break(served),
                Err(err) => {
                    progress.tick(format!("{} does not answer yet: {err}", node.name));
                    ControlFlow::Continue(err.to_string())
                }
            }
        })
        .await
        .map_err(|timed_out| {
            let why = timed_out.last.unwrap_or_else(|| "no answer".into());
            Failed::new(format!("{} did not answer: {why}", node.name))
        })?;
        let (local, elsewhere): (Vec<LedgerEntry>, Vec<LedgerEntry>) = missed
            .iter()
            .cloned()
            .partition(|entry| served.get(&entry.sensor_id) == Some(&ReadSource::Local));
        let mut details = json!({
            "node": node.name,
            "out_at": out_at,
            "back_at": back_at,
            "missed_while_out": missed.len(),
            "read_sources": served,
        });
        let mut found = 0;
        let mut repaired_on_read = 0;
        if !local.is_empty() {
            progress.tick(format!(
                "{} readings served by {} itself",
                local.len(),
                node.name
            ));
            let crashed = matches!(mode, KillMode::Fault(FaultMode::Kill) | KillMode::Manual);
            // A crash: give the hints their time, then repair what they could not carry.
            let hints_due = (seen_up_at.unwrap_or_else(Instant::now) + HINTS_SETTLE + HINTS_GRACE)
                .min(deadline);
            let first_deadline = if crashed { hints_due } else { deadline };
            let mut report =
                wait_served_locally(&session, &keyspace, &local, first_deadline, &progress).await;
            if crashed && let Err(not_yet) = &report {
                wait_hints_handed_over(context, node, seen_up_at, deadline, &progress).await?;
                let around_crash = (
                    out_at - chrono::TimeDelta::seconds(1),
                    out_at + CRASH_IN_FLIGHT,
                );
                let repaired = repair_on_read(&session, &keyspace, &local, around_crash)
                    .await
                    .map_err(|err| Failed::new(format!("{}; {err}", not_yet.message)))?;
                progress.tick(format!(
                    "{repaired} readings written as {} crashed: repaired by a read at ALL",
                    node.name
                ));
                details["repaired_on_read"] = json!(repaired);
                repaired_on_read = repaired;
                report =
                    wait_served_locally(&session, &keyspace, &local, deadline, &progress).await;
            }
            let report = report?;
            found += report.found;
            details["report"] = json!(report);
        }
        if !elsewhere.is_empty() {
            // Those sensors' reads go to peers: once the peers have handed
            // over their hints, one read at ALL compares every replica.
            wait_hints_handed_over(context, node, seen_up_at, deadline, &progress).await?;
            let agreement = checker::check_replicas_agree(
                &session,
                &keyspace,
                &elsewhere,
                &CheckOptions::default(),
            )
            .await
            .map_err(|err| Failed::new(err.to_string()))?;
            details["agreement_at_all"] = json!(agreement);
            if !agreement.replicas_agree() {
                return Err(Failed {
                    message: format!(
                        "{}'s replica did not match its peers after the hints were replayed \
                         (digest mismatch for {:?}, untraced {:?}; {})",
                        node.name,
                        agreement.mismatched_sensors,
                        agreement.untraced_sensors,
                        agreement.report.render()
                    ),
                    details,
                });
            }
            found += agreement.report.found;
        }
        let elapsed = timeout.saturating_sub(deadline.saturating_duration_since(Instant::now()));
        let say = context.say();
        let mut summary =
            say.caught_up(&node.name, found, (back_at - out_at).num_seconds(), elapsed);
        if !local.is_empty() {
            summary.push_str(&say.caught_up_alone(local.len(), &node.name));
        }
        if repaired_on_read > 0 {
            summary.push_str(&say.caught_up_repaired(repaired_on_read, &node.name));
        }
        if !elsewhere.is_empty() {
            summary.push_str(&say.caught_up_elsewhere(elsewhere.len(), &describe_sources(&served)));
        }
        Ok(Done { summary, details })
    }
}

/// A session to `node` alone (it coordinates every request), retried until `deadline`.
async fn connect_alone(
    node: &NodeSpec,
    deadline: Instant,
    progress: &Progress,
) -> Result<Session, Failed> {
    let address = node.address.to_string();
    loop {
        match connect_single_node(&address, Duration::from_secs(5)).await {
            Ok(session) => return Ok(session),
            Err(err) if Instant::now() + RECHECK >= deadline => {
                return Err(Failed::new(format!(
                    "{} does not answer CQL: {err}",
                    node.name
                )));
            }
            Err(err) => progress.tick(err.to_string()),
        }
        tokio::time::sleep(RECHECK).await;
    }
}

/// The readings of `entries` the node still lacks: only those written around its crash
/// (`around`) may be, and one read at ALL of their sensors repairs it; how many.
async fn repair_on_read(
    session: &Session,
    keyspace: &str,
    entries: &[LedgerEntry],
    around: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> Result<usize, String> {
    // Every lacking reading listed, not the report's first few: at tens of
    // readings a second, more than five are in flight when a node crashes.
    let at_one = CheckOptions {
        consistency: Consistency::One,
        first_few: entries.len(),
        ..CheckOptions::default()
    };
    let report = checker::check(session, keyspace, entries, &at_one)
        .await
        .map_err(|err| err.to_string())?;
    let lacking: Vec<LedgerEntry> = report
        .first_missing
        .iter()
        .chain(report.first_mismatched.iter().map(|m| &m.entry))
        .cloned()
        .collect();
    if let Some(outside) = lacking
        .iter()
        .find(|entry| entry.timestamp < around.0 || entry.timestamp > around.1)
    {
        return Err(format!(
            "{} at {} was written long after the crash: the hints should have carried it",
            outside.sensor_id, outside.timestamp
        ));
    }
    let at_all = CheckOptions {
        consistency: Consistency::All,
        ..CheckOptions::default()
    };
    checker::check(session, keyspace, &lacking, &at_all)
        .await
        .map_err(|err| err.to_string())?;
    Ok(lacking.len())
}

/// Reads `entries` at ONE through `session` until all are there or `deadline`.
async fn wait_served_locally(
    session: &Session,
    keyspace: &str,
    entries: &[LedgerEntry],
    deadline: Instant,
    progress: &Progress,
) -> Result<CheckReport, Failed> {
    let options = CheckOptions {
        consistency: Consistency::One,
        ..CheckOptions::default()
    };
    loop {
        let last = match checker::check(session, keyspace, entries, &options).await {
            Ok(report) if report.is_complete() => return Ok(report),
            Ok(report) => report.render(),
            Err(err) => err.to_string(),
        };
        if Instant::now() + RECHECK >= deadline {
            return Err(Failed::new(format!("not caught up in time: {last}")));
        }
        progress.tick(last.lines().next().unwrap_or("").to_owned());
        tokio::time::sleep(RECHECK).await;
    }
}

/// Waits until the peers have handed their hints for `node` over.
///
/// A peer closes the hint file it writes for a node at its next dispatch
/// round (every 10 s) after seeing it up, and sends it at the round after;
/// `nodetool listpendinghints` lists closed files only, and not the one
/// being sent. So: from `HINTS_SETTLE` after the node was seen up, every
/// peer must list no hints for it and have no dispatch running or queued,
/// twice in a row with no dispatch completed in between.
async fn wait_hints_handed_over(
    context: &Context,
    node: &NodeSpec,
    seen_up_at: Option<Instant>,
    deadline: Instant,
    progress: &Progress,
) -> Result<(), Failed> {
    let trusted_from = seen_up_at.unwrap_or_else(Instant::now) + HINTS_SETTLE;
    let peers = context.running_peers(node);
    let mut previous: Option<Vec<u64>> = None;
    loop {
        let answers = join_all(
            peers
                .iter()
                .map(|peer| context.fleet().hints_toward(peer, node)),
        )
        .await;
        let mut busy = Vec::new();
        let mut dispatched = Vec::new();
        for (peer, answer) in peers.iter().zip(&answers) {
            match answer {
                Ok(state) if state.is_quiet() => dispatched.push(state.dispatched),
                Ok(_) => busy.push(format!("{} is sending hints", peer.name)),
                Err(err) => busy.push(format!(
                    "{}: {}",
                    peer.name,
                    err.lines().next().unwrap_or("")
                )),
            }
        }
        let waiting = if !busy.is_empty() {
            previous = None;
            busy.join(", ")
        } else if Instant::now() < trusted_from {
            format!("letting the peers close their hint files for {}", node.name)
        } else if previous.as_ref() == Some(&dispatched) {
            return Ok(());
        } else {
            previous = Some(dispatched);
            format!("no hints left for {}; confirming", node.name)
        };
        if Instant::now() + RECHECK >= deadline {
            return Err(Failed::new(format!("not caught up in time: {waiting}")));
        }
        progress.tick(waiting);
        tokio::time::sleep(RECHECK).await;
    }
}

/// "sensor_01 → 127.0.0.1, sensor_04 → local".
fn describe_sources(sources: &BTreeMap<String, ReadSource>) -> String {
    sources
        .iter()
        .map(|(sensor, source)| match source {
            ReadSource::Local => format!("{sensor} → local"),
            ReadSource::Remote(address) => format!("{sensor} → {address}"),
            ReadSource::Unknown => format!("{sensor} → ?"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
