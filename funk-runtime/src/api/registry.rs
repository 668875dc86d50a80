//! `lunatic::registry`: publishing processes under names.

use funk::{Failure, HostError, Status};

use super::view;
use crate::registry::Entry;

view! {
    /// The `lunatic::registry` block.
    RegistryApi
}

/// `get`: no process is registered under the name (status 1).
#[derive(Debug)]
pub(crate) struct NotRegistered;

impl HostError for NotRegistered {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(1)
    }
}

#[funk::host_functions(namespace = "lunatic::registry")]
impl RegistryApi {
    /// Registers `process_id` on `node_id` under `name`, replacing any
    /// earlier entry.
    fn put(&mut self, name: &str, node_id: u64, process_id: u64) {
        self.0.node.registry().put(
            name,
            Entry {
                node: node_id,
                process: process_id,
            },
        );
    }

    /// Looks `name` up: 0 and the node and process ids, or 1.
    fn get(&mut self, name: &str) -> Result<(u64, u64), NotRegistered> {
        let entry = self.0.node.registry().get(name).ok_or(NotRegistered)?;
        Ok((entry.node, entry.process))
    }

    /// Removes `name` from the registry.
    fn remove(&mut self, name: &str) {
        self.0.node.registry().remove(name);
    }
}
