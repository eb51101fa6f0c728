//! Reading a scenario file: TOML in, a checked [`Scenario`] out, or an error
//! that names the file, line and column and says what was expected.
//!
//! Scenario files are edited by hand the evening before the demo; a typo must
//! be caught before the first step runs, at the place it was made.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Visitor};
use toml::Spanned;

use super::model::{Location, NodeArg, NodeRef, Scenario, Settings, Step};
use super::step::{Action, ModeChoice, StepKind};
use super::ui::Language;

/// A scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{}:{}: {message}\n{excerpt}", path.display(), at.line, at.column)]
    Invalid {
        path: PathBuf,
        at: Location,
        message: String,
        /// The offending line with a caret under the place.
        excerpt: String,
    },
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Checks scenario text; `path` only names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let source = Source { path, text };
    let raw: RawScenario = toml::from_str(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        source.error(span, err.message().trim_end().to_owned())
    })?;
    raw.check(&source)
}

/// The file being checked, to turn byte spans into located errors.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    fn error(&self, span: Range<usize>, message: String) -> ScenarioError {
        let at = self.location(span.start);
        let line_text = self.text.lines().nth(at.line - 1).unwrap_or("");
        let width = self
            .text
            .get(span.clone())
            .unwrap_or("")
            .lines()
            .next()
            .map_or(1, |first| first.chars().count().max(1));
        let gutter = at.line.to_string().len();
        let excerpt = format!(
            "{:gutter$} |\n{} | {line_text}\n{:gutter$} | {}{}",
            "",
            at.line,
            "",
            " ".repeat(at.column - 1),
            "^".repeat(width),
        );
        ScenarioError::Invalid {
            path: self.path.to_path_buf(),
            at,
            message,
            excerpt,
        }
    }

    fn error_at<T>(&self, spanned: &Spanned<T>, message: String) -> ScenarioError {
        self.error(spanned.span(), message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    title: String,
    description: Option<String>,
    settings: Option<RawSettings>,
    steps: Spanned<Vec<Spanned<RawStep>>>,
}

/// A step's table as written: which keys a step takes depends on its kind,
/// so they are checked against the kind's own list (`step/<kind>.rs`).
type RawStep = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    /// Default node of kill-node, wait-node-state, start-node and expect-catch-up.
    node: Option<Spanned<NodeRef>>,
    /// Default mode of kill-node.
    mode: Option<Spanned<String>>,
    sensors: Option<Spanned<u32>>,
    rate: Option<Spanned<f64>>,
    sensor_prefix: Option<Spanned<String>>,
    lab_pace: Option<Spanned<f64>>,
    /// Language of the terminal's words: "fr" (default) or "en".
    lang: Option<Spanned<String>>,
    /// Seed of the random choices.
    seed: Option<Spanned<u64>>,
    /// Bound of the whole run.
    max_duration: Option<Spanned<Seconds>>,
    /// The contrast lane (replication factor 1) alongside the main data.
    contrast: Option<bool>,
}

/// Keys every kind accepts.
const COMMON_KEYS: &[&str] = &["kind", "say", "label"];

impl RawScenario {
    fn check(self, source: &Source<'_>) -> Result<Scenario, ScenarioError> {
        let defaults = Defaults::check(self.settings, source)?;
        if self.steps.get_ref().is_empty() {
            return Err(source.error_at(&self.steps, "a scenario needs at least one step".into()));
        }
        let mut steps = Vec::new();
        for step in self.steps.into_inner() {
            if is_repeat(step.get_ref()) {
                let body = repeat(step, source)?;
                for raw in body {
                    steps.push(check_step(steps.len() + 1, raw, &defaults, source)?);
                }
            } else {
                steps.push(check_step(steps.len() + 1, step, &defaults, source)?);
            }
        }
        Ok(Scenario {
            title: self.title,
            description: self.description,
            settings: defaults.settings,
            steps,
        })
    }
}

/// Settings after checking, with the step defaults they provide.
struct Defaults {
    settings: Settings,
    node: Option<NodeArg>,
    mode: Option<ModeChoice>,
}

