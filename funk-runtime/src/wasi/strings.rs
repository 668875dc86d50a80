//! Arguments and environment: `args_sizes_get`/`args_get` and
//! `environ_sizes_get`/`environ_get`.
//!
//! The guest first asks for the sizes (how many strings, how many bytes
//! with their terminating NULs), allocates, then passes two buffers: one
//! for a pointer to each string, one for the strings. Those two calls pass
//! no lengths, so the parameter types here ([`Pointers`], [`Bytes`]) take
//! them from the host state when funk lifts them, which checks both
//! regions (bounds, alignment, no overlap) before the method runs.
//! Environment entries are `KEY=VALUE`. A string containing a NUL byte is
//! cut there for a C guest; the host should not pass one.

use std::marker::PhantomData;

use funk::{GuestError, GuestView, Lift};

use super::{Errno, Wasi};

/// NUL-terminated strings laid out as the guest receives them.
#[derive(Clone, Debug, Default)]
pub struct Strings {
    /// Every string with its NUL, back to back.
    data: Vec<u8>,
    /// Where each string starts in `data`.
    starts: Vec<u32>,
}

impl Strings {
    /// Lays out `strings`.
    pub fn new<S: AsRef<str>>(strings: impl IntoIterator<Item = S>) -> Strings {
        let mut table = Strings::default();
        for string in strings {
            // Past 4 GiB the sizes cannot be reported; `sizes` says so.
            table.starts.push(table.data.len() as u32);
            table.data.extend_from_slice(string.as_ref().as_bytes());
            table.data.push(0);
        }
        table
    }

    /// `(count, bytes)`, as `*_sizes_get` returns them; `overflow` if they
    /// do not fit a wasm32 `size`.
    pub fn sizes(&self) -> Result<(u32, u32), Errno> {
        let count = u32::try_from(self.starts.len()).map_err(|_| Errno::Overflow)?;
        let bytes = u32::try_from(self.data.len()).map_err(|_| Errno::Overflow)?;
        Ok((count, bytes))
    }

    /// Writes the strings into `bytes` (at guest address `bytes.addr`) and
    /// a pointer to each into `pointers`.
    pub fn write<L>(&self, pointers: Pointers<'_, L>, bytes: Bytes<'_, L>) -> Result<(), Errno> {
        bytes.bytes.copy_from_slice(&self.data);
        for (pointer, start) in pointers.pointers.iter_mut().zip(&self.starts) {
            *pointer = bytes.addr.checked_add(*start).ok_or(Errno::Overflow)?;
        }
        Ok(())
    }
}

/// Which list of [`Wasi`] a [`Pointers`] or [`Bytes`] parameter is sized for.
pub trait List {
    /// The list.
    fn of(wasi: &Wasi) -> &Strings;
}

/// The arguments.
#[derive(Debug)]
pub enum Args {}

/// The environment.
#[derive(Debug)]
pub enum Environ {}

impl List for Args {
    fn of(wasi: &Wasi) -> &Strings {
        &wasi.args
    }
}

impl List for Environ {
    fn of(wasi: &Wasi) -> &Strings {
        &wasi.environ
    }
}

/// `ptr` of `args_get`/`environ_get`: room for one `u32` guest pointer per
/// string of list `L`.
#[derive(Debug)]
pub struct Pointers<'a, L> {
    pointers: &'a mut [u32],
    _list: PhantomData<L>,
}

/// `ptr` of `args_get`/`environ_get`: room for the strings of list `L`.
#[derive(Debug)]
pub struct Bytes<'a, L> {
    bytes: &'a mut [u8],
    addr: u32,
    _list: PhantomData<L>,
}

impl<'a, L: List> Lift<'a, Wasi> for Pointers<'a, L> {
    type Abi = u32;
    const MUTABLE: bool = true;
    fn lift(view: &'a GuestView<'_>, wasi: &mut Wasi, ptr: u32) -> Result<Self, GuestError> {
        let count = L::of(wasi).starts.len() as u64;
        Ok(Pointers {
            pointers: view.slice_mut(ptr.into(), count)?,
            _list: PhantomData,
        })
    }
}

impl<'a, L: List> Lift<'a, Wasi> for Bytes<'a, L> {
    type Abi = u32;
    const MUTABLE: bool = true;
    fn lift(view: &'a GuestView<'_>, wasi: &mut Wasi, ptr: u32) -> Result<Self, GuestError> {
        let len = L::of(wasi).data.len() as u64;
        Ok(Bytes {
            bytes: view.bytes_mut(ptr.into(), len)?,
            addr: ptr,
            _list: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_nul_terminated_and_counted() {
        let table = Strings::new(["prog", "", "a b"]);
        assert_eq!(table.sizes(), Ok((3, 10)));
        assert_eq!(table.data, b"prog\0\0a b\0");
        assert_eq!(table.starts, [0, 5, 6]);
        assert_eq!(Strings::new(Vec::<String>::new()).sizes(), Ok((0, 0)));
    }
}
