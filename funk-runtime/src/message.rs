//! Messages: what one process sends another.
//!
//! A guest builds a [`DataMessage`] in its process's *scratch area*
//! (`lunatic::message::create_data`, `write_data`, `push_*`) and sends it;
//! the receiver's `receive` puts the next matching message into its own
//! scratch area, where `read_data` and `take_*` take it apart. A data
//! message carries a tag (0 means untagged), a byte buffer with a read
//! position, and host resources moved along with it (a module, say), named
//! inside the message by their index. The runtime also delivers two kinds of
//! messages of its own: a linked process died ([`Message::LinkDied`], when
//! the receiver traps link deaths) and a monitored process died
//! ([`Message::ProcessDied`]).

use std::any::Any;
use std::fmt;

/// A host resource travelling inside a message.
pub type Resource = Box<dyn Any + Send>;

/// One entry of a process's mailbox.
#[derive(Debug)]
pub enum Message {
    /// Bytes and resources sent by a process.
    Data(DataMessage),
    /// A linked process failed, and this process traps link failures. The
    /// tag is the one the link was made with.
    LinkDied(Option<i64>),
    /// A process this one monitors died.
    ProcessDied(u64),
}

impl Message {
    /// The tag selective receives match against; `None` is untagged.
    pub fn tag(&self) -> Option<i64> {
        match self {
            Message::Data(data) => data.tag,
            Message::LinkDied(tag) => *tag,
            Message::ProcessDied(_) => None,
        }
    }

    /// The status code `receive` returns for this kind of message.
    pub fn kind_code(&self) -> u32 {
        match self {
            Message::Data(_) => 0,
            Message::LinkDied(_) => 1,
            Message::ProcessDied(_) => 2,
        }
    }
}

/// A message of bytes and resources.
#[derive(Default)]
pub struct DataMessage {
    tag: Option<i64>,
    buffer: Vec<u8>,
    read_pos: usize,
    resources: Vec<Option<Resource>>,
}

impl fmt::Debug for DataMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataMessage")
            .field("tag", &self.tag)
            .field("len", &self.buffer.len())
            .field("read_pos", &self.read_pos)
            .field("resources", &self.resources.len())
            .finish()
    }
}

/// The message has no room for more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message would grow to {wanted} bytes, over the limit of {limit} bytes")]
pub struct MessageTooLarge {
    /// The size the write would reach.
    pub wanted: u64,
    /// The runtime's message size limit.
    pub limit: u64,
}

/// The read position lies beyond the end of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the read position {position} is past the end of the {len}-byte message")]
pub struct ReadPastEnd {
    /// The read position.
    pub position: usize,
    /// The message length.
    pub len: usize,
}

/// Most bytes a capacity hint from the guest reserves up front; the buffer
/// grows on demand past it, so a hostile hint cannot reserve host memory.
const MAX_RESERVED: u64 = 64 * 1024;

impl DataMessage {
    /// An empty message with `tag` (0 means untagged) and room reserved
    /// for `capacity` bytes (the guest's hint, capped).
    pub fn new(tag: i64, capacity: u64) -> Self {
        DataMessage {
            tag: (tag != 0).then_some(tag),
            buffer: Vec::with_capacity(capacity.min(MAX_RESERVED) as usize),
            read_pos: 0,
            resources: Vec::new(),
        }
    }

    /// The tag, `None` when untagged.
    pub fn tag(&self) -> Option<i64> {
        self.tag
    }

    /// Appends `bytes`, refusing to grow past `limit` bytes.
    pub fn write(&mut self, bytes: &[u8], limit: u64) -> Result<usize, MessageTooLarge> {
        let wanted = self.buffer.len() as u64 + bytes.len() as u64;
        if wanted > limit {
            return Err(MessageTooLarge { wanted, limit });
        }
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    /// Copies bytes from the read position into `out`, advancing it.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize, ReadPastEnd> {
        let rest = self.buffer.get(self.read_pos..).ok_or(ReadPastEnd {
            position: self.read_pos,
            len: self.buffer.len(),
        })?;
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.read_pos += n;
        Ok(n)
    }

    /// Moves the read position (past the end is allowed; reading then fails).
    pub fn seek(&mut self, position: u64) {
        self.read_pos = usize::try_from(position).unwrap_or(usize::MAX);
    }

