//! Measures what a plugin returned, so one call cannot hand the host more than its cap.

use crate::bindings::wit;

/// The bytes a returned value holds in strings and lists.
pub(crate) trait ResultSize {
    fn result_size(&self) -> usize;
}

impl ResultSize for () {
    fn result_size(&self) -> usize {
        0
    }
}

impl ResultSize for u32 {
    fn result_size(&self) -> usize {
        4
    }
}

impl ResultSize for wit::Health {
    fn result_size(&self) -> usize {
        1
    }
}

impl ResultSize for String {
    fn result_size(&self) -> usize {
        self.len()
    }
}

impl<T: ResultSize> ResultSize for Option<T> {
    fn result_size(&self) -> usize {
        self.as_ref().map_or(0, T::result_size)
    }
}

impl<T: ResultSize> ResultSize for Vec<T> {
    fn result_size(&self) -> usize {
        self.iter().map(|t| t.result_size() + 8).sum()
    }
}

impl<A: ResultSize, B: ResultSize> ResultSize for (A, B) {
    fn result_size(&self) -> usize {
        self.0.result_size() + self.1.result_size()
    }
}

impl<T: ResultSize, E: ResultSize> ResultSize for Result<T, E> {
    fn result_size(&self) -> usize {
        match self {
            Ok(t) => t.result_size(),
            Err(e) => e.result_size(),
        }
    }
}

impl ResultSize for wit::Error {
    fn result_size(&self) -> usize {
        match self {
            wit::Error::InvalidInput(m)
            | wit::Error::NotFound(m)
            | wit::Error::Unavailable(m)
            | wit::Error::Internal(m) => m.len(),
        }
    }
}

impl ResultSize for wit::Attachment {
    fn result_size(&self) -> usize {
        self.id.len() + self.kind.len()
    }
}

impl ResultSize for wit::InstanceSpec {
    fn result_size(&self) -> usize {
        self.properties.result_size()
            + self.tags.result_size()
            + self.init.len()
            + self.logical_id.result_size()
            + self.attachments.result_size()
    }
}

impl ResultSize for wit::InstanceDescription {
    fn result_size(&self) -> usize {
        self.id.len()
            + self.logical_id.result_size()
            + self.tags.result_size()
            + self.properties.result_size()
    }
}

impl ResultSize for wit::GroupSpec {
    fn result_size(&self) -> usize {
        self.id.len() + self.properties.len()
    }
}

impl ResultSize for wit::GroupDescription {
    fn result_size(&self) -> usize {
        self.instances.result_size() + 1
    }
}
