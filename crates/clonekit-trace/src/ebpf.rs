//! `--backend ebpf`: a tracer that never stops the traced program. Programs attached to the
//! kernel's raw tracepoints (`sys_enter`/`sys_exit` for the calls, `sched_process_fork`,
//! `sched_process_exec`, `sched_process_exit`, `signal_generate`, `signal_deliver`) follow the
//! program's descendants inside the kernel (a task is tracked from the moment its creator,
//! tracked, makes it) and write one record per event to a ring buffer, with the pieces of
//! user memory the decoder needs (a `clone_args`, an execve's path and argv, a wait status),
//! copied at the moment ptrace would read them. This side reads the ring in batches and hands
//! each event to the same [`Recorder`] the ptrace backend uses: the same lines, tree, JSON.
//!
//! The kernel half is `bpf/trace.bpf.c`, committed compiled (`bpf/trace.bpf.o`, rebuilt and
//! checked by `bpf/build.sh`), and loaded here: aya-obj reads it, [`crate::btf`] finds the
//! offsets of the kernel-structure fields it reads, `clonekit_raw::bpf` loads and attaches
//! it, aya's map types read its maps. Building clonekit needs no C compiler.
//!
//! What differs from ptrace, and why:
//! - memory the programs could not read at that moment (a page not yet faulted in) is printed
//!   as strace prints unreadable memory, the address;
//! - of an execve's argv, the first 32 strings are copied, each up to 255 bytes (more is
//!   printed as strace prints a longer string: cut, with `...`; further strings as their
//!   address), and an environment is counted up to 256 entries;
//! - `-y` reads `/proc/PID/fd` when the event is read, a little after the call;
//! - a record that finds the ring buffer (8 MiB) full is counted and reported as lost.

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use aya::maps::{Array, HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use clonekit_flags::{
    sig_kernel_coredump, sig_kernel_ignore, sig_kernel_stop, ProcessSyscall, SigInfo, SyscallResult,
};
use clonekit_raw as raw;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::decode;
use crate::launch;
use crate::mem::{self, Snapshot};
use crate::output::Printer;
use crate::record::Recorder;
use crate::tracer::{Ending, INTERRUPTED, WAKE};
use crate::{Options, Report, Target, TraceError};

/// The compiled programs (see the module notes).
static OBJECT: &[u8] = aya::include_bytes_aligned!("../bpf/trace.bpf.o");

/// The programs and the tracepoints they attach to.
const PROGRAMS: [(&str, &std::ffi::CStr); 7] = [
    ("on_sys_enter", c"sys_enter"),
    ("on_sys_exit", c"sys_exit"),
    ("on_fork", c"sched_process_fork"),
    ("on_exec", c"sched_process_exec"),
    ("on_exit", c"sched_process_exit"),
    ("on_signal_deliver", c"signal_deliver"),
    ("on_signal_generate", c"signal_generate"),
];

/// What the kernel half copies for a call (`enum capture` in trace.bpf.c).
fn capture(sc: ProcessSyscall) -> u32 {
    match sc {
        ProcessSyscall::Clone => 2,
        ProcessSyscall::Clone3 => 3,
        ProcessSyscall::Execve => 4,
        ProcessSyscall::Execveat => 5,
        ProcessSyscall::Wait4 => 6,
        ProcessSyscall::Waitid => 7,
        ProcessSyscall::RtSigqueueinfo | ProcessSyscall::PidfdSendSignal => 8,
        ProcessSyscall::RtTgsigqueueinfo => 9,
        _ => 1,
    }
}

// Record kinds (`enum kind`) and flags, as trace.bpf.c writes them.
const EV_ENTER: u32 = 1;
const EV_EXIT: u32 = 2;
const EV_FORK: u32 = 3;
const EV_EXEC: u32 = 4;
const EV_GONE: u32 = 5;
const EV_SIGNAL: u32 = 6;
const GONE_GROUP_EXEC: i64 = 1;
const SIGNAL_DEFAULT: i64 = 2;
const SIGNAL_QUEUED_DFL: i64 = 4;
/// `struct head`: its size; the regions follow.
const HEAD: usize = 88;

/// One ring-buffer record.
struct Record {
    kind: u32,
    tid: i32,
    tgid: i32,
    ts: u64,
    a: u64,
    b: i64,
    args: [u64; 6],
    regions: Vec<(u64, Vec<u8>)>,
}

impl Record {
    fn parse(d: &[u8]) -> Option<Record> {
        let u32_at = |o: usize| d.get(o..o + 4).map(|s| u32::from_ne_bytes(s.try_into().expect("4 bytes")));
        let u64_at = |o: usize| d.get(o..o + 8).map(|s| u64::from_ne_bytes(s.try_into().expect("8 bytes")));
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = u64_at(40 + 8 * i)?;
        }
        let n = u32_at(12)?;
        let mut regions = Vec::with_capacity(n as usize);
        let mut off = HEAD;
        for _ in 0..n {
            let addr = u64_at(off)?;
            let len = u32_at(off + 8)? as usize;
            let next = u32_at(off + 12)? as usize;
            if len > 0 {
                regions.push((addr, d.get(off + 16..off + 16 + len)?.to_vec()));
            }
            off += next.max(16);
        }
        Some(Record {
            kind: u32_at(0)?,
            tid: u32_at(4)? as i32,
            tgid: u32_at(8)? as i32,
            ts: u64_at(16)?,
            a: u64_at(24)?,
            b: u64_at(32)? as i64,
            args,
            regions,
        })
    }
}

