//! I/O contexts (block/blk-ioc.c): what `CLONE_IO` shares.

/// `struct io_context`: the I/O priority its tasks submit with.
#[derive(Debug, Clone, Copy, Default)]
pub struct IoContext {
    /// `ioprio` (class << 13 | data); 0 is `IOPRIO_CLASS_NONE`, not a valid set priority.
    pub ioprio: u16,
}

impl IoContext {
    /// `ioprio_valid`: a class other than `IOPRIO_CLASS_NONE` was set.
    pub fn ioprio_valid(&self) -> bool {
        self.ioprio >> 13 != 0
    }
}
