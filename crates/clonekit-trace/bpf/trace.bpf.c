// SPDX-License-Identifier: GPL-2.0
// clonekit trace --backend ebpf: the kernel half. Programs on the raw syscall tracepoints
// (entry and exit of every call; the calls wanted are named by user space in `wanted`, by
// what must be captured for them) and on sched_process_fork/exec/exit and
// signal_generate/signal_deliver. The traced program's descendants are followed here, in
// the kernel: a task is tracked when its creator is (sched_process_fork), so no event of a
// new task is missed however soon it runs. Each event is one ring-buffer record: a fixed
// head and "regions", the user memory the call's decoding needs, read at the moment
// strace reads it (entry or exit). A record that finds the ring full is counted in `lost`.
//
// Rebuild with crates/clonekit-trace/bpf/build.sh (clang, libbpf's headers); the object
// beside this file is what the crate embeds.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef __u8 u8;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;

// The registers at system call entry: x86_64's user ABI (ptrace's user_regs_struct), the
// same on every kernel, read at fixed offsets.
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax;
	unsigned long ip, cs, flags, sp, ss;
};

static __always_inline u64 reg(const unsigned long *field)
{
	u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), field);
	return v;
}

// The other kernel structures are read at offsets found in this kernel's BTF by user space
// before loading (crates/clonekit-trace/src/btf.rs), and set here as constants of the
// read-only data: the verifier sees them as such.
const volatile u32 off_task_pid = 0;         // task_struct.pid (int)
const volatile u32 off_task_tgid = 0;        // task_struct.tgid (int)
const volatile u32 off_task_exit_code = 0;   // task_struct.exit_code (int)
const volatile u32 off_task_signal = 0;      // task_struct.signal (struct signal_struct *)
const volatile u32 off_task_sighand = 0;     // task_struct.sighand (struct sighand_struct *)
const volatile u32 off_task_blocked = 0;     // task_struct.blocked (sigset_t: one word here)
const volatile u32 off_signal_group_exec_task = 0; // signal_struct.group_exec_task
const volatile u32 off_sighand_action = 0;   // sighand_struct.action (struct k_sigaction[64])
const volatile u32 size_k_sigaction = 0;     // one k_sigaction (sa.sa_handler is its first word)
const volatile u32 off_bprm_p = 0;           // linux_binprm.p (unsigned long)
const volatile u32 off_bprm_argc = 0;        // linux_binprm.argc (int)
const volatile u32 off_bprm_envc = 0;        // linux_binprm.envc (int)
const volatile u32 off_bprm_filename = 0;    // linux_binprm.filename (const char *)

// The 8-byte word and the 4-byte int at `off` bytes into the kernel structure at `base`
// (0 if it cannot be read).
static __always_inline u64 kword(const void *base, u32 off)
{
	u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), base + off);
	return v;
}

static __always_inline u32 kint(const void *base, u32 off)
{
	u32 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), base + off);
	return v;
}

// What a wanted call captures (the value of `wanted[nr]`; 0: not wanted).
enum capture {
	CAP_PLAIN = 1,        // arguments only
	CAP_CLONE = 2,        // at exit: the int at parent_tid (arg 2)
	CAP_CLONE3 = 3,       // at entry: struct clone_args and set_tid; at exit: pidfd, parent_tid
	CAP_EXECVE = 4,       // at entry: path, argv, envp (args 0..2)
	CAP_EXECVEAT = 5,     // the same from args 1..3
	CAP_WAIT4 = 6,        // at exit: status (arg 1), rusage (arg 3)
	CAP_WAITID = 7,       // at exit: siginfo (arg 2), rusage (arg 4)
	CAP_SIGINFO2 = 8,     // at entry: siginfo at arg 2
	CAP_SIGINFO3 = 9,     // at entry: siginfo at arg 3
};

enum kind {
	EV_ENTER = 1,
	EV_EXIT = 2,
	EV_FORK = 3,
	EV_EXEC = 4,
	EV_GONE = 5,
	EV_SIGNAL = 6,
};

// Flags of EV_GONE and EV_SIGNAL (in `b`).
#define GONE_GROUP_EXEC 1   // the thread group is being taken over by an execve
#define SIGNAL_IGNORED 1    // generated but ignored (never delivered): strace sees it
#define SIGNAL_DEFAULT 2    // delivered with the default action
#define SIGNAL_QUEUED_DFL 4 // generated, not blocked, default action: if that action is to
                            // terminate, complete_signal() kills the group at once and the
                            // signal is never delivered (a ptraced task would see it)