/// The loaded and attached programs.
struct Probe {
    /// The programs' attachments: closing one detaches its program (first, on drop).
    links: Vec<std::os::fd::OwnedFd>,
    /// The loaded programs, in [`PROGRAMS`]' order.
    programs: Vec<std::os::fd::OwnedFd>,
    ring: RingBuf<MapData>,
    _wanted: Array<MapData, u32>,
    tracked: BpfHashMap<MapData, u32, u32>,
    lost: PerCpuArray<MapData, u64>,
    /// The maps only the programs use (`calls`, the read-only data), kept for the trace.
    _others: Vec<MapData>,
}

fn refused(reason: impl std::fmt::Display) -> TraceError {
    TraceError::Ebpf { reason: reason.to_string() }
}

/// Completes an execve/execveat entry record `entry` from the record of the exec it made:
/// the path, argv's strings and envp's count that the caller's memory did not give (a string
/// literal in a page the program never touched cannot be read from a tracepoint), taken from
/// the new program's copy, in order. What neither gives stays unreadable.
fn fill_from_exec(entry: &mut Record, exec: &Record) {
    let execveat = ProcessSyscall::from_number(entry.a) == Some(ProcessSyscall::Execveat);
    let base = usize::from(execveat);
    let (path, argv, envp) = (entry.args[base], entry.args[base + 1], entry.args[base + 2]);
    let old = Snapshot(std::mem::take(&mut entry.regions));
    let new = Snapshot(exec.regions.clone());
    let mut add = Vec::new();
    if path != 0 && mem::read_cstr(&old, path, 1).is_none() {
        if let Some((_, resolved)) = new.0.iter().find(|(a, _)| *a == 0) {
            let resolved = resolved.strip_suffix(&[0]).unwrap_or(resolved);
            // execveat relative to a descriptor: the kernel named it /dev/fd/N[/PATH].
            let dirfd = entry.args[0] as i32;
            let prefix = format!("/dev/fd/{dirfd}");
            let given = match resolved.strip_prefix(prefix.as_bytes()) {
                Some(rest) if execveat && dirfd >= 0 => rest.strip_prefix(b"/").unwrap_or(rest),
                _ => resolved,
            };
            let mut b = given.to_vec();
            b.push(0);
            add.push((path, b));
        }
    }
    if argv != 0 {
        let strings: Vec<Vec<u8>> = mem::read_ptr_array(&new, exec.args[2], 64)
            .map(|(ptrs, _)| {
                ptrs.iter().map_while(|&p| mem::read_cstr(&new, p, 4096).map(|(s, _)| s)).collect()
            })
            .unwrap_or_default();
        if let Some((ptrs, _)) = mem::read_ptr_array(&old, argv, 64) {
            for (p, s) in ptrs.into_iter().zip(strings) {
                if mem::read_cstr(&old, p, 1).is_none() {
                    let mut b = s;
                    b.push(0);
                    add.push((p, b));
                }
            }
        }
    }
    if envp != 0 && mem::count_ptr_array(&old, envp).is_none() {
        // Only the count is printed: as many non-NULL words, a NULL, up to the page's end.
        let len = (4096 - (envp % 4096) as usize).max((exec.args[1] as usize + 1) * 8);
        let mut b = vec![0u8; len];
        for w in 0..exec.args[1] as usize {
            b[w * 8] = 1;
        }
        add.push((envp, b));
    }
    entry.regions = old.0;
    entry.regions.extend(add);
}

