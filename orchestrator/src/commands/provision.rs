//! `demo provision [--dry-run]`: runs the `provision` domain module and prints its
//! plan (per PC: Java, heap, upload, each file's diff, the action) and its verdict.

use crate::cli::Target;
use crate::hosts::{Inventory, SYSTEMD_UNIT};
use crate::provision::{self, AppAction, FileChange, NodeAction, Provisioned, Sources};
use crate::remote::RemoteOptions;
use crate::ui::TermProgress;

pub async fn run(target: &Target, dry_run: bool) -> anyhow::Result<bool> {
    let (inventory, options) = super::reach(target)?;
    provision_and_print(&inventory, &options, dry_run).await?;
    Ok(true)
}

/// Provisions `inventory` and prints what was planned and done (also used by `lab up --pcs`).
pub async fn provision_and_print(
    inventory: &Inventory,
    options: &RemoteOptions,
    dry_run: bool,
) -> Result<Provisioned, provision::ProvisionError> {
    println!(
        "{} {} PCs of {}",
        if dry_run {
            "Dry run: planning"
        } else {
            "Provisioning"
        },
        inventory.nodes.len(),
        inventory.path.display()
    );
    let done = provision::provision(
        inventory,
        options,
        &Sources::discover(),
        dry_run,
        &TermProgress::default(),
    )
    .await?;
    if dry_run {
        print!("{}", render_plan(&done));
    }
    println!("{}", verdict(&done));
    Ok(done)
}

fn render_plan(done: &Provisioned) -> String {
    let mut out = String::new();
    for pc in &done.pcs {
        out.push_str(&format!(
            "\n== {}: Java {}, heap {} MiB\n",
            pc.label, pc.java, pc.heap_mb
        ));
        if pc.upload {
            out.push_str(&format!(
                "  would upload the Cassandra distribution ({} MB)\n",
                pc.upload_bytes / 1_000_000
            ));
        } else {
            out.push_str("  the Cassandra distribution is already there\n");
        }
        push_changes(&mut out, &pc.changes, "replace (backup kept)");
        if pc.enable_unit {
            out.push_str(&format!(
                "  would enable {SYSTEMD_UNIT} (systemctl daemon-reload, enable: the node starts when the PC boots)\n"
            ));
        }
        out.push_str(&format!(
            "  {}\n",
            match pc.action {
                NodeAction::UpToDate if pc.is_up_to_date() =>
                    "up to date: nothing to do".to_string(),
                NodeAction::UpToDate => "running: no restart needed".to_string(),
                NodeAction::Start => "would start the node and wait until it is UN".to_string(),
                NodeAction::Restart =>
                    "would restart the node (drain, stop, start) and wait until it is UN"
                        .to_string(),
            }
        ));
    }
    let app = &done.app;
    out.push_str(&format!(
        "\n== {}: Kafka at {} ({})\n",
        app.label,
        app.bootstrap,
        app.dir.display()
    ));
    push_changes(&mut out, &app.changes, "replace");
    out.push_str(&format!(
        "  {}\n\nwould apply {} (idempotent)\n",
        match app.action {
            AppAction::UpToDate => "up to date: nothing to do",
            AppAction::Start => "would start Kafka and create its topics",
            AppAction::Restart => "would restart Kafka",
        },
        done.schema.display()
    ));
    out
}

fn verdict(done: &Provisioned) -> String {
    let took = done.took.as_secs_f64();
    match (done.dry_run, done.up_to_date) {
        (true, true) => {
            format!("Dry run: everything is up to date; nothing would change ({took:.1}s).")
        }
        (true, false) => format!("Dry run: nothing was touched ({took:.1}s)."),
        (false, true) => {
            format!("Everything was up to date: no file changed, nothing restarted ({took:.1}s).")
        }
        (false, false) => format!(
            "Provisioned in {took:.0}s: the cluster is formed, schema applied, Kafka up. \
             Check it with `demo check-cluster`."
        ),
    }
}

/// The files a dry run would write (`replaced` says what becomes of one that
/// exists), then their diffs.
fn push_changes(out: &mut String, changes: &[FileChange], replaced: &str) {
    for change in changes {
        let verb = if change.existed { replaced } else { "create" };
        out.push_str(&format!("  would {verb} {}\n", change.path.display()));
    }
    for change in changes {
        out.push_str(&change.diff);
    }
}
