//! Every external program the virtual PCs need (ip, ssh-keygen, umount...), run with a
//! time limit.
//!
//! A tool that hangs (a stuck mount, a kernel lock) must never hang `lab up` or `lab down`:
//! each run has a deadline, and the child is killed when it is not met.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use super::PcsError;

/// The time limit of a short administrative command (ip, ssh-keygen, umount).
pub const SHORT: Duration = Duration::from_secs(10);

/// What a finished command produced.
#[derive(Debug)]
pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args...` to completion within `timeout`; a non-zero exit is returned,
/// not an error.
pub async fn run<I, S>(program: &str, args: I, timeout: Duration) -> Result<Ran, PcsError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let described = describe(program, &args);
    let child = tokio::process::Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The timeout drops the future, and with it the child: it must not outlive us.
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(timeout, child).await {
        Err(_elapsed) => {
            return Err(PcsError::CommandTimeout {
                command: described,
                timeout,
            });
        }
        Ok(output) => output.map_err(PcsError::io(format!("running `{described}`")))?,
    };
    Ok(Ran {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// [`run`] within [`SHORT`], where a non-zero exit is a [`PcsError::Command`].
pub async fn run_ok<I, S>(program: &str, args: I) -> Result<String, PcsError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let ran = run(program, &args, SHORT).await?;
    if ran.success {
        Ok(ran.stdout)
    } else {
        Err(PcsError::Command {
            command: describe(program, &args),
            status: "non-zero exit".to_string(),
            detail: ran.stderr.trim().to_string(),
        })
    }
}

/// `program arg arg` as an error message shows it.
pub fn describe<S: AsRef<OsStr>>(program: &str, args: &[S]) -> String {
    std::iter::once(program.to_string())
        .chain(
            args.iter()
                .map(|arg| arg.as_ref().to_string_lossy().into_owned()),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use test_support::assert_contains;

    #[tokio::test]
    async fn a_command_past_its_deadline_is_killed_and_named() {
        let started = Instant::now();
        let err = run("sleep", ["30"], Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            matches!(&err, PcsError::CommandTimeout { command, .. } if command == "sleep 30"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_failing_command_says_what_it_printed() {
        let err = run_ok("sh", ["-c", "echo no such bridge >&2; exit 2"])
            .await
            .unwrap_err()
            .to_string();
        assert_contains(&err, "`sh -c echo no such bridge >&2; exit 2` failed");
        assert!(err.ends_with("no such bridge"), "{err}");
        let ran = run("sh", ["-c", "echo out"], SHORT).await.unwrap();
        assert!(ran.success);
        assert_eq!(ran.stdout, "out\n");
    }
}
