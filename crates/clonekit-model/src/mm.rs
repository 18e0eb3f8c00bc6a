//! `struct mm_struct` (include/linux/mm_types.h): an address space of private anonymous
//! memory whose pages are copy-on-write after a fork.
//!
//! The page table is persistent: a radix tree of `Rc` nodes. `dup_mmap` shares the root, so
//! forking costs the same for one page as for a million; a store copies the nodes on its path
//! that are still shared (`Rc::make_mut`), which is the write fault `do_wp_page` takes on a
//! COW page. A page keeps only the words ever stored to it, so a modelled gigabyte fits in a
//! few megabytes.

use std::rc::Rc;

use clonekit_flags::SUID_DUMP_USER;

use crate::cred::UserNamespace;

/// `PAGE_SIZE` on x86_64.
pub const PAGE_SIZE: u64 = 4096;
const PAGE_SHIFT: u32 = 12;
/// Bits of virtual page number each tree level resolves.
const LEVEL_BITS: u32 = 6;
const FANOUT: usize = 1 << LEVEL_BITS;
/// Six levels of 6 bits: 36 bits of page number, the 48-bit user address space.
const LEVELS: u32 = 6;
/// The end of user space (`TASK_SIZE_MAX` with 4-level paging).
pub(crate) const TASK_SIZE: u64 = 1 << 47;

/// One page: the 32-bit words stored to it, by index, sorted; every other word is 0.
#[derive(Debug, Clone, Default)]
struct Page {
    words: Vec<(u16, u32)>,
}

#[derive(Debug, Clone)]
enum Node {
    Table(Box<[Option<Rc<Node>>; FANOUT]>),
    Page(Page),
}

fn empty_table() -> Node {
    Node::Table(Box::new(std::array::from_fn(|_| None)))
}

/// `mmap_min_addr`'s usual value (`CONFIG_DEFAULT_MMAP_MIN_ADDR`, 64 KiB): nothing is ever
/// mapped below it, so the NULL page always faults.
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;

/// `struct mm_struct`: the pages, and counters that make copy-on-write visible.
///
/// Every user address at or above [`MMAP_MIN_ADDR`] is taken to be mapped, readable and
/// writable (the model's programs keep their words in private anonymous memory), except the
/// pages a program made inaccessible (`mprotect(PROT_NONE)`, what a guard page is): an access
/// there faults, and a `copy_from_user`/`put_user` returns `EFAULT`.
#[derive(Debug, Clone)]
pub struct MmStruct {
    root: Option<Rc<Node>>,
    /// Page-aligned `[start, end)` ranges without access (`VM_NONE` vmas).
    no_access: Vec<(u64, u64)>,
    /// Pages that hold a stored word (resident, in the model's sense).
    pages: u64,
    /// Pages (and tables) copied by write faults since this mm was created.
    cow_copies: u64,
    /// `get_dumpable(mm)`: `SUID_DUMP_USER` (1) unless a credential change or
    /// `PR_SET_DUMPABLE` made it otherwise.
    pub(crate) dumpable: u32,
    /// `mm->user_ns`: the user namespace of the task that built it (`mm_alloc` at exec, the
    /// boot's for init); a fork's copy keeps it. `None` only for an mm built outside a kernel.
    pub(crate) user_ns: Option<Rc<UserNamespace>>,
}

impl Default for MmStruct {
    fn default() -> Self {
        MmStruct::new()
    }
}

impl MmStruct {
    /// `mm_alloc` (kernel/fork.c): an empty address space, as `execve` builds.
    pub fn new() -> MmStruct {
        MmStruct {
            root: None,
            no_access: Vec::new(),
            pages: 0,
            cow_copies: 0,
            dumpable: SUID_DUMP_USER,
            user_ns: None,
        }
    }

    /// `mm_alloc` for a task of `user_ns` (`mm_init(mm, current, current_user_ns())`).
    pub(crate) fn for_user_ns(user_ns: Rc<UserNamespace>) -> MmStruct {
        MmStruct { user_ns: Some(user_ns), ..MmStruct::new() }
    }

