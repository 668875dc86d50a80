//! Generates the guest's bindings from the host API crate. With
//! `FUNK_BINDINGS_API=v2` they come from the changed host of
//! `funk_bindings_test_api::v2` instead (tests/guest_bindings.rs shows that
//! the guest then no longer builds).

fn main() {
    println!("cargo::rerun-if-env-changed=FUNK_BINDINGS_API");
    let interface = match std::env::var("FUNK_BINDINGS_API").as_deref() {
        Ok("v2") => funk_bindings_test_api::v2::interface(),
        _ => funk::describe::Interface::of::<funk_bindings_test_api::Kv>(),
    };
    funk::bindgen::write_rust(&interface, "kv.rs").expect("cannot write the bindings");
}
