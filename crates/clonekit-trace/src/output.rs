//! strace's line discipline (src/strace.c `printleader`, `tabto`, `droptcb`,
//! `maybe_switch_tcbs`; src/syscall.c `print_syscall_resume`): the `[pid  N] ` or `N     `
//! prefix, timestamps, a syscall line left open at entry and closed at exit,
//! ` <unfinished ...>` when another tracee must print first, `<... NAME resumed>` when the
//! line is taken up again, the result at column 40; `-ff -o FILE`'s one file per task
//! (`FILE.TID`, no prefix, lines split only when the same task must print twice); whole lines
//! when `-e status=` picks lines by their result; and the tracer's messages on stderr
//! (`clonekit: Process N attached`), which land inside the trace where that goes to stderr.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clonekit_flags::RESULT_COLUMN;

/// `-t` / `-tt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timestamps {
    /// None.
    #[default]
    Off,
    /// `-t`: `HH:MM:SS `.
    Seconds,
    /// `-tt`: `HH:MM:SS.uuuuuu `.
    Micros,
    /// `-ttt`: seconds since the epoch with microseconds, `1795554906.516858 `.
    UnixMicros,
}

/// Where lines go.
pub enum Destination {
    /// Standard error (no `-o`): `[pid  N] ` prefixes once there are two tracees, and the
    /// tracer's messages in the same stream.
    Stderr,
    /// `-o FILE`: `N     ` prefixes on every line.
    File(Box<dyn Write>),
    /// `-ff -o FILE`: `FILE.TID` for each task, created when the task is first seen, no
    /// prefix. What is not a task's line (`--json`, `--tree`, `-c`) goes to stderr.
    PerTask(PathBuf),
}

/// One output stream: its buffer, its column, the task whose line is open in it.
struct Stream {
    out: Box<dyn Write>,
    buf: Vec<u8>,
    open: Option<i32>,
    col: usize,
}

impl Stream {
    fn new(out: Box<dyn Write>) -> Stream {
        Stream { out, buf: Vec::with_capacity(1 << 16), open: None, col: 0 }
    }

    fn put(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        match s.rfind('\n') {
            Some(i) => self.col = s.len() - i - 1,
            None => self.col += s.chars().count(),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }
}

/// Where and how lines are written.
pub struct Printer {
    /// stderr or the `-o` file; with `-ff`, stderr (for `--json`, `--tree`, `-c` only).
    shared: Stream,
    /// `-ff -o FILE`: the base name and each task's stream.
    per_task: Option<(PathBuf, HashMap<i32, Stream>)>,
    /// The first `FILE.TID` that could not be created.
    error: Option<(PathBuf, io::Error)>,
    /// `-o FILE`: `%-5u ` prefixes on every line; else `[pid %5u] ` once two tracees exist.
    to_file: bool,
    /// The trace goes to stderr, where the tracer's messages go.
    to_stderr: bool,
    timestamps: Timestamps,
    /// Tasks whose next line resumes a call whose start stayed with another pid (a
    /// non-leader thread's execve): `<... execve resumed>` even where lines are whole.
    reprint: HashSet<i32>,
    /// Live tracees, for the stderr prefix rule.
    pub nprocs: usize,
    /// The time the lines being written are stamped with (`-t`), if not now: the eBPF
    /// backend's events are read a little after they happened.
    pub when: Option<SystemTime>,
    utc_offset: i64,
}

impl Printer {
    /// A printer writing to `to`.
    pub fn new(to: Destination, timestamps: Timestamps) -> Printer {
        let (shared, per_task, to_file, to_stderr): (Box<dyn Write>, _, _, _) = match to {
            Destination::Stderr => (Box::new(io::stderr()), None, false, true),
            Destination::File(f) => (f, None, true, false),
            Destination::PerTask(base) => {
                (Box::new(io::stderr()), Some((base, HashMap::new())), false, false)
            }
        };
        Printer {
            shared: Stream::new(shared),
            per_task,
            error: None,
            to_file,
            to_stderr,
            timestamps,
            reprint: HashSet::new(),
            nprocs: 1,
            when: None,
            utc_offset: local_utc_offset(),
        }
    }

    /// The stream `tid`'s lines go to (with `-ff`, its file, created now if need be).
    fn stream(&mut self, tid: i32) -> &mut Stream {
        let Some((base, files)) = &mut self.per_task else { return &mut self.shared };
        files.entry(tid).or_insert_with(|| {
            let mut name = base.clone().into_os_string();
            name.push(format!(".{tid}"));
            let path = PathBuf::from(name);
            match std::fs::File::create(&path) {
                Ok(f) => Stream::new(Box::new(f)),
                Err(e) => {
                    if self.error.is_none() {
                        self.error = Some((path, e));
                    }
                    Stream::new(Box::new(io::sink()))
                }
            }
        })
    }

