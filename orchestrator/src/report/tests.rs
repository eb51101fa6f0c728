//! The report from a constructed journal: a run that crashed PC2 at 10 s (brought back
//! at 30 s, seen UP at 35 s), failed a step and lost readings, sampled around the fault.
//! Built as JSON, the way `write` reads a journal.

use serde_json::{Value, json};

use super::*;
use crate::scenario::ui::Language;

/// `seconds` after the run's start, as the journal writes times.
fn at(seconds: f64) -> String {
    let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let at = start + Duration::milliseconds((seconds * 1000.0) as i64);
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn step(number: usize, kind: &str, status: &str, details: Value) -> Value {
    let error = (status == "failed").then_some("readings went stale");
    json!({"number": number, "kind": kind, "label": format!("step {number} label"),
           "say": format!("narration {number}"), "status": status, "started_at": at(number as f64 * 5.0),
           "elapsed_ms": 1200, "summary": format!("summary {number}"), "details": details, "error": error})
}

fn timeline() -> Value {
    let (mut api, mut views, mut hints, mut ingest) = (vec![], vec![], vec![], vec![]);
    for tenth in (0..400).step_by(5) {
        let (t, failed) = (tenth as f64 / 10.0, tenth == 120);
        let latency = if (11.0..30.0).contains(&t) { 57 } else { 9 };
        let consistency = if tenth == 130 { "ONE" } else { "QUORUM" };
        let staleness = (!failed).then_some(900 + tenth % 100);
        api.push(json!({"at": at(t), "ok": !failed, "latency_ms": latency,
                        "staleness_ms": staleness, "consistency": consistency}));
    }
    for second in 0..40 {
        let t = second as f64;
        let pc2 = if (14..34).contains(&second) {
            "down"
        } else {
            "up"
        };
        let sees = |observer: &str| match observer {
            "PC1" => json!({"PC2": pc2, "PC3": "up"}),
            "PC2" if (11..32).contains(&second) => Value::Null,
            "PC2" => json!({"PC1": "up", "PC3": "up"}),
            _ => json!({"PC1": "up", "PC2": pc2}),
        };
        for observer in ["PC1", "PC2", "PC3"] {
            views.push(json!({"at": at(t), "observer": observer, "sees": sees(observer)}));
        }
        let held = if (11..36).contains(&second) {
            json!({"PC2": (second - 10) * 2048})
        } else {
            json!({})
        };
        hints.push(json!({"at": at(t), "node": "PC1", "bytes": held}));
        let (rate, lag) = if second == 11 {
            (2.0, 12.0)
        } else {
            (5.0, 1.0)
        };
        ingest.push(json!({"at": at(t), "rate_per_s": rate, "lag": lag, "consuming": true}));
    }
    json!({"api": api, "views": views, "hints": hints, "ingest": ingest})
}

fn journal(lang: Language, timeline: Value) -> Journal {
    let lost = json!({"sensor_id": "sensor_04", "timestamp": "2027-01-15T08:00:11.000Z",
                      "value": 21.5, "partition": 2, "offset": 40});
    let verify = json!({"report": {"consistency": "QUORUM", "elapsed_ms": 40, "expected": 200,
        "found": 197, "missing": 3, "mismatched": 0, "rows_read": 198, "sensors": 5,
        "unexpected": 1, "first_missing": [lost], "first_mismatched": [],
        "first_unexpected": [{"sensor_id": "sensor_02", "timestamp": "2027-01-15T08:00:20.000Z",
                              "value": 19.25}]},
        "attempted": {"sent": 204, "acknowledged": 200, "failed": 4, "producer_runs": 2}});
    let steps = [
        step(1, "check-cluster", "ok", json!({"report": "UN  127.0.0.2"})),
        step(2, "kill-node", "ok", json!({"node": "PC2", "mode": "kill"})),
        step(3, "expect-continuity", "failed", json!({})),
        step(4, "verify", "ok", verify),
        step(5, "pause", "skipped", json!({})),
    ];
    let journal = json!({
        "run_id": "20270115T080000Z", "scenario": "scenario/day-j.toml",
        "title": r#"A <script>alert("x")</script> run"#, "lang": lang, "target": "lab",
        "presenter": false, "mode_override": "kill", "pace": 0.5,
        "dashboard_url": "http://127.0.0.1:8080/", "started_at": at(0.0), "finished_at": at(40.0),
        "verdict": "failed", "steps": steps,
        "captures": [{"step": 2, "from": "PC1", "command": "nodetool status iot_demo",
                      "file": "capture-02-PC1.txt", "output": "DN  127.0.0.2  272.29 KiB"}],
        "restored": [{"node": "PC4", "action": "stop ingest, api", "ok": true}],
        "warnings": ["event not written: 'timeout'"],
        "faults": [{"node": "PC2", "mode": "kill", "commanded_at": at(10.0), "command_done_at": at(10.03),
                    "return_commanded_at": at(30.0), "back_at": at(35.0)}],
        "timeline": timeline,
    });
    serde_json::from_value(journal).unwrap()
}

fn body(page: &str) -> &str {
    &page[page.find("<body>").unwrap() + "<body>".len()..]
}

#[test]
fn the_verdict_comes_first_in_the_scenarios_language() {
    let french = render(&journal(Language::Fr, timeline()));
    assert!(french.starts_with(r#"<!DOCTYPE html><html lang="fr">"#));
    assert!(body(&french).starts_with(r#"<header class="verdict failed"><h1>ÉCHEC</h1>"#));
    assert!(french.contains("3 mesures perdues"));
    assert!(french.contains("échec à l&#39;étape 3 : step 3 label (readings went stale)"));
    let english = render(&journal(Language::En, timeline()));
    assert!(body(&english).starts_with(r#"<header class="verdict failed"><h1>FAILED</h1>"#));
    assert!(english.contains("3 readings lost"));

    let mut passed = journal(Language::En, timeline());
    passed.verdict = "passed".into();
    let report = &mut passed.steps[3].details["report"];
    report["missing"] = json!(0);
    report["found"] = json!(200);
    let page = render(&passed);
    assert!(body(&page).starts_with(r#"<header class="verdict passed"><h1>PASSED</h1>"#));
    assert!(page.contains("nothing lost: 200/200 readings acknowledged"));
    assert!(
        !page.contains("First readings lost"),
        "no list when nothing is lost"
    );
}

#[test]
fn four_plots_share_the_fault_window_and_its_effect() {
    let page = render(&journal(Language::En, timeline()));
    let count = |text: &str| page.matches(text).count();
    assert_eq!(count("<svg"), 4);
    assert_eq!(count(r#"<rect class="fault""#), 4, "shaded on every plot");
    assert_eq!(count(">PC2 kill</text>"), 4, "labelled on every plot");
    // PC2 went silent at 11 s: a line on every plot (and its legend key).
    assert_eq!(count(r#"<line class="effect""#), 8);
    assert!(
        page.contains("+11.0\u{a0}s (+1000 ms)"),
        "the faults table says when"
    );
    assert!(
        page.contains(r#"class="failed-probe""#),
        "the failed probe is marked"
    );
    assert!(
        page.contains(r#"class="at-one""#),
        "the answer at ONE is marked"
    );
    assert!(page.contains(r#"class="down""#) && page.contains(r#"class="up""#));
    assert!(page.contains(">PC1 → PC3</text>") && page.contains(">PC2 → PC3</text>"));
    assert!(
        page.contains(">PC1 → PC2</text>"),
        "a lane and a hints pair"
    );
    assert!(page.contains("UP → DOWN") && page.contains("DOWN → UP"));
}

#[test]
fn the_counts_and_the_lost_readings_are_listed() {
    let page = render(&journal(Language::En, timeline()));
    assert!(page.contains("Readings acknowledged by Kafka</td><td>200"));
    assert!(page.contains("Found with their value</td><td>197"));
    assert!(page.contains("Lost</td><td>3"));
    assert!(page.contains("First readings lost (1/3)"));
    let row =
        "<td>sensor_04</td><td>2027-01-15T08:00:11.000Z</td><td>21.5</td><td>2</td><td>40</td>";
    assert!(page.contains(row));
    assert!(page.contains("Readings the producer sent (its runs that ended: 2)</td><td>204"));
    assert!(page.contains("Of those, not acknowledged by Kafka</td><td>4"));
    assert!(page.contains(
        "Stored but not in the ledger (acknowledgement never received: not a loss)</td><td>1"
    ));
    assert!(page.contains("First rows not in the ledger (1/1)"));
    assert!(page.contains("<td>sensor_02</td><td>2027-01-15T08:00:20.000Z</td><td>19.25</td>"));
    let mut older = journal(Language::En, timeline());
    let verify = older
        .steps
        .iter_mut()
        .find(|step| step.kind == StepKind::Verify)
        .unwrap();
    verify.details = json!({"report": verify.details["report"].clone()});
    verify.details["report"]
        .as_object_mut()
        .unwrap()
        .remove("unexpected");
    let page = render(&older);
    assert!(
        page.contains("Lost</td><td>3"),
        "a journal without the new counts still renders"
    );
    assert!(!page.contains("not in the ledger") && !page.contains("producer sent"));
    let mut unchecked = journal(Language::Fr, timeline());
    unchecked.steps.retain(|step| step.kind != StepKind::Verify);
    assert!(render(&unchecked).contains("Aucun décompte"));
}

#[test]
fn the_page_fetches_nothing_and_escapes_the_journals_text() {
    let page = render(&journal(Language::En, timeline()));
    for forbidden in [
        "http://", "https://", "<script", "<link", "url(", "src=", "@import",
    ] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }
    assert!(page.contains("A &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; run"));
    assert!(page.contains("@media print") && page.contains("print-color-adjust:exact"));
    assert!(
        page.contains("<pre>DN  127.0.0.2  272.29 KiB</pre>"),
        "the capture"
    );
    assert!(
        page.contains("<pre>UN  127.0.0.2</pre>"),
        "the cluster check's report"
    );
    assert!(page.contains("event not written: &#39;timeout&#39;"));
}

#[test]
fn escape_covers_markup_quotes_and_addresses() {
    let script = r#"<script>alert('x' & "y")</script>"#;
    let escaped = "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;";
    assert_eq!(escape(script), escaped);
    assert_eq!(escape("http://a:b/"), "http&#58;//a:b/");
    assert_eq!(escape("é → ✓"), "é → ✓");
}

#[test]
fn an_empty_timeline_says_so_in_words() {
    let english = render(&journal(Language::En, json!({})));
    assert_eq!(
        english
            .matches("No samples: this run recorded nothing")
            .count(),
        4
    );
    assert!(!english.contains("<svg"));
    assert!(
        english.contains("never seen"),
        "no views: no effect to show"
    );
    let french = render(&journal(Language::Fr, json!({})));
    assert_eq!(french.matches("Aucun échantillon").count(), 4);
}

#[test]
fn write_puts_the_report_next_to_the_journal_and_names_what_is_wrong() {
    let run = tempfile::tempdir().unwrap();
    let journal_path = run.path().join("journal.json");
    let missing = write(run.path()).unwrap_err();
    assert!(matches!(missing, ReportError::Missing { .. }));
    assert!(missing.to_string().contains("journal.json"), "{missing}");

    std::fs::write(&journal_path, "{\n  \"run_id\": 3\n}").unwrap();
    let broken = write(run.path()).unwrap_err().to_string();
    assert!(
        broken.contains("journal.json") && broken.contains("line 2"),
        "{broken}"
    );

    let journal = journal(Language::Fr, timeline());
    std::fs::write(&journal_path, serde_json::to_string(&journal).unwrap()).unwrap();
    let path = write(run.path()).unwrap();
    assert_eq!(path, run.path().join("report.html"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&journal));
    assert!(!run.path().join(".report.html.tmp").exists());
}

#[test]
fn the_committed_fixture_is_a_journal_with_a_timeline() {
    let journal: Journal = serde_json::from_str(include_str!("fixtures/journal.json")).unwrap();
    let page = render(&journal);
    assert_eq!(page.matches("<svg").count(), 4);
    assert!(body(&page).starts_with(r#"<header class="verdict passed"><h1>RÉUSSI</h1>"#));
}

#[test]
fn memory_shows_each_service_at_start_end_and_highest() {
    let mut with_memory = timeline();
    with_memory["memory"] = json!([
        {"at": at(1.0), "service": "ingest", "rss_kb": 20480},
        {"at": at(6.0), "service": "ingest", "rss_kb": 30720},
        {"at": at(11.0), "service": "ingest", "rss_kb": 25600},
        {"at": at(1.0), "service": "api", "rss_kb": 10240},
    ]);
    let page = render(&journal(Language::En, with_memory));
    assert!(page.contains("<td>ingest</td><td>20.0</td><td>25.0</td><td>30.0</td><td>3</td>"));
    assert!(page.contains("<td>api</td><td>10.0</td><td>10.0</td><td>10.0</td><td>1</td>"));
    assert!(!page.contains("<td>producer</td>"));
    let french = render(&journal(Language::Fr, timeline()));
    assert!(french.contains("Aucune mesure de mémoire."));
}
