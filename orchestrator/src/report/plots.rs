//! The report's four plots, from the run's timeline: the API as a client saw it,
//! ingest's rate and lag, the hints kept on disk, and each node's view of the others.
//!
//! All four share one time axis (seconds since the run started) and shade every
//! fault window, labelled with its node and mode, with a dashed line where the fault
//! took effect: whatever moved on one plot lines up by eye with the others and with
//! the fault. A plot with nothing to draw says so in words, not with an empty frame.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use contract::events::SeenState;

use super::svg::{self, Frame, Key, Scale};
use super::words::Words;
use super::{escape, seconds_between};
use crate::scenario::journal::Journal;
use crate::scenario::timeline::{
    ApiSample, FaultRecord, HintsSample, IngestSample, ViewSample, fault_effect,
};

/// Views are sampled once a second per node: a sample more than this old no longer
/// says what the observer sees, so its lane turns grey (no sample).
const VIEW_HOLDS_S: f64 = 3.0;
const LANE_PX: f64 = 22.0;
/// The hints plot's line classes, one per (holder → target) pair, in turn.
const PAIRS: [&str; 6] = ["pair0", "pair1", "pair2", "pair3", "pair4", "pair5"];

/// Each entry: the class it shows, how, and its words.
type Legend<'l> = Vec<(&'static str, Key, &'l str)>;

/// One node out, in seconds since the start: from its command to its return (or
/// the end of the run), and when it took effect.
struct Window {
    start: f64,
    end: f64,
    effect: Option<f64>,
    label: String,
}

/// What every plot shares: the words, time zero, the time scale and the fault windows.
pub struct Axes<'w> {
    words: &'w Words,
    start: DateTime<Utc>,
    x: Scale,
    windows: Vec<Window>,
}

impl<'w> Axes<'w> {
    /// The time axis runs from the start of the run to `end`.
    pub fn new(journal: &Journal, end: DateTime<Utc>, words: &'w Words) -> Self {
        let start = journal.started_at;
        let seconds = |at| seconds_between(start, at);
        let window = |fault: &FaultRecord| Window {
            start: seconds(fault.commanded_at),
            end: seconds(fault.back_at.or(fault.return_commanded_at).unwrap_or(end)),
            effect: fault_effect(fault, &journal.timeline.views).map(seconds),
            label: format!("{} {}", fault.node, fault.mode),
        };
        let windows = journal.faults.iter().map(window).collect();
        let x = Scale::new((0.0, seconds(end)), Frame::around(0.0).x_pixels());
        Self {
            words,
            start,
            x,
            windows,
        }
    }

    fn x_of(&self, at: DateTime<Utc>) -> f64 {
        self.x.at(seconds_between(self.start, at))
    }

    /// A plot's figure: the fault windows (under the data, or over it when the data is
    /// opaque), what `draw` draws (it returns its legend), the effects, the time axis.
    fn figure<'l>(
        &'l self,
        title: &str,
        inner_px: f64,
        shade_over: bool,
        draw: impl FnOnce(&mut String, Frame) -> Legend<'l>,
    ) -> String {
        let frame = Frame::around(inner_px);
        let mut out = svg::open(frame, title);
        let shade = |out: &mut String| {
            for window in &self.windows {
                let pixels = (self.x.at(window.start), self.x.at(window.end));
                svg::window(out, frame, pixels, &window.label);
            }
        };
        if !shade_over {
            shade(&mut out);
        }
        let mut legend = draw(&mut out, frame);
        if shade_over {
            shade(&mut out);
        }
        let (bottom, top) = frame.y_pixels();
        for effect in self.windows.iter().filter_map(|window| window.effect) {
            let x = self.x.at(effect);
            svg::line(&mut out, "effect", (x, top), (x, bottom));
        }
        if self.windows.iter().any(|window| window.effect.is_some()) {
            legend.push(("effect", Key::Line, self.words.fault_effect));
        }
        let words = self.words;
        let label = words.seconds_since_start;
        svg::x_axis(&mut out, frame, &self.x, label, |t| words.number(t, 0));
        svg::legend(&mut out, &legend);
        let title = escape(title);
        format!("<figure><figcaption>{title}</figcaption>{out}</svg></figure>")
    }

    /// A plot with nothing to draw, said in words.
    fn empty(&self, title: &str, why: &str) -> String {
        let (title, why) = (escape(title), escape(why));
        format!(r#"<figure><figcaption>{title}</figcaption><p class="empty">{why}</p></figure>"#)
    }
}

/// A tick label with no more decimals than the tick needs.
fn tick_label(words: &Words, value: f64) -> String {
    let exact = |decimals: &i32| {
        let scaled = value * 10f64.powi(*decimals);
        (scaled - scaled.round()).abs() < 1e-6
    };
    words.number(value, (0..3).find(exact).unwrap_or(3) as usize)
}

