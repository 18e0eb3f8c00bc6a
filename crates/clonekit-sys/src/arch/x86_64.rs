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

/// System call numbers used by this crate (arch/x86/entry/syscalls/syscall_64.tbl).
pub(crate) mod nr {
    pub(crate) const CLOSE: usize = 3;
    pub(crate) const STAT: usize = 4;
    pub(crate) const LSEEK: usize = 8;
    pub(crate) const RT_SIGACTION: usize = 13;
    pub(crate) const RT_SIGPROCMASK: usize = 14;
    pub(crate) const IOCTL: usize = 16;
    pub(crate) const DUP: usize = 32;
    pub(crate) const DUP2: usize = 33;
    pub(crate) const GETPID: usize = 39;
    pub(crate) const CLONE: usize = 56;
    pub(crate) const EXECVE: usize = 59;
    pub(crate) const EXIT: usize = 60;
    pub(crate) const WAIT4: usize = 61;
    pub(crate) const KILL: usize = 62;
    pub(crate) const UNAME: usize = 63;
    pub(crate) const SEMGET: usize = 64;
    pub(crate) const SEMOP: usize = 65;
    pub(crate) const SEMCTL: usize = 66;
    pub(crate) const FCNTL: usize = 72;
    pub(crate) const GETCWD: usize = 79;
    pub(crate) const CHDIR: usize = 80;
    pub(crate) const UMASK: usize = 95;
    pub(crate) const PTRACE: usize = 101;
    pub(crate) const SETPGID: usize = 109;
    pub(crate) const GETPPID: usize = 110;
    pub(crate) const SETSID: usize = 112;
    pub(crate) const SETGROUPS: usize = 116;
    pub(crate) const SETRESUID: usize = 117;
    pub(crate) const SETRESGID: usize = 119;
    pub(crate) const RT_SIGPENDING: usize = 127;
    pub(crate) const SIGALTSTACK: usize = 131;
    pub(crate) const PRCTL: usize = 157;
    pub(crate) const ARCH_PRCTL: usize = 158;
    pub(crate) const CHROOT: usize = 161;
    pub(crate) const MOUNT: usize = 165;
    pub(crate) const SETHOSTNAME: usize = 170;
    pub(crate) const GETTID: usize = 186;
    pub(crate) const FUTEX: usize = 202;
    pub(crate) const SET_TID_ADDRESS: usize = 218;
    pub(crate) const EXIT_GROUP: usize = 231;
    pub(crate) const TGKILL: usize = 234;
    pub(crate) const WAITID: usize = 247;
    pub(crate) const IOPRIO_SET: usize = 251;
    pub(crate) const IOPRIO_GET: usize = 252;
    pub(crate) const OPENAT: usize = 257;
    pub(crate) const UNSHARE: usize = 272;
    pub(crate) const SIGNALFD4: usize = 289;
    pub(crate) const DUP3: usize = 292;
    pub(crate) const KCMP: usize = 312;
    pub(crate) const PIDFD_SEND_SIGNAL: usize = 424;
    pub(crate) const CLONE3: usize = 435;
    pub(crate) const CLOSE_RANGE: usize = 436;
}

// `clonekit_sys_clone(flags, newsp, ptid, ctid, tls, entry, arg) -> long`
//
// In: rdi=flags, rsi=newsp, rdx=ptid, rcx=ctid, r8=tls, r9=entry, 8(%rsp)=arg.
// The kernel wants rdi=flags, rsi=newsp, rdx=ptid, r10=ctid, r8=tls; it does not read r9,
// so `entry` stays there (as in musl). `arg` goes to the callee-saved r12, which the parent
// path restores.
//
// `clonekit_sys_clone3(args, size, entry, arg) -> long`
//
// In: rdi=args, rsi=size, rdx=entry, rcx=arg. `syscall` clobbers rcx, so `arg` moves to r8
// (as in glibc); `entry` stays in rdx. The kernel sets the child's rsp to stack+stack_size.
global_asm!(
    ".pushsection .text.clonekit_sys_clone,\"ax\",@progbits",
    ".p2align 4",
    ".globl clonekit_sys_clone",
    ".hidden clonekit_sys_clone",
    ".type clonekit_sys_clone,@function",
    "clonekit_sys_clone:",
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
    ".size clonekit_sys_clone, .-clonekit_sys_clone",
    ".popsection",
    "",
    ".pushsection .text.clonekit_sys_clone3,\"ax\",@progbits",
    ".p2align 4",
    ".globl clonekit_sys_clone3",
    ".hidden clonekit_sys_clone3",
    ".type clonekit_sys_clone3,@function",
    "clonekit_sys_clone3:",
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
    ".size clonekit_sys_clone3, .-clonekit_sys_clone3",
    ".popsection",
    clone = const nr::CLONE,
    clone3 = const nr::CLONE3,
    exit = const nr::EXIT,
);

extern "C" {
    fn clonekit_sys_clone(
        flags: u64,
        newsp: usize,
        ptid: usize,
        ctid: usize,
        tls: usize,
        entry: Entry,
        arg: *mut u8,
    ) -> isize;
    fn clonekit_sys_clone3(args: *mut u8, size: usize, entry: Entry, arg: *mut u8) -> isize;
}

/// Legacy `clone(flags, newsp, ptid, ctid, tls)` through the trampoline; the child runs
/// `entry(arg)` and exits with its result. Returns the child's pid or `-errno`.
///
/// # Safety
///
/// Everything `clone(2)` can do to the caller is the caller's problem: `newsp` must be 0
/// (the child keeps running on a copy of this stack, or on this very stack while the parent
/// is suspended by `CLONE_VFORK`) or the 16-byte-aligned top of memory the child may use as
/// its stack for as long as it runs; the pointers must be valid for what the flags make the
/// kernel write there; `entry` must be safe to run in the child with `arg`, and must not
/// unwind.
pub(crate) unsafe fn clone(
    flags: u64,
    newsp: usize,
    ptid: usize,
    ctid: usize,
    tls: usize,
    entry: Entry,
    arg: *mut u8,
) -> isize {
    // SAFETY: the caller upholds the contract above; the trampoline follows the C ABI.
    unsafe { clonekit_sys_clone(flags, newsp, ptid, ctid, tls, entry, arg) }
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
    unsafe { clonekit_sys_clone3(args, size, entry, arg) }
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
/// # Safety
///
/// The system call `nr` with these arguments must be memory-safe to make.
#[inline(always)]
pub(crate) unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
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
