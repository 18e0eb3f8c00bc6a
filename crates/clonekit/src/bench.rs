//! `clonekit bench`: the quick side-by-side matrix of clonekit-bench (about 30 s), printed as
//! latency tables and ratios of medians, with an SVG plot of latency against parent memory.

use crate::Outcome;
use clonekit_bench::{Config, Report};
use std::path::PathBuf;

/// `clonekit bench` options.
#[derive(clap::Args)]
pub struct Args {
    /// Multiply every iteration count (1 = the ~30 s quick matrix).
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    scale: f64,
    /// Parent memory sizes for the sweep, MiB.
    #[arg(long, value_delimiter = ',', default_value = "0,64,512,2048", value_name = "LIST")]
    sizes: Vec<usize>,
    /// Where to write the SVG plot of latency against parent memory.
    #[arg(long, default_value = "clonekit-bench.svg", value_name = "PATH")]
    svg: PathBuf,
    /// A few iterations of everything and a small sweep (seconds, for checking it runs).
    #[arg(long)]
    smoke: bool,
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 100.0 => Ok(v),
        _ => Err(format!("--scale wants a number in (0, 100], not {s:?}")),
    }
}

/// Runs `clonekit bench`.
pub fn run(args: &Args) -> Result<Outcome, String> {
    let mut config = Config { scale: args.scale, sizes_mib: args.sizes.clone(), ..Config::default() };
    if args.smoke {
        config.scale = 0.01;
        config.sizes_mib = vec![0, 16];
    }
    let started = std::time::Instant::now();
    let report: Report = clonekit_bench::run(&config, &mut |phase| eprintln!("clonekit bench: {phase}"))
        .map_err(|e| format!("bench: {e}"))?;
    print!("{}", report.to_text());
    std::fs::write(&args.svg, report.to_svg())
        .map_err(|e| format!("cannot write {}: {e}", args.svg.display()))?;
    println!();
    println!("plot: {} ({:.1} s in all)", args.svg.display(), started.elapsed().as_secs_f64());
    Ok(Outcome::Ok)
}
