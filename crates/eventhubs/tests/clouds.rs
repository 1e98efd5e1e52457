//! A short namespace name is completed with the cloud's DNS suffix: the one chosen in the
//! options, else the one `AZURE_ENVIRONMENT` names (case-insensitive), else the public
//! cloud's; the retired German cloud and unknown names are clear errors naming the variable.
//! (One test: it sets process environment variables.)

use std::sync::Arc;

use eventhubs::{
    ClientOptions, Cloud, ErrorKind, Hub, HubOptions, ProducerClient, SasTokenProvider,
};

fn host(options: ClientOptions) -> Result<String, eventhubs::Error> {
    let provider = Arc::new(SasTokenProvider::from_key("name", "key"));
    ProducerClient::new("myns", "hub", provider, options)
        .map(|p| p.fully_qualified_namespace().to_owned())
}

#[test]
fn namespaces_get_their_clouds_suffix() {
    std::env::remove_var("AZURE_ENVIRONMENT");
    assert_eq!(
        host(ClientOptions::default()).unwrap(),
        "myns.servicebus.windows.net"
    );
    let china = ClientOptions::default().cloud(Cloud::china());
    assert_eq!(host(china).unwrap(), "myns.servicebus.chinacloudapi.cn");

    std::env::set_var("AZURE_ENVIRONMENT", "azureusgovernmentcloud");
    assert_eq!(
        host(ClientOptions::default()).unwrap(),
        "myns.servicebus.usgovcloudapi.net"
    );
    // An explicit cloud wins over the environment; a full host name needs none.
    let public = ClientOptions::default().cloud(Cloud::public());
    assert_eq!(host(public).unwrap(), "myns.servicebus.windows.net");
    // The Go facade's `HubWithEnvironment` is the same choice.
    let provider = Arc::new(SasTokenProvider::from_key("name", "key"));
    let hub = Hub::new(
        "myns",
        "hub",
        provider,
        HubOptions::default().environment(Cloud::china()),
    );
    assert_eq!(hub.unwrap().namespace(), "myns.servicebus.chinacloudapi.cn");
    let provider = Arc::new(SasTokenProvider::from_key("name", "key"));
    let full = ProducerClient::new("a.example.net", "hub", provider, ClientOptions::default());
    assert_eq!(full.unwrap().fully_qualified_namespace(), "a.example.net");

    for (value, says) in [
        ("AzureGermanCloud", "closed"),
        ("Azure", "AzurePublicCloud"),
    ] {
        std::env::set_var("AZURE_ENVIRONMENT", value);
        let err = host(ClientOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let text = err.to_string();
        assert!(
            text.contains("AZURE_ENVIRONMENT") && text.contains(says),
            "{text}"
        );
    }
    std::env::remove_var("AZURE_ENVIRONMENT");
}
