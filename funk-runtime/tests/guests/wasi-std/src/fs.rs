//! `std::fs` beneath the preopen `/data`: every operation the tests
//! check, and escape attempts that must all fail.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What an operation's result looks like in the output: `ok`, or the WASI
/// errno (std reports it as the raw OS error).
fn show<T>(result: std::io::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(errno) => format!("errno {errno}"),
            None => format!("error {:?}", e.kind()),
        },
    }
}

/// Creates, writes, reads, seeks, truncates, appends, stats, lists,
/// renames, links and removes, printing what it sees.
pub fn everything() {
    fs::create_dir("/data/dir").unwrap();
    fs::create_dir_all("/data/dir/deep/er").unwrap();
    fs::write("/data/dir/a.txt", b"hello world").unwrap();
    println!("read {:?}", fs::read_to_string("/data/dir/a.txt").unwrap());

    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/data/dir/a.txt")
        .unwrap();
    file.seek(SeekFrom::Start(6)).unwrap();
    file.write_all(b"WASI!").unwrap();
    println!("position {}", file.stream_position().unwrap());
    println!("from end {}", file.seek(SeekFrom::End(-5)).unwrap());
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    println!("after seek and write {text:?}");
    file.set_len(5).unwrap();
    println!("set_len {}", file.metadata().unwrap().len());
    file.sync_all().unwrap();
    file.sync_data().unwrap();
    drop(file);

    let mut append = OpenOptions::new().append(true).open("/data/dir/a.txt").unwrap();
    append.write_all(b" there").unwrap();
    drop(append);
    println!("appended {:?}", fs::read_to_string("/data/dir/a.txt").unwrap());

    let new = OpenOptions::new().write(true).create_new(true).open("/data/dir/a.txt");
    println!("create_new over a file: {}", show(new));
    let truncated = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open("/data/dir/a.txt")
        .unwrap();
    println!("truncated {}", truncated.metadata().unwrap().len());
    drop(truncated);
    fs::write("/data/dir/a.txt", b"hello there").unwrap();

    let meta = fs::metadata("/data/dir/a.txt").unwrap();
    println!(
        "metadata file {} dir {} len {} readonly {}",
        meta.is_file(),
        meta.is_dir(),
        meta.len(),
        meta.permissions().readonly()
    );
    let modified = meta.modified().unwrap();
    let age = SystemTime::now().duration_since(modified).unwrap_or_default();
    println!("modified recently {}", age < Duration::from_secs(600));
    let file = OpenOptions::new().write(true).open("/data/dir/a.txt").unwrap();
    file.set_modified(UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        .unwrap();
    drop(file);
    let modified = fs::metadata("/data/dir/a.txt").unwrap().modified().unwrap();
    println!(
        "set_modified {}",
        modified.duration_since(UNIX_EPOCH).unwrap().as_secs()
    );
    println!("dir is_dir {}", fs::metadata("/data/dir").unwrap().is_dir());

    fs::rename("/data/dir/a.txt", "/data/dir/b.txt").unwrap();
    println!(
        "renamed {} {}",
        fs::exists("/data/dir/a.txt").unwrap(),
        fs::exists("/data/dir/b.txt").unwrap()
    );
    fs::hard_link("/data/dir/b.txt", "/data/dir/c.txt").unwrap();
    println!("hard link {:?}", fs::read_to_string("/data/dir/c.txt").unwrap());
    #[allow(deprecated)] // the only stable way to make a symlink on WASI
    fs::soft_link("b.txt", "/data/dir/s.txt").unwrap();
    println!("read_link {:?}", fs::read_link("/data/dir/s.txt").unwrap());
    println!(
        "symlink is_symlink {} through it {:?}",
        fs::symlink_metadata("/data/dir/s.txt").unwrap().is_symlink(),
        fs::read_to_string("/data/dir/s.txt").unwrap()
    );

    let mut names: Vec<String> = fs::read_dir("/data/dir")
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            let kind = match (kind.is_dir(), kind.is_file(), kind.is_symlink()) {
                (true, _, _) => "dir",
                (_, true, _) => "file",
                (_, _, true) => "symlink",
                _ => "other",
            };
            format!("{}:{kind}", entry.file_name().to_string_lossy())
        })
        .collect();
    names.sort();
    println!("read_dir {names:?}");
    // Enough entries to need several `fd_readdir` calls.
    for i in 0..300 {
        fs::write(format!("/data/dir/deep/file-{i:03}-with-a-long-name"), b"").unwrap();
    }
    println!("many entries {}", fs::read_dir("/data/dir/deep").unwrap().count());

    println!("open missing: {}", show(fs::File::open("/data/nope")));
    println!("create_dir existing: {}", show(fs::create_dir("/data/dir")));
    println!("remove_dir non-empty: {}", show(fs::remove_dir("/data/dir")));
    println!("remove_file a dir: {}", show(fs::remove_file("/data/dir/deep")));
    println!("read_dir a file: {}", show(fs::read_dir("/data/dir/b.txt")));

    fs::remove_file("/data/dir/s.txt").unwrap();
    fs::remove_file("/data/dir/c.txt").unwrap();
    fs::remove_dir_all("/data/dir/deep").unwrap();
    let mut left: Vec<String> = fs::read_dir("/data/dir")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    println!("left {left:?}");
    println!("relative to the preopen {:?}", fs::read_to_string("/data/dir/../dir/b.txt").unwrap());
}

/// Tries to reach `/outside` (the preopen's sibling on the host) every way
/// a path can; prints each refusal.
pub fn escapes() {
    let attempts: [(&str, std::io::Result<()>); 11] = [
        ("dotdot read", fs::read("/data/../outside/secret.txt").map(drop)),
        ("dotdot deep", fs::read("/data/sub/../../outside/secret.txt").map(drop)),
        ("absolute", fs::read("/etc/passwd").map(drop)),
        ("symlink out", fs::read("/data/out/secret.txt").map(drop)),
        ("absolute symlink", fs::read("/data/abs/secret.txt").map(drop)),
        ("create through symlink", fs::write("/data/out/new.txt", b"x")),
        ("file symlink", fs::write("/data/secret-link", b"overwritten")),
        ("mkdir dotdot", fs::create_dir("/data/../made")),
        ("rename out", fs::rename("/data/inside.txt", "/data/../outside/stolen.txt")),
        ("link out", fs::hard_link("/data/out/secret.txt", "/data/got.txt")),
        ("unlink out", fs::remove_file("/data/../outside/secret.txt")),
    ];
    for (name, result) in attempts {
        println!("{name}: {}", show(result));
    }
    println!(
        "inside via dotdot: {}",
        show(fs::read("/data/sub/../inside.txt"))
    );
}

/// Writes `/data/big.bin` of `mib` MiB in 64 KiB chunks, reads it back in
/// 64 KiB chunks, and prints the byte sum.
pub fn big_file(mib: usize) {
    const CHUNK: usize = 64 * 1024;
    let chunk: Vec<u8> = (0..CHUNK).map(|i| i as u8).collect();
    let mut file = fs::File::create("/data/big.bin").unwrap();
    for _ in 0..mib * 16 {
        file.write_all(&chunk).unwrap();
    }
    drop(file);
    let mut file = fs::File::open("/data/big.bin").unwrap();
    let mut buf = vec![0; CHUNK];
    let (mut total, mut sum) = (0usize, 0u64);
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
        sum += u64::from(buf[n - 1]);
    }
    println!("read {total} bytes, sum {sum}");
}
