//! Test set 1: programs written with the crates.io `lunatic` 0.14.1 crate
//! (tests/guests/lunatic-suite), built for wasm32-wasip1 and run with the
//! `funk` binary on both engines: every `#[lunatic::test]` scenario
//! (spawn, messages, links, monitors, registry, timers, AbstractProcess,
//! Supervisor, catch_panic, ProcessLocal, Protocol, configs) must pass, and
//! `funk run` must pass arguments and exit codes through.

mod support;

use std::sync::OnceLock;

use support::{ENGINES, Verdict, build_guest, funk, output, verdicts};

fn suite() -> &'static std::path::Path {
    static WASM: OnceLock<std::path::PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("lunatic-suite", "lunatic-suite"))
}

/// Every scenario the suite defines; a new one must be added here, so a
/// scenario that silently stops being found fails the test.
const SCENARIOS: &[&str] = &[
    "configs::a_child_without_permission_cannot_create_configs",
    "configs::a_process_over_its_memory_limit_fails_and_its_parent_learns_it",
    "configs::a_process_within_its_memory_limit_runs",
    "configs::a_process_without_spawn_permission_is_refused",
    "configs::environment_and_arguments_come_from_the_config",
    "configs::permissions_and_limits_read_back",
    "links::a_failing_linked_child_kills_the_parent",
    "links::a_kill_propagates_to_links_as_a_failure",
    "links::a_kill_stops_a_process_sleeping_in_wasi",
    "links::a_normal_exit_does_not_kill_the_parent",
    "links::an_unlinked_failing_child_does_not_kill_the_parent",
    "links::linking_to_an_exited_process_is_a_link_death",
    "links::links_are_transitive_through_failures",
    "links::monitors_see_every_death_and_never_die",
    "links::stop_monitoring_silences_a_death",
    "links::trapping_link_deaths_delivers_the_tag",
    "messages::a_protocol_runs_to_its_end",
    "messages::order_per_sender_is_kept",
    "messages::receive_times_out",
    "messages::request_and_response_by_tag",
    "messages::send_after_delivers_and_cancel_prevents",
    "messages::tagged_receive_is_selective_and_fifo_among_matches",
    "otp::a_supervisor_restarts_a_child_that_panics",
    "otp::an_abstract_process_handles_messages_and_requests",
    "otp::an_abstract_process_is_found_by_name",
    "processes::a_hundred_children_each_answer_once",
    "processes::a_panic_with_a_message_is_reported",
    "processes::a_task_returns_its_result",
    "processes::catch_panic_catches_and_the_process_goes_on",
    "processes::is_alive_follows_the_process",
    "processes::process_locals_are_per_process",
    "processes::spawn_and_join",
    "processes::the_registry_finds_registered_processes",
];

#[test]
fn every_scenario_passes_on_every_engine() {
    for engine in ENGINES {
        let out = output(
            std::process::Command::new(funk())
                .args(["test", "--engine", engine])
                .arg(suite()),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let found = verdicts(&stdout);
        let expected: Vec<String> = SCENARIOS
            .iter()
            .map(|s| format!("lunatic_suite::{s}"))
            .collect();
        assert_eq!(
            found.keys().cloned().collect::<Vec<_>>(),
            expected,
            "{engine}: the scenarios found differ from the list\n{stdout}"
        );
        let failed: Vec<&String> = found
            .iter()
            .filter(|(_, v)| **v != Verdict::Ok)
            .map(|(name, _)| name)
            .collect();
        assert!(
            failed.is_empty() && out.status.success(),
            "{engine}: failed {failed:?}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!(
                "test result: ok. {} passed; 0 failed",
                SCENARIOS.len()
            )),
            "{stdout}"
        );
    }
}

#[test]
fn filters_select_tests_and_a_failure_fails_the_run() {
    for engine in ENGINES {
        // `--exact` with one name runs that test only.
        let name = "lunatic_suite::processes::spawn_and_join";
        let out = output(
            std::process::Command::new(funk())
                .args(["test", "--engine", engine])
                .arg(suite())
                .args([name, "--exact"]),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(verdicts(&stdout).len(), 1, "{stdout}");
        assert!(
            stdout.contains(&format!("{} filtered out", SCENARIOS.len() - 1)),
            "{stdout}"
        );
        // `--list --format terse` lists without running.
        let out = output(
            std::process::Command::new(funk())
                .args(["test", "--engine", engine])
                .arg(suite())
                .args(["--list", "--format", "terse", "links::"]),
        );
        let listed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            listed.lines().count(),
            SCENARIOS
                .iter()
                .filter(|s| s.starts_with("links::"))
                .count(),
            "{listed}"
        );
        assert!(listed.lines().all(|l| l.ends_with(": test")), "{listed}");
    }
}

#[test]
fn funk_run_passes_arguments_and_exit_codes() {
    for engine in ENGINES {
        let out = output(
            std::process::Command::new(funk())
                .args(["run", "--engine", engine])
                .arg(suite())
                .args(["7", "--not-a-flag-of-funk"]),
        );
        assert_eq!(out.status.code(), Some(7), "{engine}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "lunatic-suite: 3 argument(s)\n",
            "{engine}"
        );
        let out = output(
            std::process::Command::new(funk())
                .args(["run", "--engine", engine])
                .arg(suite()),
        );
        assert_eq!(out.status.code(), Some(0), "{engine}: {out:?}");
    }
}
