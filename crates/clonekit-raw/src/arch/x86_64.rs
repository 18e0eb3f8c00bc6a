//! x86_64 trampolines after glibc's `sysdeps/unix/sysv/linux/x86_64/clone.S` and `clone3.S`,
//! and the raw `syscall` instruction for the calls rustix does not offer publicly.
//!
//! Both trampolines keep the child's entry function and its argument in registers that the
//! kernel preserves across `syscall` (everything but `rax`, `rcx` and `r11`), so they work
//! for a child with its own stack and for a stack-less, fork-style child alike. The parent
//! gets the raw kernel result (a pid, or `-errno`). The child:
//!
//! 1. marks the return address undefined in its CFI and clears `rbp`, so that unwinders and
//!    backtraces stop here;
//! 2. aligns `rsp` down to 16 and `call`s the entry function (which therefore sees
//!    `rsp ≡ 8 (mod 16)`, as the ABI wants);
//! 3. passes the entry function's `i32` result to `SYS_exit`; it never returns into the
//!    caller's Rust frames.
//!
//! Because the trampolines are ordinary out-of-line functions reached by `call`, the caller
//! keeps nothing in the red zone across them; a stack-less child that keeps running on the
//! (copied or, with `CLONE_VFORK`, borrowed) parent stack only writes below the trampoline's
//! own frame.

use core::arch::{asm, global_asm};

/// The child's entry point: receives the trampoline's `arg`, returns the status for
/// `SYS_exit`. It must not unwind.
pub type Entry = unsafe extern "C" fn(*mut u8) -> i32;

/// x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) of the calls clonekit
/// makes itself, for [`syscall4`], [`syscall6`] and the trampolines.
pub mod nr {
    /// `close`.
    pub const CLOSE: usize = 3;
    /// `stat`.
    pub const STAT: usize = 4;
    /// `poll`.
    pub const POLL: usize = 7;
    /// `lseek`.
    pub const LSEEK: usize = 8;
    /// `mprotect`.
    pub const MPROTECT: usize = 10;
    /// `rt_sigaction`.
    pub const RT_SIGACTION: usize = 13;
    /// `rt_sigprocmask`.
    pub const RT_SIGPROCMASK: usize = 14;
    /// `ioctl`.
    pub const IOCTL: usize = 16;
    /// `dup`.
    pub const DUP: usize = 32;
    /// `dup2`.
    pub const DUP2: usize = 33;
    /// `getpid`.
    pub const GETPID: usize = 39;
    /// `clone`.
    pub const CLONE: usize = 56;
    /// `execve`.
    pub const EXECVE: usize = 59;
    /// `exit`.
    pub const EXIT: usize = 60;
    /// `wait4`.
    pub const WAIT4: usize = 61;
    /// `kill`.
    pub const KILL: usize = 62;
    /// `uname`.
    pub const UNAME: usize = 63;
    /// `semget`.
    pub const SEMGET: usize = 64;
    /// `semop`.
    pub const SEMOP: usize = 65;
    /// `semctl`.
    pub const SEMCTL: usize = 66;
    /// `fcntl`.
    pub const FCNTL: usize = 72;
    /// `getcwd`.
    pub const GETCWD: usize = 79;
    /// `chdir`.
    pub const CHDIR: usize = 80;
    /// `umask`.
    pub const UMASK: usize = 95;
    /// `ptrace`.
    pub const PTRACE: usize = 101;
    /// `getuid`.
    pub const GETUID: usize = 102;
    /// `setuid`.
    pub const SETUID: usize = 105;
    /// `geteuid`.
    pub const GETEUID: usize = 107;
    /// `setpgid`.
    pub const SETPGID: usize = 109;
    /// `getppid`.
    pub const GETPPID: usize = 110;
    /// `setsid`.
    pub const SETSID: usize = 112;
    /// `setgroups`.
    pub const SETGROUPS: usize = 116;
    /// `setresuid`.
    pub const SETRESUID: usize = 117;
    /// `setresgid`.
    pub const SETRESGID: usize = 119;
    /// `getpgid`.
    pub const GETPGID: usize = 121;
    /// `getsid`.
    pub const GETSID: usize = 124;
    /// `capget`.
    pub const CAPGET: usize = 125;
    /// `capset`.
    pub const CAPSET: usize = 126;
    /// `rt_sigpending`.
    pub const RT_SIGPENDING: usize = 127;
    /// `sigaltstack`.
    pub const SIGALTSTACK: usize = 131;
    /// `prctl`.
    pub const PRCTL: usize = 157;
    /// `arch_prctl`.
    pub const ARCH_PRCTL: usize = 158;
    /// `chroot`.
    pub const CHROOT: usize = 161;
    /// `mount`.
    pub const MOUNT: usize = 165;
    /// `mount_setattr`.
    pub const MOUNT_SETATTR: usize = 442;
    /// `sethostname`.
    pub const SETHOSTNAME: usize = 170;
    /// `gettid`.
    pub const GETTID: usize = 186;
    /// `futex`.
    pub const FUTEX: usize = 202;
    /// `set_tid_address`.
    pub const SET_TID_ADDRESS: usize = 218;
    /// `restart_syscall`: a call made again through its restart block (`poll` after a stop).
    pub const RESTART_SYSCALL: usize = 219;
    /// `exit_group`.
    pub const EXIT_GROUP: usize = 231;
    /// `tgkill`.
    pub const TGKILL: usize = 234;
    /// `waitid`.
    pub const WAITID: usize = 247;
    /// `ioprio_set`.
    pub const IOPRIO_SET: usize = 251;
    /// `ioprio_get`.
    pub const IOPRIO_GET: usize = 252;
    /// `openat`.
    pub const OPENAT: usize = 257;
    /// `unshare`.
    pub const UNSHARE: usize = 272;
    /// `signalfd4`.
    pub const SIGNALFD4: usize = 289;
    /// `dup3`.
    pub const DUP3: usize = 292;
    /// `kcmp`.
    pub const KCMP: usize = 312;
    /// `seccomp`.
    pub const SECCOMP: usize = 317;
    /// `bpf`.
    pub const BPF: usize = 321;
    /// `prlimit64`.
    pub const PRLIMIT64: usize = 302;
    /// `setns`.
    pub const SETNS: usize = 308;
    /// `pidfd_send_signal`.
    pub const PIDFD_SEND_SIGNAL: usize = 424;
    /// `pidfd_open`.
    pub const PIDFD_OPEN: usize = 434;
    /// `clone3`.
    pub const CLONE3: usize = 435;
    /// `close_range`.
    pub const CLOSE_RANGE: usize = 436;
    /// `pidfd_getfd`.
    pub const PIDFD_GETFD: usize = 438;
}

