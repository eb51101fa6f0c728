//! HTTP header names the API sets and its clients (the dashboard, the
//! conductor, the tests) read. Lower case, as HTTP/2 and `http::HeaderName`
//! want them.

/// Set to [`READ_CONSISTENCY_ONE`] when a read fell back from the configured
/// consistency to ONE (the API runs with `--fallback-to-one`).
pub const READ_CONSISTENCY: &str = "x-read-consistency";

/// The value of [`READ_CONSISTENCY`] after a fallback.
pub const READ_CONSISTENCY_ONE: &str = "ONE";

/// Set to [`DATA_STALE_TRUE`] when part of an answer is the last good copy
/// rather than a fresh read (a replica was silent).
pub const DATA_STALE: &str = "x-data-stale";

/// The value of [`DATA_STALE`] on a stale answer.
pub const DATA_STALE_TRUE: &str = "true";
