//! `fork()` as glibc issues it, with a closure as the child.
//!
//! `strace -f -e trace=clone,clone3 target/debug/examples/fork` shows
//! `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x...) = N`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: this program is single-threaded, and the child only returns a value.
    let mut child = unsafe { clonekit_sys::fork(|| 7) }?;
    let status = child.wait()?;
    println!("forked child {} ended with {status}", child.pid());
    Ok(())
}
