//! Mailboxes: each process's queue of messages and selective receive.
//!
//! Messages wait in arrival order. A receive names the tags it wants (none
//! means any message) and takes the *first* queued message that matches,
//! leaving the others where they are, so a process can wait for a reply
//! while requests pile up behind it. An untagged message matches only a
//! receive that names no tags. A receive may also skip the messages that
//! were already queued when it started (`send_receive_skip_search`: the
//! reply cannot be among them).
//!
//! Only the owning process takes messages out, so a waiting receive scans
//! each message once: it remembers how far it has looked.

use std::collections::VecDeque;

use crate::message::Message;

/// Tag sets larger than this are sorted and binary-searched.
const LINEAR_TAGS: usize = 16;

/// Which messages a receive accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `None`: any message. `Some`: messages tagged with one of these.
    tags: Option<Vec<i64>>,
}

impl Filter {
    /// Accepts every message.
    pub fn any() -> Self {
        Filter { tags: None }
    }

    /// Accepts messages tagged with one of `tags`; an empty set accepts
    /// every message, as Lunatic's `receive` does.
    pub fn tags(mut tags: Vec<i64>) -> Self {
        if tags.is_empty() {
            return Filter::any();
        }
        if tags.len() > LINEAR_TAGS {
            tags.sort_unstable();
            tags.dedup();
        }
        Filter { tags: Some(tags) }
    }

    /// Whether `message` is accepted.
    pub fn matches(&self, message: &Message) -> bool {
        let Some(tags) = &self.tags else {
            return true;
        };
        let Some(tag) = message.tag() else {
            return false;
        };
        if tags.len() > LINEAR_TAGS {
            tags.binary_search(&tag).is_ok()
        } else {
            tags.contains(&tag)
        }
    }
}

/// The queue of one process.
#[derive(Debug, Default)]
pub struct Mailbox {
    messages: VecDeque<Message>,
}

impl Mailbox {
    /// Queues `message` at the back.
    pub fn push(&mut self, message: Message) {
        self.messages.push_back(message);
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Removes and returns the first message at position `from` or later
    /// that `filter` accepts.
    pub fn take_first(&mut self, filter: &Filter, from: usize) -> Option<Message> {
        let index = self
            .messages
            .iter()
            .skip(from)
            .position(|m| filter.matches(m))?;
        self.messages.remove(from + index)
    }

    /// Drops every queued message.
    pub fn clear(&mut self) -> VecDeque<Message> {
        std::mem::take(&mut self.messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::DataMessage;

    fn tagged(tag: i64) -> Message {
        Message::Data(DataMessage::new(tag, 0))
    }

    #[test]
    fn untagged_messages_match_only_an_open_receive() {
        let untagged = tagged(0);
        assert!(Filter::any().matches(&untagged));
        assert!(Filter::tags(vec![]).matches(&untagged));
        assert!(!Filter::tags(vec![1]).matches(&untagged));
        assert!(Filter::tags(vec![1, 7]).matches(&tagged(7)));
        assert!(!Filter::tags(vec![1, 7]).matches(&Message::ProcessDied(3)));
        assert!(Filter::tags(vec![4]).matches(&Message::LinkDied(Some(4))));
    }

    #[test]
    fn selective_receive_is_fifo_among_matches_and_keeps_the_rest() {
        let mut mailbox = Mailbox::default();
        for tag in [1, 2, 1, 3] {
            mailbox.push(tagged(tag));
        }
        let filter = Filter::tags(vec![3, 2]);
        assert_eq!(mailbox.take_first(&filter, 0).unwrap().tag(), Some(2));
        assert_eq!(mailbox.take_first(&filter, 0).unwrap().tag(), Some(3));
        assert!(mailbox.take_first(&filter, 0).is_none());
        assert_eq!(mailbox.len(), 2);
        assert_eq!(
            mailbox.take_first(&Filter::any(), 0).unwrap().tag(),
            Some(1)
        );
    }

    #[test]
    fn skipping_ignores_messages_queued_earlier() {
        let mut mailbox = Mailbox::default();
        mailbox.push(tagged(9));
        let filter = Filter::tags(vec![9]);
        assert!(mailbox.take_first(&filter, 1).is_none());
        mailbox.push(tagged(9));
        assert!(mailbox.take_first(&filter, 1).is_some());
        assert_eq!(mailbox.len(), 1);
    }

    #[test]
    fn large_tag_sets_are_searched_not_scanned() {
        let tags: Vec<i64> = (0..5000).rev().map(|t| t * 2).collect();
        let filter = Filter::tags(tags);
        assert!(filter.matches(&tagged(4998)));
        assert!(!filter.matches(&tagged(4999)));
        // Tag 0 is "untagged", so it never matches a tag set, even one listing 0.
        assert!(!filter.matches(&tagged(0)));
    }
}