// `clonekit_raw_clone(flags, newsp, ptid, ctid, tls, entry, arg) -> long`
//
// In: rdi=flags, rsi=newsp, rdx=ptid, rcx=ctid, r8=tls, r9=entry, 8(%rsp)=arg.
// The kernel wants rdi=flags, rsi=newsp, rdx=ptid, r10=ctid, r8=tls; it does not read r9,
// so `entry` stays there (as in musl). `arg` goes to the callee-saved r12, which the parent
// path restores.
//
// `clonekit_raw_clone3(args, size, entry, arg) -> long`
//
// In: rdi=args, rsi=size, rdx=entry, rcx=arg. `syscall` clobbers rcx, so `arg` moves to r8
// (as in glibc); `entry` stays in rdx. The kernel sets the child's rsp to stack+stack_size.
global_asm!(
    ".pushsection .text.clonekit_raw_clone,\"ax\",@progbits",
    ".p2align 4",
    ".globl clonekit_raw_clone",
    ".hidden clonekit_raw_clone",
    ".type clonekit_raw_clone,@function",
    "clonekit_raw_clone:",
    ".cfi_startproc",
    "push r12",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset r12, 0",
    "mov r12, qword ptr [rsp + 16]",
    "mov r10, rcx",
    "mov eax, {clone}",
    "syscall",
    "test rax, rax",
    "jz 2f",
    "pop r12",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore r12",
    "ret",
    "2:",
    ".cfi_undefined rip",
    "xor ebp, ebp",
    "and rsp, -16",
    "mov rdi, r12",
    "call r9",
    "mov edi, eax",
    "mov eax, {exit}",
    "syscall",
    "ud2",
    ".cfi_endproc",
    ".size clonekit_raw_clone, .-clonekit_raw_clone",
    ".popsection",
    "",
    ".pushsection .text.clonekit_raw_clone3,\"ax\",@progbits",
    ".p2align 4",
    ".globl clonekit_raw_clone3",
    ".hidden clonekit_raw_clone3",
    ".type clonekit_raw_clone3,@function",
    "clonekit_raw_clone3:",
    ".cfi_startproc",
    "mov r8, rcx",
    "mov eax, {clone3}",
    "syscall",
    "test rax, rax",
    "jz 2f",
    "ret",
    "2:",
    ".cfi_undefined rip",
    "xor ebp, ebp",
    "and rsp, -16",
    "mov rdi, r8",
    "call rdx",
    "mov edi, eax",
    "mov eax, {exit}",
    "syscall",
    "ud2",
    ".cfi_endproc",
    ".size clonekit_raw_clone3, .-clonekit_raw_clone3",
    ".popsection",
    clone = const nr::CLONE,
    clone3 = const nr::CLONE3,
    exit = const nr::EXIT,
);

extern "C" {
    fn clonekit_raw_clone(
        flags: u64,
        newsp: usize,
        ptid: usize,
        ctid: usize,
        tls: usize,
        entry: Entry,
        arg: *mut u8,
    ) -> isize;
    fn clonekit_raw_clone3(args: *mut u8, size: usize, entry: Entry, arg: *mut u8) -> isize;
}

