//! What the presenter and the audience see in the terminal: the narration,
//! a progress bar while a step waits, and ✓ or ✗ with the step's timing.
//!
//! In presenter mode the narration is printed large (a bold box) and Enter
//! advances, so the speaker sets the pace; in auto mode everything flows.
//!
//! The terminal's own words for a step (its heading, when the scenario gives
//! no label) are chosen here, in the scenario's language, from the step's
//! kind, node and figures; the dashboard words the same facts in its own.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use contract::events::{AppService, Figures, OutageMode, SeenState, StepKind};
use indicatif::{ProgressBar, ProgressStyle};

pub use contract::events::Language;

/// A step's short heading from its facts: "PC2 arrêté", "PC2 stopped".
pub fn step_label(lang: Language, kind: StepKind, node: Option<&str>, figures: &Figures) -> String {
    let capture = match node {
        Some(from) => format!("nodetool status ({from})"),
        None => "nodetool status".to_owned(),
    };
    let node = node.unwrap_or("?");
    let service = figures.service.map_or("?", AppService::name);
    let state = match figures.state {
        Some(SeenState::Up) => "UP",
        Some(SeenState::Down) => "DOWN",
        None => "?",
    };
    match lang {
        Language::Fr => match kind {
            StepKind::CheckCluster => "Cluster vérifié".into(),
            StepKind::StartServices => "Services démarrés".into(),
            StepKind::ExpectData => "Données reçues".into(),
            StepKind::KillNode => {
                let verb = match figures.mode {
                    Some(OutageMode::Stop) | None => "arrêté",
                    Some(OutageMode::Kill) => "planté",
                    Some(OutageMode::Freeze) => "gelé",
                    Some(OutageMode::Isolate) => "isolé (câble réseau débranché)",
                    Some(OutageMode::Manual) => "éteint",
                };
                format!("{node} {verb}")
            }
            StepKind::WaitNodeState => format!("{node} vu {state}"),
            StepKind::Capture => capture,
            StepKind::ExpectContinuity => "Continuité".into(),
            StepKind::StartNode => format!("{node} redémarré"),
            StepKind::ExpectCatchUp => format!("{node} a rattrapé"),
            StepKind::Verify => "Rien n'est perdu".into(),
            StepKind::Pause => "Pause".into(),
            StepKind::KillService => format!("{service} tué"),
            StepKind::RestartService => format!("{service} redémarré"),
            StepKind::RestartKafka => "Kafka redémarré".into(),
        },
        Language::En => match kind {
            StepKind::CheckCluster => "Cluster checked".into(),
            StepKind::StartServices => "Services started".into(),
            StepKind::ExpectData => "Data received".into(),
            StepKind::KillNode => {
                let verb = match figures.mode {
                    Some(OutageMode::Stop) | None => "stopped",
                    Some(OutageMode::Kill) => "crashed",
                    Some(OutageMode::Freeze) => "frozen",
                    Some(OutageMode::Isolate) => "isolated (network cable pulled)",
                    Some(OutageMode::Manual) => "switched off",
                };
                format!("{node} {verb}")
            }
            StepKind::WaitNodeState => format!("{node} seen {state}"),
            StepKind::Capture => capture,
            StepKind::ExpectContinuity => "Continuity".into(),
            StepKind::StartNode => format!("{node} restarted"),
            StepKind::ExpectCatchUp => format!("{node} caught up"),
            StepKind::Verify => "Nothing lost".into(),
            StepKind::Pause => "Pause".into(),
            StepKind::KillService => format!("{service} killed"),
            StepKind::RestartService => format!("{service} restarted"),
            StepKind::RestartKafka => "Kafka restarted".into(),
        },
    }
}

/// Terminal styling, only when stdout is a terminal (journals and CI logs stay plain).
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub presenter: bool,
    color: bool,
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