    /// A task was seen for the first time: with `-ff` its file is created now, as strace
    /// does at attach, even if no line is ever written to it.
    pub fn attach(&mut self, tid: i32) {
        if self.per_task.is_some() {
            self.stream(tid);
        }
    }

    /// A task is gone: with `-ff` its file is complete.
    pub fn gone(&mut self, tid: i32) {
        self.reprint.remove(&tid);
        if let Some((_, files)) = &mut self.per_task {
            if let Some(mut s) = files.remove(&tid) {
                if let Err(e) = s.flush() {
                    self.error.get_or_insert((PathBuf::from(format!("(file of {tid})")), e));
                }
            }
        }
    }

    /// The first `-ff` file that could not be created or written, if any.
    pub fn take_error(&mut self) -> Option<(PathBuf, io::Error)> {
        self.error.take()
    }

    /// Writes raw text (JSON lines, the tree, the summary), closing an open line first.
    pub fn raw(&mut self, s: &str) {
        close_open(&mut self.shared);
        self.shared.put(s);
    }

    /// A message of the tracer's own (`Process 123 attached`), on stderr as `clonekit: …`.
    /// Where the trace goes to stderr too it lands in the stream as it stands, in the middle
    /// of an open line if there is one (as strace's does), without moving the column the
    /// line's result is aligned to.
    pub fn diagnostic(&mut self, msg: &str) {
        let text = format!("clonekit: {msg}\n");
        if self.to_stderr {
            self.shared.buf.extend_from_slice(text.as_bytes());
        } else {
            let _ = io::stderr().write_all(text.as_bytes());
        }
    }

    fn leader(&mut self, tid: i32) {
        let separate = self.per_task.is_some();
        let prefix = if separate {
            None
        } else if self.to_file {
            Some(format!("{tid:<5} "))
        } else if self.nprocs > 1 {
            Some(format!("[pid {tid:5}] "))
        } else {
            None
        };
        let stamp = self.stamp();
        let s = self.stream(tid);
        // In a shared stream any open line is cut; in a task's own file only its own.
        if !separate || s.open == Some(tid) {
            close_open(s);
        }
        if let Some(p) = prefix {
            s.put(&p);
        }
        if let Some(t) = stamp {
            s.put(&t);
        }
    }

    fn stamp(&self) -> Option<String> {
        if self.timestamps == Timestamps::Off {
            return None;
        }
        let now =
            self.when.unwrap_or_else(SystemTime::now).duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        if self.timestamps == Timestamps::UnixMicros {
            return Some(format!("{}.{:06} ", now.as_secs(), now.subsec_micros()));
        }
        let local = now.as_secs() as i64 + self.utc_offset;
        let day = local.rem_euclid(86400);
        let mut t = format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60);
        if self.timestamps == Timestamps::Micros {
            t.push_str(&format!(".{:06}", now.subsec_micros()));
        }
        t.push(' ');
        Some(t)
    }

    /// A syscall's entry part; the line stays open.
    pub fn entry(&mut self, tid: i32, text: &str) {
        self.leader(tid);
        let s = self.stream(tid);
        s.put(text);
        s.open = Some(tid);
    }

    /// Closes `tid`'s syscall line: on the same line if it is still open, else on a new
    /// `<... NAME resumed>` line (with `-ff`, only after a non-leader execve); then the
    /// result at column 40 and `-T`'s duration.
    pub fn finish(&mut self, tid: i32, name: &str, rest: &str, result: &str, took: Option<Duration>) {
        let reprint = self.reprint.remove(&tid);
        let separate = self.per_task.is_some();
        if self.stream(tid).open == Some(tid) && !reprint {
            self.stream(tid).open = None;
        } else if !separate || reprint {
            // After a non-leader execve strace starts a new line even if this task's own
            // line is the open one (`exit_group(0 <unfinished ...>`, then the resumed part).
            self.leader(tid);
            self.stream(tid).put(&format!("<... {name} resumed>"));
        }
        end_line(self.stream(tid), rest, result, took);
    }

    /// A whole syscall line, written once its result is known (`-e status=`): the entry part
    /// and the rest together, never split; after a non-leader execve, strace's
    /// `<... execve resumed>` without the start, which stayed with the thread's old pid.
    pub fn whole(
        &mut self,
        tid: i32,
        name: &str,
        head: &str,
        rest: &str,
        result: &str,
        took: Option<Duration>,
    ) {
        self.leader(tid);
        if self.reprint.remove(&tid) {
            self.stream(tid).put(&format!("<... {name} resumed>"));
        } else {
            self.stream(tid).put(head);
        }
        end_line(self.stream(tid), rest, result, took);
    }

