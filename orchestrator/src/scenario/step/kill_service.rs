//! `kill-service`: one of the app PC's services crashes (SIGKILL, no graceful
//! shutdown), as when the kernel kills it; the step waits until the process is
//! gone. A service the run started stays the run's: the end of the run stops
//! whatever runs under that name again.

use std::time::Duration;

use contract::events::Figures;
use serde_json::json;

use super::{Done, Failed, StepAction, StepResult, service_facts};
use crate::app::{self, Service};
use crate::scenario::context::Context;

step_params! {
    pub struct KillService {
        service: Service = service(),
        /// How long the killed process may take to disappear.
        timeout: Duration = seconds(30.0),
    }
}

impl StepAction for KillService {
    fn facts(&self, _context: &Context) -> (Option<String>, Figures) {
        service_facts(self.service)
    }

    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let name = self.service.name();
        let progress = context
            .ui()
            .progress(&context.say().killing_service(name), self.timeout);
        let killed = app::crash(&context.plan().state, self.service, self.timeout).await;
        drop(progress);
        let pid = killed.map_err(|err| Failed::new(err.to_string()))?;
        if !context.started_by_run(self.service) {
            context.warn(format!(
                "{name} was started outside this run: the run does not start it again \
                 (a restart-service step does)"
            ));
        }
        Ok(Done {
            summary: context.say().service_killed(name, pid),
            details: json!({ "service": name, "pid": pid, "signal": "SIGKILL" }),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::app::Service;
    use crate::scenario::parse::parse;
    use crate::scenario::step::{Action, KillService};
    use test_support::assert_contains;

    fn step(keys: &str) -> String {
        format!("title = \"t\"\n[[steps]]\nkind = \"kill-service\"\nsay = \"x\"\n{keys}")
    }

    #[test]
    fn the_service_is_required_and_the_timeout_defaults_to_30_s() {
        let scenario = parse(Path::new("t.toml"), &step("service = \"ingest\"\n")).expect("parses");
        assert_eq!(
            scenario.steps[0].action,
            Action::KillService(KillService {
                service: Service::Ingest,
                timeout: Duration::from_secs(30),
            })
        );
        let scenario = parse(
            Path::new("t.toml"),
            &step("service = \"producer\"\ntimeout = \"5s\"\n"),
        )
        .expect("parses");
        assert_eq!(
            scenario.steps[0].action,
            Action::KillService(KillService {
                service: Service::Producer,
                timeout: Duration::from_secs(5),
            })
        );
        let missing = parse(Path::new("t.toml"), &step("")).expect_err("no service");
        assert_contains(missing.to_string(), "missing `service`");
        let unknown = parse(Path::new("t.toml"), &step("service = \"kafka\"\n"))
            .expect_err("no such service");
        assert_contains(
            unknown.to_string(),
            "unknown service \"kafka\"; expected producer, ingest or api",
        );
    }
}
