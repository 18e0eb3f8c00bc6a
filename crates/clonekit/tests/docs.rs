//! The README and the guides in `docs/`: every relative link points to a file that exists
//! and, with a `#fragment`, to one of that file's headings; every guide's examples are
//! compiled (each guide is included as doctests by `src/lib.rs`); the README stays a front
//! page that carries the two commands of its contract.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// README.md and every `docs/*.md`, sorted.
fn documents() -> Vec<PathBuf> {
    let root = repo();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root.join("README.md"));
    docs
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of a markdown text outside fenced code blocks, with their numbers (from 1).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m && trimmed.trim_end() == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// The line with its code spans (`` `…` ``) taken out, so that text in them is not read as
/// a link; link targets never contain backquotes.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + ticks..];
        let close = "`".repeat(ticks);
        match after.find(&close) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The targets of the inline links (`[text](target)`, `![alt](target)`) of a markdown text,
/// with the line each is on.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("").to_string();
            out.push((n, target));
            rest = &after[end..];
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits, `-`, `_`
/// and spaces kept), spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown text's headings; a repeated heading gets `-1`, `-2`… as on GitHub.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&line[hashes..]);
        let mut anchor = base.clone();
        let mut k = 0;
        while !seen.insert(anchor.clone()) {
            k += 1;
            anchor = format!("{base}-{k}");
        }
    }
    seen
}

/// Why `target`, a link in `from`, points nowhere; `None` if it points to a file (and
/// heading) that exists, or outside the repository (a URL).
fn broken(from: &Path, target: &str) -> Option<String> {
    if target.is_empty() {
        return Some("empty link".into());
    }
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, fragment) = match target.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        from.to_path_buf()
    } else {
        from.parent().expect("a document's directory").join(path)
    };
    if !file.exists() {
        return Some(format!("{} does not exist", file.display()));
    }
    let fragment = fragment?;
    if file.extension().is_none_or(|e| e != "md") {
        return Some(format!("#{fragment} in {}, which is not markdown", file.display()));
    }
    if anchors(&read(&file)).contains(fragment) {
        None
    } else {
        Some(format!("{} has no heading #{fragment}", file.display()))
    }
}

#[test]
fn every_relative_link_points_to_an_existing_file_and_heading() {
    let mut problems = Vec::new();
    let mut relative = 0;
    for doc in documents() {
        for (line, target) in link_targets(&read(&doc)) {
            if !target.contains("://") {
                relative += 1;
            }
            if let Some(why) = broken(&doc, &target) {
                problems.push(format!("{}:{line}: ({target}): {why}", doc.display()));
            }
        }
    }
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
    // The README links every guide, and the guides link each other: not a vacuous pass.
    assert!(relative >= 30, "only {relative} relative links found");
}

#[test]
fn the_link_check_finds_a_missing_file_and_a_missing_heading() {
    let readme = repo().join("README.md");
    assert_eq!(broken(&readme, "docs/check.md#as-an-ordinary-user"), None);
    assert_eq!(broken(&readme, "https://example.org/none"), None);
    assert!(broken(&readme, "docs/no-such-guide.md").is_some());
    assert!(broken(&readme, "docs/check.md#no-such-heading").is_some());
    assert!(broken(&readme, "#no-such-heading").is_some());
    assert_eq!(
        slug(" `clonekit check` inside a container's seccomp profile"),
        "clonekit-check-inside-a-containers-seccomp-profile"
    );
    assert_eq!(
        link_targets("see [a](x.md), `[b](in-code.md)` and ![c](y.png#z)\n```\n[d](fenced.md)\n```\n"),
        [(1, "x.md".to_string()), (1, "y.png#z".to_string())]
    );
    let headings = anchors("# A\n## A\n```text\n# not a heading\n```\n### Inside `b`'s c\n");
    assert_eq!(headings, ["a", "a-1", "inside-bs-c"].into_iter().map(String::from).collect());
}

#[test]
fn every_guide_is_compiled_as_doctests() {
    let lib = read(&repo().join("crates/clonekit/src/lib.rs"));
    assert!(lib.contains("#[doc = include_str!(\"../../../README.md\")]"));
    for doc in documents().into_iter().skip(1) {
        let name = doc.file_name().and_then(|n| n.to_str()).expect("a file name");
        let include = format!("#[doc = include_str!(\"../../../docs/{name}\")]");
        assert!(lib.contains(&include), "src/lib.rs does not include docs/{name} as doctests");
    }
}

#[test]
fn the_readme_is_a_front_page_with_its_two_commands() {
    let readme = read(&repo().join("README.md"));
    let lines = readme.lines().count();
    assert!(lines < 200, "README.md has {lines} lines; the guides belong in docs/");
    for command in ["$ cargo run --release -- check ", "$ cargo test --workspace "] {
        assert!(readme.contains(command), "README.md lacks {command:?}");
    }
    for command in ["check", "explain", "sim", "trace", "run", "bench"] {
        let example = format!("$ cargo run --release -- {command} ");
        assert!(readme.contains(&example), "README.md has no example of {command}");
        let guide = format!("(docs/{command}.md)");
        assert!(readme.contains(&guide), "README.md does not link docs/{command}.md");
    }
}
