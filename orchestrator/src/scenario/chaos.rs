//! The random choices of a chaos scenario, drawn once from a seed before the run.
//!
//! A kill-node may name `node = "random"` and `mode = "random"`; a step after it may
//! name `node = "last"`. They are all resolved here, in step order, from one seeded
//! generator and the nodes the steps before have taken out, so the whole run is
//! known (and printed) before it starts, and the same seed replays the same faults on
//! the same inventory. A random node is one still up; a random mode one the target
//! allows (the loopback lab refuses `isolate`); `last` is the latest node taken out
//! that is still out, else the latest taken out.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{NodeArg, NodeRef, Scenario};
use super::step::{Action, KillMode, ModeChoice};
use crate::nemesis::FaultMode;

/// A choice that cannot be made, with where the file asks for it.
#[derive(Debug, thiserror::Error)]
#[error("{line}:{column}: step {step}: {message}")]
pub struct DrawError {
    pub step: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// One drawn choice, for the console and the journal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Drawn {
    pub step: usize,
    pub node: String,
    /// Set when the mode was drawn too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// True when the scenario has anything to draw.
pub fn has_choices(scenario: &Scenario) -> bool {
    scenario.steps.iter().any(|step| {
        let random_mode = matches!(
            &step.action,
            Action::KillNode(kill) if kill.mode == ModeChoice::Random
        );
        random_mode
            || step
                .action
                .node_args()
                .iter()
                .any(|arg| matches!(arg.node, NodeRef::Random | NodeRef::Last))
    })
}

/// Resolves every random node and mode and every `last` of `scenario`, from `seed`,
/// over the inventory's `nodes` (names, in order) and the fault `modes` the target allows.
pub fn draw(
    scenario: &mut Scenario,
    seed: u64,
    nodes: &[String],
    modes: &[FaultMode],
) -> Result<Vec<Drawn>, DrawError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Taken out, in order; and the latest taken out ever.
    let mut out: Vec<String> = Vec::new();
    let mut latest: Option<String> = None;
    let mut drawn = Vec::new();
    for step in &mut scenario.steps {
        let number = step.number;
        let fail = |arg: &NodeArg, message: String| DrawError {
            step: number,
            line: arg.at.line,
            column: arg.at.column,
            message,
        };
        let last = |out: &[String], latest: &Option<String>| {
            out.last().cloned().or_else(|| latest.clone())
        };
        match &mut step.action {
            Action::KillNode(kill) => {
                let random_node = kill.node.node == NodeRef::Random;
                let name = match &kill.node.node {
                    NodeRef::Random => {
                        let up: Vec<&String> = nodes.iter().filter(|n| !out.contains(n)).collect();
                        if up.is_empty() {
                            return Err(fail(&kill.node, "no node is left up to draw".into()));
                        }
                        Some(up[rng.random_range(0..up.len())].clone())
                    }
                    NodeRef::Last => {
                        Some(last(&out, &latest).ok_or_else(|| {
                            fail(&kill.node, "no node was taken out before".into())
                        })?)
                    }
                    other => named(other, nodes),
                };
                if let Some(name) = &name {
                    kill.node.node = NodeRef::Name(name.clone());
                }
                let mut mode = None;
                if kill.mode == ModeChoice::Random {
                    if modes.is_empty() {
                        return Err(fail(&kill.node, "no fault mode is possible here".into()));
                    }
                    let drawn_mode = modes[rng.random_range(0..modes.len())];
                    kill.mode = ModeChoice::Given(KillMode::Fault(drawn_mode));
                    mode = Some(drawn_mode.name().to_owned());
                }
                if random_node || mode.is_some() {
                    drawn.push(Drawn {
                        step: number,
                        node: kill.node.node.to_string(),
                        mode,
                    });
                }
                if let Some(name) = name {
                    out.retain(|n| *n != name);
                    out.push(name.clone());
                    latest = Some(name);
                }
            }
            Action::StartNode(start) => {
                if start.node.node == NodeRef::Random {
                    return Err(fail(&start.node, "\"random\" is for kill-node only".into()));
                }
                if start.node.node == NodeRef::Last {
                    let name = last(&out, &latest)
                        .ok_or_else(|| fail(&start.node, "no node was taken out before".into()))?;
                    start.node.node = NodeRef::Name(name);
                }
                let named = named(&start.node.node, nodes);
                out.retain(|n| Some(n) != named.as_ref());
            }
            other => {
                for arg in node_args_mut(other) {
                    match arg.node {
                        NodeRef::Random => {
                            return Err(fail(arg, "\"random\" is for kill-node only".into()));
                        }
                        NodeRef::Last => {
                            let name = last(&out, &latest)
                                .ok_or_else(|| fail(arg, "no node was taken out before".into()))?;
                            arg.node = NodeRef::Name(name);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(drawn)
}

/// The inventory name a reference names, if it is a name or number.
fn named(node: &NodeRef, nodes: &[String]) -> Option<String> {
    match node {
        NodeRef::Name(name) => nodes
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .cloned()
            .or_else(|| Some(name.clone())),
        NodeRef::Number(n) => usize::try_from(*n)
            .ok()
            .and_then(|n| nodes.get(n.wrapping_sub(1)))
            .cloned(),
        NodeRef::Random | NodeRef::Last => None,
    }
}

/// The node references of the kinds other than kill-node and start-node.
fn node_args_mut(action: &mut Action) -> Vec<&mut NodeArg> {
    match action {
        Action::WaitNodeState(wait) => {
            let mut args = vec![&mut wait.node];
            args.extend(wait.seen_from.as_mut());
            args
        }
        Action::ExpectCatchUp(catch_up) => vec![&mut catch_up.node],
        Action::Capture(capture) => capture.from.as_mut().into_iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::parse;

    const NODES: [&str; 3] = ["PC1", "PC2", "PC3"];
    const LAB_MODES: [FaultMode; 3] = [FaultMode::Stop, FaultMode::Kill, FaultMode::Freeze];

    fn scenario(steps: &str) -> Scenario {
        parse::parse(Path::new("chaos.toml"), &format!("title = \"c\"\n{steps}"))
            .expect("a valid scenario")
    }

    fn nodes() -> Vec<String> {
        NODES.map(String::from).to_vec()
    }

    /// kill(random, random) → start(last) → catch-up(last), four times over.
    const ROUNDS: &str = "[[steps]]\nkind = \"repeat\"\ntimes = 4\nsteps = [\n\
  { kind = \"kill-node\", say = \"a PC fails\", node = \"random\", mode = \"random\" },\n\
  { kind = \"start-node\", say = \"it returns\", node = \"last\" },\n\
  { kind = \"expect-catch-up\", say = \"it caught up\", node = \"last\" },\n]\n";

    fn killed(scenario: &Scenario) -> Vec<(String, String)> {
        scenario
            .steps
            .iter()
            .filter_map(|step| match &step.action {
                Action::KillNode(kill) => {
                    Some((kill.node.node.to_string(), format!("{:?}", kill.mode)))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_and_last_follows_them() {
        let mut first = scenario(ROUNDS);
        assert_eq!(first.steps.len(), 12, "repeat unrolled 4 × 3 steps");
        assert!(has_choices(&first));
        let drawn = draw(&mut first, 42, &nodes(), &LAB_MODES).unwrap();
        assert_eq!(drawn.len(), 4);
        assert!(!has_choices(&first), "nothing left to draw");
        let mut again = scenario(ROUNDS);
        assert_eq!(draw(&mut again, 42, &nodes(), &LAB_MODES).unwrap(), drawn);
        assert_eq!(killed(&again), killed(&first));
        for round in first.steps.chunks(3) {
            let Action::KillNode(kill) = &round[0].action else {
                panic!()
            };
            let Action::StartNode(start) = &round[1].action else {
                panic!()
            };
            let Action::ExpectCatchUp(catch_up) = &round[2].action else {
                panic!()
            };
            assert_eq!(start.node.node, kill.node.node);
            assert_eq!(catch_up.node.node, kill.node.node);
            assert!(
                matches!(kill.mode, ModeChoice::Given(KillMode::Fault(mode)) if LAB_MODES.contains(&mode))
            );
        }
        // Other seeds draw other runs: over ten seeds, more than one.
        let runs: std::collections::BTreeSet<_> = (0..10)
            .map(|seed| {
                let mut s = scenario(ROUNDS);
                draw(&mut s, seed, &nodes(), &LAB_MODES).unwrap();
                killed(&s)
            })
            .collect();
        assert!(runs.len() > 1);
    }

    #[test]
    fn a_second_random_node_is_one_still_up_and_last_brings_them_back_in_turn() {
        let text = "[[steps]]\nkind = \"kill-node\"\nsay = \"a\"\nnode = \"random\"\n\
            [[steps]]\nkind = \"kill-node\"\nsay = \"b\"\nnode = \"random\"\n\
            [[steps]]\nkind = \"start-node\"\nsay = \"c\"\nnode = \"last\"\n\
            [[steps]]\nkind = \"start-node\"\nsay = \"d\"\nnode = \"last\"\n";
        for seed in 0..20 {
            let mut s = scenario(text);
            draw(&mut s, seed, &nodes(), &LAB_MODES).unwrap();
            let names: Vec<String> = s
                .steps
                .iter()
                .flat_map(|step| step.action.node_args())
                .map(|arg| arg.node.to_string())
                .collect();
            assert_ne!(names[0], names[1], "seed {seed}: {names:?}");
            assert_eq!(
                (&names[2], &names[3]),
                (&names[1], &names[0]),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn impossible_choices_are_refused_where_they_are_written() {
        let three = "[[steps]]\nkind = \"kill-node\"\nsay = \"x\"\nnode = \"random\"\n".repeat(4);
        let err = draw(&mut scenario(&three), 1, &nodes(), &LAB_MODES).unwrap_err();
        assert_eq!((err.step, err.line), (4, 17));
        assert!(err.message.contains("no node is left up"), "{err}");
        let early = "[[steps]]\nkind = \"start-node\"\nsay = \"x\"\nnode = \"last\"\n";
        let err = draw(&mut scenario(early), 1, &nodes(), &LAB_MODES).unwrap_err();
        assert!(err.message.contains("no node was taken out"), "{err}");
        let misplaced = "[[steps]]\nkind = \"capture\"\nsay = \"x\"\nfrom = \"random\"\n";
        let err = draw(&mut scenario(misplaced), 1, &nodes(), &LAB_MODES).unwrap_err();
        assert!(err.message.contains("kill-node only"), "{err}");
    }
}
