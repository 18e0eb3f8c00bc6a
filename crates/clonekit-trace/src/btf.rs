//! The few field offsets the eBPF programs need, read from the kernel's BTF
//! (`/sys/kernel/btf/vmlinux`, the BPF Type Format: Documentation/bpf/btf.rst).
//!
//! The programs read eight fields of four kernel structures (`task_struct`, `signal_struct`,
//! `sighand_struct`, `linux_binprm`), whose places change from kernel to kernel. A CO-RE
//! loader finds them by parsing every type of the kernel's BTF into its own structures and
//! matching the program's types against them, which took this tracer's loader 23 ms of its
//! 40 ms start (aya 0.14). Here the BTF is walked once where it lies: an index of where each
//! type begins, then the four structures looked up by name and their members by name
//! (through anonymous structures and unions, as CO-RE does), in about 2 ms. The offsets go
//! to the programs as constants of their read-only data.

use std::collections::HashMap;

/// `BTF_MAGIC`.
const MAGIC: u16 = 0xeb9f;

// The kinds (`BTF_KIND_*`, include/uapi/linux/btf.h).
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// How deep anonymous members, and arrays of arrays, are followed (a damaged BTF could make
/// a type its own member).
const MAX_DEPTH: u32 = 32;

/// What went wrong reading the BTF: one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfError(pub String);

impl std::fmt::Display for BtfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(what: impl Into<String>) -> BtfError {
    BtfError(what.into())
}

/// A kernel's BTF, indexed: where each type's record begins.
pub struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    /// `at[id - 1]`: the offset of type `id` in `types` (type 0 is `void`).
    at: Vec<u32>,
    /// The structures by name, the first of each name (looked up lazily).
    structs: HashMap<&'a [u8], u32>,
}

