//! The interface of a `#[host_functions]` block as data: for every import,
//! its module and name, its wasm signature with each parameter named in host
//! terms, the Rust signature and doc comment of the method, and how each
//! parameter and result travels (a string as `(ptr, len)`, a handle as an
//! `i32`, a `Vec<u8>` through a guest buffer, ...).
//!
//! `#[host_functions]` builds it from the same traits that lower the calls
//! ([`Lift::describe`](crate::Lift::describe),
//! [`ReturnValue::describe`](crate::ReturnValue::describe), ...), so it
//! cannot drift from what the host does. [`Interface::of`] returns it, its
//! `Display` prints one line per import, and [`crate::imports`] checks a
//! module's imports against it before instantiation.

use std::fmt;

use crate::abi::WasmType;

/// A fixed-width scalar passed by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scalar {
    /// `i32`
    I32,
    /// `u32`
    U32,
    /// `i64`
    I64,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `u8`, travelling as an `i32` checked to be in range.
    U8,
    /// `u16`, as `u8`.
    U16,
    /// `i8`, as `u8`.
    I8,
    /// `i16`, as `u8`.
    I16,
    /// `bool`: an `i32` that must be 0 or 1 (a single byte, 0 or 1, when
    /// written through an out-pointer).
    Bool,
    /// `char`: an `i32` that must be a Unicode scalar value.
    Char,
}

impl Scalar {
    /// The wasm type it travels as.
    pub fn wasm(self) -> WasmType {
        match self {
            Scalar::I64 | Scalar::U64 => WasmType::I64,
            Scalar::F32 => WasmType::F32,
            Scalar::F64 => WasmType::F64,
            _ => WasmType::I32,
        }
    }

    /// The Rust type.
    pub fn rust(self) -> &'static str {
        match self {
            Scalar::I32 => "i32",
            Scalar::U32 => "u32",
            Scalar::I64 => "i64",
            Scalar::U64 => "u64",
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
            Scalar::U8 => "u8",
            Scalar::U16 => "u16",
            Scalar::I8 => "i8",
            Scalar::I16 => "i16",
            Scalar::Bool => "bool",
            Scalar::Char => "char",
        }
    }

    /// Its size in bytes in guest memory (as an out-value).
    pub fn size(self) -> usize {
        match self {
            Scalar::U8 | Scalar::I8 | Scalar::Bool => 1,
            Scalar::U16 | Scalar::I16 => 2,
            Scalar::I64 | Scalar::U64 | Scalar::F64 => 8,
            _ => 4,
        }
    }
}

/// One wasm word of a type that describes itself only by its ABI (a user
/// [`Lift`](crate::Lift) type without a description of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Word {
    /// Its wasm type.
    pub wasm: WasmType,
    /// The Rust primitive of the `Abi` (`u32`, `i64`, ...).
    pub rust: &'static str,
}

/// A plain-data type, as it sits in guest memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlainType {
    /// A fixed-width integer or float (never `bool` or `char`).
    Scalar(Scalar),
    /// `[T; N]`.
    Array(Box<PlainType>, usize),
    /// A `#[derive(Plain)]` record: `#[repr(C)]`, no padding.
    Record {
        /// The Rust type's name (last path segment).
        name: String,
        /// Its fields, in order.
        fields: Vec<(String, PlainType)>,
        /// Size in bytes.
        size: usize,
        /// Alignment in bytes.
        align: usize,
    },
    /// A `Plain` type that does not describe its fields: only its size and
    /// alignment are known.
    Opaque {
        /// The Rust type's name.
        name: String,
        /// Size in bytes.
        size: usize,
        /// Alignment in bytes.
        align: usize,
    },
}

impl PlainType {
    /// Size in bytes.
    pub fn size(&self) -> usize {
        match self {
            PlainType::Scalar(s) => s.size(),
            PlainType::Array(elem, n) => elem.size() * n,
            PlainType::Record { size, .. } | PlainType::Opaque { size, .. } => *size,
        }
    }