/// The first release the programs load on: they call `bpf_loop` (Linux 5.17).
const OLDEST_LINUX: (u32, u32) = (5, 17);

/// Why eBPF cannot be used here, if it cannot: a kernel older than [`OLDEST_LINUX`], no BTF,
/// or neither root nor `CAP_BPF`.
pub fn unavailable() -> Option<String> {
    if running_linux().is_none_or(|v| v < OLDEST_LINUX) {
        let uname = rustix::system::uname();
        return Some(format!(
            "needs Linux {}.{} or newer (the programs use bpf_loop); this is {}",
            OLDEST_LINUX.0,
            OLDEST_LINUX.1,
            uname.release().to_string_lossy()
        ));
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Some("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing)".into());
    }
    use rustix::thread::CapabilitySet as Cap;
    let eff = rustix::thread::capabilities(None).map(|c| c.effective).unwrap_or(Cap::empty());
    if !(eff.contains(Cap::SYS_ADMIN) || eff.contains(Cap::BPF | Cap::PERFMON)) {
        return Some("needs root, or CAP_BPF and CAP_PERFMON".into());
    }
    None
}

/// The offsets the programs read kernel structures at (`off_*` and `size_k_sigaction` in
/// trace.bpf.c), from the running kernel's BTF.
fn kernel_offsets() -> Result<Vec<(&'static str, u32)>, TraceError> {
    let data = std::fs::read("/sys/kernel/btf/vmlinux")
        .map_err(|e| refused(format!("reading the kernel's BTF (/sys/kernel/btf/vmlinux): {e}")))?;
    let btf = crate::btf::Btf::parse(&data).map_err(|e| refused(format!("the kernel's BTF: {e}")))?;
    let field = |s: &str, m: &str| btf.field(s, m).map_err(|e| refused(format!("the kernel's BTF: {e}")));
    let mut out = Vec::new();
    // Each with the size the programs read it at: an int, or a word (a pointer, an unsigned
    // long, a sigset_t of one word).
    for (global, strukt, member, size) in [
        ("off_task_pid", "task_struct", "pid", 4),
        ("off_task_tgid", "task_struct", "tgid", 4),
        ("off_task_exit_code", "task_struct", "exit_code", 4),
        ("off_task_signal", "task_struct", "signal", 8),
        ("off_task_sighand", "task_struct", "sighand", 8),
        ("off_task_blocked", "task_struct", "blocked", 8),
        ("off_signal_group_exec_task", "signal_struct", "group_exec_task", 8),
        ("off_bprm_p", "linux_binprm", "p", 8),
        ("off_bprm_argc", "linux_binprm", "argc", 4),
        ("off_bprm_envc", "linux_binprm", "envc", 4),
        ("off_bprm_filename", "linux_binprm", "filename", 8),
    ] {
        let (offset, found) = field(strukt, member)?;
        if found != size {
            return Err(refused(format!(
                "the kernel's BTF: struct {strukt}'s {member} has {found} bytes, the programs read {size}"
            )));
        }
        out.push((global, offset));
    }
    // The signal actions: 64 of them (_NSIG on x86_64), each begins with its handler.
    let (action, size) = field("sighand_struct", "action")?;
    out.push(("off_sighand_action", action));
    out.push(("size_k_sigaction", size / 64));
    Ok(out)
}

/// The object, parsed, and its maps but the read-only data made: (name, definition, map).
type Made = (aya_obj::Object, Vec<(String, aya_obj::Map, MapData)>);

fn make_maps() -> Result<Made, TraceError> {
    let mut obj =
        aya_obj::Object::parse(OBJECT).map_err(|e| refused(format!("the programs' object: {e}")))?;
    let names: Vec<String> = obj.maps.keys().filter(|n| *n != ".rodata").cloned().collect();
    let mut maps = Vec::new();
    for name in names {
        let def = obj.maps.remove(&name).expect("listed above");
        let data = create_map(&def, &name)?;
        maps.push((name, def, data));
    }
    Ok((obj, maps))
}

/// Makes the map `def` describes, as it describes it but for the BTF of its key and value
/// (the kernel needs no description of their types for these maps).
fn create_map(def: &aya_obj::Map, name: &str) -> Result<MapData, TraceError> {
    let plain = aya_obj::Map::new_from_params(
        def.map_type(),
        def.key_size(),
        def.value_size(),
        def.max_entries(),
        def.map_flags(),
    );
    MapData::create(plain, name, None).map_err(|e| refused(format!("making the map {name}: {}", chain(&e))))
}

