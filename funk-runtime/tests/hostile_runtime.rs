//! Hostile guests against the runtime, on both engines.
//!
//! Hand-written WAT guests import `lunatic::*` functions with their exact
//! signatures and misuse them. Each case pins the documented outcome (a
//! status code, a dropped message, or a trap whose message names
//! `lunatic::namespace::function`, the argument and the problem, exactly),
//! and then checks that the runtime lives on: a bystander process spawned
//! before the hostile one still answers a message, and a process spawned
//! afterwards does too.
//!
//! | class | cases |
//! |---|---|
//! | dead and forged process ids | `send`, `send_receive_skip_search`, `send_after`, `kill`, `link`, `monitor`, `exists` |
//! | forged, stale, too wide and wrong-type resource ids | configs, modules, error ids, timer ids |
//! | no message, or a signal, in the scratch area | every `lunatic::message` function that reads it |
//! | message resource indexes | missing, huge, already taken, from a signal |
//! | out of bounds, wrapping, misaligned pointers | every pointer-taking function used here |
//! | big inputs | 5000-tag `receive`, messages past `max_message_size`, a `u64::MAX` capacity hint, a spawn loop past `max_processes` |
//! | spawning | missing export, wrong signature, malformed params, no permission, a guest-made config |
//! | kill | itself (also inside `catch`), its parent (linked or not), a sleeping process, a busy one |
//! | registry | racing `get_or_spawn`, `get` of a missing name |
//! | `trap::catch` | forged function index, missing or mistyped export, `proc_exit` inside, unbounded nesting |
//! | imports | unsupported `lunatic::*` functions, foreign ones, a mistyped one, no memory |

#[allow(dead_code)] // each test binary uses its own part of the harness
mod common;

use common::{BYSTANDER_TAG, Harness, Report, assert_trap, assert_traps, guard, values};
use funk_runtime::engine::EntryValue;
use funk_runtime::process::KillCause;
use funk_runtime::{EngineKind, ExitStatus, ProcessConfig, Settings};

/// Writes one test per case and engine: `wasmtime::case`, `wasmer::case`.
macro_rules! on_both_engines {
    ($($case:ident),* $(,)?) => {
        #[cfg(feature = "wasmtime")]
        mod wasmtime {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let engine = funk_runtime::EngineKind::Wasmtime;
                    crate::guard(engine, crate::$case(engine)).await;
                }
            )*
        }
        #[cfg(feature = "wasmer")]
        mod wasmer {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let engine = funk_runtime::EngineKind::Wasmer;
                    crate::guard(engine, crate::$case(engine)).await;
                }
            )*
        }
    };
}

on_both_engines! {
    sends_to_dead_and_forged_ids_are_dropped,
    forged_stale_and_wrong_type_ids_trap,
    cancel_timer_of_forged_ids_returns_0,
    message_resource_indexes_that_do_not_exist_trap,
    message_functions_without_a_data_message_trap,
    bad_pointers_trap_with_the_range,
    receive_with_thousands_of_tags_is_selective_and_fifo,
    messages_past_the_size_limit_trap,
    a_huge_capacity_hint_reserves_nothing,
    spawning_a_missing_or_mistyped_export_reports_an_error_id,
    a_child_that_cannot_instantiate_is_a_spawn_error,
    malformed_spawn_params_trap,
    spawning_without_permission_traps,
    a_spawn_loop_stops_at_the_process_limit,
    killing_itself_traps_even_inside_catch,
    killing_the_parent_leaves_the_child_running,
    a_busy_process_is_killed_and_stops,
    a_spinning_process_is_killed,
    kill_stops_a_sleeping_process,
    linking_to_a_forged_id_is_a_failed_link,
    monitoring_a_dead_id_delivers_process_died,
    racing_get_or_spawn_spawns_once,
    registry_get_of_a_missing_name_leaves_the_out_pointers,
    catch_survives_hostile_functions,
    imports_the_runtime_lacks,
    a_guest_grants_only_directories_it_has,
}

/// The first handle a fresh resource table hands out: index 0,
/// generation 1.
const FIRST: &str = "0x100000";

fn i64_arg(value: u64) -> EntryValue {
    EntryValue::I64(value as i64)
}

/// Sends to ids that name no live process: each send returns 0 and the
/// message goes nowhere (no bystander receives it).
const SENDER: &str = r#"
  (data (i32.const 0x100) "hello")
  (func (export "nothing"))
  (func $message
    (call $create_data (i64.const 7) (i64.const 0))
    (drop (call $write_data (i32.const 0x100) (i32.const 5))))
  (func $send_to (param $to i64)
    (call $message)
    (call $report32 (call $send (local.get $to))))
  (func (export "main") (param $dead i64)
    (call $send_to (local.get $dead))
    (call $send_to (i64.const 0))
    (call $send_to (i64.const 0xdead_beef))
    (call $send_to (i64.const -1))
    (call $send_to (i64.add (local.get $dead) (i64.const 1000)))
    ;; A request to the dead times out instead of waiting for a reply.
    (call $message)
    (call $report32
      (call $send_receive_skip_search (local.get $dead) (i64.const 8) (i64.const 0)))
    ;; A timer to the dead is set (its id is 1) and fires into nothing.
    (call $message)
    (call $report (call $send_after (local.get $dead) (i64.const 0)))
    (call $report32 (call $exists (local.get $dead)))
    (call $report32 (call $exists (i64.const 0xdead_beef))))
"#;

async fn sends_to_dead_and_forged_ids_are_dropped(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(SENDER);
    let dead = h.spawn(&module, "nothing", &[]).wait().await;
    assert_eq!(dead.status, ExitStatus::Returned);
    let (status, reports) = h.run(&module, "main", &[i64_arg(dead.id)]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    assert_eq!(
        reports,
        values(&[0, 0, 0, 0, 0, 9027, 1, 0, 0]),
        "on {engine}"
    );
    h.assert_lives_on(bystander).await;
}

/// Ids that name no resource, a resource since dropped, a resource of
/// another kind, or do not fit the table's 32 bits.
const HANDLES: &str = r#"
  (data (i32.const 0x100) "nothing")
  (data (i32.const 0x110) "missing")
  (data (i32.const 0x120) "KEY")
  (func (export "nothing"))
  ;; An error id: spawning a missing export reports one.
  (func $error_id (result i64)
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x110) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0)))
    (i64.load (i32.const 0)))
  (func $spawn_with (param $config i64) (param $module i64)
    (drop (call $spawn (i64.const 0) (local.get $config) (local.get $module)
      (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0))))
  (func (export "forged_config")
    (drop (call $config_get_max_memory (i64.const 0xdead))))
  (func (export "next_config")
    (drop (call $create_config))
    (drop (call $config_get_max_memory (i64.const 0x100001))))
  (func (export "wide_config")
    (call $config_set_max_memory (i64.const 0x100_0000_0000) (i64.const 1)))
  (func (export "stale_config") (local $config i64)
    (local.set $config (call $create_config))
    (call $drop_config (local.get $config))
    (drop (call $config_can_spawn_processes (local.get $config))))
  (func (export "config_dropped_twice") (local $config i64)
    (local.set $config (call $create_config))
    (call $drop_config (local.get $config))
    (call $drop_config (local.get $config)))
  (func (export "forged_wasi_config")
    (call $config_add_environment_variable (i64.const 0xdead)
      (i32.const 0x120) (i32.const 3) (i32.const 0x120) (i32.const 3)))
  (func (export "forged_spawn_config")
    (call $spawn_with (i64.const 0x12345) (i64.const -1)))
  (func (export "negative_spawn_config")
    (call $spawn_with (i64.const -2) (i64.const -1)))
  (func (export "error_as_spawn_config")
    (call $spawn_with (call $error_id) (i64.const -1)))
  (func (export "forged_spawn_module")
    (call $spawn_with (i64.const -1) (i64.const 0xbeef)))
  (func (export "config_as_spawn_module")
    (call $spawn_with (i64.const -1) (call $create_config)))
  (func (export "forged_drop_module")
    (call $drop_module (i64.const 7)))
  (func (export "config_as_pushed_module")
    (call $create_data (i64.const 0) (i64.const 0))
    (drop (call $push_module (call $create_config))))
  (func (export "forged_error")
    (drop (call $error_size (i64.const 0x4321))))
  (func (export "forged_error_text")
    (call $error_to_string (i64.const 0x4321) (i32.const 0x8000)))
  (func (export "stale_error") (local $error i64)
    (local.set $error (call $error_id))
    (call $error_drop (local.get $error))
    (call $error_to_string (local.get $error) (i32.const 0x8000)))
  (func (export "error_dropped_twice") (local $error i64)
    (local.set $error (call $error_id))
    (call $error_drop (local.get $error))
    (call $error_drop (local.get $error)))
  (func (export "config_as_error")
    (drop (call $error_size (call $create_config))))