/// The unit a byte axis reaching `highest` reads best in, and its size.
fn byte_unit(words: &Words, highest: f64) -> (f64, String) {
    let unit = words.byte_unit;
    match highest {
        b if b < 1024.0 => (1.0, unit.to_owned()),
        b if b < 1024.0 * 1024.0 => (1024.0, format!("Ki{unit}")),
        _ => (1024.0 * 1024.0, format!("Mi{unit}")),
    }
}

/// Answer time and staleness; failed probes as red ticks along the bottom, answers
/// at ONE (the API's fallback when QUORUM is out of reach) as amber dots.
pub fn api(axes: &Axes, samples: &[ApiSample]) -> String {
    let words = axes.words;
    if samples.is_empty() {
        return axes.empty(words.api_title, words.no_samples);
    }
    axes.figure(words.api_title, 170.0, false, |out, frame| {
        let latency = |s: &ApiSample| s.ok.then_some(s.latency_ms);
        let staleness = |s: &ApiSample| s.staleness_ms;
        let values: Vec<u64> = samples
            .iter()
            .flat_map(|s| [latency(s), staleness(s)])
            .flatten()
            .collect();
        let (top, clipped) = api_top(&values);
        let y = Scale::new((0.0, top), frame.y_pixels());
        svg::y_axis(out, frame, &y, false, |v| tick_label(words, v));
        let point = |s: &ApiSample, value: Option<u64>| {
            value.map(|v| (axes.x_of(s.at), y.at((v as f64).min(top))))
        };
        let line = |value: fn(&ApiSample) -> Option<u64>| -> Vec<_> {
            samples.iter().map(|s| point(s, value(s))).collect()
        };
        svg::path(out, "staleness", &line(staleness));
        svg::path(out, "latency", &line(latency));
        let mut legend = vec![
            ("latency", Key::Line, words.latency),
            ("staleness", Key::Line, words.staleness),
        ];
        let at_one = |s: &&ApiSample| s.ok && s.consistency.as_deref() == Some("ONE");
        for s in samples.iter().filter(at_one) {
            svg::circle(out, "at-one", (axes.x_of(s.at), y.at(s.latency_ms as f64)));
        }
        if samples.iter().any(|s| at_one(&s)) {
            legend.push(("at-one", Key::Dot, words.answered_at_one));
        }
        let (bottom, _) = frame.y_pixels();
        for s in samples.iter().filter(|s| !s.ok) {
            let x = axes.x_of(s.at);
            svg::line(out, "failed-probe", (x, bottom), (x, bottom - 12.0));
        }
        if samples.iter().any(|s| !s.ok) {
            legend.push(("failed-probe", Key::Line, words.failed_probe));
        }
        if clipped {
            legend.push(("clipped", Key::Line, words.clipped_above));
        }
        legend
    })
}

/// The top of the API plot, and whether values above it are cut: the first answers
/// of a run may carry readings of an earlier run, hours old, which would flatten
/// every curve of the run itself; so the scale follows the 98th percentile (up to
/// twice it), and the rare larger values are drawn at the top.
fn api_top(values: &[u64]) -> (f64, bool) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let Some(&highest) = sorted.last() else {
        return (svg::round_up(0.0, 5), false);
    };
    let p98 = sorted[(sorted.len() - 1) * 98 / 100];
    let room = (p98 as f64 * 2.0).max(1000.0);
    if (highest as f64) <= room {
        (svg::round_up(highest as f64, 5), false)
    } else {
        (svg::round_up(room, 5), true)
    }
}

/// Which figure of an ingest sample a line draws.
type Figure = fn(&IngestSample) -> Option<f64>;

/// Readings written per second (left axis) and Kafka's lag (right axis, dashed).
pub fn ingest(axes: &Axes, samples: &[IngestSample]) -> String {
    let words = axes.words;
    let nothing = |s: &IngestSample| s.rate_per_s.is_none() && s.lag.is_none();
    if samples.iter().all(nothing) {
        return axes.empty(words.ingest_title, words.no_samples);
    }
    axes.figure(words.ingest_title, 150.0, false, |out, frame| {
        let mut legend = Vec::new();
        let series: [(_, Figure, _, _); 2] = [
            ("rate", |s| s.rate_per_s, false, words.rate),
            ("lag", |s| s.lag, true, words.lag),
        ];
        for (class, value, on_right, label) in series {
            let highest = samples.iter().filter_map(value).fold(0.0, f64::max);
            let y = Scale::new((0.0, svg::round_up(highest, 5)), frame.y_pixels());
            svg::y_axis(out, frame, &y, on_right, |v| tick_label(words, v));
            let point = |s: &IngestSample| Some((axes.x_of(s.at), y.at(value(s)?)));
            svg::path(out, class, &samples.iter().map(point).collect::<Vec<_>>());
            legend.push((class, Key::Line, label));
        }
        legend
    })
}

