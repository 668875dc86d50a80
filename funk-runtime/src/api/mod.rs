//! The guest ABI of the crates.io `lunatic` crate (0.14), as
//! `#[funk::host_functions]` blocks.
//!
//! Each namespace is a block on its own *view* of the [`ProcessState`]: a
//! `#[repr(transparent)]` wrapper, reached from the store data with
//! [`ref_cast`], so a block's methods see the whole process state while
//! each namespace stays in a file of its own. The blocks translate the
//! guest's pointers, lengths, ids and status codes into calls on the
//! runtime's core ([`Process`](crate::process::Process),
//! [`Node`](crate::node::Node), [`lifecycle`](crate::lifecycle)); what
//! those calls do is documented there.
//!
//! Conventions shared by all blocks (Lunatic's): ids are `u64`; a call
//! that can fail for a reason the guest should handle returns a status and
//! writes an *error id* the guest reads through `lunatic::error`; misuse
//! (an id that names nothing, a pointer outside memory) traps with a
//! message naming `lunatic::namespace::function` and the argument.

use funk::{GuestError, GuestView, HostApi, Lift, LiftAsync, LowerCx, OutValue, ReturnValue, Trap};

use crate::engine::ImportPlan;
use crate::state::{ErrorResource, ProcessState};

pub(crate) mod config;
pub(crate) mod distributed;
pub(crate) mod error;
pub(crate) mod message;
pub(crate) mod metrics;
pub(crate) mod preemption;
pub(crate) mod process;
pub(crate) mod registry;
pub(crate) mod timer;
pub(crate) mod trap;
pub(crate) mod version;
pub(crate) mod wasi_config;

/// Declares a view of [`ProcessState`] for one namespace's block.
macro_rules! view {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(ref_cast::RefCast)]
        #[repr(transparent)]
        pub(crate) struct $name(pub(crate) crate::state::ProcessState);

        impl funk::HasResources for $name {
            fn resources(&mut self) -> &mut funk::ResourceTable {
                &mut self.0.resources
            }
        }
    };
}
pub(crate) use view;

/// Calls `$m!(View)` for every built-in block.
macro_rules! for_each_block {
    ($m:ident) => {
        $m!(crate::api::process::ProcessApi);
        $m!(crate::api::config::ConfigApi);
        $m!(crate::api::message::MessageApi);
        $m!(crate::api::timer::TimerApi);
        $m!(crate::api::registry::RegistryApi);
        $m!(crate::api::error::ErrorApi);
        $m!(crate::api::trap::TrapApi);
        $m!(crate::api::version::VersionApi);
        $m!(crate::api::wasi_config::WasiConfigApi);
        $m!(crate::api::metrics::MetricsApi);
        $m!(crate::api::distributed::DistributedApi);
    };
}
pub(crate) use for_each_block;

/// The functions the built-in blocks (and WASI) define.
pub(crate) fn import_plan() -> ImportPlan {
    let mut names: Vec<(&'static str, &'static str)> = Vec::new();
    macro_rules! add {
        ($view:ty) => {
            names.extend(
                <$view as HostApi>::FUNCTIONS
                    .iter()
                    .map(|f| (f.namespace, f.name)),
            );
        };
    }
    for_each_block!(add);
    names.extend(
        <crate::wasi::Wasi as HostApi>::FUNCTIONS
            .iter()
            .map(|f| (f.namespace, f.name)),
    );
    ImportPlan::new(names)
}

/// The status a call returns on success.
pub(crate) const OK: u32 = 0;
/// The status a call returns on an error it reports by error id.
pub(crate) const FAILED: u32 = 1;
/// `receive` and friends: no message arrived in time.
pub(crate) const TIMED_OUT: u32 = 9027;

/// Lunatic's "no timeout".
pub(crate) fn timeout(millis: u64) -> Option<std::time::Duration> {
    (millis != u64::MAX).then(|| std::time::Duration::from_millis(millis))
}

impl ProcessState {
    /// Stores `message` as an error the guest reads by id.
    pub(crate) fn error_id(&mut self, message: impl std::fmt::Display) -> Result<u64, Trap> {
        self.resources
            .insert(ErrorResource(message.to_string()))
            .map(|handle| u64::from(handle.raw()))
            .map_err(|e| Trap::new(format!("cannot report an error: {e}")))
    }
}

/// An `i64` id where `-1` means "the caller's own" (config or module).
pub(crate) enum OrInherit<T> {
    /// `-1`.
    Inherit,
    /// Any other id, lifted as `T`.
    Given(T),
}

impl<'a, S, T: Lift<'a, S, Abi = u64>> Lift<'a, S> for OrInherit<T> {
    type Abi = i64;
    const MEMORY: bool = T::MEMORY;
    fn lift(view: &'a GuestView<'_>, state: &mut S, raw: i64) -> Result<Self, GuestError> {
        match raw {
            -1 => Ok(OrInherit::Inherit),
            id => T::lift(view, state, id as u64).map(OrInherit::Given),
        }
    }
}

/// Bytes written at a guest pointer without a length: the guest learned
/// the length first (`lunatic::error::string_size`, then `to_string`).
pub(crate) struct WrittenAt(pub(crate) Vec<u8>);

impl<S> OutValue<S> for WrittenAt {
    type OutPtrs = (u32, ());
    fn write(self, cx: &mut LowerCx<'_, '_, S>, (ptr, ()): (u32, ())) -> Result<(), Trap> {
        cx.memory()
            .write_bytes(ptr.into(), &self.0)
            .map_err(|e| cx.fault(e))
    }
}

impl<S> ReturnValue<S> for WrittenAt {
    type Results = ();
    type OutPtrs = (u32, ());
    const MEMORY: bool = true;
    fn lower(self, cx: &mut LowerCx<'_, '_, S>, ptrs: (u32, ())) -> Result<(), Trap> {
        self.write(cx, ptrs)
    }
}

/// `(ptr, count)` of 8-byte little-endian values, any alignment (as
/// Lunatic reads tag arrays).
pub(crate) struct Words(pub(crate) Vec<i64>);

impl<'a, S> Lift<'a, S> for Words {
    type Abi = (u32, u32);
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self, GuestError> {
        let raw: &[[u8; 8]] = view.slice(ptr.into(), count.into())?;
        Ok(Words(raw.iter().map(|w| i64::from_le_bytes(*w)).collect()))
    }
}

impl<'a, S> LiftAsync<'a, S> for Words {
    type Held = Option<Words>;
    fn hold(
        view: &GuestView<'_>,
        state: &mut S,
        abi: (u32, u32),
    ) -> Result<Option<Words>, GuestError> {
        lift_owned::<S, Words>(view, state, abi).map(Some)
    }
    fn lend(held: &'a mut Option<Words>) -> Self {
        held.take().unwrap_or(Words(Vec::new()))
    }
}

fn lift_owned<'v, S, T: Lift<'v, S>>(
    view: &'v GuestView<'_>,
    state: &mut S,
    abi: T::Abi,
) -> Result<T, GuestError> {
    T::lift(view, state, abi)
}
