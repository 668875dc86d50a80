//! Every parameter and result lowering, on every enabled engine, through
//! guests that call the host functions with raw wasm arguments.

mod common;

use std::io::IoSlice;

use common::Val::{self, F32, F64, I32, I64};
use common::{Sig, forwarding_module};
use funk::{
    Borrow, Failure, GuestError, GuestView, Handle, HasResources, HostApi, HostError, Lift,
    ResourceTable, Status, Take, Trap,
};

#[derive(Default)]
pub struct Api {
    table: ResourceTable,
    gathered: Vec<u8>,
    calls: u32,
}

impl HasResources for Api {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

#[derive(Clone, Copy, Debug, PartialEq, funk::Plain)]
#[repr(C)]
pub struct Point {
    x: i32,
    y: i32,
}

pub struct Counter {
    hits: u32,
}

pub struct Other;

#[derive(Debug, Clone, Copy)]
pub enum Errno {
    BadF = 8,
    Inval = 28,
}

impl HostError for Errno {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(self as i32)
    }
}

/// A user type with a two-word ABI.
pub struct Span {
    start: u32,
    end: u32,
}

impl<'a, S> Lift<'a, S> for Span {
    type Abi = (u32, u32);
    const MEMORY: bool = false;
    fn lift(_: &'a GuestView<'_>, _: &mut S, (start, end): (u32, u32)) -> Result<Self, GuestError> {
        if start > end {
            return Err(GuestError::Custom(format!(
                "span {start}..{end} is reversed"
            )));
        }
        Ok(Span { start, end })
    }
}

/// An alias: classification is by type, not by spelling.
type Fd = u32;

/// A user type with a one-word ABI and its own validation.
pub struct Percent(u8);

impl<'a, S> Lift<'a, S> for Percent {
    type Abi = u32;
    const MEMORY: bool = false;
    fn lift(_: &'a GuestView<'_>, _: &mut S, value: u32) -> Result<Self, GuestError> {
        match u8::try_from(value) {
            Ok(p) if p <= 100 => Ok(Percent(p)),
            _ => Err(GuestError::Custom(format!("{value}% is not a percentage"))),
        }
    }
}

/// A user type that writes guest memory without declaring
/// `const MUTABLE: bool = true`: refused safely, not aliased.
pub struct Sneaky;

impl<'a, S> Lift<'a, S> for Sneaky {
    type Abi = u32;
    fn lift(view: &'a GuestView<'_>, _: &mut S, ptr: u32) -> Result<Self, GuestError> {
        view.bytes_mut(ptr.into(), 4)?.fill(0);
        Ok(Sneaky)
    }
}

/// A user type whose lifting code has a bug: it must trap, not unwind.
pub struct Buggy;

impl<'a, S> Lift<'a, S> for Buggy {
    type Abi = u32;
    const MEMORY: bool = false;
    fn lift(_: &'a GuestView<'_>, _: &mut S, value: u32) -> Result<Self, GuestError> {
        assert!(value != 13, "unlucky {value}");
        Ok(Buggy)
    }
}

#[funk::host_functions(namespace = "api")]
impl Api {
    #[allow(clippy::too_many_arguments)]
    fn widths(&self, a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: u64, h: i64) -> i64 {
        i64::from(a)
            + i64::from(b)
            + i64::from(c)
            + i64::from(d)
            + i64::from(e)
            + i64::from(f)
            + g as i64
            + h
    }

    fn floats(&self, a: f32, b: f64) -> f64 {
        f64::from(a) * b
    }

    fn negate(&self, flag: bool) -> bool {
        !flag
    }

    fn next_char(&self, c: char) -> char {
        char::from_u32(c as u32 + 1).unwrap_or('?')
    }

    fn narrow(&self, v: u8) -> u8 {
        v.wrapping_add(1)
    }

    fn sum(&self, data: &[u8]) -> u32 {
        data.iter().map(|&b| u32::from(b)).sum()
    }

    fn fill(&self, out: &mut [u8], value: u8) {
        out.fill(value);
    }

