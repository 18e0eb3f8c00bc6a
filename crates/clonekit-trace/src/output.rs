//! strace's line discipline (src/strace.c `printleader`, `tabto`; src/syscall.c
//! `print_syscall_resume`): the `[pid  N] ` or `N     ` prefix, timestamps, a syscall line
//! left open at entry and closed at exit, ` <unfinished ...>` when another tracee must print
//! first, `<... NAME resumed>` when the line is taken up again, the result at column 40.

use std::io::{self, Write};
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
}

/// Where and how lines are written.
pub struct Printer {
    out: Box<dyn Write>,
    buf: Vec<u8>,
    /// `-o FILE`: `%-5u ` prefixes on every line; else `[pid %5u] ` once two tracees exist.
    to_file: bool,
    timestamps: Timestamps,
    /// The tracee whose line is open (entry printed, exit not yet).
    open: Option<i32>,
    col: usize,
    /// Live tracees, for the stderr prefix rule.
    pub nprocs: usize,
    utc_offset: i64,
}

impl Printer {
    /// A printer writing to `out`.
    pub fn new(out: Box<dyn Write>, to_file: bool, timestamps: Timestamps) -> Printer {
        Printer {
            out,
            buf: Vec::with_capacity(1 << 16),
            to_file,
            timestamps,
            open: None,
            col: 0,
            nprocs: 1,
            utc_offset: local_utc_offset(),
        }
    }

    fn put(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        match s.rfind('\n') {
            Some(i) => self.col = s.len() - i - 1,
            None => self.col += s.chars().count(),
        }
    }

    /// Writes raw text (JSON lines, the tree, the summary), closing an open line first.
    pub fn raw(&mut self, s: &str) {
        self.close_open();
        self.put(s);
    }

    fn close_open(&mut self) {
        if self.open.take().is_some() {
            self.put(" <unfinished ...>\n");
        }
    }

    fn leader(&mut self, tid: i32) {
        self.close_open();
        if self.to_file {
            self.put(&format!("{tid:<5} "));
        } else if self.nprocs > 1 {
            self.put(&format!("[pid {tid:5}] "));
        }
        match self.timestamps {
            Timestamps::Off => {}
            ts => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
                let local = now.as_secs() as i64 + self.utc_offset;
                let day = local.rem_euclid(86400);
                let mut t = format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60);
                if ts == Timestamps::Micros {
                    t.push_str(&format!(".{:06}", now.subsec_micros()));
                }
                t.push(' ');
                self.put(&t);
            }
        }
    }

    /// A syscall's entry part; the line stays open.
    pub fn entry(&mut self, tid: i32, text: &str) {
        self.leader(tid);
        self.put(text);
        self.open = Some(tid);
    }

    /// Closes `tid`'s syscall line: on the same line if it is still open, else on a new
    /// `<... NAME resumed>` line; then the result at column 40 and `-T`'s duration.
    pub fn finish(&mut self, tid: i32, name: &str, rest: &str, result: &str, took: Option<Duration>) {
        if self.open == Some(tid) {
            self.open = None;
        } else {
            self.leader(tid);
            self.put(&format!("<... {name} resumed>"));
        }
        self.put(rest);
        if self.col < RESULT_COLUMN {
            let pad = RESULT_COLUMN - self.col;
            self.put(&" ".repeat(pad));
        } else {
            self.put(" ");
        }
        self.put("= ");
        self.put(result);
        if let Some(d) = took {
            self.put(&format!(" <{}.{:06}>", d.as_secs(), d.subsec_micros()));
        }
        self.put("\n");
    }

    /// Appends to a comment after the result of the line just finished (`--explain`): the
    /// comment goes before the newline.
    pub fn annotate_last(&mut self, comment: &str) {
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            self.put(&format!(" /* {comment} */\n"));
        }
    }

    /// A whole line for `tid`: `+++ exited with 0 +++`, `--- SIGCHLD {…} ---`.
    pub fn line(&mut self, tid: i32, text: &str) {
        self.leader(tid);
        self.put(text);
        self.put("\n");
    }

    /// A non-leader thread's execve replaced the leader: ` <pid changed to N ...>` on its open
    /// line, if that line is the one open.
    pub fn pid_changed(&mut self, old_tid: i32, new_tid: i32) {
        if self.open == Some(old_tid) {
            self.open = None;
            self.put(&format!(" <pid changed to {new_tid} ...>\n"));
        }
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }

    /// Writes what is buffered if there is a lot of it.
    pub fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= 1 << 16 {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Closes an open line at the very end (strace leaves it unfinished too).
    pub fn end(&mut self) -> io::Result<()> {
        self.close_open();
        self.flush()
    }
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
