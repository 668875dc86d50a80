//! The name registry: processes published under names.
//!
//! The guest crate builds names that encode the message and serializer
//! types (`"{M}/{S}/Process/{name}"`), which makes lookups type-checked on
//! the guest side; to the runtime a name is an opaque string. An entry
//! stays until it is removed or overwritten, even if its process exits
//! (as in Lunatic): a lookup may return a dead process id, and sends to it
//! are dropped.

use std::collections::HashMap;

use crate::process::ProcessId;

/// Where a name points: a node and a process on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The node id (0 for this node).
    pub node: u64,
    /// The process id.
    pub process: ProcessId,
}

/// Names to processes.
#[derive(Debug, Default)]
pub struct Registry {
    names: HashMap<String, Entry>,
}

impl Registry {
    /// Publishes `entry` under `name`, replacing any earlier entry.
    pub fn put(&mut self, name: &str, entry: Entry) {
        match self.names.get_mut(name) {
            Some(slot) => *slot = entry,
            None => {
                self.names.insert(name.to_owned(), entry);
            }
        }
    }

    /// The entry under `name`.
    pub fn get(&self, name: &str) -> Option<Entry> {
        self.names.get(name).copied()
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) -> Option<Entry> {
        self.names.remove(name)
    }

    /// The names pointing at `process` (for reporting a failure by name).
    pub fn names_of(&self, process: ProcessId) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .filter(move |(_, entry)| entry.process == process)
            .map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_overwrites_and_remove_forgets() {
        let mut registry = Registry::default();
        let first = Entry {
            node: 0,
            process: 1,
        };
        let second = Entry {
            node: 0,
            process: 2,
        };
        registry.put("a", first);
        registry.put("a", second);
        assert_eq!(registry.get("a"), Some(second));
        assert_eq!(registry.names_of(2).collect::<Vec<_>>(), ["a"]);
        assert_eq!(registry.remove("a"), Some(second));
        assert_eq!(registry.get("a"), None);
    }
}
