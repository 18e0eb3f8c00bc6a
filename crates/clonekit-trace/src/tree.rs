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
    /// When it exec'd each of them.
    pub exec_times: Vec<Instant>,
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
            exec_times: Vec::new(),
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
        n.exec_times.push(Instant::now());
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

/// Timelines: the same tree drawn against time.
impl Tree {
    /// When the first task was seen.
    fn t0(&self) -> Option<Instant> {
        self.nodes.iter().map(|n| n.start).min()
    }

    /// Microseconds from `t0` to `t`.
    fn us(t0: Instant, t: Instant) -> f64 {
        t.saturating_duration_since(t0).as_secs_f64() * 1e6
    }

    /// The process (thread-group leader) a node belongs to: the node itself, or the nearest
    /// creator that is not a thread.
    fn process_of(&self, mut i: usize) -> usize {
        while self.nodes[i].thread {
            match self.nodes[i].parent {
                Some(p) => i = p,
                None => break,
            }
        }
        i
    }

    fn label(&self, n: &Node) -> String {
        let ran = self.history(n);
        if ran.is_empty() {
            "?".to_string()
        } else {
            ran.join(" → ")
        }
    }

    /// The trace in Chrome's trace-event format (`{"traceEvents": […]}`, opened by
    /// ui.perfetto.dev and chrome://tracing): a complete event per task's lifetime (on its
    /// process's row and its own thread), an instant event per exec, a flow arrow from each
    /// creator to the task it created, process and thread names.
    pub fn to_trace_events(&self) -> Value {
        let Some(t0) = self.t0() else { return json!({ "traceEvents": [] }) };
        let mut ev = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let pid = self.nodes[self.process_of(i)].tid;
            let name = self.label(n);
            if !n.thread {
                ev.push(json!({ "ph": "M", "name": "process_name", "pid": pid, "args": { "name": format!("{pid} {name}") } }));
            }
            ev.push(json!({ "ph": "M", "name": "thread_name", "pid": pid, "tid": n.tid, "args": { "name": format!("{} {name}", n.tid) } }));
            let start = Self::us(t0, n.start);
            let end = Self::us(t0, n.stop.unwrap_or_else(Instant::now));
            ev.push(json!({
                "ph": "X", "name": name, "cat": if n.thread { "thread" } else { "process" },
                "pid": pid, "tid": n.tid, "ts": start, "dur": (end - start).max(1.0),
                "args": {
                    "made_by": n.made_by, "syscall": n.syscall, "flags": n.flags,
                    "end": n.end.as_ref().map(ToString::to_string),
                },
            }));
            for (path, at) in n.execs.iter().zip(&n.exec_times) {
                ev.push(json!({ "ph": "i", "s": "t", "name": format!("execve {path}"), "cat": "exec", "pid": pid, "tid": n.tid, "ts": Self::us(t0, *at) }));
            }
            if let Some(p) = n.parent {
                let (pp, pt) = (self.nodes[self.process_of(p)].tid, self.nodes[p].tid);
                let call = n.syscall.clone().unwrap_or_else(|| "clone".to_string());
                ev.push(json!({ "ph": "s", "id": i, "name": call, "cat": "clone", "pid": pp, "tid": pt, "ts": start }));
                ev.push(json!({ "ph": "f", "bp": "e", "id": i, "name": call, "cat": "clone", "pid": pid, "tid": n.tid, "ts": start }));
            }
        }
        json!({ "traceEvents": ev, "displayTimeUnit": "ms" })
    }

    /// The run as an SVG picture: a row per process and thread in tree order, its lifetime as
    /// a bar (threads lighter), each exec a tick on it, an arrow from each creator's row to
    /// the task it created at the moment it was created; hovering a bar shows its pid,
    /// programs, creating call with flags, and how it ended.
    pub fn to_svg(&self) -> String {
        const ROW: f64 = 18.0;
        const LEFT: f64 = 260.0;
        const WIDTH: f64 = 900.0;
        let mut order = Vec::new();
        fn walk(t: &Tree, i: usize, depth: usize, out: &mut Vec<(usize, usize)>) {
            out.push((i, depth));
            for &c in &t.nodes[i].children {
                walk(t, c, depth + 1, out);
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.parent.is_none() {
                walk(self, i, 0, &mut order);
            }
        }
        let t0 = self.t0().unwrap_or_else(Instant::now);
        let span = self
            .nodes
            .iter()
            .map(|n| Self::us(t0, n.stop.unwrap_or_else(Instant::now)))
            .fold(1.0_f64, f64::max);
        let x = |t: Instant| LEFT + Self::us(t0, t) / span * WIDTH;
        let row_of: std::collections::HashMap<usize, usize> =
            order.iter().enumerate().map(|(r, &(i, _))| (i, r)).collect();
        let height = ROW * (order.len() as f64 + 2.0);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="monospace" font-size="11">"#,
            LEFT + WIDTH + 20.0
        );
        let _ = writeln!(
            s,
            r##"<defs><marker id="arrow" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="4" y="{}">clonekit trace: {} tasks over {:.3} ms</text>"#,
            ROW - 4.0,
            order.len(),
            span / 1e3
        );
        for (r, &(i, depth)) in order.iter().enumerate() {
            let n = &self.nodes[i];
            let y = ROW * (r as f64 + 1.0);
            let (x0, x1) = (x(n.start), x(n.stop.unwrap_or_else(Instant::now)));
            let fill = if n.thread { "#9ecae1" } else { "#3182bd" };
            let tip = format!(
                "{} {}{} {} {}",
                n.tid,
                self.label(n),
                if n.thread { " (thread)" } else { "" },
                match (&n.made_by, &n.syscall, &n.flags) {
                    (Some(by), Some(sc), Some(fl)) => format!("[{by}: {sc} {fl}]"),
                    _ => "[traced from the start]".to_string(),
                },
                n.end.as_ref().map_or("still running".to_string(), ToString::to_string)
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}">{}</text>"#,
                4.0 + 10.0 * depth as f64,
                y + ROW - 5.0,
                escape(&format!("{} {}", n.tid, self.label(n)))
            );
            let _ = writeln!(
                s,
                r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}</title></rect>"#,
                y + 3.0,
                (x1 - x0).max(1.0),
                ROW - 6.0,
                escape(&tip)
            );
            for at in &n.exec_times {
                let xe = x(*at);
                let _ = writeln!(
                    s,
                    r##"<line x1="{xe:.1}" y1="{:.1}" x2="{xe:.1}" y2="{:.1}" stroke="#e6550d" stroke-width="2"/>"##,
                    y + 1.0,
                    y + ROW - 1.0
                );
            }
            if let Some(p) = n.parent.and_then(|p| row_of.get(&p)) {
                let yp = ROW * (*p as f64 + 1.0) + ROW / 2.0;
                let _ = writeln!(
                    s,
                    r##"<line x1="{x0:.1}" y1="{yp:.1}" x2="{x0:.1}" y2="{:.1}" stroke="#555" marker-end="url(#arrow)"/>"##,
                    y + 3.0
                );
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

/// Text for SVG.
fn escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