/// The running kernel's version (`uname -r`), as clonekit-flags reads it.
fn running_linux() -> Option<clonekit_flags::Version> {
    clonekit_flags::running_version(&rustix::system::uname().release().to_string_lossy())
}

/// The instructions as the kernel takes them: `struct bpf_insn`, 8 bytes each (opcode,
/// destination and source registers in one byte, offset, immediate; little-endian).
fn instructions(insns: &[aya_obj::generated::bpf_insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * raw::bpf::INSN_SIZE);
    for i in insns {
        out.push(i.code);
        out.push((i.src_reg() << 4) | (i.dst_reg() & 0x0f));
        out.extend_from_slice(&i.off.to_le_bytes());
        out.extend_from_slice(&i.imm.to_le_bytes());
    }
    out
}

/// Loads one program; a refusal says why with the verifier's last line.
fn verify(p: &raw::bpf::Program<'_>) -> Result<std::os::fd::OwnedFd, TraceError> {
    let name = p.name;
    match raw::bpf::prog_load(p, None) {
        Ok(fd) => Ok(fd),
        Err(first) => {
            // Again with the verifier's log, to say why.
            let mut log = vec![0u8; 1 << 20];
            let again = raw::bpf::prog_load(p, Some(&mut log));
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let why = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.starts_with("processed "))
                .unwrap_or("");
            match again {
                Ok(fd) => Ok(fd),
                Err(e) if why.is_empty() => Err(refused(format!("loading {name}: {e}"))),
                Err(_) => Err(refused(format!("loading {name}: {first}: {why}"))),
            }
        }
    }
}

