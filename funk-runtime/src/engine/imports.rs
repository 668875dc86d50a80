//! What the runtime does with each import of a module.
//!
//! Imports the runtime's host-function blocks define are linked to them.
//! An import under a `lunatic::` namespace that the runtime does not
//! implement yet (networking, distributed, SQLite, or a function of a newer
//! guest crate) is linked to a stub that traps with a message saying so,
//! with whatever signature the module declares: a program that merely
//! imports it still instantiates. Any other unknown import is an error at
//! compile time, naming it.

use std::collections::HashSet;

/// Functions the runtime defines, by `(namespace, name)`.
#[derive(Debug, Default, Clone)]
pub(crate) struct ImportPlan {
    provided: HashSet<(String, String)>,
}

/// How one import is satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// A host-function block defines it.
    Provided,
    /// A stub that traps with this message.
    Stub(String),
    /// Nothing can satisfy it; the message says why.
    Missing(String),
}

impl ImportPlan {
    /// A plan for the functions `provided` lists.
    pub(crate) fn new<'a>(provided: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        ImportPlan {
            provided: provided
                .into_iter()
                .map(|(ns, name)| (ns.to_owned(), name.to_owned()))
                .collect(),
        }
    }

    /// Adds functions of an embedder's block.
    pub(crate) fn extend<'a>(&mut self, provided: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.provided.extend(
            provided
                .into_iter()
                .map(|(ns, name)| (ns.to_owned(), name.to_owned())),
        );
    }

    /// How the function import `namespace::name` is satisfied.
    pub(crate) fn resolve(&self, namespace: &str, name: &str) -> Resolution {
        if self
            .provided
            .contains(&(namespace.to_owned(), name.to_owned()))
        {
            Resolution::Provided
        } else if namespace.starts_with("lunatic::") {
            Resolution::Stub(unsupported_import_message(namespace, name))
        } else {
            Resolution::Missing(format!(
                "the module imports function `{namespace}::{name}`, which funk-runtime does not provide"
            ))
        }
    }
}

/// The trap message of a stub for `namespace::name`.
pub(crate) fn unsupported_import_message(namespace: &str, name: &str) -> String {
    let area = match namespace {
        "lunatic::networking" => " (networking)",
        "lunatic::distributed" => " (distributed mode)",
        "lunatic::sqlite" => " (SQLite)",
        _ => "",
    };
    format!("{namespace}::{name}: not supported by funk-runtime yet{area}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lunatic_imports_are_stubbed_others_are_missing() {
        let plan = ImportPlan::new([("lunatic::message", "send")]);
        assert_eq!(
            plan.resolve("lunatic::message", "send"),
            Resolution::Provided
        );
        assert_eq!(
            plan.resolve("lunatic::networking", "tcp_bind"),
            Resolution::Stub(
                "lunatic::networking::tcp_bind: not supported by funk-runtime yet (networking)"
                    .into()
            )
        );
        assert!(matches!(
            plan.resolve("env", "host_thing"),
            Resolution::Missing(m) if m.contains("`env::host_thing`")
        ));
    }
}
