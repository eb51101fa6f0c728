//! Plots as inline SVG, from plain numbers: scales, tick choice, line paths,
//! swimlane segments, and the few elements a plot is made of.
//!
//! The report must open offline and print, so it cannot lean on a charting
//! library; these primitives are all its plots need. They know nothing of
//! journals (`plots` turns the timeline into numbers) and nothing of colours
//! (each element has a class the page's stylesheet colours). Every plot has the
//! same width and margins, so one time falls at the same place on every plot.
//! No `url(...)` anywhere (no pattern, marker or clip path): the page holds no
//! address at all.

use std::fmt::Write;

use super::escape;

/// Room left of the plot area for lane names and the left axis.
const LEFT: f64 = 110.0;
/// Room right of it for a second axis.
const RIGHT: f64 = 64.0;
/// Room above it for the legend and the fault labels.
const TOP: f64 = 44.0;
/// Room below it for the time axis.
const BOTTOM: f64 = 40.0;
/// Every plot's width in SVG pixels; the page scales it to the column.
const WIDTH: f64 = 1000.0;

/// One plot's drawing: a plot area with room for axes and legend around it.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    height: f64,
}

impl Frame {
    /// A frame whose plot area is `inner` pixels tall.
    pub fn around(inner: f64) -> Self {
        Self {
            height: TOP + inner + BOTTOM,
        }
    }

    pub fn x_pixels(&self) -> (f64, f64) {
        (LEFT, WIDTH - RIGHT)
    }

    /// Bottom first: a larger value is drawn higher.
    pub fn y_pixels(&self) -> (f64, f64) {
        (self.height - BOTTOM, TOP)
    }
}

/// A linear map from values to pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    low: f64,
    high: f64,
    from: f64,
    to: f64,
}

impl Scale {
    /// Maps `low..high` onto `from..to`; an empty domain is widened by one so nothing
    /// divides by zero (a series that never moves is drawn flat).
    pub fn new((low, high): (f64, f64), (from, to): (f64, f64)) -> Self {
        let high = if high > low { high } else { low + 1.0 };
        Self {
            low,
            high,
            from,
            to,
        }
    }

    /// The pixel of `value`, clamped to the domain: nothing is drawn outside the frame.
    pub fn at(&self, value: f64) -> f64 {
        let value = value.clamp(self.low, self.high);
        self.from + (value - self.low) / (self.high - self.low) * (self.to - self.from)
    }

    pub fn domain(&self) -> (f64, f64) {
        (self.low, self.high)
    }
}

/// The round step (1, 2 or 5 times a power of ten) nearest to `span / count`.
fn step(span: f64, count: usize) -> f64 {
    let raw = (span / count.max(1) as f64).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let distance = |factor: f64| (factor * magnitude / raw).ln().abs();
    let factors = [1.0, 2.0, 5.0, 10.0].into_iter();
    magnitude
        * factors
            .min_by(|a, b| distance(*a).total_cmp(&distance(*b)))
            .unwrap_or(1.0)
}

/// Round values within `low..=high`, about `count` of them.
pub fn ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    if high.is_nan() || low.is_nan() || high <= low {
        return vec![low];
    }
    let step = step(high - low, count);
    let (first, last) = (
        (low / step).ceil() as i64,
        (high / step + 1e-9).floor() as i64,
    );
    (first..=last).map(|index| index as f64 * step).collect()
}

/// The smallest round value at least `max`: the top of a y axis starting at 0.
pub fn round_up(max: f64, count: usize) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    let step = step(max, count);
    (max / step - 1e-9).ceil() * step
}

/// An SVG path through pixel points; `None` breaks the line (a missing sample is a
/// gap, not a straight line across it).
pub fn line_path(points: &[Option<(f64, f64)>]) -> String {
    let mut path = String::new();
    let mut pen_down = false;
    for point in points {
        if let Some((x, y)) = point {
            let command = if pen_down { 'L' } else { 'M' };
            let _ = write!(path, "{command}{x:.1},{y:.1}");
        }
        pen_down = point.is_some();
    }
    path
}

/// Spans of constant state from samples in time order: each sample holds until the
/// next one, but at most `hold` seconds (longer means samples are missing) and never
/// past `end`; neighbouring spans of the same state are merged.
pub fn segments<T: Copy + PartialEq>(
    samples: &[(f64, T)],
    hold: f64,
    end: f64,
) -> Vec<(f64, f64, T)> {
    let mut spans: Vec<(f64, f64, T)> = Vec::new();
    for (index, &(start, state)) in samples.iter().enumerate() {
        let next = samples.get(index + 1).map_or(end, |&(at, _)| at);
        let stop = next.min(start + hold).min(end);
        match spans.last_mut() {
            _ if stop <= start => {}
            Some(last) if last.2 == state && (last.1 - start).abs() < 1e-9 => last.1 = stop,
            _ => spans.push((start, stop, state)),
        }
    }
    spans
}

pub fn line(out: &mut String, class: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
    let _ = write!(
        out,
        r#"<line class="{class}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"/>"#
    );
}

pub fn rect(out: &mut String, class: &str, (x, y): (f64, f64), (width, height): (f64, f64)) {
    let width = width.max(0.5);
    let _ = write!(
        out,
        r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}"/>"#
    );
}

pub fn circle(out: &mut String, class: &str, (x, y): (f64, f64)) {
    let _ = write!(
        out,
        r#"<circle class="{class}" cx="{x:.1}" cy="{y:.1}" r="4"/>"#
    );
}

/// Text at a point; `class` also says where it is anchored ("end", "mid").
pub fn text(out: &mut String, class: &str, (x, y): (f64, f64), content: &str) {
    let content = escape(content);
    let _ = write!(
        out,
        r#"<text class="{class}" x="{x:.1}" y="{y:.1}">{content}</text>"#
    );
}