"#;

async fn forged_stale_and_wrong_type_ids_trap(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(HANDLES);
    let config = "`funk_runtime::state::ConfigResource`";
    let error = "`funk_runtime::state::ErrorResource`";
    let module_resource = "`funk_runtime::state::ModuleResource`";
    let stale = format!("handle {FIRST} is stale: its resource was closed or taken");
    let rows: &[(&str, &str)] = &[
        (
            "forged_config",
            "lunatic::process::config_get_max_memory: argument config_id: handle 0xdead does not name a resource",
        ),
        (
            "next_config",
            "lunatic::process::config_get_max_memory: argument config_id: handle 0x100001 does not name a resource",
        ),
        (
            "wide_config",
            "lunatic::process::config_set_max_memory: argument config_id: value 0x10000000000 does not fit the 32 bits this parameter holds",
        ),
        (
            "stale_config",
            &format!("lunatic::process::config_can_spawn_processes: argument config_id: {stale}"),
        ),
        (
            "config_dropped_twice",
            &format!("lunatic::process::drop_config: argument config_id: {stale}"),
        ),
        (
            "forged_wasi_config",
            "lunatic::wasi::config_add_environment_variable: argument config_id: handle 0xdead does not name a resource",
        ),
        (
            "forged_spawn_config",
            "lunatic::process::spawn: argument config: handle 0x12345 does not name a resource",
        ),
        (
            "negative_spawn_config",
            "lunatic::process::spawn: argument config: value 0xfffffffffffffffe does not fit the 32 bits this parameter holds",
        ),
        (
            "error_as_spawn_config",
            &format!(
                "lunatic::process::spawn: argument config: handle {FIRST} names a {error}, expected a {config}"
            ),
        ),
        (
            "forged_spawn_module",
            "lunatic::process::spawn: argument module: handle 0xbeef does not name a resource",
        ),
        (
            "config_as_spawn_module",
            &format!(
                "lunatic::process::spawn: argument module: handle {FIRST} names a {config}, expected a {module_resource}"
            ),
        ),
        (
            "forged_drop_module",
            "lunatic::process::drop_module: argument module_id: handle 0x7 does not name a resource",
        ),
        (
            "config_as_pushed_module",
            &format!(
                "lunatic::message::push_module: argument module_id: handle {FIRST} names a {config}, expected a {module_resource}"
            ),
        ),
        (
            "forged_error",
            "lunatic::error::string_size: argument error_id: handle 0x4321 does not name a resource",
        ),
        (
            "forged_error_text",
            "lunatic::error::to_string: argument error_id: handle 0x4321 does not name a resource",
        ),
        (
            "stale_error",
            &format!("lunatic::error::to_string: argument error_id: {stale}"),
        ),
        (
            "error_dropped_twice",
            &format!("lunatic::error::drop: argument error_id: {stale}"),
        ),
        (
            "config_as_error",
            &format!(
                "lunatic::error::string_size: argument error_id: handle {FIRST} names a {config}, expected a {error}"
            ),
        ),
    ];
    assert_traps(&h, &module, rows).await;
    h.assert_lives_on(bystander).await;
}

/// Timer ids are the caller's own: forged ones, cancelled ones and another
/// process's cancel nothing and return 0.
const TIMERS: &str = r#"
  (data (i32.const 0x100) "other")
  (func (export "main") (local $timer i64)
    (call $report32 (call $cancel_timer (i64.const 0)))
    (call $report32 (call $cancel_timer (i64.const 0xdead)))
    (call $report32 (call $cancel_timer (i64.const -1)))
    ;; A pending timer (it would fire in u64::MAX ms).
    (call $create_data (i64.const 5) (i64.const 0))
    (local.set $timer (call $send_after (call $process_id) (i64.const -1)))
    (call $report32 (call $cancel_timer (i64.add (local.get $timer) (i64.const 1))))
    ;; Another process tries to cancel it by its id, then tells us so.
    (call $param_i64 (i32.const 0x200) (call $process_id))
    (call $param_i64 (i32.const 0x211) (local.get $timer))
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 5) (i32.const 0x200) (i32.const 34) (i32.const 0)))
    (drop (call $receive (i32.const 0x40) (i32.const 1) (i64.const -1)))
    ;; The timer is still ours to cancel, once.
    (call $report32 (call $cancel_timer (local.get $timer)))
    (call $report32 (call $cancel_timer (local.get $timer)))
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const 0))))
  (func (export "other") (param $owner i64) (param $timer i64)
    (call $report32 (call $cancel_timer (local.get $timer)))
    (call $create_data (i64.const 4242) (i64.const 0))
    (drop (call $send (local.get $owner))))
"#;

