//! The interface as JSON, for documentation and for binding generators of
//! other languages: every import with its module, name, named wasm
//! signature, the host method's Rust signature and doc comment, and the
//! status codes of its error type.

use crate::describe::{Function, Interface, ReturnType};

/// A JSON string literal.
fn string(text: &str) -> String {
    super::names::quoted(text, |c| format!("\\u{c:04x}"))
}

fn named_list(items: &[(String, crate::abi::WasmType)]) -> String {
    let items: Vec<String> = items
        .iter()
        .map(|(name, ty)| format!("{{\"name\": {}, \"type\": \"{ty}\"}}", string(name)))
        .collect();
    format!("[{}]", items.join(", "))
}

/// The status codes of a function's error type, if it returns one.
fn error_codes(ret: &ReturnType) -> Option<String> {
    match ret {
        ReturnType::Status { error, .. } => {
            let codes: Vec<String> = error
                .codes
                .iter()
                .map(|(name, code)| format!("{{\"name\": {}, \"code\": {code}}}", string(name)))
                .collect();
            Some(format!(
                "{{\"type\": {}, \"codes\": [{}]}}",
                string(&error.name),
                codes.join(", ")
            ))
        }
        ReturnType::Traps(inner) => error_codes(inner),
        _ => None,
    }
}

fn function(f: &Function) -> String {
    let error = error_codes(&f.ret).unwrap_or_else(|| "null".to_owned());
    format!(
        "    {{\n      \"module\": {},\n      \"name\": {},\n      \"method\": {},\n      \"rust\": {},\n      \"docs\": {},\n      \"async\": {},\n      \"params\": {},\n      \"results\": {},\n      \"error\": {error}\n    }}",
        string(f.namespace),
        string(f.name),
        string(f.method),
        string(f.signature),
        string(f.docs),
        f.asynchronous,
        named_list(&f.named_params()),
        named_list(&f.named_results()),
    )
}

pub(crate) fn generate(interface: &Interface) -> String {
    let functions: Vec<String> = interface.functions.iter().map(function).collect();
    format!(
        "{{\n  \"functions\": [\n{}\n  ]\n}}\n",
        functions.join(",\n")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_escaped() {
        assert_eq!(super::string("a\"\\\n\u{1}é"), "\"a\\\"\\\\\\n\\u0001é\"");
    }
}