impl Ui {
    pub fn new(presenter: bool) -> Self {
        Self {
            presenter,
            color: std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// The run's title.
    pub fn title(&self, title: &str, details: &str) {
        println!("{}", self.paint(BOLD, &format!("▶ {title}")));
        if !details.is_empty() {
            println!("  {}", self.paint(DIM, details));
        }
    }

    /// A step's heading and narration, before it runs.
    pub fn narrate(&self, number: usize, total: usize, kind: StepKind, label: &str, say: &str) {
        let heading = format!("[{number}/{total}] {label}");
        println!();
        if self.presenter {
            println!("{}", self.paint(DIM, &format!("{heading}  ({kind})")));
            for line in boxed(say, box_width()) {
                println!("{}", self.paint(&format!("{BOLD}{CYAN}"), &line));
            }
        } else {
            println!(
                "{}  {}",
                self.paint(BOLD, &heading),
                self.paint(DIM, kind.name())
            );
            let lines = wrap(say, box_width().saturating_sub(8));
            for (index, line) in lines.iter().enumerate() {
                let open = if index == 0 { "« " } else { "  " };
                let close = if index + 1 == lines.len() { " »" } else { "" };
                println!("  {}", self.paint(CYAN, &format!("{open}{line}{close}")));
            }
        }
    }

    /// Presenter mode: waits for Enter (end of input counts as Enter).
    pub async fn wait_for_enter(&self, prompt: &str) {
        if !self.presenter {
            return;
        }
        self.prompt_and_read_line(prompt).await;
    }

    /// After the verdict, in any mode: waits for Enter, or for the end of
    /// standard input (a script's `< /dev/null` ends the run at once).
    pub async fn wait_for_end(&self, prompt: &str) {
        self.prompt_and_read_line(prompt).await;
    }

    async fn prompt_and_read_line(&self, prompt: &str) {
        print!("{}", self.paint(YELLOW, &format!("  ⏎ {prompt} ")));
        let _ = std::io::stdout().flush();
        // A plain thread, not spawn_blocking: if Ctrl-C abandons the wait,
        // the runtime must not wait for this read at exit.
        let (entered, wait) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            let _ = entered.send(());
        });
        let _ = wait.await;
    }

    /// A line of information under the current step.
    pub fn info(&self, text: &str) {
        for line in text.lines() {
            println!("    {line}");
        }
    }

    /// A block shown verbatim (a nodetool capture), lines matching `highlight` in red.
    pub fn block(&self, text: &str, highlight: impl Fn(&str) -> bool) {
        for line in text.lines() {
            if highlight(line) {
                println!("    {}", self.paint(&format!("{BOLD}{RED}"), line));
            } else {
                println!("    {line}");
            }
        }
    }

    /// ✓ or ✗ with the step's timing and summary.
    pub fn outcome(&self, ok: bool, elapsed: Duration, summary: &str) {
        let (mark, style) = if ok { ("✓", GREEN) } else { ("✗", RED) };
        println!(
            "  {} {}  {}",
            self.paint(&format!("{BOLD}{style}"), mark),
            self.paint(DIM, &format_duration(elapsed)),
            summary
        );
    }

    /// The final verdict.
    pub fn verdict(&self, passed: bool, text: &str) {
        println!();
        let style = if passed { GREEN } else { RED };
        for line in boxed(text, box_width()) {
            println!("{}", self.paint(&format!("{BOLD}{style}"), &line));
        }
    }

    pub fn warn(&self, text: &str) {
        println!("  {}", self.paint(YELLOW, &format!("⚠ {text}")));
    }

    /// A bar over `bound` (the step's timeout or window), hidden when stderr is not a terminal.
    pub fn progress(&self, message: &str, bound: Duration) -> Progress {
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX).max(1);
        let bar = ProgressBar::new(millis);
        let style =
            ProgressStyle::with_template("    {spinner} [{bar:30}] {elapsed:>3} / {prefix}  {msg}")
                .map(|style| style.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(format_duration(bound));
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            started: std::time::Instant::now(),
        }
    }
}

/// A running progress bar; it follows the clock and is cleared when dropped.
pub struct Progress {
    bar: ProgressBar,
    started: std::time::Instant,
}

/// Domain code that reports through [`crate::progress::Progress`] (the lab's
/// broker restart) shows its lines on the step's bar.
impl crate::progress::Progress for Progress {
    fn waiting(&self, message: &str) {
        self.tick(message);
    }

    fn step(&self, line: &str) {
        self.tick(line);
    }

    fn warn(&self, line: &str) {
        self.tick(line);
    }
}

impl Progress {
    /// Moves the bar to the time elapsed and shows `message`.
    pub fn tick(&self, message: impl Into<String>) {
        self.bar
            .set_position(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX));
        self.bar.set_message(message.into());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// "850 ms", "12.3 s", "2 min 05 s".
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{} min {:02} s", millis / 60_000, (millis % 60_000) / 1000)
    }
}

