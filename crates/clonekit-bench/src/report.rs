//! What a [`Report`] says: the latency tables, the ratios against the targets, and an SVG
//! plot of latency against parent memory.

use crate::names::*;
use crate::{Report, Summary};
use std::fmt::Write as _;

/// One ratio of two medians from the same run, with its target.
#[derive(Debug, Clone)]
pub struct Ratio {
    /// What is compared.
    pub label: String,
    /// Ours / theirs (medians).
    pub value: f64,
    /// The target.
    pub limit: f64,
    /// Whether the target is strict (`<`) rather than `≤`.
    pub strict: bool,
}

impl Ratio {
    /// Whether the target is met.
    pub fn met(&self) -> bool {
        if self.strict {
            self.value < self.limit
        } else {
            self.value <= self.limit
        }
    }
}

impl Report {
    /// The fixed-size median of `op` in `variant`.
    pub fn fixed(&self, variant: &str, op: &str) -> Option<Summary> {
        self.fixed.iter().find(|r| r.variant == variant && r.op == op).map(|r| r.summary)
    }

    /// The sweep median of `op` at `mib`.
    pub fn at(&self, mib: usize, op: &str) -> Option<Summary> {
        self.sweep.iter().find(|r| r.mib == mib && r.op == op).map(|r| r.summary)
    }

    /// The ratios the project promises, for each variant, and the loaded spawn from the
    /// largest parent against plain `posix_spawn` from the smallest.
    pub fn ratios(&self) -> Vec<Ratio> {
        let mut out = Vec::new();
        let pairs: [(&str, &str, f64, bool); 6] = [
            (OUR_SPAWN_STATIC, POSIX_SPAWN_STATIC, 0.8, false),
            (OUR_SPAWN_TRUE, POSIX_SPAWN_TRUE, 1.0, false),
            (OUR_SPAWN_TRUE, STD_COMMAND_TRUE, 1.0, false),
            (OUR_THREAD, PTHREAD, 1.1, false),
            (OUR_THREAD, STD_THREAD, 1.0, true),
            (OUR_FORK, GLIBC_FORK, 1.05, false),
        ];
        for variant in ["unpinned", "pinned"] {
            for (ours, theirs, limit, strict) in pairs {
                if let (Some(a), Some(b)) = (self.fixed(variant, ours), self.fixed(variant, theirs)) {
                    out.push(Ratio {
                        label: format!("{ours} / {theirs} ({variant})"),
                        value: a.p50 / b.p50,
                        limit,
                        strict,
                    });
                }
            }
        }
        let small = self.sweep.iter().map(|r| r.mib).min();
        let large = self.sweep.iter().map(|r| r.mib).max();
        if let (Some(s), Some(l)) = (small, large) {
            let loaded = [OUR_SPAWN_LOADED, OUR_SPAWN_LOADED_USERNS]
                .into_iter()
                .find_map(|name| self.at(l, name).map(|a| (name, a)));
            if let (Some((name, a)), Some(b)) = (loaded, self.at(s, POSIX_SPAWN_TRUE)) {
                // The target is for root's row; a user namespace of its own is more work (its
                // creation and two id maps), measured for reference.
                let (prefix, limit) =
                    if name == OUR_SPAWN_LOADED { ("", 1.2) } else { ("(for reference) ", f64::INFINITY) };
                out.push(Ratio {
                    label: format!("{prefix}{name} @ {l} MiB / {POSIX_SPAWN_TRUE} @ {s} MiB"),
                    value: a.p50 / b.p50,
                    limit,
                    strict: false,
                });
            }
            if let (Some(a), Some(b)) = (self.at(l, STD_PRE_EXEC), self.at(s, POSIX_SPAWN_TRUE)) {
                out.push(Ratio {
                    label: format!("(for reference) {STD_PRE_EXEC} @ {l} MiB / {POSIX_SPAWN_TRUE} @ {s} MiB"),
                    value: a.p50 / b.p50,
                    limit: f64::INFINITY,
                    strict: false,
                });
            }
            // std's pre_exec contract costs clonekit a fork too: the same price as std's.
            if let (Some(a), Some(b)) = (self.at(l, OUR_PRE_EXEC), self.at(l, STD_PRE_EXEC)) {
                out.push(Ratio {
                    label: format!("(for reference) {OUR_PRE_EXEC} / {STD_PRE_EXEC} @ {l} MiB"),
                    value: a.p50 / b.p50,
                    limit: f64::INFINITY,
                    strict: false,
                });
            }
        }
        out
    }