impl Defaults {
    fn check(raw: Option<RawSettings>, source: &Source<'_>) -> Result<Self, ScenarioError> {
        let mut settings = Settings::default();
        let Some(raw) = raw else {
            return Ok(Self {
                settings,
                node: None,
                mode: None,
            });
        };
        if let Some(sensors) = raw.sensors {
            if !(1..=1000).contains(sensors.get_ref()) {
                return Err(source.error_at(&sensors, "sensors must be between 1 and 1000".into()));
            }
            settings.sensors = sensors.into_inner();
        }
        if let Some(rate) = raw.rate {
            if !(rate.get_ref().is_finite() && *rate.get_ref() > 0.0 && *rate.get_ref() <= 1000.0) {
                return Err(source.error_at(
                    &rate,
                    "rate (readings per second per sensor) must be above 0 and at most 1000".into(),
                ));
            }
            settings.rate = rate.into_inner();
        }
        if let Some(prefix) = raw.sensor_prefix {
            let valid = !prefix.get_ref().is_empty()
                && prefix.get_ref().len() <= 40
                && prefix
                    .get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                return Err(source.error_at(
                    &prefix,
                    "sensor_prefix must be 1 to 40 characters among A-Z a-z 0-9 _ . -".into(),
                ));
            }
            settings.sensor_prefix = prefix.into_inner();
        }
        if let Some(pace) = raw.lab_pace {
            if !(pace.get_ref().is_finite() && *pace.get_ref() > 0.0 && *pace.get_ref() <= 1.0) {
                return Err(source.error_at(&pace, "lab_pace must be above 0 and at most 1".into()));
            }
            settings.lab_pace = pace.into_inner();
        }
        if let Some(lang) = raw.lang {
            settings.lang = match lang.get_ref().as_str() {
                "fr" => Language::Fr,
                "en" => Language::En,
                other => {
                    return Err(source.error_at(
                        &lang,
                        format!("unknown language \"{other}\"; expected \"fr\" or \"en\""),
                    ));
                }
            };
        }
        settings.seed = raw.seed.map(Spanned::into_inner);
        settings.contrast = raw.contrast.unwrap_or(false);
        if let Some(bound) = raw.max_duration {
            if bound.get_ref().0.is_zero() {
                return Err(source.error_at(&bound, "max_duration must be above zero".into()));
            }
            settings.max_duration = Some(bound.get_ref().0);
        }
        let mode = raw.mode.map(|mode| kill_mode(&mode, source)).transpose()?;
        Ok(Self {
            settings,
            node: raw.node.map(|node| node_arg(node, source)),
            mode,
        })
    }
}

fn check_step(
    number: usize,
    spanned: Spanned<RawStep>,
    defaults: &Defaults,
    source: &Source<'_>,
) -> Result<Step, ScenarioError> {
    let span = spanned.span();
    let raw = spanned.into_inner();
    let fields = |kind| Fields {
        number,
        kind,
        span: span.clone(),
        raw: &raw,
        defaults,
        source,
    };
    let Some((_, kind_value)) = raw.iter().find(|(key, _)| key.get_ref() == "kind") else {
        return Err(source.error(span.clone(), "missing field `kind`".into()));
    };
    let Some(name) = kind_value.get_ref().as_str() else {
        return Err(source.error_at(kind_value, "`kind` must be a string".into()));
    };
    let Some(kind) = StepKind::from_name(name) else {
        let names: Vec<&str> = StepKind::ALL.iter().map(|kind| kind.name()).collect();
        let hint = closest(name, &names)
            .map(|near| format!(" (did you mean \"{near}\"?)"))
            .unwrap_or_default();
        return Err(source.error_at(
            kind_value,
            format!(
                "unknown step kind \"{name}\"{hint}; expected one of: {}",
                names.join(", ")
            ),
        ));
    };
    let fields = fields(kind);
    fields.check_keys()?;
    let say = match fields.text("say")? {
        Some(say) if !say.get_ref().trim().is_empty() => say.get_ref().trim().to_owned(),
        Some(say) => return Err(source.error_at(&say, "`say` must not be empty".into())),
        None => return Err(fields.missing("`say`, its narration")),
    };
    let label = fields
        .text("label")?
        .map(|label| label.get_ref().trim().to_owned());
    let action = Action::parse(kind, &fields)?;
    Ok(Step {
        number,
        at: source.location(span.start),
        say,
        label,
        action,
    })
}