    /// Alignment in bytes.
    pub fn align(&self) -> usize {
        match self {
            PlainType::Scalar(s) => s.size(),
            PlainType::Array(elem, _) => elem.align(),
            PlainType::Record { align, .. } | PlainType::Opaque { align, .. } => *align,
        }
    }
}

/// How a handle parameter is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandlePass {
    /// [`Handle<T>`](crate::Handle): unchecked; the guest keeps it.
    Raw,
    /// [`Borrow<T>`](crate::Borrow): checked; the guest keeps it.
    Borrow,
    /// [`Take<T>`](crate::Take): checked and consumed; stale afterwards.
    Take,
}

/// How a parameter travels from the guest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamType {
    /// By value.
    Scalar(Scalar),
    /// `&str`: `(ptr, len)`, UTF-8.
    Str,
    /// `&[T]` / `&mut [T]`: `(ptr, count)`.
    Slice {
        /// The element type.
        elem: PlainType,
        /// `&mut`: the host may write the elements.
        mutable: bool,
    },
    /// `&T` / `&mut T`: `ptr`.
    Ref {
        /// The pointee.
        elem: PlainType,
        /// `&mut`: an in/out value.
        mutable: bool,
    },
    /// `&[IoSlice]` / `&mut [IoSliceMut]`: `(iovs_ptr, iovs_len)`, WASI
    /// layout.
    IoVecs {
        /// `&mut [IoSliceMut]`: the host writes the buffers.
        mutable: bool,
    },
    /// A resource handle: an `i32`.
    Handle {
        /// The resource type's name.
        resource: String,
        /// The resource type's full path (`std::any::type_name`), which
        /// tells two resources of the same name apart.
        type_path: String,
        /// How it is passed.
        pass: HandlePass,
    },
    /// A 32-bit value carried as an `i64` ([`Wide`](crate::Wide)).
    Wide(Box<ParamType>),
    /// A user type that describes only its wasm words.
    Custom {
        /// The Rust type's name.
        name: String,
        /// Its `Abi`, word by word.
        words: Vec<Word>,
    },
}

impl ParamType {
    /// The wasm parameters of a parameter called `name`, named in host
    /// terms: `path` becomes `path_ptr, path_len`.
    pub fn words(&self, name: &str) -> Vec<(String, WasmType)> {
        let i32 = |suffix: &str| (format!("{name}{suffix}"), WasmType::I32);
        match self {
            ParamType::Scalar(s) => vec![(name.to_owned(), s.wasm())],
            ParamType::Str | ParamType::Slice { .. } | ParamType::IoVecs { .. } => {
                vec![i32("_ptr"), i32("_len")]
            }
            ParamType::Ref { .. } => vec![i32("_ptr")],
            ParamType::Handle { .. } => vec![i32("")],
            ParamType::Wide(inner) => inner
                .words(name)
                .into_iter()
                .map(|(n, _)| (n, WasmType::I64))
                .collect(),
            ParamType::Custom { words, .. } if words.len() == 1 => {
                vec![(name.to_owned(), words[0].wasm)]
            }
            ParamType::Custom { words, .. } => words
                .iter()
                .enumerate()
                .map(|(i, w)| (format!("{name}_{i}"), w.wasm))
                .collect(),
        }
    }
}

/// A value written to the guest through out-pointers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutType {
    /// Nothing.
    Unit,
    /// A scalar (`bool` as one byte, `char` as a `u32`) or a plain record,
    /// written to one out-pointer.
    Value(OutValueType),
    /// `Vec<T>`: `(ptr, cap, len_out)`; see [`OutValue`](crate::OutValue).
    Buffer(PlainType),
    /// `String`: as `Buffer` of bytes, UTF-8.
    String,
    /// Several out-values, one after another.
    Tuple(Vec<OutType>),
    /// A user type that describes only how many out-pointers it takes.
    Custom {
        /// The Rust type's name.
        name: String,
        /// Its out-pointers, all `i32`.
        ptrs: usize,
    },
}

