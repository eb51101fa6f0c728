//! The demo's data path, shared by the `producer`, `ingest` and `api` binaries.