/// The most a `repeat` step may repeat its steps.
const MAX_REPEAT: i64 = 100;

fn is_repeat(raw: &RawStep) -> bool {
    raw.iter()
        .any(|(key, value)| key.get_ref() == "kind" && value.get_ref().as_str() == Some("repeat"))
}

/// A `repeat` step (`times`, `steps`: an array of step tables) unrolled into its
/// steps, `times` over, in order. The body's keys carry the place of its `steps`
/// array (TOML values inside an array keep no place of their own).
fn repeat(
    spanned: Spanned<RawStep>,
    source: &Source<'_>,
) -> Result<Vec<Spanned<RawStep>>, ScenarioError> {
    let span = spanned.span();
    let raw = spanned.into_inner();
    let value = |key: &str| {
        raw.iter()
            .find(|(name, _)| name.get_ref() == key)
            .map(|(_, value)| value)
    };
    if let Some((key, _)) = raw
        .iter()
        .find(|(key, _)| !["kind", "times", "steps"].contains(&key.get_ref().as_str()))
    {
        return Err(source.error_at(
            key,
            format!(
                "unknown field `{}`; a repeat step takes: kind, times, steps",
                key.get_ref()
            ),
        ));
    }
    let times = match value("times") {
        Some(times) => match times.get_ref().as_integer() {
            Some(n) if (1..=MAX_REPEAT).contains(&n) => n,
            _ => {
                return Err(source.error_at(
                    times,
                    format!("`times` must be a whole number from 1 to {MAX_REPEAT}"),
                ));
            }
        },
        None => return Err(source.error(span, "a repeat step is missing `times`".into())),
    };
    let Some(body) = value("steps") else {
        return Err(source.error(span, "a repeat step is missing `steps`".into()));
    };
    let tables = match body.get_ref().as_array() {
        Some(tables) if !tables.is_empty() => tables,
        _ => {
            return Err(source.error_at(
                body,
                "`steps` must be a non-empty array of step tables".into(),
            ));
        }
    };
    let at = body.span();
    let mut steps = Vec::new();
    for table in tables {
        let Some(table) = table.as_table() else {
            return Err(source.error_at(body, "each of `steps` must be a step table".into()));
        };
        if table.get("kind").and_then(toml::Value::as_str) == Some("repeat") {
            return Err(source.error_at(body, "a repeat step cannot hold another".into()));
        }
        let step: RawStep = table
            .iter()
            .map(|(key, value)| {
                (
                    Spanned::new(at.clone(), key.clone()),
                    Spanned::new(at.clone(), value.clone()),
                )
            })
            .collect();
        steps.push(Spanned::new(at.clone(), step));
    }
    let once = steps.clone();
    for _ in 1..times {
        steps.extend(once.iter().cloned());
    }
    Ok(steps)
}

/// One step's keys, for the kind's own parser: typed values with the
/// scenario's defaults, and errors located in the file.
pub(crate) struct Fields<'a> {
    number: usize,
    kind: StepKind,
    span: Range<usize>,
    raw: &'a RawStep,
    defaults: &'a Defaults,
    source: &'a Source<'a>,
}