/// A single value written through one out-pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutValueType {
    /// Plain data: integers, floats, arrays and records.
    Plain(PlainType),
    /// `bool`, one byte: 0 or 1.
    Bool,
    /// `char`, a `u32` Unicode scalar value.
    Char,
    /// A handle: a `u32` (a `u64` when `wide`).
    Handle {
        /// The resource type's name.
        resource: String,
        /// The resource type's full path (`std::any::type_name`), which
        /// tells two resources of the same name apart.
        type_path: String,
        /// Written as a `u64` ([`Wide`](crate::Wide)).
        wide: bool,
    },
}

impl OutType {
    /// The out-pointer parameters of this value, named after `prefix`.
    pub fn ptrs(&self, prefix: &str) -> Vec<String> {
        match self {
            OutType::Unit => Vec::new(),
            OutType::Value(_) => vec![format!("{prefix}_out")],
            OutType::Buffer(_) | OutType::String => vec![
                format!("{prefix}_ptr"),
                format!("{prefix}_cap"),
                format!("{prefix}_len_out"),
            ],
            OutType::Tuple(items) => items
                .iter()
                .enumerate()
                .flat_map(|(i, item)| item.ptrs(&format!("{prefix}{i}")))
                .collect(),
            OutType::Custom { ptrs, .. } => {
                (0..*ptrs).map(|i| format!("{prefix}_out{i}")).collect()
            }
        }
    }
}

/// The error type of a `Result` returned as a status code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorType {
    /// The Rust type's name.
    pub name: String,
    /// The codes it may return, by name, when it lists them (as
    /// `#[derive(funk::HostError)]` does); empty otherwise.
    pub codes: Vec<(String, i32)>,
}

/// What a function returns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReturnType {
    /// Nothing.
    Unit,
    /// A scalar, as the one wasm result.
    Scalar(Scalar),
    /// A 32-bit scalar (`u32`, `u16`, `u8`, `bool`, `char`) returned as
    /// the one `i64` result, zero-extended ([`Wide`](crate::Wide)).
    Wide(Scalar),
    /// A handle, as the one wasm result (an `i64` when `wide`).
    Handle {
        /// The resource type's name.
        resource: String,
        /// The resource type's full path (`std::any::type_name`), which
        /// tells two resources of the same name apart.
        type_path: String,
        /// Returned as a `u64` ([`Wide`](crate::Wide)).
        wide: bool,
    },
    /// No wasm result; the value goes through out-pointers (`Vec<T>`,
    /// `String`).
    Out(OutType),
    /// `(A, B, ..)`: `A` as above, then each further element through
    /// out-pointers.
    Tuple {
        /// The first element.
        first: Box<ReturnType>,
        /// The others.
        rest: Vec<OutType>,
    },
    /// `Result<T, E>` with a status error: an `i32` status (0 on success),
    /// `T` through out-pointers, written only on success.
    Status {
        /// The success value.
        ok: OutType,
        /// The error type.
        error: ErrorType,
    },
    /// `Result<T, E>` whose errors trap: the guest sees `T` only.
    Traps(Box<ReturnType>),
    /// A user type that describes only its wasm words.
    Custom {
        /// The Rust type's name.
        name: String,
        /// The wasm results.
        results: Vec<Word>,
        /// Its out-pointers, all `i32`.
        ptrs: usize,
    },
}

