//! Writes the bindings of the `files` example's host API.

fn main() {
    let interface = funk::describe::Interface::of::<funk_bindings_test_api::files::Files>();
    funk::bindgen::write_rust(&interface, "files.rs").expect("cannot write the bindings");
}
