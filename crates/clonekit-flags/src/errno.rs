//! `Errno`: every x86_64 Linux error number by name and by the message strace prints for it,
//! from one table (include/uapi/asm-generic/errno-base.h, errno.h; glibc's `strerror` text),
//! plus the kernel-internal restart codes a tracer can see (include/linux/errno.h).

use std::fmt;

/// A Linux error number, always one this table knows.
///
/// Displayed and serialized as its name (`EINVAL`), the way strace prints it; aliases
/// (`EWOULDBLOCK`, `EDEADLOCK`, `ENOTSUP`) are the same value as their canonical name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(i32);

/// One row: the errno, its name, and what strace prints in parentheses after it.
macro_rules! errno_table {
    ($($name:ident = $n:literal, $msg:literal;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($n), "): ", $msg, ".")]
                pub const $name: Errno = Errno($n);
            )*
        }

        /// Every errno in ascending order: the one table `name`, `message` and the lookups use.
        const TABLE: &[(Errno, &str, &str)] = &[$((Errno::$name, stringify!($name), $msg),)*];
    };
}

errno_table! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ECHRNG = 44, "Channel number out of range";
    EL2NSYNC = 45, "Level 2 not synchronized";
    EL3HLT = 46, "Level 3 halted";
    EL3RST = 47, "Level 3 reset";
    ELNRNG = 48, "Link number out of range";
    EUNATCH = 49, "Protocol driver not attached";
    ENOCSI = 50, "No CSI structure available";
    EL2HLT = 51, "Level 2 halted";
    EBADE = 52, "Invalid exchange";
    EBADR = 53, "Invalid request descriptor";
    EXFULL = 54, "Exchange full";
    ENOANO = 55, "No anode";
    EBADRQC = 56, "Invalid request code";
    EBADSLT = 57, "Invalid slot";
    EBFONT = 59, "Bad font file format";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENONET = 64, "Machine is not on the network";
    ENOPKG = 65, "Package not installed";
    EREMOTE = 66, "Object is remote";
    ENOLINK = 67, "Link has been severed";
    EADV = 68, "Advertise error";
    ESRMNT = 69, "Srmount error";
    ECOMM = 70, "Communication error on send";
    EPROTO = 71, "Protocol error";
    EMULTIHOP = 72, "Multihop attempted";
    EDOTDOT = 73, "RFS specific error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTUNIQ = 76, "Name not unique on network";
    EBADFD = 77, "File descriptor in bad state";
    EREMCHG = 78, "Remote address changed";
    ELIBACC = 79, "Can not access a needed shared library";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ELIBSCN = 81, ".lib section in a.out corrupted";
    ELIBMAX = 82, "Attempting to link in too many shared libraries";
    ELIBEXEC = 83, "Cannot exec a shared library directly";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    ERESTART = 85, "Interrupted system call should be restarted";
    ESTRPIPE = 86, "Streams pipe error";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection on reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "Too many references: cannot splice";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    ENOTNAM = 118, "Not a XENIX named type file";
    ENAVAIL = 119, "No XENIX semaphores available";
    EISNAM = 120, "Is a named type file";
    EREMOTEIO = 121, "Remote I/O error";
    EDQUOT = 122, "Disk quota exceeded";
    ENOMEDIUM = 123, "No medium found";
    EMEDIUMTYPE = 124, "Wrong medium type";
    ECANCELED = 125, "Operation canceled";
    ENOKEY = 126, "Required key not available";
    EKEYEXPIRED = 127, "Key has expired";
    EKEYREVOKED = 128, "Key has been revoked";
    EKEYREJECTED = 129, "Key was rejected by service";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    ERFKILL = 132, "Operation not possible due to RF-kill";
    EHWPOISON = 133, "Memory page has hardware error";
    ERESTARTSYS = 512, "To be restarted if SA_RESTART is set";
    ERESTARTNOINTR = 513, "To be restarted";
    ERESTARTNOHAND = 514, "To be restarted if no handler";
    ERESTART_RESTARTBLOCK = 516, "Interrupted by signal";
}

/// Other names for the same numbers, accepted by [`Errno::from_name`].
const ALIASES: &[(&str, Errno)] =
    &[("EWOULDBLOCK", Errno::EAGAIN), ("EDEADLOCK", Errno::EDEADLK), ("ENOTSUP", Errno::EOPNOTSUPP)];

