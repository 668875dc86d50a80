//! The `funk.bindings` custom section that generated guest bindings carry,
//! and the host's check of it: a guest built from bindings of an older
//! interface is refused before it runs, even when the wasm signatures still
//! match (a `u32` that became an `i32`, a `&[u8]` that became a `&str`).
//!
//! The section is text: a header line, then one line per function,
//! `namespace \t name \t fingerprint \t signature`. The fingerprint is a
//! hash of how every parameter and the result travel (with the names of
//! the types involved, not of the parameters), so renaming a parameter
//! does not count as a change and changing a type does. It is computed
//! from the description's `Debug` form, so it is stable within one funk
//! version, not across versions that change the description types.
//!
//! This catches mistakes, not attacks: the guest writes the section, and a
//! guest may omit or forge it. Guest input stays checked on every call
//! either way.

use std::fmt;

use crate::describe::{Function, Interface};

/// The custom section's name.
pub(crate) const NAME: &str = "funk.bindings";

const HEADER: &str = "funk.bindings 1";

/// 64-bit FNV-1a: small, and stable across builds and platforms (unlike
/// `std`'s hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Function {
    /// A hash of this function's guest ABI and high-level types (how each
    /// parameter and the result travel, the wasm signature), without names
    /// or docs: what guest bindings depend on.
    pub fn fingerprint(&self) -> u64 {
        let types: Vec<_> = self.params.iter().map(|p| &p.ty).collect();
        let text = format!(
            "{types:?}|{:?}|{:?}|{:?}",
            self.ret, self.wasm_params, self.wasm_results
        );
        fnv1a(without_type_paths(&text).as_bytes())
    }
}

/// `text` without the resources' `type_path: "...", ` fields: a type's
/// full path is not stable across compilers (`std::any::type_name`), and
/// moving a resource to another module does not change what the guest
/// passes, so neither may refuse a guest. (A path holds no `"`.)
fn without_type_paths(text: &str) -> String {
    const FIELD: &str = "type_path: \"";
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(FIELD) {
        kept.push_str(&rest[..start]);
        let value = &rest[start + FIELD.len()..];
        rest = match value.find("\", ") {
            Some(end) => &value[end + 3..],
            None => "",
        };
    }
    kept.push_str(rest);
    kept
}

fn one_line(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

pub(crate) fn encode(functions: &[&Function]) -> String {
    let mut text = format!("{HEADER}\n");
    for f in functions {
        text.push_str(&format!(
            "{}\t{}\t{:016x}\t{}\n",
            one_line(f.namespace),
            one_line(f.name),
            f.fingerprint(),
            one_line(f.signature)
        ));
    }
    text
}

/// One function as a guest's bindings recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    namespace: String,
    name: String,
    fingerprint: u64,
    signature: String,
}

fn decode(data: &[u8]) -> Result<Vec<Recorded>, String> {
    let text = std::str::from_utf8(data).map_err(|_| "it is not UTF-8".to_owned())?;
    let mut lines = text.lines();
    match lines.next() {
        Some(HEADER) => {}
        Some(other) => return Err(format!("unknown version `{other}`")),
        None => return Err("it is empty".to_owned()),
    }
    // The linker concatenates the sections of every object that has one
    // (one per generated namespace module): each begins with the header.
    lines
        .filter(|line| !line.is_empty() && *line != HEADER)
        .map(|line| {
            let mut fields = line.splitn(4, '\t');
            let mut next = || fields.next().ok_or_else(|| format!("bad line `{line}`"));
            let (namespace, name, fingerprint, signature) = (next()?, next()?, next()?, next()?);
            Ok(Recorded {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                fingerprint: u64::from_str_radix(fingerprint, 16)
                    .map_err(|_| format!("bad fingerprint in `{line}`"))?,
                signature: signature.to_owned(),
            })
        })
        .collect()
}

/// Why a guest's bindings do not match the host's interface.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingsProblem {
    /// The module is not valid wasm, or its `funk.bindings` section cannot
    /// be read.
    Unreadable(String),
    /// The bindings call a function of one of this interface's namespaces
    /// that the host no longer has.
    Missing {
        /// `namespace.name`.
        import: String,
        /// The host signature the bindings were generated from.
        generated_from: String,
    },
    /// The function's types changed since the bindings were generated.
    Changed {
        /// `namespace.name`.
        import: String,
        /// The host signature the bindings were generated from.
        generated_from: String,
        /// The host's signature now.
        now: String,
    },
}

