//! Which file-system notifications mean a watched file may have new content. Shared by
//! everything that reloads files on events (TLS certificates, the file source).

use notify::EventKind;
use notify::event::{AccessKind, AccessMode};

/// `true` for creations, modifications, removals, renames, closes after writing, and events
/// of unknown kind; `false` for other accesses. Those include the opens and closes of the
/// reloader's own reads: reacting to them would reload in a loop.
pub fn is_change(kind: EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Other => true,
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, ModifyKind, RemoveKind};

    use super::*;

    #[test]
    fn own_reads_are_not_changes() {
        assert!(!is_change(EventKind::Access(AccessKind::Open(AccessMode::Any))));
        assert!(!is_change(EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(!is_change(EventKind::Access(AccessKind::Read)));
    }

    #[test]
    fn writes_creations_removals_and_unknowns_are_changes() {
        assert!(is_change(EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is_change(EventKind::Create(CreateKind::File)));
        assert!(is_change(EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(EventKind::Remove(RemoveKind::File)));
        assert!(is_change(EventKind::Any));
        assert!(is_change(EventKind::Other));
    }
}