impl Errno {
    /// `EWOULDBLOCK`: the same number as `EAGAIN` (11).
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EDEADLOCK`: the same number as `EDEADLK` (35) on x86_64.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// `ENOTSUP`: the same number as `EOPNOTSUPP` (95).
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// Every errno the table knows, in ascending order.
    pub fn all() -> impl Iterator<Item = Errno> {
        TABLE.iter().map(|&(e, _, _)| e)
    }

    fn row(self) -> &'static (Errno, &'static str, &'static str) {
        // Every `Errno` value comes from the table, so the search always succeeds.
        let i = TABLE.binary_search_by_key(&self.0, |r| r.0 .0).unwrap_or(0);
        &TABLE[i]
    }

    /// The errno with this number (positive, as in `errno`; a raw syscall return of `-22`
    /// is `from_raw(22)`), if Linux defines it on x86_64.
    pub fn from_raw(raw: i32) -> Option<Errno> {
        TABLE.binary_search_by_key(&raw, |r| r.0 .0).ok().map(|i| TABLE[i].0)
    }

    /// The number (`22` for `EINVAL`).
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The canonical name, `"EINVAL"`.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// What strace prints in parentheses after the name: glibc's `strerror` text
    /// (`"Invalid argument"`), or strace's own words for the kernel-internal restart codes.
    pub fn message(self) -> &'static str {
        self.row().2
    }

    /// Looks an errno up by name, canonical or alias, in any case (`"EINVAL"`, `"einval"`,
    /// `"EWOULDBLOCK"`).
    pub fn from_name(name: &str) -> Option<Errno> {
        let name = name.trim();
        TABLE
            .iter()
            .find(|r| r.1.eq_ignore_ascii_case(name))
            .map(|r| r.0)
            .or_else(|| ALIASES.iter().find(|a| a.0.eq_ignore_ascii_case(name)).map(|a| a.1))
    }

    /// Whether this is one of the kernel-internal restart codes (512..=516) that user space
    /// never receives but a tracer can see at syscall exit.
    pub const fn is_kernel_internal(self) -> bool {
        self.0 >= 512
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl fmt::Display for Errno {
    /// The name, `EINVAL`; `{:#}` prints strace's form, `EINVAL (Invalid argument)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "{} ({})", self.name(), self.message())
        } else {
            f.write_str(self.name())
        }
    }
}

impl serde::Serialize for Errno {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Errno {
    /// From a name (`"EINVAL"`, aliases too) or a number (`22`).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Errno;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an errno name such as \"EINVAL\" or its number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Errno, E> {
                Errno::from_name(v).ok_or_else(|| E::custom(format!("unknown errno name {v:?}")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Errno, E> {
                i32::try_from(v)
                    .ok()
                    .and_then(Errno::from_raw)
                    .ok_or_else(|| E::custom(format!("unknown errno {v}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Errno, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom(format!("unknown errno {v}")))
                    .and_then(|v| self.visit_i64(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_names_are_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 .0 < w[1].0 .0));
        let mut names: Vec<&str> = TABLE.iter().map(|r| r.1).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
    }

    #[test]
    fn every_x86_64_errno_from_1_to_133_except_the_two_holes() {
        // 41 and 58 are unassigned on x86_64 (EDEADLOCK is an alias of EDEADLK there).
        let known: Vec<i32> = (1..=133).filter(|&n| Errno::from_raw(n).is_some()).collect();
        assert_eq!(known.len(), 131);
        assert_eq!(Errno::from_raw(41), None);
        assert_eq!(Errno::from_raw(58), None);
        assert_eq!(Errno::from_raw(0), None);
        assert_eq!(Errno::from_raw(-22), None);
        assert_eq!(Errno::from_raw(133).map(Errno::name), Some("EHWPOISON"));
    }

    #[test]
    fn names_messages_and_numbers() {
        assert_eq!(Errno::EINVAL.raw(), 22);
        assert_eq!(Errno::EINVAL.name(), "EINVAL");
        assert_eq!(Errno::EINVAL.message(), "Invalid argument");
        assert_eq!(Errno::ECHILD.message(), "No child processes");
        assert_eq!(Errno::ENOENT.message(), "No such file or directory");
        assert_eq!(Errno::E2BIG.message(), "Argument list too long");
        assert_eq!(Errno::EAGAIN.message(), "Resource temporarily unavailable");
        assert_eq!(Errno::ERESTARTNOINTR.raw(), 513);
        assert_eq!(Errno::ERESTARTSYS.message(), "To be restarted if SA_RESTART is set");
        assert_eq!(Errno::ERESTARTNOHAND.message(), "To be restarted if no handler");
        assert_eq!(Errno::ERESTART_RESTARTBLOCK.message(), "Interrupted by signal");
        assert!(Errno::ERESTARTSYS.is_kernel_internal() && !Errno::EPERM.is_kernel_internal());
    }

    #[test]
    fn names_parse_back_and_aliases_map_to_canonical() {
        for e in Errno::all() {
            assert_eq!(Errno::from_name(e.name()), Some(e));
            assert_eq!(Errno::from_raw(e.raw()), Some(e));
        }
        assert_eq!(Errno::from_name("ewouldblock"), Some(Errno::EAGAIN));
        assert_eq!(Errno::from_name("ENOTSUP").map(Errno::name), Some("EOPNOTSUPP"));
        assert_eq!(Errno::EDEADLOCK, Errno::EDEADLK);
        assert_eq!(Errno::from_name("ENOPE"), None);
    }

    #[test]
    fn display_and_serde() {
        assert_eq!(Errno::EPERM.to_string(), "EPERM");
        assert_eq!(format!("{:#}", Errno::EPERM), "EPERM (Operation not permitted)");
        assert_eq!(format!("{:?}", Errno::EPERM), "EPERM(1)");
        assert_eq!(serde_json::to_string(&Errno::EFAULT).unwrap(), "\"EFAULT\"");
        assert_eq!(serde_json::from_str::<Errno>("\"EFAULT\"").unwrap(), Errno::EFAULT);
        assert_eq!(serde_json::from_str::<Errno>("14").unwrap(), Errno::EFAULT);
        assert!(serde_json::from_str::<Errno>("41").is_err());
    }
}