impl Fields<'_> {
    /// Every key is the kind's (or common); an unknown one and one of
    /// another kind are refused where they are written.
    fn check_keys(&self) -> Result<(), ScenarioError> {
        let accepted = Action::keys(self.kind);
        let takes = || -> String {
            COMMON_KEYS
                .iter()
                .chain(accepted)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (key, value) in self.raw {
            let name = key.get_ref().as_str();
            if COMMON_KEYS.contains(&name) || accepted.contains(&name) {
                continue;
            }
            let known = StepKind::ALL
                .iter()
                .any(|kind| Action::keys(*kind).contains(&name));
            let message = if known {
                format!(
                    "`{name}` does not apply to a {} step; it takes: {}",
                    self.kind,
                    takes()
                )
            } else {
                let mine: Vec<&str> = COMMON_KEYS.iter().chain(accepted).copied().collect();
                let hint = closest(name, &mine)
                    .map(|near| format!(" (did you mean `{near}`?)"))
                    .unwrap_or_default();
                format!(
                    "unknown field `{name}`{hint}; a {} step takes: {}",
                    self.kind,
                    takes()
                )
            };
            let span = if known { value.span() } else { key.span() };
            return Err(self.source.error(span, message));
        }
        Ok(())
    }

    fn value(&self, key: &str) -> Option<&Spanned<toml::Value>> {
        self.raw
            .iter()
            .find(|(name, _)| name.get_ref() == key)
            .map(|(_, value)| value)
    }

    /// The value of `key` as a `T`, or the deserializer's complaint at its place.
    fn typed<T: de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Spanned<T>>, ScenarioError> {
        let Some(value) = self.value(key) else {
            return Ok(None);
        };
        T::deserialize(value.get_ref().clone())
            .map(|typed| Some(Spanned::new(value.span(), typed)))
            .map_err(|err| self.error_at(value, err.message().trim_end().to_owned()))
    }

    /// A text parameter, with where it is written.
    pub fn text(&self, key: &str) -> Result<Option<Spanned<String>>, ScenarioError> {
        self.typed(key)
    }

    /// A true/false parameter, or its default.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, ScenarioError> {
        Ok(self
            .typed::<bool>(key)?
            .map_or(default, Spanned::into_inner))
    }

    /// A duration parameter, or its default; zero is refused (every wait is bounded and real).
    pub fn seconds(&self, key: &str, default: f64) -> Result<Duration, ScenarioError> {
        match self.typed::<Seconds>(key)? {
            None => Ok(Duration::from_secs_f64(default)),
            Some(value) if value.get_ref().0.is_zero() => {
                Err(self.error_at(&value, "a duration must be above zero".into()))
            }
            Some(value) => Ok(value.get_ref().0),
        }
    }

    /// The step's node, or the scenario's default node.
    pub fn node(&self, key: &str) -> Result<NodeArg, ScenarioError> {
        match (self.optional_node(key)?, &self.defaults.node) {
            (Some(node), _) => Ok(node),
            (None, Some(default)) => Ok(default.clone()),
            (None, None) => Err(self.missing(&format!(
                "`{key}` (or set a default with `{key}` in [settings])"
            ))),
        }
    }

    /// A node parameter without default.
    pub fn optional_node(&self, key: &str) -> Result<Option<NodeArg>, ScenarioError> {
        Ok(self
            .typed::<NodeRef>(key)?
            .map(|node| node_arg(node, self.source)))
    }

    /// A kill-node mode as written.
    pub fn kill_mode(&self, mode: &Spanned<String>) -> Result<ModeChoice, ScenarioError> {
        kill_mode(mode, self.source)
    }

    /// `mode` of the scenario's [settings].
    pub fn default_kill_mode(&self) -> Option<ModeChoice> {
        self.defaults.mode
    }

    /// "step 3 (kind) is missing `what`", at the step's table.
    pub fn missing(&self, what: &str) -> ScenarioError {
        self.source.error(
            self.span.clone(),
            format!("step {} ({}) is missing {what}", self.number, self.kind),
        )
    }

    /// An error at a value of the step.
    pub fn error_at<T>(&self, spanned: &Spanned<T>, message: String) -> ScenarioError {
        self.source.error_at(spanned, message)
    }
}

fn node_arg(node: Spanned<NodeRef>, source: &Source<'_>) -> NodeArg {
    NodeArg {
        at: source.location(node.span().start),
        node: node.into_inner(),
    }
}

fn kill_mode(mode: &Spanned<String>, source: &Source<'_>) -> Result<ModeChoice, ScenarioError> {
    ModeChoice::from_name(mode.get_ref()).ok_or_else(|| {
        source.error_at(
            mode,
            format!(
                "unknown mode \"{}\"; expected one of: stop, kill, freeze, isolate, manual, random",
                mode.get_ref()
            ),
        )
    })
}

/// The candidate at the smallest edit distance, when it is close enough to be a typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A duration written as a number of seconds (`20`, `0.25`) or with a unit
/// (`"250ms"`, `"20s"`, `"2m"`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seconds(Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecondsVisitor)
    }
}

