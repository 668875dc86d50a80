//! The guest of README "Guest bindings", for the `files` example's host API
//! (examples/files/api.rs), exactly as the README shows it.

use std::io::IoSliceMut;

mod host {
    include!(concat!(env!("OUT_DIR"), "/files.rs"));
}

use host::{Errno, fs};

/// Reads `/hello` with two buffers; the number of bytes read.
#[unsafe(no_mangle)]
pub extern "C" fn read_hello() -> u32 {
    let fd = fs::open("/hello").expect("/hello exists"); // host::File
    let (mut head, mut tail) = ([0u8; 5], [0u8; 64]);
    let n = fs::read(
        &fd,
        &mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)],
    )
    .unwrap();
    fs::close(fd); // `fd` moves: using it after this does not compile
    assert_eq!(&head, b"hello");
    assert_eq!(fs::open("/missing").err(), Some(Errno::NoEnt));
    n
}