/// Bytes of hint files, one line per (holder → the node they are for); a holder whose
/// files could not be read leaves a gap.
pub fn hints(axes: &Axes, samples: &[HintsSample]) -> String {
    let words = axes.words;
    if samples.is_empty() {
        return axes.empty(words.hints_title, words.no_samples);
    }
    let held = samples.iter().filter_map(|s| Some((s, s.bytes.as_ref()?)));
    let pairs: BTreeSet<(&str, &str)> = (held.clone())
        .flat_map(|(s, bytes)| {
            bytes
                .keys()
                .map(|target| (s.node.as_str(), target.as_str()))
        })
        .collect();
    if pairs.is_empty() {
        return axes.empty(words.hints_title, words.hints_none);
    }
    let pair_labels: Vec<String> = pairs
        .iter()
        .map(|(holder, target)| format!("{holder} → {target}"))
        .collect();
    let highest = held.flat_map(|(_, bytes)| bytes.values().copied()).max();
    let (divisor, unit) = byte_unit(words, highest.unwrap_or(0) as f64);
    let top = svg::round_up(highest.unwrap_or(0) as f64 / divisor, 5);
    axes.figure(words.hints_title, 150.0, false, |out, frame| {
        let y = Scale::new((0.0, top), frame.y_pixels());
        svg::y_axis(out, frame, &y, false, |v| {
            format!("{} {unit}", tick_label(words, v))
        });
        let mut legend: Legend = Vec::new();
        for (index, (holder, target)) in pairs.iter().enumerate() {
            let point = |s: &HintsSample| {
                let bytes = s.bytes.as_ref()?.get(*target).copied().unwrap_or(0);
                Some((axes.x_of(s.at), y.at(bytes as f64 / divisor)))
            };
            let held_by = samples.iter().filter(|s| s.node == *holder);
            let class = PAIRS[index % PAIRS.len()];
            svg::path(out, class, &held_by.map(point).collect::<Vec<_>>());
            legend.push((class, Key::Line, pair_labels[index].as_str()));
        }
        legend
    })
}

/// One swimlane per (observer → peer): green UP, red DOWN, grey no answer or no sample.
pub fn views(axes: &Axes, samples: &[ViewSample]) -> String {
    let words = axes.words;
    if samples.is_empty() {
        return axes.empty(words.views_title, words.no_samples);
    }
    let observers: BTreeSet<&str> = samples.iter().map(|s| s.observer.as_str()).collect();
    let peers = samples
        .iter()
        .flat_map(|s| s.sees.iter().flatten().map(|(peer, _)| peer.as_str()));
    let nodes: BTreeSet<&str> = observers.iter().copied().chain(peers).collect();
    let lanes: Vec<(&str, &str)> = (observers.iter())
        .flat_map(|&observer| nodes.iter().map(move |&peer| (observer, peer)))
        .filter(|(observer, peer)| observer != peer)
        .collect();
    let inner = LANE_PX * lanes.len() as f64;
    axes.figure(words.views_title, inner, true, |out, frame| {
        let ((left, right), (_, top)) = (frame.x_pixels(), frame.y_pixels());
        for (index, &(observer, peer)) in lanes.iter().enumerate() {
            let (y, height) = (top + index as f64 * LANE_PX + 3.0, LANE_PX - 6.0);
            let name = format!("{observer} → {peer}");
            svg::text(out, "end", (left - 8.0, y + height - 4.0), &name);
            svg::rect(out, "unknown", (left, y), (right - left, height));
            let seen = seen_by(axes, samples, observer, peer);
            for (from, to, state) in svg::segments(&seen, VIEW_HOLDS_S, axes.x.domain().1) {
                let class = match state {
                    Some(SeenState::Up) => "up",
                    Some(SeenState::Down) => "down",
                    None => continue,
                };
                let (x0, x1) = (axes.x.at(from), axes.x.at(to));
                svg::rect(out, class, (x0, y), (x1 - x0, height));
            }
        }
        vec![
            ("up", Key::Block, words.up),
            ("down", Key::Block, words.down),
            ("unknown", Key::Block, words.no_answer),
        ]
    })
}

/// What `observer` said of `peer` at each of its samples, in seconds since the start;
/// `None` when it did not answer or did not mention the peer.
fn seen_by(
    axes: &Axes,
    samples: &[ViewSample],
    observer: &str,
    peer: &str,
) -> Vec<(f64, Option<SeenState>)> {
    let by_observer = samples.iter().filter(|s| s.observer == observer);
    let seen = |s: &ViewSample| s.sees.as_ref().and_then(|sees| sees.get(peer)).copied();
    by_observer
        .map(|s| (seconds_between(axes.start, s.at), seen(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::api_top;

    #[test]
    fn a_few_hours_old_first_answers_do_not_flatten_the_api_plot() {
        let mut values = vec![900_u64; 200];
        values.extend([40, 60, 1_400]);
        let (top, clipped) = api_top(&values);
        assert!(!clipped && top >= 1400.0, "{top}");
        values.extend([18_000_000, 18_000_500]);
        let (top, clipped) = api_top(&values);
        assert!(clipped && (1800.0..3000.0).contains(&top), "{top}");
        assert_eq!(api_top(&[]), (1.0, false));
    }
}