async fn cancel_timer_of_forged_ids_returns_0(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(TIMERS);
    let exit = h.spawn(&module, "main", &[]).wait().await;
    assert_eq!(exit.status, ExitStatus::Returned, "on {engine}");
    assert_eq!(
        h.reports(exit.id),
        values(&[0, 0, 0, 0, 1, 0, 9027]),
        "on {engine}"
    );
    // The other process reported 0 before it sent the message `main` waited for.
    let other = exit.id + 1;
    assert_eq!(h.reports(other), values(&[0]), "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// Resource indexes inside a message: only those pushed exist, once each.
const RESOURCES: &str = r#"
  (data (i32.const 0x200) "\00asm\01\00\00\00")
  (func $module (result i64)
    (drop (call $compile_module (i32.const 0x200) (i32.const 8) (i32.const 0)))
    (i64.load (i32.const 0)))
  (func $message (call $create_data (i64.const 1) (i64.const 0)))
  (func (export "take_without_message")
    (drop (call $take_module (i64.const 0))))
  (func (export "take_from_empty_message")
    (call $message)
    (drop (call $take_module (i64.const 0))))
  (func (export "take_huge_index")
    (call $message)
    (drop (call $push_module (call $module)))
    (drop (call $take_module (i64.const -1))))
  (func (export "take_twice")
    (call $message)
    (drop (call $push_module (call $module)))
    (drop (call $take_module (i64.const 0)))
    (drop (call $take_module (i64.const 0))))
  (func (export "take_past_the_received")
    (call $message)
    (drop (call $push_module (call $module)))
    (drop (call $send (call $process_id)))
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (drop (call $take_module (i64.const 1))))
  (func (export "take_from_a_signal")
    (call $monitor (i64.const 0xdead))
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (drop (call $take_module (i64.const 0))))
  ;; The valid path: modules travel by index and arrive under new ids.
  (func (export "moves") (local $a i64) (local $b i64)
    (call $message)
    (call $report (call $push_module (call $module)))
    (call $report (call $push_module (call $module)))
    (call $report32 (call $send (call $process_id)))
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (local.set $b (call $take_module (i64.const 1)))
    (local.set $a (call $take_module (i64.const 0)))
    (call $drop_module (local.get $a))
    (call $drop_module (local.get $b)))
"#;

async fn message_resource_indexes_that_do_not_exist_trap(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(RESOURCES);
    let rows: &[(&str, &str)] = &[
        (
            "take_without_message",
            "lunatic::message::take_module: the scratch area holds no message: create one with create_data or receive one",
        ),
        (
            "take_from_empty_message",
            "lunatic::message::take_module: the message has no resource 0 (it carries 0)",
        ),
        (
            "take_huge_index",
            "lunatic::message::take_module: the message has no resource 18446744073709551615 (it carries 1)",
        ),
        (
            "take_twice",
            "lunatic::message::take_module: resource 0 of the message was already taken",
        ),
        (
            "take_past_the_received",
            "lunatic::message::take_module: the message has no resource 1 (it carries 1)",
        ),
        (
            "take_from_a_signal",
            "lunatic::message::take_module: the message in the scratch area is a process-died signal, not data",
        ),
    ];
    assert_traps(&h, &module, rows).await;
    let (status, reports) = h.run(&module, "moves", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    assert_eq!(reports, values(&[0, 1, 0, 0]), "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// Message functions with nothing (or a signal) in the scratch area.
const NO_MESSAGE: &str = r#"
  (data (i32.const 0x200) "\00asm\01\00\00\00")
  (func (export "write") (drop (call $write_data (i32.const 0) (i32.const 1))))
  (func (export "read") (drop (call $read_data (i32.const 0) (i32.const 1))))
  (func (export "seek") (call $seek_data (i64.const 0)))
  (func (export "tag") (drop (call $get_tag)))
  (func (export "process") (drop (call $get_process_id)))
  (func (export "size") (drop (call $data_size)))
  (func (export "push")
    (drop (call $compile_module (i32.const 0x200) (i32.const 8) (i32.const 0)))
    (drop (call $push_module (i64.load (i32.const 0)))))
  (func (export "send") (drop (call $send (call $process_id))))
  (func (export "request")
    (drop (call $send_receive_skip_search (call $process_id) (i64.const 1) (i64.const 0))))
  (func (export "send_after") (drop (call $send_after (call $process_id) (i64.const 0))))
  (func (export "write_after_send")
    (call $create_data (i64.const 1) (i64.const 0))
    (drop (call $send (call $process_id)))
    (drop (call $write_data (i32.const 0) (i32.const 1))))
  (func (export "send_twice")
    (call $create_data (i64.const 1) (i64.const 0))
    (drop (call $send (call $process_id)))
    (drop (call $send (call $process_id))))
  (func $process_died
    (call $monitor (i64.const 0xdead))
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1))))
  (func (export "read_process_died")
    (call $process_died)
    (drop (call $read_data (i32.const 0) (i32.const 1))))
  (func (export "write_process_died")
    (call $process_died)
    (drop (call $write_data (i32.const 0) (i32.const 1))))
  (func (export "size_of_link_died")
    (call $die_when_link_dies (i32.const 0))
    (call $link (i64.const 3) (i64.const 0xdead))
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (drop (call $data_size)))
"#;

async fn message_functions_without_a_data_message_trap(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(NO_MESSAGE);
    let none = "the scratch area holds no message: create one with create_data or receive one";
    let unsent = "there is no message to send: call create_data first";
    let rows: &[(&str, &str)] = &[
        ("write", &format!("lunatic::message::write_data: {none}")),
        ("read", &format!("lunatic::message::read_data: {none}")),
        ("seek", &format!("lunatic::message::seek_data: {none}")),
        ("tag", &format!("lunatic::message::get_tag: {none}")),
        (
            "process",
            &format!("lunatic::message::get_process_id: {none}"),
        ),
        ("size", &format!("lunatic::message::data_size: {none}")),
        ("push", &format!("lunatic::message::push_module: {none}")),
        ("send", &format!("lunatic::message::send: {unsent}")),
        (
            "request",
            &format!("lunatic::message::send_receive_skip_search: {unsent}"),
        ),
        (
            "send_after",
            &format!("lunatic::timer::send_after: {unsent}"),
        ),
        (
            "write_after_send",
            &format!("lunatic::message::write_data: {none}"),
        ),
        ("send_twice", &format!("lunatic::message::send: {unsent}")),
        (
            "read_process_died",
            "lunatic::message::read_data: the message in the scratch area is a process-died signal, not data",
        ),
        (
            "write_process_died",
            "lunatic::message::write_data: the message in the scratch area is a process-died signal, not data",
        ),
        (
            "size_of_link_died",
            "lunatic::message::data_size: the message in the scratch area is a link-died signal, not data",
        ),
    ];
    assert_traps(&h, &module, rows).await;
    h.assert_lives_on(bystander).await;
}

/// Pointers and lengths out of bounds, wrapping past 4 GiB, or misaligned
/// (out-pointers of `u64`s), for every pointer-taking function used here.
const POINTERS: &str = r#"
  (data (i32.const 0x100) "nothing")
  (data (i32.const 0x110) "missing")
  (data (i32.const 0x120) "\ff")
  (data (i32.const 0x130) "service")
  (data (i32.const 0x200) "\00asm\01\00\00\00")
  (func (export "nothing"))
  (func $message (call $create_data (i64.const 1) (i64.const 0)))
  (func $spawn_nothing (param $params i32) (param $params_len i32) (param $id i32)
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (local.get $params) (local.get $params_len) (local.get $id))))
  (func (export "write_oob")
    (call $message) (drop (call $write_data (i32.const 0xfff0) (i32.const 0x20))))
  (func (export "write_wraps")
    (call $message) (drop (call $write_data (i32.const 0xffff_fff0) (i32.const 0x20))))
  (func (export "read_oob")
    (call $message) (drop (call $read_data (i32.const 0x10000) (i32.const 1))))
  (func (export "read_wraps")
    (call $message) (drop (call $read_data (i32.const 0xffff_ffff) (i32.const 2))))
  (func (export "receive_oob")
    (drop (call $receive (i32.const 0xfff8) (i32.const 2) (i64.const 0))))
  (func (export "receive_count_overflows")
    (drop (call $receive (i32.const 0) (i32.const 0x2000_0000) (i64.const 0))))
  (func (export "receive_wraps")
    (drop (call $receive (i32.const 0xffff_fff8) (i32.const 0xffff_ffff) (i64.const 0))))
  (func (export "spawn_function_oob")
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0xfffe) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0))))
  (func (export "spawn_function_not_utf8")
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x120) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))))
  (func (export "spawn_params_oob")
    (call $spawn_nothing (i32.const 0xfff0) (i32.const 34) (i32.const 0)))
  (func (export "spawn_id_oob")
    (call $spawn_nothing (i32.const 0) (i32.const 0) (i32.const 0x10000)))
  (func (export "spawn_id_misaligned")
    (call $spawn_nothing (i32.const 0) (i32.const 0) (i32.const 3)))
  (func (export "get_or_spawn_name_oob")
    (drop (call $get_or_spawn (i32.const 0xffff) (i32.const 2) (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 8))))
  (func (export "get_or_spawn_node_oob")
    (drop (call $get_or_spawn (i32.const 0x130) (i32.const 7) (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 8))))
  (func (export "registry_put_oob")
    (call $registry_put (i32.const 0xffff) (i32.const 2) (i64.const 0) (i64.const 1)))
  (func (export "registry_get_oob")
    (drop (call $registry_get (i32.const 0xffff) (i32.const 2) (i32.const 0) (i32.const 8))))
  (func (export "registry_get_out_oob")
    (call $registry_put (i32.const 0x130) (i32.const 7) (i64.const 0) (i64.const 5))
    (drop (call $registry_get (i32.const 0x130) (i32.const 7) (i32.const 0) (i32.const 0x10000))))
  (func (export "registry_remove_oob")
    (call $registry_remove (i32.const 0xfff0) (i32.const 0x11)))
  (func (export "error_text_oob")
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x110) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0)))
    (call $error_to_string (i64.load (i32.const 0)) (i32.const 0xfff0)))
  (func (export "compile_oob")
    (drop (call $compile_module (i32.const 0xfff0) (i32.const 0x20) (i32.const 0))))
  (func (export "compile_id_oob")
    (drop (call $compile_module (i32.const 0x200) (i32.const 8) (i32.const 0x10000))))
  (func (export "env_key_oob")
    (call $config_add_environment_variable (call $create_config)
      (i32.const 0xffff) (i32.const 2) (i32.const 0x100) (i32.const 1)))
  (func (export "env_value_oob")
    (call $config_add_environment_variable (call $create_config)
      (i32.const 0x100) (i32.const 1) (i32.const 0x1_0000) (i32.const 1)))
  (func (export "metrics_name_oob")
    (call $metrics_counter (i32.const 0xffff) (i32.const 2) (i64.const 1)))
"#;

