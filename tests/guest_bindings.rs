//! Guest bindings generated from the host's `#[host_functions]` block: the
//! guest crate in tests/bindings/guest calls every function of the API in
//! tests/bindings/api only through the bindings its build script writes
//! (`funk::bindgen::write_rust`), on every enabled engine. Also: a changed
//! host signature breaks the guest's build, and a guest built against the
//! old one is refused by `Interface::check_bindings` even where the wasm
//! signature still matches.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use funk::describe::Interface;

#[path = "bindings/api/src/lib.rs"]
mod api;

#[path = "support/guest_build.rs"]
mod guest_build;

use api::Kv;
use api::files::Files;

const TARGET: &str = "wasm32-unknown-unknown";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn guest_manifest() -> PathBuf {
    root().join("tests/bindings/guest/Cargo.toml")
}

fn guest_target_dir() -> PathBuf {
    root().join("target/guest-bindings")
}

/// The guest's wasm, built once per test process.
fn guest_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let out = guest_build::build(&guest_manifest(), TARGET, true, &guest_target_dir());
        let wasm = out.join("funk_bindings_test_guest.wasm");
        std::fs::read(&wasm).unwrap_or_else(|e| panic!("cannot read {}: {e}", wasm.display()))
    })
}

/// The README's guest (tests/bindings/readme-guest), built once.
fn readme_guest_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let manifest = root().join("tests/bindings/readme-guest/Cargo.toml");
        let out = guest_build::build(&manifest, TARGET, true, &guest_target_dir());
        let wasm = out.join("funk_bindings_readme_guest.wasm");
        std::fs::read(&wasm).unwrap_or_else(|e| panic!("cannot read {}: {e}", wasm.display()))
    })
}

/// `wasm` as `(module binary "...")` text, which the drivers of
/// tests/common load on either engine.
fn as_wat(wasm: &[u8]) -> String {
    let mut wat = String::from("(module binary \"");
    for byte in wasm {
        write!(wat, "\\{byte:02x}").unwrap();
    }
    wat.push_str("\")");
    wat
}

fn guest_wat() -> &'static str {
    static WAT: OnceLock<String> = OnceLock::new();
    WAT.get_or_init(|| as_wat(guest_wasm()))
}

/// What the guest reports, worked out by hand from tests/bindings/api.
fn expected_notes() -> Vec<String> {
    let stats = |bytes: u32, largest: u8| {
        format!("Stats {{ entries: 1, bytes: {bytes}, largest: {largest} }}")
    };
    [
        "put a: Ok(())".to_owned(),
        "put a again: Err(Exists)".to_owned(),
        "put b: Ok(())".to_owned(),
        "get a: Ok(Ok(\"alpha\"))".to_owned(),
        "get zz: Err(NotFound)".to_owned(),
        "len: 2".to_owned(),
        "stats: (2, Stats { entries: 2, bytes: 11, largest: 6 })".to_owned(),
        // "a;b;" and 300 keys of 8 bytes, each with its ';'.
        "keys: 2704 bytes, 302 keys, starts \"a;b;k0000000\"".to_owned(),
        format!("dump: 5000 bytes, last {}", 4999 % 256),
        "removed: 300 true, again: false".to_owned(),
        "cursor: [\"a\", \"b\"], position 2, finished true".to_owned(),
        "fifth cursor: Some(TooMany)".to_owned(),
        "close: 2".to_owned(),
        "closed: [1, 1, 1]".to_owned(),
        "open_all: empty false, 2 keys".to_owned(),
        "read_into: Ok(6) [98, 114] [97, 118, 111, 33]".to_owned(),
        "put_gathered: Ok(5) then Ok(Ok(\"gamma\"))".to_owned(),
        format!("checksum: {}", 6 + u64::from(u32::MAX)),
        "scale: 2 [Point { x: -3, y: 6 }, Point { x: -9, y: -12 }]".to_owned(),
        "bump: 10.5 counter 21".to_owned(),
        "slice: Ok(Ok(\"rav\"))".to_owned(),
        "classify: ('D', 2, -7)".to_owned(),
        format!("classify: ('a', 144, {})", i64::MIN),
        "must_len: 5".to_owned(),
        "put_later: Ok(5)".to_owned(),
        "put_later again: Err(Exists)".to_owned(),
        "fetch: Ok(5) [100, 101, 108]".to_owned(),
        format!(
            "all_stats: [{}, {}, {}, {}]",
            stats(5, b'a'),
            stats(6, b'b'),
            stats(5, b'g'),
            stats(5, b'd')
        ),
    ]
    .into()
}

