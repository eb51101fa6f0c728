//! Support shared by the integration tests of the services and the conductor.
//!
//! One copy of what every suite needs: the lab-wide fault lock, listeners bound
//! before a service starts (so no test races for a port), spawning the real
//! service binaries, and waiting on a condition until a deadline instead of
//! sleeping.