/// A line through pixel points (see [`line_path`]).
pub fn path(out: &mut String, class: &str, points: &[Option<(f64, f64)>]) {
    let _ = write!(out, r#"<path class="{class}" d="{}"/>"#, line_path(points));
}

/// The opening tag of a plot; the caller closes it with `</svg>`.
pub fn open(frame: Frame, label: &str) -> String {
    let (height, label) = (frame.height, escape(label));
    format!(r#"<svg class="plot" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}">"#)
}

/// The time axis along the bottom, with light vertical grid lines.
pub fn x_axis(
    out: &mut String,
    frame: Frame,
    x: &Scale,
    label: &str,
    format: impl Fn(f64) -> String,
) {
    let ((bottom, top), (left, right)) = (frame.y_pixels(), frame.x_pixels());
    for tick in ticks(x.domain().0, x.domain().1, 12) {
        line(out, "grid", (x.at(tick), top), (x.at(tick), bottom));
        text(out, "mid", (x.at(tick), bottom + 16.0), &format(tick));
    }
    line(out, "axis", (left, bottom), (right, bottom));
    text(out, "mid", ((left + right) / 2.0, bottom + 33.0), label);
}

/// A value axis on the left of the plot area (with grid lines) or on its right.
pub fn y_axis(
    out: &mut String,
    frame: Frame,
    y: &Scale,
    on_right: bool,
    format: impl Fn(f64) -> String,
) {
    let ((bottom, top), (left, right)) = (frame.y_pixels(), frame.x_pixels());
    let (px, class, offset) = if on_right {
        (right, "", 6.0)
    } else {
        (left, "end", -6.0)
    };
    line(out, "axis", (px, top), (px, bottom));
    for tick in ticks(y.domain().0, y.domain().1, 5) {
        if !on_right {
            line(out, "grid", (left, y.at(tick)), (right, y.at(tick)));
        }
        text(out, class, (px + offset, y.at(tick) + 4.0), &format(tick));
    }
}

/// A shaded window between two x pixels over the plot area, labelled at its top.
pub fn window(out: &mut String, frame: Frame, (x0, x1): (f64, f64), label: &str) {
    let (bottom, top) = frame.y_pixels();
    rect(out, "fault", (x0, top), (x1 - x0, bottom - top));
    text(out, "fault-label", (x0 + 3.0, top - 4.0), label);
}

/// How a legend entry shows its class.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    Line,
    Block,
    Dot,
}

/// The legend along the top of the frame, on a second row if the first is full.
pub fn legend(out: &mut String, entries: &[(&str, Key, &str)]) {
    let (mut x, mut y) = (LEFT, 12.0);
    for &(class, key, label) in entries {
        // About 6.5 pixels a character at 12 px.
        let width = 41.0 + 6.5 * label.chars().count() as f64;
        if x + width > WIDTH && x > LEFT {
            (x, y) = (LEFT, y + 16.0);
        }
        match key {
            Key::Line => line(out, class, (x, y), (x + 18.0, y)),
            Key::Block => rect(out, class, (x, y - 5.0), (18.0, 10.0)),
            Key::Dot => circle(out, class, (x + 9.0, y)),
        }
        text(out, "", (x + 23.0, y + 4.0), label);
        x += width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_linearly_clamp_and_survive_an_empty_domain() {
        let scale = Scale::new((0.0, 10.0), (100.0, 200.0));
        assert_eq!((scale.at(0.0), scale.at(5.0)), (100.0, 150.0));
        assert_eq!((scale.at(20.0), scale.at(-1.0)), (200.0, 100.0));
        assert_eq!(Scale::new((0.0, 4.0), (300.0, 100.0)).at(1.0), 250.0);
        let empty = Scale::new((3.0, 3.0), (0.0, 10.0));
        assert_eq!(empty.at(3.0), 0.0);
        assert!(empty.at(3.5).is_finite());
    }

    #[test]
    fn ticks_are_round_and_inside_the_domain() {
        let every_five: Vec<f64> = (0..13).map(|i| i as f64 * 5.0).collect();
        assert_eq!(ticks(0.0, 62.0, 12), every_five);
        assert_eq!(
            ticks(0.0, 1000.0, 5),
            [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]
        );
        assert_eq!(ticks(0.0, 0.0, 5), [0.0]);
        assert_eq!((round_up(1064.0, 5), round_up(1000.0, 5)), (1200.0, 1000.0));
        assert_eq!((round_up(0.0, 5), round_up(7.3, 5)), (1.0, 8.0));
    }

    #[test]
    fn a_missing_point_breaks_the_line() {
        let points = [
            Some((1.0, 2.0)),
            Some((3.0, 4.0)),
            None,
            Some((5.0, 6.0)),
            None,
        ];
        assert_eq!(line_path(&points), "M1.0,2.0L3.0,4.0M5.0,6.0");
        assert_eq!(line_path(&[None]), "");
    }

    #[test]
    fn segments_merge_equal_states_and_stop_at_gaps_and_the_end() {
        let samples = [(0.0, 'u'), (1.0, 'u'), (2.0, 'd'), (3.0, 'd'), (10.0, 'u')];
        let spans = [(0.0, 2.0, 'u'), (2.0, 5.0, 'd'), (10.0, 11.5, 'u')];
        assert_eq!(segments(&samples, 2.0, 11.5), spans);
        assert!(segments::<char>(&[], 2.0, 5.0).is_empty());
        assert!(segments(&[(6.0, 'u')], 2.0, 5.0).is_empty());
    }
}