impl ReturnType {
    /// The wasm results, named.
    pub fn results(&self) -> Vec<(String, WasmType)> {
        match self {
            ReturnType::Unit | ReturnType::Out(_) => Vec::new(),
            ReturnType::Scalar(s) => vec![("result".to_owned(), s.wasm())],
            ReturnType::Wide(_) => vec![("result".to_owned(), WasmType::I64)],
            ReturnType::Handle { wide, .. } => vec![(
                "result".to_owned(),
                if *wide { WasmType::I64 } else { WasmType::I32 },
            )],
            ReturnType::Tuple { first, .. } => first.results(),
            ReturnType::Status { .. } => vec![("errno".to_owned(), WasmType::I32)],
            ReturnType::Traps(inner) => inner.results(),
            ReturnType::Custom { results, .. } => results
                .iter()
                .enumerate()
                .map(|(i, w)| (format!("result{i}"), w.wasm))
                .collect(),
        }
    }

    /// The out-pointer parameters appended to the signature, named.
    pub fn ptrs(&self) -> Vec<String> {
        match self {
            ReturnType::Unit
            | ReturnType::Scalar(_)
            | ReturnType::Wide(_)
            | ReturnType::Handle { .. } => Vec::new(),
            ReturnType::Out(out) => out.ptrs("result"),
            ReturnType::Tuple { first, rest } => {
                let mut ptrs = first.ptrs();
                for (i, out) in rest.iter().enumerate() {
                    ptrs.extend(out.ptrs(&format!("result{}", i + 1)));
                }
                ptrs
            }
            ReturnType::Status { ok, .. } => ok.ptrs("result"),
            ReturnType::Traps(inner) => inner.ptrs(),
            ReturnType::Custom { ptrs, .. } => {
                (0..*ptrs).map(|i| format!("result_out{i}")).collect()
            }
        }
    }
}

/// One parameter of a host function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Its name in the method.
    pub name: &'static str,
    /// Its Rust type, as written.
    pub rust: &'static str,
    /// How it travels.
    pub ty: ParamType,
}

/// One host function: one import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Import module.
    pub namespace: &'static str,
    /// Import name.
    pub name: &'static str,
    /// The method's name (the import name may differ: `#[funk(name)]`).
    pub method: &'static str,
    /// The method's doc comment.
    pub docs: &'static str,
    /// The method's signature, as written (`fn open(&mut self, path: &str)
    /// -> Result<Handle<File>, Errno>`).
    pub signature: &'static str,
    /// Whether the method is `async` (the guest cannot tell).
    pub asynchronous: bool,
    /// Whether calling it twice with the same arguments has the effect of
    /// calling it once, so guest bindings may repeat a call whose
    /// `Vec`/`String` result did not fit their buffer: `&self` methods, and
    /// methods marked `#[funk(repeatable)]`.
    pub repeatable: bool,
    /// Its parameters, the receiver and call context left out.
    pub params: Vec<Param>,
    /// Its return type, as written (`()` when there is none).
    pub ret_rust: &'static str,
    /// How the result travels.
    pub ret: ReturnType,
    /// The wasm parameter types, from the types that lower the call: what
    /// the guest must declare. Out-pointers included.
    pub wasm_params: Vec<WasmType>,
    /// The wasm result types.
    pub wasm_results: Vec<WasmType>,
}

impl Function {
    /// The wasm parameters with their names in host terms. The names come
    /// from the descriptions; should a user type's description not match
    /// its ABI, the parameters are named by position instead.
    pub fn named_params(&self) -> Vec<(String, WasmType)> {
        let mut named: Vec<(String, WasmType)> = self
            .params
            .iter()
            .flat_map(|p| p.ty.words(p.name))
            .collect();
        named.extend(
            self.ret
                .ptrs()
                .into_iter()
                .map(|name| (name, WasmType::I32)),
        );
        let agrees = named.len() == self.wasm_params.len()
            && named
                .iter()
                .zip(&self.wasm_params)
                .all(|((_, a), b)| a == b);
        if agrees {
            unique_names(named)
        } else {
            self.wasm_params
                .iter()
                .enumerate()
                .map(|(i, ty)| (format!("arg{i}"), *ty))
                .collect()
        }
    }

