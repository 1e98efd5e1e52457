//! Azure clouds: the namespace DNS suffix a short namespace name gets, the Entra ID
//! authority and the Event Hubs token scope — from `AZURE_ENVIRONMENT` (as the Go library
//! reads it) or chosen explicitly.

use crate::error::Error;

/// An Azure cloud.
///
/// ```
/// use eventhubs::{ClientOptions, Cloud};
/// let options = ClientOptions::default().cloud(Cloud::from_name("AzureUSGovernmentCloud")?);
/// assert_eq!(Cloud::us_government().namespace_suffix(), ".servicebus.usgovcloudapi.net");
/// # let _ = options;
/// # Ok::<(), eventhubs::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    name: String,
    authority_host: String,
    namespace_suffix: String,
    scope: String,
}

/// The Event Hubs scope: the same resource in every cloud, per Microsoft's documentation.
const EVENTHUBS_SCOPE: &str = "https://eventhubs.azure.net/.default";

impl Cloud {
    /// The public cloud (the default): `login.microsoftonline.com`, `.servicebus.windows.net`.
    pub fn public() -> Self {
        Self::custom(
            "AzurePublicCloud",
            "https://login.microsoftonline.com/",
            ".servicebus.windows.net",
            EVENTHUBS_SCOPE,
        )
    }

    /// Azure US Government: `login.microsoftonline.us`, `.servicebus.usgovcloudapi.net`.
    pub fn us_government() -> Self {
        Self::custom(
            "AzureUSGovernmentCloud",
            "https://login.microsoftonline.us/",
            ".servicebus.usgovcloudapi.net",
            EVENTHUBS_SCOPE,
        )
    }

    /// Azure China (21Vianet): `login.chinacloudapi.cn`, `.servicebus.chinacloudapi.cn`.
    /// Its documentation also names `https://eventhubs.chinacloudapi.cn/` as the resource;
    /// the SDKs use the common one. Override with [`Cloud::with_scope`] if yours differs.
    pub fn china() -> Self {
        Self::custom(
            "AzureChinaCloud",
            "https://login.chinacloudapi.cn/",
            ".servicebus.chinacloudapi.cn",
            EVENTHUBS_SCOPE,
        )
    }

    /// Any other cloud (Azure Stack, a private one): its Entra ID authority host, the DNS
    /// suffix of its namespaces (`.servicebus.example`) and the Event Hubs token scope.
    pub fn custom(
        name: impl Into<String>,
        authority_host: impl Into<String>,
        namespace_suffix: impl Into<String>,
        scope: impl Into<String>,
    ) -> Self {
        let suffix: String = namespace_suffix.into();
        Self {
            name: name.into(),
            authority_host: with_slash(authority_host.into()),
            namespace_suffix: if suffix.starts_with('.') {
                suffix
            } else {
                format!(".{suffix}")
            },
            scope: scope.into(),
        }
    }

    /// A cloud by the name `AZURE_ENVIRONMENT` uses (case-insensitive):
    /// `AzurePublicCloud`, `AzureUSGovernmentCloud`, `AzureChinaCloud`. The German cloud
    /// closed in 2021: its name is an error saying so.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name.trim().to_ascii_uppercase().as_str() {
            "AZUREPUBLICCLOUD" => Ok(Self::public()),
            "AZUREUSGOVERNMENTCLOUD" => Ok(Self::us_government()),
            "AZURECHINACLOUD" => Ok(Self::china()),
            "AZUREGERMANCLOUD" => Err(Error::invalid(
                "AzureGermanCloud closed in October 2021: its namespaces moved to the public cloud (AzurePublicCloud)",
            )),
            _ => Err(Error::invalid(format!(
                "unknown Azure cloud {name:?}: expected AzurePublicCloud, AzureUSGovernmentCloud or AzureChinaCloud"
            ))),
        }
    }

    /// The cloud `AZURE_ENVIRONMENT` names (the public one when unset), with the authority
    /// host `AZURE_AUTHORITY_HOST` gives, if set.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut cloud = match set("AZURE_ENVIRONMENT") {
            Some(name) => Self::from_name(&name)
                .map_err(|e| Error::invalid(format!("AZURE_ENVIRONMENT: {e}")))?,
            None => Self::public(),
        };
        if let Some(host) = set("AZURE_AUTHORITY_HOST") {
            if !host.starts_with("https://") {
                return Err(Error::invalid(format!(
                    "AZURE_AUTHORITY_HOST={host}: expected an https:// URL"
                )));
            }
            cloud.authority_host = with_slash(host);
        }
        Ok(cloud)
    }

    /// The same cloud with another Event Hubs token scope.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Its name (`AzurePublicCloud`...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Entra ID authority host, with a trailing `/`.
    pub fn authority_host(&self) -> &str {
        &self.authority_host
    }

    /// What a short namespace name is completed with (`.servicebus.windows.net`).
    pub fn namespace_suffix(&self) -> &str {
        &self.namespace_suffix
    }

    /// The scope of Event Hubs tokens (`https://eventhubs.azure.net/.default`).
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

fn with_slash(host: String) -> String {
    if host.ends_with('/') {
        host
    } else {
        format!("{host}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn names_and_environment() {
        assert_eq!(Cloud::from_vars(vars(&[])).unwrap(), Cloud::public());
        for (name, suffix) in [
            ("azurepubliccloud", ".servicebus.windows.net"),
            ("AzureUSGovernmentCloud", ".servicebus.usgovcloudapi.net"),
            ("AZURECHINACLOUD", ".servicebus.chinacloudapi.cn"),
        ] {
            assert_eq!(Cloud::from_name(name).unwrap().namespace_suffix(), suffix);
        }
        let german = Cloud::from_name("AzureGermanCloud")
            .unwrap_err()
            .to_string();
        assert!(german.contains("closed"), "{german}");
        let typo = Cloud::from_vars(vars(&[("AZURE_ENVIRONMENT", "AzurePublic")]))
            .unwrap_err()
            .to_string();
        assert!(
            typo.contains("AZURE_ENVIRONMENT") && typo.contains("AzurePublicCloud"),
            "{typo}"
        );
        let gov = Cloud::from_vars(vars(&[
            ("AZURE_ENVIRONMENT", "AzureUSGovernmentCloud"),
            ("AZURE_AUTHORITY_HOST", "https://login.example"),
        ]))
        .unwrap();
        assert_eq!(gov.authority_host(), "https://login.example/");
        assert_eq!(gov.namespace_suffix(), ".servicebus.usgovcloudapi.net");
        assert_eq!(gov.scope(), "https://eventhubs.azure.net/.default");
        assert!(Cloud::from_vars(vars(&[("AZURE_AUTHORITY_HOST", "http://x")])).is_err());
        let custom = Cloud::custom("Stack", "https://login.stack", "servicebus.stack", "s");
        assert_eq!(
            (custom.authority_host(), custom.namespace_suffix()),
            ("https://login.stack/", ".servicebus.stack")
        );
    }
}
