//! The named types an interface mentions (resources, plain records, error
//! types, user parameter types), collected once so the generated code
//! defines each exactly once.

use std::collections::BTreeMap;

use crate::describe::{
    ErrorType, Function, Interface, OutType, OutValueType, ParamType, PlainType, ReturnType, Word,
};

/// One named type of the interface.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Named {
    /// A resource, by its full type path: handles to it become a newtype.
    Resource(String),
    /// A plain record or an opaque plain type.
    Plain(PlainType),
    /// The error type of a status-code `Result`.
    Error(ErrorType),
    /// A user parameter type known only by its wasm words.
    Words(Vec<Word>),
}

/// Every named type, by name, and the names used for two different types
/// (which generated code cannot define twice).
#[derive(Debug, Default)]
pub(crate) struct Types {
    pub(crate) named: BTreeMap<String, Named>,
    pub(crate) conflicts: Vec<String>,
}

impl Types {
    pub(crate) fn of(interface: &Interface) -> Self {
        let mut types = Types::default();
        for function in &interface.functions {
            types.function(function);
        }
        types
    }

    fn add(&mut self, name: &str, ty: Named) {
        match self.named.get(name) {
            None => {
                self.named.insert(name.to_owned(), ty);
            }
            Some(existing) if *existing == ty => {}
            Some(_) => {
                if !self.conflicts.iter().any(|c| c == name) {
                    self.conflicts.push(name.to_owned());
                }
            }
        }
    }

    fn function(&mut self, function: &Function) {
        for param in &function.params {
            self.param(&param.ty);
        }
        self.ret(&function.ret);
    }

    fn param(&mut self, ty: &ParamType) {
        match ty {
            ParamType::Scalar(_) | ParamType::Str | ParamType::IoVecs { .. } => {}
            ParamType::Slice { elem, .. } | ParamType::Ref { elem, .. } => self.plain(elem),
            ParamType::Handle {
                resource,
                type_path,
                ..
            } => self.add(resource, Named::Resource(type_path.clone())),
            ParamType::Wide(inner) => self.param(inner),
            ParamType::Custom { name, words } => self.add(name, Named::Words(words.clone())),
        }
    }

    fn plain(&mut self, ty: &PlainType) {
        match ty {
            PlainType::Scalar(_) => {}
            PlainType::Array(elem, _) => self.plain(elem),
            PlainType::Record { name, fields, .. } => {
                for (_, field) in fields {
                    self.plain(field);
                }
                self.add(name, Named::Plain(ty.clone()));
            }
            PlainType::Opaque { name, .. } => self.add(name, Named::Plain(ty.clone())),
        }
    }

    fn out(&mut self, ty: &OutType) {
        match ty {
            OutType::Unit | OutType::String | OutType::Custom { .. } => {}
            OutType::Value(OutValueType::Plain(plain)) | OutType::Buffer(plain) => {
                self.plain(plain)
            }
            OutType::Value(OutValueType::Bool | OutValueType::Char) => {}
            OutType::Value(OutValueType::Handle {
                resource,
                type_path,
                ..
            }) => self.add(resource, Named::Resource(type_path.clone())),
            OutType::Tuple(items) => items.iter().for_each(|item| self.out(item)),
        }
    }

    fn ret(&mut self, ty: &ReturnType) {
        match ty {
            ReturnType::Unit
            | ReturnType::Scalar(_)
            | ReturnType::Wide(_)
            | ReturnType::Custom { .. } => {}
            ReturnType::Handle {
                resource,
                type_path,
                ..
            } => self.add(resource, Named::Resource(type_path.clone())),
            ReturnType::Out(out) => self.out(out),
            ReturnType::Tuple { first, rest } => {
                self.ret(first);
                rest.iter().for_each(|out| self.out(out));
            }
            ReturnType::Status { ok, error } => {
                self.out(ok);
                self.add(&error.name, Named::Error(error.clone()));
            }
            ReturnType::Traps(inner) => self.ret(inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::HandlePass;

    fn handle(resource: &str, type_path: &str) -> ParamType {
        ParamType::Handle {
            resource: resource.to_owned(),
            type_path: type_path.to_owned(),
            pass: HandlePass::Borrow,
        }
    }

    #[test]
    fn two_resources_of_one_name_are_a_conflict_not_one_newtype() {
        let mut types = Types::default();
        types.param(&handle("File", "host::fs::File"));
        types.param(&handle("File", "host::fs::File"));
        assert!(types.conflicts.is_empty(), "{:?}", types.conflicts);
        types.ret(&ReturnType::Handle {
            resource: "File".to_owned(),
            type_path: "host::net::File".to_owned(),
            wide: false,
        });
        assert_eq!(types.conflicts, ["File"]);
        assert_eq!(
            types.named["File"],
            Named::Resource("host::fs::File".to_owned())
        );
    }
}
