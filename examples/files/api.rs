//! The host API of the `files` example: an in-memory file system. Also
//! compiled into the API crate that tests/bindings/guest generates its
//! bindings from, so the README's Rust guest for it is built and run.

use std::collections::HashMap;
use std::io::IoSliceMut;

use funk::{Borrow, Handle, HasResources, ResourceTable, Take};

/// The host state: files by path, and the open ones.
#[derive(Default)]
pub struct Files {
    contents: HashMap<String, Vec<u8>>,
    open: ResourceTable,
}

/// An open file.
pub struct File {
    data: Vec<u8>,
    pos: usize,
}

/// WASI-style error numbers, returned to the guest as a status code.
#[derive(Debug, Clone, Copy, funk::HostError)]
pub enum Errno {
    NoEnt = 44,
    NFile = 41,
}

impl HasResources for Files {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.open
    }
}

#[funk::host_functions(namespace = "fs")]
impl Files {
    /// `open(path_ptr, path_len, fd_out) -> errno`
    fn open(&mut self, path: &str) -> Result<Handle<File>, Errno> {
        let data = self.contents.get(path).ok_or(Errno::NoEnt)?.clone();
        self.open
            .insert(File { data, pos: 0 })
            .map_err(|_| Errno::NFile)
    }

    /// `read(fd, iovs_ptr, iovs_len, nread_out) -> errno`
    fn read(&mut self, fd: Borrow<File>, bufs: &mut [IoSliceMut<'_>]) -> Result<u32, Errno> {
        let file = &mut self.open[fd];
        let mut total = 0;
        for buf in bufs.iter_mut() {
            let n = buf.len().min(file.data.len() - file.pos);
            buf[..n].copy_from_slice(&file.data[file.pos..file.pos + n]);
            file.pos += n;
            total += n as u32;
        }
        Ok(total)
    }

    /// `close(fd)`
    fn close(&mut self, fd: Take<File>) {
        drop(fd.into_inner());
    }
}

impl Files {
    /// A file system holding `/hello`.
    pub fn with_hello() -> Files {
        let mut files = Files::default();
        files
            .contents
            .insert("/hello".into(), b"hello, world of funk".to_vec());
        files
    }
}