/// Legacy `clone(flags, newsp, ptid, ctid, tls)` through the trampoline; the child runs
/// `entry(arg)` and exits with its result. Returns the child's pid or `-errno`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/clone.2.html)
///
/// # Safety
///
/// Everything `clone(2)` can do to the caller is the caller's problem: `newsp` must be 0
/// (the child keeps running on a copy of this stack, or on this very stack while the parent
/// is suspended by `CLONE_VFORK`) or the 16-byte-aligned top of memory the child may use as
/// its stack for as long as it runs; the pointers must be valid for what the flags make the
/// kernel write there; `entry` must be safe to run in the child with `arg`, and must not
/// unwind.
pub unsafe fn clone(
    flags: u64,
    newsp: usize,
    ptid: usize,
    ctid: usize,
    tls: usize,
    entry: Entry,
    arg: *mut u8,
) -> isize {
    // SAFETY: the caller upholds the contract above; the trampoline follows the C ABI.
    unsafe { clonekit_raw_clone(flags, newsp, ptid, ctid, tls, entry, arg) }
}

/// `clone3(args, size)` through the trampoline; the child runs `entry(arg)` and exits with
/// its result. Returns the child's pid or `-errno`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/clone.2.html)
///
/// # Safety
///
/// Everything `clone3(2)` can do to the caller is the caller's problem: `args` must point at
/// `size` readable bytes (a `struct clone_args`); its `stack`/`stack_size` must both be zero
/// (the child keeps running on a copy of this stack, or on this very stack while the parent
/// is suspended by `CLONE_VFORK`) or describe memory whose top is 16-byte aligned and which
/// the child may use as its stack for as long as it runs; its pointers must be valid for
/// what the flags make the kernel write there; `entry` must be safe to run in the child
/// with `arg`, and must not unwind.
pub unsafe fn clone3(args: *mut u8, size: usize, entry: Entry, arg: *mut u8) -> isize {
    // SAFETY: the caller upholds the contract above; the trampoline follows the C ABI.
    unsafe { clonekit_raw_clone3(args, size, entry, arg) }
}

/// A raw system call with up to four arguments; returns the kernel's result (`-errno` on
/// failure). Touches no libc state (no `errno`), so it is usable in any child.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/syscall.2.html)
///
/// # Safety
///
/// The system call `nr` with these arguments must be memory-safe to make.
#[inline(always)]
pub unsafe fn syscall4(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: `syscall` clobbers only rax (result), rcx and r11, which are declared; the
    // kernel does not touch the user stack, and restores rflags from r11 on return.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack, preserves_flags),
        );
    }
    ret
}

/// A raw system call with up to six arguments, as [`syscall4`].
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/syscall.2.html)
///
/// # Safety
///
/// The system call `nr` with these arguments must be memory-safe to make.
#[inline(always)]
pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall4`; r8 and r9 carry the fifth and sixth arguments and are
    // preserved by the kernel.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack, preserves_flags),
        );
    }
    ret
}

/// `exit(status)` or `exit_group(status)` (`nr`), which do not return.
#[inline(always)]
pub(crate) fn exit_syscall(nr: usize, status: i32) -> ! {
    // SAFETY: both calls end the calling thread (or its group); nothing runs afterwards,
    // so no Rust invariant can be observed broken.
    unsafe {
        asm!(
            "syscall",
            "ud2",
            in("rax") nr,
            in("rdi") status as isize,
            options(nostack, noreturn),
        );
    }
}

/// The creating thread's stack-protector canary (`%fs:0x28`) and pointer guard
/// (`%fs:0x30`), as glibc's `tcbhead_t` holds them.
pub fn tcb_guards() -> (usize, usize) {
    let (canary, pointer_guard): (usize, usize);
    // SAFETY: on x86_64 glibc and musl, %fs points at the thread's TCB, whose first 0x38
    // bytes are always mapped (tcbhead_t); the loads have no side effects.
    unsafe {
        asm!(
            "mov {c}, qword ptr fs:[0x28]",
            "mov {p}, qword ptr fs:[0x30]",
            c = out(reg) canary,
            p = out(reg) pointer_guard,
            options(nostack, readonly, preserves_flags),
        );
    }
    (canary, pointer_guard)
}

/// `clone` or `clone3` (`nr`) with these raw arguments, whose child exits at once with
/// status 0 without reading or writing memory (not even a stack): for calls meant to fail,
/// so that a child created against expectation is harmless whatever its flags, stack or
/// thread pointer. Returns the raw result.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/clone.2.html)
///
/// # Safety
///
/// `nr` must be `clone` or `clone3` (any other call that returns 0 would end the calling
/// thread). The arguments go to the kernel unchanged; the caller must accept what the kernel
/// does with them in the parent (writes through `parent_tid` and `pidfd`, reads of
/// `clone_args`).
pub unsafe fn create_exit_at_once(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> isize {
    let ret: isize;
    // SAFETY: in the parent `syscall` clobbers rcx and r11 only (declared). In the child
    // (rax = 0) the next instructions exit without reading or writing memory.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov eax, {exit}",
            "xor edi, edi",
            "syscall",
            "ud2",
            "2:",
            exit = const nr::EXIT,
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            in("r8") a5,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}
