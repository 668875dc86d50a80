//! `funk_runtime::wasi` on both engines, with nothing else linked: a Rust
//! `std` program (tests/guests/wasi-std, built here for `wasm32-wasip1`)
//! checked line by line, and WAT guests calling the functions with hostile
//! pointers, counts and descriptors, pinned to exact trap texts and errnos.
//!
//! Each case runs on Wasmtime (async store, `call_async`) and on Wasmer
//! (`funk::wasmer::GuestThread`) through the small harness below.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use funk_runtime::wasi::{Captured, Exit, HostSocket, Input, Output, PreopenDir, Wasi, WasiSetup};

/// A wasm argument or result.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Val {
    I32(i32),
    I64(i64),
}
use Val::{I32, I64};

/// How a guest call ended: its results, `exit N` for `proc_exit`, or the
/// trap message.
type Outcome = Result<Vec<i64>, String>;

#[derive(Clone, Copy, Debug)]
enum Engine {
    Wasmtime,
    Wasmer,
}

const ENGINES: [Engine; 2] = [Engine::Wasmtime, Engine::Wasmer];

/// funk's trap message, or `exit N` when the trap is a `proc_exit`.
fn describe(error: &(dyn std::error::Error + 'static), fallback: String) -> String {
    if let Some(Exit(code)) = Exit::find(error) {
        return format!("exit {code}");
    }
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(trap) = error.downcast_ref::<funk::Trap>() {
            return trap.to_string();
        }
        next = error.source();
    }
    fallback
}

mod wasmtime_driver {
    use super::*;
    use funk::wasmtime::{Host, bind_memory, link};
    use wasmtime::{Linker, Module, Store, Val as WVal};

    pub(super) fn engine() -> &'static wasmtime::Engine {
        static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
        ENGINE.get_or_init(wasmtime::Engine::default)
    }

    /// Compiles each guest once per test process (debug-built Cranelift
    /// takes seconds for the std guest).
    pub(super) fn module(wasm: &[u8]) -> Module {
        static MODULES: Mutex<Vec<(Vec<u8>, Module)>> = Mutex::new(Vec::new());
        let mut modules = MODULES.lock().unwrap();
        if let Some((_, module)) = modules.iter().find(|(bytes, _)| bytes == wasm) {
            return module.clone();
        }
        let module = Module::new(engine(), wasm).unwrap();
        modules.push((wasm.to_vec(), module.clone()));
        module
    }

    pub async fn run(wasm: &[u8], setup: WasiSetup, calls: &[(&str, Vec<Val>)]) -> Vec<Outcome> {
        let module = module(wasm);
        let mut linker = Linker::new(engine());
        link(&mut linker, |host: &mut Host<Wasi>| &mut host.state).unwrap();
        let mut store = Store::new(engine(), Host::new(Wasi::new(setup)));
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        bind_memory(&mut store, &instance).unwrap();
        let mut outcomes = Vec::new();
        for (name, args) in calls {
            let func = instance.get_func(&mut store, name).unwrap();
            let params: Vec<WVal> = args
                .iter()
                .map(|v| match *v {
                    I32(v) => WVal::I32(v),
                    I64(v) => WVal::I64(v),
                })
                .collect();
            let mut results = vec![WVal::I32(0); func.ty(&store).results().len()];
            let outcome = match func.call_async(&mut store, &params, &mut results).await {
                Ok(()) => Ok(results
                    .iter()
                    .map(|v| v.i64().unwrap_or_else(|| v.unwrap_i32().into()))
                    .collect()),
                Err(error) => Err(describe(error.as_ref(), format!("{error:#}"))),
            };
            outcomes.push(outcome);
        }
        outcomes
    }
}

mod wasmer_driver {
    use super::*;
    use funk::wasmer::{GuestThread, Host, bind_memory, link};
    use wasmer::{FunctionEnv, Imports, Instance, Module, Store, Value};

    struct Guest {
        store: Store,
        instance: Instance,
    }

    /// Compiles each guest once per test process, on one engine.
    fn module(wasm: &[u8]) -> (wasmer::Engine, Module) {
        static ENGINE: OnceLock<wasmer::Engine> = OnceLock::new();
        static MODULES: Mutex<Vec<(Vec<u8>, Module)>> = Mutex::new(Vec::new());
        let engine = ENGINE.get_or_init(wasmer::Engine::default).clone();
        let mut modules = MODULES.lock().unwrap();
        if let Some((_, module)) = modules.iter().find(|(bytes, _)| bytes == wasm) {
            return (engine, module.clone());
        }
        let module = Module::new(&engine, wasm).unwrap();
        modules.push((wasm.to_vec(), module.clone()));
        (engine, module)
    }

    pub async fn run(wasm: &[u8], setup: WasiSetup, calls: &[(&str, Vec<Val>)]) -> Vec<Outcome> {
        let (engine, module) = module(wasm);
        let guest = GuestThread::spawn(move || {
            let mut store = Store::new(engine);
            let env = FunctionEnv::new(&mut store, Host::new(Wasi::new(setup)));
            let mut imports = Imports::new();
            link(&mut store, &env, &mut imports, |host: &mut Host<Wasi>| {
                &mut host.state
            })
            .map_err(|e| e.to_string())?;
            let instance =
                Instance::new(&mut store, &module, &imports).map_err(|e| e.to_string())?;
            bind_memory(&mut store, &env, &instance).map_err(|e| e.to_string())?;
            Ok::<_, String>(Guest { store, instance })
        })
        .await
        .unwrap();
        let mut outcomes = Vec::new();
        for (name, args) in calls {
            let (name, args) = (name.to_string(), args.clone());
            let outcome = guest
                .call(move |g: &mut Guest| {
                    let func = g.instance.exports.get_function(&name).unwrap().clone();
                    let params: Vec<Value> = args
                        .iter()
                        .map(|v| match *v {
                            I32(v) => Value::I32(v),
                            I64(v) => Value::I64(v),
                        })
                        .collect();
                    match func.call(&mut g.store, &params) {
                        Ok(results) => Ok(results
                            .iter()
                            .map(|v| match v {
                                Value::I32(v) => i64::from(*v),
                                Value::I64(v) => *v,
                                other => panic!("unexpected result {other:?}"),
                            })
                            .collect()),
                        Err(error) => Err(describe(&error, error.to_string())),
                    }
                })
                .await;
            outcomes.push(outcome);
        }
        outcomes
    }
}

/// Instantiates `wasm` with a fresh `Wasi` on `engine` and makes `calls`.
async fn run(
    engine: Engine,
    wasm: &[u8],
    setup: WasiSetup,
    calls: &[(&str, Vec<Val>)],
) -> Vec<Outcome> {
    match engine {
        Engine::Wasmtime => wasmtime_driver::run(wasm, setup, calls).await,
        Engine::Wasmer => wasmer_driver::run(wasm, setup, calls).await,
    }
}

// ---------------------------------------------------------------------------
// The Rust `std` guest.

const TARGET: &str = "wasm32-wasip1";

/// Builds tests/guests/wasi-std into target/wasi-guest (a target directory
/// of its own: the outer cargo holds the workspace's lock), once.
fn std_guest() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = crate_dir.join("tests/guests/wasi-std/Cargo.toml");
        let target_dir = crate_dir.join("../target/wasi-guest");
        let wasm =
            support::build(&manifest, TARGET, true, &target_dir).join("funk-wasi-std-guest.wasm");
        std::fs::read(&wasm).unwrap_or_else(|e| panic!("cannot read {}: {e}", wasm.display()))
    })
}

/// Runs the std guest's `_start` with `args` (after the program name),
/// `stdin` and captured stdout and stderr.
async fn run_std(engine: Engine, args: &[&str], stdin: Input) -> (Outcome, Captured, Captured) {
    run_std_with_sockets(engine, args, stdin, Vec::new()).await
}

