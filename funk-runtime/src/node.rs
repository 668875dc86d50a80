//! Nodes: the set of live processes that can reach each other.
//!
//! A [`Node`] hands out process ids, finds a live process by id, and keeps
//! the name registry. Lunatic calls this an *environment*; `funk run` uses
//! one for the whole program, and its test mode one per test, so tests
//! cannot see each other's processes or names.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::process::{Process, ProcessId};
use crate::registry::Registry;

/// Shards of the process table; ids are spread over them round-robin.
const SHARDS: usize = 64;

static NEXT_NODE_ID: AtomicU64 = AtomicU64::new(1);

/// A set of processes that can address each other. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Node {
    inner: Arc<NodeInner>,
}

#[derive(Debug)]
struct NodeInner {
    id: u64,
    next_process: AtomicU64,
    live: AtomicUsize,
    max_processes: usize,
    table: Vec<RwLock<HashMap<ProcessId, Arc<Process>>>>,
    registry: Mutex<Registry>,
}

/// The node holds as many processes as it is allowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the runtime already runs {limit} processes, its limit")]
pub struct ProcessLimit {
    /// The limit.
    pub limit: usize,
}

impl Node {
    /// An empty node that runs at most `max_processes` processes at once.
    pub fn new(max_processes: usize) -> Self {
        Node {
            inner: Arc::new(NodeInner {
                id: NEXT_NODE_ID.fetch_add(1, Ordering::Relaxed),
                next_process: AtomicU64::new(1),
                live: AtomicUsize::new(0),
                max_processes,
                table: (0..SHARDS).map(|_| RwLock::default()).collect(),
                registry: Mutex::default(),
            }),
        }
    }

    /// This node's id (Lunatic's environment id).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    fn shard(&self, id: ProcessId) -> &RwLock<HashMap<ProcessId, Arc<Process>>> {
        &self.inner.table[(id % SHARDS as u64) as usize]
    }

    /// Creates a process with a fresh id and makes it reachable.
    pub(crate) fn create_process(&self) -> Result<Arc<Process>, ProcessLimit> {
        let limit = self.inner.max_processes;
        self.inner
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                (live < limit).then_some(live + 1)
            })
            .map_err(|_| ProcessLimit { limit })?;
        let id = self.inner.next_process.fetch_add(1, Ordering::Relaxed);
        let process = Process::new(id);
        self.shard(id)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, process.clone());
        Ok(process)
    }

    /// Makes `id` unreachable (it exited).
    pub(crate) fn remove_process(&self, id: ProcessId) {
        let removed = self
            .shard(id)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if removed.is_some() {
            self.inner.live.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The live process `id`, if any.
    pub fn process(&self, id: ProcessId) -> Option<Arc<Process>> {
        self.shard(id)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// Number of live processes.
    pub fn process_count(&self) -> usize {
        self.inner.live.load(Ordering::Acquire)
    }

    /// The name registry, locked. Hold it only briefly.
    pub(crate) fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_removed_processes_are_unreachable() {
        let node = Node::new(10);
        let a = node.create_process().unwrap();
        let b = node.create_process().unwrap();
        assert_ne!(a.id(), b.id());
        assert!(node.process(a.id()).is_some());
        node.remove_process(a.id());
        assert!(node.process(a.id()).is_none());
        assert_eq!(node.process_count(), 1);
        node.remove_process(a.id());
        assert_eq!(node.process_count(), 1, "removing twice counts once");
    }

    #[test]
    fn the_process_limit_is_an_error_not_a_panic() {
        let node = Node::new(2);
        let a = node.create_process().unwrap();
        node.create_process().unwrap();
        assert_eq!(
            node.create_process().unwrap_err(),
            ProcessLimit { limit: 2 }
        );
        node.remove_process(a.id());
        assert!(node.create_process().is_ok());
    }
}