    fn chars(&self, text: &str) -> u32 {
        text.chars().count() as u32
    }

    fn sum_u32(&self, values: &[u32]) -> u64 {
        values.iter().map(|&v| u64::from(v)).sum()
    }

    fn scale(&self, values: &mut [f64], by: f64) {
        values.iter_mut().for_each(|v| *v *= by);
    }

    /// The first element is returned, the second written through an out-pointer.
    fn extent(&self, points: &[Point]) -> (i32, i32) {
        let xs = points.iter().map(|p| p.x);
        let ys = points.iter().map(|p| p.y);
        (xs.max().unwrap_or(0), ys.max().unwrap_or(0))
    }

    fn bump(&self, counter: &mut u32) -> u32 {
        *counter += 1;
        *counter
    }

    fn peek(&self, value: &u64) -> u64 {
        *value
    }

    fn gather(&mut self, bufs: &[IoSlice<'_>]) -> u32 {
        bufs.iter().for_each(|b| self.gathered.extend_from_slice(b));
        bufs.iter().map(|b| b.len() as u32).sum()
    }

    fn scatter(&mut self, bufs: &mut [std::io::IoSliceMut<'_>]) -> u32 {
        let mut source = self.gathered.as_slice();
        let mut written = 0;
        for buf in bufs.iter_mut() {
            let n = buf.len().min(source.len());
            buf[..n].copy_from_slice(&source[..n]);
            source = &source[n..];
            written += n as u32;
        }
        written
    }

    fn open(&mut self, hits: u32) -> Result<Handle<Counter>, Errno> {
        self.table
            .insert(Counter { hits })
            .map_err(|_| Errno::Inval)
    }

    fn hit(&mut self, counter: Borrow<Counter>) -> u32 {
        self.table[counter].hits += 1;
        self.table[counter].hits
    }

    fn close(&mut self, counter: Take<Counter>) -> u32 {
        counter.into_inner().hits
    }

    /// Unchecked handles let the method report a status instead of trapping.
    fn close_raw(&mut self, fd: Handle<Counter>) -> Result<(), Errno> {
        self.table.remove(fd).map(drop).map_err(|_| Errno::BadF)
    }

    fn open_other(&mut self) -> Handle<Other> {
        self.table.insert(Other).unwrap()
    }

    fn span_len(&self, span: Span) -> u32 {
        span.end - span.start
    }

    fn echo_fd(&self, fd: Fd) -> Fd {
        fd + 1
    }

    fn percent(&self, p: Percent) -> u32 {
        u32::from(p.0)
    }

    fn buggy(&self, _b: Buggy) {}

    fn sneaky(&self, _s: Sneaky, data: &[u8]) -> u32 {
        data.len() as u32
    }

    fn divmod(&self, a: u32, b: u32) -> Result<(u32, u32), Errno> {
        if b == 0 {
            return Err(Errno::Inval);
        }
        Ok((a / b, a % b))
    }

    fn checked_div(&self, a: u32, b: u32) -> Result<u32, Trap> {
        a.checked_div(b)
            .ok_or_else(|| Trap::new("division by zero"))
    }

    fn triple(&self) -> (u32, u64, bool) {
        (1, 2, true)
    }

    fn greeting(&self, name: &str) -> String {
        format!("hello, {name}")
    }

    fn squares(&self, n: u32) -> Vec<u32> {
        (0..n).map(|i| i * i).collect()
    }

    fn count_call(&mut self) {
        self.calls += 1;
    }

    #[funk(namespace = "other", name = "ping")]
    fn other_ping(&self) -> u32 {
        7
    }

    #[funk(name = "renamed")]
    fn original_name(&self) -> u32 {
        9
    }

    #[funk(skip)]
    #[allow(dead_code)]
    fn not_exported(&self) -> u32 {
        1
    }

    /// Visibility is kept: callable from outside the impl.
    pub fn visible(&self) -> u32 {
        3
    }

    /// 20 wasm parameters: beyond Wasmtime's typed API (17), within Wasmer's (26).
    #[allow(clippy::too_many_arguments)]
    fn twenty(
        &self,
        a: &[u8],
        b: &[u8],
        c: &[u8],
        d: &[u8],
        e: &[u8],
        f: &[u8],
        g: &[u8],
        h: &[u8],
        i: &[u8],
    ) -> Result<(u32, u32), Errno> {
        let parts = [a, b, c, d, e, f, g, h, i];
        Ok((
            parts.iter().map(|p| p.len() as u32).sum(),
            parts.concat().iter().map(|&x| u32::from(x)).sum(),
        ))
    }

    /// 30 wasm parameters: beyond both engines' typed APIs.
    #[allow(clippy::too_many_arguments)]
    fn thirty(
        &self,
        a: &[u8],
        b: &[u8],
        c: &[u8],
        d: &[u8],
        e: &[u8],
        f: &[u8],
        g: &[u8],
        h: &[u8],
        i: &[u8],
        j: &[u8],
        k: &[u8],
        l: &[u8],
        m: &[u8],
        n: &[u8],
        o: &mut [u8],
    ) -> u64 {
        let parts = [a, b, c, d, e, f, g, h, i, j, k, l, m, n];
        o.fill(9);
        parts.iter().map(|p| p.len() as u64).sum()
    }

    #[allow(clippy::too_many_arguments)]
    fn seventeen(
        &self,
        a1: u32,
        a2: u32,
        a3: u32,
        a4: u32,
        a5: u32,
        a6: u32,
        a7: u32,
        a8: u32,
        a9: u32,
        a10: u32,
        a11: u32,
        a12: u32,
        a13: u32,
        a14: u32,
        a15: u32,
        a16: u32,
        a17: u32,
    ) -> u32 {
        [
            a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,
        ]
        .iter()
        .sum()
    }
}

const P2: &[&str] = &["i32", "i32"];
const SIGS: &[Sig] = &[
    (
        "api",
        "widths",
        &["i32", "i32", "i32", "i32", "i32", "i32", "i64", "i64"],
        &["i64"],
    ),
    ("api", "floats", &["f32", "f64"], &["f64"]),
    ("api", "negate", &["i32"], &["i32"]),
    ("api", "next_char", &["i32"], &["i32"]),
    ("api", "narrow", &["i32"], &["i32"]),
    ("api", "sum", P2, &["i32"]),
    ("api", "fill", &["i32", "i32", "i32"], &[]),
    ("api", "chars", P2, &["i32"]),
    ("api", "sum_u32", P2, &["i64"]),
    ("api", "scale", &["i32", "i32", "f64"], &[]),
    ("api", "extent", &["i32", "i32", "i32"], &["i32"]),
    ("api", "bump", &["i32"], &["i32"]),
    ("api", "peek", &["i32"], &["i64"]),
    ("api", "gather", P2, &["i32"]),
    ("api", "scatter", P2, &["i32"]),
    ("api", "open", &["i32", "i32"], &["i32"]),
    ("api", "hit", &["i32"], &["i32"]),
    ("api", "close", &["i32"], &["i32"]),
    ("api", "close_raw", &["i32"], &["i32"]),
    ("api", "open_other", &[], &["i32"]),
    ("api", "span_len", P2, &["i32"]),
    ("api", "echo_fd", &["i32"], &["i32"]),
    ("api", "percent", &["i32"], &["i32"]),
    ("api", "buggy", &["i32"], &[]),
    ("api", "sneaky", &["i32", "i32", "i32"], &["i32"]),
    ("api", "divmod", &["i32", "i32", "i32", "i32"], &["i32"]),
    ("api", "checked_div", P2, &["i32"]),
    ("api", "triple", P2, &["i32"]),
    ("api", "greeting", &["i32", "i32", "i32", "i32", "i32"], &[]),
    ("api", "squares", &["i32", "i32", "i32", "i32"], &[]),
    ("api", "count_call", &[], &[]),
    ("other", "ping", &[], &["i32"]),
    ("api", "renamed", &[], &["i32"]),
    ("api", "visible", &[], &["i32"]),
    ("api", "seventeen", &["i32"; 17], &["i32"]),
    ("api", "twenty", &["i32"; 20], &["i32"]),
    ("api", "thirty", &["i32"; 30], &["i64"]),
];

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn one(results: Result<Vec<Val>, String>) -> Val {
    let results = results.unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    results[0]
}

#[test]
fn exports_are_listed_with_namespaces_renames_and_skips() {
    let names: Vec<String> = Api::FUNCTIONS
        .iter()
        .map(|f| f.qualified.to_owned())
        .collect();
    assert_eq!(names.len(), SIGS.len());
    for (ns, name, _, _) in SIGS {
        assert!(
            names.contains(&format!("{ns}::{name}")),
            "{ns}::{name} missing"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("not_exported") || n.contains("original_name"))
    );
    assert_eq!(Api::default().visible(), 3);
    let memory_free: Vec<_> = Api::FUNCTIONS
        .iter()
        .filter(|f| !f.memory)
        .map(|f| f.name)
        .collect();
    assert!(memory_free.contains(&"widths") && memory_free.contains(&"hit"));
    assert!(!memory_free.contains(&"sum") && !memory_free.contains(&"divmod"));
}

each_engine! {
    fn guest() -> Guest<Api> {
        Guest::new(&forwarding_module(SIGS), Api::default())
    }

    #[test]
    fn integers_of_every_width_and_floats() {
        let mut g = guest();
        let args = [I32(255), I32(-128), I32(65535), I32(-32768), I32(-1), I32(-5), I64(1 << 40), I64(-7)];
        let expect = 255 - 128 + 65535 - 32768 + 4_294_967_295 - 5 + (1 << 40) - 7;
        assert_eq!(one(g.call("api.widths", &args)), I64(expect));
        assert_eq!(one(g.call("api.floats", &[F32(1.5), F64(4.0)])), F64(6.0));
        assert_eq!(one(g.call("api.narrow", &[I32(255)])), I32(0));
    }

    #[test]
    fn bool_and_char_are_strict_both_ways() {
        let mut g = guest();
        assert_eq!(one(g.call("api.negate", &[I32(0)])), I32(1));
        assert_eq!(one(g.call("api.negate", &[I32(1)])), I32(0));
        assert_eq!(one(g.call("api.next_char", &[I32('a' as i32)])), I32('b' as i32));
    }

    #[test]
    fn byte_slices_and_strings() {
        let mut g = guest();
        g.write(100, &[1, 2, 3, 250]);
        assert_eq!(one(g.call("api.sum", &[I32(100), I32(4)])), I32(256));
        assert_eq!(one(g.call("api.sum", &[I32(0x10000), I32(0)])), I32(0), "empty slice at the end");
        g.call("api.fill", &[I32(200), I32(3), I32(7)]).unwrap();
        assert_eq!(g.read(199, 5), [0, 7, 7, 7, 0]);
        g.write(300, "héllo".as_bytes());
        assert_eq!(one(g.call("api.chars", &[I32(300), I32(6)])), I32(5));
    }

    #[test]
    fn typed_slices_records_and_single_values() {
        let mut g = guest();
        let values: Vec<u8> = [1u32, 2, u32::MAX].iter().flat_map(|v| v.to_le_bytes()).collect();
        g.write(64, &values);
        assert_eq!(one(g.call("api.sum_u32", &[I32(64), I32(3)])), I64(4 + i64::from(u32::MAX) - 1 + 1 - 1));
        let floats: Vec<u8> = [1.5f64, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        g.write(128, &floats);
        g.call("api.scale", &[I32(128), I32(2), F64(2.0)]).unwrap();
        assert_eq!(g.read(128, 8), 3.0f64.to_le_bytes());
        assert_eq!(g.read(136, 8), (-4.0f64).to_le_bytes());
        let points: Vec<u8> = [(1i32, 9i32), (5, -3)].iter().flat_map(|(x, y)| [x.to_le_bytes(), y.to_le_bytes()].concat()).collect();
        g.write(256, &points);
        assert_eq!(one(g.call("api.extent", &[I32(256), I32(2), I32(512)])), I32(5));
        assert_eq!(g.read(512, 4), 9i32.to_le_bytes());
        g.write(600, &41u32.to_le_bytes());
        assert_eq!(one(g.call("api.bump", &[I32(600)])), I32(42));
        assert_eq!(g.read(600, 4), 42u32.to_le_bytes());
        g.write(608, &(1u64 << 50).to_le_bytes());
        assert_eq!(one(g.call("api.peek", &[I32(608)])), I64(1 << 50));
    }

    #[test]
    fn iovecs_gather_and_scatter_in_place() {
        let mut g = guest();
        // iovec array at 0: {buf 100, len 3}, {buf 200, len 2}
        let iovs: Vec<u8> = [100u32, 3, 200, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        g.write(0, &iovs);
        g.write(100, b"abc");
        g.write(200, b"de");
        assert_eq!(one(g.call("api.gather", &[I32(0), I32(2)])), I32(5));
        assert_eq!(g.state().gathered, b"abcde");
        // scatter into {buf 300, len 4}, {buf 400, len 4}
        let iovs: Vec<u8> = [300u32, 4, 400, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
        g.write(16, &iovs);
        assert_eq!(one(g.call("api.scatter", &[I32(16), I32(2)])), I32(5));
        assert_eq!(g.read(300, 4), b"abcd");
        assert_eq!(g.read(400, 4), [b'e', 0, 0, 0]);
    }

    #[test]
    fn handles_borrow_take_and_unchecked() {
        let mut g = guest();
        assert_eq!(one(g.call("api.open", &[I32(10), I32(64)])), I32(0));
        let fd = u32s(&g.read(64, 4))[0] as i32;
        assert_eq!(one(g.call("api.hit", &[I32(fd)])), I32(11));
        assert_eq!(one(g.call("api.hit", &[I32(fd)])), I32(12));
        assert_eq!(one(g.call("api.close", &[I32(fd)])), I32(12));
        assert!(g.state().table.is_empty());
        // Unchecked handle: the method answers with a status instead of a trap.
        assert_eq!(one(g.call("api.close_raw", &[I32(fd)])), I32(Errno::BadF as i32));
        assert_eq!(one(g.call("api.open", &[I32(1), I32(64)])), I32(0));
        let fd = u32s(&g.read(64, 4))[0] as i32;
        assert_eq!(one(g.call("api.close_raw", &[I32(fd)])), I32(0));
    }

    #[test]
    fn user_lift_types_and_aliases() {
        let mut g = guest();
        assert_eq!(one(g.call("api.span_len", &[I32(3), I32(10)])), I32(7));
        let err = g.call("api.span_len", &[I32(10), I32(3)]).unwrap_err();
        assert_eq!(err, "api::span_len: argument span: span 10..3 is reversed");
        assert_eq!(one(g.call("api.echo_fd", &[I32(41)])), I32(42));
        assert_eq!(one(g.call("api.percent", &[I32(100)])), I32(100));
        let err = g.call("api.percent", &[I32(256)]).unwrap_err();
        assert_eq!(err, "api::percent: argument p: 256% is not a percentage");
        g.call("api.buggy", &[I32(1)]).unwrap();
        let err = g.call("api.sneaky", &[I32(0), I32(0), I32(4)]).unwrap_err();
        assert_eq!(
            err,
            "api::sneaky: argument _s: this parameter's `Lift` impl borrows guest memory mutably but does not declare `const MUTABLE: bool = true`"
        );
        let err = g.call("api.buggy", &[I32(13)]).unwrap_err();
        assert_eq!(err, "api::buggy: host function panicked: unlucky 13");
    }

    #[test]
    fn results_status_codes_tuples_and_traps() {
        let mut g = guest();
        assert_eq!(one(g.call("api.divmod", &[I32(17), I32(5), I32(64), I32(68)])), I32(0));
        assert_eq!(u32s(&g.read(64, 8)), [3, 2]);
        g.write(64, &[0; 8]);
        assert_eq!(one(g.call("api.divmod", &[I32(1), I32(0), I32(64), I32(68)])), I32(Errno::Inval as i32));
        assert_eq!(g.read(64, 8), [0; 8], "nothing written on error");
        assert_eq!(one(g.call("api.checked_div", &[I32(9), I32(3)])), I32(3));
        assert_eq!(g.call("api.checked_div", &[I32(9), I32(0)]).unwrap_err(), "api::checked_div: division by zero");
        assert_eq!(one(g.call("api.triple", &[I32(80), I32(88)])), I32(1));
        assert_eq!(g.read(80, 8), 2u64.to_le_bytes());
        assert_eq!(g.read(88, 1), [1]);
    }

    #[test]
    fn variable_length_results_fill_a_guest_buffer_and_report_the_length() {
        let mut g = guest();
        g.write(100, b"Ada");
        g.call("api.greeting", &[I32(100), I32(3), I32(200), I32(64), I32(300)]).unwrap();
        assert_eq!(u32s(&g.read(300, 4)), [10]);
        assert_eq!(g.read(200, 10), b"hello, Ada");
        // A buffer too small gets what fits and the full length.
        g.call("api.greeting", &[I32(100), I32(3), I32(400), I32(4), I32(300)]).unwrap();
        assert_eq!(g.read(400, 5), [b'h', b'e', b'l', b'l', 0]);
        assert_eq!(u32s(&g.read(300, 4)), [10]);
        g.call("api.squares", &[I32(4), I32(512), I32(8), I32(304)]).unwrap();
        assert_eq!(u32s(&g.read(512, 16)), [0, 1, 4, 9]);
        assert_eq!(u32s(&g.read(304, 4)), [4]);
    }

    #[test]
    fn unit_results_namespaces_renames_and_long_signatures() {
        let mut g = guest();
        assert_eq!(g.call("api.count_call", &[]).unwrap(), []);
        g.call("api.count_call", &[]).unwrap();
        assert_eq!(g.state().calls, 2);
        assert_eq!(one(g.call("other.ping", &[])), I32(7));
        assert_eq!(one(g.call("api.renamed", &[])), I32(9));
        let args: Vec<Val> = (1..=17).map(I32).collect();
        assert_eq!(one(g.call("api.seventeen", &args)), I32(153));
    }

    #[test]
    fn signatures_longer_than_the_typed_apis_still_work() {
        let mut g = guest();
        g.write(0, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        // Nine slices (i, i + 1) over the same bytes, then two out-pointers.
        let mut args: Vec<Val> = (0..9).flat_map(|i| [I32(i), I32(1)]).collect();
        args.extend([I32(64), I32(68)]);
        assert_eq!(one(g.call("api.twenty", &args)), I32(0));
        assert_eq!(u32s(&g.read(64, 8)), [9, 45]);
        let err = g.call("api.twenty", &[&args[..2], &[I32(0x10000), I32(1)], &args[4..]].concat()).unwrap_err();
        assert_eq!(err, "api::twenty: argument b: range 0x10000..0x10001 outside memory of 0x10000 bytes");
        let mut args: Vec<Val> = (0..14).flat_map(|i| [I32(i), I32(2)]).collect();
        args.extend([I32(100), I32(3)]);
        assert_eq!(one(g.call("api.thirty", &args)), I64(28));
        assert_eq!(g.read(100, 3), [9, 9, 9]);
        args[28] = I32(1);
        let err = g.call("api.thirty", &args).unwrap_err();
        assert_eq!(err, "api::thirty: argument o: region 0x1..0x4 overlaps region 0x0..0x2 already borrowed by this call (a mutable view may not alias)");
    }

    #[test]
    fn a_module_importing_a_skipped_method_does_not_link() {
        let wat = r#"(module (import "api" "not_exported" (func)))"#;
        assert!(Guest::try_new(wat, Api::default()).is_err());
    }
}