/// [`run_std`], with `sockets` as the descriptors from 3.
async fn run_std_with_sockets(
    engine: Engine,
    args: &[&str],
    stdin: Input,
    sockets: Vec<HostSocket>,
) -> (Outcome, Captured, Captured) {
    let (stdout, out) = Output::capture();
    let (stderr, err) = Output::capture();
    let setup = WasiSetup {
        args: std::iter::once("guest.wasm")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect(),
        env: vec![
            ("FUNK_TEST".into(), "yes".into()),
            ("EMPTY".into(), String::new()),
        ],
        stdin,
        stdout,
        stderr,
        sockets,
        ..WasiSetup::default()
    };
    let outcome = run(engine, std_guest(), setup, &[("_start", vec![])]).await;
    (outcome.into_iter().next().unwrap(), out, err)
}

/// Checks everything the default scenario printed.
fn check_everything(engine: Engine, stdout: &str, stdin: &str, code: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    let expected_args = format!("args [\"guest.wasm\", \"all\", \"{code}\"]");
    assert_eq!(lines[0], expected_args, "{engine:?}");
    assert_eq!(
        lines[1], r#"env [("EMPTY", ""), ("FUNK_TEST", "yes")]"#,
        "{engine:?}"
    );
    assert_eq!(lines[2], format!("stdin {stdin:?}"), "{engine:?}");
    // A capture is not a terminal (as on wasmtime-wasi).
    assert_eq!(lines[3], "stdout is a terminal: false", "{engine:?}");
    assert_eq!(lines[4], "monotonic never goes back: true", "{engine:?}");
    assert_eq!(lines[5], "slept at least 30 ms: true", "{engine:?}");
    let realtime: u64 = lines[6].strip_prefix("realtime ").unwrap().parse().unwrap();
    let host = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        host.abs_diff(realtime) < 60,
        "{engine:?}: {realtime} vs {host}"
    );
    let random: Vec<&str> = lines[7..9]
        .iter()
        .map(|l| l.strip_prefix("random ").unwrap())
        .collect();
    assert!(
        random.iter().all(|r| r.len() == 32),
        "{engine:?}: {random:?}"
    );
    assert_ne!(random[0], random[1], "{engine:?}");
    assert_eq!(lines[9], "exiting", "{engine:?}");
    assert_eq!(lines.len(), 10, "{engine:?}: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_std_program_sees_args_env_stdin_clocks_random_and_exits_with_its_code() {
    for engine in ENGINES {
        let stdin = Input::bytes(b"line one\nline two\n".to_vec());
        let started = Instant::now();
        let (outcome, out, err) = run_std(engine, &["all", "7"], stdin).await;
        assert_eq!(
            outcome,
            Err("exit 7".to_owned()),
            "{engine:?}: {}",
            err.text()
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
        check_everything(engine, &out.text(), "line one\nline two\n", "7");
        assert_eq!(err.text(), "to stderr\n", "{engine:?}");
    }
}

/// The default scenario's output with what differs by nature (the wall
/// clock's reading, the random bytes) replaced by its shape.
fn normalised(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| match line.split_once(' ') {
            Some(("realtime", secs)) if secs.parse::<u64>().is_ok() => "realtime <secs>".into(),
            Some(("random", hex)) if hex.len() == 32 => "random <16 bytes>".into(),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The args, env, stdin, terminal, clocks, random and exit scenario prints
/// the same on both engines as on `wasmtime-wasi`, up to the clock reading
/// and the random bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn args_env_stdin_clocks_and_exit_match_wasmtime_wasi() {
    let stdin = b"line one\nline two\n";
    let env = [("FUNK_TEST", "yes"), ("EMPTY", "")];
    let args = ["guest.wasm", "all", "7"];
    let (reference_outcome, reference_out, reference_err) =
        reference::run_with(std_guest(), &args, &env, stdin, None).await;
    assert_eq!(reference_outcome, Err("exit 7".to_owned()));
    for engine in ENGINES {
        let (outcome, out, err) = run_std(engine, &args[1..], Input::bytes(stdin.to_vec())).await;
        assert_eq!(outcome, reference_outcome, "{engine:?}");
        assert_eq!(
            normalised(&out.text()),
            normalised(&reference_out),
            "{engine:?}"
        );
        assert_eq!(err.text(), reference_err, "{engine:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_from_a_blocking_reader_and_exit_code_zero() {
    for engine in ENGINES {
        let (reader, mut writer) = std::io::pipe().unwrap();
        // The guest's read waits on the reader thread while the writer
        // takes its time: no executor thread is blocked meanwhile.
        let writing = std::thread::spawn(move || {
            use std::io::Write;
            std::thread::sleep(Duration::from_millis(20));
            writer.write_all(b"piped ").unwrap();
            std::thread::sleep(Duration::from_millis(20));
            writer.write_all(b"input").unwrap();
        });
        let (outcome, out, _) = run_std(engine, &["all", "0"], Input::reader(reader)).await;
        writing.join().unwrap();
        assert_eq!(outcome, Err("exit 0".to_owned()), "{engine:?}");
        check_everything(engine, &out.text(), "piped input", "0");
    }
}

/// A listening TCP socket the host passes in (preview 1 cannot create
/// one): the guest accepts a connection on it (`sock_accept`), peeks at
/// the request and reads it to its end in small pieces (`sock_recv`,
/// waiting for readiness without holding a thread), sends the answer
/// (`sock_send`) and shuts the connection down (`sock_shutdown`); the
/// client, a host thread, sees the answer and the end of the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_serves_a_tcp_connection_on_a_socket_the_host_passed_in() {
    for engine in ENGINES {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(b"hello from the host").unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        });
        let sockets = vec![HostSocket::TcpListener(listener)];
        let (outcome, out, err) =
            run_std_with_sockets(engine, &["sock-echo"], Input::empty(), sockets).await;
        assert_eq!(outcome, Ok(vec![]), "{engine:?}: {}", err.text());
        assert_eq!(
            out.text(),
            "peeked 5 bytes, echoed 19 bytes\n",
            "{engine:?}"
        );
        assert_eq!(client.join().unwrap(), "HELLO FROM THE HOST", "{engine:?}");
    }
}

#[tokio::test]
async fn returning_from_main_is_a_clean_exit_and_a_panic_is_a_trap() {
    for engine in ENGINES {
        let (outcome, out, _) = run_std(engine, &["return"], Input::empty()).await;
        assert_eq!(outcome, Ok(vec![]), "{engine:?}");
        assert_eq!(out.text(), "returning from main\n");

        let (outcome, out, err) = run_std(engine, &["panic"], Input::empty()).await;
        let trap = outcome.unwrap_err();
        assert!(!trap.starts_with("exit"), "{engine:?}: {trap}");
        assert_eq!(out.text(), "");
        assert!(
            err.text().contains("the guest panics"),
            "{engine:?}: {}",
            err.text()
        );
    }
}

#[tokio::test]
async fn one_capture_collects_stdout_and_stderr_in_order() {
    for engine in ENGINES {
        let (output, captured) = Output::capture();
        let setup = WasiSetup {
            args: vec!["guest.wasm".into(), "all".into(), "1".into()],
            stdout: output.clone(),
            stderr: output,
            ..WasiSetup::default()
        };
        let outcome = run(engine, std_guest(), setup, &[("_start", vec![])]).await;
        assert_eq!(outcome, [Err("exit 1".to_owned())]);
        let text = captured.text();
        assert!(text.starts_with("args "), "{text}");
        let env_line = text.find("env []").unwrap();
        let stderr_line = text.find("to stderr\n").unwrap();
        assert!(env_line < stderr_line && stderr_line < text.find("stdin \"\"").unwrap());
    }
}

// ---------------------------------------------------------------------------
// The file system: std::fs beneath a preopen, escape attempts, and the same
// program on wasmtime-wasi as the reference.

/// `wasmtime-wasi`'s preview 1 on Wasmtime: the reference the file-system
/// scenarios are compared with.
mod reference {
    use super::*;
    use wasmtime_wasi::p1::{self, WasiP1Ctx};
    use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
    use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

    /// Runs `_start` of `wasm` with `args`, and `data` preopened as `/data`;
    /// returns how it ended, stdout and stderr.
    pub async fn run(wasm: &[u8], args: &[&str], data: &Path) -> (Outcome, String, String) {
        run_with(wasm, args, &[], b"", Some(data)).await
    }

    /// [`run`] with an environment, stdin and maybe no preopen.
    pub async fn run_with(
        wasm: &[u8],
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &[u8],
        data: Option<&Path>,
    ) -> (Outcome, String, String) {
        let engine = wasmtime_driver::engine();
        let module = wasmtime_driver::module(wasm);
        let mut linker = wasmtime::Linker::<WasiP1Ctx>::new(engine);
        p1::add_to_linker_async(&mut linker, |ctx| ctx).unwrap();
        let (stdout, stderr) = (
            MemoryOutputPipe::new(1 << 20),
            MemoryOutputPipe::new(1 << 20),
        );
        let mut builder = WasiCtxBuilder::new();
        builder
            .args(args)
            .envs(env)
            .stdin(MemoryInputPipe::new(stdin.to_vec()))
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        if let Some(data) = data {
            builder
                .preopened_dir(data, "/data", FsPerms::ReadWrite)
                .unwrap();
        }
        let mut store = wasmtime::Store::new(engine, builder.build_p1());
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .unwrap();
        let outcome = match start.call_async(&mut store, ()).await {
            Ok(()) => Ok(vec![]),
            Err(error) => match error.downcast_ref::<I32Exit>() {
                Some(I32Exit(code)) => Err(format!("exit {code}")),
                None => Err(format!("{error:#}")),
            },
        };
        let text = |pipe: &MemoryOutputPipe| String::from_utf8_lossy(&pipe.contents()).into_owned();
        (outcome, text(&stdout), text(&stderr))
    }
}

/// A scratch tree on the host: `data/` (the preopen, with `inside.txt`,
/// `sub/`, and symlinks `out` -> `../outside`, `abs` -> the absolute path
/// of `outside`, `secret-link` -> `../outside/secret.txt`) beside
/// `outside/` (with `secret.txt`), which the guest must never reach.
struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("funk-wasi-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (data, outside) = (root.join("data"), root.join("outside"));
        std::fs::create_dir_all(data.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), "secret").unwrap();
        std::fs::write(data.join("inside.txt"), "inside").unwrap();
        std::os::unix::fs::symlink("../outside", data.join("out")).unwrap();
        std::os::unix::fs::symlink(&outside, data.join("abs")).unwrap();
        std::os::unix::fs::symlink("../outside/secret.txt", data.join("secret-link")).unwrap();
        Sandbox { root }
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Every path under the root with its contents (files) or target
    /// (symlinks), sorted: what the guest may have changed.
    fn tree(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.strip_prefix(root).unwrap().display().to_string();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    let target = target
                        .strip_prefix(root)
                        .unwrap_or(&target)
                        .display()
                        .to_string();
                    out.push(format!("{name} -> {target}"));
                } else if meta.is_dir() {
                    out.push(format!("{name}/"));
                    walk(&path, root, out);
                } else {
                    out.push(format!(
                        "{name} = {}",
                        String::from_utf8_lossy(&std::fs::read(&path).unwrap())
                    ));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The tree of a fresh sandbox.
fn fresh_tree() -> Vec<String> {
    [
        "data/",
        "data/abs -> outside",
        "data/inside.txt = inside",
        "data/out -> ../outside",
        "data/secret-link -> ../outside/secret.txt",
        "data/sub/",
        "outside/",
        "outside/secret.txt = secret",
    ]
    .map(String::from)
    .to_vec()
}

/// Runs the std guest's `scenario` with the sandbox's `data` preopened as
/// `/data` on `engine`; returns how it ended, stdout and stderr.
async fn run_fs(engine: Engine, scenario: &str, sandbox: &Sandbox) -> (Outcome, String, String) {
    let (stdout, out) = Output::capture();
    let (stderr, err) = Output::capture();
    let setup = WasiSetup {
        args: vec!["guest.wasm".into(), scenario.into()],
        stdout,
        stderr,
        preopens: vec![PreopenDir::open(sandbox.data(), "/data").unwrap()],
        ..WasiSetup::default()
    };
    let outcome = run(engine, std_guest(), setup, &[("_start", vec![])]).await;
    (outcome.into_iter().next().unwrap(), out.text(), err.text())
}

/// What the `fs` scenario prints, line by line.
const FS_OUTPUT: &[&str] = &[
    r#"read "hello world""#,
    "position 11",
    "from end 6",
    r#"after seek and write "hello WASI!""#,
    "set_len 5",
    r#"appended "hello there""#,
    "create_new over a file: errno 20",
    "truncated 0",
    "metadata file true dir false len 11 readonly true",
    "modified recently true",
    "set_modified 1000000000",
    "dir is_dir true",
    "renamed false true",
    r#"hard link "hello there""#,
    r#"read_link "b.txt""#,
    r#"symlink is_symlink true through it "hello there""#,
    r#"read_dir ["b.txt:file", "c.txt:file", "deep:dir", "s.txt:symlink"]"#,
    "many entries 301",
    "open missing: errno 44",
    "create_dir existing: errno 20",
    "remove_dir non-empty: errno 55",
    "remove_file a dir: errno 31",
    "read_dir a file: errno 54",
    r#"left ["b.txt"]"#,
    r#"relative to the preopen "hello there""#,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn std_fs_works_beneath_a_preopen_like_wasmtime_wasi() {
    let sandbox = Sandbox::new("reference-fs");
    let (outcome, reference, stderr) =
        reference::run(std_guest(), &["guest.wasm", "fs"], &sandbox.data()).await;
    assert_eq!(outcome, Ok(vec![]), "wasmtime-wasi: {stderr}");
    for engine in ENGINES {
        let sandbox = Sandbox::new("fs");
        let (outcome, stdout, stderr) = run_fs(engine, "fs", &sandbox).await;
        assert_eq!(outcome, Ok(vec![]), "{engine:?}: {stdout}{stderr}");
        assert_eq!(stdout.lines().collect::<Vec<_>>(), FS_OUTPUT, "{engine:?}");
        assert_eq!(stdout, reference, "{engine:?} against wasmtime-wasi");
        // The host sees what the guest left, with the time it set.
        let mut tree = fresh_tree();
        tree.extend(["data/dir/".into(), "data/dir/b.txt = hello there".into()]);
        tree.sort();
        assert_eq!(sandbox.tree(), tree, "{engine:?}");
        let modified = std::fs::metadata(sandbox.data().join("dir/b.txt"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(modified, UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    }
}

#[test]
fn funk_run_dir_gives_the_guest_a_host_directory_on_both_engines() {
    for engine in support::ENGINES {
        let sandbox = Sandbox::new("cli");
        let wasm = std::env::temp_dir().join(format!("funk-wasi-cli-{}.wasm", std::process::id()));
        std::fs::write(&wasm, std_guest()).unwrap();
        let dir = format!("{}::/data", sandbox.data().display());
        let output = std::process::Command::new(support::funk())
            .args(["run", "--engine", engine, "--dir", dir.as_str()])
            .arg(&wasm)
            .arg("fs")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{engine}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(stdout.lines().collect::<Vec<_>>(), FS_OUTPUT, "{engine}");
        assert!(sandbox.data().join("dir/b.txt").exists(), "{engine}");
        let _ = std::fs::remove_file(&wasm);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_file_read_that_blocks_does_not_stall_the_executor() {
    for engine in ENGINES {
        let sandbox = Sandbox::new("fifo");
        let fifo = sandbox.data().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        // The writer is a task on this single-threaded executor: it runs
        // only if the guest's open and read of the FIFO, which wait for a
        // writer, leave the executor free. (Should they not, a watchdog
        // thread writes instead after 10 s, and the output says so.)
        let path = fifo.clone();
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            // Read and write, as below: the open never waits, so neither
            // writer can hang the test.
            let mut fifo = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .unwrap();
            std::io::Write::write_all(&mut fifo, b"from the executor").unwrap();
        });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(10));
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&fifo)
                .and_then(|mut f| std::io::Write::write_all(&mut f, b"from the watchdog"));
        });
        let (outcome, stdout, stderr) = run_fs(engine, "fifo", &sandbox).await;
        writer.await.unwrap();
        assert_eq!(outcome, Ok(vec![]), "{engine:?}: {stderr}");
        assert_eq!(stdout, "fifo \"from the executor\"\n", "{engine:?}");
    }
}

/// What the `escape` scenario prints: every attempt refused, with `perm`
/// where the host resolved the path (cap-std's escape error, as in
/// wasmtime-wasi), and `noent` for an absolute path no preopen matches
/// (wasi-libc refuses it in the guest).
const ESCAPE_OUTPUT: &[&str] = &[
    "dotdot read: errno 63",
    "dotdot deep: errno 63",
    "absolute: errno 44",
    "symlink out: errno 63",
    "absolute symlink: errno 63",
    "create through symlink: errno 63",
    "file symlink: errno 63",
    "mkdir dotdot: errno 63",
    "rename out: errno 63",
    "link out: errno 63",
    "unlink out: errno 63",
    "inside via dotdot: ok",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escapes_from_the_preopen_are_refused_and_touch_nothing_outside() {
    let sandbox = Sandbox::new("reference-escape");
    let (outcome, reference, stderr) =
        reference::run(std_guest(), &["guest.wasm", "escape"], &sandbox.data()).await;
    assert_eq!(outcome, Ok(vec![]), "wasmtime-wasi: {stderr}");
    for engine in ENGINES {
        let sandbox = Sandbox::new("escape");
        let (outcome, stdout, stderr) = run_fs(engine, "escape", &sandbox).await;
        assert_eq!(outcome, Ok(vec![]), "{engine:?}: {stdout}{stderr}");
        assert_eq!(
            stdout.lines().collect::<Vec<_>>(),
            ESCAPE_OUTPUT,
            "{engine:?}"
        );
        assert_eq!(stdout, reference, "{engine:?} against wasmtime-wasi");
        assert_eq!(sandbox.tree(), fresh_tree(), "{engine:?}");
    }
}

// ---------------------------------------------------------------------------
// WAT guests: hostile arguments, errnos, and poll_oneoff.

/// The imports the WAT cases call, with their wasm signatures (a mismatch
/// with funk's lowering fails instantiation, which pins the ABI).
const IMPORTS: &[(&str, &str, &str)] = &[
    ("args_get", "i32 i32", "i32"),
    ("args_sizes_get", "i32 i32", "i32"),
    ("environ_get", "i32 i32", "i32"),
    ("environ_sizes_get", "i32 i32", "i32"),
    ("clock_res_get", "i32 i32", "i32"),
    ("clock_time_get", "i32 i64 i32", "i32"),
    ("fd_advise", "i32 i64 i64 i32", "i32"),
    ("fd_allocate", "i32 i64 i64", "i32"),
    ("fd_close", "i32", "i32"),
    ("fd_datasync", "i32", "i32"),
    ("fd_fdstat_get", "i32 i32", "i32"),
    ("fd_fdstat_set_flags", "i32 i32", "i32"),
    ("fd_fdstat_set_rights", "i32 i64 i64", "i32"),
    ("fd_filestat_get", "i32 i32", "i32"),
    ("fd_filestat_set_size", "i32 i64", "i32"),
    ("fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
    ("fd_pread", "i32 i32 i32 i64 i32", "i32"),
    ("fd_prestat_get", "i32 i32", "i32"),
    ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32", "i32"),
    ("fd_read", "i32 i32 i32 i32", "i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32", "i32"),
    ("fd_renumber", "i32 i32", "i32"),
    ("fd_seek", "i32 i64 i32 i32", "i32"),
    ("fd_sync", "i32", "i32"),
    ("fd_tell", "i32 i32", "i32"),
    ("fd_write", "i32 i32 i32 i32", "i32"),
    ("path_create_directory", "i32 i32 i32", "i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32", "i32"),
    (
        "path_filestat_set_times",
        "i32 i32 i32 i32 i64 i64 i32",
        "i32",
    ),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32", "i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_remove_directory", "i32 i32 i32", "i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_symlink", "i32 i32 i32 i32 i32", "i32"),
    ("path_unlink_file", "i32 i32 i32", "i32"),
    ("poll_oneoff", "i32 i32 i32 i32", "i32"),
    ("proc_exit", "i32", ""),
    ("proc_raise", "i32", "i32"),
    ("sched_yield", "", "i32"),
    ("random_get", "i32 i32", "i32"),
    ("sock_accept", "i32 i32 i32", "i32"),
    ("sock_recv", "i32 i32 i32 i32 i32 i32", "i32"),
    ("sock_send", "i32 i32 i32 i32 i32", "i32"),
    ("sock_shutdown", "i32 i32", "i32"),
];

/// One page of memory with: "hello" at 0x100, invalid UTF-8 at 0x180, a
/// valid iovec at 0x200, an out-of-bounds one at 0x208, two overlapping
/// mutable ones at 0x210. Every preview 1 function is imported and
/// re-exported under its own name, plus `load32`/`load64`/`store64`.
fn hostile_wat() -> String {
    let mut wat = String::from("(module\n");
    let list = |kind: &str, types: &str| match types {
        "" => String::new(),
        types => format!("({kind} {types})"),
    };
    for (name, params, results) in IMPORTS {
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} {} {}))\n",
            list("param", params),
            list("result", results)
        );
    }
    wat += r#"  (memory (export "memory") 1)
  (data (i32.const 0x100) "hello")
  (data (i32.const 0x180) "\ff\fe")
  (data (i32.const 0x200) "\00\01\00\00\05\00\00\00\f0\ff\00\00\20\00\00\00")
  (data (i32.const 0x210) "\00\04\00\00\08\00\00\00\04\04\00\00\08\00\00\00")
  (func (export "load32") (param i32) (result i64) (i64.load32_u (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
"#;
    for (name, params, results) in IMPORTS {
        let count = params.split_whitespace().count();
        let gets: String = (0..count).map(|p| format!("(local.get {p})")).collect();
        wat += &format!(
            "  (func (export \"{name}\") {} {} (call ${name} {gets}))\n",
            list("param", params),
            list("result", results)
        );
    }
    wat + ")"
}

#[test]
fn every_preview1_function_is_linked_and_the_ones_that_may_wait_are_async() {
    use funk::HostApi;
    let mut linked: Vec<&str> = Wasi::FUNCTIONS.iter().map(|f| f.name).collect();
    let mut witx: Vec<&str> = IMPORTS.iter().map(|(name, _, _)| *name).collect();
    linked.sort_unstable();
    witx.sort_unstable();
    assert_eq!(linked, witx);
    assert_eq!(linked.len(), 46);
    assert!(Wasi::FUNCTIONS.iter().all(|f| f.namespace == F));
    let asynchronous: Vec<&str> = Wasi::FUNCTIONS
        .iter()
        .filter(|f| f.asynchronous)
        .map(|f| f.name)
        .collect();
    // Everything that may wait: file-system calls (off the executor),
    // stdin, sockets, clocks.
    assert_eq!(
        asynchronous,
        [
            "fd_advise",
            "fd_allocate",
            "fd_datasync",
            "fd_filestat_get",
            "fd_filestat_set_size",
            "fd_filestat_set_times",
            "fd_pread",
            "fd_pwrite",
            "fd_read",
            "fd_readdir",
            "fd_sync",
            "fd_write",
            "path_create_directory",
            "path_filestat_get",
            "path_filestat_set_times",
            "path_link",
            "path_open",
            "path_readlink",
            "path_remove_directory",
            "path_rename",
            "path_symlink",
            "path_unlink_file",
            "poll_oneoff",
            "sched_yield",
            "sock_accept",
            "sock_recv",
            "sock_send",
        ]
    );
}

fn hostile_wasm() -> &'static [u8] {
    static WAT: OnceLock<String> = OnceLock::new();
    WAT.get_or_init(hostile_wat).as_bytes()
}

const F: &str = "wasi_snapshot_preview1";

fn errno(code: i64) -> Outcome {
    Ok(vec![code])
}

fn trap(function: &str, rest: &str) -> Outcome {
    Err(format!("{F}::{function}: argument {rest}"))
}

/// Runs `cases` in order on one instance per engine, with arguments
/// `["a", "bc"]`, and checks each outcome; returns what went to stdout and
/// stderr on each engine.
async fn check_cases(cases: &[(&str, Vec<Val>, Outcome)]) -> Vec<(String, String)> {
    check_cases_in(None, cases).await
}

/// As [`check_cases`], with `data` (if any) preopened as `/data` (fd 3).
async fn check_cases_in(
    data: Option<&Path>,
    cases: &[(&str, Vec<Val>, Outcome)],
) -> Vec<(String, String)> {
    let calls: Vec<(&str, Vec<Val>)> = cases.iter().map(|(n, a, _)| (*n, a.clone())).collect();
    let mut streams = Vec::new();
    for engine in ENGINES {
        let (stdout, out) = Output::capture();
        let (stderr, err) = Output::capture();
        let setup = WasiSetup {
            args: vec!["a".into(), "bc".into()],
            env: vec![("K".into(), "V".into())],
            stdout,
            stderr,
            preopens: data
                .map(|data| PreopenDir::open(data, "/data").unwrap())
                .into_iter()
                .collect(),
            ..WasiSetup::default()
        };
        let outcomes = run(engine, hostile_wasm(), setup, &calls).await;
        for ((name, args, expected), got) in cases.iter().zip(outcomes) {
            assert_eq!(&got, expected, "{engine:?}: {name} {args:?}");
        }
        streams.push((out.text(), err.text()));
    }
    streams
}

#[tokio::test]
async fn hostile_pointers_and_counts_trap_naming_the_function_and_argument() {
    let oob = "outside memory of 0x10000 bytes";
    let mutable = "already borrowed by this call (a mutable view may not alias)";
    let cases = [
        (
            "fd_write",
            vec![I32(1), I32(0xfff8), I32(2), I32(0x300)],
            trap("fd_write", &format!("iovs: range 0xfff8..0x10008 {oob}")),
        ),
        (
            "fd_write",
            vec![I32(1), I32(0x208), I32(1), I32(0x300)],
            trap(
                "fd_write",
                &format!("iovs: iovec 0: range 0xfff0..0x10010 {oob}"),
            ),
        ),
        (
            "fd_write",
            vec![I32(1), I32(0x200), I32(1025), I32(0x300)],
            trap(
                "fd_write",
                "iovs: iovec count 1025 exceeds the limit of 1024",
            ),
        ),
        // The out-pointer is checked after the write (funk lowers results
        // after the method): "hello" reached stdout.
        (
            "fd_write",
            vec![I32(1), I32(0x200), I32(1), I32(0x301)],
            trap(
                "fd_write",
                "result out-pointer: pointer 0x301 is not aligned to 4 bytes",
            ),
        ),
        (
            "fd_read",
            vec![I32(0), I32(0x210), I32(2), I32(0x300)],
            trap(
                "fd_read",
                &format!(
                    "iovs: iovec 1: region 0x404..0x40c overlaps region 0x400..0x408 {mutable}"
                ),
            ),
        ),
        (
            "fd_read",
            vec![I32(0), I32(0), I32(-1), I32(0x300)],
            trap(
                "fd_read",
                "iovs: iovec count 4294967295 exceeds the limit of 1024",
            ),
        ),
        (
            "fd_read",
            vec![I32(0), I32(0x200), I32(1), I32(0x10000)],
            trap(
                "fd_read",
                &format!("result out-pointer: range 0x10000..0x10004 {oob}"),
            ),
        ),
        (
            "args_get",
            vec![I32(0xfffc), I32(0x600)],
            trap("args_get", &format!("argv: range 0xfffc..0x10004 {oob}")),
        ),
        (
            "args_get",
            vec![I32(0x501), I32(0x600)],
            trap("args_get", "argv: pointer 0x501 is not aligned to 4 bytes"),
        ),
        (
            "args_get",
            vec![I32(0x500), I32(0xfffe)],
            trap(
                "args_get",
                &format!("argv_buf: range 0xfffe..0x10003 {oob}"),
            ),
        ),
        (
            "args_get",
            vec![I32(0x500), I32(0x504)],
            trap(
                "args_get",
                &format!("argv_buf: region 0x504..0x509 overlaps region 0x500..0x508 {mutable}"),
            ),
        ),
        (
            "environ_get",
            vec![I32(0x500), I32(-1)],
            trap(
                "environ_get",
                &format!("environ_buf: range 0xffffffff..0x100000003 {oob}"),
            ),
        ),
        (
            "args_sizes_get",
            vec![I32(0x300), I32(0x10000)],
            trap(
                "args_sizes_get",
                &format!("result out-pointer: range 0x10000..0x10004 {oob}"),
            ),
        ),
        (
            "clock_time_get",
            vec![I32(1), I64(0), I32(0x10000)],
            trap(
                "clock_time_get",
                &format!("result out-pointer: range 0x10000..0x10008 {oob}"),
            ),
        ),
        (
            "clock_time_get",
            vec![I32(0), I64(0), I32(0x304)],
            trap(
                "clock_time_get",
                "result out-pointer: pointer 0x304 is not aligned to 8 bytes",
            ),
        ),
        (
            "fd_fdstat_get",
            vec![I32(1), I32(0xfff0)],
            trap(
                "fd_fdstat_get",
                &format!("result out-pointer: range 0xfff0..0x10008 {oob}"),
            ),
        ),
        (
            "random_get",
            vec![I32(-1), I32(16)],
            trap(
                "random_get",
                &format!("buf: range 0xffffffff..0x10000000f {oob}"),
            ),
        ),
        (
            "random_get",
            vec![I32(0), I32(-1)],
            trap("random_get", &format!("buf: range 0x0..0xffffffff {oob}")),
        ),
        (
            "poll_oneoff",
            vec![I32(0xfff0), I32(0x2000), I32(1), I32(0x300)],
            trap(
                "poll_oneoff",
                &format!("poll: subscriptions `in`: range 0xfff0..0x10020 {oob}"),
            ),
        ),
        (
            "poll_oneoff",
            vec![I32(0x1000), I32(0x1010), I32(1), I32(0x300)],
            trap(
                "poll_oneoff",
                &format!(
                    "poll: events `out`: region 0x1010..0x1030 overlaps region 0x1000..0x1030 {mutable}"
                ),
            ),
        ),
        (
            "poll_oneoff",
            vec![I32(0x1000), I32(0x2000), I32(0x1000_0000), I32(0x300)],
            trap(
                "poll_oneoff",
                &format!("poll: subscriptions `in`: range 0x1000..0x300001000 {oob}"),
            ),
        ),
        (
            "poll_oneoff",
            vec![I32(0x1004), I32(0x2000), I32(1), I32(0x300)],
            trap(
                "poll_oneoff",
                "poll: subscriptions `in`: pointer 0x1004 is not aligned to 8 bytes",
            ),
        ),
        (
            "fd_seek",
            vec![I32(1), I64(0), I32(256), I32(0x308)],
            trap("fd_seek", "whence: value 256 out of range for u8"),
        ),
        (
            "fd_prestat_dir_name",
            vec![I32(3), I32(0xfff0), I32(0x20)],
            trap(
                "fd_prestat_dir_name",
                &format!("path: range 0xfff0..0x10010 {oob}"),
            ),
        ),
        (
            "path_open",
            vec![
                I32(3),
                I32(0),
                I32(0xfffe),
                I32(5),
                I32(0),
                I64(0),
                I64(0),
                I32(0),
                I32(0x300),
            ],
            trap("path_open", &format!("path: range 0xfffe..0x10003 {oob}")),
        ),
    ];
    let streams = check_cases(&cases).await;
    for (stdout, _) in streams {
        assert_eq!(stdout, "hello");
    }
}

#[tokio::test]
async fn every_function_answers_with_the_errno_preview1_prescribes() {
    let path = [I32(0x100), I32(5)];
    let bad_utf8 = [I32(0x180), I32(2)];
    let mut cases: Vec<(&str, Vec<Val>, Outcome)> = vec![
        // No preopens: the scan from 3 ends at once, and nothing is one.
        ("fd_prestat_get", vec![I32(3), I32(0x300)], errno(8)),
        ("fd_prestat_get", vec![I32(0), I32(0x300)], errno(8)),
        (
            "fd_prestat_dir_name",
            vec![I32(3), I32(0x400), I32(16)],
            errno(8),
        ),
        ("fd_fdstat_get", vec![I32(7), I32(0x308)], errno(8)),
        ("fd_fdstat_get", vec![I32(-1), I32(0x308)], errno(8)),
        (
            "fd_write",
            vec![I32(0), I32(0x200), I32(1), I32(0x300)],
            errno(8),
        ),
        (
            "fd_write",
            vec![I32(3), I32(0x200), I32(1), I32(0x300)],
            errno(8),
        ),
        (
            "fd_read",
            vec![I32(1), I32(0x200), I32(1), I32(0x300)],
            errno(8),
        ),
        (
            "fd_seek",
            vec![I32(1), I64(0), I32(0), I32(0x308)],
            errno(70),
        ),
        (
            "fd_seek",
            vec![I32(9), I64(0), I32(0), I32(0x308)],
            errno(8),
        ),
        ("fd_tell", vec![I32(2), I32(0x308)], errno(70)),
        (
            "fd_pread",
            vec![I32(0), I32(0x200), I32(1), I64(0), I32(0x300)],
            errno(70),
        ),
        (
            "fd_pwrite",
            vec![I32(1), I32(0x200), I32(1), I64(0), I32(0x300)],
            errno(70),
        ),
        ("fd_advise", vec![I32(1), I64(0), I64(0), I32(0)], errno(70)),
        ("fd_allocate", vec![I32(1), I64(0), I64(1)], errno(70)),
        ("fd_sync", vec![I32(1)], errno(28)),
        ("fd_datasync", vec![I32(5)], errno(8)),
        ("fd_filestat_set_size", vec![I32(1), I64(0)], errno(28)),
        (
            "fd_filestat_set_times",
            vec![I32(1), I64(0), I64(0), I32(0)],
            errno(58),
        ),
        // Rights can be dropped, never gained.
        (
            "fd_fdstat_set_rights",
            vec![I32(1), I64(-1), I64(0)],
            errno(76),
        ),
        (
            "fd_fdstat_set_rights",
            vec![I32(2), I64(1 << 6 | 1 << 21), I64(0)],
            errno(0),
        ),
        ("fd_fdstat_set_flags", vec![I32(1), I32(0)], errno(0)),
        ("fd_fdstat_set_flags", vec![I32(1), I32(4)], errno(58)),
        // A captured stderr is not a terminal: of an unknown file type.
        ("fd_filestat_get", vec![I32(2), I32(0x340)], errno(0)),
        ("load64", vec![I32(0x350)], Ok(vec![0])),
        (
            "fd_readdir",
            vec![I32(1), I32(0x400), I32(16), I64(0), I32(0x300)],
            errno(54),
        ),
        (
            "fd_readdir",
            vec![I32(4), I32(0x400), I32(16), I64(0), I32(0x300)],
            errno(8),
        ),
        (
            "path_create_directory",
            vec![I32(0), path[0], path[1]],
            errno(54),
        ),
        (
            "path_filestat_get",
            vec![I32(3), I32(0), path[0], path[1], I32(0x340)],
            errno(8),
        ),
        (
            "path_filestat_set_times",
            vec![I32(1), I32(0), path[0], path[1], I64(0), I64(0), I32(0)],
            errno(54),
        ),
        (
            "path_link",
            vec![I32(1), I32(0), path[0], path[1], I32(3), path[0], path[1]],
            errno(8),
        ),
        (
            "path_link",
            vec![I32(1), I32(0), path[0], path[1], I32(2), path[0], path[1]],
            errno(54),
        ),
        (
            "path_open",
            vec![
                I32(3),
                I32(0),
                path[0],
                path[1],
                I32(0),
                I64(0),
                I64(0),
                I32(0),
                I32(0x300),
            ],
            errno(8),
        ),
        // Not UTF-8: still an errno, never a trap.
        (
            "path_open",
            vec![
                I32(0),
                I32(0),
                bad_utf8[0],
                bad_utf8[1],
                I32(0),
                I64(0),
                I64(0),
                I32(0),
                I32(0x300),
            ],
            errno(54),
        ),
        (
            "path_readlink",
            vec![I32(0), path[0], path[1], I32(0x400), I32(16), I32(0x300)],
            errno(54),
        ),
        (
            "path_remove_directory",
            vec![I32(8), path[0], path[1]],
            errno(8),
        ),
        (
            "path_rename",
            vec![I32(0), path[0], path[1], I32(1), path[0], path[1]],
            errno(54),
        ),
        (
            "path_symlink",
            vec![path[0], path[1], I32(3), path[0], path[1]],
            errno(8),
        ),
        (
            "path_unlink_file",
            vec![I32(2), bad_utf8[0], bad_utf8[1]],
            errno(54),
        ),
        ("sock_accept", vec![I32(1), I32(0), I32(0x300)], errno(57)),
        (
            "sock_recv",
            vec![I32(1), I32(0x200), I32(1), I32(0), I32(0x300), I32(0x304)],
            errno(57),
        ),
        (
            "sock_send",
            vec![I32(5), I32(0x200), I32(1), I32(0), I32(0x300)],
            errno(8),
        ),
        ("sock_shutdown", vec![I32(0), I32(3)], errno(57)),
        (
            "clock_time_get",
            vec![I32(2), I64(0), I32(0x308)],
            errno(28),
        ),
        (
            "clock_time_get",
            vec![I32(4), I64(0), I32(0x308)],
            errno(28),
        ),
        ("clock_res_get", vec![I32(3), I32(0x308)], errno(28)),
        ("clock_res_get", vec![I32(1), I32(0x308)], errno(0)),
        ("load64", vec![I32(0x308)], Ok(vec![1])),
        (
            "poll_oneoff",
            vec![I32(0x1000), I32(0x2000), I32(0), I32(0x300)],
            errno(28),
        ),
        ("proc_raise", vec![I32(6)], errno(58)),
        ("sched_yield", vec![], errno(0)),
        ("random_get", vec![I32(0x400), I32(0)], errno(0)),
        // Sizes, then the tables: "a\0bc\0" with pointers to both strings.
        ("args_sizes_get", vec![I32(0x300), I32(0x304)], errno(0)),
        ("load32", vec![I32(0x300)], Ok(vec![2])),
        ("load32", vec![I32(0x304)], Ok(vec![5])),
        ("args_get", vec![I32(0x500), I32(0x600)], errno(0)),
        ("load64", vec![I32(0x500)], Ok(vec![0x602 << 32 | 0x600])),
        (
            "load64",
            vec![I32(0x600)],
            Ok(vec![i64::from_le_bytes(*b"a\0bc\0\0\0\0")]),
        ),
        ("environ_sizes_get", vec![I32(0x300), I32(0x304)], errno(0)),
        ("load64", vec![I32(0x300)], Ok(vec![4 << 32 | 1])),
        ("environ_get", vec![I32(0x500), I32(0x700)], errno(0)),
        (
            "load64",
            vec![I32(0x700)],
            Ok(vec![i64::from_le_bytes(*b"K=V\0\0\0\0\0")]),
        ),
        // stdio has its direction's rights; a captured one is not a
        // terminal, so of an unknown file type.
        ("fd_fdstat_get", vec![I32(1), I32(0x308)], errno(0)),
        ("load64", vec![I32(0x308)], Ok(vec![0])),
        (
            "load64",
            vec![I32(0x310)],
            Ok(vec![1 << 6 | 1 << 21 | 1 << 27]),
        ),
        ("fd_fdstat_get", vec![I32(0), I32(0x308)], errno(0)),
        (
            "load64",
            vec![I32(0x310)],
            Ok(vec![1 << 1 | 1 << 21 | 1 << 27]),
        ),
        // Renumbering 2 over 1 sends fd 1 to stderr and closes 2.
        (
            "fd_write",
            vec![I32(1), I32(0x200), I32(1), I32(0x300)],
            errno(0),
        ),
        ("fd_renumber", vec![I32(2), I32(1)], errno(0)),
        (
            "fd_write",
            vec![I32(1), I32(0x200), I32(1), I32(0x300)],
            errno(0),
        ),
        (
            "fd_write",
            vec![I32(2), I32(0x200), I32(1), I32(0x300)],
            errno(8),
        ),
        ("fd_renumber", vec![I32(0), I32(3)], errno(8)),
        ("fd_close", vec![I32(0)], errno(0)),
        ("fd_close", vec![I32(0)], errno(8)),
        (
            "fd_read",
            vec![I32(0), I32(0x200), I32(1), I32(0x300)],
            errno(8),
        ),
    ];
    cases.push(("proc_exit", vec![I32(3)], Err("exit 3".into())));
    let streams = check_cases(&cases).await;
    for (stdout, stderr) in streams {
        assert_eq!((stdout.as_str(), stderr.as_str()), ("hello", "hello"));
    }
}

#[tokio::test]
async fn path_and_rights_errnos_beneath_a_preopen() {
    let sandbox = Sandbox::new("errnos");
    let hello = [I32(0x100), I32(5)];
    let dotdot = [I32(0x140), I32(2)];
    let bad_utf8 = [I32(0x180), I32(2)];
    let open = |dir: i32, lookup: i32, path: [Val; 2], oflags: i32, rights: i64, fdflags: i32| {
        vec![
            I32(dir),
            I32(lookup),
            path[0],
            path[1],
            I32(oflags),
            I64(rights),
            I64(0),
            I32(fdflags),
            I32(0x300),
        ]
    };
    const WRITE: i64 = 1 << 6;
    let cases: Vec<(&str, Vec<Val>, Outcome)> = vec![
        ("store64", vec![I32(0x140), I64(0x2e2e)], Ok(vec![])),
        // The preopen: fd 3, named "/data"; a buffer one byte short.
        ("fd_prestat_get", vec![I32(3), I32(0x300)], errno(0)),
        ("load64", vec![I32(0x300)], Ok(vec![5 << 32])),
        (
            "fd_prestat_dir_name",
            vec![I32(3), I32(0x400), I32(5)],
            errno(0),
        ),
        (
            "load64",
            vec![I32(0x400)],
            Ok(vec![i64::from_le_bytes(*b"/data\0\0\0")]),
        ),
        (
            "fd_prestat_dir_name",
            vec![I32(3), I32(0x400), I32(4)],
            errno(37),
        ),
        ("fd_prestat_get", vec![I32(4), I32(0x300)], errno(8)),
        // Invalid flag combinations, unknown lookup flags, non-UTF-8, `..`.
        ("path_open", open(3, 0, hello, 1 | 2, 0, 0), errno(28)),
        ("path_open", open(3, 2, hello, 0, 0, 0), errno(28)),
        ("path_open", open(3, 0, hello, 1 << 4, 0, 0), errno(28)),
        ("path_open", open(3, 0, hello, 1, 0, 1 << 5), errno(28)),
        ("path_open", open(3, 0, bad_utf8, 0, 0, 0), errno(25)),
        ("path_open", open(3, 0, dotdot, 2, 0, 0), errno(63)),
        ("path_open", open(3, 0, hello, 0, 0, 0), errno(44)),
        // Created with only `fd_write`: fd 4, and nothing else allowed.
        ("path_open", open(3, 0, hello, 1, WRITE, 0), errno(0)),
        ("load32", vec![I32(0x300)], Ok(vec![4])),
        ("path_open", open(3, 0, hello, 1 | 4, WRITE, 0), errno(20)),
        (
            "fd_write",
            vec![I32(4), I32(0x200), I32(1), I32(0x304)],
            errno(0),
        ),
        ("load32", vec![I32(0x304)], Ok(vec![5])),
        (
            "fd_read",
            vec![I32(4), I32(0x200), I32(1), I32(0x304)],
            errno(76),
        ),
        (
            "fd_seek",
            vec![I32(4), I64(0), I32(0), I32(0x308)],
            errno(76),
        ),
        (
            "fd_fdstat_set_rights",
            vec![I32(4), I64(WRITE | 2), I64(0)],
            errno(76),
        ),
        (
            "fd_readdir",
            vec![I32(4), I32(0x400), I32(16), I64(0), I32(0x300)],
            errno(54),
        ),
        ("path_open", open(4, 0, hello, 0, 0, 0), errno(54)),
        ("fd_fdstat_get", vec![I32(4), I32(0x308)], errno(0)),
        ("load64", vec![I32(0x308)], Ok(vec![4])),
        ("load64", vec![I32(0x310)], Ok(vec![WRITE])),
        // Closed: its number names nothing.
        ("fd_close", vec![I32(4)], errno(0)),
        (
            "fd_write",
            vec![I32(4), I32(0x200), I32(1), I32(0x304)],
            errno(8),
        ),
        // A directory is not a file, and a file is not a directory.
        (
            "path_remove_directory",
            vec![I32(3), hello[0], hello[1]],
            errno(54),
        ),
        (
            "path_unlink_file",
            vec![I32(3), hello[0], hello[1]],
            errno(0),
        ),
        (
            "path_unlink_file",
            vec![I32(3), hello[0], hello[1]],
            errno(44),
        ),
        (
            "path_create_directory",
            vec![I32(3), dotdot[0], dotdot[1]],
            errno(63),
        ),
        (
            "fd_seek",
            vec![I32(3), I64(0), I32(0), I32(0x308)],
            errno(8),
        ),
        ("fd_renumber", vec![I32(3), I32(3)], errno(0)),
        ("fd_prestat_get", vec![I32(3), I32(0x300)], errno(0)),
    ];
    check_cases_in(Some(&sandbox.data()), &cases).await;
    assert_eq!(sandbox.tree(), fresh_tree());
}

/// The `store64` calls that lay out one subscription at `at`.
fn subscription(
    at: i32,
    userdata: i64,
    tag: i64,
    id: i64,
    timeout: i64,
    flags: i64,
) -> Vec<(&'static str, Vec<Val>)> {
    [
        (0, userdata),
        (8, tag),
        (16, id),
        (24, timeout),
        (32, 0),
        (40, flags),
    ]
    .into_iter()
    .map(|(offset, value)| ("store64", vec![I32(at + offset), I64(value)]))
    .collect()
}

/// A regular file is always ready (the witx says so): `fd_read` reports
/// the bytes left after the cursor, and a hang-up once there are none;
/// `fd_write` fires at once.
#[tokio::test]
async fn poll_oneoff_on_a_file_is_ready_at_once_with_the_bytes_left() {
    let sandbox = Sandbox::new("poll");
    std::fs::write(sandbox.data().join("f"), b"0123456789").unwrap();
    const RIGHTS: i64 = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 27);
    let mut cases: Vec<(&str, Vec<Val>, Outcome)> = vec![
        ("store64", vec![I32(0x100), I64(0x66)], Ok(vec![])),
        (
            "path_open",
            vec![
                I32(3),
                I32(0),
                I32(0x100),
                I32(1),
                I32(0),
                I64(RIGHTS),
                I64(0),
                I32(0),
                I32(0x300),
            ],
            errno(0),
        ),
        ("load64", vec![I32(0x300)], Ok(vec![4])),
    ];
    let subscriptions = |cases: &mut Vec<(&str, Vec<Val>, Outcome)>, tags: &[i64]| {
        for (i, tag) in tags.iter().enumerate() {
            let at = 0x1000 + 48 * i as i32;
            for (name, args) in subscription(at, 0x30 + tag, *tag, 4, 0, 0) {
                cases.push((name, args, Ok(vec![])));
            }
        }
    };
    let event = |cases: &mut Vec<(&str, Vec<Val>, Outcome)>, at: i32, words: [i64; 4]| {
        for (word, value) in words.into_iter().enumerate() {
            cases.push(("load64", vec![I32(at + 8 * word as i32)], Ok(vec![value])));
        }
    };
    // Both directions at once: both fire; ten bytes to read.
    subscriptions(&mut cases, &[1, 2]);
    cases.push((
        "poll_oneoff",
        vec![I32(0x1000), I32(0x2000), I32(2), I32(0x3f0)],
        errno(0),
    ));
    cases.push(("load64", vec![I32(0x3f0)], Ok(vec![2])));
    event(&mut cases, 0x2000, [0x31, 1 << 16, 10, 0]);
    event(&mut cases, 0x2020, [0x32, 2 << 16, 0, 0]);
    // Three bytes in, seven are left; at the end, none and a hang-up.
    cases.push((
        "fd_seek",
        vec![I32(4), I64(3), I32(0), I32(0x308)],
        errno(0),
    ));
    subscriptions(&mut cases, &[1]);
    cases.push((
        "poll_oneoff",
        vec![I32(0x1000), I32(0x2000), I32(1), I32(0x3f0)],
        errno(0),
    ));
    event(&mut cases, 0x2000, [0x31, 1 << 16, 7, 0]);
    cases.push((
        "fd_seek",
        vec![I32(4), I64(0), I32(2), I32(0x308)],
        errno(0),
    ));
    cases.push((
        "poll_oneoff",
        vec![I32(0x1000), I32(0x2000), I32(1), I32(0x3f0)],
        errno(0),
    ));
    event(&mut cases, 0x2000, [0x31, 1 << 16, 0, 1]);
    check_cases_in(Some(&sandbox.data()), &cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_oneoff_sleeps_on_clocks_and_reports_stdio_readiness() {
    let mut calls = subscription(0x1000, 0x11, 0, 1, 30_000_000, 0);
    calls.extend([
        ("clock_time_get", vec![I32(1), I64(0), I32(0x3f0)]),
        (
            "poll_oneoff",
            vec![I32(0x1000), I32(0x2000), I32(1), I32(0x300)],
        ),
        ("clock_time_get", vec![I32(1), I64(0), I32(0x3f8)]),
    ]);
    // Seven at once: a clock that fires in 10 s, fd_write on stdout, a
    // wall-clock time long past, a CPU-time clock, fd_read on an empty
    // stdin, fd_read on stdout, an unknown event type.
    let seven = [
        (0, 1, 10_000_000_000, 0),
        (2, 1, 0, 0),
        (0, 0, 1, 1),
        (0, 2, 0, 0),
        (1, 0, 0, 0),
        (1, 1, 0, 0),
        (7, 0, 0, 0),
    ];
    for (i, (tag, id, timeout, flags)) in seven.into_iter().enumerate() {
        calls.extend(subscription(
            0x1100 + 48 * i as i32,
            0x20 + i as i64,
            tag,
            id,
            timeout,
            flags,
        ));
    }
    calls.push((
        "poll_oneoff",
        vec![I32(0x1100), I32(0x2100), I32(7), I32(0x304)],
    ));
    let loads = |at: i32| (0..4).map(move |word| ("load64", vec![I32(at + 8 * word)]));
    calls.push(("load64", vec![I32(0x300)]));
    calls.extend(loads(0x2000));
    calls.extend((0..6).flat_map(|event| loads(0x2100 + 32 * event)));
    calls.extend([("load64", vec![I32(0x3f0)]), ("load64", vec![I32(0x3f8)])]);
    for engine in ENGINES {
        let started = Instant::now();
        let outcomes = run(engine, hostile_wasm(), WasiSetup::default(), &calls).await;
        let values: Vec<i64> = outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap().first().copied().unwrap_or(0))
            .collect();
        let rest = &values[6..];
        // The 30 ms sleep: errno 0, and the monotonic clock moved that far.
        assert_eq!(rest[1], 0, "{engine:?}");
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(
            (rest[0], rest[2]),
            (0, 0),
            "{engine:?}: clock_time_get errnos"
        );
        let (before, after) = (values[values.len() - 2], values[values.len() - 1]);
        assert!(
            after - before >= 30_000_000,
            "{engine:?}: {before} -> {after}"
        );
        let tail = &rest[3 + 42..];
        assert_eq!(tail[0], 0, "{engine:?}: the seven-way poll's errno");
        // nevents: 1 for the first poll, 6 for the second (not the 10 s clock).
        assert_eq!(tail[1], 6 << 32 | 1, "{engine:?}");
        // The clock event: userdata, no error, type clock.
        assert_eq!(&tail[2..6], [0x11, 0, 0, 0], "{engine:?}");
        let events: Vec<&[i64]> = tail[6..30].chunks(4).collect();
        let expected: [[i64; 4]; 6] = [
            [0x21, 2 << 16, 0, 0],     // fd_write on stdout: ready
            [0x22, 0, 0, 0],           // absolute time in the past: fired
            [0x23, 28, 0, 0],          // CPU-time clock: inval
            [0x24, 1 << 16, 0, 1],     // empty stdin: ready, hung up
            [0x25, 1 << 16 | 8, 0, 0], // fd_read on stdout: badf
            [0x26, 28, 0, 0],          // unknown type: inval
        ];
        assert_eq!(events.len(), 6);
        for (got, expected) in events.iter().zip(&expected) {
            assert_eq!(*got, expected, "{engine:?}");
        }
    }
}
