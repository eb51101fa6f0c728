//! `restart-kafka`: the Kafka broker the services use crashes (SIGKILL), stays
//! away for `down`, is started again and answers (the demo's topics served).
//! Which broker that is (the loopback lab's, or the app PC's that `demo
//! provision` started) is the lab's decision, from the run's inventory.

use std::time::Duration;

use serde_json::json;

use super::{Done, Failed, StepAction, StepResult, millis};
use crate::lab::{self, kafka, layout::Layout};
use crate::scenario::context::Context;

step_params! {
    pub struct RestartKafka {
        /// How long the broker stays away (a fault's length: `lab_pace` leaves it be).
        down: Duration = seconds(5.0),
        /// For the restarted broker to answer and serve the topics.
        timeout: Duration = seconds(90.0),
    }
}

impl StepAction for RestartKafka {
    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let site = lab::services_broker(&Layout::discover(), &context.fleet().inventory)
            .map_err(|err| Failed::new(err.to_string()))?;
        let progress = context.ui().progress(
            &context.say().restarting_kafka(&site.bootstrap()),
            self.down + self.timeout,
        );
        let restarted = kafka::crash_and_restart(&site, self.down, self.timeout, &progress).await;
        drop(progress);
        let restart = restarted.map_err(|err| Failed::new(err.to_string()))?;
        Ok(Done {
            summary: context
                .say()
                .kafka_restarted(restart.down, restart.answering_after),
            details: json!({
                "bootstrap": site.bootstrap(),
                "pid": restart.pid,
                "down_ms": millis(restart.down),
                "answering_after_ms": millis(restart.answering_after),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::scenario::parse::parse;
    use crate::scenario::step::{Action, RestartKafka};

    #[test]
    fn down_and_timeout_default_to_5_and_90_s() {
        let text = "title = \"t\"\n[[steps]]\nkind = \"restart-kafka\"\nsay = \"x\"\n\
                    [[steps]]\nkind = \"restart-kafka\"\nsay = \"y\"\ndown = \"12s\"\ntimeout = \"2m\"\n";
        let scenario = parse(Path::new("t.toml"), text).expect("parses");
        let actions: Vec<&Action> = scenario.steps.iter().map(|step| &step.action).collect();
        assert_eq!(
            actions,
            [
                &Action::RestartKafka(RestartKafka {
                    down: Duration::from_secs(5),
                    timeout: Duration::from_secs(90),
                }),
                &Action::RestartKafka(RestartKafka {
                    down: Duration::from_secs(12),
                    timeout: Duration::from_secs(120),
                }),
            ]
        );
    }
}
