//! Checking a module's imports against host functions before instantiating
//! it.
//!
//! An engine's link error names wasm types only, and Wasmtime's reads
//! backwards (its "expected" type is the guest's). [`check`] compares each
//! function import of a module with the [`Interface`] of the host functions
//! it will be linked with and names every parameter in host terms:
//!
//! ```text
//! kv.get expects (key_ptr: i32, key_len: i32, result_ptr: i32, result_cap: i32, result_len_out: i32) -> errno: i32; the guest declared 4 parameters: result_len_out is missing
//! ```
//!
//! Only imports from a namespace the interface defines are checked: other
//! namespaces (WASI, another block) are someone else's. The backends read a
//! module's imports and call [`check`] (`funk::wasmtime::check_imports`,
//! `funk::wasmer::check_imports`).

use std::fmt;

use crate::abi::WasmType;
use crate::describe::{Function, Interface};

/// A value type as a module declares it: a number type, or one funk never
/// passes (`v128`, a reference), by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestType {
    /// `i32`, `i64`, `f32` or `f64`.
    Number(WasmType),
    /// Any other type, as the engine prints it.
    Other(String),
}

impl fmt::Display for GuestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestType::Number(ty) => write!(f, "{ty}"),
            GuestType::Other(name) => f.write_str(name),
        }
    }
}

/// What a module declares for one import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportKind {
    /// A function with these parameter and result types.
    Function {
        /// Parameter types, in order.
        params: Vec<GuestType>,
        /// Result types, in order.
        results: Vec<GuestType>,
    },
    /// A memory, table, global or tag, by kind.
    Other(&'static str),
}

/// One import of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Import module.
    pub module: String,
    /// Import name.
    pub name: String,
    /// What the module declares.
    pub kind: ImportKind,
}

/// One import that does not match the host functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// Import module.
    pub module: String,
    /// Import name.
    pub name: String,
    /// What is wrong, in host terms.
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every import of a module that does not match its host functions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors {
    /// The problems, in the module's import order.
    pub problems: Vec<ImportProblem>,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lines(f, &self.problems)
    }
}

/// A list of problems, one per line.
pub(crate) fn write_lines<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str("\n")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Checks `imports` against `interface`; see the module docs.
pub fn check(
    interface: &Interface,
    imports: impl IntoIterator<Item = Import>,
) -> Result<(), ImportErrors> {
    let problems: Vec<ImportProblem> = imports
        .into_iter()
        .filter(|import| interface.has_namespace(&import.module))
        .filter_map(|import| {
            let message = problem(interface, &import)?;
            Some(ImportProblem {
                module: import.module,
                name: import.name,
                message,
            })
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ImportErrors { problems })
    }
}

fn problem(interface: &Interface, import: &Import) -> Option<String> {
    let qualified = format!("{}.{}", import.module, import.name);
    let Some(function) = interface.function(&import.module, &import.name) else {
        let known: Vec<&str> = interface
            .functions
            .iter()
            .filter(|f| f.namespace == import.module)
            .map(|f| f.name)
            .collect();
        return Some(format!(
            "{qualified}: the host has no function `{}` in namespace `{}` (it has: {})",
            import.name,
            import.module,
            known.join(", ")
        ));
    };
    let (params, results) = match &import.kind {
        ImportKind::Function { params, results } => (params, results),
        ImportKind::Other(kind) => {
            return Some(format!(
                "{qualified}: the host defines a function, the guest imports a {kind}; {}",
                expects(function)
            ));
        }
    };
    let named = function.named_params();
    if let Some(detail) = compare("parameter", &named, params) {
        return Some(format!("{}; {detail}", expects(function)));
    }
    let named = function.named_results();
    if let Some(detail) = compare("result", &named, results) {
        return Some(format!("{}; {detail}", expects(function)));
    }
    None
}

/// `kv.get expects (key_ptr: i32, key_len: i32) -> errno: i32`.
fn expects(function: &Function) -> String {
    let signature = function.wasm_signature();
    let (name, rest) = signature.split_at(signature.find('(').unwrap_or(0));
    format!("{name} expects {rest}")
}