async fn bad_pointers_trap_with_the_range(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(POINTERS);
    let rows: &[(&str, &str)] = &[
        (
            "write_oob",
            "lunatic::message::write_data: argument data: range 0xfff0..0x10010 outside memory of 0x10000 bytes",
        ),
        (
            "write_wraps",
            "lunatic::message::write_data: argument data: range 0xfffffff0..0x100000010 outside memory of 0x10000 bytes",
        ),
        (
            "read_oob",
            "lunatic::message::read_data: argument buffer: range 0x10000..0x10001 outside memory of 0x10000 bytes",
        ),
        (
            "read_wraps",
            "lunatic::message::read_data: argument buffer: range 0xffffffff..0x100000001 outside memory of 0x10000 bytes",
        ),
        (
            "receive_oob",
            "lunatic::message::receive: argument tags: range 0xfff8..0x10008 outside memory of 0x10000 bytes",
        ),
        (
            "receive_count_overflows",
            "lunatic::message::receive: argument tags: range 0x0..0x100000000 outside memory of 0x10000 bytes",
        ),
        (
            "receive_wraps",
            "lunatic::message::receive: argument tags: range 0xfffffff8..0x8fffffff0 outside memory of 0x10000 bytes",
        ),
        (
            "spawn_function_oob",
            "lunatic::process::spawn: argument function: range 0xfffe..0x10005 outside memory of 0x10000 bytes",
        ),
        (
            "spawn_function_not_utf8",
            "lunatic::process::spawn: argument function: invalid UTF-8 at byte 0 of the string",
        ),
        (
            "spawn_params_oob",
            "lunatic::process::spawn: argument params: range 0xfff0..0x10012 outside memory of 0x10000 bytes",
        ),
        (
            "spawn_id_oob",
            "lunatic::process::spawn: argument result out-pointer: range 0x10000..0x10008 outside memory of 0x10000 bytes",
        ),
        (
            "spawn_id_misaligned",
            "lunatic::process::spawn: argument result out-pointer: pointer 0x3 is not aligned to 8 bytes",
        ),
        (
            "get_or_spawn_name_oob",
            "lunatic::process::get_or_spawn: argument name: range 0xffff..0x10001 outside memory of 0x10000 bytes",
        ),
        (
            "get_or_spawn_node_oob",
            "lunatic::process::get_or_spawn: argument result out-pointer: range 0x10000..0x10008 outside memory of 0x10000 bytes",
        ),
        (
            "registry_put_oob",
            "lunatic::registry::put: argument name: range 0xffff..0x10001 outside memory of 0x10000 bytes",
        ),
        (
            "registry_get_oob",
            "lunatic::registry::get: argument name: range 0xffff..0x10001 outside memory of 0x10000 bytes",
        ),
        (
            "registry_get_out_oob",
            "lunatic::registry::get: argument result out-pointer: range 0x10000..0x10008 outside memory of 0x10000 bytes",
        ),
        (
            "registry_remove_oob",
            "lunatic::registry::remove: argument name: range 0xfff0..0x10001 outside memory of 0x10000 bytes",
        ),
        // The text is "cannot spawn: the module exports no function `missing`".
        (
            "error_text_oob",
            "lunatic::error::to_string: argument result out-pointer: range 0xfff0..0x10026 outside memory of 0x10000 bytes",
        ),
        (
            "compile_oob",
            "lunatic::process::compile_module: argument wasm: range 0xfff0..0x10010 outside memory of 0x10000 bytes",
        ),
        (
            "compile_id_oob",
            "lunatic::process::compile_module: argument result out-pointer: range 0x10000..0x10008 outside memory of 0x10000 bytes",
        ),
        (
            "env_key_oob",
            "lunatic::wasi::config_add_environment_variable: argument key: range 0xffff..0x10001 outside memory of 0x10000 bytes",
        ),
        (
            "env_value_oob",
            "lunatic::wasi::config_add_environment_variable: argument value: range 0x10000..0x10001 outside memory of 0x10000 bytes",
        ),
        (
            "metrics_name_oob",
            "lunatic::metrics::counter: argument name: range 0xffff..0x10001 outside memory of 0x10000 bytes",
        ),
    ];
    assert_traps(&h, &module, rows).await;
    h.assert_lives_on(bystander).await;
}

/// 5000 tags (1000..=5999) at an unaligned address; the messages are queued
/// before the guest looks, behind a "go" message it waits for first.
const TAGS: &str = r#"
  (data (i32.const 0x48) "\01\00\00\00\00\00\00\00")
  (data (i32.const 0x50) "\00\00\00\00\00\00\00\00")
  (func $fill (local $i i32)
    (loop $next
      (i64.store
        (i32.add (i32.const 0x1001) (i32.shl (local.get $i) (i32.const 3)))
        (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1000))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 5000)))))
  ;; Reports a receive's code, the message's tag and its first byte.
  (func $take (param $code i32)
    (call $report32 (local.get $code))
    (call $report (call $get_tag))
    (drop (call $read_data (i32.const 0x300) (i32.const 1)))
    (call $report (i64.load8_u (i32.const 0x300))))
  (func $receive_tagged (param $timeout i64) (result i32)
    (call $receive (i32.const 0x1001) (i32.const 5000) (local.get $timeout)))
  (func (export "main")
    (drop (call $receive (i32.const 0x48) (i32.const 1) (i64.const -1)))
    (call $fill)
    (call $take (call $receive_tagged (i64.const -1)))
    (call $take (call $receive_tagged (i64.const -1)))
    (call $take (call $receive_tagged (i64.const -1)))
    (call $report32 (call $receive_tagged (i64.const 0)))
    ;; Tag 0 means "untagged": listing it matches no untagged message.
    (call $report32 (call $receive (i32.const 0x50) (i32.const 1) (i64.const 0)))
    ;; No tags: the first message left, whatever its tag.
    (call $take (call $receive (i32.const 0) (i32.const 0) (i64.const 0))))
"#;

async fn receive_with_thousands_of_tags_is_selective_and_fifo(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(TAGS);
    let process = h.spawn(&module, "main", &[]);
    let queued: &[(i64, u8)] = &[
        (7, b'x'),
        (3000, b'a'),
        (9, b'y'),
        (1500, b'b'),
        (0, b'z'),
        (5999, b'c'),
        (6000, b'w'),
        (999, b'v'),
    ];
    for &(tag, byte) in queued {
        h.send_bytes(process.id(), tag, &[byte]);
    }
    h.send(process.id(), 1);
    let exit = process.wait().await;
    assert_eq!(exit.status, ExitStatus::Returned, "on {engine}");
    let byte = |b: u8| i64::from(b);
    assert_eq!(
        h.reports(exit.id),
        values(&[
            0,
            3000,
            byte(b'a'),
            0,
            1500,
            byte(b'b'),
            0,
            5999,
            byte(b'c'),
            9027,
            9027,
            0,
            7,
            byte(b'x'),
        ]),
        "on {engine}"
    );
    h.assert_lives_on(bystander).await;
}

/// Messages up to the limit (1 MiB here) are fine; one byte more traps,
/// and so does a guest writing the same 64 KiB forever.
const BIG: &str = r#"
  (func $write_page (result i32) (call $write_data (i32.const 0) (i32.const 0x10000)))
  (func (export "main") (local $i i32)
    (call $create_data (i64.const 1) (i64.const 0))
    (loop $next
      (drop (call $write_page))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 16))))
    (call $report (call $data_size))
    (drop (call $send (call $process_id)))
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (call $data_size))
    (call $create_data (i64.const 1) (i64.const 0))
    (loop $forever
      (drop (call $write_page))
      (br $forever)))
"#;

async fn messages_past_the_size_limit_trap(engine: EngineKind) {
    let h = Harness::new(Settings {
        engine,
        max_message_size: 1 << 20,
        ..Settings::default()
    });
    let bystander = h.bystander();
    let module = h.module(BIG);
    let (status, reports) = h.run(&module, "main", &[]).await;
    assert_trap(
        engine,
        &status,
        "lunatic::message::write_data: the message would grow to 1114112 bytes, over the limit of 1048576 bytes",
    );
    assert_eq!(reports, values(&[1 << 20, 1 << 20]), "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// `create_data` with a `u64::MAX` capacity hint, a thousand times over.
const HINT: &str = r#"
  (data (i32.const 0x100) "abc")
  (func (export "main") (local $i i32)
    (loop $next
      (call $create_data (i64.const 9) (i64.const -1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 1000))))
    (call $report32 (call $write_data (i32.const 0x100) (i32.const 3)))
    (call $report (call $data_size))
    (call $report32 (call $send (call $process_id)))
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (call $get_tag))
    (call $report32 (call $read_data (i32.const 0x300) (i32.const 16)))
    (call $report_text (i32.const 0x300) (i32.const 3)))
"#;

