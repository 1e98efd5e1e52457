//! [`Scoped`]: a credential's token caches, one per scope. The Event Hubs client asks with
//! an entity URI (`sb://ns.servicebus.windows.net/hub`), which means the credential's
//! Event Hubs scope; other callers — the blob checkpoint store asks for
//! `https://storage.azure.com/.default` — name an OAuth scope, and get a token for it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::auth::Token;
use crate::error::Error;
use crate::identity::cache::{Cached, FetchToken};

/// One [`Cached`] per scope asked for, all fetching from the same source.
pub(crate) struct Scoped {
    source: Arc<dyn FetchToken>,
    /// The scope for audiences that are not scopes: the cloud's Event Hubs scope.
    default_scope: String,
    caches: Mutex<HashMap<String, Arc<Cached>>>,
}

impl fmt::Debug for Scoped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("source", &self.source)
            .field("default_scope", &self.default_scope)
            .finish_non_exhaustive()
    }
}

impl Scoped {
    pub(crate) fn new(source: impl FetchToken + 'static, default_scope: impl Into<String>) -> Self {
        Self {
            source: Arc::new(source),
            default_scope: default_scope.into(),
            caches: Mutex::default(),
        }
    }

    /// A token for `audience`: for the scope it names (it ends with `/.default`), else for
    /// the default scope. Cancel-safe like [`Cached::token`]; the map's lock is never held
    /// across the request.
    pub(crate) async fn token(&self, audience: &str) -> Result<Token, Error> {
        let scope = scope_for(audience, &self.default_scope);
        let cache = {
            let mut caches = self
                .caches
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            caches
                .entry(scope.to_owned())
                .or_insert_with(|| Arc::new(Cached::new(self.source.clone(), scope.to_owned())))
                .clone()
        };
        cache.token().await
    }
}

/// The scope an audience asks for: itself when it is an OAuth scope, else `default`.
pub(crate) fn scope_for<'a>(audience: &'a str, default: &'a str) -> &'a str {
    if audience.ends_with("/.default") {
        audience
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use super::scope_for;

    #[test]
    fn entity_audiences_get_the_default_scope() {
        let eh = "https://eventhubs.azure.net/.default";
        assert_eq!(scope_for("sb://ns.servicebus.windows.net/hub", eh), eh);
        assert_eq!(scope_for("amqp://localhost/eh1", eh), eh);
        assert_eq!(
            scope_for("https://storage.azure.com/.default", eh),
            "https://storage.azure.com/.default"
        );
    }
}
