//! `lunatic::distributed`: the answers of a node that is not part of a
//! cluster. The guest crate asks `node_id` on every send to tell local from
//! remote processes; everything that would reach another node is a stub
//! that traps (see [`engine`](crate::engine)).

use super::view;

view! {
    /// The local part of `lunatic::distributed`.
    DistributedApi
}

#[funk::host_functions(namespace = "lunatic::distributed")]
impl DistributedApi {
    /// This node's id: 0, a node outside any cluster.
    fn node_id(&self) -> u64 {
        0
    }

    /// The id of the module this process was spawned from.
    fn module_id(&self) -> u64 {
        self.0.module.id()
    }
}