async fn a_huge_capacity_hint_reserves_nothing(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(HINT);
    let (status, reports) = h.run(&module, "main", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    let mut expected = values(&[3, 3, 0, 0, 9, 3]);
    expected.push(Report::Text("abc".into()));
    assert_eq!(reports, expected, "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// Spawns that cannot start: status 1 and an error id saying why.
const SPAWN_ERRORS: &str = r#"
  (data (i32.const 0x100) "missing")
  (data (i32.const 0x110) "takes_i32")
  (data (i32.const 0x120) "returns_i32")
  (data (i32.const 0x130) "memory")
  (data (i32.const 0x140) "nothing")
  (data (i32.const 0x150) "name")
  (func (export "takes_i32") (param i32))
  (func (export "returns_i32") (result i32) (i32.const 0))
  (func (export "nothing"))
  (func $try (param $name i32) (param $len i32) (param $params_len i32)
    (i64.store (i32.const 0) (i64.const 0))
    (call $report32 (call $spawn (i64.const 1) (i64.const -1) (i64.const -1)
      (local.get $name) (local.get $len) (i32.const 0x200) (local.get $params_len) (i32.const 0)))
    (call $report_error (i64.load (i32.const 0))))
  (func (export "main")
    (call $param_i64 (i32.const 0x200) (i64.const 5))
    (call $try (i32.const 0x100) (i32.const 7) (i32.const 0))
    (call $try (i32.const 0x110) (i32.const 9) (i32.const 0))
    (call $try (i32.const 0x110) (i32.const 9) (i32.const 17))
    (call $try (i32.const 0x120) (i32.const 11) (i32.const 0))
    (call $try (i32.const 0x130) (i32.const 6) (i32.const 0))
    (call $try (i32.const 0x140) (i32.const 7) (i32.const 17))
    ;; get_or_spawn fails the same way, and registers nothing.
    (call $report32 (call $get_or_spawn (i32.const 0x150) (i32.const 4)
      (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 0)))
    (call $report_error (i64.load (i32.const 0)))
    (call $report32 (call $registry_get (i32.const 0x150) (i32.const 4) (i32.const 0x10) (i32.const 0x18))))
"#;

/// Spawns (linked) a child whose configuration leaves no room for the
/// guest's one page of memory, then the same child with room for it.
const UNINSTANTIABLE: &str = r#"
  (data (i32.const 0x100) "wait")
  ;; Waits, so that it still exists when its parent asks.
  (func (export "wait")
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1))))
  (func $try (param $config i64)
    (i64.store (i32.const 0) (i64.const 0))
    (call $report32 (call $spawn (i64.const 1) (local.get $config) (i64.const -1)
      (i32.const 0x100) (i32.const 4) (i32.const 0x200) (i32.const 0) (i32.const 0))))
  (func (export "main")
    (local $config i64)
    (local.set $config (call $create_config))
    (call $config_set_max_memory (local.get $config) (i64.const 0x8000))
    (call $try (local.get $config))
    (call $report_error (i64.load (i32.const 0)))
    (call $config_set_max_memory (local.get $config) (i64.const 0x10000))
    (call $try (local.get $config))
    ;; The spawned child exists (its id is out), the failed one never did.
    (call $report32 (call $exists (i64.load (i32.const 0)))))
"#;

/// A process that cannot be instantiated (here: its memory exceeds its
/// configuration's limit; a full pool or exhausted address space alike) is
/// the spawner's error, with a message, and no process: the linked parent
/// is not told of a death, because nothing ran.
async fn a_child_that_cannot_instantiate_is_a_spawn_error(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(UNINSTANTIABLE);
    let (status, reports) = h.run(&module, "main", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}: {reports:?}");
    assert_eq!(reports.len(), 4, "on {engine}: {reports:?}");
    assert_eq!(reports[0], Report::Value(1), "on {engine}");
    match &reports[1] {
        Report::Text(text) => assert!(
            text.starts_with("cannot spawn: cannot instantiate") && text.contains("memory"),
            "on {engine}: {text}"
        ),
        other => panic!("on {engine}: no error text: {other:?}"),
    }
    assert_eq!(reports[2..], values(&[0, 1]), "on {engine}");
    h.assert_lives_on(bystander).await;
}

async fn spawning_a_missing_or_mistyped_export_reports_an_error_id(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(SPAWN_ERRORS);
    let (status, reports) = h.run(&module, "main", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    let entry = |name: &str, ty: &str, given: &str| {
        format!(
            "cannot spawn: function `{name}` has type {ty}, but a process entry must take ({given}) and return nothing"
        )
    };
    let texts = [
        "cannot spawn: the module exports no function `missing`".to_owned(),
        entry("takes_i32", "(i32) -> ()", ""),
        entry("takes_i32", "(i32) -> ()", "i64"),
        entry("returns_i32", "() -> (i32)", ""),
        "cannot spawn: the module exports no function `memory`".to_owned(),
        entry("nothing", "() -> ()", "i64"),
        "cannot spawn: the module exports no function `missing`".to_owned(),
    ];
    let mut expected: Vec<Report> = texts
        .into_iter()
        .flat_map(|text| [Report::Value(1), Report::Text(text)])
        .collect();
    expected.push(Report::Value(1));
    assert_eq!(reports, expected, "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// Spawn parameters: 17-byte entries of a type byte and a 16-byte value.
const PARAMS: &str = r#"
  (data (i32.const 0x100) "nothing")
  (data (i32.const 0x110) "name")
  (data (i32.const 0x200) "\7d\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 0x211) "\7f\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 0x222) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (func (export "nothing"))
  (func $spawn_params (param $at i32) (param $len i32)
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (local.get $at) (local.get $len) (i32.const 0))))
  (func (export "twenty_bytes") (call $spawn_params (i32.const 0x211) (i32.const 20)))
  (func (export "sixteen_bytes") (call $spawn_params (i32.const 0x211) (i32.const 16)))
  (func (export "f32_type") (call $spawn_params (i32.const 0x200) (i32.const 17)))
  (func (export "zero_type_second") (call $spawn_params (i32.const 0x211) (i32.const 34)))
  (func (export "get_or_spawn_twenty_bytes")
    (drop (call $get_or_spawn (i32.const 0x110) (i32.const 4) (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (i32.const 0x211) (i32.const 20) (i32.const 0) (i32.const 8))))
"#;

async fn malformed_spawn_params_trap(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(PARAMS);
    let types = "expected 0x7f (i32), 0x7e (i64) or 0x7b (v128)";
    let rows: &[(&str, &str)] = &[
        (
            "twenty_bytes",
            "lunatic::process::spawn: spawn parameters come in 17-byte entries, but 3 bytes remain after 1 entries",
        ),
        (
            "sixteen_bytes",
            "lunatic::process::spawn: spawn parameters come in 17-byte entries, but 16 bytes remain after 0 entries",
        ),
        (
            "f32_type",
            &format!("lunatic::process::spawn: spawn parameter 0 has type byte 0x7d; {types}"),
        ),
        (
            "zero_type_second",
            &format!("lunatic::process::spawn: spawn parameter 1 has type byte 0x00; {types}"),
        ),
        (
            "get_or_spawn_twenty_bytes",
            "lunatic::process::get_or_spawn: spawn parameters come in 17-byte entries, but 3 bytes remain after 1 entries",
        ),
    ];
    assert_traps(&h, &module, rows).await;
    h.assert_lives_on(bystander).await;
}

/// A process without permissions; and one whose child runs under a
/// configuration it made (which denies everything).
const PERMISSIONS: &str = r#"
  (data (i32.const 0x100) "nothing")
  (data (i32.const 0x110) "name")
  (data (i32.const 0x120) "spawner")
  (data (i32.const 0x200) "\00asm\01\00\00\00")
  (func (export "nothing"))
  (func (export "spawner")
    (drop (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0))))
  (func (export "get_or_spawner")
    (drop (call $get_or_spawn (i32.const 0x110) (i32.const 4) (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 8))))
  (func (export "creator")
    (call $report (call $create_config))
    (call $report32 (call $compile_module (i32.const 0x200) (i32.const 8) (i32.const 0))))
  (func (export "parent") (local $config i64)
    (call $die_when_link_dies (i32.const 0))
    (local.set $config (call $create_config))
    (call $report32 (call $config_can_spawn_processes (local.get $config)))
    (call $report32 (call $spawn (i64.const 55) (local.get $config) (i64.const -1)
      (i32.const 0x120) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0)))
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (call $get_tag)))
"#;

