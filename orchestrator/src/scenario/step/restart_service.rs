//! `restart-service`: one of the app PC's services stopped gracefully if it runs
//! (as `demo services down <service>`), started again exactly as start-services
//! starts it (the run's plan: same command line, the producer on the run's
//! ledger, which it appends to), and healthy. It is then the run's to stop.

use std::time::{Duration, Instant};

use chrono::Utc;
use contract::events::Figures;
use serde_json::json;

use super::{Done, Failed, StepAction, StepResult, millis, service_facts};
use crate::app::{self, Service, Stopped};
use crate::scenario::context::Context;
use crate::scenario::words::ServiceStop;

step_params! {
    pub struct RestartService {
        service: Service = service(),
        /// For the new process to be healthy (the graceful stop has its own bound).
        timeout: Duration = seconds(60.0),
    }
}

impl StepAction for RestartService {
    fn facts(&self, _context: &Context) -> (Option<String>, Figures) {
        service_facts(self.service)
    }

    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let name = self.service.name();
        let adopted_producer = self.service == Service::Producer && !context.own_producer();
        let progress = context
            .ui()
            .progress(&context.say().restarting_service(name), self.timeout);
        let (clock, started_at) = (Instant::now(), Utc::now());
        let restarted = app::restart(context.plan(), self.service, self.timeout, &|message| {
            progress.tick(message)
        })
        .await;
        drop(progress);
        let restarted = restarted.map_err(|err| Failed::new(err.to_string()))?;
        context.service_restarted(self.service, started_at);
        if adopted_producer {
            context.warn(
                "the producer was not the run's: the restarted one appends to the run's ledger, \
                 which verify checks from now"
                    .into(),
            );
        }
        let elapsed = clock.elapsed();
        let stopped = match restarted.stopped {
            Stopped::Gracefully => "gracefully",
            Stopped::Killed => "killed",
            Stopped::NotRunning => "not running",
        };
        let how = ServiceStop::from(restarted.stopped);
        Ok(Done {
            summary: context.say().service_restarted(name, how, elapsed),
            details: json!({
                "service": name,
                "stopped": stopped,
                "pid": restarted.state.pid,
                "after_ms": millis(elapsed),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::app::Service;
    use crate::scenario::parse::parse;
    use crate::scenario::step::{Action, RestartService};
    use test_support::assert_contains;

    #[test]
    fn the_service_is_required_and_the_timeout_defaults_to_60_s() {
        let text = "title = \"t\"\n[[steps]]\nkind = \"restart-service\"\nsay = \"x\"\n\
                    service = \"api\"\n\
                    [[steps]]\nkind = \"restart-service\"\nsay = \"y\"\n\
                    service = \"producer\"\ntimeout = 90\n";
        let scenario = parse(Path::new("t.toml"), text).expect("parses");
        let actions: Vec<&Action> = scenario.steps.iter().map(|step| &step.action).collect();
        assert_eq!(
            actions,
            [
                &Action::RestartService(RestartService {
                    service: Service::Api,
                    timeout: Duration::from_secs(60),
                }),
                &Action::RestartService(RestartService {
                    service: Service::Producer,
                    timeout: Duration::from_secs(90),
                }),
            ]
        );
        let error = parse(
            Path::new("t.toml"),
            "title = \"t\"\n[[steps]]\nkind = \"restart-service\"\nsay = \"x\"\nservice = \"ingest\"\ndown = 3\n",
        )
        .expect_err("down is restart-kafka's");
        assert_contains(
            error.to_string(),
            "`down` does not apply to a restart-service step",
        );
    }
}