    /// The wasm results with their names.
    pub fn named_results(&self) -> Vec<(String, WasmType)> {
        let named = self.ret.results();
        let agrees = named.len() == self.wasm_results.len()
            && named
                .iter()
                .zip(&self.wasm_results)
                .all(|((_, a), b)| a == b);
        if agrees {
            named
        } else {
            self.wasm_results
                .iter()
                .enumerate()
                .map(|(i, ty)| (format!("result{i}"), *ty))
                .collect()
        }
    }

    /// `namespace.name (path_ptr: i32, path_len: i32, result_out: i32) -> (errno: i32)`.
    pub fn wasm_signature(&self) -> String {
        let list = |items: Vec<(String, WasmType)>| {
            items
                .iter()
                .map(|(name, ty)| format!("{name}: {ty}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let results = self.named_results();
        let results = match results.len() {
            0 => String::new(),
            1 => format!(" -> {}: {}", results[0].0, results[0].1),
            _ => format!(" -> ({})", list(results)),
        };
        format!(
            "{}.{}({}){}",
            self.namespace,
            self.name,
            list(self.named_params()),
            results
        )
    }
}

/// `names` with each repeated name given a numeric suffix (`buf_len`,
/// `buf_len_2`): a parameter `buf_len` next to a slice `buf`, or one called
/// `result` next to the `result_ptr` of a `String` result, would otherwise
/// name two wasm parameters alike, which C and JSON do not allow.
fn unique_names(mut names: Vec<(String, WasmType)>) -> Vec<(String, WasmType)> {
    for i in 1..names.len() {
        let taken = |name: &str, names: &[(String, WasmType)]| {
            names
                .iter()
                .enumerate()
                .any(|(j, (n, _))| j != i && n == name)
        };
        if !names[..i].iter().any(|(n, _)| *n == names[i].0) {
            continue;
        }
        let base = names[i].0.clone();
        let mut k = 2;
        while taken(&format!("{base}_{k}"), &names) {
            k += 1;
        }
        names[i].0 = format!("{base}_{k}");
    }
    names
}

/// Every function of one or more `#[host_functions]` blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// The functions, in declaration order.
    pub functions: Vec<Function>,
}

impl Interface {
    /// The interface of the `#[host_functions]` block on `S`.
    pub fn of<S: crate::call::HostApi>() -> Self {
        Interface {
            functions: S::describe(),
        }
    }

    /// Adds the functions of the block on `S` (for a guest that imports
    /// several blocks).
    pub fn with<S: crate::call::HostApi>(mut self) -> Self {
        self.functions.extend(S::describe());
        self
    }

    /// The function imported as `namespace`.`name`.
    pub fn function(&self, namespace: &str, name: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|f| f.namespace == namespace && f.name == name)
    }

    /// Whether some function is imported from `namespace`.
    pub fn has_namespace(&self, namespace: &str) -> bool {
        self.functions.iter().any(|f| f.namespace == namespace)
    }
}

/// The readable form: one line per import with its wasm signature, then the
/// method's Rust signature.
impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for function in &self.functions {
            writeln!(f, "{}", function.wasm_signature())?;
            writeln!(f, "    {}", function.signature)?;
        }
        Ok(())
    }
}

/// The last path segment of a type's name, without generic arguments:
/// `my_crate::fs::File` and `my_crate::Wrapper<u32>` become `File` and
/// `Wrapper`. The name a description gives a user or resource type.
pub fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_wasm_parameter_names_get_suffixes() {
        let names = |list: &[&str]| -> Vec<(String, WasmType)> {
            list.iter()
                .map(|n| (n.to_string(), WasmType::I32))
                .collect()
        };
        let unique = unique_names(names(&["buf_ptr", "buf_len", "buf_len", "buf_len_2", "x"]));
        let unique: Vec<&str> = unique.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            unique,
            ["buf_ptr", "buf_len", "buf_len_3", "buf_len_2", "x"]
        );
        let same = unique_names(names(&["a", "b"]));
        assert_eq!(same, names(&["a", "b"]));
    }
}