    /// `mprotect(addr, len, PROT_NONE)` (mm/mprotect.c): the pages of `[addr, addr + len)`
    /// can no longer be read or written.
    pub fn mprotect_none(&mut self, addr: u64, len: u64) {
        let start = addr & !(PAGE_SIZE - 1);
        let end = addr.saturating_add(len).div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE);
        if end > start && !self.no_access.iter().any(|&(s, e)| s <= start && end <= e) {
            self.no_access.push((start, end));
        }
    }

    /// Whether every byte of `[addr, addr + len)` can be accessed (`access_ok` and the page
    /// walk of a `copy_from_user` that does not fault).
    pub fn accessible(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else { return false };
        access_ok(addr, len)
            && addr >= MMAP_MIN_ADDR
            && !self.no_access.iter().any(|&(s, e)| addr < e && s < end.max(addr + 1))
    }

    /// How many bytes from `addr` on can be read before the first fault, at most `len`
    /// (`copy_from_user`'s count of bytes copied).
    pub fn readable_prefix(&self, addr: u64, len: u64) -> u64 {
        let mut n = 0;
        while n < len {
            let at = addr.saturating_add(n);
            let page_end = (at | (PAGE_SIZE - 1)).saturating_add(1);
            let chunk = (page_end - at).min(len - n);
            if !self.accessible(at, chunk) {
                break;
            }
            n += chunk;
        }
        n
    }

    /// `copy_from_user`: the bytes of `[addr, addr + len)` up to the first one that faults.
    pub fn copy_from_user(&self, addr: u64, len: u64) -> Vec<u8> {
        let n = self.readable_prefix(addr, len);
        (0..n)
            .map(|i| {
                let a = addr + i;
                let word = self.load(a & !3);
                (word >> (8 * (a & 3))) as u8
            })
            .collect()
    }

    /// Stores bytes at `addr` (as a program writes a struct into its memory), word by word;
    /// pages without access are left alone.
    pub fn write_bytes(&mut self, addr: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = addr + i as u64;
            if !self.accessible(a, 1) {
                continue;
            }
            let w = a & !3;
            let shift = 8 * (a & 3);
            let old = self.load(w);
            self.store(w, (old & !(0xff << shift)) | (u32::from(*b) << shift));
        }
    }

    /// `dup_mmap` (mm/mmap.c): the child's copy shares every page and page table with the
    /// parent; both are write-protected (here: shared `Rc`s) until one side writes.
    pub fn dup_mmap(&self) -> MmStruct {
        MmStruct {
            root: self.root.clone(),
            no_access: self.no_access.clone(),
            pages: self.pages,
            cow_copies: 0,
            // mmf_init_flags: the dumpability goes with the copy, and so does the user
            // namespace (dup_mm's mm_init(mm, tsk, mm->user_ns)).
            dumpable: self.dumpable,
            user_ns: self.user_ns.clone(),
        }
    }

    fn slot(vpn: u64, level: u32) -> usize {
        ((vpn >> (LEVEL_BITS * (LEVELS - 1 - level))) as usize) & (FANOUT - 1)
    }

    /// A 32-bit load (`get_user` of an `int`): 0 where nothing was ever stored.
    pub fn load(&self, addr: u64) -> u32 {
        let vpn = addr >> PAGE_SHIFT;
        let word = ((addr & (PAGE_SIZE - 1)) >> 2) as u16;
        let mut node = match &self.root {
            Some(r) => r,
            None => return 0,
        };
        for level in 0..LEVELS {
            match &**node {
                Node::Table(slots) => match &slots[Self::slot(vpn, level)] {
                    Some(n) => node = n,
                    None => return 0,
                },
                Node::Page(_) => return 0,
            }
        }
        match &**node {
            Node::Page(p) => p.words.binary_search_by_key(&word, |w| w.0).map_or(0, |i| p.words[i].1),
            Node::Table(_) => 0,
        }
    }

    /// A 32-bit store (`put_user` of an `int`); a shared page or table on the way is copied
    /// first (`do_wp_page` → `wp_page_copy`).
    pub fn store(&mut self, addr: u64, value: u32) {
        let vpn = addr >> PAGE_SHIFT;
        let word = ((addr & (PAGE_SIZE - 1)) >> 2) as u16;
        let mut copies = 0u64;
        let mut new_page = false;
        let root = self.root.get_or_insert_with(|| Rc::new(empty_table()));
        let mut node: &mut Rc<Node> = root;
        for level in 0..=LEVELS {
            if Rc::strong_count(node) > 1 || Rc::weak_count(node) > 0 {
                copies += 1;
            }
            let inner = Rc::make_mut(node);
            match inner {
                Node::Table(slots) => {
                    let slot = &mut slots[Self::slot(vpn, level)];
                    if slot.is_none() {
                        let fresh = if level + 1 == LEVELS {
                            new_page = true;
                            Node::Page(Page::default())
                        } else {
                            empty_table()
                        };
                        *slot = Some(Rc::new(fresh));
                    }
                    node = slot.as_mut().expect("slot filled above");
                }
                Node::Page(p) => {
                    match p.words.binary_search_by_key(&word, |w| w.0) {
                        Ok(i) => p.words[i].1 = value,
                        Err(i) => p.words.insert(i, (word, value)),
                    }
                    break;
                }
            }
        }
        self.cow_copies += copies;
        if new_page {
            self.pages += 1;
        }
    }

    /// Pages that hold a stored word.
    pub fn resident_pages(&self) -> u64 {
        self.pages
    }

    /// Nodes this address space copied on write since it was created or duplicated.
    pub fn cow_copies(&self) -> u64 {
        self.cow_copies
    }

    fn page_node(&self, addr: u64) -> Option<&Rc<Node>> {
        let vpn = addr >> PAGE_SHIFT;
        let mut node = self.root.as_ref()?;
        for level in 0..LEVELS {
            match &**node {
                Node::Table(slots) => node = slots[Self::slot(vpn, level)].as_ref()?,
                Node::Page(_) => return None,
            }
        }
        Some(node)
    }

    /// Whether the page holding `addr` is the same physical page in both address spaces (a
    /// COW page neither side has written since the fork).
    pub fn shares_page_with(&self, other: &MmStruct, addr: u64) -> bool {
        match (self.page_node(addr), other.page_node(addr)) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Whether `[addr, addr + len)` is user memory (`access_ok`).
pub(crate) fn access_ok(addr: u64, len: u64) -> bool {
    addr.checked_add(len).is_some_and(|end| end <= TASK_SIZE) && addr != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dup_mmap_shares_pages_until_a_write() {
        let mut parent = MmStruct::new();
        parent.store(0x1000, 1);
        parent.store(0x2000, 2);
        let mut child = parent.dup_mmap();
        assert!(parent.shares_page_with(&child, 0x1000));
        child.store(0x1000, 9);
        assert!(!parent.shares_page_with(&child, 0x1000));
        assert!(parent.shares_page_with(&child, 0x2000));
        assert_eq!((parent.load(0x1000), child.load(0x1000)), (1, 9));
        assert_eq!(child.load(0x2000), 2);
        assert!(child.cow_copies() > 0);
    }

    #[test]
    fn unwritten_words_read_zero() {
        let mut mm = MmStruct::new();
        assert_eq!(mm.load(0x7fff_0000), 0);
        mm.store(0x7fff_0004, 5);
        assert_eq!(mm.load(0x7fff_0000), 0);
        assert_eq!(mm.load(0x7fff_0004), 5);
        assert_eq!(mm.resident_pages(), 1);
    }

    #[test]
    fn a_page_without_access_faults_and_stops_a_copy() {
        let mut mm = MmStruct::new();
        mm.write_bytes(0x10_0ff8, &[1, 2, 3, 4, 5, 6, 7, 8]);
        mm.mprotect_none(0x10_1000, 1);
        assert!(mm.accessible(0x10_0ff8, 8));
        assert!(!mm.accessible(0x10_0ff8, 9));
        assert!(!mm.accessible(0x10_1000, 4));
        assert_eq!(mm.copy_from_user(0x10_0ff8, 89), vec![1, 2, 3, 4, 5, 6, 7, 8]);
        // The NULL page is never mapped; a fork keeps the guard page.
        assert!(!mm.accessible(0, 4) && !mm.accessible(0x8, 4));
        assert!(!mm.dup_mmap().accessible(0x10_1000, 4));
        assert!(MmStruct::new().accessible(0x10_1000, 4));
    }

    #[test]
    fn access_ok_is_user_space() {
        assert!(access_ok(0x1000, 8));
        assert!(!access_ok(0, 8));
        assert!(!access_ok(TASK_SIZE - 4, 8));
    }
}