/// What differs between the host's `named` values and the guest's
/// `declared` ones, naming the host's values.
fn compare(what: &str, named: &[(String, WasmType)], declared: &[GuestType]) -> Option<String> {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let count = declared.len();
    let mismatch = named
        .iter()
        .zip(declared)
        .find(|((_, host), guest)| **guest != GuestType::Number(*host));
    if let Some(((name, host), guest)) = mismatch {
        return Some(format!(
            "the guest declared {what} {name} as {guest}, the host takes {host}"
        ));
    }
    if count < named.len() {
        let missing: Vec<&str> = named[count..].iter().map(|(n, _)| n.as_str()).collect();
        return Some(format!(
            "the guest declared {count} {what}{}: {} {} missing",
            plural(count),
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
        ));
    }
    if count > named.len() {
        let extra = count - named.len();
        return Some(format!(
            "the guest declared {count} {what}{}: {extra} more than the host's {}",
            plural(count),
            named.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::{ErrorType, OutType, Param, ParamType, ReturnType};

    fn kv_get() -> Interface {
        Interface {
            functions: vec![Function {
                namespace: "kv",
                name: "get",
                method: "get",
                docs: "",
                signature: "fn get(&mut self, key: &str) -> Result<Vec<u8>, Errno>",
                asynchronous: false,
                repeatable: false,
                params: vec![Param {
                    name: "key",
                    rust: "&str",
                    ty: ParamType::Str,
                }],
                ret_rust: "Result<Vec<u8>, Errno>",
                ret: ReturnType::Status {
                    ok: OutType::String,
                    error: ErrorType {
                        name: "Errno".into(),
                        codes: Vec::new(),
                    },
                },
                wasm_params: vec![WasmType::I32; 5],
                wasm_results: vec![WasmType::I32],
            }],
        }
    }

    fn import(module: &str, name: &str, params: usize, results: usize) -> Import {
        Import {
            module: module.into(),
            name: name.into(),
            kind: ImportKind::Function {
                params: vec![GuestType::Number(WasmType::I32); params],
                results: vec![GuestType::Number(WasmType::I32); results],
            },
        }
    }

    #[test]
    fn a_missing_parameter_is_named_in_host_terms() {
        let errors = check(&kv_get(), [import("kv", "get", 4, 1)]).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "kv.get expects (key_ptr: i32, key_len: i32, result_ptr: i32, result_cap: i32, result_len_out: i32) -> errno: i32; the guest declared 4 parameters: result_len_out is missing"
        );
    }

    #[test]
    fn a_wrong_type_names_the_parameter_and_both_sides() {
        let mut bad = import("kv", "get", 5, 1);
        if let ImportKind::Function { params, .. } = &mut bad.kind {
            params[1] = GuestType::Number(WasmType::I64);
        }
        let errors = check(&kv_get(), [bad]).unwrap_err();
        assert!(
            errors
                .to_string()
                .ends_with("the guest declared parameter key_len as i64, the host takes i32"),
            "{errors}"
        );
    }

    #[test]
    fn missing_results_extra_parameters_and_unknown_names_are_reported() {
        let errors = check(
            &kv_get(),
            [
                import("kv", "get", 5, 0),
                import("kv", "put", 2, 0),
                import("kv", "get", 6, 1),
            ],
        )
        .unwrap_err();
        let lines: Vec<String> = errors.to_string().lines().map(str::to_owned).collect();
        assert!(
            lines[0].ends_with("the guest declared 0 results: errno is missing"),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            "kv.put: the host has no function `put` in namespace `kv` (it has: get)"
        );
        assert!(lines[2].ends_with("the guest declared 6 parameters: 1 more than the host's 5"));
    }

    #[test]
    fn matching_imports_and_other_namespaces_pass() {
        check(
            &kv_get(),
            [import("kv", "get", 5, 1), import("wasi", "x", 9, 9)],
        )
        .unwrap();
    }
}
