//! `clonekit bench --smoke`: the whole matrix runs (a few iterations of each operation), the
//! tables and ratios are printed and the SVG is written. No timing is asserted.

use std::process::Command;

#[test]
fn bench_smoke_prints_tables_and_writes_the_plot() {
    let svg = std::env::temp_dir().join(format!("clonekit-bench-smoke-{}.svg", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_clonekit"))
        .args(["bench", "--smoke", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for row in [
        "our fork",
        "glibc fork()",
        "pthread_create+join",
        "glibc posix_spawn static",
        "std Command /bin/true",
    ] {
        assert!(text.contains(row), "{row} missing: {text}");
    }
    assert!(text.contains("ratio of medians"), "{text}");
    let plot = std::fs::read_to_string(&svg).unwrap();
    std::fs::remove_file(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.contains("<polyline"), "{plot}");
}

#[test]
fn bad_bench_input_is_one_line_and_exit_2() {
    let o = Command::new(env!("CARGO_BIN_EXE_clonekit")).args(["bench", "--scale", "-1"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
}
