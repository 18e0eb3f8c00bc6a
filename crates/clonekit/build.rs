//! Embeds the scenario corpus (`scenarios/*.scn` at the repository root) and the conformance
//! corpus (`conformance/*.scn`, the public suites' cases) in the binary, so that
//! `clonekit check` runs them with no arguments and no files around.

use std::fmt::Write as _;
use std::path::Path;

/// Writes `OUT_DIR/<file>`: a constant `name` holding every `.scn` file of `dir` (relative to
/// the repository root) as (file name, text), in name order.
fn embed(dir: &str, name: &str, file: &str) {
    let rel = dir;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "scn"));
    files.sort();
    let mut out = format!("/// The `{rel}/` corpus: (file name, text), in name order.\n");
    let _ = writeln!(out, "pub const {name}: &[(&str, &str)] = &[");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
        let _ = writeln!(out, "    ({name:?}, include_str!({:?})),", abs.display().to_string());
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join(file);
    std::fs::write(dest, out).expect("write the embedded corpus");
}

fn main() {
    embed("scenarios", "CORPUS", "corpus.rs");
    embed("conformance", "CONFORMANCE", "conformance.rs");
}