struct SecondsVisitor;

impl SecondsVisitor {
    fn from_f64<E: de::Error>(seconds: f64) -> Result<Seconds, E> {
        if !seconds.is_finite() || !(0.0..=86_400.0).contains(&seconds) {
            return Err(E::custom(format!(
                "a duration must be between 0 and 86400 seconds, not {seconds}"
            )));
        }
        Ok(Seconds(Duration::from_secs_f64(seconds)))
    }
}

impl Visitor<'_> for SecondsVisitor {
    type Value = Seconds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a duration: seconds (20, 0.25) or a string with a unit (\"250ms\", \"20s\", \"2m\")",
        )
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Seconds, E> {
        Self::from_f64(seconds as f64)
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Seconds, E> {
        Self::from_f64(seconds as f64)
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Seconds, E> {
        Self::from_f64(seconds)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Seconds, E> {
        let text = text.trim();
        let (number, scale) = if let Some(number) = text.strip_suffix("ms") {
            (number, 0.001)
        } else if let Some(number) = text.strip_suffix('s') {
            (number, 1.0)
        } else if let Some(number) = text.strip_suffix('m') {
            (number, 60.0)
        } else {
            (text, 1.0)
        };
        let value: f64 = number.trim().parse().map_err(|_| {
            E::custom(format!(
                "\"{text}\" is not a duration; write e.g. 20, \"250ms\", \"20s\" or \"2m\""
            ))
        })?;
        Self::from_f64(value * scale)
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeRefVisitor)
    }
}

struct NodeRefVisitor;

impl Visitor<'_> for NodeRefVisitor {
    type Value = NodeRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node: its name (\"PC2\"), its PC number (2), \"random\" or \"last\"")
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<NodeRef, E> {
        u32::try_from(number)
            .ok()
            .filter(|number| *number >= 1)
            .map(NodeRef::Number)
            .ok_or_else(|| E::custom(format!("a PC number starts at 1, not {number}")))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<NodeRef, E> {
        self.visit_i64(i64::try_from(number).unwrap_or(-1))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<NodeRef, E> {
        let name = name.trim();
        match name {
            "" => Err(E::custom("a node name must not be empty")),
            "random" => Ok(NodeRef::Random),
            "last" => Ok(NodeRef::Last),
            _ => Ok(NodeRef::Name(name.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::FaultMode;
    use crate::scenario::step::{
        ExpectContinuity, KillMode, KillNode, Pause, Verify, VerifyConsistency, WaitNodeState,
        WantedState,
    };
    use test_support::assert_contains;

    fn parse_str(text: &str) -> Result<Scenario, ScenarioError> {
        parse(Path::new("test.toml"), text)
    }

    #[test]
    fn every_committed_scenario_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenario");
        let mut loaded = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("scenario/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                load(&path).unwrap_or_else(|err| panic!("{err}"));
                loaded.push(path);
            }
        }
        assert!(loaded.len() >= 7, "{loaded:?}");
    }

    /// The location and message of an error that must be `Invalid`.
    fn invalid(text: &str) -> (usize, usize, String) {
        match parse_str(text) {
            Err(ScenarioError::Invalid { at, message, .. }) => (at.line, at.column, message),
            other => panic!("expected an invalid scenario, got {other:?}"),
        }
    }

    const GOOD: &str = r#"
title = "Démo"

[settings]
node = "PC2"
mode = "freeze"
rate = 2
lab_pace = 0.5

[[steps]]
kind = "check-cluster"
say = "Le cluster est complet."

[[steps]]
kind = "kill-node"
say = "On débranche PC2."

[[steps]]
kind = "expect-continuity"
say = "Le graphique continue."
duration = "12s"
poll = "250ms"

[[steps]]
kind = "wait-node-state"
say = "PC2 est vu DOWN."
state = "down"
node = 2

[[steps]]
kind = "capture"
say = "nodetool status"
from = "PC1"

[[steps]]
kind = "verify"
say = "Rien n'est perdu."
consistency = "all"
stop_producer = false
"#;

    #[test]
    fn a_good_scenario_gets_its_defaults() {
        let scenario = parse_str(GOOD).expect("good scenario");
        assert_eq!(scenario.title, "Démo");
        assert_eq!(scenario.settings.rate, 2.0);
        assert_eq!(scenario.settings.lab_pace, 0.5);
        assert_eq!(scenario.settings.sensors, 5);
        assert_eq!(scenario.steps.len(), 6);
        assert_eq!(scenario.steps[0].at.line, 10);
        match &scenario.steps[1].action {
            Action::KillNode(KillNode {
                node,
                mode,
                timeout,
            }) => {
                assert_eq!(node.node, NodeRef::Name("PC2".into()));
                assert_eq!(node.at, Location { line: 5, column: 8 });
                assert_eq!(*mode, ModeChoice::Given(KillMode::Fault(FaultMode::Freeze)));
                assert_eq!(*timeout, Duration::from_secs(120));
            }
            other => panic!("unexpected {other:?}"),
        }
        match &scenario.steps[2].action {
            Action::ExpectContinuity(ExpectContinuity {
                duration,
                max_staleness,
                poll,
            }) => {
                assert_eq!(*duration, Duration::from_secs(12));
                assert_eq!(*max_staleness, Duration::from_secs(5));
                assert_eq!(*poll, Duration::from_millis(250));
            }
            other => panic!("unexpected {other:?}"),
        }
        match &scenario.steps[3].action {
            Action::WaitNodeState(WaitNodeState { node, state, .. }) => {
                assert_eq!(node.node, NodeRef::Number(2));
                assert_eq!(*state, WantedState::Down);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            scenario.steps[5].action,
            Action::Verify(Verify {
                timeout: Duration::from_secs(60),
                consistency: VerifyConsistency::All,
                stop_producer: false,
            })
        );
    }

    #[test]
    fn isolate_is_a_mode_of_kill_node_and_of_the_settings() {
        let text = "title = \"t\"\n[settings]\nmode = \"isolate\"\n\
                    [[steps]]\nkind = \"kill-node\"\nsay = \"x\"\nnode = 2\n\
                    [[steps]]\nkind = \"kill-node\"\nsay = \"y\"\nnode = 3\nmode = \"kill\"\n";
        let scenario = parse_str(text).expect("isolate is a mode");
        let modes: Vec<ModeChoice> = scenario
            .steps
            .iter()
            .filter_map(|step| match &step.action {
                Action::KillNode(kill) => Some(kill.mode),
                _ => None,
            })
            .collect();
        assert_eq!(
            modes,
            [
                ModeChoice::Given(KillMode::Fault(FaultMode::Isolate)),
                ModeChoice::Given(KillMode::Fault(FaultMode::Kill))
            ]
        );
        assert_eq!(KillMode::Fault(FaultMode::Isolate).to_string(), "isolate");
    }

    #[test]
    fn an_unknown_kind_is_pointed_at_with_a_suggestion() {
        let (line, column, message) =
            invalid("title = \"t\"\n[[steps]]\nkind = \"kil-node\"\nsay = \"x\"\nnode = 2\n");
        assert_eq!((line, column), (3, 8));
        assert_contains(&message, "unknown step kind \"kil-node\"");
        assert_contains(&message, "did you mean \"kill-node\"");
    }

    #[test]
    fn a_missing_narration_names_the_step() {
        let (line, _, message) = invalid("title = \"t\"\n\n[[steps]]\nkind = \"pause\"\n");
        assert_eq!(line, 3);
        assert_contains(&message, "missing `say`");
    }

    #[test]
    fn a_missing_node_without_default_is_reported() {
        let (line, _, message) =
            invalid("title = \"t\"\n[[steps]]\nkind = \"start-node\"\nsay = \"x\"\n");
        assert_eq!(line, 2);
        assert_contains(&message, "missing `node`");
    }

    #[test]
    fn a_field_of_another_kind_is_refused_where_it_is() {
        let (line, column, message) =
            invalid("title = \"t\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\nnode = \"PC1\"\n");
        assert_eq!((line, column), (5, 8));
        assert_contains(&message, "`node` does not apply to a pause step");
    }

    #[test]
    fn an_unknown_field_is_refused_where_it_is() {
        let (line, column, message) =
            invalid("title = \"t\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\ndurration = 3\n");
        assert_eq!((line, column), (5, 1));
        assert_contains(&message, "unknown field `durration`");
    }

    #[test]
    fn a_repeat_unrolls_its_steps_and_the_settings_bound_and_seed_the_run() {
        let text = "title = \"t\"\n[settings]\nseed = 7\nmax_duration = \"10m\"\n\
            [[steps]]\nkind = \"pause\"\nsay = \"first\"\n\
            [[steps]]\nkind = \"repeat\"\ntimes = 2\nsteps = [\n\
              { kind = \"kill-node\", say = \"out\", node = \"random\", mode = \"random\" },\n\
              { kind = \"start-node\", say = \"back\", node = \"last\" },\n]\n\
            [[steps]]\nkind = \"verify\"\nsay = \"last\"\n";
        let scenario = parse_str(text).expect("valid");
        assert_eq!(scenario.settings.seed, Some(7));
        assert_eq!(
            scenario.settings.max_duration,
            Some(Duration::from_secs(600))
        );
        let kinds: Vec<&str> = scenario
            .steps
            .iter()
            .map(|s| s.action.kind().name())
            .collect();
        assert_eq!(
            kinds,
            [
                "pause",
                "kill-node",
                "start-node",
                "kill-node",
                "start-node",
                "verify"
            ]
        );
        let numbers: Vec<usize> = scenario.steps.iter().map(|s| s.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
        let Action::KillNode(kill) = &scenario.steps[1].action else {
            panic!("a kill-node")
        };
        assert_eq!(
            (kill.node.node.clone(), kill.mode),
            (NodeRef::Random, ModeChoice::Random)
        );

        let repeat = |body: &str| format!("title = \"t\"\n[[steps]]\nkind = \"repeat\"\n{body}");
        let (line, _, message) = invalid(&repeat(
            "times = 0\nsteps = [{ kind = \"pause\", say = \"x\" }]\n",
        ));
        assert_eq!(line, 4);
        assert_contains(&message, "from 1 to 100");
        let (_, _, message) = invalid(&repeat("times = 2\n"));
        assert_contains(&message, "missing `steps`");
        let (line, _, message) = invalid(&repeat(
            "times = 2\nsteps = [{ kind = \"paus\", say = \"x\" }]\n",
        ));
        assert_eq!(line, 5, "the body's errors point at its `steps`");
        assert_contains(&message, "did you mean \"pause\"");
        let (_, _, message) = invalid(&repeat("times = 2\nsay = \"x\"\nsteps = []\n"));
        assert_contains(&message, "a repeat step takes: kind, times, steps");
        let (_, _, message) = invalid(&repeat(
            "times = 2\nsteps = [{ kind = \"repeat\", times = 1 }]\n",
        ));
        assert_contains(&message, "cannot hold another");
        let (_, _, message) = invalid(
            "title = \"t\"\n[settings]\nmode = \"randm\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\n",
        );
        assert_contains(&message, "manual, random");
    }

    #[test]
    fn the_terminal_language_is_french_unless_the_settings_say_otherwise() {
        let step = "[[steps]]\nkind = \"pause\"\nsay = \"x\"\n";
        let scenario = parse_str(&format!("title = \"t\"\n{step}")).expect("valid");
        assert_eq!(scenario.settings.lang, Language::Fr);
        let scenario =
            parse_str(&format!("title = \"t\"\n[settings]\nlang = \"en\"\n{step}")).expect("valid");
        assert_eq!(scenario.settings.lang, Language::En);
        let (line, column, message) =
            invalid(&format!("title = \"t\"\n[settings]\nlang = \"de\"\n{step}"));
        assert_eq!((line, column), (3, 8));
        assert_contains(&message, "unknown language \"de\"");
    }

    #[test]
    fn the_contrast_lane_is_off_unless_the_settings_turn_it_on() {
        let step = "[[steps]]\nkind = \"pause\"\nsay = \"x\"\n";
        let scenario = parse_str(&format!("title = \"t\"\n{step}")).expect("valid");
        assert!(!scenario.settings.contrast);
        let scenario = parse_str(&format!(
            "title = \"t\"\n[settings]\ncontrast = true\n{step}"
        ))
        .expect("valid");
        assert!(scenario.settings.contrast);
        let (line, _, message) = invalid(&format!(
            "title = \"t\"\n[settings]\ncontrast = \"yes\"\n{step}"
        ));
        assert_eq!(line, 3);
        assert_contains(&message, "bool");
    }

    #[test]
    fn a_misspelt_key_gets_a_suggestion_from_its_kinds_own_keys() {
        let (line, column, message) =
            invalid("title = \"t\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\nduraton = 2\n");
        assert_eq!((line, column), (5, 1));
        assert_contains(&message, "did you mean `duration`");
        assert_contains(&message, "a pause step takes: kind, say, label, duration");
        let (line, _, message) = invalid("title = \"t\"\n[[steps]]\nsay = \"x\"\n");
        assert_eq!(line, 2);
        assert_contains(&message, "missing field `kind`");
    }

    #[test]
    fn bad_values_are_pointed_at() {
        let (line, column, message) = invalid(
            "title = \"t\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\nduration = \"5 minutes\"\n",
        );
        assert_eq!((line, column), (5, 12));
        assert_contains(&message, "is not a duration");

        let (line, column, message) = invalid(
            "title = \"t\"\n[[steps]]\nkind = \"kill-node\"\nsay = \"x\"\nnode = 2\nmode = \"nuke\"\n",
        );
        assert_eq!((line, column), (6, 8));
        assert_contains(
            &message,
            "expected one of: stop, kill, freeze, isolate, manual",
        );

        let (line, _, message) = invalid(
            "title = \"t\"\n[settings]\nsensors = \"five\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\n",
        );
        assert_eq!(line, 3);
        assert_contains(&message, "invalid type");

        let (line, _, message) =
            invalid("title = \"t\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\nduration = 0\n");
        assert_eq!(line, 5);
        assert_contains(&message, "above zero");
    }

    #[test]
    fn structural_mistakes_are_located() {
        let (line, _, message) = invalid("title = \"t\"\nsteps = []\n");
        assert_eq!(line, 2);
        assert_contains(&message, "at least one step");

        let (line, _, message) = invalid("[[steps]]\nkind = \"pause\"\nsay = \"x\"\n");
        assert_eq!(line, 1);
        assert_contains(&message, "missing field `title`");

        let (line, column, _) = invalid("title = \"t\"\n[[steps]\nkind = \"pause\"\n");
        assert_eq!((line, column), (2, 9));
    }

    #[test]
    fn the_error_names_the_file_and_shows_the_line() {
        let err = parse(
            Path::new("scenario/x.toml"),
            "title = \"t\"\n[[steps]]\nkind = \"explode\"\nsay = \"x\"\n",
        )
        .expect_err("invalid");
        let shown = err.to_string();
        assert!(
            shown.starts_with("scenario/x.toml:3:8: unknown step kind"),
            "{shown}"
        );
        assert_contains(&shown, "3 | kind = \"explode\"");
        assert_contains(&shown, "^^^^^^^^^");
    }

    #[test]
    fn durations_accept_numbers_and_units() {
        let seconds = |text: &str| -> Duration {
            let scenario = parse_str(&format!(
                "title = \"t\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\nduration = {text}\n"
            ))
            .expect("valid");
            match scenario.steps[0].action {
                Action::Pause(Pause { duration }) => duration,
                ref other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(seconds("3"), Duration::from_secs(3));
        assert_eq!(seconds("0.5"), Duration::from_millis(500));
        assert_eq!(seconds("\"250ms\""), Duration::from_millis(250));
        assert_eq!(seconds("\"2m\""), Duration::from_secs(120));
        assert_eq!(seconds("\"1.5s\""), Duration::from_millis(1500));
    }

    #[test]
    fn the_shipped_scenarios_parse() {
        let dir = crate::paths::project_root().join("scenario");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .expect("scenario directory")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        assert!(files.len() >= 4, "{files:?}");
        for file in files {
            let scenario = load(&file).unwrap_or_else(|err| panic!("{err}"));
            assert!(!scenario.steps.is_empty());
        }
    }
}
