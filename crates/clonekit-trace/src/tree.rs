//! The process/thread tree built while tracing (`--tree`): every task with its pid, every
//! program it ran (its creator's, then each it exec'd), how it was created (the clonekit-flags classifier: glibc fork, pthread_create,
//! posix_spawn, vfork, custom…, and the flags), how it ended, and how long it lived.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `exit`/`exit_group` with this status.
    Exited(i32),
    /// Killed by this signal (strace's name), and whether it dumped core.
    Killed(String, bool),
    /// A non-leader thread's execve took over this (leader) task's pid.
    Superseded(i32),
    /// We let go of it (`-p` and Ctrl-C).
    Detached,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exited(c) => write!(f, "exited with {c}"),
            End::Killed(s, false) => write!(f, "killed by {s}"),
            End::Killed(s, true) => write!(f, "killed by {s} (core dumped)"),
            End::Superseded(by) => write!(f, "superseded by execve in pid {by}"),
            End::Detached => f.write_str("detached"),
        }
    }
}

/// One task.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its tid (for a process, its pid).
    pub tid: i32,
    /// The node of the task that created it.
    pub parent: Option<usize>,
    /// Whether it is a thread of its creator's process (`CLONE_THREAD`).
    pub thread: bool,
    /// The program it runs: the last path it exec'd, or its creator's.
    pub program: String,
    /// The program its creator ran when it created it, once the creation is seen.
    pub inherited: Option<String>,
    /// Every path it exec'd, in order.
    pub execs: Vec<String>,
    /// The syscall that created it (`clone3`), if we saw it.
    pub syscall: Option<String>,
    /// Which libc call that is (`glibc pthread_create()`), per clonekit-flags' classifier.
    pub made_by: Option<String>,
    /// The flags, as strace prints them.
    pub flags: Option<String>,
    /// How it ended.
    pub end: Option<End>,
    /// When it was first seen.
    pub start: Instant,
    /// When it ended.
    pub stop: Option<Instant>,
    /// Nodes it created, in order.
    pub children: Vec<usize>,
}

/// Every task seen, as a forest.
#[derive(Debug, Default)]
pub struct Tree {
    /// The nodes, in order of appearance.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Adds a task.
    pub fn add(&mut self, tid: i32, program: String) -> usize {
        self.nodes.push(Node {
            tid,
            parent: None,
            thread: false,
            program,
            inherited: None,
            execs: Vec::new(),
            syscall: None,
            made_by: None,
            flags: None,
            end: None,
            start: Instant::now(),
            stop: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Records that `parent` created `child`.
    pub fn link(&mut self, parent: usize, child: usize) {
        if self.nodes[child].parent.is_none() && parent != child {
            self.nodes[child].parent = Some(parent);
            self.nodes[parent].children.push(child);
        }
    }

    /// Records that `node` exec'd `path`.
    pub fn exec(&mut self, node: usize, path: &str) {
        let n = &mut self.nodes[node];
        n.program = path.to_string();
        n.execs.push(path.to_string());
    }

    /// Records the program `child`'s creator ran when it created it.
    pub fn inherit(&mut self, child: usize, program: &str) {
        let n = &mut self.nodes[child];
        if n.inherited.is_none() && !program.is_empty() {
            n.inherited = Some(program.to_string());
        }
        if n.program.is_empty() {
            n.program = program.to_string();
        }
    }

    /// Every program the task ran, in order: its creator's, then each it exec'd.
    pub fn history<'a>(&self, n: &'a Node) -> Vec<&'a str> {
        n.inherited.iter().chain(&n.execs).map(String::as_str).collect()
    }

    /// Records how a task ended.
    pub fn end(&mut self, node: usize, end: End) {
        let n = &mut self.nodes[node];
        if n.end.is_none() {
            n.end = Some(end);
            n.stop = Some(Instant::now());
        }
    }

    fn lifetime(&self, n: &Node) -> Duration {
        n.stop.unwrap_or_else(Instant::now).duration_since(n.start)
    }

    fn describe(&self, n: &Node) -> String {
        let ran = self.history(n);
        let mut s = format!("{} {}", n.tid, if ran.is_empty() { "?".to_string() } else { ran.join(" → ") });
        if n.thread {
            s.push_str(" (thread)");
        }
        match (&n.made_by, &n.syscall, &n.flags) {
            (Some(by), Some(sc), Some(fl)) => {
                let _ = write!(s, " [{by}: {sc} {fl}]");
            }
            _ if n.parent.is_none() => s.push_str(" [traced from the start]"),
            _ => s.push_str(" [creation not seen]"),
        }
        match &n.end {
            Some(e) => {
                let _ = write!(s, " {e}");
            }
            None => s.push_str(" still running"),
        }
        let _ = write!(s, " after {:.3} ms", self.lifetime(n).as_secs_f64() * 1e3);
        s
    }

    /// The tree as text, one task a line, children indented under their creator.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.parent.is_none() {
                self.render_node(i, "", "", &mut out);
            }
        }
        out
    }

    fn render_node(&self, i: usize, first: &str, rest: &str, out: &mut String) {
        let n = &self.nodes[i];
        let _ = writeln!(out, "{first}{}", self.describe(n));
        let k = n.children.len();
        for (j, &c) in n.children.iter().enumerate() {
            let last = j + 1 == k;
            let (f, r) = if last { ("└── ", "    ") } else { ("├── ", "│   ") };
            self.render_node(c, &format!("{rest}{f}"), &format!("{rest}{r}"), out);
        }
    }

    /// The tree as JSON: `{"event":"tree","roots":[…]}` with nested `children`.
    pub fn to_json(&self) -> Value {
        let roots: Vec<Value> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent.is_none())
            .map(|(i, _)| self.node_json(i))
            .collect();
        json!({ "event": "tree", "roots": roots })
    }

    fn node_json(&self, i: usize) -> Value {
        let n = &self.nodes[i];
        let end = match &n.end {
            Some(End::Exited(c)) => json!({ "exited": c }),
            Some(End::Killed(s, core)) => json!({ "killed": s, "core": core }),
            Some(End::Superseded(by)) => json!({ "superseded_by": by }),
            Some(End::Detached) => json!("detached"),
            None => Value::Null,
        };
        json!({
            "pid": n.tid,
            "program": n.program,
            "ran": self.history(n),
            "thread": n.thread,
            "syscall": n.syscall,
            "made_by": n.made_by,
            "flags": n.flags,
            "end": end,
            "lifetime_s": self.lifetime(n).as_secs_f64(),
            "children": n.children.iter().map(|&c| self.node_json(c)).collect::<Vec<_>>(),
        })
    }
}