impl Probe {
    /// Loads the programs: the object's maps are made, its read-only data set (the options,
    /// and the offsets of the kernel structures' fields, read from the kernel's BTF on
    /// another CPU meanwhile: [`btf`](crate::btf)), its instructions given the maps' and
    /// functions' places (aya-obj), and the seven programs verified on two CPUs. The
    /// programs are raw tracepoints: nothing else of the kernel's BTF is needed.
    fn load(opts: &Options, follow_all: bool) -> Result<Probe, TraceError> {
        if let Some(why) = unavailable() {
            return Err(refused(why));
        }
        let (offsets, made) = std::thread::scope(|scope| {
            let offsets = scope.spawn(kernel_offsets);
            let made = make_maps();
            (offsets.join(), made)
        });
        let offsets = offsets.map_err(|_| refused("reading the kernel's BTF: the reader panicked"))??;
        let (mut obj, mut maps) = made?;
        // The read-only data: the options and the offsets, then frozen, so that the verifier
        // takes them for the constants they are.
        let all = u32::from(follow_all);
        let str_max = opts.string_limit.min(u32::MAX as usize - 1) as u32;
        let untraced = clonekit_flags::CloneFlags::CLONE_UNTRACED.bits();
        let mut globals: Vec<(&str, Vec<u8>)> = vec![
            ("untraced_flag", untraced.to_ne_bytes().to_vec()),
            ("follow_all", all.to_ne_bytes().to_vec()),
            ("str_max", str_max.to_ne_bytes().to_vec()),
            ("array_max", str_max.to_ne_bytes().to_vec()),
        ];
        globals.extend(offsets.iter().map(|(name, v)| (*name, v.to_ne_bytes().to_vec())));
        obj.patch_map_data(globals.iter().map(|(n, v)| (*n, (v.as_slice(), true))).collect())
            .map_err(|e| refused(format!("setting the programs' constants: {e}")))?;
        let rodata = obj.maps.remove(".rodata").ok_or_else(|| refused("the object has no read-only data"))?;
        let data = create_map(&rodata, ".rodata")?;
        raw::bpf::map_update_elem(data.fd().as_fd(), &0u32.to_ne_bytes(), rodata.data(), 0)
            .and_then(|()| raw::bpf::map_freeze(data.fd().as_fd()))
            .map_err(|e| refused(format!("the read-only data: {e}")))?;
        maps.push((".rodata".to_string(), rodata, data));
        // The instructions that name a map get its descriptor; calls get their functions.
        let text: std::collections::HashSet<usize> =
            obj.functions.keys().map(|(section, _)| *section).collect();
        obj.relocate_maps(
            maps.iter().map(|(name, m, data)| (name.as_str(), data.fd().as_fd().as_raw_fd(), m)),
            &text,
        )
        .map_err(|e| refused(format!("relocating the programs: {}", chain(&e))))?;
        obj.relocate_calls(&text).map_err(|e| refused(format!("relocating the programs: {}", chain(&e))))?;
        // The object's own BTF, which the verifier wants for the functions given to bpf_loop
        // (fixed up as a loader must: the sizes of its data sections).
        let features = aya_obj::btf::BtfFeatures::new(
            true,
            true,
            true,
            true,
            true,
            true,
            true,
            running_linux().is_some_and(|v| v >= (6, 0)),
        );
        let btf = obj
            .fixup_and_sanitize_btf(&features)
            .map_err(|e| refused(format!("the programs' BTF: {e}")))?
            .map(|b| b.to_bytes())
            .ok_or_else(|| refused("the programs' object has no BTF"))?;
        let btf = raw::bpf::btf_load(&btf).map_err(|e| refused(format!("loading the programs' BTF: {e}")))?;
        let license = obj.license.clone();
        let mut code = Vec::new();
        for (name, _) in PROGRAMS {
            let prog =
                obj.programs.get(name).ok_or_else(|| refused(format!("the object has no program {name}")))?;
            let function = obj
                .functions
                .get(&prog.function_key())
                .ok_or_else(|| refused(format!("the object has no code for {name}")))?;
            let func_info = function.func_info.func_info_bytes();
            code.push((
                name,
                instructions(&function.instructions),
                func_info,
                function.func_info_rec_size as u32,
            ));
        }
        type Code = (&'static str, Vec<u8>, Vec<u8>, u32);
        fn program<'a>(
            c: &'a Code,
            btf: BorrowedFd<'a>,
            license: &'a std::ffi::CStr,
        ) -> raw::bpf::Program<'a> {
            let (name, insns, func_info, rec_size) = c;
            raw::bpf::Program {
                prog_type: raw::bpf::BPF_PROG_TYPE_RAW_TRACEPOINT,
                insns,
                license,
                name,
                btf: Some((btf, func_info, *rec_size)),
            }
        }
        let btf = btf.as_fd();
        let license = license.as_c_str();
        // The verifier takes most of the time: on_sys_exit and on_sys_enter (with its copy
        // of execve's arguments) most, about as long as the other five together: they are
        // verified on two CPUs at once.
        let (there, here): (Vec<_>, Vec<_>) =
            code.iter().enumerate().partition(|(_, (name, ..))| matches!(*name, "on_sys_enter" | "on_exec"));
        let mut loaded: Vec<(usize, std::os::fd::OwnedFd)> = std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                there.into_iter().map(|(i, c)| verify(&program(c, btf, license)).map(|fd| (i, fd))).collect()
            });
            let here: Result<Vec<_>, TraceError> =
                here.into_iter().map(|(i, c)| verify(&program(c, btf, license)).map(|fd| (i, fd))).collect();
            let there: Result<Vec<_>, TraceError> =
                other.join().map_err(|_| refused("loading the programs: the loader panicked"))?;
            let mut all = here?;
            all.extend(there?);
            Ok::<_, TraceError>(all)
        })?;
        loaded.sort_by_key(|(i, _)| *i);
        let programs = loaded.into_iter().map(|(_, fd)| fd).collect();
        let mut take = |name: &str| -> Result<aya::maps::Map, TraceError> {
            let i = maps
                .iter()
                .position(|(n, _, _)| n == name)
                .ok_or_else(|| refused(format!("the object has no map {name}")))?;
            let (_, _, data) = maps.remove(i);
            aya::maps::Map::from_map_data(data).map_err(|e| refused(format!("the map {name}: {e}")))
        };
        let ring =
            RingBuf::try_from(take("events")?).map_err(|e| refused(format!("the ring buffer: {e}")))?;
        let mut wanted: Array<MapData, u32> =
            Array::try_from(take("wanted")?).map_err(|e| refused(format!("the map of wanted calls: {e}")))?;
        let tracked = BpfHashMap::try_from(take("tracked")?)
            .map_err(|e| refused(format!("the map of tracked tasks: {e}")))?;
        let lost = PerCpuArray::try_from(take("lost")?)
            .map_err(|e| refused(format!("the count of lost events: {e}")))?;
        let decoded_all = opts.tree || opts.keep_tree;
        for &sc in ProcessSyscall::ALL {
            // The creating calls always: whether a child is followed depends on their flags
            // (CLONE_UNTRACED).
            if decoded_all || opts.trace.contains(sc) || sc.creates() {
                wanted
                    .set(sc.number() as u32, capture(sc), 0)
                    .map_err(|e| refused(format!("the map of wanted calls: {e}")))?;
            }
        }
        let _others = maps.into_iter().map(|(_, _, data)| data).collect();
        Ok(Probe { links: Vec::new(), programs, ring, _wanted: wanted, tracked, lost, _others })
    }

    fn attach(&mut self) -> Result<(), TraceError> {
        for ((name, tracepoint), prog) in PROGRAMS.iter().zip(&self.programs) {
            let link = raw::bpf::raw_tracepoint_open(tracepoint, prog.as_fd())
                .map_err(|e| refused(format!("attaching {name} to {}: {e}", tracepoint.to_string_lossy())))?;
            self.links.push(link);
        }
        Ok(())
    }

    fn track(&mut self, tid: i32) -> Result<(), TraceError> {
        self.tracked.insert(tid as u32, 1, 0).map_err(|e| refused(format!("tracking {tid}: {e}")))
    }

    fn lost(&self) -> u64 {
        self.lost.get(&0, 0).map(|v| v.iter().sum()).unwrap_or(0)
    }

    /// Waits up to `timeout` for records (the programs wake us only when much is waiting),
    /// or for the program we started to end (its pidfd becomes readable).
    fn wait(&self, timeout: Duration, root: Option<&rustix::fd::OwnedFd>) {
        use rustix::event::{PollFd, PollFlags};
        let t = rustix::time::Timespec { tv_sec: 0, tv_nsec: timeout.as_nanos() as i64 };
        let _ = match root {
            Some(fd) => rustix::event::poll(
                &mut [PollFd::new(&self.ring, PollFlags::IN), PollFd::new(fd, PollFlags::IN)],
                Some(&t),
            ),
            None => rustix::event::poll(&mut [PollFd::new(&self.ring, PollFlags::IN)], Some(&t)),
        };
    }
}

