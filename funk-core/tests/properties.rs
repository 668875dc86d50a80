//! Property tests: lifting and lowering against a fake guest memory, checked
//! against naive models. Whatever the guest passes, funk answers with a value
//! or an error, never a panic, and accepts exactly what the model accepts.

use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};

use funk_core::{GuestError, GuestMemory, Handle, Lift, ResourceTable, region};
use proptest::prelude::*;

const MEMORY: usize = 256;

fn memory() -> Vec<u64> {
    // u64 words keep the fake memory 8-aligned like a real wasm memory.
    (0..MEMORY as u64 / 8)
        .map(|i| i.wrapping_mul(0x0101_0101_0101_0101))
        .collect()
}

fn in_bounds(ptr: u64, len: u64) -> bool {
    ptr.checked_add(len).is_some_and(|end| end <= MEMORY as u64)
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.1 > 0 && b.1 > 0 && a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

proptest! {
    #[test]
    fn region_accepts_exactly_the_in_bounds_ranges(ptr in any::<u64>(), len in any::<u64>()) {
        match region(ptr, len, MEMORY) {
            Ok(range) => {
                prop_assert!(in_bounds(ptr, len));
                prop_assert_eq!(range.start as u64, ptr);
                prop_assert_eq!(range.len() as u64, len);
            }
            Err(_) => prop_assert!(!in_bounds(ptr, len)),
        }
    }

    #[test]
    fn claims_follow_the_aliasing_model(
        claims in prop::collection::vec((0u64..300, 0u64..64, any::<bool>()), 1..12)
    ) {
        let mut words = memory();
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let mut accepted: Vec<(u64, u64, bool)> = Vec::new();
        for (ptr, len, mutable) in claims {
            let expect = in_bounds(ptr, len)
                && !accepted.iter().any(|&(p, l, m)| (m || mutable) && overlaps((ptr, len), (p, l)));
            let got = if mutable {
                view.bytes_mut(ptr, len).map(|s| s.len())
            } else {
                view.bytes(ptr, len).map(|s| s.len())
            };
            prop_assert_eq!(got.is_ok(), expect, "claim {:?} after {:?}: {:?}", (ptr, len, mutable), accepted, got);
            if let Ok(n) = got {
                prop_assert_eq!(n as u64, len);
                accepted.push((ptr, len, mutable));
            }
        }
    }

    #[test]
    fn typed_slices_check_alignment_bounds_and_count(ptr in 0u64..300, count in any::<u32>()) {
        let mut words = memory();
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let bytes = u64::from(count) * 4;
        match view.slice::<u32>(ptr, count.into()) {
            Ok(s) => {
                prop_assert!(ptr % 4 == 0 && in_bounds(ptr, bytes));
                prop_assert_eq!(s.len() as u64, u64::from(count));
            }
            Err(GuestError::Misaligned { .. }) => prop_assert!(ptr % 4 != 0),
            Err(_) => prop_assert!(!in_bounds(ptr, bytes)),
        }
    }

    #[test]
    fn iovecs_lift_iff_every_entry_is_valid(
        entries in prop::collection::vec((0u32..300, 0u32..40), 0..6),
        mutable in any::<bool>(),
    ) {
        let mut words = memory();
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        for (i, (buf, len)) in entries.iter().enumerate() {
            bytes[8 * i..8 * i + 4].copy_from_slice(&buf.to_le_bytes());
            bytes[8 * i + 4..8 * i + 8].copy_from_slice(&len.to_le_bytes());
        }
        let array = (0u64, 8 * entries.len() as u64);
        let regions: Vec<(u64, u64)> = entries.iter().map(|&(b, l)| (b.into(), l.into())).collect();
        let all_in_bounds = regions.iter().all(|&(p, l)| in_bounds(p, l));
        let disjoint = !mutable || regions.iter().enumerate().all(|(i, &a)| {
            !overlaps(a, array) && regions[..i].iter().all(|&b| !overlaps(a, b))
        });
        let mut mem = GuestMemory::new(bytes);
        let view = mem.view(true);
        let count = entries.len() as u32;
        let lengths = if mutable {
            <&mut [IoSliceMut<'_>] as Lift<()>>::lift(&view, &mut (), (0, count))
                .map(|s| s.iter().map(|b| b.len()).collect::<Vec<_>>())
        } else {
            <&[IoSlice<'_>] as Lift<()>>::lift(&view, &mut (), (0, count))
                .map(|s| s.iter().map(|b| b.len()).collect::<Vec<_>>())
        };
        prop_assert_eq!(lengths.is_ok(), all_in_bounds && disjoint, "{:?}", lengths);
        if let Ok(lengths) = lengths {
            let expected: Vec<usize> = entries.iter().map(|&(_, l)| l as usize).collect();
            prop_assert_eq!(lengths, expected);
        }
    }

    #[test]
    fn out_values_are_written_iff_aligned_and_in_bounds(ptr in any::<u32>(), value in any::<u64>()) {
        let mut words = memory();
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let ok = mem.write(ptr.into(), value).is_ok();
        prop_assert_eq!(ok, ptr % 8 == 0 && in_bounds(ptr.into(), 8));
        if ok {
            prop_assert_eq!(mem.read::<u64>(ptr.into()).unwrap(), value);
        }
    }

    #[test]
    fn handles_resolve_iff_the_model_says_they_are_live(
        ops in prop::collection::vec((0u8..3, any::<u32>()), 1..60)
    ) {
        let mut table = ResourceTable::new();
        let mut live: HashMap<u32, u32> = HashMap::new();
        let mut issued: Vec<u32> = Vec::new();
        for (op, seed) in ops {
            // Half the ids are ones the table issued, half are made up.
            let id = match issued.is_empty() || seed % 2 == 0 {
                true => seed,
                false => issued[seed as usize % issued.len()],
            };
            match op {
                0 => {
                    let h = table.insert(seed).unwrap();
                    prop_assert!(!live.contains_key(&h.raw()), "id reused while live");
                    live.insert(h.raw(), seed);
                    issued.push(h.raw());
                }
                1 => {
                    let removed = table.remove::<u32>(Handle::from_raw(id)).ok();
                    prop_assert_eq!(removed, live.remove(&id));
                }
                _ => {
                    let got = table.get::<u32>(Handle::from_raw(id)).ok().copied();
                    prop_assert_eq!(got, live.get(&id).copied());
                    prop_assert!(table.get::<u64>(Handle::from_raw(id)).is_err(), "wrong type accepted");
                }
            }
            prop_assert_eq!(table.len(), live.len());
        }
    }
}
