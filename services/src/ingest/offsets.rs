//! Which Kafka offsets ingest may commit.
//!
//! Readings of a partition are written concurrently and finish in any order,
//! but a committed offset means "everything before it is in Cassandra". So per
//! partition the tracker keeps the offsets received and not yet finished; the
//! committable position is the oldest unfinished offset, or one past the last
//! received when all are finished. A message delivered again (after a restart
//! or a rebalance) is the same message at the same offset: whichever copy
//! finishes first counts.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Default)]
struct PartitionState {
    unfinished: BTreeSet<i64>,
    /// One past the highest offset received.
    received_up_to: i64,
    /// The last position committed (or being committed).
    committed: i64,
}

/// Offsets received and finished, per partition of one topic.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<i32, PartitionState>,
}

impl OffsetTracker {
    /// A message was received and its work started.
    pub fn received(&mut self, partition: i32, offset: i64) {
        let state = self.partitions.entry(partition).or_default();
        if offset < state.received_up_to {
            // Kafka went back (restart, rebalance): start over from here.
            // Offsets above it that are still in flight are delivered again.
            state.unfinished.retain(|&o| o < offset);
            state.committed = state.committed.min(offset);
        }
        state.unfinished.insert(offset);
        state.received_up_to = offset + 1;
    }

    /// The message's work is done (written to Cassandra, or dead-lettered).
    pub fn finished(&mut self, partition: i32, offset: i64) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            state.unfinished.remove(&offset);
        }
    }

    /// Positions to commit: for each partition whose committable position moved
    /// since the last call, `(partition, position)`. Records them as committed.
    pub fn take_committable(&mut self) -> Vec<(i32, i64)> {
        let mut moved = Vec::new();
        for (&partition, state) in &mut self.partitions {
            let position = state
                .unfinished
                .first()
                .copied()
                .unwrap_or(state.received_up_to);
            if position > state.committed {
                state.committed = position;
                moved.push((partition, position));
            }
        }
        moved.sort_unstable();
        moved
    }

    /// A commit failed: offer these positions again next time.
    pub fn commit_failed(&mut self, positions: &[(i32, i64)]) {
        for (partition, position) in positions {
            if let Some(state) = self.partitions.get_mut(partition)
                && state.committed == *position
            {
                state.committed = 0;
            }
        }
    }

    /// Messages received and not finished, all partitions together.
    pub fn unfinished(&self) -> usize {
        self.partitions.values().map(|s| s.unfinished.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_past_contiguous_finished_offsets() {
        let mut t = OffsetTracker::default();
        for o in 10..15 {
            t.received(0, o);
        }
        t.finished(0, 11);
        t.finished(0, 12);
        // 10 is still being written: nothing may be committed.
        assert_eq!(t.take_committable(), vec![(0, 10)]);
        t.finished(0, 10);
        assert_eq!(t.take_committable(), vec![(0, 13)]);
        assert_eq!(t.take_committable(), vec![]);
        t.finished(0, 14);
        t.finished(0, 13);
        assert_eq!(t.take_committable(), vec![(0, 15)]);
        assert_eq!(t.unfinished(), 0);
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = OffsetTracker::default();
        t.received(0, 0);
        t.received(1, 0);
        t.received(1, 1);
        t.finished(1, 0);
        t.finished(1, 1);
        assert_eq!(t.take_committable(), vec![(1, 2)]);
        assert_eq!(t.unfinished(), 1);
    }

    #[test]
    fn redelivery_restarts_the_partition_and_either_copy_counts() {
        let mut t = OffsetTracker::default();
        for o in 0..4 {
            t.received(0, o);
        }
        t.finished(0, 0);
        assert_eq!(t.take_committable(), vec![(0, 1)]);
        // Kafka delivers again from 1 while old 1..3 are still in flight.
        t.received(0, 1);
        t.finished(0, 1); // the old copy of 1 finished: same data
        t.received(0, 2);
        assert_eq!(t.take_committable(), vec![(0, 2)]);
        t.finished(0, 2);
        assert_eq!(t.take_committable(), vec![(0, 3)]);
    }

    #[test]
    fn failed_commit_is_offered_again() {
        let mut t = OffsetTracker::default();
        t.received(2, 5);
        t.finished(2, 5);
        let positions = t.take_committable();
        assert_eq!(positions, vec![(2, 6)]);
        t.commit_failed(&positions);
        assert_eq!(t.take_committable(), vec![(2, 6)]);
    }
}