/// The error and its causes, in one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn monotonic() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// How often the ring is read when the programs have not woken us.
const BATCH: Duration = Duration::from_millis(20);

/// The event loop: records to the recorder, until the traced tasks are all gone (or Ctrl-C).
struct Session<'a> {
    rec: Recorder<'a>,
    probe: Probe,
    /// `--all`: every task of the machine; none was started by us.
    all: bool,
    /// The monotonic time the trace began, and the wall time then.
    mono0: Duration,
    wall0: SystemTime,
    /// The task each thread's latest creating call made (`sched_process_fork` comes before
    /// the call returns, and names the child by its pid in the initial namespace, which the
    /// call's result may not be).
    made: HashMap<i32, usize>,
    /// execve/execveat entries kept until the exec's own record (or the call's end) comes:
    /// what the caller's memory could not give, the new program's copy can.
    held: HashMap<i32, Record>,
    /// The tracer's own process id.
    own: i32,
}

impl<'a> Session<'a> {
    /// The event time: `--json`'s `ts`, durations, `-t` stamps.
    fn clock(&mut self, ts: u64) {
        let at = Duration::from_nanos(ts).saturating_sub(self.mono0);
        self.rec.now = at;
        self.rec.printer.when = Some(self.wall0 + at);
    }

    /// A call's entry, to the recorder.
    fn enter(&mut self, r: Record) {
        self.clock(r.ts);
        let Some(sc) = ProcessSyscall::from_number(r.a) else { return };
        let Some(shown) = self.rec.wants(sc) else { return };
        let mem = Snapshot(r.regions);
        let opts = self.rec.opts;
        let m = decode::read_entry(&mem, r.tid, sc, r.args, opts.string_limit, opts.decode_fds);
        self.rec.entry(r.tid, sc, r.args, shown, m);
    }

    fn drain(&mut self) {
        loop {
            let rec = match self.probe.ring.next() {
                Some(item) => Record::parse(&item),
                None => break,
            };
            if let Some(r) = rec {
                self.event(r);
            }
        }
    }