struct head {
	u32 kind;
	u32 tid;
	u32 tgid;
	u32 nregions;
	u64 ts;
	u64 a;       // ENTER/EXIT: nr; FORK: child tid; EXEC: former tid; GONE: exit code; SIGNAL: signo
	s64 b;       // EXIT: return value; FORK: child tgid; GONE, SIGNAL: flags
	u64 args[6];
};

// A region: `len` bytes read at user address `addr` (0 for kernel data such as a siginfo),
// then `next - 16 - len` bytes of padding to the next region. Regions sit at offsets fixed
// at compile time (each slot as large as the most it may hold), which keeps the verifier's
// work small; a read that failed leaves an empty region (`len` 0).
struct region {
	u64 addr;
	u32 len;
	u32 next;
};

#define SMALL_REC 512
#define CLONE3_REC 1024
#define EXEC_REC 16384
#define PAGE 4096

// Set by user space before loading.
const volatile u32 follow_all = 0;     // --all: every task of the machine
const volatile u32 str_max = 32;       // strace's -s: the longest string
const volatile u32 array_max = 32;     // the most array elements printed (strace: -s too)
const volatile u64 untraced_flag = 0;  // CLONE_UNTRACED: its child is not followed (as ptrace)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__uint(map_flags, BPF_F_NO_PREALLOC); // allocated as tasks come: a fast start
	__type(key, u32);
	__type(value, u32);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, u32);
	__type(value, u32);
} wanted SEC(".maps");

struct inflight {
	u64 nr;
	u64 args[6];
	u64 incomplete; // an exec whose entry could not read all it wanted
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, u32);
	__type(value, struct inflight);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} lost SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

static __always_inline int is_tracked(u32 tid)
{
	return follow_all || bpf_map_lookup_elem(&tracked, &tid) != 0;
}

static __always_inline void count_lost(void)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

static __always_inline struct head *reserve(u32 size, u32 kind)
{
	struct head *h;
	if (size == EXEC_REC)
		h = bpf_ringbuf_reserve(&events, EXEC_REC, 0);
	else if (size == CLONE3_REC)
		h = bpf_ringbuf_reserve(&events, CLONE3_REC, 0);
	else
		h = bpf_ringbuf_reserve(&events, SMALL_REC, 0);
	if (!h) {
		count_lost();
		return 0;
	}
	u64 id = bpf_get_current_pid_tgid();
	h->kind = kind;
	h->tid = (u32)id;
	h->tgid = id >> 32;
	h->nregions = 0;
	h->ts = bpf_ktime_get_ns();
	h->a = 0;
	h->b = 0;
	for (int i = 0; i < 6; i++)
		h->args[i] = 0;
	return h;
}