async fn spawning_without_permission_traps(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(PERMISSIONS);
    let denied = "may not spawn processes (its configuration denies it)";
    for (entry, function) in [("spawner", "spawn"), ("get_or_spawner", "get_or_spawn")] {
        let exit = h
            .spawn_config(&module, entry, &[], ProcessConfig::default())
            .wait()
            .await;
        assert_trap(
            engine,
            &exit.status,
            &format!("lunatic::process::{function}: this process {denied}"),
        );
    }
    let exit = h
        .spawn_config(&module, "creator", &[], ProcessConfig::default())
        .wait()
        .await;
    assert_eq!(exit.status, ExitStatus::Returned, "on {engine}");
    assert_eq!(h.reports(exit.id), values(&[-1, -1]), "on {engine}");
    // The child, under the parent's new (all-denying) configuration, traps;
    // the linked parent learns it as a link-died message with its tag.
    let (status, reports) = h.run(&module, "parent", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    assert_eq!(reports, values(&[0, 0, 1, 55]), "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// Spawns blockers until the node is full and reports why it stopped;
/// then kills them and waits until they are gone.
const BOMB: &str = r#"
  (data (i32.const 0x100) "blocker")
  (global $children (mut i32) (i32.const 0))
  (func (export "blocker")
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1))))
  (func $child (param $i i32) (result i32)
    (i32.add (i32.const 0x1000) (i32.shl (local.get $i) (i32.const 3))))
  (func (export "bomb") (local $i i32)
    (loop $next
      (if (i32.eqz (call $spawn (i64.const 0) (i64.const -1) (i64.const -1)
            (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0)))
        (then
          (i64.store (call $child (global.get $children)) (i64.load (i32.const 0)))
          (call $monitor (i64.load (i32.const 0)))
          (call $report (i64.load (i32.const 0)))
          (global.set $children (i32.add (global.get $children) (i32.const 1)))
          (br $next))))
    (call $report_error (i64.load (i32.const 0)))
    (loop $kill
      (call $kill (i64.load (call $child (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $kill (i32.lt_u (local.get $i) (global.get $children))))
    (loop $wait
      (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $wait (local.get $i))))
"#;

async fn a_spawn_loop_stops_at_the_process_limit(engine: EngineKind) {
    let h = Harness::new(Settings {
        engine,
        max_processes: 8,
        ..Settings::default()
    });
    let bystander = h.bystander();
    let module = h.module(BOMB);
    let (status, reports) = h.run(&module, "bomb", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    // The bystander and the bomb count too: room for 6 blockers.
    let (text, children) = reports.split_last().unwrap();
    assert_eq!(children.len(), 6, "on {engine}: {reports:?}");
    assert_eq!(
        *text,
        Report::Text("cannot spawn: the runtime already runs 8 processes, its limit".into()),
        "on {engine}"
    );
    // The blockers are gone (the bomb heard of each death), so there is
    // room again.
    assert_eq!(h.runtime.node().process_count(), 1, "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// `kill` of the caller itself, directly and inside `trap::catch`, and
/// `proc_exit` inside `catch`: none of them is caught.
const SELF_KILL: &str = r#"
  (table 2 funcref)
  (elem (i32.const 0) $kill_self $exit_3)
  (func $kill_self (param i32) (result i32)
    (call $kill (call $process_id))
    (i32.const 5))
  (func $exit_3 (param i32) (result i32)
    (call $proc_exit (i32.const 3))
    (i32.const 5))
  (func (export "_lunatic_catch_trap") (param $function i32) (param $argument i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get $argument) (local.get $function)))
  (func (export "kill_self")
    (call $kill (call $process_id))
    (call $report (i64.const 1)))
  (func (export "kill_self_in_catch")
    (call $report32 (call $catch (i32.const 0) (i32.const 0))))
  (func (export "exit_in_catch")
    (call $report32 (call $catch (i32.const 1) (i32.const 0))))
  ;; Killing ids that name nothing does nothing.
  (func (export "kill_forged")
    (call $kill (i64.const 0))
    (call $kill (i64.const 0xdead))
    (call $kill (i64.const -1))
    (call $report (i64.const 1)))
"#;

async fn killing_itself_traps_even_inside_catch(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(SELF_KILL);
    let killed = "lunatic::process::kill: the process killed itself";
    for entry in ["kill_self", "kill_self_in_catch"] {
        let (status, reports) = h.run(&module, entry, &[]).await;
        assert_trap(engine, &status, killed);
        assert_eq!(reports, [], "{entry} on {engine}");
    }
    let (status, reports) = h.run(&module, "exit_in_catch", &[]).await;
    assert_eq!(status, ExitStatus::Exited(3), "on {engine}");
    assert_eq!(reports, [], "on {engine}");
    let (status, reports) = h.run(&module, "kill_forged", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    assert_eq!(reports, values(&[1]), "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// A child kills the parent that spawned it, unlinked or linked. The child
/// reports its parent's id first, so the host can tell which one it is.
const FAMILY: &str = r#"
  (data (i32.const 0x100) "child")
  (data (i32.const 0x110) "linked_child")
  (func $parent (param $link i64) (param $name i32) (param $len i32)
    (call $param_i64 (i32.const 0x200) (call $process_id))
    (drop (call $spawn (local.get $link) (i64.const -1) (i64.const -1)
      (local.get $name) (local.get $len) (i32.const 0x200) (i32.const 17) (i32.const 0)))
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (i64.const 666)))
  (func (export "parent") (call $parent (i64.const 0) (i32.const 0x100) (i32.const 5)))
  (func (export "linked_parent") (call $parent (i64.const 77) (i32.const 0x110) (i32.const 12)))
  (func $live_on
    (drop (call $receive (i32.const 0x40) (i32.const 1) (i64.const -1)))
    (call $report (call $get_tag)))
  (func (export "child") (param $parent i64)
    (call $report (local.get $parent))
    (call $kill (local.get $parent))
    (call $report (i64.const 1))
    (call $live_on))
  (func (export "linked_child") (param $parent i64)
    (call $report (local.get $parent))
    (call $die_when_link_dies (i32.const 0))
    (call $kill (local.get $parent))
    ;; The parent's death arrives as link-died, without a tag.
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (call $get_tag))
    (call $live_on))
"#;

async fn killing_the_parent_leaves_the_child_running(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(FAMILY);
    for (parent, died) in [("parent", &[1][..]), ("linked_parent", &[1, 0])] {
        let exit = h.spawn(&module, parent, &[]).wait().await;
        assert_eq!(
            exit.status,
            ExitStatus::Killed(KillCause::Killed),
            "{parent} on {engine}"
        );
        let parent_id = exit.id;
        let child = h
            .wait_report(|p, r| p != parent_id && *r == Report::Value(parent_id as i64))
            .await;
        let mut expected = vec![parent_id as i64];
        expected.extend(died);
        assert_eq!(
            h.wait_reports(child, expected.len()).await,
            values(&expected),
            "{parent} on {engine}"
        );
        h.send(child, BYSTANDER_TAG);
        expected.push(BYSTANDER_TAG);
        assert_eq!(
            h.wait_reports(child, expected.len()).await,
            values(&expected),
            "{parent} on {engine}"
        );
        assert!(!h.reports(parent_id).contains(&Report::Value(666)));
    }
    h.assert_lives_on(bystander).await;
}

/// A process killed while it runs (here: calling a host function in a
/// loop, never waiting) stops at its next host call, at the latest; no
/// more of its code runs once it is reported dead.
const BUSY: &str = r#"
  (func (export "busy")
    (call $report (i64.const 1))
    (loop $forever
      (drop (call $exists (i64.const 0)))
      (br $forever)))
"#;

async fn a_busy_process_is_killed_and_stops(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(BUSY);
    let busy = h.spawn(&module, "busy", &[]);
    let id = busy.id();
    h.wait_reports(id, 1).await;
    busy.kill();
    assert_eq!(
        busy.wait().await.status,
        ExitStatus::Killed(KillCause::Killed),
        "on {engine}"
    );
    // Its state is dropped, so its guest has stopped. (On Wasmer the guest
    // thread runs on after the kill, but every host call of a cancelled
    // guest call traps, so it stops at its next one.)
    h.wait_dropped(id).await;
    h.assert_lives_on(bystander).await;
}

/// A guest spinning in wasm, without host calls, is stopped by a kill at
/// its next preemption yield (`tests/preemption.rs` covers every
/// mechanism; this is the engine's default).
async fn a_spinning_process_is_killed(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(
        r#"(func (export "spin")
             (call $report (i64.const 1))
             (loop $forever (br $forever)))"#,
    );
    let spinner = h.spawn(&module, "spin", &[]);
    let id = spinner.id();
    h.wait_reports(id, 1).await;
    spinner.kill();
    assert_eq!(
        spinner.wait().await.status,
        ExitStatus::Killed(KillCause::Killed),
        "on {engine}"
    );
    h.wait_dropped(id).await;
    h.assert_lives_on(bystander).await;
}

/// Processes suspended for `u64::MAX` ms, killed by the host or a guest.
const SLEEPERS: &str = r#"
  (func (export "sleeper")
    (call $sleep_ms (i64.const -1))
    (call $report (i64.const 666)))
  (func (export "waiter")
    (drop (call $receive (i32.const 0x40) (i32.const 1) (i64.const -2)))
    (call $report (i64.const 666)))
  (func (export "killer") (param $victim i64)
    (call $kill (local.get $victim))
    (call $report (i64.const 1)))
"#;

async fn kill_stops_a_sleeping_process(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(SLEEPERS);
    for entry in ["sleeper", "waiter"] {
        let by_host = h.spawn(&module, entry, &[]);
        by_host.kill();
        let by_guest = h.spawn(&module, entry, &[]);
        let (status, reports) = h.run(&module, "killer", &[i64_arg(by_guest.id())]).await;
        assert_eq!(status, ExitStatus::Returned, "on {engine}");
        assert_eq!(reports, values(&[1]), "on {engine}");
        for victim in [by_host, by_guest] {
            let exit = victim.wait().await;
            assert_eq!(
                exit.status,
                ExitStatus::Killed(KillCause::Killed),
                "on {engine}"
            );
            assert_eq!(h.reports(exit.id), [], "on {engine}");
        }
    }
    h.assert_lives_on(bystander).await;
}

/// Links to ids that name no live process count as failed links.
const LINKS: &str = r#"
  (func (export "nothing"))
  (func $link_died
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (call $get_tag)))
  (func (export "trapping") (param $dead i64)
    (call $die_when_link_dies (i32.const 0))
    (call $link (i64.const 5) (i64.const 0xdead))
    (call $link_died)
    (call $link (i64.const 0) (i64.const -1))
    (call $link_died)
    (call $link (i64.const 6) (local.get $dead))
    (call $link_died)
    ;; Linking to itself, and unlinking what is not linked, do nothing.
    (call $link (i64.const 7) (call $process_id))
    (call $unlink (i64.const 0xbeef))
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const 0))))
  (func (export "dying")
    (call $link (i64.const 0) (i64.const 0xdead))
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (i64.const 666)))
"#;

