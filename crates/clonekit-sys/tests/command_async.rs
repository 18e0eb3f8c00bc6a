//! `Child::wait_async` (the `tokio` feature): the pidfd polled by tokio's reactor.
#![cfg(feature = "tokio")]

use clonekit_sys::process::Command;
use clonekit_sys::{ExitStatus, Signal};

#[tokio::test(flavor = "current_thread")]
async fn wait_async_returns_the_status() {
    let mut child = Command::new("/bin/sh").args(["-c", "sleep 0.1; exit 4"]).spawn().unwrap();
    assert_eq!(child.wait_async().await.unwrap(), ExitStatus::from_code(4));
    let mut child = Command::new("/bin/sleep").arg("10").spawn().unwrap();
    child.signal(Signal::SIGTERM).unwrap();
    assert_eq!(child.wait_async().await.unwrap(), ExitStatus::from_signal(Signal::SIGTERM, false));
}
