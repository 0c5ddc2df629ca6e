use samod_core::{
    actors::{HubToDocMsg, document::io::DocumentIoResult},
    io::IoResult,
};

use crate::doc_actor_inner::DocActorInner;

/// A unit of work for one document actor, queued on its channel.
///
/// Every variant is boxed so the task is two words: each loaded document has
/// its own channel, and the channel keeps a block of 31 slots of this type
/// allocated while the actor lives. Unboxed (112 bytes) that block was
/// 3.7 KB per document, more than a small document itself (vendor §14).
pub(crate) enum ActorTask {
    HandleMessage(Box<HubToDocMsg>),
    IoComplete(Box<IoResult<DocumentIoResult>>),
    WithDocument(Box<dyn FnOnce(&mut DocActorInner) + Send + 'static>),
}

impl ActorTask {
    pub(crate) fn message(msg: HubToDocMsg) -> Self {
        Self::HandleMessage(Box::new(msg))
    }

    pub(crate) fn io_complete(result: IoResult<DocumentIoResult>) -> Self {
        Self::IoComplete(Box::new(result))
    }
}

impl std::fmt::Debug for ActorTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActorTask::HandleMessage(msg) => f.debug_tuple("HandleMessage").field(msg).finish(),
            ActorTask::IoComplete(result) => f.debug_tuple("IoComplete").field(result).finish(),
            ActorTask::WithDocument(_) => f.debug_tuple("WithDocument").finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ActorTask;

    /// Each loaded document's channel holds a block of 31 tasks for as long
    /// as the document is loaded: a task must stay a tag and a pointer.
    #[test]
    fn a_queued_task_is_a_tag_and_a_pointer() {
        assert!(
            std::mem::size_of::<ActorTask>() <= 3 * std::mem::size_of::<usize>(),
            "ActorTask is {} bytes",
            std::mem::size_of::<ActorTask>()
        );
    }
}