async fn linking_to_a_forged_id_is_a_failed_link(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(LINKS);
    let dead = h.spawn(&module, "nothing", &[]).wait().await.id;
    let (status, reports) = h.run(&module, "trapping", &[i64_arg(dead)]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    assert_eq!(reports, values(&[1, 5, 1, 0, 1, 6, 9027]), "on {engine}");
    let (status, reports) = h.run(&module, "dying", &[]).await;
    assert_eq!(
        status,
        ExitStatus::Killed(KillCause::LinkFailed { peer: 0xdead }),
        "on {engine}"
    );
    assert_eq!(reports, [], "on {engine}");
    h.assert_lives_on(bystander).await;
}

/// Monitors of ids that name no live process hear of the death at once.
const MONITORS: &str = r#"
  (func (export "nothing"))
  (func $process_died
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
    (call $report (call $get_process_id))
    (call $report (call $get_tag)))
  (func (export "main") (param $dead i64)
    (call $monitor (local.get $dead))
    (call $process_died)
    (call $monitor (i64.const 0xdead))
    (call $process_died)
    ;; Monitoring itself and un-monitoring strangers do nothing.
    (call $monitor (call $process_id))
    (call $stop_monitoring (i64.const 0xbeef))
    (call $report32 (call $receive (i32.const 0) (i32.const 0) (i64.const 0))))
"#;

async fn monitoring_a_dead_id_delivers_process_died(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(MONITORS);
    let dead = h.spawn(&module, "nothing", &[]).wait().await.id;
    let (status, reports) = h.run(&module, "main", &[i64_arg(dead)]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    assert_eq!(
        reports,
        values(&[2, dead as i64, 0, 2, 0xdead, 0, 9027]),
        "on {engine}"
    );
    h.assert_lives_on(bystander).await;
}

/// Racers all asking for the same name: one spawns, the rest find it.
const RACERS: &str = r#"
  (data (i32.const 0x100) "service")
  (data (i32.const 0x110) "server")
  (func (export "server")
    (drop (call $receive (i32.const 0x40) (i32.const 1) (i64.const -1))))
  (func (export "racer")
    (call $report32 (call $get_or_spawn (i32.const 0x100) (i32.const 7)
      (i64.const 0) (i64.const -1) (i64.const -1)
      (i32.const 0x110) (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 0)))
    (call $report (i64.load (i32.const 8)))
    (call $report (i64.load (i32.const 0))))
"#;

async fn racing_get_or_spawn_spawns_once(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(RACERS);
    let racers: Vec<_> = (0..12).map(|_| h.spawn(&module, "racer", &[])).collect();
    let mut answers = Vec::new();
    for racer in racers {
        let exit = racer.wait().await;
        assert_eq!(exit.status, ExitStatus::Returned, "on {engine}");
        let reports = h.reports(exit.id);
        let [
            Report::Value(status),
            Report::Value(node),
            Report::Value(id),
        ] = reports[..]
        else {
            panic!("on {engine}: {reports:?}")
        };
        answers.push((status, node, id));
    }
    let spawned: Vec<_> = answers.iter().filter(|(s, ..)| *s == 0).collect();
    assert_eq!(spawned.len(), 1, "on {engine}: {answers:?}");
    let server = spawned[0].2;
    for &(status, node, id) in &answers {
        assert!(status == 0 || status == 2, "on {engine}: {answers:?}");
        assert_eq!((node, id), (0, server), "on {engine}: {answers:?}");
    }
    h.send(server as u64, BYSTANDER_TAG);
    h.assert_lives_on(bystander).await;
}

/// `registry::get` of a name nobody registered.
const LOOKUP: &str = r#"
  (data (i32.const 0x100) "missing")
  (func $get (result i32)
    (call $registry_get (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 8)))
  (func (export "main")
    (i64.store (i32.const 0) (i64.const 0x1111_1111_1111_1111))
    (i64.store (i32.const 8) (i64.const 0x2222_2222_2222_2222))
    (call $report32 (call $get))
    (call $report (i64.load (i32.const 0)))
    (call $report (i64.load (i32.const 8)))
    ;; Removing a missing name does nothing; a forged entry is just numbers,
    ;; and a message sent to it is dropped.
    (call $registry_remove (i32.const 0x100) (i32.const 7))
    (call $registry_put (i32.const 0x100) (i32.const 7) (i64.const 0) (i64.const 0xdead))
    (call $report32 (call $get))
    (call $report (i64.load (i32.const 0)))
    (call $report (i64.load (i32.const 8)))
    (call $create_data (i64.const 1) (i64.const 0))
    (call $report32 (call $send (i64.load (i32.const 8))))
    (call $registry_remove (i32.const 0x100) (i32.const 7))
    (call $report32 (call $get)))
"#;

async fn registry_get_of_a_missing_name_leaves_the_out_pointers(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(LOOKUP);
    let (status, reports) = h.run(&module, "main", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    assert_eq!(
        reports,
        values(&[
            1,
            0x1111_1111_1111_1111,
            0x2222_2222_2222_2222,
            0,
            0,
            0xdead,
            0,
            1
        ]),
        "on {engine}"
    );
    h.assert_lives_on(bystander).await;
}

/// `trap::catch` around functions that trap, forged function indexes, and
/// a guest that nests `catch` in itself without end.
const CATCH: &str = r#"
  (table 2 funcref)
  (elem (i32.const 0) $five $unreachable)
  (func $five (param i32) (result i32) (i32.const 5))
  (func $unreachable (param i32) (result i32) unreachable)
  (global $depth (mut i32) (i32.const 0))
  (func (export "_lunatic_catch_trap") (param $function i32) (param $argument i32) (result i32)
    (if (result i32) (i32.eq (local.get $function) (i32.const 99))
      (then
        (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
        (call $catch (i32.const 99) (i32.const 0)))
      (else
        (call_indirect (param i32) (result i32) (local.get $argument) (local.get $function)))))
  (func (export "main")
    (call $report32 (call $catch (i32.const 0) (i32.const 0)))
    (call $report32 (call $catch (i32.const 1) (i32.const 0)))
    (call $report32 (call $catch (i32.const 2) (i32.const 0)))
    (call $report32 (call $catch (i32.const -1) (i32.const 0)))
    (call $report32 (call $catch (i32.const 99) (i32.const 0)))
    (call $report32 (global.get $depth))
    ;; The runtime still calls back in after all that.
    (call $report32 (call $catch (i32.const 0) (i32.const 0))))
"#;

/// A guest without the export `catch` calls, and one with the wrong type.
const NO_CATCH_EXPORT: &str = r#"
  (func (export "main") (drop (call $catch (i32.const 0) (i32.const 0))))
"#;

const MISTYPED_CATCH_EXPORT: &str = r#"
  (func (export "_lunatic_catch_trap") (param i32))
  (func (export "main") (drop (call $catch (i32.const 0) (i32.const 0))))
"#;

async fn catch_survives_hostile_functions(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let module = h.module(CATCH);
    let (status, reports) = h.run(&module, "main", &[]).await;
    assert_eq!(status, ExitStatus::Returned, "on {engine}");
    // 8 nested catches run; the 9th traps, and the 8th catches that.
    assert_eq!(reports, values(&[5, 0, 0, 0, 0, 8, 5]), "on {engine}");
    let module = h.module(NO_CATCH_EXPORT);
    let (status, _) = h.run(&module, "main", &[]).await;
    assert_trap(
        engine,
        &status,
        "lunatic::trap::catch: the guest exports no function `_lunatic_catch_trap`",
    );
    let module = h.module(MISTYPED_CATCH_EXPORT);
    let (status, _) = h.run(&module, "main", &[]).await;
    assert_trap(
        engine,
        &status,
        "lunatic::trap::catch: the guest function `_lunatic_catch_trap` has type (i32) -> (), but was called as (i32, i32) -> (i32)",
    );
    h.assert_lives_on(bystander).await;
}

async fn imports_the_runtime_lacks(engine: EngineKind) {
    let h = Harness::on(engine);
    let bystander = h.bystander();
    let stubbed = h.module_importing(
        r#"(import "lunatic::networking" "tcp_bind"
             (func $tcp_bind (param i32 i32 i32 i32 i32 i32) (result i32)))
           (import "lunatic::future" "thing" (func $thing (param i64)))"#,
        r#"(func (export "bind")
             (drop (call $tcp_bind (i32.const 0) (i32.const 0) (i32.const 0)
               (i32.const 0) (i32.const 0) (i32.const 0))))
           (func (export "thing") (call $thing (i64.const 0)))"#,
    );
    let (status, _) = h.run(&stubbed, "bind", &[]).await;
    assert_trap(
        engine,
        &status,
        "lunatic::networking::tcp_bind: not supported by funk-runtime yet (networking)",
    );
    let (status, _) = h.run(&stubbed, "thing", &[]).await;
    assert_trap(
        engine,
        &status,
        "lunatic::future::thing: not supported by funk-runtime yet",
    );
    let foreign =
        wat::parse_str(r#"(module (import "env" "host_thing" (func)) (func (export "main")))"#)
            .unwrap();
    let error = h.runtime.compile(&foreign).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the module imports function `env::host_thing`, which funk-runtime does not provide",
        "on {engine}"
    );
    // A runtime function imported with the wrong type: Wasmtime links at
    // compile time and refuses the module; Wasmer links at each spawn, and
    // the process fails.
    let mistyped = wat::parse_str(
        r#"(module
             (import "lunatic::message" "send" (func $send (param i32) (result i32)))
             (func (export "main") (drop (call $send (i32.const 1)))))"#,
    )
    .unwrap();
    match engine {
        EngineKind::Wasmtime => assert_eq!(
            h.runtime.compile(&mistyped).unwrap_err().to_string(),
            "incompatible import type for `lunatic::message::send`: types incompatible: \
             expected type `(func (param i32) (result i32))`, found type `(func (param i64) (result i32))`"
        ),
        EngineKind::Wasmer => {
            let module = h.runtime.compile(&mistyped).unwrap();
            let error = h
                .runtime
                .spawn(&module, "main", ProcessConfig::privileged())
                .unwrap_err();
            assert_eq!(
                error.to_string(),
                "cannot spawn: cannot instantiate: Error while importing \"lunatic::message\".\"send\": \
                 incompatible import type. Expected Function(FunctionType { params: [I32], results: [I32] }) \
                 but received Function(FunctionType { params: [I64], results: [I32] })",
            );
        }
    }
    // A guest without memory: functions that need it trap.
    let memoryless = wat::parse_str(
        r#"(module
             (import "lunatic::message" "create_data" (func $create (param i64 i64)))
             (import "lunatic::message" "write_data" (func $write (param i32 i32) (result i32)))
             (func (export "main")
               (call $create (i64.const 1) (i64.const 0))
               (drop (call $write (i32.const 0) (i32.const 1)))))"#,
    )
    .unwrap();
    let module = h.runtime.compile(&memoryless).unwrap();
    let (status, _) = h.run(&module, "main", &[]).await;
    let no_memory = match engine {
        EngineKind::Wasmtime => "the guest exports no memory named `memory`",
        EngineKind::Wasmer => {
            "no guest memory is bound to this store (bind it after instantiation)"
        }
    };
    assert_trap(
        engine,
        &status,
        &format!("lunatic::message::write_data: argument data: {no_memory}"),
    );
    h.assert_lives_on(bystander).await;
}

