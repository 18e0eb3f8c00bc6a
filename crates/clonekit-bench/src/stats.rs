//! Per-operation latencies and their summary (median and p99 of the pooled samples).

use std::time::Instant;

/// Latencies of one operation, in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    /// Times `f` once and records it.
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.0.push(t.elapsed().as_secs_f64() * 1e6);
        r
    }

    /// Median, p99 and count.
    pub fn summary(&self) -> Summary {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if v.is_empty() {
                f64::NAN
            } else {
                v[((v.len() - 1) as f64 * q).round() as usize]
            }
        };
        Summary { p50: at(0.5), p99: at(0.99), n: v.len() }
    }
}

/// The summary of [`Samples`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median, µs.
    pub p50: f64,
    /// 99th percentile, µs.
    pub p99: f64,
    /// Number of samples.
    pub n: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99_of_a_known_set() {
        let s = Samples((1..=100).map(f64::from).collect()).summary();
        assert_eq!((s.p50, s.p99, s.n), (51.0, 99.0, 100));
    }
}
