//! `lunatic::message`: building, sending and receiving messages through the
//! process's scratch area.

use funk::{Borrow, Handle, Trap, Wide};

use super::{OK, TIMED_OUT, Words, timeout, view};
use crate::mailbox::Filter;
use crate::message::{DataMessage, Message};
use crate::state::{ModuleResource, ProcessState};

view! {
    /// The `lunatic::message` block.
    MessageApi
}

impl ProcessState {
    /// The data message in the scratch area.
    fn data_message(&mut self) -> Result<&mut DataMessage, Trap> {
        match &mut self.scratch {
            Some(Message::Data(data)) => Ok(data),
            Some(other) => Err(Trap::new(format!(
                "the message in the scratch area is a {} signal, not data",
                signal_name(other)
            ))),
            None => Err(no_message()),
        }
    }

    /// Takes the message in the scratch area, to send it.
    pub(crate) fn take_message(&mut self) -> Result<Message, Trap> {
        self.scratch
            .take()
            .ok_or_else(|| Trap::new("there is no message to send: call create_data first"))
    }
}

fn no_message() -> Trap {
    Trap::new("the scratch area holds no message: create one with create_data or receive one")
}

fn signal_name(message: &Message) -> &'static str {
    match message {
        Message::Data(_) => "data",
        Message::LinkDied(_) => "link-died",
        Message::ProcessDied(_) => "process-died",
    }
}

#[funk::host_functions(namespace = "lunatic::message")]
impl MessageApi {
    /// Starts a new message in the scratch area (dropping any unsent one).
    /// `tag` 0 is untagged; `capacity` is a size hint.
    fn create_data(&mut self, tag: i64, capacity: u64) {
        self.0.scratch = Some(Message::Data(DataMessage::new(tag, capacity)));
    }

    /// Appends `data` to the message; returns the bytes written.
    fn write_data(&mut self, data: &[u8]) -> Result<u32, Trap> {
        let limit = self.0.runtime.settings.max_message_size;
        let written = self
            .0
            .data_message()?
            .write(data, limit)
            .map_err(Trap::from_error)?;
        Ok(written as u32)
    }

    /// Reads from the message into `buffer`; returns the bytes read.
    fn read_data(&mut self, buffer: &mut [u8]) -> Result<u32, Trap> {
        let read = self
            .0
            .data_message()?
            .read(buffer)
            .map_err(Trap::from_error)?;
        Ok(read as u32)
    }

    /// Moves the message's read position.
    fn seek_data(&mut self, position: u64) -> Result<(), Trap> {
        self.0.data_message()?.seek(position);
        Ok(())
    }

    /// The message's tag, 0 if untagged.
    fn get_tag(&mut self) -> Result<i64, Trap> {
        let message = self.0.scratch.as_ref().ok_or_else(no_message)?;
        Ok(message.tag().unwrap_or(0))
    }

    /// The process a process-died message is about; 0 for other messages.
    fn get_process_id(&mut self) -> Result<u64, Trap> {
        match self.0.scratch.as_ref().ok_or_else(no_message)? {
            Message::ProcessDied(id) => Ok(*id),
            _ => Ok(0),
        }
    }

    /// The message's size in bytes.
    fn data_size(&mut self) -> Result<u64, Trap> {
        Ok(self.0.data_message()?.len() as u64)
    }

    /// Adds a module to the message (this process keeps it too); returns
    /// its index in the message.
    fn push_module(&mut self, module_id: Wide<Borrow<ModuleResource>>) -> Result<u64, Trap> {
        let module = self.0.resources[module_id.0].0.clone();
        Ok(self
            .0
            .data_message()?
            .push_resource(Box::new(ModuleResource(module))))
    }

    /// Takes the module at `index` out of the message into this process's
    /// resources; returns its new id.
    fn take_module(&mut self, index: u64) -> Result<Wide<Handle<ModuleResource>>, Trap> {
        let module: ModuleResource = self
            .0
            .data_message()?
            .take_resource(index)
            .map_err(Trap::from_error)?;
        let handle = self.0.resources.insert(module).map_err(Trap::from_error)?;
        Ok(Wide(handle))
    }

    /// Sends the message to `process_id` (dropped if it does not exist).
    fn send(&mut self, process_id: u64) -> Result<u32, Trap> {
        let message = self.0.take_message()?;
        if let Some(target) = self.0.node.process(process_id) {
            target.send(message);
        }
        Ok(OK)
    }

    /// Sends the message, then waits for a reply tagged `wait_on_tag`,
    /// ignoring messages that were queued before: the reply cannot be among
    /// them. 0 when it arrived (it is in the scratch area), 9027 on
    /// timeout (`u64::MAX`: none).
    async fn send_receive_skip_search(
        &mut self,
        process_id: u64,
        wait_on_tag: i64,
        timeout_ms: u64,
    ) -> Result<u32, Trap> {
        let message = self.0.take_message()?;
        // Start waiting before sending: the reply may come back before
        // this call would otherwise look.
        let reply =
            self.0
                .process
                .receive(Filter::tags(vec![wait_on_tag]), true, timeout(timeout_ms));
        if let Some(target) = self.0.node.process(process_id) {
            target.send(message);
        }
        match reply.await {
            Some(reply) => {
                self.0.scratch = Some(reply);
                Ok(OK)
            }
            None => Ok(TIMED_OUT),
        }
    }

    /// Waits for the first queued message tagged with one of `tags` (any
    /// message if none are given) and puts it in the scratch area. Returns
    /// 0 for data, 1 for a link death, 2 for a monitored process's death,
    /// 9027 on timeout (`u64::MAX`: none).
    async fn receive(&mut self, tags: Words, timeout_ms: u64) -> u32 {
        let message = self
            .0
            .process
            .receive(Filter::tags(tags.0), false, timeout(timeout_ms))
            .await;
        match message {
            Some(message) => {
                let code = message.kind_code();
                self.0.scratch = Some(message);
                code
            }
            None => TIMED_OUT,
        }
    }
}
