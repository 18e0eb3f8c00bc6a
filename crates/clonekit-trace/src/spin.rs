//! When to poll `wait4(WNOHANG)` for the next stop and when to sleep in `wait4` at once.
//!
//! Polling saves the wake-up of a sleeping tracer (on a VM, an inter-processor interrupt to a
//! halted virtual CPU, about 20 µs), but it keeps a CPU busy, and on a VM whose virtual CPUs
//! share a core that slows the tracee down. It pays only when the next stop comes within
//! microseconds: after a `clone3` entry (the event follows), a new thread's first stop, a
//! `wait4` exit. It costs after an `execve` (the new program runs for hundreds of µs before
//! its next traced call). So each kind of stop keeps a moving average of how long the next
//! stop took to come after it was answered, and the tracer polls only after kinds whose
//! average is short. A wait that slept from the start says nothing about how soon the stop
//! came (the wake-up latency is in it), so it only lets the average decay: a kind that was
//! slow once is polled again after a few stops, and measured again.

use std::time::{Duration, Instant};

/// How long to poll at most.
const SPIN: Duration = Duration::from_micros(50);
/// Poll after a kind of stop only if the next stop came this fast on average.
const SHORT_US: u32 = 40;
/// Kinds of stops: `PTRACE_EVENT_*` numbers below 16, signals, deaths, and seccomp entries
/// and syscall exits per syscall number (modulo 32: the traced numbers rarely collide, and a
/// collision only blurs the prediction).
const KINDS: usize = 96;

/// A `PTRACE_EVENT_*` stop (`event` < 16; `PTRACE_EVENT_STOP` is 0x80).
pub(crate) fn event_kind(event: u32) -> usize {
    match event {
        0x80 => 8,
        e if e < 8 => e as usize,
        _ => 0,
    }
}
/// A signal-delivery stop.
pub(crate) const SIGNAL: usize = 9;
/// A tracee's death (its wait status).
pub(crate) const DEATH: usize = 10;
/// A syscall stop whose call is not known.
pub(crate) const OTHER: usize = 11;

/// The seccomp (entry) stop of syscall `nr`.
pub(crate) fn entry_kind(nr: u64) -> usize {
    32 + (nr % 32) as usize
}

/// The syscall-exit stop of syscall `nr`.
pub(crate) fn exit_kind(nr: u64) -> usize {
    64 + (nr % 32) as usize
}

/// The per-kind averages and what was answered last.
pub(crate) struct Spin {
    /// Moving average (1/8 weight) of the time to the next stop, in µs.
    avg_us: [u32; KINDS],
    /// The kind answered last, when, and whether the wait for the next stop polled.
    last: Option<(usize, Instant, bool)>,
}

impl Spin {
    pub(crate) fn new() -> Spin {
        Spin { avg_us: [0; KINDS], last: None }
    }

    /// How long to poll before sleeping: [`SPIN`] after a kind of stop that is usually
    /// followed quickly by another, else zero.
    pub(crate) fn budget(&mut self) -> Duration {
        match &mut self.last {
            Some((kind, _, polled)) => {
                *polled = self.avg_us[*kind] < SHORT_US;
                if *polled {
                    SPIN
                } else {
                    Duration::ZERO
                }
            }
            None => SPIN,
        }
    }

    /// A stop (or death) has been received: the wait since the last answer is recorded.
    pub(crate) fn arrived(&mut self) {
        if let Some((kind, at, polled)) = self.last.take() {
            let avg = &mut self.avg_us[kind];
            if polled {
                let us = at.elapsed().as_micros().min(1_000_000) as u32;
                *avg = *avg - *avg / 8 + us / 8;
            } else {
                *avg -= *avg / 16;
            }
        }
    }

    /// A stop of `kind` has been answered (the tracee resumed) now.
    pub(crate) fn answered(&mut self, kind: usize) {
        self.last = Some((kind.min(KINDS - 1), Instant::now(), true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_until_a_kind_is_known_to_be_slow() {
        let mut s = Spin::new();
        assert_eq!(s.budget(), SPIN);
        let exec = event_kind(4);
        s.avg_us[exec] = 400;
        s.answered(exec);
        assert_eq!(s.budget(), Duration::ZERO);
        s.arrived();
        s.answered(entry_kind(435));
        assert_eq!(s.budget(), SPIN);
    }

    #[test]
    fn a_slow_kind_is_polled_again_after_some_sleeps() {
        let mut s = Spin::new();
        let exit = event_kind(6);
        s.avg_us[exit] = 60;
        let mut sleeps = 0;
        loop {
            s.answered(exit);
            if s.budget() == SPIN {
                break;
            }
            s.arrived();
            sleeps += 1;
            assert!(sleeps < 20);
        }
        assert!(sleeps >= 3, "{sleeps}");
    }

    #[test]
    fn the_average_follows_the_waits() {
        let mut s = Spin::new();
        for _ in 0..40 {
            s.last = Some((DEATH, Instant::now() - Duration::from_micros(200), true));
            s.arrived();
        }
        assert!((150..=200).contains(&s.avg_us[DEATH]), "{}", s.avg_us[DEATH]);
    }

    #[test]
    fn kinds_stay_in_range() {
        for nr in [56, 57, 58, 59, 61, 62, 200, 231, 234, 247, 129, 297, 322, 424, 435, u64::MAX] {
            assert!(entry_kind(nr) < KINDS && exit_kind(nr) < KINDS);
            assert_ne!(entry_kind(nr), exit_kind(nr));
        }
        assert!(event_kind(0x80) < 16 && event_kind(7) < 16);
    }
}
