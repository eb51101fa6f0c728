//! What a long operation tells whoever watches it, without knowing who that is.
//!
//! Domain code (the lab, the faults, the services) takes a `&dyn Progress`
//! and reports through it; the command layer shows it on the terminal
//! (spinners and lines, `ui::TermProgress`). This keeps printing out of the
//! domain modules.

/// Receives the progress of a long operation.
pub trait Progress: Sync {
    /// A wait is under way, or what it sees changed (a transient line).
    fn waiting(&self, message: &str);
    /// Something is done or worth keeping on record (a permanent line).
    fn step(&self, line: &str);
    /// Something went wrong without stopping the operation.
    fn warn(&self, line: &str);
}