impl fmt::Display for BindingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindingsProblem::Unreadable(why) => {
                write!(f, "cannot read the guest's funk.bindings section: {why}")
            }
            BindingsProblem::Missing {
                import,
                generated_from,
            } => write!(
                f,
                "{import}: the guest's bindings were generated from {generated_from:?}, which the host no longer has"
            ),
            BindingsProblem::Changed {
                import,
                generated_from,
                now,
            } => write!(
                f,
                "{import}: the guest's bindings were generated from {generated_from:?}, but the host now has `{now}`; regenerate the bindings and rebuild the guest"
            ),
        }
    }
}

/// Every mismatch between a guest's generated bindings and the host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct BindingsErrors {
    /// One entry per function.
    pub problems: Vec<BindingsProblem>,
}

impl fmt::Display for BindingsErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::imports::write_lines(f, &self.problems)
    }
}

impl Interface {
    /// Checks the `funk.bindings` sections of a compiled guest (`wasm`, the
    /// module's bytes) against this interface: every function of one of
    /// this interface's namespaces that the guest's generated bindings
    /// declare must still exist with the same types. Catches what import
    /// checking cannot: a host change that keeps the wasm signature (`u32`
    /// to `i32`, `&[u8]` to `&str`) but would change what the guest's calls
    /// mean. A guest without generated bindings has no such section and
    /// passes.
    pub fn check_bindings(&self, wasm: &[u8]) -> Result<(), BindingsErrors> {
        let unreadable = |why: String| BindingsErrors {
            problems: vec![BindingsProblem::Unreadable(why)],
        };
        let mut recorded = Vec::new();
        let mut imported = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.map_err(|e| unreadable(e.to_string()))? {
                wasmparser::Payload::CustomSection(section) if section.name() == NAME => {
                    recorded.extend(decode(section.data()).map_err(unreadable)?)
                }
                wasmparser::Payload::ImportSection(section) => {
                    for import in section.into_imports() {
                        let import = import.map_err(|e| unreadable(e.to_string()))?;
                        imported.push((import.module.to_owned(), import.name.to_owned()));
                    }
                }
                _ => {}
            }
        }
        // Only what the guest really calls: bindings list every function of
        // the host, and a host may drop one the guest never used.
        recorded.retain(|r| {
            imported
                .iter()
                .any(|(module, name)| *module == r.namespace && *name == r.name)
        });
        let mut problems = Vec::new();
        for entry in recorded {
            if !self.has_namespace(&entry.namespace) {
                continue;
            }
            let import = format!("{}.{}", entry.namespace, entry.name);
            match self.function(&entry.namespace, &entry.name) {
                None => problems.push(BindingsProblem::Missing {
                    import,
                    generated_from: entry.signature,
                }),
                Some(host) if host.fingerprint() != entry.fingerprint => {
                    problems.push(BindingsProblem::Changed {
                        import,
                        generated_from: entry.signature,
                        now: host.signature.to_owned(),
                    })
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(BindingsErrors { problems })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenated_sections_decode_as_one_list() {
        let one = "funk.bindings 1\nfs\topen\t00000000000000ff\tfn open(&mut self, path: &str)\n";
        let two = "funk.bindings 1\nkv\tget\t0000000000000001\tfn get(&self)\n";
        let recorded = decode(format!("{one}{two}").as_bytes()).unwrap();
        let names: Vec<(&str, u64)> = recorded
            .iter()
            .map(|r| (r.name.as_str(), r.fingerprint))
            .collect();
        assert_eq!(names, [("open", 0xff), ("get", 1)]);
        assert_eq!(recorded[0].signature, "fn open(&mut self, path: &str)");
    }

    #[test]
    fn a_resource_s_type_path_is_not_part_of_the_fingerprint() {
        let debug = |path: &str| {
            format!(
                "{:?}",
                crate::describe::ReturnType::Handle {
                    resource: "File".to_owned(),
                    type_path: path.to_owned(),
                    wide: false,
                }
            )
        };
        let stripped = without_type_paths(&debug("host::fs::File"));
        assert_eq!(stripped, without_type_paths(&debug("other::File")));
        assert_eq!(stripped, "Handle { resource: \"File\", wide: false }");
    }

    #[test]
    fn malformed_sections_are_errors() {
        assert!(decode(b"").is_err());
        assert!(decode(b"funk.bindings 2\n").is_err());
        assert!(decode(b"funk.bindings 1\nfs\topen\n").is_err());
        assert!(decode(b"funk.bindings 1\nfs\topen\tnot-hex\tfn open()\n").is_err());
        assert!(decode(&[0xff, 0xfe]).is_err());
    }
}
