//! How far a PC's clock is from PC4's. Cassandra orders writes by timestamp: a PC whose
//! clock runs ahead makes its writes win over later ones, one behind makes them lose.
//! Measured the NTP way over SSH: PC4's time before and after `date +%s%N` on the PC; the
//! PC's reading is compared with the middle of that round trip, the half round trip is the
//! uncertainty, and of a few samples the one with the shortest round trip is kept.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The command whose output is the PC's time in nanoseconds since the epoch.
pub const DATE_COMMAND: &str = "date +%s%N";

/// How many round trips are measured; the shortest wins.
pub const SAMPLES: usize = 3;

/// One round trip: PC4's clock before and after, the PC's clock in between (ns since epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub before: i128,
    pub remote: i128,
    pub after: i128,
}

/// The PC's clock minus PC4's, within ± `uncertainty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub offset_ms: i64,
    pub uncertainty_ms: i64,
}

impl Offset {
    /// True when the offset is certainly beyond `bound` (uncertainty given the benefit of
    /// the doubt: a slow round trip never makes a good clock fail).
    pub fn exceeds(&self, bound: Duration) -> bool {
        let bound_ms = i64::try_from(bound.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.abs().saturating_sub(self.uncertainty_ms) > bound_ms
    }
}

/// This machine's time in nanoseconds since the epoch.
pub fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_nanos() as i128)
        .unwrap_or(0)
}

/// `date +%s%N`'s output; `None` when it is not a number (e.g. a `date` without `%N`).
pub fn parse_date(output: &str) -> Option<i128> {
    let text = output.trim();
    (text.len() > 10 && text.chars().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// The offset of the sample with the shortest round trip.
pub fn offset(samples: &[Sample]) -> Option<Offset> {
    let best = samples
        .iter()
        .filter(|sample| sample.after >= sample.before)
        .min_by_key(|sample| sample.after - sample.before)?;
    let middle = best.before + (best.after - best.before) / 2;
    let to_ms = |ns: i128| i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX);
    Some(Offset {
        offset_ms: to_ms(best.remote - middle),
        uncertainty_ms: to_ms((best.after - best.before + 1) / 2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;
    const MS: i128 = 1_000_000;

    #[test]
    fn the_shortest_round_trip_is_kept_and_its_middle_compared() {
        let t = 1_764_000_000 * S;
        let samples = [
            // 400 ms round trip: a poor sample.
            Sample {
                before: t,
                remote: t + 2_300 * MS,
                after: t + 400 * MS,
            },
            // 10 ms round trip, the PC 2 s ahead.
            Sample {
                before: t + S,
                remote: t + S + 2_005 * MS,
                after: t + S + 10 * MS,
            },
        ];
        assert_eq!(
            offset(&samples),
            Some(Offset {
                offset_ms: 2_000,
                uncertainty_ms: 5
            })
        );
        assert_eq!(offset(&[]), None);
    }

    #[test]
    fn only_an_offset_certainly_beyond_the_bound_fails() {
        let bound = Duration::from_millis(500);
        let at = |offset_ms, uncertainty_ms| Offset {
            offset_ms,
            uncertainty_ms,
        };
        assert!(at(-2_000, 5).exceeds(bound));
        assert!(at(600, 50).exceeds(bound));
        assert!(!at(520, 50).exceeds(bound));
        assert!(!at(-100, 1).exceeds(bound));
    }

    #[test]
    fn date_output_is_read_as_nanoseconds() {
        assert_eq!(
            parse_date("1764000000123456789\n"),
            Some(1_764_000_000_123_456_789)
        );
        // busybox date prints %N literally.
        assert_eq!(parse_date("1764000000%N\n"), None);
        assert_eq!(parse_date(""), None);
    }
}
