//! A panicking child closure never unwinds into the trampoline: the child exits with
//! `CHILD_PANIC_STATUS`. (Its own test binary: the panic machinery allocates in the child,
//! which is safe only when no other test thread can hold the allocator's lock.)

use clonekit_sys::{Clone, CloneFlags, ExitStatus, CHILD_PANIC_STATUS};

#[test]
fn panicking_child_exits_with_the_panic_status() {
    std::panic::set_hook(Box::new(|_| {}));
    // SAFETY: the only other thread is the test harness's, which is waiting for this one.
    let mut child = unsafe { Clone::new().spawn(|| panic!("in the child")) }.unwrap();
    assert_eq!(child.wait().unwrap(), ExitStatus::from_code(CHILD_PANIC_STATUS));
    // SAFETY: as above; CLONE_VFORK keeps this thread asleep while the child panics.
    let mut child = unsafe {
        Clone::new().flags(CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK).spawn(|| panic!("in the child"))
    }
    .unwrap();
    assert_eq!(child.wait().unwrap(), ExitStatus::from_code(CHILD_PANIC_STATUS));
}