each_engine! {
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap()
    }

    /// Runs export `name` in a fresh instance: its result, and the store
    /// afterwards.
    fn run(name: &str) -> (Result<Vec<common::Val>, String>, Kv) {
        runtime().block_on(async {
            let mut guest = AsyncGuest::new(guest_wat(), Kv::default()).await;
            let result = guest.call(name, &[]).await;
            let state = guest.with_state(std::mem::take).await;
            (result, state)
        })
    }

    #[test]
    fn a_guest_built_from_generated_bindings_gets_every_result_right() {
        let engine = AsyncGuest::<Kv>::ENGINE;
        let (result, state) = run("run");
        assert_eq!(result, Ok(vec![]), "{engine}");
        let expected = expected_notes();
        for (i, (got, want)) in state.notes.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "{engine}: note {i}");
        }
        assert_eq!(state.notes.len(), expected.len(), "{engine}: {:#?}", state.notes);
        // The 2704-byte key list did not fit the first 1 KiB buffer: the
        // bindings asked again with the length the host reported.
                assert_eq!(state.keys_calls, 2, "{engine}");
        // `dump` is not repeatable: 5000 bytes fit its one buffer, one call.
        assert_eq!(state.dump_calls, 1, "{engine}");
    }

    /// The README's guest, for examples/files/api.rs.
    #[test]
    fn the_readme_guest_reads_hello() {
        let engine = AsyncGuest::<Files>::ENGINE;
        runtime().block_on(async {
            let mut guest = AsyncGuest::new(&as_wat(readme_guest_wasm()), Files::with_hello()).await;
            let read = guest.call("read_hello", &[]).await;
            assert_eq!(read, Ok(vec![common::Val::I32(20)]), "{engine}");
        });
    }

    #[test]
    fn host_traps_reach_a_guest_of_generated_bindings() {
        let engine = AsyncGuest::<Kv>::ENGINE;
        let cases = [
            ("must_len_missing", "kv::must_len: no key `missing`"),
            ("reversed_span", "kv::slice: argument span: span 4..1 is reversed"),
                        ("forged_cursor", "kv::close: argument cursor: handle 0x7777"),
                    ];
        for (export, message) in cases {
            let (result, _) = run(export);
            let error = result.expect_err(export);
            assert!(error.starts_with(message), "{engine}: {export}: {error}");
        }
        // A result longer than a non-repeatable function's one buffer: the
        // bindings panic (wasm32-unknown-unknown aborts, so the message
        // stays in the guest; the backtrace names the check) after one call.
        let (result, state) = run("dump_too_long");
        let error = result.expect_err("dump_too_long");
        assert!(error.contains("cannot_retry"), "{engine}: {error}");
        assert_eq!(state.dump_calls, 1, "{engine}");
    }
}

#[test]
fn the_guest_declares_exactly_the_imports_the_host_checks() {
    #[cfg(feature = "wasmtime")]
    {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, guest_wasm()).unwrap();
        funk::wasmtime::check_imports::<Kv>(&module).unwrap();
    }
    #[cfg(feature = "wasmer")]
    {
        let store = wasmer::Store::default();
        let module = wasmer::Module::new(&store, guest_wasm()).unwrap();
        funk::wasmer::check_imports::<Kv>(&module).unwrap();
    }
}