    fn event(&mut self, r: Record) {
        let tid = r.tid;
        if self.all && r.tgid == self.own {
            // `--all` leaves out the tracer itself.
            return;
        }
        if r.kind != EV_EXEC {
            if let Some(held) = self.held.remove(&tid) {
                self.enter(held);
            }
        }
        self.clock(r.ts);
        if self.all && !self.rec.tasks.contains_key(&tid) && r.kind != EV_GONE {
            // A task that was there before the trace: known from now on, not announced.
            self.rec.task(tid).announced = true;
        }
        match r.kind {
            EV_ENTER => {
                if matches!(
                    ProcessSyscall::from_number(r.a),
                    Some(ProcessSyscall::Execve | ProcessSyscall::Execveat)
                ) {
                    self.held.insert(tid, r);
                } else {
                    self.enter(r);
                }
            }
            EV_EXIT => {
                let Some(task) = self.rec.tasks.get_mut(&tid) else { return };
                let Some(p) = task.pending.take() else { return };
                let res = decode::result(r.b, false);
                let mem = Snapshot(r.regions);
                let m = decode::read_exit(&mem, tid, &p.entry, &res, self.rec.opts.decode_fds);
                let made = match (&res, &p.entry.call) {
                    (SyscallResult::Value(v), Some(_)) if *v > 0 => self.made.remove(&tid),
                    _ => None,
                };
                match made {
                    Some(node) => self.rec.created(tid, node, p, &res, m),
                    None => self.rec.exit(tid, p, &res, m),
                }
            }
            EV_FORK => {
                let child = r.a as i32;
                let node = self.rec.new_task(tid, child);
                self.made.insert(tid, node);
                if self.all {
                    // Every task of the machine: nothing is attached to, nothing to say.
                    self.rec.task(child).announced = true;
                } else {
                    self.rec.announce(child);
                }
            }
            EV_EXEC => {
                let former = r.a as i32;
                if let Some(mut held) = self.held.remove(&former) {
                    fill_from_exec(&mut held, &r);
                    self.enter(held);
                    self.clock(r.ts);
                }
                if former != tid {
                    self.rec.pid_changed(tid, former);
                }
                self.rec.exec_succeeded(tid);
            }
            EV_GONE => {
                if r.b & GONE_GROUP_EXEC != 0 && tid == r.tgid {
                    // The leader, taken over by a thread's execve: `pid_changed` says so.
                    return;
                }
                if self.all {
                    self.rec.task(tid);
                }
                self.rec.gone(tid, r.a as i32);
            }
            EV_SIGNAL => {
                let sig = r.a as i32;
                if sig == libc::SIGKILL || !self.rec.tasks.contains_key(&tid) {
                    return;
                }
                let n = sig as u32;
                if r.b & SIGNAL_QUEUED_DFL != 0
                    && (sig_kernel_ignore(n) || sig_kernel_stop(n) || sig_kernel_coredump(n))
                {
                    // Not killed at once: delivered later, and seen then.
                    return;
                }
                let info = match r.regions.first() {
                    Some((0, b)) => SigInfo::from_bytes(b),
                    // Sent by the kernel without a siginfo (SEND_SIG_PRIV).
                    _ => SigInfo { signo: sig, code: 0x80, ..SigInfo::default() },
                };
                self.rec.signal(tid, sig, Some(info));
                if r.b & SIGNAL_DEFAULT != 0 && sig_kernel_stop(n) {
                    self.rec.stopped(tid, sig);
                }
            }
            _ => {}
        }
    }

    /// Tasks we think alive that are gone (their records lost): forgotten.
    fn forget_vanished(&mut self) {
        let gone: Vec<i32> = self
            .rec
            .tasks
            .keys()
            .copied()
            .filter(|t| !std::path::Path::new(&format!("/proc/{t}")).exists())
            .collect();
        for t in gone {
            if let Some(task) = self.rec.tasks.remove(&t) {
                self.rec.tree.end(task.node, crate::tree::End::Detached);
            }
            self.rec.printer.gone(t);
        }
    }
}

/// After Ctrl-C, as the subreaper of what we started: reaps the orphans that come to us, until
/// none is left (or half a second has passed).
fn reap_orphans() {
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while std::time::Instant::now() < deadline {
        match raw::wait4(-1, raw::WALL | raw::WNOHANG) {
            Ok(Some(_)) => {}
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(_) => break, // ECHILD: nothing left
        }
    }
}

