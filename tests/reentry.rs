//! Host functions that call back into the guest (`GuestCx`), on every
//! enabled engine: results, caught traps with the store still usable,
//! nested host calls that use the state, memory between calls, and the
//! errors for a missing export or a wrong signature.

mod common;

use funk::{GuestCallError, GuestCx, HostApi, Trap};

#[derive(Default)]
pub struct Callbacks {
    log: Vec<String>,
}

#[funk::host_functions(namespace = "app::callbacks")]
impl Callbacks {
    /// Calls the guest's `work(x)` and returns its result + 1, or -1 if it
    /// trapped.
    async fn call_work(cx: &mut GuestCx<'_, Self>, x: i32) -> Result<i32, Trap> {
        cx.state().log.push(format!("call_work({x})"));
        match cx.call::<(i32,), (i32,)>("work", (x,)).await {
            Ok((result,)) => Ok(result + 1),
            Err(GuestCallError::Trapped(_)) => Ok(-1),
            Err(other) => Err(Trap::from_error(other)),
        }
    }

    /// Calls an export by a name the guest gives, as `() -> i32`.
    async fn call_named(cx: &mut GuestCx<'_, Self>, name: &str) -> Result<i32, Trap> {
        let (result,) = cx
            .call::<(), (i32,)>(name, ())
            .await
            .map_err(Trap::from_error)?;
        Ok(result)
    }

    /// Calls `fill()`, which writes to memory, then reads the byte at
    /// `ptr` through the context.
    async fn fill_then_read(cx: &mut GuestCx<'_, Self>, ptr: u32) -> Result<u32, Trap> {
        cx.call::<(), ()>("fill", ())
            .await
            .map_err(Trap::from_error)?;
        let byte = cx.with_memory(|memory, _| {
            memory
                .bytes()
                .map(|bytes| bytes.get(ptr as usize).copied().unwrap_or(0))
        });
        byte.map(u32::from).map_err(|e| Trap::new(e.to_string()))
    }

    /// A sync host function the guest calls from inside `work`.
    fn note(&mut self, value: i32) {
        self.log.push(format!("note({value})"));
    }
}

const WAT: &str = r#"(module
    (import "app::callbacks" "call_work" (func $call_work (param i32) (result i32)))
    (import "app::callbacks" "call_named" (func $call_named (param i32 i32) (result i32)))
    (import "app::callbacks" "fill_then_read" (func $fill_then_read (param i32) (result i32)))
    (import "app::callbacks" "note" (func $note (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "nope")
    (data (i32.const 8) "wrong")
    (global $calls (mut i32) (i32.const 0))
    ;; Doubles x, telling the host; traps on x = 13.
    (func (export "work") (param $x i32) (result i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (call $note (local.get $x))
        (if (i32.eq (local.get $x) (i32.const 13)) (then unreachable))
        (i32.mul (local.get $x) (i32.const 2)))
    (func (export "wrong") (param i32) (result i32) (local.get 0))
    (func (export "fill") (i32.store8 (i32.const 100) (i32.const 77)))
    (func (export "calls") (result i32) (global.get $calls))
    (func (export "run") (param i32) (result i32) (call $call_work (local.get 0)))
    (func (export "run_named") (param i32 i32) (result i32)
        (call $call_named (local.get 0) (local.get 1)))
    (func (export "run_fill") (result i32) (call $fill_then_read (i32.const 100))))"#;

#[test]
fn context_functions_need_memory_and_are_async() {
    let info = Callbacks::FUNCTIONS
        .iter()
        .find(|f| f.name == "call_work")
        .unwrap();
    assert!(info.asynchronous && info.memory);
    assert_eq!(info.qualified, "app::callbacks::call_work");
}

each_engine! {
    use super::{Callbacks, WAT};
    use crate::common::Val::I32;

    #[tokio::test]
    async fn the_guest_is_called_back_and_its_result_returned() {
        let mut guest = AsyncGuest::new(WAT, Callbacks::default()).await;
        assert_eq!(guest.call("run", &[I32(20)]).await, Ok(vec![I32(41)]));
        let log = guest.with_state(|c: &mut Callbacks| c.log.clone()).await;
        // The nested guest call used the state through another host function.
        assert_eq!(log, ["call_work(20)", "note(20)"]);
    }

    #[tokio::test]
    async fn a_trap_in_the_callback_is_caught_and_the_store_lives_on() {
        let mut guest = AsyncGuest::new(WAT, Callbacks::default()).await;
        assert_eq!(guest.call("run", &[I32(13)]).await, Ok(vec![I32(-1)]));
        assert_eq!(guest.call("run", &[I32(2)]).await, Ok(vec![I32(5)]));
        assert_eq!(guest.call("calls", &[]).await, Ok(vec![I32(2)]));
    }

    #[tokio::test]
    async fn memory_written_by_the_callback_is_visible_after_it() {
        let mut guest = AsyncGuest::new(WAT, Callbacks::default()).await;
        assert_eq!(guest.call("run_fill", &[]).await, Ok(vec![I32(77)]));
    }

    #[tokio::test]
    async fn a_missing_export_or_a_wrong_signature_traps_naming_both() {
        let mut guest = AsyncGuest::new(WAT, Callbacks::default()).await;
        assert_eq!(
            guest.call("run_named", &[I32(0), I32(4)]).await,
            Err("app::callbacks::call_named: the guest exports no function `nope`".to_owned())
        );
        assert_eq!(
            guest.call("run_named", &[I32(8), I32(5)]).await,
            Err("app::callbacks::call_named: the guest function `wrong` has type (i32) -> (i32), but was called as () -> (i32)".to_owned())
        );
        // The store is fine afterwards.
        assert_eq!(guest.call("run", &[I32(1)]).await, Ok(vec![I32(3)]));
    }
}