/// Grants `/data/sub` (beneath the parent's preopen `/data`) to a child
/// config and spawns a child with it, which reads `f` there; then tries to
/// grant `/data/../outside`, which leaves the preopen.
const GRANTS: &str = r#"
  (import "lunatic::wasi" "config_preopen_dir" (func $config_preopen_dir (param i64 i32 i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
"#;

const GRANTING: &str = r#"
  (data (i32.const 0x100) "/data/sub")
  (data (i32.const 0x120) "f")
  (data (i32.const 0x140) "/data/../outside")
  (data (i32.const 0x160) "child")
  (func (export "main")
    (local $config i64)
    (local.set $config (call $create_config))
    (call $config_preopen_dir (local.get $config) (i32.const 0x100) (i32.const 9))
    (call $report32 (call $spawn (i64.const 0) (local.get $config) (i64.const -1)
      (i32.const 0x160) (i32.const 5) (i32.const 0x200) (i32.const 0) (i32.const 0)))
    (call $config_preopen_dir (local.get $config) (i32.const 0x140) (i32.const 16)))
  (func (export "child")
    (call $report32 (call $prestat_dir_name (i32.const 3) (i32.const 0x300) (i32.const 9)))
    (call $report_text (i32.const 0x300) (i32.const 9))
    (call $report32 (call $path_open (i32.const 3) (i32.const 0) (i32.const 0x120) (i32.const 1)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0x310)))
    (i32.store (i32.const 0x320) (i32.const 0x400))
    (i32.store (i32.const 0x324) (i32.const 32))
    (call $report32 (call $fd_read (i32.load (i32.const 0x310)) (i32.const 0x320) (i32.const 1) (i32.const 0x330)))
    (call $report_text (i32.const 0x400) (i32.load (i32.const 0x330))))
"#;

/// A guest passes on to the processes it spawns only directories it may
/// open itself (`lunatic::wasi::config_preopen_dir`), resolved beneath its
/// own preopens: a subdirectory works, a path that leaves them traps.
async fn a_guest_grants_only_directories_it_has(engine: EngineKind) {
    let root = std::env::temp_dir().join(format!("funk-grant-{engine}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("data/sub")).unwrap();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(root.join("data/sub/f"), "inside sub").unwrap();
    let h = Harness::on(engine);
    let module = h.module_importing(GRANTS, GRANTING);
    let mut config = ProcessConfig::privileged();
    config.preopens = vec![funk_runtime::Preopen {
        host: root.join("data"),
        guest: "/data".into(),
    }];
    let parent = h.spawn_config(&module, "main", &[], config);
    let parent_id = parent.id();
    let exit = parent.wait().await;
    assert_trap(
        engine,
        &exit.status,
        "lunatic::wasi::config_preopen_dir: argument dir: `/data/../outside` is not a directory beneath this process's preopened directories [\"/data\"]",
    );
    assert_eq!(h.reports(parent_id), values(&[0]), "on {engine}");
    let child = h
        .wait_report(|_, report| *report == Report::Text("/data/sub".into()))
        .await;
    let reports = h.wait_reports(child, 5).await;
    assert_eq!(
        reports,
        vec![
            Report::Value(0),
            Report::Text("/data/sub".into()),
            Report::Value(0),
            Report::Value(0),
            Report::Text("inside sub".into()),
        ],
        "on {engine}"
    );
    let _ = std::fs::remove_dir_all(&root);
}
