//! `-c`: calls, errors and time per system call, in strace's table. The time is wall-clock
//! time from each call's entry stop to its exit (strace's `-w`), since a seccomp tracer
//! does not see the tracee's system time per call.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Counts per system call name.
#[derive(Debug, Default)]
pub struct Summary {
    rows: HashMap<&'static str, (u64, u64, Duration)>,
}

impl Summary {
    /// Counts one call.
    pub fn add(&mut self, name: &'static str, error: bool, took: Duration) {
        let r = self.rows.entry(name).or_default();
        r.0 += 1;
        r.1 += u64::from(error);
        r.2 += took;
    }

    /// strace's table, sorted by time, then calls.
    pub fn render(&self) -> String {
        let mut rows: Vec<(&str, (u64, u64, Duration))> = self.rows.iter().map(|(k, v)| (*k, *v)).collect();
        rows.sort_by(|a, b| b.1 .2.cmp(&a.1 .2).then(b.1 .0.cmp(&a.1 .0)).then(a.0.cmp(b.0)));
        let total: Duration = rows.iter().map(|r| r.1 .2).sum();
        let calls: u64 = rows.iter().map(|r| r.1 .0).sum();
        let errors: u64 = rows.iter().map(|r| r.1 .1).sum();
        let mut out = String::new();
        let _ = writeln!(out, "% time     seconds  usecs/call     calls    errors syscall");
        let rule = "------ ----------- ----------- --------- --------- ----------------";
        let _ = writeln!(out, "{rule}");
        let line = |out: &mut String, pct: f64, t: Duration, n: u64, e: u64, name: &str| {
            let per = (t.as_micros() as u64).checked_div(n).unwrap_or(0);
            let e = if e > 0 { e.to_string() } else { String::new() };
            let _ = writeln!(out, "{pct:6.2} {:11.6} {per:11} {n:9} {e:>9} {name}", t.as_secs_f64());
        };
        for (name, (n, e, t)) in &rows {
            let pct = if total.is_zero() { 0.0 } else { 100.0 * t.as_secs_f64() / total.as_secs_f64() };
            line(&mut out, pct, *t, *n, *e, name);
        }
        let _ = writeln!(out, "{rule}");
        line(&mut out, 100.0, total, calls, errors, "total");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_like_strace() {
        let mut s = Summary::default();
        s.add("vfork", false, Duration::from_micros(121));
        s.add("wait4", true, Duration::from_micros(34));
        let t = s.render();
        assert!(t.starts_with("% time     seconds  usecs/call     calls    errors syscall\n"));
        assert!(t.contains(" 78.06    0.000121         121         1           vfork\n"), "{t}");
        assert!(t.contains("100.00    0.000155          77         2         1 total\n"), "{t}");
    }
}
