//! WebSub (W3C Recommendation): announcing changed feeds to a hub.
//!
//! Feeds name the hub with `rel="hub"` ([`super::atom`], [`super::rss`],
//! [`super::json`]); after a publish that changed feeds, each changed
//! feed's URL (its topic) is sent to the hub as `hub.mode=publish` with
//! `hub.url=<topic>`, the form the common hubs accept. A failed ping is
//! logged and dropped: subscribers still poll, and the next change pings again.

use std::time::Duration;

use crate::config::Config;

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum WebSubError {
    #[error("cannot build the WebSub client: {0}")]
    Client(String),
    #[error("hub {hub} refused the ping for {topic}: {cause}")]
    Ping { hub: String, topic: String, cause: String },
}

/// Pings the configured hub about each changed feed path (`feed.atom`,
/// `parties/pcp.json`); does nothing without a hub or changes.
pub async fn notify(config: &Config, changed: &[String]) {
    let Some(hub) = &config.daemon.websub_hub else { return };
    if changed.is_empty() {
        return;
    }
    let topics: Vec<String> = changed.iter().map(|path| super::feed::absolute(config, path)).collect();
    match ping(hub.as_str(), &topics).await {
        Ok(()) => tracing::info!(hub = %hub, topics = topics.len(), "WebSub hub notified"),
        Err(e) => tracing::warn!(error = %e, "WebSub ping failed; subscribers will see the change when they poll"),
    }
}

/// Sends one `hub.mode=publish` request per topic.
pub async fn ping(hub: &str, topics: &[String]) -> Result<(), WebSubError> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("Plenum/", env!("CARGO_PKG_VERSION"), " (WebSub publisher)"))
        .build()
        .map_err(|e| WebSubError::Client(e.to_string()))?;
    let mut first_error = None;
    for topic in topics {
        let body =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("hub.mode", "publish").append_pair("hub.url", topic).finish();
        let result = client.post(hub).header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body).send().await;
        let failure = match result {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("HTTP {}", response.status())),
            Err(e) => Some(e.to_string()),
        };
        if let Some(cause) = failure {
            first_error.get_or_insert(WebSubError::Ping { hub: hub.to_string(), topic: topic.clone(), cause });
        }
    }
    first_error.map_or(Ok(()), Err)
}
