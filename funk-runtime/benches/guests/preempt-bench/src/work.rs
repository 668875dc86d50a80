//! The compute of the benchmark's workloads, plain Rust: compiled into the
//! wasm guest and, through `#[path]`, natively into the benchmark, so the
//! native baseline runs the same source.

/// Recursive Fibonacci: the compute-heavy workload (a call per step, and
/// almost nothing else).
#[inline(never)]
pub fn fib(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// Something with a cost that depends on its data.
pub trait Shape {
    /// Its area.
    fn area(&self) -> u64;
}

struct Square(u64);
struct Rect(u64, u64);
struct Triangle(u64, u64);

impl Shape for Square {
    fn area(&self) -> u64 {
        self.0 * self.0
    }
}

impl Shape for Rect {
    fn area(&self) -> u64 {
        self.0 * self.1
    }
}

impl Shape for Triangle {
    fn area(&self) -> u64 {
        self.0 * self.1 / 2
    }
}

#[inline(never)]
fn mix(acc: u64, x: u64) -> u64 {
    (acc ^ x).rotate_left(5).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The call-heavy workload: `rounds` passes over 64 trait objects, each
/// step an indirect call to a small leaf and a direct call to another; the
/// calls sit in a loop, not in recursion.
#[inline(never)]
pub fn calls(rounds: u32) -> u64 {
    let shapes: Vec<Box<dyn Shape>> = (0..64u64)
        .map(|i| -> Box<dyn Shape> {
            match i % 3 {
                0 => Box::new(Square(i + 1)),
                1 => Box::new(Rect(i + 1, i + 2)),
                _ => Box::new(Triangle(i + 3, i + 1)),
            }
        })
        .collect();
    let mut acc = 0u64;
    for round in 0..rounds {
        for shape in std::hint::black_box(&shapes) {
            acc = mix(acc, shape.area() + round as u64);
        }
    }
    acc
}