/// `checksum(&[u32])` became `checksum(&[i32])`: the same wasm signature, so
/// the guest built against the old host links on both engines, and only the
/// bindings' fingerprint tells.
#[test]
fn a_guest_built_against_an_older_host_is_refused_before_it_runs() {
    let wasm = guest_wasm();
    Interface::of::<Kv>().check_bindings(wasm).unwrap();
    let changed = api::v2::interface();
    let old = Interface::of::<Kv>();
    assert_eq!(
        changed.function("kv", "checksum").unwrap().wasm_params,
        old.function("kv", "checksum").unwrap().wasm_params,
        "the change keeps the wasm signature"
    );
    let errors = changed.check_bindings(wasm).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "kv.checksum: the guest's bindings were generated from \"fn checksum(&self, words: &[u32]) -> u64\", \
         but the host now has `fn checksum(&self, words: &[i32]) -> u64`; regenerate the bindings and rebuild the guest"
    );
    // A guest without generated bindings has nothing to check; bytes that
    // are not wasm are reported, not a panic.
    let plain = wat::parse_str("(module (import \"kv\" \"len\" (func (result i32))))").unwrap();
    Interface::of::<Kv>().check_bindings(&plain).unwrap();
    let garbage = Interface::of::<Kv>()
        .check_bindings(b"\0asm\x01\0\0\0\x0b\xff")
        .unwrap_err();
    assert!(matches!(
        garbage.problems.as_slice(),
        [funk::bindgen::BindingsProblem::Unreadable(_)]
    ));
}

/// Regenerating the guest's bindings from the changed host breaks the
/// guest's build at the call that no longer fits.
#[test]
fn a_changed_host_signature_breaks_the_guests_build() {
    guest_build::ensure_target(TARGET);
    let mut command = guest_build::cargo(&guest_target_dir());
    command
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(guest_manifest())
        .env("FUNK_BINDINGS_API", "v2");
    let output = guest_build::output(&mut command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the guest still built:\n{stderr}");
    assert!(
        stderr.contains("mismatched types")
            && stderr.contains("kv::checksum(&[1, 2, 3, u32::MAX])"),
        "{stderr}"
    );
}

/// The JSON description lists every import with the named wasm
/// signature the host checks, and the C header declares each one; a C
/// compiler (when the machine has one) accepts it.
#[test]
fn the_json_and_the_c_header_describe_every_import() {
    let interface = Interface::of::<Kv>();
    let json: serde_json::Value = serde_json::from_str(&funk::bindgen::json(&interface)).unwrap();
    let functions = json["functions"].as_array().unwrap();
    assert_eq!(functions.len(), interface.functions.len());
    for (entry, function) in functions.iter().zip(&interface.functions) {
        assert_eq!(entry["module"], "kv");
        assert_eq!(entry["name"], function.name);
        assert_eq!(entry["rust"], function.signature);
        assert_eq!(entry["async"], function.asynchronous);
        let params: Vec<(String, String)> = entry["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = function
            .named_params()
            .into_iter()
            .map(|(name, ty)| (name, ty.to_string()))
            .collect();
        assert_eq!(params, expected, "{}", function.name);
    }
    let get = &functions[2];
    assert_eq!(get["docs"], "The value under `key`.");
    assert_eq!(get["error"]["codes"][1]["name"], "Exists");
    assert_eq!(get["error"]["codes"][1]["code"], 2);

    let header = funk::bindgen::c_header(&interface, "KV_H");
    assert!(header.contains(
        "__attribute__((import_module(\"kv\"), import_name(\"get\")))\n\
         int32_t kv_get(int32_t key_ptr, int32_t key_len, int32_t result_ptr, int32_t result_cap, int32_t result_len_out);"
    ), "{header}");
    assert!(header.contains("    KvError_Exists = 2,"), "{header}");
    assert!(header.contains("typedef struct Stats {\n    uint32_t entries;\n    uint32_t bytes;\n    uint64_t largest;\n} Stats;"), "{header}");
    let dir = std::env::temp_dir().join(format!("funk-bindgen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kv.h");
    std::fs::write(&path, &header).unwrap();
    // `import_module` is a clang attribute for wasm targets: a host gcc
    // only warns about it.
    match std::process::Command::new("cc")
        .args([
            "-fsyntax-only",
            "-Wall",
            "-Werror",
            "-Wno-attributes",
            "-Wno-unknown-attributes",
            "-x",
            "c",
        ])
        .arg(&path)
        .output()
    {
        Ok(output) => assert!(
            output.status.success(),
            "cc rejects the header:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => eprintln!("no C compiler to check the header with ({e})"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
