//! Process configurations: permissions and limits.

use std::time::Duration;

use lunatic::MessageSignal;
use lunatic::{spawn_link, Mailbox, Process, ProcessConfig, Tag};

#[lunatic::test]
fn a_process_over_its_memory_limit_fails_and_its_parent_learns_it(m: Mailbox<()>) {
    let m = m.catch_link_failure();
    let mut config = ProcessConfig::new().unwrap();
    config.set_max_memory(1_500_000);
    let tag = Tag::new();
    Process::spawn_link_config_tag(&config, (), tag, |_, _: Mailbox<()>| {
        let big = vec![7u8; 4_000_000];
        assert_eq!(big.len(), 4_000_000);
    });
    match m.receive_timeout(Duration::from_secs(10)) {
        Ok(MessageSignal::Signal(lunatic::LinkDiedSignal(died))) => assert_eq!(died, tag),
        _ => panic!("the child did not fail on its memory limit"),
    }
}

#[lunatic::test]
fn a_process_within_its_memory_limit_runs() {
    let mut config = ProcessConfig::new().unwrap();
    config.set_max_memory(8_000_000);
    let task = spawn_link!(@task &config, || vec![1u8; 1_000_000].len());
    assert_eq!(task.result(), 1_000_000);
}

#[lunatic::test]
fn a_process_without_spawn_permission_is_refused(m: Mailbox<()>) {
    let m = m.catch_link_failure();
    let config = ProcessConfig::new().unwrap();
    assert!(!config.can_spawn_processes());
    let tag = Tag::new();
    Process::spawn_link_config_tag(&config, (), tag, |_, _: Mailbox<()>| {
        // The spawn itself traps: this process fails.
        Process::spawn((), |_, _: Mailbox<()>| {});
        unreachable!("spawning was allowed");
    });
    match m.receive_timeout(Duration::from_secs(10)) {
        Ok(MessageSignal::Signal(lunatic::LinkDiedSignal(died))) => assert_eq!(died, tag),
        _ => panic!("the child's spawn was not refused"),
    }
}

#[lunatic::test]
fn permissions_and_limits_read_back() {
    let mut config = ProcessConfig::new().unwrap();
    config.set_can_spawn_processes(true);
    config.set_can_create_configs(true);
    config.set_max_memory(3_000_000);
    config.set_max_fuel(7);
    assert!(config.can_spawn_processes() && config.can_create_configs());
    assert!(!config.can_compile_modules());
    assert_eq!(config.get_max_memory(), 3_000_000);
    assert_eq!(config.get_max_fuel(), 7);
}

#[lunatic::test]
fn a_child_without_permission_cannot_create_configs() {
    let config = ProcessConfig::new().unwrap();
    let task = spawn_link!(@task &config, || ProcessConfig::new().is_err());
    assert!(task.result());
}

#[lunatic::test]
fn environment_and_arguments_come_from_the_config() {
    let mut config = ProcessConfig::new().unwrap();
    config.add_environment_variable("SUITE_KEY", "value");
    config.add_command_line_argument("first");
    let task = spawn_link!(@task &config, || {
        (std::env::var("SUITE_KEY").ok(), std::env::args().collect::<Vec<_>>())
    });
    let (var, args) = task.result();
    assert_eq!(var.as_deref(), Some("value"));
    assert_eq!(args, ["first"]);
}