/// Traces `opts.target` with the eBPF backend.
pub fn run(
    opts: &Options,
    mut printer: Printer,
) -> Result<(Printer, Report, Option<TraceError>), TraceError> {
    WAKE.store(0, Ordering::SeqCst);
    let all = matches!(opts.target, Target::All);
    let mut probe = Probe::load(opts, all)?;
    let mono0 = monotonic();
    let wall0 = SystemTime::now();
    let mut started = None;
    let (root, tids, program) = match &opts.target {
        Target::Program(argv) => {
            let argv: Vec<OsString> = argv.clone();
            let mut s = launch::start(&argv, &|| Ok(()))?;
            let pid = s.pid;
            let tracked = probe.track(pid).and_then(|()| probe.attach());
            printer.attach(pid);
            let output = printer.take_error();
            if let Err(e) = tracked {
                s.abort();
                return Err(e);
            }
            if let Some((path, source)) = output {
                s.abort();
                return Err(TraceError::Output { path: path.display().to_string(), source });
            }
            s.release();
            let program = s.path.display().to_string();
            started = Some(s);
            (pid, Vec::new(), program)
        }
        Target::Pid(pid) => {
            let (tgid, tids) = launch::threads_of(*pid)?;
            for &t in &tids {
                probe.track(t)?;
            }
            probe.attach()?;
            for &t in &tids {
                printer.attach(t);
            }
            if !opts.quiet.contains(crate::QuietSet::ATTACH) && !opts.json {
                let msg = match tids.len() {
                    1 => format!("Process {pid} attached"),
                    n => format!("Process {pid} attached with {n} threads"),
                };
                printer.diagnostic(&msg);
            }
            let program = std::fs::read_link(format!("/proc/{tgid}/exe"))
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            (tgid, tids, program)
        }
        Target::All => {
            probe.attach()?;
            (0, Vec::new(), String::new())
        }
    };
    let mut s = Session {
        rec: Recorder::new(opts, printer, root, &tids, program),
        probe,
        all,
        mono0,
        wall0,
        made: HashMap::new(),
        held: HashMap::new(),
        own: std::process::id() as i32,
    };
    let mut root_status = None;
    let mut interrupted = 0;
    // Readable when the program we started ends, so that the trace ends with it, not up to a
    // batch later.
    let mut root_fd = started.as_ref().and_then(|st| {
        rustix::process::Pid::from_raw(st.pid)
            .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok())
    });
    loop {
        s.probe.wait(BATCH, if root_status.is_none() { root_fd.as_ref() } else { None });
        s.drain();
        s.rec.printer.when = None;
        s.rec
            .printer
            .flush_lines()
            .map_err(|source| TraceError::Sys { what: "writing the trace", source })?;
        let sig = INTERRUPTED.load(Ordering::SeqCst);
        if sig != 0 && interrupted == 0 {
            interrupted = sig;
            if started.is_some() {
                // What we started dies with its descendants; their deaths are still shown.
                // Their orphans come to us (not to init) to be reaped: nothing is left behind.
                let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
                // The program first, so that it cannot see a descendant die and go on.
                let root = started.as_ref().map(|st| st.pid);
                let rest: Vec<i32> = s.rec.tasks.keys().copied().filter(|&t| Some(t) != root).collect();
                for t in root.into_iter().chain(rest) {
                    let _ = raw::kill(t, libc::SIGKILL as u32);
                }
            } else {
                break;
            }
        }
        if let Some(st) = &started {
            if root_status.is_none() {
                if let Ok(Some((_, status))) = raw::wait4(st.pid, raw::WALL | raw::WNOHANG) {
                    root_status = Some(status);
                    root_fd = None;
                }
            }
            if root_status.is_some() {
                if !s.rec.tasks.is_empty() {
                    // A task that is gone from /proc was reaped, so all its records are in
                    // the ring already: read them before deciding that any were lost.
                    s.drain();
                    s.forget_vanished();
                }
                if s.rec.tasks.is_empty() {
                    break;
                }
            }
        } else if !all && s.rec.tasks.is_empty() {
            break;
        }
    }
    // Whatever is left in the ring.
    s.drain();
    let held: Vec<Record> = s.held.drain().map(|(_, r)| r).collect();
    for r in held {
        s.enter(r);
    }
    s.rec.printer.when = None;
    let lost = s.probe.lost();
    if lost > 0 {
        if opts.json {
            s.rec.emit(serde_json::json!({ "event": "lost", "count": lost }));
        } else {
            s.rec.printer.diagnostic(&format!("{lost} events lost: the ring buffer was full"));
        }
    }
    if interrupted != 0 && started.is_some() {
        reap_orphans();
    }
    let root_status = root_status.or(s.rec.root_status);
    let (tree, _summary, printer) = s.rec.end();
    let ending = if interrupted != 0 { Ending::Interrupted(interrupted) } else { Ending::Done(root_status) };
    let exec_error = started.and_then(|st| st.exec_error());
    Ok((printer, Report { ending, tree, lost }, exec_error))
}
