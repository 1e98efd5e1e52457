//! Building a hub client: connection strings (good and bad), the environment, token
//! providers; typed errors that say what is wrong; secrets never in `Debug` or errors.
//! One test function: it changes process environment variables.

use std::sync::Arc;

use eventhubs::{ErrorKind, Hub, HubOptions, SasTokenProvider};

const KEY: &str = "c2VjcmV0LWtleS12YWx1ZQ==";

fn cs(extra: &str) -> String {
    format!("Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=policy;SharedAccessKey={KEY}{extra}")
}

const ENV_VARS: [&str; 5] = [
    "EVENTHUB_CONNECTION_STRING",
    "EVENTHUB_NAMESPACE",
    "EVENTHUB_NAME",
    "EVENTHUB_KEY_NAME",
    "EVENTHUB_KEY_VALUE",
];

#[test]
fn construction_and_errors() {
    // Good strings.
    let hub = Hub::from_connection_string(&cs(";EntityPath=hub1"), HubOptions::default()).unwrap();
    assert_eq!(
        (hub.name(), hub.namespace()),
        ("hub1", "myns.servicebus.windows.net")
    );
    let hub = Hub::from_connection_string(&cs(""), HubOptions::default().hub_name("hub2")).unwrap();
    assert_eq!(hub.name(), "hub2");
    assert!(!format!("{hub:?}").contains(KEY), "Debug redacts the key");

    // Bad strings: typed errors naming the problem, never the secret.
    let cases = [
        ("Endpoint=sb://x/;SharedAccessKeyName", "key=value"),
        ("SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=h", "Endpoint"),
        ("Endpoint=sb://x/;SharedAccessKeyName=a;EntityPath=h", "SharedAccessKey"),
        ("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=b;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=1&skn=a;EntityPath=h", "both"),
        ("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=b", "EntityPath"),
        ("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=", "EntityPath"),
    ];
    for (s, needle) in cases {
        let err = Hub::from_connection_string(s, HubOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{s}");
        assert!(err.to_string().contains(needle), "{s}: {err}");
    }
    let err =
        Hub::from_connection_string(&cs(";EntityPath=a"), HubOptions::default().hub_name("b"))
            .unwrap_err();
    assert!(err.to_string().contains("differ"), "{err}");
    let err = Hub::from_connection_string(
        &cs(";EntityPath=a"),
        HubOptions::default().partitioned_sender(""),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    // A ready-made signature works; a malformed one is refused.
    let sig = eventhubs_protocol::sas::sign(
        "sb://myns.servicebus.windows.net/hub",
        "policy",
        KEY,
        4_000_000_000,
    );
    let with_sig = format!(
        "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessSignature={sig};EntityPath=hub"
    );
    let hub = Hub::from_connection_string(&with_sig, HubOptions::default()).unwrap();
    assert!(!format!("{hub:?}").contains(&sig));
    let bad_sig = "Endpoint=sb://x/;SharedAccessSignature=nonsense;EntityPath=hub";
    assert_eq!(
        Hub::from_connection_string(bad_sig, HubOptions::default())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );

    // Namespace + provider.
    let provider = Arc::new(SasTokenProvider::from_key("policy", KEY));
    let hub = Hub::new("myns", "hub", provider.clone(), HubOptions::default()).unwrap();
    assert_eq!(hub.namespace(), "myns.servicebus.windows.net");
    assert!(Hub::new("myns", " ", provider.clone(), HubOptions::default()).is_err());
    assert!(Hub::new("", "hub", provider, HubOptions::default()).is_err());

    // Environment.
    for v in ENV_VARS {
        std::env::remove_var(v);
    }
    assert!(Hub::from_env(HubOptions::default())
        .unwrap_err()
        .to_string()
        .contains("EVENTHUB_CONNECTION_STRING"));
    std::env::set_var("EVENTHUB_NAMESPACE", "envns");
    std::env::set_var("EVENTHUB_NAME", "envhub");
    // No SAS key: the Entra ID credential the AZURE_* variables describe (none here, so
    // the managed identity), as Go's NewHubFromEnvironment does.
    let entra = Hub::from_env(HubOptions::default()).unwrap();
    assert!(
        format!("{entra:?}").contains("source: ManagedIdentity"),
        "{entra:?}"
    );
    std::env::set_var("EVENTHUB_KEY_NAME", "policy");
    assert!(Hub::from_env(HubOptions::default())
        .unwrap_err()
        .to_string()
        .contains("EVENTHUB_KEY_VALUE"));
    std::env::set_var("EVENTHUB_KEY_VALUE", KEY);
    let hub = Hub::from_env(HubOptions::default()).unwrap();
    assert_eq!(
        (hub.name(), hub.namespace()),
        ("envhub", "envns.servicebus.windows.net")
    );
    std::env::set_var("EVENTHUB_CONNECTION_STRING", cs(""));
    let hub = Hub::from_env(HubOptions::default()).unwrap();
    assert_eq!(
        hub.name(),
        "envhub",
        "EVENTHUB_NAME names the hub when EntityPath is absent"
    );
    for v in ENV_VARS {
        std::env::remove_var(v);
    }
}