    /// Length of the buffer in bytes.
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The bytes written so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buffer
    }

    /// Adds a resource and returns its index inside the message.
    pub fn push_resource(&mut self, resource: Resource) -> u64 {
        self.resources.push(Some(resource));
        self.resources.len() as u64 - 1
    }

    /// Takes the resource at `index` if it is a `T`; other indexes keep
    /// their resources. `Err` says why nothing was taken.
    pub fn take_resource<T: Any>(&mut self, index: u64) -> Result<T, TakeResourceError> {
        let count = self.resources.len();
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| self.resources.get_mut(i))
            .ok_or(TakeResourceError::NoSuchIndex { index, count })?;
        let resource = slot
            .take()
            .ok_or(TakeResourceError::AlreadyTaken { index })?;
        match resource.downcast::<T>() {
            Ok(value) => Ok(*value),
            Err(resource) => {
                *slot = Some(resource);
                Err(TakeResourceError::WrongKind {
                    index,
                    expected: short_name::<T>(),
                })
            }
        }
    }
}

/// Why [`DataMessage::take_resource`] took nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TakeResourceError {
    /// The index is not one the message has.
    #[error("the message has no resource {index} (it carries {count})")]
    NoSuchIndex {
        /// The index asked for.
        index: u64,
        /// How many resources the message carries.
        count: usize,
    },
    /// The resource was taken before.
    #[error("resource {index} of the message was already taken")]
    AlreadyTaken {
        /// The index asked for.
        index: u64,
    },
    /// The resource at the index is of another kind.
    #[error("resource {index} of the message is not a {expected}")]
    WrongKind {
        /// The index asked for.
        index: u64,
        /// The kind the function takes.
        expected: &'static str,
    },
}

fn short_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_tag_is_untagged_and_hints_are_capped() {
        let message = DataMessage::new(0, u64::MAX);
        assert_eq!(message.tag(), None);
        assert!(message.buffer.capacity() <= MAX_RESERVED as usize);
        assert_eq!(DataMessage::new(-5, 0).tag(), Some(-5));
    }

    #[test]
    fn writes_append_reads_advance_and_seek_rewinds() {
        let mut message = DataMessage::new(1, 0);
        message.write(b"hello ", 100).unwrap();
        message.write(b"world", 100).unwrap();
        let mut out = [0u8; 5];
        assert_eq!(message.read(&mut out), Ok(5));
        assert_eq!(&out, b"hello");
        let mut rest = [0u8; 64];
        assert_eq!(message.read(&mut rest), Ok(6));
        assert_eq!(&rest[..6], b" world");
        assert_eq!(message.read(&mut rest), Ok(0));
        message.seek(6);
        assert_eq!(message.read(&mut rest), Ok(5));
        message.seek(100);
        assert_eq!(
            message.read(&mut rest),
            Err(ReadPastEnd {
                position: 100,
                len: 11
            })
        );
    }

    #[test]
    fn the_size_limit_is_enforced_before_copying() {
        let mut message = DataMessage::new(0, 0);
        message.write(&[0; 8], 10).unwrap();
        assert_eq!(
            message.write(&[0; 3], 10),
            Err(MessageTooLarge {
                wanted: 11,
                limit: 10
            })
        );
        assert_eq!(message.len(), 8);
    }

    #[test]
    fn resources_keep_their_indexes_when_others_are_taken() {
        let mut message = DataMessage::new(0, 0);
        assert_eq!(message.push_resource(Box::new(1u32)), 0);
        assert_eq!(message.push_resource(Box::new("two")), 1);
        assert_eq!(
            message.take_resource::<u32>(1),
            Err(TakeResourceError::WrongKind {
                index: 1,
                expected: "u32"
            })
        );
        assert_eq!(message.take_resource::<&str>(1), Ok("two"));
        assert_eq!(
            message.take_resource::<&str>(1),
            Err(TakeResourceError::AlreadyTaken { index: 1 })
        );
        assert_eq!(message.take_resource::<u32>(0), Ok(1));
        assert!(matches!(
            message.take_resource::<u32>(u64::MAX),
            Err(TakeResourceError::NoSuchIndex { .. })
        ));
    }
}
