//! Simulated sensors whose values look real on the dashboard.
//!
//! Each sensor has its own baseline (a room at 19 °C, another at 24 °C), a slow
//! random drift, a daily cycle (warmer in the afternoon) and a little noise.
//! The randomness comes from a seeded generator, so `--seed` reproduces the
//! same drift and noise sequence.

use std::f64::consts::TAU;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::reading::Reading;

/// How far the drift may wander from the baseline (°C).
const MAX_DRIFT: f64 = 2.0;

#[derive(Debug)]
struct SimulatedSensor {
    id: String,
    baseline: f64,
    drift: f64,
    daily_amplitude: f64,
    /// Hour of the daily peak, as a fraction of the day.
    peak_phase: f64,
    last_timestamp_ms: i64,
}

/// A fleet of simulated sensors.
#[derive(Debug)]
pub struct Fleet {
    sensors: Vec<SimulatedSensor>,
    rng: ChaCha8Rng,
}

impl Fleet {
    /// `count` sensors named `<prefix>01`, `<prefix>02`... (more digits past 99).
    pub fn new(prefix: &str, count: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sensors = contract::names::sensor_ids(prefix, count)
            .into_iter()
            .map(|id| SimulatedSensor {
                id,
                baseline: rng.random_range(18.0..26.0),
                drift: 0.0,
                daily_amplitude: rng.random_range(1.0..4.0),
                peak_phase: rng.random_range(0.55..0.65),
                last_timestamp_ms: i64::MIN,
            })
            .collect();
        Fleet { sensors, rng }
    }

    pub fn len(&self) -> usize {
        self.sensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sensors.is_empty()
    }

    /// The next reading of sensor `index` (taken modulo the fleet size), stamped
    /// `now` or 1 ms after the sensor's previous reading, whichever is later:
    /// two readings of one sensor never share a timestamp (the table's key).
    pub fn next_reading(&mut self, index: usize, now: DateTime<Utc>) -> Option<Reading> {
        let count = self.sensors.len();
        let noise = gaussian(&mut self.rng) * 0.15;
        let step = gaussian(&mut self.rng) * 0.02;
        let sensor = self.sensors.get_mut(index % count.max(1))?;
        let millis = now
            .timestamp_millis()
            .max(sensor.last_timestamp_ms.saturating_add(1));
        sensor.last_timestamp_ms = millis;
        let timestamp = Utc.timestamp_millis_opt(millis).single()?;

        sensor.drift = (sensor.drift + step).clamp(-MAX_DRIFT, MAX_DRIFT);
        let day_fraction = f64::from(timestamp.num_seconds_from_midnight()) / 86_400.0;
        let daily =
            sensor.daily_amplitude * (TAU * (day_fraction - sensor.peak_phase + 0.25)).sin();
        let value = sensor.baseline + sensor.drift + daily + noise;
        Some(Reading {
            sensor_id: sensor.id.clone(),
            timestamp,
            value: (value * 100.0).round() / 100.0,
        })
    }
}

/// A standard normal sample (Box-Muller), enough for noise.
fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_767_520_800 + seconds, 0).unwrap()
    }

    #[test]
    fn names_and_plausible_values() {
        let mut fleet = Fleet::new("sensor_", 5, 7);
        let ids: Vec<String> = (0..5)
            .map(|i| fleet.next_reading(i, at(0)).unwrap().sensor_id)
            .collect();
        assert_eq!(
            ids,
            [
                "sensor_01",
                "sensor_02",
                "sensor_03",
                "sensor_04",
                "sensor_05"
            ]
        );
        for i in 0..1000 {
            let r = fleet.next_reading(i, at(i as i64)).unwrap();
            assert!((10.0..35.0).contains(&r.value), "{r:?}");
        }
        assert_eq!(
            Fleet::new("s", 120, 1)
                .next_reading(0, at(0))
                .unwrap()
                .sensor_id,
            "s001"
        );
    }

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        let run = |seed| {
            let mut fleet = Fleet::new("s_", 3, seed);
            (0..30)
                .map(|i| fleet.next_reading(i, at(i as i64)).unwrap().value)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn timestamps_of_a_sensor_strictly_increase() {
        let mut fleet = Fleet::new("s_", 1, 0);
        let a = fleet.next_reading(0, at(0)).unwrap().timestamp;
        let b = fleet.next_reading(0, at(0)).unwrap().timestamp;
        let c = fleet.next_reading(0, at(-5)).unwrap().timestamp;
        assert!(a < b && b < c);
        assert_eq!((b - a).num_milliseconds(), 1);
    }

    #[test]
    fn values_follow_a_daily_cycle() {
        let mut fleet = Fleet::new("s_", 1, 3);
        let mean = |fleet: &mut Fleet, hour: i64| {
            (0..200)
                .map(|i| fleet.next_reading(0, at(hour * 3600 + i)).unwrap().value)
                .sum::<f64>()
                / 200.0
        };
        // Peak around 14:00 UTC, trough around 02:00 (the day starts at 10:00 here).
        let afternoon = mean(&mut fleet, 4);
        let night = mean(&mut fleet, 16);
        assert!(afternoon > night + 1.0, "{afternoon} vs {night}");
    }
}