/// A member found: its byte offset from the start of the structure, and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Bytes from the start of the structure searched.
    pub offset: u32,
    /// Its type id.
    pub type_id: u32,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> Btf<'a> {
    /// Indexes `data`, a whole BTF blob (header, types, strings).
    pub fn parse(data: &'a [u8]) -> Result<Btf<'a>, BtfError> {
        if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != MAGIC {
            return Err(bad("not BTF (no 0xeb9f magic; a big-endian BTF is not read)"));
        }
        let hdr_len = u32_at(data, 4).ok_or_else(|| bad("truncated header"))? as usize;
        let field = |at: usize| u32_at(data, at).map(|v| v as usize).ok_or_else(|| bad("truncated header"));
        let (type_off, type_len, str_off, str_len) = (field(8)?, field(12)?, field(16)?, field(20)?);
        let section = |off: usize, len: usize| {
            hdr_len
                .checked_add(off)
                .and_then(|s| Some((s, s.checked_add(len)?)))
                .and_then(|(s, e)| data.get(s..e))
                .ok_or_else(|| bad("a section lies outside the data"))
        };
        let types = section(type_off, type_len)?;
        let strings = section(str_off, str_len)?;
        let mut at = Vec::new();
        let mut structs = HashMap::new();
        let mut p = 0usize;
        while p < types.len() {
            let name_off = u32_at(types, p).ok_or_else(|| bad("truncated type"))?;
            let info = u32_at(types, p + 4).ok_or_else(|| bad("truncated type"))?;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => vlen * 12,
                KIND_ENUM | KIND_FUNC_PROTO => vlen * 8,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                k => return Err(bad(format!("type {} has an unknown kind {k}", at.len() + 1))),
            };
            let id = at.len() as u32 + 1;
            at.push(p as u32);
            if kind == KIND_STRUCT && name_off != 0 {
                let name = Self::cstr(strings, name_off)?;
                structs.entry(name).or_insert(id);
            }
            p += 12 + extra;
        }
        if p != types.len() {
            return Err(bad("the last type runs past the type section"));
        }
        Ok(Btf { types, strings, at, structs })
    }

    fn cstr(strings: &'a [u8], off: u32) -> Result<&'a [u8], BtfError> {
        let s = strings.get(off as usize..).ok_or_else(|| bad("a name lies outside the strings"))?;
        let end = s.iter().position(|&b| b == 0).ok_or_else(|| bad("an unterminated name"))?;
        Ok(&s[..end])
    }

    /// The record of type `id`: (name offset, info, size or type), then what follows.
    fn record(&self, id: u32) -> Result<(u32, u32, u32, usize), BtfError> {
        let p =
            *self.at.get((id as usize).wrapping_sub(1)).ok_or_else(|| bad(format!("no type {id}")))? as usize;
        let t = self.types;
        let r = |o| u32_at(t, p + o).ok_or_else(|| bad("truncated type"));
        Ok((r(0)?, r(4)?, r(8)?, p + 12))
    }

    /// The id of the structure named `name`.
    pub fn struct_id(&self, name: &str) -> Result<u32, BtfError> {
        self.structs.get(name.as_bytes()).copied().ok_or_else(|| bad(format!("no struct {name}")))
    }

    /// `id` with typedefs and qualifiers taken off.
    fn resolve(&self, mut id: u32) -> Result<u32, BtfError> {
        for _ in 0..MAX_DEPTH {
            let (_, info, ty, _) = self.record(id)?;
            match (info >> 24) & 0x1f {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = ty,
                _ => return Ok(id),
            }
        }
        Err(bad(format!("type {id}: a chain of typedefs too long")))
    }

    /// The size in bytes of type `id`.
    pub fn size_of(&self, id: u32) -> Result<u32, BtfError> {
        self.size_at(id, 0)
    }

    fn size_at(&self, id: u32, depth: u32) -> Result<u32, BtfError> {
        if depth > MAX_DEPTH {
            return Err(bad(format!("type {id}: arrays nested too deep")));
        }
        let id = self.resolve(id)?;
        let (_, info, size, rest) = self.record(id)?;
        match (info >> 24) & 0x1f {
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT | KIND_DATASEC => {
                Ok(size)
            }
            KIND_PTR => Ok(8),
            KIND_ARRAY => {
                let elem = u32_at(self.types, rest).ok_or_else(|| bad("truncated array"))?;
                let n = u32_at(self.types, rest + 8).ok_or_else(|| bad("truncated array"))?;
                self.size_at(elem, depth + 1)?.checked_mul(n).ok_or_else(|| bad("an array too large"))
            }
            k => Err(bad(format!("type {id} (kind {k}) has no size"))),
        }
    }

    /// The member `name` of the structure or union `id`, looked for in anonymous members too.
    pub fn member(&self, id: u32, name: &str) -> Result<Option<Member>, BtfError> {
        self.member_at(id, name, 0)
    }

    fn member_at(&self, id: u32, name: &str, depth: u32) -> Result<Option<Member>, BtfError> {
        if depth > MAX_DEPTH {
            return Err(bad(format!("type {id}: anonymous members nested too deep")));
        }
        let id = self.resolve(id)?;
        let (_, info, _, rest) = self.record(id)?;
        let kind = (info >> 24) & 0x1f;
        if kind != KIND_STRUCT && kind != KIND_UNION {
            return Ok(None);
        }
        let bitfields = info & (1 << 31) != 0;
        for i in 0..(info & 0xffff) as usize {
            let m = rest + i * 12;
            let (Some(name_off), Some(ty), Some(off)) =
                (u32_at(self.types, m), u32_at(self.types, m + 4), u32_at(self.types, m + 8))
            else {
                return Err(bad("truncated member"));
            };
            let bits = if bitfields { off & 0xff_ffff } else { off };
            if name_off == 0 {
                if let Some(inner) = self.member_at(ty, name, depth + 1)? {
                    return Ok(Some(Member { offset: bits / 8 + inner.offset, type_id: inner.type_id }));
                }
            } else if Self::cstr(self.strings, name_off)? == name.as_bytes() {
                if bits % 8 != 0 {
                    return Err(bad(format!("member {name} is a bit field")));
                }
                return Ok(Some(Member { offset: bits / 8, type_id: ty }));
            }
        }
        Ok(None)
    }

    /// `strukt.member`'s offset and size, or an error naming what is missing.
    pub fn field(&self, strukt: &str, member: &str) -> Result<(u32, u32), BtfError> {
        let id = self.struct_id(strukt)?;
        let m =
            self.member(id, member)?.ok_or_else(|| bad(format!("no member {member} in struct {strukt}")))?;
        Ok((m.offset, self.size_of(m.type_id)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small BTF blob: int (4 bytes), struct inner { int a; int b; }, struct outer { int x;
    /// union { struct inner in; } (anonymous) at 8; int arr[3] at 16 }, and a typedef.
    fn blob() -> Vec<u8> {
        let mut strings = b"\0int\0inner\0a\0b\0outer\0x\0in\0arr\0t\0".to_vec();
        let name = |s: &str, strings: &[u8]| -> u32 {
            let needle: Vec<u8> = [s.as_bytes(), b"\0"].concat();
            strings.windows(needle.len()).position(|w| w == needle.as_slice()).unwrap() as u32
        };
        let mut t = Vec::new();
        let mut put = |v: &[u32]| {
            for x in v {
                t.extend_from_slice(&x.to_le_bytes());
            }
        };
        let s = &mut strings;
        // 1: int
        put(&[name("int", s), KIND_INT << 24, 4, 32]);
        // 2: struct inner { int a @0; int b @32 bits }
        put(&[name("inner", s), (KIND_STRUCT << 24) | 2, 8, name("a", s), 1, 0, name("b", s), 1, 32]);
        // 3: anonymous union { struct inner in; }
        put(&[0, (KIND_UNION << 24) | 1, 8, name("in", s), 2, 0]);
        // 4: array of 3 ints (elem 1, index type 1)
        put(&[0, KIND_ARRAY << 24, 0, 1, 1, 3]);
        // 5: struct outer { int x @0; union @64 bits; int arr[3] @128 bits }
        put(&[
            name("outer", s),
            (KIND_STRUCT << 24) | 3,
            28,
            name("x", s),
            1,
            0,
            0,
            3,
            64,
            name("arr", s),
            4,
            128,
        ]);
        // 6: typedef t -> struct outer
        put(&[name("t", s), KIND_TYPEDEF << 24, 5]);
        strings.push(0);
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC.to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        for v in [24u32, 0, t.len() as u32, t.len() as u32, strings.len() as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&t);
        b.extend_from_slice(&strings);
        b
    }

    #[test]
    fn members_are_found_through_anonymous_unions() {
        let data = blob();
        let btf = Btf::parse(&data).unwrap();
        assert_eq!(btf.field("outer", "x"), Ok((0, 4)));
        // `in` is in the anonymous union at byte 8; `in.b` would be 12.
        assert_eq!(btf.field("outer", "in"), Ok((8, 8)));
        assert_eq!(btf.field("outer", "arr"), Ok((16, 12)));
        assert_eq!(btf.field("inner", "b"), Ok((4, 4)));
        assert_eq!(btf.size_of(6), Ok(28));
    }

    #[test]
    fn what_is_missing_is_named() {
        let data = blob();
        let btf = Btf::parse(&data).unwrap();
        assert_eq!(btf.field("outer", "y"), Err(BtfError("no member y in struct outer".into())));
        assert_eq!(btf.field("task_struct", "pid"), Err(BtfError("no struct task_struct".into())));
    }

    #[test]
    fn bad_blobs_are_refused_not_panicked_on() {
        let data = blob();
        assert!(Btf::parse(&data[..10]).is_err());
        assert!(Btf::parse(b"not btf at all, really not").is_err());
        // Every truncation of the blob is an error or a smaller valid blob, never a panic.
        for n in 0..data.len() {
            let _ = Btf::parse(&data[..n]);
        }
        let mut wrong = data.clone();
        wrong[24 + 7] = 0x1f; // type 1's kind byte: an unknown kind
        assert!(Btf::parse(&wrong).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes behind a valid magic: an error or an index, never a panic.
        #[test]
        fn arbitrary_bytes_are_never_panicked_on(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut data = MAGIC.to_le_bytes().to_vec();
            data.extend_from_slice(&tail);
            if let Ok(btf) = Btf::parse(&data) {
                let _ = btf.field("outer", "x");
            }
        }

        /// The test blob with bytes changed anywhere (kinds, counts, ids, offsets): every
        /// lookup ends, with an answer or an error.
        #[test]
        fn damaged_blobs_are_never_panicked_on(
            changes in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..8)
        ) {
            let mut data = blob();
            for (at, v) in changes {
                let n = data.len();
                data[at % n] = v;
            }
            if let Ok(btf) = Btf::parse(&data) {
                for (s, m) in [("outer", "x"), ("outer", "in"), ("outer", "arr"), ("inner", "b"), ("t", "x")] {
                    let _ = btf.field(s, m);
                }
                for id in 0..8 {
                    let _ = btf.size_of(id);
                    let _ = btf.member(id, "b");
                }
            }
        }
    }

    #[test]
    fn the_running_kernels_task_struct_is_found() {
        let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            eprintln!("skipped: /sys/kernel/btf/vmlinux is not readable here");
            return;
        };
        let btf = Btf::parse(&data).unwrap();
        let (pid, pid_size) = btf.field("task_struct", "pid").unwrap();
        let (tgid, _) = btf.field("task_struct", "tgid").unwrap();
        assert_eq!(pid_size, 4);
        // tgid follows pid in every kernel's task_struct.
        assert_eq!(tgid, pid + 4);
        let (_, action) = btf.field("sighand_struct", "action").unwrap();
        assert_eq!(action % 64, 0, "64 k_sigactions");
    }
}