    /// The tables as text: fixed-size latencies, the sweep, the ratios.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let fixed = self.fixed.iter().map(|r| (r.op, r.variant.to_string(), &r.summary));
        latency_table(&mut s, "operation (small parent)", "variant", fixed);
        let _ = writeln!(s);
        let sweep = self.sweep.iter().map(|r| (r.op, format!("{:>5} MiB", r.mib), &r.summary));
        latency_table(&mut s, "operation (unpinned)", "parent", sweep);
        let _ = writeln!(s);
        let ratios = self.ratios();
        let w = ratios.iter().map(|r| r.label.chars().count()).max().unwrap_or(0).max(16);
        let _ = writeln!(s, "{:<w$} {:>7} {:>8} {:>6}", "ratio of medians", "value", "target", "met");
        for r in ratios {
            let target = if r.limit.is_infinite() {
                "-".to_string()
            } else {
                format!("{}{}", if r.strict { "<" } else { "≤" }, r.limit)
            };
            let met = if r.limit.is_infinite() {
                "-"
            } else if r.met() {
                "yes"
            } else {
                "NO"
            };
            let _ = writeln!(s, "{:<w$} {:>7.3} {:>8} {:>6}", r.label, r.value, target, met);
        }
        s
    }

    /// An SVG line plot of median latency (log scale) against parent memory, one line per
    /// operation of the sweep.
    pub fn to_svg(&self) -> String {
        let (w, h, left, right, top, bottom) = (760.0, 460.0, 70.0, 250.0, 30.0, 50.0);
        let mut sizes: Vec<usize> = self.sweep.iter().map(|r| r.mib).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let mut ops: Vec<&str> = Vec::new();
        for r in &self.sweep {
            if !ops.contains(&r.op) {
                ops.push(r.op);
            }
        }
        let vals: Vec<f64> = self.sweep.iter().map(|r| r.summary.p50).filter(|v| *v > 0.0).collect();
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min).max(1.0).log10().floor();
        let hi = vals.iter().copied().fold(1.0, f64::max).log10().ceil().max(lo + 1.0);
        let px = |i: usize| {
            left + (w - left - right)
                * if sizes.len() > 1 { i as f64 / (sizes.len() - 1) as f64 } else { 0.5 }
        };
        let py = |v: f64| top + (h - top - bottom) * (1.0 - (v.max(1e-9).log10() - lo) / (hi - lo));
        let colors = ["#d62728", "#ff7f0e", "#8c564b", "#1f77b4", "#2ca02c", "#9467bd", "#17becf"];
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="18" text-anchor="middle" font-size="14">create + exit + reap: median latency vs touched parent memory</text>"#,
            (w - right + left) / 2.0
        );
        let mut decade = lo;
        while decade <= hi {
            let y = py(10f64.powf(decade));
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
                w - right
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{} µs</text>"#,
                left - 6.0,
                y + 4.0,
                10f64.powf(decade)
            );
            decade += 1.0;
        }
        for (i, m) in sizes.iter().enumerate() {
            let x = px(i);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}" stroke="#eee"/>"##,
                h - bottom
            );
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{}" text-anchor="middle">{m} MiB</text>"#,
                h - bottom + 18.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">touched parent memory (4 KiB pages)</text>"#,
            (w - right + left) / 2.0,
            h - 8.0
        );
        for (k, op) in ops.iter().enumerate() {
            let color = colors[k % colors.len()];
            let pts: Vec<String> = sizes
                .iter()
                .enumerate()
                .filter_map(|(i, &m)| self.at(m, op).map(|v| format!("{:.1},{:.1}", px(i), py(v.p50))))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                pts.join(" ")
            );
            for p in &pts {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>"#);
            }
            let ly = top + 16.0 * k as f64 + 10.0;
            let lx = w - right + 12.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2"/>"#,
                lx + 18.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" font-size="10">{}</text>"#,
                lx + 22.0,
                ly + 4.0,
                escape(op)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One latency table: a header, then per row the operation, a second column (the variant or
/// the parent's size), the median and p99 in µs, and the sample count.
fn latency_table<'a>(
    s: &mut String,
    title: &str,
    second: &str,
    rows: impl Iterator<Item = (&'a str, String, &'a Summary)>,
) {
    let rows: Vec<_> = rows.collect();
    let w =
        rows.iter().map(|(op, _, _)| op.chars().count()).chain([title.chars().count()]).max().unwrap_or(0);
    let _ = writeln!(s, "{:<w$} {:>9} {:>10} {:>10} {:>7}", title, second, "median µs", "p99 µs", "n");
    for (op, col, sum) in rows {
        let _ = writeln!(s, "{:<w$} {:>9} {:>10.1} {:>10.1} {:>7}", op, col, sum.p50, sum.p99, sum.n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Row, SweepRow};

    fn summary(p50: f64) -> Summary {
        Summary { p50, p99: p50 * 2.0, n: 10 }
    }

    #[test]
    fn ratios_compare_medians_and_mark_targets() {
        let mut r = Report::default();
        r.fixed.push(Row { variant: "unpinned", op: OUR_FORK, summary: summary(100.0) });
        r.fixed.push(Row { variant: "unpinned", op: GLIBC_FORK, summary: summary(110.0) });
        r.sweep.push(SweepRow { mib: 0, op: POSIX_SPAWN_TRUE, summary: summary(500.0) });
        r.sweep.push(SweepRow { mib: 2048, op: OUR_SPAWN_LOADED, summary: summary(650.0) });
        let ratios = r.ratios();
        let fork = ratios.iter().find(|x| x.label.starts_with(OUR_FORK)).unwrap();
        assert!((fork.value - 100.0 / 110.0).abs() < 1e-9 && fork.met());
        let loaded = ratios.iter().find(|x| x.label.starts_with(OUR_SPAWN_LOADED)).unwrap();
        assert!((loaded.value - 1.3).abs() < 1e-9 && !loaded.met());
        let svg = r.to_svg();
        assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.trim_end().ends_with("</svg>"));
        assert!(r.to_text().contains("NO"));
    }
}
