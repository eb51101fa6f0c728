//! The whole day-J scenario on the lab, in auto mode, once per fault mode.
//!
//! Each test runs the built `demo` binary exactly as the README does
//! (`demo --lab run scenario/day-j.toml --mode <m>`), asserts exit code 0,
//! then reads the run's journal to check that every step passed and that the
//! proofs are in it: a `nodetool status` capture showing a node DN, the
//! returned node serving what it missed, and a verification with nothing
//! missing. The lab must be up; the tests hold /tmp/lab-faults.lock while
//! they take nodes out, and bring the lab back whole even if they fail.
//! The scenario's `lab_pace` halves its observation windows on the lab, so
//! the three runs take a few minutes together.

mod common;
mod day_j_support;

use common::{require_lab, root};
use day_j_support::{Stage, assert_day_j_passed};
use test_support::FaultLock;

/// The loopback lab, brought back whole by `demo lab up` after each run.
fn assert_passes_on_the_lab(mode: &str) {
    require_lab();
    let _lock = FaultLock::acquire();
    let lab = Stage::loopback_lab(root());
    assert_day_j_passed(&lab, mode);
}

#[test]
fn day_j_passes_on_the_lab_with_a_graceful_stop() {
    assert_passes_on_the_lab("stop");
}

#[test]
fn day_j_passes_on_the_lab_with_a_crash() {
    assert_passes_on_the_lab("kill");
}

#[test]
fn day_j_passes_on_the_lab_with_a_frozen_node() {
    assert_passes_on_the_lab("freeze");
}