fn box_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse::<usize>().ok())
        .unwrap_or(80)
        .clamp(40, 100)
}

/// `text` word-wrapped into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// `text` in a box `width` characters wide, with a blank line of padding.
fn boxed(text: &str, width: usize) -> Vec<String> {
    let inner = width.saturating_sub(6).max(10);
    let mut out = vec![format!("╔{}╗", "═".repeat(inner + 4))];
    out.push(format!("║{}║", " ".repeat(inner + 4)));
    for line in wrap(text, inner) {
        let padding = inner.saturating_sub(line.chars().count());
        out.push(format!("║  {line}{}  ║", " ".repeat(padding)));
    }
    out.push(format!("║{}║", " ".repeat(inner + 4)));
    out.push(format!("╚{}╝", "═".repeat(inner + 4)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narration_is_wrapped_and_boxed_evenly() {
        let lines = boxed(
            "Le PC2 est éteint. Le graphique continue pourtant à avancer, seconde après seconde.",
            40,
        );
        let widths: Vec<usize> = lines.iter().map(|line| line.chars().count()).collect();
        assert!(widths.iter().all(|width| *width == widths[0]), "{lines:#?}");
        assert!(lines.len() >= 5);
        assert_eq!(wrap("un deux trois", 7), vec!["un deux", "trois"]);
    }

    #[test]
    fn step_labels_are_worded_in_the_scenarios_language() {
        let stop = Figures {
            mode: Some(OutageMode::Stop),
            ..Figures::default()
        };
        let freeze = Figures {
            mode: Some(OutageMode::Freeze),
            ..Figures::default()
        };
        let down = Figures {
            state: Some(SeenState::Down),
            ..Figures::default()
        };
        let none = Figures::default();
        let fr = |kind, node, figures| step_label(Language::Fr, kind, node, figures);
        let en = |kind, node, figures| step_label(Language::En, kind, node, figures);
        assert_eq!(fr(StepKind::KillNode, Some("PC2"), &stop), "PC2 arrêté");
        assert_eq!(fr(StepKind::KillNode, Some("PC2"), &freeze), "PC2 gelé");
        let isolate = Figures {
            mode: Some(OutageMode::Isolate),
            ..Figures::default()
        };
        assert_eq!(
            fr(StepKind::KillNode, Some("PC2"), &isolate),
            "PC2 isolé (câble réseau débranché)"
        );
        assert_eq!(
            en(StepKind::KillNode, Some("PC2"), &isolate),
            "PC2 isolated (network cable pulled)"
        );
        assert_eq!(en(StepKind::KillNode, Some("PC2"), &stop), "PC2 stopped");
        assert_eq!(
            fr(StepKind::WaitNodeState, Some("PC2"), &down),
            "PC2 vu DOWN"
        );
        assert_eq!(
            en(StepKind::WaitNodeState, Some("PC2"), &down),
            "PC2 seen DOWN"
        );
        assert_eq!(fr(StepKind::Capture, None, &none), "nodetool status");
        assert_eq!(
            fr(StepKind::Capture, Some("PC1"), &none),
            "nodetool status (PC1)"
        );
        assert_eq!(
            fr(StepKind::ExpectCatchUp, Some("PC2"), &none),
            "PC2 a rattrapé"
        );
        let ingest = Figures {
            service: Some(AppService::Ingest),
            ..Figures::default()
        };
        assert_eq!(fr(StepKind::KillService, None, &ingest), "ingest tué");
        assert_eq!(en(StepKind::KillService, None, &ingest), "ingest killed");
        assert_eq!(
            fr(StepKind::RestartService, None, &ingest),
            "ingest redémarré"
        );
        assert_eq!(
            en(StepKind::RestartService, None, &ingest),
            "ingest restarted"
        );
        assert_eq!(fr(StepKind::RestartKafka, None, &none), "Kafka redémarré");
        assert_eq!(en(StepKind::RestartKafka, None, &none), "Kafka restarted");
        assert_eq!(fr(StepKind::Verify, None, &none), "Rien n'est perdu");
        assert_eq!(en(StepKind::Verify, None, &none), "Nothing lost");
        for kind in StepKind::ALL {
            assert!(!fr(*kind, Some("PC2"), &none).is_empty());
            assert!(!en(*kind, Some("PC2"), &none).is_empty());
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3 s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2 min 05 s");
    }
}