    /// A call of `tid` ended and `-e status=` left its line out: nothing is written, and the
    /// call that a non-leader execve left to resume is done with.
    pub fn dropped(&mut self, tid: i32) {
        self.reprint.remove(&tid);
    }

    /// Appends to a comment after the result of `tid`'s line just finished (`--explain`):
    /// the comment goes before the newline.
    pub fn annotate_last(&mut self, tid: i32, comment: &str) {
        let s = self.stream(tid);
        if s.buf.last() == Some(&b'\n') {
            s.buf.pop();
            s.put(&format!(" /* {comment} */\n"));
        }
    }

    /// A whole line for `tid`: `+++ exited with 0 +++`, `--- SIGCHLD {…} ---`.
    pub fn line(&mut self, tid: i32, text: &str) {
        self.leader(tid);
        let s = self.stream(tid);
        s.put(text);
        s.put("\n");
    }

    /// A non-leader thread's execve replaced the leader: ` <pid changed to N ...>` on its open
    /// line, if that line is the one open; the next call it finishes is shown as
    /// `<... NAME resumed>` (strace's `TCB_REPRINT`: the execve's, or, if that was not
    /// traced, the next traced one's). With `-ff` the thread's own file ends here, and it
    /// writes on in the leader's.
    pub fn pid_changed(&mut self, old_tid: i32, new_tid: i32) {
        let s = self.stream(old_tid);
        if s.open == Some(old_tid) {
            s.open = None;
            s.put(&format!(" <pid changed to {new_tid} ...>\n"));
        }
        if self.per_task.is_some() {
            self.gone(old_tid);
        }
        self.reprint.insert(new_tid);
    }

    /// The tracer let go of `tid` (`-p` and Ctrl-C): its open line ends with
    /// ` <detached ...>`.
    pub fn detached(&mut self, tid: i32) {
        let s = self.stream(tid);
        if s.open == Some(tid) {
            s.open = None;
            s.put(" <detached ...>\n");
        }
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.shared.flush()?;
        if let Some((_, files)) = &mut self.per_task {
            for s in files.values_mut() {
                s.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the whole lines that are buffered, keeping an open line back until it is
    /// finished (the eBPF backend writes between batches, while the traced program runs and
    /// writes to the same terminal).
    pub fn flush_lines(&mut self) -> io::Result<()> {
        fn lines(s: &mut Stream) -> io::Result<()> {
            if let Some(end) = s.buf.iter().rposition(|&b| b == b'\n') {
                s.out.write_all(&s.buf[..=end])?;
                s.buf.drain(..=end);
                s.out.flush()?;
            }
            Ok(())
        }
        lines(&mut self.shared)?;
        if let Some((_, files)) = &mut self.per_task {
            for s in files.values_mut() {
                lines(s)?;
            }
        }
        Ok(())
    }

    /// Writes what is buffered if there is a lot of it.
    pub fn flush_if_full(&mut self) -> io::Result<()> {
        if self.shared.buf.len() >= 1 << 16 {
            self.shared.out.write_all(&self.shared.buf)?;
            self.shared.buf.clear();
        }
        if let Some((_, files)) = &mut self.per_task {
            for s in files.values_mut().filter(|s| s.buf.len() >= 1 << 16) {
                s.out.write_all(&s.buf)?;
                s.buf.clear();
            }
        }
        Ok(())
    }

    /// Closes open lines at the very end (strace leaves them unfinished too).
    pub fn end(&mut self) -> io::Result<()> {
        close_open(&mut self.shared);
        if let Some((_, files)) = &mut self.per_task {
            files.values_mut().for_each(close_open);
        }
        self.flush()
    }
}

fn close_open(s: &mut Stream) {
    if s.open.take().is_some() {
        s.put(" <unfinished ...>\n");
    }
}

/// `) = RESULT` at column 40 (strace's `tabto`), `-T`'s time, the newline.
fn end_line(s: &mut Stream, rest: &str, result: &str, took: Option<Duration>) {
    s.put(rest);
    if s.col < RESULT_COLUMN {
        let pad = RESULT_COLUMN - s.col;
        s.put(&" ".repeat(pad));
    } else {
        s.put(" ");
    }
    s.put("= ");
    s.put(result);
    if let Some(d) = took {
        s.put(&format!(" <{}.{:06}>", d.as_secs(), d.subsec_micros()));
    }
    s.put("\n");
}

fn local_utc_offset() -> i64 {
    let now: libc::time_t =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as libc::time_t).unwrap_or(0);
    // SAFETY: `tm` is plain data; localtime_r fills it from `now` and touches nothing else
    // (it reads the timezone once, which is why it is called here and not per line).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}
