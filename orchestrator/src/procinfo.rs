//! What Linux's `/proc` says about a process: its state, command line,
//! executable and resident memory. The one reader, for the lab's pid files and the services'.
//!
//! A small module rather than the `procfs` crate: three fields are needed,
//! and each is one read and one split.

use std::path::PathBuf;

/// The state letter of `/proc/PID/stat`: R, S, T (stopped, i.e. frozen),
/// Z (zombie), X (dead)...; `None` when there is no such process.
pub fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the state follows its closing parenthesis.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The process exists and is not a zombie waiting to be reaped (nor dead).
pub fn is_alive(pid: u32) -> bool {
    state(pid).is_some_and(|state| state != 'Z' && state != 'X')
}

/// The command line, its arguments joined by NUL as the kernel keeps them.
pub fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).into_owned())
}

/// The file name of the running executable; a binary rebuilt since it
/// started shows as `<name> (deleted)`, reported here as `<name>`.
pub fn executable_name(pid: u32) -> Option<String> {
    let exe: PathBuf = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let name = exe.file_name()?.to_string_lossy();
    Some(name.trim_end_matches(" (deleted)").to_owned())
}

/// Resident memory in KiB (`VmRSS` of `/proc/PID/status`).
pub fn resident_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_resident_memory() {
        let kb = resident_kb(std::process::id()).expect("VmRSS");
        assert!(kb > 100, "{kb} KiB");
        assert_eq!(resident_kb(u32::MAX), None);
    }

    #[test]
    fn this_process_is_alive_and_named() {
        let me = std::process::id();
        assert!(matches!(state(me), Some('R' | 'S')), "{:?}", state(me));
        assert!(is_alive(me));
        let exe = std::env::current_exe().expect("current exe");
        let name = exe.file_name().expect("a file name").to_string_lossy();
        assert_eq!(executable_name(me).as_deref(), Some(name.as_ref()));
        assert!(cmdline(me).is_some_and(|line| !line.is_empty()));
    }

    #[test]
    fn no_such_process_is_not_alive() {
        // Above the kernel's pid_max: never a process.
        assert_eq!(state(u32::MAX), None);
        assert!(!is_alive(u32::MAX));
        assert_eq!(cmdline(u32::MAX), None);
    }
}