// Submits without waking the reader unless a quarter of the ring is waiting: it drains in
// batches, every 20 ms. (At half a megabyte, a fork loop woke it about as often as its
// timer, and ran 2 % slower.)
static __always_inline void submit(struct head *h)
{
	u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(h, avail > (2 << 20) ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

// Declares an empty region of `max` bytes at offset `o` (a constant) of the record. Every
// region of a record is declared before any is filled, so that the reader can walk them.
static __always_inline void slot(struct head *h, u32 o, u32 max)
{
	struct region *r = (void *)h + o;
	r->addr = 0;
	r->len = 0;
	r->next = sizeof(struct region) + max;
	h->nregions++;
}

// Fills the region at `o` (declared with `max`) with `len` bytes of user memory at `at` (at
// most `max`). A read that fails leaves it empty: the decoder then prints the address, as
// strace prints memory it cannot read. Whether it read.
static __always_inline int put_user(struct head *h, u32 o, u32 max, u64 at, u32 len)
{
	struct region *r = (void *)h + o;
	if (len > max)
		len = max;
	if (len == 0 || bpf_probe_read_user((void *)r + sizeof(struct region), len, (const void *)at) != 0)
		return 0;
	r->addr = at;
	r->len = len;
	return 1;
}

// The same for a NUL-terminated string: at most `max` bytes including the NUL.
static __always_inline int put_str(struct head *h, u32 o, u32 max, u64 at)
{
	struct region *r = (void *)h + o;
	long n = bpf_probe_read_user_str((void *)r + sizeof(struct region), max, (const void *)at);
	if (n <= 0)
		return 0;
	r->addr = at;
	r->len = n;
	return 1;
}

// Bytes from `addr` to the end of its page, at most `max`.
static __always_inline u32 in_page(u64 addr, u32 max)
{
	u32 n = PAGE - (addr & (PAGE - 1));
	return n > max ? max : n;
}

#define RSZ sizeof(struct region)
#define PATH_CAP 4096       // execve's path
#define PTRS_CAP 512        // pointer words read at once: 64
#define ENVP_CHUNKS 4       // envp counted up to 4 chunks of 64 pointers
#define ARGV_STRS 32        // argv strings copied
#define ARGV_STR_CAP 256    // the longest argv string copied, NUL included

// Where each piece of an exec record goes.
#define EXEC_PATH_AT sizeof(struct head)
#define EXEC_ARGV_AT (EXEC_PATH_AT + RSZ + PATH_CAP)
#define EXEC_ENVP_AT (EXEC_ARGV_AT + RSZ + PTRS_CAP)
#define EXEC_STRS_AT (EXEC_ENVP_AT + ENVP_CHUNKS * (RSZ + PTRS_CAP))
_Static_assert(EXEC_STRS_AT + ARGV_STRS * (RSZ + ARGV_STR_CAP) <= EXEC_REC, "exec record too small");

// The copying of argv's strings: the record, how many pointers were read, and whether all
// was read.
struct argv_strs {
	struct head *h;
	u32 words;
	int complete;
};

// Copies argv's string `i`; 1 (stop) at the end of what is copied.
static long put_argv_str(u32 i, struct argv_strs *c)
{
	if (i >= ARGV_STRS || i >= c->words || i > array_max)
		return 1;
	// Bounded in the register the offsets are computed from (the compiler may test a copy).
	barrier_var(i);
	i &= ARGV_STRS - 1;
	struct head *h = c->h;
	u64 *ptrs = (void *)h + EXEC_ARGV_AT + RSZ;
	u64 at = ptrs[i];
	if (!at)
		return 1;
	if (!put_str(h, EXEC_STRS_AT + i * (RSZ + ARGV_STR_CAP), ARGV_STR_CAP, at))
		c->complete = 0;
	return 0;
}

// execve's path, argv (pointers and strings) and envp (pointers, for strace's count).
// Whether everything was read.
static __always_inline int capture_exec(struct head *h, u64 path, u64 argv, u64 envp, int kernel_path)
{
	int complete = 1;
	slot(h, EXEC_PATH_AT, PATH_CAP);
	slot(h, EXEC_ARGV_AT, PTRS_CAP);
	for (u32 c = 0; c < ENVP_CHUNKS; c++)
		slot(h, EXEC_ENVP_AT + c * (RSZ + PTRS_CAP), PTRS_CAP);
	for (u32 i = 0; i < ARGV_STRS; i++)
		slot(h, EXEC_STRS_AT + i * (RSZ + ARGV_STR_CAP), ARGV_STR_CAP);
	if (kernel_path) {
		struct region *r = (void *)h + EXEC_PATH_AT;
		long n = bpf_probe_read_kernel_str((void *)r + RSZ, PATH_CAP, (const void *)path);
		if (n > 0)
			r->len = n;
	} else if (path && !put_str(h, EXEC_PATH_AT, PATH_CAP, path)) {
		complete = 0;
	}
	u32 words = 0;
	if (argv) {
		u32 n = in_page(argv, PTRS_CAP);
		if (put_user(h, EXEC_ARGV_AT, PTRS_CAP, argv, n))
			words = n / 8;
		else
			complete = 0;
	}
	// envp's pointers, page by page, for the count (the reader stops at the NULL; reading on
	// past it costs less than looking for it here).
	for (u32 c = 0; c < ENVP_CHUNKS; c++) {
		if (!envp)
			break;
		u32 n = in_page(envp, PTRS_CAP);
		if (!put_user(h, EXEC_ENVP_AT + c * (RSZ + PTRS_CAP), PTRS_CAP, envp, n)) {
			if (c == 0)
				complete = 0;
			break;
		}
		envp += n;
	}
	// The strings, in a bpf_loop: its body is verified once, not once for each string.
	struct argv_strs strs = { .h = h, .words = words, .complete = complete };
	bpf_loop(ARGV_STRS, put_argv_str, &strs, 0);
	return strs.complete;
}

// A wanted call's entry (of capture kind `c`) by the tracked task `tid`: its record, and
// the call in flight for its exit.
static __noinline int enter(struct pt_regs *regs, u64 nr, u32 c, u32 tid)
{
	struct inflight call = { .nr = nr };
	call.args[0] = reg(&regs->di);
	call.args[1] = reg(&regs->si);
	call.args[2] = reg(&regs->dx);
	call.args[3] = reg(&regs->r10);
	call.args[4] = reg(&regs->r8);
	struct head *h;
	// Each kind of record is reserved at its own constant size, in its own branch, so that
	// the verifier knows the size wherever the record is written.
	if (c == CAP_EXECVE || c == CAP_EXECVEAT) {
		h = reserve(EXEC_REC, EV_ENTER);
		if (!h)
			return 0;
		// execveat's path, argv and envp come one argument later.
		u32 b = c == CAP_EXECVE ? 0 : 1;
		u64 path = b ? call.args[1] : call.args[0];
		u64 argv = b ? call.args[2] : call.args[1];
		u64 envp = b ? call.args[3] : call.args[2];
		call.incomplete = !capture_exec(h, path, argv, envp, 0);
	} else if (c == CAP_CLONE3) {
		h = reserve(CLONE3_REC, EV_ENTER);
		if (!h)
			return 0;
		u64 size3 = call.args[1];
		slot(h, sizeof(struct head), 512);
		slot(h, sizeof(struct head) + RSZ + 512, 128);
		if (size3 >= 64 && put_user(h, sizeof(struct head), 512, call.args[0], (u32)(size3 > 512 ? 512 : size3))) {
			// set_tid and set_tid_size, read back from the copy (fields 8 and 9).
			u64 w[2] = {};
			if (size3 >= 80 && bpf_probe_read_user(w, sizeof(w), (const void *)(call.args[0] + 64)) == 0) {
				if (w[0] && w[1] > 0 && w[1] <= 32)
					put_user(h, sizeof(struct head) + RSZ + 512, 128, w[0], (u32)w[1] * 4);
			}
		}
	} else {
		h = reserve(SMALL_REC, EV_ENTER);
		if (!h)
			return 0;
		slot(h, sizeof(struct head), 128);
		if (c == CAP_SIGINFO2 && call.args[2])
			put_user(h, sizeof(struct head), 128, call.args[2], 128);
		else if (c == CAP_SIGINFO3 && call.args[3])
			put_user(h, sizeof(struct head), 128, call.args[3], 128);
	}
	h->a = nr;
	for (int i = 0; i < 5; i++)
		h->args[i] = call.args[i];
	submit(h);
	bpf_map_update_elem(&calls, &tid, &call, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_enter")
int on_sys_enter(u64 *ctx)
{
	u64 nr = ctx[1];
	u32 key = nr;
	if (nr >= 512)
		return 0;
	u32 *cap = bpf_map_lookup_elem(&wanted, &key);
	if (!cap || !*cap)
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	if (!is_tracked(tid))
		return 0;
	return enter((struct pt_regs *)ctx[0], nr, *cap, tid);
}

SEC("raw_tp/sys_exit")
int on_sys_exit(u64 *ctx)
{
	s64 ret = ctx[1];
	// Every call of every task ends here: the cheap test (an array) first.
	u64 nr = reg(&((struct pt_regs *)ctx[0])->orig_ax);
	u32 key0 = nr;
	if (nr >= 512)
		return 0;
	u32 *wanted_nr = bpf_map_lookup_elem(&wanted, &key0);
	if (!wanted_nr || !*wanted_nr)
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct inflight *call = bpf_map_lookup_elem(&calls, &tid);
	if (!call) {
		// A call refused by a seccomp filter never reaches sys_enter, and its exit comes all
		// the same, with the error: its entry is recorded now (its arguments are still in the
		// registers). A new task's first return (0 from its creating call) is not a call.
		if (ret >= 0 || !is_tracked(tid))
			return 0;
		enter((struct pt_regs *)ctx[0], nr, *wanted_nr, tid);
		call = bpf_map_lookup_elem(&calls, &tid);
		if (!call)
			return 0;
	}
	u32 key = call->nr;
	u32 *cap = bpf_map_lookup_elem(&wanted, &key);
	u32 c = cap ? *cap : 0;
	struct head *h = reserve(SMALL_REC, EV_EXIT);
	if (!h) {
		bpf_map_delete_elem(&calls, &tid);
		return 0;
	}
	h->a = call->nr;
	h->b = ret;
	u64 a1 = call->args[1], a2 = call->args[2], a3 = call->args[3], a4 = call->args[4];
	const u32 first = sizeof(struct head);
	// Two regions, as large as the largest that goes there (waitid's siginfo, a rusage).
	slot(h, first, 128);
	slot(h, first + RSZ + 128, 32);
	if (ret >= 0) {
		if (c == CAP_WAIT4 && ret > 0) {
			if (a1)
				put_user(h, first, 8, a1, 4);
			if (a3)
				put_user(h, first + RSZ + 128, 32, a3, 32);
		} else if (c == CAP_WAITID) {
			if (a2)
				put_user(h, first, 128, a2, 128);
			if (a4)
				put_user(h, first + RSZ + 128, 32, a4, 32);
		} else if (c == CAP_CLONE && a2) {
			put_user(h, first, 8, a2, 4);
		} else if (c == CAP_CLONE3 && call->args[1] >= 32) {
			// pidfd and parent_tid, at the addresses clone_args gives (fields 1 and 3).
			u64 w[4];
			if (bpf_probe_read_user(w, sizeof(w), (const void *)call->args[0]) == 0) {
				if (w[1])
					put_user(h, first, 8, w[1], 4);
				if (w[3])
					put_user(h, first + RSZ + 128, 8, w[3], 4);
			}
		}
	}
	submit(h);
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int on_fork(u64 *ctx)
{
	const void *child = (const void *)ctx[1];
	u32 tid = (u32)bpf_get_current_pid_tgid();
	if (!is_tracked(tid))
		return 0;
	u32 ctid = kint(child, off_task_pid);
	// The creating call in flight: with CLONE_UNTRACED, a tracer does not get the child.
	struct inflight *call = bpf_map_lookup_elem(&calls, &tid);
	if (call && untraced_flag) {
		u32 key = call->nr;
		u32 *cap = bpf_map_lookup_elem(&wanted, &key);
		u64 flags = 0;
		if (cap && *cap == CAP_CLONE)
			flags = call->args[0];
		else if (cap && *cap == CAP_CLONE3)
			bpf_probe_read_user(&flags, sizeof(flags), (const void *)call->args[0]);
		if (flags & untraced_flag)
			return 0;
	}
	u32 one = 1;
	if (!follow_all)
		bpf_map_update_elem(&tracked, &ctid, &one, BPF_ANY);
	struct head *h = reserve(SMALL_REC, EV_FORK);
	if (!h)
		return 0;
	h->a = ctid;
	h->b = kint(child, off_task_tgid);
	submit(h);
	return 0;
}

// A successful exec. Besides the former tid, the record holds what the new program was
// given, read where the kernel just put it (present, unlike the caller's strings, which a
// tracepoint cannot fault in): the path the kernel resolved (kernel memory, region address
// 0) and, from the new stack at bprm->p (argc, then argv's and envp's pointers), argv's
// strings and envp's pointers, laid out as an execve's entry record.
SEC("raw_tp/sched_process_exec")
int on_exec(u64 *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u32 former = (u32)ctx[1];
	const void *bprm = (const void *)ctx[2];
	if (!is_tracked(tid) && !is_tracked(former))
		return 0;
	if (former != tid && !follow_all) {
		// A non-leader thread took the leader's pid.
		u32 one = 1;
		bpf_map_update_elem(&tracked, &tid, &one, BPF_ANY);
		bpf_map_delete_elem(&tracked, &former);
		struct inflight *call = bpf_map_lookup_elem(&calls, &former);
		if (call) {
			struct inflight moved = *call;
			bpf_map_update_elem(&calls, &tid, &moved, BPF_ANY);
			bpf_map_delete_elem(&calls, &former);
		}
	}
	// The new program's copy is read only for an entry that missed something.
	struct inflight *call = bpf_map_lookup_elem(&calls, &tid);
	if (!call || !call->incomplete) {
		struct head *h = reserve(SMALL_REC, EV_EXEC);
		if (!h)
			return 0;
		h->a = former;
		submit(h);
		return 0;
	}
	struct head *h = reserve(EXEC_REC, EV_EXEC);
	if (!h)
		return 0;
	h->a = former;
	u64 sp = kword(bprm, off_bprm_p);
	u64 argc = kint(bprm, off_bprm_argc);
	h->args[0] = argc;
	h->args[1] = kint(bprm, off_bprm_envc);
	h->args[2] = sp + 8;
	capture_exec(h, kword(bprm, off_bprm_filename), sp + 8, sp + 8 + 8 * (argc + 1), 1);
	submit(h);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int on_exit(u64 *ctx)
{
	const void *p = (const void *)ctx[0];
	u32 tid = (u32)bpf_get_current_pid_tgid();
	if (!is_tracked(tid))
		return 0;
	struct head *h = reserve(SMALL_REC, EV_GONE);
	if (h) {
		h->a = kint(p, off_task_exit_code);
		const void *signal = (const void *)kword(p, off_task_signal);
		if (signal && kword(signal, off_signal_group_exec_task))
			h->b = GONE_GROUP_EXEC;
		submit(h);
	}
	bpf_map_delete_elem(&calls, &tid);
	if (!follow_all)
		bpf_map_delete_elem(&tracked, &tid);
	return 0;
}

// The siginfo as a region (address 0): the kernel's is 48 bytes, the rest of the user's
// 128 are zero.
static __always_inline void put_siginfo(struct head *h, const void *info)
{
	struct region *r = (void *)h + sizeof(struct head);
	if ((u64)info <= 1) // SEND_SIG_NOINFO, SEND_SIG_PRIV: no siginfo
		return;
	if (bpf_probe_read_kernel((void *)r + sizeof(struct region), 48, info) == 0) {
		r->addr = 0;
		r->len = 48;
		r->next = sizeof(struct region) + 48;
		h->nregions = 1;
		return;
	}
}

SEC("raw_tp/signal_deliver")
int on_signal_deliver(u64 *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	if (!is_tracked(tid))
		return 0;
	struct head *h = reserve(SMALL_REC, EV_SIGNAL);
	if (!h)
		return 0;
	h->a = (u32)ctx[0];
	u64 handler = 0;
	bpf_probe_read_kernel(&handler, sizeof(handler), (const void *)ctx[2]);
	h->b = handler == 0 ? SIGNAL_DEFAULT : 0;
	put_siginfo(h, (const void *)ctx[1]);
	submit(h);
	return 0;
}

// Two signals that ptrace would show delivered and that never are without it, at their
// generation: one the kernel drops because it is ignored (sig_ignored() keeps signals for
// ptraced tasks), and one whose default action terminates (complete_signal() kills the
// group at once unless the task is ptraced; user space knows which default actions do).
SEC("raw_tp/signal_generate")
int on_signal_generate(u64 *ctx)
{
	int sig = (int)ctx[0];
	int result = (int)ctx[4];
	const void *t = (const void *)ctx[2];
	u32 tid = kint(t, off_task_pid);
	if (!is_tracked(tid) || sig < 1 || sig > 64)
		return 0;
	s64 flags;
	if (result == 1) { // TRACE_SIGNAL_IGNORED
		flags = SIGNAL_IGNORED;
	} else if (result == 0) { // TRACE_SIGNAL_DELIVERED
		u64 blocked = kword(t, off_task_blocked);
		if (blocked & (1UL << (sig - 1)))
			return 0;
		u64 sh = kword(t, off_task_sighand);
		u64 at = sh + off_sighand_action + (u64)(sig - 1) * size_k_sigaction;
		void *handler = (void *)1;
		bpf_probe_read_kernel(&handler, sizeof(handler), (const void *)at);
		if (handler != 0)
			return 0;
		flags = SIGNAL_QUEUED_DFL;
	} else {
		return 0;
	}
	struct head *h = reserve(SMALL_REC, EV_SIGNAL);
	if (!h)
		return 0;
	h->tid = tid;
	h->tgid = kint(t, off_task_tgid);
	h->a = (u32)sig;
	h->b = flags;
	put_siginfo(h, (const void *)ctx[1]);
	submit(h);
	return 0;
}
